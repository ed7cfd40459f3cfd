/*
 * compose.c - reply texts, language, opening hours; see compose.h.
 *
 * Design notes.  Local time comes from the C library's TZ database
 * (localtime_r with TZ set for the call), so Europe/Oslo's switch to and
 * from summer time is the operating system's, not ours.  The worker is
 * single-threaded, which is what makes changing TZ for a call safe.
 *
 * Texts are assembled in a small growable buffer and copied into the
 * arena once; placeholders are filled in one pass, and an unknown
 * "{name}" is copied as written (nv_compose_templates_ok keeps those out
 * of the settings in the first place).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "compose.h"
#include "log.h"
#include "valid.h"

#define COMPOSE_TZ_DEFAULT	"Europe/Oslo"
#define COMPOSE_BACKOFF_CAP_MS	(15L * 60 * 1000)

static const char *const compose_days[7] = {
	"sun", "mon", "tue", "wed", "thu", "fri", "sat"
};
static const char *const compose_days_nb[7] = {
	"søndag", "mandag", "tirsdag", "onsdag", "torsdag", "fredag", "lørdag"
};
static const char *const compose_days_en[7] = {
	"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday",
	"Saturday"
};

static const char compose_default_nb[] =
	"Hei {first_name}!\n\n"
	"Takk for at du tok kontakt med {dealership} om {vehicle}. "
	"{stock_match}{follow_up}\n\n"
	"Vennlig hilsen\n{dealership}";
static const char compose_default_en[] =
	"Hi {first_name}!\n\n"
	"Thank you for contacting {dealership} about {vehicle}. "
	"{stock_match}{follow_up}\n\n"
	"Best regards,\n{dealership}";
static const char compose_default_nb_fu[] =
	"Hei {first_name}!\n\n"
	"Takk for meldingen din. {follow_up}\n\n"
	"Vennlig hilsen\n{dealership}";
static const char compose_default_en_fu[] =
	"Hi {first_name}!\n\n"
	"Thank you for your message. {follow_up}\n\n"
	"Best regards,\n{dealership}";

static const char *const compose_placeholders[] = {
	"first_name", "dealership", "vehicle", "stock_match", "follow_up",
	NULL
};
static const char *const compose_template_keys[] = {
	"nb", "en", "nb_follow_up", "en_follow_up", NULL
};

/* English and Scandinavian words that say which language a text is in. */
static const char *const compose_words_en[] = {
	"the", "and", "is", "are", "you", "your", "have", "has", "do", "does",
	"would", "like", "what", "when", "my", "with", "this", "that",
	"interested", "hello", "hi", "please", "thanks", "thank", "can",
	"could", "it", "of", "available", "price", "me", "be", "how", "there",
	"want", "looking", "buy", "drive", "test", "still", "we", "our",
	"am", "will", "about", "an", NULL
};
static const char *const compose_words_nb[] = {
	"jeg", "er", "og", "det", "har", "til", "et", "med", "kan", "vil",
	"hei", "takk", "ikke", "som", "om", "du", "deg", "meg", "min", "mitt",
	"bilen", "pris", "ledig", "interessert", "hva", "hvordan", "gjerne",
	"kjøpe", "hilsen", "dere", "vi", "den", "enn", "noen", "mvh",
	"fortsatt", "prøvekjøre", "prøvekjøring", "på", "å", "bil", NULL
};

/* A growable buffer; copied into the arena by buf_done. */
struct compose_buf {
	char	*p;
	size_t	 len, cap;
};

static void
buf_add(struct compose_buf *b, const char *s, size_t n)
{
	size_t cap;
	char *p;

	if (b->len + n + 1 > b->cap) {
		cap = b->cap == 0 ? 512 : b->cap;
		while (cap < b->len + n + 1)
			cap *= 2;
		p = realloc(b->p, cap);
		if (p == NULL) {
			nv_log_error("compose: out of memory");
			abort();
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
buf_str(struct compose_buf *b, const char *s)
{
	if (s != NULL)
		buf_add(b, s, strlen(s));
}

static char *
buf_done(struct nv_arena *a, struct compose_buf *b)
{
	char *s = nv_arena_strndup(a, b->p != NULL ? b->p : "", b->len);

	free(b->p);
	memset(b, 0, sizeof(*b));
	return s;
}

static int
compose_in(const char *w, const char *const *list)
{
	for (; *list != NULL; list++)
		if (strcmp(w, *list) == 0)
			return 1;
	return 0;
}

int
nv_compose_is_english(const char *text)
{
	const unsigned char *p = (const unsigned char *)text;
	char word[32];
	size_t n;
	int en = 0, nb = 0;

	if (text == NULL)
		return 0;
	/* æ ø å Æ Ø Å (UTF-8 C3 A6/B8/A5/86/98/85): Scandinavian. */
	for (; *p != '\0'; p++)
		if (p[0] == 0xC3 && (p[1] == 0xA6 || p[1] == 0xB8 ||
		    p[1] == 0xA5 || p[1] == 0x86 || p[1] == 0x98 ||
		    p[1] == 0x85))
			return 0;
	p = (const unsigned char *)text;
	while (*p != '\0') {
		while (*p != '\0' && !isalpha(*p) && *p < 0x80)
			p++;
		n = 0;
		while (*p != '\0' && (isalpha(*p) || *p >= 0x80)) {
			if (n + 1 < sizeof(word))
				word[n++] = (char)tolower(*p);
			p++;
		}
		word[n] = '\0';
		if (n == 0)
			continue;
		if (compose_in(word, compose_words_en))
			en++;
		else if (compose_in(word, compose_words_nb))
			nb++;
	}
	return en >= 2 && en > nb;
}

const char *
nv_compose_language(const char *settings_lang, const char *message)
{
	if (nv_compose_is_english(message))
		return "en";
	if (settings_lang != NULL && strcmp(settings_lang, "en") == 0)
		return "en";
	return "nb";
}

/* A zone name we are willing to put in TZ: a file of the TZ database. */
static int
compose_tz_ok(const char *tz)
{
	char path[256];
	const char *p;

	if (tz == NULL || *tz == '\0' || strlen(tz) > 64 || tz[0] == '/' ||
	    strstr(tz, "..") != NULL)
		return 0;
	for (p = tz; *p != '\0'; p++)
		if (!isalnum((unsigned char)*p) && *p != '/' && *p != '_' &&
		    *p != '-' && *p != '+')
			return 0;
	snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", tz);
	return access(path, R_OK) == 0;
}

enum nv_err
nv_compose_local(time_t now, const char *tz, struct tm *out)
{
	char *old = NULL;
	const char *v;
	struct tm *r;

	if (!compose_tz_ok(tz))
		tz = COMPOSE_TZ_DEFAULT;
	v = getenv("TZ");
	if (v != NULL && (old = strdup(v)) == NULL)
		return NV_ERR_INTERNAL;
	setenv("TZ", tz, 1);
	tzset();
	r = localtime_r(&now, out);
	if (old != NULL) {
		setenv("TZ", old, 1);
		free(old);
	} else {
		unsetenv("TZ");
	}
	tzset();
	return r != NULL ? NV_OK : NV_ERR_INTERNAL;
}

/* "HH:MM" into minutes since midnight; -1 when malformed. */
static int
compose_hhmm(const char *s)
{
	int h, m;

	if (s == NULL || strlen(s) != 5 || !isdigit((unsigned char)s[0]) ||
	    !isdigit((unsigned char)s[1]) || s[2] != ':' ||
	    !isdigit((unsigned char)s[3]) || !isdigit((unsigned char)s[4]))
		return -1;
	h = (s[0] - '0') * 10 + (s[1] - '0');
	m = (s[3] - '0') * 10 + (s[4] - '0');
	if (h > 24 || m > 59 || (h == 24 && m != 0))
		return -1;
	return h * 60 + m;
}

/* Opening and closing minute of weekday wday; 0 when closed that day. */
static int
compose_day(const cJSON *hours, int wday, int *open, int *close)
{
	static const char *const def[7][2] = {
		{ NULL, NULL }, { "08:00", "17:00" }, { "08:00", "17:00" },
		{ "08:00", "17:00" }, { "08:00", "17:00" }, { "08:00", "17:00" },
		{ "10:00", "15:00" }
	};
	const cJSON *day, *o, *c;

	if (hours == NULL || !cJSON_IsObject(hours)) {
		*open = compose_hhmm(def[wday][0]);
		*close = compose_hhmm(def[wday][1]);
	} else {
		day = cJSON_GetObjectItemCaseSensitive(hours,
		    compose_days[wday]);
		if (!cJSON_IsArray(day) || cJSON_GetArraySize(day) != 2)
			return 0;
		o = cJSON_GetArrayItem(day, 0);
		c = cJSON_GetArrayItem(day, 1);
		*open = compose_hhmm(cJSON_IsString(o) ? o->valuestring : NULL);
		*close = compose_hhmm(cJSON_IsString(c) ? c->valuestring :
		    NULL);
	}
	return *open >= 0 && *close > *open;
}

void
nv_compose_hours(const cJSON *hours, const struct tm *lt, bool *open_now,
    int *days_ahead, int *wday, int *minute)
{
	int now = lt->tm_hour * 60 + lt->tm_min, i, w, o, c;

	*open_now = false;
	*days_ahead = -1;
	*wday = lt->tm_wday;
	*minute = 0;
	if (compose_day(hours, lt->tm_wday, &o, &c)) {
		if (now >= o && now < c) {
			*open_now = true;
			return;
		}
		if (now < o) {
			*days_ahead = 0;
			*minute = o;
			return;
		}
	}
	for (i = 1; i <= 7; i++) {
		w = (lt->tm_wday + i) % 7;
		if (compose_day(hours, w, &o, &c)) {
			*days_ahead = i;
			*wday = w;
			*minute = o;
			return;
		}
	}
}

char *
nv_compose_when(struct nv_arena *a, const char *lang, int days_ahead,
    int wday, int minute)
{
	bool en = lang != NULL && strcmp(lang, "en") == 0;
	int h = minute / 60, m = minute % 60;

	if (days_ahead < 0 || wday < 0 || wday > 6)
		return nv_arena_strdup(a, en ? "soon" : "snart");
	if (days_ahead == 0)
		return nv_arena_printf(a, en ? "today at %02d:%02d" :
		    "i dag kl. %02d:%02d", h, m);
	if (days_ahead == 1)
		return nv_arena_printf(a, en ? "tomorrow at %02d:%02d" :
		    "i morgen kl. %02d:%02d", h, m);
	return en ? nv_arena_printf(a, "on %s at %02d:%02d",
	    compose_days_en[wday], h, m) : nv_arena_printf(a,
	    "%s kl. %02d:%02d", compose_days_nb[wday], h, m);
}

char *
nv_compose_hours_text(struct nv_arena *a, const cJSON *hours)
{
	struct compose_buf b = { NULL, 0, 0 };
	int i, w, o, c;
	char part[64];

	for (i = 1; i <= 7; i++) {
		w = i % 7;	/* Monday first */
		if (b.len > 0)
			buf_str(&b, ", ");
		if (compose_day(hours, w, &o, &c))
			snprintf(part, sizeof(part), "%s %02d:%02d-%02d:%02d",
			    compose_days_en[w], o / 60, o % 60, c / 60, c % 60);
		else
			snprintf(part, sizeof(part), "%s closed",
			    compose_days_en[w]);
		buf_str(&b, part);
	}
	return buf_done(a, &b);
}

char *
nv_compose_disclosure(struct nv_arena *a, const char *lang,
    const char *dealership)
{
	if (lang != NULL && strcmp(lang, "en") == 0)
		return nv_arena_cat(a, "This reply was written automatically "
		    "by Norvalt on behalf of ", dealership, ".", (char *)NULL);
	return nv_arena_cat(a, "Dette svaret er skrevet automatisk av Norvalt "
	    "på vegne av ", dealership, ".", (char *)NULL);
}

char *
nv_compose_price(struct nv_arena *a, const char *lang, long long price_ore)
{
	char digits[32], out[48];
	bool en = lang != NULL && strcmp(lang, "en") == 0;
	long long kr = (price_ore + 50) / 100;
	size_t n, i, o = 0;

	if (kr < 0)
		kr = 0;
	snprintf(digits, sizeof(digits), "%lld", kr);
	n = strlen(digits);
	for (i = 0; i < n; i++) {
		if (i > 0 && (n - i) % 3 == 0)
			out[o++] = en ? ',' : ' ';
		out[o++] = digits[i];
	}
	out[o] = '\0';
	return en ? nv_arena_cat(a, "NOK ", out, (char *)NULL) :
	    nv_arena_cat(a, out, " kr", (char *)NULL);
}

/* "2024 Tesla Model Y" */
static char *
compose_car(struct nv_arena *a, const struct nv_compose_vehicle *v)
{
	if (v->year > 0)
		return nv_arena_printf(a, "%d %s %s", v->year, v->make,
		    v->model);
	return nv_arena_cat(a, v->make, " ", v->model, (char *)NULL);
}

static char *
compose_stock_match(struct nv_arena *a, const struct nv_compose *c, bool en)
{
	const struct nv_compose_vehicle *v;
	char *car;

	if (c->nstock == 0)
		return nv_arena_strdup(a, "");
	v = &c->stock[0];
	car = compose_car(a, v);
	if (v->price_ore >= 0)
		return en ? nv_arena_cat(a, "We have a ", car, " in stock at ",
		    nv_compose_price(a, "en", v->price_ore), ". ",
		    (char *)NULL) : nv_arena_cat(a, "Vi har en ", car,
		    " på lager til ", nv_compose_price(a, "nb", v->price_ore),
		    ". ", (char *)NULL);
	return en ? nv_arena_cat(a, "We have a ", car, " in stock. ",
	    (char *)NULL) : nv_arena_cat(a, "Vi har en ", car, " på lager. ",
	    (char *)NULL);
}

static char *
compose_follow_up(struct nv_arena *a, const struct nv_compose *c, bool en)
{
	if (c->open_now)
		return nv_arena_strdup(a, en ? "One of our salespeople will "
		    "get in touch with you shortly." : "En av våre selgere "
		    "tar kontakt med deg om kort tid.");
	return en ? nv_arena_cat(a, "We are closed right now, but one of our "
	    "salespeople will get in touch with you ", c->when != NULL ?
	    c->when : "soon", ".", (char *)NULL) : nv_arena_cat(a,
	    "Vi har stengt akkurat nå, men en av våre selgere tar kontakt "
	    "med deg ", c->when != NULL ? c->when : "snart", ".",
	    (char *)NULL);
}

/* The template text to use: the dealership's, when usable, else ours. */
static const char *
compose_pick(const struct nv_compose *c, bool en)
{
	const char *key;
	const cJSON *t;

	key = en ? (c->follow_up ? "en_follow_up" : "en") :
	    (c->follow_up ? "nb_follow_up" : "nb");
	t = c->templates != NULL ? cJSON_GetObjectItemCaseSensitive(
	    c->templates, key) : NULL;
	if (cJSON_IsString(t) && *t->valuestring != '\0' &&
	    strlen(t->valuestring) <= NV_COMPOSE_TEMPLATE_MAX &&
	    nv_valid_text(t->valuestring, strlen(t->valuestring)))
		return t->valuestring;
	if (en)
		return c->follow_up ? compose_default_en_fu :
		    compose_default_en;
	return c->follow_up ? compose_default_nb_fu : compose_default_nb;
}

char *
nv_compose_template(struct nv_arena *a, const struct nv_compose *c)
{
	struct compose_buf b = { NULL, 0, 0 };
	bool en = c->lang != NULL && strcmp(c->lang, "en") == 0;
	const char *p, *close, *v;
	size_t n;
	char *out, *trimmed;

	p = compose_pick(c, en);
	while (*p != '\0') {
		if (*p != '{' || (close = strchr(p, '}')) == NULL) {
			n = strcspn(p + 1, "{") + 1;
			buf_add(&b, p, n);
			p += n;
			continue;
		}
		n = (size_t)(close - p - 1);
		v = NULL;
		if (n == 10 && strncmp(p + 1, "first_name", n) == 0)
			v = c->first_name != NULL && *c->first_name != '\0' ?
			    c->first_name : en ? "there" : "der";
		else if (n == 10 && strncmp(p + 1, "dealership", n) == 0)
			v = c->dealership;
		else if (n == 7 && strncmp(p + 1, "vehicle", n) == 0)
			v = c->vehicle != NULL && *c->vehicle != '\0' ?
			    c->vehicle : en ? "the car you are interested in" :
			    "bilen du er interessert i";
		else if (n == 11 && strncmp(p + 1, "stock_match", n) == 0)
			v = compose_stock_match(a, c, en);
		else if (n == 9 && strncmp(p + 1, "follow_up", n) == 0)
			v = compose_follow_up(a, c, en);
		if (v != NULL) {
			buf_str(&b, v);
		} else {
			buf_add(&b, p, n + 2);
		}
		p = close + 1;
	}
	out = buf_done(a, &b);
	/* A trailing blank before the disclosure, whatever the template. */
	n = strlen(out);
	while (n > 0 && isspace((unsigned char)out[n - 1]))
		n--;
	trimmed = nv_arena_strndup(a, out, n);
	return nv_arena_cat(a, trimmed, "\n\n", nv_compose_disclosure(a,
	    en ? "en" : "nb", c->dealership), (char *)NULL);
}

int
nv_compose_templates_ok(const cJSON *templates, const char **field,
    const char **issue)
{
	const cJSON *t;
	const char *p, *close;
	size_t n, len, i;
	int known;

	*field = "templates";
	*issue = NULL;
	if (!cJSON_IsObject(templates)) {
		*issue = "must be an object";
		return 0;
	}
	cJSON_ArrayForEach(t, templates) {
		*field = t->string;
		if (!compose_in(t->string, compose_template_keys)) {
			*issue = "is not a template name (nb, en, nb_follow_up, "
			    "en_follow_up)";
			return 0;
		}
		if (!cJSON_IsString(t)) {
			*issue = "must be a string";
			return 0;
		}
		len = strlen(t->valuestring);
		if (len == 0 || len > NV_COMPOSE_TEMPLATE_MAX) {
			*issue = "must be 1 to 2000 bytes long";
			return 0;
		}
		if (!nv_valid_text(t->valuestring, len)) {
			*issue = "must be valid UTF-8 text";
			return 0;
		}
		for (p = strchr(t->valuestring, '{'); p != NULL;
		    p = strchr(close + 1, '{')) {
			close = strchr(p, '}');
			if (close == NULL) {
				*issue = "has a '{' without '}'";
				return 0;
			}
			n = (size_t)(close - p - 1);
			known = 0;
			for (i = 0; compose_placeholders[i] != NULL; i++)
				if (strlen(compose_placeholders[i]) == n &&
				    strncmp(p + 1, compose_placeholders[i],
				    n) == 0)
					known = 1;
			if (!known) {
				*issue = "uses an unknown placeholder (known: "
				    "{first_name} {dealership} {vehicle} "
				    "{stock_match} {follow_up})";
				return 0;
			}
		}
	}
	return 1;
}

void
nv_compose_prompt(struct nv_arena *a, const struct nv_compose *c,
    const char **system, const char **user)
{
	struct compose_buf b = { NULL, 0, 0 };
	bool en = c->lang != NULL && strcmp(c->lang, "en") == 0;
	size_t i;
	char *car;

	buf_str(&b, "You answer, in writing, a customer who contacted the car "
	    "dealership ");
	buf_str(&b, c->dealership);
	buf_str(&b, c->follow_up ? ". The customer wrote again on an "
	    "existing enquiry." : ". This is the first reply to a new "
	    "enquiry.");
	buf_str(&b, "\nWrite in ");
	buf_str(&b, en ? "English" : "Norwegian Bokmål");
	buf_str(&b, ". Tone: ");
	buf_str(&b, c->tone != NULL && *c->tone != '\0' ? c->tone :
	    "friendly");
	buf_str(&b, ".\nOpening hours (Europe/Oslo time): ");
	buf_str(&b, c->hours_text != NULL ? c->hours_text : "");
	if (c->open_now) {
		buf_str(&b, ". The dealership is open now; a salesperson will "
		    "follow up shortly.");
	} else {
		buf_str(&b, ". The dealership is closed now; a salesperson "
		    "will follow up ");
		buf_str(&b, c->when != NULL ? c->when : "soon");
		buf_str(&b, ".");
	}
	buf_str(&b, "\nRules: at most 120 words. Mention only vehicles from "
	    "the stock list given; never invent prices, availability, "
	    "discounts or promises. Do not claim to be a human and do not "
	    "sign with a person's name; sign with the dealership's name. Do "
	    "not add a line saying the reply is automated: it is appended "
	    "for you.");
	*system = buf_done(a, &b);

	buf_str(&b, "Customer's first name: ");
	buf_str(&b, c->first_name != NULL ? c->first_name : "(unknown)");
	buf_str(&b, "\nVehicle asked about: ");
	buf_str(&b, c->vehicle != NULL ? c->vehicle : "(not given)");
	buf_str(&b, "\nCustomer's message: ");
	buf_str(&b, c->message != NULL ? c->message : "(none)");
	buf_str(&b, "\nMatching vehicles in stock:");
	if (c->nstock == 0)
		buf_str(&b, " none");
	for (i = 0; i < c->nstock; i++) {
		car = compose_car(a, &c->stock[i]);
		buf_str(&b, "\n- ");
		buf_str(&b, car);
		if (c->stock[i].price_ore >= 0) {
			buf_str(&b, ", ");
			buf_str(&b, nv_compose_price(a, "en",
			    c->stock[i].price_ore));
		}
	}
	*user = buf_done(a, &b);
}

char *
nv_compose_llm_reply(struct nv_arena *a, const struct nv_compose *c,
    const char *answer)
{
	const char *s, *e;
	bool en = c->lang != NULL && strcmp(c->lang, "en") == 0;

	if (answer == NULL)
		return NULL;
	s = answer;
	while (*s != '\0' && isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		e--;
	if (e == s || (size_t)(e - s) > NV_COMPOSE_LLM_MAX ||
	    !nv_valid_text(s, (size_t)(e - s)))
		return NULL;
	return nv_arena_cat(a, nv_arena_strndup(a, s, (size_t)(e - s)),
	    "\n\n", nv_compose_disclosure(a, en ? "en" : "nb",
	    c->dealership), (char *)NULL);
}

long
nv_compose_backoff_ms(int attempts, long base_ms, unsigned rnd)
{
	long d = base_ms > 0 ? base_ms : 1;
	int i;

	for (i = 1; i < attempts && d < COMPOSE_BACKOFF_CAP_MS; i++)
		d *= 2;
	if (d > COMPOSE_BACKOFF_CAP_MS)
		d = COMPOSE_BACKOFF_CAP_MS;
	return d * (750L + (long)(rnd % 500u)) / 1000L;
}
