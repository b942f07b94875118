/*
 * ui-documents.c - documents in relais ui: the list of those attached to a
 * fiche, and each one's bytes as a download (fetched from the server the
 * first time, then from the replica: document.h).
 *
 * A document comes from a stranger's mail: it is always sent as a file to
 * save (application/octet-stream, attachment), never shown in the page's
 * origin, whatever type the mail gave it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../../common/util.h"
#include "../../model/domain.h"
#include "../../model/model.h"
#include "../replica/document.h"
#include "ui-html.h"
#include "ui.h"

int ui_documents_section(struct ui_ctx *c, const char *table, const char *id)
{
	sqlite3_stmt *st = NULL;
	int rc = 0, n = 0, s;

	if (sqlite3_prepare_v2(c->db, "SELECT id, nom, taille FROM document WHERE rattache_table = ?1 "
			       "AND rattache_id = ?2 ORDER BY nom, id", -1, &st, NULL) != SQLITE_OK)
		return 0; /* a replica of an older schema has no documents */
	sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
	while (!rc && (s = sqlite3_step(st)) == SQLITE_ROW) {
		const char *did = (const char *)sqlite3_column_text(st, 0);
		const char *name = (const char *)sqlite3_column_text(st, 1);
		if (!n++)
			rc = buf_puts(c->out, "<section aria-labelledby=\"titre-documents\">\n"
				      "<h2 id=\"titre-documents\">Documents</h2>\n<ul>\n");
		if (!rc)
			rc = buf_puts(c->out, "<li><a href=\"/documents/");
		if (!rc)
			rc = html_url(c->out, did ? did : "");
		if (!rc)
			rc = buf_puts(c->out, "\">");
		if (!rc)
			rc = buf_puts_html(c->out, name ? name : "document");
		if (!rc)
			rc = buf_printf(c->out, "</a> (%lld octet%s)</li>\n",
					(long long)sqlite3_column_int64(st, 2),
					util_pluriel(sqlite3_column_int64(st, 2)));
	}
	sqlite3_finalize(st);
	if (!rc && n)
		rc = buf_puts(c->out, "</ul>\n</section>\n");
	return rc;
}

int ui_documents_of_mail(struct ui_ctx *c, const char *courrier)
{
	sqlite3_stmt *st = NULL;
	int rc = 0, n = 0, s;

	if (sqlite3_prepare_v2(c->db, "SELECT id, nom, taille, rattache_table, rattache_id FROM document "
			       "WHERE courrier = ?1 ORDER BY nom, id", -1, &st, NULL) != SQLITE_OK)
		return 0;
	sqlite3_bind_text(st, 1, courrier, -1, SQLITE_STATIC);
	while (!rc && (s = sqlite3_step(st)) == SQLITE_ROW) {
		const char *did = (const char *)sqlite3_column_text(st, 0);
		const char *name = (const char *)sqlite3_column_text(st, 1);
		const char *tab = (const char *)sqlite3_column_text(st, 3);
		const char *rid = (const char *)sqlite3_column_text(st, 4);
		if (!did)
			continue;
		if (!n++)
			rc = buf_puts(c->out, "<section aria-labelledby=\"titre-pieces\">\n"
				      "<h2 id=\"titre-pieces\">Pièces jointes</h2>\n<ul>\n");
		if (!rc)
			rc = buf_printf(c->out, "<li><a href=\"/documents/%s\">", did);
		if (!rc)
			rc = buf_puts_html(c->out, name ? name : "document");
		if (!rc)
			rc = buf_printf(c->out, "</a> (%lld octet%s)", (long long)sqlite3_column_int64(st, 2),
					util_pluriel(sqlite3_column_int64(st, 2)));
		if (!rc && tab && rid) {
			rc = buf_puts(c->out, " — rattaché à ");
			if (!rc)
				rc = buf_puts_html(c->out, model_value_label(tab));
			if (!rc)
				rc = buf_puts(c->out, " ");
			if (!rc)
				rc = buf_puts_html(c->out, rid);
		}
		if (!rc && !c->read_only) {
			rc = buf_printf(c->out, "\n<form method=\"post\" action=\"/documents/%s/rattacher\" "
					"class=\"actions\">\n", did);
			if (!rc)
				rc = ui_csrf_input(c);
			if (!rc)
				rc = buf_printf(c->out,
					"<label for=\"t-%s\">Fiche</label> <select id=\"t-%s\" name=\"rattache_table\">"
					"<option value=\"structure\">structure</option>"
					"<option value=\"promeneur\">promeneur</option>"
					"<option value=\"candidature\">candidature</option></select>\n"
					"<label for=\"i-%s\">Identifiant</label> <input id=\"i-%s\" "
					"name=\"rattache_id\" required>\n"
					"<button type=\"submit\">Rattacher</button>\n</form>", did, did, did, did);
		}
		if (!rc)
			rc = buf_puts(c->out, "</li>\n");
	}
	sqlite3_finalize(st);
	if (!rc && n)
		rc = buf_puts(c->out, "</ul>\n</section>\n");
	return rc;
}

/* Attaches a document to a fiche, through the domain layer; back to the
 * message it came with. */
static int page_attach(struct ui_ctx *c)
{
	const struct model_table *t = model_table_by_name("document");
	const char *id = ui_param(c, "id");
	const char *tab = ui_form(c, "rattache_table"), *rid = ui_form(c, "rattache_id");
	char err[DOMAIN_MSG_MAX] = "", vt[64], vi[128], *courrier = NULL;
	sqlite3_stmt *st = NULL;
	int rc;

	if (!id || !util_is_uuid(id))
		return RELAIS_ENOTFOUND;
	if (c->read_only)
		return RELAIS_EPERM;
	if (sqlite3_prepare_v2(c->db, "SELECT courrier FROM document WHERE id = ?1", -1, &st, NULL) ==
	    SQLITE_OK) {
		sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
			courrier = strdup((const char *)sqlite3_column_text(st, 0));
	}
	sqlite3_finalize(st);
	if (!courrier)
		return RELAIS_ENOTFOUND;
	rc = domain_check_value(c->db, model_column_by_name(t, "rattache_table"), tab, vt, sizeof(vt),
				err, sizeof(err));
	if (!rc)
		rc = domain_check_value(c->db, model_column_by_name(t, "rattache_id"), rid, vi, sizeof(vi),
					err, sizeof(err));
	if (!rc) {
		struct domain_value v[] = {
			{ model_column_by_name(t, "rattache_table"), vt[0] ? vt : NULL },
			{ model_column_by_name(t, "rattache_id"), vi[0] ? vi : NULL },
		};
		rc = ui_domain_write(c, t, id, v, 2, NULL, err, sizeof(err));
	}
	char url[128];
	snprintf(url, sizeof(url), "/courrier/%s", courrier);
	free(courrier);
	if (rc == RELAIS_EINVAL)
		return ui_error_page(c, 422, err);
	if (rc)
		return rc;
	return ui_redirect(c, url, "Document rattaché ; la décision sera envoyée au serveur à la "
			   "prochaine synchronisation.");
}

/* A plain download name: "document-XXXXXXXX" and the name's extension when
 * it is plain letters and digits. */
static void download_name(const char *id, const char *name, char *out, size_t outlen)
{
	const char *dot = name ? strrchr(name, '.') : NULL;
	int plain = dot && dot[1] && strlen(dot) <= 6 &&
		    strspn(dot + 1, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") ==
			    strlen(dot + 1);
	snprintf(out, outlen, "document-%.8s%s", id, plain ? dot : "");
}

static int page_document(struct ui_ctx *c)
{
	const char *id = ui_param(c, "id");
	char err[512] = "", fname[64], *name = NULL;
	int cached = 0, rc;

	if (!id || !util_is_uuid(id))
		return RELAIS_ENOTFOUND;
	rc = document_bytes(c->replica, id, c->out, &name, &cached, err, sizeof(err));
	if (rc == RELAIS_ENOTFOUND)
		return rc;
	if (rc == RELAIS_ETOOBIG) {
		buf_reset(c->out);
		return ui_error_page(c, 413, "Ce document est trop volumineux pour l'interface : "
				     "ouvrez-le avec « relais document ouvrir ».");
	}
	if (rc) {
		buf_reset(c->out);
		return ui_error_page(c, rc == RELAIS_ENET ? 503 : 502, err);
	}
	download_name(id, name, fname, sizeof(fname));
	free(name);
	return ui_download(c, "application/octet-stream", fname);
}

void ui_documents_routes(struct ui *u)
{
	ui_route(u, "GET", "/documents/{id}", page_document);
	ui_route(u, "POST", "/documents/{id}/rattacher", page_attach);
}
