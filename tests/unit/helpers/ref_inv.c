/*
 * ref_inv.c - the reference inventory (see ref_inv.h): the engine's rules
 * as plain loops over a seat array and a hold array. Speed does not matter
 * beyond keeping a 10^7-operation model run within minutes on venues of a
 * few hundred seats; obviousness does.
 */
#include "ref_inv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boxoffice/error.h"

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p) {
        fprintf(stderr, "ref_inv: out of memory\n");
        abort();
    }
    return p;
}

static int id_eq(const bo_hold_id_t *a, const bo_hold_id_t *b)
{
    return memcmp(a->b, b->b, sizeof a->b) == 0;
}

ref_inv_t *ref_inv_new(const bo_layout_t *l, const bo_inv_config_t *cfg)
{
    ref_inv_t *r = xcalloc(1, sizeof *r);
    uint32_t units = l->nseats;
    for (uint32_t a = 0; a < l->nga; a++)
        units += l->ga[a].capacity;
    r->l = l;
    r->cap = units + 1; /* every live or sold hold owns at least one unit */
    r->holds = xcalloc(r->cap, sizeof *r->holds);
    r->blocked = xcalloc(l->nseats, 1);
    r->owner = xcalloc(l->nseats, sizeof *r->owner);
    for (uint32_t s = 0; s < l->nseats; s++)
        r->owner[s] = BO_NONE;
    ref_inv_set_config(r, cfg);
    return r;
}

void ref_inv_free(ref_inv_t *r)
{
    if (!r)
        return;
    free(r->holds);
    free(r->blocked);
    free(r->owner);
    free(r);
}

void ref_inv_copy(ref_inv_t *dst, const ref_inv_t *src)
{
    uint32_t n = dst->hwm > src->hwm ? dst->hwm : src->hwm;
    memcpy(dst->holds, src->holds, n * sizeof *src->holds);
    memcpy(dst->blocked, src->blocked, src->l->nseats);
    memcpy(dst->owner, src->owner, src->l->nseats * sizeof *src->owner);
    dst->cfg = src->cfg;
    dst->hwm = src->hwm;
    dst->unswept_lo = src->unswept_lo;
    dst->unswept_hi = src->unswept_hi;
}

void ref_inv_set_config(ref_inv_t *r, const bo_inv_config_t *cfg)
{
    r->cfg = *cfg;
    if (r->cfg.hold_ttl_ms == 0)
        r->cfg.hold_ttl_ms = 300000;
    if (r->cfg.max_holds == 0)
        r->cfg.max_holds = 1u << 20;
}

static void drop(ref_inv_t *r, uint32_t i)
{
    ref_hold_t *h = &r->holds[i];
    for (uint32_t k = 0; k < h->nseats; k++)
        r->owner[h->seats[k]] = BO_NONE;
    memset(h, 0, sizeof *h);
    while (r->hwm > 0 && r->holds[r->hwm - 1].status == BO_HOLD_NONE)
        r->hwm--;
}

void ref_inv_tick(ref_inv_t *r, int64_t now_ms)
{
    for (uint32_t i = 0; i < r->hwm; i++) {
        ref_hold_t *h = &r->holds[i];
        if (h->status == BO_HOLD_HELD && h->expires_at_ms <= now_ms) {
            drop(r, i);
            r->unswept_lo++;
            r->unswept_hi++;
        }
    }
}

/* A mutating call answered rc: when it succeeded the engine swept first. */
static int settle(ref_inv_t *r, int rc)
{
    r->unswept_lo = 0;
    if (rc == 0)
        r->unswept_hi = 0;
    return rc;
}

static uint32_t find(const ref_inv_t *r, const bo_hold_id_t *id)
{
    for (uint32_t i = 0; i < r->hwm; i++)
        if (r->holds[i].status != BO_HOLD_NONE && id_eq(&r->holds[i].id, id))
            return i;
    return BO_NONE;
}

const ref_hold_t *ref_inv_find(const ref_inv_t *r, const bo_hold_id_t *id)
{
    uint32_t i = find(r, id);
    return i == BO_NONE ? NULL : &r->holds[i];
}

enum bo_seat_state ref_inv_seat_state(const ref_inv_t *r, uint32_t seat)
{
    if (r->blocked[seat])
        return BO_SEAT_BLOCKED;
    if (r->owner[seat] == BO_NONE)
        return BO_SEAT_AVAILABLE;
    return r->holds[r->owner[seat]].status == BO_HOLD_SOLD ? BO_SEAT_SOLD : BO_SEAT_HELD;
}

uint32_t ref_inv_hold_units(const ref_hold_t *h)
{
    uint32_t n = h->nseats;
    for (uint32_t k = 0; k < h->nga; k++)
        n += h->ga[k].quantity;
    return n;
}

static uint32_t in_use(const ref_inv_t *r)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < r->hwm; i++)
        n += r->holds[i].status != BO_HOLD_NONE;
    return n;
}

static uint64_t customer_units(const ref_inv_t *r, uint64_t customer)
{
    uint64_t n = 0;
    for (uint32_t i = 0; i < r->hwm; i++)
        if (r->holds[i].status != BO_HOLD_NONE && r->holds[i].customer == customer)
            n += ref_inv_hold_units(&r->holds[i]);
    return n;
}

void ref_inv_client_counts(const ref_inv_t *r, uint64_t client, uint32_t *tickets, uint32_t *holds)
{
    *tickets = *holds = 0;
    for (uint32_t i = 0; client && i < r->hwm; i++) {
        const ref_hold_t *h = &r->holds[i];
        if ((h->status == BO_HOLD_HELD || h->status == BO_HOLD_PAYING) && h->client == client) {
            *tickets += ref_inv_hold_units(h);
            *holds += 1;
        }
    }
}

static uint32_t ga_units(const ref_inv_t *r, uint32_t area, int sold)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < r->hwm; i++) {
        const ref_hold_t *h = &r->holds[i];
        if (h->status == BO_HOLD_NONE || (h->status == BO_HOLD_SOLD) != sold)
            continue;
        for (uint32_t k = 0; k < h->nga; k++)
            if (h->ga[k].area == area)
                n += h->ga[k].quantity;
    }
    return n;
}

uint32_t ref_inv_ga_held(const ref_inv_t *r, uint32_t area)
{
    return ga_units(r, area, 0);
}

uint32_t ref_inv_ga_sold(const ref_inv_t *r, uint32_t area)
{
    return ga_units(r, area, 1);
}

/* Seat indices in range, no duplicates, at most BO_HOLD_MAX_SEATS. */
static int seats_valid(const bo_layout_t *l, const uint32_t *seats, uint32_t n)
{
    if (n > BO_HOLD_MAX_SEATS)
        return 0;
    for (uint32_t i = 0; i < n; i++) {
        if (seats[i] >= l->nseats)
            return 0;
        for (uint32_t j = 0; j < i; j++)
            if (seats[j] == seats[i])
                return 0;
    }
    return 1;
}

/* Areas in range, one line per area, 1..BO_HOLD_MAX_GA_QTY tickets each. */
static int ga_valid(const bo_layout_t *l, const bo_ga_line_t *ga, uint32_t n)
{
    if (n > BO_HOLD_MAX_GA)
        return 0;
    for (uint32_t i = 0; i < n; i++) {
        if (ga[i].area >= l->nga || ga[i].quantity == 0 || ga[i].quantity > BO_HOLD_MAX_GA_QTY)
            return 0;
        for (uint32_t j = 0; j < i; j++)
            if (ga[j].area == ga[i].area)
                return 0;
    }
    return 1;
}

static int req_valid(const bo_layout_t *l, const bo_hold_req_t *q)
{
    if (q->best_quantity > 0) {
        if (q->nseats > 0 || q->nga > 0 || q->best_quantity > BO_HOLD_MAX_SEATS)
            return 0;
        if (q->best_category != BO_NONE && q->best_category >= l->ncategories)
            return 0;
        return q->best_section == BO_NONE || q->best_section < l->nsections;
    }
    if (q->nseats == 0 && q->nga == 0)
        return 0;
    return seats_valid(l, q->seats, q->nseats) && ga_valid(l, q->ga, q->nga);
}

/* Fills res->unavailable / ga_short (when res); returns whether any. */
static int list_unavailable(const ref_inv_t *r, const uint32_t *seats, uint32_t nseats,
                            const bo_ga_line_t *ga, uint32_t nga, bo_hold_res_t *res)
{
    uint32_t nu = 0, ns = 0;
    for (uint32_t i = 0; i < nseats; i++)
        if (ref_inv_seat_state(r, seats[i]) != BO_SEAT_AVAILABLE && nu < BO_HOLD_MAX_SEATS)
            res->unavailable[nu++] = seats[i];
    for (uint32_t i = 0; i < nga; i++) {
        uint32_t a = ga[i].area;
        uint32_t taken = ref_inv_ga_held(r, a) + ref_inv_ga_sold(r, a);
        if (taken + ga[i].quantity > r->l->ga[a].capacity)
            res->ga_short[ns++] = a;
    }
    res->nunavailable = nu;
    res->nga_short = ns;
    return nu + ns > 0;
}

/* The hold's answer before anything changes (ref_hold_check). */
static int hold_answer(ref_inv_t *r, const bo_hold_req_t *req, bo_hold_res_t *res)
{
    if (!req_valid(r->l, req))
        return BO_EINVAL;
    if (find(r, &req->id) != BO_NONE)
        return BO_EEXIST;
    uint64_t want = req->best_quantity ? req->best_quantity : req->nseats;
    for (uint32_t i = 0; i < req->nga; i++)
        want += req->ga[i].quantity;
    uint32_t limit = r->cfg.per_customer_limit;
    if (!req->replay && req->customer != 0 && limit != 0 &&
        customer_units(r, req->customer) + want > limit)
        return BO_ELIMIT;
    uint32_t tickets, holds;
    ref_inv_client_counts(r, req->client, &tickets, &holds);
    if (!req->replay && req->client && req->max_client_tickets &&
        tickets + want > req->max_client_tickets) {
        res->cap = BO_CAP_SEATS;
        return BO_ECAP;
    }
    if (!req->replay && req->client && req->max_client_holds && holds + 1 > req->max_client_holds) {
        res->cap = BO_CAP_HOLDS;
        return BO_ECAP;
    }
    if (in_use(r) >= r->cfg.max_holds)
        return BO_EFULL;
    if (req->best_quantity > 0)
        return ref_inv_best_fits(r, req->best_quantity, req->best_category, req->best_section)
                   ? 0
                   : BO_ENOSEATS;
    return list_unavailable(r, req->seats, req->nseats, req->ga, req->nga, res) ? BO_EUNAVAILABLE
                                                                                : 0;
}

int ref_inv_hold_check(ref_inv_t *r, const bo_hold_req_t *req, int64_t now_ms, bo_hold_res_t *res)
{
    ref_inv_tick(r, now_ms);
    res->nunavailable = res->nga_short = res->nseats = 0;
    res->cap = BO_CAP_NONE;
    int rc = hold_answer(r, req, res);
    return rc ? settle(r, rc) : 0;
}

static int64_t price(const ref_inv_t *r, const uint32_t *seats, uint32_t nseats,
                     const bo_ga_line_t *ga, uint32_t nga)
{
    int64_t cents = 0;
    for (uint32_t i = 0; i < nseats; i++)
        cents += r->cfg.price_cents[r->l->seats[seats[i]].category];
    for (uint32_t i = 0; i < nga; i++)
        cents += r->cfg.price_cents[r->l->ga[ga[i].area].category] * (int64_t)ga[i].quantity;
    return cents;
}

/* A new hold entry owning seats; the caller sets the times and status. */
static ref_hold_t *create(ref_inv_t *r, const bo_hold_id_t *id, uint64_t customer,
                          const uint32_t *seats, uint32_t nseats, const bo_ga_line_t *ga,
                          uint32_t nga)
{
    uint32_t i = 0;
    while (i < r->cap && r->holds[i].status != BO_HOLD_NONE)
        i++;
    if (i == r->cap) {
        fprintf(stderr, "ref_inv: hold table full (a reference bug)\n");
        abort();
    }
    ref_hold_t *h = &r->holds[i];
    memset(h, 0, sizeof *h);
    h->id = *id;
    h->customer = customer;
    if (nseats) /* seats and ga may be NULL when empty */
        memcpy(h->seats, seats, nseats * sizeof *seats);
    h->nseats = nseats;
    if (nga)
        memcpy(h->ga, ga, nga * sizeof *ga);
    h->nga = nga;
    h->amount_cents = price(r, seats, nseats, ga, nga);
    for (uint32_t k = 0; k < nseats; k++)
        r->owner[seats[k]] = i;
    if (i >= r->hwm)
        r->hwm = i + 1;
    return h;
}

void ref_inv_hold_apply(ref_inv_t *r, const bo_hold_req_t *req, const uint32_t *seats,
                        uint32_t nseats, int64_t now_ms, bo_hold_res_t *res)
{
    ref_hold_t *h = create(r, &req->id, req->customer, seats, nseats, req->ga, req->nga);
    h->client = req->client;
    h->status = BO_HOLD_HELD;
    h->created_ms = now_ms;
    h->expires_at_ms = req->expires_at_ms ? req->expires_at_ms : now_ms + r->cfg.hold_ttl_ms;
    if (req->replay)
        h->amount_cents = req->amount_cents;
    settle(r, 0);
    res->expires_at_ms = h->expires_at_ms;
    res->amount_cents = h->amount_cents;
    if (nseats)
        memcpy(res->seats, seats, nseats * sizeof *seats);
    res->nseats = nseats;
}

static int release(ref_inv_t *r, const bo_hold_id_t *id)
{
    uint32_t i = find(r, id);
    if (i == BO_NONE)
        return BO_ENOTFOUND;
    if (r->holds[i].status == BO_HOLD_SOLD)
        return BO_ESTATE;
    drop(r, i);
    return 0;
}

int ref_inv_release(ref_inv_t *r, const bo_hold_id_t *id, int64_t now_ms)
{
    ref_inv_tick(r, now_ms);
    return settle(r, release(r, id));
}

static int pay_start(ref_inv_t *r, const bo_hold_id_t *id, int64_t deadline_ms, int64_t now_ms)
{
    if (deadline_ms <= now_ms)
        return BO_EINVAL;
    uint32_t i = find(r, id);
    if (i == BO_NONE)
        return BO_ENOTFOUND;
    if (r->holds[i].status != BO_HOLD_HELD)
        return BO_ESTATE;
    r->holds[i].status = BO_HOLD_PAYING;
    r->holds[i].pay_deadline_ms = deadline_ms;
    return 0;
}

int ref_inv_pay_start(ref_inv_t *r, const bo_hold_id_t *id, int64_t deadline_ms, int64_t now_ms)
{
    ref_inv_tick(r, now_ms);
    return settle(r, pay_start(r, id, deadline_ms, now_ms));
}

static int pay_failed(ref_inv_t *r, const bo_hold_id_t *id, int64_t now_ms, int *released)
{
    uint32_t i = find(r, id);
    if (i == BO_NONE)
        return BO_ENOTFOUND;
    ref_hold_t *h = &r->holds[i];
    if (h->status != BO_HOLD_PAYING)
        return BO_ESTATE;
    h->pay_failures++;
    /* the last failure allowed, or its time ran out while paying */
    if (h->pay_failures >= BO_PAY_MAX_FAILURES || h->expires_at_ms <= now_ms) {
        drop(r, i);
        *released = 1;
        return 0;
    }
    h->status = BO_HOLD_HELD;
    h->pay_deadline_ms = 0;
    return 0;
}

int ref_inv_pay_failed(ref_inv_t *r, const bo_hold_id_t *id, int64_t now_ms, int *released)
{
    ref_inv_tick(r, now_ms);
    *released = 0;
    return settle(r, pay_failed(r, id, now_ms, released));
}

/* A late payment: the same seats and GA again, as a new SOLD hold. */
static int confirm_late(ref_inv_t *r, const bo_hold_id_t *id, const uint32_t *seats,
                        uint32_t nseats, const bo_ga_line_t *ga, uint32_t nga, uint64_t customer,
                        int64_t amount_cents, int64_t now_ms)
{
    bo_hold_res_t res;
    if ((nseats == 0 && nga == 0) || !seats_valid(r->l, seats, nseats) || !ga_valid(r->l, ga, nga))
        return BO_EINVAL;
    if (list_unavailable(r, seats, nseats, ga, nga, &res))
        return BO_EUNAVAILABLE;
    if (in_use(r) >= r->cfg.max_holds)
        return BO_EFULL;
    ref_hold_t *h = create(r, id, customer, seats, nseats, ga, nga);
    h->status = BO_HOLD_SOLD;
    h->late = 1;
    h->created_ms = now_ms;
    h->amount_cents = amount_cents;
    return 0;
}

int ref_inv_confirm(ref_inv_t *r, const bo_hold_id_t *id, const uint32_t *seats, uint32_t nseats,
                    const bo_ga_line_t *ga, uint32_t nga, uint64_t customer, int64_t amount_cents,
                    int64_t now_ms)
{
    ref_inv_tick(r, now_ms);
    uint32_t i = find(r, id);
    if (i == BO_NONE)
        return settle(r,
                      confirm_late(r, id, seats, nseats, ga, nga, customer, amount_cents, now_ms));
    if (r->holds[i].status == BO_HOLD_SOLD)
        return settle(r, BO_ESTATE);
    r->holds[i].status = BO_HOLD_SOLD;
    return settle(r, 0);
}

static int cancel(ref_inv_t *r, const bo_hold_id_t *id)
{
    uint32_t i = find(r, id);
    if (i == BO_NONE)
        return BO_ENOTFOUND;
    if (r->holds[i].status != BO_HOLD_SOLD)
        return BO_ESTATE;
    drop(r, i);
    return 0;
}

int ref_inv_cancel(ref_inv_t *r, const bo_hold_id_t *id, int64_t now_ms)
{
    ref_inv_tick(r, now_ms);
    return settle(r, cancel(r, id));
}

static int block_seats(ref_inv_t *r, int block, const uint32_t *seats, uint32_t nseats,
                       bo_hold_res_t *res)
{
    res->nunavailable = res->nga_short = 0;
    if (nseats == 0 || !seats_valid(r->l, seats, nseats))
        return BO_EINVAL;
    for (uint32_t i = 0; i < nseats; i++) {
        enum bo_seat_state st = ref_inv_seat_state(r, seats[i]);
        int bad = block ? st == BO_SEAT_HELD || st == BO_SEAT_SOLD : st != BO_SEAT_BLOCKED;
        if (bad)
            res->unavailable[res->nunavailable++] = seats[i];
    }
    if (res->nunavailable > 0)
        return BO_EUNAVAILABLE;
    for (uint32_t i = 0; i < nseats; i++)
        r->blocked[seats[i]] = (uint8_t)(block != 0);
    return 0;
}

int ref_inv_block(ref_inv_t *r, int block, const uint32_t *seats, uint32_t nseats, int64_t now_ms,
                  bo_hold_res_t *res)
{
    bo_hold_res_t local;
    ref_inv_tick(r, now_ms);
    return settle(r, block_seats(r, block, seats, nseats, res ? res : &local));
}

void ref_inv_expire(ref_inv_t *r, int64_t now_ms, uint32_t *lo, uint32_t *hi)
{
    ref_inv_tick(r, now_ms);
    *lo = r->unswept_lo;
    *hi = r->unswept_hi;
    r->unswept_lo = r->unswept_hi = 0;
}

void ref_inv_counts(const ref_inv_t *r, bo_inv_counts_t *c)
{
    memset(c, 0, sizeof *c);
    c->total = r->l->nseats;
    for (uint32_t s = 0; s < r->l->nseats; s++) {
        switch (ref_inv_seat_state(r, s)) {
        case BO_SEAT_AVAILABLE:
            c->available++;
            break;
        case BO_SEAT_HELD:
            c->held++;
            break;
        case BO_SEAT_SOLD:
            c->sold++;
            break;
        case BO_SEAT_BLOCKED:
            c->blocked++;
            break;
        }
    }
    c->live_holds = ref_inv_count_holds(r, 1u << BO_HOLD_HELD | 1u << BO_HOLD_PAYING);
}

uint32_t ref_inv_category_available(const ref_inv_t *r, uint32_t category)
{
    uint32_t n = 0;
    for (uint32_t s = 0; s < r->l->nseats; s++)
        n += r->l->seats[s].category == category && ref_inv_seat_state(r, s) == BO_SEAT_AVAILABLE;
    return n;
}

uint32_t ref_inv_due_payments(const ref_inv_t *r, int64_t now_ms, bo_hold_id_t *ids, uint32_t max)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < r->hwm && n < max; i++) {
        const ref_hold_t *h = &r->holds[i];
        if (h->status == BO_HOLD_PAYING && h->pay_deadline_ms <= now_ms)
            ids[n++] = h->id;
    }
    return n;
}

int64_t ref_inv_next_deadline(const ref_inv_t *r)
{
    int64_t t = INT64_MAX;
    for (uint32_t i = 0; i < r->hwm; i++) {
        const ref_hold_t *h = &r->holds[i];
        if (h->status == BO_HOLD_HELD && h->expires_at_ms < t)
            t = h->expires_at_ms;
        if (h->status == BO_HOLD_PAYING && h->pay_deadline_ms < t)
            t = h->pay_deadline_ms;
    }
    return t;
}

uint32_t ref_inv_count_holds(const ref_inv_t *r, unsigned mask)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < r->hwm; i++)
        n += r->holds[i].status != BO_HOLD_NONE && (mask >> r->holds[i].status & 1u);
    return n;
}

const ref_hold_t *ref_inv_nth_hold(const ref_inv_t *r, unsigned mask, uint32_t n)
{
    for (uint32_t i = 0; i < r->hwm; i++) {
        const ref_hold_t *h = &r->holds[i];
        if (h->status != BO_HOLD_NONE && (mask >> h->status & 1u) && n-- == 0)
            return h;
    }
    return NULL;
}

static const char *check_hold_entry(const ref_inv_t *r, uint32_t i)
{
    const ref_hold_t *h = &r->holds[i];
    if (h->nseats + h->nga == 0)
        return "a hold owns nothing";
    for (uint32_t k = 0; k < h->nseats; k++)
        if (r->owner[h->seats[k]] != i || r->blocked[h->seats[k]])
            return "a hold's seat is not owned by it, or blocked";
    for (uint32_t j = 0; j < i; j++)
        if (r->holds[j].status != BO_HOLD_NONE && id_eq(&r->holds[j].id, &h->id))
            return "two holds share an id";
    return NULL;
}

const char *ref_inv_self_check(const ref_inv_t *r)
{
    for (uint32_t i = 0; i < r->hwm; i++) {
        if (r->holds[i].status == BO_HOLD_NONE)
            continue;
        const char *why = check_hold_entry(r, i);
        if (why)
            return why;
    }
    for (uint32_t s = 0; s < r->l->nseats; s++) {
        uint32_t o = r->owner[s];
        if (o != BO_NONE && (o >= r->hwm || r->holds[o].status == BO_HOLD_NONE))
            return "a seat is owned by a free hold entry";
    }
    for (uint32_t a = 0; a < r->l->nga; a++)
        if (ref_inv_ga_held(r, a) + ref_inv_ga_sold(r, a) > r->l->ga[a].capacity)
            return "a GA area is past its capacity";
    return NULL;
}
