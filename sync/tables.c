/*
 * tables.c - the set of replicated tables and the helpers that the server
 * and client halves of the engine share: SQL plumbing, per-column clocks,
 * value comparison and the JSON form of values.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "../common/util.h"
#include "sync.h"
#include "sync_int.h"

const char sync_conflict_ddl[] =
	"CREATE TABLE IF NOT EXISTS sync_conflict("
	"id TEXT PRIMARY KEY NOT NULL, "
	"dept TEXT NOT NULL, "
	"tbl TEXT NOT NULL, "
	"row_id TEXT NOT NULL, "
	"col TEXT, "
	"kind TEXT NOT NULL CHECK(kind IN ('valeur','suppression')), "
	"kept TEXT, "
	"lost TEXT, "
	"kept_login TEXT, "
	"kept_node TEXT, "
	"kept_hlc INTEGER, "
	"lost_login TEXT, "
	"lost_node TEXT, "
	"lost_hlc INTEGER, "
	"created_hlc INTEGER NOT NULL, "
	"resolution TEXT CHECK(resolution IN ('gagnant','perdant')), "
	"resolved_by TEXT, "
	"resolved_hlc INTEGER)";

/* ---- SQL helpers ---- */

int sync_exec(sqlite3 *db, const char *sql)
{
	return relais_sqlite_error(sqlite3_exec(db, sql, NULL, NULL, NULL));
}

int sync_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st)
{
	*st = NULL;
	return relais_sqlite_error(sqlite3_prepare_v2(db, sql, -1, st, NULL));
}

int sync_prepare_kept(sqlite3 *db, const char *sql, sqlite3_stmt **st)
{
	*st = NULL;
	return relais_sqlite_error(sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, st,
						      NULL));
}

int sync_run_kept(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : relais_sqlite_error(rc);
}

void sync_rollback(sqlite3 *db)
{
	if (!sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
}

int sync_session_begin(sqlite3 *db, const struct sync_tables *t, sqlite3_session **s)
{
	int rc = sync_exec(db, "BEGIN IMMEDIATE");
	*s = NULL;
	if (rc)
		return rc;
	rc = relais_sqlite_error(sqlite3session_create(db, "main", s));
	for (size_t i = 0; !rc && i < t->n; i++)
		rc = relais_sqlite_error(sqlite3session_attach(*s, t->v[i].name));
	if (rc) {
		if (*s)
			sqlite3session_delete(*s);
		*s = NULL;
		sync_rollback(db);
	}
	return rc;
}

int sync_query_u64(sqlite3 *db, const char *sql, uint64_t *out)
{
	sqlite3_stmt *st = NULL;
	int rc = sync_prepare(db, sql, &st);
	if (rc)
		return rc;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		sqlite3_int64 v = sqlite3_column_int64(st, 0);
		*out = v > 0 ? (uint64_t)v : 0;
		rc = 0;
	} else {
		rc = rc == SQLITE_DONE ? RELAIS_ENOTFOUND : relais_sqlite_error(rc);
	}
	sqlite3_finalize(st);
	return rc;
}

int sync_txn_begin(sqlite3 *db, const struct sync_tables *t, size_t size, void **out)
{
	struct sync_txn *x;
	int rc;

	assert(size >= sizeof(*x));
	*out = NULL;
	x = calloc(1, size);
	if (!x)
		return RELAIS_ENOMEM;
	x->db = db;
	rc = sync_session_begin(db, t, &x->s);
	if (rc) {
		free(x);
		return rc;
	}
	*out = x;
	return 0;
}

int sync_txn_changeset(struct sync_txn *x, int *n, void **cs)
{
	int rc = relais_sqlite_error(sqlite3session_changeset(x->s, n, cs));
	sqlite3session_delete(x->s);
	x->s = NULL;
	return rc;
}

int sync_txn_end(struct sync_txn *x, int rc)
{
	if (!rc)
		rc = sync_exec(x->db, "COMMIT");
	if (x->s)
		sqlite3session_delete(x->s);
	if (rc)
		sync_rollback(x->db);
	free(x);
	return rc;
}

static char *sql_finish(sqlite3_str *s)
{
	if (sqlite3_str_errcode(s) != SQLITE_OK) {
		sqlite3_free(sqlite3_str_finish(s));
		return NULL;
	}
	return sqlite3_str_finish(s);
}

char *sync_sql_insert(const struct sync_table *tb, int or_replace)
{
	sqlite3_str *s = sqlite3_str_new(NULL);
	sqlite3_str_appendf(s, "INSERT %sINTO \"%w\" VALUES(", or_replace ? "OR REPLACE " : "", tb->name);
	for (int j = 0; j < tb->ncols; j++)
		sqlite3_str_appendall(s, j ? ",?" : "?");
	sqlite3_str_appendall(s, ")");
	return sql_finish(s);
}

char *sync_sql_select(const struct sync_table *tb)
{
	return sqlite3_mprintf("SELECT * FROM \"%w\" WHERE id=?1", tb->name);
}

char *sync_sql_delete(const struct sync_table *tb)
{
	return sqlite3_mprintf("DELETE FROM \"%w\" WHERE id=?1", tb->name);
}

/* ---- table set ---- */

void sync_tables_free(struct sync_tables *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++) {
		for (int j = 0; j < t->v[i].ncols; j++)
			free(t->v[i].cols[j]);
		free(t->v[i].cols);
		free(t->v[i].name);
	}
	free(t->v);
	free(t);
}

/* Reads and checks one table's columns against the schema rules. */
static int load_table(sqlite3 *db, const char *name, struct sync_table *tb)
{
	sqlite3_stmt *st = NULL;
	int rc, cap = 0;

	tb->name = strdup(name);
	if (!tb->name)
		return RELAIS_ENOMEM;
	rc = sync_prepare(db, "SELECT name, type, \"notnull\", pk FROM pragma_table_info(?1) ORDER BY cid", &st);
	if (rc)
		goto out;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *col = (const char *)sqlite3_column_text(st, 0);
		const char *type = (const char *)sqlite3_column_text(st, 1);
		int notnull = sqlite3_column_int(st, 2), pk = sqlite3_column_int(st, 3);
		int j = tb->ncols;
		if (!col || !type) {
			rc = RELAIS_ENOMEM;
			goto out;
		}
		if ((j == 0 && (strcmp(col, "id") || pk != 1 || strcasecmp(type, "TEXT"))) ||
		    (j == 1 && (strcmp(col, "dept") || !notnull)) || (j > 0 && pk)) {
			rc = RELAIS_ESCHEMA;
			goto out;
		}
		if (j == cap) {
			int ncap = cap ? cap * 2 : 16;
			char **n = realloc(tb->cols, (size_t)ncap * sizeof(*n));
			if (!n) {
				rc = RELAIS_ENOMEM;
				goto out;
			}
			tb->cols = n;
			cap = ncap;
		}
		tb->cols[j] = strdup(col);
		if (!tb->cols[j]) {
			rc = RELAIS_ENOMEM;
			goto out;
		}
		tb->ncols++;
	}
	rc = relais_sqlite_error(rc);
	if (rc)
		goto out;
	if (tb->ncols < 2) {
		rc = RELAIS_ESCHEMA;
		goto out;
	}
	/* A second unique key would let two replicas create rows that cannot
	 * both exist, which no per-column merge can settle. */
	sqlite3_finalize(st);
	rc = sync_prepare(db, "SELECT count(*) FROM pragma_index_list(?1) WHERE \"unique\" AND origin <> 'pk'", &st);
	if (rc)
		goto out;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW) {
		rc = relais_sqlite_error(sqlite3_errcode(db));
		goto out;
	}
	if (sqlite3_column_int(st, 0) > 0)
		rc = RELAIS_ESCHEMA;
out:
	sqlite3_finalize(st);
	return rc;
}

int sync_tables_load(sqlite3 *db, const char *const *names, size_t n, struct sync_tables **out)
{
	struct sync_tables *t;
	int rc = 0;

	*out = NULL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return RELAIS_ENOMEM;
	t->v = calloc(n + 1, sizeof(*t->v));
	if (!t->v) {
		rc = RELAIS_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i <= n; i++) {
		const char *name = i < n ? names[i] : SYNC_CONFLICT_TABLE;
		if (sync_tables_find(t, name) >= 0)
			continue;
		rc = load_table(db, name, &t->v[t->n]);
		t->n++;
		if (rc)
			goto out;
		if (t->v[t->n - 1].ncols > t->max_cols)
			t->max_cols = t->v[t->n - 1].ncols;
	}
out:
	if (rc) {
		sync_tables_free(t);
		return rc;
	}
	*out = t;
	return 0;
}

size_t sync_tables_count(const struct sync_tables *t)
{
	return t->n;
}

const char *sync_tables_name(const struct sync_tables *t, size_t i)
{
	return i < t->n ? t->v[i].name : NULL;
}

int sync_tables_ncols(const struct sync_tables *t, size_t i)
{
	return i < t->n ? t->v[i].ncols : 0;
}

const char *sync_tables_col(const struct sync_tables *t, size_t i, int j)
{
	if (i >= t->n || j < 0 || j >= t->v[i].ncols)
		return NULL;
	return t->v[i].cols[j];
}

int sync_tables_find(const struct sync_tables *t, const char *name)
{
	return sync_tables_find_n(t, name, strlen(name));
}

int sync_tables_find_n(const struct sync_tables *t, const void *name, size_t n)
{
	for (size_t i = 0; i < t->n; i++)
		if (strlen(t->v[i].name) == n && !memcmp(t->v[i].name, name, n))
			return (int)i;
	return -1;
}

/* ---- clocks ---- */

static size_t put_u64(unsigned char *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (unsigned char)(v & 0xff);
		v >>= 8;
	}
	return 8;
}

static uint64_t get_u64(const unsigned char *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

size_t sync_clocks_encode(const struct sync_stamp *st, int ncols, unsigned char *out)
{
	size_t o = 0;
	o += put_u64(out + o, st[0].hlc);
	o += put_u64(out + o, st[0].node);
	for (int j = 1; j < ncols; j++) {
		if (st[j].hlc == st[0].hlc && st[j].node == st[0].node)
			continue;
		for (unsigned v = (unsigned)j; ; v >>= 7) {
			if (v < 0x80) {
				out[o++] = (unsigned char)v;
				break;
			}
			out[o++] = (unsigned char)(0x80 | (v & 0x7f));
		}
		o += put_u64(out + o, st[j].hlc);
		o += put_u64(out + o, st[j].node);
	}
	return o;
}

int sync_clocks_decode(const void *blob, size_t n, int ncols, struct sync_stamp *st)
{
	const unsigned char *p = blob;
	size_t o = 16;

	if (!p || n < 16 || ncols < 1)
		return RELAIS_ECORRUPT;
	st[0].hlc = get_u64(p);
	st[0].node = get_u64(p + 8);
	for (int j = 1; j < ncols; j++)
		st[j] = st[0];
	while (o < n) {
		uint64_t j = 0;
		int shift = 0;
		for (;;) {
			if (o >= n || shift > 28)
				return RELAIS_ECORRUPT;
			j |= (uint64_t)(p[o] & 0x7f) << shift;
			shift += 7;
			if (!(p[o++] & 0x80))
				break;
		}
		if (j == 0 || j >= (uint64_t)ncols || n - o < 16)
			return RELAIS_ECORRUPT;
		st[j].hlc = get_u64(p + o);
		st[j].node = get_u64(p + o + 8);
		o += 16;
	}
	return 0;
}

/* ---- values ---- */

int sync_value_equal(sqlite3_value *a, sqlite3_value *b)
{
	int ta = sqlite3_value_type(a), tb = sqlite3_value_type(b);
	if (ta != tb)
		return 0;
	switch (ta) {
	case SQLITE_NULL:
		return 1;
	case SQLITE_INTEGER:
		return sqlite3_value_int64(a) == sqlite3_value_int64(b);
	case SQLITE_FLOAT: {
		double x = sqlite3_value_double(a), y = sqlite3_value_double(b);
		return !memcmp(&x, &y, sizeof(x));
	}
	case SQLITE_TEXT: {
		const unsigned char *x = sqlite3_value_text(a), *y = sqlite3_value_text(b);
		int nx = sqlite3_value_bytes(a), ny = sqlite3_value_bytes(b);
		return nx == ny && (nx == 0 || (x && y && !memcmp(x, y, (size_t)nx)));
	}
	default: {
		const void *x = sqlite3_value_blob(a), *y = sqlite3_value_blob(b);
		int nx = sqlite3_value_bytes(a), ny = sqlite3_value_bytes(b);
		return nx == ny && (nx == 0 || (x && y && !memcmp(x, y, (size_t)nx)));
	}
	}
}

static json_t *base64_json(const unsigned char *p, size_t n)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t olen = (n + 2) / 3 * 4, o = 0;
	char *s = malloc(olen + 1);
	json_t *j;

	if (!s)
		return NULL;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		s[o++] = tab[(v >> 18) & 63];
		s[o++] = tab[(v >> 12) & 63];
		s[o++] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
		s[o++] = i + 2 < n ? tab[v & 63] : '=';
	}
	s[o] = 0;
	j = json_stringn(s, o);
	free(s);
	return j;
}

json_t *sync_value_json(sqlite3_value *v)
{
	switch (sqlite3_value_type(v)) {
	case SQLITE_INTEGER:
		return json_integer((json_int_t)sqlite3_value_int64(v));
	case SQLITE_FLOAT:
		return json_real(sqlite3_value_double(v));
	case SQLITE_TEXT: {
		const char *s = (const char *)sqlite3_value_text(v);
		size_t n = (size_t)sqlite3_value_bytes(v);
		/* jansson refuses text that is not UTF-8, and text holding a NUL
		 * byte would trip most JSON readers: keep their bytes anyway. */
		json_t *j = s && strlen(s) == n ? json_stringn(s, n) : NULL;
		return j ? j : base64_json((const unsigned char *)(s ? s : ""), s ? n : 0);
	}
	case SQLITE_BLOB:
		return base64_json(sqlite3_value_blob(v), (size_t)sqlite3_value_bytes(v));
	default:
		return json_null();
	}
}

char *sync_json_text(const json_t *j)
{
	return json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
}

int sync_bind_json(sqlite3_stmt *st, int idx, const json_t *j)
{
	int rc;

	switch (json_typeof(j)) {
	case JSON_INTEGER:
		rc = sqlite3_bind_int64(st, idx, (sqlite3_int64)json_integer_value(j));
		break;
	case JSON_REAL:
		rc = sqlite3_bind_double(st, idx, json_real_value(j));
		break;
	case JSON_STRING:
		rc = sqlite3_bind_text(st, idx, json_string_value(j), (int)json_string_length(j),
				       SQLITE_TRANSIENT);
		break;
	case JSON_TRUE:
		rc = sqlite3_bind_int(st, idx, 1);
		break;
	case JSON_FALSE:
		rc = sqlite3_bind_int(st, idx, 0);
		break;
	case JSON_NULL:
		rc = sqlite3_bind_null(st, idx);
		break;
	default: {
		char *s = sync_json_text(j);
		if (!s)
			return RELAIS_ENOMEM;
		rc = sqlite3_bind_text(st, idx, s, -1, SQLITE_TRANSIENT);
		free(s);
	}
	}
	return relais_sqlite_error(rc);
}
