/*
 * test_stress.c - many threads hammer overlapping seats and GA of live
 * events (live.h) over a real SQLite store, asynchronously (a bounded window
 * of calls in flight per thread), while a clock thread makes holds expire
 * and a reader thread checks the counts under the event's lock.
 *
 * Every answer is checked as it arrives (a refusal must be one the call
 * allows; some calls must succeed), and every acknowledged one (status 0)
 * is recorded with its log sequence. Afterwards, per event: the
 * acknowledgements cover the sequences 1..n exactly once; the log rows read
 * from the file are those mutations; replayed in sequence order at the
 * times the log gives, through a trivially simple model
 * (helpers/stress_model.h), none holds, sells or blocks a seat that is not
 * free or takes a GA area past its capacity; the model ends exactly in the
 * engine's state (every seat, GA counter, count and hold, and every hold
 * that was refused is absent), before and after a close and reopen; and the
 * database's sold and ga tables agree with it.
 *
 * Scale: BOXOFFICE_STRESS_SCALE unset gives ~1.8 + 1.2 s of load (~4 s in
 * all); "tsan" (make test-tsan) the same time with at most 20,000 calls per
 * thread, since ThreadSanitizer runs ~10x slower (~5 s); a number N
 * multiplies time and calls by N.
 *
 * A plain program (its own main()), since `make test-tsan` runs it under
 * ThreadSanitizer, where Criterion cannot start.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "boxoffice/error.h"
#include "boxoffice/u64map.h"
#include "live/record.h"
#include "helpers/live_fixture.h"
#include "helpers/plain_test.h"
#include "helpers/stress_model.h"

#define NTHREADS 8
#define WINDOW   16               /* calls in flight per thread */
#define POOL     128              /* holds a thread keeps track of */
#define NBLOCKS  2                /* block sets per thread */
#define MAXQ     SM_MAXQ          /* seats per hold or block */
#define HOT      32               /* explicit holds aim at seats [0, HOT) */
#define REGION   (HOT / NTHREADS) /* thread t blocks seats of [t * REGION, (t + 1) * REGION) */
#define MAXEV    8
#define TTL_MS   3000 /* on the manual clock, which moves TICK_MS per real ms */
#define TICK_MS  50
#define T0_MS    1700000000000

/* ---- what the threads record --------------------------------------------- */

enum kind {
    K_SEATS,
    K_BEST,
    K_GA,
    K_RELEASE,
    K_PAY,
    K_FAIL,
    K_CONFIRM,
    K_CANCEL,
    K_BLOCK,
    K_UNBLOCK,
    NKINDS
};
static const char *const kind_names[NKINDS] = {"hold-seats", "hold-best",  "hold-ga", "release",
                                               "pay-start",  "pay-failed", "confirm", "cancel",
                                               "block",      "unblock"};

enum wstate { W_FREE, W_NEW, W_HELD, W_PAYING, W_SOLD, W_DEAD };

struct whold {
    uint64_t n;
    int64_t exp;
    uint8_t ev, state, busy, nseats, nga;
    uint8_t abandoned; /* HELD or PAYING left alone until surely past its expiry */
    uint32_t seats[MAXQ];
    bo_ga_line_t ga[2];
};

struct wblock {
    uint8_t ev, n, state; /* 0 free, 1 blocking, 2 blocked, 3 unblocking */
    uint32_t seats[MAXQ];
};

struct call {
    fx_call_t base;
    uint8_t kind, ev, must; /* must: only success is a right answer */
    int idx;                /* index into holds or blocks */
    uint8_t nseats, nga, best;
    uint32_t seats[MAXQ];
    bo_ga_line_t ga[2];
};

struct run;

struct worker {
    struct run *run;
    int idx;
    pthread_t thread;
    uint64_t rng;
    fx_async_t *a;
    uint64_t nholds; /* holds numbered hold_base + [0, nholds) */
    struct whold holds[POOL];
    struct wblock blocks[NBLOCKS];
    sm_ack_t *acks;
    size_t nacks, cap;
    uint64_t issued[NKINDS];
    uint32_t refusals; /* in a row */
};

struct run {
    bo_live_t *live;
    bo_manual_clock_t clk;
    char *url, *path;
    uint32_t nevents, hot; /* events [0, hot) get load, the rest stay idle */
    uint64_t event[MAXEV];
    const bo_layout_t *layout[MAXEV];
    double seconds;
    uint64_t max_ops; /* per thread */
    atomic_int stop;
    atomic_ulong reads;
    pthread_mutex_t err_mu;
    int nerr;
    char err[512];
    struct worker w[NTHREADS];
};

static void fail(struct run *r, const char *fmt, ...)
{
    pthread_mutex_lock(&r->err_mu);
    if (r->nerr++ == 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(r->err, sizeof(r->err), fmt, ap);
        va_end(ap);
    }
    pthread_mutex_unlock(&r->err_mu);
}

static uint64_t rnd(uint64_t *s, uint64_t n)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s % n;
}

static uint64_t hold_base(int worker)
{
    return (uint64_t)(worker + 1) << 40;
}

/* k distinct seats among [base, base + span). */
static void pick_seats(uint64_t *rng, uint32_t base, uint32_t span, uint32_t k, uint32_t *out)
{
    for (uint32_t i = 0; i < k; i++) {
        uint32_t s;
        int dup;
        do {
            s = base + (uint32_t)rnd(rng, span);
            dup = 0;
            for (uint32_t j = 0; j < i; j++)
                dup |= out[j] == s;
        } while (dup);
        out[i] = s;
    }
}

/* ---- issuing calls ---------------------------------------------------------- */

/* A pool entry in one of the states of mask, not busy, or -1. */
static int find_hold(struct worker *w, unsigned mask)
{
    int start = (int)rnd(&w->rng, POOL);
    for (int j = 0; j < POOL; j++) {
        int i = (start + j) % POOL;
        struct whold *h = &w->holds[i];
        if (h->busy)
            continue;
        if (h->abandoned && (h->state == W_HELD || h->state == W_PAYING)) {
            /* Every later decision's time is at least the clock's now. */
            if (__atomic_load_n(&w->run->clk.now, __ATOMIC_ACQUIRE) < h->exp)
                continue;
            if (h->state == W_HELD)
                h->state = W_DEAD; /* expired */
            h->abandoned = 0;      /* PAYING: kept past its expiry, now anything goes */
        }
        if (mask >> h->state & 1)
            return i;
    }
    return -1;
}

static void issue_hold(struct worker *w, struct call *k, int kind)
{
    int i = find_hold(w, 1u << W_FREE | 1u << W_DEAD);
    const bo_layout_t *l = w->run->layout[k->ev];
    if (i < 0) {
        fx_async_drop(w->a, &k->base); /* the pool is busy: skip this turn */
        return;
    }
    struct whold *h = &w->holds[i];
    *h = (struct whold){
        .n = hold_base(w->idx) + w->nholds++, .ev = k->ev, .state = W_NEW, .busy = 1};
    bo_hold_req_t req = {.id = fx_id(h->n), .best_category = BO_NONE, .best_section = BO_NONE};
    if (kind == K_GA && l->nga == 0)
        kind = K_SEATS;
    if (kind == K_SEATS) {
        k->nseats = (uint8_t)(1 + rnd(&w->rng, MAXQ));
        pick_seats(&w->rng, (uint32_t)rnd(&w->rng, HOT - 7), 8, k->nseats, k->seats);
    } else if (kind == K_BEST) {
        k->best = (uint8_t)(1 + rnd(&w->rng, MAXQ));
        req.best_quantity = k->best;
        if (rnd(&w->rng, 4) == 0)
            req.best_category = (uint32_t)rnd(&w->rng, l->ncategories);
    }
    if (kind == K_GA || (kind == K_SEATS && l->nga && rnd(&w->rng, 6) == 0)) {
        k->nga = 1;
        k->ga[0] = (bo_ga_line_t){(uint32_t)rnd(&w->rng, l->nga), 1 + (uint32_t)rnd(&w->rng, 4)};
    }
    req.seats = k->seats;
    req.nseats = k->nseats;
    req.ga = k->ga;
    req.nga = k->nga;
    k->kind = (uint8_t)kind;
    k->idx = i;
    w->issued[kind]++;
    fx_live_hold(w->run->live, w->run->event[k->ev], &req, fx_async_done, k);
}

/* An operation on pool entry i (busy is counted here). */
static void issue_on(struct worker *w, struct call *k, int kind, int i)
{
    struct whold *h = &w->holds[i];
    bo_live_t *live = w->run->live;
    uint64_t event = w->run->event[h->ev];
    bo_hold_id_t id = fx_id(h->n);
    k->kind = (uint8_t)kind;
    k->ev = h->ev;
    k->idx = i;
    k->nseats = h->nseats;
    k->nga = h->nga;
    memcpy(k->seats, h->seats, sizeof(k->seats));
    memcpy(k->ga, h->ga, sizeof(k->ga));
    /* PAYING and SOLD holds neither expire nor change but by their owner. */
    k->must = h->busy == 0 && (h->state == W_PAYING || h->state == W_SOLD);
    h->busy++;
    w->issued[kind]++;
    switch (kind) {
    case K_RELEASE:
        fx_live_release(live, event, &id, fx_async_done, k);
        break;
    case K_PAY:
        fx_live_pay_start(live, event, &id, T0_MS + 1000000000, fx_async_done, k);
        break;
    case K_FAIL:
        fx_live_pay_failed(live, event, &id, fx_async_done, k);
        break;
    case K_CONFIRM:
        /* Passing the hold's content makes a confirm after expiry a late
         * payment: the seats are taken again if they are still free. */
        fx_live_confirm(live, event, &id, k->seats, k->nseats, k->ga, k->nga, 0, 0, fx_async_done,
                        k);
        break;
    case K_CANCEL:
        fx_live_cancel(live, event, &id, fx_async_done, k);
        break;
    }
}

/* Does seat set a (n seats) share a seat with another of the thread's sets
 * that is not free? */
static int overlaps(const struct worker *w, const struct wblock *a)
{
    for (int j = 0; j < NBLOCKS; j++) {
        const struct wblock *b = &w->blocks[j];
        for (uint32_t x = 0; b != a && b->state && x < a->n; x++)
            for (uint32_t y = 0; y < b->n; y++)
                if (a->seats[x] == b->seats[y])
                    return 1;
    }
    return 0;
}

/* Block a new set of seats of the thread's own region (holds of every
 * thread compete for them), retry the block of a blocked set (it must
 * succeed and change nothing), or unblock one (it must succeed: sets of one
 * thread never overlap, other threads never block here). */
static void issue_block(struct worker *w, struct call *k, int unblock)
{
    int i = (int)rnd(&w->rng, NBLOCKS);
    struct wblock *b = &w->blocks[i];
    int retry = !unblock && b->state == 2 && rnd(&w->rng, 3) == 0;
    if (b->state != (unblock || retry ? 2 : 0)) {
        fx_async_drop(w->a, &k->base);
        return;
    }
    if (!unblock && !retry) {
        b->ev = k->ev;
        b->n = (uint8_t)(1 + rnd(&w->rng, 3));
        pick_seats(&w->rng, (uint32_t)w->idx * REGION, REGION, b->n, b->seats);
        if (overlaps(w, b)) {
            fx_async_drop(w->a, &k->base);
            return;
        }
    }
    b->state = unblock ? 3 : 1;
    k->kind = unblock ? K_UNBLOCK : K_BLOCK;
    k->ev = b->ev;
    k->idx = i;
    k->must = (uint8_t)(unblock || retry);
    k->nseats = b->n;
    memcpy(k->seats, b->seats, sizeof(k->seats));
    w->issued[k->kind]++;
    fx_live_block(w->run->live, w->run->event[b->ev], b->seats, b->n, unblock, fx_async_done, k);
}

static void issue(struct worker *w, struct call *k)
{
    static const struct {
        int kind, pct;
        unsigned from;
    } mix[] = {
        {K_SEATS, 20, 0},
        {K_BEST, 8, 0},
        {K_GA, 6, 0},
        {K_RELEASE, 12, 1u << W_HELD | 1u << W_PAYING},
        {K_PAY, 10, 1u << W_HELD},
        {K_CONFIRM, 12, 1u << W_HELD | 1u << W_PAYING},
        {K_CONFIRM, 3, 1u << W_DEAD}, /* late payment */
        {K_FAIL, 6, 1u << W_PAYING},
        {K_CANCEL, 15, 1u << W_SOLD},
        {K_BLOCK, 5, 0},
        {K_UNBLOCK, 3, 0},
    };
    int r = (int)rnd(&w->rng, 100), m = 0;
    while (r >= mix[m].pct)
        r -= mix[m++].pct;
    k->ev = (uint8_t)rnd(&w->rng, w->run->hot);
    int kind = mix[m].kind, i = -1;
    if (kind == K_BLOCK || kind == K_UNBLOCK) {
        issue_block(w, k, kind == K_UNBLOCK);
        return;
    }
    if (mix[m].from)
        i = find_hold(w, mix[m].from);
    if (i < 0 || (w->holds[i].state == W_DEAD && w->holds[i].nseats + w->holds[i].nga == 0)) {
        issue_hold(w, k, mix[m].from ? K_SEATS : kind); /* nothing to act on: a new hold */
        return;
    }
    issue_on(w, k, kind, i);
    /* Now and then the opposite answer races it on the same hold. */
    if ((kind == K_RELEASE || kind == K_CONFIRM) && rnd(&w->rng, 16) == 0) {
        struct call *k2 = (struct call *)fx_async_begin(w->a);
        if (k2)
            issue_on(w, k2, kind == K_RELEASE ? K_CONFIRM : K_RELEASE, i);
    }
}

/* ---- answers ------------------------------------------------------------------ */

/* Is status a right refusal of call k? */
static int refusal_ok(const struct call *k, int status)
{
    if (k->must)
        return 0;
    switch (k->kind) {
    case K_SEATS:
    case K_GA:
    case K_BLOCK:
        return status == BO_EUNAVAILABLE;
    case K_BEST:
        return status == BO_ENOSEATS;
    case K_CONFIRM:
        return status == BO_EUNAVAILABLE || status == BO_ESTATE;
    default:
        return status == BO_ENOTFOUND || status == BO_ESTATE;
    }
}

/* The answer of a hold says what was asked: the seats in request order
 * (best available: ascending), or only requested seats as unavailable. */
static void check_hold_answer(struct worker *w, struct call *k, const bo_live_result_t *r)
{
    const bo_hold_res_t *res = &r->res;
    if (r->status == 0 && k->kind == K_BEST) {
        int ok = res->nseats == k->best;
        for (uint32_t i = 1; ok && i < res->nseats; i++)
            ok = res->seats[i - 1] < res->seats[i];
        if (!ok)
            fail(w->run, "best available of %u gave %u seats", k->best, res->nseats);
        k->nseats = (uint8_t)res->nseats;
        memcpy(k->seats, res->seats, k->nseats * sizeof(uint32_t));
    } else if (r->status == 0) {
        if (res->nseats != k->nseats || memcmp(res->seats, k->seats, k->nseats * 4) != 0)
            fail(w->run, "hold answered with other seats than asked");
    } else if (r->status == BO_EUNAVAILABLE) {
        if (res->nunavailable + res->nga_short == 0)
            fail(w->run, "EUNAVAILABLE without a reason");
        for (uint32_t i = 0; i < res->nunavailable; i++) {
            int asked = 0;
            for (uint32_t j = 0; j < k->nseats; j++)
                asked |= res->unavailable[i] == k->seats[j];
            if (!asked)
                fail(w->run, "seat %u reported unavailable was not asked", res->unavailable[i]);
        }
    }
}

static void record(struct worker *w, const struct call *k, const bo_live_result_t *r)
{
    if (w->nacks == w->cap) {
        w->cap = w->cap ? 2 * w->cap : 4096;
        w->acks = realloc(w->acks, w->cap * sizeof(*w->acks));
        if (!w->acks)
            abort(); /* not the test's thread: no assertion here */
    }
    static const uint8_t ops[NKINDS] = {
        BO_MUT_HOLD,       BO_MUT_HOLD,    BO_MUT_HOLD,   BO_MUT_RELEASE, BO_MUT_PAY_START,
        BO_MUT_PAY_FAILED, BO_MUT_CONFIRM, BO_MUT_CANCEL, BO_MUT_BLOCK,   BO_MUT_UNBLOCK};
    int blk = k->kind == K_BLOCK || k->kind == K_UNBLOCK;
    sm_ack_t *a = &w->acks[w->nacks++];
    *a = (sm_ack_t){.seq = r->seq,
                    .hold = blk ? 0 : w->holds[k->idx].n,
                    .expires_at_ms = r->res.expires_at_ms,
                    .amount_cents = r->res.amount_cents,
                    .ev = k->ev,
                    .op = ops[k->kind],
                    .kind = k->kind,
                    .released = (uint8_t)r->released,
                    .nseats = k->nseats,
                    .nga = k->nga};
    memcpy(a->seats, k->seats, sizeof(a->seats));
    memcpy(a->ga, k->ga, sizeof(a->ga));
    if (r->seq == 0)
        fail(w->run, "an acknowledgement without a log sequence");
}

/* What an answer tells the thread about its hold. */
static void learn(struct whold *h, const struct call *k, const bo_live_result_t *r)
{
    int st = r->status;
    switch (k->kind) {
    case K_SEATS:
    case K_BEST:
    case K_GA:
        h->state = st ? W_FREE : W_HELD;
        h->exp = r->res.expires_at_ms;
        h->nseats = k->nseats;
        h->nga = k->nga;
        memcpy(h->seats, k->seats, sizeof(h->seats));
        memcpy(h->ga, k->ga, sizeof(h->ga));
        break;
    case K_RELEASE:
    case K_CANCEL:
        if (st == 0 || st == BO_ENOTFOUND)
            h->state = W_DEAD;
        break;
    case K_PAY:
        h->state = st == 0 ? W_PAYING : st == BO_ENOTFOUND ? W_DEAD : h->state;
        break;
    case K_FAIL:
        h->state = st == 0 ? (r->released ? W_DEAD : W_HELD) : h->state;
        break;
    case K_CONFIRM:
        h->state = st == 0 ? W_SOLD : st == BO_EUNAVAILABLE ? W_DEAD : h->state;
        break;
    }
}

static void answer(struct worker *w, fx_call_t *c)
{
    struct call *k = (struct call *)c;
    const bo_live_result_t *r = &c->r;
    if (r->status != 0 && !refusal_ok(k, r->status))
        fail(w->run, "%s answered %s (%d)", kind_names[k->kind], bo_strerror(r->status), r->status);
    if (k->kind <= K_GA)
        check_hold_answer(w, k, r);
    if (r->status == 0)
        record(w, k, r);
    w->refusals = r->status ? w->refusals + 1 : 0;
    if (k->kind == K_BLOCK || k->kind == K_UNBLOCK) {
        struct wblock *b = &w->blocks[k->idx];
        b->state = (k->kind == K_BLOCK) == (r->status == 0) ? 2 : 0;
    } else {
        struct whold *h = &w->holds[k->idx];
        learn(h, k, r);
        h->busy--;
        /* Some holds are left to expire, some payments take their time. */
        if (k->kind <= K_GA || (k->kind == K_PAY && r->status == 0))
            h->abandoned = rnd(&w->rng, 4) == 0;
    }
    fx_async_end(w->a, c);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    fx_call_t *c;
    for (uint64_t ops = 0; ops < w->run->max_ops && !atomic_load(&w->run->stop);) {
        while ((c = fx_async_take(w->a, 0)))
            answer(w, c);
        /* Refusals come at once: a thread that only gets those waits for
         * an answer from the committer rather than starve it of a CPU. */
        if (w->refusals >= 16 && (c = fx_async_take(w->a, 1))) {
            answer(w, c);
            continue;
        }
        struct call *k = (struct call *)fx_async_begin(w->a);
        if (!k) {
            if ((c = fx_async_take(w->a, 1)))
                answer(w, c);
            continue;
        }
        issue(w, k);
        ops++;
    }
    while ((c = fx_async_take(w->a, 1)))
        answer(w, c);
    return NULL;
}

/* ---- the clock and the reader ------------------------------------------------- */

static void sleep_us(long us)
{
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
    nanosleep(&ts, NULL);
}

static void *ticker_main(void *arg)
{
    struct run *r = arg;
    for (uint32_t t = 0; !atomic_load(&r->stop); t++) {
        sleep_us(1000);
        bo_manual_clock_advance(&r->clk, TICK_MS);
        if (t % 16 == 0)
            bo_live_sweep(r->live);
    }
    return NULL;
}

/* Under the event's lock: the counts add up and GA stays within capacity. */
static int check_counts(void *arg, const bo_inv_t *inv, int64_t now_ms)
{
    const bo_layout_t *l = bo_inv_layout(inv);
    bo_inv_counts_t c;
    bo_inv_counts(inv, now_ms, &c);
    uint32_t cats = 0;
    for (uint32_t i = 0; i < l->ncategories; i++)
        cats += bo_inv_category_available(inv, i, now_ms);
    int bad = c.held + c.sold + c.available + c.blocked != c.total || c.total != l->nseats ||
              cats != c.available;
    for (uint32_t a = 0; a < l->nga; a++)
        bad |= (uint64_t)bo_inv_ga_available(inv, a, now_ms) + bo_inv_ga_sold(inv, a) >
               l->ga[a].capacity;
    return bad;
}

static void *reader_main(void *arg)
{
    struct run *r = arg;
    while (!atomic_load(&r->stop)) {
        for (uint32_t e = 0; e < r->nevents; e++)
            if (bo_live_read(r->live, r->event[e], check_counts, NULL) != 0)
                fail(r, "event %u: counts do not add up during the run", e);
        atomic_fetch_add(&r->reads, 1);
        sleep_us(200);
    }
    return NULL;
}

/* ---- checks after the run --------------------------------------------------------- */

/* Every hold number any thread used, probed on event e, against the model. */
static void check_holds(const sm_model_t *m, struct run *r, uint32_t e)
{
    for (int t = 0; t < NTHREADS; t++) {
        for (uint64_t k = 0; k < r->w[t].nholds; k++) {
            uint64_t n = hold_base(t) + k;
            const sm_hold_t *h = sm_get(m, n);
            uint8_t want = h ? h->st : BO_HOLD_NONE;
            fx_hold_t v;
            int rc = fx_get_hold(r->live, r->event[e], fx_id(n), &v);
            CHECK_EQ(rc == 0 ? v.status : BO_HOLD_NONE, want,
                     "event %u hold %llx: engine %u, model %u", e, (unsigned long long)n,
                     rc == 0 ? v.status : 0, want);
            if (rc)
                continue;
            CHECK(v.nseats == h->nseats && v.nga == h->nga &&
                      memcmp(v.seats, h->seats, h->nseats * sizeof(uint32_t)) == 0 &&
                      memcmp(v.ga, h->ga, h->nga * sizeof(bo_ga_line_t)) == 0,
                  "event %u hold %llx: other seats or GA", e, (unsigned long long)n);
            CHECK_EQ(v.pay_failures, h->failures);
            if (want != BO_HOLD_SOLD)
                CHECK_EQ(v.expires_at_ms, h->exp);
        }
    }
}

/* The acknowledgements of event e, indexed by seq - 1: exactly one per seq
 * from 1 to their count (nothing acknowledged twice, no gap). */
static sm_ack_t **acks_of(struct run *r, uint32_t e, size_t *n)
{
    *n = 0;
    for (int t = 0; t < NTHREADS; t++)
        for (size_t i = 0; i < r->w[t].nacks; i++)
            *n += r->w[t].acks[i].ev == e;
    sm_ack_t **by_seq = calloc(*n ? *n : 1, sizeof(*by_seq));
    CHECK_NOT_NULL(by_seq);
    for (int t = 0; t < NTHREADS; t++) {
        for (size_t i = 0; i < r->w[t].nacks; i++) {
            sm_ack_t *a = &r->w[t].acks[i];
            if (a->ev != e)
                continue;
            CHECK(a->seq >= 1 && a->seq <= *n, "event %u: seq %llu of %zu acknowledged", e,
                  (unsigned long long)a->seq, *n);
            CHECK_NULL(by_seq[a->seq - 1], "event %u: seq %llu acknowledged twice", e,
                       (unsigned long long)a->seq);
            by_seq[a->seq - 1] = a;
        }
    }
    return by_seq;
}

static fx_state_t *capture_all(struct run *r)
{
    fx_state_t *s = calloc(r->nevents, sizeof(*s));
    for (uint32_t e = 0; e < r->nevents; e++)
        CHECK_EQ(fx_capture(r->live, r->event[e], &s[e]), 0);
    return s;
}

static void check_db(struct run *r, const fx_state_t *s)
{
    char why[200];
    for (uint32_t e = 0; e < r->nevents; e++)
        CHECK_EQ(fx_db_check_sales(r->path, r->event[e], &s[e], why, sizeof(why)), 0,
                 "event %u: %s", e, why);
}

static void refresh_layouts(struct run *r, const uint64_t *venue)
{
    for (uint32_t e = 0; e < r->nevents; e++) {
        r->layout[e] = bo_live_venue(r->live, venue[e]);
        CHECK_NOT_NULL(r->layout[e]);
    }
}

/* Everything after the load: the acknowledgements against the file's log,
 * the model against the engine, a reopen, and the database's own tables. */
static void check_run(struct run *r, const uint64_t *venue, uint64_t *stats)
{
    int64_t now = r->clk.now;
    fx_state_t *before = capture_all(r);
    sm_model_t *m = calloc(r->nevents, sizeof(*m));
    for (uint32_t e = 0; e < r->nevents; e++) {
        size_t n;
        CHECK_EQ(fx_db_snapshot_seq(r->path, r->event[e]), 0, "event %u: a snapshot", e);
        sm_ack_t **by_seq = acks_of(r, e, &n);
        sm_log_check_t lc = {.by_seq = by_seq, .n = n};
        CHECK_EQ(fx_db_log_each(r->path, r->event[e], sm_log_visit, &lc), 0, "event %u: %s", e,
                 lc.err);
        CHECK_EQ(lc.next, n, "event %u: %llu log records, %zu acknowledged", e,
                 (unsigned long long)lc.next, n);
        sm_check_sold_once(by_seq, n, r->layout[e], e);
        sm_init(&m[e], r->layout[e], TTL_MS);
        for (size_t i = 0; i < n; i++)
            CHECK_EQ(sm_apply(&m[e], by_seq[i]), 0, "event %u: %s", e, m[e].err);
        sm_sweep(&m[e], now);
        sm_check_state(&m[e], &before[e], e);
        check_holds(&m[e], r, e);
        stats[0] += m[e].expired;
        stats[1] += m[e].late;
        stats[2] += m[e].third_failures;
        stats[3] += m[e].failed_past_expiry;
        stats[4] += m[e].paid_past_expiry;
        if (e >= r->hot)
            CHECK_EQ(n, 0, "idle event %u has acknowledgements", e);
        free(by_seq);
    }
    check_db(r, before);

    bo_live_close(r->live);
    CHECK_EQ(bo_live_open(r->url, &r->clk.base, &r->live), 0);
    refresh_layouts(r, venue);
    fx_state_t *after = capture_all(r);
    for (uint32_t e = 0; e < r->nevents; e++) {
        CHECK(fx_state_eq(&before[e], &after[e]), "event %u differs after reopen", e);
        m[e].l = r->layout[e];
        check_holds(&m[e], r, e);
        sm_free(&m[e]);
        fx_state_free(&before[e]);
    }
    check_db(r, after);
    for (uint32_t e = 0; e < r->nevents; e++)
        fx_state_free(&after[e]);
    free(before);
    free(after);
    free(m);
}

/* ---- the runs ----------------------------------------------------------------------- */

/* Seconds of load and operations per thread for this scale. */
static void scale(struct run *r, double seconds)
{
    const char *s = getenv("BOXOFFICE_STRESS_SCALE");
    r->seconds = seconds;
    r->max_ops = 400000;
    if (s && strcmp(s, "tsan") == 0) {
        r->max_ops = 20000; /* the same time, but ~10x slower calls */
    } else if (s && atof(s) > 0) {
        r->seconds = seconds * atof(s);
        r->max_ops = (uint64_t)(r->max_ops * atof(s));
    }
}

static void add_event(struct run *r, uint64_t venue, uint64_t event)
{
    bo_inv_config_t cfg = {.hold_ttl_ms = TTL_MS};
    for (uint32_t c = 0; c < BO_LAYOUT_MAX_CATEGORIES; c++)
        cfg.price_cents[c] = 1000 * (c + 1);
    bo_live_wait_t *w = bo_live_wait_new();
    bo_live_add_event(r->live, event, venue, "{}", &cfg, bo_live_wait_done, w);
    CHECK_EQ(bo_live_wait(w, NULL), 0);
    bo_live_wait_free(w);
    r->event[r->nevents++] = event;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Load events [0, hot) from NTHREADS threads, then check everything. */
static void run_load(struct run *r, const uint64_t *venue, const char *name)
{
    pthread_t ticker, reader;
    double t0 = now_s();
    refresh_layouts(r, venue);
    for (int t = 0; t < NTHREADS; t++) {
        struct worker *w = &r->w[t];
        w->run = r;
        w->idx = t;
        w->rng = 0x9e3779b97f4a7c15ull * (uint64_t)(t + 1) ^ (uint64_t)time(NULL);
        w->a = fx_async_new(WINDOW, sizeof(struct call), NULL);
        CHECK_NOT_NULL(w->a);
    }
    CHECK_EQ(pthread_create(&ticker, NULL, ticker_main, r), 0);
    CHECK_EQ(pthread_create(&reader, NULL, reader_main, r), 0);
    for (int t = 0; t < NTHREADS; t++)
        CHECK_EQ(pthread_create(&r->w[t].thread, NULL, worker_main, &r->w[t]), 0);
    while (now_s() - t0 < r->seconds)
        sleep_us(10000);
    atomic_store(&r->stop, 1);
    for (int t = 0; t < NTHREADS; t++)
        pthread_join(r->w[t].thread, NULL);
    pthread_join(ticker, NULL);
    pthread_join(reader, NULL);
    double t1 = now_s();
    bo_store_stats_t st;
    bo_store_get_stats(bo_live_store(r->live), &st);
    fprintf(stderr, "%s: %llu commits, %.2f ms each, largest batch %llu\n", name,
            (unsigned long long)st.commits,
            st.commits ? st.commit_us_total / 1000.0 / (double)st.commits : 0.0,
            (unsigned long long)st.max_batch);
    CHECK_EQ(r->nerr, 0, "%d wrong answers, the first: %s", r->nerr, r->err);

    uint64_t acked[NKINDS] = {0}, issued[NKINDS] = {0}, stats[5] = {0}, total = 0;
    for (int t = 0; t < NTHREADS; t++) {
        for (size_t i = 0; i < r->w[t].nacks; i++)
            acked[r->w[t].acks[i].kind]++;
        for (int k = 0; k < NKINDS; k++)
            issued[k] += r->w[t].issued[k];
        total += r->w[t].nacks;
    }
    check_run(r, venue, stats);
    fprintf(stderr, "%s: %.2f s load, %llu acknowledged, %.2f s checks, %lu reads;", name, t1 - t0,
            (unsigned long long)total, now_s() - t1, atomic_load(&r->reads));
    for (int k = 0; k < NKINDS; k++)
        fprintf(stderr, " %s %llu/%llu", kind_names[k], (unsigned long long)acked[k],
                (unsigned long long)issued[k]);
    fprintf(stderr,
            "; expired %llu, late confirms %llu, third failures %llu, failed after expiry %llu,"
            " paid after expiry %llu\n",
            (unsigned long long)stats[0], (unsigned long long)stats[1],
            (unsigned long long)stats[2], (unsigned long long)stats[3],
            (unsigned long long)stats[4]);
    /* The load must have exercised every path, or the test proves little. */
    for (int k = 0; k < NKINDS; k++)
        CHECK_GEQ(acked[k], 3, "only %llu %s acknowledged", (unsigned long long)acked[k],
                  kind_names[k]);
    CHECK(stats[0] >= 3 && stats[1] >= 1 && stats[3] >= 1 && stats[4] >= 1,
          "too few expiries, late confirms or payments after expiry");
    for (int t = 0; t < NTHREADS; t++) {
        fx_async_free(r->w[t].a);
        free(r->w[t].acks);
    }
}

static struct run *run_new(double seconds)
{
    struct run *r = calloc(1, sizeof(*r));
    CHECK_NOT_NULL(r);
    pthread_mutex_init(&r->err_mu, NULL);
    scale(r, seconds);
    bo_manual_clock_init(&r->clk, T0_MS);
    r->url = fx_temp_db(&r->path);
    CHECK_EQ(bo_live_open(r->url, &r->clk.base, &r->live), 0);
    /* The replay takes each decision's time from its log row, so no snapshot
     * may drop rows (the crash test covers snapshots). */
    bo_live_set_snapshot_every(r->live, UINT64_MAX);
    return r;
}

static void run_free(struct run *r)
{
    bo_live_close(r->live);
    fx_remove_db(r->path);
    free(r->url);
    free(r->path);
    pthread_mutex_destroy(&r->err_mu);
    free(r);
}

/* One hot event: 120 seats (32 of them hot) and two GA areas of 40. */
static void one_hot_event(void)
{
    struct run *r = run_new(1.8);
    uint64_t venue[] = {3};
    CHECK_EQ(fx_venue_event(r->live, 3, 7, 2, 5, 12, 2, 40, TTL_MS, 0), 0);
    r->event[r->nevents++] = 7;
    r->hot = 1;
    run_load(r, venue, "one_hot_event");
    run_free(r);
}

/* Four hot events on two venues at once, and one idle event that must stay
 * untouched: an event's answers, log and state depend on its calls alone. */
static void several_events(void)
{
    struct run *r = run_new(1.2);
    uint64_t venue[] = {3, 3, 3, 4, 3};
    CHECK_EQ(fx_venue_event(r->live, 3, 11, 2, 4, 10, 2, 30, TTL_MS, 0), 0);
    r->event[r->nevents++] = 11;
    add_event(r, 3, 12);
    add_event(r, 3, 13);
    CHECK_EQ(fx_venue_event(r->live, 4, 21, 1, 3, 12, 1, 20, TTL_MS, 0), 0);
    r->event[r->nevents++] = 21;
    add_event(r, 3, 14);
    r->hot = 4;
    run_load(r, venue, "several_events");
    run_free(r);
}

int main(void)
{
    pt_deadline(600);
    pt_run("stress: one_hot_event", one_hot_event);
    pt_run("stress: several_events", several_events);
    return 0;
}
