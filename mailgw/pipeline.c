/*
 * pipeline.c - classify one parsed message, read its form and record it.
 *
 * Every write of one message happens in a single sync_local transaction: a
 * candidature's structure, promeneur, presences and candidature appear
 * together or not at all, and a failure leaves the message to be tried again.
 * Look-ups run inside that IMMEDIATE transaction so that two messages of the
 * same structure cannot both create it.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include "../common/buf.h"
#include "../common/util.h"
#include "../model/domain.h"
#include "../model/form.h"
#include "../model/model.h"
#include "pipeline.h"

/* One French line of the result: names are capped by the model, the
 * cap is only a guard. */
#define LINE_MAX_BYTES (4 * 1024)
/* Enough for the longest table of the model plus the generated columns. */
#define MAX_COLS 40
#define SQL_MAX (16 * 1024)

struct colval {
	const char *col;
	const char *val;
};

struct row {
	struct colval cv[MAX_COLS];
	size_t n;
};

/* ---- results ---- */

static int add_line(char ***items, size_t *n, const char *fmt, ...) RELAIS_PRINTF(3, 4);

static int add_line(char ***items, size_t *n, const char *fmt, ...)
{
	struct buf b = BUF_INIT(LINE_MAX_BYTES);
	va_list ap;
	char **grown;
	int rc;

	va_start(ap, fmt);
	rc = buf_vprintf(&b, fmt, ap);
	va_end(ap);
	if (rc)
		goto out;
	grown = realloc(*items, (*n + 1) * sizeof(*grown));
	if (!grown) {
		rc = RELAIS_ENOMEM;
		goto out;
	}
	*items = grown;
	grown[*n] = (char *)buf_detach(&b, NULL);
	if (!grown[*n]) {
		rc = RELAIS_ENOMEM;
		goto out;
	}
	(*n)++;
out:
	buf_release(&b);
	return rc;
}

static void set_reason(struct mailgw_result *r, enum mailgw_outcome o, const char *why)
{
	r->outcome = o;
	snprintf(r->reason, sizeof(r->reason), "%s", why);
}

/* ---- automatic mail ---- */

/* Sender local parts that never read an answer. */
static const char *const robot_senders[] = {
	"mailer-daemon", "postmaster", "no-reply", "noreply", "ne-pas-repondre",
	"nepasrepondre", NULL
};

/* Subject prefixes of out-of-office replies, compared case-insensitively
 * (French subjects arrive with and without accents). */
static const char *const ooo_subjects[] = {
	"absence", "out of office", "automatic reply", "auto:", "autoreply",
	"réponse automatique", "reponse automatique",
	"message d'absence", "je suis absent", NULL
};

static int is_robot_sender(const char *addr)
{
	const char *at;
	size_t len;

	if (!addr)
		return 0;
	at = strchr(addr, '@');
	len = at ? (size_t)(at - addr) : strlen(addr);
	for (size_t i = 0; robot_senders[i]; i++)
		if (strlen(robot_senders[i]) == len && !strncasecmp(addr, robot_senders[i], len))
			return 1;
	return 0;
}

static int is_ooo_subject(const char *subject)
{
	if (!subject)
		return 0;
	while (*subject == ' ' || *subject == '\t')
		subject++;
	for (size_t i = 0; ooo_subjects[i]; i++)
		if (!strncasecmp(subject, ooo_subjects[i], strlen(ooo_subjects[i])))
			return 1;
	return 0;
}

/* Returns a French reason when m was sent by a machine, else NULL. */
static const char *automatic_reason(const struct mailgw_mime_msg *m)
{
	if (m->auto_submitted && *m->auto_submitted && strcmp(m->auto_submitted, "no"))
		return "message automatique (Auto-Submitted)";
	if (m->precedence && (!strcmp(m->precedence, "bulk") || !strcmp(m->precedence, "list") ||
			      !strcmp(m->precedence, "junk")))
		return "message de liste ou en nombre (Precedence)";
	if (m->x_autoreply)
		return "réponse automatique (X-Autoreply)";
	if (m->delivery_report)
		return "rapport de distribution";
	if (m->return_path_empty)
		return "avis de non-distribution (Return-Path vide)";
	if (is_robot_sender(m->from_addr))
		return "expéditeur automatique (mailer-daemon, postmaster ou no-reply)";
	if (is_ooo_subject(m->subject))
		return "réponse d'absence";
	return NULL;
}

/* ---- folding names ---- */

/* A malloc'd model_fold() of s (case, accents and punctuation forgiven), or NULL. */
static char *fold(const char *s)
{
	size_t n = model_fold(s, NULL, 0) + 1;
	char *out = malloc(n);
	if (out)
		model_fold(s, out, n);
	return out;
}

/* 1 when a and b fold to the same text, 0 when not, RELAIS_ENOMEM. */
static int same_name(const char *a, const char *b)
{
	char *fa = fold(a), *fb = fold(b);
	int rc = (!fa || !fb) ? RELAIS_ENOMEM : !strcmp(fa, fb);
	free(fa);
	free(fb);
	return rc;
}

/* ---- rows ---- */

static int table_has_col(const struct sync_tables *t, const char *table, const char *col)
{
	int ti = sync_tables_find(t, table);
	if (ti < 0)
		return 0;
	for (int j = 0; j < sync_tables_ncols(t, (size_t)ti); j++)
		if (!strcmp(sync_tables_col(t, (size_t)ti, j), col))
			return 1;
	return 0;
}

static void row_set(struct row *rw, const char *col, const char *val)
{
	if (!val || !*val)
		return;
	for (size_t i = 0; i < rw->n; i++)
		if (!strcmp(rw->cv[i].col, col)) {
			rw->cv[i].val = val;
			return;
		}
	if (rw->n < MAX_COLS)
		rw->cv[rw->n++] = (struct colval){ col, val };
}

/* Adds every plain form value "prefix.col" as column col. */
static void row_from_form(struct row *rw, const struct form_values *v, const char *prefix)
{
	size_t plen = strlen(prefix);
	for (size_t i = 0; i < v->n; i++)
		if (!v->items[i].row && !strncmp(v->items[i].key, prefix, plen) &&
		    v->items[i].key[plen] == '.')
			row_set(rw, v->items[i].key + plen + 1, v->items[i].value);
}

/*
 * Creates a row of table from rw in dept through the domain layer (its
 * checks and rules, as at every other door), its new id written to id.
 * Form keys that are no column of the table (promeneur.nom_complet) and
 * columns the store does not have are left out; a value the form parser
 * let through but the model refuses ends as RELAIS_EINVAL.
 */
static int insert_row(sqlite3 *db, const struct sync_tables *t, const char *table,
		      const char *dept, const struct row *rw, char id[UTIL_UUID_LEN + 1])
{
	const struct model_table *mt = model_table_by_name(table);
	struct domain_value v[MAX_COLS];
	struct domain_result res;
	char today[DOMAIN_DATE_LEN + 1], err[DOMAIN_MSG_MAX];
	size_t n = 0;
	int rc;

	if (!mt)
		return RELAIS_ESCHEMA;
	for (size_t i = 0; i < rw->n; i++) {
		const struct model_column *c = model_column_by_name(mt, rw->cv[i].col);
		if (!c || !table_has_col(t, table, c->name))
			continue;
		v[n++] = (struct domain_value){ c, rw->cv[i].val && *rw->cv[i].val ? rw->cv[i].val : NULL };
	}
	domain_today(today);
	rc = domain_write(db, mt, NULL, dept, v, n, today, &res, err, sizeof(err));
	if (!rc)
		memcpy(id, res.id, UTIL_UUID_LEN + 1);
	return rc;
}

/* A matched row: its id and up to two text columns, malloc'd. */
struct match {
	int count;
	char id[UTIL_UUID_LEN + 1];
	char *a, *b;
};

static void match_free(struct match *mt)
{
	free(mt->a);
	free(mt->b);
	memset(mt, 0, sizeof(*mt));
}

static char *col_dup(sqlite3_stmt *st, int i)
{
	const unsigned char *s = sqlite3_column_text(st, i);
	return strdup(s ? (const char *)s : "");
}

/* Says whether a row whose text columns are a and b matches: 1, 0, or a
 * negative code. */
typedef int (*keep_fn)(const char *a, const char *b, const void *arg);

/*
 * Runs sql (selecting id, a, b with dept bound to ?1 and key to ?2) and
 * keeps the rows for which keep (NULL: all) says 1; mt->count tells how many
 * did, mt holds the first. The caller frees mt with match_free().
 */

static int find_rows(sqlite3 *db, const char *sql, const char *dept, const char *key,
		     keep_fn keep, const void *arg, struct match *mt)
{
	sqlite3_stmt *st = NULL;
	int rc, src;

	memset(mt, 0, sizeof(*mt));
	rc = relais_sqlite_error(sqlite3_prepare_v2(db, sql, -1, &st, NULL));
	if (rc)
		goto out;
	sqlite3_bind_text(st, 1, dept, -1, SQLITE_STATIC);
	if (key)
		sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(st, 0);
		const char *a = (const char *)sqlite3_column_text(st, 1);
		const char *b = (const char *)sqlite3_column_text(st, 2);
		int k = keep ? keep(a ? a : "", b ? b : "", arg) : 1;
		if (k < 0) {
			rc = k;
			goto out;
		}
		if (!k)
			continue;
		if (!mt->count++) {
			snprintf(mt->id, sizeof(mt->id), "%s", id ? id : "");
			mt->a = col_dup(st, 1);
			mt->b = col_dup(st, 2);
			if (!mt->a || !mt->b) {
				rc = RELAIS_ENOMEM;
				goto out;
			}
		}
	}
	rc = relais_sqlite_error(src);
out:
	sqlite3_finalize(st);
	if (rc)
		match_free(mt);
	return rc;
}

struct two_names {
	const char *a, *b; /* b NULL: only a is compared */
};

static int keep_same_names(const char *a, const char *b, const void *arg)
{
	const struct two_names *n = arg;
	int k = same_name(a, n->a);
	if (k == 1 && n->b)
		k = same_name(b, n->b);
	return k;
}

/* "Prénom Nom" or "Nom Prénom", spacing and accents forgiven. */
static int keep_full_name(const char *prenom, const char *nom, const void *arg)
{
	const char *full = arg;
	struct buf b = BUF_INIT(2 * MODEL_VALUE_MAX);
	int k = buf_printf(&b, "%s %s", prenom, nom);
	if (!k)
		k = same_name(buf_str(&b), full);
	if (k == 0) {
		buf_reset(&b);
		k = buf_printf(&b, "%s %s", nom, prenom);
		if (!k)
			k = same_name(buf_str(&b), full);
	}
	buf_release(&b);
	return k;
}

static void today(int64_t now_ms, char out[11])
{
	time_t s = (time_t)(now_ms / 1000);
	struct tm tm;
	if (!localtime_r(&s, &tm) || !strftime(out, 11, "%Y-%m-%d", &tm))
		snprintf(out, 11, "1970-01-01");
}

/* ---- candidature ---- */

static int record_candidature(sqlite3 *db, const struct sync_tables *t, const char *dept,
			      const struct form_values *v, const char *day,
			      struct mailgw_result *r)
{
	const char *snom = form_value_get(v, "structure.nom", 0);
	const char *scom = form_value_get(v, "structure.commune", 0);
	const char *email = form_value_get(v, "promeneur.email", 0);
	char sid[UTIL_UUID_LEN + 1], pid[UTIL_UUID_LEN + 1], id[UTIL_UUID_LEN + 1];
	struct two_names names = { snom, scom };
	struct match ms = { 0 }, mp = { 0 };
	const char *prenom, *nom;
	int rc, rows;

	rc = find_rows(db, "SELECT id, nom, commune FROM structure WHERE dept = ?1", dept, NULL,
		       keep_same_names, &names, &ms);
	if (rc)
		goto out;
	if (ms.count) {
		snprintf(sid, sizeof(sid), "%s", ms.id);
		rc = add_line(&r->records, &r->nrecords, "Structure « %s » (%s) retrouvée.",
			      ms.a, ms.b);
	} else {
		struct row rw = { .n = 0 };
		row_from_form(&rw, v, "structure");
		rc = insert_row(db, t, "structure", dept, &rw, sid);
		if (!rc)
			rc = add_line(&r->records, &r->nrecords, "Structure « %s » (%s) créée.",
				      snom, scom);
	}
	if (rc)
		goto out;

	rc = find_rows(db, "SELECT id, prenom, nom FROM promeneur "
			   "WHERE dept = ?1 AND lower(email) = lower(?2) ORDER BY id",
		       dept, email, NULL, NULL, &mp);
	if (rc)
		goto out;
	if (mp.count) {
		snprintf(pid, sizeof(pid), "%s", mp.id);
		prenom = mp.a;
		nom = mp.b;
		rc = add_line(&r->records, &r->nrecords, "Promeneur %s %s (%s) retrouvé.", prenom,
			      nom, email);
	} else {
		struct row rw = { .n = 0 };
		row_from_form(&rw, v, "promeneur");
		row_set(&rw, "structure", sid);
		row_set(&rw, "statut", "candidat");
		row_set(&rw, "date_candidature", day);
		prenom = form_value_get(v, "promeneur.prenom", 0);
		nom = form_value_get(v, "promeneur.nom", 0);
		rc = insert_row(db, t, "promeneur", dept, &rw, pid);
		if (!rc)
			rc = add_line(&r->records, &r->nrecords,
				      "Promeneur %s %s (%s) enregistré comme candidat.",
				      prenom ? prenom : "", nom ? nom : "", email);
	}
	if (rc)
		goto out;

	rows = form_values_rows(v);
	for (int i = 1; i <= rows && !rc; i++) {
		const char *reseau = form_value_get(v, "presence.reseau", i);
		const char *profil = form_value_get(v, "presence.nom_profil", i);
		struct match mx = { 0 };
		struct row rw = { .n = 0 };
		if (!reseau || !profil)
			continue;
		/* A returning promeneur may list a profile the network already knows. */
		rc = find_rows(db, "SELECT id, nom_profil, reseau FROM presence "
				   "WHERE dept = ?1 AND promeneur = ?2",
			       dept, pid, keep_same_names, &(struct two_names){ profil, reseau },
			       &mx);
		if (rc)
			break;
		if (mx.count) {
			rc = add_line(&r->records, &r->nrecords,
				      "Présence en ligne %s « %s » déjà connue.", reseau, profil);
			match_free(&mx);
			continue;
		}
		row_set(&rw, "promeneur", pid);
		row_set(&rw, "reseau", reseau);
		row_set(&rw, "nom_profil", profil);
		rc = insert_row(db, t, "presence", dept, &rw, id);
		if (!rc)
			rc = add_line(&r->records, &r->nrecords,
				      "Présence en ligne %s « %s » ajoutée.", reseau, profil);
	}
	if (rc)
		goto out;

	{
		struct row rw = { .n = 0 };
		row_from_form(&rw, v, "candidature");
		row_set(&rw, "structure", sid);
		row_set(&rw, "promeneur", pid);
		row_set(&rw, "decision", "en_attente");
		row_set(&rw, "date_depot", day);
		rc = insert_row(db, t, "candidature", dept, &rw, id);
		if (!rc)
			rc = add_line(&r->records, &r->nrecords,
				      "Candidature de %s %s pour « %s » enregistrée "
				      "(décision en attente).",
				      prenom ? prenom : "", nom ? nom : "", ms.count ? ms.a : snom);
	}
out:
	match_free(&ms);
	match_free(&mp);
	return rc;
}

/* ---- bilan ---- */

/*
 * Records a bilan. Returns 0 with r->nproblems > 0 when the structure or
 * promeneur is not known (the caller rolls back).
 */
static int record_bilan(sqlite3 *db, const struct sync_tables *t, const char *dept,
			const struct form_values *v, const char *day, struct mailgw_result *r)
{
	const char *snom = form_value_get(v, "structure.nom", 0);
	const char *email = form_value_get(v, "promeneur.email", 0);
	const char *full = form_value_get(v, "promeneur.nom_complet", 0);
	const char *annee = form_value_get(v, "bilan.annee", 0);
	const char *periode = form_value_get(v, "bilan.periode", 0);
	struct two_names names = { snom, NULL };
	struct match ms = { 0 }, mp = { 0 };
	char id[UTIL_UUID_LEN + 1];
	struct row rw = { .n = 0 };
	int rc;

	rc = find_rows(db, "SELECT id, nom, commune FROM structure WHERE dept = ?1 ORDER BY id",
		       dept, NULL, keep_same_names, &names, &ms);
	if (rc)
		goto out;
	if (!ms.count) {
		rc = add_line(&r->problems, &r->nproblems, "Structure inconnue : « %s ».", snom);
		goto out;
	}
	if (ms.count > 1) {
		rc = add_line(&r->problems, &r->nproblems,
			      "Plusieurs structures s'appellent « %s » : le bilan ne peut pas "
			      "être rattaché, écrivez à la coordination.", snom);
		goto out;
	}
	if (email)
		rc = find_rows(db, "SELECT id, prenom, nom FROM promeneur "
				   "WHERE dept = ?1 AND lower(email) = lower(?2) ORDER BY id",
			       dept, email, NULL, NULL, &mp);
	else if (full)
		rc = find_rows(db, "SELECT id, prenom, nom FROM promeneur WHERE dept = ?1 "
				   "ORDER BY structure = ?2 DESC, id",
			       dept, ms.id, keep_full_name, full, &mp);
	if (rc)
		goto out;
	if ((email || full) && !mp.count) {
		rc = add_line(&r->problems, &r->nproblems, "Promeneur inconnu : « %s ».",
			      email ? email : full);
		goto out;
	}

	row_from_form(&rw, v, "bilan");
	row_set(&rw, "structure", ms.id);
	if (mp.count)
		row_set(&rw, "promeneur", mp.id);
	row_set(&rw, "date_reception", day);
	rc = insert_row(db, t, "bilan", dept, &rw, id);
	if (rc)
		goto out;
	if (mp.count)
		rc = add_line(&r->records, &r->nrecords,
			      "Bilan %s (%s) de la structure « %s » (%s) enregistré pour %s %s.",
			      annee, periode ? periode : "annee", ms.a, ms.b, mp.a, mp.b);
	else
		rc = add_line(&r->records, &r->nrecords,
			      "Bilan %s (%s) de la structure « %s » (%s) enregistré.", annee,
			      periode ? periode : "annee", ms.a, ms.b);
out:
	match_free(&ms);
	match_free(&mp);
	return rc;
}

/* ---- classification ---- */

static int is_csv(const struct mailgw_attachment *a)
{
	size_t n = strlen(a->filename);
	if (n >= 4 && !strcasecmp(a->filename + n - 4, ".csv"))
		return 1;
	return !strcmp(a->mime_type, "text/csv") ||
	       !strcmp(a->mime_type, "text/comma-separated-values");
}

/* Whether a CSV bilan's problems name a field it gave (a value that did not
 * pass), not only the fields it lacks: then it was meant as a bilan. */
static int csv_has_field_problem(const struct form_problems *p)
{
	static const char missing[] = "Champ obligatoire manquant";
	for (size_t i = 0; i < p->n; i++)
		if (strncmp(p->items[i], missing, sizeof(missing) - 1))
			return 1;
	return 0;
}

/*
 * Reads the form of m into v and p: the body when it holds one, else the
 * first CSV attachment read as a bilan when it holds at least one bilan
 * field (even one with a wrong value). *kind is FORM_UNKNOWN when neither does.
 */
static int read_form(const struct mailgw_mime_msg *m, enum form_kind *kind,
		     struct form_values *v, struct form_problems *p)
{
	const char *body = m->body ? m->body : "";
	int rc;

	*kind = form_detect(body);
	if (*kind != FORM_UNKNOWN)
		return form_parse(*kind, body, v, p);
	for (size_t i = 0; i < m->n_attachments; i++) {
		if (!is_csv(&m->attachments[i]))
			continue;
		rc = form_parse_bilan_csv(m->attachments[i].data, m->attachments[i].len, v, p);
		if (rc)
			return rc;
		if (v->n || csv_has_field_problem(p)) {
			*kind = FORM_BILAN;
			return 0;
		}
		form_values_free(v);
		form_problems_free(p);
	}
	memset(v, 0, sizeof(*v));
	memset(p, 0, sizeof(*p));
	return 0;
}

int mailgw_pipeline_record(sqlite3 *db, const struct sync_tables *t, const char *dept,
			   const struct mailgw_mime_msg *m, int64_t now_ms,
			   struct mailgw_result *r, mailgw_pipeline_hook hook, void *arg)
{
	struct form_values v = { 0 };
	struct form_problems p = { 0 };
	struct sync_local *l = NULL;
	const char *why;
	char day[11];
	int rc = 0;

	memset(r, 0, sizeof(*r));
	r->kind = FORM_UNKNOWN;
	why = automatic_reason(m);
	if (why) {
		set_reason(r, MAILGW_IGNORED, why);
		goto out;
	}
	if (m->tnef) {
		set_reason(r, MAILGW_QUARANTINE,
			   "pièce jointe winmail.dat (format TNEF d'Outlook) illisible");
		goto out;
	}
	if (m->status != MAILGW_MIME_OK) {
		snprintf(r->reason, sizeof(r->reason), "message illisible : %s",
			 mailgw_mime_status_str(m->status));
		r->outcome = MAILGW_QUARANTINE;
		goto out;
	}
	rc = read_form(m, &r->kind, &v, &p);
	if (rc == RELAIS_ETOOBIG || rc == RELAIS_EINVAL) {
		rc = 0;
		set_reason(r, MAILGW_QUARANTINE, "formulaire trop long pour être lu");
		goto out;
	}
	if (rc)
		goto out;
	if (r->kind == FORM_UNKNOWN) {
		set_reason(r, MAILGW_QUARANTINE, "formulaire non reconnu");
		goto out;
	}
	if (p.n) {
		r->outcome = MAILGW_REJECTED;
		r->problems = p.items;
		r->nproblems = p.n;
		p.items = NULL;
		p.n = 0;
		goto out;
	}

	today(now_ms, day);
	rc = sync_local_begin(db, t, &l);
	if (rc)
		goto out;
	if (r->kind == FORM_CANDIDATURE)
		rc = record_candidature(db, t, dept, &v, day, r);
	else
		rc = record_bilan(db, t, dept, &v, day, r);
	if (rc || r->nproblems) {
		sync_local_abort(l);
		if (!rc) {
			r->outcome = MAILGW_REJECTED;
			for (size_t i = 0; i < r->nrecords; i++)
				free(r->records[i]);
			free(r->records);
			r->records = NULL;
			r->nrecords = 0;
		}
		goto out;
	}
	r->outcome = MAILGW_RECORDED;
	if (hook && (rc = hook(db, r, arg))) {
		sync_local_abort(l);
		goto out;
	}
	rc = sync_local_commit(l, MAILGW_PIPELINE_LOGIN);
out:
	form_values_free(&v);
	form_problems_free(&p);
	if (rc)
		mailgw_result_free(r);
	return rc;
}
