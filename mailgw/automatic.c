/*
 * automatic.c - the one list of automatic mail (see automatic.h).
 */
#include <string.h>
#include "automatic.h"

/*
 * Folds s to lower-case ASCII into out (cap outlen, NUL-terminated): Latin
 * letters with accents lose them, other non-ASCII characters become '?'.
 * Enough to compare subjects and local parts with fixed French and English
 * phrases whatever the sender's software did with case and accents.
 */
static void fold_ascii(const char *s, char *out, size_t outlen)
{
	/* Base letters of U+00C0..U+00FF (0: not a letter). */
	static const char latin1[65] = "aaaaaaaceeeeiiiidnooooo\0ouuuuyts"
				       "aaaaaaaceeeeiiiidnooooo\0ouuuuyty";
	const unsigned char *p = (const unsigned char *)s;
	size_t o = 0;

	while (*p && o + 1 < outlen) {
		char c = '?';
		if (*p < 0x80) {
			c = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
			p++;
		} else if (*p == 0xc3 && p[1] >= 0x80 && p[1] <= 0xbf) {
			char b = latin1[p[1] - 0x80];
			c = b ? b : '?';
			p += 2;
		} else if (*p == 0xc5 && (p[1] == 0x92 || p[1] == 0x93)) {
			c = 'o'; /* œ: only the first letter, good enough to compare */
			p += 2;
		} else if (*p == 0xe2 && p[1] == 0x80 && (p[2] == 0x98 || p[2] == 0x99)) {
			c = '\''; /* typographic apostrophes */
			p += 3;
		} else {
			p++;
			while ((*p & 0xc0) == 0x80)
				p++;
		}
		out[o++] = c;
	}
	out[o] = '\0';
}

static int is_alnum_ascii(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* Returns 1 when word occurs in s (both folded) not inside a longer word. */
static int has_word(const char *s, const char *word)
{
	size_t n = strlen(word);
	const char *p = s;

	while ((p = strstr(p, word)) != NULL) {
		int before = p == s || !is_alnum_ascii(p[-1]);
		int after = !is_alnum_ascii(p[n]);
		if (before && after)
			return 1;
		p++;
	}
	return 0;
}

static int is_out_of_office(const char *subject)
{
	/* Phrases that automatic answers put anywhere in their subject. */
	static const char *const phrases[] = {
		"absence du bureau", "message d'absence", "avis d'absence",
		"reponse automatique", "reponse auto", "message automatique",
		"automatic reply", "auto reply", "auto-reply", "autoreply",
		"auto response", "auto-response", "autoresponse", "autoresponder",
		"out of office", "out of the office", "out-of-office",
		"je suis absent", "je suis absente", "actuellement absent",
		"actuellement absente", "vacation reply", "away from the office",
	};
	/* Words that mark an automatic answer only at the start of the subject. */
	static const char *const starts[] = { "auto:", "absent", "absente", "absence" };
	char f[512];
	const char *s;
	size_t i;

	fold_ascii(subject, f, sizeof(f));
	for (i = 0; i < sizeof(phrases) / sizeof(phrases[0]); i++)
		if (has_word(f, phrases[i]))
			return 1;
	s = f;
	while (*s == ' ' || *s == '\t' || *s == '[' || *s == '(')
		s++;
	for (i = 0; i < sizeof(starts) / sizeof(starts[0]); i++) {
		size_t n = strlen(starts[i]);
		if (!strncmp(s, starts[i], n) &&
		    (starts[i][n - 1] == ':' || !is_alnum_ascii(s[n])))
			return 1;
	}
	return 0;
}

/* Returns 1 for the local parts of robots that must never be answered. */
static int is_robot_sender(const char *addr)
{
	static const char *const robots[] = {
		"mailer-daemon", "mailerdaemon", "postmaster", "no-reply", "noreply",
		"no_reply", "ne-pas-repondre", "nepasrepondre", "ne_pas_repondre",
		"ne.pas.repondre", "do-not-reply", "donotreply", "do_not_reply",
	};
	char f[256];
	char *at, *plus;
	size_t i;

	fold_ascii(addr, f, sizeof(f));
	at = strrchr(f, '@');
	if (at)
		*at = '\0';
	/* Sub-addresses ("noreply+bounces") belong to the same robot. */
	plus = strchr(f, '+');
	if (plus)
		*plus = '\0';
	for (i = 0; i < sizeof(robots) / sizeof(robots[0]); i++)
		if (!strcmp(f, robots[i]))
			return 1;
	return 0;
}

/* Precedence values of mailings. */
static int is_bulk_precedence(const char *p)
{
	return p && (!strcmp(p, "bulk") || !strcmp(p, "list") || !strcmp(p, "junk"));
}

const char *mailgw_automatic_reason(const struct mailgw_mime_msg *m)
{
	if (m->auto_submitted && *m->auto_submitted && strcmp(m->auto_submitted, "no"))
		return "message automatique (Auto-Submitted)";
	if (is_bulk_precedence(m->precedence))
		return "envoi en nombre ou liste de diffusion (Precedence)";
	if (m->x_autoreply)
		return "réponse automatique (X-Autoreply)";
	if (m->list_mail)
		return "envoi en nombre ou liste de diffusion (List-Unsubscribe ou List-Id)";
	if (m->delivery_report)
		return "rapport de remise (multipart/report)";
	if (m->return_path_empty)
		return "message de non-remise (Return-Path vide)";
	if (m->from_addr && is_robot_sender(m->from_addr))
		return "expéditeur automatique (mailer-daemon, postmaster ou no-reply)";
	if (m->subject && is_out_of_office(m->subject))
		return "réponse automatique d'absence";
	return NULL;
}
