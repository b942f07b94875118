/*
 * api.h - relaisd's sync endpoints (docs/protocol.md) on the generic HTTP
 * server: health, whoami, push, pull, snapshot.
 *
 * Every endpoint but health runs its SQLite work off the loop thread in one
 * uv_queue_work item: the token look-up and reads on a read-only connection,
 * merges on the store's single writer. A push is answered only after its
 * transaction committed.
 */
#ifndef RELAIS_DAEMON_API_H
#define RELAIS_DAEMON_API_H

#include <uv.h>
#include "../common/relais.h"
#include "../net/http.h"
#include "store.h"

#define API_MAX_PUSH_ITEMS 100000
#define API_DEFAULT_LIMIT 5000
#define API_MAX_LIMIT 10000

struct api;

/* Registers the routes on srv. The api keeps st, loop and srv borrowed: they
 * must outlive it. Free with api_free() once the loop ran dry. */
int api_new(uv_loop_t *loop, struct store *st, struct http_server *srv,
	    struct api **out) RELAIS_WUR;
/* Accepts NULL. */
void api_free(struct api *a);

/*
 * Parses a pull or snapshot query string strictly: only "since" and
 * "limit", each at most once, decimal digits only; limit in
 * [1, API_MAX_LIMIT], API_DEFAULT_LIMIT when absent; since 0 when absent.
 * RELAIS_EINVAL otherwise.
 */
int api_parse_query(const char *query, unsigned long long *since, unsigned *limit) RELAIS_WUR;

#endif
