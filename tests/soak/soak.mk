# tests/soak/soak.mk - the fault soak (docs/soak.md), included by the Makefile.
#   make soak [SOAK_SECONDS=300] [SOAK_REPLICAS=20] [SOAK_SEED=N]
# The soak program is built from tests/soak/ plus the test harness and the
# private mail servers (tests/harness.c, tests/mailserver.c); it is not part
# of relais-tests, whose sources are tests/*.c only.

SOAK_SECONDS ?= 300
SOAK_REPLICAS ?= 20
SOAK_OBJ = $(call obj,tests/soak/soak.c tests/soak/faultproxy.c tests/harness.c tests/mailserver.c)

$(O)/relais-soak: $(SOAK_OBJ) $(O)/librelais.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

soak: $(O)/relaisd $(O)/relais $(O)/relais-soak
	RELAIS_BINDIR=$(CURDIR)/$(O) ./$(O)/relais-soak --secondes $(SOAK_SECONDS) \
		--replicas $(SOAK_REPLICAS) $(if $(SOAK_SEED),--graine $(SOAK_SEED))

# `make test` runs soak_court (tests/test-soak.c) with the sanitizer build.
ifneq ($(O),build-san)
build-san/relais-soak: soak-force
	$(MAKE) SANITIZE=1 build-san/relais-soak
endif
soak-force:

TEST_PREREQ += build-san/relais-soak
TEST_ENV += RELAIS_SOAK=$(CURDIR)/build-san/relais-soak

.PHONY: soak soak-force
