/*
 * test_journal.c - the inventory's undo journal (engine.h "Journal",
 * src/engine/journal.c): bo_inv_rollback restores the exact state at a
 * position (seat states, counts, GA, every hold with its expiry and payment
 * state, the expiry heap, the id hash, the customer counts, the slot free
 * list) across every kind of mutation, sweeps and table growth included;
 * forgotten changes stay; journaling can be turned off. The hall, the
 * checked wrappers and capture()/expect_same(): helpers/inv_fixture.h.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "boxoffice/engine.h"
#include "boxoffice/error.h"
#include "boxoffice/layout.h"
#include "helpers/inv_fixture.h"

TestSuite(journal, .init = setup, .fini = teardown);

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
