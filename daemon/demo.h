/*
 * demo.h - the demonstration network of "relaisd servir --demo".
 */
#ifndef RELAIS_DAEMON_DEMO_H
#define RELAIS_DAEMON_DEMO_H

#include <stddef.h>
#include "../common/relais.h"
#include "auth.h"
#include "store.h"

#define DEMO_DEPT "99"
#define DEMO_LOGIN "coordination-demo"

/*
 * Fills a freshly initialised store: the coordinator account DEMO_LOGIN of
 * département DEMO_DEPT (its token is written into token) and a few
 * fictitious structures and promeneurs, written through the store's writer
 * with sync_local_begin/commit so that they get server seqs and reach
 * clients. Call before serving (it blocks). err receives a French message.
 */
int demo_populate(struct store *st, char token[AUTH_TOKEN_LEN + 1],
		  char *err, size_t errlen) RELAIS_WUR;

#endif
