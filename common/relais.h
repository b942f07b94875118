/*
 * relais.h - project-wide error codes and attributes.
 *
 * Every fallible function of the project returns 0 on success or one of the
 * negative RELAIS_E* codes below. Codes of libuv, SQLite, zlib, curl and
 * libetpan are converted at the boundary of the module that calls them.
 */
#ifndef RELAIS_H
#define RELAIS_H

#include <stddef.h>

#define RELAIS_WUR __attribute__((warn_unused_result))
#define RELAIS_PRINTF(f, a) __attribute__((format(printf, f, a)))

#define RELAIS_VERSION "0.1.0"

enum relais_error {
	RELAIS_OK = 0,
	RELAIS_ENOMEM = -1,     /* allocation failed */
	RELAIS_EINVAL = -2,     /* bad input from a person or a peer */
	RELAIS_EIO = -3,        /* file system or socket error */
	RELAIS_EDB = -4,        /* SQLite error */
	RELAIS_ETOOBIG = -5,    /* a capped buffer would grow past its cap */
	RELAIS_ECORRUPT = -6,   /* garbage, truncated data or bad checksum */
	RELAIS_EVERSION = -7,   /* wire format version not understood */
	RELAIS_ESCHEMA = -8,    /* schema version differs from the peer's */
	RELAIS_ENOTFOUND = -9,  /* no such record */
	RELAIS_EEXIST = -10,    /* record already exists */
	RELAIS_EAUTH = -11,     /* missing or bad credentials */
	RELAIS_EPERM = -12,     /* authenticated but not allowed */
	RELAIS_ENET = -13,      /* peer unreachable or connection cut */
	RELAIS_EPROTO = -14,    /* peer answered something unexpected */
	RELAIS_EBUSY = -15,     /* resource held by another process */
	RELAIS_ECONSTRAINT = -16, /* a write broke a schema constraint */
	RELAIS_ECLOCK = -17,    /* the computer's clock is far behind what it has seen */
	RELAIS_EREFUSED = -18,  /* the peer refused for good (SMTP 5xx): do not retry */
	RELAIS_ELATER = -19,    /* the peer refused for now (SMTP 4xx): retry later */
	/* Failures of the storage under a database: a person must act on the
	 * disk or the file, retrying alone does not help. */
	RELAIS_EFULL = -20,     /* the disk is full (SQLITE_FULL) */
	RELAIS_EDISK = -21,     /* the disk or its file system failed (SQLITE_IOERR*) */
	RELAIS_EDAMAGED = -22,  /* a database file is damaged (SQLITE_CORRUPT, _NOTADB) */
	RELAIS_EACCESS = -23    /* a database file is read-only or cannot be opened
				   (SQLITE_READONLY, _CANTOPEN, _PERM) */
};

/* Returns a static French message for a RELAIS_E* code; never NULL. */
const char *relais_strerror(int code);

/* Converts a SQLite result code (primary or extended) to 0 (SQLITE_OK, _ROW,
 * _DONE) or a RELAIS_E* code; the one place where SQLite codes are mapped. */
int relais_sqlite_error(int sqlite_rc);

/*
 * The first failure of the storage (or RELAIS_EBUSY) that
 * relais_sqlite_error() returned on this thread since the last call, then
 * 0: a program that reports SQLite failures in many places can say once, at
 * the end, what to do about the disk or the file.
 */
int relais_storage_failure_take(void);

/* 1 when code is a failure of the storage (RELAIS_EFULL, _EDISK, _EDAMAGED,
 * _EACCESS), 0 otherwise. */
int relais_storage_error(int code);

struct sqlite3;
/*
 * The French message for the last error of db: relais_strerror() of its
 * code when the storage failed or the file is busy (it says what to do), and
 * SQLite's own words otherwise (a constraint's name). The string is static
 * or owned by db: valid until the next call on db. db may be NULL (out of
 * memory at open).
 */
const char *relais_sqlite_errmsg(struct sqlite3 *db);

#endif
