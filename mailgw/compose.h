/*
 * compose.h - the one composer of outgoing mail's headers and encodings
 * (prefix compose_): the answers to senders (reply.c) and the CAF digest
 * (daemon/digest.c) both write their headers through it. Pure functions on
 * a sticky buffer (common/buf.h): no network, no database.
 */
#ifndef RELAIS_MAILGW_COMPOSE_H
#define RELAIS_MAILGW_COMPOSE_H

#include <stddef.h>
#include <stdint.h>
#include "../common/buf.h"

/* Header lines are kept under this many characters (RFC 5322 says 78). */
#define COMPOSE_LINE_MAX 76

/* 1 when s holds only ASCII bytes. */
int compose_is_ascii(const char *s);

/*
 * A new string for a header: CR, LF and the other control characters
 * become spaces (header injection), runs of spaces one space, ends
 * trimmed, cut after max bytes at a UTF-8 character boundary. NULL when
 * out of memory; the caller frees it.
 */
char *compose_clean(const char *s, size_t max);

/* Longest unstructured header value written, in bytes. */
#define COMPOSE_TEXT_MAX 998

/* "Name: value" for an unstructured value, cleaned here (compose_clean, cut
 * at COMPOSE_TEXT_MAX): folded ASCII, or RFC 2047 UTF-8 words, lines under
 * 78 characters. */
int compose_text_header(struct buf *out, const char *name, const char *value);

/* "Name: display <addr>"; display (may be NULL) and addr are cleaned here.
 * RELAIS_EINVAL for an address that would change meaning in a header. */
int compose_address_header(struct buf *out, const char *name, const char *display,
			   const char *addr);

/* "Date: ..." in RFC 5322's form, in UTC or (local) in the process's time
 * zone with its offset. RELAIS_EINVAL before 1970. */
int compose_date(struct buf *out, int64_t now_ms, int local);

/* "Message-ID: <relais.TAG.RANDOM@DOMAIN>"; tag and domain need no quoting. */
int compose_message_id(struct buf *out, const char *tag, const char *domain);

/* data as base64 in lines of 76 characters, CRLF after each. */
int compose_base64_lines(struct buf *out, const void *data, size_t n);

#endif
