/*
 * queue.h - the per-event waiting room (src/queue/): a pre-queue of early
 * arrivals shuffled uniformly at on-sale (Fisher-Yates driven by a durable
 * seed), FIFO joins after it, admissions at a set rate under a cap of
 * active shoppers, visitors who stop polling skipped, and signed passes
 * (HMAC, libsodium crypto_auth) checked without any store read; optional
 * proof-of-work challenges on join. docs/architecture.md "The waiting
 * room" says why it is fair and what it costs.
 *
 * Workload: an on-sale brings up to millions of visitors to one event:
 * each joins once (one durable document through the store's group commit)
 * and polls every few seconds (a lock, an array index, no allocation, no
 * store read); admissions, a few hundred a minute, are decided on those
 * polls. Any thread; one mutex per event's queue.
 */
#ifndef BOXOFFICE_QUEUE_H
#define BOXOFFICE_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "boxoffice/live.h"

/* An event's waiting room as its organiser sets it (the event's meta). */
typedef struct bo_queue_config {
    bool enabled;
    bool paused;                  /* admissions stop; joins and polls go on */
    int64_t prequeue_opens_at_ms; /* joins are refused before */
    int64_t onsale_at_ms;         /* the pre-queue is shuffled then */
    uint32_t admit_per_min;       /* BO_QUEUE_ADMIT_PER_MIN_MIN..MAX */
    uint32_t max_active;          /* passes still valid, at most */
    uint32_t pass_ttl_s;          /* BO_QUEUE_PASS_TTL_MIN_S..MAX_S */
    uint32_t pow_difficulty;      /* leading zero bits; 0: no proof of work */
} bo_queue_config_t;

#define BO_QUEUE_ADMIT_PER_MIN_MIN 1u
#define BO_QUEUE_ADMIT_PER_MIN_MAX 1000000u
#define BO_QUEUE_MAX_ACTIVE_MAX    10000000u
#define BO_QUEUE_PASS_TTL_MIN_S    60u
#define BO_QUEUE_PASS_TTL_MAX_S    86400u
#define BO_QUEUE_POW_MAX           28u
/* Visitors one event's queue holds, at most; joins past it: QUEUE_FULL. */
#define BO_QUEUE_MAX_VISITORS 2000000u
/* A waiting visitor silent this long is skipped when their turn comes. */
#define BO_QUEUE_IDLE_S 300u
/* A proof-of-work challenge lasts this long, and is used once. */
#define BO_QUEUE_POW_TTL_S 120u
#define BO_QUEUE_NONCE_MAX 64u
/* Polls are asked to come back within this, jitter included. */
#define BO_QUEUE_POLL_MAX_MS 20000u

/* "qt_" + 8 hex digits (the arrival number) + 32 (128 random bits). */
#define BO_QUEUE_TICKET_LEN 43u
/* "qp." event(16 hex) "." place "." admitted_s "." expires_s "." mac(64 hex) */
#define BO_QUEUE_PASS_MAX 128u
/* event(16 hex) "." expires_s "." random(16 hex) "." mac(32 hex) */
#define BO_QUEUE_CHALLENGE_MAX 96u

enum bo_queue_status {
    BO_QUEUE_PREQUEUE, /* joined before on-sale, not shuffled yet */
    BO_QUEUE_WAITING,
    BO_QUEUE_ADMITTED,
    BO_QUEUE_EXPIRED, /* admitted, the pass ran out */
    BO_QUEUE_SKIPPED, /* silent for BO_QUEUE_IDLE_S when the turn came */
};
/* "prequeue", "waiting", ... */
const char *bo_queue_status_name(int status);

/* What a visitor sees (GET .../queue). */
typedef struct bo_queue_view {
    char ticket[BO_QUEUE_TICKET_LEN + 1];
    int status;               /* enum bo_queue_status */
    uint32_t place;           /* 1-based; 0 while in the pre-queue */
    int64_t ahead;            /* -1: unknown (pre-queue) */
    int64_t estimated_wait_s; /* -1: unknown */
    uint32_t poll_after_ms;   /* <= BO_QUEUE_POLL_MAX_MS, jittered */
    int64_t admitted_at_ms;   /* admitted or expired */
    int64_t pass_expires_at_ms;
    char pass[BO_QUEUE_PASS_MAX + 1]; /* "" unless admitted */
} bo_queue_view_t;

/* An event's queue as its organiser sees it. */
typedef struct bo_queue_stats {
    uint64_t prequeue, waiting, admitted_total, active, skipped_total, admissions_last_min;
    bool seed_set;
} bo_queue_stats_t;

/* Sums over every event, for /metrics. */
typedef struct bo_queue_totals {
    uint64_t joins, admitted, skipped, waiting, active;
} bo_queue_totals_t;

typedef struct bo_queues bo_queues_t;

/* An empty set of queues over live (documents go through its store).
 * Returns 0 and *out (caller owns: bo_queues_free) or BO_ENOMEM. */
int bo_queues_new(bo_live_t *live, bo_queues_t **out);
void bo_queues_free(bo_queues_t *qs);
/* At start, for each recovered document (bo_live_take_docs' fn): those of
 * the queue's collections are taken (0 or BO_ECORRUPT / BO_ENOMEM); any
 * other: 1 (not ours). */
int bo_queues_load_doc(bo_queues_t *qs, const char *coll, const char *id, const char *body,
                       size_t len);
/* After the documents: rebuild each queue's order from its seed, and make
 * the pass key durable if there was none (waits for its commit). 0 or a
 * BO_E* code. */
int bo_queues_ready(bo_queues_t *qs);

/* A join's answer: status 0 with the visitor's view once the join is
 * durable, or a BO_E* code (nothing kept). Runs once, on the committer
 * thread. */
typedef void (*bo_queue_done_fn)(void *arg, int status, const bo_queue_view_t *v);
/*
 * Join event's queue at now_ms (cfg: its waiting room). Returns 0 (done
 * will run), BO_ENOTFOUND (no waiting room), BO_EQUEUENOTOPEN (before
 * prequeue_opens_at), BO_EQUEUEFULL (BO_QUEUE_MAX_VISITORS), BO_EBUSY
 * (the store's queue is full) or BO_ENOMEM: then done never runs.
 */
int bo_queue_join(bo_queues_t *qs, uint64_t event, const bo_queue_config_t *cfg, int64_t now_ms,
                  bo_queue_done_fn done, void *arg);
/* A poll with the visitor's ticket (len bytes): counts as "still here",
 * runs due admissions, fills *out. 0 or BO_ENOTFOUND. */
int bo_queue_poll(bo_queues_t *qs, uint64_t event, const bo_queue_config_t *cfg, const char *ticket,
                  size_t len, int64_t now_ms, bo_queue_view_t *out);
/* The organiser's figures (runs due admissions first). Always 0. */
int bo_queue_stats(bo_queues_t *qs, uint64_t event, const bo_queue_config_t *cfg, int64_t now_ms,
                   bo_queue_stats_t *out);
void bo_queue_totals(bo_queues_t *qs, bo_queue_totals_t *out);

/* What a pass says (bo_queue_pass_check). */
enum bo_queue_pass_verdict {
    BO_QUEUE_PASS_OK,
    BO_QUEUE_PASS_MISSING,
    BO_QUEUE_PASS_INVALID,
    BO_QUEUE_PASS_EXPIRED,
    BO_QUEUE_PASS_OTHER_EVENT,
};
/* "missing", "invalid", "expired", "other_event" ("ok"). */
const char *bo_queue_pass_reason(int verdict);
/*
 * Check a pass (len bytes; NULL: none) for event at now_ms, with no store
 * read: its MAC first, then its event, then its expiry. On OK, *customer
 * (may be NULL) is the shopper's key for per-customer limits: a nonzero
 * hash of (event, place), one per pass; and *place (may be NULL) its place.
 */
int bo_queue_pass_check(bo_queues_t *qs, uint64_t event, const char *pass, size_t len,
                        int64_t now_ms, uint64_t *customer, uint32_t *place);
/*
 * The shopper admitted at place went on to pay (a checkout with its pass):
 * from now on it no longer counts among the event's active shoppers, so
 * that the next visitor is let in (its pass stays valid until it expires:
 * it may still buy within the per-buyer limit). Idempotent; nothing for a
 * place that is not admitted. Not durable: after a restart a shopper
 * counts as active again until its pass expires.
 */
void bo_queue_shopped(bo_queues_t *qs, uint64_t event, const bo_queue_config_t *cfg, uint32_t place,
                      int64_t now_ms);

/* A proof-of-work challenge for event (difficulty bits), into out; its
 * expiry in *expires_at_ms. 0 or BO_EINVAL (difficulty 0). */
int bo_queue_pow_challenge(bo_queues_t *qs, uint64_t event, uint32_t difficulty, int64_t now_ms,
                           char out[BO_QUEUE_CHALLENGE_MAX + 1], int64_t *expires_at_ms);
/* Check a solution: 0 (and the challenge is used up), BO_EPOWREQUIRED
 * (forged, other event, expired, reused, wrong nonce, not enough zero
 * bits) or BO_EBUSY (too many live challenges to remember). */
int bo_queue_pow_check(bo_queues_t *qs, uint64_t event, uint32_t difficulty, const char *challenge,
                       size_t clen, const char *nonce, size_t nlen, int64_t now_ms);

/* ---- the pure parts, for tests ------------------------------------------------ */

/* The permutation of 0..n-1 (Fisher-Yates, unbiased draws from a stream
 * keyed by seed) into perm: the same seed, the same order. */
void bo_queue_shuffle(const uint8_t seed[32], uint32_t *perm, uint32_t n);
/* Whether SHA-256(challenge ":" nonce) starts with bits zero bits. */
bool bo_queue_pow_ok(const char *challenge, size_t clen, const char *nonce, size_t nlen,
                     uint32_t bits);
/* The clock of decisions can be driven by tests: every function above
 * takes now_ms; nothing reads the system clock. */

#endif
