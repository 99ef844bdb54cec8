/*
 * fuzz_webhook.c - libFuzzer harness for the webhook verifier and parser
 * (src/pay/webhook.c). The input is "<Stripe-Signature value>\n<body>": the
 * header goes to bo_pay_webhook_verify as is (not NUL-terminated, so an
 * over-read shows), the body to bo_pay_webhook_parse. Beyond not crashing:
 * each call answers one of its documented codes, our own signature over the
 * body always verifies, and a parsed event holds only well-formed ids.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "boxoffice/error.h"
#include "boxoffice/pay.h"

#define SECRET "whsec_fuzz"
#define NOW    1767225600LL

static int id_ok(const char *s, size_t cap, int may_be_empty)
{
    size_t n = strnlen(s, cap);
    if (n == cap || (n == 0 && !may_be_empty))
        return 0;
    return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data;
    const char *nl = memchr(in, '\n', size);
    size_t hlen = nl ? (size_t)(nl - in) : size;
    const char *body = nl ? nl + 1 : in + size;
    size_t blen = size - hlen - (nl ? 1 : 0);

    int rc = bo_pay_webhook_verify(SECRET, in, hlen, body, blen, NOW, BO_PAY_WEBHOOK_TOLERANCE_S);
    if (rc != 0 && rc != BO_EINVAL && rc != BO_ESIGNATURE)
        abort();

    char sig[BO_PAY_WEBHOOK_SIG_MAX];
    if (bo_pay_webhook_sign(SECRET, NOW, body, blen, sig, sizeof(sig)) ||
        bo_pay_webhook_verify(SECRET, sig, strlen(sig), body, blen, NOW, 0))
        abort();

    bo_pay_event_t ev;
    rc = bo_pay_webhook_parse(body, blen, &ev);
    if (rc == 0) {
        if (!id_ok(ev.id, sizeof(ev.id), 0) || !id_ok(ev.intent_id, sizeof(ev.intent_id), 1) ||
            !id_ok(ev.order_id, sizeof(ev.order_id), 1) || strnlen(ev.type, sizeof(ev.type)) == 0 ||
            strnlen(ev.type, sizeof(ev.type)) == sizeof(ev.type))
            abort();
    } else if (rc != BO_EINVAL) {
        abort();
    }
    return 0;
}
