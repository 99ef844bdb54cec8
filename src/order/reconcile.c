/*
 * reconcile.c - the reconciler (order_internal.h): a thread that brings orders the
 * buyer or the gateway left halfway to an end, asking the gateway rather
 * than guessing:
 *  - a pending order whose hold is gone (expired after a decline, or lost
 *    to a crash) or whose payment deadline passed: if the money came, it
 *    is settled (a late payment), else its intent is cancelled and its
 *    seats released;
 *  - a pending order with an intent: its state is asked again on a
 *    schedule, so a lost webhook delays an order, never loses it;
 *  - a refund that the gateway did not take yet: asked again, with the
 *    same idempotency key.
 * It runs at start too, which is how the state left by a crash between a
 * gateway call and its commit is repaired.
 *
 * What it may cost at the gateway is bounded whatever the number of
 * orders (budget.c): every request its steps send comes out of one token
 * bucket (--reconcile-budget-per-s, 20 by default, against the ~100 a
 * second a gateway such as Stripe allows); an order is looked at 1 s after
 * it changed, then after 2 s, 4 s ... up to 5 minutes while nothing
 * changes; and the orders due are taken most urgent first (deadline
 * passed, then a payment under way, then refunds, then the rest), the
 * oldest first within each kind, so a backlog delays the least urgent. An
 * order without an intent costs nothing: it is looked at only once its
 * deadline passed, and that step releases its seats without a gateway
 * call (buyers' steps, which make the intents, are limited per client
 * address instead: src/api/orders.c).
 *
 * Workload: a scan of the unsettled orders every --reconcile-ms (500 ms),
 * each pending one costing an engine read; the work itself runs on the
 * hook workers (jobs.c), never behind buyers' steps. An order that has a
 * step running is skipped (its step flag is taken: order.h) and looked at
 * again on the next scan.
 */
#include <stddef.h>
#include <stdlib.h>
#include <time.h>

#include "order/order_internal.h"

#define GRACE_MS 2000 /* past a payment deadline before giving up */

/* How urgent a due order is: the smaller, the sooner. */
enum urgency {
    URG_OVERDUE, /* deadline passed or hold gone: seats blocked, money maybe came */
    URG_PAYING,  /* the hold is paying: an attempt whose outcome is unknown */
    URG_REFUND,  /* money to give back */
    URG_WAITING, /* after a decline: nothing happens until the buyer acts */
};

typedef struct due {
    bo_order_t *o;
    int urgency;      /* enum urgency */
    int64_t since_ms; /* the older, the sooner within an urgency */
    bool overdue;
    bool costs; /* its step asks the gateway: it needs a token */
} due_t;

struct bo_reconciler {
    bo_orders_t *os;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop, started;
    bo_order_budget_t budget;
    due_t *due; /* the scan's orders due (the reconciler's thread only) */
    size_t ndue, cap;
    uint64_t calls, exhausted, backlog; /* for /metrics (atomic) */
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

static int hold_status(bo_orders_t *os, const bo_order_t *o)
{
    hold_state_t h = {&o->hold, BO_HOLD_NONE};
    bo_live_read(os->live, o->event, read_state, &h);
    return h.status;
}

/* Whether a pending order needs its checkout ended now. */
static bool overdue(int hold, const bo_order_t *o, int64_t now)
{
    return hold == BO_HOLD_NONE || now > o->deadline_ms + GRACE_MS;
}

/* ---- a step -------------------------------------------------------------------- */

typedef struct step {
    struct bo_reconciler *rec;
    bo_order_t *o;
    bool overdue;  /* as the scan found it */
    bool reserved; /* a token was taken for its first request */
} step_t;

/* After a step that changed nothing (o locked): the next look, later. */
static void look_later(bo_orders_t *os, bo_order_t *o, bool was_overdue)
{
    BO_ASSERT(bo_mutex_held(&o->mu));
    if (o->looks < 31)
        o->looks++;
    o->recheck_ms = bo__order_now_ms(os) + bo__order_backoff_ms(o->looks);
    o->looked_overdue = was_overdue;
}

static void step_job(void *arg)
{
    step_t *s = arg;
    struct bo_reconciler *rec = s->rec;
    bo_orders_t *os = rec->os;
    bo_order_t *o = s->o;
    uint64_t before = bo_pay_thread_requests();
    int rc = 0;
    /* the scan took o's background flag for this step */
    BO_ASSERT(__atomic_load_n(&o->background, __ATOMIC_ACQUIRE) == 1);
    bo__order_lock(os, o);
    uint32_t changes = o->changes;
    if (o->status == BO_ORDER_PENDING) {
        rc = bo__order_settle_fetch(os, o); /* nothing to ask without an intent */
        if (rc == 0 && o->status == BO_ORDER_PENDING &&
            overdue(hold_status(os, o), o, bo__order_now_ms(os)))
            rc = bo__order_abandon(os, o, BO_ORDER_EXPIRED);
    } else if (o->status == BO_ORDER_REFUND_PENDING) {
        rc = bo__order_refund_finish(os, o);
    }
    if (o->changes == changes) /* else the next scan starts its schedule over */
        look_later(os, o, s->overdue);
    bo__order_unlock(o);
    bo__order_background_done(o);
    bo__order_put(os, o);
    (void)rc; /* a failure is tried again at the next look */
    uint64_t used = bo_pay_thread_requests() - before;
    __atomic_add_fetch(&rec->calls, used, __ATOMIC_RELAXED);
    if (used > s->reserved) /* a cancel after a retrieve, retries: paid now */
        bo__order_budget_charge(&rec->budget, (uint32_t)(used - s->reserved), bo__order_now_ms(os));
    free(s);
}

/* ---- the scan -------------------------------------------------------------------- */

/* Whether o (locked) is due now; fills d. A change since the last look
 * starts the schedule over: the first look BO_RECHECK_BASE_MS after it. */
static bool judge(bo_orders_t *os, bo_order_t *o, int64_t now, due_t *d)
{
    BO_ASSERT(bo_mutex_held(&o->mu));
    BO_ASSERT(o->status == BO_ORDER_PENDING || o->status == BO_ORDER_REFUND_PENDING);
    if (o->changes != o->looked_changes) {
        o->looked_changes = o->changes;
        o->looks = 0;
        o->looked_overdue = false;
        o->recheck_ms = o->updated_ms + bo__order_backoff_ms(0);
    }
    bool scheduled = now >= o->recheck_ms;
    *d = (due_t){.o = o, .since_ms = o->recheck_ms};
    if (o->status == BO_ORDER_REFUND_PENDING) {
        d->urgency = URG_REFUND;
        d->costs = true;
        return scheduled;
    }
    int hold = hold_status(os, o);
    d->costs = o->intent_id[0] != '\0';
    if (overdue(hold, o, now)) {
        d->urgency = URG_OVERDUE;
        d->overdue = true;
        d->since_ms = o->deadline_ms;
        return !o->looked_overdue || scheduled; /* at once when it became so */
    }
    d->urgency = hold == BO_HOLD_PAYING ? URG_PAYING : URG_WAITING;
    return d->costs && scheduled; /* without an intent there is nothing to ask */
}

static int push(struct bo_reconciler *rec, const due_t *d)
{
    if (rec->ndue == rec->cap) {
        size_t cap = rec->cap ? 2 * rec->cap : 256;
        due_t *a = realloc(rec->due, cap * sizeof(*a));
        if (!a)
            return BO_ENOMEM;
        rec->due = a;
        rec->cap = cap;
    }
    BO_ASSERT(rec->ndue < rec->cap);
    rec->due[rec->ndue++] = *d;
    return 0;
}

static int gather(void *arg, bo_order_t *o)
{
    struct bo_reconciler *rec = arg;
    int status = bo__order_status(o);
    due_t d;
    if (status != BO_ORDER_PENDING && status != BO_ORDER_REFUND_PENDING)
        return 0; /* settled since the walk began, without a lock */
    if (pthread_mutex_trylock(&o->mu))
        return 0; /* a step or a scan at the gate holds it: next time */
    bool due = (o->status == BO_ORDER_PENDING || o->status == BO_ORDER_REFUND_PENDING) &&
               judge(rec->os, o, bo__order_now_ms(rec->os), &d);
    pthread_mutex_unlock(&o->mu);
    if (!due)
        return 0;
    bo__order_pin(rec->os, o); /* until its step ends, or dispatch passes it */
    if (push(rec, &d) == 0)
        return 0;
    bo__order_put(rec->os, o);
    return 0; /* out of memory: this scan does what it has */
}

static int by_urgency(const void *a, const void *b)
{
    const due_t *x = a, *y = b;
    if (x->urgency != y->urgency)
        return x->urgency < y->urgency ? -1 : 1;
    return x->since_ms < y->since_ms ? -1 : x->since_ms > y->since_ms;
}

/* Queue the step of d, its order's background flag taken: 0, or BO_EBUSY
 * when the hook queue is full (the flag given back). */
static int queue(struct bo_reconciler *rec, const due_t *d, bool reserved)
{
    BO_ASSERT(__atomic_load_n(&d->o->background, __ATOMIC_ACQUIRE) == 1);
    step_t *s = malloc(sizeof(*s));
    if (!s) {
        bo__order_background_done(d->o);
        bo__order_put(rec->os, d->o);
        return BO_ENOMEM;
    }
    *s = (step_t){rec, d->o, d->overdue, reserved};
    int rc = bo__order_job(rec->os, BO_ORDER_POOL_HOOK, step_job, s); /* its pin goes with it */
    if (rc) {
        bo__order_background_done(d->o);
        bo__order_put(rec->os, d->o);
        free(s);
    }
    return rc;
}

/* The orders due, most urgent first, while the budget lasts: those that
 * cost a gateway request take a token, the others go whatever is left. */
static void dispatch(struct bo_reconciler *rec)
{
    uint64_t backlog = 0;
    bool short_of_tokens = false, queue_full = false;
    if (rec->ndue) /* qsort takes no NULL, even for nothing */
        qsort(rec->due, rec->ndue, sizeof(*rec->due), by_urgency);
    for (size_t i = 0; i < rec->ndue; i++) {
        const due_t *d = &rec->due[i];
        if (queue_full) {
            bo__order_put(rec->os, d->o);
            backlog++;
            continue;
        }
        if (!bo__order_background_try(d->o)) {
            bo__order_put(rec->os, d->o);
            continue; /* a step of this order is running: look again next time */
        }
        if (d->costs && !bo__order_budget_take(&rec->budget, bo__order_now_ms(rec->os))) {
            bo__order_background_done(d->o);
            bo__order_put(rec->os, d->o);
            short_of_tokens = true;
            backlog++;
            continue;
        }
        if (queue(rec, d, d->costs) != 0) {
            queue_full = true; /* its token is lost: the budget errs on the safe side */
            backlog++;
        }
    }
    rec->ndue = 0;
    __atomic_store_n(&rec->backlog, backlog, __ATOMIC_RELAXED);
    if (short_of_tokens)
        __atomic_add_fetch(&rec->exhausted, 1, __ATOMIC_RELAXED);
}

static void *reconciler(void *arg)
{
    struct bo_reconciler *rec = arg;
    pthread_mutex_lock(&rec->mu);
    while (!rec->stop) {
        pthread_mutex_unlock(&rec->mu);
        bo__order_each_unsettled(rec->os, gather, rec);
        dispatch(rec);
        pthread_mutex_lock(&rec->mu);
        if (rec->stop)
            break;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += (long)rec->os->reconcile_ms * 1000000L;
        ts.tv_sec += ts.tv_nsec / 1000000000L;
        ts.tv_nsec %= 1000000000L;
        pthread_cond_timedwait(&rec->cv, &rec->mu, &ts);
    }
    pthread_mutex_unlock(&rec->mu);
    return NULL;
}

/* ---- figures and wiring ------------------------------------------------------------- */

bool bo__order_reconcile_stats(bo_orders_t *os, bo_order_reconcile_stats_t *st)
{
    struct bo_reconciler *rec = os->reconciler;
    BO_ASSERT(st != NULL);
    if (!rec || !rec->started)
        return false;
    st->calls = __atomic_load_n(&rec->calls, __ATOMIC_RELAXED);
    st->exhausted = __atomic_load_n(&rec->exhausted, __ATOMIC_RELAXED);
    st->backlog = __atomic_load_n(&rec->backlog, __ATOMIC_RELAXED);
    st->budget_per_s = os->reconcile_budget_per_s;
    return true;
}

int bo__order_reconcile_start(bo_orders_t *os)
{
    struct bo_reconciler *rec = calloc(1, sizeof(*rec));
    if (!rec)
        return BO_ENOMEM;
    rec->os = os;
    pthread_mutex_init(&rec->mu, NULL);
    pthread_cond_init(&rec->cv, NULL);
    /* a second's worth at once, at most */
    bo__order_budget_init(&rec->budget, os->reconcile_budget_per_s, os->reconcile_budget_per_s,
                          bo__order_now_ms(os));
    os->reconciler = rec;
    if (!os->pay)
        return 0; /* nothing to reconcile with */
    if (pthread_create(&rec->thread, NULL, reconciler, rec))
        return BO_ENOMEM;
    rec->started = true;
    return 0;
}

void bo__order_reconcile_stop(bo_orders_t *os)
{
    struct bo_reconciler *rec = os->reconciler;
    if (!rec)
        return;
    pthread_mutex_lock(&rec->mu);
    rec->stop = true;
    pthread_cond_signal(&rec->cv);
    pthread_mutex_unlock(&rec->mu);
    if (rec->started)
        pthread_join(rec->thread, NULL);
    rec->started = false;
}

void bo__order_reconcile_free(bo_orders_t *os)
{
    struct bo_reconciler *rec = os->reconciler;
    if (!rec)
        return;
    bo__order_reconcile_stop(os);
    pthread_mutex_destroy(&rec->mu);
    pthread_cond_destroy(&rec->cv);
    bo__order_budget_destroy(&rec->budget);
    free(rec->due);
    free(rec);
    os->reconciler = NULL;
}
