/*
 * jeton.h - where relais takes an account's token from.
 *
 * A token typed on the command line (--jeton) can be read by every local
 * user in the process list (ps, /proc/PID/cmdline) for as long as the
 * command runs; so the token may also come from a file, from the
 * environment or from standard input, and --jeton stays for scripts.
 * Whatever its source, a malformed token is refused here, before any
 * request: a typo must not count against the server's per-address limit of
 * failed authentications.
 */
#ifndef RELAIS_CLIENT_JETON_H
#define RELAIS_CLIENT_JETON_H

#include <stddef.h>
#include "../../common/relais.h"
#include "../../common/token.h"

#define JETON_ENV "RELAIS_TOKEN"

struct jeton_source {
	const char *given;   /* --jeton, or NULL */
	const char *file;    /* --fichier-jeton, or NULL */
};

/*
 * Fills out with the token from, in this order: --jeton, --fichier-jeton,
 * $RELAIS_TOKEN (when not empty), else standard input: a prompt on stderr
 * and a line read without echo when it is a terminal, else everything it
 * holds (4 KiB at most). White space around the token is dropped.
 *
 * Returns 0; RELAIS_EINVAL when both options are given, no token is found or
 * it is malformed (token_check); RELAIS_EIO when the file cannot be read;
 * RELAIS_EPERM when it is a regular file that group or others may read. err
 * receives a French message that never quotes the token; out is wiped on
 * failure.
 */
int jeton_read(const struct jeton_source *src, char out[TOKEN_LEN + 1],
	       char *err, size_t errlen) RELAIS_WUR;

#endif
