/*
 * test_api_budget.c - the reconciler's gateway budget and its schedule of
 * looks (src/api/budget.c), on a clock of the test's own: a second's worth
 * at once, then per_s a second; charges may leave a debt that later takes
 * wait out; over any window the tokens given stay within per_s * window +
 * burst; looks back off 1 s, 2 s, 4 s ... to 5 minutes.
 */
#include <criterion/criterion.h>

#include "order/order_internal.h"

Test(budget, a_burst_then_per_s_tokens_a_second)
{
    bo_order_budget_t b;
    bo__order_budget_init(&b, 20, 20, 1000);
    for (int i = 0; i < 20; i++)
        cr_assert(bo__order_budget_take(&b, 1000), "token %d of the burst", i);
    cr_assert_not(bo__order_budget_take(&b, 1000), "the burst is spent");
    cr_assert_not(bo__order_budget_take(&b, 1049), "49 ms bring 0.98 of a token");
    cr_assert(bo__order_budget_take(&b, 1050), "50 ms bring one");
    cr_assert_not(bo__order_budget_take(&b, 1050));
    cr_assert_eq(bo__order_budget_tokens_m(&b, 2050), 20000, "a second refills it: 20 tokens");
    cr_assert_eq(bo__order_budget_tokens_m(&b, 90000), 20000, "never more than the burst");
    cr_assert_eq(bo__order_budget_tokens_m(&b, 80000), 20000,
                 "a clock that goes back adds nothing");
    bo__order_budget_destroy(&b);
}

Test(budget, charges_leave_a_debt_that_takes_wait_out)
{
    bo_order_budget_t b;
    bo__order_budget_init(&b, 10, 10, 0);
    bo__order_budget_charge(&b, 15, 0); /* steps made 15 requests more than reserved */
    cr_assert_eq(bo__order_budget_tokens_m(&b, 0), -5000);
    cr_assert_not(bo__order_budget_take(&b, 500), "0 tokens after 0.5 s");
    cr_assert_not(bo__order_budget_take(&b, 599), "0.99 of a token");
    cr_assert(bo__order_budget_take(&b, 600), "one token after 0.6 s");
    bo__order_budget_destroy(&b);
}

/* Whatever the pattern of takes and charges, the tokens given in any window
 * [t0, t1] are at most per_s * (t1 - t0) + burst plus the charges' debt. */
Test(budget, no_window_gives_more_than_its_rate_and_burst)
{
    bo_order_budget_t b;
    const uint32_t per_s = 7, burst = 7;
    enum { MS = 20000 };
    static uint8_t given[MS]; /* tokens given at each ms */
    bo__order_budget_init(&b, per_s, burst, 0);
    uint32_t seed = 12345;
    for (int t = 0; t < MS; t++) {
        seed = seed * 1103515245u + 12345u;
        int tries = (seed >> 16) % 4; /* 0 to 3 takes in this ms */
        for (int k = 0; k < tries; k++)
            given[t] += bo__order_budget_take(&b, t);
    }
    for (int w = 1; w <= 5000; w *= 3) {
        for (int t0 = 0; t0 + w <= MS; t0 += 7) {
            uint32_t n = 0;
            for (int t = t0; t < t0 + w; t++)
                n += given[t];
            /* ms t0 .. t0+w-1: w-1 ms of refill after the bucket at t0 */
            cr_assert_leq(n, per_s * (uint32_t)(w - 1) / 1000 + burst, "window %d ms at %d: %u", w,
                          t0, n);
        }
    }
    uint32_t total = 0;
    for (int t = 0; t < MS; t++)
        total += given[t];
    cr_assert_eq(total, burst + per_s * (MS - 1) / 1000, "demand above the rate gets all of it");
    bo__order_budget_destroy(&b);
}

Test(backoff, doubles_from_one_second_to_five_minutes)
{
    cr_assert_eq(bo__order_backoff_ms(0), 1000);
    cr_assert_eq(bo__order_backoff_ms(1), 2000);
    cr_assert_eq(bo__order_backoff_ms(2), 4000);
    cr_assert_eq(bo__order_backoff_ms(8), 256000);
    cr_assert_eq(bo__order_backoff_ms(9), BO_RECHECK_MAX_MS);
    cr_assert_eq(bo__order_backoff_ms(31), BO_RECHECK_MAX_MS);
    cr_assert_eq(bo__order_backoff_ms(UINT32_MAX), BO_RECHECK_MAX_MS);
    /* the looks at an order that never changes, an hour long */
    int64_t at = 0;
    uint32_t looks = 0;
    while (at + bo__order_backoff_ms(looks) <= 3600 * 1000)
        at += bo__order_backoff_ms(looks++);
    cr_assert_eq(looks, 9 + (3600 * 1000 - 511000) / BO_RECHECK_MAX_MS,
                 "9 looks in the first 511 s, then one every 5 minutes: %u", looks);
}
