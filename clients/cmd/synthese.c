/*
 * synthese.c - "relais synthese": the annual synthesis of the bilans
 * (replica/synthese.h) written as an HTML page or an XLSX workbook.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "../../common/buf.h"
#include "../../common/file.h"
#include "../../common/util.h"
#include "../replica/replica.h"
#include "../replica/synthese.h"
#include "cli.h"

#define HTML_MAX (64u << 20)

static void help(void)
{
	printf("Usage : relais [--home DIR] synthese --annee AAAA --format html|xlsx "
	       "[--sortie FICHIER]\n"
	       "Synthèse annuelle des bilans pour le comité de pilotage : total de chaque\n"
	       "indicateur pour l'année et l'année précédente avec l'évolution, graphiques,\n"
	       "et tableau par structure (les structures sans bilan y sont signalées).\n\n"
	       "  --annee AAAA     l'année des bilans (comparée à la précédente)\n"
	       "  --format html    une page autonome (styles et graphiques SVG intégrés) ;\n"
	       "                   sur la sortie standard sans --sortie\n"
	       "  --format xlsx    un classeur avec les mêmes tableaux et un graphique ;\n"
	       "                   --sortie est alors obligatoire\n"
	       "  --sortie FICHIER le fichier à écrire (remplacé d'un seul coup)\n");
}

static int parse_opt(int argc, char **argv, int *i, const char *opt, const char **val)
{
	size_t n = strlen(opt);
	if (strncmp(argv[*i], opt, n))
		return 0;
	if (argv[*i][n] == '=') {
		*val = argv[*i] + n + 1;
		return 1;
	}
	if (argv[*i][n])
		return 0;
	*val = *i + 1 < argc ? argv[++*i] : "";
	return 1;
}

int cmd_synthese(const char *home, int argc, char **argv)
{
	struct replica r;
	struct synthese *y = NULL;
	struct buf html = BUF_INIT(HTML_MAX);
	const char *annee = NULL, *format = NULL, *out = NULL;
	char err[CLI_ERRLEN], today[11], *dept = NULL;
	long long year;
	struct file_tmp t = FILE_TMP_INIT;
	int rc = CLI_EXIT_FAIL, e;

	for (int i = 1; i < argc; i++)
		if (cli_is_help(argv[i])) {
			help();
			return 0;
		}
	for (int i = 1; i < argc; i++) {
		if (parse_opt(argc, argv, &i, "--annee", &annee) ||
		    parse_opt(argc, argv, &i, "--format", &format) ||
		    parse_opt(argc, argv, &i, "--sortie", &out))
			continue;
		cli_error("argument inconnu : « %s » (voir relais synthese --help).", argv[i]);
		return CLI_EXIT_USAGE;
	}
	if (!annee || util_parse_ll(annee, SYNTHESE_YEAR_MIN, SYNTHESE_YEAR_MAX, &year)) {
		cli_error("--annee AAAA est attendu, une année entre 2001 et 2100.");
		return CLI_EXIT_USAGE;
	}
	if (!format || (strcmp(format, "html") && strcmp(format, "xlsx"))) {
		cli_error("--format html ou --format xlsx est attendu (voir relais synthese --help).");
		return CLI_EXIT_USAGE;
	}
	if (out && !out[0]) {
		cli_error("l'option --sortie attend un nom de fichier.");
		return CLI_EXIT_USAGE;
	}
	int xlsx = !strcmp(format, "xlsx");
	if (xlsx && !out) {
		cli_error("un classeur XLSX ne s'écrit pas sur le terminal : donnez --sortie FICHIER.");
		return CLI_EXIT_USAGE;
	}
	{
		time_t now = time(NULL);
		struct tm tm;
		localtime_r(&now, &tm);
		strftime(today, sizeof(today), "%d/%m/%Y", &tm);
	}
	if (cli_open(&r, home))
		return CLI_EXIT_FAIL;
	if (replica_meta(&r, "dept", &dept) || !dept) {
		cli_error("le département du compte est inconnu : relancez « relais init ».");
		goto out;
	}
	if ((e = synthese_load(r.db, year, dept, &y))) {
		if (e == RELAIS_ENOMEM)
			cli_error("%s", relais_strerror(e));
		else
			cli_error("lecture du réplica impossible : %s", replica_errmsg(r.db));
		goto out;
	}
	if (out && cli_tmp_open(&t, out))
		goto out;
	if (xlsx) {
		fclose(t.f);
		t.f = NULL;
		if (synthese_xlsx(y, today, t.path, out, err, sizeof(err))) {
			cli_error("%s", err);
			goto out;
		}
	} else {
		if ((e = synthese_html(y, today, &html))) {
			cli_error("%s", relais_strerror(e));
			goto out;
		}
		fwrite(html.data, 1, html.len, out ? t.f : stdout);
	}
	if (out) {
		if (cli_tmp_commit(&t, out))
			goto out;
		fprintf(stderr, "relais : synthèse %lld écrite dans « %s » (%lld bilan%s).\n", year,
			out, synthese_nbilans(y, 1), synthese_nbilans(y, 1) > 1 ? "s" : "");
	}
	rc = 0;
out:
	file_tmp_abort(&t);
	free(dept);
	buf_release(&html);
	synthese_free(y);
	replica_close(&r);
	return rc;
}
