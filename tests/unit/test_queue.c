/*
 * test_queue.c - the waiting room (src/queue/) on a real store with an
 * injected clock (every call takes now_ms): the shuffle is a permutation
 * fixed by its seed and kept across a reopen, joins after on-sale are FIFO,
 * admissions follow the rate and the active cap, a silent visitor is
 * skipped without blocking the next, passes verify and refuse forgeries,
 * other events and expiry, proof-of-work solutions count once.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "boxoffice/error.h"
#include "boxoffice/queue.h"
#include "helpers/live_fixture.h"

#define EV 0x1234u
#define T0 1900000000000LL /* on-sale, ms */

static char *url, *path;
static bo_live_t *live;
static bo_queues_t *qs;

static void open_all(void)
{
    cr_assert_eq(bo_live_open(url, NULL, &live), 0);
    cr_assert_eq(bo_queues_new(live, &qs), 0);
    cr_assert_eq(bo_live_take_docs(live, (bo_live_doc_fn)bo_queues_load_doc, qs), 0);
    cr_assert_eq(bo_queues_ready(qs), 0);
}

static void close_all(void)
{
    bo_store_flush(bo_live_store(live));
    bo_live_close(live);
    bo_queues_free(qs);
}

static void setup(void)
{
    url = fx_temp_db(&path);
    open_all();
}

static void teardown(void)
{
    close_all();
    fx_remove_db(path);
    free(url);
    free(path);
}

TestSuite(queue, .init = setup, .fini = teardown);

static bo_queue_config_t config(uint32_t per_min, uint32_t max_active)
{
    return (bo_queue_config_t){.enabled = true,
                               .prequeue_opens_at_ms = T0 - 3600000,
                               .onsale_at_ms = T0,
                               .admit_per_min = per_min,
                               .max_active = max_active,
                               .pass_ttl_s = 60};
}

struct joined {
    int status;
    bo_queue_view_t v;
};

static void on_joined(void *arg, int status, const bo_queue_view_t *v)
{
    struct joined *j = arg;
    j->status = status;
    if (v)
        j->v = *v;
}

/* Join at now_ms, waiting for its commit; the ticket into ticket. */
static bo_queue_view_t join(const bo_queue_config_t *cfg, int64_t now_ms)
{
    struct joined j = {.status = 1};
    cr_assert_eq(bo_queue_join(qs, EV, cfg, now_ms, on_joined, &j), 0);
    bo_store_flush(bo_live_store(live));
    cr_assert_eq(j.status, 0);
    return j.v;
}

static bo_queue_view_t poll_at(const bo_queue_config_t *cfg, const bo_queue_view_t *t,
                               int64_t now_ms)
{
    bo_queue_view_t v;
    cr_assert_eq(bo_queue_poll(qs, EV, cfg, t->ticket, strlen(t->ticket), now_ms, &v), 0);
    bo_store_flush(bo_live_store(live)); /* a shuffle or admissions being written */
    return v;
}

Test(queue, the_shuffle_is_a_permutation_fixed_by_its_seed)
{
    uint8_t seed[32] = {1}, other[32] = {2};
    uint32_t a[1000], b[1000], c[1000];
    bo_queue_shuffle(seed, a, 1000);
    bo_queue_shuffle(seed, b, 1000);
    bo_queue_shuffle(other, c, 1000);
    cr_assert_eq(memcmp(a, b, sizeof(a)), 0, "same seed, same order");
    cr_assert_neq(memcmp(a, c, sizeof(a)), 0, "another seed, another order");
    uint8_t seen[1000] = {0};
    for (int i = 0; i < 1000; i++)
        seen[a[i]]++;
    for (int i = 0; i < 1000; i++)
        cr_assert_eq(seen[i], 1);
}

Test(queue, each_position_is_equally_likely)
{
    /* 5 elements, 20000 seeds: each of the 25 (element, position) cells
     * expects 4000; a biased shuffle (e.g. j from [0, n) at every step)
     * moves some cells by ~500, far beyond the 6 sd (~340) allowed. */
    uint32_t count[5][5] = {{0}}, p[5];
    uint8_t seed[32] = {0};
    for (uint32_t s = 0; s < 20000; s++) {
        memcpy(seed, &s, sizeof(s));
        bo_queue_shuffle(seed, p, 5);
        for (int i = 0; i < 5; i++)
            count[p[i]][i]++;
    }
    for (int e = 0; e < 5; e++)
        for (int i = 0; i < 5; i++)
            cr_assert(count[e][i] > 3660 && count[e][i] < 4340, "cell %d,%d: %u", e, i,
                      count[e][i]);
}

Test(queue, joins_after_onsale_are_fifo)
{
    bo_queue_config_t cfg = config(60, 100);
    for (uint32_t i = 0; i < 20; i++) {
        bo_queue_view_t v = join(&cfg, T0 + 1000 + i);
        cr_assert_eq(v.status, i == 0 ? BO_QUEUE_WAITING : BO_QUEUE_WAITING);
        cr_assert_eq(v.place, i + 1);
    }
}

Test(queue, the_prequeue_is_shuffled_at_onsale_and_kept_across_a_reopen)
{
    bo_queue_config_t cfg = config(1, 100);
    bo_queue_view_t t[200];
    for (int i = 0; i < 200; i++) {
        t[i] = join(&cfg, T0 - 10000 + i);
        cr_assert_eq(t[i].status, BO_QUEUE_PREQUEUE);
        cr_assert_eq(t[i].place, 0);
    }
    poll_at(&cfg, &t[0], T0); /* starts the shuffle; its seed is written first */
    uint32_t places[200], seen[201] = {0}, in_order = 0;
    for (int i = 0; i < 200; i++) {
        places[i] = poll_at(&cfg, &t[i], T0 + 1).place;
        cr_assert(places[i] >= 1 && places[i] <= 200);
        seen[places[i]]++;
        in_order += places[i] == (uint32_t)i + 1;
    }
    for (int p = 1; p <= 200; p++)
        cr_assert_eq(seen[p], 1);
    cr_assert_lt(in_order, 20, "shuffled, not kept in join order");
    bo_queue_view_t late = join(&cfg, T0 + 2);
    cr_assert_eq(late.place, 201, "FIFO behind the pre-queue");
    close_all();
    open_all();
    for (int i = 0; i < 200; i++)
        cr_assert_eq(poll_at(&cfg, &t[i], T0 + 3).place, places[i], "ticket %d after reopen", i);
    cr_assert_eq(poll_at(&cfg, &late, T0 + 3).place, 201);
}

Test(queue, admissions_follow_the_rate_and_the_active_cap)
{
    bo_queue_config_t cfg = config(60, 2); /* one a second, two active at most */
    bo_queue_view_t t[5];
    for (int i = 0; i < 5; i++)
        t[i] = join(&cfg, T0 + i);
    cr_assert_eq(poll_at(&cfg, &t[0], T0 + 10).status, BO_QUEUE_ADMITTED, "the first at once");
    cr_assert_eq(poll_at(&cfg, &t[1], T0 + 500).status, BO_QUEUE_WAITING, "half a second later");
    cr_assert_eq(poll_at(&cfg, &t[1], T0 + 1010).status, BO_QUEUE_ADMITTED, "a second later");
    cr_assert_eq(poll_at(&cfg, &t[2], T0 + 5000).status, BO_QUEUE_WAITING, "two are active");
    bo_queue_stats_t st;
    bo_queue_stats(qs, EV, &cfg, T0 + 5000, &st);
    cr_assert_eq(st.active, 2);
    cr_assert_eq(st.admitted_total, 2);
    cr_assert_eq(st.waiting, 3);
    /* the first pass ends at its 60th second: one place frees up */
    bo_queue_view_t v = poll_at(&cfg, &t[2], T0 + 60000);
    cr_assert_eq(v.status, BO_QUEUE_ADMITTED);
    cr_assert_eq(poll_at(&cfg, &t[3], T0 + 60000).status, BO_QUEUE_WAITING, "one at a time");
    cr_assert_eq(poll_at(&cfg, &t[0], T0 + 60000).status, BO_QUEUE_EXPIRED);
}

Test(queue, a_shopper_gone_to_pay_lets_the_next_one_in)
{
    bo_queue_config_t cfg = config(60, 1); /* one a second, one active at most */
    bo_queue_view_t a = join(&cfg, T0), b = join(&cfg, T0 + 1);
    cr_assert_eq(poll_at(&cfg, &a, T0 + 10).status, BO_QUEUE_ADMITTED);
    cr_assert_eq(poll_at(&cfg, &b, T0 + 5000).status, BO_QUEUE_WAITING, "one is active");
    bo_queue_shopped(qs, EV, &cfg, a.place, T0 + 5000);
    bo_queue_shopped(qs, EV, &cfg, a.place, T0 + 5000); /* idempotent */
    bo_queue_stats_t st;
    bo_queue_stats(qs, EV, &cfg, T0 + 5000, &st);
    cr_assert_eq(st.active, 1, "b took a's place at once");
    cr_assert_eq(poll_at(&cfg, &b, T0 + 5001).status, BO_QUEUE_ADMITTED);
    cr_assert_eq(poll_at(&cfg, &a, T0 + 5001).status, BO_QUEUE_ADMITTED, "a's pass still holds");
    /* a's pass expiring later gives nothing back twice */
    bo_queue_stats(qs, EV, &cfg, T0 + 60000, &st);
    cr_assert_eq(st.active, 1, "b only");
    bo_queue_stats(qs, EV, &cfg, T0 + 66000, &st);
    cr_assert_eq(st.active, 0);
    bo_queue_shopped(qs, EV, &cfg, 99, T0 + 66000);      /* no such place: nothing */
    bo_queue_shopped(qs, EV, &cfg, b.place, T0 + 66000); /* expired: nothing */
    bo_queue_stats(qs, EV, &cfg, T0 + 66000, &st);
    cr_assert_eq(st.active, 0);
}

Test(queue, a_silent_visitor_is_skipped_and_does_not_block)
{
    bo_queue_config_t cfg = config(600, 10);
    cfg.paused = true;
    bo_queue_view_t t[3];
    for (int i = 0; i < 3; i++)
        t[i] = join(&cfg, T0 + i);
    cr_assert_eq(poll_at(&cfg, &t[2], T0 + 200000).status, BO_QUEUE_WAITING, "paused");
    cfg.paused = false;
    /* t[0] and t[1] have been silent for 301 s when their turn comes */
    cr_assert_eq(poll_at(&cfg, &t[2], T0 + 301000).status, BO_QUEUE_ADMITTED);
    cr_assert_eq(poll_at(&cfg, &t[0], T0 + 302000).status, BO_QUEUE_SKIPPED);
    cr_assert_eq(poll_at(&cfg, &t[1], T0 + 302000).status, BO_QUEUE_SKIPPED);
    bo_queue_stats_t st;
    bo_queue_stats(qs, EV, &cfg, T0 + 302000, &st);
    cr_assert_eq(st.skipped_total, 2);
    cr_assert_eq(st.admitted_total, 1);
}

Test(queue, passes_verify_and_refuse_forgeries_other_events_and_expiry)
{
    bo_queue_config_t cfg = config(600, 10);
    bo_queue_view_t a = join(&cfg, T0), b = join(&cfg, T0);
    bo_queue_view_t va = poll_at(&cfg, &a, T0 + 1000), vb = poll_at(&cfg, &b, T0 + 1000);
    cr_assert_eq(va.status, BO_QUEUE_ADMITTED);
    cr_assert_eq(vb.status, BO_QUEUE_ADMITTED);
    uint64_t ca = 0, cb = 0;
    size_t n = strlen(va.pass);
    cr_assert_eq(bo_queue_pass_check(qs, EV, va.pass, n, T0 + 2000, &ca, NULL), BO_QUEUE_PASS_OK);
    cr_assert_eq(bo_queue_pass_check(qs, EV, vb.pass, strlen(vb.pass), T0 + 2000, &cb, NULL),
                 BO_QUEUE_PASS_OK);
    cr_assert(ca != 0 && cb != 0 && ca != cb, "one shopper per pass");
    cr_assert_eq(bo_queue_pass_check(qs, EV, NULL, 0, T0, NULL, NULL), BO_QUEUE_PASS_MISSING);
    cr_assert_eq(bo_queue_pass_check(qs, EV + 1, va.pass, n, T0 + 2000, NULL, NULL),
                 BO_QUEUE_PASS_OTHER_EVENT);
    cr_assert_eq(bo_queue_pass_check(qs, EV, va.pass, n, T0 + 61000, NULL, NULL),
                 BO_QUEUE_PASS_EXPIRED);
    char forged[BO_QUEUE_PASS_MAX + 1];
    memcpy(forged, va.pass, n + 1);
    char *dot = strchr(forged + 3, '.'); /* the place, after the event */
    dot[1] = dot[1] == '9' ? '8' : '9';
    cr_assert_eq(bo_queue_pass_check(qs, EV, forged, n, T0 + 2000, NULL, NULL),
                 BO_QUEUE_PASS_INVALID);
    memcpy(forged, va.pass, n + 1);
    forged[n - 1] = forged[n - 1] == '0' ? '1' : '0';
    cr_assert_eq(bo_queue_pass_check(qs, EV, forged, n, T0 + 2000, NULL, NULL),
                 BO_QUEUE_PASS_INVALID);
    cr_assert_eq(bo_queue_pass_check(qs, EV, "qp.x", 4, T0, NULL, NULL), BO_QUEUE_PASS_INVALID);
    /* the key is durable: a reopened store accepts the pass */
    close_all();
    open_all();
    cr_assert_eq(bo_queue_pass_check(qs, EV, va.pass, n, T0 + 2000, NULL, NULL), BO_QUEUE_PASS_OK);
}

Test(queue, a_proof_of_work_counts_once)
{
    char ch[BO_QUEUE_CHALLENGE_MAX + 1], nonce[16];
    int64_t exp_ms;
    cr_assert_eq(bo_queue_pow_challenge(qs, EV, 0, T0, ch, &exp_ms), BO_EINVAL);
    cr_assert_eq(bo_queue_pow_challenge(qs, EV, 8, T0, ch, &exp_ms), 0);
    cr_assert_eq(exp_ms, T0 + 120000);
    size_t cl = strlen(ch);
    int good = 0, bad = 0;
    char s[16];
    for (;; good++) {
        snprintf(s, sizeof(s), "%d", good);
        if (bo_queue_pow_ok(ch, cl, s, strlen(s), 8))
            break;
    }
    for (;; bad++) {
        snprintf(nonce, sizeof(nonce), "%d", bad);
        if (!bo_queue_pow_ok(ch, cl, nonce, strlen(nonce), 8))
            break;
    }
    snprintf(nonce, sizeof(nonce), "%d", bad);
    cr_assert_eq(bo_queue_pow_check(qs, EV, 8, ch, cl, nonce, strlen(nonce), T0), BO_EPOWREQUIRED);
    snprintf(nonce, sizeof(nonce), "%d", good);
    cr_assert_eq(bo_queue_pow_check(qs, EV + 1, 8, ch, cl, nonce, strlen(nonce), T0),
                 BO_EPOWREQUIRED, "another event's challenge");
    cr_assert_eq(bo_queue_pow_check(qs, EV, 8, ch, cl, nonce, strlen(nonce), T0 + 120000),
                 BO_EPOWREQUIRED, "expired");
    cr_assert_eq(bo_queue_pow_check(qs, EV, 8, ch, cl, "a-b", 3, T0), BO_EPOWREQUIRED);
    cr_assert_eq(bo_queue_pow_check(qs, EV, 8, ch, cl, nonce, strlen(nonce), T0), 0);
    cr_assert_eq(bo_queue_pow_check(qs, EV, 8, ch, cl, nonce, strlen(nonce), T0 + 1),
                 BO_EPOWREQUIRED, "used once");
    ch[20] = ch[20] == 'a' ? 'b' : 'a';
    cr_assert_eq(bo_queue_pow_check(qs, EV, 8, ch, cl, nonce, strlen(nonce), T0), BO_EPOWREQUIRED,
                 "forged");
}
