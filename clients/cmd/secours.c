/*
 * secours.c - damaged replicas: "relais verifier" checks the replica file,
 * "relais secours" rebuilds it from the server and keeps the edits that were
 * never sent.
 *
 * The rescue never deletes anything: what can still be read of the damaged
 * file (pending edits and rows) is written to a JSON file beside it, the
 * file itself is renamed aside, and the new replica is built in a
 * sub-directory before it takes the old one's place. Until that last rename
 * the home is as it was, so a rescue cut by the network changes nothing.
 *
 * Kept whole (over 800 lines): the check, the salvage of what is readable and the
 * two-rename swap are one procedure whose order is what keeps data safe.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "../../common/util.h"
#include "../../model/model.h"
#include "../../sync/sync.h"
#include "cli.h"
#include "../replica/net.h"
#include "../replica/replica.h"

#define MAX_PATH 4096
#define TMP_DIR "secours.tmp"

/* ---- the damaged file ---- */

/* snprintf into err, for messages naming paths: a long path cuts the
 * message, it never overflows. */
static void say(char *err, size_t errlen, const char *fmt, ...) RELAIS_PRINTF(3, 4);

static void say(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static int join(char *out, size_t outlen, const char *dir, const char *name)
{
	int n = snprintf(out, outlen, "%s/%s", dir, name);
	return n < 0 || (size_t)n >= outlen ? RELAIS_ETOOBIG : 0;
}

/* Opens replica.db of home as it is: no pragma, no migration, nothing
 * written to it. */
static int open_raw(const char *home, sqlite3 **db, char *err, size_t errlen)
{
	char path[MAX_PATH];
	*db = NULL;
	if (join(path, sizeof(path), home, "replica.db")) {
		say(err, errlen, "chemin trop long : %s", home);
		return RELAIS_EINVAL;
	}
	if (access(path, F_OK) != 0) {
		say(err, errlen, "aucun réplica dans « %s » : lancez « relais --dossier %s init "
			 "--serveur URL --jeton JETON ».", home, home);
		return RELAIS_ENOTFOUND;
	}
	int src = sqlite3_open_v2(path, db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
	/* Read-only, and no checkpoint at close: a WAL left by a crash is read,
	 * never copied into a file that may be damaged. */
	if (src == SQLITE_OK)
		src = sqlite3_db_config(*db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
	if (src != SQLITE_OK) {
		say(err, errlen, "impossible d'ouvrir « %s » : %s", path, relais_sqlite_errmsg(*db));
		sqlite3_close(*db);
		*db = NULL;
		return relais_sqlite_error(src);
	}
	sqlite3_busy_timeout(*db, 5000);
	return 0;
}

/* Removes an empty WAL left by open_raw() (which does not checkpoint) and
 * the shared-memory index with it: they hold nothing, and a rescue must not
 * leave clutter beside the files it keeps. A WAL that holds pages stays. */
static void drop_empty_wal(const char *home)
{
	char wal[MAX_PATH], shm[MAX_PATH];
	struct stat sb;
	if (join(wal, sizeof(wal), home, "replica.db-wal") ||
	    join(shm, sizeof(shm), home, "replica.db-shm"))
		return;
	if (stat(wal, &sb) == 0 && sb.st_size == 0 && unlink(wal) == 0)
		unlink(shm);
}

/* The model's replicated tables, as replica_open() loads them. */
static size_t model_names(const char **names, size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i < model_ntables && n < max; i++)
		if (model_tables[i].since <= MODEL_SCHEMA_VERSION)
			names[n++] = model_tables[i].name;
	return n;
}

static char *meta(sqlite3 *db, const char *key)
{
	char *v = NULL;
	if (sync_meta_get(db, key, &v))
		return NULL;
	return v;
}

/* ---- relais verifier ---- */

/* How many of the tables named by names (SQL string literals, comma
 * separated) db holds; -1 when its list of tables cannot be read. */
static int count_tables(sqlite3 *db, const char *names)
{
	sqlite3_stmt *st = NULL;
	char sql[256];
	int n = -1;
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND "
		 "name IN (%s)", names);
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return n;
}

struct check {
	int problems;
};

static void report(void *arg, const char *msg)
{
	struct check *c = arg;
	c->problems++;
	printf("  - %s\n", msg);
}

static void reportf(struct check *c, const char *fmt, ...) RELAIS_PRINTF(2, 3);

static void reportf(struct check *c, const char *fmt, ...)
{
	char msg[CLI_ERRLEN];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	report(c, msg);
}

static void integrity(sqlite3 *db, struct check *c)
{
	sqlite3_stmt *st = NULL;
	int s = sqlite3_prepare_v2(db, "PRAGMA integrity_check(20)", -1, &st, NULL);
	if (s == SQLITE_OK) {
		while ((s = sqlite3_step(st)) == SQLITE_ROW) {
			const char *t = (const char *)sqlite3_column_text(st, 0);
			if (t && !strcmp(t, "ok"))
				continue;
			/* SQLite's own words, one line each, as a detail for whoever
			 * looks at the file. */
			char line[CLI_ERRLEN / 2];
			snprintf(line, sizeof(line), "%s", t ? t : "?");
			for (char *p = line; *p; p++)
				if (*p == '\n' || *p == '\r')
					*p = ' ';
			reportf(c, "contrôle d'intégrité de SQLite : %s", line);
		}
	}
	if (s != SQLITE_DONE)
		reportf(c, "contrôle d'intégrité impossible : %s", relais_sqlite_errmsg(db));
	sqlite3_finalize(st);
}

static void check_tables(sqlite3 *db, struct check *c, struct sync_tables **tables)
{
	const char *names[64];
	size_t n = model_names(names, sizeof(names) / sizeof(names[0]));
	int count = count_tables(db, "'sync_meta', 'sync_outbox'");

	*tables = NULL;
	if (count < 0) {
		reportf(c, "liste des tables illisible : %s", relais_sqlite_errmsg(db));
		return;
	}
	if (count != 2) {
		reportf(c, "les tables de synchronisation (sync_meta, sync_outbox) manquent : le "
			"fichier a été vidé ou remplacé.");
		return;
	}
	int rc = sync_tables_load(db, names, n, tables);
	if (rc)
		reportf(c, "tables des données absentes ou différentes du modèle : %s.",
			relais_strerror(rc));
}

/* Reads every row of every replicated table: integrity_check stops at 20
 * problems and a person wants to know which data is readable. */
static void read_rows(sqlite3 *db, struct check *c)
{
	const char *names[64];
	size_t n = model_names(names, sizeof(names) / sizeof(names[0]));
	for (size_t i = 0; i < n; i++) {
		char sql[128];
		sqlite3_stmt *st = NULL;
		snprintf(sql, sizeof(sql), "SELECT * FROM \"%s\"", names[i]);
		int s = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
		if (s == SQLITE_OK)
			while ((s = sqlite3_step(st)) == SQLITE_ROW)
				;
		if (s != SQLITE_DONE)
			reportf(c, "table %s illisible : %s", names[i], relais_sqlite_errmsg(db));
		sqlite3_finalize(st);
	}
}

/* Parses the options of cmd and takes the home's lock (the replica itself
 * may be past opening). Returns 1 to go on; else 0 with the exit status in
 * *status (0 after --help) and the message printed. */
static int begin(const struct options_cmd *cmd, int argc, char **argv, const char *home,
		 struct replica *lk, int *status)
{
	char err[CLI_ERRLEN];
	int rc = options_parse_cmd(cmd, argc - 1, argv + 1, NULL, NULL);
	if (rc) {
		*status = rc < 0 ? 0 : rc;
		return 0;
	}
	if (replica_lock(lk, home, err, sizeof(err))) {
		cli_error("%s", err);
		*status = CLI_EXIT_FAIL;
		return 0;
	}
	return 1;
}

int cmd_verifier(const char *home, int argc, char **argv)
{
	static const struct options_cmd cmd = {
		&cli_prog, "verifier", NULL,
		"Contrôle le fichier du réplica (replica.db) : intégrité de la base SQLite,\n"
		"tables du réplica, lignes lisibles, modifications en attente. Ne modifie rien.\n"
		"Code de sortie : 0 si le réplica est intact, 1 sinon.\n", NULL, NULL, 0, 0, NULL,
	};
	struct replica lk;
	struct check c = { 0 };
	struct sync_tables *tables = NULL;
	sqlite3 *db = NULL;
	char err[CLI_ERRLEN], path[MAX_PATH];
	struct stat sb;
	uint64_t pending = 0;

	int rc;
	if (!begin(&cmd, argc, argv, home, &lk, &rc))
		return rc;
	rc = CLI_EXIT_FAIL;
	if (open_raw(home, &db, err, sizeof(err))) {
		cli_error("%s", err);
		goto out;
	}
	if (join(path, sizeof(path), home, "replica.db"))
		goto out;
	printf("Vérification de « %s » :\n", path);
	if (stat(path, &sb) == 0 && sb.st_size == 0) {
		reportf(&c, "le fichier est vide (0 octet).");
	} else {
		integrity(db, &c);
		check_tables(db, &c, &tables);
		if (tables) {
			read_rows(db, &c);
			(void)sync_client_check(db, tables, report, &c);
			char *done = meta(db, "init_done");
			if (!done)
				reportf(&c, "l'initialisation n'est pas notée comme terminée "
					"(init_done absent).");
			free(done);
			if (sync_outbox_pending(db, &pending))
				pending = 0;
		}
	}
	(void)relais_storage_failure_take();
	if (c.problems) {
		printf("Le réplica est endommagé (%d problème%s). Ne le supprimez pas : « relais "
		       "--dossier %s secours » le reconstruit depuis le serveur en gardant les "
		       "modifications pas encore envoyées (voir docs/client.md).\n", c.problems,
		       c.problems > 1 ? "s" : "", home);
		goto out;
	}
	printf("Le réplica est intact (%" PRIu64 " modification%s en attente).\n", pending,
	       pending > 1 ? "s" : "");
	rc = 0;
out:
	sync_tables_free(tables);
	if (db) {
		sqlite3_close(db);
		drop_empty_wal(home);
	}
	replica_close(&lk);
	return rc;
}

/* ---- relais secours ---- */

/* What could be read of the damaged replica. */
struct salvage {
	char *server, *token, *login, *dept, *role, *epoch;
	struct sync_outbox outbox;
	struct sync_refused_set refused;  /* edits set aside, readable ones */
	int refused_rc;         /* 0 when all of them were read */
	int node_ok;
	int outbox_rc;          /* 0 when every pending edit was read */
	int emptied;            /* the file holds no sync tables at all */
	uint64_t last_seq;
	json_t *tables;         /* table name -> array of rows */
	json_t *unreadable;     /* names of tables read only in part */
};

static void salvage_free(struct salvage *s)
{
	free(s->server);
	free(s->token);
	free(s->login);
	free(s->dept);
	free(s->role);
	free(s->epoch);
	sync_outbox_free(&s->outbox);
	sync_refused_set_free(&s->refused);
	json_decref(s->tables);
	json_decref(s->unreadable);
	memset(s, 0, sizeof(*s));
}

/* Reads rows one by one until the first that cannot be read. */
static int salvage_rows(sqlite3 *db, struct salvage *s)
{
	const char *names[64];
	size_t n = model_names(names, sizeof(names) / sizeof(names[0]));
	s->tables = json_object();
	s->unreadable = json_array();
	if (!s->tables || !s->unreadable)
		return RELAIS_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		char sql[128];
		sqlite3_stmt *st = NULL;
		json_t *rows = json_array();
		if (!rows || json_object_set_new(s->tables, names[i], rows))
			return RELAIS_ENOMEM;
		snprintf(sql, sizeof(sql), "SELECT * FROM \"%s\"", names[i]);
		int src = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
		if (src == SQLITE_OK) {
			while ((src = sqlite3_step(st)) == SQLITE_ROW) {
				json_t *row = replica_row_json(st);
				if (row && json_array_append_new(rows, row)) {
					sqlite3_finalize(st);
					return RELAIS_ENOMEM;
				}
			}
		}
		sqlite3_finalize(st);
		if (src != SQLITE_DONE && json_array_append_new(s->unreadable, json_string(names[i])))
			return RELAIS_ENOMEM;
	}
	return 0;
}

/* 1 when the file answers and holds no outbox: emptied or replaced, there is
 * nothing left to read (as opposed to an outbox that cannot be read). */
static int emptied(sqlite3 *db)
{
	return count_tables(db, "'sync_outbox'") == 0;
}

static int salvage(sqlite3 *db, struct salvage *s)
{
	memset(s, 0, sizeof(*s));
	s->emptied = emptied(db);
	s->server = meta(db, "server");
	s->token = meta(db, "token");
	s->login = meta(db, "login");
	s->dept = meta(db, "dept");
	s->role = meta(db, "role");
	s->epoch = meta(db, "epoque");
	if (s->emptied) {
		s->tables = json_object();
		s->unreadable = json_array();
		return s->tables && s->unreadable ? 0 : RELAIS_ENOMEM;
	}
	s->outbox_rc = sync_outbox_salvage(db, &s->outbox, &s->node_ok, &s->last_seq);
	s->refused_rc = sync_refused_salvage(db, &s->refused);
	return salvage_rows(db, s);
}

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

/* The rescue file: everything that was read, for a person and for the
 * record (the token stays out of it). */
static json_t *salvage_json(const struct salvage *s, const char *aside, const char *when)
{
	char node[17];
	json_t *items = json_array();
	if (!items)
		return NULL;
	sync_node_format(s->outbox.node, node);
	for (size_t i = 0; i < s->outbox.count; i++) {
		const struct sync_push_item *it = &s->outbox.items[i];
		char *hex = malloc(it->len * 2 + 1);
		json_t *o = NULL;
		if (hex) {
			util_hex(it->changeset, it->len, hex);
			o = json_pack("{s:I, s:I, s:s}", "seq", (json_int_t)it->seq,
				      "hlc", (json_int_t)it->hlc, "changeset_hex", hex);
		}
		free(hex);
		if (!o || json_array_append_new(items, o)) {
			json_decref(items);
			return NULL;
		}
	}
	json_t *refused = json_array();
	for (size_t i = 0; refused && i < s->refused.count; i++) {
		const struct sync_refused_item *r = &s->refused.v[i];
		char *hex = malloc(r->item.len * 2 + 1);
		json_t *o = NULL;
		if (hex) {
			util_hex(r->item.changeset, r->item.len, hex);
			o = json_pack("{s:I, s:I, s:s, s:s, s:s}", "seq", (json_int_t)r->item.seq,
				      "hlc", (json_int_t)r->item.hlc, "changeset_hex", hex,
				      "raison", r->reason, "refusee_le", r->refused_at);
		}
		free(hex);
		if (!o || json_array_append_new(refused, o)) {
			json_decref(refused);
			refused = NULL;
		}
	}
	if (!refused) {
		json_decref(items);
		return NULL;
	}
	return json_pack("{s:s, s:i, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:I, s:o, s:b, s:o, s:O, s:O}",
			 "format", "relais-secours", "version", 1, "date", when,
			 "fichier_endommage", aside,
			 "serveur", str_or_null(s->server), "compte", str_or_null(s->login),
			 "departement", str_or_null(s->dept), "role", str_or_null(s->role),
			 "node", s->node_ok ? json_string(node) : json_null(),
			 "dernier_seq", (json_int_t)s->last_seq,
			 "modifications_en_attente", items,
			 "modifications_toutes_lues", s->outbox_rc == 0,
			 "modifications_refusees", refused,
			 "tables", s->tables, "tables_lues_en_partie", s->unreadable);
}

/* A system error on a file, as the code whose message says what to do. */
static int errno_code(int e)
{
#ifdef EDQUOT
	if (e == EDQUOT)
		return RELAIS_EFULL;
#endif
	return e == ENOSPC				   ? RELAIS_EFULL
	       : e == EROFS || e == EACCES || e == EPERM ? RELAIS_EACCESS
							   : RELAIS_EDISK;
}

/* Writes text to path (created, 0600) and makes it durable. */
static int write_file(const char *path, const char *text, char *err, size_t errlen)
{
	size_t n = strlen(text);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	int rc = 0;
	if (fd < 0) {
		rc = errno_code(errno);
		say(err, errlen, "impossible de créer « %s » : %s", path, relais_strerror(rc));
		return rc;
	}
	for (size_t off = 0; off < n && !rc;) {
		ssize_t w = write(fd, text + off, n - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			rc = w < 0 ? errno_code(errno) : RELAIS_EFULL;
		else
			off += (size_t)w;
	}
	if (!rc && fsync(fd))
		rc = errno_code(errno);
	if (close(fd) && !rc)
		rc = RELAIS_EIO;
	if (rc) {
		say(err, errlen, "écriture de « %s » impossible : %s", path, relais_strerror(rc));
		unlink(path);
	}
	return rc;
}

/* Removes the working directory of an earlier or failed rescue. */
static void remove_tmp(const char *tmp)
{
	static const char *const files[] = { "replica.db", "replica.db-wal", "replica.db-shm",
					     REPLICA_LOCK_FILE, REPLICA_LOCK_WHO, REPLICA_AMORCE_PART, REPLICA_CA_FILE,
					     REPLICA_CA_FILE ".tmp" };
	char path[MAX_PATH];
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if (!join(path, sizeof(path), tmp, files[i]))
			unlink(path);
	rmdir(tmp);
}

/*
 * Asks the server who the token belongs to: a rescue starts only when the
 * server answers, so that an offline attempt says so in its own words. A
 * server restored from a backup since the replica last synced (another
 * epoch) may have lost edits this replica had sent: *restored is then 1 and
 * err says why the pending edits are not queued blindly ("relais sync"
 * refuses such a server too).
 */
static int reach_server(const char *server, const char *token, const struct salvage *s,
			int *restored, char *err, size_t errlen)
{
	struct net n;
	json_t *who = NULL;
	memset(&n, 0, sizeof(n));
	int rc = net_open(&n, server, token, err, errlen);
	if (!rc)
		rc = net_get_json(&n, "/v1/whoami", &who, err, errlen);
	const char *epoch = json_string_value(json_object_get(who, "epoque"));
	*restored = !rc && s->epoch && s->outbox.count && (!epoch || strcmp(epoch, s->epoch));
	if (*restored)
		say(err, errlen, "le serveur a été restauré depuis une sauvegarde depuis la dernière "
		    "synchronisation de ce réplica : ses modifications en attente ne sont pas remises "
		    "dans la file sans vous (voir « relais sync --help », section « Après une "
		    "restauration du serveur ») ; --forcer les remet quand même.");
	json_decref(who);
	net_close(&n);
	return rc;
}

/*
 * Runs the same initialisation as "relais init" into tmp, its report on
 * stdout silenced (it names the working directory, not the home); errors
 * still go to stderr.
 */
static int init_into(const char *tmp, const char *server, const char *token, const char *ca)
{
	char *argv[] = { (char *)"init", (char *)"--serveur", (char *)server, (char *)"--jeton",
			 (char *)token, (char *)"--ca", (char *)ca, NULL };
	int argc = ca ? 7 : 5;
	fflush(stdout);
	int saved = dup(STDOUT_FILENO), null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (saved >= 0 && null >= 0)
		dup2(null, STDOUT_FILENO);
	if (null >= 0)
		close(null);
	int rc = cmd_init(tmp, argc, argv);
	fflush(stdout);
	if (saved >= 0) {
		dup2(saved, STDOUT_FILENO);
		close(saved);
	}
	return rc;
}

/* Queues the salvaged edits into the replica built in tmp, under the
 * damaged replica's node id when it could be read. */
static int restore_into(const char *tmp, const struct salvage *s, char *err, size_t errlen)
{
	struct replica nr;
	char *node = NULL, *dept = NULL;
	uint64_t id = s->outbox.node;
	int rc = replica_open(&nr, tmp, 0, err, errlen);
	if (rc)
		return rc;
	if ((rc = replica_meta(&nr, "dept", &dept)) || (rc = replica_meta(&nr, "node", &node))) {
		say(err, errlen, "lecture du nouveau réplica impossible : %s", relais_strerror(rc));
		goto out;
	}
	if (s->dept && dept && strcmp(s->dept, dept)) {
		rc = RELAIS_EPERM;
		say(err, errlen, "ce jeton donne accès au département %s, le réplica endommagé "
			 "était celui du département %s.", dept, s->dept);
		goto out;
	}
	if (!s->node_ok && (!node || sync_node_parse(node, &id))) {
		rc = RELAIS_ECORRUPT;
		say(err, errlen, "identifiant du nouveau réplica illisible.");
		goto out;
	}
	rc = sync_outbox_restore(nr.db, nr.tables, id, s->outbox.items, s->outbox.count, s->last_seq);
	if (rc)
		say(err, errlen, "les modifications en attente n'ont pas pu être remises dans la "
			 "file : %s", relais_strerror(rc));
	if (!rc && (rc = sync_refused_restore(nr.db, &s->refused)))
		say(err, errlen, "les modifications refusées par le serveur n'ont pas pu être "
			 "recopiées : %s", relais_strerror(rc));
out:
	free(node);
	free(dept);
	replica_close(&nr);
	return rc;
}

/* Renames home/name to dst + suffix when it exists. */
static int move_if_there(const char *home, const char *name, const char *dst, const char *suffix)
{
	char from[MAX_PATH], to[MAX_PATH];
	if (join(from, sizeof(from), home, name) ||
	    snprintf(to, sizeof(to), "%s%s", dst, suffix) >= (int)sizeof(to))
		return RELAIS_ETOOBIG;
	if (rename(from, to) && errno != ENOENT)
		return RELAIS_EIO;
	return 0;
}

/* Names for the damaged file and the rescue file that no earlier rescue
 * used: a rename must never replace a file kept from a previous one. */
static int free_names(const char *home, const char *stamp, char aside[MAX_PATH],
		      char saved[MAX_PATH])
{
	for (int i = 1; i < 100; i++) {
		char suffix[8] = "";
		if (i > 1)
			snprintf(suffix, sizeof(suffix), "-%d", i);
		if (snprintf(aside, MAX_PATH, "%s/replica.db.endommage-%s%s", home, stamp, suffix) >=
			    MAX_PATH ||
		    snprintf(saved, MAX_PATH, "%s/secours-%s%s.json", home, stamp, suffix) >= MAX_PATH)
			return RELAIS_ETOOBIG;
		if (access(aside, F_OK) != 0 && access(saved, F_OK) != 0)
			return 0;
	}
	return RELAIS_EEXIST;
}

/* The last step: the damaged file (with its WAL) goes aside and the new one
 * takes its place, then the directory is synced so both renames last. */
static int swap_in(const char *home, const char *tmp, const char *aside, char *err, size_t errlen)
{
	char cur[MAX_PATH], fresh[MAX_PATH];
	if (join(cur, sizeof(cur), home, "replica.db") || join(fresh, sizeof(fresh), tmp, "replica.db"))
		return RELAIS_ETOOBIG;
	if (rename(cur, aside)) {
		say(err, errlen, "impossible de renommer « %s » : %s", cur, util_errno_fr(errno));
		return RELAIS_EIO;
	}
	if (move_if_there(home, "replica.db-wal", aside, "-wal") ||
	    move_if_there(home, "replica.db-shm", aside, "-shm") || rename(fresh, cur)) {
		say(err, errlen, "impossible de mettre le nouveau réplica en place : %s",
			 util_errno_fr(errno));
		/* Back as it was: the damaged file, then its WAL. */
		if (rename(aside, cur) == 0) {
			char wal[MAX_PATH + 8], awal[MAX_PATH + 8];
			if (snprintf(wal, sizeof(wal), "%s-wal", cur) < (int)sizeof(wal) &&
			    snprintf(awal, sizeof(awal), "%s-wal", aside) < (int)sizeof(awal) &&
			    rename(awal, wal) && errno != ENOENT)
				cli_error("« %s » n'a pas pu reprendre sa place.", awal);
		}
		return RELAIS_EIO;
	}
#ifdef O_DIRECTORY
	/* The renames reach the disk with the directory (Windows' file system
	 * journals them itself: no directory to open there). */
	int fd = open(home, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		if (fsync(fd))
			cli_error("attention : « %s » n'a pas pu être synchronisé sur le disque.", home);
		close(fd);
	}
#endif
	return 0;
}

/*
 * A rescue stopped between its two renames (the damaged file already aside)
 * left the home without replica.db and a complete new one in tmp: puts it in
 * place. Returns 1 when it did so.
 */
static int finish_swap(const char *home, const char *tmp)
{
	char cur[MAX_PATH], fresh[MAX_PATH];
	if (join(cur, sizeof(cur), home, "replica.db") || join(fresh, sizeof(fresh), tmp, "replica.db") ||
	    access(cur, F_OK) == 0 || access(fresh, F_OK) != 0 || rename(fresh, cur))
		return 0;
	remove_tmp(tmp);
	printf("La reconstruction précédente avait été interrompue juste avant la fin : le nouveau "
	       "réplica est maintenant en place dans « %s » (l'ancien fichier est resté à côté, "
	       "renommé replica.db.endommage-DATE). Lancez « relais --dossier %s sync ».\n", home, home);
	return 1;
}

int cmd_secours(const char *home, int argc, char **argv)
{
	static const char about[] =
		"Reconstruit un réplica endommagé depuis le serveur, en gardant les modifications\n"
		"pas encore envoyées : elles sont remises dans la file et partent au prochain\n"
		"« relais sync ». Rien n'est supprimé : le fichier endommagé est renommé\n"
		"replica.db.endommage-DATE et ce qui pouvait encore y être lu (modifications en\n"
		"attente, lignes) est écrit dans secours-DATE.json, à côté. Sans connexion au\n"
		"serveur, rien n'est modifié. Par défaut, le serveur et le jeton sont ceux du\n"
		"réplica.\n";
	const char *server = NULL, *token = NULL;
	int force = 0;
	const struct option opts[] = {
		OPT_STRING_F(0, "serveur", &server, "URL", "adresse du serveur (sinon celle du réplica)",
			     OPTION_NONEMPTY),
		OPT_STRING_F(0, "jeton", &token, "JETON", "jeton du compte (sinon celui du réplica)",
			     OPTION_NONEMPTY),
		OPT_FLAG(0, "forcer", &force,
			 "reconstruire même si des modifications en attente sont illisibles"),
		OPT_END(),
	};
	const struct options_cmd cmd = {
		&cli_prog, "secours", "[--serveur URL] [--jeton JETON] [--forcer]", about, opts, NULL,
		0, 0, NULL,
	};
	struct replica lk;
	struct salvage s;
	sqlite3 *db = NULL;
	char err[CLI_ERRLEN], tmp[MAX_PATH], ca[MAX_PATH], aside[MAX_PATH], saved[MAX_PATH];
	char when[21], stamp[32];
	char *text = NULL;
	json_t *doc = NULL;

	memset(&s, 0, sizeof(s));
	int rc;
	if (!begin(&cmd, argc, argv, home, &lk, &rc))
		return rc;
	rc = CLI_EXIT_FAIL;
	if (join(tmp, sizeof(tmp), home, TMP_DIR) || join(ca, sizeof(ca), home, REPLICA_CA_FILE)) {
		cli_error("chemin trop long : %s", home);
		goto out;
	}
	if (finish_swap(home, tmp)) {
		rc = 0;
		goto out;
	}
	if (open_raw(home, &db, err, sizeof(err))) {
		cli_error("%s", err);
		goto out;
	}
	if (salvage(db, &s)) {
		cli_error("%s", relais_strerror(RELAIS_ENOMEM));
		goto out;
	}
	sqlite3_close(db);
	db = NULL;
	drop_empty_wal(home);
	/* The damage met while reading is expected here: no advice about it. */
	(void)relais_storage_failure_take();
	if (!server)
		server = s.server;
	if (!token)
		token = s.token;
	int need_creds = !server || !token;
	int need_force = (s.outbox_rc || (!s.node_ok && s.outbox.count)) && !force;
	if (need_creds)
		cli_error("l'adresse du serveur ou le jeton ne peuvent plus être lus dans le réplica.");
	if (need_force && s.outbox_rc && !s.outbox.count)
		cli_error("les modifications en attente ne peuvent pas être lues (%s) : celles qui "
			  "n'avaient pas été envoyées restent dans le fichier endommagé.",
			  relais_strerror(s.outbox_rc));
	else if (need_force && s.outbox_rc)
		cli_error("%zu modification%s en attente %s pu être lue%s, les suivantes sont "
			  "illisibles (%s).", s.outbox.count, s.outbox.count > 1 ? "s" : "",
			  s.outbox.count > 1 ? "ont" : "a", s.outbox.count > 1 ? "s" : "",
			  relais_strerror(s.outbox_rc));
	else if (need_force)
		cli_error("l'identifiant du réplica est illisible : %s %zu modification%s en "
			  "attente partiraient sous un autre identifiant, et le serveur pourrait "
			  "appliquer une seconde fois celles qu'il avait déjà reçues.",
			  s.outbox.count > 1 ? "ses" : "sa", s.outbox.count,
			  util_pluriel((long long)s.outbox.count));
	if (need_creds || need_force) {
		cli_error("Rien n'a été modifié. Relancez avec%s%s%s.",
			  need_creds ? " « --serveur URL --jeton JETON »" : "",
			  need_creds && need_force ? " et" : "",
			  need_force ? " « --forcer » pour reconstruire quand même (le fichier "
				       "endommagé est gardé de côté)" : "");
		goto out;
	}

	remove_tmp(tmp);
	int restored = 0;
	int e = reach_server(server, token, &s, &restored, err, sizeof(err));
	if (restored && !force)
		e = RELAIS_EPERM;
	if (e)
		cli_error("%s", err);
	if (e || init_into(tmp, server, token, access(ca, R_OK) == 0 ? ca : NULL)) {
		if (e == RELAIS_ENET || !e)
			cli_error("secours impossible pour l'instant : le serveur n'a pas fourni les "
				  "données. Rien n'a été modifié : « %s/replica.db » est toujours en place, "
				  "avec %zu modification%s en attente ; relancez « relais --dossier %s secours » "
				  "quand le serveur sera joignable.", home, s.outbox.count,
				  s.outbox.count > 1 ? "s" : "", home);
		else
			cli_error("Rien n'a été modifié : « %s/replica.db » est toujours en place, avec %zu "
				  "modification%s en attente.", home, s.outbox.count,
				  s.outbox.count > 1 ? "s" : "");
		goto drop_tmp;
	}
	if (restore_into(tmp, &s, err, sizeof(err))) {
		cli_error("%s", err);
		cli_error("rien n'a été modifié : « %s/replica.db » est toujours en place.", home);
		goto drop_tmp;
	}

	int64_t now = util_now_ms();
	util_iso8601(now, when);
	/* "2026-12-04T20:31:07Z" -> "20261204-203107", safe in any file name. */
	snprintf(stamp, sizeof(stamp), "%.4s%.2s%.2s-%.2s%.2s%.2s", when, when + 5, when + 8,
		 when + 11, when + 14, when + 17);
	if (free_names(home, stamp, aside, saved)) {
		cli_error("impossible de nommer les fichiers de secours dans « %s ».", home);
		goto drop_tmp;
	}
	doc = salvage_json(&s, aside, when);
	text = doc ? json_dumps(doc, JSON_INDENT(1) | JSON_ENSURE_ASCII) : NULL;
	if (!text) {
		cli_error("%s", relais_strerror(RELAIS_ENOMEM));
		goto drop_tmp;
	}
	if (write_file(saved, text, err, sizeof(err)) || swap_in(home, tmp, aside, err, sizeof(err))) {
		cli_error("%s", err);
		cli_error("rien n'a été modifié : « %s/replica.db » est toujours en place.", home);
		goto drop_tmp;
	}
	remove_tmp(tmp);
	printf("Réplica reconstruit depuis le serveur dans « %s ».\n", home);
	if (s.emptied)
		printf("Le fichier remplacé ne contenait plus aucune modification en attente : "
		       "celles qui n'avaient pas été envoyées avant qu'il soit vidé sont perdues.\n");
	printf("Modifications en attente remises dans la file : %zu", s.outbox.count);
	printf(s.outbox.count ? " ; lancez « relais --dossier %s sync » pour les envoyer.\n" : ".\n",
	       home);
	if (s.refused.count || s.refused_rc)
		printf("Modifications refusées par le serveur recopiées : %zu%s (voir « relais "
		       "refus »).\n", s.refused.count, s.refused_rc ? ", les suivantes étaient "
		       "illisibles et restent dans le fichier endommagé" : "");
	printf("Fichier endommagé conservé : %s\n", aside);
	printf("Ce qui a pu y être lu : %s\n", saved);
	if (json_array_size(s.unreadable)) {
		printf("Tables lues en partie seulement dans le fichier endommagé :");
		for (size_t i = 0; i < json_array_size(s.unreadable); i++)
			printf("%s %s", i ? "," : "", json_string_value(json_array_get(s.unreadable, i)));
		printf(" (leurs données synchronisées viennent maintenant du serveur).\n");
	}
	rc = 0;
	goto out;
drop_tmp:
	remove_tmp(tmp);
out:
	free(text);
	json_decref(doc);
	salvage_free(&s);
	if (db) {
		sqlite3_close(db);
		drop_empty_wal(home);
	}
	replica_close(&lk);
	return rc;
}
