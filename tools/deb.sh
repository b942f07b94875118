#!/bin/sh
# Builds the Debian package of the server: build-deb/relais_VERSION_amd64.deb
# with relaisd (/usr/sbin) and relais (/usr/bin) built with Debian's hardening
# flags, their man pages generated from --help, the docs, relaisd.service, the
# weekly backup timer and the maintainer scripts of packaging/debian/.
# Needs dpkg-dev and help2man ("sh tools/deb.sh deps" installs them).
set -eu
cd "$(dirname "$0")/.."

if [ "${1:-}" = deps ]; then
	m=""
	for p in dpkg-dev help2man fakeroot; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || m="$m $p"
	done
	[ -z "$m" ] && exit 0
	SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends $m
	exit 0
fi

OUT=build-deb
OBJ=$OUT/obj
PKG=$OUT/pkg
P=packaging/debian
VERSION=$(sed -n 's/^#define RELAIS_VERSION "\(.*\)"/\1/p' common/relais.h)
ARCH=$(dpkg --print-architecture)
DEB=$OUT/relais_${VERSION}_$ARCH.deb

# Debian's hardening: stack protector, _FORTIFY_SOURCE, full RELRO, PIE.
export DEB_BUILD_MAINT_OPTIONS=hardening=+all
CFLAGS="$(dpkg-buildflags --get CFLAGS)" \
CPPFLAGS="$(dpkg-buildflags --get CPPFLAGS)" \
LDFLAGS="$(dpkg-buildflags --get LDFLAGS)" \
	nice ${MAKE:-make} -j2 O=$OBJ $OBJ/relaisd $OBJ/relais

rm -rf "$PKG"
install -d -m 0755 "$PKG/DEBIAN" "$PKG/usr/bin" "$PKG/usr/sbin" "$PKG/usr/lib/relais" \
	"$PKG/usr/share/man/man1" "$PKG/usr/share/man/man8" "$PKG/usr/share/doc/relais/exemples" \
	"$PKG/lib/systemd/system" "$PKG/etc/relais" "$PKG/etc/default"
install -m 0755 -s --strip-program="strip" "$OBJ/relaisd" "$PKG/usr/sbin/relaisd"
install -m 0755 -s "$OBJ/relais" "$PKG/usr/bin/relais"
for b in "$PKG/usr/sbin/relaisd" "$PKG/usr/bin/relais"; do
	strip --remove-section=.comment --remove-section=.note --strip-unneeded "$b"
done
install -m 0755 $P/relaisd-sauvegarde "$PKG/usr/lib/relais/relaisd-sauvegarde"
install -m 0644 $P/relaisd.service $P/relaisd-sauvegarde.service $P/relaisd-sauvegarde.timer \
	"$PKG/lib/systemd/system/"
install -m 0644 $P/relaisd.conf "$PKG/etc/relais/relaisd.conf"
install -m 0644 $P/default "$PKG/etc/default/relaisd"

# Docs: the README, docs/*.md, the nginx example; gzip -n -9 as dh_compress.
D=$PKG/usr/share/doc/relais
install -m 0644 README.md docs/*.md $P/README.Debian "$D/"
install -m 0644 docs/nginx-relais.conf "$D/exemples/"
install -m 0644 $P/copyright "$D/copyright"
for f in "$D"/*.md "$D/README.Debian"; do
	[ "$(stat -c %s "$f")" -gt 4096 ] && gzip -n -9 "$f"
done
date_r=$(git log -1 --format=%aD 2>/dev/null || date -R)
printf 'relais (%s) unstable; urgency=medium\n\n  * Paquet construit par « make deb » (%s).\n\n -- Projet Relais <relais@promeneurs-du-net.example>  %s\n' \
	"$VERSION" "$(git rev-parse --short HEAD 2>/dev/null || echo source)" "$date_r" |
	gzip -n -9 > "$D/changelog.gz"

# Man pages from --help: the general help, then each command's own.
man_page() { # prog section description binary
	prog=$1 sect=$2 desc=$3 bin=$4 inc=$OUT/$1.h2m
	printf '[NAME]\n%s \\- %s\n[COMMANDES EN DÉTAIL]\n' "$prog" "$desc" > "$inc"
	"$bin" --help | sed -n 's/^  \([a-z][a-z-]*\)\( [a-z][a-z-]*\)\{0,1\}  .*/\1\2/p' |
	while read -r cmd; do
		# shellcheck disable=SC2086
		HOME=/nonexistent "$bin" $cmd --help > "$OUT/help.txt" 2>/dev/null || continue
		grep -q '^Usage' "$OUT/help.txt" || continue
		printf '.SS "%s %s"\n.nf\n' "$prog" "$cmd"
		sed -e 's/\\/\\e/g' -e "s/^\([.']\)/\\\\\&\1/" "$OUT/help.txt"
		printf '.fi\n'
	done >> "$inc"
	printf '[VOIR AUSSI]\n/usr/share/doc/relais/README.Debian, /usr/share/doc/relais/\n' >> "$inc"
	HOME=/nonexistent help2man -N -L C.UTF-8 -s "$sect" -i "$inc" -m "Relais" -S "relais $VERSION" \
		--version-option=--version --help-option=--help "$bin" > "$OUT/$prog.$sect"
	gzip -n -9 -c "$OUT/$prog.$sect" > "$PKG/usr/share/man/man$sect/$prog.$sect.gz"
}
man_page relaisd 8 "serveur de synchronisation du réseau Promeneurs du Net" "$OBJ/relaisd"
man_page relais 1 "client hors ligne du réseau Promeneurs du Net" "$OBJ/relais"

cp $P/postinst $P/prerm $P/postrm "$PKG/DEBIAN/"
chmod 0755 "$PKG/DEBIAN/postinst" "$PKG/DEBIAN/prerm" "$PKG/DEBIAN/postrm"
printf '/etc/default/relaisd\n/etc/relais/relaisd.conf\n' > "$PKG/DEBIAN/conffiles"

# Shared-library dependencies as dpkg-shlibdeps finds them.
rm -rf "$OUT/shlibs" && mkdir -p "$OUT/shlibs/debian"
printf 'Source: relais\n\nPackage: relais\nArchitecture: any\n' > "$OUT/shlibs/debian/control"
deps=$(cd "$OUT/shlibs" && dpkg-shlibdeps -O "../../$PKG/usr/sbin/relaisd" "../../$PKG/usr/bin/relais" 2>/dev/null |
	sed -n 's/^shlibs:Depends=//p')
size=$(du -k -s --exclude=DEBIAN "$PKG" | cut -f1)
cat > "$PKG/DEBIAN/control" <<CTL
Package: relais
Version: $VERSION
Architecture: $ARCH
Maintainer: Projet Relais <relais@promeneurs-du-net.example>
Installed-Size: $size
Depends: adduser, $deps
Section: net
Priority: optional
Homepage: https://relais.promeneurs-du-net.example/
Description: réseau Promeneurs du Net : serveur de synchronisation et client
 Relais tient l'annuaire d'un réseau départemental des Promeneurs du Net
 (structures, promeneurs, candidatures, labellisation, bilans, événements).
 .
 Ce paquet installe relaisd, le serveur qui garde les données du réseau dans
 SQLite et sert l'API de synchronisation (service systemd relaisd.service,
 sauvegarde hebdomadaire), et relais, le client hors ligne des coordinateurs.
CTL
(cd "$PKG" && find . -type f ! -path './DEBIAN/*' -printf '%P\0' | LC_ALL=C sort -z |
	xargs -0 md5sum) > "$PKG/DEBIAN/md5sums"
chmod 0644 "$PKG/DEBIAN/control" "$PKG/DEBIAN/conffiles" "$PKG/DEBIAN/md5sums"
find "$PKG" -type d -exec chmod 0755 {} +
SOURCE_DATE_EPOCH=$(git log -1 --format=%ct 2>/dev/null || date +%s) \
	dpkg-deb --root-owner-group -Zxz --build "$PKG" "$DEB" >/dev/null
echo "$DEB"
