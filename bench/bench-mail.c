/*
 * bench-mail - measures the mail gateway's parsing and recording and prints
 * what it measured.
 *
 * On the .eml files of tests/mail (or $RELAIS_MAIL_CORPUS), repeated round
 * robin to a few thousand messages: mailgw_mime_parse() in process,
 * mailgw_sandbox_parse() (long-lived worker processes), sandbox parse plus
 * mailgw_pipeline_record() into a temporary server store, and GMime 3 as the
 * reference parser doing comparable work (headers, every part, text bodies
 * decoded to UTF-8, attachments decoded). Last, the target of the gateway's
 * parse: batches through mailgw_sandbox_parse_many(), as the gateway parses
 * a scan's messages, against GMime in process, interleaved, medians. No
 * figure is asserted.
 *
 * Files over BIG_FILE bytes (the 1 MB header) would be most of the bytes
 * parsed and turn a messages-per-second figure into a bytes-per-second one:
 * they are left out of the loops and timed alone, and the output says so.
 * The malformed files are small and stay in the loops.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <gmime/gmime.h>
#include "../common/util.h"
#include "../mailgw/mime.h"
#include "../mailgw/pipeline.h"
#include "../mailgw/sandbox.h"
#include "../model/model.h"
#include "../sync/sync.h"

#define DEFAULT_MESSAGES 3000
#define MAX_FILES 256
#define MAX_FILE_BYTES (32u * 1024 * 1024)
#define BIG_FILE (256u * 1024)
#define DEPT "43"
/* In-process figures take the best of a few rounds: the machine is shared. */
#define ROUNDS 3
/* Interleaved pairs of the target's comparison. */
#define PAIRS 5
#define ROUNDS_STR "3"

/* Under AddressSanitizer every realloc copies: GMime, which grows a header
 * piece by piece, then takes tens of seconds over the 1 MB header. */
#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#else
#define UNDER_ASAN 0
#endif

struct mail {
	char name[128];
	unsigned char *raw;
	size_t len;
	int big;               /* left out of the loops */
	/* For the big files: mailgw's times and results, printed with GMime's. */
	double mime_s, sandbox_s;
	int status, sandbox_status, quarantined;
};

struct corpus {
	struct mail m[MAX_FILES];
	size_t n;
	size_t nloop;          /* files in the loops */
	size_t loop_bytes;     /* bytes of one pass over them */
};

static void die(const char *what, int rc)
{
	fprintf(stderr, "bench-mail: %s: %s (%d)\n", what, relais_strerror(rc), rc);
	exit(1);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- the corpus ---- */

static void read_file(const char *path, struct mail *m)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		die(path, RELAIS_EIO);
	struct stat st;
	if (fstat(fileno(f), &st) || st.st_size < 0 || (size_t)st.st_size > MAX_FILE_BYTES)
		die(path, RELAIS_ETOOBIG);
	m->len = (size_t)st.st_size;
	m->raw = malloc(m->len + 1);
	if (!m->raw)
		die("malloc", RELAIS_ENOMEM);
	if (fread(m->raw, 1, m->len, f) != m->len)
		die(path, RELAIS_EIO);
	m->raw[m->len] = 0;
	fclose(f);
}

static int cmp_mail(const void *a, const void *b)
{
	return strcmp(((const struct mail *)a)->name, ((const struct mail *)b)->name);
}

static void load_corpus(const char *dir, struct corpus *c)
{
	DIR *d = opendir(dir);
	if (!d) {
		fprintf(stderr, "bench-mail: cannot open %s (run from the repository root or set RELAIS_MAIL_CORPUS)\n",
			dir);
		exit(1);
	}
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t nl = strlen(e->d_name);
		if (nl < 5 || strcmp(e->d_name + nl - 4, ".eml") || nl >= sizeof(c->m[0].name))
			continue;
		if (c->n == MAX_FILES)
			die("too many files in the corpus", RELAIS_ETOOBIG);
		struct mail *m = &c->m[c->n++];
		memcpy(m->name, e->d_name, nl + 1);
	}
	closedir(d);
	if (!c->n) {
		fprintf(stderr, "bench-mail: no .eml file in %s\n", dir);
		exit(1);
	}
	qsort(c->m, c->n, sizeof(c->m[0]), cmp_mail);
	for (size_t i = 0; i < c->n; i++) {
		char path[4096];
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, c->m[i].name) >= sizeof(path))
			die("path too long", RELAIS_ETOOBIG);
		read_file(path, &c->m[i]);
		c->m[i].big = c->m[i].len > BIG_FILE;
	}
	/* The loops take the kept files first, so that index i % nloop works. */
	struct mail tmp;
	size_t k = 0;
	for (size_t i = 0; i < c->n; i++) {
		if (c->m[i].big)
			continue;
		tmp = c->m[k];
		c->m[k] = c->m[i];
		c->m[i] = tmp;
		c->loop_bytes += c->m[k].len;
		k++;
	}
	c->nloop = k;
	if (!c->nloop) {
		fprintf(stderr, "bench-mail: every file of %s is over %u bytes\n", dir, BIG_FILE);
		exit(1);
	}
	qsort(c->m, c->nloop, sizeof(c->m[0]), cmp_mail);
}

static void free_corpus(struct corpus *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->m[i].raw);
}

static void print_rate(const char *what, size_t n, size_t bytes, double s)
{
	printf("%-52s %8.0f msg/s  %7.1f MB/s  (%zu messages, %.3f s)\n", what, (double)n / s,
	       (double)bytes / s / 1e6, n, s);
}

/* ---- libetpan, in process and sandboxed ---- */

static const char *const status_name[] = {
	[MAILGW_MIME_OK] = "ok",
	[MAILGW_MIME_TOO_BIG] = "too big",
	[MAILGW_MIME_HEADER_TOO_BIG] = "header too big",
	[MAILGW_MIME_TOO_DEEP] = "too deep",
	[MAILGW_MIME_TOO_MANY_PARTS] = "too many parts",
	[MAILGW_MIME_ATTACH_TOO_BIG] = "attachments too big",
	[MAILGW_MIME_MALFORMED] = "malformed",
};
#define NSTATUS (sizeof(status_name) / sizeof(status_name[0]))

static void count_status(size_t counts[NSTATUS], const struct mailgw_mime_msg *m)
{
	if (m->status >= 0 && (size_t)m->status < NSTATUS)
		counts[m->status]++;
}

static void print_statuses(const size_t counts[NSTATUS])
{
	printf("  parse status per message:");
	for (size_t i = 0; i < NSTATUS; i++)
		if (counts[i])
			printf(" %s %zu", status_name[i], counts[i]);
	printf("\n");
}

static double bench_mime(const struct corpus *c, size_t n)
{
	size_t counts[NSTATUS] = { 0 }, bytes = 0;
	double s = 0;
	for (int round = 0; round < ROUNDS; round++) {
		bytes = 0;
		memset(counts, 0, sizeof(counts));
		double t0 = now_s();
		for (size_t i = 0; i < n; i++) {
			const struct mail *f = &c->m[i % c->nloop];
			struct mailgw_mime_msg *m;
			int rc = mailgw_mime_parse(f->raw, f->len, NULL, &m);
			if (rc)
				die("mailgw_mime_parse", rc);
			count_status(counts, m);
			bytes += f->len;
			mailgw_mime_free(m);
		}
		double t = now_s() - t0;
		if (!round || t < s)
			s = t;
	}
	print_rate("mailgw_mime_parse, in process, best of " ROUNDS_STR ":", n, bytes, s);
	print_statuses(counts);
	return (double)n / s;
}

static double bench_sandbox(const struct corpus *c, size_t n)
{
	size_t counts[NSTATUS] = { 0 }, quarantined = 0, bytes = 0;
	double t0 = now_s();
	for (size_t i = 0; i < n; i++) {
		const struct mail *f = &c->m[i % c->nloop];
		struct mailgw_mime_msg *m;
		struct mailgw_sandbox_outcome so;
		int rc = mailgw_sandbox_parse(f->raw, f->len, NULL, &m, &so);
		if (rc)
			die("mailgw_sandbox_parse", rc);
		if (so.verdict == MAILGW_SANDBOX_QUARANTINE)
			quarantined++;
		else
			count_status(counts, m);
		bytes += f->len;
		mailgw_mime_free(m);
	}
	double s = now_s() - t0;
	print_rate("mailgw_sandbox_parse, worker processes:", n, bytes, s);
	print_statuses(counts);
	if (quarantined)
		printf("  quarantined by the sandbox: %zu\n", quarantined);
	return (double)n / s;
}

/* Messages handed to mailgw_sandbox_parse_many() at once, as the gateway
 * hands it the new messages of one scan. */
#define BATCH MAILGW_SANDBOX_BATCH

/* n messages through mailgw_sandbox_parse_many(), BATCH at a time; the
 * parse statuses are counted into counts. Returns the time taken. */
static double sandbox_many_once(const struct corpus *c, size_t n, size_t counts[NSTATUS],
				size_t *quarantined)
{
	struct mailgw_sandbox_job jobs[BATCH];
	double t0 = now_s();
	for (size_t done = 0; done < n;) {
		size_t k = n - done < BATCH ? n - done : BATCH;
		for (size_t i = 0; i < k; i++) {
			const struct mail *f = &c->m[(done + i) % c->nloop];
			memset(&jobs[i], 0, sizeof(jobs[i]));
			jobs[i].raw = f->raw;
			jobs[i].len = f->len;
		}
		mailgw_sandbox_parse_many(jobs, k, NULL, NULL, NULL);
		for (size_t i = 0; i < k; i++) {
			if (jobs[i].rc)
				die("mailgw_sandbox_parse_many", jobs[i].rc);
			if (jobs[i].outcome.verdict == MAILGW_SANDBOX_QUARANTINE)
				(*quarantined)++;
			else
				count_status(counts, jobs[i].msg);
			mailgw_mime_free(jobs[i].msg);
		}
		done += k;
	}
	return now_s() - t0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* The floor of a child per message, the design the sandbox's long-lived
 * workers replaced: a pipe, a fork whose child writes a byte and exits, a
 * blocking read and waitpid, with this process's memory mapped. */
static double bench_fork_floor(size_t n)
{
	double t0 = now_s();
	for (size_t i = 0; i < n; i++) {
		int fds[2];
		char b;
		if (pipe(fds))
			die("pipe", RELAIS_EIO);
		pid_t pid = fork();
		if (pid < 0)
			die("fork", RELAIS_EIO);
		if (pid == 0) {
			ssize_t w = write(fds[1], "x", 1);
			_exit(w == 1 ? 0 : 1);
		}
		close(fds[1]);
		if (read(fds[0], &b, 1) != 1)
			die("read", RELAIS_EIO);
		close(fds[0]);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	double s = now_s() - t0;
	printf("%-52s %8.0f children/s (%.1f us each, %zu children)\n",
	       "bare fork + pipe + blocking waitpid (floor):", (double)n / s, 1e6 * s / (double)n, n);
	return (double)n / s;
}

/* ---- sandbox parse and pipeline into a store ---- */

static sqlite3 *new_store(const char *path)
{
	sqlite3 *db;
	if (sqlite3_open(path, &db) != SQLITE_OK)
		die(path, RELAIS_EDB);
	/* The daemon's store settings (daemon/store.c), so the commit cost is real. */
	if (sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", NULL, NULL, NULL) != SQLITE_OK)
		die("pragma", RELAIS_EDB);
	sqlite3_busy_timeout(db, 5000);
	int rc = model_migrate(db);
	if (!rc)
		rc = sync_server_schema(db);
	if (rc)
		die("store schema", rc);
	return db;
}

static const char *const outcome_name[] = {
	[MAILGW_RECORDED] = "recorded",
	[MAILGW_REJECTED] = "rejected",
	[MAILGW_QUARANTINE] = "quarantined",
	[MAILGW_IGNORED] = "ignored",
	[MAILGW_DUPLICATE] = "duplicate",
};
#define NOUTCOME (sizeof(outcome_name) / sizeof(outcome_name[0]))

static long long count_rows(sqlite3 *db, const char *table)
{
	char sql[128];
	sqlite3_stmt *st;
	long long n = -1;
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM \"%s\"", table);
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

static void bench_pipeline(const struct corpus *c, size_t n, const char *dir)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/relais.db", dir);
	sqlite3 *db = new_store(path);
	struct sync_tables *t;
	int rc = sync_tables_load(db, model_table_names, model_ntables, &t);
	if (rc)
		die("sync_tables_load", rc);

	size_t outcomes[NOUTCOME] = { 0 }, sandboxed = 0, bytes = 0;
	double record_s[NOUTCOME] = { 0 }, file_s[MAX_FILES] = { 0 };
	int file_outcome[MAX_FILES] = { 0 };
	int64_t now_ms = util_now_ms();
	double t0 = now_s();
	for (size_t i = 0; i < n; i++) {
		const struct mail *f = &c->m[i % c->nloop];
		struct mailgw_mime_msg *m;
		struct mailgw_sandbox_outcome so;
		rc = mailgw_sandbox_parse(f->raw, f->len, NULL, &m, &so);
		if (rc)
			die("mailgw_sandbox_parse", rc);
		bytes += f->len;
		if (so.verdict == MAILGW_SANDBOX_QUARANTINE) {
			sandboxed++;
			continue;
		}
		struct mailgw_result r;
		double r0 = now_s();
		rc = mailgw_pipeline_record(db, t, DEPT, m, now_ms, &r, NULL, NULL);
		if (rc)
			die(f->name, rc);
		if ((size_t)r.outcome < NOUTCOME) {
			double dt = now_s() - r0;
			outcomes[r.outcome]++;
			record_s[r.outcome] += dt;
			file_s[i % c->nloop] += dt;
			file_outcome[i % c->nloop] = r.outcome;
		}
		mailgw_result_free(&r);
		mailgw_mime_free(m);
	}
	double s = now_s() - t0;
	print_rate("sandbox parse + pipeline into a store:", n, bytes, s);
	printf("  outcomes (mean time in mailgw_pipeline_record):");
	for (size_t i = 0; i < NOUTCOME; i++)
		if (outcome_name[i] && outcomes[i])
			printf(" %s %zu (%.0f us)", outcome_name[i], outcomes[i],
			       1e6 * record_s[i] / (double)outcomes[i]);
		else if (outcome_name[i])
			printf(" %s 0", outcome_name[i]);
	if (sandboxed)
		printf(", quarantined by the sandbox %zu", sandboxed);
	printf("\n  slowest file per outcome (mean time in mailgw_pipeline_record):");
	for (size_t o = 0; o < NOUTCOME; o++) {
		size_t worst = MAX_FILES;
		if (!outcome_name[o])
			continue;
		for (size_t i = 0; i < c->nloop; i++)
			if ((size_t)file_outcome[i] == o && (worst == MAX_FILES || file_s[i] > file_s[worst]))
				worst = i;
		if (worst < MAX_FILES) {
			size_t runs = n / c->nloop + (worst < n % c->nloop);
			printf(" %s: %s (%.0f us)", outcome_name[o], c->m[worst].name,
			       1e6 * file_s[worst] / (double)runs);
		}
	}
	printf("\n  rows in the store: structure %lld, promeneur %lld, candidature %lld, bilan %lld\n",
	       count_rows(db, "structure"), count_rows(db, "promeneur"), count_rows(db, "candidature"),
	       count_rows(db, "bilan"));
	sync_tables_free(t);
	sqlite3_close(db);
}

/* ---- GMime, the reference ---- */

struct gm_count {
	size_t parts, text_bytes, attach_bytes, failed;
};

static void gm_walk(GMimeObject *o, struct gm_count *k);

static void gm_message(GMimeMessage *msg, struct gm_count *k)
{
	/* The same headers mailgw_mime_parse() reads, decoded. */
	InternetAddressList *from = g_mime_message_get_from(msg);
	if (from) {
		char *s = internet_address_list_to_string(from, NULL, FALSE);
		g_free(s);
	}
	const char *subject = g_mime_message_get_subject(msg);
	const char *id = g_mime_message_get_message_id(msg);
	GDateTime *date = g_mime_message_get_date(msg);
	k->text_bytes += (subject ? strlen(subject) : 0) + (id ? strlen(id) : 0) + (date != NULL);
	GMimeObject *top = g_mime_message_get_mime_part(msg);
	if (top)
		gm_walk(top, k);
}

static void gm_walk(GMimeObject *o, struct gm_count *k)
{
	k->parts++;
	if (GMIME_IS_MESSAGE_PART(o)) {
		GMimeMessage *inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(o));
		if (inner)
			gm_message(inner, k);
	} else if (GMIME_IS_MULTIPART(o)) {
		GMimeMultipart *mp = GMIME_MULTIPART(o);
		int n = g_mime_multipart_get_count(mp);
		for (int i = 0; i < n; i++)
			gm_walk(g_mime_multipart_get_part(mp, i), k);
	} else if (GMIME_IS_TEXT_PART(o)) {
		/* Transfer encoding undone and charset converted to UTF-8. */
		char *text = g_mime_text_part_get_text(GMIME_TEXT_PART(o));
		if (text) {
			k->text_bytes += strlen(text);
			g_free(text);
		}
	} else if (GMIME_IS_PART(o)) {
		GMimeDataWrapper *content = g_mime_part_get_content(GMIME_PART(o));
		if (content) {
			GMimeStream *out = g_mime_stream_mem_new();
			ssize_t w = g_mime_data_wrapper_write_to_stream(content, out);
			if (w > 0)
				k->attach_bytes += (size_t)w;
			g_object_unref(out);
		}
	}
}

static void gm_parse(const struct mail *f, struct gm_count *k)
{
	/* GMime reads from a stream; this one copies the message once. */
	GMimeStream *stream = g_mime_stream_mem_new_with_buffer((const char *)f->raw, f->len);
	GMimeParser *parser = g_mime_parser_new_with_stream(stream);
	GMimeMessage *msg = g_mime_parser_construct_message(parser, NULL);
	if (msg) {
		gm_message(msg, k);
		g_object_unref(msg);
	} else {
		k->failed++;
	}
	g_object_unref(parser);
	g_object_unref(stream);
}

static double bench_gmime(const struct corpus *c, size_t n)
{
	struct gm_count k = { 0 };
	size_t bytes = 0;
	double s = 0;
	for (int round = 0; round < ROUNDS; round++) {
		memset(&k, 0, sizeof(k));
		bytes = 0;
		double t0 = now_s();
		for (size_t i = 0; i < n; i++) {
			const struct mail *f = &c->m[i % c->nloop];
			gm_parse(f, &k);
			bytes += f->len;
		}
		double t = now_s() - t0;
		if (!round || t < s)
			s = t;
	}
	print_rate("GMime 3 (reference), in process, best of " ROUNDS_STR ":", n, bytes, s);
	printf("  %zu parts walked, %zu bytes of UTF-8 text, %zu bytes of attachments decoded, %zu not parsed\n",
	       k.parts, k.text_bytes, k.attach_bytes, k.failed);
	return (double)n / s;
}

/* ---- the files left out of the loops ---- */

/* Times each big file once with mailgw_mime_parse() and the sandbox. */
static void bench_big_relais(struct corpus *c)
{
	for (size_t i = c->nloop; i < c->n; i++) {
		struct mail *f = &c->m[i];
		struct mailgw_mime_msg *m;
		struct mailgw_sandbox_outcome so;

		double t0 = now_s();
		int rc = mailgw_mime_parse(f->raw, f->len, NULL, &m);
		f->mime_s = now_s() - t0;
		if (rc)
			die("mailgw_mime_parse", rc);
		f->status = m->status;
		mailgw_mime_free(m);

		t0 = now_s();
		rc = mailgw_sandbox_parse(f->raw, f->len, NULL, &m, &so);
		f->sandbox_s = now_s() - t0;
		if (rc)
			die("mailgw_sandbox_parse", rc);
		f->quarantined = so.verdict == MAILGW_SANDBOX_QUARANTINE;
		f->sandbox_status = m ? m->status : -1;
		mailgw_mime_free(m);
	}
}

/* Sandbox parse and pipeline of the files of c whose names start with
 * prefix, n messages in all, into store db; returns messages per second. */
static int is_hostile(const char *name)
{
	return strstr(name, "bomb") || strstr(name, "laughs") || strstr(name, "big");
}

static double office_rate(const struct corpus *c, const char *prefix, int hostile, size_t n,
			  sqlite3 *db, const struct sync_tables *t, size_t *nfiles,
			  size_t counts[NOUTCOME])
{
	size_t idx[MAX_FILES], k = 0;
	memset(counts, 0, NOUTCOME * sizeof(counts[0]));
	for (size_t i = 0; i < c->n; i++)
		if (!strncmp(c->m[i].name, prefix, strlen(prefix)) &&
		    is_hostile(c->m[i].name) == hostile)
			idx[k++] = i;
	*nfiles = k;
	if (!k)
		return 0;
	int64_t now_ms = util_now_ms();
	double t0 = now_s();
	for (size_t i = 0; i < n; i++) {
		const struct mail *f = &c->m[idx[i % k]];
		struct mailgw_mime_msg *m;
		struct mailgw_sandbox_outcome so;
		struct mailgw_result r;
		int rc = mailgw_sandbox_parse(f->raw, f->len, NULL, &m, &so);
		if (rc)
			die("mailgw_sandbox_parse", rc);
		if (so.verdict != MAILGW_SANDBOX_PARSED)
			continue;
		rc = mailgw_pipeline_record(db, t, DEPT, m, now_ms, &r, NULL, NULL);
		if (rc)
			die(f->name, rc);
		if ((size_t)r.outcome < NOUTCOME)
			counts[r.outcome]++;
		mailgw_result_free(&r);
		mailgw_mime_free(m);
	}
	return (double)n / (now_s() - t0);
}

static void print_outcomes(const size_t counts[NOUTCOME])
{
	printf("  outcomes:");
	for (size_t i = 1; i < NOUTCOME; i++)
		printf(" %s %zu", outcome_name[i], counts[i]);
	printf("\n");
}

/*
 * The pipeline with office attachments (XLSX, ODS, DOCX, ODT, an HTML
 * table, an old XLS and the hostile files of tests/mail/make-office.py,
 * made now with LibreOffice) next to the plain-text forms of the corpus
 * (its mutt-*.eml files).
 */
static void bench_office(const struct corpus *plain, size_t n, const char *tmp)
{
	static struct corpus oc;
	char dir[512], cmd[1200], path[600];
	snprintf(dir, sizeof(dir), "%s/office", tmp);
	snprintf(cmd, sizeof(cmd), "python3 tests/mail/make-office.py '%s' >/dev/null 2>&1", dir);
	if (system(cmd) != 0) {
		printf("office attachments: corpus not made (python3 and soffice: sh tools/deps.sh test)\n");
		return;
	}
	load_corpus(dir, &oc);
	snprintf(path, sizeof(path), "%s/office.db", tmp);
	sqlite3 *db = new_store(path);
	struct sync_tables *t;
	int rc = sync_tables_load(db, model_table_names, model_ntables, &t);
	if (rc)
		die("sync_tables_load", rc);
	if (sqlite3_exec(db, "INSERT INTO structure(id, dept, nom, commune, email) VALUES "
			     "('00000000-0000-4000-8000-00000000000a', '" DEPT "', "
			     "'Centre social du Lac', 'Le Puy-en-Velay', 'contact@lac.example'), "
			     "('00000000-0000-4000-8000-00000000000b', '" DEPT "', "
			     "'MJC du Plateau', 'Yssingeaux', NULL)", NULL, NULL, NULL) != SQLITE_OK)
		die("structures", RELAIS_EDB);
	size_t nf, counts[NOUTCOME];
	double office = office_rate(&oc, "office-", 0, n, db, t, &nf, counts);
	print_rate("office attachments: sandbox + pipeline", n, 0, (double)n / office);
	printf("  %zu files: bilans in XLSX, ODS, CSV, HTML; candidatures in DOCX, ODT; an XLS\n",
	       nf);
	print_outcomes(counts);
	double hostile = office_rate(&oc, "office-", 1, n, db, t, &nf, counts);
	print_rate("hostile office files: sandbox + pipeline", n, 0, (double)n / hostile);
	printf("  %zu files: a zip bomb XLSX, a billion-laughs DOCX, a 50 MB ODS\n", nf);
	print_outcomes(counts);
	double forms = office_rate(plain, "mutt-", 0, n, db, t, &nf, counts);
	print_rate("plain-text forms (tests/mail/mutt-*.eml): sandbox + pipeline", n, 0,
		   (double)n / forms);
	print_outcomes(counts);
	if (office > 0 && forms > 0)
		printf("  office attachments cost %.1fx the time of plain forms\n", forms / office);
	sync_tables_free(t);
	sqlite3_close(db);
	free_corpus(&oc);
}

static const char *status_str(int status)
{
	return status >= 0 && (size_t)status < NSTATUS ? status_name[status] : "?";
}

/* Times each big file once with GMime and prints the three times. */
static void bench_big_gmime(const struct corpus *c)
{
	for (size_t i = c->nloop; i < c->n; i++) {
		const struct mail *f = &c->m[i];
		printf("%s (%zu bytes, timed alone): mailgw_mime_parse %.2f ms (%s), sandbox %.2f ms (%s), ",
		       f->name, f->len, f->mime_s * 1000, status_str(f->status), f->sandbox_s * 1000,
		       f->quarantined ? "quarantined" : status_str(f->sandbox_status));
		if (UNDER_ASAN) {
			printf("GMime not run under AddressSanitizer\n");
			continue;
		}
		struct gm_count k = { 0 };
		double t0 = now_s();
		gm_parse(f, &k);
		printf("GMime %.2f ms%s\n", (now_s() - t0) * 1000, k.failed ? " (not parsed)" : "");
	}
}

/*
 * The target of the gateway's parse: the sandboxed parse of the corpus, as
 * the gateway runs it (a scan's messages side by side, one worker per
 * processor), against GMime's parse of the same messages in process, in one
 * thread. Interleaved (sandbox, GMime, sandbox, GMime...), medians of each.
 */
static void bench_target(const struct corpus *c, size_t n)
{
	double sb[PAIRS], gm[PAIRS];
	size_t counts[NSTATUS] = { 0 }, quarantined = 0;
	for (int r = 0; r < PAIRS; r++) {
		sb[r] = sandbox_many_once(c, n, counts, &quarantined);
		struct gm_count k = { 0 };
		double t0 = now_s();
		for (size_t i = 0; i < n; i++)
			gm_parse(&c->m[i % c->nloop], &k);
		gm[r] = now_s() - t0;
	}
	qsort(sb, PAIRS, sizeof(sb[0]), cmp_double);
	qsort(gm, PAIRS, sizeof(gm[0]), cmp_double);
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	printf("target: sandboxed parse at least as fast as GMime in process (interleaved, "
	       "%d pairs, medians)\n", PAIRS);
	printf("  sandboxed, batches of %d, %ld worker%s side by side: %8.0f msg/s\n", BATCH,
	       cpus < MAILGW_SANDBOX_WORKERS ? cpus : (long)MAILGW_SANDBOX_WORKERS,
	       cpus > 1 ? "s" : "", (double)n / sb[PAIRS / 2]);
	printf("  GMime 3, in process, one thread:            %8.0f msg/s\n",
	       (double)n / gm[PAIRS / 2]);
	printf("  sandboxed / GMime: %.2f (target: 1 or more)\n", gm[PAIRS / 2] / sb[PAIRS / 2]);
	if (quarantined)
		printf("  quarantined by the sandbox: %zu\n", quarantined);
}

int main(int argc, char **argv)
{
	long long n = DEFAULT_MESSAGES;
	/* The sandbox re-executes this program as its MIME worker. */
	mailgw_sandbox_main(argc, argv);
	if (argc > 1 && util_parse_ll(argv[1], 1, 10000000, &n)) {
		fprintf(stderr, "usage: bench-mail [MESSAGES]  (default %d)\n", DEFAULT_MESSAGES);
		return 2;
	}
	const char *dir = getenv("RELAIS_MAIL_CORPUS");
	if (!dir || !*dir)
		dir = "tests/mail";
	static struct corpus c;
	load_corpus(dir, &c);

	char tmp[] = "/tmp/relais-bench-mail-XXXXXX";
	if (!mkdtemp(tmp))
		die("mkdtemp", RELAIS_EIO);

	printf("== relais mail gateway benchmark: corpus %s, %zu files (%zu in the loops, %zu bytes a pass), "
	       "%lld messages per figure\n",
	       dir, c.n, c.nloop, c.loop_bytes, n);
	if (UNDER_ASAN)
		printf("sanitizer build: the figures below measure the sanitizers, not the code\n");
	for (size_t i = c.nloop; i < c.n; i++)
		printf("left out of the loops (over %u bytes, would dominate the figures): %s\n", BIG_FILE,
		       c.m[i].name);
	printf("the malformed files are small and stay in the loops (see the parse statuses)\n");

	double mime_rate = bench_mime(&c, (size_t)n);
	double sandbox_rate = bench_sandbox(&c, (size_t)n);
	printf("  sandbox cost: %.1f us per message (%.1fx slower than in process)\n",
	       1e6 / sandbox_rate - 1e6 / mime_rate, mime_rate / sandbox_rate);
	bench_fork_floor((size_t)n < 1000 ? (size_t)n : 1000);
	bench_pipeline(&c, (size_t)n, tmp);
	bench_office(&c, (size_t)n < 300 ? (size_t)n : 300, tmp);
	bench_big_relais(&c);

	/* GMime, the reference, last. */
	g_mime_init();
	double gm_rate = bench_gmime(&c, (size_t)n);
	printf("relais / GMime, in-process parse: %.2f (above 1: relais faster)\n", mime_rate / gm_rate);
	bench_big_gmime(&c);
	if (!UNDER_ASAN)
		bench_target(&c, (size_t)n);
	g_mime_shutdown();

	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	if (system(cmd) != 0)
		fprintf(stderr, "bench-mail: could not remove %s\n", tmp);
	free_corpus(&c);
	return 0;
}
