/*
 * ui-html.c - HTML building blocks of relais ui: escaping, labelled form
 * fields with their errors, accessible tables.
 */
#include <stdio.h>
#include <string.h>
#include "../../common/util.h"
#include "ui-html.h"

int html_url(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		    *p == '-' || *p == '_' || *p == '.' || *p == '~') {
			buf_putc(b, *p);
		} else {
			char e[3] = { '%', hex[*p >> 4], hex[*p & 15] };
			buf_append(b, e, 3);
		}
	}
	return buf_error(b);
}

int html_tag(struct buf *b, const char *tag, const char *text)
{
	buf_printf(b, "<%s>", tag);
	buf_puts_html(b, text);
	buf_printf(b, "</%s>\n", tag);
	return buf_error(b);
}

int html_link(struct buf *b, const char *href, const char *text)
{
	if (!href)
		return buf_puts_html(b, text);
	buf_puts(b, "<a href=\"");
	buf_puts_html(b, href);
	buf_puts(b, "\">");
	buf_puts_html(b, text);
	buf_puts(b, "</a>");
	return buf_error(b);
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
static const char *field_id(const struct html_field *f)
{
	return f->id ? f->id : f->name;
}

static int common_attrs(struct buf *b, const struct html_field *f)
{
	buf_puts(b, " id=\"");
	buf_puts_html(b, field_id(f));
	buf_puts(b, "\" name=\"");
	buf_puts_html(b, f->name);
	buf_putc(b, '"');
	if (f->required)
		buf_puts(b, " required aria-required=\"true\"");
	if (f->hint || f->error) {
		buf_puts(b, " aria-describedby=\"");
		if (f->error) {
			buf_puts_html(b, field_id(f));
			buf_puts(b, "-erreur");
		}
		if (f->hint) {
			if (f->error)
				buf_putc(b, ' ');
			buf_puts_html(b, field_id(f));
			buf_puts(b, "-aide");
		}
		buf_putc(b, '"');
	}
	if (f->error)
		buf_puts(b, " aria-invalid=\"true\"");
	return buf_error(b);
}

static int select_control(struct buf *b, const struct html_field *f)
{
	buf_puts(b, "<select");
	common_attrs(b, f);
	buf_puts(b, ">\n");
	if (!f->required)
		buf_puts(b, "<option value=\"\">—</option>\n");
	for (size_t i = 0; (f->noptions ? i < f->noptions : f->options && f->options[i]); i++) {
		const char *v = f->options[i];
		const char *l = f->option_labels && f->option_labels[i] ? f->option_labels[i] : v;
		buf_puts(b, "<option value=\"");
		buf_puts_html(b, v);
		buf_printf(b, "\"%s>", f->value && !strcmp(f->value, v) ? " selected" : "");
		buf_puts_html(b, l);
		buf_puts(b, "</option>\n");
	}
	buf_puts(b, "</select>\n");
	return buf_error(b);
}

/* The hint or the error of field name: <p class="kind" id="name-kind">,
 * the id that aria-describedby names. */
static void description(struct buf *b, const char *kind, const char *name, const char *text)
{
	buf_printf(b, "<p class=\"%s\" id=\"", kind);
	buf_puts_html(b, name);
	buf_printf(b, "-%s\">", kind);
	buf_puts_html(b, text);
	buf_puts(b, "</p>\n");
}

int html_field(struct buf *b, const struct html_field *f)
{
	int checkbox = f->type == HTML_CHECKBOX;
	buf_printf(b, "<div class=\"champ%s%s\">\n", checkbox ? " case" : "",
		   f->error ? " en-erreur" : "");
	/* A checkbox reads best with its label after it. */
	if (!checkbox) {
		buf_puts(b, "<label for=\"");
		buf_puts_html(b, field_id(f));
		buf_puts(b, "\">");
		buf_puts_html(b, f->label);
		if (f->required)
			buf_puts(b, " <span class=\"requis\">(obligatoire)</span>");
		buf_puts(b, "</label>\n");
	}
	if (f->hint)
		description(b, "aide", field_id(f), f->hint);
	if (f->error)
		description(b, "erreur", field_id(f), f->error);
	switch (f->type) {
	case HTML_SELECT:
		select_control(b, f);
		break;
	case HTML_TEXTAREA:
		buf_puts(b, "<textarea rows=\"5\"");
		common_attrs(b, f);
		buf_putc(b, '>');
		buf_puts_html(b, f->value);
		buf_puts(b, "</textarea>\n");
		break;
	case HTML_CHECKBOX:
		/* An unchecked box sends nothing: the hidden 0 after it says "no",
		 * and ui_form() takes the first value, the box's when checked. */
		buf_puts(b, "<input type=\"checkbox\" value=\"1\"");
		common_attrs(b, f);
		if (f->value && !strcmp(f->value, "1"))
			buf_puts(b, " checked");
		buf_puts(b, ">\n<input type=\"hidden\" value=\"0\" name=\"");
		buf_puts_html(b, f->name);
		buf_puts(b, "\">\n<label for=\"");
		buf_puts_html(b, field_id(f));
		buf_puts(b, "\">");
		buf_puts_html(b, f->label);
		buf_puts(b, "</label>\n");
		break;
	default:
		buf_printf(b, "<input type=\"%s\"", input_type(f->type));
		common_attrs(b, f);
		if (f->type == HTML_NUMBER && f->min < f->max)
			buf_printf(b, " min=\"%lld\" max=\"%lld\"", f->min, f->max);
		if (f->type == HTML_TEL)
			buf_puts(b, " autocomplete=\"tel\"");
		if (f->type == HTML_EMAIL)
			buf_puts(b, " autocomplete=\"email\"");
		buf_puts(b, " value=\"");
		buf_puts_html(b, f->value);
		buf_puts(b, "\">\n");
		break;
	}
	buf_puts(b, "</div>\n");
	return buf_error(b);
}

int html_table_begin(struct buf *b, const char *caption, const char *const *headers)
{
	buf_puts(b, "<div class=\"tableau\"><table>\n");
	if (caption)
		html_tag(b, "caption", caption);
	buf_puts(b, "<thead><tr>");
	for (size_t i = 0; headers && headers[i]; i++) {
		buf_puts(b, "<th scope=\"col\">");
		buf_puts_html(b, headers[i]);
		buf_puts(b, "</th>");
	}
	buf_puts(b, "</tr></thead>\n<tbody>\n");
	return buf_error(b);
}

int html_table_end(struct buf *b)
{
	return buf_puts(b, "</tbody>\n</table></div>\n");
}

int html_row_head(struct buf *b, const char *text, const char *href)
{
	buf_puts(b, "<th scope=\"row\">");
	html_link(b, href, text);
	buf_puts(b, "</th>");
	return buf_error(b);
}

int html_cell(struct buf *b, const char *text)
{
	buf_puts(b, "<td>");
	buf_puts_html(b, text);
	buf_puts(b, "</td>");
	return buf_error(b);
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

int html_date_words(struct buf *b, const char *iso)
{
	char d[UTIL_DATE_FR_LEN];
	util_date_fr(iso, d, sizeof(d));
	buf_puts(b, "<time datetime=\"");
	buf_puts_html(b, iso);
	buf_puts(b, "\">");
	buf_puts_html(b, d);
	return buf_puts(b, "</time>");
}
