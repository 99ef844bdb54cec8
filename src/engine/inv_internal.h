/*
 * inv_internal.h - the inventory's private structures, shared by the files
 * of src/engine/ that implement engine.h: inventory.c (mutations),
 * inv_read.c (reads), journal.c (undo journal, hold table, id hash,
 * deadline heaps), inv_check.c (the debug recount).
 */
#ifndef BOXOFFICE_INV_INTERNAL_H
#define BOXOFFICE_INV_INTERNAL_H

#include "boxoffice/engine.h"

/* A seat word: 2 bits of state, 30 bits of owning hold slot (0 = none). */
#define W_STATE(w)       ((w) >> 30)
#define W_SLOT(w)        ((w)&0x3fffffffu)
#define W_MAKE(st, slot) (((uint32_t)(st) << 30) | (slot))

struct hold {
    bo_hold_id_t id;
    uint64_t customer;
    uint64_t client; /* a hash of the client's address; 0: none (no caps) */
    int64_t created_ms;
    int64_t expires_at_ms;
    int64_t pay_deadline_ms;
    int64_t amount_cents;
    uint32_t *seats; /* one allocation: seats, then ga lines */
    bo_ga_line_t *ga;
    uint32_t nseats, nga;
    uint32_t tickets; /* nseats + GA quantities: what the customer limit and seat cap count */
    uint8_t status;
    uint8_t pay_failures;
};

/* A binary min-heap of hold slots keyed by a deadline; pos[slot] is the
 * slot's index in the heap or UINT32_MAX. */
struct heap {
    uint32_t *slots;
    uint32_t n, cap;
    uint32_t *pos;
    int paying; /* key: pay_deadline_ms when set, else expires_at_ms */
};

enum jtype {
    J_U32,         /* *p = a */
    J_SEAT,        /* seat b had word a: restore it and the counters it implies */
    J_HOLD,        /* holds[a] = hcopy[b] */
    J_HOLD_NEW,    /* holds[a] was a free (all-zero) slot: clear it */
    J_SLOT_POP,    /* slot a was taken from the free list: push it back */
    J_SLOT_PUSH,   /* slot a was pushed on the free list: take it off */
    J_HASH_INS,    /* slot a was added to the id hash: remove it */
    J_HASH_DEL,    /* slot a was removed from the id hash: add it */
    J_CUST,        /* key b of the counter table p had count a */
    J_FREE_LATER,  /* free(p) when forgotten (kept for undo) */
    J_FREE_ON_UNDO /* free(p) when rolled back */
};

struct jent {
    uint8_t type;
    uint32_t a;
    uint64_t b;
    void *p;
};

struct cust {
    uint64_t key; /* 0 = empty */
    uint32_t count;
};

/* Counts by a 64-bit key (customers, client addresses): open addressing,
 * grown before a hold is installed (bo__hold_prepare); a key stays once
 * added (its count may go back to 0). */
struct ctab {
    struct cust *e;
    uint32_t mask, used;
};

struct bo_inv {
    const bo_layout_t *layout;
    bo_inv_config_t cfg;
    const bo_best_index_t *best; /* the venue's, or own_best */
    bo_best_index_t *own_best;
    uint32_t *words; /* per seat */
    uint16_t *row_free;
    uint32_t *cat_avail; /* per category: AVAILABLE seats */
    uint32_t *ga_held, *ga_sold;
    uint32_t n_avail, n_held, n_sold, n_blocked, n_live;
    uint64_t version;
    /* holds: slot 0 unused */
    struct hold *holds;
    uint32_t nholds, cap_holds; /* slots in use up to nholds; array capacity */
    uint32_t *free_slots;
    uint32_t nfree;
    uint64_t *hash; /* tag << 32 | slot; 0 empty (journal.c) */
    uint32_t hash_mask, hash_used, hash_tomb;
    struct ctab cust;           /* seats + GA tickets HELD, PAYING or SOLD per customer */
    struct ctab client_tickets; /* seats + GA tickets HELD or PAYING per client */
    struct ctab client_holds;   /* holds HELD or PAYING per client */
    struct heap exp, pay;
    /* journal */
    int journal_on;
    struct jent *j;
    size_t jn, jcap;
    bo_jpos_t jbase; /* position of j[0] */
    struct hold *hcopy;
    size_t hn, hcap;
};

/* journal.c */
void bo__j_seat(bo_inv_t *inv, uint32_t seat);
void bo__j_u32(bo_inv_t *inv, uint32_t *p, uint32_t v);
void bo__j_free_later(bo_inv_t *inv, void *p);
void bo__j_free_on_undo(bo_inv_t *inv, void *p);
int bo__j_reserve(bo_inv_t *inv, size_t entries);
int bo__holds_init(bo_inv_t *inv);
void bo__holds_free(bo_inv_t *inv);
uint32_t bo__hold_find(const bo_inv_t *inv, const bo_hold_id_t *id);
int bo__hold_prepare(bo_inv_t *inv);
uint32_t bo__hold_alloc(bo_inv_t *inv, const struct hold *h);
void bo__hold_release_slot(bo_inv_t *inv, uint32_t slot);
void bo__hold_set(bo_inv_t *inv, uint32_t slot, const struct hold *h);
void bo__heap_sync(bo_inv_t *inv, uint32_t slot);
/* The count of key in t (0 for key 0 or a key never counted). */
uint32_t bo__count_get(const struct ctab *t, uint64_t key);
/* Add delta to key's count in t (journaled); key 0 is not counted. Needs
 * bo__hold_prepare'd room for a new key. */
void bo__count_add(bo_inv_t *inv, struct ctab *t, uint64_t key, int64_t delta);
/* bo_inv_check's half about holds: the hold table, free list, id hash,
 * heaps, customers and journal agree (0 or BO_ECORRUPT). */
int bo__holds_check(const bo_inv_t *inv);
/* Print what check failed where, to stderr; returns BO_ECORRUPT. */
int bo__check_failed(const char *what, const char *file, int line);

/* inventory.c */
void bo__set_seat(bo_inv_t *inv, uint32_t seat, unsigned state, uint32_t slot);
/* The same without journaling: the counters follow the seat's word. */
void bo__set_seat_raw(bo_inv_t *inv, uint32_t seat, uint32_t word);
/* Seat indices in range and distinct (at most max); GA lines valid. */
int bo__check_seats(const bo_inv_t *inv, const uint32_t *seats, uint32_t n, uint32_t max);
int bo__check_ga(const bo_inv_t *inv, const bo_ga_line_t *ga, uint32_t n);
/* How many of the seats are not AVAILABLE and GA areas lack room (listed
 * into res when not NULL). */
uint32_t bo__find_taken(const bo_inv_t *inv, const uint32_t *seats, uint32_t n,
                        const bo_ga_line_t *ga, uint32_t nga, bo_hold_res_t *res);
/* A hold owning fresh copies of seats and ga (BO_ENOMEM). */
int bo__make_hold(struct hold *h, const bo_hold_id_t *id, uint64_t customer, const uint32_t *seats,
                  uint32_t n, const bo_ga_line_t *ga, uint32_t nga);
/* Install h (bo__hold_prepare'd, journal reserved) with its seats in state
 * st (HELD or SOLD) and its GA counted as held or sold; returns its slot. */
uint32_t bo__install_hold(bo_inv_t *inv, const struct hold *h, unsigned st);
/* Journal entries to reserve before changing a hold of that size. */
size_t bo__hold_cost(uint32_t nseats, uint32_t nga);

/* inv_read.c */
int bo__hold_expired(const struct hold *h, int64_t now_ms);

#endif
