#!/bin/sh
# Writes the messages of the corpus made by a command-line mail client (mutt):
# mutt composes them in batch mode and hands them to a "sendmail" that only
# saves what it is given. Needs mutt and the built relais (for the blank forms).
# Usage: tests/mail/make-mutt.sh [RELAIS_BINARY]   (from the repository root)
set -eu
RELAIS=${1:-build/relais}
OUT=$(cd "$(dirname "$0")" && pwd)
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

# mutt runs "sendmail -oi -- RCPT..." with the message on stdin.
cat > "$T/save" <<'SH'
#!/bin/sh
cat > "$SAVE_TO"
SH
chmod +x "$T/save"

send() { # file charset subject body-file [attachment]
	out=$1 charset=$2 subject=$3 body=$4
	shift 4
	SAVE_TO="$OUT/$out" HOME="$T" mutt -F /dev/null -n \
		-e "set sendmail='$T/save'" -e 'set from="Centre social Les Tilleuls <accueil@tilleuls.example>"' \
		-e 'set use_from=yes' -e 'set hostname=tilleuls.example' \
		-e "set send_charset=$charset" -e 'set charset=utf-8' \
		-s "$subject" "$@" -- relais@pdn43.example < "$body"
}

# A candidature filled in on the blank form, as a structure would.
"$RELAIS" formulaire candidature | sed \
	-e '0,/^Nom \* :$/s//Nom * : Centre social Les Tilleuls/' \
	-e '0,/^Commune \* :$/s//Commune * : Le Puy-en-Velay/' \
	-e 's/^Prénom \* :$/Prénom * : Zoé/' \
	-e 's/^Courriel \* :$/Courriel * : zoe.muller@tilleuls.example/' \
	-e 's/^Instagram :$/Instagram : zoe.pdn43/' \
	-e 's/^Heures en ligne par semaine :$/Heures en ligne par semaine : 3/' \
	-e 's/^Motivation \* :$/Motivation * : Accompagner les jeunes du quartier\nsur les réseaux, où ils sont./' \
	> "$T/candidature.txt"
# The promeneur's "Nom" is the second "Nom * :" line, after the first was filled.
sed -i '0,/^Nom \* :$/s//Nom * : Müller/' "$T/candidature.txt"
send mutt-candidature.eml utf-8 "Candidature Promeneurs du Net" "$T/candidature.txt"

# Plain text in ISO-8859-1, as mutt sends when told to.
printf 'Bonjour,\nVoici notre bilan annuel, très complet.\nÀ bientôt,\nZoé\n' > "$T/latin1.txt"
send mutt-latin1.eml iso-8859-1 "Bilan annuel — Les Tilleuls" "$T/latin1.txt"

# A bilan as a CSV attachment, the way a French spreadsheet exports it.
printf 'Champ;Valeur\r\nStructure;Centre social Les Tilleuls\r\nAnnée;2025\r\nJeunes connectés;42\r\nHeures en ligne;12,5\r\n' |
	iconv -f utf-8 -t windows-1252 > "$T/bilan.csv"
printf 'Bonjour,\nLe bilan est en pièce jointe.\n' > "$T/bilan.txt"
send mutt-bilan-csv.eml utf-8 "Bilan 2025" "$T/bilan.txt" -a "$T/bilan.csv"
chmod 644 "$OUT"/mutt-*.eml
