/*
 * ui-procedures.c - the network's procedures in relais ui: the « Procédures »
 * and « Tâches » sections of a promeneur's page, the decisions of the comité
 * on a candidature's page, the CAF's confirmation that the national
 * directory shows a change, and the forms that move each of them one step.
 *
 * Every form here is described as data (struct wf_action: its fields, the
 * row its address names, the operation of the domain layer it runs), and
 * one handler serves them all: it checks every field, runs the operation as
 * one captured local edit (sync_capture_begin/commit) and redirects (303)
 * with what the operation did. The rules are the domain's (model/domain.h),
 * the same as « relais promeneur signaler », « relais procedure … »,
 * « relais candidature decider », « relais tache faite » and « relais
 * changement publie »: nothing here decides. A refused step comes back as
 * its form with the reason (422).
 *
 * Kept whole (over 800 lines): the sections of the pages offer the very
 * forms that the handler checks, both read from the one table of actions.
 */
#include <assert.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../../sync/sync.h"
#include "ui-html.h"
#include "ui.h"

#define WF_FIELDS 4

enum wf_kind {
	WF_DATE,     /* a date, today when left empty */
	WF_DATE_OPT, /* a date or nothing */
	WF_TEXT,     /* text checked by a model column */
	WF_CHOICE    /* one of choices, checked by a model column */
};

struct wf_field {
	const char *name, *label;
	enum wf_kind kind;
	int required;
	const char *table, *col;      /* the column that checks a text or a choice */
	const char *const *choices;   /* WF_CHOICE: the values offered */
	const char *hint;
};

typedef int (*wf_op)(sqlite3 *db, const char *id, char *const *v, struct domain_result *res,
		     char *err, size_t errlen);

/* One form: POST PREFIX ID "/" key, PREFIX from the table the id names. */
struct wf_action {
	const char *table;   /* "promeneur", "procedure", "task", "candidature" */
	const char *key;     /* the address's last segment */
	const char *title;   /* the form's heading, French */
	const char *button;
	const struct wf_field *fields;
	size_t nfields;
	wf_op op;
	const char *done;    /* the flash when the operation says nothing */
};

/* ---- the operations: each one call of the domain layer ---- */

static const char *opt(const char *v)
{
	return v && *v ? v : NULL;
}

static int op_report(sqlite3 *db, const char *id, char *const *v, struct domain_result *res,
		     char *err, size_t errlen)
{
	return domain_report(db, id, v[0], v[1], res, err, errlen);
}

static int op_suspend(sqlite3 *db, const char *id, char *const *v, struct domain_result *res,
		      char *err, size_t errlen)
{
	return domain_suspend(db, id, v[0], v[1], opt(v[2]), res, err, errlen);
}

static int op_reinstate(sqlite3 *db, const char *id, char *const *v, struct domain_result *res,
			char *err, size_t errlen)
{
	return domain_reinstate(db, id, v[0], res, err, errlen);
}

static int op_caf(sqlite3 *db, const char *id, char *const *v, struct domain_result *res,
		  char *err, size_t errlen)
{
	return domain_procedure_caf(db, id, v[0], res, err, errlen);
}

static int op_measures(sqlite3 *db, const char *id, char *const *v, struct domain_result *res,
		       char *err, size_t errlen)
{
	return domain_procedure_measures(db, id, v[0], v[1], res, err, errlen);
}

static int op_follow(sqlite3 *db, const char *id, char *const *v, struct domain_result *res,
		     char *err, size_t errlen)
{
	return domain_procedure_follow(db, id, v[0], v[1], res, err, errlen);
}

static int op_proc_decide(sqlite3 *db, const char *id, char *const *v, struct domain_result *res,
			  char *err, size_t errlen)
{
	return domain_procedure_decide(db, id, v[0], v[1], opt(v[2]), res, err, errlen);
}

static int op_task_done(sqlite3 *db, const char *id, char *const *v, struct domain_result *res,
			char *err, size_t errlen)
{
	return domain_task_done(db, id, v[0], res, err, errlen);
}

static int op_published(sqlite3 *db, const char *id, char *const *v, struct domain_result *res,
			char *err, size_t errlen)
{
	return domain_directory_published(db, id, v[0], res, err, errlen);
}

/* The comité decides on its day: the decision (and a labellisation) is
 * dated by the comité's date. */
static int op_decide(sqlite3 *db, const char *id, char *const *v, struct domain_result *res,
		     char *err, size_t errlen)
{
	return domain_decide(db, id, v[0], v[1], v[1], opt(v[2]), res, err, errlen);
}

/* ---- the forms ---- */

static const char *const proc_decisions[] = { "maintien", "suspension", "delabellisation", NULL };
static const char *const cand_decisions[] = { "acceptee", "refusee", "ajournee", NULL };

static const struct wf_field f_report[] = {
	{ "motif", "Problème constaté", WF_TEXT, 1, "procedure", "motif", NULL, NULL },
	{ "date", "Signalé le", WF_DATE, 1, NULL, NULL, NULL, NULL },
};
static const struct wf_field f_suspend[] = {
	{ "motif", "Motif de la suspension", WF_TEXT, 1, "procedure", "motif", NULL, NULL },
	{ "date", "Du", WF_DATE, 1, NULL, NULL, NULL, NULL },
	{ "jusqu_au", "Jusqu'au", WF_DATE_OPT, 0, NULL, NULL, NULL,
	  "Laissez vide pour une suspension sans date de fin (jusqu'au rétablissement)." },
};
static const struct wf_field f_date_reprise[] = {
	{ "date", "Rétabli le", WF_DATE, 1, NULL, NULL, NULL, NULL },
};
static const struct wf_field f_caf[] = {
	{ "date", "Référent Caf informé le", WF_DATE, 1, NULL, NULL, NULL, NULL },
};
static const struct wf_field f_measures[] = {
	{ "mesures", "Mesures d'accompagnement convenues", WF_TEXT, 1, "procedure", "mesures", NULL,
	  NULL },
	{ "date", "Convenues le", WF_DATE, 1, NULL, NULL, NULL, NULL },
};
static const struct wf_field f_follow[] = {
	{ "suivi", "Ce qui a été constaté", WF_TEXT, 1, "procedure", "suivi_mesures", NULL, NULL },
	{ "date", "Date du suivi", WF_DATE, 1, NULL, NULL, NULL, NULL },
};
static const struct wf_field f_proc_decide[] = {
	{ "decision", "Décision prise avec la Caf", WF_CHOICE, 1, "procedure", "decision",
	  proc_decisions, NULL },
	{ "date", "Décidée le", WF_DATE, 1, NULL, NULL, NULL, NULL },
	{ "jusqu_au", "Fin de la suspension", WF_DATE_OPT, 0, NULL, NULL, NULL,
	  "Pour une suspension seulement ; vide : sans date de fin." },
};
static const struct wf_field f_task[] = {
	{ "date", "Faite le", WF_DATE, 1, NULL, NULL, NULL, NULL },
};
static const struct wf_field f_decide[] = {
	{ "decision", "Décision", WF_CHOICE, 1, "candidature", "decision", cand_decisions, NULL },
	{ "date_comite", "Date du comité", WF_DATE, 1, NULL, NULL, NULL,
	  "Une candidature acceptée est labellisée à cette date." },
	{ "avis", "Avis du jury", WF_TEXT, 0, "candidature", "avis", NULL, NULL },
};

static const struct wf_field f_published[] = {
	{ "date", "Publié le", WF_DATE, 1, NULL, NULL, NULL,
	  "Le jour où le changement est visible sur le site national." },
};

#define FIELDS(f) (f), sizeof(f) / sizeof((f)[0])

static const struct wf_action wf_report = {
	"promeneur", "signaler", "Signaler un problème", "Ouvrir la procédure", FIELDS(f_report),
	op_report, "Procédure ouverte."
};
static const struct wf_action wf_suspend = {
	"promeneur", "suspendre", "Suspendre", "Suspendre", FIELDS(f_suspend), op_suspend,
	"Promeneur suspendu."
};
static const struct wf_action wf_reinstate = {
	"promeneur", "retablir", "Rétablir", "Rétablir", FIELDS(f_date_reprise), op_reinstate,
	"Promeneur rétabli."
};
static const struct wf_action wf_caf = {
	"procedure", "caf", "Informer le référent Caf", "Noter l'information", FIELDS(f_caf), op_caf,
	"Référent Caf informé."
};
static const struct wf_action wf_measures = {
	"procedure", "mesures", "Ajouter des mesures d'accompagnement", "Ajouter les mesures",
	FIELDS(f_measures), op_measures, "Mesures notées."
};
static const struct wf_action wf_follow = {
	"procedure", "suivi", "Ajouter un suivi des mesures", "Ajouter le suivi", FIELDS(f_follow),
	op_follow, "Suivi noté."
};
static const struct wf_action wf_proc_decide = {
	"procedure", "decider", "Décider avec la Caf", "Enregistrer la décision",
	FIELDS(f_proc_decide), op_proc_decide, "Décision enregistrée."
};
static const struct wf_action wf_task = {
	"task", "faite", "Marquer la tâche comme faite", "Faite", FIELDS(f_task), op_task_done,
	"Tâche faite."
};
static const struct wf_action wf_decide = {
	"candidature", "decider", "Décider", "Enregistrer la décision", FIELDS(f_decide), op_decide,
	"Décision enregistrée."
};

/* The one form a « caf » account is offered, and the one write it may post
 * (the server's policy lets it through, model_replica_may_write). */
static const struct wf_action wf_published = {
	"directory_change", "publier", "Confirmer la publication", "Confirmer la publication",
	FIELDS(f_published), op_published, "Publication confirmée."
};

/* The address of the rows of table, before their id. */
static const char *wf_prefix(const char *table)
{
	if (!strcmp(table, "promeneur"))
		return "/promeneurs/";
	if (!strcmp(table, "procedure"))
		return "/procedures/";
	if (!strcmp(table, "task"))
		return "/taches/";
	if (!strcmp(table, "directory_change"))
		return "/annuaire-national/";
	return "/fiches/candidature/";
}

/* The page to go back to after a form on row id: the person's, or the
 * candidature's; RELAIS_ENOTFOUND when the row is unknown. *back malloc'd. */
static int wf_back(struct ui_ctx *c, const char *table, const char *id, char **back)
{
	static const struct {
		const char *table, *sql;
	} backs[] = {
		{ "promeneur", "SELECT '/promeneurs/' || id FROM promeneur WHERE id = ?1" },
		{ "procedure", "SELECT '/promeneurs/' || promeneur FROM procedure WHERE id = ?1" },
		{ "task", "SELECT coalesce('/promeneurs/' || promeneur, '/') FROM task WHERE id = ?1" },
		{ "candidature", "SELECT '/fiches/candidature/' || id FROM candidature WHERE id = ?1" },
		{ "directory_change", "SELECT '/annuaire-national' FROM directory_change WHERE id = ?1" },
	};
	sqlite3_stmt *st = NULL;
	int rc = RELAIS_ENOTFOUND;
	*back = NULL;
	for (size_t i = 0; i < sizeof(backs) / sizeof(backs[0]); i++) {
		if (strcmp(backs[i].table, table))
			continue;
		if (sqlite3_prepare_v2(c->db, backs[i].sql, -1, &st, NULL) != SQLITE_OK)
			return RELAIS_EDB;
		sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
		int s = sqlite3_step(st);
		if (s == SQLITE_ROW && sqlite3_column_text(st, 0)) {
			*back = strdup((const char *)sqlite3_column_text(st, 0));
			rc = *back ? 0 : RELAIS_ENOMEM;
		} else if (s != SQLITE_DONE && s != SQLITE_ROW) {
			rc = RELAIS_EDB;
		}
		sqlite3_finalize(st);
		break;
	}
	return rc;
}

/*
 * Appends the form of a on row id. vals and errs (NULL for a fresh form)
 * hold what was sent and each field's message; a fresh form's dates say
 * today. The controls' ids carry the key and the row, so that several forms
 * live on one page.
 */
static int wf_form_to(struct ui_ctx *c, const struct wf_action *a, const char *id,
		      char *const *vals, char *const *errs, const char *retour)
{
	struct buf *b = c->out;
	char today[DOMAIN_DATE_LEN + 1];
	domain_today(today);
	buf_printf(b, "<form method=\"post\" novalidate class=\"etape-form\" action=\"%s%s/%s\">\n",
		   wf_prefix(a->table), id, a->key);
	ui_csrf_input(c);
	if (retour) {
		buf_puts(b, "<input type=\"hidden\" name=\"retour\" value=\"");
		buf_puts_html(b, retour);
		buf_puts(b, "\">\n");
	}
	for (size_t i = 0; i < a->nfields; i++) {
		const struct wf_field *wf = &a->fields[i];
		const char *labels[8];
		char fid[96];
		snprintf(fid, sizeof(fid), "%s-%s-%.8s", a->key, wf->name, id);
		struct html_field f = {
			.name = wf->name,
			.id = fid,
			.label = wf->label,
			.value = vals ? vals[i] : wf->kind == WF_DATE ? today : NULL,
			.error = errs ? errs[i] : NULL,
			.hint = wf->hint,
			.required = wf->required,
		};
		switch (wf->kind) {
		case WF_DATE:
		case WF_DATE_OPT:
			f.type = HTML_DATE;
			break;
		case WF_TEXT: {
			const struct model_column *col =
				model_column_by_name(model_table_by_name(wf->table), wf->col);
			f.type = col && (col->flags & MODEL_MULTILINE) ? HTML_TEXTAREA : HTML_TEXT;
			break;
		}
		case WF_CHOICE: {
			size_t n = 0;
			for (; wf->choices[n] && n < sizeof(labels) / sizeof(labels[0]) - 1; n++)
				labels[n] = ui_value_label(wf->choices[n]);
			labels[n] = NULL;
			f.type = HTML_SELECT;
			f.options = wf->choices;
			f.option_labels = labels;
			f.noptions = n;
			/* No choice made for the person: an empty first option. */
			f.required = 0;
			break;
		}
		}
		html_field(b, &f);
	}
	buf_printf(b, "<p><button type=\"submit\" class=\"principal\">%s</button></p>\n</form>\n",
		   a->button);
	return buf_error(b);
}

static int wf_form(struct ui_ctx *c, const struct wf_action *a, const char *id,
		   char *const *vals, char *const *errs)
{
	return wf_form_to(c, a, id, vals, errs, NULL);
}

/* A form in a disclosure, closed until the person opens it. */
static int wf_details(struct ui_ctx *c, const struct wf_action *a, const char *id)
{
	buf_puts(c->out, "<details class=\"etape\">\n<summary>");
	buf_puts_html(c->out, a->title);
	buf_puts(c->out, "</summary>\n");
	wf_form(c, a, id, NULL, NULL);
	return buf_puts(c->out, "</details>\n");
}

/* The form again, on a page of its own, with the reason it was refused:
 * a summary (general when the domain refused, else one line per field). */
static int wf_page(struct ui_ctx *c, const struct wf_action *a, const char *id, const char *back,
		   char *const *vals, char *const *errs, const char *general, int status)
{
	char *who = NULL, title[512];
	size_t n = 0;
	if (!strcmp(a->table, "promeneur") || !strcmp(a->table, "candidature"))
		who = ui_row_title(c, a->table, id);
	else if (!strncmp(back, "/promeneurs/", 12))
		who = ui_row_title(c, "promeneur", back + 12);
	snprintf(title, sizeof(title), "%s%s%s", a->title, who ? " : " : "", who ? who : "");
	free(who);
	ui_page_begin(c, title, "annuaire");
	for (size_t i = 0; i < a->nfields; i++)
		n += errs && errs[i] != NULL;
	buf_puts(c->out, "<div class=\"resume-erreurs\" role=\"alert\" tabindex=\"-1\" "
		 "id=\"resume-erreurs\">\n");
	if (general) {
		buf_puts(c->out, "<h2>Rien n'a été enregistré</h2>\n<p>");
		buf_puts_html(c->out, general);
		buf_puts(c->out, "</p>\n");
	} else {
		buf_printf(c->out, "<h2>%zu erreur%s à corriger</h2>\n<ul>\n", n, n > 1 ? "s" : "");
		for (size_t i = 0; i < a->nfields; i++) {
			if (!errs || !errs[i])
				continue;
			buf_printf(c->out, "<li><a href=\"#%s-%s-%.8s\">", a->key, a->fields[i].name, id);
			buf_puts_html(c->out, errs[i]);
			buf_puts(c->out, "</a></li>\n");
		}
		buf_puts(c->out, "</ul>\n");
	}
	buf_puts(c->out, "</div>\n");
	wf_form(c, a, id, vals, errs);
	buf_puts(c->out, "<p>");
	html_link(c->out, back, strncmp(back, "/annuaire-national", 18) ? "Retour à la fiche"
		  : "Retour à l'annuaire national");
	buf_puts(c->out, "</p>\n");
	ui_status(c, status);
	return ui_page_end(c);
}

/* Checks one field's raw value; *out is the value to pass (malloc'd, NULL
 * for nothing), *msg a French reason (malloc'd) when refused. */
static int wf_check(struct ui_ctx *c, const struct wf_field *wf, const char *raw, char **out,
		    char **msg)
{
	char err[DOMAIN_MSG_MAX] = "";
	char *val = malloc(MODEL_VALUE_MAX);
	int rc = 0;
	*out = *msg = NULL;
	if (!val)
		return RELAIS_ENOMEM;
	if (!raw || !*raw) {
		if (wf->kind == WF_DATE) {
			domain_today(val);
			*out = val;
			return 0;
		}
		free(val);
		if (!wf->required)
			return 0;
		snprintf(err, sizeof(err), "%s : %s", wf->label, wf->kind == WF_CHOICE
			 ? "choisissez une valeur." : "ce champ est obligatoire.");
		return (*msg = strdup(err)) ? 0 : RELAIS_ENOMEM;
	}
	if (wf->kind == WF_DATE || wf->kind == WF_DATE_OPT) {
		const struct model_column col = { .name = wf->name, .kind = MODEL_DATE,
						  .label = wf->label };
		rc = model_check_value(&col, raw, val, MODEL_VALUE_MAX, err, sizeof(err));
		if (!rc && strlen(val) != DOMAIN_DATE_LEN) {
			snprintf(err, sizeof(err), "%s : date attendue (JJ/MM/AAAA).", wf->label);
			rc = RELAIS_EINVAL;
		}
	} else {
		const struct model_column *col =
			model_column_by_name(model_table_by_name(wf->table), wf->col);
		if (!col) {
			free(val);
			return RELAIS_EINVAL;
		}
		rc = domain_check_value(c->db, col, raw, val, MODEL_VALUE_MAX, err, sizeof(err));
		if (!rc && wf->kind == WF_CHOICE) {
			int ok = 0;
			for (size_t k = 0; wf->choices[k]; k++)
				ok |= !strcmp(wf->choices[k], val);
			if (!ok) {
				snprintf(err, sizeof(err), "%s : choisissez l'un des choix proposés.",
					 wf->label);
				rc = RELAIS_EINVAL;
			}
		}
		if (!rc && !val[0] && wf->required) {
			snprintf(err, sizeof(err), "%s : ce champ est obligatoire.", wf->label);
			rc = RELAIS_EINVAL;
		}
	}
	if (rc == RELAIS_EINVAL || rc == RELAIS_ETOOBIG) {
		free(val);
		if (!err[0])
			snprintf(err, sizeof(err), "%s : valeur refusée.", wf->label);
		return (*msg = strdup(err)) ? 0 : RELAIS_ENOMEM;
	}
	if (rc) {
		free(val);
		return rc;
	}
	if (!val[0]) {
		free(val);
		return 0;
	}
	*out = val;
	return 0;
}

/* Runs a's operation on row id as one captured local edit. */
static int wf_run(struct ui_ctx *c, const struct wf_action *a, const char *id, char *const *v,
		  struct domain_result *res, char *err, size_t errlen)
{
	struct sync_capture *cap = NULL;
	int rc = sync_capture_begin(c->db, c->replica->tables, &cap);
	if (rc)
		return rc;
	memset(res, 0, sizeof(*res));
	rc = a->op(c->db, id, v, res, err, errlen);
	if (rc) {
		sync_capture_abort(cap);
		return rc;
	}
	return sync_capture_commit(cap);
}

static int wf_post(struct ui_ctx *c, const struct wf_action *a)
{
	const char *raw_id = ui_param(c, "id");
	char id[UTIL_UUID_LEN + 1], err[DOMAIN_MSG_MAX] = "";
	char *vals[WF_FIELDS] = { NULL }, *errs[WF_FIELDS] = { NULL }, *back = NULL;
	const char *raws[WF_FIELDS] = { NULL }, *back_to = NULL;
	struct domain_result res;
	size_t nerr = 0;
	int rc;

	assert(a->nfields <= WF_FIELDS);
	if (c->read_only && a != &wf_published)
		return RELAIS_EPERM;
	if (!raw_id || strlen(raw_id) != UTIL_UUID_LEN)
		return RELAIS_ENOTFOUND;
	for (size_t k = 0; k <= UTIL_UUID_LEN; k++)
		id[k] = (char)tolower((unsigned char)raw_id[k]);
	if (!util_is_uuid(id))
		return RELAIS_ENOTFOUND;
	if ((rc = wf_back(c, a->table, id, &back)))
		return rc;
	for (size_t i = 0; i < a->nfields && !rc; i++) {
		raws[i] = ui_form(c, a->fields[i].name);
		rc = wf_check(c, &a->fields[i], raws[i], &vals[i], &errs[i]);
		nerr += errs[i] != NULL;
	}
	if (rc)
		goto out;
	if (nerr) {
		rc = wf_page(c, a, id, back, (char *const *)raws, errs, NULL, 422);
		goto out;
	}
	rc = wf_run(c, a, id, vals, &res, err, sizeof(err));
	if (rc == RELAIS_EINVAL || rc == RELAIS_EEXIST || (rc == RELAIS_ENOTFOUND && err[0])) {
		rc = wf_page(c, a, id, back, (char *const *)raws, NULL,
			     err[0] ? err : "Opération refusée.", rc == RELAIS_EEXIST ? 409 : 422);
		goto out;
	}
	if (rc)
		goto out;
	/* The home page's buttons come back to it, the national directory's
	 * filtered list to itself. */
	const char *retour = ui_form(c, "retour");
	if (retour && (!strcmp(retour, "/") || !strcmp(retour, UI_DIRECTORY_TODO)))
		back_to = retour;
	rc = ui_redirect(c, back_to ? back_to : back,
			 res.note[0] ? res.note : a->done);
out:
	for (size_t i = 0; i < WF_FIELDS; i++) {
		free(vals[i]);
		free(errs[i]);
	}
	free(back);
	return rc;
}

static int post_report(struct ui_ctx *c) { return wf_post(c, &wf_report); }
static int post_suspend(struct ui_ctx *c) { return wf_post(c, &wf_suspend); }
static int post_reinstate(struct ui_ctx *c) { return wf_post(c, &wf_reinstate); }
static int post_caf(struct ui_ctx *c) { return wf_post(c, &wf_caf); }
static int post_measures(struct ui_ctx *c) { return wf_post(c, &wf_measures); }
static int post_follow(struct ui_ctx *c) { return wf_post(c, &wf_follow); }
static int post_proc_decide(struct ui_ctx *c) { return wf_post(c, &wf_proc_decide); }
static int post_task(struct ui_ctx *c) { return wf_post(c, &wf_task); }
static int post_decide(struct ui_ctx *c) { return wf_post(c, &wf_decide); }
static int post_published(struct ui_ctx *c) { return wf_post(c, &wf_published); }

/* ---- the sections of the pages ---- */

static int null_at(sqlite3_stmt *st, int i)
{
	return sqlite3_column_type(st, i) == SQLITE_NULL;
}

/* One step of a procedure: its label, then its date (column di, or -1)
 * and its text (column ti, or -1); "pas encore" when neither is there. */
static int step(struct buf *b, sqlite3_stmt *st, const char *label, int di, int ti)
{
	buf_puts(b, "<dt>");
	buf_puts_html(b, label);
	buf_puts(b, "</dt><dd>");
	int has_date = di >= 0 && !null_at(st, di), has_text = ti >= 0 && !null_at(st, ti);
	if (has_date)
		html_date_words(b, ui_col_text(st, di));
	if (has_text) {
		buf_puts(b, has_date ? " : <span class=\"multiligne\">" : "<span class=\"multiligne\">");
		buf_puts_html(b, ui_col_text(st, ti));
		buf_puts(b, "</span>");
	}
	if (!has_date && !has_text)
		buf_puts(b, "<span class=\"vide\">pas encore</span>");
	return buf_puts(b, "</dd>\n");
}

enum {
	P_ID, P_NATURE, P_ETAPE, P_MOTIF, P_SIGNAL, P_CAF, P_MESURES, P_SUIVI, P_DATE_DEC,
	P_DECISION, P_DEBUT, P_FIN, P_RETRAIT
};

#define PROCEDURES_SQL \
	"SELECT id, nature, coalesce(etape, 'signalement'), motif, date_signalement, " \
	"date_information_caf, mesures, suivi_mesures, date_decision, decision, date_debut, " \
	"date_fin, date_retrait FROM procedure WHERE promeneur = ?1 " \
	"ORDER BY coalesce(date_signalement, date_debut) DESC, id"

/* One procedure: its steps, dated, and the forms of its next step. */
static int procedure_html(struct ui_ctx *c, sqlite3_stmt *st, int n)
{
	struct buf *b = c->out;
	const char *id = ui_col_text(st, P_ID), *etape = ui_col_text(st, P_ETAPE);
	int delab = !strcmp(ui_col_text(st, P_NATURE), "delabellisation");
	int open = strcmp(etape, "retrait") && strcmp(etape, "terminee");
	buf_printf(b, "<article class=\"procedure\" aria-labelledby=\"proc-%d\">\n<h3 id=\"proc-%d\">",
		   n, n);
	buf_puts(b, delab ? "Délabellisation" : "Suspension");
	buf_puts(b, " <span class=\"etape-courante\">(étape : ");
	buf_puts_html(b, ui_value_label(etape));
	buf_puts(b, ")</span></h3>\n<dl class=\"etapes\">\n");
	if (delab) {
		step(b, st, "Problème signalé le", P_SIGNAL, P_MOTIF);
		step(b, st, "Référent Caf informé le", P_CAF, -1);
		step(b, st, "Mesures d'accompagnement", -1, P_MESURES);
		step(b, st, "Suivi des mesures", -1, P_SUIVI);
		buf_puts(b, "<dt>Décision prise avec la Caf</dt><dd>");
		if (null_at(st, P_DATE_DEC)) {
			buf_puts(b, "<span class=\"vide\">pas encore</span>");
		} else {
			buf_puts_html(b, ui_value_label(ui_col_text(st, P_DECISION)));
			buf_puts(b, ", le ");
			html_date_words(b, ui_col_text(st, P_DATE_DEC));
		}
		buf_puts(b, "</dd>\n");
		if (!strcmp(ui_col_text(st, P_DECISION), "delabellisation"))
			step(b, st, "Retrait achevé le", P_RETRAIT, -1);
	} else {
		step(b, st, "Motif", -1, P_MOTIF);
		step(b, st, "Suspendu le", P_DEBUT, -1);
		buf_puts(b, "<dt>Jusqu'au</dt><dd>");
		if (null_at(st, P_FIN))
			buf_puts(b, "<span class=\"vide\">sans date de fin</span>");
		else
			html_date_words(b, ui_col_text(st, P_FIN));
		buf_puts(b, "</dd>\n");
	}
	buf_puts(b, "</dl>\n");
	if (delab && open && !c->read_only) {
		/* The next step only: the CAF referent told first, then the
		 * measures and their follow-up, and the decision taken with the
		 * CAF once it knows. */
		buf_puts(b, "<div class=\"etapes-suivantes\">\n<h4>Étape suivante</h4>\n");
		if (null_at(st, P_CAF)) {
			wf_details(c, &wf_caf, id);
		} else {
			wf_details(c, &wf_measures, id);
			if (!strcmp(etape, "accompagnement"))
				wf_details(c, &wf_follow, id);
			wf_details(c, &wf_proc_decide, id);
		}
		buf_puts(b, "</div>\n");
	}
	return buf_puts(b, "</article>\n");
}

/* The person's statut and whether a délabellisation is open. */
static int person_state(struct ui_ctx *c, const char *id, char *statut, size_t len, int *open)
{
	sqlite3_stmt *st = NULL;
	int rc = RELAIS_ENOTFOUND;
	*open = 0;
	statut[0] = 0;
	if (sqlite3_prepare_v2(c->db, "SELECT coalesce(statut, 'candidat'), EXISTS (SELECT 1 FROM "
			       "procedure WHERE promeneur = ?1 AND nature = 'delabellisation' AND "
			       "coalesce(etape, 'signalement') NOT IN ('retrait', 'terminee')) "
			       "FROM promeneur WHERE id = ?1", -1, &st, NULL) != SQLITE_OK)
		return RELAIS_EDB;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) == SQLITE_ROW) {
		snprintf(statut, len, "%s", ui_col_text(st, 0));
		*open = sqlite3_column_int(st, 1);
		rc = 0;
	}
	sqlite3_finalize(st);
	return rc;
}

int ui_procedures_section(struct ui_ctx *c, const char *id)
{
	struct buf *b = c->out;
	sqlite3_stmt *st = NULL;
	char statut[32];
	int open, n = 0, s, rc = person_state(c, id, statut, sizeof(statut), &open);
	if (rc)
		return rc;
	buf_puts(b, "<section aria-labelledby=\"titre-procedures\" class=\"procedures\">\n"
		 "<h2 id=\"titre-procedures\">Procédures</h2>\n");
	if (sqlite3_prepare_v2(c->db, PROCEDURES_SQL, -1, &st, NULL) != SQLITE_OK)
		return RELAIS_EDB;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
	while ((s = sqlite3_step(st)) == SQLITE_ROW)
		procedure_html(c, st, n++);
	sqlite3_finalize(st);
	if (s != SQLITE_DONE)
		return RELAIS_EDB;
	if (!n)
		html_tag(b, "p", "Aucune procédure : ni signalement, ni suspension.");
	if (!c->read_only) {
		int labelled = !strcmp(statut, "labellise"), suspended = !strcmp(statut, "suspendu");
		if ((labelled || suspended) && !open)
			wf_details(c, &wf_report, id);
		if (labelled)
			wf_details(c, &wf_suspend, id);
		if (suspended)
			wf_details(c, &wf_reinstate, id);
	}
	buf_puts(b, "</section>\n");
	return buf_error(b);
}

/* A task's « Faite » button: the date is today's. */
static int task_button(struct ui_ctx *c, const char *id, const char *libelle, int home)
{
	struct buf *b = c->out;
	buf_printf(b, "<form method=\"post\" class=\"en-ligne\" action=\"/taches/%s/faite\">\n", id);
	ui_csrf_input(c);
	if (home)
		buf_puts(b, "<input type=\"hidden\" name=\"retour\" value=\"/\">\n");
	buf_puts(b, "<button type=\"submit\" aria-label=\"Marquer comme faite : ");
	buf_puts_html(b, libelle);
	return buf_puts(b, "\">Faite</button>\n</form>");
}

/* The tasks of the SQL (?1 bound by the caller): id, libelle, echeance,
 * faite, date_faite, then a link and its text for the person (or NULLs). */
static int tasks_table(struct ui_ctx *c, sqlite3_stmt *st, const char *caption, int with_person,
		       int home, size_t *count)
{
	static const char *const heads[] = { "Tâche", "Échéance", "État", NULL };
	static const char *const heads_p[] = { "Tâche", "Promeneur", "Échéance", "État", NULL };
	struct buf rows = BUF_INIT(UI_MAX_PAGE);
	struct buf *keep = c->out;
	char today[DOMAIN_DATE_LEN + 1];
	int s;
	domain_today(today);
	*count = 0;
	/* The buttons' forms are written by ui_csrf_input() into c->out: the
	 * rows are built there, in a buffer of their own. */
	c->out = &rows;
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		const char *id = ui_col_text(st, 0), *lib = ui_col_text(st, 1), *due = ui_col_text(st, 2);
		int done = sqlite3_column_int(st, 3);
		(*count)++;
		buf_puts(&rows, done ? "<tr class=\"faite\">" : "<tr>");
		html_row_head(&rows, lib, NULL);
		if (with_person) {
			buf_puts(&rows, "<td>");
			if (!null_at(st, 5))
				html_link(&rows, ui_col_text(st, 5), ui_col_text(st, 6));
			buf_puts(&rows, "</td>");
		}
		buf_puts(&rows, "<td>");
		if (*due) {
			html_date_words(&rows, due);
			if (!done && strcmp(due, today) < 0)
				buf_puts(&rows, " <strong class=\"retard\">(en retard)</strong>");
		} else {
			buf_puts(&rows, "<span class=\"vide\">sans échéance</span>");
		}
		buf_puts(&rows, "</td><td>");
		if (done) {
			buf_puts(&rows, "faite");
			if (!null_at(st, 4)) {
				buf_puts(&rows, " le ");
				html_date_words(&rows, ui_col_text(st, 4));
			}
		} else if (!c->read_only) {
			task_button(c, id, lib, home);
		} else {
			buf_puts(&rows, "à faire");
		}
		buf_puts(&rows, "</td></tr>\n");
	}
	c->out = keep;
	buf_fail(c->out, buf_error(&rows));
	if (s != SQLITE_DONE)
		buf_fail(c->out, RELAIS_EDB);
	if (*count) {
		html_table_begin(c->out, caption, with_person ? heads_p : heads);
		buf_append(c->out, rows.data, rows.len);
		html_table_end(c->out);
	}
	buf_release(&rows);
	return buf_error(c->out);
}

int ui_tasks_section(struct ui_ctx *c, const char *id)
{
	sqlite3_stmt *st = NULL;
	size_t n = 0;
	if (sqlite3_prepare_v2(c->db, "SELECT id, libelle, echeance, coalesce(faite, 0), date_faite, "
			       "NULL, NULL FROM task WHERE promeneur = ?1 ORDER BY coalesce(faite, 0), "
			       "echeance IS NULL, echeance, libelle, id", -1, &st, NULL) != SQLITE_OK)
		return RELAIS_EDB;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
	buf_puts(c->out, "<section aria-labelledby=\"titre-taches\">\n"
		 "<h2 id=\"titre-taches\">Tâches</h2>\n");
	int rc = tasks_table(c, st, "Tâches", 0, 0, &n);
	sqlite3_finalize(st);
	if (!rc && !n)
		html_tag(c->out, "p", "Aucune tâche.");
	buf_puts(c->out, "</section>\n");
	return rc ? rc : buf_error(c->out);
}

int ui_tasks_home(struct ui_ctx *c)
{
	sqlite3_stmt *st = NULL;
	size_t n = 0;
	if (sqlite3_prepare_v2(c->db, "SELECT t.id, t.libelle, t.echeance, 0, NULL, "
			       "CASE WHEN p.id IS NOT NULL THEN '/promeneurs/' || p.id END, "
			       "coalesce(p.prenom || ' ', '') || coalesce(p.nom, '') FROM task t "
			       "LEFT JOIN promeneur p ON p.id = t.promeneur WHERE coalesce(t.faite, 0) = 0 "
			       "ORDER BY t.echeance IS NULL, t.echeance, t.libelle, t.id", -1, &st,
			       NULL) != SQLITE_OK)
		return RELAIS_EDB;
	buf_puts(c->out, "<section class=\"rubrique\" aria-labelledby=\"titre-taches\">\n"
		 "<h3 id=\"titre-taches\">Tâches à faire</h3>\n");
	int rc = tasks_table(c, st, "Tâches à faire, la plus proche échéance d'abord", 1, 1, &n);
	sqlite3_finalize(st);
	if (!rc && !n)
		html_tag(c->out, "p", "Aucune tâche en attente.");
	buf_puts(c->out, "</section>\n");
	return rc ? rc : buf_error(c->out);
}

int ui_decisions_section(struct ui_ctx *c, const char *id)
{
	static const char *const heads[] = { "Décision", "Date du comité", "Avis du jury", NULL };
	struct buf *b = c->out;
	sqlite3_stmt *st = NULL;
	char decided[32] = "";
	size_t n = 0;
	int s;
	if (sqlite3_prepare_v2(c->db, "SELECT coalesce(decision, 'en_attente') FROM candidature "
			       "WHERE id = ?1", -1, &st, NULL) != SQLITE_OK)
		return RELAIS_EDB;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) == SQLITE_ROW)
		snprintf(decided, sizeof(decided), "%s", ui_col_text(st, 0));
	sqlite3_finalize(st);
	if (sqlite3_prepare_v2(c->db, "SELECT decision, date_comite, avis FROM decision "
			       "WHERE candidature = ?1 ORDER BY date_comite IS NULL, date_comite, rowid",
			       -1, &st, NULL) != SQLITE_OK)
		return RELAIS_EDB;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
	buf_puts(b, "<section aria-labelledby=\"titre-decisions\">\n"
		 "<h2 id=\"titre-decisions\">Décisions du comité</h2>\n");
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		if (!n++)
			html_table_begin(b, "Décisions successives, la plus ancienne d'abord", heads);
		buf_puts(b, "<tr>");
		html_row_head(b, ui_value_label(ui_col_text(st, 0)), NULL);
		buf_puts(b, "<td>");
		if (!null_at(st, 1))
			html_date_words(b, ui_col_text(st, 1));
		buf_puts(b, "</td><td><span class=\"multiligne\">");
		buf_puts_html(b, ui_col_text(st, 2));
		buf_puts(b, "</span></td></tr>\n");
	}
	sqlite3_finalize(st);
	if (s != SQLITE_DONE)
		return RELAIS_EDB;
	if (n)
		html_table_end(b);
	else
		html_tag(b, "p", "Aucune décision : la candidature attend le comité.");
	if (!c->read_only && strcmp(decided, "acceptee")) {
		buf_puts(b, "<h3>Décider</h3>\n");
		wf_form(c, &wf_decide, id, NULL, NULL);
	} else if (!strcmp(decided, "acceptee")) {
		html_tag(b, "p", "Candidature acceptée : la décision est définitive (un retrait du "
			 "label passe par une procédure de délabellisation).");
	}
	buf_puts(b, "</section>\n");
	return buf_error(b);
}

int ui_directory_publish_form(struct ui_ctx *c, const char *id, const char *retour)
{
	return wf_form_to(c, &wf_published, id, NULL, NULL, retour);
}

void ui_procedures_routes(struct ui *u)
{
	ui_route(u, "POST", "/promeneurs/{id}/signaler", post_report);
	ui_route(u, "POST", "/promeneurs/{id}/suspendre", post_suspend);
	ui_route(u, "POST", "/promeneurs/{id}/retablir", post_reinstate);
	ui_route(u, "POST", "/procedures/{id}/caf", post_caf);
	ui_route(u, "POST", "/procedures/{id}/mesures", post_measures);
	ui_route(u, "POST", "/procedures/{id}/suivi", post_follow);
	ui_route(u, "POST", "/procedures/{id}/decider", post_proc_decide);
	ui_route(u, "POST", "/taches/{id}/faite", post_task);
	ui_route(u, "POST", "/fiches/candidature/{id}/decider", post_decide);
	ui_route(u, "POST", "/annuaire-national/{id}/publier", post_published);
}
