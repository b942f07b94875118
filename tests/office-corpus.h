/*
 * office-corpus.h - the office-attachment corpus that
 * tests/mail/make-office.py makes with LibreOffice and Python, once per run
 * of the test program: the first test that asks for it makes it (about ten
 * seconds), later tests of the same run reuse it, and the runner removes it
 * when every test is done.
 */
#ifndef RELAIS_TESTS_OFFICE_CORPUS_H
#define RELAIS_TESTS_OFFICE_CORPUS_H

/* The corpus directory (static), or NULL after printing why it could not
 * be made. Call it after h_setup(). */
const char *office_corpus(void);

/* Removes this run's corpus, if a test made one; for the runner. */
void office_corpus_remove(void);

#endif
