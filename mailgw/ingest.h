/*
 * ingest.h - the gateway's exactly-once bookkeeping on the server store
 * (prefix mailgw_ingest_): the raw archive, the inbound_mail journal, the
 * answers to send and the mailbox position (docs/mailgw.md, "Processing",
 * steps 1, 2, 4 and 5).
 *
 * Each function below runs one short transaction on db, the server's
 * writer connection, with no transaction open: the caller holds the
 * store's writer lock around each call only, never while parsing or
 * talking to a mail server. Journal writes go through
 * sync_local_begin/commit so that the rows get server seqs and reach the
 * coordinators' replicas; the three server-only tables below are written in
 * the same transactions but are never replicated:
 *
 *   mail_archive  one row per journal row: the raw message, zlib-compressed,
 *                 with its SHA-256 and size;
 *   mail_replies  one row per answer planned: recipient, the whole formatted
 *                 answer (so that a crash before sending resends the same
 *                 Message-ID), when planned and sent; it is also the rate
 *                 limit's memory (rejections per sender and kind);
 *   mail_state    per département: the inbox's UIDVALIDITY and the last UID
 *                 whose outcome is committed and whose message was moved.
 */
#ifndef RELAIS_MAILGW_INGEST_H
#define RELAIS_MAILGW_INGEST_H

#include <stddef.h>
#include <stdint.h>
#include <sqlite3.h>
#include "../common/buf.h"
#include "../common/relais.h"
#include "../common/util.h"
#include "../sync/sync.h"
#include "mime.h"
#include "outcome.h"

/* The note that ends a message text cut to fit the journal. */
#define MAILGW_INGEST_CUT_NOTE "\n[… texte tronqué : le message complet est archivé sur le serveur]"
/* Longest Message-ID kept from the raw header (RFC 5322 line limit). */
#define MAILGW_INGEST_MSGID_MAX 998

/* Creates the server-only tables when missing. Safe to call again. */
int mailgw_ingest_schema(sqlite3 *db) RELAIS_WUR;

/* What archiving one message found. */
struct mailgw_ingest_entry {
	char id[UTIL_UUID_LEN + 1];   /* the journal row (new, or the one seen before) */
	int duplicate;                /* 1: already in the journal with a final outcome */
	enum mailgw_outcome outcome;  /* with duplicate: that outcome, whose folder the
					 message belongs in (a move that failed or was
					 cut, or the same message delivered again) */
	char sha256[UTIL_SHA256_HEX + 1];
};

/*
 * Step 2. Looks for raw[0..len) in dept's journal, by its Message-ID (read
 * from the raw header, when it has one) or its SHA-256:
 *   - a row with a final outcome: e->duplicate = 1, e->id is that row,
 *     e->outcome its outcome, nothing is written;
 *   - a row still "en_cours" (a crash after archiving, before recording):
 *     e->id is that row, to be recorded again; nothing is written;
 *   - none: the message is archived (compressed) and a journal row
 *     "en_cours" created with its Message-ID, fingerprint and reception
 *     time (now_ms), in one transaction; e->id is the new row.
 * Returns 0, or RELAIS_EDB / RELAIS_EBUSY / RELAIS_ENOMEM (nothing written).
 */
int mailgw_ingest_archive(sqlite3 *db, const struct sync_tables *t, const char *dept,
			  const void *raw, size_t len, int64_t now_ms,
			  struct mailgw_ingest_entry *e) RELAIS_WUR;

/*
 * Reads back the raw bytes archived for journal row id, appended to out
 * (whose cap applies: RELAIS_ETOOBIG). RELAIS_ENOTFOUND when none,
 * RELAIS_ECORRUPT when the stored bytes do not inflate to their size and hash.
 */
int mailgw_ingest_archive_read(sqlite3 *db, const char *id, struct buf *out) RELAIS_WUR;

/* Where the answers come from. */
struct mailgw_ingest_sender {
	const char *addr;  /* the network's address (From of answers) */
	const char *name;  /* its display name; may be NULL */
};

/*
 * Step 4. Records the message of journal row id:
 *   - m not NULL: runs the pipeline (mailgw_pipeline_record) for dept;
 *   - m NULL: the sandbox could not parse it: the outcome is MAILGW_QUARANTINE
 *     with quarantine_reason (French) and no answer.
 * The journal row then gets its outcome, type, lines, reason, sender,
 * subject and text (cut to what the model accepts: single-line fields have
 * CR and LF turned into spaces, every field at most MODEL_TEXT_MAX
 * characters, the text ending with MAILGW_INGEST_CUT_NOTE when cut), and,
 * when an answer is due (mailgw_reply_allowed, and for a rejection or a
 * quarantine note mailgw_reply_rate_ok against the last one planned for the
 * same sender and kind), the answer is built and stored in mail_replies and
 * the row's reponse set to "a_envoyer"; when an answer would be due but
 * none goes (no usable From address, an automatic message, the rate limit),
 * reponse stays "aucune" and reponse_motif says why. For a recorded message this happens
 * in the records' own transaction (the pipeline's hook), so a crash leaves
 * either the records and the journal's outcome or neither; the other
 * outcomes write nothing but the journal, in one transaction.
 *
 * *r receives the outcome (the caller frees it with mailgw_result_free());
 * *reply_planned is 1 when an answer waits in mail_replies.
 * Returns 0, or the pipeline's or the database's error: then the row stays
 * "en_cours" and the caller keeps the message to try again later.
 */
int mailgw_ingest_record(sqlite3 *db, const struct sync_tables *t, const char *dept,
			 const char *id, const struct mailgw_mime_msg *m,
			 const char *quarantine_reason, const struct mailgw_ingest_sender *from,
			 int64_t now_ms, struct mailgw_result *r, int *reply_planned) RELAIS_WUR;

/* An answer waiting to be sent. */
struct mailgw_ingest_reply {
	char id[UTIL_UUID_LEN + 1];   /* its journal row */
	char *rcpt;                   /* the original sender */
	char *message_id;             /* the answer's Message-ID, without brackets */
	unsigned char *msg;           /* the formatted answer (CRLF) */
	size_t len;
};

/*
 * Step 5, and the start of the gateway. Lists dept's answers still
 * "a_envoyer", oldest first, or only that of journal row id when id is not
 * NULL. *out is NULL when *n is 0; free with mailgw_ingest_replies_free().
 */
int mailgw_ingest_replies_pending(sqlite3 *db, const char *dept, const char *id,
				  struct mailgw_ingest_reply **out, size_t *n) RELAIS_WUR;
void mailgw_ingest_replies_free(struct mailgw_ingest_reply *r, size_t n);

/*
 * Marks the answer of journal row id sent at now_ms: reponse = "envoyee"
 * and reponse_id = its Message-ID, in one transaction.
 * RELAIS_ENOTFOUND when no answer waits for it (none planned, or already
 * sent or refused for good).
 */
int mailgw_ingest_reply_sent(sqlite3 *db, const struct sync_tables *t, const char *id,
			     int64_t now_ms) RELAIS_WUR;

/* Longest SMTP reply kept in the journal for a refused answer. */
#define MAILGW_INGEST_REPLY_TEXT 400

/*
 * Marks the answer of journal row id refused for good by the SMTP server
 * (mailgw_smtp_send returned RELAIS_EREFUSED), in one transaction: the
 * journal row's reponse becomes "aucune" and reponse_motif says why, with
 * reply (the server's words, cut at MAILGW_INGEST_REPLY_TEXT bytes), and
 * the answer leaves the queue (its text is dropped; its row stays, so the
 * rate limit still counts it). RELAIS_ENOTFOUND when no answer waits for id.
 */
int mailgw_ingest_reply_failed(sqlite3 *db, const struct sync_tables *t, const char *id,
			       const char *reply) RELAIS_WUR;

/*
 * Records a message that could not even be fetched (over the size cap):
 * a journal row "quarantaine" with reason (French) and no archive, so that a
 * coordinator knows it waits in the quarantine folder. header[0..len) is its
 * header as fetched alone (len 0 when even that failed): its Message-ID and
 * SHA-256 identify the message, so that seen again (a crash before it was
 * moved, a second delivery) it is a duplicate: *duplicate = 1, *id the row
 * seen before, nothing written. *id (may be NULL) receives the row's id.
 */
int mailgw_ingest_unreadable(sqlite3 *db, const struct sync_tables *t, const char *dept,
			     const void *header, size_t len, const char *reason, int64_t now_ms,
			     char id[UTIL_UUID_LEN + 1], int *duplicate) RELAIS_WUR;

/* Step 1. The inbox position of dept: 0 and 0 when never set. */
int mailgw_ingest_state_get(sqlite3 *db, const char *dept, uint32_t *uidvalidity,
			    uint32_t *last_uid) RELAIS_WUR;
int mailgw_ingest_state_set(sqlite3 *db, const char *dept, uint32_t uidvalidity,
			    uint32_t last_uid) RELAIS_WUR;

#endif
