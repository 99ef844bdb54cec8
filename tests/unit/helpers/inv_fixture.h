/*
 * inv_fixture.h - the shared set-up of the engine's unit tests
 * (test_engine.c, test_engine_sale.c, test_journal.c): a 16-seat hall whose
 * every seat index, rank and price is known, one inventory on it per test,
 * wrappers for every mutation that re-check the counts against a full
 * snapshot afterwards (held + sold + available + blocked = total, per
 * category, per seat), version tracking, and a full capture of the
 * inventory for rollback comparisons.
 *
 * Header-only and static: each test program gets its own copy, nothing is
 * linked into the other test programs.
 */
#ifndef BOXOFFICE_TEST_INV_FIXTURE_H
#define BOXOFFICE_TEST_INV_FIXTURE_H

#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "boxoffice/engine.h"
#include "boxoffice/error.h"
#include "boxoffice/layout.h"

/* ---- the hall -------------------------------------------------------------------------------- */

// clang-format off
#define SEAT(id, x, y, cat, rank)                                                                  \
    "{\"id\":\"" id "\",\"number\":\"" id "\",\"x\":" #x ",\"y\":" #y ",\"category\":\"" cat   \
    "\",\"rank\":" #rank "}"

/*
 * Seat indices, ranks (lower is better) and categories:
 *   main  A  seats  0..5   ranks  5  3  1  0  2  4   prem (5000)
 *         B  seats  6..11  ranks 11  9  7  6  8 10   std  (3000)
 *   side  C  seats 12..15  ranks 12 13 14 15         std
 * GA: floor (capacity 100, category ga at 2000), pit (capacity 3, prem).
 */
static const char HALL[] =
    "{\"name\":\"Hall\",\"categories\":["
    "{\"key\":\"prem\",\"name\":\"Premium\",\"color\":\"#aa0000\"},"
    "{\"key\":\"std\",\"name\":\"Standard\",\"color\":\"#00aa00\"},"
    "{\"key\":\"ga\",\"name\":\"Standing\",\"color\":\"#0000aa\"}],"
    "\"sections\":["
    "{\"id\":\"main\",\"name\":\"Main\",\"rows\":["
    "{\"label\":\"A\",\"seats\":["
        SEAT("A1",1,1,"prem",5) "," SEAT("A2",2,1,"prem",3) "," SEAT("A3",3,1,"prem",1) ","
        SEAT("A4",4,1,"prem",0) "," SEAT("A5",5,1,"prem",2) "," SEAT("A6",6,1,"prem",4) "]},"
    "{\"label\":\"B\",\"seats\":["
        SEAT("B1",1,2,"std",11) "," SEAT("B2",2,2,"std",9) "," SEAT("B3",3,2,"std",7) ","
        SEAT("B4",4,2,"std",6) "," SEAT("B5",5,2,"std",8) "," SEAT("B6",6,2,"std",10) "]}]},"
    "{\"id\":\"side\",\"name\":\"Side\",\"rows\":["
    "{\"label\":\"C\",\"seats\":["
        SEAT("C1",8,1,"std",12) "," SEAT("C2",8,2,"std",13) "," SEAT("C3",8,3,"std",14) ","
        SEAT("C4",8,4,"std",15) "]}]}],"
    "\"ga_areas\":["
    "{\"id\":\"floor\",\"name\":\"Floor\",\"capacity\":100,\"category\":\"ga\"},"
    "{\"id\":\"pit\",\"name\":\"Pit\",\"capacity\":3,\"category\":\"prem\"}]}";
// clang-format on

#define NSEATS 16u
#define PREM   0u
#define STD    1u
#define GACAT  2u
#define MAIN   0u
#define SIDE   1u
#define FLOOR  0u
#define PIT    1u
#define P_PREM 5000
#define P_STD  3000
#define P_GA   2000
#define TTL    60000
#define T0     1000000 /* "now" at the start of every test */
#define MAXIDS 24u     /* hold ids 1..MAXIDS are captured by capture() */

/* A literal seat list and its length, as two arguments. */
#define LIST(...)                                                                                  \
    ((const uint32_t[]){__VA_ARGS__}),                                                             \
        (uint32_t)(sizeof((const uint32_t[]){__VA_ARGS__}) / sizeof(uint32_t))

/* Set a request's explicit seats to a literal list. */
#define SEATS_OF(r, ...)                                                                           \
    ((r).seats = (const uint32_t[]){__VA_ARGS__},                                                  \
     (r).nseats = (uint32_t)(sizeof((const uint32_t[]){__VA_ARGS__}) / sizeof(uint32_t)))

static bo_layout_t *L;
static bo_inv_t *inv;
static uint64_t last_version;

static inline bo_inv_config_t config(int64_t ttl_ms, uint32_t limit, uint32_t max_holds)
{
    bo_inv_config_t c = {
        .hold_ttl_ms = ttl_ms, .per_customer_limit = limit, .max_holds = max_holds};
    c.price_cents[PREM] = P_PREM;
    c.price_cents[STD] = P_STD;
    c.price_cents[GACAT] = P_GA;
    return c;
}

static inline void reopen(int64_t ttl_ms, uint32_t limit, uint32_t max_holds)
{
    bo_inv_free(inv);
    bo_inv_config_t c = config(ttl_ms, limit, max_holds);
    cr_assert_eq(bo_inv_new(L, &c, &inv), 0);
    last_version = bo_inv_version(inv);
}

static inline void setup(void)
{
    bo_problems_t probs = {0};
    int rc = bo_layout_parse(HALL, strlen(HALL), &L, &probs);
    cr_assert_eq(rc, 0, "hall: %s", probs.n ? probs.items[0] : "?");
    bo_problems_free(&probs);
    cr_assert_eq(L->nseats, NSEATS);
    cr_assert_eq(bo_layout_find_seat(L, "A1", 2), 0);
    cr_assert_eq(bo_layout_find_seat(L, "B1", 2), 6);
    cr_assert_eq(bo_layout_find_seat(L, "C4", 2), 15);
    cr_assert_eq(bo_layout_find_category(L, "prem"), PREM);
    cr_assert_eq(bo_layout_find_category(L, "std"), STD);
    cr_assert_eq(bo_layout_find_category(L, "ga"), GACAT);
    cr_assert_eq(bo_layout_find_section(L, "side"), SIDE);
    cr_assert_eq(bo_layout_find_ga(L, "pit"), PIT);
    inv = NULL;
    reopen(TTL, 0, 0);
}

static inline void teardown(void)
{
    bo_inv_free(inv);
    bo_layout_free(L);
}

/* ---- checks ---------------------------------------------------------------------------------- */

static inline bo_hold_id_t hid(uint32_t n)
{
    bo_hold_id_t id;
    for (int i = 0; i < 16; i++)
        id.b[i] = (uint8_t)(n * 37u + (uint32_t)i * 11u + (n >> (i % 4 * 8)));
    return id;
}

/* The counts agree with a full snapshot, seat by seat and per category. */
static inline void check_consistent(int64_t now)
{
    bo_inv_counts_t c;
    bo_inv_counts(inv, now, &c);
    cr_assert_eq(c.total, NSEATS);
    cr_assert_eq(bo_inv_check(inv), 0, "the engine's own recount (printed above)");
    cr_assert_eq(c.available + c.held + c.sold + c.blocked, c.total,
                 "available %u + held %u + sold %u + blocked %u != %u", c.available, c.held, c.sold,
                 c.blocked, c.total);
    uint8_t st[NSEATS];
    cr_assert_eq(bo_inv_snapshot(inv, now, st), c.version);
    uint32_t tally[4] = {0}, cat[3] = {0};
    for (uint32_t s = 0; s < NSEATS; s++) {
        cr_assert_lt(st[s], 4);
        cr_assert_eq(bo_inv_seat_state(inv, s, now), st[s], "seat %u", s);
        tally[st[s]]++;
        cat[L->seats[s].category] += st[s] == BO_SEAT_AVAILABLE;
    }
    cr_assert_eq(tally[BO_SEAT_AVAILABLE], c.available);
    cr_assert_eq(tally[BO_SEAT_HELD], c.held);
    cr_assert_eq(tally[BO_SEAT_SOLD], c.sold);
    cr_assert_eq(tally[BO_SEAT_BLOCKED], c.blocked);
    for (uint32_t k = 0; k < 3; k++)
        cr_assert_eq(bo_inv_category_available(inv, k, now), cat[k], "category %u", k);
    for (uint32_t a = 0; a < L->nga; a++)
        cr_assert_leq(bo_inv_ga_available(inv, a, now) + bo_inv_ga_sold(inv, a), L->ga[a].capacity);
}

/* The version rose since the last check (a mutation) or did not (none). */
static inline void expect_bumped(void)
{
    uint64_t v = bo_inv_version(inv);
    cr_assert_gt(v, last_version, "version %llu did not rise", (unsigned long long)v);
    last_version = v;
}

static inline void expect_same_version(void)
{
    cr_assert_eq(bo_inv_version(inv), last_version, "version moved without a change");
}

static inline void expect_state(const uint32_t *seats, uint32_t n, enum bo_seat_state st,
                                int64_t now)
{
    for (uint32_t i = 0; i < n; i++)
        cr_assert_eq(bo_inv_seat_state(inv, seats[i], now), st, "seat %u: %d, want %d", seats[i],
                     bo_inv_seat_state(inv, seats[i], now), st);
}

static inline void expect_counts(int64_t now, uint32_t avail, uint32_t held, uint32_t sold,
                                 uint32_t blocked, uint32_t live)
{
    bo_inv_counts_t c;
    bo_inv_counts(inv, now, &c);
    cr_assert_eq(c.available, avail, "available %u, want %u", c.available, avail);
    cr_assert_eq(c.held, held, "held %u, want %u", c.held, held);
    cr_assert_eq(c.sold, sold, "sold %u, want %u", c.sold, sold);
    cr_assert_eq(c.blocked, blocked, "blocked %u, want %u", c.blocked, blocked);
    cr_assert_eq(c.live_holds, live, "live holds %u, want %u", c.live_holds, live);
}

static inline int hold_status(uint32_t id, int64_t now)
{
    bo_hold_view_t v;
    bo_hold_id_t h = hid(id);
    int rc = bo_inv_get_hold(inv, &h, now, &v);
    if (rc == BO_ENOTFOUND)
        return BO_HOLD_NONE;
    cr_assert_eq(rc, 0);
    cr_assert_eq(memcmp(v.id.b, h.b, 16), 0);
    return v.status;
}

static inline bo_hold_view_t view(uint32_t id, int64_t now)
{
    bo_hold_view_t v;
    bo_hold_id_t h = hid(id);
    cr_assert_eq(bo_inv_get_hold(inv, &h, now, &v), 0, "hold %u not found", id);
    return v;
}

/* ---- calls (each re-checks consistency) ------------------------------------------------------ */

static inline bo_hold_req_t req(uint32_t id, uint64_t customer)
{
    return (bo_hold_req_t){
        .id = hid(id), .customer = customer, .best_category = BO_NONE, .best_section = BO_NONE};
}

static inline int hold_req(const bo_hold_req_t *r, int64_t now, bo_hold_res_t *res)
{
    bo_hold_res_t local;
    int rc = bo_inv_hold(inv, r, now, res ? res : &local);
    check_consistent(now);
    return rc;
}

static inline int hold_seats(uint32_t id, uint64_t customer, const uint32_t *seats, uint32_t n,
                             int64_t now, bo_hold_res_t *res)
{
    bo_hold_req_t r = req(id, customer);
    r.seats = seats;
    r.nseats = n;
    return hold_req(&r, now, res);
}

static inline int hold_ga(uint32_t id, uint64_t customer, uint32_t area, uint32_t qty, int64_t now)
{
    bo_ga_line_t g = {area, qty};
    bo_hold_req_t r = req(id, customer);
    r.ga = &g;
    r.nga = 1;
    return hold_req(&r, now, NULL);
}

static inline int hold_best(uint32_t id, uint64_t customer, uint32_t qty, uint32_t cat,
                            uint32_t sec, int64_t now, bo_hold_res_t *res)
{
    bo_hold_req_t r = req(id, customer);
    r.best_quantity = qty;
    r.best_category = cat;
    r.best_section = sec;
    return hold_req(&r, now, res);
}

static inline int release(uint32_t id, int64_t now)
{
    bo_hold_id_t h = hid(id);
    int rc = bo_inv_release(inv, &h, now);
    check_consistent(now);
    return rc;
}

static inline int pay_start(uint32_t id, int64_t deadline, int64_t now)
{
    bo_hold_id_t h = hid(id);
    int rc = bo_inv_pay_start(inv, &h, deadline, now);
    check_consistent(now);
    return rc;
}

static inline int pay_failed(uint32_t id, int64_t now, int *released)
{
    bo_hold_id_t h = hid(id);
    *released = -1;
    int rc = bo_inv_pay_failed(inv, &h, now, released);
    check_consistent(now);
    return rc;
}

static inline int confirm_ga(uint32_t id, const uint32_t *seats, uint32_t n, const bo_ga_line_t *ga,
                             uint32_t nga, uint64_t customer, int64_t amount, int64_t now)
{
    bo_hold_id_t h = hid(id);
    int rc = bo_inv_confirm(inv, &h, seats, n, ga, nga, customer, amount, now);
    check_consistent(now);
    return rc;
}

static inline int confirm(uint32_t id, const uint32_t *seats, uint32_t n, int64_t now)
{
    return confirm_ga(id, seats, n, NULL, 0, 0, 0, now);
}

static inline int cancel(uint32_t id, int64_t now)
{
    bo_hold_id_t h = hid(id);
    int rc = bo_inv_cancel(inv, &h, now);
    check_consistent(now);
    return rc;
}

static inline int block(const uint32_t *seats, uint32_t n, int64_t now, bo_hold_res_t *res)
{
    int rc = bo_inv_block(inv, seats, n, now, res);
    check_consistent(now);
    return rc;
}

static inline int unblock(const uint32_t *seats, uint32_t n, int64_t now, bo_hold_res_t *res)
{
    int rc = bo_inv_unblock(inv, seats, n, now, res);
    check_consistent(now);
    return rc;
}

/* ---- a full picture of the inventory, for rollback ------------------------------------------- */

typedef struct captured_hold {
    int rc;
    bo_hold_view_t v;
    uint32_t seats[BO_HOLD_MAX_SEATS];
    bo_ga_line_t ga[BO_HOLD_MAX_GA];
} captured_hold_t;

typedef struct state {
    bo_inv_counts_t c;
    uint8_t seats[NSEATS];
    uint32_t cat[3], ga_avail[2], ga_sold[2];
    int64_t next_deadline;
    uint32_t ndue;
    bo_hold_id_t due[MAXIDS];
    captured_hold_t holds[MAXIDS + 1];
} state_t;

static inline void capture(state_t *s, int64_t now)
{
    memset(s, 0, sizeof(*s));
    bo_inv_counts(inv, now, &s->c);
    bo_inv_snapshot(inv, now, s->seats);
    for (uint32_t k = 0; k < 3; k++)
        s->cat[k] = bo_inv_category_available(inv, k, now);
    for (uint32_t a = 0; a < 2; a++) {
        s->ga_avail[a] = bo_inv_ga_available(inv, a, now);
        s->ga_sold[a] = bo_inv_ga_sold(inv, a);
    }
    s->next_deadline = bo_inv_next_deadline(inv);
    s->ndue = bo_inv_due_payments(inv, INT64_MAX, s->due, MAXIDS);
    for (uint32_t i = 1; i <= MAXIDS; i++) {
        captured_hold_t *h = &s->holds[i];
        bo_hold_id_t id = hid(i);
        h->rc = bo_inv_get_hold(inv, &id, now, &h->v);
        if (h->rc)
            continue;
        memcpy(h->seats, h->v.seats, h->v.nseats * sizeof(uint32_t));
        memcpy(h->ga, h->v.ga, h->v.nga * sizeof(bo_ga_line_t));
        h->v.seats = NULL;
        h->v.ga = NULL;
    }
}

static inline void expect_same(const state_t *a, const state_t *b)
{
    cr_assert_eq(a->c.total, b->c.total);
    cr_assert_eq(a->c.available, b->c.available, "available %u vs %u", a->c.available,
                 b->c.available);
    cr_assert_eq(a->c.held, b->c.held, "held %u vs %u", a->c.held, b->c.held);
    cr_assert_eq(a->c.sold, b->c.sold, "sold %u vs %u", a->c.sold, b->c.sold);
    cr_assert_eq(a->c.blocked, b->c.blocked);
    cr_assert_eq(a->c.live_holds, b->c.live_holds, "live %u vs %u", a->c.live_holds,
                 b->c.live_holds);
    for (uint32_t s = 0; s < NSEATS; s++)
        cr_assert_eq(a->seats[s], b->seats[s], "seat %u: %u vs %u", s, a->seats[s], b->seats[s]);
    cr_assert_arr_eq(a->cat, b->cat, sizeof(a->cat));
    cr_assert_arr_eq(a->ga_avail, b->ga_avail, sizeof(a->ga_avail));
    cr_assert_arr_eq(a->ga_sold, b->ga_sold, sizeof(a->ga_sold));
    cr_assert_eq(a->next_deadline, b->next_deadline, "next deadline %lld vs %lld",
                 (long long)a->next_deadline, (long long)b->next_deadline);
    cr_assert_eq(a->ndue, b->ndue);
    cr_assert_arr_eq(a->due, b->due, a->ndue * sizeof(bo_hold_id_t));
    for (uint32_t i = 1; i <= MAXIDS; i++) {
        const captured_hold_t *x = &a->holds[i], *y = &b->holds[i];
        cr_assert_eq(x->rc, y->rc, "hold %u: get_hold %d vs %d", i, x->rc, y->rc);
        if (x->rc)
            continue;
        cr_assert_eq(x->v.status, y->v.status, "hold %u: status %u vs %u", i, x->v.status,
                     y->v.status);
        cr_assert_eq(x->v.pay_failures, y->v.pay_failures, "hold %u", i);
        cr_assert_eq(x->v.customer, y->v.customer, "hold %u", i);
        cr_assert_eq(x->v.created_ms, y->v.created_ms, "hold %u", i);
        cr_assert_eq(x->v.expires_at_ms, y->v.expires_at_ms, "hold %u", i);
        cr_assert_eq(x->v.pay_deadline_ms, y->v.pay_deadline_ms, "hold %u", i);
        cr_assert_eq(x->v.amount_cents, y->v.amount_cents, "hold %u", i);
        cr_assert_eq(x->v.nseats, y->v.nseats, "hold %u", i);
        cr_assert_eq(x->v.nga, y->v.nga, "hold %u", i);
        cr_assert_arr_eq(x->seats, y->seats, x->v.nseats * sizeof(uint32_t), "hold %u", i);
        cr_assert_arr_eq(x->ga, y->ga, x->v.nga * sizeof(bo_ga_line_t), "hold %u", i);
    }
}

/* A generated venue with 150 seats and 9 GA areas, for the size bounds. */
static inline bo_layout_t *big_venue(void)
{
    bo_venue_gen_t g = {
        .sections = 1, .rows = 3, .seats = 50, .ga_areas = 9, .ga_capacity = 1000, .categories = 2};
    size_t len;
    char *json = bo_venue_generate(&g, &len);
    cr_assert_not_null(json);
    bo_layout_t *l;
    bo_problems_t probs = {0};
    cr_assert_eq(bo_layout_parse(json, len, &l, &probs), 0, "%s", probs.n ? probs.items[0] : "");
    free(json);
    cr_assert_eq(l->nseats, 150);
    cr_assert_eq(l->nga, 9);
    return l;
}

#endif
