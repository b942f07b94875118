/*
 * main.c - relais, the coordinator's offline client: global options and
 * dispatch to the commands.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "../../common/options.h"
#include "../../common/platform.h"
#include "../../model/model.h"
#include "../replica/net.h"
#include "../replica/replica.h"
#include "cli.h"
#include "workflow.h"

typedef int (*cli_run)(const char *home, int argc, char **argv);

/* Runs without a replica, without the network. */
#define NO_REPLICA 0x1u

/*
 * Every command and sub-command of relais: the help lists them, the
 * dispatch runs the longest match. Each run receives argv from the
 * command's first word. The generic commands of the model's tables
 * (add, set, rm, list, show) are listed apart, from the model.
 */
static const struct command {
	struct options_command doc;
	cli_run run;
	unsigned flags;
} commands[] = {
	{ { "init", "crée le réplica local à partir du serveur" }, cmd_init, 0 },
	{ { "sync", "envoie les modifications et reçoit celles du serveur" }, cmd_sync, 0 },
	{ { "jeton", "remplace le jeton du réplica (modifications gardées)" }, cmd_jeton, 0 },
	{ { "etat", "état du réplica (--json)" }, cmd_status, 0 },
	{ { "conflits", "liste les conflits" }, cmd_conflicts, 0 },
	{ { "conflits trancher", "tranche un conflit (--garder mien|leur)" }, cmd_conflicts, 0 },
	{ { "refus", "modifications refusées par le serveur, mises de côté" }, cmd_refus, 0 },
	{ { "refus liste", "les liste, avec la raison (--json)" }, cmd_refus, 0 },
	{ { "refus voir", "tables, lignes et valeurs d'une modification refusée" }, cmd_refus, 0 },
	{ { "refus abandonner", "oublie une modification refusée (ou --tous)" }, cmd_refus, 0 },
	{ { "export", "tout le réplica en JSON (--json)" }, cmd_export, 0 },
	{ { "export annuaire", "annuaire des promeneurs labellisés (CSV, XLSX)" },
	  cmd_annuaire_export, 0 },
	{ { "verifier", "contrôle le fichier du réplica (intégrité)" }, cmd_verifier, 0 },
	{ { "secours", "reconstruit un réplica endommagé en gardant les modifications" },
	  cmd_secours, 0 },
	{ { "import annuaire", "importe un annuaire (CSV) : relais import annuaire FICHIER" },
	  cmd_annuaire_import, 0 },
	{ { "formulaire", "formulaire vierge à envoyer (candidature, bilan)" }, cmd_formulaire,
	  NO_REPLICA },
	{ { "formulaire candidature", "la candidature d'un·e professionnel·le au label" },
	  cmd_formulaire, NO_REPLICA },
	{ { "formulaire bilan", "le bilan d'activité annuel ou semestriel" }, cmd_formulaire,
	  NO_REPLICA },
	{ { "courrier", "courriels reçus : en attente, rattacher, classer" }, cmd_courrier, 0 },
	{ { "courrier liste", "courriels en attente (--tous : aussi les traités)" }, cmd_courrier, 0 },
	{ { "courrier voir", "affiche un courriel reçu" }, cmd_courrier, 0 },
	{ { "courrier rattacher", "rattache un courriel à une fiche (--a TABLE:ID)" },
	  cmd_courrier, 0 },
	{ { "courrier classer", "classe un courriel sans suite" }, cmd_courrier, 0 },
	{ { "candidature decider", "enregistre la décision du comité sur une candidature" },
	  cmd_workflow, 0 },
	{ { "promeneur delabelliser", "retire le label d'un promeneur" },
	  cmd_workflow, 0 },
	{ { "promeneur signaler", "ouvre une procédure de délabellisation (problème constaté)" },
	  cmd_workflow, 0 },
	{ { "promeneur suspendre", "suspend un promeneur (motif, dates)" }, cmd_workflow, 0 },
	{ { "promeneur retablir", "met fin à une suspension" }, cmd_workflow, 0 },
	{ { "procedure caf", "note que le référent Caf est informé" }, cmd_workflow, 0 },
	{ { "procedure mesures", "ajoute les mesures d'accompagnement convenues" }, cmd_workflow, 0 },
	{ { "procedure suivre", "ajoute une note au suivi des mesures" }, cmd_workflow, 0 },
	{ { "procedure decider", "décision prise avec la Caf (maintien, suspension, délabellisation)" },
	  cmd_workflow, 0 },
	{ { "tache faite", "marque une tâche comme faite" }, cmd_workflow, 0 },
	{ { "changement publie", "confirme la publication dans l'annuaire national (compte Caf)" },
	  cmd_workflow, 0 },
	{ { "document ouvrir", "écrit un document (pièce jointe d'un courriel) dans un fichier" },
	  cmd_document_ouvrir, 0 },
	{ { "suivi", "ce qui attend le coordinateur (--json)" }, cmd_suivi, 0 },
	{ { "relance", "relances à envoyer (bilans manquants)" }, cmd_relance, 0 },
	{ { "relance bilans", "met en file les relances des bilans manquants d'une année" },
	  cmd_relance_bilans, 0 },
	{ { "relance liste", "liste les relances (en file ou envoyées)" }, cmd_relance, 0 },
	{ { "relance voir", "affiche une relance" }, cmd_relance, 0 },
	{ { "relance supprimer", "retire une relance de la file" }, cmd_relance, 0 },
	{ { "rgpd effacer", "efface les données personnelles des promeneurs délabellisés (RGPD)" },
	  cmd_rgpd_effacer, 0 },
	{ { "personne export", "tout ce qui concerne un promeneur, en JSON (droit d'accès)" },
	  cmd_personne_export, 0 },
	{ { "synthese", "synthèse annuelle des bilans (HTML, XLSX)" }, cmd_synthese, 0 },
	{ { "ui", "ouvre l'interface dans le navigateur" }, cmd_ui, 0 },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void list_commands(FILE *f, const char *cmd)
{
	options_list_commands(f, commands, NCOMMANDS, sizeof(commands[0]), cmd);
}

const struct options_prog cli_prog = { "relais", list_commands };

/* Tables with a command of their own (courrier) are not generic data. */
static int has_own_command(const char *word)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (!strcmp(commands[i].doc.name, word))
			return 1;
	return 0;
}

static void help(FILE *f)
{
	static const struct options_cmd main_cmd = {
		&cli_prog, NULL, "[--dossier DIR] COMMANDE [OPTIONS]",
		"Client hors ligne du réseau des Promeneurs du Net : les modifications sont\n"
		"enregistrées sur ce poste et envoyées au serveur par « relais sync ».\n\n"
		"Options générales :\n"
		"  --dossier DIR  répertoire du réplica (sinon $RELAIS_HOME, sinon ~/.relais) ;\n"
		"                 --home, son nom anglais, est aussi compris\n"
		"  --help         cette aide ; « relais COMMANDE --help » pour une commande\n"
		"  --version      version du programme\n", NULL, NULL, 0, 0, NULL,
	};
	options_help(f, &main_cmd);
	fprintf(f, "\nDonnées (ajouter, modifier, supprimer, liste, voir) :\n");
	for (size_t i = 0; i < model_ntables; i++)
		if (model_tables[i].since <= MODEL_SCHEMA_VERSION &&
		    !has_own_command(model_tables[i].command))
			options_print_command(f, model_tables[i].command, model_tables[i].plural, 14);
	fprintf(f, "\nExemple : relais promeneur ajouter --help\n");
}

/* Whether a is the option name (--dossier, or --home, the English word of
 * earlier releases) alone, or with "=VALUE" (*value set). */
static int home_option(const char *a, const char **value)
{
	static const char *const names[] = { "--dossier", "--home" };
	*value = NULL;
	for (size_t k = 0; k < 2; k++) {
		size_t n = strlen(names[k]);
		if (!strncmp(a, names[k], n) && (!a[n] || a[n] == '=')) {
			if (a[n] == '=')
				*value = a + n + 1;
			return 1;
		}
	}
	return 0;
}

/* Takes "--dossier DIR" / "--dossier=DIR" (or --home) out of argv wherever
 * it stands (before a "--"), so that it may follow the command word too:
 * the one option of the program rather than of a command, read before the
 * command is known. Returns the count left, or -1. */
static int take_home(int argc, char **argv, const char **home)
{
	int n = 0, i = 0;
	for (; i < argc && strcmp(argv[i], "--"); i++) {
		const char *value;
		if (home_option(argv[i], &value) && !value) {
			if (i + 1 >= argc || !argv[i + 1][0]) {
				cli_error("l'option --dossier attend un répertoire.");
				return -1;
			}
			*home = argv[++i];
		} else if (home_option(argv[i], &value)) {
			*home = value;
		} else {
			argv[n++] = argv[i];
		}
	}
	while (i < argc)
		argv[n++] = argv[i++];
	argv[n] = NULL;
	return n;
}

/* "relais import" alone: a word whose commands all have a second word. */
static int has_group(const char *word)
{
	char prefix[64];
	snprintf(prefix, sizeof(prefix), "%s ", word);
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (!strncmp(commands[i].doc.name, prefix, strlen(prefix)))
			return 1;
	return 0;
}

static int group_usage(int argc, char **argv)
{
	const struct options_cmd group = {
		&cli_prog, argv[0], "SOUS-COMMANDE [OPTIONS]", NULL, NULL, NULL, 0, 0, NULL,
	};
	return options_group(&group, argc - 1, argv + 1);
}

/*
 * The words of relais are French; the English ones of earlier releases are
 * still understood (scripts written then keep working), and read as their
 * French equivalents before anything else looks at the command line.
 */
static const struct options_alias english[] = {
	{ 0, NULL, "status", "etat" }, { 0, NULL, "conflicts", "conflits" },
	{ 1, NULL, "add", "ajouter" }, { 1, NULL, "set", "modifier" }, { 1, NULL, "rm", "supprimer" },
	{ 1, NULL, "list", "liste" }, { 1, NULL, "show", "voir" }, { 1, NULL, "resolve", "trancher" },
	{ -1, NULL, "--keep=mine", "--garder=mien" }, { -1, NULL, "--keep=theirs", "--garder=leur" },
	{ -1, NULL, "--keep", "--garder" }, { -1, "--garder", "mine", "mien" },
	{ -1, "--garder", "theirs", "leur" }, { -1, NULL, "--dry-run", "--simulation" },
	{ -1, NULL, "--all", "--toutes" }, { -1, NULL, "--server", "--serveur" },
	{ -1, NULL, "--token", "--jeton" }, { -1, NULL, "--token-file", "--fichier-jeton" },
	{ -1, NULL, "--partial", "--partiel" }, { -1, NULL, "--no-browser", "--sans-navigateur" },
};

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
	options_translate(argc, argv, english, sizeof(english) / sizeof(english[0]));
	int words = 1;
	const struct command *c =
		options_find_command(commands, NCOMMANDS, sizeof(commands[0]), argc, argv, &words);
	/* Blank forms come from the model alone: no replica, no network. */
	if (c && (c->flags & NO_REPLICA))
		return c->run(NULL, argc, argv);
	cli_run cmd = c ? c->run : cmd_domain;
	if (!c && !model_table_by_command(argv[0]) && has_group(argv[0]))
		return group_usage(argc, argv);
	if (!(home = replica_home(home_opt, err, sizeof(err)))) {
		cli_error("%s", err[0] ? err : relais_strerror(RELAIS_ENOMEM));
		return CLI_EXIT_FAIL;
	}
	if (net_global_init()) {
		free(home);
		cli_error("initialisation de libcurl impossible.");
		return CLI_EXIT_FAIL;
	}
	/* Who holds the replica, for a command left waiting for it. */
	char who[96];
	snprintf(who, sizeof(who), "« relais %s%s%s »", argv[0],
		 c && argc > 1 && words > 1 ? " " : "", c && argc > 1 && words > 1 ? argv[1] : "");
	replica_set_holder(who);
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
