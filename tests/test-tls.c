/*
 * test-tls.c - TLS through nginx in front of relaisd (docs/tls.md): a
 * private nginx (configuration, pid, logs and temporary files in the test
 * directory, listening on 127.0.0.1 only) with a certificate from a CA made
 * at test time with openssl proxies to a harness relaisd; a real relais
 * replica initialised with that CA syncs through https, and clients that
 * trust another CA, or only the system's store, are refused.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include "harness.h"
#include "test.h"

#define NGINX "/usr/sbin/nginx"
#define OPENSSL "/usr/bin/openssl"

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static int write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	int ok = fputs(text, f) >= 0;
	ok &= fclose(f) == 0;
	return ok ? 0 : -1;
}

/* Runs openssl with the arguments of line (split on spaces; the subjects
 * here have none). */
static int openssl(const char *line)
{
	char *copy = h_strf("%s", line), *argv[40];
	int n = 0;
	argv[n++] = (char *)OPENSSL;
	for (char *p = copy; *p && n < 39;) {
		while (*p == ' ')
			*p++ = 0;
		if (!*p)
			break;
		argv[n++] = p;
		while (*p && *p != ' ')
			p++;
	}
	argv[n] = NULL;
	struct h_out *o = h_runv(argv, H_TIMEOUT_MS);
	if (o->status != 0) {
		fprintf(stderr, "  `%s` failed (%d): %s\n", o->cmd, o->status, o->err);
		return -1;
	}
	return 0;
}

/* A CA (name.pem, name.key) valid two days. */
static int make_ca(const char *name)
{
	return openssl(h_strf("req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
			      "-keyout %s.key -out %s.pem -days 2 -subj /CN=Relais-test-%s "
			      "-addext basicConstraints=critical,CA:TRUE "
			      "-addext keyUsage=critical,keyCertSign,cRLSign",
			      h_path(name), h_path(name), name));
}

/* server.pem / server.key for 127.0.0.1 and localhost, signed by ca. */
static int make_server_cert(const char *ca)
{
	const char *ext = h_path("server.ext");
	if (write_text(ext, "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
			    "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
			    "extendedKeyUsage=serverAuth\n"))
		return -1;
	if (openssl(h_strf("req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout %s "
			   "-out %s -subj /CN=127.0.0.1", h_path("server.key"), h_path("server.csr"))))
		return -1;
	return openssl(h_strf("x509 -req -in %s -CA %s.pem -CAkey %s.key -set_serial 4242 "
			      "-days 2 -out %s -extfile %s", h_path("server.csr"), h_path(ca),
			      h_path(ca), h_path("server.pem"), ext));
}

static int free_port(void)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port = -1;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

static int port_open(int port)
{
	struct sockaddr_in a;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons((uint16_t)port);
	int ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

static pid_t nginx_pid;

/* Always stops nginx, also when the test failed: SIGQUIT is nginx's
 * graceful stop, SIGKILL if it lingers. */
static void stop_nginx(void *arg)
{
	(void)arg;
	if (nginx_pid <= 0)
		return;
	kill(nginx_pid, SIGQUIT);
	for (int i = 0; i < 100; i++) {
		if (waitpid(nginx_pid, NULL, WNOHANG) == nginx_pid) {
			nginx_pid = 0;
			return;
		}
		sleep_ms(20);
	}
	kill(nginx_pid, SIGKILL);
	waitpid(nginx_pid, NULL, 0);
	nginx_pid = 0;
}

/*
 * The configuration of docs/nginx-relais.conf, with every path in the test
 * directory, one process in the foreground (the test owns it) and
 * 127.0.0.1 only.
 */
static const char *nginx_conf(int port, int upstream)
{
	const char *dir = h_path("nginx");
	return h_strf(
		"%s"
		"daemon off;\n"
		"master_process off;\n"
		"worker_processes 1;\n"
		"pid %s/nginx.pid;\n"
		"error_log %s/error.log info;\n"
		"events { worker_connections 64; }\n"
		"http {\n"
		"  access_log %s/access.log;\n"
		"  client_body_temp_path %s/body;\n"
		"  proxy_temp_path %s/proxy;\n"
		"  fastcgi_temp_path %s/fastcgi;\n"
		"  uwsgi_temp_path %s/uwsgi;\n"
		"  scgi_temp_path %s/scgi;\n"
		"  server {\n"
		"    listen 127.0.0.1:%d ssl;\n"
		"    ssl_certificate %s;\n"
		"    ssl_certificate_key %s;\n"
		"    ssl_protocols TLSv1.2 TLSv1.3;\n"
		"    client_max_body_size 16m;\n"
		"    location / {\n"
		"      proxy_pass http://127.0.0.1:%d;\n"
		"      proxy_http_version 1.1;\n"
		"      proxy_set_header Connection \"\";\n"
		"      proxy_set_header Host $host;\n"
		"      proxy_set_header X-Real-IP $remote_addr;\n"
		"      proxy_set_header X-Forwarded-For $remote_addr;\n"
		"      proxy_set_header X-Forwarded-Proto https;\n"
		"      proxy_read_timeout 120s;\n"
		"    }\n"
		"  }\n"
		"}\n",
		geteuid() == 0 ? "user root;\n" : "", dir, dir, dir, dir, dir, dir, dir, dir, port,
		h_path("server.pem"), h_path("server.key"), upstream);
}

/* Starts nginx on a free port of 127.0.0.1 in front of upstream; returns
 * the port, or -1. */
static int start_nginx(int upstream)
{
	const char *dir = h_path("nginx");
	if (mkdir(dir, 0700) && errno != EEXIST)
		return -1;
	for (int attempt = 0; attempt < 3; attempt++) {
		int port = free_port();
		const char *conf = h_strf("%s/nginx.conf", dir);
		if (port < 0 || write_text(conf, nginx_conf(port, upstream)))
			return -1;
		int out = open(h_strf("%s/stderr.log", dir), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
			       0600);
		if (out < 0)
			return -1;
		fflush(NULL);
		pid_t pid = fork();
		if (pid < 0) {
			close(out);
			return -1;
		}
		if (pid == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			int in = open("/dev/null", O_RDONLY);
			if (in < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
				_exit(126);
			/* -e: the error log before the configuration is read, which
			 * would otherwise go to /var/log/nginx. */
			execl(NGINX, "nginx", "-p", dir, "-e", h_strf("%s/error.log", dir), "-c", conf,
			      (char *)NULL);
			_exit(127);
		}
		close(out);
		nginx_pid = pid;
		for (int waited = 0; waited < 10000; waited += 20) {
			if (port_open(port))
				return port;
			if (waitpid(pid, NULL, WNOHANG) == pid) {
				nginx_pid = 0;
				break;
			}
			sleep_ms(20);
		}
		stop_nginx(NULL);
		fprintf(stderr, "  nginx did not listen on %d (attempt %d): %s\n", port, attempt,
			h_read_file(h_strf("%s/error.log", dir), NULL));
	}
	return -1;
}

TEST(tls_sync_through_nginx)
{
	struct h_daemon d;
	char token[H_TOKEN];
	h_setup();
	if (access(NGINX, X_OK) || access(OPENSSL, X_OK)) {
		test_fail(__FILE__, __LINE__, "nginx or openssl missing: apt-get install nginx-light openssl");
		return;
	}
	CHECK_INT(make_ca("ca"), 0);
	CHECK_INT(make_ca("autre"), 0);
	CHECK_INT(make_server_cert("ca"), 0);

	/* relaisd trusts its proxy's X-Real-IP (docs/tls.md). */
	CHECK_INT(h_daemon_init(&d, "srv"), 0);
	CHECK_INT(h_daemon_user(&d, "coord", "43", "coordinateur", token), 0);
	const char *conf = h_path("relaisd.conf");
	CHECK_INT(write_text(conf, "[securite]\nproxy_confiance = 127.0.0.1\n"), 0);
	CHECK(chmod(conf, 0600) == 0);
	snprintf(d.config, sizeof(d.config), "%s", conf);
	CHECK_INT(h_daemon_serve(&d), 0);

	test_defer(stop_nginx, NULL);
	int port = start_nginx(d.port);
	CHECK(port > 0);
	const char *url = h_strf("https://127.0.0.1:%d", port);

	/* init with the CA: it is kept in the home and used by later commands. */
	const char *home = h_path("rep");
	CHECK(setenv("RELAIS_CA", h_path("ca.pem"), 1) == 0);
	struct h_out *o = h_relais(home, "init", "--server", url, "--token", token, (char *)NULL);
	CHECK_INT(o->status, 0);
	CHECK(unsetenv("RELAIS_CA") == 0);
	const char *kept = h_read_file(h_strf("%s/ca.pem", home), NULL);
	CHECK(kept != NULL);
	CHECK_STR(kept, h_read_file(h_path("ca.pem"), NULL));
	const char *id = h_relais_ok(home, "structure", "add", "--nom", "MJC chiffrée", "--commune",
				     "Yssingeaux", (char *)NULL);
	CHECK(id != NULL);
	o = h_relais(home, "sync", (char *)NULL);
	CHECK_INT(o->status, 0);
	CHECK(strstr(o->out, "1 modification envoyée") != NULL);

	/* The row reached relaisd: a replica on plain loopback HTTP sees it. */
	const char *direct = h_replica(&d, "direct", token);
	CHECK(direct != NULL);
	json_t *exp = h_export(direct);
	CHECK(exp != NULL);
	CHECK_STR(h_row_str(h_export_row(exp, "structure", id), "nom"), "MJC chiffrée");
	/* ...and it went through nginx. */
	const char *access_log = h_read_file(h_path("nginx/access.log"), NULL);
	CHECK(access_log != NULL);
	CHECK(strstr(access_log, "POST /v1/sync") != NULL);
	CHECK(strstr(access_log, "GET /v1/amorce") != NULL);

	/* A client that trusts another CA, or only the system's store, is
	 * refused before any byte of the token leaves. */
	static const char *const cas[] = { "autre.pem", NULL };
	for (size_t i = 0; i < 2; i++) {
		if (cas[i])
			CHECK_IDX(setenv("RELAIS_CA", h_path(cas[i]), 1) == 0, i);
		else
			CHECK_IDX(unsetenv("RELAIS_CA") == 0, i);
		const char *h = h_path(h_strf("refused%zu", i));
		o = h_relais(h, "init", "--server", url, "--token", token, (char *)NULL);
		CHECK_INT_IDX(o->status != 0, 1, i);
		CHECK_IDX(strstr(o->err, "certificat du serveur refusé") != NULL, i);
	}
	/* $RELAIS_CA wins over the stored CA: the wrong one makes sync fail. */
	CHECK(setenv("RELAIS_CA", h_path("autre.pem"), 1) == 0);
	o = h_relais(home, "sync", (char *)NULL);
	CHECK(o->status != 0);
	CHECK(strstr(o->err, "certificat du serveur refusé") != NULL);
	CHECK(unsetenv("RELAIS_CA") == 0);
	o = h_relais(home, "sync", (char *)NULL);
	CHECK_INT(o->status, 0);
	/* The token crossed nginx and relaisd many times: never logged. */
	const char *log = h_read_file(d.log, NULL);
	CHECK(log != NULL && strstr(log, token) == NULL);
	stop_nginx(NULL);
	CHECK_INT(h_daemon_stop(&d), 0);
}
