/*
 * token.c - the format of bearer tokens.
 */
#include <stdio.h>
#include <string.h>
#include "token.h"
#include "util.h"

static int is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

int token_wellformed(const char *t)
{
	if (strlen(t) != TOKEN_LEN || strncmp(t, TOKEN_PREFIX, TOKEN_PREFIX_LEN))
		return 0;
	for (size_t i = TOKEN_PREFIX_LEN; i < TOKEN_LEN; i++)
		if (!is_hex(t[i]))
			return 0;
	return 1;
}

int token_check(const char *t, char *err, size_t errlen)
{
	static const char shape[] = "un jeton s'écrit « rls_ » suivi de 64 chiffres "
				    "hexadécimaux (0 à 9, a à f), 68 caractères en tout";
	size_t n = strlen(t);
	if (strncmp(t, TOKEN_PREFIX, TOKEN_PREFIX_LEN)) {
		snprintf(err, errlen, "jeton mal formé : il ne commence pas par « rls_ » (%s).", shape);
		return RELAIS_EINVAL;
	}
	if (n != TOKEN_LEN) {
		snprintf(err, errlen, "jeton mal formé : il compte %zu caractère%s au lieu de %d (%s).",
			 n, util_pluriel((long long)n), TOKEN_LEN, shape);
		return RELAIS_EINVAL;
	}
	for (size_t i = TOKEN_PREFIX_LEN; i < TOKEN_LEN; i++)
		if (!is_hex(t[i])) {
			snprintf(err, errlen, "jeton mal formé : son caractère n° %zu n'est pas un "
				 "chiffre hexadécimal en minuscule (%s).", i + 1, shape);
			return RELAIS_EINVAL;
		}
	return 0;
}
