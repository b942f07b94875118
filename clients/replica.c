#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "../common/file.h"
#include "../model/model.h"
#include "cli.h"
#include "net.h"
#include "replica.h"

/* How long a command waits for another one holding the lock. */
#define LOCK_WAIT_MS 30000
#define LOCK_POLL_MS 100
#define MAX_PATH 4096

char *replica_home(const char *opt, char *err, size_t errlen)
{
	if (opt && *opt)
		return strdup(opt);
	const char *env = getenv("RELAIS_HOME");
	if (env && *env)
		return strdup(env);
	const char *home = getenv("HOME");
	if (!home || !*home) {
		snprintf(err, errlen, "impossible de trouver le répertoire du réplica : "
			 "indiquez --home DIR ou la variable RELAIS_HOME.");
		return NULL;
	}
	size_t n = strlen(home) + sizeof("/.relais");
	char *p = malloc(n);
	if (p)
		snprintf(p, n, "%s/.relais", home);
	return p;
}

static int path_join(char *out, size_t outlen, const char *dir, const char *name)
{
	int n = snprintf(out, outlen, "%s/%s", dir, name);
	return n < 0 || (size_t)n >= outlen ? RELAIS_ETOOBIG : 0;
}

/* Waits for the exclusive lock rather than failing at once: a command started
 * while a short edit runs should simply run after it. */
static int take_lock(struct replica *r, int create, char *err, size_t errlen)
{
	char path[MAX_PATH];
	if (path_join(path, sizeof(path), r->home, "lock")) {
		snprintf(err, errlen, "chemin trop long : %s", r->home);
		return RELAIS_EINVAL;
	}
	int fd = open(path, O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0), 0600);
	if (fd < 0 && errno == ENOENT && !create) {
		/* A replica made before the lock existed, or a partial copy. */
		fd = open(path, O_RDWR | O_CLOEXEC | O_CREAT, 0600);
	}
	if (fd < 0) {
		snprintf(err, errlen, "impossible d'ouvrir le verrou %s : %s", path, strerror(errno));
		return RELAIS_EIO;
	}
	for (int waited = 0;; waited += LOCK_POLL_MS) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			break;
		if (errno != EWOULDBLOCK && errno != EINTR) {
			snprintf(err, errlen, "verrouillage de %s impossible : %s", path, strerror(errno));
			close(fd);
			return RELAIS_EIO;
		}
		if (waited >= LOCK_WAIT_MS) {
			snprintf(err, errlen, "une autre commande relais utilise ce réplica (%s) ; "
				 "réessayez quand elle sera terminée.", r->home);
			close(fd);
			return RELAIS_EBUSY;
		}
		struct timespec ts = { 0, LOCK_POLL_MS * 1000000L };
		nanosleep(&ts, NULL);
	}
	r->lockfd = fd;
	return 0;
}

/* The home and its database hold the token and personal data: nobody but
 * the owner may enter or read them. A missing database is left to open_db. */
static int check_private(const char *home, char *err, size_t errlen)
{
	char path[MAX_PATH];
	struct stat st;
	if (stat(home, &st) == 0 && (st.st_mode & 077)) {
		snprintf(err, errlen, "le répertoire du réplica « %s » est accessible à d'autres "
			 "utilisateurs (droits %03o) : protégez-le avec « chmod 700 %s ».", home,
			 (unsigned)(st.st_mode & 0777), home);
		return RELAIS_EPERM;
	}
	if (!path_join(path, sizeof(path), home, "replica.db") && stat(path, &st) == 0 &&
	    (st.st_mode & 077)) {
		snprintf(err, errlen, "« %s » est lisible par d'autres utilisateurs (droits %03o) : "
			 "protégez-le avec « chmod 600 %s ».", path, (unsigned)(st.st_mode & 0777),
			 path);
		return RELAIS_EPERM;
	}
	return 0;
}

/* Copies src to dst through a temporary name, so that a half-copied CA is
 * never trusted (or distrusted) by a later command. */
static int copy_ca(const char *src, const char *dst, char *err, size_t errlen)
{
	struct file_tmp t = FILE_TMP_INIT;
	char chunk[8192];
	FILE *in = NULL;
	size_t n, total = 0;
	int rc = 0;
	in = fopen(src, "rbe");
	if (!in || file_tmp_open(&t, dst, 0600)) {
		snprintf(err, errlen, "copie de l'autorité de certification « %s » impossible : %s",
			 src, strerror(errno));
		rc = RELAIS_EIO;
		goto out;
	}
	/* A CA bundle is a few KiB; a cap keeps a wrong path from filling the home. */
	while ((n = fread(chunk, 1, sizeof(chunk), in)) > 0) {
		total += n;
		if (total > (1u << 20) || fwrite(chunk, 1, n, t.f) != n) {
			snprintf(err, errlen, "autorité de certification « %s » trop grande ou "
				 "illisible.", src);
			rc = RELAIS_EIO;
			goto out;
		}
	}
	if (ferror(in) || file_tmp_commit(&t)) {
		snprintf(err, errlen, "copie de l'autorité de certification « %s » impossible.", src);
		rc = RELAIS_EIO;
	}
out:
	if (in)
		fclose(in);
	file_tmp_abort(&t);
	return rc;
}

/* Keeps the CA given at init in the home, and makes the home's CA the one
 * this process trusts. */
static int setup_ca(const char *home, int create, char *err, size_t errlen)
{
	char path[MAX_PATH];
	if (path_join(path, sizeof(path), home, REPLICA_CA_FILE)) {
		snprintf(err, errlen, "chemin trop long : %s", home);
		return RELAIS_EINVAL;
	}
	const char *given = net_ca();
	if (create && given && strcmp(given, path)) {
		int rc = copy_ca(given, path, err, errlen);
		if (rc)
			return rc;
	}
	net_set_stored_ca(access(path, F_OK) == 0 ? path : NULL);
	return 0;
}

static int exec_sql(sqlite3 *db, const char *sql, char *err, size_t errlen)
{
	char *msg = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(err, errlen, "base du réplica : %s", msg ? msg : sqlite3_errmsg(db));
		sqlite3_free(msg);
		return RELAIS_EDB;
	}
	return 0;
}

static int open_db(struct replica *r, int create, char *err, size_t errlen)
{
	char path[MAX_PATH];
	if (path_join(path, sizeof(path), r->home, "replica.db")) {
		snprintf(err, errlen, "chemin trop long : %s", r->home);
		return RELAIS_EINVAL;
	}
	if (create) {
		/* Created here rather than by SQLite so that it is private from
		 * its first byte (it holds the token and personal data). */
		int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (fd < 0) {
			snprintf(err, errlen, "impossible de créer %s : %s", path, strerror(errno));
			return RELAIS_EIO;
		}
		close(fd);
	} else if (access(path, F_OK) != 0) {
		snprintf(err, errlen, "aucun réplica dans « %s » : lancez d'abord "
			 "« relais --home %s init --server URL --token JETON ».", r->home, r->home);
		return RELAIS_ENOTFOUND;
	}
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
	if (sqlite3_open_v2(path, &r->db, flags, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "impossible d'ouvrir %s : %s", path,
			 r->db ? sqlite3_errmsg(r->db) : "mémoire insuffisante");
		return RELAIS_EDB;
	}
	sqlite3_busy_timeout(r->db, 5000);
	return exec_sql(r->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", err, errlen);
}

static int load_tables(struct replica *r, char *err, size_t errlen)
{
	const char *names[64];
	size_t n = 0;
	for (size_t i = 0; i < model_ntables && n < sizeof(names) / sizeof(names[0]); i++)
		if (model_tables[i].since <= MODEL_SCHEMA_VERSION)
			names[n++] = model_tables[i].name;
	int rc = sync_tables_load(r->db, names, n, &r->tables);
	if (rc)
		snprintf(err, errlen, "le schéma du réplica est invalide : %s", relais_strerror(rc));
	return rc;
}

int replica_open(struct replica *r, const char *home, unsigned flags, char *err, size_t errlen)
{
	int create = (flags & REPLICA_CREATE) != 0;
	int rc = 0;
	char *done = NULL;

	memset(r, 0, sizeof(*r));
	r->lockfd = -1;
	r->home = strdup(home);
	if (!r->home) {
		rc = RELAIS_ENOMEM;
		snprintf(err, errlen, "%s", relais_strerror(rc));
		goto out;
	}
	if (create) {
		if (mkdir(home, 0700) != 0 && errno != EEXIST) {
			snprintf(err, errlen, "impossible de créer le répertoire %s : %s",
				 home, strerror(errno));
			rc = RELAIS_EIO;
			goto out;
		}
	} else {
		struct stat st;
		if (stat(home, &st) != 0 || !S_ISDIR(st.st_mode)) {
			snprintf(err, errlen, "aucun réplica dans « %s » : lancez d'abord "
				 "« relais --home %s init --server URL --token JETON ».", home, home);
			rc = RELAIS_ENOTFOUND;
			goto out;
		}
	}
	if ((rc = check_private(home, err, errlen)))
		goto out;
	if ((rc = take_lock(r, create, err, errlen)))
		goto out;
	if ((rc = setup_ca(home, create, err, errlen)))
		goto out;
	if ((rc = open_db(r, create, err, errlen)))
		goto out;
	rc = model_migrate(r->db);
	if (rc == RELAIS_ESCHEMA) {
		snprintf(err, errlen, "ce réplica a été créé par une version plus récente de relais : "
			 "mettez relais à jour.");
		goto out;
	} else if (rc) {
		snprintf(err, errlen, "mise à jour du schéma du réplica impossible : %s",
			 relais_strerror(rc));
		goto out;
	}
	if ((rc = sync_client_schema(r->db))) {
		snprintf(err, errlen, "préparation du réplica impossible : %s", relais_strerror(rc));
		goto out;
	}
	if ((rc = load_tables(r, err, errlen)))
		goto out;
	if (!create) {
		if ((rc = replica_meta(r, "init_done", &done))) {
			snprintf(err, errlen, "lecture du réplica impossible : %s", relais_strerror(rc));
			goto out;
		}
		if (!done) {
			snprintf(err, errlen, "l'initialisation du réplica « %s » n'est pas terminée : "
				 "relancez « relais --home %s init --server URL --token JETON ».",
				 home, home);
			rc = RELAIS_ENOTFOUND;
			goto out;
		}
	}
out:
	free(done);
	if (rc)
		replica_close(r);
	return rc;
}

void replica_close(struct replica *r)
{
	if (!r)
		return;
	sync_tables_free(r->tables);
	r->tables = NULL;
	if (r->db)
		sqlite3_close_v2(r->db);
	r->db = NULL;
	/* Closing the descriptor releases the flock, after the database is shut. */
	if (r->lockfd >= 0)
		close(r->lockfd);
	r->lockfd = -1;
	free(r->home);
	r->home = NULL;
}

int replica_meta(struct replica *r, const char *key, char **val)
{
	*val = NULL;
	int rc = sync_meta_get(r->db, key, val);
	if (rc == RELAIS_ENOTFOUND) {
		*val = NULL;
		return 0;
	}
	return rc;
}

int replica_read_only(struct replica *r)
{
	char *role = NULL;
	if (replica_meta(r, "role", &role))
		role = NULL;
	int ro = role && !strcmp(role, "caf");
	if (ro)
		cli_error("ce compte (rôle caf) est en lecture seule : modification refusée.");
	free(role);
	return ro;
}

json_t *replica_row_json(sqlite3_stmt *st)
{
	json_t *obj = json_object();
	if (!obj)
		return NULL;
	int n = sqlite3_column_count(st);
	for (int i = 0; i < n; i++) {
		json_t *v;
		switch (sqlite3_column_type(st, i)) {
		case SQLITE_INTEGER:
			v = json_integer(sqlite3_column_int64(st, i));
			break;
		case SQLITE_FLOAT:
			v = json_real(sqlite3_column_double(st, i));
			break;
		case SQLITE_NULL:
			v = json_null();
			break;
		default: {
			const char *s = (const char *)sqlite3_column_text(st, i);
			int len = sqlite3_column_bytes(st, i);
			v = s ? json_stringn(s, (size_t)len) : json_null();
			break;
		}
		}
		if (!v || json_object_set_new(obj, sqlite3_column_name(st, i), v)) {
			json_decref(obj);
			return NULL;
		}
	}
	return obj;
}

int replica_print_json(const json_t *v)
{
	/* Compact and in insertion order, so that two replicas holding the same
	 * data print the same bytes. */
	char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	if (!s)
		return RELAIS_ENOMEM;
	int rc = fputs(s, stdout) < 0 ? RELAIS_EIO : 0;
	free(s);
	return rc;
}

int replica_print_rows(struct replica *r, sqlite3_stmt *st)
{
	json_t *arr = json_array();
	int s, rc = CLI_EXIT_FAIL;

	if (!arr)
		goto nomem;
	while ((s = sqlite3_step(st)) == SQLITE_ROW)
		if (json_array_append_new(arr, replica_row_json(st)))
			goto nomem;
	if (s != SQLITE_DONE) {
		cli_error("lecture du réplica impossible : %s", sqlite3_errmsg(r->db));
		goto out;
	}
	if (replica_print_json(arr))
		goto nomem;
	putchar('\n');
	rc = 0;
	goto out;
nomem:
	cli_error("%s", relais_strerror(RELAIS_ENOMEM));
out:
	json_decref(arr);
	return rc;
}
