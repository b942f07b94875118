/*
 * domain.h - the network's rules, under every door (prefix domain_).
 *
 * Every write of a row of the model's tables, from the command line, the web
 * interface, the mail gateway, an import or the demonstration data, goes
 * through this module, and so do the network's workflows: deciding a
 * candidature, labelling (through an accepted candidature), suspending and
 * reinstating a promeneur, délabellising, and the change of the national
 * directory that each implies. A rule lives here once and holds whichever
 * door an edit comes through.
 *
 * The module prints nothing and knows no door. It writes with plain SQL on
 * the database it is given, inside the caller's transaction: a replica's
 * captured edit (sync_capture_begin) or the server's own write
 * (sync_local_begin), so that a workflow and its consequences are one edit.
 * Failures come back as RELAIS_E* codes with a French message in the
 * caller's buffer; for a value at fault, the message starts with the
 * column's label.
 *
 * Attendance: a promeneur (or a partner's contact) is registered once for an
 * event (RELAIS_EEXIST); present at a « formation initiale », their initial
 * training is marked done; present at the training planned for one of their
 * needs, the need is « satisfait ». A need given its training is
 * « planifié »; a request referred to a resource person gets the date of the
 * referral.
 *
 * The national directory: a change of what it shows of a labelled or
 * suspended promeneur (names, phone, mail, structure, public, online
 * profiles) is queued as a « modification » naming the fields, merged into
 * the one not transmitted yet.
 *
 * Workflow columns: promeneur.statut, candidature.decision,
 * procedure.etape and procedure.decision, task.faite, directory_change.publie
 * are never written as plain values. Setting them through domain_write()
 * runs their workflow (a decision, a délabellisation given its motif, a
 * reinstatement, a task done, a publication), or is refused with the
 * command that does it — the same answer at every door. The rows of
 * procedure and decision are created by their workflows only.
 */
#ifndef RELAIS_MODEL_DOMAIN_H
#define RELAIS_MODEL_DOMAIN_H

#include <stddef.h>
#include <sqlite3.h>
#include "../common/relais.h"
#include "model.h"

#define DOMAIN_ID_LEN 36
#define DOMAIN_DATE_LEN 10
#define DOMAIN_MSG_MAX 512

/*
 * Checks and normalises one value typed by a person (or read from a file or
 * a mail) for column c, as model_check_value() does, and for a reference
 * also that the row it names exists in db. out is "" for an empty value
 * (stored as NULL). Returns 0, RELAIS_EINVAL with the French reason in err,
 * or another RELAIS_E* code.
 */
int domain_check_value(sqlite3 *db, const struct model_column *c, const char *raw,
		       char *out, size_t outlen, char *err, size_t errlen) RELAIS_WUR;

/* One normalised value to write: NULL stores NULL. */
struct domain_value {
	const struct model_column *col;
	const char *val;
};

/* What a write did, for the door to tell the person. */
struct domain_result {
	char id[DOMAIN_ID_LEN + 1];  /* the row written (the new id on creation) */
	int workflow;                /* a workflow ran (see note) */
	char note[DOMAIN_MSG_MAX];   /* French, what the workflow did; "" when none */
};

/*
 * Creates (id NULL: a new UUID, in dept) or updates row id of t with n
 * normalised values, checked first: required columns on creation, values
 * still valid, references existing, workflow columns run or refused. today
 * is the date of the edit (YYYY-MM-DD), used by workflows. Returns 0 with
 * res filled, RELAIS_ENOTFOUND (no such row), RELAIS_EINVAL (refused, the
 * reason in err), RELAIS_ECONSTRAINT (the schema refused, SQLite's words),
 * or another RELAIS_E* code. Nothing is written on failure (the caller
 * aborts its transaction).
 */
int domain_write(sqlite3 *db, const struct model_table *t, const char *id, const char *dept,
		 const struct domain_value *v, size_t n, const char *today,
		 struct domain_result *res, char *err, size_t errlen) RELAIS_WUR;

/* domain_write() for what is read from the national directory itself (relais
 * import annuaire): it already shows these values, so no change of it is
 * queued. */
int domain_write_from_directory(sqlite3 *db, const struct model_table *t, const char *id,
				const char *dept, const struct domain_value *v, size_t n,
				const char *today, struct domain_result *res, char *err,
				size_t errlen) RELAIS_WUR;

/* Deletes row id of t. RELAIS_ENOTFOUND when absent. */
int domain_delete(sqlite3 *db, const struct model_table *t, const char *id,
		  char *err, size_t errlen) RELAIS_WUR;

/*
 * The committee's decision on candidature id: "acceptee", "refusee",
 * "ajournee". date is the decision's (and the labellisation's), comite the
 * committee's (NULL: the one noted, else date), avis the jury's opinion
 * (NULL: none). Every decision is kept in the candidature's history (table
 * decision), in order. Accepting labels the candidature's promeneur (statut,
 * date) and queues their addition to the national directory, unless already
 * labelled; refusing makes a candidate « non retenu » (kept as long as the
 * retention rules say). An accepted candidature is decided for good
 * (délabellisation is its own procedure).
 */
int domain_decide(sqlite3 *db, const char *id, const char *decision, const char *date,
		  const char *comite, const char *avis, struct domain_result *res,
		  char *err, size_t errlen) RELAIS_WUR;

/*
 * The délabellisation procedure of the livret, each step dated:
 * domain_report() opens it (the problem seen, for a labelled or suspended
 * promeneur); domain_procedure_caf() notes that the CAF referent was told;
 * domain_procedure_measures() records the support agreed (étape
 * « accompagnement »), domain_procedure_follow() their follow-up;
 * domain_procedure_decide() records the decision taken with the CAF (which
 * needs the referent told): « maintien » closes the procedure,
 * « suspension » suspends (until: its end, NULL when open), and
 * « délabellisation » délabellises. Texts are appended, dated, never
 * overwritten. res->id is the procedure's id.
 */
int domain_report(sqlite3 *db, const char *promeneur, const char *motif, const char *date,
		  struct domain_result *res, char *err, size_t errlen) RELAIS_WUR;
int domain_procedure_caf(sqlite3 *db, const char *id, const char *date,
			 struct domain_result *res, char *err, size_t errlen) RELAIS_WUR;
int domain_procedure_measures(sqlite3 *db, const char *id, const char *mesures, const char *date,
			      struct domain_result *res, char *err, size_t errlen) RELAIS_WUR;
int domain_procedure_follow(sqlite3 *db, const char *id, const char *suivi, const char *date,
			    struct domain_result *res, char *err, size_t errlen) RELAIS_WUR;
int domain_procedure_decide(sqlite3 *db, const char *id, const char *decision, const char *date,
			    const char *until, struct domain_result *res, char *err,
			    size_t errlen) RELAIS_WUR;

/*
 * Délabellises promeneur id on date for motif (required): statut, date and
 * motif, their removal from the national directory queued, the procedure
 * (the open one, else a new one) at its withdrawal step, and one task per
 * online profile (removing the network's name from it); with no profile the
 * procedure is over at once. An open suspension ends.
 */
int domain_delabel(sqlite3 *db, const char *id, const char *motif, const char *date,
		   struct domain_result *res, char *err, size_t errlen) RELAIS_WUR;

/*
 * Suspends labelled promeneur id from date for motif (required) until
 * until (NULL: until reinstated): statut, a suspension procedure with its
 * reason and dates, and the suspension queued for the national directory.
 * domain_reinstate() ends it on date and queues the « reprise ».
 */
int domain_suspend(sqlite3 *db, const char *id, const char *motif, const char *date,
		   const char *until, struct domain_result *res, char *err, size_t errlen) RELAIS_WUR;
int domain_reinstate(sqlite3 *db, const char *id, const char *date,
		     struct domain_result *res, char *err, size_t errlen) RELAIS_WUR;

/* Marks task id done on date; the last task of a withdrawal ends its
 * procedure (« terminée », date of the withdrawal). */
int domain_task_done(sqlite3 *db, const char *id, const char *date,
		     struct domain_result *res, char *err, size_t errlen) RELAIS_WUR;

/* The CAF's confirmation that the national site shows change id (transmitted
 * first): publie and its date. The one write a « caf » account makes. */
int domain_directory_published(sqlite3 *db, const char *id, const char *date,
			       struct domain_result *res, char *err, size_t errlen) RELAIS_WUR;

/* The journal's messages still waiting for a person: in quarantine, not
 * handled. */
#define DOMAIN_MAIL_WAITING_SQL \
	"resultat = 'quarantaine' AND (traitement IS NULL OR traitement = 'a_traiter')"

/*
 * Handles message id of the mail journal, waiting in quarantine: attaches it
 * (traitement "rattache", attached the "table:id" of the record it became)
 * or files it ("classe", attached NULL). RELAIS_EEXIST when it is no longer
 * waiting (handled meanwhile, on this replica or another), nothing written.
 */
int domain_mail_handle(sqlite3 *db, const char *id, const char *traitement, const char *attached,
		       char *err, size_t errlen) RELAIS_WUR;

/*
 * Appends to out the SQL expression that names a row of t for people, over
 * alias "r": "r.prenom || ' ' || r.nom" for people, the subject for mail,
 * else the first listed text column. RELAIS_ENOTFOUND when t has none (its
 * id then names it), or a buf error.
 */
struct buf;
int domain_title_sql(const struct model_table *t, struct buf *out) RELAIS_WUR;

/* Today's date, YYYY-MM-DD, local time. */
void domain_today(char out[DOMAIN_DATE_LEN + 1]);

#endif
