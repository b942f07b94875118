/*
 * formulaire.c - `relais formulaire candidature|bilan`: prints a blank form,
 * the one structures fill in and send to the network's mailbox. Works
 * offline and needs no replica: the forms come from the model alone.
 */
#include <stdio.h>
#include <string.h>
#include "../../common/buf.h"
#include "../../model/form.h"
#include "cli.h"

/* A blank form is a few kilobytes; the cap only guards against a runaway. */
#define BLANK_MAX (256u * 1024)

int cmd_formulaire(const char *home, int argc, char **argv)
{
	const struct options_cmd c = {
		&cli_prog, "formulaire", "candidature|bilan",
		"Affiche le formulaire vierge à envoyer aux structures : elles le remplissent\n"
		"et le renvoient par courriel à l'adresse du réseau.\n", NULL,
		"Exemple : relais formulaire bilan > bilan.txt\n", 1, 1, "formulaire (candidature ou bilan)",
	};
	struct buf out = BUF_INIT(BLANK_MAX);
	const char *name = NULL;
	enum form_kind kind;
	int n = 0, rc;

	(void)home;
	if ((rc = options_parse_cmd(&c, argc - 1, argv + 1, &name, &n)))
		return rc < 0 ? CLI_EXIT_OK : rc;
	kind = form_kind_by_name(name);
	if (kind == FORM_UNKNOWN) {
		cli_error("formulaire inconnu : « %s » (candidature ou bilan).", name);
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
