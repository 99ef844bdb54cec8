/*
 * rate.h - token buckets by key (rate.c): a table of buckets keyed by
 * short strings (client addresses), each key taking up to burst tokens at
 * once, refilled at burst per period_ms. The API limits holds, checkouts
 * and card attempts per client address with it (src/api/limit.c).
 */
#ifndef BOXOFFICE_UTIL_RATE_H
#define BOXOFFICE_UTIL_RATE_H

#include <stddef.h>
#include <stdint.h>

/* Bounded memory: BO_RATE_SLOTS buckets, in sets of BO_RATE_WAYS chosen by
 * a keyed hash; a new key takes its set's most idle bucket (rate.c). */
#define BO_RATE_SLOTS 16384u
#define BO_RATE_WAYS  4u
typedef struct bo_rate bo_rate_t;
/* NULL when out of memory; burst and period_ms > 0. The caller owns it:
 * bo_rate_free. */
bo_rate_t *bo_rate_new(uint32_t burst, uint32_t period_ms);
void bo_rate_free(bo_rate_t *rl);
/* Take one token for key at now_ms: 0, or how many ms until one is there
 * (nothing taken). Any thread. */
int64_t bo_rate_take(bo_rate_t *rl, const char *key, size_t len, int64_t now_ms);
/* The same at this take's rate (burst > 0 per period_ms > 0), so that one
 * table serves events of different rates: a key's bucket refills at the
 * rate of its latest take and never holds more than that burst. */
int64_t bo_rate_take_at(bo_rate_t *rl, const char *key, size_t len, uint32_t burst,
                        uint32_t period_ms, int64_t now_ms);

#endif
