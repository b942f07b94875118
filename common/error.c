#include <sqlite3.h>
#include "relais.h"

/* A switch with no default: -Wall (-Wswitch) flags a new code without a message. */
static const char *message(enum relais_error code)
{
	switch (code) {
	case RELAIS_OK: return "succès";
	case RELAIS_ENOMEM: return "mémoire insuffisante";
	case RELAIS_EINVAL: return "donnée invalide";
	case RELAIS_EIO: return "erreur d'entrée-sortie";
	case RELAIS_EDB: return "erreur de la base de données";
	case RELAIS_ETOOBIG: return "donnée trop volumineuse";
	case RELAIS_ECORRUPT: return "donnée corrompue ou tronquée";
	case RELAIS_EVERSION: return "version du format non prise en charge";
	case RELAIS_ESCHEMA: return "version du schéma différente de celle du serveur";
	case RELAIS_ENOTFOUND: return "introuvable";
	case RELAIS_EEXIST: return "existe déjà";
	case RELAIS_EAUTH: return "authentification refusée";
	case RELAIS_EPERM: return "opération non autorisée";
	case RELAIS_ENET: return "serveur injoignable ou connexion interrompue";
	case RELAIS_EPROTO: return "réponse inattendue du serveur";
	case RELAIS_EBUSY: return "ressource occupée par un autre processus : réessayez dans un instant";
	case RELAIS_ECONSTRAINT: return "contrainte du schéma non respectée";
	case RELAIS_ECLOCK: return "l'horloge de cet ordinateur retarde sur la dernière heure connue : "
				   "corrigez la date et l'heure de l'ordinateur, ou synchronisez";
	case RELAIS_EREFUSED: return "refusé définitivement par le serveur";
	case RELAIS_ELATER: return "refusé pour l'instant par le serveur";
	case RELAIS_EFULL:
		return "disque plein : libérez de la place sur ce disque, puis recommencez";
	case RELAIS_EDISK:
		return "erreur du disque en lecture ou en écriture : vérifiez le disque et son "
		       "système de fichiers (journal du système, fsck), puis recommencez";
	case RELAIS_EDAMAGED:
		return "fichier de base de données endommagé (ne le supprimez pas : il peut "
		       "encore contenir des données à sauver)";
	case RELAIS_EACCESS:
		return "fichier en lecture seule ou impossible à ouvrir : vérifiez ses droits et "
		       "son propriétaire, et ceux de son dossier";
	}
	return "erreur inconnue";
}

const char *relais_strerror(int code)
{
	return message((enum relais_error)code);
}

/* See relais_storage_failure_take(). */
static _Thread_local int first_failure;

static int mapped(int sqlite_rc)
{
	switch (sqlite_rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW:
		return 0;
	case SQLITE_NOMEM:
		return RELAIS_ENOMEM;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return RELAIS_EBUSY;
	case SQLITE_CONSTRAINT:
		return RELAIS_ECONSTRAINT;
	case SQLITE_FULL:
		return RELAIS_EFULL;
	case SQLITE_IOERR:
		return sqlite_rc == SQLITE_IOERR_NOMEM ? RELAIS_ENOMEM : RELAIS_EDISK;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return RELAIS_EDAMAGED;
	case SQLITE_READONLY:
	case SQLITE_CANTOPEN:
	case SQLITE_PERM:
		return RELAIS_EACCESS;
	default:
		return RELAIS_EDB;
	}
}

int relais_sqlite_error(int sqlite_rc)
{
	int code = mapped(sqlite_rc);
	if (!first_failure && (relais_storage_error(code) || code == RELAIS_EBUSY))
		first_failure = code;
	return code;
}

int relais_storage_failure_take(void)
{
	int code = first_failure;
	first_failure = 0;
	return code;
}

int relais_storage_error(int code)
{
	return code == RELAIS_EFULL || code == RELAIS_EDISK || code == RELAIS_EDAMAGED ||
	       code == RELAIS_EACCESS;
}

const char *relais_sqlite_errmsg(sqlite3 *db)
{
	if (!db)
		return relais_strerror(RELAIS_ENOMEM);
	int code = relais_sqlite_error(sqlite3_extended_errcode(db));
	if (relais_storage_error(code) || code == RELAIS_EBUSY || code == RELAIS_ENOMEM)
		return relais_strerror(code);
	return sqlite3_errmsg(db);
}
