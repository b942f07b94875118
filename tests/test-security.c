/*
 * test-security.c - the hardening of relaisd and relais (docs/threat-model.md):
 * the failed-authentication limit (in-process and through a real relaisd,
 * also behind a trusted proxy), the client address behind a proxy, the
 * constant-time helper, the permission checks on secret files, data and
 * home directories, and no secret in any log.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "../common/util.h"
#include "../daemon/api.h"
#include "../daemon/config.h"
#include "../daemon/limit.h"
#include "../model/model.h"
#include "harness.h"
#include "mailserver.h"
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

/* ---- in-process ---- */

TEST(security_limit_blocks_and_forgets)
{
	static struct limit l;
	limit_init(&l, 3);
	int64_t t = 1000000;
	CHECK_INT(limit_check(&l, "10.0.0.1", t), 0);
	CHECK_INT(limit_fail(&l, "10.0.0.1", t), 0);
	CHECK_INT(limit_fail(&l, "10.0.0.1", t + 10), 0);
	CHECK_INT(limit_check(&l, "10.0.0.1", t + 20), 0);
	CHECK_INT(limit_fail(&l, "10.0.0.1", t + 20), 1);
	unsigned wait = limit_check(&l, "10.0.0.1", t + 30);
	CHECK(wait >= 59 && wait <= 60);
	/* Another address is not touched. */
	CHECK_INT(limit_check(&l, "10.0.0.2", t + 30), 0);
	/* More failures while blocked do not extend the block. */
	CHECK_INT(limit_fail(&l, "10.0.0.1", t + 40000), 0);
	CHECK_INT(limit_check(&l, "10.0.0.1", t + 20 + LIMIT_BLOCK_MS - 500), 1);
	CHECK_INT(limit_check(&l, "10.0.0.1", t + 20 + LIMIT_BLOCK_MS), 0);

	/* Failures spread beyond the window never block. */
	limit_init(&l, 3);
	for (int i = 0; i < 10; i++) {
		CHECK_INT_IDX(limit_fail(&l, "10.0.0.3", t + (int64_t)i * (LIMIT_WINDOW_MS / 2 + 1)),
			      0, i);
		if (i % 2)
			CHECK_INT_IDX(limit_check(&l, "10.0.0.3", t + (int64_t)i * 40000), 0, i);
	}
	CHECK_INT(LIMIT_DEFAULT_FAILURES, 20);
	limit_init(&l, 0);
	CHECK_INT(l.max_failures, LIMIT_DEFAULT_FAILURES);
}

TEST(security_limit_table_is_bounded)
{
	static struct limit l;
	char addr[64];
	limit_init(&l, 2);
	int64_t t = 5000000;
	/* A blocked attacker first, then a flood of new addresses. */
	CHECK_INT(limit_fail(&l, "192.0.2.66", t), 0);
	CHECK_INT(limit_fail(&l, "192.0.2.66", t), 1);
	for (int i = 0; i < 3 * LIMIT_SLOTS; i++) {
		snprintf(addr, sizeof(addr), "10.%d.%d.%d", i >> 16, (i >> 8) & 255, i & 255);
		CHECK_INT_IDX(limit_fail(&l, addr, t + 1 + i), 0, i);
	}
	CHECK_INT(l.used, LIMIT_SLOTS);
	/* The flood evicted old unblocked entries, never the blocked one. */
	CHECK(limit_check(&l, "192.0.2.66", t + 10000) > 0);
	/* The latest addresses are still counted: a second failure blocks. */
	CHECK_INT(limit_fail(&l, addr, t + 20000), 1);
	/* A string longer than an address is cut, and still found again. */
	char longa[200];
	memset(longa, 'a', sizeof(longa) - 1);
	longa[sizeof(longa) - 1] = 0;
	limit_init(&l, 2);
	CHECK_INT(limit_fail(&l, longa, t), 0);
	CHECK_INT(limit_fail(&l, longa, t), 1);
	CHECK(limit_check(&l, longa, t) > 0);
	CHECK_INT(l.used, 1);
}

TEST(security_client_address_behind_proxy)
{
	struct config_security none, proxy;
	memset(&none, 0, sizeof(none));
	memset(&proxy, 0, sizeof(proxy));
	proxy.nproxies = 2;
	snprintf(proxy.proxies[0], sizeof(proxy.proxies[0]), "127.0.0.1");
	snprintf(proxy.proxies[1], sizeof(proxy.proxies[1]), "::1");
	static const struct {
		int trusted;
		const char *peer, *real_ip, *xff, *want;
	} cases[] = {
		/* Nobody trusted: headers are ignored, whatever they say. */
		{ 0, "127.0.0.1", "203.0.113.9", "203.0.113.9", "127.0.0.1" },
		{ 0, "198.51.100.7", NULL, "203.0.113.9", "198.51.100.7" },
		/* A trusted proxy: X-Real-IP first, else the last X-Forwarded-For. */
		{ 1, "127.0.0.1", "203.0.113.9", "198.51.100.1", "203.0.113.9" },
		{ 1, "127.0.0.1", NULL, "6.6.6.6, 203.0.113.10", "203.0.113.10" },
		{ 1, "127.0.0.1", NULL, "203.0.113.11", "203.0.113.11" },
		{ 1, "::1", " 2001:DB8::1 ", NULL, "2001:db8::1" },
		/* Garbage from the proxy: the proxy's own address. */
		{ 1, "127.0.0.1", "not-an-ip", "also; bad", "127.0.0.1" },
		{ 1, "127.0.0.1", "", NULL, "127.0.0.1" },
		/* A peer that is not the proxy cannot claim another address. */
		{ 1, "198.51.100.7", "203.0.113.9", NULL, "198.51.100.7" },
		{ 1, "", "203.0.113.9", NULL, "" },
	};
	for (size_t i = 0; i < N(cases); i++) {
		char out[CONFIG_ADDR_MAX];
		api_client_addr(cases[i].trusted ? &proxy : &none, cases[i].peer, cases[i].real_ip,
				cases[i].xff, out);
		CHECK_STR_IDX(out, cases[i].want, i);
	}
}

TEST(security_ct_equal_and_secret_modes)
{
	static const struct {
		const char *a, *b;
		size_t n;
		int eq;
	} cases[] = {
		{ "abcdef", "abcdef", 6, 1 }, { "abcdef", "abcdeF", 6, 0 }, { "xbcdef", "abcdef", 6, 0 },
		{ "", "", 0, 1 }, { "ab", "ax", 1, 1 },
	};
	for (size_t i = 0; i < N(cases); i++)
		CHECK_INT_IDX(util_ct_equal(cases[i].a, cases[i].b, cases[i].n), cases[i].eq, i);

	h_setup();
	static const struct {
		mode_t mode;
		int rc;
	} modes[] = { { 0600, 0 }, { 0400, 0 }, { 0640, RELAIS_EPERM }, { 0604, RELAIS_EPERM },
		      { 0660, RELAIS_EPERM }, { 0644, RELAIS_EPERM } };
	for (size_t i = 0; i < N(modes); i++) {
		const char *p = h_path(h_strf("pass%zu", i));
		char out[64], err[512] = "";
		CHECK_IDX(write_file(p, "s3cret-pw\n", modes[i].mode) == 0, i);
		CHECK_INT_IDX(util_read_secret(p, out, sizeof(out), err, sizeof(err)), modes[i].rc, i);
		if (modes[i].rc) {
			CHECK_IDX(strstr(err, "chmod 600") != NULL, i);
			CHECK_IDX(strstr(err, "s3cret") == NULL, i);
			CHECK_IDX(out[0] == 0, i);
		} else {
			CHECK_STR_IDX(out, "s3cret-pw", i);
		}
	}
}

TEST(security_config_section)
{
	struct config c;
	char err[1024];
	static const struct {
		const char *text, *want; /* want: NULL when accepted, else in the message */
	} cases[] = {
		{ "[securite]\nproxy_confiance = 127.0.0.1\n", NULL },
		{ "[securite]\nproxy_confiance = 127.0.0.1, ::1\nechecs_max = 5\n", NULL },
		{ "[securite]\nechecs_max = 0\n", "ligne 2|echecs_max" },
		{ "[securite]\nconnexions_par_adresse = 0\n", "ligne 2|connexions_par_adresse « 0 » "
		  "invalide (de 1 à 100000)" },
		{ "[securite]\ndelai_entete = 3601\n", "ligne 2|en secondes, de 1 à 3600" },
		{ "[securite]\ndelai_corps = 2s\n", "ligne 2|delai_corps « 2s » invalide" },
		{ "[securite]\ndelai_corps = 5\ndelai_corps = 6\n", "ligne 3|déjà donnée ligne 2" },
		{ "[securite]\nechecs_max = 5\nechecs_max = 6\n", "ligne 3|déjà donnée" },
		{ "[securite]\nproxy_confiance = nginx.local\n", "ligne 2|proxy_confiance" },
		{ "[securite]\nproxy_confiance = 127.0.0.1,\n", NULL },
		{ "[securite]\nproxy_confiance = ,\n", "ligne 2|invalide pour proxy_confiance" },
		{ "[securite]\nmot_de_passe = x\n", "ligne 2|clé inconnue « mot_de_passe »" },
		{ "[securite]\n[securite]\n", "ligne 2|déjà donnée ligne 1" },
		{ "[securite]\nproxy_confiance = 1.1.1.1,2.2.2.2,3.3.3.3,4.4.4.4,5.5.5.5,"
		  "6.6.6.6,7.7.7.7,8.8.8.8,9.9.9.9\n", "ligne 2|au plus 8" },
	};
	for (size_t i = 0; i < N(cases); i++) {
		int rc = config_parse(cases[i].text, strlen(cases[i].text), "t.conf", &c, err,
				      sizeof(err));
		if (!cases[i].want) {
			CHECK_INT_IDX(rc, 0, i);
			CHECK_IDX(c.security.enabled, i);
		} else {
			CHECK_INT_IDX(rc, RELAIS_EINVAL, i);
			const char *bar = strchr(cases[i].want, '|');
			CHECK_IDX(strncmp(err, "« t.conf », ", 13) == 0, i);
			CHECK_IDX(strstr(err, h_strf("%.*s", (int)(bar - cases[i].want),
						     cases[i].want)) != NULL, i);
			CHECK_IDX(strstr(err, bar + 1) != NULL, i);
		}
		config_free(&c);
	}
	const char *t = "[securite]\nproxy_confiance = 127.0.0.1, 0:0::1\nechecs_max = 7\n";
	CHECK_OK(config_parse(t, strlen(t), "t.conf", &c, err, sizeof(err)));
	CHECK_INT(c.security.nproxies, 2);
	CHECK_STR(c.security.proxies[1], "::1");
	CHECK_INT(c.security.echecs_max, 7);
	CHECK_INT(c.security.connexions_par_adresse, 0);
	config_free(&c);
	t = "[securite]\nconnexions_par_adresse = 64\ndelai_entete = 5\ndelai_corps = 120\n";
	CHECK_OK(config_parse(t, strlen(t), "t.conf", &c, err, sizeof(err)));
	CHECK_INT(c.security.connexions_par_adresse, 64);
	CHECK_INT(c.security.delai_entete, 5);
	CHECK_INT(c.security.delai_corps, 120);
	CHECK_INT(c.security.echecs_max, 0);
	config_free(&c);
}

/* ---- through relaisd ---- */

static const char *retry_after(const struct h_http *r)
{
	const char *p = strstr(r->head, "Retry-After: ");
	return p ? h_strf("%.*s", (int)strcspn(p + 13, "\r\n"), p + 13) : NULL;
}

/* Starts relaisd with [securite] text (NULL: no configuration file). */
static int start_with(struct h_daemon *d, const char *name, const char *sec, char *token)
{
	if (h_daemon_init(d, name) || h_daemon_user(d, "coord", "43", "coordinateur", token))
		return -1;
	if (sec) {
		const char *conf = h_path(h_strf("%s.conf", name));
		if (write_file(conf, sec, 0600))
			return -1;
		snprintf(d->config, sizeof(d->config), "%s", conf);
	}
	return h_daemon_serve(d);
}

TEST(security_rate_limit_through_relaisd)
{
	struct h_daemon d;
	struct h_http r;
	char token[H_TOKEN];
	const char *bad = "rls_00000000000000000000000000000000000000000000000000000000000000ff";
	h_setup();
	CHECK_INT(start_with(&d, "srv", "[securite]\nechecs_max = 3\n"
			     "proxy_confiance = 127.0.0.1\n", token), 0);

	/* Behind the trusted proxy (us): the address in X-Real-IP is counted. */
	const char *a1 = "X-Real-IP: 203.0.113.1\r\n", *a2 = "X-Real-IP: 203.0.113.2\r\n";
	for (int i = 0; i < 3; i++) {
		CHECK_INT_IDX(h_http(d.port, "GET", "/v1/whoami", i == 1 ? "rls_short" : bad, a1,
				     NULL, 0, &r), 0, i);
		CHECK_INT_IDX(r.status, 401, i);
	}
	static const char *const paths[] = { "/v1/whoami", "/v1/pull", "/v1/snapshot" };
	for (size_t i = 0; i < N(paths); i++) {
		/* Blocked: even with the right token. */
		CHECK_INT_IDX(h_http(d.port, "GET", paths[i], token, a1, NULL, 0, &r), 0, i);
		CHECK_INT_IDX(r.status, 429, i);
		CHECK_INT_IDX(h_http_error_json(&r, "rate_limited"), 0, i);
		CHECK_IDX(strstr(r.body, "réessayez dans") != NULL, i);
		const char *ra = retry_after(&r);
		long long secs;
		CHECK_IDX(ra && util_parse_ll(ra, 1, 60, &secs) == 0, i);
	}
	CHECK_INT(h_http(d.port, "POST", "/v1/push", token, a1, "x", 1, &r), 0);
	CHECK_INT(r.status, 429);
	/* Another client address behind the same proxy is served. */
	CHECK_INT(h_http(d.port, "GET", "/v1/whoami", token, a2, NULL, 0, &r), 0);
	CHECK_INT(r.status, 200);
	/* So is the proxy itself, and health for everyone. */
	CHECK_INT(h_http(d.port, "GET", "/v1/whoami", token, NULL, NULL, 0, &r), 0);
	CHECK_INT(r.status, 200);
	CHECK_INT(h_http(d.port, "GET", "/v1/health", NULL, a1, NULL, 0, &r), 0);
	CHECK_INT(r.status, 200);
	CHECK(h_daemon_log_has(&d, "trop d'échecs depuis 203.0.113.1", 2000));
	CHECK_INT(h_daemon_stop(&d), 0);

	/* Without a trusted proxy the headers are the client's word: ignored.
	 * The default limit applies to the peer, 127.0.0.1. */
	struct h_daemon e;
	char token2[H_TOKEN];
	CHECK_INT(start_with(&e, "plain", NULL, token2), 0);
	for (int i = 0; i < LIMIT_DEFAULT_FAILURES; i++) {
		const char *spoof = h_strf("X-Real-IP: 198.51.100.%d\r\nX-Forwarded-For: 198.51.100.%d\r\n",
					   i, i);
		CHECK_INT_IDX(h_http(e.port, "GET", "/v1/whoami", bad, spoof, NULL, 0, &r), 0, i);
		CHECK_INT_IDX(r.status, 401, i);
	}
	CHECK_INT(h_http(e.port, "GET", "/v1/whoami", token2, "X-Real-IP: 198.51.100.200\r\n",
			 NULL, 0, &r), 0);
	CHECK_INT(r.status, 429);
	CHECK(retry_after(&r) != NULL);
	CHECK_INT(h_daemon_stop(&e), 0);
}

TEST(security_limits_of_requests)
{
	/* net/http caps requests (431, 413); test-http covers many headers and
	 * the declared length: here a request line alone, then a single header
	 * value, each past 16 KiB. */
	struct h_daemon d;
	struct h_http r;
	h_setup();
	CHECK_INT(h_daemon_start(&d, "srv"), 0);
	for (int k = 0; k < 2; k++) {
		struct buf big = BUF_INIT(1 << 20);
		CHECK_OK(buf_puts(&big, k == 0 ? "GET /v1/health?" : "GET /v1/health HTTP/1.1\r\n"
					       "Authorization: Bearer "));
		for (int i = 0; i < 17 * 1024; i++)
			CHECK_OK(buf_puts(&big, "a"));
		CHECK_OK(buf_puts(&big, k == 0 ? " HTTP/1.1\r\nHost: x\r\n\r\n" : "\r\n\r\n"));
		CHECK_INT_IDX(h_http_raw(d.port, big.data, big.len, &r, 5000), 0, k);
		CHECK_INT_IDX(r.status, 431, k);
		buf_release(&big);
	}
	CHECK(h_daemon_healthy(&d));
	CHECK_INT(h_daemon_stop(&d), 0);
}

TEST(security_permissions_refused)
{
	struct h_daemon d;
	char token[H_TOKEN];
	h_setup();
	CHECK_INT(h_daemon_init(&d, "srv"), 0);
	CHECK_INT(h_daemon_user(&d, "coord", "43", "coordinateur", token), 0);
	const char *db = h_strf("%s/relais.db", d.data);
	struct stat st;
	CHECK(stat(d.data, &st) == 0 && (st.st_mode & 0777) == 0700);
	CHECK(stat(db, &st) == 0 && (st.st_mode & 077) == 0);

	static const struct {
		const char *what;
		mode_t dir, db, conf;
		const char *want;
	} cases[] = {
		{ "data dir 0755", 0755, 0600, 0600, "chmod 700" },
		{ "data dir 0710", 0710, 0600, 0600, "chmod 700" },
		{ "store 0644", 0700, 0644, 0600, "chmod 600" },
		{ "store 0660", 0700, 0660, 0600, "chmod 600" },
		{ "config 0666", 0700, 0600, 0666, "chmod 600" },
		{ "config 0620", 0700, 0600, 0620, "modifiable par d'autres" },
	};
	const char *conf = h_path("relaisd.conf");
	for (size_t i = 0; i < N(cases); i++) {
		CHECK_IDX(chmod(d.data, cases[i].dir) == 0 && chmod(db, cases[i].db) == 0, i);
		CHECK_IDX(write_file(conf, "[securite]\nechecs_max = 5\n", cases[i].conf) == 0, i);
		char *const argv[] = {
			(char *)h_bin("relaisd"), (char *)"serve", (char *)"--data", d.data,
			(char *)"--listen", (char *)"127.0.0.1:0", (char *)"--config", (char *)conf, NULL,
		};
		struct h_out *o = h_runv(argv, H_TIMEOUT_MS);
		CHECK_INT_IDX(o->status, 1, i);
		CHECK_IDX(strstr(o->err, cases[i].want) != NULL, i);
		CHECK_IDX(strstr(o->err, "à l'écoute") == NULL, i);
	}
	/* Back to private: it serves, and a config readable by others is fine
	 * (it holds no secret, only where they are). */
	CHECK(chmod(d.data, 0700) == 0 && chmod(db, 0600) == 0);
	CHECK(write_file(conf, "[securite]\nechecs_max = 5\n", 0644) == 0);
	snprintf(d.config, sizeof(d.config), "%s", conf);
	CHECK_INT(h_daemon_serve(&d), 0);

	/* One relaisd per directory: a second one is refused. */
	char *const again[] = { (char *)h_bin("relaisd"), (char *)"serve", (char *)"--data", d.data,
				(char *)"--listen", (char *)"127.0.0.1:0", NULL };
	struct h_out *o = h_runv(again, H_TIMEOUT_MS);
	CHECK_INT(o->status, 1);
	CHECK(strstr(o->err, "Un relaisd sert déjà") != NULL);

	/* The client's home and replica. */
	const char *home = h_replica(&d, "rep", token);
	CHECK(home != NULL);
	CHECK(stat(home, &st) == 0 && (st.st_mode & 077) == 0);
	CHECK(chmod(home, 0755) == 0);
	struct h_out *c = h_relais(home, "sync", (char *)NULL);
	CHECK(c->status != 0);
	CHECK(strstr(c->err, h_strf("chmod 700 %s", home)) != NULL);
	CHECK(chmod(home, 0700) == 0);
	const char *rdb = h_strf("%s/replica.db", home);
	CHECK(chmod(rdb, 0644) == 0);
	c = h_relais(home, "sync", (char *)NULL);
	CHECK(c->status != 0);
	CHECK(strstr(c->err, h_strf("chmod 600 %s", rdb)) != NULL);
	CHECK(chmod(rdb, 0600) == 0);
	CHECK_INT(h_sync(home, &d), 0);
	CHECK_INT(h_daemon_stop(&d), 0);
}

/* ---- no secret in logs ---- */

/* Fails when any of the secrets appears in text (named what). */
static int clean(const char *what, const char *text, const char *const *secrets, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (text && secrets[i][0] && strstr(text, secrets[i])) {
			fprintf(stderr, "  %s reveals secret %zu \"%s\"\n", what, i, secrets[i]);
			return 0;
		}
	return 1;
}

TEST(security_no_secret_in_logs)
{
	struct ms_server ms;
	struct h_daemon d;
	struct h_http r;
	char coord[H_TOKEN], caf[H_TOKEN];
	h_setup();
	CHECK_INT(ms_start(&ms, 0), 0);
	CHECK_INT(h_daemon_init(&d, "srv"), 0);
	CHECK_INT(h_daemon_user(&d, "coord", "43", "coordinateur", coord), 0);
	CHECK_INT(h_daemon_user(&d, "caf", "43", "caf", caf), 0);
	const char *near = h_strf("%.67s%c", coord, coord[67] == 'a' ? 'b' : 'a');
	const char *junk = "rls_7365637265742d6a756e6b2d746f6b656e2d31323334353637383930";
	const char *const secrets[] = {
		coord, caf, near, junk, coord + 4, caf + 4, MS_PASSWORD, "pas-le-bon", "Bearer",
	};
	const char *conf = h_path("relaisd.conf");
	const char *text = h_strf("[courrier]\n"
				  "departement = 43\n"
				  "adresse = " MS_ADDRESS "\n"
				  "imap_hote = 127.0.0.1\n"
				  "imap_port = %d\n"
				  "imap_tls = aucun\n"
				  "imap_utilisateur = " MS_USER "\n"
				  "imap_mot_de_passe_fichier = %%s\n"
				  "intervalle = 1\n"
				  "smtp_url = %s\n"
				  "smtp_tls = aucun\n",
				  ms.imap_port, ms.smtp_url);
	/* The right password, then a wrong one: both logins are logged, never
	 * the passwords. */
	const char *files[] = { ms.passfile, ms.badpassfile };
	const char *want[] = { "courrier : connecté à", "connexion IMAP à 127.0.0.1 impossible" };
	for (size_t k = 0; k < N(files); k++) {
		CHECK_IDX(write_file(conf, h_strf(text, files[k]), 0600) == 0, k);
		snprintf(d.config, sizeof(d.config), "%s", conf);
		CHECK_INT_IDX(h_daemon_serve(&d), 0, k);
		CHECK_IDX(h_daemon_log_has(&d, want[k], 15000), k);
		/* Good and bad tokens, in every place a token can go. */
		const char *toks[] = { coord, caf, near, junk, "rls_short" };
		for (size_t i = 0; i < N(toks); i++) {
			CHECK_IDX(h_http(d.port, "GET", h_strf("/v1/pull?since=0&token=%s", toks[i]),
					 toks[i], h_strf("X-Relais-Schema: %d\r\n", MODEL_SCHEMA_VERSION),
					 NULL, 0, &r) == 0, i);
			CHECK_IDX(h_http(d.port, "GET", "/v1/whoami", NULL,
					 h_strf("Authorization: Basic %s\r\nX-Token: %s\r\n", toks[i],
						toks[i]), NULL, 0, &r) == 0, i);
			CHECK_IDX(h_http(d.port, "POST", "/v1/push", toks[i], NULL, toks[i],
					 strlen(toks[i]), &r) == 0, i);
		}
		const char *home = k == 0 ? h_replica(&d, "rep", coord) : NULL;
		if (k == 0) {
			CHECK(home != NULL);
			struct h_out *o = h_relais(home, "sync", "--server", d.url, (char *)NULL);
			CHECK_INT(o->status, 0);
			CHECK(clean("relais sync", o->out, secrets, N(secrets)));
			CHECK(clean("relais sync stderr", o->err, secrets, N(secrets)));
			o = h_relais(home, "status", (char *)NULL);
			CHECK(clean("relais status", o->out, secrets, N(secrets)));
		}
		CHECK_INT_IDX(h_daemon_stop(&d), 0, k);
	}
	const char *log = h_read_file(d.log, NULL);
	CHECK(log != NULL);
	CHECK(strstr(log, "/v1/pull") != NULL); /* requests are logged... */
	CHECK(strstr(log, "token=") == NULL);   /* ...without their query */
	CHECK(clean("relaisd log", log, secrets, N(secrets)));
	CHECK(clean("relaisd log", log, (const char *const[]){ "Authorization", "X-Token" }, 2));
}
