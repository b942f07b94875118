/*
 * api.c - the sync endpoints.
 *
 * The loop thread only reads headers and hands a job to a thread: to the
 * lane (daemon/lane.h) for the quick requests, to libuv's pool for a
 * bootstrap file or a document. The work callback does everything that
 * touches SQLite and leaves a finished answer (status and body) in the job;
 * back on the loop, the job's answer is sent. A push is the exception: the
 * work callback decodes it and hands it to group commit (store_push_async),
 * and the thread that merges its group finishes the answer and hands the
 * job back to the loop.
 * Error bodies carry French messages and never internal detail.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <jansson.h>
#include "../common/buf.h"
#include "../common/util.h"
#include "../model/model.h"
#include "../sync/sync.h"
#include "../sync/wire.h"
#include "api.h"
#include "auth.h"
#include "bootstrap.h"
#include "lane.h"
#include "limit.h"

/* Rows of a sync's page read through the writer (sync_committed). */
#define API_GROUP_PAGE_ROWS 256

#define MSG_AUTH "Authentification requise ou refusée."
#define MSG_INTERNAL "Le serveur n'a pas pu traiter la demande ; rien n'a été appliqué."

/* OP_CHECK: the token of a request whose client waits for "100 Continue". */
enum api_op { OP_WHOAMI, OP_PUSH, OP_PULL, OP_SNAPSHOT, OP_SYNC, OP_BOOTSTRAP, OP_CHECK, OP_DOCUMENT };

/* The routes that run an operation ("/v1/health" answers on the loop). */
static const struct {
	const char *method, *path;
	enum api_op op;
} api_routes[] = {
	{ "GET", "/v1/whoami", OP_WHOAMI },
	{ "POST", "/v1/push", OP_PUSH },
	{ "GET", "/v1/pull", OP_PULL },
	{ "GET", "/v1/snapshot", OP_SNAPSHOT },
	{ "GET", "/v1/document/{sha256}", OP_DOCUMENT },
	{ "POST", "/v1/sync", OP_SYNC },
	{ "GET", "/v1/amorce", OP_BOOTSTRAP },
};
#define API_NROUTES (sizeof(api_routes) / sizeof(api_routes[0]))

struct api;
/* What a route's handler is given. */
struct api_route {
	struct api *api;
	enum api_op op;
};

struct api {
	uv_loop_t *loop;
	struct store *store;
	struct http_server *http;
	struct config_security sec;
	struct limit *limit;      /* touched on the loop thread only */
	struct api_route route[API_NROUTES];
	struct lane *lane;        /* the requests that come by the hundred */
};

static void note_failure(struct api *a, const char *peer);

struct api_job {
	struct lane_job lj;       /* on the lane (lane_op) */
	uv_work_t work;           /* else on libuv's pool */
	struct api *api;
	struct http_request *req;
	enum api_op op;
	char peer[CONFIG_ADDR_MAX]; /* the client address the limit counts */
	char token[AUTH_TOKEN_LEN + 1];
	char schema[16];          /* X-Relais-Schema as received ("" when absent) */
	int has_schema;
	char epoch[SYNC_EPOCH_LEN + 2]; /* X-Relais-Epoque, cut; "" when absent */
	char param[72];           /* the route's parameter (a document's SHA-256), cut */
	char dept[8];             /* X-Relais-Departement, cut; "" when absent */
	unsigned wire;            /* the wire version to answer in (docs/protocol.md) */
	int deflate;              /* the client accepts "Content-Encoding: deflate" */
	struct auth_account who;

	/* a push handed to group commit (OP_PUSH, and OP_SYNC with items) */
	struct store_push_job pj;
	struct sync_author author;
	struct buf raw;           /* the push's decoded payload */
	struct sync_push push;
	struct sync_echo echo;    /* OP_SYNC: the pusher's own rows, left out of its page */
	char err[512];            /* the merge's French message */
	unsigned long long since; /* OP_SYNC: the page's cursor and size */
	unsigned limit;
	struct buf page;          /* OP_SYNC: the page read after the COMMIT */
	int page_rc;
	int page_cut;             /* the page stopped at API_GROUP_PAGE_ROWS, more waits */

	/* the answer */
	int status;
	const char *ctype;
	const char *extra;
	char extra_buf[128];      /* an extra header made for this answer */
	char *body;               /* malloc'd */
	size_t len;
};

/* ---- answers built in the job ---- */

static void job_json(struct api_job *j, int status, json_t *o)
{
	j->status = status;
	j->ctype = "application/json; charset=utf-8";
	j->body = o ? json_dumps(o, JSON_COMPACT) : NULL;
	j->len = j->body ? strlen(j->body) : 0;
	json_decref(o);
	if (!j->body)
		j->status = 500;
}

static void job_error(struct api_job *j, int status, const char *code, const char *msg)
{
	job_json(j, status, json_pack("{s:s, s:s}", "error", code, "message", msg));
	if (status == 401)
		j->extra = "WWW-Authenticate: Bearer\r\n";
}

static const char *op_name(enum api_op op)
{
	switch (op) {
	case OP_WHOAMI: return "identification d'un compte";
	case OP_PUSH: return "envoi de modifications";
	case OP_PULL: return "réception de modifications";
	case OP_SNAPSHOT: return "téléchargement initial";
	case OP_SYNC: return "synchronisation";
	case OP_BOOTSTRAP: return "téléchargement de l'image du département";
	case OP_CHECK: return "vérification d'un jeton";
	case OP_DOCUMENT: return "lecture d'un document";
	}
	return "requête";
}

/* A failure of the server itself: the administrator reads why in the log;
 * the person who synced learns that nothing was applied and whom to tell. */
static void job_internal(struct api_job *j, int rc)
{
	store_log_failure(j->api->store, op_name(j->op), rc);
	if (rc == RELAIS_EBUSY)
		job_error(j, 503, "busy", "Le serveur est occupé ; réessayez dans un instant.");
	else if (rc == RELAIS_EFULL)
		job_error(j, 507, "disk_full", "Le disque du serveur est plein : rien n'a été "
			  "enregistré. Vos modifications restent en attente sur votre poste ; "
			  "prévenez l'administrateur du serveur, puis synchronisez de nouveau.");
	else if (relais_storage_error(rc))
		job_error(j, 500, "storage", "La base du serveur ne peut être ni lue ni écrite "
			  "(disque ou fichier en panne) : rien n'a été enregistré. Vos modifications "
			  "restent en attente sur votre poste ; prévenez l'administrateur du serveur.");
	else
		job_error(j, 500, "internal", MSG_INTERNAL);
}

static void schema_mismatch(struct api_job *j, long long theirs)
{
	char msg[256];
	if (theirs < MODEL_SCHEMA_VERSION)
		snprintf(msg, sizeof(msg), "Votre client utilise le schéma %lld et le serveur le "
			 "schéma %d : mettez à jour relais.", theirs, MODEL_SCHEMA_VERSION);
	else
		snprintf(msg, sizeof(msg), "Votre client utilise le schéma %lld, plus récent que "
			 "celui du serveur (%d) : le serveur relaisd doit être mis à jour.",
			 theirs, MODEL_SCHEMA_VERSION);
	job_error(j, 409, "schema", msg);
}

/* Checks X-Relais-Schema; returns 0 when it matches, after answering when not. */
static int check_schema_header(struct api_job *j)
{
	long long v;
	if (!j->has_schema) {
		job_error(j, 400, "bad_request", "En-tête X-Relais-Schema manquant.");
		return -1;
	}
	if (util_parse_ll(j->schema, 0, 65535, &v)) {
		job_error(j, 400, "bad_request", "En-tête X-Relais-Schema invalide.");
		return -1;
	}
	if (v != MODEL_SCHEMA_VERSION) {
		schema_mismatch(j, v);
		return -1;
	}
	return 0;
}

/*
 * Checks X-Relais-Epoque, when the replica sent one: a different epoch means
 * the store was restored from a backup since the replica last synced, and
 * its cursor may point past changes the server no longer has or will number
 * again. Syncing on would skip them silently. Returns 0 when it may go on.
 */
static int check_epoch_header(struct api_job *j)
{
	if (!j->epoch[0] || !strcmp(j->epoch, store_epoch(j->api->store)))
		return 0;
	job_error(j, 409, "restored",
		  "Le serveur a été restauré depuis une sauvegarde depuis la dernière "
		  "synchronisation de ce réplica : il a pu perdre des modifications que ce poste "
		  "a déjà envoyées. Synchroniser maintenant mélangerait les deux états. Voir "
		  "« relais sync --help », section « Après une restauration du serveur ».");
	return -1;
}

/*
 * Checks X-Relais-Departement, when the replica sent one: the département
 * whose rows it holds. An account moved to another département
 * (relaisd compte modifier) would otherwise pull the new one's log from a cursor
 * numbered in the old one's, and keep rows and pending edits of a
 * département it may no longer read or write. Returns 0 when it may go on.
 */
static int check_dept_header(struct api_job *j)
{
	char msg[512];
	if (!j->dept[0] || !strcmp(j->dept, j->who.dept))
		return 0;
	/* The header is the client's word: echoed only when it is a real code. */
	if (model_dept_valid(j->dept))
		snprintf(msg, sizeof(msg), "Ce compte est désormais rattaché au département %s, mais "
			 "ce réplica contient les données du département %s : il ne peut plus se "
			 "synchroniser. Initialisez un nouveau réplica avec ce compte ; voir "
			 "« relais sync --help », section « Après un changement de département ».",
			 j->who.dept, j->dept);
	else
		snprintf(msg, sizeof(msg), "Ce compte est désormais rattaché au département %s, "
			 "pas à celui de ce réplica : il ne peut plus se synchroniser. Initialisez un "
			 "nouveau réplica avec ce compte.", j->who.dept);
	job_error(j, 409, "departement", msg);
	return -1;
}

/* ---- query ---- */

static int parse_digits(const char *s, size_t n, unsigned long long max, unsigned long long *out)
{
	unsigned long long v = 0;
	if (n == 0 || n > 20)
		return RELAIS_EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return RELAIS_EINVAL;
		unsigned d = (unsigned)(s[i] - '0');
		if (v > (max - d) / 10)
			return RELAIS_EINVAL;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

/* A query parameter a path takes: plain decimal digits, at most max, at most
 * once; seen says whether it came. */
struct query_param {
	const char *name;
	unsigned long long max, *value;
	int seen;
};

/* Reads query into params[0..n): any other name, a repeated one, a value
 * that is not as the parameter wants or a stray '&' is RELAIS_EINVAL. */
static int parse_params(const char *query, struct query_param *params, size_t n)
{
	for (const char *p = query; *p;) {
		const char *end = strchr(p, '&');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		const char *eq = memchr(p, '=', len);
		if (!eq)
			return RELAIS_EINVAL;
		size_t kn = (size_t)(eq - p), vn = len - kn - 1, i;
		for (i = 0; i < n; i++)
			if (strlen(params[i].name) == kn && !memcmp(p, params[i].name, kn))
				break;
		if (i == n || params[i].seen++ ||
		    parse_digits(eq + 1, vn, params[i].max, params[i].value))
			return RELAIS_EINVAL;
		if (!end)
			break;
		p = end + 1;
		if (!*p)
			return RELAIS_EINVAL; /* a trailing '&' */
	}
	return 0;
}

int api_parse_query(const char *query, unsigned long long *since, unsigned *limit)
{
	unsigned long long lim = API_DEFAULT_LIMIT;
	struct query_param params[] = {
		{ "since", (unsigned long long)INT64_MAX, since, 0 },
		{ "limit", API_MAX_LIMIT, &lim, 0 },
	};
	*since = 0;
	if (parse_params(query, params, sizeof(params) / sizeof(params[0])) || lim == 0)
		return RELAIS_EINVAL;
	*limit = (unsigned)lim;
	return 0;
}

/* ---- operations (worker thread) ---- */

static void do_whoami(struct api_job *j)
{
	job_json(j, 200, json_pack("{s:s, s:s, s:s, s:i, s:s}", "login", j->who.login,
				   "dept", j->who.dept, "role", j->who.role,
				   "schema", MODEL_SCHEMA_VERSION,
				   "epoque", store_epoch(j->api->store)));
}

/* Opens and decodes the push envelope of the request into raw and push;
 * answers and returns -1 when it cannot. */
static int push_read(struct api_job *j, struct buf *raw, struct sync_push *push)
{
	struct http_request *r = j->req;
	enum sync_wire_kind kind;
	unsigned schema = 0;
	int rc = sync_wire_open(r->body, r->body_len, SYNC_WIRE_MAX_RAW, &kind, &schema, raw);
	switch (rc) {
	case 0:
		break;
	case RELAIS_EVERSION:
		job_error(j, 400, "version", "Version du format d'échange non prise en charge : "
			  "mettez à jour relais.");
		return -1;
	case RELAIS_ETOOBIG:
		job_error(j, 413, "too_big", "Les données décompressées dépassent 64 Mio.");
		return -1;
	case RELAIS_ENOMEM:
		job_internal(j, rc);
		return -1;
	default:
		job_error(j, 400, "bad_request", "Corps de la requête illisible (tronqué ou corrompu).");
		return -1;
	}
	if (kind != SYNC_WIRE_PUSH) {
		job_error(j, 400, "bad_request", "Le corps de la requête n'est pas un envoi.");
		return -1;
	}
	if (schema != MODEL_SCHEMA_VERSION) {
		schema_mismatch(j, schema);
		return -1;
	}
	rc = sync_push_decode(raw->data, raw->len, API_MAX_PUSH_ITEMS, push);
	if (rc == RELAIS_ETOOBIG) {
		job_error(j, 413, "too_big", "Plus de 100 000 modifications dans un seul envoi.");
		return -1;
	} else if (rc == RELAIS_ENOMEM) {
		job_internal(j, rc);
		return -1;
	} else if (rc) {
		job_error(j, 400, "bad_request", "Corps de la requête illisible (tronqué ou corrompu).");
		return -1;
	}
	return 0;
}

/* Answers what the group said of the job's push, when it did not merge
 * with nothing refused (an item refused for good with its seq, or the
 * error), and returns -1 then; 0 otherwise. */
static int push_outcome(struct api_job *j)
{
	const struct sync_merge_result *res = &j->pj.merge.res;
	const char *err = j->err;
	switch (j->pj.merge.rc) {
	case 0:
		if (!res->refused_seq)
			return 0;
		/* One item refused for good: the ones before it are applied; the
		 * replica sets it aside and goes on. */
		int forbidden = res->refused_rc == RELAIS_EPERM;
		/* A read-only account (caf) sends only a publication's confirmation;
		 * anything else was made before its role changed: it stays pending
		 * on its replica, as a whole push refused. */
		if (forbidden && !auth_role_can_write(j->who.role)) {
			job_error(j, 403, "forbidden", "Votre rôle ne permet pas d'envoyer ces "
				  "modifications : un compte de la Caf confirme seulement la publication "
				  "des changements de l'annuaire national.");
			return -1;
		}
		job_json(j, forbidden ? 403 : 422,
			 json_pack("{s:s, s:s, s:I, s:I, s:I, s:I}",
				   "error", forbidden ? "forbidden" : "invalid",
				   "message", *err ? err : relais_strerror(res->refused_rc),
				   "refused", (json_int_t)res->refused_seq,
				   "acked", (json_int_t)res->acked,
				   "restamped", (json_int_t)res->restamped,
				   "hlc", (json_int_t)res->server_hlc));
		break;
	case RELAIS_EPERM:
		job_error(j, 403, "forbidden", *err ? err : "Modification d'un autre département refusée.");
		break;
	case RELAIS_ESCHEMA:
		job_error(j, 409, "schema", *err ? err : "Les modifications ne suivent pas le schéma "
			  "du serveur : mettez à jour relais.");
		break;
	case RELAIS_ECONSTRAINT:
		job_error(j, 422, "invalid", *err ? err : "Une modification ne respecte pas le schéma.");
		break;
	case RELAIS_ECORRUPT:
	case RELAIS_EINVAL:
		job_error(j, 400, "bad_request", *err ? err : "Modification illisible.");
		break;
	default:
		job_internal(j, j->pj.merge.rc);
		break;
	}
	return -1;
}

static void push_release(struct api_job *j)
{
	sync_echo_release(&j->echo);
	sync_push_free(&j->push);
	buf_release(&j->raw);
	buf_release(&j->page);
}

static int page_build(struct api_job *j, uint64_t since, unsigned limit, int live_only,
		      const struct sync_echo *echo, struct buf *raw);

/* Whether a pull page says that more rows wait. */
static int page_more(const struct buf *page)
{
	struct sync_pull_reader pr;
	return !sync_pull_open(&pr, page->data, page->len) && pr.more;
}

static void sync_reply(struct api_job *j, int rc, const struct sync_merge_result *res);

/* The group's done(): the push's answer, then the job back to the loop. */
static void push_done(struct store_push_job *pj)
{
	struct api_job *j = (struct api_job *)((char *)pj - offsetof(struct api_job, pj));
	const struct sync_merge_result *res = &pj->merge.res;
	if (push_outcome(j)) {
		/* answered */
	} else if (j->op == OP_SYNC) {
		int rc = j->page_rc;
		if (j->page_cut)
			rc = page_build(j, j->since, j->limit, 0, &j->echo, &j->page);
		sync_reply(j, rc, res);
	} else {
		job_json(j, 200, json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}",
					   "acked", (json_int_t)res->acked,
					   "items", (json_int_t)res->items,
					   "changes", (json_int_t)res->changes,
					   "conflicts", (json_int_t)res->conflicts,
					   "restamped", (json_int_t)res->restamped,
					   "hlc", (json_int_t)res->server_hlc));
	}
	push_release(j);
	lane_finish(j->api->lane, &j->lj);
}

/* Hands the job's decoded push to group commit; committed (may be NULL)
 * reads the answer's page. The job is the group's from then on. */
static void push_submit(struct api_job *j,
			void (*committed)(struct store_push_job *, struct sync_puller *))
{
	j->author = (struct sync_author){ j->who.login, j->who.dept, j->who.role };
	j->pj.merge = (struct sync_merge_job){ .who = &j->author, .push = &j->push, .err = j->err,
					       .errlen = sizeof(j->err),
					       .echo = j->op == OP_SYNC ? &j->echo : NULL };
	j->pj.committed = committed;
	j->pj.done = push_done;
	store_push_async(j->api->store, &j->pj);
}

/* Answers 403 and returns 1 when the account's role sends no push. */
static int push_refused(struct api_job *j)
{
	if (auth_role_can_push(j->who.role))
		return 0;
	job_error(j, 403, "forbidden", "Votre rôle ne permet pas d'envoyer des modifications.");
	return 1;
}

/* Returns 1 when the job was handed to group commit: it is no longer the
 * caller's, and may be answered and freed already. */
static int do_push(struct api_job *j)
{
	if (push_refused(j))
		return 0;
	if (push_read(j, &j->raw, &j->push)) {
		push_release(j);
		return 0;
	}
	push_submit(j, NULL);
	return 1;
}

/* The rows the model keeps from an account of this role (ctx). */
static const char *hidden_where(void *ctx, const char *table)
{
	return model_role_hidden((const char *)ctx, table);
}

/* Whether the model keeps some rows from an account of role: it then gets
 * no bootstrap file (one per département, for every account of it). */
static int role_reads_less(const char *role)
{
	for (size_t i = 0; i < model_ntables; i++)
		if (model_role_hidden(role, model_tables[i].name))
			return 1;
	return 0;
}

/* Builds a pull page of the account's département through puller (echo:
 * rows to leave out), halving the page while it passes the payload cap;
 * the rows the model keeps from the account's role are sent as deleted. */
static int page_read(struct api_job *j, struct sync_puller *puller, uint64_t since,
		     unsigned limit, int live_only, const struct sync_echo *echo, struct buf *raw)
{
	struct sync_hide hide = { hidden_where, (void *)j->who.role };
	int rc;
	for (;;) {
		buf_reset(raw);
		rc = sync_puller_page(puller, j->who.dept, since, limit, live_only, echo, &hide, raw);
		if (rc != RELAIS_ETOOBIG || limit == 1)
			return rc;
		limit /= 2;
	}
}

/* page_read() on a read connection. */
static int page_build(struct api_job *j, uint64_t since, unsigned limit, int live_only,
		      const struct sync_echo *echo, struct buf *raw)
{
	struct store_reader *rd = store_reader_acquire(j->api->store);
	int rc = page_read(j, rd->puller, since, limit, live_only, echo, raw);
	store_reader_release(j->api->store, rd);
	return rc;
}

/* Answers the payload in raw sealed as an envelope of this kind, or a 500
 * when rc (the building of the payload) failed. */
static void job_envelope(struct api_job *j, int rc, enum sync_wire_kind kind,
			 const struct buf *raw)
{
	struct buf out = BUF_INIT(SYNC_WIRE_MAX_RAW + SYNC_WIRE_HEADER);

	if (!rc)
		rc = sync_wire_seal_version(kind, j->wire, MODEL_SCHEMA_VERSION, raw->data, raw->len,
					    &out);
	if (!rc) {
		j->status = 200;
		j->ctype = NULL; /* an envelope: the path says so, and a rural link pays each byte */
		j->body = (char *)buf_detach(&out, &j->len);
		if (!j->body)
			rc = RELAIS_ENOMEM;
	}
	if (rc)
		job_internal(j, rc);
	buf_release(&out);
}

/* Answers a sync: the push's counters (res, NULL for a sync without
 * items) and the page in j->page, or a 500 when rc (the page's reading)
 * failed. */
static void sync_reply(struct api_job *j, int rc, const struct sync_merge_result *res)
{
	struct buf out = BUF_INIT(SYNC_WIRE_MAX_RAW);
	if (!rc) {
		struct sync_answer a = { 0, 0, 0, 0, 0 };
		if (res)
			a = (struct sync_answer){ res->acked, res->items, res->changes,
						  res->conflicts, res->restamped };
		rc = sync_answer_encode(&a, j->page.data, j->page.len, &out);
	}
	job_envelope(j, rc, SYNC_WIRE_SYNC, &out);
	buf_release(&out);
	if (rc && res) {
		/* The push is durable already: job_internal()'s « rien n'a été
		 * appliqué » would be wrong. A retry applies nothing twice. */
		free(j->body);
		j->body = NULL;
		job_error(j, j->status, "page_unavailable", "Vos modifications sont enregistrées sur le "
			  "serveur, mais la réception de celles des autres a échoué : synchronisez de "
			  "nouveau.");
	}
}

/* Reads since and limit from the query; answers 400 and returns -1 when
 * they are not as docs/protocol.md says. */
static int job_query(struct api_job *j, unsigned long long *since, unsigned *limit)
{
	if (!api_parse_query(j->req->query, since, limit))
		return 0;
	job_error(j, 400, "bad_request", "Paramètres invalides : since (entier positif) et "
		  "limit (de 1 à 10 000) seulement.");
	return -1;
}

/* The group's committed() of a sync: its page, read as committed through
 * the writer, which no group can use meanwhile: API_GROUP_PAGE_ROWS rows
 * at most. A page cut there is read again whole in push_done(). */
static void sync_committed(struct store_push_job *pj, struct sync_puller *puller)
{
	struct api_job *j = (struct api_job *)((char *)pj - offsetof(struct api_job, pj));
	if (!pj->merge.rc && !pj->merge.res.refused_seq) {
		unsigned limit = j->limit < API_GROUP_PAGE_ROWS ? j->limit : API_GROUP_PAGE_ROWS;
		j->page_rc = page_read(j, puller, j->since, limit, 0, &j->echo, &j->page);
		j->page_cut = !j->page_rc && limit < j->limit && page_more(&j->page);
	}
}

/*
 * POST /v1/sync?since=CURSOR: a push (possibly of no item) and, in the same
 * answer, the pull page from the pusher's cursor, without the rows the push
 * wrote as the pusher holds them: an editor's sync is one round trip. A
 * push with items reads its page in its group, once committed.
 */
static int do_sync(struct api_job *j)
{
	if (job_query(j, &j->since, &j->limit) || push_read(j, &j->raw, &j->push)) {
		push_release(j);
		return 0;
	}
	j->echo.since = j->since;
	if (j->push.count) {
		if (push_refused(j)) {
			push_release(j);
			return 0;
		}
		push_submit(j, sync_committed);
		return 1;
	}
	sync_reply(j, page_build(j, j->since, j->limit, 0, NULL, &j->page), NULL);
	push_release(j);
	return 0;
}

static void do_pull(struct api_job *j, int live_only)
{
	struct buf raw = BUF_INIT(SYNC_WIRE_MAX_RAW);
	unsigned long long since;
	unsigned limit;

	if (!job_query(j, &since, &limit))
		job_envelope(j, page_build(j, since, limit, live_only, NULL, &raw), SYNC_WIRE_PULL, &raw);
	buf_release(&raw);
}

/*
 * The bytes of a document of the account's département, by their SHA-256
 * (a live document row of that département must name them). Another
 * département's document and one that does not exist get the same 404.
 */
static void do_document(struct api_job *j)
{
	const char *sha = j->param;
	sqlite3_stmt *st = NULL;
	int rc;

	if (strlen(sha) != UTIL_SHA256_HEX || strspn(sha, "0123456789abcdef") != UTIL_SHA256_HEX) {
		job_error(j, 400, "bad_request", "Empreinte de document invalide (64 chiffres "
			  "hexadécimaux).");
		return;
	}
	struct store_reader *rd = store_reader_acquire(j->api->store);
	sqlite3 *db = rd->db;
	rc = sqlite3_prepare_v2(db, "SELECT b.data FROM document d JOIN document_blob b "
				"ON b.sha256 = d.empreinte WHERE d.empreinte = ?1 AND d.dept = ?2 LIMIT 1",
				-1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(st, 1, sha, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, j->who.dept, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			size_t n = (size_t)sqlite3_column_bytes(st, 0);
			j->body = malloc(n ? n : 1);
			if (j->body) {
				if (n)
					memcpy(j->body, sqlite3_column_blob(st, 0), n);
				j->len = n;
				j->status = 200;
				j->ctype = "application/octet-stream";
			}
		}
	}
	sqlite3_finalize(st);
	store_reader_release(j->api->store, rd);
	if (j->status == 200)
		return;
	if (rc == SQLITE_ROW)
		job_internal(j, RELAIS_ENOMEM);
	else if (rc == SQLITE_DONE)
		job_error(j, 404, "not_found", "Document introuvable dans votre département.");
	else
		job_internal(j, relais_sqlite_error(rc));
}

/* Parses "seq=N&offset=N" (each optional, at most once, decimal). */
static int parse_bootstrap_query(const char *query, unsigned long long *seq, int *has_seq,
				 unsigned long long *offset)
{
	struct query_param params[] = {
		{ "seq", (unsigned long long)INT64_MAX, seq, 0 },
		{ "offset", (unsigned long long)INT64_MAX, offset, 0 },
	};
	*seq = *offset = 0;
	int rc = parse_params(query, params, sizeof(params) / sizeof(params[0]));
	*has_seq = params[0].seen;
	return rc;
}

/*
 * GET /v1/amorce?seq=S&offset=N: a piece of the département's bootstrap
 * file (bootstrap.h). Without seq, the current file; with it, that file or
 * 410 when a newer one replaced it. X-Relais-Amorce: SEQ SIZE CRC describes
 * the whole file; the body is at most BOOTSTRAP_CHUNK bytes from offset.
 */
static void do_bootstrap(struct api_job *j)
{
	unsigned long long seq, offset;
	struct bootstrap_info info;
	int rc, has_seq;

	if (parse_bootstrap_query(j->req->query, &seq, &has_seq, &offset)) {
		job_error(j, 400, "bad_request", "Paramètres invalides : seq et offset (entiers "
			  "positifs) seulement.");
		return;
	}
	if (role_reads_less(j->who.role)) {
		job_error(j, 404, "not_found", "Pas d'image du département pour ce compte : ses "
			  "données arrivent page par page.");
		return;
	}
	uint64_t want = seq;
	rc = bootstrap_get(j->api->store, j->who.dept, has_seq ? &want : NULL, &info);
	if (rc == RELAIS_ENOTFOUND) {
		job_error(j, 410, "gone", "Cette image du département a été remplacée par une plus "
			  "récente : le téléchargement reprend depuis le début.");
		return;
	}
	if (!rc && offset > info.size) {
		job_error(j, 400, "bad_request", "Position au-delà de la fin de l'image.");
		return;
	}
	if (!rc)
		rc = bootstrap_read(j->api->store, j->who.dept, &info, offset, BOOTSTRAP_CHUNK,
				    &j->body, &j->len);
	if (rc == RELAIS_ENOTFOUND) {
		job_error(j, 410, "gone", "Cette image du département a été remplacée par une plus "
			  "récente : le téléchargement reprend depuis le début.");
		return;
	}
	if (rc) {
		job_internal(j, rc);
		return;
	}
	int deflated = j->deflate && j->len && info.size <= BOOTSTRAP_DEFLATE_MAX;
	if (deflated && (rc = bootstrap_deflate(&j->body, &j->len))) {
		job_internal(j, rc);
		return;
	}
	snprintf(j->extra_buf, sizeof(j->extra_buf), "X-Relais-Amorce: %llu %llu %lu\r\n%s",
		 (unsigned long long)info.seq, (unsigned long long)info.size,
		 (unsigned long)info.crc, deflated ? "Content-Encoding: deflate\r\n" : "");
	j->extra = j->extra_buf;
	j->status = 200;
	j->ctype = NULL;
}

/* Runs the job's operation. Returns 1 when it was handed to group commit
 * (do_push, do_sync): the job is no longer the caller's. */
static int job_run(struct api_job *j)
{
	struct store_reader *rd = store_reader_acquire(j->api->store);
	int rc = auth_lookup(rd->db, &rd->accounts, j->token, &j->who);
	store_reader_release(j->api->store, rd);
	if (rc == RELAIS_EAUTH) {
		job_error(j, 401, "auth", MSG_AUTH);
		return 0;
	}
	if (rc) {
		job_internal(j, rc);
		return 0;
	}
	if (j->op == OP_CHECK)
		return 0;
	if (j->op != OP_WHOAMI && (check_schema_header(j) || check_epoch_header(j) ||
				   check_dept_header(j)))
		return 0;
	switch (j->op) {
	case OP_WHOAMI:
		do_whoami(j);
		break;
	case OP_PUSH:
		return do_push(j);
	case OP_PULL:
		do_pull(j, 0);
		break;
	case OP_SNAPSHOT:
		do_pull(j, 1);
		break;
	case OP_DOCUMENT:
		do_document(j);
		break;
	case OP_SYNC:
		return do_sync(j);
	case OP_BOOTSTRAP:
		do_bootstrap(j);
		break;
	case OP_CHECK:
		break;
	}
	return 0;
}

/* Sends the job's answer and frees it. Loop thread. */
static void job_answer(struct api_job *j)
{
	if (j->status == 401)
		note_failure(j->api, j->peer);
	if (j->op == OP_CHECK && !j->status) {
		http_continue(j->req);
	} else if (j->status == 500 && !j->body) {
		http_respond_error(j->req, 500, "internal", MSG_INTERNAL);
	} else {
		/* The server's time, for replicas to tell a wrong clock. */
		char extra[160];
		snprintf(extra, sizeof(extra), "%s" SYNC_TIME_HEADER ": %lld\r\n",
			 j->extra ? j->extra : "", (long long)util_now_ms());
		http_respond_take(j->req, j->status, j->ctype, extra, j->body, j->len);
		j->body = NULL;
	}
	memset(j->token, 0, sizeof(j->token));
	free(j->body);
	free(j);
}

/* libuv's pool runs the long operations, which hand nothing on. */
static void work(uv_work_t *w)
{
	int handed = job_run(w->data);
	assert(!handed);
	(void)handed;
}

static void after_work(uv_work_t *w, int status)
{
	(void)status; /* never cancelled: we do not call uv_cancel */
	job_answer(w->data);
}

/* The lane's side of a job: its work, then back to the loop unless its
 * push's group finishes it. */
static void lane_work(struct lane_job *lj)
{
	struct api_job *j = (struct api_job *)lj;
	struct lane *lane = j->api->lane; /* read first: a job handed on may be gone */
	if (!job_run(j))
		lane_finish(lane, lj);
}

static void lane_done(struct lane_job *lj)
{
	job_answer((struct api_job *)lj);
}

/* Whether op is quick enough for the lane: all but the long ones, a
 * bootstrap file and a document. */
static int lane_op(enum api_op op)
{
	return op != OP_BOOTSTRAP && op != OP_DOCUMENT;
}

/* ---- handlers (loop thread) ---- */

/* Canonical text of an IP address, or 0 when s is not one. */
static int canonical_ip(const char *s, size_t n, char out[CONFIG_ADDR_MAX])
{
	char tmp[64];
	unsigned char bin[16];
	while (n && (*s == ' ' || *s == '\t'))
		s++, n--;
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (!n || n >= sizeof(tmp))
		return 0;
	memcpy(tmp, s, n);
	tmp[n] = 0;
	int af = inet_pton(AF_INET, tmp, bin) == 1 ? AF_INET
		 : inet_pton(AF_INET6, tmp, bin) == 1 ? AF_INET6 : 0;
	return af && inet_ntop(af, bin, out, CONFIG_ADDR_MAX) != NULL;
}

void api_client_addr(const struct config_security *sec, const char *peer, const char *real_ip,
		     const char *forwarded_for, char out[CONFIG_ADDR_MAX])
{
	char p[CONFIG_ADDR_MAX];
	int trusted = 0;
	if (!canonical_ip(peer, strlen(peer), p))
		snprintf(p, sizeof(p), "%.*s", CONFIG_ADDR_MAX - 1, peer);
	for (size_t i = 0; sec && i < sec->nproxies; i++)
		if (!strcmp(sec->proxies[i], p))
			trusted = 1;
	snprintf(out, CONFIG_ADDR_MAX, "%s", p);
	if (!trusted)
		return;
	/* The rightmost X-Forwarded-For entry is the one our proxy added; the
	 * ones before it come from the client and prove nothing. */
	if (real_ip && canonical_ip(real_ip, strlen(real_ip), out))
		return;
	if (forwarded_for) {
		const char *last = strrchr(forwarded_for, ',');
		last = last ? last + 1 : forwarded_for;
		if (canonical_ip(last, strlen(last), out))
			return;
	}
	snprintf(out, CONFIG_ADDR_MAX, "%s", p);
}

static void note_failure(struct api *a, const char *peer)
{
	if (limit_fail(a->limit, peer, (int64_t)(uv_now(a->loop))))
		fprintf(stderr, "authentification : trop d'échecs depuis %s, refus pendant %d s\n",
			peer, LIMIT_BLOCK_MS / 1000);
}

static void respond_json(struct http_request *r, int status, const char *extra,
			 const char *code, const char *msg)
{
	json_t *o = json_pack("{s:s, s:s}", "error", code, "message", msg);
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (!s) {
		http_respond_error(r, 500, "internal", MSG_INTERNAL);
		return;
	}
	http_respond_take(r, status, "application/json; charset=utf-8", extra, s, strlen(s));
}

/* Copies one space-separated field of s (advancing it) into out, cut to
 * outlen; "-" stands for a field not given. Returns 1 when given. */
static int compact_field(const char **s, char *out, size_t outlen)
{
	size_t n = strcspn(*s, " ");
	int given = n && !(n == 1 && **s == '-');
	if (given)
		snprintf(out, outlen, "%.*s", (int)(n < outlen ? n : outlen - 1), *s);
	*s += n;
	if (**s == ' ')
		(*s)++;
	return given;
}

/*
 * "X-Relais: SCHEMA EPOCH DEPT" (docs/protocol.md) says in one header what
 * X-Relais-Schema, X-Relais-Epoque and X-Relais-Departement say; those,
 * when sent too, win. Values are cut like theirs and checked the same way.
 */
static void compact_headers(struct api_job *j, const char *v)
{
	char schema[sizeof(j->schema)] = "", epoch[sizeof(j->epoch)] = "", dept[sizeof(j->dept)] = "";
	int has = compact_field(&v, schema, sizeof(schema));
	compact_field(&v, epoch, sizeof(epoch));
	compact_field(&v, dept, sizeof(dept));
	if (has && !j->has_schema) {
		j->has_schema = 1;
		memcpy(j->schema, schema, sizeof(schema));
	}
	if (!j->epoch[0])
		memcpy(j->epoch, epoch, sizeof(epoch));
	if (!j->dept[0])
		memcpy(j->dept, dept, sizeof(dept));
}

static void start(struct http_request *r, struct api *a, enum api_op op)
{
	char peer[CONFIG_ADDR_MAX];
	api_client_addr(&a->sec, http_request_peer(r), http_request_header(r, "X-Real-IP"),
			http_request_header(r, "X-Forwarded-For"), peer);
	unsigned wait = limit_check(a->limit, peer, (int64_t)uv_now(a->loop));
	if (wait) {
		char extra[64], msg[256];
		snprintf(extra, sizeof(extra), "Retry-After: %u\r\n", wait);
		snprintf(msg, sizeof(msg), "Trop d'échecs d'authentification depuis votre adresse : "
			 "réessayez dans %u seconde%s.", wait, util_pluriel(wait));
		respond_json(r, 429, extra, "rate_limited", msg);
		return;
	}
	struct api_job *j = calloc(1, sizeof(*j));
	if (!j) {
		http_respond_error(r, 500, "internal", MSG_INTERNAL);
		return;
	}
	j->api = a;
	j->req = r;
	j->op = op;
	buf_init(&j->raw, SYNC_WIRE_MAX_RAW);
	buf_init(&j->page, SYNC_WIRE_MAX_RAW);
	const char *param = http_request_param(r, "sha256");
	if (param)
		snprintf(j->param, sizeof(j->param), "%s", param);
	j->work.data = j;
	memcpy(j->peer, peer, sizeof(peer));
	if (auth_bearer(http_request_header(r, "Authorization"), j->token)) {
		free(j);
		note_failure(a, peer);
		respond_json(r, 401, "WWW-Authenticate: Bearer\r\n", "auth", MSG_AUTH);
		return;
	}
	const char *schema = http_request_header(r, "X-Relais-Schema");
	if (schema) {
		j->has_schema = 1;
		/* Longer values are junk anyway: cut, and let the parser refuse. */
		snprintf(j->schema, sizeof(j->schema), "%s", schema);
	}
	const char *epoch = http_request_header(r, "X-Relais-Epoque");
	if (epoch)
		snprintf(j->epoch, sizeof(j->epoch), "%s", epoch);
	const char *dept = http_request_header(r, "X-Relais-Departement");
	if (dept)
		snprintf(j->dept, sizeof(j->dept), "%s", dept);
	/* Clients that send the compact header read envelopes of wire version
	 * 2; those that send only the long ones (relais before it), version 1. */
	const char *compact = http_request_header(r, "X-Relais");
	j->wire = compact ? SYNC_WIRE_VERSION : 1;
	const char *enc = http_request_header(r, "Accept-Encoding");
	j->deflate = enc && strstr(enc, "deflate");
	if (compact)
		compact_headers(j, compact);
	if (lane_op(op)) {
		j->lj = (struct lane_job){ lane_work, lane_done, NULL };
		lane_submit(a->lane, &j->lj);
	} else if (uv_queue_work(a->loop, &j->work, work, after_work)) {
		memset(j->token, 0, sizeof(j->token));
		free(j);
		http_respond_error(r, 500, "internal", MSG_INTERNAL);
	}
}

static void on_health(struct http_request *r, void *arg)
{
	(void)arg;
	json_t *o = json_pack("{s:s, s:s, s:i}", "status", "ok", "version", RELAIS_VERSION,
			      "schema", MODEL_SCHEMA_VERSION);
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (!s) {
		http_respond_error(r, 500, "internal", MSG_INTERNAL);
		return;
	}
	http_respond_take(r, 200, "application/json; charset=utf-8", NULL, s, strlen(s));
}

static void on_route(struct http_request *r, void *arg)
{
	const struct api_route *rt = arg;
	start(r, rt->api, rt->op);
}

/* A client that waits for "100 Continue" before sending a push hears 429 or
 * 401 first, so that a refused push costs neither side its upload. Other
 * paths take no body worth sparing: their answer comes after it. */
static void on_expect(struct http_request *r, void *arg)
{
	if (strcmp(r->method, "POST") || (strcmp(r->path, "/v1/push") && strcmp(r->path, "/v1/sync")))
		http_continue(r);
	else
		start(r, arg, OP_CHECK);
}

int api_new(uv_loop_t *loop, struct store *st, struct http_server *srv, struct api **out)
{
	struct api *a = calloc(1, sizeof(*a));
	int rc = 0;
	if (!a)
		return RELAIS_ENOMEM;
	a->loop = loop;
	a->store = st;
	a->http = srv;
	a->limit = malloc(sizeof(*a->limit));
	if (!a->limit) {
		free(a);
		return RELAIS_ENOMEM;
	}
	limit_init(a->limit, 0);
	rc = http_server_route(srv, "GET", "/v1/health", on_health, a);
	for (size_t i = 0; !rc && i < API_NROUTES; i++) {
		a->route[i] = (struct api_route){ a, api_routes[i].op };
		rc = http_server_route(srv, api_routes[i].method, api_routes[i].path, on_route,
				       &a->route[i]);
	}
	/* One thread per processor; two at least, as one may be merging a
	 * group while the other reads the next tokens. */
	unsigned n = uv_available_parallelism();
	if (!rc)
		rc = lane_new(loop, n < 2 ? 2 : n > LANE_MAX_THREADS ? LANE_MAX_THREADS : n, &a->lane);
	if (rc) {
		free(a->limit);
		free(a);
		return rc;
	}
	http_server_expect(srv, on_expect, a);
	*out = a;
	return 0;
}

/* Every trusted proxy fits among the exempt addresses. */
_Static_assert(CONFIG_MAX_PROXIES <= HTTP_MAX_EXEMPT, "proxies must fit the exempt table");

void api_set_security(struct api *a, const struct config_security *sec)
{
	a->sec = *sec;
	limit_init(a->limit, sec->echecs_max);
	/* A proxy carries every client: the per-address cap would throttle
	 * them all together. */
	for (size_t i = 0; i < sec->nproxies; i++) {
		int rc = http_server_exempt(a->http, sec->proxies[i]);
		assert(rc == 0);
		(void)rc;
	}
}

void api_free(struct api *a)
{
	if (!a)
		return;
	lane_free(a->lane);
	free(a->limit);
	free(a);
}
