/*
 * formulaire.c - `relais formulaire candidature|bilan`: prints a blank form,
 * the one structures fill in and send to the network's mailbox. Works
 * offline and needs no replica: the forms come from the model alone.
 */
#include <stdio.h>
#include <string.h>
#include "../common/buf.h"
#include "../model/form.h"
#include "cli.h"

/* A blank form is a few kilobytes; the cap only guards against a runaway. */
#define BLANK_MAX (256u * 1024)

static void usage(FILE *f)
{
	fprintf(f, "Usage : relais formulaire candidature|bilan\n"
		"Affiche le formulaire vierge à envoyer aux structures : elles le remplissent\n"
		"et le renvoient par courriel à l'adresse du réseau.\n\n"
		"  candidature    la candidature d'un·e professionnel·le au label\n"
		"  bilan          le bilan d'activité annuel ou semestriel\n\n"
		"Exemple : relais formulaire bilan > bilan.txt\n");
}

int cmd_formulaire(const char *home, int argc, char **argv)
{
	struct buf out = BUF_INIT(BLANK_MAX);
	enum form_kind kind;
	int rc;

	(void)home;
	for (int i = 1; i < argc; i++)
		if (cli_is_help(argv[i])) {
			usage(stdout);
			return CLI_EXIT_OK;
		}
	if (argc != 2) {
		usage(stderr);
		return CLI_EXIT_USAGE;
	}
	kind = form_kind_by_name(argv[1]);
	if (kind == FORM_UNKNOWN) {
		cli_error("formulaire inconnu : « %s » (candidature ou bilan).", argv[1]);
		return CLI_EXIT_USAGE;
	}
	rc = form_blank(kind, &out);
	if (rc) {
		buf_release(&out);
		cli_error("%s", relais_strerror(rc));
		return CLI_EXIT_FAIL;
	}
	fputs(buf_str(&out), stdout);
	buf_release(&out);
	return CLI_EXIT_OK;
}
