/*
 * record.h - the durable form of one engine mutation: a compact binary
 * record (varints, seat indices delta-coded) that the live layer writes to
 * the store's log and that recovery replays through the same engine calls.
 */
#ifndef BOXOFFICE_RECORD_H
#define BOXOFFICE_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "boxoffice/engine.h"

enum bo_mut_op {
    BO_MUT_HOLD = 1,
    BO_MUT_RELEASE = 2,
    BO_MUT_PAY_START = 3,
    BO_MUT_PAY_FAILED = 4,
    BO_MUT_CONFIRM = 5,
    BO_MUT_CANCEL = 6,
    BO_MUT_BLOCK = 7,
    BO_MUT_UNBLOCK = 8,
};

typedef struct bo_mut {
    uint8_t op;
    bo_hold_id_t id;       /* every op but BLOCK/UNBLOCK */
    uint64_t customer;     /* HOLD, CONFIRM */
    int64_t expires_at_ms; /* HOLD */
    int64_t deadline_ms;   /* PAY_START */
    int64_t amount_cents;  /* HOLD, CONFIRM */
    const uint32_t *seats; /* HOLD, CONFIRM, BLOCK, UNBLOCK */
    uint32_t nseats;
    const bo_ga_line_t *ga; /* HOLD, CONFIRM */
    uint32_t nga;
} bo_mut_t;

/* An upper bound of bo_mut_encode's output for m. */
size_t bo_mut_max_size(const bo_mut_t *m);
/* Encode m into buf (bo_mut_max_size(m) bytes); returns the length. */
size_t bo_mut_encode(const bo_mut_t *m, uint8_t *buf);
/* Decode; seats and ga point into seat_buf (seat_cap entries) and ga_buf
 * (BO_HOLD_MAX_GA entries). Returns 0 or BO_ECORRUPT. */
int bo_mut_decode(const uint8_t *buf, size_t len, bo_mut_t *m, uint32_t *seat_buf,
                  uint32_t seat_cap, bo_ga_line_t *ga_buf);
/* Re-apply a logged mutation at its logged time. Returns the engine's
 * answer, which is 0 for every record of a consistent log. */
int bo_mut_apply(bo_inv_t *inv, const bo_mut_t *m, int64_t at_ms);

#endif
