/*
 * activite.h - the network's activity over a period, for the syntheses of
 * the comité de pilotage (prefix activite_): entries and exits of the label,
 * the headcount by public at the end of the period, the events and their
 * participation, the requests by subject, and what the bilans say in words
 * (the articulation of the structure's life and the promeneur's work, the
 * comments).
 */
#ifndef RELAIS_CLIENT_ACTIVITE_H
#define RELAIS_CLIENT_ACTIVITE_H

#include <sqlite3.h>
#include "../../common/buf.h"
#include "../../common/relais.h"

struct activite; /* opaque */

/*
 * Reads the activity from day from to day to ("AAAA-MM-JJ", both included)
 * from db, inside the caller's read transaction; the bilans quoted are those
 * of year (periode: "annee" for the yearly and both half-year ones,
 * "semestre1" for the first half only). *out is freed with activite_free().
 * RELAIS_EDB, RELAIS_ENOMEM.
 */
int activite_load(sqlite3 *db, const char *from, const char *to, long long year,
		  const char *periode, struct activite **out) RELAIS_WUR;
/* Accepts NULL. */
void activite_free(struct activite *a);

/* Appends the activity's sections, each under an <h2>, in French; returns
 * b's sticky error. */
int activite_html(const struct activite *a, struct buf *b);

#endif
