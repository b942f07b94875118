/*
 * ui.h - "relais ui": the coordinator's local web interface (prefix ui_).
 *
 * One process serves HTML pages on 127.0.0.1 from net/http on a libuv loop.
 * Page handlers run on the loop thread, one at a time, against the replica
 * that the command keeps open (and locked) for its whole run; their SQLite
 * work must stay short. A sync runs "relais sync" as a child process while
 * the replica is closed; meanwhile pages answer "synchronisation en cours"
 * without calling any handler, so a handler always has an open replica.
 *
 * The framework does the security before any handler runs (docs/ui.md):
 * the per-run secret cookie, the Host header, and for every POST the CSRF
 * field UI_CSRF_FIELD and the Origin header. A handler only builds its page.
 *
 * Writing a screen:
 *
 *     static int page_liste(struct ui_ctx *c)
 *     {
 *             int rc = ui_page_begin(c, "Événements", "evenements");
 *             ...append HTML to c->out, escaping with buf_puts_html()...
 *             if (!rc)
 *                     rc = ui_page_end(c);
 *             return rc;
 *     }
 *     void ui_evenements_routes(struct ui *u)
 *     {
 *             ui_route(u, "GET", "/evenements", page_liste);
 *             ui_route(u, "GET", "/evenements/{id}", page_un);
 *             ui_route(u, "POST", "/evenements/{id}", page_enregistrer);
 *     }
 */
#ifndef RELAIS_CLIENT_UI_H
#define RELAIS_CLIENT_UI_H

#include <stddef.h>
#include <jansson.h>
#include <sqlite3.h>
#include "../../common/buf.h"
#include "../../common/relais.h"
#include "../../common/util.h"
#include "../../model/domain.h"
#include "../../model/model.h"
#include "../replica/replica.h"

/* Name of the hidden form field that carries the CSRF token. */
#define UI_CSRF_FIELD "csrf"
/* Cap of one generated page (and of a JSON answer). */
#define UI_MAX_PAGE (8u << 20)
/* Cap of a request body (urlencoded forms only). */
#define UI_MAX_BODY (1u << 20)
/* The port tried first; taken, any free port is used. */
#define UI_DEFAULT_PORT 8765

struct ui;
struct ui_req; /* internal: parsed parameters, query and form */

/*
 * What a handler receives. Every pointer is valid until the handler returns;
 * copy what must live longer.
 */
struct ui_ctx {
	struct ui *ui;
	struct replica *replica; /* open; replica->db, replica->tables */
	sqlite3 *db;             /* replica->db */
	const char *home;        /* the replica's directory */
	const char *login;       /* the account's login ("" when unknown) */
	const char *dept;        /* the account's département ("" when unknown) */
	int read_only;           /* 1 for a caf account: offer no forms, refuse writes */
	const char *method;      /* "GET", "POST" */
	const char *path;        /* the decoded path, e.g. "/structures/1b0c..." */
	const char *csrf;        /* the token to put in every form (ui_csrf_input()) */
	struct buf *out;         /* the answer's body (HTML by default) */
	struct ui_req *req;      /* internal */
};

/*
 * A handler builds its answer into c->out with the helpers below and
 * returns 0; by default the answer is 200 text/html. On a non-zero
 * RELAIS_E* return, whatever was built is dropped and an error page is
 * sent instead (404 for RELAIS_ENOTFOUND, 403 for RELAIS_EPERM, else 500).
 * c->out's sticky error (buf_error(), common/buf.h) counts as such a
 * return: appends need no check of their own, and a page that failed
 * halfway is never sent.
 */
typedef int (*ui_page_fn)(struct ui_ctx *c);

/*
 * Registers a page for method ("GET" or "POST") and pattern: literal
 * segments and "{name}" segments matching any one non-empty segment, e.g.
 * "/structures/{id}/modifier". Routes are tried in registration order. A
 * registration that fails (no memory, a malformed pattern) makes the
 * command refuse to start, so the registration functions return nothing.
 * pattern must outlive u (a string literal).
 */
void ui_route(struct ui *u, const char *method, const char *pattern, ui_page_fn fn);

/* The value of the path parameter "{name}" (percent-decoded), or NULL. */
const char *ui_param(const struct ui_ctx *c, const char *name);
/* The first value of name in the query string (decoded, '+' as a space),
 * or NULL when absent. */
const char *ui_query(const struct ui_ctx *c, const char *name);
/* The first value of name in an urlencoded POST body, or NULL. */
const char *ui_form(const struct ui_ctx *c, const char *name);
/* The n-th value (from 0) of name in the POST body, for repeated fields
 * such as checkboxes; NULL past the last. */
const char *ui_form_nth(const struct ui_ctx *c, const char *name, size_t n);

/* ---- answers ---- */

/*
 * Starts an HTML page: doctype, lang="fr", the head with the embedded CSS
 * and JS, the skip link, the menu with menu (the id of one of its entries
 * in ui.c: "accueil", "annuaire", "evenements", "formation", "national",
 * "synthese"..., or NULL) marked current,
 * the flash message of the previous redirect if any, then <main> and the
 * page's single <h1> with title (escaped).
 */
int ui_page_begin(struct ui_ctx *c, const char *title, const char *menu);
/* Closes <main> and the page. These two and ui_csrf_input() return 0 or
 * c->out's sticky error. */
int ui_page_end(struct ui_ctx *c);

/*
 * Answers 303 See Other to location (a local path such as "/structures/ID")
 * and keeps flash (French, may be NULL) to show on the next page. Drops
 * anything already in c->out.
 */
int ui_redirect(struct ui_ctx *c, const char *location, const char *flash) RELAIS_WUR;

/* A whole French error page with status (400, 404, 409...) and message
 * (escaped). Drops anything already in c->out. */
int ui_error_page(struct ui_ctx *c, int status, const char *message) RELAIS_WUR;

/* Answers status with the JSON value v (takes the reference, also on
 * failure), for the small JS calls. */
int ui_json(struct ui_ctx *c, int status, json_t *v) RELAIS_WUR;

/* Sets the status of the answer built in c->out (e.g. 422 for a form sent
 * back with errors). */
void ui_status(struct ui_ctx *c, int status);
/* Makes c->out a file to save: content_type and a download named filename
 * (letters, digits, '-', '_' and '.' only, else RELAIS_EINVAL). */
int ui_download(struct ui_ctx *c, const char *content_type, const char *filename) RELAIS_WUR;

/* Asks the browser to reload the page after seconds (a Refresh header),
 * for pages that follow something in progress without JavaScript. */
void ui_refresh(struct ui_ctx *c, int seconds);

/* Appends the hidden CSRF field; every <form method="post"> needs it. */
int ui_csrf_input(struct ui_ctx *c);

/* ---- model-driven forms (ui-form.c; used by the fiches and the events) ---- */

/*
 * The values of a form for table t, checked with model_check_value():
 * values[i] and errors[i] belong to t->columns[i]. values[i] is the
 * normalised value (NULL when the field was left empty or absent), errors[i]
 * a French message or NULL. given[i] is 1 when the form had the field.
 */
struct ui_form_values {
	const struct model_table *t;
	char **values;
	char **errors;
	int *given;
	char **raw;      /* what was typed, to show back with an error */
	size_t nerrors;
	char note[DOMAIN_MSG_MAX]; /* what a workflow did on save (domain.h); "" when none */
};

/*
 * Reads the fields of t from the POST body (field names are the column
 * names) and checks each: required columns when creating, the model's
 * rules, references to rows that exist. Returns 0 (errors or not: see
 * fv->nerrors) or RELAIS_ENOMEM / RELAIS_EDB. Release with
 * ui_form_values_release() in any case.
 */
int ui_form_values_read(struct ui_ctx *c, const struct model_table *t, int creating,
			struct ui_form_values *fv) RELAIS_WUR;
void ui_form_values_release(struct ui_form_values *fv);

/*
 * Writes fv through the domain layer as one captured local edit (the same
 * path as the CLI's commands: queued for the next sync): a new row with its
 * id written to id_out when id is NULL, else the given columns of row id;
 * a workflow column runs its workflow (fv->note says what it did).
 * RELAIS_EPERM for a read-only account, RELAIS_EINVAL when the domain layer
 * refused (the reason added to fv->errors, on the column it names, and
 * fv->nerrors raised: show the form again), RELAIS_ECONSTRAINT when the
 * schema refused a value, RELAIS_ENOTFOUND for an update of an unknown row.
 */
int ui_form_values_save(struct ui_ctx *c, struct ui_form_values *fv, const char *id,
			char id_out[UTIL_UUID_LEN + 1]) RELAIS_WUR;

/*
 * Writes through the domain layer as one captured local edit, queued for
 * the next sync (the path of the CLI's commands): a new row of t with the
 * n values v (id NULL; in the account's département), those columns of row
 * id, or the deletion of row id (id set, v NULL). res (may be NULL; zeroed
 * first) says what a workflow did and which row was written; err (errlen
 * bytes) why the domain layer refused. Returns 0, or the domain layer's
 * RELAIS_E* code (RELAIS_EINVAL refused, RELAIS_EEXIST a duplicate,
 * RELAIS_ENOTFOUND an unknown row...) with nothing written.
 */
int ui_domain_write(struct ui_ctx *c, const struct model_table *t, const char *id,
		    const struct domain_value *v, size_t n, struct domain_result *res, char *err,
		    size_t errlen) RELAIS_WUR;

/*
 * Appends the label, input and error message of column col of t, the
 * input's kind from the model (select for enumerations, booleans and
 * references to rows of the replica, textarea for multi-line text). value
 * is the current value (or NULL), error a French message tied to the input
 * with aria-describedby (or NULL).
 */
int ui_model_field(struct ui_ctx *c, const struct model_table *t,
		   const struct model_column *col, const char *value, const char *error) RELAIS_WUR;

/*
 * Appends the value of result column i of st, a value of column col, as
 * people read it: « oui » or « non », an enumeration's words, a phone number
 * in pairs, multi-line text kept so, « non renseigné » for NULL; dates as
 * 12/03/2025, e-mail addresses, web addresses and rows of the replica as
 * links, or, plain, dates in words and rows by their titles without links.
 * In ui-fiche.c.
 */
int ui_value_html(struct ui_ctx *c, const struct model_column *col, sqlite3_stmt *st, int i,
		  int plain);

/* The human title of row id of table (a name, a date and a title...),
 * malloc'd; NULL when the row is unknown or on ENOMEM. */
char *ui_row_title(struct ui_ctx *c, const char *table, const char *id);
/* The SQL expression of that title over the columns of table's row (a
 * static string; "id" for a table without one), for lists ordered by it. */
const char *ui_title_sql(const char *table);

/* The French words of an enumeration's value ("labellise" as "labellisé",
 * "centre_social" as "centre social"); a value it does not know comes back
 * as is. Never NULL (NULL gives ""). */
const char *ui_value_label(const char *value);

/* ---- the server ---- */

/*
 * Serves the interface of the replica of home on 127.0.0.1 until SIGINT or
 * SIGTERM: on port, or when port < 0 on UI_DEFAULT_PORT and any free port
 * when that one is taken. Prints the address (with the session's key) on
 * stdout and opens it in the browser when browser is set. Returns 0, or a
 * RELAIS_E* code with the French reason in err (errlen REPLICA_ERRLEN
 * suffices); after a run that went well, err may still hold a warning
 * (resources the loop did not free).
 */
int ui_serve(const char *home, int port, int browser, char *err, size_t errlen) RELAIS_WUR;

/* ---- screens: each file registers its routes (called by ui.c) ---- */

void ui_accueil_routes(struct ui *u);     /* ui-accueil.c: "/", sync */
void ui_annuaire_routes(struct ui *u);    /* ui-annuaire.c: directory, search */
void ui_fiche_routes(struct ui *u);       /* ui-fiche.c: structure and promeneur pages */
void ui_evenements_routes(struct ui *u);  /* ui-evenements.c: events, attendance */
void ui_courrier_routes(struct ui *u);    /* ui-courrier.c: quarantined mail */
void ui_conflits_routes(struct ui *u);    /* ui-conflits.c: conflicts */
void ui_synthese_routes(struct ui *u);    /* ui-synthese.c: annual synthesis */
void ui_documents_routes(struct ui *u);   /* ui-documents.c: a document's bytes */
void ui_procedures_routes(struct ui *u);  /* ui-procedures.c: the workflows' forms */
void ui_demandes_routes(struct ui *u);    /* ui-demandes.c: the requests' queue */
void ui_national_routes(struct ui *u);    /* ui-national.c: the national directory's changes */
void ui_gouvernance_routes(struct ui *u); /* ui-gouvernance.c: an event's guests */
void ui_formation_routes(struct ui *u);   /* ui-formation.c: needs and the training plan */
void ui_personne_routes(struct ui *u);    /* ui-personne.c: a person's data (RGPD) */

/* ui-procedures.c. The « Procédures » section of promeneur id's page: each
 * procedure with its steps dated, the forms of its next step, and the
 * forms that open one (signaler, suspendre) or end a suspension. */
int ui_procedures_section(struct ui_ctx *c, const char *id) RELAIS_WUR;
/* The « Tâches » section of promeneur id's page, each with « Faite ». */
int ui_tasks_section(struct ui_ctx *c, const char *id) RELAIS_WUR;
/* The home page's « Tâches à faire »: every task not done, by due date. */
int ui_tasks_home(struct ui_ctx *c) RELAIS_WUR;
/* The « Décisions du comité » section of candidature id's page: the history
 * and, until accepted, the « Décider » form. */
int ui_decisions_section(struct ui_ctx *c, const char *id) RELAIS_WUR;
/* The national directory's list of the changes still to publish: the
 * only place, with the home page, a publication form may come back to. */
#define UI_DIRECTORY_TODO "/annuaire-national?filtre=a_publier"
/* ui-national.c. The home page's « Annuaire national »: how many changes
 * wait for the CAF's confirmation, how many are still to transmit, each a
 * link to the list; nothing when none. */
int ui_national_home(struct ui_ctx *c) RELAIS_WUR;
/* The « Confirmer la publication » form of directory change id (a date,
 * today's by default), posted to /annuaire-national/{id}/publier; the one
 * form a « caf » account is offered. retour (UI_DIRECTORY_TODO or NULL)
 * is where the answer goes back to. */
int ui_directory_publish_form(struct ui_ctx *c, const char *id, const char *retour) RELAIS_WUR;
/* ui-evenements.c. 0 when event id is in the replica, else RELAIS_ENOTFOUND
 * (RELAIS_EDB when it cannot be read). */
int ui_event_exists(struct ui_ctx *c, const char *id) RELAIS_WUR;
/* Answers 303 to event id's page with flash, as ui_redirect() does. */
int ui_event_redirect(struct ui_ctx *c, const char *id, const char *flash) RELAIS_WUR;
/* Starts <form method="post" action="/evenements/EVENT + suffix"> (event
 * percent-encoded, suffix a path already encoded) of class cls, with the
 * CSRF field. */
int ui_event_form(struct ui_ctx *c, const char *event, const char *suffix, const char *cls);
/* A row of one of event's lists ("participants" or "invites") from the
 * columns of st: 0 the row's id, 1 the person's, 2 their name (a link to
 * person + their id), 3 their structure or partner, 4 presence_effective;
 * then, unless the account is read-only, « Marquer présent(e) » or
 * « absent(e) » and « Retirer », each button naming whom it acts on. */
int ui_presence_row(struct ui_ctx *c, sqlite3_stmt *st, const char *event, const char *list,
		    const char *person);
/* ui-gouvernance.c. The « Ordre du jour et compte rendu » section of event
 * id's page (the agenda, the minutes, to whom and when they were
 * circulated), then « Documents de la réunion » (the documents attached to
 * it, each a link to its download). */
int ui_event_meeting(struct ui_ctx *c, const char *id) RELAIS_WUR;
/* 1 for the columns of the event that section shows (the page's list of
 * fields leaves them out). */
int ui_event_meeting_column(const char *name);
/* The « Partenaires invités » section of event id's page, after the
 * promeneurs' attendance: the partners' contacts invited, present or not,
 * with their forms. */
int ui_event_governance(struct ui_ctx *c, const char *id) RELAIS_WUR;
/* ui-formation.c. The training needs planned on event id, with their
 * promeneur and status; nothing when none. */
int ui_event_needs(struct ui_ctx *c, const char *id) RELAIS_WUR;
/* ui-demandes.c. The home page's « Demandes ouvertes », oldest first. */
int ui_demandes_home(struct ui_ctx *c) RELAIS_WUR;
/* The « Orientation » section of request id's page: while it is open, the
 * form that refers it to a resource person. */
int ui_demande_section(struct ui_ctx *c, const char *id) RELAIS_WUR;
/* The « Documents » section of the fiche id of table: the documents
 * attached to it, each a link to its download; nothing when none. */
int ui_documents_section(struct ui_ctx *c, const char *table, const char *id) RELAIS_WUR;
/* The « Pièces jointes » section of a message of the journal: each document
 * with its download link, and a form to attach it to a fiche. */
int ui_documents_of_mail(struct ui_ctx *c, const char *courrier) RELAIS_WUR;

/* ---- between the files of the UI ---- */

/* The text of result column i of st's current row, "" for NULL; valid
 * until the next step or column call on st. In ui-form.c. */
const char *ui_col_text(sqlite3_stmt *st, int i);

/* A table of the rows of a statement, for ui_table_rows(). */
struct ui_table {
	const char *caption;      /* escaped */
	const char *const *heads; /* as html_table_begin() takes them */
	const char *empty;        /* the paragraph shown when there is no row (escaped) */
	int (*row)(struct ui_ctx *c, sqlite3_stmt *st, const void *arg); /* appends one <tr> */
	const void *arg;
};
/* Steps st to its end and finalizes it: the first row opens the table,
 * t->row appends each, the table is closed after the last; with no row,
 * only the paragraph t->empty. Returns 0 or c->out's error, the first
 * non-zero code of t->row, or RELAIS_EDB. In ui-form.c. */
int ui_table_rows(struct ui_ctx *c, sqlite3_stmt *st, const struct ui_table *t) RELAIS_WUR;

/* The choices of a select, as struct html_field (ui-html.h) takes them:
 * options values, option_labels labels, noptions n. Zero it to start. */
struct ui_options {
	char **values, **labels;
	size_t n, alloc;
};
/* Adds a choice; value and label are copied. 0 or RELAIS_ENOMEM. */
int ui_options_add(struct ui_options *o, const char *value, const char *label) RELAIS_WUR;
/* Adds the rows of sql (key, when not NULL, bound to its ?1), at most max:
 * its first column as the value, its second as the label.
 * Returns 0, RELAIS_ENOMEM or RELAIS_EDB. */
int ui_options_select(struct ui_options *o, sqlite3 *db, const char *sql, const char *key,
		      size_t max) RELAIS_WUR;
/* Frees the choices and zeroes o; accepts an empty one. */
void ui_options_release(struct ui_options *o);

/* Like ui_route, for the few pages that work without the replica (the sync's
 * progress): they are called during a sync too, with c->db and c->replica
 * NULL. */
void ui_route_nodb(struct ui *u, const char *method, const char *pattern, ui_page_fn fn);

/* (Re)builds the search index of the directory on db (a TEMP FTS5 table,
 * never replicated nor captured) and the TEMP triggers that keep it in step
 * with this connection's writes; called each time the replica is opened.
 * In ui-annuaire.c. */
int ui_annuaire_index(sqlite3 *db) RELAIS_WUR;

enum ui_sync_state { UI_SYNC_IDLE, UI_SYNC_RUNNING, UI_SYNC_DONE, UI_SYNC_FAILED };

/* Starts "relais sync" in a child process, closing the replica until it
 * ends. RELAIS_EBUSY when one is running already. */
int ui_sync_start(struct ui *u) RELAIS_WUR;
/* The state of the last sync and its French message ("" while none);
 * the message is valid until the next ui_sync_start(). */
enum ui_sync_state ui_sync_state(const struct ui *u, const char **message);

#endif
