/*
 * clock.h - time, injected. The engine never reads a clock itself; the live
 * layer asks a bo_clock_t, which tests replace with a manual one.
 */
#ifndef BOXOFFICE_CLOCK_H
#define BOXOFFICE_CLOCK_H

#include <stdint.h>

typedef struct bo_clock {
    int64_t (*now_ms)(struct bo_clock *c); /* milliseconds since the Unix epoch */
} bo_clock_t;

/* The system's real-time clock (CLOCK_REALTIME). Static; never freed. */
bo_clock_t *bo_clock_system(void);

/* A clock that moves only when told (thread-safe). */
typedef struct bo_manual_clock {
    bo_clock_t base;
    int64_t now; /* accessed atomically */
} bo_manual_clock_t;

void bo_manual_clock_init(bo_manual_clock_t *c, int64_t start_ms);
void bo_manual_clock_advance(bo_manual_clock_t *c, int64_t delta_ms);

#endif
