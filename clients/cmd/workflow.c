/*
 * workflow.c - the commands of the network's workflows: the comité's decision
 * on a candidature (relais candidature decider), a délabellisation step by
 * step (relais promeneur signaler, relais procedure caf|mesures|suivre|
 * decider) or in one go (relais promeneur delabelliser), a suspension and its
 * end (relais promeneur suspendre, relais promeneur retablir), the tasks of
 * a withdrawal (relais tache faite) and the CAF's confirmation of a
 * publication (relais changement publie).
 *
 * Each parses its options, then runs one operation of the domain layer
 * (model/domain.h) as one captured edit of the replica, and prints what the
 * operation did. The rules are the domain's; nothing here decides.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../../common/options.h"
#include "../../common/utf8.h"
#include "../../common/util.h"
#include "../../model/domain.h"
#include "../../model/model.h"
#include "../../sync/sync.h"
#include "../replica/replica.h"
#include "cli.h"
#include "workflow.h"

/* What the operations take; each uses the fields it needs. */
struct wf_args {
	char id[CLI_ID_MAX + 1];
	char date[DOMAIN_DATE_LEN + 1];
	char until[DOMAIN_DATE_LEN + 1]; /* "" when not given */
	char comite[DOMAIN_DATE_LEN + 1]; /* "" when not given */
	char word[32];                   /* a decision */
	char *text;                      /* a motif, measures, a follow-up, an opinion (malloc'd) */
};

typedef int (*wf_op)(sqlite3 *db, const struct wf_args *a, struct domain_result *res, char *err,
		     size_t errlen);

int cli_id_arg(const char *raw, char id[CLI_ID_MAX + 1])
{
	size_t n = raw ? strlen(raw) : 0;
	if (!n || n > CLI_ID_MAX) {
		cli_error("identifiant invalide : « %.*s ».", CLI_ID_MAX, raw ? raw : "");
		return CLI_EXIT_FAIL;
	}
	for (size_t k = 0; k <= n; k++)
		id[k] = (char)tolower((unsigned char)raw[k]);
	if (!util_is_uuid(id)) {
		cli_error("identifiant invalide : « %s » (attendu : un identifiant tel "
			  "qu'affiché par « liste »).", raw);
		return CLI_EXIT_FAIL;
	}
	return 0;
}

int cli_date_arg(const char *label, const char *raw, char out[DOMAIN_DATE_LEN + 1])
{
	const struct model_column c = { .name = "date", .kind = MODEL_DATE, .label = label,
					.flags = MODEL_REQUIRED };
	char val[64], err[CLI_ERRLEN] = "";
	if (!raw) {
		domain_today(out);
		return 0;
	}
	if (!utf8_valid_str(raw) || model_check_value(&c, raw, val, sizeof(val), err, sizeof(err)) ||
	    strlen(val) != DOMAIN_DATE_LEN) {
		cli_error("%s", err[0] ? err : "date invalide (attendu : AAAA-MM-JJ).");
		return CLI_EXIT_FAIL;
	}
	memcpy(out, val, DOMAIN_DATE_LEN + 1);
	return 0;
}

int cli_column_arg(const char *table, const char *col, const char *raw, char **out)
{
	const struct model_column *c = model_column_by_name(model_table_by_name(table), col);
	char err[CLI_ERRLEN] = "";
	*out = NULL;
	if (!c || !raw || !utf8_valid_str(raw)) {
		cli_error("valeur invalide (texte UTF-8 attendu).");
		return CLI_EXIT_FAIL;
	}
	if (!(*out = malloc(MODEL_VALUE_MAX))) {
		cli_error("%s", relais_strerror(RELAIS_ENOMEM));
		return CLI_EXIT_FAIL;
	}
	if (model_check_value(c, raw, *out, MODEL_VALUE_MAX, err, sizeof(err)) || !(*out)[0]) {
		if (!err[0])
			snprintf(err, sizeof(err), "%s : une valeur est nécessaire.", c->label);
		cli_error("%s", err);
		free(*out);
		*out = NULL;
		return CLI_EXIT_FAIL;
	}
	return 0;
}

void cli_print_note(const char *note)
{
	char *copy = strdup(note);
	if (!copy)
		return;
	for (char *line = copy, *nl; *line; line = nl + 1) {
		nl = strchr(line, '\n');
		if (nl)
			*nl = 0;
		cli_put_clean(line);
		putchar('\n');
		if (!nl)
			break;
	}
	free(copy);
}

/*
 * Opens the replica at home and runs op as one captured edit; a caf account
 * runs only what allow_caf says it may. Prints what op did, or why nothing
 * was written.
 */
static int run_op(const char *home, wf_op op, const struct wf_args *a, int allow_caf,
		  const char *what)
{
	struct replica r;
	struct sync_capture *cap = NULL;
	struct domain_result res;
	char err[CLI_ERRLEN] = "";
	int e, rc = CLI_EXIT_FAIL;

	if (cli_open(&r, home))
		return CLI_EXIT_FAIL;
	if (!allow_caf && cli_read_only(&r))
		goto out;
	if ((e = sync_capture_begin(r.db, r.tables, &cap))) {
		cli_error("écriture dans le réplica impossible : %s", relais_strerror(e));
		goto out;
	}
	memset(&res, 0, sizeof(res));
	e = op(r.db, a, &res, err, sizeof(err));
	if (e) {
		sync_capture_abort(cap);
		if (err[0])
			cli_error("%s", err);
		else
			cli_error("%s : %s ; rien n'a été modifié.", what, replica_errmsg(r.db));
		goto out;
	}
	if ((e = sync_capture_commit(cap))) {
		cli_error("enregistrement impossible : %s ; rien n'a été modifié.", relais_strerror(e));
		goto out;
	}
	cli_print_note(res.note);
	rc = 0;
out:
	replica_close(&r);
	return rc;
}

/* ---- the operations ---- */

static int op_decide_candidature(sqlite3 *db, const struct wf_args *a, struct domain_result *res,
				 char *err, size_t errlen)
{
	return domain_decide(db, a->id, a->word, a->date, a->comite[0] ? a->comite : NULL, a->text, res,
			     err, errlen);
}

static int op_delabel(sqlite3 *db, const struct wf_args *a, struct domain_result *res, char *err,
		      size_t errlen)
{
	return domain_delabel(db, a->id, a->text, a->date, res, err, errlen);
}

static int op_report(sqlite3 *db, const struct wf_args *a, struct domain_result *res, char *err,
		     size_t errlen)
{
	return domain_report(db, a->id, a->text, a->date, res, err, errlen);
}

static int op_suspend(sqlite3 *db, const struct wf_args *a, struct domain_result *res, char *err,
		      size_t errlen)
{
	return domain_suspend(db, a->id, a->text, a->date, a->until[0] ? a->until : NULL, res, err,
			      errlen);
}

static int op_reinstate(sqlite3 *db, const struct wf_args *a, struct domain_result *res, char *err,
			size_t errlen)
{
	return domain_reinstate(db, a->id, a->date, res, err, errlen);
}

static int op_caf(sqlite3 *db, const struct wf_args *a, struct domain_result *res, char *err,
		  size_t errlen)
{
	return domain_procedure_caf(db, a->id, a->date, res, err, errlen);
}

static int op_measures(sqlite3 *db, const struct wf_args *a, struct domain_result *res, char *err,
		       size_t errlen)
{
	return domain_procedure_measures(db, a->id, a->text, a->date, res, err, errlen);
}

static int op_follow(sqlite3 *db, const struct wf_args *a, struct domain_result *res, char *err,
		     size_t errlen)
{
	return domain_procedure_follow(db, a->id, a->text, a->date, res, err, errlen);
}

static int op_decide(sqlite3 *db, const struct wf_args *a, struct domain_result *res, char *err,
		     size_t errlen)
{
	return domain_procedure_decide(db, a->id, a->word, a->date, a->until[0] ? a->until : NULL,
				       res, err, errlen);
}

static int op_task_done(sqlite3 *db, const struct wf_args *a, struct domain_result *res, char *err,
			size_t errlen)
{
	return domain_task_done(db, a->id, a->date, res, err, errlen);
}

static int op_published(sqlite3 *db, const struct wf_args *a, struct domain_result *res, char *err,
			size_t errlen)
{
	return domain_directory_published(db, a->id, a->date, res, err, errlen);
}

/* ---- the commands ---- */

/*
 * One workflow command: its name and help; its text option (NULL: none), the
 * column that checks it and whether it is required; the column of its
 * --decision (NULL: none); whether it takes --jusqu-au, --comite; whether a
 * caf account may run it; and its operation.
 */
struct wf_cmd {
	const char *name, *usage, *about, *footer;
	const char *text_opt, *text_help, *text_table, *text_col;
	int text_required;
	const char *decision_table, *decision_help;
	int until, comite, allow_caf;
	const char *date_help;
	wf_op op;
	const char *what;
};

static const struct wf_cmd wf_cmds[] = {
	{ "candidature decider",
	  "ID --decision acceptee|refusee|ajournee [--date AAAA-MM-JJ] [--comite AAAA-MM-JJ] "
	  "[--avis TEXTE]",
	  "Enregistre la décision du comité sur une candidature, gardée dans son historique\n"
	  "(relais decision liste). Acceptée : le promeneur de la candidature est labellisé\n"
	  "(statut, date de labellisation) et son ajout est noté pour l'annuaire national\n"
	  "(relais changement liste). Refusée : le candidat devient « non retenu ». Le tout\n"
	  "forme une seule modification, envoyée par « relais sync ».\n",
	  "Une candidature déjà acceptée ne peut plus être tranchée : pour retirer le\n"
	  "label, utilisez « relais promeneur signaler » ou « relais promeneur delabelliser ».\n",
	  "avis", "avis du jury", "decision", "avis", 0, "candidature",
	  "acceptee, refusee ou ajournee", 0, 1, 0,
	  "date de la décision et de la labellisation (défaut : aujourd'hui)",
	  op_decide_candidature, "décision non enregistrée" },
	{ "promeneur delabelliser", "ID --motif TEXTE [--date AAAA-MM-JJ]",
	  "Retire le label d'un promeneur en une fois (décision déjà prise avec la Caf) :\n"
	  "statut « délabellisé », date et motif notés, retrait noté pour l'annuaire\n"
	  "national, procédure à l'étape du retrait avec une tâche par profil. Ses données\n"
	  "personnelles seront effacées après la durée de conservation (relais rgpd effacer).\n",
	  "La procédure pas à pas commence par « relais promeneur signaler ».\n", "motif",
	  "motif de la délabellisation", "promeneur", "motif_delabellisation", 1, NULL, NULL, 0, 0,
	  0, "date de la délabellisation (défaut : aujourd'hui)", op_delabel,
	  "délabellisation non enregistrée" },
	{ "promeneur signaler", "ID --motif TEXTE [--date AAAA-MM-JJ]",
	  "Ouvre la procédure de délabellisation d'un promeneur labellisé ou suspendu :\n"
	  "le problème constaté, daté. Les étapes suivantes : relais procedure caf\n"
	  "(référent Caf informé), relais procedure mesures (accompagnement convenu),\n"
	  "relais procedure suivre, relais procedure decider (décision prise avec la Caf).\n",
	  NULL, "motif", "problème constaté", "procedure", "motif", 1, NULL, NULL, 0, 0, 0,
	  "date du signalement (défaut : aujourd'hui)", op_report, "procédure non ouverte" },
	{ "promeneur suspendre", "ID --motif TEXTE [--date AAAA-MM-JJ] [--jusqu-au AAAA-MM-JJ]",
	  "Suspend un promeneur labellisé : statut « suspendu », procédure de suspension\n"
	  "avec son motif et ses dates, suspension à transmettre à l'annuaire national.\n",
	  "La suspension prend fin avec « relais promeneur retablir ».\n", "motif",
	  "motif de la suspension", "procedure", "motif", 1, NULL, NULL, 1, 0, 0,
	  "début de la suspension (défaut : aujourd'hui)", op_suspend, "suspension non enregistrée" },
	{ "promeneur retablir", "ID [--date AAAA-MM-JJ]",
	  "Met fin à la suspension d'un promeneur : statut « labellisé », fin de la\n"
	  "suspension datée, reprise à transmettre à l'annuaire national.\n", NULL, NULL, NULL,
	  NULL, NULL, 0, NULL, NULL, 0, 0, 0, "date de la reprise (défaut : aujourd'hui)",
	  op_reinstate, "rétablissement non enregistré" },
	{ "procedure caf", "ID [--date AAAA-MM-JJ]",
	  "Note que le référent Caf a été informé du problème (étape nécessaire avant la\n"
	  "décision, prise avec la Caf).\n", NULL, NULL, NULL, NULL, NULL, 0, NULL, NULL, 0, 0, 0,
	  "date de l'information (défaut : aujourd'hui)", op_caf, "procédure non modifiée" },
	{ "procedure mesures", "ID --mesures TEXTE [--date AAAA-MM-JJ]",
	  "Ajoute les mesures d'accompagnement convenues (datées) ; la procédure passe à\n"
	  "l'étape « accompagnement ».\n", NULL, "mesures", "mesures convenues", "procedure",
	  "mesures", 1, NULL, NULL, 0, 0, 0, "date de l'accord (défaut : aujourd'hui)", op_measures,
	  "procédure non modifiée" },
	{ "procedure suivre", "ID --suivi TEXTE [--date AAAA-MM-JJ]",
	  "Ajoute une note datée au suivi des mesures d'accompagnement.\n", NULL, "suivi",
	  "ce qui a été constaté", "procedure", "suivi_mesures", 1, NULL, NULL, 0, 0, 0,
	  "date du suivi (défaut : aujourd'hui)", op_follow, "procédure non modifiée" },
	{ "procedure decider",
	  "ID --decision maintien|suspension|delabellisation [--date AAAA-MM-JJ] "
	  "[--jusqu-au AAAA-MM-JJ]",
	  "Enregistre la décision prise avec la Caf. Maintien : la procédure est terminée.\n"
	  "Suspension : le promeneur est suspendu (jusqu'à --jusqu-au). Délabellisation :\n"
	  "le label est retiré, le retrait transmis à l'annuaire national, et une tâche\n"
	  "est créée par profil pour en retirer la mention du réseau (relais tache liste).\n",
	  "Le référent Caf doit avoir été informé (relais procedure caf).\n", NULL, NULL, NULL,
	  NULL, 0, "procedure", "maintien, suspension ou delabellisation", 1, 0, 0,
	  "date de la décision (défaut : aujourd'hui)", op_decide, "décision non enregistrée" },
	{ "tache faite", "ID [--date AAAA-MM-JJ]",
	  "Marque une tâche comme faite ; la dernière tâche d'un retrait termine la\n"
	  "procédure de délabellisation.\n", NULL, NULL, NULL, NULL, NULL, 0, NULL, NULL, 0, 0, 0,
	  "date (défaut : aujourd'hui)", op_task_done, "tâche non modifiée" },
	{ "changement publie", "ID [--date AAAA-MM-JJ]",
	  "Confirme qu'un changement transmis à l'annuaire national y est publié. C'est la\n"
	  "seule modification que peut faire un compte de la Caf.\n", NULL, NULL, NULL, NULL,
	  NULL, 0, NULL, NULL, 0, 0, 1, "date de la publication (défaut : aujourd'hui)",
	  op_published, "publication non enregistrée" },
};

static const struct wf_cmd *wf_find(const char *a, const char *b)
{
	char name[64];
	snprintf(name, sizeof(name), "%s %s", a, b ? b : "");
	for (size_t i = 0; i < sizeof(wf_cmds) / sizeof(wf_cmds[0]); i++)
		if (!strcmp(wf_cmds[i].name, name))
			return &wf_cmds[i];
	return NULL;
}

int cmd_workflow(const char *home, int argc, char **argv)
{
	const struct wf_cmd *w = argc >= 2 ? wf_find(argv[0], argv[1]) : NULL;
	const char *text_raw = NULL, *date_raw = NULL, *until_raw = NULL, *decision_raw = NULL;
	const char *comite_raw = NULL, *raw_id = NULL;
	struct option opts[6];
	struct wf_args a;
	int n = 0, nargs = 0, rc;

	if (!w) {
		cli_error("commande inconnue (voir relais --help).");
		return CLI_EXIT_USAGE;
	}
	if (w->decision_table)
		opts[n++] = (struct option)OPT_STRING_F(0, "decision", &decision_raw, "VALEUR",
							w->decision_help, OPTION_REQUIRED);
	if (w->text_opt)
		opts[n++] = (struct option)OPT_STRING_F(0, w->text_opt, &text_raw, "TEXTE", w->text_help,
							w->text_required ? OPTION_REQUIRED : 0);
	opts[n++] = (struct option)OPT_DATE(0, "date", &date_raw, w->date_help, NULL);
	if (w->comite)
		opts[n++] = (struct option)OPT_DATE(0, "comite", &comite_raw,
						    "date du comité (défaut : celle déjà notée, sinon "
						    "--date)", NULL);
	if (w->until)
		opts[n++] = (struct option)OPT_DATE(0, "jusqu-au", &until_raw,
						    "fin de la suspension (défaut : sans date de fin)",
						    NULL);
	opts[n] = (struct option)OPT_END();
	const struct options_cmd c = { &cli_prog, w->name, w->usage, w->about, opts, w->footer, 1, 1,
				       "identifiant" };
	memset(&a, 0, sizeof(a));
	if ((rc = options_parse_cmd(&c, argc - 2, argv + 2, &raw_id, &nargs)))
		return rc < 0 ? 0 : rc;
	if (cli_id_arg(raw_id, a.id) || cli_date_arg("Date", date_raw, a.date) ||
	    (until_raw && cli_date_arg("Fin de la suspension", until_raw, a.until)) ||
	    (comite_raw && cli_date_arg("Date du comité", comite_raw, a.comite)))
		return CLI_EXIT_FAIL;
	if (decision_raw) {
		char *d = NULL;
		if (cli_column_arg(w->decision_table, "decision", decision_raw, &d))
			return CLI_EXIT_FAIL;
		snprintf(a.word, sizeof(a.word), "%s", d);
		free(d);
	}
	if (text_raw && cli_column_arg(w->text_table, w->text_col, text_raw, &a.text))
		return CLI_EXIT_FAIL;
	rc = run_op(home, w->op, &a, w->allow_caf, w->what);
	free(a.text);
	return rc;
}
