/*
 * test-config.c - daemon/config through `relaisd serve --config`: a good
 * file starts the gateway (and SIGTERM stops it promptly), every bad file
 * stops relaisd before it serves with a French message naming the line,
 * and password files that others can read are refused. (relais-tests does
 * not link daemon/, so the parser is tested through the program.)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "harness.h"
#include "test.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static int write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	int ok = fputs(text, f) >= 0;
	ok &= fclose(f) == 0;
	return ok && chmod(path, mode) == 0 ? 0 : -1;
}

/* A password file of mode 0600 in the test directory; harness-owned path. */
static const char *secret(const char *name)
{
	const char *p = h_path(name);
	return write_file(p, "secret\n", 0600) ? NULL : p;
}

/* The required keys, with the password file pass; extra lines appended. */
static const char *minimal(const char *pass, const char *extra)
{
	return h_strf("[courrier]\n"
		      "departement = 43\n"
		      "adresse = pdn43@exemple.fr\n"
		      "imap_hote = 127.0.0.1\n"
		      "imap_utilisateur = pdn43\n"
		      "imap_mot_de_passe_fichier = %s\n"
		      "smtp_url = smtp://127.0.0.1:25\n"
		      "%s",
		      pass, extra ? extra : "");
}

/* A store for relaisd (each test runs in a process of its own). */
static struct h_daemon the_daemon;

static struct h_daemon *daemon_dir(void)
{
	return h_daemon_init(&the_daemon, "srv") ? NULL : &the_daemon;
}

/* Runs `relaisd serve` with text as its --config file; the run must end. */
static struct h_out *serve_with(struct h_daemon *d, const char *text)
{
	const char *conf = h_path("relaisd.conf");
	if (write_file(conf, text, 0600))
		return NULL;
	char *const argv[] = {
		(char *)h_bin("relaisd"), (char *)"serve", (char *)"--data", d->data,
		(char *)"--listen", (char *)"127.0.0.1:0", (char *)"--config", (char *)conf, NULL,
	};
	return h_runv(argv, H_TIMEOUT_MS);
}

TEST(config_good_file_starts_and_stops_the_gateway)
{
	struct h_daemon *d;
	const char *pass, *spass;

	h_setup();
	CHECK((d = daemon_dir()) != NULL);
	CHECK((pass = secret("imap.pass")) != NULL);
	CHECK((spass = secret("smtp.pass")) != NULL);
	/* Port 1 of loopback: nothing listens, the connection is refused. */
	const char *text = h_strf(
		"# relaisd\n"
		"; another comment\n"
		"\n"
		"  [ courrier ]  \n"
		"departement = 2A                      # the département\n"
		"adresse=pdn2a@exemple.fr\n"
		"nom = Promeneurs du Net de Corse-du-Sud\n"
		"imap_hote = 127.0.0.1\n"
		"imap_port = 1\n"
		"imap_tls = aucun\n"
		"imap_utilisateur = pdn2a\n"
		"imap_mot_de_passe_fichier = %s\n"
		"dossier_entree = Boite#1\n"
		"dossier_traites = Faits\n"
		"intervalle = 120 ; two minutes\n"
		"smtp_url = smtp://127.0.0.1:1\n"
		"smtp_tls = aucun\n"
		"smtp_utilisateur = pdn2a\n"
		"smtp_mot_de_passe_fichier = %s\n",
		pass, spass);
	CHECK(write_file(h_path("good.conf"), text, 0600) == 0);
	snprintf(d->config, sizeof(d->config), "%s", h_path("good.conf"));
	CHECK(h_daemon_serve(d) == 0);
	CHECK(h_daemon_log_has(d, "Passerelle courrier démarrée (département 2A, 127.0.0.1)", 5000));
	CHECK(h_daemon_log_has(d, "connexion IMAP à 127.0.0.1 impossible", 10000));
	CHECK(h_daemon_log_has(d, "nouvel essai dans", 5000));
	/* SIGTERM while the gateway waits to retry: it stops at once. */
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK_INT(h_daemon_stop(d), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	CHECK((t1.tv_sec - t0.tv_sec) < 8);
	CHECK(h_daemon_log_has(d, "passerelle arrêtée", 0));
	/* The password never reaches the log. */
	CHECK(!strstr(h_read_file(d->log, NULL), "secret"));
}

TEST(config_without_gateway)
{
	struct h_daemon *d;

	h_setup();
	CHECK((d = daemon_dir()) != NULL);
	/* A file without [courrier] (and, below, no file at all) runs no gateway. */
	CHECK(write_file(h_path("empty.conf"), "# rien\n\n", 0600) == 0);
	snprintf(d->config, sizeof(d->config), "%s", h_path("empty.conf"));
	CHECK(h_daemon_serve(d) == 0);
	CHECK_INT(h_daemon_stop(d), 0);
	CHECK(!h_daemon_log_has(d, "courrier", 0));
	d->config[0] = 0;
	CHECK(h_daemon_serve(d) == 0);
	CHECK_INT(h_daemon_stop(d), 0);
	CHECK(!h_daemon_log_has(d, "courrier", 0));
}

TEST(config_bad_files_name_the_line)
{
	static const struct {
		const char *text;     /* MIN: the required lines first (%s: a 0600 password file) */
		const char *expect;   /* substrings of the message, separated by '|' */
	} cases[] = {
		{ "[courrier]\ncouleur = bleu\n", "ligne 2|clé inconnue « couleur »" },
		{ "[serveur]\n", "ligne 1|section inconnue « [serveur] »" },
		{ "departement = 43\n", "ligne 1|hors de toute section" },
		{ "[courrier]\ndepartement = 43\n", "ligne 1|obligatoire « adresse »" },
		{ "[courrier\n", "ligne 1|section mal écrite" },
		{ "[courrier]\nimap_hote\n", "ligne 2|ligne incomprise" },
		{ "[courrier]\nnom =\n", "ligne 2|n'a pas de valeur" },
		{ "[courrier]\nnom = a\nnom = b\n", "ligne 3|déjà donnée ligne 2" },
		{ "[courrier]\n[courrier]\n", "ligne 2|déjà donnée ligne 1" },
		{ "[courrier]\nimap_port = 70000\n", "ligne 2|port « 70000 » invalide" },
		{ "[courrier]\nimap_port = 1a\n", "ligne 2|port « 1a » invalide" },
		{ "[courrier]\nimap_tls = ssl\n", "ligne 2|imap_tls (aucun, starttls ou implicite)" },
		{ "[courrier]\nsmtp_tls = implicite\n", "ligne 2|smtp_tls" },
		{ "[courrier]\nintervalle = 0\n", "ligne 2|intervalle « 0 » invalide" },
		{ "MIN\ndepartement = 00\n", "ligne 8|département « 00 » invalide" },
		{ "MIN\nadresse = personne\n", "ligne 8|adresse « personne » invalide" },
		{ "MIN\nimap_tls = aucun\nimap_hote = mail.exemple.fr\n",
		  "ligne 8|imap_tls = aucun|clair" },
		{ "MIN\nsmtp_tls = aucun\nsmtp_url = smtp://mail.exemple.fr:25\n",
		  "ligne 8|smtp_tls = aucun" },
		{ "MIN\nsmtp_url = http://x\n", "ligne 8|adresse SMTP" },
		{ "MIN\nsmtp_utilisateur = u\n", "ligne 8|smtp_mot_de_passe_fichier" },
		{ "MIN\nsmtp_utilisateur = u\nsmtp_mot_de_passe_fichier = /nonexistent/p\n",
		  "ligne 9|/nonexistent/p|illisible" },
	};
	struct h_daemon *d;
	const char *pass;

	h_setup();
	CHECK((d = daemon_dir()) != NULL);
	CHECK((pass = secret("imap.pass")) != NULL);
	for (size_t i = 0; i < N(cases); i++) {
		const char *text = cases[i].text;
		/* MIN: the seven lines of a minimal section without the keys the
		 * case gives, padded so that the case's first line is line 8. */
		if (!strncmp(text, "MIN\n", 4)) {
			const char *extra = text + 4, *base = minimal(pass, NULL);
			char *merged = h_strf("%s", "");
			int lines = 0;
			for (const char *p = base; *p;) {
				size_t len = (size_t)(strchr(p, '\n') - p) + 1;
				const char *eq = memchr(p, '=', len);
				size_t klen = eq ? (size_t)(eq - p) : 0;
				int overridden = 0;
				for (const char *q = extra; klen && *q; q = strchr(q, '\n') + 1)
					if (!strncmp(q, p, klen))
						overridden = 1;
				if (!overridden) {
					merged = h_strf("%s%.*s", merged, (int)len, p);
					lines++;
				}
				p += len;
			}
			for (; lines < 7; lines++)
				merged = h_strf("%s# pad\n", merged);
			text = h_strf("%s%s", merged, extra);
		}
		struct h_out *o = serve_with(d, text);
		CHECK_IDX(o != NULL, i);
		if (o->status != 1)
			fprintf(stderr, "  case %zu: status %d, text:\n%s\n%s\n", i, o->status, text,
				o->err);
		CHECK_INT_IDX(o->status, 1, i);
		CHECK_IDX(strstr(o->err, h_strf("relaisd : « %s », ", h_path("relaisd.conf"))) != NULL,
			  i);
		char *want = h_strf("%s", cases[i].expect);
		for (char *w = want, *bar; w; w = bar ? bar + 1 : NULL) {
			bar = strchr(w, '|');
			if (bar)
				*bar = 0;
			if (!strstr(o->err, w))
				fprintf(stderr, "  case %zu: \"%s\" not in \"%s\"\n", i, w, o->err);
			CHECK_IDX(strstr(o->err, w) != NULL, i);
		}
		CHECK_IDX(!strstr(o->err, "à l'écoute"), i);
	}
}

TEST(config_password_file_readable_by_others_refused)
{
	static const mode_t modes[] = { 0644, 0640, 0604, 0660 };
	struct h_daemon *d;

	h_setup();
	CHECK((d = daemon_dir()) != NULL);
	const char *pass = h_path("imap.pass");
	for (size_t i = 0; i < N(modes); i++) {
		CHECK_IDX(write_file(pass, "secret\n", modes[i]) == 0, i);
		struct h_out *o = serve_with(d, minimal(pass, NULL));
		CHECK_IDX(o != NULL, i);
		CHECK_INT_IDX(o->status, 1, i);
		CHECK_IDX(strstr(o->err, "ligne 6") != NULL, i);
		CHECK_IDX(strstr(o->err, "accessible à d'autres utilisateurs") != NULL, i);
		CHECK_IDX(strstr(o->err, h_strf("chmod 600 %s", pass)) != NULL, i);
	}
}

TEST(config_default_file_and_missing_file)
{
	struct h_daemon *d;

	h_setup();
	CHECK((d = daemon_dir()) != NULL);
	/* DIR/relaisd.conf is read without --config. */
	CHECK(write_file(h_strf("%s/relaisd.conf", d->data), "[courrier]\nfoo = 1\n", 0600) == 0);
	char *const argv[] = {
		(char *)h_bin("relaisd"), (char *)"serve", (char *)"--data", d->data,
		(char *)"--listen", (char *)"127.0.0.1:0", NULL,
	};
	struct h_out *o = h_runv(argv, H_TIMEOUT_MS);
	CHECK_INT(o->status, 1);
	CHECK(strstr(o->err, "ligne 2") && strstr(o->err, "clé inconnue « foo »"));
	/* A --config that does not exist is an error, not "no gateway". */
	char *const argv2[] = {
		(char *)h_bin("relaisd"), (char *)"serve", (char *)"--data", d->data,
		(char *)"--listen", (char *)"127.0.0.1:0", (char *)"--config",
		(char *)h_path("nope.conf"), NULL,
	};
	o = h_runv(argv2, H_TIMEOUT_MS);
	CHECK_INT(o->status, 1);
	CHECK(strstr(o->err, "nope.conf") && strstr(o->err, "Impossible de lire"));
}
