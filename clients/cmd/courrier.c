/*
 * courrier.c - "relais courrier": lists and shows the mail gateway's
 * journal (the replicated table inbound_mail) and records the
 * coordinator's decisions on quarantined messages (replica/courrier.h).
 *
 * Every value printed goes through courrier_clean(): it comes from a mail
 * someone sent, and must not drive the terminal.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../../common/buf.h"
#include "../../common/util.h"
#include "../../model/model.h"
#include "../../sync/sync.h"
#include "../replica/courrier.h"
#include "../replica/replica.h"
#include "cli.h"

#define MAIL_TABLE COURRIER_TABLE
#define MAX_SQL (16u << 10)
#define ID_MAX COURRIER_ID_MAX

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
	{ "liste", VERB_LIST, 0, 1, 1, 0, "[--json] [--tous]",
	  "Liste les messages en attente d'une décision (résultat « quarantaine », suite\n"
	  "donnée vide ou « à traiter »), du plus récent au plus ancien : identifiant,\n"
	  "date, expéditeur, objet, résultat.\n" },
	{ "voir", VERB_SHOW, 1, 1, 0, 0, "ID [--json]",
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

static const struct options_cmd courrier_cmd = {
	&cli_prog, "courrier", "SOUS-COMMANDE [OPTIONS]",
	"Journal des courriels reçus par la boîte du réseau (écrit par le serveur ;\n"
	"« relais sync » le met à jour). Un message que la passerelle n'a pas su traiter\n"
	"reste en quarantaine jusqu'à ce qu'une personne décide de sa suite.\n", NULL,
	"Le journal n'est écrit que par le serveur : pas de add, set ni rm.\n", 0, 0, NULL,
};

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
						    "un objet JSON (voir) ou un tableau JSON de\n"
						    "toutes les colonnes (liste)");
	if (verbs[vi].all)
		opts[k++] = (struct option)OPT_FLAG(0, "tous", &a->all,
						    "tout le journal, avec la réponse (envoyée, "
						    "échouée…) et la\nsuite donnée ; « voir ID » dit "
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
		courrier_id_copy(a->id, raw, len);
		a->has_id = 1;
	}
	return 0;
}

/* "SELECT id, dept, <every live column> FROM inbound_mail" and the filter. */
static int select_sql(const struct model_table *t, int one, int all, struct buf *sql)
{
	int e = buf_puts(sql, "SELECT id, dept");
	for (size_t i = 0; i < t->ncolumns && !e; i++) {
		if (t->columns[i].since > MODEL_SCHEMA_VERSION)
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
	return courrier_clean(s, multiline);
}

static char *cell(sqlite3_stmt *st, int i)
{
	return cli_cell_fit(display(st, i, 0));
}

static int list_human(sqlite3_stmt *st, const void *arg)
{
	int all = ((const struct args *)arg)->all;
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
	int rc = cli_list(r, select_sql(mail_table(), 0, a->all, &sql), &sql, a->json, list_human, a);
	buf_release(&sql);
	return rc;
}

static void not_found(const char *id)
{
	cli_error("le courrier « %s » est introuvable dans le réplica.", id);
}

static int show_human(sqlite3_stmt *st, const void *arg)
{
	sqlite3 *db = ((const struct replica *)arg)->db;
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
	int rc = cli_show(r, select_sql(mail_table(), 1, 1, &sql), &sql, a->id, a->json, show_human, r);
	buf_release(&sql);
	if (rc == RELAIS_ENOTFOUND) {
		not_found(a->id);
		rc = CLI_EXIT_FAIL;
	}
	return rc;
}

static int do_decide(struct replica *r, enum verb v, const struct args *a)
{
	char attached[128], err[CLI_ERRLEN];
	if (cli_read_only(r))
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
	int vi = -1, rc;

	if (!mail_table()) {
		cli_error("commande inconnue : « %s » (voir relais --help).", argv[0]);
		return CLI_EXIT_USAGE;
	}
	if (argc < 2 || cli_is_help(argv[1])) {
		options_help(argc < 2 ? stderr : stdout, &courrier_cmd);
		return argc < 2 ? CLI_EXIT_USAGE : 0;
	}
	if (!strcmp(argv[1], "ajouter") || !strcmp(argv[1], "modifier") ||
	    !strcmp(argv[1], "supprimer")) {
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
	if (cli_open(&r, home))
		return CLI_EXIT_FAIL;
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
