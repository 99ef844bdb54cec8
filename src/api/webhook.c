/*
 * webhook.c - POST /api/v1/payments/webhook: the gateway's signed events
 * (payment_intent.succeeded, payment_intent.payment_failed,
 * charge.refunded).
 *
 * Nothing in a webhook's payload is trusted but its signature and its
 * ids: the signature (Stripe-Signature, HMAC-SHA256 over "t.payload",
 * at most BO_PAY_WEBHOOK_TOLERANCE_S old) is checked on the loop, then a
 * worker asks the gateway for the intent's state and settles the order
 * (settle.c). Events are deduplicated by their id, remembered durably once
 * processed; a duplicate, or one arriving out of order, settles nothing
 * twice anyway, since settling follows the gateway's current state and
 * each order step is idempotent. The answer (200) is sent only once the
 * outcome is durable, so a gateway whose delivery failed retries. An event
 * for an order that has a step running is not waited for: it answers 503
 * BUSY with Retry-After at once and the gateway delivers it again (order.h
 * "one step per order at a time").
 *
 * Workload: one or two webhooks per order, on their own worker pool
 * (jobs.c "hook"), so they never queue behind buyers' payment steps.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/order.h"
#include "boxoffice/u64map.h"

/* Event ids remembered, at most (docs/architecture.md "Bounds"): past it
 * the oldest is forgotten, and a redelivery of that event is processed
 * again, which is harmless (settling follows the gateway's state). The
 * gateway retries an event for days, one delivery an hour at most at the
 * end: 65,536 ids cover days of traffic of a box office. 512 KB + map. */
#define SEEN_MAX 65536u

struct bo_webhooks_seen {
    bo_u64map_t ids;
    uint64_t ring[SEEN_MAX]; /* in the order remembered */
    uint32_t next, n;
    uint32_t max; /* SEEN_MAX, or less: the test knob BOXOFFICE_WEBHOOK_IDS_MAX */
};

static uint32_t seen_max(void)
{
    const char *v = getenv("BOXOFFICE_WEBHOOK_IDS_MAX");
    char *end;
    unsigned long n = v ? strtoul(v, &end, 10) : 0;
    return v && *v && !*end && n > 0 && n < SEEN_MAX ? (uint32_t)n : SEEN_MAX;
}

static uint64_t id_key(const char *id)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a: ids are the gateway's, signed */
    for (const char *p = id; *p; p++)
        h = (h ^ (uint8_t)*p) * 1099511628211ull;
    return h ? h : 1;
}

bool bo__webhook_seen(bo_api_t *api, const char *event_id)
{
    pthread_mutex_lock(&api->webhooks_mu);
    bool seen = api->webhooks_seen && bo_u64map_get(&api->webhooks_seen->ids, id_key(event_id));
    pthread_mutex_unlock(&api->webhooks_mu);
    return seen;
}

int bo__webhook_remember(bo_api_t *api, const char *event_id)
{
    int rc = 0;
    uint64_t key = id_key(event_id);
    pthread_mutex_lock(&api->webhooks_mu);
    struct bo_webhooks_seen *s = api->webhooks_seen;
    if (!s && (s = api->webhooks_seen = calloc(1, sizeof(*s))))
        s->max = seen_max();
    if (!s)
        rc = BO_ENOMEM;
    if (rc == 0 && !bo_u64map_get(&s->ids, key)) {
        if (s->n == s->max) /* the oldest goes */
            bo_u64map_del(&s->ids, s->ring[s->next]);
        if (bo_u64map_put(&s->ids, key, (void *)1)) {
            rc = BO_ENOMEM;
            if (s->n == s->max) /* its slot is empty now */
                s->n--;
        } else {
            s->ring[s->next] = key;
            s->next = (s->next + 1) % s->max;
            s->n += s->n < s->max;
        }
    }
    assert(!s || s->ids.n == s->n);
    pthread_mutex_unlock(&api->webhooks_mu);
    return rc;
}

static void seen_free(void *arg)
{
    bo_api_t *api = arg;
    if (api->webhooks_seen)
        bo_u64map_free(&api->webhooks_seen->ids);
    free(api->webhooks_seen);
    api->webhooks_seen = NULL;
}

typedef struct delivery {
    bo_api_t *api;
    bo_http_async_t *a;
    bo_pay_event_t ev;
    bo_order_t *order; /* its step flag taken; NULL: no order of ours */
} delivery_t;

static void answer(delivery_t *d, int status, const char *outcome)
{
    bo_idem_t none = {0};
    char body[256];
    int n = snprintf(body, sizeof(body), "{\"received\":true,\"id\":\"%s\",\"outcome\":\"%s\"}",
                     d->ev.id, outcome);
    if (status != 200) {
        bo__idem_reply_error(d->api, &none, d->a, BO_EGATEWAY,
                             "the gateway could not be asked: deliver again later", NULL);
        return;
    }
    bo__idem_reply(d->api, &none, d->a, 200, strdup(body), (size_t)n, NULL, true);
}

/* Remember the event durably (after its effects committed). */
static int remember(bo_api_t *api, const bo_pay_event_t *ev)
{
    char body[160];
    snprintf(body, sizeof(body), "{\"type\":\"%s\",\"created\":%lld}", ev->type,
             (long long)ev->created);
    int rc = bo__doc_save(api, "webhook", ev->id, strdup(body), strlen(body));
    return rc ? rc : bo__webhook_remember(api, ev->id);
}

/* The order the event names (its intent's, checked under its lock). */
static bo_order_t *order_of(bo_api_t *api, const bo_pay_event_t *ev)
{
    uint64_t id;
    bo_order_t *o = NULL;
    if (ev->order_id[0] && bo_id_parse_order(ev->order_id, &id) == 0)
        o = bo__order_find(api, id);
    return o ? o : bo__order_by_intent(api, ev->intent_id); /* pinned */
}

static void deliver_job(void *arg)
{
    delivery_t *d = arg;
    bo_api_t *api = d->api;
    bo_order_t *o = d->order;
    const char *outcome = "ignored";
    int rc = 0;
    if (o) {
        bo__order_lock(api, o);
        /* the order must be the intent's: ids in a payload are not trusted */
        if (strcmp(o->intent_id, d->ev.intent_id) == 0) {
            rc = bo__settle_fetch(api, o);
            if (rc == 0 && o->status == BO_ORDER_REFUND_PENDING)
                rc = bo__order_refund_finish(api, o);
            outcome = bo__order_status_name(o->status);
        }
        bo__order_unlock(o);
        bo__order_background_done(o);
        bo__order_put(api, o);
    }
    if (rc == 0)
        rc = remember(api, &d->ev);
    answer(d, rc == 0 ? 200 : 503, outcome);
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
    int rc = bo_pay_webhook_verify(api->webhook_secret, sig, hlen, payload, len, time(NULL),
                                   BO_PAY_WEBHOOK_TOLERANCE_S);
    if (rc)
        return bo_http_send_error(
            r, BO_ESIGNATURE,
            rc == BO_EINVAL ? "the Stripe-Signature header is malformed"
                            : "the signature does not verify, or its timestamp is too old",
            json_pack("{ss}", "field", "Stripe-Signature"));
    delivery_t *d = calloc(1, sizeof(*d));
    if (!d)
        return BO_ENOMEM;
    d->api = api;
    if (bo_pay_webhook_parse(payload, len, &d->ev)) {
        free(d);
        return bo_http_send_error(r, BO_EINVAL, "the payload is not a gateway event", NULL);
    }
    if (bo__webhook_seen(api, d->ev.id)) {
        json_t *j = json_pack("{sbssss}", "received", 1, "id", d->ev.id, "outcome", "duplicate");
        free(d);
        return bo_http_send_json(r, 200, j);
    }
    if ((d->order = order_of(api, &d->ev)) && !bo__order_background_try(d->order)) {
        bo__order_put(api, d->order);
        free(d);
        return bo_http_send_error(r, BO_EBUSY,
                                  "a step of this order is in progress: deliver the event again",
                                  NULL); /* 503 with Retry-After */
    }
    if (!(d->a = bo_http_async_begin(r))) {
        if (d->order) {
            bo__order_background_done(d->order);
            bo__order_put(api, d->order);
        }
        free(d);
        return BO_ENOMEM;
    }
    if ((rc = bo__job(api, BO_POOL_HOOK, deliver_job, d))) {
        bo_http_send_error(r, rc, NULL, NULL);
        bo_http_async_finish(d->a, NULL, NULL);
        if (d->order) {
            bo__order_background_done(d->order);
            bo__order_put(api, d->order);
        }
        free(d);
    }
    return 0;
}

int bo__webhook_register(bo_api_t *api)
{
    int rc = bo_server_at_free(api->srv, seen_free, api);
    if (rc)
        return rc;
    return bo_server_route_max_body(api->srv, "POST", "/api/v1/payments/webhook", on_webhook, api,
                                    BO_PAY_WEBHOOK_PAYLOAD_MAX);
}
