/*
 * followup.c - the commands of the coordinator's follow-up work: deciding
 * a candidature and labelling, délabellisation, RGPD erasure and right of
 * access, the to-do list (read by replica/followup.c) and the reminders
 * queue.
 *
 * Each command that writes does all of its writes in one captured local
 * edit, so that a decision and its consequences (the promeneur's status, the
 * directory change) reach the server together or not at all. Nothing is
 * written before every input was checked.
 *
 * Kept whole (over 800 lines): its commands share one pattern (open the replica,
 * one captured edit, one domain call, one French report) and the helpers that
 * check what was typed and print the to-do list and the reminders.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "../../common/buf.h"
#include "../../common/options.h"
#include "../../common/utf8.h"
#include "../../common/util.h"
#include "../../model/domain.h"
#include "../../model/model.h"
#include "../../sync/sync.h"
#include "../replica/followup.h"
#include "../replica/personne.h"
#include "../replica/replica.h"
#include "cli.h"
#include "workflow.h"

#define ID_MAX 64              /* longer identifiers name nothing */
#define DATE_LEN REPLICA_DATE_LEN
#define MAX_SQL (16u << 10)
#define RETENTION_DEFAULT 365  /* days kept after the délabellisation */
#define RETENTION_MAX 36500

/* What a required personal column holds once erased (NOT NULL forbids NULL). */
#define ERASED_EMAIL_SQL \
	"'" MODEL_ERASED_EMAIL_PREFIX "' || substr(id, 1, 8) || '" MODEL_ERASED_EMAIL_DOMAIN "'"

#define DIRECTORY_TABLE "directory_change"
#define REMINDER_TABLE "reminder"

/* ---- small helpers ---- */

#define STR_(x) #x
#define STR(x) STR_(x)

/* --date of the commands that work "as of" a day. */
#define OPT_TODAY(v) OPT_DATE(0, "date", (v), "date du jour (défaut : aujourd'hui)", NULL)

/* Parses the command line after the words of c into its options and, when
 * id is not NULL, the one identifier c takes. Returns 0, -1 after --help,
 * or an exit status (message printed). */
static int parse_cmd(const struct options_cmd *c, int argc, char **argv, char id[ID_MAX + 1])
{
	const char *raw = NULL;
	int n = 0;
	int rc = options_parse_cmd(c, argc, argv, &raw, &n);
	if (rc || !id)
		return rc;
	return cli_id_arg(raw, id);
}

/* Copies text column i into out ("" for NULL), cut to outlen - 1 bytes. */
static void col_copy(sqlite3_stmt *st, int i, char *out, size_t outlen)
{
	const char *s = (const char *)sqlite3_column_text(st, i);
	snprintf(out, outlen, "%s", s ? s : "");
}

static char *col_dup(sqlite3_stmt *st, int i)
{
	const char *s = (const char *)sqlite3_column_text(st, i);
	return strdup(s ? s : "");
}

/* Prints s on stdout with control characters (C0, DEL, C1) shown as '?', so
 * that a value from a mail cannot drive the terminal. */
static void db_error(struct replica *r, const char *what)
{
	if ((sqlite3_extended_errcode(r->db) & 0xff) == SQLITE_CONSTRAINT)
		cli_error("%s : valeur refusée par le schéma (%s) ; rien n'a été modifié.", what,
			  replica_errmsg(r->db));
	else
		cli_error("%s : %s ; rien n'a été modifié.", what, replica_errmsg(r->db));
}

/* Opens the replica; writable refuses a caf account. Returns 0 or CLI_EXIT_FAIL. */
static int open_replica(struct replica *r, const char *home, int writable)
{
	if (cli_open(r, home))
		return CLI_EXIT_FAIL;
	if (writable && cli_read_only(r)) {
		replica_close(r);
		return CLI_EXIT_FAIL;
	}
	return 0;
}

/* Begins the one captured edit of a command. */
static int capture_begin(struct replica *r, struct sync_capture **cap)
{
	int rc = sync_capture_begin(r->db, r->tables, cap);
	if (rc)
		cli_error("écriture dans le réplica impossible : %s", relais_strerror(rc));
	return rc ? CLI_EXIT_FAIL : 0;
}

static int capture_commit(struct sync_capture *cap)
{
	int rc = sync_capture_commit(cap);
	if (rc)
		cli_error("enregistrement impossible : %s ; rien n'a été modifié.", relais_strerror(rc));
	return rc ? CLI_EXIT_FAIL : 0;
}

/* ---- relais rgpd effacer ---- */

static int erased_value(const struct model_column *c, struct buf *b)
{
	if (!(c->flags & MODEL_REQUIRED))
		return buf_puts(b, "NULL");
	switch (c->kind) {
	case MODEL_TEXT:
		return buf_puts(b, "'" MODEL_ERASED_TEXT "'");
	case MODEL_EMAIL:
		return buf_puts(b, ERASED_EMAIL_SQL);
	default:
		/* A required personal column of another kind needs a placeholder
		 * here before the model may hold one. */
		return RELAIS_EINVAL;
	}
}

/*
 * The SQL that counts (count) or erases the rows of t matching where whose
 * personal columns are not erased yet. Returns RELAIS_ENOTFOUND when t has
 * no personal column.
 */
static int erase_sql(const struct model_table *t, const char *where, int count, struct buf *sql)
{
	struct buf pending = BUF_INIT(MAX_SQL);
	int n = 0, e = 0;
	e = count ? buf_printf(sql, "SELECT count(*) FROM \"%s\" WHERE %s", t->name, where)
		  : buf_printf(sql, "UPDATE \"%s\" SET ", t->name);
	for (size_t i = 0; i < t->ncolumns && !e; i++) {
		const struct model_column *c = &t->columns[i];
		if (!(c->flags & MODEL_PERSONAL) || c->since > MODEL_SCHEMA_VERSION)
			continue;
		e = buf_printf(&pending, "%s\"%s\" IS NOT ", n ? " OR " : "", c->name);
		if (!e)
			e = erased_value(c, &pending);
		if (!e && !count)
			e = buf_printf(sql, "%s\"%s\" = ", n ? ", " : "", c->name);
		if (!e && !count)
			e = erased_value(c, sql);
		n++;
	}
	if (!e && !n)
		e = RELAIS_ENOTFOUND;
	if (!e && !count)
		e = buf_printf(sql, " WHERE %s", where);
	if (!e)
		e = buf_printf(sql, " AND (%s)", buf_str(&pending));
	buf_release(&pending);
	return e;
}

/*
 * The people whose personal data the network keeps for a time: each kind
 * selects (id, the date the retention runs from, name, email) of those whose
 * date is on or before ?1, and lists where their data lies, ?1 being the
 * id and ?2 the email there. The mail journal comes first: its match needs
 * the email not erased yet.
 */
#define MAX_TARGETS 3
static const struct {
	const char *select;
	const char *since;     /* French, before the date in the report */
	struct {
		const char *table, *where;
	} targets[MAX_TARGETS];
} erase_kinds[] = {
	{ "SELECT id, date_delabellisation, prenom || ' ' || nom, email FROM promeneur "
	  "WHERE statut = 'delabellise' AND date_delabellisation <= ?1 "
	  "ORDER BY date_delabellisation, id", "délabellisé le",
	  { { "inbound_mail", "lower(expediteur) = lower(?2)" }, { "presence", "promeneur = ?1" },
	    { "promeneur", "id = ?1" } } },
	/* A candidate the comité refused: from the last decision. */
	{ "SELECT id, quand, nom, email FROM (SELECT p.id, p.prenom || ' ' || p.nom AS nom, p.email, "
	  "coalesce((SELECT max(coalesce(d.date_comite, c.date_comite)) FROM candidature c "
	  "LEFT JOIN decision d ON d.candidature = c.id WHERE c.promeneur = p.id), "
	  "p.date_candidature) AS quand FROM promeneur p WHERE p.statut = 'non_retenu') "
	  "WHERE quand <= ?1 ORDER BY quand, id", "non retenu le",
	  { { "inbound_mail", "lower(expediteur) = lower(?2)" }, { "presence", "promeneur = ?1" },
	    { "promeneur", "id = ?1" } } },
	{ "SELECT id, date_fin, coalesce(prenom || ' ', '') || nom, email FROM contact "
	  "WHERE date_fin <= ?1 ORDER BY date_fin, id", "plus interlocuteur depuis le",
	  { { "inbound_mail", "lower(expediteur) = lower(?2)" }, { "contact", "id = ?1" } } },
	{ "SELECT id, date_fin, nom, email FROM resource WHERE date_fin <= ?1 "
	  "ORDER BY date_fin, id", "plus personne ressource depuis le",
	  { { "inbound_mail", "lower(expediteur) = lower(?2)" }, { "resource", "id = ?1" } } },
};
#define NKINDS (sizeof(erase_kinds) / sizeof(erase_kinds[0]))

static int erase_one(sqlite3 *db, size_t kind, size_t k, int count, const char *id,
		     const char *email, long long *n)
{
	struct buf sql = BUF_INIT(MAX_SQL);
	sqlite3_stmt *st = NULL;
	*n = 0;
	if (!erase_kinds[kind].targets[k].table)
		return 0;
	int e = erase_sql(model_table_by_name(erase_kinds[kind].targets[k].table),
			  erase_kinds[kind].targets[k].where, count, &sql);
	if (e == RELAIS_ENOTFOUND) {
		*n = 0;
		e = 0;
		goto out;
	}
	if (!e)
		e = replica_prepare(db, &st, buf_str(&sql), "tt", id, email);
	if (e)
		goto out;
	int s = sqlite3_step(st);
	if (count && s == SQLITE_ROW)
		*n = sqlite3_column_int64(st, 0);
	else if (!count && s == SQLITE_DONE)
		*n = sqlite3_changes(db);
	else
		e = relais_sqlite_error(s);
out:
	sqlite3_finalize(st);
	buf_release(&sql);
	return e;
}

struct erasure {
	size_t kind;
	char id[ID_MAX + 1];
	char date[DATE_LEN + 1];
	char *name;
	char *email;
};

static void print_personal_labels(const char *table)
{
	const struct model_table *t = model_table_by_name(table);
	int n = 0;
	for (size_t i = 0; i < t->ncolumns; i++)
		if (t->columns[i].flags & MODEL_PERSONAL)
			printf("%s%s", n++ ? ", " : "", t->columns[i].label);
}

int cmd_rgpd_effacer(const char *home, int argc, char **argv)
{
	const char *date_raw = NULL;
	int dry = 0;
	long long retention = RETENTION_DEFAULT;
	const struct option opts[] = {
		OPT_INTEGER(0, "retention-jours", &retention, "N",
			    "durée de conservation après la délabellisation (0 à "
			    STR(RETENTION_MAX) ")", 0, RETENTION_MAX),
		OPT_FLAG(0, "simulation", &dry, "affiche ce qui serait effacé, sans rien modifier"),
		OPT_TODAY(&date_raw),
		OPT_END(),
	};
	const struct options_cmd c = {
		&cli_prog, "rgpd effacer", "[--retention-jours N] [--simulation] [--date AAAA-MM-JJ]",
		"Efface les données personnelles des personnes que le réseau ne suit plus depuis\n"
		"plus de N jours (défaut : " STR(RETENTION_DEFAULT) ") : promeneurs délabellisés, "
		"candidats non retenus (depuis la\n"
		"dernière décision du comité), contacts des partenaires et des structures et\n"
		"personnes ressources qui ne le sont plus (champ date_fin). Sont effacées les\n"
		"colonnes marquées [donnée personnelle] de leur fiche, de leurs présences en\n"
		"ligne et des courriels qu'ils ont envoyés au réseau. La ligne, le statut, les\n"
		"dates, la structure et les bilans restent, pour les comptes anonymes de\n"
		"l'évaluation. L'effacement est envoyé au serveur par « relais sync ».\n",
		opts, NULL, 0, 0, NULL,
	};
	char date[DATE_LEN + 1], limit[DATE_LEN + 1] = "", modifier[32];
	struct erasure *list = NULL;
	size_t n = 0, alloc = 0, done = 0;
	struct replica r;
	struct sync_capture *cap = NULL;
	sqlite3_stmt *st = NULL;
	int rc, s = SQLITE_DONE;

	if ((rc = parse_cmd(&c, argc - 2, argv + 2, NULL)))
		return rc < 0 ? 0 : rc;
	if (cli_date_arg("Date du jour", date_raw, date))
		return CLI_EXIT_FAIL;
	if (open_replica(&r, home, !dry))
		return CLI_EXIT_FAIL;
	rc = CLI_EXIT_FAIL;
	snprintf(modifier, sizeof(modifier), "-%lld days", retention);
	int e = replica_prepare(r.db, &st, "SELECT date(?, ?)", "tt", date, modifier);
	if (!e && sqlite3_step(st) == SQLITE_ROW)
		col_copy(st, 0, limit, sizeof(limit));
	sqlite3_finalize(st);
	st = NULL;
	if (e || strlen(limit) != DATE_LEN) {
		cli_error("lecture du réplica impossible : %s", replica_errmsg(r.db));
		goto out;
	}
	/* One transaction from the selection to the last write, so that what is
	 * printed is what is erased. */
	if (!dry && capture_begin(&r, &cap))
		goto out;
	for (size_t kind = 0; kind < NKINDS && !e; kind++) {
		e = replica_prepare(r.db, &st, erase_kinds[kind].select, "t", limit);
		while (!e && (s = sqlite3_step(st)) == SQLITE_ROW) {
			struct erasure *grown = util_grow(list, &alloc, n, sizeof(*list));
			if (!grown) {
				e = RELAIS_ENOMEM;
				break;
			}
			list = grown;
			struct erasure *x = &list[n];
			x->kind = kind;
			col_copy(st, 0, x->id, sizeof(x->id));
			col_copy(st, 1, x->date, sizeof(x->date));
			x->name = col_dup(st, 2);
			x->email = col_dup(st, 3);
			n++;
			if (!x->name || !x->email)
				e = RELAIS_ENOMEM;
		}
		if (!e && s != SQLITE_DONE)
			e = relais_sqlite_error(s);
		sqlite3_finalize(st);
		st = NULL;
	}
	for (size_t i = 0; i < n && !e; i++) {
		long long counts[MAX_TARGETS], total = 0;
		size_t kind = list[i].kind;
		for (size_t k = 0; k < MAX_TARGETS && !e; k++) {
			e = erase_one(r.db, kind, k, 1, list[i].id, list[i].email, &counts[k]);
			total += counts[k];
		}
		if (e || !total)
			continue;
		for (size_t k = 0; k < MAX_TARGETS && !e && !dry; k++)
			e = erase_one(r.db, kind, k, 0, list[i].id, list[i].email, &counts[k]);
		if (e)
			break;
		const char *own = NULL; /* the person's own table: the last target */
		long long own_count = 0;
		for (size_t k = 0; k < MAX_TARGETS; k++)
			if (erase_kinds[kind].targets[k].table) {
				own = erase_kinds[kind].targets[k].table;
				own_count = counts[k];
			}
		char day[UTIL_DATE_FR_LEN];
		printf("%s ", dry ? "À effacer :" : "Effacé :");
		cli_put_clean(list[i].name);
		printf(" (%s), %s %s — ", list[i].id, erase_kinds[kind].since,
		       util_date_fr(list[i].date, day, sizeof(day)));
		if (own_count) {
			fputs("fiche : ", stdout);
			print_personal_labels(own);
		} else {
			fputs("fiche déjà effacée", stdout);
		}
		if (!strcmp(own, "promeneur"))
			printf(" ; %lld présence(s) en ligne", counts[1]);
		printf(" ; %lld courriel(s) reçu(s).\n", counts[0]);
		done++;
	}
	if (e) {
		if (e == RELAIS_ENOMEM)
			cli_error("%s", relais_strerror(e));
		else
			db_error(&r, "effacement impossible");
		if (cap)
			sync_capture_abort(cap);
		goto out;
	}
	if (cap && capture_commit(cap))
		goto out;
	char until[UTIL_DATE_FR_LEN];
	if (!done)
		printf("Aucune donnée personnelle à effacer (fins de suivi jusqu'au %s).\n",
		       util_date_fr(limit, until, sizeof(until)));
	else if (dry)
		printf("Simulation : %zu personne(s) concernée(s), rien n'a été modifié.\n", done);
	else
		printf("%zu personne(s) effacée(s) ; « relais sync » envoie l'effacement au serveur.\n",
		       done);
	rc = 0;
out:
	for (size_t i = 0; i < n; i++) {
		free(list[i].name);
		free(list[i].email);
	}
	free(list);
	replica_close(&r);
	return rc;
}

/* ---- relais personne export ---- */

static int personne_print(struct replica *r, const char *id)
{
	json_t *obj = NULL;
	int e = personne_export(r->db, id, &obj);
	if (e == RELAIS_ENOTFOUND) {
		cli_error("le promeneur « %s » est introuvable dans le réplica.", id);
		return CLI_EXIT_FAIL;
	}
	if (e == RELAIS_ENOMEM) {
		cli_error("%s", relais_strerror(e));
		return CLI_EXIT_FAIL;
	}
	if (e) {
		cli_error("lecture du réplica impossible : %s", replica_errmsg(r->db));
		return CLI_EXIT_FAIL;
	}
	e = cli_print_json_line(obj);
	json_decref(obj);
	return e;
}

int cmd_personne_export(const char *home, int argc, char **argv)
{
	const struct options_cmd c = {
		&cli_prog, "personne export", "ID",
		"Écrit en JSON tout ce que le réplica contient sur un promeneur (droit d'accès) :\n"
		"sa fiche, ses présences en ligne, candidatures, bilans, participations,\n"
		"demandes, changements d'annuaire (toutes les lignes qui le désignent) et les\n"
		"courriels reçus de son adresse. Contient des données personnelles.\n", NULL, NULL,
		1, 1, "identifiant",
	};
	char id[ID_MAX + 1];
	struct replica r;
	int rc;

	if ((rc = parse_cmd(&c, argc - 2, argv + 2, id)))
		return rc < 0 ? 0 : rc;
	if (open_replica(&r, home, 0))
		return CLI_EXIT_FAIL;
	/* One read transaction: a consistent picture of the person. */
	if (sqlite3_exec(r.db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
		cli_error("lecture du réplica impossible : %s", replica_errmsg(r.db));
		replica_close(&r);
		return CLI_EXIT_FAIL;
	}
	rc = personne_print(&r, id);
	sqlite3_exec(r.db, "ROLLBACK", NULL, NULL, NULL);
	replica_close(&r);
	return rc;
}

/* ---- relais suivi ---- */

static void print_section(size_t k, const char *year, json_t *arr)
{
	char title[256];
	size_t i;
	json_t *row;
	snprintf(title, sizeof(title), followup_sections[k].title, year);
	printf("\n%s (%zu)\n", title, json_array_size(arr));
	if (!json_array_size(arr))
		printf("  rien à signaler\n");
	else if (followup_sections[k].hint)
		printf("  (voir « %s%s%s »)\n", followup_sections[k].hint,
		       strstr(followup_sections[k].hint, "--annee") ? " " : "",
		       strstr(followup_sections[k].hint, "--annee") ? year : "");
	json_array_foreach(arr, i, row) {
		const char *key = json_object_iter_key(json_object_iter(row));
		const char *line = json_string_value(json_object_get(row, "libelle"));
		const char *id = key ? json_string_value(json_object_get(row, key)) : NULL;
		fputs("  - ", stdout);
		cli_put_clean(line ? line : "?");
		if (id && util_is_uuid(id))
			printf(" [%s]", id);
		putchar('\n');
	}
}

int cmd_suivi(const char *home, int argc, char **argv)
{
	const char *date_raw = NULL;
	int json = 0;
	const struct option opts[] = {
		OPT_FLAG(0, "json", &json, "un objet JSON, une rubrique par membre"),
		OPT_TODAY(&date_raw),
		OPT_END(),
	};
	const struct options_cmd c = {
		&cli_prog, "suivi", "[--json] [--date AAAA-MM-JJ]",
		"Ce qui attend le coordinateur, par rubrique :\n"
		"  - structures sans bilan pour l'année précédente (celles qui avaient un\n"
		"    promeneur labellisé cette année-là) ;\n"
		"  - promeneurs labellisés sans formation initiale ou aux règles du profil non\n"
		"    vérifiées ;\n"
		"  - conventions Caf terminées ou se terminant dans les 60 jours (sauf celles\n"
		"    déjà notées expirées ou résiliées) ;\n"
		"  - chartes nationale ou départementale non signées (structures ayant un\n"
		"    promeneur labellisé ou une candidature en attente) ;\n"
		"  - candidatures en attente de décision ;\n"
		"  - courriels en quarantaine à traiter ;\n"
		"  - conflits de synchronisation à trancher.\n", opts, NULL, 0, 0, NULL,
	};
	char day[DATE_LEN + 1];
	json_t *out = NULL;
	struct replica r;
	int rc, e;
	size_t total = 0;

	if ((rc = parse_cmd(&c, argc - 1, argv + 1, NULL)))
		return rc < 0 ? 0 : rc;
	if (cli_date_arg("Date du jour", date_raw, day))
		return CLI_EXIT_FAIL;
	if (open_replica(&r, home, 0))
		return CLI_EXIT_FAIL;
	rc = CLI_EXIT_FAIL;
	if ((e = followup_suivi(r.db, day, &out))) {
		if (e == RELAIS_EDB)
			cli_error("lecture du réplica impossible : %s", replica_errmsg(r.db));
		else if (e == RELAIS_EINVAL)
			cli_error("Date du jour : « %s » invalide.", day);
		else
			cli_error("%s", relais_strerror(e));
		goto out;
	}
	if (json) {
		if (cli_print_json(out)) {
			cli_error("%s", relais_strerror(RELAIS_ENOMEM));
			goto out;
		}
		putchar('\n');
	} else {
		char year_s[24];
		snprintf(year_s, sizeof(year_s), "%lld",
			 (long long)json_integer_value(json_object_get(out, "annee_bilans")));
		for (size_t k = 0; k < followup_nsections; k++)
			total += json_array_size(json_object_get(out, followup_sections[k].key));
		char fr[UTIL_DATE_FR_LEN];
		printf("Suivi du réseau au %s : %zu point(s) à traiter.\n",
		       util_date_fr(day, fr, sizeof(fr)), total);
		for (size_t k = 0; k < followup_nsections; k++)
			print_section(k, year_s, json_object_get(out, followup_sections[k].key));
	}
	rc = 0;
out:
	json_decref(out);
	replica_close(&r);
	return rc;
}

/* ---- relais relance ---- */

int cmd_relance_bilans(const char *home, int argc, char **argv)
{
	const char *date_raw = NULL;
	long long year = 0;
	const struct option opts[] = {
		OPT_INTEGER(0, "annee", &year, "AAAA", "l'année des bilans attendus", 2000, 2100),
		OPT_TODAY(&date_raw),
		OPT_END(),
	};
	const struct options_cmd c = {
		&cli_prog, "relance bilans", "--annee AAAA [--date AAAA-MM-JJ]",
		"Met en file une relance par structure sans bilan pour l'année (celles qui\n"
		"avaient un promeneur labellisé cette année-là), jamais deux fois pour la même\n"
		"structure et la même année ; le serveur l'envoie avec le formulaire vierge\n"
		"après « relais sync ».\n", opts, NULL, 0, 0, NULL,
	};
	char day[DATE_LEN + 1], first[32], last[32];
	struct replica r;
	struct sync_capture *cap = NULL;
	sqlite3_stmt *st = NULL;
	size_t queued = 0, already = 0, noemail = 0;
	int rc, e, s = SQLITE_DONE;

	if ((rc = parse_cmd(&c, argc - 2, argv + 2, NULL)))
		return rc < 0 ? 0 : rc;
	if (!year) {
		options_usage_error(&c, "option --annee manquante : l'année des bilans attendus "
				    "(ex. --annee 2025)");
		return CLI_EXIT_USAGE;
	}
	if (cli_date_arg("Date du jour", date_raw, day))
		return CLI_EXIT_FAIL;
	snprintf(first, sizeof(first), "%04lld-01-01", year);
	snprintf(last, sizeof(last), "%04lld-12-31", year);
	if (open_replica(&r, home, 1))
		return CLI_EXIT_FAIL;
	rc = CLI_EXIT_FAIL;
	if (capture_begin(&r, &cap))
		goto out;
	e = replica_prepare(r.db, &st, "SELECT s.id, s.dept, s.nom || ' (' || s.commune || ')', s.email, "
			 "EXISTS (SELECT 1 FROM " REMINDER_TABLE " x WHERE x.structure = s.id "
			 "AND x.annee = ?2 AND x.objet = 'bilan') FROM structure s WHERE "
			 FOLLOWUP_OWES_BILAN_SQL " ORDER BY s.nom, s.id", "titt", day, year, first, last);
	while (!e && (s = sqlite3_step(st)) == SQLITE_ROW) {
		char sid[ID_MAX + 1], dept[16], rid[UTIL_UUID_LEN + 1];
		const char *name = (const char *)sqlite3_column_text(st, 2);
		const char *email = (const char *)sqlite3_column_text(st, 3);
		col_copy(st, 0, sid, sizeof(sid));
		col_copy(st, 1, dept, sizeof(dept));
		if (sqlite3_column_int(st, 4)) {
			fputs("Déjà en file ou envoyée : ", stdout);
			cli_put_clean(name ? name : "?");
			printf(" [%s]\n", sid);
			already++;
			continue;
		}
		if (!email) {
			fputs("Sans courriel, relance impossible : ", stdout);
			cli_put_clean(name ? name : "?");
			printf(" [%s] (relais structure modifier %s --email COURRIEL)\n", sid, sid);
			noemail++;
			continue;
		}
		if ((e = util_uuid(rid)) ||
		    (e = replica_run(r.db, NULL, "INSERT INTO " REMINDER_TABLE " (id, dept, structure, "
				  "annee, objet, email, statut, cree_le) VALUES (?, ?, ?, ?, 'bilan', ?, "
				  "'a_envoyer', ?)", "tttitt", rid, dept, sid, year, email, day)))
			break;
		fputs("Relance mise en file : ", stdout);
		cli_put_clean(name ? name : "?");
		printf(" <%s> [%s]\n", email, sid);
		queued++;
	}
	if (!e && s != SQLITE_DONE)
		e = relais_sqlite_error(s);
	sqlite3_finalize(st);
	st = NULL;
	if (e) {
		db_error(&r, "relances non enregistrées");
		sync_capture_abort(cap);
		goto out;
	}
	if (capture_commit(cap))
		goto out;
	printf("Bilans %lld : %zu relance(s) mise(s) en file, %zu déjà en file ou envoyée(s), "
	       "%zu structure(s) sans courriel.\n", year, queued, already, noemail);
	if (queued)
		printf("Le serveur les enverra après « relais sync ».\n");
	rc = 0;
out:
	replica_close(&r);
	return rc;
}

int cmd_relance(const char *home, int argc, char **argv)
{
	const struct options_cmd c = {
		&cli_prog, "relance", "SOUS-COMMANDE [OPTIONS]",
		"File d'attente des relances envoyées par le serveur après « relais sync ».\n",
		NULL, NULL, 0, 0, NULL,
	};
	/* The queue itself is a table of the model: its generic commands, but no
	 * hand-made reminder (add, set) that would skip the checks of bilans. */
	if (argc >= 2 && (!strcmp(argv[1], "liste") || !strcmp(argv[1], "voir") ||
			  !strcmp(argv[1], "supprimer")))
		return cmd_domain(home, argc, argv);
	if (argc >= 2 && !cli_is_help(argv[1])) {
		options_usage_error(&c, "commande inconnue : « relais relance %s » (commandes : "
				    "bilans, list, show, rm)", argv[1]);
		return CLI_EXIT_USAGE;
	}
	options_help(argc < 2 ? stderr : stdout, &c);
	return argc < 2 ? CLI_EXIT_USAGE : 0;
}
