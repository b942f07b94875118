/*
 * demo.c - fictitious data for the demonstration département "99".
 *
 * Rows are described as (column, value) pairs and written with SQL built
 * from model/, so a column added to the model later does not break the demo:
 * a required column that the demo does not know gets a plausible value of
 * its kind.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../common/buf.h"
#include "../common/util.h"
#include "../model/domain.h"
#include "../model/model.h"
#include "../sync/sync.h"
#include "demo.h"

struct demo_value {
	const char *col;
	const char *val;
};

#define MAXV 8

struct demo_row {
	const char *table;
	int ref;               /* index in rows[] of the row referenced by refcol, or -1 */
	struct demo_value v[MAXV];
	const char *refcol;    /* the reference column; NULL: "structure" */
};

static const struct demo_row rows[] = {
	{ "structure", -1, { { "nom", "Centre social Les Tilleuls" }, { "type", "centre_social" },
			     { "commune", "Aurillac" }, { "code_postal", "15000" },
			     { "convention_statut", "signee" } }, NULL },
	{ "structure", -1, { { "nom", "MJC du Plateau" }, { "type", "mjc" },
			     { "commune", "Saint-Flour" }, { "convention_statut", "en_preparation" } }, NULL },
	{ "structure", -1, { { "nom", "Point information jeunesse de la Vallée" }, { "type", "pij" },
			     { "commune", "Mauriac" } }, NULL },
	{ "promeneur", 0, { { "prenom", "Camille" }, { "nom", "Martin" },
			    { "email", "camille.martin@example.org" }, { "telephone", "0601020304" },
			    { "public", "jeunesse" }, { "statut", "labellise" },
			    { "formation_initiale", "1" }, { "heures_hebdo", "3" } }, NULL },
	{ "promeneur", 0, { { "prenom", "Karim" }, { "nom", "Benali" },
			    { "email", "karim.benali@example.org" }, { "public", "parentalite" },
			    { "statut", "candidat" } }, NULL },
	{ "promeneur", 1, { { "prenom", "Léa" }, { "nom", "Dubois" },
			    { "email", "lea.dubois@example.org" }, { "statut", "labellise" },
			    { "heures_hebdo", "2" } }, NULL },
	{ "promeneur", 2, { { "prenom", "Thomas" }, { "nom", "Petit" },
			    { "email", "thomas.petit@example.org" }, { "statut", "suspendu" } }, NULL },
	{ "partenaire", -1, { { "nom", "Caisse d'allocations familiales (démonstration)" },
			      { "type", "caf" }, { "relation", "partenaire" },
			      { "partenariat", "Convention de financement et d'animation du réseau" } }, NULL },
	{ "partenaire", -1, { { "nom", "Maison de quartier des Prés" }, { "type", "structure" },
			      { "relation", "prospect" }, { "commune", "Arpajon-sur-Cère" } }, NULL },
	{ "contact", 7, { { "prenom", "Nadia" }, { "nom", "Roche" },
			  { "fonction", "Conseillère technique" } }, "partenaire" },
	{ "request", 3, { { "sujet", "juridique" },
			  { "question", "Droit à l'image : puis-je publier la photo d'un atelier ?" } },
	  "promeneur" },
	{ "event", -1, { { "type", "comite_pilotage" }, { "titre", "Comité de pilotage de printemps" },
			 { "ordre_du_jour", "Bilan de l'année ; candidatures ; plan de formation" } }, NULL },
	{ "need", 5, { { "theme", "Prévention du cyberharcèlement" }, { "origine", "échange de pratiques" } },
	  "promeneur" },
};

#define NROWS (sizeof(rows) / sizeof(rows[0]))

static const char *given(const struct demo_row *r, const char *col)
{
	for (size_t i = 0; i < MAXV && r->v[i].col; i++)
		if (!strcmp(r->v[i].col, col))
			return r->v[i].val;
	return NULL;
}

/* A value for a required column the demo rows do not name. */
static const char *fallback(const struct model_column *c, char *tmp, size_t tmplen)
{
	switch (c->kind) {
	case MODEL_INT:
		snprintf(tmp, tmplen, "%lld", c->min);
		return tmp;
	case MODEL_BOOL:
		return "0";
	case MODEL_DATE:
		util_iso8601(util_now_ms(), tmp);
		tmp[10] = 0;
		return tmp;
	case MODEL_EMAIL:
		return "demo@example.org";
	case MODEL_PHONE:
		return "0600000000";
	case MODEL_URL:
		return "https://example.org/";
	case MODEL_ENUM:
		return c->values && c->values[0] ? c->values[0] : "";
	case MODEL_TEXT:
	case MODEL_REF:
		return "Démonstration";
	}
	return "";
}

/*
 * Writes demo row r through the domain layer, as a coordinator would: a
 * promeneur shown suspended is created labelled, then suspended. Its new id
 * goes to id.
 */
static int insert_row(sqlite3 *db, const struct demo_row *r, char id[UTIL_UUID_LEN + 1],
		      const char *ref_id, char *err, size_t errlen)
{
	const struct model_table *t = model_table_by_name(r->table);
	struct domain_value *v = NULL;
	struct domain_result res;
	char (*norm)[512] = NULL, today[DOMAIN_DATE_LEN + 1];
	int rc = 0, suspend = 0;
	size_t n = 0;

	if (!t) {
		snprintf(err, errlen, "Table « %s » absente du modèle.", r->table);
		return RELAIS_ESCHEMA;
	}
	norm = calloc(t->ncolumns, sizeof(*norm));
	v = calloc(t->ncolumns, sizeof(*v));
	if (!norm || !v) {
		rc = RELAIS_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < t->ncolumns; i++) {
		const struct model_column *c = &t->columns[i];
		char tmp[64], cerr[256];
		const char *val = given(r, c->name);
		if (!val && c->kind == MODEL_REF && ref_id &&
		    !strcmp(c->name, r->refcol ? r->refcol : "structure"))
			val = ref_id;
		if (!val && (c->flags & MODEL_REQUIRED))
			val = fallback(c, tmp, sizeof(tmp));
		if (!val)
			continue;
		if (!strcmp(c->name, "statut") && !strcmp(val, "suspendu")) {
			suspend = 1;
			val = "labellise";
		}
		if (domain_check_value(db, c, val, norm[i], sizeof(norm[i]), cerr, sizeof(cerr))) {
			snprintf(err, errlen, "Donnée de démonstration refusée : %s", cerr);
			rc = RELAIS_EINVAL;
			goto out;
		}
		v[n++] = (struct domain_value){ c, norm[i][0] ? norm[i] : NULL };
	}
	domain_today(today);
	rc = domain_write(db, t, NULL, DEMO_DEPT, v, n, today, &res, err, errlen);
	if (!rc && suspend)
		rc = domain_suspend(db, res.id, "Suspension de démonstration : absence prolongée.", today,
				    NULL, &res, err, errlen);
	if (!rc)
		memcpy(id, res.id, UTIL_UUID_LEN + 1);
out:
	if (rc && !*err)
		snprintf(err, errlen, "Impossible d'écrire les données de démonstration : %s.",
			 relais_strerror(rc));
	free(v);
	free(norm);
	return rc;
}

int demo_populate(struct store *st, char token[AUTH_TOKEN_LEN + 1], char *err, size_t errlen)
{
	char ids[NROWS][UTIL_UUID_LEN + 1];
	struct sync_local *l = NULL;
	int rc = 0;
	*err = 0;
	sqlite3 *db = store_writer_acquire(st);
	rc = sync_local_begin(db, store_tables(st), &l);
	if (rc)
		goto out;
	/* The account shares the rows' transaction: a failed demo leaves
	 * neither behind. The session ignores the account table. */
	rc = auth_user_add(db, DEMO_LOGIN, DEMO_DEPT, "coordinateur", token, err, errlen);
	for (size_t i = 0; i < NROWS && !rc; i++) {
		rc = insert_row(db, &rows[i], ids[i], rows[i].ref >= 0 ? ids[rows[i].ref] : NULL,
				err, errlen);
	}
	if (rc) {
		sync_local_abort(l);
		goto out;
	}
	rc = sync_local_commit(l, DEMO_LOGIN);
out:
	store_writer_release(st);
	if (rc && !*err)
		snprintf(err, errlen, "Impossible de créer les données de démonstration : %s.",
			 relais_strerror(rc));
	return rc;
}
