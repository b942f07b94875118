/*
 * form.h - the plain-text forms that structures send by email (prefix form_).
 *
 * Two forms, both generated from the model's descriptions (labels, kinds,
 * enumerations, checks) so that nothing is typed twice:
 *
 *   candidature: the structure, the professional (promeneur), their profile
 *                names on each social network, the criteria of the
 *                application file and the motivation;
 *   bilan:       the activity report of a structure (and optionally of one
 *                promeneur) for a year or a half-year.
 *
 * A form is one "Champ : valeur" line per field under "== Section ==" headings;
 * free texts (motivation, commentaire) may run over several lines, until the
 * next recognised label. The parser forgives what mail does to text: case,
 * accents, spacing, "Champ:valeur" / "Champ = valeur", quoted replies ("> ",
 * several levels), forwarded headers, signatures ("-- "), hints left in the
 * labels, and a quoted earlier copy of the form (the first value given for a
 * field wins, so a new form written above a quoted old one is what counts).
 *
 * Values are returned under stable keys, "table.column" of the model:
 *   candidature: structure.{nom,commune,type,email,telephone},
 *                promeneur.{prenom,nom,email,telephone,fonction,public,heures_hebdo},
 *                candidature.{pertinence,...,disponibilite,motivation},
 *                and one row per network: presence.reseau + presence.nom_profil
 *                with row 1, 2, ...
 *   bilan:       structure.nom (the structure's name, not its id),
 *                promeneur.email or promeneur.nom_complet ("Prénom Nom"),
 *                bilan.{annee,periode,jeunes_connectes,interventions_*,
 *                jeunes_rencontres,projets_inities,heures_en_ligne,commentaire}.
 * Each value is normalised as model_check_value() stores it. Integers also
 * accept a decimal comma or point ("12,5"), rounded half up to the integer
 * the schema stores, and a trailing "h" / "heures".
 */
#ifndef RELAIS_FORM_H
#define RELAIS_FORM_H

#include <stddef.h>
#include "../common/buf.h"
#include "../common/relais.h"

enum form_kind {
	FORM_UNKNOWN = 0,
	FORM_CANDIDATURE,
	FORM_BILAN
};

/* Cap on the text given to form_parse() and form_detect(). */
#define FORM_INPUT_MAX (1024u * 1024)

struct form_value {
	const char *key; /* static, e.g. "promeneur.email" */
	int row;         /* 0, or 1.. for the repeated presence rows */
	char *value;     /* normalised, never empty */
};

struct form_values {
	struct form_value *items;
	size_t n;
};

/* French sentences, each naming its field, e.g.
 * "Téléphone (structure) : « 12 » n'est pas un numéro de téléphone valide (…)."
 * or "Champ obligatoire manquant : Courriel (promeneur)." */
struct form_problems {
	char **items;
	size_t n;
};

/* "candidature", "bilan" or "inconnu"; never NULL. */
const char *form_kind_name(enum form_kind kind);
/* The kind named by "candidature" or "bilan" (case and accents forgiven), else FORM_UNKNOWN. */
enum form_kind form_kind_by_name(const char *name);

/*
 * Appends the blank form of kind to out: its title line, how to fill it in
 * (French), then each section and label, required ones marked "*",
 * enumerations followed by their values in parentheses.
 * Returns 0, RELAIS_EINVAL for an unknown kind, RELAIS_ENOMEM or
 * RELAIS_ETOOBIG (out's cap).
 */
int form_blank(enum form_kind kind, struct buf *out) RELAIS_WUR;

/*
 * Returns which form text holds: from its title line, else from the labels it
 * holds (at least two that belong to one form only); FORM_UNKNOWN otherwise,
 * also for NULL or text longer than FORM_INPUT_MAX.
 */
enum form_kind form_detect(const char *text);

/*
 * Parses a filled form of kind out of text (a message body, UTF-8,
 * NUL-terminated). values and problems are filled in (the caller frees them
 * with form_values_free() and form_problems_free(), also after a failure).
 * Returns 0 when the text was read: the form is acceptable when problems->n
 * is 0. Unknown labels are ignored. Returns RELAIS_EINVAL for an unknown kind
 * or NULL text, RELAIS_ETOOBIG when text is longer than FORM_INPUT_MAX,
 * RELAIS_ENOMEM.
 */
int form_parse(enum form_kind kind, const char *text, struct form_values *values,
	       struct form_problems *problems) RELAIS_WUR;

/*
 * Parses a bilan sent as a CSV attachment (len bytes, any encoding csv.h
 * reads): either a two-column sheet "champ;valeur" (one field per row) or a
 * header row of labels (found as form_parse_bilan_table() finds it) and
 * one data row; empty and total rows are ignored. Same values, keys and problems as
 * form_parse(FORM_BILAN, ...); a file that cannot be read as CSV, or that
 * holds several data rows, is reported as a problem. Returns 0 or
 * RELAIS_ENOMEM.
 */
int form_parse_bilan_csv(const void *bytes, size_t len, struct form_values *values,
			 struct form_problems *problems) RELAIS_WUR;

/*
 * Reads a table that may hold several bilans, one per row: CSV bytes as
 * form_parse_bilan_csv() takes them, or the CSV that mailgw/ makes of a
 * spreadsheet sheet or an HTML table. The header row is the first of the
 * top 20 rows that names two fields or more (a title, a date or blank
 * lines may come above it); every later row that is not empty nor a total
 * ("Total", "Sous-total", "Somme"…) is one bilan. A sheet written one
 * "label;value" row per field is one bilan. *values receives *n value sets
 * (free them with form_values_array_free()), problems every problem, each
 * prefixed "Ligne N : " when there are several bilans. Returns 0 (the
 * table is acceptable when problems->n is 0) or RELAIS_ENOMEM.
 */
int form_parse_bilan_table(const void *bytes, size_t len, struct form_values **values, size_t *n,
			   struct form_problems *problems) RELAIS_WUR;

/* Frees n value sets and the array; accepts NULL. */
void form_values_array_free(struct form_values *v, size_t n);

/* The value of key in row (0 for plain fields), or NULL when absent. */
const char *form_value_get(const struct form_values *v, const char *key, int row);
/* The number of presence rows (the highest row number). */
int form_values_rows(const struct form_values *v);

/* Free what the parse functions stored and zero the structs. Accept NULL. */
void form_values_free(struct form_values *v);
void form_problems_free(struct form_problems *p);

/*
 * Prefixes items[from..to) with "<what> <k> : " ("Ligne 3 : "), so that the
 * problems of one of several rows or forms say which one. Each item is
 * malloc'ed and replaced. Returns 0, or RELAIS_ENOMEM with the items not
 * yet done left as they were.
 */
int form_problems_number(char **items, size_t from, size_t to, const char *what,
			 size_t k) RELAIS_WUR;

#endif
