/*
 * net.h - the client's HTTP exchanges with relaisd (libcurl, easy interface:
 * the client is a command-line program, blocking is what it wants).
 *
 * Every request carries "Authorization: Bearer TOKEN" and "X-Relais-Schema".
 * Connections time out after 10 s, transfers stalled below a trickle abort,
 * and every answer body is capped (SYNC_WIRE_MAX_BODY for envelopes, 1 MiB
 * for JSON). Failures come back as RELAIS_E* codes with a French message:
 *   RELAIS_ENET     server unreachable or connection cut
 *   RELAIS_EAUTH    401, token refused (the message says so, the caller
 *                   says what to do: it knows the account and the home)
 *   RELAIS_EPERM    403
 *   RELAIS_ESCHEMA  409, schema versions differ
 *   RELAIS_EPERM    also a 409 with another code (restored, departement):
 *                   the server's message, which says what to do
 *   RELAIS_ETOOBIG  answer over its cap
 *   RELAIS_EPROTO   any other status or an unreadable answer (with the
 *                   server's JSON "message" when there is one)
 */
#ifndef RELAIS_CLIENT_NET_H
#define RELAIS_CLIENT_NET_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "../../common/buf.h"
#include "../../common/relais.h"

#define NET_MAX_JSON (1u << 20)
/* Environment variable naming a CA file (PEM) to trust for https instead of
 * the system's store, for this run. */
#define NET_CA_ENV "RELAIS_CA"

struct net {
	void *curl;     /* CURL * */
	char *base;     /* server URL without trailing '/' */
	char *auth;     /* the Authorization header line */
	/* The server store's epoch this replica knows ("" when none): sent as
	 * X-Relais-Epoque; a server restored from a backup since answers 409
	 * "restored" (RELAIS_EPERM with its message). */
	char epoch[24];
	/* The server's wall clock (Unix ms, SYNC_TIME_HEADER) read from the
	 * last answer and this computer's when it came; 0 when none said. */
	int64_t server_ms, local_ms;
	/* The département whose rows the replica holds ("" when none yet): sent
	 * as X-Relais-Departement; an account moved to another one since
	 * answers 409 "departement" (RELAIS_EPERM with its message). */
	char dept[8];
	/* When not NULL and stderr is a terminal, transfers of more than 1 MB
	 * show their progress on stderr under this French label. */
	const char *progress;
};

/* Calls curl_global_init / curl_global_cleanup; once per process. */
int net_global_init(void) RELAIS_WUR;
void net_global_cleanup(void);

/*
 * The CA file (PEM) that https connections of this process trust, when
 * $RELAIS_CA is not set: replica_open() sets the one stored in the home.
 * path is copied; NULL goes back to the system's store.
 */
void net_set_stored_ca(const char *path);
/* The CA file net_open() will trust: $RELAIS_CA when set and not empty,
 * else the stored one, else NULL (the system's store). Valid until the next
 * net_set_stored_ca() or setenv(). */
const char *net_ca(void);

/* Checks that server is an http:// or https:// URL and prepares a handle.
 * An https server's certificate is always verified (chain and name), against
 * net_ca() when not NULL (and then only against it), else the system's
 * store. Close with net_close() (accepts a zeroed struct). */
int net_open(struct net *n, const char *server, const char *token,
	     char *err, size_t errlen) RELAIS_WUR;
void net_close(struct net *n);

/* GET path ("/v1/whoami") and parse its JSON answer; *out is a new reference. */
int net_get_json(struct net *n, const char *path, json_t **out,
		 char *err, size_t errlen) RELAIS_WUR;
/* GET path and append the envelope it answers to body (reset first). */
int net_get_envelope(struct net *n, const char *path, struct buf *body,
		     char *err, size_t errlen) RELAIS_WUR;
/* POST an envelope to path and parse the JSON answer; *out is a new reference.
 * On a 403 (RELAIS_EPERM) or 422 (RELAIS_EINVAL) *out holds the server's
 * JSON error body when it sent one (an item refused for good names it). */
int net_post_envelope(struct net *n, const char *path, const void *data, size_t len,
		      json_t **out, char *err, size_t errlen) RELAIS_WUR;

/* POST an envelope to path and append the envelope answered to body (reset
 * first). On a 403 or 422, *out holds the server's JSON error body as for
 * net_post_envelope(); else *out is NULL. */
int net_post_exchange(struct net *n, const char *path, const void *data, size_t len,
		      struct buf *body, json_t **out, char *err, size_t errlen) RELAIS_WUR;
/*
 * GET path; a 200 answer's body is written to fd from offset as it arrives,
 * so that a cut connection keeps what came (*written bytes). header names
 * an answer header copied into val ("" when absent); when expect is not
 * NULL and the header differs from it, nothing is written (RELAIS_EPROTO).
 * *status is the answer's status (0 when none came); other statuses are
 * errors as for the other calls, their body never touching fd.
 */
int net_get_to_file(struct net *n, const char *path, int fd, uint64_t offset,
		    const char *header, const char *expect, char *val, size_t vallen,
		    uint64_t *written, long *status, char *err, size_t errlen) RELAIS_WUR;

#endif
