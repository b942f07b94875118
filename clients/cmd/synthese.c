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
#include "../../common/options.h"
#include "../../common/util.h"
#include "../replica/replica.h"
#include "../replica/synthese.h"
#include "cli.h"

#define HTML_MAX (64u << 20)

int cmd_synthese(const char *home, int argc, char **argv)
{
	struct replica r;
	struct synthese *y = NULL;
	struct buf html = BUF_INIT(HTML_MAX);
	const char *format = NULL, *out = NULL;
	char err[CLI_ERRLEN], today[11], *dept = NULL;
	long long year = 0;
	int mid = 0;
	struct file_tmp t = FILE_TMP_INIT;
	int rc = CLI_EXIT_FAIL, e;
	const struct option opts[] = {
		OPT_INTEGER(0, "annee", &year, "AAAA", "l'année des bilans (comparée à la précédente)",
			    SYNTHESE_YEAR_MIN, SYNTHESE_YEAR_MAX),
		OPT_FLAG(0, "mi-annee", &mid, "synthèse de mi-année : bilans du 1er semestre et "
			 "activité de janvier à juin, pour le comité de mi-année"),
		OPT_STRING_F(0, "format", &format, "html|xlsx", "une page autonome (styles et "
			     "graphiques intégrés), ou un classeur avec les mêmes tableaux et un "
			     "graphique", OPTION_REQUIRED),
		OPT_STRING(0, "sortie", &out, "FICHIER", "le fichier à écrire (remplacé d'un seul "
			   "coup) ; la page HTML va sur la sortie standard sans --sortie"),
		OPT_END(),
	};
	const struct options_cmd c = {
		&cli_prog, "synthese", "--annee AAAA --format html|xlsx [--mi-annee] [--sortie FICHIER]",
		"Synthèse des bilans pour le comité de pilotage : total de chaque indicateur pour\n"
		"l'année et l'année précédente avec l'évolution, graphiques, tableau par structure\n"
		"(les structures sans bilan y sont signalées), puis l'activité du réseau : entrées\n"
		"et sorties, effectif par public, événements et taux de participation, demandes\n"
		"par sujet, et ce que les bilans disent (articulation avec la vie de la structure,\n"
		"commentaires).\n", opts, NULL, 0, 0, NULL,
	};

	if ((rc = options_parse_cmd(&c, argc - 1, argv + 1, NULL, NULL)))
		return rc < 0 ? 0 : rc;
	rc = CLI_EXIT_FAIL;
	if (!year) {
		cli_error("--annee AAAA est attendu, une année entre %d et %d.", SYNTHESE_YEAR_MIN,
			  SYNTHESE_YEAR_MAX);
		return CLI_EXIT_USAGE;
	}
	if (strcmp(format, "html") && strcmp(format, "xlsx")) {
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
	if ((e = synthese_load_period(r.db, year, mid, dept, &y))) {
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
