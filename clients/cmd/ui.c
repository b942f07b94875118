/*
 * ui.c - "relais ui [--port N] [--sans-navigateur]": the options of the local web
 * interface, served by clients/ui/ (ui_serve).
 */
#include <stdio.h>
#include "../../common/options.h"
#include "../ui/ui.h"
#include "cli.h"

#define UI_STR_(x) #x
#define UI_STR(x) UI_STR_(x)

static int parse_ui_opts(int argc, char **argv, int *port, int *browser)
{
	long long want = -1;
	int no_browser = 0;
	const struct option opts[] = {
		OPT_INTEGER(0, "port", &want, "N",
			    "port local (par défaut " UI_STR(UI_DEFAULT_PORT) ", ou un port libre "
			    "s'il est pris ;\n0 : n'importe quel port libre)", 0, 65535),
		OPT_FLAG(0, "sans-navigateur", &no_browser, "n'ouvre pas le navigateur"),
		OPT_END(),
	};
	const struct options_cmd c = {
		&cli_prog, "ui", "[--port N] [--sans-navigateur]",
		"Ouvre l'interface de Relais dans le navigateur : annuaire, fiches, événements,\n"
		"courrier, conflits, synthèse et synchronisation, sur ce poste, même hors ligne.\n"
		"L'adresse affichée contient une clé propre à cette session : ne la partagez pas.\n"
		"Ctrl+C arrête l'interface. Tant qu'elle tourne, les autres commandes attendent.\n",
		opts, NULL, 0, 0, NULL,
	};
	int rc = options_parse_cmd(&c, argc - 1, argv + 1, NULL, NULL);
	*port = (int)want;
	*browser = !no_browser;
	return rc;
}

int cmd_ui(const char *home, int argc, char **argv)
{
	char err[CLI_ERRLEN] = "";
	int port, browser, rc = parse_ui_opts(argc, argv, &port, &browser);

	if (rc)
		return rc < 0 ? 0 : rc;
	rc = ui_serve(home, port, browser, err, sizeof(err));
	if (err[0])
		cli_error("%s", err);
	return rc ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}
