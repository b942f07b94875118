/*
 * digest.h - the CAF referents' weekly digest and the bilan reminders,
 * sent by one relaisd thread (prefix digest_; docs/digest.md).
 *
 * Schedule: the digest of a week is due at the configured local day and
 * time in the configured zone. relaisd sets TZ to that zone once at start,
 * before any thread (digest_set_zone), so that localtime_r/mktime give the
 * right offset on either side of a daylight-saving change. A period is sent
 * once: the server-only table digest_log (dept, period key such as
 * 2026-W48) is written, with the directory changes marked transmitted, in
 * one sync_local transaction once the SMTP server accepted the message.
 * An occurrence missed while relaisd was down is sent at start; a refused
 * or unreachable SMTP server is retried with backoff (1 s doubling to
 * 5 minutes).
 *
 * Reminders: rows of reminder with statut a_envoyer for the département are
 * looked for every second (a cheap query on a small table), so they go out
 * right after the push that brought them. Rows of the same structure and
 * year give one message; a row arriving after its twin was sent is marked
 * sent without a second message.
 */
#ifndef RELAIS_DAEMON_DIGEST_H
#define RELAIS_DAEMON_DIGEST_H

#include <stddef.h>
#include <stdint.h>
#include <sqlite3.h>
#include "../common/buf.h"
#include "../common/relais.h"
#include "config.h"
#include "store.h"

#define DIGEST_POLL_MS 1000
#define DIGEST_BACKOFF_MIN_MS 1000
#define DIGEST_BACKOFF_MAX_MS (5 * 60 * 1000)
/* Cap on one digest message (text, HTML and CSV, base64). */
#define DIGEST_MAX_MESSAGE (8u << 20)
/* Events of the coming weeks shown in the digest. */
#define DIGEST_EVENT_DAYS 28
/* The login that the digest's server writes are stamped with. */
#define DIGEST_LOGIN "synthese-caf"

/* The daemon's clock: real time, or a test clock starting at base_ms when
 * the process started and running speed times faster. */
struct digest_clock {
	int64_t base_ms;   /* 0: real time */
	int64_t real_ms;   /* util_now_ms() when base_ms was set */
	int speed;         /* >= 1 */
};

/* Milliseconds since the epoch according to clk (NULL: real time). */
int64_t digest_clock_now(const struct digest_clock *clk);

/* Parses "AAAA-MM-JJTHH:MM:SSZ" (UTC) into ms. Returns 0 or RELAIS_EINVAL. */
int digest_parse_time(const char *s, int64_t *ms) RELAIS_WUR;

/* Sets TZ to zone for the whole process. Call it from the main thread
 * before any thread starts. Returns 0 or RELAIS_ENOMEM. */
int digest_set_zone(const char *zone) RELAIS_WUR;

/* Creates the server-only table digest_log if missing. */
int digest_schema(sqlite3 *db) RELAIS_WUR;

/*
 * The period due at now_ms: the latest scheduled local occurrence not after
 * now_ms (*due_ms), the key of the week it sums up ("2026-W48", 8 bytes and
 * NUL) and that week's first and exclusive last local dates (AAAA-MM-JJ).
 */
void digest_period(const struct config_digest *cfg, int64_t now_ms, int64_t *due_ms,
		   char key[16], char start[11], char end[11]);

/*
 * Builds the digest of the period due at now_ms for cfg->departement, read
 * from db, as a complete RFC 5322 message appended to msg. When ids is not
 * NULL, appends to it the ids of the directory changes attached, each
 * followed by a NUL. Returns 0 or a RELAIS_E* code.
 */
int digest_build(sqlite3 *db, const struct config_digest *cfg, int64_t now_ms, struct buf *msg,
		 struct buf *ids) RELAIS_WUR;

struct digest;

/* Creates digest_log and starts the thread for cfg (valid until
 * digest_stop) with clock clk (copied; NULL: real time).
 * mailgw_smtp_global_init() must have been called. */
int digest_start(struct store *st, const struct config_digest *cfg,
		 const struct digest_clock *clk, struct digest **out, char *err,
		 size_t errlen) RELAIS_WUR;

/* Asks the thread to stop; returns at once. Accepts NULL. */
void digest_request_stop(struct digest *d);

/* Stops the thread, waits for it and frees d. Accepts NULL. */
void digest_stop(struct digest *d);

#endif
