/*
 * fuzz_cursor - libFuzzer target: a client-supplied cursor through
 * nv_cursor_decode, and a decoded one back through the encoder.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "arena.h"
#include "cursor.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct nv_arena *a;
	const char *ts, *id, *s;

	if (a == NULL)
		a = nv_arena_new();
	s = nv_arena_strndup(a, (const char *)data, size);
	if (nv_cursor_decode(a, s, &ts, &id) == NV_OK) {
		const char *again, *ts2, *id2;

		again = nv_cursor_encode(a, ts, id);
		if (nv_cursor_decode(a, again, &ts2, &id2) != NV_OK ||
		    strcmp(ts, ts2) != 0 || strcmp(id, id2) != 0)
			__builtin_trap();	/* the codec must round-trip */
	}
	nv_arena_reset(a);
	return 0;
}
