/*
 * http.h - a small generic HTTP/1.1 server on a libuv loop.
 *
 * It knows routes, not sync: relaisd's API and relais ui register
 * handlers on (method, path) pairs. Parsing uses Debian's http_parser.
 *
 * Behaviour:
 * - keep-alive and pipelining; one request per connection is handled at a
 *   time (reading pauses while a handler works), so answers stay in order;
 * - bodies with Content-Length only: a chunked upload gets 411;
 * - hard caps: request line and headers (HTTP_MAX_HEAD), body (the server's
 *   max_body, HTTP_MAX_BODY by default): 431 or 413 as soon as passed;
 * - an idle connection (no byte read or written, no request in progress) is
 *   closed after the idle timeout;
 * - deadlines that bytes do not reset: a request head must be complete
 *   within the head timeout of its first byte, and a body must keep up
 *   HTTP_BODY_MIN_RATE after a grace of the body timeout; past either, 408
 *   (when it can be written without blocking) and the connection closes;
 * - "Expect: 100-continue" is answered "100 Continue" once the head passed
 *   the layer's caps and the expect check (see http_server_expect); a
 *   refused request gets its final answer without its body being read;
 * - connection caps: at most max_conns_per_addr at once from one peer
 *   address (but for exempt addresses, see http_server_exempt), at most
 *   max_conns in all, the last HTTP_RESERVE_DIV-th of them kept for
 *   addresses that hold fewer than HTTP_RESERVE_FEW connections, so one
 *   greedy address cannot lock others out. An extra connection is accepted,
 *   told 429 when that can be written without blocking, and closed;
 * - refusals and cut connections are logged on stderr, one line at the
 *   first one of an address and kind, then one line a minute with the
 *   count while they go on;
 * - one line per request on stderr: method, path (query left out), status,
 *   duration. Header values are never logged.
 *
 * Errors that the layer answers itself carry a JSON body
 * {"error": code, "message": French text}, as docs/protocol.md describes.
 *
 * Every function must be called on the loop thread.
 */
#ifndef RELAIS_NET_HTTP_H
#define RELAIS_NET_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>
#include "../common/relais.h"

#define HTTP_MAX_HEAD (16u << 10)       /* request line + headers */
#define HTTP_MAX_BODY (16u << 20)       /* default body cap */
#define HTTP_IDLE_TIMEOUT_MS 30000u     /* default idle timeout */
#define HTTP_HEAD_TIMEOUT_MS 10000u     /* default head deadline */
#define HTTP_BODY_TIMEOUT_MS 30000u     /* default body grace */
/* Bytes a second a body must average after its grace: a 16 MiB body has
 * 30 s + 68 min at most, a client that keeps up is never cut. */
#define HTTP_BODY_MIN_RATE 4096u
#define HTTP_MAX_CONNS_PER_ADDR 32u     /* default per-address cap */
/* Descriptors left to everything but connections (store, logs, pool,
 * mail gateway) when the global cap is sized from RLIMIT_NOFILE. */
#define HTTP_FD_RESERVE 128u
#define HTTP_MAX_CONNS 65536u           /* ceiling of the global cap */
#define HTTP_RESERVE_DIV 16u            /* share of the global cap kept free ... */
#define HTTP_RESERVE_FEW 4u             /* ... for addresses holding fewer than this */
#define HTTP_MAX_EXEMPT 8
#define HTTP_MAX_ROUTES 512
/* Pending connections the kernel may queue: a burst of clients that all
 * connect at once must not wait for SYN retransmissions. */
#define HTTP_BACKLOG 1024

struct http_server;
struct http_conn;

/*
 * One request. Valid from the handler call until http_respond*() returns;
 * the handler must answer exactly once, on the loop thread, possibly later
 * (e.g. from the after-work callback of uv_queue_work). Strings are
 * NUL-terminated; body is followed by a NUL byte too (not counted).
 */
struct http_request {
	const char *method;        /* "GET", "POST", ... */
	const char *path;          /* raw path, query left out, never "" */
	const char *query;         /* raw query after '?', "" when none */
	const unsigned char *body; /* never NULL */
	size_t body_len;
	uint64_t start_ns;         /* uv_hrtime() when the request was complete */
	void *data;                /* free for the handler's use */
	struct http_conn *conn;    /* internal */
};

typedef void (*http_handler_fn)(struct http_request *req, void *arg);

struct http_server_config {
	size_t max_body;           /* 0: HTTP_MAX_BODY */
	unsigned idle_timeout_ms;  /* 0: HTTP_IDLE_TIMEOUT_MS */
	int quiet;                 /* 1: no request log */
	unsigned head_timeout_ms;  /* 0: HTTP_HEAD_TIMEOUT_MS */
	unsigned body_timeout_ms;  /* 0: HTTP_BODY_TIMEOUT_MS */
	unsigned max_conns_per_addr; /* 0: HTTP_MAX_CONNS_PER_ADDR */
	unsigned max_conns;        /* 0: http_conns_for_fds() of the current
				      soft RLIMIT_NOFILE */
};

/* The global cap for a process allowed nofile descriptors: nofile less
 * HTTP_FD_RESERVE (half of nofile when that leaves too little), at most
 * HTTP_MAX_CONNS, at least 1. */
unsigned http_conns_for_fds(unsigned long nofile);

/* Creates a server on loop (cfg may be NULL for the defaults). Free it with
 * http_server_close(), also when listen failed. */
int http_server_new(uv_loop_t *loop, const struct http_server_config *cfg,
		    struct http_server **out) RELAIS_WUR;

/*
 * Adds a route. path is either an exact path, or a pattern: segments
 * "{name}" match any one non-empty segment and a final "{*name}" any
 * non-empty rest ("/static/{*f}" matches "/static/a/b", not "/static/"),
 * their raw values read back with http_request_param(). Routes are tried in
 * the order they were added. A path that matches with another method gets
 * 405, an unknown path 404, unless a fallback is set. RELAIS_ETOOBIG past
 * HTTP_MAX_ROUTES, RELAIS_EINVAL for a path not starting with '/'. The
 * strings must outlive the server.
 */
int http_server_route(struct http_server *s, const char *method, const char *path,
		      http_handler_fn fn, void *arg) RELAIS_WUR;

/* Sets the handler of every request that no route takes (instead of the
 * layer's JSON 404 and 405); NULL restores those. */
void http_server_fallback(struct http_server *s, http_handler_fn fn, void *arg);

/*
 * Sets the check of requests that carry "Expect: 100-continue" and a body,
 * once their head passed the layer's own caps. fn sees the request with an
 * empty body (method, path, query, headers; no route parameters) and either
 * calls http_continue(r), then the layer sends "100 Continue", reads the
 * body and dispatches the request as usual, or answers it with
 * http_respond*(): the body is then never read and the connection closes.
 * Either may come later, on the loop thread. Without a check (NULL) every
 * such request is continued.
 */
void http_server_expect(struct http_server *s, http_handler_fn fn, void *arg);

/* Lets the request that the expect check holds go on (see above). */
void http_continue(struct http_request *r);

/*
 * Exempts a peer address (text, as http_request_peer() gives it) from the
 * per-address cap and the reserve: a reverse proxy carries many clients on
 * its connections and limits them itself. The global cap still holds.
 * RELAIS_ETOOBIG past HTTP_MAX_EXEMPT, RELAIS_EINVAL when too long.
 */
int http_server_exempt(struct http_server *s, const char *addr) RELAIS_WUR;

/* The raw (still percent-encoded) value of the pattern segment "{name}" of
 * the route that took r, or NULL. Valid as long as r. */
const char *http_request_param(const struct http_request *r, const char *name);

/*
 * Matches path against a route pattern (see http_server_route). Returns 1
 * on a match, appending each parameter name and its raw value to params (when not
 * NULL) as "name\0value\0"; 0 otherwise (also when params is full).
 */
struct buf;
int http_pattern_match(const char *pattern, const char *path, struct buf *params);

/* Listens on an IPv4 address ("127.0.0.1") and port (0 picks a free one);
 * *bound receives the port actually bound. RELAIS_EINVAL for a bad address,
 * RELAIS_EIO when the port cannot be bound. */
int http_server_listen(struct http_server *s, const char *host, int port,
		       int *bound) RELAIS_WUR;

/* Returns 1 once http_server_close() was called. */
int http_server_stopping(const struct http_server *s);

/*
 * Graceful stop: closes the listener and idle connections at once; a
 * connection with a request in progress is closed after its answer is
 * written. When every handle is closed, calls cb(arg) (if not NULL) and
 * frees the server. Accepts NULL.
 */
void http_server_close(struct http_server *s, void (*cb)(void *arg), void *arg);

/* Value of header name (case-insensitive), or NULL. The first one wins. */
const char *http_request_header(const struct http_request *r, const char *name);

/* The peer's IP address as text ("127.0.0.1"), "" when unknown. Valid as
 * long as r. */
const char *http_request_peer(const struct http_request *r);

/*
 * Answers r and ends it: r is invalid afterwards. extra_headers, when not
 * NULL, is a block of complete "Name: value\r\n" lines. http_respond copies
 * body; http_respond_take takes a malloc'd body and frees it. If the peer has
 * gone meanwhile the answer is dropped (and still logged). content_type NULL
 * sends no Content-Type. An HTTP/1.1 answer that keeps the connection says
 * nothing of it (the default); "Connection: close" and, for HTTP/1.0,
 * "Connection: keep-alive" are said.
 */
void http_respond(struct http_request *r, int status, const char *content_type,
		  const char *extra_headers, const void *body, size_t len);
void http_respond_take(struct http_request *r, int status, const char *content_type,
		       const char *extra_headers, void *body, size_t len);
/* Answers with the JSON body {"error": code, "message": message}. */
void http_respond_error(struct http_request *r, int status, const char *code,
			const char *message);

/* The reason phrase of a status ("Not Found"). */
const char *http_status_text(int status);

#endif
