/*
 * valid.c - see valid.h.
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "valid.h"

int
nv_valid_uuid(const char *s)
{
	size_t i;

	if (s == NULL || strlen(s) != 36)
		return 0;
	for (i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return 0;
		} else if (!isxdigit((unsigned char)s[i])) {
			return 0;
		}
	}
	return 1;
}

/* RFC 5322 atext: what may stand in a dot-atom local part. */
static int
valid_atext(unsigned char c)
{
	return isalnum(c) || (c != '\0' && strchr("!#$%&'*+/=?^_`{|}~-", c) !=
	    NULL);
}

/*
 * The same rule as the leads/users CHECK constraint in
 * 001_initial_schema.sql, so the database never refuses what passed here:
 * dot-atom local part, dot-separated LDH labels (1..63, no '-' at either
 * end), a final label of 2..63 letters or an xn-- label.  ASCII only:
 * internationalised domains arrive as punycode.
 */
int
nv_valid_email(const char *s)
{
	const char *at, *p, *label, *last = NULL;
	size_t len, n;
	int dots = 0;

	if (s == NULL)
		return 0;
	len = strlen(s);
	if (len < 3 || len > 254)
		return 0;
	at = strchr(s, '@');
	if (at == NULL || at == s || strchr(at + 1, '@') != NULL ||
	    at - s > 64)
		return 0;
	if (s[0] == '.' || at[-1] == '.')
		return 0;
	for (p = s; p < at; p++) {
		if (*p == '.') {
			if (p[1] == '.')
				return 0;
			continue;
		}
		if (!valid_atext((unsigned char)*p))
			return 0;
	}
	label = at + 1;
	for (p = label;; p++) {
		if (*p == '.' || *p == '\0') {
			n = (size_t)(p - label);
			if (n == 0 || n > 63 || label[0] == '-' || p[-1] == '-')
				return 0;
			last = label;
			if (*p == '\0')
				break;
			dots++;
			label = p + 1;
			continue;
		}
		if (!isalnum((unsigned char)*p) && *p != '-')
			return 0;
	}
	if (dots == 0)
		return 0;
	if (strncasecmp(last, "xn--", 4) == 0)
		return strlen(last) > 4;
	n = strlen(last);
	if (n < 2)
		return 0;
	for (p = last; *p != '\0'; p++)
		if (!isalpha((unsigned char)*p))
			return 0;
	return 1;
}

enum nv_err
nv_valid_phone(const char *in, const char *default_cc, char out[NV_PHONE_MAX])
{
	char digits[32];
	size_t n = 0, cclen;
	int intl = 0;
	const char *p = in;

	out[0] = '\0';
	if (in == NULL)
		return NV_ERR_VALIDATION;
	while (isspace((unsigned char)*p) || *p == '(')
		p++;
	if (*p == '+') {
		intl = 1;
		p++;
	}
	for (; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;

		if (isdigit(c)) {
			if (n >= sizeof(digits) - 1)
				return NV_ERR_VALIDATION;
			digits[n++] = (char)c;
		} else if (c == ' ' || c == '-' || c == '.' || c == '/' ||
		    c == '(' || c == ')' || c == '\t') {
			continue;
		} else {
			return NV_ERR_VALIDATION;
		}
	}
	digits[n] = '\0';

	if (!intl && n > 2 && digits[0] == '0' && digits[1] == '0') {
		memmove(digits, digits + 2, n - 1);
		n -= 2;
		intl = 1;
	}
	cclen = default_cc != NULL ? strlen(default_cc) : 0;
	if (!intl) {
		/*
		 * National number.  Norway (+47) has 8-digit numbers and no
		 * trunk prefix; "4791234567" is already international.
		 */
		if (cclen == 0)
			return NV_ERR_VALIDATION;
		if (!(n == cclen + 8 && strncmp(digits, default_cc, cclen) == 0)) {
			if (n + cclen >= sizeof(digits))
				return NV_ERR_VALIDATION;
			memmove(digits + cclen, digits, n + 1);
			memcpy(digits, default_cc, cclen);
			n += cclen;
		}
	}
	if (n < 7 || n > 15 || digits[0] == '0')
		return NV_ERR_VALIDATION;
	out[0] = '+';
	memcpy(out + 1, digits, n + 1);
	return NV_OK;
}

int
nv_valid_enum(const char *s, const char *const *values)
{
	if (s == NULL)
		return 0;
	for (; *values != NULL; values++)
		if (strcmp(s, *values) == 0)
			return 1;
	return 0;
}

int
nv_valid_text(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;
	size_t need;

	while (p < end) {
		unsigned char c = *p;

		if (c < 0x80) {
			if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') ||
			    c == 0x7f)
				return 0;
			p++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			need = 1;
		else if (c >= 0xe0 && c <= 0xef)
			need = 2;
		else if (c >= 0xf0 && c <= 0xf4)
			need = 3;
		else
			return 0;
		if ((size_t)(end - p) <= need)
			return 0;
		for (size_t i = 1; i <= need; i++)
			if ((p[i] & 0xc0) != 0x80)
				return 0;
		/* Overlongs and surrogates. */
		if ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] > 0x9f) ||
		    (c == 0xf0 && p[1] < 0x90) || (c == 0xf4 && p[1] > 0x8f))
			return 0;
		p += need + 1;
	}
	return 1;
}

/* n digits at s, their value in *v. */
static int
valid_digits(const char *s, int n, int *v)
{
	int i;

	*v = 0;
	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return 0;
		*v = *v * 10 + (s[i] - '0');
	}
	return 1;
}

int
nv_valid_rfc3339(const char *s)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31 };
	int y, mo, d, h, mi, sec, oh, om;
	const char *p;

	if (s == NULL || strlen(s) < 20 || strlen(s) > 40)
		return 0;
	if (!valid_digits(s, 4, &y) || s[4] != '-' ||
	    !valid_digits(s + 5, 2, &mo) || s[7] != '-' ||
	    !valid_digits(s + 8, 2, &d) ||
	    (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
	    !valid_digits(s + 11, 2, &h) || s[13] != ':' ||
	    !valid_digits(s + 14, 2, &mi) || s[16] != ':' ||
	    !valid_digits(s + 17, 2, &sec))
		return 0;
	if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] ||
	    h > 23 || mi > 59 || sec > 60)
		return 0;
	if (mo == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) ||
	    y % 400 == 0))
		return 0;
	p = s + 19;
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return 0;
		while (isdigit((unsigned char)*p))
			p++;
	}
	if ((*p == 'Z' || *p == 'z') && p[1] == '\0')
		return 1;
	/*
	 * RFC 3339 allows offsets to 23:59, PostgreSQL only to 15:59 (real
	 * ones stop at 14:00): refuse here what the database would refuse.
	 */
	if ((*p == '+' || *p == '-') && valid_digits(p + 1, 2, &oh) &&
	    p[3] == ':' && valid_digits(p + 4, 2, &om) && p[6] == '\0')
		return oh <= 15 && om <= 59;
	return 0;
}
