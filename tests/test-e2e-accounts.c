/*
 * test-e2e-accounts.c - the life of an account, through the real relaisd and
 * relais: listed without secrets, removed, given a new token, moved to
 * another département or role while relaisd serves; a replica takes a new
 * token and keeps its pending edits; tokens come from stdin, a file or the
 * environment, and a malformed one never reaches the server.
 */
#include <errno.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "../common/token.h"
#include "../common/util.h"
#include "../model/model.h"
#include "harness.h"
#include "test.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* ---- in-process ---- */

TEST(accounts_token_format)
{
	static const char hex64[] = "0123456789abcdef0123456789abcdef"
				    "0123456789abcdef0123456789abcdef";
	static const struct {
		const char *prefix, *body, *suffix;
		int ok;
		const char *want;   /* in the message when refused */
	} cases[] = {
		{ "rls_", hex64, "", 1, NULL },
		{ "RLS_", hex64, "", 0, "ne commence pas par « rls_ »" },
		{ "", hex64, "", 0, "ne commence pas par « rls_ »" },
		{ "rls_", hex64 + 1, "", 0, "67 caractères au lieu de 68" },
		{ "rls_", hex64, "0", 0, "69 caractères au lieu de 68" },
		{ "rls_", "", "", 0, "4 caractères au lieu de 68" },
		{ "rls_", hex64 + 1, "A", 0, "n° 68 n'est pas un chiffre hexadécimal" },
		{ "rls_", hex64 + 1, "g", 0, "n° 68" },
		{ "rls_", hex64 + 1, " ", 0, "n° 68" },
	};
	for (size_t i = 0; i < N(cases); i++) {
		char t[256], err[512] = "";
		snprintf(t, sizeof(t), "%s%s%s", cases[i].prefix, cases[i].body, cases[i].suffix);
		CHECK_INT_IDX(token_wellformed(t), cases[i].ok, i);
		CHECK_INT_IDX(token_check(t, err, sizeof(err)), cases[i].ok ? 0 : RELAIS_EINVAL, i);
		if (!cases[i].ok) {
			CHECK_IDX(strstr(err, cases[i].want) != NULL, i);
			CHECK_IDX(strstr(err, hex64 + 8) == NULL, i); /* never quotes the token */
		}
	}
}

/* ---- through relaisd and relais ---- */

/* Runs `relaisd args...` (NULL-terminated). */
static struct h_out *relaisd(const char *first, ...)
{
	char *argv[32];
	va_list ap;
	int n = 0;
	argv[n++] = (char *)h_bin("relaisd");
	argv[n++] = (char *)first;
	va_start(ap, first);
	for (char *a; (a = va_arg(ap, char *)) != NULL && n < 31;)
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;
	return h_runv(argv, H_TIMEOUT_MS);
}

/* The line of text that holds needle, or NULL. Harness-owned. */
static const char *line_with(const char *text, const char *needle)
{
	const char *p = strstr(text, needle);
	if (!p)
		return NULL;
	while (p > text && p[-1] != '\n')
		p--;
	return h_strf("%.*s", (int)strcspn(p, "\n"), p);
}

/* GET /v1/whoami with token: the status (0 when no answer). */
static int whoami(const struct h_daemon *d, const char *token, struct h_http *r)
{
	if (h_http(d->port, "GET", "/v1/whoami", token, NULL, NULL, 0, r))
		return 0;
	return r->status;
}

static long long status_int(const char *home, const char *key)
{
	json_t *s = h_status(home);
	return s ? json_integer_value(json_object_get(s, key)) : -1;
}

/* Writes text to <test dir>/name with mode; returns the path or NULL. */
static const char *token_file(const char *name, const char *text, mode_t mode)
{
	const char *p = h_path(name);
	FILE *f = fopen(p, "w");
	if (!f)
		return NULL;
	int ok = fputs(text, f) >= 0;
	ok &= fclose(f) == 0;
	return ok && chmod(p, mode) == 0 ? p : NULL;
}

/* Counts the occurrences of needle in the daemon's log. */
static int log_count(const struct h_daemon *d, const char *needle)
{
	const char *log = h_read_file(d->log, NULL);
	int n = 0;
	for (const char *p = log; p && (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

static const char *const depts[] = { "43", "65" };

TEST(e2e_accounts_list_rm_and_token)
{
	struct h_daemon d;
	struct h_http r;
	char marie[H_TOKEN], paul[H_TOKEN], zoe[H_TOKEN];
	h_setup();
	CHECK_INT(h_daemon_init(&d, "srv"), 0);
	CHECK_INT(h_daemon_user(&d, "marie", "43", "coordinateur", marie), 0);
	CHECK_INT(h_daemon_user(&d, "paul.durand@caf", "65", "caf", paul), 0);
	CHECK_INT(h_daemon_user(&d, "zoe", "2A", "admin", zoe), 0);
	CHECK_INT(h_daemon_serve(&d), 0);

	/* The list: every account, French headings, never a token or a hash. */
	struct h_out *o = relaisd("user", "list", "--data", d.data, (char *)NULL);
	CHECK_INT(o->status, 0);
	const char *head = line_with(o->out, "Identifiant");
	CHECK(head && strstr(head, "Département") && strstr(head, "Rôle") && strstr(head, "Créé le"));
	static const struct {
		const char *login, *dept, *role;
	} rows[] = {
		{ "marie", "43", "coordinateur" }, { "paul.durand@caf", "65", "caf" },
		{ "zoe", "2A", "admin" },
	};
	for (size_t i = 0; i < N(rows); i++) {
		const char *line = line_with(o->out, rows[i].login);
		CHECK_IDX(line != NULL, i);
		CHECK_IDX(strstr(line, h_strf("  %s  ", rows[i].dept)) != NULL, i);
		CHECK_IDX(strstr(line, rows[i].role) != NULL, i);
		CHECK_IDX(strstr(line, "T") && line[strlen(line) - 1] == 'Z', i);
	}
	int lines = 0;
	for (const char *p = o->out; (p = strchr(p, '\n')); p++)
		lines++;
	CHECK_INT(lines, 4);
	const char *secrets[] = { marie, paul, zoe };
	for (size_t i = 0; i < N(secrets); i++) {
		char hash[UTIL_SHA256_HEX + 1];
		util_sha256_hex(secrets[i], strlen(secrets[i]), hash);
		CHECK_IDX(strstr(o->out, secrets[i] + 4) == NULL, i);
		CHECK_IDX(strstr(o->out, hash) == NULL, i);
		CHECK_IDX(strstr(o->err, secrets[i] + 4) == NULL, i);
	}
	CHECK(strstr(o->out, "rls_") == NULL);

	/* Every sub-command has its --help; mistakes get French messages. */
	static const char *const subs[] = { "add", "list", "rm", "token", "set" };
	static const char *const french[] = { "ajouter", "liste", "supprimer", "jeton", "modifier" };
	for (size_t i = 0; i < N(subs); i++) {
		/* The words of earlier releases are read as the French ones. */
		o = relaisd("user", subs[i], "--help", (char *)NULL);
		CHECK_INT_IDX(o->status, 0, i);
		const char *usage = h_strf("Usage : relaisd compte %s", french[i]);
		CHECK_IDX(strncmp(o->out, usage, strlen(usage)) == 0, i);
		o = relaisd("compte", french[i], "--help", (char *)NULL);
		CHECK_IDX(o->status == 0 && !strncmp(o->out, usage, strlen(usage)), i);
	}
	o = relaisd("user", "--help", (char *)NULL);
	CHECK_INT(o->status, 0);
	CHECK(strstr(o->out, "jeton       remplace le jeton") != NULL);
	static const struct {
		const char *a[4];
		int status;
		const char *want;
	} bad[] = {
		{ { "rm", "nobody" }, 1, "Aucun compte « nobody »" },
		{ { "token", "nobody" }, 1, "Aucun compte « nobody »" },
		{ { "set", "nobody", "--role", "caf" }, 1, "Aucun compte « nobody »" },
		{ { "set", "marie", "--role", "chef" }, 1, "Rôle « chef » inconnu" },
		{ { "set", "marie", "--dept", "100" }, 1, "Département « 100 » inconnu" },
		{ { "set", "marie" }, 2, "indiquez --departement, --role" },
		{ { "rm" }, 2, "indiquez l'identifiant du compte" },
		{ { "rm", "marie", "--login", "zoe" }, 2, "deux identifiants" },
		{ { "frobnicate" }, 2, "sous-commande inconnue « frobnicate »" },
	};
	for (size_t i = 0; i < N(bad); i++) {
		o = relaisd("user", bad[i].a[0], "--data", d.data, bad[i].a[1], bad[i].a[2],
			    bad[i].a[3], (char *)NULL);
		CHECK_INT_IDX(o->status, bad[i].status, i);
		CHECK_IDX(strstr(o->err, bad[i].want) != NULL, i);
	}
	/* None of them changed anything. */
	CHECK_INT(whoami(&d, marie, &r), 200);
	json_t *j = h_json(r.body, r.bodylen);
	CHECK(j && !strcmp(json_string_value(json_object_get(j, "role")), "coordinateur"));

	/* A replica with an edit waiting. */
	const char *R = h_replica(&d, "r", marie);
	CHECK(R != NULL);
	CHECK(h_relais_ok(R, "structure", "add", "--nom", "MJC du Puy", "--commune", "Le Puy-en-Velay",
			  (char *)NULL) != NULL);

	/* user token: the new one alone on stdout; the old one is dead at once. */
	o = relaisd("user", "token", "marie", "--data", d.data, (char *)NULL);
	CHECK_INT(o->status, 0);
	CHECK(o->outlen == TOKEN_LEN + 1 && o->out[TOKEN_LEN] == '\n');
	const char *fresh = h_strf("%.*s", TOKEN_LEN, o->out);
	CHECK(token_wellformed(fresh));
	CHECK(strcmp(fresh, marie) != 0);
	CHECK(strstr(o->err, "relais jeton") != NULL);
	CHECK_INT(whoami(&d, marie, &r), 401);
	CHECK_INT(whoami(&d, fresh, &r), 200);
	j = h_json(r.body, r.bodylen);
	CHECK(j && !strcmp(json_string_value(json_object_get(j, "login")), "marie"));

	/* The replica's next sync is refused, and says exactly what to do. */
	o = h_relais(R, "sync", (char *)NULL);
	CHECK_INT(o->status, 1);
	CHECK(strstr(o->err, "a refusé le jeton (401)") != NULL);
	CHECK(strstr(o->err, "il lance « relaisd compte jeton marie »") != NULL);
	CHECK(strstr(o->err, h_strf("« relais --dossier %s jeton »", R)) != NULL);
	CHECK(strstr(o->err, "1 modification reste en attente sur ce poste.") != NULL);
	CHECK_INT(status_int(R, "pending"), 1);

	/* user rm on the running server: the next request is refused. */
	CHECK_INT(whoami(&d, paul, &r), 200);
	o = relaisd("user", "rm", "--data", d.data, "--login", "paul.durand@caf", (char *)NULL);
	CHECK_INT(o->status, 0);
	CHECK(strstr(o->out, "supprimé") != NULL);
	CHECK_INT(whoami(&d, paul, &r), 401);
	CHECK(h_http_error_json(&r, "auth") == 0);
	o = relaisd("user", "list", "--data", d.data, (char *)NULL);
	CHECK_INT(o->status, 0);
	CHECK(strstr(o->out, "paul") == NULL && strstr(o->out, "marie") != NULL);

	/* A removed account's replica gets the same guidance. */
	o = relaisd("user", "rm", "zoe", "--data", d.data, (char *)NULL);
	CHECK_INT(o->status, 0);
	CHECK_INT(whoami(&d, zoe, &r), 401);
	CHECK(h_daemon_healthy(&d));
	CHECK_INT(h_daemon_stop(&d), 0);
}

TEST(e2e_accounts_new_token_keeps_pending_edits)
{
	struct h_daemon d;
	char marie[H_TOKEN], autre[H_TOKEN];
	h_setup();
	CHECK_INT(h_daemon_init(&d, "srv"), 0);
	CHECK_INT(h_daemon_user(&d, "marie", "43", "coordinateur", marie), 0);
	CHECK_INT(h_daemon_user(&d, "autre", "43", "coordinateur", autre), 0);
	CHECK_INT(h_daemon_serve(&d), 0);

	/* init reads the token from standard input (a pipe here). */
	const char *R = h_path("r");
	struct h_out *o = h_relais_with(R, h_strf("%s\n", marie), NULL, "init", "--server", d.url,
					(char *)NULL);
	CHECK_INT(o->status, 0);
	CHECK(strstr(o->out, "compte marie") != NULL);

	/* Two edits made offline, not yet sent. */
	const char *s1 = h_relais_ok(R, "structure", "add", "--nom", "MJC du Puy", "--commune",
				     "Le Puy-en-Velay", (char *)NULL);
	const char *s2 = h_relais_ok(R, "structure", "add", "--nom", "Centre social d'Yssingeaux",
				     "--commune", "Yssingeaux", (char *)NULL);
	CHECK(s1 && s2);
	CHECK_INT(status_int(R, "pending"), 2);

	/* The administrator replaces the token: the replica is refused. */
	o = h_runv((char *const[]){ (char *)h_bin("relaisd"), (char *)"user", (char *)"token",
				    (char *)"marie", (char *)"--data", d.data, NULL }, H_TIMEOUT_MS);
	CHECK_INT(o->status, 0);
	const char *fresh = h_strf("%.*s", TOKEN_LEN, o->out);
	CHECK(token_wellformed(fresh));
	o = h_relais(R, "sync", (char *)NULL);
	CHECK_INT(o->status, 1);
	CHECK(strstr(o->err, "relais --dossier") && strstr(o->err, " jeton »"));
	CHECK_INT(status_int(R, "pending"), 2);

	/* A malformed token (from the environment) is refused locally. */
	const char *env_bad[] = { "RELAIS_TOKEN=rls_0123", NULL };
	o = h_relais_with(R, NULL, env_bad, "jeton", (char *)NULL);
	CHECK_INT(o->status, 1);
	CHECK(strstr(o->err, "jeton mal formé") != NULL);

	/* Another account's token (from a file) is refused: the replica's
	 * pending edits belong to marie. Nothing changes. */
	const char *f_autre = token_file("autre.jeton", h_strf("%s\n", autre), 0600);
	CHECK(f_autre != NULL);
	o = h_relais(R, "jeton", "--token-file", f_autre, (char *)NULL);
	CHECK_INT(o->status, 1);
	CHECK(strstr(o->err, "ce jeton est celui du compte « autre »") != NULL);
	CHECK(strstr(o->err, "n'a pas changé") != NULL);
	CHECK(strstr(o->err, autre + 4) == NULL);
	o = h_relais(R, "sync", (char *)NULL);
	CHECK_INT(o->status, 1);
	CHECK(strstr(o->err, "(401)") != NULL);

	/* A token file that others may read is refused. */
	const char *f_open = token_file("ouvert.jeton", fresh, 0644);
	CHECK(f_open != NULL);
	o = h_relais(R, "jeton", "--token-file", f_open, (char *)NULL);
	CHECK_INT(o->status, 1);
	CHECK(strstr(o->err, h_strf("chmod 600 %s", f_open)) != NULL);

	/* Both options at once: a usage error. */
	o = h_relais(R, "jeton", "--token", fresh, "--token-file", f_autre, (char *)NULL);
	CHECK_INT(o->status, 2);

	/* The new token from standard input, with stray white space. */
	o = h_relais_with(R, h_strf("  %s \r\n", fresh), NULL, "jeton", (char *)NULL);
	CHECK_INT(o->status, 0);
	CHECK(strstr(o->out, "Jeton remplacé pour le compte marie") != NULL);
	CHECK(strstr(o->out, "2 modifications en attente") != NULL);
	CHECK(strstr(o->out, fresh + 4) == NULL && strstr(o->err, fresh + 4) == NULL);
	CHECK_INT(status_int(R, "pending"), 2);

	/* The pending edits arrive with the next sync. */
	o = h_relais(R, "sync", (char *)NULL);
	CHECK_INT(o->status, 0);
	CHECK(strstr(o->out, "2 modifications envoyées") != NULL);
	CHECK_INT(status_int(R, "pending"), 0);

	/* Another replica, its token from the environment, sees them. */
	const char *R2 = h_path("r2");
	const char *env_ok[] = { h_strf("RELAIS_TOKEN=%s", fresh), NULL };
	o = h_relais_with(R2, NULL, env_ok, "init", "--server", d.url, (char *)NULL);
	CHECK_INT(o->status, 0);
	json_t *e2 = h_export(R2);
	CHECK(e2 != NULL);
	CHECK(h_export_row(e2, "structure", s1) != NULL);
	CHECK(h_export_row(e2, "structure", s2) != NULL);

	/* A third, its token from a private file. */
	const char *R3 = h_path("r3");
	const char *f_ok = token_file("marie.jeton", h_strf("%s\n", fresh), 0600);
	CHECK(f_ok != NULL);
	o = h_relais(R3, "init", "--server", d.url, "--token-file", f_ok, (char *)NULL);
	CHECK_INT(o->status, 0);
	CHECK_STR(h_export_text(R3), h_export_text(R2));

	/* Without any token, init says where it may come from. */
	o = h_relais(h_path("r4"), "init", "--server", d.url, (char *)NULL);
	CHECK_INT(o->status, 1);
	CHECK(strstr(o->err, "aucun jeton") && strstr(o->err, "RELAIS_TOKEN"));
	CHECK(access(h_path("r4"), F_OK) != 0);

	/* The help of both commands says so too, and warns about --token. */
	static const char *const cmds[] = { "init", "jeton" };
	for (size_t i = 0; i < N(cmds); i++) {
		o = h_relais(R, cmds[i], "--help", (char *)NULL);
		CHECK_INT_IDX(o->status, 0, i);
		CHECK_IDX(strstr(o->out, "--fichier-jeton FICHIER") != NULL, i);
		CHECK_IDX(strstr(o->out, "RELAIS_TOKEN") != NULL, i);
		CHECK_IDX(strstr(o->out, "entrée standard") != NULL, i);
		CHECK_IDX(strstr(o->out, "visible des autres utilisateurs") != NULL, i);
	}
	CHECK_INT(h_daemon_stop(&d), 0);
}

TEST(e2e_accounts_malformed_token_never_sent)
{
	struct h_daemon d;
	char marie[H_TOKEN];
	h_setup();
	CHECK_INT(h_daemon_init(&d, "srv"), 0);
	CHECK_INT(h_daemon_user(&d, "marie", "43", "coordinateur", marie), 0);
	/* Two failures would block this address: typos must not count. */
	const char *conf = token_file("relaisd.conf", "[securite]\nechecs_max = 2\n", 0600);
	CHECK(conf != NULL);
	snprintf(d.config, sizeof(d.config), "%s", conf);
	CHECK_INT(h_daemon_serve(&d), 0);

	/* marie's token, mistyped in every way. */
	const char *typos[] = {
		h_strf("%.67s", marie),                          /* a digit short */
		h_strf("%s0", marie),                            /* one too many */
		h_strf("RLS_%s", marie + 4),                     /* prefix */
		h_strf("%.67sG", marie),                         /* not hex */
		h_strf("%.10s%c%s", marie, marie[10] == 'a' ? 'A' : 'F', marie + 11), /* upper case */
		h_strf("%.30s %s", marie, marie + 30),           /* a space inside */
		marie + 4,                                       /* prefix forgotten */
	};
	for (size_t i = 0; i < N(typos); i++) {
		const char *home = h_path(h_strf("typo%zu", i));
		const char *env[] = { h_strf("RELAIS_TOKEN=%s", typos[i]), NULL };
		struct h_out *o = i % 3 == 0 ? h_relais(home, "init", "--server", d.url, "--token",
							 typos[i], (char *)NULL)
				: i % 3 == 1 ? h_relais_with(home, h_strf("%s\n", typos[i]), NULL, "init",
							     "--server", d.url, (char *)NULL)
				: h_relais_with(home, NULL, env, "init", "--server", d.url, (char *)NULL);
		CHECK_INT_IDX(o->status, 1, i);
		CHECK_IDX(strstr(o->err, "jeton mal formé") != NULL, i);
		CHECK_IDX(strstr(o->err, "Rien n'a été envoyé au serveur") != NULL, i);
		CHECK_IDX(strstr(o->err, marie + 8) == NULL, i);
		/* Refused before anything was created. */
		CHECK_IDX(access(home, F_OK) != 0, i);
	}
	/* On an initialised replica too. */
	const char *R = h_replica(&d, "r", marie);
	CHECK(R != NULL);
	struct h_out *o = h_relais_with(R, h_strf("%.60s\n", marie), NULL, "jeton", (char *)NULL);
	CHECK_INT(o->status, 1);
	CHECK(strstr(o->err, "jeton mal formé") != NULL);

	/* None reached the server: its log holds the one whoami of the good
	 * init and no refusal, and the address is not blocked. */
	o = h_relais(R, "sync", (char *)NULL);
	CHECK_INT(o->status, 0);
	CHECK(h_daemon_log_has(&d, "GET /v1/pull 200", 5000));
	CHECK_INT(log_count(&d, "GET /v1/whoami"), 1);
	CHECK_INT(log_count(&d, " 401 "), 0);
	CHECK_INT(log_count(&d, " 429 "), 0);
	CHECK(h_daemon_healthy(&d));
	CHECK_INT(h_daemon_stop(&d), 0);
}

TEST(e2e_accounts_departement_change_refuses_old_replica)
{
	struct h_daemon d;
	struct h_http r;
	char marie[H_TOKEN], paul[H_TOKEN];
	h_setup();
	CHECK_INT(h_daemon_init(&d, "srv"), 0);
	CHECK_INT(h_daemon_user(&d, "marie", "65", "coordinateur", marie), 0);
	CHECK_INT(h_daemon_user(&d, "paul", "43", "coordinateur", paul), 0);
	CHECK_INT(h_daemon_serve(&d), 0);

	const char *R65 = h_replica(&d, "r65", marie), *R43 = h_replica(&d, "r43", paul);
	CHECK(R65 && R43);
	const char *s65 = h_relais_ok(R65, "structure", "add", "--nom", "MJC de Tarbes", "--commune",
				      "Tarbes", (char *)NULL);
	const char *s43 = h_relais_ok(R43, "structure", "add", "--nom", "MJC du Puy", "--commune",
				      "Le Puy-en-Velay", (char *)NULL);
	CHECK(s65 && s43);
	CHECK_INT(h_sync(R65, &d), 0);
	CHECK_INT(h_sync(R43, &d), 0);
	const char *late = h_relais_ok(R65, "structure", "add", "--nom", "PIJ de Lourdes",
				       "--commune", "Lourdes", (char *)NULL);
	CHECK(late != NULL);
	const char *fp0 = h_store_fingerprint(&d, depts, 2);
	CHECK(fp0 != NULL);

	/* marie now coordinates the 43. */
	struct h_out *o = h_runv((char *const[]){ (char *)h_bin("relaisd"), (char *)"user",
						  (char *)"set", (char *)"marie", (char *)"--data",
						  d.data, (char *)"--dept", (char *)"43", NULL },
				 H_TIMEOUT_MS);
	CHECK_INT(o->status, 0);
	CHECK(strstr(o->out, "département 65 → 43") != NULL);
	CHECK(strstr(o->out, "réplicas du département 65 sont refusés") != NULL);

	/* Her 65 replica is refused, clearly, and its pending edit stays. */
	o = h_relais(R65, "sync", (char *)NULL);
	CHECK_INT(o->status, 1);
	CHECK(strstr(o->err, "désormais rattaché au département 43") != NULL);
	CHECK(strstr(o->err, "les données du département 65") != NULL);
	CHECK(strstr(o->err, "Initialisez un nouveau réplica") != NULL);
	CHECK(strstr(o->err, "Après un changement de département") != NULL);
	CHECK(strstr(o->err, "1 modification reste en attente sur ce poste.") != NULL);
	CHECK_STR(h_store_fingerprint(&d, depts, 2), fp0);
	CHECK_INT(status_int(R65, "pending"), 1);
	json_t *old = h_export(R65);
	CHECK(old && h_export_row(old, "structure", s65) && h_export_row(old, "structure", late));
	o = h_relais(R65, "sync", "--help", (char *)NULL);
	CHECK(strstr(o->out, "Après un changement de département") != NULL);

	/* The same through raw requests: 409 "departement" on every sync
	 * endpoint with the old header; a junk header is not echoed. */
	static const char *const paths[] = { "/v1/pull?since=0", "/v1/snapshot?since=0" };
	const char *hdr65 = h_strf("X-Relais-Schema: %d\r\nX-Relais-Departement: 65\r\n",
				   MODEL_SCHEMA_VERSION);
	for (size_t i = 0; i < N(paths); i++) {
		CHECK_INT_IDX(h_http(d.port, "GET", paths[i], marie, hdr65, NULL, 0, &r), 0, i);
		CHECK_INT_IDX(r.status, 409, i);
		CHECK_IDX(h_http_error_json(&r, "departement") == 0, i);
	}
	CHECK_INT(h_http(d.port, "POST", "/v1/push", marie, hdr65, "x", 1, &r), 0);
	CHECK_INT(r.status, 409);
	const char *junk = h_strf("X-Relais-Schema: %d\r\nX-Relais-Departement: <b>&\r\n",
				  MODEL_SCHEMA_VERSION);
	CHECK_INT(h_http(d.port, "GET", "/v1/pull?since=0", marie, junk, NULL, 0, &r), 0);
	CHECK_INT(r.status, 409);
	CHECK(strstr(r.body, "<b>") == NULL);
	/* With the right département, or none, the account reads the 43. */
	const char *hdr43 = h_strf("X-Relais-Schema: %d\r\nX-Relais-Departement: 43\r\n",
				   MODEL_SCHEMA_VERSION);
	CHECK_INT(h_http(d.port, "GET", "/v1/pull?since=0", marie, hdr43, NULL, 0, &r), 0);
	CHECK_INT(r.status, 200);

	/* relais jeton does not graft the account onto the old replica. */
	o = h_relais_with(R65, h_strf("%s\n", marie), NULL, "jeton", (char *)NULL);
	CHECK_INT(o->status, 1);
	CHECK(strstr(o->err, "désormais rattaché au département 43") != NULL);

	/* A new replica of marie holds the 43, not the 65. */
	const char *Rn = h_replica(&d, "rn", marie);
	CHECK(Rn != NULL);
	json_t *e = h_export(Rn);
	CHECK(e != NULL);
	CHECK(h_export_row(e, "structure", s43) != NULL);
	CHECK(h_export_row(e, "structure", s65) == NULL);
	CHECK(h_relais_ok(Rn, "structure", "add", "--nom", "Mission locale", "--commune", "Brioude",
			  (char *)NULL) != NULL);
	CHECK_INT(h_sync(Rn, &d), 0);
	CHECK_INT(h_sync(R43, &d), 0);
	CHECK_STR(h_export_text(R43), h_export_text(Rn));
	CHECK_INT(h_daemon_stop(&d), 0);
}

TEST(e2e_accounts_role_change_to_caf)
{
	struct h_daemon d;
	char marie[H_TOKEN];
	h_setup();
	CHECK_INT(h_daemon_init(&d, "srv"), 0);
	CHECK_INT(h_daemon_user(&d, "marie", "43", "coordinateur", marie), 0);
	CHECK_INT(h_daemon_serve(&d), 0);
	const char *R = h_replica(&d, "r", marie);
	CHECK(R != NULL);
	const char *s = h_relais_ok(R, "structure", "add", "--nom", "MJC du Puy", "--commune",
				    "Le Puy-en-Velay", (char *)NULL);
	CHECK(s != NULL);
	const char *fp0 = h_store_fingerprint(&d, depts, 1);
	CHECK(fp0 != NULL);

	char *const to_caf[] = { (char *)h_bin("relaisd"), (char *)"user", (char *)"set",
				 (char *)"marie", (char *)"--data", d.data, (char *)"--role",
				 (char *)"caf", NULL };
	struct h_out *o = h_runv(to_caf, H_TIMEOUT_MS);
	CHECK_INT(o->status, 0);
	CHECK(strstr(o->out, "rôle coordinateur → caf") != NULL);
	CHECK(strstr(o->out, "lecture seule") != NULL);

	/* Pushes are refused at once; the edit stays pending. */
	o = h_relais(R, "sync", (char *)NULL);
	CHECK_INT(o->status, 1);
	CHECK(strstr(o->err, "(403)") && strstr(o->err, "rôle ne permet pas"));
	CHECK(strstr(o->err, "1 modification reste en attente") != NULL);
	CHECK_STR(h_store_fingerprint(&d, depts, 1), fp0);

	/* relais jeton learns the role: the replica refuses edits itself. */
	o = h_relais_with(R, h_strf("%s\n", marie), NULL, "jeton", (char *)NULL);
	CHECK_INT(o->status, 0);
	CHECK(strstr(o->out, "rôle caf") && strstr(o->out, "lecture seule"));
	o = h_relais(R, "structure", "add", "--nom", "Autre", "--commune", "Brioude", (char *)NULL);
	CHECK_INT(o->status, 1);
	CHECK(strstr(o->err, "lecture seule") != NULL);

	/* Back to coordinateur: the kept edit goes through. */
	char *const back[] = { (char *)h_bin("relaisd"), (char *)"user", (char *)"set",
			       (char *)"--login", (char *)"marie", (char *)"--data", d.data,
			       (char *)"--role", (char *)"coordinateur", NULL };
	CHECK_INT(h_runv(back, H_TIMEOUT_MS)->status, 0);
	o = h_relais_with(R, h_strf("%s\n", marie), NULL, "jeton", (char *)NULL);
	CHECK_INT(o->status, 0);
	o = h_relais(R, "sync", (char *)NULL);
	CHECK_INT(o->status, 0);
	CHECK(strstr(o->out, "1 modification envoyée") != NULL);
	CHECK(strcmp(h_store_fingerprint(&d, depts, 1), fp0) != 0);
	CHECK_INT(h_daemon_stop(&d), 0);
}

/* ---- a terminal ---- */

static pid_t tty_child;

static void kill_tty_child(void *arg)
{
	(void)arg;
	if (tty_child > 0) {
		kill(tty_child, SIGKILL);
		waitpid(tty_child, NULL, 0);
	}
	tty_child = 0;
}

/* Reads from the pty master into b until needle shows (when not NULL) or
 * the child closes it, within timeout_ms. Returns 1 when it ended as asked. */
static int tty_read(int master, struct buf *b, const char *needle, int timeout_ms)
{
	for (int waited = 0; waited < timeout_ms; waited += 50) {
		if (needle && buf_str(b) && strstr(buf_str(b), needle))
			return 1;
		struct pollfd pf = { master, POLLIN, 0 };
		if (poll(&pf, 1, 50) <= 0)
			continue;
		char chunk[4096];
		ssize_t n = read(master, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return needle == NULL; /* EIO: the child's side is closed */
		if (buf_append(b, chunk, (size_t)n))
			return 0;
	}
	return 0;
}

TEST(e2e_accounts_token_typed_at_a_terminal)
{
	struct h_daemon d;
	struct buf b = BUF_INIT(1u << 20);
	char marie[H_TOKEN];
	int master = -1, st = 0;
	h_setup();
	test_defer(kill_tty_child, NULL);
	CHECK_INT(h_daemon_init(&d, "srv"), 0);
	CHECK_INT(h_daemon_user(&d, "marie", "43", "coordinateur", marie), 0);
	CHECK_INT(h_daemon_serve(&d), 0);
	const char *home = h_path("r"), *relais = h_bin("relais");
	const char *dir = h_path("");

	fflush(NULL);
	tty_child = forkpty(&master, NULL, NULL, NULL);
	CHECK(tty_child >= 0);
	if (tty_child == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		setenv("HOME", dir, 1);
		unsetenv("RELAIS_TOKEN");
		unsetenv("RELAIS_HOME");
		execl(relais, relais, "--home", home, "init", "--server", d.url, (char *)NULL);
		_exit(127);
	}
	/* The prompt first; the token is typed once echo is off. */
	int prompted = tty_read(master, &b, "la saisie ne s'affiche pas", H_TIMEOUT_MS);
	if (!prompted)
		fprintf(stderr, "  no prompt: %s\n", buf_str(&b) ? buf_str(&b) : "");
	CHECK(prompted);
	const char *typed = h_strf("%s\n", marie);
	CHECK(write(master, typed, strlen(typed)) == (ssize_t)strlen(typed));
	CHECK(tty_read(master, &b, NULL, H_TIMEOUT_MS));
	CHECK(waitpid(tty_child, &st, 0) == tty_child);
	tty_child = 0;
	close(master);
	const char *out = h_strf("%s", buf_str(&b) ? buf_str(&b) : "");
	buf_release(&b);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CHECK(strstr(out, "Réplica initialisé") != NULL);
	/* Never echoed. */
	CHECK(strstr(out, marie + 4) == NULL);
	CHECK(strstr(out, "rls_") == NULL);
	CHECK_INT(h_sync(home, &d), 0);
	CHECK_INT(h_daemon_stop(&d), 0);
}

TEST(e2e_accounts_token_argument_wiped)
{
	struct h_daemon d;
	struct h_proxy p;
	char marie[H_TOKEN];
	h_setup();
	CHECK_INT(h_daemon_init(&d, "srv"), 0);
	CHECK_INT(h_daemon_user(&d, "marie", "43", "coordinateur", marie), 0);
	CHECK_INT(h_daemon_serve(&d), 0);
	/* The server's answer is held, so relais waits with its arguments
	 * in place for us to read. */
	CHECK_INT(h_proxy_start(&p, d.port, "GET /v1/whoami", H_PROXY_STALL_REPLY, 0), 0);
	pid_t pid = h_relais_spawn(h_path("r"), "init", "--server", p.url, "--token", marie,
				   (char *)NULL);
	CHECK(pid > 0);
	long n = 0;
	CHECK_INT(h_proxy_event(&p, &n, H_TIMEOUT_MS), 0);
	size_t len = 0;
	const char *cmdline = h_read_file(h_strf("/proc/%ld/cmdline", (long)pid), &len);
	CHECK(cmdline != NULL && len > 0);
	CHECK(memmem(cmdline, len, "--token", 7) != NULL);      /* the process is there */
	CHECK(memmem(cmdline, len, marie + 4, 16) == NULL);     /* its token is not */
	h_kill(pid);
	h_proxy_stop(&p);
	CHECK_INT(h_daemon_stop(&d), 0);
}

TEST(e2e_accounts_restore_says_accounts_come_back)
{
	struct h_daemon d, r;
	struct h_http http;
	char marie[H_TOKEN];
	h_setup();
	CHECK_INT(h_daemon_init(&d, "srv"), 0);
	CHECK_INT(h_daemon_user(&d, "marie", "43", "coordinateur", marie), 0);
	const char *file = h_path("sauvegarde.db");
	CHECK_INT(relaisd("backup", "--data", d.data, "--to", file, (char *)NULL)->status, 0);
	CHECK_INT(relaisd("user", "token", "marie", "--data", d.data, (char *)NULL)->status, 0);

	/* The backup holds the old token: the restore says so. */
	memset(&r, 0, sizeof(r));
	snprintf(r.data, sizeof(r.data), "%s", h_path("restored"));
	snprintf(r.portfile, sizeof(r.portfile), "%s", h_path("restored.port"));
	snprintf(r.log, sizeof(r.log), "%s", h_path("restored.log"));
	struct h_out *o = relaisd("restore", "--from", file, "--data", r.data, (char *)NULL);
	CHECK_INT(o->status, 0);
	CHECK(strstr(o->out, "Les comptes sont ceux de la sauvegarde") != NULL);
	CHECK(strstr(o->out, "relaisd compte jeton") != NULL);
	CHECK_INT(h_daemon_serve(&r), 0);
	CHECK_INT(whoami(&r, marie, &http), 200);
	/* Doing it again kills it. */
	CHECK_INT(relaisd("user", "token", "marie", "--data", r.data, (char *)NULL)->status, 0);
	CHECK_INT(whoami(&r, marie, &http), 401);
	CHECK_INT(h_daemon_stop(&r), 0);
}
