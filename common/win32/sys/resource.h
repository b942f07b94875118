/*
 * sys/resource.h on Windows: the open-files limit. Windows has no such
 * per-process limit for sockets; getrlimit reports what the C runtime's
 * descriptor table holds (common/win32/platform.c).
 */
#ifndef RELAIS_WIN32_SYS_RESOURCE_H
#define RELAIS_WIN32_SYS_RESOURCE_H

typedef unsigned long long rlim_t;
struct rlimit {
	rlim_t rlim_cur;
	rlim_t rlim_max;
};
#define RLIMIT_NOFILE 7
#define RLIM_INFINITY (~(rlim_t)0)

int getrlimit(int resource, struct rlimit *rl);
int setrlimit(int resource, const struct rlimit *rl);

#endif
