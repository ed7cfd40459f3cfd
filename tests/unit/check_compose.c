/*
 * check_compose.c - unit tests for lib/compose.c: language choice, local
 * time across Europe/Oslo's DST changes, opening hours and the "when a
 * person follows up" text, templates with placeholders and the AI Act
 * disclosure, template validation, the LLM answer check and the retry
 * backoff.  No database, no network.
 */
#include <stdio.h>
#include <string.h>

#include "../testutil.h"
#include "arena.h"
#include "compose.h"

static Suite *compose_suite(void);

/* The week of SPEC's default: Mon-Fri 08-17, Sat 10-15, Sun closed. */
static const char default_hours[] =
	"{\"mon\":[\"08:00\",\"17:00\"],\"tue\":[\"08:00\",\"17:00\"],"
	"\"wed\":[\"08:00\",\"17:00\"],\"thu\":[\"08:00\",\"17:00\"],"
	"\"fri\":[\"08:00\",\"17:00\"],\"sat\":[\"10:00\",\"15:00\"],"
	"\"sun\":null}";

/* Local time in Oslo of a UTC instant, and what the hours say about it. */
struct when {
	struct tm	lt;
	bool		open;
	int		days, wday, minute;
};

static void
at(time_t t, struct when *w)
{
	cJSON *h = cJSON_Parse(default_hours);

	ck_assert_int_eq(nv_compose_local(t, "Europe/Oslo", &w->lt), NV_OK);
	nv_compose_hours(h, &w->lt, &w->open, &w->days, &w->wday, &w->minute);
	cJSON_Delete(h);
}

START_TEST(test_english_detected)
{
	ck_assert_int_eq(nv_compose_is_english("Hello, is the Model Y still "
	    "available? I would like to book a test drive."), 1);
	ck_assert_int_eq(nv_compose_is_english("Hi! What is the price of "
	    "this car?"), 1);
	ck_assert_str_eq(nv_compose_language("nb", "Hello, I am interested "
	    "in the ID.4 you have"), "en");
}
END_TEST

START_TEST(test_norwegian_stays)
{
	ck_assert_int_eq(nv_compose_is_english("Hei, er Model Y fortsatt "
	    "ledig? Jeg vil gjerne prøvekjøre den."), 0);
	/* English-looking words, but æøå: Scandinavian. */
	ck_assert_int_eq(nv_compose_is_english("Hei! Is the bil på lager?"),
	    0);
	ck_assert_int_eq(nv_compose_is_english("Model Y"), 0);
	ck_assert_int_eq(nv_compose_is_english(""), 0);
	ck_assert_int_eq(nv_compose_is_english(NULL), 0);
	ck_assert_str_eq(nv_compose_language("nb", "Hei, har dere den?"),
	    "nb");
	ck_assert_str_eq(nv_compose_language(NULL, NULL), "nb");
	ck_assert_str_eq(nv_compose_language("en", "Hei, har dere den?"),
	    "en");
	ck_assert_str_eq(nv_compose_language("xx", NULL), "nb");
}
END_TEST

START_TEST(test_dst_spring)
{
	struct when w;

	/* 2026-03-29 00:30 UTC: 01:30 CET, before the switch. */
	at(1774744200, &w);
	ck_assert_int_eq(w.lt.tm_hour, 1);
	ck_assert_int_eq(w.lt.tm_min, 30);
	/* One hour later: 03:30 CEST (02:00-03:00 does not exist). */
	at(1774747800, &w);
	ck_assert_int_eq(w.lt.tm_hour, 3);
	ck_assert_int_eq(w.lt.tm_isdst, 1);
	/* Monday 2026-03-30 06:30 UTC is 08:30 in Oslo: open. */
	at(1774852200, &w);
	ck_assert_int_eq(w.lt.tm_wday, 1);
	ck_assert_int_eq(w.lt.tm_hour, 8);
	ck_assert(w.open);
	/* The Monday before, 06:30 UTC is 07:30 CET: opens today 08:00. */
	at(1774247400, &w);
	ck_assert_int_eq(w.lt.tm_hour, 7);
	ck_assert(!w.open);
	ck_assert_int_eq(w.days, 0);
	ck_assert_int_eq(w.minute, 8 * 60);
}
END_TEST

START_TEST(test_dst_autumn)
{
	struct when w;

	/* Friday 2026-10-23 06:30 UTC: 08:30 CEST, open. */
	at(1792737000, &w);
	ck_assert_int_eq(w.lt.tm_hour, 8);
	ck_assert(w.open);
	/* Monday 2026-10-26 06:30 UTC: 07:30 CET, after the switch: shut. */
	at(1792996200, &w);
	ck_assert_int_eq(w.lt.tm_hour, 7);
	ck_assert_int_eq(w.lt.tm_isdst, 0);
	ck_assert(!w.open);
}
END_TEST

START_TEST(test_when_text)
{
	struct nv_arena *a = nv_arena_new();
	struct when w;

	/* Friday 17:30: Saturday opens 10:00, "tomorrow". */
	at(1795797000, &w);
	ck_assert(!w.open);
	ck_assert_int_eq(w.days, 1);
	ck_assert_str_eq(nv_compose_when(a, "nb", w.days, w.wday, w.minute),
	    "i morgen kl. 10:00");
	ck_assert_str_eq(nv_compose_when(a, "en", w.days, w.wday, w.minute),
	    "tomorrow at 10:00");
	/* Saturday 17:30: Sunday is closed, so Monday 08:00. */
	at(1795883400, &w);
	ck_assert_int_eq(w.days, 2);
	ck_assert_int_eq(w.wday, 1);
	ck_assert_str_eq(nv_compose_when(a, "nb", w.days, w.wday, w.minute),
	    "mandag kl. 08:00");
	ck_assert_str_eq(nv_compose_when(a, "en", w.days, w.wday, w.minute),
	    "on Monday at 08:00");
	ck_assert_str_eq(nv_compose_when(a, "nb", 0, 1, 8 * 60),
	    "i dag kl. 08:00");
	ck_assert_str_eq(nv_compose_when(a, "nb", -1, 0, 0), "snart");
	nv_arena_free(a);
}
END_TEST

START_TEST(test_hours_never_open)
{
	cJSON *h = cJSON_Parse("{\"mon\":null,\"tue\":[\"bad\",\"17:00\"]}");
	struct tm lt;
	bool open;
	int days, wday, minute;

	ck_assert_int_eq(nv_compose_local(1774852200, "Europe/Oslo", &lt),
	    NV_OK);
	nv_compose_hours(h, &lt, &open, &days, &wday, &minute);
	ck_assert(!open);
	ck_assert_int_eq(days, -1);
	cJSON_Delete(h);
}
END_TEST

START_TEST(test_unknown_zone_is_oslo)
{
	struct tm a, b;

	ck_assert_int_eq(nv_compose_local(1774852200, "Mars/Olympus", &a),
	    NV_OK);
	ck_assert_int_eq(nv_compose_local(1774852200, "../../etc/passwd", &b),
	    NV_OK);
	ck_assert_int_eq(a.tm_hour, 8);
	ck_assert_int_eq(b.tm_hour, 8);
	ck_assert_int_eq(nv_compose_local(1774852200, "UTC", &a), NV_OK);
	ck_assert_int_eq(a.tm_hour, 6);
}
END_TEST

static void
sample(struct nv_compose *c, const struct nv_compose_vehicle *v, size_t nv)
{
	memset(c, 0, sizeof(*c));
	c->lang = "nb";
	c->dealership = "Tesla Oslo";
	c->first_name = "Kari";
	c->vehicle = "Model Y";
	c->stock = v;
	c->nstock = nv;
	c->open_now = true;
}

START_TEST(test_template_nb)
{
	static const struct nv_compose_vehicle v = { "Tesla", "Model Y", 2024,
	    44990000 };
	struct nv_arena *a = nv_arena_new();
	struct nv_compose c;
	char *s;

	sample(&c, &v, 1);
	s = nv_compose_template(a, &c);
	ck_assert_ptr_nonnull(strstr(s, "Hei Kari!"));
	ck_assert_ptr_nonnull(strstr(s, "Tesla Oslo om Model Y"));
	ck_assert_ptr_nonnull(strstr(s, "Vi har en 2024 Tesla Model Y på "
	    "lager til 449 900 kr."));
	ck_assert_ptr_nonnull(strstr(s, "tar kontakt med deg om kort tid"));
	/* The disclosure closes every automatic reply. */
	ck_assert_msg(strlen(s) > 80 && strcmp(s + strlen(s) - strlen(
	    "Dette svaret er skrevet automatisk av Norvalt på vegne av Tesla "
	    "Oslo."), "Dette svaret er skrevet automatisk av Norvalt på vegne "
	    "av Tesla Oslo.") == 0, "%s", s);
	nv_arena_free(a);
}
END_TEST

START_TEST(test_template_en_closed)
{
	struct nv_arena *a = nv_arena_new();
	struct nv_compose c;
	char *s;

	sample(&c, NULL, 0);
	c.lang = "en";
	c.first_name = NULL;
	c.vehicle = NULL;
	c.open_now = false;
	c.when = "on Monday at 08:00";
	s = nv_compose_template(a, &c);
	ck_assert_ptr_nonnull(strstr(s, "Hi there!"));
	ck_assert_ptr_nonnull(strstr(s, "the car you are interested in"));
	ck_assert_ptr_nonnull(strstr(s, "We are closed right now, but one of "
	    "our salespeople will get in touch with you on Monday at 08:00."));
	ck_assert_ptr_null(strstr(s, "in stock"));
	ck_assert_ptr_nonnull(strstr(s, "This reply was written automatically "
	    "by Norvalt on behalf of Tesla Oslo."));
	nv_arena_free(a);
}
END_TEST

START_TEST(test_template_custom_and_follow_up)
{
	struct nv_arena *a = nv_arena_new();
	struct nv_compose c;
	cJSON *t = cJSON_Parse("{\"nb\":\"Hallo {first_name}, {dealership} "
	    "her. {follow_up} {nope}\",\"nb_follow_up\":\"Mottatt, "
	    "{first_name}.\"}");
	char *s;

	sample(&c, NULL, 0);
	c.templates = t;
	s = nv_compose_template(a, &c);
	ck_assert_msg(strncmp(s, "Hallo Kari, Tesla Oslo her. En av våre "
	    "selgere tar kontakt med deg om kort tid. {nope}\n\nDette svaret",
	    strlen("Hallo Kari, Tesla Oslo her. En av våre selgere tar "
	    "kontakt med deg om kort tid. {nope}\n\nDette svaret")) == 0, "%s",
	    s);
	c.follow_up = true;
	s = nv_compose_template(a, &c);
	ck_assert_msg(strncmp(s, "Mottatt, Kari.\n\nDette svaret", 26) == 0,
	    "%s", s);
	/* English has no custom template: the default, follow-up kind. */
	c.lang = "en";
	s = nv_compose_template(a, &c);
	ck_assert_ptr_nonnull(strstr(s, "Thank you for your message."));
	cJSON_Delete(t);
	nv_arena_free(a);
}
END_TEST

START_TEST(test_templates_validation)
{
	const char *field, *issue;
	cJSON *t;

	t = cJSON_Parse("{\"nb\":\"Hei {first_name} {vehicle} {stock_match}"
	    "{follow_up} {dealership}\",\"en_follow_up\":\"x\"}");
	ck_assert_int_eq(nv_compose_templates_ok(t, &field, &issue), 1);
	cJSON_Delete(t);
	t = cJSON_Parse("{\"nb\":\"Hei {fornavn}\"}");
	ck_assert_int_eq(nv_compose_templates_ok(t, &field, &issue), 0);
	ck_assert_str_eq(field, "nb");
	ck_assert_ptr_nonnull(strstr(issue, "unknown placeholder"));
	cJSON_Delete(t);
	t = cJSON_Parse("{\"de\":\"Hallo\"}");
	ck_assert_int_eq(nv_compose_templates_ok(t, &field, &issue), 0);
	ck_assert_str_eq(field, "de");
	cJSON_Delete(t);
	t = cJSON_Parse("{\"en\":42}");
	ck_assert_int_eq(nv_compose_templates_ok(t, &field, &issue), 0);
	cJSON_Delete(t);
	t = cJSON_Parse("{\"en\":\"Hi {first_name\"}");
	ck_assert_int_eq(nv_compose_templates_ok(t, &field, &issue), 0);
	cJSON_Delete(t);
	t = cJSON_Parse("{\"en\":\"\"}");
	ck_assert_int_eq(nv_compose_templates_ok(t, &field, &issue), 0);
	cJSON_Delete(t);
}
END_TEST

START_TEST(test_templates_length)
{
	const char *field, *issue;
	char big[NV_COMPOSE_TEMPLATE_MAX + 2];
	cJSON *t;

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	t = cJSON_CreateObject();
	cJSON_AddStringToObject(t, "nb", big);
	ck_assert_int_eq(nv_compose_templates_ok(t, &field, &issue), 0);
	big[NV_COMPOSE_TEMPLATE_MAX] = '\0';
	cJSON_ReplaceItemInObject(t, "nb", cJSON_CreateString(big));
	ck_assert_int_eq(nv_compose_templates_ok(t, &field, &issue), 1);
	cJSON_Delete(t);
}
END_TEST

START_TEST(test_prompt_carries_context)
{
	static const struct nv_compose_vehicle v[2] = {
		{ "Tesla", "Model Y", 2024, 44990000 },
		{ "Tesla", "Model 3", 2023, -1 }
	};
	struct nv_arena *a = nv_arena_new();
	const char *sys, *user;
	struct nv_compose c;

	sample(&c, v, 2);
	c.tone = "formal";
	c.message = "Er den ledig?";
	c.open_now = false;
	c.when = "i morgen kl. 08:00";
	c.hours_text = "Monday 08:00-17:00";
	nv_compose_prompt(a, &c, &sys, &user);
	ck_assert_ptr_nonnull(strstr(sys, "Tesla Oslo"));
	ck_assert_ptr_nonnull(strstr(sys, "Tone: formal"));
	ck_assert_ptr_nonnull(strstr(sys, "Norwegian Bokmål"));
	ck_assert_ptr_nonnull(strstr(sys, "Monday 08:00-17:00"));
	ck_assert_ptr_nonnull(strstr(sys, "i morgen kl. 08:00"));
	ck_assert_ptr_nonnull(strstr(user, "Kari"));
	ck_assert_ptr_nonnull(strstr(user, "Er den ledig?"));
	ck_assert_ptr_nonnull(strstr(user, "- 2024 Tesla Model Y, NOK 449,900"));
	ck_assert_ptr_nonnull(strstr(user, "- 2023 Tesla Model 3"));
	nv_arena_free(a);
}
END_TEST

START_TEST(test_llm_answer_checked)
{
	struct nv_arena *a = nv_arena_new();
	struct nv_compose c;
	char big[NV_COMPOSE_LLM_MAX + 2], *s;

	sample(&c, NULL, 0);
	s = nv_compose_llm_reply(a, &c, "  Hei Kari! Bilen er ledig.\n ");
	ck_assert_str_eq(s, "Hei Kari! Bilen er ledig.\n\nDette svaret er "
	    "skrevet automatisk av Norvalt på vegne av Tesla Oslo.");
	ck_assert_ptr_null(nv_compose_llm_reply(a, &c, ""));
	ck_assert_ptr_null(nv_compose_llm_reply(a, &c, " \n\t "));
	ck_assert_ptr_null(nv_compose_llm_reply(a, &c, NULL));
	ck_assert_ptr_null(nv_compose_llm_reply(a, &c, "bad \xff utf-8"));
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ck_assert_ptr_null(nv_compose_llm_reply(a, &c, big));
	big[NV_COMPOSE_LLM_MAX] = '\0';
	ck_assert_ptr_nonnull(nv_compose_llm_reply(a, &c, big));
	nv_arena_free(a);
}
END_TEST

START_TEST(test_price)
{
	struct nv_arena *a = nv_arena_new();

	ck_assert_str_eq(nv_compose_price(a, "nb", 44990000), "449 900 kr");
	ck_assert_str_eq(nv_compose_price(a, "en", 44990000), "NOK 449,900");
	ck_assert_str_eq(nv_compose_price(a, "nb", 99900), "999 kr");
	ck_assert_str_eq(nv_compose_price(a, "nb", 123456789900LL),
	    "1 234 567 899 kr");
	nv_arena_free(a);
}
END_TEST

START_TEST(test_backoff)
{
	long d;
	int i;

	/* Without jitter's extremes: base, 2x, 4x ... */
	ck_assert_int_eq(nv_compose_backoff_ms(1, 2000, 250), 2000);
	ck_assert_int_eq(nv_compose_backoff_ms(2, 2000, 250), 4000);
	ck_assert_int_eq(nv_compose_backoff_ms(3, 2000, 250), 8000);
	/* Jitter stays within +-25%. */
	for (i = 0; i < 1000; i++) {
		d = nv_compose_backoff_ms(4, 1000, (unsigned)i * 7919u);
		ck_assert(d >= 6000 && d < 10000);
	}
	/* Capped at 15 minutes (+25%), however many attempts. */
	ck_assert(nv_compose_backoff_ms(40, 2000, 499) <= 15L * 60 * 1250);
	ck_assert(nv_compose_backoff_ms(40, 2000, 0) >= 15L * 60 * 750);
}
END_TEST

static Suite *
compose_suite(void)
{
	Suite *s = suite_create("compose");
	TCase *tc;

	tc = tcase_create("core");
	tcase_add_test(tc, test_english_detected);
	tcase_add_test(tc, test_norwegian_stays);
	tcase_add_test(tc, test_dst_spring);
	tcase_add_test(tc, test_dst_autumn);
	tcase_add_test(tc, test_when_text);
	tcase_add_test(tc, test_template_nb);
	tcase_add_test(tc, test_template_en_closed);
	tcase_add_test(tc, test_template_custom_and_follow_up);
	tcase_add_test(tc, test_prompt_carries_context);
	tcase_add_test(tc, test_price);
	suite_add_tcase(s, tc);

	tc = tcase_create("limits");
	tcase_add_test(tc, test_templates_length);
	tcase_add_test(tc, test_llm_answer_checked);
	tcase_add_test(tc, test_backoff);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_test(tc, test_hours_never_open);
	tcase_add_test(tc, test_unknown_zone_is_oslo);
	tcase_add_test(tc, test_templates_validation);
	suite_add_tcase(s, tc);
	return s;
}

NV_TEST_MAIN(compose_suite)
