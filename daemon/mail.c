/*
 * mail.c - the gateway thread: one mailbox session after another.
 *
 * The order of the steps for one message is what makes it exactly-once
 * (docs/mailgw.md): archive and journal, parse, record, answer, move, and
 * only then advance the stored UID. Whatever stops the thread between two
 * steps, the message is still above the stored UID and the journal says how
 * far it got, so the next session resumes it without doing anything twice.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>
#include "../common/buf.h"
#include "../common/util.h"
#include "../mailgw/imap.h"
#include "../mailgw/ingest.h"
#include "../mailgw/sandbox.h"
#include "../mailgw/smtp.h"
#include "../model/form.h"
#include "mail.h"
#include "worker.h"

/* Messages parsed side by side, and the bytes after which a batch takes no
 * more (each message may be up to MAILGW_IMAP_MAX_MESSAGE). */
#define MAIL_BATCH MAILGW_SANDBOX_BATCH
#define MAIL_BATCH_BYTES (16u << 20)

struct mail_gateway {
	struct store *st;
	const struct sync_tables *t;
	const struct config_mail *cfg;
	struct mailgw_imap_config imap;
	struct mailgw_smtp_config smtp;
	struct mailgw_ingest_sender sender;
	struct worker w;
	int64_t retry_replies_ms;  /* when to try failed answers again; 0: none failed */
};

static int stopping(struct mail_gateway *g)
{
	return worker_stopping(&g->w);
}

static const char *outcome_word(enum mailgw_outcome o)
{
	switch (o) {
	case MAILGW_RECORDED:
		return "enregistré";
	case MAILGW_REJECTED:
		return "rejeté";
	case MAILGW_QUARANTINE:
		return "quarantaine";
	case MAILGW_IGNORED:
		return "ignoré";
	case MAILGW_DUPLICATE:
		return "doublon";
	}
	return "?";
}

/* The folder of an outcome: the one rule that both a first move and a
 * resumed one follow. */
static const char *folder_for(const struct mail_gateway *g, enum mailgw_outcome o)
{
	switch (o) {
	case MAILGW_REJECTED:
		return g->cfg->dossier_rejetes;
	case MAILGW_QUARANTINE:
		return g->cfg->dossier_quarantaine;
	case MAILGW_RECORDED:
	case MAILGW_IGNORED:
	case MAILGW_DUPLICATE:
		break;
	}
	return g->cfg->dossier_traites;
}

/*
 * Sends the answers waiting in the store (only that of journal row id when
 * not NULL), oldest first. One answer's fate never holds the others back:
 * refused for good (5xx), it leaves the queue (reponse "aucune") with the
 * server's reply in the journal; refused for now (4xx), it stays
 * "a_envoyer" and is tried again MAIL_REPLY_RETRY_MS later and at the next
 * session, while the next ones go. Only an unreachable server ends the
 * round, since every answer would meet it.
 */
static void send_replies(struct mail_gateway *g, const char *id)
{
	struct mailgw_ingest_reply *v = NULL;
	size_t n = 0;
	char err[512];
	sqlite3 *db = store_writer_acquire(g->st);
	int rc = mailgw_ingest_replies_pending(db, g->cfg->departement, id, &v, &n);
	store_writer_release(g->st);
	if (rc) {
		fprintf(stderr, "courrier : réponses en attente illisibles : %s\n", relais_strerror(rc));
		return;
	}
	for (size_t i = 0; i < n && !stopping(g); i++) {
		const char *rcpt[1] = { v[i].rcpt };
		rc = mailgw_smtp_send(&g->smtp, g->cfg->adresse, rcpt, 1, v[i].msg, v[i].len, err,
				      sizeof(err));
		if (rc == RELAIS_EREFUSED) {
			fprintf(stderr, "courrier : réponse du courrier %s refusée définitivement : %s\n",
				v[i].id, err);
			db = store_writer_acquire(g->st);
			rc = mailgw_ingest_reply_failed(db, g->t, v[i].id, err);
			store_writer_release(g->st);
			if (rc) {
				fprintf(stderr, "courrier : échec de la réponse du courrier %s non noté : "
					"%s\n", v[i].id, relais_strerror(rc));
				g->retry_replies_ms = util_now_ms() + MAIL_REPLY_RETRY_MS;
			}
			continue;
		}
		if (rc) {
			fprintf(stderr, "courrier : réponse du courrier %s non envoyée : %s (%s)\n",
				v[i].id, relais_strerror(rc), err);
			g->retry_replies_ms = util_now_ms() + MAIL_REPLY_RETRY_MS;
			if (rc == RELAIS_ENET)
				break;
			continue;
		}
		db = store_writer_acquire(g->st);
		rc = mailgw_ingest_reply_sent(db, g->t, v[i].id, util_now_ms());
		store_writer_release(g->st);
		if (rc)
			fprintf(stderr, "courrier : réponse du courrier %s envoyée mais non notée : %s\n",
				v[i].id, relais_strerror(rc));
	}
	mailgw_ingest_replies_free(v, n);
}

/* Stores uid as the mailbox position: it is done. */
static int remember(struct mail_gateway *g, uint32_t uidvalidity, uint32_t uid)
{
	sqlite3 *db = store_writer_acquire(g->st);
	int rc = mailgw_ingest_state_set(db, g->cfg->departement, uidvalidity, uid);
	store_writer_release(g->st);
	return rc;
}

/* After the IMAP command that took uid out of the inbox, moving it to
 * folder or only removing it (folder NULL), with rc its result: remembers
 * uid as done, or says what failed. */
static int taken_out(struct mail_gateway *g, struct mailgw_imap *c, uint32_t uidvalidity,
		     uint32_t uid, const char *folder, int rc)
{
	if (rc && folder)
		fprintf(stderr, "courrier : UID %u non déplacé vers « %s » : %s (%s)\n", uid, folder,
			relais_strerror(rc), mailgw_imap_error(c));
	else if (rc)
		fprintf(stderr, "courrier : UID %u non retiré : %s (%s)\n", uid, relais_strerror(rc),
			mailgw_imap_error(c));
	return rc ? rc : remember(g, uidvalidity, uid);
}

/* Moves uid and remembers it as done. */
static int finish(struct mail_gateway *g, struct mailgw_imap *c, uint32_t uidvalidity,
		  uint32_t uid, const char *folder)
{
	return taken_out(g, c, uidvalidity, uid, folder, mailgw_imap_move(c, uid, folder));
}

/*
 * Puts a message the journal already has an outcome for (e: a move that
 * failed or was cut, or the same message delivered again) in the folder of
 * that outcome. Without MOVE, a cut between COPY and EXPUNGE left a copy
 * there already: then the inbox's copy is only removed, so the folder holds
 * the message once.
 */
static int finish_again(struct mail_gateway *g, struct mailgw_imap *c, uint32_t uidvalidity,
			uint32_t uid, const struct mailgw_ingest_entry *e, const struct buf *raw)
{
	const char *folder = folder_for(g, e->outcome);
	int found = 0, rc;

	fprintf(stderr, "courrier : UID %u : déjà traité (courrier %s, %s), rangé dans « %s »\n",
		uid, e->id, outcome_word(e->outcome), folder);
	if (mailgw_imap_has_move(c))
		return finish(g, c, uidvalidity, uid, folder);
	rc = mailgw_imap_find_copy(c, folder, raw->data, raw->len, &found);
	if (rc) {
		fprintf(stderr, "courrier : UID %u : dossier « %s » illisible : %s (%s)\n", uid,
			folder, relais_strerror(rc), mailgw_imap_error(c));
		return rc;
	}
	if (!found)
		return finish(g, c, uidvalidity, uid, folder);
	fprintf(stderr, "courrier : UID %u : déjà copié dans « %s », retiré de la boîte\n", uid,
		folder);
	return taken_out(g, c, uidvalidity, uid, NULL, mailgw_imap_remove(c, uid));
}

/* A message over the size cap: journal it for a person (identified by its
 * header, fetched alone, so that it is journaled once), quarantine it. */
static int too_big(struct mail_gateway *g, struct mailgw_imap *c, uint32_t uidvalidity,
		   uint32_t uid, size_t size)
{
	char reason[160], id[UTIL_UUID_LEN + 1];
	struct buf header = BUF_INIT(MAILGW_IMAP_CMD_CAP);
	int duplicate = 0;
	snprintf(reason, sizeof(reason), "message trop volumineux (%zu octets, limite %u)", size,
		 MAILGW_IMAP_MAX_MESSAGE);
	int rc = mailgw_imap_fetch_header(c, uid, &header);
	if (rc == RELAIS_ENET)
		goto out;
	sqlite3 *db = store_writer_acquire(g->st);
	rc = mailgw_ingest_unreadable(db, g->t, g->cfg->departement, header.data,
				      rc ? 0 : header.len, reason, util_now_ms(), id, &duplicate);
	store_writer_release(g->st);
	if (rc)
		goto out;
	fprintf(stderr, "courrier : UID %u : quarantaine (trop volumineux)%s, courrier %s\n", uid,
		duplicate ? ", déjà journalisé" : "", id);
	rc = finish(g, c, uidvalidity, uid, g->cfg->dossier_quarantaine);
out:
	buf_release(&header);
	return rc;
}

/* A message of a scan between its archiving and its record. */
struct pending {
	uint32_t uid;
	struct buf raw;
	struct mailgw_ingest_entry e;
};

/*
 * Steps 1 and 2 for one UID: fetches and archives it. When it waits for its
 * parse, *parse is set and p holds it (the caller releases p->raw);
 * otherwise the UID was dealt with here (too big, gone meanwhile, already
 * processed). A non-zero return ends the session.
 */
static int take(struct mail_gateway *g, struct mailgw_imap *c, uint32_t uidvalidity,
		uint32_t uid, struct pending *p, int *parse)
{
	size_t size = 0;
	*parse = 0;
	p->uid = uid;
	buf_init(&p->raw, MAILGW_IMAP_MAX_MESSAGE + (64u << 10));
	int rc = mailgw_imap_fetch(c, uid, &p->raw, &size);
	if (rc == RELAIS_ETOOBIG && size > 0) {
		rc = too_big(g, c, uidvalidity, uid, size);
		goto done;
	}
	if (rc == RELAIS_ENOTFOUND) {
		/* Gone meanwhile (moved by a person): nothing to do. */
		rc = remember(g, uidvalidity, uid);
		goto done;
	}
	if (rc) {
		fprintf(stderr, "courrier : UID %u non lu : %s (%s)\n", uid, relais_strerror(rc),
			mailgw_imap_error(c));
		goto done;
	}
	sqlite3 *db = store_writer_acquire(g->st);
	rc = mailgw_ingest_archive(db, g->t, g->cfg->departement, p->raw.data, p->raw.len,
				   util_now_ms(), &p->e);
	store_writer_release(g->st);
	if (rc) {
		fprintf(stderr, "courrier : UID %u non archivé : %s\n", uid, relais_strerror(rc));
		goto done;
	}
	if (p->e.duplicate) {
		rc = finish_again(g, c, uidvalidity, uid, &p->e, &p->raw);
		goto done;
	}
	*parse = 1;
	return 0;
done:
	buf_release(&p->raw);
	return rc;
}

/* Steps 4 to 6 for one message and its parse j. A non-zero return ends
 * the session. */
static int record(struct mail_gateway *g, struct mailgw_imap *c, uint32_t uidvalidity,
		  const struct pending *p, const struct mailgw_sandbox_job *j)
{
	struct mailgw_result r;
	int planned = 0, rc = j->rc;

	if (rc == RELAIS_ELATER)
		return rc; /* relaisd stops: not parsed, recorded at the next start */
	if (rc) {
		fprintf(stderr, "courrier : UID %u : analyse impossible pour l'instant : %s\n", p->uid,
			relais_strerror(rc));
		return rc;
	}
	memset(&r, 0, sizeof(r));
	sqlite3 *db = store_writer_acquire(g->st);
	rc = mailgw_ingest_record(db, g->t, g->cfg->departement, p->e.id,
				  j->outcome.verdict == MAILGW_SANDBOX_PARSED ? j->msg : NULL,
				  j->outcome.reason, &g->sender, util_now_ms(), &r, &planned);
	store_writer_release(g->st);
	if (rc) {
		fprintf(stderr, "courrier : UID %u non enregistré : %s\n", p->uid, relais_strerror(rc));
		goto out;
	}
	fprintf(stderr, "courrier : UID %u : %s (%s), courrier %s%s\n", p->uid,
		outcome_word(r.outcome), form_kind_name(r.kind), p->e.id,
		planned ? ", réponse prévue" : "");
	if (planned)
		send_replies(g, p->e.id);
	rc = finish(g, c, uidvalidity, p->uid, folder_for(g, r.outcome));
out:
	mailgw_result_free(&r);
	return rc;
}

/* mailgw_sandbox_parse_many()'s question: whether relaisd stops. */
static int stop_asked(void *g)
{
	return stopping(g);
}

/* Whether p[k] is the journal row of a message before it in p. */
static int same_message(const struct pending *p, size_t k)
{
	for (size_t i = 0; i < k; i++)
		if (!strcmp(p[i].e.id, p[k].e.id))
			return 1;
	return 0;
}

/*
 * Steps 1 to 6 for the UIDs from uids[*next], in order, one batch: its
 * messages are fetched and archived one by one, parsed side by side in the
 * sandbox (one worker per processor), then recorded and moved one by one.
 * A batch holds at most MAIL_BATCH messages and takes no more once they
 * weigh MAIL_BATCH_BYTES. Once relaisd is asked to stop, no further parse
 * of the batch starts. A crash or a stop between archiving and recording
 * leaves journal rows "en_cours", which the next scan records.
 */
static int batch(struct mail_gateway *g, struct mailgw_imap *c, uint32_t uidvalidity,
		 const uint32_t *uids, size_t n, size_t *next)
{
	struct pending p[MAIL_BATCH];
	struct mailgw_sandbox_job jobs[MAIL_BATCH];
	size_t k = 0, bytes = 0;
	int rc = 0;

	while (!rc && *next < n && k < MAIL_BATCH && bytes < MAIL_BATCH_BYTES && !stopping(g)) {
		int parse;
		rc = take(g, c, uidvalidity, uids[(*next)++], &p[k], &parse);
		if (parse && same_message(p, k)) {
			/* The same message delivered twice: the second copy
			 * waits for the next batch, where the first one's
			 * record makes it a duplicate. */
			buf_release(&p[k].raw);
			(*next)--;
			break;
		}
		if (parse) {
			memset(&jobs[k], 0, sizeof(jobs[k]));
			jobs[k].raw = p[k].raw.data;
			jobs[k].len = p[k].raw.len;
			bytes += p[k].raw.len;
			k++;
		}
	}
	if (!rc && k)
		mailgw_sandbox_parse_many(jobs, k, NULL, stop_asked, g);
	for (size_t i = 0; i < k; i++) {
		if (!rc)
			rc = record(g, c, uidvalidity, &p[i], &jobs[i]);
		mailgw_mime_free(jobs[i].msg);
		buf_release(&p[i].raw);
	}
	return rc;
}

/* New UIDs of the selected inbox, processed in order. */
static int scan(struct mail_gateway *g, struct mailgw_imap *c, uint32_t uidvalidity)
{
	uint32_t stored_validity, last, *uids = NULL;
	size_t n = 0;
	sqlite3 *db = store_writer_acquire(g->st);
	int rc = mailgw_ingest_state_get(db, g->cfg->departement, &stored_validity, &last);
	if (!rc && stored_validity != uidvalidity) {
		/* A new UIDVALIDITY: UIDs mean nothing any more; the journal
		 * keeps what was already done from being done again. */
		last = 0;
		rc = mailgw_ingest_state_set(db, g->cfg->departement, uidvalidity, 0);
	}
	store_writer_release(g->st);
	if (rc)
		return rc;
	rc = mailgw_imap_uids_above(c, last, &uids, &n);
	for (size_t next = 0; !rc && next < n && !stopping(g);)
		rc = batch(g, c, uidvalidity, uids, n, &next);
	free(uids);
	return rc;
}

static int create_folders(struct mail_gateway *g, struct mailgw_imap *c)
{
	const char *folders[] = {
		g->cfg->dossier_traites, g->cfg->dossier_rejetes, g->cfg->dossier_quarantaine,
	};
	for (size_t i = 0; i < 3; i++) {
		int rc = mailgw_imap_create(c, folders[i]);
		if (rc) {
			fprintf(stderr, "courrier : dossier « %s » non créé : %s (%s)\n", folders[i],
				relais_strerror(rc), mailgw_imap_error(c));
			return rc;
		}
	}
	return 0;
}

/* One connection, until it fails or stop is asked. *connected is set once
 * the mailbox is selected (the backoff then starts again from its minimum). */
static int session(struct mail_gateway *g, int *connected)
{
	struct mailgw_imap *c = NULL;
	char err[512];
	uint32_t uidvalidity = 0;
	int rc = mailgw_imap_connect(&g->imap, &c, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "courrier : connexion IMAP à %s impossible : %s (%s)\n",
			g->cfg->imap_hote, relais_strerror(rc), err);
		return rc;
	}
	rc = create_folders(g, c);
	if (rc)
		goto out;
	rc = mailgw_imap_select(c, g->cfg->dossier_entree, &uidvalidity);
	if (rc) {
		fprintf(stderr, "courrier : dossier « %s » non sélectionné : %s (%s)\n",
			g->cfg->dossier_entree, relais_strerror(rc), mailgw_imap_error(c));
		goto out;
	}
	*connected = 1;
	fprintf(stderr, "courrier : connecté à %s, dossier « %s »%s\n", g->cfg->imap_hote,
		g->cfg->dossier_entree, mailgw_imap_has_idle(c) ? " (IDLE)" : "");
	/* Answers committed before a crash or a lost connection go first. */
	g->retry_replies_ms = 0;
	send_replies(g, NULL);
	while (!stopping(g)) {
		if (g->retry_replies_ms && util_now_ms() >= g->retry_replies_ms) {
			g->retry_replies_ms = 0;
			send_replies(g, NULL);
		}
		rc = scan(g, c, uidvalidity);
		if (rc)
			goto out;
		if (!mailgw_imap_has_idle(c)) {
			if (worker_nap(&g->w, g->cfg->intervalle * 1000))
				break;
			continue;
		}
		/* Short IDLE slices: each is a fresh IDLE (so it is renewed long
		 * before servers drop it) and stop is noticed between two. */
		int64_t until = util_now_ms() + MAIL_RESCAN_MS;
		int arrived = 0;
		while (!arrived && !stopping(g) && util_now_ms() < until) {
			rc = mailgw_imap_idle(c, MAIL_IDLE_SLICE_MS, &arrived);
			if (rc) {
				fprintf(stderr, "courrier : attente IDLE interrompue : %s (%s)\n",
					relais_strerror(rc), mailgw_imap_error(c));
				goto out;
			}
		}
	}
out:
	mailgw_imap_close(c);
	return rc;
}

static void run(void *arg)
{
	struct mail_gateway *g = arg;
	int backoff = MAIL_BACKOFF_MIN_MS;
	while (!stopping(g)) {
		int connected = 0;
		int rc = session(g, &connected);
		if (stopping(g))
			break;
		if (connected)
			backoff = MAIL_BACKOFF_MIN_MS;
		fprintf(stderr, "courrier : nouvel essai dans %d s (%s)\n", backoff / 1000,
			relais_strerror(rc ? rc : RELAIS_ENET));
		if (worker_nap(&g->w, backoff))
			break;
		backoff = backoff >= MAIL_BACKOFF_MAX_MS / 2 ? MAIL_BACKOFF_MAX_MS : backoff * 2;
	}
	fprintf(stderr, "courrier : passerelle arrêtée.\n");
}

int mail_gateway_start(struct store *st, const struct config_mail *cfg,
		       struct mail_gateway **out, char *err, size_t errlen)
{
	struct mail_gateway *g;
	int rc;

	*out = NULL;
	g = calloc(1, sizeof(*g));
	if (!g) {
		snprintf(err, errlen, "Mémoire insuffisante.");
		return RELAIS_ENOMEM;
	}
	sqlite3 *db = store_writer_acquire(st);
	rc = mailgw_ingest_schema(db);
	store_writer_release(st);
	if (rc) {
		snprintf(err, errlen, "Impossible de préparer les tables de la passerelle courrier : %s.",
			 relais_strerror(rc));
		free(g);
		return rc;
	}
	g->st = st;
	g->t = store_tables(st);
	g->cfg = cfg;
	g->imap.host = cfg->imap_hote;
	g->imap.port = cfg->imap_port;
	g->imap.tls = cfg->imap_tls;
	g->imap.cafile = cfg->imap_ca;
	g->imap.user = cfg->imap_utilisateur;
	g->imap.password_file = cfg->imap_mot_de_passe_fichier;
	config_smtp_use(&cfg->smtp, &g->smtp);
	g->sender.addr = cfg->adresse;
	g->sender.name = cfg->nom;
	rc = worker_start(&g->w, run, g);
	if (rc) {
		free(g);
		snprintf(err, errlen, "Impossible de démarrer le fil de la passerelle courrier.");
		return rc;
	}
	*out = g;
	return 0;
}

void mail_gateway_request_stop(struct mail_gateway *g)
{
	if (g)
		worker_request_stop(&g->w);
}

void mail_gateway_stop(struct mail_gateway *g)
{
	if (!g)
		return;
	worker_join(&g->w);
	/* Its MIME workers go with it, reaped, rather than at relaisd's exit. */
	mailgw_sandbox_shutdown();
	free(g);
}
