/*
 * followup.h - the coordinator's to-do list ("suivi") read from the
 * replica, for "relais suivi" and the home page of relais ui (prefix
 * followup_). The commands of the follow-up work (decisions,
 * délabellisation, RGPD, reminders) are in clients/cmd/followup.c;
 * docs/suivi.md is the user's guide.
 */
#ifndef RELAIS_CLIENT_FOLLOWUP_H
#define RELAIS_CLIENT_FOLLOWUP_H

#include <jansson.h>
#include <sqlite3.h>
#include "../../common/relais.h"

/*
 * Structures that owed a bilan for year ?2 (from ?3 to ?4, its first and
 * last day) and have none: they had a promeneur labelled during that year,
 * and hold neither a yearly bilan nor both half-year ones. Shared by the
 * to-do list and "relais relance bilans", so that both name the same ones.
 */
#define FOLLOWUP_OWES_BILAN_SQL \
	"EXISTS (SELECT 1 FROM promeneur p WHERE p.structure = s.id " \
	"AND p.statut IN ('labellise', 'suspendu', 'delabellise') " \
	"AND (p.date_labellisation IS NULL OR p.date_labellisation <= ?4) " \
	"AND (p.date_delabellisation IS NULL OR p.date_delabellisation >= ?3)) " \
	"AND NOT EXISTS (SELECT 1 FROM bilan b WHERE b.structure = s.id AND b.annee = ?2 " \
	"AND coalesce(b.periode, 'annee') = 'annee') " \
	"AND NOT (EXISTS (SELECT 1 FROM bilan b WHERE b.structure = s.id AND b.annee = ?2 " \
	"AND b.periode = 'semestre1') AND EXISTS (SELECT 1 FROM bilan b " \
	"WHERE b.structure = s.id AND b.annee = ?2 AND b.periode = 'semestre2'))"

/* One section of the to-do list, in the order people read them. Its SQL
 * takes ?1 today, ?2 the year of the bilans, ?3 and ?4 its first and last
 * day; each row's last column "libelle" is its line. */
struct followup_section {
	const char *key;     /* JSON member */
	const char *title;   /* French heading; %s is the year of the bilans */
	const char *hint;    /* the command that settles the items, or NULL */
	const char *sql;
};
extern const struct followup_section followup_sections[];
extern const size_t followup_nsections;

/*
 * The to-do list of "relais suivi --json" for day ("YYYY-MM-DD"; NULL for
 * today) read from db in one read transaction (db must not be in one):
 * *out is a new object {"date", "annee_bilans", one array per section},
 * each item's last member "libelle" its French line. RELAIS_EINVAL for a
 * bad day, RELAIS_EDB, RELAIS_ENOMEM.
 */
int followup_suivi(sqlite3 *db, const char *day, json_t **out) RELAIS_WUR;

#endif
