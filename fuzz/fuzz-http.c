/*
 * fuzz-http.c - libFuzzer target: raw bytes sent by a client to relaisd's
 * HTTP server (net/http.c) with its API routes (daemon/api.c) over loopback.
 *
 * One server runs for the whole session, as relaisd serve sets it up: a
 * store initialised in a temporary directory (under /dev/shm when it can,
 * since every push commits with synchronous=FULL), http_server_new with
 * the default caps, api_new, and api_set_security with 127.0.0.1 as a
 * trusted proxy, so that X-Real-IP and X-Forwarded-For are parsed too.
 * The failed-authentication limit is set out of reach: most inputs fail to
 * authenticate and a blocked 127.0.0.1 would turn every later input into
 * the same 429.
 *
 * Each input is one TCP connection to 127.0.0.1 on the same libuv loop: the
 * bytes are written, the connection half-closed, and the loop runs until
 * the server closed its side, after answering every request it could parse
 * (reading pauses while a request is handled, so the half-close is seen
 * last). "@TOKEN@" in the input becomes a coordinator's token and "@CAF@" a
 * CAF account's token, so the seeds reach past authentication. The answers
 * are parsed with http_parser: each must be a well-formed response, and a
 * 500 (an input the daemon did not expect) aborts. FUZZ_HTTP_SHOW=1 in the
 * environment prints each answer's status.
 *
 * Why loopback rather than a socketpair: the server only accepts from its
 * own listener, and this way the bytes take the path they take in
 * production - accept, reads of whatever size the kernel gives, the parser,
 * caps, routing, the thread-pool job and the answer - with no hook added to
 * net/http.c.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <unistd.h>
#include <http_parser.h>
#include <uv.h>
#include "../common/buf.h"
#include "../common/relais.h"
#include "../daemon/api.h"
#include "../daemon/auth.h"
#include "../daemon/config.h"
#include "../daemon/store.h"
#include "../net/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uv_loop_t loop;
static struct store *store;
static struct http_server *server;
static struct api *api;
static int port;
static char token[AUTH_TOKEN_LEN + 1], caf_token[AUTH_TOKEN_LEN + 1];

struct client {
	uv_tcp_t tcp;
	uv_connect_t connect;
	uv_write_t write;
	uv_shutdown_t shutdown;
	uv_buf_t out;
	http_parser parser;
	int closed;
	int bad;            /* the answers did not parse */
	int status_500;
};

static void die(const char *what, const char *detail)
{
	fprintf(stderr, "fuzz-http: %s: %s\n", what, detail ? detail : "");
	abort();
}

static char *store_dir;

/* Removes the store when the session ends (libFuzzer exits with exit()). */
static void remove_store(void)
{
	DIR *d = opendir(store_dir);
	struct dirent *e;
	char path[512];

	while (d && (e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
		    snprintf(path, sizeof(path), "%s/%s", store_dir, e->d_name) < (int)sizeof(path))
			unlink(path);
	if (d)
		closedir(d);
	rmdir(store_dir);
}

static void add_account(const char *dir, const char *login, const char *role, char *tok)
{
	sqlite3 *db = NULL;
	char err[256];

	if (store_open_single(dir, &db, err, sizeof(err)) ||
	    auth_user_add(db, login, "43", role, tok, err, sizeof(err)))
		die("account", err);
	sqlite3_close(db);
}

static void setup(void)
{
	static char dir[] = "/dev/shm/relais-fuzz-http-XXXXXX";
	static char alt[] = "/tmp/relais-fuzz-http-XXXXXX";
	static struct config_security sec;
	struct http_server_config cfg = { .quiet = 1 };
	char err[256];
	char *d = mkdtemp(dir);

	if (!d)
		d = mkdtemp(alt);
	if (!d)
		die("mkdtemp", NULL);
	store_dir = d;
	atexit(remove_store);
	if (store_init(d, err, sizeof(err)))
		die("store_init", err);
	add_account(d, "fuzz", "coordinateur", token);
	add_account(d, "caf", "caf", caf_token);
	if (store_open(d, &store, err, sizeof(err)))
		die("store_open", err);
	if (uv_loop_init(&loop) || http_server_new(&loop, &cfg, &server) ||
	    api_new(&loop, store, server, &api))
		die("server", NULL);
	sec.enabled = 1;
	sec.echecs_max = 1u << 30;
	sec.nproxies = 1;
	snprintf(sec.proxies[0], sizeof(sec.proxies[0]), "127.0.0.1");
	api_set_security(api, &sec);
	if (http_server_listen(server, "127.0.0.1", 0, &port))
		die("listen", NULL);
	fprintf(stderr, "fuzz-http: store in %s, listening on 127.0.0.1:%d\n", d, port);
}

/* The input with its placeholders replaced, in a malloc'd buffer. */
static char *expand(const uint8_t *data, size_t size, size_t *len)
{
	struct buf b = BUF_INIT(size * (AUTH_TOKEN_LEN / 5 + 1) + 1);
	size_t i = 0;

	while (i < size) {
		int rc;
		if (size - i >= 7 && !memcmp(data + i, "@TOKEN@", 7)) {
			rc = buf_puts(&b, token);
			i += 7;
		} else if (size - i >= 5 && !memcmp(data + i, "@CAF@", 5)) {
			rc = buf_puts(&b, caf_token);
			i += 5;
		} else {
			rc = buf_putc(&b, data[i++]);
		}
		if (rc)
			die("expand", relais_strerror(rc));
	}
	return (char *)buf_detach(&b, len);
}

static int on_headers_complete(http_parser *p)
{
	static int show = -1;
	struct client *c = p->data;
	if (show < 0)
		show = getenv("FUZZ_HTTP_SHOW") != NULL;
	if (show)
		fprintf(stderr, "fuzz-http: answer %u\n", p->status_code);
	if (p->status_code == 500)
		c->status_500 = 1;
	if (p->status_code < 100 || p->status_code > 599)
		c->bad = 1;
	return 0;
}

static const http_parser_settings response_settings = {
	.on_headers_complete = on_headers_complete,
};

static void on_closed(uv_handle_t *h)
{
	struct client *c = h->data;
	c->closed = 1;
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
	(void)h;
	(void)hint;
	b->base = malloc(64 << 10);
	b->len = b->base ? 64 << 10 : 0;
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	struct client *c = s->data;
	if (n > 0 && !c->bad) {
		size_t done = http_parser_execute(&c->parser, &response_settings, b->base, (size_t)n);
		if (done != (size_t)n || HTTP_PARSER_ERRNO(&c->parser) != HPE_OK)
			c->bad = 1;
	}
	free(b->base);
	if (n < 0)
		uv_close((uv_handle_t *)s, on_closed);
}

static void on_shutdown(uv_shutdown_t *r, int status)
{
	(void)r;
	(void)status;
}

static void on_written(uv_write_t *w, int status)
{
	struct client *c = w->data;
	if (status < 0) {
		/* The server may close first (a cap was passed). */
		return;
	}
	c->shutdown.data = c;
	if (uv_shutdown(&c->shutdown, (uv_stream_t *)&c->tcp, on_shutdown))
		uv_close((uv_handle_t *)&c->tcp, on_closed);
}

static void on_connect(uv_connect_t *r, int status)
{
	struct client *c = r->data;
	if (status < 0)
		die("connect", uv_strerror(status));
	c->write.data = c;
	if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) ||
	    uv_write(&c->write, (uv_stream_t *)&c->tcp, &c->out, 1, on_written))
		die("write", NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct client c;
	struct sockaddr_in addr;
	size_t len;

	if (!server)
		setup();
	memset(&c, 0, sizeof(c));
	c.out.base = expand(data, size, &len);
	if (!c.out.base)
		die("expand", "ENOMEM");
	c.out.len = len;
	http_parser_init(&c.parser, HTTP_RESPONSE);
	c.parser.data = &c;
	uv_ip4_addr("127.0.0.1", port, &addr);
	if (uv_tcp_init(&loop, &c.tcp))
		die("uv_tcp_init", NULL);
	c.tcp.data = &c;
	c.connect.data = &c;
	if (uv_tcp_connect(&c.connect, &c.tcp, (const struct sockaddr *)&addr, on_connect))
		die("uv_tcp_connect", NULL);
	while (!c.closed)
		uv_run(&loop, UV_RUN_ONCE);
	/* Let the server close its side before the next input. */
	uv_run(&loop, UV_RUN_NOWAIT);
	free(c.out.base);
	if (c.status_500)
		die("the server answered 500", NULL);
	if (c.bad)
		die("an answer that is not HTTP", NULL);
	return 0;
}
