# fuzz/fuzz.mk - libFuzzer targets (docs/fuzzing.md), included by the Makefile.
#
#   make fuzz-build              build build-fuzz/fuzz-{wire,http,mime,csv,office} with clang
#   make fuzz [FUZZ_SECONDS=N]   run each target N seconds (default 120) on a
#                                copy of its seed corpus in build-fuzz/grown/
#   make fuzz FUZZ_TARGETS=wire  run one target only
#   make fuzz-seeds              write fuzz/corpus/wire's seeds again
#
# The library is built again with clang into build-fuzz/ by a recursive make
# with O and OPT overridden, so the usual rules and warnings apply. Needs
# clang and libclang-rt-14-dev (libFuzzer and the sanitizer runtimes).

FUZZ_O = build-fuzz
FUZZ_CC = clang
FUZZ_ALL = wire http mime csv office
FUZZ_TARGETS ?= $(FUZZ_ALL)
FUZZ_SECONDS ?= 120
FUZZ_RSS_MB ?= 2048
FUZZ_OPT = -O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined \
           -fno-sanitize-recover=undefined
# Longest input per target: an envelope with a few changesets, one HTTP
# request with a small body, one mail, one spreadsheet, one office file.
FUZZ_MAXLEN_wire = 65536
FUZZ_MAXLEN_http = 32768
FUZZ_MAXLEN_mime = 131072
FUZZ_MAXLEN_csv = 65536
FUZZ_MAXLEN_office = 65536

TEST_PREREQ += fuzz-build
TEST_ENV += RELAIS_FUZZDIR=$(CURDIR)/$(FUZZ_O) RELAIS_FUZZSRC=$(CURDIR)/fuzz

fuzz-build:
	$(MAKE) CC=$(FUZZ_CC) O=$(FUZZ_O) OPT="$(FUZZ_OPT)" $(FUZZ_ALL:%=$(FUZZ_O)/fuzz-%)

# These rules only fire in the recursive make above (O=build-fuzz), where
# $(O)/%.o compiles with clang and the fuzzing flags.
$(FUZZ_O)/fuzz-%: $(FUZZ_O)/fuzz/fuzz-%.o $(FUZZ_O)/librelais.a
	$(FUZZ_CC) -fsanitize=fuzzer,address,undefined -o $@ $(filter-out %.a,$^) $(filter %.a,$^) $(LDLIBS)

# The HTTP target runs relaisd's API: it links the daemon's modules but main.
$(FUZZ_O)/fuzz-http: $(filter-out $(FUZZ_O)/daemon/main.o,$(patsubst %.c,$(FUZZ_O)/%.o,$(DAEMON_SRC)))

fuzz: fuzz-build
	@for t in $(FUZZ_TARGETS); do \
		mkdir -p $(FUZZ_O)/grown/$$t $(FUZZ_O)/artifacts && \
		cp -n fuzz/corpus/$$t/* $(FUZZ_O)/grown/$$t/ 2>/dev/null; \
		case $$t in wire) ml=$(FUZZ_MAXLEN_wire);; http) ml=$(FUZZ_MAXLEN_http);; \
			mime) ml=$(FUZZ_MAXLEN_mime);; *) ml=$(FUZZ_MAXLEN_csv);; esac; \
		echo "fuzz-$$t: $(FUZZ_SECONDS) s, log in $(FUZZ_O)/fuzz-$$t.log"; \
		nice -n 10 ./$(FUZZ_O)/fuzz-$$t -max_total_time=$(FUZZ_SECONDS) -max_len=$$ml \
			-rss_limit_mb=$(FUZZ_RSS_MB) -timeout=10 -print_final_stats=1 \
			-artifact_prefix=$(FUZZ_O)/artifacts/$$t- \
			$(FUZZ_O)/grown/$$t fuzz/regress/$$t > $(FUZZ_O)/fuzz-$$t.log 2>&1; \
		rc=$$?; \
		grep -E '^(#[0-9]+.*(DONE|pulse)|stat::number_of_executed_units|stat::peak_rss_mb)' \
			$(FUZZ_O)/fuzz-$$t.log | tail -n 3; \
		if [ $$rc -ne 0 ]; then tail -n 40 $(FUZZ_O)/fuzz-$$t.log; \
			echo "fuzz-$$t: crash, see $(FUZZ_O)/artifacts/"; exit 1; fi; \
	done

.PHONY: fuzz fuzz-build

# Writes fuzz/corpus/wire's seeds from the real engine: run it when the wire
# format or the model changes.
$(FUZZ_O)/wire-seeds: $(FUZZ_O)/fuzz/wire-seeds.o $(FUZZ_O)/librelais.a
	$(FUZZ_CC) -fsanitize=fuzzer-no-link,address,undefined -o $@ $^ $(LDLIBS)

fuzz-seeds:
	$(MAKE) CC=$(FUZZ_CC) O=$(FUZZ_O) OPT="$(FUZZ_OPT)" $(FUZZ_O)/wire-seeds
	./$(FUZZ_O)/wire-seeds fuzz/corpus/wire

.SECONDARY: $(FUZZ_ALL:%=$(FUZZ_O)/fuzz/fuzz-%.o) $(FUZZ_O)/fuzz/wire-seeds.o
.PHONY: fuzz-seeds
