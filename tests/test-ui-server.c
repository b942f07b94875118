/*
 * test-ui-server.c - relais ui's server through real HTTP on 127.0.0.1
 * against a `relais ui --sans-navigateur --port 0` process on a replica of a
 * real relaisd: the secret and its cookie, the Host check, CSRF refusals,
 * routing, and a clean stop.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include "../common/buf.h"
#include "harness.h"
#include "test.h"

struct ui_proc {
	pid_t pid;
	int port;
	char secret[64];
	char cookie[128];   /* "Cookie: relais_cle=...\r\n" */
	const char *home;
};

static struct h_daemon d;

/* Starts relaisd, a replica and `relais ui` on it; waits for its line. */
static int ui_start(struct ui_proc *u)
{
	char token[H_TOKEN];
	memset(u, 0, sizeof(*u));
	if (h_daemon_start(&d, "srv") || h_daemon_user(&d, "coord", "43", "coordinateur", token))
		return -1;
	if (!(u->home = h_replica(&d, "r1", token)))
		return -1;
	struct h_ui hu;
	int rc = h_ui_start(u->home, &hu);
	u->pid = hu.pid;
	if (rc || strlen(hu.secret) >= sizeof(u->secret))
		return -1;
	u->port = hu.port;
	memcpy(u->secret, hu.secret, strlen(hu.secret) + 1);
	snprintf(u->cookie, sizeof(u->cookie), "Cookie: relais_cle_%d=%s\r\n", u->port, u->secret);
	return 0;
}

/* One request: host NULL means the right one; extra lines end in \r\n. */
static int ui_req(const struct ui_proc *u, const char *method, const char *path, const char *host,
		  const char *extra, const char *body, struct h_http *r)
{
	struct buf b = BUF_INIT(1 << 20);
	int rc = -1;
	char hostline[128];
	if (host)
		snprintf(hostline, sizeof(hostline), "%s%s%s", *host ? "Host: " : "", host, *host ? "\r\n" : "");
	else
		snprintf(hostline, sizeof(hostline), "Host: 127.0.0.1:%d\r\n", u->port);
	if (buf_printf(&b, "%s %s HTTP/1.1\r\n%sConnection: close\r\n%s", method, path, hostline,
		       extra ? extra : ""))
		goto out;
	if (body && buf_printf(&b, "Content-Length: %zu\r\n", strlen(body)))
		goto out;
	if (buf_puts(&b, "\r\n") || (body && buf_puts(&b, body)))
		goto out;
	rc = h_http_raw(u->port, b.data, b.len, r, H_TIMEOUT_MS);
out:
	buf_release(&b);
	return rc;
}

/* The value of header name in r's head, copied; NULL when absent. */
static const char *header(const struct h_http *r, const char *name)
{
	size_t nl = strlen(name);
	for (const char *p = r->head; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		if (!strncasecmp(p, name, nl) && p[nl] == ':') {
			const char *v = p + nl + 1;
			while (*v == ' ')
				v++;
			return h_strf("%.*s", (int)strcspn(v, "\r\n"), v);
		}
	}
	return NULL;
}

/* The CSRF token of a page (its <meta name="csrf">). */
static const char *page_csrf(const struct h_http *r)
{
	const char *p = strstr(r->body, "<meta name=\"csrf\" content=\"");
	if (!p)
		return NULL;
	p += strlen("<meta name=\"csrf\" content=\"");
	return h_strf("%.*s", (int)strcspn(p, "\""), p);
}

TEST(ui_server_secret_cookie)
{
	struct ui_proc u;
	struct h_http r;
	h_setup();
	CHECK_INT(ui_start(&u), 0);
	CHECK(strlen(u.secret) >= 32); /* 128 bits in hex */

	/* Nothing without the secret. */
	CHECK_OK(ui_req(&u, "GET", "/", NULL, NULL, NULL, &r));
	CHECK_INT(r.status, 403);
	CHECK(strstr(r.body, "lang=\"fr\"") && strstr(r.body, "Accès refusé"));
	CHECK(!strstr(r.body, "name=\"csrf\" content=\"0") && !strstr(r.body, u.secret));

	/* A wrong secret, the right one with a letter changed, an empty one. */
	char wrong[64];
	snprintf(wrong, sizeof(wrong), "%s", u.secret);
	wrong[0] = wrong[0] == 'a' ? 'b' : 'a';
	const char *bad[] = { "/?cle=0", h_strf("/?cle=%s", wrong), "/?cle=", h_strf("/?cle=%s0", u.secret) };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_OK(ui_req(&u, "GET", bad[i], NULL, NULL, NULL, &r));
		CHECK_INT_IDX(r.status, 403, i);
		CHECK_IDX(!header(&r, "Set-Cookie"), i);
	}

	/* The secret trades for a cookie and a redirect without it. */
	CHECK_OK(ui_req(&u, "GET", h_strf("/?cle=%s", u.secret), NULL, NULL, NULL, &r));
	CHECK_INT(r.status, 303);
	CHECK_STR(header(&r, "Location"), "/");
	const char *sc = header(&r, "Set-Cookie");
	CHECK(sc != NULL);
	CHECK(strstr(sc, h_strf("relais_cle_%d=%s;", u.port, u.secret)) == sc);
	CHECK(strstr(sc, "HttpOnly") && strstr(sc, "SameSite=Strict") && strstr(sc, "Path=/"));

	/* With the cookie, the home page; with a wrong cookie, nothing. */
	CHECK_OK(ui_req(&u, "GET", "/", NULL, u.cookie, NULL, &r));
	CHECK_INT(r.status, 200);
	CHECK(strstr(r.body, "<html lang=\"fr\">") && strstr(r.body, "<h1>Accueil</h1>"));
	CHECK(strstr(r.body, "Synchroniser") && strstr(r.body, "aria-live=\"polite\""));
	CHECK(strstr(header(&r, "Content-Security-Policy"), "default-src 'none'") != NULL);
	CHECK_OK(ui_req(&u, "GET", "/", NULL, h_strf("Cookie: autre=1; relais_cle_%d=%s\r\n", u.port,
							 u.secret), NULL, &r));
	CHECK_INT(r.status, 200);
	CHECK_OK(ui_req(&u, "GET", "/", NULL, h_strf("Cookie: relais_cle_%d=%s\r\n", u.port, wrong),
			NULL, &r));
	CHECK_INT(r.status, 403);
	/* The key of another run's cookie name is not ours. */
	CHECK_OK(ui_req(&u, "GET", "/", NULL, h_strf("Cookie: relais_cle_%d=%s\r\n", u.port + 1,
						     u.secret), NULL, &r));
	CHECK_INT(r.status, 403);
	/* Static files need the cookie too. */
	CHECK_OK(ui_req(&u, "GET", "/static/relais.css", NULL, NULL, NULL, &r));
	CHECK_INT(r.status, 403);
}

TEST(ui_server_host_check)
{
	struct ui_proc u;
	struct h_http r;
	h_setup();
	CHECK_INT(ui_start(&u), 0);
	const struct {
		const char *host;
		int status;
	} cases[] = {
		{ h_strf("127.0.0.1:%d", u.port), 200 },
		{ h_strf("localhost:%d", u.port), 200 },
		{ h_strf("evil.example:%d", u.port), 421 },       /* DNS rebinding */
		{ h_strf("127.0.0.1.evil.example:%d", u.port), 421 },
		{ h_strf("127.0.0.1:%d", u.port + 1), 421 },
		{ "127.0.0.1", 421 },
		{ "localhost", 421 },
		{ h_strf("LOCALHOST:%d ", u.port), 421 },
		{ "", 421 },                                      /* no Host at all */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CHECK_OK(ui_req(&u, "GET", "/", cases[i].host, u.cookie, NULL, &r));
		CHECK_INT_IDX(r.status, cases[i].status, i);
	}
	/* Even the secret is refused through a foreign name. */
	CHECK_OK(ui_req(&u, "GET", h_strf("/?cle=%s", u.secret), "evil.example", NULL, NULL, &r));
	CHECK_INT(r.status, 421);
	CHECK(!header(&r, "Set-Cookie"));
}

TEST(ui_server_csrf_refusal)
{
	struct ui_proc u;
	struct h_http r;
	h_setup();
	CHECK_INT(ui_start(&u), 0);
	CHECK_OK(ui_req(&u, "GET", "/", NULL, u.cookie, NULL, &r));
	const char *csrf = page_csrf(&r);
	CHECK(csrf && strlen(csrf) >= 32);
	const char *form = "Content-Type: application/x-www-form-urlencoded\r\n";
	const char *fields = "nom=MJC+Test&commune=Yssingeaux";
	const struct {
		const char *extra;
		const char *body;
		int status;
	} cases[] = {
		/* no token, a wrong one, the secret instead of the token */
		{ form, fields, 403 },
		{ form, h_strf("%s&csrf=%s", fields, "00"), 403 },
		{ form, h_strf("%s&csrf=%s", fields, u.secret), 403 },
		/* the right token from a foreign page */
		{ h_strf("%sOrigin: http://evil.example\r\n", form), h_strf("%s&csrf=%s", fields, csrf), 403 },
		{ h_strf("%sOrigin: null\r\n", form), h_strf("%s&csrf=%s", fields, csrf), 403 },
		/* not a form: JSON or text cannot carry the token */
		{ "Content-Type: text/plain\r\n", h_strf("%s&csrf=%s", fields, csrf), 415 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CHECK_OK(ui_req(&u, "POST", "/structures/nouvelle", NULL,
				h_strf("%s%s", u.cookie, cases[i].extra), cases[i].body, &r));
		CHECK_INT_IDX(r.status, cases[i].status, i);
	}
	/* The token without the cookie is not enough either. */
	CHECK_OK(ui_req(&u, "POST", "/structures/nouvelle", NULL, form,
			h_strf("%s&csrf=%s", fields, csrf), &r));
	CHECK_INT(r.status, 403);
	/* Nothing was written: the directory is still empty. */
	CHECK_OK(ui_req(&u, "GET", "/annuaire?q=MJC", NULL, u.cookie, NULL, &r));
	CHECK(strstr(r.body, "Aucune structure ne correspond"));

	/* With the token, our Origin, the cookie: created, then found. */
	CHECK_OK(ui_req(&u, "POST", "/structures/nouvelle", NULL,
			h_strf("%s%sOrigin: http://127.0.0.1:%d\r\n", u.cookie, form, u.port),
			h_strf("%s&csrf=%s", fields, csrf), &r));
	CHECK_INT(r.status, 303);
	const char *loc = header(&r, "Location");
	CHECK(loc && !strncmp(loc, "/structures/", 12) && strlen(loc) == 12 + 36);
	CHECK_OK(ui_req(&u, "GET", "/annuaire?q=yssin", NULL, u.cookie, NULL, &r));
	CHECK(strstr(r.body, h_strf("<a href=\"%s\">MJC Test</a>", loc)));
}

TEST(ui_server_routing)
{
	struct ui_proc u;
	struct h_http r;
	h_setup();
	CHECK_INT(ui_start(&u), 0);
	const struct {
		const char *method, *path;
		int status;
		const char *want;   /* in the body */
	} cases[] = {
		{ "GET", "/annuaire", 200, "<h1>Annuaire</h1>" },
		{ "GET", "/annuaire?q=%22%2A%28&type=structures", 200, "Aucune structure" },
		{ "GET", "/structures/nouvelle", 200, "<h1>Nouvelle structure</h1>" },
		{ "GET", "/promeneurs/nouveau", 200, "<label for=\"prenom\">" },
		{ "GET", "/structures/00000000-0000-4000-8000-000000000000", 404, "Page introuvable" },
		{ "GET", "/structures/pas-un-id", 404, "Page introuvable" },
		{ "GET", "/promeneurs/00000000-0000-4000-8000-000000000000/modifier", 404, "Page introuvable" },
		{ "GET", "/inconnu", 404, "Cette page n&#39;existe pas." },
		{ "GET", "/static/relais.css", 200, "focus" },
		{ "GET", "/static/relais.js", 200, "etat-sync" },
		{ "GET", "/static/absent.css", 404, "Page introuvable" },
		{ "GET", "/synchronisation/etat", 200, "\"etat\":\"aucune\"" },
		{ "GET", "/evenements", 200, "aria-current=\"page\"" },
		{ "GET", "/conflits", 200, "<h1" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CHECK_OK(ui_req(&u, cases[i].method, cases[i].path, NULL, u.cookie, NULL, &r));
		CHECK_INT_IDX(r.status, cases[i].status, i);
		CHECK_IDX(strstr(r.body, cases[i].want) != NULL, i);
	}
	/* A page of the menu says which entry is current. */
	CHECK_OK(ui_req(&u, "GET", "/annuaire", NULL, u.cookie, NULL, &r));
	CHECK(strstr(r.body, "<a href=\"/annuaire\" aria-current=\"page\">Annuaire</a>"));
	CHECK_STR(header(&r, "Content-Type"), "text/html; charset=utf-8");

	/* The sync button: "relais sync" in the background, then its result;
	 * with the server gone, the French offline message. */
	CHECK_OK(ui_req(&u, "GET", "/", NULL, u.cookie, NULL, &r));
	const char *post = h_strf("%sContent-Type: application/x-www-form-urlencoded\r\n", u.cookie);
	const char *body = h_strf("csrf=%s&js=1", page_csrf(&r));
	const char *want[] = { "\"etat\":\"terminee\"", "Hors connexion" };
	for (int round = 0; round < 2; round++) {
		if (round == 1)
			CHECK_INT(h_daemon_stop(&d), 0);
		CHECK_OK(ui_req(&u, "POST", "/synchroniser", NULL, post, body, &r));
		CHECK_INT_IDX(r.status, 202, round);
		for (int i = 0; i < 300; i++) {
			CHECK_OK(ui_req(&u, "GET", "/synchronisation/etat", NULL, u.cookie, NULL, &r));
			if (!strstr(r.body, "en_cours"))
				break;
			usleep(50 * 1000);
		}
		CHECK_IDX(strstr(r.body, want[round]) != NULL, round);
		/* The replica is back: pages work again. */
		CHECK_OK(ui_req(&u, "GET", "/annuaire", NULL, u.cookie, NULL, &r));
		CHECK_INT_IDX(r.status, 200, round);
	}

	/* SIGTERM: a clean stop (the sanitizer build fails the exit on a leak). */
	kill(u.pid, SIGTERM);
	CHECK_INT(h_wait(u.pid, H_TIMEOUT_MS), 0);
}
