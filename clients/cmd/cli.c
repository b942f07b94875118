#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <jansson.h>
#include <string.h>
#include "../../common/buf.h"
#include "../../common/util.h"
#include "cli.h"

void cli_error(const char *fmt, ...)
{
	va_list ap;
	fputs("relais : ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

size_t cli_utf8_width(const char *s, size_t n)
{
	size_t w = 0;
	for (size_t i = 0; i < n && s[i]; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			w++;
	return w;
}

size_t cli_utf8_prefix(const char *s, size_t max)
{
	size_t i = 0, w = 0;
	while (s[i]) {
		if (((unsigned char)s[i] & 0xc0) != 0x80) {
			if (w == max)
				break;
			w++;
		}
		i++;
	}
	return i;
}

char *cli_cell_fit(char *s)
{
	if (!s)
		return NULL;
	size_t keep = cli_utf8_prefix(s, CLI_CELL_MAX);
	if (!s[keep])
		return s;
	size_t cut = cli_utf8_prefix(s, CLI_CELL_MAX - 1);
	char *t = malloc(cut + sizeof("…"));
	if (t) {
		memcpy(t, s, cut);
		memcpy(t + cut, "…", sizeof("…"));
	}
	free(s);
	return t;
}

void cli_print_padded(const char *s, size_t width, int last)
{
	fputs(s, stdout);
	if (last)
		return;
	for (size_t w = cli_utf8_width(s, strlen(s)); w < width + 2; w++)
		putchar(' ');
}

int cli_is_help(const char *arg)
{
	return !strcmp(arg, "--help") || !strcmp(arg, "-h");
}

void cli_print_field(const char *label, const char *value)
{
	printf("%s :%s", label, *value ? " " : "");
	for (const char *p = value; *p; p++) {
		putchar(*p);
		if (*p == '\n' && p[1])
			fputs("    ", stdout);
	}
	putchar('\n');
}

int cli_tmp_open(struct file_tmp *t, const char *path)
{
	char why[512];
	if (util_mkdirs_for(path, 0700, why, sizeof(why))) {
		cli_error("%s", why);
		return RELAIS_EIO;
	}
	int rc = file_tmp_open(t, path, 0600);
	if (rc)
		cli_error("impossible de créer « %s » : %s.", path,
			  rc == RELAIS_EIO ? util_errno_fr(errno) : relais_strerror(rc));
	return rc;
}

int cli_tmp_commit(struct file_tmp *t, const char *path)
{
	int rc = file_tmp_commit(t);
	if (rc)
		cli_error("impossible d'écrire « %s » : %s.", path,
			  rc == RELAIS_EIO ? util_errno_fr(errno) : relais_strerror(rc));
	return rc;
}

int cli_print_json(const json_t *v)
{
	/* Compact and in insertion order, so that two replicas holding the same
	 * data print the same bytes. */
	char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	if (!s)
		return RELAIS_ENOMEM;
	int rc = fputs(s, stdout) < 0 ? RELAIS_EIO : 0;
	free(s);
	return rc;
}

int cli_print_json_line(const json_t *v)
{
	if (cli_print_json(v)) {
		cli_error("%s", relais_strerror(RELAIS_ENOMEM));
		return CLI_EXIT_FAIL;
	}
	putchar('\n');
	return 0;
}

int cli_print_rows(struct replica *r, sqlite3_stmt *st)
{
	json_t *arr = json_array();
	int s = SQLITE_DONE, rc = CLI_EXIT_FAIL;

	while (arr && (s = sqlite3_step(st)) == SQLITE_ROW)
		if (json_array_append_new(arr, replica_row_json(st)))
			break;
	if (!arr || s == SQLITE_ROW)
		cli_error("%s", relais_strerror(RELAIS_ENOMEM));
	else if (s != SQLITE_DONE)
		cli_error("lecture du réplica impossible : %s", replica_errmsg(r->db));
	else
		rc = cli_print_json_line(arr);
	json_decref(arr);
	return rc;
}

int cli_list(struct replica *r, int built, const struct buf *sql, int json, cli_rows_fn human,
	     const void *arg)
{
	sqlite3_stmt *st = NULL;
	int rc = CLI_EXIT_FAIL;

	if (built || sqlite3_prepare_v2(r->db, buf_str(sql), -1, &st, NULL) != SQLITE_OK)
		cli_error("lecture du réplica impossible : %s", replica_errmsg(r->db));
	else
		rc = json ? cli_print_rows(r, st) : human(st, arg);
	sqlite3_finalize(st);
	return rc;
}

int cli_show(struct replica *r, int built, const struct buf *sql, const char *id, int json,
	     cli_rows_fn human, const void *arg)
{
	sqlite3_stmt *st = NULL;
	json_t *obj = NULL;
	int s = SQLITE_ERROR, rc = CLI_EXIT_FAIL;

	if (!built && sqlite3_prepare_v2(r->db, buf_str(sql), -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
		s = sqlite3_step(st);
	}
	if (s == SQLITE_DONE)
		rc = RELAIS_ENOTFOUND;
	else if (s != SQLITE_ROW)
		cli_error("lecture du réplica impossible : %s", replica_errmsg(r->db));
	else if (!json)
		rc = human(st, arg);
	else if (!(obj = replica_row_json(st)))
		cli_error("%s", relais_strerror(RELAIS_ENOMEM));
	else
		rc = cli_print_json_line(obj);
	json_decref(obj);
	sqlite3_finalize(st);
	return rc;
}

int cli_open(struct replica *r, const char *home)
{
	char err[CLI_ERRLEN];
	if (replica_open(r, home, 0, err, sizeof(err))) {
		cli_error("%s", err);
		return CLI_EXIT_FAIL;
	}
	return 0;
}

int cli_read_only(struct replica *r)
{
	int ro = replica_read_only(r);
	if (ro)
		cli_error("ce compte (rôle caf) est en lecture seule : modification refusée.");
	return ro;
}

void cli_put_clean(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p < 0x20 || *p == 0x7f) {
			putchar('?');
		} else if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
			putchar('?');
			p++;
		} else {
			putchar(*p);
		}
	}
}
