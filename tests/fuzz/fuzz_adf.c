/*
 * fuzz_adf - libFuzzer target: an ADF/XML body through nv_adf_parse
 * (the ADF and e-mail webhooks).  Seeds: tests/fixtures/adf/.
 */
#include <stddef.h>
#include <stdint.h>

#include "adf.h"
#include "arena.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct nv_arena *a;
	struct nv_adf_lead lead;
	struct nv_diag d;

	if (a == NULL)
		a = nv_arena_new();
	nv_diag_reset(&d);
	(void)nv_adf_parse(a, &d, (const char *)data, size, &lead);
	nv_arena_reset(a);
	return 0;
}
