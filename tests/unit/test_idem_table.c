/*
 * test_idem_table.c - the table of Idempotency-Keys (src/engine/
 * idem_table.h): growth, expiry on an injected clock, the caps and the
 * order of eviction. Collisions are SipHash's to resist (a key drawn per
 * table), not tested here.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boxoffice/error.h"
#include "live/idem_table.h"

#define T0     1700000000000LL
#define TTL    (24 * 3600 * 1000LL)
#define REF_MS (10 * 60 * 1000LL)

static const uint8_t HA[32] = {1};
static const uint8_t HB[32] = {2};

static bo_idem_table_t *table(uint32_t keys_max, uint32_t per_client)
{
    bo_idem_limits_t lim = {TTL, REF_MS, keys_max, per_client};
    bo_idem_table_t *t = bo_idem_table_new(&lim);
    cr_assert_not_null(t);
    return t;
}

/* begin, the answer dropped. */
static int begin(bo_idem_table_t *t, const char *key, const uint8_t *h, const char *client,
                 int64_t now)
{
    bo_idem_answer_t ans = {0};
    int64_t retry = 0;
    int rc = bo_idem_table_begin(t, key, h, client, now, &ans, &retry);
    free(ans.body);
    return rc;
}

static size_t nkeys(bo_idem_table_t *t)
{
    bo_idem_table_stats_t s;
    bo_idem_table_stats(t, &s);
    return s.keys;
}

Test(idem_table, defaults_are_the_documented_ones)
{
    bo_idem_limits_t lim;
    bo_idem_limits_default(&lim);
    cr_assert_eq(lim.ttl_ms, 24 * 3600 * 1000LL);
    cr_assert_eq(lim.refusal_ttl_ms, 600 * 1000LL);
    cr_assert_eq(lim.keys_max, 1000000u);
    cr_assert_eq(lim.per_client_max, 1000u);
}

Test(idem_table, replays_once_answered_and_checks_the_request)
{
    bo_idem_table_t *t = table(100, 100);
    bo_idem_answer_t ans = {0};
    int64_t retry = 0;
    cr_assert_eq(begin(t, "k", HA, "1.2.3.4", T0), 0);
    cr_assert_eq(begin(t, "k", HA, "1.2.3.4", T0), BO_EIDEMBUSY);
    cr_assert_eq(begin(t, "k", HB, "1.2.3.4", T0), BO_EIDEMMISMATCH);
    bo_idem_table_end(t, "k", 201, "{\"a\":1}", 7, T0 + 5);
    cr_assert_eq(bo_idem_table_begin(t, "k", HA, "5.6.7.8", T0 + 9, &ans, &retry), 1);
    cr_assert_eq(ans.status, 201);
    cr_assert_str_eq(ans.body, "{\"a\":1}");
    cr_assert_eq(ans.len, 7);
    free(ans.body);
    cr_assert_eq(begin(t, "k", HB, NULL, T0 + 9), BO_EIDEMMISMATCH);
    /* an end without an answer frees the key */
    cr_assert_eq(begin(t, "gone", HA, NULL, T0), 0);
    bo_idem_table_end(t, "gone", 0, NULL, 0, T0);
    cr_assert_eq(begin(t, "gone", HB, NULL, T0), 0);
    cr_assert_eq(begin(t, "", HA, NULL, T0), BO_EINVAL);
    bo_idem_table_free(t);
}

Test(idem_table, grows_past_its_first_buckets_and_finds_every_key)
{
    enum { N = 200000 };
    bo_idem_table_t *t = table(N, N);
    char key[32];
    for (int i = 0; i < N; i++) {
        snprintf(key, sizeof(key), "key-%d", i);
        cr_assert_eq(begin(t, key, HA, NULL, T0), 0, "%s", key);
    }
    bo_idem_table_stats_t s;
    bo_idem_table_stats(t, &s);
    cr_assert_eq(s.keys, N);
    cr_assert_geq(s.buckets, N / 2, "%zu buckets for %d keys", s.buckets, N);
    for (int i = 0; i < N; i++) { /* found, whether its bucket moved yet or not */
        snprintf(key, sizeof(key), "key-%d", i);
        cr_assert_eq(begin(t, key, HA, NULL, T0), BO_EIDEMBUSY, "%s", key);
    }
    for (int i = 0; i < N; i += 2) {
        snprintf(key, sizeof(key), "key-%d", i);
        bo_idem_table_end(t, key, 0, NULL, 0, T0);
    }
    cr_assert_eq(nkeys(t), N / 2);
    bo_idem_table_free(t);
}

Test(idem_table, answers_expire_after_the_ttl_refusals_sooner)
{
    bo_idem_table_t *t = table(100, 100);
    cr_assert_eq(begin(t, "ok", HA, NULL, T0), 0);
    bo_idem_table_end(t, "ok", 201, "{}", 2, T0 + 100);
    cr_assert_eq(begin(t, "no", HA, NULL, T0), 0);
    bo_idem_table_end(t, "no", 409, "{}", 2, T0 + 100);
    cr_assert_eq(begin(t, "no", HA, NULL, T0 + 100 + REF_MS - 1), 1);
    cr_assert_eq(begin(t, "no", HA, NULL, T0 + 100 + REF_MS), 0, "a refusal is decided again");
    cr_assert_eq(begin(t, "ok", HA, NULL, T0 + TTL - 1), 1, "the ttl runs from the reservation");
    cr_assert_eq(begin(t, "ok", HB, NULL, T0 + TTL), 0, "expired: the key is free");
    bo_idem_table_free(t);
}

Test(idem_table, expiry_runs_a_few_keys_per_call_without_a_pass)
{
    bo_idem_table_t *t = table(10000, 10000);
    char key[32];
    for (int i = 0; i < 1000; i++) {
        snprintf(key, sizeof(key), "old-%d", i);
        cr_assert_eq(begin(t, key, HA, NULL, T0), 0);
        bo_idem_table_end(t, key, 201, "{}", 2, T0);
    }
    /* each call past the ttl drops a few: more than it adds */
    int64_t later = T0 + TTL;
    cr_assert_eq(begin(t, "new-0", HA, NULL, later), 0);
    size_t after_one = nkeys(t);
    cr_assert_lt(after_one, 1001);
    cr_assert_gt(after_one, 990, "one call does not sweep the table: %zu left", after_one);
    for (int i = 1; i < 400; i++) {
        snprintf(key, sizeof(key), "new-%d", i);
        cr_assert_eq(begin(t, key, HA, NULL, later), 0);
    }
    bo_idem_table_stats_t s;
    bo_idem_table_stats(t, &s);
    cr_assert_eq(s.keys, 400, "every old key is gone: %zu left", s.keys);
    cr_assert_eq(s.expired, 1000);
    cr_assert_eq(bo_idem_table_expire(t, later + TTL, 100), 100);
    cr_assert_eq(nkeys(t), 300);
    bo_idem_table_free(t);
}

Test(idem_table, a_client_past_its_cap_is_refused_until_keys_expire)
{
    bo_idem_table_t *t = table(1000, 5);
    char key[32];
    for (int i = 0; i < 5; i++) {
        snprintf(key, sizeof(key), "a-%d", i);
        cr_assert_eq(begin(t, key, HA, "10.0.0.1", T0), 0);
        bo_idem_table_end(t, key, 409, "{}", 2, T0);
    }
    bo_idem_answer_t ans = {0};
    int64_t retry = 0;
    cr_assert_eq(bo_idem_table_begin(t, "a-5", HA, "10.0.0.1", T0 + 1, &ans, &retry), BO_ERATE);
    cr_assert_eq(retry, REF_MS);
    cr_assert_eq(begin(t, "a-0", HA, "10.0.0.1", T0 + 1), 1, "its answered keys still replay");
    cr_assert_eq(begin(t, "b-0", HA, "10.0.0.2", T0 + 1), 0, "another client is not affected");
    cr_assert_eq(begin(t, "c-0", HA, NULL, T0 + 1), 0, "nor a request without a client");
    cr_assert_eq(bo_idem_table_client_keys(t, "10.0.0.1"), 5);
    cr_assert_eq(bo_idem_table_client_keys(t, "10.0.0.2"), 1);
    /* an abandoned reservation gives its place back */
    bo_idem_table_end(t, "b-0", 0, NULL, 0, T0 + 1);
    cr_assert_eq(bo_idem_table_client_keys(t, "10.0.0.2"), 0);
    /* once its refusals expired, the client may go on */
    cr_assert_eq(begin(t, "a-5", HA, "10.0.0.1", T0 + REF_MS), 0);
    bo_idem_table_stats_t s;
    bo_idem_table_stats(t, &s);
    cr_assert_eq(s.clients, 1, "clients without keys are forgotten");
    bo_idem_table_free(t);
}

Test(idem_table, past_the_total_cap_refusals_go_first_then_the_oldest)
{
    bo_idem_table_t *t = table(4, 100);
    const char *keys[] = {"a", "b", "c"};
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(begin(t, keys[i], HA, "10.0.0.1", T0 + i), 0);
        bo_idem_table_end(t, keys[i], 201, "{}", 2, T0 + i);
    }
    cr_assert_eq(begin(t, "r", HA, "10.0.0.2", T0 + 3), 0);
    bo_idem_table_end(t, "r", 409, "{}", 2, T0 + 3);
    cr_assert_eq(begin(t, "d", HA, "10.0.0.1", T0 + 4), 0);
    cr_assert_eq(nkeys(t), 4);
    cr_assert_eq(begin(t, "r", HA, NULL, T0 + 5), 0, "the refusal went first");
    /* that reservation made a fifth key: the oldest answer, a, went */
    cr_assert_eq(begin(t, "b", HA, NULL, T0 + 5), 1);
    cr_assert_eq(begin(t, "c", HA, NULL, T0 + 5), 1);
    cr_assert_eq(begin(t, "a", HA, NULL, T0 + 5), 0, "a was forgotten (and b goes)");
    cr_assert_eq(begin(t, "c", HA, NULL, T0 + 5), 1, "c is younger than b");
    cr_assert_eq(begin(t, "b", HA, NULL, T0 + 5), 0, "b went next (and c goes)");
    bo_idem_table_stats_t s;
    bo_idem_table_stats(t, &s);
    cr_assert_eq(s.keys, 4);
    cr_assert_eq(s.evicted, 4);
    cr_assert_eq(bo_idem_table_client_keys(t, "10.0.0.2"), 0);
    cr_assert_eq(bo_idem_table_client_keys(t, "10.0.0.1"), 1, "d alone");
    bo_idem_table_free(t);
}

Test(idem_table, a_client_at_the_cap_of_one_survives_evicting_its_own_key)
{
    bo_idem_table_t *t = table(1, 10);
    cr_assert_eq(begin(t, "x", HA, "10.0.0.9", T0), 0);
    cr_assert_eq(begin(t, "y", HA, "10.0.0.9", T0), 0, "x evicted, its client kept");
    cr_assert_eq(bo_idem_table_client_keys(t, "10.0.0.9"), 1);
    bo_idem_table_free(t);
}

Test(idem_table, load_keeps_unexpired_answers_within_the_cap)
{
    bo_idem_table_t *t = table(3, 10);
    int64_t now = T0 + TTL;
    cr_assert_eq(bo_idem_table_load(t, "old", HA, 201, "{}", 2, T0, now), 0);
    cr_assert_eq(bo_idem_table_load(t, "ref", HA, 409, "{}", 2, now - REF_MS, now), 0);
    cr_assert_eq(bo_idem_table_load(t, "k1", HA, 201, "{\"n\":1}", 7, now - 3, now), 0);
    cr_assert_eq(bo_idem_table_load(t, "k1", HA, 201, "{}", 2, now - 3, now), BO_ECORRUPT);
    cr_assert_eq(bo_idem_table_load(t, "k2", HA, 201, "{}", 2, now - 2, now), 0);
    cr_assert_eq(bo_idem_table_load(t, "k3", HA, 409, "{}", 2, now - 1, now), 0);
    cr_assert_eq(bo_idem_table_load(t, "k4", HA, 201, "{}", 2, now - 1, now), 0);
    cr_assert_eq(nkeys(t), 3);
    cr_assert_eq(begin(t, "old", HA, NULL, now), 0, "expired: skipped");
    cr_assert_eq(begin(t, "ref", HA, NULL, now), 0, "an expired refusal: skipped");
    bo_idem_table_free(t);
    t = table(3, 10);
    cr_assert_eq(bo_idem_table_load(t, "k1", HA, 201, "{\"n\":1}", 7, now - 3, now), 0);
    cr_assert_eq(begin(t, "k1", HA, NULL, now), 1);
    bo_idem_table_free(t);
}
