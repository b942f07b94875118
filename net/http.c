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
 *
 * One timer per connection serves both clocks: idleness (no byte read or
 * written) and the request's deadline (head, then body), whichever falls
 * first. Connections are counted per peer address in a hash table that
 * holds only addresses with an open connection, so it is bounded by the
 * global cap.
 */
#include <assert.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <http_parser.h>
#include <jansson.h>
#include "../common/buf.h"
#include "../common/util.h"
#include "http.h"

#define READ_SIZE (64u << 10)
#define ADDR_MAX 48             /* an IPv6 address as text, with the NUL */
#define PEER_BUCKETS 4096u
#define LOG_SLOTS 64
#define LOG_PERIOD_MS 60000u

/* Admitted connections of one peer address. */
struct peer_count {
	struct peer_count *next;
	unsigned conns;
	char addr[ADDR_MAX];
};

/* Why a connection was refused or cut, for the log. */
enum cut { CUT_PER_ADDR, CUT_GLOBAL, CUT_HEAD, CUT_BODY };

/* Refusals or cuts of one address and kind since the last line. */
struct log_slot {
	char addr[ADDR_MAX];
	enum cut kind;
	unsigned long count;
};

/* Where the current request is, for its deadline. */
enum phase {
	PH_IDLE,                /* between requests: the idle timeout only */
	PH_HEAD,                /* bytes of a head came: the head deadline */
	PH_BODY                 /* the head is complete: the body deadline */
};

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
	unsigned idle_ms, head_ms, body_ms;
	int quiet;
	unsigned per_addr;      /* per-address cap */
	unsigned max_conns;     /* global cap */
	unsigned reserve;       /* the last slots of the global cap, for light addresses */
	unsigned nconns;        /* admitted connections whose socket is open */
	struct peer_count **peers; /* PEER_BUCKETS chains */
	char exempt[HTTP_MAX_EXEMPT][ADDR_MAX];
	size_t nexempt;
	http_handler_fn expect;
	void *expect_arg;
	uv_timer_t log_timer;
	int log_timer_open;     /* initialised and not yet closed */
	struct log_slot logs[LOG_SLOTS];
	size_t nlogs;
	unsigned long log_others; /* refusals and cuts that found no free slot */
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
	char peer[ADDR_MAX];   /* the peer's address, "" when unknown */
	struct peer_count *counted; /* its entry while admitted, else NULL */

	/* clocks (uv_now() milliseconds) */
	uint64_t active;       /* last byte read or written */
	enum phase phase;
	int msg_begun;         /* the head has more than blank lines */
	uint64_t head_start, body_start;
	uint64_t body_received;
	int deadline_armed;    /* the timer runs for the deadline, not idleness */

	/* the request being parsed */
	struct buf url;
	struct buf hdrs;       /* "name\0value\0" pairs */
	int last_was_value;
	size_t head_len;
	struct buf body;
	struct buf params;     /* path parameters of the matched pattern: "name\0value\0" */
	int error_status;      /* answer to give instead of dispatching */
	int complete;
	int prepared;          /* req's method, path and query are set */
	int expect_continue;   /* the head waits for "100 Continue" */
	int http10;            /* the request is HTTP/1.0: keep-alive must be said */
	int checking;          /* the expect check holds the request */
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
	if (!s->stopping || s->listening || s->log_timer_open || s->conns)
		return;
	void (*cb)(void *) = s->close_cb;
	void *arg = s->close_arg;
	/* Every connection released its count when it closed. */
	free(s->peers);
	free(s->routes);
	free(s);
	if (cb)
		cb(arg);
}

/* ---- connection caps ---- */

static unsigned peer_bucket(const char *addr)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	for (const unsigned char *p = (const unsigned char *)addr; *p; p++)
		h = (h ^ *p) * 16777619u;
	return h % PEER_BUCKETS;
}

static struct peer_count *peer_find(const struct http_server *s, const char *addr)
{
	struct peer_count *p = s->peers[peer_bucket(addr)];
	while (p && strcmp(p->addr, addr))
		p = p->next;
	return p;
}

static int peer_exempt(const struct http_server *s, const char *addr)
{
	for (size_t i = 0; i < s->nexempt; i++)
		if (!strcmp(s->exempt[i], addr))
			return 1;
	return 0;
}

/*
 * Counts c against its peer address and the global cap when it may stay.
 * Returns 0 then, else 1 with the cap that refuses it in *why. Past the
 * global cap less its reserve, only addresses that hold few connections
 * get in: one greedy address cannot lock a normal client out.
 */
static int conn_admit(struct http_conn *c, enum cut *why)
{
	struct http_server *s = c->srv;
	struct peer_count *p = peer_find(s, c->peer);
	unsigned held = p ? p->conns : 0;
	int exempt = peer_exempt(s, c->peer);
	if (!exempt && held >= s->per_addr) {
		*why = CUT_PER_ADDR;
		return 1;
	}
	if (s->nconns >= s->max_conns ||
	    (!exempt && held >= HTTP_RESERVE_FEW && s->nconns >= s->max_conns - s->reserve)) {
		*why = CUT_GLOBAL;
		return 1;
	}
	if (!p) {
		p = calloc(1, sizeof(*p));
		if (!p) {
			*why = CUT_GLOBAL;
			return 1;
		}
		snprintf(p->addr, sizeof(p->addr), "%s", c->peer);
		unsigned b = peer_bucket(p->addr);
		p->next = s->peers[b];
		s->peers[b] = p;
	}
	p->conns++;
	s->nconns++;
	c->counted = p;
	return 0;
}

/* Gives back c's place once its socket is closed. */
static void conn_release(struct http_conn *c)
{
	struct http_server *s = c->srv;
	struct peer_count *p = c->counted;
	if (!p)
		return;
	c->counted = NULL;
	s->nconns--;
	if (--p->conns)
		return;
	struct peer_count **pp = &s->peers[peer_bucket(p->addr)];
	while (*pp != p)
		pp = &(*pp)->next;
	*pp = p->next;
	free(p);
}

/* ---- the log of refusals and cuts ---- */

static void log_cut(enum cut kind, const char *addr, unsigned limit, unsigned long n)
{
	const char *s = n > 1 ? "s" : "";
	if (!*addr)
		addr = "une adresse inconnue";
	switch (kind) {
	case CUT_PER_ADDR:
		if (!n)
			fprintf(stderr, "connexions : %s a atteint la limite de %u connexion%s simultanée%s "
				"par adresse, connexion refusée\n", addr, limit, util_pluriel(limit),
				util_pluriel(limit));
		else
			fprintf(stderr, "connexions : %s a atteint la limite de %u connexion%s simultanée%s "
				"par adresse, %lu autre%s connexion%s refusée%s en 1 min\n", addr, limit,
				util_pluriel(limit), util_pluriel(limit), n, s, s, s);
		break;
	case CUT_GLOBAL:
		if (!n)
			fprintf(stderr, "connexions : plafond de %u connexion%s atteint, connexion de %s "
				"refusée\n", limit, util_pluriel(limit), addr);
		else
			fprintf(stderr, "connexions : plafond de %u connexion%s atteint, %lu autre%s "
				"connexion%s de %s refusée%s en 1 min\n", limit, util_pluriel(limit), n, s, s,
				addr, s);
		break;
	case CUT_HEAD:
		if (!n)
			fprintf(stderr, "connexions : en-tête de requête de %s incomplet après %u s, "
				"connexion fermée\n", addr, limit);
		else
			fprintf(stderr, "connexions : en-tête de requête incomplet après %u s, %lu autre%s "
				"connexion%s de %s fermée%s en 1 min\n", limit, n, s, s, addr, s);
		break;
	case CUT_BODY:
		if (!n)
			fprintf(stderr, "connexions : corps de requête de %s trop lent, connexion "
				"fermée\n", addr);
		else
			fprintf(stderr, "connexions : corps de requête trop lent, %lu autre%s connexion%s "
				"de %s fermée%s en 1 min\n", n, s, s, addr, s);
		break;
	}
}

static unsigned cut_limit(const struct http_server *s, enum cut kind)
{
	switch (kind) {
	case CUT_PER_ADDR:
		return s->per_addr;
	case CUT_GLOBAL:
		return s->max_conns;
	case CUT_HEAD:
		return s->head_ms / 1000;
	case CUT_BODY:
		return s->body_ms / 1000;
	}
	return 0;
}

/* Reports the counts gathered since the last line; a slot that saw nothing
 * is freed, so that the next refusal of its address is told at once. */
static void log_flush(struct http_server *s)
{
	size_t kept = 0;
	for (size_t i = 0; i < s->nlogs; i++) {
		struct log_slot *l = &s->logs[i];
		if (!l->count)
			continue;
		log_cut(l->kind, l->addr, cut_limit(s, l->kind), l->count);
		l->count = 0;
		s->logs[kept++] = *l;
	}
	s->nlogs = kept;
	if (s->log_others)
		fprintf(stderr, "connexions : %lu autre%s connexion%s refusée%s ou fermée%s en 1 min "
			"(adresses trop nombreuses pour être détaillées)\n", s->log_others,
			s->log_others > 1 ? "s" : "", s->log_others > 1 ? "s" : "",
			s->log_others > 1 ? "s" : "", s->log_others > 1 ? "s" : "");
	s->log_others = 0;
}

static void on_log_timer(uv_timer_t *t)
{
	struct http_server *s = t->data;
	log_flush(s);
	if (!s->nlogs)
		uv_timer_stop(t);
}

/*
 * Logs a refusal or a cut of c. The first one of an address and kind is told
 * at once; the next ones are counted and told once a minute, so that a flood
 * costs at most LOG_SLOTS + 1 lines a minute.
 */
static void note_cut(struct http_conn *c, enum cut kind)
{
	struct http_server *s = c->srv;
	if (s->stopping)
		return;
	for (size_t i = 0; i < s->nlogs; i++) {
		if (s->logs[i].kind == kind && !strcmp(s->logs[i].addr, c->peer)) {
			s->logs[i].count++;
			return;
		}
	}
	if (!s->log_timer_open) {
		if (uv_timer_init(s->loop, &s->log_timer))
			return;
		s->log_timer.data = s;
		/* Nothing to wait for: it must not keep the loop alive. */
		uv_unref((uv_handle_t *)&s->log_timer);
		s->log_timer_open = 1;
	}
	if (s->nlogs == LOG_SLOTS) {
		s->log_others++;
	} else {
		struct log_slot *l = &s->logs[s->nlogs++];
		snprintf(l->addr, sizeof(l->addr), "%s", c->peer);
		l->kind = kind;
		l->count = 0;
		log_cut(kind, c->peer, cut_limit(s, kind), 0);
	}
	if (!uv_is_active((uv_handle_t *)&s->log_timer))
		uv_timer_start(&s->log_timer, on_log_timer, LOG_PERIOD_MS, LOG_PERIOD_MS);
}

/* ---- connections ---- */

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
	/* uv_close() closes the socket now: its place is free at once. */
	conn_release(c);
	uv_close((uv_handle_t *)&c->timer, on_handle_closed);
	uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
}

static void conn_refuse(struct http_conn *c, int status, const char *code, const char *message);

static void on_timer(uv_timer_t *t)
{
	struct http_conn *c = t->data;
	/* Idleness, or blank lines only: nobody to answer. */
	if (!c->deadline_armed || !c->msg_begun) {
		conn_close(c);
		return;
	}
	if (c->phase == PH_BODY) {
		note_cut(c, CUT_BODY);
		conn_refuse(c, 408, "timeout", "Le corps de la requête arrive trop lentement : "
			    "connexion fermée.");
	} else {
		note_cut(c, CUT_HEAD);
		conn_refuse(c, 408, "timeout", "L'en-tête de la requête n'est pas arrivé à temps : "
			    "connexion fermée.");
	}
}

/* (Re)starts c's timer for whichever comes first: the idle timeout after
 * the last byte, or the deadline of the request being read. */
static void conn_arm(struct http_conn *c)
{
	struct http_server *s = c->srv;
	if (c->closing)
		return;
	/* A slow link may take minutes to take a large page: the clocks run
	 * only while we wait for the peer to send. */
	if (c->in_flight || c->writing) {
		uv_timer_stop(&c->timer);
		return;
	}
	uint64_t due = c->active + s->idle_ms, deadline = UINT64_MAX;
	if (c->phase == PH_HEAD)
		deadline = c->head_start + s->head_ms;
	else if (c->phase == PH_BODY)
		deadline = c->body_start + s->body_ms + c->body_received * 1000 / HTTP_BODY_MIN_RATE;
	c->deadline_armed = deadline <= due;
	if (c->deadline_armed)
		due = deadline;
	uint64_t now = uv_now(s->loop);
	uv_timer_start(&c->timer, on_timer, due > now ? due - now : 0, 0);
}

/* Notes activity on c (a byte read or written) and rearms its timer. */
static void conn_touch(struct http_conn *c)
{
	c->active = uv_now(c->srv->loop);
	conn_arm(c);
}

/* ---- answers ---- */

const char *http_status_text(int status)
{
	switch (status) {
	case 100: return "Continue";
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
	case 417: return "Expectation Failed";
	case 421: return "Misdirected Request";
	case 422: return "Unprocessable Entity";
	case 429: return "Too Many Requests";
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

/* ctype NULL: no Content-Type (a body whose path says what it is).
 * keep_alive: 0 closes ("Connection: close"), 1 says keep-alive (HTTP/1.0
 * needs it), 2 keeps alive silently (the HTTP/1.1 default: bytes count on a
 * rural link). */
static char *format_head(int status, const char *ctype, const char *extra, size_t len,
			 int keep_alive, size_t *headlen)
{
	struct buf b = BUF_INIT(HTTP_MAX_HEAD);
	if (buf_printf(&b, "HTTP/1.1 %d %s\r\n%s%s%sContent-Length: %zu\r\n"
		       "%s%s\r\n", status, http_status_text(status),
		       ctype ? "Content-Type: " : "", ctype ? ctype : "", ctype ? "\r\n" : "", len,
		       keep_alive == 2 ? "" : keep_alive ? "Connection: keep-alive\r\n" :
		       "Connection: close\r\n", extra ? extra : "")) {
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

/*
 * Answers without waiting and closes: for a connection that may not stay, or
 * a peer too slow to be waited for. Nothing is queued on c (no answer is being
 * written), so the answer goes straight to the socket, and only if it takes
 * it at once; MSG_NOSIGNAL, since the peer may be gone already. What the peer
 * sent is dropped first: closing over unread bytes would reset the
 * connection before the peer read the answer.
 */
static void conn_refuse(struct http_conn *c, int status, const char *code, const char *message)
{
	size_t blen = 0, hlen = 0;
	uv_os_fd_t fd;
	char *body = error_json(code, message, &blen);
	char *head = body ? format_head(status, "application/json; charset=utf-8", NULL, blen, 0,
					&hlen) : NULL;
	if (head && !uv_fileno((uv_handle_t *)&c->tcp, &fd)) {
		struct iovec iov[2] = { { head, hlen }, { body, blen } };
		struct msghdr m = { .msg_iov = iov, .msg_iovlen = 2 };
		(void)sendmsg(fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
		char junk[4096];
		for (int i = 0; i < 16 && recv(fd, junk, sizeof(junk), MSG_DONTWAIT) > 0; i++)
			;
	}
	free(head);
	free(body);
	conn_close(c);
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
	c->prepared = 0;
	c->expect_continue = 0;
	memset(&c->req, 0, sizeof(c->req));
}

void http_respond_take(struct http_request *r, int status, const char *content_type,
		       const char *extra_headers, void *body, size_t len)
{
	struct http_conn *c = r->conn;
	log_request(c, r->method, r->path, status, r->start_ns);
	if (c->srv->stopping)
		c->close_after = 1;
	/* Refused before its body was read: the body may still come, and it
	 * would read as a request of its own. */
	if (c->checking) {
		c->checking = 0;
		c->close_after = 1;
	}
	size_t headlen = 0;
	char *head = format_head(status, content_type, extra_headers, len,
				 c->close_after ? 0 : c->http10 ? 1 : 2, &headlen);
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

static const char *conn_header(const struct http_conn *c, const char *name)
{
	const struct buf *h = &c->hdrs;
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
	struct http_conn *c = parser_conn(p);
	request_reset(c);
	/* A pipelined request begins when the previous answer is written. */
	if (c->phase == PH_IDLE) {
		c->phase = PH_HEAD;
		c->head_start = uv_now(c->srv->loop);
	}
	c->msg_begun = 1;
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
	int has_body = p->content_length != ULLONG_MAX && p->content_length > 0;
	c->http10 = p->http_minor == 0;
	/* HTTP/1.0 clients may not wait for 100 (RFC 9110, 10.1.1). */
	const char *expect = p->http_minor >= 1 ? conn_header(c, "Expect") : NULL;
	if (expect) {
		size_t n = strlen(expect);
		while (n && (expect[n - 1] == ' ' || expect[n - 1] == '\t'))
			n--;
		if (n != 12 || strncasecmp(expect, "100-continue", 12)) {
			c->error_status = 417;
			return -1;
		}
		/* The parser stops here; process_input() runs the check. */
		if (has_body) {
			c->expect_continue = 1;
			http_parser_pause(p, 1);
		}
	}
	c->phase = PH_BODY;
	c->body_start = uv_now(c->srv->loop);
	c->body_received = 0;
	return 0;
}

static int on_body(http_parser *p, const char *at, size_t n)
{
	struct http_conn *c = parser_conn(p);
	if (buf_append(&c->body, at, n)) {
		c->error_status = 413;
		return -1;
	}
	c->body_received += n;
	return 0;
}

static int on_message_complete(http_parser *p)
{
	struct http_conn *c = parser_conn(p);
	c->complete = 1;
	c->phase = PH_IDLE;
	c->msg_begun = 0;
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
	return conn_header(r->conn, name);
}

const char *http_request_peer(const struct http_request *r)
{
	return r->conn->peer;
}

/* Fills c->req from the head: method, and path and query cut out of the
 * URL in place. Returns 0, or -1 after answering 400. */
static int request_prepare(struct http_conn *c)
{
	struct http_request *r = &c->req;
	if (c->prepared)
		return 0;
	r->conn = c;
	r->method = http_method_str((enum http_method)c->parser.method);
	r->start_ns = uv_hrtime();
	r->body = (const unsigned char *)"";

	struct http_parser_url u;
	http_parser_url_init(&u);
	char *url = (char *)c->url.data;
	if (!url || http_parser_parse_url(url, c->url.len, 0, &u) ||
	    !(u.field_set & (1 << UF_PATH))) {
		r->path = "";
		c->close_after = 1;
		layer_error(c, 400, "bad_request", "Requête HTTP mal formée.");
		return -1;
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
	c->prepared = 1;
	return 0;
}

static void dispatch(struct http_conn *c)
{
	struct http_server *s = c->srv;
	struct http_request *r = &c->req;
	if (request_prepare(c))
		return;
	/* Not before: "Connection: close" must not stop the body of a
	 * request that waited for "100 Continue". */
	if (!http_should_keep_alive(&c->parser) || c->parser.upgrade)
		c->close_after = 1;
	r->start_ns = uv_hrtime();
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
	case 417:
		layer_error(c, 417, "bad_request", "En-tête Expect non pris en charge : seul "
			    "« 100-continue » l'est.");
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

/* Sends "100 Continue": the body may come. */
static void send_continue(struct http_conn *c)
{
	static const char line[] = "HTTP/1.1 100 Continue\r\n\r\n";
	char *head = malloc(sizeof(line));
	if (!head) {
		conn_close(c);
		return;
	}
	memcpy(head, line, sizeof(line));
	conn_send(c, head, sizeof(line) - 1, NULL, 0);
	/* The client waited for us: its body's clock starts now. */
	c->body_start = uv_now(c->srv->loop);
}

/* A head asked for "100 Continue" and passed the layer's caps: the expect
 * check decides, or, without one, the body may come. */
static void expect_begin(struct http_conn *c)
{
	struct http_server *s = c->srv;
	c->expect_continue = 0;
	if (request_prepare(c))
		return;
	if (!s->expect) {
		send_continue(c);
		return;
	}
	c->checking = 1;
	c->in_flight = 1;
	conn_arm(c);
	s->expect(&c->req, s->expect_arg);
}

void http_continue(struct http_request *r)
{
	struct http_conn *c = r->conn;
	assert(c->checking);
	c->checking = 0;
	c->in_flight = 0;
	if (c->closing) {
		/* The peer left during the check. */
		request_reset(c);
		conn_maybe_free(c);
		return;
	}
	if (c->srv->stopping) {
		c->in_flight = 1;
		c->close_after = 1;
		http_respond_error(r, 503, "shutting_down",
				   "Le serveur s'arrête ; réessayez dans un instant.");
		return;
	}
	send_continue(c);
	conn_touch(c);
	if (!c->processing)
		process_input(c);
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
		} else if (c->expect_continue) {
			expect_begin(c);
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
	conn_arm(c);
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
	if (c->phase == PH_IDLE) {
		/* Even blank lines start the head's clock: a peer cannot hold
		 * the connection with them. */
		c->phase = PH_HEAD;
		c->head_start = uv_now(c->srv->loop);
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
	enum cut why;
	if (conn_admit(c, &why)) {
		note_cut(c, why);
		conn_refuse(c, 429, "too_many_connections", why == CUT_PER_ADDR
			    ? "Trop de connexions simultanées depuis votre adresse : réessayez quand "
			      "les précédentes seront terminées."
			    : "Le serveur a trop de connexions ouvertes : réessayez dans un instant.");
		return;
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
	s->peers = calloc(PEER_BUCKETS, sizeof(*s->peers));
	if (!s->peers) {
		free(s);
		return RELAIS_ENOMEM;
	}
	s->loop = loop;
	s->max_body = cfg && cfg->max_body ? cfg->max_body : HTTP_MAX_BODY;
	s->idle_ms = cfg && cfg->idle_timeout_ms ? cfg->idle_timeout_ms : HTTP_IDLE_TIMEOUT_MS;
	s->head_ms = cfg && cfg->head_timeout_ms ? cfg->head_timeout_ms : HTTP_HEAD_TIMEOUT_MS;
	s->body_ms = cfg && cfg->body_timeout_ms ? cfg->body_timeout_ms : HTTP_BODY_TIMEOUT_MS;
	s->quiet = cfg ? cfg->quiet : 0;
	s->per_addr = cfg && cfg->max_conns_per_addr ? cfg->max_conns_per_addr
						     : HTTP_MAX_CONNS_PER_ADDR;
	if (cfg && cfg->max_conns) {
		s->max_conns = cfg->max_conns;
	} else {
		struct rlimit rl;
		s->max_conns = http_conns_for_fds(getrlimit(RLIMIT_NOFILE, &rl) ? 1024
						  : (unsigned long)rl.rlim_cur);
	}
	s->reserve = s->max_conns / HTTP_RESERVE_DIV;
	*out = s;
	return 0;
}

unsigned http_conns_for_fds(unsigned long nofile)
{
	unsigned long n = nofile > 2 * HTTP_FD_RESERVE ? nofile - HTTP_FD_RESERVE : nofile / 2;
	if (n > HTTP_MAX_CONNS)
		n = HTTP_MAX_CONNS;
	return n ? (unsigned)n : 1;
}

void http_server_expect(struct http_server *s, http_handler_fn fn, void *arg)
{
	s->expect = fn;
	s->expect_arg = arg;
}

int http_server_exempt(struct http_server *s, const char *addr)
{
	if (s->nexempt == HTTP_MAX_EXEMPT)
		return RELAIS_ETOOBIG;
	if (strlen(addr) >= ADDR_MAX)
		return RELAIS_EINVAL;
	snprintf(s->exempt[s->nexempt++], ADDR_MAX, "%s", addr);
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

static void on_log_timer_closed(uv_handle_t *h)
{
	struct http_server *s = h->data;
	s->log_timer_open = 0;
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
	if (s->log_timer_open) {
		log_flush(s);
		uv_close((uv_handle_t *)&s->log_timer, on_log_timer_closed);
	}
	if (s->listening) {
		uv_close((uv_handle_t *)&s->listener, on_listener_closed);
		return;
	}
	server_maybe_done(s);
}
