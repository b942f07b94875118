/*
 * domain.c - the network's rules (domain.h): row writes and workflows.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "../common/buf.h"
#include "../common/util.h"
#include "domain.h"

#define MAX_SQL (64u << 10)
#define DIRECTORY_TABLE "directory_change"

RELAIS_PRINTF(4, 5)
static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;
	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

RELAIS_PRINTF(2, 3)
static void note(struct domain_result *res, const char *fmt, ...)
{
	va_list ap;
	size_t n = strlen(res->note);
	if (n >= sizeof(res->note) - 2)
		return;
	if (n)
		res->note[n++] = '\n';
	va_start(ap, fmt);
	vsnprintf(res->note + n, sizeof(res->note) - n, fmt, ap);
	va_end(ap);
	res->workflow = 1;
}

static int db_fail(sqlite3 *db, char *err, size_t errlen)
{
	int rc = relais_sqlite_error(sqlite3_extended_errcode(db));
	if (rc == RELAIS_ECONSTRAINT)
		return fail(err, errlen, rc, "Valeur refusée par le schéma (%s).", sqlite3_errmsg(db));
	return fail(err, errlen, rc ? rc : RELAIS_EDB, "Écriture impossible : %s.", relais_sqlite_errmsg(db));
}

void domain_today(char out[DOMAIN_DATE_LEN + 1])
{
	time_t now = time(NULL);
	struct tm tm;
	if (!localtime_r(&now, &tm) || !strftime(out, DOMAIN_DATE_LEN + 1, "%Y-%m-%d", &tm))
		snprintf(out, DOMAIN_DATE_LEN + 1, "1970-01-01");
}

static int live(const struct model_column *c)
{
	return c->since <= MODEL_SCHEMA_VERSION;
}

/* ---- reading ---- */

static int row_exists(sqlite3 *db, const char *table, const char *id, int *exists)
{
	char *sql = sqlite3_mprintf("SELECT 1 FROM \"%w\" WHERE id = ?1", table);
	sqlite3_stmt *st = NULL;
	int rc = sql ? relais_sqlite_error(sqlite3_prepare_v2(db, sql, -1, &st, NULL)) : RELAIS_ENOMEM;
	sqlite3_free(sql);
	*exists = 0;
	if (rc)
		return rc;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	int s = sqlite3_step(st);
	*exists = s == SQLITE_ROW;
	rc = s == SQLITE_ROW || s == SQLITE_DONE ? 0 : relais_sqlite_error(s);
	sqlite3_finalize(st);
	return rc;
}

/* Text columns of one row: "SELECT a, b… FROM t WHERE id = ?1" into out[i]
 * (malloc'd, NULL for NULL). RELAIS_ENOTFOUND when no such row. */
static int row_texts(sqlite3 *db, const char *sql, const char *id, char **out, int n)
{
	sqlite3_stmt *st = NULL;
	int rc = relais_sqlite_error(sqlite3_prepare_v2(db, sql, -1, &st, NULL));
	for (int i = 0; i < n; i++)
		out[i] = NULL;
	if (rc)
		return rc;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	int s = sqlite3_step(st);
	if (s == SQLITE_ROW) {
		for (int i = 0; i < n && !rc; i++) {
			const unsigned char *t = sqlite3_column_text(st, i);
			if (t && !(out[i] = strdup((const char *)t)))
				rc = RELAIS_ENOMEM;
		}
	} else {
		rc = s == SQLITE_DONE ? RELAIS_ENOTFOUND : relais_sqlite_error(s);
	}
	sqlite3_finalize(st);
	if (rc)
		for (int i = 0; i < n; i++) {
			free(out[i]);
			out[i] = NULL;
		}
	return rc;
}

static void texts_free(char **v, int n)
{
	for (int i = 0; i < n; i++)
		free(v[i]);
}

/* Runs one write with text parameters (NULL binds NULL). */
static int run(sqlite3 *db, const char *sql, int n, const char *const *p, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return db_fail(db, err, errlen);
	for (int i = 0; i < n; i++)
		if (p[i])
			sqlite3_bind_text(st, i + 1, p[i], -1, SQLITE_STATIC);
	int s = sqlite3_step(st);
	int rc = s == SQLITE_DONE ? 0 : db_fail(db, err, errlen);
	sqlite3_finalize(st);
	return rc;
}

/* ---- checks ---- */

int domain_check_value(sqlite3 *db, const struct model_column *c, const char *raw,
		       char *out, size_t outlen, char *err, size_t errlen)
{
	int rc, exists = 0;
	if (err && errlen)
		err[0] = 0;
	rc = model_check_value(c, raw, out, outlen, err, errlen);
	if (rc) {
		if (err && errlen && !err[0])
			snprintf(err, errlen, "%s : valeur refusée.", c->label);
		return rc;
	}
	if (c->kind != MODEL_REF || !out[0])
		return 0;
	if ((rc = row_exists(db, c->ref, out, &exists)))
		return rc;
	if (!exists) {
		const struct model_table *rt = model_table_by_name(c->ref);
		return fail(err, errlen, RELAIS_EINVAL, "%s : %s « %s » est introuvable.", c->label,
			    rt ? rt->label : c->ref, out);
	}
	return 0;
}

/* A value handed to domain_write() must be as domain_check_value() leaves it. */
static int recheck(sqlite3 *db, const struct domain_value *v, char *err, size_t errlen)
{
	char *out;
	int rc;
	if (!v->val)
		return v->col->flags & MODEL_REQUIRED
			       ? fail(err, errlen, RELAIS_EINVAL, "%s : ce champ est obligatoire.", v->col->label)
			       : 0;
	out = malloc(MODEL_VALUE_MAX);
	if (!out)
		return RELAIS_ENOMEM;
	rc = domain_check_value(db, v->col, v->val, out, MODEL_VALUE_MAX, err, errlen);
	if (!rc && strcmp(out, v->val))
		rc = fail(err, errlen, RELAIS_EINVAL, "%s : valeur non normalisée.", v->col->label);
	free(out);
	return rc;
}

static const struct domain_value *find(const struct domain_value *v, size_t n, const char *col)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i].col->name, col))
			return &v[i];
	return NULL;
}

/* ---- the national directory ---- */

static int directory_change(sqlite3 *db, const char *dept, const char *promeneur,
			    const char *nature, const char *date, char *err, size_t errlen)
{
	char id[UTIL_UUID_LEN + 1];
	int rc = util_uuid(id);
	if (rc)
		return rc;
	const char *p[] = { id, dept, promeneur, nature, date };
	return run(db, "INSERT INTO " DIRECTORY_TABLE " (id, dept, promeneur, nature, date, transmis) "
		   "VALUES (?1, ?2, ?3, ?4, ?5, 0)", 5, p, err, errlen);
}

/* ---- workflows ---- */

static const char *decision_shown(const char *d)
{
	return !strcmp(d, "acceptee") ? "acceptée" : !strcmp(d, "refusee") ? "refusée"
	       : !strcmp(d, "ajournee") ? "ajournée" : "en attente";
}

enum { P_STATUT, P_DATE_LAB, P_DATE_DELAB, P_NAME, P_DEPT, P_N };

static int read_person(sqlite3 *db, const char *id, char **p)
{
	return row_texts(db, "SELECT coalesce(statut, 'candidat'), date_labellisation, "
			 "date_delabellisation, prenom || ' ' || nom, dept FROM promeneur WHERE id = ?1",
			 id, p, P_N);
}

int domain_decide(sqlite3 *db, const char *id, const char *decision, const char *date,
		  const char *comite, struct domain_result *res, char *err, size_t errlen)
{
	enum { C_DEPT, C_DECISION, C_PROMENEUR, C_COMITE, C_N };
	char *c[C_N], *p[P_N] = { NULL };
	int rc, label = 0;

	if (strcmp(decision, "acceptee") && strcmp(decision, "refusee") && strcmp(decision, "ajournee"))
		return fail(err, errlen, RELAIS_EINVAL, "Décision : « %s » n'est pas une décision "
			    "(acceptée, refusée ou ajournée).", decision);
	rc = row_texts(db, "SELECT dept, coalesce(decision, 'en_attente'), promeneur, date_comite "
		       "FROM candidature WHERE id = ?1", id, c, C_N);
	if (rc == RELAIS_ENOTFOUND)
		return fail(err, errlen, rc, "La candidature « %s » est introuvable.", id);
	if (rc)
		return rc;
	if (!strcmp(c[C_DECISION], "acceptee")) {
		rc = strcmp(decision, "acceptee")
			     ? fail(err, errlen, RELAIS_EINVAL, "Décision : la candidature « %s » est déjà "
				    "acceptée ; pour retirer le label : relais promeneur delabelliser ID "
				    "--motif TEXTE.", id)
			     : 0;
		goto out;
	}
	if (!comite)
		comite = c[C_COMITE] ? c[C_COMITE] : date;
	if (!strcmp(decision, "acceptee")) {
		if (!c[C_PROMENEUR]) {
			rc = fail(err, errlen, RELAIS_EINVAL, "Décision : la candidature « %s » ne désigne "
				  "aucun promeneur ; renseignez-le d'abord (champ Promeneur).", id);
			goto out;
		}
		rc = read_person(db, c[C_PROMENEUR], p);
		if (rc == RELAIS_ENOTFOUND)
			rc = fail(err, errlen, rc, "Décision : le promeneur « %s » de la candidature est "
				  "introuvable.", c[C_PROMENEUR]);
		if (rc)
			goto out;
		/* Someone already labelled (imported from a spreadsheet, say)
		 * keeps the date and is already in the directory. */
		label = strcmp(p[P_STATUT], "labellise") != 0;
		if (!strcmp(p[P_STATUT], "delabellise") || !strcmp(p[P_STATUT], "suspendu"))
			label = 1;
	}
	const char *up[] = { decision, comite, id };
	rc = run(db, "UPDATE candidature SET decision = ?1, date_comite = ?2 WHERE id = ?3", 3, up,
		 err, errlen);
	if (!rc && label) {
		const char *lp[] = { date, c[C_PROMENEUR] };
		rc = run(db, "UPDATE promeneur SET statut = 'labellise', date_labellisation = ?1, "
			 "date_delabellisation = NULL, motif_delabellisation = NULL WHERE id = ?2", 2, lp,
			 err, errlen);
	}
	if (!rc && label)
		rc = directory_change(db, p[P_DEPT], c[C_PROMENEUR], "ajout", date, err, errlen);
	if (rc)
		goto out;
	snprintf(res->id, sizeof(res->id), "%s", id);
	note(res, "Candidature %s : décision « %s » (comité du %s).", id, decision_shown(decision), comite);
	if (label)
		note(res, "Promeneur %s (%s) labellisé le %s ; ajout à transmettre à l'annuaire national.",
		     p[P_NAME] ? p[P_NAME] : "?", c[C_PROMENEUR], date);
	else if (p[P_NAME])
		note(res, "Promeneur %s (%s) déjà labellisé (le %s) : statut inchangé.", p[P_NAME],
		     c[C_PROMENEUR], p[P_DATE_LAB] ? p[P_DATE_LAB] : "?");
out:
	texts_free(c, C_N);
	texts_free(p, P_N);
	return rc;
}

int domain_delabel(sqlite3 *db, const char *id, const char *motif, const char *date,
		   struct domain_result *res, char *err, size_t errlen)
{
	char *p[P_N];
	int rc;

	if (!motif || !*motif)
		return fail(err, errlen, RELAIS_EINVAL, "Motif de délabellisation : obligatoire pour "
			    "délabelliser (relais promeneur delabelliser ID --motif TEXTE, ou ce champ "
			    "rempli avec le statut « délabellisé »).");
	rc = read_person(db, id, p);
	if (rc == RELAIS_ENOTFOUND)
		return fail(err, errlen, rc, "Le promeneur « %s » est introuvable.", id);
	if (rc)
		return rc;
	if (!strcmp(p[P_STATUT], "delabellise"))
		rc = fail(err, errlen, RELAIS_EINVAL, "Statut : le promeneur « %s » est déjà délabellisé "
			  "(le %s).", id, p[P_DATE_DELAB] ? p[P_DATE_DELAB] : "?");
	else if (!strcmp(p[P_STATUT], "candidat"))
		rc = fail(err, errlen, RELAIS_EINVAL, "Statut : le promeneur « %s » n'est pas labellisé "
			  "(statut candidat) : rien à retirer.", id);
	else if (p[P_DATE_LAB] && strcmp(date, p[P_DATE_LAB]) < 0)
		rc = fail(err, errlen, RELAIS_EINVAL, "Date de délabellisation : le %s précède la "
			  "labellisation (le %s).", date, p[P_DATE_LAB]);
	if (!rc) {
		const char *up[] = { date, motif, id };
		rc = run(db, "UPDATE promeneur SET statut = 'delabellise', date_delabellisation = ?1, "
			 "motif_delabellisation = ?2 WHERE id = ?3", 3, up, err, errlen);
	}
	if (!rc)
		rc = directory_change(db, p[P_DEPT], id, "retrait", date, err, errlen);
	if (!rc) {
		snprintf(res->id, sizeof(res->id), "%s", id);
		note(res, "Promeneur %s (%s) délabellisé le %s ; retrait à transmettre à l'annuaire "
		     "national.", p[P_NAME] ? p[P_NAME] : "?", id, date);
	}
	texts_free(p, P_N);
	return rc;
}

int domain_suspend(sqlite3 *db, const char *id, int suspend, const char *date,
		   struct domain_result *res, char *err, size_t errlen)
{
	char *p[P_N];
	int rc = read_person(db, id, p);

	if (rc == RELAIS_ENOTFOUND)
		return fail(err, errlen, rc, "Le promeneur « %s » est introuvable.", id);
	if (rc)
		return rc;
	if (strcmp(p[P_STATUT], suspend ? "labellise" : "suspendu"))
		rc = fail(err, errlen, RELAIS_EINVAL, suspend
			  ? "Statut : seul un promeneur labellisé peut être suspendu (« %s » est %s)."
			  : "Statut : seul un promeneur suspendu peut être rétabli (« %s » est %s).",
			  id, model_value_label(p[P_STATUT]));
	if (!rc) {
		const char *up[] = { suspend ? "suspendu" : "labellise", id };
		rc = run(db, "UPDATE promeneur SET statut = ?1 WHERE id = ?2", 2, up, err, errlen);
	}
	if (!rc)
		rc = directory_change(db, p[P_DEPT], id, "modification", date, err, errlen);
	if (!rc) {
		snprintf(res->id, sizeof(res->id), "%s", id);
		note(res, "Promeneur %s (%s) %s le %s ; changement à transmettre à l'annuaire national.",
		     p[P_NAME] ? p[P_NAME] : "?", id, suspend ? "suspendu" : "rétabli", date);
	}
	texts_free(p, P_N);
	return rc;
}

/* ---- row writes ---- */

/*
 * The workflow a write of promeneur.statut means, from the current status
 * (NULL on creation) to the new one; 0 with *run set when the workflow runs
 * (after the plain write), RELAIS_EINVAL when refused.
 */
enum statut_move { MOVE_NONE, MOVE_DELABEL, MOVE_SUSPEND, MOVE_REINSTATE };

static int statut_move(const char *from, const char *to, enum statut_move *mv, char *err, size_t errlen)
{
	*mv = MOVE_NONE;
	if (!to)
		to = "candidat";
	if (!from) {
		/* A new promeneur is a candidate, or already labelled (the
		 * directory of an existing network, imported or typed in). */
		if (!strcmp(to, "candidat") || !strcmp(to, "labellise"))
			return 0;
		return fail(err, errlen, RELAIS_EINVAL, "Statut : un nouveau promeneur est candidat ou "
			    "labellisé ; la suspension et la délabellisation se font ensuite sur sa fiche.");
	}
	if (!strcmp(from, to))
		return 0;
	if (!strcmp(to, "delabellise")) {
		*mv = MOVE_DELABEL;
		return 0;
	}
	if (!strcmp(to, "suspendu")) {
		*mv = MOVE_SUSPEND;
		return 0;
	}
	if (!strcmp(to, "labellise") && !strcmp(from, "suspendu")) {
		*mv = MOVE_REINSTATE;
		return 0;
	}
	if (!strcmp(to, "labellise"))
		return fail(err, errlen, RELAIS_EINVAL, "Statut : la labellisation suit l'acceptation "
			    "d'une candidature par le comité (relais candidature decider ID --decision "
			    "acceptee, ou la décision de la candidature).");
	return fail(err, errlen, RELAIS_EINVAL, "Statut : un promeneur %s ne redevient pas candidat ; "
		    "une nouvelle candidature se décide avec relais candidature decider.",
		    model_value_label(from));
}

static int bind_value(sqlite3_stmt *st, int idx, const struct domain_value *v)
{
	if (!v->val)
		return sqlite3_bind_null(st, idx);
	if (v->col->kind == MODEL_INT || v->col->kind == MODEL_BOOL) {
		long long n;
		if (!util_parse_ll(v->val, INT64_MIN, INT64_MAX, &n))
			return sqlite3_bind_int64(st, idx, n);
	}
	return sqlite3_bind_text(st, idx, v->val, -1, SQLITE_STATIC);
}

/* INSERT (creating) or UPDATE of the values not skipped. */
static int plain_write(sqlite3 *db, const struct model_table *t, const char *id, const char *dept,
		       int creating, const struct domain_value *v, size_t n, const int *skip,
		       char *err, size_t errlen)
{
	struct buf sql = BUF_INIT(MAX_SQL);
	sqlite3_stmt *st = NULL;
	size_t k = 0;
	int rc = creating ? buf_printf(&sql, "INSERT INTO \"%s\" (id, dept", t->name)
			  : buf_printf(&sql, "UPDATE \"%s\" SET ", t->name);
	for (size_t i = 0; i < n && !rc; i++) {
		if (skip[i])
			continue;
		rc = creating ? buf_printf(&sql, ", \"%s\"", v[i].col->name)
			      : buf_printf(&sql, "%s\"%s\" = ?", k ? ", " : "", v[i].col->name);
		k++;
	}
	if (!creating && !k)
		goto out; /* only workflow columns */
	if (!rc && creating) {
		rc = buf_puts(&sql, ") VALUES (?, ?");
		for (size_t i = 0; i < k && !rc; i++)
			rc = buf_puts(&sql, ", ?");
		if (!rc)
			rc = buf_putc(&sql, ')');
	} else if (!rc) {
		rc = buf_puts(&sql, " WHERE id = ?");
	}
	if (rc)
		goto out;
	if (sqlite3_prepare_v2(db, buf_str(&sql), -1, &st, NULL) != SQLITE_OK) {
		rc = db_fail(db, err, errlen);
		goto out;
	}
	int idx = 1;
	if (creating) {
		sqlite3_bind_text(st, idx++, id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, idx++, dept, -1, SQLITE_STATIC);
	}
	for (size_t i = 0; i < n; i++)
		if (!skip[i])
			bind_value(st, idx++, &v[i]);
	if (!creating)
		sqlite3_bind_text(st, idx, id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = db_fail(db, err, errlen);
out:
	sqlite3_finalize(st);
	buf_release(&sql);
	return rc;
}

/* ---- the mail journal ---- */

/*
 * A message waiting in quarantine is handled once: attached to a record it
 * became (traitement "rattache", rattache_a its "table:id") or filed
 * ("classe"). The condition is part of the write, so that an edit can never
 * overwrite a decision, whatever happened in between.
 */
int domain_mail_handle(sqlite3 *db, const char *id, const char *traitement, const char *attached,
		       char *err, size_t errlen)
{
	if (strcmp(traitement, "rattache") && strcmp(traitement, "classe"))
		return fail(err, errlen, RELAIS_EINVAL, "Suite donnée : « %s » n'est pas une suite "
			    "possible (rattaché ou classé).", traitement);
	if (!strcmp(traitement, "rattache") != (attached != NULL))
		return fail(err, errlen, RELAIS_EINVAL, "Rattaché à : à donner avec « rattaché », "
			    "seulement.");
	const char *p[] = { traitement, attached, id };
	int rc = run(db, "UPDATE inbound_mail SET traitement = ?1, rattache_a = ?2 WHERE id = ?3 AND "
		     DOMAIN_MAIL_WAITING_SQL, 3, p, err, errlen);
	if (!rc && sqlite3_changes(db) != 1)
		rc = fail(err, errlen, RELAIS_EEXIST, "Le courrier « %s » ne peut plus être traité ; "
			  "rien n'a été modifié.", id);
	return rc;
}

/* ---- documents ---- */

/*
 * A document is attached to one structure, promeneur or candidature that
 * exists (rattache_table and rattache_id together), or to none (both
 * cleared).
 */
static int document_attachment(sqlite3 *db, const struct model_table *t, const char *id,
			       const struct domain_value *v, size_t n, char *err, size_t errlen)
{
	const struct domain_value *tv = find(v, n, "rattache_table"), *iv = find(v, n, "rattache_id");
	char *cur[2] = { NULL, NULL };
	const char *table, *rid;
	int rc = 0, exists = 0;
	(void)t;
	if (!tv && !iv)
		return 0;
	if (id && (rc = row_texts(db, "SELECT rattache_table, rattache_id FROM document WHERE id = ?1",
				  id, cur, 2)))
		return rc == RELAIS_ENOTFOUND ? 0 : rc;
	table = tv ? tv->val : cur[0];
	rid = iv ? iv->val : cur[1];
	if (!table != !rid)
		rc = fail(err, errlen, RELAIS_EINVAL, "Rattaché à (fiche) : donnez la fiche et son "
			  "identifiant ensemble, ou videz les deux.");
	else if (table && (rc = row_exists(db, table, rid, &exists)) == 0 && !exists)
		rc = fail(err, errlen, RELAIS_EINVAL, "Identifiant de la fiche : %s « %s » est "
			  "introuvable.", model_table_by_name(table) ? model_table_by_name(table)->label
								     : table, rid);
	texts_free(cur, 2);
	return rc;
}

/* ---- attending an event ---- */

/* A promeneur is registered once for an event. */
static int attendance_once(sqlite3 *db, const struct domain_value *v, size_t n, char *err,
			   size_t errlen)
{
	const struct domain_value *ev = find(v, n, "event"), *pr = find(v, n, "promeneur");
	sqlite3_stmt *st = NULL;
	int rc;
	if (!ev || !pr || !ev->val || !pr->val)
		return 0; /* the required columns are checked by the caller */
	rc = relais_sqlite_error(sqlite3_prepare_v2(db, "SELECT 1 FROM attendance WHERE event = ?1 "
						    "AND promeneur = ?2", -1, &st, NULL));
	if (rc)
		return rc;
	sqlite3_bind_text(st, 1, ev->val, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, pr->val, -1, SQLITE_STATIC);
	int s = sqlite3_step(st);
	sqlite3_finalize(st);
	if (s == SQLITE_ROW)
		return fail(err, errlen, RELAIS_EEXIST, "Ce promeneur est déjà inscrit à l'événement.");
	return s == SQLITE_DONE ? 0 : relais_sqlite_error(s);
}

/* Attending an initial training, present, marks the promeneur's initial
 * training as done. */
static int attendance_effects(sqlite3 *db, const char *id, struct domain_result *res, char *err,
			      size_t errlen)
{
	enum { A_PROMENEUR, A_TYPE, A_PRESENT, A_DONE, A_NAME, A_N };
	char *a[A_N];
	int rc = row_texts(db, "SELECT a.promeneur, e.type, a.presence_effective, p.formation_initiale, "
			   "p.prenom || ' ' || p.nom FROM attendance a JOIN event e ON e.id = a.event "
			   "JOIN promeneur p ON p.id = a.promeneur WHERE a.id = ?1", id, a, A_N);
	if (rc == RELAIS_ENOTFOUND)
		return 0; /* an event or promeneur deleted elsewhere: nothing follows */
	if (rc)
		return rc;
	if (a[A_TYPE] && !strcmp(a[A_TYPE], "formation_initiale") && a[A_PRESENT] &&
	    !strcmp(a[A_PRESENT], "1") && !(a[A_DONE] && !strcmp(a[A_DONE], "1"))) {
		const char *p[] = { a[A_PROMENEUR] };
		rc = run(db, "UPDATE promeneur SET formation_initiale = 1 WHERE id = ?1", 1, p, err, errlen);
		if (!rc)
			note(res, "Formation initiale de %s notée comme suivie.", a[A_NAME] ? a[A_NAME] : "?");
	}
	texts_free(a, A_N);
	return rc;
}

int domain_write(sqlite3 *db, const struct model_table *t, const char *id, const char *dept,
		 const struct domain_value *v, size_t n, const char *today,
		 struct domain_result *res, char *err, size_t errlen)
{
	int creating = id == NULL, rc = 0, exists = 0;
	int *skip = calloc(n ? n : 1, sizeof(int));
	char newid[UTIL_UUID_LEN + 1], *statut = NULL;
	const struct domain_value *decision = NULL, *vstatut = NULL;
	enum statut_move mv = MOVE_NONE;

	memset(res, 0, sizeof(*res));
	if (err && errlen)
		err[0] = 0;
	if (!skip)
		return RELAIS_ENOMEM;
	/* What relaisd alone writes (the mail journal, the documents it kept):
	 * its own code writes them, never a door. */
	if (t->flags & MODEL_TABLE_SERVER_ROWS && creating) {
		rc = fail(err, errlen, RELAIS_EINVAL, "%s est créé par le serveur seulement (courrier "
			  "reçu) ; il ne se crée pas ici.", t->label);
		goto out;
	}
	for (size_t i = 0; i < n && !rc; i++)
		if (v[i].col->flags & MODEL_SERVER)
			rc = fail(err, errlen, RELAIS_EINVAL, "%s : valeur tenue par le serveur, qui ne se "
				  "modifie pas ici.", v[i].col->label);
	for (size_t i = 0; i < n && !rc; i++)
		rc = recheck(db, &v[i], err, errlen);
	if (!rc && !strcmp(t->name, "document"))
		rc = document_attachment(db, t, id, v, n, err, errlen);
	if (rc)
		goto out;
	if (creating) {
		if (!dept || !*dept) {
			rc = fail(err, errlen, RELAIS_EINVAL, "Le département est inconnu.");
			goto out;
		}
		for (size_t i = 0; i < t->ncolumns && !rc; i++) {
			const struct model_column *c = &t->columns[i];
			const struct domain_value *g = find(v, n, c->name);
			if (live(c) && c->flags & MODEL_REQUIRED && (!g || !g->val))
				rc = fail(err, errlen, RELAIS_EINVAL, "%s : ce champ est obligatoire.", c->label);
		}
		if (!rc)
			rc = util_uuid(newid);
		if (rc)
			goto out;
		id = newid;
	} else {
		if ((rc = row_exists(db, t->name, id, &exists)))
			goto out;
		if (!exists) {
			rc = fail(err, errlen, RELAIS_ENOTFOUND, "%s « %s » est introuvable.", t->label, id);
			goto out;
		}
	}

	/* Workflow columns. */
	if (!strcmp(t->name, "candidature"))
		decision = find(v, n, "decision");
	if (decision && creating) {
		if (decision->val && strcmp(decision->val, "en_attente")) {
			rc = fail(err, errlen, RELAIS_EINVAL, "Décision : une candidature se crée en "
				  "attente ; le comité la décide ensuite (relais candidature decider).");
			goto out;
		}
		decision = NULL; /* a plain value */
	} else if (decision) {
		char *cur[1];
		const char *want = decision->val ? decision->val : "en_attente";
		if ((rc = row_texts(db, "SELECT coalesce(decision, 'en_attente') FROM candidature "
				    "WHERE id = ?1", id, cur, 1)))
			goto out;
		if (!strcmp(want, cur[0])) {
			skip[decision - v] = 1; /* unchanged */
			decision = NULL;
		} else if (!strcmp(want, "en_attente")) {
			if (!strcmp(cur[0], "acceptee"))
				rc = fail(err, errlen, RELAIS_EINVAL, "Décision : la candidature « %s » est "
					  "déjà acceptée ; pour retirer le label : relais promeneur "
					  "delabelliser ID --motif TEXTE.", id);
			decision = NULL; /* back to "en attente": a plain value */
		} else {
			skip[decision - v] = 1; /* written by domain_decide() */
		}
		free(cur[0]);
		if (rc)
			goto out;
	}
	if (!strcmp(t->name, "promeneur") && (vstatut = find(v, n, "statut"))) {
		if (!creating) {
			char *cur[1];
			if ((rc = row_texts(db, "SELECT coalesce(statut, 'candidat') FROM promeneur WHERE id = ?1",
					    id, cur, 1)))
				goto out;
			statut = cur[0];
			skip[vstatut - v] = 1;
		}
		if ((rc = statut_move(statut, vstatut->val, &mv, err, errlen)))
			goto out;
		if (mv == MOVE_DELABEL) {
			/* Written by domain_delabel(), with its checks. */
			for (size_t i = 0; i < n; i++)
				if (!strcmp(v[i].col->name, "motif_delabellisation") ||
				    !strcmp(v[i].col->name, "date_delabellisation"))
					skip[i] = 1;
		}
	}

	if (!strcmp(t->name, "attendance") && creating && (rc = attendance_once(db, v, n, err, errlen)))
		goto out;
	rc = plain_write(db, t, id, dept, creating, v, n, skip, err, errlen);
	if (rc)
		goto out;
	snprintf(res->id, sizeof(res->id), "%s", id);
	if (!strcmp(t->name, "attendance") && (rc = attendance_effects(db, id, res, err, errlen)))
		goto out;
	if (decision) {
		const struct domain_value *cm = find(v, n, "date_comite");
		rc = domain_decide(db, id, decision->val, today, cm ? cm->val : NULL, res, err, errlen);
	} else if (mv == MOVE_DELABEL) {
		const struct domain_value *m = find(v, n, "motif_delabellisation");
		const struct domain_value *d = find(v, n, "date_delabellisation");
		rc = domain_delabel(db, id, m ? m->val : NULL, d && d->val ? d->val : today, res, err, errlen);
	} else if (mv == MOVE_SUSPEND || mv == MOVE_REINSTATE) {
		rc = domain_suspend(db, id, mv == MOVE_SUSPEND, today, res, err, errlen);
	}
	if (!rc)
		snprintf(res->id, sizeof(res->id), "%s", id);
out:
	free(statut);
	free(skip);
	return rc;
}

int domain_delete(sqlite3 *db, const struct model_table *t, const char *id, char *err, size_t errlen)
{
	if (t->flags & MODEL_TABLE_SERVER_ROWS)
		return fail(err, errlen, RELAIS_EINVAL, "%s est tenu par le serveur ; il ne se "
			    "supprime pas ici.", t->label);
	int exists = 0, rc = row_exists(db, t->name, id, &exists);
	if (rc)
		return rc;
	if (!exists)
		return fail(err, errlen, RELAIS_ENOTFOUND, "%s « %s » est introuvable.", t->label, id);
	char *sql = sqlite3_mprintf("DELETE FROM \"%w\" WHERE id = ?1", t->name);
	if (!sql)
		return RELAIS_ENOMEM;
	const char *p[] = { id };
	rc = run(db, sql, 1, p, err, errlen);
	sqlite3_free(sql);
	return rc;
}

int domain_title_sql(const struct model_table *t, struct buf *out)
{
	if (model_column_by_name(t, "prenom") && model_column_by_name(t, "nom"))
		return buf_puts(out, "r.prenom || ' ' || r.nom");
	if (!strcmp(t->name, "inbound_mail"))
		return buf_puts(out, "coalesce(r.sujet, '(sans objet)')");
	for (size_t i = 0; i < t->ncolumns; i++) {
		const struct model_column *c = &t->columns[i];
		if (live(c) && c->flags & MODEL_LISTED && c->kind == MODEL_TEXT)
			return buf_printf(out, "r.\"%s\"", c->name);
	}
	return RELAIS_ENOTFOUND;
}
