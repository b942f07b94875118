/*
 * refus.c - edits the server refused, and the clock warning (refus.h).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../../common/util.h"
#include "../../model/model.h"
#include "../../sync/sync.h"
#include "refus.h"

void refus_duration(int64_t ms, char *out, size_t outlen)
{
	uint64_t s = (uint64_t)(ms < 0 ? -ms : ms) / 1000;
	if (s >= 2 * 86400)
		snprintf(out, outlen, "%" PRIu64 " jours", s / 86400);
	else if (s >= 3600)
		snprintf(out, outlen, "%" PRIu64 " h %02" PRIu64 " min", s / 3600, s % 3600 / 60);
	else if (s >= 60)
		snprintf(out, outlen, "%" PRIu64 " min", s / 60);
	else
		snprintf(out, outlen, "%" PRIu64 " s", s);
}

int refus_clock_warning(struct replica *r, char *out, size_t outlen)
{
	char *v = NULL, d[48];
	long long off = 0;
	out[0] = 0;
	if (replica_meta(r, "clock_offset", &v) || !v || util_parse_ll(v, INT64_MIN + 1, INT64_MAX, &off)) {
		free(v);
		return 0;
	}
	free(v);
	if (off <= SYNC_MAX_SKEW_MS && off >= -SYNC_MAX_SKEW_MS)
		return 0;
	refus_duration(off, d, sizeof(d));
	snprintf(out, outlen, "L'horloge de cet ordinateur %s de %s sur celle du serveur : corrigez "
		 "sa date et son heure (réglage automatique de l'heure). Les modifications faites "
		 "entre-temps sont datées par le serveur à leur arrivée.",
		 off > 0 ? "avance" : "retarde", d);
	return 1;
}

uint64_t refus_count(struct replica *r)
{
	uint64_t n = 0;
	if (sync_refused_count(r->db, &n))
		return 0;
	return n;
}
