/*
 * reply.h - the gateway's answers to senders (prefix mailgw_reply_): whether
 * a message may be answered at all, the rejection rate limit, and the
 * formatting of the answer as a complete RFC 5322 message ready for
 * mailgw_smtp (smtp.h). Pure functions: no network, no database.
 *
 * Loops are what these rules prevent: an automatic answer to an automatic
 * message (bounce, out-of-office, list robot) can ping-pong forever, so
 * anything that looks automatic is never answered, and every answer carries
 * "Auto-Submitted: auto-replied" so that well-behaved robots keep quiet.
 */
#ifndef RELAIS_MAILGW_REPLY_H
#define RELAIS_MAILGW_REPLY_H

#include <stddef.h>
#include <stdint.h>
#include "../common/buf.h"
#include "../common/relais.h"
#include "mime.h"
#include "outcome.h"

/* At most one rejection per sender and kind in this window. */
#define MAILGW_REPLY_RATE_MS (24LL * 3600 * 1000)

/* Caps on what goes into one answer (the form, records and problems). */
#define MAILGW_REPLY_MAX_BODY (4u * 1024 * 1024)
/* The subject is cut (at a character boundary) past this many bytes. */
#define MAILGW_REPLY_MAX_SUBJECT 600u
/* References keeps the first id and the last ones, up to this many. */
#define MAILGW_REPLY_MAX_REFS 20u

/*
 * Returns 1 when addr is an address an answer can go to through SMTP as
 * it is, 0 when not: then a French reason is written into why (as for
 * mailgw_reply_allowed). Accepted: ASCII only (a non-ASCII local part or
 * domain needs SMTPUTF8, which the gateway does not speak), one '@', a
 * dot-atom local part of at most 64 characters (no quoted local part, which
 * parsers rebuild differently), a domain of letters, digits and hyphens
 * between dots (no address literal), at most 254 characters in all.
 */
int mailgw_reply_address_ok(const char *addr, char *why, size_t whylen);

/*
 * Returns 1 when an automatic answer to m may be sent, 0 when not: then a
 * French reason is written into why (NUL-terminated, cut to whylen; why may
 * be NULL). The answer goes to one address only, the first of From
 * (m->from_addr), whatever else From or Reply-To name: the sender the
 * journal shows and the rate limit counts. Never answered: messages
 * without a From address, or whose address fails mailgw_reply_address_ok,
 * or that the parser did not read as written (MAILGW_MIME_W_FROM_UNSURE:
 * several addresses without a comma, glued by the parser), and automatic
 * mail as mailgw_automatic_reason() (automatic.h) tells it, the list the
 * pipeline ignores.
 */
int mailgw_reply_allowed(const struct mailgw_mime_msg *m, char *why, size_t whylen);

/*
 * Returns 1 when a rejection may be sent now to a sender for a kind whose
 * last rejection was sent at last_rejection_ms (0 or less: never), 0 when
 * one was sent less than MAILGW_REPLY_RATE_MS ago (or, the clock having gone
 * back, "in the future"). Acknowledgments are not rate-limited: the caller
 * asks only before a rejection.
 */
int mailgw_reply_rate_ok(int64_t last_rejection_ms, int64_t now_ms);

/*
 * Appends to out the answer to orig for the outcome r: a complete RFC 5322
 * message with CRLF line ends (From network_name <network_addr>, To the
 * original sender, "Re:" subject, Date from now_ms, a random Message-ID at
 * network_addr's domain, In-Reply-To/References, Auto-Submitted:
 * auto-replied) and a French text/plain UTF-8 body in quoted-printable:
 * the records for MAILGW_RECORDED, the problems and the blank form of
 * r->kind for MAILGW_REJECTED, a note (and the TNEF explanation when
 * orig->tnef) for MAILGW_QUARANTINE. CR and LF never reach a header value.
 * network_name may be NULL or "" (no display name).
 * Returns 0; RELAIS_EINVAL for MAILGW_IGNORED or MAILGW_DUPLICATE (nothing
 * to send), for a message whose From address cannot be answered (none, or
 * refused by mailgw_reply_address_ok, or MAILGW_MIME_W_FROM_UNSURE) or a
 * network_addr without a domain; RELAIS_ENOMEM; RELAIS_ETOOBIG (out's cap). On failure out may
 * hold part of the message: the caller resets it.
 */
int mailgw_reply_build(const struct mailgw_mime_msg *orig, const struct mailgw_result *r,
		       const char *network_addr, const char *network_name, int64_t now_ms,
		       struct buf *out) RELAIS_WUR;

#endif
