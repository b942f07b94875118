/*
 * buf.h - growable byte buffer with a hard cap and a sticky error.
 *
 * Every buffer that a peer can grow is created with a cap; an append that
 * would pass it fails with RELAIS_ETOOBIG and leaves the buffer unchanged.
 * The data is always followed by a NUL byte (not counted in len), so a
 * buffer holding text can be used as a C string.
 *
 * The first error (RELAIS_ENOMEM, RELAIS_ETOOBIG, or one set with buf_fail)
 * sticks: every later append is a no-op that returns it again, and the
 * content stays what it was before the failed append. Output built step by
 * step (a page, a message) can thus be twenty appends with their results
 * ignored, cast to (void) or through the BUF_* forms, and one check of
 * buf_error() at the end, as SQLite's sqlite3_str (accError) and curl's
 * dynbuf (toobig) do. Callers that check each append keep working: an
 * append still returns its error.
 */
#ifndef RELAIS_BUF_H
#define RELAIS_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include "relais.h"

struct buf {
	unsigned char *data; /* NULL until the first append */
	size_t len;
	size_t alloc;
	size_t max;          /* cap on len */
	int err;             /* first error, 0 while none: see above */
};

#define BUF_INIT(cap) { NULL, 0, 0, (cap), 0 }

void buf_init(struct buf *b, size_t max);
/* Frees the data and resets the buffer to empty (same cap, no error). Accepts NULL. */
void buf_release(struct buf *b);
/* Empties the buffer, keeping its allocation; forgets the error. */
void buf_reset(struct buf *b);
/* Makes room for n more bytes (written by the caller at data + len).
 * Sets the sticky error on failure, like an append. */
int buf_grow(struct buf *b, size_t n) RELAIS_WUR;
/* Each returns 0, or the buffer's error (the one it just set, or the one
 * that was already there, in which case nothing is appended). */
int buf_append(struct buf *b, const void *p, size_t n);
int buf_puts(struct buf *b, const char *s);
int buf_putc(struct buf *b, int c);
int buf_printf(struct buf *b, const char *fmt, ...) RELAIS_PRINTF(2, 3);
int buf_vprintf(struct buf *b, const char *fmt, va_list ap) RELAIS_PRINTF(2, 0);
/*
 * The one HTML escaper of the project: appends s (NULL as "") with & < > "
 * and ' written as entities, so that the text is safe both between tags
 * and in a quoted attribute value, of HTML and of XML; the C0 controls
 * other than tab, line feed and carriage return, which XML 1.0 forbids and
 * HTML calls a parse error, become spaces.
 */
int buf_puts_html(struct buf *b, const char *s);
/* Returns the first error of the buffer since its init, release or reset, or 0. */
int buf_error(const struct buf *b);
/* Sets the sticky error to code (a RELAIS_E* code) unless one is already
 * set, so that a step of the output that fails for another reason (a query,
 * a conversion, a buffer of its own) stops the rest of it too; code 0
 * changes nothing. Returns the buffer's error. */
int buf_fail(struct buf *b, int code);
/* Takes the data out: the caller frees it with free(); the buffer is left empty.
 * Returns a freshly allocated empty string when the buffer was empty, NULL on ENOMEM.
 * The error is not looked at: check buf_error() first. */
unsigned char *buf_detach(struct buf *b, size_t *len);
/* Returns the contents as a C string (never NULL; "" when empty). Stale after the next append. */
const char *buf_str(const struct buf *b);

#endif
