/*
 * test-imap.c - the IMAP and SMTP clients of mailgw/ against a private
 * Dovecot and aiosmtpd on loopback (tests/mailserver.h).
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "../common/buf.h"
#include "../mailgw/imap.h"
#include "../mailgw/smtp.h"
#include "mailserver.h"
#include "test.h"

#define MSG_CAP (1u << 20)

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A small message with CRLF line ends, as a mail client would send it. */
static size_t make_msg(char *out, size_t cap, int i, size_t padding)
{
	int n = snprintf(out, cap,
			 "From: Centre social <accueil@example.org>\r\n"
			 "To: " MS_ADDRESS "\r\n"
			 "Subject: Candidature %d\r\n"
			 "Message-ID: <%d.candidature@example.org>\r\n"
			 "Date: Mon, 23 Nov 2026 10:00:00 +0100\r\n"
			 "MIME-Version: 1.0\r\n"
			 "Content-Type: text/plain; charset=utf-8\r\n"
			 "\r\n"
			 "Corps du message numero %d.\r\n",
			 i, i, i);
	size_t len = (size_t)n;
	/* Lines of 76 characters: SMTP caps lines at 1000. */
	while (padding > 0 && len + 80 < cap) {
		memset(out + len, 'x', 76);
		memcpy(out + len + 76, "\r\n", 2);
		len += 78;
		padding = padding > 78 ? padding - 78 : 0;
	}
	out[len] = 0;
	return len;
}

/* Drops every CR before LF: aiosmtpd stores LF, IMAP serves CRLF. */
static size_t to_lf(const char *in, size_t n, char *out)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (!(in[i] == '\r' && i + 1 < n && in[i + 1] == '\n'))
			out[k++] = in[i];
	out[k] = 0;
	return k;
}

/* 1 when some message file of folder has exactly these bytes (modulo CRLF). */
static int in_maildir(const struct ms_server *ms, const char *folder, const char *data, size_t len)
{
	char **names;
	int n = ms_list(ms, folder, &names), found = 0;
	char *want = malloc(len + 1);
	size_t wlen = want ? to_lf(data, len, want) : 0;
	for (int i = 0; i < n; i++) {
		size_t flen;
		char *f = ms_read(ms, folder, names[i], &flen);
		if (f && want) {
			char *g = malloc(flen + 1);
			if (g && to_lf(f, flen, g) == wlen && !memcmp(g, want, wlen))
				found = 1;
			free(g);
		}
		free(f);
		free(names[i]);
	}
	free(names);
	free(want);
	return found;
}

static struct mailgw_imap_config plain_cfg(const struct ms_server *ms)
{
	struct mailgw_imap_config cfg = {
		.host = "127.0.0.1",
		.port = ms->imap_port,
		.tls = MAILGW_TLS_NONE,
		.user = MS_USER,
		.password_file = ms->passfile,
		.timeout_ms = 10000,
	};
	return cfg;
}

static void close_client(void *arg)
{
	struct mailgw_imap **c = arg;
	mailgw_imap_close(*c);
	*c = NULL;
}

static void release_buf(void *arg)
{
	buf_release(arg);
}

static void free_ptr(void *arg)
{
	void **p = arg;
	free(*p);
	*p = NULL;
}

TEST(imap_fetch_uids_move)
{
	static struct ms_server ms;
	static struct mailgw_imap *c;
	static struct buf b = BUF_INIT(MSG_CAP);
	static uint32_t *uids;
	char msg[4096], err[256];
	uint32_t uidv, uidv2, uid[3];
	size_t n, size;
	CHECK_OK(ms_start(&ms, 0));
	test_defer(close_client, &c);
	test_defer(release_buf, &b);
	test_defer(free_ptr, &uids);
	for (int i = 0; i < 3; i++)
		CHECK_OK(ms_deliver(&ms, msg, make_msg(msg, sizeof(msg), i, 0)));

	struct mailgw_imap_config cfg = plain_cfg(&ms);
	CHECK_OK(mailgw_imap_connect(&cfg, &c, err, sizeof(err)));
	CHECK(mailgw_imap_has_idle(c));
	CHECK_OK(mailgw_imap_select(c, "INBOX", &uidv));
	CHECK(uidv != 0);
	CHECK_OK(mailgw_imap_uids_above(c, 0, &uids, &n));
	CHECK_INT(n, 3);
	for (int i = 0; i < 3; i++) {
		char want[64];
		uid[i] = uids[i];
		if (i > 0)
			CHECK_IDX(uid[i] > uid[i - 1], i);
		buf_reset(&b);
		CHECK_OK(mailgw_imap_fetch(c, uid[i], &b, &size));
		CHECK_INT_IDX(size, b.len, i);
		/* The bytes the server stored, in delivery order. */
		CHECK_IDX(in_maildir(&ms, "INBOX", (const char *)b.data, b.len), i);
		snprintf(want, sizeof(want), "Corps du message numero %d.\r\n", i);
		CHECK_IDX(strstr(buf_str(&b), want) != NULL, i);
		snprintf(want, sizeof(want), "Subject: Candidature %d\r\n", i);
		CHECK_IDX(strstr(buf_str(&b), want) != NULL, i);
	}
	free(uids);
	uids = NULL;

	/* Only UIDs above N; "N:*" on the last UID must give nothing. */
	static const struct {
		int above; /* index into uid[], -1 for 0 */
		size_t count;
	} above_cases[] = { { -1, 3 }, { 0, 2 }, { 1, 1 }, { 2, 0 } };
	for (size_t k = 0; k < sizeof(above_cases) / sizeof(above_cases[0]); k++) {
		uint32_t a = above_cases[k].above < 0 ? 0 : uid[above_cases[k].above];
		CHECK_OK(mailgw_imap_uids_above(c, a, &uids, &n));
		CHECK_INT_IDX(n, above_cases[k].count, k);
		for (size_t j = 0; j < n; j++)
			CHECK_IDX(uids[j] > a, k);
		free(uids);
		uids = NULL;
	}
	CHECK_INT(mailgw_imap_fetch(c, uid[2] + 100, &b, &size), RELAIS_ENOTFOUND);

	/* UIDVALIDITY stays across reconnects. */
	mailgw_imap_close(c);
	c = NULL;
	CHECK_OK(mailgw_imap_connect(&cfg, &c, err, sizeof(err)));
	CHECK_OK(mailgw_imap_select(c, "INBOX", &uidv2));
	CHECK_INT(uidv2, uidv);

	/* Move with MOVE, then with COPY + STORE + EXPUNGE. */
	CHECK(mailgw_imap_has_move(c));
	CHECK_OK(mailgw_imap_create(c, "Traites"));
	CHECK_OK(mailgw_imap_create(c, "Traites")); /* already there: fine */
	CHECK_OK(mailgw_imap_move(c, uid[0], "Traites"));
	CHECK_INT(ms_count(&ms, "Traites"), 1);
	CHECK_INT(ms_count(&ms, "INBOX"), 2);
	buf_reset(&b);
	CHECK_INT(mailgw_imap_fetch(c, uid[0], &b, &size), RELAIS_ENOTFOUND);
	mailgw_imap_close(c);
	c = NULL;
	cfg.no_move = 1;
	CHECK_OK(mailgw_imap_connect(&cfg, &c, err, sizeof(err)));
	CHECK_OK(mailgw_imap_select(c, "INBOX", &uidv2));
	CHECK_OK(mailgw_imap_move(c, uid[1], "Traites"));
	CHECK_INT(ms_count(&ms, "Traites"), 2);
	CHECK_INT(ms_count(&ms, "INBOX"), 1);
	CHECK_OK(mailgw_imap_uids_above(c, 0, &uids, &n));
	CHECK_INT(n, 1);
	CHECK_INT(uids[0], uid[2]);
	free(uids);
	uids = NULL;
	CHECK_OK(mailgw_imap_select(c, "Traites", &uidv2));
	CHECK_OK(mailgw_imap_uids_above(c, 0, &uids, &n));
	CHECK_INT(n, 2);
	free(uids);
	uids = NULL;
	buf_reset(&b);
	CHECK_OK(mailgw_imap_fetch(c, 1, &b, &size));
	CHECK(strstr(buf_str(&b), "Corps du message numero 0.") != NULL);
	CHECK_INT(mailgw_imap_select(c, "Pas*valide", &uidv2), RELAIS_EINVAL);
	CHECK_INT(mailgw_imap_select(c, "N'existe pas", &uidv2), RELAIS_EPROTO);
	mailgw_imap_close(c);
	c = NULL;

	/* A message over the cap: reported with its size, not fetched, and
	 * the connection stays usable. */
	static char big[300 * 1024];
	size_t biglen = make_msg(big, sizeof(big), 9, 200 * 1024);
	CHECK_OK(ms_deliver(&ms, big, biglen));
	cfg.no_move = 0;
	cfg.max_message = 64 * 1024;
	CHECK_OK(mailgw_imap_connect(&cfg, &c, err, sizeof(err)));
	CHECK_OK(mailgw_imap_select(c, "INBOX", &uidv2));
	CHECK_OK(mailgw_imap_uids_above(c, uid[2], &uids, &n));
	CHECK_INT(n, 1);
	buf_reset(&b);
	CHECK_INT(mailgw_imap_fetch(c, uids[0], &b, &size), RELAIS_ETOOBIG);
	CHECK(size > 200 * 1024);
	CHECK_INT(b.len, 0);
	CHECK(strstr(mailgw_imap_error(c), "au-delà") != NULL);
	CHECK_OK(mailgw_imap_fetch(c, uid[2], &b, &size));
	CHECK(strstr(buf_str(&b), "numero 2.") != NULL);
	/* The caller's own buffer cap holds too. */
	struct buf small = BUF_INIT(100);
	int rc = mailgw_imap_fetch(c, uid[2], &small, &size);
	buf_release(&small);
	CHECK_INT(rc, RELAIS_ETOOBIG);
	CHECK_OK(mailgw_imap_fetch(c, uid[2], &b, &size));
	mailgw_imap_close(c);
	c = NULL;

	/* Wrong password; plain text to a remote host (refused before any
	 * packet leaves); missing password file. */
	cfg.password_file = ms.badpassfile;
	CHECK_INT(mailgw_imap_connect(&cfg, &c, err, sizeof(err)), RELAIS_EAUTH);
	CHECK(c == NULL);
	CHECK(err[0] != 0);
	cfg.password_file = ms.passfile;
	cfg.host = "192.0.2.1";
	CHECK_INT(mailgw_imap_connect(&cfg, &c, err, sizeof(err)), RELAIS_EINVAL);
	cfg.host = "127.0.0.1";
	cfg.password_file = "/nonexistent/password";
	CHECK_INT(mailgw_imap_connect(&cfg, &c, err, sizeof(err)), RELAIS_EIO);
}

struct later {
	struct ms_server *ms;
	int delay_ms;
	int rc;
};

static void *deliver_later(void *arg)
{
	struct later *l = arg;
	char msg[1024];
	struct timespec ts = { l->delay_ms / 1000, (long)(l->delay_ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
	l->rc = ms_deliver(l->ms, msg, make_msg(msg, sizeof(msg), 7, 0));
	return NULL;
}

TEST(imap_idle)
{
	static struct ms_server ms;
	static struct mailgw_imap *c;
	static uint32_t *uids;
	char msg[1024], err[256];
	uint32_t uidv;
	size_t n;
	int arrived = -1;
	CHECK_OK(ms_start(&ms, 0));
	test_defer(close_client, &c);
	test_defer(free_ptr, &uids);
	CHECK_OK(ms_deliver(&ms, msg, make_msg(msg, sizeof(msg), 1, 0)));
	struct mailgw_imap_config cfg = plain_cfg(&ms);
	CHECK_OK(mailgw_imap_connect(&cfg, &c, err, sizeof(err)));
	CHECK_OK(mailgw_imap_select(c, "INBOX", &uidv));

	/* No mail: the timeout ends it. */
	int64_t t0 = mono_ms();
	CHECK_OK(mailgw_imap_idle(c, 700, &arrived));
	int64_t took = mono_ms() - t0;
	CHECK_INT(arrived, 0);
	CHECK(took >= 650);
	CHECK(took < 5000);

	/* Mail arrives while idling: woken well before the timeout. */
	struct later l = { &ms, 300, -1 };
	pthread_t th;
	CHECK_INT(pthread_create(&th, NULL, deliver_later, &l), 0);
	t0 = mono_ms();
	int rc = mailgw_imap_idle(c, 20000, &arrived);
	took = mono_ms() - t0;
	pthread_join(th, NULL);
	CHECK_OK(rc);
	CHECK_OK(l.rc);
	CHECK_INT(arrived, 1);
	CHECK(took < 15000);
	CHECK_OK(mailgw_imap_uids_above(c, 1, &uids, &n));
	CHECK_INT(n, 1);

	/* The session is still good after IDLE/DONE. */
	CHECK_OK(mailgw_imap_idle(c, 200, &arrived));
	CHECK_INT(arrived, 0);

	/* Mail announced in the answer to another command (here UID SEARCH)
	 * is reported at once, not hidden by the next IDLE. */
	CHECK_OK(ms_deliver(&ms, msg, make_msg(msg, sizeof(msg), 8, 0)));
	/* Dovecot may notice the new file a moment later: ask until it does. */
	for (int tries = 0; tries < 50; tries++) {
		free(uids);
		uids = NULL;
		CHECK_OK(mailgw_imap_uids_above(c, 1, &uids, &n));
		if (n == 2)
			break;
		struct timespec pause = { 0, 100 * 1000 * 1000 };
		nanosleep(&pause, NULL);
	}
	CHECK_INT(n, 2);
	t0 = mono_ms();
	CHECK_OK(mailgw_imap_idle(c, 20000, &arrived));
	CHECK_INT(arrived, 1);
	CHECK(mono_ms() - t0 < 2000);
	CHECK_OK(mailgw_imap_idle(c, 200, &arrived));
	CHECK_INT(arrived, 0);
}

TEST(imap_reconnect_after_server_loss)
{
	static struct ms_server ms;
	static struct mailgw_imap *c;
	static struct buf b = BUF_INIT(MSG_CAP);
	static uint32_t *uids;
	char msg[1024], err[256];
	uint32_t uidv, uidv2;
	size_t n;
	CHECK_OK(ms_start(&ms, 0));
	test_defer(close_client, &c);
	test_defer(release_buf, &b);
	test_defer(free_ptr, &uids);
	CHECK_OK(ms_deliver(&ms, msg, make_msg(msg, sizeof(msg), 1, 0)));
	struct mailgw_imap_config cfg = plain_cfg(&ms);
	CHECK_OK(mailgw_imap_connect(&cfg, &c, err, sizeof(err)));
	CHECK_OK(mailgw_imap_select(c, "INBOX", &uidv));

	CHECK_OK(ms_dovecot_stop(&ms));
	/* The imap process may outlive its master by a moment. */
	int rc = 0;
	for (int i = 0; i < 100; i++) {
		rc = mailgw_imap_uids_above(c, 0, &uids, &n);
		free(uids);
		uids = NULL;
		if (rc)
			break;
		struct timespec ts = { 0, 50 * 1000000L };
		nanosleep(&ts, NULL);
	}
	CHECK_INT(rc, RELAIS_ENET);
	/* A lost connection stays lost: the caller must reconnect. */
	CHECK_INT(mailgw_imap_fetch(c, 1, &b, NULL), RELAIS_ENET);
	mailgw_imap_close(c);
	c = NULL;
	CHECK_INT(mailgw_imap_connect(&cfg, &c, err, sizeof(err)), RELAIS_ENET);
	CHECK(c == NULL);

	CHECK_OK(ms_dovecot_start(&ms));
	CHECK_OK(mailgw_imap_connect(&cfg, &c, err, sizeof(err)));
	CHECK_OK(mailgw_imap_select(c, "INBOX", &uidv2));
	CHECK_INT(uidv2, uidv);
	CHECK_OK(mailgw_imap_uids_above(c, 0, &uids, &n));
	CHECK_INT(n, 1);
	CHECK_OK(mailgw_imap_fetch(c, uids[0], &b, NULL));
	CHECK(strstr(buf_str(&b), "numero 1.") != NULL);
}

TEST(imap_tls_verification)
{
	static struct ms_server ms;
	static struct mailgw_imap *c;
	static struct buf b = BUF_INIT(MSG_CAP);
	char msg[1024], err[256];
	uint32_t uidv;
	CHECK_OK(ms_start(&ms, MS_TLS));
	test_defer(close_client, &c);
	test_defer(release_buf, &b);
	CHECK_OK(ms_deliver(&ms, msg, make_msg(msg, sizeof(msg), 5, 0)));

	const struct {
		enum mailgw_tls tls;
		const char *host;
		int imaps;
		int ca; /* 0: the right CA, 1: an unrelated CA, 2: the system store */
		int want;
	} cases[] = {
		{ MAILGW_TLS_STARTTLS, "127.0.0.1", 0, 0, 0 },
		{ MAILGW_TLS_IMPLICIT, "127.0.0.1", 1, 0, 0 },
		{ MAILGW_TLS_IMPLICIT, "localhost", 1, 0, 0 },
		{ MAILGW_TLS_STARTTLS, "127.0.0.1", 0, 1, RELAIS_EAUTH },
		{ MAILGW_TLS_IMPLICIT, "127.0.0.1", 1, 1, RELAIS_EAUTH },
		{ MAILGW_TLS_IMPLICIT, "127.0.0.1", 1, 2, RELAIS_EAUTH },
		/* Implicit TLS spoken to the STARTTLS port: no handshake. */
		{ MAILGW_TLS_IMPLICIT, "127.0.0.1", 0, 0, RELAIS_ENET },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct mailgw_imap_config cfg = {
			.host = cases[i].host,
			.port = cases[i].imaps ? ms.imaps_port : ms.imap_port,
			.tls = cases[i].tls,
			.cafile = cases[i].ca == 0 ? ms.cafile : cases[i].ca == 1 ? ms.othercafile : NULL,
			.user = MS_USER,
			.password_file = ms.passfile,
			.timeout_ms = 5000,
		};
		int rc = mailgw_imap_connect(&cfg, &c, err, sizeof(err));
		if (rc != cases[i].want)
			fprintf(stderr, "  case %zu: %s\n", i, err);
		CHECK_INT_IDX(rc, cases[i].want, i);
		if (rc) {
			CHECK_IDX(c == NULL, i);
			continue;
		}
		CHECK_OK(mailgw_imap_select(c, "INBOX", &uidv));
		buf_reset(&b);
		CHECK_OK(mailgw_imap_fetch(c, 1, &b, NULL));
		CHECK_IDX(strstr(buf_str(&b), "numero 5.") != NULL, i);
		mailgw_imap_close(c);
		c = NULL;
	}

	/* SMTP with STARTTLS: trusted CA passes, an unrelated one fails. */
	const char *rcpt[] = { MS_ADDRESS };
	struct mailgw_smtp_config sc = { .url = ms.smtp_url, .starttls = 1, .cafile = ms.cafile,
					 .timeout_ms = 10000 };
	size_t len = make_msg(msg, sizeof(msg), 6, 0);
	CHECK_OK(mailgw_smtp_send(&sc, "relais@localhost", rcpt, 1, msg, len, err, sizeof(err)));
	CHECK_INT(ms_count(&ms, "INBOX"), 2);
	sc.cafile = ms.othercafile;
	CHECK_INT(mailgw_smtp_send(&sc, "relais@localhost", rcpt, 1, msg, len, err, sizeof(err)),
		  RELAIS_EAUTH);
	CHECK_INT(ms_count(&ms, "INBOX"), 2);
}

TEST(smtp_send)
{
	static struct ms_server ms;
	char msg[1024], err[256];
	char **names = NULL;
	const char *rcpt[] = { MS_ADDRESS, "autre@localhost" };
	CHECK_OK(ms_start(&ms, 0));
	CHECK_OK(mailgw_smtp_global_init());
	size_t len = make_msg(msg, sizeof(msg), 3, 0);
	struct mailgw_smtp_config sc = { .url = ms.smtp_url, .timeout_ms = 10000 };
	CHECK_OK(mailgw_smtp_send(&sc, "relais@localhost", rcpt, 2, msg, len, err, sizeof(err)));
	int n = ms_list(&ms, "INBOX", &names);
	CHECK_INT(n, 1);
	size_t flen;
	char *f = ms_read(&ms, "INBOX", names[0], &flen);
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
	CHECK(f != NULL);
	int ok = strstr(f, "Corps du message numero 3.") && strstr(f, "X-MailFrom: relais@localhost") &&
		 strstr(f, "autre@localhost");
	free(f);
	CHECK(ok);

	/* Errors a caller must tell apart. */
	char down[64];
	snprintf(down, sizeof(down), "smtp://127.0.0.1:1");
	const struct {
		const char *url;
		int starttls;
		size_t nrcpt;
		int want;
	} cases[] = {
		{ down, 0, 1, RELAIS_ENET },                      /* nothing listens */
		{ "smtp://192.0.2.1:25", 0, 1, RELAIS_EINVAL },   /* plain off loopback */
		{ "http://127.0.0.1:25", 0, 1, RELAIS_EINVAL },
		{ "pas une url", 0, 1, RELAIS_EINVAL },
		{ ms.smtp_url, 0, 0, RELAIS_EINVAL },             /* no recipient */
		{ ms.smtp_url, 1, 1, RELAIS_ENET },               /* STARTTLS not offered */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct mailgw_smtp_config c2 = { .url = cases[i].url, .starttls = cases[i].starttls,
						 .timeout_ms = 5000 };
		int rc = mailgw_smtp_send(&c2, "relais@localhost", rcpt, cases[i].nrcpt, msg, len,
					  err, sizeof(err));
		CHECK_INT_IDX(rc, cases[i].want, i);
		CHECK_IDX(err[0] != 0, i);
	}
	CHECK_INT(ms_count(&ms, "INBOX"), 1);
}

/* What the SMTP server says about one message, told apart: refused for
 * good, for now, or a policy refusal of our own account (for now). */
TEST(smtp_refusals)
{
	static struct ms_server ms;
	char msg[1024], err[512];
	CHECK_OK(ms_start(&ms, MS_SINK));
	CHECK_OK(mailgw_smtp_global_init());
	CHECK_OK(ms_sink_refuse(&ms, "bob", "550 5.1.1 <bob@localhost>: boite inconnue"));
	CHECK_OK(ms_sink_refuse(&ms, "carl", "452 4.2.2 boite pleine"));
	CHECK_OK(ms_sink_refuse(&ms, "dan", "554 5.7.1 <dan@localhost>: Relay access denied"));
	size_t len = make_msg(msg, sizeof(msg), 7, 0);
	struct mailgw_smtp_config sc = { .url = ms.smtp_url, .timeout_ms = 10000 };
	const struct {
		const char *rcpt;
		int want;
		const char *err;
	} cases[] = {
		{ "bob@localhost", RELAIS_EREFUSED, "550 5.1.1 <bob@localhost>: boite inconnue" },
		{ "carl@localhost", RELAIS_ELATER, "452 4.2.2 boite pleine" },
		{ "dan@localhost", RELAIS_ELATER, "554 5.7.1 <dan@localhost>: Relay access denied" },
		{ "alice@localhost", 0, "" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *rcpt[1] = { cases[i].rcpt };
		CHECK_INT_IDX(mailgw_smtp_send(&sc, "relais@localhost", rcpt, 1, msg, len, err,
					       sizeof(err)), cases[i].want, i);
		CHECK_STR_IDX(err, cases[i].err, i);
	}
	CHECK_INT(ms_user_count(&ms, "alice", "INBOX"), 1);
	CHECK_INT(ms_user_count(&ms, "bob", "INBOX"), 0);
}
