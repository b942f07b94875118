/*
 * config.c - the INI configuration file of relaisd.
 *
 * Every problem stops relaisd at start, before it serves anything: a gateway
 * that half-reads its configuration would fail later, in a thread, where a
 * person is less likely to look.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <arpa/inet.h>
#include "../common/buf.h"
#include "../common/util.h"
#include "../mailgw/smtp.h"
#include "../model/model.h"
#include "config.h"

#define LINE_MAX_BYTES 4096

enum key_type {
	K_STR, K_PORT, K_INTERVAL, K_IMAP_TLS, K_SMTP_TLS, K_DAY, K_TIME, K_PERIOD
};

struct key {
	const char *name;
	enum key_type type;
	int required;
	size_t off;   /* offset of the field in struct config_mail */
};

#define F(field) offsetof(struct config_mail, field)

static const struct key mail_keys[] = {
	{ "departement", K_STR, 1, F(departement) },
	{ "adresse", K_STR, 1, F(adresse) },
	{ "nom", K_STR, 0, F(nom) },
	{ "imap_hote", K_STR, 1, F(imap_hote) },
	{ "imap_port", K_PORT, 0, F(imap_port) },
	{ "imap_tls", K_IMAP_TLS, 0, F(imap_tls) },
	{ "imap_ca", K_STR, 0, F(imap_ca) },
	{ "imap_utilisateur", K_STR, 1, F(imap_utilisateur) },
	{ "imap_mot_de_passe_fichier", K_STR, 1, F(imap_mot_de_passe_fichier) },
	{ "dossier_entree", K_STR, 0, F(dossier_entree) },
	{ "dossier_traites", K_STR, 0, F(dossier_traites) },
	{ "dossier_rejetes", K_STR, 0, F(dossier_rejetes) },
	{ "dossier_quarantaine", K_STR, 0, F(dossier_quarantaine) },
	{ "intervalle", K_INTERVAL, 0, F(intervalle) },
	{ "smtp_url", K_STR, 1, F(smtp.url) },
	{ "smtp_tls", K_SMTP_TLS, 0, F(smtp.starttls) },
	{ "smtp_ca", K_STR, 0, F(smtp.ca) },
	{ "smtp_utilisateur", K_STR, 0, F(smtp.utilisateur) },
	{ "smtp_mot_de_passe_fichier", K_STR, 0, F(smtp.mot_de_passe_fichier) },
};

#define NKEYS (sizeof(mail_keys) / sizeof(mail_keys[0]))

#define D(field) offsetof(struct config_digest, field)

/* periode has no field: hebdomadaire is the only period so far. */
static const struct key digest_keys[] = {
	{ "departement", K_STR, 1, D(departement) },
	{ "destinataires", K_STR, 1, D(destinataires) },
	{ "jour", K_DAY, 1, D(jour) },
	{ "heure", K_TIME, 1, D(heure) },
	{ "fuseau", K_STR, 0, D(fuseau) },
	{ "periode", K_PERIOD, 0, 0 },
	{ "adresse", K_STR, 1, D(adresse) },
	{ "nom", K_STR, 0, D(nom) },
	{ "smtp_url", K_STR, 1, D(smtp.url) },
	{ "smtp_tls", K_SMTP_TLS, 0, D(smtp.starttls) },
	{ "smtp_ca", K_STR, 0, D(smtp.ca) },
	{ "smtp_utilisateur", K_STR, 0, D(smtp.utilisateur) },
	{ "smtp_mot_de_passe_fichier", K_STR, 0, D(smtp.mot_de_passe_fichier) },
};

#define NDKEYS (sizeof(digest_keys) / sizeof(digest_keys[0]))

static const char *const day_names[] = {
	"dimanche", "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi",
};

struct parser {
	const char *name;
	struct config *c;
	char *err;
	size_t errlen;
	int seen[NKEYS];   /* line where each key was given, 0 when not */
	int dseen[NDKEYS]; /* the same for [digest] */
};

static int fail(struct parser *p, int line, const char *fmt, ...) RELAIS_PRINTF(3, 4);

static int fail(struct parser *p, int line, const char *fmt, ...)
{
	va_list ap;
	int n = line > 0 ? snprintf(p->err, p->errlen, "« %s », ligne %d : ", p->name, line)
			 : snprintf(p->err, p->errlen, "« %s » : ", p->name);
	if (n >= 0 && (size_t)n < p->errlen) {
		va_start(ap, fmt);
		vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return RELAIS_EINVAL;
}

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		s[--n] = 0;
	return s;
}

/* Cuts a comment: '#' or ';' at the start or after a space, so that a value
 * such as a folder "a#b" survives. */
static void cut_comment(char *s)
{
	for (char *q = s; *q; q++) {
		if ((*q == '#' || *q == ';') && (q == s || q[-1] == ' ' || q[-1] == '\t')) {
			*q = 0;
			return;
		}
	}
}

static int is_loopback_name(const char *h, size_t n)
{
	return (n == 9 && !strncmp(h, "localhost", 9)) || (n == 3 && !strncmp(h, "::1", 3)) ||
	       (n >= 4 && !strncmp(h, "127.", 4));
}

/* The host part of an smtp:// URL. */
static void url_host(const char *url, const char **h, size_t *n)
{
	const char *s = strstr(url, "://");
	s = s ? s + 3 : url;
	const char *at = strchr(s, '@'), *slash = strchr(s, '/');
	if (at && (!slash || at < slash))
		s = at + 1;
	if (*s == '[') {
		const char *e = strchr(s, ']');
		*h = s + 1;
		*n = e ? (size_t)(e - s - 1) : strlen(s + 1);
		return;
	}
	*h = s;
	*n = strcspn(s, ":/");
}

static int set_value(struct parser *p, int line, const struct key *key, char *base,
		     int *seen, const char *v)
{
	long long n;

	if (*seen)
		return fail(p, line, "la clé « %s » est déjà donnée ligne %d.", key->name, *seen);
	*seen = line;
	if (!*v)
		return fail(p, line, "la clé « %s » n'a pas de valeur.", key->name);
	switch (key->type) {
	case K_STR: {
		char **dst = (char **)(base + key->off);
		*dst = strdup(v);
		return *dst ? 0 : RELAIS_ENOMEM;
	}
	case K_PORT:
		if (util_parse_ll(v, 1, 65535, &n))
			return fail(p, line, "port « %s » invalide (de 1 à 65535).", v);
		*(int *)(base + key->off) = (int)n;
		return 0;
	case K_INTERVAL:
		if (util_parse_ll(v, 1, 86400, &n))
			return fail(p, line, "intervalle « %s » invalide (en secondes, de 1 à 86400).", v);
		*(int *)(base + key->off) = (int)n;
		return 0;
	case K_IMAP_TLS: {
		enum mailgw_tls *dst = (enum mailgw_tls *)(base + key->off);
		if (!strcmp(v, "aucun"))
			*dst = MAILGW_TLS_NONE;
		else if (!strcmp(v, "starttls"))
			*dst = MAILGW_TLS_STARTTLS;
		else if (!strcmp(v, "implicite"))
			*dst = MAILGW_TLS_IMPLICIT;
		else
			return fail(p, line, "valeur « %s » invalide pour imap_tls (aucun, starttls "
				    "ou implicite).", v);
		return 0;
	}
	case K_SMTP_TLS:
		if (!strcmp(v, "aucun"))
			*(int *)(base + key->off) = 0;
		else if (!strcmp(v, "starttls"))
			*(int *)(base + key->off) = 1;
		else
			return fail(p, line, "valeur « %s » invalide pour smtp_tls (aucun ou starttls).", v);
		return 0;
	case K_DAY:
		for (int d = 0; d < 7; d++)
			if (!strcmp(v, day_names[d])) {
				*(int *)(base + key->off) = d;
				return 0;
			}
		return fail(p, line, "jour « %s » invalide (lundi, mardi, ..., dimanche).", v);
	case K_TIME: {
		long long h, m;
		char hh[3], mm[3];
		if (strlen(v) != 5 || v[2] != ':')
			return fail(p, line, "heure « %s » invalide (attendu : HH:MM).", v);
		memcpy(hh, v, 2);
		hh[2] = 0;
		memcpy(mm, v + 3, 2);
		mm[2] = 0;
		if (util_parse_ll(hh, 0, 23, &h) || util_parse_ll(mm, 0, 59, &m))
			return fail(p, line, "heure « %s » invalide (attendu : HH:MM).", v);
		*(int *)(base + key->off) = (int)(h * 60 + m);
		return 0;
	}
	case K_PERIOD:
		if (!strcmp(v, "hebdomadaire"))
			return 0;
		return fail(p, line, "période « %s » non prise en charge (seule « hebdomadaire » "
			    "l'est).", v);
	}
	return RELAIS_EINVAL;
}

/* A password file must exist and be the owner's secret. */
static int check_secret(struct parser *p, int line, const char *path)
{
	struct stat st;
	if (stat(path, &st))
		return fail(p, line, "fichier de mot de passe « %s » illisible : %s.", path,
			    util_errno_fr(errno));
	if (!S_ISREG(st.st_mode))
		return fail(p, line, "« %s » n'est pas un fichier de mot de passe.", path);
	if (st.st_mode & 077)
		return fail(p, line, "le fichier de mot de passe « %s » est accessible à d'autres "
			    "utilisateurs (droits %03o) : protégez-le avec « chmod 600 %s ».", path,
			    (unsigned)(st.st_mode & 0777), path);
	if (access(path, R_OK))
		return fail(p, line, "fichier de mot de passe « %s » illisible : %s.", path,
			    util_errno_fr(errno));
	return 0;
}

/* The smtp_* keys of a section, whose lines are line[] in the order url,
 * tls, utilisateur, mot_de_passe_fichier. */
static int check_smtp(struct parser *p, const struct config_smtp *s, const int line[4])
{
	if (strncmp(s->url, "smtp://", 7) && strncmp(s->url, "smtps://", 8))
		return fail(p, line[0], "adresse SMTP « %s » invalide "
			    "(smtp://hote:port ou smtps://hote:port).", s->url);
	if (!strncmp(s->url, "smtp://", 7) && !s->starttls) {
		const char *h;
		size_t n;
		url_host(s->url, &h, &n);
		if (!is_loopback_name(h, n))
			return fail(p, line[1], "smtp_tls = aucun n'est permis que vers 127.0.0.1 : "
				    "le courrier passerait en clair.");
	}
	if (s->utilisateur && !s->mot_de_passe_fichier)
		return fail(p, line[2], "smtp_utilisateur demande aussi smtp_mot_de_passe_fichier.");
	return s->mot_de_passe_fichier ? check_secret(p, line[3], s->mot_de_passe_fichier) : 0;
}

/* Parses proxy_confiance: addresses separated by commas, each IPv4 or
 * IPv6, stored in canonical form so that they compare with the peer's. */
static int set_proxies(struct parser *p, int line, const char *v)
{
	struct config_security *sec = &p->c->security;
	char one[64];
	while (*v) {
		size_t n = strcspn(v, ",");
		const char *a = v;
		while (n && (*a == ' ' || *a == '\t'))
			a++, n--;
		size_t m = n;
		while (m && (a[m - 1] == ' ' || a[m - 1] == '\t'))
			m--;
		unsigned char bin[16];
		int ok = m && m < sizeof(one);
		if (ok) {
			memcpy(one, a, m);
			one[m] = 0;
		}
		int af = ok && inet_pton(AF_INET, one, bin) == 1 ? AF_INET
			 : ok && inet_pton(AF_INET6, one, bin) == 1 ? AF_INET6 : 0;
		if (!af)
			return fail(p, line, "adresse « %.*s » invalide pour proxy_confiance (adresses "
				    "IP séparées par des virgules, ex. 127.0.0.1).", (int)m, a);
		if (sec->nproxies == CONFIG_MAX_PROXIES)
			return fail(p, line, "au plus %d adresses dans proxy_confiance.",
				    CONFIG_MAX_PROXIES);
		if (!inet_ntop(af, bin, sec->proxies[sec->nproxies], CONFIG_ADDR_MAX))
			return RELAIS_EINVAL;
		sec->nproxies++;
		v = a + n;
		if (*v == ',')
			v++;
	}
	if (!sec->nproxies)
		return fail(p, line, "la clé « proxy_confiance » n'a pas de valeur.");
	return 0;
}

/* The numeric keys of [securite]: name, bounds, field. */
struct sec_number {
	const char *name;
	long long min, max;
	size_t off;          /* of the unsigned field in struct config_security */
	const char *unit;
};

static const struct sec_number sec_numbers[] = {
	{ "echecs_max", 1, 1000, offsetof(struct config_security, echecs_max), "" },
	{ "connexions_par_adresse", 1, 100000,
	  offsetof(struct config_security, connexions_par_adresse), "" },
	{ "delai_entete", 1, 3600, offsetof(struct config_security, delai_entete), "en secondes, " },
	{ "delai_corps", 1, 3600, offsetof(struct config_security, delai_corps), "en secondes, " },
};

#define NSECKEYS (1 + sizeof(sec_numbers) / sizeof(sec_numbers[0]))

/* A key of [securite]; seen holds the line of each key already given
 * (proxy_confiance first, then sec_numbers). */
static int set_security(struct parser *p, int line, const char *key, const char *v,
			int seen[NSECKEYS])
{
	long long n;
	size_t k = 0;
	if (strcmp(key, "proxy_confiance")) {
		for (k = 1; k < NSECKEYS && strcmp(key, sec_numbers[k - 1].name); k++)
			;
		if (k == NSECKEYS)
			return fail(p, line, "clé inconnue « %s » dans la section [securite].", key);
	}
	if (seen[k])
		return fail(p, line, "la clé « %s » est déjà donnée ligne %d.", key, seen[k]);
	seen[k] = line;
	if (!*v)
		return fail(p, line, "la clé « %s » n'a pas de valeur.", key);
	if (k == 0)
		return set_proxies(p, line, v);
	const struct sec_number *num = &sec_numbers[k - 1];
	if (util_parse_ll(v, num->min, num->max, &n))
		return fail(p, line, "%s « %s » invalide (%sde %lld à %lld).", key, v, num->unit,
			    num->min, num->max);
	*(unsigned *)((char *)&p->c->security + num->off) = (unsigned)n;
	return 0;
}

static size_t key_index(const char *name)
{
	for (size_t k = 0; k < NKEYS; k++)
		if (!strcmp(mail_keys[k].name, name))
			return k;
	return NKEYS;
}

static int set_default(char **field, const char *v)
{
	if (*field)
		return 0;
	*field = strdup(v);
	return *field ? 0 : RELAIS_ENOMEM;
}

/* The checks that need the whole section. */
static int check_mail(struct parser *p)
{
	struct config_mail *m = &p->c->mail;
	int rc;

	for (size_t k = 0; k < NKEYS; k++)
		if (mail_keys[k].required && !p->seen[k])
			return fail(p, m->line, "la clé obligatoire « %s » manque dans la section "
				    "[courrier].", mail_keys[k].name);
	if (!model_dept_valid(m->departement))
		return fail(p, p->seen[key_index("departement")], "département « %s » invalide "
			    "(01 à 95, 2A, 2B, 971 à 976).", m->departement);
	const char *at = strchr(m->adresse, '@');
	if (!at || at == m->adresse || !at[1] || strchr(at + 1, '@') || strpbrk(m->adresse, " <>\""))
		return fail(p, p->seen[key_index("adresse")], "adresse « %s » invalide (attendu : "
			    "nom@domaine).", m->adresse);
	if (m->imap_tls == MAILGW_TLS_NONE &&
	    !is_loopback_name(m->imap_hote, strlen(m->imap_hote)))
		return fail(p, p->seen[key_index("imap_tls")], "imap_tls = aucun n'est permis que "
			    "vers 127.0.0.1 : le mot de passe passerait en clair.");
	const int smtp_lines[] = {
		p->seen[key_index("smtp_url")], p->seen[key_index("smtp_tls")],
		p->seen[key_index("smtp_utilisateur")], p->seen[key_index("smtp_mot_de_passe_fichier")],
	};
	rc = check_smtp(p, &m->smtp, smtp_lines);
	if (!rc)
		rc = check_secret(p, p->seen[key_index("imap_mot_de_passe_fichier")],
				  m->imap_mot_de_passe_fichier);
	if (!rc)
		rc = set_default(&m->dossier_entree, "INBOX");
	if (!rc)
		rc = set_default(&m->dossier_traites, "Traites");
	if (!rc)
		rc = set_default(&m->dossier_rejetes, "Rejetes");
	if (!rc)
		rc = set_default(&m->dossier_quarantaine, "Quarantaine");
	return rc;
}

static size_t dkey_index(const char *name)
{
	for (size_t k = 0; k < NDKEYS; k++)
		if (!strcmp(digest_keys[k].name, name))
			return k;
	return NDKEYS;
}

static int valid_address(const char *a, size_t n)
{
	const char *at = memchr(a, '@', n);
	if (!at || at == a || at == a + n - 1 || memchr(at + 1, '@', (size_t)(a + n - at - 1)))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (strchr(" <>\"\t,;", a[i]))
			return 0;
	return 1;
}

/* The checks of [digest] that need the whole section. */
static int check_digest(struct parser *p)
{
	struct config_digest *d = &p->c->digest;
	char path[512];
	struct stat st;

	for (size_t k = 0; k < NDKEYS; k++)
		if (digest_keys[k].required && !p->dseen[k])
			return fail(p, d->line, "la clé obligatoire « %s » manque dans la section "
				    "[digest].", digest_keys[k].name);
	if (!model_dept_valid(d->departement))
		return fail(p, p->dseen[dkey_index("departement")], "département « %s » invalide "
			    "(01 à 95, 2A, 2B, 971 à 976).", d->departement);
	if (!valid_address(d->adresse, strlen(d->adresse)))
		return fail(p, p->dseen[dkey_index("adresse")], "adresse « %s » invalide (attendu : "
			    "nom@domaine).", d->adresse);
	size_t count = 0;
	for (const char *s = d->destinataires; *s;) {
		size_t n = strcspn(s, ",");
		const char *a = s;
		while (n && (*a == ' ' || *a == '\t'))
			a++, n--;
		while (n && (a[n - 1] == ' ' || a[n - 1] == '\t'))
			n--;
		if (!valid_address(a, n))
			return fail(p, p->dseen[dkey_index("destinataires")], "destinataire « %.*s » "
				    "invalide (attendu : adresses séparées par des virgules).", (int)n, a);
		count++;
		s = a + n;
		while (*s && *s != ',')
			s++;
		if (*s == ',')
			s++;
	}
	if (count == 0 || count > MAILGW_SMTP_MAX_RCPT)
		return fail(p, p->dseen[dkey_index("destinataires")], "de 1 à %d destinataires sont "
			    "attendus.", MAILGW_SMTP_MAX_RCPT);
	if (!d->fuseau && !(d->fuseau = strdup("Europe/Paris")))
		return RELAIS_ENOMEM;
	/* A zone name that the C library does not know silently means UTC:
	 * refuse it here instead. */
	int w = snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", d->fuseau);
	if (strstr(d->fuseau, "..") || d->fuseau[0] == '/' || w < 0 || (size_t)w >= sizeof(path) ||
	    stat(path, &st) || !S_ISREG(st.st_mode))
		return fail(p, p->dseen[dkey_index("fuseau")] ? p->dseen[dkey_index("fuseau")] : d->line,
			    "fuseau horaire « %s » inconnu (exemple : Europe/Paris).", d->fuseau);
	const int smtp_lines[] = {
		p->dseen[dkey_index("smtp_url")], p->dseen[dkey_index("smtp_tls")],
		p->dseen[dkey_index("smtp_utilisateur")],
		p->dseen[dkey_index("smtp_mot_de_passe_fichier")],
	};
	return check_smtp(p, &d->smtp, smtp_lines);
}

int config_parse(const char *text, size_t len, const char *name, struct config *c,
		 char *err, size_t errlen)
{
	struct parser p;
	char line[LINE_MAX_BYTES];
	size_t i = 0;
	int lineno = 0, in_mail = 0, in_digest = 0, in_sec = 0, rc = 0;
	int sseen[NSECKEYS] = { 0 };

	memset(c, 0, sizeof(*c));
	memset(&p, 0, sizeof(p));
	p.name = name;
	p.c = c;
	p.err = err;
	p.errlen = errlen;
	c->mail.imap_tls = MAILGW_TLS_STARTTLS;
	c->mail.smtp.starttls = 1;
	c->mail.intervalle = 60;
	c->digest.smtp.starttls = 1;
	if (errlen)
		err[0] = 0;

	while (i < len) {
		size_t eol = i;
		while (eol < len && text[eol] != '\n')
			eol++;
		lineno++;
		size_t ll = eol - i;
		if (ll >= sizeof(line))
			return fail(&p, lineno, "ligne trop longue.");
		memcpy(line, text + i, ll);
		line[ll] = 0;
		i = eol + 1;
		if (strlen(line) != ll)
			return fail(&p, lineno, "caractère nul inattendu.");
		cut_comment(line);
		char *s = trim(line);
		if (!*s)
			continue;
		if (*s == '[') {
			char *end = strchr(s, ']');
			if (!end || end[1])
				return fail(&p, lineno, "section mal écrite « %s » (attendu : [nom]).", s);
			*end = 0;
			char *sect = trim(s + 1);
			if (!strcmp(sect, "digest")) {
				if (c->digest.enabled)
					return fail(&p, lineno, "la section [digest] est déjà donnée "
						    "ligne %d.", c->digest.line);
				c->digest.enabled = 1;
				c->digest.line = lineno;
				in_digest = 1;
				in_mail = in_sec = 0;
				continue;
			}
			if (!strcmp(sect, "securite")) {
				if (c->security.enabled)
					return fail(&p, lineno, "la section [securite] est déjà donnée "
						    "ligne %d.", c->security.line);
				c->security.enabled = 1;
				c->security.line = lineno;
				in_sec = 1;
				in_mail = in_digest = 0;
				continue;
			}
			if (strcmp(sect, "courrier"))
				return fail(&p, lineno, "section inconnue « [%s] ».", sect);
			if (c->mail.enabled)
				return fail(&p, lineno, "la section [courrier] est déjà donnée ligne %d.",
					    c->mail.line);
			c->mail.enabled = 1;
			c->mail.line = lineno;
			in_mail = 1;
			in_digest = in_sec = 0;
			continue;
		}
		char *eq = strchr(s, '=');
		if (!eq)
			return fail(&p, lineno, "ligne incomprise « %s » (attendu : cle = valeur).", s);
		*eq = 0;
		char *key = trim(s), *val = trim(eq + 1);
		if (in_sec) {
			rc = set_security(&p, lineno, key, val, sseen);
			if (rc)
				return rc;
			continue;
		}
		if (in_digest) {
			size_t k = dkey_index(key);
			if (k == NDKEYS)
				return fail(&p, lineno, "clé inconnue « %s » dans la section [digest].",
					    key);
			rc = set_value(&p, lineno, &digest_keys[k], (char *)&c->digest, &p.dseen[k],
				       val);
			if (rc)
				return rc;
			continue;
		}
		if (!in_mail)
			return fail(&p, lineno, "la clé « %s » est hors de toute section.", key);
		size_t k = key_index(key);
		if (k == NKEYS)
			return fail(&p, lineno, "clé inconnue « %s » dans la section [courrier].", key);
		rc = set_value(&p, lineno, &mail_keys[k], (char *)&c->mail, &p.seen[k], val);
		if (rc)
			return rc;
	}
	if (c->mail.enabled)
		rc = check_mail(&p);
	if (!rc && c->digest.enabled)
		rc = check_digest(&p);
	return rc;
}

int config_load(const char *path, int must_exist, struct config *c, char *err, size_t errlen)
{
	struct buf b = BUF_INIT(CONFIG_MAX_FILE);
	char chunk[4096];
	int fd, rc = 0;
	ssize_t n;
	struct stat st;

	memset(c, 0, sizeof(*c));
	memset(&st, 0, sizeof(st));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT && !must_exist)
			return 0;
		snprintf(err, errlen, "Impossible de lire le fichier de configuration « %s » : %s.",
			 path, util_errno_fr(errno));
		return RELAIS_EIO;
	}
	/* Whoever may write it chooses the password files and the trusted
	 * proxy: as good as the secrets themselves. */
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || (st.st_mode & 022)) {
		snprintf(err, errlen, "Le fichier de configuration « %s » %s (droits %03o) : "
			 "protégez-le avec « chmod 600 %s ».", path,
			 S_ISREG(st.st_mode) ? "est modifiable par d'autres utilisateurs"
					     : "n'est pas un fichier ordinaire",
			 (unsigned)(st.st_mode & 0777), path);
		rc = RELAIS_EPERM;
		goto out;
	}
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			snprintf(err, errlen, "Impossible de lire le fichier de configuration « %s » : %s.",
				 path, util_errno_fr(errno));
			rc = RELAIS_EIO;
			goto out;
		}
		rc = buf_append(&b, chunk, (size_t)n);
		if (rc) {
			if (rc == RELAIS_ETOOBIG)
				snprintf(err, errlen, "Le fichier de configuration « %s » est trop grand "
					 "(plus de %u octets).", path, CONFIG_MAX_FILE);
			goto out;
		}
	}
	rc = config_parse(buf_str(&b), b.len, path, c, err, errlen);
out:
	close(fd);
	buf_release(&b);
	return rc;
}

void config_free(struct config *c)
{
	if (!c)
		return;
	struct config_mail *m = &c->mail;
	char **strs[] = {
		&m->departement, &m->adresse, &m->nom, &m->imap_hote, &m->imap_ca,
		&m->imap_utilisateur, &m->imap_mot_de_passe_fichier, &m->dossier_entree,
		&m->dossier_traites, &m->dossier_rejetes, &m->dossier_quarantaine, &m->smtp.url,
		&m->smtp.ca, &m->smtp.utilisateur, &m->smtp.mot_de_passe_fichier,
	};
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		free(*strs[i]);
	struct config_digest *d = &c->digest;
	char **dstrs[] = {
		&d->departement, &d->destinataires, &d->fuseau, &d->adresse, &d->nom, &d->smtp.url,
		&d->smtp.ca, &d->smtp.utilisateur, &d->smtp.mot_de_passe_fichier,
	};
	for (size_t i = 0; i < sizeof(dstrs) / sizeof(dstrs[0]); i++)
		free(*dstrs[i]);
	memset(c, 0, sizeof(*c));
}

void config_smtp_use(const struct config_smtp *s, struct mailgw_smtp_config *out)
{
	memset(out, 0, sizeof(*out));
	out->url = s->url;
	out->starttls = s->starttls;
	out->cafile = s->ca;
	out->user = s->utilisateur;
	out->password_file = s->mot_de_passe_fichier;
}
