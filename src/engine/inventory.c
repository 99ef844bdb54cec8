/*
 * inventory.c - the mutations of one event's inventory (engine.h): holds,
 * releases, payments, sales, cancellations, blocks and the expiry sweep.
 *
 * Workload: the hot path of an on-sale. A 2-seat hold costs a hash lookup,
 * two seat words, a handful of counters, one heap insert and ~16 journal
 * entries; nothing here allocates except the hold's own seat array and the
 * amortised growth of tables. Every operation checks everything first and
 * changes nothing when it fails; once it starts changing state it cannot
 * fail (capacity is reserved up front).
 */
#include <stdlib.h>
#include <string.h>

#include "boxoffice/error.h"
#include "engine/inv_internal.h"
#include "util/assert.h"

#define DEFAULT_TTL_MS    300000
#define DEFAULT_MAX_HOLDS (1u << 20)

static uint32_t *state_counter(bo_inv_t *inv, unsigned st)
{
    switch (st) {
    case BO_SEAT_AVAILABLE:
        return &inv->n_avail;
    case BO_SEAT_HELD:
        return &inv->n_held;
    case BO_SEAT_SOLD:
        return &inv->n_sold;
    default:
        return &inv->n_blocked;
    }
}

static void add_u32(bo_inv_t *inv, uint32_t *p, int64_t d)
{
    BO_ASSERT_EACH(d >= 0 || *p >= (uint64_t)-d); /* a counter never goes below 0 */
    BO_ASSERT_EACH(d <= 0 || (uint64_t)*p + (uint64_t)d <= UINT32_MAX);
    bo__j_u32(inv, p, (uint32_t)((int64_t)*p + d));
}

void bo__set_seat_raw(bo_inv_t *inv, uint32_t seat, uint32_t word)
{
    BO_ASSERT_EACH(seat < inv->layout->nseats);
    /* A HELD or SOLD seat names its hold; AVAILABLE and BLOCKED ones none. */
    BO_ASSERT_EACH((W_STATE(word) == BO_SEAT_HELD || W_STATE(word) == BO_SEAT_SOLD) ==
                   (W_SLOT(word) != 0));
    BO_ASSERT_EACH(W_SLOT(word) < inv->nholds);
    const bo_seat_t *s = &inv->layout->seats[seat];
    unsigned old = W_STATE(inv->words[seat]), state = W_STATE(word);
    inv->words[seat] = word;
    if (old == state)
        return;
    BO_ASSERT_EACH(*state_counter(inv, old) > 0);
    (*state_counter(inv, old))--;
    (*state_counter(inv, state))++;
    BO_ASSERT_EACH(inv->n_avail + inv->n_held + inv->n_sold + inv->n_blocked ==
                   inv->layout->nseats);
    int d = (state == BO_SEAT_AVAILABLE) - (old == BO_SEAT_AVAILABLE);
    BO_ASSERT_EACH(d >= 0 || (inv->cat_avail[s->category] > 0 && inv->row_free[s->row] > 0));
    BO_ASSERT_EACH(d <= 0 || inv->row_free[s->row] < inv->layout->rows[s->row].nseats);
    inv->cat_avail[s->category] += (uint32_t)d;
    inv->row_free[s->row] = (uint16_t)(inv->row_free[s->row] + d);
}

/* One journal entry per seat: undoing it restores the word and, through
 * bo__set_seat_raw, every counter that follows from it. */
void bo__set_seat(bo_inv_t *inv, uint32_t seat, unsigned state, uint32_t slot)
{
    bo__j_seat(inv, seat);
    bo__set_seat_raw(inv, seat, W_MAKE(state, slot));
}

/* Journal entries one hold-level change may write, reserved up front. */
static size_t hold_cost(uint32_t nseats, uint32_t nga)
{
    return 26 + 2 * (size_t)nseats + 2 * (size_t)nga;
}

/* ---- life cycle -------------------------------------------------------- */

static int check_config(const bo_layout_t *l, const bo_inv_config_t *cfg)
{
    if (cfg->hold_ttl_ms < 0 || cfg->max_holds > BO_INV_MAX_HOLDS)
        return BO_EINVAL;
    for (uint32_t c = 0; c < l->ncategories; c++)
        if (cfg->price_cents[c] < 0)
            return BO_EINVAL;
    return 0;
}

int bo_inv_check_config(const bo_layout_t *l, const bo_inv_config_t *cfg)
{
    return check_config(l, cfg);
}

int bo_inv_set_config(bo_inv_t *inv, const bo_inv_config_t *cfg)
{
    int rc = check_config(inv->layout, cfg);
    if (rc)
        return rc;
    inv->cfg = *cfg;
    if (inv->cfg.hold_ttl_ms == 0)
        inv->cfg.hold_ttl_ms = DEFAULT_TTL_MS;
    if (inv->cfg.max_holds == 0)
        inv->cfg.max_holds = DEFAULT_MAX_HOLDS;
    inv->version++;
    return 0;
}

int bo_inv_new(const bo_layout_t *l, const bo_inv_config_t *cfg, bo_inv_t **out)
{
    return bo_inv_new_shared(l, NULL, cfg, out);
}

int bo_inv_new_shared(const bo_layout_t *l, const bo_best_index_t *best, const bo_inv_config_t *cfg,
                      bo_inv_t **out)
{
    BO_ASSERT(l != NULL && cfg != NULL && out != NULL);
    BO_ASSERT(l->ncategories <= BO_LAYOUT_MAX_CATEGORIES); /* cfg->price_cents' size */
    *out = NULL;
    if (check_config(l, cfg))
        return BO_EINVAL;
    bo_inv_t *inv = calloc(1, sizeof(*inv));
    if (!inv)
        return BO_ENOMEM;
    inv->layout = l;
    inv->words = calloc(l->nseats ? l->nseats : 1, sizeof(uint32_t));
    inv->row_free = calloc(l->nrows ? l->nrows : 1, sizeof(uint16_t));
    inv->cat_avail = calloc(l->ncategories ? l->ncategories : 1, sizeof(uint32_t));
    inv->ga_held = calloc(l->nga ? l->nga : 1, sizeof(uint32_t));
    inv->ga_sold = calloc(l->nga ? l->nga : 1, sizeof(uint32_t));
    int rc = bo__holds_init(inv);
    if (rc == 0 &&
        (!inv->words || !inv->row_free || !inv->cat_avail || !inv->ga_held || !inv->ga_sold))
        rc = BO_ENOMEM;
    if (rc == 0 && best)
        inv->best = best;
    else if (rc == 0 && (rc = bo_best_index_new(l, &inv->own_best)) == 0)
        inv->best = inv->own_best;
    if (rc) {
        bo_inv_free(inv);
        return rc;
    }
    for (uint32_t r = 0; r < l->nrows; r++) {
        BO_ASSERT(l->rows[r].nseats <= UINT16_MAX); /* row_free's width */
        inv->row_free[r] = (uint16_t)l->rows[r].nseats;
    }
    for (uint32_t s = 0; s < l->nseats; s++)
        inv->cat_avail[l->seats[s].category]++;
    inv->n_avail = l->nseats;
    bo_inv_set_config(inv, cfg);
    inv->version = 1;
    *out = inv;
    return 0;
}

void bo_inv_free(bo_inv_t *inv)
{
    if (!inv)
        return;
    bo__holds_free(inv);
    bo_best_index_free(inv->own_best);
    free(inv->words);
    free(inv->row_free);
    free(inv->cat_avail);
    free(inv->ga_held);
    free(inv->ga_sold);
    free(inv);
}

const bo_layout_t *bo_inv_layout(const bo_inv_t *inv)
{
    return inv->layout;
}

const bo_inv_config_t *bo_inv_config(const bo_inv_t *inv)
{
    return &inv->cfg;
}

/* ---- hold-level changes (cannot fail once called) ------------------------ */

/* A live hold starts (sign 1) or stops (-1) counting for its client's caps. */
static void client_add(bo_inv_t *inv, const struct hold *h, int sign)
{
    bo__count_add(inv, &inv->client_tickets, h->client, sign * (int64_t)h->tickets);
    bo__count_add(inv, &inv->client_holds, h->client, sign);
}

/* A live (HELD or PAYING) hold goes away: its seats and GA return to sale. */
static void drop_hold(bo_inv_t *inv, uint32_t slot)
{
    const struct hold *h = &inv->holds[slot];
    BO_ASSERT(h->status == BO_HOLD_HELD || h->status == BO_HOLD_PAYING);
    for (uint32_t i = 0; i < h->nseats; i++) {
        BO_ASSERT_EACH(inv->words[h->seats[i]] == W_MAKE(BO_SEAT_HELD, slot));
        bo__set_seat(inv, h->seats[i], BO_SEAT_AVAILABLE, 0);
    }
    for (uint32_t i = 0; i < h->nga; i++)
        add_u32(inv, &inv->ga_held[h->ga[i].area], -(int64_t)h->ga[i].quantity);
    bo__count_add(inv, &inv->cust, h->customer, -(int64_t)h->tickets);
    client_add(inv, h, -1);
    add_u32(inv, &inv->n_live, -1);
    bo__hold_release_slot(inv, slot);
}

/* A live hold is paid: seats SOLD, GA held -> sold. */
static void sell_hold(bo_inv_t *inv, uint32_t slot)
{
    struct hold h = inv->holds[slot];
    BO_ASSERT(h.status == BO_HOLD_HELD || h.status == BO_HOLD_PAYING);
    for (uint32_t i = 0; i < h.nseats; i++) {
        BO_ASSERT(inv->words[h.seats[i]] == W_MAKE(BO_SEAT_HELD, slot));
        bo__set_seat(inv, h.seats[i], BO_SEAT_SOLD, slot);
    }
    for (uint32_t i = 0; i < h.nga; i++) {
        add_u32(inv, &inv->ga_held[h.ga[i].area], -(int64_t)h.ga[i].quantity);
        add_u32(inv, &inv->ga_sold[h.ga[i].area], h.ga[i].quantity);
    }
    client_add(inv, &h, -1);
    add_u32(inv, &inv->n_live, -1);
    h.status = BO_HOLD_SOLD;
    bo__hold_set(inv, slot, &h);
}

/* A sold hold is cancelled: its seats and GA go back on sale. */
static void unsell_hold(bo_inv_t *inv, uint32_t slot)
{
    const struct hold *h = &inv->holds[slot];
    BO_ASSERT(h->status == BO_HOLD_SOLD);
    for (uint32_t i = 0; i < h->nseats; i++) {
        BO_ASSERT_EACH(inv->words[h->seats[i]] == W_MAKE(BO_SEAT_SOLD, slot));
        bo__set_seat(inv, h->seats[i], BO_SEAT_AVAILABLE, 0);
    }
    for (uint32_t i = 0; i < h->nga; i++)
        add_u32(inv, &inv->ga_sold[h->ga[i].area], -(int64_t)h->ga[i].quantity);
    bo__count_add(inv, &inv->cust, h->customer, -(int64_t)h->tickets);
    bo__hold_release_slot(inv, slot);
}

/* Release every HELD hold expired at now. */
static uint32_t sweep(bo_inv_t *inv, int64_t now_ms)
{
    uint32_t n = 0;
    while (inv->exp.n > 0) {
        uint32_t slot = inv->exp.slots[0];
        const struct hold *h = &inv->holds[slot];
        BO_ASSERT(h->status == BO_HOLD_HELD); /* the expiry heap holds HELD holds only */
        if (h->expires_at_ms > now_ms || bo__j_reserve(inv, hold_cost(h->nseats, h->nga)))
            break;
        drop_hold(inv, slot);
        n++;
    }
    if (n)
        inv->version++;
    return n;
}

uint32_t bo_inv_expire(bo_inv_t *inv, int64_t now_ms)
{
    return sweep(inv, now_ms);
}

size_t bo__hold_cost(uint32_t nseats, uint32_t nga)
{
    return hold_cost(nseats, nga);
}

/* ---- request checks ---------------------------------------------------- */

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* Seat indices in range and distinct. Small lists (the common case) are
 * compared pairwise; long ones (blocks) are sorted in a copy. */
int bo__check_seats(const bo_inv_t *inv, const uint32_t *seats, uint32_t n, uint32_t max)
{
    if (n > max || (n && !seats))
        return BO_EINVAL;
    for (uint32_t i = 0; i < n; i++)
        if (seats[i] >= inv->layout->nseats)
            return BO_EINVAL;
    if (n <= 16) {
        for (uint32_t i = 1; i < n; i++)
            for (uint32_t j = 0; j < i; j++)
                if (seats[i] == seats[j])
                    return BO_EINVAL;
        return 0;
    }
    uint32_t *copy = malloc(n * sizeof(uint32_t));
    if (!copy)
        return BO_ENOMEM;
    memcpy(copy, seats, n * sizeof(uint32_t));
    qsort(copy, n, sizeof(uint32_t), cmp_u32);
    int rc = 0;
    for (uint32_t i = 1; i < n && rc == 0; i++)
        if (copy[i] == copy[i - 1])
            rc = BO_EINVAL;
    free(copy);
    return rc;
}

int bo__check_ga(const bo_inv_t *inv, const bo_ga_line_t *ga, uint32_t n)
{
    if (n > BO_HOLD_MAX_GA || (n && !ga))
        return BO_EINVAL;
    for (uint32_t i = 0; i < n; i++) {
        if (ga[i].area >= inv->layout->nga || ga[i].quantity == 0 ||
            ga[i].quantity > BO_HOLD_MAX_GA_QTY)
            return BO_EINVAL;
        for (uint32_t j = 0; j < i; j++)
            if (ga[j].area == ga[i].area)
                return BO_EINVAL;
    }
    return 0;
}

static int check_hold_req(const bo_inv_t *inv, const bo_hold_req_t *r, int64_t now_ms)
{
    if (r->best_quantity) {
        if (r->nseats || r->nga || r->best_quantity > BO_HOLD_MAX_SEATS)
            return BO_EINVAL;
        if (r->best_category != BO_NONE && r->best_category >= inv->layout->ncategories)
            return BO_EINVAL;
        if (r->best_section != BO_NONE && r->best_section >= inv->layout->nsections)
            return BO_EINVAL;
    } else if (r->nseats == 0 && r->nga == 0) {
        return BO_EINVAL;
    }
    if (r->expires_at_ms != 0 && r->expires_at_ms <= now_ms)
        return BO_EINVAL;
    int rc = bo__check_seats(inv, r->seats, r->nseats, BO_HOLD_MAX_SEATS);
    return rc ? rc : bo__check_ga(inv, r->ga, r->nga);
}

static uint32_t tickets_of(uint32_t nseats, const bo_ga_line_t *ga, uint32_t nga)
{
    uint32_t t = nseats;
    for (uint32_t i = 0; i < nga; i++)
        t += ga[i].quantity;
    return t;
}

/* Seats not AVAILABLE and GA areas short of capacity, into res (may be
 * NULL); returns how many problems there were. */
uint32_t bo__find_taken(const bo_inv_t *inv, const uint32_t *seats, uint32_t n,
                        const bo_ga_line_t *ga, uint32_t nga, bo_hold_res_t *res)
{
    uint32_t bad = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (W_STATE(inv->words[seats[i]]) == BO_SEAT_AVAILABLE)
            continue;
        if (res && res->nunavailable < BO_HOLD_MAX_SEATS)
            res->unavailable[res->nunavailable++] = seats[i];
        bad++;
    }
    for (uint32_t i = 0; i < nga; i++) {
        uint32_t a = ga[i].area;
        uint64_t used = (uint64_t)inv->ga_held[a] + inv->ga_sold[a] + ga[i].quantity;
        if (used <= inv->layout->ga[a].capacity)
            continue;
        if (res && res->nga_short < BO_HOLD_MAX_GA)
            res->ga_short[res->nga_short++] = a;
        bad++;
    }
    return bad;
}

static int64_t price_of(const bo_inv_t *inv, const uint32_t *seats, uint32_t n,
                        const bo_ga_line_t *ga, uint32_t nga)
{
    int64_t sum = 0;
    for (uint32_t i = 0; i < n; i++)
        sum += inv->cfg.price_cents[inv->layout->seats[seats[i]].category];
    for (uint32_t i = 0; i < nga; i++)
        sum += inv->cfg.price_cents[inv->layout->ga[ga[i].area].category] * ga[i].quantity;
    return sum;
}

static int seat_is_free(void *ctx, uint32_t seat)
{
    const bo_inv_t *inv = ctx;
    return W_STATE(inv->words[seat]) == BO_SEAT_AVAILABLE;
}

/* ---- creating holds ----------------------------------------------------- */

/* Build a hold owning a fresh copy of seats and ga. */
int bo__make_hold(struct hold *h, const bo_hold_id_t *id, uint64_t customer, const uint32_t *seats,
                  uint32_t n, const bo_ga_line_t *ga, uint32_t nga)
{
    BO_ASSERT(n <= BO_HOLD_MAX_SEATS && nga <= BO_HOLD_MAX_GA && n + nga > 0);
    BO_ASSERT((n == 0 || seats) && (nga == 0 || ga));
    memset(h, 0, sizeof(*h));
    h->seats = malloc(n * sizeof(uint32_t) + nga * sizeof(bo_ga_line_t) + 1);
    if (!h->seats)
        return BO_ENOMEM;
    h->ga = (bo_ga_line_t *)(h->seats + n);
    if (n)
        memcpy(h->seats, seats, n * sizeof(uint32_t));
    if (nga)
        memcpy(h->ga, ga, nga * sizeof(bo_ga_line_t));
    h->id = *id;
    h->customer = customer;
    h->nseats = n;
    h->nga = nga;
    h->tickets = tickets_of(n, ga, nga);
    return 0;
}

/* Install h (status set) with its seats in state st; GA into held or sold. */
uint32_t bo__install_hold(bo_inv_t *inv, const struct hold *h, unsigned st)
{
    BO_ASSERT(st == BO_SEAT_SOLD ? h->status == BO_HOLD_SOLD
                                 : st == BO_SEAT_HELD &&
                                       (h->status == BO_HOLD_HELD || h->status == BO_HOLD_PAYING));
    BO_ASSERT(h->tickets == tickets_of(h->nseats, h->ga, h->nga));
    uint32_t slot = bo__hold_alloc(inv, h);
    for (uint32_t i = 0; i < h->nseats; i++) {
        BO_ASSERT(W_STATE(inv->words[h->seats[i]]) ==
                  BO_SEAT_AVAILABLE); /* checked by the caller */
        bo__set_seat(inv, h->seats[i], st, slot);
    }
    uint32_t *ga_count = st == BO_SEAT_SOLD ? inv->ga_sold : inv->ga_held;
    for (uint32_t i = 0; i < h->nga; i++) {
        uint32_t a = h->ga[i].area;
        add_u32(inv, &ga_count[a], h->ga[i].quantity);
        /* never past capacity: the GA half of zero overselling */
        BO_ASSERT((uint64_t)inv->ga_held[a] + inv->ga_sold[a] <= inv->layout->ga[a].capacity);
    }
    bo__count_add(inv, &inv->cust, h->customer, h->tickets);
    if (st == BO_SEAT_HELD) {
        client_add(inv, h, 1);
        add_u32(inv, &inv->n_live, 1);
    }
    inv->version++;
    return slot;
}

/* Which seats a request gets: its own, or best available's choice. */
static int choose_seats(bo_inv_t *inv, const bo_hold_req_t *r, bo_hold_res_t *res)
{
    if (r->best_quantity) {
        int rc = bo_best_available(inv->best, inv->row_free, seat_is_free, inv, r->best_quantity,
                                   r->best_category, r->best_section, res->seats);
        res->nseats = rc == 0 ? r->best_quantity : 0;
        BO_ASSERT(rc == 0 || rc == BO_ENOSEATS); /* the request was checked */
        return rc;
    }
    if (bo__find_taken(inv, r->seats, r->nseats, r->ga, r->nga, res))
        return BO_EUNAVAILABLE;
    if (r->nseats) /* a GA-only request may pass seats == NULL */
        memcpy(res->seats, r->seats, r->nseats * sizeof(uint32_t));
    res->nseats = r->nseats;
    return 0;
}

/* Which cap of its client the request would pass (seats first), if any. */
static uint8_t over_cap(const bo_inv_t *inv, const bo_hold_req_t *r, uint32_t want)
{
    if (r->client == 0)
        return BO_CAP_NONE;
    uint64_t tickets = bo__count_get(&inv->client_tickets, r->client);
    if (r->max_client_tickets && tickets + want > r->max_client_tickets)
        return BO_CAP_SEATS;
    if (r->max_client_holds &&
        bo__count_get(&inv->client_holds, r->client) + 1 > r->max_client_holds)
        return BO_CAP_HOLDS;
    return BO_CAP_NONE;
}

int bo_inv_hold(bo_inv_t *inv, const bo_hold_req_t *r, int64_t now_ms, bo_hold_res_t *res)
{
    BO_ASSERT(inv != NULL && r != NULL && res != NULL);
    res->nseats = res->nunavailable = res->nga_short = 0;
    res->cap = BO_CAP_NONE;
    int rc = check_hold_req(inv, r, now_ms);
    if (rc)
        return rc;
    sweep(inv, now_ms);
    if (bo__hold_find(inv, &r->id))
        return BO_EEXIST;
    uint32_t want = r->best_quantity + tickets_of(r->nseats, r->ga, r->nga);
    uint32_t limit = inv->cfg.per_customer_limit;
    if (!r->replay && limit && r->customer && bo__count_get(&inv->cust, r->customer) + want > limit)
        return BO_ELIMIT;
    if (!r->replay && (res->cap = over_cap(inv, r, want)) != BO_CAP_NONE)
        return BO_ECAP;
    if ((rc = bo__hold_prepare(inv)) || (rc = choose_seats(inv, r, res)))
        return rc;
    struct hold h;
    if ((rc = bo__make_hold(&h, &r->id, r->customer, res->seats, res->nseats, r->ga, r->nga)))
        return rc;
    h.client = r->client;
    if ((rc = bo__j_reserve(inv, hold_cost(h.nseats, h.nga)))) {
        free(h.seats);
        return rc;
    }
    h.status = BO_HOLD_HELD;
    h.created_ms = now_ms;
    h.expires_at_ms = r->expires_at_ms ? r->expires_at_ms : now_ms + inv->cfg.hold_ttl_ms;
    h.amount_cents = r->replay ? r->amount_cents : price_of(inv, h.seats, h.nseats, h.ga, h.nga);
    BO_ASSERT(h.expires_at_ms > now_ms);
    res->slot = bo__install_hold(inv, &h, BO_SEAT_HELD);
    res->expires_at_ms = h.expires_at_ms;
    res->amount_cents = h.amount_cents;
    return 0;
}

/* ---- the life of a hold --------------------------------------------------- */

/* Sweep, then find the hold id names. Returns its slot or 0. */
static uint32_t live_slot(bo_inv_t *inv, const bo_hold_id_t *id, int64_t now_ms)
{
    BO_ASSERT(inv != NULL && id != NULL);
    sweep(inv, now_ms);
    uint32_t slot = bo__hold_find(inv, id);
    /* swept: a HELD hold found is not expired */
    BO_ASSERT(slot == 0 || !bo__hold_expired(&inv->holds[slot], now_ms));
    return slot;
}

int bo_inv_release(bo_inv_t *inv, const bo_hold_id_t *id, int64_t now_ms)
{
    uint32_t slot = live_slot(inv, id, now_ms);
    if (!slot)
        return BO_ENOTFOUND;
    const struct hold *h = &inv->holds[slot];
    if (h->status == BO_HOLD_SOLD)
        return BO_ESTATE;
    int rc = bo__j_reserve(inv, hold_cost(h->nseats, h->nga));
    if (rc)
        return rc;
    drop_hold(inv, slot);
    inv->version++;
    return 0;
}

int bo_inv_pay_start(bo_inv_t *inv, const bo_hold_id_t *id, int64_t deadline_ms, int64_t now_ms)
{
    if (deadline_ms <= now_ms)
        return BO_EINVAL;
    uint32_t slot = live_slot(inv, id, now_ms);
    if (!slot)
        return BO_ENOTFOUND;
    struct hold h = inv->holds[slot];
    if (h.status != BO_HOLD_HELD)
        return BO_ESTATE;
    int rc = bo__j_reserve(inv, 4);
    if (rc)
        return rc;
    h.status = BO_HOLD_PAYING;
    h.pay_deadline_ms = deadline_ms;
    bo__hold_set(inv, slot, &h);
    inv->version++;
    return 0;
}

int bo_inv_pay_failed(bo_inv_t *inv, const bo_hold_id_t *id, int64_t now_ms, int *released)
{
    BO_ASSERT(released != NULL);
    *released = 0;
    uint32_t slot = live_slot(inv, id, now_ms);
    if (!slot)
        return BO_ENOTFOUND;
    struct hold h = inv->holds[slot];
    if (h.status != BO_HOLD_PAYING)
        return BO_ESTATE;
    int rc = bo__j_reserve(inv, hold_cost(h.nseats, h.nga));
    if (rc)
        return rc;
    h.pay_failures++;
    BO_ASSERT(h.pay_failures <= BO_PAY_MAX_FAILURES);
    if (h.pay_failures >= BO_PAY_MAX_FAILURES || h.expires_at_ms <= now_ms) {
        drop_hold(inv, slot);
        *released = 1;
    } else {
        h.status = BO_HOLD_HELD;
        h.pay_deadline_ms = 0;
        bo__hold_set(inv, slot, &h);
    }
    inv->version++;
    return 0;
}

/* A late payment: take the seats and GA again as a new SOLD hold. */
static int confirm_late(bo_inv_t *inv, const bo_hold_id_t *id, const uint32_t *seats, uint32_t n,
                        const bo_ga_line_t *ga, uint32_t nga, uint64_t customer,
                        int64_t amount_cents, int64_t now_ms)
{
    int rc = bo__check_seats(inv, seats, n, BO_HOLD_MAX_SEATS);
    if (rc == 0)
        rc = bo__check_ga(inv, ga, nga);
    if (rc == 0 && n == 0 && nga == 0)
        rc = BO_EINVAL;
    if (rc == 0 && bo__find_taken(inv, seats, n, ga, nga, NULL))
        rc = BO_EUNAVAILABLE;
    if (rc == 0)
        rc = bo__hold_prepare(inv);
    struct hold h;
    if (rc == 0)
        rc = bo__make_hold(&h, id, customer, seats, n, ga, nga);
    if (rc)
        return rc;
    if ((rc = bo__j_reserve(inv, hold_cost(n, nga)))) {
        free(h.seats);
        return rc;
    }
    h.status = BO_HOLD_SOLD;
    h.created_ms = now_ms;
    h.amount_cents = amount_cents;
    bo__install_hold(inv, &h, BO_SEAT_SOLD);
    return 0;
}

int bo_inv_confirm(bo_inv_t *inv, const bo_hold_id_t *id, const uint32_t *seats, uint32_t nseats,
                   const bo_ga_line_t *ga, uint32_t nga, uint64_t customer, int64_t amount_cents,
                   int64_t now_ms)
{
    uint32_t slot = live_slot(inv, id, now_ms);
    if (!slot)
        return confirm_late(inv, id, seats, nseats, ga, nga, customer, amount_cents, now_ms);
    const struct hold *h = &inv->holds[slot];
    if (h->status == BO_HOLD_SOLD)
        return BO_ESTATE;
    int rc = bo__j_reserve(inv, hold_cost(h->nseats, h->nga));
    if (rc)
        return rc;
    sell_hold(inv, slot);
    inv->version++;
    return 0;
}

int bo_inv_cancel(bo_inv_t *inv, const bo_hold_id_t *id, int64_t now_ms)
{
    uint32_t slot = live_slot(inv, id, now_ms);
    if (!slot)
        return BO_ENOTFOUND;
    const struct hold *h = &inv->holds[slot];
    if (h->status != BO_HOLD_SOLD)
        return BO_ESTATE;
    int rc = bo__j_reserve(inv, hold_cost(h->nseats, h->nga));
    if (rc)
        return rc;
    unsell_hold(inv, slot);
    inv->version++;
    return 0;
}

/* ---- blocks ------------------------------------------------------------- */

static int set_blocked(bo_inv_t *inv, const uint32_t *seats, uint32_t n, int64_t now_ms,
                       bo_hold_res_t *res, unsigned from, unsigned to)
{
    BO_ASSERT(inv != NULL && from != to);
    BO_ASSERT((from == BO_SEAT_AVAILABLE && to == BO_SEAT_BLOCKED) ||
              (from == BO_SEAT_BLOCKED && to == BO_SEAT_AVAILABLE));
    if (res)
        res->nseats = res->nunavailable = res->nga_short = 0;
    int rc = bo__check_seats(inv, seats, n, BO_LAYOUT_MAX_SEATS);
    if (rc == 0 && n == 0)
        rc = BO_EINVAL;
    if (rc)
        return rc;
    sweep(inv, now_ms);
    for (uint32_t i = 0; i < n; i++) {
        unsigned st = W_STATE(inv->words[seats[i]]);
        if (st == from || (to == BO_SEAT_BLOCKED && st == to)) /* blocking is idempotent */
            continue;
        if (res && res->nunavailable < BO_HOLD_MAX_SEATS)
            res->unavailable[res->nunavailable++] = seats[i];
        rc = BO_EUNAVAILABLE;
    }
    if (rc == 0)
        rc = bo__j_reserve(inv, 2 * (size_t)n);
    if (rc)
        return rc;
    for (uint32_t i = 0; i < n; i++)
        bo__set_seat(inv, seats[i], to, 0);
    inv->version++;
    return 0;
}

int bo_inv_block(bo_inv_t *inv, const uint32_t *seats, uint32_t n, int64_t now_ms,
                 bo_hold_res_t *res)
{
    return set_blocked(inv, seats, n, now_ms, res, BO_SEAT_AVAILABLE, BO_SEAT_BLOCKED);
}

int bo_inv_unblock(bo_inv_t *inv, const uint32_t *seats, uint32_t n, int64_t now_ms,
                   bo_hold_res_t *res)
{
    return set_blocked(inv, seats, n, now_ms, res, BO_SEAT_BLOCKED, BO_SEAT_AVAILABLE);
}
