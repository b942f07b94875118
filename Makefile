# Relais - plain Makefile.
#   make              build relaisd and relais (optimised)
#   make test         build with ASan+UBSan and run every test
#   make run          start a demonstration server on loopback
#   make bench        build and run the benchmarks
#   make install      PREFIX=/usr/local DESTDIR=
#   make SANITIZE=1   build the sanitizer variant into build-san/

CC ?= cc
PREFIX ?= /usr/local
BINDIR = $(PREFIX)/bin
PKGS = libuv sqlite3 zlib jansson gnutls libcurl libzip libxml-2.0

ifeq ($(SANITIZE),1)
O ?= build-san
OPT = -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
else
O ?= build
OPT = -O2 -g
endif

WARN = -std=c11 -Wall -Wextra -Wstrict-prototypes -Wmissing-prototypes -Wvla \
       -Wwrite-strings -Wformat-security -fno-common -Werror
CPPFLAGS += -D_GNU_SOURCE -DSQLITE_ENABLE_SESSION -DSQLITE_ENABLE_PREUPDATE_HOOK \
            $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
CFLAGS += $(WARN) $(OPT) -MMD -MP
LDFLAGS += $(filter -fsanitize%,$(OPT))
LDLIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -luv -lsqlite3 -lz -ljansson -lgnutls -lcurl -lzip -lxml2) \
         -letpan -lxlsxwriter -lhttp_parser -lpthread -lm $(EXTRA_LIBS)

LIB_SRC = $(wildcard common/*.c model/*.c net/*.c sync/*.c mailgw/*.c)
DAEMON_SRC = $(wildcard daemon/*.c)
CLIENT_SRC = $(wildcard clients/cmd/*.c clients/replica/*.c clients/ui/*.c)
TEST_SRC = $(wildcard tests/*.c)
BENCH_SRC = $(wildcard bench/*.c)

obj = $(patsubst %.c,$(O)/%.o,$(1))
LIB_OBJ = $(call obj,$(LIB_SRC))

PROGRAMS = $(O)/relaisd $(O)/relais

all: $(PROGRAMS)

# Parts with build rules of their own. Each may add to TEST_PREREQ (built
# before the tests run) and TEST_ENV (variables the test runner receives).
TEST_PREREQ =
TEST_ENV =
-include clients/ui/ui.mk tests/ui/ui-e2e.mk fuzz/fuzz.mk tests/soak/soak.mk packaging/packaging.mk

$(O)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(O)/librelais.a: $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $^

$(O)/relaisd: $(call obj,$(DAEMON_SRC)) $(O)/librelais.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(O)/relais: $(call obj,$(CLIENT_SRC)) $(O)/librelais.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The tests also link the daemon's modules (not its main) for unit tests of them.
$(O)/relais-tests: $(call obj,$(TEST_SRC)) $(O)/tests/soak/faultproxy.o $(filter-out $(O)/daemon/main.o,$(call obj,$(DAEMON_SRC))) $(O)/librelais.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Each bench/NAME.c is a program of its own; bench-mail also links GMime, the
# reference it is compared with.
BENCHES = $(patsubst bench/%.c,$(O)/%,$(BENCH_SRC))
GMIME = gmime-3.0

$(O)/bench-sync: $(O)/bench/bench-sync.o $(O)/tests/soak/faultproxy.o $(O)/librelais.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(O)/bench-rural: $(O)/bench/bench-rural.o $(O)/tests/soak/faultproxy.o $(O)/librelais.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# bench-rural compares with PouchDB and express-pouchdb, from npm (sh
# tools/deps.sh bench installs node and npm; without them it says it skips).
BENCH_COUCH_STAMP = bench/couch/node_modules/.package-lock.json
$(BENCH_COUCH_STAMP): bench/couch/package-lock.json
	@if command -v npm >/dev/null; then cd bench/couch && npm ci --no-audit --no-fund; \
	else echo "npm manque (sh tools/deps.sh bench) : bench-rural sautera la comparaison avec CouchDB." >&2; fi

$(O)/bench-load: $(O)/bench/bench-load.o $(O)/librelais.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(O)/bench/bench-mail.o: CPPFLAGS += $(shell pkg-config --cflags $(GMIME) 2>/dev/null)
$(O)/bench-mail: $(O)/bench/bench-mail.o $(O)/librelais.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(shell pkg-config --libs $(GMIME) 2>/dev/null)

# The tests run under AddressSanitizer and UndefinedBehaviorSanitizer, with the
# daemon and client they start built the same way.
test: $(TEST_PREREQ)
	$(MAKE) SANITIZE=1 build-san/relaisd build-san/relais build-san/relais-tests
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	RELAIS_BINDIR=$(CURDIR)/build-san $(TEST_ENV) ./build-san/relais-tests $(T)

# A demonstration server: the store lives in ./relais-data, created on first start.
run: $(PROGRAMS)
	./$(O)/relaisd servir --donnees relais-data --ecoute 127.0.0.1:8700 --demo

bench: $(PROGRAMS) $(BENCHES) $(BENCH_COUCH_STAMP)
	@for b in $(BENCHES); do RELAIS_BINDIR=$(CURDIR)/$(O) ./$$b || exit 1; done

# docs/model.md's tables, rewritten from the model's descriptions.
$(O)/model-doc: $(O)/tools/model-doc.o $(O)/librelais.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

docs: $(O)/model-doc
	./$(O)/model-doc docs/model.md > docs/model.md.new && mv docs/model.md.new docs/model.md

install: $(PROGRAMS)
	install -d $(DESTDIR)$(BINDIR)
	install -m 0755 $(PROGRAMS) $(DESTDIR)$(BINDIR)/

clean:
	rm -rf build build-san build-fuzz

.PHONY: all test run bench docs install clean

-include $(shell find $(O) -name '*.d' 2>/dev/null)
