/*
 * ui-gouvernance.c - what an event's page shows of a governance meeting
 * (comité de pilotage, technique, des financeurs, a réunion avec la Caf…)
 * besides the promeneurs' attendance: its agenda and minutes, the papers
 * attached to it (documents of the mail journal attached to the event) and
 * the partners' contacts invited (table guest), each marked present or
 * not.
 *
 * The agenda, the minutes and to whom and when they were circulated are
 * columns of the event, typed in its form (ui-evenements.c) and shown here
 * together. A guest is
 * written through the domain layer (registered once per event: a second
 * registration is refused with its words), one captured local edit each.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ui-html.h"
#include "ui.h"

#define CONTACTS_MAX 2000 /* contacts offered by the form */

int ui_event_meeting_column(const char *name)
{
	static const char *const cols[] = { "ordre_du_jour", "compte_rendu", "diffusion",
					    "date_diffusion" };
	for (size_t i = 0; name && i < sizeof(cols) / sizeof(cols[0]); i++)
		if (!strcmp(cols[i], name))
			return 1;
	return 0;
}

/* A text of the meeting under its heading, or what is missing. */
static int meeting_text(struct buf *b, const char *label, sqlite3_stmt *st, int i,
			const char *none)
{
	buf_puts(b, "<dt>");
	buf_puts_html(b, label);
	buf_puts(b, "</dt>");
	if (sqlite3_column_type(st, i) == SQLITE_NULL || !ui_col_text(st, i)[0]) {
		buf_puts(b, "<dd><span class=\"vide\">");
		buf_puts_html(b, none);
		return buf_puts(b, "</span></dd>\n");
	}
	buf_puts(b, "<dd class=\"multiligne\">");
	buf_puts_html(b, ui_col_text(st, i));
	return buf_puts(b, "</dd>\n");
}

static int documents_html(struct ui_ctx *c, const char *event);

int ui_event_meeting(struct ui_ctx *c, const char *id)
{
	struct buf *b = c->out;
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(c->db, "SELECT ordre_du_jour, compte_rendu, diffusion, date_diffusion "
			       "FROM event WHERE id = ?1", -1, &st, NULL) != SQLITE_OK)
		return RELAIS_EDB;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_finalize(st);
		return RELAIS_ENOTFOUND;
	}
	buf_puts(b, "<section aria-labelledby=\"titre-reunion\">\n<h2 id=\"titre-reunion\">Ordre du "
		 "jour et compte rendu</h2>\n<dl class=\"fiche\">\n");
	meeting_text(b, "Ordre du jour", st, 0, "pas d'ordre du jour noté");
	meeting_text(b, "Compte rendu", st, 1, "pas encore rédigé");
	buf_puts(b, "<dt>Diffusion du compte rendu</dt><dd>");
	int to = sqlite3_column_type(st, 2) != SQLITE_NULL && ui_col_text(st, 2)[0];
	int on = sqlite3_column_type(st, 3) != SQLITE_NULL;
	if (!to && !on) {
		buf_puts(b, "<span class=\"vide\">pas encore diffusé</span>");
	} else {
		buf_puts(b, "diffusé");
		if (to) {
			buf_puts(b, " à <span class=\"multiligne\">");
			buf_puts_html(b, ui_col_text(st, 2));
			buf_puts(b, "</span>");
		}
		if (on) {
			char d[UTIL_DATE_FR_LEN];
			buf_puts(b, to ? ", le " : " le ");
			buf_puts_html(b, util_date_fr(ui_col_text(st, 3), d, sizeof(d)));
		}
	}
	buf_puts(b, "</dd>\n</dl>\n</section>\n");
	sqlite3_finalize(st);
	return buf_error(b) ? buf_error(b) : documents_html(c, id);
}

static int documents_html(struct ui_ctx *c, const char *event)
{
	sqlite3_stmt *st = NULL;
	int n = 0, s;
	buf_puts(c->out, "<section aria-labelledby=\"titre-pieces-reunion\">\n"
		 "<h2 id=\"titre-pieces-reunion\">Documents de la réunion</h2>\n");
	if (sqlite3_prepare_v2(c->db, "SELECT id, nom, taille FROM document WHERE rattache_table = "
			       "'event' AND rattache_id = ?1 ORDER BY nom, id", -1, &st,
			       NULL) != SQLITE_OK)
		return RELAIS_EDB;
	sqlite3_bind_text(st, 1, event, -1, SQLITE_TRANSIENT);
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		long long size = sqlite3_column_int64(st, 2);
		if (!n++)
			buf_puts(c->out, "<ul>\n");
		buf_puts(c->out, "<li><a href=\"/documents/");
		html_url(c->out, ui_col_text(st, 0));
		buf_puts(c->out, "\">");
		buf_puts_html(c->out, ui_col_text(st, 1)[0] ? ui_col_text(st, 1) : "document");
		buf_printf(c->out, "</a> (%lld octet%s)</li>\n", size, util_pluriel(size));
	}
	sqlite3_finalize(st);
	if (s != SQLITE_DONE)
		return RELAIS_EDB;
	if (n)
		buf_puts(c->out, "</ul>\n");
	else
		html_tag(c->out, "p", "Aucun document : une pièce jointe reçue par courriel (ordre "
			 "du jour, compte rendu) se rattache à l'événement depuis la page Courrier.");
	return buf_puts(c->out, "</section>\n");
}

/* A guest's row; arg is the event. */
static int guest_row(struct ui_ctx *c, sqlite3_stmt *st, const void *arg)
{
	return ui_presence_row(c, st, arg, "invites", "/fiches/contact/");
}

/* The form that invites a contact not invited yet. */
static int guest_form(struct ui_ctx *c, const char *event)
{
	struct ui_options o = { 0 };

	int rc = ui_options_select(&o, c->db, "SELECT k.id, coalesce(k.prenom || ' ', '') || k.nom "
				   "|| coalesce(' – ' || (SELECT x.nom FROM partenaire x WHERE x.id = "
				   "k.partenaire), ' – ' || (SELECT s.nom FROM structure s WHERE s.id = "
				   "k.structure), '') FROM contact k WHERE NOT EXISTS (SELECT 1 FROM "
				   "guest g WHERE g.event = ?1 AND g.contact = k.id) ORDER BY k.nom "
				   "COLLATE NOCASE, k.prenom, k.id", event, CONTACTS_MAX);
	if (rc)
		goto out;
	if (!o.n) {
		buf_puts(c->out, "<p>Aucun autre contact à inviter : les contacts s'ajoutent depuis "
			 "la page d'un partenaire (<a href=\"/fiches/partenaire\">Partenaires</a>).</p>\n");
		goto out;
	}
	ui_event_form(c, event, "/invites", "ajout");
	struct html_field who = {
		.name = "contact", .id = "invite-contact", .label = "Contact", .type = HTML_SELECT,
		.required = 1, .options = (const char *const *)o.values,
		.option_labels = (const char *const *)o.labels, .noptions = o.n,
	};
	html_field(c->out, &who);
	struct html_field present = {
		.name = "presence_effective", .id = "invite-presence",
		.label = "Présent(e) à la réunion", .type = HTML_CHECKBOX, .value = "0",
	};
	html_field(c->out, &present);
	buf_puts(c->out, "<button type=\"submit\">Inviter</button></form>\n");
out:
	ui_options_release(&o);
	return rc ? rc : buf_error(c->out);
}

static int guests_html(struct ui_ctx *c, const char *event)
{
	static const char *const heads[] = { "Contact", "Partenaire ou structure",
					     "Présence effective", NULL };
	static const char *const heads_rw[] = { "Contact", "Partenaire ou structure",
						"Présence effective", "Actions", NULL };
	sqlite3_stmt *st = NULL;

	buf_puts(c->out, "<section aria-labelledby=\"titre-invites\">\n"
		 "<h2 id=\"titre-invites\">Partenaires invités</h2>\n");
	if (sqlite3_prepare_v2(c->db, "SELECT g.id, g.contact, coalesce((SELECT coalesce(k.prenom || "
			       "' ', '') || k.nom FROM contact k WHERE k.id = g.contact), g.contact), "
			       "coalesce((SELECT coalesce(x.nom, s.nom) FROM contact k LEFT JOIN "
			       "partenaire x ON x.id = k.partenaire LEFT JOIN structure s ON s.id = "
			       "k.structure WHERE k.id = g.contact), ''), g.presence_effective "
			       "FROM guest g WHERE g.event = ?1 ORDER BY 3 COLLATE NOCASE, g.id", -1,
			       &st, NULL) != SQLITE_OK)
		return RELAIS_EDB;
	sqlite3_bind_text(st, 1, event, -1, SQLITE_TRANSIENT);
	const struct ui_table t = { "Contacts des partenaires invités", c->read_only ? heads : heads_rw,
				    "Aucun partenaire invité.", guest_row, event };
	int rc = ui_table_rows(c, st, &t);
	if (rc)
		return rc;
	if (!c->read_only) {
		buf_puts(c->out, "<h3>Inviter un contact d'un partenaire</h3>\n");
		rc = guest_form(c, event);
		if (rc)
			return rc;
	}
	return buf_puts(c->out, "</section>\n");
}

int ui_event_governance(struct ui_ctx *c, const char *id)
{
	return guests_html(c, id);
}

/* ---- the forms ---- */

/* 1 when guest gid is of event (the address names both). */
static int guest_of_event(struct ui_ctx *c, const char *gid, const char *event)
{
	sqlite3_stmt *st = NULL;
	int found = 0;
	if (!gid || !util_is_uuid(gid))
		return 0;
	if (sqlite3_prepare_v2(c->db, "SELECT 1 FROM guest WHERE id = ?1 AND event = ?2", -1, &st,
			       NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, gid, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 2, event, -1, SQLITE_TRANSIENT);
		found = sqlite3_step(st) == SQLITE_ROW;
	}
	sqlite3_finalize(st);
	return found;
}

static int post_invite(struct ui_ctx *c)
{
	const struct model_table *t = model_table_by_name("guest");
	const struct model_column *kcol = model_column_by_name(t, "contact");
	const char *event = ui_param(c, "id"), *raw = ui_form(c, "contact");
	const char *present = ui_form(c, "presence_effective");
	char kid[128], err[DOMAIN_MSG_MAX] = "";
	int rc;

	if (c->read_only)
		return RELAIS_EPERM;
	if ((rc = ui_event_exists(c, event)))
		return rc;
	if (!raw || !raw[0])
		return ui_error_page(c, 422, "Choisissez le contact à inviter.");
	if (domain_check_value(c->db, kcol, raw, kid, sizeof(kid), err, sizeof(err)) || !kid[0])
		return ui_error_page(c, 422, err[0] ? err : "Contact introuvable.");
	struct domain_value v[] = {
		{ model_column_by_name(t, "event"), event },
		{ kcol, kid },
		{ model_column_by_name(t, "presence_effective"),
		  present && !strcmp(present, "1") ? "1" : "0" },
	};
	rc = ui_domain_write(c, t, NULL, v, 3, NULL, err, sizeof(err));
	if (rc == RELAIS_EEXIST)
		return ui_error_page(c, 409, err[0] ? err : "Ce contact est déjà invité.");
	if (rc == RELAIS_EINVAL)
		return ui_error_page(c, 422, err);
	if (rc)
		return rc;
	return ui_event_redirect(c, event, "Invitation enregistrée ; elle sera envoyée au serveur à la "
			     "prochaine synchronisation.");
}

/* Marks guest {gid} of event {id} present or absent (the form's
 * « presence », 1 or 0), or withdraws the invitation (remove). */
static int guest_change(struct ui_ctx *c, int remove)
{
	const char *event = ui_param(c, "id"), *gid = ui_param(c, "gid");
	const char *v = remove ? NULL : ui_form(c, "presence");
	const struct model_table *t = model_table_by_name("guest");
	char err[DOMAIN_MSG_MAX] = "";
	int rc;

	if (c->read_only)
		return RELAIS_EPERM;
	if ((rc = ui_event_exists(c, event)))
		return rc;
	if (!remove && (!v || (strcmp(v, "0") && strcmp(v, "1"))))
		return ui_error_page(c, 400, "Valeur de présence attendue : 0 ou 1.");
	if (!guest_of_event(c, gid, event))
		return RELAIS_ENOTFOUND;
	struct domain_value dv[] = { { model_column_by_name(t, "presence_effective"), v } };
	if ((rc = ui_domain_write(c, t, gid, remove ? NULL : dv, remove ? 0 : 1, NULL, err,
				  sizeof(err))))
		return rc;
	return ui_event_redirect(c, event, remove ? "Invitation retirée."
				 : !strcmp(v, "1") ? "Présence notée." : "Absence notée.");
}

static int post_presence(struct ui_ctx *c)
{
	return guest_change(c, 0);
}

static int post_remove(struct ui_ctx *c)
{
	return guest_change(c, 1);
}

void ui_gouvernance_routes(struct ui *u)
{
	ui_route(u, "POST", "/evenements/{id}/invites", post_invite);
	ui_route(u, "POST", "/evenements/{id}/invites/{gid}", post_presence);
	ui_route(u, "POST", "/evenements/{id}/invites/{gid}/retirer", post_remove);
}
