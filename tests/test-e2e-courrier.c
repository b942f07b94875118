/*
 * test-e2e-courrier.c - "relais courrier" on a coordinator's replica: the
 * gateway's journal rows reach the replica, the quarantined ones wait for a
 * person, and the person's decisions travel back to the server.
 *
 * The journal rows are written as the gateway will write them: into the
 * daemon's store, through the library's one server write path
 * (sync_local_begin/commit), while the daemon is stopped.
 */
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include "../common/util.h"
#include "../model/model.h"
#include "../sync/sync.h"
#include "harness.h"
#include "test.h"

/* The journal of one test, newest first within each group. */
enum {
	M_WAIT_NEW,   /* quarantaine, a_traiter: waiting */
	M_WAIT_OLD,   /* quarantaine, no decision yet: waiting */
	M_RECORDED,   /* enregistre */
	M_FILED,      /* quarantaine already classe */
	M_REJECTED,   /* rejete */
	M_OTHER_DEPT, /* quarantaine in 65: never on a 43 replica */
	M_COUNT
};

static const struct {
	const char *dept, *from, *subject, *received, *result, *type, *handling, *text;
} journal[M_COUNT] = {
	{ "43", "mjc.yssingeaux@example.org", "Candidature incomplète ?", "2026-11-21T10:00:00Z",
	  "quarantaine", "inconnu", "a_traiter", "Bonjour,\nvoici notre dossier.\n" },
	{ "43", "jade.roux@example.org", "Question \x1b[31msur la formation",
	  "2026-11-20T09:00:00Z", "quarantaine", NULL, NULL,
	  "Bonjour,\r\nJe voudrais savoir quand a lieu la prochaine formation.\r\n\r\n"
	  "Cordialement,\r\nJade" },
	{ "43", "cs.brioude@example.org", "Bilan 2025", "2026-11-22T08:00:00Z",
	  "enregistre", "bilan", NULL, "Bilan joint." },
	{ "43", "spam@example.net", "Offre exceptionnelle", "2026-11-18T07:00:00Z",
	  "quarantaine", "inconnu", "classe", "Achetez." },
	{ "43", "pij.monistrol@example.org", "Candidature", "2026-11-19T12:00:00Z",
	  "rejete", "candidature", NULL, "Formulaire sans nom." },
	{ "65", "mjc.tarbes@example.org", "Question", "2026-11-23T08:00:00Z",
	  "quarantaine", NULL, NULL, "Bonjour." },
};

struct fixture {
	struct h_daemon d;
	char t43[H_TOKEN], tcaf[H_TOKEN];
	char ids[M_COUNT][UTIL_UUID_LEN + 1];
	const char *R;            /* the coordinator's replica */
	const char *structure;    /* a structure of 43, known to server and R */
};

static int bind_opt(sqlite3_stmt *st, int i, const char *v)
{
	return v ? sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC) : sqlite3_bind_null(st, i);
}

/* Writes the journal into the stopped daemon's store, as the gateway does. */
static int plant_journal(struct fixture *f)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	struct sync_tables *t = NULL;
	struct sync_local *l = NULL;
	int rc = -1;
	char *path = h_strf("%s/relais.db", f->d.data);

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK ||
	    sqlite3_busy_timeout(db, 5000) != SQLITE_OK ||
	    sync_tables_load(db, model_table_names, model_ntables, &t) ||
	    sync_local_begin(db, t, &l)) {
		fprintf(stderr, "  plant: cannot open %s: %s\n", path, sqlite3_errmsg(db));
		goto out;
	}
	if (sqlite3_prepare_v2(db, "INSERT INTO inbound_mail (id, dept, message_id, expediteur, "
			       "nom_expediteur, sujet, recu_le, empreinte, resultat, type, problemes, "
			       "texte, reponse, traitement) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
			       -1, &st, NULL) != SQLITE_OK)
		goto fail;
	for (int i = 0; i < M_COUNT; i++) {
		char msgid[96], hash[UTIL_SHA256_HEX + 1];
		if (util_uuid(f->ids[i]))
			goto fail;
		snprintf(msgid, sizeof(msgid), "<%d.%s@example.org>", i, f->ids[i]);
		util_sha256_hex(journal[i].text, strlen(journal[i].text), hash);
		sqlite3_reset(st);
		sqlite3_bind_text(st, 1, f->ids[i], -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, journal[i].dept, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, msgid, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 4, journal[i].from, -1, SQLITE_STATIC);
		sqlite3_bind_null(st, 5);
		sqlite3_bind_text(st, 6, journal[i].subject, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 7, journal[i].received, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 8, hash, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 9, journal[i].result, -1, SQLITE_STATIC);
		bind_opt(st, 10, journal[i].type);
		bind_opt(st, 11, !strcmp(journal[i].result, "quarantaine")
				 ? "Le message n'est ni une candidature ni un bilan." : NULL);
		sqlite3_bind_text(st, 12, journal[i].text, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 13, "aucune", -1, SQLITE_STATIC);
		bind_opt(st, 14, journal[i].handling);
		if (sqlite3_step(st) != SQLITE_DONE)
			goto fail;
	}
	sqlite3_finalize(st);
	st = NULL;
	if (sync_local_commit(l, "courrier")) {
		l = NULL;
		fprintf(stderr, "  plant: commit failed\n");
		goto out;
	}
	l = NULL;
	rc = 0;
	goto out;
fail:
	fprintf(stderr, "  plant: %s\n", sqlite3_errmsg(db));
out:
	sqlite3_finalize(st);
	if (l)
		sync_local_abort(l);
	sync_tables_free(t);
	sqlite3_close(db);
	return rc;
}

/*
 * A daemon with a 43 coordinator and a 65 one, a 43 CAF account, a replica R
 * of 43 holding one structure, and the journal planted while the daemon was
 * stopped; R synced after the restart.
 */
static int fixture_start(struct fixture *f, const char *name)
{
	char t65[H_TOKEN];
	memset(f, 0, sizeof(*f));
	if (h_daemon_init(&f->d, name) ||
	    h_daemon_user(&f->d, "coord-haute-loire", "43", "coordinateur", f->t43) ||
	    h_daemon_user(&f->d, "coord-hautes-pyrenees", "65", "coordinateur", t65) ||
	    h_daemon_user(&f->d, "referente-caf-43", "43", "caf", f->tcaf) ||
	    h_daemon_serve(&f->d))
		return -1;
	if (!(f->R = h_replica(&f->d, "r43", f->t43)) ||
	    !(f->structure = h_relais_ok(f->R, "structure", "add", "--nom", "MJC d'Yssingeaux",
					 "--commune", "Yssingeaux", (char *)NULL)) ||
	    h_sync(f->R, &f->d))
		return -1;
	if (h_daemon_stop(&f->d) != 0 || plant_journal(f) || h_daemon_serve(&f->d))
		return -1;
	return h_sync(f->R, &f->d);
}

/* The ids of a JSON array of rows, in order, joined by spaces. */
static const char *ids_of(const char *json_text)
{
	json_t *arr = h_json(json_text, strlen(json_text));
	if (!json_is_array(arr))
		return NULL;
	char *s = h_strf("%s", "");
	size_t i;
	json_t *row;
	json_array_foreach(arr, i, row)
		s = h_strf("%s%s%s", s, i ? " " : "", h_row_str(row, "id"));
	return s;
}

static const char *pending_of(const char *home)
{
	json_t *st = h_status(home);
	return st ? h_strf("%lld", (long long)json_integer_value(json_object_get(st, "pending")))
		  : NULL;
}

TEST(e2e_courrier_list_and_show)
{
	struct fixture f;
	h_setup();
	CHECK(fixture_start(&f, "list") == 0);

	/* Waiting: the two quarantined messages without a decision, newest first. */
	const char *waiting = h_relais_ok(f.R, "courrier", "list", "--json", (char *)NULL);
	CHECK(waiting != NULL);
	CHECK_STR(ids_of(waiting), h_strf("%s %s", f.ids[M_WAIT_NEW], f.ids[M_WAIT_OLD]));

	const char *human = h_relais_ok(f.R, "courrier", "list", (char *)NULL);
	CHECK(human != NULL);
	const char *heads[] = { "Identifiant", "Date", "Expéditeur", "Objet", "Résultat" };
	for (size_t i = 0; i < sizeof(heads) / sizeof(heads[0]); i++)
		CHECK_IDX(strstr(human, heads[i]) != NULL, i);
	const char *pnew = strstr(human, f.ids[M_WAIT_NEW]), *pold = strstr(human, f.ids[M_WAIT_OLD]);
	CHECK(pnew && pold && pnew < pold);
	CHECK(strstr(human, "2026-11-21T10:00:00Z") && strstr(human, "jade.roux@example.org"));
	CHECK(strstr(human, "quarantaine") != NULL);
	for (int i = M_RECORDED; i < M_COUNT; i++)
		CHECK_IDX(strstr(human, f.ids[i]) == NULL, i);
	/* The escape sequence of a hostile subject never reaches the terminal. */
	CHECK(strchr(human, '\x1b') == NULL);
	CHECK(strstr(human, "Question ?[31msur") != NULL);

	/* --tous: the whole journal of 43, newest first. */
	const char *all = h_relais_ok(f.R, "courrier", "list", "--tous", "--json", (char *)NULL);
	CHECK(all != NULL);
	CHECK_STR(ids_of(all), h_strf("%s %s %s %s %s", f.ids[M_RECORDED], f.ids[M_WAIT_NEW],
				      f.ids[M_WAIT_OLD], f.ids[M_REJECTED], f.ids[M_FILED]));
	const char *allh = h_relais_ok(f.R, "courrier", "list", "--tous", (char *)NULL);
	CHECK(allh != NULL);
	for (int i = 0; i < M_OTHER_DEPT; i++)
		CHECK_IDX(strstr(allh, f.ids[i]) != NULL, i);
	CHECK(strstr(allh, f.ids[M_OTHER_DEPT]) == NULL);
	CHECK(strstr(allh, "enregistré") && strstr(allh, "rejeté") && strstr(allh, "classé"));
	CHECK(strstr(allh, "Suite donnée") != NULL);

	/* show: every field in French, the message text last. */
	const char *show = h_relais_ok(f.R, "courrier", "show", f.ids[M_WAIT_OLD], (char *)NULL);
	CHECK(show != NULL);
	CHECK(strstr(show, h_strf("Identifiant : %s\n", f.ids[M_WAIT_OLD])) != NULL);
	CHECK(strstr(show, "Département : 43\n") != NULL);
	CHECK(strstr(show, "Expéditeur : jade.roux@example.org\n") != NULL);
	CHECK(strstr(show, "Reçu le : 2026-11-20T09:00:00Z\n") != NULL);
	CHECK(strstr(show, "Résultat : quarantaine\n") != NULL);
	CHECK(strstr(show, "Problèmes : Le message n'est ni une candidature ni un bilan.\n") != NULL);
	CHECK(strstr(show, "Empreinte SHA-256 : ") != NULL);
	CHECK(strstr(show, "Objet : Question ?[31msur la formation\n") != NULL);
	const char *text = strstr(show, "Texte du message :\n");
	CHECK(text != NULL);
	CHECK(text > strstr(show, "Rattaché à :"));
	CHECK_STR(text, "Texte du message :\nBonjour,\nJe voudrais savoir quand a lieu la "
			"prochaine formation.\n\nCordialement,\nJade");

	const char *sj = h_relais_ok(f.R, "courrier", "show", f.ids[M_WAIT_OLD], "--json", (char *)NULL);
	CHECK(sj != NULL);
	json_t *obj = h_json(sj, strlen(sj));
	CHECK(obj != NULL);
	CHECK_STR(h_row_str(obj, "texte"), journal[M_WAIT_OLD].text);
	CHECK_STR(h_row_str(obj, "resultat"), "quarantaine");
	CHECK(json_is_null(json_object_get(obj, "traitement")));

	/* A message of another département is not in the replica. */
	struct h_out *o = h_relais(f.R, "courrier", "show", f.ids[M_OTHER_DEPT], (char *)NULL);
	CHECK_INT(o->status, 1);
	CHECK(strstr(o->err, "introuvable") != NULL);
	CHECK_INT(h_daemon_stop(&f.d), 0);
}

TEST(e2e_courrier_decisions_reach_the_server)
{
	struct fixture f;
	h_setup();
	CHECK(fixture_start(&f, "decide") == 0);

	const char *ok = h_relais_ok(f.R, "courrier", "rattacher", f.ids[M_WAIT_OLD],
				     "--a", h_strf("structure:%s", f.structure), (char *)NULL);
	CHECK(ok && strstr(ok, "rattaché"));
	ok = h_relais_ok(f.R, "courrier", "classer", f.ids[M_WAIT_NEW], (char *)NULL);
	CHECK(ok && strstr(ok, "classé"));
	CHECK_STR(pending_of(f.R), "2");
	CHECK_STR(h_relais_ok(f.R, "courrier", "list", (char *)NULL), "Aucun courrier en attente.");
	CHECK_STR(h_relais_ok(f.R, "courrier", "list", "--json", (char *)NULL), "[]");
	const char *show = h_relais_ok(f.R, "courrier", "show", f.ids[M_WAIT_OLD], (char *)NULL);
	CHECK(show != NULL);
	CHECK(strstr(show, "Suite donnée : rattaché\n") != NULL);
	CHECK(strstr(show, h_strf("Rattaché à : la structure MJC d'Yssingeaux (%s)\n",
				  f.structure)) != NULL);

	/* The decisions reach the server and, from it, a second replica. */
	CHECK(h_sync(f.R, &f.d) == 0);
	CHECK_STR(pending_of(f.R), "0");
	const char *R2 = h_replica(&f.d, "r43bis", f.t43);
	CHECK(R2 != NULL);
	json_t *e = h_export(R2);
	CHECK(e != NULL);
	CHECK_INT(h_export_count(e, "inbound_mail"), 5);
	json_t *old = h_export_row(e, "inbound_mail", f.ids[M_WAIT_OLD]);
	json_t *nw = h_export_row(e, "inbound_mail", f.ids[M_WAIT_NEW]);
	CHECK(old && nw);
	CHECK_STR(h_row_str(old, "traitement"), "rattache");
	CHECK_STR(h_row_str(old, "rattache_a"), h_strf("structure:%s", f.structure));
	CHECK_STR(h_row_str(old, "resultat"), "quarantaine");
	CHECK_STR(h_row_str(old, "texte"), journal[M_WAIT_OLD].text);
	CHECK_STR(h_row_str(nw, "traitement"), "classe");
	CHECK(h_row_str(nw, "rattache_a") == NULL);
	CHECK_STR(h_export_text(R2), h_export_text(f.R));

	/* A handled message, or one not in quarantine, takes no decision. */
	static const struct {
		int msg;
		const char *verb, *why;
	} refused[] = {
		{ M_WAIT_OLD, "classer", "déjà été traité" },
		{ M_WAIT_NEW, "rattacher", "déjà été traité" },
		{ M_FILED, "classer", "déjà été traité" },
		{ M_RECORDED, "classer", "n'est pas en quarantaine" },
		{ M_REJECTED, "rattacher", "n'est pas en quarantaine" },
		{ M_OTHER_DEPT, "classer", "introuvable" },
	};
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		const char *msg = f.ids[refused[i].msg];
		struct h_out *o = strcmp(refused[i].verb, "classer")
			? h_relais(R2, "courrier", "rattacher", msg, "--a",
				   h_strf("structure:%s", f.structure), (char *)NULL)
			: h_relais(R2, "courrier", "classer", msg, (char *)NULL);
		CHECK_INT_IDX(o->status, 1, i);
		CHECK_IDX(strstr(o->err, refused[i].why) != NULL, i);
	}
	CHECK_STR(pending_of(R2), "0");
	CHECK_INT(h_daemon_stop(&f.d), 0);
}

TEST(e2e_courrier_bad_targets)
{
	struct fixture f;
	h_setup();
	CHECK(fixture_start(&f, "targets") == 0);
	const char *id = f.ids[M_WAIT_OLD];
	static const struct {
		const char *target;
		int status;
		const char *why;
	} cases[] = {
		{ "structure", 2, "TABLE:ID" },
		{ "structure:", 2, "TABLE:ID" },
		{ ":x", 2, "TABLE:ID" },
		{ "inconnue:x", 1, "table inconnue" },
		{ "courrier:x", 1, "table inconnue" },
		{ "structure:00000000-0000-4000-8000-000000000000", 1, "introuvable" },
		{ "promeneur:S", 1, "introuvable" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *target = cases[i].target;
		if (!strcmp(target, "promeneur:S"))  /* a structure's id is no promeneur */
			target = h_strf("promeneur:%s", f.structure);
		struct h_out *o = h_relais(f.R, "courrier", "rattacher", id, "--a", target, (char *)NULL);
		CHECK_INT_IDX(o->status, cases[i].status, i);
		CHECK_IDX(strstr(o->err, cases[i].why) != NULL, i);
	}
	struct h_out *o = h_relais(f.R, "courrier", "rattacher", id, (char *)NULL);
	CHECK_INT(o->status, 2);
	CHECK(strstr(o->err, "--a") != NULL);
	o = h_relais(f.R, "courrier", "classer", (char *)NULL);
	CHECK_INT(o->status, 2);
	CHECK(strstr(o->err, "identifiant manquant") != NULL);
	CHECK_STR(pending_of(f.R), "0");

	/* The table word is a command word, the stored reference its SQL name;
	 * ids are forgiven their case. */
	char upper[UTIL_UUID_LEN + 1];
	for (size_t i = 0; i <= UTIL_UUID_LEN; i++)
		upper[i] = (char)(f.structure[i] >= 'a' && f.structure[i] <= 'f'
				  ? f.structure[i] - 'a' + 'A' : f.structure[i]);
	const char *ok = h_relais_ok(f.R, "courrier", "rattacher", id,
				     h_strf("--a=structure:%s", upper), (char *)NULL);
	CHECK(ok != NULL);
	const char *sj = h_relais_ok(f.R, "courrier", "show", id, "--json", (char *)NULL);
	CHECK(sj != NULL);
	json_t *obj = h_json(sj, strlen(sj));
	CHECK(obj != NULL);
	CHECK_STR(h_row_str(obj, "rattache_a"), h_strf("structure:%s", f.structure));
	CHECK_STR(h_row_str(obj, "traitement"), "rattache");
	CHECK_INT(h_daemon_stop(&f.d), 0);
}

TEST(e2e_courrier_refusals)
{
	struct fixture f;
	h_setup();
	CHECK(fixture_start(&f, "refuse") == 0);
	const char *id = f.ids[M_WAIT_OLD];

	/* The journal is the server's: no generic edits. */
	static const char *const verbs[] = { "add", "set", "rm" };
	for (size_t i = 0; i < 3; i++) {
		struct h_out *o = h_relais(f.R, "courrier", verbs[i], id, "--sujet", "x", (char *)NULL);
		CHECK_INT_IDX(o->status, 2, i);
		CHECK_IDX(strstr(o->err, "écrit par le serveur") != NULL, i);
	}
	struct h_out *o = h_relais(f.R, "courrier", "supprimer", id, (char *)NULL);
	CHECK_INT(o->status, 2);
	o = h_relais(f.R, "courrier", "list", "--bizarre", (char *)NULL);
	CHECK_INT(o->status, 2);
	CHECK_STR(pending_of(f.R), "0");

	/* --help everywhere; the main help lists courrier as a command, not as data. */
	static const char *const helps[][2] = {
		{ "--help", NULL }, { "list", "--help" }, { "show", "--help" },
		{ "rattacher", "--help" }, { "classer", "-h" },
	};
	for (size_t i = 0; i < sizeof(helps) / sizeof(helps[0]); i++) {
		o = h_relais(f.R, "courrier", helps[i][0], helps[i][1], (char *)NULL);
		CHECK_INT_IDX(o->status, 0, i);
		CHECK_IDX(strstr(o->out, "Usage : relais courrier") != NULL, i);
	}
	o = h_relais(f.R, "--help", (char *)NULL);
	CHECK_INT(o->status, 0);
	const char *data = strstr(o->out, "Données");
	const char *cmd = strstr(o->out, "  courrier ");
	CHECK(data && cmd && cmd < data);
	CHECK(strstr(data, "courrier") == NULL);

	/* A CAF account reads the journal and decides nothing. */
	const char *Rcaf = h_replica(&f.d, "rcaf", f.tcaf);
	CHECK(Rcaf != NULL);
	const char *waiting = h_relais_ok(Rcaf, "courrier", "list", "--json", (char *)NULL);
	CHECK(waiting != NULL);
	CHECK_STR(ids_of(waiting), h_strf("%s %s", f.ids[M_WAIT_NEW], f.ids[M_WAIT_OLD]));
	o = h_relais(Rcaf, "courrier", "classer", id, (char *)NULL);
	CHECK_INT(o->status, 1);
	CHECK(strstr(o->err, "lecture seule") != NULL);
	o = h_relais(Rcaf, "courrier", "rattacher", id, "--a", h_strf("structure:%s", f.structure),
		     (char *)NULL);
	CHECK_INT(o->status, 1);
	CHECK(strstr(o->err, "lecture seule") != NULL);
	CHECK_STR(pending_of(Rcaf), "0");
	CHECK_STR(h_relais_ok(Rcaf, "courrier", "list", "--json", (char *)NULL), waiting);
	CHECK_INT(h_daemon_stop(&f.d), 0);
}
