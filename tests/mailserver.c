/*
 * mailserver.c - private Dovecot and aiosmtpd instances on loopback.
 *
 * Facts this relies on are in the shared notes on mail servers (NOTES-mail-servers.md): the mail
 * uid cannot be root (so mail belongs to nobody when we are root), a
 * Dovecot restart must wait for the old master to exit, aiosmtpd must be
 * the Debian /usr/bin/python3's.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <curl/curl.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <gnutls/crypto.h>
#include "mailserver.h"
#include "test.h"

#define MS_START_MS 15000   /* generous: sanitizer builds, loaded CI */
#define MS_STOP_MS 6000     /* Dovecot takes 1-3 s to stop */
#define MS_MAX_NAMES 4096

/* ---- small helpers ---- */

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void nap_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int pathf(char out[MS_PATH], const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int pathf(char out[MS_PATH], const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(out, MS_PATH, fmt, ap);
	va_end(ap);
	if (n < 0 || n >= MS_PATH) {
		fprintf(stderr, "ms: path too long\n");
		return -1;
	}
	return 0;
}

static int write_file(const char *path, const void *p, size_t n, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	const unsigned char *s = p;
	if (fd < 0) {
		fprintf(stderr, "ms: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while (n > 0) {
		ssize_t w = write(fd, s, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			fprintf(stderr, "ms: write %s: %s\n", path, strerror(errno));
			close(fd);
			return -1;
		}
		s += w;
		n -= (size_t)w;
	}
	return close(fd);
}

/* A free port now; the tiny race with other processes is covered by the
 * retries of ms_start(). */
static int free_port(void)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int port = -1;
	if (fd < 0)
		return -1;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	close(fd);
	return port;
}

static int port_open(int port)
{
	struct sockaddr_in a;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int ok;
	if (fd < 0)
		return 0;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(fd);
	return ok;
}

/* The accounts the servers run as: Dovecot refuses root as the mail uid. */
struct ms_ids {
	uid_t mail_uid;
	gid_t mail_gid;
	char internal_user[64], internal_group[64], login_user[64];
	char mail_user[64], mail_group[64];
};

static int get_ids(struct ms_ids *ids)
{
	memset(ids, 0, sizeof(*ids));
	if (geteuid() == 0) {
		struct passwd *pw = getpwnam("nobody");
		struct group *gr = getgrnam("nogroup");
		if (!pw || !gr) {
			fprintf(stderr, "ms: no user nobody or group nogroup\n");
			return -1;
		}
		ids->mail_uid = pw->pw_uid;
		ids->mail_gid = gr->gr_gid;
		snprintf(ids->mail_user, sizeof(ids->mail_user), "nobody");
		snprintf(ids->mail_group, sizeof(ids->mail_group), "nogroup");
		snprintf(ids->internal_user, sizeof(ids->internal_user), "dovecot");
		snprintf(ids->internal_group, sizeof(ids->internal_group), "dovecot");
		snprintf(ids->login_user, sizeof(ids->login_user), "dovenull");
		return 0;
	}
	struct passwd *pw = getpwuid(geteuid());
	struct group *gr = getgrgid(getegid());
	if (!pw || !gr) {
		fprintf(stderr, "ms: cannot name the current user or group\n");
		return -1;
	}
	ids->mail_uid = pw->pw_uid;
	ids->mail_gid = gr->gr_gid;
	snprintf(ids->mail_user, sizeof(ids->mail_user), "%s", pw->pw_name);
	snprintf(ids->mail_group, sizeof(ids->mail_group), "%s", gr->gr_name);
	snprintf(ids->internal_user, sizeof(ids->internal_user), "%s", pw->pw_name);
	snprintf(ids->internal_group, sizeof(ids->internal_group), "%s", gr->gr_name);
	snprintf(ids->login_user, sizeof(ids->login_user), "%s", pw->pw_name);
	return 0;
}

/* Forks and execs argv with stdout and stderr appended to log; the child
 * dies with the test (PR_SET_PDEATHSIG). When as_uid is not (uid_t)-1 and
 * we are root, the child drops to that uid and gid first. */
static pid_t spawn(char *const argv[], const char *log, uid_t as_uid, gid_t as_gid)
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		perror("fork");
		return -1;
	}
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		int in = open("/dev/null", O_RDONLY);
		int out = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (in < 0 || out < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
			_exit(126);
		closefrom(3);
		signal(SIGPIPE, SIG_DFL);
		if (as_uid != (uid_t)-1 && geteuid() == 0) {
			if (setgroups(0, NULL) || setgid(as_gid) || setuid(as_uid))
				_exit(125);
		}
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

/* SIGTERM to each pid, wait up to MS_STOP_MS for all, SIGKILL the rest. */
static void stop_pids(pid_t *pids, int n)
{
	int64_t end = mono_ms() + MS_STOP_MS;
	int left = 0;
	for (int i = 0; i < n; i++)
		if (pids[i] > 0) {
			kill(pids[i], SIGTERM);
			left++;
		}
	while (left > 0 && mono_ms() < end) {
		for (int i = 0; i < n; i++) {
			if (pids[i] <= 0)
				continue;
			pid_t r = waitpid(pids[i], NULL, WNOHANG);
			if (r == pids[i] || (r < 0 && errno != EINTR)) {
				pids[i] = 0;
				left--;
			}
		}
		if (left > 0)
			nap_ms(20);
	}
	for (int i = 0; i < n; i++) {
		if (pids[i] <= 0)
			continue;
		fprintf(stderr, "ms: pid %d ignored SIGTERM; killing it\n", (int)pids[i]);
		kill(pids[i], SIGKILL);
		while (waitpid(pids[i], NULL, 0) < 0 && errno == EINTR)
			;
		pids[i] = 0;
	}
}

static int wait_port(pid_t pid, int port, const char *what)
{
	int64_t end = mono_ms() + MS_START_MS;
	while (mono_ms() < end) {
		if (port_open(port))
			return 0;
		if (waitpid(pid, NULL, WNOHANG) == pid) {
			fprintf(stderr, "ms: %s exited before listening on %d\n", what, port);
			return -2; /* maybe the port was taken: the caller retries */
		}
		nap_ms(20);
	}
	fprintf(stderr, "ms: %s not listening on %d after %d ms\n", what, port, MS_START_MS);
	return -1;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

/* ---- certificates (TLS variant) ---- */

#define MS_TLS_CHECK(expr)                                                      \
	do {                                                                    \
		int ms_rc_ = (expr);                                            \
		if (ms_rc_ < 0) {                                               \
			fprintf(stderr, "ms: %s: %s\n", #expr, gnutls_strerror(ms_rc_)); \
			goto out;                                               \
		}                                                               \
	} while (0)

static int export_pem(const char *path, gnutls_x509_crt_t crt, gnutls_x509_privkey_t key)
{
	gnutls_datum_t d = { NULL, 0 };
	int rc = -1;
	if (crt)
		MS_TLS_CHECK(gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &d));
	else
		MS_TLS_CHECK(gnutls_x509_privkey_export2(key, GNUTLS_X509_FMT_PEM, &d));
	/* 0644 even for keys: aiosmtpd reads them as nobody; they are thrown away. */
	rc = write_file(path, d.data, d.size, 0644);
out:
	gnutls_free(d.data);
	return rc;
}

/* Makes a certificate for key: a CA when issuer is NULL (self-signed),
 * else a server certificate for 127.0.0.1 and localhost signed by it. */
static int make_cert(gnutls_x509_crt_t *out, gnutls_x509_privkey_t key, const char *cn,
		     gnutls_x509_crt_t issuer, gnutls_x509_privkey_t issuer_key)
{
	gnutls_x509_crt_t crt = NULL;
	unsigned char serial[8];
	unsigned char ip[4] = { 127, 0, 0, 1 };
	time_t now = time(NULL);
	int rc = -1;
	MS_TLS_CHECK(gnutls_x509_crt_init(&crt));
	MS_TLS_CHECK(gnutls_x509_crt_set_version(crt, 3));
	MS_TLS_CHECK(gnutls_rnd(GNUTLS_RND_NONCE, serial, sizeof(serial)));
	serial[0] &= 0x7f;
	MS_TLS_CHECK(gnutls_x509_crt_set_serial(crt, serial, sizeof(serial)));
	MS_TLS_CHECK(gnutls_x509_crt_set_activation_time(crt, now - 3600));
	MS_TLS_CHECK(gnutls_x509_crt_set_expiration_time(crt, now + 2 * 86400));
	MS_TLS_CHECK(gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, cn, (unsigned)strlen(cn)));
	MS_TLS_CHECK(gnutls_x509_crt_set_key(crt, key));
	if (!issuer) {
		MS_TLS_CHECK(gnutls_x509_crt_set_basic_constraints(crt, 1, -1));
		MS_TLS_CHECK(gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_KEY_CERT_SIGN | GNUTLS_KEY_CRL_SIGN));
		MS_TLS_CHECK(gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA256, 0));
	} else {
		MS_TLS_CHECK(gnutls_x509_crt_set_basic_constraints(crt, 0, -1));
		MS_TLS_CHECK(gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_DIGITAL_SIGNATURE));
		MS_TLS_CHECK(gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_SERVER, 0));
		MS_TLS_CHECK(gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, "localhost",
								  9, GNUTLS_FSAN_APPEND));
		MS_TLS_CHECK(gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, ip,
								  sizeof(ip), GNUTLS_FSAN_APPEND));
		MS_TLS_CHECK(gnutls_x509_crt_sign2(crt, issuer, issuer_key, GNUTLS_DIG_SHA256, 0));
	}
	*out = crt;
	crt = NULL;
	rc = 0;
out:
	if (crt)
		gnutls_x509_crt_deinit(crt);
	return rc;
}

static int new_key(gnutls_x509_privkey_t *key)
{
	int rc = -1;
	MS_TLS_CHECK(gnutls_x509_privkey_init(key));
	MS_TLS_CHECK(gnutls_x509_privkey_generate(*key, GNUTLS_PK_ECDSA,
						  GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0));
	rc = 0;
out:
	return rc;
}

static int make_certs(struct ms_server *ms)
{
	gnutls_x509_privkey_t cakey = NULL, srvkey = NULL, otherkey = NULL;
	gnutls_x509_crt_t ca = NULL, srv = NULL, other = NULL;
	char path[MS_PATH];
	int rc = -1;
	if (new_key(&cakey) || new_key(&srvkey) || new_key(&otherkey))
		goto out;
	if (make_cert(&ca, cakey, "Relais test CA", NULL, NULL) ||
	    make_cert(&srv, srvkey, "localhost", ca, cakey) ||
	    make_cert(&other, otherkey, "Relais unrelated CA", NULL, NULL))
		goto out;
	if (pathf(ms->cafile, "%s/ca.pem", ms->dir) || export_pem(ms->cafile, ca, NULL) ||
	    pathf(ms->othercafile, "%s/other-ca.pem", ms->dir) || export_pem(ms->othercafile, other, NULL) ||
	    pathf(path, "%s/server.pem", ms->dir) || export_pem(path, srv, NULL) ||
	    pathf(path, "%s/server.key", ms->dir) || export_pem(path, NULL, srvkey))
		goto out;
	rc = 0;
out:
	if (ca)
		gnutls_x509_crt_deinit(ca);
	if (srv)
		gnutls_x509_crt_deinit(srv);
	if (other)
		gnutls_x509_crt_deinit(other);
	if (cakey)
		gnutls_x509_privkey_deinit(cakey);
	if (srvkey)
		gnutls_x509_privkey_deinit(srvkey);
	if (otherkey)
		gnutls_x509_privkey_deinit(otherkey);
	return rc;
}

/* ---- configuration ---- */

static int write_dovecot_conf(struct ms_server *ms, const struct ms_ids *ids)
{
	char text[8192];
	char tls[2 * MS_PATH + 64] = "ssl = no\n";
	char imaps[256] = "";
	if (ms->tls) {
		snprintf(tls, sizeof(tls),
			 "ssl = required\n"
			 "ssl_cert = <%s/server.pem\n"
			 "ssl_key = <%s/server.key\n",
			 ms->dir, ms->dir);
		snprintf(imaps, sizeof(imaps),
			 "  inet_listener imaps {\n"
			 "    port = %d\n"
			 "    ssl = yes\n"
			 "  }\n",
			 ms->imaps_port);
	}
	int n = snprintf(text, sizeof(text),
			 "protocols = imap\n"
			 "listen = 127.0.0.1\n"
			 "%s"
			 "base_dir = %s/run\n"
			 "state_dir = %s/state\n"
			 "log_path = %s/dovecot.log\n"
			 "default_internal_user = %s\n"
			 "default_internal_group = %s\n"
			 "default_login_user = %s\n"
			 "mail_location = maildir:%s/mail/%%u/Maildir\n"
			 "passdb {\n"
			 "  driver = passwd-file\n"
			 "  args = scheme=PLAIN %s/users\n"
			 "}\n"
			 "userdb {\n"
			 "  driver = static\n"
			 "  args = uid=%s gid=%s home=%s/mail/%%u\n"
			 "}\n"
			 "service imap-login {\n"
			 "  inet_listener imap {\n"
			 "    port = %d\n"
			 "  }\n"
			 "%s"
			 "}\n"
			 "%s",
			 tls, ms->dir, ms->dir, ms->dir, ids->internal_user, ids->internal_group,
			 ids->login_user, ms->dir, ms->dir, ids->mail_user, ids->mail_group, ms->dir,
			 ms->imap_port, imaps,
			 /* Dovecot 2.3's own list after login, MOVE left out. */
			 ms->no_move ? "imap_capability = IMAP4rev1 SASL-IR LOGIN-REFERRALS ID "
				       "ENABLE IDLE SORT SORT=DISPLAY THREAD=REFERENCES "
				       "THREAD=REFS THREAD=ORDEREDSUBJECT MULTIAPPEND "
				       "URL-PARTIAL CATENATE UNSELECT CHILDREN NAMESPACE "
				       "UIDPLUS LIST-EXTENDED I18NLEVEL=1 CONDSTORE QRESYNC "
				       "ESEARCH ESORT SEARCHRES WITHIN CONTEXT=SEARCH "
				       "LIST-STATUS BINARY SPECIAL-USE\n" : "");
	if (n < 0 || (size_t)n >= sizeof(text))
		return -1;
	return write_file(ms->conf, text, (size_t)n, 0644);
}

static int make_tree(struct ms_server *ms, const struct ms_ids *ids)
{
	static const char *const sub[] = { "run", "state", "mail" };
	char path[MS_PATH];
	char users[256];
	/* mkdtemp makes 0700: the unprivileged mail uid must get through. */
	if (chmod(ms->dir, 0755))
		return -1;
	for (size_t i = 0; i < sizeof(sub) / sizeof(sub[0]); i++) {
		if (pathf(path, "%s/%s", ms->dir, sub[i]) || mkdir(path, 0755))
			return -1;
	}
	/* The sink runs as the mail uid and makes the maildirs of new users. */
	if (pathf(path, "%s/mail", ms->dir) || chown(path, ids->mail_uid, ids->mail_gid))
		return -1;
	if (pathf(path, "%s/mail/%s", ms->dir, MS_USER) || mkdir(path, 0700) ||
	    chown(path, ids->mail_uid, ids->mail_gid))
		return -1;
	if (pathf(ms->maildir, "%s/mail/%s/Maildir", ms->dir, MS_USER) || mkdir(ms->maildir, 0700) ||
	    chown(ms->maildir, ids->mail_uid, ids->mail_gid))
		return -1;
	static const char *const md[] = { "cur", "new", "tmp" };
	for (size_t i = 0; i < 3; i++) {
		if (pathf(path, "%s/%s", ms->maildir, md[i]) || mkdir(path, 0700) ||
		    chown(path, ids->mail_uid, ids->mail_gid))
			return -1;
	}
	int n = snprintf(users, sizeof(users), "%s:{PLAIN}%s\n", MS_USER, MS_PASSWORD);
	if (pathf(path, "%s/users", ms->dir) || write_file(path, users, (size_t)n, 0644))
		return -1;
	if (pathf(ms->passfile, "%s/password", ms->dir) ||
	    write_file(ms->passfile, MS_PASSWORD "\n", strlen(MS_PASSWORD) + 1, 0600))
		return -1;
	if (pathf(ms->badpassfile, "%s/bad-password", ms->dir) ||
	    write_file(ms->badpassfile, "pas-le-bon\n", 11, 0600))
		return -1;
	return 0;
}

/* ---- lifecycle ---- */

static void ms_cleanup(void *arg)
{
	struct ms_server *ms = arg;
	pid_t pids[2] = { ms->dovecot, ms->smtpd };
	const char *keep = getenv("RELAIS_TEST_KEEP");
	stop_pids(pids, 2);
	ms->dovecot = ms->smtpd = 0;
	if (keep && !strcmp(keep, "1"))
		fprintf(stderr, "  (kept %s)\n", ms->dir);
	else if (ms->dir[0])
		nftw(ms->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	ms->dir[0] = 0;
}

int ms_dovecot_start(struct ms_server *ms)
{
	char *argv[] = { (char *)"/usr/sbin/dovecot", (char *)"-F", (char *)"-c", ms->conf, NULL };
	char log[MS_PATH];
	if (ms->dovecot > 0)
		return 0;
	if (pathf(log, "%s/dovecot.out", ms->dir))
		return -1;
	ms->dovecot = spawn(argv, log, (uid_t)-1, (gid_t)-1);
	if (ms->dovecot < 0) {
		ms->dovecot = 0;
		return -1;
	}
	int rc = wait_port(ms->dovecot, ms->imap_port, "dovecot");
	if (rc == 0 && ms->imaps_port)
		rc = wait_port(ms->dovecot, ms->imaps_port, "dovecot (imaps)");
	if (rc) {
		ms_dump_log(ms);
		pid_t p[1] = { ms->dovecot };
		stop_pids(p, 1);
		ms->dovecot = 0;
	}
	return rc;
}

/* Dovecot's master leaves running imap sessions alone when it stops;
 * kicking the user first makes the stop cut every connection, as a server
 * going away would. */
static void kick_user(struct ms_server *ms)
{
	char *argv[] = { (char *)"/usr/bin/doveadm", (char *)"-c", ms->conf, (char *)"kick",
			 (char *)MS_USER, NULL };
	char log[MS_PATH];
	if (pathf(log, "%s/doveadm.log", ms->dir))
		return;
	pid_t pid = spawn(argv, log, (uid_t)-1, (gid_t)-1);
	if (pid < 0)
		return;
	pid_t p[1] = { pid };
	int64_t end = mono_ms() + MS_STOP_MS;
	while (mono_ms() < end) {
		pid_t r = waitpid(pid, NULL, WNOHANG);
		if (r == pid || (r < 0 && errno != EINTR))
			return;
		nap_ms(10);
	}
	stop_pids(p, 1);
}

int ms_dovecot_stop(struct ms_server *ms)
{
	if (ms->dovecot > 0)
		kick_user(ms);
	pid_t p[1] = { ms->dovecot };
	stop_pids(p, 1);
	ms->dovecot = 0;
	return 0;
}

static int smtp_start(struct ms_server *ms, const struct ms_ids *ids)
{
	char listen[64], cert[MS_PATH], key[MS_PATH], log[MS_PATH];
	char script[MS_PATH], root[MS_PATH];
	char *argv[16];
	int n = 0;
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", ms->smtp_port);
	if (pathf(cert, "%s/server.pem", ms->dir) || pathf(key, "%s/server.key", ms->dir) ||
	    pathf(log, "%s/smtpd.log", ms->dir))
		return -1;
	argv[n++] = (char *)"/usr/bin/python3";
	if (ms->sink) {
		const char *corpus = getenv("RELAIS_MAIL_CORPUS");
		if (pathf(script, "%s/smtp-sink.py", corpus && *corpus ? corpus : "tests/mail") ||
		    pathf(root, "%s/mail", ms->dir))
			return -1;
		if (script[0] != '/') {
			char cwd[MS_PATH];
			char rel[MS_PATH];
			memcpy(rel, script, sizeof(rel));
			/* The sink runs from anywhere: give it an absolute path. */
			if (!getcwd(cwd, sizeof(cwd)) || pathf(script, "%s/%s", cwd, rel))
				return -1;
		}
		if (access(script, R_OK)) {
			fprintf(stderr, "ms: %s: %s\n", script, strerror(errno));
			return -1;
		}
		argv[n++] = script;
		argv[n++] = listen;
		argv[n++] = root;
		if (ms->tls) {
			argv[n++] = cert;
			argv[n++] = key;
		}
	} else {
		argv[n++] = (char *)"-m";
		argv[n++] = (char *)"aiosmtpd";
		argv[n++] = (char *)"-n";
		argv[n++] = (char *)"-l";
		argv[n++] = listen;
		if (ms->tls) {
			argv[n++] = (char *)"--tlscert";
			argv[n++] = cert;
			argv[n++] = (char *)"--tlskey";
			argv[n++] = key;
		}
		argv[n++] = (char *)"-c";
		argv[n++] = (char *)"aiosmtpd.handlers.Mailbox";
		argv[n++] = ms->maildir;
	}
	argv[n] = NULL;
	/* Mail must belong to the mail uid, which Dovecot reads as. */
	ms->smtpd = spawn(argv, log, ids->mail_uid, ids->mail_gid);
	if (ms->smtpd < 0) {
		ms->smtpd = 0;
		return -1;
	}
	int rc = wait_port(ms->smtpd, ms->smtp_port, "aiosmtpd");
	if (rc) {
		FILE *f = fopen(log, "r");
		if (f) {
			char line[512];
			while (fgets(line, sizeof(line), f))
				fputs(line, stderr);
			fclose(f);
		}
		pid_t p[1] = { ms->smtpd };
		stop_pids(p, 1);
		ms->smtpd = 0;
	}
	return rc;
}

int ms_start(struct ms_server *ms, int flags)
{
	const char *tmp = getenv("TMPDIR");
	struct ms_ids ids;
	memset(ms, 0, sizeof(*ms));
	ms->tls = !!(flags & MS_TLS);
	ms->sink = !!(flags & MS_SINK);
	ms->no_move = !!(flags & MS_NO_MOVE);
	if (!tmp || !*tmp)
		tmp = "/tmp";
	if (pathf(ms->dir, "%s/relais-mail-XXXXXX", tmp))
		return -1;
	if (!mkdtemp(ms->dir)) {
		perror("mkdtemp");
		ms->dir[0] = 0;
		return -1;
	}
	signal(SIGPIPE, SIG_IGN);
	test_defer(ms_cleanup, ms);
	if (get_ids(&ids))
		return -1;
	ms->mail_uid = ids.mail_uid;
	ms->mail_gid = ids.mail_gid;
	if (make_tree(ms, &ids) || pathf(ms->conf, "%s/dovecot.conf", ms->dir) ||
	    pathf(ms->log, "%s/dovecot.log", ms->dir)) {
		fprintf(stderr, "ms: cannot prepare %s\n", ms->dir);
		return -1;
	}
	if (ms->tls && make_certs(ms))
		return -1;
	/* A port found free can be taken before the server binds it: retry. */
	for (int attempt = 0; attempt < 3; attempt++) {
		ms->imap_port = free_port();
		ms->imaps_port = ms->tls ? free_port() : 0;
		if (ms->imap_port < 0 || ms->imaps_port < 0 || write_dovecot_conf(ms, &ids))
			return -1;
		int rc = ms_dovecot_start(ms);
		if (rc == 0)
			break;
		if (rc != -2 || attempt == 2)
			return -1;
	}
	for (int attempt = 0; attempt < 3; attempt++) {
		ms->smtp_port = free_port();
		if (ms->smtp_port < 0)
			return -1;
		int rc = smtp_start(ms, &ids);
		if (rc == 0)
			break;
		if (rc != -2 || attempt == 2)
			return -1;
	}
	snprintf(ms->smtp_url, sizeof(ms->smtp_url), "smtp://127.0.0.1:%d", ms->smtp_port);
	return 0;
}

void ms_dump_log(const struct ms_server *ms)
{
	FILE *f = fopen(ms->log, "r");
	char line[512];
	long lines = 0;
	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		lines++;
	rewind(f);
	for (long i = 0; fgets(line, sizeof(line), f); i++)
		if (i >= lines - 30)
			fprintf(stderr, "  dovecot: %s", line);
	fclose(f);
}

/* ---- delivery and inspection ---- */

struct ms_reader {
	const unsigned char *p;
	size_t left;
};

static size_t read_cb(char *dst, size_t size, size_t nmemb, void *arg)
{
	struct ms_reader *r = arg;
	size_t n = size * nmemb;
	if (n > r->left)
		n = r->left;
	memcpy(dst, r->p, n);
	r->p += n;
	r->left -= n;
	return n;
}

int ms_send(struct ms_server *ms, const char *rcpt_addr, const void *msg, size_t len)
{
	struct ms_reader r = { msg, len };
	struct curl_slist *rcpt = NULL;
	char err[CURL_ERROR_SIZE] = "";
	char to[300];
	int rc = -1;
	CURL *c = curl_easy_init();
	if (!c)
		return -1;
	if (snprintf(to, sizeof(to), "<%s>", rcpt_addr) >= (int)sizeof(to))
		goto out;
	rcpt = curl_slist_append(NULL, to);
	if (!rcpt)
		goto out;
	curl_easy_setopt(c, CURLOPT_URL, ms->smtp_url);
	curl_easy_setopt(c, CURLOPT_MAIL_FROM, "<test@localhost>");
	curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
	curl_easy_setopt(c, CURLOPT_READFUNCTION, read_cb);
	curl_easy_setopt(c, CURLOPT_READDATA, &r);
	curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, err);
	if (ms->tls) {
		curl_easy_setopt(c, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
		curl_easy_setopt(c, CURLOPT_CAINFO, ms->cafile);
	}
	CURLcode cc = curl_easy_perform(c);
	if (cc != CURLE_OK) {
		fprintf(stderr, "ms: SMTP delivery failed: %s (%s)\n", curl_easy_strerror(cc), err);
		goto out;
	}
	rc = 0;
out:
	curl_slist_free_all(rcpt);
	curl_easy_cleanup(c);
	return rc;
}

int ms_deliver(struct ms_server *ms, const void *msg, size_t len)
{
	int before = ms_count(ms, "INBOX");
	if (ms_send(ms, MS_ADDRESS, msg, len))
		return -1;
	/* The Mailbox handler writes before it answers 250, but be safe. */
	for (int i = 0; i < 250; i++) {
		if (ms_count(ms, "INBOX") > before)
			return 0;
		nap_ms(20);
	}
	fprintf(stderr, "ms: delivered message never appeared in %s\n", ms->maildir);
	return -1;
}

static int folder_dir(const struct ms_server *ms, const char *user, const char *folder,
		      const char *sub, char out[MS_PATH])
{
	if (!user || !strcmp(user, MS_USER)) {
		if (!strcmp(folder, "INBOX"))
			return pathf(out, "%s/%s", ms->maildir, sub);
		return pathf(out, "%s/.%s/%s", ms->maildir, folder, sub); /* Maildir++ */
	}
	if (!strcmp(folder, "INBOX"))
		return pathf(out, "%s/mail/%s/Maildir/%s", ms->dir, user, sub);
	return pathf(out, "%s/mail/%s/Maildir/.%s/%s", ms->dir, user, folder, sub);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int ms_list(const struct ms_server *ms, const char *folder, char ***names)
{
	return ms_user_list(ms, NULL, folder, names);
}

int ms_user_list(const struct ms_server *ms, const char *user, const char *folder, char ***names)
{
	static const char *const subs[] = { "new", "cur" };
	char **v = NULL;
	int n = 0, found = 0;
	*names = NULL;
	for (int s = 0; s < 2; s++) {
		char dir[MS_PATH];
		if (folder_dir(ms, user, folder, subs[s], dir))
			goto fail;
		DIR *d = opendir(dir);
		if (!d)
			continue;
		found = 1;
		struct dirent *e;
		while ((e = readdir(d))) {
			if (e->d_name[0] == '.')
				continue;
			if (n == MS_MAX_NAMES) {
				closedir(d);
				goto fail;
			}
			char **w = realloc(v, (size_t)(n + 1) * sizeof(*v));
			char full[MS_PATH];
			if (!w || pathf(full, "%s/%s", subs[s], e->d_name)) {
				free(w ? w : v);
				v = NULL;
				closedir(d);
				n = 0;
				goto fail;
			}
			v = w;
			v[n] = strdup(full);
			if (!v[n]) {
				closedir(d);
				goto fail;
			}
			n++;
		}
		closedir(d);
	}
	if (!found)
		return user && !strcmp(folder, "INBOX") ? 0 : -1;
	if (n > 1)
		qsort(v, (size_t)n, sizeof(*v), cmp_names);
	*names = v;
	return n;
fail:
	for (int i = 0; i < n; i++)
		free(v[i]);
	free(v);
	return -1;
}

int ms_count(const struct ms_server *ms, const char *folder)
{
	return ms_user_count(ms, NULL, folder);
}

void ms_free_names(char **names, int n)
{
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

int ms_user_count(const struct ms_server *ms, const char *user, const char *folder)
{
	char **names;
	int n = ms_user_list(ms, user, folder, &names);
	ms_free_names(names, n);
	return n;
}

char *ms_read(const struct ms_server *ms, const char *folder, const char *name, size_t *len)
{
	return ms_user_read(ms, NULL, folder, name, len);
}

/* A whole file (under 64 MiB) in a malloc'ed NUL-terminated string, or NULL. */
static char *read_path(const char *path, size_t *len)
{
	char *s = NULL;
	struct stat st;
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	if (fstat(fileno(f), &st) == 0 && st.st_size >= 0 && st.st_size < (64 << 20)) {
		s = malloc((size_t)st.st_size + 1);
		if (s && fread(s, 1, (size_t)st.st_size, f) == (size_t)st.st_size) {
			s[st.st_size] = 0;
			if (len)
				*len = (size_t)st.st_size;
		} else {
			free(s);
			s = NULL;
		}
	}
	fclose(f);
	return s;
}

char *ms_user_read(const struct ms_server *ms, const char *user, const char *folder,
		   const char *name, size_t *len)
{
	char dir[MS_PATH], path[MS_PATH];
	/* name is "new/..." or "cur/...": start from the folder itself. */
	if (folder_dir(ms, user, folder, "", dir) || pathf(path, "%s%s", dir, name))
		return NULL;
	return read_path(path, len);
}

int ms_sink_refuse(struct ms_server *ms, const char *local, const char *reply)
{
	char path[MS_PATH], line[512];
	if (!ms->sink || pathf(path, "%s/mail/REFUS", ms->dir))
		return -1;
	if (!reply)
		return unlink(path) && errno != ENOENT ? -1 : 0;
	int n = snprintf(line, sizeof(line), "%s %s\n", local, reply);
	if (n < 0 || (size_t)n >= sizeof(line) || strpbrk(local, " \n") || strchr(reply, '\n'))
		return -1;
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, line, (size_t)n) != n) {
		fprintf(stderr, "ms: cannot write %s\n", path);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return close(fd);
}

char *ms_sink_rcpts(const struct ms_server *ms)
{
	char path[MS_PATH];
	if (!ms->sink || pathf(path, "%s/mail/RCPT.log", ms->dir))
		return NULL;
	char *s = read_path(path, NULL);
	return s ? s : (access(path, F_OK) ? strdup("") : NULL);
}

/* Makes dir (mode 0700) owned by the mail uid; an existing one is fine. */
static int mail_mkdir(const struct ms_server *ms, const char *dir)
{
	if (mkdir(dir, 0700) && errno != EEXIST) {
		fprintf(stderr, "ms: mkdir %s: %s\n", dir, strerror(errno));
		return -1;
	}
	if (geteuid() == 0 && chown(dir, ms->mail_uid, ms->mail_gid)) {
		fprintf(stderr, "ms: chown %s: %s\n", dir, strerror(errno));
		return -1;
	}
	return 0;
}

int ms_add_user(struct ms_server *ms, const char *user)
{
	static const char *const md[] = { "cur", "new", "tmp" };
	char path[MS_PATH], line[256];
	size_t len = strlen(user);
	if (len == 0 || len > 64 || strspn(user, "abcdefghijklmnopqrstuvwxyz0123456789._-") != len ||
	    user[0] == '.') {
		fprintf(stderr, "ms: bad user name \"%s\"\n", user);
		return -1;
	}
	if (pathf(path, "%s/mail/%s", ms->dir, user) || mail_mkdir(ms, path) ||
	    pathf(path, "%s/mail/%s/Maildir", ms->dir, user) || mail_mkdir(ms, path))
		return -1;
	for (size_t i = 0; i < 3; i++)
		if (pathf(path, "%s/mail/%s/Maildir/%s", ms->dir, user, md[i]) || mail_mkdir(ms, path))
			return -1;
	int n = snprintf(line, sizeof(line), "%s:{PLAIN}%s\n", user, MS_PASSWORD);
	if (n < 0 || (size_t)n >= sizeof(line) || pathf(path, "%s/users", ms->dir))
		return -1;
	/* passwd-file is read again by Dovecot when it changes. */
	int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fd < 0 || write(fd, line, (size_t)n) != n) {
		fprintf(stderr, "ms: cannot add %s to %s\n", user, path);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return close(fd);
}

int ms_put(struct ms_server *ms, const void *msg, size_t len)
{
	static unsigned seq;
	char tmp[MS_PATH], dst[MS_PATH];
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	seq++;
	if (pathf(tmp, "%s/tmp/%lld.M%ldP%dQ%u.relais-test", ms->maildir, (long long)ts.tv_sec,
		  ts.tv_nsec / 1000, (int)getpid(), seq) ||
	    pathf(dst, "%s/new/%lld.M%ldP%dQ%u.relais-test", ms->maildir, (long long)ts.tv_sec,
		  ts.tv_nsec / 1000, (int)getpid(), seq))
		return -1;
	if (write_file(tmp, msg, len, 0600))
		return -1;
	if (geteuid() == 0 && chown(tmp, ms->mail_uid, ms->mail_gid)) {
		fprintf(stderr, "ms: chown %s: %s\n", tmp, strerror(errno));
		unlink(tmp);
		return -1;
	}
	if (rename(tmp, dst)) {
		fprintf(stderr, "ms: rename %s: %s\n", tmp, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}
