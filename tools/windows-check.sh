#!/bin/sh
# End-to-end tests of the Windows client under Wine (headless) against the
# Linux relaisd: a replica in a home with accents (%APPDATA% of "Hélène"),
# edits with accented text, sync, names made on Windows read on a Linux
# replica and back, a conflict listed and resolved, CSV and XLSX exports
# opened, "relais ui" served and its pages fetched.
# Needs build-win/relais.exe (make windows) and build/relaisd (make).
set -eu
cd "$(dirname "$0")/.."
ROOT=$(pwd)
EXE=$ROOT/build-win/relais.exe
LINUX=$ROOT/build
[ -f "$EXE" ] || { echo "windows-check : $EXE manquant (make windows)." >&2; exit 2; }
[ -x "$LINUX/relaisd" ] && [ -x "$LINUX/relais" ] || { echo "windows-check : make d'abord." >&2; exit 2; }
for p in wine curl python3; do
	command -v $p >/dev/null || need="${need:-} $p"
done
if [ -n "${need:-}" ]; then
	SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends wine wine64 curl python3
fi

start=$(date +%s)
step() { printf '== %s (%ss)\n' "$1" "$(($(date +%s) - start))"; }
fail() { echo "windows-check : ÉCHEC : $*" >&2; exit 1; }

T=$(mktemp -d /tmp/relais-wine.XXXXXX)
SERVER_PID=""
UI_PID=""
cleanup() {
	[ -z "$UI_PID" ] || kill -INT "$UI_PID" 2>/dev/null || true
	[ -z "$SERVER_PID" ] || kill "$SERVER_PID" 2>/dev/null || true
	# The prefix's own wineserver, started by the wine commands above.
	! command -v wineserver >/dev/null || wineserver -k 2>/dev/null || true
	rm -rf "$T"
}
trap cleanup EXIT INT TERM

# Wine names the Windows profile after the Unix user: C:\users\Hélène, and
# %APPDATA% is C:\users\Hélène\AppData\Roaming.
export WINEPREFIX="$T/wine" WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml=" LANG=C.UTF-8 LC_ALL=C.UTF-8
export USER=Hélène LOGNAME=Hélène
unset DISPLAY WAYLAND_DISPLAY
step "préfixe Wine"
# One wineserver for the whole check, started with its output away from the
# check's own (a wineserver started by a "$(wine …)" would hold that pipe).
mkdir -p "$WINEPREFIX"
wineserver -p < /dev/null > /dev/null 2>&1
wineboot --init > "$T/wineboot.log" 2>&1 || { cat "$T/wineboot.log"; fail "wineboot"; }
# Each command is bounded in time: a hang fails the check rather than CI.
W() { timeout -s INT 120 wine "$EXE" "$@"; }

step "relaisd (Linux)"
"$LINUX/relaisd" init --data "$T/data" > /dev/null 2>&1
token=$("$LINUX/relaisd" user add --data "$T/data" --login helene --dept 65 --role coordinateur)
"$LINUX/relaisd" serve --data "$T/data" --listen 127.0.0.1:0 --port-file "$T/port" --quiet \
	< /dev/null > "$T/relaisd.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 50); do [ -s "$T/port" ] && break; sleep 0.1; done
port=$(cat "$T/port")
URL=http://127.0.0.1:$port
L() { "$LINUX/relais" --home "$T/linux" "$@"; }

step "init sous Windows dans %APPDATA%\\Relais"
W init --serveur "$URL" --jeton "$token" > "$T/out" 2>&1 || { cat "$T/out"; fail "init"; }
grep -q "Réplica initialisé" "$T/out" || { cat "$T/out"; fail "message d'init (UTF-8)"; }
[ -f "$WINEPREFIX/drive_c/users/Hélène/AppData/Roaming/Relais/replica.db" ] ||
	fail "réplica absent de %APPDATA%\\Relais"

# --home with spaces and accents, in a folder the person made.
mkdir -p "$WINEPREFIX/drive_c/users/Hélène/Mes données"
W --home 'C:\users\Hélène\Mes données\Relais réseau' init --serveur "$URL" --jeton "$token" > "$T/out" 2>&1 ||
	{ cat "$T/out"; fail "init dans un dossier choisi"; }
[ -f "$WINEPREFIX/drive_c/users/Hélène/Mes données/Relais réseau/replica.db" ] ||
	fail "réplica absent du dossier choisi"

step "modifications accentuées et synchronisation"
id=$(W structure add --nom "Maison des jeunes de Séméac" --commune "Séméac" | tr -d '\r')
[ -n "$id" ] || fail "structure add"
W promeneur add --prenom "Zoé" --nom "Bérénice-Lefèvre" --email zoe@exemple.fr --structure "$id" \
	--statut labellise --date-labellisation 2026-01-15 > /dev/null
W sync > "$T/out" 2>&1 || { cat "$T/out"; fail "sync"; }
L init --serveur "$URL" --jeton "$token" > /dev/null
L structure list | grep -q "Maison des jeunes de Séméac" || fail "nom venu de Windows abîmé sous Linux"
L promeneur list | grep -q "Bérénice-Lefèvre" || fail "promeneur venu de Windows abîmé sous Linux"
L structure add --nom "Centre social Noël-Œuvre" --commune "Lourdes" > /dev/null
L sync > /dev/null
W sync > /dev/null
W structure list | tr -d '\r' | grep -q "Centre social Noël-Œuvre" || fail "nom venu de Linux abîmé sous Windows"

step "conflit listé et tranché"
W structure set "$id" --commune "Tarbes-Été" > /dev/null
L structure set "$id" --commune "Lourdes-Noël" > /dev/null
W sync > /dev/null
L sync > /dev/null
W sync > "$T/out" 2>&1
W conflicts > "$T/conflicts" 2>&1
cid=$(tr -d '\r' < "$T/conflicts" | sed -n 's/^Conflit \([0-9a-f-]*\) .*/\1/p' | head -n 1)
[ -n "$cid" ] || { cat "$T/conflicts"; fail "aucun conflit listé"; }
grep -q "Tarbes-Été" "$T/conflicts" || fail "valeur du conflit abîmée"
W conflicts resolve "$cid" --keep mine > /dev/null || fail "conflicts resolve"
W sync > /dev/null
L sync > /dev/null
L structure show "$id" | grep -q "Tarbes-Été" || fail "la résolution n'est pas arrivée sous Linux"

step "exports CSV et XLSX"
W export annuaire --format csv --sortie 'C:\users\Hélène\annuaire été.csv' > /dev/null
W export annuaire --format xlsx --sortie 'C:\users\Hélène\annuaire été.xlsx' > /dev/null
W export annuaire --format csv > "$T/stdout.csv"
csv="$WINEPREFIX/drive_c/users/Hélène/annuaire été.csv"
xlsx="$WINEPREFIX/drive_c/users/Hélène/annuaire été.xlsx"
python3 - "$csv" "$xlsx" "$T/stdout.csv" <<'PY'
import sys, zipfile
csv = open(sys.argv[1], 'rb').read()
assert open(sys.argv[3], 'rb').read() == csv, "le CSV sur stdout diffère du fichier"
assert b'\r\n' in csv and b'\r\r' not in csv, "fins de ligne du CSV"

assert csv.startswith(b'\xef\xbb\xbf'), "CSV sans BOM"
text = csv.decode('utf-8-sig')
assert 'Prénom' in text.splitlines()[0], text[:200]
assert 'Bérénice-Lefèvre;Zoé;' in text and 'Séméac' in text, text
z = zipfile.ZipFile(sys.argv[2])
names = z.namelist()
assert 'xl/workbook.xml' in names, names
strings = z.read('xl/sharedStrings.xml').decode('utf-8') if 'xl/sharedStrings.xml' in names else ''
assert 'Prénom' in strings and 'Bérénice-Lefèvre' in strings, strings[:300]
PY

step "relais ui servi et pages lues"
wine "$EXE" ui --port 0 --no-browser < /dev/null > "$T/ui.out" 2>&1 &
UI_PID=$!
uiurl=""
for _ in $(seq 150); do
	uiurl=$(tr -d '\r' < "$T/ui.out" | grep -o 'http://127\.0\.0\.1:[0-9]*/?cle=[A-Za-z0-9_-]*' | head -n 1)
	[ -n "$uiurl" ] && break
	sleep 0.2
done
[ -n "$uiurl" ] || { cat "$T/ui.out"; fail "relais ui n'a pas donné son adresse"; }
base=${uiurl%%/?cle=*}
curl -fsS -c "$T/cookies" -o /dev/null "$uiurl" || fail "ouverture de relais ui"
curl -fsS -b "$T/cookies" "$base/" > "$T/accueil.html" || fail "page d'accueil"
grep -q "Séméac\|Relais" "$T/accueil.html" || fail "page d'accueil sans contenu"
curl -fsS -b "$T/cookies" "$base/conflits" > /dev/null || fail "page des conflits"
# relais ui holds the replica's lock (LockFileEx) only while it answers: a
# command run meanwhile goes through, and its edit is on the UI's next page.
W structure add --nom "Espace jeunes d'Ibos-Lé" --commune "Ibos" > /dev/null ||
	fail "une commande n'a pas pu écrire pendant que relais ui est ouvert"
curl -fsS -b "$T/cookies" "$base/annuaire?q=Ibos" > "$T/structures.html" || fail "page de l'annuaire"
grep -q "Ibos-Lé" "$T/structures.html" || fail "relais ui ne montre pas l'ajout fait en ligne de commande"
# Ctrl+C stops relais ui: Wine delivers SIGINT to it as CTRL_C_EVENT.
kill -INT "$UI_PID" 2>/dev/null || true
wait "$UI_PID" 2>/dev/null || true
UI_PID=""
W status > /dev/null || fail "le verrou n'a pas été rendu à l'arrêt de relais ui"

step "client Windows vérifié"
