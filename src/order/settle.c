/*
 * settle.c - what the gateway's word means for an order (order_internal.h): paid
 * (seats SOLD and tickets issued in one commit, or, for money that came
 * after its seats were taken by someone else, an automatic refund), a
 * decline counted once, an abandoned or expired checkout released, a paid
 * order cancelled and refunded.
 *
 * Every function here runs on a payment worker with the order locked, so
 * the steps of one order never interleave, and learns the intent's state
 * from the gateway itself (bo_pay_retrieve), never from a webhook's
 * payload. Gateway calls carry idempotency keys derived from the order
 * ("ord_…:refund"), so a step repeated after a crash or a lost answer
 * never charges or refunds twice.
 *
 * Workload: a few steps per order; each waits for the gateway and one
 * commit (milliseconds): worker threads, not event loops.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "order/order_internal.h"

static void key_of(char *out, size_t cap, const bo_order_t *o, const char *what)
{
    char id[BO_ID_ORDER_LEN + 1];
    bo_id_order(id, o->id);
    snprintf(out, cap, "%s:%s", id, what);
}

static void copy(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
}

/* The tickets of a paid order: one per seat and per GA place. */
static int make_tickets(bo_orders_t *os, bo_order_t *o)
{
    BO_ASSERT(bo_mutex_held(&o->mu) && o->tickets == NULL && o->ntickets == 0); /* once */
    uint32_t n = o->nseats;
    for (uint32_t i = 0; i < o->nga; i++)
        n += o->ga[i].quantity;
    if (n > BO_ORDER_MAX_TICKETS)
        return BO_EINVAL;
    bo_ticket_t *t = calloc(n ? n : 1, sizeof(*t));
    if (!t)
        return BO_ENOMEM;
    uint32_t k = 0;
    for (uint32_t i = 0; i < o->nseats; i++, k++)
        t[k] = (bo_ticket_t){.id = bo_id_random(), .seat = o->seats[i]};
    for (uint32_t i = 0; i < o->nga; i++)
        for (uint32_t q = 0; q < o->ga[i].quantity; q++, k++)
            t[k] =
                (bo_ticket_t){.id = bo_id_random(), .seat = BO_TICKET_GA, .ga_area = o->ga[i].area};
    for (uint32_t i = 0; i < n; i++) {
        bo_ticket_claim_t c = {t[i].id, o->event, o->id, t[i].seat, t[i].ga_area};
        if (bo_ticket_sign(os->ticket_keys, &c, t[i].code, sizeof(t[i].code)) < 0) {
            free(t);
            return BO_EINVAL;
        }
    }
    o->tickets = t;
    o->ntickets = n;
    return 0;
}

static void drop_tickets(bo_order_t *o)
{
    BO_ASSERT(bo_mutex_held(&o->mu));
    free(o->tickets);
    o->tickets = NULL;
    o->ntickets = 0;
}

/* The refund of a paid order, once its seats are released (REFUND_PENDING). */
int bo__order_refund_finish(bo_orders_t *os, bo_order_t *o)
{
    char key[64];
    bo_pay_refund_t rf = {0};
    BO_ASSERT(bo_mutex_held(&o->mu));
    if (o->status != BO_ORDER_REFUND_PENDING)
        return 0;
    if (!os->pay)
        return BO_EGATEWAY;
    key_of(key, sizeof(key), o, "refund");
    int rc = bo_pay_refund(os->pay, o->intent_id, 0, key, &rf);
    if (rc == BO_ESTATE) /* refunded already (a step before a crash did it) */
        rc = 0;
    if (rc)
        return rc;
    bool unavailable = strcmp(o->refund_reason, "unavailable") == 0;
    bo__order_set_status(o, unavailable ? BO_ORDER_REFUNDED_UNAVAILABLE : BO_ORDER_REFUNDED);
    copy(o->refund_id, sizeof(o->refund_id), rf.id);
    o->closed_ms = bo__order_now_ms(os);
    rc = bo__order_save(os, o, "order.refunded");
    if (rc)
        bo__order_set_status(o, BO_ORDER_REFUND_PENDING);
    return rc;
}

/* Money came for an order whose seats could not be sold: refund it. */
static int refund_unavailable(bo_orders_t *os, bo_order_t *o)
{
    int before = o->status;
    BO_ASSERT(bo_mutex_held(&o->mu) && before != BO_ORDER_PAID); /* its seats were not sold */
    bo__order_set_status(o, BO_ORDER_REFUND_PENDING);
    copy(o->refund_reason, sizeof(o->refund_reason), "unavailable");
    int rc = bo__order_save(os, o, NULL);
    if (rc) {
        bo__order_set_status(o, before);
        return rc;
    }
    return bo__order_refund_finish(os, o);
}

static int settle_paid(bo_orders_t *os, bo_order_t *o, const bo_pay_intent_t *pi)
{
    BO_ASSERT(bo_mutex_held(&o->mu) && strcmp(pi->status, "succeeded") == 0);
    if (o->status == BO_ORDER_PAID || o->status == BO_ORDER_REFUND_PENDING ||
        o->status == BO_ORDER_REFUNDED || o->status == BO_ORDER_REFUNDED_UNAVAILABLE)
        return 0; /* settled before: a repeated confirm or webhook */
    if (pi->amount_received < o->amount_cents || strcasecmp(pi->currency, o->currency) != 0) {
        fprintf(stderr, "boxoffice: intent %s paid %lld %s for an order of %lld %s: refunding\n",
                pi->id, (long long)pi->amount_received, pi->currency, (long long)o->amount_cents,
                o->currency);
        return refund_unavailable(os, o);
    }
    int before = o->status, rc = make_tickets(os, o);
    if (rc)
        return rc;
    bo__order_set_status(o, BO_ORDER_PAID);
    o->paid_ms = bo__order_now_ms(os);
    o->closed_ms = 0;
    rc = bo__order_save_with(os, o, BO_MUT_CONFIRM, "order.paid", 0, NULL);
    if (rc == 0)
        return bo__order_index_tickets(os, o);
    drop_tickets(o);
    bo__order_set_status(o, before);
    o->paid_ms = 0;
    if (rc == BO_EUNAVAILABLE || rc == BO_EFULL || rc == BO_EINVAL || rc == BO_ENOTFOUND)
        return refund_unavailable(os, o); /* the late payment lost its seats */
    return rc;
}

/* A release or a deadline closes an unpaid order. */
static int close_unpaid(bo_orders_t *os, bo_order_t *o, int status)
{
    bo_live_result_t r;
    BO_ASSERT(bo_mutex_held(&o->mu) && o->status == BO_ORDER_PENDING);
    BO_ASSERT(status == BO_ORDER_FAILED || status == BO_ORDER_EXPIRED ||
              status == BO_ORDER_CANCELED);
    bo__order_set_status(o, status);
    o->closed_ms = bo__order_now_ms(os);
    int rc = bo__order_save_with(os, o, BO_MUT_RELEASE, NULL, 0, &r);
    if (rc == BO_ENOTFOUND || rc == BO_ESTATE) /* the hold is gone already */
        rc = bo__order_save(os, o, NULL);
    if (rc) {
        bo__order_set_status(o, BO_ORDER_PENDING);
        o->closed_ms = 0;
    }
    return rc;
}

/* After the seats of an unpaid order went: no later payment should take
 * (a payment that got through anyway is a late payment: settle it). */
static void cancel_intent(bo_orders_t *os, bo_order_t *o)
{
    char key[64];
    bo_pay_intent_t pi;
    BO_ASSERT(bo_mutex_held(&o->mu) && o->intent_id[0] && os->pay);
    key_of(key, sizeof(key), o, "cancel");
    if (bo_pay_cancel(os->pay, o->intent_id, key, &pi) == BO_ESTATE &&
        bo_pay_retrieve(os->pay, o->intent_id, &pi) == 0 && strcmp(pi.status, "succeeded") == 0)
        settle_paid(os, o, &pi);
}

/* The fields a decline changes, to put back when its commit fails. */
struct decline_undo {
    char charge[BO_PAY_ID_MAX], code[64], decline[64], message[256];
    uint32_t failures;
    int status;
    int64_t closed_ms;
};

static void decline_save(const bo_order_t *o, struct decline_undo *u)
{
    copy(u->charge, sizeof(u->charge), o->last_failed_charge);
    copy(u->code, sizeof(u->code), o->last_error_code);
    copy(u->decline, sizeof(u->decline), o->last_error_decline);
    copy(u->message, sizeof(u->message), o->last_error_message);
    u->failures = o->failures;
    u->status = o->status;
    u->closed_ms = o->closed_ms;
}

static void decline_undo(bo_order_t *o, const struct decline_undo *u)
{
    copy(o->last_failed_charge, sizeof(o->last_failed_charge), u->charge);
    copy(o->last_error_code, sizeof(o->last_error_code), u->code);
    copy(o->last_error_decline, sizeof(o->last_error_decline), u->decline);
    copy(o->last_error_message, sizeof(o->last_error_message), u->message);
    o->failures = u->failures;
    bo__order_set_status(o, u->status);
    o->closed_ms = u->closed_ms;
}

static int settle_declined(bo_orders_t *os, bo_order_t *o, const bo_pay_intent_t *pi)
{
    struct decline_undo undo;
    BO_ASSERT(bo_mutex_held(&o->mu));
    if (o->status != BO_ORDER_PENDING)
        return 0;
    decline_save(o, &undo);
    copy(o->last_failed_charge, sizeof(o->last_failed_charge), pi->last_error_charge);
    copy(o->last_error_code, sizeof(o->last_error_code), pi->last_error_code);
    copy(o->last_error_decline, sizeof(o->last_error_decline), pi->last_error_decline);
    copy(o->last_error_message, sizeof(o->last_error_message), pi->last_error_message);
    o->failures++;
    bo_live_result_t r = {0};
    int rc = bo__order_save_with(os, o, BO_MUT_PAY_FAILED, NULL, 0, &r);
    if (rc == 0 && r.released) {
        /* the third failure, or one after the hold's time: seats released */
        bo__order_set_status(o, o->failures >= BO_PAY_MAX_FAILURES ? BO_ORDER_FAILED
                                                                   : BO_ORDER_EXPIRED);
        o->closed_ms = bo__order_now_ms(os);
        if ((rc = bo__order_save(os, o, NULL)) == 0)
            cancel_intent(os, o);
    } else if (rc == BO_ESTATE) {
        /* the hold was HELD (a decline seen after another one): count it */
        rc = o->failures >= BO_PAY_MAX_FAILURES ? close_unpaid(os, o, BO_ORDER_FAILED)
                                                : bo__order_save(os, o, NULL);
    } else if (rc == BO_ENOTFOUND) {
        bo__order_set_status(o, BO_ORDER_EXPIRED);
        o->closed_ms = bo__order_now_ms(os);
        rc = bo__order_save(os, o, NULL);
    }
    if (rc)
        decline_undo(o, &undo);
    return rc;
}

int bo__order_settle(bo_orders_t *os, bo_order_t *o, const bo_pay_intent_t *pi)
{
    BO_ASSERT(bo_mutex_held(&o->mu) && pi != NULL);
    /* the intent is the order's own (asked by its id, never a payload's) */
    BO_ASSERT(!pi->id[0] || strcmp(pi->id, o->intent_id) == 0);
    if (strcmp(pi->status, "succeeded") == 0)
        return settle_paid(os, o, pi);
    if (strcmp(pi->status, "canceled") == 0)
        return o->status == BO_ORDER_PENDING ? close_unpaid(os, o, BO_ORDER_CANCELED) : 0;
    if (strcmp(pi->status, "requires_payment_method") == 0 && pi->last_error_charge[0] &&
        strcmp(pi->last_error_charge, o->last_failed_charge) != 0)
        return settle_declined(os, o, pi);
    return 0; /* processing, requires_action, ...: nothing to do yet */
}

int bo__order_settle_fetch(bo_orders_t *os, bo_order_t *o)
{
    bo_pay_intent_t pi;
    BO_ASSERT(bo_mutex_held(&o->mu));
    if (!o->intent_id[0])
        return 0;
    if (!os->pay)
        return BO_EGATEWAY;
    int rc = bo_pay_retrieve(os->pay, o->intent_id, &pi);
    return rc ? rc : bo__order_settle(os, o, &pi);
}

int bo__order_abandon(bo_orders_t *os, bo_order_t *o, int status)
{
    char key[64];
    bo_pay_intent_t pi;
    BO_ASSERT(bo_mutex_held(&o->mu));
    BO_ASSERT(status == BO_ORDER_EXPIRED || status == BO_ORDER_CANCELED);
    if (o->status != BO_ORDER_PENDING)
        return 0;
    if (o->intent_id[0]) {
        if (!os->pay)
            return BO_EGATEWAY;
        key_of(key, sizeof(key), o, "cancel");
        int rc = bo_pay_cancel(os->pay, o->intent_id, key, &pi);
        if (rc == BO_ESTATE) {
            /* too late to cancel: it succeeded (settle) or is cancelled */
            if ((rc = bo_pay_retrieve(os->pay, o->intent_id, &pi)) != 0)
                return rc;
            if (strcmp(pi.status, "succeeded") == 0)
                return settle_paid(os, o, &pi);
        } else if (rc && rc != BO_ENOTFOUND) {
            return rc;
        }
    }
    return close_unpaid(os, o, status);
}

int bo__order_refund(bo_orders_t *os, bo_order_t *o, const char *reason)
{
    BO_ASSERT(bo_mutex_held(&o->mu) && reason != NULL && reason[0]);
    if (o->status == BO_ORDER_REFUND_PENDING)
        return bo__order_refund_finish(os, o);
    if (o->status != BO_ORDER_PAID)
        return BO_ESTATE;
    bo__order_set_status(o, BO_ORDER_REFUND_PENDING);
    copy(o->refund_reason, sizeof(o->refund_reason), reason);
    int rc = bo__order_save_with(os, o, BO_MUT_CANCEL, NULL, 0, NULL);
    if (rc) {
        bo__order_set_status(o, BO_ORDER_PAID);
        o->refund_reason[0] = '\0';
        return rc;
    }
    return bo__order_refund_finish(os, o);
}
