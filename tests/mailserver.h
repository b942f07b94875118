/*
 * mailserver.h - private mail servers on loopback for the tests (prefix ms_).
 *
 * ms_start() makes a temporary directory and starts in it a Dovecot (IMAP,
 * IDLE, a maildir, one user with a password) and an SMTP server (aiosmtpd,
 * its Mailbox handler writing into the same maildir), each on a free port
 * of 127.0.0.1, and waits until both accept connections. It registers a
 * cleanup with test_defer() that stops both (SIGTERM, then SIGKILL after a
 * bound) and removes the directory (kept when RELAIS_TEST_KEEP=1), also
 * when the test fails. Both children also die with the test process.
 *
 * The TLS variant (MS_TLS) makes a throw-away CA and a server certificate
 * for 127.0.0.1 and localhost with GnuTLS, runs Dovecot with ssl=required
 * (STARTTLS on imap_port, implicit TLS on imaps_port) and offers STARTTLS
 * on the SMTP server. ms->cafile is the CA to trust; ms->othercafile is a
 * second CA that did not sign anything (for the "not trusted" cases).
 *
 * Functions returning int return 0 or -1; on -1 they have printed why.
 * Works as root (mail owned by nobody, Dovecot's own users for its
 * services) and as an ordinary user (everything under that user).
 */
#ifndef RELAIS_TEST_MAILSERVER_H
#define RELAIS_TEST_MAILSERVER_H

#include <stddef.h>
#include <sys/types.h>

#define MS_PATH 512
#define MS_USER "relais"
#define MS_PASSWORD "mot-de-passe-42"
#define MS_ADDRESS "relais@localhost"

enum {
	MS_TLS = 1,
	/* SMTP through tests/mail/smtp-sink.py: each message goes to the
	 * maildir of its recipient's local part (a separate Dovecot user, see
	 * ms_add_user), not all into MS_USER's. Found through
	 * $RELAIS_MAIL_CORPUS (the corpus directory), else tests/mail. */
	MS_SINK = 2,
	/* Dovecot announces no MOVE, so that clients fall back to UID COPY,
	 * UID STORE \Deleted and UID EXPUNGE. */
	MS_NO_MOVE = 4
};

struct ms_server {
	char dir[MS_PATH];         /* the temporary root */
	char conf[MS_PATH];        /* dovecot.conf */
	char log[MS_PATH];         /* Dovecot's log */
	char maildir[MS_PATH];     /* the user's Maildir (INBOX) */
	char passfile[MS_PATH];    /* the right password, alone in a file */
	char badpassfile[MS_PATH]; /* a wrong one */
	char cafile[MS_PATH];      /* TLS variant: the CA that signed the server */
	char othercafile[MS_PATH]; /* TLS variant: an unrelated CA */
	char smtp_url[64];         /* smtp://127.0.0.1:PORT */
	int tls;
	int sink;                  /* MS_SINK */
	int no_move;               /* MS_NO_MOVE */
	int imap_port;             /* plain, or STARTTLS in the TLS variant */
	int imaps_port;            /* implicit TLS (TLS variant), else 0 */
	int smtp_port;
	pid_t dovecot;             /* 0 when not running */
	pid_t smtpd;
	uid_t mail_uid;            /* the owner of every maildir */
	gid_t mail_gid;
};

/* Starts both servers (flags: 0 or MS_TLS). */
int ms_start(struct ms_server *ms, int flags);
/* Stops Dovecot alone, cutting every open IMAP session (doveadm kick,
 * then SIGTERM, wait, SIGKILL after a bound); the SMTP server and the
 * maildir stay. */
int ms_dovecot_stop(struct ms_server *ms);
/* Starts Dovecot again on the same ports with the same maildir. */
int ms_dovecot_start(struct ms_server *ms);
/* Sends msg through the SMTP server with libcurl (STARTTLS and the CA in
 * the TLS variant) to MS_ADDRESS; returns once it is in the maildir. */
int ms_deliver(struct ms_server *ms, const void *msg, size_t len);
/* Sends msg through the SMTP server to rcpt (an address) and returns once
 * the server accepted it, without looking at any maildir: for a mailbox
 * that a running gateway may empty at once. The sink (MS_SINK) and the
 * Mailbox handler both write the message before they answer 250. */
int ms_send(struct ms_server *ms, const char *rcpt, const void *msg, size_t len);
/* Number of messages in a folder ("INBOX" or a name such as "Traites"), or
 * -1 when the folder does not exist. */
int ms_count(const struct ms_server *ms, const char *folder);
/* File names of a folder's messages (new/ and cur/), sorted; the caller
 * frees each name and the array. Returns the count, or -1. */
int ms_list(const struct ms_server *ms, const char *folder, char ***names);
/* Reads one message (name from ms_list) into a malloc'ed NUL-terminated
 * string the caller frees, or NULL. */
char *ms_read(const struct ms_server *ms, const char *folder, const char *name, size_t *len);
/* Writes msg straight into INBOX's new/ (through tmp/, owned by the mail
 * uid), as a local delivery agent would: for messages that an SMTP server
 * would refuse (a 50 MB one, a 1 MB header line). */
int ms_put(struct ms_server *ms, const void *msg, size_t len);
/* Adds a Dovecot user (password MS_PASSWORD) with an empty Maildir; user
 * is [a-z0-9._-]. With MS_SINK, mail to user@anything lands there. */
int ms_add_user(struct ms_server *ms, const char *user);
/* ms_count, ms_list and ms_read for another user's mailbox (user NULL:
 * MS_USER). A user without a Maildir yet has an empty INBOX (0). */
int ms_user_count(const struct ms_server *ms, const char *user, const char *folder);
int ms_user_list(const struct ms_server *ms, const char *user, const char *folder, char ***names);
char *ms_user_read(const struct ms_server *ms, const char *user, const char *folder,
		   const char *name, size_t *len);
/* MS_SINK: makes the SMTP server answer reply (e.g. "550 5.1.1 Boite
 * inconnue") to RCPT TO of any address whose local part is local, from the
 * next RCPT on; reply NULL lifts every refusal. */
int ms_sink_refuse(struct ms_server *ms, const char *local, const char *reply);
/* MS_SINK: every RCPT TO the SMTP server saw, one "CODE ADDRESS" line each
 * ("250 lea@localhost", "550 bob@localhost"), in a malloc'ed string the
 * caller frees ("" when none), or NULL. */
char *ms_sink_rcpts(const struct ms_server *ms);
/* Frees what ms_list / ms_user_list returned. */
void ms_free_names(char **names, int n);
/* Prints the tail of Dovecot's log on stderr (for failure messages). */
void ms_dump_log(const struct ms_server *ms);

#endif
