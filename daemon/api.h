/*
 * api.h - relaisd's sync endpoints (docs/protocol.md) on the generic HTTP
 * server: health, whoami, push, pull, snapshot.
 *
 * Every endpoint but health runs its SQLite work off the loop thread, on the
 * lane (daemon/lane.h) or, for a bootstrap file or a document, on libuv's
 * pool: the token look-up and reads on a read-only connection, merges on
 * the store's single writer, in groups (store_push_async). A push is
 * answered only after its transaction committed.
 */
#ifndef RELAIS_DAEMON_API_H
#define RELAIS_DAEMON_API_H

#include <uv.h>
#include "../common/relais.h"
#include "../net/http.h"
#include "config.h"
#include "store.h"

#define API_MAX_PUSH_ITEMS 100000
#define API_DEFAULT_LIMIT 5000
#define API_MAX_LIMIT 10000

struct api;

/* Registers the routes on srv, and the expect check that refuses a push
 * waiting for "100 Continue" (429, 401) before its body comes. The api keeps
 * st, loop and srv borrowed: they must outlive it. Free with api_free() once
 * the loop has closed every handle (uv_walk) and ran dry; after a failure,
 * the loop must run dry too, which frees what was made. */
int api_new(uv_loop_t *loop, struct store *st, struct http_server *srv,
	    struct api **out) RELAIS_WUR;
/* Accepts NULL. */
void api_free(struct api *a);

/*
 * Applies the [securite] section (copied): the failed-authentication limit
 * and the trusted proxies, which the HTTP server also exempts from its
 * per-address connection cap. Without this call: LIMIT_DEFAULT_FAILURES and
 * no trusted proxy. Call before the loop runs.
 *
 * Failed authentications are counted per client address: the peer's, or,
 * when the peer is a trusted proxy, the address in its X-Real-IP header
 * (else the last one of X-Forwarded-For), when it is a valid IP address.
 * A blocked address gets 429 "rate_limited" with Retry-After on every
 * endpoint but health, valid token or not.
 */
void api_set_security(struct api *a, const struct config_security *sec);

/*
 * Writes into out (CONFIG_ADDR_MAX bytes) the client address that the limit
 * counts for a request from peer carrying the header values real_ip and
 * forwarded_for (NULL when absent), given the trusted proxies. Exposed for
 * tests.
 */
void api_client_addr(const struct config_security *sec, const char *peer, const char *real_ip,
		     const char *forwarded_for, char out[CONFIG_ADDR_MAX]);

/*
 * Parses a pull or snapshot query string strictly: only "since" and
 * "limit", each at most once, decimal digits only; limit in
 * [1, API_MAX_LIMIT], API_DEFAULT_LIMIT when absent; since 0 when absent.
 * RELAIS_EINVAL otherwise.
 */
int api_parse_query(const char *query, unsigned long long *since, unsigned *limit) RELAIS_WUR;

#endif
