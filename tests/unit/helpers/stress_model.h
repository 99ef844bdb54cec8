/*
 * stress_model.h - a trivially simple model of one live event, for the
 * threaded stress test (tests/unit/test_stress.c): the acknowledged
 * mutations (what each calling thread was told), replayed in log-sequence
 * order at the times the log gives, are refused if they hold, sell or block
 * a seat that is not free or take a GA area past its capacity, and end in
 * the state the engine must be in. It knows only seats, GA counters and
 * hold states: a seat array of owners and a list of holds, no engine code.
 *
 * Prices are those fx_venue_event sets (1000 * (category + 1) cents).
 * Failed checks print and abort (plain_test.h).
 */
#ifndef BOXOFFICE_STRESS_MODEL_H
#define BOXOFFICE_STRESS_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "boxoffice/engine.h"
#include "boxoffice/u64map.h"
#include "live_fixture.h"

#define SM_MAXQ    4          /* seats per hold or block */
#define SM_BLOCKED UINT32_MAX /* seat owner: blocked */

/* One acknowledged mutation. */
typedef struct sm_ack {
    uint64_t seq;
    uint64_t hold;                       /* hold number (fx_id), 0 for blocks */
    int64_t at_ms;                       /* when it was decided: from its log record */
    int64_t expires_at_ms, amount_cents; /* holds, as answered */
    uint8_t ev, op, kind;                /* op: enum bo_mut_op; ev, kind: the test's */
    uint8_t released;                    /* pay_failed, as answered */
    uint8_t nseats, nga;
    uint32_t seats[SM_MAXQ];
    bo_ga_line_t ga[2];
} sm_ack_t;

typedef struct sm_hold {
    uint64_t n;
    int64_t exp;
    uint8_t st, failures, nseats, nga; /* st: enum bo_hold_status, NONE once gone */
    uint32_t seats[SM_MAXQ];
    bo_ga_line_t ga[2];
} sm_hold_t;

typedef struct sm_model {
    const bo_layout_t *l;
    int64_t ttl_ms;
    uint32_t *owner; /* per seat: 0 free, SM_BLOCKED, else hold index + 1 */
    sm_hold_t *holds;
    size_t nholds, cap;
    bo_u64map_t index; /* hold number -> index + 1 */
    uint32_t *live;    /* HELD or PAYING holds, for the sweep (lazily pruned) */
    size_t nlive;
    uint32_t ga_held[16], ga_sold[16];
    /* What the replay went through: holds expired, late confirms (seats
     * taken again), holds released by a third failed payment or by one
     * after their expiry, PAYING holds confirmed after their expiry. */
    uint64_t expired, late, third_failures, failed_past_expiry, paid_past_expiry;
    char err[300];
} sm_model_t;

/* An empty event at layout l (which must outlive the model), holds made
 * with a TTL of ttl_ms. */
void sm_init(sm_model_t *m, const bo_layout_t *l, int64_t ttl_ms);
void sm_free(sm_model_t *m);
/* Apply a, the next acknowledgement in seq order, after sweeping to its
 * time. Returns 0, or -1 with why the engine should not have answered so in
 * m->err. */
int sm_apply(sm_model_t *m, const sm_ack_t *a);
/* Let the HELD holds expired at now_ms go (reads do the same). */
void sm_sweep(sm_model_t *m, int64_t now_ms);
/* The model's hold with that number, whatever its state, or NULL. */
const sm_hold_t *sm_get(const sm_model_t *m, uint64_t hold);
/* The engine's state s of event e equals the model's: every seat, GA
 * counter and count (check it at the time of the last sweep). */
void sm_check_state(const sm_model_t *m, const fx_state_t *s, uint32_t e);
/* Zero overselling from the acknowledgements alone (no time, no model): in
 * seq order, no seat is in two confirmed and not cancelled holds and no GA
 * area is sold past capacity. by_seq[i] has seq i + 1. */
void sm_check_sold_once(sm_ack_t **by_seq, size_t n, const bo_layout_t *l, uint32_t e);

/* An fx_db_log_each visitor: each log record of the file, in seq order,
 * must be the acknowledgement of its seq (operation, hold, seats, GA,
 * expiry, amount) and time never goes back; it sets each one's at_ms. */
typedef struct sm_log_check {
    sm_ack_t **by_seq;
    size_t n;
    uint64_t next; /* records seen */
    int64_t last_ms;
    char err[200];
} sm_log_check_t;
int sm_log_visit(void *ctx, const fx_logrec_t *rec);

#endif
