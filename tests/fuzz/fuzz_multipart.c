/*
 * fuzz_multipart - libFuzzer target: a multipart/form-data body (the
 * e-mail webhook) through nv_multipart_parse with a fixed boundary, and
 * the first line of the input as a Content-Type through
 * nv_multipart_boundary.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "arena.h"
#include "multipart.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct nv_arena *a;
	struct nv_multipart_part *parts;
	struct nv_diag d;
	const char *nl, *ct, *boundary;
	size_t n;

	if (a == NULL)
		a = nv_arena_new();
	nv_diag_reset(&d);
	(void)nv_multipart_parse(a, &d, (const char *)data, size, "XyZbound",
	    65536, &parts, &n);
	nl = memchr(data, '\n', size);
	ct = nv_arena_strndup(a, (const char *)data,
	    nl != NULL ? (size_t)(nl - (const char *)data) : size);
	if (strlen(ct) < 512)
		(void)nv_multipart_boundary(a, &d, ct, &boundary);
	nv_arena_reset(a);
	return 0;
}
