/*
 * text.c - the checks of text.h. Runs on every hold request's buyer name
 * and address (tens of bytes, mostly ASCII): the ASCII bytes cost a compare
 * each, only non-ASCII characters are decoded.
 */
#include "util/text.h"

#include <stdint.h>

/* Decode the UTF-8 character at s[0] (a byte >= 0x80; n bytes left).
 * Returns its length and *cp, or 0 when it is not well formed. */
static size_t decode(const unsigned char *s, size_t n, uint32_t *cp)
{
    unsigned char c = s[0];
    size_t len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 0;
    if (len == 0 || c > 0xf4 || len > n)
        return 0;
    uint32_t v = c & (0x3fu >> (len - 1));
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        v = v << 6 | (s[i] & 0x3fu);
    }
    static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (v < min[len] || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return 0;
    *cp = v;
    return len;
}

static bool cp_refused(uint32_t cp)
{
    return (cp >= 0x80 && cp <= 0x9f) || cp == 0x2028 || cp == 0x2029 ||
           (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

size_t bo_text_check(const char *text, size_t len, unsigned flags)
{
    const unsigned char *s = (const unsigned char *)text;
    bool multi = flags & BO_TEXT_MULTILINE;
    for (size_t i = 0; i < len;) {
        unsigned char c = s[i];
        if (c < 0x80) {
            if ((c < 0x20 && !(multi && (c == '\n' || c == '\t'))) || c == 0x7f)
                return i;
            i++;
            continue;
        }
        uint32_t cp;
        size_t n = decode(s + i, len - i, &cp);
        if (n == 0 || cp_refused(cp))
            return i;
        i += n;
    }
    return len;
}

bool bo_utf8_valid(const char *text, size_t len)
{
    const unsigned char *s = (const unsigned char *)text;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t n = s[i] < 0x80 ? 1 : decode(s + i, len - i, &cp);
        if (n == 0)
            return false;
        i += n;
    }
    return true;
}
