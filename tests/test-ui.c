/*
 * test-ui.c - end-to-end tests of `relais ui` in Debian's headless Chromium.
 *
 * Each test sets up a real relaisd and replicas with the harness, starts
 * `relais ui --sans-navigateur --port 0` on one of them and runs one Playwright
 * scenario of tests/ui/ (node SCENARIO.mjs), which clicks and types like a
 * coordinator and saves screenshots in the test directory. The C side then
 * checks the exit status, that every screenshot is a non-empty PNG, that the
 * UI stopped cleanly on SIGTERM without a sanitizer report, and what the
 * scenario wrote, read back from the replicas with the CLI.
 *
 * Tools: node (Debian's nodejs), /usr/bin/chromium, and tests/ui's
 * node_modules (installed by `make test` through tests/ui/ui-e2e.mk). A
 * missing one fails the test with the command that installs it. The
 * scenarios are found in $RELAIS_UI_E2E (set by `make test`), else in
 * ./tests/ui. With RELAIS_UI_SCREENSHOT=1, the home page's screenshot is
 * copied to docs/ui-accueil.png (the README's picture). RELAIS_UI_TRACE=1
 * prints each scenario's steps with their times also when it passes.
 */
#include <assert.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "../common/util.h"
#include "harness.h"
#include "test.h"

/* The longest a scenario may take (it stops itself after 60 s). */
#define UI_NODE_TIMEOUT_MS 90000
/* How long `relais ui` may take to print its address. */

struct ui_proc {
	pid_t pid;
	int port;
	char url[256];  /* http://127.0.0.1:PORT/?cle=SECRET */
	char secret[128];
	char err[H_PATH]; /* its stderr */
};

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The directory of the scenarios: $RELAIS_UI_E2E or ./tests/ui. */
static const char *e2e_dir(void)
{
	const char *d = getenv("RELAIS_UI_E2E");
	return d && *d ? d : "tests/ui";
}

/* The first executable name in $PATH, harness-owned; NULL when absent. */
static const char *which(const char *name)
{
	const char *path = getenv("PATH");
	if (!path || !*path)
		path = "/usr/local/bin:/usr/bin:/bin";
	while (*path) {
		size_t n = strcspn(path, ":");
		if (n > 0) {
			char *cand = h_strf("%.*s/%s", (int)n, path, name);
			if (access(cand, X_OK) == 0)
				return cand;
		}
		path += n;
		if (*path == ':')
			path++;
	}
	return NULL;
}

/* Every tool a scenario needs, or a message naming what installs it. */
static int tools_ready(const char **node)
{
	int ok = 1;
	*node = which("node");
	if (!*node) {
		fprintf(stderr, "  node is not installed: apt-get install nodejs (sh tools/deps.sh test)\n");
		ok = 0;
	}
	const char *chromium = getenv("RELAIS_CHROMIUM");
	if (!chromium || !*chromium)
		chromium = "/usr/bin/chromium";
	if (access(chromium, X_OK)) {
		fprintf(stderr, "  %s is missing: apt-get install chromium (sh tools/deps.sh test)\n", chromium);
		ok = 0;
	}
	const char *dir = e2e_dir();
	if (access(h_strf("%s/accueil.mjs", dir), R_OK)) {
		fprintf(stderr, "  no scenarios in %s: run from the repository or set RELAIS_UI_E2E\n", dir);
		ok = 0;
	} else if (access(h_strf("%s/node_modules/playwright-core/package.json", dir), R_OK) ||
		   access(h_strf("%s/node_modules/axe-core/axe.min.js", dir), R_OK)) {
		fprintf(stderr, "  %s/node_modules is incomplete: run `make test` or `cd %s && npm ci`\n",
			dir, dir);
		ok = 0;
	}
	return ok ? 0 : -1;
}

/* Starts `relais ui` on home (h_ui_start). */
static int ui_start(const char *home, struct ui_proc *u)
{
	struct h_ui hu;
	memset(u, 0, sizeof(*u));
	int rc = h_ui_start(home, &hu);
	u->pid = hu.pid;
	u->port = hu.port;
	memcpy(u->url, hu.url, sizeof(u->url));
	memcpy(u->secret, hu.secret, sizeof(u->secret));
	memcpy(u->err, hu.err, sizeof(u->err));
	return rc;
}

/* 1 when the UI's stderr holds a sanitizer report. */
static int sanitizer_report(const struct ui_proc *u)
{
	const char *err = h_read_file(u->err, NULL);
	if (err && (strstr(err, "ERROR: AddressSanitizer") || strstr(err, "ERROR: LeakSanitizer") ||
		    strstr(err, "runtime error:"))) {
		fprintf(stderr, "  relais ui:\n%s\n", err);
		return 1;
	}
	return 0;
}

/* SIGTERM, as a person closing it: returns its exit status (-1 on timeout). */
static int ui_stop(struct ui_proc *u)
{
	kill(u->pid, SIGTERM);
	int st = h_wait(u->pid, 15000);
	if (st != 0) {
		const char *err = h_read_file(u->err, NULL);
		fprintf(stderr, "  relais ui ended with status %d: %s\n", st, err ? err : "");
	}
	return st;
}

/*
 * Runs `node SCENARIO` with the variables env ("NAME=value", NULL-terminated)
 * added to the common ones. Returns the scenario's JSON result (harness-owned)
 * or NULL after printing its output.
 */
static json_t *scenario(const char *node, const char *script, const struct ui_proc *u,
			const char *const *env)
{
	setenv("RELAIS_UI_URL", u->url, 1);
	setenv("RELAIS_UI_OUT", h_path("captures"), 1);
	setenv("RELAIS_BIN", h_bin("relais"), 1);
	for (size_t i = 0; env && env[i]; i++) {
		const char *eq = strchr(env[i], '=');
		assert(eq);
		setenv(h_strf("%.*s", (int)(eq - env[i]), env[i]), eq + 1, 1);
	}
	char *argv[] = { (char *)node, h_strf("%s/%s", e2e_dir(), script), NULL };
	int64_t t0 = now_ms();
	struct h_out *o = h_runv(argv, UI_NODE_TIMEOUT_MS);
	fprintf(stderr, "  %s: %.1f s\n", script, (double)(now_ms() - t0) / 1000.0);
	if (o->status != 0) {
		fprintf(stderr, "  %s failed (status %d)\n%s\n%s\n", o->cmd, o->status, o->out, o->err);
		return NULL;
	}
	/* The scenario's steps with their times, on request. */
	const char *trace = getenv("RELAIS_UI_TRACE");
	if (trace && *trace)
		fprintf(stderr, "%s", o->err);
	const char *last = o->out;
	for (const char *p = o->out; *p; p++)
		if (*p == '\n' && p[1])
			last = p + 1;
	json_t *res = h_json(last, strlen(last));
	if (!json_is_object(res)) {
		fprintf(stderr, "  %s printed no result object: %s\n", script, o->out);
		return NULL;
	}
	return res;
}

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* 0 when path is a PNG with a header chunk of a non-empty picture and some
 * pixel data; -1 with a message otherwise. */
static int check_png(const char *path)
{
	size_t len = 0;
	const unsigned char *p = (const unsigned char *)h_read_file(path, &len);
	if (!p) {
		fprintf(stderr, "  screenshot %s is missing\n", path);
		return -1;
	}
	if (len < 1000 || memcmp(p, "\x89PNG\r\n\x1a\n", 8) || memcmp(p + 12, "IHDR", 4) ||
	    be32(p + 16) < 100 || be32(p + 20) < 100 || !memmem(p, len, "IDAT", 4)) {
		fprintf(stderr, "  %s is not a non-empty PNG (%zu bytes)\n", path, len);
		return -1;
	}
	return 0;
}

/* Checks every screenshot named in the scenario's "shots" array (each must
 * be a good PNG in the test's captures/) and that there are at least min. */
static int check_shots(json_t *res, size_t min)
{
	json_t *shots = json_object_get(res, "shots");
	const char *dir = h_path("captures/");
	size_t i, good = 0;
	json_t *v;
	json_array_foreach(shots, i, v) {
		const char *path = json_string_value(v);
		if (path && !strncmp(path, dir, strlen(dir)) && check_png(path) == 0)
			good++;
	}
	if (good < min || good != json_array_size(shots)) {
		fprintf(stderr, "  %zu good screenshots of %zu, expected all and at least %zu\n", good,
			json_array_size(shots), min);
		return -1;
	}
	return 0;
}

/* A copy of the file from to to (the README's picture). */
static int copy_file(const char *from, const char *to)
{
	size_t len = 0;
	const char *data = h_read_file(from, &len);
	FILE *f = data ? fopen(to, "wb") : NULL;
	int rc = f && fwrite(data, 1, len, f) == len ? 0 : -1;
	if (f && fclose(f))
		rc = -1;
	if (rc)
		fprintf(stderr, "  cannot copy %s to %s\n", from, to);
	return rc;
}

/* ---- the worlds ---- */

struct world {
	struct h_daemon d;
	char token[2][H_TOKEN];
	const char *home[2];
};

/* A daemon and n replicas of département 65, logins coord-a and coord-b. */
static int world_start(struct world *w, int n)
{
	static const char *const logins[] = { "coord-a", "coord-b" };
	memset(w, 0, sizeof(*w));
	if (h_daemon_init(&w->d, "serveur"))
		return -1;
	for (int i = 0; i < n; i++)
		if (h_daemon_user(&w->d, logins[i], "65", "coordinateur", w->token[i]))
			return -1;
	if (h_daemon_serve(&w->d))
		return -1;
	for (int i = 0; i < n; i++) {
		w->home[i] = h_replica(&w->d, h_strf("replica-%c", 'a' + i), w->token[i]);
		if (!w->home[i])
			return -1;
	}
	return 0;
}

/* Today plus days, as YYYY-MM-DD (harness-owned). */
static const char *date_in(int days)
{
	time_t t = time(NULL) + (time_t)days * 86400;
	struct tm tm;
	char s[16];
	localtime_r(&t, &tm);
	strftime(s, sizeof(s), "%Y-%m-%d", &tm);
	return h_strf("%s", s);
}

/* A small network on home: two structures, two promeneurs, a candidature
 * waiting for its decision, an event and a bilan, all still unsynced. */
static int seed(const char *home)
{
	const char *s1 = h_relais_ok(home, "structure", "add", "--nom", "Centre social du Lavedan",
				     "--commune", "Argelès-Gazost", "--type", "centre_social",
				     "--convention-statut", "signee", "--convention-fin", date_in(30),
				     (char *)NULL);
	const char *s2 = h_relais_ok(home, "structure", "add", "--nom", "MJC de Tarbes", "--commune",
				     "Tarbes", "--type", "mjc", (char *)NULL);
	if (!s1 || !s2)
		return -1;
	const char *p1 = h_relais_ok(home, "promeneur", "add", "--prenom", "Camille", "--nom", "Martin",
				     "--email", "camille.martin@example.org", "--structure", s1,
				     "--statut", "labellise", "--public", "jeunesse", (char *)NULL);
	const char *p2 = h_relais_ok(home, "promeneur", "add", "--prenom", "Karim", "--nom", "Benali",
				     "--email", "karim.benali@example.org", "--structure", s2,
				     "--public", "parentalite", (char *)NULL);
	if (!p1 || !p2)
		return -1;
	if (!h_relais_ok(home, "candidature", "add", "--structure", s2, "--promeneur", p2,
			 "--date-depot", date_in(-10), (char *)NULL) ||
	    !h_relais_ok(home, "evenement", "add", "--type", "regroupement", "--titre",
			 "Regroupement d'automne", "--date", date_in(12), "--lieu", "Tarbes", (char *)NULL) ||
	    !h_relais_ok(home, "bilan", "add", "--structure", s2, "--promeneur", p2, "--annee", "2025",
			 "--jeunes-connectes", "42", "--interventions-information", "30",
			 "--interventions-ecoute", "12", "--heures-en-ligne", "120", (char *)NULL))
		return -1;
	return 0;
}

static long long status_int(const char *home, const char *key)
{
	json_t *s = h_status(home);
	json_t *v = s ? json_object_get(s, key) : NULL;
	return json_is_integer(v) ? json_integer_value(v) : -1;
}

/* The Set-Cookie value ("name=value") of an answer's head, harness-owned. */
static const char *set_cookie(const char *head)
{
	const char *p = head ? strcasestr(head, "\r\nSet-Cookie:") : NULL;
	if (!p)
		return NULL;
	p += strlen("\r\nSet-Cookie:");
	p += strspn(p, " ");
	return h_strf("%.*s", (int)strcspn(p, ";\r"), p);
}

/*
 * The refusals, in raw HTTP: no cookie, a wrong secret, a foreign Host
 * (with the right secret), a POST without the CSRF field. The scenario
 * checks the same from a browser; this one owns the exact requests.
 */
TEST(ui_e2e_refusals)
{
	struct world w;
	struct ui_proc u;
	struct h_http r;
	h_setup();
	CHECK(world_start(&w, 1) == 0);
	CHECK(ui_start(w.home[0], &u) == 0);

	CHECK(h_http(u.port, "GET", "/", NULL, NULL, NULL, 0, &r) == 0);
	CHECK_INT(r.status, 403);
	CHECK(h_http(u.port, "GET", "/?cle=00000000000000000000000000000000", NULL, NULL, NULL, 0, &r) == 0);
	CHECK_INT(r.status, 403);
	CHECK(set_cookie(r.head) == NULL);

	const char *path = h_strf("/?cle=%s", u.secret);
	static const char *const hosts[] = { "relais.example.org", "127.0.0.1.nip.io", "localhost.evil",
					     "127.0.0.2" };
	for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
		const char *req = h_strf("GET %s HTTP/1.1\r\nHost: %s:%d\r\nConnection: close\r\n\r\n",
					 path, hosts[i], u.port);
		CHECK_IDX(h_http_raw(u.port, req, strlen(req), &r, 10000) == 0, i);
		CHECK_IDX(r.status == 403 || r.status == 421, i);
		CHECK_IDX(set_cookie(r.head) == NULL, i);
	}

	/* The right secret sets the cookie, which then opens the pages. */
	CHECK(h_http(u.port, "GET", path, NULL, NULL, NULL, 0, &r) == 0);
	CHECK(r.status == 302 || r.status == 303);
	const char *cookie = set_cookie(r.head);
	CHECK(cookie != NULL);
	const char *hdr = h_strf("Cookie: %s\r\n", cookie);
	CHECK(h_http(u.port, "GET", "/", NULL, hdr, NULL, 0, &r) == 0);
	CHECK_INT(r.status, 200);
	CHECK(strstr(r.body, "Synchroniser") != NULL);

	/* A cross-site form post carries the cookie (when the browser sends
	 * it) but not the token: refused, nothing written. */
	const char *form = "nom=Intrus&commune=Ailleurs";
	const char *post = h_strf("POST /structures/nouvelle HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n%s"
				  "Content-Type: application/x-www-form-urlencoded\r\n"
				  "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
				  u.port, hdr, strlen(form), form);
	CHECK(h_http_raw(u.port, post, strlen(post), &r, 10000) == 0);
	CHECK_INT(r.status, 403);
	CHECK(sanitizer_report(&u) == 0);
	CHECK_INT(ui_stop(&u), 0);
	json_t *e = h_export(w.home[0]);
	CHECK(e != NULL);
	CHECK_INT(h_export_count(e, "structure"), 0);
}

/* Home, every screen, keyboard navigation, axe-core, the README's picture. */
TEST(ui_e2e_accueil)
{
	struct world w;
	struct ui_proc u;
	const char *node;
	h_setup();
	CHECK(tools_ready(&node) == 0);
	CHECK(world_start(&w, 1) == 0);
	const char *A = w.home[0];
	CHECK(seed(A) == 0);
	long long pending = status_int(A, "pending");
	CHECK(pending > 0);
	CHECK(ui_start(A, &u) == 0);
	const char *expect = h_strf("RELAIS_UI_EXPECT={\"pending\": %lld, \"texts\": "
				    "[\"Karim Benali\", \"Camille Martin\", \"Centre social du Lavedan\"]}",
				    pending);
	const char *const env[] = { expect, NULL };
	json_t *res = scenario(node, "accueil.mjs", &u, env);
	CHECK(res != NULL);
	CHECK(check_shots(res, 9) == 0);
	CHECK(sanitizer_report(&u) == 0);
	CHECK_INT(ui_stop(&u), 0);
	/* Looking wrote nothing. */
	CHECK_INT(status_int(A, "pending"), pending);

	const char *shot = h_path("captures/accueil.png");
	const char *flag = getenv("RELAIS_UI_SCREENSHOT");
	if (flag && !strcmp(flag, "1"))
		CHECK(copy_file(shot, h_strf("%s/../../docs/ui-accueil.png", e2e_dir())) == 0);
}

/* Forms: create a structure and a promeneur, validation next to a field,
 * an edit, the instant search; then the rows are in the replica as captured
 * edits that reach another replica through the server. */
TEST(ui_e2e_fiches)
{
	struct world w;
	struct ui_proc u;
	const char *node;
	h_setup();
	CHECK(tools_ready(&node) == 0);
	CHECK(world_start(&w, 2) == 0);
	const char *A = w.home[0], *B = w.home[1];
	CHECK(seed(A) == 0);
	CHECK(ui_start(A, &u) == 0);
	const char *const env[] = { "RELAIS_UI_OTHER=Camille", NULL };
	json_t *res = scenario(node, "fiches.mjs", &u, env);
	CHECK(res != NULL);
	CHECK(check_shots(res, 4) == 0);
	CHECK(sanitizer_report(&u) == 0);
	CHECK_INT(ui_stop(&u), 0);

	const char *sid = json_string_value(json_object_get(res, "structure"));
	const char *pid = json_string_value(json_object_get(res, "promeneur"));
	CHECK(sid && util_is_uuid(sid));
	CHECK(pid && util_is_uuid(pid));
	CHECK(h_sync(A, &w.d) == 0);
	CHECK_INT(status_int(A, "pending"), 0);
	CHECK(h_sync(B, &w.d) == 0);
	for (int i = 0; i < 2; i++) {
		json_t *e = h_export(w.home[i]);
		CHECK_IDX(e != NULL, i);
		json_t *s = h_export_row(e, "structure", sid);
		CHECK_IDX(s != NULL, i);
		CHECK_STR_IDX(h_row_str(s, "nom"), "Maison des jeunes de Lannemezan", i);
		CHECK_STR_IDX(h_row_str(s, "email"), "mdj@lannemezan.example.org", i);
		CHECK_STR_IDX(h_row_str(s, "code_postal"), "65300", i);
		CHECK_STR_IDX(h_row_str(s, "type"), "mjc", i);
		json_t *p = h_export_row(e, "promeneur", pid);
		CHECK_IDX(p != NULL, i);
		CHECK_STR_IDX(h_row_str(p, "prenom"), "Inès", i);
		CHECK_STR_IDX(h_row_str(p, "structure"), sid, i);
		CHECK_STR_IDX(h_row_str(p, "telephone"), "0612345678", i);
		json_t *hh = json_object_get(p, "heures_hebdo");
		CHECK_IDX(json_is_integer(hh) ? json_integer_value(hh) == 3
					      : json_is_string(hh) && !strcmp(json_string_value(hh), "3"), i);
		CHECK_INT_IDX(h_export_count(e, "structure"), 3, i);
		CHECK_INT_IDX(h_export_count(e, "promeneur"), 3, i);
	}
}

/* The sync button, a conflict made by a CLI replica, its resolution in the
 * conflicts page, the message when the server is down. */
TEST(ui_e2e_sync_conflit)
{
	struct world w;
	struct ui_proc u;
	const char *node;
	h_setup();
	CHECK(tools_ready(&node) == 0);
	CHECK(world_start(&w, 2) == 0);
	const char *A = w.home[0], *B = w.home[1];
	const char *name = "Point information jeunesse du Plateau";
	const char *sid = h_relais_ok(B, "structure", "add", "--nom", name, "--commune", "Lannemezan",
				      "--type", "pij", (char *)NULL);
	CHECK(sid != NULL);
	CHECK(h_sync(B, &w.d) == 0);
	CHECK(ui_start(A, &u) == 0);
	const char *const env[] = {
		h_strf("RELAIS_HOME_B=%s", B), h_strf("RELAIS_UI_STRUCT=%s", sid),
		h_strf("RELAIS_UI_NAME=%s", name), h_strf("RELAIS_DAEMON_PID=%ld", (long)w.d.pid), NULL
	};
	json_t *res = scenario(node, "sync-conflit.mjs", &u, env);
	CHECK(res != NULL);
	CHECK(check_shots(res, 3) == 0);
	CHECK(sanitizer_report(&u) == 0);
	CHECK_INT(ui_stop(&u), 0);

	/* The scenario killed the daemon; it comes back on the same store. */
	h_daemon_kill(&w.d);
	CHECK(h_daemon_serve(&w.d) == 0);
	CHECK(h_sync(A, &w.d) == 0);
	CHECK(h_sync(B, &w.d) == 0);
	for (int i = 0; i < 2; i++) {
		json_t *e = h_export(w.home[i]);
		CHECK_IDX(e != NULL, i);
		CHECK_STR_IDX(h_row_str(h_export_row(e, "structure", sid), "commune"), "Capvern-les-Bains", i);
	}
	json_t *open = h_conflicts(A, 0);
	CHECK(open != NULL);
	CHECK_INT(json_array_size(open), 0);
	json_t *all = h_conflicts(A, 1);
	CHECK(all != NULL);
	CHECK_INT(json_array_size(all), 1);
	json_t *c = json_array_get(all, 0);
	CHECK_STR(json_string_value(json_object_get(c, "column")), "commune");
	CHECK(!json_is_null(json_object_get(c, "resolution")));
}

/* A délabellisation walked from the person's page, a candidature adjourned,
 * a request referred, the partners' screens; the screenshots of docs/ui.md.
 * With RELAIS_UI_SCREENSHOT=1 they are copied to docs/ui-NAME.png. */
TEST(ui_e2e_procedures)
{
	static const char *const names[] = {
		"promeneur-procedure", "promeneur-retrait", "candidature", "demandes", "partenaires",
		"partenaire", "accueil-demandes",
	};
	struct world w;
	struct ui_proc u;
	const char *node;
	h_setup();
	CHECK(tools_ready(&node) == 0);
	CHECK(world_start(&w, 1) == 0);
	const char *A = w.home[0];
	CHECK(seed(A) == 0);
	const char *s = h_relais_ok(A, "structure", "add", "--nom", "Centre social de Bagnères",
				    "--commune", "Bagnères-de-Bigorre", "--type", "centre_social",
				    (char *)NULL);
	CHECK(s != NULL);
	const char *p = h_relais_ok(A, "promeneur", "add", "--prenom", "Inès", "--nom", "Lasserre",
				    "--email", "ines.lasserre@example.org", "--structure", s,
				    "--statut", "labellise", "--public", "jeunesse", (char *)NULL);
	const char *q = h_relais_ok(A, "promeneur", "add", "--prenom", "Lou", "--nom", "Arrieu",
				    "--email", "lou.arrieu@example.org", "--structure", s, (char *)NULL);
	CHECK(p && q);
	CHECK(h_relais_ok(A, "presence", "add", "--promeneur", p, "--reseau", "instagram",
			  "--nom-profil", "ines.pdn65", (char *)NULL) != NULL);
	CHECK(h_relais_ok(A, "presence", "add", "--promeneur", p, "--reseau", "discord",
			  "--nom-profil", "ines_pdn", (char *)NULL) != NULL);
	const char *cand = h_relais_ok(A, "candidature", "add", "--structure", s, "--promeneur", q,
				       "--date-depot", date_in(-20), "--motivation",
				       "Animatrice jeunesse, présente sur Instagram.", (char *)NULL);
	const char *res = h_relais_ok(A, "ressource", "add", "--nom", "Maître Durand", "--organisme",
				      "Barreau de Tarbes", "--domaine", "droit des mineurs",
				      (char *)NULL);
	const char *part = h_relais_ok(A, "partenaire", "add", "--nom", "SDJES des Hautes-Pyrénées",
				       "--type", "sdjes", "--commune", "Tarbes", "--partenariat",
				       "Formation initiale coanimée.", (char *)NULL);
	CHECK(cand && res && part);
	const char *contact = h_relais_ok(A, "contact", "add", "--prenom", "Claire", "--nom", "Baylac",
					  "--partenaire", part, "--fonction", "Conseillère jeunesse",
					  (char *)NULL);
	CHECK(contact != NULL);
	CHECK(h_relais_ok(A, "demande", "add", "--promeneur", p, "--sujet", "juridique", "--question",
			  "Droit à l'image d'un mineur sur un compte de structure ?",
			  "--date-demande", date_in(-3), (char *)NULL) != NULL);
	CHECK(h_relais_ok(A, "demande", "add", "--contact", contact, "--sujet", "technique",
			  "--question", "Quel outil de visioconférence pour le comité ?",
			  "--date-demande", date_in(-1), (char *)NULL) != NULL);
	CHECK(h_relais_ok(A, "tache", "add", "--libelle", "Préparer le bilan individuel de Camille",
			  "--echeance", date_in(7), (char *)NULL) != NULL);
	CHECK(ui_start(A, &u) == 0);
	const char *const env[] = {
		h_strf("RELAIS_UI_PROMENEUR=%s", p), h_strf("RELAIS_UI_CANDIDATURE=%s", cand),
		h_strf("RELAIS_UI_PARTENAIRE=%s", part), NULL,
	};
	json_t *out = scenario(node, "procedures.mjs", &u, env);
	CHECK(out != NULL);
	CHECK(check_shots(out, sizeof(names) / sizeof(names[0])) == 0);
	CHECK(sanitizer_report(&u) == 0);
	CHECK_INT(ui_stop(&u), 0);

	json_t *e = h_export(A);
	CHECK(e != NULL);
	json_t *proc = h_export_where(e, "procedure", "promeneur", p, NULL);
	CHECK_STR(h_row_str(proc, "etape"), "terminee");
	CHECK_STR(h_row_str(proc, "date_information_caf"), "2026-02-03");
	CHECK_STR(h_row_str(h_export_row(e, "promeneur", p), "statut"), "delabellise");
	CHECK_STR(h_row_str(h_export_where(e, "decision", "candidature", cand, NULL), "decision"),
		  "ajournee");
	CHECK_STR(h_row_str(h_export_where(e, "request", "promeneur", p, NULL), "ressource"), res);

	const char *flag = getenv("RELAIS_UI_SCREENSHOT");
	for (size_t i = 0; flag && !strcmp(flag, "1") && i < sizeof(names) / sizeof(names[0]); i++)
		CHECK_IDX(copy_file(h_path(h_strf("captures/%s.png", names[i])),
				    h_strf("%s/../../docs/ui-%s.png", e2e_dir(), names[i])) == 0, (int)i);
}

/* The year's screens: a publication confirmed, a comité de pilotage with
 * its papers and an invited partner, a training need planned, a person's
 * data; the screenshots of docs/ui.md (RELAIS_UI_SCREENSHOT=1 copies them). */
TEST(ui_e2e_annee)
{
	static const char *const names[] = { "annuaire-national", "comite", "formation", "donnees" };
	struct world w;
	struct ui_proc u;
	const char *node;
	h_setup();
	CHECK(tools_ready(&node) == 0);
	CHECK(world_start(&w, 1) == 0);
	const char *A = w.home[0];
	const char *s = h_relais_ok(A, "structure", "ajouter", "--nom", "Centre social de Bagnères",
				    "--commune", "Bagnères-de-Bigorre", "--type", "centre_social",
				    (char *)NULL);
	CHECK(s != NULL);
	const char *p = h_relais_ok(A, "promeneur", "ajouter", "--prenom", "Inès", "--nom", "Lasserre",
				    "--email", "ines.lasserre@example.org", "--structure", s,
				    "--statut", "labellise", "--public", "jeunesse", (char *)NULL);
	CHECK(p != NULL);
	CHECK(h_relais_ok(A, "presence", "ajouter", "--promeneur", p, "--reseau", "instagram",
			  "--nom-profil", "ines.pdn65", (char *)NULL) != NULL);
	CHECK(h_relais_ok(A, "promeneur", "modifier", p, "--telephone", "0562000003", (char *)NULL));
	json_t *e = h_export(A);
	const char *cid = h_row_str(h_export_where(e, "directory_change", "promeneur", p, NULL),
				    "id");
	CHECK(cid != NULL);
	CHECK(h_relais_ok(A, "changement", "modifier", cid, "--transmis", "oui",
			  "--date-transmission", "2026-06-01", (char *)NULL));
	const char *part = h_relais_ok(A, "partenaire", "ajouter", "--nom", "Département des "
				       "Hautes-Pyrénées", "--type", "departement", (char *)NULL);
	CHECK(part != NULL);
	CHECK(h_relais_ok(A, "contact", "ajouter", "--prenom", "Claire", "--nom", "Baylac",
			  "--partenaire", part, "--fonction", "Cheffe du service jeunesse",
			  (char *)NULL) != NULL);
	const char *ev = h_relais_ok(A, "evenement", "ajouter", "--type", "comite_pilotage", "--titre",
				     "Comité de pilotage de mi-année", "--date", "2026-06-25",
				     "--lieu", "Tarbes", "--ordre-du-jour",
				     "1. Synthèse du 1er semestre\n2. Plan de formation\n3. Questions "
				     "diverses", "--compte-rendu", "Le plan de formation est adopté.",
				     "--diffusion", "Membres du comité, structures du réseau",
				     "--date-diffusion", "2026-07-02", (char *)NULL);
	CHECK(ev != NULL);
	CHECK(h_replica_exec(A, h_strf("INSERT INTO document (id, dept, nom, taille, rattache_table, "
				       "rattache_id) VALUES ('d0c00000-0000-4000-8000-000000000002', "
				       "'65', 'ordre-du-jour-copil.pdf', 48213, 'event', '%s')",
				       ev)) == 0);
	CHECK(h_relais_ok(A, "evenement", "ajouter", "--type", "formation_thematique", "--titre",
			  "Droit à l'image : ce que dit la loi", "--date", "2026-10-06",
			  (char *)NULL) != NULL);
	CHECK(h_relais_ok(A, "besoin", "ajouter", "--theme", "Écoute des jeunes en détresse",
			  "--promeneur", p, "--date", "2026-02-10", "--origine",
			  "Échange de pratiques de février", (char *)NULL) != NULL);
	CHECK(ui_start(A, &u) == 0);
	const char *const env[] = {
		h_strf("RELAIS_UI_PROMENEUR=%s", p), h_strf("RELAIS_UI_COMITE=%s", ev),
		"RELAIS_UI_CONTACT_NOM=Claire Baylac",
		"RELAIS_UI_FORMATION=Droit à l'image : ce que dit la loi", NULL,
	};
	json_t *out = scenario(node, "annee.mjs", &u, env);
	CHECK(out != NULL);
	CHECK(check_shots(out, sizeof(names) / sizeof(names[0])) == 0);
	CHECK(sanitizer_report(&u) == 0);
	CHECK_INT(ui_stop(&u), 0);

	e = h_export(A);
	CHECK(e != NULL);
	CHECK_STR(h_row_str(h_export_row(e, "directory_change", cid), "date_publication"),
		  "2026-06-02");
	json_t *g = h_export_where(e, "guest", "event", ev, NULL);
	CHECK(g != NULL);
	CHECK_INT(json_integer_value(json_object_get(g, "presence_effective")), 1);
	json_t *n = h_export_where(e, "need", "theme", "Droit à l'image des mineurs", NULL);
	CHECK(n != NULL);
	CHECK_STR(h_row_str(n, "statut"), "planifie");

	const char *flag = getenv("RELAIS_UI_SCREENSHOT");
	for (size_t i = 0; flag && !strcmp(flag, "1") && i < sizeof(names) / sizeof(names[0]); i++)
		CHECK_IDX(copy_file(h_path(h_strf("captures/%s.png", names[i])),
				    h_strf("%s/../../docs/ui-%s.png", e2e_dir(), names[i])) == 0, (int)i);
}
