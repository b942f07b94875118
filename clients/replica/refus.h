/*
 * refus.h - what the server said about this replica at its last syncs: the
 * edits it refused for good (set aside in sync_refused), and how far this
 * computer's clock is from the server's. Shown by relais sync, relais etat
 * and the home page of relais ui; relais refus lists, shows and drops the
 * edits set aside.
 */
#ifndef RELAIS_CLIENT_REFUS_H
#define RELAIS_CLIENT_REFUS_H

#include <stddef.h>
#include <stdint.h>
#include "replica.h"

/* Writes a French duration, "2 h 05 min", "3 jours", "40 s", into out. */
void refus_duration(int64_t ms, char *out, size_t outlen);

/*
 * When the clock offset recorded at the last sync is over SYNC_MAX_SKEW_MS,
 * writes the French warning ("L'horloge de cet ordinateur avance de … sur
 * celle du serveur : …") into out and returns 1; else 0 (out "").
 */
int refus_clock_warning(struct replica *r, char *out, size_t outlen);

/* Number of edits set aside; 0 when the table cannot be read. */
uint64_t refus_count(struct replica *r);

#endif
