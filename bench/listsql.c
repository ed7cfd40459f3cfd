/*
 * listsql.c - print the statements the lead list runs, exactly as the
 * application sends them, for the pgbench half of `make bench`.
 *
 *	listsql list	lead_inbox_desc (lib/models/lead.c): the statement
 *			the app runs for page one of an unfiltered inbox
 *	listsql status	lead_status_desc: page one of one status
 *
 * lib/models/lead.c is included, not copied, so pgbench measures the SQL of
 * this checkout.  Built by scripts/bench.sh (not by the Makefile's build)
 * against lib/libnorvalt.a; the library's own lead.o is not pulled in,
 * since this file already defines everything lead.c defines.
 */
#include <stdio.h>
#include <string.h>

#include "../lib/models/lead.c"

int
main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "list") == 0) {
		fputs(lead_shapes[LEAD_ALL][0][0].sql, stdout);
		fputc('\n', stdout);
		return 0;
	}
	if (argc == 2 && strcmp(argv[1], "status") == 0) {
		fputs(lead_shapes[LEAD_STATUS][0][0].sql, stdout);
		fputc('\n', stdout);
		return 0;
	}
	fprintf(stderr, "usage: listsql list | status\n");
	return 2;
}
