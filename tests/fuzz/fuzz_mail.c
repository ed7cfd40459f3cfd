/*
 * fuzz_mail - libFuzzer target: nv_mail_render with the input split at
 * NUL bytes into subject, from_name, to_name, body and references.  When
 * it renders, the message must hold the invariants that keep it safe:
 * 7-bit, CRLF only, header lines within 998 octets (78 where we folded),
 * body lines within 76, no body line starting with '.', and every header
 * line either one of the headers we write or a continuation, so no input
 * can inject a header.  A violation aborts (a crash for libFuzzer).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "mail.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const fuzz_headers[] = {
	"Date:", "From:", "To:", "Reply-To:", "Subject:", "Message-ID:",
	"In-Reply-To:", "References:", "Auto-Submitted:", "MIME-Version:",
	"Content-Type:", "Content-Transfer-Encoding:", NULL
};

static void
fuzz_check(const char *msg, size_t len)
{
	const char *p = msg, *e, *end = msg + len;
	int in_body = 0, i, known;
	size_t n;

	while (p < end) {
		e = memchr(p, '\n', (size_t)(end - p));
		if (e == NULL || e == p || e[-1] != '\r')
			abort();		/* bare LF or no line end */
		n = (size_t)(e - 1 - p);
		if (memchr(p, '\r', n) != NULL)
			abort();		/* bare CR */
		for (i = 0; (size_t)i < n; i++)
			if ((unsigned char)p[i] >= 0x80)
				abort();	/* 8-bit */
		if (!in_body && n == 0) {
			in_body = 1;
		} else if (!in_body) {
			if (n > 998)
				abort();
			known = p[0] == ' ';
			for (i = 0; !known && fuzz_headers[i] != NULL; i++)
				known = strncmp(p, fuzz_headers[i],
				    strlen(fuzz_headers[i])) == 0;
			if (!known)
				abort();	/* an injected header */
		} else {
			if (n > 76 || (n > 0 && p[0] == '.'))
				abort();
		}
		p = e + 1;
	}
	if (!in_body)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct nv_arena *a;
	const char *part[5] = { "", NULL, NULL, "", NULL };
	struct nv_mail m;
	struct nv_diag d;
	char *copy, *p, *out;
	size_t i, outlen;

	if (a == NULL)
		a = nv_arena_new();
	copy = nv_arena_alloc(a, size + 1);
	memcpy(copy, data, size);
	copy[size] = '\0';
	for (p = copy, i = 0; i < 5 && p <= copy + size; i++) {
		part[i] = p;
		p += strlen(p) + 1;
	}
	memset(&m, 0, sizeof(m));
	m.from_addr = "leads@norvalt.localhost";
	m.to_addr = "kari@example.no";
	m.subject = part[0];
	m.from_name = part[1];
	m.to_name = part[2];
	m.body = part[3];
	m.references = part[4];
	m.message_id = "<r.1@norvalt.localhost>";
	nv_diag_reset(&d);
	if (nv_mail_render(a, &d, &m, (time_t)1795672124, &out,
	    &outlen) == NV_OK)
		fuzz_check(out, outlen);
	nv_arena_reset(a);
	return 0;
}
