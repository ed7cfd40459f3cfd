/*
 * curlbuf.h - what every libcurl client in lib/ shares: the one-time
 * curl_global_init() and a bounded response buffer.
 *
 * The clients (jwks, meta, mail, sms, llm) each read a provider's answer
 * into a struct nv_curl_buf through nv_curl_buf_write(); an answer longer
 * than max ends the transfer with CURLE_WRITE_ERROR instead of growing
 * without bound.  p is NUL-terminated whenever it is not NULL; the caller
 * frees it.
 */
#ifndef NV_CURLBUF_H
#define NV_CURLBUF_H

#include <stddef.h>

struct nv_curl_buf {
	char	*p;
	size_t	 len;
	size_t	 max;
};

/* NV_CURL_BUF(max): an empty buffer that holds at most max bytes. */
#define NV_CURL_BUF(m)	{ NULL, 0, (m) }

/* CURLOPT_WRITEFUNCTION for a struct nv_curl_buf (CURLOPT_WRITEDATA). */
size_t nv_curl_buf_write(char *data, size_t size, size_t n, void *arg);

/* curl_global_init() once per process: 0, or -1 when it failed. */
int nv_curl_init(void);

#endif /* NV_CURLBUF_H */
