/*
 * record.h - the durable form of a decision (bo_mut_t, live.h): a compact
 * binary record (varints, seat indices delta-coded) that the live layer
 * writes to the store's log, and the one switch that applies a decision to
 * an inventory, for live calls (live.c) and replay (live_catalog.c) alike.
 */
#ifndef BOXOFFICE_RECORD_H
#define BOXOFFICE_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "boxoffice/live.h"

/* An upper bound of bo_mut_encode's output for m. */
size_t bo_mut_max_size(const bo_mut_t *m);
/* Encode m into buf (bo_mut_max_size(m) bytes); returns the length. */
size_t bo_mut_encode(const bo_mut_t *m, uint8_t *buf);
/* Decode; seats and ga point into seat_buf (seat_cap entries) and ga_buf
 * (BO_HOLD_MAX_GA entries). Returns 0 or BO_ECORRUPT. */
int bo_mut_decode(const uint8_t *buf, size_t len, bo_mut_t *m, uint32_t *seat_buf,
                  uint32_t seat_cap, bo_ga_line_t *ga_buf);
/* What a live call needs from its decision besides the engine's status. */
typedef struct bo_mut_effect {
    bo_live_result_t *r; /* the answer: res (HOLD, BLOCK, UNBLOCK), released (PAY_FAILED) */
    bo_mut_t logged;     /* the record to write: the decision as the engine made it (a
                            hold's chosen seats, expiry and amount; a sale's content) */
    uint32_t *sold;      /* room for BO_HOLD_MAX_SEATS: the seats sold (sign 1) or no longer
                            sold (sign -1), which the database checks */
    uint32_t nsold;
    int32_t *ga_delta; /* per GA area, zeroed by the caller: tickets sold or given back */
    int sign;          /* 1, -1, or 0: no sale changed */
} bo_mut_effect_t;

/* Apply m to inv at at_ms: the one switch over enum bo_mut_op. fx is a live
 * call's (it gets the effects above); NULL for replay, where a HOLD is the
 * logged one (m->req NULL) and nothing else is computed. Returns the
 * engine's answer, 0 for every record of a consistent log, or BO_ECORRUPT
 * for an unknown op. */
int bo_mut_apply_fx(bo_inv_t *inv, const bo_mut_t *m, int64_t at_ms, bo_mut_effect_t *fx);
/* Replay: bo_mut_apply_fx without effects. */
int bo_mut_apply(bo_inv_t *inv, const bo_mut_t *m, int64_t at_ms);

#endif
