/*
 * schema.c - the SQL schema generated from the descriptions, and migrations.
 *
 * Every CHECK constraint names one column only (docs/sync.md: merging the
 * columns of two valid edits must give a valid row) and accepts NULL for
 * optional columns. Since a CHECK passes when its expression is NULL, each
 * test below is written so that a non-NULL value never yields NULL (hence
 * "date(x, '+0 days') IS x", not "=").
 */
#include <stdlib.h>
#include <string.h>
#include "../common/buf.h"
#include "model_int.h"

/* No generated statement comes near this; it only bounds a programming error. */
#define SQL_MAX (256 * 1024)

/* Lower-case canonical UUID, the shape util_uuid() writes. */
static int put_uuid_glob(struct buf *b)
{
	static const int groups[] = { 8, 4, 4, 4, 12 };
	int rc = buf_putc(b, '\'');
	for (size_t g = 0; !rc && g < 5; g++) {
		if (g)
			rc = buf_putc(b, '-');
		for (int i = 0; !rc && i < groups[g]; i++)
			rc = buf_puts(b, "[0-9a-f]");
	}
	if (!rc)
		rc = buf_putc(b, '\'');
	return rc;
}

/* A SQL string literal. */
static int put_literal(struct buf *b, const char *s)
{
	int rc = buf_putc(b, '\'');
	for (; !rc && *s; s++)
		rc = *s == '\'' ? buf_puts(b, "''") : buf_putc(b, *s);
	if (!rc)
		rc = buf_putc(b, '\'');
	return rc;
}

/* The values enumeration c accepted at schema version v. */
static const char *const *values_at(const struct model_column *c, int v)
{
	return c->widened && v < c->widened ? c->values_before : c->values;
}

/* The test of a non-NULL value of column c at version v, on one column only. */
static int put_value_check(struct buf *b, const struct model_column *c, int v)
{
	const char *n = c->name;
	int rc = 0;
	switch (c->kind) {
	case MODEL_TEXT:
		rc = buf_printf(b, "typeof(%s) = 'text' AND length(%s) <= %d", n, n, MODEL_TEXT_MAX);
		if (!rc && (c->flags & MODEL_REQUIRED))
			rc = buf_printf(b, " AND trim(%s) <> ''", n);
		if (!rc && (c->flags & MODEL_POSTCODE))
			rc = buf_printf(b, " AND %s GLOB '[0-9][0-9][0-9][0-9][0-9]'", n);
		if (!rc && !(c->flags & MODEL_MULTILINE))
			rc = buf_printf(b, " AND instr(%s, char(10)) = 0 AND instr(%s, char(13)) = 0",
					n, n);
		break;
	case MODEL_INT:
	case MODEL_BOOL:
		rc = buf_printf(b, "typeof(%s) = 'integer' AND %s BETWEEN %lld AND %lld", n, n,
				c->kind == MODEL_BOOL ? 0 : c->min, c->kind == MODEL_BOOL ? 1 : c->max);
		break;
	case MODEL_DATE:
		rc = buf_printf(b, "typeof(%s) = 'text' AND %s GLOB "
				"'[0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9]' "
				"AND date(%s, '+0 days') IS %s", n, n, n, n);
		break;
	case MODEL_EMAIL:
		/* The shape only; model_check_value() is stricter. */
		rc = buf_printf(b, "typeof(%s) = 'text' AND length(%s) <= 254 "
				"AND %s GLOB '?*@?*.?*' AND %s NOT GLOB '*@*@*' "
				"AND %s NOT GLOB '*[^!-~]*'", n, n, n, n, n);
		break;
	case MODEL_PHONE:
		rc = buf_printf(b, "typeof(%s) = 'text' AND (%s GLOB '0[1-9]", n, n);
		for (int i = 0; !rc && i < 8; i++)
			rc = buf_puts(b, "[0-9]");
		if (!rc)
			rc = buf_printf(b, "' OR %s GLOB '+33[1-9]", n);
		for (int i = 0; !rc && i < 8; i++)
			rc = buf_puts(b, "[0-9]");
		if (!rc)
			rc = buf_puts(b, "')");
		break;
	case MODEL_URL:
		/* No blank or control character: char(1, ..., 32, 127) as a GLOB class. */
		rc = buf_printf(b, "typeof(%s) = 'text' AND length(%s) <= %d "
				"AND (%s GLOB 'http://?*' OR %s GLOB 'https://?*') "
				"AND %s NOT GLOB ('*[' || char(", n, n, MODEL_URL_MAX, n, n, n);
		for (int ch = 1; !rc && ch <= 32; ch++)
			rc = buf_printf(b, "%d, ", ch);
		if (!rc)
			rc = buf_puts(b, "127) || ']*')");
		break;
	case MODEL_ENUM: {
		const char *const *values = values_at(c, v);
		rc = buf_printf(b, "%s IN (", n);
		for (size_t i = 0; !rc && values[i]; i++) {
			if (i)
				rc = buf_puts(b, ", ");
			if (!rc)
				rc = put_literal(b, values[i]);
		}
		if (!rc)
			rc = buf_putc(b, ')');
		break;
	}
	case MODEL_REF:
		rc = buf_printf(b, "typeof(%s) = 'text' AND %s GLOB ", n, n);
		if (!rc)
			rc = put_uuid_glob(b);
		break;
	}
	return rc;
}

/*
 * The definition of column c at version v. For ALTER TABLE ADD COLUMN
 * (alter), a required column without a default is left nullable: SQLite
 * refuses NOT NULL there, and an older peer's INSERT lacking the column
 * would break it anyway.
 */
static int put_column(struct buf *b, const struct model_column *c, int v, int alter)
{
	int integer = c->kind == MODEL_INT || c->kind == MODEL_BOOL;
	int notnull = (c->flags & MODEL_REQUIRED) && !(alter && !c->def);
	int rc = buf_printf(b, "%s %s", c->name, integer ? "INTEGER" : "TEXT");
	if (!rc && notnull)
		rc = buf_puts(b, " NOT NULL");
	if (!rc && c->def)
		rc = buf_printf(b, " DEFAULT %s", c->def);
	if (!rc)
		rc = buf_puts(b, " CHECK(");
	if (!rc && !notnull)
		rc = buf_printf(b, "%s IS NULL OR (", c->name);
	if (!rc)
		rc = put_value_check(b, c, v);
	if (!rc && !notnull)
		rc = buf_putc(b, ')');
	if (!rc)
		rc = buf_putc(b, ')');
	return rc;
}

/* A column added to an existing table comes with the version that added it. */
static int column_since(const struct model_table *t, const struct model_column *c)
{
	return c->since > t->since ? c->since : t->since;
}

/* CREATE TABLE name with the columns of t at version v; see model_create_sql(). */
static char *create_sql(const struct model_table *t, const char *name, int v)
{
	struct buf b = BUF_INIT(SQL_MAX);
	char *sql = NULL;
	int rc;
	if (t->since > v)
		return NULL;
	rc = buf_printf(&b, "CREATE TABLE %s(\n\tid TEXT PRIMARY KEY NOT NULL CHECK("
			"typeof(id) = 'text' AND id GLOB ", name);
	if (!rc)
		rc = put_uuid_glob(&b);
	if (!rc)
		rc = buf_puts(&b, "),\n\tdept TEXT NOT NULL CHECK("
			      "(dept GLOB '[0-9][0-9]' AND dept BETWEEN '01' AND '95' AND dept <> '20') "
			      "OR dept IN ('2A', '2B', '99', '971', '972', '973', '974', '975', '976'))");
	/* Columns in the order migrations add them, so that a fresh database
	 * and a migrated one have the same column numbers (changesets use them). */
	for (int s = t->since; !rc && s <= v; s++)
		for (size_t i = 0; !rc && i < t->ncolumns; i++) {
			if (column_since(t, &t->columns[i]) != s)
				continue;
			rc = buf_puts(&b, ",\n\t");
			if (!rc)
				rc = put_column(&b, &t->columns[i], v, 0);
		}
	if (!rc)
		rc = buf_puts(&b, "\n)");
	if (!rc)
		sql = (char *)buf_detach(&b, NULL);
	buf_release(&b);
	return sql;
}

char *model_create_sql(const struct model_table *t, int v)
{
	return create_sql(t, t->name, v);
}

static int exec(sqlite3 *db, const char *sql)
{
	int src = sqlite3_exec(db, sql, NULL, NULL, NULL);
	return src == SQLITE_OK ? 0 : relais_sqlite_error(src);
}

static int user_version(sqlite3 *db, int *v)
{
	sqlite3_stmt *st = NULL;
	int rc = 0;
	int src = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL);
	if (src != SQLITE_OK) {
		rc = relais_sqlite_error(src);
		goto out;
	}
	src = sqlite3_step(st);
	if (src != SQLITE_ROW) {
		rc = relais_sqlite_error(src);
		goto out;
	}
	*v = sqlite3_column_int(st, 0);
out:
	sqlite3_finalize(st);
	return rc;
}

/* 1 when a column of t has its enumeration widened at version v. */
static int widened_at(const struct model_table *t, int v)
{
	for (size_t k = 0; k < t->ncolumns; k++)
		if (t->columns[k].widened == v)
			return 1;
	return 0;
}

/*
 * SQLite cannot change a CHECK in place: the table is created anew at
 * version v under a temporary name, the columns it had at v - 1 copied in
 * their order, the old table dropped and the new one renamed. Column numbers
 * stay those of a fresh database (changesets rely on them).
 */
static int rebuild(sqlite3 *db, const struct model_table *t, int v, struct buf *b)
{
	char *sql = NULL;
	int rc = buf_printf(b, "%s__v%d", t->name, v);
	if (rc)
		return rc;
	sql = create_sql(t, buf_str(b), v);
	if (!sql)
		return RELAIS_ENOMEM;
	rc = exec(db, sql);
	free(sql);
	buf_reset(b);
	if (!rc)
		rc = buf_printf(b, "INSERT INTO %s__v%d (id, dept", t->name, v);
	for (int pass = 0; pass < 2 && !rc; pass++) {
		if (pass)
			rc = buf_puts(b, ") SELECT id, dept");
		for (int s = t->since; !rc && s < v; s++)
			for (size_t k = 0; !rc && k < t->ncolumns; k++)
				if (column_since(t, &t->columns[k]) == s)
					rc = buf_printf(b, ", %s", t->columns[k].name);
	}
	if (!rc)
		rc = buf_printf(b, " FROM %s; DROP TABLE %s; ALTER TABLE %s__v%d RENAME TO %s",
				t->name, t->name, t->name, v, t->name);
	if (!rc)
		rc = exec(db, buf_str(b));
	return rc;
}

/* The statements of step v, run inside its transaction. */
static int migrate_step(sqlite3 *db, const struct model_table *tables, size_t n, int v)
{
	struct buf b = BUF_INIT(SQL_MAX);
	char *sql = NULL;
	int rc = 0;
	for (size_t i = 0; !rc && i < n; i++) {
		const struct model_table *t = &tables[i];
		if (t->since == v) {
			sql = model_create_sql(t, v);
			if (!sql) {
				rc = RELAIS_ENOMEM;
				goto out;
			}
			rc = exec(db, sql);
			free(sql);
			sql = NULL;
			continue;
		}
		if (t->since > v)
			continue;
		if (widened_at(t, v)) {
			buf_reset(&b);
			rc = rebuild(db, t, v, &b);
			continue;
		}
		for (size_t k = 0; !rc && k < t->ncolumns; k++) {
			if (column_since(t, &t->columns[k]) != v)
				continue;
			buf_reset(&b);
			rc = buf_printf(&b, "ALTER TABLE %s ADD COLUMN ", t->name);
			if (!rc)
				rc = put_column(&b, &t->columns[k], v, 1);
			if (!rc)
				rc = exec(db, buf_str(&b));
		}
	}
	if (!rc) {
		buf_reset(&b);
		rc = buf_printf(&b, "PRAGMA user_version = %d", v);
		if (!rc)
			rc = exec(db, buf_str(&b));
	}
out:
	buf_release(&b);
	return rc;
}

int model_migrate_tables(sqlite3 *db, const struct model_table *tables, size_t n, int target)
{
	int rc, v = 0;
	rc = user_version(db, &v);
	if (rc)
		return rc;
	if (v > target)
		return RELAIS_ESCHEMA;
	for (int step = v + 1; step <= target; step++) {
		rc = exec(db, "BEGIN IMMEDIATE");
		if (rc)
			return rc;
		/* Another process may have migrated while we waited for the lock. */
		rc = user_version(db, &v);
		if (!rc && v > target)
			rc = RELAIS_ESCHEMA;
		if (!rc && v < step)
			rc = migrate_step(db, tables, n, step);
		if (!rc)
			rc = exec(db, "COMMIT");
		if (rc) {
			(void)exec(db, "ROLLBACK");
			return rc;
		}
	}
	return 0;
}

int model_migrate(sqlite3 *db)
{
	return model_migrate_tables(db, model_tables, model_ntables, MODEL_SCHEMA_VERSION);
}
