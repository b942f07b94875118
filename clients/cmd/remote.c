/*
 * remote.c - the commands that talk to relaisd: init (bootstrap a new
 * replica from snapshot pages), sync (push the outbox, then pull) and jeton
 * (replace the token of a replica, keeping its pending edits).
 *
 * Both are safe to interrupt at any byte: each pushed batch is acknowledged
 * by the server before it leaves the outbox (a retry applies nothing twice),
 * and each pulled page is applied with its cursor in one transaction.
 *
 * Kept whole (over 800 lines): init, sync and jeton share the run state, the
 * connection, the bootstrap file and the handling of refused items; the order of
 * their steps is the safety argument above, easier to check in one place.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <zlib.h>
#include "../../common/buf.h"
#include "../../common/util.h"
#include "../../model/model.h"
#include "../../sync/sync.h"
#include "cli.h"
#include "jeton.h"
#include "../replica/net.h"
#include "../replica/refus.h"
#include "../replica/replica.h"

#define PUSH_MAX_ITEMS 1000
#define PUSH_MAX_BYTES (4u << 20)
#define PULL_MAX 5000   /* the server's default page */
#define PULL_MIN 50

struct remote_opts {
	const char *server;
	const char *token;
	const char *token_file;
	const char *ca;
};

/* Which options a command takes. */
enum { TAKES_SERVER = 1, TAKES_TOKEN = 2, TAKES_CA = 4 };

/* Parses the options that takes allows into o, with c's texts for
 * --help. Returns 0, an exit status, or -1 after printing help. */
static int parse_opts(int argc, char **argv, unsigned takes, struct remote_opts *o,
		      const struct options_cmd *c)
{
	struct option opts[5];
	size_t k = 0;
	memset(o, 0, sizeof(*o));
	if (takes & TAKES_SERVER)
		opts[k++] = (struct option)OPT_STRING_F(
			0, "serveur", &o->server, "URL",
			takes & TAKES_TOKEN ? "adresse du serveur relaisd (http:// ou https://)"
					    : "autre adresse du serveur, pour cette fois seulement",
			OPTION_NONEMPTY);
	if (takes & TAKES_TOKEN) {
		opts[k++] = (struct option)OPT_STRING_F(
			0, "fichier-jeton", &o->token_file, "FICHIER",
			takes & TAKES_SERVER ? "fichier qui contient le jeton du compte"
					     : "fichier qui contient le nouveau jeton",
			OPTION_NONEMPTY);
		opts[k++] = (struct option)OPT_STRING_F(
			0, "jeton", &o->token, "JETON",
			"le jeton lui-même (visible dans la liste des processus)", OPTION_NONEMPTY);
	}
	if (takes & TAKES_CA)
		opts[k++] = (struct option)OPT_STRING_F(
			0, "ca", &o->ca, "FICHIER",
			"autorité de certification du serveur (https), conservée\n"
			"dans le réplica (sinon celles du système)", OPTION_NONEMPTY);
	opts[k] = (struct option)OPT_END();
	struct options_cmd with = *c;
	with.options = opts;
	int rc = options_parse_cmd(&with, argc - 1, argv + 1, NULL, NULL);
	if (rc)
		return rc;
	if (o->token && o->token_file) {
		options_usage_error(&with, "donnez le jeton d'une seule façon : --jeton ou --fichier-jeton");
		return CLI_EXIT_USAGE;
	}
	return 0;
}

static int meta_u64(struct replica *r, const char *key, uint64_t *out)
{
	char *v = NULL;
	long long n = 0;
	int rc = replica_meta(r, key, &v);
	if (!rc && v && util_parse_ll(v, 0, INT64_MAX, &n))
		rc = RELAIS_ECORRUPT;
	*out = (uint64_t)n;
	free(v);
	return rc;
}

/* What one run of init or sync saw, beyond rows sent and received. */
struct run {
	uint64_t set_aside;    /* edits refused for good and set aside */
	uint64_t restamped;    /* edits the server stamped again (clock ahead) */
	int clock_fixed;       /* the replica's clock came back from far ahead */
};

/* After each answer: records how far this computer's clock is from the
 * server's, and brings back a replica clock pushed far ahead. */
static int clock_note(struct replica *r, const struct net *n, struct run *run,
		      char *err, size_t errlen)
{
	int fixed = 0;
	int rc = sync_client_clock(r->db, n->server_ms, n->local_ms, 0, &fixed);
	if (rc)
		snprintf(err, errlen, "écriture dans le réplica impossible : %s", relais_strerror(rc));
	if (fixed)
		run->clock_fixed = 1;
	return rc;
}

static int set_last_sync(struct replica *r)
{
	char when[21];
	util_iso8601(util_now_ms(), when);
	return sync_meta_set(r->db, "last_sync", when);
}

/* Opens the envelope in body into raw (reset first), checking its kind and
 * schema. */
static int open_envelope(const struct buf *body, enum sync_wire_kind want, struct buf *raw,
			 char *err, size_t errlen)
{
	enum sync_wire_kind kind;
	unsigned schema;
	buf_reset(raw);
	int rc = sync_wire_open(body->data, body->len, SYNC_WIRE_MAX_RAW, &kind, &schema, raw);
	if (rc) {
		snprintf(err, errlen, "réponse du serveur illisible : %s", relais_strerror(rc));
		return rc;
	}
	if (kind != want) {
		snprintf(err, errlen, "réponse inattendue du serveur (type %d).", (int)kind);
		return RELAIS_EPROTO;
	}
	if (schema != MODEL_SCHEMA_VERSION) {
		snprintf(err, errlen, "le serveur utilise le schéma %u et ce client le schéma %d : "
			 "mettez relais à jour.", schema, MODEL_SCHEMA_VERSION);
		return RELAIS_ESCHEMA;
	}
	return 0;
}

/* Applies a pulled page; the French message says why not. */
static int apply_page(struct replica *r, const void *page, size_t len,
		      struct sync_apply_result *res, char *err, size_t errlen)
{
	memset(res, 0, sizeof(*res));
	int rc = sync_apply_pull(r->db, r->tables, page, len, res);
	if (rc == RELAIS_EBUSY)
		snprintf(err, errlen, "des modifications locales attendent encore d'être envoyées ; "
			 "réception reportée.");
	else if (rc)
		snprintf(err, errlen, "application des données reçues impossible : %s ; "
			 "le réplica est inchangé pour cette page.", relais_strerror(rc));
	return rc;
}

/*
 * Pulls pages from endpoint ("/v1/pull" or "/v1/snapshot") from the stored
 * cursor until the server has no more, applying each. Adds the number of
 * rows received to *rows.
 */
static int pull_pages(struct replica *r, struct net *n, const char *endpoint, uint64_t *rows,
		      struct run *run, char *err, size_t errlen)
{
	struct buf body = BUF_INIT(SYNC_WIRE_MAX_BODY), raw = BUF_INIT(SYNC_WIRE_MAX_RAW);
	uint64_t cursor = 0;
	int rc = meta_u64(r, "cursor", &cursor);
	if (rc) {
		snprintf(err, errlen, "curseur de synchronisation illisible : %s", relais_strerror(rc));
		goto out;
	}
	/* A page is all or nothing: on a line that drops, pages that a cut
	 * interrupted shrink (halved at each, down to PULL_MIN) and grow back
	 * once they get through, from one run to the next. */
	uint64_t limit = 0;
	if (meta_u64(r, "pull_limit", &limit) || limit < PULL_MIN || limit > PULL_MAX)
		limit = PULL_MAX;
	for (;;) {
		char path[128], v[24];
		struct sync_apply_result res;

		if (limit == PULL_MAX)
			snprintf(path, sizeof(path), "%s?since=%" PRIu64, endpoint, cursor);
		else
			snprintf(path, sizeof(path), "%s?since=%" PRIu64 "&limit=%" PRIu64, endpoint,
				 cursor, limit);
		rc = net_get_envelope(n, path, &body, err, errlen);
		if (rc == RELAIS_ENET && limit > PULL_MIN) {
			snprintf(v, sizeof(v), "%" PRIu64, limit / 2 > PULL_MIN ? limit / 2 : PULL_MIN);
			(void)!sync_meta_set(r->db, "pull_limit", v);
		}
		if (rc || (rc = open_envelope(&body, SYNC_WIRE_PULL, &raw, err, errlen)) ||
		    (rc = apply_page(r, raw.data, raw.len, &res, err, errlen)))
			goto out;
		if (limit < PULL_MAX) {
			limit = limit * 2 < PULL_MAX ? limit * 2 : PULL_MAX;
			snprintf(v, sizeof(v), "%" PRIu64, limit);
			(void)!sync_meta_set(r->db, "pull_limit", v);
		}
		if ((rc = clock_note(r, n, run, err, errlen)))
			goto out;
		*rows += res.rows;
		if (!res.more)
			break;
		if (res.cursor <= cursor) {
			/* A server that says "more" without moving would loop us forever. */
			rc = RELAIS_EPROTO;
			snprintf(err, errlen, "le serveur annonce d'autres données sans avancer son curseur.");
			goto out;
		}
		cursor = res.cursor;
	}
out:
	buf_release(&body);
	buf_release(&raw);
	return rc;
}

/* ---- bootstrap from the département's file (docs/protocol.md) ---- */

#define AMORCE_HEADER "X-Relais-Amorce"

struct amorce {
	int have;           /* a download is in progress / described */
	uint64_t seq, size;
	unsigned long crc;
};

/* "SEQ SIZE CRC" (the header's, and the download in progress's in meta). */
static int amorce_parse(const char *s, struct amorce *a)
{
	unsigned long long seq, size;
	unsigned long crc;
	char end;
	if (!s || sscanf(s, "%llu %llu %lu%c", &seq, &size, &crc, &end) != 3)
		return RELAIS_EPROTO;
	a->have = 1;
	a->seq = seq;
	a->size = size;
	a->crc = crc;
	return 0;
}

static int part_crc(int fd, unsigned long *crc)
{
	unsigned char b[1 << 16];
	ssize_t n;
	uLong c = crc32(0, NULL, 0);
	if (lseek(fd, 0, SEEK_SET) < 0)
		return RELAIS_EIO;
	while ((n = read(fd, b, sizeof(b))) > 0)
		c = crc32(c, b, (uInt)n);
	*crc = c;
	return n < 0 ? RELAIS_EIO : 0;
}

/*
 * Downloads the département's bootstrap file into HOME/amorce.part, piece
 * by piece from where an earlier run stopped (its seq, size and CRC wait in
 * the replica's meta), checks it and installs it. RELAIS_ENOTFOUND when the
 * server has none to give (an older relaisd): the caller pulls pages.
 */
static int bootstrap(struct replica *r, struct net *n, uint64_t *rows, char *err, size_t errlen)
{
	struct amorce a = { 0, 0, 0, 0 }, got;
	char part[4200], path[128], hdr[128], *meta = NULL, *dept = NULL;
	int fd = -1, rc, restarts = 0;
	long status = 0;
	struct stat st;

	snprintf(part, sizeof(part), "%s/" REPLICA_AMORCE_PART, r->home);
	if ((rc = replica_meta(r, "amorce", &meta)) || (rc = replica_meta(r, "dept", &dept))) {
		snprintf(err, errlen, "lecture du réplica impossible : %s", relais_strerror(rc));
		goto out;
	}
	if (amorce_parse(meta, &a))
		a.have = 0;
	fd = open(part, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || (!a.have && ftruncate(fd, 0))) {
		rc = RELAIS_EIO;
		snprintf(err, errlen, "écriture de « %.200s » impossible : %s", part, util_errno_fr(errno));
		goto out;
	}
	for (;;) {
		char expect[96];
		uint64_t wrote = 0;
		if (fstat(fd, &st)) {
			rc = RELAIS_EIO;
			snprintf(err, errlen, "lecture de « %.200s » impossible : %s", part, util_errno_fr(errno));
			goto out;
		}
		uint64_t off = a.have ? (uint64_t)st.st_size : 0;
		if (a.have && off > a.size)
			a.have = 0; /* not that file: start again */
		if (!a.have && ftruncate(fd, 0)) {
			rc = RELAIS_EIO;
			snprintf(err, errlen, "écriture de « %.200s » impossible : %s", part, util_errno_fr(errno));
			goto out;
		}
		if (!a.have)
			off = 0;
		if (a.have && off == a.size)
			break;
		if (a.have) {
			snprintf(path, sizeof(path), "/v1/amorce?seq=%" PRIu64 "&offset=%" PRIu64, a.seq, off);
			snprintf(expect, sizeof(expect), "%" PRIu64 " %" PRIu64 " %lu", a.seq, a.size, a.crc);
		} else {
			snprintf(path, sizeof(path), "/v1/amorce");
		}
		rc = net_get_to_file(n, path, fd, off, AMORCE_HEADER, a.have ? expect : NULL, hdr,
				     sizeof(hdr), &wrote, &status, err, errlen);
		/* The file's description is kept as soon as it came, so that what a
		 * cut left on disk is resumed from. */
		if (!a.have && status == 200 && !amorce_parse(hdr, &got)) {
			char v[96];
			int mrc;
			a = got;
			snprintf(v, sizeof(v), "%" PRIu64 " %" PRIu64 " %lu", a.seq, a.size, a.crc);
			if ((mrc = sync_meta_set(r->db, "amorce", v))) {
				rc = mrc;
				snprintf(err, errlen, "écriture dans le réplica impossible : %s",
					 relais_strerror(rc));
				goto out;
			}
		}
		if (status == 404 && !a.have) {
			rc = RELAIS_ENOTFOUND;
			goto out;
		}
		if (status == 410 && restarts++ < 3) {
			/* A newer file replaced this one: start again with it. */
			a.have = 0;
			if ((rc = sync_meta_set(r->db, "amorce", ""))) {
				snprintf(err, errlen, "écriture dans le réplica impossible : %s",
					 relais_strerror(rc));
				goto out;
			}
			continue;
		}
		if (rc)
			goto out;
		if (!a.have) {
			rc = RELAIS_EPROTO;
			snprintf(err, errlen, "réponse du serveur sans description de l'image du département.");
			goto out;
		}
		if (!wrote && off < a.size) {
			rc = RELAIS_EPROTO;
			snprintf(err, errlen, "le serveur n'envoie plus rien avant la fin de l'image.");
			goto out;
		}
	}
	unsigned long crc = 0;
	if ((rc = part_crc(fd, &crc)) || crc != a.crc) {
		/* Start from scratch next time: the bytes on disk are not the file. */
		int mrc = ftruncate(fd, 0) ? RELAIS_EIO : sync_meta_set(r->db, "amorce", "");
		rc = rc ? rc : mrc ? mrc : RELAIS_ECORRUPT;
		snprintf(err, errlen, "l'image du département reçue est abîmée : relancez la même "
			 "commande pour la télécharger de nouveau.");
		goto out;
	}
	close(fd);
	fd = -1;
	rc = sync_bootstrap_install(r->db, r->tables, part, MODEL_SCHEMA_VERSION, dept ? dept : "",
				    rows);
	if (rc) {
		snprintf(err, errlen, "installation de l'image du département impossible : %s",
			 relais_strerror(rc));
		goto out;
	}
	unlink(part);
out:
	if (fd >= 0)
		close(fd);
	free(meta);
	free(dept);
	return rc;
}

/*
 * An answer naming an item refused for good: what came before it is
 * acknowledged, the item is set aside (its effect undone on the replica),
 * and the push goes on with the rest. 0 when handled; else the error stays.
 */
static int set_aside(struct replica *r, const struct sync_outbox *ob, json_t *ans, uint64_t *sent,
		     struct run *run, char *err, size_t errlen)
{
	json_t *jr = json_object_get(ans, "refused"), *ja = json_object_get(ans, "acked");
	const char *why = json_string_value(json_object_get(ans, "message"));
	uint64_t refused, acked;
	int found = 0, rc;

	if (!json_is_integer(jr) || !json_is_integer(ja) || json_integer_value(jr) <= 0 ||
	    json_integer_value(ja) < 0)
		return RELAIS_EPROTO;
	refused = (uint64_t)json_integer_value(jr);
	acked = (uint64_t)json_integer_value(ja);
	for (size_t i = 0; i < ob->count; i++) {
		if (ob->items[i].seq == refused)
			found = 1;
		else if (ob->items[i].seq <= acked)
			(*sent)++;
	}
	if (!found || acked >= refused) {
		snprintf(err, errlen, "le serveur refuse une modification qui n'a pas été envoyée (n° %"
			 PRIu64 ").", refused);
		return RELAIS_EPROTO;
	}
	if ((rc = sync_outbox_ack(r->db, acked)) || (rc = sync_outbox_set_aside(r->db, refused, why))) {
		snprintf(err, errlen, "mise de côté de la modification refusée impossible : %s",
			 relais_strerror(rc));
		return rc;
	}
	run->set_aside++;
	return 0;
}

/* What the last batch's answer held: the pull page that follows the push. */
struct pulled {
	int done;          /* a page was applied */
	int more;          /* the server holds more past it */
	uint64_t rows;
};

/*
 * Reads the answer of POST /v1/sync: acknowledges the items it took and
 * applies the pull page it carries, unless edits made meanwhile wait in the
 * outbox (the page would hide them; the loop pushes them first). Sets
 * *acked.
 */
static int sync_answer(struct replica *r, const struct buf *body, const struct sync_outbox *ob,
		       uint64_t *acked, struct pulled *pl, struct run *run, char *err, size_t errlen)
{
	struct buf raw = BUF_INIT(SYNC_WIRE_MAX_RAW);
	struct sync_answer a;
	struct sync_apply_result res;
	uint64_t pending = 0;
	size_t off = 0;
	int rc = open_envelope(body, SYNC_WIRE_SYNC, &raw, err, errlen);

	if (!rc && (rc = sync_answer_decode(raw.data, raw.len, &a, &off)))
		snprintf(err, errlen, "réponse du serveur illisible : %s", relais_strerror(rc));
	if (rc)
		goto out;
	run->restamped += a.restamped;
	*acked = a.acked;
	if (a.acked < ob->items[0].seq) {
		/* Nothing of this batch was taken: pushing it again would loop. */
		rc = RELAIS_EPROTO;
		snprintf(err, errlen, "le serveur n'a accepté aucune des modifications envoyées.");
		goto out;
	}
	if ((rc = sync_outbox_ack(r->db, a.acked)) || (rc = sync_outbox_pending(r->db, &pending))) {
		snprintf(err, errlen, "enregistrement de l'accusé de réception impossible : %s",
			 relais_strerror(rc));
		goto out;
	}
	if (pending)
		goto out;
	rc = apply_page(r, raw.data + off, raw.len - off, &res, err, errlen);
	if (rc == RELAIS_EBUSY) {
		rc = 0; /* an edit landed between the two statements above */
		goto out;
	}
	if (rc)
		goto out;
	pl->done = 1;
	pl->more = res.more;
	pl->rows += res.rows;
out:
	buf_release(&raw);
	return rc;
}

/*
 * Pushes the outbox in batches. The last batch goes to /v1/sync, whose
 * answer also carries the pull page from the replica's cursor (*pl): an
 * editor's sync with nothing else to fetch is one round trip.
 */
static int push_batches(struct replica *r, struct net *n, uint64_t *sent, struct pulled *pl,
			struct run *run, char *err, size_t errlen)
{
	struct buf raw = BUF_INIT(SYNC_WIRE_MAX_RAW), body = BUF_INIT(SYNC_WIRE_MAX_BODY);
	struct sync_outbox ob;
	json_t *ans = NULL;
	int rc = 0;

	memset(&ob, 0, sizeof(ob));
	for (;;) {
		uint64_t pending = 0, cursor = 0, acked = 0;
		char path[128];
		if ((rc = sync_outbox_pending(r->db, &pending)) ||
		    (pending && (rc = sync_outbox_load(r->db, PUSH_MAX_ITEMS, PUSH_MAX_BYTES, &ob)))) {
			snprintf(err, errlen, "lecture des modifications en attente impossible : %s",
				 relais_strerror(rc));
			goto out;
		}
		if (!pending || !ob.count)
			break;
		int last = ob.count == pending;
		if (last && (rc = meta_u64(r, "cursor", &cursor))) {
			snprintf(err, errlen, "curseur de synchronisation illisible : %s",
				 relais_strerror(rc));
			goto out;
		}
		buf_reset(&raw);
		buf_reset(&body);
		rc = sync_push_encode(ob.node, ob.items, ob.count, &raw);
		if (!rc)
			rc = sync_wire_seal(SYNC_WIRE_PUSH, MODEL_SCHEMA_VERSION, raw.data, raw.len, &body);
		if (rc) {
			snprintf(err, errlen, "préparation de l'envoi impossible : %s", relais_strerror(rc));
			goto out;
		}
		if (last) {
			/* The page in the answer shrinks on a line that drops, as
			 * pull_pages' do. */
			uint64_t limit = 0;
			if (meta_u64(r, "pull_limit", &limit) || limit < PULL_MIN || limit > PULL_MAX)
				limit = PULL_MAX;
			if (limit == PULL_MAX)
				snprintf(path, sizeof(path), "/v1/sync?since=%" PRIu64, cursor);
			else
				snprintf(path, sizeof(path), "/v1/sync?since=%" PRIu64 "&limit=%" PRIu64,
					 cursor, limit);
			buf_reset(&raw);
			rc = net_post_exchange(n, path, body.data, body.len, &raw, &ans, err, errlen);
			if (rc == RELAIS_ENET && limit > PULL_MIN) {
				char v[24];
				snprintf(v, sizeof(v), "%" PRIu64, limit / 2 > PULL_MIN ? limit / 2 : PULL_MIN);
				(void)!sync_meta_set(r->db, "pull_limit", v);
			}
		} else {
			rc = net_post_envelope(n, "/v1/push", body.data, body.len, &ans, err, errlen);
		}
		int crc = clock_note(r, n, run, err, errlen);
		if (!rc)
			rc = crc;
		if ((rc == RELAIS_EPERM || rc == RELAIS_EINVAL) && ans &&
		    json_object_get(ans, "refused")) {
			if ((rc = set_aside(r, &ob, ans, sent, run, err, errlen)))
				goto out;
			json_decref(ans);
			ans = NULL;
			sync_outbox_free(&ob);
			memset(&ob, 0, sizeof(ob));
			continue;
		}
		if (rc)
			goto out;
		if (last) {
			/* raw holds the answer's envelope; body is free again. */
			buf_reset(&body);
			if ((rc = buf_append(&body, raw.data, raw.len))) {
				snprintf(err, errlen, "mémoire insuffisante");
				goto out;
			}
			if ((rc = sync_answer(r, &body, &ob, &acked, pl, run, err, errlen)))
				goto out;
		} else {
			json_t *jre = json_object_get(ans, "restamped");
			if (json_is_integer(jre) && json_integer_value(jre) > 0)
				run->restamped += (uint64_t)json_integer_value(jre);
			json_t *jacked = json_object_get(ans, "acked");
			if (!json_is_integer(jacked) || json_integer_value(jacked) < 0) {
				rc = RELAIS_EPROTO;
				snprintf(err, errlen, "réponse du serveur sans accusé de réception.");
				goto out;
			}
			acked = (uint64_t)json_integer_value(jacked);
			if (acked < ob.items[0].seq) {
				/* Nothing of this batch was taken: pushing it again would loop. */
				rc = RELAIS_EPROTO;
				snprintf(err, errlen, "le serveur n'a accepté aucune des modifications envoyées.");
				goto out;
			}
			if ((rc = sync_outbox_ack(r->db, acked))) {
				snprintf(err, errlen, "enregistrement de l'accusé de réception impossible : %s",
					 relais_strerror(rc));
				goto out;
			}
		}
		for (size_t i = 0; i < ob.count; i++)
			if (ob.items[i].seq <= acked)
				(*sent)++;
		json_decref(ans);
		ans = NULL;
		sync_outbox_free(&ob);
		memset(&ob, 0, sizeof(ob));
		if (pl->done)
			break;
	}
out:
	json_decref(ans);
	sync_outbox_free(&ob);
	buf_release(&raw);
	buf_release(&body);
	return rc;
}

static int open_conflicts(struct replica *r, long long *count)
{
	sqlite3_stmt *st = NULL;
	*count = 0;
	if (sqlite3_prepare_v2(r->db, "SELECT count(*) FROM " SYNC_CONFLICT_TABLE
			       " WHERE resolution IS NULL", -1, &st, NULL) != SQLITE_OK)
		return RELAIS_EDB;
	int s = sqlite3_step(st);
	if (s == SQLITE_ROW)
		*count = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return s == SQLITE_ROW ? 0 : RELAIS_EDB;
}

/* Where init and jeton take the token from (jeton.h). */
static const char help_token[] =
	"Le jeton, donné par l'administrateur, est lu :\n"
	"  - sur l'entrée standard : saisie masquée dans un terminal, ou par exemple\n"
	"      relais init --serveur URL < jeton.txt\n"
	"  - dans un fichier : --fichier-jeton FICHIER (droits 0600) ;\n"
	"  - dans la variable d'environnement RELAIS_TOKEN ;\n"
	"  - sur la ligne de commande : --jeton JETON, pour les scripts seulement, car\n"
	"    la ligne de commande est visible des autres utilisateurs du poste (ps).\n"
	"Dans cet ordre : --jeton, --fichier-jeton, RELAIS_TOKEN, l'entrée standard.\n"
	"Un jeton mal formé (« rls_ » suivi de 64 chiffres hexadécimaux) est refusé\n"
	"avant tout envoi au serveur.\n";

static const struct options_cmd init_cmd = {
	&cli_prog, "init", "--serveur URL [--fichier-jeton FICHIER] [--ca FICHIER]",
	"Crée le réplica local : vérifie le compte auprès du serveur puis télécharge les\n"
	"données du département. Une initialisation interrompue peut être relancée.\n", NULL,
	help_token, 0, 0, NULL,
};

static const struct options_cmd jeton_cmd = {
	&cli_prog, "jeton", "[--fichier-jeton FICHIER]",
	"Remplace le jeton d'un réplica initialisé, par exemple quand l'administrateur\n"
	"en a donné un nouveau (« relaisd compte jeton IDENTIFIANT ») : l'ancien est alors\n"
	"refusé (401). Les modifications en attente sont conservées et partent au\n"
	"prochain « relais sync ».\n\n"
	"Le nouveau jeton est d'abord vérifié auprès du serveur : il doit être celui du\n"
	"même compte, toujours rattaché au département du réplica. Sinon rien ne change.\n",
	NULL, help_token, 0, 0, NULL,
};

static const struct options_cmd sync_cmd = {
	&cli_prog, "sync", "[--serveur URL]",
	"Envoie les modifications en attente, puis reçoit celles du serveur.\n"
	"Une synchronisation interrompue peut être relancée sans risque.\n", NULL,
	"Jeton refusé (401) :\n"
	"  Le compte a été supprimé ou son jeton remplacé. L'administrateur donne un\n"
	"  nouveau jeton (« relaisd compte jeton IDENTIFIANT ») ; « relais jeton » l'installe\n"
	"  dans ce réplica, sans perdre les modifications en attente.\n\n"
	"Après une restauration du serveur :\n"
	"  Un serveur restauré depuis une sauvegarde refuse les réplicas qui l'ont connu\n"
	"  avant : il a pu perdre des modifications qu'ils lui avaient déjà envoyées.\n"
	"  Les données de ce poste restent intactes. Pour repartir :\n"
	"    relais --dossier ANCIEN export --json > avant-restauration.json\n"
	"    relais --dossier ANCIEN status      (modifications jamais envoyées)\n"
	"    relais --dossier NOUVEAU init --serveur URL --fichier-jeton FICHIER\n"
	"  puis ressaisissez dans NOUVEAU ce qui manque par rapport à\n"
	"  avant-restauration.json.\n\n"
	"Après un changement de département :\n"
	"  Un compte que l'administrateur a rattaché à un autre département\n"
	"  (« relaisd compte modifier ») ne synchronise plus les réplicas de l'ancien : ils\n"
	"  contiennent ses données, que ce compte ne peut plus lire ni modifier. Le\n"
	"  serveur les refuse (409) ; ce poste garde ses données intactes. Créez un\n"
	"  nouveau réplica (« relais --dossier NOUVEAU init ») ; ce que l'ancien n'avait\n"
	"  pas envoyé (« relais --dossier ANCIEN status », « export --json ») est à\n"
	"  transmettre à qui tient désormais l'ancien département.\n",
	0, 0, NULL,
};

/* Copies whoami's answer into the metadata, refusing an account of another
 * département than a half-made replica already holds. */
static int store_account(struct replica *r, const struct remote_opts *o, json_t *who,
			 char *err, size_t errlen)
{
	const char *login = json_string_value(json_object_get(who, "login"));
	const char *dept = json_string_value(json_object_get(who, "dept"));
	const char *role = json_string_value(json_object_get(who, "role"));
	json_t *schema = json_object_get(who, "schema");
	char *old_dept = NULL, *old_server = NULL, *old_epoch = NULL;
	uint64_t cursor = 0;
	int rc = 0;

	if (!login || !dept || !role) {
		snprintf(err, errlen, "réponse incomplète du serveur à /v1/whoami.");
		return RELAIS_EPROTO;
	}
	if (json_is_integer(schema) && json_integer_value(schema) != MODEL_SCHEMA_VERSION) {
		snprintf(err, errlen, "le serveur utilise le schéma %lld et ce client le schéma %d : "
			 "mettez relais à jour.", (long long)json_integer_value(schema),
			 MODEL_SCHEMA_VERSION);
		return RELAIS_ESCHEMA;
	}
	if ((rc = replica_meta(r, "dept", &old_dept)) || (rc = replica_meta(r, "server", &old_server)) ||
	    (rc = meta_u64(r, "cursor", &cursor))) {
		snprintf(err, errlen, "lecture du réplica impossible : %s", relais_strerror(rc));
		goto out;
	}
	if (cursor && ((old_dept && strcmp(old_dept, dept)) ||
		       (old_server && strcmp(old_server, o->server)))) {
		rc = RELAIS_EINVAL;
		snprintf(err, errlen, "ce répertoire contient une initialisation inachevée pour un autre "
			 "serveur ou département (%s) : choisissez un autre --dossier ou supprimez %s.",
			 old_dept ? old_dept : "?", r->home);
		goto out;
	}
	/* A server restored between two parts of an initialisation may number
	 * again the changes this replica already has a cursor past. */
	const char *epoch = json_string_value(json_object_get(who, "epoque"));
	if (cursor && (rc = replica_meta(r, "epoque", &old_epoch)) == 0 && old_epoch &&
	    (!epoch || strcmp(old_epoch, epoch))) {
		rc = RELAIS_EINVAL;
		snprintf(err, errlen, "le serveur a été restauré depuis le début de cette "
			 "initialisation : supprimez %s et relancez « relais init ».", r->home);
		goto out;
	}
	if (rc)
		goto out;
	const char *keys[] = { "server", "token", "login", "dept", "role", "epoque" };
	const char *vals[] = { o->server, o->token, login, dept, role, epoch };
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (vals[i] && (rc = sync_meta_set(r->db, keys[i], vals[i]))) {
			snprintf(err, errlen, "écriture dans le réplica impossible : %s",
				 relais_strerror(rc));
			goto out;
		}
out:
	free(old_dept);
	free(old_server);
	free(old_epoch);
	return rc;
}

/* Sends the store epoch the replica recorded (none for a replica made
 * before epochs existed) and the département of its rows with every
 * exchange of n. */
static int use_replica_headers(struct replica *r, struct net *n, char *err, size_t errlen)
{
	char *epoch = NULL, *dept = NULL;
	int rc = replica_meta(r, "epoque", &epoch);
	if (!rc)
		rc = replica_meta(r, "dept", &dept);
	if (rc)
		snprintf(err, errlen, "lecture du réplica impossible : %s", relais_strerror(rc));
	if (epoch && strlen(epoch) < sizeof(n->epoch))
		memcpy(n->epoch, epoch, strlen(epoch) + 1);
	if (dept && strlen(dept) < sizeof(n->dept))
		memcpy(n->dept, dept, strlen(dept) + 1);
	free(epoch);
	free(dept);
	return rc;
}

/* What to do after a 401 on a replica of login: the account is gone or its
 * token was replaced, and only the administrator can give a new one. */
static void explain_refused_token(const char *home, const char *login)
{
	const char *who = login ? login : "IDENTIFIANT";
	cli_error("le compte « %s » a été supprimé ou son jeton remplacé. Demandez un nouveau "
		  "jeton à l'administrateur du serveur (il lance « relaisd compte jeton %s »), puis "
		  "installez-le sur ce poste avec « relais --dossier %s jeton » : les modifications "
		  "en attente sont conservées.", who, who, home);
}

/*
 * Reads the token of init or jeton (jeton.h) into token; prints why not. A
 * token given with --jeton is then wiped from argv: /proc/PID/cmdline shows
 * the process's own copy, so it stops showing there, though anyone who
 * looked before this point saw it (hence the warning in --help).
 */
static int read_token(const struct remote_opts *o, char token[TOKEN_LEN + 1])
{
	struct jeton_source src = { o->token, o->token_file };
	char err[CLI_ERRLEN];
	int rc = jeton_read(&src, token, err, sizeof(err));
	if (o->token)
		memset((char *)(uintptr_t)o->token, 'x', strlen(o->token));
	if (rc) {
		cli_error("%s", err);
		return CLI_EXIT_FAIL;
	}
	return 0;
}

int cmd_init(const char *home, int argc, char **argv)
{
	struct remote_opts o;
	struct replica r;
	struct net n;
	json_t *who = NULL;
	char err[CLI_ERRLEN], *done = NULL, token[TOKEN_LEN + 1];
	struct run run = { 0, 0, 0 };
	uint64_t rows = 0;
	int rc = parse_opts(argc, argv, TAKES_SERVER | TAKES_TOKEN | TAKES_CA, &o, &init_cmd);

	if (rc)
		return rc < 0 ? 0 : rc;
	if (!o.server) {
		options_usage_error(&init_cmd, "init demande --serveur URL");
		return CLI_EXIT_USAGE;
	}
	if ((rc = read_token(&o, token)))
		return rc;
	o.token = token;
	/* The CA travels like RELAIS_CA: net_open uses it and replica_open
	 * keeps a copy in the new home for the later commands. */
	if (o.ca && setenv(NET_CA_ENV, o.ca, 1)) {
		cli_error("option --ca : %s", util_errno_fr(errno));
		return CLI_EXIT_FAIL;
	}
	/* A mistyped URL is refused before anything is created on disk. */
	if (net_open(&n, o.server, o.token, err, sizeof(err))) {
		cli_error("%s", err);
		return CLI_EXIT_FAIL;
	}
	if (replica_open(&r, home, REPLICA_CREATE, err, sizeof(err))) {
		cli_error("%s", err);
		net_close(&n);
		return CLI_EXIT_FAIL;
	}
	rc = CLI_EXIT_FAIL;
	if (replica_meta(&r, "init_done", &done) || done) {
		cli_error("« %s » contient déjà un réplica initialisé : utilisez « relais sync », "
			  "ou choisissez un autre --dossier.", home);
		goto out;
	}
	int e = net_get_json(&n, "/v1/whoami", &who, err, sizeof(err));
	if (!e)
		e = store_account(&r, &o, who, err, sizeof(err));
	if (!e)
		e = use_replica_headers(&r, &n, err, sizeof(err));
	uint64_t cursor = 0;
	if (!e && (e = meta_u64(&r, "cursor", &cursor)))
		snprintf(err, sizeof(err), "curseur de synchronisation illisible : %s",
			 relais_strerror(e));
	/* A new replica takes the département's file, then what changed since;
	 * one begun by pages (or facing an older server) goes on by pages. */
	char *mark = NULL;
	if (!e && (e = replica_meta(&r, "amorce", &mark)))
		snprintf(err, sizeof(err), "lecture du réplica impossible : %s", relais_strerror(e));
	int installed = mark && !strcmp(mark, SYNC_BOOTSTRAP_DONE);
	free(mark);
	int by_pages = e || (cursor && !installed);
	n.progress = "Données du département";
	if (!by_pages) {
		/* A file installed by an earlier run: only the pull remains. */
		e = installed ? 0 : bootstrap(&r, &n, &rows, err, sizeof(err));
		if (e == RELAIS_ENOTFOUND)
			by_pages = 1, e = 0;
		else if (!e)
			e = pull_pages(&r, &n, "/v1/pull", &rows, &run, err, sizeof(err));
	}
	if (!e && by_pages)
		e = pull_pages(&r, &n, "/v1/snapshot", &rows, &run, err, sizeof(err));
	if (e) {
		cli_error("%s", err);
		if (e == RELAIS_EAUTH)
			cli_error("vérifiez le jeton donné par l'administrateur ; s'il a été perdu ou "
				  "remplacé, demandez-en un nouveau (il lance « relaisd compte jeton "
				  "IDENTIFIANT »).");
		if (e == RELAIS_ENET)
			cli_error("initialisation incomplète : relancez la même commande pour la "
				  "reprendre là où elle s'est arrêtée.");
		goto out;
	}
	e = set_last_sync(&r);
	if (!e)
		e = sync_meta_set(r.db, "init_done", "1");
	if (e) {
		cli_error("écriture dans le réplica impossible : %s", relais_strerror(e));
		goto out;
	}
	const char *login = json_string_value(json_object_get(who, "login"));
	const char *dept = json_string_value(json_object_get(who, "dept"));
	const char *role = json_string_value(json_object_get(who, "role"));
	printf("Réplica initialisé dans %s : %" PRIu64 " ligne%s reçue%s "
	       "(compte %s, rôle %s, département %s).\n", home, rows, util_pluriel((long long)rows),
	       util_pluriel((long long)rows), login, role, dept);
	rc = 0;
out:
	free(done);
	json_decref(who);
	net_close(&n);
	replica_close(&r);
	explicit_bzero(token, sizeof(token));
	return rc;
}

/* What the coordinator must know beyond the counts: edits set aside, a
 * clock that is off (on stdout, which relais ui shows). */
static void report_run(struct replica *r, const struct run *run)
{
	char warn[512];
	uint64_t waiting = refus_count(r);
	if (run->set_aside)
		printf("%" PRIu64 " modification%s refusée%s par le serveur et mise%s de côté : "
		       "voir « relais refus ».\n", run->set_aside, run->set_aside > 1 ? "s" : "",
		       run->set_aside > 1 ? "s" : "", run->set_aside > 1 ? "s" : "");
	else if (waiting)
		printf("%" PRIu64 " modification%s refusée%s par le serveur attend%s votre décision : "
		       "voir « relais refus ».\n", waiting, waiting > 1 ? "s" : "",
		       waiting > 1 ? "s" : "", waiting > 1 ? "ent" : "");
	if (run->restamped)
		printf("%" PRIu64 " modification%s datée%s par le serveur à %s arrivée : l'horloge de "
		       "cet ordinateur était en avance.\n", run->restamped, run->restamped > 1 ? "s" : "",
		       run->restamped > 1 ? "s" : "", run->restamped > 1 ? "leur" : "son");
	if (refus_clock_warning(r, warn, sizeof(warn)))
		printf("Attention : %s\n", warn);
	if (run->clock_fixed)
		printf("L'horloge de synchronisation de ce réplica était en avance : elle a été remise à "
		       "l'heure du serveur.\n");
}

int cmd_sync(const char *home, int argc, char **argv)
{
	struct remote_opts o;
	struct replica r;
	struct net n;
	char err[CLI_ERRLEN], *server = NULL, *token = NULL, *login = NULL;
	uint64_t sent = 0, rows = 0, pending = 0;
	struct run run = { 0, 0, 0 };
	struct pulled pl = { 0, 0, 0 };
	long long open = 0;
	int e = 0, rc = parse_opts(argc, argv, TAKES_SERVER, &o, &sync_cmd);

	if (rc)
		return rc < 0 ? 0 : rc;
	memset(&n, 0, sizeof(n));
	if (replica_open(&r, home, 0, err, sizeof(err))) {
		cli_error("%s", err);
		return CLI_EXIT_FAIL;
	}
	rc = CLI_EXIT_FAIL;
	if (replica_meta(&r, "server", &server) || replica_meta(&r, "token", &token) ||
	    !server || !token) {
		cli_error("adresse du serveur ou jeton absent du réplica : relancez « relais init ».");
		goto out;
	}
	if ((e = net_open(&n, o.server ? o.server : server, token, err, sizeof(err))) ||
	    (e = use_replica_headers(&r, &n, err, sizeof(err))))
		goto failed;
	n.progress = "Réception";
	if ((e = push_batches(&r, &n, &sent, &pl, &run, err, sizeof(err))))
		goto failed;
	rows = pl.rows;
	if ((!pl.done || pl.more) &&
	    (e = pull_pages(&r, &n, "/v1/pull", &rows, &run, err, sizeof(err))))
		goto failed;
	e = set_last_sync(&r);
	if (!e)
		e = open_conflicts(&r, &open);
	if (e) {
		cli_error("écriture dans le réplica impossible : %s", relais_strerror(e));
		goto out;
	}
	report_run(&r, &run);
	printf("Synchronisation terminée : %" PRIu64 " modification%s envoyée%s, %" PRIu64
	       " ligne%s reçue%s, %lld conflit%s ouvert%s.\n",
	       sent, sent > 1 ? "s" : "", sent > 1 ? "s" : "",
	       rows, rows > 1 ? "s" : "", rows > 1 ? "s" : "",
	       open, open > 1 ? "s" : "", open > 1 ? "s" : "");
	if (open)
		printf("Voir les conflits : relais conflits\n");
	rc = 0;
	goto out;
failed:
	report_run(&r, &run);
	cli_error("%s", err);
	if (e == RELAIS_EAUTH) {
		if (replica_meta(&r, "login", &login))
			login = NULL;
		explain_refused_token(home, login);
	}
	if (sync_outbox_pending(r.db, &pending))
		pending = 0;
	/* Retrying helps after a network or server failure, not after a
	 * refusal: then the messages above say what to do first. */
	if (pending)
		cli_error("%" PRIu64 " modification%s reste%s en attente sur ce poste%s", pending,
			  pending > 1 ? "s" : "", pending > 1 ? "nt" : "",
			  e == RELAIS_EAUTH || e == RELAIS_EPERM ? "." :
			  " ; relancez « relais sync » plus tard.");
	else if (sent)
		cli_error("les modifications locales ont bien été envoyées ; la réception des "
			  "données reprendra à la prochaine synchronisation.");
out:
	free(server);
	free(token);
	free(login);
	net_close(&n);
	replica_close(&r);
	return rc;
}

/*
 * Checks that whoami's answer for a new token is the replica's account, in
 * the replica's département: the server ties the replica's node to its
 * login (a push from another login is refused), and a replica holds the rows
 * of one département. Returns 0, or RELAIS_EINVAL with a French message.
 */
static int same_account(struct replica *r, json_t *who, char *err, size_t errlen)
{
	const char *login = json_string_value(json_object_get(who, "login"));
	const char *dept = json_string_value(json_object_get(who, "dept"));
	const char *role = json_string_value(json_object_get(who, "role"));
	char *old_login = NULL, *old_dept = NULL;
	int rc = 0;
	if (!login || !dept || !role) {
		snprintf(err, errlen, "réponse incomplète du serveur à /v1/whoami.");
		return RELAIS_EPROTO;
	}
	if ((rc = replica_meta(r, "login", &old_login)) || (rc = replica_meta(r, "dept", &old_dept))) {
		snprintf(err, errlen, "lecture du réplica impossible : %s", relais_strerror(rc));
		goto out;
	}
	if (old_login && strcmp(old_login, login)) {
		rc = RELAIS_EINVAL;
		snprintf(err, errlen, "ce jeton est celui du compte « %s », et ce réplica appartient au "
			 "compte « %s » : ses modifications ne peuvent partir qu'avec un jeton de « %s ». "
			 "Le jeton du réplica n'a pas changé.", login, old_login, old_login);
	} else if (old_dept && strcmp(old_dept, dept)) {
		rc = RELAIS_EINVAL;
		snprintf(err, errlen, "le compte « %s » est désormais rattaché au département %s, et ce "
			 "réplica contient les données du département %s : il ne peut plus se "
			 "synchroniser. Créez un nouveau réplica (voir « relais sync --help », section "
			 "« Après un changement de département »). Le jeton du réplica n'a pas changé.",
			 login, dept, old_dept);
	}
out:
	free(old_login);
	free(old_dept);
	return rc;
}

/* Writes the new token and the account's role (it may have changed) in one
 * transaction. */
static int save_token(struct replica *r, const char *token, const char *role)
{
	int rc = relais_sqlite_error(sqlite3_exec(r->db, "BEGIN IMMEDIATE", NULL, NULL, NULL));
	if (rc)
		return rc;
	if (!(rc = sync_meta_set(r->db, "token", token)) &&
	    !(rc = sync_meta_set(r->db, "role", role)))
		rc = relais_sqlite_error(sqlite3_exec(r->db, "COMMIT", NULL, NULL, NULL));
	if (rc)
		sqlite3_exec(r->db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

int cmd_jeton(const char *home, int argc, char **argv)
{
	struct remote_opts o;
	struct replica r;
	struct net n;
	json_t *who = NULL;
	char err[CLI_ERRLEN], token[TOKEN_LEN + 1], *server = NULL;
	uint64_t pending = 0;
	int rc = parse_opts(argc, argv, TAKES_TOKEN, &o, &jeton_cmd);

	if (rc)
		return rc < 0 ? 0 : rc;
	memset(&n, 0, sizeof(n));
	if ((rc = read_token(&o, token)))
		return rc;
	if (replica_open(&r, home, 0, err, sizeof(err))) {
		cli_error("%s", err);
		explicit_bzero(token, sizeof(token));
		return CLI_EXIT_FAIL;
	}
	rc = CLI_EXIT_FAIL;
	if (replica_meta(&r, "server", &server) || !server) {
		cli_error("adresse du serveur absente du réplica : relancez « relais init ».");
		goto out;
	}
	int e = net_open(&n, server, token, err, sizeof(err));
	if (!e)
		e = net_get_json(&n, "/v1/whoami", &who, err, sizeof(err));
	if (!e)
		e = same_account(&r, who, err, sizeof(err));
	if (e) {
		cli_error("%s", err);
		if (e == RELAIS_EAUTH)
			cli_error("le serveur refuse aussi ce jeton : vérifiez-le auprès de "
				  "l'administrateur. Le jeton du réplica n'a pas changé.");
		else if (e == RELAIS_ENET)
			cli_error("le nouveau jeton n'a pas pu être vérifié ; le jeton du réplica n'a "
				  "pas changé : relancez cette commande une fois connecté.");
		goto out;
	}
	const char *login = json_string_value(json_object_get(who, "login"));
	const char *dept = json_string_value(json_object_get(who, "dept"));
	const char *role = json_string_value(json_object_get(who, "role"));
	if ((e = save_token(&r, token, role))) {
		cli_error("écriture dans le réplica impossible : %s", relais_strerror(e));
		goto out;
	}
	if ((e = sync_outbox_pending(r.db, &pending)))
		pending = 0;
	printf("Jeton remplacé pour le compte %s (rôle %s, département %s) ; ", login, role, dept);
	if (pending)
		printf("%" PRIu64 " modification%s en attente, envoyée%s au prochain « relais sync ».\n",
		       pending, pending > 1 ? "s" : "", pending > 1 ? "s" : "");
	else
		printf("aucune modification en attente.\n");
	if (!strcmp(role, "caf"))
		printf("Ce compte est en lecture seule : le serveur refusera les modifications.\n");
	rc = 0;
out:
	free(server);
	json_decref(who);
	net_close(&n);
	replica_close(&r);
	explicit_bzero(token, sizeof(token));
	return rc;
}
