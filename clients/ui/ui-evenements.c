/*
 * ui-evenements.c - the /evenements pages of relais ui: the events (coming
 * ones first), creating and editing one with the model's checks shown next
 * to each field, and an event's page with its attendance (table
 * attendance): who is registered, who came, adding and removing a
 * promeneur; for a governance meeting, its agenda, minutes and their
 * circulation, with its papers and guests (ui-gouvernance.c).
 *
 * Event forms go through ui_form_values_read/save, the model-driven path of
 * every form of the interface. Attendance rows are written here, each as
 * one captured local edit (sync_capture_begin/commit), like the CLI's
 * "relais participation ajouter|modifier|supprimer".
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "ui-html.h"
#include "ui.h"

#define ID_MAX 64            /* longer identifiers name nothing */
#define PROMENEURS_MAX 5000  /* choices offered by the attendance form */
#define FIELD_PROMENEUR "promeneur"
#define EVENT_COLS_MAX 64    /* columns of event, with room to grow */

static const struct model_table *event_table(void)
{
	return model_table_by_name("event");
}

static void today_iso(char out[11])
{
	time_t now = time(NULL);
	struct tm tm;
	localtime_r(&now, &tm);
	strftime(out, 11, "%Y-%m-%d", &tm);
}

/* Appends <a href="prefix + id">text</a>, id percent-encoded. */
static int link_to(struct buf *b, const char *prefix, const char *id, const char *suffix,
		   const char *text)
{
	struct buf h = BUF_INIT(512);
	buf_puts(&h, prefix);
	html_url(&h, id);
	if (suffix)
		buf_puts(&h, suffix);
	if (buf_error(&h))
		buf_fail(b, buf_error(&h));
	else
		html_link(b, buf_str(&h), text);
	buf_release(&h);
	return buf_error(b);
}

int ui_event_form(struct ui_ctx *c, const char *event, const char *suffix, const char *cls)
{
	buf_puts(c->out, "<form method=\"post\" action=\"/evenements/");
	html_url(c->out, event);
	buf_puts(c->out, suffix);
	buf_printf(c->out, "\" class=\"%s\" novalidate>", cls);
	return ui_csrf_input(c);
}

/* The « Actions » cell of ui_presence_row(). */
static int presence_actions(struct ui_ctx *c, const char *event, const char *list,
			    const char *id, const char *who, int present)
{
	struct buf *b = c->out, path = BUF_INIT(256);
	const char *mark = present == 1 ? "absent(e)" : "présent(e)";
	if (c->read_only)
		return buf_error(b);
	buf_printf(&path, "/%s/", list);
	html_url(&path, id);
	buf_fail(b, buf_error(&path));
	buf_puts(b, "<td class=\"actions\">");
	/* Each button's name says whom it acts on: a screen reader's list of
	 * buttons reads without the table around it. */
	ui_event_form(c, event, buf_str(&path), "en-ligne");
	buf_printf(b, "<input type=\"hidden\" name=\"presence\" value=\"%d\">"
		   "<button type=\"submit\" aria-label=\"Marquer %s : ", present == 1 ? 0 : 1, mark);
	buf_puts_html(b, who);
	buf_printf(b, "\">Marquer %s</button></form> ", mark);
	buf_puts(&path, "/retirer");
	buf_fail(b, buf_error(&path));
	ui_event_form(c, event, buf_str(&path), "en-ligne");
	buf_puts(b, "<button type=\"submit\" class=\"secondaire\" aria-label=\"Retirer ");
	buf_puts_html(b, who);
	buf_puts(b, "\">Retirer</button></form></td>");
	buf_release(&path);
	return buf_error(b);
}

/* ---- the list ---- */

static int list_table(struct ui_ctx *c, int upcoming, const char *today)
{
	static const char *const heads[] = { "Événement", "Date", "Type", "Lieu",
					     "Inscrits", "Présents", NULL };
	sqlite3_stmt *st = NULL;
	int rc = 0, s, n = 0;
	const char *sql = upcoming
		? "SELECT e.id, e.titre, e.date, e.type, e.lieu, "
		  "(SELECT count(*) FROM attendance a WHERE a.event = e.id), "
		  "(SELECT count(*) FROM attendance a WHERE a.event = e.id AND a.presence_effective = 1) "
		  "FROM event e WHERE e.date >= ? ORDER BY e.date, e.titre, e.id"
		: "SELECT e.id, e.titre, e.date, e.type, e.lieu, "
		  "(SELECT count(*) FROM attendance a WHERE a.event = e.id), "
		  "(SELECT count(*) FROM attendance a WHERE a.event = e.id AND a.presence_effective = 1) "
		  "FROM event e WHERE e.date < ? ORDER BY e.date DESC, e.titre, e.id";

	buf_puts(c->out, upcoming ? "<h2>À venir</h2>\n" : "<h2>Passés</h2>\n");
	if (sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) != SQLITE_OK)
		return RELAIS_EDB;
	sqlite3_bind_text(st, 1, today, -1, SQLITE_STATIC);
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		char date[32], num[24];
		if (!n++)
			html_table_begin(c->out, upcoming ? "Événements à venir, du plus proche au "
					 "plus lointain" : "Événements passés, du plus récent au "
					 "plus ancien", heads);
		buf_puts(c->out, "<tr><th scope=\"row\">");
		link_to(c->out, "/evenements/", ui_col_text(st, 0), NULL, ui_col_text(st, 1));
		buf_puts(c->out, "</th>");
		util_date_fr(ui_col_text(st, 2), date, sizeof(date));
		html_cell(c->out, date);
		html_cell(c->out, ui_value_label(ui_col_text(st, 3)));
		html_cell(c->out, ui_col_text(st, 4));
		snprintf(num, sizeof(num), "%lld", (long long)sqlite3_column_int64(st, 5));
		html_cell(c->out, num);
		snprintf(num, sizeof(num), "%lld", (long long)sqlite3_column_int64(st, 6));
		html_cell(c->out, num);
		buf_puts(c->out, "</tr>\n");
	}
	if (!rc && s != SQLITE_DONE)
		rc = RELAIS_EDB;
	sqlite3_finalize(st);
	if (rc)
		return rc;
	if (n)
		return html_table_end(c->out);
	return buf_printf(c->out, "<p class=\"vide\">%s</p>\n", upcoming
			  ? "Aucun événement à venir." : "Aucun événement passé.");
}

static int page_list(struct ui_ctx *c)
{
	char today[11];
	int rc;
	ui_page_begin(c, "Événements", "evenements");
	today_iso(today);
	if (!c->read_only)
		buf_puts(c->out, "<p><a class=\"bouton\" href=\"/evenements/nouveau\">"
			 "Nouvel événement</a></p>\n");
	rc = list_table(c, 1, today);
	if (!rc)
		rc = list_table(c, 0, today);
	ui_page_end(c);
	return rc;
}

/* ---- create and edit ---- */

/* Reads the event's columns as text, in the model's order, into values[]
 * (EVENT_COLS_MAX entries; malloc'd strings or NULL). Returns 0,
 * RELAIS_ENOTFOUND, RELAIS_EDB or RELAIS_ENOMEM. */
static int event_values(struct ui_ctx *c, const char *id, char **values)
{
	const struct model_table *t = event_table();
	struct buf sql = BUF_INIT(4096);
	sqlite3_stmt *st = NULL;
	assert(t->ncolumns <= EVENT_COLS_MAX);
	buf_puts(&sql, "SELECT id");
	for (size_t i = 0; i < t->ncolumns; i++)
		buf_printf(&sql, ", \"%s\"", t->columns[i].name);
	buf_puts(&sql, " FROM event WHERE id = ?");
	int rc = buf_error(&sql);
	if (rc)
		goto out;
	if (sqlite3_prepare_v2(c->db, buf_str(&sql), -1, &st, NULL) != SQLITE_OK) {
		rc = RELAIS_EDB;
		goto out;
	}
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	int s = sqlite3_step(st);
	if (s != SQLITE_ROW) {
		rc = s == SQLITE_DONE ? RELAIS_ENOTFOUND : RELAIS_EDB;
		goto out;
	}
	for (size_t i = 0; i < t->ncolumns && !rc; i++) {
		const char *v = (const char *)sqlite3_column_text(st, (int)i + 1);
		values[i] = NULL;
		if (v && !(values[i] = strdup(v)))
			rc = RELAIS_ENOMEM;
	}
out:
	sqlite3_finalize(st);
	buf_release(&sql);
	return rc;
}

static void values_free(char **values)
{
	for (size_t i = 0; i < EVENT_COLS_MAX; i++) {
		free(values[i]);
		values[i] = NULL;
	}
}

int ui_event_exists(struct ui_ctx *c, const char *id)
{
	sqlite3_stmt *st = NULL;
	int rc = RELAIS_ENOTFOUND;
	if (!id)
		return RELAIS_ENOTFOUND;
	if (sqlite3_prepare_v2(c->db, "SELECT 1 FROM event WHERE id = ?", -1, &st, NULL) != SQLITE_OK)
		return RELAIS_EDB;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) == SQLITE_ROW)
		rc = 0;
	sqlite3_finalize(st);
	return rc;
}

/*
 * The event form. id NULL: creation. values[i] is shown for column i,
 * errors[i] next to it (both may be NULL arrays).
 */
static int event_form(struct ui_ctx *c, const char *id, char *const *values,
		      char *const *errors, size_t nerrors)
{
	const struct model_table *t = event_table();
	int rc = 0;

	if (nerrors)
		buf_printf(c->out, "<p class=\"erreur\" role=\"alert\">%zu valeur%s à corriger : "
			   "voir le message sous chaque champ concerné.</p>\n", nerrors,
			   nerrors > 1 ? "s" : "");
	buf_puts(c->out, "<form method=\"post\" class=\"fiche\" novalidate action=\"");
	if (id)
		buf_puts(c->out, "/evenements/");
	if (id)
		html_url(c->out, id);
	buf_puts(c->out, id ? "/modifier\">" : "/evenements/nouveau\">");
	ui_csrf_input(c);
	for (size_t i = 0; i < t->ncolumns && !rc; i++) {
		const struct model_column *col = &t->columns[i];
		if (col->since > MODEL_SCHEMA_VERSION || ui_event_meeting_column(col->name))
			continue;
		rc = ui_model_field(c, t, col, values ? values[i] : NULL, errors ? errors[i] : NULL);
	}
	/* The meeting's texts in the order they are written: the agenda
	 * before, the minutes after, then their circulation. */
	static const char *const meeting[] = { "ordre_du_jour", "compte_rendu", "diffusion",
					       "date_diffusion" };
	for (size_t k = 0; k < sizeof(meeting) / sizeof(meeting[0]) && !rc; k++) {
		const struct model_column *col = model_column_by_name(t, meeting[k]);
		size_t i = col ? (size_t)(col - t->columns) : 0;
		if (!col || col->since > MODEL_SCHEMA_VERSION)
			continue;
		rc = ui_model_field(c, t, col, values ? values[i] : NULL, errors ? errors[i] : NULL);
	}
	buf_printf(c->out, "<p class=\"actions\"><button type=\"submit\">%s</button> ",
		   id ? "Enregistrer les modifications" : "Créer l'événement");
	if (id)
		link_to(c->out, "/evenements/", id, NULL, "Annuler");
	else
		html_link(c->out, "/evenements", "Annuler");
	buf_puts(c->out, "</p></form>\n");
	return rc;
}

static int page_new(struct ui_ctx *c)
{
	if (c->read_only)
		return RELAIS_EPERM;
	ui_page_begin(c, "Nouvel événement", "evenements");
	int rc = event_form(c, NULL, NULL, NULL, 0);
	ui_page_end(c);
	return rc;
}

static int page_edit(struct ui_ctx *c)
{
	const char *id = ui_param(c, "id");
	char *values[EVENT_COLS_MAX] = { NULL };
	int rc;

	if (c->read_only)
		return RELAIS_EPERM;
	if (!id || strlen(id) > ID_MAX)
		return RELAIS_ENOTFOUND;
	rc = event_values(c, id, values);
	ui_page_begin(c, "Modifier l'événement", "evenements");
	if (!rc)
		rc = event_form(c, id, values, NULL, 0);
	ui_page_end(c);
	values_free(values);
	return rc;
}

/* Creation (id NULL) and edit: saved and redirected, or the form again
 * with each error next to its field. */
static int save(struct ui_ctx *c, const char *id)
{
	const struct model_table *t = event_table();
	struct ui_form_values fv;
	char newid[UTIL_UUID_LEN + 1];
	int rc;

	if (c->read_only)
		return RELAIS_EPERM;
	memset(&fv, 0, sizeof(fv));
	rc = ui_form_values_read(c, t, !id, &fv);
	if (!rc && !fv.nerrors) {
		rc = ui_form_values_save(c, &fv, id, newid);
		if (!rc) {
			struct buf loc = BUF_INIT(256);
			buf_puts(&loc, "/evenements/");
			html_url(&loc, id ? id : newid);
			rc = buf_error(&loc);
			if (!rc)
				rc = ui_redirect(c, buf_str(&loc), id ? "Modifications enregistrées."
						 : "Événement créé.");
			buf_release(&loc);
			goto out;
		}
		if (rc != RELAIS_ECONSTRAINT && !(rc == RELAIS_EINVAL && fv.nerrors))
			goto out;
		/* The schema refused a value the model let through: say so on
		 * the form, nothing was written. */
		ui_page_begin(c, id ? "Modifier l'événement" : "Nouvel événement", "evenements");
		ui_status(c, 422);
		buf_puts(c->out, "<p class=\"erreur\" role=\"alert\">Une valeur a été refusée "
			 "par le schéma ; rien n'a été enregistré.</p>\n");
		rc = event_form(c, id, fv.raw, fv.errors, 0);
		ui_page_end(c);
		goto out;
	}
	if (rc)
		goto out;
	ui_page_begin(c, id ? "Modifier l'événement" : "Nouvel événement", "evenements");
	ui_status(c, 422);
	rc = event_form(c, id, fv.raw, fv.errors, fv.nerrors);
	ui_page_end(c);
out:
	ui_form_values_release(&fv);
	return rc;
}

static int page_create(struct ui_ctx *c)
{
	return save(c, NULL);
}

static int page_update(struct ui_ctx *c)
{
	const char *id = ui_param(c, "id");
	if (!id || strlen(id) > ID_MAX)
		return RELAIS_ENOTFOUND;
	/* An unknown event is a 404 before any check of the form. */
	int rc = ui_event_exists(c, id);
	return rc ? rc : save(c, id);
}

/* ---- one event and its attendance ---- */

static int promeneur_select(struct ui_ctx *c, const char *event, const char *chosen,
			    const char *error)
{
	struct ui_options o = { 0 };

	/* Only those not registered yet: a second row would count twice. */
	int rc = ui_options_select(&o, c->db, "SELECT p.id, p.prenom || ' ' || p.nom || "
				   "coalesce(' – ' || (SELECT s.nom FROM structure s WHERE s.id = "
				   "p.structure), '') FROM promeneur p WHERE NOT EXISTS (SELECT 1 FROM "
				   "attendance a WHERE a.event = ?1 AND a.promeneur = p.id) ORDER BY "
				   "p.nom, p.prenom, p.id", event, PROMENEURS_MAX);
	if (rc)
		goto out;
	if (!o.n && !error) {
		buf_puts(c->out, "<p>Tous les promeneurs du réplica sont déjà inscrits.</p>\n");
		goto out;
	}
	ui_event_form(c, event, "/participants", "ajout");
	struct html_field who = {
		.name = FIELD_PROMENEUR, .label = "Promeneur", .type = HTML_SELECT,
		.value = chosen, .error = error, .required = 1,
		.options = (const char *const *)o.values,
		.option_labels = (const char *const *)o.labels, .noptions = o.n,
	};
	html_field(c->out, &who);
	struct html_field present = {
		.name = "presence_effective", .label = "Présent(e) à l'événement",
		.type = HTML_CHECKBOX, .value = "0",
	};
	html_field(c->out, &present);
	buf_puts(c->out, "<button type=\"submit\">Inscrire</button></form>\n");
out:
	ui_options_release(&o);
	return rc;
}

int ui_presence_row(struct ui_ctx *c, sqlite3_stmt *st, const char *event, const char *list,
		    const char *person)
{
	struct buf *b = c->out;
	int present = sqlite3_column_type(st, 4) == SQLITE_NULL ? -1 : sqlite3_column_int(st, 4);

	buf_puts(b, "<tr><th scope=\"row\">");
	link_to(b, person, ui_col_text(st, 1), NULL, ui_col_text(st, 2));
	buf_puts(b, "</th>");
	html_cell(b, ui_col_text(st, 3));
	html_cell(b, present < 0 ? "non renseignée" : present ? "oui" : "non");
	presence_actions(c, event, list, ui_col_text(st, 0), ui_col_text(st, 2), present);
	return buf_puts(b, "</tr>\n");
}

static int attendance_html(struct ui_ctx *c, const char *event, const char *chosen,
			   const char *error)
{
	static const char *const heads[] = { "Promeneur", "Structure", "Présence effective",
					     NULL, NULL };
	static const char *const heads_rw[] = { "Promeneur", "Structure", "Présence effective",
						"Actions", NULL };
	sqlite3_stmt *st = NULL;
	long long registered = 0, present = 0;
	int rc = 0, s, n = 0;

	if (sqlite3_prepare_v2(c->db, "SELECT count(*), coalesce(sum(presence_effective = 1), 0) "
			       "FROM attendance WHERE event = ?", -1, &st, NULL) != SQLITE_OK)
		return RELAIS_EDB;
	sqlite3_bind_text(st, 1, event, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		registered = sqlite3_column_int64(st, 0);
		present = sqlite3_column_int64(st, 1);
	}
	sqlite3_finalize(st);
	st = NULL;
	buf_printf(c->out, "<h2>Participation</h2>\n<p class=\"compte\"><strong>%lld</strong> "
		   "inscrit%s · <strong>%lld</strong> présent%s</p>\n", registered,
		   registered > 1 ? "s" : "", present, present > 1 ? "s" : "");
	if (sqlite3_prepare_v2(c->db, "SELECT a.id, a.promeneur, coalesce((SELECT p.prenom || ' ' || "
			       "p.nom FROM promeneur p WHERE p.id = a.promeneur), a.promeneur), "
			       "coalesce((SELECT s.nom FROM promeneur p JOIN structure s ON s.id = "
			       "p.structure WHERE p.id = a.promeneur), ''), a.presence_effective "
			       "FROM attendance a WHERE a.event = ? ORDER BY 3, a.id",
			       -1, &st, NULL) != SQLITE_OK)
		return RELAIS_EDB;
	sqlite3_bind_text(st, 1, event, -1, SQLITE_STATIC);
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		if (!n++)
			html_table_begin(c->out, "Promeneurs inscrits", c->read_only ? heads : heads_rw);
		ui_presence_row(c, st, event, "participants", "/promeneurs/");
	}
	if (s != SQLITE_DONE)
		rc = RELAIS_EDB;
	sqlite3_finalize(st);
	if (rc)
		return rc;
	if (n)
		html_table_end(c->out);
	else
		buf_puts(c->out, "<p class=\"vide\">Personne n'est encore inscrit.</p>\n");
	if (!c->read_only) {
		buf_puts(c->out, "<h3>Inscrire un promeneur</h3>\n");
		rc = promeneur_select(c, event, chosen, error);
	}
	return rc;
}

static int event_page(struct ui_ctx *c, const char *id, int status, const char *chosen,
		      const char *error)
{
	const struct model_table *t = event_table();
	char *values[EVENT_COLS_MAX] = { NULL };
	int rc = event_values(c, id, values);
	const char *titre = NULL;

	if (rc)
		goto out;
	for (size_t i = 0; i < t->ncolumns; i++)
		if (!strcmp(t->columns[i].name, "titre"))
			titre = values[i];
	ui_page_begin(c, titre ? titre : "Événement", "evenements");
	if (status)
		ui_status(c, status);
	buf_puts(c->out, "<p><a href=\"/evenements\">Tous les événements</a></p>\n"
		 "<dl class=\"fiche\">\n");
	for (size_t i = 0; i < t->ncolumns; i++) {
		const struct model_column *col = &t->columns[i];
		char date[32];
		const char *v = values[i] ? values[i] : "";
		if (col->since > MODEL_SCHEMA_VERSION || !strcmp(col->name, "titre") ||
		    ui_event_meeting_column(col->name))
			continue;
		if (col->kind == MODEL_DATE) {
			util_date_fr(v, date, sizeof(date));
			v = date;
		} else if (!strcmp(col->name, "type")) {
			v = ui_value_label(v);
		}
		html_tag(c->out, "dt", col->label);
		buf_puts(c->out, col->flags & MODEL_MULTILINE ? "<dd class=\"multiligne\">" : "<dd>");
		buf_puts_html(c->out, v[0] ? v : "—");
		buf_puts(c->out, "</dd>\n");
	}
	buf_puts(c->out, "</dl>\n");
	if (!c->read_only)
		link_to(c->out, "/evenements/", id, "/modifier", "Modifier l'événement");
	rc = ui_event_meeting(c, id);
	if (!rc)
		rc = attendance_html(c, id, chosen, error);
	if (!rc)
		rc = ui_event_needs(c, id);
	if (!rc)
		rc = ui_event_governance(c, id);
	ui_page_end(c);
out:
	values_free(values);
	return rc;
}

static int page_event(struct ui_ctx *c)
{
	const char *id = ui_param(c, "id");
	if (!id || strlen(id) > ID_MAX)
		return RELAIS_ENOTFOUND;
	return event_page(c, id, 0, NULL, NULL);
}

/* 1 when attendance aid belongs to event (the route names both). */
static int attendance_of_event(struct ui_ctx *c, const char *aid, const char *event)
{
	sqlite3_stmt *st = NULL;
	int found = 0;
	if (sqlite3_prepare_v2(c->db, "SELECT 1 FROM attendance WHERE id = ?1 AND event = ?2", -1,
			       &st, NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, aid, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, event, -1, SQLITE_STATIC);
		found = sqlite3_step(st) == SQLITE_ROW;
	}
	sqlite3_finalize(st);
	return found;
}

int ui_event_redirect(struct ui_ctx *c, const char *id, const char *flash)
{
	struct buf loc = BUF_INIT(256);
	buf_puts(&loc, "/evenements/");
	html_url(&loc, id);
	int rc = buf_error(&loc);
	if (!rc)
		rc = ui_redirect(c, buf_str(&loc), flash);
	buf_release(&loc);
	return rc;
}

static int page_register(struct ui_ctx *c)
{
	const struct model_table *t = model_table_by_name("attendance");
	const struct model_column *pcol = model_column_by_name(t, "promeneur");
	const char *event = ui_param(c, "id");
	const char *raw = ui_form(c, FIELD_PROMENEUR);
	const char *present = ui_form(c, "presence_effective");
	char pid[128], err[DOMAIN_MSG_MAX];
	int rc;

	if (!event || strlen(event) > ID_MAX)
		return RELAIS_ENOTFOUND;
	if (c->read_only)
		return RELAIS_EPERM;
	if ((rc = ui_event_exists(c, event)))
		return rc;
	err[0] = 0;
	if (!raw || !raw[0])
		return event_page(c, event, 422, NULL, "Choisissez le promeneur à inscrire.");
	if (model_check_value(pcol, raw, pid, sizeof(pid), err, sizeof(err)))
		return event_page(c, event, 422, NULL, err[0] ? err : "Promeneur invalide.");
	char *title = ui_row_title(c, "promeneur", pid);
	if (!title)
		return event_page(c, event, 422, NULL, "Ce promeneur est introuvable dans le réplica.");
	free(title);
	struct domain_value v[] = {
		{ model_column_by_name(t, "event"), event },
		{ pcol, pid },
		{ model_column_by_name(t, "presence_effective"), present && !strcmp(present, "1") ? "1" : "0" },
	};
	struct domain_result res;
	rc = ui_domain_write(c, t, NULL, v, 3, &res, err, sizeof(err));
	if (rc == RELAIS_EEXIST)
		return event_page(c, event, 409, pid, err);
	if (rc == RELAIS_EINVAL)
		return event_page(c, event, 422, NULL, err);
	if (rc)
		return rc;
	return ui_event_redirect(c, event, res.note[0] ? res.note : "Participation enregistrée ; elle "
			      "sera envoyée au serveur à la prochaine synchronisation.");
}

static int page_presence(struct ui_ctx *c)
{
	const char *event = ui_param(c, "id"), *aid = ui_param(c, "pid");
	const char *v = ui_form(c, "presence");

	if (!event || !aid || strlen(event) > ID_MAX || strlen(aid) > ID_MAX)
		return RELAIS_ENOTFOUND;
	if (c->read_only)
		return RELAIS_EPERM;
	if (!v || (strcmp(v, "0") && strcmp(v, "1")))
		return ui_error_page(c, 400, "Valeur de présence attendue : 0 ou 1.");
	if (!attendance_of_event(c, aid, event))
		return RELAIS_ENOTFOUND;
	const struct model_table *t = model_table_by_name("attendance");
	struct domain_value dv[] = { { model_column_by_name(t, "presence_effective"), v } };
	struct domain_result res;
	char err[DOMAIN_MSG_MAX];
	int rc = ui_domain_write(c, t, aid, dv, 1, &res, err, sizeof(err));
	if (rc)
		return rc;
	return ui_event_redirect(c, event, res.note[0] ? res.note : !strcmp(v, "1") ? "Présence notée."
			      : "Absence notée.");
}

static int page_unregister(struct ui_ctx *c)
{
	const char *event = ui_param(c, "id"), *aid = ui_param(c, "pid");

	if (!event || !aid || strlen(event) > ID_MAX || strlen(aid) > ID_MAX)
		return RELAIS_ENOTFOUND;
	if (c->read_only)
		return RELAIS_EPERM;
	if (!attendance_of_event(c, aid, event))
		return RELAIS_ENOTFOUND;
	char err[DOMAIN_MSG_MAX];
	int rc = ui_domain_write(c, model_table_by_name("attendance"), aid, NULL, 0, NULL, err,
				 sizeof(err));
	if (rc)
		return rc;
	return ui_event_redirect(c, event, "Participation retirée ; le retrait sera envoyé au serveur "
			      "à la prochaine synchronisation.");
}

void ui_evenements_routes(struct ui *u)
{
	ui_route(u, "GET", "/evenements", page_list);
	ui_route(u, "GET", "/evenements/nouveau", page_new);
	ui_route(u, "POST", "/evenements/nouveau", page_create);
	ui_route(u, "GET", "/evenements/{id}", page_event);
	ui_route(u, "GET", "/evenements/{id}/modifier", page_edit);
	ui_route(u, "POST", "/evenements/{id}/modifier", page_update);
	ui_route(u, "POST", "/evenements/{id}/participants", page_register);
	ui_route(u, "POST", "/evenements/{id}/participants/{pid}", page_presence);
	ui_route(u, "POST", "/evenements/{id}/participants/{pid}/retirer", page_unregister);
}
