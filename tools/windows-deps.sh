#!/bin/sh
# Cross-builds, for the Windows client, the libraries relais links (static,
# x86_64-w64-mingw32) from Debian 12's source packages: zlib (and its
# minizip), SQLite with the session extension, libuv, jansson, http-parser,
# libxlsxwriter and libcurl with Schannel, Windows' own TLS. Hashing and
# random numbers come from Windows' bcrypt (common/platform.c): no GnuTLS.
#
# Sources come from "apt-get source" at the pinned versions below, through a
# deb-src entry this script adds (made from the machine's own apt source);
# each upstream tarball is checked against its pinned SHA-256 on top of apt's
# signed checksums. No prebuilt binary is downloaded.
#
# Usage: sh tools/windows-deps.sh [DEST]   (DEST: build-win/deps)
# Installs the mingw-w64 cross-compiler and the native tools it needs; run again, it rebuilds
# only what is missing from DEST/lib.
set -eu
cd "$(dirname "$0")/.."
ROOT=$(pwd)
DEST=${1:-$ROOT/build-win/deps}
case $DEST in /*) ;; *) DEST=$ROOT/$DEST ;; esac
SRC=$DEST/src
HOST=x86_64-w64-mingw32
CC="$HOST-gcc"
AR="$HOST-ar"
NICE="nice -n 10"
JOBS=${JOBS:-2}

# package=version sha256-of-upstream-tarball
PINS="
zlib=1:1.2.13.dfsg-1 zlib_1.2.13.dfsg.orig.tar.bz2 71feb7947e3c00ef125f83b79a4e529bde31171e5babe48b391f06758d1ab0a1
sqlite3=3.40.1-2+deb12u2 sqlite3_3.40.1.orig.tar.xz aaa776260ab4dc976db34aa7891819484c8676b5b2783123ebc6301e2ca5d655
libuv1=1.44.2-1+deb12u1 libuv1_1.44.2.orig.tar.gz d79b4b06ef04be85fb890bf39d55942cc64c2e15fd14eaa32dae5dce94485484
jansson=2.14-2 jansson_2.14.orig.tar.gz c739578bf6b764aa0752db9a2fdadcfe921c78f1228c7ec0bb47fa804c55d17b
http-parser=2.9.4-5 http-parser_2.9.4.orig.tar.gz 467b9e30fd0979ee301065e70f637d525c28193449e1b13fbcb1b1fab3ad224f
libxlsxwriter=1.1.4-2 libxlsxwriter_1.1.4.orig.tar.gz b379eb35fdd9c653ebe72485b9c992f612c7ea66f732784457997d6e782f619b
curl=7.88.1-10+deb12u15 curl_7.88.1.orig.tar.gz cdb38b72e36bc5d33d5b8810f8018ece1baa29a8f215b4495e495ded82bbf3c7
"

SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
need=""
# Only the 64-bit C cross-compiler (mingw-w64 would add i686 and C++).
for p in gcc-mingw-w64-x86-64-win32 dpkg-dev tcl make xz-utils bzip2; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need="$need $p"
done
[ -z "$need" ] || DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends $need

# The deb-src entry: the first stanza of the machine's apt source, for
# bookworm's sources.
LIST=/etc/apt/sources.list.d/relais-src.sources
if [ ! -f $LIST ]; then
	awk 'BEGIN{RS="";ORS="\n\n"} NR==1{sub(/Types: deb/,"Types: deb-src");
		sub(/Suites: [^\n]*/,"Suites: bookworm"); print}' \
		/etc/apt/sources.list.d/debian.sources | $SUDO tee $LIST > /dev/null
	$SUDO apt-get update > /dev/null
fi

mkdir -p "$SRC" "$DEST/include" "$DEST/lib"
cd "$SRC"
echo "$PINS" | while read -r pin tarball sum; do
	[ -n "$pin" ] || continue
	if [ ! -f "$tarball" ]; then
		# The pinned Debian revision, or, once Debian has replaced it by a
		# security update, the current one of the same upstream release:
		# the upstream tarball's hash below still pins the code.
		apt-get source --download-only "$pin" > /dev/null 2>&1 ||
			apt-get source --download-only "${pin%%=*}" > /dev/null 2>&1 ||
			apt-get source --download-only "$pin"
	fi
	echo "$sum  $tarball" | sha256sum -c --quiet - ||
		{ echo "windows-deps : empreinte inattendue pour $tarball" >&2; exit 1; }
done

# The source tree with Debian's patches applied (dpkg-source -x checks the
# files against the .dsc): the fixes Debian ships are in the Windows build.
dsc() { # name_upstreamversion -> the .dsc at hand (the pinned revision, or the later one)
	ls "$1"-*.dsc 2>/dev/null | sort -V | tail -n 1
}
unpack() { # dsc -> prints the directory
	d=${1%.dsc}.src
	[ -d "$d" ] || dpkg-source --no-copy -x "$1" "$d" > /dev/null 2>&1 ||
		dpkg-source --no-copy -x "$1" "$d"
	echo "$d"
}
compile() { # objdir flags... -- sources...
	objdir=$1; shift
	flags=""
	while [ "$1" != -- ]; do flags="$flags $1"; shift; done
	shift
	mkdir -p "$objdir"
	for f in "$@"; do
		echo "$f"
	done | $NICE xargs -P "$JOBS" -I{} sh -c "$CC -O2 $flags -c {} -o $objdir/\$(basename {} .c).o"
}
CFL="-O2 -D_WIN32_WINNT=0x0601"
# The file calls of libraries that open files by name, made UTF-8 as in relais
# itself (their win32_* wrappers are linked from common/win32/platform.c).
UTF8_FILES="-include $ROOT/common/win32/posix.h"

# zlib and minizip
if [ ! -f "$DEST/lib/libz.a" ]; then
	d=$(unpack "$(dsc zlib_1.2.13.dfsg)")
	rm -rf obj-z && compile obj-z $CFL -- $(ls "$d"/*.c | grep -v -e example -e minigzip)
	$AR rcs "$DEST/lib/libz.a" obj-z/*.o
	cp "$d/zlib.h" "$d/zconf.h" "$DEST/include/"
	# Through common/win32/posix.h, its fopen takes UTF-8 names (accents).
	rm -rf obj-mz && compile obj-mz $CFL -DIOAPI_NO_64 $UTF8_FILES -I"$d" -- "$d/contrib/minizip/ioapi.c" "$d/contrib/minizip/zip.c" "$d/contrib/minizip/iowin32.c"
	$AR rcs "$DEST/lib/libminizip.a" obj-mz/*.o
	mkdir -p "$DEST/include/minizip"
	cp "$d"/contrib/minizip/*.h "$DEST/include/minizip/"
fi

# SQLite: the amalgamation is generated natively (tclsh), then cross-compiled
# with the options of Debian's build that sync/ needs.
if [ ! -f "$DEST/lib/libsqlite3.a" ]; then
	d=$(unpack "$(dsc sqlite3_3.40.1)")
	if [ ! -f "$d/sqlite3.c" ]; then
		(cd "$d" && ./configure > /dev/null && $NICE make sqlite3.c > /dev/null)
	fi
	rm -rf obj-sqlite && compile obj-sqlite $CFL -DSQLITE_ENABLE_SESSION -DSQLITE_ENABLE_PREUPDATE_HOOK \
		-DSQLITE_THREADSAFE=1 -DSQLITE_ENABLE_FTS5 -DSQLITE_OMIT_LOAD_EXTENSION -- "$d/sqlite3.c"
	$AR rcs "$DEST/lib/libsqlite3.a" obj-sqlite/*.o
	cp "$d/sqlite3.h" "$d/sqlite3ext.h" "$DEST/include/"
fi

# libuv: its sources and the Windows backend.
if [ ! -f "$DEST/lib/libuv.a" ]; then
	d=$(unpack "$(dsc libuv1_1.44.2)")
	rm -rf obj-uv && compile obj-uv -O2 -D_WIN32_WINNT=0x0602 -DWIN32_LEAN_AND_MEAN -I"$d/include" -I"$d/src" \
		-- "$d"/src/*.c "$d"/src/win/*.c
	$AR rcs "$DEST/lib/libuv.a" obj-uv/*.o
	cp -r "$d"/include/* "$DEST/include/"
fi

# http-parser
if [ ! -f "$DEST/lib/libhttp_parser.a" ]; then
	d=$(unpack "$(dsc http-parser_2.9.4)")
	rm -rf obj-hp && compile obj-hp $CFL -I"$d" -- "$d/http_parser.c"
	$AR rcs "$DEST/lib/libhttp_parser.a" obj-hp/*.o
	cp "$d/http_parser.h" "$DEST/include/"
fi

# jansson: its configure writes jansson_config.h for the host.
if [ ! -f "$DEST/lib/libjansson.a" ]; then
	d=$(unpack "$(dsc jansson_2.14)")
	# Its tarball has no configure script: the two headers it would write.
	sed -e 's/@json_inline@/inline/' -e 's/@json_have_long_long@/1/' \
		-e 's/@json_have_localeconv@/1/' -e 's/@json_have_atomic_builtins@/1/' \
		-e 's/@json_have_sync_builtins@/1/' "$d/src/jansson_config.h.in" > "$d/src/jansson_config.h"
	printf '#define HAVE_STDINT_H 1\n#define HAVE_FCNTL_H 1\n#define HAVE_SYS_STAT_H 1\n#define HAVE_SYS_TYPES_H 1\n#define HAVE_UNISTD_H 1\n#define HAVE_GETPID 1\n#define HAVE_LOCALECONV 1\n#define HAVE_READ 1\n#define INITIAL_HASHTABLE_ORDER 3\n' \
		> "$d/jansson_private_config.h"
	rm -rf obj-j && compile obj-j $CFL -DHAVE_CONFIG_H -I"$d" -I"$d/src" -- "$d"/src/*.c
	$AR rcs "$DEST/lib/libjansson.a" obj-j/*.o
	cp "$d/src/jansson.h" "$d/src/jansson_config.h" "$DEST/include/"
fi

# libxlsxwriter, with zlib's minizip as Debian builds it.
if [ ! -f "$DEST/lib/libxlsxwriter.a" ]; then
	d=$(unpack "$(dsc libxlsxwriter_1.1.4)")
	# Built for mingw, it opens files with the narrow fopen: posix.h gives
	# it the UTF-8 one, so that a workbook may be saved under "Hélène".
	rm -rf obj-x && compile obj-x $CFL $UTF8_FILES -DUSE_SYSTEM_MINIZIP -DUSE_STANDARD_TMPFILE -DUSE_NO_MD5 \
		-I"$d/include" -I"$DEST/include" -I"$DEST/include/minizip" -- "$d"/src/*.c
	$AR rcs "$DEST/lib/libxlsxwriter.a" obj-x/*.o
	cp -r "$d/include/xlsxwriter" "$d/include/xlsxwriter.h" "$DEST/include/"
fi

# libcurl: HTTP(S) only, TLS by Schannel, static.
if [ ! -f "$DEST/lib/libcurl.a" ]; then
	d=$(unpack "$(dsc curl_7.88.1)")
	(cd "$d" && CPPFLAGS="-I$DEST/include" LDFLAGS="-L$DEST/lib" $NICE ./configure --host=$HOST \
		--disable-shared --enable-static --with-schannel --with-zlib="$DEST" \
		--disable-ftp --disable-file --disable-ldap --disable-ldaps --disable-rtsp --disable-dict \
		--disable-telnet --disable-tftp --disable-pop3 --disable-imap --disable-smb --disable-smtp \
		--disable-gopher --disable-mqtt --disable-manual --disable-docs --disable-ntlm \
		--without-brotli --without-zstd --without-libpsl --without-libidn2 --without-nghttp2 \
		--without-librtmp --without-libssh2 > "$SRC/curl-configure.log" 2>&1 &&
		$NICE make -j"$JOBS" -C lib > "$SRC/curl-make.log" 2>&1)
	cp "$d/lib/.libs/libcurl.a" "$DEST/lib/"
	mkdir -p "$DEST/include/curl" && cp "$d"/include/curl/*.h "$DEST/include/curl/"
fi
echo "Bibliothèques Windows prêtes dans $DEST"
