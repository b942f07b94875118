/*
 * imap.c - blocking IMAP client on libetpan, with our own socket and TLS.
 *
 * libetpan parses IMAP; the bytes go through a mailstream_low driver of
 * ours (struct ilow) so that we decide how TLS is verified, how long a
 * socket operation may take and how many bytes one command may read.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <libetpan/libetpan.h>
#include "../common/util.h"
#include "imap.h"

#define ILOW_BUFFER 8192
#define FETCH_SLACK (64u << 10) /* protocol text around a fetched literal */

enum ilow_state { ILOW_OK, ILOW_NETERR, ILOW_CAPPED };

/* The stream driver's state; owned by the mailstream_low (freed with it). */
struct ilow {
	int fd;
	gnutls_session_t tls;
	gnutls_certificate_credentials_t cred;
	int timeout_ms;
	size_t nread, cap;  /* bytes read for the current command, its cap */
	enum ilow_state state;
	char err[160];
};

struct mailgw_imap {
	mailimap *imap;
	struct ilow *low;  /* inside imap's stream; NULL once the stream is gone */
	char *host;
	int timeout_ms;
	size_t max_message;
	int no_move;
	int selected;
	char folder[MAILGW_IMAP_FOLDER_MAX + 1]; /* the selected folder */
	uint32_t uidvalidity;                    /* and its UIDVALIDITY */
	int dead;          /* after RELAIS_ENET: every call fails the same way */
	char err[256];
};

/* ---- the stream driver ---- */

static ssize_t ilow_read(mailstream_low *s, void *p, size_t n)
{
	struct ilow *d = s->data;
	ssize_t r;
	if (d->fd < 0 || d->state != ILOW_OK)
		return -1;
	if (d->nread >= d->cap) {
		d->state = ILOW_CAPPED;
		snprintf(d->err, sizeof(d->err), "réponse du serveur IMAP au-delà de %zu octets", d->cap);
		return -1;
	}
	if (n > d->cap - d->nread)
		n = d->cap - d->nread;
	for (;;) {
		/* Wait here rather than in recv(): GnuTLS also answers E_AGAIN
		 * after a TLS 1.3 post-handshake message, which is no timeout. */
		if (!d->tls || gnutls_record_check_pending(d->tls) == 0) {
			struct pollfd pf = { d->fd, POLLIN, 0 };
			int pn = poll(&pf, 1, d->timeout_ms);
			if (pn < 0 && errno == EINTR)
				continue;
			if (pn <= 0) {
				snprintf(d->err, sizeof(d->err), "read: %s",
					 pn == 0 ? "timed out" : util_errno_fr(errno));
				d->state = ILOW_NETERR;
				return -1;
			}
		}
		if (d->tls) {
			r = gnutls_record_recv(d->tls, p, n);
			if (r == GNUTLS_E_INTERRUPTED || r == GNUTLS_E_AGAIN)
				continue;
			if (r < 0) {
				snprintf(d->err, sizeof(d->err), "TLS: %s", gnutls_strerror((int)r));
				d->state = ILOW_NETERR;
				return -1;
			}
		} else {
			r = recv(d->fd, p, n, 0);
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0) {
				snprintf(d->err, sizeof(d->err), "recv: %s", util_errno_fr(errno));
				d->state = ILOW_NETERR;
				return -1;
			}
		}
		break;
	}
	if (r == 0) {
		snprintf(d->err, sizeof(d->err), "connection closed by the server");
		d->state = ILOW_NETERR;
	}
	d->nread += (size_t)r;
	return r;
}

static ssize_t ilow_write(mailstream_low *s, const void *p, size_t n)
{
	struct ilow *d = s->data;
	const char *q = p;
	size_t left = n;
	if (d->fd < 0 || d->state != ILOW_OK)
		return -1;
	while (left > 0) {
		ssize_t w;
		if (d->tls) {
			w = gnutls_record_send(d->tls, q, left);
			if (w == GNUTLS_E_INTERRUPTED)
				continue;
			if (w < 0) {
				snprintf(d->err, sizeof(d->err), "TLS: %s", gnutls_strerror((int)w));
				d->state = ILOW_NETERR;
				return -1;
			}
		} else {
			w = send(d->fd, q, left, MSG_NOSIGNAL);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				snprintf(d->err, sizeof(d->err), "send: %s", util_errno_fr(errno));
				d->state = ILOW_NETERR;
				return -1;
			}
		}
		q += w;
		left -= (size_t)w;
	}
	return (ssize_t)n;
}

static int ilow_close(mailstream_low *s)
{
	struct ilow *d = s->data;
	if (d->fd >= 0)
		close(d->fd);
	d->fd = -1;
	return 0;
}

static int ilow_get_fd(mailstream_low *s)
{
	struct ilow *d = s->data;
	return d->fd;
}

static void ilow_destroy(struct ilow *d)
{
	if (!d)
		return;
	if (d->tls)
		gnutls_deinit(d->tls);
	if (d->cred)
		gnutls_certificate_free_credentials(d->cred);
	if (d->fd >= 0)
		close(d->fd);
	free(d);
}

static void ilow_free(mailstream_low *s)
{
	ilow_destroy(s->data);
	s->data = NULL;
	free(s);
}

static void ilow_cancel(mailstream_low *s)
{
	(void)s;
}

static struct mailstream_cancel *ilow_get_cancel(mailstream_low *s)
{
	(void)s;
	return NULL;
}

static carray *ilow_get_chain(mailstream_low *s)
{
	(void)s;
	return NULL;
}

/* We wait for IDLE data with poll() ourselves. */
static int ilow_idle_unsupported(mailstream_low *s)
{
	(void)s;
	return -1;
}

static mailstream_low_driver ilow_driver = {
	.mailstream_read = ilow_read,
	.mailstream_write = ilow_write,
	.mailstream_close = ilow_close,
	.mailstream_get_fd = ilow_get_fd,
	.mailstream_free = ilow_free,
	.mailstream_cancel = ilow_cancel,
	.mailstream_get_cancel = ilow_get_cancel,
	.mailstream_get_certificate_chain = ilow_get_chain,
	.mailstream_setup_idle = ilow_idle_unsupported,
	.mailstream_unsetup_idle = ilow_idle_unsupported,
	.mailstream_interrupt_idle = ilow_idle_unsupported,
};

/* ---- errors ---- */

static void set_err(struct mailgw_imap *c, const char *what)
{
	const char *detail = "";
	if (c->low && c->low->err[0])
		detail = c->low->err;
	else if (c->imap && c->imap->imap_response)
		detail = c->imap->imap_response;
	snprintf(c->err, sizeof(c->err), "%s%s%s", what, detail[0] ? ": " : "", detail);
}

/* Converts a libetpan result; the state of our driver tells a cut or an
 * overflow apart from a parse error, which libetpan reports alike. */
static int conv(struct mailgw_imap *c, int r, const char *what)
{
	int rc;
	if (r == MAILIMAP_NO_ERROR || r == MAILIMAP_NO_ERROR_AUTHENTICATED ||
	    r == MAILIMAP_NO_ERROR_NON_AUTHENTICATED)
		return 0;
	set_err(c, what);
	if (c->low && c->low->state == ILOW_CAPPED) {
		rc = RELAIS_ETOOBIG;
		c->dead = 1; /* the rest of the response is still on the wire */
		return rc;
	}
	if (c->low && c->low->state == ILOW_NETERR)
		r = MAILIMAP_ERROR_STREAM;
	switch (r) {
	case MAILIMAP_ERROR_STREAM:
	case MAILIMAP_ERROR_CONNECTION_REFUSED:
	case MAILIMAP_ERROR_FATAL:
	case MAILIMAP_ERROR_SSL:
	case MAILIMAP_ERROR_DONT_ACCEPT_CONNECTION:
		rc = RELAIS_ENET;
		break;
	case MAILIMAP_ERROR_MEMORY:
		rc = RELAIS_ENOMEM;
		break;
	case MAILIMAP_ERROR_LOGIN:
		rc = RELAIS_EAUTH;
		break;
	case MAILIMAP_ERROR_PARSE:
		/* We no longer know where the next response starts. */
		c->dead = 1;
		rc = RELAIS_EPROTO;
		break;
	default:
		rc = RELAIS_EPROTO;
		break;
	}
	if (rc == RELAIS_ENET || rc == RELAIS_ENOMEM)
		c->dead = 1;
	return rc;
}

/* Starts a command: refuses on a dead connection and sets the read cap. */
static int begin(struct mailgw_imap *c, size_t cap)
{
	if (c->dead || !c->low) {
		snprintf(c->err, sizeof(c->err), "connection lost");
		return RELAIS_ENET;
	}
	c->err[0] = 0;
	c->low->nread = 0;
	c->low->cap = cap;
	return 0;
}

const char *mailgw_imap_error(const struct mailgw_imap *c)
{
	return c ? c->err : "";
}

/* ---- connecting ---- */

static int is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		return IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
	}
	return 0;
}

static int set_timeouts(int fd, int timeout_ms)
{
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)))
		return -1;
	return 0;
}

/* Non-blocking connect bounded by timeout_ms, then back to blocking with
 * SO_RCVTIMEO/SO_SNDTIMEO so that every later read and write is bounded. */
static int connect_one(const struct addrinfo *ai, int timeout_ms, char *err, size_t errlen)
{
	int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", util_errno_fr(errno));
		return -1;
	}
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		if (errno != EINPROGRESS) {
			snprintf(err, errlen, "connect: %s", util_errno_fr(errno));
			goto fail;
		}
		struct pollfd pf = { fd, POLLOUT, 0 };
		int n;
		do
			n = poll(&pf, 1, timeout_ms);
		while (n < 0 && errno == EINTR);
		int soerr = 0;
		socklen_t len = sizeof(soerr);
		if (n == 0) {
			snprintf(err, errlen, "connect: timed out");
			goto fail;
		}
		if (n < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) || soerr) {
			snprintf(err, errlen, "connect: %s", util_errno_fr(soerr ? soerr : errno));
			goto fail;
		}
	}
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0 || set_timeouts(fd, timeout_ms)) {
		snprintf(err, errlen, "socket options: %s", util_errno_fr(errno));
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

static int tcp_connect(struct mailgw_imap *c, int port, int plain, int *fdp)
{
	struct addrinfo hints, *res = NULL;
	char service[16];
	int rc = RELAIS_ENET, tried = 0;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	snprintf(service, sizeof(service), "%d", port);
	int g = getaddrinfo(c->host, service, &hints, &res);
	if (g) {
		snprintf(c->err, sizeof(c->err), "%s: %s", c->host, gai_strerror(g));
		return RELAIS_ENET;
	}
	for (const struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		if (plain && !is_loopback(ai->ai_addr))
			continue; /* no password in clear over a network */
		tried = 1;
		int fd = connect_one(ai, c->timeout_ms, c->err, sizeof(c->err));
		if (fd >= 0) {
			*fdp = fd;
			rc = 0;
			goto out;
		}
	}
	if (!tried) {
		snprintf(c->err, sizeof(c->err), "plain text refused to non-loopback host %s", c->host);
		rc = RELAIS_EINVAL;
	}
out:
	freeaddrinfo(res);
	return rc;
}

static int handshake_err(struct mailgw_imap *c, int r)
{
	struct ilow *d = c->low;
	if (r == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR) {
		gnutls_datum_t out = { NULL, 0 };
		unsigned status = gnutls_session_get_verify_cert_status(d->tls);
		if (gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &out, 0) == 0) {
			snprintf(c->err, sizeof(c->err), "TLS certificate of %s not trusted: %s",
				 c->host, (const char *)out.data);
			gnutls_free(out.data);
		} else {
			snprintf(c->err, sizeof(c->err), "TLS certificate of %s not trusted", c->host);
		}
		return RELAIS_EAUTH;
	}
	snprintf(c->err, sizeof(c->err), "TLS handshake with %s: %s", c->host, gnutls_strerror(r));
	return RELAIS_ENET;
}

/* Runs a TLS handshake on the driver's socket and verifies the server's
 * certificate for c->host (a name, or an IP address matched against the
 * certificate's IP addresses). */
static int tls_start(struct mailgw_imap *c, const char *cafile)
{
	struct ilow *d = c->low;
	struct in6_addr a6;
	struct in_addr a4;
	int r;
	if ((r = gnutls_certificate_allocate_credentials(&d->cred)) < 0)
		goto tls_fail;
	if (cafile)
		r = gnutls_certificate_set_x509_trust_file(d->cred, cafile, GNUTLS_X509_FMT_PEM);
	else
		r = gnutls_certificate_set_x509_system_trust(d->cred);
	if (r <= 0) {
		/* 0 certificates loaded would reject every server anyway. */
		snprintf(c->err, sizeof(c->err), "no CA certificate loaded from %s",
			 cafile ? cafile : "the system store");
		return RELAIS_EAUTH;
	}
	if ((r = gnutls_init(&d->tls, GNUTLS_CLIENT)) < 0 ||
	    (r = gnutls_set_default_priority(d->tls)) < 0 ||
	    (r = gnutls_credentials_set(d->tls, GNUTLS_CRD_CERTIFICATE, d->cred)) < 0)
		goto tls_fail;
	/* SNI only for names: RFC 6066 forbids literal addresses. */
	if (inet_pton(AF_INET, c->host, &a4) != 1 && inet_pton(AF_INET6, c->host, &a6) != 1 &&
	    (r = gnutls_server_name_set(d->tls, GNUTLS_NAME_DNS, c->host, strlen(c->host))) < 0)
		goto tls_fail;
	gnutls_session_set_verify_cert(d->tls, c->host, 0);
	gnutls_transport_set_int(d->tls, d->fd);
	gnutls_handshake_set_timeout(d->tls, (unsigned)c->timeout_ms);
	do
		r = gnutls_handshake(d->tls);
	while (r < 0 && !gnutls_error_is_fatal(r));
	if (r < 0) {
		/* A failed session must not carry application data. */
		int rc = handshake_err(c, r);
		gnutls_deinit(d->tls);
		d->tls = NULL;
		return rc;
	}
	return 0;
tls_fail:
	snprintf(c->err, sizeof(c->err), "TLS setup: %s", gnutls_strerror(r));
	return r == GNUTLS_E_MEMORY_ERROR ? RELAIS_ENOMEM : RELAIS_EPROTO;
}

static int refresh_capabilities(struct mailgw_imap *c)
{
	struct mailimap_capability_data *cap = NULL;
	int rc = begin(c, MAILGW_IMAP_CMD_CAP);
	if (rc)
		return rc;
	rc = conv(c, mailimap_capability(c->imap, &cap), "CAPABILITY");
	if (cap)
		mailimap_capability_data_free(cap);
	return rc;
}

static int do_starttls(struct mailgw_imap *c, const char *cafile)
{
	int rc = begin(c, MAILGW_IMAP_CMD_CAP);
	if (rc)
		return rc;
	if (!mailimap_has_extension(c->imap, "STARTTLS")) {
		rc = refresh_capabilities(c);
		if (rc)
			return rc;
		if (!mailimap_has_extension(c->imap, "STARTTLS")) {
			snprintf(c->err, sizeof(c->err), "%s does not offer STARTTLS", c->host);
			return RELAIS_EPROTO;
		}
	}
	rc = begin(c, MAILGW_IMAP_CMD_CAP);
	if (rc)
		return rc;
	rc = conv(c, mailimap_starttls(c->imap), "STARTTLS");
	if (rc)
		return rc;
	/* Anything already buffered was sent in clear after our STARTTLS:
	 * an injection, not something to read as if it came through TLS. */
	if (c->imap->imap_stream->read_buffer_len) {
		snprintf(c->err, sizeof(c->err), "data injected after STARTTLS");
		c->dead = 1;
		return RELAIS_EPROTO;
	}
	rc = tls_start(c, cafile);
	if (rc) {
		c->dead = 1;
		return rc;
	}
	/* Capabilities before TLS are not to be trusted (RFC 3501 6.2.1). */
	return refresh_capabilities(c);
}

int mailgw_imap_connect(const struct mailgw_imap_config *cfg, struct mailgw_imap **out,
			char *err, size_t errlen)
{
	struct mailgw_imap *c = NULL;
	struct ilow *d = NULL;
	mailstream_low *low = NULL;
	mailstream *stream = NULL;
	char password[MAILGW_IMAP_PASSWORD_MAX + 1];
	int rc, port;
	*out = NULL;
	password[0] = 0;
	if (err && errlen)
		err[0] = 0;
	if (!cfg->host || !cfg->user || !cfg->password_file)
		return RELAIS_EINVAL;
	c = calloc(1, sizeof(*c));
	d = calloc(1, sizeof(*d));
	if (!c || !d || !(c->host = strdup(cfg->host))) {
		rc = RELAIS_ENOMEM;
		goto out;
	}
	d->fd = -1;
	d->cap = MAILGW_IMAP_CMD_CAP;
	c->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : MAILGW_IMAP_TIMEOUT_MS;
	c->max_message = cfg->max_message ? cfg->max_message : MAILGW_IMAP_MAX_MESSAGE;
	c->no_move = cfg->no_move;
	d->timeout_ms = c->timeout_ms;
	port = cfg->port > 0 ? cfg->port : cfg->tls == MAILGW_TLS_IMPLICIT ? 993 : 143;
	if (cfg->port < 0 || cfg->port > 65535) {
		rc = RELAIS_EINVAL;
		goto out;
	}
	rc = util_read_secret(cfg->password_file, password, sizeof(password), c->err, sizeof(c->err));
	if (rc)
		goto out;
	rc = tcp_connect(c, port, cfg->tls == MAILGW_TLS_NONE, &d->fd);
	if (rc)
		goto out;
	low = mailstream_low_new(d, &ilow_driver);
	if (!low) {
		rc = RELAIS_ENOMEM;
		goto out;
	}
	c->low = d;
	d = NULL; /* owned by low from here */
	stream = mailstream_new(low, ILOW_BUFFER);
	if (!stream) {
		rc = RELAIS_ENOMEM;
		goto out;
	}
	low = NULL; /* owned by stream */
	c->imap = mailimap_new(0, NULL);
	if (!c->imap) {
		rc = RELAIS_ENOMEM;
		goto out;
	}
	mailimap_set_timeout(c->imap, (time_t)((c->timeout_ms + 999) / 1000));
	if (cfg->tls == MAILGW_TLS_IMPLICIT) {
		rc = tls_start(c, cfg->cafile);
		if (rc)
			goto out;
	}
	rc = begin(c, MAILGW_IMAP_CMD_CAP);
	if (rc)
		goto out;
	rc = conv(c, mailimap_connect(c->imap, stream), "greeting");
	stream = NULL; /* owned by imap, even on failure */
	if (rc)
		goto out;
	if (cfg->tls == MAILGW_TLS_STARTTLS) {
		rc = do_starttls(c, cfg->cafile);
		if (rc)
			goto out;
	}
	rc = begin(c, MAILGW_IMAP_CMD_CAP);
	if (rc)
		goto out;
	rc = conv(c, mailimap_login(c->imap, cfg->user, password), "LOGIN");
	if (rc)
		goto out;
	/* Dovecot and others announce more (MOVE, UIDPLUS) once logged in. */
	rc = refresh_capabilities(c);
	if (rc)
		goto out;
	*out = c;
	c = NULL;
out:
	explicit_bzero(password, sizeof(password));
	if (stream)
		mailstream_close(stream);
	if (low)
		mailstream_low_free(low);
	ilow_destroy(d);
	if (err && errlen)
		snprintf(err, errlen, "%s", c ? c->err : "");
	mailgw_imap_close(c);
	return rc;
}

void mailgw_imap_close(struct mailgw_imap *c)
{
	if (!c)
		return;
	if (c->imap) {
		if (!c->dead && c->low && c->imap->imap_stream && begin(c, MAILGW_IMAP_CMD_CAP) == 0)
			(void)mailimap_logout(c->imap);
		mailimap_free(c->imap); /* closes and frees the stream and c->low */
	}
	free(c->host);
	free(c);
}

/* ---- commands ---- */

/* Folder names are sent as IMAP strings; non-ASCII would need modified
 * UTF-7, which we do not need for our own folder names. */
static int check_folder(struct mailgw_imap *c, const char *folder)
{
	size_t n = folder ? strlen(folder) : 0;
	if (n == 0 || n > MAILGW_IMAP_FOLDER_MAX)
		goto bad;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)folder[i];
		if (ch < 0x20 || ch > 0x7e || ch == '*' || ch == '%' || ch == '"' || ch == '\\')
			goto bad;
	}
	return 0;
bad:
	snprintf(c->err, sizeof(c->err), "invalid folder name");
	return RELAIS_EINVAL;
}

/* Returns 1 when the server announced new messages (EXISTS or RECENT) since
 * the last call, and forgets it. */
static int take_announced(struct mailgw_imap *c)
{
	struct mailimap_selection_info *sel = c->imap->imap_selection_info;
	int announced = sel->sel_has_exists || sel->sel_has_recent;
	sel->sel_has_exists = 0;
	sel->sel_has_recent = 0;
	return announced;
}

int mailgw_imap_select(struct mailgw_imap *c, const char *folder, uint32_t *uidvalidity)
{
	int rc = check_folder(c, folder);
	if (rc)
		return rc;
	rc = begin(c, MAILGW_IMAP_CMD_CAP);
	if (rc)
		return rc;
	c->selected = 0;
	rc = conv(c, mailimap_select(c->imap, folder), "SELECT");
	if (rc)
		return rc;
	if (!c->imap->imap_selection_info || !c->imap->imap_selection_info->sel_uidvalidity) {
		snprintf(c->err, sizeof(c->err), "no UIDVALIDITY for %s", folder);
		return RELAIS_EPROTO;
	}
	c->selected = 1;
	snprintf(c->folder, sizeof(c->folder), "%s", folder);
	c->uidvalidity = c->imap->imap_selection_info->sel_uidvalidity;
	*uidvalidity = c->uidvalidity;
	/* SELECT's EXISTS is the folder as the caller is about to scan it,
	 * not news. */
	(void)take_announced(c);
	return 0;
}

static int need_selected(struct mailgw_imap *c)
{
	if (c->selected)
		return 0;
	snprintf(c->err, sizeof(c->err), "no folder selected");
	return RELAIS_EINVAL;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

int mailgw_imap_uids_above(struct mailgw_imap *c, uint32_t above, uint32_t **uids, size_t *n)
{
	struct mailimap_search_key *key = NULL;
	struct mailimap_set *set = NULL;
	clist *result = NULL;
	uint32_t *v = NULL;
	size_t count = 0;
	int rc;
	*uids = NULL;
	*n = 0;
	if ((rc = need_selected(c)) || (rc = begin(c, MAILGW_IMAP_CMD_CAP)))
		return rc;
	if (above == UINT32_MAX)
		return 0;
	/* "n:*" always matches the highest UID, even when it is below n. */
	set = mailimap_set_new_interval(above + 1, 0);
	if (!set || !(key = mailimap_search_key_new_uid(set))) {
		mailimap_set_free(set);
		return RELAIS_ENOMEM;
	}
	rc = conv(c, mailimap_uid_search(c->imap, NULL, key, &result), "UID SEARCH");
	if (rc)
		goto out;
	if (clist_count(result) > 0) {
		v = malloc((size_t)clist_count(result) * sizeof(*v));
		if (!v) {
			rc = RELAIS_ENOMEM;
			goto out;
		}
	}
	for (clistiter *it = clist_begin(result); it; it = clist_next(it)) {
		uint32_t uid = *(uint32_t *)clist_content(it);
		if (uid > above)
			v[count++] = uid;
	}
	if (count > 1)
		qsort(v, count, sizeof(*v), cmp_u32);
	if (count == 0) {
		free(v);
		v = NULL;
	}
	*uids = v;
	*n = count;
	v = NULL;
out:
	free(v);
	if (result)
		mailimap_search_result_free(result);
	mailimap_search_key_free(key); /* frees set */
	return rc;
}

/* UID FETCH uid (items); *list is the server's answer. */
enum fetch_what { FETCH_SIZE, FETCH_WHOLE, FETCH_HEADER };

static int uid_fetch(struct mailgw_imap *c, uint32_t uid, enum fetch_what body, size_t cap, clist **list)
{
	struct mailimap_fetch_type *ft = mailimap_fetch_type_new_fetch_att_list_empty();
	struct mailimap_set *set = mailimap_set_new_single(uid);
	struct mailimap_fetch_att *att = NULL;
	int rc = RELAIS_ENOMEM;
	*list = NULL;
	if (!ft || !set)
		goto out;
	att = mailimap_fetch_att_new_uid();
	if (!att || mailimap_fetch_type_new_fetch_att_list_add(ft, att) != MAILIMAP_NO_ERROR)
		goto out;
	if (body != FETCH_SIZE) {
		struct mailimap_section *sec = body == FETCH_HEADER ? mailimap_section_new_header()
								     : mailimap_section_new(NULL);
		att = sec ? mailimap_fetch_att_new_body_peek_section(sec) : NULL;
		if (!att) {
			mailimap_section_free(sec);
			goto out;
		}
	} else {
		att = mailimap_fetch_att_new_rfc822_size();
	}
	if (!att || mailimap_fetch_type_new_fetch_att_list_add(ft, att) != MAILIMAP_NO_ERROR)
		goto out;
	att = NULL;
	rc = begin(c, cap);
	if (rc)
		goto out;
	rc = conv(c, mailimap_uid_fetch(c->imap, set, ft, list), "UID FETCH");
out:
	if (att)
		mailimap_fetch_att_free(att);
	if (ft)
		mailimap_fetch_type_free(ft);
	if (set)
		mailimap_set_free(set);
	return rc;
}

/* Finds the static attribute of type want in the answer for uid. */
static struct mailimap_msg_att_static *find_att(clist *list, uint32_t uid, int want)
{
	for (clistiter *m = clist_begin(list); m; m = clist_next(m)) {
		struct mailimap_msg_att *ma = clist_content(m);
		struct mailimap_msg_att_static *found = NULL;
		uint32_t got = 0;
		for (clistiter *i = clist_begin(ma->att_list); i; i = clist_next(i)) {
			struct mailimap_msg_att_item *item = clist_content(i);
			if (item->att_type != MAILIMAP_MSG_ATT_ITEM_STATIC)
				continue;
			struct mailimap_msg_att_static *st = item->att_data.att_static;
			if (st->att_type == MAILIMAP_MSG_ATT_UID)
				got = st->att_data.att_uid;
			else if (st->att_type == want)
				found = st;
		}
		/* Unsolicited FETCH answers (flag changes of others) may come too. */
		if (got == uid && found)
			return found;
	}
	return NULL;
}

/* Appends the body section fetched for uid (at most max bytes) to out. */
static int section_append(struct mailgw_imap *c, clist *list, uint32_t uid, size_t max,
			  struct buf *out)
{
	struct mailimap_msg_att_static *st = find_att(list, uid, MAILIMAP_MSG_ATT_BODY_SECTION);
	if (!st) {
		snprintf(c->err, sizeof(c->err), "message UID %u vanished", uid);
		return RELAIS_ENOTFOUND;
	}
	if (st->att_data.att_body_section->sec_length > max)
		return RELAIS_ETOOBIG;
	return buf_append(out, st->att_data.att_body_section->sec_body_part,
			  st->att_data.att_body_section->sec_length);
}

int mailgw_imap_fetch(struct mailgw_imap *c, uint32_t uid, struct buf *out, size_t *size)
{
	clist *list = NULL;
	struct mailimap_msg_att_static *st;
	size_t announced;
	int rc;
	if (size)
		*size = 0;
	if ((rc = need_selected(c)))
		return rc;
	rc = uid_fetch(c, uid, FETCH_SIZE, MAILGW_IMAP_CMD_CAP, &list);
	if (rc)
		goto out;
	st = find_att(list, uid, MAILIMAP_MSG_ATT_RFC822_SIZE);
	if (!st) {
		snprintf(c->err, sizeof(c->err), "no message with UID %u", uid);
		rc = RELAIS_ENOTFOUND;
		goto out;
	}
	announced = st->att_data.att_rfc822_size;
	if (size)
		*size = announced;
	if (announced > c->max_message) {
		snprintf(c->err, sizeof(c->err), "message UID %u de %zu octets, au-delà de %zu", uid,
			 announced, c->max_message);
		rc = RELAIS_ETOOBIG;
		goto out;
	}
	mailimap_fetch_list_free(list);
	list = NULL;
	/* The announced size bounds what we accept: a server sending more is
	 * cut off by the driver's cap. */
	rc = uid_fetch(c, uid, FETCH_WHOLE, announced + FETCH_SLACK, &list);
	if (rc)
		goto out;
	rc = section_append(c, list, uid, c->max_message, out);
out:
	if (list)
		mailimap_fetch_list_free(list);
	return rc;
}

int mailgw_imap_fetch_header(struct mailgw_imap *c, uint32_t uid, struct buf *out)
{
	clist *list = NULL;
	int rc = need_selected(c);
	if (rc)
		return rc;
	rc = uid_fetch(c, uid, FETCH_HEADER, MAILGW_IMAP_CMD_CAP, &list);
	if (rc)
		goto out;
	rc = section_append(c, list, uid, MAILGW_IMAP_CMD_CAP, out);
out:
	if (list)
		mailimap_fetch_list_free(list);
	return rc;
}

int mailgw_imap_create(struct mailgw_imap *c, const char *folder)
{
	clist *list = NULL;
	int rc = check_folder(c, folder);
	if (rc || (rc = begin(c, MAILGW_IMAP_CMD_CAP)))
		return rc;
	rc = conv(c, mailimap_list(c->imap, "", folder, &list), "LIST");
	if (rc)
		return rc;
	int exists = clist_count(list) > 0;
	mailimap_list_result_free(list);
	if (exists)
		return 0;
	if ((rc = begin(c, MAILGW_IMAP_CMD_CAP)))
		return rc;
	return conv(c, mailimap_create(c->imap, folder), "CREATE");
}

/* UID STORE +FLAGS.SILENT (\\Deleted) and UID EXPUNGE (plain EXPUNGE
 * without UIDPLUS) of set. */
static int delete_set(struct mailgw_imap *c, struct mailimap_set *set)
{
	struct mailimap_flag_list *fl = NULL;
	struct mailimap_store_att_flags *sf = NULL;
	struct mailimap_flag *flag = NULL;
	int rc = RELAIS_ENOMEM;
	if (!(fl = mailimap_flag_list_new_empty()) || !(flag = mailimap_flag_new_deleted()))
		goto out;
	if (mailimap_flag_list_add(fl, flag) != MAILIMAP_NO_ERROR)
		goto out;
	flag = NULL;
	if (!(sf = mailimap_store_att_flags_new_add_flags_silent(fl)))
		goto out;
	fl = NULL;
	if ((rc = begin(c, MAILGW_IMAP_CMD_CAP)))
		goto out;
	rc = conv(c, mailimap_uid_store(c->imap, set, sf), "UID STORE");
	if (rc)
		goto out;
	if ((rc = begin(c, MAILGW_IMAP_CMD_CAP)))
		goto out;
	if (mailimap_has_extension(c->imap, "UIDPLUS"))
		rc = conv(c, mailimap_uid_expunge(c->imap, set), "UID EXPUNGE");
	else
		rc = conv(c, mailimap_expunge(c->imap), "EXPUNGE");
out:
	if (flag)
		mailimap_flag_free(flag);
	if (fl)
		mailimap_flag_list_free(fl);
	if (sf)
		mailimap_store_att_flags_free(sf);
	return rc;
}

static int move_fallback(struct mailgw_imap *c, struct mailimap_set *set, const char *folder)
{
	int rc;
	if ((rc = begin(c, MAILGW_IMAP_CMD_CAP)))
		return rc;
	/* Copy first: a failure after it leaves a duplicate, never a loss
	 * (mailgw_imap_find_copy finds it again). */
	rc = conv(c, mailimap_uid_copy(c->imap, set, folder), "UID COPY");
	if (rc)
		return rc;
	return delete_set(c, set);
}

int mailgw_imap_remove(struct mailgw_imap *c, uint32_t uid)
{
	struct mailimap_set *set;
	int rc = need_selected(c);
	if (rc)
		return rc;
	set = mailimap_set_new_single(uid);
	if (!set)
		return RELAIS_ENOMEM;
	rc = delete_set(c, set);
	mailimap_set_free(set);
	return rc;
}

/* UID SEARCH of the selected folder for messages of exactly size bytes. */
static int uids_of_size(struct mailgw_imap *c, size_t size, clist **result)
{
	struct mailimap_search_key *key = mailimap_search_key_new_multiple_empty();
	struct mailimap_search_key *k = NULL;
	int rc = RELAIS_ENOMEM;
	*result = NULL;
	if (!key)
		return rc;
	if (!(k = mailimap_search_key_new_larger((uint32_t)(size - 1))) ||
	    mailimap_search_key_multiple_add(key, k) != MAILIMAP_NO_ERROR)
		goto out;
	if (!(k = mailimap_search_key_new_smaller((uint32_t)(size + 1))) ||
	    mailimap_search_key_multiple_add(key, k) != MAILIMAP_NO_ERROR)
		goto out;
	k = NULL;
	if ((rc = begin(c, MAILGW_IMAP_CMD_CAP)))
		goto out;
	rc = conv(c, mailimap_uid_search(c->imap, NULL, key, result), "UID SEARCH");
out:
	if (k)
		mailimap_search_key_free(k);
	mailimap_search_key_free(key);
	return rc;
}

/* In the selected folder, whether a message holds exactly raw[0..len). */
static int holds(struct mailgw_imap *c, const void *raw, size_t len, int *found)
{
	clist *uids = NULL;
	struct buf b = BUF_INIT(len);
	unsigned tried = 0;
	int rc = uids_of_size(c, len, &uids);
	for (clistiter *it = rc ? NULL : clist_begin(uids); it && !*found; it = clist_next(it)) {
		clist *list = NULL;
		uint32_t uid = *(uint32_t *)clist_content(it);
		/* Same size is rare; a folder full of equal sizes is not ours to read. */
		if (++tried > MAILGW_IMAP_COPY_CANDIDATES)
			break;
		buf_reset(&b);
		rc = uid_fetch(c, uid, FETCH_WHOLE, len + FETCH_SLACK, &list);
		if (!rc)
			rc = section_append(c, list, uid, len, &b);
		if (list)
			mailimap_fetch_list_free(list);
		if (rc == RELAIS_ENOTFOUND || rc == RELAIS_ETOOBIG) {
			rc = 0; /* gone meanwhile, or not that one */
			continue;
		}
		if (rc)
			break;
		*found = b.len == len && !memcmp(b.data, raw, len);
	}
	if (uids)
		mailimap_search_result_free(uids);
	buf_release(&b);
	return rc;
}

int mailgw_imap_find_copy(struct mailgw_imap *c, const char *folder, const void *raw, size_t len,
			  int *found)
{
	char back[MAILGW_IMAP_FOLDER_MAX + 1];
	uint32_t before, validity = 0;
	int rc = check_folder(c, folder);
	*found = 0;
	if (rc || (rc = need_selected(c)))
		return rc;
	if (len == 0 || len > c->max_message)
		return RELAIS_EINVAL;
	memcpy(back, c->folder, sizeof(back));
	before = c->uidvalidity;
	if ((rc = begin(c, MAILGW_IMAP_CMD_CAP)))
		return rc;
	c->selected = 0;
	/* EXAMINE: read-only, so that looking sets no flag and expunges nothing. */
	rc = conv(c, mailimap_examine(c->imap, folder), "EXAMINE");
	if (!rc)
		rc = holds(c, raw, len, found);
	if (rc == RELAIS_ENET)
		return rc;
	/* Back to the caller's folder, whose UIDs must still mean the same. */
	int rc2 = mailgw_imap_select(c, back, &validity);
	if (!rc2 && validity != before) {
		snprintf(c->err, sizeof(c->err), "UIDVALIDITY of %s changed", back);
		rc2 = RELAIS_EPROTO;
	}
	return rc ? rc : rc2;
}

int mailgw_imap_move(struct mailgw_imap *c, uint32_t uid, const char *folder)
{
	struct mailimap_set *set;
	int rc = check_folder(c, folder);
	if (rc || (rc = need_selected(c)))
		return rc;
	set = mailimap_set_new_single(uid);
	if (!set)
		return RELAIS_ENOMEM;
	if (!c->no_move && mailimap_has_extension(c->imap, "MOVE")) {
		rc = begin(c, MAILGW_IMAP_CMD_CAP);
		if (rc == 0)
			rc = conv(c, mailimap_uid_move(c->imap, set, folder), "UID MOVE");
	} else {
		rc = move_fallback(c, set, folder);
	}
	mailimap_set_free(set);
	return rc;
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits until the server sent something during IDLE or the deadline:
 * 1 when data is there, 0 on timeout, or a RELAIS_E* code. Data may
 * already sit in libetpan's or GnuTLS's buffer, where poll() cannot see it. */
static int wait_readable(struct mailgw_imap *c, int64_t deadline)
{
	if (c->imap->imap_stream->read_buffer_len > 0)
		return 1;
	if (c->low->tls && gnutls_record_check_pending(c->low->tls) > 0)
		return 1;
	for (;;) {
		int64_t left = deadline - mono_ms();
		if (left <= 0)
			return 0;
		struct pollfd pf = { c->low->fd, POLLIN, 0 };
		int n = poll(&pf, 1, left > 1000000 ? 1000000 : (int)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(c->err, sizeof(c->err), "poll: %s", util_errno_fr(errno));
			c->dead = 1;
			return RELAIS_ENET;
		}
		return n > 0;
	}
}

static void nap_ms(int64_t ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int mailgw_imap_idle(struct mailgw_imap *c, int timeout_ms, int *arrived)
{
	int64_t deadline = mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	int rc;
	*arrived = 0;
	if ((rc = need_selected(c)) || (rc = begin(c, MAILGW_IMAP_CMD_CAP)))
		return rc;
	/* Mail that arrived while the caller worked was announced in the
	 * answer to one of its commands (FETCH, MOVE...): the next IDLE would
	 * hide that, so report it now. */
	if (take_announced(c)) {
		*arrived = 1;
		return 0;
	}
	if (!mailimap_has_idle(c->imap)) {
		nap_ms(timeout_ms > 0 ? timeout_ms : 0);
		rc = conv(c, mailimap_noop(c->imap), "NOOP");
		if (rc == 0)
			*arrived = take_announced(c);
		return rc;
	}
	/* Keep-alive lines ("* OK Still here") also wake us: end that IDLE and
	 * start another until mail arrives or the time is up. */
	for (;;) {
		if ((rc = begin(c, MAILGW_IMAP_CMD_CAP)))
			return rc;
		rc = conv(c, mailimap_idle(c->imap), "IDLE");
		if (rc)
			return rc;
		int w = wait_readable(c, deadline);
		if (w < 0)
			return w;
		rc = conv(c, mailimap_idle_done(c->imap), "DONE");
		if (rc)
			return rc;
		if (take_announced(c)) {
			*arrived = 1;
			return 0;
		}
		if (w == 0 || mono_ms() >= deadline)
			return 0;
	}
}

int mailgw_imap_has_idle(const struct mailgw_imap *c)
{
	return c && c->imap && mailimap_has_extension(c->imap, "IDLE");
}

int mailgw_imap_has_move(const struct mailgw_imap *c)
{
	return c && c->imap && mailimap_has_extension(c->imap, "MOVE");
}
