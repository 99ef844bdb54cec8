/*
 * rate.c - token buckets by key (rate.h): how many holds, checkouts and
 * card attempts one client address may make (src/api/limit.c), so that
 * one script cannot take an on-sale at its own pace, nor test stolen card
 * numbers through the confirm endpoint at the gateway's.
 *
 * Workload: one take per limited request, up to ~10^5 a second in an
 * on-sale, from any loop thread; a take is a keyed hash and a scan of 4
 * slots under one mutex per table (~100 ns held). Memory is bounded
 * whatever the number of addresses: BO_RATE_SLOTS buckets in sets of
 * BO_RATE_WAYS, a key's set chosen by a keyed hash (an attacker cannot aim
 * at another address's set). A new key takes the bucket of its set that
 * has the most tokens (a free one, else the most idle): a key that is
 * spending its tokens is the last to be forgotten, so churning addresses
 * cannot reset it, and honest buyers never share a bucket.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "util/assert.h"
#include "util/rate.h"

#define MILLI 1000 /* tokens are counted in thousandths */

struct slot {
    uint64_t key;     /* keyed hash of the owner's key; 0: free */
    int64_t tokens_m; /* thousandths of a token, at last_ms */
    int64_t last_ms;
};

struct bo_rate {
    pthread_mutex_t mu;
    uint32_t burst, period_ms;
    uint8_t hash_key[crypto_shorthash_KEYBYTES];
    struct slot slots[BO_RATE_SLOTS];
};

bo_rate_t *bo_rate_new(uint32_t burst, uint32_t period_ms)
{
    if (burst == 0 || period_ms == 0 || sodium_init() < 0)
        return NULL;
    bo_rate_t *rl = calloc(1, sizeof(*rl));
    if (!rl)
        return NULL;
    pthread_mutex_init(&rl->mu, NULL);
    rl->burst = burst;
    rl->period_ms = period_ms;
    crypto_shorthash_keygen(rl->hash_key);
    return rl;
}

void bo_rate_free(bo_rate_t *rl)
{
    if (!rl)
        return;
    pthread_mutex_destroy(&rl->mu);
    free(rl);
}

/* The slot's tokens at now_ms, refilled at burst per period_ms (at most
 * burst: a bucket whose rate went down holds the new burst at most). */
static int64_t refill(const struct slot *s, uint32_t burst, uint32_t period_ms, int64_t now_ms)
{
    int64_t full = (int64_t)burst * MILLI, dt = now_ms - s->last_ms;
    if (dt <= 0)
        return s->tokens_m < full ? s->tokens_m : full;
    if (dt >= period_ms)
        return full;
    int64_t t = s->tokens_m + dt * full / period_ms;
    return t < full ? t : full;
}

int64_t bo_rate_take(bo_rate_t *rl, const char *key, size_t len, int64_t now_ms)
{
    return bo_rate_take_at(rl, key, len, rl->burst, rl->period_ms, now_ms);
}

int64_t bo_rate_take_at(bo_rate_t *rl, const char *key, size_t len, uint32_t burst,
                        uint32_t period_ms, int64_t now_ms)
{
    BO_ASSERT(burst > 0 && period_ms > 0);
    uint64_t h;
    crypto_shorthash((uint8_t *)&h, (const uint8_t *)key, len, rl->hash_key);
    h |= 1; /* never 0: 0 marks a free slot */
    int64_t full = (int64_t)burst * MILLI, wait_ms = 0;
    pthread_mutex_lock(&rl->mu);
    struct slot *set = &rl->slots[(h % (BO_RATE_SLOTS / BO_RATE_WAYS)) * BO_RATE_WAYS], *s = NULL;
    for (unsigned i = 0; i < BO_RATE_WAYS && !s; i++)
        if (set[i].key == h)
            s = &set[i];
    if (!s) { /* a new key: the set's free or most idle bucket, full */
        int64_t most = -1;
        for (unsigned i = 0; i < BO_RATE_WAYS; i++) {
            int64_t t =
                set[i].key ? refill(&set[i], burst, period_ms, now_ms) : full + 1; /* free first */
            if (t > most)
                s = &set[i], most = t;
        }
        *s = (struct slot){h, full, now_ms};
    }
    int64_t tokens = refill(s, burst, period_ms, now_ms);
    if (tokens >= MILLI) {
        tokens -= MILLI;
    } else { /* the time the missing part takes to come back, rounded up */
        int64_t per_token_m = full;
        wait_ms = ((MILLI - tokens) * period_ms + per_token_m - 1) / per_token_m;
    }
    s->tokens_m = tokens;
    s->last_ms = now_ms > s->last_ms ? now_ms : s->last_ms;
    BO_ASSERT(tokens >= 0 && tokens <= full);
    pthread_mutex_unlock(&rl->mu);
    return wait_ms;
}
