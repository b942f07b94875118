/*
 * ui.c - "relais ui": the server, its security, sessions and routing.
 *
 * Order of the checks on every request (docs/ui.md explains why):
 *   1. Host must be exactly 127.0.0.1:PORT or localhost:PORT (a page of a
 *      foreign site that rebinds its DNS name to 127.0.0.1 sends its own
 *      name), else 421;
 *   2. GET /?cle=SECRET trades the secret for a cookie and redirects to /,
 *      so the secret leaves the address bar and the history;
 *   3. every other request needs that cookie, else 403;
 *   4. a POST needs an urlencoded body whose UI_CSRF_FIELD matches the
 *      per-run token, and an Origin (when sent) equal to our own, else 403.
 * Secrets are compared in constant time.
 *
 * The replica stays open (and locked) on the loop thread while the server
 * runs. A sync is "relais sync" in a child process: the replica is closed
 * for it and reopened when the child ends; pages asked meanwhile get a short
 * "synchronisation en cours" page that reloads itself.
 *
 * Kept whole (over 800 lines): the checks below run in this order on every
 * request; the server, the session and the route table are read together.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <uv.h>
#include "../../common/platform.h"
#include "../../net/http.h"
#include "../../common/utf8.h"
#include "ui.h"
#include "ui-html.h"
#include "assets.h"

#define SECRET_BYTES 16                 /* 128 bits */
#define SECRET_HEX (2 * SECRET_BYTES)
/* Cookies are shared by every port of a host: each run names its own,
 * "relais_cle_PORT", so that two interfaces open at once keep their keys. */
#define COOKIE_PREFIX "relais_cle_"
#define MAX_FIELDS 2000                 /* per query or form */
#define MAX_SYNC_OUTPUT (64u << 10)

/* Headers of every page: nothing from elsewhere, no framing, no referrer
 * beyond our own pages ("no-referrer" would make browsers send "Origin:
 * null" with our own forms, which the Origin check refuses). */
#define SECURITY_HEADERS                                                              \
	"Content-Security-Policy: default-src 'none'; script-src 'self'; "             \
	"style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; "  \
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'\r\n"              \
	"X-Content-Type-Options: nosniff\r\n"                                         \
	"X-Frame-Options: DENY\r\n"                                                   \
	"Referrer-Policy: same-origin\r\n"                                            \
	"Cache-Control: no-store\r\n"

struct route {
	const char *method;
	const char *pattern;
	ui_page_fn fn;
	int nodb;
	struct ui *u;
};

struct ui {
	uv_loop_t loop;
	struct http_server *http;
	uv_signal_t sigint, sigterm;
	int port;
	char secret[SECRET_HEX + 1];
	char csrf[SECRET_HEX + 1];
	char host_ip[32], host_name[32];
	char cookie[32];            /* the cookie's name */
	char origin_ip[48], origin_name[48];
	const char *home;
	struct replica replica;
	int open;                   /* replica open */
	int data_version;           /* PRAGMA data_version when the search index was built */
	char *login, *dept;
	int read_only;
	struct route *routes;
	size_t nroutes, aroutes;
	int route_error;
	struct route notfound;
	char *flash;

	/* the sync child */
	enum ui_sync_state sync_state;
	uv_process_t proc;
	uv_pipe_t out_pipe, err_pipe;
	int sync_waiting;           /* process exit and pipe EOFs still to come */
	int64_t exit_status;
	int term_signal;
	struct buf sync_out, sync_err;
	char *sync_msg;
};

struct kv {
	char *name;
	char *value;
};

struct kvs {
	struct kv *v;
	size_t n;
};

struct ui_req {
	struct kvs query, form, params;
	int status;
	int refresh;
	char *location;
	const char *ctype;
	char disposition[160];   /* Content-Disposition value, "" for none */
};

/* ---- small helpers ---- */

/* Compares two NUL-terminated secrets without leaking where they differ. */
static int secret_equal(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned char d = la != lb;
	for (size_t i = 0; i < la && i < lb; i++)
		d |= (unsigned char)a[i] ^ (unsigned char)b[i];
	return d == 0;
}

static void kvs_release(struct kvs *k)
{
	for (size_t i = 0; i < k->n; i++) {
		free(k->v[i].name);
		free(k->v[i].value);
	}
	free(k->v);
	k->v = NULL;
	k->n = 0;
}

/* Decodes n bytes of s (%XX, and '+' as a space when plus) into a new
 * string. RELAIS_EINVAL for a NUL byte or text that is not UTF-8. */
static int url_decode(const char *s, size_t n, int plus, char **out)
{
	char *d = malloc(n + 1);
	size_t k = 0;
	if (!d)
		return RELAIS_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		int hi, lo;
		if (s[i] == '%' && i + 2 < n && (hi = util_hex_digit(s[i + 1])) >= 0 &&
		    (lo = util_hex_digit(s[i + 2])) >= 0) {
			d[k++] = (char)(hi * 16 + lo);
			i += 2;
		} else if (plus && s[i] == '+') {
			d[k++] = ' ';
		} else {
			d[k++] = s[i];
		}
	}
	d[k] = 0;
	if (strlen(d) != k || !utf8_valid_str(d)) {
		free(d);
		return RELAIS_EINVAL;
	}
	*out = d;
	return 0;
}

/* Parses "a=1&b=2" (n bytes) into k, appending. */
static int parse_urlencoded(const char *s, size_t n, struct kvs *k)
{
	size_t i = 0;
	while (i < n) {
		size_t end = i;
		while (end < n && s[end] != '&')
			end++;
		if (end > i) {
			size_t eq = i;
			while (eq < end && s[eq] != '=')
				eq++;
			if (k->n == MAX_FIELDS)
				return RELAIS_ETOOBIG;
			struct kv *v = realloc(k->v, (k->n + 1) * sizeof(*v));
			if (!v)
				return RELAIS_ENOMEM;
			k->v = v;
			struct kv *e = &k->v[k->n];
			e->name = e->value = NULL;
			int rc = url_decode(s + i, eq - i, 1, &e->name);
			if (!rc)
				rc = url_decode(eq < end ? s + eq + 1 : "", eq < end ? end - eq - 1 : 0, 1,
						&e->value);
			if (rc) {
				free(e->name);
				return rc;
			}
			k->n++;
		}
		i = end + 1;
	}
	return 0;
}

static const char *kvs_get(const struct kvs *k, const char *name, size_t nth)
{
	for (size_t i = 0; i < k->n; i++)
		if (!strcmp(k->v[i].name, name) && nth-- == 0)
			return k->v[i].value;
	return NULL;
}

/* The value of cookie name in a Cookie header, copied into out; 0 when found. */
static int cookie_value(const char *header, const char *name, char *out, size_t outlen)
{
	size_t nl = strlen(name);
	const char *p = header;
	while (p && *p) {
		while (*p == ' ' || *p == ';')
			p++;
		size_t len = strcspn(p, ";");
		if (len > nl && !strncmp(p, name, nl) && p[nl] == '=') {
			size_t vl = len - nl - 1;
			if (vl >= outlen)
				return -1;
			memcpy(out, p + nl + 1, vl);
			out[vl] = 0;
			return 0;
		}
		p += len;
	}
	return -1;
}

/* ---- layout ---- */

static const struct {
	const char *id, *href, *label;
} menu_items[] = {
	{ "accueil", "/", "Accueil" },
	{ "annuaire", "/annuaire", "Annuaire" },
	{ "demandes", "/demandes", "Demandes" },
	{ "evenements", "/evenements", "Événements" },
	{ "partenaires", "/fiches/partenaire", "Partenaires" },
	{ "ressources", "/fiches/resource", "Ressources" },
	{ "formation", "/formation", "Formation" },
	{ "national", "/annuaire-national", "Annuaire national" },
	{ "courrier", "/courrier", "Courrier" },
	{ "conflits", "/conflits", "Conflits" },
	{ "synthese", "/synthese", "Synthèse" },
};

static int layout_begin(struct ui *u, struct buf *b, const char *title, const char *menu,
			int nav, const char *refresh)
{
	buf_printf(b, "<!DOCTYPE html>\n<html lang=\"fr\">\n<head>\n<meta charset=\"utf-8\">\n"
		   "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
		   "<meta name=\"csrf\" content=\"%s\">\n", nav ? u->csrf : "");
	if (refresh)
		buf_printf(b, "<meta http-equiv=\"refresh\" content=\"%s\">\n", refresh);
	buf_puts(b, "<title>");
	buf_puts_html(b, title);
	buf_puts(b, " – Relais</title>\n"
		 "<link rel=\"icon\" href=\"data:,\">\n"
		 "<link rel=\"stylesheet\" href=\"/static/relais.css\">\n"
		 "<script src=\"/static/relais.js\" defer></script>\n</head>\n<body>\n"
		 "<a class=\"evitement\" href=\"#contenu\">Aller au contenu</a>\n"
		 "<header class=\"bandeau\"><p class=\"marque\">Relais "
		 "<span>Promeneurs du Net</span></p>\n");
	if (nav) {
		buf_puts(b, "<nav aria-label=\"Menu principal\"><ul>\n");
		for (size_t i = 0; i < sizeof(menu_items) / sizeof(menu_items[0]); i++)
			buf_printf(b, "<li><a href=\"%s\"%s>%s</a></li>\n", menu_items[i].href,
				   menu && !strcmp(menu, menu_items[i].id) ? " aria-current=\"page\"" : "",
				   menu_items[i].label);
		buf_puts(b, "</ul></nav>\n");
	}
	buf_puts(b, "</header>\n<main id=\"contenu\" tabindex=\"-1\">\n");
	if (nav && u->flash) {
		buf_puts(b, "<div class=\"flash\" role=\"status\">");
		buf_puts_html(b, u->flash);
		buf_puts(b, "</div>\n");
		free(u->flash);
		u->flash = NULL;
	}
	html_tag(b, "h1", title);
	return buf_error(b);
}

static int layout_end(struct buf *b)
{
	return buf_puts(b, "\n</main>\n<footer class=\"pied\"><p>Relais fonctionne sur ce poste, "
			"même sans connexion.</p></footer>\n</body>\n</html>\n");
}

static const char *status_title(int status)
{
	switch (status) {
	case 400: return "Requête invalide";
	case 403: return "Accès refusé";
	case 404: return "Page introuvable";
	case 405: return "Action impossible";
	case 409: return "Conflit";
	case 413: return "Envoi trop volumineux";
	case 415: return "Envoi refusé";
	case 421: return "Adresse refusée";
	case 503: return "Un instant";
	default: return status >= 500 ? "Erreur interne" : "Erreur";
	}
}

static int error_body(struct ui *u, struct buf *b, int status, const char *message, int nav,
		      const char *refresh)
{
	buf_reset(b);
	layout_begin(u, b, status_title(status), NULL, nav, refresh);
	html_tag(b, "p", message);
	if (nav)
		buf_puts(b, "<p><a href=\"/\">Retour à l'accueil</a></p>\n");
	layout_end(b);
	return buf_error(b);
}

/* Answers a French error page; before the visitor is known (nav = 0) the
 * page shows no menu and no CSRF token. */
static void respond_error(struct ui *u, struct http_request *r, int status, const char *message,
			  int nav, const char *refresh)
{
	struct buf b = BUF_INIT(UI_MAX_PAGE);
	if (error_body(u, &b, status, message, nav, refresh)) {
		buf_release(&b);
		http_respond(r, 500, "text/plain; charset=utf-8", NULL, "Erreur interne.\n", 16);
		return;
	}
	size_t len = 0;
	unsigned char *body = buf_detach(&b, &len);
	if (!body) {
		http_respond(r, 500, "text/plain; charset=utf-8", NULL, "Erreur interne.\n", 16);
		return;
	}
	http_respond_take(r, status, "text/html; charset=utf-8", SECURITY_HEADERS, body, len);
}

/* ---- the API of ui.h ---- */

static void add_route(struct ui *u, const char *method, const char *pattern, ui_page_fn fn,
		      int nodb)
{
	if (!method || !pattern || pattern[0] != '/' || !fn) {
		u->route_error = RELAIS_EINVAL;
		return;
	}
	if (u->nroutes == u->aroutes) {
		size_t n = u->aroutes ? 2 * u->aroutes : 32;
		struct route *r = realloc(u->routes, n * sizeof(*r));
		if (!r) {
			u->route_error = RELAIS_ENOMEM;
			return;
		}
		u->routes = r;
		u->aroutes = n;
	}
	u->routes[u->nroutes++] = (struct route){ method, pattern, fn, nodb, u };
}

void ui_route(struct ui *u, const char *method, const char *pattern, ui_page_fn fn)
{
	add_route(u, method, pattern, fn, 0);
}

void ui_route_nodb(struct ui *u, const char *method, const char *pattern, ui_page_fn fn)
{
	add_route(u, method, pattern, fn, 1);
}

const char *ui_param(const struct ui_ctx *c, const char *name)
{
	return kvs_get(&c->req->params, name, 0);
}

const char *ui_query(const struct ui_ctx *c, const char *name)
{
	return kvs_get(&c->req->query, name, 0);
}

const char *ui_form(const struct ui_ctx *c, const char *name)
{
	return kvs_get(&c->req->form, name, 0);
}

const char *ui_form_nth(const struct ui_ctx *c, const char *name, size_t n)
{
	return kvs_get(&c->req->form, name, n);
}

int ui_page_begin(struct ui_ctx *c, const char *title, const char *menu)
{
	return layout_begin(c->ui, c->out, title, menu, 1, NULL);
}

int ui_page_end(struct ui_ctx *c)
{
	return layout_end(c->out);
}

int ui_redirect(struct ui_ctx *c, const char *location, const char *flash)
{
	/* Only local paths: "//host" would leave for another site. */
	if (!location || location[0] != '/' || location[1] == '/' || strpbrk(location, "\r\n\\"))
		return RELAIS_EINVAL;
	char *loc = strdup(location), *f = NULL;
	if (!loc || (flash && !(f = strdup(flash)))) {
		free(loc);
		return RELAIS_ENOMEM;
	}
	free(c->req->location);
	c->req->location = loc;
	if (f) {
		free(c->ui->flash);
		c->ui->flash = f;
	}
	c->req->status = 303;
	buf_reset(c->out);
	return 0;
}

int ui_error_page(struct ui_ctx *c, int status, const char *message)
{
	c->req->status = status;
	return error_body(c->ui, c->out, status, message, 1, NULL);
}

int ui_json(struct ui_ctx *c, int status, json_t *v)
{
	char *s = v ? json_dumps(v, JSON_COMPACT) : NULL;
	json_decref(v);
	if (!s)
		return RELAIS_ENOMEM;
	buf_reset(c->out);
	buf_puts(c->out, s);
	free(s);
	c->req->status = status;
	c->req->ctype = "application/json; charset=utf-8";
	return buf_error(c->out);
}

int ui_download(struct ui_ctx *c, const char *content_type, const char *filename)
{
	/* The name goes into a header: plain characters only. */
	if (strspn(filename, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") !=
	    strlen(filename))
		return RELAIS_EINVAL;
	int n = snprintf(c->req->disposition, sizeof(c->req->disposition),
			 "attachment; filename=\"%s\"", filename);
	if (n < 0 || (size_t)n >= sizeof(c->req->disposition)) {
		c->req->disposition[0] = 0;
		return RELAIS_EINVAL;
	}
	c->req->ctype = content_type;
	return 0;
}

void ui_status(struct ui_ctx *c, int status)
{
	c->req->status = status;
}

void ui_refresh(struct ui_ctx *c, int seconds)
{
	c->req->refresh = seconds;
}

int ui_csrf_input(struct ui_ctx *c)
{
	return buf_printf(c->out, "<input type=\"hidden\" name=\"" UI_CSRF_FIELD "\" value=\"%s\">\n",
			  c->csrf);
}

/* ---- requests ---- */

static int host_ok(struct ui *u, struct http_request *r, const char **origin_want)
{
	const char *host = http_request_header(r, "Host");
	if (!host)
		return 0;
	if (!strcmp(host, u->host_ip)) {
		*origin_want = u->origin_ip;
		return 1;
	}
	if (!strcmp(host, u->host_name)) {
		*origin_want = u->origin_name;
		return 1;
	}
	return 0;
}

static int cookie_ok(struct ui *u, struct http_request *r)
{
	const char *h = http_request_header(r, "Cookie");
	char val[SECRET_HEX + 2];
	if (!h || cookie_value(h, u->cookie, val, sizeof(val)))
		return 0;
	return secret_equal(val, u->secret);
}

/* GET /?cle=SECRET: the cookie, then / without the secret. 1 when answered. */
static int login_answer(struct ui *u, struct http_request *r, const struct kvs *query)
{
	const char *cle = kvs_get(query, "cle", 0);
	if (strcmp(r->path, "/") || strcmp(r->method, "GET") || !cle)
		return 0;
	if (!secret_equal(cle, u->secret)) {
		respond_error(u, r, 403, "Cette clé n'est pas la bonne : ouvrez l'adresse affichée "
			      "par « relais ui » dans le terminal.", 0, NULL);
		return 1;
	}
	char hdrs[512];
	snprintf(hdrs, sizeof(hdrs), "Location: /\r\nSet-Cookie: %s=%s; HttpOnly; "
		 "SameSite=Strict; Path=/\r\n" SECURITY_HEADERS, u->cookie, u->secret);
	http_respond(r, 303, "text/plain; charset=utf-8", hdrs, "", 0);
	return 1;
}

static void send_asset(struct http_request *r, const struct ui_asset *a)
{
	http_respond(r, 200, a->type,
		     "X-Content-Type-Options: nosniff\r\nCache-Control: no-cache\r\n",
		     a->data, a->len);
}

static const struct ui_asset *asset_find(const char *path)
{
	if (strncmp(path, "/static/", 8))
		return NULL;
	for (size_t i = 0; i < ui_nassets; i++)
		if (!strcmp(ui_assets[i].name, path + 8))
			return &ui_assets[i];
	return NULL;
}

static void respond_ctx(struct ui *u, struct http_request *r, struct ui_ctx *c, int rc)
{
	struct ui_req *q = c->req;
	/* The one check of the page's sticky error: a page that failed halfway
	 * (past its cap, out of memory) is replaced by an error page. */
	if (!rc)
		rc = buf_error(c->out);
	if (rc) {
		int st = rc == RELAIS_ENOTFOUND ? 404 : rc == RELAIS_EPERM ? 403 : 500;
		const char *msg = rc == RELAIS_ENOTFOUND ? "Cette fiche n'existe pas (ou plus) dans le réplica."
			: rc == RELAIS_EPERM ? "Ce compte ne peut que consulter les données."
			: relais_strerror(rc);
		respond_error(u, r, st, msg, 1, NULL);
		return;
	}
	if (q->status == 303) {
		char hdrs[4096];
		int n = snprintf(hdrs, sizeof(hdrs), "Location: %s\r\n" SECURITY_HEADERS, q->location);
		if (n < 0 || (size_t)n >= sizeof(hdrs)) {
			respond_error(u, r, 500, "Adresse de redirection trop longue.", 1, NULL);
			return;
		}
		http_respond(r, 303, "text/plain; charset=utf-8", hdrs, "", 0);
		return;
	}
	size_t len = 0;
	char hdrs[1024];
	if (q->refresh > 0)
		snprintf(hdrs, sizeof(hdrs), "Refresh: %d\r\n" SECURITY_HEADERS, q->refresh);
	else if (q->disposition[0])
		snprintf(hdrs, sizeof(hdrs), "Content-Disposition: %s\r\n" SECURITY_HEADERS,
			 q->disposition);
	else
		snprintf(hdrs, sizeof(hdrs), "%s", SECURITY_HEADERS);
	unsigned char *body = buf_detach(c->out, &len);
	if (!body) {
		respond_error(u, r, 500, relais_strerror(RELAIS_ENOMEM), 1, NULL);
		return;
	}
	http_respond_take(r, q->status ? q->status : 200,
			  q->ctype ? q->ctype : "text/html; charset=utf-8", hdrs, body, len);
}

/* Splits the raw parameters of the route into decoded pairs. */
static int route_params(const struct route *rt, struct http_request *r, struct kvs *k)
{
	const char *p = rt->pattern;
	while ((p = strchr(p, '{'))) {
		const char *end = strchr(p, '}');
		if (!end)
			break;
		char name[64];
		const char *n = p + 1 + (p[1] == '*');
		size_t nl = (size_t)(end - n);
		if (nl >= sizeof(name))
			return RELAIS_EINVAL;
		memcpy(name, n, nl);
		name[nl] = 0;
		const char *raw = http_request_param(r, name);
		if (raw) {
			struct kv *v = realloc(k->v, (k->n + 1) * sizeof(*v));
			if (!v)
				return RELAIS_ENOMEM;
			k->v = v;
			k->v[k->n].name = strdup(name);
			if (!k->v[k->n].name)
				return RELAIS_ENOMEM;
			int rc = url_decode(raw, strlen(raw), 0, &k->v[k->n].value);
			if (rc) {
				free(k->v[k->n].name);
				return rc;
			}
			k->n++;
		}
		p = end;
	}
	return 0;
}

static int index_fresh(struct ui *u);

static void on_request(struct http_request *r, void *arg)
{
	struct route *rt = arg;
	struct ui *u = rt->u;
	struct ui_req q;
	struct buf out = BUF_INIT(UI_MAX_PAGE);
	const char *origin_want = NULL;
	int rc;

	memset(&q, 0, sizeof(q));
	if (!host_ok(u, r, &origin_want)) {
		respond_error(u, r, 421, "Cette adresse n'est pas celle de Relais : utilisez "
			      "http://127.0.0.1 ou http://localhost avec le port affiché.", 0, NULL);
		return;
	}
	if ((rc = parse_urlencoded(r->query, strlen(r->query), &q.query))) {
		respond_error(u, r, 400, "Adresse mal formée.", 0, NULL);
		goto out;
	}
	if (login_answer(u, r, &q.query))
		goto out;
	if (!cookie_ok(u, r)) {
		respond_error(u, r, 403, "Accès refusé : ouvrez l'adresse complète affichée par "
			      "« relais ui » dans le terminal (elle contient la clé de cette session).",
			      0, NULL);
		goto out;
	}
	if (!strcmp(r->method, "POST")) {
		const char *origin = http_request_header(r, "Origin");
		const char *ctype = http_request_header(r, "Content-Type");
		if (origin && strcmp(origin, origin_want)) {
			respond_error(u, r, 403, "Envoi refusé : il ne vient pas d'une page de Relais.", 0, NULL);
			goto out;
		}
		if (!ctype || strncasecmp(ctype, "application/x-www-form-urlencoded", 33)) {
			respond_error(u, r, 415, "Envoi refusé : formulaire attendu.", 0, NULL);
			goto out;
		}
		if (r->body_len > UI_MAX_BODY) {
			respond_error(u, r, 413, "Le formulaire envoyé est trop volumineux.", 1, NULL);
			goto out;
		}
		if ((rc = parse_urlencoded((const char *)r->body, r->body_len, &q.form))) {
			respond_error(u, r, 400, "Formulaire mal formé.", 1, NULL);
			goto out;
		}
		const char *tok = kvs_get(&q.form, UI_CSRF_FIELD, 0);
		if (!tok || !secret_equal(tok, u->csrf)) {
			respond_error(u, r, 403, "Envoi refusé : le jeton du formulaire manque ou a "
				      "expiré. Rechargez la page et recommencez.", 1, NULL);
			goto out;
		}
	}
	if (!rt->fn) {
		const struct ui_asset *a = strcmp(r->method, "GET") ? NULL : asset_find(r->path);
		if (a)
			send_asset(r, a);
		else
			respond_error(u, r, 404, "Cette page n'existe pas.", 1, NULL);
		goto out;
	}
	if (!rt->nodb && !u->open) {
		respond_error(u, r, 503, u->sync_state == UI_SYNC_RUNNING
			      ? "Synchronisation en cours : la page se rechargera d'elle-même dans un instant."
			      : "Le réplica n'a pas pu être rouvert après la synchronisation ; "
				"relancez « relais ui ».", 1,
			      u->sync_state == UI_SYNC_RUNNING ? "2" : NULL);
		goto out;
	}
	if ((rc = route_params(rt, r, &q.params))) {
		respond_error(u, r, 400, "Adresse mal formée.", 1, NULL);
		goto out;
	}
	/* The replica's lock is held for this request only, so that the
	 * commands typed in a terminal meanwhile run. */
	int locked = 0;
	if (u->open) {
		char lerr[REPLICA_ERRLEN];
		if (replica_relock(&u->replica, lerr, sizeof(lerr))) {
			respond_error(u, r, 503, lerr, 1, "2");
			goto out;
		}
		locked = 1;
		if ((rc = index_fresh(u))) {
			replica_release(&u->replica);
			respond_error(u, r, 500, "Index de recherche impossible à reconstruire.", 1, NULL);
			goto out;
		}
	}
	struct ui_ctx c = {
		.ui = u,
		.replica = u->open ? &u->replica : NULL,
		.db = u->open ? u->replica.db : NULL,
		.home = u->home,
		.login = u->login ? u->login : "",
		.dept = u->dept ? u->dept : "",
		.read_only = u->read_only,
		.method = r->method,
		.path = r->path,
		.csrf = u->csrf,
		.out = &out,
		.req = &q,
	};
	rc = rt->fn(&c);
	if (locked && u->open)
		replica_release(&u->replica);
	respond_ctx(u, r, &c, rc);
out:
	buf_release(&out);
	free(q.location);
	kvs_release(&q.query);
	kvs_release(&q.form);
	kvs_release(&q.params);
}

/* ---- the replica ---- */

/* Rebuilds the search index when another connection (a command in a
 * terminal, a sync) changed the replica since it was built. */
static int index_fresh(struct ui *u)
{
	sqlite3_stmt *st = NULL;
	int v = -2, rc;
	if (sqlite3_prepare_v2(u->replica.db, "PRAGMA data_version", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if (v == u->data_version)
		return 0;
	rc = ui_annuaire_index(u->replica.db);
	if (!rc)
		u->data_version = v;
	return rc;
}

static int replica_load(struct ui *u, char *err, size_t errlen)
{
	if (replica_open(&u->replica, u->home, 0, err, errlen))
		return RELAIS_EIO;
	u->open = 1;
	free(u->login);
	free(u->dept);
	u->login = u->dept = NULL;
	char *role = NULL;
	if (replica_meta(&u->replica, "login", &u->login) ||
	    replica_meta(&u->replica, "dept", &u->dept) ||
	    replica_meta(&u->replica, "role", &role)) {
		snprintf(err, errlen, "lecture du réplica impossible.");
		free(role);
		return RELAIS_EDB;
	}
	u->read_only = role && !strcmp(role, "caf");
	free(role);
	u->data_version = -1;
	int rc = index_fresh(u);
	if (rc)
		snprintf(err, errlen, "index de recherche impossible à construire : %s",
			 relais_strerror(rc));
	replica_release(&u->replica);
	return rc;
}

static void replica_unload(struct ui *u)
{
	if (!u->open)
		return;
	replica_close(&u->replica);
	u->open = 0;
}

/* ---- the sync child ---- */

static void sync_on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
	(void)h;
	(void)hint;
	b->base = malloc(4096);
	b->len = b->base ? 4096 : 0;
}

/* Keeps the lines of out, without the "relais : " prefix of errors, as one
 * paragraph. */
static char *sync_text(const struct buf *out)
{
	struct buf m = BUF_INIT(MAX_SYNC_OUTPUT);
	const char *p = buf_str(out);
	while (*p) {
		size_t len = strcspn(p, "\n");
		const char *l = p;
		if (!strncmp(l, "relais : ", 9)) {
			l += 9;
			len -= 9;
		}
		/* The command's pointer to itself means the Conflits page here. */
		static const char cli_hint[] = "Voir les conflits : relais conflits";
		static const char ui_hint[] = "Voir la page « Conflits ».";
		if (len == sizeof(cli_hint) - 1 && !strncmp(l, cli_hint, len)) {
			l = ui_hint;
			len = sizeof(ui_hint) - 1;
		}
		if (len && ((m.len && buf_putc(&m, ' ')) || buf_append(&m, l, len)))
			break;
		p += strcspn(p, "\n");
		if (*p)
			p++;
	}
	char *s = (char *)buf_detach(&m, NULL);
	buf_release(&m);
	return s;
}

static void sync_finish(struct ui *u)
{
	char err[REPLICA_ERRLEN] = "";
	int ok = u->exit_status == 0 && u->term_signal == 0;
	char *text = sync_text(ok ? &u->sync_out : &u->sync_err);
	struct buf m = BUF_INIT(MAX_SYNC_OUTPUT);
	int e;
	if (ok)
		e = buf_puts(&m, text && *text ? text : "Synchronisation terminée.");
	else if (text && strstr(text, "serveur injoignable"))
		e = buf_printf(&m, "Hors connexion : le serveur ne répond pas. Vos modifications "
			       "restent enregistrées sur ce poste ; synchronisez une fois connecté. "
			       "(Détail : %s)", text);
	else
		e = buf_printf(&m, "Synchronisation impossible : %s",
			       text && *text ? text : "le programme de synchronisation n'a pas pu "
			       "être lancé ou s'est arrêté.");
	free(text);
	if (replica_load(u, err, sizeof(err))) {
		replica_unload(u);
		if (!e)
			e = buf_printf(&m, " Le réplica n'a pas pu être rouvert : %s", err);
		ok = 0;
	}
	free(u->sync_msg);
	u->sync_msg = e ? NULL : (char *)buf_detach(&m, NULL);
	buf_release(&m);
	u->sync_state = ok ? UI_SYNC_DONE : UI_SYNC_FAILED;
}

static void sync_handle_closed(uv_handle_t *h)
{
	struct ui *u = h->data;
	if (--u->sync_waiting == 0)
		sync_finish(u);
}

static void sync_on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	struct ui *u = s->data;
	struct buf *dst = s == (uv_stream_t *)&u->out_pipe ? &u->sync_out : &u->sync_err;
	if (n > 0) {
		/* Past the cap the rest is dropped: the first lines tell the story. */
		size_t room = dst->max - dst->len;
		size_t take = (size_t)n < room ? (size_t)n : room;
		if (take && buf_append(dst, b->base, take))
			buf_reset(dst); /* no memory: the generic message will do */
	}
	free(b->base);
	if (n < 0)
		uv_close((uv_handle_t *)s, sync_handle_closed);
}

static void sync_on_exit(uv_process_t *p, int64_t status, int sig)
{
	struct ui *u = p->data;
	u->exit_status = status;
	u->term_signal = sig;
	uv_close((uv_handle_t *)p, sync_handle_closed);
}

int ui_sync_start(struct ui *u)
{
	char exe[4096];
	size_t exelen = sizeof(exe);
	if (u->sync_state == UI_SYNC_RUNNING)
		return RELAIS_EBUSY;
	if (uv_exepath(exe, &exelen))
		return RELAIS_EIO;
	buf_reset(&u->sync_out);
	buf_reset(&u->sync_err);
	free(u->sync_msg);
	u->sync_msg = NULL;
	u->exit_status = 0;
	u->term_signal = 0;

	uv_pipe_init(&u->loop, &u->out_pipe, 0);
	uv_pipe_init(&u->loop, &u->err_pipe, 0);
	u->out_pipe.data = u->err_pipe.data = u->proc.data = u;
	char *args[] = { (char *)"relais", (char *)"--dossier", (char *)u->home, (char *)"sync", NULL };
	uv_stdio_container_t stdio[3] = {
		{ .flags = UV_IGNORE },
		{ .flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE, .data.stream = (uv_stream_t *)&u->out_pipe },
		{ .flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE, .data.stream = (uv_stream_t *)&u->err_pipe },
	};
	uv_process_options_t o = {
		.exit_cb = sync_on_exit,
		.file = exe,
		.args = args,
		.stdio_count = 3,
		.stdio = stdio,
	};
	/* The child takes the replica's lock: ours goes first. */
	replica_unload(u);
	u->sync_state = UI_SYNC_RUNNING;
	u->sync_waiting = 3;
	if (uv_spawn(&u->loop, &u->proc, &o)) {
		/* The pipes were initialised; the failed process handle must be
		 * closed too (libuv). Their close callbacks finish the round with
		 * exit status 127, which reopens the replica. */
		u->exit_status = 127;
		uv_close((uv_handle_t *)&u->proc, sync_handle_closed);
		uv_close((uv_handle_t *)&u->out_pipe, sync_handle_closed);
		uv_close((uv_handle_t *)&u->err_pipe, sync_handle_closed);
		return 0;
	}
	uv_read_start((uv_stream_t *)&u->out_pipe, sync_on_alloc, sync_on_read);
	uv_read_start((uv_stream_t *)&u->err_pipe, sync_on_alloc, sync_on_read);
	return 0;
}

enum ui_sync_state ui_sync_state(const struct ui *u, const char **message)
{
	if (message)
		*message = u->sync_msg ? u->sync_msg : "";
	return u->sync_state;
}

/* ---- the command ---- */

static void on_signal(uv_signal_t *s, int signum)
{
	struct ui *u = s->data;
	(void)signum;
	http_server_close(u->http, NULL, NULL);
	u->http = NULL;
	uv_close((uv_handle_t *)&u->sigint, NULL);
	uv_close((uv_handle_t *)&u->sigterm, NULL);
}

static void open_browser(const char *url)
{
	if (platform_open_url(url))
		fprintf(stderr, "relais : navigateur introuvable ; ouvrez l'adresse ci-dessus vous-même.\n");
}

/* Listens on port, or when want < 0 on the default port and else any. */
static int listen_on(struct ui *u, int want)
{
	int rc;
	for (int attempt = 0; attempt < 2; attempt++) {
		int port = want >= 0 ? want : attempt == 0 ? UI_DEFAULT_PORT : 0;
		struct http_server_config cfg = { .max_body = UI_MAX_BODY, .quiet = 1 };
		if ((rc = http_server_new(&u->loop, &cfg, &u->http)))
			return rc;
		rc = http_server_listen(u->http, "127.0.0.1", port, &u->port);
		if (!rc)
			return 0;
		http_server_close(u->http, NULL, NULL);
		u->http = NULL;
		uv_run(&u->loop, UV_RUN_NOWAIT);
		if (want >= 0)
			break;
	}
	return rc;
}

static int register_routes(struct ui *u)
{
	ui_accueil_routes(u);
	ui_annuaire_routes(u);
	ui_fiche_routes(u);
	ui_evenements_routes(u);
	ui_courrier_routes(u);
	ui_conflits_routes(u);
	ui_synthese_routes(u);
	ui_documents_routes(u);
	ui_procedures_routes(u);
	ui_demandes_routes(u);
	ui_national_routes(u);
	ui_gouvernance_routes(u);
	ui_formation_routes(u);
	ui_personne_routes(u);
	if (u->route_error)
		return u->route_error;
	for (size_t i = 0; i < u->nroutes; i++) {
		int rc = http_server_route(u->http, u->routes[i].method, u->routes[i].pattern,
					   on_request, &u->routes[i]);
		if (rc)
			return rc;
	}
	u->notfound.u = u;
	http_server_fallback(u->http, on_request, &u->notfound);
	return 0;
}

int ui_serve(const char *home, int port, int browser, char *err, size_t errlen)
{
	struct ui *u = NULL;
	unsigned char raw[2 * SECRET_BYTES];
	int rc = RELAIS_ENOMEM;

	err[0] = 0;
	if (!(u = calloc(1, sizeof(*u)))) {
		snprintf(err, errlen, "%s", relais_strerror(rc));
		return rc;
	}
	u->home = home;
	buf_init(&u->sync_out, MAX_SYNC_OUTPUT);
	buf_init(&u->sync_err, MAX_SYNC_OUTPUT);
	if (uv_loop_init(&u->loop)) {
		rc = RELAIS_EIO;
		snprintf(err, errlen, "boucle d'événements impossible à créer.");
		goto out_free;
	}
	if ((rc = util_random(raw, sizeof(raw)))) {
		snprintf(err, errlen, "impossible de tirer une clé aléatoire.");
		goto out_loop;
	}
	util_hex(raw, SECRET_BYTES, u->secret);
	util_hex(raw + SECRET_BYTES, SECRET_BYTES, u->csrf);
	if ((rc = replica_load(u, err, errlen)))
		goto out_loop;
	if ((rc = listen_on(u, port))) {
		if (port >= 0)
			snprintf(err, errlen, "le port %d est déjà pris ou interdit : choisissez-en un "
				 "autre (--port 0 pour n'importe quel port libre).", port);
		else
			snprintf(err, errlen, "impossible d'écouter sur 127.0.0.1 : %s",
				 relais_strerror(rc));
		goto out_loop;
	}
	if ((rc = register_routes(u))) {
		snprintf(err, errlen, "pages de l'interface impossibles à enregistrer : %s",
			 relais_strerror(rc));
		goto out_server;
	}
	snprintf(u->cookie, sizeof(u->cookie), COOKIE_PREFIX "%d", u->port);
	snprintf(u->host_ip, sizeof(u->host_ip), "127.0.0.1:%d", u->port);
	snprintf(u->host_name, sizeof(u->host_name), "localhost:%d", u->port);
	snprintf(u->origin_ip, sizeof(u->origin_ip), "http://127.0.0.1:%d", u->port);
	snprintf(u->origin_name, sizeof(u->origin_name), "http://localhost:%d", u->port);
	uv_signal_init(&u->loop, &u->sigint);
	uv_signal_init(&u->loop, &u->sigterm);
	u->sigint.data = u->sigterm.data = u;
	uv_signal_start(&u->sigint, on_signal, SIGINT);
	uv_signal_start(&u->sigterm, on_signal, SIGTERM);

	char url[128];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/?cle=%s", u->port, u->secret);
	printf("Relais est ouvert : %s\n", url);
	fflush(stdout);
	if (browser)
		open_browser(url);
	uv_run(&u->loop, UV_RUN_DEFAULT);
	rc = 0;
	goto out_loop;
out_server:
	http_server_close(u->http, NULL, NULL);
	uv_run(&u->loop, UV_RUN_DEFAULT);
out_loop:
	/* A sync child still running keeps its handles: let it end first. */
	uv_run(&u->loop, UV_RUN_DEFAULT);
	if (uv_loop_close(&u->loop) && !err[0])
		snprintf(err, errlen, "des ressources de l'interface n'ont pas été libérées.");
out_free:
	replica_unload(u);
	free(u->login);
	free(u->dept);
	free(u->routes);
	free(u->flash);
	free(u->sync_msg);
	buf_release(&u->sync_out);
	buf_release(&u->sync_err);
	free(u);
	return rc;
}
