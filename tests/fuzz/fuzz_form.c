/*
 * fuzz_form - libFuzzer target: an application/x-www-form-urlencoded body
 * through nv_intake_form_decode (the form, SMS and e-mail webhooks), and
 * the same bytes as a query string through nv_req_query_parse.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "arena.h"
#include "http.h"
#include "intake.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const allowed[] = { "a", "status", "q", "limit",
	    NULL };
	static struct nv_arena *a;
	struct nv_diag d;
	struct nv_req req;
	struct cJSON *out;
	long n;

	if (a == NULL)
		a = nv_arena_new();
	nv_diag_reset(&d);
	(void)nv_intake_form_decode(a, &d, (const char *)data, size, &out);
	memset(&req, 0, sizeof(req));
	req.arena = a;
	req.query = nv_arena_strndup(a, (const char *)data, size);
	if (strlen(req.query) == size &&
	    nv_req_query_parse(&req, allowed) == NV_OK)
		(void)nv_req_query_int(&req, "limit", 1, 200, 50, &n);
	nv_arena_reset(a);
	return 0;
}
