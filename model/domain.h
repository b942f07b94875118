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
 * Attendance: a promeneur is registered once for an event (RELAIS_EEXIST);
 * present at a « formation initiale », their initial training is marked done.
 *
 * Workflow columns: promeneur.statut and candidature.decision are never
 * written as plain values. Setting them through domain_write() runs their
 * workflow (a decision, a suspension, a délabellisation given its motif),
 * or is refused with the command that does it — the same answer at every
 * door.
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

/* Deletes row id of t. RELAIS_ENOTFOUND when absent. */
int domain_delete(sqlite3 *db, const struct model_table *t, const char *id,
		  char *err, size_t errlen) RELAIS_WUR;

/*
 * The committee's decision on candidature id: "acceptee", "refusee",
 * "ajournee". date is the decision's (and the labellisation's), comite the
 * committee's (NULL: the one noted, else date). Accepting labels the
 * candidature's promeneur (statut, date) and queues their addition to the
 * national directory, unless already labelled. An accepted candidature is
 * decided for good (délabellisation is its own workflow).
 */
int domain_decide(sqlite3 *db, const char *id, const char *decision, const char *date,
		  const char *comite, struct domain_result *res, char *err, size_t errlen) RELAIS_WUR;

/* Délabellises promeneur id on date for motif (required): statut, date and
 * motif, and their removal from the national directory queued. */
int domain_delabel(sqlite3 *db, const char *id, const char *motif, const char *date,
		   struct domain_result *res, char *err, size_t errlen) RELAIS_WUR;

/* Suspends a labelled promeneur, or reinstates a suspended one (suspend 0);
 * either is a change to transmit to the national directory. */
int domain_suspend(sqlite3 *db, const char *id, int suspend, const char *date,
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
