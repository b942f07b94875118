/*
 * domain_int.h - what the files of the domain layer share (model/domain.c,
 * model/procedure.c); not for other folders, which use domain.h.
 */
#ifndef RELAIS_MODEL_DOMAIN_INT_H
#define RELAIS_MODEL_DOMAIN_INT_H

#include "domain.h"

/* Writes the French message into err and returns rc. */
int domain_fail(char *err, size_t errlen, int rc, const char *fmt, ...) RELAIS_PRINTF(4, 5);
/* Appends a line to what the workflow did (res->note) and sets res->workflow. */
void domain_note(struct domain_result *res, const char *fmt, ...) RELAIS_PRINTF(2, 3);
/* Runs one write of n text parameters (NULL binds NULL); SQLite's failure
 * as a French message. */
int domain_run(sqlite3 *db, const char *sql, int n, const char *const *p, char *err,
	       size_t errlen) RELAIS_WUR;
/* *exists: whether table has row id. */
int domain_row_exists(sqlite3 *db, const char *table, const char *id, int *exists) RELAIS_WUR;
/* The n text columns of the one row sql (parameter ?1 = id) selects, into
 * out[] (malloc'd, NULL for NULL; free with domain_texts_free()).
 * RELAIS_ENOTFOUND when there is no such row. */
int domain_row_texts(sqlite3 *db, const char *sql, const char *id, char **out, int n) RELAIS_WUR;
void domain_texts_free(char **v, int n);
/* *changes: whether value dv differs from what row id of t holds now. */
int domain_value_changes(sqlite3 *db, const struct model_table *t, const char *id,
			 const struct domain_value *dv, int *changes) RELAIS_WUR;

/* A promeneur's status (never NULL), dates, name and département, into p
 * (P_N texts; free with domain_texts_free()). RELAIS_ENOTFOUND with a
 * message when there is no such promeneur. */
enum { P_STATUT, P_DATE_LAB, P_DATE_DELAB, P_NAME, P_DEPT, P_N };
int domain_read_person(sqlite3 *db, const char *id, char **p, char *err, size_t errlen) RELAIS_WUR;

/*
 * Queues a change of the national directory for promeneur: nature "ajout",
 * "modification" (champs: the fields, ", "-separated, merged into the
 * modification not transmitted yet; nothing when an addition is still to
 * transmit), "suspension", "reprise" or "retrait".
 */
int domain_directory_change(sqlite3 *db, const char *dept, const char *promeneur,
			    const char *nature, const char *date, const char *champs,
			    char *err, size_t errlen) RELAIS_WUR;

/*
 * What the national directory shows, watched around a write of domain_write():
 * domain_watch_before() notes which shown fields of row id of t the values v
 * change (nothing for a row of no labelled promeneur); domain_watch_after()
 * queues them. deleting: row id is about to be deleted.
 */
struct domain_watch {
	char promeneur[DOMAIN_ID_LEN + 1]; /* "" when nothing to watch */
	char structure[DOMAIN_ID_LEN + 1]; /* a structure's name or commune changed */
	char dept[8];
	char champs[256];
};
int domain_watch_before(sqlite3 *db, const struct model_table *t, const char *id,
			const struct domain_value *v, size_t n, int deleting,
			struct domain_watch *w) RELAIS_WUR;
int domain_watch_after(sqlite3 *db, const struct domain_watch *w, const char *date,
		       char *err, size_t errlen) RELAIS_WUR;

#endif
