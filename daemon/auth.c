/*
 * auth.c - accounts and bearer tokens.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
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

static int token_wellformed(const char *t)
{
	if (strlen(t) != AUTH_TOKEN_LEN || strncmp(t, AUTH_TOKEN_PREFIX, 4))
		return 0;
	for (size_t i = 4; i < AUTH_TOKEN_LEN; i++)
		if (!strchr("0123456789abcdef", t[i]))
			return 0;
	return 1;
}

int auth_user_add(sqlite3 *db, const char *login, const char *dept, const char *role,
		  char token[AUTH_TOKEN_LEN + 1], char *err, size_t errlen)
{
	unsigned char r[32];
	char hash[UTIL_SHA256_HEX + 1], created[21];
	sqlite3_stmt *st = NULL;
	int rc = 0;
	if (!auth_login_valid(login)) {
		snprintf(err, errlen, "Identifiant « %s » invalide : de 1 à %d caractères parmi "
			 "lettres, chiffres, « . », « _ », « @ » et « - ».", login, AUTH_LOGIN_MAX);
		return RELAIS_EINVAL;
	}
	if (!model_dept_valid(dept)) {
		snprintf(err, errlen, "Département « %s » inconnu (attendu : 01 à 95, 2A, 2B, "
			 "971 à 976, ou 99 pour la démonstration).", dept);
		return RELAIS_EINVAL;
	}
	if (!auth_role_valid(role)) {
		snprintf(err, errlen, "Rôle « %s » inconnu (attendu : coordinateur, caf ou admin).",
			 role);
		return RELAIS_EINVAL;
	}
	rc = util_random(r, sizeof(r));
	if (rc) {
		snprintf(err, errlen, "Impossible de tirer un jeton aléatoire.");
		goto out;
	}
	memcpy(token, AUTH_TOKEN_PREFIX, 4);
	util_hex(r, sizeof(r), token + 4);
	util_sha256_hex(token, AUTH_TOKEN_LEN, hash);
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
	memset(r, 0, sizeof(r));
	if (rc)
		memset(token, 0, AUTH_TOKEN_LEN + 1);
	return rc;
}

static void copy_col(sqlite3_stmt *st, int col, char *out, size_t outlen)
{
	const unsigned char *v = sqlite3_column_text(st, col);
	snprintf(out, outlen, "%s", v ? (const char *)v : "");
}

/*
 * Every account's hash is read and compared in constant time, with no early
 * exit on a match: neither an index walk nor memcmp tells a timing observer
 * how close a guess came. Accounts number in the tens, so the scan is cheap.
 */
int auth_lookup(sqlite3 *db, const char *token, struct auth_account *out)
{
	char hash[UTIL_SHA256_HEX + 1];
	sqlite3_stmt *st = NULL;
	int found = 0, step;
	if (!token_wellformed(token))
		return RELAIS_EAUTH;
	util_sha256_hex(token, AUTH_TOKEN_LEN, hash);
	int rc = relais_sqlite_error(sqlite3_prepare_v2(db, "SELECT login, dept, role, token_hash "
					     "FROM account", -1, &st, NULL));
	if (rc)
		goto out;
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
