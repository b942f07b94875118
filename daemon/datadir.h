/*
 * datadir.h - the guard of relaisd's data directory (prefix datadir_):
 * permission checks on the directory and the files that hold or lead to
 * secrets, and the lock that says "a relaisd serves this directory".
 *
 * The lock is DIR/relaisd.lock, held with an exclusive flock(2) by
 * "relaisd servir" for its whole life and by "relaisd restauration" while it
 * installs a store. The kernel drops it when the holder dies, even by
 * kill -9, so a stale lock file never blocks anything: only a live holder
 * does.
 */
#ifndef RELAIS_DAEMON_DATADIR_H
#define RELAIS_DAEMON_DATADIR_H

#include <stddef.h>
#include "../common/relais.h"

#define DATADIR_LOCK "relaisd.lock"

/*
 * Checks that dir is a directory that only its owner may enter (no group
 * or other bit: 0700) and that the store files in it (relais.db and its
 * -wal and -shm, when present) are regular files that group and others may
 * neither read nor write. RELAIS_EPERM with a French message in err that
 * gives the chmod to run; RELAIS_EIO when dir cannot be examined.
 */
int datadir_check(const char *dir, char *err, size_t errlen) RELAIS_WUR;

/*
 * Checks one file: a regular file that group and others may not write, and
 * may not read either when secret is 1. RELAIS_EPERM with a French message
 * giving the chmod; RELAIS_EIO when it cannot be examined.
 */
int datadir_check_file(const char *path, int secret, char *err, size_t errlen) RELAIS_WUR;

/*
 * Takes the lock of dir without waiting: *fd receives the descriptor to
 * keep open (close-on-exec) and release with datadir_unlock(). RELAIS_EBUSY
 * when another process holds it, RELAIS_EIO when the lock file cannot be
 * opened; err receives a French message.
 */
int datadir_lock(const char *dir, int *fd, char *err, size_t errlen) RELAIS_WUR;
/* Releases a lock taken by datadir_lock(); accepts -1. */
void datadir_unlock(int fd);

#endif
