/*
 * followup.h - the coordinator's follow-up work on the replica: deciding
 * candidatures (labellisation), délabellisation, RGPD erasure and right of
 * access, the to-do list ("suivi") and the reminders queue ("relance").
 *
 * Every write is one captured local edit (sync_capture_begin/commit), synced
 * like any other; a caf account is refused before anything is written.
 * Entry points have the signature of the commands of cli.h: home is the
 * replica's directory, argv[0] the command word; each returns a CLI_EXIT_*
 * status after printing what went wrong in French. docs/suivi.md is the
 * user's guide.
 */
#ifndef RELAIS_CLIENT_FOLLOWUP_H
#define RELAIS_CLIENT_FOLLOWUP_H

#include <jansson.h>
#include <sqlite3.h>
#include "../../common/relais.h"

/* "relais candidature decider ID --decision acceptee|refusee|ajournee
 * [--date D] [--comite D]": argv[0] "candidature", argv[1] "decider". */
int cmd_candidature_decider(const char *home, int argc, char **argv);
/* "relais promeneur delabelliser ID --motif TEXTE [--date D]":
 * argv[0] "promeneur", argv[1] "delabelliser". */
int cmd_promeneur_delabelliser(const char *home, int argc, char **argv);
/* "relais rgpd effacer [--retention-jours N] [--dry-run] [--date D]". */
int cmd_rgpd_effacer(const char *home, int argc, char **argv);
/* "relais personne export ID": everything held on one promeneur, as JSON. */
int cmd_personne_export(const char *home, int argc, char **argv);
/* "relais suivi [--json] [--date D]": what needs doing. */
int cmd_suivi(const char *home, int argc, char **argv);
/* "relais relance bilans --annee YYYY [--date D]" queues reminders. */
int cmd_relance_bilans(const char *home, int argc, char **argv);
/* "relais relance list|show|rm" are the generic commands of the table;
 * "relais relance" its help, any other verb refused. */
int cmd_relance(const char *home, int argc, char **argv);

/*
 * The to-do list of "relais suivi --json" for day ("YYYY-MM-DD"; NULL for
 * today) read from db in one read transaction (db must not be in one):
 * *out is a new object {"date", "annee_bilans", one array per section},
 * each item's last member "libelle" its French line. RELAIS_EINVAL for a
 * bad day, RELAIS_EDB, RELAIS_ENOMEM.
 */
int followup_suivi(sqlite3 *db, const char *day, json_t **out) RELAIS_WUR;

#endif
