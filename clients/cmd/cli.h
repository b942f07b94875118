/*
 * cli.h - what the commands of relais (the coordinator's client) share:
 * exit codes, French error output, small text helpers, and the entry point
 * of each command.
 *
 * Every command returns a process exit status: CLI_EXIT_OK, CLI_EXIT_FAIL
 * (bad input, refused operation, failed sync) or CLI_EXIT_USAGE (the command
 * line itself is malformed). Messages for people go to stderr, in French.
 */
#ifndef RELAIS_CLI_H
#define RELAIS_CLI_H

#include <stddef.h>
#include "../../common/options.h"
#include "../../common/relais.h"

#define CLI_EXIT_OK 0
#define CLI_EXIT_FAIL 1
#define CLI_EXIT_USAGE 2

/* Size of the buffers that receive French error messages. */
#define CLI_ERRLEN 1024

/* Prints "relais : " and the message, then a newline, on stderr. */
void cli_error(const char *fmt, ...) RELAIS_PRINTF(1, 2);

/* Number of code points in the first n bytes of the UTF-8 string s. */
size_t cli_utf8_width(const char *s, size_t n);
/* Returns the byte length of the longest prefix of s holding at most max
 * code points. */
size_t cli_utf8_prefix(const char *s, size_t max);

/* Code points shown per cell by the human tables of list commands. */
#define CLI_CELL_MAX 40
/* Takes the malloc'd cell text s and returns it, or when it holds more than
 * CLI_CELL_MAX code points a new string cut to fit with a final "…" (s is
 * freed). NULL when s is NULL or memory runs out. */
char *cli_cell_fit(char *s);
/* Prints s on stdout, then pads it with spaces to width + 2 columns unless
 * last (nothing follows it on the line). */
void cli_print_padded(const char *s, size_t width, int last);

/* Prints "Label : value" for show commands; continuation lines of a
 * multi-line value are indented under the label. */
void cli_print_field(const char *label, const char *value);

/* Returns 1 when arg is "--help" or "-h". */
int cli_is_help(const char *arg);

/* relais for the option parser (common/options.h): its name, and the list
 * of a command's sub-commands from main.c's command table. */
extern const struct options_prog cli_prog;

/*
 * Commands. home is the replica's directory (already resolved from --home,
 * RELAIS_HOME or ~/.relais); argv[0] is the command word. Each returns an
 * exit status and has printed what went wrong.
 */
int cmd_init(const char *home, int argc, char **argv);
int cmd_sync(const char *home, int argc, char **argv);
/* Replaces the token of an initialised replica (remote.c), keeping its
 * pending edits. */
int cmd_jeton(const char *home, int argc, char **argv);
int cmd_status(const char *home, int argc, char **argv);
int cmd_refus(const char *home, int argc, char **argv);
int cmd_document_ouvrir(const char *home, int argc, char **argv);
int cmd_conflicts(const char *home, int argc, char **argv);
int cmd_export(const char *home, int argc, char **argv);
/* The generic table commands: argv[0] is the table's command word
 * (model_table.command), argv[1] the verb (add, set, rm, list, show). */
int cmd_domain(const char *home, int argc, char **argv);
/* Prints a blank mail form (candidature, bilan); needs no replica, home may be NULL. */
int cmd_formulaire(const char *home, int argc, char **argv);
/* The mail gateway's journal (table inbound_mail): list, show, rattacher,
 * classer; its rows are written by the server only, so no add/set/rm. */
int cmd_courrier(const char *home, int argc, char **argv);
/* Checks the replica file: SQLite's integrity check and the sync tables;
 * exit 0 when intact, 1 otherwise (clients/secours.c). */
int cmd_verifier(const char *home, int argc, char **argv);
/* Rebuilds a damaged replica from the server, keeping its pending edits
 * (clients/secours.c, docs/client.md). */
int cmd_secours(const char *home, int argc, char **argv);

#endif
