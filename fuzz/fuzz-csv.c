/*
 * fuzz-csv.c - libFuzzer target: the directory import's reading of a CSV
 * file (model/csv.h), then the per-cell validation the import does.
 *
 * clients/cmd/annuaire.c keeps its header mapping and row checks static and
 * needs a replica, so this target repeats what they do with the model's
 * public functions: each header cell is folded with model_fold() and each
 * data cell goes through model_check_value() against the model column the
 * import checks that position against (cycling through them). Every field
 * csv_parse() returns must be valid UTF-8 (its contract, and what
 * model_fold() requires): a field that is not aborts. The same bytes are
 * then read as a bilan sent as a CSV attachment (form_parse_bilan_csv),
 * the other reader of CSV files, whose values must be non-empty UTF-8.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "../common/relais.h"
#include "../common/utf8.h"
#include "../model/csv.h"
#include "../model/form.h"
#include "../model/model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The columns the import checks cells against (annuaire.c field_columns). */
static const struct {
	const char *table, *column;
} checked[] = {
	{ "promeneur", "nom" }, { "promeneur", "prenom" }, { "structure", "nom" },
	{ "structure", "commune" }, { "promeneur", "email" }, { "promeneur", "telephone" },
	{ "promeneur", "fonction" }, { "structure", "code_postal" },
	{ "presence", "reseau" }, { "presence", "nom_profil" },
};
#define NCHECKED (sizeof(checked) / sizeof(checked[0]))

static void check_cell(const struct model_column *c, const char *v, char *out)
{
	char why[512];

	if (!utf8_valid_str(v))
		abort(); /* csv.h promises UTF-8 fields */
	if (model_check_value(c, v, out, MODEL_VALUE_MAX, why, sizeof(why)) == 0 &&
	    strlen(out) >= MODEL_VALUE_MAX)
		abort(); /* the contract: out always fits */
}

static void bilan_csv(const uint8_t *data, size_t size)
{
	struct form_values v = { 0 };
	struct form_problems p = { 0 };

	if (form_parse_bilan_csv(data, size, &v, &p) == 0)
		for (size_t i = 0; i < v.n; i++)
			if (!v.items[i].value[0] || !utf8_valid_str(v.items[i].value))
				abort(); /* form.h: normalised, never empty */
	form_values_free(&v);
	form_problems_free(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct model_column *cols[NCHECKED];
	struct csv c = { 0 };
	char err[256];
	char *out = NULL;

	if (!cols[0])
		for (size_t k = 0; k < NCHECKED; k++) {
			cols[k] = model_column_by_name(model_table_by_name(checked[k].table),
						       checked[k].column);
			if (!cols[k])
				abort();
		}
	if (csv_parse(data, size, NULL, &c, err, sizeof(err)) || !c.nrows)
		goto out;
	out = malloc(MODEL_VALUE_MAX);
	if (!out)
		goto out;
	for (size_t i = 0; i < c.rows[0].n; i++) {
		char folded[128];
		const char *name = c.rows[0].fields[i];
		if (!utf8_valid_str(name))
			abort();
		(void)model_fold(name, folded, sizeof(folded));
	}
	for (size_t r = 1; r < c.nrows; r++)
		for (size_t i = 0; i < c.rows[r].n; i++)
			check_cell(cols[i % NCHECKED], c.rows[r].fields[i], out);
out:
	free(out);
	csv_free(&c);
	bilan_csv(data, size);
	return 0;
}
