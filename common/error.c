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
	case RELAIS_EBUSY: return "ressource occupée par un autre processus";
	case RELAIS_ECONSTRAINT: return "contrainte du schéma non respectée";
	case RELAIS_ECLOCK: return "l'horloge de cet ordinateur retarde sur la dernière heure connue : "
				   "corrigez la date et l'heure de l'ordinateur, ou synchronisez";
	case RELAIS_EREFUSED: return "refusé définitivement par le serveur";
	case RELAIS_ELATER: return "refusé pour l'instant par le serveur";
	}
	return "erreur inconnue";
}

const char *relais_strerror(int code)
{
	return message((enum relais_error)code);
}

int relais_sqlite_error(int sqlite_rc)
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
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return RELAIS_ECORRUPT;
	case SQLITE_CANTOPEN:
	case SQLITE_IOERR:
	case SQLITE_FULL:
		return RELAIS_EIO;
	default:
		return RELAIS_EDB;
	}
}
