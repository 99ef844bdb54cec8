/*
 * test_redact.c - the access log's request targets (src/http/redact.c):
 * hold ids in paths and query values, percent-encoded or not, become their
 * event and a tag; secret-like query parameters become "[redacted]";
 * everything else is copied as it is; the output never passes its cap and
 * never holds part of a replacement.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "http/redact.h"

static const unsigned char key[BO_REDACT_KEY_BYTES] = "0123456789abcdef";
static const unsigned char key2[BO_REDACT_KEY_BYTES] = "fedcba9876543210";

#define EVENT "00000000000000a1"
#define HOLD  "hold_" EVENT "0123456789abcdef0123456789abcdef"

/* The redacted form of in (NUL-terminated), with cap bytes of room. */
static const char *redact_cap(const char *in, size_t cap, const unsigned char *k)
{
    static char out[1024];
    cr_assert(cap < sizeof(out));
    memset(out, '#', sizeof(out));
    size_t n = bo__redact_target(in, strlen(in), out, cap, k);
    cr_assert_leq(n, cap);
    cr_assert_eq(out[cap], '#', "nothing written past the cap");
    out[n] = '\0';
    return out;
}

static const char *redact(const char *in)
{
    return redact_cap(in, 512, key);
}

/* The tag of HOLD under key, as the first redaction shows it. */
static void tag_of(const char *in, char *tag)
{
    const char *r = strchr(redact(in), '~');
    cr_assert_not_null(r);
    memcpy(tag, r + 1, BO_REDACT_TAG_HEX);
    tag[BO_REDACT_TAG_HEX] = '\0';
}

Test(redact, targets_without_capabilities_are_copied_as_they_are)
{
    static const char *const same[] = {
        "/healthz",
        "/api/v1/events?q=lyon&limit=20&cursor=abc",
        "/api/v1/orders/ord_00000000000000a1/tickets/tkt_00000000000000b2/qr.svg",
        "/api/v1/events/evt_00000000000000a1/staff-tokens/stt_0011223344556677",
        "/a/%41%42/?q=%00zzz&x",
        "/",
        "",
        "/api/v1/holds/hold_", /* nothing after the prefix: no id */
        "?",
        "/holds?&&=",
    };
    for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++)
        cr_assert_str_eq(redact(same[i]), same[i]);
}

Test(redact, a_hold_id_in_a_path_becomes_its_event_and_a_tag)
{
    char tag[BO_REDACT_TAG_HEX + 1], want[256];
    tag_of("/api/v1/holds/" HOLD, tag);
    for (size_t i = 0; i < BO_REDACT_TAG_HEX; i++)
        cr_assert(strchr("0123456789abcdef", tag[i]), "tag %s is hex", tag);
    snprintf(want, sizeof(want), "/api/v1/holds/hold_" EVENT "~%s/checkout", tag);
    cr_assert_str_eq(redact("/api/v1/holds/" HOLD "/checkout"), want);
    cr_assert_null(strstr(redact("/api/v1/holds/" HOLD), "0123456789abcdef0123"));
    /* the same hold, the same tag; another hold, or another key, another tag */
    char again[BO_REDACT_TAG_HEX + 1], other[BO_REDACT_TAG_HEX + 1];
    tag_of("/x/" HOLD, again);
    cr_assert_str_eq(again, tag);
    tag_of("/x/hold_" EVENT "0123456789abcdef0123456789abcdee", other);
    cr_assert_str_neq(other, tag);
    const char *r = strchr(redact_cap("/x/" HOLD, 512, key2), '~');
    cr_assert_not_null(r);
    cr_assert_neq(strncmp(r + 1, tag, BO_REDACT_TAG_HEX), 0, "the tag depends on the key");
}

Test(redact, encoded_or_odd_hold_ids_are_redacted_too)
{
    char tag[BO_REDACT_TAG_HEX + 1], want[256];
    tag_of("/" HOLD, tag);
    /* percent-encoded letters decode to the same id: the same tag */
    snprintf(want, sizeof(want), "/api/v1/holds/hold_" EVENT "~%s", tag);
    cr_assert_str_eq(redact("/api/v1/holds/%68old_" EVENT "0123456789abcdef0123456789abcdef"),
                     want);
    cr_assert_str_eq(redact("/api/v1/holds/hold_" EVENT "%30123456789abcdef0123456789abcdef"),
                     want);
    /* upper case, a short or a long id: whatever follows "hold_" is hidden */
    const char *up = redact("/api/v1/holds/HOLD_00000000000000A1FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF");
    cr_assert_eq(strncmp(up, "/api/v1/holds/hold_00000000000000A1~", 36), 0, "%s", up);
    cr_assert_eq(strlen(up), 36 + BO_REDACT_TAG_HEX, "%s", up);
    cr_assert_null(strstr(redact("/api/v1/holds/hold_abc123secretpart"), "secretpart"));
    cr_assert_eq(strncmp(redact("/api/v1/holds/hold_abc123secretpart"), "/api/v1/holds/hold_~", 20),
                 0, "no event part when the id has none");
}

Test(redact, secret_like_query_values_are_redacted)
{
    cr_assert_str_eq(redact("/api/v1/orders/ord_00000000000000a1?secret=s3cr3t"),
                     "/api/v1/orders/ord_00000000000000a1?secret=[redacted]");
    cr_assert_str_eq(redact("/x?format=svg&secret=abc&limit=5"),
                     "/x?format=svg&secret=[redacted]&limit=5");
    cr_assert_str_eq(redact("/x?token=a&access_token=b&api_key=c&password=d&sig=e&Authorization=f"),
                     "/x?token=[redacted]&access_token=[redacted]&api_key=[redacted]"
                     "&password=[redacted]&sig=[redacted]&Authorization=[redacted]");
    /* an encoded name is still that name */
    cr_assert_str_eq(redact("/x?%73ecret=abc&SECRET=def"),
                     "/x?%73ecret=[redacted]&SECRET=[redacted]");
    cr_assert_str_eq(redact("/x?secret="), "/x?secret=[redacted]");
    /* a waiting-room ticket is its visitor's capability */
    cr_assert_str_eq(redact("/api/v1/events/e/queue?ticket=qt_0000000112345678"),
                     "/api/v1/events/e/queue?ticket=[redacted]");
    /* a hold id as a query value */
    char tag[BO_REDACT_TAG_HEX + 1], want[256];
    tag_of("/" HOLD, tag);
    snprintf(want, sizeof(want), "/x?hold=hold_" EVENT "~%s&q=1", tag);
    cr_assert_str_eq(redact("/x?hold=" HOLD "&q=1"), want);
}

Test(redact, the_cap_cuts_plain_text_but_never_a_replacement)
{
    cr_assert_str_eq(redact_cap("/api/v1/events", 7, key), "/api/v1");
    /* "/x?secret=" fits in 10 bytes, "[redacted]" does not: left out whole */
    cr_assert_str_eq(redact_cap("/x?secret=abcdef&q=1", 14, key), "/x?secret=");
    const char *r = redact_cap("/holds/" HOLD, 20, key);
    cr_assert_str_eq(r, "/holds/");
    cr_assert_str_eq(redact_cap("/holds/" HOLD, 0, key), "");
    /* a long target: cut at the cap, no hold id in clear */
    char in[2048];
    size_t n = 0;
    while (n + 70 < sizeof(in))
        n += (size_t)snprintf(in + n, sizeof(in) - n, "/%s", HOLD);
    r = redact_cap(in, 512, key);
    cr_assert_null(strstr(r, "0123456789abcdef0123456789abcdef"));
    cr_assert_leq(strlen(r), 512);
}
