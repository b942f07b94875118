/*
 * annuaire.c - "relais export annuaire" and "relais import annuaire".
 *
 * The export lists the labelled promeneurs only: a délabellisé, suspendu or
 * candidat must never reach the public directory. Its columns are those the
 * import recognises, so that a directory exported by one département imports
 * into another one unchanged.
 *
 * The import is for coordinators moving from a spreadsheet: columns are
 * found by their French header (case, accents, spaces forgiven), every value
 * goes through model_check_value(), and every row is created, matched or
 * refused with its reason. All writes happen inside one captured local edit
 * which is committed only when the run is not a dry run and no row was
 * refused (or --partial was given): a bad file changes nothing.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <xlsxwriter.h>
#include "../common/buf.h"
#include "../common/utf8.h"
#include "../common/file.h"
#include "../common/util.h"
#include "../model/csv.h"
#include "../model/model.h"
#include "../sync/sync.h"
#include "annuaire.h"
#include "cli.h"
#include "replica.h"
#include "synthese.h"

#define REPORT_VALUE_MAX 80   /* code points of a file value quoted in the report */
#define PRESENCE_MAX 32       /* networks of one row */
#define XLSX_WIDTH_MIN 10
#define XLSX_WIDTH_MAX 60
#define HELP_RC -1
/* A département's directory is a few thousand rows: far below this. */
#define ANNUAIRE_CSV_MAX (64u << 20)

/* ---- output files ---- */

int annuaire_tmp_open(struct file_tmp *t, const char *path)
{
	int rc = file_tmp_open(t, path, 0600);
	if (rc)
		cli_error("impossible de créer « %s » : %s.", path,
			  rc == RELAIS_EIO ? strerror(errno) : relais_strerror(rc));
	return rc;
}

int annuaire_tmp_commit(struct file_tmp *t, const char *path)
{
	int rc = file_tmp_commit(t);
	if (rc)
		cli_error("impossible d'écrire « %s » : %s.", path,
			  rc == RELAIS_EIO ? strerror(errno) : relais_strerror(rc));
	return rc;
}

/* ---- export ---- */

enum { X_NOM, X_PRENOM, X_STRUCTURE, X_COMMUNE, X_EMAIL, X_TELEPHONE, X_RESEAUX,
       X_PROFILS, X_NCOLS };

static const char *const export_heads[X_NCOLS] = {
	"Nom", "Prénom", "Structure", "Commune", "Courriel", "Téléphone", "Réseaux",
	"Noms de profil"
};

/* The separator of the networks and profile names of one promeneur, in one
 * cell each; the import splits on ',' too. */
#define LIST_SEP ", "

struct directory {
	char **cells;  /* nrows * X_NCOLS strings */
	size_t nrows, alloc;
};

static void directory_free(struct directory *d)
{
	for (size_t i = 0; i < d->nrows * X_NCOLS; i++)
		free(d->cells[i]);
	free(d->cells);
	memset(d, 0, sizeof(*d));
}

/* Phone numbers are stored as 10 digits; grouped by two they read as French
 * numbers and a spreadsheet keeps them as text (it would drop the 0 of a
 * bare 0612345678). */
static char *phone_display(const char *s)
{
	size_t n = strlen(s);
	int digits = n == 10;
	for (size_t i = 0; digits && i < n; i++)
		digits = s[i] >= '0' && s[i] <= '9';
	if (!digits)
		return strdup(s);
	char *out = malloc(15);
	if (out)
		snprintf(out, 15, "%.2s %.2s %.2s %.2s %.2s", s, s + 2, s + 4, s + 6, s + 8);
	return out;
}

static char *col_dup(sqlite3_stmt *st, int i)
{
	const char *s = (const char *)sqlite3_column_text(st, i);
	return strdup(s ? s : "");
}

/* Fills the networks and profile names of promeneur id, in a stable order. */
static int load_presences(sqlite3_stmt *pst, const char *id, char **reseaux, char **profils)
{
	struct buf r = BUF_INIT(1u << 20), p = BUF_INIT(1u << 20);
	int rc = 0, s, first = 1;

	sqlite3_reset(pst);
	sqlite3_bind_text(pst, 1, id, -1, SQLITE_TRANSIENT);
	while ((s = sqlite3_step(pst)) == SQLITE_ROW) {
		const char *res = (const char *)sqlite3_column_text(pst, 0);
		const char *nom = (const char *)sqlite3_column_text(pst, 1);
		if ((rc = buf_printf(&r, "%s%s", first ? "" : LIST_SEP, res ? res : "")) ||
		    (rc = buf_printf(&p, "%s%s", first ? "" : LIST_SEP, nom ? nom : "")))
			goto out;
		first = 0;
	}
	if (s != SQLITE_DONE) {
		rc = RELAIS_EDB;
		goto out;
	}
	*reseaux = (char *)buf_detach(&r, NULL);
	*profils = (char *)buf_detach(&p, NULL);
	if (!*reseaux || !*profils)
		rc = RELAIS_ENOMEM;
out:
	buf_release(&r);
	buf_release(&p);
	return rc;
}

static int directory_load(sqlite3 *db, struct directory *d)
{
	sqlite3_stmt *st = NULL, *pst = NULL;
	int rc = 0, s;

	if (sqlite3_prepare_v2(db, "SELECT p.nom, p.prenom, s.nom, s.commune, p.email, "
			       "p.telephone, p.id FROM promeneur p "
			       "LEFT JOIN structure s ON s.id = p.structure "
			       "WHERE p.statut = 'labellise' "
			       "ORDER BY p.nom COLLATE NOCASE, p.prenom COLLATE NOCASE, p.id",
			       -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "SELECT reseau, nom_profil FROM presence WHERE promeneur = ? "
			       "ORDER BY reseau, nom_profil, id", -1, &pst, NULL) != SQLITE_OK) {
		rc = RELAIS_EDB;
		goto out;
	}
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		if (d->nrows == d->alloc) {
			size_t na = d->alloc ? d->alloc * 2 : 64;
			char **nc = realloc(d->cells, na * X_NCOLS * sizeof(*nc));
			if (!nc) {
				rc = RELAIS_ENOMEM;
				goto out;
			}
			d->cells = nc;
			d->alloc = na;
		}
		char **row = d->cells + d->nrows * X_NCOLS;
		memset(row, 0, X_NCOLS * sizeof(*row));
		d->nrows++;
		const char *tel = (const char *)sqlite3_column_text(st, 5);
		row[X_NOM] = col_dup(st, 0);
		row[X_PRENOM] = col_dup(st, 1);
		row[X_STRUCTURE] = col_dup(st, 2);
		row[X_COMMUNE] = col_dup(st, 3);
		row[X_EMAIL] = col_dup(st, 4);
		row[X_TELEPHONE] = phone_display(tel ? tel : "");
		for (int k = 0; k < X_PROFILS; k++)
			if (k != X_RESEAUX && !row[k]) {
				rc = RELAIS_ENOMEM;
				goto out;
			}
		if ((rc = load_presences(pst, (const char *)sqlite3_column_text(st, 6),
					 &row[X_RESEAUX], &row[X_PROFILS])))
			goto out;
	}
	if (s != SQLITE_DONE)
		rc = RELAIS_EDB;
out:
	sqlite3_finalize(st);
	sqlite3_finalize(pst);
	return rc;
}

/* The whole CSV (model/csv.h: the project's one CSV writer) into b. */
static int write_csv(struct buf *b, const struct directory *d)
{
	int rc = csv_put_bom(b);
	if (!rc)
		rc = csv_put_row(b, export_heads, X_NCOLS);
	for (size_t i = 0; !rc && i < d->nrows; i++)
		rc = csv_put_row(b, (const char *const *)(d->cells + i * X_NCOLS), X_NCOLS);
	return rc;
}

static int xlsx_fail(lxw_error e, const char *path)
{
	cli_error("écriture du classeur « %s » impossible : %s.", path, lxw_strerror(e));
	return RELAIS_EIO;
}

/* Writes the directory to the XLSX file tmp (path only for messages). */
static int write_xlsx(const char *tmp, const char *path, const struct directory *d)
{
	lxw_workbook *wb = workbook_new(tmp);
	lxw_worksheet *ws;
	lxw_format *bold;
	size_t width[X_NCOLS];
	lxw_error e = LXW_NO_ERROR;

	if (!wb) {
		cli_error("impossible de créer le classeur « %s ».", path);
		return RELAIS_EIO;
	}
	if (!(ws = workbook_add_worksheet(wb, "Annuaire")) || !(bold = workbook_add_format(wb))) {
		workbook_close(wb);
		cli_error("%s", relais_strerror(RELAIS_ENOMEM));
		return RELAIS_ENOMEM;
	}
	format_set_bold(bold);
	for (int k = 0; k < X_NCOLS && !e; k++) {
		width[k] = cli_utf8_width(export_heads[k], strlen(export_heads[k]));
		e = worksheet_write_string(ws, 0, (lxw_col_t)k, export_heads[k], bold);
	}
	for (size_t i = 0; i < d->nrows && !e; i++)
		for (int k = 0; k < X_NCOLS && !e; k++) {
			const char *v = d->cells[i * X_NCOLS + (size_t)k];
			size_t w = cli_utf8_width(v, strlen(v));
			if (w > width[k])
				width[k] = w;
			if (v[0])
				e = worksheet_write_string(ws, (lxw_row_t)(i + 1), (lxw_col_t)k, v, NULL);
		}
	for (int k = 0; k < X_NCOLS && !e; k++) {
		size_t w = width[k] + 2;
		w = w < XLSX_WIDTH_MIN ? XLSX_WIDTH_MIN : w > XLSX_WIDTH_MAX ? XLSX_WIDTH_MAX : w;
		e = worksheet_set_column(ws, (lxw_col_t)k, (lxw_col_t)k, (double)w, NULL);
	}
	if (!e) {
		worksheet_freeze_panes(ws, 1, 0);
		e = worksheet_autofilter(ws, 0, 0, (lxw_row_t)d->nrows, X_NCOLS - 1);
	}
	lxw_error ce = workbook_close(wb);
	if (e || ce)
		return xlsx_fail(e ? e : ce, path);
	return 0;
}

static void help_export(void)
{
	printf("Usage : relais [--home DIR] export annuaire --format csv|xlsx [--sortie FICHIER]\n"
	       "Écrit l'annuaire des promeneurs labellisés (les candidats, suspendus et\n"
	       "délabellisés n'y figurent pas) : nom, prénom, structure, commune, courriel,\n"
	       "téléphone, réseaux sociaux et noms de profil.\n\n"
	       "  --format csv     CSV en UTF-8 avec BOM, séparé par des points-virgules\n"
	       "                   (s'ouvre directement dans un tableur) ; sur la sortie\n"
	       "                   standard sans --sortie\n"
	       "  --format xlsx    classeur Excel ; --sortie est alors obligatoire\n"
	       "  --sortie FICHIER le fichier à écrire (remplacé d'un seul coup)\n\n"
	       "Contient des données personnelles : à ne transmettre qu'aux destinataires prévus.\n");
}

/* Takes "--opt VALUE" or "--opt=VALUE" at argv[*i]; returns 1 when it was opt. */
static int take_opt(int argc, char **argv, int *i, const char *opt, const char **val, int *bad)
{
	size_t n = strlen(opt);
	if (strncmp(argv[*i], opt, n) != 0)
		return 0;
	if (argv[*i][n] == '=') {
		*val = argv[*i] + n + 1;
	} else if (!argv[*i][n]) {
		if (*i + 1 >= argc) {
			cli_error("l'option %s attend une valeur.", opt);
			*bad = 1;
			return 1;
		}
		*val = argv[++*i];
	} else {
		return 0;
	}
	if (!**val) {
		cli_error("l'option %s attend une valeur non vide.", opt);
		*bad = 1;
	}
	return 1;
}

int cmd_annuaire_export(const char *home, int argc, char **argv)
{
	struct replica r;
	struct directory d = { 0 };
	const char *format = NULL, *out = NULL;
	char err[CLI_ERRLEN];
	struct file_tmp t = FILE_TMP_INIT;
	int rc = CLI_EXIT_FAIL, e, bad = 0;

	for (int i = 2; i < argc; i++)
		if (cli_is_help(argv[i])) {
			help_export();
			return 0;
		}
	for (int i = 2; i < argc && !bad; i++) {
		if (take_opt(argc, argv, &i, "--format", &format, &bad) ||
		    take_opt(argc, argv, &i, "--sortie", &out, &bad))
			continue;
		cli_error("argument inconnu : « %s » (voir relais export annuaire --help).", argv[i]);
		return CLI_EXIT_USAGE;
	}
	if (bad)
		return CLI_EXIT_USAGE;
	if (!format || (strcmp(format, "csv") && strcmp(format, "xlsx"))) {
		cli_error("--format csv ou --format xlsx est attendu (voir relais export annuaire "
			  "--help).");
		return CLI_EXIT_USAGE;
	}
	int xlsx = !strcmp(format, "xlsx");
	if (xlsx && !out) {
		cli_error("un classeur XLSX ne s'écrit pas sur le terminal : donnez --sortie FICHIER.");
		return CLI_EXIT_USAGE;
	}
	if (replica_open(&r, home, 0, err, sizeof(err))) {
		cli_error("%s", err);
		return CLI_EXIT_FAIL;
	}
	/* One read transaction: the export is a consistent snapshot. */
	if (sqlite3_exec(r.db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK ||
	    (e = directory_load(r.db, &d))) {
		cli_error("lecture du réplica impossible : %s", sqlite3_errmsg(r.db));
		goto out;
	}
	sqlite3_exec(r.db, "COMMIT", NULL, NULL, NULL);
	if (out && annuaire_tmp_open(&t, out))
		goto out;
	if (xlsx) {
		/* libxlsxwriter writes the file itself, at workbook_close. */
		fclose(t.f);
		t.f = NULL;
		if (write_xlsx(t.path, out, &d))
			goto out;
	} else {
		struct buf csv = BUF_INIT(ANNUAIRE_CSV_MAX);
		e = write_csv(&csv, &d);
		if (!e && csv.len && fwrite(csv.data, 1, csv.len, out ? t.f : stdout) != csv.len)
			e = RELAIS_EIO;
		buf_release(&csv);
		if (e) {
			cli_error("écriture de l'annuaire impossible : %s.", relais_strerror(e));
			goto out;
		}
	}
	if (out) {
		if (annuaire_tmp_commit(&t, out))
			goto out;
		fprintf(stderr, "relais : annuaire écrit dans « %s » (%zu promeneur%s labellisé%s).\n",
			out, d.nrows, d.nrows > 1 ? "s" : "", d.nrows > 1 ? "s" : "");
	}
	rc = 0;
out:
	file_tmp_abort(&t);
	directory_free(&d);
	replica_close(&r);
	return rc;
}

/* ---- import ---- */

enum field { F_NOM, F_PRENOM, F_STRUCTURE, F_COMMUNE, F_EMAIL, F_TELEPHONE, F_FONCTION,
	     F_CODE_POSTAL, F_RESEAUX, F_PROFILS, F_NFIELDS };

/* Header spellings, folded by model_fold(). */
static const struct {
	const char *folded;
	enum field field;
} header_names[] = {
	{ "nom", F_NOM }, { "nomdefamille", F_NOM }, { "nomdusage", F_NOM },
	{ "prenom", F_PRENOM },
	{ "structure", F_STRUCTURE }, { "nomdelastructure", F_STRUCTURE },
	{ "structuredemployeur", F_STRUCTURE }, { "employeur", F_STRUCTURE },
	{ "commune", F_COMMUNE }, { "ville", F_COMMUNE }, { "communedelastructure", F_COMMUNE },
	{ "courriel", F_EMAIL }, { "email", F_EMAIL }, { "mail", F_EMAIL },
	{ "adressecourriel", F_EMAIL }, { "adresseelectronique", F_EMAIL },
	{ "adressemail", F_EMAIL }, { "adresseemail", F_EMAIL },
	{ "telephone", F_TELEPHONE }, { "tel", F_TELEPHONE }, { "portable", F_TELEPHONE },
	{ "numerodetelephone", F_TELEPHONE },
	{ "fonction", F_FONCTION }, { "poste", F_FONCTION },
	{ "codepostal", F_CODE_POSTAL }, { "cp", F_CODE_POSTAL },
	{ "reseau", F_RESEAUX }, { "reseaux", F_RESEAUX }, { "reseauxsociaux", F_RESEAUX },
	{ "reseausocial", F_RESEAUX },
	{ "profil", F_PROFILS }, { "profils", F_PROFILS }, { "nomdeprofil", F_PROFILS },
	{ "nomsdeprofil", F_PROFILS }, { "nomsdesprofils", F_PROFILS }, { "pseudo", F_PROFILS },
	{ "pseudos", F_PROFILS },
};

static const char *const field_labels[F_NFIELDS] = {
	"Nom", "Prénom", "Structure", "Commune", "Courriel", "Téléphone", "Fonction",
	"Code postal", "Réseaux", "Noms de profil"
};

/* The model column each field is checked against. */
static const struct {
	const char *table, *column;
} field_columns[F_NFIELDS] = {
	{ "promeneur", "nom" }, { "promeneur", "prenom" }, { "structure", "nom" },
	{ "structure", "commune" }, { "promeneur", "email" }, { "promeneur", "telephone" },
	{ "promeneur", "fonction" }, { "structure", "code_postal" }, { NULL, NULL },
	{ NULL, NULL },
};

static const enum field required_fields[] = { F_NOM, F_PRENOM, F_STRUCTURE, F_EMAIL };

struct net_column {
	size_t col;
	const char *reseau;   /* canonical value from the model */
};

struct layout {
	long col[F_NFIELDS];  /* -1 when the file has no such column */
	struct net_column nets[PRESENCE_MAX];
	size_t nnets;
};

struct presence_in {
	char reseau[64];
	char *profil;
};

/* One data row, checked. */
struct row_in {
	char *val[F_NFIELDS];          /* normalised; "" when empty */
	struct presence_in pres[PRESENCE_MAX];
	size_t npres;
};

struct import {
	struct replica *r;
	const struct model_table *tp, *ts, *tpres;
	char *dept;
	int dry_run, partial;
	size_t created, matched, refused;
	size_t changed;                /* rows that wrote something */
	char **emails;                 /* folded emails of earlier rows, by row index */
	sqlite3_stmt *find_s, *find_p, *ins_s, *ins_p, *ins_pres, *has_pres, *fill_p;
};

static void row_release(struct row_in *w)
{
	for (int k = 0; k < F_NFIELDS; k++)
		free(w->val[k]);
	for (size_t i = 0; i < w->npres; i++)
		free(w->pres[i].profil);
	memset(w, 0, sizeof(*w));
}

/* A value of the file as the report quotes it: one line, no control
 * characters, shortened. */
static void report_value(const char *s, char *out, size_t outlen)
{
	size_t keep = cli_utf8_prefix(s, REPORT_VALUE_MAX), j = 0;
	for (size_t i = 0; i < keep && j + 4 < outlen; i++)
		out[j++] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? ' ' : s[i];
	if (s[keep] && j + 4 < outlen) {
		memcpy(out + j, "…", 3);
		j += 3;
	}
	out[j] = 0;
}

static const char *model_network(const char *folded)
{
	const struct model_column *c = model_column_by_name(model_table_by_name("presence"), "reseau");
	char f[64];
	for (size_t i = 0; c && c->values[i]; i++) {
		model_fold(c->values[i], f, sizeof(f));
		if (!strcmp(f, folded))
			return c->values[i];
	}
	return NULL;
}

/* Maps the header row to fields. Returns 0, or 1 after printing why the
 * file cannot be read. */
static int read_layout(const struct csv_row *h, struct layout *l)
{
	struct buf missing = BUF_INIT(1024);
	int rc = 1;

	memset(l, 0, sizeof(*l));
	for (int k = 0; k < F_NFIELDS; k++)
		l->col[k] = -1;
	for (size_t i = 0; i < h->n; i++) {
		char folded[128], shown[256];
		const char *name = h->fields[i];
		/* Spreadsheets sometimes quote the header with the formula guard. */
		if (name[0] == '\'')
			name++;
		report_value(name, shown, sizeof(shown));
		if (model_fold(name, folded, sizeof(folded)) >= sizeof(folded) || !folded[0]) {
			if (name[0])
				printf("Colonne ignorée : « %s ».\n", shown);
			continue;
		}
		long field = -1;
		for (size_t k = 0; k < sizeof(header_names) / sizeof(header_names[0]); k++)
			if (!strcmp(header_names[k].folded, folded))
				field = header_names[k].field;
		if (field >= 0) {
			if (l->col[field] >= 0) {
				cli_error("deux colonnes désignent « %s » (colonnes %ld et %zu) : gardez-en "
					  "une seule.", field_labels[field], l->col[field] + 1, i + 1);
				goto out;
			}
			l->col[field] = (long)i;
			continue;
		}
		const char *net = model_network(folded);
		if (net && l->nnets < PRESENCE_MAX) {
			l->nets[l->nnets].col = i;
			l->nets[l->nnets++].reseau = net;
			continue;
		}
		printf("Colonne ignorée : « %s ».\n", shown);
	}
	for (size_t k = 0; k < sizeof(required_fields) / sizeof(required_fields[0]); k++)
		if (l->col[required_fields[k]] < 0 &&
		    buf_printf(&missing, "%s%s", missing.len ? ", " : "",
			       field_labels[required_fields[k]]))
			goto out;
	if (missing.len) {
		cli_error("colonnes obligatoires absentes de la première ligne : %s. Les colonnes "
			  "reconnues sont : nom, prénom, structure, commune, courriel, téléphone, "
			  "fonction, code postal, réseaux, noms de profil (ou une colonne par réseau : "
			  "facebook, instagram…). Rien n'a été enregistré.", buf_str(&missing));
		goto out;
	}
	if ((l->col[F_RESEAUX] < 0) != (l->col[F_PROFILS] < 0)) {
		cli_error("les colonnes « Réseaux » et « Noms de profil » vont ensemble : il en manque "
			  "une. Rien n'a été enregistré.");
		goto out;
	}
	rc = 0;
out:
	buf_release(&missing);
	return rc;
}

static const char *cell_of(const struct csv_row *row, long col)
{
	if (col < 0 || (size_t)col >= row->n)
		return "";
	const char *s = row->fields[col];
	/* Undo the export's formula guard. */
	return csv_formula_unguard(s);
}

/* Checks v against column c into a malloc'd normalised value (*out).
 * Returns 0, or 1 with the reason in why. */
static int check_into(const struct model_column *c, const char *v, char **out,
		      char *why, size_t whylen)
{
	char *buf = malloc(MODEL_VALUE_MAX);
	*out = NULL;
	if (!buf) {
		snprintf(why, whylen, "%s", relais_strerror(RELAIS_ENOMEM));
		return 1;
	}
	why[0] = 0;
	if (!utf8_valid_str(v)) {
		snprintf(why, whylen, "%s : le texte n'est pas en UTF-8 valide.", c->label);
		free(buf);
		return 1;
	}
	if (model_check_value(c, v, buf, MODEL_VALUE_MAX, why, whylen)) {
		if (!why[0])
			snprintf(why, whylen, "%s : valeur invalide.", c->label);
		free(buf);
		return 1;
	}
	*out = buf;
	return 0;
}

/* Splits a list cell of networks or profile names on ',' or line breaks,
 * trimmed, empty items dropped. Returns the count, or -1 when over max. */
static int split_list(const char *s, char items[][256], int max, int *toolong)
{
	int n = 0;
	*toolong = 0;
	while (*s) {
		size_t len = strcspn(s, ",\n\r");
		const char *b = s, *e = s + len;
		while (b < e && (*b == ' ' || *b == '\t'))
			b++;
		while (e > b && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		if (e > b) {
			if (n == max)
				return -1;
			if ((size_t)(e - b) >= 256)
				*toolong = 1;
			else {
				memcpy(items[n], b, (size_t)(e - b));
				items[n][e - b] = 0;
			}
			n++;
		}
		s += len;
		if (*s)
			s++;
	}
	return n;
}

static int add_presence(struct row_in *w, const char *reseau_raw, const char *profil_raw,
			char *why, size_t whylen)
{
	const struct model_table *tpres = model_table_by_name("presence");
	char *res = NULL, *prof = NULL;
	if (w->npres == PRESENCE_MAX) {
		snprintf(why, whylen, "plus de %d profils sur une ligne.", PRESENCE_MAX);
		return 1;
	}
	if (check_into(model_column_by_name(tpres, "reseau"), reseau_raw, &res, why, whylen))
		return 1;
	if (check_into(model_column_by_name(tpres, "nom_profil"), profil_raw, &prof, why, whylen)) {
		free(res);
		return 1;
	}
	snprintf(w->pres[w->npres].reseau, sizeof(w->pres[w->npres].reseau), "%s", res);
	w->pres[w->npres++].profil = prof;
	free(res);
	return 0;
}

/* Checks one data row into w. Returns 0, or 1 with the reason in why. */
static int check_row(const struct layout *l, const struct csv_row *row, struct row_in *w,
		     char *why, size_t whylen)
{
	char items_r[PRESENCE_MAX][256], items_p[PRESENCE_MAX][256];
	memset(w, 0, sizeof(*w));
	for (int k = 0; k < F_NFIELDS; k++) {
		const char *v = cell_of(row, l->col[k]);
		if (!field_columns[k].table) {
			continue;
		}
		const struct model_column *c =
			model_column_by_name(model_table_by_name(field_columns[k].table),
					     field_columns[k].column);
		/* The commune is needed only to create a structure: that is decided later. */
		if (k == F_COMMUNE && !v[0]) {
			if (!(w->val[k] = strdup("")))
				goto nomem;
			continue;
		}
		if (check_into(c, v, &w->val[k], why, whylen))
			return 1;
	}
	if (l->col[F_RESEAUX] >= 0) {
		int tl1, tl2;
		int nr = split_list(cell_of(row, l->col[F_RESEAUX]), items_r, PRESENCE_MAX, &tl1);
		int np = split_list(cell_of(row, l->col[F_PROFILS]), items_p, PRESENCE_MAX, &tl2);
		if (nr < 0 || np < 0) {
			snprintf(why, whylen, "plus de %d profils sur une ligne.", PRESENCE_MAX);
			return 1;
		}
		if (tl1 || tl2) {
			snprintf(why, whylen, "un réseau ou un nom de profil dépasse 255 octets.");
			return 1;
		}
		if (nr != np) {
			snprintf(why, whylen, "%d réseau%s mais %d nom%s de profil : ils vont par paires, "
				 "dans le même ordre.", nr, nr > 1 ? "x" : "", np, np > 1 ? "s" : "");
			return 1;
		}
		for (int i = 0; i < nr; i++)
			if (add_presence(w, items_r[i], items_p[i], why, whylen))
				return 1;
	}
	for (size_t i = 0; i < l->nnets; i++) {
		const char *v = cell_of(row, (long)l->nets[i].col);
		if (v[0] && add_presence(w, l->nets[i].reseau, v, why, whylen))
			return 1;
	}
	return 0;
nomem:
	snprintf(why, whylen, "%s", relais_strerror(RELAIS_ENOMEM));
	return 1;
}

/* SQLite function fold(x): model_fold(), so that a structure of the file
 * matches "Centre social  l'Éveil" as well as "centre social l'eveil". */
static void sql_fold(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	(void)argc;
	const char *s = (const char *)sqlite3_value_text(argv[0]);
	if (!s) {
		sqlite3_result_null(ctx);
		return;
	}
	size_t n = model_fold(s, NULL, 0);
	char *out = sqlite3_malloc64(n + 1);
	if (!out) {
		sqlite3_result_error_nomem(ctx);
		return;
	}
	model_fold(s, out, n + 1);
	sqlite3_result_text(ctx, out, (int)n, sqlite3_free);
}

static int prepare_all(struct import *im)
{
	sqlite3 *db = im->r->db;
	if (sqlite3_create_function(db, "relais_fold", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC,
				    NULL, sql_fold, NULL, NULL) != SQLITE_OK)
		return RELAIS_EDB;
	struct {
		sqlite3_stmt **st;
		const char *sql;
	} q[] = {
		{ &im->find_s, "SELECT id, nom FROM structure WHERE relais_fold(nom) = relais_fold(?) "
			       "ORDER BY id LIMIT 1" },
		{ &im->find_p, "SELECT id, telephone, fonction, structure, statut FROM promeneur "
			       "WHERE lower(email) = lower(?) ORDER BY id LIMIT 1" },
		{ &im->ins_s, "INSERT INTO structure (id, dept, nom, commune, code_postal) "
			      "VALUES (?, ?, ?, ?, nullif(?, ''))" },
		{ &im->ins_p, "INSERT INTO promeneur (id, dept, prenom, nom, email, telephone, "
			      "structure, fonction, statut) VALUES (?, ?, ?, ?, ?, nullif(?, ''), ?, "
			      "nullif(?, ''), 'labellise')" },
		{ &im->ins_pres, "INSERT INTO presence (id, dept, promeneur, reseau, nom_profil) "
				 "VALUES (?, ?, ?, ?, ?)" },
		{ &im->has_pres, "SELECT 1 FROM presence WHERE promeneur = ? AND reseau = ? AND "
				 "relais_fold(nom_profil) = relais_fold(?)" },
		{ &im->fill_p, "UPDATE promeneur SET telephone = coalesce(telephone, nullif(?, '')), "
			       "fonction = coalesce(fonction, nullif(?, '')) WHERE id = ?" },
	};
	for (size_t i = 0; i < sizeof(q) / sizeof(q[0]); i++)
		if (sqlite3_prepare_v2(db, q[i].sql, -1, q[i].st, NULL) != SQLITE_OK)
			return RELAIS_EDB;
	return 0;
}

static void finalize_all(struct import *im)
{
	sqlite3_stmt *all[] = { im->find_s, im->find_p, im->ins_s, im->ins_p, im->ins_pres,
				im->has_pres, im->fill_p };
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		sqlite3_finalize(all[i]);
}

/* Steps a write statement; 0 or RELAIS_EDB. */
static int step_done(sqlite3_stmt *st)
{
	int s = sqlite3_step(st);
	sqlite3_reset(st);
	return s == SQLITE_DONE ? 0 : RELAIS_EDB;
}

/* Adds the profiles of w that promeneur pid lacks; counts them in *added. */
static int write_presences(struct import *im, const char *pid, const struct row_in *w,
			   size_t *added)
{
	*added = 0;
	for (size_t i = 0; i < w->npres; i++) {
		char id[UTIL_UUID_LEN + 1];
		sqlite3_reset(im->has_pres);
		sqlite3_bind_text(im->has_pres, 1, pid, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(im->has_pres, 2, w->pres[i].reseau, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(im->has_pres, 3, w->pres[i].profil, -1, SQLITE_TRANSIENT);
		int s = sqlite3_step(im->has_pres);
		sqlite3_reset(im->has_pres);
		if (s == SQLITE_ROW)
			continue;
		if (s != SQLITE_DONE || util_uuid(id))
			return RELAIS_EDB;
		sqlite3_bind_text(im->ins_pres, 1, id, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(im->ins_pres, 2, im->dept, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(im->ins_pres, 3, pid, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(im->ins_pres, 4, w->pres[i].reseau, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(im->ins_pres, 5, w->pres[i].profil, -1, SQLITE_TRANSIENT);
		if (step_done(im->ins_pres))
			return RELAIS_EDB;
		(*added)++;
	}
	return 0;
}

static const char *statut_shown(const char *s)
{
	if (!s)
		return "inconnu";
	if (!strcmp(s, "delabellise"))
		return "délabellisé";
	if (!strcmp(s, "labellise"))
		return "labellisé";
	return s;
}

/*
 * Writes row w (line lineno) into the open capture. Returns 0 when the row
 * was created or matched (report printed), 1 when it is refused (reason in
 * why, nothing written), or RELAIS_EDB.
 */
static int write_row(struct import *im, size_t lineno, const struct row_in *w,
		     char *why, size_t whylen)
{
	char sid[UTIL_UUID_LEN + 1], pid[UTIL_UUID_LEN + 1], who[512], sname[256];
	char *p_struct = NULL, *p_statut = NULL;
	int s, have_s = 0, rc = 0;
	size_t added = 0;

	snprintf(who, sizeof(who), "%s %s <%s>", w->val[F_PRENOM], w->val[F_NOM], w->val[F_EMAIL]);
	report_value(w->val[F_STRUCTURE], sname, sizeof(sname));

	sqlite3_bind_text(im->find_s, 1, w->val[F_STRUCTURE], -1, SQLITE_TRANSIENT);
	s = sqlite3_step(im->find_s);
	if (s == SQLITE_ROW) {
		snprintf(sid, sizeof(sid), "%s", (const char *)sqlite3_column_text(im->find_s, 0));
		have_s = 1;
	}
	sqlite3_reset(im->find_s);
	if (s != SQLITE_ROW && s != SQLITE_DONE)
		return RELAIS_EDB;

	sqlite3_bind_text(im->find_p, 1, w->val[F_EMAIL], -1, SQLITE_TRANSIENT);
	s = sqlite3_step(im->find_p);
	if (s == SQLITE_ROW) {
		const char *tel = (const char *)sqlite3_column_text(im->find_p, 1);
		const char *fon = (const char *)sqlite3_column_text(im->find_p, 2);
		const char *st = (const char *)sqlite3_column_text(im->find_p, 3);
		const char *sta = (const char *)sqlite3_column_text(im->find_p, 4);
		struct buf done = BUF_INIT(1024);
		snprintf(pid, sizeof(pid), "%s", (const char *)sqlite3_column_text(im->find_p, 0));
		int fill_tel = !tel && w->val[F_TELEPHONE][0];
		int fill_fon = !fon && w->val[F_FONCTION][0];
		p_struct = st ? strdup(st) : NULL;
		p_statut = sta ? strdup(sta) : NULL;
		sqlite3_reset(im->find_p);
		if ((st && !p_struct) || (sta && !p_statut)) {
			rc = RELAIS_ENOMEM;
			goto out;
		}
		if (fill_tel || fill_fon) {
			sqlite3_bind_text(im->fill_p, 1, w->val[F_TELEPHONE], -1, SQLITE_TRANSIENT);
			sqlite3_bind_text(im->fill_p, 2, w->val[F_FONCTION], -1, SQLITE_TRANSIENT);
			sqlite3_bind_text(im->fill_p, 3, pid, -1, SQLITE_TRANSIENT);
			if ((rc = step_done(im->fill_p)))
				goto out;
		}
		if ((rc = write_presences(im, pid, w, &added)))
			goto out;
		if ((fill_tel && buf_puts(&done, "téléphone")) ||
		    (fill_fon && buf_printf(&done, "%sfonction", done.len ? ", " : "")) ||
		    (added && buf_printf(&done, "%s%zu profil%s", done.len ? ", " : "", added,
					 added > 1 ? "s" : ""))) {
			buf_release(&done);
			rc = RELAIS_ENOMEM;
			goto out;
		}
		printf("ligne %zu : déjà présent%s%s%s : %s", lineno, done.len ? ", complété (" : "",
		       buf_str(&done), done.len ? ")" : "", who);
		if (!have_s || !p_struct || strcmp(p_struct, sid))
			printf(" ; attention, rattaché à une autre structure que « %s » (inchangé)", sname);
		if (!p_statut || strcmp(p_statut, "labellise"))
			printf(" ; attention, statut %s (inchangé)", statut_shown(p_statut));
		printf("\n");
		im->matched++;
		if (done.len)
			im->changed++;
		buf_release(&done);
		goto out;
	}
	sqlite3_reset(im->find_p);
	if (s != SQLITE_DONE)
		return RELAIS_EDB;

	if (!have_s) {
		if (!w->val[F_COMMUNE][0]) {
			snprintf(why, whylen, "la structure « %s » n'existe pas encore et la commune est "
				 "vide : impossible de la créer.", sname);
			return 1;
		}
		if (util_uuid(sid))
			return RELAIS_EDB;
		sqlite3_bind_text(im->ins_s, 1, sid, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(im->ins_s, 2, im->dept, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(im->ins_s, 3, w->val[F_STRUCTURE], -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(im->ins_s, 4, w->val[F_COMMUNE], -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(im->ins_s, 5, w->val[F_CODE_POSTAL], -1, SQLITE_TRANSIENT);
		if (step_done(im->ins_s))
			return RELAIS_EDB;
	}
	if (util_uuid(pid))
		return RELAIS_EDB;
	const char *vals[] = { pid, im->dept, w->val[F_PRENOM], w->val[F_NOM], w->val[F_EMAIL],
			       w->val[F_TELEPHONE], sid, w->val[F_FONCTION] };
	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++)
		sqlite3_bind_text(im->ins_p, (int)i + 1, vals[i], -1, SQLITE_TRANSIENT);
	if (step_done(im->ins_p) || write_presences(im, pid, w, &added))
		return RELAIS_EDB;
	printf("ligne %zu : créé : %s, %s", lineno, who, sname);
	if (!have_s)
		printf(" (structure créée)");
	if (added)
		printf(", %zu profil%s", added, added > 1 ? "s" : "");
	printf("\n");
	im->created++;
	im->changed++;
out:
	free(p_struct);
	free(p_statut);
	return rc;
}

static void help_import(void)
{
	printf("Usage : relais [--home DIR] import annuaire FICHIER.csv [--dry-run] [--partial]\n"
	       "Importe un annuaire tenu dans un tableur (enregistré en CSV, UTF-8 ou\n"
	       "Windows-1252, séparé par des virgules ou des points-virgules).\n\n"
	       "La première ligne nomme les colonnes (majuscules et accents indifférents) :\n"
	       "  obligatoires : nom, prénom, structure, courriel\n"
	       "  facultatives : commune (nécessaire pour créer une structure), téléphone,\n"
	       "                 fonction, code postal, réseaux + noms de profil (listes\n"
	       "                 séparées par des virgules, dans le même ordre), ou une colonne\n"
	       "                 par réseau (facebook, instagram…) contenant le nom de profil.\n\n"
	       "Chaque ligne est créée (promeneur labellisé ; structure reprise par son nom ou\n"
	       "créée), déjà présente (même courriel : seuls les champs vides sont complétés)\n"
	       "ou refusée avec sa raison.\n\n"
	       "  --dry-run   affiche le compte rendu sans rien enregistrer\n"
	       "  --partial   enregistre les lignes acceptées même si d'autres sont refusées\n"
	       "              (sans cette option, une seule ligne refusée et rien n'est enregistré)\n");
}

static int read_file_capped(const char *path, struct buf *b)
{
	FILE *f = fopen(path, "rb");
	char chunk[65536];
	size_t n;
	int rc = 0;

	if (!f) {
		cli_error("impossible de lire « %s » : %s.", path, strerror(errno));
		return RELAIS_EIO;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if ((rc = buf_append(b, chunk, n))) {
			if (rc == RELAIS_ETOOBIG)
				cli_error("« %s » dépasse %u octets : découpez le fichier.", path,
					  CSV_INPUT_MAX);
			else
				cli_error("%s", relais_strerror(rc));
			goto out;
		}
	if (ferror(f)) {
		cli_error("impossible de lire « %s » : %s.", path, strerror(errno));
		rc = RELAIS_EIO;
	}
out:
	fclose(f);
	return rc;
}

/* Finds an earlier row with the same email (case ignored); its line or 0. */
static size_t duplicate_of(struct import *im, size_t i, const char *email)
{
	for (size_t k = 1; k < i; k++)
		if (im->emails[k] && !strcasecmp(im->emails[k], email))
			return k + 1;
	return 0;
}

static int run_import(struct import *im, const struct csv *c)
{
	struct layout l;
	struct sync_capture *cap = NULL;
	int rc = CLI_EXIT_FAIL, e;

	if (read_layout(&c->rows[0], &l))
		return CLI_EXIT_FAIL;
	if (c->nrows < 2) {
		cli_error("le fichier ne contient aucune ligne après celle des en-têtes.");
		return CLI_EXIT_FAIL;
	}
	if (c->from_cp1252)
		printf("Fichier lu en Windows-1252 et converti en UTF-8.\n");
	if (!(im->emails = calloc(c->nrows, sizeof(*im->emails)))) {
		cli_error("%s", relais_strerror(RELAIS_ENOMEM));
		return CLI_EXIT_FAIL;
	}
	if ((e = prepare_all(im)) || (e = sync_capture_begin(im->r->db, im->r->tables, &cap))) {
		cli_error("écriture dans le réplica impossible : %s",
			  e == RELAIS_EDB ? sqlite3_errmsg(im->r->db) : relais_strerror(e));
		goto out;
	}
	for (size_t i = 1; i < c->nrows; i++) {
		struct row_in w;
		char why[CLI_ERRLEN] = "";
		size_t lineno = i + 1, dup;
		int refused = check_row(&l, &c->rows[i], &w, why, sizeof(why));
		if (!refused) {
			if ((dup = duplicate_of(im, i, w.val[F_EMAIL]))) {
				snprintf(why, sizeof(why), "doublon de la ligne %zu (même courriel).", dup);
				refused = 1;
			} else if (!(im->emails[i] = strdup(w.val[F_EMAIL]))) {
				row_release(&w);
				cli_error("%s", relais_strerror(RELAIS_ENOMEM));
				goto out;
			}
		}
		if (!refused) {
			e = write_row(im, lineno, &w, why, sizeof(why));
			if (e < 0) {
				row_release(&w);
				cli_error("écriture dans le réplica impossible : %s ; rien n'a été "
					  "enregistré.", e == RELAIS_EDB ? sqlite3_errmsg(im->r->db)
					  : relais_strerror(e));
				goto out;
			}
			refused = e;
		}
		if (refused) {
			printf("ligne %zu : refusé : %s\n", lineno, why);
			im->refused++;
		}
		row_release(&w);
	}
	printf("Bilan : %zu créé%s, %zu déjà présent%s, %zu refusé%s.\n",
	       im->created, im->created > 1 ? "s" : "", im->matched, im->matched > 1 ? "s" : "",
	       im->refused, im->refused > 1 ? "s" : "");
	if (im->refused && !im->partial) {
		printf("Rien n'a été enregistré : corrigez les lignes refusées, ou relancez avec "
		       "--partial pour n'enregistrer que les lignes acceptées.\n");
		goto out;
	}
	if (im->dry_run) {
		printf("Essai (--dry-run) : rien n'a été enregistré.\n");
		rc = 0;
		goto out;
	}
	e = sync_capture_commit(cap);
	cap = NULL;
	if (e) {
		cli_error("enregistrement impossible : %s ; rien n'a été enregistré.",
			  relais_strerror(e));
		goto out;
	}
	if (im->changed)
		printf("Enregistré : %zu ligne%s créée%s ou complétée%s (envoi au serveur par "
		       "« relais sync »).\n", im->changed, im->changed > 1 ? "s" : "",
		       im->changed > 1 ? "s" : "", im->changed > 1 ? "s" : "");
	else
		printf("Rien à enregistrer : l'annuaire du réplica était déjà à jour.\n");
	rc = 0;
out:
	/* Statements first: an open read statement would keep the rollback from
	 * releasing the transaction cleanly. */
	finalize_all(im);
	if (cap)
		sync_capture_abort(cap);
	for (size_t i = 0; im->emails && i < c->nrows; i++)
		free(im->emails[i]);
	free(im->emails);
	im->emails = NULL;
	return rc;
}

int cmd_annuaire_import(const char *home, int argc, char **argv)
{
	struct replica r;
	struct import im;
	struct csv c = { 0 };
	struct buf data = BUF_INIT(CSV_INPUT_MAX);
	const char *path = NULL;
	char err[CLI_ERRLEN];
	int rc = CLI_EXIT_FAIL;

	memset(&im, 0, sizeof(im));
	for (int i = 1; i < argc; i++)
		if (cli_is_help(argv[i])) {
			help_import();
			return 0;
		}
	if (argc < 2 || strcmp(argv[1], "annuaire")) {
		cli_error("« relais import » importe l'annuaire : relais import annuaire FICHIER.csv "
			  "(voir relais import annuaire --help).");
		return CLI_EXIT_USAGE;
	}
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--dry-run"))
			im.dry_run = 1;
		else if (!strcmp(argv[i], "--partial"))
			im.partial = 1;
		else if (argv[i][0] == '-' && argv[i][1]) {
			cli_error("option inconnue : « %s » (voir relais import annuaire --help).",
				  argv[i]);
			return CLI_EXIT_USAGE;
		} else if (path) {
			cli_error("un seul fichier à la fois : « %s » est en trop.", argv[i]);
			return CLI_EXIT_USAGE;
		} else {
			path = argv[i];
		}
	}
	if (!path) {
		cli_error("fichier manquant : relais import annuaire FICHIER.csv.");
		return CLI_EXIT_USAGE;
	}
	if (read_file_capped(path, &data))
		goto out_nodb;
	err[0] = 0;
	if (csv_parse(data.data ? data.data : (const unsigned char *)"", data.len, NULL, &c,
		      err, sizeof(err))) {
		cli_error("« %s » n'est pas un CSV lisible : %s Rien n'a été enregistré.", path,
			  err[0] ? err : "format inconnu.");
		goto out_nodb;
	}
	if (!c.nrows) {
		cli_error("« %s » est vide.", path);
		goto out_nodb;
	}
	if (replica_open(&r, home, 0, err, sizeof(err))) {
		cli_error("%s", err);
		goto out_nodb;
	}
	if (!im.dry_run && replica_read_only(&r))
		goto out;
	if (replica_meta(&r, "dept", &im.dept) || !im.dept) {
		cli_error("le département du compte est inconnu : relancez « relais init ».");
		goto out;
	}
	im.r = &r;
	rc = run_import(&im, &c);
out:
	free(im.dept);
	replica_close(&r);
out_nodb:
	csv_free(&c);
	buf_release(&data);
	return rc;
}

annuaire_cmd annuaire_lookup(int argc, char **argv)
{
	if (argc < 1)
		return NULL;
	if (argc >= 2 && !strcmp(argv[0], "export") && !strcmp(argv[1], "annuaire"))
		return cmd_annuaire_export;
	if (!strcmp(argv[0], "import"))
		return cmd_annuaire_import;
	if (!strcmp(argv[0], "synthese"))
		return cmd_synthese;
	return NULL;
}
