/*
 * test-e2e-annuaire.c - the directory export and import and the annual
 * synthesis, through the real relais and relaisd.
 *
 * Département 43 (replica A) holds the directory; 15 (replicas B and C)
 * imports it. Files produced are checked with independent readers: python3's
 * zipfile and XML parsers for XLSX and HTML, and the real readers:
 * LibreOffice headless converting both XLSX to CSV, headless Chromium taking
 * a screenshot of the HTML synthesis (e2e_annuaire_real_readers; both are
 * required, CI installs libreoffice-calc-nogui and chromium).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "harness.h"
#include "test.h"

struct fixture {
	struct h_daemon d;
	char ta[H_TOKEN], tb[H_TOKEN], tc[H_TOKEN], tcaf[H_TOKEN];
	const char *A, *B;
	char s1[64], s2[64];      /* structures of A */
	char marie[64], zoe[64], paul[64], luc[64], lea[64];
};

static int fixture_start(struct fixture *f, const char *name)
{
	memset(f, 0, sizeof(*f));
	if (h_daemon_init(&f->d, name) ||
	    h_daemon_user(&f->d, "coord-43", "43", "coordinateur", f->ta) ||
	    h_daemon_user(&f->d, "coord-15", "15", "coordinateur", f->tb) ||
	    h_daemon_user(&f->d, "coord-15b", "15", "coordinateur", f->tc) ||
	    h_daemon_user(&f->d, "caf-15", "15", "caf", f->tcaf) ||
	    h_daemon_serve(&f->d))
		return -1;
	if (!(f->A = h_replica(&f->d, "a", f->ta)) || !(f->B = h_replica(&f->d, "b", f->tb)))
		return -1;
	return 0;
}

/* The directory of A: two labelled promeneurs with profiles, one whose
 * name would run as a spreadsheet formula, and three who must stay out. */
static int fixture_directory(struct fixture *f)
{
	const char *s;
#define ID(dst, ...) do { if (!(s = h_relais_ok(f->A, __VA_ARGS__, (char *)NULL))) return -1; \
	snprintf(dst, sizeof(dst), "%s", s); } while (0)
	ID(f->s1, "structure", "add", "--nom", "Centre social L'Éveil", "--commune",
	   "Le Puy-en-Velay", "--code-postal", "43000");
	ID(f->s2, "structure", "add", "--nom", "MJC \"Les Sucs\"; Yssingeaux", "--commune",
	   "Yssingeaux");
	ID(f->marie, "promeneur", "add", "--prenom", "Marie", "--nom", "Dupont", "--email",
	   "marie.dupont@example.org", "--telephone", "06 12 34 56 78", "--structure", f->s1,
	   "--statut", "labellise");
	ID(f->zoe, "promeneur", "add", "--prenom", "Zoé", "--nom", "=HYPERLINK(\"x\")", "--email",
	   "zoe@example.org", "--structure", f->s2, "--statut", "labellise");
	ID(f->lea, "promeneur", "add", "--prenom", "Léa", "--nom", "Ørsted", "--email",
	   "lea@example.org", "--structure", f->s2, "--statut", "labellise",
	   "--telephone", "0471020304");
	ID(f->paul, "promeneur", "add", "--prenom", "Paul", "--nom", "Exclu", "--email",
	   "paul.delab@example.org", "--structure", f->s1, "--statut", "labellise");
	if (!h_relais_ok(f->A, "promeneur", "delabelliser", f->paul, "--motif", "Départ",
			 (char *)NULL))
		return -1;
	ID(f->luc, "promeneur", "add", "--prenom", "Luc", "--nom", "Candidat", "--email",
	   "luc.cand@example.org", "--structure", f->s1);
	const char *sam = h_relais_ok(f->A, "promeneur", "add", "--prenom", "Sam", "--nom", "Suspendu",
				      "--email", "sam.susp@example.org", "--structure", f->s1, "--statut",
				      "labellise", (char *)NULL);
	if (!sam || !h_relais_ok(f->A, "promeneur", "suspendre", sam, "--motif",
				 "Absence prolongée", (char *)NULL))
		return -1;
	if (!h_relais_ok(f->A, "presence", "add", "--promeneur", f->marie, "--reseau", "instagram",
			 "--nom-profil", "marie.pdn43", (char *)NULL) ||
	    !h_relais_ok(f->A, "presence", "add", "--promeneur", f->marie, "--reseau", "facebook",
			 "--nom-profil", "Marie Promeneuse", (char *)NULL) ||
	    !h_relais_ok(f->A, "presence", "add", "--promeneur", f->paul, "--reseau", "discord",
			 "--nom-profil", "paul_exclu", (char *)NULL))
		return -1;
#undef ID
	return 0;
}

/* Bilans of A. s1: yearly bilans; s2: two half-years in 2025, and a yearly
 * bilan plus a half-year one in 2024 (the yearly one counts alone); 2023
 * must stay out of a 2025 synthesis. A third structure has no bilan. */
static int fixture_bilans(struct fixture *f)
{
	const char *bilans[][5] = {
		{ f->s1, "2025", "annee", "1500", "300" },
		{ f->s1, "2024", "annee", "1000", "320" },
		{ f->s2, "2025", "semestre1", "40", "10" },
		{ f->s2, "2025", "semestre2", "60", "12" },
		{ f->s2, "2024", "annee", "90", "25" },
		{ f->s2, "2024", "semestre1", "45", "11" },
		{ f->s2, "2023", "annee", "7777", "7777" },
	};
	for (size_t i = 0; i < sizeof(bilans) / sizeof(bilans[0]); i++)
		if (!h_relais_ok(f->A, "bilan", "add", "--structure", bilans[i][0], "--annee",
				 bilans[i][1], "--periode", bilans[i][2], "--jeunes-connectes",
				 bilans[i][3], "--heures-en-ligne", bilans[i][4], (char *)NULL))
			return -1;
	if (!h_relais_ok(f->A, "structure", "add", "--nom", "PIJ <sans bilan> & Cie",
			 "--commune", "Brioude", (char *)NULL))
		return -1;
	return 0;
}

static int write_file(const char *path, const void *data, size_t len)
{
	if (!len)
		len = strlen(data);
	FILE *f = fopen(path, "wb");
	if (!f)
		return -1;
	size_t n = fwrite(data, 1, len, f);
	return fclose(f) == 0 && n == len ? 0 : -1;
}

static struct h_out *python(const char *script, const char *arg)
{
	char *argv[] = { (char *)"/usr/bin/env", (char *)"python3", (char *)"-c", (char *)script,
			 (char *)arg, NULL };
	return h_runv(argv, H_TIMEOUT_MS);
}

/* Number of promeneurs in a replica, from its export. */
static long count_rows(const char *home, const char *table)
{
	json_t *e = h_export(home);
	return e ? (long)h_export_count(e, table) : -1;
}

TEST(e2e_annuaire_export_csv_roundtrip)
{
	struct fixture f;
	h_setup();
	CHECK_INT(fixture_start(&f, "srv"), 0);
	CHECK_INT(fixture_directory(&f), 0);

	const char *csv = h_path("annuaire.csv");
	CHECK(h_relais_ok(f.A, "export", "annuaire", "--format", "csv", "--sortie", csv,
			  (char *)NULL) != NULL);
	size_t len = 0;
	const char *text = h_read_file(csv, &len);
	CHECK(text != NULL);
	/* What a French spreadsheet opens directly: BOM, ';', CRLF. */
	CHECK(len > 3 && !memcmp(text, "\xEF\xBB\xBF", 3));
	CHECK(!strncmp(text + 3, "Nom;Prénom;Structure;Commune;Courriel;Téléphone;Réseaux;"
		       "Noms de profil\r\n", strlen("Nom;Prénom;Structure;Commune;Courriel;"
						 "Téléphone;Réseaux;Noms de profil\r\n")));
	CHECK(strstr(text, "Dupont;Marie;Centre social L'Éveil;Le Puy-en-Velay;"
		      "marie.dupont@example.org;06 12 34 56 78;facebook, instagram;"
		      "Marie Promeneuse, marie.pdn43\r\n") != NULL);
	/* Quoting and the formula guard. */
	CHECK(strstr(text, "\"'=HYPERLINK(\"\"x\"\")\";Zoé;\"MJC \"\"Les Sucs\"\"; Yssingeaux\"")
	      != NULL);
	/* Only labelled promeneurs: 3 data lines, no délabellisé, candidat, suspendu. */
	CHECK(strstr(text, "paul.delab") == NULL);
	CHECK(strstr(text, "paul_exclu") == NULL);
	CHECK(strstr(text, "luc.cand") == NULL);
	CHECK(strstr(text, "sam.susp") == NULL);
	size_t lines = 0;
	for (size_t i = 0; i < len; i++)
		lines += text[i] == '\n';
	CHECK_INT(lines, 4);

	/* The same bytes on stdout without --sortie. */
	struct h_out *o = h_relais(f.A, "export", "annuaire", "--format", "csv", (char *)NULL);
	CHECK_INT(o->status, 0);
	CHECK_INT(o->outlen, len);
	CHECK(!memcmp(o->out, text, len));

	/* Into another département: everything created, then the same export. */
	o = h_relais(f.B, "import", "annuaire", csv, (char *)NULL);
	CHECK_INT(o->status, 0);
	CHECK(strstr(o->out, "Bilan : 3 créés, 0 déjà présent, 0 refusé.") != NULL);
	CHECK(strstr(o->out, "(structure créée)") != NULL);
	CHECK_INT(count_rows(f.B, "structure"), 2);
	CHECK_INT(count_rows(f.B, "presence"), 2);
	o = h_relais(f.B, "export", "annuaire", "--format", "csv", (char *)NULL);
	CHECK_INT(o->status, 0);
	CHECK_STR(o->out, text);

	/* Importing it again matches every row and writes nothing. */
	const char *before = h_export_text(f.B);
	CHECK(before != NULL);
	o = h_relais(f.B, "import", "annuaire", csv, (char *)NULL);
	CHECK_INT(o->status, 0);
	CHECK(strstr(o->out, "Bilan : 0 créé, 3 déjà présents, 0 refusé.") != NULL);
	CHECK_STR(h_export_text(f.B), before);

	/* The import is one captured edit: it syncs, and a fresh replica of
	 * the same département exports the same directory. */
	CHECK_INT(h_sync(f.B, &f.d), 0);
	const char *C = h_replica(&f.d, "c", f.tc);
	CHECK(C != NULL);
	o = h_relais(C, "export", "annuaire", "--format", "csv", (char *)NULL);
	CHECK_INT(o->status, 0);
	CHECK_STR(o->out, text);
	/* And the rows are 15's, not 43's. */
	json_t *exp = h_export(C);
	CHECK(exp != NULL);
	json_t *rows = json_object_get(exp, "promeneur");
	CHECK_INT(json_array_size(rows), 3);
	for (size_t i = 0; i < json_array_size(rows); i++) {
		CHECK_STR_IDX(h_row_str(json_array_get(rows, i), "dept"), "15", i);
		CHECK_STR_IDX(h_row_str(json_array_get(rows, i), "statut"), "labellise", i);
	}
}

TEST(e2e_annuaire_delabellise_leaves_export)
{
	struct fixture f;
	h_setup();
	CHECK_INT(fixture_start(&f, "srv"), 0);
	CHECK_INT(fixture_directory(&f), 0);
	const char *out = h_relais_ok(f.A, "export", "annuaire", "--format", "csv", (char *)NULL);
	CHECK(out != NULL);
	CHECK(strstr(out, "marie.dupont@example.org") != NULL);
	CHECK(h_relais_ok(f.A, "promeneur", "set", f.marie, "--statut", "delabellise",
			  "--motif-delabellisation", "Départ", (char *)NULL) != NULL);
	out = h_relais_ok(f.A, "export", "annuaire", "--format", "csv", (char *)NULL);
	CHECK(out != NULL);
	CHECK(strstr(out, "marie.dupont@example.org") == NULL);
	CHECK(strstr(out, "marie.pdn43") == NULL);
	CHECK(strstr(out, "zoe@example.org") != NULL);
}

struct bad_case {
	const char *name;
	const char *data;
	size_t len;                 /* 0: strlen(data) */
	int status;                 /* without --partial */
	const char *expect[4];      /* in stdout or stderr */
	long written_partial;       /* promeneurs after --partial; -1: same refusal */
};

TEST(e2e_annuaire_import_malformed)
{
	static const struct bad_case cases[] = {
		{ "colonnes", "Prénom;Nom;Établissement;Mél\nAnne;Morel;MJC;anne@example.org\n", 0,
		  1, { "colonnes obligatoires absentes", "Structure", "Courriel",
		       "Colonne ignorée : « Établissement »" }, -1 },
		/* Windows-1252, semicolons: converted, then one bad email refuses its row. */
		{ "cp1252", "Pr\xe9nom;Nom;Structure;Commune;Courriel\r\n"
		  "H\xe9l\xe8ne;L\xe9ger;Centre social Saint-Fl\xf4ur;Saint-Flour;helene@example.org\r\n"
		  "No\xebl;B\xe2t;Centre social Saint-Fl\xf4ur;;noel@@example.org\r\n", 0,
		  1, { "Windows-1252", "ligne 2 : créé : Hélène Léger", "ligne 3 : refusé : Courriel",
		       "« noel@@example.org »" }, 1 },
		/* Commas; the same email twice (case aside), a missing name. */
		{ "doublons", "prenom,nom,structure,commune,email,telephone\n"
		  "Jean,Durand,MJC Aurillac,Aurillac,jean@example.org,04 71 00 00 00\n"
		  "Jean,Durand,MJC Aurillac,Aurillac,JEAN@example.org,\n"
		  "Anne,,MJC Aurillac,Aurillac,anne@example.org,\n"
		  "Cécile,Roux,MJC Aurillac,Aurillac,cecile@example.org,123\n", 0,
		  1, { "ligne 3 : refusé : doublon de la ligne 2", "ligne 4 : refusé : Nom",
		       "ligne 5 : refusé : Téléphone", "Bilan : 1 créé, 0 déjà présent, 3 refusés." },
		  1 },
		/* A new structure without its commune, networks that do not pair. */
		{ "structure", "Nom,Prénom,Structure,Commune,Courriel,Réseaux,Noms de profil\n"
		  "Petit,Ana,Nouvelle structure,,ana@example.org,,\n"
		  "Grand,Bob,PIJ Mauriac,Mauriac,bob@example.org,\"facebook, tiktok\",bob.pdn\n"
		  "Moyen,Eve,PIJ Mauriac,Mauriac,eve@example.org,myspace,eve\n"
		  "Bon,Max,PIJ Mauriac,Mauriac,max@example.org,\"tiktok, snapchat\","
		  "\"max.pdn, max_snap\"\n", 0,
		  1, { "ligne 2 : refusé : la structure « Nouvelle structure » n'existe pas",
		       "ligne 3 : refusé : 2 réseaux mais 1 nom de profil",
		       "ligne 4 : refusé : Réseau social", "ligne 5 : créé : Max Bon" }, 1 },
		/* Not CSV at all: a NUL byte. */
		{ "binaire", "Nom;Prénom\n\0\x01\x02", 14, 1, { "n'est pas un CSV lisible" }, -1 },
	};
	struct fixture f;
	h_setup();
	CHECK_INT(fixture_start(&f, "srv"), 0);
	const char *before = h_export_text(f.B);
	CHECK(before != NULL);

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct bad_case *c = &cases[i];
		const char *path = h_path(h_strf("%s.csv", c->name));
		CHECK_INT_IDX(write_file(path, c->data, c->len), 0, i);
		const char *modes[][2] = { { NULL, NULL }, { "--dry-run", NULL },
					   { "--dry-run", "--partial" } };
		for (size_t m = 0; m < 3; m++) {
			struct h_out *o = h_relais(f.B, "import", "annuaire", path, modes[m][0],
						   modes[m][1], (char *)NULL);
			int want = m == 2 && c->written_partial >= 0 ? 0 : c->status;
			CHECK_INT_IDX(o->status, want, (int)(i * 10 + m));
			for (size_t k = 0; k < 4 && c->expect[k]; k++)
				CHECK_IDX(strstr(o->out, c->expect[k]) || strstr(o->err, c->expect[k]),
					  (int)(i * 10 + k));
			/* Nothing written, nothing queued. */
			CHECK_STR(h_export_text(f.B), before);
			json_t *st = h_status(f.B);
			CHECK(st != NULL);
			CHECK_INT_IDX(json_integer_value(json_object_get(st, "pending")), 0, i);
		}
	}

	/* --partial writes the good rows only, in one edit. */
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct bad_case *c = &cases[i];
		long n0 = count_rows(f.B, "promeneur");
		struct h_out *o = h_relais(f.B, "import", "annuaire", h_path(h_strf("%s.csv", c->name)),
					   "--partial", (char *)NULL);
		if (c->written_partial < 0) {
			CHECK_INT_IDX(o->status, c->status, i);
			CHECK_INT_IDX(count_rows(f.B, "promeneur"), n0, i);
			continue;
		}
		CHECK_INT_IDX(o->status, 0, i);
		CHECK_IDX(strstr(o->out, "Enregistré : ") != NULL, i);
		CHECK_INT_IDX(count_rows(f.B, "promeneur"), n0 + c->written_partial, i);
	}
	json_t *exp = h_export(f.B);
	CHECK(exp != NULL);
	json_t *rows = json_object_get(exp, "promeneur");
	int helene = 0, noel = 0, jean = 0, max = 0;
	for (size_t i = 0; i < json_array_size(rows); i++) {
		json_t *r = json_array_get(rows, i);
		const char *email = h_row_str(r, "email");
		if (!strcmp(email, "helene@example.org")) {
			helene = 1;
			CHECK_STR(h_row_str(r, "prenom"), "Hélène");
			CHECK_STR(h_row_str(r, "statut"), "labellise");
		}
		noel |= !strcmp(email, "noel@@example.org");
		if (!strcmp(email, "jean@example.org")) {
			jean = 1;
			CHECK_STR(h_row_str(r, "telephone"), "0471000000");
		}
		max |= !strcmp(email, "max@example.org");
	}
	CHECK(helene && jean && max && !noel);
	CHECK_INT(count_rows(f.B, "presence"), 2);
	/* "Centre social Saint-Flôur" once, "MJC Aurillac" once, "PIJ Mauriac" once. */
	CHECK_INT(count_rows(f.B, "structure"), 3);
	json_t *st = h_status(f.B);
	CHECK(st != NULL);
	CHECK_INT(json_integer_value(json_object_get(st, "pending")), 3);
}

TEST(e2e_annuaire_import_completes_and_refuses_caf)
{
	struct fixture f;
	h_setup();
	CHECK_INT(fixture_start(&f, "srv"), 0);
	const char *p1 = h_path("un.csv"), *p2 = h_path("deux.csv");
	CHECK_INT(write_file(p1, "Nom;Prénom;Structure;Commune;Courriel\n"
			     "Durand;Jean;MJC Aurillac;Aurillac;jean@example.org\n", 0), 0);
	CHECK(h_relais_ok(f.B, "import", "annuaire", p1, (char *)NULL) != NULL);
	/* A second file names the structure differently (case, accents,
	 * spaces) and brings a phone and a profile: only those are added. */
	CHECK_INT(write_file(p2, "NOM,PRENOM,STRUCTURE,TÉL.,Instagram\n"
			     "Autre,Jean,mjc  aurillac,06.11.22.33.44,jean.pdn\n", 0), 0);
	struct h_out *o = h_relais(f.B, "import", "annuaire", p2, (char *)NULL);
	CHECK_INT(o->status, 1);  /* no Courriel column */
	CHECK_INT(write_file(p2, "NOM,PRENOM,STRUCTURE,TÉL.,Instagram,e-mail\n"
			     "Autre,Jean,mjc  aurillac,06.11.22.33.44,jean.pdn,Jean@Example.org\n",
			     0), 0);
	o = h_relais(f.B, "import", "annuaire", p2, (char *)NULL);
	CHECK_INT(o->status, 0);
	CHECK(strstr(o->out, "déjà présent, complété (téléphone, 1 profil)") != NULL);
	json_t *exp = h_export(f.B);
	CHECK(exp != NULL);
	CHECK_INT(h_export_count(exp, "promeneur"), 1);
	CHECK_INT(h_export_count(exp, "structure"), 1);
	json_t *p = json_array_get(json_object_get(exp, "promeneur"), 0);
	CHECK_STR(h_row_str(p, "nom"), "Durand");          /* not overwritten */
	CHECK_STR(h_row_str(p, "telephone"), "0611223344");
	json_t *pr = json_array_get(json_object_get(exp, "presence"), 0);
	CHECK_STR(h_row_str(pr, "reseau"), "instagram");
	CHECK_STR(h_row_str(pr, "nom_profil"), "jean.pdn");

	/* A CAF account reads only. */
	const char *caf = h_replica(&f.d, "caf", f.tcaf);
	CHECK(caf != NULL);
	o = h_relais(caf, "import", "annuaire", p1, (char *)NULL);
	CHECK_INT(o->status, 1);
	CHECK_INT(count_rows(caf, "promeneur"), 0);

	/* Usage errors, and --help for each command. */
	CHECK_INT(h_relais(f.B, "import", "annuaire", (char *)NULL)->status, 2);
	CHECK_INT(h_relais(f.B, "import", "annuaire", p1, "--oups", (char *)NULL)->status, 2);
	CHECK_INT(h_relais(f.B, "import", "annuaire", h_path("absent.csv"), (char *)NULL)->status, 1);
	CHECK_INT(h_relais(f.B, "export", "annuaire", "--format", "ods", (char *)NULL)->status, 2);
	CHECK_INT(h_relais(f.B, "export", "annuaire", "--format", "xlsx", (char *)NULL)->status, 2);
	CHECK_INT(h_relais(f.B, "synthese", "--annee", "deux", "--format", "html",
			   (char *)NULL)->status, 2);
	CHECK_INT(h_relais(f.B, "synthese", "--annee", "2025", (char *)NULL)->status, 2);
	const char *helps[][3] = { { "import", "annuaire", "--help" },
				   { "export", "annuaire", "--help" },
				   { "synthese", "--help", NULL } };
	for (size_t i = 0; i < 3; i++) {
		o = h_relais(f.B, helps[i][0], helps[i][1], helps[i][2], (char *)NULL);
		CHECK_INT_IDX(o->status, 0, i);
		CHECK_IDX(strstr(o->out, "Usage : relais") != NULL, i);
	}
}

/* Rebuilds the first sheet of an XLSX as lines of ';'-joined cells, from the
 * shared strings and the sheet XML, with python3's zipfile and XML parser. */
static const char xlsx_script[] =
	"import sys, zipfile, xml.etree.ElementTree as E\n"
	"ns = {'m': 'http://schemas.openxmlformats.org/spreadsheetml/2006/main'}\n"
	"z = zipfile.ZipFile(sys.argv[1])\n"
	"assert z.testzip() is None\n"
	"ss = [''.join(t.text or '' for t in si.iter('{%s}t' % ns['m']))\n"
	"      for si in E.fromstring(z.read('xl/sharedStrings.xml')).findall('m:si', ns)]\n"
	"sh = E.fromstring(z.read('xl/worksheets/sheet1.xml'))\n"
	"print('FROZEN' if sh.find('.//m:pane[@state=\"frozen\"]', ns) is not None else 'NOTFROZEN')\n"
	"print('COLS', len(sh.findall('.//m:col', ns)))\n"
	"for row in sh.findall('.//m:row', ns):\n"
	"    cells = {}\n"
	"    for c in row.findall('m:c', ns):\n"
	"        col = ''.join(ch for ch in c.get('r') if ch.isalpha())\n"
	"        v = c.find('m:v', ns)\n"
	"        cells[ord(col) - 65] = ss[int(v.text)] if c.get('t') == 's' else v.text\n"
	"    print(';'.join(cells.get(i, '') for i in range(8)))\n";

TEST(e2e_annuaire_export_xlsx)
{
	struct fixture f;
	h_setup();
	CHECK_INT(fixture_start(&f, "srv"), 0);
	CHECK_INT(fixture_directory(&f), 0);
	const char *x = h_path("annuaire.xlsx");
	CHECK(h_relais_ok(f.A, "export", "annuaire", "--format", "xlsx", "--sortie", x,
			  (char *)NULL) != NULL);
	struct h_out *o = python(xlsx_script, x);
	CHECK_INT(o->status, 0);
	CHECK(!strncmp(o->out, "FROZEN\nCOLS 8\n", 14));
	const char *rows = o->out + 14;
	CHECK(!strncmp(rows, "Nom;Prénom;Structure;Commune;Courriel;Téléphone;Réseaux;"
		       "Noms de profil\n", strlen("Nom;Prénom;Structure;Commune;Courriel;"
						 "Téléphone;Réseaux;Noms de profil\n")));
	CHECK(strstr(rows, "Dupont;Marie;Centre social L'Éveil;Le Puy-en-Velay;"
		      "marie.dupont@example.org;06 12 34 56 78;facebook, instagram;"
		      "Marie Promeneuse, marie.pdn43\n") != NULL);
	/* A string cell, never a formula, in XLSX: no guard needed. */
	CHECK(strstr(rows, "=HYPERLINK(\"x\");Zoé;MJC \"Les Sucs\"; Yssingeaux;") != NULL);
	CHECK(strstr(rows, "Ørsted;Léa;") != NULL);
	CHECK(strstr(rows, "paul.delab") == NULL && strstr(rows, "luc.cand") == NULL);
	size_t lines = 0;
	for (const char *p = rows; *p; p++)
		lines += *p == '\n';
	CHECK_INT(lines, 4);
	/* The header is bold: the workbook has a bold font for it. */
	o = python("import sys, zipfile\n"
		   "s = zipfile.ZipFile(sys.argv[1]).read('xl/styles.xml').decode()\n"
		   "print('BOLD' if '<b/>' in s else 'PLAIN')\n", x);
	CHECK_INT(o->status, 0);
	CHECK_STR(o->out, "BOLD\n");

	/* LibreOffice reads this file in e2e_annuaire_real_readers. */
	/* The file is replaced whole: a failed export leaves no partial file. */
	FILE *blocker = fopen(h_path("fichier"), "w");
	CHECK(blocker != NULL);
	fclose(blocker);
	CHECK_INT(h_relais(f.A, "export", "annuaire", "--format", "xlsx", "--sortie",
			   h_path("fichier/annuaire.xlsx"), (char *)NULL)->status, 1);
	CHECK(h_read_file(h_path("fichier/annuaire.xlsx"), NULL) == NULL);
}

static const char html_script[] =
	"import sys, xml.etree.ElementTree as E\n"
	"from html.parser import HTMLParser\n"
	"text = open(sys.argv[1], encoding='utf-8').read()\n"
	"root = E.fromstring(text[text.index('<html'):])\n"
	"X = '{http://www.w3.org/1999/xhtml}'\n"
	"S = '{http://www.w3.org/2000/svg}'\n"
	"class P(HTMLParser):\n"
	"    ext = 0\n"
	"    def handle_starttag(self, tag, attrs):\n"
	"        for k, v in attrs:\n"
	"            if k in ('src', 'href') or (k == 'style' and 'url(' in v): self.ext += 1\n"
	"        if tag in ('link', 'script', 'img', 'iframe'): self.ext += 1\n"
	"p = P(); p.feed(text); p.close()\n"
	"print('EXTERNAL', p.ext)\n"
	"print('SVG', len(root.findall('.//' + S + 'svg')))\n"
	"print('RECT', len(root.findall('.//' + S + 'rect')))\n"
	"for tr in root.find('.//' + X + 'table').iter(X + 'tr'):\n"
	"    print('|'.join(''.join(c.itertext()) for c in tr))\n";

TEST(e2e_annuaire_synthese)
{
	struct fixture f;
	h_setup();
	CHECK_INT(fixture_start(&f, "srv"), 0);
	CHECK_INT(fixture_directory(&f), 0);
	CHECK_INT(fixture_bilans(&f), 0);

	const char *html = h_path("synthese.html");
	CHECK(h_relais_ok(f.A, "synthese", "--annee", "2025", "--format", "html", "--sortie", html,
			  (char *)NULL) != NULL);
	struct h_out *o = python(html_script, html);
	CHECK_INT(o->status, 0);
	CHECK(strstr(o->out, "EXTERNAL 0\n") != NULL);
	CHECK(strstr(o->out, "SVG 9\n") != NULL);   /* one chart per indicator */
	CHECK(strstr(o->out, "RECT 18\n") != NULL);
	CHECK(strstr(o->out, "Indicateur|2024|2025|Évolution\n") != NULL);
	/* 1500 + 40 + 60 = 1600 against 1000 + 90 = 1090; 322 against 345. */
	CHECK(strstr(o->out, "Jeunes connectés|1\xc2\xa0" "090|1\xc2\xa0" "600|+510 (+46,8\xc2\xa0%)\n")
	      != NULL);
	CHECK(strstr(o->out, "Heures en ligne|345|322|−23 (−6,7\xc2\xa0%)\n") != NULL);
	size_t len = 0;
	const char *page = h_read_file(html, &len);
	CHECK(page != NULL);
	CHECK(strstr(page, "<svg") != NULL);
	CHECK(strstr(page, "PIJ &lt;sans bilan&gt; &amp; Cie") != NULL);
	CHECK(strstr(page, "aucun bilan reçu pour 2025") != NULL);
	CHECK(strstr(page, "7\xc2\xa0" "777") == NULL);

	/* stdout without --sortie gives the same page. */
	o = h_relais(f.A, "synthese", "--annee", "2025", "--format", "html", (char *)NULL);
	CHECK_INT(o->status, 0);
	CHECK_INT(o->outlen, len);

	const char *x = h_path("synthese.xlsx");
	CHECK(h_relais_ok(f.A, "synthese", "--annee", "2025", "--format", "xlsx", "--sortie", x,
			  (char *)NULL) != NULL);
	o = python("import sys, zipfile\n"
		   "z = zipfile.ZipFile(sys.argv[1])\n"
		   "assert z.testzip() is None\n"
		   "c = z.read('xl/charts/chart1.xml').decode()\n"
		   "print('BAR' if '<c:barChart>' in c else 'NOBAR', c.count('<c:ser>'))\n"
		   "s = z.read('xl/worksheets/sheet1.xml').decode()\n"
		   "print('1600' if '<v>1600</v>' in s and '<v>1090</v>' in s else 'MISSING')\n"
		   "print('DRAWING' if 'xl/drawings/drawing1.xml' in z.namelist() else 'NODRAWING')\n"
		   "print(len([n for n in z.namelist() if n.startswith('xl/worksheets/sheet')]))\n",
		   x);
	CHECK_INT(o->status, 0);
	CHECK_STR(o->out, "BAR 2\n1600\nDRAWING\n2\n");
}

/*
 * Decodes a PNG with python3's zlib (8-bit RGB or RGBA, not interlaced, the
 * five filters undone) and counts its colours and the pixels of the two bar
 * colours of the SVG charts (#1f6feb this year, #9aa5b1 the year before):
 * a page that did not render, or rendered without its charts, fails.
 */
static const char png_script[] =
	"import sys, zlib, struct, collections\n"
	"d = open(sys.argv[1], 'rb').read()\n"
	"if d[:8] != b'\\x89PNG\\r\\n\\x1a\\n':\n"
	"    print('NOTPNG'); sys.exit(0)\n"
	"pos, idat, hdr = 8, [], None\n"
	"while pos + 8 <= len(d):\n"
	"    n, t = struct.unpack('>I4s', d[pos:pos + 8])\n"
	"    if t == b'IHDR': hdr = struct.unpack('>IIBBBBB', d[pos + 8:pos + 21])\n"
	"    elif t == b'IDAT': idat.append(d[pos + 8:pos + 8 + n])\n"
	"    elif t == b'IEND': break\n"
	"    pos += 12 + n\n"
	"w, h, depth, ctype, _, _, lace = hdr\n"
	"assert depth == 8 and lace == 0 and ctype in (2, 6), hdr\n"
	"bpp = 3 if ctype == 2 else 4\n"
	"st = w * bpp\n"
	"raw = zlib.decompress(b''.join(idat))\n"
	"assert len(raw) == h * (st + 1)\n"
	"prev, seen = bytearray(st), collections.Counter()\n"
	"for y in range(h):\n"
	"    f, cur = raw[y * (st + 1)], bytearray(raw[y * (st + 1) + 1:(y + 1) * (st + 1)])\n"
	"    if f == 1:\n"
	"        for i in range(bpp, st): cur[i] = (cur[i] + cur[i - bpp]) & 255\n"
	"    elif f == 2:\n"
	"        cur = bytearray((a + b) & 255 for a, b in zip(cur, prev))\n"
	"    elif f == 3:\n"
	"        for i in range(st):\n"
	"            cur[i] = (cur[i] + ((cur[i - bpp] if i >= bpp else 0) + prev[i]) // 2) & 255\n"
	"    elif f == 4:\n"
	"        for i in range(st):\n"
	"            a = cur[i - bpp] if i >= bpp else 0\n"
	"            b, c = prev[i], prev[i - bpp] if i >= bpp else 0\n"
	"            p = a + b - c\n"
	"            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)\n"
	"            cur[i] = (cur[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255\n"
	"    seen.update(zip(cur[0::bpp], cur[1::bpp], cur[2::bpp]))\n"
	"    prev = cur\n"
	"print('PNG', w, h)\n"
	"print('COLOURS', len(seen))\n"
	"print('CUR', seen[(0x1f, 0x6f, 0xeb)])\n"
	"print('PREV', seen[(0x9a, 0xa5, 0xb1)])\n";

/* Occurrences of needle in text. */
static size_t count_str(const char *text, const char *needle)
{
	size_t n = 0;
	for (const char *p = text; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* Keeps a file of the test for a person to look at, when
 * RELAIS_TEST_ARTIFACTS names a directory (made when absent). */
static int keep_artifact(const char *path, const char *name)
{
	const char *dir = getenv("RELAIS_TEST_ARTIFACTS");
	size_t len = 0;
	if (!dir || !*dir)
		return 0;
	const char *data = h_read_file(path, &len);
	if (!data || !len || (mkdir(dir, 0755) && access(dir, W_OK)))
		return -1;
	return write_file(h_strf("%s/%s", dir, name), data, len);
}

/* Headless Chromium on a local file, with its own profile in the test
 * directory and nothing that would reach the network. */
static struct h_out *chromium(const char *mode, const char *page)
{
	char *argv[] = { (char *)"/usr/bin/chromium", (char *)"--headless",
			 (char *)"--no-sandbox", (char *)"--disable-gpu", (char *)"--disable-quic",
			 (char *)"--no-first-run", (char *)"--disable-background-networking",
			 (char *)"--disable-component-update", (char *)"--disable-sync",
			 h_strf("--user-data-dir=%s", h_path("chrome")),
			 (char *)"--window-size=1200,1600", (char *)mode,
			 h_strf("file://%s", page), NULL };
	return h_runv(argv, 60000);
}

TEST(e2e_annuaire_real_readers)
{
	struct fixture f;
	h_setup();
	/* Required, not optional: a missing reader fails the test. */
	if (access("/usr/bin/soffice", X_OK) || access("/usr/bin/chromium", X_OK))
		fprintf(stderr, "  soffice or chromium missing: apt-get install "
			"libreoffice-calc-nogui chromium\n");
	CHECK_INT(access("/usr/bin/soffice", X_OK), 0);
	CHECK_INT(access("/usr/bin/chromium", X_OK), 0);
	CHECK_INT(fixture_start(&f, "srv"), 0);
	CHECK_INT(fixture_directory(&f), 0);
	CHECK_INT(fixture_bilans(&f), 0);
	const char *ax = h_path("annuaire.xlsx"), *sx = h_path("synthese.xlsx");
	const char *sh = h_path("synthese.html");
	CHECK(h_relais_ok(f.A, "export", "annuaire", "--format", "xlsx", "--sortie", ax,
			  (char *)NULL) != NULL);
	CHECK(h_relais_ok(f.A, "synthese", "--annee", "2025", "--format", "xlsx", "--sortie", sx,
			  (char *)NULL) != NULL);
	CHECK(h_relais_ok(f.A, "synthese", "--annee", "2025", "--format", "html", "--sortie", sh,
			  (char *)NULL) != NULL);

	/* Both workbooks in one LibreOffice run (its start is the slow part),
	 * with a fresh profile; ';', '"', UTF-8 (76); first sheet only. */
	char *lo[] = { (char *)"/usr/bin/soffice", (char *)"--headless", (char *)"--norestore",
		       h_strf("-env:UserInstallation=file://%s", h_path("lo")),
		       (char *)"--convert-to", (char *)"csv:Text - txt - csv (StarCalc):59,34,76",
		       (char *)"--outdir", h_path("lo-csv"), (char *)ax, (char *)sx, NULL };
	struct h_out *o = h_runv(lo, 90000);
	CHECK_INT(o->status, 0);
	const char *csv = h_read_file(h_path("lo-csv/annuaire.csv"), NULL);
	CHECK(csv != NULL);
	/* The formula-looking name stays text: LibreOffice would show "x" for
	 * a formula cell. */
	CHECK_STR(csv, "Nom;Prénom;Structure;Commune;Courriel;Téléphone;Réseaux;Noms de profil\n"
		  "\"=HYPERLINK(\"\"x\"\")\";Zoé;\"MJC \"\"Les Sucs\"\"; Yssingeaux\";Yssingeaux;"
		  "zoe@example.org;;;\n"
		  "Dupont;Marie;Centre social L'Éveil;Le Puy-en-Velay;marie.dupont@example.org;"
		  "06 12 34 56 78;facebook, instagram;Marie Promeneuse, marie.pdn43\n"
		  "Ørsted;Léa;\"MJC \"\"Les Sucs\"\"; Yssingeaux\";Yssingeaux;lea@example.org;"
		  "04 71 02 03 04;;\n");
	csv = h_read_file(h_path("lo-csv/synthese.csv"), NULL);
	CHECK(csv != NULL);
	CHECK(!strncmp(csv, "Promeneurs du Net (43) : synthèse des bilans 2025;",
		       strlen("Promeneurs du Net (43) : synthèse des bilans 2025;")));
	CHECK(strstr(csv, "bilans reçus : 3 (2 en 2024)") != NULL);
	CHECK(strstr(csv, "\nIndicateur;2024;2025;Évolution;Évolution (%)\n") != NULL);
	/* The percentage column is left out: its text follows the locale. */
	CHECK(strstr(csv, "\nJeunes connectés;1090;1600;510;") != NULL);
	CHECK(strstr(csv, "\nHeures en ligne;345;322;-23;") != NULL);
	CHECK(strstr(csv, "\nProjets initiés;0;0;0;\n") != NULL);
	CHECK(strstr(csv, "7777") == NULL);
	CHECK_INT(count_str(csv, "\n"), 4 + 9);

	/* The HTML synthesis in a browser: a screenshot that shows the bars. */
	const char *png = h_path("synthese.png");
	o = chromium(h_strf("--screenshot=%s", png), sh);
	CHECK_INT(o->status, 0);
	size_t len = 0;
	const char *img = h_read_file(png, &len);
	CHECK(img != NULL);
	CHECK(len > 8 && !memcmp(img, "\x89PNG\r\n\x1a\n", 8));
	CHECK_INT(keep_artifact(png, "e2e_annuaire_synthese.png"), 0);
	o = python(png_script, png);
	CHECK_INT(o->status, 0);
	CHECK(!strncmp(o->out, "PNG 1200 1600\nCOLOURS ", strlen("PNG 1200 1600\nCOLOURS ")));
	long colours = -1, cur = -1, prev = -1;
	CHECK_INT(sscanf(o->out, "PNG 1200 1600\nCOLOURS %ld\nCUR %ld\nPREV %ld", &colours, &cur,
			 &prev), 3);
	/* Text needs antialiasing shades; each pair of bars is 20 px high and
	 * up to 220 px wide (two pairs with values here, and the legend). */
	CHECK(colours > 50);
	CHECK(cur > 5000);
	CHECK(prev > 5000);

	/* The DOM the browser built: every chart and bar is an SVG element. */
	o = chromium("--dump-dom", sh);
	CHECK_INT(o->status, 0);
	CHECK_INT(count_str(o->out, "<svg"), 9);
	CHECK_INT(count_str(o->out, "<rect"), 18);
	/* One current-year bar per chart; the legend's swatch has the class too. */
	CHECK_INT(count_str(o->out, "<span class=\"cur\""), 1);
	CHECK_INT(count_str(o->out, "class=\"cur\""), 10);
	CHECK(strstr(o->out, "PIJ &lt;sans bilan&gt; &amp; Cie") != NULL);
	CHECK(strstr(o->out, "aucun bilan reçu pour 2025") != NULL);
}
