/*
 * form.c - the plain-text candidature and bilan forms of form.h.
 *
 * Each form is a list of specs naming model columns; build_def() turns them
 * into fields with their French labels, hints and folded spellings, and the
 * same fields drive the blank form, the text parser, the CSV reader and the
 * problems. Labels are matched on their folded form (model_fold: case,
 * accents, spaces and punctuation forgiven), so a label may itself hold a
 * colon ("Interventions : information") and still be told from its value.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "form.h"
#include "csv.h"
#include "model_int.h"

#define FOLD_MAX 256
#define MAX_FIELDS 48
#define MAX_SECTIONS 4
/* Separators further into a line than this cannot end a label. */
#define LABEL_SCAN_MAX 200
#define PROBLEMS_MAX 200
#define PRESENCE_ROWS_MAX 50

/* Field flags. */
#define FF_REQUIRED  0x01u /* required by the form whatever the model says */
#define FF_PERSON    0x02u /* a promeneur named by email or "Prénom Nom" */
#define FF_NETWORK   0x04u /* the profile name on one network (one per enum value) */
#define FF_OTHER_NET 0x08u /* a profile on a network the enumeration lacks */
#define FF_NET_LINE  0x10u /* "Réseau social : instagram — profil : x", repeatable */
#define FF_HIDDEN    0x20u /* understood but not printed in the blank form */

struct spec {
	int section;
	const char *key;
	const char *table, *column;             /* the column that checks the value */
	const char *label_table, *label_column; /* where the label comes from, if elsewhere */
	const char *label;                      /* a label of the form's own */
	const char *hint;                       /* printed in parentheses after the label */
	unsigned flags;
};

struct field {
	const char *key;
	const struct model_column *col;
	const char *network;      /* FF_NETWORK: the enumeration value */
	char label[128];
	char hint[512];
	char display[192];        /* how problems name the field */
	char fold[FOLD_MAX], fold_short[FOLD_MAX], fold_display[FOLD_MAX];
	int section;
	unsigned flags;
	int required;
	int state;                /* 0 not given, 1 recorded, 2 refused */
};

struct def {
	enum form_kind kind;
	const char *title;
	const char *intro;
	char sections[MAX_SECTIONS][256];
	char sfold[MAX_SECTIONS][FOLD_MAX];
	size_t nsections;
	struct field f[MAX_FIELDS];
	size_t n;
};

/* ---- the two forms ---- */

/* What the information notice of every form says (RGPD): purpose,
 * retention, rights and whom to ask. */
#define FORM_DATA_NOTICE \
	"Vos données : elles servent à suivre le réseau des Promeneurs du Net du\n" \
	"département (coordination départementale et Caf) et, pour les promeneurs\n" \
	"labellisés, à l'annuaire national. Elles sont gardées tant que vous êtes dans\n" \
	"le réseau, puis un an (un an après la décision du comité si la candidature\n" \
	"n'est pas retenue). Pour y accéder, les faire corriger ou effacer, écrivez à\n" \
	"la coordination départementale, à l'adresse de ce courriel.\n"

static const char *const candidature_tables[] = { "structure", "promeneur", "presence", "candidature" };
static const char *const candidature_hints[] = {
	NULL, "la personne candidate",
	"nom de profil sur chaque réseau utilisé",
	"votre motivation ; les critères du dossier sont notés par le jury"
};

static const struct spec candidature_spec[] = {
	{ 0, "structure.nom", "structure", "nom", NULL, NULL, NULL, NULL, 0 },
	{ 0, "structure.commune", "structure", "commune", NULL, NULL, NULL, NULL, 0 },
	{ 0, "structure.type", "structure", "type", NULL, NULL, NULL, NULL, 0 },
	{ 0, "structure.email", "structure", "email", NULL, NULL, NULL, NULL, 0 },
	{ 0, "structure.telephone", "structure", "telephone", NULL, NULL, NULL, NULL, 0 },
	{ 1, "promeneur.prenom", "promeneur", "prenom", NULL, NULL, NULL, NULL, 0 },
	{ 1, "promeneur.nom", "promeneur", "nom", NULL, NULL, NULL, NULL, 0 },
	{ 1, "promeneur.email", "promeneur", "email", NULL, NULL, NULL, NULL, 0 },
	{ 1, "promeneur.telephone", "promeneur", "telephone", NULL, NULL, NULL, NULL, 0 },
	{ 1, "promeneur.fonction", "promeneur", "fonction", NULL, NULL, NULL, NULL, 0 },
	{ 1, "promeneur.public", "promeneur", "public", NULL, NULL, NULL, NULL, 0 },
	{ 1, "promeneur.heures_hebdo", "promeneur", "heures_hebdo", NULL, NULL, NULL, NULL, 0 },
	/* Expanded into one field per network of presence.reseau. */
	{ 2, "presence.nom_profil", "presence", "nom_profil", NULL, NULL, NULL, NULL, FF_NETWORK },
	{ 2, "presence.nom_profil", "presence", "nom_profil", NULL, NULL, "Autre réseau",
	  "nom du réseau et du profil", FF_OTHER_NET },
	{ 2, "presence.nom_profil", "presence", "nom_profil", "presence", "reseau", NULL, NULL,
	  FF_NET_LINE | FF_HIDDEN },
	/* The jury scores the criteria (the Haute-Loire cahier des charges):
	 * the blank form does not ask the applicant for them; a form of an
	 * earlier release that holds them is still read. */
	{ 3, "candidature.pertinence", "candidature", "pertinence", NULL, NULL, NULL, NULL, FF_HIDDEN },
	{ 3, "candidature.adequation_projet", "candidature", "adequation_projet", NULL, NULL, NULL, NULL, FF_HIDDEN },
	{ 3, "candidature.comprehension", "candidature", "comprehension", NULL, NULL, NULL, NULL, FF_HIDDEN },
	{ 3, "candidature.territoire", "candidature", "territoire", NULL, NULL, NULL, NULL, FF_HIDDEN },
	{ 3, "candidature.qualification", "candidature", "qualification", NULL, NULL, NULL, NULL, FF_HIDDEN },
	{ 3, "candidature.contrat", "candidature", "contrat", NULL, NULL, NULL, NULL, FF_HIDDEN },
	{ 3, "candidature.disponibilite", "candidature", "disponibilite", NULL, NULL, NULL, NULL, FF_HIDDEN },
	/* Last, so that its lines run on to the end of the form. */
	{ 3, "candidature.motivation", "candidature", "motivation", NULL, NULL, NULL, NULL, FF_REQUIRED },
};

static const char *const bilan_tables[] = { "bilan" };
static const char *const bilan_hints[] = { NULL };

static const struct spec bilan_spec[] = {
	{ 0, "structure.nom", "structure", "nom", "bilan", "structure", NULL, "nom de la structure",
	  FF_REQUIRED },
	{ 0, "promeneur", "promeneur", "nom", "bilan", "promeneur", NULL,
	  "prénom et nom, ou courriel ; vide pour toute la structure", FF_PERSON },
	{ 0, "bilan.annee", "bilan", "annee", NULL, NULL, NULL, NULL, 0 },
	{ 0, "bilan.periode", "bilan", "periode", NULL, NULL, NULL, NULL, 0 },
	{ 0, "bilan.jeunes_connectes", "bilan", "jeunes_connectes", NULL, NULL, NULL, NULL, 0 },
	{ 0, "bilan.interventions_information", "bilan", "interventions_information", NULL, NULL, NULL, NULL, 0 },
	{ 0, "bilan.interventions_lien_social", "bilan", "interventions_lien_social", NULL, NULL, NULL, NULL, 0 },
	{ 0, "bilan.interventions_contact", "bilan", "interventions_contact", NULL, NULL, NULL, NULL, 0 },
	{ 0, "bilan.interventions_projet", "bilan", "interventions_projet", NULL, NULL, NULL, NULL, 0 },
	{ 0, "bilan.interventions_ecoute", "bilan", "interventions_ecoute", NULL, NULL, NULL, NULL, 0 },
	{ 0, "bilan.jeunes_rencontres", "bilan", "jeunes_rencontres", NULL, NULL, NULL, NULL, 0 },
	{ 0, "bilan.projets_inities", "bilan", "projets_inities", NULL, NULL, NULL, NULL, 0 },
	{ 0, "bilan.heures_en_ligne", "bilan", "heures_en_ligne", NULL, NULL, NULL, NULL, 0 },
	{ 0, "bilan.articulation", "bilan", "articulation", NULL, NULL, NULL, NULL, 0 },
	{ 0, "bilan.commentaire", "bilan", "commentaire", NULL, NULL, NULL, NULL, 0 },
};

/* How network names are written for people; others are capitalised. */
static const struct { const char *value, *name; } network_names[] = {
	{ "tiktok", "TikTok" }, { "youtube", "YouTube" }, { "whatsapp", "WhatsApp" },
	{ "linkedin", "LinkedIn" }, { "x", "X (Twitter)" },
};

/* Other spellings of labels, folded: people write "Email" or "Tél". */
static const struct { const char *alias, *label; } label_aliases[] = {
	{ "email", "courriel" }, { "mail", "courriel" }, { "adressemail", "courriel" },
	{ "adressecourriel", "courriel" }, { "adresseelectronique", "courriel" },
	{ "tel", "telephone" }, { "portable", "telephone" }, { "type", "typedestructure" },
	{ "reseau", "reseausocial" }, { "twitter", "x" },
	{ "nomdelastructure", "nomstructure" }, { "structure", "nomstructure" },
	{ "heuresparsemaine", "heuresenligneparsemaine" },
};

/* Labels of the headers that mail clients put above a quoted or forwarded
 * message: they end a free text. */
static const char *const header_labels[] = {
	"de", "from", "envoye", "sent", "objet", "subject", "a", "to", "date", "cc", NULL
};

/* ---- small helpers ---- */

/* Folds s into out (FOLD_MAX); returns 0, or -1 when it does not fit. */
static int fold(const char *s, char *out)
{
	return model_fold(s, out, FOLD_MAX) < FOLD_MAX ? 0 : -1;
}

/* Folds n bytes of s. */
static int fold_n(const char *s, size_t n, char *out)
{
	char tmp[4 * FOLD_MAX];
	if (n >= sizeof(tmp))
		return -1;
	memcpy(tmp, s, n);
	tmp[n] = 0;
	return fold(tmp, out);
}

/* Copies s without its parenthesised parts ("Période (annee, …)" → "Période "). */
static void strip_parens(const char *s, char *out, size_t outlen)
{
	size_t o = 0;
	int depth = 0;
	for (; *s && o + 1 < outlen; s++) {
		if (*s == '(')
			depth++;
		else if (*s == ')' && depth)
			depth--;
		else if (!depth)
			out[o++] = *s;
	}
	out[o] = 0;
}

static int is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

/* 1 when s holds nothing but blanks and no-break spaces. */
static int all_blank(const char *s)
{
	while (*s) {
		if (is_blank(*s))
			s++;
		else if ((unsigned char)s[0] == 0xc2 && (unsigned char)s[1] == 0xa0)
			s += 2;
		else
			return 0;
	}
	return 1;
}

/* "la structure" → "Structure": a model table's label as a heading. */
static void heading_of(const struct model_table *t, char *out, size_t outlen)
{
	const char *l = t->label;
	if (!strncmp(l, "la ", 3) || !strncmp(l, "le ", 3))
		l += 3;
	else if (!strncmp(l, "l'", 2))
		l += 2;
	snprintf(out, outlen, "%s", l);
	if (out[0] >= 'a' && out[0] <= 'z')
		out[0] = (char)(out[0] - 'a' + 'A');
	else if (!strncmp(out, "\xc3\xa9", 2))
		out[1] = (char)0x89; /* é → É */
}

/* ---- building a form's fields from the model ---- */

static int field_set_folds(struct field *f)
{
	char s[sizeof(f->label)];
	strip_parens(f->label, s, sizeof(s));
	if (fold(f->label, f->fold) || fold(s, f->fold_short))
		return -1;
	return 0;
}

static struct field *add_field(struct def *d, const struct spec *sp,
			       const struct model_column *col)
{
	if (d->n >= MAX_FIELDS)
		return NULL;
	struct field *f = &d->f[d->n++];
	memset(f, 0, sizeof(*f));
	f->key = sp->key;
	f->col = col;
	f->section = sp->section;
	f->flags = sp->flags;
	if (sp->hint)
		snprintf(f->hint, sizeof(f->hint), "%s", sp->hint);
	return f;
}

static void enum_hint(const struct model_column *c, char *out, size_t outlen)
{
	size_t o = 0;
	out[0] = 0;
	for (size_t i = 0; c->values[i]; i++) {
		int k = snprintf(out + o, outlen - o, "%s%s", i ? ", " : "", c->values[i]);
		if (k < 0 || (size_t)k >= outlen - o)
			break;
		o += (size_t)k;
	}
}

static int add_networks(struct def *d, const struct spec *sp, const struct model_column *col)
{
	const struct model_column *reseau =
		model_column_by_name(model_table_by_name("presence"), "reseau");
	if (!reseau)
		return -1;
	for (size_t i = 0; reseau->values[i]; i++) {
		const char *v = reseau->values[i];
		if (!strcmp(v, "autre"))
			continue; /* "Autre réseau" takes free text */
		struct field *f = add_field(d, sp, col);
		if (!f)
			return -1;
		f->network = v;
		const char *name = NULL;
		for (size_t k = 0; k < sizeof(network_names) / sizeof(network_names[0]); k++)
			if (!strcmp(network_names[k].value, v))
				name = network_names[k].name;
		snprintf(f->label, sizeof(f->label), "%s", name ? name : v);
		if (!name && f->label[0] >= 'a' && f->label[0] <= 'z')
			f->label[0] = (char)(f->label[0] - 'a' + 'A');
		if (field_set_folds(f))
			return -1;
	}
	return 0;
}

static int build_def(enum form_kind kind, struct def *d)
{
	const struct spec *spec;
	const char *const *tables, *const *hints;
	size_t nspec;

	memset(d, 0, sizeof(*d));
	d->kind = kind;
	if (kind == FORM_CANDIDATURE) {
		spec = candidature_spec;
		nspec = sizeof(candidature_spec) / sizeof(candidature_spec[0]);
		tables = candidature_tables;
		hints = candidature_hints;
		d->nsections = sizeof(candidature_tables) / sizeof(candidature_tables[0]);
		d->title = "FORMULAIRE DE CANDIDATURE — PROMENEURS DU NET";
		d->intro =
			"Complétez ce formulaire puis renvoyez-le par courriel à l'adresse du réseau\n"
			"(vous pouvez simplement répondre à ce message en remplissant le texte cité).\n"
			"Écrivez chaque réponse après les deux-points, sur la même ligne ; seule la\n"
			"motivation peut tenir sur plusieurs lignes. Les champs marqués d'un\n"
			"astérisque (*) sont obligatoires ; les valeurs possibles sont indiquées entre\n"
			"parenthèses. Pour les réseaux sociaux, indiquez le nom de profil utilisé\n"
			"sur chaque réseau et laissez les autres lignes vides.\n"
			FORM_DATA_NOTICE;
	} else if (kind == FORM_BILAN) {
		spec = bilan_spec;
		nspec = sizeof(bilan_spec) / sizeof(bilan_spec[0]);
		tables = bilan_tables;
		hints = bilan_hints;
		d->nsections = 1;
		d->title = "BILAN D'ACTIVITÉ — PROMENEURS DU NET";
		d->intro =
			"Complétez ce bilan puis renvoyez-le par courriel à l'adresse du réseau\n"
			"(vous pouvez simplement répondre à ce message en remplissant le texte cité).\n"
			"Écrivez chaque réponse après les deux-points, sur la même ligne ; seuls\n"
			"l'articulation et le commentaire peuvent tenir sur plusieurs lignes. Les champs marqués d'un\n"
			"astérisque (*) sont obligatoires. Les nombres sont des totaux sur la période.\n"
			"Le bilan peut aussi être joint en fichier CSV (tableur), une ligne par\n"
			"champ (« Libellé ; valeur ») ou une ligne d'en-têtes et une ligne de valeurs.\n"
			FORM_DATA_NOTICE;
	} else {
		return RELAIS_EINVAL;
	}
	for (size_t s = 0; s < d->nsections; s++) {
		const struct model_table *t = model_table_by_name(tables[s]);
		char h[96];
		if (!t)
			return RELAIS_EINVAL;
		heading_of(t, h, sizeof(h));
		if (hints[s])
			snprintf(d->sections[s], sizeof(d->sections[s]), "%s (%s)", h, hints[s]);
		else
			snprintf(d->sections[s], sizeof(d->sections[s]), "%s", h);
		if (fold(h, d->sfold[s]))
			return RELAIS_EINVAL;
	}
	for (size_t i = 0; i < nspec; i++) {
		const struct spec *sp = &spec[i];
		const struct model_column *col =
			model_column_by_name(model_table_by_name(sp->table), sp->column);
		const struct model_column *lcol = col;
		if (sp->label_table)
			lcol = model_column_by_name(model_table_by_name(sp->label_table),
						    sp->label_column);
		if (!col || !lcol)
			return RELAIS_EINVAL; /* the spec names a column the model lacks */
		if (sp->flags & FF_NETWORK) {
			if (add_networks(d, sp, col))
				return RELAIS_EINVAL;
			continue;
		}
		struct field *f = add_field(d, sp, col);
		if (!f)
			return RELAIS_EINVAL;
		snprintf(f->label, sizeof(f->label), "%s", sp->label ? sp->label : lcol->label);
		if (!f->hint[0] && col->kind == MODEL_ENUM && !(sp->flags & FF_NET_LINE))
			enum_hint(col, f->hint, sizeof(f->hint));
		f->required = (sp->flags & FF_REQUIRED) ||
			      ((col->flags & MODEL_REQUIRED) && !sp->label_table &&
			       !(sp->flags & (FF_PERSON | FF_OTHER_NET | FF_NET_LINE)));
		if (field_set_folds(f))
			return RELAIS_EINVAL;
	}
	/* A label printed twice (Nom, Courriel, Téléphone) is named with its
	 * section in problems, and may be typed that way too ("Nom (structure)"). */
	for (size_t i = 0; i < d->n; i++) {
		struct field *f = &d->f[i];
		int dup = 0;
		for (size_t k = 0; k < d->n; k++)
			if (k != i && !strcmp(d->f[k].fold_short, f->fold_short))
				dup = 1;
		if (dup) {
			char h[96];
			heading_of(model_table_by_name(tables[f->section]), h, sizeof(h));
			if (h[0] >= 'A' && h[0] <= 'Z')
				h[0] = (char)(h[0] - 'A' + 'a');
			snprintf(f->display, sizeof(f->display), "%s (%s)", f->label, h);
		} else {
			strip_parens(f->label, f->display, sizeof(f->display));
			size_t n = strlen(f->display);
			while (n && f->display[n - 1] == ' ')
				f->display[--n] = 0;
		}
		if (fold(f->display, f->fold_display))
			return RELAIS_EINVAL;
	}
	return 0;
}

/* ---- names and the blank form ---- */

const char *form_kind_name(enum form_kind kind)
{
	switch (kind) {
	case FORM_CANDIDATURE:
		return "candidature";
	case FORM_BILAN:
		return "bilan";
	case FORM_UNKNOWN:
		break;
	}
	return "inconnu";
}

enum form_kind form_kind_by_name(const char *name)
{
	char f[FOLD_MAX];
	if (!name || fold(name, f))
		return FORM_UNKNOWN;
	if (!strcmp(f, "candidature"))
		return FORM_CANDIDATURE;
	if (!strcmp(f, "bilan"))
		return FORM_BILAN;
	return FORM_UNKNOWN;
}

/* Mail clients wrap long lines, which would tear a label from its value: a
 * long hint goes on indented lines of its own under the label. */
#define LINE_MAX_LEN 72

static int put_field(struct buf *out, const struct field *f)
{
	const char *req = f->required ? " *" : "";
	size_t width = strlen(f->label) + strlen(req) + strlen(f->hint) + 6;
	if (!f->hint[0])
		return buf_printf(out, "%s%s :\n", f->label, req);
	if (width <= LINE_MAX_LEN)
		return buf_printf(out, "%s%s (%s) :\n", f->label, req, f->hint);
	int rc = buf_printf(out, "%s%s :\n  (", f->label, req);
	size_t col = 3;
	for (const char *w = f->hint; *w && !rc;) {
		size_t n = strcspn(w, " ");
		if (col > 3 && col + 1 + n > LINE_MAX_LEN) {
			rc = buf_puts(out, "\n  ");
			col = 2;
		} else if (col > 3) {
			rc = buf_putc(out, ' ');
			col++;
		}
		if (!rc)
			rc = buf_append(out, w, n);
		col += n;
		w += n;
		while (*w == ' ')
			w++;
	}
	return rc ? rc : buf_puts(out, ")\n");
}

int form_blank(enum form_kind kind, struct buf *out)
{
	struct def *d = malloc(sizeof(*d));
	int rc;
	if (!d)
		return RELAIS_ENOMEM;
	rc = build_def(kind, d);
	if (rc)
		goto out;
	rc = buf_printf(out, "%s\n\n%s", d->title, d->intro);
	for (size_t s = 0; s < d->nsections && !rc; s++) {
		rc = buf_printf(out, "\n== %s ==\n", d->sections[s]);
		for (size_t i = 0; i < d->n && !rc; i++) {
			const struct field *f = &d->f[i];
			if (f->section != (int)s || (f->flags & FF_HIDDEN))
				continue;
			rc = put_field(out, f);
			if (!rc && f->col->flags & MODEL_MULTILINE)
				rc = buf_puts(out, "\n\n");
		}
	}
out:
	free(d);
	return rc;
}

/* ---- parsing ---- */

struct state {
	struct def def;
	struct form_values *values;
	struct form_problems *problems;
	int section;             /* the last heading or field seen, -1 for none */
	int rows;                /* presence rows recorded */
	int cont;                /* the free-text field being continued, or -1 */
	int cont_depth;          /* its quote depth */
	struct buf text;         /* the free text gathered so far */
	char *out;               /* MODEL_VALUE_MAX bytes for model_check_value */
	int nomem;
};

static int add_problem(struct state *st, const char *fmt, ...) RELAIS_PRINTF(2, 3);

static int add_problem(struct state *st, const char *fmt, ...)
{
	struct form_problems *p = st->problems;
	char msg[1024];
	va_list ap;
	if (p->n >= PROBLEMS_MAX)
		return 0;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	for (size_t i = 0; i < p->n; i++)
		if (!strcmp(p->items[i], msg))
			return 0;
	char **ni = realloc(p->items, (p->n + 1) * sizeof(*ni));
	if (!ni)
		return st->nomem = RELAIS_ENOMEM;
	p->items = ni;
	if (!(p->items[p->n] = strdup(msg)))
		return st->nomem = RELAIS_ENOMEM;
	p->n++;
	return 0;
}

static int add_value(struct state *st, const char *key, int row, const char *value)
{
	struct form_values *v = st->values;
	struct form_value *ni = realloc(v->items, (v->n + 1) * sizeof(*ni));
	if (!ni)
		return st->nomem = RELAIS_ENOMEM;
	v->items = ni;
	if (!(v->items[v->n].value = strdup(value)))
		return st->nomem = RELAIS_ENOMEM;
	v->items[v->n].key = key;
	v->items[v->n].row = row;
	v->n++;
	return 0;
}

/* Reports a model_check_value() message under the field's own name: the
 * model names the column ("Téléphone"), the form may need "Téléphone (structure)". */
static void check_problem(struct state *st, const struct field *f,
			  const struct model_column *col, const char *err)
{
	size_t l = strlen(col->label);
	if (!strncmp(err, col->label, l) && !strncmp(err + l, " : ", 3))
		add_problem(st, "%s : %s", f->display, err + l + 3);
	else
		add_problem(st, "%s", err);
}

/*
 * Integers as people and spreadsheets write them: "12,5" or "12.5" rounded
 * half up, "1.200" as a thousand separator, a trailing "h" or "heures".
 * Returns in itself when it is not such a number (the check then explains).
 */
static const char *normalise_int(const char *in, char *tmp, size_t tmplen)
{
	char s[64];
	size_t n = strlen(in), b = 0;
	while (b < n && is_blank(in[b]))
		b++;
	while (n > b && is_blank(in[n - 1]))
		n--;
	if (n - b >= sizeof(s))
		return in;
	/* French spreadsheets group thousands with a (narrow) no-break space. */
	size_t k = 0;
	for (size_t i = b; i < n; i++) {
		if (!strncmp(in + i, "\xc2\xa0", 2) || !strncmp(in + i, "\xe2\x80\xaf", 3)) {
			i += in[i] == '\xc2' ? 1 : 2;
			s[k++] = ' ';
			continue;
		}
		s[k++] = in[i];
	}
	n = k;
	s[n] = 0;
	static const char *const units[] = { "heures", "heure", "h", NULL };
	for (size_t u = 0; units[u]; u++) {
		size_t ul = strlen(units[u]);
		if (n > ul && !strcasecmp(s + n - ul, units[u]) &&
		    ((s[n - ul - 1] >= '0' && s[n - ul - 1] <= '9') || s[n - ul - 1] == ' ')) {
			n -= ul;
			while (n && s[n - 1] == ' ')
				n--;
			s[n] = 0;
			break;
		}
	}
	char *sep = NULL;
	size_t digits = 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c >= '0' && c <= '9')
			digits++;
		else if ((c == ',' || c == '.') && !sep && digits)
			sep = s + i;
		else if (!(c == ' ' && !sep) && !(c == '+' && i == 0))
			return in;
	}
	if (!sep) {
		snprintf(tmp, tmplen, "%s", s);
		return tmp;
	}
	const char *frac = sep + 1;
	size_t fl = strlen(frac);
	if (!fl)
		return in;
	char ip[32];
	size_t o = 0;
	for (const char *p = s; p < sep; p++)
		if (*p >= '0' && *p <= '9' && o + 1 < sizeof(ip))
			ip[o++] = *p;
	ip[o] = 0;
	if (*sep == '.' && fl == 3) {
		snprintf(tmp, tmplen, "%s%s", ip, frac);
		return tmp;
	}
	if (o > 15)
		return in;
	long long x = strtoll(ip, NULL, 10) + (frac[0] >= '5');
	snprintf(tmp, tmplen, "%lld", x);
	return tmp;
}

/* Checks v for col; on success the normalised value is in st->out. */
static int check(struct state *st, struct field *f, const struct model_column *col,
		 const char *v)
{
	char err[1024], tmp[64];
	if (col->kind == MODEL_INT)
		v = normalise_int(v, tmp, sizeof(tmp));
	if (model_check_value(col, v, st->out, MODEL_VALUE_MAX, err, sizeof(err))) {
		check_problem(st, f, col, err);
		return -1;
	}
	return 0;
}

static void add_presence(struct state *st, const char *network, const char *profile)
{
	for (size_t i = 0; i < st->values->n; i++) {
		const struct form_value *v = &st->values->items[i];
		if (v->row && !strcmp(v->key, "presence.nom_profil") && !strcmp(v->value, profile) &&
		    !strcmp(form_value_get(st->values, "presence.reseau", v->row), network))
			return;
	}
	if (st->rows >= PRESENCE_ROWS_MAX)
		return;
	st->rows++;
	if (!add_value(st, "presence.reseau", st->rows, network))
		add_value(st, "presence.nom_profil", st->rows, profile);
}

static size_t skip_net_seps(const char *s, size_t i)
{
	for (;;) {
		if (s[i] && strchr(" \t,;:/-=", s[i]))
			i++;
		else if ((unsigned char)s[i] == 0xe2 && (unsigned char)s[i + 1] == 0x80 &&
			 ((unsigned char)s[i + 2] == 0x93 || (unsigned char)s[i + 2] == 0x94))
			i += 3; /* en and em dashes */
		else
			return i;
	}
}

/* "instagram — profil : lea.pdn", "Instagram, lea.pdn", "tiktok lea". */
static void store_net_line(struct state *st, struct field *f, const char *v)
{
	const struct model_column *reseau =
		model_column_by_name(model_table_by_name("presence"), "reseau");
	char net[64], network[64];
	size_t i = skip_net_seps(v, 0), k = 0;
	while (((v[i] >= 'a' && v[i] <= 'z') || (v[i] >= 'A' && v[i] <= 'Z') ||
		(v[i] >= '0' && v[i] <= '9')) && k + 1 < sizeof(net))
		net[k++] = v[i++];
	net[k] = 0;
	i = skip_net_seps(v, i);
	static const char *const words[] = { "nom de profil", "profil", "compte", NULL };
	for (size_t w = 0; words[w]; w++)
		if (!strncasecmp(v + i, words[w], strlen(words[w]))) {
			i = skip_net_seps(v, i + strlen(words[w]));
			break;
		}
	if (!k || !v[i] || all_blank(v + i)) {
		while (is_blank(*v))
			v++;
		add_problem(st, "%s : « %s » doit donner le réseau puis le nom de profil, "
			    "par exemple « instagram — profil : lea.pdn ».", f->display, v);
		return;
	}
	if (check(st, f, reseau, net))
		return;
	snprintf(network, sizeof(network), "%s", st->out);
	if (check(st, f, f->col, v + i))
		return;
	add_presence(st, network, st->out);
}

/* How people name a bilan's period (folded): « 1er semestre », « bilan
 * intermédiaire », « mi-année », « annuel ». */
static const struct { const char *words, *value; } periode_aliases[] = {
	{ "1ersemestre", "semestre1" }, { "premiersemestre", "semestre1" },
	{ "semestre1", "semestre1" }, { "s1", "semestre1" }, { "intermediaire", "semestre1" },
	{ "miannee", "semestre1" }, { "mianneeintermediaire", "semestre1" },
	{ "2esemestre", "semestre2" }, { "2emesemestre", "semestre2" },
	{ "secondsemestre", "semestre2" }, { "deuxiemesemestre", "semestre2" },
	{ "semestre2", "semestre2" }, { "s2", "semestre2" },
	{ "annuel", "annee" }, { "annuelle", "annee" }, { "annee", "annee" },
	{ "anneecomplete", "annee" }, { "anneeentiere", "annee" },
};

/* The period value v names, or v itself. "Bilan" and "de l'année" around the
 * words are forgiven (« bilan intermédiaire », « bilan annuel 2025 »). */
static const char *periode_value(const char *v)
{
	char f[FOLD_MAX];
	if (fold(v, f))
		return v;
	char *p = f;
	if (!strncmp(p, "bilan", 5))
		p += 5;
	size_t n = strlen(p);
	while (n && p[n - 1] >= '0' && p[n - 1] <= '9')
		p[--n] = 0;
	for (size_t i = 0; i < sizeof(periode_aliases) / sizeof(periode_aliases[0]); i++)
		if (!strcmp(p, periode_aliases[i].words) ||
		    (strlen(periode_aliases[i].words) > 4 && strstr(p, periode_aliases[i].words)))
			return periode_aliases[i].value;
	return v;
}

/* Records the value given for f, unless f already has one: the first wins. */
static void store(struct state *st, struct field *f, const char *v)
{
	if (all_blank(v) || f->state)
		return;
	if (!strcmp(f->key, "bilan.periode"))
		v = periode_value(v);
	if (f->flags & FF_NET_LINE) {
		store_net_line(st, f, v);
		return;
	}
	const struct model_column *col = f->col;
	const char *key = f->key;
	if (f->flags & FF_PERSON) {
		const struct model_table *pt = model_table_by_name("promeneur");
		int email = strchr(v, '@') != NULL;
		col = model_column_by_name(pt, email ? "email" : "nom");
		key = email ? "promeneur.email" : "promeneur.nom_complet";
	}
	if (check(st, f, col, v)) {
		f->state = 2;
		return;
	}
	f->state = 1;
	if (f->flags & FF_NETWORK)
		add_presence(st, f->network, st->out);
	else if (f->flags & FF_OTHER_NET)
		add_presence(st, "autre", st->out);
	else
		add_value(st, key, 0, st->out);
}

/*
 * Finds the field a typed label names, or -1. A label shared by several
 * fields goes to the one in the current section, else to the first one not
 * given yet: "Nom" under "== Promeneur ==", or the second "Nom" of a form
 * whose headings were deleted.
 */
static int lookup_folded(const struct def *d, int section, const char *full, const char *shortl)
{
	for (size_t i = 0; i < d->n; i++)
		if (!strcmp(full, d->f[i].fold_display) && strcmp(full, d->f[i].fold_short))
			return (int)i;
	int first = -1, unset = -1;
	for (size_t i = 0; i < d->n; i++) {
		const struct field *f = &d->f[i];
		if (strcmp(full, f->fold) && strcmp(full, f->fold_short) &&
		    strcmp(shortl, f->fold) && strcmp(shortl, f->fold_short) &&
		    strcmp(full, f->fold_display))
			continue;
		if (f->section == section)
			return (int)i;
		if (first < 0)
			first = (int)i;
		if (unset < 0 && !f->state)
			unset = (int)i;
	}
	return unset >= 0 ? unset : first;
}

static int lookup(const struct def *d, int section, const char *label, size_t n)
{
	char full[FOLD_MAX], shortl[FOLD_MAX], tmp[4 * FOLD_MAX], nop[4 * FOLD_MAX];
	if (n >= sizeof(tmp))
		return -1;
	memcpy(tmp, label, n);
	tmp[n] = 0;
	strip_parens(tmp, nop, sizeof(nop));
	if (fold(tmp, full) || fold(nop, shortl) || !full[0])
		return -1;
	int fi = lookup_folded(d, section, full, shortl);
	if (fi >= 0)
		return fi;
	for (size_t a = 0; a < sizeof(label_aliases) / sizeof(label_aliases[0]); a++)
		if (!strcmp(shortl, label_aliases[a].alias))
			return lookup_folded(d, section, label_aliases[a].label,
					     label_aliases[a].label);
	return -1;
}

/* Splits "Label : value" / "Label = value"; the longest prefix that names a
 * field wins, since labels may hold a colon themselves. */
static int match_label(const struct def *d, int section, const char *line, const char **value)
{
	int best = -1;
	for (size_t i = 0; line[i] && i < LABEL_SCAN_MAX; i++) {
		if (line[i] != ':' && line[i] != '=')
			continue;
		int f = lookup(d, section, line, i);
		if (f >= 0) {
			best = f;
			*value = line + i + 1;
		}
	}
	return best;
}

/* 1 when line is a mail header ("De : …", "Objet : …") or an attribution
 * ("Le 3 mars, Léa a écrit :"), a forward or original-message separator. */
static int is_mail_boundary(const char *line)
{
	char f[FOLD_MAX];
	if (!strncmp(line, "-----", 5) || !strncmp(line, "_____", 5))
		return 1;
	for (size_t i = 0; line[i] && i < 20; i++) {
		if (line[i] != ':')
			continue;
		if (fold_n(line, i, f))
			break;
		for (size_t k = 0; header_labels[k]; k++)
			if (!strcmp(f, header_labels[k]))
				return 1;
		break;
	}
	char full[4 * FOLD_MAX];
	size_t n = model_fold(line, full, sizeof(full));
	if (n >= sizeof(full))
		return 0;
	return (n >= 6 && !strcmp(full + n - 6, "aecrit")) ||
	       (n >= 5 && !strcmp(full + n - 5, "wrote"));
}

static enum form_kind title_kind(const char *line)
{
	char f[4 * FOLD_MAX];
	model_fold(line, f, sizeof(f));
	if (!strncmp(f, "formulairedecandidature", 23))
		return FORM_CANDIDATURE;
	if (!strncmp(f, "bilandactivite", 14) || !strncmp(f, "formulairedebilan", 17))
		return FORM_BILAN;
	return FORM_UNKNOWN;
}

/* The section a "== Structure ==" line opens, or -1. */
static int heading(const struct def *d, const char *line)
{
	static const char deco[] = "=#*-_ \t";
	char s[256], np[256], f[FOLD_MAX];
	size_t n = strlen(line), b = 0;
	while (b < n && strchr(deco, line[b]))
		b++;
	while (n > b && strchr(deco, line[n - 1]))
		n--;
	if (n == b || n - b >= sizeof(s))
		return -1;
	memcpy(s, line + b, n - b);
	s[n - b] = 0;
	if (strchr(s, ':') || strchr(s, '='))
		return -1;
	strip_parens(s, np, sizeof(np));
	if (fold(np, f))
		return -1;
	for (size_t i = 0; i < d->nsections; i++)
		if (!strcmp(f, d->sfold[i]))
			return (int)i;
	return -1;
}

static void end_cont(struct state *st)
{
	if (st->cont >= 0)
		store(st, &st->def.f[st->cont], buf_str(&st->text));
	st->cont = -1;
	buf_reset(&st->text);
}

static void cont_append(struct state *st, const char *s, int newline)
{
	struct field *f = &st->def.f[st->cont];
	if (f->state)
		return;
	int rc = newline ? buf_putc(&st->text, '\n') : 0;
	if (!rc)
		rc = buf_puts(&st->text, s);
	if (rc == RELAIS_ETOOBIG) {
		add_problem(st, "%s : le texte dépasse %d caractères.", f->display, MODEL_TEXT_MAX);
		f->state = 2;
		buf_reset(&st->text);
	} else if (rc) {
		st->nomem = rc;
	}
}

/* Takes the quote marks off a line ("> > x", ">>x"); returns the depth. */
static int unquote(char *line, char **content)
{
	int depth = 0;
	char *p = line;
	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p != '>')
			break;
		depth++;
		p++;
	}
	size_t n = strlen(p);
	while (n && (p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == '\r'))
		p[--n] = 0;
	*content = p;
	return depth;
}

/* Sign-offs that end a message (folded): what follows is a name, a
 * signature block, never the content of the last free-text field. */
static const char *const signoffs[] = {
	"cordialement", "biencordialement", "trescordialement", "cdlt", "bienavous",
	"bienasvous", "salutations", "sincerementvotre", "sinceressalutations",
	"veuillezagreer", "jevousprie", "dansattente", "danslattente", "enattentedevotre",
	"avotredisposition", "jeresteadisposition", "bonnejournee", "bonnesoiree",
	"belledejournee", "bellejournee", "abientot", "amicalement", "regards",
	"bestregards", "kindregards", NULL
};
/* Said alone on their line, these end a message too. */
static const char *const signoffs_alone[] = {
	"merci", "mercidavance", "mercibeaucoup", "mercipourvotreretour", "bien",
	"envoyedemoniphone", "envoyedepuismoniphone", "envoyedepuismonsmartphone", NULL
};

static int is_signoff(const char *line)
{
	char f[4 * FOLD_MAX];
	size_t n = model_fold(line, f, sizeof(f));
	if (!n || n >= 80)
		return 0;
	for (size_t i = 0; signoffs_alone[i]; i++)
		if (!strcmp(f, signoffs_alone[i]))
			return 1;
	for (size_t i = 0; signoffs[i]; i++)
		if (!strncmp(f, signoffs[i], strlen(signoffs[i])))
			return 1;
	return 0;
}

static void parse_line(struct state *st, char *raw, int *sig_depth)
{
	char *line;
	const char *value;
	int depth = unquote(raw, &line);
	int h, fi;

	if (!strcmp(line, "--") || (st->cont >= 0 && depth == st->cont_depth && is_signoff(line))) {
		/* A signature ends the form written at its depth; a quoted form
		 * further down (a reply under the signature) still counts. */
		end_cont(st);
		*sig_depth = depth;
		return;
	}
	if (*sig_depth >= 0) {
		if (depth == *sig_depth && title_kind(line) == FORM_UNKNOWN)
			return;
		*sig_depth = -1;
	}
	if (st->cont >= 0 && depth != st->cont_depth)
		end_cont(st);
	if ((h = heading(&st->def, line)) >= 0) {
		end_cont(st);
		st->section = h;
		return;
	}
	if (title_kind(line) != FORM_UNKNOWN) {
		end_cont(st);
		st->section = -1;
		return;
	}
	if ((fi = match_label(&st->def, st->section, line, &value)) >= 0) {
		struct field *f = &st->def.f[fi];
		end_cont(st);
		st->section = f->section;
		if (f->col->flags & MODEL_MULTILINE) {
			st->cont = fi;
			st->cont_depth = depth;
			cont_append(st, value, 0);
		} else {
			store(st, f, value);
		}
		return;
	}
	if (is_mail_boundary(line)) {
		end_cont(st);
		return;
	}
	if (st->cont >= 0)
		cont_append(st, line, 1);
}

static int state_init(struct state *st, enum form_kind kind, struct form_values *values,
		      struct form_problems *problems)
{
	memset(values, 0, sizeof(*values));
	memset(problems, 0, sizeof(*problems));
	st->values = values;
	st->problems = problems;
	st->section = -1;
	st->cont = -1;
	/* Room for a whole free text plus the line breaks a mail adds. */
	buf_init(&st->text, MODEL_VALUE_MAX - 1);
	if (!(st->out = malloc(MODEL_VALUE_MAX)))
		return RELAIS_ENOMEM;
	return build_def(kind, &st->def);
}

static void state_release(struct state *st)
{
	buf_release(&st->text);
	free(st->out);
}

static void report_missing(struct state *st)
{
	for (size_t i = 0; i < st->def.n; i++) {
		const struct field *f = &st->def.f[i];
		if (f->required && !f->state)
			add_problem(st, "Champ obligatoire manquant : %s.", f->display);
	}
}

int form_parse(enum form_kind kind, const char *text, struct form_values *values,
	       struct form_problems *problems)
{
	struct state *st = calloc(1, sizeof(*st));
	char *copy = NULL;
	int rc, sig_depth = -1;

	if (!st) {
		memset(values, 0, sizeof(*values));
		memset(problems, 0, sizeof(*problems));
		return RELAIS_ENOMEM;
	}
	rc = state_init(st, kind, values, problems);
	if (rc)
		goto out;
	if (!text) {
		rc = RELAIS_EINVAL;
		goto out;
	}
	size_t len = strnlen(text, FORM_INPUT_MAX + 1);
	if (len > FORM_INPUT_MAX) {
		rc = RELAIS_ETOOBIG;
		goto out;
	}
	if (!(copy = strndup(text, len))) {
		rc = RELAIS_ENOMEM;
		goto out;
	}
	for (char *p = copy, *nl; p; p = nl) {
		if ((nl = strchr(p, '\n')))
			*nl++ = 0;
		parse_line(st, p, &sig_depth);
		if (st->nomem)
			break;
	}
	end_cont(st);
	report_missing(st);
	rc = st->nomem;
out:
	state_release(st);
	free(st);
	free(copy);
	return rc;
}

enum form_kind form_detect(const char *text)
{
	struct def *d[2] = { malloc(sizeof(struct def)), malloc(sizeof(struct def)) };
	enum form_kind res = FORM_UNKNOWN;
	char *copy = NULL;
	int count[2] = { 0, 0 };

	if (!d[0] || !d[1] || !text || strnlen(text, FORM_INPUT_MAX + 1) > FORM_INPUT_MAX)
		goto out;
	if (build_def(FORM_CANDIDATURE, d[0]) || build_def(FORM_BILAN, d[1]))
		goto out;
	if (!(copy = strdup(text)))
		goto out;
	int sig_depth = -1;
	for (char *p = copy, *nl; p; p = nl) {
		char *line;
		const char *v;
		if ((nl = strchr(p, '\n')))
			*nl++ = 0;
		int depth = unquote(p, &line);
		if ((res = title_kind(line)) != FORM_UNKNOWN)
			goto out;
		/* A signature's "Tél :" and "Mail :" lines make no form. */
		if (!strcmp(line, "--") || is_signoff(line)) {
			sig_depth = depth;
			continue;
		}
		if (sig_depth >= 0 && depth == sig_depth && heading(d[0], line) < 0 &&
		    heading(d[1], line) < 0)
			continue;
		sig_depth = -1;
		int m0 = match_label(d[0], -1, line, &v), m1 = match_label(d[1], -1, line, &v);
		/* Only labels of one form tell them apart ("Structure" is in both). */
		if (m0 >= 0 && m1 < 0)
			count[0]++;
		else if (m1 >= 0 && m0 < 0)
			count[1]++;
	}
	if (count[0] >= 2 && count[0] > count[1])
		res = FORM_CANDIDATURE;
	else if (count[1] >= 2 && count[1] > count[0])
		res = FORM_BILAN;
out:
	free(copy);
	free(d[0]);
	free(d[1]);
	return res;
}

/* ---- bilans as tables ---- */

/* Rows at the top of a sheet where the header row is looked for (a title,
 * a date, a blank line may come first). */
#define HEADER_SCAN_ROWS 20
/* Bilans one table may hold. */
#define TABLE_BILANS_MAX 500

static int csv_label(const struct state *st, const char *cell)
{
	return lookup(&st->def, st->section, cell, strlen(cell));
}

static int row_empty(const struct csv_row *row)
{
	for (size_t i = 0; i < row->n; i++)
		if (!all_blank(row->fields[i]))
			return 0;
	return 1;
}

/* A total or subtotal row, which a spreadsheet adds under the data: its
 * first non-empty cell says so. */
static int row_is_total(const struct csv_row *row)
{
	char f[FOLD_MAX];
	for (size_t i = 0; i < row->n; i++) {
		if (all_blank(row->fields[i]))
			continue;
		if (model_fold(row->fields[i], f, sizeof(f)) >= sizeof(f))
			return 0;
		return !strncmp(f, "total", 5) || !strncmp(f, "soustotal", 9) ||
		       !strncmp(f, "somme", 5) || !strcmp(f, "ensemble");
	}
	return 0;
}

static size_t row_filled(const struct csv_row *row)
{
	size_t n = 0;
	for (size_t i = 0; i < row->n; i++)
		n += !all_blank(row->fields[i]);
	return n;
}

/* The header row: the first of the top rows that names two fields or more;
 * -1 when none does, or when the sheet is written one "label;value" row per
 * field (three rows of that shape or more: a value such as « annee » may
 * itself look like a label). */
static long header_row(const struct state *st, const struct csv *c)
{
	size_t vertical = 0;
	for (size_t r = 0; r < c->nrows; r++)
		if (c->rows[r].n >= 2 && row_filled(&c->rows[r]) <= 2 &&
		    csv_label(st, c->rows[r].fields[0]) >= 0)
			vertical++;
	if (vertical >= 3)
		return -1;
	for (size_t r = 0; r < c->nrows && r < HEADER_SCAN_ROWS; r++) {
		size_t labels = 0;
		for (size_t i = 0; i < c->rows[r].n; i++)
			if (csv_label(st, c->rows[r].fields[i]) >= 0)
				labels++;
		if (labels >= 2)
			return (long)r;
	}
	return -1;
}

int form_problems_number(char **items, size_t from, size_t to, const char *what, size_t k)
{
	for (size_t i = from; i < to; i++) {
		size_t n = strlen(what) + strlen(items[i]) + 32;
		char *s = malloc(n);
		if (!s)
			return RELAIS_ENOMEM;
		snprintf(s, n, "%s %zu : %s", what, k, items[i]);
		free(items[i]);
		items[i] = s;
	}
	return 0;
}

int form_parse_bilan_table(const void *bytes, size_t len, struct form_values **values, size_t *n,
			   struct form_problems *problems)
{
	struct state *st = calloc(1, sizeof(*st));
	struct form_values *vs = NULL;
	struct csv c;
	char err[512];
	size_t nv = 0, first[TABLE_BILANS_MAX], line[TABLE_BILANS_MAX];
	long head;
	int rc;

	memset(&c, 0, sizeof(c));
	memset(problems, 0, sizeof(*problems));
	*values = NULL;
	*n = 0;
	if (!st)
		return RELAIS_ENOMEM;
	rc = csv_parse(bytes, len, NULL, &c, err, sizeof(err));
	if (rc == RELAIS_ENOMEM)
		goto out;
	if (rc) {
		struct form_values none;
		rc = state_init(st, FORM_BILAN, &none, problems);
		if (!rc)
			add_problem(st, "Le fichier CSV n'a pas pu être lu : %s", err);
		state_release(st);
		form_values_free(&none);
		rc = rc ? rc : st->nomem;
		goto out;
	}
	{
		/* The labels are looked up with a state of their own. */
		struct form_values scratch;
		struct form_problems scratch_p;
		rc = state_init(st, FORM_BILAN, &scratch, &scratch_p);
		head = rc ? -1 : header_row(st, &c);
		state_release(st);
		form_values_free(&scratch);
		form_problems_free(&scratch_p);
		if (rc)
			goto out;
	}
	vs = calloc(TABLE_BILANS_MAX, sizeof(*vs));
	if (!vs) {
		rc = RELAIS_ENOMEM;
		goto out;
	}
	if (head < 0) {
		/* One "label;value" row per field: one bilan. */
		memset(st, 0, sizeof(*st));
		rc = state_init(st, FORM_BILAN, &vs[0], problems);
		for (size_t r = 0; !rc && r < c.nrows; r++) {
			const struct csv_row *row = &c.rows[r];
			int fi;
			if (row->n >= 2 && (fi = csv_label(st, row->fields[0])) >= 0)
				store(st, &st->def.f[fi], row->fields[1]);
		}
		if (!rc) {
			report_missing(st);
			rc = st->nomem;
		}
		state_release(st);
		nv = 1;
		goto out;
	}
	const struct csv_row *hr = &c.rows[head];
	for (size_t r = (size_t)head + 1; r < c.nrows; r++) {
		const struct csv_row *data = &c.rows[r];
		struct form_problems p;
		size_t before = problems->n;
		if (row_empty(data) || row_is_total(data))
			continue;
		if (nv == TABLE_BILANS_MAX) {
			memset(st, 0, sizeof(*st));
			st->problems = problems;
			add_problem(st, "Le tableau contient plus de %d bilans : envoyez-le en "
				    "plusieurs fichiers.", TABLE_BILANS_MAX);
			rc = st->nomem;
			break;
		}
		memset(st, 0, sizeof(*st));
		rc = state_init(st, FORM_BILAN, &vs[nv], &p);
		for (size_t i = 0; !rc && i < hr->n && i < data->n; i++) {
			int fi = csv_label(st, hr->fields[i]);
			if (fi >= 0)
				store(st, &st->def.f[fi], data->fields[i]);
		}
		if (!rc) {
			report_missing(st);
			rc = st->nomem;
		}
		state_release(st);
		nv++;
		/* Move this row's problems to the table's, numbered by line. */
		for (size_t i = 0; !rc && i < p.n; i++) {
			char **grown = realloc(problems->items, (problems->n + 1) * sizeof(*grown));
			if (!grown) {
				rc = RELAIS_ENOMEM;
				break;
			}
			problems->items = grown;
			problems->items[problems->n++] = p.items[i];
			p.items[i] = NULL;
		}
		form_problems_free(&p);
		first[nv - 1] = before;
		line[nv - 1] = r + 1;
		if (rc)
			break;
	}
	for (size_t k = nv; !rc && nv > 1 && k-- > 0;)
		rc = form_problems_number(problems->items, first[k],
					  k + 1 < nv ? first[k + 1] : problems->n, "Ligne", line[k]);
	if (!rc && !nv) {
		memset(st, 0, sizeof(*st));
		st->problems = problems;
		add_problem(st, "Le tableau a une ligne d'en-tête mais aucune ligne de valeurs.");
		rc = st->nomem;
	}
out:
	csv_free(&c);
	free(st);
	if (rc) {
		form_values_array_free(vs, nv);
		form_problems_free(problems);
		return rc;
	}
	*values = vs;
	*n = nv;
	return 0;
}

int form_parse_bilan_csv(const void *bytes, size_t len, struct form_values *values,
			 struct form_problems *problems)
{
	struct form_values *vs;
	size_t n;
	int rc = form_parse_bilan_table(bytes, len, &vs, &n, problems);

	memset(values, 0, sizeof(*values));
	if (rc)
		return rc;
	if (n) {
		*values = vs[0];
		memset(&vs[0], 0, sizeof(vs[0]));
	}
	form_values_array_free(vs, n);
	if (n > 1) {
		char **grown = realloc(problems->items, (problems->n + 1) * sizeof(*grown));
		char *s = strdup("Le fichier CSV contient plusieurs lignes de valeurs : "
				 "envoyez un seul bilan par fichier.");
		if (grown)
			problems->items = grown;
		if (!grown || !s) {
			free(s);
			return RELAIS_ENOMEM;
		}
		problems->items[problems->n++] = s;
	}
	return 0;
}

void form_values_array_free(struct form_values *v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		form_values_free(&v[i]);
	free(v);
}

/* ---- values ---- */

const char *form_value_get(const struct form_values *v, const char *key, int row)
{
	if (!v || !key)
		return NULL;
	for (size_t i = 0; i < v->n; i++)
		if (v->items[i].row == row && !strcmp(v->items[i].key, key))
			return v->items[i].value;
	return NULL;
}

int form_values_rows(const struct form_values *v)
{
	int rows = 0;
	for (size_t i = 0; v && i < v->n; i++)
		if (v->items[i].row > rows)
			rows = v->items[i].row;
	return rows;
}

void form_values_free(struct form_values *v)
{
	if (!v)
		return;
	for (size_t i = 0; i < v->n; i++)
		free(v->items[i].value);
	free(v->items);
	memset(v, 0, sizeof(*v));
}

void form_problems_free(struct form_problems *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++)
		free(p->items[i]);
	free(p->items);
	memset(p, 0, sizeof(*p));
}
