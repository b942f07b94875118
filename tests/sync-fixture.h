/*
 * sync-fixture.h - in-process fixture of the engine tests: one server
 * database and up to three client replicas of a toy replicated table t in a
 * temporary directory, every push and pull going through the real wire
 * functions.
 */
#ifndef RELAIS_SYNC_FIXTURE_H
#define RELAIS_SYNC_FIXTURE_H

#include <stddef.h>
#include <sqlite3.h>
#include "../sync/sync.h"


#define FX_CLIENTS 3
#define FX_SERVER (-1)
#define FX_DEPT "43"

/* Client i's login; the account of every client is in département 43. */
const char *fx_login(int i);
/* Makes a fresh temporary directory with a server store and nclients
 * replicas of table t (replacing any previous fixture). client_ddl, when not
 * NULL, replaces the CREATE TABLE of the last client (schema drift tests);
 * extra is run on every database (more replicated tables, by name in
 * extra_tables). Registers the cleanup. Returns 0 or a RELAIS_E* code. */
int fx_setup(int nclients, const char *client_ddl, const char *extra, const char *extra_tables);
sqlite3 *fx_db(int who);
const struct sync_tables *fx_tables(int who);
/* Replaces (and frees) the table set of who with t, which the fixture then owns. */
void fx_replace_tables(int who, struct sync_tables *t);
/* Runs sql as one local edit: captured on client who, or through
 * sync_local_* as login "passerelle" on the server. */
int fx_edit(int who, const char *sql);
/* Runs sql on client who without capture (to plant rows a test needs). */
int fx_plant(int who, const char *sql);
/* Pushes the whole outbox of client i in batches of batch items, as login
 * fx_login(i) of dept; the last merge result and error text come back. */
int fx_push(int i, const char *dept, size_t batch, struct sync_merge_result *res,
	    char *err, size_t errlen);
/* Pulls pages of at most limit rows until no more. */
int fx_pull(int i, size_t limit);
/* Push then pull. */
int fx_sync(int i);
/* One integer from a query on who's database, -1 on error. */
long long fx_int(int who, const char *sql);
/* One text from a query (malloc'd, caller frees), NULL on error or NULL. */
char *fx_text(int who, const char *sql);
/* Whole table (rows by id, each value with its type) as malloc'd text. */
char *fx_dump(int who, const char *table);


#endif
