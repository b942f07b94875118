/*
 * document.c - the bytes of a document (an attachment of a message the
 * gateway journaled), fetched from the server by their SHA-256 the first
 * time, kept in the replica's table document_cache (created with the
 * replica's own tables, replica.c) for offline use afterwards.
 *
 * The document rows themselves are replicated data (relais document liste,
 * show, set --rattache-table … --rattache-id …: the generic commands).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../../common/buf.h"
#include "../../common/util.h"
#include "../../sync/sync.h"
#include "document.h"
#include "net.h"
#include "replica.h"

/* Prepares sql, binds key to ?1 and steps once: *row tells whether a row
 * came (*st then points at it). The caller finalizes *st, also on error. */
static int lookup(struct replica *r, const char *sql, const char *key, sqlite3_stmt **st,
		  int *row)
{
	*row = 0;
	int rc = relais_sqlite_error(sqlite3_prepare_v2(r->db, sql, -1, st, NULL));
	if (rc)
		return rc;
	sqlite3_bind_text(*st, 1, key, -1, SQLITE_STATIC);
	int s = sqlite3_step(*st);
	if (s == SQLITE_ROW)
		*row = 1;
	else if (s != SQLITE_DONE)
		rc = relais_sqlite_error(s);
	return rc;
}

/* The document's name and SHA-256; RELAIS_ENOTFOUND when absent. */
static int read_document(struct replica *r, const char *id, char **name, char **sha)
{
	sqlite3_stmt *st = NULL;
	int row;
	*name = *sha = NULL;
	int rc = lookup(r, "SELECT nom, empreinte FROM document WHERE id = ?1", id, &st, &row);
	if (!rc && !row)
		rc = RELAIS_ENOTFOUND;
	if (!rc) {
		const unsigned char *n = sqlite3_column_text(st, 0), *h = sqlite3_column_text(st, 1);
		*name = strdup(n ? (const char *)n : "document");
		*sha = strdup(h ? (const char *)h : "");
		rc = *name && *sha ? 0 : RELAIS_ENOMEM;
	}
	sqlite3_finalize(st);
	return rc;
}

static int cache_get(struct replica *r, const char *sha, struct buf *out, int *found)
{
	sqlite3_stmt *st = NULL;
	int rc = lookup(r, "SELECT data FROM document_cache WHERE empreinte = ?1", sha, &st, found);
	if (!rc && *found)
		rc = buf_append(out, sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0));
	sqlite3_finalize(st);
	return rc;
}

static int cache_put(struct replica *r, const char *sha, const struct buf *data)
{
	sqlite3_stmt *st = NULL;
	int rc = relais_sqlite_error(sqlite3_prepare_v2(r->db, "INSERT OR REPLACE INTO document_cache"
						       "(empreinte, data) VALUES(?1, ?2)", -1, &st, NULL));
	if (rc)
		return rc;
	sqlite3_bind_text(st, 1, sha, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, data->data ? (const void *)data->data : "", (int)data->len,
			  SQLITE_STATIC);
	rc = relais_sqlite_error(sqlite3_step(st));
	sqlite3_finalize(st);
	return rc;
}

/* Downloads the bytes of sha from the replica's server into out. */
static int fetch(struct replica *r, const char *sha, struct buf *out, char *err, size_t errlen)
{
	char *server = NULL, *token = NULL, path[128];
	struct net n;
	int rc;

	memset(&n, 0, sizeof(n));
	if (replica_meta(r, "server", &server) || replica_meta(r, "token", &token) || !server || !token) {
		snprintf(err, errlen, "adresse du serveur ou jeton absent du réplica : relancez "
			 "« relais init ».");
		rc = RELAIS_EINVAL;
		goto out;
	}
	if ((rc = net_open(&n, server, token, err, errlen)))
		goto out;
	snprintf(path, sizeof(path), "/v1/document/%s", sha);
	rc = net_get_envelope(&n, path, out, err, errlen);
out:
	net_close(&n);
	free(server);
	free(token);
	return rc;
}

int document_bytes(struct replica *r, const char *id, struct buf *out, char **name, int *cached,
		   char *err, size_t errlen)
{
	char *sha = NULL, got[UTIL_SHA256_HEX + 1];
	int rc;

	*name = NULL;
	*cached = 0;
	rc = read_document(r, id, name, &sha);
	if (rc == RELAIS_ENOTFOUND) {
		snprintf(err, errlen, "le document « %s » est introuvable dans le réplica.", id);
		goto out;
	}
	if (!rc)
		rc = cache_get(r, sha, out, cached);
	if (rc) {
		snprintf(err, errlen, "lecture du réplica impossible : %s", relais_strerror(rc));
		goto out;
	}
	if (*cached)
		goto out;
	if ((rc = fetch(r, sha, out, err, errlen))) {
		if (rc == RELAIS_ENET) {
			size_t n = strlen(err);
			snprintf(err + n, errlen - n, " Ce document n'a pas encore été ouvert sur ce "
				 "poste : il faut une connexion au serveur la première fois.");
		}
		goto out;
	}
	util_sha256_hex(out->data ? (const void *)out->data : "", out->len, got);
	if (strcmp(got, sha)) {
		rc = RELAIS_ECORRUPT;
		snprintf(err, errlen, "le document reçu ne correspond pas à son empreinte.");
		goto out;
	}
	if ((rc = cache_put(r, sha, out)))
		snprintf(err, errlen, "écriture dans le réplica impossible : %s", relais_strerror(rc));
out:
	if (rc) {
		free(*name);
		*name = NULL;
	}
	free(sha);
	return rc;
}
