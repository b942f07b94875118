/*
 * model.h - the network's data model, described once.
 *
 * Each replicated table is described by a struct model_table: its columns,
 * their types, French labels, command-line flags, enumerations, validation
 * rules and which hold personal data. The SQL schema (with its CHECK
 * constraints), the migrations, the client's commands, the exports and later
 * the mail forms and the digest are all driven by these descriptions.
 *
 * Schema rules that sync/ relies on (see docs/sync.md): every replicated
 * table starts with "id TEXT PRIMARY KEY NOT NULL" (a lower-case UUID) and
 * "dept TEXT NOT NULL" (the département code); the descriptions below list
 * only the columns that follow those two.
 */
#ifndef RELAIS_MODEL_H
#define RELAIS_MODEL_H

#include <stddef.h>
#include <sqlite3.h>
#include "../common/relais.h"

/* The schema version of the replicated tables; travels with every sync request. */
#define MODEL_SCHEMA_VERSION 3

enum model_kind {
	MODEL_TEXT,   /* free text, one line unless MODEL_MULTILINE */
	MODEL_INT,    /* integer in [min, max] */
	MODEL_BOOL,   /* 0 or 1; on the command line oui/non */
	MODEL_DATE,   /* YYYY-MM-DD */
	MODEL_EMAIL,
	MODEL_PHONE,  /* French number, stored as 10 digits (0XXXXXXXXX); the schema also accepts +33XXXXXXXXX */
	MODEL_URL,    /* http:// or https:// */
	MODEL_ENUM,   /* one of values[] */
	MODEL_REF     /* the id of a row of table ref */
};

/* Column flags. */
#define MODEL_REQUIRED   0x01u /* must be given on creation, never emptied */
#define MODEL_PERSONAL   0x02u /* personal data (RGPD): exported on request, erased on délabellisation */
#define MODEL_LISTED     0x04u /* shown as a column by "list" */
#define MODEL_MULTILINE  0x08u /* free text that may hold line breaks */
#define MODEL_POSTCODE   0x10u /* MODEL_TEXT holding a French postal code (5 digits) */
#define MODEL_SERVER     0x20u /* written by relaisd only: a replica's push may not change it */

/* Table flags. */
#define MODEL_TABLE_SERVER_ROWS 0x01u /* rows created and deleted by relaisd only */

/* Caps of stored values: text holds at most MODEL_TEXT_MAX characters, a URL
 * MODEL_URL_MAX bytes; an out buffer of MODEL_VALUE_MAX bytes always holds
 * what model_check_value() writes. */
#define MODEL_TEXT_MAX   10000
#define MODEL_URL_MAX    2000
#define MODEL_VALUE_MAX  (4 * MODEL_TEXT_MAX + 1)

/* What an erasure (RGPD) leaves in a required personal column, which NOT
 * NULL forbids to empty: text becomes MODEL_ERASED_TEXT, an email
 * MODEL_ERASED_EMAIL_PREFIX + 8 characters of the row's id +
 * MODEL_ERASED_EMAIL_DOMAIN. The clients write it, relaisd recognises it. */
#define MODEL_ERASED_TEXT         "(effacé)"
#define MODEL_ERASED_EMAIL_PREFIX "efface-"
#define MODEL_ERASED_EMAIL_DOMAIN "@anonyme.invalid"

struct model_column {
	const char *name;           /* SQL column name; the CLI flag is "--" name with '_' as '-' */
	enum model_kind kind;
	const char *label;          /* French label, e.g. "Téléphone" */
	const char *const *values;  /* MODEL_ENUM: NULL-terminated list of allowed values */
	const char *ref;            /* MODEL_REF: name of the referenced table */
	long long min, max;         /* MODEL_INT: inclusive range */
	unsigned flags;             /* MODEL_REQUIRED | ... */
	const char *def;            /* SQL default (literal) or NULL */
	int since;                  /* schema version that added the column */
	/* MODEL_ENUM whose list grew: before schema version widened, the
	 * column accepted values_before only (the migration to widened
	 * rebuilds the table with the new CHECK). 0 when never widened. */
	int widened;
	const char *const *values_before;
};

struct model_table {
	const char *name;           /* SQL table name, e.g. "event" */
	const char *command;        /* client command word, French, e.g. "evenement" */
	const char *label;          /* French singular with article, e.g. "l'événement" */
	const char *plural;         /* French plural, e.g. "événements" */
	const struct model_column *columns;
	size_t ncolumns;
	int since;                  /* schema version that added the table */
	unsigned flags;             /* MODEL_TABLE_* */
};

/* All replicated domain tables, in dependency order (referenced tables first). */
extern const struct model_table model_tables[];
extern const size_t model_ntables;
/* Their SQL names, in the same order (model_ntables entries), e.g. for sync_tables_load(). */
extern const char *const model_table_names[];

/* The French label of an enumeration value ("labellise" → "labellisé",
 * "semestre1" → "1er semestre"), the value itself when it has none; "" for
 * NULL. Static strings. */
const char *model_value_label(const char *value);

/* Look-ups; return NULL when unknown. */
const struct model_table *model_table_by_name(const char *name);
const struct model_table *model_table_by_command(const char *command);
const struct model_column *model_column_by_name(const struct model_table *t, const char *name);
/* Finds a column by its command-line flag without the dashes ("date-debut");
 * '_' is accepted for '-'. */
const struct model_column *model_column_by_flag(const struct model_table *t, const char *flag);
/* Writes the command-line flag of c without the dashes ("code-postal") into
 * out; returns RELAIS_ETOOBIG when outlen is too small. */
int model_column_flag(const struct model_column *c, char *out, size_t outlen) RELAIS_WUR;

/*
 * Brings db to MODEL_SCHEMA_VERSION, running each missing migration step in
 * one transaction and recording the version in PRAGMA user_version.
 * Returns RELAIS_ESCHEMA when the database is newer than this program.
 * Step v creates the tables whose since is v and adds (ALTER TABLE ADD
 * COLUMN) the columns whose since is v to older tables; a table holding a
 * column widened at v is rebuilt instead (created anew with the CHECKs of
 * v, its rows copied, the old table dropped). Running it again is
 * a no-op. Must not be called inside a transaction; RELAIS_EBUSY when another
 * connection holds the write lock past db's busy timeout, RELAIS_EDB on any
 * other SQLite error (the failed step is rolled back).
 */
int model_migrate(sqlite3 *db) RELAIS_WUR;
/* Writes the CREATE TABLE statement of t as of schema version v into a
 * malloc'd string that the caller frees; NULL on ENOMEM, or when t did not
 * exist yet at version v. Columns come in the order a migrated database has
 * them: by since, then in description order. */
char *model_create_sql(const struct model_table *t, int v);

/*
 * Checks and normalises a value typed by a person for column c.
 * On success returns 0 and writes the value to store into out (outlen bytes):
 * trimmed, phone numbers without spaces, booleans as "0"/"1", enumerations
 * in their canonical spelling (accents and case forgiven).
 * On failure returns RELAIS_EINVAL and writes a French explanation into err,
 * e.g. "Courriel : « abc » n'est pas une adresse valide.".
 * An empty value is accepted (stored as NULL) unless c is MODEL_REQUIRED;
 * out is then "" and the caller binds NULL. in may be NULL (empty).
 * RELAIS_ETOOBIG (with a message in err) when out is too small: an out of
 * MODEL_VALUE_MAX bytes never is.
 * Accepted spellings: dates YYYY-MM-DD or DD/MM/YYYY (also with '.' or '-'),
 * stored YYYY-MM-DD; booleans oui/non, vrai/faux, 1/0; phones with spaces,
 * dots or dashes, +33 or 0033 (and +262/+590/+594/+596) turned into the
 * 10-digit national form; references as UUIDs in any case, stored in lower
 * case; URLs without a scheme get "https://".
 */
int model_check_value(const struct model_column *c, const char *in,
		      char *out, size_t outlen, char *err, size_t errlen) RELAIS_WUR;

/*
 * The server's checks of what a replica pushes (relaisd's merge policy).
 * model_replica_may_write: 1 when a replica may make this write, op being
 * SQLITE_INSERT or SQLITE_DELETE of a row of table (col NULL) or
 * SQLITE_UPDATE of column col; 0 for what relaisd alone writes (the mail
 * journal's rows and outcomes, MODEL_SERVER columns). Tables the model does
 * not describe are not its to judge: 1.
 * model_check_stored: 0 when v may be stored in column col of table as a
 * replica sent it (the type and range of the column, valid UTF-8 without a
 * NUL byte, what model_check_value() accepts, and for every kind but free
 * text the canonical form it stores); RELAIS_EINVAL with a French reason
 * naming the column's label otherwise.
 */
int model_replica_may_write(const char *table, int op, const char *col);
/*
 * The same judged for an account of role: a « caf » account writes only the
 * confirmation that a change of the national directory is published
 * (directory_change.publie and date_publication); the others as
 * model_replica_may_write() says.
 * model_role_hidden: the SQL condition (over the table's columns) of the
 * rows of table that an account of role never receives, NULL when it
 * receives them all: a « caf » account never reads the requests about a
 * young person in distress. A static string.
 */
int model_role_may_write(const char *role, const char *table, int op, const char *col);
const char *model_role_hidden(const char *role, const char *table);
int model_check_stored(const char *table, const char *col, sqlite3_value *v,
		       char *err, size_t errlen) RELAIS_WUR;

/*
 * Folds s for forgiving comparisons: ASCII letters and digits in lower case,
 * Latin accented letters without their accents (œ as "oe"), everything else
 * (spaces, '_', '-', apostrophes, other characters) left out. Writes at most
 * outlen - 1 bytes and a NUL; returns the length the full result would take.
 * s must be valid UTF-8.
 */
size_t model_fold(const char *s, char *out, size_t outlen);

struct buf;
/* Appends the "## Tables" section of docs/model.md, written from the
 * descriptions (one table of columns per model table). */
int model_doc_tables(struct buf *out) RELAIS_WUR;

/* Returns 1 when code is a French département code (01-95, 2A, 2B, 971-976)
 * or "99", the code reserved for the demonstration network. */
int model_dept_valid(const char *code);

#endif
