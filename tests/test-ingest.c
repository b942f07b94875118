/*
 * test-ingest.c - mailgw/ingest: archive and journal with the duplicate
 * check, recording through the pipeline, the outcomes in the journal, the
 * answers' bookkeeping (planned, sent, pending after a crash, rate limit),
 * texts cut to the model's checks, and the mailbox position. In process, on
 * a temporary server store; no network.
 */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include "../mailgw/ingest.h"
#include "../mailgw/mime.h"
#include "../mailgw/outcome.h"
#include "../mailgw/sandbox.h"
#include "../model/model.h"
#include "../sync/sync.h"
#include "harness.h"
#include "test.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define NOW_MS 1736164800000LL
#define DEPT "43"
#define NET_ADDR "pdn43@exemple.fr"

static const struct mailgw_ingest_sender net = { NET_ADDR, "Promeneurs du Net 43" };

struct st {
	sqlite3 *db;
	struct sync_tables *t;
};

static void close_st(void *p)
{
	struct st *s = p;
	sync_tables_free(s->t);
	sqlite3_close(s->db);
	free(s);
}

static struct st *open_st(void)
{
	struct st *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	test_defer(close_st, s);
	if (sqlite3_open(h_path("store.db"), &s->db) != SQLITE_OK || model_migrate(s->db) ||
	    sync_server_schema(s->db) || mailgw_ingest_schema(s->db) ||
	    sync_tables_load(s->db, model_table_names, model_ntables, &s->t))
		return NULL;
	return s;
}

static long long q_int(struct st *s, const char *sql)
{
	sqlite3_stmt *st = NULL;
	long long v = -1;
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static const char *q_str(struct st *s, const char *sql)
{
	sqlite3_stmt *st = NULL;
	const char *v = NULL;
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = h_strf("%s", sqlite3_column_text(st, 0) ? (const char *)sqlite3_column_text(st, 0)
							    : "(null)");
	sqlite3_finalize(st);
	return v;
}

/* A journal column of row id. */
static const char *jcol(struct st *s, const char *id, const char *col)
{
	return q_str(s, h_strf("SELECT %s FROM inbound_mail WHERE id = '%s'", col, id));
}

static void free_msg(void *p)
{
	mailgw_mime_free(p);
}

static void free_result(void *p)
{
	mailgw_result_free(p);
	free(p);
}

/* A plain UTF-8 message; msgid NULL for none. Harness-owned. */
static const char *mail(const char *from, const char *msgid, const char *extra,
			const char *subject, const char *body)
{
	return h_strf("From: %s\r\nTo: " NET_ADDR "\r\nSubject: %s\r\n%s%s%s"
		      "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
		      "Content-Transfer-Encoding: 8bit\r\n%s\r\n%s",
		      from, subject, msgid ? "Message-ID: <" : "", msgid ? msgid : "",
		      msgid ? ">\r\n" : "", extra ? extra : "", body);
}

/* A message that Outlook sent as winmail.dat: a quarantine that gets a
 * note (unlike an unknown sender's question, which gets none). */
static const char *tnef_mail(const char *from, const char *msgid, const char *text)
{
	return h_strf("From: %s\r\nTo: " NET_ADDR "\r\nSubject: Question\r\n"
		      "Message-ID: <%s>\r\nMIME-Version: 1.0\r\n"
		      "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n"
		      "--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n%s\r\n"
		      "--b\r\nContent-Type: application/ms-tnef\r\n"
		      "Content-Disposition: attachment; filename=\"winmail.dat\"\r\n\r\n"
		      "xx\r\n--b--\r\n", from, msgid, text);
}

/* Archives raw and records it; the outcome is test-owned (deferred). */
static struct mailgw_result *ingest(struct st *s, const char *raw, struct mailgw_ingest_entry *e,
				    int *planned, int *rc)
{
	struct mailgw_mime_msg *m = NULL;
	struct mailgw_result *r = calloc(1, sizeof(*r));
	*rc = RELAIS_ENOMEM;
	if (!r)
		return NULL;
	test_defer(free_result, r);
	*rc = mailgw_ingest_archive(s->db, s->t, DEPT, raw, strlen(raw), NOW_MS, e);
	if (*rc || e->duplicate)
		return r;
	if ((*rc = mailgw_mime_parse(raw, strlen(raw), NULL, &m)))
		return r;
	test_defer(free_msg, m);
	*rc = mailgw_ingest_record(s->db, s->t, DEPT, e->id, m, NULL, &net, NOW_MS, r, planned);
	return r;
}

#define CAND                                                                    \
	"FORMULAIRE DE CANDIDATURE — PROMENEURS DU NET\n\n"                     \
	"== Structure ==\n"                                                     \
	"Nom : Centre social du Lac\n"                                          \
	"Commune : Le Puy-en-Velay\n"                                           \
	"== Promeneur ==\n"                                                     \
	"Prénom : Léa\n"                                                        \
	"Nom : Martin\n"                                                        \
	"Courriel : lea.martin@example.org\n"                                   \
	"== Présences en ligne ==\n"                                            \
	"Instagram : @lea.cslac\n"                                              \
	"== Candidature ==\n"                                                   \
	"Motivation : Aller vers les jeunes là où ils sont.\n"

/* The same form without the structure's commune (required). */
#define CAND_BAD                                                                \
	"FORMULAIRE DE CANDIDATURE — PROMENEURS DU NET\n\n"                     \
	"== Structure ==\n"                                                     \
	"Nom : Centre social du Lac\n"                                          \
	"== Promeneur ==\n"                                                     \
	"Prénom : Léa\n"                                                        \
	"Nom : Martin\n"                                                        \
	"Courriel : lea.martin@example.org\n"

#define LEA "Léa Martin <lea.martin@example.org>"

TEST(ingest_archive_twice_is_duplicate)
{
	struct st *s;
	struct mailgw_ingest_entry e1, e2, e3;
	struct buf back = BUF_INIT(1u << 20);
	int planned = 0, rc;

	h_setup();
	CHECK((s = open_st()) != NULL);
	const char *raw = mail(LEA, "dup-1@example.org", NULL, "Candidature", CAND);

	/* Archived, then seen again before its outcome: the same row, resumed. */
	CHECK_OK(mailgw_ingest_archive(s->db, s->t, DEPT, raw, strlen(raw), NOW_MS, &e1));
	CHECK_INT(e1.duplicate, 0);
	CHECK_STR(jcol(s, e1.id, "resultat"), "en_cours");
	CHECK_STR(jcol(s, e1.id, "message_id"), "dup-1@example.org");
	CHECK_STR(jcol(s, e1.id, "empreinte"), e1.sha256);
	CHECK_STR(jcol(s, e1.id, "recu_le"), "2025-01-06T12:00:00Z");
	CHECK_OK(mailgw_ingest_archive(s->db, s->t, DEPT, raw, strlen(raw), NOW_MS, &e2));
	CHECK_INT(e2.duplicate, 0);
	CHECK_STR(e2.id, e1.id);
	CHECK_INT(q_int(s, "SELECT count(*) FROM inbound_mail"), 1);
	CHECK_INT(q_int(s, "SELECT count(*) FROM mail_archive"), 1);

	/* The archive is compressed and reads back byte for byte. */
	CHECK(q_int(s, "SELECT length(raw) FROM mail_archive") < (long long)strlen(raw));
	CHECK_OK(mailgw_ingest_archive_read(s->db, e1.id, &back));
	CHECK_INT(back.len, strlen(raw));
	CHECK(!memcmp(back.data, raw, back.len));
	buf_release(&back);
	CHECK_INT(mailgw_ingest_archive_read(s->db, "nope", &back), RELAIS_ENOTFOUND);

	/* The journal row is replicated: it has a server seq. */
	CHECK_INT(q_int(s, h_strf("SELECT count(*) FROM sync_row WHERE tbl = 'inbound_mail' "
				  "AND id = '%s' AND seq > 0 AND dept = '" DEPT "'", e1.id)), 1);

	/* With a final outcome, the same bytes are a duplicate: nothing new. */
	struct mailgw_result *r = ingest(s, raw, &e3, &planned, &rc);
	CHECK_OK(rc);
	CHECK_STR(e3.id, e1.id);
	CHECK_INT(r->outcome, MAILGW_RECORDED);
	long long structures = q_int(s, "SELECT count(*) FROM structure");
	CHECK_OK(mailgw_ingest_archive(s->db, s->t, DEPT, raw, strlen(raw), NOW_MS, &e2));
	CHECK_INT(e2.duplicate, 1);
	CHECK_STR(e2.id, e1.id);

	/* Same Message-ID, other bytes (a resend through another relay): duplicate. */
	const char *resent = h_strf("Received: from relay2\r\n%s", raw);
	CHECK_OK(mailgw_ingest_archive(s->db, s->t, DEPT, resent, strlen(resent), NOW_MS, &e2));
	CHECK_INT(e2.duplicate, 1);
	CHECK_STR(e2.id, e1.id);
	/* Another département's journal is another journal. */
	CHECK_OK(mailgw_ingest_archive(s->db, s->t, "63", raw, strlen(raw), NOW_MS, &e2));
	CHECK_INT(e2.duplicate, 0);
	CHECK(strcmp(e2.id, e1.id) != 0);
	/* No Message-ID: the fingerprint alone decides. */
	const char *noid = mail(LEA, NULL, NULL, "Sans identifiant", "Bonjour");
	CHECK_OK(mailgw_ingest_archive(s->db, s->t, DEPT, noid, strlen(noid), NOW_MS, &e2));
	CHECK_INT(e2.duplicate, 0);
	CHECK_STR(jcol(s, e2.id, "message_id"), "(null)");
	CHECK_INT(q_int(s, "SELECT count(*) FROM structure"), structures);
	CHECK_INT(q_int(s, "SELECT count(*) FROM inbound_mail"), 3);
}

TEST(ingest_record_candidature)
{
	struct st *s;
	struct mailgw_ingest_entry e;
	int planned = 0, rc;

	h_setup();
	CHECK((s = open_st()) != NULL);
	struct mailgw_result *r = ingest(s, mail(LEA, "c1@example.org", NULL, "Ma candidature", CAND),
					 &e, &planned, &rc);
	CHECK_OK(rc);
	CHECK_INT(r->outcome, MAILGW_RECORDED);
	CHECK_INT(planned, 1);
	CHECK_STR(jcol(s, e.id, "resultat"), "enregistre");
	CHECK_STR(jcol(s, e.id, "type"), "candidature");
	CHECK_STR(jcol(s, e.id, "expediteur"), "lea.martin@example.org");
	CHECK_STR(jcol(s, e.id, "nom_expediteur"), "Léa Martin");
	CHECK_STR(jcol(s, e.id, "sujet"), "Ma candidature");
	CHECK_STR(jcol(s, e.id, "reponse"), "a_envoyer");
	CHECK_STR(jcol(s, e.id, "problemes"), "(null)");
	CHECK(strstr(jcol(s, e.id, "texte"), "Motivation : Aller vers les jeunes") != NULL);
	/* One line per record, joined by newlines. */
	const char *lines = jcol(s, e.id, "enregistrements");
	CHECK(strstr(lines, "Structure « Centre social du Lac » (Le Puy-en-Velay) créée.") == lines);
	CHECK_INT(q_int(s, h_strf("SELECT length(enregistrements) - length(replace("
				  "enregistrements, char(10), '')) + 1 FROM inbound_mail "
				  "WHERE id = '%s'", e.id)), (long long)r->nrecords);
	/* The records exist, written by the gateway's login. */
	CHECK_INT(q_int(s, "SELECT count(*) FROM structure WHERE nom = 'Centre social du Lac'"), 1);
	CHECK_INT(q_int(s, "SELECT count(*) FROM promeneur WHERE email = 'lea.martin@example.org'"), 1);
	CHECK_INT(q_int(s, "SELECT count(*) FROM candidature"), 1);
	CHECK_INT(q_int(s, "SELECT count(*) FROM presence"), 1);
	/* The answer waits in mail_replies, to the sender. */
	CHECK_INT(q_int(s, h_strf("SELECT count(*) FROM mail_replies WHERE id = '%s' AND "
				  "sender = 'lea.martin@example.org' AND rejection = 0 AND "
				  "sent_ms IS NULL", e.id)), 1);
}

TEST(ingest_outcomes_in_journal)
{
	static const struct {
		const char *extra;     /* more header lines */
		const char *body;
		int outcome;
		const char *resultat, *type, *reponse, *traitement;
		const char *reason;    /* substring of raison, or NULL for none */
	} cases[] = {
		{ NULL, CAND_BAD, MAILGW_REJECTED, "rejete", "candidature", "a_envoyer",
		  "(null)", NULL },
		{ "Auto-Submitted: auto-replied\r\n", "Je suis absente.", MAILGW_IGNORED, "ignore",
		  "inconnu", "aucune", "(null)", "" },
		/* An unknown sender's question: kept for a person, not answered. */
		{ NULL, "Bonjour, voici une question sans formulaire.", MAILGW_QUARANTINE,
		  "quarantaine", "inconnu", "aucune", "a_traiter", "non reconnu" },
	};
	struct st *s;
	h_setup();
	CHECK((s = open_st()) != NULL);
	for (size_t i = 0; i < N(cases); i++) {
		struct mailgw_ingest_entry e;
		int planned = 0, rc;
		const char *raw = mail(LEA, h_strf("o%zu@example.org", i), cases[i].extra, "Objet",
				       cases[i].body);
		struct mailgw_result *r = ingest(s, raw, &e, &planned, &rc);
		CHECK_INT_IDX(rc, 0, i);
		CHECK_INT_IDX(r->outcome, cases[i].outcome, i);
		CHECK_STR_IDX(jcol(s, e.id, "resultat"), cases[i].resultat, i);
		CHECK_STR_IDX(jcol(s, e.id, "type"), cases[i].type, i);
		CHECK_STR_IDX(jcol(s, e.id, "reponse"), cases[i].reponse, i);
		CHECK_INT_IDX(planned, !strcmp(cases[i].reponse, "a_envoyer"), i);
		CHECK_STR_IDX(jcol(s, e.id, "traitement"), cases[i].traitement, i);
		if (cases[i].reason)
			CHECK_IDX(strstr(jcol(s, e.id, "raison"), cases[i].reason) != NULL, i);
		if (cases[i].outcome == MAILGW_REJECTED)
			CHECK_IDX(strstr(jcol(s, e.id, "problemes"), "Commune") != NULL, i);
	}
	CHECK_INT(q_int(s, "SELECT count(*) FROM structure"), 0);

	/* The sandbox gave up: quarantined with its reason, no answer. */
	struct mailgw_ingest_entry e;
	struct mailgw_result r;
	int planned = 1;
	const char *raw = mail(LEA, "crash@example.org", NULL, "Objet", "x");
	CHECK_OK(mailgw_ingest_archive(s->db, s->t, DEPT, raw, strlen(raw), NOW_MS, &e));
	CHECK_OK(mailgw_ingest_record(s->db, s->t, DEPT, e.id, NULL, "l'analyse a échoué", &net,
				      NOW_MS, &r, &planned));
	mailgw_result_free(&r);
	CHECK_INT(planned, 0);
	CHECK_STR(jcol(s, e.id, "resultat"), "quarantaine");
	CHECK_STR(jcol(s, e.id, "raison"), "l'analyse a échoué");
	CHECK_STR(jcol(s, e.id, "reponse"), "aucune");

	/* Too big to fetch: a journal row for a person, without archive. */
	char id[UTIL_UUID_LEN + 1], again[UTIL_UUID_LEN + 1];
	int dup = 1;
	const char *head = "From: lea@plateau.example\r\nMessage-ID: <big@plateau.example>\r\n"
			   "Subject: Gros fichier\r\n\r\n";
	CHECK_OK(mailgw_ingest_unreadable(s->db, s->t, DEPT, head, strlen(head),
					  "message trop volumineux", NOW_MS, id, &dup));
	CHECK_INT(dup, 0);
	CHECK_STR(jcol(s, id, "resultat"), "quarantaine");
	CHECK_STR(jcol(s, id, "traitement"), "a_traiter");
	CHECK_STR(jcol(s, id, "message_id"), "big@plateau.example");
	/* Seen again (a crash before the move, or a second delivery): one row only. */
	long long rows = q_int(s, "SELECT count(*) FROM inbound_mail");
	CHECK_OK(mailgw_ingest_unreadable(s->db, s->t, DEPT, head, strlen(head),
					  "message trop volumineux", NOW_MS, again, &dup));
	CHECK_INT(dup, 1);
	CHECK_STR(again, id);
	CHECK_INT(q_int(s, "SELECT count(*) FROM inbound_mail"), rows);
	/* Without even its header: journaled, with nothing to know it by. */
	CHECK_OK(mailgw_ingest_unreadable(s->db, s->t, DEPT, NULL, 0, "message trop volumineux",
					  NOW_MS, again, &dup));
	CHECK_INT(dup, 0);
	CHECK_INT(q_int(s, "SELECT count(*) FROM inbound_mail"), rows + 1);
}

TEST(ingest_reply_planned_then_sent)
{
	struct st *s;
	struct mailgw_ingest_entry e;
	struct mailgw_ingest_reply *v = NULL;
	size_t n = 0;
	int planned = 0, rc;

	h_setup();
	CHECK((s = open_st()) != NULL);
	ingest(s, mail(LEA, "r1@example.org", NULL, "Candidature", CAND), &e, &planned, &rc);
	CHECK_OK(rc);
	CHECK_INT(planned, 1);
	CHECK_OK(mailgw_ingest_replies_pending(s->db, DEPT, e.id, &v, &n));
	CHECK_INT(n, 1);
	char *msgid = strdup(v[0].message_id);
	int ok = !strcmp(v[0].rcpt, "lea.martin@example.org") && !strcmp(v[0].id, e.id) &&
		 strstr((const char *)v[0].msg, h_strf("Message-ID: <%s>", msgid)) &&
		 strstr((const char *)v[0].msg, "In-Reply-To: <r1@example.org>");
	mailgw_ingest_replies_free(v, n);
	CHECK(ok);
	CHECK(msgid && strchr(msgid, '@'));

	CHECK_OK(mailgw_ingest_reply_sent(s->db, s->t, e.id, NOW_MS + 1000));
	CHECK_STR(jcol(s, e.id, "reponse"), "envoyee");
	ok = !strcmp(jcol(s, e.id, "reponse_id"), msgid);
	free(msgid);
	CHECK(ok);
	CHECK_OK(mailgw_ingest_replies_pending(s->db, DEPT, NULL, &v, &n));
	CHECK_INT(n, 0);
	CHECK(v == NULL);
	/* Sent twice is a caller's error, not a second send. */
	CHECK_INT(mailgw_ingest_reply_sent(s->db, s->t, "00000000-0000-4000-8000-000000000000",
					   NOW_MS), RELAIS_ENOTFOUND);
}

/* An answer the SMTP server refused for good leaves the queue, with the
 * server's words in the journal; the answer after it stays queued. */
TEST(ingest_reply_refused_for_good)
{
	struct st *s;
	struct mailgw_ingest_entry e1, e2;
	struct mailgw_ingest_reply *v = NULL;
	size_t n = 0;
	int planned = 0, rc;

	h_setup();
	CHECK((s = open_st()) != NULL);
	ingest(s, mail(LEA, "f1@example.org", NULL, "Candidature", CAND), &e1, &planned, &rc);
	CHECK_OK(rc);
	ingest(s, mail("Tom <tom@example.org>", "f2@example.org", NULL, "Candidature", CAND),
	       &e2, &planned, &rc);
	CHECK_OK(rc);
	CHECK_OK(mailgw_ingest_reply_failed(s->db, s->t, e1.id,
					    "550 5.1.1 <lea.martin@example.org>: inconnue\n\x1b[31m"));
	CHECK_STR(jcol(s, e1.id, "reponse"), "aucune");
	CHECK_STR(jcol(s, e1.id, "reponse_motif"), "Refusée par le serveur d'envoi : 550 5.1.1 "
		  "<lea.martin@example.org>: inconnue \x1b[31m");
	CHECK_STR(jcol(s, e2.id, "reponse"), "a_envoyer");
	CHECK_OK(mailgw_ingest_replies_pending(s->db, DEPT, NULL, &v, &n));
	int only_e2 = n == 1 && !strcmp(v[0].id, e2.id);
	mailgw_ingest_replies_free(v, n);
	CHECK(only_e2);
	/* Once failed, neither failed again nor sent. */
	CHECK_INT(mailgw_ingest_reply_failed(s->db, s->t, e1.id, "550"), RELAIS_ENOTFOUND);
	CHECK_INT(mailgw_ingest_reply_sent(s->db, s->t, e1.id, NOW_MS), RELAIS_ENOTFOUND);
	CHECK_STR(jcol(s, e1.id, "reponse"), "aucune");
}

TEST(ingest_pending_replies_after_crash)
{
	struct st *s;
	struct mailgw_ingest_entry e1, e2;
	struct mailgw_ingest_reply *v = NULL;
	size_t n = 0;
	int planned = 0, rc;

	h_setup();
	CHECK((s = open_st()) != NULL);
	ingest(s, mail(LEA, "p1@example.org", NULL, "Candidature", CAND), &e1, &planned, &rc);
	CHECK_OK(rc);
	ingest(s, tnef_mail("Tom <tom@example.org>", "p2@example.org", "Bonjour !"),
	       &e2, &planned, &rc);
	CHECK_OK(rc);
	CHECK_OK(mailgw_ingest_replies_pending(s->db, DEPT, NULL, &v, &n));
	CHECK_INT(n, 2);
	/* Planned in the same millisecond: their order is the ids'. */
	int k1 = strcmp(v[0].id, e1.id) ? 1 : 0;
	char *first = h_strf("%s", v[k1].message_id);
	mailgw_ingest_replies_free(v, n);

	/* The process dies before sending: the connection goes away as is. */
	sync_tables_free(s->t);
	s->t = NULL;
	CHECK_INT(sqlite3_close(s->db), SQLITE_OK);
	s->db = NULL;
	CHECK_INT(sqlite3_open(h_path("store.db"), &s->db), SQLITE_OK);
	CHECK_OK(sync_tables_load(s->db, model_table_names, model_ntables, &s->t));

	CHECK_OK(mailgw_ingest_replies_pending(s->db, DEPT, NULL, &v, &n));
	CHECK_INT(n, 2);
	int same = !strcmp(v[k1].id, e1.id) && !strcmp(v[k1].message_id, first) &&
		   !strcmp(v[!k1].id, e2.id) && !strcmp(v[!k1].rcpt, "tom@example.org");
	mailgw_ingest_replies_free(v, n);
	CHECK(same);
	CHECK_OK(mailgw_ingest_replies_pending(s->db, "63", NULL, &v, &n));
	CHECK_INT(n, 0);
}

TEST(ingest_rejection_rate_limit)
{
	struct st *s;
	struct mailgw_ingest_entry e;
	int planned = 0, rc;

	h_setup();
	CHECK((s = open_st()) != NULL);
	ingest(s, mail(LEA, "x1@example.org", NULL, "Formulaire", CAND_BAD), &e, &planned, &rc);
	CHECK_OK(rc);
	CHECK_INT(planned, 1);
	/* A second rejection of the same kind to the same sender that day: none. */
	ingest(s, mail("LEA.MARTIN@example.org", "x2@example.org", NULL, "Formulaire", CAND_BAD),
	       &e, &planned, &rc);
	CHECK_OK(rc);
	CHECK_INT(planned, 0);
	CHECK_STR(jcol(s, e.id, "resultat"), "rejete");
	CHECK_STR(jcol(s, e.id, "reponse"), "aucune");
	/* Acknowledgments are not limited. */
	ingest(s, mail(LEA, "x3@example.org", NULL, "Formulaire", CAND), &e, &planned, &rc);
	CHECK_OK(rc);
	CHECK_INT(planned, 1);
	/* Another sender is answered. */
	ingest(s, mail("tom@example.org", "x4@example.org", NULL, "Formulaire", CAND_BAD), &e,
	       &planned, &rc);
	CHECK_OK(rc);
	CHECK_INT(planned, 1);
	/* Quarantine notes (here about a TNEF blob) are limited the same way. */
	ingest(s, tnef_mail("tom@example.org", "x5@example.org", "Bonjour"), &e,
	       &planned, &rc);
	CHECK_OK(rc);
	CHECK_STR(jcol(s, e.id, "resultat"), "quarantaine");
	CHECK_INT(planned, 1);
	ingest(s, tnef_mail("tom@example.org", "x6@example.org", "Encore"), &e,
	       &planned, &rc);
	CHECK_OK(rc);
	CHECK_STR(jcol(s, e.id, "resultat"), "quarantaine");
	CHECK_INT(planned, 0);
	/* A day later, answered again. */
	struct mailgw_ingest_entry e2;
	struct mailgw_mime_msg *m = NULL;
	struct mailgw_result r;
	const char *raw = tnef_mail("tom@example.org", "x7@example.org", "Demain");
	CHECK_OK(mailgw_ingest_archive(s->db, s->t, DEPT, raw, strlen(raw), NOW_MS, &e2));
	CHECK_OK(mailgw_mime_parse(raw, strlen(raw), NULL, &m));
	test_defer(free_msg, m);
	CHECK_OK(mailgw_ingest_record(s->db, s->t, DEPT, e2.id, m, NULL, &net,
				      NOW_MS + 24LL * 3600 * 1000 + 1, &r, &planned));
	mailgw_result_free(&r);
	CHECK_INT(planned, 1);
}

TEST(ingest_texts_fit_the_model)
{
	struct st *s;
	struct mailgw_ingest_entry e;
	int planned = 0, rc;
	struct buf body = BUF_INIT(1u << 20);

	h_setup();
	CHECK((s = open_st()) != NULL);
	for (int i = 0; i < 1500; i++)
		CHECK_OK(buf_puts(&body, "Ligne é\r\n"));
	/* An encoded line break in the subject, a long multi-line body. */
	const char *raw = mail(LEA, "long@example.org", NULL, "=?utf-8?q?Un=0D=0Adeux?=",
			       buf_str(&body));
	buf_release(&body);
	ingest(s, raw, &e, &planned, &rc);
	CHECK_OK(rc);
	CHECK_STR(jcol(s, e.id, "resultat"), "quarantaine");
	CHECK(!strchr(jcol(s, e.id, "sujet"), '\n') && !strchr(jcol(s, e.id, "sujet"), '\r'));
	CHECK(strstr(jcol(s, e.id, "sujet"), "Un") && strstr(jcol(s, e.id, "sujet"), "deux"));
	CHECK_INT(q_int(s, h_strf("SELECT length(texte) FROM inbound_mail WHERE id = '%s'", e.id)),
		  MODEL_TEXT_MAX);
	const char *texte = jcol(s, e.id, "texte");
	size_t tl = strlen(texte), nl = strlen(MAILGW_INGEST_CUT_NOTE);
	CHECK(tl > nl && !strcmp(texte + tl - nl, MAILGW_INGEST_CUT_NOTE));
	CHECK(!strncmp(texte, "Ligne é", strlen("Ligne é")));
}

TEST(ingest_mailbox_state)
{
	struct st *s;
	uint32_t v = 7, last = 7;

	h_setup();
	CHECK((s = open_st()) != NULL);
	CHECK_OK(mailgw_ingest_state_get(s->db, DEPT, &v, &last));
	CHECK_INT(v, 0);
	CHECK_INT(last, 0);
	CHECK_OK(mailgw_ingest_state_set(s->db, DEPT, 4000000000u, 12));
	CHECK_OK(mailgw_ingest_state_set(s->db, DEPT, 4000000000u, 13));
	CHECK_OK(mailgw_ingest_state_set(s->db, "63", 1, 2));
	CHECK_OK(mailgw_ingest_state_get(s->db, DEPT, &v, &last));
	CHECK_INT(v, 4000000000u);
	CHECK_INT(last, 13);
	/* The tables survive being created again. */
	CHECK_OK(mailgw_ingest_schema(s->db));
	CHECK_OK(mailgw_ingest_state_get(s->db, "63", &v, &last));
	CHECK_INT(v, 1);
	CHECK_INT(last, 2);
}

/* Every message of the corpus (made with Python's email package and mutt,
 * tests/mail/) goes through the gateway's steps - archive, sandboxed parse,
 * record - and ends with exactly one journal row holding a final outcome;
 * fed again, each is a duplicate that writes nothing. */
TEST(ingest_corpus_one_outcome_each)
{
	const char *env = getenv("RELAIS_MAIL_CORPUS");
	const char *dir = env && *env ? env : "tests/mail";
	struct dirent **names = NULL;
	int n;

	h_setup();
	struct st *s = open_st();
	CHECK(s != NULL);
	n = scandir(dir, &names, NULL, alphasort);
	CHECK(n > 0);
	int files = 0;
	for (int pass = 0; pass < 2; pass++) {
		for (int i = 0; i < n; i++) {
			const char *name = names[i]->d_name;
			size_t len = strlen(name), size;
			if (len < 5 || strcmp(name + len - 4, ".eml"))
				continue;
			char *raw = h_read_file(h_strf("%s/%s", dir, name), &size);
			CHECK_IDX(raw != NULL, i);
			struct mailgw_ingest_entry e;
			CHECK_OK(mailgw_ingest_archive(s->db, s->t, DEPT, raw, size, NOW_MS, &e));
			CHECK_INT_IDX(e.duplicate, pass, i);
			if (pass)
				continue;
			files++;
			struct mailgw_mime_msg *m = NULL;
			struct mailgw_sandbox_outcome o;
			struct mailgw_result r;
			int planned;
			CHECK_OK(mailgw_sandbox_parse(raw, size, NULL, &m, &o));
			int rc = mailgw_ingest_record(s->db, s->t, DEPT, e.id, m,
						      o.verdict == MAILGW_SANDBOX_PARSED ? NULL : o.reason,
						      &net, NOW_MS, &r, &planned);
			mailgw_mime_free(m);
			mailgw_result_free(&r);
			CHECK_INT_IDX(rc, 0, i);
			CHECK_IDX(strcmp(jcol(s, e.id, "resultat"), "en_cours") != 0, i);
		}
	}
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
	CHECK(files >= 30);
	CHECK_INT(q_int(s, "SELECT count(*) FROM inbound_mail"), files);
	CHECK_INT(q_int(s, "SELECT count(*) FROM inbound_mail WHERE resultat NOT IN "
			   "('enregistre', 'rejete', 'quarantaine', 'ignore')"), 0);
}
