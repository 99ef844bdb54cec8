/*
 * model.h - the state of the engine's model test (tests/unit/test_model.c)
 * and the helpers it is built from: model_check.c compares the engine with
 * the reference (ref_inv.h) and reports the first difference; model_pick.c
 * makes the seeded random choices and the venue of each episode.
 *
 * Workload: one model per test process, 10^5..10^7 operations on venues
 * of a few hundred seats; everything here is O(seats + holds) per call.
 */
#ifndef BOXOFFICE_TEST_MODEL_H
#define BOXOFFICE_TEST_MODEL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "boxoffice/engine.h"
#include "boxoffice/layout.h"
#include "ref_inv.h"

#define MODEL_CUSTOMERS 10  /* customers[0] is anonymous (0) */
#define MODEL_CLIENTS   4   /* clients[0] is none (0): few, so the caps bite */
#define MODEL_RING      128 /* recent holds, for late confirms and gone ids */
#define MODEL_TRACE     16  /* operations printed before a divergence */
#define MODEL_MAX_CP    3   /* nested journal positions */
#define MODEL_HOT_MAX   64  /* seats of the hot region */
#define MODEL_DESC      1024
#define MODEL_MAX_OPS   32 /* kinds of operation, for the statistics */
#define MODEL_CODES     31 /* answers 0..-30 */

/* Hold statuses as bits, to pick holds by status. */
#define M_HELD   (1u << BO_HOLD_HELD)
#define M_PAYING (1u << BO_HOLD_PAYING)
#define M_SOLD   (1u << BO_HOLD_SOLD)
#define M_LIVE   (M_HELD | M_PAYING)
#define M_ANY    (M_LIVE | M_SOLD)

/* What an order recorded about a hold: enough to confirm it late. */
typedef struct model_record {
    bo_hold_id_t id;
    uint64_t customer;
    int64_t amount_cents;
    uint32_t seats[BO_HOLD_MAX_SEATS];
    uint32_t nseats;
    bo_ga_line_t ga[BO_HOLD_MAX_GA];
    uint32_t nga;
} model_record_t;

typedef struct model_checkpoint {
    bo_jpos_t pos;
    ref_inv_t *copy; /* the reference at pos */
    uint64_t version;
} model_checkpoint_t;

typedef struct model {
    /* the run */
    uint64_t seed, rng, op, nops, check_every, episode_ops;
    int verbose;
    /* the episode: a venue, its inventory and reference */
    bo_layout_t *layout;
    bo_inv_t *inv;
    ref_inv_t *ref;
    char venue_desc[256];
    int64_t now;
    uint64_t version; /* the engine's, as last seen */
    uint64_t customers[MODEL_CUSTOMERS];
    uint64_t clients[MODEL_CLIENTS];
    uint32_t cap_tickets, cap_holds; /* the episode's caps per client (0: none) */
    uint32_t hot[MODEL_HOT_MAX], nhot;
    model_record_t ring[MODEL_RING];
    uint32_t nring, ring_next;
    int journal_on;
    uint64_t journal_on_at;
    model_checkpoint_t cps[MODEL_MAX_CP];
    uint32_t ncp;
    bo_hold_id_t *due_e, *due_r; /* ref->cap each */
    /* the current operation and the ones before it */
    char desc[MODEL_DESC];
    size_t desc_len;
    char trace[MODEL_TRACE][MODEL_DESC];
    /* statistics */
    uint64_t stats[MODEL_MAX_OPS][MODEL_CODES];
    uint64_t seat_sum[4], samples; /* seats per state, summed at full checks */
    uint64_t best_steps[4];        /* best available answered by step 1, 2, 3 */
} model_t;

/* ---- randomness: splitmix64, so a seed replays exactly ---- */

static inline uint64_t model_next(model_t *m)
{
    uint64_t z = (m->rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform in [0, n); 0 when n is 0. */
static inline uint32_t model_below(model_t *m, uint64_t n)
{
    return n ? (uint32_t)(model_next(m) % n) : 0;
}

static inline int model_chance(model_t *m, uint32_t per_mille)
{
    return model_below(m, 1000) < per_mille;
}

/* ---- model_check.c: describing and comparing ---- */

/* Start / extend the description of the current operation. */
void model_begin(model_t *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void model_say(model_t *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void model_say_id(model_t *m, const bo_hold_id_t *id);
void model_say_seats(model_t *m, const char *what, const uint32_t *s, uint32_t n);
void model_say_ga(model_t *m, const bo_ga_line_t *ga, uint32_t n);
void model_say_rc(model_t *m, const char *who, int rc);
void model_say_req(model_t *m, const bo_hold_req_t *q);
/* The first difference: prints the seed, the op, the answers, the ops
 * before and the line that replays it, then fails the test. */
void model_diverge(model_t *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)))
__attribute__((noreturn));

/* Same values: in the same order / in any order. */
int model_same_list(const uint32_t *a, uint32_t na, const uint32_t *b, uint32_t nb);
int model_same_set(const uint32_t *a, uint32_t na, const uint32_t *b, uint32_t nb);
int model_ascending(const uint32_t *a, uint32_t n);

/* Each compares the engine with the reference and diverges on a difference. */
void model_check_seats(model_t *m, const uint32_t *seats, uint32_t n);
void model_check_counts(model_t *m);
void model_check_hold(model_t *m, const bo_hold_id_t *id);
void model_check_due(model_t *m, uint32_t max);
void model_check_areas(model_t *m);
void model_full_compare(model_t *m);
/* After a mutating call: the version never goes back and moves when
 * changed; then the counts. After a read: the version did not move. */
void model_after_op(model_t *m, int changed);
void model_after_read(model_t *m);

/* ---- model_pick.c: random choices, episodes ---- */

uint64_t model_pick_customer(model_t *m);
uint64_t model_pick_client(model_t *m);
/* Engine and reference agree on every client's cap counts. */
void model_check_clients(model_t *m);
void model_fresh_id(model_t *m, bo_hold_id_t *id);
/* n distinct seats, mostly from the hot region; returns how many. */
uint32_t model_pick_seats(model_t *m, uint32_t n, uint32_t *out);
/* 1-2 GA lines on distinct areas; returns how many. */
uint32_t model_pick_ga(model_t *m, bo_ga_line_t *out);
/* A hold to act on: mostly a reference hold whose status is in mask, else
 * a recent one (maybe gone), else one never seen (with a few seats). */
void model_pick_target(model_t *m, unsigned mask, model_record_t *rec);
/* Remember the reference's hold id in the ring of recent holds. */
void model_remember(model_t *m, const bo_hold_id_t *id);
void model_random_config(model_t *m, bo_inv_config_t *cfg);
/* A new venue, inventory and reference from the rng / free them. */
void model_episode_start(model_t *m);
void model_episode_end(model_t *m);

#endif
