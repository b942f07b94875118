/*
 * assets.h - the static files of relais ui (CSS, JS), built into the
 * program by tools/embed.c so that nothing is fetched from the internet.
 * The generated $(O)/clients/ui/assets.c defines the table.
 */
#ifndef RELAIS_CLIENT_UI_ASSETS_H
#define RELAIS_CLIENT_UI_ASSETS_H

#include <stddef.h>

struct ui_asset {
	const char *name;          /* file name, served as /static/NAME */
	const char *type;          /* Content-Type */
	const unsigned char *data;
	size_t len;
};

extern const struct ui_asset ui_assets[];
extern const size_t ui_nassets;

#endif
