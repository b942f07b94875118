/*
 * test-pipeline.c - mailgw/pipeline: parsed messages turned into records on
 * a temporary server store (in process, no network): candidatures, bilans in
 * the body or as CSV, rejections, automatic mail, quarantine, and the
 * all-or-nothing transaction.
 */
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include "../mailgw/mime.h"
#include "../mailgw/outcome.h"
#include "../mailgw/pipeline.h"
#include "../model/model.h"
#include "../sync/sync.h"
#include "../sync/wire.h"
#include "harness.h"
#include "test.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* 2025-01-06 12:00 UTC: the same day in every time zone of France. */
#define NOW_MS 1736164800000LL
#define TODAY "2025-01-06"

struct store {
	sqlite3 *db;
	struct sync_tables *t;
};

static void close_store(void *p)
{
	struct store *s = p;
	sync_tables_free(s->t);
	sqlite3_close(s->db);
	free(s);
}

/* A server store in the test directory: model schema, sync tables. */
static struct store *open_store(void)
{
	struct store *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	test_defer(close_store, s);
	if (sqlite3_open(h_path("store.db"), &s->db) != SQLITE_OK || model_migrate(s->db) ||
	    sync_server_schema(s->db) ||
	    sync_tables_load(s->db, model_table_names, model_ntables, &s->t))
		return NULL;
	return s;
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

/* Parses raw and runs the pipeline; the test owns nothing (deferred). */
static struct mailgw_result *run_raw(struct store *s, const char *dept, const char *raw,
				     size_t len, int *rc)
{
	struct mailgw_mime_msg *m = NULL;
	struct mailgw_result *r = calloc(1, sizeof(*r));
	*rc = RELAIS_ENOMEM;
	if (!r)
		return NULL;
	test_defer(free_result, r);
	if (mailgw_mime_parse(raw, len, NULL, &m))
		return NULL;
	test_defer(free_msg, m);
	*rc = mailgw_pipeline_record(s->db, s->t, dept, m, NOW_MS, r, NULL, NULL);
	return r;
}

/* A plain UTF-8 message from Léa with body; extra headers (CRLF-ended) first. */
static struct mailgw_result *run_body(struct store *s, const char *dept, const char *headers,
				      const char *body, int *rc)
{
	char *raw = h_strf("%sFrom: =?utf-8?q?L=C3=A9a_Martin?= <lea.martin@example.org>\r\n"
			   "To: relais@pdn43.example\r\nSubject: Formulaire\r\n"
			   "Message-ID: <t@example.org>\r\nMIME-Version: 1.0\r\n"
			   "Content-Type: text/plain; charset=utf-8\r\n"
			   "Content-Transfer-Encoding: 8bit\r\n\r\n%s",
			   headers ? headers : "", body);
	return run_raw(s, dept, raw, strlen(raw), rc);
}

static struct mailgw_result *run_file(struct store *s, const char *name, int *rc)
{
	const char *dir = getenv("RELAIS_MAIL_CORPUS");
	size_t len = 0;
	char *raw = h_read_file(h_strf("%s/%s", dir && *dir ? dir : "tests/mail", name), &len);
	*rc = RELAIS_EIO;
	if (!raw) {
		fprintf(stderr, "  cannot read %s (run from the source tree)\n", name);
		return NULL;
	}
	return run_raw(s, "43", raw, len, rc);
}

/* The single integer that sql selects, or -1. */
static long long q_int(struct store *s, const char *sql)
{
	sqlite3_stmt *st = NULL;
	long long v = -1;
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* The text that sql selects (harness-owned), or NULL. */
static const char *q_str(struct store *s, const char *sql)
{
	sqlite3_stmt *st = NULL;
	const char *v = NULL;
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		v = h_strf("%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return v;
}

static long long rows_of(struct store *s, const char *table)
{
	return q_int(s, h_strf("SELECT count(*) FROM \"%s\"", table));
}

/* Rows of table in a pull of dept from cursor 0, or -1. */
static long long pulled(struct store *s, const char *dept, const char *table)
{
	struct buf raw = BUF_INIT(16u << 20);
	struct sync_pull_reader pr;
	struct sync_pull_record rec;
	struct sync_value vals[64];
	long long n = -1;
	int rc;

	if (sync_pull_build(s->db, s->t, dept, 0, 1000, 0, &raw) ||
	    sync_pull_open(&pr, raw.data, raw.len))
		goto out;
	n = 0;
	while ((rc = sync_pull_next(&pr, &rec, vals, N(vals))) == 1)
		if (rec.table_len == strlen(table) && !memcmp(rec.table, table, rec.table_len))
			n++;
	if (rc < 0)
		n = -1;
out:
	buf_release(&raw);
	return n;
}

static int has_line(char **items, size_t n, const char *needle)
{
	for (size_t i = 0; i < n; i++)
		if (strstr(items[i], needle))
			return 1;
	return 0;
}

static void dump(const struct mailgw_result *r)
{
	if (!r)
		return;
	fprintf(stderr, "  outcome %d kind %d reason \"%s\"\n", r->outcome, r->kind, r->reason);
	for (size_t i = 0; i < r->nrecords; i++)
		fprintf(stderr, "    record: %s\n", r->records[i]);
	for (size_t i = 0; i < r->nproblems; i++)
		fprintf(stderr, "    problem: %s\n", r->problems[i]);
}

#define CAND_LEA                                                                \
	"FORMULAIRE DE CANDIDATURE — PROMENEURS DU NET\n\n"                     \
	"== Structure ==\n"                                                     \
	"Nom : Centre social du Lac\n"                                          \
	"Commune : Le Puy-en-Velay\n"                                           \
	"Type de structure : Centre social\n"                                   \
	"== Promeneur ==\n"                                                     \
	"Prénom : Léa\n"                                                        \
	"Nom : Martin\n"                                                        \
	"Courriel : lea.martin@example.org\n"                                   \
	"Téléphone : 04 71 00 00 00\n"                                          \
	"== Présences en ligne ==\n"                                            \
	"Instagram : @lea.cslac\n"                                              \
	"Discord : lea#1234\n"                                                  \
	"== Candidature ==\n"                                                   \
	"Pertinence de la démarche : 3\n"                                       \
	"Disponibilité : 2\n"                                                   \
	"Motivation : Aller vers les jeunes là où ils sont.\n"

#define CAND_TOM                                                                \
	"FORMULAIRE DE CANDIDATURE — PROMENEURS DU NET\n\n"                     \
	"== Structure ==\n"                                                     \
	"Nom : CENTRE SOCIAL DU LAC\n"                                          \
	"Commune : le puy en velay\n"                                           \
	"== Promeneur ==\n"                                                     \
	"Prénom : Tom\n"                                                        \
	"Nom : Durand\n"                                                        \
	"Courriel : tom@example.org\n"                                          \
	"== Candidature ==\n"                                                   \
	"Motivation : Être présent en ligne.\n"

TEST(pipeline_candidature_creates_records)
{
	struct store *s;
	struct mailgw_result *r;
	int rc;

	h_setup();
	CHECK((s = open_store()) != NULL);
	r = run_body(s, "43", NULL, CAND_LEA, &rc);
	if (!rc && r->outcome != MAILGW_RECORDED)
		dump(r);
	CHECK_OK(rc);
	CHECK_INT(r->outcome, MAILGW_RECORDED);
	CHECK_INT(r->kind, FORM_CANDIDATURE);
	CHECK_INT(r->nproblems, 0);
	CHECK_INT(r->nrecords, 5);
	CHECK_STR(r->records[0], "Structure « Centre social du Lac » (Le Puy-en-Velay) créée.");
	CHECK(has_line(r->records, r->nrecords, "candidat"));
	CHECK(has_line(r->records, r->nrecords, "instagram « @lea.cslac » ajoutée"));

	CHECK_INT(rows_of(s, "structure"), 1);
	CHECK_STR(q_str(s, "SELECT type FROM structure WHERE nom = 'Centre social du Lac' "
			   "AND commune = 'Le Puy-en-Velay' AND dept = '43'"),
		  "centre_social");
	CHECK_INT(rows_of(s, "promeneur"), 1);
	CHECK_STR(q_str(s, "SELECT p.statut || '|' || p.date_candidature || '|' || p.telephone "
			   "FROM promeneur p JOIN structure s ON p.structure = s.id "
			   "WHERE p.email = 'lea.martin@example.org' AND p.prenom = 'Léa'"),
		  "candidat|" TODAY "|0471000000");
	CHECK_INT(q_int(s, "SELECT count(*) FROM presence x JOIN promeneur p ON x.promeneur = p.id "
			   "WHERE x.dept = '43' AND ((x.reseau = 'instagram' AND x.nom_profil = "
			   "'@lea.cslac') OR (x.reseau = 'discord' AND x.nom_profil = 'lea#1234'))"),
		  2);
	CHECK_STR(q_str(s, "SELECT decision || '|' || date_depot || '|' || pertinence || '|' || "
			   "disponibilite || '|' || motivation FROM candidature c "
			   "JOIN promeneur p ON c.promeneur = p.id "
			   "JOIN structure s ON c.structure = s.id AND p.structure = s.id"),
		  "en_attente|" TODAY "|3|2|Aller vers les jeunes là où ils sont.");

	/* Server seqs: the rows reach the replicas of the département only. */
	CHECK_INT(pulled(s, "43", "structure"), 1);
	CHECK_INT(pulled(s, "43", "promeneur"), 1);
	CHECK_INT(pulled(s, "43", "presence"), 2);
	CHECK_INT(pulled(s, "43", "candidature"), 1);
	CHECK_INT(pulled(s, "63", "structure"), 0);
	CHECK_INT(q_int(s, "SELECT count(*) FROM sync_row WHERE seq > 0"), 5);
}

TEST(pipeline_candidature_matches_existing)
{
	struct store *s;
	struct mailgw_result *r;
	int rc;

	h_setup();
	CHECK((s = open_store()) != NULL);
	r = run_body(s, "43", NULL, CAND_LEA, &rc);
	CHECK_OK(rc);
	CHECK_INT(r->outcome, MAILGW_RECORDED);

	/* Same structure written differently: reused, a new promeneur. */
	r = run_body(s, "43", NULL, CAND_TOM, &rc);
	if (!rc && r->outcome != MAILGW_RECORDED)
		dump(r);
	CHECK_OK(rc);
	CHECK_INT(r->outcome, MAILGW_RECORDED);
	CHECK_STR(r->records[0], "Structure « Centre social du Lac » (Le Puy-en-Velay) retrouvée.");
	CHECK_INT(rows_of(s, "structure"), 1);
	CHECK_INT(rows_of(s, "promeneur"), 2);
	CHECK_INT(rows_of(s, "candidature"), 2);
	CHECK_INT(q_int(s, "SELECT count(DISTINCT structure) FROM candidature"), 1);

	/* Léa again (email in another case): matched, her profiles not duplicated. */
	r = run_body(s, "43", NULL,
		     "FORMULAIRE DE CANDIDATURE\n== Structure ==\nNom : Centre Social du Lac\n"
		     "Commune : Le Puy-en-Velay\n== Promeneur ==\nPrénom : Léa\nNom : Martin\n"
		     "Courriel : LEA.MARTIN@example.org\n== Présences en ligne ==\n"
		     "Instagram : @lea.cslac\nTikTok : leacslac\n== Candidature ==\n"
		     "Motivation : Deuxième dépôt.\n", &rc);
	if (!rc && r->outcome != MAILGW_RECORDED)
		dump(r);
	CHECK_OK(rc);
	CHECK_INT(r->outcome, MAILGW_RECORDED);
	CHECK(has_line(r->records, r->nrecords, "Promeneur Léa Martin"));
	CHECK(has_line(r->records, r->nrecords, "retrouvé."));
	CHECK(has_line(r->records, r->nrecords, "déjà connue"));
	CHECK_INT(rows_of(s, "promeneur"), 2);
	CHECK_INT(rows_of(s, "presence"), 3);
	CHECK_INT(rows_of(s, "candidature"), 3);

	/* The same name in another département is another structure. */
	r = run_body(s, "63", NULL, CAND_TOM, &rc);
	CHECK_OK(rc);
	CHECK_INT(r->outcome, MAILGW_RECORDED);
	CHECK(has_line(r->records, r->nrecords, "créée."));
	CHECK_INT(q_int(s, "SELECT count(*) FROM structure WHERE dept = '63'"), 1);
	CHECK_INT(q_int(s, "SELECT count(*) FROM promeneur WHERE dept = '63'"), 1);
	CHECK_INT(pulled(s, "63", "promeneur"), 1);
}

TEST(pipeline_form_with_problems_rejected)
{
	static const char *const bodies[] = {
		/* bad email, bad phone */
		"FORMULAIRE DE CANDIDATURE\n== Structure ==\nNom : MJC\nCommune : Yssingeaux\n"
		"Téléphone : 12\n== Promeneur ==\nPrénom : Zoé\nNom : Müller\n"
		"Courriel : zoe-at-example\n== Candidature ==\nMotivation : oui\n",
		/* missing motivation and email */
		"FORMULAIRE DE CANDIDATURE\n== Structure ==\nNom : MJC\nCommune : Yssingeaux\n"
		"== Promeneur ==\nPrénom : Zoé\nNom : Müller\n",
		/* bilan without year, structure unknown anyway */
		"BILAN D'ACTIVITÉ\n== Bilan ==\nStructure : MJC\nJeunes connectés : beaucoup\n",
	};
	struct store *s;

	h_setup();
	CHECK((s = open_store()) != NULL);
	for (size_t i = 0; i < N(bodies); i++) {
		int rc;
		struct mailgw_result *r = run_body(s, "43", NULL, bodies[i], &rc);
		CHECK_INT_IDX(rc, 0, i);
		CHECK_INT_IDX(r->outcome, MAILGW_REJECTED, i);
		CHECK_IDX(r->nproblems > 0, i);
		CHECK_INT_IDX(r->nrecords, 0, i);
	}
	CHECK_INT(q_int(s, "SELECT count(*) FROM sync_row"), 0);
	for (size_t i = 0; i < 5; i++)
		CHECK_INT_IDX(rows_of(s, model_table_names[i]), 0, i);
}

#define BILAN(structure, promeneur)                                             \
	"BILAN D'ACTIVITÉ — PROMENEURS DU NET\n== Bilan ==\n"                   \
	"Structure : " structure "\n"                                           \
	promeneur                                                               \
	"Année : 2024\nPériode : Semestre 2\nJeunes connectés : 120\n"          \
	"Heures en ligne : 12,5\nCommentaire : Une année riche.\n"

/* A structure named short: found by the sender's address, then by a
 * tolerant name; several candidates go to a person, listed, never guessed. */
TEST(pipeline_bilan_structure_tolerant_match)
{
	struct store *s;
	int rc;

	h_setup();
	CHECK((s = open_store()) != NULL);
	CHECK_INT(sqlite3_exec(s->db,
			       "INSERT INTO structure(id, dept, nom, commune, email) VALUES "
			       "('00000000-0000-4000-8000-000000000001', '43', 'Centre social du Lac', "
			       "'Le Puy-en-Velay', 'accueil@lac.example'),"
			       "('00000000-0000-4000-8000-000000000002', '43', 'Centre Social Lac', "
			       "'Brioude', NULL),"
			       "('00000000-0000-4000-8000-000000000003', '43', "
			       "'Maison des Jeunes et de la Culture du Plateau', 'Yssingeaux', NULL)",
			       NULL, NULL, NULL),
		  SQLITE_OK);
	/* Two structures could be « CS du Lac »: quarantined, both listed. */
	struct mailgw_result *r = run_body(s, "43", NULL, BILAN("CS du Lac", ""), &rc);
	CHECK_OK(rc);
	if (r->outcome != MAILGW_QUARANTINE)
		dump(r);
	CHECK_INT(r->outcome, MAILGW_QUARANTINE);
	CHECK(strstr(r->reason, "« Centre social du Lac » (Le Puy-en-Velay)") != NULL);
	CHECK(strstr(r->reason, "« Centre Social Lac » (Brioude)") != NULL);
	CHECK_INT(r->nrecords, 0);
	CHECK_INT(rows_of(s, "bilan"), 0);
	/* From the address known for one of them: that one. */
	const char *raw = h_strf("From: Accueil <accueil@lac.example>\r\nTo: relais@pdn43.example\r\n"
				 "Subject: Bilan\r\nMessage-ID: <b@lac.example>\r\nMIME-Version: 1.0\r\n"
				 "Content-Type: text/plain; charset=utf-8\r\n\r\n%s",
				 BILAN("CS du Lac", ""));
	r = run_raw(s, "43", raw, strlen(raw), &rc);
	CHECK_OK(rc);
	if (r->outcome != MAILGW_RECORDED)
		dump(r);
	CHECK_INT(r->outcome, MAILGW_RECORDED);
	CHECK_INT(q_int(s, "SELECT count(*) FROM bilan WHERE structure = "
			   "'00000000-0000-4000-8000-000000000001' AND periode = 'semestre2'"), 1);
	/* One candidate only: « MJC du Plateau ». */
	r = run_body(s, "43", NULL, BILAN("MJC du Plateau", ""), &rc);
	CHECK_OK(rc);
	CHECK_INT(r->outcome, MAILGW_RECORDED);
	CHECK_INT(q_int(s, "SELECT count(*) FROM bilan WHERE structure = "
			   "'00000000-0000-4000-8000-000000000003'"), 1);
	/* No candidate: rejected as unknown. */
	r = run_body(s, "43", NULL, BILAN("CS des Tilleuls", ""), &rc);
	CHECK_OK(rc);
	CHECK_INT(r->outcome, MAILGW_REJECTED);
}

TEST(pipeline_bilan_records_and_rejects)
{
	static const struct {
		const char *body;
		int outcome;
		const char *line;      /* a record or problem that must be there */
		int with_promeneur;
	} cases[] = {
		{ BILAN("centre social du lac", ""), MAILGW_RECORDED,
		  "Bilan 2024 (semestre2) de la structure « Centre social du Lac » (Le Puy-en-Velay) "
		  "enregistré.", 0 },
		{ BILAN("Centre social du Lac", "Promeneur : Lea.Martin@example.org\n"),
		  MAILGW_RECORDED, "enregistré pour Léa Martin.", 1 },
		{ BILAN("Centre social du Lac", "Promeneur : MARTIN Lea\n"), MAILGW_RECORDED,
		  "enregistré pour Léa Martin.", 1 },
		{ BILAN("Maison des jeunes de Brives", ""), MAILGW_REJECTED,
		  "Structure inconnue : « Maison des jeunes de Brives ».", 0 },
		{ BILAN("Centre social du Lac", "Promeneur : inconnu@example.org\n"), MAILGW_REJECTED,
		  "Promeneur inconnu : « inconnu@example.org ».", 0 },
	};
	struct store *s;
	struct mailgw_result *r;
	long long bilans = 0;
	int rc;

	h_setup();
	CHECK((s = open_store()) != NULL);
	r = run_body(s, "43", NULL, CAND_LEA, &rc);
	CHECK_OK(rc);
	CHECK_INT(r->outcome, MAILGW_RECORDED);
	for (size_t i = 0; i < N(cases); i++) {
		long long seqs = q_int(s, "SELECT max(seq) FROM sync_row");
		r = run_body(s, "43", NULL, cases[i].body, &rc);
		if (!rc && (int)r->outcome != cases[i].outcome)
			dump(r);
		CHECK_INT_IDX(rc, 0, i);
		CHECK_INT_IDX(r->kind, FORM_BILAN, i);
		CHECK_INT_IDX(r->outcome, cases[i].outcome, i);
		if (cases[i].outcome == MAILGW_RECORDED) {
			bilans++;
			CHECK_INT_IDX(r->nrecords, 1, i);
			CHECK_IDX(has_line(r->records, r->nrecords, cases[i].line), i);
			CHECK_INT_IDX(q_int(s, "SELECT max(seq) FROM sync_row"), seqs + 1, i);
		} else {
			CHECK_INT_IDX(r->nproblems, 1, i);
			CHECK_INT_IDX(r->nrecords, 0, i);
			CHECK_STR_IDX(r->problems[0], cases[i].line, i);
			CHECK_INT_IDX(q_int(s, "SELECT max(seq) FROM sync_row"), seqs, i);
		}
		CHECK_INT_IDX(rows_of(s, "bilan"), bilans, i);
	}
	CHECK_INT(q_int(s, "SELECT count(*) FROM bilan b JOIN structure s ON b.structure = s.id "
			   "WHERE b.annee = 2024 AND b.periode = 'semestre2' "
			   "AND b.jeunes_connectes = 120 AND b.heures_en_ligne = 13 "
			   "AND b.date_reception = '" TODAY "' AND b.dept = '43'"),
		  3);
	CHECK_INT(q_int(s, "SELECT count(*) FROM bilan b JOIN promeneur p ON b.promeneur = p.id "
			   "WHERE p.email = 'lea.martin@example.org'"),
		  2);
	CHECK_INT(pulled(s, "43", "bilan"), 3);
	/* A structure of another département is unknown here. */
	r = run_body(s, "63", NULL, BILAN("Centre social du Lac", ""), &rc);
	CHECK_OK(rc);
	CHECK_INT(r->outcome, MAILGW_REJECTED);
}

TEST(pipeline_bilan_csv_attachment)
{
	/* A French spreadsheet: Windows-1252, semicolons, decimal comma. */
	static const char raw[] =
		"From: Zoe <zoe@example.org>\r\nTo: relais@pdn43.example\r\n"
		"Subject: Bilan\r\nMessage-ID: <csv@example.org>\r\nMIME-Version: 1.0\r\n"
		"Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
		"--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
		"Bonjour, voici notre bilan en pièce jointe.\r\n"
		"--b1\r\nContent-Type: application/vnd.ms-excel\r\n"
		"Content-Disposition: attachment; filename=\"bilan.csv\"\r\n"
		"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
		"Champ;Valeur\r\nStructure;Centre social du Lac\r\nAnn=E9e;2024\r\n"
		"P=E9riode;Semestre 1\r\nJeunes connect=E9s;35\r\nHeures en ligne;7,5\r\n"
		"--b1--\r\n";
	struct store *s;
	struct mailgw_result *r;
	int rc;

	h_setup();
	CHECK((s = open_store()) != NULL);
	r = run_body(s, "43", NULL, CAND_LEA, &rc);
	CHECK_OK(rc);
	r = run_raw(s, "43", raw, sizeof(raw) - 1, &rc);
	if (!rc && r->outcome != MAILGW_RECORDED)
		dump(r);
	CHECK_OK(rc);
	CHECK_INT(r->kind, FORM_BILAN);
	CHECK_INT(r->outcome, MAILGW_RECORDED);
	CHECK_INT(q_int(s, "SELECT count(*) FROM bilan WHERE annee = 2024 AND periode = "
			   "'semestre1' AND jeunes_connectes = 35 AND heures_en_ligne = 8"),
		  1);

	/* The corpus' CSV names no structure: a bilan with problems. */
	r = run_file(s, "mixed-csv-pdf.eml", &rc);
	if (!rc && r->outcome != MAILGW_REJECTED)
		dump(r);
	CHECK_OK(rc);
	CHECK_INT(r->kind, FORM_BILAN);
	CHECK_INT(r->outcome, MAILGW_REJECTED);
	CHECK(r->nproblems > 0);
	CHECK_INT(rows_of(s, "bilan"), 1);
}

TEST(pipeline_automatic_mail_ignored)
{
	static const char *const files[] = {
		"auto-replied.eml", "bulk.eml", "dsn.eml", "absence-fr.eml", "ooo-en.eml",
		"reponse-auto-fr.eml",
	};
	static const struct {
		const char *headers;
		int outcome;
	} heads[] = {
		{ "Auto-Submitted: auto-generated\r\n", MAILGW_IGNORED },
		{ "Precedence: list\r\n", MAILGW_IGNORED },
		{ "Return-Path: <>\r\n", MAILGW_IGNORED },
		{ "X-Autoreply: yes\r\n", MAILGW_IGNORED },
		{ "List-Unsubscribe: <mailto:desabonnement@lettre.example>\r\n", MAILGW_IGNORED },
		{ "List-Id: Lettre du réseau <lettre.example>\r\n", MAILGW_IGNORED },
		{ "Sender: x@example.org\r\nReply-To: x@example.org\r\n"
		  "Auto-Submitted: no\r\nPrecedence: normal\r\n", MAILGW_RECORDED },
	};
	struct store *s;
	int rc;

	h_setup();
	CHECK((s = open_store()) != NULL);
	for (size_t i = 0; i < N(files); i++) {
		struct mailgw_result *r = run_file(s, files[i], &rc);
		CHECK_INT_IDX(rc, 0, i);
		if (r->outcome != MAILGW_IGNORED)
			dump(r);
		CHECK_INT_IDX(r->outcome, MAILGW_IGNORED, i);
		CHECK_IDX(r->reason[0] != 0, i);
		CHECK_INT_IDX(r->nrecords, 0, i);
	}
	/* A filled form does not make automatic mail worth recording. */
	for (size_t i = 0; i < N(heads); i++) {
		struct mailgw_result *r = run_body(s, "43", heads[i].headers, CAND_LEA, &rc);
		CHECK_INT_IDX(rc, 0, i);
		CHECK_INT_IDX(r->outcome, heads[i].outcome, i);
		CHECK_INT_IDX(rows_of(s, "candidature"),
			      heads[i].outcome == MAILGW_RECORDED ? 1 : 0, i);
	}
}

/* Out-of-office replies that carry no header saying so: the subject alone
 * tells, in French and English, the same list as the answers' (reply.h). */
TEST(pipeline_out_of_office_by_subject)
{
	static const char *const subjects[] = {
		"Absente jusqu'au 3 mars", "Absent du bureau", "[Absence] Re: bilan",
		"Réponse automatique : Candidature", "Out of Office: candidature",
		"Automatic reply: Bilan", "Je suis absente",
	};
	struct store *s;
	int rc;

	h_setup();
	CHECK((s = open_store()) != NULL);
	for (size_t i = 0; i < N(subjects); i++) {
		const char *raw = h_strf("From: Anne <anne@lac.example>\r\nTo: relais@pdn43.example\r\n"
					 "Subject: %s\r\nMessage-ID: <ooo-%zu@lac.example>\r\n"
					 "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
					 "\r\nJe suis absente jusqu'au 3 mars.\r\nTél : 04 71 00 00 00\r\n"
					 "Mail : anne@lac.example\r\n", subjects[i], i);
		struct mailgw_result *r = run_raw(s, "43", raw, strlen(raw), &rc);
		CHECK_INT_IDX(rc, 0, i);
		CHECK_INT_IDX(r->outcome, MAILGW_IGNORED, i);
		CHECK_IDX(strstr(r->reason, "absence") != NULL, i);
	}
}

/* Mail that holds no form: a question from a known sender is a demande
 * for the coordination; from an unknown one, or a scam, it is kept for a
 * person and never answered. */
TEST(pipeline_question_demande_or_kept)
{
	static const char question[] =
		"Bonjour,\n\nComment inscrire un nouveau jeune à l'atelier de mars ?\n\n"
		"Cordialement,\nLéa Martin\nAnimatrice\nTél : 04 71 00 00 00\n"
		"Mail : lea.martin@example.org\n";
	struct store *s;
	int rc;

	h_setup();
	CHECK((s = open_store()) != NULL);
	/* Unknown yet: kept « à traiter », no answer. */
	struct mailgw_result *r = run_body(s, "43", NULL, question, &rc);
	CHECK_OK(rc);
	if (r->outcome != MAILGW_QUARANTINE)
		dump(r);
	CHECK_INT(r->outcome, MAILGW_QUARANTINE);
	CHECK_INT(r->kind, FORM_UNKNOWN);
	CHECK(strstr(r->reason, "à traiter") != NULL);
	CHECK_INT(r->no_answer, 1);
	CHECK_INT(rows_of(s, "request"), 0);

	/* Léa becomes known through her candidature; her question is a demande. */
	r = run_body(s, "43", NULL, CAND_LEA, &rc);
	CHECK_OK(rc);
	CHECK_INT(r->outcome, MAILGW_RECORDED);
	r = run_body(s, "43", NULL, question, &rc);
	CHECK_OK(rc);
	if (r->outcome != MAILGW_RECORDED)
		dump(r);
	CHECK_INT(r->outcome, MAILGW_RECORDED);
	CHECK_INT(r->kind, FORM_UNKNOWN);
	CHECK_INT(r->no_answer, 0);
	CHECK_INT((int)r->nrecords, 1);
	CHECK(strstr(r->records[0], "Demande de Léa Martin") != NULL);
	CHECK_INT(rows_of(s, "request"), 1);
	CHECK_INT(q_int(s, "SELECT count(*) FROM request r JOIN promeneur p ON p.id = r.promeneur "
			   "WHERE p.email = 'lea.martin@example.org' AND r.statut = 'ouverte' "
			   "AND r.sujet = 'autre' AND r.date_demande = '" TODAY "' AND r.dept = '43'"),
		  1);
	const char *q = q_str(s, "SELECT question FROM request");
	CHECK(q && strstr(q, "Objet : Formulaire") && strstr(q, "atelier de mars"));
	/* Another département does not know her. */
	r = run_body(s, "63", NULL, question, &rc);
	CHECK_OK(rc);
	CHECK_INT(r->outcome, MAILGW_QUARANTINE);

	/* A scam, even from a known address, is kept and never answered. */
	r = run_body(s, "43", NULL,
		     "Cher bénéficiaire, vous avez gagné 2 millions d'euros à la loterie. "
		     "Envoyez les frais par Western Union.\n", &rc);
	CHECK_OK(rc);
	CHECK_INT(r->outcome, MAILGW_QUARANTINE);
	CHECK(strstr(r->reason, "suspect") != NULL);
	CHECK_INT(r->no_answer, 1);
	CHECK_INT(rows_of(s, "request"), 1);
	CHECK_INT(rows_of(s, "candidature"), 1);
}

TEST(pipeline_quarantine)
{
	static const struct {
		const char *file;   /* or body */
		const char *body;
		const char *reason; /* substring */
	} cases[] = {
		{ NULL, "Bonjour,\npouvez-vous me rappeler au sujet du label ?\nMerci\n",
		  "formulaire non reconnu" },
		{ "winmail.eml", NULL, "TNEF" },
		{ "header-1mb.eml", NULL, "message illisible" },
	};
	struct store *s;

	h_setup();
	CHECK((s = open_store()) != NULL);
	for (size_t i = 0; i < N(cases); i++) {
		int rc;
		struct mailgw_result *r = cases[i].file ? run_file(s, cases[i].file, &rc)
						       : run_body(s, "43", NULL, cases[i].body, &rc);
		CHECK_INT_IDX(rc, 0, i);
		if (r->outcome != MAILGW_QUARANTINE || !strstr(r->reason, cases[i].reason))
			dump(r);
		CHECK_INT_IDX(r->outcome, MAILGW_QUARANTINE, i);
		CHECK_IDX(strstr(r->reason, cases[i].reason) != NULL, i);
		CHECK_INT_IDX(r->nrecords + r->nproblems, 0, i);
	}
	CHECK_INT(q_int(s, "SELECT count(*) FROM sync_row"), 0);
}

TEST(pipeline_sql_failure_rolls_back)
{
	struct store *s;
	struct mailgw_result *r;
	int rc;

	h_setup();
	CHECK((s = open_store()) != NULL);
	/* The last write of a candidature fails: nothing before it may stay. */
	CHECK_INT(sqlite3_exec(s->db, "CREATE TRIGGER no_cand BEFORE INSERT ON candidature "
				      "BEGIN SELECT RAISE(ABORT, 'panne'); END",
			       NULL, NULL, NULL),
		  SQLITE_OK);
	r = run_body(s, "43", NULL, CAND_LEA, &rc);
	CHECK(rc < 0);
	CHECK_INT(r->nrecords, 0);
	CHECK_INT(sqlite3_get_autocommit(s->db), 1);
	for (size_t i = 0; i < 5; i++)
		CHECK_INT_IDX(rows_of(s, model_table_names[i]), 0, i);
	CHECK_INT(q_int(s, "SELECT count(*) FROM sync_row"), 0);

	/* The retry after the failure is gone records everything once. */
	CHECK_INT(sqlite3_exec(s->db, "DROP TRIGGER no_cand", NULL, NULL, NULL), SQLITE_OK);
	r = run_body(s, "43", NULL, CAND_LEA, &rc);
	CHECK_OK(rc);
	CHECK_INT(r->outcome, MAILGW_RECORDED);
	CHECK_INT(rows_of(s, "structure"), 1);
	CHECK_INT(rows_of(s, "candidature"), 1);
}
