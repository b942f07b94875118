/*
 * document.c - relais document ouvrir: writes the bytes of a document (an
 * attachment of a message the gateway journaled, replica/document.c finds
 * them) to a file.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "../../common/buf.h"
#include "../../common/options.h"
#include "../../common/util.h"
#include "../replica/document.h"
#include "../replica/replica.h"
#include "cli.h"

/* Writes data to path, refusing to replace a file that exists. */
static int write_new_file(const char *path, const struct buf *data)
{
	char tmp[4096];
	int n = snprintf(tmp, sizeof(tmp), "%s.relais-tmp", path);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return RELAIS_EINVAL;
	if (access(path, F_OK) == 0)
		return RELAIS_EEXIST;
	FILE *f = fopen(tmp, "wb");
	if (!f)
		return RELAIS_EIO;
	int ok = fwrite(data->data ? (const void *)data->data : "", 1, data->len, f) == data->len;
	ok = fflush(f) == 0 && fsync(fileno(f)) == 0 && ok;
	ok = fclose(f) == 0 && ok;
	if (!ok || rename(tmp, path)) {
		unlink(tmp);
		return RELAIS_EIO;
	}
	return 0;
}

/* A document's name as a file name in the current directory: no path. */
static const char *plain_name(const char *name)
{
	const char *s = strrchr(name, '/');
	s = s ? s + 1 : name;
	return *s && strcmp(s, ".") && strcmp(s, "..") ? s : "document";
}

int cmd_document_ouvrir(const char *home, int argc, char **argv)
{
	const char *id = NULL, *out = NULL;
	struct replica r;
	struct buf data = BUF_INIT(DOCUMENT_MAX);
	char err[CLI_ERRLEN] = "", *name = NULL;
	int rc = CLI_EXIT_FAIL, found = 0, n = 0, e;
	const struct option opts[] = {
		OPT_STRING(0, "sortie", &out, "FICHIER", "fichier à écrire (défaut : le nom du document, "
			   "dans le répertoire courant ; un fichier existant n'est pas remplacé)"),
		OPT_END(),
	};
	struct options_cmd c = {
		&cli_prog, "document ouvrir", "ID [--sortie FICHIER]",
		"Écrit dans un fichier le contenu du document ID (une pièce jointe d'un courriel\n"
		"reçu : relais document liste). La première fois, il est téléchargé depuis le\n"
		"serveur, vérifié par son empreinte SHA-256 et gardé dans le réplica : il s'ouvre\n"
		"ensuite sans connexion.\n",
		opts,
		"Rattacher un document à une fiche :\n"
		"  relais document modifier ID --rattache-table structure --rattache-id ID_STRUCTURE\n",
		1, 1, "identifiant du document",
	};

	if ((e = options_parse_cmd(&c, argc - 2, argv + 2, &id, &n)))
		return e < 0 ? 0 : e;
	if (cli_open(&r, home))
		return CLI_EXIT_FAIL;
	if (document_bytes(&r, id, &data, &name, &found, err, sizeof(err))) {
		cli_error("%s", err);
		goto done;
	}
	if (!out)
		out = plain_name(name);
	e = write_new_file(out, &data);
	if (e == RELAIS_EEXIST) {
		cli_error("« %s » existe déjà : choisissez un autre fichier (--sortie FICHIER).", out);
		goto done;
	} else if (e) {
		cli_error("écriture de « %s » impossible : %s.", out, util_errno_fr(errno));
		goto done;
	}
	printf("Document « %s » écrit dans %s (%zu octet%s%s).\n", name, out, data.len,
	       util_pluriel((long long)data.len),
	       found ? ", copie du réplica" : "");
	rc = 0;
done:
	free(name);
	buf_release(&data);
	replica_close(&r);
	return rc;
}
