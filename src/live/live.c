/*
 * live.c - decisions about live events (live.h bo_live_apply): apply under
 * the event's lock (record.c's one switch, shared with replay), queue the
 * record, answer after the commit; roll back on a failed commit.
 *
 * Workload: ~10^5 holds/s on one hot event. Under the lock: one engine call,
 * one record encode, one queue append. After the commit, on the committer
 * thread: one atomic store and the caller's callback; the journal of
 * committed decisions is dropped lazily by the next decision, so a
 * successful commit never takes the event's lock.
 */
#include <stdlib.h>
#include <string.h>

#include "boxoffice/error.h"
#include "live/live_internal.h"
#include "live/record.h"
#include "util/assert.h"

struct op {
    bo_rec_t rec;
    struct event *ev;
    bo_store_t *store;
    uint64_t gen;
    bo_jpos_t jbefore, jafter;
    bo_live_done_fn done;
    void *arg;
    bo_live_result_t r;
    uint32_t nsold;
    struct op *cancelled; /* next in roll_back's list */
    int32_t *ga_delta;    /* nga entries, into tail */
    uint8_t *body;        /* into tail */
    uint32_t *sold;       /* into tail */
    uint8_t tail[];
};

int bo__live_finish(bo_live_done_fn done, void *arg, int status)
{
    bo_live_result_t r;
    memset(&r, 0, sizeof(r));
    r.status = status;
    done(arg, &r);
    return status;
}

/* An op with room for a record of up to nseats seats (body_cap bytes of
 * body; 0: the most such a record needs). */
static struct op *op_new(const bo_layout_t *l, uint32_t nseats, size_t body_cap,
                         bo_live_done_fn done, void *arg)
{
    bo_mut_t worst = {.nseats = nseats, .nga = BO_HOLD_MAX_GA};
    size_t ga = (size_t)l->nga * sizeof(int32_t), sold = (size_t)nseats * sizeof(uint32_t);
    size_t body = body_cap ? body_cap : bo_mut_max_size(&worst);
    struct op *op = calloc(1, sizeof(*op) + ga + sold + body);
    if (!op)
        return NULL;
    op->done = done;
    op->arg = arg;
    op->ga_delta = (int32_t *)op->tail;
    op->sold = (uint32_t *)(op->tail + ga);
    op->body = op->tail + ga + sold;
    return op;
}

static void op_complete(struct op *op, int status)
{
    BO_ASSERT(op != NULL && op->done != NULL);
    op->r.status = status;
    op->r.seq = op->rec.seq;
    op->done(op->arg, &op->r);
    free(op);
}

/* While roll_back cancels, the calls it takes back, to be answered once it
 * released the event's lock: an answer may call back into the live layer. */
static _Thread_local struct op **cancelled_tail;

/* The first failure of a generation rolls the event back to just before the
 * failed decision and cancels every later one still queued. Returns those,
 * not yet answered, in submission order. */
static struct op *roll_back(struct op *op)
{
    struct event *ev = op->ev;
    struct op *cancelled = NULL;
    pthread_mutex_lock(&ev->mu);
    if (ev->gen == op->gen) {
        BO_ASSERT(op->rec.seq > 0 && op->rec.seq <= ev->seq); /* still queued or later */
        __atomic_store_n(&ev->gen, ev->gen + 1, __ATOMIC_RELEASE);
        cancelled_tail = &cancelled;
        bo_store_cancel(op->store, ev->id, op->rec.seq);
        cancelled_tail = NULL;
        bo_inv_rollback(ev->inv, op->jbefore);
        ev->seq = op->rec.seq - 1;
        if (ev->snap_seq > ev->seq) /* that snapshot never happened */
            ev->snap_seq = 0;
    }
    pthread_mutex_unlock(&ev->mu);
    return cancelled;
}

static void op_committed(bo_rec_t *rec, int status)
{
    struct op *op = (struct op *)rec, *later = NULL;
    if (status == BO_ECANCELED && cancelled_tail) {
        op->cancelled = NULL;
        *cancelled_tail = op;
        cancelled_tail = &op->cancelled;
        return;
    }
    BO_ASSERT(status <= 0);
    if (status == 0)
        __atomic_store_n(&op->ev->committed, op->jafter, __ATOMIC_RELEASE);
    else if (__atomic_load_n(&op->ev->gen, __ATOMIC_ACQUIRE) == op->gen)
        later = roll_back(op);
    op_complete(op, status);
    while (later) {
        struct op *next = later->cancelled;
        op_complete(later, BO_ECANCELED);
        later = next;
    }
}

/* The sold seats and GA tickets the database checks, from the decision. */
static void set_constraints(struct op *op, const bo_inv_t *inv, const bo_mut_effect_t *fx)
{
    BO_ASSERT(fx->sign >= -1 && fx->sign <= 1);
    op->nsold = fx->nsold;
    op->rec.nga_delta = bo_inv_layout(inv)->nga;
    op->rec.ga_sold_delta = op->ga_delta;
    if (fx->sign > 0) {
        op->rec.sold_add = op->sold;
        op->rec.nsold_add = op->nsold;
    } else if (fx->sign < 0) {
        op->rec.sold_del = op->sold;
        op->rec.nsold_del = op->nsold;
    }
}

/* Queue op (its rec.kind, body and constraints set) as the event's next
 * record (caller holds ev->mu). On failure the event is rolled back to
 * jbefore and the status returned; op is then still the caller's. */
static int enqueue(bo_live_t *live, struct event *ev, struct op *op, int64_t now_ms,
                   bo_jpos_t jbefore)
{
    BO_ASSERT(bo_mutex_held(&ev->mu));
    BO_ASSERT(op->rec.kind == BO_REC_MUT || op->rec.kind == BO_REC_SNAPSHOT);
    op->ev = ev;
    op->store = live->store;
    op->gen = ev->gen;
    op->jbefore = jbefore;
    op->jafter = bo_inv_journal_pos(ev->inv);
    op->rec.id = ev->id;
    op->rec.seq = ++ev->seq;
    op->rec.at_ms = now_ms;
    op->rec.body = op->body;
    op->rec.done = op_committed;
    int rc = bo_store_submit(live->store, &op->rec);
    if (rc) {
        bo_inv_rollback(ev->inv, jbefore);
        ev->seq--;
    }
    return rc;
}

static void snapshot_done(void *arg, const bo_live_result_t *r)
{
}

/* Every snapshot_every records, the event's whole state goes to the store,
 * which then drops the log records it covers (caller holds ev->mu). A
 * snapshot that cannot be made now is simply made later. */
static void maybe_snapshot(bo_live_t *live, struct event *ev, int64_t now_ms)
{
    uint8_t *buf;
    size_t len;
    BO_ASSERT(bo_mutex_held(&ev->mu) && ev->snap_seq <= ev->seq);
    if (ev->seq - ev->snap_seq < live->snapshot_every)
        return;
    bo_jpos_t jbefore = bo_inv_journal_pos(ev->inv);
    if (bo_inv_export(ev->inv, now_ms, &buf, &len))
        return;
    struct op *op = op_new(ev->venue->layout, 0, len, snapshot_done, NULL);
    if (op) {
        memcpy(op->body, buf, len);
        op->rec.kind = BO_REC_SNAPSHOT;
        op->rec.body_len = len;
        if (enqueue(live, ev, op, now_ms, jbefore) == 0)
            ev->snap_seq = ev->seq;
        else
            free(op);
    }
    free(buf);
}

/* Queue the decision m just made (caller holds ev->mu). */
static int submit(bo_live_t *live, struct event *ev, struct op *op, const bo_mut_t *m,
                  int64_t now_ms, bo_jpos_t jbefore)
{
    BO_ASSERT(bo_mutex_held(&ev->mu));
    op->rec.kind = BO_REC_MUT;
    op->rec.body_len = bo_mut_encode(m, op->body);
    BO_ASSERT(op->rec.body_len > 0);
    int rc = enqueue(live, ev, op, now_ms, jbefore);
    if (rc == 0)
        maybe_snapshot(live, ev, now_ms);
    return rc;
}

/* What every decision does around its engine call. */
struct decision {
    const bo_live_call_t *call;
    bo_live_t *live;
    struct event *ev;
    struct op *op;
    int64_t now_ms;
    bo_jpos_t jbefore;
};

/* The answer of an error return (the callback will not run). */
static int refuse(bo_live_result_t *refusal, int rc)
{
    if (refusal) {
        memset(refusal, 0, sizeof(*refusal));
        refusal->status = rc;
    }
    return rc;
}

/* What m asks is in bounds: 0, or the error to return. */
static int check(const bo_mut_t *m)
{
    if (m->op < BO_MUT_HOLD || m->op > BO_MUT_UNBLOCK || (m->op == BO_MUT_HOLD && !m->req))
        return BO_EINVAL;
    if (m->op == BO_MUT_CONFIRM && (m->nseats > BO_HOLD_MAX_SEATS || m->nga > BO_HOLD_MAX_GA))
        return BO_EINVAL;
    if ((m->op == BO_MUT_BLOCK || m->op == BO_MUT_UNBLOCK) && m->nseats > BO_LAYOUT_MAX_SEATS)
        return BO_ETOOLARGE;
    return 0;
}

/* The seats m's record may list: a hold holds the seats asked for, or
 * best_quantity of them (a few hundred bytes of record, not the worst);
 * a sale or its cancellation, what the hold holds. */
static uint32_t record_seats(const bo_mut_t *m)
{
    uint32_t n;
    switch (m->op) {
    case BO_MUT_HOLD:
        n = m->req->nseats + m->req->best_quantity;
        return n < BO_HOLD_MAX_SEATS ? n : BO_HOLD_MAX_SEATS;
    case BO_MUT_CONFIRM:
    case BO_MUT_CANCEL:
        return BO_HOLD_MAX_SEATS;
    case BO_MUT_BLOCK:
    case BO_MUT_UNBLOCK:
        return m->nseats;
    }
    return 0;
}

static int begin(bo_live_t *live, struct event *ev, uint32_t nseats, const bo_live_call_t *c,
                 struct decision *d)
{
    BO_ASSERT(live != NULL && c != NULL && c->done != NULL);
    d->call = c;
    d->live = live;
    d->ev = ev;
    if (!d->ev)
        return BO_ENOTFOUND;
    d->op = op_new(d->ev->venue->layout, nseats, 0, c->done, c->arg);
    if (!d->op)
        return BO_ENOMEM;
    pthread_mutex_lock(&d->ev->mu);
    bo_inv_forget(d->ev->inv, __atomic_load_n(&d->ev->committed, __ATOMIC_ACQUIRE));
    d->now_ms = bo__live_now(live, d->ev);
    d->jbefore = bo_inv_journal_pos(d->ev->inv);
    return 0;
}

/* Submit when the engine said yes (after the caller's decided hook saw the
 * decision); when anything said no, the answer is the error return. */
static int end(struct decision *d, int rc, const bo_mut_t *m, bo_live_result_t *refusal)
{
    BO_ASSERT(bo_mutex_held(&d->ev->mu) && rc <= 0);
    if (rc == 0 && d->call->decided)
        d->call->decided(d->call->arg, &d->op->r, &d->op->rec);
    if (rc == 0 && d->op->rec.idem_key)
        d->op->rec.idem_expired_before_ms = bo__live_idem_expired_before(d->live);
    if (rc == 0)
        rc = submit(d->live, d->ev, d->op, m, d->now_ms, d->jbefore);
    pthread_mutex_unlock(&d->ev->mu);
    if (rc == 0)
        return 0;
    d->op->r.status = rc;
    if (refusal)
        *refusal = d->op->r;
    free(d->op);
    return rc;
}

int bo_live_apply(bo_live_t *live, uint64_t event, const bo_mut_t *m, const bo_live_call_t *c,
                  bo_live_result_t *refusal)
{
    return bo_live_apply_to(live, bo_live_find(live, event), m, c, refusal);
}

int bo_live_apply_to(bo_live_t *live, bo_live_event_t *event, const bo_mut_t *m,
                     const bo_live_call_t *c, bo_live_result_t *refusal)
{
    struct decision d;
    BO_ASSERT(live != NULL && m != NULL && c != NULL);
    int rc = check(m);
    if (rc == 0)
        rc = begin(live, bo__live_of(event), record_seats(m), c, &d);
    if (rc)
        return refuse(refusal, rc);
    bo_mut_effect_t fx = {.r = &d.op->r, .sold = d.op->sold, .ga_delta = d.op->ga_delta};
    rc = bo_mut_apply_fx(d.ev->inv, m, d.now_ms, &fx);
    if (fx.sign)
        set_constraints(d.op, d.ev->inv, &fx);
    return end(&d, rc, &fx.logged, refusal);
}

int bo_live_read(bo_live_t *live, uint64_t event, bo_live_read_fn fn, void *arg)
{
    return bo_live_read_of(live, bo_live_find(live, event), fn, arg);
}

int bo_live_read_of(bo_live_t *live, bo_live_event_t *event, bo_live_read_fn fn, void *arg)
{
    struct event *ev = bo__live_of(event);
    if (!ev)
        return BO_ENOTFOUND;
    BO_ASSERT(fn != NULL);
    pthread_mutex_lock(&ev->mu);
    int rc = fn(arg, ev->inv, bo__live_now(live, ev));
    pthread_mutex_unlock(&ev->mu);
    return rc;
}
