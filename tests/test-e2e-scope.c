/*
 * test-e2e-scope.c - a token reaches its département only, a CAF token only
 * reads, and a bad token learns nothing.
 */
#include <stdlib.h>
#include <string.h>
#include "../model/model.h"
#include "harness.h"
#include "test.h"

#define SCHEMA_HEADER "X-Relais-Schema: 3\r\n"

_Static_assert(MODEL_SCHEMA_VERSION == 3, "update SCHEMA_HEADER");

static const char *const depts[] = { "65", "43" };

struct scope {
	struct h_daemon d;
	char t65[H_TOKEN], t43[H_TOKEN], tcaf[H_TOKEN];
};

static int scope_start(struct scope *s, const char *name)
{
	if (h_daemon_init(&s->d, name) ||
	    h_daemon_user(&s->d, "coord-hautes-pyrenees", "65", "coordinateur", s->t65) ||
	    h_daemon_user(&s->d, "coord-haute-loire", "43", "coordinateur", s->t43) ||
	    h_daemon_user(&s->d, "referente-caf-65", "65", "caf", s->tcaf))
		return -1;
	return h_daemon_serve(&s->d);
}

/* Every row of every table of an export belongs to dept. */
static int all_rows_of(json_t *exp, const char *dept)
{
	const char *table;
	json_t *rows;
	json_object_foreach(exp, table, rows) {
		size_t i;
		json_t *row;
		json_array_foreach(rows, i, row) {
			const char *d = h_row_str(row, "dept");
			if (!d || strcmp(d, dept)) {
				fprintf(stderr, "  %s row of dept %s in a %s export\n", table,
					d ? d : "(none)", dept);
				return 0;
			}
		}
	}
	return 1;
}

TEST(e2e_scope_replicas_see_their_departement)
{
	struct scope s;
	h_setup();
	CHECK(scope_start(&s, "scope") == 0);
	const char *R65 = h_replica(&s.d, "r65", s.t65);
	const char *R43 = h_replica(&s.d, "r43", s.t43);
	CHECK(R65 && R43);
	const char *s65 = h_relais_ok(R65, "structure", "add", "--nom", "MJC de Tarbes", "--commune", "Tarbes", (char *)NULL);
	const char *s43 = h_relais_ok(R43, "structure", "add", "--nom", "MJC du Puy", "--commune", "Le Puy-en-Velay", (char *)NULL);
	CHECK(s65 && s43);
	const char *p43 = h_relais_ok(R43, "promeneur", "add", "--prenom", "Jade", "--nom", "Roux",
				      "--email", "jade@example.org", "--structure", s43, (char *)NULL);
	CHECK(p43 != NULL);
	for (int i = 0; i < 2; i++) {
		CHECK_IDX(h_sync(R65, &s.d) == 0, i);
		CHECK_IDX(h_sync(R43, &s.d) == 0, i);
	}
	json_t *e65 = h_export(R65), *e43 = h_export(R43);
	CHECK(e65 && e43);
	CHECK(all_rows_of(e65, "65"));
	CHECK(all_rows_of(e43, "43"));
	CHECK(h_export_row(e65, "structure", s65) != NULL);
	CHECK(h_export_row(e65, "structure", s43) == NULL);
	CHECK(h_export_row(e65, "promeneur", p43) == NULL);
	CHECK(h_export_row(e43, "structure", s43) != NULL);
	CHECK(h_export_row(e43, "structure", s65) == NULL);

	/* status shows who the replica is. */
	json_t *st = h_status(R43);
	CHECK(st != NULL);
	CHECK_STR(json_string_value(json_object_get(st, "dept")), "43");
	CHECK_STR(json_string_value(json_object_get(st, "login")), "coord-haute-loire");
	CHECK_STR(json_string_value(json_object_get(st, "role")), "coordinateur");
	CHECK_STR(json_string_value(json_object_get(st, "server")), s.d.url);
	CHECK_INT(json_integer_value(json_object_get(st, "pending")), 0);
	CHECK_INT(json_integer_value(json_object_get(st, "conflicts")), 0);
	const char *last = json_string_value(json_object_get(st, "last_sync"));
	CHECK(last && strlen(last) == 20 && last[4] == '-' && last[10] == 'T' && last[19] == 'Z');

	/* The CAF replica reads 65 and nothing of 43. */
	const char *Rcaf = h_replica(&s.d, "rcaf", s.tcaf);
	CHECK(Rcaf != NULL);
	CHECK(h_sync(Rcaf, &s.d) == 0);
	const char *t65 = h_export_text(R65), *tcaf = h_export_text(Rcaf);
	CHECK(t65 && tcaf);
	CHECK_STR(tcaf, t65);

	/* Its edits, if the client takes them at all, never reach the server. */
	struct h_out *o = h_relais(Rcaf, "structure", "add", "--nom", "Ajout Caf", "--commune", "Tarbes", (char *)NULL);
	if (o->status == 0) {
		struct h_out *sy = h_relais(Rcaf, "sync", "--server", s.d.url, (char *)NULL);
		CHECK(sy->status != 0);
		CHECK(sy->errlen > 0);
	} else {
		CHECK_INT(o->status, 1);
	}
	CHECK(h_sync(R65, &s.d) == 0);
	json_t *after = h_export(R65);
	CHECK(after != NULL);
	CHECK_INT(h_export_count(after, "structure"), 1);
	CHECK_INT(h_daemon_stop(&s.d), 0);
}

/* POSTs a sealed push with token; returns the status (0 when none). */
static int post_push(const struct scope *s, const char *token, const struct buf *env, struct h_http *r)
{
	if (h_http(s->d.port, "POST", "/v1/push", token, SCHEMA_HEADER, env->data, env->len, r))
		return 0;
	return r->status;
}

TEST(e2e_scope_crafted_pushes_refused)
{
	struct scope s;
	struct h_http r;
	h_setup();
	CHECK(scope_start(&s, "craft") == 0);
	const char *fp0 = h_store_fingerprint(&s.d, depts, 2);
	CHECK(fp0 != NULL);

	/* A row of 43 in every table, pushed with the 65 token: 403, nothing changes. */
	for (size_t i = 0; i < model_ntables; i++) {
		struct buf raw = BUF_INIT(1u << 20), env = BUF_INIT(1u << 20);
		char id[37];
		int ok = h_craft_push(h_strf("x43-%zu", i), model_table_names[i], "43", id, &raw, NULL) == 0 &&
			 h_seal(&raw, MODEL_SCHEMA_VERSION, &env) == 0;
		int st = ok ? post_push(&s, s.t65, &env, &r) : -1;
		buf_release(&raw);
		buf_release(&env);
		CHECK_IDX(ok, i);
		CHECK_INT_IDX(st, 403, i);
		CHECK_IDX(h_http_error_json(&r, "forbidden") == 0, i);
		CHECK_STR_IDX(h_store_fingerprint(&s.d, depts, 2), fp0, i);
	}

	/* A CAF token may not write, even in its own département. */
	struct buf raw = BUF_INIT(1u << 20), env = BUF_INIT(1u << 20);
	char id[37];
	int ok = h_craft_push("caf", "structure", "65", id, &raw, NULL) == 0 &&
		 h_seal(&raw, MODEL_SCHEMA_VERSION, &env) == 0;
	int st = ok ? post_push(&s, s.tcaf, &env, &r) : -1;
	buf_release(&raw);
	buf_release(&env);
	CHECK(ok);
	CHECK_INT(st, 403);
	CHECK(h_http_error_json(&r, "forbidden") == 0);
	CHECK_STR(h_store_fingerprint(&s.d, depts, 2), fp0);

	/* The same crafting with the right token is accepted: the refusals
	 * above were about scope, not about a malformed push. */
	struct buf raw2 = BUF_INIT(1u << 20), env2 = BUF_INIT(1u << 20);
	char id2[37];
	ok = h_craft_push("ok65", "structure", "65", id2, &raw2, NULL) == 0 &&
	     h_seal(&raw2, MODEL_SCHEMA_VERSION, &env2) == 0;
	st = ok ? post_push(&s, s.t65, &env2, &r) : -1;
	struct h_http again;
	int st2 = ok ? post_push(&s, s.t65, &env2, &again) : -1;
	buf_release(&raw2);
	buf_release(&env2);
	CHECK(ok);
	CHECK_INT(st, 200);
	json_t *j = h_json(r.body, r.bodylen);
	CHECK(j != NULL);
	CHECK_INT(json_integer_value(json_object_get(j, "items")), 1);
	CHECK_INT(json_integer_value(json_object_get(j, "acked")), 1);
	const char *fp1 = h_store_fingerprint(&s.d, depts, 2);
	CHECK(fp1 && strcmp(fp1, fp0));
	/* Sent twice, applied once. */
	CHECK_INT(st2, 200);
	json_t *j2 = h_json(again.body, again.bodylen);
	CHECK(j2 != NULL);
	CHECK_INT(json_integer_value(json_object_get(j2, "items")), 0);
	CHECK_INT(json_integer_value(json_object_get(j2, "acked")), 1);
	CHECK_STR(h_store_fingerprint(&s.d, depts, 2), fp1);

	const char *R65 = h_replica(&s.d, "r65", s.t65), *R43 = h_replica(&s.d, "r43", s.t43);
	CHECK(R65 && R43);
	CHECK(h_sync(R65, &s.d) == 0);
	CHECK(h_sync(R43, &s.d) == 0);
	json_t *e65 = h_export(R65), *e43 = h_export(R43);
	CHECK(e65 && e43);
	CHECK(h_export_row(e65, "structure", id2) != NULL);
	CHECK_INT(h_export_count(e65, "structure"), 1);
	CHECK_INT(h_export_count(e43, "structure"), 0);
	CHECK(h_daemon_healthy(&s.d));
	CHECK_INT(h_daemon_stop(&s.d), 0);
}

/* Nothing in an authentication failure may help an attacker. */
static int reveals_nothing(const struct h_http *r, const struct scope *s)
{
	static const char *const words[] = {
		"sqlite", "SELECT", "select ", "INSERT", "table", "coord-", "referente",
		"relais.db", ".c:", "0x", "rls_", "stack", "Traceback",
	};
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strcasestr(r->body, words[i])) {
			fprintf(stderr, "  401 body reveals \"%s\": %s\n", words[i], r->body);
			return 0;
		}
	if (strstr(r->body, s->d.data) || strstr(r->body, s->t65) || strstr(r->body, s->t43)) {
		fprintf(stderr, "  401 body reveals a path or a token: %s\n", r->body);
		return 0;
	}
	return 1;
}

TEST(e2e_scope_bad_tokens_get_401)
{
	struct scope s;
	struct h_http r;
	h_setup();
	CHECK(scope_start(&s, "auth") == 0);
	struct buf raw = BUF_INIT(1u << 20), env = BUF_INIT(1u << 20);
	char id[37];
	int ok = h_craft_push("p", "structure", "65", id, &raw, NULL) == 0 &&
		 h_seal(&raw, MODEL_SCHEMA_VERSION, &env) == 0;
	CHECK(ok);
	const char *fp0 = h_store_fingerprint(&s.d, depts, 2);
	CHECK(fp0 != NULL);

	/* A real token with its last character changed. */
	char near[H_TOKEN];
	snprintf(near, sizeof(near), "%s", s.t65);
	size_t nl = strlen(near);
	near[nl - 1] = near[nl - 1] == 'a' ? 'b' : 'a';

	static const struct {
		const char *method, *path;
		int body;
		int tok; /* 0: none, 1: unknown, 2: near miss, 3: raw header */
		const char *header;
	} cases[] = {
		{ "POST", "/v1/push", 1, 0, NULL },
		{ "POST", "/v1/push", 1, 1, NULL },
		{ "POST", "/v1/push", 1, 2, NULL },
		{ "POST", "/v1/push", 1, 3, "Authorization: Basic Y29vcmQ6c2VjcmV0\r\n" },
		{ "POST", "/v1/push", 1, 3, "Authorization: Bearer\r\n" },
		{ "POST", "/v1/push", 1, 3, "Authorization: Bearer ' OR 1=1 --\r\n" },
		{ "GET", "/v1/pull?since=0&limit=100", 0, 0, NULL },
		{ "GET", "/v1/pull?since=0&limit=100", 0, 2, NULL },
		{ "GET", "/v1/snapshot?since=0&limit=100", 0, 1, NULL },
		{ "GET", "/v1/whoami", 0, 0, NULL },
		{ "GET", "/v1/whoami", 0, 2, NULL },
	};
	const char *first_body = NULL;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *tok = cases[i].tok == 1 ? "rls_0000000000000000000000000000000000000000"
				: cases[i].tok == 2 ? near : NULL;
		const char *extra = cases[i].tok == 3 ? h_strf("%s%s", cases[i].header, SCHEMA_HEADER)
						      : SCHEMA_HEADER;
		int rc = h_http(s.d.port, cases[i].method, cases[i].path, tok, extra,
				cases[i].body ? env.data : NULL, cases[i].body ? env.len : 0, &r);
		CHECK_IDX(rc == 0, i);
		CHECK_INT_IDX(r.status, 401, i);
		CHECK_IDX(h_http_error_json(&r, "auth") == 0, i);
		CHECK_IDX(reveals_nothing(&r, &s), i);
		/* No oracle: every failure reads the same. */
		if (!first_body)
			first_body = r.body;
		CHECK_STR_IDX(r.body, first_body, i);
	}
	buf_release(&raw);
	buf_release(&env);
	CHECK_STR(h_store_fingerprint(&s.d, depts, 2), fp0);

	/* The real tokens work. */
	CHECK(h_http(s.d.port, "GET", "/v1/whoami", s.t43, NULL, NULL, 0, &r) == 0);
	CHECK_INT(r.status, 200);
	json_t *j = h_json(r.body, r.bodylen);
	CHECK(j != NULL);
	CHECK_STR(json_string_value(json_object_get(j, "login")), "coord-haute-loire");
	CHECK_STR(json_string_value(json_object_get(j, "dept")), "43");
	CHECK_STR(json_string_value(json_object_get(j, "role")), "coordinateur");
	CHECK(h_daemon_healthy(&s.d));
	CHECK_INT(h_daemon_stop(&s.d), 0);
}
