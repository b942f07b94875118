#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "buf.h"

void buf_init(struct buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->alloc = 0;
	b->max = max;
	b->err = 0;
}

void buf_release(struct buf *b)
{
	if (!b)
		return;
	free(b->data);
	b->data = NULL;
	b->len = 0;
	b->alloc = 0;
	b->err = 0;
}

void buf_reset(struct buf *b)
{
	b->len = 0;
	b->err = 0;
	if (b->data)
		b->data[0] = 0;
}

int buf_error(const struct buf *b)
{
	return b->err;
}

int buf_fail(struct buf *b, int code)
{
	if (!b->err)
		b->err = code;
	return b->err;
}

int buf_grow(struct buf *b, size_t n)
{
	if (b->err)
		return b->err;
	if (n > b->max || b->len > b->max - n)
		return b->err = RELAIS_ETOOBIG;
	size_t need = b->len + n + 1;
	if (need <= b->alloc)
		return 0;
	size_t alloc = b->alloc ? b->alloc : 64;
	while (alloc < need)
		alloc = alloc > ((size_t)-1) / 2 ? need : alloc * 2;
	unsigned char *p = realloc(b->data, alloc);
	if (!p)
		return b->err = RELAIS_ENOMEM;
	b->data = p;
	b->alloc = alloc;
	return 0;
}

int buf_append(struct buf *b, const void *p, size_t n)
{
	int rc = buf_grow(b, n);
	if (rc)
		return rc;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = 0;
	return 0;
}

int buf_puts(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

int buf_putc(struct buf *b, int c)
{
	unsigned char ch = (unsigned char)c;
	return buf_append(b, &ch, 1);
}

int buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	if (b->err)
		return b->err;
	va_list cp;
	va_copy(cp, ap);
	int n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n < 0)
		return buf_fail(b, RELAIS_EINVAL);
	int rc = buf_grow(b, (size_t)n);
	if (rc)
		return rc;
	vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = buf_vprintf(b, fmt, ap);
	va_end(ap);
	return rc;
}

int buf_puts_html(struct buf *b, const char *s)
{
	const char *p = s ? s : "", *run = p;
	for (; *p && !b->err; p++) {
		const char *e;
		switch (*p) {
		case '&': e = "&amp;"; break;
		case '<': e = "&lt;"; break;
		case '>': e = "&gt;"; break;
		case '"': e = "&quot;"; break;
		case '\'': e = "&#39;"; break;
		default:
			if ((unsigned char)*p >= 0x20 || *p == '\t' || *p == '\n' || *p == '\r')
				continue;
			e = " ";
		}
		buf_append(b, run, (size_t)(p - run));
		buf_puts(b, e);
		run = p + 1;
	}
	buf_append(b, run, (size_t)(p - run));
	return b->err;
}

unsigned char *buf_detach(struct buf *b, size_t *len)
{
	unsigned char *p = b->data;
	if (len)
		*len = b->len;
	if (!p)
		p = calloc(1, 1);
	b->data = NULL;
	b->len = 0;
	b->alloc = 0;
	b->err = 0;
	return p;
}

const char *buf_str(const struct buf *b)
{
	return b->data ? (const char *)b->data : "";
}
