/*
 * test_api_ratelimit.c - token buckets by key (src/util/rate.c): a
 * burst, then one token per period/burst; keys are independent; a table
 * full of other keys neither forgets a key that is spending its tokens nor
 * makes honest keys share.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "util/rate.h"

static int64_t take(bo_rate_t *rl, const char *key, int64_t now_ms)
{
    return bo_rate_take(rl, key, strlen(key), now_ms);
}

Test(rate, a_burst_then_one_token_per_interval)
{
    bo_rate_t *rl = bo_rate_new(10, 60000);
    cr_assert_not_null(rl);
    for (int i = 0; i < 10; i++)
        cr_assert_eq(take(rl, "198.51.100.1", 1000), 0, "attempt %d", i);
    cr_assert_eq(take(rl, "198.51.100.1", 1000), 6000, "one token comes back every 6 s");
    cr_assert_eq(take(rl, "198.51.100.1", 4000), 3000, "refused: nothing taken, 3 s left");
    cr_assert_eq(take(rl, "198.51.100.2", 4000), 0, "another address is not affected");
    cr_assert_eq(take(rl, "198.51.100.1", 7000), 0, "a token came back");
    cr_assert_eq(take(rl, "198.51.100.1", 7000), 6000);
    for (int i = 0; i < 10; i++)
        cr_assert_eq(take(rl, "198.51.100.1", 67000 + i), 0, "a full burst after a period");
    bo_rate_free(rl);
}

Test(rate, churning_keys_do_not_reset_a_spending_key)
{
    bo_rate_t *rl = bo_rate_new(3, 60000);
    char key[32];
    for (int i = 0; i < 3; i++)
        cr_assert_eq(take(rl, "attacker", 0), 0);
    cr_assert_gt(take(rl, "attacker", 0), 0);
    /* far more keys than buckets, each taking one token */
    for (unsigned i = 0; i < 4 * BO_RATE_SLOTS; i++) {
        snprintf(key, sizeof(key), "10.%u.%u.%u", (i >> 16) & 255, (i >> 8) & 255, i & 255);
        cr_assert_eq(take(rl, key, 1000), 0, "an honest key never waits: %s", key);
    }
    cr_assert_gt(take(rl, "attacker", 1000), 0, "still limited");
    bo_rate_free(rl);
}

/* One table, each take at its own rate: an event's 2 a minute and another
 * event's 30 a minute do not share a bucket, and a key whose rate went
 * down holds the new burst at most. */
Test(rate, each_take_at_its_own_rate)
{
    bo_rate_t *rl = bo_rate_new(1, 60000);
    cr_assert_not_null(rl);
    cr_assert_eq(bo_rate_take_at(rl, "a/1", 3, 2, 60000, 0), 0);
    cr_assert_eq(bo_rate_take_at(rl, "a/1", 3, 2, 60000, 0), 0);
    cr_assert_eq(bo_rate_take_at(rl, "a/1", 3, 2, 60000, 0), 30000, "the 3rd at 2 a minute");
    for (int i = 0; i < 30; i++)
        cr_assert_eq(bo_rate_take_at(rl, "a/2", 3, 30, 60000, 0), 0, "take %d at 30 a minute", i);
    cr_assert_eq(bo_rate_take_at(rl, "a/2", 3, 30, 60000, 0), 2000);
    cr_assert_eq(bo_rate_take_at(rl, "a/1", 3, 2, 60000, 30000), 0, "a token back after 30 s");
    /* a full bucket of 30 read at a rate of 5: 5 at most */
    cr_assert_eq(bo_rate_take_at(rl, "b", 1, 30, 60000, 0), 0);
    for (int i = 0; i < 5; i++)
        cr_assert_eq(bo_rate_take_at(rl, "b", 1, 5, 60000, 1), 0, "take %d at 5", i);
    cr_assert_neq(bo_rate_take_at(rl, "b", 1, 5, 60000, 1), 0, "the burst is the new rate's");
    bo_rate_free(rl);
}
