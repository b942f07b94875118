/*
 * imap.h - a blocking IMAP client for the gateway's one mailbox (prefix
 * mailgw_imap_), on libetpan.
 *
 * Blocking: call it from a worker thread, never from the libuv loop. One
 * client is used by one thread at a time. Plain writes use MSG_NOSIGNAL,
 * but GnuTLS's may not: the process must ignore SIGPIPE (relaisd does).
 *
 * Transport. libetpan's own TLS does not check the server's certificate, so
 * the client opens the socket and runs TLS itself with GnuTLS (trust store:
 * the system's, or one CA file; host name or IP address checked) and hands
 * libetpan a stream driver over it. Plain text is allowed to a loopback
 * address only, so a password never crosses a network in clear. STARTTLS is
 * required when asked for: a server that does not offer it is refused.
 *
 * Caps. Every byte read for one command is counted by that stream driver;
 * past the command's cap the connection is dropped and RELAIS_ETOOBIG
 * returned (libetpan would otherwise grow its response buffer without
 * bound). The cap is 1 MiB for ordinary commands and the message's
 * announced size plus 64 KiB for a fetch. Every socket read and write has a
 * time limit (timeout_ms). libetpan's own buffers (imap_stream_buffer,
 * imap_response_buffer) have no cap of their own; they stay within the
 * command cap because they only hold what the driver delivered.
 *
 * Errors, for a caller that reconnects with backoff:
 *   RELAIS_ENET    connection refused, cut, timed out, or closed by the
 *                  server (BYE): close the client, wait, reconnect.
 *                  After it every call returns RELAIS_ENET.
 *   RELAIS_EAUTH   login refused, or the server's certificate not trusted
 *                  (a configuration problem: retrying will not help).
 *   RELAIS_ETOOBIG a message over max_message (mailgw_imap_fetch, the
 *                  connection stays usable), or a response over its cap
 *                  (the connection is dropped).
 *   RELAIS_EPROTO  the server refused a command or answered nonsense.
 *   RELAIS_EINVAL  bad arguments (plain text to a remote host, a folder
 *                  name that is not plain ASCII).
 *   RELAIS_EIO     the password file cannot be read.
 * mailgw_imap_error() gives the detail for the log.
 */
#ifndef RELAIS_MAILGW_IMAP_H
#define RELAIS_MAILGW_IMAP_H

#include <stddef.h>
#include <stdint.h>
#include "../common/buf.h"
#include "../common/relais.h"

#define MAILGW_IMAP_TIMEOUT_MS 60000
#define MAILGW_IMAP_MAX_MESSAGE (25u << 20)
#define MAILGW_IMAP_CMD_CAP (1u << 20)
#define MAILGW_IMAP_PASSWORD_MAX 1024
#define MAILGW_IMAP_FOLDER_MAX 200

enum mailgw_tls {
	MAILGW_TLS_NONE,     /* plain text; loopback addresses only */
	MAILGW_TLS_STARTTLS, /* port 143, STARTTLS before login */
	MAILGW_TLS_IMPLICIT  /* port 993, TLS from the first byte */
};

struct mailgw_imap_config {
	const char *host;          /* name or IP address */
	int port;                  /* 0: 143, or 993 for MAILGW_TLS_IMPLICIT */
	enum mailgw_tls tls;
	const char *cafile;        /* PEM CA file to trust; NULL: the system store */
	const char *user;
	const char *password_file; /* the password, alone on its first line */
	int timeout_ms;            /* per socket operation; 0: MAILGW_IMAP_TIMEOUT_MS */
	size_t max_message;        /* 0: MAILGW_IMAP_MAX_MESSAGE */
	int no_move;               /* use COPY + STORE + EXPUNGE even when MOVE is offered */
};

struct mailgw_imap;

/* Connects, sets up TLS as configured, reads the password file and logs
 * in. On success *out is a client the caller frees with
 * mailgw_imap_close(); on failure *out is NULL and err (when not NULL)
 * gets the detail for the log ("" on success). cfg's strings are copied. */
int mailgw_imap_connect(const struct mailgw_imap_config *cfg, struct mailgw_imap **out,
			char *err, size_t errlen) RELAIS_WUR;

/* Logs out when the connection is alive (bounded by timeout_ms), closes it
 * and frees the client. Accepts NULL. */
void mailgw_imap_close(struct mailgw_imap *c);

/* The detail of the last error (server text, TLS or socket error), for the
 * log; "" when none. Stale after the next call on c. */
const char *mailgw_imap_error(const struct mailgw_imap *c);

/* Selects folder ("INBOX", …) read-write and writes its UIDVALIDITY. A
 * caller that stored UIDs must forget them when UIDVALIDITY changed. */
int mailgw_imap_select(struct mailgw_imap *c, const char *folder, uint32_t *uidvalidity) RELAIS_WUR;

/* The UIDs greater than above in the selected folder, ascending, in a
 * malloc'ed array the caller frees (NULL when *n is 0). */
int mailgw_imap_uids_above(struct mailgw_imap *c, uint32_t above, uint32_t **uids, size_t *n) RELAIS_WUR;

/* Appends the raw bytes of message uid of the selected folder to out
 * (BODY.PEEK[]: the \Seen flag is left alone). *size (may be NULL) gets
 * the server's RFC822.SIZE. A message over max_message is not fetched:
 * RELAIS_ETOOBIG with *size set. RELAIS_ENOTFOUND when there is no such
 * UID. out's own cap applies too (RELAIS_ETOOBIG). */
int mailgw_imap_fetch(struct mailgw_imap *c, uint32_t uid, struct buf *out, size_t *size) RELAIS_WUR;

/* Appends the header of message uid (BODY.PEEK[HEADER]) to out, for a
 * message too big to fetch whole; the command's usual cap applies
 * (a header over it: RELAIS_ETOOBIG). RELAIS_ENOTFOUND when there is no such UID. */
int mailgw_imap_fetch_header(struct mailgw_imap *c, uint32_t uid, struct buf *out) RELAIS_WUR;

/* Creates folder unless it exists. */
int mailgw_imap_create(struct mailgw_imap *c, const char *folder) RELAIS_WUR;

/* Moves message uid of the selected folder to folder: UID MOVE when the
 * server offers MOVE, else UID COPY, UID STORE +FLAGS (\Deleted) and UID
 * EXPUNGE (plain EXPUNGE when the server lacks UIDPLUS: that also removes
 * other messages already marked \Deleted). Without MOVE, a cut after the
 * COPY leaves the message in both folders: see mailgw_imap_find_copy. */
int mailgw_imap_move(struct mailgw_imap *c, uint32_t uid, const char *folder) RELAIS_WUR;

/* Removes message uid from the selected folder: UID STORE +FLAGS
 * (\Deleted), then UID EXPUNGE (EXPUNGE without UIDPLUS, as above). */
int mailgw_imap_remove(struct mailgw_imap *c, uint32_t uid) RELAIS_WUR;

/* Messages of folder's size looked at, at most, by mailgw_imap_find_copy. */
#define MAILGW_IMAP_COPY_CANDIDATES 16

/*
 * Sets *found to 1 when folder holds a message of exactly the bytes
 * raw[0..len) (the copy a cut COPY + EXPUNGE left behind), else 0. Looks
 * with EXAMINE (read-only) at the messages of exactly len bytes (RFC822.SIZE;
 * the first MAILGW_IMAP_COPY_CANDIDATES), fetching each, then selects the
 * folder selected before again. RELAIS_EPROTO when that folder's
 * UIDVALIDITY changed meanwhile (its UIDs mean nothing any more); after any
 * error but RELAIS_ENET, the caller's folder is selected again when it can be.
 */
int mailgw_imap_find_copy(struct mailgw_imap *c, const char *folder, const void *raw, size_t len,
			  int *found) RELAIS_WUR;

/* Waits up to timeout_ms for new mail in the selected folder with IDLE
 * (then DONE), or, when the server lacks IDLE, sleeps and sends NOOP.
 * *arrived is 1 when the server announced new messages (EXISTS or RECENT),
 * also in the answer to an earlier command (then it returns at once), else 0. Servers drop IDLE after about 30 minutes: call it again with at
 * most ~25 minutes each time. */
int mailgw_imap_idle(struct mailgw_imap *c, int timeout_ms, int *arrived) RELAIS_WUR;

/* 1 when the server offers IDLE, MOVE (capabilities after login). */
int mailgw_imap_has_idle(const struct mailgw_imap *c);
int mailgw_imap_has_move(const struct mailgw_imap *c);

#endif
