/*
 * buf.h - growable byte buffer with a hard cap.
 *
 * Every buffer that a peer can grow is created with a cap; an append that
 * would pass it fails with RELAIS_ETOOBIG and leaves the buffer unchanged.
 * The data is always followed by a NUL byte (not counted in len), so a
 * buffer holding text can be used as a C string.
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
};

#define BUF_INIT(cap) { NULL, 0, 0, (cap) }

void buf_init(struct buf *b, size_t max);
/* Frees the data and resets the buffer to empty (same cap). Accepts NULL. */
void buf_release(struct buf *b);
/* Empties the buffer, keeping its allocation. */
void buf_reset(struct buf *b);
/* Makes room for n more bytes. */
int buf_grow(struct buf *b, size_t n) RELAIS_WUR;
int buf_append(struct buf *b, const void *p, size_t n) RELAIS_WUR;
int buf_puts(struct buf *b, const char *s) RELAIS_WUR;
int buf_putc(struct buf *b, int c) RELAIS_WUR;
int buf_printf(struct buf *b, const char *fmt, ...) RELAIS_PRINTF(2, 3) RELAIS_WUR;
int buf_vprintf(struct buf *b, const char *fmt, va_list ap) RELAIS_PRINTF(2, 0) RELAIS_WUR;
/* Takes the data out: the caller frees it with free(); the buffer is left empty.
 * Returns a freshly allocated empty string when the buffer was empty, NULL on ENOMEM. */
unsigned char *buf_detach(struct buf *b, size_t *len);
/* Returns the contents as a C string (never NULL; "" when empty). Stale after the next append. */
const char *buf_str(const struct buf *b);

#endif
