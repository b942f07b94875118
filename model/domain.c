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
#include "domain_int.h"

#define MAX_SQL (64u << 10)
#define DIRECTORY_TABLE "directory_change"

RELAIS_PRINTF(4, 5)
int domain_fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;
	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

/* A note is read by people: its dates as they write them, « 1er mars 2026 ». */
RELAIS_PRINTF(2, 3)
void domain_note(struct domain_result *res, const char *fmt, ...)
{
	va_list ap;
	char line[DOMAIN_MSG_MAX];
	size_t n = strlen(res->note);
	if (n >= sizeof(res->note) - 2)
		return;
	if (n)
		res->note[n++] = '\n';
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	util_dates_fr(line, res->note + n, sizeof(res->note) - n);
	res->workflow = 1;
}

static int db_fail(sqlite3 *db, char *err, size_t errlen)
{
	int rc = relais_sqlite_error(sqlite3_extended_errcode(db));
	if (rc == RELAIS_ECONSTRAINT)
		return domain_fail(err, errlen, rc, "Valeur refusée par le schéma (%s).", sqlite3_errmsg(db));
	return domain_fail(err, errlen, rc ? rc : RELAIS_EDB, "Écriture impossible : %s.", relais_sqlite_errmsg(db));
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

int domain_row_exists(sqlite3 *db, const char *table, const char *id, int *exists)
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
int domain_row_texts(sqlite3 *db, const char *sql, const char *id, char **out, int n)
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

void domain_texts_free(char **v, int n)
{
	for (int i = 0; i < n; i++)
		free(v[i]);
}

/* Runs one write with text parameters (NULL binds NULL). */
int domain_run(sqlite3 *db, const char *sql, int n, const char *const *p, char *err, size_t errlen)
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
	if ((rc = domain_row_exists(db, c->ref, out, &exists)))
		return rc;
	if (!exists) {
		const struct model_table *rt = model_table_by_name(c->ref);
		return domain_fail(err, errlen, RELAIS_EINVAL, "%s : %s « %s » est introuvable.", c->label,
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
			       ? domain_fail(err, errlen, RELAIS_EINVAL, "%s : ce champ est obligatoire.", v->col->label)
			       : 0;
	out = malloc(MODEL_VALUE_MAX);
	if (!out)
		return RELAIS_ENOMEM;
	rc = domain_check_value(db, v->col, v->val, out, MODEL_VALUE_MAX, err, errlen);
	if (!rc && strcmp(out, v->val))
		rc = domain_fail(err, errlen, RELAIS_EINVAL, "%s : valeur non normalisée.", v->col->label);
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

/* ---- workflows ---- */

/* The history of candidature id's decisions: one row per decision. */
static int decision_history(sqlite3 *db, const char *dept, const char *id, const char *decision,
			    const char *comite, const char *avis, char *err, size_t errlen)
{
	char hid[UTIL_UUID_LEN + 1];
	int rc = util_uuid(hid);
	if (rc)
		return rc;
	const char *p[] = { hid, dept, id, decision, comite, avis };
	return domain_run(db, "INSERT INTO decision (id, dept, candidature, decision, date_comite, avis) "
			  "VALUES (?1, ?2, ?3, ?4, ?5, ?6)", 6, p, err, errlen);
}

int domain_decide(sqlite3 *db, const char *id, const char *decision, const char *date,
		  const char *comite, const char *avis, struct domain_result *res,
		  char *err, size_t errlen)
{
	enum { C_DEPT, C_DECISION, C_PROMENEUR, C_COMITE, C_N };
	char *c[C_N], *p[P_N] = { NULL };
	int rc, label = 0, refuse = 0;

	if (strcmp(decision, "acceptee") && strcmp(decision, "refusee") && strcmp(decision, "ajournee"))
		return domain_fail(err, errlen, RELAIS_EINVAL, "Décision : « %s » n'est pas une décision "
				   "(acceptée, refusée ou ajournée).", decision);
	rc = domain_row_texts(db, "SELECT dept, coalesce(decision, 'en_attente'), promeneur, date_comite "
			      "FROM candidature WHERE id = ?1", id, c, C_N);
	if (rc == RELAIS_ENOTFOUND)
		return domain_fail(err, errlen, rc, "La candidature « %s » est introuvable.", id);
	if (rc)
		return rc;
	if (!strcmp(c[C_DECISION], "acceptee")) {
		rc = strcmp(decision, "acceptee")
			     ? domain_fail(err, errlen, RELAIS_EINVAL, "Décision : la candidature « %s » "
					   "est déjà acceptée ; pour retirer le label : relais promeneur "
					   "delabelliser ID --motif TEXTE.", id)
			     : 0;
		goto out;
	}
	if (!comite)
		comite = c[C_COMITE] && !strcmp(c[C_DECISION], "en_attente") ? c[C_COMITE] : date;
	if (c[C_PROMENEUR]) {
		rc = domain_read_person(db, c[C_PROMENEUR], p, err, errlen);
		if (rc == RELAIS_ENOTFOUND)
			rc = domain_fail(err, errlen, rc, "Décision : le promeneur « %s » de la "
					 "candidature est introuvable.", c[C_PROMENEUR]);
		if (rc)
			goto out;
	}
	if (!strcmp(decision, "acceptee")) {
		if (!c[C_PROMENEUR]) {
			rc = domain_fail(err, errlen, RELAIS_EINVAL, "Décision : la candidature « %s » ne "
					 "désigne aucun promeneur ; renseignez-le d'abord (champ "
					 "Promeneur).", id);
			goto out;
		}
		/* Someone already labelled (imported from a spreadsheet, say)
		 * keeps the date and is already in the directory. */
		label = strcmp(p[P_STATUT], "labellise") != 0;
	}
	/* A candidate refused leaves the candidates (and falls under the
	 * retention rules); someone labelled through another candidature
	 * stays as they are. */
	refuse = !strcmp(decision, "refusee") && c[C_PROMENEUR] && !strcmp(p[P_STATUT], "candidat");
	const char *up[] = { decision, comite, id };
	rc = domain_run(db, "UPDATE candidature SET decision = ?1, date_comite = ?2 WHERE id = ?3", 3, up,
			err, errlen);
	if (!rc)
		rc = decision_history(db, c[C_DEPT], id, decision, comite, avis, err, errlen);
	if (!rc && label) {
		const char *lp[] = { date, c[C_PROMENEUR] };
		rc = domain_run(db, "UPDATE promeneur SET statut = 'labellise', date_labellisation = ?1, "
				"date_delabellisation = NULL, motif_delabellisation = NULL WHERE id = ?2", 2,
				lp, err, errlen);
	}
	if (!rc && label)
		rc = domain_directory_change(db, p[P_DEPT], c[C_PROMENEUR], "ajout", date, NULL, err,
					     errlen);
	if (!rc && refuse) {
		const char *lp[] = { c[C_PROMENEUR] };
		rc = domain_run(db, "UPDATE promeneur SET statut = 'non_retenu' WHERE id = ?1", 1, lp,
				err, errlen);
	}
	if (rc)
		goto out;
	snprintf(res->id, sizeof(res->id), "%s", id);
	if (p[P_NAME])
		domain_note(res, "Candidature %s%s : décision « %s » (comité du %s).", util_de(p[P_NAME]),
			    p[P_NAME], model_value_label(decision), comite);
	else
		domain_note(res, "Candidature : décision « %s » (comité du %s).",
			    model_value_label(decision), comite);
	if (label)
		domain_note(res, "Promeneur %s labellisé le %s ; ajout à transmettre à l'annuaire "
			    "national.", p[P_NAME] ? p[P_NAME] : "?", date);
	else if (refuse)
		domain_note(res, "%s n'est plus candidat : « non retenu ».", p[P_NAME] ? p[P_NAME] : "?");
	else if (!strcmp(decision, "acceptee"))
		domain_note(res, "Promeneur %s déjà labellisé (le %s) : statut inchangé.",
			    p[P_NAME] ? p[P_NAME] : "?", p[P_DATE_LAB] ? p[P_DATE_LAB] : "?");
out:
	domain_texts_free(c, C_N);
	domain_texts_free(p, P_N);
	return rc;
}

/* ---- row writes ---- */

/*
 * The workflow a write of promeneur.statut means, from the current status
 * (NULL on creation) to the new one; 0 with *run set when the workflow runs
 * (after the plain write), RELAIS_EINVAL when refused.
 */
enum statut_move { MOVE_NONE, MOVE_DELABEL, MOVE_REINSTATE };

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
		return domain_fail(err, errlen, RELAIS_EINVAL, "Statut : un nouveau promeneur est candidat ou "
			    "labellisé ; la suspension et la délabellisation se font ensuite sur sa fiche.");
	}
	if (!strcmp(from, to))
		return 0;
	if (!strcmp(to, "delabellise")) {
		*mv = MOVE_DELABEL;
		return 0;
	}
	if (!strcmp(to, "suspendu"))
		return domain_fail(err, errlen, RELAIS_EINVAL, "Statut : une suspension se note avec son "
				   "motif et ses dates : relais promeneur suspendre ID --motif TEXTE "
				   "[--jusqu-au DATE].");
	if (!strcmp(to, "non_retenu"))
		return domain_fail(err, errlen, RELAIS_EINVAL, "Statut : « non retenu » suit le refus "
				   "d'une candidature par le comité (relais candidature decider ID "
				   "--decision refusee).");
	if (!strcmp(to, "labellise") && !strcmp(from, "suspendu")) {
		*mv = MOVE_REINSTATE;
		return 0;
	}
	if (!strcmp(to, "labellise"))
		return domain_fail(err, errlen, RELAIS_EINVAL, "Statut : la labellisation suit l'acceptation "
			    "d'une candidature par le comité (relais candidature decider ID --decision "
			    "acceptee, ou la décision de la candidature).");
	return domain_fail(err, errlen, RELAIS_EINVAL, "Statut : un promeneur %s ne redevient pas candidat ; "
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
		return domain_fail(err, errlen, RELAIS_EINVAL, "Suite donnée : « %s » n'est pas une suite "
			    "possible (rattaché ou classé).", traitement);
	if (!strcmp(traitement, "rattache") != (attached != NULL))
		return domain_fail(err, errlen, RELAIS_EINVAL, "Rattaché à : à donner avec « rattaché », "
			    "seulement.");
	const char *p[] = { traitement, attached, id };
	int rc = domain_run(db, "UPDATE inbound_mail SET traitement = ?1, rattache_a = ?2 WHERE id = ?3 AND "
		     DOMAIN_MAIL_WAITING_SQL, 3, p, err, errlen);
	if (!rc && sqlite3_changes(db) != 1)
		rc = domain_fail(err, errlen, RELAIS_EEXIST, "Le courrier « %s » ne peut plus être traité ; "
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
	if (id && (rc = domain_row_texts(db, "SELECT rattache_table, rattache_id FROM document WHERE id = ?1",
				  id, cur, 2)))
		return rc == RELAIS_ENOTFOUND ? 0 : rc;
	table = tv ? tv->val : cur[0];
	rid = iv ? iv->val : cur[1];
	if (!table != !rid)
		rc = domain_fail(err, errlen, RELAIS_EINVAL, "Rattaché à (fiche) : donnez la fiche et son "
			  "identifiant ensemble, ou videz les deux.");
	else if (table && (rc = domain_row_exists(db, table, rid, &exists)) == 0 && !exists)
		rc = domain_fail(err, errlen, RELAIS_EINVAL, "Identifiant de la fiche : %s « %s » est "
			  "introuvable.", model_table_by_name(table) ? model_table_by_name(table)->label
								     : table, rid);
	domain_texts_free(cur, 2);
	return rc;
}

/* ---- attending an event ---- */

/* A promeneur (attendance) or a partner's contact (guest) is registered
 * once for an event. */
static int registered_once(sqlite3 *db, const struct model_table *t, const struct domain_value *v,
			   size_t n, char *err, size_t errlen)
{
	const char *who = !strcmp(t->name, "guest") ? "contact" : "promeneur";
	const struct domain_value *ev = find(v, n, "event"), *pr = find(v, n, who);
	sqlite3_stmt *st = NULL;
	int rc;
	if (!ev || !pr || !ev->val || !pr->val)
		return 0; /* the required columns are checked by the caller */
	char *sql = sqlite3_mprintf("SELECT 1 FROM \"%w\" WHERE event = ?1 AND \"%w\" = ?2", t->name, who);
	if (!sql)
		return RELAIS_ENOMEM;
	rc = relais_sqlite_error(sqlite3_prepare_v2(db, sql, -1, &st, NULL));
	sqlite3_free(sql);
	if (rc)
		return rc;
	sqlite3_bind_text(st, 1, ev->val, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, pr->val, -1, SQLITE_STATIC);
	int s = sqlite3_step(st);
	sqlite3_finalize(st);
	if (s == SQLITE_ROW)
		return domain_fail(err, errlen, RELAIS_EEXIST, "%s est déjà inscrit à l'événement.",
				   !strcmp(who, "contact") ? "Ce contact" : "Ce promeneur");
	return s == SQLITE_DONE ? 0 : relais_sqlite_error(s);
}

/* Attending an initial training, present, marks the promeneur's initial
 * training as done. */
static int attendance_effects(sqlite3 *db, const char *id, struct domain_result *res, char *err,
			      size_t errlen)
{
	enum { A_PROMENEUR, A_TYPE, A_PRESENT, A_DONE, A_NAME, A_N };
	char *a[A_N];
	int rc = domain_row_texts(db, "SELECT a.promeneur, e.type, a.presence_effective, p.formation_initiale, "
			   "p.prenom || ' ' || p.nom FROM attendance a JOIN event e ON e.id = a.event "
			   "JOIN promeneur p ON p.id = a.promeneur WHERE a.id = ?1", id, a, A_N);
	if (rc == RELAIS_ENOTFOUND)
		return 0; /* an event or promeneur deleted elsewhere: nothing follows */
	if (rc)
		return rc;
	if (a[A_TYPE] && !strcmp(a[A_TYPE], "formation_initiale") && a[A_PRESENT] &&
	    !strcmp(a[A_PRESENT], "1") && !(a[A_DONE] && !strcmp(a[A_DONE], "1"))) {
		const char *p[] = { a[A_PROMENEUR] };
		rc = domain_run(db, "UPDATE promeneur SET formation_initiale = 1 WHERE id = ?1", 1, p, err, errlen);
		if (!rc)
			domain_note(res, "Formation initiale %s%s notée comme suivie.", util_de(a[A_NAME]),
				    a[A_NAME] ? a[A_NAME] : "?");
	}
	/* Present at the training planned for one of their needs. */
	if (!rc && a[A_PRESENT] && !strcmp(a[A_PRESENT], "1")) {
		const char *p[] = { id };
		rc = domain_run(db, "UPDATE need SET statut = 'satisfait' WHERE coalesce(statut, '') <> "
				"'satisfait' AND (promeneur, event) IN (SELECT promeneur, event FROM "
				"attendance WHERE id = ?1)", 1, p, err, errlen);
		if (!rc && sqlite3_changes(db) > 0)
			domain_note(res, "Besoin de formation %s%s satisfait.", util_de(a[A_NAME]),
				    a[A_NAME] ? a[A_NAME] : "?");
	}
	domain_texts_free(a, A_N);
	return rc;
}

/* ---- workflow columns and rows ---- */

/* Rows that only a workflow creates. */
static int workflow_rows(const struct model_table *t, char *err, size_t errlen)
{
	if (!strcmp(t->name, "procedure"))
		return domain_fail(err, errlen, RELAIS_EINVAL, "Une procédure s'ouvre avec relais promeneur "
				   "signaler ID --motif TEXTE (délabellisation) ou relais promeneur "
				   "suspendre ID --motif TEXTE (suspension).");
	if (!strcmp(t->name, "decision"))
		return domain_fail(err, errlen, RELAIS_EINVAL, "L'historique des décisions s'écrit quand le "
				   "comité décide : relais candidature decider ID --decision DÉCISION.");
	return 0;
}

/*
 * Columns set by a workflow only; an edit that gives their current value
 * is no change. Each names the command that does it.
 */
static const struct {
	const char *table, *column, *how;
} workflow_only[] = {
	{ "procedure", "etape", "la procédure avance par ses étapes : relais procedure caf|mesures|"
				"suivre|decider ID" },
	{ "procedure", "decision", "la décision se prend avec la Caf : relais procedure decider ID "
				   "--decision DÉCISION" },
	{ "decision", "decision", "l'historique des décisions ne se réécrit pas ; une nouvelle décision "
				  "se prend avec relais candidature decider" },
	{ "decision", "candidature", "l'historique des décisions ne se réécrit pas" },
	{ "decision", "date_comite", "l'historique des décisions ne se réécrit pas" },
};

int domain_value_changes(sqlite3 *db, const struct model_table *t, const char *id,
			 const struct domain_value *dv, int *changes)
{
	char *sql = sqlite3_mprintf("SELECT \"%w\" FROM \"%w\" WHERE id = ?1", dv->col->name, t->name);
	char *cur[1];
	int rc;
	if (!sql)
		return RELAIS_ENOMEM;
	rc = domain_row_texts(db, sql, id, cur, 1);
	sqlite3_free(sql);
	if (rc)
		return rc;
	*changes = !cur[0] != !dv->val || (cur[0] && strcmp(cur[0], dv->val));
	free(cur[0]);
	return 0;
}

/* Refuses a change of a column of workflow_only[]; task.faite and
 * directory_change.publie set to 1 run their workflow (*done, *published). */
static int workflow_columns(sqlite3 *db, const struct model_table *t, const char *id,
			    const struct domain_value *v, size_t n, int *skip, int *done,
			    int *published, char *err, size_t errlen)
{
	int rc = 0, changes = 0;
	for (size_t i = 0; i < n && !rc; i++) {
		const char *col = v[i].col->name;
		int run_it = (!strcmp(t->name, "task") && !strcmp(col, "faite")) ||
			     (!strcmp(t->name, "directory_change") && !strcmp(col, "publie"));
		size_t k = 0;
		while (k < sizeof(workflow_only) / sizeof(workflow_only[0]) &&
		       (strcmp(workflow_only[k].table, t->name) || strcmp(workflow_only[k].column, col)))
			k++;
		if (!run_it && k == sizeof(workflow_only) / sizeof(workflow_only[0]))
			continue;
		if ((rc = domain_value_changes(db, t, id, &v[i], &changes)))
			break;
		if (!changes) {
			skip[i] = 1;
		} else if (!run_it) {
			rc = domain_fail(err, errlen, RELAIS_EINVAL, "%s : %s.", v[i].col->label,
					 workflow_only[k].how);
		} else if (v[i].val && !strcmp(v[i].val, "1")) {
			skip[i] = 1;
			*(!strcmp(t->name, "task") ? done : published) = 1;
		}
	}
	return rc;
}

/* What follows a write of a need or a request. */
static int row_effects(sqlite3 *db, const struct model_table *t, const char *id, const char *today,
		       struct domain_result *res, char *err, size_t errlen)
{
	int rc = 0;
	if (!strcmp(t->name, "need")) {
		const char *p[] = { id };
		rc = domain_run(db, "UPDATE need SET statut = 'planifie' WHERE id = ?1 AND event IS NOT "
				"NULL AND coalesce(statut, 'exprime') = 'exprime'", 1, p, err, errlen);
		if (!rc && sqlite3_changes(db) > 0)
			domain_note(res, "Besoin de formation planifié.");
	} else if (!strcmp(t->name, "request")) {
		const char *p[] = { today, id };
		rc = domain_run(db, "UPDATE request SET date_orientation = ?1 WHERE id = ?2 AND "
				"ressource IS NOT NULL AND date_orientation IS NULL", 2, p, err, errlen);
		if (!rc && sqlite3_changes(db) > 0)
			domain_note(res, "Demande orientée le %s.", today);
	}
	return rc;
}

static int write_row(sqlite3 *db, const struct model_table *t, const char *id, const char *dept,
		     const struct domain_value *v, size_t n, const char *today, int from_directory,
		     struct domain_result *res, char *err, size_t errlen)
{
	int creating = id == NULL, rc = 0, exists = 0;
	int *skip = calloc(n ? n : 1, sizeof(int));
	char newid[UTIL_UUID_LEN + 1], *statut = NULL;
	const struct domain_value *decision = NULL, *vstatut = NULL;
	enum statut_move mv = MOVE_NONE;
	int done = 0, published = 0;
	struct domain_watch watch;

	memset(res, 0, sizeof(*res));
	if (err && errlen)
		err[0] = 0;
	if (!skip)
		return RELAIS_ENOMEM;
	/* What relaisd alone writes (the mail journal, the documents it kept):
	 * its own code writes them, never a door. */
	if (t->flags & MODEL_TABLE_SERVER_ROWS && creating) {
		rc = domain_fail(err, errlen, RELAIS_EINVAL, "%s est créé par le serveur seulement (courrier "
			  "reçu) ; il ne se crée pas ici.", t->label);
		goto out;
	}
	if (creating && (rc = workflow_rows(t, err, errlen)))
		goto out;
	for (size_t i = 0; i < n && !rc; i++)
		if (v[i].col->flags & MODEL_SERVER)
			rc = domain_fail(err, errlen, RELAIS_EINVAL, "%s : valeur tenue par le serveur, qui ne se "
				  "modifie pas ici.", v[i].col->label);
	for (size_t i = 0; i < n && !rc; i++)
		rc = recheck(db, &v[i], err, errlen);
	if (!rc && !strcmp(t->name, "document"))
		rc = document_attachment(db, t, id, v, n, err, errlen);
	if (rc)
		goto out;
	if (creating) {
		if (!dept || !*dept) {
			rc = domain_fail(err, errlen, RELAIS_EINVAL, "Le département est inconnu.");
			goto out;
		}
		for (size_t i = 0; i < t->ncolumns && !rc; i++) {
			const struct model_column *c = &t->columns[i];
			const struct domain_value *g = find(v, n, c->name);
			if (live(c) && c->flags & MODEL_REQUIRED && (!g || !g->val))
				rc = domain_fail(err, errlen, RELAIS_EINVAL, "%s : ce champ est obligatoire.", c->label);
		}
		if (!rc)
			rc = util_uuid(newid);
		if (rc)
			goto out;
		id = newid;
	} else {
		if ((rc = domain_row_exists(db, t->name, id, &exists)))
			goto out;
		if (!exists) {
			rc = domain_fail(err, errlen, RELAIS_ENOTFOUND, "%s « %s » est introuvable.", t->label, id);
			goto out;
		}
	}

	/* Workflow columns. */
	if (!creating && (rc = workflow_columns(db, t, id, v, n, skip, &done, &published, err, errlen)))
		goto out;
	if (!strcmp(t->name, "candidature"))
		decision = find(v, n, "decision");
	if (decision && creating) {
		if (decision->val && strcmp(decision->val, "en_attente")) {
			rc = domain_fail(err, errlen, RELAIS_EINVAL, "Décision : une candidature se crée en "
				  "attente ; le comité la décide ensuite (relais candidature decider).");
			goto out;
		}
		decision = NULL; /* a plain value */
	} else if (decision) {
		char *cur[1];
		const char *want = decision->val ? decision->val : "en_attente";
		if ((rc = domain_row_texts(db, "SELECT coalesce(decision, 'en_attente') FROM candidature "
				    "WHERE id = ?1", id, cur, 1)))
			goto out;
		if (!strcmp(want, cur[0])) {
			skip[decision - v] = 1; /* unchanged */
			decision = NULL;
		} else if (!strcmp(want, "en_attente")) {
			if (!strcmp(cur[0], "acceptee"))
				rc = domain_fail(err, errlen, RELAIS_EINVAL, "Décision : la candidature « %s » est "
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
			if ((rc = domain_row_texts(db, "SELECT coalesce(statut, 'candidat') FROM promeneur WHERE id = ?1",
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

	if ((!strcmp(t->name, "attendance") || !strcmp(t->name, "guest")) && creating &&
	    (rc = registered_once(db, t, v, n, err, errlen)))
		goto out;
	memset(&watch, 0, sizeof(watch));
	if (!from_directory && (rc = domain_watch_before(db, t, creating ? NULL : id, v, n, 0, &watch)))
		goto out;
	rc = plain_write(db, t, id, dept, creating, v, n, skip, err, errlen);
	if (rc)
		goto out;
	snprintf(res->id, sizeof(res->id), "%s", id);
	if (!strcmp(t->name, "attendance") && (rc = attendance_effects(db, id, res, err, errlen)))
		goto out;
	if (decision) {
		const struct domain_value *cm = find(v, n, "date_comite");
		const struct domain_value *av = find(v, n, "avis");
		rc = domain_decide(db, id, decision->val, today, cm ? cm->val : NULL, av ? av->val : NULL,
				   res, err, errlen);
	} else if (mv == MOVE_DELABEL) {
		const struct domain_value *m = find(v, n, "motif_delabellisation");
		const struct domain_value *d = find(v, n, "date_delabellisation");
		rc = domain_delabel(db, id, m ? m->val : NULL, d && d->val ? d->val : today, res, err, errlen);
	} else if (mv == MOVE_REINSTATE) {
		rc = domain_reinstate(db, id, today, res, err, errlen);
	} else if (done) {
		rc = domain_task_done(db, id, today, res, err, errlen);
	} else if (published) {
		rc = domain_directory_published(db, id, today, res, err, errlen);
	}
	if (!rc)
		rc = domain_watch_after(db, &watch, today, err, errlen);
	if (!rc)
		rc = row_effects(db, t, id, today, res, err, errlen);
	if (!rc)
		snprintf(res->id, sizeof(res->id), "%s", id);
out:
	free(statut);
	free(skip);
	return rc;
}

int domain_write(sqlite3 *db, const struct model_table *t, const char *id, const char *dept,
		 const struct domain_value *v, size_t n, const char *today,
		 struct domain_result *res, char *err, size_t errlen)
{
	return write_row(db, t, id, dept, v, n, today, 0, res, err, errlen);
}

int domain_write_from_directory(sqlite3 *db, const struct model_table *t, const char *id,
				const char *dept, const struct domain_value *v, size_t n,
				const char *today, struct domain_result *res, char *err,
				size_t errlen)
{
	return write_row(db, t, id, dept, v, n, today, 1, res, err, errlen);
}

int domain_delete(sqlite3 *db, const struct model_table *t, const char *id, char *err, size_t errlen)
{
	if (t->flags & MODEL_TABLE_SERVER_ROWS)
		return domain_fail(err, errlen, RELAIS_EINVAL, "%s est tenu par le serveur ; il ne se "
			    "supprime pas ici.", t->label);
	int exists = 0, rc = domain_row_exists(db, t->name, id, &exists);
	if (rc)
		return rc;
	if (!exists)
		return domain_fail(err, errlen, RELAIS_ENOTFOUND, "%s « %s » est introuvable.", t->label, id);
	struct domain_watch watch;
	char today[DOMAIN_DATE_LEN + 1];
	if ((rc = domain_watch_before(db, t, id, NULL, 0, 1, &watch)))
		return rc;
	char *sql = sqlite3_mprintf("DELETE FROM \"%w\" WHERE id = ?1", t->name);
	if (!sql)
		return RELAIS_ENOMEM;
	const char *p[] = { id };
	rc = domain_run(db, sql, 1, p, err, errlen);
	sqlite3_free(sql);
	domain_today(today);
	if (!rc)
		rc = domain_watch_after(db, &watch, today, err, errlen);
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
