/*
 * email.c - a buyer's e-mail address (email.h): checked, and hashed into
 * the customer id that the engine's per-customer limit counts, so that
 * upper and lower case name the same buyer.
 *
 * Workload: every hold and checkout with a customer: one table lookup per
 * byte and one BLAKE2b of the address.
 */
#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#include <sodium.h>

#include "util/email.h"
#include "util/text.h"

/* ---- e-mail addresses ---- */

/* Bytes allowed in an address (RFC 5322 atext and dots in the local part;
 * letters, digits and hyphens in domain labels; any non-ASCII byte in
 * both: UTF-8 is checked elsewhere), one table lookup per byte. */
enum { LOCAL = 1, DOMAIN = 2 };
static unsigned char email_class[256];

static void email_classes_init(void)
{
    for (int c = 0; c < 256; c++) {
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (alnum || c >= 0x80 || (c && strchr("!#$%&'*+/=?^_`{|}~.-", c)))
            email_class[c] |= LOCAL;
        if (alnum || c >= 0x80 || c == '-')
            email_class[c] |= DOMAIN;
    }
}

static bool local_char(unsigned char c)
{
    return email_class[c] & LOCAL;
}

static bool domain_char(unsigned char c)
{
    return email_class[c] & DOMAIN;
}

/* The bytes past ASCII must be UTF-8 that text may hold (util/text.h: no
 * C1 controls, U+2028/2029 or bidi overrides); ASCII was checked by class.
 * Most addresses are ASCII: one pass, no decoding. */
static bool non_ascii_ok(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] >= 0x80)
            return bo_text_ok(s, n, 0);
    return true;
}

static bool local_ok(const char *s, size_t n)
{
    if (n == 0 || n > BO_EMAIL_MAX_LOCAL || s[0] == '.' || s[n - 1] == '.')
        return false;
    for (size_t i = 0; i < n; i++)
        if (!local_char((unsigned char)s[i]) || (s[i] == '.' && i + 1 < n && s[i + 1] == '.'))
            return false;
    return true;
}

static bool domain_ok(const char *s, size_t n)
{
    unsigned labels = 0;
    for (size_t i = 0; i <= n;) {
        size_t j = i;
        while (j < n && s[j] != '.')
            j++;
        if (j == i || j - i > 63 || s[i] == '-' || s[j - 1] == '-')
            return false;
        for (size_t k = i; k < j; k++)
            if (!domain_char((unsigned char)s[k]))
                return false;
        labels++;
        i = j + 1;
    }
    return labels >= 2;
}

bool bo_email_customer(const char *email, size_t len, uint64_t *customer)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, email_classes_init);
    if (len == 0 || len > BO_EMAIL_MAX || memchr(email, '\0', len))
        return false;
    const char *at = memchr(email, '@', len);
    if (!at || memchr(at + 1, '@', len - (size_t)(at - email) - 1) ||
        !local_ok(email, (size_t)(at - email)) ||
        !domain_ok(at + 1, len - (size_t)(at - email) - 1) || !non_ascii_ok(email, len))
        return false;
    if (customer) {
        char lower[BO_EMAIL_MAX];
        uint8_t h[8];
        for (size_t i = 0; i < len; i++)
            lower[i] = email[i] >= 'A' && email[i] <= 'Z' ? (char)(email[i] + 32) : email[i];
        crypto_generichash(h, sizeof(h), (const uint8_t *)lower, len, NULL, 0);
        uint64_t v = 0;
        for (int i = 0; i < 8; i++)
            v = v << 8 | h[i];
        *customer = v ? v : 1;
    }
    return true;
}
