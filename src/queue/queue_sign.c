/*
 * queue_sign.c - what the waiting room signs and draws: passes (HMAC-
 * SHA-512-256, libsodium crypto_auth, under a key kept in the store so that
 * a restart, or another node with the same store, accepts them), the
 * proof-of-work challenges (signed under a key derived from it, so any
 * node can check them without state; each used once), and the shuffle's
 * permutation.
 *
 * Workload: a pass check on every hold and checkout of a waiting-room
 * event (one HMAC of ~60 bytes, ~1 us, no store read); a challenge check
 * per join when proof of work is on (two hashes and a probe of a fixed
 * table).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boxoffice/error.h"
#include "queue/queue_internal.h"
#include "util/assert.h"

/* ---- the shuffle ------------------------------------------------------------- */

/* A ChaCha20 stream keyed by the seed, read 4 bytes at a time. */
struct stream {
    const uint8_t *seed;
    uint8_t block[64];
    uint32_t used, counter;
};

static uint32_t next_u32(struct stream *s)
{
    static const uint8_t zeros[64], nonce[crypto_stream_chacha20_ietf_NONCEBYTES];
    if (s->used == sizeof(s->block)) {
        crypto_stream_chacha20_ietf_xor_ic(s->block, zeros, sizeof(s->block), nonce, s->counter++,
                                           s->seed);
        s->used = 0;
    }
    uint32_t x;
    memcpy(&x, s->block + s->used, sizeof(x));
    s->used += sizeof(x);
    return x;
}

/* Uniform in [0, bound): draws past the largest multiple of bound are
 * thrown away, so no value is favoured. */
static uint32_t uniform(struct stream *s, uint32_t bound)
{
    BO_ASSERT(bound > 0);
    uint32_t limit = UINT32_MAX - (UINT32_MAX % bound + 1) % bound, x;
    do
        x = next_u32(s);
    while (x > limit);
    return x % bound;
}

void bo_queue_shuffle(const uint8_t seed[32], uint32_t *perm, uint32_t n)
{
    struct stream s = {.seed = seed, .used = sizeof(s.block)};
    for (uint32_t i = 0; i < n; i++)
        perm[i] = i;
    for (uint32_t i = n; i > 1; i--) { /* Fisher-Yates: perm[i-1] from [0, i) */
        uint32_t j = uniform(&s, i), t = perm[i - 1];
        perm[i - 1] = perm[j];
        perm[j] = t;
    }
    sodium_memzero(s.block, sizeof(s.block));
}

/* ---- passes ------------------------------------------------------------------ */

const char *bo_queue_pass_reason(int verdict)
{
    static const char *const names[] = {"ok", "missing", "invalid", "expired", "other_event"};
    return (unsigned)verdict < sizeof(names) / sizeof(names[0]) ? names[verdict] : "invalid";
}

void bo__queue_pass_make(bo_queues_t *qs, uint64_t event, uint32_t place, uint32_t admitted_s,
                         uint32_t expires_s, char out[BO_QUEUE_PASS_MAX + 1])
{
    uint8_t mac[crypto_auth_BYTES];
    int n = snprintf(out, BO_QUEUE_PASS_MAX + 1, "qp.%016llx.%u.%u.%u", (unsigned long long)event,
                     place, admitted_s, expires_s);
    BO_ASSERT(n > 0 && n + 1 + 2 * crypto_auth_BYTES <= (int)BO_QUEUE_PASS_MAX);
    crypto_auth(mac, (const uint8_t *)out, (size_t)n, qs->key);
    out[n] = '.';
    sodium_bin2hex(out + n + 1, 2 * crypto_auth_BYTES + 1, mac, sizeof(mac));
}

int bo_queue_pass_check(bo_queues_t *qs, uint64_t event, const char *pass, size_t len,
                        int64_t now_ms, uint64_t *customer, uint32_t *place_out)
{
    char msg[BO_QUEUE_PASS_MAX + 1];
    uint8_t mac[crypto_auth_BYTES];
    unsigned long long ev;
    unsigned place, admitted_s, expires_s;
    size_t got = 0, mlen = len - 1 - 2 * crypto_auth_BYTES;
    int used = 0;
    if (!pass || len == 0)
        return BO_QUEUE_PASS_MISSING;
    if (len > BO_QUEUE_PASS_MAX || len < 2 * crypto_auth_BYTES + 8 || pass[mlen] != '.' ||
        sodium_hex2bin(mac, sizeof(mac), pass + mlen + 1, 2 * crypto_auth_BYTES, NULL, &got,
                       NULL) ||
        got != sizeof(mac) || crypto_auth_verify(mac, (const uint8_t *)pass, mlen, qs->key))
        return BO_QUEUE_PASS_INVALID;
    memcpy(msg, pass, mlen);
    msg[mlen] = '\0';
    if (sscanf(msg, "qp.%16llx.%u.%u.%u%n", &ev, &place, &admitted_s, &expires_s, &used) != 4 ||
        (size_t)used != mlen)
        return BO_QUEUE_PASS_INVALID; /* signed by us, so never; but checked */
    if (ev != event)
        return BO_QUEUE_PASS_OTHER_EVENT;
    if (now_ms / 1000 >= (int64_t)expires_s)
        return BO_QUEUE_PASS_EXPIRED;
    if (customer) {
        uint8_t in[12], h[8];
        memcpy(in, &event, 8);
        memcpy(in + 8, &place, 4);
        crypto_generichash(h, sizeof(h), in, sizeof(in), (const uint8_t *)"bo-queue-pass", 13);
        memcpy(customer, h, sizeof(*customer));
        *customer |= 1; /* 0 is the anonymous customer */
    }
    if (place_out)
        *place_out = place;
    return BO_QUEUE_PASS_OK;
}

/* ---- proof of work -------------------------------------------------------------- */

bool bo_queue_pow_ok(const char *challenge, size_t clen, const char *nonce, size_t nlen,
                     uint32_t bits)
{
    uint8_t h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, (const uint8_t *)challenge, clen);
    crypto_hash_sha256_update(&st, (const uint8_t *)":", 1);
    crypto_hash_sha256_update(&st, (const uint8_t *)nonce, nlen);
    crypto_hash_sha256_final(&st, h);
    BO_ASSERT(bits <= 8 * sizeof(h));
    for (uint32_t b = 0; b < bits; b++)
        if (h[b / 8] & (0x80u >> (b % 8)))
            return false;
    return true;
}

static void challenge_mac(bo_queues_t *qs, const char *msg, size_t len, char hex[33])
{
    uint8_t mac[crypto_auth_BYTES];
    crypto_auth(mac, (const uint8_t *)msg, len, qs->pow_key);
    sodium_bin2hex(hex, 33, mac, 16);
}

int bo_queue_pow_challenge(bo_queues_t *qs, uint64_t event, uint32_t difficulty, int64_t now_ms,
                           char out[BO_QUEUE_CHALLENGE_MAX + 1], int64_t *expires_at_ms)
{
    if (difficulty == 0)
        return BO_EINVAL;
    uint64_t id;
    char mac[33];
    randombytes_buf(&id, sizeof(id));
    uint32_t expires_s = (uint32_t)(now_ms / 1000) + BO_QUEUE_POW_TTL_S;
    int n = snprintf(out, BO_QUEUE_CHALLENGE_MAX + 1, "%016llx.%u.%016llx",
                     (unsigned long long)event, expires_s, (unsigned long long)(id | 1));
    challenge_mac(qs, out, (size_t)n, mac);
    snprintf(out + n, BO_QUEUE_CHALLENGE_MAX + 1 - (size_t)n, ".%s", mac);
    *expires_at_ms = (int64_t)expires_s * 1000;
    return 0;
}

/* Mark challenge id used until expires_s: 0, BO_EPOWREQUIRED (used
 * already) or BO_EBUSY (no room). */
static int use_once(bo_queues_t *qs, uint64_t id, uint32_t expires_s, uint32_t now_s)
{
    int rc = BO_EBUSY;
    pthread_mutex_lock(&qs->pow_mu);
    if (!qs->pow_used)
        qs->pow_used = calloc(BO__POW_USED_SLOTS, sizeof(*qs->pow_used));
    bo__pow_used_t *free_slot = NULL;
    for (uint32_t k = 0; qs->pow_used && k < BO__POW_USED_PROBE; k++) {
        bo__pow_used_t *s = &qs->pow_used[(id + k) & (BO__POW_USED_SLOTS - 1)];
        bool live = s->id && s->expires_s > now_s;
        if (live && s->id == id) {
            free_slot = NULL;
            rc = BO_EPOWREQUIRED;
            break;
        }
        if (!live && !free_slot)
            free_slot = s;
    }
    if (free_slot) {
        *free_slot = (bo__pow_used_t){id, expires_s};
        rc = 0;
    }
    pthread_mutex_unlock(&qs->pow_mu);
    return rc;
}

int bo_queue_pow_check(bo_queues_t *qs, uint64_t event, uint32_t difficulty, const char *challenge,
                       size_t clen, const char *nonce, size_t nlen, int64_t now_ms)
{
    char msg[BO_QUEUE_CHALLENGE_MAX + 1], mac[33];
    unsigned long long ev, id;
    unsigned expires_s;
    int used = 0;
    if (!challenge || !nonce || clen > BO_QUEUE_CHALLENGE_MAX || clen < 34 || nlen == 0 ||
        nlen > BO_QUEUE_NONCE_MAX)
        return BO_EPOWREQUIRED;
    for (size_t k = 0; k < nlen; k++)
        if (!((nonce[k] >= '0' && nonce[k] <= '9') || (nonce[k] >= 'a' && nonce[k] <= 'z') ||
              (nonce[k] >= 'A' && nonce[k] <= 'Z')))
            return BO_EPOWREQUIRED;
    memcpy(msg, challenge, clen - 33);
    msg[clen - 33] = '\0';
    challenge_mac(qs, msg, clen - 33, mac);
    if (challenge[clen - 33] != '.' || sodium_memcmp(mac, challenge + clen - 32, 32) ||
        sscanf(msg, "%16llx.%u.%16llx%n", &ev, &expires_s, &id, &used) != 3 ||
        (size_t)used != clen - 33 || ev != event || (int64_t)expires_s <= now_ms / 1000 || !id)
        return BO_EPOWREQUIRED;
    if (!bo_queue_pow_ok(challenge, clen, nonce, nlen, difficulty))
        return BO_EPOWREQUIRED;
    return use_once(qs, id, expires_s, (uint32_t)(now_ms / 1000));
}
