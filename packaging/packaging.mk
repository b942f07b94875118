# Packages: the server's Debian package (tools/deb.sh, packaging/debian/)
# and the Windows client (tools/windows.sh, packaging/windows/).
deb:
	sh tools/deb.sh

# Builds the .deb and checks it on this machine: lintian, dpkg -i, the unit,
# a sync against relaisd started as the unit would, remove and purge (root).
deb-check:
	sh tools/deb-check.sh

clean: clean-packages
clean-packages:
	rm -rf build-deb

.PHONY: deb deb-check clean-packages
