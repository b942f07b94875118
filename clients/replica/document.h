/*
 * document.h - the bytes of the documents the mail gateway kept (the
 * attachments of journaled messages), for relais document ouvrir and the
 * document links of relais ui.
 */
#ifndef RELAIS_CLIENT_DOCUMENT_H
#define RELAIS_CLIENT_DOCUMENT_H

#include "../../common/buf.h"
#include "../../common/relais.h"
#include "replica.h"

/* Largest document kept: the gateway keeps at most 25 MiB of attachments
 * per message. */
#define DOCUMENT_MAX (32u << 20)

/*
 * Appends the bytes of document id to out (its cap applies): from the
 * replica's copy when it has one (*cached = 1), else downloaded from the
 * replica's server, checked against the document's SHA-256 and kept in the
 * replica for offline use. *name (malloc'd, the caller frees) is the
 * document's file name. Returns 0, RELAIS_ENOTFOUND (no such document),
 * RELAIS_ENET (not opened on this computer yet and no connection),
 * RELAIS_ECORRUPT (the bytes do not match), or another code; err says it
 * in French.
 */
int document_bytes(struct replica *r, const char *id, struct buf *out, char **name, int *cached,
		   char *err, size_t errlen) RELAIS_WUR;

#endif
