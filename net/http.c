/*
 * http.c - generic HTTP/1.1 server on libuv with http_parser.
 *
 * A connection handles one request at a time: when a message is complete
 * the parser is paused, reading stops and the bytes already read past the
 * message wait in conn->pending. Once the answer is queued, parsing resumes
 * on those bytes, then reading restarts. This keeps answers in order and
 * bounds what a pipelining peer can make us buffer to one read.
 *
 * A connection is freed when both of its handles are closed and no request
 * is in progress (a handler may still hold the request after the peer left).
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <http_parser.h>
#include <jansson.h>
#include "../common/buf.h"
#include "../common/util.h"
#include "http.h"

#define READ_SIZE (64u << 10)

struct route {
	const char *method;
	const char *path;       /* exact path, or a pattern when pattern is set */
	int pattern;            /* path holds "{name}" or "{*name}" segments */
	http_handler_fn fn;
	void *arg;
};

struct http_server {
	uv_loop_t *loop;
	uv_tcp_t listener;
	int listening;          /* listener handle initialised and not yet closed */
	int stopping;
	size_t max_body;
	unsigned idle_ms;
	int quiet;
	struct route *routes;
	size_t nroutes, aroutes;
	http_handler_fn fallback;
	void *fallback_arg;
	struct http_conn *conns; /* doubly linked list of live connections */
	void (*close_cb)(void *);
	void *close_arg;
};

struct http_conn {
	uv_tcp_t tcp;
	uv_timer_t timer;
	struct http_server *srv;
	struct http_conn *prev, *next;
	http_parser parser;

	int open_handles;      /* handles not yet closed (tcp, timer) */
	int closing;           /* uv_close called */
	int in_flight;         /* a request is with a handler */
	int processing;        /* inside process_input(): no re-entry */
	int close_after;       /* close once the current answer is written */
	int reading;
	int writing;           /* an answer is being written */
	char peer[48];         /* the peer's address, "" when unknown */

	/* the request being parsed */
	struct buf url;
	struct buf hdrs;       /* "name\0value\0" pairs */
	int last_was_value;
	size_t head_len;
	struct buf body;
	struct buf params;     /* path parameters of the matched pattern: "name\0value\0" */
	int error_status;      /* answer to give instead of dispatching */
	int complete;
	struct http_request req;

	/* bytes read past the current message */
	char *pending;
	size_t pending_len, pending_off;
};

struct write_req {
	uv_write_t req;
	struct http_conn *conn;
	char *head;
	void *body;
};

static void conn_close(struct http_conn *c);
static void process_input(struct http_conn *c);
static void read_update(struct http_conn *c);

/* ---- server bookkeeping ---- */

static void server_maybe_done(struct http_server *s)
{
	if (!s->stopping || s->listening || s->conns)
		return;
	void (*cb)(void *) = s->close_cb;
	void *arg = s->close_arg;
	free(s->routes);
	free(s);
	if (cb)
		cb(arg);
}

static void conn_free(struct http_conn *c)
{
	struct http_server *s = c->srv;
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	buf_release(&c->url);
	buf_release(&c->hdrs);
	buf_release(&c->body);
	buf_release(&c->params);
	free(c->pending);
	free(c);
	server_maybe_done(s);
}

static void conn_maybe_free(struct http_conn *c)
{
	if (c->open_handles == 0 && !c->in_flight)
		conn_free(c);
}

static void on_handle_closed(uv_handle_t *h)
{
	struct http_conn *c = h->data;
	c->open_handles--;
	conn_maybe_free(c);
}

static void conn_close(struct http_conn *c)
{
	if (c->closing)
		return;
	c->closing = 1;
	uv_close((uv_handle_t *)&c->timer, on_handle_closed);
	uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
}

static void on_idle(uv_timer_t *t)
{
	struct http_conn *c = t->data;
	conn_close(c);
}

static void conn_touch(struct http_conn *c)
{
	if (c->closing)
		return;
	/* A slow link may take minutes to take a large page: the idle clock
	 * runs only while we wait for the peer to send. */
	if (c->in_flight || c->writing)
		uv_timer_stop(&c->timer);
	else
		uv_timer_start(&c->timer, on_idle, c->srv->idle_ms, 0);
}

/* ---- answers ---- */

const char *http_status_text(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 302: return "Found";
	case 303: return "See Other";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 411: return "Length Required";
	case 413: return "Payload Too Large";
	case 415: return "Unsupported Media Type";
	case 421: return "Misdirected Request";
	case 422: return "Unprocessable Entity";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default: return "Unknown";
	}
}

static void log_request(struct http_conn *c, const char *method, const char *path,
			int status, uint64_t start_ns)
{
	if (c->srv->quiet)
		return;
	char when[21];
	util_iso8601(util_now_ms(), when);
	double ms = start_ns ? (double)(uv_hrtime() - start_ns) / 1e6 : 0.0;
	/* The path is cut at 200 bytes and stripped of control characters so a
	 * peer cannot forge log lines. */
	char safe[201];
	size_t n = 0;
	for (const char *p = path; *p && n < sizeof(safe) - 1; p++)
		safe[n++] = (*p < 0x20 || *p == 0x7f) ? '?' : *p;
	safe[n] = 0;
	fprintf(stderr, "%s %s %s %d %.1f ms\n", when, method, n ? safe : "-", status, ms);
}

static void on_written(uv_write_t *w, int status)
{
	struct write_req *wr = (struct write_req *)w;
	struct http_conn *c = wr->conn;
	free(wr->head);
	free(wr->body);
	free(wr);
	c->writing = 0;
	if (status < 0 || c->close_after) {
		conn_close(c);
		return;
	}
	conn_touch(c);
	if (!c->processing)
		process_input(c);
}

/* Queues head+body on c; takes both. */
static void conn_send(struct http_conn *c, char *head, size_t headlen, void *body, size_t len)
{
	struct write_req *wr = NULL;
	if (c->closing)
		goto drop;
	wr = calloc(1, sizeof(*wr));
	if (!wr)
		goto fail;
	wr->conn = c;
	wr->head = head;
	wr->body = body;
	uv_buf_t bufs[2] = {
		uv_buf_init(head, (unsigned)headlen),
		uv_buf_init(body, (unsigned)len),
	};
	if (uv_write(&wr->req, (uv_stream_t *)&c->tcp, bufs, len ? 2 : 1, on_written) < 0) {
		free(wr);
		goto fail;
	}
	c->writing = 1;
	return;
fail:
	conn_close(c);
drop:
	free(head);
	free(body);
}

static char *format_head(int status, const char *ctype, const char *extra, size_t len,
			 int keep_alive, size_t *headlen)
{
	struct buf b = BUF_INIT(HTTP_MAX_HEAD);
	if (buf_printf(&b, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
		       "Connection: %s\r\n%s\r\n", status, http_status_text(status),
		       ctype ? ctype : "application/octet-stream", len,
		       keep_alive ? "keep-alive" : "close", extra ? extra : "")) {
		buf_release(&b);
		return NULL;
	}
	return (char *)buf_detach(&b, headlen);
}

static char *error_json(const char *code, const char *message, size_t *len)
{
	json_t *o = json_pack("{s:s, s:s}", "error", code, "message", message);
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	*len = s ? strlen(s) : 0;
	return s;
}

/* Resets the parsed request so the connection can read the next one. */
static void request_reset(struct http_conn *c)
{
	buf_reset(&c->url);
	buf_reset(&c->hdrs);
	buf_reset(&c->body);
	buf_reset(&c->params);
	c->last_was_value = 0;
	c->head_len = 0;
	c->error_status = 0;
	c->complete = 0;
	memset(&c->req, 0, sizeof(c->req));
}

void http_respond_take(struct http_request *r, int status, const char *content_type,
		       const char *extra_headers, void *body, size_t len)
{
	struct http_conn *c = r->conn;
	log_request(c, r->method, r->path, status, r->start_ns);
	if (c->srv->stopping)
		c->close_after = 1;
	size_t headlen = 0;
	char *head = format_head(status, content_type, extra_headers, len, !c->close_after,
				 &headlen);
	if (!head) {
		free(body);
		conn_close(c);
	} else {
		conn_send(c, head, headlen, body, len);
	}
	c->in_flight = 0;
	request_reset(c);
	if (c->closing) {
		conn_maybe_free(c);
		return;
	}
	conn_touch(c);
	if (!c->processing && !c->close_after)
		process_input(c);
}

void http_respond(struct http_request *r, int status, const char *content_type,
		  const char *extra_headers, const void *body, size_t len)
{
	void *copy = NULL;
	if (len) {
		copy = malloc(len);
		if (!copy) {
			/* No room for the copy: an empty 500 is still an answer. */
			http_respond_take(r, 500, "application/json", NULL, NULL, 0);
			return;
		}
		memcpy(copy, body, len);
	}
	http_respond_take(r, status, content_type, extra_headers, copy, len);
}

void http_respond_error(struct http_request *r, int status, const char *code,
			const char *message)
{
	size_t len = 0;
	char *s = error_json(code, message, &len);
	http_respond_take(r, status, "application/json; charset=utf-8", NULL, s, len);
}

/* An answer from the layer itself, for a request that never reached a
 * handler; the connection is closed after it when close_after is set. */
static void layer_error(struct http_conn *c, int status, const char *code, const char *message)
{
	struct http_request *r = &c->req;
	if (!r->method)
		r->method = "-";
	if (!r->path)
		r->path = "";
	r->conn = c;
	c->in_flight = 1;
	http_respond_error(r, status, code, message);
}

/* ---- parsing ---- */

static struct http_conn *parser_conn(http_parser *p)
{
	return p->data;
}

static int head_add(struct http_conn *c, size_t n)
{
	c->head_len += n;
	if (c->head_len > HTTP_MAX_HEAD) {
		c->error_status = 431;
		return -1;
	}
	return 0;
}

static int on_message_begin(http_parser *p)
{
	request_reset(parser_conn(p));
	return 0;
}

static int on_url(http_parser *p, const char *at, size_t n)
{
	struct http_conn *c = parser_conn(p);
	if (head_add(c, n) || buf_append(&c->url, at, n)) {
		c->error_status = 431;
		return -1;
	}
	return 0;
}

static int on_header_field(http_parser *p, const char *at, size_t n)
{
	struct http_conn *c = parser_conn(p);
	if (head_add(c, n + 4))
		return -1;
	int rc = 0;
	if (c->last_was_value) {
		rc = buf_putc(&c->hdrs, 0);
		c->last_was_value = 0;
	}
	if (rc || buf_append(&c->hdrs, at, n)) {
		c->error_status = 431;
		return -1;
	}
	return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t n)
{
	struct http_conn *c = parser_conn(p);
	if (head_add(c, n))
		return -1;
	int rc = 0;
	if (!c->last_was_value) {
		rc = buf_putc(&c->hdrs, 0);
		c->last_was_value = 1;
	}
	if (rc || buf_append(&c->hdrs, at, n)) {
		c->error_status = 431;
		return -1;
	}
	return 0;
}

static int on_headers_complete(http_parser *p)
{
	struct http_conn *c = parser_conn(p);
	if (c->last_was_value && buf_putc(&c->hdrs, 0)) {
		c->error_status = 431;
		return -1;
	}
	/* A header name with no value at all still gets its empty value. */
	if (!c->last_was_value && c->hdrs.len && (buf_putc(&c->hdrs, 0) || buf_putc(&c->hdrs, 0))) {
		c->error_status = 431;
		return -1;
	}
	if (p->http_major != 1) {
		c->error_status = 505;
		return -1;
	}
	if (p->flags & F_CHUNKED) {
		c->error_status = 411;
		return -1;
	}
	if (p->content_length != ULLONG_MAX && p->content_length > c->srv->max_body) {
		c->error_status = 413;
		return -1;
	}
	return 0;
}

static int on_body(http_parser *p, const char *at, size_t n)
{
	struct http_conn *c = parser_conn(p);
	if (buf_append(&c->body, at, n)) {
		c->error_status = 413;
		return -1;
	}
	return 0;
}

static int on_message_complete(http_parser *p)
{
	struct http_conn *c = parser_conn(p);
	c->complete = 1;
	http_parser_pause(p, 1);
	return 0;
}

static const http_parser_settings settings = {
	.on_message_begin = on_message_begin,
	.on_url = on_url,
	.on_header_field = on_header_field,
	.on_header_value = on_header_value,
	.on_headers_complete = on_headers_complete,
	.on_body = on_body,
	.on_message_complete = on_message_complete,
};

const char *http_request_header(const struct http_request *r, const char *name)
{
	const struct buf *h = &r->conn->hdrs;
	size_t off = 0;
	while (off < h->len) {
		const char *n = (const char *)h->data + off;
		size_t nl = strlen(n);
		if (off + nl >= h->len) /* a name without its value */
			break;
		const char *v = n + nl + 1;
		if (!strcasecmp(n, name))
			return v;
		off += nl + 1 + strlen(v) + 1;
	}
	return NULL;
}

const char *http_request_peer(const struct http_request *r)
{
	return r->conn->peer;
}

static void dispatch(struct http_conn *c)
{
	struct http_server *s = c->srv;
	struct http_request *r = &c->req;
	r->conn = c;
	r->method = http_method_str((enum http_method)c->parser.method);
	r->start_ns = uv_hrtime();
	if (!http_should_keep_alive(&c->parser) || c->parser.upgrade)
		c->close_after = 1;

	struct http_parser_url u;
	http_parser_url_init(&u);
	char *url = (char *)c->url.data;
	if (!url || http_parser_parse_url(url, c->url.len, 0, &u) ||
	    !(u.field_set & (1 << UF_PATH))) {
		r->path = "";
		c->close_after = 1;
		layer_error(c, 400, "bad_request", "Requête HTTP mal formée.");
		return;
	}
	/* Cut the URL in place into path and query. */
	url[u.field_data[UF_PATH].off + u.field_data[UF_PATH].len] = 0;
	r->path = url + u.field_data[UF_PATH].off;
	if (u.field_set & (1 << UF_QUERY)) {
		url[u.field_data[UF_QUERY].off + u.field_data[UF_QUERY].len] = 0;
		r->query = url + u.field_data[UF_QUERY].off;
	} else {
		r->query = "";
	}
	r->body = c->body.data ? c->body.data : (const unsigned char *)"";
	r->body_len = c->body.len;

	c->in_flight = 1;
	conn_touch(c);
	if (s->stopping) {
		c->close_after = 1;
		http_respond_error(r, 503, "shutting_down", "Le serveur s'arrête ; réessayez dans un instant.");
		return;
	}
	int path_known = 0;
	for (size_t i = 0; i < s->nroutes; i++) {
		const struct route *rt = &s->routes[i];
		if (rt->pattern) {
			buf_reset(&c->params);
			if (!http_pattern_match(rt->path, r->path, &c->params))
				continue;
		} else if (strcmp(rt->path, r->path)) {
			continue;
		}
		path_known = 1;
		if (!strcmp(rt->method, r->method)) {
			rt->fn(r, rt->arg);
			return;
		}
	}
	buf_reset(&c->params);
	if (s->fallback)
		s->fallback(r, s->fallback_arg);
	else if (path_known)
		http_respond_error(r, 405, "method", "Méthode non autorisée pour ce chemin.");
	else
		http_respond_error(r, 404, "not_found", "Chemin inconnu.");
}

static void parse_error(struct http_conn *c)
{
	c->close_after = 1;
	switch (c->error_status) {
	case 411:
		layer_error(c, 411, "bad_request",
			    "Les envois fragmentés (chunked) ne sont pas acceptés : indiquez Content-Length.");
		break;
	case 413:
		layer_error(c, 413, "too_big", "Le corps de la requête dépasse 16 Mio.");
		break;
	case 431:
		layer_error(c, 431, "bad_request", "La ligne de requête et les en-têtes dépassent 16 Kio.");
		break;
	case 505:
		layer_error(c, 505, "bad_request", "Seul HTTP/1.x est pris en charge.");
		break;
	default:
		layer_error(c, 400, "bad_request", "Requête HTTP mal formée.");
		break;
	}
}

/* Parses pending bytes, dispatching each complete request in turn, until the
 * bytes run out, a request is in flight or the connection must close. */
static void process_input(struct http_conn *c)
{
	c->processing = 1;
	/* The next request waits until the previous answer is written, so a
	 * peer that pipelines without reading cannot pile answers up here. */
	while (!c->closing && !c->in_flight && !c->writing && !c->close_after &&
	       c->pending_off < c->pending_len) {
		if (HTTP_PARSER_ERRNO(&c->parser) == HPE_PAUSED)
			http_parser_pause(&c->parser, 0);
		const char *data = c->pending + c->pending_off;
		size_t len = c->pending_len - c->pending_off;
		size_t n = http_parser_execute(&c->parser, &settings, data, len);
		enum http_errno e = HTTP_PARSER_ERRNO(&c->parser);
		if (e != HPE_OK && e != HPE_PAUSED) {
			if (!c->error_status)
				c->error_status = 400;
			parse_error(c);
			break;
		}
		c->pending_off += n;
		if (c->complete) {
			c->complete = 0;
			dispatch(c);
		} else if (n < len && e == HPE_OK) {
			/* The parser stopped without an error or a message: give up. */
			c->error_status = 400;
			parse_error(c);
			break;
		}
	}
	if (c->pending_off >= c->pending_len) {
		free(c->pending);
		c->pending = NULL;
		c->pending_len = c->pending_off = 0;
	}
	c->processing = 0;
	if (c->closing) {
		conn_maybe_free(c);
		return;
	}
	read_update(c);
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
	(void)h;
	(void)hint;
	b->base = malloc(READ_SIZE);
	b->len = b->base ? READ_SIZE : 0;
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *b)
{
	struct http_conn *c = st->data;
	if (nread < 0) {
		free(b->base);
		/* EOF or reset; a partial request is simply dropped. */
		conn_close(c);
		return;
	}
	if (nread == 0) {
		free(b->base);
		return;
	}
	conn_touch(c);
	/* Reading only runs when nothing is pending (see read_update). */
	free(c->pending);
	c->pending = b->base;
	c->pending_len = (size_t)nread;
	c->pending_off = 0;
	process_input(c);
}

/* Reads only when the connection can take a new request, so a peer cannot
 * make us buffer more than one read ahead. */
static void read_update(struct http_conn *c)
{
	int want = !c->closing && !c->in_flight && !c->writing && !c->close_after && !c->pending;
	if (want == c->reading)
		return;
	if (want) {
		if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) < 0) {
			conn_close(c);
			return;
		}
	} else {
		uv_read_stop((uv_stream_t *)&c->tcp);
	}
	c->reading = want;
}

/* ---- server ---- */

static void on_connection(uv_stream_t *ls, int status)
{
	struct http_server *s = ls->data;
	if (status < 0 || s->stopping)
		return;
	struct http_conn *c = calloc(1, sizeof(*c));
	if (!c)
		return;
	c->srv = s;
	buf_init(&c->url, HTTP_MAX_HEAD);
	buf_init(&c->hdrs, HTTP_MAX_HEAD + 64);
	buf_init(&c->body, s->max_body);
	buf_init(&c->params, HTTP_MAX_HEAD);
	http_parser_init(&c->parser, HTTP_REQUEST);
	c->parser.data = c;
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	uv_tcp_init(s->loop, &c->tcp);
	uv_timer_init(s->loop, &c->timer);
	c->tcp.data = c;
	c->timer.data = c;
	c->open_handles = 2;
	if (uv_accept(ls, (uv_stream_t *)&c->tcp) < 0) {
		conn_close(c);
		return;
	}
	struct sockaddr_storage peer;
	int plen = sizeof(peer);
	if (!uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&peer, &plen)) {
		if (peer.ss_family == AF_INET)
			uv_ip4_name((const struct sockaddr_in *)&peer, c->peer, sizeof(c->peer));
		else if (peer.ss_family == AF_INET6)
			uv_ip6_name((const struct sockaddr_in6 *)&peer, c->peer, sizeof(c->peer));
	}
	uv_tcp_nodelay(&c->tcp, 1);
	/* The idle timer stops while an answer is written; keepalive finds a
	 * peer that vanished meanwhile. */
	uv_tcp_keepalive(&c->tcp, 1, 60);
	conn_touch(c);
	read_update(c);
}

int http_server_new(uv_loop_t *loop, const struct http_server_config *cfg,
		    struct http_server **out)
{
	struct http_server *s = calloc(1, sizeof(*s));
	if (!s)
		return RELAIS_ENOMEM;
	s->loop = loop;
	s->max_body = cfg && cfg->max_body ? cfg->max_body : HTTP_MAX_BODY;
	s->idle_ms = cfg && cfg->idle_timeout_ms ? cfg->idle_timeout_ms : HTTP_IDLE_TIMEOUT_MS;
	s->quiet = cfg ? cfg->quiet : 0;
	*out = s;
	return 0;
}

/* Length of the segment starting at p (up to '/' or the end). */
static size_t seg_len(const char *p)
{
	return strcspn(p, "/");
}

int http_pattern_match(const char *pattern, const char *path, struct buf *params)
{
	const char *p = pattern, *q = path;
	for (;;) {
		if (*p != '/' || *q != '/')
			return !*p && !*q;
		p++;
		q++;
		size_t pl = seg_len(p), ql = seg_len(q);
		if (pl >= 3 && p[0] == '{' && p[1] == '*' && p[pl - 1] == '}' && !p[pl]) {
			if (!*q)
				return 0;
			return !params || !(buf_append(params, p + 2, pl - 3) || buf_putc(params, 0) ||
					    buf_puts(params, q) || buf_putc(params, 0));
		}
		if (pl >= 2 && p[0] == '{' && p[pl - 1] == '}') {
			if (!ql)
				return 0;
			if (params && (buf_append(params, p + 1, pl - 2) || buf_putc(params, 0) ||
				       buf_append(params, q, ql) || buf_putc(params, 0)))
				return 0;
		} else if (pl != ql || memcmp(p, q, pl)) {
			return 0;
		}
		p += pl;
		q += ql;
	}
}

int http_server_route(struct http_server *s, const char *method, const char *path,
		      http_handler_fn fn, void *arg)
{
	if (!method || !path || path[0] != '/' || !fn)
		return RELAIS_EINVAL;
	if (s->nroutes == HTTP_MAX_ROUTES)
		return RELAIS_ETOOBIG;
	if (s->nroutes == s->aroutes) {
		size_t n = s->aroutes ? 2 * s->aroutes : 16;
		struct route *r = realloc(s->routes, n * sizeof(*r));
		if (!r)
			return RELAIS_ENOMEM;
		s->routes = r;
		s->aroutes = n;
	}
	int pattern = strchr(path, '{') != NULL;
	s->routes[s->nroutes++] = (struct route){ method, path, pattern, fn, arg };
	return 0;
}

void http_server_fallback(struct http_server *s, http_handler_fn fn, void *arg)
{
	s->fallback = fn;
	s->fallback_arg = arg;
}

const char *http_request_param(const struct http_request *r, const char *name)
{
	const struct buf *p = &r->conn->params;
	size_t off = 0;
	while (off < p->len) {
		const char *n = (const char *)p->data + off;
		const char *v = n + strlen(n) + 1;
		if (!strcmp(n, name))
			return v;
		off = (size_t)(v + strlen(v) + 1 - (const char *)p->data);
	}
	return NULL;
}

int http_server_listen(struct http_server *s, const char *host, int port, int *bound)
{
	struct sockaddr_in addr;
	if (port < 0 || port > 65535 || uv_ip4_addr(host, port, &addr))
		return RELAIS_EINVAL;
	if (!s->listening) {
		if (uv_tcp_init(s->loop, &s->listener))
			return RELAIS_EIO;
		s->listener.data = s;
		s->listening = 1;
	}
	if (uv_tcp_bind(&s->listener, (const struct sockaddr *)&addr, 0) ||
	    uv_listen((uv_stream_t *)&s->listener, HTTP_BACKLOG, on_connection))
		return RELAIS_EIO;
	struct sockaddr_storage ss;
	int len = sizeof(ss);
	if (uv_tcp_getsockname(&s->listener, (struct sockaddr *)&ss, &len))
		return RELAIS_EIO;
	*bound = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	return 0;
}

int http_server_stopping(const struct http_server *s)
{
	return s->stopping;
}

static void on_listener_closed(uv_handle_t *h)
{
	struct http_server *s = h->data;
	s->listening = 0;
	server_maybe_done(s);
}

void http_server_close(struct http_server *s, void (*cb)(void *arg), void *arg)
{
	if (!s || s->stopping)
		return;
	s->stopping = 1;
	s->close_cb = cb;
	s->close_arg = arg;
	struct http_conn *c = s->conns, *next;
	for (; c; c = next) {
		next = c->next;
		c->close_after = 1;
		if (!c->in_flight)
			conn_close(c);
	}
	if (s->listening) {
		uv_close((uv_handle_t *)&s->listener, on_listener_closed);
		return;
	}
	server_maybe_done(s);
}
