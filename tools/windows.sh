#!/bin/sh
# make windows: the Windows client, cross-built on Debian 12 with mingw-w64.
# Builds the libraries from Debian's sources (tools/windows-deps.sh), then
# relais.exe (packaging/windows/windows.mk), then build-win/relais-windows.zip
# with relais.exe and LISEZMOI.txt (CRLF, for Notepad).
set -eu
cd "$(dirname "$0")/.."
W=build-win
sh tools/windows-deps.sh "$W/deps"
nice ${MAKE:-make} -j2 -f packaging/windows/windows.mk "$W/relais.exe"
x86_64-w64-mingw32-strip "$W/relais.exe"
rm -rf "$W/zip" && mkdir -p "$W/zip/Relais"
cp "$W/relais.exe" "$W/zip/Relais/"
sed 's/$/\r/' packaging/windows/LISEZMOI.txt > "$W/zip/Relais/LISEZMOI.txt"
rm -f "$W/relais-windows.zip"
(cd "$W/zip" && python3 -m zipfile -c ../relais-windows.zip Relais)
echo "$W/relais-windows.zip"
