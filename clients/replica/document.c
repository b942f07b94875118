/*
 * document.c - relais document ouvrir: the bytes of a document (an
 * attachment of a message the gateway journaled), fetched from the server
 * by their SHA-256 the first time, kept in the replica for offline use
 * afterwards, and written to a file.
 *
 * The document rows themselves are replicated data (relais document list,
 * show, set --rattache-table … --rattache-id …: the generic commands).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "../../common/buf.h"
#include "../../common/options.h"
#include "../../common/util.h"
#include "../../sync/sync.h"
#include "../cmd/cli.h"
#include "document.h"
#include "net.h"
#include "replica.h"

/* Largest document kept: the gateway keeps at most 25 MiB of attachments
 * per message. */
#define DOCUMENT_MAX (32u << 20)

/* The document's name and SHA-256; RELAIS_ENOTFOUND when absent. */
static int read_document(struct replica *r, const char *id, char **name, char **sha)
{
	sqlite3_stmt *st = NULL;
	int rc = relais_sqlite_error(sqlite3_prepare_v2(r->db, "SELECT nom, empreinte FROM document "
						       "WHERE id = ?1", -1, &st, NULL));
	*name = *sha = NULL;
	if (rc)
		return rc;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	int s = sqlite3_step(st);
	if (s == SQLITE_ROW) {
		const unsigned char *n = sqlite3_column_text(st, 0), *h = sqlite3_column_text(st, 1);
		*name = strdup(n ? (const char *)n : "document");
		*sha = strdup(h ? (const char *)h : "");
		rc = *name && *sha ? 0 : RELAIS_ENOMEM;
	} else {
		rc = s == SQLITE_DONE ? RELAIS_ENOTFOUND : relais_sqlite_error(s);
	}
	sqlite3_finalize(st);
	return rc;
}

/* The replica's own copies of opened documents: never replicated. */
static int cache_schema(struct replica *r)
{
	return relais_sqlite_error(sqlite3_exec(r->db, "CREATE TABLE IF NOT EXISTS document_cache("
						"empreinte TEXT PRIMARY KEY NOT NULL, data BLOB NOT NULL)",
						NULL, NULL, NULL));
}

static int cache_get(struct replica *r, const char *sha, struct buf *out, int *found)
{
	sqlite3_stmt *st = NULL;
	int rc = relais_sqlite_error(sqlite3_prepare_v2(r->db, "SELECT data FROM document_cache "
						       "WHERE empreinte = ?1", -1, &st, NULL));
	*found = 0;
	if (rc)
		return rc;
	sqlite3_bind_text(st, 1, sha, -1, SQLITE_STATIC);
	int s = sqlite3_step(st);
	if (s == SQLITE_ROW) {
		*found = 1;
		rc = buf_append(out, sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0));
	} else if (s != SQLITE_DONE) {
		rc = relais_sqlite_error(s);
	}
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

/* Writes data to path, refusing to replace a file that exists. */
static int write_new_file(const char *path, const struct buf *data)
{
	char tmp[4096];
	int n = snprintf(tmp, sizeof(tmp), "%s.relais-tmp", path);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return RELAIS_EINVAL;
	if (access(path, F_OK) == 0)
		return RELAIS_EEXIST;
	FILE *f = fopen(tmp, "wb");
	if (!f)
		return RELAIS_EIO;
	int ok = fwrite(data->data ? (const void *)data->data : "", 1, data->len, f) == data->len;
	ok = fflush(f) == 0 && fsync(fileno(f)) == 0 && ok;
	ok = fclose(f) == 0 && ok;
	if (!ok || rename(tmp, path)) {
		unlink(tmp);
		return RELAIS_EIO;
	}
	return 0;
}

/* A document's name as a file name in the current directory: no path. */
static const char *plain_name(const char *name)
{
	const char *s = strrchr(name, '/');
	s = s ? s + 1 : name;
	return *s && strcmp(s, ".") && strcmp(s, "..") ? s : "document";
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
		rc = cache_schema(r);
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

int cmd_document_ouvrir(const char *home, int argc, char **argv)
{
	const char *id = NULL, *out = NULL;
	struct replica r;
	struct buf data = BUF_INIT(DOCUMENT_MAX);
	char err[CLI_ERRLEN] = "", *name = NULL;
	int rc = CLI_EXIT_FAIL, found = 0, n = 0, e;
	const struct option opts[] = {
		OPT_STRING(0, "sortie", &out, "FICHIER", "fichier à écrire (défaut : le nom du document, "
			   "dans le répertoire courant ; un fichier existant n'est pas remplacé)"),
		OPT_END(),
	};
	struct options_cmd c = {
		&cli_prog, "document ouvrir", "ID [--sortie FICHIER]",
		"Écrit dans un fichier le contenu du document ID (une pièce jointe d'un courriel\n"
		"reçu : relais document list). La première fois, il est téléchargé depuis le\n"
		"serveur, vérifié par son empreinte SHA-256 et gardé dans le réplica : il s'ouvre\n"
		"ensuite sans connexion.\n",
		opts,
		"Rattacher un document à une fiche :\n"
		"  relais document set ID --rattache-table structure --rattache-id ID_STRUCTURE\n",
		1, 1, "identifiant du document",
	};

	if ((e = options_parse_cmd(&c, argc - 2, argv + 2, &id, &n)))
		return e < 0 ? 0 : e;
	if (replica_open(&r, home, 0, err, sizeof(err))) {
		cli_error("%s", err);
		return CLI_EXIT_FAIL;
	}
	if (document_bytes(&r, id, &data, &name, &found, err, sizeof(err))) {
		cli_error("%s", err);
		goto done;
	}
	if (!out)
		out = plain_name(name);
	e = write_new_file(out, &data);
	if (e == RELAIS_EEXIST) {
		cli_error("« %s » existe déjà : choisissez un autre fichier (--sortie FICHIER).", out);
		goto done;
	} else if (e) {
		cli_error("écriture de « %s » impossible : %s.", out, util_errno_fr(errno));
		goto done;
	}
	printf("Document « %s » écrit dans %s (%zu octet%s%s).\n", name, out, data.len,
	       util_pluriel((long long)data.len),
	       found ? ", copie du réplica" : "");
	rc = 0;
done:
	free(name);
	buf_release(&data);
	replica_close(&r);
	return rc;
}
