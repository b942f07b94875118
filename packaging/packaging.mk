# Packages: the server's Debian package (tools/deb.sh, packaging/debian/)
# and the Windows client (tools/windows.sh, packaging/windows/).
deb:
	sh tools/deb.sh

# Builds the .deb and checks it on this machine: lintian, dpkg -i, the unit,
# a sync against relaisd started as the unit would, remove and purge (root).
deb-check:
	sh tools/deb-check.sh

# The Windows client: build-win/relais-windows.zip (relais.exe, LISEZMOI.txt),
# cross-built with mingw-w64 from Debian's sources of its libraries.
windows:
	sh tools/windows.sh

# Its end-to-end tests under Wine against the Linux relaisd.
windows-check: $(PROGRAMS)
	sh tools/windows-check.sh

clean: clean-packages
clean-packages:
	rm -rf build-deb build-win

.PHONY: deb deb-check windows windows-check clean-packages
