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
 * refused (or --partiel was given): a bad file changes nothing.
 *
 * Kept whole (over 800 lines): the export and the import share the column names,
 * the header spellings and the report's quoting; split, each half would need them all.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xlsxwriter.h>
#include "../../common/buf.h"
#include "../../common/utf8.h"
#include "../../common/file.h"
#include "../../common/util.h"
#include "../../model/csv.h"
#include "../../model/domain.h"
#include "../../model/model.h"
#include "../../sync/sync.h"
#include "cli.h"
#include "../replica/replica.h"

#define REPORT_VALUE_MAX 80   /* code points of a file value quoted in the report */
#define PRESENCE_MAX 32       /* networks of one row */
#define XLSX_WIDTH_MIN 10
#define XLSX_WIDTH_MAX 60
#define HELP_RC -1
/* A département's directory is a few thousand rows: far below this. */
#define ANNUAIRE_CSV_MAX (64u << 20)

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

int cmd_annuaire_export(const char *home, int argc, char **argv)
{
	struct replica r;
	struct directory d = { 0 };
	const char *format = NULL, *out = NULL;
	const struct option opts[] = {
		OPT_STRING_F(0, "format", &format, "csv|xlsx",
			     "csv : CSV en UTF-8 avec BOM, séparé par des points-virgules\n"
			     "(s'ouvre directement dans un tableur) ; sur la sortie\n"
			     "standard sans --sortie\n"
			     "xlsx : classeur Excel ; --sortie est alors obligatoire",
			     OPTION_REQUIRED | OPTION_NONEMPTY),
		OPT_STRING_F(0, "sortie", &out, "FICHIER",
			     "le fichier à écrire (remplacé d'un seul coup)", OPTION_NONEMPTY),
		OPT_END(),
	};
	const struct options_cmd c = {
		&cli_prog, "export annuaire", "--format csv|xlsx [--sortie FICHIER]",
		"Écrit l'annuaire des promeneurs labellisés (les candidats, suspendus et\n"
		"délabellisés n'y figurent pas) : nom, prénom, structure, commune, courriel,\n"
		"téléphone, réseaux sociaux et noms de profil.\n", opts,
		"Contient des données personnelles : à ne transmettre qu'aux destinataires prévus.\n",
		0, 0, NULL,
	};
	struct file_tmp t = FILE_TMP_INIT;
	int rc = options_parse_cmd(&c, argc - 2, argv + 2, NULL, NULL), e;

	if (rc)
		return rc < 0 ? 0 : rc;
	rc = CLI_EXIT_FAIL;
	if (strcmp(format, "csv") && strcmp(format, "xlsx")) {
		options_usage_error(&c, "--format csv ou --format xlsx est attendu");
		return CLI_EXIT_USAGE;
	}
	int xlsx = !strcmp(format, "xlsx");
	if (xlsx && !out) {
		cli_error("un classeur XLSX ne s'écrit pas sur le terminal : donnez --sortie FICHIER.");
		return CLI_EXIT_USAGE;
	}
	if (cli_open(&r, home))
		return CLI_EXIT_FAIL;
	/* One read transaction: the export is a consistent snapshot. */
	if (sqlite3_exec(r.db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK ||
	    (e = directory_load(r.db, &d))) {
		cli_error("lecture du réplica impossible : %s", replica_errmsg(r.db));
		goto out;
	}
	sqlite3_exec(r.db, "COMMIT", NULL, NULL, NULL);
	if (out && cli_tmp_open(&t, out))
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
		if (cli_tmp_commit(&t, out))
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

/* ---- a string map for the import's look-ups ---- */

struct smap_slot {
	char *key;
	char *val;
};

struct smap {
	struct smap_slot *v;
	size_t n, cap;                 /* cap: 0 or a power of two */
};

static uint64_t smap_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static struct smap_slot *smap_slot(const struct smap *m, const char *key)
{
	size_t i = (size_t)smap_hash(key) & (m->cap - 1);
	while (m->v[i].key && strcmp(m->v[i].key, key))
		i = (i + 1) & (m->cap - 1);
	return &m->v[i];
}

/* The value of key, or NULL. */
static const char *smap_get(const struct smap *m, const char *key)
{
	return m->cap ? smap_slot(m, key)->val : NULL;
}

/* Adds key -> val (both copied) unless key is there already: the first one
 * stays, as the ORDER BY id of the queries it replaces chose it. */
static int smap_add(struct smap *m, const char *key, const char *val)
{
	if (2 * (m->n + 1) > m->cap) {
		struct smap g = { NULL, 0, m->cap ? m->cap * 2 : 64 };
		if (!(g.v = calloc(g.cap, sizeof(*g.v))))
			return RELAIS_ENOMEM;
		for (size_t i = 0; i < m->cap; i++)
			if (m->v[i].key)
				*smap_slot(&g, m->v[i].key) = m->v[i];
		g.n = m->n;
		free(m->v);
		*m = g;
	}
	struct smap_slot *sl = smap_slot(m, key);
	if (sl->key)
		return 0;
	sl->key = strdup(key);
	sl->val = strdup(val);
	if (!sl->key || !sl->val) {
		free(sl->key);
		free(sl->val);
		sl->key = sl->val = NULL;
		return RELAIS_ENOMEM;
	}
	m->n++;
	return 0;
}

static void smap_free(struct smap *m)
{
	for (size_t i = 0; i < m->cap; i++) {
		free(m->v[i].key);
		free(m->v[i].val);
	}
	free(m->v);
	memset(m, 0, sizeof(*m));
}

/* model_fold() of s into a new string; NULL on ENOMEM. */
static char *folded(const char *s)
{
	size_t n = model_fold(s, NULL, 0);
	char *out = malloc(n + 1);
	if (out)
		model_fold(s, out, n + 1);
	return out;
}

/* s in ASCII lower case, as SQLite's lower() sees it. */
static char *ascii_lower(const char *s)
{
	char *out = strdup(s);
	for (char *p = out; p && *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return out;
}

/* The key of a presence: promeneur, network and folded profile name. */
static char *presence_key(const char *pid, const char *reseau, const char *profil)
{
	char *f = folded(profil), *k = NULL;
	size_t n = strlen(pid) + strlen(reseau) + (f ? strlen(f) : 0) + 3;
	if (f && (k = malloc(n)))
		snprintf(k, n, "%s\x1f%s\x1f%s", pid, reseau, f);
	free(f);
	return k;
}

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
	/* What the replica holds, looked up in memory so that the import costs
	 * one pass over the file and one over the tables (the replica has no
	 * index on these columns): folded name -> structure id, ASCII-lower
	 * email -> promeneur id, "promeneur reseau folded-profile" -> "", and
	 * the file's own emails -> line. */
	struct smap structures, promeneurs, presences, lines;
	sqlite3_stmt *get_p;
	char today[DOMAIN_DATE_LEN + 1]; /* the date of the edit, for the domain layer */
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

/* Loads what the replica holds into im's maps, in one pass per table. */
static int load_maps(struct import *im)
{
	sqlite3 *db = im->r->db;
	sqlite3_stmt *st = NULL;
	int rc = 0, s;
	static const char *const sql[] = {
		"SELECT id, nom FROM structure WHERE nom IS NOT NULL ORDER BY id",
		"SELECT id, email FROM promeneur WHERE email IS NOT NULL ORDER BY id",
		"SELECT promeneur, reseau, nom_profil FROM presence WHERE promeneur IS NOT NULL "
		"AND reseau IS NOT NULL AND nom_profil IS NOT NULL",
	};
	for (size_t q = 0; !rc && q < sizeof(sql) / sizeof(sql[0]); q++) {
		if (sqlite3_prepare_v2(db, sql[q], -1, &st, NULL) != SQLITE_OK)
			return RELAIS_EDB;
		while (!rc && (s = sqlite3_step(st)) == SQLITE_ROW) {
			const char *a = (const char *)sqlite3_column_text(st, 0);
			const char *b = (const char *)sqlite3_column_text(st, 1);
			char *k = q == 0 ? folded(b) : q == 1 ? ascii_lower(b) :
				  presence_key(a, b, (const char *)sqlite3_column_text(st, 2));
			rc = !k ? RELAIS_ENOMEM :
			     smap_add(q == 0 ? &im->structures : q == 1 ? &im->promeneurs :
				      &im->presences, k, q == 2 ? "" : a);
			free(k);
		}
		if (!rc && s != SQLITE_DONE)
			rc = RELAIS_EDB;
		sqlite3_finalize(st);
		st = NULL;
	}
	return rc;
}

static int prepare_all(struct import *im)
{
	if (sqlite3_prepare_v2(im->r->db, "SELECT telephone, fonction, structure, statut FROM "
			       "promeneur WHERE id = ?", -1, &im->get_p, NULL) != SQLITE_OK)
		return RELAIS_EDB;
	im->tp = model_table_by_name("promeneur");
	im->ts = model_table_by_name("structure");
	im->tpres = model_table_by_name("presence");
	domain_today(im->today);
	return load_maps(im);
}

static void finalize_all(struct import *im)
{
	sqlite3_finalize(im->get_p);
	im->get_p = NULL;
	smap_free(&im->structures);
	smap_free(&im->promeneurs);
	smap_free(&im->presences);
	smap_free(&im->lines);
}

/*
 * Writes one row of t through the domain layer, as every door does: id NULL
 * creates it (its id in res), else updates it. names[i] = vals[i]; an empty
 * value is left out. Returns 0, 1 when the domain refuses it (its reason in
 * why), or a RELAIS_E* error.
 */
static int domain_put(struct import *im, const struct model_table *t, const char *id,
		      const char *const *names, const char *const *vals, size_t n,
		      struct domain_result *res, char *why, size_t whylen)
{
	struct domain_value v[16];
	size_t k = 0;
	if (n > sizeof(v) / sizeof(v[0]))
		return RELAIS_EINVAL;
	for (size_t i = 0; i < n; i++) {
		const struct model_column *c = model_column_by_name(t, names[i]);
		if (!c)
			return RELAIS_EINVAL;
		if (vals[i] && *vals[i])
			v[k++] = (struct domain_value){ c, vals[i] };
	}
	int rc = domain_write_from_directory(im->r->db, t, id, im->dept, v, k, im->today, res, why,
					     whylen);
	if (rc == RELAIS_EINVAL || rc == RELAIS_ECONSTRAINT)
		return 1;
	return rc;
}

/* Adds the profiles of w that promeneur pid lacks; counts them in *added.
 * 0, 1 when the domain refuses one (why), or a RELAIS_E* error. */
static int write_presences(struct import *im, const char *pid, const struct row_in *w,
			   size_t *added, char *why, size_t whylen)
{
	static const char *const names[] = { "promeneur", "reseau", "nom_profil" };
	*added = 0;
	for (size_t i = 0; i < w->npres; i++) {
		struct domain_result res;
		char *key = presence_key(pid, w->pres[i].reseau, w->pres[i].profil);
		if (!key)
			return RELAIS_ENOMEM;
		if (smap_get(&im->presences, key)) {
			free(key);
			continue;
		}
		const char *vals[] = { pid, w->pres[i].reseau, w->pres[i].profil };
		int rc = domain_put(im, im->tpres, NULL, names, vals, 3, &res, why, whylen);
		if (!rc)
			rc = smap_add(&im->presences, key, "");
		free(key);
		if (rc)
			return rc;
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
	int s, have_s = 0, new_s = 0, rc = 0;
	size_t added = 0;

	snprintf(who, sizeof(who), "%s %s <%s>", w->val[F_PRENOM], w->val[F_NOM], w->val[F_EMAIL]);
	report_value(w->val[F_STRUCTURE], sname, sizeof(sname));

	char *skey = folded(w->val[F_STRUCTURE]), *pkey = ascii_lower(w->val[F_EMAIL]);
	const char *found_s = skey ? smap_get(&im->structures, skey) : NULL;
	const char *found_p = pkey ? smap_get(&im->promeneurs, pkey) : NULL;
	if (!skey || !pkey) {
		rc = RELAIS_ENOMEM;
		goto out;
	}
	if (found_s) {
		snprintf(sid, sizeof(sid), "%s", found_s);
		have_s = 1;
	}

	s = SQLITE_DONE;
	if (found_p) {
		sqlite3_bind_text(im->get_p, 1, found_p, -1, SQLITE_TRANSIENT);
		s = sqlite3_step(im->get_p);
	}
	if (s == SQLITE_ROW) {
		const char *tel = (const char *)sqlite3_column_text(im->get_p, 0);
		const char *fon = (const char *)sqlite3_column_text(im->get_p, 1);
		const char *st = (const char *)sqlite3_column_text(im->get_p, 2);
		const char *sta = (const char *)sqlite3_column_text(im->get_p, 3);
		struct buf done = BUF_INIT(1024);
		snprintf(pid, sizeof(pid), "%s", found_p);
		int fill_tel = !tel && w->val[F_TELEPHONE][0];
		int fill_fon = !fon && w->val[F_FONCTION][0];
		p_struct = st ? strdup(st) : NULL;
		p_statut = sta ? strdup(sta) : NULL;
		sqlite3_reset(im->get_p);
		if ((st && !p_struct) || (sta && !p_statut)) {
			rc = RELAIS_ENOMEM;
			goto out;
		}
		if (fill_tel || fill_fon) {
			static const char *const names[] = { "telephone", "fonction" };
			const char *vals[] = { fill_tel ? w->val[F_TELEPHONE] : NULL,
					       fill_fon ? w->val[F_FONCTION] : NULL };
			struct domain_result res;
			if ((rc = domain_put(im, im->tp, pid, names, vals, 2, &res, why, whylen)))
				goto out;
		}
		if ((rc = write_presences(im, pid, w, &added, why, whylen)))
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
	sqlite3_reset(im->get_p);
	if (s != SQLITE_DONE) {
		rc = RELAIS_EDB;
		goto out;
	}

	if (!have_s) {
		if (!w->val[F_COMMUNE][0]) {
			snprintf(why, whylen, "la structure « %s » n'existe pas encore et la commune est "
				 "vide : impossible de la créer.", sname);
			rc = 1;
			goto out;
		}
		static const char *const names[] = { "nom", "commune", "code_postal" };
		const char *vals[] = { w->val[F_STRUCTURE], w->val[F_COMMUNE], w->val[F_CODE_POSTAL] };
		struct domain_result res;
		if ((rc = domain_put(im, im->ts, NULL, names, vals, 3, &res, why, whylen)))
			goto out;
		snprintf(sid, sizeof(sid), "%s", res.id);
		new_s = 1;
	}
	{
		/* A directory's promeneurs are labelled: the domain's rule for
		 * a new row (labelled at creation, nothing to transmit). */
		static const char *const names[] = { "prenom", "nom", "email", "telephone",
						     "structure", "fonction", "statut" };
		const char *vals[] = { w->val[F_PRENOM], w->val[F_NOM], w->val[F_EMAIL],
				       w->val[F_TELEPHONE], sid, w->val[F_FONCTION], "labellise" };
		struct domain_result res;
		if ((rc = domain_put(im, im->tp, NULL, names, vals, 7, &res, why, whylen)))
			goto out;
		snprintf(pid, sizeof(pid), "%s", res.id);
	}
	if ((rc = write_presences(im, pid, w, &added, why, whylen)))
		goto out;
	/* Known to the next lines only once the whole row is written. */
	if ((new_s && (rc = smap_add(&im->structures, skey, sid))) ||
	    (rc = smap_add(&im->promeneurs, pkey, pid)))
		goto out;
	printf("ligne %zu : créé : %s, %s", lineno, who, sname);
	if (!have_s)
		printf(" (structure créée)");
	if (added)
		printf(", %zu profil%s", added, added > 1 ? "s" : "");
	printf("\n");
	im->created++;
	im->changed++;
out:
	free(skey);
	free(pkey);
	free(p_struct);
	free(p_statut);
	return rc;
}

static int read_file_capped(const char *path, struct buf *b)
{
	FILE *f = fopen(path, "rb");
	char chunk[65536];
	size_t n;
	int rc = 0;

	if (!f) {
		cli_error("impossible de lire « %s » : %s.", path, util_errno_fr(errno));
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
		cli_error("impossible de lire « %s » : %s.", path, util_errno_fr(errno));
		rc = RELAIS_EIO;
	}
out:
	fclose(f);
	return rc;
}

/* Finds an earlier row with the same email (ASCII case ignored) and
 * returns its line, or records this one (line) and returns 0; -1 on ENOMEM. */
static long duplicate_of(struct import *im, size_t line, const char *email)
{
	char *k = ascii_lower(email), num[24];
	const char *seen = k ? smap_get(&im->lines, k) : NULL;
	long rc = seen ? strtol(seen, NULL, 10) : 0;
	snprintf(num, sizeof(num), "%zu", line);
	if (!k || (!seen && smap_add(&im->lines, k, num)))
		rc = -1;
	free(k);
	return rc;
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
	if ((e = prepare_all(im)) || (e = sync_capture_begin(im->r->db, im->r->tables, &cap))) {
		cli_error("écriture dans le réplica impossible : %s",
			  e == RELAIS_EDB ? replica_errmsg(im->r->db) : relais_strerror(e));
		goto out;
	}
	for (size_t i = 1; i < c->nrows; i++) {
		struct row_in w;
		char why[CLI_ERRLEN] = "";
		size_t lineno = i + 1;
		long dup;
		int refused = check_row(&l, &c->rows[i], &w, why, sizeof(why));
		if (!refused) {
			if ((dup = duplicate_of(im, lineno, w.val[F_EMAIL])) > 0) {
				snprintf(why, sizeof(why), "doublon de la ligne %ld (même courriel).", dup);
				refused = 1;
			} else if (dup < 0) {
				row_release(&w);
				cli_error("%s", relais_strerror(RELAIS_ENOMEM));
				goto out;
			}
		}
		if (!refused) {
			/* A row the domain refuses halfway (its structure written,
			 * its promeneur refused) leaves nothing: the capture keeps
			 * no trace of what a savepoint rolled back. */
			e = sqlite3_exec(im->r->db, "SAVEPOINT ligne", NULL, NULL, NULL) == SQLITE_OK
			    ? write_row(im, lineno, &w, why, sizeof(why)) : RELAIS_EDB;
			if (e == 1 && sqlite3_exec(im->r->db, "ROLLBACK TO ligne", NULL, NULL,
						   NULL) != SQLITE_OK)
				e = RELAIS_EDB;
			if (e >= 0 && sqlite3_exec(im->r->db, "RELEASE ligne", NULL, NULL, NULL) != SQLITE_OK)
				e = RELAIS_EDB;
			if (e < 0) {
				row_release(&w);
				cli_error("écriture dans le réplica impossible : %s ; rien n'a été "
					  "enregistré.", e == RELAIS_EDB ? replica_errmsg(im->r->db)
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
		       "--partiel pour n'enregistrer que les lignes acceptées.\n");
		goto out;
	}
	if (im->dry_run) {
		printf("Simulation (--simulation) : rien n'a été enregistré.\n");
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
	const struct option opts[] = {
		OPT_FLAG(0, "simulation", &im.dry_run, "affiche le compte rendu sans rien enregistrer"),
		OPT_FLAG(0, "partiel", &im.partial,
			 "enregistre les lignes acceptées même si d'autres sont refusées\n"
			 "(sans cette option, une seule ligne refusée et rien n'est enregistré)"),
		OPT_END(),
	};
	const struct options_cmd oc = {
		&cli_prog, "import annuaire", "FICHIER.csv [--simulation] [--partiel]",
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
		"ou refusée avec sa raison.\n", opts, NULL, 1, 1, "fichier",
	};
	int n = 0;
	if ((rc = options_parse_cmd(&oc, argc - 2, argv + 2, &path, &n)))
		return rc < 0 ? 0 : rc;
	rc = CLI_EXIT_FAIL;
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
	if (!im.dry_run && cli_read_only(&r))
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

