/*
 * fuzz_json - libFuzzer target: a JSON lead body through nv_json_parse and
 * the lead model's field validation, as POST /api/leads sees it.
 */
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "json.h"
#include "models/lead.h"
#include "valid.h"

static const char *const fuzz_statuses[] = { "new", "won", NULL };

static const struct nv_field fuzz_fields[] = {
	{ "first_name", NV_F_TEXT, NV_F_CREATE | NV_F_NULLABLE, 0, 200, NULL },
	{ "email", NV_F_EMAIL, NV_F_CREATE | NV_F_NULLABLE, 0, 254, NULL },
	{ "phone", NV_F_PHONE, NV_F_CREATE | NV_F_NULLABLE, 0, 40, NULL },
	{ "status", NV_F_ENUM, NV_F_CREATE, 0, 0, fuzz_statuses },
	{ "vehicle_id", NV_F_UUID, NV_F_CREATE | NV_F_NULLABLE, 0, 0, NULL },
	{ "year", NV_F_INT, NV_F_CREATE, 1900, 2100, NULL },
	{ "ok", NV_F_BOOL, NV_F_CREATE, 0, 0, NULL },
	{ "metadata", NV_F_OBJECT, NV_F_CREATE, 0, 65536, NULL },
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct nv_arena *a;
	struct nv_diag d;
	cJSON *j;
	char *out;

	if (a == NULL)
		a = nv_arena_new();
	nv_diag_reset(&d);
	if (nv_json_parse(a, &d, (const char *)data, size, &j) == NV_OK)
		(void)nv_json_fields(a, &d, fuzz_fields,
		    sizeof(fuzz_fields) / sizeof(fuzz_fields[0]),
		    NV_JSON_CREATE, j, &out, NULL);
	nv_arena_reset(a);
	return 0;
}
