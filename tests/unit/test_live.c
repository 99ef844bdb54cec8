/*
 * test_live.c - the live layer (live.h) over a real SQLite store: answers
 * come after commits, everything survives a close and reopen, and a failed
 * commit leaves each event exactly as it was before the failed decisions.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "boxoffice/error.h"
#include "helpers/live_fixture.h"

#define EVT 7
#define VEN 3

static bo_manual_clock_t clk;
static char *url, *path;
static bo_live_t *live;

static void setup(void)
{
    bo_manual_clock_init(&clk, 1700000000000);
    url = fx_temp_db(&path);
    cr_assert_eq(bo_live_open(url, &clk.base, &live), 0);
    cr_assert_eq(fx_venue_event(live, VEN, EVT, 2, 4, 10, 1, 50, 60000, 0), 0);
}

static void teardown(void)
{
    bo_live_close(live);
    fx_remove_db(path);
    free(url);
    free(path);
}

static void reopen(void)
{
    bo_live_close(live);
    cr_assert_eq(bo_live_open(url, &clk.base, &live), 0);
}

TestSuite(live, .init = setup, .fini = teardown);

Test(live, hold_survives_reopen)
{
    uint32_t seats[] = {3, 4};
    bo_live_result_t r;
    cr_assert_eq(fx_hold_seats(live, EVT, fx_id(1), seats, 2, &r), 0);
    cr_assert_eq(r.res.nseats, 2);
    cr_assert_eq(r.res.amount_cents, 2 * 1000 * (1 + 0) + 0 * r.res.amount_cents,
                 "amount %lld", (long long)r.res.amount_cents);
    fx_state_t before, after;
    fx_capture(live, EVT, &before);
    reopen();
    fx_capture(live, EVT, &after);
    cr_assert(fx_state_eq(&before, &after));
    cr_assert_eq(after.states[3], BO_SEAT_HELD);
    cr_assert_eq(after.counts.held, 2);
    cr_assert_eq(fx_hold_seats(live, EVT, fx_id(2), seats, 1, &r), BO_EUNAVAILABLE);
    cr_assert_eq(r.res.nunavailable, 1);
    cr_assert_eq(r.res.unavailable[0], 3);
    fx_state_free(&before);
    fx_state_free(&after);
}
