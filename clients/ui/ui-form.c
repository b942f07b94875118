/*
 * ui-form.c - what the screens of relais ui share over the replica (ui.h):
 * a column's text, the choices of a select, a table of a statement's rows,
 * the titles of rows, the values of a form read and checked, the one
 * captured write through the domain layer (ui_domain_write), and the fields
 * written from the model's descriptions.
 *
 * Forms are written from the model's descriptions (labels, kinds,
 * enumerations, references) and checked with model_check_value(), the same
 * rules as the command line. Writes are one captured local edit each
 * (sync_capture_begin/commit), like the CLI's, queued for the next sync.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../../sync/sync.h"
#include "ui-html.h"
#include "ui.h"

#define MAX_REF_OPTIONS 5000

/* ---- words ---- */

const char *ui_value_label(const char *value)
{
	return model_value_label(value);
}

const char *ui_col_text(sqlite3_stmt *st, int i)
{
	const char *s = (const char *)sqlite3_column_text(st, i);
	return s ? s : "";
}

int ui_options_add(struct ui_options *o, const char *value, const char *label)
{
	if (o->n == o->alloc) {
		/* Both arrays grow together; alloc counts what both hold. */
		size_t alloc = o->alloc;
		char **v = util_grow(o->values, &alloc, o->n, sizeof(*v)), **l = NULL;
		if (v) {
			o->values = v;
			l = realloc(o->labels, alloc * sizeof(*l));
		}
		if (!l)
			return RELAIS_ENOMEM;
		o->labels = l;
		o->alloc = alloc;
	}
	o->values[o->n] = strdup(value);
	o->labels[o->n] = strdup(label);
	if (!o->values[o->n] || !o->labels[o->n]) {
		free(o->values[o->n]);
		free(o->labels[o->n]);
		return RELAIS_ENOMEM;
	}
	o->n++;
	return 0;
}

int ui_options_select(struct ui_options *o, sqlite3 *db, const char *sql, const char *key,
		      size_t max)
{
	sqlite3_stmt *st = NULL;
	int rc = 0, s = SQLITE_DONE;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return RELAIS_EDB;
	if (key)
		sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
	for (size_t k = 0; !rc && k < max && (s = sqlite3_step(st)) == SQLITE_ROW; k++)
		rc = ui_options_add(o, ui_col_text(st, 0), ui_col_text(st, 1));
	sqlite3_finalize(st);
	return rc ? rc : s == SQLITE_DONE || s == SQLITE_ROW ? 0 : RELAIS_EDB;
}

void ui_options_release(struct ui_options *o)
{
	for (size_t i = 0; i < o->n; i++) {
		free(o->values[i]);
		free(o->labels[i]);
	}
	free(o->values);
	free(o->labels);
	memset(o, 0, sizeof(*o));
}

int ui_table_rows(struct ui_ctx *c, sqlite3_stmt *st, const struct ui_table *t)
{
	int n = 0, rc = 0, s;
	while (!rc && (s = sqlite3_step(st)) == SQLITE_ROW) {
		if (!n++)
			html_table_begin(c->out, t->caption, t->heads);
		rc = t->row(c, st, t->arg);
	}
	sqlite3_finalize(st);
	if (rc)
		return rc;
	if (s != SQLITE_DONE)
		return RELAIS_EDB;
	if (n)
		return html_table_end(c->out);
	return html_tag(c->out, "p", t->empty);
}

static int col_live(const struct model_column *c)
{
	return c->since <= MODEL_SCHEMA_VERSION;
}

/* ---- titles ---- */

static const struct {
	const char *table, *expr;
} title_exprs[] = {
	{ "structure", "nom || coalesce(' (' || commune || ')', '')" },
	{ "promeneur", "coalesce(prenom || ' ', '') || coalesce(nom, '')" },
	{ "event", "titre || coalesce(' (' || strftime('%d/%m/%Y', date) || ')', '')" },
	{ "presence", "reseau || ' : ' || nom_profil" },
	{ "candidature", "'Candidature' || coalesce(' de ' || (SELECT p.prenom || ' ' || p.nom FROM "
	  "promeneur p WHERE p.id = candidature.promeneur), '') || coalesce(' déposée le ' || "
	  "strftime('%d/%m/%Y', date_depot), '')" },
	{ "bilan", "'Bilan ' || annee || CASE periode WHEN 'semestre1' THEN ' (1er semestre)' "
	  "WHEN 'semestre2' THEN ' (2e semestre)' ELSE '' END" },
	{ "request", "'Demande' || coalesce(' du ' || strftime('%d/%m/%Y', date_demande), '') || "
	  "coalesce(' : ' || substr(replace(question, char(10), ' '), 1, 60), '')" },
	{ "resource", "nom || coalesce(' (' || organisme || ')', '')" },
	{ "partenaire", "nom || coalesce(' (' || commune || ')', '')" },
	{ "contact", "coalesce(prenom || ' ', '') || nom || coalesce(' (' || (SELECT x.nom FROM "
	  "partenaire x WHERE x.id = contact.partenaire) || ')', '')" },
	{ "procedure", "CASE nature WHEN 'suspension' THEN 'Suspension' ELSE 'Délabellisation' END "
	  "|| coalesce(' du ' || strftime('%d/%m/%Y', coalesce(date_signalement, date_debut)), '')" },
	{ "task", "libelle" },
	{ "need", "theme" },
	{ "inbound_mail", "coalesce(sujet, '(sans objet)')" },
	{ "directory_change", "'Annuaire national : ' || nature || coalesce(' du ' || "
	  "strftime('%d/%m/%Y', date), '')" },
	{ "attendance", "'Participation : ' || coalesce((SELECT e.titre || ' (' || "
	  "strftime('%d/%m/%Y', e.date) || ')' FROM event e WHERE e.id = attendance.event), '?')" },
	{ "guest", "'Invitation : ' || coalesce((SELECT e.titre FROM event e WHERE "
	  "e.id = guest.event), '?')" },
	{ "decision", "'Décision du comité' || coalesce(' du ' || strftime('%d/%m/%Y', date_comite), "
	  "'')" },
};

const char *ui_title_sql(const char *table)
{
	for (size_t i = 0; i < sizeof(title_exprs) / sizeof(title_exprs[0]); i++)
		if (!strcmp(title_exprs[i].table, table))
			return title_exprs[i].expr;
	return "id";
}

char *ui_row_title(struct ui_ctx *c, const char *table, const char *id)
{
	const struct model_table *t = model_table_by_name(table);
	char sql[512];
	sqlite3_stmt *st = NULL;
	char *title = NULL;
	if (!t || !id)
		return NULL;
	snprintf(sql, sizeof(sql), "SELECT %s FROM \"%s\" WHERE id = ?", ui_title_sql(t->name), t->name);
	if (sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) != SQLITE_OK)
		return NULL;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) == SQLITE_ROW)
		title = strdup(*ui_col_text(st, 0) ? ui_col_text(st, 0) : id);
	sqlite3_finalize(st);
	return title;
}

/* ---- form values ---- */

void ui_form_values_release(struct ui_form_values *fv)
{
	if (!fv || !fv->t)
		return;
	for (size_t i = 0; i < fv->t->ncolumns; i++) {
		if (fv->values)
			free(fv->values[i]);
		if (fv->errors)
			free(fv->errors[i]);
		if (fv->raw)
			free(fv->raw[i]);
	}
	free(fv->values);
	free(fv->errors);
	free(fv->raw);
	free(fv->given);
	memset(fv, 0, sizeof(*fv));
}

static int set_error(struct ui_form_values *fv, size_t i, const char *msg)
{
	free(fv->errors[i]);
	if (!(fv->errors[i] = strdup(msg)))
		return RELAIS_ENOMEM;
	fv->nerrors++;
	return 0;
}

/* A refusal of the domain layer, shown on the column whose label starts
 * its message (the first column of the form otherwise). */
static int refusal(struct ui_form_values *fv, const char *msg)
{
	size_t k = 0;
	for (size_t i = 0; i < fv->t->ncolumns; i++) {
		const char *label = fv->t->columns[i].label;
		size_t n = strlen(label);
		if (!strncmp(msg, label, n) && msg[n] == ' ') {
			k = i;
			break;
		}
	}
	int rc = set_error(fv, k, msg);
	return rc ? rc : RELAIS_EINVAL;
}

int ui_form_values_read(struct ui_ctx *c, const struct model_table *t, int creating,
			struct ui_form_values *fv)
{
	char *out = NULL;
	char err[REPLICA_ERRLEN];
	int rc = 0;
	memset(fv, 0, sizeof(fv[0]));
	fv->t = t;
	fv->values = calloc(t->ncolumns, sizeof(char *));
	fv->errors = calloc(t->ncolumns, sizeof(char *));
	fv->raw = calloc(t->ncolumns, sizeof(char *));
	fv->given = calloc(t->ncolumns, sizeof(int));
	out = malloc(MODEL_VALUE_MAX);
	if (!fv->values || !fv->errors || !fv->raw || !fv->given || !out) {
		rc = RELAIS_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < t->ncolumns && !rc; i++) {
		const struct model_column *col = &t->columns[i];
		if (!col_live(col))
			continue;
		const char *raw = ui_form(c, col->name);
		fv->given[i] = raw != NULL;
		if (!raw && !creating)
			continue;
		if (raw && !(fv->raw[i] = strdup(raw))) {
			rc = RELAIS_ENOMEM;
			break;
		}
		err[0] = 0;
		int e = domain_check_value(c->db, col, raw, out, MODEL_VALUE_MAX, err, sizeof(err));
		if (e == RELAIS_EINVAL) {
			rc = set_error(fv, i, err[0] ? err : "Valeur refusée.");
			continue;
		}
		if (e) {
			rc = e;
			break;
		}
		if (!out[0])
			continue;
		if (!(fv->values[i] = strdup(out)))
			rc = RELAIS_ENOMEM;
	}
out:
	free(out);
	return rc;
}

int ui_form_values_save(struct ui_ctx *c, struct ui_form_values *fv, const char *id,
			char id_out[UTIL_UUID_LEN + 1])
{
	const struct model_table *t = fv->t;
	struct domain_value *v = calloc(t->ncolumns ? t->ncolumns : 1, sizeof(*v));
	struct domain_result res;
	char err[DOMAIN_MSG_MAX] = "";
	size_t n = 0;
	int creating = id == NULL, rc;

	if (!v)
		return RELAIS_ENOMEM;
	if (c->read_only) {
		rc = RELAIS_EPERM;
		goto out;
	}
	if (fv->nerrors || (creating && !c->dept[0])) {
		rc = RELAIS_EINVAL;
		goto out;
	}
	for (size_t i = 0; i < t->ncolumns; i++)
		if (creating ? fv->values[i] != NULL : fv->given[i])
			v[n++] = (struct domain_value){ &t->columns[i], fv->values[i] };
	rc = ui_domain_write(c, t, id, v, n, &res, err, sizeof(err));
	if (rc) {
		if (rc == RELAIS_EINVAL)
			rc = refusal(fv, err);
		goto out;
	}
	snprintf(fv->note, sizeof(fv->note), "%s", res.note);
	if (creating && id_out)
		memcpy(id_out, res.id, UTIL_UUID_LEN + 1);
out:
	free(v);
	return rc;
}

int ui_domain_write(struct ui_ctx *c, const struct model_table *t, const char *id,
		    const struct domain_value *v, size_t n, struct domain_result *res, char *err,
		    size_t errlen)
{
	struct domain_result mine;
	struct sync_capture *cap = NULL;
	char today[DOMAIN_DATE_LEN + 1];
	int rc = sync_capture_begin(c->db, c->replica->tables, &cap);
	if (rc)
		return rc;
	if (!res)
		res = &mine;
	memset(res, 0, sizeof(*res));
	domain_today(today);
	rc = id && !v ? domain_delete(c->db, t, id, err, errlen)
		      : domain_write(c->db, t, id, id ? NULL : c->dept, v, n, today, res, err, errlen);
	if (rc) {
		sync_capture_abort(cap);
		return rc;
	}
	return sync_capture_commit(cap);
}

/* ---- fields ---- */

static const char *const bool_values[] = { "1", "0", NULL };
static const char *const bool_labels[] = { "oui", "non", NULL };

/* A select of the rows of table ref, by title. */
static int ref_field(struct ui_ctx *c, struct html_field *f, const struct model_column *col)
{
	char sql[512];
	struct ui_options o = { 0 };
	const struct model_table *rt = model_table_by_name(col->ref);
	if (!rt)
		return RELAIS_EINVAL;
	snprintf(sql, sizeof(sql), "SELECT id, %s AS t FROM \"%s\" ORDER BY t COLLATE NOCASE, id "
		 "LIMIT %d", ui_title_sql(rt->name), rt->name, MAX_REF_OPTIONS);
	int rc = ui_options_select(&o, c->db, sql, NULL, MAX_REF_OPTIONS);
	if (!rc) {
		f->type = HTML_SELECT;
		f->options = (const char *const *)o.values;
		f->option_labels = (const char *const *)o.labels;
		f->noptions = o.n;
		rc = html_field(c->out, f);
	}
	ui_options_release(&o);
	return rc;
}

int ui_model_field(struct ui_ctx *c, const struct model_table *t,
		   const struct model_column *col, const char *value, const char *error)
{
	struct html_field f = {
		.name = col->name,
		.label = col->label,
		.value = value,
		.error = error,
		.required = (col->flags & MODEL_REQUIRED) != 0,
	};
	const char *labels[64];
	(void)t;
	switch (col->kind) {
	case MODEL_TEXT:
		f.type = col->flags & MODEL_MULTILINE ? HTML_TEXTAREA : HTML_TEXT;
		if (col->flags & MODEL_POSTCODE)
			f.hint = "5 chiffres, par exemple 43000.";
		break;
	case MODEL_INT:
		f.type = HTML_NUMBER;
		f.min = col->min;
		f.max = col->max;
		break;
	case MODEL_BOOL:
		f.type = HTML_SELECT;
		f.options = bool_values;
		f.option_labels = bool_labels;
		break;
	case MODEL_DATE:
		f.type = HTML_DATE;
		break;
	case MODEL_EMAIL:
		f.type = HTML_EMAIL;
		break;
	case MODEL_PHONE:
		f.type = HTML_TEL;
		f.hint = "Par exemple 04 71 00 00 00.";
		break;
	case MODEL_URL:
		f.type = HTML_TEXT;
		f.hint = "Adresse web, par exemple https://exemple.fr.";
		break;
	case MODEL_ENUM: {
		size_t n = 0;
		while (col->values && col->values[n] && n < sizeof(labels) / sizeof(labels[0]) - 1) {
			labels[n] = ui_value_label(col->values[n]);
			n++;
		}
		labels[n] = NULL;
		f.type = HTML_SELECT;
		f.options = col->values;
		f.option_labels = labels;
		f.noptions = n;
		break;
	}
	case MODEL_REF:
		return ref_field(c, &f, col);
	}
	return html_field(c->out, &f);
}
