/*
 * outcome.h - what the gateway decided about one message: the contract
 * between the pipeline (which records) and the reply builder (which answers).
 */
#ifndef RELAIS_MAILGW_OUTCOME_H
#define RELAIS_MAILGW_OUTCOME_H

#include <stddef.h>
#include "../model/form.h"

enum mailgw_outcome {
	MAILGW_RECORDED = 1,  /* records written: acknowledge, move to the processed folder */
	MAILGW_REJECTED,      /* a form with problems: list them, move to the rejected folder */
	MAILGW_QUARANTINE,    /* cannot be classified or parsed: kept for a coordinator */
	MAILGW_IGNORED,       /* automatic mail (bounce, auto-reply, list): no answer, processed */
	MAILGW_DUPLICATE      /* already seen (Message-ID or content hash): nothing done again */
};

struct mailgw_result {
	enum mailgw_outcome outcome;
	enum form_kind kind;     /* what the message was read as */
	char **records;          /* French lines, one per record written, e.g.
				    "Structure « MJC du Plateau » (Yssingeaux) créée." */
	size_t nrecords;
	char **problems;         /* French sentences, one per problem */
	size_t nproblems;
	char reason[256];        /* French: why quarantined or ignored */
	int no_answer;           /* send nothing back, whatever the outcome (mail from an
				    unknown sender that holds no form, suspected scams):
				    an answer could feed a loop or a spammer's list */
};

/* Frees the lines of r and zeroes it; accepts NULL. */
void mailgw_result_free(struct mailgw_result *r);

#endif
