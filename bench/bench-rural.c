/*
 * bench-rural - relais against the CouchDB protocol over an emulated rural
 * link, doing the same work.
 *
 * netem does not exist in this kernel: the fault proxy of tests/soak/
 * emulates the link in user space (a one-way delay per chunk, a rate in
 * each direction, every connection cut at a fixed period). Two proxies with
 * the same link stand in front of relaisd and of a CouchDB-protocol server
 * (express-pouchdb over an in-memory PouchDB, bench/couch/), holding the
 * same rows: a coordinator's replica made with "relais import annuaire"
 * and synced, then exported (relais export --json) and put into CouchDB as
 * one document per row.
 *
 * Through the link, for each side: the bootstrap of a new replica, run
 * again after each cut until it is complete ("relais init" resumes its
 * file; PouchDB resumes from its checkpoints), then EDITS one-column edits,
 * each synced again until it went through. Prints the times and the bytes
 * that crossed the link; nothing is asserted. Needs node and the packages
 * of bench/couch ("make bench" installs them with npm ci; "sh tools/deps.sh
 * bench" installs node and npm): without them, the CouchDB side is skipped
 * and says so.
 *
 * Usage: bench-rural [--rows N] [--edits N] [--rate BYTES_PER_S]
 *                    [--delay MS] [--cut MS]
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>
#include "../common/util.h"
#include "../tests/soak/faultproxy.h"

#define DEPT "65"
#define MAX_RUNS 500          /* attempts of one command across cuts */
#define OUT_MAX (64u << 20)   /* the most of a command's output kept */

static const char *bindir, *couchdir;
static char tmp[] = "/tmp/relais-bench-rural-XXXXXX";
static pid_t daemon_pid = -1, couch_pid = -1;

static void cleanup(void)
{
	if (daemon_pid > 0) {
		kill(daemon_pid, SIGTERM);
		waitpid(daemon_pid, NULL, 0);
		daemon_pid = -1;
	}
	if (couch_pid > 0) {
		kill(couch_pid, SIGTERM);
		waitpid(couch_pid, NULL, 0);
		couch_pid = -1;
	}
	if (tmp[strlen(tmp) - 1] != 'X') {
		char cmd[600];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
		if (system(cmd) != 0)
			fprintf(stderr, "bench-rural: could not remove %s\n", tmp);
	}
}

static void fail(const char *what)
{
	fprintf(stderr, "bench-rural: %s\n", what);
	cleanup();
	exit(1);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * Runs argv in dir (NULL: here), its stdout into a malloc'd string at *out
 * when out is not NULL, and returns its exit status (128 and more: killed,
 * or could not start). The stderr of relais (French messages at each cut)
 * goes to /dev/null; node's (only its failures) stays ours.
 */
static int spawn(const char *dir, const char *const argv[], char **out)
{
	int fd[2];
	if (pipe(fd))
		fail("pipe");
	pid_t pid = fork();
	if (pid < 0)
		fail("fork");
	if (pid == 0) {
		int devnull = open("/dev/null", O_WRONLY);
		if (strcmp(argv[0], "node"))
			dup2(devnull, 2);
		dup2(fd[1], 1);
		close(fd[0]);
		close(fd[1]);
		if (dir && chdir(dir))
			_exit(127);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(fd[1]);
	size_t len = 0, cap = 4096;
	char *b = malloc(cap);
	ssize_t n;
	if (!b)
		fail("out of memory");
	while ((n = read(fd[0], b + len, cap - len - 1)) > 0) {
		len += (size_t)n;
		if (cap - len < 2 && cap < OUT_MAX) {
			char *nb = realloc(b, cap * 2);
			if (!nb)
				fail("out of memory");
			b = nb;
			cap *= 2;
		} else if (cap - len < 2) {
			len = 0; /* too much to keep: the caller does not get it */
		}
	}
	close(fd[0]);
	b[len] = 0;
	int status;
	waitpid(pid, &status, 0);
	if (out)
		*out = b;
	else
		free(b);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/* Runs argv again until it succeeds; returns the number of runs, or -1. */
static int until_done(const char *const argv[])
{
	for (int runs = 1; runs <= MAX_RUNS; runs++) {
		if (spawn(NULL, argv, NULL) == 0)
			return runs;
		usleep(200000);
	}
	return -1;
}

/* Starts argv in the background with stderr into log; waits for portfile. */
static int start_server(const char *dir, const char *const argv[], const char *log,
			const char *portfile, pid_t *pid)
{
	*pid = fork();
	if (*pid < 0)
		fail("fork");
	if (*pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		dup2(fd, 1);
		dup2(fd, 2);
		if (dir && chdir(dir))
			_exit(127);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	for (int i = 0; i < 300; i++) {
		FILE *f = fopen(portfile, "r");
		int port = 0;
		if (f) {
			if (fscanf(f, "%d", &port) != 1)
				port = 0;
			fclose(f);
		}
		if (port > 0)
			return port;
		usleep(100000);
	}
	return -1;
}

/* The rows of a replica's JSON export as one CouchDB document each. */
static int export_to_docs(const char *json, const char *path, size_t *nrows, json_t **ids)
{
	json_error_t jerr;
	json_t *all = json_loads(json, 0, &jerr), *docs = json_array();
	const char *table;
	json_t *rows;
	int rc = -1;
	*nrows = 0;
	*ids = json_array();
	if (!json_is_object(all) || !docs || !*ids)
		goto out;
	json_object_foreach(all, table, rows) {
		size_t i;
		json_t *row;
		if (!json_is_array(rows))
			continue;
		json_array_foreach(rows, i, row) {
			json_t *doc = json_deep_copy(row);
			json_t *id = json_object_get(row, "id");
			if (!doc || !json_is_string(id))
				goto out;
			json_object_del(doc, "id");
			json_object_set(doc, "_id", id);
			json_object_set_new(doc, "table", json_string(table));
			json_array_append_new(docs, doc);
			if (!strcmp(table, "promeneur"))
				json_array_append(*ids, id);
			(*nrows)++;
		}
	}
	rc = json_dump_file(docs, path, JSON_COMPACT);
out:
	json_decref(all);
	json_decref(docs);
	return rc;
}

static void write_annuaire(const char *path, size_t lines)
{
	FILE *f = fopen(path, "w");
	if (!f)
		fail(path);
	fprintf(f, "Nom;Prénom;Structure;Commune;Courriel;Téléphone;Réseaux;Noms de profil\n");
	for (size_t i = 0; i < lines; i++)
		fprintf(f, "Martin%zu;Léa;Centre social n°%zu;Tarbes;lea%zu@exemple.fr;06%08zu;"
			"Instagram;lea_%zu\n", i, i / 10, i, i, i);
	if (fclose(f))
		fail(path);
}

struct side {
	double boot_s, edits_s;
	int boot_runs, edit_runs;
	long up, down;
	size_t rows;
};

static void print_side(const char *name, const struct side *s, long edits)
{
	printf("  %-44s bootstrap %7.1f s (%d run%s), %ld edits %7.1f s (%d sync%s); "
	       "%ld bytes down, %ld up\n", name, s->boot_s, s->boot_runs,
	       s->boot_runs > 1 ? "s" : "", edits, s->edits_s, s->edit_runs,
	       s->edit_runs > 1 ? "s" : "", s->down, s->up);
}

int main(int argc, char **argv)
{
	long long rows = 10000, edits = 50, rate = 8000, delay = 300, cut = 20000;
	for (int i = 1; i < argc; i++) {
		long long *v = !strcmp(argv[i], "--rows") ? &rows : !strcmp(argv[i], "--edits") ? &edits :
			       !strcmp(argv[i], "--rate") ? &rate : !strcmp(argv[i], "--delay") ? &delay :
			       !strcmp(argv[i], "--cut") ? &cut : NULL;
		if (!v || i + 1 == argc || util_parse_ll(argv[++i], 0, 100000000, v)) {
			fprintf(stderr, "usage: bench-rural [--rows N] [--edits N] [--rate BYTES_PER_S] "
				"[--delay MS] [--cut MS]\n");
			return 2;
		}
	}
	bindir = getenv("RELAIS_BINDIR");
	if (!bindir)
		bindir = "build";
	couchdir = getenv("RELAIS_COUCHDIR");
	if (!couchdir)
		couchdir = "bench/couch";
	signal(SIGPIPE, SIG_IGN);
	if (!mkdtemp(tmp))
		fail("mkdtemp");

	char relaisd[512], relais[512], data[600], portfile[700], log[700], url[64];
	char ta[256] = "", tb[256] = "", home_a[600], home_b[600], csv[600], docs[600];
	snprintf(relaisd, sizeof(relaisd), "%s/relaisd", bindir);
	snprintf(relais, sizeof(relais), "%s/relais", bindir);
	snprintf(data, sizeof(data), "%s/data", tmp);
	snprintf(portfile, sizeof(portfile), "%s/port", data);
	snprintf(log, sizeof(log), "%s/relaisd.log", tmp);
	snprintf(home_a, sizeof(home_a), "%s/A", tmp);
	snprintf(home_b, sizeof(home_b), "%s/B", tmp);
	snprintf(csv, sizeof(csv), "%s/annuaire.csv", tmp);
	snprintf(docs, sizeof(docs), "%s/docs.json", tmp);

	/* The server and a coordinator's replica that fills it, on loopback. */
	const char *init[] = { relaisd, "init", "--data", data, NULL };
	if (spawn(NULL, init, NULL))
		fail("relaisd init");
	/* A coordinator fills the store; another one's new replica is measured. */
	for (int k = 0; k < 2; k++) {
		char *tok, *dst = k ? tb : ta;
		const char *add[] = { relaisd, "user", "add", "--data", data, "--login", k ? "b" : "a",
				      "--dept", DEPT, "--role", "coordinateur", NULL };
		if (spawn(NULL, add, &tok))
			fail("relaisd user add");
		snprintf(dst, sizeof(ta), "%.*s", (int)strcspn(tok, "\n"), tok);
		free(tok);
	}
	const char *serve[] = { relaisd, "serve", "--data", data, "--listen", "127.0.0.1:0",
				"--port-file", portfile, NULL };
	int port = start_server(NULL, serve, log, portfile, &daemon_pid);
	if (port < 0)
		fail("relaisd serve did not start");
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", port);
	const char *ainit[] = { relais, "--home", home_a, "init", "--server", url, "--token", ta, NULL };
	if (spawn(NULL, ainit, NULL))
		fail("relais init");
	/* Each line of the directory makes a promeneur and a presence, each
	 * tenth a structure. */
	write_annuaire(csv, (size_t)(rows / 2.1) + 1);
	const char *imp[] = { relais, "--home", home_a, "import", "annuaire", csv, NULL };
	const char *async[] = { relais, "--home", home_a, "sync", NULL };
	const char *aexp[] = { relais, "--home", home_a, "export", "--json", NULL };
	char *exported;
	if (spawn(NULL, imp, NULL) || spawn(NULL, async, NULL) || spawn(NULL, aexp, &exported))
		fail("relais import, sync or export");
	size_t nrows;
	json_t *ids;
	if (export_to_docs(exported, docs, &nrows, &ids))
		fail("export to documents");
	free(exported);

	printf("== relais and the CouchDB protocol over an emulated rural link\n");
	printf("link: %lld bytes/s each way (%lld kbit/s), %lld ms one way (RTT %lld ms), every "
	       "connection cut each %lld ms; no random loss (the proxy emulates none: the cuts "
	       "stand for it)\n", rate, rate * 8 / 1000, delay, 2 * delay, cut);
	printf("work: the bootstrap of a replica of %zu rows, then %lld one-column edits, each "
	       "synced (every command run again after a cut until it succeeds)\n", nrows, edits);

	struct side rel = { 0 }, couch = { 0 };
	struct fp_proxy px;
	char purl[64];
	if (fp_start(&px, 15))
		fail("proxy");
	fp_set_target(&px, port);
	fp_set_link(&px, (int)delay, rate, (int)cut);
	snprintf(purl, sizeof(purl), "http://127.0.0.1:%d", px.port);
	double t0 = now_s();
	const char *binit[] = { relais, "--home", home_b, "init", "--server", purl, "--token", tb, NULL };
	rel.boot_runs = until_done(binit);
	rel.boot_s = now_s() - t0;
	if (rel.boot_runs < 0)
		fail("relais init never completed");
	t0 = now_s();
	for (long long i = 0; i < edits && i < (long long)json_array_size(ids); i++) {
		char tel[24];
		snprintf(tel, sizeof(tel), "05%08lld", i);
		const char *set[] = { relais, "--home", home_b, "promeneur", "set",
				      json_string_value(json_array_get(ids, (size_t)i)), "--telephone", tel,
				      NULL };
		if (spawn(NULL, set, NULL))
			fail("relais promeneur set");
		const char *bsync[] = { relais, "--home", home_b, "sync", NULL };
		int runs = until_done(bsync);
		if (runs < 0)
			fail("relais sync never completed");
		rel.edit_runs += runs;
	}
	rel.edits_s = now_s() - t0;
	rel.up = fp_bytes(&px, 0);
	rel.down = fp_bytes(&px, 1);
	fp_stop(&px);
	print_side("relais (one file, one request per sync):", &rel, edits);

	/* The same rows and work through the CouchDB protocol. */
	char couchport[700], couchlog[700], stamp[700];
	snprintf(couchport, sizeof(couchport), "%s/couch.port", tmp);
	snprintf(couchlog, sizeof(couchlog), "%s/couch.log", tmp);
	snprintf(stamp, sizeof(stamp), "%s/node_modules/.package-lock.json", couchdir);
	const char *nodev[] = { "node", "--version", NULL };
	if (spawn(NULL, nodev, NULL) || access(stamp, R_OK)) {
		printf("  CouchDB protocol: skipped, node or the packages of %s are missing "
		       "(sh tools/deps.sh bench, then make bench)\n", couchdir);
		cleanup();
		return 0;
	}
	const char *cserve[] = { "node", "server.js", couchport, NULL };
	int cport = start_server(couchdir, cserve, couchlog, couchport, &couch_pid);
	if (cport < 0)
		fail("the CouchDB-protocol server did not start");
	char curl_[64], cpurl[64], *out = NULL;
	snprintf(curl_, sizeof(curl_), "http://127.0.0.1:%d", cport);
	const char *seed[] = { "node", "client.js", "seed", curl_, docs, NULL };
	if (spawn(couchdir, seed, NULL))
		fail("seeding the CouchDB-protocol server");
	if (fp_start(&px, 15))
		fail("proxy");
	fp_set_target(&px, cport);
	fp_set_link(&px, (int)delay, rate, (int)cut);
	snprintf(cpurl, sizeof(cpurl), "http://127.0.0.1:%d", px.port);
	char nedits[24], stall[24];
	snprintf(nedits, sizeof(nedits), "%lld", edits);
	/* An attempt that moved nothing for two periods between cuts is
	 * stuck (PouchDB puts no time limit on its requests). */
	snprintf(stall, sizeof(stall), "%lld", 2 * cut / 1000 + 1);
	const char *crun[] = { "node", "client.js", "run", cpurl, nedits, stall, NULL };
	if (spawn(couchdir, crun, &out))
		fail("the PouchDB replica failed");
	json_error_t jerr;
	json_t *r = json_loads(out, 0, &jerr);
	if (!json_is_object(r)) {
		fprintf(stderr, "bench-rural: the PouchDB replica said: %.500s\n", out);
		fail("unreadable measurements");
	}
	free(out);
	couch.boot_s = json_number_value(json_object_get(r, "bootstrap_s"));
	couch.boot_runs = (int)json_integer_value(json_object_get(r, "bootstrap_runs"));
	couch.edits_s = json_number_value(json_object_get(r, "edits_s"));
	couch.edit_runs = (int)json_integer_value(json_object_get(r, "edit_runs"));
	json_decref(r);
	couch.up = fp_bytes(&px, 0);
	couch.down = fp_bytes(&px, 1);
	fp_stop(&px);
	print_side("CouchDB protocol (PouchDB, express-pouchdb):", &couch, edits);
	if (couch.boot_s > 0 && couch.edits_s > 0)
		printf("  relais / CouchDB: bootstrap %.2fx the time, %.2fx the bytes down; edits "
		       "%.2fx the time\n", rel.boot_s / couch.boot_s,
		       (double)rel.down / (double)(couch.down ? couch.down : 1), rel.edits_s / couch.edits_s);
	json_decref(ids);
	cleanup();
	return 0;
}
