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


#endif
