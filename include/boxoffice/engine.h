/*
 * engine.h - the in-memory inventory of one event: seat states, GA counters,
 * holds with their time to live, best available. Pure logic: no I/O, no
 * locks, no clock of its own (every call takes now_ms), so tests drive time
 * exactly and the same calls replay the durable log at start.
 *
 * Workload: during an on-sale one hot event sees ~10^5 holds/s, mostly of
 * 1-8 seats, against 10^3..10^5 seats; reads (availability) are as common.
 * Every call is O(seats touched) plus O(log holds) for the expiry heap,
 * except snapshots, which are O(seats).
 *
 * State per seat is one uint32_t word (2 bits of state, 30 bits of owning
 * hold slot): 4 bytes per seat besides the static layout.
 *
 * Every mutating call whose arguments are well formed first releases the
 * HELD holds expired at now_ms (as bo_inv_expire does), so its decision never
 * depends on whether a sweeper ran; reads treat those holds as gone without
 * changing anything.
 *
 * Journal: every change a call makes to the inventory is journaled, so the
 * caller can undo a suffix of calls whose durable commit failed
 * (bo_inv_rollback) and forget the journal of calls that committed
 * (bo_inv_forget). Both take positions returned by bo_inv_journal_pos.
 *
 * Not thread-safe: the caller serialises every call on one inventory (one
 * lock per event); different inventories are independent.
 */
#ifndef BOXOFFICE_ENGINE_H
#define BOXOFFICE_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "boxoffice/layout.h"

#define BO_HOLD_MAX_SEATS   100u       /* seats (explicit or best available) per hold */
#define BO_HOLD_MAX_GA      8u         /* GA lines per hold */
#define BO_HOLD_MAX_GA_QTY  100u       /* GA tickets per line */
#define BO_INV_MAX_HOLDS    (1u << 24) /* hold slots per event, live and sold */
#define BO_PAY_MAX_FAILURES 3u         /* the third failed payment releases the hold */

enum bo_seat_state {
    BO_SEAT_AVAILABLE = 0,
    BO_SEAT_HELD = 1, /* by a hold that is HELD or PAYING */
    BO_SEAT_SOLD = 2,
    BO_SEAT_BLOCKED = 3,
};

enum bo_hold_status {
    BO_HOLD_NONE = 0,   /* unknown, released or expired: the slot is free */
    BO_HOLD_HELD = 1,   /* live until expires_at_ms */
    BO_HOLD_PAYING = 2, /* checkout started: kept past expiry until settled */
    BO_HOLD_SOLD = 3,   /* paid: seats SOLD, GA sold */
};

typedef struct bo_hold_id {
    uint8_t b[16]; /* 128 random bits chosen by the caller */
} bo_hold_id_t;

typedef struct bo_ga_line {
    uint32_t area; /* index into the layout's GA areas */
    uint32_t quantity;
} bo_ga_line_t;

/* Per-event rules. Prices are per category, in minor units. */
typedef struct bo_inv_config {
    int64_t hold_ttl_ms;         /* default 300000 */
    uint32_t per_customer_limit; /* seats + GA tickets held or sold per customer; 0 = none */
    uint32_t max_holds;          /* slot limit, <= BO_INV_MAX_HOLDS; 0 = default 1<<20 */
    int64_t price_cents[BO_LAYOUT_MAX_CATEGORIES];
} bo_inv_config_t;

/* What a hold asks for. Exactly one of seats / best / ga may be empty or not:
 * explicit seats and GA lines may be combined; best available stands alone. */
typedef struct bo_hold_req {
    bo_hold_id_t id;
    uint64_t customer; /* a hash of the buyer's identity; 0 = anonymous (no limit) */
    uint64_t client;   /* a hash of the client's address, the key of the caps below;
                          0 = none (no caps) */
    /* The event's caps per client (0 = none): seats + GA tickets, and holds,
     * of its HELD or PAYING holds with this one (util/limits.h
     * seats_per_address, holds_per_address). Not checked on replay. */
    uint32_t max_client_tickets, max_client_holds;
    const uint32_t *seats; /* explicit seat indices, no duplicates */
    uint32_t nseats;
    const bo_ga_line_t *ga; /* at most one line per area */
    uint32_t nga;
    uint32_t best_quantity; /* > 0: best available, this many adjacent seats */
    uint32_t best_category; /* BO_NONE = any */
    uint32_t best_section;  /* BO_NONE = any */
    int64_t expires_at_ms;  /* 0 = now + hold_ttl_ms; replay passes the logged value */
    int replay;             /* 1: re-apply a logged hold: skips the customer limit and
                               the client caps, takes amount_cents as logged */
    int64_t amount_cents;   /* replay only */
} bo_hold_req_t;

/* Which client cap refused a hold (bo_hold_res_t.cap, with BO_ECAP). */
enum bo_hold_cap { BO_CAP_NONE = 0, BO_CAP_SEATS = 1, BO_CAP_HOLDS = 2 };

/* What a hold got, or why not. */
typedef struct bo_hold_res {
    uint32_t slot;
    uint8_t cap; /* on BO_ECAP: enum bo_hold_cap */
    int64_t expires_at_ms;
    int64_t amount_cents;
    uint32_t seats[BO_HOLD_MAX_SEATS]; /* seats held (best available: chosen ones) */
    uint32_t nseats;
    /* on BO_EUNAVAILABLE: the requested seats that were not available, and
     * the GA areas that lacked capacity */
    uint32_t unavailable[BO_HOLD_MAX_SEATS];
    uint32_t nunavailable;
    uint32_t ga_short[BO_HOLD_MAX_GA];
    uint32_t nga_short;
} bo_hold_res_t;

/* A read-only view of a hold. Pointers stay valid until the next call that
 * mutates the inventory. */
typedef struct bo_hold_view {
    bo_hold_id_t id;
    uint8_t status; /* enum bo_hold_status, expiry already applied */
    uint8_t pay_failures;
    uint64_t customer;
    uint64_t client;
    int64_t created_ms;
    int64_t expires_at_ms;
    int64_t pay_deadline_ms; /* PAYING only */
    int64_t amount_cents;
    const uint32_t *seats;
    uint32_t nseats;
    const bo_ga_line_t *ga;
    uint32_t nga;
} bo_hold_view_t;

/* Counts, expiry already applied. */
typedef struct bo_inv_counts {
    uint32_t total, available, held, sold, blocked; /* seats */
    uint64_t version;
    uint32_t live_holds; /* HELD + PAYING */
} bo_inv_counts_t;

typedef struct bo_inv bo_inv_t;
typedef struct bo_best_index bo_best_index_t; /* best available's search order */

/*
 * A new inventory for an event at layout, every seat AVAILABLE and every GA
 * area empty. The layout must outlive the inventory (it is not copied).
 * Returns 0 and *out (caller owns, bo_inv_free), or BO_EINVAL/BO_ENOMEM.
 */
int bo_inv_new(const bo_layout_t *layout, const bo_inv_config_t *cfg, bo_inv_t **out);
/* The same, with best available searching best, an index of layout that
 * the caller keeps alive and shares between the events of a venue (NULL:
 * the inventory builds its own). */
int bo_inv_new_shared(const bo_layout_t *layout, const bo_best_index_t *best,
                      const bo_inv_config_t *cfg, bo_inv_t **out);
void bo_inv_free(bo_inv_t *inv);
const bo_layout_t *bo_inv_layout(const bo_inv_t *inv);
/* 0 when cfg is acceptable for an event at layout, else BO_EINVAL. */
int bo_inv_check_config(const bo_layout_t *layout, const bo_inv_config_t *cfg);
/* Replace the rules (prices, TTL, limit) for holds made from now on. */
int bo_inv_set_config(bo_inv_t *inv, const bo_inv_config_t *cfg);
const bo_inv_config_t *bo_inv_config(const bo_inv_t *inv);

/*
 * Hold seats, all or nothing. Checks in this order, the first failing one
 * answers and nothing changes: BO_EINVAL for a malformed request (no seats,
 * GA or best quantity; best combined with seats or GA; a seat index out of
 * range or repeated; more than BO_HOLD_MAX_SEATS seats; a GA area out of
 * range or repeated, a GA quantity of 0 or > BO_HOLD_MAX_GA_QTY; more than
 * BO_HOLD_MAX_GA lines; a best category or section out of range; NULL
 * arrays with nonzero counts; expires_at_ms <= now); BO_EEXIST for the id of a hold that is not
 * gone (HELD, PAYING or SOLD); BO_ELIMIT when the customer's seats and GA tickets (HELD, PAYING,
 * SOLD) plus this request exceed per_customer_limit; BO_ECAP with res->cap when the client's
 * seats and GA tickets (HELD, PAYING) plus this request exceed max_client_tickets
 * (BO_CAP_SEATS), or its HELD and PAYING holds plus this one exceed max_client_holds
 * (BO_CAP_HOLDS); BO_EFULL when every hold slot is in use;
 * BO_EUNAVAILABLE with res->unavailable (requested seats not AVAILABLE, in request order) and
 * res->ga_short (areas short of capacity, in request order); BO_ENOSEATS when
 * best available finds nothing even relaxed. Returns 0 with res filled
 * (seats in request order; best available: ascending).
 */
int bo_inv_hold(bo_inv_t *inv, const bo_hold_req_t *req, int64_t now_ms, bo_hold_res_t *res);

/* Release a HELD or PAYING hold now. BO_ENOTFOUND when no such live hold
 * (including one already expired), BO_ESTATE when SOLD. */
int bo_inv_release(bo_inv_t *inv, const bo_hold_id_t *id, int64_t now_ms);

/* HELD -> PAYING until deadline_ms (BO_EINVAL unless > now). BO_ENOTFOUND
 * when gone (expired included); BO_ESTATE when already PAYING or SOLD. */
int bo_inv_pay_start(bo_inv_t *inv, const bo_hold_id_t *id, int64_t deadline_ms, int64_t now_ms);

/* A declined payment: PAYING -> HELD with its remaining time. The
 * BO_PAY_MAX_FAILURES-th failure releases the hold, and so does a failure
 * after expires_at_ms; *released says which. BO_ENOTFOUND when gone,
 * BO_ESTATE when HELD or SOLD. */
int bo_inv_pay_failed(bo_inv_t *inv, const bo_hold_id_t *id, int64_t now_ms, int *released);

/*
 * Payment succeeded: PAYING or HELD -> SOLD. When the hold is no longer live
 * (expired or released: a late payment), the same seats and GA quantities
 * are taken again if all are still free, as a new SOLD hold with this id;
 * otherwise BO_EUNAVAILABLE (res-like lists are not given) and nothing
 * changes (the caller refunds). The customer limit does not apply. A late
 * confirm checks, in order: BO_EINVAL (no seats and no GA, a seat or area out
 * of range or repeated), BO_EUNAVAILABLE, BO_EFULL (no hold slot).
 * seats/nseats and ga/nga describe the hold as checked out (needed only for
 * a hold that is gone; pass what the order recorded). BO_ESTATE when SOLD.
 */
int bo_inv_confirm(bo_inv_t *inv, const bo_hold_id_t *id, const uint32_t *seats, uint32_t nseats,
                   const bo_ga_line_t *ga, uint32_t nga, uint64_t customer, int64_t amount_cents,
                   int64_t now_ms);

/* SOLD -> gone: seats AVAILABLE, GA sold decremented. BO_ENOTFOUND when no
 * such hold, BO_ESTATE when HELD or PAYING. */
int bo_inv_cancel(bo_inv_t *inv, const bo_hold_id_t *id, int64_t now_ms);

/* AVAILABLE -> BLOCKED (or back), all or nothing: BO_EUNAVAILABLE with
 * res->unavailable listing seats that are held or sold (block) or not
 * blocked (unblock). Blocking a seat already BLOCKED leaves it so (a retried
 * block succeeds). res may be NULL. */
int bo_inv_block(bo_inv_t *inv, const uint32_t *seats, uint32_t nseats, int64_t now_ms,
                 bo_hold_res_t *res);
int bo_inv_unblock(bo_inv_t *inv, const uint32_t *seats, uint32_t nseats, int64_t now_ms,
                   bo_hold_res_t *res);

/*
 * Sweeper: release every HELD hold whose expires_at_ms <= now. Returns how
 * many were released. PAYING holds whose deadline passed are not released;
 * bo_inv_due_payments lists them for the caller to settle with the gateway.
 */
uint32_t bo_inv_expire(bo_inv_t *inv, int64_t now_ms);
/* Up to max PAYING holds whose deadline <= now, into ids; returns how many. */
uint32_t bo_inv_due_payments(const bo_inv_t *inv, int64_t now_ms, bo_hold_id_t *ids, uint32_t max);
/* The earliest expires_at_ms / pay deadline of a live hold, or INT64_MAX. */
int64_t bo_inv_next_deadline(const bo_inv_t *inv);

/* Reads: every one treats a HELD hold past expires_at_ms as gone. */
int bo_inv_get_hold(const bo_inv_t *inv, const bo_hold_id_t *id, int64_t now_ms,
                    bo_hold_view_t *view);
enum bo_seat_state bo_inv_seat_state(const bo_inv_t *inv, uint32_t seat, int64_t now_ms);
void bo_inv_counts(const bo_inv_t *inv, int64_t now_ms, bo_inv_counts_t *c);
/* Per category (index into the layout's categories): available seats. */
uint32_t bo_inv_category_available(const bo_inv_t *inv, uint32_t category, int64_t now_ms);
/* Per GA area: capacity - held - sold, and sold. */
uint32_t bo_inv_ga_available(const bo_inv_t *inv, uint32_t area, int64_t now_ms);
uint32_t bo_inv_ga_sold(const bo_inv_t *inv, uint32_t area);
/* A client's seats + GA tickets and holds that count for its caps (HELD,
 * not expired at now_ms, or PAYING). O(HELD holds): tests and audits. */
void bo_inv_client_counts(const bo_inv_t *inv, uint64_t client, int64_t now_ms, uint32_t *tickets,
                          uint32_t *holds);
/*
 * Every hold that is HELD (and not expired at now_ms), PAYING or SOLD, in
 * no particular order: fn(arg, view) with a view valid during the call.
 * Stops at and returns fn's first nonzero answer, else 0. O(hold slots):
 * for reports, not for the booking path.
 */
typedef int (*bo_inv_hold_fn)(void *arg, const bo_hold_view_t *view);
int bo_inv_each_hold(const bo_inv_t *inv, int64_t now_ms, bo_inv_hold_fn fn, void *arg);
/*
 * An event's sales at now_ms (inv_sales.c), for its report: the counts,
 * each GA area's available and sold places, and per category (index into
 * the layout's categories) the places sold and their revenue. A sold hold
 * spanning several categories is one amount, allotted in proportion to
 * the current prices (by count when all are 0), so the shares of a hold
 * add up to its amount and revenue_by_category to revenue_cents. Returns
 * 0 (bo_inv_each_hold's walk: O(hold slots)).
 */
typedef struct bo_inv_sales {
    bo_inv_counts_t counts;
    uint32_t ga_available[BO_LAYOUT_MAX_GA_AREAS], ga_sold[BO_LAYOUT_MAX_GA_AREAS];
    uint64_t sold_by_category[BO_LAYOUT_MAX_CATEGORIES];
    int64_t revenue_by_category[BO_LAYOUT_MAX_CATEGORIES];
    int64_t revenue_cents;
} bo_inv_sales_t;
int bo_inv_sales(const bo_inv_t *inv, int64_t now_ms, bo_inv_sales_t *out);
/* The state of every seat (one byte each, enum bo_seat_state) into states,
 * which holds layout->nseats bytes; returns the version it reflects. */
uint64_t bo_inv_snapshot(const bo_inv_t *inv, int64_t now_ms, uint8_t *states);
/* Changes on every mutation, expiry and rollback; never goes back. */
uint64_t bo_inv_version(const bo_inv_t *inv);
/* Bytes of mutable state the inventory holds now (for bytes per seat). */
size_t bo_inv_memory(const bo_inv_t *inv);
/*
 * Debug audit (src/engine/inv_check.c): recount every seat and hold and
 * compare with the counters (per state, category, row, GA area, live holds,
 * customers, clients), the id hash, the free slots, the deadline heaps and the
 * journal. 0 when all agree; else BO_ECORRUPT after printing the first
 * disagreement to stderr (BO_ENOMEM). O(seats + hold slots): for tests (the
 * model test calls it as it goes), never on the booking path, where
 * BO_ASSERTs check each mutation.
 */
int bo_inv_check(const bo_inv_t *inv);

/*
 * Snapshots (src/engine/snapshot.c). Export releases the holds expired at
 * now, then writes the whole state (blocked seats, every live or sold hold)
 * to *buf (caller owns, free()); BO_ENOMEM. Import loads such a state into a
 * fresh inventory of the same layout: 0, or BO_ECORRUPT when the data is
 * malformed or does not fit the layout (then discard the inventory).
 */
int bo_inv_export(bo_inv_t *inv, int64_t now_ms, uint8_t **buf, size_t *len);
int bo_inv_import(bo_inv_t *inv, const uint8_t *buf, size_t len);

/* Journal. */
typedef uint64_t bo_jpos_t;
bo_jpos_t bo_inv_journal_pos(const bo_inv_t *inv);
/* Undo every change made after pos, newest first: the inventory is as it was
 * at pos (the version still moves forward). */
void bo_inv_rollback(bo_inv_t *inv, bo_jpos_t pos);
/* Drop the journal up to pos: those changes can no longer be undone. */
void bo_inv_forget(bo_inv_t *inv, bo_jpos_t pos);
/* Turn journaling off (benchmarks and tests of the pure engine); on by default. */
void bo_inv_set_journal(bo_inv_t *inv, int on);

/*
 * Best available, the pure search (src/engine/best.c): choose quantity
 * adjacent free seats in one row, best rank first: a block's score is the
 * sum of its seats' ranks, lower wins, a tie goes to the lower first seat
 * index. Adjacent means consecutive seat indices within one row.
 *
 * Never create an orphan: a free seat left alone between the block and a
 * taken seat or the row's end, i.e. seat first - 1 free with first - 2
 * taken or outside the row, or seat last + 1 free with last + 2 taken or
 * outside the row. Only these two neighbours count: a row that already has
 * a lone free seat elsewhere is used as usual, and a block that fills a gap
 * exactly is fine. Free means is_free whatever the seat's category: a free
 * seat of another category (or section) is a seat, not a row end.
 *
 * Only seats of category (BO_NONE = any; every seat of a block has it) in
 * rows of section (BO_NONE = any) are considered. When nothing fits, relax
 * step by step, each step only when the one before found nothing:
 *  1. allow orphans: the lowest score among all blocks (one orphan or two
 *     alike), a tie to the lower first seat;
 *  2. split the group over consecutive rows of one section: one part per
 *     row, each part at least one seat, contiguous, free, of the category,
 *     orphans allowed; the fewest rows first, then the lowest total score,
 *     then the lexicographically smallest ascending seat list (the lowest
 *     first seat; on an equal first seat, the longer first part).
 * Nothing else: BO_ENOSEATS.
 *
 * is_free(ctx, seat) says whether a seat is free. row_free (may be NULL)
 * gives each row's number of free seats, exact: rows with fewer than
 * quantity are skipped unread, wholly free rows are not read seat by seat;
 * the answer is the same with or without it.
 *
 * Writes the chosen seat indices to out (quantity of them, ascending) and
 * returns 0; BO_ENOSEATS when nothing fits even relaxed; BO_EINVAL when
 * quantity is 0 or > BO_HOLD_MAX_SEATS, category or section is out of
 * range, or ix, is_free or out is NULL.
 *
 * Cost: rows are visited by their best rank, and the search stops when no
 * row left can beat the best block found: typically a few rows and a few
 * dozen is_free calls, 1-5 us on 20,000-100,000 seats. The relaxations read
 * more: step 1 runs when no row holding quantity free seats has an
 * orphan-free block, and reads all those rows; step 2 reads every free
 * seat of the filtered rows once, O(seats): ~0.2-0.4 ms on 100,000 seats.
 * Allocates nothing (~10 KB of stack); thread-safe on a shared index.
 */
typedef int (*bo_seat_free_fn)(void *ctx, uint32_t seat);
/* Precomputed search data for a layout: per row the prefix sums of its
 * ranks (in seat order and sorted) and the categories it holds, per seat
 * its category run, rows ordered by their best rank (all, per section, per
 * category); about 11 bytes per seat and 40 per row. Returns 0 and *out
 * (caller owns, bo_best_index_free), BO_ENOMEM, or BO_EINVAL for a layout
 * whose rows are not consecutive runs of its seats in row order. The layout
 * must outlive the index; the index is read-only, so one serves every
 * event at that layout, from any thread. */
int bo_best_index_new(const bo_layout_t *l, bo_best_index_t **out);
void bo_best_index_free(bo_best_index_t *ix);
int bo_best_available(const bo_best_index_t *ix, const uint16_t *row_free, bo_seat_free_fn is_free,
                      void *ctx, uint32_t quantity, uint32_t category, uint32_t section,
                      uint32_t *out);

#endif
