/*
 * annuaire.h - the directory of labelled promeneurs, out to a spreadsheet
 * and in from one (prefix annuaire_).
 *
 * "relais export annuaire" writes the labelled promeneurs (statut
 * labellise only) as CSV (UTF-8 with BOM, ';', CRLF: what a French
 * spreadsheet opens directly) or XLSX (libxlsxwriter). "relais import
 * annuaire" reads such a file, or the coordinator's own spreadsheet saved as
 * CSV, and creates, completes or refuses each row with a French row-by-row
 * report; all of its writes are one captured local edit. docs/annuaire.md is
 * the user's guide.
 *
 * Entry points have the signature of the commands of cli.h and return a
 * CLI_EXIT_* status after printing what went wrong in French.
 */
#ifndef RELAIS_CLIENT_ANNUAIRE_H
#define RELAIS_CLIENT_ANNUAIRE_H

#include <stdio.h>
#include "../../common/file.h"

/* "relais export annuaire --format csv|xlsx [--sortie FICHIER]":
 * argv[0] "export", argv[1] "annuaire". CSV goes to stdout without
 * --sortie; XLSX needs --sortie. The file appears complete or not at all. */
int cmd_annuaire_export(const char *home, int argc, char **argv);

/* "relais import annuaire FICHIER.csv [--dry-run] [--partial]":
 * argv[0] "import", argv[1] "annuaire". Exit 1 when a row is refused
 * without --partial (then nothing is written), also with --dry-run. */
int cmd_annuaire_import(const char *home, int argc, char **argv);

/* ---- output files shared with synthese.c ---- */

/*
 * Output files appear whole or not at all (common/file.h): file_tmp_open()
 * and file_tmp_commit() for path (mode 0600), printing a French message
 * naming path on failure. Returns 0 or the RELAIS_E* code. On failure, and
 * when the caller gives up, file_tmp_abort(t) removes the temporary file.
 */
int annuaire_tmp_open(struct file_tmp *t, const char *path);
int annuaire_tmp_commit(struct file_tmp *t, const char *path);

#endif
