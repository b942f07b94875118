/* sync-fixture.c - see sync-fixture.h. */
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sqlite3.h>
#include "../common/buf.h"
#include "../common/util.h"
#include "../sync/sync.h"
#include "test.h"
#include "sync-fixture.h"

static const char t_ddl[] =
	"CREATE TABLE t(id TEXT PRIMARY KEY NOT NULL, dept TEXT NOT NULL, a TEXT, b TEXT, "
	"n INTEGER CHECK(n >= 0))";

static struct {
	char dir[64];
	int n;
	sqlite3 *db[FX_CLIENTS + 1];               /* [0] is the server */
	struct sync_tables *t[FX_CLIENTS + 1];
	int deferred;
} fx;

const char *fx_login(int i)
{
	static const char *const logins[FX_CLIENTS] = { "alice", "bruno", "chloe" };
	return i >= 0 && i < FX_CLIENTS ? logins[i] : "passerelle";
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void fx_teardown(void *arg)
{
	(void)arg;
	for (int i = 0; i <= FX_CLIENTS; i++) {
		sync_tables_free(fx.t[i]);
		fx.t[i] = NULL;
		sqlite3_close(fx.db[i]);
		fx.db[i] = NULL;
	}
	if (fx.dir[0] && !getenv("RELAIS_TEST_KEEP"))
		nftw(fx.dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	fx.dir[0] = 0;
}

static int fx_open(int slot, const char *name, const char *ddl, const char *extra,
		   const char *extra_tables)
{
	char path[128];
	const char *names[2] = { "t", extra_tables };
	int rc;

	snprintf(path, sizeof(path), "%s/%s.db", fx.dir, name);
	if (sqlite3_open(path, &fx.db[slot]) != SQLITE_OK)
		return RELAIS_EDB;
	if (sqlite3_exec(fx.db[slot], "PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF;", NULL, NULL, NULL) ||
	    sqlite3_exec(fx.db[slot], ddl, NULL, NULL, NULL) ||
	    (extra && sqlite3_exec(fx.db[slot], extra, NULL, NULL, NULL)))
		return RELAIS_EDB;
	rc = slot == 0 ? sync_server_schema(fx.db[slot]) : sync_client_schema(fx.db[slot]);
	if (rc)
		return rc;
	return sync_tables_load(fx.db[slot], names, extra_tables ? 2 : 1, &fx.t[slot]);
}

int fx_setup(int nclients, const char *client_ddl, const char *extra, const char *extra_tables)
{
	int rc;

	fx_teardown(NULL);
	if (!fx.deferred) {
		test_defer(fx_teardown, NULL);
		fx.deferred = 1;
	}
	snprintf(fx.dir, sizeof(fx.dir), "/tmp/relais-sync-XXXXXX");
	if (!mkdtemp(fx.dir))
		return RELAIS_EIO;
	fx.n = nclients;
	rc = fx_open(0, "server", t_ddl, extra, extra_tables);
	for (int i = 0; !rc && i < nclients; i++) {
		char name[24];
		snprintf(name, sizeof(name), "client%d", i);
		rc = fx_open(i + 1, name, client_ddl && i == nclients - 1 ? client_ddl : t_ddl,
			     extra, extra_tables);
	}
	return rc;
}

sqlite3 *fx_db(int who)
{
	return fx.db[who + 1];
}

const struct sync_tables *fx_tables(int who)
{
	return fx.t[who + 1];
}

void fx_replace_tables(int who, struct sync_tables *t)
{
	sync_tables_free(fx.t[who + 1]);
	fx.t[who + 1] = t;
}

int fx_edit(int who, const char *sql)
{
	int rc;

	if (who == FX_SERVER) {
		struct sync_local *l;
		rc = sync_local_begin(fx_db(who), fx_tables(who), &l);
		if (rc)
			return rc;
		if (sqlite3_exec(fx_db(who), sql, NULL, NULL, NULL)) {
			sync_local_abort(l);
			return RELAIS_EDB;
		}
		return sync_local_commit(l, fx_login(who));
	}
	struct sync_capture *c;
	rc = sync_capture_begin(fx_db(who), fx_tables(who), &c);
	if (rc)
		return rc;
	if (sqlite3_exec(fx_db(who), sql, NULL, NULL, NULL)) {
		sync_capture_abort(c);
		return RELAIS_EDB;
	}
	return sync_capture_commit(c);
}

int fx_plant(int who, const char *sql)
{
	return sqlite3_exec(fx_db(who), sql, NULL, NULL, NULL) ? RELAIS_EDB : 0;
}

int fx_push(int i, const char *dept, size_t batch, struct sync_merge_result *res,
	    char *err, size_t errlen)
{
	struct sync_author who = { fx_login(i), dept, NULL };
	int rc = 0;

	memset(res, 0, sizeof(*res));
	for (;;) {
		struct sync_outbox ob;
		struct sync_push push;
		struct buf raw = BUF_INIT(SYNC_WIRE_MAX_RAW), env = BUF_INIT(SYNC_WIRE_MAX_BODY);
		struct buf in = BUF_INIT(SYNC_WIRE_MAX_RAW);
		enum sync_wire_kind kind;
		unsigned schema;

		memset(&push, 0, sizeof(push));
		rc = sync_outbox_load(fx_db(i), batch, 4u << 20, &ob);
		if (rc || ob.count == 0) {
			sync_outbox_free(&ob);
			return rc;
		}
		rc = sync_push_encode(ob.node, ob.items, ob.count, &raw);
		if (!rc)
			rc = sync_wire_seal(SYNC_WIRE_PUSH, 1, raw.data, raw.len, &env);
		if (!rc)
			rc = sync_wire_open(env.data, env.len, SYNC_WIRE_MAX_RAW, &kind, &schema, &in);
		if (!rc)
			rc = sync_push_decode(in.data, in.len, 100000, &push);
		if (!rc)
			rc = sync_merge(fx_db(FX_SERVER), fx_tables(FX_SERVER), &who, &push, res, err, errlen);
		if (!rc)
			rc = sync_outbox_ack(fx_db(i), res->acked);
		/* An item refused for good stops the push here, as it stops
		 * relais sync until the item is set aside. */
		if (!rc && res->refused_seq)
			rc = res->refused_rc;
		sync_push_free(&push);
		sync_outbox_free(&ob);
		buf_release(&raw);
		buf_release(&env);
		buf_release(&in);
		if (rc)
			return rc;
	}
}

int fx_pull(int i, size_t limit)
{
	struct sync_apply_result ar;
	int rc;

	do {
		struct buf raw = BUF_INIT(SYNC_WIRE_MAX_RAW), env = BUF_INIT(SYNC_WIRE_MAX_BODY);
		struct buf in = BUF_INIT(SYNC_WIRE_MAX_RAW);
		enum sync_wire_kind kind;
		unsigned schema;
		char *cur = NULL;
		long long since = 0;

		rc = sync_meta_get(fx_db(i), "cursor", &cur);
		if (rc == RELAIS_ENOTFOUND)
			rc = 0;
		else if (!rc)
			rc = util_parse_ll(cur, 0, INT64_MAX, &since);
		free(cur);
		if (!rc)
			rc = sync_pull_build(fx_db(FX_SERVER), fx_tables(FX_SERVER), FX_DEPT, (uint64_t)since,
					     limit, 0, &raw);
		if (!rc)
			rc = sync_wire_seal(SYNC_WIRE_PULL, 1, raw.data, raw.len, &env);
		if (!rc)
			rc = sync_wire_open(env.data, env.len, SYNC_WIRE_MAX_RAW, &kind, &schema, &in);
		if (!rc)
			rc = sync_apply_pull(fx_db(i), fx_tables(i), in.data, in.len, &ar);
		buf_release(&raw);
		buf_release(&env);
		buf_release(&in);
	} while (!rc && ar.more);
	return rc;
}

int fx_sync(int i)
{
	struct sync_merge_result res;
	char err[256];
	int rc = fx_push(i, FX_DEPT, 1000, &res, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "  push of %s: %d %s\n", fx_login(i), rc, err);
		return rc;
	}
	return fx_pull(i, 5000);
}

long long fx_int(int who, const char *sql)
{
	sqlite3_stmt *st;
	long long v = -1;

	if (sqlite3_prepare_v2(fx_db(who), sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

char *fx_text(int who, const char *sql)
{
	sqlite3_stmt *st;
	char *v = NULL;

	if (sqlite3_prepare_v2(fx_db(who), sql, -1, &st, NULL) != SQLITE_OK)
		return NULL;
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		v = strdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return v;
}

char *fx_dump(int who, const char *table)
{
	struct buf b = BUF_INIT(64u << 20);
	sqlite3_stmt *st;
	char *sql = sqlite3_mprintf("SELECT * FROM \"%w\" ORDER BY id", table);
	int rc = 0;

	if (!sql || sqlite3_prepare_v2(fx_db(who), sql, -1, &st, NULL) != SQLITE_OK) {
		sqlite3_free(sql);
		return NULL;
	}
	sqlite3_free(sql);
	while (!rc && sqlite3_step(st) == SQLITE_ROW) {
		for (int j = 0; !rc && j < sqlite3_column_count(st); j++) {
			int type = sqlite3_column_type(st, j);
			rc = buf_printf(&b, "%s%d:", j ? "|" : "", type);
			if (!rc && type != SQLITE_NULL)
				rc = buf_append(&b, sqlite3_column_blob(st, j), (size_t)sqlite3_column_bytes(st, j));
		}
		if (!rc)
			rc = buf_putc(&b, '\n');
	}
	sqlite3_finalize(st);
	if (rc) {
		buf_release(&b);
		return NULL;
	}
	return (char *)buf_detach(&b, NULL);
}

