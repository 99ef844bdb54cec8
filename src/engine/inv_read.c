/*
 * inv_read.c - reads of an inventory (engine.h): seat states, counts, holds,
 * snapshots, due payments. None of them changes anything, and every one
 * treats a HELD hold past its expires_at as gone, whether or not the sweeper
 * has run: expired holds not yet swept sit at the top of the expiry heap, so
 * correcting a count visits only them.
 *
 * Workload: as frequent as holds (every availability poll of every buyer);
 * counts are O(1) plus O(expired but unswept holds); snapshots O(seats);
 * the walk over every hold (reports) O(hold slots).
 */
#include <string.h>

#include "boxoffice/error.h"
#include "engine/inv_internal.h"
#include "util/assert.h"

int bo__hold_expired(const struct hold *h, int64_t now_ms)
{
    return h->status == BO_HOLD_HELD && h->expires_at_ms <= now_ms;
}

/* Call fn for every hold in heap h whose key is <= now (those in the
 * expiry heap: expired but not yet swept). */
typedef void (*visit_fn)(const bo_inv_t *inv, const struct hold *h, void *arg);
static void visit_due(const bo_inv_t *inv, const struct heap *hp, uint32_t i, int64_t now_ms,
                      visit_fn fn, void *arg)
{
    if (i >= hp->n)
        return;
    const struct hold *h = &inv->holds[hp->slots[i]];
    BO_ASSERT(h->status == (hp->paying ? BO_HOLD_PAYING : BO_HOLD_HELD));
    int64_t k = hp->paying ? h->pay_deadline_ms : h->expires_at_ms;
    if (k > now_ms)
        return;
    fn(inv, h, arg);
    visit_due(inv, hp, 2 * i + 1, now_ms, fn, arg);
    visit_due(inv, hp, 2 * i + 2, now_ms, fn, arg);
}

enum bo_seat_state bo_inv_seat_state(const bo_inv_t *inv, uint32_t seat, int64_t now_ms)
{
    BO_ASSERT(seat < inv->layout->nseats);
    uint32_t w = inv->words[seat];
    if (W_STATE(w) == BO_SEAT_HELD && bo__hold_expired(&inv->holds[W_SLOT(w)], now_ms))
        return BO_SEAT_AVAILABLE;
    return (enum bo_seat_state)W_STATE(w);
}

static void count_expired(const bo_inv_t *inv, const struct hold *h, void *arg)
{
    bo_inv_counts_t *c = arg;
    BO_ASSERT(c->held >= h->nseats && c->live_holds > 0);
    c->held -= h->nseats;
    c->available += h->nseats;
    c->live_holds--;
}

void bo_inv_counts(const bo_inv_t *inv, int64_t now_ms, bo_inv_counts_t *c)
{
    BO_ASSERT(c != NULL);
    c->total = inv->layout->nseats;
    c->available = inv->n_avail;
    c->held = inv->n_held;
    c->sold = inv->n_sold;
    c->blocked = inv->n_blocked;
    c->live_holds = inv->n_live;
    c->version = inv->version;
    visit_due(inv, &inv->exp, 0, now_ms, count_expired, c);
    BO_ASSERT(c->available + c->held + c->sold + c->blocked == c->total);
}

struct cat_arg {
    uint32_t category, n;
};

static void cat_expired(const bo_inv_t *inv, const struct hold *h, void *arg)
{
    struct cat_arg *a = arg;
    for (uint32_t i = 0; i < h->nseats; i++)
        a->n += inv->layout->seats[h->seats[i]].category == a->category;
}

uint32_t bo_inv_category_available(const bo_inv_t *inv, uint32_t category, int64_t now_ms)
{
    if (category >= inv->layout->ncategories)
        return 0;
    struct cat_arg a = {category, inv->cat_avail[category]};
    visit_due(inv, &inv->exp, 0, now_ms, cat_expired, &a);
    return a.n;
}

static void ga_expired(const bo_inv_t *inv, const struct hold *h, void *arg)
{
    struct cat_arg *a = arg;
    for (uint32_t i = 0; i < h->nga; i++)
        if (h->ga[i].area == a->category)
            a->n += h->ga[i].quantity;
}

uint32_t bo_inv_ga_available(const bo_inv_t *inv, uint32_t area, int64_t now_ms)
{
    if (area >= inv->layout->nga)
        return 0;
    BO_ASSERT((uint64_t)inv->ga_held[area] + inv->ga_sold[area] <= inv->layout->ga[area].capacity);
    struct cat_arg a = {area,
                        inv->layout->ga[area].capacity - inv->ga_held[area] - inv->ga_sold[area]};
    visit_due(inv, &inv->exp, 0, now_ms, ga_expired, &a);
    return a.n;
}

uint32_t bo_inv_ga_sold(const bo_inv_t *inv, uint32_t area)
{
    return area < inv->layout->nga ? inv->ga_sold[area] : 0;
}

uint64_t bo_inv_snapshot(const bo_inv_t *inv, int64_t now_ms, uint8_t *states)
{
    BO_ASSERT(states != NULL || inv->layout->nseats == 0);
    for (uint32_t s = 0; s < inv->layout->nseats; s++)
        states[s] = (uint8_t)bo_inv_seat_state(inv, s, now_ms);
    return inv->version;
}

uint64_t bo_inv_version(const bo_inv_t *inv)
{
    return inv->version;
}

static void view_of(const struct hold *h, bo_hold_view_t *v)
{
    *v = (bo_hold_view_t){
        .id = h->id,
        .status = h->status,
        .pay_failures = h->pay_failures,
        .customer = h->customer,
        .client = h->client,
        .created_ms = h->created_ms,
        .expires_at_ms = h->expires_at_ms,
        .pay_deadline_ms = h->pay_deadline_ms,
        .amount_cents = h->amount_cents,
        .seats = h->seats,
        .nseats = h->nseats,
        .ga = h->ga,
        .nga = h->nga,
    };
}

int bo_inv_get_hold(const bo_inv_t *inv, const bo_hold_id_t *id, int64_t now_ms, bo_hold_view_t *v)
{
    BO_ASSERT(id != NULL && v != NULL);
    uint32_t slot = bo__hold_find(inv, id);
    if (!slot || bo__hold_expired(&inv->holds[slot], now_ms))
        return BO_ENOTFOUND;
    view_of(&inv->holds[slot], v);
    return 0;
}

int bo_inv_each_hold(const bo_inv_t *inv, int64_t now_ms, bo_inv_hold_fn fn, void *arg)
{
    BO_ASSERT(fn != NULL);
    bo_hold_view_t v;
    for (uint32_t slot = 1; slot < inv->nholds; slot++) {
        const struct hold *h = &inv->holds[slot];
        if (h->status == BO_HOLD_NONE || bo__hold_expired(h, now_ms))
            continue;
        view_of(h, &v);
        int rc = fn(arg, &v);
        if (rc)
            return rc;
    }
    return 0;
}

struct due_arg {
    bo_hold_id_t *ids;
    uint32_t n, max;
};

static void due_one(const bo_inv_t *inv, const struct hold *h, void *arg)
{
    struct due_arg *a = arg;
    if (a->n < a->max)
        a->ids[a->n++] = h->id;
}

uint32_t bo_inv_due_payments(const bo_inv_t *inv, int64_t now_ms, bo_hold_id_t *ids, uint32_t max)
{
    BO_ASSERT(ids != NULL || max == 0);
    struct due_arg a = {ids, 0, max};
    visit_due(inv, &inv->pay, 0, now_ms, due_one, &a);
    return a.n;
}

int64_t bo_inv_next_deadline(const bo_inv_t *inv)
{
    int64_t t = INT64_MAX;
    if (inv->exp.n)
        t = inv->holds[inv->exp.slots[0]].expires_at_ms;
    if (inv->pay.n && inv->holds[inv->pay.slots[0]].pay_deadline_ms < t)
        t = inv->holds[inv->pay.slots[0]].pay_deadline_ms;
    return t;
}

size_t bo_inv_memory(const bo_inv_t *inv)
{
    const bo_layout_t *l = inv->layout;
    size_t per_seat = (size_t)l->nseats * sizeof(uint32_t) + (size_t)l->nrows * sizeof(uint16_t) +
                      (size_t)l->ncategories * sizeof(uint32_t) + (size_t)l->nga * 8;
    size_t holds =
        (size_t)inv->cap_holds * (sizeof(struct hold) + 4 * sizeof(uint32_t)) +
        (size_t)(inv->hash_mask + 1) * sizeof(uint64_t) +
        (size_t)(inv->cust.mask + inv->client_tickets.mask + inv->client_holds.mask + 3) *
            sizeof(struct cust) +
        inv->jcap * sizeof(struct jent) + inv->hcap * sizeof(struct hold);
    return sizeof(*inv) + per_seat + holds;
}

void bo_inv_client_counts(const bo_inv_t *inv, uint64_t client, int64_t now_ms, uint32_t *tickets,
                          uint32_t *holds)
{
    *tickets = bo__count_get(&inv->client_tickets, client);
    *holds = bo__count_get(&inv->client_holds, client);
    if (client == 0 || (*holds == 0 && *tickets == 0))
        return;
    for (uint32_t i = 0; i < inv->exp.n; i++) { /* expired, not yet swept: gone */
        const struct hold *h = &inv->holds[inv->exp.slots[i]];
        if (h->client == client && h->expires_at_ms <= now_ms) {
            *tickets -= h->tickets;
            *holds -= 1;
        }
    }
}
