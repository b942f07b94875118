/*
 * workflow.h - the commands of the network's procedures, and the checks of
 * their arguments that other commands share (prefix cli_).
 */
#ifndef RELAIS_CLI_WORKFLOW_H
#define RELAIS_CLI_WORKFLOW_H

#include "../../model/domain.h"

/* Longer identifiers name nothing. */
#define CLI_ID_MAX 64

/* Checks an identifier typed by a person and writes it lower-cased into id.
 * Returns 0 or CLI_EXIT_FAIL with the message printed. */
int cli_id_arg(const char *raw, char id[CLI_ID_MAX + 1]);
/* Checks a date typed by a person (the model's spellings) into out as
 * AAAA-MM-JJ; raw NULL gives today. 0 or CLI_EXIT_FAIL (message printed). */
int cli_date_arg(const char *label, const char *raw, char out[DOMAIN_DATE_LEN + 1]);
/* Checks a non-empty value for column col of table into *out (malloc'd,
 * the caller frees). 0 or CLI_EXIT_FAIL (message printed, *out NULL). */
int cli_column_arg(const char *table, const char *col, const char *raw, char **out);
/* Prints what a workflow did (domain_result.note), a line each, control
 * characters as spaces. */
void cli_print_note(const char *note);

/* relais promeneur signaler|suspendre|retablir, relais procedure
 * caf|mesures|suivre|decider, relais tache faite, relais changement publie:
 * argv[0] and argv[1] name the command. */
int cmd_workflow(const char *home, int argc, char **argv);

#endif
