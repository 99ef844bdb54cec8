/*
 * idem_table.h - the table of Idempotency-Keys in memory (idem_table.c),
 * behind live_idem.c: keys by a keyed hash (SipHash, a key drawn when the
 * table is made, so nobody can choose keys that collide), a table that
 * grows a little at a time, expiry while running, and caps on the total
 * and per client address. Thread-safe: one mutex, held for a lookup and a
 * few constant-time steps.
 */
#ifndef BOXOFFICE_IDEM_TABLE_H
#define BOXOFFICE_IDEM_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "boxoffice/live.h"

/* Defaults (docs/architecture.md "Bounds"). An answer is kept
 * BO_IDEM_TTL_MS (live.h, 24 h, as Stripe does); a refusal (an answer
 * >= 400, which decided nothing) only BO_IDEM_REFUSAL_TTL_MS, in memory. */
#define BO_IDEM_REFUSAL_TTL_MS  (10 * 60 * 1000LL)
#define BO_IDEM_KEYS_MAX        1000000u /* keys in memory, all clients */
#define BO_IDEM_PER_CLIENT_MAX  1000u    /* keys alive per client address */
#define BO_IDEM_CLIENT_ADDR_MAX 64u      /* longer client names are cut */

typedef struct bo_idem_limits {
    int64_t ttl_ms;          /* answers */
    int64_t refusal_ttl_ms;  /* refusals; <= ttl_ms */
    uint32_t keys_max;       /* > 0 */
    uint32_t per_client_max; /* > 0 */
} bo_idem_limits_t;

/* The defaults above. */
void bo_idem_limits_default(bo_idem_limits_t *lim);

typedef struct bo_idem_table bo_idem_table_t;

/* A new empty table (lim copied), or NULL when out of memory. */
bo_idem_table_t *bo_idem_table_new(const bo_idem_limits_t *lim);
void bo_idem_table_free(bo_idem_table_t *t);

/*
 * Reserve key (NUL-terminated, 1..BO_IDEM_KEY_MAX bytes) for the request
 * named by hash, sent by client (a client address; NULL: not counted per
 * client), at now_ms. Returns 0 (new: end it with bo_idem_table_end), 1
 * (answered: *ans is a copy, the caller frees ans->body), BO_EIDEMMISMATCH,
 * BO_EIDEMBUSY, BO_ERATE (client holds per_client_max keys: *retry_ms says
 * when one of the sort it is flooding with, a refusal, has expired), or
 * BO_ENOMEM. Past keys_max the oldest key is forgotten: refusals first,
 * then answers, oldest first.
 */
int bo_idem_table_begin(bo_idem_table_t *t, const char *key, const uint8_t hash[32],
                        const char *client, int64_t now_ms, bo_idem_answer_t *ans,
                        int64_t *retry_ms);
/*
 * End a reserved key: with its answer (body copied; len bytes) or, body
 * NULL, freed again. A refusal (status >= 400) is kept refusal_ttl_ms from
 * now_ms, any other answer ttl_ms from its reservation. A key that is gone
 * (expired, evicted) is left so.
 */
void bo_idem_table_end(bo_idem_table_t *t, const char *key, int status, const char *body,
                       size_t len, int64_t now_ms);
/*
 * A durable answer given at at_ms, at start (oldest first). Returns 0,
 * BO_ECORRUPT (the key is there already) or BO_ENOMEM. Expired ones are
 * skipped; past keys_max the oldest are forgotten.
 */
int bo_idem_table_load(bo_idem_table_t *t, const char *key, const uint8_t hash[32], int status,
                       const char *body, size_t len, int64_t at_ms, int64_t now_ms);
/* Drop up to max expired keys; returns how many. Every call above does a
 * few of these too. */
uint32_t bo_idem_table_expire(bo_idem_table_t *t, int64_t now_ms, uint32_t max);

/* For tests and metrics. */
typedef struct bo_idem_table_stats {
    size_t keys;      /* in memory */
    size_t refusals;  /* of which refusals */
    size_t clients;   /* addresses with a key */
    size_t buckets;   /* of the hash table being filled */
    uint64_t evicted; /* forgotten past keys_max, ever */
    uint64_t expired; /* dropped by expiry, ever */
} bo_idem_table_stats_t;
void bo_idem_table_stats(bo_idem_table_t *t, bo_idem_table_stats_t *out);
/* Keys alive of client (0 for an unknown one). */
uint32_t bo_idem_table_client_keys(bo_idem_table_t *t, const char *client);

#endif
