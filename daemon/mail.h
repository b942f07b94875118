/*
 * mail.h - relaisd's mail gateway thread (prefix mail_gateway_).
 *
 * One uv_thread, never the loop thread, does all the IMAP and SMTP work of
 * docs/mailgw.md: connect, create the folders, send the answers left from a
 * previous run, then for each new UID fetch, archive, parse in the sandbox,
 * record, answer, move and remember the UID; then wait with IDLE (or poll)
 * and start again. A lost connection is retried with exponential backoff
 * (1 s doubling to 5 minutes). The store's writer lock is taken around each
 * database step only.
 *
 * The thread logs one line per message on stderr (UID, outcome, journal
 * row), never a body or a password.
 */
#ifndef RELAIS_DAEMON_MAIL_H
#define RELAIS_DAEMON_MAIL_H

#include <stddef.h>
#include "../common/relais.h"
#include "config.h"
#include "store.h"

/* Longest wait of one IDLE slice: the stop flag is looked at in between. */
#define MAIL_IDLE_SLICE_MS 2000
/* Even without news from IDLE, look for new UIDs this often. */
#define MAIL_RESCAN_MS 30000
/* Answers the SMTP server refused are tried again after this long. */
#define MAIL_REPLY_RETRY_MS 60000
#define MAIL_BACKOFF_MIN_MS 1000
#define MAIL_BACKOFF_MAX_MS (5 * 60 * 1000)

struct mail_gateway;

/*
 * Creates the gateway's server-only tables and starts its thread for the
 * [courrier] section cfg, which must stay valid until mail_gateway_stop().
 * mailgw_smtp_global_init() must have been called from the main thread.
 * Returns 0, or an error with a French message in err.
 */
int mail_gateway_start(struct store *st, const struct config_mail *cfg,
		       struct mail_gateway **out, char *err, size_t errlen) RELAIS_WUR;

/* Asks the thread to stop after the step it is in; returns at once. Safe
 * from any thread; accepts NULL. */
void mail_gateway_request_stop(struct mail_gateway *g);

/* Asks the thread to stop, waits for it and frees g. Call it before
 * store_close(). Accepts NULL. */
void mail_gateway_stop(struct mail_gateway *g);

#endif
