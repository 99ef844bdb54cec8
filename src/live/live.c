/*
 * live.c - mutations of live events (live.h): decide under the event's
 * lock, queue the record, answer after the commit; roll back on a failed
 * commit.
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

/* Fill the sold-seat and GA deltas the database checks, for m. */
static void set_constraints(struct op *op, const bo_inv_t *inv, const bo_mut_t *m, int sign)
{
    memcpy(op->sold, m->seats, m->nseats * sizeof(uint32_t));
    op->nsold = m->nseats;
    for (uint32_t i = 0; i < m->nga; i++)
        op->ga_delta[m->ga[i].area] += sign * (int32_t)m->ga[i].quantity;
    op->rec.nga_delta = bo_inv_layout(inv)->nga;
    op->rec.ga_sold_delta = op->ga_delta;
    if (sign > 0) {
        op->rec.sold_add = op->sold;
        op->rec.nsold_add = op->nsold;
    } else {
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
    op->rec.kind = BO_REC_MUT;
    op->rec.body_len = bo_mut_encode(m, op->body);
    int rc = enqueue(live, ev, op, now_ms, jbefore);
    if (rc == 0)
        maybe_snapshot(live, ev, now_ms);
    return rc;
}

/* What every mutation does around its engine call. */
struct decision {
    const bo_live_call_t *call;
    bo_live_t *live;
    struct event *ev;
    struct op *op;
    int64_t now_ms;
    bo_jpos_t jbefore;
};

static int begin(bo_live_t *live, uint64_t event, uint32_t nseats, const bo_live_call_t *c,
                 struct decision *d)
{
    d->call = c;
    d->live = live;
    d->ev = bo__live_event(live, event);
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
 * decision); answer now when anything said no. */
static int end(struct decision *d, int rc, const bo_mut_t *m)
{
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
    d->call->done(d->call->arg, &d->op->r);
    free(d->op);
    return rc;
}

static int refuse(const bo_live_call_t *c, int rc)
{
    return bo__live_finish(c->done, c->arg, rc);
}

int bo_live_hold(bo_live_t *live, uint64_t event, const bo_hold_req_t *req, bo_live_done_fn done,
                 void *arg)
{
    bo_live_call_t c = {done, arg, NULL};
    return bo_live_hold_call(live, event, req, &c);
}

int bo_live_hold_call(bo_live_t *live, uint64_t event, const bo_hold_req_t *req,
                      const bo_live_call_t *c)
{
    struct decision d;
    /* a hold holds the seats asked for, or best_quantity of them: its
     * record needs room for no more (a few hundred bytes, not the worst) */
    uint32_t nseats = req->nseats + req->best_quantity;
    int rc = begin(live, event, nseats < BO_HOLD_MAX_SEATS ? nseats : BO_HOLD_MAX_SEATS, c, &d);
    if (rc)
        return refuse(c, rc);
    bo_hold_res_t *res = &d.op->r.res;
    rc = bo_inv_hold(d.ev->inv, req, d.now_ms, res);
    bo_mut_t m = {.op = BO_MUT_HOLD,
                  .id = req->id,
                  .customer = req->customer,
                  .expires_at_ms = res->expires_at_ms,
                  .amount_cents = res->amount_cents,
                  .seats = res->seats,
                  .nseats = res->nseats,
                  .ga = req->ga,
                  .nga = req->nga};
    return end(&d, rc, &m);
}

static int simple(bo_live_t *live, uint64_t event, uint8_t mop, const bo_hold_id_t *id,
                  int64_t deadline_ms, const bo_live_call_t *c)
{
    struct decision d;
    int rc = begin(live, event, mop == BO_MUT_CANCEL ? BO_HOLD_MAX_SEATS : 0, c, &d);
    if (rc)
        return refuse(c, rc);
    bo_inv_t *inv = d.ev->inv;
    bo_mut_t m = {.op = mop, .id = *id, .deadline_ms = deadline_ms};
    bo_hold_view_t v;
    switch (mop) {
    case BO_MUT_RELEASE:
        rc = bo_inv_release(inv, id, d.now_ms);
        break;
    case BO_MUT_PAY_START:
        rc = bo_inv_pay_start(inv, id, deadline_ms, d.now_ms);
        break;
    case BO_MUT_PAY_FAILED:
        rc = bo_inv_pay_failed(inv, id, d.now_ms, &d.op->r.released);
        break;
    case BO_MUT_CANCEL:
        /* The database forgets the sold seats with the hold. */
        rc = bo_inv_get_hold(inv, id, d.now_ms, &v);
        if (rc == 0 && v.status == BO_HOLD_SOLD) {
            bo_mut_t sold = {.seats = v.seats, .nseats = v.nseats, .ga = v.ga, .nga = v.nga};
            set_constraints(d.op, inv, &sold, -1);
        }
        rc = bo_inv_cancel(inv, id, d.now_ms);
        break;
    }
    return end(&d, rc, &m);
}

int bo_live_release(bo_live_t *live, uint64_t event, const bo_hold_id_t *id, bo_live_done_fn done,
                    void *arg)
{
    bo_live_call_t c = {done, arg, NULL};
    return simple(live, event, BO_MUT_RELEASE, id, 0, &c);
}

int bo_live_release_call(bo_live_t *live, uint64_t event, const bo_hold_id_t *id,
                         const bo_live_call_t *c)
{
    return simple(live, event, BO_MUT_RELEASE, id, 0, c);
}

int bo_live_pay_start(bo_live_t *live, uint64_t event, const bo_hold_id_t *id, int64_t deadline_ms,
                      bo_live_done_fn done, void *arg)
{
    bo_live_call_t c = {done, arg, NULL};
    return simple(live, event, BO_MUT_PAY_START, id, deadline_ms, &c);
}

int bo_live_pay_failed(bo_live_t *live, uint64_t event, const bo_hold_id_t *id,
                       bo_live_done_fn done, void *arg)
{
    bo_live_call_t c = {done, arg, NULL};
    return simple(live, event, BO_MUT_PAY_FAILED, id, 0, &c);
}

int bo_live_cancel(bo_live_t *live, uint64_t event, const bo_hold_id_t *id, bo_live_done_fn done,
                   void *arg)
{
    bo_live_call_t c = {done, arg, NULL};
    return simple(live, event, BO_MUT_CANCEL, id, 0, &c);
}

int bo_live_pay_start_call(bo_live_t *live, uint64_t event, const bo_hold_id_t *id,
                           int64_t deadline_ms, const bo_live_call_t *c)
{
    return simple(live, event, BO_MUT_PAY_START, id, deadline_ms, c);
}

int bo_live_pay_failed_call(bo_live_t *live, uint64_t event, const bo_hold_id_t *id,
                            const bo_live_call_t *c)
{
    return simple(live, event, BO_MUT_PAY_FAILED, id, 0, c);
}

int bo_live_cancel_call(bo_live_t *live, uint64_t event, const bo_hold_id_t *id,
                        const bo_live_call_t *c)
{
    return simple(live, event, BO_MUT_CANCEL, id, 0, c);
}

int bo_live_confirm(bo_live_t *live, uint64_t event, const bo_hold_id_t *id, const uint32_t *seats,
                    uint32_t nseats, const bo_ga_line_t *ga, uint32_t nga, uint64_t customer,
                    int64_t amount_cents, bo_live_done_fn done, void *arg)
{
    bo_live_call_t c = {done, arg, NULL};
    return bo_live_confirm_call(live, event, id, seats, nseats, ga, nga, customer, amount_cents,
                                &c);
}

int bo_live_confirm_call(bo_live_t *live, uint64_t event, const bo_hold_id_t *id,
                         const uint32_t *seats, uint32_t nseats, const bo_ga_line_t *ga,
                         uint32_t nga, uint64_t customer, int64_t amount_cents,
                         const bo_live_call_t *c)
{
    struct decision d;
    if (nseats > BO_HOLD_MAX_SEATS || nga > BO_HOLD_MAX_GA)
        return refuse(c, BO_EINVAL);
    int rc = begin(live, event, BO_HOLD_MAX_SEATS, c, &d);
    if (rc)
        return refuse(c, rc);
    bo_inv_t *inv = d.ev->inv;
    rc = bo_inv_confirm(inv, id, seats, nseats, ga, nga, customer, amount_cents, d.now_ms);
    bo_hold_view_t v;
    bo_mut_t m = {.op = BO_MUT_CONFIRM,
                  .id = *id,
                  .customer = customer,
                  .amount_cents = amount_cents,
                  .seats = seats,
                  .nseats = nseats,
                  .ga = ga,
                  .nga = nga};
    if (rc == 0 && bo_inv_get_hold(inv, id, d.now_ms, &v) == 0) {
        /* What was sold is the hold's content, whatever the caller passed. */
        bo_mut_t sold = {.seats = v.seats, .nseats = v.nseats, .ga = v.ga, .nga = v.nga};
        set_constraints(d.op, inv, &sold, 1);
        m.seats = v.seats;
        m.nseats = v.nseats;
        m.ga = v.ga;
        m.nga = v.nga;
        m.customer = v.customer;
        m.amount_cents = v.amount_cents;
    }
    return end(&d, rc, &m);
}

int bo_live_block(bo_live_t *live, uint64_t event, const uint32_t *seats, uint32_t nseats,
                  int unblock, bo_live_done_fn done, void *arg)
{
    bo_live_call_t c = {done, arg, NULL};
    return bo_live_block_call(live, event, seats, nseats, unblock, &c);
}

int bo_live_block_call(bo_live_t *live, uint64_t event, const uint32_t *seats, uint32_t nseats,
                       int unblock, const bo_live_call_t *c)
{
    struct decision d;
    if (nseats > BO_LAYOUT_MAX_SEATS)
        return refuse(c, BO_ETOOLARGE);
    int rc = begin(live, event, nseats, c, &d);
    if (rc)
        return refuse(c, rc);
    bo_hold_res_t *res = &d.op->r.res;
    rc = unblock ? bo_inv_unblock(d.ev->inv, seats, nseats, d.now_ms, res)
                 : bo_inv_block(d.ev->inv, seats, nseats, d.now_ms, res);
    bo_mut_t m = {.op = unblock ? BO_MUT_UNBLOCK : BO_MUT_BLOCK, .seats = seats, .nseats = nseats};
    return end(&d, rc, &m);
}

int bo_live_read(bo_live_t *live, uint64_t event, bo_live_read_fn fn, void *arg)
{
    struct event *ev = bo__live_event(live, event);
    if (!ev)
        return BO_ENOTFOUND;
    pthread_mutex_lock(&ev->mu);
    int rc = fn(arg, ev->inv, bo__live_now(live, ev));
    pthread_mutex_unlock(&ev->mu);
    return rc;
}
