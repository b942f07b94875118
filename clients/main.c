/*
 * main.c - relais, the coordinator's offline client: global options and
 * dispatch to the commands.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "../common/platform.h"
#include "../model/model.h"
#include "annuaire.h"
#include "synthese.h"
#include "cli.h"
#include "followup.h"
#include "net.h"
#include "replica.h"
#include "ui.h"

static const struct {
	const char *word;
	int (*run)(const char *home, int argc, char **argv);
	const char *summary;
} commands[] = {
	{ "init", cmd_init, "crée le réplica local à partir du serveur" },
	{ "sync", cmd_sync, "envoie les modifications et reçoit celles du serveur" },
	{ "jeton", cmd_jeton, "remplace le jeton du réplica (modifications gardées)" },
	{ "status", cmd_status, "état du réplica (--json)" },
	{ "conflicts", cmd_conflicts, "liste ou tranche les conflits" },
	{ "refus", cmd_refus, "modifications refusées par le serveur, mises de côté" },
	{ "export", cmd_export, "tout le réplica en JSON (--json)" },
	{ "formulaire", cmd_formulaire, "formulaire vierge à envoyer (candidature, bilan)" },
	{ "courrier", cmd_courrier, "courriels reçus : en attente, rattacher, classer" },
	{ "suivi", cmd_suivi, "ce qui attend le coordinateur (--json)" },
	{ "relance", cmd_relance, "relances à envoyer (bilans manquants)" },
	{ "rgpd", cmd_rgpd, "effacement des données personnelles (RGPD)" },
	{ "personne", cmd_personne, "tout ce qui concerne un promeneur (droit d'accès)" },
	{ "import", cmd_annuaire_import, "importe un annuaire (CSV) : relais import annuaire FICHIER" },
	{ "synthese", cmd_synthese, "synthèse annuelle des bilans (HTML, XLSX)" },
	{ "ui", cmd_ui, "ouvre l'interface dans le navigateur (relais ui --help)" },
};

/* Tables with a command of their own (courrier) are not generic data. */
static int has_own_command(const char *word)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(commands[i].word, word))
			return 1;
	return 0;
}

static void help(FILE *f)
{
	fprintf(f, "Usage : relais [--home DIR] COMMANDE [OPTIONS]\n"
		"Client hors ligne du réseau des Promeneurs du Net : les modifications sont\n"
		"enregistrées sur ce poste et envoyées au serveur par « relais sync ».\n\n"
		"Options générales :\n"
		"  --home DIR     répertoire du réplica (sinon $RELAIS_HOME, sinon ~/.relais)\n"
		"  --help         cette aide ; « relais COMMANDE --help » pour une commande\n"
		"  --version      version du programme\n\n"
		"Commandes :\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-14s %s\n", commands[i].word, commands[i].summary);
	fprintf(f, "\nDonnées (add, set, rm, list, show) :\n");
	for (size_t i = 0; i < model_ntables; i++)
		if (model_tables[i].since <= MODEL_SCHEMA_VERSION &&
		    !has_own_command(model_tables[i].command))
			fprintf(f, "  %-14s %s\n", model_tables[i].command, model_tables[i].plural);
	fprintf(f, "\nExemple : relais promeneur add --help\n");
}

/* Takes "--home DIR" / "--home=DIR" out of argv wherever it stands, so that
 * it may follow the command word too. Returns the count left, or -1. */
static int take_home(int argc, char **argv, const char **home)
{
	int n = 0;
	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--home")) {
			if (i + 1 >= argc || !argv[i + 1][0]) {
				cli_error("l'option --home attend un répertoire.");
				return -1;
			}
			*home = argv[++i];
		} else if (!strncmp(argv[i], "--home=", 7)) {
			*home = argv[i] + 7;
		} else {
			argv[n++] = argv[i];
		}
	}
	argv[n] = NULL;
	return n;
}

static int run(int argc, char **argv)
{
	const char *home_opt = NULL;
	char err[CLI_ERRLEN] = "";
	char *home = NULL;
	int rc;

	argc = take_home(argc, argv, &home_opt);
	if (argc < 0)
		return CLI_EXIT_USAGE;
	if (argc == 0) {
		help(stderr);
		return CLI_EXIT_USAGE;
	}
	if (cli_is_help(argv[0])) {
		help(stdout);
		return 0;
	}
	if (!strcmp(argv[0], "--version")) {
		printf("relais %s (schéma %d)\n", RELAIS_VERSION, MODEL_SCHEMA_VERSION);
		return 0;
	}
	if (argv[0][0] == '-') {
		cli_error("option inconnue : « %s » (voir relais --help).", argv[0]);
		return CLI_EXIT_USAGE;
	}
	/* Blank forms come from the model alone: no replica, no network. */
	if (!strcmp(argv[0], "formulaire"))
		return cmd_formulaire(NULL, argc, argv);
	int (*cmd)(const char *, int, char **) = cmd_domain;
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[0], commands[i].word))
			cmd = commands[i].run;
	followup_cmd f = followup_lookup(argc, argv);
	if (f)
		cmd = f;
	annuaire_cmd a = annuaire_lookup(argc, argv);
	if (a)
		cmd = a;
	if (!(home = replica_home(home_opt, err, sizeof(err)))) {
		cli_error("%s", err[0] ? err : relais_strerror(RELAIS_ENOMEM));
		return CLI_EXIT_FAIL;
	}
	if (net_global_init()) {
		free(home);
		cli_error("initialisation de libcurl impossible.");
		return CLI_EXIT_FAIL;
	}
	rc = cmd(home, argc, argv);
	net_global_cleanup();
	free(home);
	return rc;
}

int main(int argc, char **argv)
{
	/* The replica holds the account's token and personal data: everything
	 * this program creates (directory, database, WAL, lock) is private. */
	umask(077);
	if (platform_init(&argc, &argv)) {
		cli_error("mémoire insuffisante.");
		return CLI_EXIT_FAIL;
	}
	int rc = run(argc - 1, argv + 1);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		cli_error("écriture de la sortie impossible.");
		if (!rc)
			rc = CLI_EXIT_FAIL;
	}
	return rc;
}
