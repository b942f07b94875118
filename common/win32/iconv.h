/*
 * iconv.h on Windows: the conversions model/csv.c needs (Windows-1252 and
 * UTF-16 to UTF-8), done by Windows' code pages (common/win32/platform.c).
 * Each call converts the whole input or fails.
 */
#ifndef RELAIS_WIN32_ICONV_H
#define RELAIS_WIN32_ICONV_H
#include <stddef.h>

typedef struct win32_iconv *iconv_t;

iconv_t iconv_open(const char *to, const char *from);
size_t iconv(iconv_t cd, char **in, size_t *inleft, char **out, size_t *outleft);
int iconv_close(iconv_t cd);

#endif
