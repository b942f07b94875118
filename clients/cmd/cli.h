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
#include <jansson.h>
#include "../../common/buf.h"
#include "../../common/file.h"
#include "../../common/options.h"
#include "../../common/relais.h"
#include "../replica/replica.h"

#define CLI_EXIT_OK 0
#define CLI_EXIT_FAIL 1
#define CLI_EXIT_USAGE 2

/* Size of the buffers that receive French error messages. */
#define CLI_ERRLEN REPLICA_ERRLEN

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

/* Prints a JSON value on stdout as one compact line (no trailing newline).
 * Returns 0 or RELAIS_ENOMEM / RELAIS_EIO. */
int cli_print_json(const json_t *v) RELAIS_WUR;

/* Prints a JSON value as cli_print_json() does, then a newline. Returns 0,
 * or CLI_EXIT_FAIL after a French error. */
int cli_print_json_line(const json_t *v) RELAIS_WUR;

/* Steps st to its end and prints its rows (replica_row_json) as one JSON
 * array line on stdout. Returns 0, or CLI_EXIT_FAIL after a French error. */
int cli_print_rows(struct replica *r, sqlite3_stmt *st) RELAIS_WUR;

/* Prints the rows of st for people; arg is the caller's. Returns an exit
 * status, after a French error on failure. */
typedef int (*cli_rows_fn)(sqlite3_stmt *st, const void *arg);

/*
 * The list verbs: runs the query sql on the replica (built is the error
 * code of the code that built it, 0 when it went well) and prints its rows,
 * as one JSON array line with json, else through human. Returns an exit
 * status, after a French error on failure.
 */
int cli_list(struct replica *r, int built, const struct buf *sql, int json, cli_rows_fn human,
	     const void *arg) RELAIS_WUR;

/*
 * The show verbs: runs the query sql (built as for cli_list) with id bound
 * to its one parameter, and prints the row: as one JSON object line with
 * json, else through human. Returns an exit status, after a French error
 * on failure; RELAIS_ENOTFOUND, with nothing printed, when there is no
 * such row (the caller names what is missing).
 */
int cli_show(struct replica *r, int built, const struct buf *sql, const char *id, int json,
	     cli_rows_fn human, const void *arg) RELAIS_WUR;

/* Opens the replica of home into r (replica_open, no flags). Returns 0, or
 * CLI_EXIT_FAIL after printing why (r is then closed). */
int cli_open(struct replica *r, const char *home) RELAIS_WUR;

/* Returns 1 after printing the French refusal when the account of the
 * replica r may only read (role caf); 0 otherwise. */
int cli_read_only(struct replica *r);

/* Prints s on stdout with every control character (C0, DEL, C1) as '?':
 * text from the replica never drives the terminal. */
void cli_put_clean(const char *s);

/* Returns 1 when arg is "--help" or "-h". */
int cli_is_help(const char *arg);

/*
 * Output files appear whole or not at all (common/file.h): file_tmp_open()
 * and file_tmp_commit() for path (mode 0600, missing folders created),
 * printing a French message naming path on failure. Returns 0 or the
 * RELAIS_E* code. On failure, and when the caller gives up,
 * file_tmp_abort(t) removes the temporary file.
 */
int cli_tmp_open(struct file_tmp *t, const char *path) RELAIS_WUR;
int cli_tmp_commit(struct file_tmp *t, const char *path) RELAIS_WUR;

/* relais for the option parser (common/options.h): its name, and the list
 * of a command's sub-commands from main.c's command table. */
extern const struct options_prog cli_prog;

/*
 * Commands. home is the replica's directory (already resolved from --dossier,
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
/* "relais ui [--port N] [--sans-navigateur]": the local web interface, served
 * until SIGINT or SIGTERM (clients/ui/). */
int cmd_ui(const char *home, int argc, char **argv);
/* Prints a blank mail form (candidature, bilan); needs no replica, home may be NULL. */
int cmd_formulaire(const char *home, int argc, char **argv);
/* The mail gateway's journal (table inbound_mail): list, show, rattacher,
 * classer; its rows are written by the server only, so no add/set/rm. */
int cmd_courrier(const char *home, int argc, char **argv);
/* Checks the replica file: SQLite's integrity check and the sync tables;
 * exit 0 when intact, 1 otherwise (clients/cmd/secours.c). */
int cmd_verifier(const char *home, int argc, char **argv);
/* Rebuilds a damaged replica from the server, keeping its pending edits
 * (clients/cmd/secours.c, docs/client.md). */
int cmd_secours(const char *home, int argc, char **argv);

/* "relais export annuaire --format csv|xlsx [--sortie FICHIER]":
 * argv[0] "export", argv[1] "annuaire". CSV goes to stdout without
 * --sortie; XLSX needs --sortie. The file appears complete or not at all
 * (clients/cmd/annuaire.c, docs/annuaire.md). */
int cmd_annuaire_export(const char *home, int argc, char **argv);
/* "relais import annuaire FICHIER.csv [--simulation] [--partiel]":
 * argv[0] "import", argv[1] "annuaire". Creates, completes or refuses each
 * row with a French row-by-row report; all of its writes are one captured
 * local edit. Exit 1 when a row is refused without --partiel (then nothing
 * is written), also with --simulation. */
int cmd_annuaire_import(const char *home, int argc, char **argv);

/* "relais synthese --annee YYYY --format html|xlsx [--sortie FICHIER]":
 * argv[0] "synthese". HTML goes to stdout without --sortie; XLSX needs
 * --sortie. */
int cmd_synthese(const char *home, int argc, char **argv);

/* The coordinator's follow-up work (clients/cmd/followup.c). */
/* "relais rgpd effacer [--retention-jours N] [--simulation] [--date D]". */
int cmd_rgpd_effacer(const char *home, int argc, char **argv);
/* "relais personne export ID": everything held on one promeneur, as JSON. */
int cmd_personne_export(const char *home, int argc, char **argv);
/* "relais suivi [--json] [--date D]": what needs doing. */
int cmd_suivi(const char *home, int argc, char **argv);
/* "relais relance bilans --annee YYYY [--date D]" queues reminders. */
int cmd_relance_bilans(const char *home, int argc, char **argv);
/* "relais relance liste|show|rm" are the generic commands of the table;
 * "relais relance" its help, any other verb refused. */
int cmd_relance(const char *home, int argc, char **argv);

#endif
