/*
 * compose.h - the words of an automatic reply (SPEC section 7), with no
 * database and no network, so every rule here is unit-tested.
 *
 *   - Language: the dealership's settings.language, unless the lead wrote
 *     English (nv_compose_is_english, a count of common function words).
 *   - Opening hours: settings.business_hours ({"mon": ["08:00", "17:00"],
 *     ..., "sun": null}) read in the dealership's time zone (the TZ
 *     database through localtime_r, so DST is right); outside them the
 *     reply says when a person follows up ("i morgen kl. 08:00").
 *   - Templates: settings.templates.{nb,en} (first reply) and
 *     {nb,en}_follow_up (the customer wrote again) with the placeholders
 *     {first_name} {dealership} {vehicle} {stock_match} {follow_up}, or
 *     the defaults in compose.c.
 *   - Every automatic reply ends with the disclosure line of EU AI Act
 *     art. 50 (nv_compose_disclosure), templates included.
 *   - The LLM prompt (nv_compose_prompt) and the check of its answer.
 *
 * "Now" is always a parameter, so tests can stand anywhere in the year.
 */
#ifndef NV_COMPOSE_H
#define NV_COMPOSE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "arena.h"
#include "err.h"

/* Longest LLM answer taken as a reply, in bytes; longer: the template. */
#define NV_COMPOSE_LLM_MAX	1500
/* Longest template accepted in settings.templates, in bytes. */
#define NV_COMPOSE_TEMPLATE_MAX	2000

/* One vehicle in stock that matches what the lead asked about. */
struct nv_compose_vehicle {
	const char	*make;
	const char	*model;
	int		 year;		/* 0 when unknown */
	long long	 price_ore;	/* -1 when unknown */
};

/* Everything a reply is made of. */
struct nv_compose {
	const char	*lang;		/* "nb" or "en" */
	const char	*dealership;	/* the dealership's name */
	const char	*first_name;	/* may be NULL */
	const char	*vehicle;	/* vehicle_interest; may be NULL */
	const char	*message;	/* the lead's words, or NULL */
	const char	*tone;		/* settings.tone; may be NULL */
	const struct nv_compose_vehicle *stock;
	size_t		 nstock;
	bool		 open_now;	/* within opening hours */
	const char	*when;		/* "i morgen kl. 08:00" */
	const char	*hours_text;	/* opening hours for the prompt */
	bool		 follow_up;	/* the customer wrote again */
	const cJSON	*templates;	/* settings.templates or NULL */
};

/*
 * 1 when text reads as English rather than Norwegian (or Danish/Swedish):
 * more English than Scandinavian function words, at least two, and no
 * æ/ø/å.  NULL or empty text is 0.
 */
int nv_compose_is_english(const char *text);

/*
 * The language to answer in: "en" when the lead's message is English,
 * else settings_lang when it is "nb" or "en", else "nb".
 */
const char *nv_compose_language(const char *settings_lang,
    const char *message);

/*
 * now in time zone tz (e.g. "Europe/Oslo"; NULL or unknown: Europe/Oslo)
 * into *out, through the TZ database.  Changes TZ for the call and puts it
 * back.  NV_ERR_INTERNAL when the conversion fails.
 */
enum nv_err nv_compose_local(time_t now, const char *tz, struct tm *out);

/*
 * Opening hours hours (settings.business_hours, may be NULL: the default
 * Mon-Fri 08:00-17:00, Sat 10:00-15:00) at local time lt: *open_now, and
 * when not open, the next opening as *days_ahead (0 today, 1 tomorrow, up
 * to 7), *wday (0 = Sunday) and *minute (since midnight).  *days_ahead is
 * -1 when no day has hours.  Malformed days count as closed.
 */
void nv_compose_hours(const cJSON *hours, const struct tm *lt,
    bool *open_now, int *days_ahead, int *wday, int *minute);

/*
 * When a person follows up, in lang: "i dag kl. 10:00", "i morgen kl.
 * 08:00", "mandag kl. 08:00" / "today at 10:00", "tomorrow at 08:00",
 * "on Monday at 08:00"; "snart" / "soon" when days_ahead < 0.
 */
char *nv_compose_when(struct nv_arena *a, const char *lang, int days_ahead,
    int wday, int minute);

/* The opening hours as one line for the LLM prompt. */
char *nv_compose_hours_text(struct nv_arena *a, const cJSON *hours);

/* The disclosure line every automatic reply ends with, in lang. */
char *nv_compose_disclosure(struct nv_arena *a, const char *lang,
    const char *dealership);

/*
 * The template reply for c: the dealership's template for c->lang (and
 * follow-up or not) when it is a usable string, else the default, with
 * the placeholders filled, then a blank line and the disclosure.
 */
char *nv_compose_template(struct nv_arena *a, const struct nv_compose *c);

/*
 * Check a settings.templates object for PATCH /api/dealership: keys nb,
 * en, nb_follow_up, en_follow_up only, each a non-empty string of at most
 * NV_COMPOSE_TEMPLATE_MAX bytes using only the known placeholders.  On a
 * problem, *field is the key and *issue what is wrong (static strings),
 * and the result is 0.
 */
int nv_compose_templates_ok(const cJSON *templates, const char **field,
    const char **issue);

/*
 * The chat messages for the LLM: [0] system (dealership, tone, language,
 * opening hours, the rules), [1] user (the lead's message, the vehicle
 * asked about, matching stock).  Strings in a.
 */
void nv_compose_prompt(struct nv_arena *a, const struct nv_compose *c,
    const char **system, const char **user);

/*
 * The LLM's answer made into a reply: NULL (use the template) when it is
 * empty, longer than NV_COMPOSE_LLM_MAX or not valid UTF-8; else the
 * trimmed answer, a blank line and the disclosure.
 */
char *nv_compose_llm_reply(struct nv_arena *a, const struct nv_compose *c,
    const char *answer);

/* "449 900 kr" (nb) or "NOK 449,900" (en) for an amount in øre. */
char *nv_compose_price(struct nv_arena *a, const char *lang,
    long long price_ore);

/*
 * Milliseconds to wait before attempt attempts+1 after a failure:
 * base_ms * 2^(attempts-1), capped at 15 minutes, with +-25% jitter
 * taken from rnd (any value; tests pass fixed ones).
 */
long nv_compose_backoff_ms(int attempts, long base_ms, unsigned rnd);

#endif /* NV_COMPOSE_H */
