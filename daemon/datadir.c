/*
 * datadir.c - permissions and lock of the data directory.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include "../common/util.h"
#include "datadir.h"
#include "store.h"

static int join(char *out, size_t outlen, const char *dir, const char *name)
{
	int n = snprintf(out, outlen, "%s/%s", dir, name);
	return n < 0 || (size_t)n >= outlen ? RELAIS_EINVAL : 0;
}

int datadir_check_file(const char *path, int secret, char *err, size_t errlen)
{
	struct stat st;
	mode_t bad = secret ? 077 : 022;
	if (stat(path, &st)) {
		snprintf(err, errlen, "Impossible d'examiner « %s » : %s.", path, util_errno_fr(errno));
		return RELAIS_EIO;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "« %s » n'est pas un fichier ordinaire.", path);
		return RELAIS_EPERM;
	}
	if (st.st_mode & bad) {
		snprintf(err, errlen, "« %s » est %s par d'autres utilisateurs (droits %03o) : "
			 "protégez-le avec « chmod %s %s ».", path,
			 secret ? "lisible ou modifiable" : "modifiable",
			 (unsigned)(st.st_mode & 0777), secret ? "600" : "go-w", path);
		return RELAIS_EPERM;
	}
	return 0;
}

int datadir_check(const char *dir, char *err, size_t errlen)
{
	static const char *const files[] = { STORE_FILE, STORE_FILE "-wal", STORE_FILE "-shm" };
	char path[4096];
	struct stat st;
	if (stat(dir, &st)) {
		snprintf(err, errlen, "Impossible d'examiner le dossier « %s » : %s.", dir,
			 util_errno_fr(errno));
		return RELAIS_EIO;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "« %s » n'est pas un dossier.", dir);
		return RELAIS_EPERM;
	}
	if (st.st_mode & 077) {
		snprintf(err, errlen, "Le dossier de données « %s » est accessible à d'autres "
			 "utilisateurs (droits %03o) : protégez-le avec « chmod 700 %s ».", dir,
			 (unsigned)(st.st_mode & 0777), dir);
		return RELAIS_EPERM;
	}
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		if (join(path, sizeof(path), dir, files[i])) {
			snprintf(err, errlen, "Chemin du dossier de données trop long.");
			return RELAIS_EINVAL;
		}
		if (lstat(path, &st) && errno == ENOENT)
			continue;
		int rc = datadir_check_file(path, 1, err, errlen);
		if (rc)
			return rc;
	}
	return 0;
}

int datadir_lock(const char *dir, int *fd, char *err, size_t errlen)
{
	char path[4096];
	*fd = -1;
	if (join(path, sizeof(path), dir, DATADIR_LOCK)) {
		snprintf(err, errlen, "Chemin du dossier de données trop long.");
		return RELAIS_EINVAL;
	}
	int f = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (f < 0) {
		snprintf(err, errlen, "Impossible d'ouvrir le verrou « %s » : %s.", path,
			 util_errno_fr(errno));
		return RELAIS_EIO;
	}
	while (flock(f, LOCK_EX | LOCK_NB)) {
		if (errno == EINTR)
			continue;
		int busy = errno == EWOULDBLOCK;
		if (busy)
			snprintf(err, errlen, "Un relaisd sert déjà le dossier « %s » (verrou « %s » "
				 "tenu) : arrêtez-le d'abord.", dir, path);
		else
			snprintf(err, errlen, "Impossible de verrouiller « %s » : %s.", path,
				 util_errno_fr(errno));
		close(f);
		return busy ? RELAIS_EBUSY : RELAIS_EIO;
	}
	*fd = f;
	return 0;
}

void datadir_unlock(int fd)
{
	if (fd >= 0)
		close(fd);
}
