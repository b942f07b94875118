/*
 * faultproxy.c - the soak's fault-injecting TCP proxy (see faultproxy.h).
 *
 * One poll() loop in a forked child. Each connection is a pair of sockets
 * and two one-chunk buffers (one per direction): a direction reads from its
 * source only when its buffer is empty, so a slow side slows the other
 * instead of growing memory, and each buffer is capped at FP_CHUNK.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "faultproxy.h"

#define FP_CHUNK 16384
#define FP_MAX_PAIRS 128
#define FP_MAX_TICK_MS 100
#define FP_LINK_CHUNK 512  /* emulated link: small chunks, so that the rate is smooth */
#define FP_SEGS (FP_CHUNK / FP_LINK_CHUNK)

/* Fates, out of 100 draws: the rest pass. Nearly half of the connections
 * meet a fault (a delay is only slow), so a short soak sees every kind and
 * most syncs still get through. */
#define FP_P_DELAY 14
#define FP_P_DROP 8
#define FP_P_TRUNC_UP 11
#define FP_P_TRUNC_DOWN 12
/* Truncation points: requests (headers and a push body) and answers. */
#define FP_TRUNC_UP_MAX 700
#define FP_TRUNC_DOWN_MAX 1000
#define FP_DELAY_MIN_MS 20
#define FP_DELAY_SPAN_MS 380

struct fp_shared {
	int target;
	int faults;
	long count[FP_NKINDS];
	long bytes[2];     /* forwarded: [0] client to server, [1] server to client */
	long cut_down;     /* > 0: the next connection's answer is cut after so many bytes */
	/* An emulated rural link (fp_set_link): one-way delay, bytes per
	 * second in each direction, and every connection cut at each period. */
	int link_delay_ms;
	long link_rate;
	int link_cut_ms;
	long link_cuts;    /* connections cut by the period */
};

struct fp_dir {
	unsigned char buf[FP_CHUNK];
	size_t len, off;
	int eof;          /* the source said EOF */
	int shut;         /* EOF passed on to the destination */
	long budget;      /* bytes left before the cut; -1: no cut */
	int64_t ready_at; /* the first chunk not written: not before this */
	int64_t line_free; /* rural link: when the line has sent what it holds */
	/* The chunks held, each with its arrival time. A line carries rate x
	 * delay bytes at once: on an emulated link up to FP_SEGS chunks are in
	 * flight together, else one. */
	size_t seg_end[FP_SEGS];
	int64_t seg_ready[FP_SEGS];
	int nseg;
};

struct fp_pair {
	int used;
	int cfd, sfd;
	int connecting;
	int delay;        /* fate DELAY */
	int up_kind;      /* counter to bump when up's budget fires */
	int down_kind;
	struct fp_dir up;   /* client to server */
	struct fp_dir down; /* server to client */
};

static struct fp_pair pairs[FP_MAX_PAIRS];
static uint64_t rng_state;

/* splitmix64: small, seedable, good enough to pick fates. */
static uint64_t rng_next(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static long rng_below(long n)
{
	return n > 0 ? (long)(rng_next() % (uint64_t)n) : 0;
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void bump(struct fp_shared *sh, int k)
{
	__atomic_fetch_add(&sh->count[k], 1, __ATOMIC_RELAXED);
}

static void pair_close(struct fp_pair *p)
{
	if (p->cfd >= 0)
		close(p->cfd);
	if (p->sfd >= 0)
		close(p->sfd);
	memset(p, 0, sizeof(*p));
	p->cfd = p->sfd = -1;
}

static void dir_init(struct fp_dir *d, long budget)
{
	d->len = d->off = 0;
	d->eof = d->shut = 0;
	d->budget = budget;
	d->ready_at = 0;
	d->nseg = 0;
}

/* 1 when a direction can take one more chunk from its source. On an
 * emulated link, once the line has sent the last one: what is in flight is
 * then what a line holds (rate x delay), not a queue that a cut would lose
 * as well. */
static int dir_room(const struct fp_shared *sh, const struct fp_dir *d, int64_t now)
{
	if (d->eof)
		return 0;
	if (__atomic_load_n(&sh->link_rate, __ATOMIC_RELAXED) <= 0)
		return d->len == 0;
	return d->nseg < FP_SEGS && (d->len - d->off) + FP_LINK_CHUNK <= sizeof(d->buf) &&
	       d->line_free <= now;
}

static int connect_target(int port)
{
	struct sockaddr_in a;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0 && errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	return fd;
}

/* A new client: draws its fate and connects to the target. */
static void on_accept(struct fp_shared *sh, int lfd)
{
	int cfd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	struct fp_pair *p = NULL;
	if (cfd < 0)
		return;
	bump(sh, FP_CONN);
	for (int i = 0; i < FP_MAX_PAIRS && !p; i++)
		if (!pairs[i].used)
			p = &pairs[i];
	int target = __atomic_load_n(&sh->target, __ATOMIC_RELAXED);
	if (!p || target <= 0) {
		bump(sh, FP_DOWN);
		close(cfd);
		return;
	}
	long draw = __atomic_load_n(&sh->faults, __ATOMIC_RELAXED) ? rng_below(100) : 100;
	long up_budget = -1, down_budget = -1;
	int delay = 0;
	if (draw < FP_P_DROP) {
		bump(sh, FP_DROP);
		close(cfd);
		return;
	}
	draw -= FP_P_DROP;
	if (draw < FP_P_DELAY) {
		delay = 1;
	} else if ((draw -= FP_P_DELAY) < FP_P_TRUNC_UP) {
		up_budget = rng_below(FP_TRUNC_UP_MAX);
	} else if ((draw -= FP_P_TRUNC_UP) < FP_P_TRUNC_DOWN) {
		down_budget = rng_below(FP_TRUNC_DOWN_MAX);
	}
	long cut = __atomic_exchange_n(&sh->cut_down, 0, __ATOMIC_RELAXED);
	if (cut > 0) {
		down_budget = cut;
		delay = 0;
		up_budget = -1;
	}
	int sfd = connect_target(target);
	if (sfd < 0) {
		bump(sh, FP_DOWN);
		close(cfd);
		return;
	}
	memset(p, 0, sizeof(*p));
	p->used = 1;
	p->cfd = cfd;
	p->sfd = sfd;
	p->connecting = 1;
	p->delay = delay;
	p->up_kind = FP_TRUNC_UP;
	p->down_kind = FP_TRUNC_DOWN;
	dir_init(&p->up, up_budget);
	dir_init(&p->down, down_budget);
	/* A truncation is counted when it fires (a short exchange may end first). */
	if (delay)
		bump(sh, FP_DELAY);
	else if (up_budget < 0 && down_budget < 0)
		bump(sh, FP_PASS);
}

/* Reads one chunk into a direction with room (dir_room). Returns -1 when the
 * pair must close. */
static int dir_read(struct fp_shared *sh, struct fp_pair *p, struct fp_dir *d, int src, int kind)
{
	long rate = __atomic_load_n(&sh->link_rate, __ATOMIC_RELAXED);
	if (d->budget == 0) {
		bump(sh, kind);
		return -1;
	}
	if (d->nseg == FP_SEGS)
		return 0;
	if (d->off > 0 && d->len + FP_LINK_CHUNK > sizeof(d->buf)) {
		/* What was written goes: the chunks in flight move to the front. */
		memmove(d->buf, d->buf + d->off, d->len - d->off);
		for (int k = 0; k < d->nseg; k++)
			d->seg_end[k] -= d->off;
		d->len -= d->off;
		d->off = 0;
	}
	size_t cap = sizeof(d->buf) - d->len;
	if (rate > 0 && cap > FP_LINK_CHUNK)
		cap = FP_LINK_CHUNK;
	if (d->budget > 0 && (size_t)d->budget < cap)
		cap = (size_t)d->budget;
	if (cap == 0)
		return 0;
	ssize_t n = recv(src, d->buf + d->len, cap, 0);
	if (n < 0)
		return (errno == EAGAIN || errno == EINTR) ? 0 : -1;
	if (n == 0) {
		d->eof = 1;
		return 0;
	}
	__atomic_fetch_add(&sh->bytes[d == &p->down], (long)n, __ATOMIC_RELAXED);
	if (d->budget > 0)
		d->budget -= n;
	int64_t ready = 0;
	if (p->delay)
		ready = mono_ms() + FP_DELAY_MIN_MS + rng_below(FP_DELAY_SPAN_MS);
	if (rate > 0) {
		/* The chunk leaves once the line sent it and arrives a delay later. */
		int64_t now = mono_ms(), start = d->line_free > now ? d->line_free : now;
		d->line_free = start + (int64_t)((long)n * 1000 / rate);
		ready = d->line_free + __atomic_load_n(&sh->link_delay_ms, __ATOMIC_RELAXED);
	}
	d->len += (size_t)n;
	d->seg_end[d->nseg] = d->len;
	d->seg_ready[d->nseg++] = ready;
	d->ready_at = d->seg_ready[0];
	return 0;
}

/* Writes what of a direction has arrived. Returns -1 when the pair must close. */
static int dir_write(struct fp_shared *sh, struct fp_dir *d, int dst, int kind)
{
	int64_t now = mono_ms();
	size_t end = d->off;
	for (int k = 0; k < d->nseg && d->seg_ready[k] <= now; k++)
		end = d->seg_end[k];
	if (end == d->off)
		return 0;
	ssize_t n = send(dst, d->buf + d->off, end - d->off, MSG_NOSIGNAL);
	if (n < 0)
		return (errno == EAGAIN || errno == EINTR) ? 0 : -1;
	d->off += (size_t)n;
	int done = 0;
	while (done < d->nseg && d->seg_end[done] <= d->off)
		done++;
	if (done) {
		memmove(d->seg_end, d->seg_end + done, (size_t)(d->nseg - done) * sizeof(d->seg_end[0]));
		memmove(d->seg_ready, d->seg_ready + done,
			(size_t)(d->nseg - done) * sizeof(d->seg_ready[0]));
		d->nseg -= done;
	}
	d->ready_at = d->nseg ? d->seg_ready[0] : 0;
	if (d->off == d->len) {
		d->off = d->len = 0;
		if (d->budget == 0) {
			/* The cut: both sides closed mid-stream. */
			bump(sh, kind);
			return -1;
		}
	}
	return 0;
}

/* Passes an EOF on once its direction is flushed; 1 when both are done. */
static int pair_shutdowns(struct fp_pair *p)
{
	if (p->up.eof && !p->up.shut && p->up.len == 0) {
		shutdown(p->sfd, SHUT_WR);
		p->up.shut = 1;
	}
	if (p->down.eof && !p->down.shut && p->down.len == 0) {
		shutdown(p->cfd, SHUT_WR);
		p->down.shut = 1;
	}
	return p->up.shut && p->down.shut;
}

static void serve(struct fp_shared *sh, int lfd)
{
	struct pollfd pf[1 + 2 * FP_MAX_PAIRS];
	int who[1 + 2 * FP_MAX_PAIRS];
	int64_t next_cut = 0;
	for (int i = 0; i < FP_MAX_PAIRS; i++)
		pairs[i].cfd = pairs[i].sfd = -1;
	for (;;) {
		int n = 0, timeout = FP_MAX_TICK_MS;
		int64_t now = mono_ms();
		int cut_ms = __atomic_load_n(&sh->link_cut_ms, __ATOMIC_RELAXED);
		if (cut_ms > 0 && !next_cut)
			next_cut = now + cut_ms;
		if (cut_ms > 0 && now >= next_cut) {
			/* The line drops: every connection dies mid-stream. */
			for (int i = 0; i < FP_MAX_PAIRS; i++)
				if (pairs[i].used) {
					pair_close(&pairs[i]);
					__atomic_fetch_add(&sh->link_cuts, 1, __ATOMIC_RELAXED);
				}
			next_cut = now + cut_ms;
		}
		pf[n].fd = lfd;
		pf[n].events = POLLIN;
		who[n++] = -1;
		for (int i = 0; i < FP_MAX_PAIRS; i++) {
			struct fp_pair *p = &pairs[i];
			short ce = 0, se = 0;
			if (!p->used)
				continue;
			if (p->connecting) {
				se = POLLOUT;
			} else {
				struct fp_dir *d[2] = { &p->up, &p->down };
				for (int k = 0; k < 2; k++) {
					short *src = k == 0 ? &ce : &se, *dst = k == 0 ? &se : &ce;
					if (dir_room(sh, d[k], now))
						*src |= POLLIN;
					else if (!d[k]->eof && d[k]->line_free > now &&
						 d[k]->line_free - now < timeout)
						timeout = (int)(d[k]->line_free - now);
					if (d[k]->len > d[k]->off) {
						if (d[k]->ready_at <= now)
							*dst |= POLLOUT;
						else if (d[k]->ready_at - now < timeout)
							timeout = (int)(d[k]->ready_at - now);
					}
				}
			}
			/* A socket with nothing wanted stays out of the set: a hang-up
			 * reported on it would wake poll() again and again while a
			 * delayed chunk waits. */
			pf[n].fd = ce ? p->cfd : -1;
			pf[n].events = ce;
			who[n++] = 2 * i;
			pf[n].fd = se ? p->sfd : -1;
			pf[n].events = se;
			who[n++] = 2 * i + 1;
		}
		int r = poll(pf, (nfds_t)n, timeout);
		if (r < 0 && errno != EINTR)
			_exit(1);
		if (r <= 0)
			continue;
		if (pf[0].revents & POLLIN)
			on_accept(sh, lfd);
		for (int j = 1; j < n; j++) {
			struct fp_pair *p = &pairs[who[j] / 2];
			int server_side = who[j] % 2, bad = 0;
			short re = pf[j].revents;
			if (!re || !p->used)
				continue;
			if (p->connecting && server_side) {
				int err = 0;
				socklen_t el = sizeof(err);
				if (getsockopt(p->sfd, SOL_SOCKET, SO_ERROR, &err, &el) < 0 || err) {
					bump(sh, FP_DOWN);
					pair_close(p);
					continue;
				}
				p->connecting = 0;
				continue;
			}
			if (p->connecting)
				continue;
			/* The source side of a direction reads; the other side writes. */
			struct fp_dir *in = server_side ? &p->down : &p->up;
			struct fp_dir *out = server_side ? &p->up : &p->down;
			int in_kind = server_side ? p->down_kind : p->up_kind;
			int out_kind = server_side ? p->up_kind : p->down_kind;
			int fd = server_side ? p->sfd : p->cfd;
			if ((re & (POLLIN | POLLHUP | POLLERR)) && (pf[j].events & POLLIN))
				bad = dir_read(sh, p, in, fd, in_kind);
			if (!bad && (re & POLLOUT))
				bad = dir_write(sh, out, fd, out_kind);
			if (!bad && (re & POLLERR) && !(pf[j].events & POLLIN))
				bad = -1;
			if (bad || pair_shutdowns(p))
				pair_close(p);
		}
	}
}

int fp_start(struct fp_proxy *p, uint64_t seed)
{
	struct sockaddr_in a;
	socklen_t al = sizeof(a);
	int lfd = -1;
	memset(p, 0, sizeof(*p));
	p->sh = mmap(NULL, sizeof(struct fp_shared), PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p->sh == MAP_FAILED) {
		p->sh = NULL;
		perror("faultproxy: mmap");
		return -1;
	}
	memset(p->sh, 0, sizeof(*p->sh));
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(lfd, 512) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&a, &al) < 0) {
		perror("faultproxy: listen");
		goto fail;
	}
	p->port = ntohs(a.sin_port);
	fflush(NULL);
	pid_t parent = getpid();
	p->pid = fork();
	if (p->pid < 0) {
		perror("faultproxy: fork");
		p->pid = 0;
		goto fail;
	}
	if (p->pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(0);
		signal(SIGPIPE, SIG_IGN);
		signal(SIGINT, SIG_IGN);
		signal(SIGTERM, SIG_DFL);
		rng_state = seed ^ 0x6a09e667f3bcc908ull;
		serve(p->sh, lfd);
		_exit(0);
	}
	close(lfd);
	return 0;
fail:
	if (lfd >= 0)
		close(lfd);
	munmap(p->sh, sizeof(*p->sh));
	p->sh = NULL;
	return -1;
}

void fp_set_target(struct fp_proxy *p, int port)
{
	if (p->sh)
		__atomic_store_n(&p->sh->target, port, __ATOMIC_RELAXED);
}

void fp_set_faults(struct fp_proxy *p, int on)
{
	if (p->sh)
		__atomic_store_n(&p->sh->faults, on, __ATOMIC_RELAXED);
}

long fp_count(const struct fp_proxy *p, enum fp_kind k)
{
	if (!p->sh || k < 0 || k >= FP_NKINDS)
		return 0;
	return __atomic_load_n(&p->sh->count[k], __ATOMIC_RELAXED);
}

long fp_faults(const struct fp_proxy *p)
{
	return fp_count(p, FP_DELAY) + fp_count(p, FP_DROP) + fp_count(p, FP_TRUNC_UP) +
	       fp_count(p, FP_TRUNC_DOWN);
}

void fp_stop(struct fp_proxy *p)
{
	if (p->pid > 0) {
		kill(p->pid, SIGKILL);
		while (waitpid(p->pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	if (p->sh)
		munmap(p->sh, sizeof(*p->sh));
	memset(p, 0, sizeof(*p));
}

long fp_bytes(const struct fp_proxy *p, int down)
{
	return p->sh ? __atomic_load_n(&p->sh->bytes[down ? 1 : 0], __ATOMIC_RELAXED) : 0;
}

void fp_cut_next(struct fp_proxy *p, long down_bytes)
{
	if (p->sh)
		__atomic_store_n(&p->sh->cut_down, down_bytes, __ATOMIC_RELAXED);
}

void fp_set_link(struct fp_proxy *p, int delay_ms, long bytes_per_s, int cut_every_ms)
{
	if (!p->sh)
		return;
	__atomic_store_n(&p->sh->link_delay_ms, delay_ms, __ATOMIC_RELAXED);
	__atomic_store_n(&p->sh->link_rate, bytes_per_s, __ATOMIC_RELAXED);
	__atomic_store_n(&p->sh->link_cut_ms, cut_every_ms, __ATOMIC_RELAXED);
}

long fp_link_cuts(const struct fp_proxy *p)
{
	return p->sh ? __atomic_load_n(&p->sh->link_cuts, __ATOMIC_RELAXED) : 0;
}
