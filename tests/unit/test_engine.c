/*
 * test_engine.c - the in-memory inventory (engine.h, src/engine/inventory.c,
 * inv_read.c): creating it, holding seats and GA (explicit, best available,
 * mixed), every error code bo_inv_hold can return (EINVAL for each
 * malformed request, EEXIST, ELIMIT, EFULL, EUNAVAILABLE, ENOSEATS) in its
 * documented order, and expiry driven by the now_ms argument alone.
 * test_engine_sale.c covers the life of a hold after it is made,
 * test_journal.c the undo journal; helpers/inv_fixture.h the shared hall.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "boxoffice/engine.h"
#include "boxoffice/error.h"
#include "boxoffice/layout.h"
#include "engine/codec.h"
#include "helpers/inv_fixture.h"

TestSuite(inv, .init = setup, .fini = teardown);
TestSuite(hold, .init = setup, .fini = teardown);
TestSuite(einval, .init = setup, .fini = teardown);
TestSuite(limits, .init = setup, .fini = teardown);
TestSuite(best, .init = setup, .fini = teardown);
TestSuite(expiry, .init = setup, .fini = teardown);

/* ---- life cycle and config ------------------------------------------------------------------- */

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

/* ---- holds ----------------------------------------------------------------------------------- */

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

/* ---- BO_EINVAL: each malformed request of engine.h's list ------------------------------------ */

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

/* ---- BO_EEXIST and id reuse ------------------------------------------------------------------ */

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

/* ---- BO_ELIMIT ------------------------------------------------------------------------------- */

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

Test(limits, a_lowered_slot_limit_holds)
{
    reopen(TTL, 0, 0);
    cr_assert_eq(hold_seats(1, 0, LIST(0), T0, NULL), 0);
    cr_assert_eq(hold_seats(2, 0, LIST(1), T0, NULL), 0);
    bo_inv_config_t cfg = config(TTL, 0, 2);
    cr_assert_eq(bo_inv_set_config(inv, &cfg), 0);
    cr_assert_eq(hold_seats(3, 0, LIST(2), T0, NULL), BO_EFULL,
                 "free slots exist, the limit rules");
    cr_assert_eq(release(1, T0), 0);
    cr_assert_eq(hold_seats(3, 0, LIST(2), T0, NULL), 0);
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

/* ---- best available through bo_inv_hold ------------------------------------------------------ */

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

/* ---- expiry through the clock argument ------------------------------------------------------- */

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

/* ---- the caps per client address (seats_per_address, holds_per_address) ---- */

TestSuite(caps, .init = setup, .fini = teardown);

#define CLIENT 0xc1u /* a client key */
#define OTHER  0xc2u

/* A hold of client under caps of max_tickets seats and max_holds holds. */
static int cap_hold(uint32_t id, uint64_t client, const uint32_t *seats, uint32_t n,
                    uint32_t ga_qty, uint32_t max_tickets, uint32_t max_holds, bo_hold_res_t *res)
{
    bo_ga_line_t g = {FLOOR, ga_qty};
    bo_hold_req_t r = req(id, 0);
    r.client = client;
    r.max_client_tickets = max_tickets;
    r.max_client_holds = max_holds;
    r.seats = n ? seats : NULL;
    r.nseats = n;
    r.ga = ga_qty ? &g : NULL;
    r.nga = ga_qty ? 1 : 0;
    return hold_req(&r, T0, res);
}

static void expect_client(uint64_t client, int64_t now, uint32_t tickets, uint32_t holds)
{
    uint32_t t, h;
    bo_inv_client_counts(inv, client, now, &t, &h);
    cr_assert_eq(t, tickets, "client %llx: %u seats, expected %u", (unsigned long long)client, t,
                 tickets);
    cr_assert_eq(h, holds, "client %llx: %u holds, expected %u", (unsigned long long)client, h,
                 holds);
}

Test(caps, seats_per_client_up_to_the_cap_then_ecap)
{
    bo_hold_res_t res;
    cr_assert_eq(cap_hold(1, CLIENT, LIST(0, 1), 0, 4, 0, &res), 0);
    cr_assert_eq(cap_hold(2, CLIENT, NULL, 0, 2, 4, 0, &res), 0, "exactly at the cap");
    expect_client(CLIENT, T0, 4, 2);
    last_version = bo_inv_version(inv);
    cr_assert_eq(cap_hold(3, CLIENT, LIST(2), 0, 4, 0, &res), BO_ECAP, "the 5th seat");
    cr_assert_eq(res.cap, BO_CAP_SEATS);
    cr_assert_eq(cap_hold(3, CLIENT, NULL, 0, 1, 4, 0, &res), BO_ECAP, "a GA ticket counts too");
    cr_assert_eq(hold_best(3, 0, 1, BO_NONE, BO_NONE, T0, NULL), 0, "without a client: no cap");
    cr_assert_eq(release(3, T0), 0);
    last_version = bo_inv_version(inv);
    bo_hold_req_t r = req(3, 0);
    r.client = CLIENT;
    r.max_client_tickets = 4;
    r.best_quantity = 1;
    cr_assert_eq(hold_req(&r, T0, &res), BO_ECAP, "best available counts its quantity");
    expect_same_version();
    expect_state(LIST(2), BO_SEAT_AVAILABLE, T0);
    cr_assert_eq(hold_status(3, T0), BO_HOLD_NONE);
    expect_client(CLIENT, T0, 4, 2);
    cr_assert_eq(cap_hold(3, OTHER, LIST(2, 3, 4, 5), 0, 4, 0, &res), 0, "another client");
    cr_assert_eq(cap_hold(4, CLIENT, LIST(6), 0, 0, 0, &res), 0, "a cap of 0 is none");
    cr_assert_eq(cap_hold(5, CLIENT, LIST(7, 8, 9, 10, 11), 0, 4, 0, &res), BO_ECAP,
                 "one request past the cap");
}

Test(caps, holds_per_client_up_to_the_cap_then_ecap)
{
    bo_hold_res_t res;
    cr_assert_eq(cap_hold(1, CLIENT, LIST(0), 0, 0, 2, &res), 0);
    cr_assert_eq(cap_hold(2, CLIENT, LIST(1), 0, 0, 2, &res), 0, "exactly at the cap");
    last_version = bo_inv_version(inv);
    cr_assert_eq(cap_hold(3, CLIENT, LIST(2), 0, 0, 2, &res), BO_ECAP, "the 3rd hold");
    cr_assert_eq(res.cap, BO_CAP_HOLDS);
    expect_same_version();
    cr_assert_eq(cap_hold(3, CLIENT, LIST(2), 0, 2, 2, &res), BO_ECAP);
    cr_assert_eq(res.cap, BO_CAP_SEATS, "the seat cap is checked first");
    cr_assert_eq(cap_hold(3, OTHER, LIST(2), 0, 0, 2, &res), 0, "another client");
    expect_client(CLIENT, T0, 2, 2);
    expect_client(OTHER, T0, 1, 1);
}

Test(caps, release_expiry_failure_and_sale_give_back_paying_keeps)
{
    bo_hold_res_t res;
    int released;
    cr_assert_eq(cap_hold(1, CLIENT, LIST(0, 1), 0, 0, 0, &res), 0);
    cr_assert_eq(cap_hold(2, CLIENT, LIST(2), 0, 0, 0, &res), 0);
    cr_assert_eq(cap_hold(3, CLIENT, LIST(3), 0, 0, 0, &res), 0);
    expect_client(CLIENT, T0, 4, 3);
    cr_assert_eq(release(1, T0), 0);
    expect_client(CLIENT, T0, 2, 2);
    cr_assert_eq(pay_start(2, T0 + 2 * TTL, T0), 0);
    expect_client(CLIENT, T0 + TTL, 1, 1); /* hold 3 expired: gone; PAYING 2 counts */
    cr_assert_eq(cap_hold(4, CLIENT, LIST(4), 0, 2, 2, &res), BO_ECAP, "at T0 hold 3 still counts");
    cr_assert_eq(confirm(2, NULL, 0, T0 + 1), 0);
    expect_client(CLIENT, T0 + 1, 1, 1); /* sold: not counted; hold 3 left */
    cr_assert_eq(cancel(2, T0 + 1), 0);
    expect_client(CLIENT, T0 + 1, 1, 1); /* a cancelled sale changes nothing */
    cr_assert_eq(pay_start(3, T0 + 10, T0 + 2), 0);
    for (int i = 0; i < (int)BO_PAY_MAX_FAILURES; i++) {
        cr_assert_eq(pay_failed(3, T0 + 3, &released), 0);
        if (i + 1 < (int)BO_PAY_MAX_FAILURES)
            cr_assert_eq(pay_start(3, T0 + 10, T0 + 3), 0);
    }
    cr_assert_eq(released, 1);
    expect_client(CLIENT, T0 + 3, 0, 0);
    /* expiry, through a sweep */
    cr_assert_eq(cap_hold(5, CLIENT, LIST(5, 6), 0, 2, 1, &res), 0);
    cr_assert_eq(cap_hold(6, CLIENT, LIST(7), 0, 2, 1, &res), BO_ECAP);
    cr_assert_eq(bo_inv_expire(inv, T0 + TTL), 1u);
    expect_client(CLIENT, T0 + TTL, 0, 0);
}

Test(caps, replay_skips_the_caps_but_counts_journal_and_snapshot_restore)
{
    bo_hold_res_t res;
    cr_assert_eq(cap_hold(1, CLIENT, LIST(0, 1), 0, 2, 1, &res), 0);
    bo_hold_req_t r = req(2, 0);
    SEATS_OF(r, 2, 3);
    r.client = CLIENT;
    r.max_client_tickets = 2;
    r.max_client_holds = 1;
    r.replay = 1;
    r.expires_at_ms = T0 + TTL;
    cr_assert_eq(hold_req(&r, T0, &res), 0, "a logged hold is re-applied whatever the caps");
    expect_client(CLIENT, T0, 4, 2);
    cr_assert_eq(view(2, T0).client, CLIENT);
    /* the journal: a rolled-back hold gives its counts back */
    bo_jpos_t pos = bo_inv_journal_pos(inv);
    cr_assert_eq(cap_hold(3, CLIENT, LIST(4), 0, 0, 0, &res), 0);
    cr_assert_eq(release(1, T0), 0);
    expect_client(CLIENT, T0, 3, 2);
    bo_inv_rollback(inv, pos);
    cr_assert_eq(bo_inv_check(inv), 0);
    expect_client(CLIENT, T0, 4, 2);
    /* a snapshot carries each hold's client */
    cr_assert_eq(pay_start(2, T0 + 5 * TTL, T0), 0);
    uint8_t *buf;
    size_t len;
    cr_assert_eq(bo_inv_export(inv, T0, &buf, &len), 0);
    bo_inv_t *copy;
    bo_inv_config_t cfg = config(TTL, 0, 0);
    cr_assert_eq(bo_inv_new(L, &cfg, &copy), 0);
    cr_assert_eq(bo_inv_import(copy, buf, len), 0);
    free(buf);
    cr_assert_eq(bo_inv_check(copy), 0);
    uint32_t t, h;
    bo_inv_client_counts(copy, CLIENT, T0, &t, &h);
    cr_assert(t == 4 && h == 2, "imported: %u seats %u holds", t, h);
    bo_inv_client_counts(copy, CLIENT, T0 + TTL, &t, &h);
    cr_assert(t == 2 && h == 1, "the paying hold outlives its expiry: %u seats %u holds", t, h);
    bo_hold_req_t more = req(9, 0);
    SEATS_OF(more, 8);
    more.client = CLIENT;
    more.max_client_holds = 2;
    cr_assert_eq(bo_inv_hold(copy, &more, T0, &res), BO_ECAP, "the caps hold after import");
    bo_inv_free(copy);
}

/* A snapshot written before the caps (version 1: holds without a client)
 * still imports; its holds count for no client. */
Test(caps, a_version_1_snapshot_imports_with_client_0)
{
    uint8_t buf[128], *p = buf;
    const uint32_t seats[] = {2, 3};
    bo_hold_id_t id = hid(1);
    *p++ = 1;            /* version */
    p = bo_put_uv(p, 0); /* no blocked seats */
    p = bo_put_uv(p, 1); /* one hold */
    *p++ = BO_HOLD_HELD;
    memcpy(p, id.b, 16);
    p += 16;
    p = bo_put_uv(p, 7);          /* customer */
    p = bo_put_sv(p, T0);         /* created */
    p = bo_put_sv(p, T0 + TTL);   /* expires */
    p = bo_put_sv(p, 0);          /* pay deadline */
    p = bo_put_sv(p, 2 * P_PREM); /* amount */
    p = bo_put_uv(p, 0);          /* payment failures */
    p = bo__put_seats(p, seats, 2);
    p = bo__put_ga(p, NULL, 0);
    cr_assert_eq(bo_inv_import(inv, buf, (size_t)(p - buf)), 0);
    cr_assert_eq(bo_inv_check(inv), 0);
    bo_hold_view_t v = view(1, T0);
    cr_assert_eq(v.client, 0);
    cr_assert_eq(v.customer, 7);
    cr_assert_eq(v.nseats, 2);
    expect_state(LIST(2, 3), BO_SEAT_HELD, T0);
    buf[0] = 3;
    bo_inv_t *other;
    bo_inv_config_t cfg = config(TTL, 0, 0);
    cr_assert_eq(bo_inv_new(L, &cfg, &other), 0);
    cr_assert_eq(bo_inv_import(other, buf, (size_t)(p - buf)), BO_ECORRUPT, "an unknown version");
    bo_inv_free(other);
}
