/*
 * faultproxy.h - a fault-injecting TCP proxy for the soak (prefix fp_).
 *
 * fp_start() forks a child that listens on 127.0.0.1 (a free port) and
 * forwards each accepted connection to 127.0.0.1:target, where target is
 * whatever the parent last set with fp_set_target() (relaisd gets a new
 * port at each restart; 0 means "down": connections are closed at once).
 *
 * While faults are on, each connection draws one fate from a seeded PRNG:
 * pass, delay (each forwarded chunk held 20-400 ms), drop (closed before a
 * byte is forwarded), or truncation after a random number of bytes of the
 * client-to-server stream (the request) or of the server-to-client stream
 * (the answer), then both sides closed. A truncated answer is the hard case:
 * the server may have committed a push that the client never saw
 * acknowledged. The fates are drawn in accept order from the seed, so one
 * seed gives one sequence of fates (which connection gets which depends on
 * the timing of the processes, not only on the seed).
 *
 * Parent and child share one page (mmap MAP_SHARED): the target port, the
 * switch and the counters, read with fp_count(). The child dies with the
 * parent (PR_SET_PDEATHSIG) and never runs the parent's cleanups.
 */
#ifndef RELAIS_SOAK_FAULTPROXY_H
#define RELAIS_SOAK_FAULTPROXY_H

#include <stdint.h>
#include <sys/types.h>

/* What happened to connections, by kind (fp_count). */
enum fp_kind {
	FP_CONN,        /* connections accepted */
	FP_PASS,        /* forwarded untouched (faults off, or drawn) */
	FP_DELAY,       /* forwarded with delays */
	FP_DROP,        /* closed before anything was forwarded */
	FP_TRUNC_UP,    /* request cut after a random byte */
	FP_TRUNC_DOWN,  /* answer cut after a random byte */
	FP_DOWN,        /* target down (no port, or connect refused) */
	FP_NKINDS
};

struct fp_shared;

struct fp_proxy {
	pid_t pid;                 /* the child, 0 when stopped */
	int port;                  /* where it listens */
	struct fp_shared *sh;      /* the shared page */
};

/* Starts the proxy child with faults off and no target. Returns 0 or -1
 * (after printing why). seed selects the sequence of fates. */
int fp_start(struct fp_proxy *p, uint64_t seed);
/* Sets the port connections are forwarded to (0: down). */
void fp_set_target(struct fp_proxy *p, int port);
/* Turns fault injection on (1) or off (0) for connections accepted from now on. */
void fp_set_faults(struct fp_proxy *p, int on);
/* The counter of one kind so far. */
long fp_count(const struct fp_proxy *p, enum fp_kind k);
/* The sum of the fault kinds (delay, drop, both truncations). */
long fp_faults(const struct fp_proxy *p);
/* Bytes forwarded so far from client to server (down = 0) or back (1). */
long fp_bytes(const struct fp_proxy *p, int down);
/* Cuts the answer of the next connection accepted after down_bytes bytes
 * (both sides closed then), whatever the faults switch says. */
void fp_cut_next(struct fp_proxy *p, long down_bytes);
/* Emulates a rural link from now on (netem does not exist in this
 * kernel): each chunk arrives delay_ms after the line, limited to
 * bytes_per_s in each direction (0: no limit), sent it, and the next chunk
 * is taken as soon as the line is free (a pipe: about rate x delay bytes in
 * flight, as on a real line, not one chunk per delay); every cut_every_ms
 * (0: never) all connections are closed mid-stream. */
void fp_set_link(struct fp_proxy *p, int delay_ms, long bytes_per_s, int cut_every_ms);
/* Connections closed by the link's periodic cuts so far. */
long fp_link_cuts(const struct fp_proxy *p);
/* Stops the child (SIGKILL), reaps it and unmaps the page. Accepts a
 * proxy never started or already stopped. */
void fp_stop(struct fp_proxy *p);

#endif
