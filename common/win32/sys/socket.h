/*
 * sys/socket.h on Windows: Winsock, and the scatter send net/http.c uses to
 * answer a refused connection at once. libuv's sockets are non-blocking and
 * Windows raises no SIGPIPE, so MSG_DONTWAIT and MSG_NOSIGNAL are no-ops.
 * The descriptor libuv hands out (uv_os_fd_t) is the SOCKET itself.
 */
#ifndef RELAIS_WIN32_SYS_SOCKET_H
#define RELAIS_WIN32_SYS_SOCKET_H
#include <winsock2.h>
#include <ws2tcpip.h>
#include <stddef.h>

struct iovec {
	void *iov_base;
	size_t iov_len;
};

struct msghdr {
	struct iovec *msg_iov;
	size_t msg_iovlen;
};

#define MSG_NOSIGNAL 0
#define MSG_DONTWAIT 0

long win32_sendmsg(void *sock, const struct msghdr *m, int flags);
long win32_recv(void *sock, void *buf, size_t len, int flags);

#define sendmsg(sock, m, flags) win32_sendmsg((void *)(sock), m, flags)
#define recv(sock, buf, len, flags) win32_recv((void *)(sock), buf, len, flags)

#endif
