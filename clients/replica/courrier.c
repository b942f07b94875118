/*
 * courrier.c - "relais courrier": the mail gateway's journal (the replicated
 * table inbound_mail) as the coordinator reads and handles it.
 *
 * The journal is written by relaisd only (docs/mailgw.md). The coordinator
 * may only decide what becomes of a message the gateway put in quarantine:
 * attach it to an existing row ("rattacher") or file it ("classer"). Those
 * two decisions are captured local edits of the columns traitement and
 * rattache_a, synced like any other edit; the generic add/set/rm commands
 * of clients/domain.c are never offered for this table.
 *
 * Every value shown comes from a mail someone sent: control characters are
 * replaced before they reach the terminal, so that a hostile subject cannot
 * drive it with escape sequences.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../../common/buf.h"
#include "../../common/util.h"
#include "../../model/model.h"
#include "../../sync/sync.h"
#include "../cmd/cli.h"
#include "courrier.h"
#include "replica.h"

#define MAIL_TABLE COURRIER_TABLE
#define MAX_SQL (16u << 10)
#define ID_MAX 64            /* longer identifiers name nothing */

/* The message text goes last in "show": it may be long. */
#define TEXT_COLUMN "texte"

enum verb { VERB_LIST, VERB_SHOW, VERB_ATTACH, VERB_FILE };

static const struct {
	const char *word;
	enum verb verb;
	int id;       /* takes an ID */
	int json;     /* takes --json */
	int all;      /* takes --tous */
	int target;   /* takes --a TABLE:ID */
	const char *usage, *about;
} verbs[] = {
	{ "list", VERB_LIST, 0, 1, 1, 0, "[--json] [--tous]",
	  "Liste les messages en attente d'une décision (résultat « quarantaine », suite\n"
	  "donnée vide ou « à traiter »), du plus récent au plus ancien : identifiant,\n"
	  "date, expéditeur, objet, résultat.\n" },
	{ "show", VERB_SHOW, 1, 1, 0, 0, "ID [--json]",
	  "Affiche toutes les informations d'un message, une ligne « Libellé : valeur »\n"
	  "par information, puis le texte du message.\n" },
	{ "rattacher", VERB_ATTACH, 1, 0, 0, 1, "ID --a TABLE:ID",
	  "Rattache un message en quarantaine à une ligne existante du réplica et le\n"
	  "marque « rattaché ». TABLE est un mot de commande : promeneur, structure,\n"
	  "candidature, bilan, presence, evenement, participation, demande, ressource.\n"
	  "La décision est envoyée au serveur par « relais sync ».\n" },
	{ "classer", VERB_FILE, 1, 0, 0, 0, "ID",
	  "Classe un message en quarantaine sans suite (« classé »). La décision est\n"
	  "envoyée au serveur par « relais sync ».\n" },
};

struct args {
	char id[ID_MAX + 1];      /* lower-cased */
	int has_id;
	int json;
	int all;
	const char *target;       /* TABLE:ID as typed */
};

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

/* The columns of the human list, by SQL name. */
static const struct {
	const char *col;
	const char *head;
	int all_only;   /* shown by --tous only */
} list_cols[] = {
	{ "id", "Identifiant", 0 },
	{ "recu_le", "Date", 0 },
	{ "expediteur", "Expéditeur", 0 },
	{ "sujet", "Objet", 0 },
	{ "resultat", "Résultat", 0 },
	{ "reponse", "Réponse", 1 },
	{ "traitement", "Suite donnée", 1 },
};
#define NLIST (sizeof(list_cols) / sizeof(list_cols[0]))

#define WAITING_SQL COURRIER_WAITING_SQL

static const struct model_table *mail_table(void)
{
	return model_table_by_name(MAIL_TABLE);
}

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

/*
 * Returns a malloc'd copy of s fit for a terminal: C0 and C1 control
 * characters and DEL become '?', except line breaks and tabs when
 * multiline (then "\r\n" becomes "\n"). NULL on ENOMEM.
 */
static char *clean(const char *s, int multiline)
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

static const struct options_cmd courrier_cmd = {
	&cli_prog, "courrier", "SOUS-COMMANDE [OPTIONS]",
	"Journal des courriels reçus par la boîte du réseau (écrit par le serveur ;\n"
	"« relais sync » le met à jour). Un message que la passerelle n'a pas su traiter\n"
	"reste en quarantaine jusqu'à ce qu'une personne décide de sa suite.\n", NULL,
	"Le journal n'est écrit que par le serveur : pas de add, set ni rm.\n", 0, 0, NULL,
};

static void copy_id(char out[ID_MAX + 1], const char *in, size_t n)
{
	for (size_t i = 0; i < n; i++)
		out[i] = (char)tolower((unsigned char)in[i]);
	out[n] = 0;
}

/* Takes argv after the verb. Returns 0, -1 after --help, or an exit status. */
static int parse_args(int vi, int argc, char **argv, struct args *a)
{
	struct option opts[4];
	size_t k = 0;
	char cmd[64];
	const char *raw = NULL;
	int n = 0, rc;

	memset(a, 0, sizeof(*a));
	if (verbs[vi].json)
		opts[k++] = (struct option)OPT_FLAG(0, "json", &a->json,
						    "un objet JSON (show) ou un tableau JSON de\n"
						    "toutes les colonnes (list)");
	if (verbs[vi].all)
		opts[k++] = (struct option)OPT_FLAG(0, "tous", &a->all,
						    "tout le journal, avec la réponse (envoyée, "
						    "échouée…) et la\nsuite donnée ; « show ID » dit "
						    "pourquoi une réponse manque");
	if (verbs[vi].target)
		opts[k++] = (struct option)OPT_STRING_F(0, "a", &a->target, "TABLE:ID",
							"la ligne (ex. --a promeneur:ID, "
							"--a structure:ID)", OPTION_REQUIRED);
	opts[k] = (struct option)OPT_END();
	snprintf(cmd, sizeof(cmd), "courrier %s", verbs[vi].word);
	const struct options_cmd c = {
		&cli_prog, cmd, verbs[vi].usage, verbs[vi].about, opts, NULL,
		verbs[vi].id, verbs[vi].id, "identifiant",
	};
	if ((rc = options_parse_cmd(&c, argc, argv, &raw, &n)))
		return rc;
	if (raw) {
		size_t len = strlen(raw);
		if (!len || len > ID_MAX) {
			cli_error("identifiant invalide : « %.*s ».", ID_MAX, raw);
			return CLI_EXIT_FAIL;
		}
		copy_id(a->id, raw, len);
		a->has_id = 1;
	}
	return 0;
}

/* "SELECT id, dept, <every live column> FROM inbound_mail" and the filter. */
static int select_sql(const struct model_table *t, int one, int all, struct buf *sql)
{
	int e = buf_puts(sql, "SELECT id, dept");
	for (size_t i = 0; i < t->ncolumns && !e; i++) {
		if (!col_live(&t->columns[i]))
			continue;
		/* An answer withheld or refused by the SMTP server says why. */
		if (!strcmp(t->columns[i].name, "reponse"))
			e = buf_puts(sql, ", CASE WHEN reponse = 'aucune' AND reponse_motif IS NOT NULL "
				     "THEN 'non_envoyee' ELSE reponse END AS reponse");
		else
			e = buf_printf(sql, ", \"%s\"", t->columns[i].name);
	}
	if (!e)
		e = buf_puts(sql, " FROM " MAIL_TABLE);
	if (!e && one)
		e = buf_puts(sql, " WHERE id = ?");
	else if (!e && !all)
		e = buf_puts(sql, " WHERE " WAITING_SQL);
	/* recu_le is ISO 8601 UTC, so text order is time order. */
	if (!e && !one)
		e = buf_puts(sql, " ORDER BY recu_le DESC, id");
	return e;
}

/* Index of the result column named name in st, or -1. */
static int result_col(sqlite3_stmt *st, const char *name)
{
	for (int i = 0; i < sqlite3_column_count(st); i++)
		if (!strcmp(sqlite3_column_name(st, i), name))
			return i;
	return -1;
}

/* A value as people read it, malloc'd: enumerations in French, NULL as "". */
static char *display(sqlite3_stmt *st, int i, int multiline)
{
	if (sqlite3_column_type(st, i) == SQLITE_NULL)
		return strdup("");
	const char *s = (const char *)sqlite3_column_text(st, i);
	if (!s)
		return strdup("");
	const struct model_column *c = model_column_by_name(mail_table(), sqlite3_column_name(st, i));
	if (c && c->kind == MODEL_ENUM)
		s = courrier_shown_value(s);
	return clean(s, multiline);
}

static char *cell(sqlite3_stmt *st, int i)
{
	return cli_cell_fit(display(st, i, 0));
}

static int list_human(sqlite3_stmt *st, int all)
{
	int idx[NLIST];
	size_t ncols = 0, width[NLIST];
	char **cells = NULL;
	size_t nrows = 0, alloc = 0, ncells = 0;
	int rc = CLI_EXIT_FAIL, s;

	for (size_t k = 0; k < NLIST; k++) {
		if (list_cols[k].all_only && !all)
			continue;
		idx[ncols] = result_col(st, list_cols[k].col);
		if (idx[ncols] < 0) {
			cli_error("lecture du réplica impossible : colonne %s absente.", list_cols[k].col);
			return CLI_EXIT_FAIL;
		}
		width[ncols] = cli_utf8_width(list_cols[k].head, strlen(list_cols[k].head));
		ncols++;
	}
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		if (nrows == alloc) {
			size_t na = alloc ? alloc * 2 : 64;
			char **nc = realloc(cells, na * ncols * sizeof(*nc));
			if (!nc)
				goto nomem;
			cells = nc;
			alloc = na;
		}
		for (size_t k = 0; k < ncols; k++) {
			char *v = cell(st, idx[k]);
			if (!v)
				goto nomem;
			cells[ncells++] = v;
			size_t w = cli_utf8_width(v, strlen(v));
			if (w > width[k])
				width[k] = w;
		}
		nrows++;
	}
	if (s != SQLITE_DONE) {
		cli_error("lecture du réplica impossible.");
		goto out;
	}
	if (!nrows) {
		printf(all ? "Aucun courrier dans le journal.\n"
			   : "Aucun courrier en attente.\n");
		rc = 0;
		goto out;
	}
	size_t shown = 0;
	for (size_t k = 0; k < NLIST; k++)
		if (!list_cols[k].all_only || all) {
			cli_print_padded(list_cols[k].head, width[shown], shown == ncols - 1);
			shown++;
		}
	putchar('\n');
	for (size_t i = 0; i < nrows; i++) {
		for (size_t k = 0; k < ncols; k++) {
			int rest_empty = 1;
			for (size_t j = k + 1; j < ncols; j++)
				rest_empty &= !cells[i * ncols + j][0];
			cli_print_padded(cells[i * ncols + k], width[k], k == ncols - 1 || rest_empty);
		}
		putchar('\n');
	}
	rc = 0;
	goto out;
nomem:
	cli_error("%s", relais_strerror(RELAIS_ENOMEM));
out:
	for (size_t i = 0; i < ncells; i++)
		free(cells[i]);
	free(cells);
	return rc;
}

static int do_list(struct replica *r, const struct args *a)
{
	struct buf sql = BUF_INIT(MAX_SQL);
	sqlite3_stmt *st = NULL;
	int rc = CLI_EXIT_FAIL;

	if (select_sql(mail_table(), 0, a->all, &sql) ||
	    sqlite3_prepare_v2(r->db, buf_str(&sql), -1, &st, NULL) != SQLITE_OK) {
		cli_error("lecture du réplica impossible : %s", replica_errmsg(r->db));
		goto out;
	}
	if (!a->json) {
		rc = list_human(st, a->all);
		goto out;
	}
	rc = replica_print_rows(r, st);
out:
	sqlite3_finalize(st);
	buf_release(&sql);
	return rc;
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
		return clean(raw, 0);
	memcpy(name, raw, (size_t)(colon - raw));
	name[colon - raw] = 0;
	const struct model_table *t = model_table_by_name(name);
	char *title = NULL, *out = NULL;
	int found = 0;
	if (!t || find_row(db, t, colon + 1, &found, &title))
		return clean(raw, 0);
	size_t n = strlen(t->label) + strlen(colon + 1) + (title ? strlen(title) : 0) + 16;
	char *s = malloc(n);
	if (s) {
		if (title)
			snprintf(s, n, "%s %s (%s)", t->label, title, colon + 1);
		else
			snprintf(s, n, "%s %s%s", t->label, colon + 1, found ? "" : " (absent du réplica)");
		out = clean(s, 0);
	}
	free(s);
	free(title);
	return out;
}

static void not_found(const char *id)
{
	cli_error("le courrier « %s » est introuvable dans le réplica.", id);
}

static int show_human(sqlite3 *db, sqlite3_stmt *st)
{
	const struct model_table *t = mail_table();
	int text = -1;
	for (int i = 0; i < sqlite3_column_count(st); i++) {
		const char *name = sqlite3_column_name(st, i);
		const struct model_column *c = model_column_by_name(t, name);
		const char *label = i == 0 ? "Identifiant" : i == 1 ? "Département" : c ? c->label : name;
		if (!strcmp(name, TEXT_COLUMN)) {
			text = i;
			continue;
		}
		char *v;
		if (!strcmp(name, "rattache_a") && sqlite3_column_type(st, i) != SQLITE_NULL)
			v = courrier_attached_display(db, (const char *)sqlite3_column_text(st, i));
		else
			v = display(st, i, c && (c->flags & MODEL_MULTILINE));
		if (!v)
			goto nomem;
		cli_print_field(label, v);
		free(v);
	}
	if (text >= 0) {
		const struct model_column *c = model_column_by_name(t, TEXT_COLUMN);
		char *v = display(st, text, 1);
		if (!v)
			goto nomem;
		size_t n = strlen(v);
		printf("\n%s :\n%s%s", c ? c->label : TEXT_COLUMN, n ? v : "(vide)\n",
		       n && v[n - 1] != '\n' ? "\n" : "");
		free(v);
	}
	return 0;
nomem:
	cli_error("%s", relais_strerror(RELAIS_ENOMEM));
	return CLI_EXIT_FAIL;
}

static int do_show(struct replica *r, const struct args *a)
{
	struct buf sql = BUF_INIT(MAX_SQL);
	sqlite3_stmt *st = NULL;
	json_t *obj = NULL;
	int rc = CLI_EXIT_FAIL;

	if (select_sql(mail_table(), 1, 1, &sql) ||
	    sqlite3_prepare_v2(r->db, buf_str(&sql), -1, &st, NULL) != SQLITE_OK) {
		cli_error("lecture du réplica impossible : %s", replica_errmsg(r->db));
		goto out;
	}
	sqlite3_bind_text(st, 1, a->id, -1, SQLITE_STATIC);
	int s = sqlite3_step(st);
	if (s == SQLITE_DONE) {
		not_found(a->id);
		goto out;
	} else if (s != SQLITE_ROW) {
		cli_error("lecture du réplica impossible : %s", replica_errmsg(r->db));
		goto out;
	}
	if (!a->json) {
		rc = show_human(r->db, st);
		goto out;
	}
	if (!(obj = replica_row_json(st)) || replica_print_json(obj)) {
		cli_error("%s", relais_strerror(RELAIS_ENOMEM));
		goto out;
	}
	putchar('\n');
	rc = 0;
out:
	json_decref(obj);
	sqlite3_finalize(st);
	buf_release(&sql);
	return rc;
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
	copy_id(id, colon + 1, strlen(colon + 1));
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

static int do_decide(struct replica *r, enum verb v, const struct args *a)
{
	char attached[128], err[CLI_ERRLEN];
	if (replica_read_only(r))
		return CLI_EXIT_FAIL;
	int e = courrier_decide(r, a->id, v == VERB_ATTACH ? a->target : NULL, attached,
				sizeof(attached), err, sizeof(err));
	if (e) {
		cli_error("%s", err);
		return e == RELAIS_EINVAL ? CLI_EXIT_USAGE : CLI_EXIT_FAIL;
	}
	if (v == VERB_ATTACH)
		printf("Courrier rattaché (%s) ; envoyé au serveur au prochain « relais sync ».\n",
		       attached);
	else
		printf("Courrier classé ; envoyé au serveur au prochain « relais sync ».\n");
	return 0;
}

int cmd_courrier(const char *home, int argc, char **argv)
{
	struct replica r;
	struct args a;
	char err[CLI_ERRLEN];
	int vi = -1, rc;

	if (!mail_table()) {
		cli_error("commande inconnue : « %s » (voir relais --help).", argv[0]);
		return CLI_EXIT_USAGE;
	}
	if (argc < 2 || cli_is_help(argv[1])) {
		options_help(argc < 2 ? stderr : stdout, &courrier_cmd);
		return argc < 2 ? CLI_EXIT_USAGE : 0;
	}
	if (!strcmp(argv[1], "add") || !strcmp(argv[1], "set") || !strcmp(argv[1], "rm")) {
		cli_error("« relais courrier %s » n'existe pas : le journal du courrier est écrit "
			  "par le serveur. Commandes : list, show, rattacher, classer.", argv[1]);
		return CLI_EXIT_USAGE;
	}
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (!strcmp(argv[1], verbs[i].word))
			vi = (int)i;
	if (vi < 0) {
		cli_error("commande inconnue : « relais courrier %s » (commandes : list, show, "
			  "rattacher, classer).", argv[1]);
		return CLI_EXIT_USAGE;
	}
	rc = parse_args(vi, argc - 2, argv + 2, &a);
	if (rc)
		return rc < 0 ? 0 : rc;
	if (replica_open(&r, home, 0, err, sizeof(err))) {
		cli_error("%s", err);
		return CLI_EXIT_FAIL;
	}
	enum verb v = verbs[vi].verb;
	switch (v) {
	case VERB_LIST: rc = do_list(&r, &a); break;
	case VERB_SHOW: rc = do_show(&r, &a); break;
	case VERB_ATTACH:
	case VERB_FILE: rc = do_decide(&r, v, &a); break;
	}
	replica_close(&r);
	return rc;
}
