/*
 * mime.h - one mail message, parsed with libetpan's MIME parser into a plain
 * struct that the gateway classifies and reads forms from.
 *
 * libetpan has open crash reports on hostile input: the daemon calls
 * mailgw_sandbox_parse() (sandbox.h), which runs mailgw_mime_parse() in a
 * child process; call mailgw_mime_parse() directly only where a crash may
 * take the calling process down (tests, tools).
 */
#ifndef RELAIS_MAILGW_MIME_H
#define RELAIS_MAILGW_MIME_H

#include <stddef.h>
#include <stdint.h>
#include "../common/relais.h"

/* Hard caps; mailgw_mime_limits_default() gives the values in comments. */
struct mailgw_mime_limits {
	size_t max_message;      /* 25 MiB: larger is MAILGW_MIME_TOO_BIG, not parsed */
	size_t max_header;       /* 64 KiB per header field, unfolded */
	unsigned max_depth;      /* 20 nested multiparts or messages */
	unsigned max_parts;      /* 200 parts in all */
	size_t max_attachments;  /* 25 MiB of decoded attachment bytes in all */
	size_t max_body;         /* 1 MiB of body text (UTF-8) */
	/* For mailgw_sandbox_parse() only. */
	size_t child_memory;     /* 512 MiB of address space the child may add */
	unsigned child_cpu_s;    /* 10 s of CPU time */
	unsigned timeout_ms;     /* 30000 ms of wall time, then SIGKILL */
	int test_fault;          /* MAILGW_SANDBOX_FAULT_*, tests only; 0 otherwise */
};

/* What stopped or limited the parse; the first one met is kept. */
enum mailgw_mime_status {
	MAILGW_MIME_OK = 0,
	MAILGW_MIME_TOO_BIG,          /* message over max_message: nothing parsed */
	MAILGW_MIME_HEADER_TOO_BIG,   /* a header field over max_header: nothing parsed */
	MAILGW_MIME_TOO_DEEP,         /* nesting over max_depth: deeper parts ignored */
	MAILGW_MIME_TOO_MANY_PARTS,   /* over max_parts: the rest ignored */
	MAILGW_MIME_ATTACH_TOO_BIG,   /* attachments over max_attachments: the rest dropped */
	MAILGW_MIME_MALFORMED,        /* libetpan could not parse the message */
};

/* Oddities that did not stop the parse (bits of mailgw_mime_msg.warnings). */
#define MAILGW_MIME_W_CHARSET     0x01u /* a declared charset was unknown or wrong */
#define MAILGW_MIME_W_TRUNCATED   0x02u /* body text cut at max_body */
#define MAILGW_MIME_W_NUL         0x04u /* NUL bytes in the message */
#define MAILGW_MIME_W_BAD_BASE64  0x08u /* base64 that ends mid-group */
#define MAILGW_MIME_W_NO_END      0x10u /* a multipart without its closing boundary */
#define MAILGW_MIME_W_FROM_MANY   0x20u /* From names several mailboxes: from_addr is the first */
#define MAILGW_MIME_W_FROM_UNSURE 0x40u /* from_addr is not written as such in From (words
					   joined, quoting or spaces dropped): never answer it */

/* Text read out of all the office attachments and HTML tables of one
 * message, in all (see office.h for each attachment's own caps). */
#define MAILGW_MIME_EXTRACTED_MAX (4u << 20)

struct mailgw_attachment {
	char *filename;          /* decoded UTF-8, "" when the part names none */
	char *mime_type;         /* lower case "type/subtype" */
	unsigned char *data;     /* decoded bytes (base64, quoted-printable undone) */
	size_t len;
	int extract;             /* enum mailgw_office_kind: what extracted holds */
	char *extracted;         /* NULL (MAILGW_OFFICE_NONE), the CSV of its sheets, its
				    text, or why it was refused (French); see office.h */
	size_t extracted_len;
};

/* Every string is NUL-terminated valid UTF-8 or NULL when the header is
 * absent; all memory belongs to the struct (mailgw_mime_free). */
struct mailgw_mime_msg {
	int status;              /* enum mailgw_mime_status */
	unsigned warnings;       /* MAILGW_MIME_W_* */
	char *message_id;        /* without the angle brackets */
	char *from_addr;         /* addr-spec of the first From mailbox */
	char *from_name;         /* its display name, RFC 2047 decoded */
	char *return_path;       /* addr-spec; "" for "<>" */
	int return_path_empty;   /* Return-Path: <> (a bounce) */
	char *subject;           /* RFC 2047 decoded */
	char *date;              /* the Date header as written */
	int64_t date_ms;         /* Date in ms since the epoch; 0 when absent or unreadable */
	char *in_reply_to;       /* first message id, without brackets */
	char *references;        /* message ids without brackets, separated by spaces */
	char *auto_submitted;    /* Auto-Submitted value, lower case */
	char *precedence;        /* Precedence value, lower case */
	int x_autoreply;         /* an X-Autoreply or X-Autorespond header is present */
	int list_mail;           /* a List-Unsubscribe or List-Id header is present */
	char *content_type;      /* top part "type/subtype", lower case */
	int delivery_report;     /* top part is multipart/report */
	char *body;              /* text body; "" when none */
	size_t body_len;
	int body_from_html;      /* the body was an HTML part turned into text */
	char *body_tables;       /* the tables of that HTML part as CSV (';'), tables
				    separated by "\f\n"; NULL when it has none */
	int tnef;                /* application/ms-tnef or winmail.dat attached */
	struct mailgw_attachment *attachments;
	size_t n_attachments;
};

/* Fills l with the default caps above. */
void mailgw_mime_limits_default(struct mailgw_mime_limits *l);

/* Parses raw[0..len) under the caps of limits (NULL: defaults), then reads
 * the office attachments (mailgw_office_extract) and the tables of an HTML
 * body, up to MAILGW_MIME_EXTRACTED_MAX bytes of text in all. On success
 * *msg is a new struct that the caller frees with mailgw_mime_free(); its
 * status says whether the message was (fully) parsed. Problems of the input
 * never make this fail. Returns 0, or RELAIS_ENOMEM (nothing allocated). */
int mailgw_mime_parse(const void *raw, size_t len, const struct mailgw_mime_limits *limits,
		      struct mailgw_mime_msg **msg) RELAIS_WUR;

/* Frees a parsed message and everything it points to. Accepts NULL. */
void mailgw_mime_free(struct mailgw_mime_msg *msg);

/* 1 when attachment a is a CSV table (a ".csv" name or a CSV type), which
 * the pipeline reads as bilans; else 0. */
int mailgw_mime_is_csv(const struct mailgw_attachment *a);

/* A static French description of a status, for replies and the journal. */
const char *mailgw_mime_status_str(int status);

#endif
