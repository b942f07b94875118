# tests/ui/ui-e2e.mk - included by the Makefile: the Node packages of the
# end-to-end tests of `relais ui` (playwright-core and axe-core, pinned by
# tests/ui/package-lock.json), installed before `make test` runs them.
#
# npm ci writes node_modules/.package-lock.json, so that file is the stamp:
# node_modules is installed again when it is missing or older than the lock
# file. Debian's nodejs and chromium are needed (sh tools/deps.sh test).

UI_E2E_DIR = tests/ui
UI_E2E_STAMP = $(UI_E2E_DIR)/node_modules/.package-lock.json

$(UI_E2E_STAMP): $(UI_E2E_DIR)/package-lock.json $(UI_E2E_DIR)/package.json
	@command -v npm >/dev/null || { echo "npm manque : sh tools/deps.sh test" >&2; exit 1; }
	cd $(UI_E2E_DIR) && npm ci --no-audit --no-fund
	touch $@

ui-e2e-deps: $(UI_E2E_STAMP)

# Only the UI's end-to-end tests. `RELAIS_UI_SCREENSHOT=1 make ui-e2e` also
# rewrites docs/ui-accueil.png, the README's picture.
ui-e2e: ui-e2e-deps
	$(MAKE) SANITIZE=1 build-san/relaisd build-san/relais build-san/relais-tests
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	RELAIS_BINDIR=$(CURDIR)/build-san RELAIS_UI_E2E=$(CURDIR)/$(UI_E2E_DIR) \
	./build-san/relais-tests ui_e2e

TEST_PREREQ += ui-e2e-deps
TEST_ENV += RELAIS_UI_E2E=$(CURDIR)/$(UI_E2E_DIR)

.PHONY: ui-e2e-deps ui-e2e
