/*
 * test_engine.c - the in-memory inventory (engine.h, src/engine/inventory.c,
 * inv_read.c, journal.c): every operation and every error code it can
 * return, exactly as engine.h documents them, on a 16-seat hall whose every
 * seat index, rank and price is known, so each test asserts exact outcomes.
 *
 * Time is only ever the now_ms argument. Every mutation goes through a
 * wrapper that re-checks the counts against a full snapshot afterwards
 * (held + sold + available + blocked = total, per category, per seat), and
 * the version is tracked across calls: it must rise on every mutation and
 * rollback and stay put on reads and failed calls.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "boxoffice/engine.h"
#include "boxoffice/error.h"
#include "boxoffice/layout.h"

/* ---- the hall -------------------------------------------------------------- */

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

static bo_inv_config_t config(int64_t ttl_ms, uint32_t limit, uint32_t max_holds)
{
    bo_inv_config_t c = {
        .hold_ttl_ms = ttl_ms, .per_customer_limit = limit, .max_holds = max_holds};
    c.price_cents[PREM] = P_PREM;
    c.price_cents[STD] = P_STD;
    c.price_cents[GACAT] = P_GA;
    return c;
}

static void reopen(int64_t ttl_ms, uint32_t limit, uint32_t max_holds)
{
    bo_inv_free(inv);
    bo_inv_config_t c = config(ttl_ms, limit, max_holds);
    cr_assert_eq(bo_inv_new(L, &c, &inv), 0);
    last_version = bo_inv_version(inv);
}

static void setup(void)
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

static void teardown(void)
{
    bo_inv_free(inv);
    bo_layout_free(L);
}

/* ---- checks ---------------------------------------------------------------- */

static bo_hold_id_t hid(uint32_t n)
{
    bo_hold_id_t id;
    for (int i = 0; i < 16; i++)
        id.b[i] = (uint8_t)(n * 37u + (uint32_t)i * 11u + (n >> (i % 4 * 8)));
    return id;
}

/* The counts agree with a full snapshot, seat by seat and per category. */
static void check_consistent(int64_t now)
{
    bo_inv_counts_t c;
    bo_inv_counts(inv, now, &c);
    cr_assert_eq(c.total, NSEATS);
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
static void expect_bumped(void)
{
    uint64_t v = bo_inv_version(inv);
    cr_assert_gt(v, last_version, "version %llu did not rise", (unsigned long long)v);
    last_version = v;
}

static void expect_same_version(void)
{
    cr_assert_eq(bo_inv_version(inv), last_version, "version moved without a change");
}

static void expect_state(const uint32_t *seats, uint32_t n, enum bo_seat_state st, int64_t now)
{
    for (uint32_t i = 0; i < n; i++)
        cr_assert_eq(bo_inv_seat_state(inv, seats[i], now), st, "seat %u: %d, want %d", seats[i],
                     bo_inv_seat_state(inv, seats[i], now), st);
}

static void expect_counts(int64_t now, uint32_t avail, uint32_t held, uint32_t sold,
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

static int hold_status(uint32_t id, int64_t now)
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

static bo_hold_view_t view(uint32_t id, int64_t now)
{
    bo_hold_view_t v;
    bo_hold_id_t h = hid(id);
    cr_assert_eq(bo_inv_get_hold(inv, &h, now, &v), 0, "hold %u not found", id);
    return v;
}

/* ---- calls (each re-checks consistency) -------------------------------------- */

static bo_hold_req_t req(uint32_t id, uint64_t customer)
{
    return (bo_hold_req_t){
        .id = hid(id), .customer = customer, .best_category = BO_NONE, .best_section = BO_NONE};
}

static int hold_req(const bo_hold_req_t *r, int64_t now, bo_hold_res_t *res)
{
    bo_hold_res_t local;
    int rc = bo_inv_hold(inv, r, now, res ? res : &local);
    check_consistent(now);
    return rc;
}

static int hold_seats(uint32_t id, uint64_t customer, const uint32_t *seats, uint32_t n,
                      int64_t now, bo_hold_res_t *res)
{
    bo_hold_req_t r = req(id, customer);
    r.seats = seats;
    r.nseats = n;
    return hold_req(&r, now, res);
}

static int hold_ga(uint32_t id, uint64_t customer, uint32_t area, uint32_t qty, int64_t now)
{
    bo_ga_line_t g = {area, qty};
    bo_hold_req_t r = req(id, customer);
    r.ga = &g;
    r.nga = 1;
    return hold_req(&r, now, NULL);
}

static int hold_best(uint32_t id, uint64_t customer, uint32_t qty, uint32_t cat, uint32_t sec,
                     int64_t now, bo_hold_res_t *res)
{
    bo_hold_req_t r = req(id, customer);
    r.best_quantity = qty;
    r.best_category = cat;
    r.best_section = sec;
    return hold_req(&r, now, res);
}

static int release(uint32_t id, int64_t now)
{
    bo_hold_id_t h = hid(id);
    int rc = bo_inv_release(inv, &h, now);
    check_consistent(now);
    return rc;
}

static int pay_start(uint32_t id, int64_t deadline, int64_t now)
{
    bo_hold_id_t h = hid(id);
    int rc = bo_inv_pay_start(inv, &h, deadline, now);
    check_consistent(now);
    return rc;
}

static int pay_failed(uint32_t id, int64_t now, int *released)
{
    bo_hold_id_t h = hid(id);
    *released = -1;
    int rc = bo_inv_pay_failed(inv, &h, now, released);
    check_consistent(now);
    return rc;
}

static int confirm_ga(uint32_t id, const uint32_t *seats, uint32_t n, const bo_ga_line_t *ga,
                      uint32_t nga, uint64_t customer, int64_t amount, int64_t now)
{
    bo_hold_id_t h = hid(id);
    int rc = bo_inv_confirm(inv, &h, seats, n, ga, nga, customer, amount, now);
    check_consistent(now);
    return rc;
}

static int confirm(uint32_t id, const uint32_t *seats, uint32_t n, int64_t now)
{
    return confirm_ga(id, seats, n, NULL, 0, 0, 0, now);
}

static int cancel(uint32_t id, int64_t now)
{
    bo_hold_id_t h = hid(id);
    int rc = bo_inv_cancel(inv, &h, now);
    check_consistent(now);
    return rc;
}

static int block(const uint32_t *seats, uint32_t n, int64_t now, bo_hold_res_t *res)
{
    int rc = bo_inv_block(inv, seats, n, now, res);
    check_consistent(now);
    return rc;
}

static int unblock(const uint32_t *seats, uint32_t n, int64_t now, bo_hold_res_t *res)
{
    int rc = bo_inv_unblock(inv, seats, n, now, res);
    check_consistent(now);
    return rc;
}

/* ---- a full picture of the inventory, for rollback ---------------------------- */

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

static void capture(state_t *s, int64_t now)
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

static void expect_same(const state_t *a, const state_t *b)
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

TestSuite(inv, .init = setup, .fini = teardown);
TestSuite(hold, .init = setup, .fini = teardown);
TestSuite(einval, .init = setup, .fini = teardown);
TestSuite(limits, .init = setup, .fini = teardown);
TestSuite(best, .init = setup, .fini = teardown);
TestSuite(expiry, .init = setup, .fini = teardown);
TestSuite(release, .init = setup, .fini = teardown);
TestSuite(pay, .init = setup, .fini = teardown);
TestSuite(confirm, .init = setup, .fini = teardown);
TestSuite(cancel, .init = setup, .fini = teardown);
TestSuite(block, .init = setup, .fini = teardown);
TestSuite(version, .init = setup, .fini = teardown);
TestSuite(journal, .init = setup, .fini = teardown);

/* ---- life cycle and config --------------------------------------------------- */

Test(inv, starts_with_every_seat_available)
{
    cr_assert_eq(bo_inv_layout(inv), L);
    expect_counts(T0, NSEATS, 0, 0, 0, 0);
    check_consistent(T0);
    cr_assert_eq(bo_inv_category_available(inv, PREM, T0), 6);
    cr_assert_eq(bo_inv_category_available(inv, STD, T0), 10);
    cr_assert_eq(bo_inv_category_available(inv, GACAT, T0), 0);
    cr_assert_eq(bo_inv_category_available(inv, 3, T0), 0, "out of range");
    cr_assert_eq(bo_inv_ga_available(inv, FLOOR, T0), 100);
    cr_assert_eq(bo_inv_ga_available(inv, PIT, T0), 3);
    cr_assert_eq(bo_inv_ga_available(inv, 2, T0), 0, "out of range");
    cr_assert_eq(bo_inv_ga_sold(inv, FLOOR), 0);
    cr_assert_eq(bo_inv_next_deadline(inv), INT64_MAX);
    bo_hold_id_t ids[4];
    cr_assert_eq(bo_inv_due_payments(inv, INT64_MAX, ids, 4), 0);
    bo_hold_view_t v;
    bo_hold_id_t h = hid(1);
    cr_assert_eq(bo_inv_get_hold(inv, &h, T0, &v), BO_ENOTFOUND);
    cr_assert_gt(bo_inv_version(inv), 0);
    expect_same_version();
}

Test(inv, new_rejects_bad_config)
{
    bo_inv_t *x = (bo_inv_t *)1;
    bo_inv_config_t c = config(-1, 0, 0);
    cr_assert_eq(bo_inv_new(L, &c, &x), BO_EINVAL, "negative ttl");
    cr_assert_null(x);
    c = config(TTL, 0, BO_INV_MAX_HOLDS + 1);
    x = (bo_inv_t *)1;
    cr_assert_eq(bo_inv_new(L, &c, &x), BO_EINVAL, "max_holds past the bound");
    cr_assert_null(x);
    c = config(TTL, 0, 0);
    c.price_cents[STD] = -1;
    cr_assert_eq(bo_inv_new(L, &c, &x), BO_EINVAL, "negative price");
    cr_assert_null(x);
    c = config(TTL, 0, BO_INV_MAX_HOLDS);
    cr_assert_eq(bo_inv_new(L, &c, &x), 0, "max_holds at the bound");
    bo_inv_free(x);
}

Test(inv, zero_ttl_and_max_holds_take_defaults)
{
    reopen(0, 0, 0);
    cr_assert_eq(bo_inv_config(inv)->hold_ttl_ms, 300000);
    cr_assert_eq(bo_inv_config(inv)->max_holds, 1u << 20);
    bo_hold_res_t res;
    cr_assert_eq(hold_seats(1, 0, LIST(0), T0, &res), 0);
    cr_assert_eq(res.expires_at_ms, T0 + 300000);
}

Test(inv, set_config_applies_to_holds_made_from_now_on)
{
    bo_hold_res_t res;
    cr_assert_eq(hold_seats(1, 0, LIST(6), T0, &res), 0);
    cr_assert_eq(res.amount_cents, P_STD);
    last_version = bo_inv_version(inv);

    bo_inv_config_t c = config(1000, 0, 0);
    c.price_cents[STD] = 4100;
    cr_assert_eq(bo_inv_set_config(inv, &c), 0);
    expect_bumped();
    cr_assert_eq(bo_inv_config(inv)->price_cents[STD], 4100);
    cr_assert_eq(bo_inv_config(inv)->hold_ttl_ms, 1000);
    cr_assert_eq(hold_seats(2, 0, LIST(7), T0, &res), 0);
    cr_assert_eq(res.amount_cents, 4100);
    cr_assert_eq(res.expires_at_ms, T0 + 1000);
    cr_assert_eq(view(1, T0).amount_cents, P_STD, "an existing hold keeps its amount");
    cr_assert_eq(view(1, T0).expires_at_ms, T0 + TTL, "and its expiry");

    last_version = bo_inv_version(inv);
    bo_inv_config_t bad = config(-5, 0, 0);
    cr_assert_eq(bo_inv_set_config(inv, &bad), BO_EINVAL);
    bad = config(TTL, 0, 0);
    bad.price_cents[PREM] = -1;
    cr_assert_eq(bo_inv_set_config(inv, &bad), BO_EINVAL);
    cr_assert_eq(bo_inv_config(inv)->hold_ttl_ms, 1000, "a rejected config changes nothing");
    cr_assert_eq(bo_inv_config(inv)->price_cents[STD], 4100);
    expect_same_version();
}

Test(inv, memory_is_a_few_bytes_per_seat)
{
    bo_venue_gen_t g = {.sections = 40, .rows = 50, .seats = 50, .categories = 4};
    size_t len;
    char *json = bo_venue_generate(&g, &len);
    cr_assert_not_null(json);
    bo_layout_t *big;
    cr_assert_eq(bo_layout_parse(json, len, &big, NULL), 0);
    free(json);
    bo_inv_config_t c = config(TTL, 0, 0);
    bo_inv_t *x;
    cr_assert_eq(bo_inv_new(big, &c, &x), 0);
    size_t m = bo_inv_memory(x);
    cr_assert_geq(m, 4 * (size_t)big->nseats, "%zu bytes for %u seats", m, big->nseats);
    cr_assert_leq(m, 8 * (size_t)big->nseats, "%zu bytes for %u seats", m, big->nseats);
    bo_inv_free(x);
    bo_layout_free(big);
}

/* ---- holds --------------------------------------------------------------------- */

Test(hold, explicit_seats_fill_the_result)
{
    bo_hold_res_t res;
    memset(&res, 0xee, sizeof(res));
    cr_assert_eq(hold_seats(1, 42, LIST(7, 2, 12), T0, &res), 0);
    expect_bumped();
    cr_assert_neq(res.slot, 0);
    cr_assert_eq(res.nseats, 3);
    cr_assert_eq(res.seats[0], 7, "seats stay in request order");
    cr_assert_eq(res.seats[1], 2);
    cr_assert_eq(res.seats[2], 12);
    cr_assert_eq(res.expires_at_ms, T0 + TTL);
    cr_assert_eq(res.amount_cents, P_STD + P_PREM + P_STD);
    cr_assert_eq(res.nunavailable, 0);
    cr_assert_eq(res.nga_short, 0);

    expect_state(LIST(2, 7, 12), BO_SEAT_HELD, T0);
    expect_state(LIST(0, 1, 3, 6, 8, 13), BO_SEAT_AVAILABLE, T0);
    expect_counts(T0, 13, 3, 0, 0, 1);
    cr_assert_eq(bo_inv_category_available(inv, PREM, T0), 5);
    cr_assert_eq(bo_inv_category_available(inv, STD, T0), 8);

    bo_hold_view_t v = view(1, T0);
    cr_assert_eq(v.status, BO_HOLD_HELD);
    cr_assert_eq(v.pay_failures, 0);
    cr_assert_eq(v.customer, 42);
    cr_assert_eq(v.created_ms, T0);
    cr_assert_eq(v.expires_at_ms, T0 + TTL);
    cr_assert_eq(v.amount_cents, P_STD + P_PREM + P_STD);
    cr_assert_eq(v.nseats, 3);
    cr_assert_eq(v.seats[0], 7);
    cr_assert_eq(v.seats[1], 2);
    cr_assert_eq(v.seats[2], 12);
    cr_assert_eq(v.nga, 0);
    cr_assert_eq(bo_inv_next_deadline(inv), T0 + TTL);
}

Test(hold, given_expiry_is_kept)
{
    bo_hold_req_t r = req(1, 0);
    SEATS_OF(r, 4);
    r.expires_at_ms = T0 + 5;
    bo_hold_res_t res;
    cr_assert_eq(hold_req(&r, T0, &res), 0);
    cr_assert_eq(res.expires_at_ms, T0 + 5);
    cr_assert_eq(view(1, T0).expires_at_ms, T0 + 5);
    cr_assert_eq(bo_inv_next_deadline(inv), T0 + 5);
    expect_state(LIST(4), BO_SEAT_HELD, T0 + 4);
    expect_state(LIST(4), BO_SEAT_AVAILABLE, T0 + 5);
}

Test(hold, ga_only)
{
    bo_ga_line_t ga[] = {{FLOOR, 5}, {PIT, 2}};
    bo_hold_req_t r = req(1, 0);
    r.ga = ga;
    r.nga = 2;
    bo_hold_res_t res;
    cr_assert_eq(hold_req(&r, T0, &res), 0);
    cr_assert_eq(res.nseats, 0);
    cr_assert_eq(res.amount_cents, 5 * P_GA + 2 * P_PREM, "GA priced by its area's category");
    cr_assert_eq(res.expires_at_ms, T0 + TTL);
    cr_assert_eq(bo_inv_ga_available(inv, FLOOR, T0), 95);
    cr_assert_eq(bo_inv_ga_available(inv, PIT, T0), 1);
    cr_assert_eq(bo_inv_ga_sold(inv, FLOOR), 0);
    expect_counts(T0, NSEATS, 0, 0, 0, 1);
    bo_hold_view_t v = view(1, T0);
    cr_assert_eq(v.nseats, 0);
    cr_assert_eq(v.nga, 2);
    cr_assert_eq(v.ga[0].area, FLOOR);
    cr_assert_eq(v.ga[0].quantity, 5);
    cr_assert_eq(v.ga[1].area, PIT);
    cr_assert_eq(v.ga[1].quantity, 2);
}

Test(hold, seats_and_ga_together)
{
    bo_ga_line_t ga[] = {{FLOOR, 2}};
    bo_hold_req_t r = req(1, 9);
    SEATS_OF(r, 13, 0);
    r.ga = ga;
    r.nga = 1;
    bo_hold_res_t res;
    cr_assert_eq(hold_req(&r, T0, &res), 0);
    cr_assert_eq(res.nseats, 2);
    cr_assert_eq(res.seats[0], 13);
    cr_assert_eq(res.seats[1], 0);
    cr_assert_eq(res.amount_cents, P_STD + P_PREM + 2 * P_GA);
    expect_counts(T0, 14, 2, 0, 0, 1);
    cr_assert_eq(bo_inv_ga_available(inv, FLOOR, T0), 98);
    bo_hold_view_t v = view(1, T0);
    cr_assert_eq(v.nseats, 2);
    cr_assert_eq(v.nga, 1);
    cr_assert_eq(v.ga[0].quantity, 2);
}

Test(hold, ga_capacity_is_exact)
{
    cr_assert_eq(hold_ga(1, 0, PIT, 3, T0), 0, "the whole capacity");
    cr_assert_eq(bo_inv_ga_available(inv, PIT, T0), 0);
    last_version = bo_inv_version(inv);
    bo_hold_res_t res;
    bo_ga_line_t g = {PIT, 1};
    bo_hold_req_t r = req(2, 0);
    r.ga = &g;
    r.nga = 1;
    cr_assert_eq(hold_req(&r, T0, &res), BO_EUNAVAILABLE);
    cr_assert_eq(res.nga_short, 1);
    cr_assert_eq(res.ga_short[0], PIT);
    cr_assert_eq(res.nunavailable, 0);
    expect_same_version();
    cr_assert_eq(hold_ga(3, 0, FLOOR, 100, T0), 0, "a full line of 100 into capacity 100");
    cr_assert_eq(bo_inv_ga_available(inv, FLOOR, T0), 0);
}

Test(hold, one_taken_seat_changes_nothing)
{
    cr_assert_eq(hold_seats(1, 0, LIST(3), T0, NULL), 0);
    last_version = bo_inv_version(inv);
    bo_jpos_t pos = bo_inv_journal_pos(inv);
    bo_hold_res_t res;
    bo_ga_line_t g = {FLOOR, 4};
    bo_hold_req_t r = req(2, 5);
    SEATS_OF(r, 1, 3, 5);
    r.ga = &g;
    r.nga = 1;
    cr_assert_eq(hold_req(&r, T0 + 1, &res), BO_EUNAVAILABLE);
    cr_assert_eq(res.nunavailable, 1);
    cr_assert_eq(res.unavailable[0], 3);
    cr_assert_eq(res.nga_short, 0);
    cr_assert_eq(res.nseats, 0);
    expect_same_version();
    cr_assert_eq(bo_inv_journal_pos(inv), pos, "nothing journaled");
    expect_state(LIST(1, 5), BO_SEAT_AVAILABLE, T0 + 1);
    expect_counts(T0 + 1, 15, 1, 0, 0, 1);
    cr_assert_eq(bo_inv_ga_available(inv, FLOOR, T0 + 1), 100);
    cr_assert_eq(hold_status(2, T0 + 1), BO_HOLD_NONE);
    SEATS_OF(r, 1, 5);
    cr_assert_eq(hold_req(&r, T0 + 1, &res), 0, "the id was not used up");
}

Test(hold, unavailable_lists_held_sold_blocked_in_request_order)
{
    cr_assert_eq(hold_seats(1, 0, LIST(3), T0, NULL), 0);
    cr_assert_eq(hold_seats(2, 0, LIST(9), T0, NULL), 0);
    cr_assert_eq(confirm(2, NULL, 0, T0), 0);
    cr_assert_eq(block(LIST(14), T0, NULL), 0);
    last_version = bo_inv_version(inv);
    bo_hold_res_t res;
    cr_assert_eq(hold_seats(3, 0, LIST(14, 0, 9, 1, 3), T0, &res), BO_EUNAVAILABLE);
    cr_assert_eq(res.nunavailable, 3);
    cr_assert_eq(res.unavailable[0], 14);
    cr_assert_eq(res.unavailable[1], 9);
    cr_assert_eq(res.unavailable[2], 3);
    expect_state(LIST(0, 1), BO_SEAT_AVAILABLE, T0);
    expect_counts(T0, 13, 1, 1, 1, 1);
    expect_same_version();
}

Test(hold, ga_short_areas_in_request_order)
{
    cr_assert_eq(hold_ga(1, 0, PIT, 2, T0), 0);
    cr_assert_eq(hold_ga(2, 0, FLOOR, 1, T0), 0);
    last_version = bo_inv_version(inv);
    bo_hold_res_t res;
    bo_ga_line_t ga[] = {{PIT, 2}, {FLOOR, 100}};
    bo_hold_req_t r = req(3, 0);
    r.ga = ga;
    r.nga = 2;
    cr_assert_eq(hold_req(&r, T0, &res), BO_EUNAVAILABLE);
    cr_assert_eq(res.nga_short, 2);
    cr_assert_eq(res.ga_short[0], PIT);
    cr_assert_eq(res.ga_short[1], FLOOR);
    bo_ga_line_t ga2[] = {{FLOOR, 100}, {PIT, 1}};
    r.ga = ga2;
    cr_assert_eq(hold_req(&r, T0, &res), BO_EUNAVAILABLE);
    cr_assert_eq(res.nga_short, 1, "pit still has one");
    cr_assert_eq(res.ga_short[0], FLOOR);
    cr_assert_eq(bo_inv_ga_available(inv, PIT, T0), 1);
    cr_assert_eq(bo_inv_ga_available(inv, FLOOR, T0), 99);
    expect_same_version();
}

Test(hold, taken_seats_and_short_ga_are_both_listed)
{
    cr_assert_eq(hold_seats(1, 0, LIST(3), T0, NULL), 0);
    cr_assert_eq(hold_ga(2, 0, PIT, 3, T0), 0);
    bo_hold_res_t res;
    bo_ga_line_t g = {PIT, 1};
    bo_hold_req_t r = req(3, 0);
    SEATS_OF(r, 4, 3);
    r.ga = &g;
    r.nga = 1;
    cr_assert_eq(hold_req(&r, T0, &res), BO_EUNAVAILABLE);
    cr_assert_eq(res.nunavailable, 1);
    cr_assert_eq(res.unavailable[0], 3);
    cr_assert_eq(res.nga_short, 1);
    cr_assert_eq(res.ga_short[0], PIT);
    expect_state(LIST(4), BO_SEAT_AVAILABLE, T0);
}

/* ---- BO_EINVAL: each malformed request of engine.h's list -------------------------- */

/* A hold already exists; r must fail with BO_EINVAL and change nothing. */
static void expect_einval(const bo_hold_req_t *r, int64_t now, const char *what)
{
    last_version = bo_inv_version(inv);
    bo_jpos_t pos = bo_inv_journal_pos(inv);
    bo_inv_counts_t before, after;
    bo_inv_counts(inv, now, &before);
    bo_hold_res_t res;
    int rc = bo_inv_hold(inv, r, now, &res);
    cr_assert_eq(rc, BO_EINVAL, "%s: got %d", what, rc);
    cr_assert_eq(res.nseats, 0, "%s", what);
    cr_assert_eq(res.nunavailable, 0, "%s", what);
    bo_inv_counts(inv, now, &after);
    cr_assert_eq(after.available, before.available, "%s", what);
    cr_assert_eq(after.live_holds, before.live_holds, "%s", what);
    cr_assert_eq(bo_inv_ga_available(inv, FLOOR, now), 100, "%s", what);
    cr_assert_eq(bo_inv_journal_pos(inv), pos, "%s", what);
    expect_same_version();
    check_consistent(now);
}

Test(einval, malformed_requests)
{
    cr_assert_eq(hold_seats(1, 0, LIST(0), T0, NULL), 0);
    bo_ga_line_t g = {FLOOR, 1};
    bo_hold_req_t r = req(2, 0);
    expect_einval(&r, T0, "nothing asked for");

    r = req(2, 0);
    r.best_quantity = 2;
    SEATS_OF(r, 5);
    expect_einval(&r, T0, "best with seats");

    r = req(2, 0);
    r.best_quantity = 2;
    r.ga = &g;
    r.nga = 1;
    expect_einval(&r, T0, "best with GA");

    r = req(2, 0);
    r.best_quantity = BO_HOLD_MAX_SEATS + 1;
    expect_einval(&r, T0, "best quantity past the bound");

    r = req(2, 0);
    r.best_quantity = 1;
    r.best_category = 3;
    expect_einval(&r, T0, "best category out of range");

    r = req(2, 0);
    r.best_quantity = 1;
    r.best_section = 2;
    expect_einval(&r, T0, "best section out of range");

    r = req(2, 0);
    SEATS_OF(r, 5, NSEATS);
    expect_einval(&r, T0, "seat index == nseats");
    SEATS_OF(r, UINT32_MAX);
    expect_einval(&r, T0, "seat index UINT32_MAX");

    r = req(2, 0);
    SEATS_OF(r, 4, 5, 4);
    expect_einval(&r, T0, "repeated seat");

    r = req(2, 0);
    r.nseats = 2;
    expect_einval(&r, T0, "seats NULL with nseats");

    r = req(2, 0);
    r.ga = (const bo_ga_line_t[]){{2, 1}};
    r.nga = 1;
    expect_einval(&r, T0, "GA area out of range");

    r = req(2, 0);
    r.ga = (const bo_ga_line_t[]){{FLOOR, 1}, {PIT, 1}, {FLOOR, 2}};
    r.nga = 3;
    expect_einval(&r, T0, "GA area repeated");

    r = req(2, 0);
    r.ga = (const bo_ga_line_t[]){{FLOOR, 0}};
    r.nga = 1;
    expect_einval(&r, T0, "GA quantity 0");

    r = req(2, 0);
    r.ga = (const bo_ga_line_t[]){{FLOOR, BO_HOLD_MAX_GA_QTY + 1}};
    r.nga = 1;
    expect_einval(&r, T0, "GA quantity past the bound");

    r = req(2, 0);
    SEATS_OF(r, 5);
    r.ga = (const bo_ga_line_t[]){{PIT, 0}};
    r.nga = 1;
    expect_einval(&r, T0, "valid seats with a bad GA line");

    r = req(2, 0);
    SEATS_OF(r, 5);
    r.expires_at_ms = T0;
    expect_einval(&r, T0, "expires_at == now");
    r.expires_at_ms = T0 - 1;
    expect_einval(&r, T0, "expires_at before now");
}

Test(einval, comes_before_every_other_check)
{
    reopen(TTL, 1, 1);
    cr_assert_eq(hold_seats(1, 5, LIST(0), T0, NULL), 0);
    bo_hold_req_t r = req(1, 0);
    SEATS_OF(r, 4, 4);
    expect_einval(&r, T0, "repeated seat, existing id");
    r = req(2, 5);
    r.best_quantity = BO_HOLD_MAX_SEATS + 1;
    expect_einval(&r, T0, "best quantity past the bound, customer at the limit, slots full");
    r = req(2, 5);
    SEATS_OF(r, 0, NSEATS);
    expect_einval(&r, T0, "taken seat and a seat out of range");
}

/* A generated venue with 150 seats and 9 GA areas, for the size bounds. */
static bo_layout_t *big_venue(void)
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

Test(einval, seat_and_ga_line_bounds)
{
    bo_layout_t *l = big_venue();
    bo_inv_config_t c = config(TTL, 0, 0);
    bo_inv_t *x;
    cr_assert_eq(bo_inv_new(l, &c, &x), 0);
    uint32_t seats[BO_HOLD_MAX_SEATS + 1];
    for (uint32_t i = 0; i <= BO_HOLD_MAX_SEATS; i++)
        seats[i] = 149 - i;
    bo_ga_line_t ga[BO_HOLD_MAX_GA + 1];
    for (uint32_t i = 0; i <= BO_HOLD_MAX_GA; i++)
        ga[i] = (bo_ga_line_t){i, 1};
    bo_hold_res_t res;
    bo_hold_req_t r = req(1, 0);
    r.seats = seats;
    r.nseats = BO_HOLD_MAX_SEATS + 1;
    cr_assert_eq(bo_inv_hold(x, &r, T0, &res), BO_EINVAL, "101 seats");
    r = req(1, 0);
    r.ga = ga;
    r.nga = BO_HOLD_MAX_GA + 1;
    cr_assert_eq(bo_inv_hold(x, &r, T0, &res), BO_EINVAL, "9 GA lines");
    bo_inv_counts_t cnt;
    bo_inv_counts(x, T0, &cnt);
    cr_assert_eq(cnt.available, 150);
    cr_assert_eq(cnt.live_holds, 0);

    r = req(1, 0);
    r.seats = seats;
    r.nseats = BO_HOLD_MAX_SEATS;
    r.ga = ga;
    r.nga = BO_HOLD_MAX_GA;
    cr_assert_eq(bo_inv_hold(x, &r, T0, &res), 0, "100 seats and 8 GA lines");
    cr_assert_eq(res.nseats, BO_HOLD_MAX_SEATS);
    cr_assert_arr_eq(res.seats, seats, BO_HOLD_MAX_SEATS * sizeof(uint32_t));
    bo_inv_counts(x, T0, &cnt);
    cr_assert_eq(cnt.held, 100);
    cr_assert_eq(bo_inv_ga_available(x, 7, T0), 999);
    cr_assert_eq(bo_inv_ga_available(x, 8, T0), 1000);
    bo_inv_free(x);
    bo_layout_free(l);
}

/* ---- BO_EEXIST and id reuse --------------------------------------------------------- */

Test(hold, eexist_for_held_paying_and_sold_ids)
{
    cr_assert_eq(hold_seats(1, 0, LIST(0), T0, NULL), 0);
    cr_assert_eq(hold_seats(2, 0, LIST(1), T0, NULL), 0);
    cr_assert_eq(pay_start(2, T0 + 10, T0), 0);
    cr_assert_eq(hold_seats(3, 0, LIST(2), T0, NULL), 0);
    cr_assert_eq(confirm(3, NULL, 0, T0), 0);
    last_version = bo_inv_version(inv);
    for (uint32_t id = 1; id <= 3; id++) {
        bo_hold_res_t res;
        cr_assert_eq(hold_seats(id, 0, LIST(8), T0 + 20, &res), BO_EEXIST, "hold %u", id);
        bo_ga_line_t g = {FLOOR, 1};
        bo_hold_req_t r = req(id, 0);
        r.ga = &g;
        r.nga = 1;
        cr_assert_eq(hold_req(&r, T0 + 20, NULL), BO_EEXIST, "GA, hold %u", id);
    }
    expect_state(LIST(8), BO_SEAT_AVAILABLE, T0 + 20);
    expect_counts(T0 + 20, 13, 2, 1, 0, 2);
    expect_same_version();
    cr_assert_eq(hold_status(2, T0 + TTL + 5), BO_HOLD_PAYING, "paying, past expiry");
    cr_assert_eq(hold_seats(2, 0, LIST(8), T0 + TTL + 5, NULL), BO_EEXIST);
}

Test(hold, eexist_comes_before_limit_full_and_unavailable)
{
    reopen(TTL, 1, 1);
    cr_assert_eq(hold_seats(1, 5, LIST(0), T0, NULL), 0);
    last_version = bo_inv_version(inv);
    cr_assert_eq(hold_seats(1, 5, LIST(0, 1), T0, NULL), BO_EEXIST);
    expect_same_version();
}

Test(hold, an_id_is_reusable_once_its_hold_is_gone)
{
    cr_assert_eq(hold_seats(1, 0, LIST(0), T0, NULL), 0);
    cr_assert_eq(release(1, T0 + 1), 0);
    cr_assert_eq(hold_seats(1, 0, LIST(1), T0 + 2, NULL), 0, "after release");
    cr_assert_eq(view(1, T0 + 2).seats[0], 1);

    /* expired at T0 + 2 + TTL: reused at that very time, no sweep before */
    bo_hold_res_t res;
    cr_assert_eq(hold_seats(1, 7, LIST(2), T0 + 2 + TTL, &res), 0, "after expiry");
    cr_assert_eq(res.expires_at_ms, T0 + 2 + 2 * TTL);
    bo_hold_view_t v = view(1, T0 + 2 + TTL);
    cr_assert_eq(v.customer, 7);
    cr_assert_eq(v.created_ms, T0 + 2 + TTL);
    cr_assert_eq(v.nseats, 1);
    cr_assert_eq(v.seats[0], 2);
    expect_state(LIST(1), BO_SEAT_AVAILABLE, T0 + 2 + TTL);

    int64_t t = T0 + 3 + TTL;
    cr_assert_eq(confirm(1, NULL, 0, t), 0);
    cr_assert_eq(cancel(1, t), 0);
    cr_assert_eq(hold_seats(1, 0, LIST(2), t, NULL), 0, "after cancel");
    expect_counts(t, 15, 1, 0, 0, 1);
}

/* ---- BO_ELIMIT ---------------------------------------------------------------------- */

Test(limits, seats_and_ga_count_up_to_the_limit)
{
    reopen(TTL, 4, 0);
    cr_assert_eq(hold_seats(1, 7, LIST(0, 1), T0, NULL), 0);
    cr_assert_eq(hold_ga(2, 7, FLOOR, 2, T0), 0, "exactly at the limit");
    last_version = bo_inv_version(inv);
    cr_assert_eq(hold_seats(3, 7, LIST(2), T0, NULL), BO_ELIMIT);
    cr_assert_eq(hold_ga(3, 7, FLOOR, 1, T0), BO_ELIMIT);
    cr_assert_eq(hold_best(3, 7, 1, BO_NONE, BO_NONE, T0, NULL), BO_ELIMIT,
                 "best available counts its quantity");
    expect_same_version();
    expect_state(LIST(2), BO_SEAT_AVAILABLE, T0);
    cr_assert_eq(hold_status(3, T0), BO_HOLD_NONE);
    cr_assert_eq(hold_seats(3, 8, LIST(2, 3, 4, 5), T0, NULL), 0, "another customer");
    cr_assert_eq(hold_seats(4, 0, LIST(6, 7, 8, 9, 10), T0, NULL), 0, "anonymous: no limit");
    cr_assert_eq(hold_ga(5, 0, FLOOR, 50, T0), 0);
    reopen(TTL, 4, 0);
    cr_assert_eq(hold_seats(1, 7, LIST(0, 1, 2, 3, 4), T0, NULL), BO_ELIMIT,
                 "one request past the limit");
    cr_assert_eq(hold_best(1, 7, 5, BO_NONE, BO_NONE, T0, NULL), BO_ELIMIT);
}

Test(limits, held_paying_and_sold_all_count)
{
    reopen(TTL, 4, 0);
    cr_assert_eq(hold_seats(1, 7, LIST(0, 1), T0, NULL), 0);
    cr_assert_eq(hold_seats(2, 7, LIST(2), T0, NULL), 0);
    cr_assert_eq(pay_start(2, T0 + 100, T0), 0);
    cr_assert_eq(hold_ga(3, 7, PIT, 1, T0), 0);
    cr_assert_eq(confirm(3, NULL, 0, T0), 0);
    cr_assert_eq(hold_seats(4, 7, LIST(3), T0, NULL), BO_ELIMIT, "2 held + 1 paying + 1 sold");
    cr_assert_eq(release(1, T0), 0);
    cr_assert_eq(hold_seats(4, 7, LIST(3, 4, 5), T0, NULL), BO_ELIMIT, "room for 2 only");
    cr_assert_eq(hold_seats(4, 7, LIST(3, 4), T0, NULL), 0);
    cr_assert_eq(hold_ga(5, 7, FLOOR, 1, T0), BO_ELIMIT);
    cr_assert_eq(cancel(3, T0), 0);
    cr_assert_eq(hold_ga(5, 7, FLOOR, 1, T0), 0, "a cancelled sale gives room back");
    int released;
    cr_assert_eq(pay_failed(2, T0, &released), 0);
    cr_assert_eq(released, 0);
    cr_assert_eq(hold_ga(6, 7, FLOOR, 1, T0), BO_ELIMIT, "still held after the failure");
    /* holds 2, 4 and 5 expire at T0 + TTL: all the room comes back */
    cr_assert_eq(hold_seats(6, 7, LIST(8, 9, 10, 11), T0 + TTL, NULL), 0, "expiry gives it back");
}

Test(limits, replay_skips_the_limit)
{
    reopen(TTL, 2, 0);
    cr_assert_eq(hold_seats(1, 7, LIST(0, 1), T0, NULL), 0);
    bo_hold_req_t r = req(2, 7);
    SEATS_OF(r, 2, 3, 4);
    r.replay = 1;
    r.amount_cents = 1234;
    r.expires_at_ms = T0 + 77;
    bo_hold_res_t res;
    cr_assert_eq(hold_req(&r, T0, &res), 0);
    cr_assert_eq(res.amount_cents, 1234, "replay takes the logged amount");
    cr_assert_eq(res.expires_at_ms, T0 + 77);
    cr_assert_eq(view(2, T0).amount_cents, 1234);
    cr_assert_eq(release(1, T0), 0);
    cr_assert_eq(hold_seats(3, 7, LIST(5), T0, NULL), BO_ELIMIT,
                 "the replayed hold counts towards the limit");
}

Test(limits, elimit_comes_before_efull_and_unavailable)
{
    reopen(TTL, 2, 1);
    cr_assert_eq(hold_seats(1, 7, LIST(0, 1), T0, NULL), 0);
    cr_assert_eq(hold_seats(2, 7, LIST(0), T0, NULL), BO_ELIMIT);
}

Test(limits, efull_when_every_slot_is_used)
{
    reopen(TTL, 0, 2);
    cr_assert_eq(hold_seats(1, 0, LIST(0), T0, NULL), 0);
    cr_assert_eq(hold_ga(2, 0, FLOOR, 1, T0), 0);
    last_version = bo_inv_version(inv);
    bo_hold_res_t res;
    cr_assert_eq(hold_seats(3, 0, LIST(1), T0, &res), BO_EFULL);
    cr_assert_eq(hold_seats(3, 0, LIST(0), T0, &res), BO_EFULL, "EFULL before EUNAVAILABLE");
    cr_assert_eq(hold_best(3, 0, 1, BO_NONE, BO_NONE, T0, &res), BO_EFULL);
    expect_same_version();
    expect_counts(T0, 15, 1, 0, 0, 2);
    cr_assert_eq(hold_status(3, T0), BO_HOLD_NONE);

    cr_assert_eq(release(2, T0), 0);
    cr_assert_eq(hold_seats(3, 0, LIST(1), T0, NULL), 0, "a released slot is reused");
    cr_assert_eq(confirm(1, NULL, 0, T0), 0);
    cr_assert_eq(confirm(3, NULL, 0, T0), 0);
    cr_assert_eq(hold_seats(4, 0, LIST(2), T0, NULL), BO_EFULL, "sold holds keep their slots");
    cr_assert_eq(cancel(1, T0), 0);
    cr_assert_eq(hold_seats(4, 0, LIST(2), T0, NULL), 0, "a cancelled sale frees its slot");
    cr_assert_eq(hold_seats(5, 0, LIST(4), T0 + TTL - 1, NULL), BO_EFULL);
    cr_assert_eq(hold_seats(5, 0, LIST(4), T0 + TTL, NULL), 0, "expiry frees the slot");
    expect_counts(T0 + TTL, 14, 1, 1, 0, 1);
}

Test(limits, late_confirm_needs_a_slot)
{
    reopen(TTL, 0, 1);
    cr_assert_eq(hold_seats(1, 0, LIST(0), T0, NULL), 0);
    cr_assert_eq(release(1, T0), 0);
    cr_assert_eq(hold_seats(2, 0, LIST(1), T0, NULL), 0);
    last_version = bo_inv_version(inv);
    cr_assert_eq(confirm(1, LIST(0), T0), BO_EFULL);
    expect_state(LIST(0), BO_SEAT_AVAILABLE, T0);
    expect_same_version();
}

/* ---- best available through bo_inv_hold ------------------------------------------------ */

Test(best, best_seats_ascending_with_their_price)
{
    bo_hold_res_t res;
    cr_assert_eq(hold_best(1, 3, 2, BO_NONE, BO_NONE, T0, &res), 0);
    cr_assert_eq(res.nseats, 2);
    cr_assert_eq(res.seats[0], 2, "A3 (rank 1) then A4 (rank 0): ascending, not by rank");
    cr_assert_eq(res.seats[1], 3);
    cr_assert_eq(res.amount_cents, 2 * P_PREM);
    cr_assert_eq(res.expires_at_ms, T0 + TTL);
    expect_state(LIST(2, 3), BO_SEAT_HELD, T0);
    bo_hold_view_t v = view(1, T0);
    cr_assert_eq(v.nseats, 2);
    cr_assert_eq(v.seats[0], 2);
    cr_assert_eq(v.seats[1], 3);
    cr_assert_eq(v.customer, 3);
    expect_counts(T0, 14, 2, 0, 0, 1);
}

Test(best, category_and_section_filters)
{
    bo_hold_res_t res;
    cr_assert_eq(hold_best(1, 0, 2, STD, BO_NONE, T0, &res), 0);
    cr_assert_eq(res.seats[0], 8);
    cr_assert_eq(res.seats[1], 9);
    cr_assert_eq(res.amount_cents, 2 * P_STD);
    cr_assert_eq(hold_best(2, 0, 2, BO_NONE, SIDE, T0, &res), 0);
    cr_assert_eq(res.seats[0], 12);
    cr_assert_eq(res.seats[1], 13);
    cr_assert_eq(hold_best(3, 0, 1, PREM, MAIN, T0, &res), 0);
    cr_assert_eq(res.nseats, 1);
    cr_assert_eq(res.seats[0], 3, "A4, rank 0");
}

Test(best, skips_taken_seats_and_relaxes_orphans)
{
    uint32_t rows_ab[12];
    for (uint32_t i = 0; i < 12; i++)
        rows_ab[i] = i;
    cr_assert_eq(block(rows_ab, 12, T0, NULL), 0);
    cr_assert_eq(hold_seats(1, 0, LIST(12), T0, NULL), 0);
    bo_hold_res_t res;
    cr_assert_eq(hold_best(2, 0, 2, BO_NONE, BO_NONE, T0, &res), 0);
    cr_assert_eq(res.seats[0], 13, "C2+C3 leaves C4 alone but nothing better fits");
    cr_assert_eq(res.seats[1], 14);
}

Test(best, enoseats_changes_nothing)
{
    last_version = bo_inv_version(inv);
    bo_hold_res_t res;
    cr_assert_eq(hold_best(1, 0, 5, BO_NONE, SIDE, T0, &res), BO_ENOSEATS, "side has 4 seats");
    cr_assert_eq(hold_best(1, 0, 7, PREM, BO_NONE, T0, &res), BO_ENOSEATS, "6 premium seats");
    cr_assert_eq(hold_best(1, 0, 17, BO_NONE, BO_NONE, T0, &res), BO_ENOSEATS);
    cr_assert_eq(res.nseats, 0);
    expect_same_version();
    expect_counts(T0, NSEATS, 0, 0, 0, 0);
    cr_assert_eq(hold_status(1, T0), BO_HOLD_NONE);
    cr_assert_eq(hold_seats(1, 0, LIST(12, 13), T0, NULL), 0);
    cr_assert_eq(hold_best(2, 0, 3, BO_NONE, SIDE, T0, &res), BO_ENOSEATS);
    cr_assert_eq(hold_best(2, 0, 2, BO_NONE, SIDE, T0, &res), 0);
    cr_assert_eq(res.seats[0], 14);
}

/* ---- expiry through the clock argument ---------------------------------------------------- */

Test(expiry, reads_at_expires_at_treat_the_hold_as_gone)
{
    bo_ga_line_t g = {PIT, 2};
    bo_hold_req_t r = req(1, 0);
    SEATS_OF(r, 0, 6, 12);
    r.ga = &g;
    r.nga = 1;
    cr_assert_eq(hold_req(&r, T0, NULL), 0);
    last_version = bo_inv_version(inv);
    int64_t end = T0 + TTL;

    expect_state(LIST(0, 6, 12), BO_SEAT_HELD, end - 1);
    expect_counts(end - 1, 13, 3, 0, 0, 1);
    cr_assert_eq(bo_inv_category_available(inv, PREM, end - 1), 5);
    cr_assert_eq(bo_inv_category_available(inv, STD, end - 1), 8);
    cr_assert_eq(bo_inv_ga_available(inv, PIT, end - 1), 1);
    cr_assert_eq(hold_status(1, end - 1), BO_HOLD_HELD);

    expect_state(LIST(0, 6, 12), BO_SEAT_AVAILABLE, end);
    expect_counts(end, NSEATS, 0, 0, 0, 0);
    cr_assert_eq(bo_inv_category_available(inv, PREM, end), 6);
    cr_assert_eq(bo_inv_category_available(inv, STD, end), 10);
    cr_assert_eq(bo_inv_ga_available(inv, PIT, end), 3);
    cr_assert_eq(hold_status(1, end), BO_HOLD_NONE);
    uint8_t st[NSEATS];
    bo_inv_snapshot(inv, end, st);
    for (uint32_t s = 0; s < NSEATS; s++)
        cr_assert_eq(st[s], BO_SEAT_AVAILABLE, "seat %u", s);
    expect_same_version();
    check_consistent(end);

    cr_assert_eq(bo_inv_expire(inv, end), 1);
    expect_bumped();
    expect_counts(end, NSEATS, 0, 0, 0, 0);
    cr_assert_eq(bo_inv_ga_available(inv, PIT, end), 3);
    cr_assert_eq(bo_inv_expire(inv, end), 0);
    expect_same_version();
    cr_assert_eq(bo_inv_next_deadline(inv), INT64_MAX);
}

Test(expiry, expire_releases_only_what_is_due)
{
    bo_hold_req_t r = req(1, 0);
    SEATS_OF(r, 0);
    r.expires_at_ms = T0 + 30;
    cr_assert_eq(hold_req(&r, T0, NULL), 0);
    r = req(2, 0);
    SEATS_OF(r, 1);
    r.expires_at_ms = T0 + 10;
    cr_assert_eq(hold_req(&r, T0, NULL), 0);
    r = req(3, 0);
    SEATS_OF(r, 2);
    r.expires_at_ms = T0 + 20;
    cr_assert_eq(hold_req(&r, T0, NULL), 0);
    cr_assert_eq(hold_seats(4, 0, LIST(3), T0, NULL), 0);
    cr_assert_eq(pay_start(4, T0 + 15, T0), 0);
    cr_assert_eq(bo_inv_next_deadline(inv), T0 + 10);
    last_version = bo_inv_version(inv);

    cr_assert_eq(bo_inv_expire(inv, T0 + 9), 0);
    expect_same_version();
    cr_assert_eq(bo_inv_expire(inv, T0 + 20), 2, "holds 2 and 3");
    expect_bumped();
    check_consistent(T0 + 20);
    cr_assert_eq(hold_status(1, T0 + 20), BO_HOLD_HELD);
    cr_assert_eq(hold_status(4, T0 + 20), BO_HOLD_PAYING, "paying: never expired");
    cr_assert_eq(bo_inv_next_deadline(inv), T0 + 15, "the payment deadline");
    cr_assert_eq(confirm(4, NULL, 0, T0 + 20), 0);
    cr_assert_eq(bo_inv_next_deadline(inv), T0 + 30);
    cr_assert_eq(bo_inv_expire(inv, T0 + 1000), 1);
    cr_assert_eq(bo_inv_next_deadline(inv), INT64_MAX);
    expect_counts(T0 + 1000, 15, 0, 1, 0, 0);
}

Test(expiry, every_mutation_sweeps_first)
{
    cr_assert_eq(hold_seats(1, 0, LIST(0), T0, NULL), 0);
    cr_assert_eq(hold_seats(2, 0, LIST(1), T0 + 1, NULL), 0);
    cr_assert_eq(release(2, T0 + TTL), 0);
    cr_assert_eq(bo_inv_expire(inv, T0 + TTL), 0, "release swept hold 1 before releasing");

    cr_assert_eq(hold_seats(3, 0, LIST(0), T0 + TTL, NULL), 0);
    cr_assert_eq(block(LIST(0), T0 + 2 * TTL, NULL), 0, "block takes an expired hold's seat");
    cr_assert_eq(bo_inv_expire(inv, T0 + 2 * TTL), 0);

    cr_assert_eq(hold_seats(4, 0, LIST(5), T0 + 3 * TTL, NULL), 0);
    cr_assert_eq(hold_seats(5, 0, LIST(5), T0 + 4 * TTL, NULL), 0, "hold sweeps");
    expect_counts(T0 + 4 * TTL, 14, 1, 0, 1, 1);
}

/* ---- release ---------------------------------------------------------------------------- */

Test(release, a_held_hold_goes_back_on_sale)
{
    bo_ga_line_t g = {FLOOR, 3};
    bo_hold_req_t r = req(1, 0);
    SEATS_OF(r, 0, 7);
    r.ga = &g;
    r.nga = 1;
    cr_assert_eq(hold_req(&r, T0, NULL), 0);
    last_version = bo_inv_version(inv);
    cr_assert_eq(release(1, T0 + 1), 0);
    expect_bumped();
    expect_state(LIST(0, 7), BO_SEAT_AVAILABLE, T0 + 1);
    expect_counts(T0 + 1, NSEATS, 0, 0, 0, 0);
    cr_assert_eq(bo_inv_ga_available(inv, FLOOR, T0 + 1), 100);
    cr_assert_eq(hold_status(1, T0 + 1), BO_HOLD_NONE);
    cr_assert_eq(bo_inv_next_deadline(inv), INT64_MAX);
    cr_assert_eq(bo_inv_expire(inv, T0 + TTL), 0, "nothing left to expire");
}

Test(release, a_paying_hold_can_be_released)
{
    cr_assert_eq(hold_seats(1, 0, LIST(0), T0, NULL), 0);
    cr_assert_eq(pay_start(1, T0 + 10, T0), 0);
    cr_assert_eq(release(1, T0 + TTL + 1), 0, "paying, past expires_at");
    expect_counts(T0 + TTL + 1, NSEATS, 0, 0, 0, 0);
    bo_hold_id_t ids[2];
    cr_assert_eq(bo_inv_due_payments(inv, INT64_MAX, ids, 2), 0);
    cr_assert_eq(bo_inv_next_deadline(inv), INT64_MAX);
}

Test(release, errors)
{
    cr_assert_eq(hold_seats(1, 0, LIST(0), T0, NULL), 0);
    cr_assert_eq(hold_seats(2, 0, LIST(1), T0, NULL), 0);
    cr_assert_eq(confirm(2, NULL, 0, T0), 0);
    last_version = bo_inv_version(inv);
    cr_assert_eq(release(9, T0), BO_ENOTFOUND, "unknown");
    cr_assert_eq(release(2, T0), BO_ESTATE, "sold");
    expect_same_version();
    expect_state(LIST(1), BO_SEAT_SOLD, T0);
    cr_assert_eq(release(1, T0 + TTL), BO_ENOTFOUND, "expired, not swept before");
    cr_assert_eq(release(1, T0 + TTL), BO_ENOTFOUND, "expired and swept");
    cr_assert_eq(hold_seats(3, 0, LIST(2), T0 + TTL, NULL), 0);
    cr_assert_eq(release(3, T0 + TTL), 0);
    last_version = bo_inv_version(inv);
    cr_assert_eq(release(3, T0 + TTL), BO_ENOTFOUND, "released twice");
    expect_same_version();
}

/* ---- payments ------------------------------------------------------------------------------ */

Test(pay, start_moves_held_to_paying)
{
    cr_assert_eq(hold_seats(1, 0, LIST(0, 1), T0, NULL), 0);
    last_version = bo_inv_version(inv);
    cr_assert_eq(pay_start(1, T0 + 500, T0 + 100), 0);
    expect_bumped();
    bo_hold_view_t v = view(1, T0 + 100);
    cr_assert_eq(v.status, BO_HOLD_PAYING);
    cr_assert_eq(v.pay_deadline_ms, T0 + 500);
    cr_assert_eq(v.expires_at_ms, T0 + TTL, "expiry kept");
    expect_counts(T0 + 100, 14, 2, 0, 0, 1);
    cr_assert_eq(bo_inv_next_deadline(inv), T0 + 500);
}

Test(pay, start_errors)
{
    cr_assert_eq(hold_seats(1, 0, LIST(0), T0, NULL), 0);
    cr_assert_eq(hold_seats(2, 0, LIST(1), T0, NULL), 0);
    cr_assert_eq(pay_start(2, T0 + 50, T0), 0);
    cr_assert_eq(hold_seats(3, 0, LIST(2), T0, NULL), 0);
    cr_assert_eq(confirm(3, NULL, 0, T0), 0);
    last_version = bo_inv_version(inv);
    cr_assert_eq(pay_start(1, T0, T0), BO_EINVAL, "deadline == now");
    cr_assert_eq(pay_start(1, T0 - 1, T0), BO_EINVAL, "deadline before now");
    cr_assert_eq(pay_start(9, T0 + 10, T0), BO_ENOTFOUND, "unknown");
    cr_assert_eq(pay_start(2, T0 + 99, T0), BO_ESTATE, "already paying");
    cr_assert_eq(pay_start(3, T0 + 10, T0), BO_ESTATE, "sold");
    expect_same_version();
    cr_assert_eq(hold_status(1, T0), BO_HOLD_HELD);
    cr_assert_eq(view(2, T0).pay_deadline_ms, T0 + 50, "deadline unchanged");
    cr_assert_eq(pay_start(1, T0 + TTL + 10, T0 + TTL), BO_ENOTFOUND, "expired");
}

Test(pay, a_paying_hold_outlives_its_expiry_and_becomes_due)
{
    cr_assert_eq(hold_seats(1, 0, LIST(4), T0, NULL), 0);
    cr_assert_eq(hold_seats(2, 0, LIST(5), T0, NULL), 0);
    cr_assert_eq(pay_start(1, T0 + TTL + 100, T0), 0);
    cr_assert_eq(pay_start(2, T0 + TTL + 200, T0), 0);
    int64_t late = T0 + TTL + 50;
    cr_assert_eq(bo_inv_expire(inv, late), 0);
    expect_state(LIST(4, 5), BO_SEAT_HELD, late);
    cr_assert_eq(hold_status(1, late), BO_HOLD_PAYING);
    expect_counts(late, 14, 2, 0, 0, 2);

    bo_hold_id_t ids[4];
    cr_assert_eq(bo_inv_due_payments(inv, late, ids, 4), 0, "not yet due");
    cr_assert_eq(bo_inv_due_payments(inv, T0 + TTL + 100, ids, 4), 1, "due at its deadline");
    bo_hold_id_t h1 = hid(1), h2 = hid(2);
    cr_assert_eq(memcmp(ids[0].b, h1.b, 16), 0);
    cr_assert_eq(bo_inv_due_payments(inv, T0 + TTL + 200, ids, 4), 2);
    int seen1 = !memcmp(ids[0].b, h1.b, 16) || !memcmp(ids[1].b, h1.b, 16);
    int seen2 = !memcmp(ids[0].b, h2.b, 16) || !memcmp(ids[1].b, h2.b, 16);
    cr_assert(seen1 && seen2);
    cr_assert_eq(bo_inv_due_payments(inv, T0 + TTL + 200, ids, 1), 1, "at most max");
    cr_assert_eq(bo_inv_due_payments(inv, T0 + TTL + 200, ids, 0), 0);

    cr_assert_eq(bo_inv_expire(inv, T0 + 10 * TTL), 0, "still not expired");
    cr_assert_eq(confirm(1, NULL, 0, T0 + 10 * TTL), 0);
    cr_assert_eq(bo_inv_due_payments(inv, INT64_MAX, ids, 4), 1);
    cr_assert_eq(memcmp(ids[0].b, h2.b, 16), 0);
}

Test(pay, failure_returns_to_held_with_the_remaining_time)
{
    cr_assert_eq(hold_seats(1, 0, LIST(0), T0, NULL), 0);
    cr_assert_eq(pay_start(1, T0 + 1000, T0 + 10), 0);
    last_version = bo_inv_version(inv);
    int released;
    cr_assert_eq(pay_failed(1, T0 + 20, &released), 0);
    expect_bumped();
    cr_assert_eq(released, 0);
    bo_hold_view_t v = view(1, T0 + 20);
    cr_assert_eq(v.status, BO_HOLD_HELD);
    cr_assert_eq(v.pay_failures, 1);
    cr_assert_eq(v.expires_at_ms, T0 + TTL);
    bo_hold_id_t ids[2];
    cr_assert_eq(bo_inv_due_payments(inv, INT64_MAX, ids, 2), 0);
    cr_assert_eq(bo_inv_next_deadline(inv), T0 + TTL);
    expect_state(LIST(0), BO_SEAT_HELD, T0 + TTL - 1);
    expect_state(LIST(0), BO_SEAT_AVAILABLE, T0 + TTL);
    cr_assert_eq(bo_inv_expire(inv, T0 + TTL), 1, "expires again at its old time");
}

Test(pay, the_third_failure_releases)
{
    cr_assert_eq(hold_seats(1, 0, LIST(0, 1), T0, NULL), 0);
    int released;
    for (int i = 1; i <= 2; i++) {
        cr_assert_eq(pay_start(1, T0 + 100 * i + 50, T0 + 100 * i), 0);
        cr_assert_eq(pay_failed(1, T0 + 100 * i + 1, &released), 0);
        cr_assert_eq(released, 0, "failure %d", i);
        cr_assert_eq(view(1, T0 + 100 * i + 1).pay_failures, i);
    }
    cr_assert_eq(pay_start(1, T0 + 1000, T0 + 300), 0);
    cr_assert_eq(pay_failed(1, T0 + 301, &released), 0);
    cr_assert_eq(released, 1);
    cr_assert_eq(hold_status(1, T0 + 301), BO_HOLD_NONE);
    expect_counts(T0 + 301, NSEATS, 0, 0, 0, 0);
    cr_assert_eq(bo_inv_next_deadline(inv), INT64_MAX);
}

Test(pay, a_failure_after_expiry_releases)
{
    bo_ga_line_t g = {PIT, 1};
    bo_hold_req_t r = req(1, 0);
    SEATS_OF(r, 9);
    r.ga = &g;
    r.nga = 1;
    cr_assert_eq(hold_req(&r, T0, NULL), 0);
    cr_assert_eq(pay_start(1, T0 + 2 * TTL, T0), 0);
    int released;
    cr_assert_eq(pay_failed(1, T0 + TTL, &released), 0);
    cr_assert_eq(released, 1);
    cr_assert_eq(hold_status(1, T0 + TTL), BO_HOLD_NONE);
    expect_counts(T0 + TTL, NSEATS, 0, 0, 0, 0);
    cr_assert_eq(bo_inv_ga_available(inv, PIT, T0 + TTL), 3);
}

Test(pay, failed_errors)
{
    cr_assert_eq(hold_seats(1, 0, LIST(0), T0, NULL), 0);
    cr_assert_eq(hold_seats(2, 0, LIST(1), T0, NULL), 0);
    cr_assert_eq(confirm(2, NULL, 0, T0), 0);
    last_version = bo_inv_version(inv);
    int released;
    cr_assert_eq(pay_failed(1, T0, &released), BO_ESTATE, "held");
    cr_assert_eq(released, 0);
    cr_assert_eq(pay_failed(2, T0, &released), BO_ESTATE, "sold");
    cr_assert_eq(released, 0);
    cr_assert_eq(pay_failed(9, T0, &released), BO_ENOTFOUND, "unknown");
    cr_assert_eq(released, 0);
    expect_same_version();
    cr_assert_eq(view(1, T0).pay_failures, 0);
    cr_assert_eq(pay_failed(1, T0 + TTL, &released), BO_ENOTFOUND, "expired");
}

/* ---- confirm ------------------------------------------------------------------------------------
 */

Test(confirm, paying_and_held_become_sold)
{
    bo_ga_line_t g = {PIT, 2};
    bo_hold_req_t r = req(1, 4);
    SEATS_OF(r, 0, 1);
    r.ga = &g;
    r.nga = 1;
    cr_assert_eq(hold_req(&r, T0, NULL), 0);
    cr_assert_eq(pay_start(1, T0 + 10, T0), 0);
    last_version = bo_inv_version(inv);
    cr_assert_eq(confirm(1, NULL, 0, T0 + 5), 0);
    expect_bumped();
    expect_state(LIST(0, 1), BO_SEAT_SOLD, T0 + 5);
    expect_counts(T0 + 5, 14, 0, 2, 0, 0);
    cr_assert_eq(bo_inv_ga_available(inv, PIT, T0 + 5), 1, "held -> sold keeps it taken");
    cr_assert_eq(bo_inv_ga_sold(inv, PIT), 2);
    bo_hold_view_t v = view(1, T0 + 5);
    cr_assert_eq(v.status, BO_HOLD_SOLD);
    cr_assert_eq(v.amount_cents, 2 * P_PREM + 2 * P_PREM);
    cr_assert_eq(v.customer, 4);
    bo_hold_id_t ids[2];
    cr_assert_eq(bo_inv_due_payments(inv, INT64_MAX, ids, 2), 0);
    cr_assert_eq(bo_inv_next_deadline(inv), INT64_MAX);

    cr_assert_eq(hold_seats(2, 0, LIST(6), T0, NULL), 0);
    cr_assert_eq(confirm(2, NULL, 0, T0 + 5), 0, "straight from HELD");
    expect_state(LIST(6), BO_SEAT_SOLD, T0 + 5);
    cr_assert_eq(hold_status(2, T0 + 5), BO_HOLD_SOLD);

    /* sold is for good: no expiry */
    expect_counts(T0 + 100 * TTL, 13, 0, 3, 0, 0);
    cr_assert_eq(hold_status(1, T0 + 100 * TTL), BO_HOLD_SOLD);
    cr_assert_eq(bo_inv_expire(inv, T0 + 100 * TTL), 0);
}

Test(confirm, a_paying_hold_past_expiry_is_sold_normally)
{
    cr_assert_eq(hold_seats(1, 0, LIST(3), T0, NULL), 0);
    cr_assert_eq(pay_start(1, T0 + 10, T0), 0);
    cr_assert_eq(confirm(1, NULL, 0, T0 + 2 * TTL), 0);
    bo_hold_view_t v = view(1, T0 + 2 * TTL);
    cr_assert_eq(v.status, BO_HOLD_SOLD);
    cr_assert_eq(v.created_ms, T0, "the same hold, not a late one");
    cr_assert_eq(v.amount_cents, P_PREM);
}

Test(confirm, estate_when_sold)
{
    cr_assert_eq(hold_seats(1, 0, LIST(3), T0, NULL), 0);
    cr_assert_eq(confirm(1, NULL, 0, T0), 0);
    last_version = bo_inv_version(inv);
    cr_assert_eq(confirm(1, LIST(3), T0), BO_ESTATE);
    cr_assert_eq(confirm(1, LIST(3), T0 + 2 * TTL), BO_ESTATE);
    expect_same_version();
    expect_counts(T0, 15, 0, 1, 0, 0);
}

Test(confirm, late_payment_retakes_free_seats)
{
    reopen(TTL, 1, 0);
    bo_ga_line_t g = {FLOOR, 2};
    bo_hold_req_t r = req(1, 0);
    SEATS_OF(r, 5, 4);
    r.ga = &g;
    r.nga = 1;
    cr_assert_eq(hold_req(&r, T0, NULL), 0);
    int64_t late = T0 + TTL + 5;
    cr_assert_eq(hold_status(1, T0 + TTL), BO_HOLD_NONE, "expired");
    cr_assert_eq(hold_seats(2, 7, LIST(0), T0 + TTL, NULL), 0, "customer 7 at the limit");
    last_version = bo_inv_version(inv);
    cr_assert_eq(confirm_ga(1, LIST(5, 4), &g, 1, 7, 4321, late), 0, "the limit does not apply");
    expect_bumped();
    expect_state(LIST(4, 5), BO_SEAT_SOLD, late);
    cr_assert_eq(bo_inv_ga_sold(inv, FLOOR), 2);
    cr_assert_eq(bo_inv_ga_available(inv, FLOOR, late), 98);
    bo_hold_view_t v = view(1, late);
    cr_assert_eq(v.status, BO_HOLD_SOLD);
    cr_assert_eq(v.customer, 7);
    cr_assert_eq(v.amount_cents, 4321, "the amount paid");
    cr_assert_eq(v.created_ms, late);
    cr_assert_eq(v.nseats, 2);
    cr_assert_eq(v.seats[0], 5);
    cr_assert_eq(v.seats[1], 4);
    cr_assert_eq(v.nga, 1);
    cr_assert_eq(v.ga[0].area, FLOOR);
    cr_assert_eq(v.ga[0].quantity, 2);
    expect_counts(late, 13, 1, 2, 0, 1);
    /* customer 7 now has 1 + 4 tickets */
    cr_assert_eq(release(2, late), 0);
    cr_assert_eq(hold_seats(3, 7, LIST(8), late, NULL), BO_ELIMIT, "the late sale counts");
    cr_assert_eq(cancel(1, late), 0, "a late sale can be cancelled");
    cr_assert_eq(bo_inv_ga_sold(inv, FLOOR), 0);
    expect_counts(late, NSEATS, 0, 0, 0, 0);
    cr_assert_eq(hold_seats(3, 7, LIST(8), late, NULL), 0);
}

Test(confirm, late_payment_after_release)
{
    cr_assert_eq(hold_seats(1, 0, LIST(2), T0, NULL), 0);
    cr_assert_eq(pay_start(1, T0 + 10, T0), 0);
    cr_assert_eq(release(1, T0 + 1), 0);
    cr_assert_eq(confirm_ga(1, LIST(2), NULL, 0, 0, P_PREM, T0 + 2), 0);
    expect_state(LIST(2), BO_SEAT_SOLD, T0 + 2);
    cr_assert_eq(hold_status(1, T0 + 2), BO_HOLD_SOLD);
}

Test(confirm, late_payment_for_a_taken_seat_changes_nothing)
{
    bo_ga_line_t g = {PIT, 2};
    bo_hold_req_t r = req(1, 0);
    SEATS_OF(r, 0, 1);
    r.ga = &g;
    r.nga = 1;
    cr_assert_eq(hold_req(&r, T0, NULL), 0);
    cr_assert_eq(release(1, T0), 0);
    cr_assert_eq(hold_seats(2, 0, LIST(1), T0, NULL), 0);
    last_version = bo_inv_version(inv);
    bo_jpos_t pos = bo_inv_journal_pos(inv);
    cr_assert_eq(confirm_ga(1, LIST(0, 1), &g, 1, 0, 100, T0 + 1), BO_EUNAVAILABLE);
    expect_same_version();
    cr_assert_eq(bo_inv_journal_pos(inv), pos);
    expect_state(LIST(0), BO_SEAT_AVAILABLE, T0 + 1);
    expect_counts(T0 + 1, 15, 1, 0, 0, 1);
    cr_assert_eq(bo_inv_ga_available(inv, PIT, T0 + 1), 3);
    cr_assert_eq(hold_status(1, T0 + 1), BO_HOLD_NONE);

    cr_assert_eq(hold_ga(3, 0, PIT, 2, T0 + 1), 0);
    bo_ga_line_t g1 = {PIT, 2};
    cr_assert_eq(confirm_ga(1, LIST(0), &g1, 1, 0, 100, T0 + 1), BO_EUNAVAILABLE, "GA short since");
    expect_state(LIST(0), BO_SEAT_AVAILABLE, T0 + 1);
    cr_assert_eq(bo_inv_ga_sold(inv, PIT), 0);
}

Test(confirm, late_payment_with_a_bad_description)
{
    last_version = bo_inv_version(inv);
    cr_assert_eq(confirm(1, NULL, 0, T0), BO_EINVAL, "nothing to take again");
    cr_assert_eq(confirm(1, LIST(3, 3), T0), BO_EINVAL, "repeated seat");
    cr_assert_eq(confirm(1, LIST(NSEATS), T0), BO_EINVAL, "seat out of range");
    cr_assert_eq(confirm_ga(1, NULL, 0, (const bo_ga_line_t[]){{5, 1}}, 1, 0, 0, T0), BO_EINVAL,
                 "GA area out of range");
    expect_same_version();
    expect_counts(T0, NSEATS, 0, 0, 0, 0);
}

/* ---- cancel
 * -------------------------------------------------------------------------------------- */

Test(cancel, a_sale_goes_back_on_sale)
{
    bo_ga_line_t g = {FLOOR, 4};
    bo_hold_req_t r = req(1, 0);
    SEATS_OF(r, 10, 11);
    r.ga = &g;
    r.nga = 1;
    cr_assert_eq(hold_req(&r, T0, NULL), 0);
    cr_assert_eq(confirm(1, NULL, 0, T0), 0);
    cr_assert_eq(bo_inv_ga_sold(inv, FLOOR), 4);
    last_version = bo_inv_version(inv);
    cr_assert_eq(cancel(1, T0 + 1), 0);
    expect_bumped();
    expect_state(LIST(10, 11), BO_SEAT_AVAILABLE, T0 + 1);
    expect_counts(T0 + 1, NSEATS, 0, 0, 0, 0);
    cr_assert_eq(bo_inv_ga_sold(inv, FLOOR), 0);
    cr_assert_eq(bo_inv_ga_available(inv, FLOOR, T0 + 1), 100);
    cr_assert_eq(hold_status(1, T0 + 1), BO_HOLD_NONE);
    cr_assert_eq(hold_seats(2, 0, LIST(10, 11), T0 + 1, NULL), 0);
}

Test(cancel, errors)
{
    cr_assert_eq(hold_seats(1, 0, LIST(0), T0, NULL), 0);
    cr_assert_eq(hold_seats(2, 0, LIST(1), T0, NULL), 0);
    cr_assert_eq(pay_start(2, T0 + 10, T0), 0);
    cr_assert_eq(hold_seats(3, 0, LIST(2), T0, NULL), 0);
    cr_assert_eq(confirm(3, NULL, 0, T0), 0);
    last_version = bo_inv_version(inv);
    cr_assert_eq(cancel(9, T0), BO_ENOTFOUND, "unknown");
    cr_assert_eq(cancel(1, T0), BO_ESTATE, "held");
    cr_assert_eq(cancel(2, T0), BO_ESTATE, "paying");
    expect_same_version();
    expect_counts(T0, 13, 2, 1, 0, 2);
    cr_assert_eq(cancel(3, T0), 0);
    last_version = bo_inv_version(inv);
    cr_assert_eq(cancel(3, T0), BO_ENOTFOUND, "cancelled twice");
    expect_same_version();
    cr_assert_eq(cancel(1, T0 + TTL), BO_ENOTFOUND, "expired");
}

/* ---- block and unblock
 * --------------------------------------------------------------------------- */

Test(block, block_and_unblock)
{
    bo_hold_res_t res;
    last_version = bo_inv_version(inv);
    cr_assert_eq(block(LIST(3, 12, 0), T0, &res), 0);
    expect_bumped();
    cr_assert_eq(res.nunavailable, 0);
    expect_state(LIST(0, 3, 12), BO_SEAT_BLOCKED, T0);
    expect_counts(T0, 13, 0, 0, 3, 0);
    cr_assert_eq(bo_inv_category_available(inv, PREM, T0), 4);
    cr_assert_eq(hold_seats(1, 0, LIST(3), T0, &res), BO_EUNAVAILABLE);
    cr_assert_eq(res.unavailable[0], 3);
    cr_assert_eq(hold_best(1, 0, 2, PREM, BO_NONE, T0, &res), 0);
    cr_assert_eq(res.seats[0], 1, "best passes over blocked A1 and A4");
    cr_assert_eq(res.seats[1], 2);
    cr_assert_eq(release(1, T0), 0);

    cr_assert_eq(unblock(LIST(12, 3), T0, NULL), 0);
    expect_bumped();
    expect_state(LIST(3, 12), BO_SEAT_AVAILABLE, T0);
    expect_state(LIST(0), BO_SEAT_BLOCKED, T0);
    expect_counts(T0, 15, 0, 0, 1, 0);
    /* blocks do not expire */
    expect_counts(T0 + 100 * TTL, 15, 0, 0, 1, 0);
    cr_assert_eq(hold_seats(2, 0, LIST(3, 12), T0, NULL), 0);
}

Test(block, all_or_nothing_with_the_unavailable_seats)
{
    cr_assert_eq(hold_seats(1, 0, LIST(5), T0, NULL), 0);
    cr_assert_eq(hold_seats(2, 0, LIST(7), T0, NULL), 0);
    cr_assert_eq(confirm(2, NULL, 0, T0), 0);
    cr_assert_eq(block(LIST(9), T0, NULL), 0);
    last_version = bo_inv_version(inv);
    bo_hold_res_t res;
    cr_assert_eq(block(LIST(0, 9, 7, 1, 5), T0, &res), BO_EUNAVAILABLE);
    cr_assert_eq(res.nunavailable, 3);
    cr_assert_eq(res.unavailable[0], 9, "already blocked");
    cr_assert_eq(res.unavailable[1], 7, "sold");
    cr_assert_eq(res.unavailable[2], 5, "held");
    expect_state(LIST(0, 1), BO_SEAT_AVAILABLE, T0);
    expect_counts(T0, 13, 1, 1, 1, 1);
    cr_assert_eq(block(LIST(0, 5), T0, NULL), BO_EUNAVAILABLE, "res may be NULL");
    expect_state(LIST(0), BO_SEAT_AVAILABLE, T0);

    cr_assert_eq(unblock(LIST(9, 0, 5, 7), T0, &res), BO_EUNAVAILABLE);
    cr_assert_eq(res.nunavailable, 3);
    cr_assert_eq(res.unavailable[0], 0, "available");
    cr_assert_eq(res.unavailable[1], 5, "held");
    cr_assert_eq(res.unavailable[2], 7, "sold");
    expect_state(LIST(9), BO_SEAT_BLOCKED, T0);
    cr_assert_eq(unblock(LIST(9, 0), T0, NULL), BO_EUNAVAILABLE);
    expect_same_version();
    expect_counts(T0, 13, 1, 1, 1, 1);
}

Test(block, einval_for_empty_repeated_or_out_of_range)
{
    last_version = bo_inv_version(inv);
    bo_hold_res_t res;
    cr_assert_eq(block(NULL, 0, T0, &res), BO_EINVAL, "empty");
    cr_assert_eq(block(LIST(1, 2, 1), T0, &res), BO_EINVAL, "repeated");
    cr_assert_eq(block(LIST(1, NSEATS), T0, &res), BO_EINVAL, "out of range");
    cr_assert_eq(unblock(NULL, 0, T0, &res), BO_EINVAL);
    cr_assert_eq(unblock(LIST(1, 1), T0, &res), BO_EINVAL);
    cr_assert_eq(unblock(LIST(UINT32_MAX), T0, &res), BO_EINVAL);
    expect_same_version();
    expect_counts(T0, NSEATS, 0, 0, 0, 0);
}

Test(block, the_whole_venue_at_once)
{
    uint32_t all[NSEATS];
    for (uint32_t s = 0; s < NSEATS; s++)
        all[s] = NSEATS - 1 - s;
    cr_assert_eq(block(all, NSEATS, T0, NULL), 0);
    expect_counts(T0, 0, 0, 0, NSEATS, 0);
    bo_hold_res_t res;
    cr_assert_eq(hold_best(1, 0, 1, BO_NONE, BO_NONE, T0, &res), BO_ENOSEATS);
    cr_assert_eq(unblock(all, NSEATS, T0, NULL), 0);
    expect_counts(T0, NSEATS, 0, 0, 0, 0);
}

/* ---- version ----------------------------------------------------------------------------------
 */

Test(version, rises_on_every_mutation_only)
{
    int released;
#define STEP(call)                                                                                 \
    do {                                                                                           \
        int rc_ = (call);                                                                          \
        cr_assert_eq(rc_, 0, "%s: %d", #call, rc_);                                                \
        expect_bumped();                                                                           \
    } while (0)
    STEP(hold_seats(1, 0, LIST(0), T0, NULL));
    STEP(hold_ga(2, 0, FLOOR, 1, T0));
    STEP(pay_start(1, T0 + 10, T0));
    STEP(pay_failed(1, T0 + 1, &released));
    STEP(pay_start(1, T0 + 10, T0 + 2));
    STEP(confirm(1, NULL, 0, T0 + 3));
    STEP(cancel(1, T0 + 4));
    STEP(release(2, T0 + 5));
    STEP(block(LIST(4), T0 + 6, NULL));
    STEP(unblock(LIST(4), T0 + 7, NULL));
    STEP(hold_best(3, 0, 2, BO_NONE, BO_NONE, T0 + 8, NULL));
    STEP(confirm(9, LIST(15), T0 + 9));
    cr_assert_eq(bo_inv_expire(inv, T0 + 8 + TTL), 1);
    expect_bumped();
    bo_inv_rollback(inv, bo_inv_journal_pos(inv));
    expect_bumped();
#undef STEP

    /* reads and failed calls leave it */
    int64_t t = T0 + 9 + TTL;
    bo_inv_counts_t c;
    uint8_t st[NSEATS];
    bo_hold_view_t v;
    bo_hold_id_t h = hid(9), ids[2];
    bo_inv_counts(inv, t, &c);
    bo_inv_snapshot(inv, t, st);
    bo_inv_get_hold(inv, &h, t, &v);
    bo_inv_seat_state(inv, 15, t);
    bo_inv_category_available(inv, STD, t);
    bo_inv_ga_available(inv, FLOOR, t);
    bo_inv_due_payments(inv, t, ids, 2);
    bo_inv_next_deadline(inv);
    bo_inv_memory(inv);
    cr_assert_eq(bo_inv_expire(inv, t), 0);
    cr_assert_eq(hold_seats(4, 0, LIST(15), t, NULL), BO_EUNAVAILABLE);
    cr_assert_eq(hold_seats(9, 0, LIST(14), t, NULL), BO_EEXIST);
    cr_assert_eq(release(9, t), BO_ESTATE);
    cr_assert_eq(pay_start(9, t + 1, t), BO_ESTATE);
    cr_assert_eq(pay_failed(9, t, &released), BO_ESTATE);
    cr_assert_eq(confirm(9, LIST(15), t), BO_ESTATE);
    cr_assert_eq(cancel(5, t), BO_ENOTFOUND);
    cr_assert_eq(block(LIST(15), t, NULL), BO_EUNAVAILABLE);
    cr_assert_eq(unblock(LIST(14), t, NULL), BO_EUNAVAILABLE);
    expect_same_version();
    cr_assert_eq(c.version, last_version);
}

/* ---- journal
 * -------------------------------------------------------------------------------------- */

Test(journal, rollback_restores_the_exact_state)
{
    reopen(TTL, 10, 0);
    int released;
    bo_hold_req_t r;
    bo_ga_line_t g3 = {FLOOR, 3}, gp = {PIT, 2};
    /* the state at pos: holds 1 (7, HELD), 2 (7, PAYING), 3 (8, HELD until T0 + 1000),
     * 4 (9, SOLD), 10 (0, HELD with one failure), C4 blocked, floor 1 sold */
    cr_assert_eq(hold_seats(1, 7, LIST(0, 1), T0, NULL), 0);
    r = req(2, 7);
    SEATS_OF(r, 6);
    r.ga = &g3;
    r.nga = 1;
    cr_assert_eq(hold_req(&r, T0, NULL), 0);
    r = req(3, 8);
    SEATS_OF(r, 12, 13);
    r.expires_at_ms = T0 + 1000;
    cr_assert_eq(hold_req(&r, T0, NULL), 0);
    cr_assert_eq(pay_start(2, T0 + 5000, T0), 0);
    cr_assert_eq(block(LIST(15), T0, NULL), 0);
    cr_assert_eq(hold_seats(4, 9, LIST(10), T0, NULL), 0);
    cr_assert_eq(confirm(4, NULL, 0, T0), 0);
    cr_assert_eq(hold_ga(5, 0, FLOOR, 1, T0), 0);
    cr_assert_eq(confirm(5, NULL, 0, T0), 0);
    cr_assert_eq(hold_seats(10, 0, LIST(11), T0, NULL), 0);
    cr_assert_eq(pay_start(10, T0 + 50, T0), 0);
    cr_assert_eq(pay_failed(10, T0 + 1, &released), 0);

    int64_t t = T0 + 100;
    state_t before, after;
    capture(&before, t);
    bo_jpos_t pos = bo_inv_journal_pos(inv);
    last_version = bo_inv_version(inv);

    cr_assert_eq(release(1, t), 0);
    r = req(6, 7);
    SEATS_OF(r, 0, 2, 3);
    r.ga = &gp;
    r.nga = 1;
    cr_assert_eq(hold_req(&r, t, NULL), 0);
    cr_assert_eq(pay_failed(2, t, &released), 0);
    cr_assert_eq(bo_inv_expire(inv, T0 + 1000), 1, "hold 3 swept");
    cr_assert_eq(confirm(6, NULL, 0, T0 + 1000), 0);
    cr_assert_eq(cancel(4, T0 + 1000), 0);
    cr_assert_eq(cancel(5, T0 + 1000), 0);
    cr_assert_eq(block(LIST(4, 5), T0 + 1000, NULL), 0);
    cr_assert_eq(unblock(LIST(15), T0 + 1000, NULL), 0);
    cr_assert_eq(pay_start(2, T0 + 2000, T0 + 1000), 0);
    cr_assert_eq(confirm(2, NULL, 0, T0 + 1001), 0);
    cr_assert_eq(confirm_ga(3, LIST(12, 13), NULL, 0, 8, 6000, T0 + 1002), 0, "late");
    cr_assert_eq(hold_best(7, 9, 2, STD, BO_NONE, T0 + 1003, NULL), 0);
    cr_assert_eq(hold_seats(1, 8, LIST(14), T0 + 1004, NULL), 0, "id 1 reused");
    cr_assert_eq(release(10, T0 + 1005), 0);
    for (uint32_t i = 11; i <= MAXIDS; i++)
        cr_assert_eq(hold_ga(i, 0, FLOOR, 1, T0 + 1006), 0, "hold %u", i);
    last_version = bo_inv_version(inv);

    bo_inv_rollback(inv, pos);
    expect_bumped();
    cr_assert_eq(bo_inv_journal_pos(inv), pos);
    check_consistent(t);
    capture(&after, t);
    expect_same(&before, &after);

    /* the expiry heap: hold 3 still expires at T0 + 1000, hold 1 at T0 + TTL */
    cr_assert_eq(bo_inv_next_deadline(inv), T0 + 1000);
    expect_state(LIST(12, 13), BO_SEAT_HELD, T0 + 999);
    expect_state(LIST(12, 13), BO_SEAT_AVAILABLE, T0 + 1000);
    cr_assert_eq(bo_inv_expire(inv, T0 + 1000), 1);
    cr_assert_eq(hold_status(1, T0 + 1000), BO_HOLD_HELD);
    /* the id hash: live ids exist, later ones are gone */
    cr_assert_eq(hold_seats(1, 0, LIST(3), T0 + 1000, NULL), BO_EEXIST);
    cr_assert_eq(hold_seats(4, 0, LIST(3), T0 + 1000, NULL), BO_EEXIST);
    cr_assert_eq(hold_seats(6, 0, LIST(3), T0 + 1000, NULL), 0);
    cr_assert_eq(hold_seats(7, 0, LIST(4), T0 + 1000, NULL), 0);
    /* the customer counts: 7 has 6, 9 has 1 (limit 10) */
    cr_assert_eq(hold_ga(20, 7, FLOOR, 5, T0 + 1000), BO_ELIMIT);
    cr_assert_eq(hold_ga(20, 7, FLOOR, 4, T0 + 1000), 0);
    cr_assert_eq(hold_ga(21, 9, FLOOR, 10, T0 + 1000), BO_ELIMIT);
    cr_assert_eq(hold_ga(21, 9, FLOOR, 9, T0 + 1000), 0);
    /* hold 10 kept its failure count */
    cr_assert_eq(pay_start(10, T0 + 2000, T0 + 1000), 0);
    cr_assert_eq(pay_failed(10, T0 + 1000, &released), 0);
    cr_assert_eq(released, 0);
    cr_assert_eq(pay_start(10, T0 + 2000, T0 + 1000), 0);
    cr_assert_eq(pay_failed(10, T0 + 1000, &released), 0);
    cr_assert_eq(released, 1, "failures 1 (kept) + 2");
}

Test(journal, rollback_of_a_sweep_brings_the_hold_back_due)
{
    cr_assert_eq(hold_seats(1, 0, LIST(0), T0, NULL), 0);
    state_t before, after;
    capture(&before, T0);
    bo_jpos_t pos = bo_inv_journal_pos(inv);
    cr_assert_eq(bo_inv_expire(inv, T0 + TTL), 1);
    cr_assert_eq(hold_seats(2, 0, LIST(0), T0 + TTL, NULL), 0);
    bo_inv_rollback(inv, pos);
    capture(&after, T0);
    expect_same(&before, &after);
    cr_assert_eq(hold_status(1, T0 + TTL - 1), BO_HOLD_HELD);
    cr_assert_eq(hold_status(1, T0 + TTL), BO_HOLD_NONE, "expired again for reads");
    cr_assert_eq(bo_inv_expire(inv, T0 + TTL), 1, "and for the sweeper");
    check_consistent(T0 + TTL);
}

Test(journal, nested_positions)
{
    state_t s0, s1, now;
    capture(&s0, T0);
    bo_jpos_t p0 = bo_inv_journal_pos(inv);
    cr_assert_eq(hold_seats(1, 0, LIST(0, 1), T0, NULL), 0);
    cr_assert_eq(hold_ga(2, 0, PIT, 3, T0), 0);
    capture(&s1, T0);
    bo_jpos_t p1 = bo_inv_journal_pos(inv);
    cr_assert_gt(p1, p0);
    cr_assert_eq(confirm(1, NULL, 0, T0), 0);
    cr_assert_eq(release(2, T0), 0);
    cr_assert_eq(hold_seats(3, 0, LIST(2), T0, NULL), 0);
    bo_inv_rollback(inv, p1);
    capture(&now, T0);
    expect_same(&s1, &now);
    bo_inv_rollback(inv, p0);
    capture(&now, T0);
    expect_same(&s0, &now);
    cr_assert_eq(bo_inv_journal_pos(inv), p0);
    /* and the inventory works on from there */
    cr_assert_eq(hold_seats(1, 0, LIST(0, 1), T0, NULL), 0);
    cr_assert_eq(hold_ga(3, 0, PIT, 3, T0), 0);
    expect_counts(T0, 14, 2, 0, 0, 2);
}

Test(journal, rollback_to_now_changes_nothing_but_the_version)
{
    cr_assert_eq(hold_seats(1, 0, LIST(0), T0, NULL), 0);
    state_t a, b;
    capture(&a, T0);
    last_version = bo_inv_version(inv);
    bo_inv_rollback(inv, bo_inv_journal_pos(inv));
    expect_bumped();
    capture(&b, T0);
    expect_same(&a, &b);
}

Test(journal, rollback_keeps_slots_and_the_hold_limit_straight)
{
    reopen(TTL, 0, 2);
    cr_assert_eq(hold_seats(1, 0, LIST(0), T0, NULL), 0);
    bo_jpos_t pos = bo_inv_journal_pos(inv);
    cr_assert_eq(hold_seats(2, 0, LIST(1), T0, NULL), 0);
    cr_assert_eq(release(1, T0), 0);
    cr_assert_eq(hold_seats(3, 0, LIST(2), T0, NULL), 0);
    bo_inv_rollback(inv, pos);
    expect_counts(T0, 15, 1, 0, 0, 1);
    cr_assert_eq(hold_status(1, T0), BO_HOLD_HELD);
    cr_assert_eq(hold_seats(4, 0, LIST(3), T0, NULL), 0);
    cr_assert_eq(hold_seats(5, 0, LIST(4), T0, NULL), BO_EFULL);
    cr_assert_eq(release(1, T0), 0);
    cr_assert_eq(release(4, T0), 0);
    cr_assert_eq(hold_seats(6, 0, LIST(5), T0, NULL), 0);
    cr_assert_eq(hold_seats(7, 0, LIST(6), T0, NULL), 0);
    expect_counts(T0, 14, 2, 0, 0, 2);
}

Test(journal, forgotten_changes_cannot_be_undone)
{
    bo_jpos_t p0 = bo_inv_journal_pos(inv);
    cr_assert_eq(hold_seats(1, 0, LIST(0), T0, NULL), 0);
    cr_assert_eq(release(1, T0), 0);
    cr_assert_eq(hold_seats(2, 0, LIST(1), T0, NULL), 0);
    bo_jpos_t p1 = bo_inv_journal_pos(inv);
    state_t s1, now;
    capture(&s1, T0);
    cr_assert_eq(hold_seats(3, 0, LIST(2), T0, NULL), 0);
    cr_assert_eq(release(2, T0), 0);
    bo_jpos_t p2 = bo_inv_journal_pos(inv);
    cr_assert_gt(p2, p1);
    bo_inv_forget(inv, p1);
    cr_assert_eq(bo_inv_journal_pos(inv), p2, "forget does not move positions");
    last_version = bo_inv_version(inv);
    bo_inv_rollback(inv, p0);
    expect_bumped();
    capture(&now, T0);
    expect_same(&s1, &now);
    cr_assert_eq(hold_status(2, T0), BO_HOLD_HELD, "the forgotten hold stays");
    cr_assert_eq(hold_status(3, T0), BO_HOLD_NONE, "the later one is undone");
    cr_assert_eq(bo_inv_journal_pos(inv), p1);

    bo_inv_forget(inv, bo_inv_journal_pos(inv));
    bo_inv_rollback(inv, p0);
    capture(&now, T0);
    expect_same(&s1, &now);
    cr_assert_eq(release(2, T0), 0);
    expect_counts(T0, NSEATS, 0, 0, 0, 0);
}

Test(journal, forget_in_steps)
{
    bo_jpos_t p0 = bo_inv_journal_pos(inv);
    cr_assert_eq(hold_seats(1, 0, LIST(0), T0, NULL), 0);
    bo_jpos_t p1 = bo_inv_journal_pos(inv);
    cr_assert_eq(hold_seats(2, 0, LIST(1), T0, NULL), 0);
    cr_assert_eq(pay_start(2, T0 + 10, T0), 0);
    bo_jpos_t p2 = bo_inv_journal_pos(inv);
    cr_assert_eq(confirm(2, NULL, 0, T0), 0);
    cr_assert_eq(release(1, T0), 0);
    bo_inv_forget(inv, p1);
    bo_inv_forget(inv, p0); /* already forgotten: no effect */
    bo_inv_rollback(inv, p2);
    expect_counts(T0, 14, 2, 0, 0, 2);
    cr_assert_eq(hold_status(2, T0), BO_HOLD_PAYING);
    bo_inv_rollback(inv, p0);
    expect_counts(T0, 15, 1, 0, 0, 1);
    cr_assert_eq(hold_status(1, T0), BO_HOLD_HELD);
    cr_assert_eq(hold_status(2, T0), BO_HOLD_NONE);
}

Test(journal, rollback_after_forgetting_earlier_hold_changes)
{
    bo_jpos_t p0 = bo_inv_journal_pos(inv);
    int released;
    cr_assert_eq(hold_seats(1, 0, LIST(0), T0, NULL), 0);
    cr_assert_eq(pay_start(1, T0 + 100, T0), 0);
    cr_assert_eq(pay_failed(1, T0 + 1, &released), 0);
    cr_assert_eq(hold_seats(2, 0, LIST(1), T0 + 1, NULL), 0);
    bo_jpos_t p1 = bo_inv_journal_pos(inv);
    state_t s1, now;
    capture(&s1, T0 + 2);
    cr_assert_eq(pay_start(1, T0 + 200, T0 + 2), 0);
    cr_assert_eq(pay_start(2, T0 + 300, T0 + 2), 0);
    cr_assert_eq(confirm(2, NULL, 0, T0 + 3), 0);
    cr_assert_eq(pay_failed(1, T0 + 4, &released), 0);
    cr_assert_eq(release(1, T0 + 5), 0);
    bo_inv_forget(inv, p1);
    bo_inv_rollback(inv, p1);
    capture(&now, T0 + 2);
    expect_same(&s1, &now);
    bo_inv_rollback(inv, p0);
    capture(&now, T0 + 2);
    expect_same(&s1, &now);
    cr_assert_eq(view(1, T0 + 2).pay_failures, 1);
    cr_assert_eq(hold_status(2, T0 + 2), BO_HOLD_HELD);
}

Test(journal, failed_calls_journal_nothing)
{
    cr_assert_eq(hold_seats(1, 0, LIST(0), T0, NULL), 0);
    cr_assert_eq(hold_seats(2, 0, LIST(1), T0, NULL), 0);
    cr_assert_eq(confirm(2, NULL, 0, T0), 0);
    bo_jpos_t pos = bo_inv_journal_pos(inv);
    int released;
    cr_assert_eq(hold_seats(3, 0, LIST(0), T0, NULL), BO_EUNAVAILABLE);
    cr_assert_eq(release(2, T0), BO_ESTATE);
    cr_assert_eq(pay_failed(1, T0, &released), BO_ESTATE);
    cr_assert_eq(cancel(1, T0), BO_ESTATE);
    cr_assert_eq(block(LIST(0), T0, NULL), BO_EUNAVAILABLE);
    cr_assert_eq(confirm(3, LIST(1), T0), BO_EUNAVAILABLE);
    cr_assert_eq(bo_inv_journal_pos(inv), pos);
}

Test(journal, journaling_off)
{
    cr_assert_eq(hold_seats(1, 0, LIST(0), T0, NULL), 0);
    bo_jpos_t pos = bo_inv_journal_pos(inv);
    bo_inv_set_journal(inv, 0);
    cr_assert_eq(hold_seats(2, 0, LIST(1), T0, NULL), 0);
    cr_assert_eq(release(1, T0), 0);
    cr_assert_eq(hold_ga(3, 0, PIT, 1, T0), 0);
    cr_assert_eq(confirm(3, NULL, 0, T0), 0);
    cr_assert_eq(bo_inv_journal_pos(inv), pos, "nothing journaled");
    state_t a, b;
    capture(&a, T0);
    last_version = bo_inv_version(inv);
    bo_inv_rollback(inv, 0);
    expect_bumped();
    capture(&b, T0);
    expect_same(&a, &b);

    /* on again: journaling resumes from here; what happened while off stays */
    bo_inv_set_journal(inv, 1);
    bo_jpos_t p1 = bo_inv_journal_pos(inv);
    cr_assert_eq(hold_seats(4, 0, LIST(2), T0, NULL), 0);
    cr_assert_gt(bo_inv_journal_pos(inv), p1);
    bo_inv_rollback(inv, pos);
    capture(&b, T0);
    expect_same(&a, &b);
    cr_assert_eq(hold_status(4, T0), BO_HOLD_NONE);
}

Test(journal, turning_it_off_drops_the_journal)
{
    bo_jpos_t p0 = bo_inv_journal_pos(inv);
    cr_assert_eq(hold_seats(1, 0, LIST(0), T0, NULL), 0);
    cr_assert_eq(release(1, T0), 0);
    cr_assert_eq(hold_seats(2, 0, LIST(0), T0, NULL), 0);
    bo_inv_set_journal(inv, 0);
    bo_inv_set_journal(inv, 1);
    bo_inv_rollback(inv, p0);
    cr_assert_eq(hold_status(2, T0), BO_HOLD_HELD);
    expect_counts(T0, 15, 1, 0, 0, 1);
}

/* Hold i of rollback_across_table_growth: customer 1000 + i, seat i - 1
 * for i <= 150, else one ticket of GA area i % 9. */
static int hold_one(bo_inv_t *x, uint32_t i, int64_t now)
{
    uint32_t seat = i - 1;
    bo_ga_line_t g = {i % 9, 1};
    bo_hold_req_t r = req(i, 1000 + i);
    r.seats = i <= 150 ? &seat : NULL;
    r.nseats = i <= 150;
    r.ga = &g;
    r.nga = i > 150;
    bo_hold_res_t res;
    return bo_inv_hold(x, &r, now, &res);
}

Test(journal, rollback_across_table_growth)
{
    /* 300 live holds of 300 customers after pos: the slot table, the id
     * hash, the customer table and the heaps all grow inside the journaled
     * stretch */
    bo_layout_t *l = big_venue();
    bo_inv_config_t c = config(TTL, 1, 0);
    bo_inv_t *x;
    cr_assert_eq(bo_inv_new(l, &c, &x), 0);
    bo_hold_res_t res;
    bo_hold_req_t r = req(1, 1000);
    SEATS_OF(r, 0);
    cr_assert_eq(bo_inv_hold(x, &r, T0, &res), 0);
    bo_jpos_t pos = bo_inv_journal_pos(x);
    for (uint32_t i = 2; i <= 300; i++)
        cr_assert_eq(hold_one(x, i, T0 + i), 0, "hold %u", i);
    bo_hold_id_t one = hid(1);
    cr_assert_eq(bo_inv_release(x, &one, T0 + 400), 0);
    bo_inv_rollback(x, pos);

    bo_inv_counts_t cnt;
    bo_inv_counts(x, T0 + 400, &cnt);
    cr_assert_eq(cnt.held, 1);
    cr_assert_eq(cnt.available, 149);
    cr_assert_eq(cnt.live_holds, 1);
    for (uint32_t a = 0; a < 9; a++)
        cr_assert_eq(bo_inv_ga_available(x, a, T0 + 400), 1000, "area %u", a);
    bo_hold_view_t v;
    cr_assert_eq(bo_inv_get_hold(x, &one, T0 + 400, &v), 0);
    cr_assert_eq(v.seats[0], 0);
    for (uint32_t i = 2; i <= 300; i++) {
        bo_hold_id_t h = hid(i);
        cr_assert_eq(bo_inv_get_hold(x, &h, T0 + 400, &v), BO_ENOTFOUND, "hold %u", i);
    }
    cr_assert_eq(bo_inv_next_deadline(x), T0 + TTL);
    /* customer 1000 still at its limit of 1, the others at 0 */
    r = req(2, 1000);
    SEATS_OF(r, 1);
    cr_assert_eq(bo_inv_hold(x, &r, T0 + 400, &res), BO_ELIMIT);
    for (uint32_t i = 2; i <= 300; i++)
        cr_assert_eq(hold_one(x, i, T0 + 400), 0, "hold %u again", i);
    cr_assert_eq(bo_inv_expire(x, T0 + 400 + TTL), 300);
    bo_inv_counts(x, T0 + 400 + TTL, &cnt);
    cr_assert_eq(cnt.available, 150);
    cr_assert_eq(cnt.live_holds, 0);
    bo_inv_free(x);
    bo_layout_free(l);
}
