/*
 * smtp.h - send one formatted message with libcurl's SMTP (prefix
 * mailgw_smtp_).
 *
 * Blocking: call it from a worker thread, never from the libuv loop.
 * Plain text (smtp:// without STARTTLS) is allowed to a loopback address
 * only. The server's certificate is checked against the system store or
 * cfg->cafile, and its name against the URL's host.
 *
 * Errors:
 *   RELAIS_EREFUSED the server refused a recipient or the message for
 *                 good (a 5xx reply to RCPT, DATA or the message):
 *                 retrying will not help.
 *   RELAIS_ELATER the server refused them for now (a 4xx reply: greylisting,
 *                 mailbox full; or a 5.7.x policy refusal of a recipient,
 *                 such as "Relay access denied", which says more about our
 *                 account than about the recipient): keep the message, retry
 *                 it later; other messages may go meanwhile.
 *   RELAIS_ENET   the server is unreachable, timed out or cut the
 *                 connection, or refused the session itself (greeting,
 *                 MAIL FROM): keep the message and retry later.
 *   RELAIS_EAUTH  login refused, or the certificate not trusted.
 *   RELAIS_EINVAL bad URL, plain text to a remote host, no recipient.
 *   RELAIS_EIO    the password file cannot be read.
 *   RELAIS_ENOMEM out of memory.
 */
#ifndef RELAIS_MAILGW_SMTP_H
#define RELAIS_MAILGW_SMTP_H

#include <stddef.h>
#include "../common/relais.h"

#define MAILGW_SMTP_TIMEOUT_MS 60000
#define MAILGW_SMTP_MAX_RCPT 100

struct mailgw_smtp_config {
	const char *url;           /* smtp://host[:port] or smtps://host[:port] */
	int starttls;              /* smtp:// only: require STARTTLS */
	const char *cafile;        /* PEM CA file to trust; NULL: the system store */
	const char *user;          /* NULL: no login */
	const char *password_file; /* with user: the password alone on its first line */
	int timeout_ms;            /* whole transaction; 0: MAILGW_SMTP_TIMEOUT_MS */
};

/* Initialises libcurl. libcurl's global init is not thread-safe: call
 * this once from the main thread before any worker sends. */
int mailgw_smtp_global_init(void) RELAIS_WUR;

/* Sends msg (len bytes, already a complete RFC 5322 message with CRLF line
 * ends) from the envelope sender from (may be "" for bounces) to the n
 * addresses of rcpt. err (when not NULL) gets the detail for the log: for
 * RELAIS_EREFUSED and RELAIS_ELATER, the server's reply as it wrote it
 * ("550 5.1.1 unknown user", lines joined, control characters as spaces,
 * at most 400 bytes), which is text from a remote server. */
int mailgw_smtp_send(const struct mailgw_smtp_config *cfg, const char *from,
		     const char *const *rcpt, size_t n, const void *msg, size_t len,
		     char *err, size_t errlen) RELAIS_WUR;

#endif
