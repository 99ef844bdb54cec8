/*
 * webhook.c - the gateway's events (payment_intent.succeeded,
 * payment_intent.payment_failed, charge.refunded) as the order domain
 * takes them, once src/api/webhook.c verified their signature.
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
 * BUSY with Retry-After at once and the gateway delivers it again (order_internal.h
 * "one step per order at a time").
 *
 * Workload: one or two webhooks per order, on their own worker pool
 * (jobs.c "hook"), so they never queue behind buyers' payment steps.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "order/order_internal.h"
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

bool bo__order_webhook_seen(bo_orders_t *os, const char *event_id)
{
    BO_ASSERT(event_id != NULL);
    pthread_mutex_lock(&os->webhooks_mu);
    bool seen = os->webhooks_seen && bo_u64map_get(&os->webhooks_seen->ids, id_key(event_id));
    pthread_mutex_unlock(&os->webhooks_mu);
    return seen;
}

int bo__order_webhook_remember(bo_orders_t *os, const char *event_id)
{
    int rc = 0;
    uint64_t key = id_key(event_id);
    pthread_mutex_lock(&os->webhooks_mu);
    struct bo_webhooks_seen *s = os->webhooks_seen;
    if (!s && (s = os->webhooks_seen = calloc(1, sizeof(*s))))
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
    BO_ASSERT(!s || (s->ids.n == s->n && s->n <= s->max && s->next < s->max));
    pthread_mutex_unlock(&os->webhooks_mu);
    return rc;
}

void bo__order_webhooks_free(bo_orders_t *os)
{
    if (os->webhooks_seen)
        bo_u64map_free(&os->webhooks_seen->ids);
    free(os->webhooks_seen);
    os->webhooks_seen = NULL;
}

/* Remember the event durably (after its effects committed). */
static int remember(bo_orders_t *os, const bo_pay_event_t *ev)
{
    char body[160];
    snprintf(body, sizeof(body), "{\"type\":\"%s\",\"created\":%lld}", ev->type,
             (long long)ev->created);
    int rc = bo__order_doc_save(os, "webhook", ev->id, strdup(body), strlen(body));
    return rc ? rc : bo__order_webhook_remember(os, ev->id);
}

/* The order the event names (its intent's, checked under its lock). */
static bo_order_t *order_of(bo_orders_t *os, const bo_pay_event_t *ev)
{
    uint64_t id;
    bo_order_t *o = NULL;
    if (ev->order_id[0] && bo_id_parse_order(ev->order_id, &id) == 0)
        o = bo__order_find(os, id);
    return o ? o : bo__order_by_intent(os, ev->intent_id); /* pinned */
}

static void deliver_job(void *arg)
{
    bo_order_step_t *s = arg;
    bo_orders_t *os = s->os;
    bo_order_t *o = s->order;
    const char *outcome = "ignored";
    int rc = 0;
    BO_ASSERT(s->background == (o != NULL)); /* its flag taken by bo_order_webhook_step */
    if (o) {
        bo__order_lock(os, o);
        /* the order must be the intent's: ids in a payload are not trusted */
        if (strcmp(o->intent_id, s->ev.intent_id) == 0) {
            rc = bo__order_settle_fetch(os, o);
            if (rc == 0 && o->status == BO_ORDER_REFUND_PENDING)
                rc = bo__order_refund_finish(os, o);
            outcome = bo__order_status_name(o->status);
        }
        bo__order_unlock(o);
        bo__order_background_done(o);
        s->background = false;
    }
    if (rc == 0)
        rc = remember(os, &s->ev);
    bo_order_answer_t a = {.status = 200, .message = outcome};
    if (rc)
        a = (bo_order_answer_t){.err = BO_EGATEWAY,
                                .message = "the gateway could not be asked: deliver again later"};
    s->done(s->done_arg, &a);
    bo_order_step_drop(s); /* the pin */
}

int bo_order_webhook_step(bo_orders_t *os, const bo_pay_event_t *ev, bo_order_step_t **out)
{
    BO_ASSERT(os != NULL && ev != NULL && out != NULL);
    if (bo__order_webhook_seen(os, ev->id))
        return 1;
    bo_order_step_t *s = bo__order_step_new(os, BO_ORDER_STEP_CONFIRM);
    if (!s)
        return BO_ENOMEM;
    s->ev = *ev;
    if ((s->order = order_of(os, ev)) && !bo__order_background_try(s->order)) {
        bo_order_step_drop(s);
        return BO_EBUSY;
    }
    s->background = s->order != NULL;
    s->pool = BO_ORDER_POOL_HOOK;
    s->job = deliver_job;
    *out = s;
    return 0;
}
