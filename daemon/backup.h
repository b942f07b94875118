/*
 * backup.h - copies of the authoritative store (prefix backup_): "relaisd
 * backup" and "relaisd restauration".
 *
 * A backup is one self-contained SQLite file (rollback journal mode, no
 * -wal beside it), mode 0600, taken with SQLite's online backup API from a
 * connection of its own: it may run while relaisd serves the same
 * directory, and holds exactly the transactions committed when its read
 * began (one consistent snapshot; writers go on meanwhile, WAL). It appears
 * under its final name only once complete and checked (temporary file,
 * fsync, rename).
 */
#ifndef RELAIS_DAEMON_BACKUP_H
#define RELAIS_DAEMON_BACKUP_H

#include <stddef.h>
#include <stdint.h>
#include "../common/relais.h"

/* What a backup or a restore holds, for the summary printed to a person. */
struct backup_summary {
	long long bytes;             /* size of the file */
	int schema;                  /* PRAGMA user_version */
	long long rows;              /* replicated rows, deleted ones left out */
	long long accounts;
	long long seq;               /* the server's change sequence */
};

/*
 * Writes a copy of DIR/relais.db to the file to (replaced atomically when it
 * exists) and checks the copy (PRAGMA integrity_check, schema). Returns 0
 * with *sum filled, or a RELAIS_E* code with a French message in err; the
 * temporary file is removed on failure.
 */
int backup_run(const char *dir, const char *to, struct backup_summary *sum,
	       char *err, size_t errlen) RELAIS_WUR;

/*
 * Checks that file is a relaisd store this program can serve after
 * "relaisd init": integrity_check passes, schema version in
 * [1, MODEL_SCHEMA_VERSION], accounts and sync tables present. Fills *sum.
 * RELAIS_ECORRUPT, RELAIS_ESCHEMA, RELAIS_EIO with a French message.
 */
int backup_verify(const char *file, struct backup_summary *sum, char *err,
		  size_t errlen) RELAIS_WUR;

/*
 * Installs the backup from as DIR/relais.db: creates DIR (0700) when
 * missing, refuses a DIR open to others (datadir_check), takes DIR's lock
 * (RELAIS_EBUSY while a relaisd serves it), refuses to replace an existing
 * store unless force (RELAIS_EEXIST), copies from to a temporary file
 * (0600), checks the copy (backup_verify), removes any stale -wal and -shm
 * and renames the copy into place. French message in err on failure.
 */
int backup_restore(const char *from, const char *dir, int force, struct backup_summary *sum,
		   char *err, size_t errlen) RELAIS_WUR;

#endif
