/*
 * curlbuf.c - the one-time libcurl initialisation and the bounded
 * response buffer of the HTTP clients (see curlbuf.h).
 */
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "curlbuf.h"

size_t
nv_curl_buf_write(char *data, size_t size, size_t n, void *arg)
{
	struct nv_curl_buf *b = arg;
	size_t len = size * n;
	char *p;

	if (len > b->max - b->len)
		return 0;	/* too large: CURLE_WRITE_ERROR */
	p = realloc(b->p, b->len + len + 1);
	if (p == NULL)
		return 0;
	memcpy(p + b->len, data, len);
	b->p = p;
	b->len += len;
	b->p[b->len] = '\0';
	return len;
}

int
nv_curl_init(void)
{
	static int ready;

	if (!ready) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
			return -1;
		ready = 1;
	}
	return 0;
}
