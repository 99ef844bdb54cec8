/*
 * test_model.c - the engine's model test: seeded random operations run
 * against the inventory (bo_inv_*) and against the reference inventory
 * (tests/unit/helpers/ref_inv.c, obviously right and slow); the first
 * difference fails with the seed, the operation number, the operation, both
 * answers and the operations before it.
 *
 * From the environment:
 *   BOXOFFICE_MODEL_SEED=<n>   seed (decimal or 0x..); every run prints its own
 *   BOXOFFICE_MODEL_OPS=<n>    operations (default 1000000; make test-long: 10^7)
 *   BOXOFFICE_MODEL_CHECK=<n>  compare the whole state every n ops (default 100)
 *   BOXOFFICE_MODEL_EPISODE=<n> a new venue and rules every n ops (default 50000)
 *   BOXOFFICE_MODEL_VERBOSE=1  print every operation and its answer
 * Replay a failure with the line it prints, e.g.
 *   BOXOFFICE_MODEL_SEED=42 BOXOFFICE_MODEL_OPS=1234 build/tests/test_model
 *
 * Workload: episodes of BOXOFFICE_MODEL_EPISODE ops, each on a fresh venue
 * and rules drawn from the rng: mostly 2-4 sections x 3-7 rows x 6-12
 * seats with 1-3 GA areas of 8-30 and 2-4 categories, sometimes long rows,
 * one category or no GA; most explicit holds on a hot region of two rows;
 * nine customers and the anonymous one under a per-customer limit (or
 * none); sometimes few hold slots. Conflicts, sell-outs, limits, EFULL,
 * orphans and row splits are all frequent. Every op's answer is compared,
 * then the seats and hold it touched and the counts; the whole state every
 * BOXOFFICE_MODEL_CHECK ops, at the end of an episode and after every
 * journal rollback. The journal: positions are taken (up to 3 nested) at
 * random, then rolled back to (the reference is restored from its copy) or
 * forgotten, in whole or in part; otherwise each op is forgotten at once,
 * as the store does after a commit; sometimes journaling is off for a while.
 *
 * engine.h fixes most answers; where it is silent or ambiguous the
 * reference (helpers/ref_inv.c) implements these readings:
 *  1. Best available with a category or section out of range (not
 *     BO_NONE) is EINVAL, like every other malformed request.
 *  2. EEXIST also for the id of a SOLD hold; the id of a released, expired
 *     or cancelled hold is free again.
 *  3. EFULL counts HELD (unexpired), PAYING and SOLD holds: an expired
 *     hold's slot is free even before the sweeper ran.
 *  4. hold_ttl_ms 0 means the default, 300000.
 *  5. pay_failed after expires_at releases the hold with *released = 1 (the
 *     buyer must hear "your seats are gone", not "try another card").
 *  6. confirm of a live hold ignores seats/ga/customer/amount (needed only
 *     for a gone hold), so the test sometimes passes none. A late confirm
 *     makes a SOLD hold with the customer and amount_cents passed; its
 *     errors, first match wins: EINVAL (malformed or empty seats/GA),
 *     EUNAVAILABLE (then the caller refunds: a definitive answer beats
 *     "retry later"), EFULL.
 *  7. block accepts seats already BLOCKED (idempotent, so a retried admin
 *     call succeeds) and lists only HELD and SOLD ones, as engine.h says;
 *     unblock lists every seat that is not BLOCKED. A seat out of range or
 *     twice, or no seat at all, is EINVAL.
 *  8. The seats and GA lines of a hold view and due payments are compared
 *     as sets (engine.h gives no order); unavailable, ga_short and the
 *     seats of a hold's answer in request order, as engine.h says.
 *  9. bo_inv_expire answers how many holds expired since the engine last
 *     swept: every successful mutation sweeps first; a failed one may or
 *     may not have (the reference keeps a lower and an upper bound).
 * 10. bo_inv_next_deadline is compared right after bo_inv_expire(now),
 *     when no expired HELD hold remains: min(expires_at of HELD holds,
 *     pay deadline of PAYING holds).
 * 11. version never goes back, does not change on reads, and moves on
 *     every successful mutation that changed something (and on a rollback
 *     that undid something).
 * 12. For a SOLD hold, expires_at, pay_deadline and pay_failures are not
 *     compared; for a late-confirmed one neither is created_ms.
 * 13. Best available: the orphan rule sees seats of every category as
 *     seats; relaxing orphans still takes the lowest rank sum among one-row
 *     blocks; a split uses the fewest rows of any section.
 * 14. set_config is not called while a journal position may be rolled back
 *     to (whether config changes are journaled is unspecified), nor are
 *     journal positions used across a stretch with journaling off.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "boxoffice/engine.h"
#include "boxoffice/error.h"
#include "helpers/model.h"

/* Operations and their relative weights. */
#define OPS(X)                                                                                     \
    X(hold_seats, 200)                                                                             \
    X(hold_ga, 50)                                                                                 \
    X(hold_mixed, 40)                                                                              \
    X(hold_best, 80)                                                                               \
    X(hold_bad, 25)                                                                                \
    X(hold_reuse, 10)                                                                              \
    X(hold_replay, 10)                                                                             \
    X(release, 60)                                                                                 \
    X(pay_start, 80)                                                                               \
    X(pay_failed, 50)                                                                              \
    X(confirm, 60)                                                                                 \
    X(cancel, 70)                                                                                  \
    X(block, 15)                                                                                   \
    X(unblock, 15)                                                                                 \
    X(advance, 60)                                                                                 \
    X(advance_exact, 10)                                                                           \
    X(expire, 30)                                                                                  \
    X(get_hold, 30)                                                                                \
    X(reads, 20)                                                                                   \
    X(config, 2)

enum op_kind {
#define OP_ENUM(name, weight) OP_##name,
    OPS(OP_ENUM)
#undef OP_ENUM
        OP_journal,
    OP_COUNT
};

_Static_assert(OP_COUNT <= MODEL_MAX_OPS, "raise MODEL_MAX_OPS");

/* ---- holds ---- */

static void check_hold_answer(model_t *m, const bo_hold_req_t *req, int rc, bo_hold_res_t *e,
                              bo_hold_res_t *r)
{
    if (rc == BO_EUNAVAILABLE &&
        (!model_same_list(e->unavailable, e->nunavailable, r->unavailable, r->nunavailable) ||
         !model_same_list(e->ga_short, e->nga_short, r->ga_short, r->nga_short))) {
        model_say_seats(m, "engine.unavailable", e->unavailable, e->nunavailable);
        model_say_seats(m, "engine.ga_short", e->ga_short, e->nga_short);
        model_say_seats(m, "ref.unavailable", r->unavailable, r->nunavailable);
        model_say_seats(m, "ref.ga_short", r->ga_short, r->nga_short);
        model_diverge(m, "hold: the unavailable seats or short GA areas differ (request order)");
    }
    if (rc == BO_ECAP && e->cap != r->cap)
        model_diverge(m, "hold: the engine's cap %u, the reference's %u", e->cap, r->cap);
    if (rc != 0)
        return;
    if (e->nseats > BO_HOLD_MAX_SEATS)
        model_diverge(m, "hold: res.nseats %u", e->nseats);
    if (req->best_quantity > 0) {
        int step = 0;
        const char *why = ref_inv_best_judge(m->ref, req->best_quantity, req->best_category,
                                             req->best_section, e->seats, e->nseats, &step);
        m->best_steps[step & 3]++;
        if (!why && !model_ascending(e->seats, e->nseats))
            why = "seats not in ascending order";
        if (why) {
            model_say_seats(m, "engine.seats", e->seats, e->nseats);
            model_diverge(m, "best available: %s", why);
        }
    } else if (!model_same_list(e->seats, e->nseats, req->seats, req->nseats)) {
        model_say_seats(m, "engine.seats", e->seats, e->nseats);
        model_diverge(m, "hold: res.seats are not the seats asked for, in request order");
    }
}

static int run_hold(model_t *m, const bo_hold_req_t *req)
{
    bo_hold_res_t e, r;
    memset(&e, 0, sizeof e);
    model_say_req(m, req);
    int erc = bo_inv_hold(m->inv, req, m->now, &e);
    int rrc = ref_inv_hold_check(m->ref, req, m->now, &r);
    model_say_rc(m, "engine", erc);
    if (erc != rrc) {
        model_say_rc(m, "reference", rrc);
        if (erc == 0)
            model_say_seats(m, "engine.seats", e.seats, e.nseats < 100 ? e.nseats : 100);
        model_diverge(m, "hold: different answers");
    }
    check_hold_answer(m, req, erc, &e, &r);
    if (erc == 0) {
        const uint32_t *seats = req->best_quantity ? e.seats : req->seats;
        uint32_t n = req->best_quantity ? e.nseats : req->nseats;
        ref_inv_hold_apply(m->ref, req, seats, n, m->now, &r);
        if (e.expires_at_ms != r.expires_at_ms || e.amount_cents != r.amount_cents)
            model_diverge(m, "hold: engine expires_at=%lld amount=%lld, reference %lld %lld",
                          (long long)e.expires_at_ms, (long long)e.amount_cents,
                          (long long)r.expires_at_ms, (long long)r.amount_cents);
        model_remember(m, &req->id);
        model_check_seats(m, seats, n);
    }
    model_after_op(m, erc == 0);
    model_check_seats(m, req->seats, req->nseats);
    model_check_hold(m, &req->id);
    return erc;
}

static bo_hold_req_t new_req(model_t *m)
{
    bo_hold_req_t q;
    memset(&q, 0, sizeof q);
    model_fresh_id(m, &q.id);
    q.customer = model_pick_customer(m);
    q.client = model_pick_client(m);
    q.max_client_tickets = m->cap_tickets;
    q.max_client_holds = m->cap_holds;
    q.best_category = BO_NONE;
    q.best_section = BO_NONE;
    return q;
}

static uint32_t hold_size(model_t *m)
{
    return model_chance(m, 950) ? 1 + model_below(m, 6) : 7 + model_below(m, 6);
}

/* A group booking: a run of 13..BO_HOLD_MAX_SEATS seats from anywhere. */
static uint32_t group_seats(model_t *m, uint32_t *seats)
{
    uint32_t nseats = m->layout->nseats, n = 13 + model_below(m, BO_HOLD_MAX_SEATS - 12);
    if (n > nseats)
        n = nseats;
    uint32_t first = model_below(m, nseats - n + 1);
    for (uint32_t i = 0; i < n; i++)
        seats[i] = first + i;
    return n;
}

static int op_hold_seats(model_t *m)
{
    uint32_t seats[BO_HOLD_MAX_SEATS];
    bo_hold_req_t q = new_req(m);
    if (model_chance(m, 10))
        q.nseats = group_seats(m, seats);
    else
        q.nseats = model_pick_seats(m, hold_size(m), seats);
    q.seats = seats;
    return run_hold(m, &q);
}

static int op_hold_ga(model_t *m)
{
    bo_ga_line_t ga[BO_HOLD_MAX_GA];
    bo_hold_req_t q = new_req(m);
    q.nga = model_pick_ga(m, ga);
    q.ga = ga;
    return run_hold(m, &q);
}

static int op_hold_mixed(model_t *m)
{
    uint32_t seats[BO_HOLD_MAX_SEATS];
    bo_ga_line_t ga[BO_HOLD_MAX_GA];
    bo_hold_req_t q = new_req(m);
    q.nseats = model_pick_seats(m, 1 + model_below(m, 3), seats);
    q.seats = seats;
    q.nga = model_pick_ga(m, ga);
    q.ga = ga;
    return run_hold(m, &q);
}

static int op_hold_best(model_t *m)
{
    bo_hold_req_t q = new_req(m);
    uint32_t k = model_below(m, 1000);
    q.best_quantity = k < 900   ? 1 + model_below(m, 6)
                      : k < 995 ? 7 + model_below(m, 6)
                                : BO_HOLD_MAX_SEATS;
    if (model_chance(m, 500))
        q.best_category = model_below(m, m->layout->ncategories);
    if (model_chance(m, 400))
        q.best_section = model_below(m, m->layout->nsections);
    return run_hold(m, &q);
}

/* At least one GA line (area 0 when the venue has none: out of range). */
static uint32_t some_ga(model_t *m, bo_ga_line_t *ga)
{
    uint32_t n = model_pick_ga(m, ga);
    if (n == 0)
        ga[n++] = (bo_ga_line_t){0, 1};
    return n;
}

/* Spoil the seats or GA lines of q in one of 8 ways. */
static void spoil_lines(model_t *m, bo_hold_req_t *q, uint32_t *seats, bo_ga_line_t *ga,
                        uint32_t how)
{
    const bo_layout_t *l = m->layout;
    switch (how) {
    case 0: /* empty */
        q->nseats = 0;
        break;
    case 1: /* a seat twice */
        seats[q->nseats] = seats[model_below(m, q->nseats)];
        q->nseats++;
        break;
    case 2: /* a seat out of range */
        seats[model_below(m, q->nseats)] = model_chance(m, 500) ? l->nseats : UINT32_MAX;
        break;
    case 3: /* too many seats */
        for (q->nseats = 0; q->nseats <= BO_HOLD_MAX_SEATS; q->nseats++)
            seats[q->nseats] = q->nseats % l->nseats;
        break;
    case 4: /* a GA area out of range */
        q->nga = some_ga(m, ga);
        ga[0].area = l->nga + model_below(m, 3);
        break;
    case 5: /* a GA area twice */
        q->nga = some_ga(m, ga);
        ga[q->nga++] = ga[0];
        break;
    case 6: /* a GA quantity of 0 or too many */
        q->nga = some_ga(m, ga);
        ga[0].quantity = model_chance(m, 500) ? 0 : BO_HOLD_MAX_GA_QTY + 1;
        break;
    default: /* too many GA lines */
        for (q->nga = 0; q->nga <= BO_HOLD_MAX_GA; q->nga++)
            ga[q->nga] = (bo_ga_line_t){l->nga ? q->nga % l->nga : 0, 1};
        break;
    }
}

/* Spoil a best-available request of q in one of 5 ways. */
static void spoil_best(model_t *m, bo_hold_req_t *q, bo_ga_line_t *ga, uint32_t how)
{
    const bo_layout_t *l = m->layout;
    q->best_quantity = 1 + model_below(m, 3);
    if (how > 0) /* 0: with seats */
        q->nseats = 0;
    if (how == 1) /* with GA */
        q->nga = some_ga(m, ga);
    else if (how == 2) /* too many */
        q->best_quantity = BO_HOLD_MAX_SEATS + 1 + model_below(m, 100);
    else if (how == 3) /* unknown category */
        q->best_category = l->ncategories + model_below(m, 3);
    else if (how == 4) /* unknown section */
        q->best_section = l->nsections + model_below(m, 3);
}

/* A malformed request: the reference decides which answer it deserves. */
static int op_hold_bad(model_t *m)
{
    uint32_t seats[BO_HOLD_MAX_SEATS + 8];
    bo_ga_line_t ga[BO_HOLD_MAX_GA + 2];
    bo_hold_req_t q = new_req(m);
    uint32_t how = model_below(m, 13);
    q.seats = seats;
    q.ga = ga;
    q.nseats = model_pick_seats(m, 1 + model_below(m, 4), seats);
    if (how < 8)
        spoil_lines(m, &q, seats, ga, how);
    else
        spoil_best(m, &q, ga, how - 8);
    return run_hold(m, &q);
}

/* A hold with the id of an existing or recent hold. */
static int op_hold_reuse(model_t *m)
{
    model_record_t rec;
    uint32_t seats[BO_HOLD_MAX_SEATS];
    bo_hold_req_t q = new_req(m);
    model_pick_target(m, M_ANY, &rec);
    q.id = rec.id;
    q.nseats = model_pick_seats(m, 1 + model_below(m, 3), seats);
    q.seats = seats;
    return run_hold(m, &q);
}

/* Replay of a logged hold: its own expires_at, no customer limit. */
static int op_hold_replay(model_t *m)
{
    uint32_t seats[BO_HOLD_MAX_SEATS];
    bo_ga_line_t ga[BO_HOLD_MAX_GA];
    bo_hold_req_t q = new_req(m);
    q.replay = 1;
    q.amount_cents = model_below(m, 50000);
    q.expires_at_ms = m->now + 1 + model_below(m, 2 * (uint64_t)m->ref->cfg.hold_ttl_ms);
    if (model_chance(m, 700)) {
        q.nseats = model_pick_seats(m, hold_size(m), seats);
        q.seats = seats;
    } else {
        q.nga = model_pick_ga(m, ga);
        q.ga = ga;
    }
    return run_hold(m, &q);
}

/* ---- the life of a hold ---- */

static int op_release(model_t *m)
{
    model_record_t rec;
    model_pick_target(m, model_chance(m, 800) ? M_LIVE : M_ANY, &rec);
    model_begin(m, "release");
    model_say_id(m, &rec.id);
    int e = bo_inv_release(m->inv, &rec.id, m->now);
    int r = ref_inv_release(m->ref, &rec.id, m->now);
    model_say_rc(m, "engine", e);
    if (e != r) {
        model_say_rc(m, "reference", r);
        model_diverge(m, "release: different answers");
    }
    model_after_op(m, e == 0);
    model_check_seats(m, rec.seats, rec.nseats);
    model_check_hold(m, &rec.id);
    return e;
}

static int op_pay_start(model_t *m)
{
    model_record_t rec;
    model_pick_target(m, model_chance(m, 750) ? M_HELD : M_ANY, &rec);
    uint32_t k = model_below(m, 100);
    int64_t ttl = m->ref->cfg.hold_ttl_ms;
    int64_t deadline =
        k < 90 ? m->now + 1 + model_below(m, (uint64_t)ttl) : m->now - model_below(m, 2) * 1000;
    model_begin(m, "pay_start deadline=now%+lld", (long long)(deadline - m->now));
    model_say_id(m, &rec.id);
    int e = bo_inv_pay_start(m->inv, &rec.id, deadline, m->now);
    int r = ref_inv_pay_start(m->ref, &rec.id, deadline, m->now);
    model_say_rc(m, "engine", e);
    if (e != r) {
        model_say_rc(m, "reference", r);
        model_diverge(m, "pay_start: different answers");
    }
    model_after_op(m, e == 0);
    model_check_hold(m, &rec.id);
    return e;
}

static int op_pay_failed(model_t *m)
{
    model_record_t rec;
    model_pick_target(m, model_chance(m, 750) ? M_PAYING : M_ANY, &rec);
    model_begin(m, "pay_failed");
    model_say_id(m, &rec.id);
    int erel = -1, rrel = -1;
    int e = bo_inv_pay_failed(m->inv, &rec.id, m->now, &erel);
    int r = ref_inv_pay_failed(m->ref, &rec.id, m->now, &rrel);
    model_say_rc(m, "engine", e);
    model_say(m, " released=%d", erel);
    if (e != r || (e == 0 && erel != rrel)) {
        model_say_rc(m, "reference", r);
        model_say(m, " released=%d", rrel);
        model_diverge(m, "pay_failed: different answers");
    }
    model_after_op(m, e == 0);
    model_check_seats(m, rec.seats, rec.nseats);
    model_check_hold(m, &rec.id);
    return e;
}

static int op_confirm(model_t *m)
{
    model_record_t rec;
    uint32_t k = model_below(m, 100);
    model_pick_target(m, k < 50 ? M_PAYING : k < 75 ? M_HELD : M_ANY, &rec);
    const ref_hold_t *live = ref_inv_find(m->ref, &rec.id);
    int bare = live && live->status != BO_HOLD_SOLD && model_chance(m, 200); /* reading 6 */
    model_begin(m, "confirm%s customer=%llx amount=%lld", bare ? " (no order data)" : "",
                (unsigned long long)rec.customer, (long long)rec.amount_cents);
    model_say_id(m, &rec.id);
    model_say_seats(m, "seats", rec.seats, rec.nseats);
    model_say_ga(m, rec.ga, rec.nga);
    const uint32_t *seats = bare ? NULL : rec.seats;
    const bo_ga_line_t *ga = bare ? NULL : rec.ga;
    uint32_t ns = bare ? 0 : rec.nseats, nga = bare ? 0 : rec.nga;
    int e =
        bo_inv_confirm(m->inv, &rec.id, seats, ns, ga, nga, rec.customer, rec.amount_cents, m->now);
    int r = ref_inv_confirm(m->ref, &rec.id, seats, ns, ga, nga, rec.customer, rec.amount_cents,
                            m->now);
    model_say_rc(m, "engine", e);
    if (e != r) {
        model_say_rc(m, "reference", r);
        model_diverge(m, "confirm: different answers");
    }
    if (e == 0 && !live)
        model_remember(m, &rec.id);
    model_after_op(m, e == 0);
    model_check_seats(m, rec.seats, rec.nseats);
    model_check_hold(m, &rec.id);
    return e;
}

static int op_cancel(model_t *m)
{
    model_record_t rec;
    model_pick_target(m, model_chance(m, 750) ? M_SOLD : M_ANY, &rec);
    model_begin(m, "cancel");
    model_say_id(m, &rec.id);
    int e = bo_inv_cancel(m->inv, &rec.id, m->now);
    int r = ref_inv_cancel(m->ref, &rec.id, m->now);
    model_say_rc(m, "engine", e);
    if (e != r) {
        model_say_rc(m, "reference", r);
        model_diverge(m, "cancel: different answers");
    }
    model_after_op(m, e == 0);
    model_check_seats(m, rec.seats, rec.nseats);
    model_check_hold(m, &rec.id);
    return e;
}

/* ---- blocks ---- */

static int run_block(model_t *m, int block, uint32_t *seats, uint32_t n)
{
    bo_hold_res_t e, r, *er = model_chance(m, 800) ? &e : NULL;
    int changed = 0;
    memset(&e, 0, sizeof e);
    model_begin(m, "%s%s", block ? "block" : "unblock", er ? "" : " (res NULL)");
    model_say_seats(m, "seats", seats, n);
    for (uint32_t i = 0; i < n; i++)
        changed |= seats[i] < m->layout->nseats &&
                   (ref_inv_seat_state(m->ref, seats[i]) == BO_SEAT_BLOCKED) != (block != 0);
    int ec = block ? bo_inv_block(m->inv, seats, n, m->now, er)
                   : bo_inv_unblock(m->inv, seats, n, m->now, er);
    int rc = ref_inv_block(m->ref, block, seats, n, m->now, &r);
    model_say_rc(m, "engine", ec);
    if (ec != rc) {
        model_say_rc(m, "reference", rc);
        model_diverge(m, "%s: different answers", block ? "block" : "unblock");
    }
    if (er && ec == BO_EUNAVAILABLE &&
        !model_same_list(e.unavailable, e.nunavailable, r.unavailable, r.nunavailable)) {
        model_say_seats(m, "engine.unavailable", e.unavailable, e.nunavailable);
        model_say_seats(m, "ref.unavailable", r.unavailable, r.nunavailable);
        model_diverge(m, "%s: the unavailable seats differ", block ? "block" : "unblock");
    }
    model_after_op(m, ec == 0 && changed);
    model_check_seats(m, seats, n);
    return ec;
}

static int op_block(model_t *m)
{
    uint32_t seats[8], n = 1 + model_below(m, 4);
    if (model_chance(m, 400)) {
        n = model_pick_seats(m, n, seats);
    } else { /* a run anywhere: mostly free seats */
        uint32_t first = model_below(m, m->layout->nseats - n + 1);
        for (uint32_t i = 0; i < n; i++)
            seats[i] = first + i;
    }
    if (model_chance(m, 50))
        seats[n++] = seats[0];
    else if (model_chance(m, 30))
        seats[model_below(m, n)] = m->layout->nseats + model_below(m, 2);
    else if (model_chance(m, 10))
        n = 0;
    return run_block(m, 1, seats, n);
}

static int op_unblock(model_t *m)
{
    uint32_t seats[8], n = 0, want = 1 + model_below(m, 3);
    uint32_t start = model_below(m, m->layout->nseats);
    for (uint32_t k = 0; k < m->layout->nseats && n < want; k++) {
        uint32_t s = (start + k) % m->layout->nseats;
        if (ref_inv_seat_state(m->ref, s) == BO_SEAT_BLOCKED)
            seats[n++] = s;
    }
    if (n == 0 || model_chance(m, 250))
        seats[n++] = (start + 1) % m->layout->nseats;
    return run_block(m, 0, seats, n);
}

/* ---- time ---- */

static int op_advance(model_t *m)
{
    uint64_t ttl = (uint64_t)m->ref->cfg.hold_ttl_ms;
    uint32_t k = model_below(m, 100);
    int64_t d = k < 60   ? model_below(m, ttl / 20 + 1)
                : k < 97 ? model_below(m, ttl / 2 + 1)
                         : ttl + model_below(m, 2 * ttl);
    model_begin(m, "advance %lld ms", (long long)d);
    m->now += d;
    ref_inv_tick(m->ref, m->now);
    model_after_op(m, 0);
    return 0;
}

/* To the very expires_at of a held hold, or 1 ms before it. */
static int op_advance_exact(model_t *m)
{
    uint32_t n = ref_inv_count_holds(m->ref, M_HELD);
    model_begin(m, "advance to an expiry");
    if (n == 0)
        return 0;
    const ref_hold_t *h = ref_inv_nth_hold(m->ref, M_HELD, model_below(m, n));
    int64_t t = h->expires_at_ms - model_below(m, 2);
    if (t > m->now)
        m->now = t;
    model_say(m, ": now=%lld", (long long)m->now);
    ref_inv_tick(m->ref, m->now);
    model_after_op(m, 0);
    return 0;
}

static int op_expire(model_t *m)
{
    uint32_t lo, hi;
    model_begin(m, "expire");
    uint32_t e = bo_inv_expire(m->inv, m->now);
    ref_inv_expire(m->ref, m->now, &lo, &hi);
    model_say(m, " engine=%u reference=%u..%u", e, lo, hi);
    if (e < lo || e > hi)
        model_diverge(m, "expire released %u holds; %u..%u expired since the engine last swept", e,
                      lo, hi);
    model_after_op(m, e > 0);
    int64_t et = bo_inv_next_deadline(m->inv), rt = ref_inv_next_deadline(m->ref);
    if (et != rt)
        model_diverge(m, "next_deadline: engine %lld, reference %lld (now %lld)", (long long)et,
                      (long long)rt, (long long)m->now);
    return 0;
}

/* ---- reads and rules ---- */

static int op_get_hold(model_t *m)
{
    model_record_t rec;
    model_pick_target(m, M_ANY, &rec);
    model_begin(m, "get_hold");
    model_say_id(m, &rec.id);
    model_check_hold(m, &rec.id);
    model_after_read(m);
    return 0;
}

static int op_reads(model_t *m)
{
    uint32_t seats[4], n = model_pick_seats(m, 4, seats);
    model_begin(m, "reads");
    model_check_seats(m, seats, n);
    model_check_due(m, 1 + model_below(m, 3));
    model_check_areas(m);
    model_check_clients(m);
    model_after_read(m);
    return 0;
}

static int op_config(model_t *m)
{
    bo_inv_config_t cfg;
    model_begin(m, "set_config");
    if (m->ncp > 0) /* reading 14 */
        return 0;
    model_random_config(m, &cfg);
    cfg.max_holds = m->ref->cfg.max_holds;
    model_say(m, " ttl=%lld limit=%u", (long long)cfg.hold_ttl_ms, cfg.per_customer_limit);
    int rc = bo_inv_set_config(m->inv, &cfg);
    if (rc != 0)
        model_diverge(m, "set_config: %s", bo_err_code(rc));
    ref_inv_set_config(m->ref, &cfg);
    const bo_inv_config_t *got = bo_inv_config(m->inv);
    if (got->per_customer_limit != cfg.per_customer_limit ||
        memcmp(got->price_cents, cfg.price_cents, sizeof cfg.price_cents) != 0)
        model_diverge(m, "bo_inv_config does not return what set_config set");
    model_after_op(m, 0);
    return 0;
}

/* ---- the journal ---- */

static void push_checkpoint(model_t *m)
{
    model_checkpoint_t *cp = &m->cps[m->ncp++];
    cp->pos = bo_inv_journal_pos(m->inv);
    cp->version = bo_inv_version(m->inv);
    ref_inv_copy(cp->copy, m->ref);
    model_begin(m, "journal: position %u taken (%llu)", m->ncp - 1, (unsigned long long)cp->pos);
}

static void rollback_to(model_t *m, uint32_t level)
{
    model_checkpoint_t *cp = &m->cps[level];
    uint64_t before = bo_inv_version(m->inv);
    model_begin(m, "journal: rollback to position %u (%llu)", level, (unsigned long long)cp->pos);
    bo_inv_rollback(m->inv, cp->pos);
    ref_inv_copy(m->ref, cp->copy);
    ref_inv_tick(m->ref, m->now);
    m->ncp = level;
    model_after_op(m, 0);
    if (before != cp->version && bo_inv_version(m->inv) == before)
        model_diverge(m, "rollback undid changes but the version stayed %llu",
                      (unsigned long long)before);
    model_full_compare(m);
}

/* forget(pos of level): positions below it can no longer be rolled back to. */
static void forget_to(model_t *m, uint32_t level)
{
    model_begin(m, "journal: forget up to position %u", level);
    bo_inv_forget(m->inv, m->cps[level].pos);
    for (uint32_t i = 0; i + level < m->ncp; i++) { /* rotate, keeping every copy */
        model_checkpoint_t t = m->cps[i];
        m->cps[i] = m->cps[i + level];
        m->cps[i + level] = t;
    }
    m->ncp -= level;
    model_after_op(m, 0);
}

static void forget_all(model_t *m)
{
    model_begin(m, "journal: forget all");
    bo_inv_forget(m->inv, bo_inv_journal_pos(m->inv));
    m->ncp = 0;
    model_after_op(m, 0);
}

/* One journal step before each op; returns whether it did something. */
static int journal_step(model_t *m)
{
    if (!m->journal_on) {
        if (m->op < m->journal_on_at)
            return 0;
        bo_inv_set_journal(m->inv, 1);
        m->journal_on = 1;
        model_begin(m, "journal: on");
        return 1;
    }
    if (m->ncp == 0) {
        bo_inv_forget(m->inv, bo_inv_journal_pos(m->inv)); /* the store commits each op */
        if (model_below(m, 20000) == 0) {
            bo_inv_set_journal(m->inv, 0);
            m->journal_on = 0;
            m->journal_on_at = m->op + 200 + model_below(m, 3000);
            model_begin(m, "journal: off until op %llu", (unsigned long long)m->journal_on_at);
            return 1;
        }
        if (!model_chance(m, 10))
            return 0;
        push_checkpoint(m);
        return 1;
    }
    if (m->ncp < MODEL_MAX_CP && model_chance(m, 25)) {
        push_checkpoint(m);
        return 1;
    }
    if (!model_chance(m, 80))
        return 0;
    uint32_t k = model_below(m, 100), level = model_below(m, m->ncp);
    if (k < 50)
        rollback_to(m, level);
    else if (k < 80)
        forget_all(m);
    else
        forget_to(m, level);
    return 1;
}

/* ---- the run ---- */

static const struct {
    const char *name;
    uint32_t weight;
    int (*fn)(model_t *m);
} ops[] = {
#define OP_ROW(name, weight) {#name, weight, op_##name},
    OPS(OP_ROW)
#undef OP_ROW
};

static enum op_kind pick_op(model_t *m)
{
    uint32_t total = 0;
    for (uint32_t i = 0; i < OP_journal; i++)
        total += ops[i].weight;
    uint32_t k = model_below(m, total);
    for (uint32_t i = 0; i < OP_journal; i++) {
        if (k < ops[i].weight)
            return (enum op_kind)i;
        k -= ops[i].weight;
    }
    return OP_hold_seats;
}

static void count(model_t *m, enum op_kind op, int rc)
{
    uint32_t code = rc <= 0 && rc > -MODEL_CODES ? (uint32_t)-rc : 0;
    m->stats[op][code]++;
}

static void print_stats(const model_t *m)
{
    fprintf(stderr, "test_model: answers per operation:\n");
    for (uint32_t op = 0; op < OP_COUNT; op++) {
        uint64_t n = 0;
        for (uint32_t c = 0; c < MODEL_CODES; c++)
            n += m->stats[op][c];
        if (n == 0)
            continue;
        fprintf(stderr, "  %-14s %9llu:", op < OP_journal ? ops[op].name : "journal",
                (unsigned long long)n);
        for (uint32_t c = 0; c < MODEL_CODES; c++)
            if (m->stats[op][c])
                fprintf(stderr, " %s %.1f%%", bo_err_code(-(int)c),
                        100.0 * (double)m->stats[op][c] / (double)n);
        fprintf(stderr, "\n");
    }
    fprintf(stderr, "  best available answered strict %llu, with orphans %llu, split %llu\n",
            (unsigned long long)m->best_steps[1], (unsigned long long)m->best_steps[2],
            (unsigned long long)m->best_steps[3]);
    double n = (double)(m->samples ? m->samples : 1);
    fprintf(stderr, "  seats on average: available %.0f, held %.0f, sold %.0f, blocked %.0f\n",
            (double)m->seat_sum[0] / n, (double)m->seat_sum[1] / n, (double)m->seat_sum[2] / n,
            (double)m->seat_sum[3] / n);
}

static uint64_t env_u64(const char *name, uint64_t dflt)
{
    const char *v = getenv(name);
    return v && *v ? strtoull(v, NULL, 0) : dflt;
}

static uint64_t fresh_seed(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ((uint64_t)ts.tv_sec * 1000000007ull) ^ (uint64_t)ts.tv_nsec ^
           ((uint64_t)getpid() << 32);
}

static void step(model_t *m)
{
    enum op_kind op = OP_journal;
    int rc = 0;
    m->desc[0] = 0;
    m->desc_len = 0;
    if (!journal_step(m)) {
        op = pick_op(m);
        rc = ops[op].fn(m);
    }
    count(m, op, rc);
    if (m->verbose)
        fprintf(stderr, "%llu: %s\n", (unsigned long long)m->op, m->desc);
    memcpy(m->trace[m->op % MODEL_TRACE], m->desc, m->desc_len + 1);
}

/* A new venue and rules every episode_ops operations (compared whole
 * before it goes), so that a long run covers many shapes and rules. */
static void next_episode(model_t *m)
{
    if (m->inv) {
        model_begin(m, "end of the episode before op %llu", (unsigned long long)m->op);
        model_full_compare(m);
        if (m->verbose)
            fprintf(stderr, "test_model: episode ends with bo_inv_memory %zu bytes\n",
                    bo_inv_memory(m->inv));
        model_episode_end(m);
    }
    model_episode_start(m);
    if (m->verbose || m->op == 0)
        fprintf(stderr, "test_model: op %llu: %s\n", (unsigned long long)m->op, m->venue_desc);
    model_begin(m, "initial state");
    model_full_compare(m);
}

static void run(model_t *m)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (m->op = 0; m->op < m->nops; m->op++) {
        if (m->op % m->episode_ops == 0)
            next_episode(m);
        step(m);
        if ((m->op + 1) % m->check_every == 0) {
            model_say(m, " (then the full state check)");
            model_full_compare(m);
        }
    }
    model_begin(m, "final state after op %llu", (unsigned long long)m->nops);
    if (m->inv)
        model_full_compare(m);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    print_stats(m);
    fprintf(stderr, "test_model: %llu ops in %llu episodes passed in %.1f s (seed %llu)\n",
            (unsigned long long)m->nops,
            (unsigned long long)((m->nops + m->episode_ops - 1) / m->episode_ops),
            (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
            (unsigned long long)m->seed);
    if (m->inv)
        model_episode_end(m);
}

Test(model, random_operations_match_the_reference)
{
    static model_t m; /* large: trace and ring */
    memset(&m, 0, sizeof m);
    m.seed = env_u64("BOXOFFICE_MODEL_SEED", fresh_seed());
    m.nops = env_u64("BOXOFFICE_MODEL_OPS", 1000000);
    m.check_every = env_u64("BOXOFFICE_MODEL_CHECK", 100);
    m.episode_ops = env_u64("BOXOFFICE_MODEL_EPISODE", 50000);
    m.verbose = getenv("BOXOFFICE_MODEL_VERBOSE") && atoi(getenv("BOXOFFICE_MODEL_VERBOSE"));
    if (m.check_every == 0)
        m.check_every = 100;
    if (m.episode_ops == 0)
        m.episode_ops = 50000;
    m.rng = m.seed;
    fprintf(stderr, "test_model: seed %llu, %llu ops (replay: BOXOFFICE_MODEL_SEED=%llu)\n",
            (unsigned long long)m.seed, (unsigned long long)m.nops, (unsigned long long)m.seed);
    run(&m);
}
