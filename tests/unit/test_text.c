/*
 * test_text.c - what outside text may hold (src/util/text.h) and how query
 * and path parameters decode (src/util/pct.c bo_pct_decode, whose
 * result the router then holds to bo_utf8_valid): every refused class of
 * character at its exact offset, the allowed neighbours of each, and
 * malformed UTF-8 of every kind.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "http/http_internal.h"
#include "util/pct.h"
#include "util/text.h"

static size_t check(const char *s, unsigned flags)
{
    return bo_text_check(s, strlen(s), flags);
}

Test(text, plain_and_international_names_pass)
{
    const char *ok[] = {
        "Ada Lovelace",
        "Zoë Ørsted-Šimić",
        "李小龍",
        "שלום\xe2\x80\x8f עולם",
        "\xd8\xb9\xd9\x84\xd9\x8a\xd8\xa7\xd8\xa1 \xd8\xa7\xd9\x84\xd8\xaf\xd9\x8a\xd9\x86",
        "🎟️ Gala",
        "a\xc2\xa0"
        "b" /* NBSP */,
        ""};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        cr_assert_eq(check(ok[i], 0), strlen(ok[i]), "%s should pass", ok[i]);
}

Test(text, c0_controls_del_and_c1_are_refused_where_they_are)
{
    cr_assert_eq(check("Ann\r\nBcc: x@y.z", 0), 3);
    cr_assert_eq(check("Ann\nB", 0), 3);
    cr_assert_eq(check("\x1b[31mred", 0), 0);
    cr_assert_eq(check("tab\there", 0), 3);
    cr_assert_eq(check("del\x7f", 0), 3);
    cr_assert_eq(check("c1\xc2\x85x", 0), 2); /* U+0085 NEL */
    cr_assert_eq(check("c1\xc2\x9bx", 0), 2); /* U+009B CSI */
    cr_assert_eq(check("ok\xc2\xa0x", 0), 5); /* U+00A0 is not C1 */
    const char nul[] = {'a', '\0', 'b'};
    cr_assert_eq(bo_text_check(nul, 3, 0), 1);
}

Test(text, separators_and_bidi_overrides_are_refused_marks_allowed)
{
    cr_assert_eq(check("a\xe2\x80\xa8"
                       "b",
                       0),
                 1); /* U+2028 */
    cr_assert_eq(check("a\xe2\x80\xa9"
                       "b",
                       0),
                 1);                            /* U+2029 */
    cr_assert_eq(check("x\xe2\x80\xaa", 0), 1); /* U+202A LRE */
    cr_assert_eq(check("x\xe2\x80\xae"
                       "cod.exe",
                       0),
                 1);                            /* U+202E RLO */
    cr_assert_eq(check("x\xe2\x81\xa6", 0), 1); /* U+2066 LRI */
    cr_assert_eq(check("x\xe2\x81\xa9", 0), 1); /* U+2069 PDI */
    cr_assert_eq(check("x\xe2\x80\x8e"
                       "y",
                       0),
                 5);                            /* U+200E LRM: allowed */
    cr_assert_eq(check("x\xe2\x81\xa5", 0), 4); /* U+2065 (unassigned, not a control) */
}

Test(text, multiline_allows_lf_and_tab_only)
{
    cr_assert_eq(check("line one\nline\ttwo", BO_TEXT_MULTILINE), 17);
    cr_assert_eq(check("line one\r\nline two", BO_TEXT_MULTILINE), 8);
    cr_assert_eq(check("bell\a", BO_TEXT_MULTILINE), 4);
    cr_assert_eq(check("x\xe2\x80\xa8", BO_TEXT_MULTILINE), 1);
}

Test(text, malformed_utf8_is_refused)
{
    const char *bad[] = {"\x80",         "a\xbf",        "\xc0\xaf",         "\xc1\xbf",
                         "\xe0\x80\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xf5\x80\x80\x80",
                         "\xe2\x82",     "\xf0\x9f\x8e", "\xc3\x28",         "\xff"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        size_t n = strlen(bad[i]);
        cr_assert_eq(bo_text_check(bad[i], n, 0), bad[i][0] == 'a' ? 1u : 0u, "case %zu", i);
        cr_assert(!bo_utf8_valid(bad[i], n), "case %zu should be invalid", i);
    }
    cr_assert(bo_utf8_valid("\xf4\x8f\xbf\xbf", 4)); /* U+10FFFF */
    cr_assert(bo_utf8_valid("\xef\xbf\xbf", 3));     /* U+FFFF */
    cr_assert(bo_utf8_valid("a\0b", 3));             /* NUL is UTF-8; the decoder refuses it */
}

static int decode(const char *in, char *out, int plus)
{
    size_t n;
    return bo_pct_decode(in, strlen(in), out, strlen(in), &n, plus ? BO_PCT_PLUS : 0) ? -1 : (int)n;
}

Test(query, percent_decoding_refuses_nul_and_bad_escapes)
{
    char out[64];
    cr_assert_eq(decode("zzz", out, 1), 3);
    cr_assert_eq(decode("a+b%20c", out, 1), 5);
    cr_assert_str_eq(out, "a b c");
    cr_assert_eq(decode("a+b", out, 0), 3);
    cr_assert_str_eq(out, "a+b");
    cr_assert_eq(decode("zzz%00", out, 1), -1);
    cr_assert_eq(decode("%", out, 1), -1);
    cr_assert_eq(decode("%4", out, 1), -1);
    cr_assert_eq(decode("%zz", out, 1), -1);
    cr_assert_eq(decode("%C3%A9", out, 1), 2);
    cr_assert(bo_utf8_valid(out, 2));
    cr_assert_eq(decode("%FF", out, 1), 1);
    cr_assert(!bo_utf8_valid(out, 1), "decodes, but the router refuses it as UTF-8");
}
