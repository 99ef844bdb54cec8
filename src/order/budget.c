/*
 * budget.c - the reconciler's gateway budget and its schedule of looks
 * (order_internal.h "budget.c"): pure arithmetic on times given by the caller, so
 * that the unit tests drive it with a clock of their own.
 *
 *  - The budget is one token bucket for every gateway request the
 *    reconciler makes (reconcile.c): --reconcile-budget-per-s tokens a
 *    second, at most a second's worth saved. A step takes one token before
 *    it is queued; the requests it made beyond that (a cancel after a
 *    retrieve, the adapter's retries) are charged when it ends, and may
 *    leave the bucket in debt, which later steps wait out. So over any
 *    window of W seconds the reconciler sends at most per_s * W + burst
 *    requests, plus the extra requests of the steps still running.
 *  - The schedule: an order that did not change is asked again after 1 s,
 *    2 s, 4 s ... up to 5 minutes (bo__order_backoff_ms); any change starts over.
 *
 * Workload: one take per reconciler step queued and one charge per step
 * ended (a few tens a second at most), from the reconciler's thread and the
 * hook workers: one mutex.
 */
#include "order/order_internal.h"

#define MILLI 1000 /* tokens are counted in thousandths */

void bo__order_budget_init(bo_order_budget_t *b, uint32_t per_s, uint32_t burst, int64_t now_ms)
{
    BO_ASSERT(b != NULL && per_s > 0 && burst > 0);
    pthread_mutex_init(&b->mu, NULL);
    b->per_s = per_s;
    b->burst = burst;
    b->tokens_m = (int64_t)burst * MILLI;
    b->last_ms = now_ms;
}

void bo__order_budget_destroy(bo_order_budget_t *b)
{
    pthread_mutex_destroy(&b->mu);
}

/* Refill up to now_ms (b->mu held): per_s thousandths of a token a ms. */
static void refill(bo_order_budget_t *b, int64_t now_ms)
{
    int64_t full = (int64_t)b->burst * MILLI, dt = now_ms - b->last_ms;
    BO_ASSERT(bo_mutex_held(&b->mu) && b->per_s > 0 && b->tokens_m <= full);
    if (dt <= 0)
        return; /* a clock that went back adds nothing */
    b->last_ms = now_ms;
    if (b->tokens_m >= full)
        return;
    /* dt is capped so that the product cannot overflow: past the time to
     * refill from the deepest debt, the bucket is full anyway */
    int64_t cap_ms = (full - b->tokens_m) / b->per_s + 1;
    BO_ASSERT(cap_ms > 0);
    b->tokens_m += (dt < cap_ms ? dt : cap_ms) * (int64_t)b->per_s;
    if (b->tokens_m > full)
        b->tokens_m = full;
    BO_ASSERT(b->tokens_m <= full);
}

bool bo__order_budget_take(bo_order_budget_t *b, int64_t now_ms)
{
    pthread_mutex_lock(&b->mu);
    refill(b, now_ms);
    bool ok = b->tokens_m >= MILLI;
    if (ok)
        b->tokens_m -= MILLI;
    BO_ASSERT(!ok || b->tokens_m >= 0); /* a take never makes debt, only charges do */
    pthread_mutex_unlock(&b->mu);
    return ok;
}

void bo__order_budget_charge(bo_order_budget_t *b, uint32_t n, int64_t now_ms)
{
    pthread_mutex_lock(&b->mu);
    refill(b, now_ms);
    int64_t before = b->tokens_m;
    b->tokens_m -= (int64_t)n * MILLI;
    BO_ASSERT(b->tokens_m <= before); /* no wrap: n is at most UINT32_MAX thousand */
    pthread_mutex_unlock(&b->mu);
}

int64_t bo__order_budget_tokens_m(bo_order_budget_t *b, int64_t now_ms)
{
    pthread_mutex_lock(&b->mu);
    refill(b, now_ms);
    int64_t t = b->tokens_m;
    pthread_mutex_unlock(&b->mu);
    return t;
}

int64_t bo__order_backoff_ms(uint32_t looks)
{
    if (looks >= 30)
        return BO_RECHECK_MAX_MS;
    int64_t d = (int64_t)BO_RECHECK_BASE_MS << looks;
    BO_ASSERT(d >= BO_RECHECK_BASE_MS);
    return d < BO_RECHECK_MAX_MS ? d : BO_RECHECK_MAX_MS;
}
