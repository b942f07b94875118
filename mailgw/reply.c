/*
 * reply.c - whether to answer a sender, and the answer itself.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include "../common/util.h"
#include "automatic.h"
#include "compose.h"
#include "reply.h"

void mailgw_result_free(struct mailgw_result *r)
{
	size_t i;

	if (!r)
		return;
	for (i = 0; r->records && i < r->nrecords; i++)
		free(r->records[i]);
	free(r->records);
	for (i = 0; r->problems && i < r->nproblems; i++)
		free(r->problems[i]);
	free(r->problems);
	memset(r, 0, sizeof(*r));
}

/* ---- Deciding ---------------------------------------------------------- */

static void set_why(char *why, size_t whylen, const char *text)
{
	if (why && whylen)
		snprintf(why, whylen, "%s", text);
}

static int is_atext(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+/=?^_`{|}~-", c));
}

/* 1 when s[0..n) is a dot-atom: atext runs joined by single dots. */
static int is_dot_atom(const char *s, size_t n)
{
	if (n == 0 || s[0] == '.' || s[n - 1] == '.')
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '.' ? s[i + 1] == '.' : !is_atext((unsigned char)s[i]))
			return 0;
	}
	return 1;
}

/* 1 when s[0..n) is a host name: labels of letters, digits and hyphens. */
static int is_host_name(const char *s, size_t n)
{
	size_t label = 0;
	if (n == 0 || n > 253)
		return 0;
	for (size_t i = 0; i <= n; i++) {
		char c = i < n ? s[i] : '.';
		if (c == '.') {
			if (label == 0 || label > 63 || s[i - 1] == '-' || s[i - label] == '-')
				return 0;
			label = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			   (c >= '0' && c <= '9') || c == '-') {
			label++;
		} else {
			return 0;
		}
	}
	return 1;
}

int mailgw_reply_address_ok(const char *addr, char *why, size_t whylen)
{
	if (!addr || !*addr) {
		set_why(why, whylen, "Pas d'adresse d'expéditeur (From) : aucune réponse possible.");
		return 0;
	}
	if (!compose_is_ascii(addr)) {
		set_why(why, whylen, "L'adresse de l'expéditeur contient des caractères accentués "
				     "ou non latins, que le serveur d'envoi ne sait pas transmettre "
				     "(SMTPUTF8) : pas de réponse.");
		return 0;
	}
	const char *at = strchr(addr, '@');
	size_t n = strlen(addr);
	if (!at || strchr(at + 1, '@') || n > 254 || (size_t)(at - addr) > 64 ||
	    !is_dot_atom(addr, (size_t)(at - addr)) ||
	    !is_host_name(at + 1, n - (size_t)(at - addr) - 1)) {
		set_why(why, whylen, "L'adresse de l'expéditeur (From) n'est pas une adresse "
				     "valide : pas de réponse.");
		return 0;
	}
	set_why(why, whylen, "");
	return 1;
}

int mailgw_reply_allowed(const struct mailgw_mime_msg *m, char *why, size_t whylen)
{
	if (m && m->from_addr && (m->warnings & MAILGW_MIME_W_FROM_UNSURE)) {
		set_why(why, whylen, "L'adresse de l'expéditeur (From) ne se lit pas sans ambiguïté "
				     "(plusieurs adresses sans virgule ?) : pas de réponse.");
		return 0;
	}
	if (!m || !mailgw_reply_address_ok(m->from_addr, why, whylen))
		return 0;
	const char *reason = mailgw_automatic_reason(m);
	if (reason) {
		/* "Réponse d'absence : pas de réponse." */
		if (why && whylen) {
			snprintf(why, whylen, "%s : pas de réponse.", reason);
			if (why[0] >= 'a' && why[0] <= 'z')
				why[0] = (char)(why[0] - 'a' + 'A');
		}
		return 0;
	}
	set_why(why, whylen, "");
	return 1;
}

int mailgw_reply_rate_ok(int64_t last_rejection_ms, int64_t now_ms)
{
	if (last_rejection_ms <= 0)
		return 1;
	if (now_ms < last_rejection_ms)
		return 0;
	return now_ms - last_rejection_ms >= MAILGW_REPLY_RATE_MS;
}

/* ---- Headers ----------------------------------------------------------- */


/* Keeps only the characters of a message id or domain that need no quoting. */
static void id_clean(const char *s, char *out, size_t outlen)
{
	size_t o = 0;

	for (; *s && o + 1 < outlen; s++) {
		unsigned char c = (unsigned char)*s;
		if (c > 0x20 && c < 0x7f && c != '<' && c != '>' && c != '"' && c != '\\' &&
		    c != '(' && c != ')' && c != ',' && c != ';')
			out[o++] = (char)c;
	}
	out[o] = '\0';
}

/* Appends " <id>" to a header being built, folding before it when needed. */
static int put_msgid(struct buf *out, size_t *col, const char *id)
{
	size_t n = strlen(id) + 2;

	if (*col + 1 + n > COMPOSE_LINE_MAX && *col > 12) {
		buf_printf(out, "\r\n <%s>", id);
		*col = 1 + n;
	} else {
		buf_printf(out, " <%s>", id);
		*col += 1 + n;
	}
	return buf_error(out);
}

/* In-Reply-To and References: the original's references (the first and the
 * last ones when too many) followed by its Message-ID. */
static int put_thread_headers(struct buf *out, const struct mailgw_mime_msg *orig)
{
	char id[256], *refs = NULL;
	const char *ids[MAILGW_REPLY_MAX_REFS];
	size_t nids = 0, i, col;
	char *p;

	if (!orig->message_id)
		return 0;
	id_clean(orig->message_id, id, sizeof(id));
	if (!*id)
		return 0;
	buf_puts(out, "In-Reply-To:");
	col = 12;
	put_msgid(out, &col, id);
	buf_puts(out, "\r\n");

	if (orig->references) {
		refs = strdup(orig->references);
		if (!refs)
			return RELAIS_ENOMEM;
		/* Keep the first reference and a sliding window of the last ones. */
		p = refs;
		while (*p) {
			char *e;
			p += strspn(p, " \t\r\n");
			e = p + strcspn(p, " \t\r\n");
			if (*e)
				*e++ = '\0';
			id_clean(p, p, strlen(p) + 1);
			if (*p && strcmp(p, id)) {
				if (nids < MAILGW_REPLY_MAX_REFS - 1) {
					ids[nids++] = p;
				} else {
					memmove(ids + 1, ids + 2, (nids - 2) * sizeof(ids[0]));
					ids[nids - 1] = p;
				}
			}
			p = e;
		}
	}
	buf_puts(out, "References:");
	col = 11;
	for (i = 0; i < nids; i++)
		put_msgid(out, &col, ids[i]);
	put_msgid(out, &col, id);
	buf_puts(out, "\r\n");
	free(refs);
	return buf_error(out);
}

static int message_id(struct buf *out, const char *domain, int64_t now_ms)
{
	char tag[24];
	snprintf(tag, sizeof(tag), "%lld", (long long)now_ms);
	return compose_message_id(out, tag, domain);
}

/* ---- Body -------------------------------------------------------------- */

/* The quoted-printable form of byte c at column col into tok; its length.
 * Trailing white space would be eaten by transports, and a '.' opening a
 * line is an SMTP dot line: both are encoded. */
static size_t qp_token(unsigned char c, int eol, size_t col, char tok[3])
{
	static const char hexd[] = "0123456789ABCDEF";

	if (((c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !eol)) &&
	    !(c == '.' && col == 0)) {
		tok[0] = (char)c;
		return 1;
	}
	tok[0] = '=';
	tok[1] = hexd[c >> 4];
	tok[2] = hexd[c & 15];
	return 3;
}

/*
 * Appends text (UTF-8, lines ended by LF, CRLF or CR) as quoted-printable
 * with CRLF line ends and encoded lines of at most 76 characters.
 */
static int put_qp(struct buf *out, const char *text)
{
	const unsigned char *p = (const unsigned char *)text;
	size_t col = 0;

	while (*p && !buf_error(out)) {
		char tok[3];
		size_t tlen;
		int eol;

		if (*p == '\r' || *p == '\n') {
			if (*p == '\r' && p[1] == '\n')
				p++;
			p++;
			buf_puts(out, "\r\n");
			col = 0;
			continue;
		}
		eol = p[1] == '\0' || p[1] == '\r' || p[1] == '\n';
		tlen = qp_token(*p, eol, col, tok);
		/* 75 leaves room for the '=' of a soft line break. */
		if (col + tlen > 75) {
			buf_puts(out, "=\r\n");
			col = 0;
			tlen = qp_token(*p, eol, col, tok);
		}
		buf_append(out, tok, tlen);
		col += tlen;
		p++;
	}
	if (col > 0)
		buf_puts(out, "\r\n");
	return buf_error(out);
}

/* What a sender can send instead of a message the gateway could not read. */
static const char send_instead_note[] =
	"Pour qu'un formulaire soit lu automatiquement, envoyez-le :\n"
	"- dans le texte du message (« Libellé : valeur », une ligne par champ) ;\n"
	"- ou en pièce jointe : bilan en .xlsx, .ods ou .csv (une ligne d'en-têtes, "
	"une ligne par structure), candidature en .docx ou .odt ; les anciens formats "
	".xls et .doc ne sont pas lus ;\n"
	"- pour un bilan, avec le nom complet de la structure tel que le réseau le connaît.\n";

static const char tnef_note[] =
	"Votre message a été envoyé par Outlook au format « texte enrichi » "
	"(il arrive chez nous sous la forme d'une pièce jointe nommée winmail.dat). "
	"Ce format cache le contenu du message à tous les logiciels autres "
	"qu'Outlook : nous ne pouvons donc pas lire votre formulaire.\n\n"
	"Pour nous le renvoyer en texte brut :\n"
	"- dans la fenêtre du message, onglet « Format du texte », choisissez "
	"« Texte brut », puis collez le formulaire et envoyez ;\n"
	"- ou, pour tous vos messages : Fichier > Options > Courrier > "
	"« Composer des messages au format » : « Texte brut ».\n"
	"Si le destinataire est enregistré dans vos contacts, vérifiez aussi que "
	"ses propriétés n'imposent pas le « format RTF Outlook ».\n";

static int put_lines(struct buf *b, char *const *lines, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (lines[i])
			buf_printf(b, "- %s\n", lines[i]);
	return buf_error(b);
}

/* Writes the French text of the answer (LF line ends) into body. */
static int body_text(const struct mailgw_mime_msg *orig, const struct mailgw_result *r,
		     const char *name, struct buf *body)
{
	int rc = 0;

	buf_puts(body, "Bonjour,\n\n");
	switch (r->outcome) {
	case MAILGW_RECORDED:
		if (r->nrecords > 0) {
			buf_puts(body, "Votre message a bien été reçu et enregistré. "
				       "Voici ce qui a été enregistré :\n\n");
			put_lines(body, r->records, r->nrecords);
		} else {
			buf_puts(body, "Votre message a bien été reçu et enregistré.\n");
		}
		buf_puts(body, "\nMerci pour votre envoi.\n");
		break;
	case MAILGW_REJECTED:
		buf_printf(body, "Votre formulaire (%s) n'a pas pu être enregistré, "
				 "pour les raisons suivantes :\n\n", form_kind_name(r->kind));
		put_lines(body, r->problems, r->nproblems);
		if (r->kind == FORM_CANDIDATURE || r->kind == FORM_BILAN) {
			buf_puts(body, "\nMerci de corriger ces points et de nous renvoyer "
				       "le formulaire complet. Le voici vierge, à copier "
				       "dans votre réponse et à remplir :\n\n");
			rc = form_blank(r->kind, body);
		} else {
			buf_puts(body, "\nMerci de corriger ces points et de nous renvoyer "
				       "votre message.\n");
		}
		break;
	case MAILGW_QUARANTINE:
		buf_puts(body, "Votre message a bien été reçu, mais il n'a pas pu être "
			       "lu automatiquement. Une coordinatrice ou un coordinateur "
			       "du réseau va l'examiner et reviendra vers vous si "
			       "nécessaire.\n");
		if (r->reason[0])
			buf_printf(body, "\nMotif : %.*s\n", (int)sizeof(r->reason), r->reason);
		if (orig->tnef)
			buf_printf(body, "\n%s", tnef_note);
		else
			buf_printf(body, "\n%s", send_instead_note);
		break;
	case MAILGW_IGNORED:
	case MAILGW_DUPLICATE:
		return RELAIS_EINVAL;
	}
	if (rc)
		return rc;
	if (name && *name)
		buf_printf(body, "\n-- \nMessage automatique de %s : merci de ne pas "
				 "répondre à ce message sauf pour renvoyer un formulaire.\n", name);
	else
		buf_puts(body, "\n-- \nMessage automatique : merci de ne pas répondre à ce "
			       "message sauf pour renvoyer un formulaire.\n");
	return buf_error(body);
}

/* ---- The message ------------------------------------------------------- */

int mailgw_reply_build(const struct mailgw_mime_msg *orig, const struct mailgw_result *r,
		       const char *network_addr, const char *network_name, int64_t now_ms,
		       struct buf *out)
{
	struct buf body = BUF_INIT(MAILGW_REPLY_MAX_BODY);
	char domain[256], *subject = NULL, *name = NULL;
	const char *at, *s;
	int rc = 0;

	if (!orig || !r || !network_addr || !out)
		return RELAIS_EINVAL;
	if (r->outcome != MAILGW_RECORDED && r->outcome != MAILGW_REJECTED &&
	    r->outcome != MAILGW_QUARANTINE)
		return RELAIS_EINVAL;
	/* An address that cannot be answered as it is is never "repaired". */
	if (!mailgw_reply_address_ok(orig->from_addr, NULL, 0) ||
	    (orig->warnings & MAILGW_MIME_W_FROM_UNSURE))
		return RELAIS_EINVAL;
	at = strrchr(network_addr, '@');
	if (!at)
		return RELAIS_EINVAL;
	id_clean(at + 1, domain, sizeof(domain));
	if (!*domain)
		return RELAIS_EINVAL;

	name = compose_clean(network_name ? network_name : "", 200);
	s = orig->subject ? orig->subject : "";
	while (*s == ' ' || *s == '\t')
		s++;
	/* One "Re:" only, however deep the thread. */
	if (!strncasecmp(s, "re:", 3))
		s += 3;
	subject = compose_clean(s, MAILGW_REPLY_MAX_SUBJECT);
	if (!name || !subject) {
		rc = RELAIS_ENOMEM;
		goto out;
	}
	if ((rc = body_text(orig, r, name, &body)))
		goto out;

	if ((rc = compose_address_header(out, "From", name, network_addr)) ||
	    (rc = compose_address_header(out, "To", orig->from_name, orig->from_addr)))
		goto out;
	{
		struct buf subj = BUF_INIT(MAILGW_REPLY_MAX_SUBJECT + 16);
		rc = buf_printf(&subj, "Re: %s", *subject ? subject : "votre message");
		if (!rc)
			rc = compose_text_header(out, "Subject", buf_str(&subj));
		buf_release(&subj);
		if (rc)
			goto out;
	}
	if ((rc = compose_date(out, now_ms, 0)) || (rc = message_id(out, domain, now_ms)) ||
	    (rc = put_thread_headers(out, orig)))
		goto out;
	buf_puts(out, "Auto-Submitted: auto-replied\r\n"
		      /* Exchange's own loop guard: no out-of-office back. */
		      "X-Auto-Response-Suppress: All\r\n"
		      "MIME-Version: 1.0\r\n"
		      "Content-Type: text/plain; charset=UTF-8\r\n"
		      "Content-Transfer-Encoding: quoted-printable\r\n"
		      "\r\n");
	rc = put_qp(out, buf_str(&body));
out:
	buf_release(&body);
	free(subject);
	free(name);
	return rc;
}
