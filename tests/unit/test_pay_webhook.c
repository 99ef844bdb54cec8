/*
 * test_pay_webhook.c - webhook signatures and bodies (src/pay/webhook.c):
 * our signer against an independent vector (openssl dgst -hmac), every way
 * a signature fails, malformed headers refused as such, and the ids each
 * event type carries.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boxoffice/error.h"
#include "boxoffice/pay.h"

#define SECRET "whsec_test_5f2b8c1e"
#define T      1767225600LL
#define TOL    BO_PAY_WEBHOOK_TOLERANCE_S
#define EVENT                                                                                      \
    "{\"id\":\"evt_1Abc\",\"object\":\"event\",\"type\":\"payment_intent.succeeded\","             \
    "\"created\":1767225600,\"data\":{\"object\":{\"id\":\"pi_3Xyz\",\"object\":"                  \
    "\"payment_intent\",\"metadata\":{\"order_id\":\"ord_00000000000000a1\"}}}}"
/* printf '%s' "1767225600.$EVENT" | openssl dgst -sha256 -hmac whsec_test_5f2b8c1e */
#define EVENT_V1 "1d7073b6d700178dc077ed7e4a939509a5b32c5ddc7e7117960b022dd2117c06"
#define OTHER_V1 "0d7073b6d700178dc077ed7e4a939509a5b32c5ddc7e7117960b022dd2117c06"

static int verify_at(const char *secret, const char *header, const char *payload, int64_t now)
{
    return bo_pay_webhook_verify(secret, header, header ? strlen(header) : 0, payload,
                                 strlen(payload), now, TOL);
}

static int verify(const char *header)
{
    return verify_at(SECRET, header, EVENT, T);
}

Test(webhook, signs_like_the_independent_vector)
{
    char sig[BO_PAY_WEBHOOK_SIG_MAX];
    cr_assert_eq(bo_pay_webhook_sign(SECRET, T, EVENT, strlen(EVENT), sig, sizeof(sig)), 0);
    cr_assert_str_eq(sig, "t=1767225600,v1=" EVENT_V1);
    cr_assert_eq(verify("t=1767225600,v1=" EVENT_V1), 0);
}

Test(webhook, own_signature_verifies_within_the_tolerance)
{
    const char *payload = "{\"id\":\"evt_2\",\"type\":\"charge.refunded\"}";
    char sig[BO_PAY_WEBHOOK_SIG_MAX];
    cr_assert_eq(bo_pay_webhook_sign("whsec_other", 42, payload, strlen(payload), sig, sizeof(sig)),
                 0);
    cr_assert_eq(verify_at("whsec_other", sig, payload, 42), 0);
    cr_assert_eq(verify_at("whsec_other", sig, payload, 42 + TOL), 0);
    cr_assert_eq(verify_at("whsec_other", sig, payload, 42 - TOL), 0);
    /* An empty body signs and verifies too. */
    cr_assert_eq(bo_pay_webhook_sign("k", 0, NULL, 0, sig, sizeof(sig)), 0);
    cr_assert_eq(bo_pay_webhook_verify("k", sig, strlen(sig), NULL, 0, 0, TOL), 0);
}

Test(webhook, sign_refuses_bad_arguments)
{
    char sig[BO_PAY_WEBHOOK_SIG_MAX];
    cr_assert_eq(bo_pay_webhook_sign("", T, "x", 1, sig, sizeof(sig)), BO_EINVAL);
    cr_assert_eq(bo_pay_webhook_sign(SECRET, -1, "x", 1, sig, sizeof(sig)), BO_EINVAL);
    /* "t=1767225600,v1=" + 64 hex + NUL is 81 bytes. */
    cr_assert_eq(bo_pay_webhook_sign(SECRET, T, "x", 1, sig, 80), BO_EINVAL);
    cr_assert_eq(bo_pay_webhook_sign(SECRET, T, "x", 1, sig, 81), 0);
}

Test(webhook, wrong_secret_or_payload_fails)
{
    cr_assert_eq(verify_at("whsec_test_5f2b8c1f", "t=1767225600,v1=" EVENT_V1, EVENT, T),
                 BO_ESIGNATURE);
    char changed[] = EVENT;
    changed[strlen(changed) - 5] = 'b'; /* ord_...a1 -> ord_...b1 */
    cr_assert_eq(verify_at(SECRET, "t=1767225600,v1=" EVENT_V1, changed, T), BO_ESIGNATURE);
    /* The payload with one byte less or more. */
    const char *h = "t=1767225600,v1=" EVENT_V1;
    cr_assert_eq(bo_pay_webhook_verify(SECRET, h, strlen(h), EVENT, strlen(EVENT) - 1, T, TOL),
                 BO_ESIGNATURE);
    cr_assert_eq(verify_at(SECRET, h, EVENT " ", T), BO_ESIGNATURE);
    /* The timestamp is signed: another t with the same v1 fails. */
    cr_assert_eq(verify("t=1767225601,v1=" EVENT_V1), BO_ESIGNATURE);
    cr_assert_eq(verify("t=1767225600,v1=" OTHER_V1), BO_ESIGNATURE);
}

Test(webhook, stale_or_future_timestamps_fail)
{
    const char *h = "t=1767225600,v1=" EVENT_V1;
    cr_assert_eq(verify_at(SECRET, h, EVENT, T + TOL), 0);
    cr_assert_eq(verify_at(SECRET, h, EVENT, T + TOL + 1), BO_ESIGNATURE);
    cr_assert_eq(verify_at(SECRET, h, EVENT, T - TOL), 0);
    cr_assert_eq(verify_at(SECRET, h, EVENT, T - TOL - 1), BO_ESIGNATURE);
    cr_assert_eq(verify_at(SECRET, h, EVENT, INT64_MIN), BO_ESIGNATURE);
    cr_assert_eq(verify_at(SECRET, h, EVENT, INT64_MAX), BO_ESIGNATURE);
    cr_assert_eq(bo_pay_webhook_verify(SECRET, h, strlen(h), EVENT, strlen(EVENT), T, -1),
                 BO_ESIGNATURE);
}

Test(webhook, any_matching_v1_is_enough_in_any_order)
{
    cr_assert_eq(verify("t=1767225600,v1=" OTHER_V1 ",v1=" EVENT_V1), 0);
    cr_assert_eq(verify("v1=" EVENT_V1 ",v1=" OTHER_V1 ",t=1767225600"), 0);
    cr_assert_eq(verify("v0=abc,t=1767225600,scheme=future,v1=" EVENT_V1), 0);
    cr_assert_eq(verify("t=1767225600, v1=" EVENT_V1 ","), 0);
    cr_assert_eq(verify("t=1767225600,v1=1D7073B6D700178DC077ED7E4A939509A5B32C5DDC7E7117960B022DD"
                        "2117C06"),
                 0);
    cr_assert_eq(verify("t=1767225600,v1=" OTHER_V1 ",v1=" OTHER_V1), BO_ESIGNATURE);
    cr_assert_eq(verify("t=1767225600,v0=" EVENT_V1 ",v1=" OTHER_V1), BO_ESIGNATURE);
}

Test(webhook, malformed_headers_are_invalid)
{
    const char *bad[] = {
        "",
        "garbage",
        "t=1767225600",
        "v1=" EVENT_V1,
        "t=1767225600,v0=" EVENT_V1,
        "t=,v1=" EVENT_V1,
        "t=abc,v1=" EVENT_V1,
        "t=-1767225600,v1=" EVENT_V1,
        "t=1767225600x,v1=" EVENT_V1,
        "t=1234567890123456789,v1=" EVENT_V1,
        "t=1767225600,t=1767225600,v1=" EVENT_V1,
        "t=1767225600,v1=" EVENT_V1 "00",
        "t=1767225600,v1=1d7073b6d700178dc077ed7e4a939509a5b32c5ddc7e7117960b022dd2117c0",
        "t=1767225600,v1=zd7073b6d700178dc077ed7e4a939509a5b32c5ddc7e7117960b022dd2117c06",
        "t=1767225600,v1=",
        "t=1767225600,v1" EVENT_V1,
        "t=1767225600,junk,v1=" EVENT_V1,
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_assert_eq(verify(bad[i]), BO_EINVAL, "header '%s'", bad[i]);
    cr_assert_eq(verify(NULL), BO_EINVAL);
    cr_assert_eq(verify_at("", "t=1767225600,v1=" EVENT_V1, EVENT, T), BO_EINVAL);
    cr_assert_eq(verify_at(NULL, "t=1767225600,v1=" EVENT_V1, EVENT, T), BO_EINVAL);
    /* A NUL inside the header's length is not the end of it. */
    static const char nul[] = "t=1767225600,v1=" EVENT_V1 "\0,v1=" OTHER_V1;
    cr_assert_eq(bo_pay_webhook_verify(SECRET, nul, sizeof(nul) - 1, EVENT, strlen(EVENT), T, TOL),
                 BO_EINVAL);
}

Test(webhook, overlong_header_is_invalid)
{
    size_t n = BO_PAY_WEBHOOK_HEADER_MAX + 1;
    char *h = malloc(n + 1);
    cr_assert_not_null(h);
    const char *good = "t=1767225600,v1=" EVENT_V1 ",";
    size_t g = strlen(good);
    memcpy(h, good, g);
    memset(h + g, 'x', n - g); /* one long unknown item without '=' */
    memcpy(h + g, "x=", 2);
    h[n] = '\0';
    cr_assert_eq(bo_pay_webhook_verify(SECRET, h, n, EVENT, strlen(EVENT), T, TOL), BO_EINVAL);
    /* The same at exactly the limit passes. */
    cr_assert_eq(bo_pay_webhook_verify(SECRET, h, n - 1, EVENT, strlen(EVENT), T, TOL), 0);
    free(h);
}

/* ---- parsing ------------------------------------------------------------ */

static bo_pay_event_t parse_ok(const char *json)
{
    bo_pay_event_t ev;
    cr_assert_eq(bo_pay_webhook_parse(json, strlen(json), &ev), 0, "%s", json);
    return ev;
}

static void parse_bad(const char *json)
{
    bo_pay_event_t ev;
    cr_assert_eq(bo_pay_webhook_parse(json, strlen(json), &ev), BO_EINVAL, "%s", json);
    cr_assert_str_eq(ev.id, "");
}

Test(webhook, parses_payment_intent_events)
{
    bo_pay_event_t ev = parse_ok(EVENT);
    cr_assert_str_eq(ev.id, "evt_1Abc");
    cr_assert_str_eq(ev.type, "payment_intent.succeeded");
    cr_assert_eq(ev.created, T);
    cr_assert_str_eq(ev.intent_id, "pi_3Xyz");
    cr_assert_str_eq(ev.order_id, "ord_00000000000000a1");

    ev = parse_ok("{\"type\":\"payment_intent.payment_failed\",\"id\":\"evt_9\",\"created\":5,"
                  "\"data\":{\"object\":{\"object\":\"payment_intent\",\"id\":\"pi_Fail\","
                  "\"payment_method\":null,\"last_payment_error\":{\"code\":\"card_declined\"},"
                  "\"metadata\":{}}},\"livemode\":false,\"pending_webhooks\":1}");
    cr_assert_str_eq(ev.id, "evt_9");
    cr_assert_str_eq(ev.type, "payment_intent.payment_failed");
    cr_assert_eq(ev.created, 5);
    cr_assert_str_eq(ev.intent_id, "pi_Fail");
    cr_assert_str_eq(ev.order_id, "");
}

Test(webhook, parses_charge_events)
{
    bo_pay_event_t ev = parse_ok(
        "{\"id\":\"evt_R\",\"type\":\"charge.refunded\",\"created\":1767225700,\"data\":{"
        "\"object\":"
        "{\"id\":\"ch_1\",\"object\":\"charge\",\"payment_intent\":\"pi_3Xyz\",\"refunded\":true,"
        "\"metadata\":{\"order_id\":\"ord_2\"}},\"previous_attributes\":{\"refunded\":false}}}");
    cr_assert_str_eq(ev.id, "evt_R");
    cr_assert_str_eq(ev.type, "charge.refunded");
    cr_assert_eq(ev.created, 1767225700);
    cr_assert_str_eq(ev.intent_id, "pi_3Xyz");
    cr_assert_str_eq(ev.order_id, "ord_2");

    /* An expanded payment_intent, and a charge without one. */
    ev =
        parse_ok("{\"id\":\"evt_E\",\"type\":\"charge.succeeded\",\"data\":{\"object\":{\"object\":"
                 "\"charge\",\"id\":\"ch_2\",\"payment_intent\":{\"id\":\"pi_Exp\"}}}}");
    cr_assert_str_eq(ev.intent_id, "pi_Exp");
    cr_assert_eq(ev.created, 0);
    ev =
        parse_ok("{\"id\":\"evt_N\",\"type\":\"charge.succeeded\",\"data\":{\"object\":{\"object\":"
                 "\"charge\",\"id\":\"ch_3\",\"payment_intent\":null}}}");
    cr_assert_str_eq(ev.intent_id, "");
}

Test(webhook, parses_other_events_without_ids)
{
    bo_pay_event_t ev = parse_ok("{\"id\":\"evt_C\",\"type\":\"customer.created\",\"data\":"
                                 "{\"object\":{\"id\":\"cus_1\",\"object\":\"customer\"}}}");
    cr_assert_str_eq(ev.type, "customer.created");
    cr_assert_str_eq(ev.intent_id, "");
    ev = parse_ok("{\"id\":\"evt_D\",\"type\":\"ping\"}");
    cr_assert_str_eq(ev.id, "evt_D");
    cr_assert_str_eq(ev.intent_id, "");
}

Test(webhook, refuses_bad_bodies)
{
    parse_bad("");
    parse_bad("not json");
    parse_bad("[]");
    parse_bad("{\"type\":\"payment_intent.succeeded\"}");
    parse_bad("{\"id\":\"evt_1\"}");
    parse_bad("{\"id\":7,\"type\":\"ping\"}");
    parse_bad("{\"id\":\"evt-1\",\"type\":\"ping\"}");
    parse_bad("{\"id\":\"\",\"type\":\"ping\"}");
    parse_bad("{\"id\":\"evt_1\",\"type\":\"Ping!\"}");
    parse_bad("{\"id\":\"evt_1\",\"type\":\"ping\",\"created\":\"soon\"}");
    parse_bad("{\"id\":\"evt_1\",\"id\":\"evt_2\",\"type\":\"ping\"}");
    parse_bad("{\"id\":\"evt_1\",\"type\":\"ping\"} trailing");
    parse_bad("{\"id\":\"evt_1\",\"type\":\"payment_intent.succeeded\",\"data\":{\"object\":"
              "{\"id\":\"pi/../x\",\"object\":\"payment_intent\"}}}");
    parse_bad("{\"id\":\"evt_1\",\"type\":\"payment_intent.succeeded\",\"data\":{\"object\":"
              "{\"object\":\"payment_intent\"}}}");
    parse_bad("{\"id\":\"evt_1\",\"type\":\"charge.refunded\",\"data\":{\"object\":"
              "{\"object\":\"charge\",\"payment_intent\":\"pi 1\"}}}");
    parse_bad("{\"id\":\"evt_1\",\"type\":\"charge.refunded\",\"data\":{\"object\":"
              "{\"object\":\"charge\",\"metadata\":{\"order_id\":\"ord;1\"}}}}");
    parse_bad("{\"id\":\"evt_1\",\"type\":\"charge.refunded\",\"data\":{\"object\":"
              "{\"object\":\"charge\",\"metadata\":{\"order_id\":12}}}}");
    parse_bad("{\"id\":\"evt_1\",\"type\":\"ping\",\"data\":[]}");
}

Test(webhook, bounds_id_length)
{
    char json[512], id[BO_PAY_ID_MAX + 1];
    memset(id, 'a', sizeof(id));
    id[BO_PAY_ID_MAX - 1] = '\0'; /* 95 characters: fits */
    snprintf(json, sizeof(json), "{\"id\":\"%s\",\"type\":\"ping\"}", id);
    cr_assert_str_eq(parse_ok(json).id, id);
    id[BO_PAY_ID_MAX - 1] = 'a';
    id[BO_PAY_ID_MAX] = '\0'; /* 96: too long */
    snprintf(json, sizeof(json), "{\"id\":\"%s\",\"type\":\"ping\"}", id);
    parse_bad(json);
}

/* An event whose data.object holds levels of nested arrays, so that the
 * whole body nests depth deep. */
static char *nested(int depth)
{
    int arrays = depth - 3;
    char *s = malloc((size_t)(2 * arrays) + 128);
    int n = sprintf(s, "{\"id\":\"evt_1\",\"type\":\"ping\",\"data\":{\"object\":{\"x\":");
    for (int i = 0; i < arrays; i++)
        s[n++] = '[';
    for (int i = 0; i < arrays; i++)
        s[n++] = ']';
    strcpy(s + n, "}}}");
    return s;
}

Test(webhook, bounds_depth_and_size)
{
    char *ok = nested(BO_PAY_WEBHOOK_DEPTH_MAX), *deep = nested(BO_PAY_WEBHOOK_DEPTH_MAX + 1);
    parse_ok(ok);
    parse_bad(deep);
    free(ok);
    free(deep);
    /* Brackets inside strings do not count. */
    parse_ok(
        "{\"id\":\"evt_1\",\"type\":\"ping\",\"note\":\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\\\""
        "[[[[[\"}");

    size_t n = BO_PAY_WEBHOOK_PAYLOAD_MAX + 1;
    char *big = malloc(n + 1);
    const char *head = "{\"id\":\"evt_1\",\"type\":\"ping\",\"pad\":\"";
    memcpy(big, head, strlen(head));
    memset(big + strlen(head), 'x', n - strlen(head) - 2);
    memcpy(big + n - 2, "\"}", 3);
    parse_bad(big);
    /* One byte less (shorter padding) is within the bound. */
    memcpy(big + n - 3, "\"}", 3);
    parse_ok(big);
    free(big);
}
