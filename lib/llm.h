/*
 * llm.h - OpenAI-compatible chat completions (INTEGRATIONS.md section 7):
 * OpenAI, Azure OpenAI v1, llama.cpp's llama-server, Ollama.
 */
#ifndef NV_LLM_H
#define NV_LLM_H

#include <stdbool.h>
#include <stddef.h>

#include "arena.h"
#include "err.h"

/* One chat message; role is "system", "user" or "assistant". */
struct nv_llm_msg {
	const char	*role;
	const char	*content;
};

/* true when NORVALT_LLM_URL is set. */
bool nv_llm_configured(void);

/*
 * POST {NORVALT_LLM_URL}/chat/completions with {"model", "messages",
 * "temperature", "max_tokens"} built from msgs[0..n).  The key goes in
 * header NORVALT_LLM_KEY_HEADER ("Authorization: Bearer <key>" by default,
 * the raw key under any other name).  Connect timeout
 * NORVALT_LLM_CONNECT_TIMEOUT_MS, and NORVALT_LLM_TIMEOUT_MS for the whole
 * call, retries included: up to NORVALT_LLM_RETRIES more attempts after a
 * connect error, a timeout, 429 or 5xx, with exponential backoff and
 * jitter, honouring Retry-After while the budget lasts.
 *
 * On NV_OK *out (arena a) is choices[0].message.content, trimmed.
 * NV_ERR_UNAVAILABLE, with the reason in d->msg, when every attempt
 * failed, the answer is malformed, has no choices, or its content is
 * empty (the caller falls back to its template).  NV_ERR_VALIDATION for
 * an unusable request (no messages, a NULL role or content), NV_ERR_CONFIG
 * when NORVALT_LLM_URL is not set.  The key is never logged.
 */
enum nv_err nv_llm_chat(struct nv_arena *a, struct nv_diag *d,
    const struct nv_llm_msg *msgs, size_t n, char **out);

#endif /* NV_LLM_H */
