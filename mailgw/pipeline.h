/*
 * pipeline.h - from one parsed message to records in the store (prefix
 * mailgw_pipeline_).
 *
 * The pipeline decides what a message is (automatic mail, a candidature, a
 * bilan, something unreadable), reads its form, validates it and writes what
 * it holds through the server's one write path (sync_local_begin/commit), so
 * that the rows replicate to the coordinators like any other edit. It knows
 * nothing of IMAP, SMTP or the journal: exactly-once is the caller's job.
 */
#ifndef RELAIS_MAILGW_PIPELINE_H
#define RELAIS_MAILGW_PIPELINE_H

#include <stdint.h>
#include <sqlite3.h>
#include "../common/relais.h"
#include "../sync/sync.h"
#include "mime.h"
#include "outcome.h"

/* The login that the gateway's writes are stamped with (seen in conflicts). */
#define MAILGW_PIPELINE_LOGIN "passerelle-courrier"

/* See mailgw_pipeline_record(). */
typedef int (*mailgw_pipeline_hook)(sqlite3 *db, const struct mailgw_result *r, void *arg);

/*
 * Records message m for département dept on db, the server's writer
 * connection (no transaction open), with the replicated tables t. now_ms
 * gives "today" (local time) for date_depot, date_candidature and
 * date_reception.
 *
 * r is overwritten (its previous content is not freed) and receives the
 * outcome:
 *   MAILGW_IGNORED     automatic mail (mailgw_automatic_reason(), automatic.h:
 *                      the same list the answers use); r->reason says which;
 *   MAILGW_QUARANTINE  TNEF (winmail.dat), a parse status other than OK, no
 *                      recognisable form in the body, the attachments (CSV,
 *                      office files read by the worker) or the HTML tables
 *                      (r->reason names a refused office file when there is
 *                      one), or a bilan whose structure could be several
 *                      (r->reason lists them); r->reason says why;
 *   MAILGW_REJECTED    a form with problems (r->problems), or a bilan naming
 *                      a structure or promeneur unknown in dept; nothing is
 *                      written;
 *   MAILGW_RECORDED    the records were written in one transaction (a table
 *                      of several bilans: all of them or none);
 *                      r->records holds one French line per record created
 *                      or matched.
 * r->kind says what the message was read as. The caller frees r with
 * mailgw_result_free().
 *
 * hook, when not NULL, runs inside the records' transaction just before it
 * commits, with r->outcome already MAILGW_RECORDED and r->records filled, so
 * that the caller's own bookkeeping (the gateway's journal) commits with the
 * records or not at all; it writes on db with plain SQL (captured like the
 * records) and returns 0 or a RELAIS_E* code, which aborts everything as a
 * database failure would. It is not called for the other outcomes, which
 * write nothing.
 *
 * Returns 0 when r holds an outcome. On a database failure (RELAIS_EDB,
 * RELAIS_EBUSY, RELAIS_ECONSTRAINT...) or RELAIS_ENOMEM the transaction is
 * rolled back, nothing is written, r is left empty and the code is returned:
 * the caller keeps the message and tries again later.
 */
int mailgw_pipeline_record(sqlite3 *db, const struct sync_tables *t, const char *dept,
			   const struct mailgw_mime_msg *m, int64_t now_ms,
			   struct mailgw_result *r, mailgw_pipeline_hook hook, void *arg) RELAIS_WUR;

#endif
