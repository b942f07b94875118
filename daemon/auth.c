/*
 * auth.c - accounts and bearer tokens.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "../common/token.h"
#include "../common/util.h"
#include "../model/model.h"
#include "auth.h"
#include "store.h"

static const char *const roles[] = { "coordinateur", "caf", "admin" };

int auth_schema(sqlite3 *db)
{
	return relais_sqlite_error(sqlite3_exec(db,
		"CREATE TABLE IF NOT EXISTS account ("
		" login TEXT PRIMARY KEY NOT NULL,"
		" dept TEXT NOT NULL,"
		" role TEXT NOT NULL CHECK (role IN ('coordinateur','caf','admin')),"
		" token_hash TEXT NOT NULL UNIQUE,"
		" created TEXT NOT NULL)", NULL, NULL, NULL));
}

int auth_check(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db, "SELECT login, dept, role, token_hash, created "
				    "FROM account LIMIT 0", -1, &st, NULL);
	sqlite3_finalize(st);
	return rc == SQLITE_OK ? 0 : RELAIS_ESCHEMA;
}

int auth_role_valid(const char *role)
{
	for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++)
		if (!strcmp(role, roles[i]))
			return 1;
	return 0;
}

int auth_role_can_write(const char *role)
{
	return !strcmp(role, "coordinateur") || !strcmp(role, "admin");
}

int auth_role_can_push(const char *role)
{
	return auth_role_can_write(role) || !strcmp(role, "caf");
}

int auth_login_valid(const char *login)
{
	size_t n = strlen(login);
	if (n == 0 || n > AUTH_LOGIN_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char ch = login[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || strchr("._@-", ch)))
			return 0;
	}
	return 1;
}

static int check_login(const char *login, char *err, size_t errlen)
{
	if (auth_login_valid(login))
		return 0;
	snprintf(err, errlen, "Identifiant « %s » invalide : de 1 à %d caractères parmi "
		 "lettres, chiffres, « . », « _ », « @ » et « - ».", login, AUTH_LOGIN_MAX);
	return RELAIS_EINVAL;
}

static int check_dept(const char *dept, char *err, size_t errlen)
{
	if (model_dept_valid(dept))
		return 0;
	snprintf(err, errlen, "Département « %s » inconnu (attendu : 01 à 95, 2A, 2B, "
		 "971 à 976, ou 99 pour la démonstration).", dept);
	return RELAIS_EINVAL;
}

static int check_role(const char *role, char *err, size_t errlen)
{
	if (auth_role_valid(role))
		return 0;
	snprintf(err, errlen, "Rôle « %s » inconnu (attendu : coordinateur, caf ou admin).", role);
	return RELAIS_EINVAL;
}

static void no_such_account(const char *login, char *err, size_t errlen)
{
	snprintf(err, errlen, "Aucun compte « %s » (« relaisd compte liste » montre les comptes).",
		 login);
}

/* Draws a new token into token and its stored form into hash. */
static int new_token(char token[AUTH_TOKEN_LEN + 1], char hash[UTIL_SHA256_HEX + 1],
		     char *err, size_t errlen)
{
	unsigned char r[32];
	int rc = util_random(r, sizeof(r));
	if (rc) {
		snprintf(err, errlen, "Impossible de tirer un jeton aléatoire.");
		return rc;
	}
	memcpy(token, AUTH_TOKEN_PREFIX, TOKEN_PREFIX_LEN);
	util_hex(r, sizeof(r), token + TOKEN_PREFIX_LEN);
	util_sha256_hex(token, AUTH_TOKEN_LEN, hash);
	explicit_bzero(r, sizeof(r));
	return 0;
}

int auth_user_add(sqlite3 *db, const char *login, const char *dept, const char *role,
		  char token[AUTH_TOKEN_LEN + 1], char *err, size_t errlen)
{
	char hash[UTIL_SHA256_HEX + 1], created[21];
	sqlite3_stmt *st = NULL;
	int rc = check_login(login, err, errlen);
	if (!rc)
		rc = check_dept(dept, err, errlen);
	if (!rc)
		rc = check_role(role, err, errlen);
	if (rc)
		return rc;
	rc = new_token(token, hash, err, errlen);
	if (rc)
		goto out;
	util_iso8601(util_now_ms(), created);
	rc = relais_sqlite_error(sqlite3_prepare_v2(db, "INSERT INTO account (login, dept, role, token_hash, "
					 "created) VALUES (?1, ?2, ?3, ?4, ?5)", -1, &st, NULL));
	if (!rc) {
		sqlite3_bind_text(st, 1, login, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, dept, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, role, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, hash, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, created, -1, SQLITE_STATIC);
		rc = relais_sqlite_error(sqlite3_step(st));
	}
	if (rc == RELAIS_ECONSTRAINT) {
		rc = RELAIS_EEXIST;
		snprintf(err, errlen, "Le compte « %s » existe déjà.", login);
	} else if (rc) {
		snprintf(err, errlen, "Impossible d'enregistrer le compte : %s.", relais_strerror(rc));
	}
out:
	sqlite3_finalize(st);
	if (rc)
		memset(token, 0, AUTH_TOKEN_LEN + 1);
	return rc;
}

static void copy_col(sqlite3_stmt *st, int col, char *out, size_t outlen)
{
	const unsigned char *v = sqlite3_column_text(st, col);
	snprintf(out, outlen, "%s", v ? (const char *)v : "");
}

int auth_user_list(sqlite3 *db, struct auth_account **out, size_t *n)
{
	sqlite3_stmt *st = NULL;
	struct auth_account *v = NULL;
	size_t cap = 0, count = 0;
	int step;
	*out = NULL;
	*n = 0;
	int rc = relais_sqlite_error(sqlite3_prepare_v2(db, "SELECT login, dept, role, created "
					     "FROM account ORDER BY login", -1, &st, NULL));
	if (rc)
		goto out;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		if (count == cap) {
			size_t ncap = cap ? 2 * cap : 16;
			struct auth_account *nv = realloc(v, ncap * sizeof(*nv));
			if (!nv) {
				rc = RELAIS_ENOMEM;
				goto out;
			}
			v = nv;
			cap = ncap;
		}
		struct auth_account *a = &v[count++];
		copy_col(st, 0, a->login, sizeof(a->login));
		copy_col(st, 1, a->dept, sizeof(a->dept));
		copy_col(st, 2, a->role, sizeof(a->role));
		copy_col(st, 3, a->created, sizeof(a->created));
	}
	if (step != SQLITE_DONE)
		rc = relais_sqlite_error(step);
out:
	sqlite3_finalize(st);
	if (rc) {
		free(v);
		return rc;
	}
	*out = v;
	*n = count;
	return 0;
}

/* Runs one UPDATE or DELETE of account bound to (?1 login, ?2, ?3 text
 * values or NULL); RELAIS_ENOTFOUND when it touched no row. */
static int account_write(sqlite3 *db, const char *sql, const char *login, const char *v2,
			 const char *v3)
{
	sqlite3_stmt *st = NULL;
	int rc = relais_sqlite_error(sqlite3_prepare_v2(db, sql, -1, &st, NULL));
	if (rc)
		return rc;
	sqlite3_bind_text(st, 1, login, -1, SQLITE_STATIC);
	if (sqlite3_bind_parameter_count(st) >= 2)
		sqlite3_bind_text(st, 2, v2, -1, SQLITE_STATIC);
	if (sqlite3_bind_parameter_count(st) >= 3)
		sqlite3_bind_text(st, 3, v3, -1, SQLITE_STATIC);
	rc = relais_sqlite_error(sqlite3_step(st));
	if (!rc && sqlite3_changes(db) == 0)
		rc = RELAIS_ENOTFOUND;
	sqlite3_finalize(st);
	return rc;
}

static void write_failed(int rc, const char *login, char *err, size_t errlen)
{
	if (rc == RELAIS_ENOTFOUND)
		no_such_account(login, err, errlen);
	else
		snprintf(err, errlen, "Impossible de modifier le compte « %s » : %s.", login,
			 relais_strerror(rc));
}

int auth_user_rm(sqlite3 *db, const char *login, char *err, size_t errlen)
{
	int rc = account_write(db, "DELETE FROM account WHERE login = ?1", login, NULL, NULL);
	if (rc)
		write_failed(rc, login, err, errlen);
	return rc;
}

int auth_user_token(sqlite3 *db, const char *login, char token[AUTH_TOKEN_LEN + 1],
		    char *err, size_t errlen)
{
	char hash[UTIL_SHA256_HEX + 1];
	int rc = new_token(token, hash, err, errlen);
	if (!rc) {
		rc = account_write(db, "UPDATE account SET token_hash = ?2 WHERE login = ?1", login,
				   hash, NULL);
		if (rc)
			write_failed(rc, login, err, errlen);
	}
	if (rc)
		memset(token, 0, AUTH_TOKEN_LEN + 1);
	return rc;
}

static int account_get(sqlite3 *db, const char *login, struct auth_account *out)
{
	sqlite3_stmt *st = NULL;
	int rc = relais_sqlite_error(sqlite3_prepare_v2(db, "SELECT login, dept, role, created "
					     "FROM account WHERE login = ?1", -1, &st, NULL));
	if (rc)
		return rc;
	sqlite3_bind_text(st, 1, login, -1, SQLITE_STATIC);
	int step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		copy_col(st, 0, out->login, sizeof(out->login));
		copy_col(st, 1, out->dept, sizeof(out->dept));
		copy_col(st, 2, out->role, sizeof(out->role));
		copy_col(st, 3, out->created, sizeof(out->created));
	} else {
		rc = step == SQLITE_DONE ? RELAIS_ENOTFOUND : relais_sqlite_error(step);
	}
	sqlite3_finalize(st);
	return rc;
}

int auth_user_set(sqlite3 *db, const char *login, const char *dept, const char *role,
		  struct auth_account *before, char *err, size_t errlen)
{
	int rc = 0, began = 0;
	memset(before, 0, sizeof(*before));
	if ((dept && (rc = check_dept(dept, err, errlen))) ||
	    (role && (rc = check_role(role, err, errlen))))
		return rc;
	/* The old values are read in the write transaction: what is reported
	 * as "before" is what this change replaced. */
	rc = relais_sqlite_error(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL));
	began = !rc;
	if (!rc)
		rc = account_get(db, login, before);
	if (!rc)
		rc = account_write(db, "UPDATE account SET dept = coalesce(?2, dept), "
				   "role = coalesce(?3, role) WHERE login = ?1", login, dept, role);
	if (!rc)
		rc = relais_sqlite_error(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL));
	if (rc) {
		if (began)
			sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		write_failed(rc, login, err, errlen);
	}
	return rc;
}

/*
 * Every account's hash is read and compared in constant time, with no early
 * exit on a match: neither an index walk nor memcmp tells a timing observer
 * how close a guess came. Accounts number in the tens, so the scan is cheap.
 */
int auth_lookup(sqlite3 *db, sqlite3_stmt **kept, const char *token, struct auth_account *out)
{
	char hash[UTIL_SHA256_HEX + 1];
	sqlite3_stmt *st = kept ? *kept : NULL;
	int found = 0, step, rc = 0;
	if (!token_wellformed(token))
		return RELAIS_EAUTH;
	util_sha256_hex(token, AUTH_TOKEN_LEN, hash);
	if (!st)
		rc = relais_sqlite_error(sqlite3_prepare_v3(db, "SELECT login, dept, role, token_hash "
							    "FROM account", -1,
							    kept ? SQLITE_PREPARE_PERSISTENT : 0,
							    &st, NULL));
	if (rc)
		goto out;
	if (kept)
		*kept = st;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		const void *h = sqlite3_column_text(st, 3);
		int match = h && sqlite3_column_bytes(st, 3) == UTIL_SHA256_HEX &&
			    util_ct_equal(h, hash, UTIL_SHA256_HEX);
		if (match && !found) {
			copy_col(st, 0, out->login, sizeof(out->login));
			copy_col(st, 1, out->dept, sizeof(out->dept));
			copy_col(st, 2, out->role, sizeof(out->role));
			found = 1;
		}
	}
	if (step != SQLITE_DONE)
		rc = relais_sqlite_error(step);
	else if (!found)
		rc = RELAIS_EAUTH;
out:
	if (kept)
		sqlite3_reset(st);
	else
		sqlite3_finalize(st);
	explicit_bzero(hash, sizeof(hash));
	return rc;
}

int auth_bearer(const char *header, char out[AUTH_TOKEN_LEN + 1])
{
	if (!header || strncasecmp(header, "Bearer ", 7))
		return RELAIS_EAUTH;
	const char *t = header + 7;
	while (*t == ' ')
		t++;
	size_t n = strlen(t);
	while (n && (t[n - 1] == ' ' || t[n - 1] == '\t'))
		n--;
	if (n != AUTH_TOKEN_LEN)
		return RELAIS_EAUTH;
	memcpy(out, t, n);
	out[n] = 0;
	return token_wellformed(out) ? 0 : RELAIS_EAUTH;
}
