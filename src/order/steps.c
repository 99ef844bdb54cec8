/*
 * steps.c - a buyer's steps of an order (boxoffice/order.h "steps"):
 * checkout (a hold becomes an order; the gateway's intent when asked),
 * confirm (a payment attempt, or the gateway asked again), cancel (released
 * or refunded by policy) and a checkout abandoned by its hold's DELETE.
 *
 * The gateway's intent is made at the order's first payment attempt: a
 * confirm with a card, or a checkout that asks for it ("create_intent",
 * for a browser that confirms at the gateway with the client secret). A
 * checkout abandoned before paying never reaches the gateway, then or later
 * (the reconciler asks nothing about an order without an intent).
 *
 * Workload: see order_internal.h. The API's handlers check what they can on
 * the loop (ids, credentials, bodies, the client's card attempts) and take
 * the order's step flag (bo_order_step); the step runs on a worker of the
 * pay pool and answers through done once it is durable.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "order/order_internal.h"
#include "util/time.h"

/* ---- a step's life ------------------------------------------------------------ */

bo_order_step_t *bo__order_step_new(bo_orders_t *os, enum bo_order_step_kind kind)
{
    bo_order_step_t *s = calloc(1, sizeof(*s));
    if (s) {
        s->os = os;
        s->kind = kind;
    }
    return s;
}

/* As a step answers (its order locked; nothing slow left before its
 * unlock): the order's flag is given back first, so that the client's next
 * step, sent as soon as it reads this answer, finds the order free; and
 * readers see the outcome, not the state before the step. */
static void step_release(bo_order_step_t *s)
{
    if (!s->flagged)
        return;
    BO_ASSERT(s->order != NULL && bo_mutex_held(&s->order->mu));
    bo__order_unpublish(s->order);
    bo__order_step_done(s->order);
    s->flagged = false;
}

void bo__order_answer(bo_order_step_t *s, bo_order_t *o, int status)
{
    bo_order_answer_t a = {.status = status, .order = o ? o->id : 0};
    BO_ASSERT(status == 200 || status == 201 || status == 204); /* order.h: a success */
    BO_ASSERT(s->done != NULL && (!o || bo_mutex_held(&o->mu)));
    if (o && status != 204 && !(a.body = bo__order_render(s->os, o, true, &a.len))) {
        a.status = 0;
        a.err = BO_ENOMEM;
    }
    step_release(s);
    s->done(s->done_arg, &a);
}

void bo__order_refuse(bo_order_step_t *s, int err, const char *message, json_t *details)
{
    bo_order_answer_t a = {.err = err, .message = message, .details = details};
    BO_ASSERT(s->done != NULL && err < 0); /* a refusal is a BO_E* code */
    if (s->order)
        a.order = s->order->id;
    step_release(s);
    s->done(s->done_arg, &a);
}

static json_t *order_ref(const bo_order_t *o)
{
    char id[BO_ID_ORDER_LEN + 1];
    bo_id_order(id, o->id);
    return json_pack("{ssss}", "order_id", id, "status", bo__order_status_name(o->status));
}

void bo_order_step_drop(bo_order_step_t *s)
{
    /* a flag belongs to an order; the pin goes after the unlock (put may
     * free the order) */
    BO_ASSERT(s != NULL && (s->order || (!s->flagged && !s->background)));
    BO_ASSERT(!s->order || !bo_mutex_held(&s->order->mu));
    if (s->flagged)
        bo__order_step_done(s->order);
    if (s->background)
        bo__order_background_done(s->order);
    if (s->order)
        bo__order_put(s->os, s->order);
    free(s);
}

static void checkout_job(void *arg);
static void confirm_job(void *arg);
static void cancel_job(void *arg);
static void abandon_job(void *arg);

int bo_order_step_run(bo_order_step_t *s, bo_order_done_fn done, void *arg)
{
    static void (*const jobs[])(void *) = {
        [BO_ORDER_STEP_CHECKOUT] = checkout_job,
        [BO_ORDER_STEP_CONFIRM] = confirm_job,
        [BO_ORDER_STEP_CANCEL] = cancel_job,
        [BO_ORDER_STEP_ABANDON] = abandon_job,
    };
    BO_ASSERT(s != NULL && done != NULL);
    BO_ASSERT(s->job || (s->kind >= BO_ORDER_STEP_CHECKOUT && s->kind <= BO_ORDER_STEP_ABANDON));
    s->done = done;
    s->done_arg = arg;
    if (s->job) /* a webhook's, a scan's */
        return bo__order_job(s->os, s->pool, s->job, s);
    return bo__order_job(s->os, BO_ORDER_POOL_PAY, jobs[s->kind], s);
}

int bo_order_checkout_step(bo_orders_t *os, const bo_order_request_t *req, bo_order_step_t **out)
{
    BO_ASSERT(os != NULL && req != NULL && out != NULL && req->event != 0);
    BO_ASSERT(strlen(req->email) <= BO_ORDER_EMAIL_MAX && strlen(req->name) <= BO_ORDER_NAME_MAX);
    bo_order_step_t *s = bo__order_step_new(os, BO_ORDER_STEP_CHECKOUT);
    if (!s)
        return BO_ENOMEM;
    s->req = *req;
    /* a checkout again (a retry, a lost answer): one step at a time */
    if (os->pay && (s->order = bo__order_by_hold(os, req->event, &req->hold, true))) {
        if (!bo__order_step_try(s->order)) {
            bo_order_step_drop(s);
            return BO_EORDERBUSY;
        }
        s->flagged = true;
    }
    *out = s;
    return 0;
}

int bo_order_step(bo_orders_t *os, bo_order_t *o, enum bo_order_step_kind kind,
                  const bo_order_request_t *req, bo_order_step_t **out)
{
    BO_ASSERT(os != NULL && o != NULL && req != NULL && out != NULL);
    BO_ASSERT(kind == BO_ORDER_STEP_CONFIRM || kind == BO_ORDER_STEP_CANCEL ||
              kind == BO_ORDER_STEP_ABANDON);
    bo_order_step_t *s = bo__order_step_new(os, kind);
    if (!s) {
        bo__order_put(os, o);
        return BO_ENOMEM;
    }
    s->req = *req;
    s->order = o;
    if (!bo__order_step_try(o)) {
        bo_order_step_drop(s);
        return BO_EORDERBUSY;
    }
    s->flagged = true;
    *out = s;
    return 0;
}

/* ---- checkout ---------------------------------------------------------------------- */

typedef struct hold_copy {
    bo_hold_view_t v;
    uint32_t seats[BO_HOLD_MAX_SEATS];
    bo_ga_line_t ga[BO_HOLD_MAX_GA];
    const bo_hold_id_t *id;
} hold_copy_t;

static int read_hold(void *arg, const bo_inv_t *inv, int64_t now_ms)
{
    hold_copy_t *h = arg;
    if (bo_inv_get_hold(inv, h->id, now_ms, &h->v) || h->v.status == BO_HOLD_NONE)
        return BO_ENOTFOUND;
    if (h->v.nseats > BO_HOLD_MAX_SEATS || h->v.nga > BO_HOLD_MAX_GA)
        return BO_ECORRUPT;
    memcpy(h->seats, h->v.seats, h->v.nseats * sizeof(uint32_t));
    memcpy(h->ga, h->v.ga, h->v.nga * sizeof(bo_ga_line_t));
    h->v.seats = h->seats;
    h->v.ga = h->ga;
    return 0;
}

static void secret_new(char out[BO_ORDER_SECRET_LEN + 1])
{
    uint8_t b[BO_ORDER_SECRET_LEN / 2];
    randombytes_buf(b, sizeof(b));
    sodium_bin2hex(out, BO_ORDER_SECRET_LEN + 1, b, sizeof(b));
}

/* A new order for the hold in s (HELD), or the hold's refusal. */
static int order_new(bo_order_step_t *s, bo_order_t **out)
{
    bo_order_event_t info;
    hold_copy_t h = {.id = &s->req.hold};
    char hold_id[BO_ID_HOLD_LEN + 1];
    int rc = s->os->event_info(s->os->event_arg, s->req.event, &info);
    if (rc == 0)
        rc = bo_live_read(s->os->live, s->req.event, read_hold, &h);
    if (rc)
        return rc;
    if (h.v.status != BO_HOLD_HELD)
        return BO_ESTATE;
    bo_order_t *o = calloc(1, sizeof(*o));
    if (!o)
        return BO_ENOMEM;
    bo__order_init(o);
    o->step = 1; /* this checkout's step, from before the order is seen */
    bo_id_hold(hold_id, s->req.event, &s->req.hold);
    o->id = bo_id_from_key("order", hold_id);
    o->event = s->req.event;
    o->hold = s->req.hold;
    secret_new(o->secret);
    bo__order_set_status(o, BO_ORDER_PENDING);
    o->amount_cents = h.v.amount_cents;
    memcpy(o->currency, info.currency, sizeof(o->currency));
    o->currency[3] = '\0';
    snprintf(o->email, sizeof(o->email), "%s", s->req.email);
    snprintf(o->name, sizeof(o->name), "%s", s->req.name);
    o->customer = h.v.customer;
    o->nseats = h.v.nseats;
    memcpy(o->seats, h.seats, o->nseats * sizeof(uint32_t));
    o->nga = h.v.nga;
    memcpy(o->ga, h.ga, o->nga * sizeof(bo_ga_line_t));
    o->created_ms = o->updated_ms = bo__order_now_ms(s->os);
    o->deadline_ms = o->created_ms + BO_ORDER_PAY_WINDOW_MS;
    *out = o;
    return 0;
}

/* PAYING with the order's document, in one commit (order locked, new). */
static int order_open(bo_orders_t *os, bo_order_t *o)
{
    BO_ASSERT(bo_mutex_held(&o->mu) && !o->opened && o->status == BO_ORDER_PENDING);
    return bo__order_save_with(os, o, BO_MUT_PAY_START, NULL, o->deadline_ms, NULL);
}

/* Ask the gateway for the order's intent (order locked), keyed by the
 * order id: asking again after a lost answer gives the same intent. */
static int create_intent(bo_orders_t *os, bo_order_t *o)
{
    char id[BO_ID_ORDER_LEN + 1], desc[BO_ORDER_EVENT_NAME + 64];
    bo_order_event_t info;
    bo_pay_intent_t pi;
    BO_ASSERT(bo_mutex_held(&o->mu) && os->pay != NULL && !o->intent_id[0]);
    bo_id_order(id, o->id);
    snprintf(desc, sizeof(desc), "boxoffice %s", id);
    if (os->event_info(os->event_arg, o->event, &info) == 0)
        snprintf(desc, sizeof(desc), "%s (%s)", info.name, id);
    int rc = bo_pay_create_intent(os->pay, id, o->amount_cents, o->currency, id, desc, &pi);
    if (rc)
        return rc == BO_EDECLINED ? BO_EGATEWAY : rc;
    snprintf(o->intent_id, sizeof(o->intent_id), "%s", pi.id);
    snprintf(o->client_secret, sizeof(o->client_secret), "%s", pi.client_secret);
    return 0;
}

/* The intent of a pending order that has none yet (its first payment
 * attempt, or a checkout again that asks for it), made and saved once
 * (order locked). */
static int ensure_intent(bo_orders_t *os, bo_order_t *o)
{
    BO_ASSERT(bo_mutex_held(&o->mu));
    if (o->intent_id[0])
        return 0;
    int rc = create_intent(os, o);
    if (rc)
        return rc;
    if ((rc = bo__order_save(os, o, NULL)) == 0)
        rc = bo__order_index_intent(os, o);
    if (rc)
        o->intent_id[0] = o->client_secret[0] = '\0'; /* the same intent comes back next time */
    return rc;
}

/* The checkout of a new order (locked): when asked, its intent from the
 * gateway first; then PAYING and the order (with the intent, if any) in one
 * commit. A crash between the two leaves an intent nobody can pay (its
 * client secret was never given out); a retry finds it again by its
 * idempotency key. Without create_intent no gateway call is made: the first
 * payment attempt makes the intent (confirm_job). Answers the request. */
static void checkout_open(bo_order_step_t *s, bo_order_t *o, int created_status)
{
    BO_ASSERT(bo_mutex_held(&o->mu) && s->flagged && s->order == o);
    int rc = o->intent_id[0] || !s->req.create_intent ? 0 : create_intent(s->os, o);
    if (rc) {
        bo__order_set_status(o, BO_ORDER_EXPIRED); /* not durable: a retry starts over */
        bo__order_refuse(s, rc, "the payment gateway did not answer: retry the checkout", NULL);
        return;
    }
    if ((rc = order_open(s->os, o))) {
        /* the hold went meanwhile (or the store failed): nothing is durable,
         * and a retry of this checkout tries again */
        bo__order_set_status(o, BO_ORDER_EXPIRED);
        o->closed_ms = bo__order_now_ms(s->os);
        bo__order_refuse(
            s, rc == BO_ENOTFOUND || rc == BO_ESTATE ? BO_EEXPIRED : rc,
            rc == BO_ENOTFOUND || rc == BO_ESTATE ? "the hold has expired or was released" : NULL,
            NULL);
        return;
    }
    o->opened = true;
    if (bo__order_index_intent(s->os, o))
        bo__order_refuse(s, BO_ENOMEM, NULL, order_ref(o));
    else
        bo__order_answer(s, o, created_status);
}

/* A checkout of a hold whose order exists (s holds its flag). */
static void checkout_existing(bo_order_step_t *s, bo_order_t *o)
{
    BO_ASSERT(s->flagged && s->order == o && __atomic_load_n(&o->step, __ATOMIC_ACQUIRE) == 1);
    bo__order_lock(s->os, o);
    if (!o->opened) {
        /* an earlier checkout of this hold failed before its commit */
        bo__order_set_status(o, BO_ORDER_PENDING);
        o->closed_ms = 0;
        o->deadline_ms = bo__order_now_ms(s->os) + BO_ORDER_PAY_WINDOW_MS;
        checkout_open(s, o, 201);
    } else if (o->status != BO_ORDER_PENDING) {
        bo__order_refuse(s, BO_ESTATE, "this hold was checked out already", order_ref(o));
    } else {
        int rc = s->req.create_intent ? ensure_intent(s->os, o) : 0;
        if (rc)
            bo__order_refuse(s, rc, NULL, order_ref(o));
        else
            bo__order_answer(s, o, 200);
    }
    bo__order_unlock(o);
}

static void checkout_job(void *arg)
{
    bo_order_step_t *s = arg;
    bo_orders_t *os = s->os;
    bo_order_t *o = NULL, *existing = NULL;
    int rc;
    if (s->order) { /* found on the loop, its flag taken there */
        checkout_existing(s, s->order);
        goto out;
    }
    if ((rc = order_new(s, &o))) {
        if (rc == BO_ENOTFOUND)
            bo__order_refuse(s, BO_EEXPIRED, "the hold has expired or was released", NULL);
        else if (rc == BO_ESTATE)
            bo__order_refuse(s, BO_ESTATE, "the hold is not open for checkout", NULL);
        else
            bo__order_refuse(s, rc, NULL, NULL);
        goto out;
    }
    if (bo__order_add(os, o, &existing)) {
        pthread_mutex_destroy(&o->mu);
        pthread_mutex_destroy(&o->shown_mu);
        free(o);
        if (!existing) {
            bo__order_refuse(s, BO_ENOMEM, NULL, NULL);
        } else if (bo__order_step_try(existing)) { /* made meanwhile by another checkout */
            s->order = existing;
            s->flagged = true;
            checkout_existing(s, existing);
        } else {
            bo__order_put(os, existing);
            bo__order_refuse(s, BO_EORDERBUSY, NULL, NULL);
        }
        goto out;
    }
    s->order = o;
    BO_ASSERT(__atomic_load_n(&o->step, __ATOMIC_ACQUIRE) == 1);
    s->flagged = true; /* taken by order_new */
    bo__order_lock(os, o);
    checkout_open(s, o, 201);
    bo__order_unlock(o);
out:
    bo_order_step_drop(s);
}

/* A new payment attempt: the hold back to PAYING (after a decline it is
 * HELD with its remaining time), then the gateway confirms the card. */
static int pay_attempt(bo_order_step_t *s, bo_order_t *o)
{
    char key[BO_ID_ORDER_LEN + 96], id[BO_ID_ORDER_LEN + 1];
    uint8_t h[8];
    BO_ASSERT(bo_mutex_held(&o->mu) && o->status == BO_ORDER_PENDING && o->intent_id[0]);
    int64_t deadline = o->deadline_ms;
    o->deadline_ms = bo__order_now_ms(s->os) + BO_ORDER_PAY_WINDOW_MS;
    int rc = bo__order_save_with(s->os, o, BO_MUT_PAY_START, NULL, o->deadline_ms, NULL);
    if (rc)
        o->deadline_ms = deadline;
    if (rc && rc != BO_ESTATE) /* ESTATE: PAYING already */
        return rc;
    /* one key per attempt: a retry after a lost answer is the same attempt */
    crypto_generichash(h, sizeof(h), (const uint8_t *)s->req.payment_method,
                       strlen(s->req.payment_method), NULL, 0);
    bo_id_order(id, o->id);
    snprintf(key, sizeof(key), "%s:confirm:%u:%02x%02x%02x%02x%02x%02x%02x%02x", id, o->failures,
             h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7]);
    rc = bo_pay_confirm(s->os->pay, o->intent_id, s->req.payment_method, key, &s->attempt);
    if (rc == BO_EDECLINED)
        s->declined = true;
    return rc == BO_EDECLINED || rc == BO_ESTATE ? 0 : rc; /* the retrieve tells */
}

static void confirm_answer(bo_order_step_t *s, bo_order_t *o, uint32_t failures_before)
{
    BO_ASSERT(bo_mutex_held(&o->mu) && o->failures >= failures_before);
    if (o->failures > failures_before &&
        (o->status == BO_ORDER_PENDING || o->status == BO_ORDER_FAILED ||
         o->status == BO_ORDER_EXPIRED)) {
        json_t *d = json_pack(
            "{sssssssIsb}", "status", bo__order_status_name(o->status), "decline_code",
            o->last_error_decline[0] ? o->last_error_decline : o->last_error_code, "message",
            o->last_error_message, "attempts_left",
            (json_int_t)(o->status != BO_ORDER_PENDING || o->failures >= BO_PAY_MAX_FAILURES
                             ? 0
                             : BO_PAY_MAX_FAILURES - o->failures),
            "hold_released", o->status != BO_ORDER_PENDING);
        char id[BO_ID_ORDER_LEN + 1];
        bo_id_order(id, o->id);
        json_object_set_new(d, "order_id", json_string(id));
        bo__order_refuse(s, BO_EDECLINED,
                         o->last_error_message[0] ? o->last_error_message : "the card was declined",
                         d);
        return;
    }
    if (s->declined && o->status == BO_ORDER_PENDING) {
        /* refused before it became a payment attempt (a mistyped number):
         * nothing counted, the buyer corrects it */
        const bo_pay_intent_t *a = &s->attempt;
        bo__order_refuse(
            s, BO_EDECLINED, a->last_error_message[0] ? a->last_error_message : NULL,
            json_pack("{sssssssI}", "status", bo__order_status_name(o->status), "decline_code",
                      a->last_error_decline[0] ? a->last_error_decline : a->last_error_code,
                      "message", a->last_error_message, "attempts_left",
                      (json_int_t)(BO_PAY_MAX_FAILURES - o->failures)));
        return;
    }
    if (o->status == BO_ORDER_EXPIRED && !o->intent_id[0])
        bo__order_refuse(s, BO_EEXPIRED, "the checkout expired", order_ref(o));
    else
        bo__order_answer(s, o, 200);
}

/* Settle by what the gateway answered: a confirm that succeeded answers
 * with the intent itself (our own call, not a payload someone sent), so
 * only another outcome is asked again. */
static int settle_attempt(bo_order_step_t *s, bo_order_t *o)
{
    const bo_pay_intent_t *a = &s->attempt;
    BO_ASSERT(bo_mutex_held(&o->mu));
    if (s->req.payment_method[0] && !s->declined && a->id[0] && strcmp(a->id, o->intent_id) == 0 &&
        strcmp(a->status, "succeeded") == 0)
        return bo__order_settle(s->os, o, a);
    return bo__order_settle_fetch(s->os, o);
}

static void confirm_job(void *arg)
{
    bo_order_step_t *s = arg;
    bo_order_t *o = s->order;
    bo__order_lock(s->os, o);
    uint32_t failures = o->failures;
    int rc = 0;
    if (s->req.payment_method[0] && o->status != BO_ORDER_PENDING) {
        if (o->status == BO_ORDER_PAID)
            bo__order_answer(s, o, 200);
        else
            bo__order_refuse(s, o->status == BO_ORDER_EXPIRED ? BO_EEXPIRED : BO_ESTATE,
                             "this order takes no more payments", order_ref(o));
        goto out;
    }
    if (s->req.payment_method[0] && !o->intent_id[0])
        rc = ensure_intent(s->os, o);
    if (rc == 0 && s->req.payment_method[0])
        rc = pay_attempt(s, o);
    if (rc == BO_ENOTFOUND) {
        /* the hold is gone: unless money came, the checkout is over */
        if ((rc = bo__order_settle_fetch(s->os, o)) == 0 && o->status == BO_ORDER_PENDING)
            rc = bo__order_abandon(s->os, o, BO_ORDER_EXPIRED);
        if (rc == 0 && o->status == BO_ORDER_EXPIRED) {
            bo__order_refuse(s, BO_EEXPIRED, "the hold expired before the payment", order_ref(o));
            goto out;
        }
    }
    if (rc == 0)
        rc = settle_attempt(s, o);
    if (rc)
        bo__order_refuse(s, rc, NULL, order_ref(o));
    else
        confirm_answer(s, o, failures);
out:
    bo__order_unlock(o);
    bo_order_step_drop(s);
}

static int64_t buyer_deadline_ms(bo_orders_t *os, uint64_t event)
{
    bo_order_event_t info;
    return os->event_info(os->event_arg, event, &info) == 0 ? info.refund_deadline_ms : 0;
}

static void cancel_job(void *arg)
{
    bo_order_step_t *s = arg;
    bo_order_t *o = s->order;
    int rc = 0;
    bo__order_lock(s->os, o);
    if (o->status == BO_ORDER_PENDING) {
        rc = bo__order_abandon(s->os, o, BO_ORDER_CANCELED);
        if (rc == 0 && o->status == BO_ORDER_PAID && !s->req.admin) {
            bo__order_answer(s, o, 200); /* it was paid meanwhile: now a paid order */
            goto out;
        }
    }
    if (rc == 0 && o->status == BO_ORDER_PAID) {
        int64_t deadline = buyer_deadline_ms(s->os, o->event);
        bool used = false;
        for (uint32_t i = 0; i < o->ntickets; i++)
            used |= o->tickets[i].checked_in_ms != 0;
        if (!s->req.admin && used) {
            bo__order_refuse(s, BO_ESTATE, "a ticket of this order was used at the gate",
                             json_pack("{ss}", "status", "paid"));
            goto out;
        }
        if (!s->req.admin && bo__order_now_ms(s->os) > deadline) {
            char when[BO_RFC3339_SIZE];
            bo_time_format(deadline, when);
            bo__order_refuse(s, BO_ESTATE, "the buyer's cancellation deadline has passed",
                             json_pack("{ssss}", "status", "paid", "refund_deadline", when));
            goto out;
        }
        rc = bo__order_refund(s->os, o, s->req.admin ? "admin" : "requested_by_customer");
        if (rc == BO_EGATEWAY && o->status == BO_ORDER_REFUND_PENDING)
            rc = 0; /* seats released; the reconciler finishes the refund */
    } else if (rc == 0 && o->status == BO_ORDER_REFUND_PENDING) {
        rc = bo__order_refund_finish(s->os, o);
        rc = rc == BO_EGATEWAY ? 0 : rc;
    }
    if (rc)
        bo__order_refuse(s, rc, NULL, order_ref(o));
    else
        bo__order_answer(s, o, 200);
out:
    bo__order_unlock(o);
    bo_order_step_drop(s);
}

/* DELETE /api/v1/holds/{id} of a hold in checkout: the checkout is
 * abandoned (its intent cancelled, the seats released) before answering. */
static void abandon_job(void *arg)
{
    bo_order_step_t *s = arg;
    bo_order_t *o = s->order;
    bo__order_lock(s->os, o);
    int rc = bo__order_abandon(s->os, o, BO_ORDER_CANCELED);
    if (rc)
        bo__order_refuse(s, rc, NULL, order_ref(o));
    else if (o->status == BO_ORDER_PAID)
        bo__order_refuse(s, BO_ESTATE, "the hold was paid meanwhile", order_ref(o));
    else {
        bo__order_answer(s, o, 204);
    }
    bo__order_unlock(o);
    bo_order_step_drop(s);
}
