/*
 * procedure.c - the procedures of the livret and the national directory
 * (domain.h): délabellisation step by step, suspension and reinstatement,
 * the tasks of a withdrawal, what the directory shows and its publication.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../common/buf.h"
#include "../common/util.h"
#include "domain_int.h"

#define TEXT_APPEND_MAX 8000

/* ---- the national directory ---- */

/* Appends to out (", "-separated fields) those of add it lacks. */
static void champs_add(char *out, size_t outlen, const char *add)
{
	while (add && *add) {
		const char *end = strstr(add, ", ");
		size_t n = end ? (size_t)(end - add) : strlen(add);
		const char *p = out;
		int found = 0;
		while (*p && !found) {
			const char *e = strstr(p, ", ");
			size_t m = e ? (size_t)(e - p) : strlen(p);
			found = m == n && !strncmp(p, add, n);
			p = e ? e + 2 : p + m;
		}
		size_t len = strlen(out);
		if (!found && len + n + 3 < outlen)
			snprintf(out + len, outlen - len, "%s%.*s", len ? ", " : "", (int)n, add);
		add = end ? end + 2 : add + n;
	}
}

int domain_directory_change(sqlite3 *db, const char *dept, const char *promeneur,
			    const char *nature, const char *date, const char *champs,
			    char *err, size_t errlen)
{
	char id[UTIL_UUID_LEN + 1];
	int rc;
	if (!strcmp(nature, "modification")) {
		char *pending[3];
		rc = domain_row_texts(db, "SELECT id, nature, champs FROM directory_change "
				      "WHERE promeneur = ?1 AND coalesce(transmis, 0) = 0 AND nature IN "
				      "('ajout', 'modification') ORDER BY nature = 'ajout' DESC LIMIT 1",
				      promeneur, pending, 3);
		if (rc == 0) {
			/* An addition still to send carries today's values anyway; a
			 * modification gathers the fields and takes the later date. */
			if (strcmp(pending[1], "ajout")) {
				char merged[512];
				snprintf(merged, sizeof(merged), "%s", pending[2] ? pending[2] : "");
				champs_add(merged, sizeof(merged), champs);
				const char *p[] = { merged, pending[0], date };
				rc = domain_run(db, "UPDATE directory_change SET champs = ?1, "
						"date = max(date, ?3) WHERE id = ?2", 3, p, err, errlen);
			}
			domain_texts_free(pending, 3);
			return rc;
		}
		if (rc != RELAIS_ENOTFOUND)
			return rc;
	}
	if ((rc = util_uuid(id)))
		return rc;
	const char *p[] = { id, dept, promeneur, nature, date, champs };
	return domain_run(db, "INSERT INTO directory_change (id, dept, promeneur, nature, date, "
			  "transmis, champs) VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6)", 6, p, err, errlen);
}

/* The fields of a promeneur that the national directory shows. */
static const char *const shown_fields[] = { "prenom", "nom", "email", "telephone", "structure",
					    "public", NULL };

static int is_shown(const char *col)
{
	for (size_t i = 0; shown_fields[i]; i++)
		if (!strcmp(shown_fields[i], col))
			return 1;
	return 0;
}

/* Whether promeneur id is in the directory: labelled or suspended. */
static int in_directory(sqlite3 *db, const char *id, char dept[8], int *yes)
{
	char *p[2];
	int rc = domain_row_texts(db, "SELECT coalesce(statut, 'candidat'), dept FROM promeneur "
				  "WHERE id = ?1", id, p, 2);
	*yes = 0;
	if (rc == RELAIS_ENOTFOUND)
		return 0;
	if (rc)
		return rc;
	*yes = !strcmp(p[0], "labellise") || !strcmp(p[0], "suspendu");
	snprintf(dept, 8, "%s", p[1] ? p[1] : "");
	domain_texts_free(p, 2);
	return 0;
}

static void add_champ(struct domain_watch *w, const char *label)
{
	champs_add(w->champs, sizeof(w->champs), label);
}

int domain_watch_before(sqlite3 *db, const struct model_table *t, const char *id,
			const struct domain_value *v, size_t n, int deleting,
			struct domain_watch *w)
{
	int rc = 0, yes = 0, changes = 0;
	memset(w, 0, sizeof(*w));
	if (!strcmp(t->name, "promeneur") && id) {
		if ((rc = in_directory(db, id, w->dept, &yes)) || !yes)
			return rc;
		for (size_t i = 0; i < n && !rc; i++)
			if (is_shown(v[i].col->name) &&
			    !(rc = domain_value_changes(db, t, id, &v[i], &changes)) && changes)
				add_champ(w, v[i].col->label);
		if (!rc && w->champs[0])
			snprintf(w->promeneur, sizeof(w->promeneur), "%s", id);
		return rc;
	}
	if (!strcmp(t->name, "presence")) {
		/* Whose profile: the one the write names, else the row's. */
		char *who[1] = { NULL };
		for (size_t i = 0; i < n; i++)
			if (!strcmp(v[i].col->name, "promeneur") && v[i].val && !(who[0] = strdup(v[i].val)))
				return RELAIS_ENOMEM;
		if (!who[0] && id &&
		    (rc = domain_row_texts(db, "SELECT promeneur FROM presence WHERE id = ?1", id, who, 1)))
			return rc == RELAIS_ENOTFOUND ? 0 : rc;
		/* A new or deleted profile, or one whose values change. */
		changes = !id || deleting;
		for (size_t i = 0; i < n && !rc && !changes; i++)
			rc = domain_value_changes(db, t, id, &v[i], &changes);
		if (!rc && who[0] && changes && !(rc = in_directory(db, who[0], w->dept, &yes)) && yes) {
			snprintf(w->promeneur, sizeof(w->promeneur), "%s", who[0]);
			add_champ(w, "Présences en ligne");
		}
		free(who[0]);
		return rc;
	}
	if (!strcmp(t->name, "structure") && id) {
		for (size_t i = 0; i < n && !rc && !w->structure[0]; i++)
			if ((!strcmp(v[i].col->name, "nom") || !strcmp(v[i].col->name, "commune")) &&
			    !(rc = domain_value_changes(db, t, id, &v[i], &changes)) && changes)
				snprintf(w->structure, sizeof(w->structure), "%s", id);
	}
	return rc;
}

int domain_watch_after(sqlite3 *db, const struct domain_watch *w, const char *date,
		       char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int rc = 0, s;
	if (w->promeneur[0])
		return domain_directory_change(db, w->dept, w->promeneur, "modification", date,
					       w->champs, err, errlen);
	if (!w->structure[0])
		return 0;
	/* A structure renamed or moved: each of its promeneurs shown. */
	if (sqlite3_prepare_v2(db, "SELECT id, dept FROM promeneur WHERE structure = ?1 AND "
			       "statut IN ('labellise', 'suspendu')", -1, &st, NULL) != SQLITE_OK)
		return relais_sqlite_error(sqlite3_errcode(db));
	sqlite3_bind_text(st, 1, w->structure, -1, SQLITE_STATIC);
	while (!rc && (s = sqlite3_step(st)) == SQLITE_ROW) {
		char pid[DOMAIN_ID_LEN + 1], dept[8];
		snprintf(pid, sizeof(pid), "%s", (const char *)sqlite3_column_text(st, 0));
		snprintf(dept, sizeof(dept), "%s", (const char *)sqlite3_column_text(st, 1));
		rc = domain_directory_change(db, dept, pid, "modification", date, "Structure", err,
					     errlen);
	}
	if (!rc && s != SQLITE_DONE)
		rc = relais_sqlite_error(s);
	sqlite3_finalize(st);
	return rc;
}

int domain_directory_published(sqlite3 *db, const char *id, const char *date,
			       struct domain_result *res, char *err, size_t errlen)
{
	char *c[3];
	int rc = domain_row_texts(db, "SELECT coalesce(transmis, 0), coalesce(publie, 0), nature "
				  "FROM directory_change WHERE id = ?1", id, c, 3);
	if (rc == RELAIS_ENOTFOUND)
		return domain_fail(err, errlen, rc, "Le changement d'annuaire « %s » est introuvable.", id);
	if (rc)
		return rc;
	if (strcmp(c[0], "1"))
		rc = domain_fail(err, errlen, RELAIS_EINVAL, "Publié : le changement « %s » n'a pas "
				 "encore été transmis à l'annuaire national ; il est publié après sa "
				 "transmission.", id);
	else if (!strcmp(c[1], "1"))
		rc = domain_fail(err, errlen, RELAIS_EEXIST, "Le changement « %s » est déjà noté "
				 "comme publié.", id);
	if (!rc) {
		const char *p[] = { date, id };
		rc = domain_run(db, "UPDATE directory_change SET publie = 1, date_publication = ?1 "
				"WHERE id = ?2", 2, p, err, errlen);
	}
	if (!rc) {
		snprintf(res->id, sizeof(res->id), "%s", id);
		domain_note(res, "Changement d'annuaire (%s) publié le %s.", model_value_label(c[2]), date);
	}
	domain_texts_free(c, 3);
	return rc;
}

/* ---- procedures ---- */

int domain_read_person(sqlite3 *db, const char *id, char **p, char *err, size_t errlen)
{
	int rc = domain_row_texts(db, "SELECT coalesce(statut, 'candidat'), date_labellisation, "
				  "date_delabellisation, prenom || ' ' || nom, dept FROM promeneur "
				  "WHERE id = ?1", id, p, P_N);
	if (rc == RELAIS_ENOTFOUND)
		return domain_fail(err, errlen, rc, "Le promeneur « %s » est introuvable.", id);
	return rc;
}

/* The open procedure of promeneur of nature, into id ("" when none). */
static int open_procedure(sqlite3 *db, const char *promeneur, const char *nature,
			  char id[DOMAIN_ID_LEN + 1])
{
	char *sql = sqlite3_mprintf("SELECT id FROM procedure WHERE promeneur = ?1 AND nature = %Q "
				    "AND coalesce(etape, 'signalement') NOT IN ('retrait', 'terminee') "
				    "ORDER BY date_signalement DESC, id LIMIT 1", nature);
	char *found[1];
	int rc;
	id[0] = 0;
	if (!sql)
		return RELAIS_ENOMEM;
	rc = domain_row_texts(db, sql, promeneur, found, 1);
	sqlite3_free(sql);
	if (rc == RELAIS_ENOTFOUND)
		return 0;
	if (!rc)
		snprintf(id, DOMAIN_ID_LEN + 1, "%s", found[0]);
	domain_texts_free(found, 1);
	return rc;
}

static int new_procedure(sqlite3 *db, const char *dept, const char *promeneur, const char *nature,
			 const char *etape, const char *motif, const char *date,
			 char id[DOMAIN_ID_LEN + 1], char *err, size_t errlen)
{
	int rc = util_uuid(id);
	if (rc)
		return rc;
	const char *p[] = { id, dept, promeneur, nature, etape, motif, date };
	return domain_run(db, "INSERT INTO procedure (id, dept, promeneur, nature, etape, motif, "
			  "date_signalement) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)", 7, p, err, errlen);
}

int domain_report(sqlite3 *db, const char *promeneur, const char *motif, const char *date,
		  struct domain_result *res, char *err, size_t errlen)
{
	char *p[P_N], id[DOMAIN_ID_LEN + 1];
	int rc;
	if (!motif || !*motif)
		return domain_fail(err, errlen, RELAIS_EINVAL, "Motif (problème constaté) : "
				   "obligatoire pour ouvrir une procédure.");
	if ((rc = domain_read_person(db, promeneur, p, err, errlen)))
		return rc;
	if (strcmp(p[P_STATUT], "labellise") && strcmp(p[P_STATUT], "suspendu"))
		rc = domain_fail(err, errlen, RELAIS_EINVAL, "Statut : le promeneur « %s » est %s ; "
				 "une procédure de délabellisation concerne un promeneur labellisé "
				 "ou suspendu.", promeneur, model_value_label(p[P_STATUT]));
	if (!rc && !(rc = open_procedure(db, promeneur, "delabellisation", id)) && id[0])
		rc = domain_fail(err, errlen, RELAIS_EEXIST, "Une procédure est déjà ouverte pour ce "
				 "promeneur (« %s ») : complétez-la (relais procedure suivre %s).", id, id);
	if (!rc)
		rc = new_procedure(db, p[P_DEPT], promeneur, "delabellisation", "signalement", motif,
				   date, id, err, errlen);
	if (!rc) {
		snprintf(res->id, sizeof(res->id), "%s", id);
		domain_note(res, "Procédure ouverte pour %s le %s ; étape suivante : informer le "
			    "référent Caf.", p[P_NAME] ? p[P_NAME] : "?", date);
	}
	domain_texts_free(p, P_N);
	return rc;
}

enum { R_PROMENEUR, R_NATURE, R_ETAPE, R_CAF, R_MOTIF, R_DEPT, R_N };

/* Procedure id of a délabellisation still open, its columns into r. */
static int read_open(sqlite3 *db, const char *id, char **r, char *err, size_t errlen)
{
	int rc = domain_row_texts(db, "SELECT promeneur, nature, coalesce(etape, 'signalement'), "
				  "date_information_caf, motif, dept FROM procedure WHERE id = ?1",
				  id, r, R_N);
	if (rc == RELAIS_ENOTFOUND)
		return domain_fail(err, errlen, rc, "La procédure « %s » est introuvable.", id);
	if (rc)
		return rc;
	if (strcmp(r[R_NATURE], "delabellisation"))
		rc = domain_fail(err, errlen, RELAIS_EINVAL, "La procédure « %s » est une suspension ; "
				 "elle prend fin avec relais promeneur retablir.", id);
	else if (!strcmp(r[R_ETAPE], "retrait") || !strcmp(r[R_ETAPE], "terminee"))
		rc = domain_fail(err, errlen, RELAIS_EINVAL, "La procédure « %s » est décidée (étape "
				 "« %s ») : elle ne se modifie plus.", id, model_value_label(r[R_ETAPE]));
	if (rc)
		domain_texts_free(r, R_N);
	return rc;
}

/* Appends "JJ/MM/AAAA : text" as a new line of column col of procedure id. */
static int append_dated(sqlite3 *db, const char *id, const char *col, const char *text,
			const char *date, char *err, size_t errlen)
{
	char line[TEXT_APPEND_MAX + 16];
	if (strlen(text) > TEXT_APPEND_MAX)
		return domain_fail(err, errlen, RELAIS_EINVAL, "Texte trop long (%d caractères au plus).",
				   TEXT_APPEND_MAX);
	snprintf(line, sizeof(line), "%.2s/%.2s/%.4s : %s", date + 8, date + 5, date, text);
	char *sql = sqlite3_mprintf("UPDATE procedure SET \"%w\" = CASE WHEN \"%w\" IS NULL OR "
				    "\"%w\" = '' THEN ?1 ELSE \"%w\" || char(10) || ?1 END WHERE id = ?2",
				    col, col, col, col);
	if (!sql)
		return RELAIS_ENOMEM;
	const char *p[] = { line, id };
	int rc = domain_run(db, sql, 2, p, err, errlen);
	sqlite3_free(sql);
	return rc;
}

int domain_procedure_caf(sqlite3 *db, const char *id, const char *date,
			 struct domain_result *res, char *err, size_t errlen)
{
	char *r[R_N];
	int rc = read_open(db, id, r, err, errlen);
	if (rc)
		return rc;
	const char *p[] = { date, id };
	rc = domain_run(db, "UPDATE procedure SET date_information_caf = ?1 WHERE id = ?2", 2, p,
			err, errlen);
	if (!rc) {
		snprintf(res->id, sizeof(res->id), "%s", id);
		domain_note(res, "Référent Caf informé le %s ; étape suivante : convenir des mesures "
			    "d'accompagnement.", date);
	}
	domain_texts_free(r, R_N);
	return rc;
}

int domain_procedure_measures(sqlite3 *db, const char *id, const char *mesures, const char *date,
			      struct domain_result *res, char *err, size_t errlen)
{
	char *r[R_N];
	int rc;
	if (!mesures || !*mesures)
		return domain_fail(err, errlen, RELAIS_EINVAL, "Mesures d'accompagnement convenues : "
				   "décrivez-les.");
	if ((rc = read_open(db, id, r, err, errlen)))
		return rc;
	rc = append_dated(db, id, "mesures", mesures, date, err, errlen);
	if (!rc) {
		const char *p[] = { id };
		rc = domain_run(db, "UPDATE procedure SET etape = 'accompagnement' WHERE id = ?1 AND "
				"coalesce(etape, 'signalement') <> 'accompagnement'", 1, p, err, errlen);
	}
	if (!rc) {
		snprintf(res->id, sizeof(res->id), "%s", id);
		domain_note(res, "Mesures d'accompagnement notées le %s (étape « accompagnement »).", date);
	}
	domain_texts_free(r, R_N);
	return rc;
}

int domain_procedure_follow(sqlite3 *db, const char *id, const char *suivi, const char *date,
			    struct domain_result *res, char *err, size_t errlen)
{
	char *r[R_N];
	int rc;
	if (!suivi || !*suivi)
		return domain_fail(err, errlen, RELAIS_EINVAL, "Suivi des mesures : décrivez-le.");
	if ((rc = read_open(db, id, r, err, errlen)))
		return rc;
	rc = append_dated(db, id, "suivi_mesures", suivi, date, err, errlen);
	if (!rc) {
		snprintf(res->id, sizeof(res->id), "%s", id);
		domain_note(res, "Suivi des mesures noté le %s.", date);
	}
	domain_texts_free(r, R_N);
	return rc;
}

int domain_procedure_decide(sqlite3 *db, const char *id, const char *decision, const char *date,
			    const char *until, struct domain_result *res, char *err, size_t errlen)
{
	char *r[R_N];
	int rc;
	if (!decision || (strcmp(decision, "maintien") && strcmp(decision, "suspension") &&
			  strcmp(decision, "delabellisation")))
		return domain_fail(err, errlen, RELAIS_EINVAL, "Décision : « %s » n'est pas une décision "
				   "de la procédure (maintien, suspension ou délabellisation).",
				   decision ? decision : "");
	if ((rc = read_open(db, id, r, err, errlen)))
		return rc;
	if (!r[R_CAF]) {
		rc = domain_fail(err, errlen, RELAIS_EINVAL, "Décision : elle se prend avec la Caf ; "
				 "notez d'abord que le référent Caf est informé (relais procedure "
				 "caf %s).", id);
		goto out;
	}
	const char *p[] = { decision, date, id };
	rc = domain_run(db, "UPDATE procedure SET decision = ?1, date_decision = ?2, etape = 'decision' "
			"WHERE id = ?3", 3, p, err, errlen);
	if (rc)
		goto out;
	snprintf(res->id, sizeof(res->id), "%s", id);
	if (!strcmp(decision, "maintien")) {
		const char *q[] = { id };
		rc = domain_run(db, "UPDATE procedure SET etape = 'terminee' WHERE id = ?1", 1, q, err,
				errlen);
		if (!rc)
			domain_note(res, "Décision prise avec la Caf le %s : maintien du label ; procédure "
				    "terminée.", date);
	} else if (!strcmp(decision, "suspension")) {
		const char *q[] = { id };
		rc = domain_suspend(db, r[R_PROMENEUR], r[R_MOTIF], date, until, res, err, errlen);
		if (!rc)
			rc = domain_run(db, "UPDATE procedure SET etape = 'terminee' WHERE id = ?1", 1, q,
					err, errlen);
	} else {
		rc = domain_delabel(db, r[R_PROMENEUR], r[R_MOTIF], date, res, err, errlen);
	}
	if (!rc)
		snprintf(res->id, sizeof(res->id), "%s", id);
out:
	domain_texts_free(r, R_N);
	return rc;
}

/* One task per online profile of promeneur, for procedure proc; returns
 * how many through *n. */
static int withdrawal_tasks(sqlite3 *db, const char *dept, const char *promeneur, const char *proc,
			    const char *date, int *n, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int rc = 0, s;
	*n = 0;
	if (sqlite3_prepare_v2(db, "SELECT id, reseau, nom_profil FROM presence WHERE promeneur = ?1 "
			       "ORDER BY reseau, nom_profil", -1, &st, NULL) != SQLITE_OK)
		return relais_sqlite_error(sqlite3_errcode(db));
	sqlite3_bind_text(st, 1, promeneur, -1, SQLITE_STATIC);
	while (!rc && (s = sqlite3_step(st)) == SQLITE_ROW) {
		char id[UTIL_UUID_LEN + 1], pres[DOMAIN_ID_LEN + 1];
		/* The profile's name cut by characters (substr), never inside one. */
		char *name = strdup((const char *)sqlite3_column_text(st, 2));
		snprintf(pres, sizeof(pres), "%s", (const char *)sqlite3_column_text(st, 0));
		if (!name || (rc = util_uuid(id))) {
			free(name);
			rc = rc ? rc : RELAIS_ENOMEM;
			break;
		}
		const char *p[] = { id, dept, name, promeneur, pres, proc, date,
				    model_value_label((const char *)sqlite3_column_text(st, 1)) };
		rc = domain_run(db, "INSERT INTO task (id, dept, libelle, promeneur, presence, procedure, "
				"echeance, faite) VALUES (?1, ?2, 'Retirer la mention Promeneurs du Net du "
				"profil « ' || substr(?3, 1, 400) || ' » (' || ?8 || ')', ?4, ?5, ?6, "
				"date(?7, '+30 days'), 0)", 8, p, err, errlen);
		free(name);
		if (!rc)
			(*n)++;
	}
	if (!rc && s != SQLITE_DONE)
		rc = relais_sqlite_error(s);
	sqlite3_finalize(st);
	return rc;
}

/* Ends the open suspension of promeneur on date, if any. */
static int end_suspension(sqlite3 *db, const char *promeneur, const char *date, char *err,
			  size_t errlen)
{
	const char *p[] = { date, promeneur };
	return domain_run(db, "UPDATE procedure SET etape = 'terminee', date_fin = CASE WHEN "
			  "date_fin IS NULL OR date_fin > ?1 THEN ?1 ELSE date_fin END WHERE promeneur = ?2 "
			  "AND nature = 'suspension' AND coalesce(etape, 'signalement') <> 'terminee'",
			  2, p, err, errlen);
}

int domain_delabel(sqlite3 *db, const char *id, const char *motif, const char *date,
		   struct domain_result *res, char *err, size_t errlen)
{
	char *p[P_N], proc[DOMAIN_ID_LEN + 1];
	int rc, tasks = 0;

	if (!motif || !*motif)
		return domain_fail(err, errlen, RELAIS_EINVAL, "Motif de délabellisation : obligatoire "
				   "pour délabelliser (relais promeneur delabelliser ID --motif TEXTE, ou "
				   "ce champ rempli avec le statut « délabellisé »).");
	if ((rc = domain_read_person(db, id, p, err, errlen)))
		return rc;
	if (!strcmp(p[P_STATUT], "delabellise"))
		rc = domain_fail(err, errlen, RELAIS_EINVAL, "Statut : le promeneur « %s » est déjà "
				 "délabellisé (le %s).", id, p[P_DATE_DELAB] ? p[P_DATE_DELAB] : "?");
	else if (strcmp(p[P_STATUT], "labellise") && strcmp(p[P_STATUT], "suspendu"))
		rc = domain_fail(err, errlen, RELAIS_EINVAL, "Statut : le promeneur « %s » n'est pas "
				 "labellisé (statut %s) : rien à retirer.", id,
				 model_value_label(p[P_STATUT]));
	else if (p[P_DATE_LAB] && strcmp(date, p[P_DATE_LAB]) < 0)
		rc = domain_fail(err, errlen, RELAIS_EINVAL, "Date de délabellisation : le %s précède la "
				 "labellisation (le %s).", date, p[P_DATE_LAB]);
	if (!rc) {
		const char *up[] = { date, motif, id };
		rc = domain_run(db, "UPDATE promeneur SET statut = 'delabellise', date_delabellisation = ?1, "
				"motif_delabellisation = ?2 WHERE id = ?3", 3, up, err, errlen);
	}
	if (!rc)
		rc = domain_directory_change(db, p[P_DEPT], id, "retrait", date, NULL, err, errlen);
	if (!rc)
		rc = end_suspension(db, id, date, err, errlen);
	/* The procedure reaches its withdrawal: the open one, else one made now
	 * (a decision recorded in one go). */
	if (!rc)
		rc = open_procedure(db, id, "delabellisation", proc);
	if (!rc && !proc[0])
		rc = new_procedure(db, p[P_DEPT], id, "delabellisation", "decision", motif, date, proc,
				   err, errlen);
	if (!rc) {
		const char *up[] = { date, proc };
		rc = domain_run(db, "UPDATE procedure SET decision = 'delabellisation', etape = 'retrait', "
				"date_decision = coalesce(date_decision, ?1) WHERE id = ?2", 2, up, err,
				errlen);
	}
	if (!rc)
		rc = withdrawal_tasks(db, p[P_DEPT], id, proc, date, &tasks, err, errlen);
	if (!rc && !tasks) {
		const char *up[] = { date, proc };
		rc = domain_run(db, "UPDATE procedure SET etape = 'terminee', date_retrait = ?1 "
				"WHERE id = ?2", 2, up, err, errlen);
	}
	if (!rc) {
		snprintf(res->id, sizeof(res->id), "%s", id);
		domain_note(res, "Promeneur %s délabellisé le %s ; retrait à transmettre à "
			    "l'annuaire national.", p[P_NAME] ? p[P_NAME] : "?", date);
		if (tasks)
			domain_note(res, "%d tâche%s de retrait du nom du réseau sur ses profils.", tasks,
				    tasks > 1 ? "s" : "");
	}
	domain_texts_free(p, P_N);
	return rc;
}

int domain_suspend(sqlite3 *db, const char *id, const char *motif, const char *date,
		   const char *until, struct domain_result *res, char *err, size_t errlen)
{
	char *p[P_N], proc[DOMAIN_ID_LEN + 1];
	int rc;
	if (!motif || !*motif)
		return domain_fail(err, errlen, RELAIS_EINVAL, "Motif : obligatoire pour suspendre "
				   "(relais promeneur suspendre ID --motif TEXTE [--jusqu-au DATE]).");
	if (until && strcmp(until, date) < 0)
		return domain_fail(err, errlen, RELAIS_EINVAL, "Fin de la suspension : le %s précède "
				   "son début (le %s).", until, date);
	if ((rc = domain_read_person(db, id, p, err, errlen)))
		return rc;
	if (strcmp(p[P_STATUT], "labellise"))
		rc = domain_fail(err, errlen, RELAIS_EINVAL, "Statut : seul un promeneur labellisé peut "
				 "être suspendu (« %s » est %s).", id, model_value_label(p[P_STATUT]));
	if (!rc) {
		const char *up[] = { id };
		rc = domain_run(db, "UPDATE promeneur SET statut = 'suspendu' WHERE id = ?1", 1, up, err,
				errlen);
	}
	if (!rc)
		rc = new_procedure(db, p[P_DEPT], id, "suspension", "decision", motif, date, proc, err,
				   errlen);
	if (!rc) {
		const char *up[] = { date, until, proc };
		rc = domain_run(db, "UPDATE procedure SET decision = 'suspension', date_decision = ?1, "
				"date_debut = ?1, date_fin = ?2 WHERE id = ?3", 3, up, err, errlen);
	}
	if (!rc)
		rc = domain_directory_change(db, p[P_DEPT], id, "suspension", date, NULL, err, errlen);
	if (!rc) {
		snprintf(res->id, sizeof(res->id), "%s", id);
		if (until)
			domain_note(res, "Promeneur %s suspendu du %s au %s ; suspension à transmettre "
				    "à l'annuaire national.", p[P_NAME] ? p[P_NAME] : "?", date, until);
		else
			domain_note(res, "Promeneur %s suspendu le %s ; suspension à transmettre à "
				    "l'annuaire national.", p[P_NAME] ? p[P_NAME] : "?", date);
	}
	domain_texts_free(p, P_N);
	return rc;
}

int domain_reinstate(sqlite3 *db, const char *id, const char *date,
		     struct domain_result *res, char *err, size_t errlen)
{
	char *p[P_N];
	int rc = domain_read_person(db, id, p, err, errlen);
	if (rc)
		return rc;
	if (strcmp(p[P_STATUT], "suspendu"))
		rc = domain_fail(err, errlen, RELAIS_EINVAL, "Statut : seul un promeneur suspendu peut "
				 "être rétabli (« %s » est %s).", id, model_value_label(p[P_STATUT]));
	if (!rc) {
		const char *up[] = { id };
		rc = domain_run(db, "UPDATE promeneur SET statut = 'labellise' WHERE id = ?1", 1, up, err,
				errlen);
	}
	if (!rc)
		rc = end_suspension(db, id, date, err, errlen);
	if (!rc)
		rc = domain_directory_change(db, p[P_DEPT], id, "reprise", date, NULL, err, errlen);
	if (!rc) {
		snprintf(res->id, sizeof(res->id), "%s", id);
		domain_note(res, "Promeneur %s rétabli le %s ; reprise à transmettre à l'annuaire "
			    "national.", p[P_NAME] ? p[P_NAME] : "?", date);
	}
	domain_texts_free(p, P_N);
	return rc;
}

int domain_task_done(sqlite3 *db, const char *id, const char *date,
		     struct domain_result *res, char *err, size_t errlen)
{
	char *t[3];
	int rc = domain_row_texts(db, "SELECT coalesce(faite, 0), procedure, libelle FROM task "
				  "WHERE id = ?1", id, t, 3);
	if (rc == RELAIS_ENOTFOUND)
		return domain_fail(err, errlen, rc, "La tâche « %s » est introuvable.", id);
	if (rc)
		return rc;
	if (!strcmp(t[0], "1"))
		rc = domain_fail(err, errlen, RELAIS_EEXIST, "La tâche « %s » est déjà faite.", id);
	if (!rc) {
		const char *p[] = { date, id };
		rc = domain_run(db, "UPDATE task SET faite = 1, date_faite = ?1 WHERE id = ?2", 2, p, err,
				errlen);
	}
	if (!rc)
		domain_note(res, "Tâche faite le %s : %s.", date, t[2] ? t[2] : "");
	/* The last task of a withdrawal ends its procedure. */
	if (!rc && t[1]) {
		const char *p[] = { date, t[1] };
		rc = domain_run(db, "UPDATE procedure SET etape = 'terminee', date_retrait = ?1 "
				"WHERE id = ?2 AND etape = 'retrait' AND NOT EXISTS (SELECT 1 FROM task "
				"WHERE procedure = ?2 AND coalesce(faite, 0) = 0)", 2, p, err, errlen);
		if (!rc && sqlite3_changes(db) == 1)
			domain_note(res, "Dernière tâche du retrait : procédure terminée le %s.", date);
	}
	if (!rc)
		snprintf(res->id, sizeof(res->id), "%s", id);
	domain_texts_free(t, 3);
	return rc;
}
