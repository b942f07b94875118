/*
 * platform.c - the Windows side of ../platform.h, and the wrappers that
 * posix.h puts in place of the POSIX calls taking a path. Strings cross
 * this file in UTF-8 and reach Windows as UTF-16 through its wide APIs.
 */
#include <winsock2.h>
#include <windows.h>
#include <bcrypt.h>
#include <shellapi.h>
#include <wchar.h>
#include <limits.h>
#include "../platform.h"
#include "iconv.h"
#include "sys/resource.h"
#include "sys/socket.h"

/* Returns a malloc'd UTF-16 copy of the UTF-8 string s, or NULL (errno). */
static wchar_t *wide(const char *s)
{
	int n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, NULL, 0);
	wchar_t *w = n > 0 ? malloc((size_t)n * sizeof(*w)) : NULL;
	if (!w || !MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, w, n)) {
		free(w);
		errno = n > 0 ? ENOMEM : EINVAL;
		return NULL;
	}
	return w;
}

/* Returns a malloc'd UTF-8 copy of the UTF-16 string w, or NULL. */
static char *utf8(const wchar_t *w)
{
	int n = WideCharToMultiByte(CP_UTF8, 0, w, -1, NULL, 0, NULL, NULL);
	char *s = n > 0 ? malloc((size_t)n) : NULL;
	if (!s || !WideCharToMultiByte(CP_UTF8, 0, w, -1, s, n, NULL, NULL)) {
		free(s);
		return NULL;
	}
	return s;
}

/* errno from the last Windows error, for the few calls that set none. */
static void set_errno_from_win(void)
{
	switch (GetLastError()) {
	case ERROR_FILE_NOT_FOUND:
	case ERROR_PATH_NOT_FOUND:
		errno = ENOENT;
		break;
	case ERROR_ACCESS_DENIED:
	case ERROR_SHARING_VIOLATION:
	case ERROR_LOCK_VIOLATION:
		errno = EACCES;
		break;
	case ERROR_ALREADY_EXISTS:
	case ERROR_FILE_EXISTS:
		errno = EEXIST;
		break;
	case ERROR_NOT_ENOUGH_MEMORY:
		errno = ENOMEM;
		break;
	default:
		errno = EIO;
		break;
	}
}

int platform_init(int *argc, char ***argv)
{
	int n;
	wchar_t **wargv = CommandLineToArgvW(GetCommandLineW(), &n);
	char **args = wargv ? calloc((size_t)n + 1, sizeof(*args)) : NULL;
	if (!args) {
		if (wargv)
			LocalFree(wargv);
		return RELAIS_ENOMEM;
	}
	for (int i = 0; i < n; i++)
		if (!(args[i] = utf8(wargv[i]))) {
			LocalFree(wargv);
			return RELAIS_ENOMEM;
		}
	LocalFree(wargv);
	*argc = n;
	*argv = args;
	/* French text is written in UTF-8: cmd.exe and PowerShell show it
	 * right once the console's code page says so. */
	SetConsoleOutputCP(CP_UTF8);
	SetConsoleCP(CP_UTF8);
	/* The same bytes as on Linux: a CSV written to stdout keeps its CRLF
	 * without gaining a second CR, and the console shows LF as a newline. */
	_setmode(_fileno(stdin), _O_BINARY);
	_setmode(_fileno(stdout), _O_BINARY);
	_setmode(_fileno(stderr), _O_BINARY);
	return 0;
}

int platform_random(void *p, size_t n)
{
	if (n > ULONG_MAX)
		return RELAIS_EIO;
	return BCRYPT_SUCCESS(BCryptGenRandom(NULL, p, (ULONG)n, BCRYPT_USE_SYSTEM_PREFERRED_RNG))
		       ? 0 : RELAIS_EIO;
}

void platform_sha256(const void *p, size_t n, unsigned char out[32])
{
	BCRYPT_ALG_HANDLE alg = NULL;
	BCRYPT_HASH_HANDLE h = NULL;
	const unsigned char *b = p;
	int ok = BCRYPT_SUCCESS(BCryptOpenAlgorithmProvider(&alg, BCRYPT_SHA256_ALGORITHM, NULL, 0)) &&
		 BCRYPT_SUCCESS(BCryptCreateHash(alg, &h, NULL, 0, NULL, 0, 0));
	while (ok && n) {
		ULONG chunk = n > 1u << 30 ? 1u << 30 : (ULONG)n;
		ok = BCRYPT_SUCCESS(BCryptHashData(h, (PUCHAR)b, chunk, 0));
		b += chunk;
		n -= chunk;
	}
	ok = ok && BCRYPT_SUCCESS(BCryptFinishHash(h, out, 32, 0));
	if (h)
		BCryptDestroyHash(h);
	if (alg)
		BCryptCloseAlgorithmProvider(alg, 0);
	/* The provider is part of every Windows since Vista: failing here
	 * means a broken system, and a wrong digest must not pass silently. */
	if (!ok)
		abort();
}

char *platform_default_home(void)
{
	const wchar_t *appdata = _wgetenv(L"APPDATA");
	if (!appdata || !*appdata)
		return NULL;
	char *a = utf8(appdata);
	size_t n = a ? strlen(a) + sizeof("\\Relais") : 0;
	char *p = n ? malloc(n) : NULL;
	if (p)
		snprintf(p, n, "%s\\Relais", a);
	free(a);
	return p;
}

int platform_try_lock(int fd)
{
	HANDLE h = (HANDLE)_get_osfhandle(fd);
	OVERLAPPED ov;
	memset(&ov, 0, sizeof(ov));
	if (h == INVALID_HANDLE_VALUE) {
		errno = EBADF;
		return RELAIS_EIO;
	}
	if (LockFileEx(h, LOCKFILE_EXCLUSIVE_LOCK | LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, &ov))
		return 0;
	if (GetLastError() == ERROR_LOCK_VIOLATION || GetLastError() == ERROR_IO_PENDING)
		return RELAIS_EBUSY;
	set_errno_from_win();
	return RELAIS_EIO;
}

void platform_unlock(int fd)
{
	HANDLE h = (HANDLE)_get_osfhandle(fd);
	OVERLAPPED ov;
	memset(&ov, 0, sizeof(ov));
	if (h != INVALID_HANDLE_VALUE)
		UnlockFileEx(h, 0, 1, 0, &ov);
}

int platform_open_url(const char *url)
{
	wchar_t *w = wide(url);
	if (!w)
		return RELAIS_EIO;
	/* ShellExecute opens the URL with the person's default browser. */
	INT_PTR r = (INT_PTR)ShellExecuteW(NULL, L"open", w, NULL, NULL, SW_SHOWNORMAL);
	free(w);
	return r > 32 ? 0 : RELAIS_EIO;
}

int platform_read_hidden_line(int fd, const char *prompt, char *out, size_t outlen)
{
	HANDLE h = (HANDLE)_get_osfhandle(fd);
	DWORD mode, got;
	wchar_t line[1024];
	size_t n = 0;
	int rc = 0;
	if (outlen == 0 || h == INVALID_HANDLE_VALUE || !GetConsoleMode(h, &mode))
		return RELAIS_EIO;
	if (!SetConsoleMode(h, (mode & ~(DWORD)ENABLE_ECHO_INPUT) | ENABLE_LINE_INPUT))
		return RELAIS_EIO;
	fputs(prompt, stderr);
	fflush(stderr);
	if (!ReadConsoleW(h, line, (DWORD)(sizeof(line) / sizeof(line[0]) - 1), &got, NULL)) {
		rc = RELAIS_EIO;
		got = 0;
	}
	fputs("\n", stderr);
	SetConsoleMode(h, mode);
	while (got && (line[got - 1] == L'\n' || line[got - 1] == L'\r'))
		got--;
	line[got] = 0;
	char *s = rc ? NULL : utf8(line);
	if (s) {
		n = strlen(s) < outlen - 1 ? strlen(s) : outlen - 1;
		memcpy(out, s, n);
		explicit_bzero(s, strlen(s));
		free(s);
	} else {
		rc = RELAIS_EIO;
	}
	out[n] = 0;
	SecureZeroMemory(line, sizeof(line));
	if (rc)
		explicit_bzero(out, outlen);
	return rc;
}

int platform_raise_nofile(unsigned long *soft, unsigned long *hard)
{
	/* Sockets and handles have no per-process limit to raise here. */
	*soft = ULONG_MAX;
	*hard = ULONG_MAX;
	return 0;
}

/* The POSIX calls of posix.h. */

int win32_open(const char *path, int flags, ...)
{
	int mode = 0;
	if (flags & O_CREAT) {
		va_list ap;
		va_start(ap, flags);
		mode = va_arg(ap, int);
		va_end(ap);
	}
	wchar_t *w = wide(path);
	if (!w)
		return -1;
	if (!(flags & _O_TEXT))
		flags |= _O_BINARY;
	int fd = _wopen(w, flags, mode & 0600 ? _S_IREAD | _S_IWRITE : _S_IREAD | _S_IWRITE);
	free(w);
	return fd;
}

FILE *win32_fopen(const char *path, const char *mode)
{
	wchar_t wmode[16];
	size_t k = 0;
	/* "e" (close on exec) is spelled "N" (not inherited) here. */
	for (const char *m = mode; *m && k + 2 < sizeof(wmode) / sizeof(wmode[0]); m++)
		wmode[k++] = *m == 'e' ? L'N' : (wchar_t)(unsigned char)*m;
	wmode[k] = 0;
	wchar_t *w = wide(path);
	if (!w)
		return NULL;
	FILE *f = _wfopen(w, wmode);
	free(w);
	return f;
}

/* 100-nanosecond intervals since 1601 to seconds since 1970. */
static time_t unix_time(FILETIME ft)
{
	unsigned long long t = (unsigned long long)ft.dwHighDateTime << 32 | ft.dwLowDateTime;
	return (time_t)(t / 10000000ULL - 11644473600ULL);
}

int win32_stat(const char *path, struct stat *st)
{
	WIN32_FILE_ATTRIBUTE_DATA a;
	wchar_t *w = wide(path);
	if (!w)
		return -1;
	BOOL ok = GetFileAttributesExW(w, GetFileExInfoStandard, &a);
	free(w);
	if (!ok) {
		set_errno_from_win();
		return -1;
	}
	memset(st, 0, sizeof(*st));
	/* Windows protects a person's files with ACLs, not with mode bits:
	 * the profile (%APPDATA%) is private to its owner. Only the owner's
	 * bits are reported, so that the checks written for POSIX modes do not
	 * refuse every file. */
	if (a.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY)
		st->st_mode = _S_IFDIR | 0700;
	else
		st->st_mode = _S_IFREG | (a.dwFileAttributes & FILE_ATTRIBUTE_READONLY ? 0400 : 0600);
	st->st_nlink = 1;
	st->st_size = (_off_t)((unsigned long long)a.nFileSizeHigh << 32 | a.nFileSizeLow);
	st->st_atime = unix_time(a.ftLastAccessTime);
	st->st_mtime = unix_time(a.ftLastWriteTime);
	st->st_ctime = unix_time(a.ftCreationTime);
	return 0;
}

int win32_access(const char *path, int mode)
{
	wchar_t *w = wide(path);
	if (!w)
		return -1;
	/* X_OK means nothing to _waccess: existence is what it can say. */
	int rc = _waccess(w, mode & (R_OK | W_OK));
	free(w);
	return rc;
}

int win32_mkdir(const char *path, int mode)
{
	(void)mode;
	wchar_t *w = wide(path);
	if (!w)
		return -1;
	int rc = CreateDirectoryW(w, NULL) ? 0 : -1;
	if (rc)
		set_errno_from_win();
	free(w);
	return rc;
}

int win32_rename(const char *from, const char *to)
{
	wchar_t *a = wide(from), *b = a ? wide(to) : NULL;
	int rc = -1;
	/* POSIX rename replaces the target: MoveFileEx does when asked. */
	if (a && b && MoveFileExW(a, b, MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH))
		rc = 0;
	else if (a && b)
		set_errno_from_win();
	free(a);
	free(b);
	return rc;
}

int win32_unlink(const char *path)
{
	wchar_t *w = wide(path);
	if (!w)
		return -1;
	int rc = _wunlink(w);
	free(w);
	return rc;
}

/* getenv's answers stay valid until the process ends, as POSIX allows
 * callers to assume for a variable nobody changes: one copy per name. */
struct env_entry {
	struct env_entry *next;
	char *name;
	char *value;
};
static struct env_entry *env_cache;

char *win32_getenv(const char *name)
{
	wchar_t *wn = wide(name);
	const wchar_t *wv = wn ? _wgetenv(wn) : NULL;
	char *v = wv ? utf8(wv) : NULL;
	free(wn);
	if (!v)
		return NULL;
	for (struct env_entry *e = env_cache; e; e = e->next)
		if (!strcmp(e->name, name) && !strcmp(e->value, v)) {
			free(v);
			return e->value;
		}
	struct env_entry *e = malloc(sizeof(*e));
	char *n = strdup(name);
	if (!e || !n) {
		free(e);
		free(n);
		free(v);
		return NULL;
	}
	e->name = n;
	e->value = v;
	e->next = env_cache;
	env_cache = e;
	return v;
}

int win32_setenv(const char *name, const char *value, int overwrite)
{
	wchar_t *wn = wide(name), *wv = wn ? wide(value) : NULL;
	int rc = -1;
	if (wn && wv)
		rc = !overwrite && _wgetenv(wn) ? 0 : _wputenv_s(wn, wv) ? -1 : 0;
	free(wn);
	free(wv);
	return rc;
}

int win32_mkstemp(char *tmpl)
{
	static const char chars[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	size_t len = strlen(tmpl);
	if (len < 6 || strcmp(tmpl + len - 6, "XXXXXX")) {
		errno = EINVAL;
		return -1;
	}
	for (int attempt = 0; attempt < 100; attempt++) {
		unsigned char r[6];
		if (platform_random(r, sizeof(r))) {
			errno = EIO;
			return -1;
		}
		for (int i = 0; i < 6; i++)
			tmpl[len - 6 + i] = chars[r[i] % (sizeof(chars) - 1)];
		int fd = win32_open(tmpl, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd >= 0 || errno != EEXIST)
			return fd;
	}
	errno = EEXIST;
	return -1;
}

int win32_fsync(int fd)
{
	return _commit(fd);
}

/* Not atomic against another writer of fd: the client has none. */
long long win32_pwrite(int fd, const void *p, size_t n, long long off)
{
	if (_lseeki64(fd, off, SEEK_SET) < 0)
		return -1;
	return _write(fd, p, n > INT_MAX ? INT_MAX : (unsigned)n);
}

void explicit_bzero(void *p, size_t n)
{
	SecureZeroMemory(p, n);
}

char *strndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *p = malloc(len + 1);
	if (p) {
		memcpy(p, s, len);
		p[len] = 0;
	}
	return p;
}

void *memmem(const void *hay, size_t haylen, const void *needle, size_t nlen)
{
	const unsigned char *h = hay;
	if (nlen == 0)
		return (void *)hay;
	for (size_t i = 0; nlen <= haylen && i <= haylen - nlen; i++)
		if (h[i] == *(const unsigned char *)needle && !memcmp(h + i, needle, nlen))
			return (void *)(h + i);
	return NULL;
}

static const char *digits(const char *s, int width, int min, int max, int *out)
{
	int v = 0, n = 0;
	while (n < width && *s >= '0' && *s <= '9') {
		v = v * 10 + (*s++ - '0');
		n++;
	}
	if (n == 0 || v < min || v > max)
		return NULL;
	*out = v;
	return s;
}

char *strptime(const char *s, const char *fmt, struct tm *tm)
{
	for (; s && *fmt; fmt++) {
		if (*fmt != '%') {
			s = *s == *fmt ? s + 1 : NULL;
			continue;
		}
		switch (*++fmt) {
		case 'Y':
			if ((s = digits(s, 4, 0, 9999, &tm->tm_year)))
				tm->tm_year -= 1900;
			break;
		case 'm':
			if ((s = digits(s, 2, 1, 12, &tm->tm_mon)))
				tm->tm_mon -= 1;
			break;
		case 'd':
			s = digits(s, 2, 1, 31, &tm->tm_mday);
			break;
		case 'H':
			s = digits(s, 2, 0, 23, &tm->tm_hour);
			break;
		case 'M':
			s = digits(s, 2, 0, 59, &tm->tm_min);
			break;
		case 'S':
			s = digits(s, 2, 0, 60, &tm->tm_sec);
			break;
		default:
			return NULL;
		}
	}
	return (char *)s;
}

time_t timegm(struct tm *tm)
{
	return _mkgmtime(tm);
}

/* sys/socket.h: recv is Winsock's own once the macro is out of the way. */
#undef recv

long win32_sendmsg(void *sock, const struct msghdr *m, int flags)
{
	WSABUF b[8];
	DWORD sent = 0;
	(void)flags;
	if (m->msg_iovlen > sizeof(b) / sizeof(b[0])) {
		errno = EINVAL;
		return -1;
	}
	for (size_t i = 0; i < m->msg_iovlen; i++) {
		b[i].buf = m->msg_iov[i].iov_base;
		b[i].len = (ULONG)m->msg_iov[i].iov_len;
	}
	if (WSASend((SOCKET)sock, b, (DWORD)m->msg_iovlen, &sent, 0, NULL, NULL)) {
		errno = EAGAIN;
		return -1;
	}
	return (long)sent;
}

long win32_recv(void *sock, void *buf, size_t len, int flags)
{
	return recv((SOCKET)sock, buf, len > INT_MAX ? INT_MAX : (int)len, flags);
}

/* sys/resource.h: the C runtime's descriptors are what a server here
 * counts; 8192 is the most _setmaxstdio accepts. */
int getrlimit(int resource, struct rlimit *rl)
{
	if (resource != RLIMIT_NOFILE) {
		errno = EINVAL;
		return -1;
	}
	rl->rlim_cur = rl->rlim_max = 8192;
	return 0;
}

int setrlimit(int resource, const struct rlimit *rl)
{
	(void)rl;
	if (resource != RLIMIT_NOFILE) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

/* iconv.h: Windows-1252 (code page 1252) and UTF-16 into UTF-8. */
struct win32_iconv {
	int utf16; /* 1 little-endian, 2 big-endian, 0 code page 1252 */
};

iconv_t iconv_open(const char *to, const char *from)
{
	struct win32_iconv *cd;
	int utf16;
	if (_stricmp(to, "UTF-8"))
		goto unsupported;
	if (!_stricmp(from, "UTF-16LE"))
		utf16 = 1;
	else if (!_stricmp(from, "UTF-16BE"))
		utf16 = 2;
	else if (!_stricmp(from, "WINDOWS-1252") || !_stricmp(from, "CP1252"))
		utf16 = 0;
	else
		goto unsupported;
	if (!(cd = malloc(sizeof(*cd))))
		return (iconv_t)-1;
	cd->utf16 = utf16;
	return cd;
unsupported:
	errno = EINVAL;
	return (iconv_t)-1;
}

size_t iconv(iconv_t cd, char **in, size_t *inleft, char **out, size_t *outleft)
{
	size_t units = cd->utf16 ? *inleft / 2 : *inleft;
	wchar_t *w = NULL;
	int wn = 0, on;
	if ((cd->utf16 && *inleft % 2) || units > INT_MAX || *outleft > INT_MAX)
		goto bad;
	if (units == 0)
		return 0;
	if (cd->utf16) {
		if (!(w = malloc(units * sizeof(*w))))
			goto nomem;
		const unsigned char *b = (const unsigned char *)*in;
		for (size_t i = 0; i < units; i++)
			w[i] = cd->utf16 == 1 ? (wchar_t)(b[2 * i] | b[2 * i + 1] << 8)
					      : (wchar_t)(b[2 * i] << 8 | b[2 * i + 1]);
		wn = (int)units;
	} else {
		wn = MultiByteToWideChar(1252, MB_ERR_INVALID_CHARS, *in, (int)units, NULL, 0);
		if (wn <= 0 || !(w = malloc((size_t)wn * sizeof(*w))))
			goto bad;
		MultiByteToWideChar(1252, MB_ERR_INVALID_CHARS, *in, (int)units, w, wn);
	}
	on = WideCharToMultiByte(CP_UTF8, WC_ERR_INVALID_CHARS, w, wn, *out, (int)*outleft, NULL, NULL);
	free(w);
	if (on <= 0) {
		errno = GetLastError() == ERROR_INSUFFICIENT_BUFFER ? E2BIG : EILSEQ;
		return (size_t)-1;
	}
	*in += *inleft;
	*inleft = 0;
	*out += on;
	*outleft -= (size_t)on;
	return 0;
nomem:
	errno = ENOMEM;
	return (size_t)-1;
bad:
	free(w);
	errno = EILSEQ;
	return (size_t)-1;
}

int iconv_close(iconv_t cd)
{
	free(cd);
	return 0;
}
