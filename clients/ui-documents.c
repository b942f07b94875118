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
#include "../common/util.h"
#include "document.h"
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
			rc = html_esc(c->out, name ? name : "document");
		if (!rc)
			rc = buf_printf(c->out, "</a> (%lld octets)</li>\n",
					(long long)sqlite3_column_int64(st, 2));
	}
	sqlite3_finalize(st);
	if (!rc && n)
		rc = buf_puts(c->out, "</ul>\n</section>\n");
	return rc;
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
}
