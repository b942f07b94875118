#!/bin/sh
# Installs the Debian 12 packages that Relais needs to build, run and test.
# Safe to run again: installs only what is missing. Needs root (or sudo).
set -eu

PACKAGES="build-essential pkg-config libuv1-dev libsqlite3-dev zlib1g-dev \
libjansson-dev libhttp-parser-dev libcurl4-gnutls-dev libgnutls28-dev libetpan-dev libxlsxwriter-dev sqlite3 \
python3 dovecot-imapd python3-aiosmtpd libgmime-3.0-dev"

missing=""
for p in $PACKAGES; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "Installation des paquets manquants :$missing"
$SUDO apt-get update
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y $missing
