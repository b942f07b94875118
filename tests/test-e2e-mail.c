/*
 * test-e2e-mail.c - the mail gateway end to end (docs/mailgw.md): a real
 * Dovecot holds the network's mailbox, relaisd reads it over IMAP and
 * answers through a real SMTP server (tests/mail/smtp-sink.py) that files
 * each answer in the mailbox of its recipient, a separate Dovecot user.
 * What the gateway recorded is read the way a coordinator reads it: through
 * `relais sync` and `export --json` (table inbound_mail is the journal).
 *
 * Every message of a test carries its own Message-ID, so that its journal
 * row, its folder and its answer can be found again. The folder a message
 * ends in must agree with its journal row: Traites for enregistre and
 * ignore (and duplicates), Rejetes for rejete, Quarantaine for quarantaine.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include "../common/util.h"
#include "../mailgw/charset.h"
#include "../model/model.h"
#include "harness.h"
#include "mailserver.h"
#include "office-corpus.h"
#include "test.h"

/* The header every request of the current schema carries. */
#define SCHEMA_HEADER h_strf("X-Relais-Schema: %d\r\n", MODEL_SCHEMA_VERSION)

#define DEPT "43"
#define SETTLE_MS 60000   /* a batch under ASan, with reconnections */
#define QUIET_MS 1500     /* how long "no further answer" is watched */

static const char *const FOLDERS[] = { "Traites", "Rejetes", "Quarantaine" };

static struct {
	struct ms_server ms;
	struct h_daemon d;
	struct h_proxy px;
	char token[H_TOKEN];
	const char *home;
	int ms_flags;    /* more ms_start flags for world() */
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

/* relaisd must stop before the mail servers it talks to (defers run last
 * registered first, and the harness's own cleanup was registered first). */
static void kill_daemon(void *arg)
{
	(void)arg;
	if (W.d.pid > 0)
		h_daemon_kill(&W.d);
}

static int write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	int ok = fputs(text, f) >= 0;
	return (fclose(f) == 0 && ok) ? 0 : -1;
}

/*
 * The world of one test: mail servers, relaisd with a [courrier] section
 * (reading IMAP on imap_port: Dovecot's, or a proxy's when proxy_match is
 * given), a coordinator of DEPT with a replica. serve: start relaisd now.
 */
static int world(int serve, const char *proxy_match)
{
	h_setup();
	if (ms_start(&W.ms, MS_SINK | W.ms_flags))
		return -1;
	test_defer(kill_daemon, NULL);
	if (h_daemon_init(&W.d, "srv") ||
	    h_daemon_user(&W.d, "coord", DEPT, "coordinateur", W.token))
		return -1;
	int imap_port = W.ms.imap_port;
	if (proxy_match) {
		if (h_proxy_start_flags(&W.px, W.ms.imap_port, proxy_match, H_PROXY_CUT_REPLY, 0,
					H_PROXY_REOPEN))
			return -1;
		imap_port = W.px.port;
	}
	const char *conf = h_path("relaisd-courrier.conf");
	const char *text = h_strf(
		"# written by test-e2e-mail.c\n"
		"[courrier]\n"
		"departement = " DEPT "\n"
		"adresse = " MS_ADDRESS "\n"
		"nom = Promeneurs du Net de la Haute-Loire\n"
		"imap_hote = 127.0.0.1\n"
		"imap_port = %d\n"
		"imap_tls = aucun\n"
		"imap_utilisateur = " MS_USER "\n"
		"imap_mot_de_passe_fichier = %s\n"
		"dossier_entree = INBOX\n"
		"dossier_traites = Traites\n"
		"dossier_rejetes = Rejetes\n"
		"dossier_quarantaine = Quarantaine\n"
		"intervalle = 1\n"
		"smtp_url = %s\n"
		"smtp_tls = aucun\n",
		imap_port, W.ms.passfile, W.ms.smtp_url);
	if (write_text(conf, text) ||
	    snprintf(W.d.config, sizeof(W.d.config), "%s", conf) >= (int)sizeof(W.d.config))
		return -1;
	if (serve && h_daemon_serve(&W.d))
		return -1;
	if (serve) {
		W.home = h_replica(&W.d, "coord", W.token);
		if (!W.home)
			return -1;
	}
	return 0;
}

/* Starts relaisd (when world() did not) and makes the replica. */
static int serve_now(void)
{
	if (h_daemon_serve(&W.d))
		return -1;
	if (!W.home)
		W.home = h_replica(&W.d, "coord", W.token);
	return W.home ? 0 : -1;
}

/* ---- messages ---- */

/* LF to CRLF, as mail travels. */
static const char *crlf(const char *s)
{
	size_t n = 0;
	for (const char *p = s; *p; p++)
		n += *p == '\n' ? 2 : 1;
	char *out = h_strf("%*s", (int)n, "");
	char *o = out;
	for (const char *p = s; *p; p++) {
		if (*p == '\n' && (p == s || p[-1] != '\r'))
			*o++ = '\r';
		*o++ = *p;
	}
	*o = 0;
	return out;
}

static const char *rfc5322_date(void)
{
	char d[64];
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(d, sizeof(d), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	return h_strf("%s", d);
}

/* A whole text/plain UTF-8 message. from is a complete From value. */
static const char *message(const char *from, const char *msgid, const char *subject,
			   const char *extra_headers, const char *body)
{
	return crlf(h_strf("From: %s\n"
			   "To: Promeneurs du Net <" MS_ADDRESS ">\n"
			   "Subject: %s\n"
			   "Date: %s\n"
			   "Message-ID: <%s>\n"
			   "%s"
			   "MIME-Version: 1.0\n"
			   "Content-Type: text/plain; charset=utf-8\n"
			   "Content-Transfer-Encoding: 8bit\n"
			   "\n"
			   "%s",
			   from, subject, rfc5322_date(), msgid, extra_headers ? extra_headers : "",
			   body));
}

struct field {
	const char *section; /* the start of the "== ... ==" line's title */
	const char *label;   /* the label without " *" and ":" */
	const char *value;
};

/* The blank form as `relais formulaire` prints it, with values after the
 * labels of fields: what a structure would type into it. */
static const char *fill_form(const char *kind, const struct field *f, size_t nf)
{
	const char *blank = h_relais_ok(h_path("formulaires"), "formulaire", kind, (char *)NULL);
	const char *section = "";
	char *out = h_strf("%s", "");
	if (!blank)
		return NULL;
	for (const char *p = blank; *p;) {
		const char *e = strchr(p, '\n');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		const char *line = h_strf("%.*s", (int)len, p);
		const char *value = NULL;
		p += len + (e ? 1 : 0);
		if (!strncmp(line, "== ", 3)) {
			section = line + 3;
		} else if (len > 1 && line[0] != ' ' && line[len - 1] == ':') {
			size_t l = len - 1;
			while (l > 0 && (line[l - 1] == ' ' || line[l - 1] == '*'))
				l--;
			for (size_t i = 0; i < nf && !value; i++) {
				size_t fl = strlen(f[i].label);
				if (strncmp(section, f[i].section, strlen(f[i].section)) ||
				    strncmp(line, f[i].label, fl))
					continue;
				if (fl == l || (fl < l && line[fl] == ' ' && line[fl + 1] == '('))
					value = f[i].value;
			}
		}
		out = h_strf("%s%s%s%s\n", out, line, value ? " " : "", value ? value : "");
	}
	return out;
}

struct cand {
	const char *structure, *commune, *prenom, *nom, *email, *telephone, *instagram;
};

static const char *candidature_form(const struct cand *c)
{
	const struct field f[] = {
		{ "Structure", "Nom", c->structure },
		{ "Structure", "Commune", c->commune },
		{ "Structure", "Type de structure", "mjc" },
		{ "Structure", "Téléphone", "04 71 59 00 00" },
		{ "Promeneur", "Prénom", c->prenom },
		{ "Promeneur", "Nom", c->nom },
		{ "Promeneur", "Courriel", c->email },
		{ "Promeneur", "Téléphone", c->telephone },
		{ "Promeneur", "Fonction", "animatrice jeunesse" },
		{ "Promeneur", "Public", "jeunesse" },
		{ "Promeneur", "Heures en ligne par semaine", "6" },
		{ "Présence", "Instagram", c->instagram },
		{ "Présence", "TikTok", "pdn_plateau" },
		{ "Candidature", "Pertinence de la démarche", "2" },
		{ "Candidature", "Motivation",
		  "Aller à la rencontre des jeunes là où ils sont,\n"
		  "sur les réseaux qu'ils utilisent tous les jours." },
	};
	return fill_form("candidature", f, sizeof(f) / sizeof(f[0]));
}

/* A complete candidature from local@plateau.example (the sink files the
 * answer in user local's mailbox whatever the domain; the model wants a
 * dotted domain in the form's addresses). */
static const char *candidature(const char *local, const char *msgid, int n)
{
	struct cand c = {
		h_strf("MJC du Plateau %d", n), "Yssingeaux", "Léa", h_strf("Martin%d", n),
		h_strf("%s@plateau.example", local), "06 12 34 56 78", h_strf("lea.pdn%d", n),
	};
	const char *form = candidature_form(&c);
	if (!form)
		return NULL;
	return message(h_strf("=?utf-8?q?L=C3=A9a_Martin?= <%s@plateau.example>", local), msgid,
		       "Candidature Promeneurs du Net", NULL, form);
}

/* ---- reading mail ---- */

/* The unfolded value of a top-level header, or NULL. */
static const char *hdr(const char *msg, const char *name)
{
	size_t nl = strlen(name);
	for (const char *p = msg; *p && *p != '\r' && *p != '\n';) {
		const char *e = strchr(p, '\n');
		if (!strncasecmp(p, name, nl) && p[nl] == ':') {
			char *v = h_strf("%s", "");
			const char *q = p + nl + 1;
			for (;;) {
				const char *le = strchr(q, '\n');
				size_t l = le ? (size_t)(le - q) : strlen(q);
				if (l && q[l - 1] == '\r')
					l--;
				v = h_strf("%s%.*s", v, (int)l, q);
				if (!le || (le[1] != ' ' && le[1] != '\t'))
					break;
				q = le + 1;
			}
			while (*v == ' ' || *v == '\t')
				v++;
			return v;
		}
		if (!e)
			break;
		p = e + 1;
	}
	return NULL;
}

/* The body of a single-part message, its transfer encoding undone. */
static const char *body_text(const char *msg)
{
	const char *b = strstr(msg, "\r\n\r\n");
	const char *cte = hdr(msg, "Content-Transfer-Encoding");
	b = b ? b + 4 : (b = strstr(msg, "\n\n")) ? b + 2 : "";
	/* Room for what base64 decoding may write (charset.h). */
	char *out = h_strf("%*s", (int)strlen(b) + 4, "");
	char *o = out;
	if (cte && !strcasecmp(cte, "quoted-printable")) {
		for (const char *p = b; *p; p++) {
			if (*p == '=' && (p[1] == '\r' || p[1] == '\n')) {
				p += p[1] == '\r' ? 2 : 1;
				continue;
			}
			int hi = *p == '=' ? util_hex_digit((unsigned char)p[1]) : -1;
			int lo = hi >= 0 ? util_hex_digit((unsigned char)p[2]) : -1;
			if (lo >= 0) {
				*o++ = (char)(hi * 16 + lo);
				p += 2;
				continue;
			}
			if (*p != '\r')
				*o++ = *p;
		}
	} else if (cte && !strcasecmp(cte, "base64")) {
		o += mailgw_base64_decode(b, strlen(b), (unsigned char *)out, NULL);
	} else {
		for (const char *p = b; *p; p++)
			if (*p != '\r')
				*o++ = *p;
	}
	*o = 0;
	return out;
}

#define MAX_ANSWERS 64

/* The messages of a user's INBOX (the answers they received), at most
 * MAX_ANSWERS; *msgs is valid until the next call. */
static int answers(const char *user, const char ***msgs)
{
	static const char *v[MAX_ANSWERS];
	char **names;
	int n = ms_user_list(&W.ms, user, "INBOX", &names);
	*msgs = v;
	int total = n;
	if (n <= 0)
		return 0;
	if (n > MAX_ANSWERS)
		n = MAX_ANSWERS;
	for (int i = 0; i < n; i++) {
		char *s = ms_user_read(&W.ms, user, "INBOX", names[i], NULL);
		v[i] = s ? h_strf("%s", s) : "";
		free(s);
	}
	ms_free_names(names, total);
	return n;
}

/* How many distinct Message-IDs a user received: an answer sent again
 * after a crash keeps its Message-ID (docs/mailgw.md, step 5), so a
 * reader's mail client shows it once. */
static int distinct_answers(const char *user)
{
	const char **m;
	int n = answers(user, &m), d = 0;
	for (int i = 0; i < n; i++) {
		const char *id = hdr(m[i], "Message-ID");
		int seen = 0;
		for (int j = 0; j < i && !seen; j++) {
			const char *o = hdr(m[j], "Message-ID");
			seen = id && o && !strcmp(id, o);
		}
		d += !seen;
	}
	return d;
}

static int folder_count(const char *folder)
{
	int n = ms_count(&W.ms, folder);
	return n < 0 ? 0 : n;
}

static int processed(void)
{
	int n = 0;
	for (size_t i = 0; i < 3; i++)
		n += folder_count(FOLDERS[i]);
	return n;
}

/* Waits until INBOX is empty and n messages are in the three folders. */
static int wait_settled(int n, int timeout_ms)
{
	long long end = mono_ms() + timeout_ms;
	for (;;) {
		int inbox = ms_count(&W.ms, "INBOX"), done = processed();
		if (inbox == 0 && done >= n)
			return done == n ? 0 : -1;
		if (mono_ms() > end || (W.d.pid > 0 && !h_daemon_healthy(&W.d))) {
			fprintf(stderr, "  not settled: INBOX %d, Traites %d, Rejetes %d, "
				"Quarantaine %d (expected %d processed)\n", inbox,
				folder_count("Traites"), folder_count("Rejetes"),
				folder_count("Quarantaine"), n);
			h_daemon_dump_log(&W.d);
			return -1;
		}
		pause_ms(20);
	}
}

static int wait_answers(const char *user, int n, int timeout_ms)
{
	long long end = mono_ms() + timeout_ms;
	while (ms_user_count(&W.ms, user, "INBOX") < n) {
		if (mono_ms() > end) {
			fprintf(stderr, "  %s has %d answers, expected %d\n", user,
				ms_user_count(&W.ms, user, "INBOX"), n);
			h_daemon_dump_log(&W.d);
			return -1;
		}
		pause_ms(20);
	}
	return 0;
}

/* The folder holding the message with this Message-ID (without <>), NULL. */
static const char *folder_of(const char *msgid)
{
	const char *needle = h_strf("<%s>", msgid);
	const char *where = NULL;
	for (size_t f = 0; f < 3; f++) {
		char **names;
		int n = ms_list(&W.ms, FOLDERS[f], &names);
		for (int i = 0; i < n; i++) {
			char *s = ms_read(&W.ms, FOLDERS[f], names[i], NULL);
			const char *id = s ? hdr(s, "Message-ID") : NULL;
			if (id && !strcmp(id, needle))
				where = FOLDERS[f];
			free(s);
		}
		ms_free_names(names, n);
	}
	return where;
}

/* ---- the journal, as a coordinator sees it ---- */

static json_t *synced_export(void)
{
	if (h_sync(W.home, &W.d))
		return NULL;
	return h_export(W.home);
}

/* "<x>" and "x" name the same Message-ID. */
static int same_msgid(const char *a, const char *b)
{
	if (!a || !b)
		return 0;
	size_t la = strlen(a), lb = strlen(b);
	if (la >= 2 && a[0] == '<' && a[la - 1] == '>') {
		a++;
		la -= 2;
	}
	if (lb >= 2 && b[0] == '<' && b[lb - 1] == '>') {
		b++;
		lb -= 2;
	}
	return la == lb && !memcmp(a, b, la);
}

/* The journal rows of a Message-ID ("": rows without one); *row gets the
 * last one. */
static int journal_rows(json_t *exp, const char *msgid, json_t **row)
{
	json_t *a = json_object_get(exp, "inbound_mail"), *r;
	size_t i;
	int n = 0;
	if (row)
		*row = NULL;
	json_array_foreach(a, i, r) {
		const char *id = h_row_str(r, "message_id");
		if (*msgid ? same_msgid(id, msgid) : !id || !*id) {
			n++;
			if (row)
				*row = r;
		}
	}
	return n;
}

/* Where a result sends its message (docs/mailgw.md, step 6). */
static const char *folder_for(const char *resultat)
{
	if (!resultat)
		return "?";
	if (!strcmp(resultat, "enregistre") || !strcmp(resultat, "ignore"))
		return "Traites";
	if (!strcmp(resultat, "rejete"))
		return "Rejetes";
	if (!strcmp(resultat, "quarantaine"))
		return "Quarantaine";
	return "?";
}

/* Exactly one journal row with a final result, the message in the folder
 * of that result; returns the row or NULL (after saying why). */
static json_t *one_outcome(json_t *exp, const char *msgid)
{
	json_t *row;
	int n = journal_rows(exp, msgid, &row);
	const char *res = h_row_str(row, "resultat");
	const char *where = folder_of(msgid);
	if (n != 1) {
		fprintf(stderr, "  <%s>: %d journal rows\n", msgid, n);
		return NULL;
	}
	if (!res || !strcmp(res, "en_cours")) {
		fprintf(stderr, "  <%s>: resultat %s\n", msgid, res ? res : "(null)");
		return NULL;
	}
	if (!where || strcmp(where, folder_for(res))) {
		fprintf(stderr, "  <%s>: resultat %s but the message is in %s\n", msgid, res,
			where ? where : "no folder");
		return NULL;
	}
	return row;
}

/* Rows of table whose column col equals value. */
static int rows_with(json_t *exp, const char *table, const char *col, const char *value)
{
	json_t *a = json_object_get(exp, table), *r;
	size_t i;
	int n = 0;
	json_array_foreach(a, i, r) {
		const char *v = h_row_str(r, col);
		n += v && !strcmp(v, value);
	}
	return n;
}

/* The id of the only row of table whose col is value, or NULL. */
static const char *only_id(json_t *exp, const char *table, const char *col, const char *value)
{
	json_t *a = json_object_get(exp, table), *r;
	const char *id = NULL;
	size_t i;
	json_array_foreach(a, i, r) {
		const char *v = h_row_str(r, col);
		if (v && !strcmp(v, value)) {
			if (id)
				return NULL;
			id = h_row_str(r, "id");
		}
	}
	return id;
}

/* ---- tests ---- */

TEST(e2e_mail_candidature_recorded_synced_acknowledged)
{
	CHECK_OK(world(1, NULL));
	CHECK_OK(ms_add_user(&W.ms, "lea"));
	const char *msg = candidature("lea", "cand-1@localhost", 1);
	CHECK(msg != NULL);
	CHECK_OK(ms_send(&W.ms, MS_ADDRESS, msg, strlen(msg)));
	CHECK_OK(wait_settled(1, SETTLE_MS));
	CHECK_INT(folder_count("Traites"), 1);
	CHECK_OK(wait_answers("lea", 1, SETTLE_MS));

	/* The records reach the coordinator's replica. */
	json_t *exp = synced_export();
	CHECK(exp != NULL);
	json_t *j = one_outcome(exp, "cand-1@localhost");
	CHECK(j != NULL);
	CHECK_STR(h_row_str(j, "resultat"), "enregistre");
	CHECK_STR(h_row_str(j, "type"), "candidature");
	CHECK_STR(h_row_str(j, "reponse"), "envoyee");
	CHECK_STR(h_row_str(j, "dept"), DEPT);
	CHECK(strstr(h_row_str(j, "expediteur") ? h_row_str(j, "expediteur") : "", "lea@plateau.example"));

	CHECK_INT(h_export_count(exp, "structure"), 1);
	const char *sid = only_id(exp, "structure", "nom", "MJC du Plateau 1");
	CHECK(sid != NULL);
	json_t *s = h_export_row(exp, "structure", sid);
	CHECK_STR(h_row_str(s, "commune"), "Yssingeaux");
	CHECK_STR(h_row_str(s, "type"), "mjc");
	CHECK_STR(h_row_str(s, "dept"), DEPT);

	CHECK_INT(h_export_count(exp, "promeneur"), 1);
	const char *pid = only_id(exp, "promeneur", "nom", "Martin1");
	CHECK(pid != NULL);
	json_t *p = h_export_row(exp, "promeneur", pid);
	CHECK_STR(h_row_str(p, "prenom"), "Léa");
	CHECK_STR(h_row_str(p, "statut"), "candidat");
	CHECK_STR(h_row_str(p, "email"), "lea@plateau.example");
	CHECK_STR(h_row_str(p, "structure"), sid);

	CHECK_INT(rows_with(exp, "presence", "promeneur", pid), 2);
	const char *ig = only_id(exp, "presence", "nom_profil", "lea.pdn1");
	CHECK(ig != NULL);
	CHECK_STR(h_row_str(h_export_row(exp, "presence", ig), "reseau"), "instagram");

	CHECK_INT(h_export_count(exp, "candidature"), 1);
	json_t *c = json_array_get(json_object_get(exp, "candidature"), 0);
	CHECK_STR(h_row_str(c, "structure"), sid);
	CHECK_STR(h_row_str(c, "promeneur"), pid);
	CHECK(h_row_str(c, "motivation") && strstr(h_row_str(c, "motivation"), "rencontre des jeunes"));

	/* The acknowledgment, in the sender's own mailbox. */
	const char **m;
	CHECK_INT(answers("lea", &m), 1);
	const char *a = m[0];
	CHECK_STR(hdr(a, "Auto-Submitted"), "auto-replied");
	CHECK_STR(hdr(a, "In-Reply-To"), "<cand-1@localhost>");
	CHECK(hdr(a, "References") && strstr(hdr(a, "References"), "<cand-1@localhost>"));
	const char *mid = hdr(a, "Message-ID");
	CHECK(mid && mid[0] == '<' && strchr(mid, '@') && mid[strlen(mid) - 1] == '>');
	CHECK(same_msgid(h_row_str(j, "reponse_id"), mid));
	CHECK(hdr(a, "Date") != NULL);
	CHECK(hdr(a, "From") && strstr(hdr(a, "From"), MS_ADDRESS));
	CHECK(hdr(a, "To") && strstr(hdr(a, "To"), "lea@plateau.example"));
	CHECK(hdr(a, "Subject") && !strncasecmp(hdr(a, "Subject"), "Re:", 3));
	const char *ct = hdr(a, "Content-Type");
	CHECK(ct && strcasestr(ct, "text/plain") && strcasestr(ct, "utf-8"));
	const char *body = body_text(a);
	/* French, listing what was recorded. */
	CHECK(strstr(body, "MJC du Plateau 1"));
	CHECK(strstr(body, "Martin1"));
	CHECK(strstr(body, "é"));
	CHECK(strcasestr(body, "candidature"));
	CHECK_INT(ms_count(&W.ms, "INBOX"), 0);
}

TEST(e2e_mail_rejected_and_quarantined)
{
	CHECK_OK(world(1, NULL));
	CHECK_OK(ms_add_user(&W.ms, "bad"));
	CHECK_OK(ms_add_user(&W.ms, "qui"));
	/* No commune, a phone of two digits, an address without @. */
	struct cand c = { "Centre social du Lac", "", "Jules", "Durand", "jules-sans-arobase",
			  "12", "jules.pdn" };
	const char *form = candidature_form(&c);
	CHECK(form != NULL);
	const char *bad = message("Jules Durand <bad@lac.example>", "bad-1@localhost",
				  "Candidature", NULL, form);
	const char *unknown = message("Quelqu'un <qui@lac.example>", "qui-1@localhost",
				      "Une question", NULL,
				      "Bonjour,\n\nPourriez-vous me rappeler au sujet de la "
				      "formation de mars ?\n\nMerci,\nCamille\n");
	CHECK_OK(ms_send(&W.ms, MS_ADDRESS, bad, strlen(bad)));
	CHECK_OK(ms_send(&W.ms, MS_ADDRESS, unknown, strlen(unknown)));
	CHECK_OK(wait_settled(2, SETTLE_MS));
	CHECK_STR(folder_of("bad-1@localhost"), "Rejetes");
	CHECK_STR(folder_of("qui-1@localhost"), "Quarantaine");
	CHECK_OK(wait_answers("bad", 1, SETTLE_MS));

	json_t *exp = synced_export();
	CHECK(exp != NULL);
	json_t *j = one_outcome(exp, "bad-1@localhost");
	CHECK(j != NULL);
	CHECK_STR(h_row_str(j, "resultat"), "rejete");
	CHECK_STR(h_row_str(j, "reponse"), "envoyee");
	const char *pb = h_row_str(j, "problemes");
	CHECK(pb && strstr(pb, "Commune") && strstr(pb, "Téléphone") && strstr(pb, "Courriel"));
	/* Nothing of a rejected form is recorded. */
	CHECK_INT(h_export_count(exp, "structure"), 0);
	CHECK_INT(h_export_count(exp, "promeneur"), 0);
	CHECK_INT(h_export_count(exp, "candidature"), 0);

	const char **m;
	CHECK_INT(answers("bad", &m), 1);
	CHECK_STR(hdr(m[0], "In-Reply-To"), "<bad-1@localhost>");
	CHECK_STR(hdr(m[0], "Auto-Submitted"), "auto-replied");
	const char *body = body_text(m[0]);
	/* Each problem, named by its field, and the blank form to send again. */
	CHECK(strstr(body, "Commune"));
	CHECK(strstr(body, "« 12 »") || strstr(body, "12"));
	CHECK(strstr(body, "jules-sans-arobase"));
	CHECK(strstr(body, "FORMULAIRE DE CANDIDATURE"));
	CHECK(strstr(body, "Motivation * :"));

	json_t *q = one_outcome(exp, "qui-1@localhost");
	CHECK(q != NULL);
	CHECK_STR(h_row_str(q, "resultat"), "quarantaine");
	CHECK(h_row_str(q, "texte") && strstr(h_row_str(q, "texte"), "formation de mars"));
	/* At most a note to the sender, never more. */
	pause_ms(QUIET_MS);
	CHECK(ms_user_count(&W.ms, "qui", "INBOX") <= 1);

	/* The coordinator's list of mail shows the quarantined one. */
	struct h_out *o = h_relais(W.home, "courrier", "list", (char *)NULL);
	if (o->status == 0) {
		CHECK(strstr(o->out, "Une question") || strstr(o->out, "qui@lac.example"));
	} else {
		fprintf(stderr, "  (relais courrier list: exit %d, %s; journal checked through "
			"export --json)\n", o->status, o->err);
		CHECK_INT(rows_with(exp, "inbound_mail", "resultat", "quarantaine"), 1);
	}
}

/* Candidatures in the mailbox; relaisd is SIGKILLed once the first of them
 * is done, then started again. Enough of them that the batch is still
 * running when the kill lands, however fast the machine. */
TEST(e2e_mail_exactly_once_killed_mid_batch)
{
	enum { N = 30 };
	CHECK_OK(world(0, NULL));
	for (int i = 0; i < N; i++) {
		const char *user = h_strf("kill%d", i);
		CHECK_OK(ms_add_user(&W.ms, user));
		const char *msg = candidature(user, h_strf("kill-%d@localhost", i), 10 + i);
		CHECK(msg != NULL);
		CHECK_OK(ms_put(&W.ms, msg, strlen(msg)));
	}
	CHECK_OK(serve_now());
	long long end = mono_ms() + SETTLE_MS;
	int answered = 0;
	while (processed() == 0 && (answered = ms_user_count(&W.ms, "kill0", "INBOX")) == 0 &&
	       mono_ms() < end)
		pause_ms(2);
	int done = processed();
	h_daemon_kill(&W.d);
	fprintf(stderr, "  killed with %d of %d moved (first answered: %d)\n", done, N, answered);
	CHECK(done < N);
	CHECK_OK(h_daemon_serve(&W.d));
	CHECK_OK(wait_settled(N, SETTLE_MS));
	for (int i = 0; i < N; i++)
		CHECK_OK(wait_answers(h_strf("kill%d", i), 1, SETTLE_MS));
	pause_ms(QUIET_MS);

	json_t *exp = synced_export();
	CHECK(exp != NULL);
	CHECK_INT(h_export_count(exp, "inbound_mail"), N);
	CHECK_INT(h_export_count(exp, "structure"), N);
	CHECK_INT(h_export_count(exp, "promeneur"), N);
	CHECK_INT(h_export_count(exp, "candidature"), N);
	CHECK_INT(h_export_count(exp, "presence"), 2 * N);
	for (int i = 0; i < N; i++) {
		json_t *j = one_outcome(exp, h_strf("kill-%d@localhost", i));
		CHECK_IDX(j != NULL, i);
		CHECK_STR_IDX(h_row_str(j, "resultat"), "enregistre", i);
		CHECK_STR_IDX(h_row_str(j, "reponse"), "envoyee", i);
		CHECK_INT_IDX(rows_with(exp, "structure", "nom", h_strf("MJC du Plateau %d", 10 + i)), 1, i);
		CHECK_INT_IDX(distinct_answers(h_strf("kill%d", i)), 1, i);
		const char **m;
		int n = answers(h_strf("kill%d", i), &m);
		for (int k = 0; k < n; k++)
			CHECK_STR_IDX(hdr(m[k], "In-Reply-To"), h_strf("<kill-%d@localhost>", i), i);
	}
}

/* The same message twice in the mailbox at once, then a third time after
 * it was recorded. */
TEST(e2e_mail_exactly_once_same_message_delivered_again)
{
	CHECK_OK(world(0, NULL));
	CHECK_OK(ms_add_user(&W.ms, "twice"));
	const char *msg = candidature("twice", "twice-1@localhost", 20);
	CHECK(msg != NULL);
	CHECK_OK(ms_put(&W.ms, msg, strlen(msg)));
	CHECK_OK(ms_put(&W.ms, msg, strlen(msg)));
	CHECK_OK(serve_now());
	CHECK_OK(wait_settled(2, SETTLE_MS));
	CHECK_OK(wait_answers("twice", 1, SETTLE_MS));
	CHECK_OK(ms_send(&W.ms, MS_ADDRESS, msg, strlen(msg)));
	CHECK_OK(wait_settled(3, SETTLE_MS));
	pause_ms(QUIET_MS);
	CHECK_INT(folder_count("Traites"), 3);
	CHECK_INT(ms_user_count(&W.ms, "twice", "INBOX"), 1);

	json_t *exp = synced_export();
	CHECK(exp != NULL);
	json_t *row;
	CHECK_INT(journal_rows(exp, "twice-1@localhost", &row), 1);
	CHECK_STR(h_row_str(row, "resultat"), "enregistre");
	CHECK_INT(h_export_count(exp, "inbound_mail"), 1);
	CHECK_INT(h_export_count(exp, "structure"), 1);
	CHECK_INT(h_export_count(exp, "promeneur"), 1);
	CHECK_INT(h_export_count(exp, "candidature"), 1);
}

/* The IMAP connection is cut right after the first body fetch is sent
 * (a proxy between relaisd and Dovecot), then Dovecot itself is kicked,
 * stopped and started again in the middle of a second batch. */
TEST(e2e_mail_exactly_once_imap_dropped)
{
	enum { N1 = 3, N2 = 3 };
	CHECK_OK(world(0, "BODY.PEEK[]"));
	for (int i = 0; i < N1 + N2; i++)
		CHECK_OK(ms_add_user(&W.ms, h_strf("drop%d", i)));
	for (int i = 0; i < N1; i++) {
		const char *msg = candidature(h_strf("drop%d", i), h_strf("drop-%d@localhost", i), 30 + i);
		CHECK(msg != NULL);
		CHECK_OK(ms_put(&W.ms, msg, strlen(msg)));
	}
	CHECK_OK(serve_now());
	CHECK_OK(h_proxy_event(&W.px, NULL, SETTLE_MS));
	CHECK_OK(wait_settled(N1, SETTLE_MS));

	for (int i = N1; i < N1 + N2; i++) {
		const char *msg = candidature(h_strf("drop%d", i), h_strf("drop-%d@localhost", i), 30 + i);
		CHECK(msg != NULL);
		CHECK_OK(ms_put(&W.ms, msg, strlen(msg)));
	}
	long long end = mono_ms() + SETTLE_MS;
	while (processed() == N1 && mono_ms() < end)
		pause_ms(2);
	CHECK_OK(ms_dovecot_stop(&W.ms));
	fprintf(stderr, "  Dovecot stopped with %d of %d moved\n", processed(), N1 + N2);
	CHECK(h_daemon_healthy(&W.d));
	CHECK_OK(h_sync(W.home, &W.d)); /* sync does not wait for the mailbox */
	CHECK_OK(ms_dovecot_start(&W.ms));
	CHECK_OK(wait_settled(N1 + N2, SETTLE_MS));
	for (int i = 0; i < N1 + N2; i++)
		CHECK_OK(wait_answers(h_strf("drop%d", i), 1, SETTLE_MS));
	pause_ms(QUIET_MS);

	json_t *exp = synced_export();
	CHECK(exp != NULL);
	CHECK_INT(h_export_count(exp, "inbound_mail"), N1 + N2);
	CHECK_INT(h_export_count(exp, "structure"), N1 + N2);
	CHECK_INT(h_export_count(exp, "candidature"), N1 + N2);
	for (int i = 0; i < N1 + N2; i++) {
		json_t *j = one_outcome(exp, h_strf("drop-%d@localhost", i));
		CHECK_IDX(j != NULL, i);
		CHECK_STR_IDX(h_row_str(j, "resultat"), "enregistre", i);
		CHECK_INT_IDX(distinct_answers(h_strf("drop%d", i)), 1, i);
	}
}

/* An auto-responder answers our acknowledgment, twice (a standard one and
 * an "Absence du bureau" without Auto-Submitted); the corpus's automatic
 * replies made by Python's email package come too. None is answered. */
TEST(e2e_mail_no_answer_to_auto_replies)
{
	static const char *const corpus[] = { "auto-replied.eml", "absence-fr.eml", "ooo-en.eml",
					      "reponse-auto-fr.eml" };
	const size_t ncorpus = sizeof(corpus) / sizeof(corpus[0]);
	CHECK_OK(world(1, NULL));
	CHECK_OK(ms_add_user(&W.ms, "auto"));
	CHECK_OK(ms_add_user(&W.ms, "zoe"));
	const char *msg = candidature("auto", "auto-1@localhost", 40);
	CHECK(msg != NULL);
	CHECK_OK(ms_send(&W.ms, MS_ADDRESS, msg, strlen(msg)));
	CHECK_OK(wait_answers("auto", 1, SETTLE_MS));
	CHECK_OK(wait_settled(1, SETTLE_MS));
	const char **m;
	CHECK_INT(answers("auto", &m), 1);
	const char *ack_id = hdr(m[0], "Message-ID");
	const char *ack_subject = hdr(m[0], "Subject");
	CHECK(ack_id && ack_subject);

	const char *refs = h_strf("In-Reply-To: %s\nReferences: <auto-1@localhost> %s\n", ack_id, ack_id);
	const char *auto1 = message("<auto@plateau.example>", "auto-reply-1@localhost",
				    h_strf("Re: %s", ack_subject),
				    h_strf("%sAuto-Submitted: auto-replied\n", refs),
				    "Je suis absente jusqu'au 3 mars. Ceci est une réponse automatique.\n");
	const char *auto2 = message("<auto@plateau.example>", "auto-reply-2@localhost",
				    "Absence du bureau", refs,
				    "Bonjour, je suis en congés. Je lirai votre message à mon retour.\n");
	CHECK_OK(ms_send(&W.ms, MS_ADDRESS, auto1, strlen(auto1)));
	CHECK_OK(ms_send(&W.ms, MS_ADDRESS, auto2, strlen(auto2)));
	const char *corpus_dir = getenv("RELAIS_MAIL_CORPUS");
	for (size_t i = 0; i < ncorpus; i++) {
		size_t len = 0;
		const char *raw = h_read_file(h_strf("%s/%s", corpus_dir && *corpus_dir ? corpus_dir :
						     "tests/mail", corpus[i]), &len);
		CHECK_IDX(raw != NULL, (int)i);
		CHECK_OK(ms_send(&W.ms, MS_ADDRESS, raw, len));
	}
	CHECK_OK(wait_settled(3 + (int)ncorpus, SETTLE_MS));
	pause_ms(QUIET_MS);
	CHECK_INT(ms_user_count(&W.ms, "auto", "INBOX"), 1);
	CHECK_INT(ms_user_count(&W.ms, "zoe", "INBOX"), 0);

	json_t *exp = synced_export();
	CHECK(exp != NULL);
	const char *ids[] = { "auto-reply-1@localhost", "auto-reply-2@localhost",
			      "corpus-20@tilleuls.example", "corpus-21@tilleuls.example",
			      "corpus-23@tilleuls.example", "corpus-22@tilleuls.example" };
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		json_t *j = one_outcome(exp, ids[i]);
		CHECK_IDX(j != NULL, (int)i);
		CHECK_STR_IDX(h_row_str(j, "resultat"), "ignore", (int)i);
		const char *rep = h_row_str(j, "reponse");
		CHECK_IDX(!rep || !strcmp(rep, "aucune"), (int)i);
	}
	CHECK_INT(h_export_count(exp, "structure"), 1);
}

/* A multipart message of about 50 MB: a line of text and a base64
 * attachment of zeros. Caller frees. */
static char *big_message(size_t *len)
{
	const size_t target = 50u << 20;
	const char *head = crlf("From: Zoe <zoe@tilleuls.example>\n"
				"To: " MS_ADDRESS "\n"
				"Subject: Un tres gros message\n"
				"Message-ID: <big-50mb@localhost>\n"
				"MIME-Version: 1.0\n"
				"Content-Type: multipart/mixed; boundary=\"frontiere\"\n"
				"\n"
				"--frontiere\n"
				"Content-Type: text/plain; charset=utf-8\n"
				"\n"
				"Voici la video de notre projet.\n"
				"--frontiere\n"
				"Content-Type: application/octet-stream; name=\"video.bin\"\n"
				"Content-Transfer-Encoding: base64\n"
				"Content-Disposition: attachment; filename=\"video.bin\"\n"
				"\n");
	const char *tail = "--frontiere--\r\n";
	size_t hl = strlen(head), tl = strlen(tail);
	char *m = malloc(target + 4096);
	if (!m)
		return NULL;
	memcpy(m, head, hl);
	size_t n = hl;
	while (n + 78 + tl < target) {
		memset(m + n, 'A', 76);
		m[n + 76] = '\r';
		m[n + 77] = '\n';
		n += 78;
	}
	memcpy(m + n, tail, tl);
	*len = n + tl;
	return m;
}

static long vm_hwm_kb(pid_t pid)
{
	char *s = h_read_file(h_strf("/proc/%d/status", (int)pid), NULL);
	const char *p = s ? strstr(s, "VmHWM:") : NULL;
	return p ? strtol(p + 6, NULL, 10) : -1;
}

TEST(e2e_mail_hostile_input_one_outcome_each)
{
	static const char *const corpus[] = { "deep-100.eml", "zip-zeros.eml", "header-1mb.eml",
					      "unknown-charset.eml" };
	static const char *const ids[] = { "corpus-25@tilleuls.example", "corpus-31@tilleuls.example",
					   "corpus-26@tilleuls.example", "corpus-27@tilleuls.example",
					   "big-50mb@localhost" };
	const int nmsg = 5;
	CHECK_OK(world(1, NULL));
	CHECK_OK(ms_add_user(&W.ms, "zoe"));
	long hwm0 = vm_hwm_kb(W.d.pid);
	size_t biglen = 0;
	char *big = big_message(&biglen);
	CHECK(big != NULL);
	int rc = ms_put(&W.ms, big, biglen);
	free(big);
	CHECK_OK(rc);
	const char *corpus_dir = getenv("RELAIS_MAIL_CORPUS");
	for (size_t i = 0; i < sizeof(corpus) / sizeof(corpus[0]); i++) {
		size_t len = 0;
		const char *raw = h_read_file(h_strf("%s/%s", corpus_dir && *corpus_dir ? corpus_dir :
						     "tests/mail", corpus[i]), &len);
		CHECK_IDX(raw != NULL, (int)i);
		CHECK_OK(ms_put(&W.ms, raw, len));
	}
	/* The daemon keeps serving sync while it chews: each round writes. */
	long long end = mono_ms() + SETTLE_MS;
	int rounds = 0;
	do {
		CHECK(h_relais_ok(W.home, "structure", "add", "--nom", h_strf("Pendant %d", rounds),
				  "--commune", "Brioude", (char *)NULL) != NULL);
		CHECK_OK(h_sync(W.home, &W.d));
		rounds++;
		pause_ms(100);
	} while ((ms_count(&W.ms, "INBOX") != 0 || processed() < nmsg) && mono_ms() < end);
	CHECK_OK(wait_settled(nmsg, 1000));
	CHECK(h_daemon_healthy(&W.d));
	fprintf(stderr, "  %d syncs while the gateway worked; VmHWM %ld kB -> %ld kB\n", rounds,
		hwm0, vm_hwm_kb(W.d.pid));

	long grown = vm_hwm_kb(W.d.pid) - hwm0;
	/* Bounded: the 50 MB message is never held whole. */
	CHECK(grown >= 0 && grown < 100 * 1024);

	json_t *exp = synced_export();
	CHECK(exp != NULL);
	CHECK_INT(h_export_count(exp, "inbound_mail"), nmsg);
	for (int i = 0; i < nmsg; i++) {
		if (i == nmsg - 1 && journal_rows(exp, ids[i], NULL) == 0) {
			/* The gateway refuses to fetch past its size cap, so it
			 * never reads this one's Message-ID: its row is the one
			 * without any. */
			json_t *j = NULL;
			CHECK_INT(journal_rows(exp, "", &j), 1);
			CHECK_STR(h_row_str(j, "resultat"), "quarantaine");
			CHECK(h_row_str(j, "raison") && *h_row_str(j, "raison"));
			CHECK_STR(folder_of(ids[i]), "Quarantaine");
			continue;
		}
		json_t *j = one_outcome(exp, ids[i]);
		CHECK_IDX(j != NULL, i);
		CHECK_IDX(strcmp(h_row_str(j, "resultat"), "enregistre"), i);
	}
	/* The one too big to fetch is known by its header, fetched alone. */
	json_t *bigrow = one_outcome(exp, "big-50mb@localhost");
	CHECK(bigrow != NULL);
	CHECK_STR(h_row_str(bigrow, "resultat"), "quarantaine");
	/* The syncs made meanwhile all landed, and nothing else. */
	CHECK_INT(h_export_count(exp, "structure"), rounds);
	CHECK_INT(h_export_count(exp, "candidature"), 0);
	/* At most one answer (a note) to each, and the daemon is still well. */
	const char **m;
	int n = answers("zoe", &m);
	CHECK(n <= nmsg);
	for (int i = 0; i < n; i++)
		for (int k = 0; k < i; k++)
			CHECK(strcmp(hdr(m[i], "In-Reply-To") ? hdr(m[i], "In-Reply-To") : "i",
				     hdr(m[k], "In-Reply-To") ? hdr(m[k], "In-Reply-To") : "k"));
	CHECK_OK(h_sync(W.home, &W.d));
	CHECK(h_daemon_healthy(&W.d));
}

/* ---- answers the SMTP server refuses, addresses that cannot be answered ---- */

/* A candidature form with most fields left empty, from local@lac.example:
 * rejected (Rejetes), and answered with the list of what is missing. */
static const char *question(const char *local, const char *msgid)
{
	const struct field f[] = { { "Structure", "Nom", "Centre social du Lac" } };
	const char *form = fill_form("candidature", f, 1);
	if (!form)
		return NULL;
	return message(h_strf("%s <%s@lac.example>", local, local), msgid,
		       "Candidature Promeneurs du Net", NULL, form);
}

/* Lines of the sink's RCPT log that contain needle. */
static int rcpt_lines(const char *needle)
{
	char *log = ms_sink_rcpts(&W.ms);
	int n = 0;
	for (const char *p = log; p && *p;) {
		const char *e = strchr(p, '\n');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		if (memmem(p, len, needle, strlen(needle)))
			n++;
		p = e ? e + 1 : p + len;
	}
	free(log);
	return n;
}

/* Four answers wait (the server said 451 to each), the first one's
 * recipient is then refused for good (550): at the next start it is marked
 * failed with the server's words, and the ones after it go, except dan's,
 * refused by policy (5.7.1, as a relay denying us): that one waits. */
TEST(e2e_mail_answer_refused_for_good_does_not_block_the_others)
{
	static const char *const who[] = { "bob", "alice", "dan", "carl" };
	CHECK_OK(world(1, NULL));
	for (int i = 0; i < 4; i++) {
		CHECK_OK(ms_add_user(&W.ms, who[i]));
		CHECK_OK(ms_sink_refuse(&W.ms, who[i], "451 4.3.0 Reessayez plus tard"));
	}
	/* One after the other, so that the queue's order is bob, alice, dan, carl. */
	for (int i = 0; i < 4; i++) {
		const char *msg = question(who[i], h_strf("%s-1@localhost", who[i]));
		CHECK_OK(ms_send(&W.ms, MS_ADDRESS, msg, strlen(msg)));
		CHECK_OK(wait_settled(i + 1, SETTLE_MS));
	}
	for (int i = 0; i < 4; i++)
		CHECK_IDX(rcpt_lines(h_strf("451 %s@lac.example", who[i])) >= 1, i);

	/* For now means: still queued, and tried again. */
	json_t *exp = synced_export();
	CHECK(exp != NULL);
	for (int i = 0; i < 4; i++) {
		json_t *j = one_outcome(exp, h_strf("%s-1@localhost", who[i]));
		CHECK_IDX(j != NULL, i);
		CHECK_STR_IDX(h_row_str(j, "reponse"), "a_envoyer", i);
	}
	CHECK_INT(h_daemon_stop(&W.d), 0);
	CHECK_OK(ms_sink_refuse(&W.ms, NULL, NULL));
	CHECK_OK(ms_sink_refuse(&W.ms, "bob", "550 5.1.1 <bob@lac.example>: boite inconnue"));
	CHECK_OK(ms_sink_refuse(&W.ms, "dan", "554 5.7.1 <dan@lac.example>: Relay access denied"));
	CHECK_OK(h_daemon_serve(&W.d));
	CHECK_OK(wait_answers("alice", 1, SETTLE_MS));
	CHECK_OK(wait_answers("carl", 1, SETTLE_MS));
	CHECK_INT(rcpt_lines("550 bob@lac.example"), 1);
	CHECK_INT(rcpt_lines("554 dan@lac.example"), 1);
	int bob_tries = rcpt_lines("bob@lac.example");
	CHECK_INT(ms_user_count(&W.ms, "bob", "INBOX"), 0);
	CHECK_INT(ms_user_count(&W.ms, "dan", "INBOX"), 0);

	exp = synced_export();
	CHECK(exp != NULL);
	json_t *b = one_outcome(exp, "bob-1@localhost");
	CHECK(b != NULL);
	CHECK_STR(h_row_str(b, "reponse"), "aucune");
	const char *motif = h_row_str(b, "reponse_motif");
	CHECK(motif && strstr(motif, "550 5.1.1 <bob@lac.example>: boite inconnue"));
	for (int i = 1; i < 4; i++) {
		json_t *j = one_outcome(exp, h_strf("%s-1@localhost", who[i]));
		CHECK_IDX(j != NULL, i);
		CHECK_STR_IDX(h_row_str(j, "reponse"), i == 2 ? "a_envoyer" : "envoyee", i);
		CHECK_IDX(h_row_str(j, "reponse_motif") == NULL, i);
	}
	/* The coordinator reads it with relais courrier. */
	const char *show = h_relais_ok(W.home, "courrier", "show", h_row_str(b, "id"), (char *)NULL);
	CHECK(show && strstr(show, "Réponse : non envoyée\n"));
	CHECK(strstr(show, "boite inconnue"));
	const char *all = h_relais_ok(W.home, "courrier", "list", "--tous", (char *)NULL);
	CHECK(all && strstr(all, "non envoyée"));

	/* Refused for good is never tried again, not even at the next start. */
	CHECK_INT(h_daemon_stop(&W.d), 0);
	CHECK_OK(h_daemon_serve(&W.d));
	CHECK(h_daemon_log_has(&W.d, "connecté à", SETTLE_MS));
	pause_ms(QUIET_MS);
	CHECK_INT(rcpt_lines("550 bob@lac.example"), 1);
	CHECK_INT(ms_user_count(&W.ms, "alice", "INBOX"), 1);
	/* The policy refusal is tried again at each start, and goes once lifted. */
	CHECK_INT(rcpt_lines("554 dan@lac.example"), 2);
	CHECK_INT(h_daemon_stop(&W.d), 0);
	CHECK_OK(ms_sink_refuse(&W.ms, NULL, NULL));
	CHECK_OK(h_daemon_serve(&W.d));
	CHECK_OK(wait_answers("dan", 1, SETTLE_MS));
	CHECK_INT(rcpt_lines("bob@lac.example"), bob_tries);
}

/* From with two addresses gets one answer, to the first; two addresses
 * without a comma (read as one glued address) and a non-ASCII local part get
 * none, with the reason in the journal. What reached the SMTP server is
 * read from its own log. */
TEST(e2e_mail_answer_goes_to_one_well_formed_address)
{
	CHECK_OK(world(1, NULL));
	CHECK_OK(ms_add_user(&W.ms, "lea"));
	CHECK_OK(ms_add_user(&W.ms, "jules"));
	/* An incomplete form: answered with what is missing (a question from
	 * an unknown sender would get no answer at all). */
	const struct field f[] = { { "Structure", "Nom", "Centre social du Lac" } };
	const char *body = fill_form("candidature", f, 1);
	CHECK(body != NULL);
	const char *two = message("Léa <lea@lac.example>, Jules <jules@lac.example>",
				  "two-1@localhost", "Candidature", NULL, body);
	const char *glued = message("lea@lac.example jules@lac.example", "glued-1@localhost",
				    "Candidature", NULL, body);
	const char *accent = message("André <andré@lac.example>", "accent-1@localhost",
				     "Candidature", NULL, body);
	CHECK_OK(ms_send(&W.ms, MS_ADDRESS, two, strlen(two)));
	CHECK_OK(ms_send(&W.ms, MS_ADDRESS, glued, strlen(glued)));
	CHECK_OK(ms_send(&W.ms, MS_ADDRESS, accent, strlen(accent)));
	CHECK_OK(wait_settled(3, SETTLE_MS));
	CHECK_OK(wait_answers("lea", 1, SETTLE_MS));
	pause_ms(QUIET_MS);

	/* One answer in all, to lea: nothing glued, nothing to andré (the
	 * other lines are the test's own deliveries to the network). */
	char *log = ms_sink_rcpts(&W.ms);
	CHECK(log != NULL);
	int lines = 0, ours = 0;
	for (char *p = log; *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : p + strlen(p)) {
		lines++;
		ours += !strncmp(p, "250 " MS_ADDRESS "\n", strlen(MS_ADDRESS) + 5);
	}
	int one = lines == ours + 1 && strstr(log, "250 lea@lac.example\n") != NULL;
	if (!one)
		fprintf(stderr, "  RCPT log:\n%s", log);
	free(log);
	CHECK(one);
	CHECK_INT(ms_user_count(&W.ms, "lea", "INBOX"), 1);
	CHECK_INT(ms_user_count(&W.ms, "jules", "INBOX"), 0);
	const char **m;
	CHECK_INT(answers("lea", &m), 1);
	CHECK_STR(hdr(m[0], "In-Reply-To"), "<two-1@localhost>");
	CHECK(strstr(hdr(m[0], "To"), "<lea@lac.example>") && !strstr(hdr(m[0], "To"), "jules"));

	json_t *exp = synced_export();
	CHECK(exp != NULL);
	json_t *j = one_outcome(exp, "two-1@localhost");
	CHECK(j != NULL);
	CHECK_STR(h_row_str(j, "reponse"), "envoyee");
	j = one_outcome(exp, "glued-1@localhost");
	CHECK(j != NULL);
	CHECK_STR(h_row_str(j, "reponse"), "aucune");
	CHECK(h_row_str(j, "reponse_motif") && strstr(h_row_str(j, "reponse_motif"), "ambiguïté"));
	j = one_outcome(exp, "accent-1@localhost");
	CHECK(j != NULL);
	CHECK_STR(h_row_str(j, "reponse"), "aucune");
	CHECK(h_row_str(j, "reponse_motif") && strstr(h_row_str(j, "reponse_motif"), "SMTPUTF8"));
}

/* ---- moves that failed or were cut ---- */

/* Copies of the message with this Message-ID in INBOX and the three folders. */
static int copies_of(const char *msgid)
{
	static const char *const all[] = { "INBOX", "Traites", "Rejetes", "Quarantaine" };
	const char *needle = h_strf("<%s>", msgid);
	int copies = 0;
	for (size_t f = 0; f < 4; f++) {
		char **names;
		int n = ms_list(&W.ms, all[f], &names);
		for (int i = 0; i < n; i++) {
			char *s = ms_read(&W.ms, all[f], names[i], NULL);
			const char *id = s ? hdr(s, "Message-ID") : NULL;
			copies += id && !strcmp(id, needle);
			free(s);
		}
		ms_free_names(names, n);
	}
	return copies;
}

/* A candidature that is rejected (no commune, a two-digit phone). */
static const char *rejected(const char *local, const char *msgid)
{
	struct cand c = { "Centre social du Lac", "", "Jules", "Durand",
			  h_strf("%s@lac.example", local), "12", "jules.pdn" };
	const char *form = candidature_form(&c);
	return form ? message(h_strf("Jules Durand <%s@lac.example>", local), msgid, "Candidature",
			      NULL, form) : NULL;
}

/* Sets the mode of Maildir/.FOLDER and of its cur, new and tmp. */
static int folder_mode(const char *folder, mode_t mode)
{
	static const char *const sub[] = { "", "/cur", "/new", "/tmp" };
	for (size_t i = 0; i < 4; i++) {
		const char *path = h_strf("%s/.%s%s", W.ms.maildir, folder, sub[i]);
		if ((mkdir(path, 0700) && errno != EEXIST) || chmod(path, mode) ||
		    (geteuid() == 0 && chown(path, W.ms.mail_uid, W.ms.mail_gid)))
			return -1;
	}
	return 0;
}

/* The rejected folder exists but Dovecot may not write into it: the move
 * of a rejected message is refused. Once the folder is writable again, the
 * message ends there (not in Traites), once, with one journal outcome and
 * one answer. */
TEST(e2e_mail_refused_move_ends_in_the_outcome_folder)
{
	CHECK_OK(world(0, NULL));
	CHECK_OK(ms_add_user(&W.ms, "mv"));
	CHECK_OK(folder_mode("Rejetes", 0500));
	const char *msg = rejected("mv", "mv-1@localhost");
	CHECK(msg != NULL);
	CHECK_OK(ms_put(&W.ms, msg, strlen(msg)));
	CHECK_OK(serve_now());
	CHECK(h_daemon_log_has(&W.d, "non déplacé vers « Rejetes »", SETTLE_MS));
	/* It stays in the inbox while the fault lasts, answered once. */
	CHECK_INT(ms_count(&W.ms, "INBOX"), 1);
	CHECK_INT(folder_count("Traites"), 0);
	CHECK_OK(wait_answers("mv", 1, SETTLE_MS));

	CHECK_OK(folder_mode("Rejetes", 0700));
	CHECK_OK(wait_settled(1, SETTLE_MS));
	pause_ms(QUIET_MS);
	CHECK_STR(folder_of("mv-1@localhost"), "Rejetes");
	CHECK_INT(copies_of("mv-1@localhost"), 1);
	CHECK_INT(folder_count("Traites"), 0);
	CHECK_INT(ms_user_count(&W.ms, "mv", "INBOX"), 1);

	json_t *exp = synced_export();
	CHECK(exp != NULL);
	CHECK_INT(h_export_count(exp, "inbound_mail"), 1);
	json_t *j = one_outcome(exp, "mv-1@localhost");
	CHECK(j != NULL);
	CHECK_STR(h_row_str(j, "resultat"), "rejete");
	CHECK_STR(h_row_str(j, "reponse"), "envoyee");
}

/* A server without MOVE: the connection is cut right after the COPY into
 * Rejetes (at the UID STORE that follows it), so the message is in both
 * folders. The next session finds the copy and only removes the inbox's. */
TEST(e2e_mail_move_cut_after_copy_completes_once)
{
	W.ms_flags = MS_NO_MOVE;
	CHECK_OK(world(0, "UID STORE"));
	CHECK_OK(ms_add_user(&W.ms, "cut"));
	const char *msg = rejected("cut", "cut-1@localhost");
	CHECK(msg != NULL);
	CHECK_OK(ms_put(&W.ms, msg, strlen(msg)));
	CHECK_OK(serve_now());
	CHECK_OK(h_proxy_event(&W.px, NULL, SETTLE_MS));
	CHECK_OK(wait_settled(1, SETTLE_MS));
	CHECK(h_daemon_log_has(&W.d, "déjà copié dans « Rejetes »", SETTLE_MS));
	pause_ms(QUIET_MS);
	CHECK_INT(copies_of("cut-1@localhost"), 1);
	CHECK_STR(folder_of("cut-1@localhost"), "Rejetes");
	CHECK_INT(ms_user_count(&W.ms, "cut", "INBOX"), 1);

	json_t *exp = synced_export();
	CHECK(exp != NULL);
	CHECK_INT(h_export_count(exp, "inbound_mail"), 1);
	json_t *j = one_outcome(exp, "cut-1@localhost");
	CHECK(j != NULL);
	CHECK_STR(h_row_str(j, "resultat"), "rejete");
}

/* The office corpus (tests/mail/make-office.py): bilans in XLSX, ODS, a
 * French Excel CSV and an HTML table, candidatures in DOCX and ODT, an old
 * XLS, and three hostile files, through Dovecot and relaisd; each message's
 * outcome and records, relaisd's memory, and the next message still read. */
TEST(e2e_mail_office_attachments)
{
	static const struct {
		const char *eml, *msgid, *resultat, *type, *raison;
	} cases[] = {
		{ "office-bomb.eml", "office-bomb@evil.example", "quarantaine", NULL, "64 Mio" },
		{ "office-laughs.eml", "office-laughs@evil.example", "quarantaine", NULL, "DTD" },
		{ "office-big.eml", "office-big@evil.example", "quarantaine", NULL, "non reconnu" },
		{ "office-xls.eml", "office-xls@lac.example", "quarantaine", NULL, ".xlsx" },
		{ "office-xlsx.eml", "office-xlsx@lac.example", "enregistre", "bilan", NULL },
		{ "office-ods.eml", "office-ods@lac.example", "enregistre", "bilan", NULL },
		{ "office-csv.eml", "office-csv@plateau.example", "enregistre", "bilan", NULL },
		{ "office-html.eml", "office-html@plateau.example", "enregistre", "bilan", NULL },
		{ "office-docx.eml", "office-docx@sucs.example", "enregistre", "candidature", NULL },
		{ "office-odt.eml", "office-odt@sucs.example", "enregistre", "candidature", NULL },
	};
	const int nmsg = (int)(sizeof(cases) / sizeof(cases[0])) + 1;
	CHECK_OK(world(1, NULL));
	CHECK_OK(ms_add_user(&W.ms, "contact"));
	const char *dir = office_corpus();
	CHECK(dir != NULL);
	/* The structures the bilans name; the Lac known by its address only
	 * (the sheet says « CS du Lac »). */
	CHECK(h_relais_ok(W.home, "structure", "add", "--nom", "Centre social du Lac", "--commune",
			  "Le Puy-en-Velay", "--email", "contact@lac.example", (char *)NULL) != NULL);
	CHECK(h_relais_ok(W.home, "structure", "add", "--nom", "MJC du Plateau", "--commune",
			  "Yssingeaux", (char *)NULL) != NULL);
	CHECK_OK(h_sync(W.home, &W.d));
	long hwm0 = vm_hwm_kb(W.d.pid);

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = 0;
		const char *raw = h_read_file(h_strf("%s/%s", dir, cases[i].eml), &len);
		CHECK_IDX(raw != NULL, (int)i);
		CHECK_OK(ms_put(&W.ms, raw, len));
	}
	/* After the hostile ones, a plain candidature is still read. */
	CHECK_OK(ms_add_user(&W.ms, "lea"));
	const char *after = candidature("lea", "after-office@localhost", 7);
	CHECK(after != NULL);
	CHECK_OK(ms_put(&W.ms, after, strlen(after)));
	CHECK_OK(wait_settled(nmsg, 2 * SETTLE_MS));
	CHECK(h_daemon_healthy(&W.d));
	long grown = vm_hwm_kb(W.d.pid) - hwm0;
	fprintf(stderr, "  VmHWM of relaisd grew by %ld kB\n", grown);
	/* The files are read in the MIME workers: relaisd itself stays small. */
	CHECK(grown >= 0 && grown < 100 * 1024);

	json_t *exp = synced_export();
	CHECK(exp != NULL);
	CHECK_INT(h_export_count(exp, "inbound_mail"), nmsg);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *j = one_outcome(exp, cases[i].msgid);
		CHECK_IDX(j != NULL, (int)i);
		if (strcmp(h_row_str(j, "resultat"), cases[i].resultat))
			fprintf(stderr, "  %s: %s (%s)\n", cases[i].eml, h_row_str(j, "resultat"),
				h_row_str(j, "raison") ? h_row_str(j, "raison") : "");
		CHECK_STR_IDX(h_row_str(j, "resultat"), cases[i].resultat, (int)i);
		if (cases[i].type)
			CHECK_STR_IDX(h_row_str(j, "type"), cases[i].type, (int)i);
		if (cases[i].raison) {
			const char *why = h_row_str(j, "raison");
			if (!why || !strstr(why, cases[i].raison))
				fprintf(stderr, "  %s: raison « %s »\n", cases[i].eml, why ? why : "");
			CHECK_IDX(why && strstr(why, cases[i].raison), (int)i);
		}
	}
	json_t *last = one_outcome(exp, "after-office@localhost");
	CHECK(last != NULL);
	CHECK_STR(h_row_str(last, "resultat"), "enregistre");

	/* The Lac's sender: two acknowledgments and a note on the old XLS
	 * that says what to send instead. */
	CHECK_OK(wait_answers("contact", 3, SETTLE_MS));
	const char **ans;
	int na = answers("contact", &ans), notes = 0;
	CHECK_INT(na, 3);
	for (int i = 0; i < na; i++) {
		const char *irt = hdr(ans[i], "In-Reply-To");
		if (!irt || strcmp(irt, "<office-xls@lac.example>"))
			continue;
		const char *b = body_text(ans[i]);
		CHECK(strstr(b, "« bilans-2025-s1.xls » non lue") != NULL);
		CHECK(strstr(b, "enregistrez le fichier au format .xlsx") != NULL);
		CHECK(strstr(b, "Pour qu'un formulaire soit lu automatiquement") != NULL);
		notes++;
	}
	CHECK_INT(notes, 1);

	/* The bilans: two sheets of two structures' mid-year rows, a CSV and
	 * an HTML table of the MJC. */
	const char *lac = only_id(exp, "structure", "nom", "Centre social du Lac");
	const char *mjc = only_id(exp, "structure", "nom", "MJC du Plateau");
	CHECK(lac && mjc);
	CHECK_INT(h_export_count(exp, "bilan"), 6);
	CHECK_INT(rows_with(exp, "bilan", "structure", lac), 2);
	CHECK_INT(rows_with(exp, "bilan", "structure", mjc), 4);
	json_t *a = json_object_get(exp, "bilan"), *b;
	size_t k;
	int s1 = 0, annual = 0, s2 = 0;
	json_array_foreach(a, k, b) {
		const char *per = h_row_str(b, "periode"), *st = h_row_str(b, "structure");
		int annee = (int)json_integer_value(json_object_get(b, "annee"));
		int jc = (int)json_integer_value(json_object_get(b, "jeunes_connectes"));
		int heures = (int)json_integer_value(json_object_get(b, "heures_en_ligne"));
		CHECK(per && st);
		if (!strcmp(per, "semestre1")) {
			s1++;
			CHECK_INT(annee, 2025);
			CHECK_INT(jc, !strcmp(st, lac) ? 120 : 45);
			CHECK_INT(heures, !strcmp(st, lac) ? 13 : 4);
		} else if (!strcmp(per, "annee")) {
			annual++;
			CHECK_STR(st, mjc);
			CHECK_INT(jc, 60);
			CHECK_INT(heures, 8);
		} else if (!strcmp(per, "semestre2")) {
			s2++;
			CHECK_STR(st, mjc);
			CHECK_INT(annee, 2024);
			CHECK_INT(jc, 1050);
		}
	}
	CHECK_INT(s1, 4);
	CHECK_INT(annual, 1);
	CHECK_INT(s2, 1);
	/* The synthesis counts the Lac's mid-year bilans (it has no yearly one)
	 * and says so; the MJC's yearly bilan stands for its year. */
	const char *html = h_path("synthese.html");
	CHECK(h_relais_ok(W.home, "synthese", "--annee", "2025", "--format", "html", "--sortie", html,
			  (char *)NULL) != NULL);
	const char *page = h_read_file(html, NULL);
	CHECK(page && strstr(page, "bilans reçus : 3 (1 en 2024), dont 2 intermédiaires (semestre)"));

	/* The candidatures from Word and Writer; the sign-off is no motivation. */
	for (int n = 1; n <= 2; n++) {
		const char *sid = only_id(exp, "structure", "nom", h_strf("Foyer des Sucs %d", n));
		const char *pid = only_id(exp, "promeneur", "nom", h_strf("Bernard%d", n));
		CHECK_IDX(sid && pid, n);
		json_t *p = h_export_row(exp, "promeneur", pid);
		CHECK_STR_IDX(h_row_str(p, "prenom"), "Inès", n);
		CHECK_STR_IDX(h_row_str(p, "email"), h_strf("ines%d@sucs.example", n), n);
		CHECK_INT_IDX(rows_with(exp, "candidature", "promeneur", pid), 1, n);
		json_t *c, *found = NULL;
		json_array_foreach(json_object_get(exp, "candidature"), k, c)
			if (!strcmp(h_row_str(c, "promeneur"), pid))
				found = c;
		CHECK_IDX(found != NULL, n);
		CHECK_STR_IDX(h_row_str(found, "motivation"),
			      "Être présente là où les jeunes se parlent.", n);
	}
	CHECK_OK(h_sync(W.home, &W.d));
	CHECK(h_daemon_healthy(&W.d));
}

/* Mail that is no form: a known structure's question becomes a demande in
 * `relais suivi`, answered without any form; an unknown sender's question,
 * a scam and an out-of-office reply without Auto-Submitted get no answer. */
TEST(e2e_mail_questions_demandes_and_silence)
{
	static const char question[] =
		"Bonjour,\n\nPeut-on inscrire deux animateurs à la formation de mars ?\n\n"
		"Cordialement,\nJeanne Roux\nDirectrice\nTél : 04 71 00 00 00\n"
		"Mail : contact@lac.example\n";
	CHECK_OK(world(1, NULL));
	CHECK_OK(ms_add_user(&W.ms, "contact"));
	CHECK_OK(ms_add_user(&W.ms, "inconnu"));
	CHECK(h_relais_ok(W.home, "structure", "add", "--nom", "Centre social du Lac", "--commune",
			  "Le Puy-en-Velay", "--email", "contact@plateau.example", (char *)NULL) != NULL);
	CHECK_OK(h_sync(W.home, &W.d));
	const char *msgs[] = {
		message("Jeanne Roux <contact@plateau.example>", "q-known@plateau.example",
			"Formation de mars", NULL, question),
		message("Paul <inconnu@plateau.example>", "q-unknown@plateau.example",
			"Une question", NULL, question),
		message("Dr Smith <inconnu@plateau.example>", "q-scam@plateau.example",
			"Transfert de fonds urgent", NULL,
			"Cher bénéficiaire, un héritage de 5 millions de dollars vous attend. "
			"Répondez avec vos coordonnées bancaires.\n"),
		message("Jeanne Roux <contact@plateau.example>", "q-ooo@plateau.example",
			"Absente jusqu'au 3 mars", NULL,
			"Je suis absente jusqu'au 3 mars inclus.\nTél : 04 71 00 00 00\n"),
	};
	for (size_t i = 0; i < 4; i++)
		CHECK_OK(ms_put(&W.ms, msgs[i], strlen(msgs[i])));
	CHECK_OK(wait_settled(4, SETTLE_MS));
	CHECK_OK(wait_answers("contact", 1, SETTLE_MS));
	pause_ms(QUIET_MS);

	json_t *exp = synced_export();
	CHECK(exp != NULL);
	json_t *j = one_outcome(exp, "q-known@plateau.example");
	CHECK(j != NULL);
	CHECK_STR(h_row_str(j, "resultat"), "enregistre");
	CHECK_STR(h_row_str(j, "type"), "inconnu");
	CHECK_INT(h_export_count(exp, "request"), 1);
	CHECK_INT(h_export_count(exp, "candidature"), 0);
	json_t *req = json_array_get(json_object_get(exp, "request"), 0);
	CHECK_STR(h_row_str(req, "statut"), "ouverte");
	CHECK(strstr(h_row_str(req, "question"), "formation de mars") != NULL);
	for (size_t i = 1; i < 3; i++) {
		json_t *q = one_outcome(exp, i == 1 ? "q-unknown@plateau.example" : "q-scam@plateau.example");
		CHECK_IDX(q != NULL, (int)i);
		CHECK_STR_IDX(h_row_str(q, "resultat"), "quarantaine", (int)i);
		CHECK_STR_IDX(h_row_str(q, "reponse"), "aucune", (int)i);
		CHECK_STR_IDX(h_row_str(q, "traitement"), "a_traiter", (int)i);
	}
	json_t *o = one_outcome(exp, "q-ooo@plateau.example");
	CHECK(o != NULL);
	CHECK_STR(h_row_str(o, "resultat"), "ignore");

	/* One answer in all: to the known structure, with no form in it. */
	const char **m;
	CHECK_INT(answers("contact", &m), 1);
	CHECK_STR(hdr(m[0], "In-Reply-To"), "<q-known@plateau.example>");
	const char *body = body_text(m[0]);
	CHECK(strstr(body, "Demande de la structure « Centre social du Lac »") != NULL);
	CHECK(strstr(body, "FORMULAIRE") == NULL);
	CHECK_INT(ms_user_count(&W.ms, "inconnu", "INBOX"), 0);

	/* The coordinator sees the demande in relais suivi. */
	const char *js = h_relais_ok(W.home, "suivi", "--json", (char *)NULL);
	CHECK(js != NULL);
	json_t *s = h_json(js, strlen(js));
	json_t *d = json_object_get(s, "demandes");
	CHECK_INT(json_array_size(d), 1);
	CHECK(strstr(h_row_str(json_array_get(d, 0), "libelle"), "Formation de mars") != NULL);
	CHECK_INT(json_array_size(json_object_get(s, "courriers")), 2);
}

/* ---- documents ---- */

/* The attachment of a candidature, kept by the server as a document of its
 * journal row: attached to the structure on replica A, opened on replica B
 * (fetched once, checked by its SHA-256), opened again with the server
 * stopped, and refused to a replica of another département. */
TEST(e2e_mail_documents_attached_and_opened_elsewhere)
{
	CHECK_OK(world(1, NULL));
	CHECK_OK(ms_add_user(&W.ms, "lea"));
	struct cand c = { "MJC du Plateau", "Yssingeaux", "Léa", "Martin", "lea@plateau.example",
			  "06 12 34 56 78", "lea.pdn" };
	const char *form = candidature_form(&c);
	CHECK(form != NULL);
	/* A small PDF-like file with every byte value, so that nothing
	 * survives by luck of being text. */
	unsigned char bytes[600];
	for (size_t i = 0; i < sizeof(bytes); i++)
		bytes[i] = (unsigned char)(i * 7 + 3);
	memcpy(bytes, "%PDF-1.4\n", 9);
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *enc = h_strf("%*s", (int)(4 * sizeof(bytes) / 3 + 8 + sizeof(bytes) / 57 + 2), "");
	size_t o = 0;
	for (size_t i = 0; i < sizeof(bytes); i += 3) {
		unsigned v = (unsigned)bytes[i] << 16 | (i + 1 < sizeof(bytes) ? (unsigned)bytes[i + 1] << 8 : 0) |
			     (i + 2 < sizeof(bytes) ? bytes[i + 2] : 0);
		enc[o++] = b64[v >> 18 & 63];
		enc[o++] = b64[v >> 12 & 63];
		enc[o++] = i + 1 < sizeof(bytes) ? b64[v >> 6 & 63] : '=';
		enc[o++] = i + 2 < sizeof(bytes) ? b64[v & 63] : '=';
		if ((i / 3 + 1) % 19 == 0)
			enc[o++] = '\n';
	}
	enc[o] = 0;
	const char *msg = crlf(h_strf(
		"From: Léa Martin <lea@plateau.example>\n"
		"To: Promeneurs du Net <" MS_ADDRESS ">\n"
		"Subject: Candidature Promeneurs du Net\n"
		"Date: %s\n"
		"Message-ID: <doc-1@localhost>\n"
		"MIME-Version: 1.0\n"
		"Content-Type: multipart/mixed; boundary=\"frontiere\"\n"
		"\n"
		"--frontiere\n"
		"Content-Type: text/plain; charset=utf-8\n"
		"Content-Transfer-Encoding: 8bit\n"
		"\n"
		"%s\n"
		"--frontiere\n"
		"Content-Type: application/pdf; name=\"charte signée.pdf\"\n"
		"Content-Disposition: attachment; filename*=utf-8''charte%%20sign%%C3%%A9e.pdf\n"
		"Content-Transfer-Encoding: base64\n"
		"\n"
		"%s\n"
		"--frontiere--\n", rfc5322_date(), form, enc));
	CHECK_OK(ms_send(&W.ms, MS_ADDRESS, msg, strlen(msg)));
	CHECK_OK(wait_settled(1, SETTLE_MS));

	/* Replica A sees the document and attaches it to the structure. */
	json_t *exp = synced_export();
	CHECK(exp != NULL);
	CHECK_INT(h_export_count(exp, "document"), 1);
	json_t *d = json_array_get(json_object_get(exp, "document"), 0);
	const char *did = h_row_str(d, "id"), *sid = only_id(exp, "structure", "nom", "MJC du Plateau");
	CHECK(did && sid);
	CHECK_STR(h_row_str(d, "nom"), "charte signée.pdf");
	CHECK_INT(json_integer_value(json_object_get(d, "taille")), (long long)sizeof(bytes));
	/* In the interface: listed with its message, attached to a fiche. */
	struct h_uip ua;
	struct h_http mp, at;
	const char *mail = h_row_str(d, "courrier");
	CHECK(mail != NULL);
	CHECK_OK(h_uip_open(W.home, &ua));
	CHECK_OK(h_uip_get(&ua, h_strf("/courrier/%s", mail), &mp));
	CHECK_OK(h_uip_post(&ua, h_strf("/documents/%s/rattacher", did),
			    h_strf("rattache_table=structure&rattache_id=%s", sid), &at));
	CHECK_OK(h_uip_close(&ua));
	CHECK_INT(mp.status, 200);
	CHECK(strstr(mp.body, "Pièces jointes") && strstr(mp.body, "charte signée.pdf"));
	CHECK_INT(at.status, 303);
	/* The command line says the same of a fiche that does not exist. */
	struct h_out *o0 = h_relais(W.home, "document", "set", did, "--rattache-table", "promeneur",
				    "--rattache-id", "00000000-0000-4000-8000-000000000000", (char *)NULL);
	CHECK_INT(o0->status, 1);
	CHECK(strstr(o0->err, "introuvable") != NULL);
	/* Creating or deleting a document is the server's, at every door. */
	struct h_out *o1 = h_relais(W.home, "document", "rm", did, (char *)NULL);
	CHECK_INT(o1->status, 1);
	CHECK(strstr(o1->err, "tenu par le serveur") != NULL);
	CHECK_OK(h_sync(W.home, &W.d));

	/* Replica B, same département: attached, opened, the same bytes. */
	char tb[H_TOKEN];
	CHECK_OK(h_daemon_user(&W.d, "coord-b", DEPT, "coordinateur", tb));
	const char *b = h_replica(&W.d, "coord-b", tb);
	CHECK(b != NULL);
	json_t *eb = h_export(b);
	CHECK_STR(h_row_str(h_export_row(eb, "document", did), "rattache_id"), sid);
	const char *f1 = h_path("ouvert.pdf"), *f2 = h_path("hors-ligne.pdf");
	CHECK(h_relais_ok(b, "document", "ouvrir", did, "--sortie", f1, (char *)NULL) != NULL);
	size_t n = 0;
	const char *got = h_read_file(f1, &n);
	CHECK(got != NULL);
	CHECK_INT(n, sizeof(bytes));
	CHECK(memcmp(got, bytes, sizeof(bytes)) == 0);
	/* Offline afterwards. */
	CHECK_INT(h_daemon_stop(&W.d), 0);
	const char *off = h_relais_ok(b, "document", "ouvrir", did, "--sortie", f2, (char *)NULL);
	CHECK(off && strstr(off, "copie du réplica"));
	got = h_read_file(f2, &n);
	CHECK(got && n == sizeof(bytes) && !memcmp(got, bytes, sizeof(bytes)));
	/* And in relais ui: listed on the structure's page, downloaded as a
	 * file whatever its type. */
	struct h_uip u;
	struct h_http page, file;
	CHECK_OK(h_uip_open(b, &u));
	CHECK_OK(h_uip_get(&u, h_strf("/structures/%s", sid), &page));
	CHECK_OK(h_uip_get(&u, h_strf("/documents/%s", did), &file));
	CHECK_OK(h_uip_close(&u));
	CHECK_INT(page.status, 200);
	CHECK(strstr(page.body, "charte signée.pdf") && strstr(page.body, h_strf("/documents/%s", did)));
	CHECK_INT(file.status, 200);
	CHECK_INT(file.bodylen, sizeof(bytes));
	CHECK(!memcmp(file.body, bytes, sizeof(bytes)));
	const char *disp = h_http_header(&file, "Content-Disposition");
	CHECK(disp && strstr(disp, "attachment"));
	CHECK_STR(h_http_header(&file, "Content-Type"), "application/octet-stream");
	CHECK_OK(h_daemon_serve(&W.d));

	/* Another département: the same answer as for a document that does
	 * not exist. */
	char tc[H_TOKEN];
	CHECK_OK(h_daemon_user(&W.d, "coord-c", "15", "coordinateur", tc));
	const char *sha = h_row_str(d, "empreinte");
	CHECK(sha != NULL);
	struct h_http r1, r2;
	CHECK_OK(h_http(W.d.port, "GET", h_strf("/v1/document/%s", sha), tc, SCHEMA_HEADER,
			NULL, 0, &r1));
	CHECK_OK(h_http(W.d.port, "GET", h_strf("/v1/document/%064d", 0), tc, SCHEMA_HEADER,
			NULL, 0, &r2));
	CHECK_INT(r1.status, 404);
	CHECK_INT(r2.status, 404);
	CHECK_STR(r1.body, r2.body);
	CHECK_OK(h_http(W.d.port, "GET", h_strf("/v1/document/%s", sha), W.token,
			SCHEMA_HEADER, NULL, 0, &r1));
	CHECK_INT(r1.status, 200);
	CHECK_INT(r1.bodylen, sizeof(bytes));
}
