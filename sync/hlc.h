/*
 * hlc.h - hybrid logical clock.
 *
 * A timestamp packs the physical time in milliseconds since the epoch into
 * its high 48 bits and a logical counter into its low 16 bits, so that two
 * timestamps compare as plain unsigned integers. Ties between nodes are
 * broken by the node id (a 64-bit random number); see sync_hlc_cmp().
 */
#ifndef RELAIS_SYNC_HLC_H
#define RELAIS_SYNC_HLC_H

#include <stddef.h>
#include <stdint.h>
#include "../common/relais.h"

typedef uint64_t sync_hlc_t;

struct sync_hlc {
	sync_hlc_t last; /* the greatest timestamp issued or observed */
};

static inline uint64_t sync_hlc_ms(sync_hlc_t t) { return t >> 16; }
static inline unsigned sync_hlc_counter(sync_hlc_t t) { return (unsigned)(t & 0xffffu); }
static inline sync_hlc_t sync_hlc_make(uint64_t ms, unsigned counter)
{
	return (ms << 16) | (counter & 0xffffu);
}

/* Issues a timestamp for a local event happening at wall-clock time wall_ms:
 * strictly greater than every timestamp issued or observed before. */
sync_hlc_t sync_hlc_now(struct sync_hlc *c, int64_t wall_ms);
/* Takes in a timestamp received from another node, so that the next local
 * timestamp is greater than it. */
void sync_hlc_observe(struct sync_hlc *c, sync_hlc_t remote, int64_t wall_ms);

/* Total order of edits: by timestamp, then by node id. Returns <0, 0, >0. */
int sync_hlc_cmp(sync_hlc_t a, uint64_t node_a, sync_hlc_t b, uint64_t node_b);

/* Formats t for people, "2026-11-23T10:45:25.123Z#3", into out (at least 32 bytes). */
void sync_hlc_format(sync_hlc_t t, char *out, size_t outlen);

/* Node ids travel and are stored as 16 lower-case hex digits. */
void sync_node_format(uint64_t node, char out[17]);
int sync_node_parse(const char *s, uint64_t *node) RELAIS_WUR;

#endif
