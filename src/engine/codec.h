/*
 * codec.h - the lists that log records (record.c) and snapshots
 * (snapshot.c) share: seat indices delta-coded as signed varints after their
 * count, GA lines as (area, quantity) pairs after theirs. Decoders check
 * every bound and answer BO_ECORRUPT.
 */
#ifndef BOXOFFICE_CODEC_H
#define BOXOFFICE_CODEC_H

#include "boxoffice/engine.h"
#include "boxoffice/error.h"
#include "util/varint.h"

static inline uint8_t *bo__put_seats(uint8_t *p, const uint32_t *seats, uint32_t n)
{
    int64_t prev = 0;
    p = bo_put_uv(p, n);
    for (uint32_t i = 0; i < n; i++) {
        p = bo_put_sv(p, (int64_t)seats[i] - prev);
        prev = seats[i];
    }
    return p;
}

static inline int bo__get_seats(bo_reader_t *r, uint32_t *seats, uint32_t max, uint32_t *n)
{
    uint64_t count = bo_get_uv(r);
    if (count > max)
        return BO_ECORRUPT;
    int64_t prev = 0;
    for (uint64_t i = 0; i < count && !r->bad; i++) {
        int64_t d = bo_get_sv(r);
        if (d < -(int64_t)UINT32_MAX || d > (int64_t)UINT32_MAX)
            return BO_ECORRUPT;
        prev += d;
        if (prev < 0 || prev > UINT32_MAX)
            return BO_ECORRUPT;
        seats[i] = (uint32_t)prev;
    }
    *n = (uint32_t)count;
    return r->bad ? BO_ECORRUPT : 0;
}

static inline uint8_t *bo__put_ga(uint8_t *p, const bo_ga_line_t *ga, uint32_t n)
{
    p = bo_put_uv(p, n);
    for (uint32_t i = 0; i < n; i++) {
        p = bo_put_uv(p, ga[i].area);
        p = bo_put_uv(p, ga[i].quantity);
    }
    return p;
}

/* At most BO_HOLD_MAX_GA lines into ga. */
static inline int bo__get_ga(bo_reader_t *r, bo_ga_line_t *ga, uint32_t *n)
{
    uint64_t count = bo_get_uv(r);
    if (count > BO_HOLD_MAX_GA)
        return BO_ECORRUPT;
    for (uint64_t i = 0; i < count; i++) {
        uint64_t area = bo_get_uv(r), quantity = bo_get_uv(r);
        if (area > UINT32_MAX || quantity > UINT32_MAX)
            return BO_ECORRUPT;
        ga[i] = (bo_ga_line_t){(uint32_t)area, (uint32_t)quantity};
    }
    *n = (uint32_t)count;
    return r->bad ? BO_ECORRUPT : 0;
}

#endif
