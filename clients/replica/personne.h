/*
 * personne.h - everything the replica holds on one promeneur, for the right
 * of access (prefix personne_): the rows of « relais personne export » and
 * of the « Données personnelles » page of relais ui, which must name the
 * same ones.
 *
 * The rows are found from the model (every reference column to promeneur),
 * so a table added later is listed without a change here. Nothing is
 * printed.
 */
#ifndef RELAIS_CLIENT_PERSONNE_H
#define RELAIS_CLIENT_PERSONNE_H

#include <jansson.h>
#include <sqlite3.h>
#include "../../common/relais.h"
#include "../../model/model.h"

enum personne_kind {
	PERSONNE_FICHE, /* the promeneur's own row (one at most) */
	PERSONNE_ROWS,  /* the rows of a table that names them in a reference column */
	PERSONNE_MAIL,  /* the messages of the mail journal sent from their address */
};

/* One part of a person's data: its kind and the table of its rows
 * (promeneur, the naming table, inbound_mail). */
struct personne_part {
	enum personne_kind kind;
	const struct model_table *t;
};

/*
 * Hands each part of the data on promeneur id to fn, in this order: the
 * fiche, each table of the model (of this schema) with a reference column
 * to promeneur, in the model's order, then the messages from their address.
 * st is a SELECT * of that part's rows (ordered by id, the messages by date
 * received), prepared and bound: fn steps it, personne_walk() finalizes it.
 * Returns 0, the first non-zero value of fn (the walk stops there),
 * RELAIS_EDB or RELAIS_ENOMEM. Does not check that id is a promeneur.
 */
int personne_walk(sqlite3 *db, const char *id,
		  int (*fn)(const struct personne_part *p, sqlite3_stmt *st, void *arg),
		  void *arg) RELAIS_WUR;

/*
 * The data on promeneur id as one JSON object: "promeneur" its fiche, then
 * one array of rows per part, named by its table ("inbound_mail" for the
 * messages), each row as replica_row_json() writes it. *out is a new
 * reference on success (the caller decrefs it), else NULL. Returns 0,
 * RELAIS_ENOTFOUND when id is no promeneur of the replica, RELAIS_EDB or
 * RELAIS_ENOMEM.
 */
int personne_export(sqlite3 *db, const char *id, json_t **out) RELAIS_WUR;

#endif
