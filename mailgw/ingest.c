/*
 * ingest.c - archive, journal, answers and mailbox position of the gateway.
 *
 * Exactly-once rests on one ordering: the journal row is committed (step 2)
 * before anything is parsed, its outcome committed (step 4) before the
 * message is moved, and the mailbox position advanced last. Whatever is
 * interrupted, the message is still in the inbox above the stored UID and
 * the journal says how far it got.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>
#include "../model/form.h"
#include "../model/model.h"
#include "ingest.h"
#include "pipeline.h"
#include "reply.h"

/* Cap on one formatted answer kept in mail_replies. */
#define REPLY_CAP (MAILGW_REPLY_MAX_BODY + 256u * 1024)

static const char schema_sql[] =
	"CREATE TABLE IF NOT EXISTS mail_archive("
	" id TEXT PRIMARY KEY NOT NULL,"      /* inbound_mail.id */
	" sha256 TEXT NOT NULL,"
	" size INTEGER NOT NULL,"
	" received_ms INTEGER NOT NULL,"
	" raw BLOB NOT NULL);"
	"CREATE INDEX IF NOT EXISTS mail_archive_sha ON mail_archive(sha256);"
	/* The bytes of the documents (attachments) the journal lists, once
	 * per content, fetched by replicas through GET /v1/document/SHA256. */
	"CREATE TABLE IF NOT EXISTS document_blob("
	" sha256 TEXT PRIMARY KEY NOT NULL,"
	" size INTEGER NOT NULL,"
	" data BLOB NOT NULL);"
	"CREATE TABLE IF NOT EXISTS mail_replies("
	" id TEXT PRIMARY KEY NOT NULL,"      /* inbound_mail.id */
	" dept TEXT NOT NULL,"
	" sender TEXT NOT NULL,"              /* lower case */
	" kind TEXT NOT NULL,"
	" rejection INTEGER NOT NULL,"
	" planned_ms INTEGER NOT NULL,"
	" sent_ms INTEGER,"
	" message_id TEXT NOT NULL,"
	" message BLOB);"                     /* dropped once sent */
	"CREATE INDEX IF NOT EXISTS mail_replies_rate ON mail_replies(dept, sender, kind, rejection);"
	"CREATE TABLE IF NOT EXISTS mail_state("
	" dept TEXT PRIMARY KEY NOT NULL,"
	" uidvalidity INTEGER NOT NULL,"
	" last_uid INTEGER NOT NULL);";

int mailgw_ingest_schema(sqlite3 *db)
{
	return relais_sqlite_error(sqlite3_exec(db, schema_sql, NULL, NULL, NULL));
}

/* ---- texts ---- */

/*
 * A copy of s[0..len) (stopping at a NUL) that the journal's CHECKs accept:
 * at most MODEL_TEXT_MAX characters (counted as SQLite's length() does: the
 * bytes that do not continue a UTF-8 sequence), CR and LF as spaces when
 * single_line, and note appended when something was cut. NULL on ENOMEM.
 */
static char *journal_text(const char *s, size_t len, int single_line, const char *note)
{
	size_t notechars = 0, chars = 0, cut = 0, i;
	int cutting = 0;
	char *out;

	if (!s)
		s = "";
	for (i = 0; i < len && s[i]; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			chars++;
	len = i;
	if (chars > MODEL_TEXT_MAX) {
		cutting = 1;
		for (const char *p = note ? note : ""; *p; p++)
			if (((unsigned char)*p & 0xc0) != 0x80)
				notechars++;
		size_t keep = MODEL_TEXT_MAX - notechars;
		chars = 0;
		for (cut = 0; cut < len; cut++) {
			if (((unsigned char)s[cut] & 0xc0) != 0x80 && chars++ == keep)
				break;
		}
	} else {
		cut = len;
	}
	size_t nl = cutting && note ? strlen(note) : 0;
	out = malloc(cut + nl + 1);
	if (!out)
		return NULL;
	memcpy(out, s, cut);
	if (nl)
		memcpy(out + cut, note, nl);
	out[cut + nl] = 0;
	if (single_line)
		for (char *p = out; *p; p++)
			if (*p == '\r' || *p == '\n')
				*p = ' ';
	return out;
}

/* The lines joined with "\n", as journal text; NULL when none (or ENOMEM:
 * *rc says which). */
static char *join_lines(char **items, size_t n, int *rc)
{
	struct buf b = BUF_INIT((size_t)MODEL_TEXT_MAX * 4 + 1024);
	char *out = NULL;
	*rc = 0;
	if (!n)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		int e = buf_puts(&b, i ? "\n" : "");
		if (!e)
			e = buf_puts(&b, items[i] ? items[i] : "");
		if (e == RELAIS_ETOOBIG)
			break; /* journal_text cuts it anyway */
		if (e) {
			*rc = e;
			goto out;
		}
	}
	out = journal_text(buf_str(&b), b.len, 0, "\n[…]");
	if (!out)
		*rc = RELAIS_ENOMEM;
out:
	buf_release(&b);
	return out;
}

/*
 * The Message-ID of a raw message, without brackets, from its header
 * (folded lines joined); "" when it has none. Only printable ASCII is kept:
 * the parsed value would be the same for any sane id, and this one is read
 * before the sandbox has looked at the message.
 */
static void raw_message_id(const unsigned char *p, size_t len, char *out, size_t outlen)
{
	static const char name[] = "message-id:";
	size_t i = 0, n = 0;
	out[0] = 0;
	while (i < len) {
		size_t eol = i;
		while (eol < len && p[eol] != '\n')
			eol++;
		size_t linelen = eol - i;
		if (linelen && p[i + linelen - 1] == '\r')
			linelen--;
		if (linelen == 0)
			return; /* end of the header */
		if (linelen >= sizeof(name) - 1 && !strncasecmp((const char *)p + i, name, sizeof(name) - 1)) {
			/* Value: this line after the colon and its continuation lines. */
			size_t j = i + sizeof(name) - 1;
			int in_angle = 0, done = 0;
			for (;;) {
				for (; j < eol && !done; j++) {
					unsigned char c = p[j];
					if (c == '<' && !in_angle && n == 0) {
						in_angle = 1;
						continue;
					}
					if (c == '>' && in_angle) {
						done = 1;
						break;
					}
					if (c <= ' ' || c >= 0x7f)
						continue;
					if (n + 1 < outlen)
						out[n++] = (char)c;
				}
				if (done || eol >= len || eol + 1 >= len ||
				    (p[eol + 1] != ' ' && p[eol + 1] != '\t'))
					break;
				j = eol + 1;
				eol = j;
				while (eol < len && p[eol] != '\n')
					eol++;
			}
			out[n] = 0;
			return;
		}
		i = eol + 1;
	}
}

/* ---- statements ---- */

static int bind_text_or_null(sqlite3_stmt *st, int i, const char *s)
{
	if (!s || !*s)
		return sqlite3_bind_null(st, i);
	return sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
}

/* Runs a statement that returns no rows. */
static int step_done(sqlite3_stmt *st)
{
	int s = sqlite3_step(st);
	return s == SQLITE_DONE ? 0 : relais_sqlite_error(s == SQLITE_ROW ? SQLITE_MISUSE : s);
}

/* Runs an UPDATE that must change exactly one row: RELAIS_ENOTFOUND when
 * it changed none. */
static int step_one(sqlite3 *db, sqlite3_stmt *st)
{
	int rc = step_done(st);
	return !rc && sqlite3_changes(db) != 1 ? RELAIS_ENOTFOUND : rc;
}

static int prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st)
{
	return relais_sqlite_error(sqlite3_prepare_v2(db, sql, -1, st, NULL));
}

/* ---- archive ---- */

/* The outcome a journal row's resultat names (never MAILGW_DUPLICATE). */
static enum mailgw_outcome outcome_of(const char *resultat)
{
	if (!strcmp(resultat, "enregistre"))
		return MAILGW_RECORDED;
	if (!strcmp(resultat, "rejete"))
		return MAILGW_REJECTED;
	if (!strcmp(resultat, "ignore"))
		return MAILGW_IGNORED;
	return MAILGW_QUARANTINE;
}

/* Looks dept's journal up for the fingerprint or Message-ID; a row with a
 * final outcome comes first (its outcome in *outcome when not NULL). *found
 * 0 when none. */
static int find_seen(sqlite3 *db, const char *dept, const char *sha, const char *msgid,
		     char id[UTIL_UUID_LEN + 1], int *final, enum mailgw_outcome *outcome,
		     int *found)
{
	sqlite3_stmt *st = NULL;
	int rc = prepare(db,
		"SELECT id, resultat <> 'en_cours', resultat FROM inbound_mail WHERE dept = ?1 AND "
		"(empreinte = ?2 OR (?3 IS NOT NULL AND message_id = ?3)) "
		"ORDER BY resultat = 'en_cours' LIMIT 1", &st);
	*found = 0;
	if (rc)
		goto out;
	sqlite3_bind_text(st, 1, dept, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, sha, -1, SQLITE_STATIC);
	bind_text_or_null(st, 3, msgid);
	int s = sqlite3_step(st);
	if (s == SQLITE_ROW) {
		const unsigned char *v = sqlite3_column_text(st, 0);
		snprintf(id, UTIL_UUID_LEN + 1, "%s", v ? (const char *)v : "");
		*final = sqlite3_column_int(st, 1);
		if (outcome) {
			const unsigned char *res = sqlite3_column_text(st, 2);
			*outcome = outcome_of(res ? (const char *)res : "");
		}
		*found = 1;
	} else if (s != SQLITE_DONE) {
		rc = relais_sqlite_error(s);
	}
out:
	sqlite3_finalize(st);
	return rc;
}

static int insert_archive(sqlite3 *db, const char *id, const char *sha, const void *raw,
			  size_t len, int64_t now_ms)
{
	sqlite3_stmt *st = NULL;
	uLongf zlen = compressBound((uLong)len);
	unsigned char *z = malloc(zlen ? zlen : 1);
	int rc = 0;
	if (!z)
		return RELAIS_ENOMEM;
	if (compress2(z, &zlen, raw, (uLong)len, Z_BEST_COMPRESSION) != Z_OK) {
		rc = RELAIS_ENOMEM;
		goto out;
	}
	rc = prepare(db, "INSERT INTO mail_archive(id, sha256, size, received_ms, raw) "
			 "VALUES(?, ?, ?, ?, ?)", &st);
	if (rc)
		goto out;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, sha, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)len);
	sqlite3_bind_int64(st, 4, now_ms);
	sqlite3_bind_blob(st, 5, z, (int)zlen, SQLITE_STATIC);
	rc = step_done(st);
out:
	sqlite3_finalize(st);
	free(z);
	return rc;
}

static int insert_journal(sqlite3 *db, const char *id, const char *dept, const char *msgid,
			  const char *sha, int64_t now_ms, const char *resultat, const char *raison)
{
	sqlite3_stmt *st = NULL;
	char when[21];
	int rc = prepare(db, "INSERT INTO inbound_mail(id, dept, message_id, empreinte, recu_le, "
			     "resultat, raison, traitement) VALUES(?, ?, ?, ?, ?, ?, ?, ?)", &st);
	if (rc)
		goto out;
	util_iso8601(now_ms, when);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, dept, -1, SQLITE_STATIC);
	bind_text_or_null(st, 3, msgid);
	bind_text_or_null(st, 4, sha);
	sqlite3_bind_text(st, 5, when, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, resultat, -1, SQLITE_STATIC);
	bind_text_or_null(st, 7, raison);
	bind_text_or_null(st, 8, !strcmp(resultat, "quarantaine") ? "a_traiter" : NULL);
	rc = step_done(st);
out:
	sqlite3_finalize(st);
	return rc;
}

int mailgw_ingest_archive(sqlite3 *db, const struct sync_tables *t, const char *dept,
			  const void *raw, size_t len, int64_t now_ms,
			  struct mailgw_ingest_entry *e)
{
	struct sync_local *l = NULL;
	char msgid[MAILGW_INGEST_MSGID_MAX + 1];
	int final = 0, found = 0, rc;

	memset(e, 0, sizeof(*e));
	util_sha256_hex(raw, len, e->sha256);
	raw_message_id(raw, len, msgid, sizeof(msgid));

	rc = sync_local_begin(db, t, &l);
	if (rc)
		return rc;
	rc = find_seen(db, dept, e->sha256, msgid, e->id, &final, &e->outcome, &found);
	if (rc)
		goto out;
	if (found) {
		e->duplicate = final;
		sync_local_abort(l);
		l = NULL;
		goto out;
	}
	rc = util_uuid(e->id);
	if (!rc)
		rc = insert_archive(db, e->id, e->sha256, raw, len, now_ms);
	if (!rc)
		rc = insert_journal(db, e->id, dept, msgid, e->sha256, now_ms, "en_cours", NULL);
	if (rc)
		goto out;
	rc = sync_local_commit(l, MAILGW_PIPELINE_LOGIN);
	l = NULL;
out:
	if (l)
		sync_local_abort(l);
	if (rc)
		memset(e, 0, sizeof(*e));
	return rc;
}

int mailgw_ingest_archive_read(sqlite3 *db, const char *id, struct buf *out)
{
	sqlite3_stmt *st = NULL;
	unsigned char *raw = NULL;
	int rc = prepare(db, "SELECT size, sha256, raw FROM mail_archive WHERE id = ?", &st);
	if (rc)
		goto out;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	int s = sqlite3_step(st);
	if (s != SQLITE_ROW) {
		rc = s == SQLITE_DONE ? RELAIS_ENOTFOUND : relais_sqlite_error(s);
		goto out;
	}
	sqlite3_int64 size = sqlite3_column_int64(st, 0);
	const unsigned char *sha = sqlite3_column_text(st, 1);
	const void *z = sqlite3_column_blob(st, 2);
	int zlen = sqlite3_column_bytes(st, 2);
	if (size < 0 || !sha || (size_t)size > out->max - out->len) {
		rc = size < 0 || !sha ? RELAIS_ECORRUPT : RELAIS_ETOOBIG;
		goto out;
	}
	/* The stored size bounds the inflation: a corrupt blob cannot grow it. */
	uLongf rawlen = (uLongf)size;
	raw = malloc(size ? (size_t)size : 1);
	if (!raw) {
		rc = RELAIS_ENOMEM;
		goto out;
	}
	if (uncompress(raw, &rawlen, z, (uLong)zlen) != Z_OK || rawlen != (uLongf)size) {
		rc = RELAIS_ECORRUPT;
		goto out;
	}
	char hex[UTIL_SHA256_HEX + 1];
	util_sha256_hex(raw, rawlen, hex);
	if (strcmp(hex, (const char *)sha)) {
		rc = RELAIS_ECORRUPT;
		goto out;
	}
	rc = buf_append(out, raw, rawlen);
out:
	free(raw);
	sqlite3_finalize(st);
	return rc;
}

int mailgw_ingest_unreadable(sqlite3 *db, const struct sync_tables *t, const char *dept,
			     const void *header, size_t len, const char *reason, int64_t now_ms,
			     char id[UTIL_UUID_LEN + 1], int *duplicate)
{
	struct sync_local *l = NULL;
	char uuid[UTIL_UUID_LEN + 1], sha[UTIL_SHA256_HEX + 1];
	char msgid[MAILGW_INGEST_MSGID_MAX + 1] = "";
	char *why = journal_text(reason, strlen(reason), 1, NULL);
	int final = 0, found = 0;
	int rc = why ? 0 : RELAIS_ENOMEM;

	*duplicate = 0;
	if (rc)
		goto out;
	if (len) {
		util_sha256_hex(header, len, sha);
		raw_message_id(header, len, msgid, sizeof(msgid));
	}
	rc = sync_local_begin(db, t, &l);
	if (rc)
		goto out;
	if (len && (rc = find_seen(db, dept, sha, msgid, uuid, &final, NULL, &found)))
		goto abort;
	if (found) {
		/* Seen before, final or not: this message has its row already. */
		*duplicate = 1;
		sync_local_abort(l);
		if (id)
			memcpy(id, uuid, sizeof(uuid));
		goto out;
	}
	rc = util_uuid(uuid);
	if (!rc)
		rc = insert_journal(db, uuid, dept, msgid[0] ? msgid : NULL, len ? sha : NULL, now_ms,
				    "quarantaine", why);
	if (rc)
		goto abort;
	rc = sync_local_commit(l, MAILGW_PIPELINE_LOGIN);
	if (!rc && id)
		memcpy(id, uuid, sizeof(uuid));
	goto out;
abort:
	sync_local_abort(l);
out:
	free(why);
	return rc;
}

/* ---- record ---- */

static const char *outcome_word(enum mailgw_outcome o)
{
	switch (o) {
	case MAILGW_RECORDED:
		return "enregistre";
	case MAILGW_REJECTED:
		return "rejete";
	case MAILGW_QUARANTINE:
		return "quarantaine";
	case MAILGW_IGNORED:
	case MAILGW_DUPLICATE:
		return "ignore";
	}
	return "quarantaine";
}

/* The last rejection planned for sender and kind in dept, 0 when none. */
static int last_rejection(sqlite3 *db, const char *dept, const char *sender, const char *kind,
			  int64_t *last)
{
	sqlite3_stmt *st = NULL;
	int rc = prepare(db, "SELECT coalesce(max(planned_ms), 0) FROM mail_replies WHERE dept = ? "
			     "AND sender = lower(?) AND kind = ? AND rejection = 1", &st);
	*last = 0;
	if (rc)
		goto out;
	sqlite3_bind_text(st, 1, dept, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, sender, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, kind, -1, SQLITE_STATIC);
	int s = sqlite3_step(st);
	if (s == SQLITE_ROW)
		*last = sqlite3_column_int64(st, 0);
	else
		rc = relais_sqlite_error(s);
out:
	sqlite3_finalize(st);
	return rc;
}

/* The Message-ID header of a formatted answer, without brackets. */
static int answer_message_id(const struct buf *b, char *out, size_t outlen)
{
	raw_message_id(b->data, b->len, out, outlen);
	return *out ? 0 : RELAIS_EINVAL;
}

/*
 * Builds and stores the answer to m for r when one is due; *planned says
 * whether it was. When an answer would be due but none goes, why gets the
 * French reason for the journal, else "". Runs inside the journal
 * transaction.
 */
static int plan_reply(sqlite3 *db, const char *dept, const char *id,
		      const struct mailgw_mime_msg *m, const struct mailgw_result *r,
		      const struct mailgw_ingest_sender *from, int64_t now_ms, int *planned,
		      char *why, size_t whylen)
{
	struct buf b = BUF_INIT(REPLY_CAP);
	sqlite3_stmt *st = NULL;
	char msgid[MAILGW_INGEST_MSGID_MAX + 1];
	const char *kind = form_kind_name(r->kind);
	/* A quarantine note is limited like a rejection: a flood of unreadable
	 * mail from one address must not turn the gateway into a spam source. */
	int rejection = r->outcome == MAILGW_REJECTED || r->outcome == MAILGW_QUARANTINE, rc = 0;
	int64_t last = 0;

	*planned = 0;
	why[0] = 0;
	if (!m || !from || !from->addr || r->outcome == MAILGW_IGNORED ||
	    r->outcome == MAILGW_DUPLICATE || r->no_answer || !mailgw_reply_allowed(m, why, whylen))
		goto out;
	if (rejection) {
		rc = last_rejection(db, dept, m->from_addr, kind, &last);
		if (!rc && !mailgw_reply_rate_ok(last, now_ms))
			snprintf(why, whylen, "Une réponse de refus est déjà partie vers cette adresse "
					      "il y a moins de 24 heures : pas de nouvelle réponse.");
		if (rc || why[0])
			goto out;
	}
	rc = mailgw_reply_build(m, r, from->addr, from->name, now_ms, &b);
	if (rc == RELAIS_EINVAL) {
		/* Nothing that can be answered (no usable address): no answer. */
		snprintf(why, whylen, "Réponse impossible à écrire pour cette adresse : pas de réponse.");
		rc = 0;
		goto out;
	}
	if (rc)
		goto out;
	rc = answer_message_id(&b, msgid, sizeof(msgid));
	if (rc)
		goto out;
	rc = prepare(db, "INSERT OR REPLACE INTO mail_replies(id, dept, sender, kind, rejection, "
			 "planned_ms, sent_ms, message_id, message) "
			 "VALUES(?, ?, lower(?), ?, ?, ?, NULL, ?, ?)", &st);
	if (rc)
		goto out;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, dept, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, m->from_addr, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, kind, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 5, rejection);
	sqlite3_bind_int64(st, 6, now_ms);
	sqlite3_bind_text(st, 7, msgid, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 8, b.data, (int)b.len, SQLITE_STATIC);
	rc = step_done(st);
	if (!rc)
		*planned = 1;
out:
	sqlite3_finalize(st);
	buf_release(&b);
	return rc;
}

/* The journal texts of one outcome, all malloc'ed (NULL for none). */
struct journal_texts {
	char *records, *problems, *reason, *text, *sender, *name, *subject, *msgid;
};

static void texts_free(struct journal_texts *x)
{
	free(x->records);
	free(x->problems);
	free(x->reason);
	free(x->text);
	free(x->sender);
	free(x->name);
	free(x->subject);
	free(x->msgid);
}

static int texts_make(const struct mailgw_mime_msg *m, const struct mailgw_result *r,
		      struct journal_texts *x)
{
	int rc = 0;
	memset(x, 0, sizeof(*x));
	x->records = join_lines(r->records, r->nrecords, &rc);
	if (!rc)
		x->problems = join_lines(r->problems, r->nproblems, &rc);
	if (rc)
		return rc;
	if (r->reason[0] && !(x->reason = journal_text(r->reason, strlen(r->reason), 1, NULL)))
		return RELAIS_ENOMEM;
	if (!m)
		return 0;
#define ONE_LINE(field, src)                                                    \
	if ((src) && !((field) = journal_text((src), strlen(src), 1, NULL)))    \
		return RELAIS_ENOMEM;
	ONE_LINE(x->sender, m->from_addr);
	ONE_LINE(x->name, m->from_name);
	ONE_LINE(x->subject, m->subject);
	ONE_LINE(x->msgid, m->message_id);
#undef ONE_LINE
	if (m->body && *m->body &&
	    !(x->text = journal_text(m->body, m->body_len, 0, MAILGW_INGEST_CUT_NOTE)))
		return RELAIS_ENOMEM;
	return 0;
}

static int journal_update(sqlite3 *db, const char *id, const char *dept,
			  const struct mailgw_result *r, const struct journal_texts *x, int planned,
			  const char *no_answer)
{
	sqlite3_stmt *st = NULL;
	int rc = prepare(db,
		"UPDATE inbound_mail SET resultat = ?1, type = ?2, enregistrements = ?3, "
		"problemes = ?4, raison = ?5, texte = ?6, expediteur = coalesce(?7, expediteur), "
		"nom_expediteur = coalesce(?8, nom_expediteur), sujet = coalesce(?9, sujet), "
		"message_id = coalesce(message_id, ?10), reponse = ?11, reponse_motif = ?14, "
		"traitement = CASE WHEN ?1 = 'quarantaine' THEN 'a_traiter' ELSE traitement END "
		"WHERE id = ?12 AND dept = ?13", &st);
	if (rc)
		goto out;
	sqlite3_bind_text(st, 1, outcome_word(r->outcome), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, form_kind_name(r->kind), -1, SQLITE_STATIC);
	bind_text_or_null(st, 3, x->records);
	bind_text_or_null(st, 4, x->problems);
	bind_text_or_null(st, 5, x->reason);
	bind_text_or_null(st, 6, x->text);
	bind_text_or_null(st, 7, x->sender);
	bind_text_or_null(st, 8, x->name);
	bind_text_or_null(st, 9, x->subject);
	bind_text_or_null(st, 10, x->msgid);
	sqlite3_bind_text(st, 11, planned ? "a_envoyer" : "aucune", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 12, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 13, dept, -1, SQLITE_STATIC);
	bind_text_or_null(st, 14, planned ? NULL : no_answer);
	rc = step_one(db, st);
out:
	sqlite3_finalize(st);
	return rc;
}

/* What the journal update needs, inside whichever transaction carries it. */
struct journal_job {
	const char *id, *dept;
	const struct mailgw_mime_msg *m;
	const struct mailgw_ingest_sender *from;
	int64_t now_ms;
	int planned;  /* out: an answer was planned */
	int done;     /* out: the update ran (in the records' transaction) */
};

/*
 * Keeps every attachment of the message as a document of the journal row:
 * its bytes in document_blob (once per content), a replicated document row
 * that coordinators see and attach to a fiche. In the journal's
 * transaction, so a message is journaled with its documents or not at all.
 */
static int documents_write(sqlite3 *db, const struct journal_job *j)
{
	sqlite3_stmt *blob = NULL, *doc = NULL;
	int rc = 0;

	if (!j->m || !j->m->n_attachments)
		return 0;
	rc = prepare(db, "INSERT OR IGNORE INTO document_blob(sha256, size, data) VALUES(?1, ?2, ?3)",
		     &blob);
	if (!rc)
		rc = prepare(db, "INSERT INTO document(id, dept, courrier, nom, type, taille, empreinte) "
			     "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)", &doc);
	for (size_t i = 0; !rc && i < j->m->n_attachments; i++) {
		const struct mailgw_attachment *a = &j->m->attachments[i];
		char sha[UTIL_SHA256_HEX + 1], did[UTIL_UUID_LEN + 1], name[64];
		if (!a->data && a->len)
			continue;
		util_sha256_hex(a->data ? (const void *)a->data : "", a->len, sha);
		if ((rc = util_uuid(did)))
			break;
		snprintf(name, sizeof(name), "piece-jointe-%zu", i + 1);
		sqlite3_bind_text(blob, 1, sha, -1, SQLITE_STATIC);
		sqlite3_bind_int64(blob, 2, (sqlite3_int64)a->len);
		sqlite3_bind_blob(blob, 3, a->data ? (const void *)a->data : "", (int)a->len, SQLITE_STATIC);
		rc = step_done(blob);
		sqlite3_reset(blob);
		if (rc)
			break;
		sqlite3_bind_text(doc, 1, did, -1, SQLITE_STATIC);
		sqlite3_bind_text(doc, 2, j->dept, -1, SQLITE_STATIC);
		sqlite3_bind_text(doc, 3, j->id, -1, SQLITE_STATIC);
		sqlite3_bind_text(doc, 4, a->filename && *a->filename ? a->filename : name, -1, SQLITE_STATIC);
		sqlite3_bind_text(doc, 5, a->mime_type ? a->mime_type : "application/octet-stream", -1,
				  SQLITE_STATIC);
		sqlite3_bind_int64(doc, 6, (sqlite3_int64)a->len);
		sqlite3_bind_text(doc, 7, sha, -1, SQLITE_STATIC);
		rc = step_done(doc);
		sqlite3_reset(doc);
	}
	sqlite3_finalize(blob);
	sqlite3_finalize(doc);
	return rc;
}

static int journal_write(sqlite3 *db, const struct mailgw_result *r, void *arg)
{
	struct journal_job *j = arg;
	struct journal_texts x;
	char why[256] = "";
	int rc;

	memset(&x, 0, sizeof(x));
	rc = texts_make(j->m, r, &x);
	if (!rc)
		rc = plan_reply(db, j->dept, j->id, j->m, r, j->from, j->now_ms, &j->planned, why,
				sizeof(why));
	if (!rc)
		rc = journal_update(db, j->id, j->dept, r, &x, j->planned, why);
	if (!rc)
		rc = documents_write(db, j);
	texts_free(&x);
	if (!rc)
		j->done = 1;
	return rc;
}

int mailgw_ingest_record(sqlite3 *db, const struct sync_tables *t, const char *dept,
			 const char *id, const struct mailgw_mime_msg *m,
			 const char *quarantine_reason, const struct mailgw_ingest_sender *from,
			 int64_t now_ms, struct mailgw_result *r, int *reply_planned)
{
	struct journal_job job = { id, dept, m, from, now_ms, 0, 0 };
	struct sync_local *l = NULL;
	int rc;

	*reply_planned = 0;
	if (m) {
		/* Records and journal commit together (the hook runs in the
		 * records' transaction); other outcomes write nothing but the
		 * journal, below. */
		rc = mailgw_pipeline_record(db, t, dept, m, now_ms, r, journal_write, &job);
		if (rc)
			return rc;
		if (job.done) {
			*reply_planned = job.planned;
			return 0;
		}
	} else {
		memset(r, 0, sizeof(*r));
		r->outcome = MAILGW_QUARANTINE;
		r->kind = FORM_UNKNOWN;
		snprintf(r->reason, sizeof(r->reason), "%s",
			 quarantine_reason && *quarantine_reason ? quarantine_reason
								 : "message illisible");
	}
	job.planned = 0;
	rc = sync_local_begin(db, t, &l);
	if (rc)
		goto out;
	rc = journal_write(db, r, &job);
	if (rc) {
		sync_local_abort(l);
		goto out;
	}
	rc = sync_local_commit(l, MAILGW_PIPELINE_LOGIN);
	if (!rc)
		*reply_planned = job.planned;
out:
	if (rc)
		mailgw_result_free(r);
	return rc;
}

/* ---- answers ---- */

void mailgw_ingest_replies_free(struct mailgw_ingest_reply *r, size_t n)
{
	if (!r)
		return;
	for (size_t i = 0; i < n; i++) {
		free(r[i].rcpt);
		free(r[i].message_id);
		free(r[i].msg);
	}
	free(r);
}

static char *dup_column(sqlite3_stmt *st, int i)
{
	const unsigned char *v = sqlite3_column_text(st, i);
	return strdup(v ? (const char *)v : "");
}

int mailgw_ingest_replies_pending(sqlite3 *db, const char *dept, const char *id,
				  struct mailgw_ingest_reply **out, size_t *n)
{
	sqlite3_stmt *st = NULL;
	struct mailgw_ingest_reply *v = NULL;
	size_t count = 0, alloc = 0;
	int rc, s;

	*out = NULL;
	*n = 0;
	rc = prepare(db, "SELECT r.id, r.sender, r.message_id, r.message FROM mail_replies r "
			 "JOIN inbound_mail j ON j.id = r.id "
			 "WHERE r.dept = ?1 AND r.sent_ms IS NULL AND r.message IS NOT NULL "
			 "AND j.reponse = 'a_envoyer' AND (?2 IS NULL OR r.id = ?2) "
			 "ORDER BY r.planned_ms, r.id", &st);
	if (rc)
		goto out;
	sqlite3_bind_text(st, 1, dept, -1, SQLITE_STATIC);
	bind_text_or_null(st, 2, id);
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		struct mailgw_ingest_reply *nv = util_grow(v, &alloc, count, sizeof(*v));
		if (!nv) {
			rc = RELAIS_ENOMEM;
			goto out;
		}
		v = nv;
		struct mailgw_ingest_reply *e = &v[count];
		memset(e, 0, sizeof(*e));
		count++;
		const unsigned char *rid = sqlite3_column_text(st, 0);
		snprintf(e->id, sizeof(e->id), "%s", rid ? (const char *)rid : "");
		e->rcpt = dup_column(st, 1);
		e->message_id = dup_column(st, 2);
		e->len = (size_t)sqlite3_column_bytes(st, 3);
		e->msg = malloc(e->len ? e->len : 1);
		if (!e->rcpt || !e->message_id || !e->msg) {
			rc = RELAIS_ENOMEM;
			goto out;
		}
		if (e->len)
			memcpy(e->msg, sqlite3_column_blob(st, 3), e->len);
	}
	if (s != SQLITE_DONE)
		rc = relais_sqlite_error(s);
out:
	sqlite3_finalize(st);
	if (rc) {
		mailgw_ingest_replies_free(v, count);
		return rc;
	}
	*out = count ? v : NULL;
	if (!count)
		free(v);
	*n = count;
	return 0;
}

/*
 * Runs sql, an UPDATE of the answer to journal row :id that may also name
 * :ms and :motif. RELAIS_ENOTFOUND when it changed no row and must_change.
 */
static int update_reply_row(sqlite3 *db, const char *sql, const char *id, int64_t ms,
			    const char *motif, int must_change)
{
	sqlite3_stmt *st = NULL;
	int i, rc = prepare(db, sql, &st);
	if (rc)
		goto out;
	sqlite3_bind_text(st, sqlite3_bind_parameter_index(st, ":id"), id, -1, SQLITE_STATIC);
	if ((i = sqlite3_bind_parameter_index(st, ":ms")))
		sqlite3_bind_int64(st, i, ms);
	if ((i = sqlite3_bind_parameter_index(st, ":motif")))
		sqlite3_bind_text(st, i, motif, -1, SQLITE_STATIC);
	rc = must_change ? step_one(db, st) : step_done(st);
out:
	sqlite3_finalize(st);
	return rc;
}

/* How an answer's fate is written: its mail_replies row (which must change),
 * then its journal row, in one transaction. */
struct reply_fate {
	const char *reply_sql, *journal_sql;
	int journal_must_change;
};

/* Only an answer still queued: one sent or refused for good is done. */
static const struct reply_fate fate_sent = {
	"UPDATE mail_replies SET sent_ms = :ms, message = NULL WHERE id = :id "
	"AND message IS NOT NULL",
	"UPDATE inbound_mail SET reponse = 'envoyee', reponse_id = "
	"(SELECT message_id FROM mail_replies WHERE id = :id) WHERE id = :id",
	0,
};

/* The answer is never sent now: its text goes, its row stays as the rate
 * limit's memory. */
static const struct reply_fate fate_failed = {
	"UPDATE mail_replies SET message = NULL WHERE id = :id AND sent_ms IS NULL",
	"UPDATE inbound_mail SET reponse = 'aucune', reponse_motif = :motif "
	"WHERE id = :id AND reponse = 'a_envoyer'",
	1,
};

/* Writes fate f of the answer to journal row id (ms and motif for its
 * statements), all or nothing. */
static int reply_fate_write(sqlite3 *db, const struct sync_tables *t, const char *id,
			    const struct reply_fate *f, int64_t ms, const char *motif)
{
	struct sync_local *l = NULL;
	int rc = sync_local_begin(db, t, &l);
	if (!rc)
		rc = update_reply_row(db, f->reply_sql, id, ms, motif, 1);
	if (!rc)
		rc = update_reply_row(db, f->journal_sql, id, ms, motif, f->journal_must_change);
	if (rc)
		sync_local_abort(l);
	else
		rc = sync_local_commit(l, MAILGW_PIPELINE_LOGIN);
	return rc;
}

int mailgw_ingest_reply_sent(sqlite3 *db, const struct sync_tables *t, const char *id,
			     int64_t now_ms)
{
	return reply_fate_write(db, t, id, &fate_sent, now_ms, NULL);
}

int mailgw_ingest_reply_failed(sqlite3 *db, const struct sync_tables *t, const char *id,
			       const char *reply)
{
	char why[MAILGW_INGEST_REPLY_TEXT + 64];
	char *motif = NULL;
	int rc;

	snprintf(why, sizeof(why), "Refusée par le serveur d'envoi : %s",
		 reply && *reply ? reply : "sans explication");
	motif = journal_text(why, strlen(why), 1, NULL);
	if (!motif)
		return RELAIS_ENOMEM;
	rc = reply_fate_write(db, t, id, &fate_failed, 0, motif);
	free(motif);
	return rc;
}

/* ---- mailbox position ---- */

int mailgw_ingest_state_get(sqlite3 *db, const char *dept, uint32_t *uidvalidity,
			    uint32_t *last_uid)
{
	sqlite3_stmt *st = NULL;
	int rc = prepare(db, "SELECT uidvalidity, last_uid FROM mail_state WHERE dept = ?", &st);
	*uidvalidity = 0;
	*last_uid = 0;
	if (rc)
		goto out;
	sqlite3_bind_text(st, 1, dept, -1, SQLITE_STATIC);
	int s = sqlite3_step(st);
	if (s == SQLITE_ROW) {
		*uidvalidity = (uint32_t)sqlite3_column_int64(st, 0);
		*last_uid = (uint32_t)sqlite3_column_int64(st, 1);
	} else if (s != SQLITE_DONE) {
		rc = relais_sqlite_error(s);
	}
out:
	sqlite3_finalize(st);
	return rc;
}

int mailgw_ingest_state_set(sqlite3 *db, const char *dept, uint32_t uidvalidity,
			    uint32_t last_uid)
{
	sqlite3_stmt *st = NULL;
	int rc = prepare(db, "INSERT INTO mail_state(dept, uidvalidity, last_uid) VALUES(?, ?, ?) "
			     "ON CONFLICT(dept) DO UPDATE SET uidvalidity = excluded.uidvalidity, "
			     "last_uid = excluded.last_uid", &st);
	if (rc)
		goto out;
	sqlite3_bind_text(st, 1, dept, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, uidvalidity);
	sqlite3_bind_int64(st, 3, last_uid);
	rc = step_done(st);
out:
	sqlite3_finalize(st);
	return rc;
}
