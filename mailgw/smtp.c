/*
 * smtp.c - one message through libcurl's SMTP.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <curl/curl.h>
#include "../common/util.h"
#include "smtp.h"

#define SMTP_PASSWORD_MAX 1024
#define SMTP_ADDR_MAX 320 /* RFC 5321 path limit is 256; leave room for <> */

struct reader {
	const unsigned char *p;
	size_t left;
};

/*
 * What the SMTP session said, followed through libcurl's debug callback: the
 * last command sent, the reply being read, and the last refusal (a 4xx or
 * 5xx reply: "550 5.1.1 <x@y>: unknown user", lines joined with spaces, cut
 * at SMTP_REPLY_MAX bytes). The refusal is kept apart because libcurl
 * sends QUIT after it, within the same call, and reads "221" back. A
 * refusal is about this message only when it answers RCPT, DATA or the end
 * of the message; one of the greeting, EHLO, STARTTLS or MAIL FROM says
 * something about the server or our own account instead.
 *
 * One more exception: a 5xx to RCPT whose enhanced status is 5.7.x
 * (security or policy, RFC 3463) is read as "for now". On the submission
 * server the gateway talks to, that is "Relay access denied" or "sender not
 * owned by user": our own configuration, which would otherwise fail every
 * answer for good until someone fixes it. Recipients the relay does not
 * know fail later, as bounces to the network's mailbox.
 */
#define SMTP_REPLY_MAX 400

struct session {
	char reply[SMTP_REPLY_MAX + 1];   /* the reply being read */
	size_t len;
	int complete;  /* the last line read ended a reply ("250 ", not "250-") */
	char cmd[5];   /* the first word of the last command sent, upper case */
	int body;      /* the message itself was sent after the last command */
	char refusal[SMTP_REPLY_MAX + 1]; /* the last 4xx or 5xx reply, "" when none */
	int refusal_code;
	int refusal_about_message;        /* it answered RCPT, DATA or the message */
	int refusal_policy;               /* a 5.7.x answer to RCPT */
};

static int reply_code(const char *line, size_t n)
{
	if (n < 3 || line[0] < '2' || line[0] > '5' || line[1] < '0' || line[1] > '9' ||
	    line[2] < '0' || line[2] > '9')
		return 0;
	return (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
}

static void session_reply_line(struct session *s, const char *line, size_t n)
{
	while (n > 0 && (line[n - 1] == '\r' || line[n - 1] == '\n'))
		n--;
	if (s->complete) {
		s->len = 0;
		s->complete = 0;
	}
	if (s->len && s->len < SMTP_REPLY_MAX)
		s->reply[s->len++] = ' ';
	for (size_t i = 0; i < n && s->len < SMTP_REPLY_MAX; i++) {
		/* The text goes to logs and to the journal: no control characters. */
		unsigned char c = (unsigned char)line[i];
		s->reply[s->len++] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
	}
	s->reply[s->len] = 0;
	if (n != 3 && !(n > 3 && line[3] == ' '))
		return;
	s->complete = 1;
	int code = reply_code(line, n);
	if (code >= 400) {
		memcpy(s->refusal, s->reply, s->len + 1);
		s->refusal_code = code;
		s->refusal_about_message = s->body || !strcmp(s->cmd, "RCPT") ||
					   !strcmp(s->cmd, "DATA");
		s->refusal_policy = !s->body && !strcmp(s->cmd, "RCPT") && n >= 9 &&
				    !strncmp(line + 4, "5.7.", 4);
	}
}

static int debug_cb(CURL *h, curl_infotype type, char *data, size_t size, void *arg)
{
	struct session *s = arg;
	(void)h;
	switch (type) {
	case CURLINFO_HEADER_IN:
		session_reply_line(s, data, size);
		break;
	case CURLINFO_HEADER_OUT: {
		/* Only the command word: AUTH lines carry the password. */
		size_t k = 0;
		while (k < size && k < sizeof(s->cmd) - 1 && data[k] >= 'A' && data[k] <= 'Z')
			k++;
		memcpy(s->cmd, data, k);
		s->cmd[k] = 0;
		s->body = 0;
		break;
	}
	case CURLINFO_DATA_OUT:
		s->body = 1;
		break;
	default:
		break;
	}
	return 0;
}

static size_t read_cb(char *dst, size_t size, size_t nmemb, void *arg)
{
	struct reader *r = arg;
	size_t n = size * nmemb;
	if (n > r->left)
		n = r->left;
	memcpy(dst, r->p, n);
	r->p += n;
	r->left -= n;
	return n;
}

int mailgw_smtp_global_init(void)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : RELAIS_ENOMEM;
}

static int is_loopback_host(const char *host)
{
	struct in_addr a4;
	struct in6_addr a6;
	size_t n = strlen(host);
	char tmp[64];
	if (!strcasecmp(host, "localhost"))
		return 1;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	/* curl gives IPv6 hosts in brackets. */
	if (n >= 2 && n < sizeof(tmp) && host[0] == '[' && host[n - 1] == ']') {
		memcpy(tmp, host + 1, n - 2);
		tmp[n - 2] = 0;
		if (inet_pton(AF_INET6, tmp, &a6) == 1)
			return IN6_IS_ADDR_LOOPBACK(&a6);
	}
	return 0;
}

/* Checks the URL's scheme and that plain text goes to loopback only. */
static int check_url(const struct mailgw_smtp_config *cfg, char *err, size_t errlen)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL;
	int rc = RELAIS_EINVAL;
	if (!u)
		return RELAIS_ENOMEM;
	if (curl_url_set(u, CURLUPART_URL, cfg->url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		snprintf(err, errlen, "bad SMTP URL");
		goto out;
	}
	if (!strcasecmp(scheme, "smtps")) {
		rc = 0;
	} else if (!strcasecmp(scheme, "smtp")) {
		if (!cfg->starttls && !is_loopback_host(host)) {
			snprintf(err, errlen, "plain text refused to non-loopback host %s", host);
			goto out;
		}
		rc = 0;
	} else {
		snprintf(err, errlen, "SMTP URL scheme must be smtp or smtps");
	}
out:
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	return rc;
}

/* libcurl says "send error" for any refusal: the session tells which. */
static int conv_curl(CURLcode cc, const struct session *s)
{
	switch (cc) {
	case CURLE_OK:
		return 0;
	case CURLE_OUT_OF_MEMORY:
		return RELAIS_ENOMEM;
	case CURLE_LOGIN_DENIED:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
		return RELAIS_EAUTH;
	case CURLE_URL_MALFORMAT:
	case CURLE_UNSUPPORTED_PROTOCOL:
		return RELAIS_EINVAL;
	default:
		break;
	}
	if (s->refusal_about_message && s->refusal_code >= 500 && !s->refusal_policy)
		return RELAIS_EREFUSED;
	if (s->refusal_about_message && s->refusal_code >= 400)
		return RELAIS_ELATER;
	/* Unreachable, cut, timed out, or a refusal of the session itself
	 * (greeting, MAIL FROM): the message stays with the caller, who
	 * retries later. */
	return RELAIS_ENET;
}

/* Wraps an address in <> unless it already is. */
static int angle(const char *addr, char out[SMTP_ADDR_MAX])
{
	int n = addr[0] == '<' ? snprintf(out, SMTP_ADDR_MAX, "%s", addr)
			       : snprintf(out, SMTP_ADDR_MAX, "<%s>", addr);
	if (n < 0 || n >= SMTP_ADDR_MAX || strpbrk(addr, "\r\n"))
		return RELAIS_EINVAL;
	return 0;
}

int mailgw_smtp_send(const struct mailgw_smtp_config *cfg, const char *from,
		     const char *const *rcpt, size_t n, const void *msg, size_t len,
		     char *err, size_t errlen)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	char local[256];
	char password[SMTP_PASSWORD_MAX + 1] = "";
	char addr[SMTP_ADDR_MAX];
	struct curl_slist *list = NULL;
	struct reader r = { msg, len };
	struct session ses;
	CURL *c = NULL;
	int rc;
	if (!err || !errlen) {
		err = local;
		errlen = sizeof(local);
	}
	err[0] = 0;
	memset(&ses, 0, sizeof(ses));
	if (!cfg->url || !from || n == 0 || n > MAILGW_SMTP_MAX_RCPT) {
		snprintf(err, errlen, "bad SMTP arguments");
		return RELAIS_EINVAL;
	}
	rc = check_url(cfg, err, errlen);
	if (rc)
		return rc;
	if (cfg->user) {
		if (!cfg->password_file)
			return RELAIS_EINVAL;
		rc = util_read_secret(cfg->password_file, password, sizeof(password), err, errlen);
		if (rc)
			goto out;
	}
	for (size_t i = 0; i < n; i++) {
		struct curl_slist *l;
		if ((rc = angle(rcpt[i], addr))) {
			snprintf(err, errlen, "bad recipient address");
			goto out;
		}
		l = curl_slist_append(list, addr);
		if (!l) {
			rc = RELAIS_ENOMEM;
			goto out;
		}
		list = l;
	}
	if ((rc = angle(from, addr))) {
		snprintf(err, errlen, "bad sender address");
		goto out;
	}
	c = curl_easy_init();
	if (!c) {
		rc = RELAIS_ENOMEM;
		goto out;
	}
	long timeout = cfg->timeout_ms > 0 ? cfg->timeout_ms : MAILGW_SMTP_TIMEOUT_MS;
	curl_easy_setopt(c, CURLOPT_URL, cfg->url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	curl_easy_setopt(c, CURLOPT_MAIL_FROM, addr);
	curl_easy_setopt(c, CURLOPT_MAIL_RCPT, list);
	curl_easy_setopt(c, CURLOPT_READFUNCTION, read_cb);
	curl_easy_setopt(c, CURLOPT_READDATA, &r);
	curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
	/* Worker threads: no SIGALRM-based DNS timeouts. */
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	/* The debug callback is how the SMTP replies are seen; nothing is
	 * printed. */
	curl_easy_setopt(c, CURLOPT_DEBUGFUNCTION, debug_cb);
	curl_easy_setopt(c, CURLOPT_DEBUGDATA, &ses);
	curl_easy_setopt(c, CURLOPT_VERBOSE, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	if (cfg->starttls)
		curl_easy_setopt(c, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
	if (cfg->cafile)
		curl_easy_setopt(c, CURLOPT_CAINFO, cfg->cafile);
	if (cfg->user) {
		curl_easy_setopt(c, CURLOPT_USERNAME, cfg->user);
		curl_easy_setopt(c, CURLOPT_PASSWORD, password);
	}
	CURLcode cc = curl_easy_perform(c);
	rc = conv_curl(cc, &ses);
	if (rc == RELAIS_EREFUSED || rc == RELAIS_ELATER)
		snprintf(err, errlen, "%s", ses.refusal);
	else if (rc)
		snprintf(err, errlen, "SMTP %s: %s%s%s%s%s", cfg->url, curl_easy_strerror(cc),
			 errbuf[0] ? ": " : "", errbuf, ses.refusal[0] ? " : " : "", ses.refusal);
out:
	explicit_bzero(password, sizeof(password));
	curl_slist_free_all(list);
	curl_easy_cleanup(c);
	return rc;
}
