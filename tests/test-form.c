/*
 * test-form.c - the plain-text mail forms of model/form.h: blank forms
 * generated from the model, tolerant parsing, French problems, detection,
 * bilans as CSV and the `relais formulaire` command.
 */
#include <stdlib.h>
#include <string.h>
#include "../common/buf.h"
#include "../model/form.h"
#include "../model/model.h"
#include "harness.h"
#include "test.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

struct kv {
	const char *key;
	int row;
	const char *value; /* NULL: the key must be absent */
};

struct parse_case {
	const char *name;
	enum form_kind kind;
	const char *text;
	struct kv values[16];
	const char *problems[6]; /* exactly these, in any order */
};

static void free_values(void *v)
{
	form_values_free(v);
}

static void free_problems(void *p)
{
	form_problems_free(p);
}

static int has_problem(const struct form_problems *p, const char *msg)
{
	for (size_t i = 0; i < p->n; i++)
		if (!strcmp(p->items[i], msg))
			return 1;
	return 0;
}

static void dump_problems(const struct form_problems *p)
{
	for (size_t i = 0; i < p->n; i++)
		fprintf(stderr, "    problem: %s\n", p->items[i]);
}

/* Checks one parse against its expected values and exact problems. */
static int check_case(const struct parse_case *c, int idx, const struct form_values *v,
		      const struct form_problems *p)
{
	size_t np = 0;
	for (size_t k = 0; k < N(c->values) && c->values[k].key; k++) {
		const struct kv *e = &c->values[k];
		const char *got = form_value_get(v, e->key, e->row);
		if (e->value ? !got || strcmp(got, e->value) : got != NULL) {
			test_fail(__FILE__, __LINE__, "case %d (%s): %s[%d] = \"%s\", expected \"%s\"",
				  idx, c->name, e->key, e->row, got ? got : "(absent)",
				  e->value ? e->value : "(absent)");
			dump_problems(p);
			return -1;
		}
	}
	for (; np < N(c->problems) && c->problems[np]; np++)
		if (!has_problem(p, c->problems[np])) {
			test_fail(__FILE__, __LINE__, "case %d (%s): missing problem \"%s\"", idx,
				  c->name, c->problems[np]);
			dump_problems(p);
			return -1;
		}
	if (p->n != np) {
		test_fail(__FILE__, __LINE__, "case %d (%s): %zu problems, expected %zu", idx,
			  c->name, p->n, np);
		dump_problems(p);
		return -1;
	}
	return 0;
}

static void run_cases(const struct parse_case *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct form_values v;
		struct form_problems p;
		int rc = form_parse(cases[i].kind, cases[i].text, &v, &p);
		int bad = check_case(&cases[i], (int)i, &v, &p);
		form_values_free(&v);
		form_problems_free(&p);
		CHECK_INT_IDX(rc, 0, i);
		CHECK_INT_IDX(bad, 0, i);
	}
}

/* The fields every acceptable candidature needs, after the headings. */
#define CAND_OK                                                                 \
	"== Structure ==\n"                                                     \
	"Nom : Centre social du Lac\n"                                          \
	"Commune : Le Puy-en-Velay\n"                                           \
	"== Promeneur ==\n"                                                     \
	"Prénom : Léa\n"                                                        \
	"Nom : Martin\n"                                                        \
	"Courriel : lea.martin@example.org\n"                                   \
	"== Candidature ==\n"                                                   \
	"Motivation : Aller vers les jeunes là où ils sont.\n"

TEST(form_candidature_parse)
{
	static const struct parse_case cases[] = {
		{ "canonical, every field",
		  FORM_CANDIDATURE,
		  "FORMULAIRE DE CANDIDATURE — PROMENEURS DU NET\n\n"
		  "== Structure ==\n"
		  "Nom * : Centre social du Lac\n"
		  "Commune * : Le Puy-en-Velay\n"
		  "Type de structure : Centre social\n"
		  "Courriel : accueil@cs-lac.fr\n"
		  "Téléphone : 04 71 00 00 00\n"
		  "== Promeneur (la personne candidate) ==\n"
		  "Prénom * : Léa\n"
		  "Nom * : Martin\n"
		  "Courriel * : Lea.Martin@Example.org\n"
		  "Téléphone : +33 6 12 34 56 78\n"
		  "Fonction : animatrice jeunesse\n"
		  "Public (jeunesse, parentalite) : Jeunesse\n"
		  "Heures en ligne par semaine : 3\n"
		  "== Présence en ligne ==\n"
		  "Instagram : lea.pdn\n"
		  "TikTok :\n"
		  "== Candidature ==\n"
		  "Pertinence de la démarche (0 à 3) : 2\n"
		  "Disponibilité (0 à 3) : 3\n"
		  "Motivation * : Être présente\n"
		  "là où sont les jeunes.\n",
		  { { "structure.nom", 0, "Centre social du Lac" },
		    { "structure.commune", 0, "Le Puy-en-Velay" },
		    { "structure.type", 0, "centre_social" },
		    { "structure.email", 0, "accueil@cs-lac.fr" },
		    { "structure.telephone", 0, "0471000000" },
		    { "promeneur.prenom", 0, "Léa" },
		    { "promeneur.nom", 0, "Martin" },
		    { "promeneur.email", 0, "lea.martin@example.org" },
		    { "promeneur.telephone", 0, "0612345678" },
		    { "promeneur.public", 0, "jeunesse" },
		    { "promeneur.heures_hebdo", 0, "3" },
		    { "presence.reseau", 1, "instagram" },
		    { "presence.nom_profil", 1, "lea.pdn" },
		    { "presence.reseau", 2, NULL },
		    { "candidature.pertinence", 0, "2" },
		    { "candidature.motivation", 0, "Être présente\nlà où sont les jeunes." } },
		  { NULL } },
		{ "case, accents, spacing, separators, no headings",
		  FORM_CANDIDATURE,
		  "  NOM:Centre social du Lac\n"
		  "commune   =   Le Puy\n"
		  "TELEPHONE\xc2\xa0: 04.71.00.00.00\n"
		  "prenom : Léa\n"
		  "nom = Martin\n"
		  "E-mail :lea@example.org\n"
		  "Tél. : 06-12-34-56-78\n"
		  "MOTIVATION:Oui.\n",
		  { { "structure.nom", 0, "Centre social du Lac" },
		    { "structure.commune", 0, "Le Puy" },
		    { "structure.telephone", 0, "0471000000" },
		    { "promeneur.prenom", 0, "Léa" },
		    { "promeneur.nom", 0, "Martin" },
		    { "promeneur.email", 0, "lea@example.org" },
		    { "promeneur.telephone", 0, "0612345678" },
		    { "candidature.motivation", 0, "Oui." } },
		  { NULL } },
		{ "inside a quoted reply, several levels",
		  FORM_CANDIDATURE,
		  "Bonjour, voici le formulaire rempli.\n\n"
		  "Le lun. 3 mars 2025 à 10:12, Coordination PdN <pdn@example.org> a écrit :\n"
		  "> FORMULAIRE DE CANDIDATURE — PROMENEURS DU NET\n"
		  "> == Structure ==\n"
		  ">> Nom : Centre social du Lac\n"
		  "> > Commune : Le Puy\n"
		  "> == Promeneur ==\n"
		  ">Prénom : Léa\n"
		  "> Nom : Martin\n"
		  "> Courriel : lea@example.org\n"
		  "> == Candidature ==\n"
		  "> Motivation : ligne un\n"
		  "> ligne deux\n"
		  "Cordialement\n",
		  { { "structure.nom", 0, "Centre social du Lac" },
		    { "structure.commune", 0, "Le Puy" },
		    { "promeneur.nom", 0, "Martin" },
		    { "candidature.motivation", 0, "ligne un\nligne deux" } },
		  { NULL } },
		{ "forwarded message, headers first",
		  FORM_CANDIDATURE,
		  "---------- Forwarded message ---------\n"
		  "De : Léa Martin <lea@example.org>\n"
		  "Date : lun. 3 mars 2025 à 10:12\n"
		  "Subject: candidature\n"
		  "To: <pdn@example.org>\n\n" CAND_OK,
		  { { "structure.nom", 0, "Centre social du Lac" },
		    { "promeneur.email", 0, "lea.martin@example.org" } },
		  { NULL } },
		{ "signature after the form is not read, nor the thanks above it",
		  FORM_CANDIDATURE,
		  CAND_OK "Merci.\n-- \nLéa Martin\nTél : 06 99 99 99 99\nFonction : cheffe\n",
		  { { "candidature.motivation", 0, "Aller vers les jeunes là où ils sont." },
		    { "promeneur.telephone", 0, NULL },
		    { "structure.telephone", 0, NULL },
		    { "promeneur.fonction", 0, NULL } },
		  { NULL } },
		{ "a sign-off ends the motivation; an empty required field stays missing",
		  FORM_CANDIDATURE,
		  "== Structure ==\nNom : Centre social du Lac\nCommune : Le Puy\n"
		  "== Promeneur ==\nPrénom : Léa\nNom : Martin\nCourriel : lea@example.org\n"
		  "== Candidature ==\nMotivation :\n\nCordialement,\nJeanne Dupont\n"
		  "Directrice\nTél : 04 71 00 00 00\n",
		  { { "candidature.motivation", 0, NULL },
		    { "promeneur.telephone", 0, NULL } },
		  { "Champ obligatoire manquant : Motivation." } },
		{ "a sign-off with the name on its line ends the motivation",
		  FORM_CANDIDATURE,
		  CAND_OK "Je serai là le mercredi.\nBien cordialement, Jeanne\nMJC du Plateau\n",
		  { { "candidature.motivation", 0,
		      "Aller vers les jeunes là où ils sont.\nJe serai là le mercredi." } },
		  { NULL } },
		{ "multi-line motivation with a paragraph, then more fields",
		  FORM_CANDIDATURE,
		  "== Candidature ==\n"
		  "Motivation :\n"
		  "Premier paragraphe.\n\n"
		  "Second : avec deux-points.\n"
		  "== Structure ==\n"
		  "Nom : Centre social du Lac\n"
		  "Commune : Le Puy\n"
		  "== Promeneur ==\n"
		  "Prénom : Léa\nNom : Martin\nCourriel : lea@example.org\n",
		  { { "candidature.motivation", 0,
		      "Premier paragraphe.\n\nSecond : avec deux-points." },
		    { "structure.nom", 0, "Centre social du Lac" },
		    { "promeneur.nom", 0, "Martin" } },
		  { NULL } },
		{ "new form above a quoted older copy and a quoted blank form",
		  FORM_CANDIDATURE,
		  CAND_OK "\nLe 2 mars, PdN a écrit :\n"
		  "> == Structure ==\n> Nom : Ancien nom\n> Commune :\n"
		  "> == Promeneur ==\n> Prénom :\n> Nom : Ancien\n> Courriel : old@example.org\n"
		  "> == Candidature ==\n> Motivation : ancienne\n",
		  { { "structure.nom", 0, "Centre social du Lac" },
		    { "structure.commune", 0, "Le Puy-en-Velay" },
		    { "promeneur.nom", 0, "Martin" },
		    { "promeneur.email", 0, "lea.martin@example.org" },
		    { "candidature.motivation", 0, "Aller vers les jeunes là où ils sont." } },
		  { NULL } },
		{ "networks, one line each or free lines",
		  FORM_CANDIDATURE,
		  CAND_OK "== Présence en ligne ==\n"
		  "Réseau : instagram — profil : lea.pdn\n"
		  "Réseau social : TikTok, lea_pdn\n"
		  "Snapchat : leapdn\n"
		  "Twitter : @lea\n"
		  "Autre réseau : Mastodon lea@piaille.fr\n"
		  "Réseau : instagram — profil : lea.pdn\n",
		  { { "presence.reseau", 1, "instagram" },
		    { "presence.nom_profil", 1, "lea.pdn" },
		    { "presence.reseau", 2, "tiktok" },
		    { "presence.nom_profil", 2, "lea_pdn" },
		    { "presence.reseau", 3, "snapchat" },
		    { "presence.reseau", 4, "x" },
		    { "presence.nom_profil", 4, "@lea" },
		    { "presence.reseau", 5, "autre" },
		    { "presence.nom_profil", 5, "Mastodon lea@piaille.fr" },
		    { "presence.reseau", 6, NULL } },
		  { NULL } },
		{ "missing required fields",
		  FORM_CANDIDATURE,
		  "== Structure ==\nNom : Centre social du Lac\n"
		  "== Promeneur ==\nPrénom : Léa\nNom : Martin\nCourriel :\n",
		  { { "structure.nom", 0, "Centre social du Lac" } },
		  { "Champ obligatoire manquant : Commune.",
		    "Champ obligatoire manquant : Courriel (promeneur).",
		    "Champ obligatoire manquant : Motivation." } },
		{ "bad values name their field",
		  FORM_CANDIDATURE,
		  CAND_OK "== Structure ==\nTéléphone : 12\n"
		  "== Promeneur ==\nPublic : adultes\nCourriel : pas-une-adresse\n"
		  "== Candidature ==\nPertinence de la démarche : 5\n"
		  "Réseau : myspace\n",
		  { { "structure.telephone", 0, NULL },
		    { "promeneur.public", 0, NULL },
		    { "promeneur.email", 0, "lea.martin@example.org" } },
		  { "Téléphone (structure) : « 12 » n'est pas un numéro de téléphone valide "
		    "(10 chiffres, par exemple 06 12 34 56 78).",
		    "Public : « adultes » n'est pas une valeur possible (jeunesse, parentalite).",
		    "Pertinence de la démarche : « 5 » n'est pas un nombre entier entre 0 et 3.",
		    "Réseau social : « myspace » doit donner le réseau puis le nom de profil, "
		    "par exemple « instagram — profil : lea.pdn »." } },
		{ "unknown labels and chatter ignored",
		  FORM_CANDIDATURE,
		  "Bonjour,\nCouleur préférée : bleu\n" CAND_OK "Note = rien\n",
		  { { "structure.nom", 0, "Centre social du Lac" } },
		  { NULL } },
	};
	run_cases(cases, N(cases));
}

#define BILAN_OK "Structure : Centre social du Lac\nAnnée : 2024\n"

TEST(form_bilan_parse)
{
	static const struct parse_case cases[] = {
		{ "mid-year bilan named as people write it",
		  FORM_BILAN,
		  "Structure : Centre social du Lac\nAnnée : 2025\nPériode : 1er semestre 2025\n"
		  "Jeunes connectés : 1\xc2\xa0" "200\n",
		  { { "bilan.periode", 0, "semestre1" }, { "bilan.jeunes_connectes", 0, "1200" } },
		  { NULL } },
		{ "« bilan intermédiaire »",
		  FORM_BILAN,
		  "Structure : Centre social du Lac\nAnnée : 2025\nPériode : Bilan intermédiaire\n",
		  { { "bilan.periode", 0, "semestre1" } },
		  { NULL } },
		{ "« mi-année »",
		  FORM_BILAN,
		  "Structure : Centre social du Lac\nAnnée : 2025\nPériode : mi-année\n",
		  { { "bilan.periode", 0, "semestre1" } },
		  { NULL } },
		{ "second half",
		  FORM_BILAN,
		  "Structure : Centre social du Lac\nAnnée : 2025\nPériode : 2e semestre\n",
		  { { "bilan.periode", 0, "semestre2" } },
		  { NULL } },
		{ "annual",
		  FORM_BILAN,
		  "Structure : Centre social du Lac\nAnnée : 2025\nPériode : Bilan annuel\n",
		  { { "bilan.periode", 0, "annee" } },
		  { NULL } },
		{ "every field",
		  FORM_BILAN,
		  "BILAN D'ACTIVITÉ — PROMENEURS DU NET\n== Bilan ==\n"
		  "Structure * (nom de la structure) : Centre social du Lac\n"
		  "Promeneur : lea@example.org\n"
		  "Année * : 2024\n"
		  "Période (annee, semestre1, semestre2) : Semestre 1\n"
		  "Jeunes connectés : 1 200\n"
		  "Interventions : information : 40\n"
		  "interventions - lien social: 12\n"
		  "Interventions : prise de contact = 7\n"
		  "Interventions : accompagnement de projet : 3\n"
		  "INTERVENTIONS : ECOUTE : 9\n"
		  "Jeunes rencontrés après un contact en ligne : 15\n"
		  "Projets initiés : 2\n"
		  "Heures en ligne : 12,5\n"
		  "Commentaire : Une année riche.\nDeuxième ligne.\n",
		  { { "structure.nom", 0, "Centre social du Lac" },
		    { "promeneur.email", 0, "lea@example.org" },
		    { "bilan.annee", 0, "2024" },
		    { "bilan.periode", 0, "semestre1" },
		    { "bilan.jeunes_connectes", 0, "1200" },
		    { "bilan.interventions_information", 0, "40" },
		    { "bilan.interventions_lien_social", 0, "12" },
		    { "bilan.interventions_contact", 0, "7" },
		    { "bilan.interventions_projet", 0, "3" },
		    { "bilan.interventions_ecoute", 0, "9" },
		    { "bilan.jeunes_rencontres", 0, "15" },
		    { "bilan.projets_inities", 0, "2" },
		    { "bilan.heures_en_ligne", 0, "13" },
		    { "bilan.commentaire", 0, "Une année riche.\nDeuxième ligne." } },
		  { NULL } },
		{ "promeneur by name, hours with unit and decimal point",
		  FORM_BILAN,
		  BILAN_OK "Promeneur : Léa Martin\nHeures en ligne : 120,4 h\n"
		  "Jeunes connectés : 1.200\n",
		  { { "promeneur.nom_complet", 0, "Léa Martin" },
		    { "promeneur.email", 0, NULL },
		    { "bilan.heures_en_ligne", 0, "120" },
		    { "bilan.jeunes_connectes", 0, "1200" } },
		  { NULL } },
		{ "missing and bad",
		  FORM_BILAN,
		  "Année : 1999\nJeunes connectés : beaucoup\nPériode : trimestre\n",
		  { { "bilan.annee", 0, NULL } },
		  { "Champ obligatoire manquant : Structure.",
		    "Année : « 1999 » n'est pas un nombre entier entre 2000 et 2100.",
		    "Jeunes connectés : « beaucoup » n'est pas un nombre entier entre 0 et 1000000.",
		    "Période : « trimestre » n'est pas une valeur possible "
		    "(annee, semestre1, semestre2)." } },
	};
	run_cases(cases, N(cases));
}

/* A value for every label of both blank forms, in the forms' order, with
 * the value expected after the parse (key NULL: checked through rows). */
#define C FORM_CANDIDATURE
#define B FORM_BILAN
static const struct {
	enum form_kind kind;
	const char *label, *typed, *key;
	int row;
	const char *stored;
} fill[] = {
	{ C, "Nom", "Centre social du Lac", "structure.nom", 0, "Centre social du Lac" },
	{ C, "Commune", "Le Puy", "structure.commune", 0, "Le Puy" },
	{ C, "Type de structure", "MJC", "structure.type", 0, "mjc" },
	{ C, "Courriel", "accueil@cs-lac.fr", "structure.email", 0, "accueil@cs-lac.fr" },
	{ C, "Téléphone", "04 71 00 00 00", "structure.telephone", 0, "0471000000" },
	{ C, "Prénom", "Léa", "promeneur.prenom", 0, "Léa" },
	{ C, "Nom", "Martin", "promeneur.nom", 0, "Martin" },
	{ C, "Courriel", "lea@example.org", "promeneur.email", 0, "lea@example.org" },
	{ C, "Téléphone", "06 12 34 56 78", "promeneur.telephone", 0, "0612345678" },
	{ C, "Fonction", "animatrice", "promeneur.fonction", 0, "animatrice" },
	{ C, "Public", "parentalité", "promeneur.public", 0, "parentalite" },
	{ C, "Heures en ligne par semaine", "3", "promeneur.heures_hebdo", 0, "3" },
	{ C, "Facebook", "fb.lea", "presence.nom_profil", 1, "fb.lea" },
	{ C, "Instagram", "ig.lea", "presence.reseau", 2, "instagram" },
	{ C, "Snapchat", "sc.lea", "presence.nom_profil", 3, "sc.lea" },
	{ C, "TikTok", "tt.lea", "presence.reseau", 4, "tiktok" },
	{ C, "Discord", "dc.lea", "presence.nom_profil", 5, "dc.lea" },
	{ C, "X", "x.lea", "presence.reseau", 6, "x" },
	{ C, "YouTube", "yt.lea", "presence.nom_profil", 7, "yt.lea" },
	{ C, "Twitch", "tw.lea", "presence.reseau", 8, "twitch" },
	{ C, "WhatsApp", "wa.lea", "presence.nom_profil", 9, "wa.lea" },
	{ C, "LinkedIn", "li.lea", "presence.reseau", 10, "linkedin" },
	{ C, "Autre réseau", "mastodon.lea", "presence.reseau", 11, "autre" },
	/* The jury's criteria are not in the blank form (form_parse still reads
	 * them from a form of an earlier release: form_candidature_parse). */
	{ C, "Motivation", "Aller vers les jeunes.", "candidature.motivation", 0, "Aller vers les jeunes." },
	{ B, "Structure", "Centre social du Lac", "structure.nom", 0, "Centre social du Lac" },
	{ B, "Promeneur", "lea@example.org", "promeneur.email", 0, "lea@example.org" },
	{ B, "Année", "2024", "bilan.annee", 0, "2024" },
	{ B, "Période", "annee", "bilan.periode", 0, "annee" },
	{ B, "Jeunes connectés", "120", "bilan.jeunes_connectes", 0, "120" },
	{ B, "Interventions : information", "11", "bilan.interventions_information", 0, "11" },
	{ B, "Interventions : lien social", "12", "bilan.interventions_lien_social", 0, "12" },
	{ B, "Interventions : prise de contact", "13", "bilan.interventions_contact", 0, "13" },
	{ B, "Interventions : accompagnement de projet", "14", "bilan.interventions_projet", 0, "14" },
	{ B, "Interventions : écoute", "15", "bilan.interventions_ecoute", 0, "15" },
	{ B, "Jeunes rencontrés après un contact en ligne", "16", "bilan.jeunes_rencontres", 0, "16" },
	{ B, "Projets initiés", "17", "bilan.projets_inities", 0, "17" },
	{ B, "Heures en ligne", "18", "bilan.heures_en_ligne", 0, "18" },
	{ B, "Articulation entre la vie de la structure et le travail du promeneur",
	  "Ateliers partagés.", "bilan.articulation", 0, "Ateliers partagés." },
	{ B, "Commentaire", "Rien à signaler.", "bilan.commentaire", 0, "Rien à signaler." },
};
#undef C
#undef B

/* The fill[] entry for a blank-form line "Label * (hint) :" (the first of
 * its kind and label not used yet); -1 when the line is no field, -2 when
 * fill[] lacks the label. */
static int fill_index(enum form_kind kind, const char *line, size_t n, int *used)
{
	if (n < 2 || strncmp(line + n - 2, " :", 2))
		return -1;
	size_t l = n - 2;
	const char *star = memchr(line, '*', l);
	if (star)
		l = (size_t)(star - line);
	const char *paren = memchr(line, '(', l);
	if (paren)
		l = (size_t)(paren - line);
	while (l && line[l - 1] == ' ')
		l--;
	for (size_t i = 0; i < N(fill); i++)
		if (fill[i].kind == kind && !used[i] && strlen(fill[i].label) == l &&
		    !strncmp(fill[i].label, line, l)) {
			used[i] = 1;
			return (int)i;
		}
	return -2;
}

static void release_buf(void *b)
{
	buf_release(b);
}

TEST(form_round_trip)
{
	static const enum form_kind kinds[] = { FORM_CANDIDATURE, FORM_BILAN };
	static struct buf blank = BUF_INIT(1 << 20), filled = BUF_INIT(1 << 20);
	static struct form_values v;
	static struct form_problems p;
	test_defer(release_buf, &blank);
	test_defer(release_buf, &filled);
	test_defer(free_values, &v);
	test_defer(free_problems, &p);
	for (size_t k = 0; k < N(kinds); k++) {
		int used[N(fill)] = { 0 };
		buf_reset(&blank);
		buf_reset(&filled);
		CHECK_OK(form_blank(kinds[k], &blank));
		CHECK_INT_IDX(form_detect(buf_str(&blank)), kinds[k], k);
		/* The blank form parses to nothing but the missing required fields. */
		CHECK_OK(form_parse(kinds[k], buf_str(&blank), &v, &p));
		CHECK_INT_IDX(v.n, 0, k);
		CHECK_INT_IDX(p.n, kinds[k] == FORM_CANDIDATURE ? 6 : 2, k);
		form_values_free(&v);
		form_problems_free(&p);
		for (const char *s = buf_str(&blank); *s;) {
			size_t n = strcspn(s, "\n");
			int fi = fill_index(kinds[k], s, n, used);
			CHECK_IDX(fi != -2, k);
			CHECK_OK(buf_append(&filled, s, n));
			if (fi >= 0)
				CHECK_OK(buf_printf(&filled, " %s", fill[fi].typed));
			CHECK_OK(buf_putc(&filled, '\n'));
			s += n + (s[n] == '\n');
		}
		CHECK_OK(form_parse(kinds[k], buf_str(&filled), &v, &p));
		if (p.n)
			dump_problems(&p);
		CHECK_INT_IDX(p.n, 0, k);
		for (size_t i = 0; i < N(fill); i++) {
			if (fill[i].kind != kinds[k])
				continue;
			CHECK_IDX(used[i], i); /* every label of fill[] is in the form */
			CHECK_STR_IDX(form_value_get(&v, fill[i].key, fill[i].row), fill[i].stored, i);
		}
		if (kinds[k] == FORM_CANDIDATURE) {
			CHECK_INT(form_values_rows(&v), 11);
			CHECK_STR(form_value_get(&v, "presence.nom_profil", 11), "mastodon.lea");
		}
		form_values_free(&v);
		form_problems_free(&p);
	}
}

TEST(form_blank_driven_by_model)
{
	/* Every column the forms use is printed with the model's label. */
	static const struct { enum form_kind kind; const char *table, *column; } cols[] = {
		{ FORM_CANDIDATURE, "structure", "nom" },
		{ FORM_CANDIDATURE, "structure", "commune" },
		{ FORM_CANDIDATURE, "structure", "type" },
		{ FORM_CANDIDATURE, "promeneur", "prenom" },
		{ FORM_CANDIDATURE, "promeneur", "fonction" },
		{ FORM_CANDIDATURE, "promeneur", "heures_hebdo" },
		{ FORM_BILAN, "bilan", "articulation" },
		{ FORM_CANDIDATURE, "candidature", "motivation" },
		{ FORM_BILAN, "bilan", "structure" },
		{ FORM_BILAN, "bilan", "annee" },
		{ FORM_BILAN, "bilan", "interventions_ecoute" },
		{ FORM_BILAN, "bilan", "jeunes_rencontres" },
		{ FORM_BILAN, "bilan", "commentaire" },
	};
	for (size_t i = 0; i < N(cols); i++) {
		struct buf b = BUF_INIT(1 << 20);
		const struct model_column *c =
			model_column_by_name(model_table_by_name(cols[i].table), cols[i].column);
		CHECK_IDX(c != NULL, i);
		int rc = form_blank(cols[i].kind, &b);
		int found = strstr(buf_str(&b), c->label) != NULL;
		buf_release(&b);
		CHECK_INT_IDX(rc, 0, i);
		CHECK_IDX(found, i);
	}
	struct buf b = BUF_INIT(1 << 20);
	CHECK_INT(form_blank(FORM_UNKNOWN, &b), RELAIS_EINVAL);
	/* The cap of the output buffer is honoured. */
	struct buf tiny = BUF_INIT(100);
	CHECK_INT(form_blank(FORM_BILAN, &tiny), RELAIS_ETOOBIG);
	buf_release(&tiny);
	CHECK_INT(form_kind_by_name("Bilan"), FORM_BILAN);
	CHECK_INT(form_kind_by_name("candidature"), FORM_CANDIDATURE);
	CHECK_INT(form_kind_by_name("devis"), FORM_UNKNOWN);
}

TEST(form_detect_kinds)
{
	static const struct { const char *text; enum form_kind kind; } cases[] = {
		{ "FORMULAIRE DE CANDIDATURE — PROMENEURS DU NET\nNom :\n", FORM_CANDIDATURE },
		{ "> > Bilan d'activité — Promeneurs du Net\n", FORM_BILAN },
		{ "Bonjour\nPrénom : Léa\nCommune : Le Puy\nMotivation : oui\n", FORM_CANDIDATURE },
		{ "Structure : CS\nAnnée : 2024\nJeunes connectés : 3\n", FORM_BILAN },
		{ "> Interventions : écoute : 3\n> Heures en ligne : 4\n", FORM_BILAN },
		{ "Bonjour, pouvez-vous me rappeler ?\nMerci.\n", FORM_UNKNOWN },
		{ "Structure : CS\n", FORM_UNKNOWN },
		{ "", FORM_UNKNOWN },
	};
	for (size_t i = 0; i < N(cases); i++)
		CHECK_INT_IDX(form_detect(cases[i].text), cases[i].kind, i);
	CHECK_INT(form_detect(NULL), FORM_UNKNOWN);
}

TEST(form_parse_limits)
{
	struct form_values v;
	struct form_problems p;
	size_t n = FORM_INPUT_MAX + 10;
	char *big = malloc(n + 1);
	CHECK(big != NULL);
	memset(big, 'a', n);
	big[n] = 0;
	int rc = form_parse(FORM_BILAN, big, &v, &p);
	free(big);
	form_values_free(&v);
	form_problems_free(&p);
	CHECK_INT(rc, RELAIS_ETOOBIG);
	CHECK_INT(form_parse(FORM_UNKNOWN, "x", &v, &p), RELAIS_EINVAL);
	form_values_free(&v);
	form_problems_free(&p);

	/* A free text past the model's cap is refused with a French problem. */
	struct buf t = BUF_INIT(1 << 20);
	test_defer(release_buf, &t);
	CHECK_OK(buf_puts(&t, BILAN_OK "Commentaire :\n"));
	for (int i = 0; i < 2000; i++)
		CHECK_OK(buf_puts(&t, "une ligne de commentaire, assez longue.\n"));
	CHECK_OK(form_parse(FORM_BILAN, buf_str(&t), &v, &p));
	int found = has_problem(&p, "Commentaire : le texte dépasse 10000 caractères.");
	if (!found)
		dump_problems(&p);
	int absent = form_value_get(&v, "bilan.commentaire", 0) == NULL;
	form_values_free(&v);
	form_problems_free(&p);
	CHECK(found);
	CHECK(absent);
}

/* ---- bilans as CSV ---- */

struct csv_case {
	const char *name;
	const char *bytes;
	size_t len; /* 0: strlen */
	struct kv values[6];
	const char *problems[3];
};

TEST(form_bilan_csv)
{
	static const struct csv_case cases[] = {
		{ "two columns, French spreadsheet (Windows-1252, semicolon, decimal comma)",
		  "Champ;Valeur\r\nStructure;Centre social du Lac\r\nAnn\xe9" "e;2024\r\n"
		  "P\xe9riode;Semestre 2\r\nJeunes connect\xe9s;35\r\nHeures en ligne;12,5\r\n"
		  "Commentaire;\"Bonne ann\xe9" "e ; \"\"riche\"\"\r\nsuite\"\r\n",
		  0,
		  { { "structure.nom", 0, "Centre social du Lac" },
		    { "bilan.annee", 0, "2024" },
		    { "bilan.periode", 0, "semestre2" },
		    { "bilan.jeunes_connectes", 0, "35" },
		    { "bilan.heures_en_ligne", 0, "13" },
		    { "bilan.commentaire", 0, "Bonne année ; \"riche\"\nsuite" } },
		  { NULL } },
		{ "header row and one data row, comma, UTF-8 with BOM",
		  "\xef\xbb\xbfStructure,Année,Interventions : écoute,Heures en ligne,Promeneur\n"
		  "\"Centre social, du Lac\",2024,9,\"7,4\",Léa Martin\n",
		  0,
		  { { "structure.nom", 0, "Centre social, du Lac" },
		    { "bilan.annee", 0, "2024" },
		    { "bilan.interventions_ecoute", 0, "9" },
		    { "bilan.heures_en_ligne", 0, "7" },
		    { "promeneur.nom_complet", 0, "Léa Martin" } },
		  { NULL } },
		{ "several data rows",
		  "Structure;Année\nA;2024\nB;2023\n", 0,
		  { { "structure.nom", 0, "A" } },
		  { "Le fichier CSV contient plusieurs lignes de valeurs : envoyez un seul bilan "
		    "par fichier." } },
		{ "missing structure, bad number",
		  "Année;2024\nProjets initiés;deux\n", 0,
		  { { "bilan.projets_inities", 0, NULL } },
		  { "Champ obligatoire manquant : Structure.",
		    "Projets initiés : « deux » n'est pas un nombre entier entre 0 et 1000000." } },
		{ "French Excel: a title row above the header, trailing ;;;; rows",
		  "Bilan d'activit\xe9 2025;;;;\r\n;;;;\r\nStructure;Ann\xe9" "e;P\xe9riode;"
		  "Jeunes connect\xe9s;Heures en ligne\r\nCentre social du Lac;2025;1er semestre;"
		  "1 200;12,5\r\n;;;;\r\n;;;;\r\n", 0,
		  { { "structure.nom", 0, "Centre social du Lac" },
		    { "bilan.annee", 0, "2025" },
		    { "bilan.periode", 0, "semestre1" },
		    { "bilan.jeunes_connectes", 0, "1200" },
		    { "bilan.heures_en_ligne", 0, "13" } },
		  { NULL } },
		{ "a total row under the data",
		  "Structure;Année;Jeunes connectés\nCentre social du Lac;2025;30\nTotal;;30\n", 0,
		  { { "structure.nom", 0, "Centre social du Lac" },
		    { "bilan.jeunes_connectes", 0, "30" } },
		  { NULL } },
		{ "not CSV at all",
		  "Structure;\"Centre\nAnnée;2024\n", 0,
		  { { "bilan.annee", 0, NULL } },
		  { "Le fichier CSV n'a pas pu être lu : guillemet non fermé (champ commencé "
		    "à la ligne 1)." } },
	};
	for (size_t i = 0; i < N(cases); i++) {
		const struct csv_case *c = &cases[i];
		struct form_values v;
		struct form_problems p;
		struct parse_case pc = { c->name, FORM_BILAN, NULL, { { NULL, 0, NULL } }, { NULL } };
		memcpy(pc.values, c->values, sizeof(c->values));
		memcpy(pc.problems, c->problems, sizeof(c->problems));
		int rc = form_parse_bilan_csv(c->bytes, c->len ? c->len : strlen(c->bytes), &v, &p);
		int bad = check_case(&pc, (int)i, &v, &p);
		form_values_free(&v);
		form_problems_free(&p);
		CHECK_INT_IDX(rc, 0, i);
		CHECK_INT_IDX(bad, 0, i);
	}
}

/* A sheet of several structures' bilans, as mailgw/ makes of an XLSX. */
TEST(form_bilan_table)
{
	static const char sheet[] =
		"Bilans intermédiaires 2025;\n"
		"Structure;Année;Période;Jeunes connectés;Heures en ligne;\n"
		"Centre social du Lac;2025;1er semestre;120;12.5;\n"
		"MJC du Plateau;2025;1er semestre;45;4;\n"
		";;;;;\n"
		"Total;;;165;16.5;\n";
	static const char bad[] =
		"Structure;Année;Jeunes connectés\nA;2025;10\nB;2025;beaucoup\n";
	struct form_values *v = NULL;
	struct form_problems p;
	size_t n = 0;

	CHECK_INT(form_parse_bilan_table(sheet, strlen(sheet), &v, &n, &p), 0);
	CHECK_INT((int)n, 2);
	CHECK_INT((int)p.n, 0);
	CHECK_STR(form_value_get(&v[0], "structure.nom", 0), "Centre social du Lac");
	CHECK_STR(form_value_get(&v[0], "bilan.periode", 0), "semestre1");
	CHECK_STR(form_value_get(&v[0], "bilan.heures_en_ligne", 0), "13");
	CHECK_STR(form_value_get(&v[1], "structure.nom", 0), "MJC du Plateau");
	CHECK_STR(form_value_get(&v[1], "bilan.jeunes_connectes", 0), "45");
	form_values_array_free(v, n);
	form_problems_free(&p);

	CHECK_INT(form_parse_bilan_table(bad, strlen(bad), &v, &n, &p), 0);
	CHECK_INT((int)n, 2);
	CHECK_INT((int)p.n, 1);
	if (p.n)
		CHECK_STR(p.items[0], "Ligne 3 : Jeunes connectés : « beaucoup » n'est pas un nombre "
				      "entier entre 0 et 1000000.");
	form_values_array_free(v, n);
	form_problems_free(&p);
}

/* ---- the client command ---- */

TEST(form_client_command)
{
	h_setup();
	static const struct { const char *kind, *table, *columns[8]; } forms[] = {
		{ "candidature", "structure", { "nom", "commune", "type", "email", "telephone" } },
		{ "candidature", "promeneur",
		  { "prenom", "nom", "email", "telephone", "fonction", "public", "heures_hebdo" } },
		{ "candidature", "candidature", { "motivation" } },
		{ "bilan", "bilan",
		  { "structure", "promeneur", "annee", "periode", "jeunes_connectes",
		    "interventions_information", "interventions_lien_social", "heures_en_ligne" } },
		{ "bilan", "bilan",
		  { "interventions_contact", "interventions_projet", "interventions_ecoute",
		    "jeunes_rencontres", "projets_inities", "articulation", "commentaire" } },
	};
	for (size_t i = 0; i < N(forms); i++) {
		char *argv[] = { (char *)h_bin("relais"), (char *)"formulaire", (char *)forms[i].kind, NULL };
		struct h_out *o = h_runv(argv, H_TIMEOUT_MS);
		CHECK_INT_IDX(o->status, 0, i);
		for (size_t k = 0; k < N(forms[i].columns) && forms[i].columns[k]; k++) {
			const struct model_column *c = model_column_by_name(
				model_table_by_name(forms[i].table), forms[i].columns[k]);
			CHECK_IDX(c != NULL, k);
			if (!strstr(o->out, c->label))
				fprintf(stderr, "  label \"%s\" missing\n", c->label);
			CHECK_IDX(strstr(o->out, c->label) != NULL, i * 10 + k);
		}
		/* The jury scores the criteria; the applicant is told what becomes
		 * of their data. */
		CHECK_IDX(strstr(o->out, "Pertinence de la démarche") == NULL, i);
		CHECK_IDX(strstr(o->out, "Vos données") && strstr(o->out, "effacer"), i);
		/* What the client prints is exactly the library's blank form. */
		struct buf b = BUF_INIT(1 << 20);
		int rc = form_blank(form_kind_by_name(forms[i].kind), &b);
		int same = !strcmp(buf_str(&b), o->out);
		buf_release(&b);
		CHECK_INT_IDX(rc, 0, i);
		CHECK_IDX(same, i);
	}
	char *help[] = { (char *)h_bin("relais"), (char *)"formulaire", (char *)"--help", NULL };
	struct h_out *o = h_runv(help, H_TIMEOUT_MS);
	CHECK_INT(o->status, 0);
	CHECK(strstr(o->out, "relais formulaire candidature|bilan") != NULL);
	char *bad[] = { (char *)h_bin("relais"), (char *)"formulaire", (char *)"devis", NULL };
	o = h_runv(bad, H_TIMEOUT_MS);
	CHECK_INT(o->status, 2);
	CHECK(strstr(o->err, "formulaire inconnu") != NULL);
}

/* Garbage of every shape gets an answer, never a crash (the sanitizer build
 * checks memory): random bytes, invalid UTF-8, long lines full of separators. */
TEST(form_hostile_input)
{
	static const char alphabet[] = "::==>> \n\r\t;,\"aéÉ\xff\xc3-Nom Structure Année Motivation";
	unsigned seed = 12345;
	for (int i = 0; i < 300; i++) {
		char text[2048];
		size_t n = (size_t)(i * 7) % (sizeof(text) - 1);
		for (size_t k = 0; k < n; k++) {
			seed = seed * 1103515245u + 12345u;
			text[k] = i % 3 ? alphabet[(seed >> 16) % (sizeof(alphabet) - 1)]
					: (char)((seed >> 16) & 0xff);
			if (!text[k])
				text[k] = ' ';
		}
		text[n] = 0;
		struct form_values v;
		struct form_problems p;
		int rc = form_parse(i % 2 ? FORM_BILAN : FORM_CANDIDATURE, text, &v, &p);
		form_values_free(&v);
		form_problems_free(&p);
		CHECK_INT_IDX(rc, 0, i);
		rc = form_parse_bilan_csv(text, n, &v, &p);
		form_values_free(&v);
		form_problems_free(&p);
		CHECK_INT_IDX(rc, 0, i);
		enum form_kind k = form_detect(text);
		CHECK_IDX(k == FORM_UNKNOWN || k == FORM_CANDIDATURE || k == FORM_BILAN, i);
	}
}
