/*
 * test-e2e-digest.c - the CAF digest and the bilan reminders end to end
 * (docs/digest.md): a real relaisd with a [digest] section and its clock set
 * by RELAIS_TEST_NOW, the SMTP sink of tests/mailserver.h filing each
 * message in the maildir of its recipient (caf@ and accueil@), and a
 * coordinator's replica that feeds the data and sees the server's writes.
 *
 * Europe/Paris: Monday 08:00 is 07:00Z in winter, 06:00Z in summer.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "../mailgw/charset.h"
#include "harness.h"
#include "mailserver.h"
#include "test.h"

#define DEPT "43"
#define WAIT_MS 30000
#define QUIET_MS 2500

static struct {
	struct ms_server ms;
	struct h_daemon d;
	struct h_proxy px;
	char token[H_TOKEN];
	char token2[H_TOKEN];
	const char *home;
	const char *conf;
} W;

static void pause_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static long long mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void kill_daemon(void *arg)
{
	(void)arg;
	if (W.d.pid > 0)
		h_daemon_kill(&W.d);
	unsetenv("RELAIS_TEST_NOW");
}

static int write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	int ok = fputs(text, f) >= 0;
	return (fclose(f) == 0 && ok) ? 0 : -1;
}

static void stop_proxy(void *arg)
{
	(void)arg;
	if (W.px.pid > 0)
		h_proxy_stop(&W.px);
}

/* Mail servers, relaisd's store with a [digest] section sending to the
 * sink (through a proxy that cuts the first SMTP session after EHLO when
 * cut), a coordinator's replica. */
static int world(int cut)
{
	memset(&W, 0, sizeof(W));
	h_setup();
	if (ms_start(&W.ms, MS_SINK) || ms_add_user(&W.ms, "caf") || ms_add_user(&W.ms, "accueil"))
		return -1;
	int smtp_port = 0;
	if (cut) {
		if (h_proxy_start_flags(&W.px, W.ms.smtp_port, "EHLO", H_PROXY_CUT_REPLY, 0,
					H_PROXY_REOPEN))
			return -1;
		test_defer(stop_proxy, NULL);
		smtp_port = W.px.port;
	}
	test_defer(kill_daemon, NULL);
	if (h_daemon_init(&W.d, "srv") ||
	    h_daemon_user(&W.d, "coord", DEPT, "coordinateur", W.token) ||
	    h_daemon_user(&W.d, "coord2", DEPT, "coordinateur", W.token2))
		return -1;
	W.conf = h_path("relaisd-digest.conf");
	const char *text = h_strf(
		"[digest]\n"
		"departement = " DEPT "\n"
		"destinataires = caf@localhost\n"
		"jour = lundi\n"
		"heure = 08:00\n"
		"fuseau = Europe/Paris\n"
		"periode = hebdomadaire\n"
		"adresse = " MS_ADDRESS "\n"
		"nom = Promeneurs du Net de la Haute-Loire\n"
		"smtp_url = smtp://127.0.0.1:%d\n"
		"smtp_tls = aucun\n",
		smtp_port ? smtp_port : W.ms.smtp_port);
	if (write_text(W.conf, text) ||
	    snprintf(W.d.config, sizeof(W.d.config), "%s", W.conf) >= (int)sizeof(W.d.config))
		return -1;
	return 0;
}

/* Starts relaisd with its clock at now (UTC). */
static int serve_at(const char *now)
{
	setenv("RELAIS_TEST_NOW", now, 1);
	int rc = h_daemon_serve(&W.d);
	unsetenv("RELAIS_TEST_NOW");
	if (rc)
		return -1;
	if (!W.home)
		W.home = h_replica(&W.d, "coord", W.token);
	return W.home ? 0 : -1;
}

static int wait_count(const char *user, int n, int timeout_ms)
{
	long long end = mono_ms() + timeout_ms;
	int c;
	while ((c = ms_user_count(&W.ms, user, "INBOX")) < n && mono_ms() < end)
		pause_ms(100);
	return c;
}

/* The one message of user's INBOX (harness-owned), or NULL. */
static char *only_message(const char *user)
{
	char **names = NULL;
	int n = ms_user_list(&W.ms, user, "INBOX", &names);
	char *msg = NULL;
	if (n == 1) {
		size_t len;
		char *m = ms_user_read(&W.ms, user, "INBOX", names[0], &len);
		if (m)
			msg = h_strf("%s", m);
		free(m);
	}
	if (n >= 0)
		ms_free_names(names, n);
	return msg;
}

/* The decoded body of the first part whose header has ctype (base64). */
static char *part(const char *msg, const char *ctype)
{
	const char *p = strstr(msg, ctype);
	if (!p)
		return NULL;
	const char *body = strstr(p, "\r\n\r\n");
	if (!body)
		body = strstr(p, "\n\n");
	if (!body)
		return NULL;
	const char *end = strstr(body, "\n--");
	if (!end)
		end = body + strlen(body);
	/* Room for what base64 decoding may write (charset.h). */
	char *out = h_strf("%*s", (int)(end - body) + 4, "");
	out[mailgw_base64_decode(body, (size_t)(end - body), (unsigned char *)out, NULL)] = 0;
	return out;
}

static const char *header(const char *msg, const char *name)
{
	const char *p = strstr(msg, h_strf("\n%s: ", name));
	if (!p)
		return NULL;
	p += strlen(name) + 3;
	return h_strf("%.*s", (int)strcspn(p, "\r\n"), p);
}

/* ---- data ---- */

struct data {
	const char *s, *p, *c, *labelled;
};

/* A structure, a candidature filed in the week of 23 November 2026 and
 * accepted on 25 November (labelling its promeneur and listing a directory
 * change), an event on 10 December. */
static int feed(struct data *dt)
{
	const char *A = W.home;
	if (!(dt->s = h_relais_ok(A, "structure", "add", "--nom", "MJC des Tilleuls", "--commune",
				  "Le Puy-en-Velay", "--email", "accueil@tilleuls.example", (char *)NULL)) ||
	    !(dt->p = h_relais_ok(A, "promeneur", "add", "--prenom", "Léa", "--nom", "Martin",
				  "--email", "lea.martin@example.org", "--structure", dt->s,
				  (char *)NULL)) ||
	    !(dt->c = h_relais_ok(A, "candidature", "add", "--structure", dt->s, "--promeneur",
				  dt->p, "--date-depot", "2026-11-24", (char *)NULL)) ||
	    !h_relais_ok(A, "candidature", "decider", dt->c, "--decision", "acceptee", "--date",
			 "2026-11-25", (char *)NULL) ||
	    !h_relais_ok(A, "presence", "add", "--promeneur", dt->p, "--reseau", "instagram",
			 "--nom-profil", "lea.pdn43", (char *)NULL) ||
	    !h_relais_ok(A, "evenement", "add", "--type", "regroupement", "--titre",
			 "Regroupement départemental", "--date", "2026-12-10", "--lieu", "Brioude",
			 (char *)NULL) ||
	    h_sync(A, &W.d))
		return -1;
	return 0;
}

static const char *change_transmis(void)
{
	if (h_sync(W.home, &W.d))
		return NULL;
	json_t *e = h_export(W.home);
	if (!e || h_export_count(e, "directory_change") != 1)
		return NULL;
	json_t *rows = json_object_get(e, "directory_change");
	json_t *row = json_is_array(rows) ? json_array_get(rows, 0) : NULL;
	if (!row)
		return NULL;
	json_t *t = json_object_get(row, "transmis");
	return h_strf("%lld/%s", (long long)json_integer_value(t),
		      h_row_str(row, "date_transmission") ? h_row_str(row, "date_transmission")
							  : "-");
}

/* ---- tests ---- */

TEST(e2e_digest_once_sections_csv_restart)
{
	struct data dt;
	CHECK(world(0) == 0);
	/* The data first, with the clock before the scheduled time. */
	CHECK(serve_at("2026-11-30T06:00:00Z") == 0);
	CHECK(feed(&dt) == 0);
	CHECK(h_daemon_stop(&W.d) == 0);
	CHECK(serve_at("2026-11-30T06:59:55Z") == 0);
	CHECK_INT(ms_user_count(&W.ms, "caf", "INBOX"), 0);
	CHECK_INT(wait_count("caf", 1, WAIT_MS), 1);
	char *msg = only_message("caf");
	CHECK(msg != NULL);
	CHECK_STR(header(msg, "Auto-Submitted"), "auto-generated");
	CHECK(header(msg, "Message-ID") != NULL);
	CHECK(strstr(header(msg, "Date"), "Mon, 30 Nov 2026 08:00:") != NULL);
	CHECK(strstr(header(msg, "Date"), "+0100") != NULL);
	CHECK(strstr(msg, "multipart/mixed") && strstr(msg, "multipart/alternative"));
	char *txt = part(msg, "Content-Type: text/plain"), *html = part(msg, "Content-Type: text/html");
	char *csv = part(msg, "Content-Type: text/csv");
	CHECK(txt && html && csv);
	static const char *const sections[] = {
		"Nouvelles candidatures", "Décisions sur les candidatures", "Labellisations",
		"Délabellisations", "Changements à transmettre", "Bilans reçus",
		"Structures sans bilan pour 2025", "Événements des quatre prochaines semaines",
		"En attente du coordinateur",
	};
	for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]); i++) {
		CHECK_IDX(strstr(txt, sections[i]) != NULL, i);
		CHECK_IDX(strstr(html, sections[i]) != NULL, i);
	}
	CHECK(strstr(txt, "semaine du 23 novembre 2026 au 29 novembre 2026"));
	CHECK(strstr(txt, "Léa Martin (MJC des Tilleuls), déposée le 24 novembre 2026"));
	CHECK(strstr(txt, "candidature acceptée au comité du 25 novembre 2026"));
	CHECK(strstr(txt, "10 décembre 2026 : Regroupement départemental, Brioude"));
	/* The CSV of relais export annuaire: BOM, ';', CRLF (model/csv.h). */
	static const char head[] = "\xEF\xBB\xBFid;nature;date;prenom;nom;email;telephone;"
				   "structure;commune;public;profils;champs\r\n";
	CHECK(!strncmp(csv, head, strlen(head)));
	CHECK(strstr(csv, ";ajout;2026-11-25;Léa;Martin;lea.martin@example.org;;"
			  "MJC des Tilleuls;Le Puy-en-Velay;;Instagram : lea.pdn43;\r\n"));
	CHECK(strstr(msg, "changements-annuaire-43-2026-W48.csv"));

	/* Marked transmitted through sync_local: the replica sees it. */
	CHECK_STR(change_transmis(), "1/2026-11-30");

	/* A restart in the same period sends nothing again. */
	CHECK(h_daemon_stop(&W.d) == 0);
	CHECK(serve_at("2026-11-30T07:05:00Z") == 0);
	pause_ms(QUIET_MS);
	CHECK_INT(ms_user_count(&W.ms, "caf", "INBOX"), 1);
}

/* 1 when cell is a whole cell of a CSV written by model/csv.h: after a
 * separator, a line end or the byte-order mark, before a separator or CRLF. */
static int has_cell(const char *csv, const char *cell)
{
	size_t n = strlen(cell);
	for (const char *p = strstr(csv, cell); p; p = strstr(p + 1, cell)) {
		int starts = p == csv + 3 || p[-1] == ';' || p[-1] == '\n';
		int ends = p[n] == ';' || (p[n] == '\r' && p[n + 1] == '\n');
		if (starts && ends)
			return 1;
	}
	return 0;
}

/* A cell starting with "=" (or "+", "-", "@") from the data reaches the
 * digest's CSV neutralised exactly as relais export annuaire writes it: the
 * same cells, byte for byte, from the one CSV writer (model/csv.h). */
TEST(e2e_digest_csv_formulas_neutralised_like_the_directory_export)
{
	static const char *const hostile[] = {
		"=HYPERLINK(\"http://piege.example\";\"Cliquez\")", /* nom */
		"@SUM(1+1)",                                           /* prénom */
		"+33 Maison des jeunes",                               /* structure */
		"-Le Puy",                                             /* commune */
	};
	static const char *const written[] = {
		"\"'=HYPERLINK(\"\"http://piege.example\"\";\"\"Cliquez\"\")\"",
		"\"'@SUM(1+1)\"",
		"\"'+33 Maison des jeunes\"",
		"\"'-Le Puy\"",
	};
	CHECK(world(0) == 0);
	CHECK(serve_at("2026-11-30T06:00:00Z") == 0);
	const char *A = W.home;
	const char *s = h_relais_ok(A, "structure", "add", "--nom", hostile[2], "--commune",
				    hostile[3], (char *)NULL);
	CHECK(s != NULL);
	const char *p = h_relais_ok(A, "promeneur", "add", "--prenom", hostile[1], "--nom", hostile[0],
				    "--email", "piege@example.org", "--structure", s, (char *)NULL);
	CHECK(p != NULL);
	const char *c = h_relais_ok(A, "candidature", "add", "--structure", s, "--promeneur", p,
				    "--date-depot", "2026-11-24", (char *)NULL);
	CHECK(c != NULL);
	CHECK(h_relais_ok(A, "candidature", "decider", c, "--decision", "acceptee", "--date",
			  "2026-11-25", (char *)NULL) != NULL);
	CHECK(h_sync(A, &W.d) == 0);
	const char *dir = h_relais_ok(A, "export", "annuaire", "--format", "csv", (char *)NULL);
	CHECK(dir != NULL);
	CHECK(h_daemon_stop(&W.d) == 0);
	CHECK(serve_at("2026-11-30T06:59:55Z") == 0);
	CHECK_INT(wait_count("caf", 1, WAIT_MS), 1);
	char *msg = only_message("caf");
	CHECK(msg != NULL);
	char *csv = part(msg, "Content-Type: text/csv");
	CHECK(csv != NULL);
	CHECK(!strncmp(csv, "\xEF\xBB\xBF", 3) && !strncmp(dir, "\xEF\xBB\xBF", 3));
	for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
		CHECK_IDX(has_cell(dir, written[i]), i);
		CHECK_IDX(has_cell(csv, written[i]), i);
		/* Never bare at the start of a cell. */
		CHECK_IDX(!strstr(csv, h_strf(";%s", hostile[i])), i);
		CHECK_IDX(!strstr(csv, h_strf(";\"%c", hostile[i][0])), i);
	}
	/* The text part shows the names as they are. */
	char *txt = part(msg, "Content-Type: text/plain");
	CHECK(txt && strstr(txt, hostile[0]));
}

/* What the CAF referent follows of the procedures: the week's suspensions,
 * the délabellisations still to decide with the CAF, and the changes the
 * national site has yet to publish (or published this week). */
TEST(e2e_digest_procedures_and_publication)
{
	CHECK(world(0) == 0);
	CHECK(serve_at("2026-11-30T06:00:00Z") == 0);
	const char *A = W.home;
	const char *s = h_relais_ok(A, "structure", "add", "--nom", "Centre social Lafayette",
				    "--commune", "Brioude", (char *)NULL);
	const char *p = s ? h_relais_ok(A, "promeneur", "add", "--prenom", "Noé", "--nom", "Vidal",
					"--email", "noe@example.org", "--structure", s, "--statut",
					"labellise", (char *)NULL) : NULL;
	const char *q = s ? h_relais_ok(A, "promeneur", "add", "--prenom", "Inès", "--nom", "Roux",
					"--email", "ines@example.org", "--structure", s, "--statut",
					"labellise", (char *)NULL) : NULL;
	CHECK(p && q);
	CHECK(h_relais_ok(A, "promeneur", "suspendre", p, "--motif", "Congé parental", "--date",
			  "2026-11-26", "--jusqu-au", "2027-01-31", (char *)NULL));
	CHECK(h_relais_ok(A, "promeneur", "signaler", q, "--motif", "Publications sans lien avec la "
			  "mission", "--date", "2026-11-24", (char *)NULL));
	/* A change transmitted last week, still waiting for the national site. */
	json_t *e = h_export(A);
	json_t *rows = json_object_get(e, "directory_change");
	CHECK_INT(json_array_size(rows), 1);
	const char *cid = h_row_str(json_array_get(rows, 0), "id");
	CHECK(cid && h_relais_ok(A, "changement", "set", cid, "--transmis", "oui",
				 "--date-transmission", "2026-11-20", (char *)NULL));
	CHECK(h_sync(A, &W.d) == 0);
	CHECK(h_daemon_stop(&W.d) == 0);
	CHECK(serve_at("2026-11-30T06:59:55Z") == 0);
	CHECK_INT(wait_count("caf", 1, WAIT_MS), 1);
	char *msg = only_message("caf");
	char *txt = msg ? part(msg, "Content-Type: text/plain") : NULL;
	CHECK(txt != NULL);
	if (!txt)
		return;
	CHECK(strstr(txt, "Suspensions"));
	CHECK(strstr(txt, "Noé Vidal (Centre social Lafayette), suspendu(e) du 26 novembre 2026 au "
			  "31 janvier 2027 ; motif : Congé parental"));
	CHECK(strstr(txt, "Procédures de délabellisation en cours"));
	CHECK(strstr(txt, "Inès Roux (Centre social Lafayette) : problème signalé le 24 novembre 2026"));
	CHECK(strstr(txt, "référent Caf pas encore informé"));
	CHECK(strstr(txt, "suspension : Noé Vidal (Centre social Lafayette), transmis, publication pas "
			  "encore confirmée"));
}

TEST(e2e_digest_downtime_sends_at_start)
{
	CHECK(world(0) == 0);
	/* Running in the previous week: nothing is due yet. */
	CHECK(serve_at("2026-11-25T10:00:00Z") == 0);
	pause_ms(QUIET_MS);
	CHECK_INT(ms_user_count(&W.ms, "caf", "INBOX"), 0);
	CHECK(h_daemon_stop(&W.d) == 0);
	/* Down over Monday 08:00, back at 10:30: sent at start, once. */
	CHECK(serve_at("2026-11-30T09:30:00Z") == 0);
	CHECK_INT(wait_count("caf", 1, WAIT_MS), 1);
	pause_ms(QUIET_MS);
	CHECK_INT(ms_user_count(&W.ms, "caf", "INBOX"), 1);
	char *msg = only_message("caf");
	CHECK(msg && strstr(header(msg, "Date"), "Mon, 30 Nov 2026 10:30:"));
}

TEST(e2e_digest_smtp_outage_then_one)
{
	/* The proxy cuts the first SMTP session after EHLO, as a server that
	 * is down at the scheduled time, then forwards again. */
	CHECK(world(1) == 0);
	CHECK(serve_at("2026-11-30T06:59:58Z") == 0);
	long reqlen = 0;
	CHECK(h_proxy_event(&W.px, &reqlen, WAIT_MS) == 0);
	CHECK_INT(wait_count("caf", 1, WAIT_MS), 1);
	pause_ms(QUIET_MS);
	CHECK_INT(ms_user_count(&W.ms, "caf", "INBOX"), 1);
	/* It was refused once and tried again. */
	const char *log = h_read_file(W.d.log, NULL);
	CHECK(log && strstr(log, "synthèse 2026-W48 non envoyée") &&
	      strstr(log, "synthèse 2026-W48 envoyée"));
}

/* Started the Saturday before the change, stopped, started again just
 * before Monday 08:00 local: sent at 08:00 local, not an hour off. */
static void dst_case(const char *saturday, const char *monday, const char *date,
		     const char *zone)
{
	CHECK(world(0) == 0);
	CHECK(serve_at(saturday) == 0);
	CHECK(h_daemon_stop(&W.d) == 0);
	CHECK(serve_at(monday) == 0);
	CHECK_INT(ms_user_count(&W.ms, "caf", "INBOX"), 0);
	CHECK_INT(wait_count("caf", 1, WAIT_MS), 1);
	char *msg = only_message("caf");
	CHECK(msg != NULL);
	const char *d = header(msg, "Date");
	CHECK(d && strstr(d, date) && strstr(d, zone));
}

/* The Monday after the change to winter time (25 October 2026). */
TEST(e2e_digest_dst_autumn_0800_local)
{
	dst_case("2026-10-24T12:00:00Z", "2026-10-26T06:59:55Z", "Mon, 26 Oct 2026 08:00:",
		 "+0100");
}

/* The Monday after the change to summer time (28 March 2027). */
TEST(e2e_digest_dst_spring_0800_local)
{
	dst_case("2027-03-27T12:00:00Z", "2027-03-29T05:59:55Z", "Mon, 29 Mar 2027 08:00:",
		 "+0200");
}

TEST(e2e_digest_preview_sends_nothing)
{
	struct data dt;
	CHECK(world(0) == 0);
	CHECK(serve_at("2026-11-25T10:00:00Z") == 0);
	CHECK(feed(&dt) == 0);
	CHECK(h_daemon_stop(&W.d) == 0);
	char a1[] = "digest", a2[] = "preview", a3[] = "--data", a4[] = "--dept", a5[] = DEPT,
	     a6[] = "--config", a7[] = "--horloge", a8[] = "2026-11-30T08:00:00Z";
	char *const argv[] = {
		h_strf("%s", h_bin("relaisd")), a1, a2, a3, W.d.data, a4, a5, a6,
		h_strf("%s", W.conf), a7, a8, NULL,
	};
	/* As the CAF referent reads it: decoded, the attachment named and its
	 * rows shown. */
	struct h_out *o = h_runv(argv, 30000);
	CHECK(o && o->status == 0);
	CHECK(strstr(o->out, "À : caf@localhost"));
	CHECK(strstr(o->out, "Objet : "));
	CHECK(strstr(o->out, "Changements à transmettre"));
	CHECK(strstr(o->out, "— Pièce jointe : ") && strstr(o->out, ".csv (text/csv"));
	CHECK(strstr(o->out, ";lea.martin@example.org;"));
	CHECK(strstr(o->out, "Content-Transfer-Encoding") == NULL);
	/* --brut: the message as it leaves. */
	char a9[] = "--brut";
	char *const argv_raw[] = {
		h_strf("%s", h_bin("relaisd")), a1, a2, a3, W.d.data, a4, a5, a6,
		h_strf("%s", W.conf), a7, a8, a9, NULL,
	};
	o = h_runv(argv_raw, 30000);
	CHECK(o && o->status == 0);
	CHECK(strstr(o->out, "Auto-Submitted: auto-generated"));
	CHECK(strstr(o->out, "To: caf@localhost"));
	char *txt = part(o->out, "Content-Type: text/plain");
	CHECK(txt && strstr(txt, "Changements à transmettre"));
	char *csv = part(o->out, "Content-Type: text/csv");
	CHECK(csv && strstr(csv, ";lea.martin@example.org;"));
	/* Nothing sent, nothing marked. */
	CHECK(serve_at("2026-11-25T10:05:00Z") == 0);
	CHECK_STR(change_transmis(), "0/-");
	pause_ms(QUIET_MS / 2);
	CHECK_INT(ms_user_count(&W.ms, "caf", "INBOX"), 0);
}

/* The SMTP server refuses one structure's address for good: the reminders
 * of the other structures still go, and the refused one stays queued. */
TEST(e2e_digest_reminder_refused_does_not_block_the_others)
{
	static const char *const who[] = { "refuse", "accueil", "mjc" };
	CHECK(world(0) == 0);
	CHECK_OK(ms_add_user(&W.ms, "refuse"));
	CHECK_OK(ms_add_user(&W.ms, "mjc"));
	CHECK_OK(ms_sink_refuse(&W.ms, "refuse", "550 5.1.1 Boite inconnue"));
	CHECK(serve_at("2026-11-25T10:00:00Z") == 0);
	const char *A = W.home;
	for (int i = 0; i < 3; i++) {
		const char *s = h_relais_ok(A, "structure", "add", "--nom", h_strf("Structure %d", i),
					    "--commune", "Brioude", "--email",
					    h_strf("%s@tilleuls.example", who[i]), (char *)NULL);
		CHECK_IDX(s != NULL, i);
		CHECK_IDX(h_relais_ok(A, "promeneur", "add", "--prenom", "Zoé", "--nom",
				      h_strf("Durand%d", i), "--email", h_strf("z%d@example.org", i),
				      "--structure", s, "--statut", "labellise",
				      "--date-labellisation", "2025-01-15", (char *)NULL) != NULL, i);
	}
	CHECK(h_relais_ok(A, "relance", "bilans", "--annee", "2025", (char *)NULL));
	CHECK(h_sync(A, &W.d) == 0);
	CHECK_INT(wait_count("accueil", 1, WAIT_MS), 1);
	CHECK_INT(wait_count("mjc", 1, WAIT_MS), 1);
	CHECK(h_daemon_log_has(&W.d, "refusée par le serveur d'envoi : 550 5.1.1 Boite inconnue",
			       WAIT_MS));
	CHECK_INT(ms_user_count(&W.ms, "refuse", "INBOX"), 0);
	long long end = mono_ms() + WAIT_MS;
	int sent = 0, queued = 0;
	while (mono_ms() < end) {
		CHECK(h_sync(A, &W.d) == 0);
		json_t *e = h_export(A);
		CHECK(e != NULL);
		json_t *rows = json_object_get(e, "reminder");
		sent = queued = 0;
		for (size_t i = 0; i < json_array_size(rows); i++) {
			const char *st = h_row_str(json_array_get(rows, i), "statut");
			sent += !strcmp(st, "envoyee");
			queued += !strcmp(st, "a_envoyer");
		}
		if (sent == 2)
			break;
		pause_ms(300);
	}
	CHECK_INT(sent, 2);
	CHECK_INT(queued, 1);
}

TEST(e2e_digest_reminders_once)
{
	CHECK(world(0) == 0);
	CHECK(serve_at("2026-11-25T10:00:00Z") == 0);
	const char *A = W.home;
	const char *s = h_relais_ok(A, "structure", "add", "--nom", "MJC des Tilleuls", "--commune",
				    "Le Puy-en-Velay", "--email", "accueil@tilleuls.example", (char *)NULL);
	CHECK(s != NULL);
	CHECK(h_relais_ok(A, "promeneur", "add", "--prenom", "Zoé", "--nom", "Durand", "--email",
			  "zoe@example.org", "--structure", s, "--statut", "labellise",
			  "--date-labellisation", "2025-01-15", (char *)NULL));
	CHECK(h_sync(A, &W.d) == 0);
	const char *B = h_replica(&W.d, "coord2", W.token2);
	CHECK(B != NULL);
	/* Two coordinators queue the same reminder while offline. */
	CHECK(h_relais_ok(A, "relance", "bilans", "--annee", "2025", (char *)NULL));
	CHECK(h_relais_ok(B, "relance", "bilans", "--annee", "2025", (char *)NULL));
	/* A's row arrives and is sent; B's, the same reminder, arrives after. */
	CHECK(h_sync(A, &W.d) == 0);
	CHECK_INT(wait_count("accueil", 1, WAIT_MS), 1);
	CHECK(h_sync(B, &W.d) == 0);
	pause_ms(QUIET_MS);
	CHECK_INT(ms_user_count(&W.ms, "accueil", "INBOX"), 1);
	char *msg = only_message("accueil");
	CHECK(msg && strstr(msg, "Auto-Submitted: auto-generated"));
	char *body = part(msg, "Content-Type: text/plain");
	CHECK(body && strstr(body, "bilan 2025") && strstr(body, "MJC des Tilleuls"));
	CHECK(strstr(body, "Jeunes connectés"));
	/* Both rows sent, seen on a replica. */
	long long end = mono_ms() + WAIT_MS;
	size_t sent = 0;
	while (mono_ms() < end) {
		CHECK(h_sync(A, &W.d) == 0);
		json_t *e = h_export(A);
		CHECK(e != NULL);
		json_t *rows = json_object_get(e, "reminder");
		sent = 0;
		for (size_t i = 0; i < json_array_size(rows); i++)
			sent += !strcmp(h_row_str(json_array_get(rows, i), "statut"), "envoyee") &&
				h_row_str(json_array_get(rows, i), "envoyee_le") != NULL;
		if (json_array_size(rows) == 2 && sent == 2)
			break;
		pause_ms(300);
	}
	CHECK_INT(sent, 2);
	/* A restart sends none again. */
	CHECK(h_daemon_stop(&W.d) == 0);
	CHECK(serve_at("2026-11-25T10:10:00Z") == 0);
	pause_ms(QUIET_MS);
	CHECK_INT(ms_user_count(&W.ms, "accueil", "INBOX"), 1);
}

/* The keys after destinataires, in order from line 3. */
#define DIGEST_REST(dest, tls)                                                    \
	"destinataires = " dest "\njour = lundi\nheure = 08:00\n"                \
	"adresse = relais@localhost\nsmtp_url = smtp://127.0.0.1:1\n" tls "\ndepartement = 43\n"

/* A bad [digest] section stops relaisd at start with a French message
 * naming the line; a good one starts the digest thread. */
TEST(e2e_digest_config_errors)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
		{ "[digest]\ndepartement = 43\n", "ligne 1|obligatoire « destinataires »" },
		{ "[digest]\njour = lundy\n", "ligne 2|jour « lundy » invalide" },
		{ "[digest]\nheure = 8h\n", "ligne 2|heure « 8h » invalide" },
		{ "[digest]\nheure = 24:00\n", "ligne 2|heure « 24:00 » invalide" },
		{ "[digest]\nperiode = annuelle\n", "ligne 2|période « annuelle »" },
		{ "[digest]\n[digest]\n", "ligne 2|déjà donnée ligne 1" },
		{ "[digest]\nfuseau = Europe/Parus\n" DIGEST_REST("caf@x.example", "smtp_tls = aucun"),
		  "ligne 2|fuseau horaire « Europe/Parus » inconnu" },
		{ "[digest]\nfuseau = Europe/Paris\n" DIGEST_REST("caf@x.example, pas-une-adresse",
								  "smtp_tls = aucun"),
		  "ligne 3|destinataire « pas-une-adresse » invalide" },
		{ "[digest]\nfuseau = Europe/Paris\n" DIGEST_REST("caf@x.example",
								  "smtp_tls = starttls"),
		  NULL },
	};
	h_setup();
	struct h_daemon d;
	CHECK(h_daemon_init(&d, "srv") == 0);
	const char *conf = h_path("digest-bad.conf");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CHECK_IDX(write_text(conf, cases[i].text) == 0, i);
		if (!cases[i].want) {
			snprintf(d.config, sizeof(d.config), "%s", conf);
			CHECK_IDX(h_daemon_serve(&d) == 0, i);
			CHECK_IDX(strstr(h_read_file(d.log, NULL), "Synthèse Caf activée") != NULL, i);
			CHECK_IDX(h_daemon_stop(&d) == 0, i);
			continue;
		}
		char a1[] = "serve", a2[] = "--data", a3[] = "--listen", a4[] = "127.0.0.1:0",
		     a5[] = "--config";
		char *const argv[] = { h_strf("%s", h_bin("relaisd")), a1, a2, d.data, a3, a4, a5,
				       h_strf("%s", conf), NULL };
		struct h_out *o = h_runv(argv, 30000);
		CHECK_IDX(o && o->status == 1, i);
		char *want = h_strf("%s", cases[i].want), *bar = strchr(want, '|');
		*bar = 0;
		CHECK_IDX(strstr(o->err, want) != NULL, i);
		CHECK_IDX(strstr(o->err, bar + 1) != NULL, i);
	}
}
