/*
 * token.h - the format of an account's bearer token, shared by relaisd,
 * which makes and checks tokens, and relais, which refuses a mistyped one
 * before sending it: a typo must not count as a failed authentication
 * against the server's per-address limit (daemon/limit.c).
 *
 * A token is "rls_" followed by 64 lower-case hex digits (32 random bytes).
 */
#ifndef RELAIS_TOKEN_H
#define RELAIS_TOKEN_H

#include <stddef.h>
#include "relais.h"

#define TOKEN_PREFIX "rls_"
#define TOKEN_PREFIX_LEN 4
#define TOKEN_LEN 68            /* prefix + 64 hex digits, without the NUL */

/* Returns 1 when t is a well-formed token, 0 otherwise. */
int token_wellformed(const char *t);

/*
 * Like token_wellformed(), but returns 0 or RELAIS_EINVAL with a French
 * sentence in err saying what is wrong (prefix, length, a character that is
 * not a lower-case hex digit). The message never quotes the token.
 */
int token_check(const char *t, char *err, size_t errlen) RELAIS_WUR;

#endif
