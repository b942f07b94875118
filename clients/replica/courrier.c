/*
 * courrier.c - the mail gateway's journal (the replicated table
 * inbound_mail) as the coordinator reads and handles it, for "relais
 * courrier" and the /courrier pages of relais ui.
 *
 * The journal is written by relaisd only (docs/mailgw.md). The coordinator
 * may only decide what becomes of a message the gateway put in quarantine:
 * attach it to an existing row ("rattacher") or file it ("classer"). Those
 * two decisions are captured local edits of the columns traitement and
 * rattache_a, synced like any other edit; the generic add/set/rm commands
 * of clients/cmd/domain.c are never offered for this table.
 *
 * Every value shown comes from a mail someone sent: courrier_clean()
 * replaces control characters before they reach a terminal, so that a
 * hostile subject cannot drive it with escape sequences.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../../common/buf.h"
#include "../../common/util.h"
#include "../../model/model.h"
#include "../../sync/sync.h"
#include "courrier.h"
#include "replica.h"

#define MAIL_TABLE COURRIER_TABLE
#define ID_MAX COURRIER_ID_MAX

/* How the enumerated values of the journal read in French. */
static const struct {
	const char *raw;
	const char *shown;
} shown_values[] = {
	{ "en_cours", "en cours" },
	{ "enregistre", "enregistré" },
	{ "rejete", "rejeté" },
	{ "ignore", "ignoré" },
	{ "a_envoyer", "à envoyer" },
	{ "envoyee", "envoyée" },
	{ "non_envoyee", "non envoyée" },
	{ "a_traiter", "à traiter" },
	{ "rattache", "rattaché" },
	{ "classe", "classé" },
};

static int col_live(const struct model_column *c)
{
	return c->since <= MODEL_SCHEMA_VERSION;
}

const char *courrier_shown_value(const char *raw)
{
	for (size_t i = 0; i < sizeof(shown_values) / sizeof(shown_values[0]); i++)
		if (!strcmp(shown_values[i].raw, raw))
			return shown_values[i].shown;
	return raw;
}

char *courrier_clean(const char *s, int multiline)
{
	size_t n = strlen(s);
	char *out = malloc(n + 1), *o = out;
	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (multiline && c == '\r' && s[i + 1] == '\n')
			continue;
		if (multiline && (c == '\n' || c == '\t')) {
			*o++ = (char)c;
		} else if (!multiline && (c == '\n' || c == '\r' || c == '\t')) {
			*o++ = ' ';
		} else if (c < 0x20 || c == 0x7f) {
			*o++ = '?';
		} else if (c == 0xc2 && i + 1 < n && (unsigned char)s[i + 1] >= 0x80 &&
			   (unsigned char)s[i + 1] <= 0x9f) {
			/* U+0080..U+009F: 0x9b is a CSI for many terminals. */
			*o++ = '?';
			i++;
		} else {
			*o++ = (char)c;
		}
	}
	*o = 0;
	return out;
}

void courrier_id_copy(char out[COURRIER_ID_MAX + 1], const char *in, size_t n)
{
	for (size_t i = 0; i < n; i++)
		out[i] = (char)tolower((unsigned char)in[i]);
	out[n] = 0;
}

/*
 * How people name a row of t: "prenom nom" when it has both columns, else
 * its first listed text column; NULL when it has neither.
 */
static int title_expr(const struct model_table *t, struct buf *sql)
{
	if (model_column_by_name(t, "prenom") && model_column_by_name(t, "nom"))
		return buf_puts(sql, "prenom || ' ' || nom");
	for (size_t i = 0; i < t->ncolumns; i++) {
		const struct model_column *c = &t->columns[i];
		if (col_live(c) && c->kind == MODEL_TEXT && (c->flags & MODEL_LISTED))
			return buf_printf(sql, "\"%s\"", c->name);
	}
	return buf_puts(sql, "NULL");
}

/*
 * Looks up row id of t. Returns 0 with *found set, and when found and title
 * is not NULL, *title malloc'd (the row's name, or NULL when it has none).
 */
static int find_row(sqlite3 *db, const struct model_table *t, const char *id, int *found,
		    char **title)
{
	struct buf sql = BUF_INIT(4096);
	sqlite3_stmt *st = NULL;
	int rc = buf_puts(&sql, "SELECT ");
	if (!rc)
		rc = title_expr(t, &sql);
	if (!rc)
		rc = buf_printf(&sql, " FROM \"%s\" WHERE id = ?", t->name);
	if (rc)
		goto out;
	*found = 0;
	if (title)
		*title = NULL;
	rc = relais_sqlite_error(sqlite3_prepare_v2(db, buf_str(&sql), -1, &st, NULL));
	if (rc)
		goto out;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	int s = sqlite3_step(st);
	if (s == SQLITE_ROW) {
		*found = 1;
		const char *v = (const char *)sqlite3_column_text(st, 0);
		if (title && v && !(*title = strdup(v)))
			rc = RELAIS_ENOMEM;
	} else if (s != SQLITE_DONE) {
		rc = relais_sqlite_error(s);
	}
out:
	sqlite3_finalize(st);
	buf_release(&sql);
	return rc;
}

char *courrier_attached_display(sqlite3 *db, const char *raw)
{
	const char *colon = strchr(raw, ':');
	char name[64];
	if (!colon || (size_t)(colon - raw) >= sizeof(name))
		return courrier_clean(raw, 0);
	memcpy(name, raw, (size_t)(colon - raw));
	name[colon - raw] = 0;
	const struct model_table *t = model_table_by_name(name);
	char *title = NULL, *out = NULL;
	int found = 0;
	if (!t || find_row(db, t, colon + 1, &found, &title))
		return courrier_clean(raw, 0);
	size_t n = strlen(t->label) + strlen(colon + 1) + (title ? strlen(title) : 0) + 16;
	char *s = malloc(n);
	if (s) {
		if (title)
			snprintf(s, n, "%s %s (%s)", t->label, title, colon + 1);
		else
			snprintf(s, n, "%s %s%s", t->label, colon + 1, found ? "" : " (absent du réplica)");
		out = courrier_clean(s, 0);
	}
	free(s);
	free(title);
	return out;
}

/*
 * Checks that message id may still be handled: it exists, is in quarantine
 * and has no decision yet. Returns 0 or a RELAIS_E* code with the reason
 * in err.
 */
static int check_handleable(sqlite3 *db, const char *id, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int rc = RELAIS_EDB;
	if (sqlite3_prepare_v2(db, "SELECT resultat, traitement FROM " MAIL_TABLE " WHERE id = ?",
			       -1, &st, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "lecture du réplica impossible : %s", replica_errmsg(db));
		return RELAIS_EDB;
	}
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	int s = sqlite3_step(st);
	if (s == SQLITE_DONE) {
		snprintf(err, errlen, "le courrier « %s » est introuvable dans le réplica.", id);
		rc = RELAIS_ENOTFOUND;
		goto out;
	} else if (s != SQLITE_ROW) {
		snprintf(err, errlen, "lecture du réplica impossible : %s", replica_errmsg(db));
		goto out;
	}
	const char *res = (const char *)sqlite3_column_text(st, 0);
	const char *done = (const char *)sqlite3_column_text(st, 1);
	if (!res || strcmp(res, "quarantaine")) {
		snprintf(err, errlen, "le courrier « %s » n'est pas en quarantaine (résultat : %s) : "
			 "il n'y a rien à décider ; rien n'a été modifié.", id,
			 res ? courrier_shown_value(res) : "inconnu");
		rc = RELAIS_EPERM;
		goto out;
	}
	if (done && strcmp(done, "a_traiter")) {
		snprintf(err, errlen, "le courrier « %s » a déjà été traité (suite donnée : %s) ; "
			 "rien n'a été modifié.", id, courrier_shown_value(done));
		rc = RELAIS_EEXIST;
		goto out;
	}
	rc = 0;
out:
	sqlite3_finalize(st);
	return rc;
}

/*
 * Parses "TABLE:ID" (TABLE a command word) and checks the row is in the
 * replica. On success writes "<sql table>:<id>" into out. RELAIS_EINVAL
 * when target is malformed, RELAIS_ENOTFOUND for an unknown table or row.
 */
static int resolve_target(sqlite3 *db, const char *target, char *out, size_t outlen,
			  char *err, size_t errlen)
{
	const char *colon = strchr(target, ':');
	char word[64], id[ID_MAX + 1];
	if (!colon || colon == target || !colon[1] || (size_t)(colon - target) >= sizeof(word) ||
	    strlen(colon + 1) > ID_MAX) {
		snprintf(err, errlen, "--a attend TABLE:ID, par exemple --a promeneur:ID "
			 "(reçu : « %.*s »).", ID_MAX * 2, target);
		return RELAIS_EINVAL;
	}
	memcpy(word, target, (size_t)(colon - target));
	word[colon - target] = 0;
	courrier_id_copy(id, colon + 1, strlen(colon + 1));
	const struct model_table *t = model_table_by_command(word);
	if (!t || t->since > MODEL_SCHEMA_VERSION || !strcmp(t->name, MAIL_TABLE)) {
		snprintf(err, errlen, "table inconnue : « %s » (promeneur, structure, candidature, "
			 "bilan, presence, evenement, participation, demande, ressource).", word);
		return RELAIS_ENOTFOUND;
	}
	int found = 0, e = find_row(db, t, id, &found, NULL);
	if (e) {
		snprintf(err, errlen, "lecture du réplica impossible : %s", relais_strerror(e));
		return e;
	}
	if (!found) {
		snprintf(err, errlen, "%s « %s » est introuvable dans le réplica.", t->label, id);
		return RELAIS_ENOTFOUND;
	}
	snprintf(out, outlen, "%s:%s", t->name, id);
	return 0;
}

/* Records the decision on message id as one captured local edit. */
static int record_decision(struct replica *r, const char *id, const char *traitement,
			   const char *attached, char *err, size_t errlen)
{
	struct sync_capture *cap = NULL;
	int rc = sync_capture_begin(r->db, r->tables, &cap);
	if (rc) {
		snprintf(err, errlen, "écriture dans le réplica impossible : %s", relais_strerror(rc));
		return rc;
	}
	rc = domain_mail_handle(r->db, id, traitement, attached, err, errlen);
	if (rc) {
		sync_capture_abort(cap);
		if (rc == RELAIS_EEXIST)
			snprintf(err, errlen, "le courrier « %s » ne peut plus être traité ; rien n'a été "
				 "modifié.", id);
		return rc;
	}
	if ((rc = sync_capture_commit(cap))) {
		snprintf(err, errlen, "enregistrement impossible : %s ; rien n'a été modifié.",
			 relais_strerror(rc));
		return rc;
	}
	return 0;
}

int courrier_decide(struct replica *r, const char *id, const char *target,
		    char *attached, size_t attachedlen, char *err, size_t errlen)
{
	char *role = NULL;
	int rc = replica_meta(r, "role", &role);
	if (rc) {
		snprintf(err, errlen, "lecture du réplica impossible : %s", relais_strerror(rc));
		return rc;
	}
	int ro = role && !strcmp(role, "caf");
	free(role);
	if (ro) {
		snprintf(err, errlen, "ce compte (rôle caf) est en lecture seule : modification refusée.");
		return RELAIS_EPERM;
	}
	if ((rc = check_handleable(r->db, id, err, errlen)))
		return rc;
	if (!target)
		return record_decision(r, id, "classe", NULL, err, errlen);
	if ((rc = resolve_target(r->db, target, attached, attachedlen, err, errlen)))
		return rc;
	return record_decision(r, id, "rattache", attached, err, errlen);
}
