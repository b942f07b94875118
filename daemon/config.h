/*
 * config.h - relaisd's configuration file (prefix config_), an INI file
 * with a [courrier] section (docs/mailgw.md), a [digest] section
 * (docs/digest.md) and a [securite] section (docs/threat-model.md,
 * docs/protocol.md); each is optional. The file holds no secret (passwords
 * live in files of their own, 0600) but says where they are: group and
 * others may not write it.
 *
 * Format: "[section]" lines, "cle = valeur" lines, comments from '#' or ';'
 * at the start of a line or after a space, spaces trimmed. An unknown
 * section or key, a key given twice, a missing required key or a bad value
 * is an error whose French message names the file and the line.
 */
#ifndef RELAIS_DAEMON_CONFIG_H
#define RELAIS_DAEMON_CONFIG_H

#include <stddef.h>
#include "../common/relais.h"
#include "../mailgw/imap.h"
#include "../mailgw/smtp.h"

/* The file read by "relaisd servir" without --config, in the data directory. */
#define CONFIG_DEFAULT_NAME "relaisd.conf"
/* Cap on the file: a configuration is a few hundred bytes. */
#define CONFIG_MAX_FILE (64u * 1024)

/* The smtp_* keys, the same in [courrier] and [digest]: how relaisd sends
 * mail. Strings are malloc'ed, NULL when not given. */
struct config_smtp {
	char *url;                   /* smtp_url */
	int starttls;                /* smtp_tls = starttls (the default) */
	char *ca;                    /* smtp_ca */
	char *utilisateur;           /* smtp_utilisateur */
	char *mot_de_passe_fichier;  /* smtp_mot_de_passe_fichier */
};

/* The [courrier] section; strings are malloc'ed, NULL when not given. */
struct config_mail {
	int enabled;                 /* the section is present */
	int line;                    /* its line, for messages */
	char *departement;
	char *adresse;
	char *nom;
	char *imap_hote;
	int imap_port;               /* 0: the default of imap_tls */
	enum mailgw_tls imap_tls;    /* default: starttls */
	char *imap_ca;
	char *imap_utilisateur;
	char *imap_mot_de_passe_fichier;
	char *dossier_entree;        /* defaults filled in: INBOX, Traites, ... */
	char *dossier_traites;
	char *dossier_rejetes;
	char *dossier_quarantaine;
	int intervalle;              /* seconds; default 60 */
	struct config_smtp smtp;
};

/* The [digest] section; strings are malloc'ed, NULL when not given. */
struct config_digest {
	int enabled;                 /* the section is present */
	int line;
	char *departement;
	char *destinataires;         /* comma-separated addresses, checked */
	int jour;                    /* 0 = dimanche ... 6 = samedi (struct tm) */
	int heure;                   /* minutes after local midnight */
	char *fuseau;                /* default Europe/Paris */
	char *adresse;
	char *nom;
	struct config_smtp smtp;
};

#define CONFIG_MAX_PROXIES 8
#define CONFIG_ADDR_MAX 46           /* INET6_ADDRSTRLEN, with the NUL */

/* The [securite] section. */
struct config_security {
	int enabled;
	int line;
	unsigned echecs_max;         /* failed authentications per minute and
					address before 429; 0: the default (10) */
	unsigned connexions_par_adresse; /* simultaneous connections of one
					address; 0: HTTP_MAX_CONNS_PER_ADDR */
	unsigned delai_entete;       /* seconds for a request head; 0: default */
	unsigned delai_corps;        /* seconds of grace for a body; 0: default */
	size_t nproxies;             /* proxy_confiance: peers whose X-Real-IP /
					X-Forwarded-For are believed */
	char proxies[CONFIG_MAX_PROXIES][CONFIG_ADDR_MAX]; /* canonical text */
};

struct config {
	struct config_mail mail;
	struct config_digest digest;
	struct config_security security;
};

/*
 * Parses the text of a configuration (len bytes; name is the file's name
 * for messages) into *c, which the caller frees with config_free() also
 * after a failure. Checks the password files: they must exist and not be
 * readable or writable by group or others. Returns 0, or RELAIS_EINVAL with
 * a French message in err naming the line, RELAIS_ENOMEM.
 */
int config_parse(const char *text, size_t len, const char *name, struct config *c,
		 char *err, size_t errlen) RELAIS_WUR;

/*
 * Reads and parses the file path. When must_exist is 0 a missing file is an
 * empty configuration (no gateway). Returns as config_parse(), plus
 * RELAIS_EIO (unreadable, or missing when must_exist), RELAIS_ETOOBIG
 * (over CONFIG_MAX_FILE) and RELAIS_EPERM (not a regular file, or group or
 * others may write it), with a French message in err.
 */
int config_load(const char *path, int must_exist, struct config *c, char *err,
		size_t errlen) RELAIS_WUR;

/* Frees the strings of c and zeroes it. Accepts NULL. */
void config_free(struct config *c);

/* The sender's settings of s (pointing into s, which must outlive them),
 * with the default time limit. */
void config_smtp_use(const struct config_smtp *s, struct mailgw_smtp_config *out);

#endif
