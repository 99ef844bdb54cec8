/*
 * queue_internal.h - what the files of src/queue/ share: one event's queue
 * (queue.c decides, queue_doc.c makes it durable and reads it back,
 * queue_sign.c signs passes and proof-of-work challenges).
 */
#ifndef BOXOFFICE_QUEUE_INTERNAL_H
#define BOXOFFICE_QUEUE_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <sodium.h>

#include "boxoffice/queue.h"
#include "boxoffice/u64map.h"

#define BO__VISITOR_GONE 0xffu /* an arrival whose join never became durable */

/* One visitor: 32 bytes (docs/architecture.md "The waiting room"). */
typedef struct bo__visitor {
    uint8_t secret[16];   /* the ticket's 128 random bits */
    uint32_t place;       /* 1-based; 0 until the shuffle placed it */
    uint32_t last_poll_s; /* Unix seconds of the last join or poll */
    uint32_t admitted_s;  /* Unix seconds of the admission; 0: none */
    uint8_t status;       /* enum bo_queue_status, or BO__VISITOR_GONE */
    uint8_t pre : 1;      /* joined before on-sale */
    uint8_t shopped : 1;  /* admitted, then paid: no longer active (bo_queue_shopped) */
} bo__visitor_t;
_Static_assert(sizeof(bo__visitor_t) == 32, "a visitor costs 32 bytes");

/* One event's queue; every field under mu. */
typedef struct bo__queue {
    pthread_mutex_t mu;
    uint64_t event;
    bo__visitor_t *v; /* by arrival number */
    uint32_t n, cap;
    bool npre_fixed; /* on-sale came: later arrivals are FIFO */
    uint32_t npre;   /* arrivals before on-sale */
    bool seed_set;   /* the shuffle is durable: places are known */
    bool shuffling;  /* its document is being committed */
    uint8_t seed[32];
    uint32_t *perm;      /* place - 1 -> arrival, for the first npre places */
    uint32_t next_place; /* the first place not yet admitted or skipped */
    uint32_t *adm;       /* arrivals in the order of their admission */
    uint32_t nadm, adm_cap;
    uint32_t adm_expired; /* adm[0..adm_expired): passes expired */
    uint32_t shopped;     /* of adm[adm_expired..nadm): shoppers gone to pay */
    uint32_t adm_old;     /* adm[0..adm_old): admitted over a minute ago */
    int64_t credit;       /* admissions owed, in 1/60000 of one */
    int64_t credit_at_ms; /* 0: not counting (paused or not started) */
    uint64_t joins, skipped;
    uint32_t nprequeue, nwaiting;
} bo__queue_t;

/* A used proof-of-work challenge, until it expires. */
typedef struct bo__pow_used {
    uint64_t id;
    uint32_t expires_s;
} bo__pow_used_t;
#define BO__POW_USED_SLOTS (1u << 18)
#define BO__POW_USED_PROBE 32u

struct bo_queues {
    bo_live_t *live;
    pthread_mutex_t mu; /* the map; queues are never removed */
    bo_u64map_t map;
    uint8_t key[crypto_auth_KEYBYTES]; /* passes */
    uint8_t pow_key[crypto_auth_KEYBYTES];
    bool key_set;
    pthread_mutex_t pow_mu;
    bo__pow_used_t *pow_used; /* BO__POW_USED_SLOTS, made on first use */
    /* at start: state documents read before the queues are rebuilt */
    struct bo__state_doc *states;
};

/* The queue of event, made when missing (create) or NULL. */
bo__queue_t *bo__queue_get(bo_queues_t *qs, uint64_t event, bool create);
/* Make room for arrival number i (zeroed): 0 or BO_ENOMEM. q->mu held. */
int bo__queue_grow(bo__queue_t *q, uint32_t i);
/* Give the pre-queue its places from q->seed (q->perm made). q->mu held. */
int bo__queue_place_prequeue(bo__queue_t *q);

/* queue_doc.c: the documents. Each put returns 0 or a BO_E* code; q->mu
 * held. */
int bo__queue_put_join(bo_queues_t *qs, bo__queue_t *q, uint32_t i, bo_queue_done_fn done,
                       void *arg, const bo_queue_view_t *view);
int bo__queue_put_state(bo_queues_t *qs, bo__queue_t *q, const uint32_t *admitted, uint32_t n,
                        bool shuffle);
int bo__queue_put_key(bo_queues_t *qs);
/* After the documents were read: rebuild every queue. */
int bo__queue_rebuild(bo_queues_t *qs);
/* A join's durable outcome (queue.c): ok, or the arrival is gone. */
void bo__queue_join_done(bo_queues_t *qs, uint64_t event, uint32_t i, int status);
void bo__queue_shuffle_done(bo_queues_t *qs, uint64_t event, int status);

/* queue_sign.c */
void bo__queue_pass_make(bo_queues_t *qs, uint64_t event, uint32_t place, uint32_t admitted_s,
                         uint32_t expires_s, char out[BO_QUEUE_PASS_MAX + 1]);

#endif
