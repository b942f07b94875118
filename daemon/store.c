/*
 * store.c - the authoritative store: file, pragmas, schema checks and the
 * connections lent to worker threads.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "../common/util.h"
#include "../model/model.h"
#include "auth.h"
#include "store.h"

struct store {
	sqlite3 *writer;
	pthread_mutex_t wlock;
	/* group commit: pushes queue here while a group is merged */
	pthread_mutex_t glock;
	struct store_push_job *ghead, **gtail;
	size_t gqueued;                  /* pushes in the queue */
	int gleader;                     /* a thread is merging the queue */
	struct store_group_stats stats;
	struct sync_merger *merger;      /* the writer's merge statements; under wlock */
	struct sync_puller *wpuller;     /* pull pages read through the writer; under wlock */
	struct store_reader readers[STORE_READERS];
	int lent[STORE_READERS];
	pthread_mutex_t rlock;
	pthread_cond_t rfree;
	struct sync_tables *tables;
	char epoch[SYNC_EPOCH_LEN + 1];
	char path[4096];                 /* DIR/relais.db, for messages */
	char dir[4096];                  /* the data directory */
};

static int db_path(const char *dir, char *out, size_t outlen)
{
	int n = snprintf(out, outlen, "%s/%s", dir, STORE_FILE);
	return n < 0 || (size_t)n >= outlen ? RELAIS_EINVAL : 0;
}

int store_exists(const char *dir)
{
	char path[4096];
	struct stat st;
	return !db_path(dir, path, sizeof(path)) && stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* A failure of the store's file, in French: what failed, the file, and what
 * the administrator should do. */
static void describe(char *err, size_t errlen, const char *what, const char *path, int rc)
{
	snprintf(err, errlen, "%s : base « %s » : %s%s.", what, path, relais_strerror(rc),
		 rc == RELAIS_EDAMAGED ? " ; relaisd arrêté, restaurez la dernière sauvegarde "
		 "(relaisd restauration --help)" : "");
}

static int exec(sqlite3 *db, const char *sql)
{
	return relais_sqlite_error(sqlite3_exec(db, sql, NULL, NULL, NULL));
}

/* Opens path with flags and applies the pragmas every connection needs. */
static int open_conn(const char *path, int flags, sqlite3 **out)
{
	sqlite3 *db = NULL;
	int rc = relais_sqlite_error(sqlite3_open_v2(path, &db, flags, NULL));
	if (rc)
		goto out;
	sqlite3_extended_result_codes(db, 1);
	rc = relais_sqlite_error(sqlite3_busy_timeout(db, STORE_BUSY_MS));
	if (rc)
		goto out;
	if (!(flags & SQLITE_OPEN_READONLY)) {
		/* journal_mode answers with the mode in force: WAL may be refused
		 * (e.g. on some network file systems), which we must not ignore. */
		sqlite3_stmt *st = NULL;
		rc = relais_sqlite_error(sqlite3_prepare_v2(db, "PRAGMA journal_mode=WAL", -1, &st, NULL));
		if (!rc && sqlite3_step(st) == SQLITE_ROW) {
			const unsigned char *mode = sqlite3_column_text(st, 0);
			if (!mode || strcmp((const char *)mode, "wal"))
				rc = RELAIS_EDB;
		} else if (!rc) {
			rc = RELAIS_EDB;
		}
		sqlite3_finalize(st);
		if (rc)
			goto out;
	}
	rc = exec(db, "PRAGMA synchronous=FULL");
out:
	if (rc) {
		sqlite3_close(db);
		db = NULL;
	}
	*out = db;
	return rc;
}

int store_open_single(const char *dir, sqlite3 **db, char *err, size_t errlen)
{
	char path[4096];
	int rc = db_path(dir, path, sizeof(path));
	if (rc) {
		snprintf(err, errlen, "Chemin du dossier de données trop long.");
		return rc;
	}
	if (!store_exists(dir)) {
		snprintf(err, errlen, "Aucune base dans « %s » : lancez d'abord « relaisd init --donnees %s ».",
			 dir, dir);
		return RELAIS_ENOTFOUND;
	}
	rc = open_conn(path, SQLITE_OPEN_READWRITE, db);
	if (rc)
		describe(err, errlen, "Ouverture impossible", path, rc);
	return rc;
}

int store_init(const char *dir, char *err, size_t errlen)
{
	char path[4096];
	sqlite3 *db = NULL;
	int rc = db_path(dir, path, sizeof(path));
	if (rc) {
		snprintf(err, errlen, "Chemin du dossier de données trop long.");
		goto out;
	}
	/* Missing parents too (/srv/relais/data on a new server). */
	if ((rc = util_mkdirs(dir, 0700, err, errlen))) {
		if (err && errlen && err[0] >= 'a' && err[0] <= 'z')
			err[0] = (char)(err[0] - 'a' + 'A');
		goto out;
	}
	rc = open_conn(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, &db);
	if (rc) {
		describe(err, errlen, "Création ou ouverture impossible", path, rc);
		goto out;
	}
	/* The database may hold personal data: only its owner reads it. */
	if (chmod(path, 0600)) {
		snprintf(err, errlen, "Impossible de protéger « %s » : %s.", path, util_errno_fr(errno));
		rc = RELAIS_EIO;
		goto out;
	}
	rc = model_migrate(db);
	if (rc == RELAIS_ESCHEMA) {
		snprintf(err, errlen, "La base de « %s » est plus récente que ce relaisd "
			 "(schéma %d attendu) : mettez relaisd à jour.", dir, MODEL_SCHEMA_VERSION);
		goto out;
	}
	if (!rc)
		rc = sync_server_schema(db);
	if (!rc)
		rc = auth_schema(db);
	if (rc && relais_storage_error(rc))
		describe(err, errlen, "Préparation impossible", path, rc);
	else if (rc)
		snprintf(err, errlen, "Impossible de préparer la base : %s.", relais_strerror(rc));
out:
	sqlite3_close(db);
	return rc;
}

static int user_version(sqlite3 *db, int *v)
{
	sqlite3_stmt *st = NULL;
	int rc = relais_sqlite_error(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL));
	if (!rc) {
		if (sqlite3_step(st) == SQLITE_ROW)
			*v = sqlite3_column_int(st, 0);
		else
			rc = RELAIS_EDB;
	}
	sqlite3_finalize(st);
	return rc;
}

static int load_tables(sqlite3 *db, struct sync_tables **out)
{
	const char **names = calloc(model_ntables ? model_ntables : 1, sizeof(*names));
	if (!names)
		return RELAIS_ENOMEM;
	for (size_t i = 0; i < model_ntables; i++)
		names[i] = model_tables[i].name;
	int rc = sync_tables_load(db, names, model_ntables, out);
	free(names);
	return rc;
}

/* The model judges what a replica may write and the values it sends. */
static int policy_may_write(void *ctx, const char *role, const char *table, int op, const char *col)
{
	(void)ctx;
	return model_role_may_write(role, table, op, col);
}

static int policy_check_value(void *ctx, const char *table, const char *col, sqlite3_value *v,
			      char *err, size_t errlen)
{
	(void)ctx;
	return model_check_stored(table, col, v, err, errlen);
}

int store_set_clock_skew(struct store *s, int64_t max_skew_ms, long long *repaired)
{
	struct sync_policy p = { max_skew_ms, policy_may_write, policy_check_value, NULL };
	store_writer_acquire(s);
	sync_merger_set_policy(s->merger, &p);
	int rc = sync_server_clock_repair(s->writer, max_skew_ms, repaired);
	store_writer_release(s);
	return rc;
}

int store_open(const char *dir, struct store **out, char *err, size_t errlen)
{
	char path[4096];
	struct store *s = NULL;
	int v = -1, rc = 0;
	*out = NULL;
	if (!store_exists(dir)) {
		snprintf(err, errlen, "Aucune base dans « %s » : lancez d'abord « relaisd init --donnees %s ».",
			 dir, dir);
		return RELAIS_ENOTFOUND;
	}
	rc = db_path(dir, path, sizeof(path));
	if (rc)
		return rc;
	s = calloc(1, sizeof(*s));
	if (!s)
		return RELAIS_ENOMEM;
	snprintf(s->dir, sizeof(s->dir), "%s", dir);
	pthread_mutex_init(&s->wlock, NULL);
	pthread_mutex_init(&s->glock, NULL);
	s->gtail = &s->ghead;
	pthread_mutex_init(&s->rlock, NULL);
	pthread_cond_init(&s->rfree, NULL);
	snprintf(s->path, sizeof(s->path), "%s", path);
	rc = open_conn(path, SQLITE_OPEN_READWRITE, &s->writer);
	if (rc) {
		describe(err, errlen, "Ouverture impossible", path, rc);
		goto out;
	}
	rc = user_version(s->writer, &v);
	if (!rc && v != MODEL_SCHEMA_VERSION) {
		if (v < MODEL_SCHEMA_VERSION)
			snprintf(err, errlen, "La base de « %s » est au schéma %d, ce relaisd attend le "
				 "schéma %d : lancez « relaisd init --donnees %s » pour la mettre à jour.",
				 dir, v, MODEL_SCHEMA_VERSION, dir);
		else
			snprintf(err, errlen, "La base de « %s » est au schéma %d, plus récent que celui "
				 "de ce relaisd (%d) : mettez relaisd à jour.", dir, v, MODEL_SCHEMA_VERSION);
		rc = RELAIS_ESCHEMA;
		goto out;
	}
	if (!rc)
		rc = auth_check(s->writer);
	if (!rc)
		rc = load_tables(s->writer, &s->tables);
	if (!rc)
		rc = sync_merger_new(s->writer, s->tables, &s->merger);
	if (!rc)
		rc = sync_puller_new(s->writer, s->tables, &s->wpuller);
	/* Stores made before epochs existed get one now. */
	if (!rc)
		rc = sync_server_epoch(s->writer, 0, s->epoch);
	if (rc && (relais_storage_error(rc) || rc == RELAIS_EBUSY)) {
		describe(err, errlen, "Lecture impossible", path, rc);
		goto out;
	} else if (rc) {
		snprintf(err, errlen, "La base de « %s » n'a pas le schéma attendu (%s) : "
			 "lancez « relaisd init --donnees %s ».", dir, relais_strerror(rc), dir);
		if (rc != RELAIS_ENOMEM)
			rc = RELAIS_ESCHEMA;
		goto out;
	}
	long long repaired = -1;
	rc = store_set_clock_skew(s, SYNC_MAX_SKEW_MS, &repaired);
	if (rc) {
		snprintf(err, errlen, "Impossible de remettre à l'heure l'horloge de la base de « %s » : "
			 "%s.", dir, relais_strerror(rc));
		goto out;
	}
	if (repaired >= 0)
		fprintf(stderr, "horloge de synchronisation en avance (poussée par un réplica) : remise "
			"à l'heure, %lld ligne%s corrigée%s\n", repaired, repaired > 1 ? "s" : "",
			repaired > 1 ? "s" : "");
	for (int i = 0; i < STORE_READERS; i++) {
		rc = open_conn(path, SQLITE_OPEN_READONLY, &s->readers[i].db);
		if (rc) {
			describe(err, errlen, "Ouverture en lecture impossible", path, rc);
			goto out;
		}
		rc = sync_puller_new(s->readers[i].db, s->tables, &s->readers[i].puller);
		if (rc) {
			describe(err, errlen, "Ouverture en lecture impossible", path, rc);
			goto out;
		}
	}
out:
	if (rc) {
		store_close(s);
		s = NULL;
	}
	*out = s;
	return rc;
}

void store_close(struct store *s)
{
	if (!s)
		return;
	for (int i = 0; i < STORE_READERS; i++) {
		sync_puller_free(s->readers[i].puller);
		sqlite3_finalize(s->readers[i].accounts);
		sqlite3_close(s->readers[i].db);
	}
	sync_merger_free(s->merger);
	sync_puller_free(s->wpuller);
	sync_tables_free(s->tables);
	sqlite3_close(s->writer);
	pthread_mutex_destroy(&s->wlock);
	pthread_mutex_destroy(&s->glock);
	pthread_mutex_destroy(&s->rlock);
	pthread_cond_destroy(&s->rfree);
	free(s);
}

void store_log_failure(const struct store *s, const char *what, int rc)
{
	char msg[4096 + 512];
	if (!relais_storage_error(rc))
		return;
	describe(msg, sizeof(msg), what, s->path, rc);
	fprintf(stderr, "relaisd : %s\n", msg);
}

const char *store_epoch(const struct store *s)
{
	return s->epoch;
}

const struct sync_tables *store_tables(const struct store *s)
{
	return s->tables;
}

sqlite3 *store_writer_acquire(struct store *s)
{
	pthread_mutex_lock(&s->wlock);
	return s->writer;
}

void store_writer_release(struct store *s)
{
	pthread_mutex_unlock(&s->wlock);
}

/*
 * Group commit without a thread of its own and without waiting: a push
 * joins the queue; the thread that finds no leader becomes one and merges
 * the queue group by group while it is not empty, so a lone push is merged
 * at once and a burst is merged in few groups. The leader gives up the lead
 * before it calls the groups' done() callbacks, so that another thread may
 * merge the next group meanwhile; it takes the lead again afterwards when
 * pushes are queued and nobody leads.
 */

/* Takes at most STORE_GROUP_MAX pushes from the head of the queue into
 * jobs (the merge's view) and out (the pushes); returns their number.
 * Under glock. */
static size_t group_take(struct store *s, struct sync_merge_job **jobs,
			 struct store_push_job **out)
{
	size_t n = 0;
	while (s->ghead && n < STORE_GROUP_MAX) {
		struct store_push_job *p = s->ghead;
		s->ghead = p->next;
		jobs[n] = &p->merge;
		out[n++] = p;
	}
	if (!s->ghead)
		s->gtail = &s->ghead;
	s->gqueued -= n;
	return n;
}

/* Merges the queue while this thread leads; returns once it leads no more. */
static void group_lead(struct store *s)
{
	struct sync_merge_job *jobs[STORE_GROUP_MAX];
	struct store_push_job *group[STORE_GROUP_MAX];
	for (;;) {
		store_writer_acquire(s);
		pthread_mutex_lock(&s->glock);
		size_t n = group_take(s, jobs, group);
		pthread_mutex_unlock(&s->glock);

		int rc = sync_merger_run(s->merger, jobs, n);
		(void)rc; /* each job carries its own outcome, the group's failure included */
		for (size_t i = 0; i < n; i++)
			if (group[i]->committed)
				group[i]->committed(group[i], s->wpuller);
		store_writer_release(s);

		pthread_mutex_lock(&s->glock);
		s->stats.groups++;
		s->stats.pushes += n;
		if (n > s->stats.largest)
			s->stats.largest = n;
		s->gleader = 0;
		pthread_mutex_unlock(&s->glock);

		for (size_t i = 0; i < n; i++)
			group[i]->done(group[i]);

		pthread_mutex_lock(&s->glock);
		int again = s->ghead && !s->gleader;
		if (again)
			s->gleader = 1;
		pthread_mutex_unlock(&s->glock);
		if (!again)
			return;
	}
}

void store_push_async(struct store *s, struct store_push_job *p)
{
	p->next = NULL;
	pthread_mutex_lock(&s->glock);
	*s->gtail = p;
	s->gtail = &p->next;
	s->gqueued++;
	int lead = !s->gleader;
	if (lead)
		s->gleader = 1;
	pthread_mutex_unlock(&s->glock);
	if (lead)
		group_lead(s);
}

/* store_push(): the caller waits for its push's done(). */
struct push_wait {
	struct store_push_job job;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int done;
};

static void push_wait_done(struct store_push_job *p)
{
	struct push_wait *w = (struct push_wait *)p;
	pthread_mutex_lock(&w->lock);
	w->done = 1;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

int store_push(struct store *s, const struct sync_author *who, const struct sync_push *push,
	       struct sync_merge_result *res, char *err, size_t errlen)
{
	struct push_wait w;
	memset(&w, 0, sizeof(w));
	w.job.merge.who = who;
	w.job.merge.push = push;
	w.job.merge.err = err;
	w.job.merge.errlen = errlen;
	w.job.done = push_wait_done;
	pthread_mutex_init(&w.lock, NULL);
	pthread_cond_init(&w.cond, NULL);
	store_push_async(s, &w.job);
	pthread_mutex_lock(&w.lock);
	while (!w.done)
		pthread_cond_wait(&w.cond, &w.lock);
	pthread_mutex_unlock(&w.lock);
	pthread_cond_destroy(&w.cond);
	pthread_mutex_destroy(&w.lock);
	*res = w.job.merge.res;
	return w.job.merge.rc;
}

void store_group_stats(struct store *s, struct store_group_stats *out, size_t *queued)
{
	pthread_mutex_lock(&s->glock);
	*out = s->stats;
	if (queued)
		*queued = s->gqueued;
	pthread_mutex_unlock(&s->glock);
}

struct store_reader *store_reader_acquire(struct store *s)
{
	struct store_reader *r = NULL;
	pthread_mutex_lock(&s->rlock);
	for (;;) {
		for (int i = 0; i < STORE_READERS; i++) {
			if (!s->lent[i]) {
				s->lent[i] = 1;
				r = &s->readers[i];
				break;
			}
		}
		if (r)
			break;
		pthread_cond_wait(&s->rfree, &s->rlock);
	}
	pthread_mutex_unlock(&s->rlock);
	return r;
}

void store_reader_release(struct store *s, struct store_reader *r)
{
	/* A statement left stepping would hold its read transaction open:
	 * the connection's next reader would see an old state. */
	for (sqlite3_stmt *st = NULL; (st = sqlite3_next_stmt(r->db, st));)
		sqlite3_reset(st);
	pthread_mutex_lock(&s->rlock);
	s->lent[r - s->readers] = 0;
	pthread_cond_signal(&s->rfree);
	pthread_mutex_unlock(&s->rlock);
}

const char *store_data_dir(const struct store *s)
{
	return s->dir;
}
