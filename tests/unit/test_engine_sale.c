/*
 * test_engine_sale.c - the life of a hold after bo_inv_hold (engine.h,
 * src/engine/inventory.c): release, checkout (pay_start, pay_failed, due
 * payments), confirm (including late payments for holds that are gone),
 * cancel, block and unblock, each with every error code it can return, and
 * the version: rising on every mutation and rollback, still on reads and
 * failed calls; and the walk over every hold (bo_inv_each_hold). The hall and
 * the checked wrappers: helpers/inv_fixture.h.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "boxoffice/engine.h"
#include "boxoffice/error.h"
#include "boxoffice/layout.h"
#include "helpers/inv_fixture.h"

TestSuite(release, .init = setup, .fini = teardown);
TestSuite(pay, .init = setup, .fini = teardown);
TestSuite(confirm, .init = setup, .fini = teardown);
TestSuite(cancel, .init = setup, .fini = teardown);
TestSuite(block, .init = setup, .fini = teardown);
TestSuite(version, .init = setup, .fini = teardown);
TestSuite(each_hold, .init = setup, .fini = teardown);

/* ---- release --------------------------------------------------------------------------------- */

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

/* bo_inv_each_hold callbacks: count, or stop at the first. */
static int count_hold(void *arg, const bo_hold_view_t *v)
{
    (*(uint32_t *)arg)++;
    return 0;
}

/* ---- payments -------------------------------------------------------------------------------- */

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

/* ---- confirm --------------------------------------------------------------------------------- */

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
    cr_assert_eq(res.nunavailable, 2);
    cr_assert_eq(res.unavailable[0], 7, "sold");
    cr_assert_eq(res.unavailable[1], 5, "held");
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

Test(block, a_retried_block_succeeds)
{
    cr_assert_eq(block(LIST(9, 3), T0, NULL), 0);
    bo_hold_res_t res;
    cr_assert_eq(block(LIST(9, 3), T0, &res), 0, "the same block again");
    cr_assert_eq(res.nunavailable, 0);
    cr_assert_eq(block(LIST(4, 9), T0, NULL), 0, "partly blocked already");
    expect_state(LIST(3, 4, 9), BO_SEAT_BLOCKED, T0);
    expect_counts(T0, 13, 0, 0, 3, 0);
    cr_assert_eq(unblock(LIST(3, 4, 9), T0, NULL), 0);
    expect_counts(T0, NSEATS, 0, 0, 0, 0);
    cr_assert_eq(unblock(LIST(3), T0, &res), BO_EUNAVAILABLE, "unblocking is not idempotent");
    cr_assert_eq(res.unavailable[0], 3);
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

/* ---- version --------------------------------------------------------------------------------- */

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
    bo_inv_each_hold(inv, t, count_hold, &(uint32_t){0});
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

/* ---- the walk over every hold ---------------------------------------------------------------- */

struct seen {
    uint32_t n;
    bo_hold_view_t views[8];
    uint32_t seats[8][4];
    bo_ga_line_t ga[8][2];
};

static int remember(void *arg, const bo_hold_view_t *v)
{
    struct seen *s = arg;
    cr_assert_lt(s->n, 8u, "too many holds");
    cr_assert_leq(v->nseats, 4u);
    cr_assert_leq(v->nga, 2u);
    s->views[s->n] = *v;
    memcpy(s->seats[s->n], v->seats, v->nseats * sizeof(uint32_t));
    memcpy(s->ga[s->n], v->ga, v->nga * sizeof(bo_ga_line_t));
    s->n++;
    return 0;
}

/* The index in s of the hold with id n, or -1. */
static int find_seen(const struct seen *s, uint32_t n)
{
    bo_hold_id_t h = hid(n);
    for (uint32_t i = 0; i < s->n; i++)
        if (memcmp(s->views[i].id.b, h.b, 16) == 0)
            return (int)i;
    return -1;
}

static int stop_at_first(void *arg, const bo_hold_view_t *v)
{
    (*(uint32_t *)arg)++;
    return 7;
}

Test(each_hold, lists_held_paying_and_sold_holds_and_skips_gone_ones)
{
    int64_t t1 = T0 + TTL / 2, t = T0 + TTL;
    bo_ga_line_t pit = {PIT, 1};
    cr_assert_eq(hold_seats(4, 0, LIST(12), T0, NULL), 0);   /* expires at t */
    cr_assert_eq(hold_seats(1, 0, LIST(0, 1), t1, NULL), 0); /* held */
    cr_assert_eq(hold_ga(2, 0, FLOOR, 3, t1), 0);            /* paying */
    cr_assert_eq(pay_start(2, t + 5000, t1), 0);
    bo_hold_req_t r = req(3, 0); /* sold */
    SEATS_OF(r, 6);
    r.ga = &pit;
    r.nga = 1;
    cr_assert_eq(hold_req(&r, t1, NULL), 0);
    cr_assert_eq(confirm(3, NULL, 0, t1), 0);
    cr_assert_eq(hold_seats(5, 0, LIST(13), t1, NULL), 0); /* released */
    cr_assert_eq(release(5, t1), 0);
    last_version = bo_inv_version(inv);

    struct seen s = {0};
    cr_assert_eq(bo_inv_each_hold(inv, t, remember, &s), 0);
    expect_same_version();
    cr_assert_eq(s.n, 3, "held, paying and sold; not expired or released: %u", s.n);
    cr_assert_eq(find_seen(&s, 4), -1, "expired, even unswept");
    cr_assert_eq(find_seen(&s, 5), -1, "released");
    int h1 = find_seen(&s, 1), h2 = find_seen(&s, 2), h3 = find_seen(&s, 3);
    cr_assert(h1 >= 0 && h2 >= 0 && h3 >= 0);
    cr_assert_eq(s.views[h1].status, BO_HOLD_HELD);
    cr_assert_eq(s.views[h1].amount_cents, 2 * P_PREM);
    cr_assert_eq(s.views[h1].nseats, 2);
    cr_assert_eq(s.seats[h1][0], 0);
    cr_assert_eq(s.seats[h1][1], 1);
    cr_assert_eq(s.views[h1].expires_at_ms, t1 + TTL);
    cr_assert_eq(s.views[h2].status, BO_HOLD_PAYING);
    cr_assert_eq(s.views[h2].amount_cents, 3 * P_GA);
    cr_assert_eq(s.views[h2].nseats, 0);
    cr_assert_eq(s.views[h2].nga, 1);
    cr_assert_eq(s.ga[h2][0].area, FLOOR);
    cr_assert_eq(s.ga[h2][0].quantity, 3);
    cr_assert_eq(s.views[h3].status, BO_HOLD_SOLD);
    cr_assert_eq(s.views[h3].amount_cents, P_STD + P_PREM);
    cr_assert_eq(s.seats[h3][0], 6);
    cr_assert_eq(s.ga[h3][0].area, PIT);

    /* before hold 4 expired it is listed; after the sweep it stays gone */
    uint32_t n = 0;
    cr_assert_eq(bo_inv_each_hold(inv, t - 1, count_hold, &n), 0);
    cr_assert_eq(n, 4);
    cr_assert_eq(bo_inv_expire(inv, t), 1);
    n = 0;
    cr_assert_eq(bo_inv_each_hold(inv, t, count_hold, &n), 0);
    cr_assert_eq(n, 3);

    /* fn's first nonzero answer stops the walk and is returned */
    n = 0;
    cr_assert_eq(bo_inv_each_hold(inv, t, stop_at_first, &n), 7);
    cr_assert_eq(n, 1);
}

Test(each_hold, an_empty_inventory_calls_nothing)
{
    uint32_t n = 0;
    cr_assert_eq(bo_inv_each_hold(inv, T0, count_hold, &n), 0);
    cr_assert_eq(n, 0);
}
