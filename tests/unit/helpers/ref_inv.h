/*
 * ref_inv.h - the reference inventory of the model test: the semantics of
 * engine.h written the obvious way (flat arrays, linear scans, no heap, no
 * journal), so that it is easy to trust. tests/unit/test_model.c runs the
 * same random calls against it and against bo_inv_* and compares every
 * answer.
 *
 * Workload: small venues (hundreds of seats, at most a few hundred holds);
 * every call is O(seats + holds). Expiry is applied by ref_inv_tick(now), which
 * every call taking now runs first: a HELD hold with expires_at <= now is
 * simply deleted (time never goes back, so gone is gone).
 *
 * Where engine.h is silent the readings chosen are listed at the top of
 * tests/unit/test_model.c; each function below follows them.
 */
#ifndef BOXOFFICE_TEST_REF_INV_H
#define BOXOFFICE_TEST_REF_INV_H

#include <stdint.h>

#include "boxoffice/engine.h"

typedef struct ref_hold {
    bo_hold_id_t id;
    uint8_t status; /* BO_HOLD_HELD, _PAYING, _SOLD; BO_HOLD_NONE: free entry */
    uint8_t pay_failures;
    uint8_t late; /* made by a confirm of a gone hold: created/expires unchecked */
    uint64_t customer;
    uint64_t client; /* the caps' key; 0: none */
    int64_t created_ms;
    int64_t expires_at_ms;
    int64_t pay_deadline_ms;
    int64_t amount_cents;
    uint32_t seats[BO_HOLD_MAX_SEATS];
    uint32_t nseats;
    bo_ga_line_t ga[BO_HOLD_MAX_GA];
    uint32_t nga;
} ref_hold_t;

typedef struct ref_inv {
    const bo_layout_t *l;
    bo_inv_config_t cfg; /* defaults applied: ttl 0 -> 300000, max_holds 0 -> 1<<20 */
    uint8_t *blocked;    /* per seat */
    uint32_t *owner;     /* per seat: index into holds, or BO_NONE */
    ref_hold_t *holds;
    uint32_t cap; /* entries; enough for every unit of the venue */
    uint32_t hwm; /* entries [0, hwm) may be used */
    /* Holds expired since the engine last swept, at least / at most: every
     * successful mutation sweeps first; a failed one may or may not have. */
    uint32_t unswept_lo, unswept_hi;
} ref_inv_t;

/* A new reference for layout (not copied); aborts on ENOMEM. */
ref_inv_t *ref_inv_new(const bo_layout_t *l, const bo_inv_config_t *cfg);
void ref_inv_free(ref_inv_t *r);
/* dst becomes a copy of src; both made by ref_new with the same layout. */
void ref_inv_copy(ref_inv_t *dst, const ref_inv_t *src);
void ref_inv_set_config(ref_inv_t *r, const bo_inv_config_t *cfg);
/* Delete every HELD hold with expires_at_ms <= now. */
void ref_inv_tick(ref_inv_t *r, int64_t now_ms);

/*
 * The answer bo_inv_hold must give, without changing any hold: 0, or an
 * error with res->unavailable / ga_short filled (in request order) on
 * BO_EUNAVAILABLE. For best available it only decides whether something
 * fits (ref_best_fits); which seats is the engine's choice, judged by
 * ref_best_judge.
 */
int ref_inv_hold_check(ref_inv_t *r, const bo_hold_req_t *req, int64_t now_ms, bo_hold_res_t *res);
/* Make the hold ref_hold_check accepted, on seats (the request's or the
 * seats best available chose); fills res->expires_at_ms, amount_cents and
 * seats. */
void ref_inv_hold_apply(ref_inv_t *r, const bo_hold_req_t *req, const uint32_t *seats,
                        uint32_t nseats, int64_t now_ms, bo_hold_res_t *res);

int ref_inv_release(ref_inv_t *r, const bo_hold_id_t *id, int64_t now_ms);
int ref_inv_pay_start(ref_inv_t *r, const bo_hold_id_t *id, int64_t deadline_ms, int64_t now_ms);
int ref_inv_pay_failed(ref_inv_t *r, const bo_hold_id_t *id, int64_t now_ms, int *released);
int ref_inv_confirm(ref_inv_t *r, const bo_hold_id_t *id, const uint32_t *seats, uint32_t nseats,
                    const bo_ga_line_t *ga, uint32_t nga, uint64_t customer, int64_t amount_cents,
                    int64_t now_ms);
int ref_inv_cancel(ref_inv_t *r, const bo_hold_id_t *id, int64_t now_ms);
/* block != 0: block, else unblock. res may be NULL. */
int ref_inv_block(ref_inv_t *r, int block, const uint32_t *seats, uint32_t nseats, int64_t now_ms,
                  bo_hold_res_t *res);
/* The range of what bo_inv_expire(now) may answer: the holds expired since
 * the engine last swept (see unswept_lo/hi). */
void ref_inv_expire(ref_inv_t *r, int64_t now_ms, uint32_t *lo, uint32_t *hi);

/* Reads; call ref_inv_tick(now) first when time moved. */
const ref_hold_t *ref_inv_find(const ref_inv_t *r, const bo_hold_id_t *id);
enum bo_seat_state ref_inv_seat_state(const ref_inv_t *r, uint32_t seat);
void ref_inv_counts(const ref_inv_t *r, bo_inv_counts_t *c); /* version left 0 */
uint32_t ref_inv_category_available(const ref_inv_t *r, uint32_t category);
uint32_t ref_inv_ga_held(const ref_inv_t *r, uint32_t area); /* HELD + PAYING */
uint32_t ref_inv_ga_sold(const ref_inv_t *r, uint32_t area);
uint32_t ref_inv_due_payments(const ref_inv_t *r, int64_t now_ms, bo_hold_id_t *ids, uint32_t max);
int64_t ref_inv_next_deadline(const ref_inv_t *r);
/* Holds whose status bit (1 << status) is in mask: how many, the n-th. */
uint32_t ref_inv_count_holds(const ref_inv_t *r, unsigned mask);
const ref_hold_t *ref_inv_nth_hold(const ref_inv_t *r, unsigned mask, uint32_t n);
/* Seats + GA tickets of a hold. */
uint32_t ref_inv_hold_units(const ref_hold_t *h);
/* A client's seats + GA tickets and holds, HELD or PAYING (the caps). */
void ref_inv_client_counts(const ref_inv_t *r, uint64_t client, uint32_t *tickets, uint32_t *holds);
/* The reference's own invariants; NULL or what is broken. */
const char *ref_inv_self_check(const ref_inv_t *r);

/* Best available (ref_best.c), by brute force over the reference's seats. */
/* Whether anything fits quantity, even relaxed (orphans, row splits). */
int ref_inv_best_fits(const ref_inv_t *r, uint32_t quantity, uint32_t category, uint32_t section);
/* NULL when seats (the engine's choice, n of them) is a right answer for
 * that request on the reference's current state, else why not. *step says
 * which step had to answer: 1 strict, 2 orphans allowed, 3 split rows. */
const char *ref_inv_best_judge(const ref_inv_t *r, uint32_t quantity, uint32_t category,
                               uint32_t section, const uint32_t *seats, uint32_t n, int *step);

#endif
