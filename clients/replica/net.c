#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <curl/curl.h>
#include "../../common/util.h"
#include "../../model/model.h"
#include "../../sync/wire.h"
#include "replica.h"
#include "net.h"

#define CONNECT_TIMEOUT_S 10L
/* A rural link may crawl; a link that moves less than this for this long is dead. */
#define LOW_SPEED_BYTES 16L
#define LOW_SPEED_TIME_S 60L
#define MAX_URL 4096
#define MAX_HEADER 1024

static char stored_ca[MAX_URL];

void net_set_stored_ca(const char *path)
{
	if (!path || strlen(path) >= sizeof(stored_ca))
		stored_ca[0] = 0;
	else
		memcpy(stored_ca, path, strlen(path) + 1);
}

const char *net_ca(void)
{
	const char *env = getenv(NET_CA_ENV);
	if (env && *env)
		return env;
	return stored_ca[0] ? stored_ca : NULL;
}

int net_global_init(void)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : RELAIS_ENOMEM;
}

void net_global_cleanup(void)
{
	curl_global_cleanup();
}

int net_open(struct net *n, const char *server, const char *token, char *err, size_t errlen)
{
	int rc = 0;
	memset(n, 0, sizeof(*n));
	if (strncmp(server, "http://", 7) && strncmp(server, "https://", 8)) {
		snprintf(err, errlen, "adresse de serveur invalide « %s » : elle doit commencer "
			 "par http:// ou https://.", server);
		return RELAIS_EINVAL;
	}
	if (strlen(server) > MAX_URL / 2 || strlen(token) > MAX_HEADER / 2 ||
	    strpbrk(token, "\r\n") || strpbrk(server, "\r\n \t")) {
		snprintf(err, errlen, "adresse de serveur ou jeton invalide.");
		return RELAIS_EINVAL;
	}
	n->base = strdup(server);
	size_t alen = strlen(token) + sizeof("Authorization: Bearer ");
	n->auth = malloc(alen);
	n->curl = curl_easy_init();
	if (!n->base || !n->auth || !n->curl) {
		rc = RELAIS_ENOMEM;
		snprintf(err, errlen, "mémoire insuffisante");
		goto out;
	}
	size_t bl = strlen(n->base);
	while (bl > 0 && n->base[bl - 1] == '/')
		n->base[--bl] = 0;
	snprintf(n->auth, alen, "Authorization: Bearer %s", token);
	const char *ca = net_ca();
	if (ca && access(ca, R_OK)) {
		snprintf(err, errlen, "fichier d'autorité de certification « %s » illisible : %s.",
			 ca, util_errno_fr(errno));
		rc = RELAIS_EINVAL;
		goto out;
	}

	CURL *c = n->curl;
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT_S);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, LOW_SPEED_BYTES);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, LOW_SPEED_TIME_S);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	if (ca) {
		/* Only this CA: a private one must not be diluted by the system's. */
		curl_easy_setopt(c, CURLOPT_CAINFO, ca);
		curl_easy_setopt(c, CURLOPT_CAPATH, NULL);
	}
out:
	if (rc)
		net_close(n);
	return rc;
}

void net_close(struct net *n)
{
	if (!n)
		return;
	if (n->curl)
		curl_easy_cleanup(n->curl);
	free(n->base);
	free(n->auth);
	memset(n, 0, sizeof(*n));
}

/* Where an answer's body goes: into b, or, for a 200 answer when fd >= 0,
 * written to fd from offset as it arrives (so that a cut keeps what came),
 * once the answer's header (when one is named) matched expect. */
struct sink {
	struct buf *b;
	int toobig;
	CURL *curl;
	int fd;
	uint64_t offset, written;
	const char *header, *expect;
	char *val;
	size_t vallen;
	int checked, refused, failed;
};

static size_t to_file(struct sink *s, const char *p, size_t len)
{
	if (!s->checked) {
		struct curl_header *h = NULL;
		s->checked = 1;
		if (s->header && curl_easy_header(s->curl, s->header, 0, CURLH_HEADER, -1, &h) ==
		    CURLHE_OK && h)
			snprintf(s->val, s->vallen, "%s", h->value);
		if (s->expect && strcmp(s->val, s->expect)) {
			s->refused = 1;
			return 0;
		}
	}
	for (size_t done = 0; done < len;) {
		ssize_t w = pwrite(s->fd, p + done, len - done,
				   (off_t)(s->offset + s->written + done));
		if (w <= 0) {
			s->failed = 1;
			return 0;
		}
		done += (size_t)w;
	}
	s->written += len;
	return len;
}

static size_t on_data(char *p, size_t size, size_t nmemb, void *arg)
{
	struct sink *s = arg;
	size_t len = size * nmemb;
	long status = 0;
	if (s->fd >= 0 && curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK &&
	    status == 200)
		return to_file(s, p, len);
	if (buf_append(s->b, p, len)) {
		s->toobig = 1;
		return 0; /* makes curl stop with CURLE_WRITE_ERROR */
	}
	return len;
}

static const char *curl_reason(CURLcode cc)
{
	switch (cc) {
	case CURLE_COULDNT_RESOLVE_HOST: return "nom de serveur inconnu";
	case CURLE_COULDNT_RESOLVE_PROXY: return "mandataire (proxy) inconnu";
	case CURLE_COULDNT_CONNECT: return "connexion refusée ou impossible";
	case CURLE_OPERATION_TIMEDOUT: return "délai d'attente dépassé";
	case CURLE_SEND_ERROR: return "échec de l'envoi des données";
	case CURLE_RECV_ERROR: return "échec de la réception des données";
	case CURLE_GOT_NOTHING: return "le serveur n'a rien répondu";
	case CURLE_PARTIAL_FILE: return "réponse tronquée";
	case CURLE_SSL_CONNECT_ERROR: return "échec de la négociation TLS";
	case CURLE_PEER_FAILED_VERIFICATION: return "certificat du serveur refusé (autorité "
						    "inconnue ou nom différent)";
	case CURLE_SSL_CACERT_BADFILE: return "fichier d'autorité de certification illisible";
	default: return NULL;
	}
}

/* Copies the server's French "message" and its "error" code from a JSON
 * error body, if any. */
static void server_message(const struct buf *body, char *out, size_t outlen,
			   char *code, size_t codelen)
{
	out[0] = 0;
	code[0] = 0;
	if (!body->len)
		return;
	json_t *j = json_loadb((const char *)body->data, body->len, 0, NULL);
	const char *m = json_string_value(json_object_get(j, "message"));
	const char *c = json_string_value(json_object_get(j, "error"));
	if (m)
		snprintf(out, outlen, "%s", m);
	if (c)
		snprintf(code, codelen, "%s", c);
	json_decref(j);
}

/* Maps an HTTP status other than 200 to an error code and a French message. */
static int status_error(struct net *n, long status, const struct buf *body,
			char *err, size_t errlen)
{
	char msg[REPLICA_ERRLEN], code[32];
	server_message(body, msg, sizeof(msg), code, sizeof(code));
	const char *sep = msg[0] ? " : " : "";
	switch (status) {
	case 401:
		snprintf(err, errlen, "le serveur %s a refusé le jeton (401).", n->base);
		return RELAIS_EAUTH;
	case 403:
		snprintf(err, errlen, "accès refusé par le serveur (403)%s%s", sep, msg);
		return RELAIS_EPERM;
	case 409:
		if (code[0] && strcmp(code, "schema") && msg[0]) {
			snprintf(err, errlen, "%s", msg);
			return RELAIS_EPERM;
		}
		snprintf(err, errlen, "le schéma de données de ce client (version %d) diffère de "
			 "celui du serveur : mettez relais à jour.%s%s", MODEL_SCHEMA_VERSION,
			 msg[0] ? " Le serveur précise : " : "", msg);
		return RELAIS_ESCHEMA;
	case 413:
		snprintf(err, errlen, "le serveur refuse un envoi trop volumineux (413)%s%s", sep, msg);
		return RELAIS_ETOOBIG;
	case 422:
		snprintf(err, errlen, "modification refusée par le serveur (422)%s%s", sep, msg);
		return RELAIS_EINVAL;
	default:
		snprintf(err, errlen, "le serveur a répondu %ld%s%s", status, sep, msg);
		return RELAIS_EPROTO;
	}
}

/* Reads the server's clock from the answer's SYNC_TIME_HEADER. */
static void server_time(struct net *n)
{
	struct curl_header *h = NULL;
	long long ms;
	n->server_ms = 0;
	if (curl_easy_header(n->curl, SYNC_TIME_HEADER, 0, CURLH_HEADER, -1, &h) == CURLHE_OK &&
	    h && !util_parse_ll(h->value, 1, INT64_MAX, &ms)) {
		n->server_ms = ms;
		n->local_ms = util_now_ms();
	}
}

static int request_to(struct net *n, const char *path, const void *data, size_t len,
		      struct sink *sink, char *err, size_t errlen);

static int request(struct net *n, const char *path, const void *data, size_t len,
		   struct buf *body, char *err, size_t errlen)
{
	struct sink sink;
	memset(&sink, 0, sizeof(sink));
	sink.b = body;
	sink.fd = -1;
	return request_to(n, path, data, len, &sink, err, errlen);
}

struct progress {
	const char *label;
	double last;      /* monotonic seconds of the last line */
	int shown;
};

/* One line on a terminal, rewritten at most four times a second, for long
 * downloads on a slow link. */
static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		       curl_off_t ulnow)
{
	struct progress *p = arg;
	double now = (double)util_now_ms() / 1000.0;
	(void)ultotal;
	(void)ulnow;
	if (dltotal < (1 << 20) || now - p->last < 0.25)
		return 0;
	p->last = now;
	p->shown = 1;
	long long now10 = (long long)(dlnow / 100000), tot10 = (long long)(dltotal / 100000);
	fprintf(stderr, "\r%s : %lld,%lld Mo sur %lld,%lld Mo (%d %%)   ", p->label, now10 / 10,
		now10 % 10, tot10 / 10, tot10 % 10, (int)(100 * dlnow / dltotal));
	return 0;
}

static int request_to(struct net *n, const char *path, const void *data, size_t len,
		      struct sink *sink, char *err, size_t errlen)
{
	struct progress prog = { n->progress, 0, 0 };
	CURL *c = n->curl;
	char url[MAX_URL];
	char schema[96];
	struct curl_slist *h = NULL, *t;
	struct buf *body = sink->b;
	int rc = 0;

	buf_reset(body);
	int ul = snprintf(url, sizeof(url), "%s%s", n->base, path);
	if (ul < 0 || (size_t)ul >= sizeof(url)) {
		snprintf(err, errlen, "adresse trop longue");
		return RELAIS_EINVAL;
	}
	/* Schema, epoch and département in one header (docs/protocol.md): the
	 * three long ones cost a rural link 80 bytes a request. */
	snprintf(schema, sizeof(schema), "X-Relais: %d %s %s", MODEL_SCHEMA_VERSION,
		 n->epoch[0] ? n->epoch : "-", n->dept[0] ? n->dept : "-");
	const char *lines[] = {
		n->auth, schema,
		/* relaisd answers at once; waiting for "100 Continue" only adds a round trip. */
		data ? "Expect:" : NULL,
		/* Bytes count on a rural link: relaisd reads neither. */
		"Accept:",
		data ? "Content-Type:" : NULL,
	};
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		if (!lines[i])
			continue;
		if (!(t = curl_slist_append(h, lines[i]))) {
			rc = RELAIS_ENOMEM;
			snprintf(err, errlen, "mémoire insuffisante");
			goto out;
		}
		h = t;
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	sink->curl = c;
	if (n->progress && isatty(2)) {
		curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
		curl_easy_setopt(c, CURLOPT_XFERINFODATA, &prog);
		curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	} else {
		curl_easy_setopt(c, CURLOPT_NOPROGRESS, 1L);
	}
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, sink);
	if (data) {
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, data);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	} else {
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	}

	CURLcode cc = curl_easy_perform(c);
	if (prog.shown)
		fprintf(stderr, "\n");
	if (sink->refused) {
		snprintf(err, errlen, "le serveur a répondu une autre image du département que celle "
			 "demandée.");
		rc = RELAIS_EPROTO;
		goto out;
	}
	if (sink->failed) {
		snprintf(err, errlen, "écriture du fichier reçu impossible : %s", util_errno_fr(errno));
		rc = RELAIS_EIO;
		goto out;
	}
	if (sink->toobig) {
		snprintf(err, errlen, "réponse du serveur trop volumineuse (plus de %zu octets).",
			 body->max);
		rc = RELAIS_ETOOBIG;
		goto out;
	}
	if (cc != CURLE_OK) {
		const char *why = curl_reason(cc);
		if (why)
			snprintf(err, errlen, "serveur injoignable (%s) : %s.", n->base, why);
		else
			snprintf(err, errlen, "serveur injoignable (%s) : erreur réseau %d.",
				 n->base, (int)cc);
		rc = RELAIS_ENET;
		goto out;
	}
	long status = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	server_time(n);
	if (status != 200)
		rc = status_error(n, status, body, err, errlen);
out:
	/* The handle keeps pointers to the header list and the sink: drop them. */
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, NULL);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, NULL);
	curl_slist_free_all(h);
	return rc;
}

static int parse_json(const struct buf *body, json_t **out, char *err, size_t errlen)
{
	json_error_t je;
	*out = json_loadb((const char *)body->data, body->len, 0, &je);
	if (!*out || !json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		snprintf(err, errlen, "réponse illisible du serveur (JSON attendu).");
		return RELAIS_EPROTO;
	}
	return 0;
}

int net_get_json(struct net *n, const char *path, json_t **out, char *err, size_t errlen)
{
	struct buf body = BUF_INIT(NET_MAX_JSON);
	*out = NULL;
	int rc = request(n, path, NULL, 0, &body, err, errlen);
	if (!rc)
		rc = parse_json(&body, out, err, errlen);
	buf_release(&body);
	return rc;
}

int net_get_envelope(struct net *n, const char *path, struct buf *body, char *err, size_t errlen)
{
	/* The caller's cap governs the envelope; an error body is read with the
	 * same buffer, which only needs a few hundred bytes. */
	return request(n, path, NULL, 0, body, err, errlen);
}

int net_post_envelope(struct net *n, const char *path, const void *data, size_t len,
		      json_t **out, char *err, size_t errlen)
{
	struct buf body = BUF_INIT(NET_MAX_JSON);
	char ignored[64];
	*out = NULL;
	int rc = request(n, path, data, len, &body, err, errlen);
	if (!rc)
		rc = parse_json(&body, out, err, errlen);
	else if ((rc == RELAIS_EPERM || rc == RELAIS_EINVAL) && body.len)
		(void)parse_json(&body, out, ignored, sizeof(ignored));
	buf_release(&body);
	return rc;
}

int net_post_exchange(struct net *n, const char *path, const void *data, size_t len,
		      struct buf *body, json_t **out, char *err, size_t errlen)
{
	char ignored[64];
	*out = NULL;
	int rc = request(n, path, data, len, body, err, errlen);
	if ((rc == RELAIS_EPERM || rc == RELAIS_EINVAL) && body->len)
		(void)parse_json(body, out, ignored, sizeof(ignored));
	return rc;
}

int net_get_to_file(struct net *n, const char *path, int fd, uint64_t offset,
		    const char *header, const char *expect, char *val, size_t vallen,
		    uint64_t *written, long *status, char *err, size_t errlen)
{
	struct buf body = BUF_INIT(NET_MAX_JSON);
	struct sink sink;
	memset(&sink, 0, sizeof(sink));
	sink.b = &body;
	sink.fd = fd;
	sink.offset = offset;
	sink.header = header;
	sink.expect = expect;
	sink.val = val;
	sink.vallen = vallen;
	val[0] = 0;
	*status = 0;
	/* relaisd deflates the pieces of a département's file: curl inflates
	 * them as they come, so what is written stays a prefix of the file. */
	curl_easy_setopt(n->curl, CURLOPT_ACCEPT_ENCODING, "deflate");
	int rc = request_to(n, path, NULL, 0, &sink, err, errlen);
	curl_easy_setopt(n->curl, CURLOPT_ACCEPT_ENCODING, NULL);
	curl_easy_getinfo(n->curl, CURLINFO_RESPONSE_CODE, status);
	*written = sink.written;
	buf_release(&body);
	return rc;
}
