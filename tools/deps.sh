#!/bin/sh
# Installs the Debian 12 packages that Relais needs: to build and run it
# ("sh tools/deps.sh"), and to run every test as well ("sh tools/deps.sh test":
# the mail servers, nginx, LibreOffice, Chromium and Node the tests start, clang
# for the fuzz targets); "sh tools/deps.sh bench" adds Node and npm, with which
# "make bench" installs the CouchDB-protocol reference of bench-rural.
# Safe to run again: installs only what is missing. Needs root (or sudo).
set -eu

PACKAGES="build-essential pkg-config libuv1-dev libsqlite3-dev zlib1g-dev \
libjansson-dev libhttp-parser-dev libcurl4-gnutls-dev libgnutls28-dev libetpan-dev \
libxlsxwriter-dev sqlite3 libgmime-3.0-dev libzip-dev libxml2-dev"
TEST_PACKAGES="python3 dovecot-imapd python3-aiosmtpd nginx-light gnutls-bin clang libclang-rt-14-dev nodejs"
# Big desktop programs: installed without their recommended extras.
LEAN_PACKAGES=""

case "${1:-}" in
"") ;;
test)
	PACKAGES="$PACKAGES $TEST_PACKAGES"
	LEAN_PACKAGES="libreoffice-calc-nogui libreoffice-writer-nogui chromium"
	;;
bench) PACKAGES="$PACKAGES libgmime-3.0-dev nodejs" ;;
*) echo "usage : sh tools/deps.sh [test|bench]" >&2; exit 2 ;;
esac

missing_of() {
	m=""
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
			m="$m $p"
	done
	echo "$m"
}
missing=$(missing_of $PACKAGES)
lean=$(missing_of $LEAN_PACKAGES)
# Debian's nodejs ships npm apart; some nodejs builds include it.
if [ "${1:-}" != "" ] && dpkg-query -W -f='${Status}' nodejs 2>/dev/null | grep -q "install ok installed" &&
	! command -v npm >/dev/null; then
	missing="$missing npm"
fi
[ -z "$missing$lean" ] && exit 0

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "Installation des paquets manquants :$missing$lean"
$SUDO apt-get update
[ -z "$missing" ] || DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y $missing
[ -z "$lean" ] || DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends $lean
if [ "${1:-}" != "" ] && ! command -v npm >/dev/null; then
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y npm
fi
