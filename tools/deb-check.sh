#!/bin/sh
# Checks the Debian package of the server on this machine (root, Debian 12;
# systemd need not be running): builds it, lintian finds no error, dpkg -i,
# systemd-analyze verify on the units, relaisd started as relaisd.service
# would start it (its user, directories, configuration and command line), a
# replica synced against it and a second one receiving the edit, the backup
# script with its rotation, then dpkg -r keeps configuration and data, dpkg -P
# keeps the data, and dpkg -P after /etc/relais/purger-les-donnees leaves the
# system as it found it.
# Installs what it needs (lintian, help2man, systemd for systemd-analyze).
set -eu
cd "$(dirname "$0")/.."
ROOT=$(pwd)

[ "$(id -u)" -eq 0 ] || { echo "deb-check : à lancer en root (dpkg -i)." >&2; exit 2; }
if dpkg-query -W -f='${Status}' relais 2>/dev/null | grep -q installed || getent passwd relais >/dev/null; then
	echo "deb-check : le paquet relais ou l'utilisateur relais existe déjà ; machine non vierge." >&2
	exit 2
fi

start=$(date +%s)
step() { printf '== %s (%ss)\n' "$1" "$(($(date +%s) - start))"; }
fail() { echo "deb-check : ÉCHEC : $*" >&2; exit 1; }

export DEBIAN_FRONTEND=noninteractive
need=""
for p in lintian help2man dpkg-dev systemd adduser; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need="$need $p"
done
[ -z "$need" ] || apt-get install -y --no-install-recommends $need >/dev/null

T=$(mktemp -d /tmp/relais-deb-check.XXXXXX)
chmod 0755 "$T"   # relaisd's user reads run.sh there
RELAISD_PID=""
cleanup() {
	[ -z "$RELAISD_PID" ] || { kill "$RELAISD_PID" 2>/dev/null; wait "$RELAISD_PID"; } || true
	rm -rf "$T"
	# After a failure, the machine is given back as it was found.
	if dpkg-query -W -f='${Status}' relais 2>/dev/null | grep -q installed ||
	   getent passwd relais >/dev/null; then
		mkdir -p /etc/relais && touch /etc/relais/purger-les-donnees
		dpkg -P relais > /dev/null 2>&1 || true
		[ ! -e /etc/relais/purger-les-donnees ] || rm -rf /etc/relais /var/lib/relais /var/backups/relais
		! getent passwd relais >/dev/null || deluser --quiet --system relais > /dev/null 2>&1 || true
		! getent group relais >/dev/null || delgroup --quiet --system relais > /dev/null 2>&1 || true
	fi
}
trap cleanup EXIT INT TERM

step "construction"
DEB=$(sh tools/deb.sh | tail -n 1)
[ -f "$DEB" ] || fail "pas de paquet construit"

step "lintian"
lintian --fail-on error "$DEB" > "$T/lintian.log" 2>&1 || { cat "$T/lintian.log"; fail "lintian"; }
grep -v "running with root privileges" "$T/lintian.log" || true


# What the package may touch, listed before and compared after the purge.
snapshot() {
	find /etc /usr /lib/systemd /var/lib /var/backups -xdev \
		\( -path /var/lib/dpkg -o -path /var/lib/apt -o -path /var/lib/ucf \
		   -o -path /var/lib/man-db -o -path /var/lib/systemd/deb-systemd-helper-masked \
		   -o -path /var/lib/systemd/deb-systemd-helper-enabled -o -path /usr/share/man \
		   -o -path /var/lib/lintian \) -prune -o -print 2>/dev/null | LC_ALL=C sort
}
snapshot > "$T/before"

step "dpkg -i"
dpkg -i "$DEB" > "$T/dpkg-i.log" 2>&1 || { cat "$T/dpkg-i.log"; fail "dpkg -i"; }
getent passwd relais >/dev/null || fail "pas d'utilisateur relais"
[ "$(stat -c '%a %U' /var/lib/relais)" = "700 relais" ] || fail "droits de /var/lib/relais"
[ -f /var/lib/relais/relais.db ] || fail "relaisd init n'a pas créé la base"
[ "$(stat -c '%a %U %G' /etc/relais/relaisd.conf)" = "640 root relais" ] || fail "droits de relaisd.conf"
[ "$(readlink /var/lib/relais/relaisd.conf)" = /etc/relais/relaisd.conf ] || fail "lien vers relaisd.conf"
man -w relaisd >/dev/null && man -w relais >/dev/null || fail "pages de manuel"

step "systemd-analyze verify"
systemd-analyze verify /lib/systemd/system/relaisd.service \
	/lib/systemd/system/relaisd-sauvegarde.service /lib/systemd/system/relaisd-sauvegarde.timer
# Its hardening, as systemd rates it: exposure at most 2.0 of 10 (1.6 today).
systemd-analyze security --offline=true --threshold=20 /lib/systemd/system/relaisd.service |
	tail -n 1

step "relaisd lancé comme par relaisd.service"
UNIT=/lib/systemd/system/relaisd.service
unit_value() { sed -n "s/^$1=//p" "$2" | tail -n 1; }
user=$(unit_value User $UNIT)
execstart=$(unit_value ExecStart $UNIT)
umask_unit=$(unit_value UMask $UNIT)
# The unit's Environment=, then its EnvironmentFile, as systemd reads them;
# only the port differs (0: a free one, read from relaisd's log).
env_default=$(unit_value Environment $UNIT)
cat > "$T/run.sh" <<RUN
umask $umask_unit
export $env_default
set -a; [ ! -r /etc/default/relaisd ] || . /etc/default/relaisd; set +a
RELAISD_LISTEN=127.0.0.1:0
exec $execstart
RUN
setpriv --reuid="$user" --regid="$user" --init-groups sh "$T/run.sh" < /dev/null > "$T/relaisd.log" 2>&1 &
RELAISD_PID=$!
port=""
for _ in $(seq 100); do
	port=$(sed -n 's|.*à l.écoute sur http://127\.0\.0\.1:\([0-9]*\).*|\1|p' "$T/relaisd.log")
	[ -n "$port" ] && break
	kill -0 "$RELAISD_PID" 2>/dev/null || { cat "$T/relaisd.log"; fail "relaisd s'est arrêté"; }
	sleep 0.1
done
[ -n "$port" ] || { cat "$T/relaisd.log"; fail "relaisd n'écoute pas"; }

step "synchronisation d'un réplica"
token=$(runuser -u relais -- relaisd user add --data /var/lib/relais --login marie --dept 43 --role coordinateur)
relais --home "$T/a" init --serveur "http://127.0.0.1:$port" --jeton "$token" > /dev/null
relais --home "$T/a" structure add --nom "Maison des jeunes de Brioude" --commune "Brioude" > /dev/null
relais --home "$T/a" sync > /dev/null
relais --home "$T/b" init --serveur "http://127.0.0.1:$port" --jeton "$token" > /dev/null
relais --home "$T/b" structure list | grep -q "Maison des jeunes de Brioude" ||
	fail "la structure n'est pas arrivée sur le second réplica"

step "sauvegardes et rotation"
for _ in 1 2 3; do
	runuser -u relais -- env RELAIS_SAUVEGARDES_GARDEES=2 \
		/usr/lib/relais/relaisd-sauvegarde /var/lib/relais /var/backups/relais > /dev/null 2>&1 ||
		fail "relaisd-sauvegarde"
	sleep 1
done
[ "$(ls /var/backups/relais | wc -l)" -eq 2 ] || fail "rotation : $(ls /var/backups/relais)"

kill -TERM "$RELAISD_PID"
wait "$RELAISD_PID" || fail "relaisd ne s'est pas arrêté proprement"
RELAISD_PID=""
grep -q "GET\|POST" "$T/relaisd.log" || fail "pas de requêtes dans le journal de relaisd"

step "dpkg -r"
dpkg -r relais > /dev/null 2>&1 || fail "dpkg -r"
[ ! -e /usr/sbin/relaisd ] && [ ! -e /usr/bin/relais ] || fail "programmes restés après dpkg -r"
[ -f /etc/relais/relaisd.conf ] && [ -f /var/lib/relais/relais.db ] || fail "configuration ou données perdues par dpkg -r"

step "dpkg -P : les données restent"
dpkg -P relais > /dev/null 2>&1 || fail "dpkg -P"
[ ! -e /etc/relais ] && [ ! -e /etc/default/relaisd ] || fail "configuration restée après dpkg -P"
[ -f /var/lib/relais/relais.db ] && getent passwd relais >/dev/null || fail "données perdues par dpkg -P"
[ ! -L /var/lib/relais/relaisd.conf ] || fail "lien vers la configuration resté après dpkg -P"

step "réinstallation sur les données gardées, puis purge complète"
dpkg -i "$DEB" > "$T/dpkg-i.log" 2>&1 || { cat "$T/dpkg-i.log"; fail "dpkg -i (réinstallation)"; }
runuser -u relais -- relaisd user list --data /var/lib/relais | grep -q marie || fail "compte perdu"
touch /etc/relais/purger-les-donnees
dpkg -P relais > /dev/null 2>&1 || fail "dpkg -P (purge complète)"
! getent passwd relais >/dev/null && ! getent group relais >/dev/null || fail "utilisateur relais resté"
ls /var/lib/systemd/deb-systemd-helper-enabled /var/lib/systemd/deb-systemd-helper-masked 2>/dev/null |
	grep -q relais && fail "état de deb-systemd-helper resté"
snapshot > "$T/after"
diff "$T/before" "$T/after" || fail "la purge laisse des fichiers (ci-dessus)"

step "paquet vérifié"
