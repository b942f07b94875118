/*
 * domain.c - add, set, rm, list and show for every table of the model, with
 * one implementation driven by struct model_table: flags, labels, checks and
 * output all come from model/.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../../common/buf.h"
#include "../../common/utf8.h"
#include "../../common/util.h"
#include "../../model/domain.h"
#include "../../model/model.h"
#include "cli.h"
#include "../replica/replica.h"

#define MAX_FIELDS 128
#define MAX_SQL (64u << 10)
#define FLAG_MAX 64
#define HELP_MAX 1024

enum verb { VERB_ADD, VERB_SET, VERB_RM, VERB_LIST, VERB_SHOW };

static const struct {
	const char *word;
	enum verb verb;
	int id;      /* takes an ID */
	int fields;  /* takes column flags */
	int json;    /* takes --json */
	const char *usage;
} verbs[] = {
	{ "ajouter", VERB_ADD, 0, 1, 0, "OPTIONS" },
	{ "modifier", VERB_SET, 1, 1, 0, "ID OPTIONS" },
	{ "supprimer", VERB_RM, 1, 0, 0, "ID" },
	{ "liste", VERB_LIST, 0, 0, 1, "[--json]" },
	{ "voir", VERB_SHOW, 1, 0, 1, "ID [--json]" },
};

struct field {
	const struct model_column *col;
	const char *raw;   /* as typed */
	char *val;         /* normalised by model_check_value; NULL stores NULL */
};

struct args {
	const char *id;
	int json;
	struct field fields[MAX_FIELDS];
	size_t nfields;
};

static void args_release(struct args *a)
{
	for (size_t i = 0; i < a->nfields; i++)
		free(a->fields[i].val);
	a->nfields = 0;
}

/* Columns added by a later schema than this program's do not exist here. */
static int col_live(const struct model_column *c)
{
	return c->since <= MODEL_SCHEMA_VERSION;
}

static const char *placeholder(const struct model_column *c)
{
	switch (c->kind) {
	case MODEL_TEXT: return "TEXTE";
	case MODEL_INT: return "NOMBRE";
	case MODEL_BOOL: return "oui|non";
	case MODEL_DATE: return "AAAA-MM-JJ";
	case MODEL_EMAIL: return "COURRIEL";
	case MODEL_PHONE: return "TÉLÉPHONE";
	case MODEL_URL: return "URL";
	case MODEL_ENUM: return "VALEUR";
	case MODEL_REF: return "ID";
	}
	return "VALEUR";
}

/* "le promeneur" → "du promeneur", "la structure" → "de la structure",
 * "l'événement" → "de l'événement": a table's label after "de". */
static void of_label(const char *label, char *out, size_t outlen)
{
	if (!strncmp(label, "le ", 3))
		snprintf(out, outlen, "du %s", label + 3);
	else if (!strncmp(label, "les ", 4))
		snprintf(out, outlen, "des %s", label + 4);
	else
		snprintf(out, outlen, "de %s", label);
}

/* Appends to out[*n..outlen) as snprintf would; a text that does not fit
 * is cut (help lines are far below HELP_MAX). */
static void add_text(char *out, size_t outlen, size_t *n, const char *fmt, ...)
	RELAIS_PRINTF(4, 5);
static void add_text(char *out, size_t outlen, size_t *n, const char *fmt, ...)
{
	va_list ap;
	if (*n >= outlen)
		return;
	va_start(ap, fmt);
	int w = vsnprintf(out + *n, outlen - *n, fmt, ap);
	va_end(ap);
	if (w > 0)
		*n += (size_t)w;
}

/* The help of a column's option: its label, then what it accepts. */
static void column_help(const struct model_column *c, int creating, char *out, size_t outlen)
{
	size_t n = 0;
	add_text(out, outlen, &n, "%s", c->label);
	if (creating && (c->flags & MODEL_REQUIRED))
		add_text(out, outlen, &n, " (obligatoire)");
	if (c->kind == MODEL_ENUM && c->values) {
		add_text(out, outlen, &n, " ; valeurs :");
		for (size_t i = 0; c->values[i]; i++)
			add_text(out, outlen, &n, "%s %s", i ? "," : "", c->values[i]);
	} else if (c->kind == MODEL_INT) {
		add_text(out, outlen, &n, " ; de %lld à %lld", c->min, c->max);
	} else if (c->kind == MODEL_REF) {
		const struct model_table *rt = model_table_by_name(c->ref);
		char of[128];
		of_label(rt ? rt->label : c->ref, of, sizeof(of));
		add_text(out, outlen, &n, " ; identifiant %s", of);
	}
	if (c->flags & MODEL_PERSONAL)
		add_text(out, outlen, &n, " [donnée personnelle]");
}

/* One option per live column of a table, for add and set: the flag and
 * help texts live here while the command runs. */
struct column_opt {
	const struct model_column *col;
	struct args *a;
	char flag[FLAG_MAX];
	char help[HELP_MAX];
};

static int take_column(const struct option *o, const char *value, char *err, size_t errlen)
{
	const struct column_opt *co = o->value;
	struct args *a = co->a;
	if (a->nfields == MAX_FIELDS) {
		snprintf(err, errlen, "trop d'options");
		return -1;
	}
	a->fields[a->nfields].col = co->col;
	a->fields[a->nfields].raw = value;
	a->nfields++;
	return 0;
}

/* Takes argv after the verb. Returns 0, -1 after --help, or an exit status. */
static int parse_args(const struct model_table *t, int vi, int argc, char **argv, struct args *a)
{
	/* Static for their size (the help texts of every column): relais runs
	 * one command per process. */
	static struct column_opt cols[MAX_FIELDS];
	static struct option opts[MAX_FIELDS + 2];
	size_t k = 0;
	char cmd[128];
	char about[512];
	int n = 0, rc;

	memset(a, 0, sizeof(*a));
	enum verb v = verbs[vi].verb;
	if (verbs[vi].json)
		opts[k++] = (struct option)OPT_FLAG(0, "json", &a->json,
						    v == VERB_LIST ? "un tableau JSON de toutes les colonnes"
								   : "un objet JSON");
	for (size_t i = 0; verbs[vi].fields && i < t->ncolumns && k < MAX_FIELDS; i++) {
		const struct model_column *c = &t->columns[i];
		struct column_opt *co = &cols[k];
		if (!col_live(c) || model_column_flag(c, co->flag, sizeof(co->flag)))
			continue;
		co->col = c;
		co->a = a;
		column_help(c, v == VERB_ADD, co->help, sizeof(co->help));
		opts[k++] = (struct option)OPT_CALLBACK(0, co->flag, co, placeholder(c), co->help, 0,
							 take_column);
	}
	opts[k] = (struct option)OPT_END();
	snprintf(cmd, sizeof(cmd), "%s %s", t->command, verbs[vi].word);
	switch (v) {
	case VERB_ADD:
		snprintf(about, sizeof(about), "Crée %s et affiche son identifiant.\n", t->label);
		break;
	case VERB_SET:
		snprintf(about, sizeof(about), "Modifie %s ; au moins une option ; une valeur vide "
			 "(--option \"\") efface une colonne facultative.\n", t->label);
		break;
	case VERB_RM:
		snprintf(about, sizeof(about), "Supprime %s.\n", t->label);
		break;
	case VERB_LIST:
		snprintf(about, sizeof(about), "Liste les %s, triés par identifiant.\n", t->plural);
		break;
	case VERB_SHOW:
		snprintf(about, sizeof(about),
			 "Affiche %s, une ligne « Libellé : valeur » par colonne.\n", t->label);
		break;
	}
	const struct options_cmd c = {
		&cli_prog, cmd, verbs[vi].usage, about, opts, NULL, verbs[vi].id, verbs[vi].id,
		"identifiant",
	};
	rc = options_parse_cmd(&c, argc, argv, &a->id, &n);
	return rc;
}

static void help_table(FILE *f, const struct model_table *t)
{
	char usage[64], about[1024];
	snprintf(usage, sizeof(usage), "COMMANDE [OPTIONS]");
	snprintf(about, sizeof(about),
		 "Gère les %s du réplica local (sans réseau ; « relais sync » envoie les "
		 "modifications).\n\n"
		 "Commandes :\n"
		 "  ajouter OPTIONS      crée %s et affiche son identifiant\n"
		 "  modifier ID OPTIONS  modifie %s (une valeur vide efface une colonne facultative)\n"
		 "  supprimer ID         supprime %s\n"
		 "  liste [--json]       liste les %s\n"
		 "  voir ID [--json]     affiche %s\n",
		 t->plural, t->label, t->label, t->label, t->plural, t->label);
	char footer[128];
	snprintf(footer, sizeof(footer), "Options d'une commande : relais %s ajouter --help\n",
		 t->command);
	const struct options_cmd c = {
		&cli_prog, t->command, usage, about, NULL, footer, 0, 0, NULL,
	};
	options_help(f, &c);
}

static void not_found(const struct model_table *t, const char *id)
{
	cli_error("%s « %s » est introuvable dans le réplica.", t->label, id);
}

/* Checks and normalises every typed value (the model's rules, references
 * against the replica). Returns 0 or CLI_EXIT_FAIL with the message printed. */
static int check_fields(struct replica *r, struct args *a)
{
	for (size_t i = 0; i < a->nfields; i++) {
		struct field *f = &a->fields[i];
		char err[CLI_ERRLEN];
		if (!utf8_valid_str(f->raw)) {
			cli_error("%s : la valeur n'est pas un texte UTF-8 valide.", f->col->label);
			return CLI_EXIT_FAIL;
		}
		size_t outlen = strlen(f->raw) + 64;
		char *out = malloc(outlen);
		if (!out) {
			cli_error("%s", relais_strerror(RELAIS_ENOMEM));
			return CLI_EXIT_FAIL;
		}
		int e = domain_check_value(r->db, f->col, f->raw, out, outlen, err, sizeof(err));
		if (e) {
			cli_error("%s", e == RELAIS_EINVAL ? err : relais_strerror(e));
			free(out);
			return CLI_EXIT_FAIL;
		}
		if (!out[0]) {
			free(out);
			out = NULL;
		}
		f->val = out;
	}
	return 0;
}

/*
 * Runs one write of the domain layer inside a captured local transaction,
 * so that the edit and what its workflow implies are queued for the next
 * sync in the same commit. Prints what went wrong, or the workflow's note.
 */
static int captured_write(struct replica *r, const struct model_table *t, const char *id,
			  const struct args *a, struct domain_result *res)
{
	struct sync_capture *cap = NULL;
	struct domain_value v[MAX_FIELDS];
	char err[CLI_ERRLEN], today[DOMAIN_DATE_LEN + 1], *dept = NULL;
	int rc;

	if (!id && (replica_meta(r, "dept", &dept) || !dept)) {
		cli_error("le département du compte est inconnu : relancez « relais init ».");
		return CLI_EXIT_FAIL;
	}
	for (size_t i = 0; a && i < a->nfields; i++)
		v[i] = (struct domain_value){ a->fields[i].col, a->fields[i].val };
	domain_today(today);
	rc = sync_capture_begin(r->db, r->tables, &cap);
	if (rc) {
		cli_error("écriture dans le réplica impossible : %s", relais_strerror(rc));
		free(dept);
		return CLI_EXIT_FAIL;
	}
	err[0] = 0;
	if (a)
		rc = domain_write(r->db, t, id, dept, v, a->nfields, today, res, err, sizeof(err));
	else
		rc = domain_delete(r->db, t, id, err, sizeof(err));
	free(dept);
	if (rc) {
		sync_capture_abort(cap);
		if (rc == RELAIS_ECONSTRAINT)
			cli_error("%s ; rien n'a été modifié.", err);
		else if (rc == RELAIS_EINVAL || rc == RELAIS_ENOTFOUND || rc == RELAIS_EEXIST)
			cli_error("%s", err);
		else
			cli_error("écriture dans le réplica impossible : %s", err[0] ? err : relais_strerror(rc));
		return CLI_EXIT_FAIL;
	}
	if ((rc = sync_capture_commit(cap))) {
		cli_error("enregistrement impossible : %s ; rien n'a été modifié.", relais_strerror(rc));
		return CLI_EXIT_FAIL;
	}
	return 0;
}

static int do_add(struct replica *r, const struct model_table *t, struct args *a)
{
	struct buf missing = BUF_INIT(4096);
	struct domain_result res;
	int rc = CLI_EXIT_FAIL;

	/* All the missing options at once, as flags: the person types them next. */
	for (size_t i = 0; i < t->ncolumns; i++) {
		const struct model_column *c = &t->columns[i];
		if (!col_live(c) || !(c->flags & MODEL_REQUIRED))
			continue;
		size_t k = 0;
		while (k < a->nfields && a->fields[k].col != c)
			k++;
		if (k == a->nfields) {
			char flag[FLAG_MAX] = "";
			if (model_column_flag(c, flag, sizeof(flag)) || buf_printf(&missing, "%s--%s (%s)", missing.len ? ", " : "", flag, c->label))
				goto out;
		}
	}
	if (missing.len) {
		cli_error("il manque des valeurs obligatoires : %s.", buf_str(&missing));
		goto out;
	}
	if (check_fields(r, a) || captured_write(r, t, NULL, a, &res))
		goto out;
	printf("%s\n", res.id);
	if (res.note[0])
		fprintf(stderr, "%s\n", res.note);
	rc = 0;
out:
	buf_release(&missing);
	return rc;
}

static int do_set(struct replica *r, const struct model_table *t, struct args *a)
{
	struct domain_result res;

	if (!a->nfields) {
		cli_error("rien à modifier : donnez au moins une option (voir relais %s modifier --help).",
			  t->command);
		return CLI_EXIT_FAIL;
	}
	if (check_fields(r, a) || captured_write(r, t, a->id, a, &res))
		return CLI_EXIT_FAIL;
	printf("Modification enregistrée.\n");
	if (res.note[0])
		printf("%s\n", res.note);
	return 0;
}

/* Rows elsewhere still naming the deleted one are not an error (sync never
 * enforces references, another replica may hold them too), but the person
 * should know. */
static void warn_references(struct replica *r, const struct model_table *t, const char *id)
{
	for (size_t i = 0; i < model_ntables; i++) {
		const struct model_table *u = &model_tables[i];
		for (size_t j = 0; j < u->ncolumns; j++) {
			const struct model_column *c = &u->columns[j];
			if (!col_live(c) || c->kind != MODEL_REF || strcmp(c->ref, t->name))
				continue;
			char sql[256];
			sqlite3_stmt *st = NULL;
			snprintf(sql, sizeof(sql), "SELECT count(*) FROM \"%s\" WHERE \"%s\" = ?",
				 u->name, c->name);
			if (sqlite3_prepare_v2(r->db, sql, -1, &st, NULL) != SQLITE_OK)
				continue;
			sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
			if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int64(st, 0) > 0)
				fprintf(stderr, "relais : attention, des %s (%lld) désignent encore "
					"%s supprimé(e) (colonne « %s »).\n", u->plural,
					(long long)sqlite3_column_int64(st, 0), t->label, c->label);
			sqlite3_finalize(st);
		}
	}
}

static int do_rm(struct replica *r, const struct model_table *t, struct args *a)
{
	if (captured_write(r, t, a->id, NULL, NULL))
		return CLI_EXIT_FAIL;
	warn_references(r, t, a->id);
	printf("Suppression enregistrée.\n");
	return 0;
}

/* How people name a row of t (domain_title_sql), "NULL" when nothing does. */
static int title_expr(const struct model_table *t, struct buf *sql)
{
	int rc = domain_title_sql(t, sql);
	return rc == RELAIS_ENOTFOUND ? buf_puts(sql, "NULL") : rc;
}

static int select_sql(const struct model_table *t, int one, int titles, struct buf *sql)
{
	int e = buf_puts(sql, "SELECT x.id, x.dept");
	for (size_t i = 0; i < t->ncolumns && !e; i++) {
		const struct model_column *c = &t->columns[i];
		const struct model_table *ref = c->kind == MODEL_REF ? model_table_by_name(c->ref) : NULL;
		if (!col_live(c))
			continue;
		if (!titles || !ref) {
			e = buf_printf(sql, ", x.\"%s\"", c->name);
			continue;
		}
		e = buf_puts(sql, ", coalesce((SELECT ");
		if (!e)
			e = title_expr(ref, sql);
		if (!e && one)
			e = buf_printf(sql, " || ' (' || r.id || ')'");
		if (!e)
			e = buf_printf(sql, " FROM \"%s\" r WHERE r.id = x.\"%s\"), x.\"%s\")",
				       ref->name, c->name, c->name);
	}
	if (!e)
		e = buf_printf(sql, " FROM \"%s\" x %s", t->name, one ? "WHERE x.id = ?" : "ORDER BY x.id");
	return e;
}

/* Result column i of select_sql's statement is model column col_at(t, i). */
static const struct model_column *col_at(const struct model_table *t, int i)
{
	int k = 2;
	for (size_t j = 0; j < t->ncolumns; j++) {
		if (!col_live(&t->columns[j]))
			continue;
		if (k++ == i)
			return &t->columns[j];
	}
	return NULL;
}

static const char *head_label(const struct model_table *t, int i)
{
	if (i == 0)
		return "Identifiant";
	if (i == 1)
		return "Département";
	const struct model_column *c = col_at(t, i);
	return c ? c->label : "?";
}

/* A value as people read it: booleans as oui/non, values of a list by their
 * French label (« labellisé »), dates in words (« 1er mars 2026 »), NULL as
 * empty. */
static char *display(const struct model_column *c, sqlite3_stmt *st, int i)
{
	if (sqlite3_column_type(st, i) == SQLITE_NULL)
		return strdup("");
	if (c && c->kind == MODEL_BOOL)
		return strdup(sqlite3_column_int64(st, i) ? "oui" : "non");
	const char *s = (const char *)sqlite3_column_text(st, i);
	if (c && c->kind == MODEL_ENUM)
		return strdup(model_value_label(s));
	if (c && c->kind == MODEL_DATE) {
		char fr[UTIL_DATE_FR_LEN];
		return strdup(util_date_fr(s, fr, sizeof(fr)));
	}
	return strdup(s ? s : "");
}

static char *cell(const struct model_column *c, sqlite3_stmt *st, int i)
{
	char *s = display(c, st, i);
	if (!s)
		return NULL;
	for (char *p = s; *p; p++)
		if (*p == '\n' || *p == '\r' || *p == '\t')
			*p = ' ';
	return cli_cell_fit(s);
}

static int do_list_human(sqlite3_stmt *st, const void *arg)
{
	const struct model_table *t = arg;
	/* The human table keeps the id and the MODEL_LISTED columns. */
	int cols[MAX_FIELDS + 2], ncols = 0;
	size_t width[MAX_FIELDS + 2];
	char **cells = NULL;
	size_t nrows = 0, alloc = 0;
	int rc = CLI_EXIT_FAIL, nomem = 1, s;

	cols[ncols++] = 0;
	for (int i = 2; i < sqlite3_column_count(st) && ncols < MAX_FIELDS + 2; i++) {
		const struct model_column *c = col_at(t, i);
		if (c && (c->flags & MODEL_LISTED))
			cols[ncols++] = i;
	}
	for (int k = 0; k < ncols; k++) {
		const char *h = head_label(t, cols[k]);
		width[k] = cli_utf8_width(h, strlen(h));
	}
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		if (nrows == alloc) {
			size_t na = alloc ? alloc * 2 : 64;
			char **nc = realloc(cells, na * (size_t)ncols * sizeof(*nc));
			if (!nc)
				goto out;
			cells = nc;
			alloc = na;
		}
		for (int k = 0; k < ncols; k++) {
			char *v = cell(col_at(t, cols[k]), st, cols[k]);
			cells[nrows * (size_t)ncols + (size_t)k] = v;
			if (!v) {
				for (int j = k + 1; j < ncols; j++)
					cells[nrows * (size_t)ncols + (size_t)j] = NULL;
				nrows++;
				goto out;
			}
			size_t w = cli_utf8_width(v, strlen(v));
			if (w > width[k])
				width[k] = w;
		}
		nrows++;
	}
	nomem = 0;
	if (s != SQLITE_DONE) {
		cli_error("lecture du réplica impossible : %s", replica_errmsg(sqlite3_db_handle(st)));
		goto out;
	}
	if (!nrows) {
		printf("Aucun enregistrement (%s).\n", t->plural);
		rc = 0;
		goto out;
	}
	for (int k = 0; k < ncols; k++)
		cli_print_padded(head_label(t, cols[k]), width[k], k == ncols - 1);
	putchar('\n');
	for (size_t i = 0; i < nrows; i++) {
		for (int k = 0; k < ncols; k++)
			cli_print_padded(cells[i * (size_t)ncols + (size_t)k], width[k], k == ncols - 1);
		putchar('\n');
	}
	rc = 0;
out:
	for (size_t i = 0; i < nrows * (size_t)ncols; i++)
		free(cells[i]);
	free(cells);
	if (rc && nomem)
		cli_error("%s", relais_strerror(RELAIS_ENOMEM));
	return rc;
}

static int do_list(struct replica *r, const struct model_table *t, struct args *a)
{
	struct buf sql = BUF_INIT(MAX_SQL);
	int rc = cli_list(r, select_sql(t, 0, !a->json, &sql), &sql, a->json, do_list_human, t);
	buf_release(&sql);
	return rc;
}

/* "Label : value" for each column of the row of st, of table arg. */
static int show_human(sqlite3_stmt *st, const void *arg)
{
	const struct model_table *t = arg;
	for (int i = 0; i < sqlite3_column_count(st); i++) {
		const struct model_column *c = i >= 2 ? col_at(t, i) : NULL;
		char *v = display(c, st, i);
		if (!v) {
			cli_error("%s", relais_strerror(RELAIS_ENOMEM));
			return CLI_EXIT_FAIL;
		}
		cli_print_field(head_label(t, i), v);
		free(v);
	}
	return 0;
}

static int do_show(struct replica *r, const struct model_table *t, struct args *a)
{
	struct buf sql = BUF_INIT(MAX_SQL);
	int rc = cli_show(r, select_sql(t, 1, !a->json, &sql), &sql, a->id, a->json, show_human, t);
	buf_release(&sql);
	if (rc == RELAIS_ENOTFOUND) {
		not_found(t, a->id);
		rc = CLI_EXIT_FAIL;
	}
	return rc;
}

int cmd_domain(const char *home, int argc, char **argv)
{
	const struct model_table *t = model_table_by_command(argv[0]);
	struct replica r;
	struct args a;
	int vi = -1, rc;

	if (!t || t->since > MODEL_SCHEMA_VERSION) {
		cli_error("commande inconnue : « %s » (voir relais --help).", argv[0]);
		return CLI_EXIT_USAGE;
	}
	if (argc < 2 || cli_is_help(argv[1])) {
		help_table(argc < 2 ? stderr : stdout, t);
		return argc < 2 ? CLI_EXIT_USAGE : 0;
	}
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (!strcmp(argv[1], verbs[i].word))
			vi = (int)i;
	if (vi < 0) {
		cli_error("commande inconnue : « relais %s %s » (commandes : ajouter, modifier, "
			  "supprimer, liste, voir).", t->command, argv[1]);
		return CLI_EXIT_USAGE;
	}
	rc = parse_args(t, vi, argc - 2, argv + 2, &a);
	if (rc)
		return rc < 0 ? 0 : rc;
	if (cli_open(&r, home))
		return CLI_EXIT_FAIL;
	enum verb v = verbs[vi].verb;
	if ((v == VERB_ADD || v == VERB_SET || v == VERB_RM) && cli_read_only(&r)) {
		rc = CLI_EXIT_FAIL;
		goto out;
	}
	switch (v) {
	case VERB_ADD: rc = do_add(&r, t, &a); break;
	case VERB_SET: rc = do_set(&r, t, &a); break;
	case VERB_RM: rc = do_rm(&r, t, &a); break;
	case VERB_LIST: rc = do_list(&r, t, &a); break;
	case VERB_SHOW: rc = do_show(&r, t, &a); break;
	}
out:
	args_release(&a);
	replica_close(&r);
	return rc;
}
