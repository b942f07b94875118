/*
 * model-doc - prints docs/model.md with its "## Tables" section rewritten
 * from the model's descriptions ("make docs" runs it).
 * Usage: model-doc docs/model.md > new.md
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../common/buf.h"
#include "../model/model.h"

int main(int argc, char **argv)
{
	struct buf tables = BUF_INIT(1u << 20);
	char line[4096];
	FILE *f;
	if (argc != 2 || !(f = fopen(argv[1], "r"))) {
		fprintf(stderr, "usage: model-doc docs/model.md\n");
		return 2;
	}
	/* The prose before the tables is kept as written. */
	while (fgets(line, sizeof(line), f) && strcmp(line, "## Tables\n"))
		fputs(line, stdout);
	fclose(f);
	if (model_doc_tables(&tables)) {
		fprintf(stderr, "model-doc: out of memory\n");
		return 1;
	}
	fputs(buf_str(&tables), stdout);
	buf_release(&tables);
	return 0;
}
