/*
 * doc.c - the tables' reference (docs/model.md, section "Tables") written
 * from the descriptions, so that the page cannot drift from the model: a
 * test compares the two, and "make docs" rewrites the page.
 */
#include <string.h>
#include "../common/buf.h"
#include "model.h"

static const char *kind_word(const struct model_column *c)
{
	switch (c->kind) {
	case MODEL_TEXT:
		if (c->flags & MODEL_POSTCODE)
			return "code postal";
		return c->flags & MODEL_MULTILINE ? "texte (plusieurs lignes)" : "texte";
	case MODEL_INT: return "entier";
	case MODEL_BOOL: return "oui/non";
	case MODEL_DATE: return "date";
	case MODEL_EMAIL: return "courriel";
	case MODEL_PHONE: return "téléphone";
	case MODEL_URL: return "URL";
	case MODEL_ENUM: return "liste";
	case MODEL_REF: return "référence";
	}
	return "?";
}

/* Appends "; " before every rule but the first. */
static int rule(struct buf *b, int *n, const char *s)
{
	int rc = (*n)++ ? buf_puts(b, "; ") : 0;
	return rc ? rc : buf_puts(b, s);
}

static int column_rules(struct buf *b, const struct model_column *c)
{
	int n = 0, rc = 0;
	if (c->flags & MODEL_REQUIRED)
		rc = rule(b, &n, "obligatoire");
	if (!rc && (c->flags & MODEL_LISTED))
		rc = rule(b, &n, "listée");
	if (!rc && (c->flags & MODEL_PERSONAL))
		rc = rule(b, &n, "**personnelle**");
	if (!rc && c->kind == MODEL_INT) {
		if (!(rc = rule(b, &n, "")))
			rc = buf_printf(b, "%lld à %lld", c->min, c->max);
	}
	if (!rc && c->kind == MODEL_ENUM) {
		rc = rule(b, &n, "valeurs : ");
		for (size_t i = 0; !rc && c->values[i]; i++)
			rc = buf_printf(b, "%s`%s`", i ? ", " : "", c->values[i]);
	}
	if (!rc && c->kind == MODEL_REF && !(rc = rule(b, &n, "")))
		rc = buf_printf(b, "→ `%s`", c->ref);
	if (!rc && c->def && !(rc = rule(b, &n, "")))
		rc = buf_printf(b, "défaut %s", c->def);
	return rc;
}

int model_doc_tables(struct buf *out)
{
	int rc = buf_puts(out, "## Tables\n");
	for (size_t i = 0; !rc && i < model_ntables; i++) {
		const struct model_table *t = &model_tables[i];
		rc = buf_printf(out, "\n### `%s` — %s (commande `relais %s`)\n\n"
				"| colonne | option | libellé | type | règles |\n|---|---|---|---|---|\n",
				t->name, t->plural, t->command);
		for (size_t k = 0; !rc && k < t->ncolumns; k++) {
			const struct model_column *c = &t->columns[k];
			char flag[64];
			rc = model_column_flag(c, flag, sizeof(flag));
			if (!rc)
				rc = buf_printf(out, "| `%s` | `--%s` | %s | %s | ", c->name, flag, c->label,
					kind_word(c));
			if (!rc)
				rc = column_rules(out, c);
			if (!rc)
				rc = buf_puts(out, " |\n");
		}
	}
	return rc;
}
