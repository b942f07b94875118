/*
 * pipeline.c - classify one parsed message, read its form and record it.
 *
 * Every write of one message happens in a single sync_local transaction: a
 * candidature's structure, promeneur, presences and candidature appear
 * together or not at all, and a failure leaves the message to be tried again.
 * Look-ups run inside that IMMEDIATE transaction so that two messages of the
 * same structure cannot both create it.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "../common/buf.h"
#include "../common/util.h"
#include "../model/domain.h"
#include "../model/form.h"
#include "../model/model.h"
#include "automatic.h"
#include "office.h"
#include "pipeline.h"

/* One French line of the result: names are capped by the model, the
 * cap is only a guard. */
#define LINE_MAX_BYTES (4 * 1024)
/* Enough for the longest table of the model plus the generated columns. */
#define MAX_COLS 40
#define SQL_MAX (16 * 1024)

struct colval {
	const char *col;
	const char *val;
};

struct row {
	struct colval cv[MAX_COLS];
	size_t n;
};

/* ---- results ---- */

static int add_line(char ***items, size_t *n, const char *fmt, ...) RELAIS_PRINTF(3, 4);

static int add_line(char ***items, size_t *n, const char *fmt, ...)
{
	struct buf b = BUF_INIT(LINE_MAX_BYTES);
	va_list ap;
	char **grown;
	int rc;

	va_start(ap, fmt);
	rc = buf_vprintf(&b, fmt, ap);
	va_end(ap);
	if (rc)
		goto out;
	grown = realloc(*items, (*n + 1) * sizeof(*grown));
	if (!grown) {
		rc = RELAIS_ENOMEM;
		goto out;
	}
	*items = grown;
	grown[*n] = (char *)buf_detach(&b, NULL);
	if (!grown[*n]) {
		rc = RELAIS_ENOMEM;
		goto out;
	}
	(*n)++;
out:
	buf_release(&b);
	return rc;
}

/* Copies src into dst (dstlen bytes), cut on a UTF-8 character boundary. */
static void copy_utf8(char *dst, size_t dstlen, const char *src)
{
	size_t n = strlen(src);
	if (n >= dstlen) {
		n = dstlen - 1;
		while (n && ((unsigned char)src[n] & 0xc0) == 0x80)
			n--;
	}
	memcpy(dst, src, n);
	dst[n] = 0;
}

static void free_lines(char ***items, size_t *n)
{
	for (size_t i = 0; i < *n; i++)
		free((*items)[i]);
	free(*items);
	*items = NULL;
	*n = 0;
}

static void set_reason(struct mailgw_result *r, enum mailgw_outcome o, const char *why)
{
	r->outcome = o;
	snprintf(r->reason, sizeof(r->reason), "%s", why);
}

/* ---- folding names ---- */

/* A malloc'd model_fold() of s (case, accents and punctuation forgiven), or NULL. */
static char *fold(const char *s)
{
	size_t n = model_fold(s, NULL, 0) + 1;
	char *out = malloc(n);
	if (out)
		model_fold(s, out, n);
	return out;
}

/* 1 when a and b fold to the same text, 0 when not, RELAIS_ENOMEM. */
static int same_name(const char *a, const char *b)
{
	char *fa = fold(a), *fb = fold(b);
	int rc = (!fa || !fb) ? RELAIS_ENOMEM : !strcmp(fa, fb);
	free(fa);
	free(fb);
	return rc;
}

/* ---- rows ---- */

static int table_has_col(const struct sync_tables *t, const char *table, const char *col)
{
	int ti = sync_tables_find(t, table);
	if (ti < 0)
		return 0;
	for (int j = 0; j < sync_tables_ncols(t, (size_t)ti); j++)
		if (!strcmp(sync_tables_col(t, (size_t)ti, j), col))
			return 1;
	return 0;
}

static void row_set(struct row *rw, const char *col, const char *val)
{
	if (!val || !*val)
		return;
	for (size_t i = 0; i < rw->n; i++)
		if (!strcmp(rw->cv[i].col, col)) {
			rw->cv[i].val = val;
			return;
		}
	if (rw->n < MAX_COLS)
		rw->cv[rw->n++] = (struct colval){ col, val };
}

/* Adds every plain form value "prefix.col" as column col. */
static void row_from_form(struct row *rw, const struct form_values *v, const char *prefix)
{
	size_t plen = strlen(prefix);
	for (size_t i = 0; i < v->n; i++)
		if (!v->items[i].row && !strncmp(v->items[i].key, prefix, plen) &&
		    v->items[i].key[plen] == '.')
			row_set(rw, v->items[i].key + plen + 1, v->items[i].value);
}

/*
 * Creates a row of table from rw in dept through the domain layer (its
 * checks and rules, as at every other door), its new id written to id.
 * Form keys that are no column of the table (promeneur.nom_complet) and
 * columns the store does not have are left out; a value the form parser
 * let through but the model refuses ends as RELAIS_EINVAL.
 */
static int insert_row(sqlite3 *db, const struct sync_tables *t, const char *table,
		      const char *dept, const struct row *rw, char id[UTIL_UUID_LEN + 1])
{
	const struct model_table *mt = model_table_by_name(table);
	struct domain_value v[MAX_COLS];
	struct domain_result res;
	char today[DOMAIN_DATE_LEN + 1], err[DOMAIN_MSG_MAX];
	size_t n = 0;
	int rc;

	if (!mt)
		return RELAIS_ESCHEMA;
	for (size_t i = 0; i < rw->n; i++) {
		const struct model_column *c = model_column_by_name(mt, rw->cv[i].col);
		if (!c || !table_has_col(t, table, c->name))
			continue;
		v[n++] = (struct domain_value){ c, rw->cv[i].val && *rw->cv[i].val ? rw->cv[i].val : NULL };
	}
	domain_today(today);
	rc = domain_write(db, mt, NULL, dept, v, n, today, &res, err, sizeof(err));
	if (!rc)
		memcpy(id, res.id, UTIL_UUID_LEN + 1);
	return rc;
}

/* A matched row: its id and up to two text columns, malloc'd. */
struct match {
	int count;
	char id[UTIL_UUID_LEN + 1];
	char *a, *b;
};

static void match_free(struct match *mt)
{
	free(mt->a);
	free(mt->b);
	memset(mt, 0, sizeof(*mt));
}

static char *col_dup(sqlite3_stmt *st, int i)
{
	const unsigned char *s = sqlite3_column_text(st, i);
	return strdup(s ? (const char *)s : "");
}

/* Says whether a row whose text columns are a and b matches: 1, 0, or a
 * negative code. */
typedef int (*keep_fn)(const char *a, const char *b, const void *arg);

/*
 * Runs sql (selecting id, a, b with dept bound to ?1 and key to ?2) and
 * keeps the rows for which keep (NULL: all) says 1; mt->count tells how many
 * did, mt holds the first. The caller frees mt with match_free().
 */

static int find_rows(sqlite3 *db, const char *sql, const char *dept, const char *key,
		     keep_fn keep, const void *arg, struct match *mt)
{
	sqlite3_stmt *st = NULL;
	int rc, src;

	memset(mt, 0, sizeof(*mt));
	rc = relais_sqlite_error(sqlite3_prepare_v2(db, sql, -1, &st, NULL));
	if (rc)
		goto out;
	sqlite3_bind_text(st, 1, dept, -1, SQLITE_STATIC);
	if (key)
		sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(st, 0);
		const char *a = (const char *)sqlite3_column_text(st, 1);
		const char *b = (const char *)sqlite3_column_text(st, 2);
		int k = keep ? keep(a ? a : "", b ? b : "", arg) : 1;
		if (k < 0) {
			rc = k;
			goto out;
		}
		if (!k)
			continue;
		if (!mt->count++) {
			snprintf(mt->id, sizeof(mt->id), "%s", id ? id : "");
			mt->a = col_dup(st, 1);
			mt->b = col_dup(st, 2);
			if (!mt->a || !mt->b) {
				rc = RELAIS_ENOMEM;
				goto out;
			}
		}
	}
	rc = relais_sqlite_error(src);
out:
	sqlite3_finalize(st);
	if (rc)
		match_free(mt);
	return rc;
}

struct two_names {
	const char *a, *b; /* b NULL: only a is compared */
};

static int keep_same_names(const char *a, const char *b, const void *arg)
{
	const struct two_names *n = arg;
	int k = same_name(a, n->a);
	if (k == 1 && n->b)
		k = same_name(b, n->b);
	return k;
}

/* "Prénom Nom" or "Nom Prénom", spacing and accents forgiven. */
static int keep_full_name(const char *prenom, const char *nom, const void *arg)
{
	const char *full = arg;
	struct buf b = BUF_INIT(2 * MODEL_VALUE_MAX);
	int k = buf_printf(&b, "%s %s", prenom, nom);
	if (!k)
		k = same_name(buf_str(&b), full);
	if (k == 0) {
		buf_reset(&b);
		k = buf_printf(&b, "%s %s", nom, prenom);
		if (!k)
			k = same_name(buf_str(&b), full);
	}
	buf_release(&b);
	return k;
}

static void today(int64_t now_ms, char out[11])
{
	time_t s = (time_t)(now_ms / 1000);
	struct tm tm;
	if (!localtime_r(&s, &tm) || !strftime(out, 11, "%Y-%m-%d", &tm))
		snprintf(out, 11, "1970-01-01");
}

/* ---- candidature ---- */

static int record_candidature(sqlite3 *db, const struct sync_tables *t, const char *dept,
			      const struct form_values *v, const char *day,
			      struct mailgw_result *r)
{
	const char *snom = form_value_get(v, "structure.nom", 0);
	const char *scom = form_value_get(v, "structure.commune", 0);
	const char *email = form_value_get(v, "promeneur.email", 0);
	char sid[UTIL_UUID_LEN + 1], pid[UTIL_UUID_LEN + 1], id[UTIL_UUID_LEN + 1];
	struct two_names names = { snom, scom };
	struct match ms = { 0 }, mp = { 0 };
	const char *prenom, *nom;
	int rc, rows;

	rc = find_rows(db, "SELECT id, nom, commune FROM structure WHERE dept = ?1", dept, NULL,
		       keep_same_names, &names, &ms);
	if (rc)
		goto out;
	if (ms.count) {
		snprintf(sid, sizeof(sid), "%s", ms.id);
		rc = add_line(&r->records, &r->nrecords, "Structure « %s » (%s) retrouvée.",
			      ms.a, ms.b);
	} else {
		struct row rw = { .n = 0 };
		row_from_form(&rw, v, "structure");
		rc = insert_row(db, t, "structure", dept, &rw, sid);
		if (!rc)
			rc = add_line(&r->records, &r->nrecords, "Structure « %s » (%s) créée.",
				      snom, scom);
	}
	if (rc)
		goto out;

	rc = find_rows(db, "SELECT id, prenom, nom FROM promeneur "
			   "WHERE dept = ?1 AND lower(email) = lower(?2) ORDER BY id",
		       dept, email, NULL, NULL, &mp);
	if (rc)
		goto out;
	if (mp.count) {
		snprintf(pid, sizeof(pid), "%s", mp.id);
		prenom = mp.a;
		nom = mp.b;
		rc = add_line(&r->records, &r->nrecords, "Promeneur %s %s (%s) retrouvé.", prenom,
			      nom, email);
	} else {
		struct row rw = { .n = 0 };
		row_from_form(&rw, v, "promeneur");
		row_set(&rw, "structure", sid);
		row_set(&rw, "statut", "candidat");
		row_set(&rw, "date_candidature", day);
		prenom = form_value_get(v, "promeneur.prenom", 0);
		nom = form_value_get(v, "promeneur.nom", 0);
		rc = insert_row(db, t, "promeneur", dept, &rw, pid);
		if (!rc)
			rc = add_line(&r->records, &r->nrecords,
				      "Promeneur %s %s (%s) enregistré comme candidat.",
				      prenom ? prenom : "", nom ? nom : "", email);
	}
	if (rc)
		goto out;

	rows = form_values_rows(v);
	for (int i = 1; i <= rows && !rc; i++) {
		const char *reseau = form_value_get(v, "presence.reseau", i);
		const char *profil = form_value_get(v, "presence.nom_profil", i);
		struct match mx = { 0 };
		struct row rw = { .n = 0 };
		if (!reseau || !profil)
			continue;
		/* A returning promeneur may list a profile the network already knows. */
		rc = find_rows(db, "SELECT id, nom_profil, reseau FROM presence "
				   "WHERE dept = ?1 AND promeneur = ?2",
			       dept, pid, keep_same_names, &(struct two_names){ profil, reseau },
			       &mx);
		if (rc)
			break;
		if (mx.count) {
			rc = add_line(&r->records, &r->nrecords,
				      "Présence en ligne %s « %s » déjà connue.", reseau, profil);
			match_free(&mx);
			continue;
		}
		row_set(&rw, "promeneur", pid);
		row_set(&rw, "reseau", reseau);
		row_set(&rw, "nom_profil", profil);
		rc = insert_row(db, t, "presence", dept, &rw, id);
		if (!rc)
			rc = add_line(&r->records, &r->nrecords,
				      "Présence en ligne %s « %s » ajoutée.", reseau, profil);
	}
	if (rc)
		goto out;

	{
		struct row rw = { .n = 0 };
		row_from_form(&rw, v, "candidature");
		row_set(&rw, "structure", sid);
		row_set(&rw, "promeneur", pid);
		row_set(&rw, "decision", "en_attente");
		row_set(&rw, "date_depot", day);
		rc = insert_row(db, t, "candidature", dept, &rw, id);
		if (!rc)
			rc = add_line(&r->records, &r->nrecords,
				      "Candidature de %s %s pour « %s » enregistrée "
				      "(décision en attente).",
				      prenom ? prenom : "", nom ? nom : "", ms.count ? ms.a : snom);
	}
out:
	match_free(&ms);
	match_free(&mp);
	return rc;
}

/* ---- bilan ---- */

/* ---- finding a bilan's structure ---- */

/* Words left out of a tolerant name, folded. */
static const char *const name_stopwords[] = {
	"de", "du", "des", "d", "la", "le", "les", "l", "et", "a", "au", "aux", "en", NULL
};

/* Abbreviations people use for a structure's kind, folded, expanded to
 * their folded words without stop words. */
static const struct { const char *abbr, *words; } name_abbrevs[] = {
	{ "cs", "centresocial" }, { "csc", "centresocioculturel" },
	{ "mjc", "maisonjeunesculture" }, { "pij", "pointinformationjeunesse" },
	{ "bij", "bureauinformationjeunesse" }, { "asso", "association" },
	{ "assoc", "association" }, { "st", "saint" }, { "ste", "sainte" },
	{ "ctre", "centre" }, { "soc", "social" }, { "sj", "servicejeunesse" },
	{ "ej", "espacejeunes" },
};

/*
 * The tolerant key of a structure's name: its words folded, stop words
 * left out, kind abbreviations expanded, so that « CS du Lac » and « Centre
 * social du Lac » have the same key. Written to out (outlen bytes, cut).
 */
static void name_key(const char *name, char *out, size_t outlen)
{
	size_t o = 0, i = 0, n = strlen(name);
	out[0] = 0;
	while (i < n) {
		char word[MODEL_VALUE_MAX < 256 ? MODEL_VALUE_MAX : 256], f[256];
		size_t k = 0;
		const char *add;
		/* Words end at spaces, apostrophes, hyphens, dots and slashes. */
		while (i < n && strchr(" \t'-./,()", name[i]))
			i++;
		while (i < n && !strchr(" \t'-./,()", name[i]) &&
		       strncmp(name + i, "\xe2\x80\x99", 3)) {
			if (k + 1 < sizeof(word))
				word[k++] = name[i];
			i++;
		}
		if (i < n && !strncmp(name + i, "\xe2\x80\x99", 3))
			i += 3;
		word[k] = 0;
		if (model_fold(word, f, sizeof(f)) >= sizeof(f) || !f[0])
			continue;
		add = f;
		for (size_t s = 0; name_stopwords[s]; s++)
			if (!strcmp(f, name_stopwords[s]))
				add = NULL;
		for (size_t a = 0; add && a < sizeof(name_abbrevs) / sizeof(name_abbrevs[0]); a++)
			if (!strcmp(f, name_abbrevs[a].abbr))
				add = name_abbrevs[a].words;
		for (; add && *add && o + 1 < outlen; add++)
			out[o++] = *add;
		out[o] = 0;
	}
}

static int keep_tolerant_name(const char *a, const char *b, const void *arg)
{
	char ka[512];
	(void)b;
	name_key(a, ka, sizeof(ka));
	return ka[0] && !strcmp(ka, (const char *)arg);
}

/* Structures the sender's address is known for: the structure's own
 * address or one of its promeneurs'. */
#define SENDER_STRUCTURES_SQL \
	"SELECT id, nom, commune FROM structure s WHERE dept = ?1 AND (lower(email) = lower(?2) " \
	"OR EXISTS (SELECT 1 FROM promeneur p WHERE p.structure = s.id AND p.dept = ?1 " \
	"AND lower(p.email) = lower(?2))) ORDER BY id"

/* Lists the structures of dept whose tolerant key is key into buf, for a
 * coordinator choosing among them: « A » (commune), « B » (commune)… */
static int list_candidates(sqlite3 *db, const char *dept, const char *key, char *out, size_t outlen)
{
	sqlite3_stmt *st = NULL;
	size_t o = 0, count = 0;
	int rc, src;

	out[0] = 0;
	rc = relais_sqlite_error(sqlite3_prepare_v2(
		db, "SELECT nom, commune FROM structure WHERE dept = ?1 ORDER BY nom, id", -1, &st, NULL));
	if (rc)
		return rc;
	sqlite3_bind_text(st, 1, dept, -1, SQLITE_STATIC);
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		const char *nom = (const char *)sqlite3_column_text(st, 0);
		const char *commune = (const char *)sqlite3_column_text(st, 1);
		if (keep_tolerant_name(nom ? nom : "", "", key) != 1)
			continue;
		char one[256];
		int k = snprintf(one, sizeof(one), "%s« %s » (%s)", count ? ", " : "",
				 nom ? nom : "", commune ? commune : "");
		/* Whole names only; the rest is said with an ellipsis. */
		if (k > 0 && (size_t)k < sizeof(one) && o + (size_t)k + 4 < outlen) {
			memcpy(out + o, one, (size_t)k + 1);
			o += (size_t)k;
		} else if (o + 4 < outlen && (o < 3 || strcmp(out + o - 3, "…"))) {
			memcpy(out + o, "…", 4);
			o += 3;
		}
		count++;
	}
	sqlite3_finalize(st);
	return relais_sqlite_error(src);
}

/* A bilan's structure could be more than one: the message goes to a person. */
#define AMBIGUOUS 1

/*
 * Finds the structure a bilan names, into ms: the one whose name folds to
 * the same text; else the one the sender's address is known for, when its
 * name is the given name told tolerantly; else the one whose tolerant name
 * is the same. Returns 0 (ms->count 0 when none), AMBIGUOUS with r->reason
 * listing the candidates, or a negative code.
 */
static int find_structure(sqlite3 *db, const char *dept, const char *snom, const char *from,
			  struct match *ms, struct mailgw_result *r)
{
	struct two_names names = { snom, NULL };
	char key[512], cands[150], name[48];
	int rc;

	rc = find_rows(db, "SELECT id, nom, commune FROM structure WHERE dept = ?1 ORDER BY id",
		       dept, NULL, keep_same_names, &names, ms);
	if (rc || ms->count == 1)
		return rc;
	name_key(snom, key, sizeof(key));
	if (!key[0])
		return 0;
	if (from && *from) {
		struct match mf = { 0 };
		rc = find_rows(db, SENDER_STRUCTURES_SQL, dept, from, keep_tolerant_name, key, &mf);
		if (!rc && mf.count == 1) {
			match_free(ms);
			*ms = mf;
			return 0;
		}
		match_free(&mf);
		if (rc)
			return rc;
	}
	match_free(ms);
	rc = find_rows(db, "SELECT id, nom, commune FROM structure WHERE dept = ?1 ORDER BY id",
		       dept, NULL, keep_tolerant_name, key, ms);
	if (rc || ms->count <= 1)
		return rc;
	rc = list_candidates(db, dept, key, cands, sizeof(cands));
	if (rc)
		return rc;
	copy_utf8(name, sizeof(name), snom);
	snprintf(r->reason, sizeof(r->reason), "bilan de « %s » : plusieurs structures possibles, %s",
		 name, cands);
	return AMBIGUOUS;
}

/* ---- bilan ---- */

/*
 * Records a bilan. Returns 0 with r->nproblems > 0 when the structure or
 * promeneur is not known (the caller rolls back), AMBIGUOUS when several
 * structures could be meant (r->reason lists them).
 */
static int record_bilan(sqlite3 *db, const struct sync_tables *t, const char *dept,
			const char *from, const struct form_values *v, const char *day,
			struct mailgw_result *r)
{
	const char *snom = form_value_get(v, "structure.nom", 0);
	const char *email = form_value_get(v, "promeneur.email", 0);
	const char *full = form_value_get(v, "promeneur.nom_complet", 0);
	const char *annee = form_value_get(v, "bilan.annee", 0);
	const char *periode = form_value_get(v, "bilan.periode", 0);
	struct match ms = { 0 }, mp = { 0 };
	char id[UTIL_UUID_LEN + 1];
	struct row rw = { .n = 0 };
	int rc;

	rc = find_structure(db, dept, snom, from, &ms, r);
	if (rc)
		goto out;
	if (!ms.count) {
		rc = add_line(&r->problems, &r->nproblems, "Structure inconnue : « %s ».", snom);
		goto out;
	}
	if (ms.count > 1) {
		rc = add_line(&r->problems, &r->nproblems,
			      "Plusieurs structures s'appellent « %s » : le bilan ne peut pas "
			      "être rattaché, écrivez à la coordination.", snom);
		goto out;
	}
	if (email)
		rc = find_rows(db, "SELECT id, prenom, nom FROM promeneur "
				   "WHERE dept = ?1 AND lower(email) = lower(?2) ORDER BY id",
			       dept, email, NULL, NULL, &mp);
	else if (full)
		rc = find_rows(db, "SELECT id, prenom, nom FROM promeneur WHERE dept = ?1 "
				   "ORDER BY structure = ?2 DESC, id",
			       dept, ms.id, keep_full_name, full, &mp);
	if (rc)
		goto out;
	if ((email || full) && !mp.count) {
		rc = add_line(&r->problems, &r->nproblems, "Promeneur inconnu : « %s ».",
			      email ? email : full);
		goto out;
	}

	row_from_form(&rw, v, "bilan");
	row_set(&rw, "structure", ms.id);
	if (mp.count)
		row_set(&rw, "promeneur", mp.id);
	row_set(&rw, "date_reception", day);
	rc = insert_row(db, t, "bilan", dept, &rw, id);
	if (rc)
		goto out;
	if (mp.count)
		rc = add_line(&r->records, &r->nrecords,
			      "Bilan %s (%s) de la structure « %s » (%s) enregistré pour %s %s.",
			      annee, periode ? periode : "annee", ms.a, ms.b, mp.a, mp.b);
	else
		rc = add_line(&r->records, &r->nrecords,
			      "Bilan %s (%s) de la structure « %s » (%s) enregistré.", annee,
			      periode ? periode : "annee", ms.a, ms.b);
out:
	match_free(&ms);
	match_free(&mp);
	return rc;
}

/* ---- mail that is no form ---- */

/* Phrases of advance-fee scams and phishing (folded as model_fold does:
 * lower case, no accents, no spaces or punctuation). */
static const char *const scam_phrases[] = {
	"westernunion", "moneygram", "bitcoin", "cryptomonnaie", "loterie", "lottery",
	"vousavezgagne", "youhavewon", "heritage", "inheritance", "beneficiaire",
	"beneficiary", "transfertdefonds", "fundstransfer", "urgentbusiness",
	"votrecompteserasuspendu", "verifiezvotrecompte", "verifyyouraccount",
	"motdepasseexpire", "passwordexpire", "boitemailpleine", "mailboxfull",
	"cartecadeau", "giftcard", "millionsdedollars", "millionsofdollars",
	"millionsdeuros",
};

/* Whether m reads like a scam or phishing: two of the phrases above in its
 * subject and first 4 KiB of body (one alone is too common). */
static int looks_like_scam(const struct mailgw_mime_msg *m)
{
	char head[4097], f[2][8192];
	size_t n = m->body ? strnlen(m->body, sizeof(head) - 1) : 0;
	int hits = 0;
	while (n && m->body && n < strlen(m->body) && ((unsigned char)m->body[n] & 0xc0) == 0x80)
		n--;
	if (n)
		memcpy(head, m->body, n);
	head[n] = 0;
	model_fold(m->subject ? m->subject : "", f[0], sizeof(f[0]));
	model_fold(head, f[1], sizeof(f[1]));
	for (size_t i = 0; i < sizeof(scam_phrases) / sizeof(scam_phrases[0]); i++)
		hits += strstr(f[0], scam_phrases[i]) || strstr(f[1], scam_phrases[i]);
	return hits >= 2;
}

/* A copy of s for a text column: at most max bytes cut on a character,
 * control characters but newline and tab as spaces. */
static char *text_for_column(const char *s, size_t max)
{
	size_t n = strlen(s);
	char *out;
	if (n > max) {
		n = max;
		while (n && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	if (!(out = malloc(n + 1)))
		return NULL;
	for (size_t i = 0; i < n; i++)
		out[i] = ((unsigned char)s[i] < 0x20 && s[i] != '\n' && s[i] != '\t') ? ' ' : s[i];
	out[n] = 0;
	return out;
}

/*
 * Records a message that holds no form, from a sender known in dept (a
 * promeneur's address, else a structure's), as a demande (table request)
 * for the coordination. *known is 0 when the sender is not known: nothing
 * is written then.
 */
static int record_demande(sqlite3 *db, const struct sync_tables *t, const char *dept,
			  const struct mailgw_mime_msg *m, const char *day, int *known,
			  struct mailgw_result *r)
{
	struct match mp = { 0 }, ms = { 0 };
	struct buf q = BUF_INIT(4 * MODEL_TEXT_MAX);
	char id[UTIL_UUID_LEN + 1], *question = NULL;
	struct row rw = { .n = 0 };
	int rc;

	*known = 0;
	if (!m->from_addr || !*m->from_addr)
		return 0;
	rc = find_rows(db, "SELECT id, prenom, nom FROM promeneur "
			   "WHERE dept = ?1 AND lower(email) = lower(?2) ORDER BY id",
		       dept, m->from_addr, NULL, NULL, &mp);
	if (!rc && !mp.count)
		rc = find_rows(db, "SELECT id, nom, commune FROM structure "
				   "WHERE dept = ?1 AND lower(email) = lower(?2) ORDER BY id",
			       dept, m->from_addr, NULL, NULL, &ms);
	if (rc || (!mp.count && !ms.count))
		goto out;
	*known = 1;
	rc = buf_printf(&q, "Courriel de %s%s<%s>%s%s%s\nObjet : %s\n\n%s",
			m->from_name && *m->from_name ? m->from_name : "",
			m->from_name && *m->from_name ? " " : "", m->from_addr,
			ms.count ? " (structure « " : "", ms.count ? ms.a : "", ms.count ? " »)" : "",
			m->subject && *m->subject ? m->subject : "(sans objet)", m->body ? m->body : "");
	if (rc == RELAIS_ETOOBIG)
		rc = 0; /* what fits is kept, cut below */
	if (rc)
		goto out;
	/* MODEL_TEXT_MAX characters hold at least this many bytes. */
	question = text_for_column(buf_str(&q), MODEL_TEXT_MAX);
	if (!question) {
		rc = RELAIS_ENOMEM;
		goto out;
	}
	if (mp.count)
		row_set(&rw, "promeneur", mp.id);
	row_set(&rw, "sujet", "autre");
	row_set(&rw, "question", question);
	row_set(&rw, "date_demande", day);
	row_set(&rw, "statut", "ouverte");
	rc = insert_row(db, t, "request", dept, &rw, id);
	if (rc)
		goto out;
	if (mp.count)
		rc = add_line(&r->records, &r->nrecords,
			      "Demande de %s %s transmise à la coordination (elle vous répondra).",
			      mp.a, mp.b);
	else
		rc = add_line(&r->records, &r->nrecords,
			      "Demande de la structure « %s » (%s) transmise à la coordination "
			      "(elle vous répondra).", ms.a, ms.b);
out:
	free(question);
	buf_release(&q);
	match_free(&mp);
	match_free(&ms);
	return rc;
}

/* ---- classification ---- */

/* Whether a table's problems name a field it gave (a value that did not
 * pass), not only the fields it lacks: then it was meant as a bilan. */
static int has_field_problem(const struct form_problems *p)
{
	static const char missing[] = "Champ obligatoire manquant";
	for (size_t i = 0; i < p->n; i++) {
		const char *s = p->items[i];
		if (!strncmp(s, "Ligne ", 6) && strstr(s, " : "))
			s = strstr(s, " : ") + 3;
		if (strncmp(s, missing, sizeof(missing) - 1))
			return 1;
	}
	return 0;
}

/* What read_form() found: one value set per record to write. */
struct form_read {
	enum form_kind kind;
	struct form_values *v;
	size_t nv;
	struct form_problems p;
	char refused[256];       /* the first office attachment that was refused, and why */
};

static void form_read_free(struct form_read *fr)
{
	form_values_array_free(fr->v, fr->nv);
	form_problems_free(&fr->p);
	fr->v = NULL;
	fr->nv = 0;
}

/* Reads text as a form when it holds one; fr->kind stays FORM_UNKNOWN when not. */
static int read_text(const char *text, struct form_read *fr)
{
	enum form_kind kind = form_detect(text);
	int rc;
	if (kind == FORM_UNKNOWN)
		return 0;
	fr->v = calloc(1, sizeof(*fr->v));
	if (!fr->v)
		return RELAIS_ENOMEM;
	fr->nv = 1;
	fr->kind = kind;
	rc = form_parse(kind, text, fr->v, &fr->p);
	return rc;
}

/* Reads each table of text (CSV, tables separated by "\f\n") as bilans,
 * stopping at the first that holds at least one bilan field. */
static int read_tables(const char *text, size_t len, struct form_read *fr)
{
	const char *p = text, *end = text + len;
	while (p < end && fr->kind == FORM_UNKNOWN) {
		const char *ff = memchr(p, '\f', (size_t)(end - p));
		size_t n = ff ? (size_t)(ff - p) : (size_t)(end - p);
		int rc = form_parse_bilan_table(p, n, &fr->v, &fr->nv, &fr->p);
		if (rc)
			return rc;
		int any = 0;
		for (size_t i = 0; i < fr->nv; i++)
			any |= fr->v[i].n > 0;
		if (any || has_field_problem(&fr->p))
			fr->kind = FORM_BILAN;
		else
			form_read_free(fr);
		p = ff ? ff + 1 : end;
		if (p < end && *p == '\n')
			p++;
	}
	return 0;
}

/*
 * Reads the form of m into fr: the body when it holds one, else the first
 * attachment that does (a CSV, a spreadsheet's sheets or an HTML table read
 * as bilans when they hold at least one bilan field, even one with a wrong
 * value; a word-processor document read as the body is), else the tables of
 * an HTML body. fr->kind is FORM_UNKNOWN when none does.
 */
static int read_form(const struct mailgw_mime_msg *m, struct form_read *fr)
{
	const char *body = m->body ? m->body : "";
	int rc;

	memset(fr, 0, sizeof(*fr));
	rc = read_text(body, fr);
	for (size_t i = 0; !rc && fr->kind == FORM_UNKNOWN && i < m->n_attachments; i++) {
		const struct mailgw_attachment *a = &m->attachments[i];
		if (a->extract == MAILGW_OFFICE_TABLE)
			rc = read_tables(a->extracted, a->extracted_len, fr);
		else if (a->extract == MAILGW_OFFICE_TEXT)
			rc = read_text(a->extracted, fr);
		else if (a->extract == MAILGW_OFFICE_REFUSED && !fr->refused[0]) {
			char name[64], why[128];
			copy_utf8(name, sizeof(name), a->filename);
			copy_utf8(why, sizeof(why), a->extracted);
			snprintf(fr->refused, sizeof(fr->refused), "pièce jointe « %s » non lue : %s",
				 name, why);
		}
		else if (a->extract == MAILGW_OFFICE_NONE && mailgw_mime_is_csv(a))
			rc = read_tables((const char *)a->data, a->len, fr);
	}
	if (!rc && fr->kind == FORM_UNKNOWN && m->body_tables)
		rc = read_tables(m->body_tables, strlen(m->body_tables), fr);
	return rc;
}

int mailgw_pipeline_record(sqlite3 *db, const struct sync_tables *t, const char *dept,
			   const struct mailgw_mime_msg *m, int64_t now_ms,
			   struct mailgw_result *r, mailgw_pipeline_hook hook, void *arg)
{
	struct form_read fr;
	struct sync_local *l = NULL;
	const char *why;
	char day[11];
	int rc = 0;

	memset(r, 0, sizeof(*r));
	memset(&fr, 0, sizeof(fr));
	r->kind = FORM_UNKNOWN;
	why = mailgw_automatic_reason(m);
	if (why) {
		set_reason(r, MAILGW_IGNORED, why);
		goto out;
	}
	if (m->tnef) {
		set_reason(r, MAILGW_QUARANTINE,
			   "pièce jointe winmail.dat (format TNEF d'Outlook) illisible");
		goto out;
	}
	if (m->status != MAILGW_MIME_OK) {
		snprintf(r->reason, sizeof(r->reason), "message illisible : %s",
			 mailgw_mime_status_str(m->status));
		r->outcome = MAILGW_QUARANTINE;
		goto out;
	}
	rc = read_form(m, &fr);
	r->kind = fr.kind;
	if (rc == RELAIS_ETOOBIG || rc == RELAIS_EINVAL) {
		rc = 0;
		set_reason(r, MAILGW_QUARANTINE, "formulaire trop long pour être lu");
		goto out;
	}
	if (rc)
		goto out;
	if (r->kind == FORM_UNKNOWN && fr.refused[0]) {
		/* The note says what was not read and what to send instead. */
		set_reason(r, MAILGW_QUARANTINE, fr.refused);
		goto out;
	}
	if (r->kind == FORM_UNKNOWN && looks_like_scam(m)) {
		set_reason(r, MAILGW_QUARANTINE,
			   "courriel suspect (escroquerie ou hameçonnage probable), à traiter");
		r->no_answer = 1;
		goto out;
	}
	if (r->kind == FORM_UNKNOWN) {
		int known = 0;
		today(now_ms, day);
		rc = sync_local_begin(db, t, &l);
		if (!rc)
			rc = record_demande(db, t, dept, m, day, &known, r);
		if (rc || !known) {
			sync_local_abort(l);
			if (!rc) {
				set_reason(r, MAILGW_QUARANTINE, "formulaire non reconnu, expéditeur "
								 "inconnu : message à traiter");
				r->no_answer = 1;
			}
			goto out;
		}
		goto commit;
	}
	if (fr.p.n) {
		r->outcome = MAILGW_REJECTED;
		r->problems = fr.p.items;
		r->nproblems = fr.p.n;
		fr.p.items = NULL;
		fr.p.n = 0;
		goto out;
	}

	today(now_ms, day);
	rc = sync_local_begin(db, t, &l);
	if (rc)
		goto out;
	for (size_t i = 0; !rc && i < fr.nv; i++) {
		size_t before = r->nproblems;
		if (r->kind == FORM_CANDIDATURE)
			rc = record_candidature(db, t, dept, &fr.v[i], day, r);
		else
			rc = record_bilan(db, t, dept, m->from_addr, &fr.v[i], day, r);
		if (!rc && fr.nv > 1)
			rc = form_problems_number(r->problems, before, r->nproblems, "Bilan n°",
						  i + 1);
	}
	if (rc == AMBIGUOUS) {
		sync_local_abort(l);
		rc = 0;
		r->outcome = MAILGW_QUARANTINE;
		free_lines(&r->records, &r->nrecords);
		free_lines(&r->problems, &r->nproblems);
		goto out;
	}
	if (rc || r->nproblems) {
		sync_local_abort(l);
		if (!rc) {
			r->outcome = MAILGW_REJECTED;
			free_lines(&r->records, &r->nrecords);
		}
		goto out;
	}
commit:
	r->outcome = MAILGW_RECORDED;
	if (hook && (rc = hook(db, r, arg))) {
		sync_local_abort(l);
		goto out;
	}
	rc = sync_local_commit(l, MAILGW_PIPELINE_LOGIN);
out:
	form_read_free(&fr);
	if (rc)
		mailgw_result_free(r);
	return rc;
}
