/*
 * auth.h - relaisd's accounts and bearer tokens.
 *
 * Accounts live in the server-only table "account" (never replicated):
 * login (unique), dept, role, the SHA-256 hex of the token, creation time.
 * A token is "rls_" followed by 64 hex digits (32 random bytes); it is shown
 * once when the account is created and only its hash is stored.
 */
#ifndef RELAIS_DAEMON_AUTH_H
#define RELAIS_DAEMON_AUTH_H

#include <stddef.h>
#include <sqlite3.h>
#include "../common/relais.h"
#include "../common/token.h"

#define AUTH_TOKEN_PREFIX TOKEN_PREFIX
#define AUTH_TOKEN_LEN TOKEN_LEN /* "rls_" + 64 hex digits, without the NUL */
#define AUTH_LOGIN_MAX 64

struct auth_account {
	char login[AUTH_LOGIN_MAX + 1];
	char dept[8];
	char role[16];          /* "coordinateur", "caf" or "admin" */
	char created[24];       /* "YYYY-MM-DDTHH:MM:SSZ"; auth_user_list only */
};

/* Creates the account table if missing. */
int auth_schema(sqlite3 *db) RELAIS_WUR;
/* Checks that the account table exists with its columns (RELAIS_ESCHEMA). */
int auth_check(sqlite3 *db) RELAIS_WUR;

/* Returns 1 for a role name that exists. */
int auth_role_valid(const char *role);
/* Returns 1 when role may push changes (coordinateur, admin). */
int auth_role_can_write(const char *role);
/* Whether an account of role may send a push at all: a « caf » account
 * sends the one write the model allows it (model_role_may_write), every
 * item judged by the merge's policy. */
int auth_role_can_push(const char *role);
/* Returns 1 for a login of 1 to 64 characters among [A-Za-z0-9._@-]. */
int auth_login_valid(const char *login);

/*
 * Creates an account and writes its new token into token (NUL-terminated).
 * RELAIS_EINVAL for a bad login, dept or role, RELAIS_EEXIST when the login
 * is taken; err receives a French message in every failure.
 */
int auth_user_add(sqlite3 *db, const char *login, const char *dept, const char *role,
		  char token[AUTH_TOKEN_LEN + 1], char *err, size_t errlen) RELAIS_WUR;

/*
 * Lists every account, ordered by login, into *out (malloc'd, *n entries;
 * the caller frees it; NULL when there is none). Tokens and their hashes are
 * never read.
 */
int auth_user_list(sqlite3 *db, struct auth_account **out, size_t *n) RELAIS_WUR;

/*
 * The three changes below take effect on a running relaisd from its next
 * request: it looks the token up in the store for every request and keeps
 * no account in memory. RELAIS_ENOTFOUND when login has no account; err
 * receives a French message in every failure.
 */

/* Deletes the account of login: its token is refused from then on. */
int auth_user_rm(sqlite3 *db, const char *login, char *err, size_t errlen) RELAIS_WUR;

/* Gives login a new token, written into token (NUL-terminated); the old
 * one is refused from then on. */
int auth_user_token(sqlite3 *db, const char *login, char token[AUTH_TOKEN_LEN + 1],
		    char *err, size_t errlen) RELAIS_WUR;

/*
 * Changes the département and/or the role of login (NULL leaves one as it
 * is; RELAIS_EINVAL for an unknown one). *before receives the account as it
 * was. Replicas made for the old département are refused from then on
 * (api.c, X-Relais-Departement).
 */
int auth_user_set(sqlite3 *db, const char *login, const char *dept, const char *role,
		  struct auth_account *before, char *err, size_t errlen) RELAIS_WUR;

/*
 * Finds the account of a token. RELAIS_EAUTH when the token is malformed or
 * unknown (without touching the database for a malformed one). The stored
 * hashes are compared in constant time, every one of them (docs/threat-model.md).
 * kept (may be NULL) holds the statement from one lookup on db to the next:
 * NULL at first, finalized by the caller before db closes.
 */
int auth_lookup(sqlite3 *db, sqlite3_stmt **kept, const char *token,
		struct auth_account *out) RELAIS_WUR;

/* Extracts the token from an Authorization header value "Bearer TOKEN" into
 * out; RELAIS_EAUTH when absent or malformed. */
int auth_bearer(const char *header, char out[AUTH_TOKEN_LEN + 1]) RELAIS_WUR;

#endif
