/*
 * webhook.c - POST /api/v1/payments/webhook: the gateway's signed events,
 * verified here on the loop (Stripe-Signature, HMAC-SHA256 over
 * "t.payload", at most BO_PAY_WEBHOOK_TOLERANCE_S old), then handed to the
 * order domain (src/order/webhook.c), which settles the order and answers
 * once the outcome is durable.
 *
 * Workload: one or two webhooks per order, on the domain's hook pool.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_internal.h"

typedef struct delivery {
    bo_api_t *api;
    bo_http_async_t *a;
    char id[BO_PAY_ID_MAX];
} delivery_t;

/* The domain's outcome (on a worker), then d is freed. */
static void delivered(void *arg, bo_order_answer_t *ans)
{
    delivery_t *d = arg;
    bo_idem_t none = {0};
    BO_ASSERT(d->a != NULL && (ans->err < 0 || (ans->err == 0 && ans->message != NULL)));
    char body[256];
    if (ans->err) {
        bo__idem_reply_error(d->api, &none, d->a, BO_EGATEWAY, ans->message, NULL);
    } else {
        int n = snprintf(body, sizeof(body), "{\"received\":true,\"id\":\"%s\",\"outcome\":\"%s\"}",
                         d->id, ans->message);
        BO_ASSERT(n > 0 && (size_t)n < sizeof(body)); /* an id of BO_PAY_ID_MAX, a status */
        bo__idem_reply(d->api, &none, d->a, 200, strdup(body), (size_t)n, NULL, true);
    }
    free(d);
}

static int on_webhook(void *arg, bo_http_req_t *r)
{
    bo_api_t *api = arg;
    size_t len, hlen;
    const char *payload = bo_http_body(r, &len);
    const char *sig = bo_http_header(r, "stripe-signature", &hlen);
    if (!api->webhook_secret)
        return bo_http_send_error(r, BO_EGATEWAY, "webhooks are not configured", NULL);
    if (!sig)
        return bo_http_send_error(r, BO_ESIGNATURE, "no Stripe-Signature header",
                                  json_pack("{ss}", "field", "Stripe-Signature"));
    int rc = bo_pay_webhook_verify(api->webhook_secret, sig, hlen, payload, len,
                                   bo_live_now_ms(api->live) / 1000, BO_PAY_WEBHOOK_TOLERANCE_S);
    if (rc)
        return bo_http_send_error(
            r, BO_ESIGNATURE,
            rc == BO_EINVAL ? "the Stripe-Signature header is malformed"
                            : "the signature does not verify, or its timestamp is too old",
            json_pack("{ss}", "field", "Stripe-Signature"));
    bo_pay_event_t ev;
    bo_order_step_t *st;
    if (bo_pay_webhook_parse(payload, len, &ev))
        return bo_http_send_error(r, BO_EINVAL, "the payload is not a gateway event", NULL);
    if ((rc = bo_order_webhook_step(api->orders, &ev, &st)) == 1) {
        json_t *j = json_pack("{sbssss}", "received", 1, "id", ev.id, "outcome", "duplicate");
        return bo_http_send_json(r, 200, j);
    }
    if (rc == BO_EBUSY)
        return bo_http_send_error(r, BO_EBUSY,
                                  "a step of this order is in progress: deliver the event again",
                                  NULL); /* 503 with Retry-After */
    if (rc)
        return rc;
    delivery_t *d = calloc(1, sizeof(*d));
    if (!d || !(d->a = bo_http_async_begin(r))) {
        bo_order_step_drop(st);
        free(d);
        return BO_ENOMEM;
    }
    d->api = api;
    snprintf(d->id, sizeof(d->id), "%s", ev.id);
    if ((rc = bo_order_step_run(st, delivered, d))) {
        bo_http_send_error(r, rc, NULL, NULL);
        bo_http_async_finish(d->a, NULL, NULL);
        bo_order_step_drop(st);
        free(d);
    }
    return 0;
}

int bo__webhook_register(bo_api_t *api)
{
    return bo_server_route_max_body(api->srv, "POST", "/api/v1/payments/webhook", on_webhook, api,
                                    BO_PAY_WEBHOOK_PAYLOAD_MAX);
}
