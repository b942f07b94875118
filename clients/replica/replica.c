#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "../../common/platform.h"
#include "../../common/util.h"
#include "../../common/file.h"
#include "../../model/model.h"
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
	char *p = platform_default_home();
	if (!p)
		snprintf(err, errlen, "impossible de trouver le répertoire du réplica : "
			 "indiquez --dossier DIR ou la variable RELAIS_HOME.");
	return p;
}

static int path_join(char *out, size_t outlen, const char *dir, const char *name)
{
	int n = snprintf(out, outlen, "%s/%s", dir, name);
	return n < 0 || (size_t)n >= outlen ? RELAIS_ETOOBIG : 0;
}

/*
 * The first failure of the storage (disk full, I/O error, damaged file,
 * permissions, busy) that SQLite met in this process, as a RELAIS_E* code:
 * commands print SQLite failures in many places, and replica_close() then
 * says once, naming the file, what the person should do about it. Fed by
 * relais_sqlite_error() (relais_storage_failure_take), by replica_errmsg()
 * and by SQLite's log, which also sees statements whose caller only passes
 * on a RELAIS_EDB (but not a failed COMMIT).
 */
static int storage_failure;

static void note_failure(int code)
{
	if (!storage_failure && (relais_storage_error(code) || code == RELAIS_EBUSY))
		storage_failure = code;
}

static void sqlite_log(void *arg, int sqlite_rc, const char *msg)
{
	(void)arg;
	(void)msg;
	note_failure(relais_sqlite_error(sqlite_rc));
}

/* SQLite accepts a logger only before its first use, which in relais is the
 * first replica_open(); later calls fail harmlessly and replica_errmsg()
 * still notes what the commands print. */
static void install_log(void)
{
	static int done;
	if (!done) {
		done = 1;
		(void)sqlite3_config(SQLITE_CONFIG_LOG, sqlite_log, NULL);
	}
}

const char *replica_errmsg(sqlite3 *db)
{
	if (db)
		note_failure(relais_sqlite_error(sqlite3_extended_errcode(db)));
	return relais_sqlite_errmsg(db);
}

/* What a person should do about a failure of the storage under the replica
 * of home (a RELAIS_E* code), as one French sentence. */
static void advice(const char *home, int code, char *out, size_t outlen)
{
	switch (code) {
	case RELAIS_EDAMAGED:
		snprintf(out, outlen, "le réplica « %s/replica.db » est endommagé. Ne le supprimez pas : "
			 "« relais --dossier %s verifier » le contrôle, et « relais --dossier %s secours » le "
			 "reconstruit depuis le serveur en gardant les modifications pas encore envoyées "
			 "(voir docs/client.md).", home, home, home);
		break;
	case RELAIS_EFULL:
		snprintf(out, outlen, "le disque qui contient « %s » est plein : libérez de la place "
			 "(« df -h %s » montre l'espace libre), puis relancez la commande ; ce qui a "
			 "échoué n'a pas été enregistré.", home, home);
		break;
	case RELAIS_EDISK:
		snprintf(out, outlen, "erreur du disque en lisant ou en écrivant « %s/replica.db » : "
			 "vérifiez le disque et son système de fichiers (journal du système, fsck), puis "
			 "contrôlez le réplica avec « relais --dossier %s verifier ».", home, home);
		break;
	case RELAIS_EACCESS:
		snprintf(out, outlen, "« %s/replica.db » est en lecture seule ou ne peut pas être "
			 "ouvert : vérifiez ses droits et son propriétaire (« ls -la %s » : le dossier et "
			 "ses fichiers doivent appartenir à votre compte, droits 700 et 600).", home, home);
		break;
	default:
		snprintf(out, outlen, "« %s/replica.db » est occupé par un autre programme : "
			 "réessayez quand il aura terminé.", home);
		break;
	}
}

/* Waits for the exclusive lock rather than failing at once: a command started
 * while a short edit runs should simply run after it. */
static char holder[128] = "une autre commande relais";

void replica_set_holder(const char *what)
{
	snprintf(holder, sizeof(holder), "%s", what);
}

/*
 * Takes the exclusive lock on fd, waiting up to LOCK_WAIT_MS for the
 * command that holds it; then writes who holds it now into the lock file,
 * so that a command left waiting can say who it waits for.
 */
static int lock_wait(struct replica *r, int fd, const char *path, char *err, size_t errlen)
{
	/* RELAIS_ATTENTE_VERROU: seconds to wait for a busy replica. */
	long long secs = LOCK_WAIT_MS / 1000;
	const char *env = getenv("RELAIS_ATTENTE_VERROU");
	if (env && util_parse_ll(env, 0, 3600, &secs))
		secs = LOCK_WAIT_MS / 1000;
	int limit = (int)secs * 1000;
	char whopath[MAX_PATH];
	if (path_join(whopath, sizeof(whopath), r->home, REPLICA_LOCK_WHO))
		whopath[0] = 0;
	for (int waited = 0;; waited += LOCK_POLL_MS) {
		int lk = platform_try_lock(fd);
		if (lk == 0)
			break;
		if (lk != RELAIS_EBUSY) {
			snprintf(err, errlen, "verrouillage de %s impossible : %s", path, util_errno_fr(errno));
			return RELAIS_EIO;
		}
		if (waited >= limit) {
			char who[160] = "";
			FILE *f = whopath[0] ? fopen(whopath, "r") : NULL;
			if (f) {
				if (!fgets(who, sizeof(who), f))
					who[0] = 0;
				fclose(f);
			}
			who[strcspn(who, "\n")] = 0;
			snprintf(err, errlen, "le réplica (%s) est occupé par %s depuis plus de %d s ; "
				 "réessayez quand elle aura terminé.", r->home,
				 who[0] ? who : "une autre commande relais", (int)secs);
			return RELAIS_EBUSY;
		}
		struct timespec ts = { 0, LOCK_POLL_MS * 1000000L };
		nanosleep(&ts, NULL);
	}
	/* Only a courtesy for a waiting command: the lock holds anyway. */
	FILE *f = whopath[0] ? fopen(whopath, "w") : NULL;
	if (f) {
		fprintf(f, "%s (processus %ld)\n", holder, (long)getpid());
		fclose(f);
	}
	return 0;
}

/* EDQUOT is not in every C library (mingw's). */
static int is_quota(int e)
{
#ifdef EDQUOT
	return e == EDQUOT;
#else
	(void)e;
	return 0;
#endif
}

static int take_lock(struct replica *r, int create, char *err, size_t errlen)
{
	char path[MAX_PATH];
	if (path_join(path, sizeof(path), r->home, REPLICA_LOCK_FILE)) {
		snprintf(err, errlen, "chemin trop long : %s", r->home);
		return RELAIS_EINVAL;
	}
	int fd = open(path, O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0), 0600);
	if (fd < 0 && errno == ENOENT && !create) {
		/* A replica made before the lock existed, or a partial copy. */
		fd = open(path, O_RDWR | O_CLOEXEC | O_CREAT, 0600);
	}
	if (fd < 0) {
		/* The lock is the first file a command writes: a read-only or
		 * full disk shows here first, and deserves the same advice. */
		int code = errno == EROFS || errno == EACCES || errno == EPERM ? RELAIS_EACCESS
			   : errno == ENOSPC || is_quota(errno)		    ? RELAIS_EFULL
			   : errno == EIO					    ? RELAIS_EDISK
										    : 0;
		if (code) {
			advice(r->home, code, err, errlen);
			return code;
		}
		snprintf(err, errlen, "impossible d'ouvrir le verrou %s : %s", path, util_errno_fr(errno));
		return RELAIS_EIO;
	}
	int rc = lock_wait(r, fd, path, err, errlen);
	if (rc) {
		close(fd);
		return rc;
	}
	r->lockfd = fd;
	return 0;
}

void replica_release(struct replica *r)
{
	if (r->lockfd >= 0)
		platform_unlock(r->lockfd);
}

int replica_relock(struct replica *r, char *err, size_t errlen)
{
	char path[MAX_PATH];
	if (r->lockfd < 0 || path_join(path, sizeof(path), r->home, REPLICA_LOCK_FILE))
		return RELAIS_EINVAL;
	return lock_wait(r, r->lockfd, path, err, errlen);
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
			 src, util_errno_fr(errno));
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
	int src = sqlite3_exec(db, sql, NULL, NULL, NULL);
	if (src != SQLITE_OK) {
		snprintf(err, errlen, "base du réplica : %s", replica_errmsg(db));
		return relais_sqlite_error(sqlite3_extended_errcode(db));
	}
	return 0;
}

/*
 * A replica.db that lost its content (emptied to 0 bytes, or a database
 * without the client's tables) must not pass for an unfinished init: init
 * creates these tables before anything else, and migrating such a file here
 * would give the replica a new node id and hide the loss.
 */
static int check_content(struct replica *r, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	char path[MAX_PATH];
	struct stat sb;
	int rc = 0, n = 0;

	if (path_join(path, sizeof(path), r->home, "replica.db")) {
		snprintf(err, errlen, "chemin trop long : %s", r->home);
		return RELAIS_EINVAL;
	}
	int src = sqlite3_prepare_v2(r->db, "SELECT count(*) FROM sqlite_master WHERE type = 'table' "
				     "AND name IN ('sync_meta', 'sync_outbox')", -1, &st, NULL);
	if (src == SQLITE_OK && (src = sqlite3_step(st)) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	if (src != SQLITE_ROW) {
		rc = relais_sqlite_error(sqlite3_extended_errcode(r->db));
		snprintf(err, errlen, "lecture du réplica « %s » impossible : %s", path,
			 replica_errmsg(r->db));
		goto out;
	}
	if (n == 2)
		goto out;
	rc = RELAIS_ENOTFOUND;
	snprintf(err, errlen, "« %s » %s : ce n'est pas une initialisation inachevée (elle crée "
		 "les tables du réplica avant tout le reste) mais un fichier vidé ou remplacé par "
		 "accident. Ne le supprimez pas : « relais --dossier %s secours --serveur URL --jeton "
		 "JETON » le met de côté et reconstruit le réplica depuis le serveur (voir "
		 "docs/client.md).", path,
		 stat(path, &sb) == 0 && sb.st_size == 0 ? "est vide (0 octet)"
							   : "ne contient plus les tables du réplica",
		 r->home);
out:
	sqlite3_finalize(st);
	return rc;
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
			snprintf(err, errlen, "impossible de créer %s : %s", path, util_errno_fr(errno));
			return RELAIS_EIO;
		}
		close(fd);
	} else if (access(path, F_OK) != 0) {
		snprintf(err, errlen, "aucun réplica dans « %s » : lancez d'abord "
			 "« relais --dossier %s init --serveur URL --jeton JETON ».", r->home, r->home);
		return RELAIS_ENOTFOUND;
	}
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
	install_log();
	int src = sqlite3_open_v2(path, &r->db, flags, NULL);
	if (src != SQLITE_OK) {
		snprintf(err, errlen, "impossible d'ouvrir %s : %s", path, replica_errmsg(r->db));
		return r->db ? relais_sqlite_error(sqlite3_extended_errcode(r->db)) : RELAIS_ENOMEM;
	}
	sqlite3_busy_timeout(r->db, 5000);
	/* Before the pragmas, which would write a header into an empty file. */
	if (!create && (src = check_content(r, err, errlen)))
		return src;
	return exec_sql(r->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", err, errlen);
}

/* The tables of this replica alone, never replicated nor sent: the copies
 * of the documents opened here (document.c). "IF NOT EXISTS" makes it the
 * migration of a replica made before them too. */
static const char local_schema[] =
	"CREATE TABLE IF NOT EXISTS document_cache("
	"empreinte TEXT PRIMARY KEY NOT NULL, data BLOB NOT NULL);";

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
		/* Missing parents too (~/Documents/relais/65). */
		if ((rc = util_mkdirs(home, 0700, err, errlen)))
			goto out;
	} else {
		struct stat st;
		if (stat(home, &st) != 0 || !S_ISDIR(st.st_mode)) {
			snprintf(err, errlen, "aucun réplica dans « %s » : lancez d'abord "
				 "« relais --dossier %s init --serveur URL --jeton JETON ».", home, home);
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
	if ((rc = exec_sql(r->db, local_schema, err, errlen)))
		goto out;
	if ((rc = load_tables(r, err, errlen)))
		goto out;
	if (!create) {
		if ((rc = replica_meta(r, "init_done", &done))) {
			snprintf(err, errlen, "lecture du réplica impossible : %s", relais_strerror(rc));
			goto out;
		}
		if (!done) {
			snprintf(err, errlen, "l'initialisation du réplica « %s » n'est pas terminée : "
				 "relancez « relais --dossier %s init --serveur URL --jeton JETON ».",
				 home, home);
			rc = RELAIS_ENOTFOUND;
			goto out;
		}
	}
out:
	free(done);
	if (rc) {
		/* A failure of the storage gets the sentence that says what to do,
		 * here rather than once more by replica_close(). */
		note_failure(relais_storage_failure_take());
		int code = storage_failure ? storage_failure : relais_storage_error(rc) ? rc : 0;
		if (code)
			advice(home, code, err, errlen);
		storage_failure = 0;
		replica_close(r);
	}
	return rc;
}

int replica_lock(struct replica *r, const char *home, char *err, size_t errlen)
{
	struct stat st;
	int rc = 0;

	memset(r, 0, sizeof(*r));
	r->lockfd = -1;
	if (stat(home, &st) != 0 || !S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "aucun réplica dans « %s » : lancez d'abord "
			 "« relais --dossier %s init --serveur URL --jeton JETON ».", home, home);
		return RELAIS_ENOTFOUND;
	}
	r->home = strdup(home);
	if (!r->home) {
		rc = RELAIS_ENOMEM;
		snprintf(err, errlen, "%s", relais_strerror(rc));
	}
	if (!rc)
		rc = check_private(home, err, errlen);
	if (!rc)
		rc = take_lock(r, 0, err, errlen);
	if (!rc)
		rc = setup_ca(home, 0, err, errlen);
	if (rc)
		replica_close(r);
	return rc;
}

void replica_close(struct replica *r)
{
	if (!r)
		return;
	note_failure(relais_storage_failure_take());
	if (storage_failure && r->home) {
		char msg[REPLICA_ERRLEN];
		advice(r->home, storage_failure, msg, sizeof(msg));
		/* Said at close, by the commands and the interface alike, with the
		 * prefix of every message of relais. */
		fprintf(stderr, "relais : %s\n", msg);
		storage_failure = 0;
	}
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

int replica_rows(sqlite3_stmt *st, int (*fn)(sqlite3_stmt *st, void *arg), void *arg)
{
	int s = SQLITE_DONE, rc = 0;
	while (!rc && (s = sqlite3_step(st)) == SQLITE_ROW)
		rc = fn(st, arg);
	if (!rc && s != SQLITE_DONE)
		rc = RELAIS_EDB;
	sqlite3_finalize(st);
	return rc;
}

void replica_today(char out[REPLICA_DATE_LEN + 1])
{
	time_t now = time(NULL);
	struct tm tm;
	if (!localtime_r(&now, &tm) ||
	    strftime(out, REPLICA_DATE_LEN + 1, "%Y-%m-%d", &tm) != REPLICA_DATE_LEN)
		snprintf(out, REPLICA_DATE_LEN + 1, "1970-01-01");
}

/* The binding of replica_prepare() and replica_run(). */
static int stmt_vprepare(sqlite3 *db, sqlite3_stmt **st, const char *sql, const char *types,
			 va_list ap)
{
	int rc = relais_sqlite_error(sqlite3_prepare_v2(db, sql, -1, st, NULL));
	/* Statements sharing one parameter list may use only its first ones. */
	int nparams = rc ? 0 : sqlite3_bind_parameter_count(*st);
	for (int i = 0; !rc && types[i] && i < nparams; i++) {
		if (types[i] == 'i') {
			rc = relais_sqlite_error(sqlite3_bind_int64(*st, i + 1, va_arg(ap, long long)));
		} else {
			const char *s = va_arg(ap, const char *);
			rc = relais_sqlite_error(s ? sqlite3_bind_text(*st, i + 1, s, -1, SQLITE_TRANSIENT)
						   : sqlite3_bind_null(*st, i + 1));
		}
	}
	if (rc) {
		sqlite3_finalize(*st);
		*st = NULL;
	}
	return rc;
}

int replica_prepare(sqlite3 *db, sqlite3_stmt **st, const char *sql, const char *types, ...)
{
	va_list ap;
	va_start(ap, types);
	int rc = stmt_vprepare(db, st, sql, types, ap);
	va_end(ap);
	return rc;
}

int replica_run(sqlite3 *db, int *changes, const char *sql, const char *types, ...)
{
	sqlite3_stmt *st = NULL;
	va_list ap;
	va_start(ap, types);
	int rc = stmt_vprepare(db, &st, sql, types, ap);
	va_end(ap);
	if (!rc) {
		int s = sqlite3_step(st);
		rc = s == SQLITE_DONE ? 0 : relais_sqlite_error(s);
	}
	if (!rc && changes)
		*changes = sqlite3_changes(db);
	sqlite3_finalize(st);
	return rc;
}
