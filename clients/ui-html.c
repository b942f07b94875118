/*
 * ui-html.c - HTML building blocks of relais ui: escaping, labelled form
 * fields with their errors, accessible tables.
 */
#include <stdio.h>
#include <string.h>
#include "ui-html.h"

int html_esc(struct buf *b, const char *s)
{
	const char *p = s ? s : "", *run = p;
	int rc = 0;
	for (; *p && !rc; p++) {
		const char *e;
		switch (*p) {
		case '&': e = "&amp;"; break;
		case '<': e = "&lt;"; break;
		case '>': e = "&gt;"; break;
		case '"': e = "&quot;"; break;
		case '\'': e = "&#39;"; break;
		default: continue;
		}
		rc = buf_append(b, run, (size_t)(p - run));
		if (!rc)
			rc = buf_puts(b, e);
		run = p + 1;
	}
	if (!rc)
		rc = buf_append(b, run, (size_t)(p - run));
	return rc;
}

int html_url(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	int rc = 0;
	for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p && !rc; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		    *p == '-' || *p == '_' || *p == '.' || *p == '~') {
			rc = buf_putc(b, *p);
		} else {
			char e[3] = { '%', hex[*p >> 4], hex[*p & 15] };
			rc = buf_append(b, e, 3);
		}
	}
	return rc;
}

int html_tag(struct buf *b, const char *tag, const char *text)
{
	int rc = buf_printf(b, "<%s>", tag);
	if (!rc)
		rc = html_esc(b, text);
	if (!rc)
		rc = buf_printf(b, "</%s>\n", tag);
	return rc;
}

int html_link(struct buf *b, const char *href, const char *text)
{
	int rc = buf_puts(b, "<a href=\"");
	if (!rc)
		rc = html_esc(b, href);
	if (!rc)
		rc = buf_puts(b, "\">");
	if (!rc)
		rc = html_esc(b, text);
	if (!rc)
		rc = buf_puts(b, "</a>");
	return rc;
}

static const char *input_type(enum html_input t)
{
	switch (t) {
	case HTML_EMAIL: return "email";
	case HTML_TEL: return "tel";
	case HTML_DATE: return "date";
	case HTML_NUMBER: return "number";
	case HTML_URL: return "url";
	case HTML_SEARCH: return "search";
	case HTML_CHECKBOX: return "checkbox";
	case HTML_TEXT:
	case HTML_TEXTAREA:
	case HTML_SELECT:
		break;
	}
	return "text";
}

/* The attributes shared by every control: id, name, required, the
 * descriptions and the invalid state. */
static int common_attrs(struct buf *b, const struct html_field *f)
{
	int rc = buf_puts(b, " id=\"");
	if (!rc)
		rc = html_esc(b, f->name);
	if (!rc)
		rc = buf_puts(b, "\" name=\"");
	if (!rc)
		rc = html_esc(b, f->name);
	if (!rc)
		rc = buf_putc(b, '"');
	if (!rc && f->required)
		rc = buf_puts(b, " required aria-required=\"true\"");
	if (!rc && (f->hint || f->error)) {
		rc = buf_puts(b, " aria-describedby=\"");
		if (!rc && f->error) {
			rc = html_esc(b, f->name);
			if (!rc)
				rc = buf_puts(b, "-erreur");
		}
		if (!rc && f->hint) {
			if (f->error)
				rc = buf_putc(b, ' ');
			if (!rc)
				rc = html_esc(b, f->name);
			if (!rc)
				rc = buf_puts(b, "-aide");
		}
		if (!rc)
			rc = buf_putc(b, '"');
	}
	if (!rc && f->error)
		rc = buf_puts(b, " aria-invalid=\"true\"");
	return rc;
}

static int select_control(struct buf *b, const struct html_field *f)
{
	int rc = buf_puts(b, "<select");
	if (!rc)
		rc = common_attrs(b, f);
	if (!rc)
		rc = buf_puts(b, ">\n");
	if (!rc && !f->required)
		rc = buf_puts(b, "<option value=\"\">—</option>\n");
	for (size_t i = 0; !rc && (f->noptions ? i < f->noptions : f->options && f->options[i]); i++) {
		const char *v = f->options[i];
		const char *l = f->option_labels && f->option_labels[i] ? f->option_labels[i] : v;
		rc = buf_puts(b, "<option value=\"");
		if (!rc)
			rc = html_esc(b, v);
		if (!rc)
			rc = buf_printf(b, "\"%s>", f->value && !strcmp(f->value, v) ? " selected" : "");
		if (!rc)
			rc = html_esc(b, l);
		if (!rc)
			rc = buf_puts(b, "</option>\n");
	}
	if (!rc)
		rc = buf_puts(b, "</select>\n");
	return rc;
}

int html_field(struct buf *b, const struct html_field *f)
{
	int checkbox = f->type == HTML_CHECKBOX;
	int rc = buf_printf(b, "<div class=\"champ%s%s\">\n", checkbox ? " case" : "",
			    f->error ? " en-erreur" : "");
	/* A checkbox reads best with its label after it. */
	if (!rc && !checkbox) {
		rc = buf_puts(b, "<label for=\"");
		if (!rc)
			rc = html_esc(b, f->name);
		if (!rc)
			rc = buf_puts(b, "\">");
		if (!rc)
			rc = html_esc(b, f->label);
		if (!rc && f->required)
			rc = buf_puts(b, " <span class=\"requis\">(obligatoire)</span>");
		if (!rc)
			rc = buf_puts(b, "</label>\n");
	}
	if (!rc && f->hint) {
		rc = buf_puts(b, "<p class=\"aide\" id=\"");
		if (!rc)
			rc = html_esc(b, f->name);
		if (!rc)
			rc = buf_puts(b, "-aide\">");
		if (!rc)
			rc = html_esc(b, f->hint);
		if (!rc)
			rc = buf_puts(b, "</p>\n");
	}
	if (!rc && f->error) {
		rc = buf_puts(b, "<p class=\"erreur\" id=\"");
		if (!rc)
			rc = html_esc(b, f->name);
		if (!rc)
			rc = buf_puts(b, "-erreur\">");
		if (!rc)
			rc = html_esc(b, f->error);
		if (!rc)
			rc = buf_puts(b, "</p>\n");
	}
	if (rc)
		return rc;
	switch (f->type) {
	case HTML_SELECT:
		rc = select_control(b, f);
		break;
	case HTML_TEXTAREA:
		rc = buf_puts(b, "<textarea rows=\"5\"");
		if (!rc)
			rc = common_attrs(b, f);
		if (!rc)
			rc = buf_putc(b, '>');
		if (!rc)
			rc = html_esc(b, f->value);
		if (!rc)
			rc = buf_puts(b, "</textarea>\n");
		break;
	case HTML_CHECKBOX:
		/* An unchecked box sends nothing: the hidden 0 after it says "no",
		 * and ui_form() takes the first value, the box's when checked. */
		rc = buf_puts(b, "<input type=\"checkbox\" value=\"1\"");
		if (!rc)
			rc = common_attrs(b, f);
		if (!rc && f->value && !strcmp(f->value, "1"))
			rc = buf_puts(b, " checked");
		if (!rc)
			rc = buf_puts(b, ">\n<input type=\"hidden\" value=\"0\" name=\"");
		if (!rc)
			rc = html_esc(b, f->name);
		if (!rc)
			rc = buf_puts(b, "\">\n<label for=\"");
		if (!rc)
			rc = html_esc(b, f->name);
		if (!rc)
			rc = buf_puts(b, "\">");
		if (!rc)
			rc = html_esc(b, f->label);
		if (!rc)
			rc = buf_puts(b, "</label>\n");
		break;
	default:
		rc = buf_printf(b, "<input type=\"%s\"", input_type(f->type));
		if (!rc)
			rc = common_attrs(b, f);
		if (!rc && f->type == HTML_NUMBER && f->min < f->max)
			rc = buf_printf(b, " min=\"%lld\" max=\"%lld\"", f->min, f->max);
		if (!rc && f->type == HTML_TEL)
			rc = buf_puts(b, " autocomplete=\"tel\"");
		if (!rc && f->type == HTML_EMAIL)
			rc = buf_puts(b, " autocomplete=\"email\"");
		if (!rc)
			rc = buf_puts(b, " value=\"");
		if (!rc)
			rc = html_esc(b, f->value);
		if (!rc)
			rc = buf_puts(b, "\">\n");
		break;
	}
	if (!rc)
		rc = buf_puts(b, "</div>\n");
	return rc;
}

int html_table_begin(struct buf *b, const char *caption, const char *const *headers)
{
	int rc = buf_puts(b, "<div class=\"tableau\"><table>\n");
	if (!rc && caption)
		rc = html_tag(b, "caption", caption);
	if (!rc)
		rc = buf_puts(b, "<thead><tr>");
	for (size_t i = 0; !rc && headers && headers[i]; i++) {
		rc = buf_puts(b, "<th scope=\"col\">");
		if (!rc)
			rc = html_esc(b, headers[i]);
		if (!rc)
			rc = buf_puts(b, "</th>");
	}
	if (!rc)
		rc = buf_puts(b, "</tr></thead>\n<tbody>\n");
	return rc;
}

int html_table_end(struct buf *b)
{
	return buf_puts(b, "</tbody>\n</table></div>\n");
}

int html_row_head(struct buf *b, const char *text, const char *href)
{
	int rc = buf_puts(b, "<th scope=\"row\">");
	if (!rc)
		rc = href ? html_link(b, href, text) : html_esc(b, text);
	if (!rc)
		rc = buf_puts(b, "</th>");
	return rc;
}

int html_cell(struct buf *b, const char *text)
{
	int rc = buf_puts(b, "<td>");
	if (!rc)
		rc = html_esc(b, text);
	if (!rc)
		rc = buf_puts(b, "</td>");
	return rc;
}

void html_date_fr(const char *iso, char *out, size_t outlen)
{
	if (!outlen)
		return;
	if (iso && strlen(iso) >= 10 && iso[4] == '-' && iso[7] == '-') {
		snprintf(out, outlen, "%.2s/%.2s/%.4s", iso + 8, iso + 5, iso);
		return;
	}
	snprintf(out, outlen, "%s", iso ? iso : "");
}
