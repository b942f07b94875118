/*
 * courrier.h - the mail gateway's journal (table inbound_mail) as the
 * coordinator reads and handles it (prefix courrier_), shared by "relais
 * courrier" and the /courrier pages of "relais ui".
 *
 * The journal is written by relaisd only. The coordinator may only decide
 * what becomes of a message in quarantine: attach it to an existing row
 * ("rattacher") or file it ("classer"), each one captured local edit of the
 * columns traitement and rattache_a.
 */
#ifndef RELAIS_CLIENT_COURRIER_H
#define RELAIS_CLIENT_COURRIER_H

#include <stddef.h>
#include <sqlite3.h>
#include "../../common/relais.h"
#include "../../model/domain.h"
#include "replica.h"

#define COURRIER_TABLE "inbound_mail"

/* SQL condition of a message waiting for a person: quarantined, not handled. */
#define COURRIER_WAITING_SQL DOMAIN_MAIL_WAITING_SQL

/* Longest message identifier: longer ones name nothing. */
#define COURRIER_ID_MAX 64

/* Copies the n bytes of the identifier in, lower-cased, into out, NUL-terminated
 * (n <= COURRIER_ID_MAX). */
void courrier_id_copy(char out[COURRIER_ID_MAX + 1], const char *in, size_t n);

/*
 * Returns a malloc'd copy of s fit for a terminal: C0 and C1 control
 * characters and DEL become '?', except line breaks and tabs when
 * multiline (then "\r\n" becomes "\n"); without multiline they become
 * spaces. NULL on ENOMEM.
 */
char *courrier_clean(const char *s, int multiline);

/* How an enumerated value of the journal reads in French ("a_traiter" as
 * "à traiter"); raw itself when it has no French spelling. Never NULL. */
const char *courrier_shown_value(const char *raw);

/*
 * rattache_a ("table:id") as people read it, malloc'd (caller frees):
 * "le promeneur Jade Roux (id)", or the row's table and id when the row has
 * no name or is not in the replica. Control characters are replaced by '?'.
 * NULL on ENOMEM.
 */
char *courrier_attached_display(sqlite3 *db, const char *raw);

/*
 * Decides the fate of quarantined message id, as "relais courrier
 * rattacher ID --a TARGET" (target "TABLE:ID", TABLE a command word such as
 * promeneur) or "relais courrier classer ID" (target NULL) do: one captured
 * local edit, sent by the next sync. On success with a target, attached
 * receives "<sql table>:<id>" (attachedlen >= 128 always suffices).
 * Returns 0, or with a French sentence in err: RELAIS_EINVAL (target
 * malformed), RELAIS_ENOTFOUND (unknown message, table or row), RELAIS_EPERM
 * (read-only caf account, or the message is not in quarantine), RELAIS_EEXIST
 * (already handled), RELAIS_EDB / RELAIS_ENOMEM. Nothing is written on error.
 */
int courrier_decide(struct replica *r, const char *id, const char *target,
		    char *attached, size_t attachedlen, char *err, size_t errlen) RELAIS_WUR;

#endif
