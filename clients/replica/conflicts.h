/*
 * conflicts.h - the sync conflicts of a replica as the coordinator reads
 * and settles them (prefix conflicts_), shared by "relais conflits" and
 * the /conflits page of "relais ui".
 *
 * A conflict row (table sync_conflict, written by the server) keeps the
 * value that won ("kept") and the one that lost ("lost") of a column edited
 * twice concurrently, or of an edit of a row someone else deleted. "Mine" is
 * the side whose node is this replica's node; when this replica authored
 * neither side, "mine" is the kept value, so that keeping "mine" never
 * changes data the coordinator did not touch.
 */
#ifndef RELAIS_CLIENT_CONFLICTS_H
#define RELAIS_CLIENT_CONFLICTS_H

#include <stdint.h>
#include "../../common/relais.h"
#include "replica.h"

/* One side of a conflict. A string is NULL where the column is NULL. */
struct conflict_side {
	const char *value;
	const char *login;
	const char *node;
	char when[64];     /* the HLC for people, "2026-11-23T10:45:25.123Z#3", or "" */
	int64_t ms;        /* the HLC's wall-clock part (ms since the epoch), 0 unknown */
};

/* A conflict as conflicts_each() hands it out; valid during the callback only. */
struct conflict {
	const char *id;
	const char *table;       /* SQL name of the row's table */
	const char *row;         /* the row's id */
	const char *column;      /* the column's SQL name (NULL for a deletion) */
	const char *kind;        /* "valeur" or "suppression" */
	const char *resolution;  /* NULL while open, else "gagnant" or "perdant" */
	struct conflict_side kept, lost;
	int mine_lost;           /* this replica's side is the lost one */
	int authored;            /* this replica authored one of the two sides */
};

/* Returns 0 to go on, anything else stops conflicts_each(), which returns it. */
typedef int (*conflicts_fn)(const struct conflict *c, void *arg);

/* Which open conflicts a bulk settlement takes: a table, a column, an
 * author of either side (NULL: any). */
struct conflicts_filter {
	const char *table, *column, *author;
};

/*
 * Fills f from what a person typed: all (every open conflict), a table
 * (its command word or SQL name), a field (its option's spelling, SQL name
 * or label) and an author's login, each NULL or "" when not given.
 * RELAIS_EINVAL with the French reason when none is given or one names
 * nothing.
 */
int conflicts_filter_set(struct conflicts_filter *f, int all, const char *table, const char *champ,
			 const char *author, char *err, size_t errlen) RELAIS_WUR;

/*
 * The open conflicts f takes, oldest first in each table and field: each
 * handed to each (may be NULL) and counted in *matched; with apply, each
 * then settled as conflicts_resolve() does (keep_mine), *done counting
 * them. Returns 0 or an error with its French message in err (those
 * settled before it stay settled).
 */
int conflicts_bulk(struct replica *r, const struct conflicts_filter *f, int keep_mine, int apply,
		   conflicts_fn each, void *arg, size_t *matched, size_t *done, char *err,
		   size_t errlen) RELAIS_WUR;

/* How people name the row a conflict is about (its title: a person's name,
 * a structure's…), malloc'd; NULL when it has none or is gone. */
char *conflicts_row_title(sqlite3 *db, const char *table, const char *row);


/*
 * Calls fn for each conflict of the replica, oldest first: the open ones, or
 * all of them when all is set; only conflict id when id is not NULL (then
 * all is implied). node is this replica's node (meta "node"), NULL when
 * unknown. Returns 0, fn's non-zero value, or RELAIS_EDB / RELAIS_ENOMEM.
 */
int conflicts_each(sqlite3 *db, const char *node, int all, const char *id,
		   conflicts_fn fn, void *arg) RELAIS_WUR;

/*
 * Settles open conflict id as "relais conflits trancher ID --garder
 * mien|leur" does: keep_mine selects the side; the decision is one
 * captured local edit (sync_conflict_resolve), sent by the next sync.
 * *restored (may be NULL) tells whether the lost value was written back.
 * Returns 0, or RELAIS_EPERM (read-only caf account), RELAIS_ENOTFOUND,
 * RELAIS_EEXIST (already resolved), or another RELAIS_E* code, with a
 * French sentence in err (without the "relais : " prefix).
 */
int conflicts_resolve(struct replica *r, const char *id, int keep_mine, int *restored,
		      char *err, size_t errlen) RELAIS_WUR;

#endif
