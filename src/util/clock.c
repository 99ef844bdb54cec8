/*
 * clock.c - the system clock and the manual clock of tests (clock.h).
 */
#include <time.h>

#include "boxoffice/clock.h"

static int64_t system_now(bo_clock_t *c)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bo_clock_t system_clock = {system_now};

bo_clock_t *bo_clock_system(void)
{
    return &system_clock;
}

static int64_t manual_now(bo_clock_t *c)
{
    return __atomic_load_n(&((bo_manual_clock_t *)c)->now, __ATOMIC_ACQUIRE);
}

void bo_manual_clock_init(bo_manual_clock_t *c, int64_t start_ms)
{
    c->base.now_ms = manual_now;
    c->now = start_ms;
}

void bo_manual_clock_advance(bo_manual_clock_t *c, int64_t delta_ms)
{
    __atomic_add_fetch(&c->now, delta_ms, __ATOMIC_ACQ_REL);
}
