/*
 * automatic.h - mail that no person wrote to the network (prefix
 * mailgw_automatic_): bounces, delivery reports, out-of-office replies,
 * robots, mailings. One list for the pipeline (pipeline.h), which records
 * nothing from such mail, and for the answers (reply.h), which are never
 * sent to it: an answer to a robot can ping-pong forever.
 */
#ifndef RELAIS_MAILGW_AUTOMATIC_H
#define RELAIS_MAILGW_AUTOMATIC_H

#include "mime.h"

/*
 * Returns why m is automatic, as a static French phrase starting with a
 * lower-case ASCII letter (e.g. "réponse d'absence" starts with 'r'), or
 * NULL when a person seems to have written it. In this order:
 * Auto-Submitted other than "no"; Precedence bulk, list or junk;
 * X-Autoreply or X-Autorespond; a List-Unsubscribe or List-Id header; a
 * delivery report (multipart/report); an empty Return-Path (a bounce); a
 * mailer-daemon, postmaster, no-reply or ne-pas-répondre sender (any
 * sub-address); an out-of-office subject in French or English, case and
 * accents forgiven ("Absente jusqu'au 3 mars", "Réponse automatique : …",
 * "Out of Office: …").
 */
const char *mailgw_automatic_reason(const struct mailgw_mime_msg *m);

#endif
