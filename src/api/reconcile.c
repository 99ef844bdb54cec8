/*
 * reconcile.c - the reconciler (order.h): a thread that brings orders the
 * buyer or the gateway left halfway to an end, asking the gateway rather
 * than guessing:
 *  - a pending order whose hold is gone (expired after a decline, or lost
 *    to a crash) or whose payment deadline passed: if the money came, it
 *    is settled (a late payment), else its intent is cancelled and its
 *    seats released;
 *  - a pending order with an intent, every RECHECK_MS: its state is asked
 *    again, so a lost webhook delays an order, never loses it;
 *  - a refund that the gateway did not take yet: asked again, with the
 *    same idempotency key, every RECHECK_MS.
 * It runs at start too, which is how the state left by a crash between a
 * gateway call and its commit is repaired.
 *
 * Workload: a scan of the orders every --reconcile-ms (500 ms); only pending ones cost an
 * engine read; the work itself runs on the hook workers (jobs.c), never
 * behind buyers' steps. An order that has a step running is skipped (its
 * step flag is taken: order.h) and looked at again on the next scan.
 */
#include <stdlib.h>
#include <time.h>

#include "api/order.h"

#define RECHECK_MS 10000
#define GRACE_MS   2000 /* past a payment deadline before giving up */

struct bo_reconciler {
    bo_api_t *api;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop, started;
};

typedef struct hold_state {
    const bo_hold_id_t *id;
    int status; /* enum bo_hold_status */
} hold_state_t;

static int read_state(void *arg, const bo_inv_t *inv, int64_t now_ms)
{
    hold_state_t *h = arg;
    bo_hold_view_t v;
    h->status = bo_inv_get_hold(inv, h->id, now_ms, &v) == 0 ? v.status : BO_HOLD_NONE;
    return 0;
}

static int hold_status(bo_api_t *api, const bo_order_t *o)
{
    hold_state_t h = {&o->hold, BO_HOLD_NONE};
    bo_live_read(api->live, o->event, read_state, &h);
    return h.status;
}

/* Whether a pending order needs its checkout ended now. */
static bool overdue(bo_api_t *api, const bo_order_t *o, int64_t now)
{
    return hold_status(api, o) == BO_HOLD_NONE || now > o->deadline_ms + GRACE_MS;
}

typedef struct step {
    bo_api_t *api;
    bo_order_t *o;
} step_t;

static void step_job(void *arg)
{
    step_t *s = arg;
    bo_api_t *api = s->api;
    bo_order_t *o = s->o;
    int64_t now = bo__api_now_ms();
    int rc = 0;
    bo__order_lock(api, o);
    if (o->status == BO_ORDER_PENDING) {
        rc = bo__settle_fetch(api, o);
        if (rc == 0 && o->status == BO_ORDER_PENDING && overdue(api, o, now))
            rc = bo__order_abandon(api, o, BO_ORDER_EXPIRED);
    } else if (o->status == BO_ORDER_REFUND_PENDING) {
        rc = bo__order_refund_finish(api, o);
    }
    o->recheck_ms = now + RECHECK_MS;
    bo__order_unlock(o);
    bo__order_background_done(o);
    (void)rc; /* a failure is tried again at the next recheck */
    free(s);
}

static int scan_one(void *arg, bo_order_t *o)
{
    bo_api_t *api = arg;
    int64_t now = bo__api_now_ms();
    bool due = false;
    int status = bo__order_status(o);
    if (status != BO_ORDER_PENDING && status != BO_ORDER_REFUND_PENDING)
        return 0; /* the common case, without a lock */
    if (!bo__order_background_try(o))
        return 0; /* a step of this order is running: look again next time */
    if (pthread_mutex_trylock(&o->mu)) {
        bo__order_background_done(o); /* a scan at the gate holds it: next time */
        return 0;
    }
    if (o->status == BO_ORDER_PENDING)
        due = now >= o->recheck_ms || overdue(api, o, now);
    else if (o->status == BO_ORDER_REFUND_PENDING)
        due = now >= o->recheck_ms;
    pthread_mutex_unlock(&o->mu);
    step_t *s = due ? malloc(sizeof(*s)) : NULL;
    if (!s) {
        bo__order_background_done(o);
        return 0;
    }
    *s = (step_t){api, o};
    if (bo__job(api, BO_POOL_HOOK, step_job, s)) {
        bo__order_background_done(o);
        free(s);
        return 1; /* the queue is full: the next scan goes on */
    }
    return 0;
}

static void *reconciler(void *arg)
{
    struct bo_reconciler *rec = arg;
    pthread_mutex_lock(&rec->mu);
    while (!rec->stop) {
        pthread_mutex_unlock(&rec->mu);
        bo__order_each_unsettled(rec->api, scan_one, rec->api);
        pthread_mutex_lock(&rec->mu);
        if (rec->stop)
            break;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += (long)rec->api->reconcile_ms * 1000000L;
        ts.tv_sec += ts.tv_nsec / 1000000000L;
        ts.tv_nsec %= 1000000000L;
        pthread_cond_timedwait(&rec->cv, &rec->mu, &ts);
    }
    pthread_mutex_unlock(&rec->mu);
    return NULL;
}

int bo__reconcile_start(bo_api_t *api)
{
    struct bo_reconciler *rec = calloc(1, sizeof(*rec));
    if (!rec)
        return BO_ENOMEM;
    rec->api = api;
    pthread_mutex_init(&rec->mu, NULL);
    pthread_cond_init(&rec->cv, NULL);
    api->reconciler = rec;
    if (!api->pay)
        return 0; /* nothing to reconcile with */
    if (pthread_create(&rec->thread, NULL, reconciler, rec))
        return BO_ENOMEM;
    rec->started = true;
    return 0;
}

void bo__reconcile_stop(bo_api_t *api)
{
    struct bo_reconciler *rec = api->reconciler;
    if (!rec)
        return;
    pthread_mutex_lock(&rec->mu);
    rec->stop = true;
    pthread_cond_signal(&rec->cv);
    pthread_mutex_unlock(&rec->mu);
    if (rec->started)
        pthread_join(rec->thread, NULL);
    pthread_mutex_destroy(&rec->mu);
    pthread_cond_destroy(&rec->cv);
    free(rec);
    api->reconciler = NULL;
}
