# relais ui: the static assets (CSS, JS) are built into the client by
# tools/embed.c, so the interface needs nothing from the internet.
UI_ASSETS = $(sort $(wildcard clients/ui/*.css clients/ui/*.js clients/ui/*.svg))

$(O)/tools/embed: tools/embed.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $<

$(O)/clients/ui/assets.c: $(O)/tools/embed $(UI_ASSETS)
	@mkdir -p $(dir $@)
	$(O)/tools/embed $@ $(UI_ASSETS)

$(O)/clients/ui/assets.o: $(O)/clients/ui/assets.c clients/ui/assets.h
	$(CC) $(CPPFLAGS) -I. $(CFLAGS) -c -o $@ $<

$(O)/relais: $(O)/clients/ui/assets.o
