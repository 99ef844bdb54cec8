/*
 * test_inv_check.c - the engine's contracts, checked: bo_inv_check (the
 * debug recount) finds each kind of corruption it is meant to find, and the
 * BO_ASSERTs of a mutation abort on a broken invariant rather than sell
 * from a wrong counter. The inventory is corrupted through its private
 * structures (engine/inv_internal.h), as only a bug could.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>

#include "boxoffice/engine.h"
#include "boxoffice/error.h"
#include "engine/inv_internal.h"
#include "helpers/inv_fixture.h"

TestSuite(inv_check, .init = setup, .fini = teardown);
TestSuite(inv_assert, .init = setup, .fini = teardown);

/* Two seat holds (one paying), a GA hold, a sale and a block. */
static void scenario(void)
{
    bo_hold_res_t res;
    cr_assert_eq(hold_seats(1, 7, LIST(0, 1), T0, &res), 0);
    cr_assert_eq(hold_seats(2, 8, LIST(6, 7, 8), T0, &res), 0);
    cr_assert_eq(hold_ga(3, 7, FLOOR, 4, T0), 0);
    cr_assert_eq(pay_start(2, T0 + 1000, T0), 0);
    bo_hold_id_t h = hid(1);
    cr_assert_eq(bo_inv_confirm(inv, &h, NULL, 0, NULL, 0, 7, 0, T0), 0);
    cr_assert_eq(bo_inv_block(inv, LIST(15), T0, NULL), 0);
    cr_assert_eq(bo_inv_check(inv), 0);
}

Test(inv_check, agrees_through_a_scenario_and_its_rollback)
{
    cr_assert_eq(bo_inv_check(inv), 0, "a new inventory");
    bo_jpos_t pos = bo_inv_journal_pos(inv);
    scenario();
    cr_assert_eq(bo_inv_expire(inv, T0 + TTL), 1, "hold 3 (GA) expires; 2 is paying");
    cr_assert_eq(bo_inv_check(inv), 0);
    bo_inv_rollback(inv, pos);
    cr_assert_eq(bo_inv_check(inv), 0, "rolled back to empty");
    expect_counts(T0, NSEATS, 0, 0, 0, 0);
}

Test(inv_check, finds_a_state_counter_off_by_one)
{
    scenario();
    inv->n_held++;
    cr_assert_eq(bo_inv_check(inv), BO_ECORRUPT);
    inv->n_held--;
    inv->n_live--;
    cr_assert_eq(bo_inv_check(inv), BO_ECORRUPT);
}

Test(inv_check, finds_category_row_and_ga_counters_off)
{
    scenario();
    uint32_t *counters[] = {&inv->cat_avail[STD], &inv->ga_held[FLOOR], &inv->ga_sold[PIT]};
    for (unsigned i = 0; i < 3; i++) {
        (*counters[i])++;
        cr_assert_eq(bo_inv_check(inv), BO_ECORRUPT, "counter %u", i);
        (*counters[i])--;
        cr_assert_eq(bo_inv_check(inv), 0);
    }
    inv->row_free[2]--;
    cr_assert_eq(bo_inv_check(inv), BO_ECORRUPT, "row C's free seats");
    inv->row_free[2]++;
    cr_assert_eq(bo_inv_check(inv), 0);
}

Test(inv_check, finds_a_seat_owned_by_the_wrong_hold)
{
    scenario();
    uint32_t w = inv->words[6];
    cr_assert_eq(W_STATE(w), BO_SEAT_HELD);
    inv->words[6] = W_MAKE(BO_SEAT_HELD, W_SLOT(inv->words[0])); /* hold 1's, which is SOLD */
    cr_assert_eq(bo_inv_check(inv), BO_ECORRUPT);
    inv->words[6] = W_MAKE(BO_SEAT_SOLD, W_SLOT(inv->words[0])); /* a seat sold twice over */
    cr_assert_eq(bo_inv_check(inv), BO_ECORRUPT);
    inv->words[6] = w;
    cr_assert_eq(bo_inv_check(inv), 0);
}

Test(inv_check, finds_a_broken_heap_free_list_and_customer_count)
{
    scenario();
    struct heap *pay = &inv->pay;
    cr_assert_eq(pay->n, 1);
    pay->n = 0;
    cr_assert_eq(bo_inv_check(inv), BO_ECORRUPT, "a paying hold out of its heap");
    pay->n = 1;
    inv->nfree--;
    cr_assert_eq(bo_inv_check(inv), BO_ECORRUPT, "a slot neither live nor free");
    inv->nfree++;
    bo_hold_view_t v = view(2, T0);
    cr_assert_eq(v.customer, 8);
    cr_assert_eq(bo__count_get(&inv->cust, 8), 3);
    bo__count_add(inv, &inv->cust, 8, 1);
    cr_assert_eq(bo_inv_check(inv), BO_ECORRUPT, "customer 8 counts 4 tickets of 3");
    bo__count_add(inv, &inv->cust, 8, -1);
    cr_assert_eq(bo_inv_check(inv), 0);
    bo__count_add(inv, &inv->client_holds, 9, 1); /* a hold of no client */
    cr_assert_eq(bo_inv_check(inv), BO_ECORRUPT, "client 9 counts a hold it has not");
}

/* The per-mutation asserts, when the build has them (make ASSERTS=0
 * compiles them out, for measuring only; the per-element ones need
 * ASSERTS=2, as the sanitizer builds of test-asan have). */
#if BO_ASSERTS >= 2
/* A counter a bug left at 0 stops the release
 * that would take it below 0. */
Test(inv_assert, release_with_a_lost_counter_aborts, .signal = SIGABRT)
{
    bo_hold_res_t res;
    cr_assert_eq(hold_seats(1, 7, LIST(0, 1), T0, &res), 0);
    inv->n_live = 0;
    bo_hold_id_t h = hid(1);
    bo_inv_release(inv, &h, T0);
}
#endif
#if BO_ASSERTS

/* A seat that is not the hold's any more (another hold's word) stops the
 * sale that would sell it. */
Test(inv_assert, selling_a_seat_the_hold_does_not_own_aborts, .signal = SIGABRT)
{
    bo_hold_res_t res;
    cr_assert_eq(hold_seats(1, 7, LIST(0, 1), T0, &res), 0);
    cr_assert_eq(hold_seats(2, 7, LIST(2), T0, &res), 0);
    inv->words[1] = inv->words[2];
    bo_hold_id_t h = hid(1);
    bo_inv_confirm(inv, &h, NULL, 0, NULL, 0, 7, 0, T0);
}

/* GA past capacity is the other half of overselling: a hold installed
 * over a full area (as a bug in the capacity check would) aborts. */
Test(inv_assert, ga_past_capacity_aborts, .signal = SIGABRT)
{
    cr_assert_eq(hold_ga(1, 7, PIT, 3, T0), 0, "the pit holds 3");
    cr_assert_eq(hold_ga(2, 7, PIT, 1, T0), BO_EUNAVAILABLE, "the check refuses a 4th");
    bo_ga_line_t g = {PIT, 1};
    struct hold x;
    cr_assert_eq(bo__hold_prepare(inv), 0);
    cr_assert_eq(bo__make_hold(&x, &(bo_hold_id_t){{9}}, 0, NULL, 0, &g, 1), 0);
    cr_assert_eq(bo__j_reserve(inv, bo__hold_cost(0, 1)), 0);
    x.status = BO_HOLD_HELD;
    x.expires_at_ms = T0 + TTL;
    bo__install_hold(inv, &x, BO_SEAT_HELD);
}
#endif
