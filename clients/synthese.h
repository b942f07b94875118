/*
 * synthese.h - the annual synthesis of the bilans for the comité de pilotage
 * (prefix synthese_).
 *
 * Totals of each bilan indicator (every integer column of the model's bilan
 * table but the year) for a year and the one before, with the change, and
 * the same indicators per structure. HTML is one self-contained file (inline
 * CSS, SVG bar charts, no external resource); XLSX holds the same tables and
 * a native chart. docs/annuaire.md describes both.
 */
#ifndef RELAIS_CLIENT_SYNTHESE_H
#define RELAIS_CLIENT_SYNTHESE_H

/* "relais synthese --annee YYYY --format html|xlsx [--sortie FICHIER]":
 * argv[0] "synthese". HTML goes to stdout without --sortie; XLSX needs
 * --sortie. Returns a CLI_EXIT_* status. */
int cmd_synthese(const char *home, int argc, char **argv);

#endif
