/*
 * model_int.h - internals of model/ shared between its files and its tests.
 * Other directories use model.h only.
 */
#ifndef RELAIS_MODEL_INT_H
#define RELAIS_MODEL_INT_H

#include "model.h"

/*
 * model_migrate() over an explicit set of tables and a target version, so
 * that tests can exercise later steps (ALTER TABLE ADD COLUMN, new tables)
 * before the real schema has any. Same contract as model_migrate() with
 * target in place of MODEL_SCHEMA_VERSION.
 */
int model_migrate_tables(sqlite3 *db, const struct model_table *tables, size_t n,
			 int target) RELAIS_WUR;

/*
 * Folds s for forgiving comparisons: ASCII letters and digits in lower case,
 * Latin accented letters without their accents (œ as "oe"), everything else
 * (spaces, '_', '-', apostrophes, other characters) left out. Writes at most
 * outlen - 1 bytes and a NUL; returns the length the full result would take.
 * s must be valid UTF-8.
 */
size_t model_fold(const char *s, char *out, size_t outlen);

#endif
