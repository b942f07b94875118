# The Windows client, cross-built with mingw-w64 (tools/windows.sh runs this
# after tools/windows-deps.sh). The same sources as on Linux, with
# common/win32/ in place of common/platform.c; every file starts with
# common/win32/posix.h. Static: relais.exe needs no DLL beside it.
HOST = x86_64-w64-mingw32
CC = $(HOST)-gcc
W = build-win
O = $(W)/obj
DEPS = $(W)/deps

WARN = -std=c11 -Wall -Wextra -Wstrict-prototypes -Wmissing-prototypes -Wvla \
       -Wwrite-strings -Wformat-security -fno-common -Werror
CPPFLAGS = -D_GNU_SOURCE -DSQLITE_ENABLE_SESSION -DSQLITE_ENABLE_PREUPDATE_HOOK \
           -DCURL_STATICLIB -D__USE_MINGW_ANSI_STDIO=1 -D_WIN32_WINNT=0x0602 \
           -include common/win32/posix.h -Icommon/win32 -I$(DEPS)/include
# GCC checks format(printf) attributes against Microsoft's printf under
# mingw-w64, which knows no %zu; the runtime used is mingw's C99 one
# (__USE_MINGW_ANSI_STDIO), and the Linux build checks every format.
CFLAGS = $(filter-out -Wformat-security,$(WARN)) -Wno-format -O2 -MMD -MP
LDLIBS = -L$(DEPS)/lib -lcurl -lxlsxwriter -lminizip -ljansson -lhttp_parser -luv -lsqlite3 -lz \
         -lbcrypt -lcrypt32 -lsecur32 -lws2_32 -liphlpapi -luserenv -lpsapi -ldbghelp \
         -lole32 -lshell32 -luuid -ladvapi32 -lpthread

SRC = $(filter-out common/platform.c,$(wildcard common/*.c)) common/win32/platform.c \
      $(wildcard model/*.c net/*.c sync/*.c clients/cmd/*.c clients/replica/*.c clients/ui/*.c)
OBJ = $(patsubst %.c,$(O)/%.o,$(SRC)) $(O)/clients/ui/assets.o
UI_ASSETS = $(sort $(wildcard clients/ui/*.css clients/ui/*.js clients/ui/*.svg))

all: $(W)/relais.exe

$(W)/relais.exe: $(OBJ)
	$(CC) -static -o $@ $^ $(LDLIBS)

$(O)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

# The assets are embedded by a tool that runs here, built natively.
$(O)/embed: tools/embed.c
	@mkdir -p $(dir $@)
	cc -O2 -o $@ $<

$(O)/clients/ui/assets.c: $(O)/embed $(UI_ASSETS)
	@mkdir -p $(dir $@)
	$(O)/embed $@ $(UI_ASSETS)

$(O)/clients/ui/assets.o: $(O)/clients/ui/assets.c clients/ui/assets.h
	$(CC) $(CPPFLAGS) -I. $(CFLAGS) -c -o $@ $<

.PHONY: all
-include $(shell find $(O) -name '*.d' 2>/dev/null)
