/*
 * live.h - the live inventories of every event: each event's engine behind
 * its own lock, every decision made durable through the store before its
 * answer, and recovery of the whole state from the store at start.
 *
 * Workload: every hold of every buyer passes here. A call takes the event's
 * lock for microseconds (decide in memory, queue the record), and its
 * answer comes on the store's committer thread once the record is durable;
 * no caller ever waits for disk while holding a lock. When a commit fails,
 * the event is rolled back to the last durable state (the engine's journal)
 * and every decision queued after the failed one is cancelled too, since it
 * may depend on it: nothing anyone saw acknowledged is ever undone, and
 * nothing unacknowledged survives.
 */
#ifndef BOXOFFICE_LIVE_H
#define BOXOFFICE_LIVE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "boxoffice/clock.h"
#include "boxoffice/engine.h"
#include "boxoffice/store.h"

typedef struct bo_live bo_live_t;

/*
 * The calling contract (libuv's requests, docs/src/request.rst): every call
 * that takes a done callback either returns an error, and then done never
 * runs and nothing changed, or returns 0, and then done runs exactly once,
 * later, on the store's committer thread, once the decision is durable (or
 * its commit failed: BO_EIO, or BO_ECANCELED when an earlier failure took it
 * back). A refusal of the engine (seats taken, a hold in the wrong state) is
 * an error return, known before the call returns.
 */

/* The answer to one call. */
typedef struct bo_live_result {
    int status;        /* 0 or a negative BO_E* code */
    bo_hold_res_t res; /* holds: what was held or what was not; blocks: unavailable seats */
    int released;      /* pay_failed: the hold was released */
    uint64_t seq;      /* the event's log sequence of this mutation */
} bo_live_result_t;

/* Runs once per call that returned 0, on the committer thread; r is valid
 * during the call only. */
typedef void (*bo_live_done_fn)(void *arg, const bo_live_result_t *r);

/*
 * A decision about one event's inventory: one operation of the engine, the
 * unit that is applied (bo_live_apply), logged (live/record.h) and
 * replayed. The one switch over its operations is bo_mut_apply_fx.
 */
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
    uint8_t op;               /* enum bo_mut_op */
    const bo_hold_req_t *req; /* HOLD of a live call: the request (explicit seats, best
                                 available, GA); NULL in a logged hold (the fields below) */
    bo_hold_id_t id;          /* every op but BLOCK/UNBLOCK */
    uint64_t customer;        /* HOLD, CONFIRM */
    uint64_t client;          /* HOLD: the client key of its caps (engine.h) */
    int64_t expires_at_ms;    /* HOLD */
    int64_t deadline_ms;      /* PAY_START */
    int64_t amount_cents;     /* HOLD, CONFIRM */
    const uint32_t *seats;    /* HOLD, CONFIRM, BLOCK, UNBLOCK */
    uint32_t nseats;
    const bo_ga_line_t *ga; /* HOLD, CONFIRM */
    uint32_t nga;
} bo_mut_t;

/*
 * Open the store at db_url, rebuild every venue, event and inventory from
 * it, and start committing. clock NULL means the system clock. Returns 0 and
 * *out (caller owns, bo_live_close), or BO_EINVAL (bad URL), BO_EIO, or
 * BO_ECORRUPT (a log record that does not replay; the message is logged).
 */
int bo_live_open(const char *db_url, bo_clock_t *clock, bo_live_t **out);
/* Finish queued commits (their callbacks run), then free everything. */
void bo_live_close(bo_live_t *live);
bo_store_t *bo_live_store(bo_live_t *live);
/* The one clock of decisions (bo_live_open's, or the system clock): the
 * API and the order domain read time here, never the system clock, so a
 * test that injects a clock moves them all. Never NULL; lives as live. */
bo_clock_t *bo_live_clock(bo_live_t *live);
/* Now on that clock, in ms since the Unix epoch. Any thread. */
int64_t bo_live_now_ms(bo_live_t *live);

/* Every this many records of an event, its whole state is written as a
 * snapshot and the log records before it are dropped, bounding both the
 * database and the time to start. */
#define BO_LIVE_SNAPSHOT_EVERY 100000u
void bo_live_set_snapshot_every(bo_live_t *live, uint64_t records);

/* Venues and events. A venue's seat map is validated (problems into probs
 * when it is not NULL, BO_EINVAL); BO_EEXIST for a known id; BO_ENOTFOUND for
 * an event's unknown venue. Visible once committed. */
int bo_live_add_venue(bo_live_t *live, uint64_t venue, const char *json, size_t len,
                      bo_problems_t *probs, bo_live_done_fn done, void *arg);
/* The same with the venue's meta JSON (an object: city, address, ...; NULL:
 * {}), stored with it; bo_live_venue_meta returns a copy (caller frees) or
 * NULL for an unknown venue. */
int bo_live_add_venue_meta(bo_live_t *live, uint64_t venue, const char *json, size_t len,
                           const char *meta_json, bo_problems_t *probs, bo_live_done_fn done,
                           void *arg);
char *bo_live_venue_meta(bo_live_t *live, uint64_t venue);
int bo_live_add_event(bo_live_t *live, uint64_t event, uint64_t venue, const char *meta_json,
                      const bo_inv_config_t *cfg, bo_live_done_fn done, void *arg);

/* Change an event's meta and rules (prices, TTL, limit) durably; they apply
 * to decisions made after the commit. BO_ENOTFOUND, BO_EINVAL (rules). */
int bo_live_update_event(bo_live_t *live, uint64_t event, const char *meta_json,
                         const bo_inv_config_t *cfg, bo_live_done_fn done, void *arg);
/* A copy of an event's meta JSON (caller frees) and its venue, or NULL. */
char *bo_live_event_meta(bo_live_t *live, uint64_t event, uint64_t *venue);
/* Call fn for every visible event, under its lock (reads only), in no
 * particular order; stops at and returns fn's first nonzero answer. */
typedef int (*bo_live_event_fn)(void *arg, uint64_t event, uint64_t venue, const char *meta_json,
                                const bo_inv_t *inv, int64_t now_ms);
int bo_live_each_event(bo_live_t *live, bo_live_event_fn fn, void *arg);
typedef int (*bo_live_venue_fn)(void *arg, uint64_t venue, const bo_layout_t *layout);
int bo_live_each_venue(bo_live_t *live, bo_live_venue_fn fn, void *arg);

/*
 * Decide m about event: under the event's lock, the engine applies it (the
 * same switch that replays the log), the decided hook runs, the record is
 * queued; the answer comes through c->done once it is durable (the
 * contract above). Errors: BO_ENOTFOUND (unknown event), BO_EINVAL (a HOLD
 * without req, a CONFIRM past BO_HOLD_MAX_SEATS / BO_HOLD_MAX_GA),
 * BO_ETOOLARGE (a BLOCK past BO_LAYOUT_MAX_SEATS), BO_EBUSY (the store's
 * queue is full), BO_ENOMEM, or the engine's refusal (engine.h); then
 * *refusal, when not NULL, gets the whole answer (the seats that were not
 * available). A CONFIRM sells what the hold holds, whatever m lists.
 *
 * decided (may be NULL) runs under the event's lock once the engine
 * accepted, before the record is queued; it may attach an idempotent answer
 * (rec->idem_*) or documents (rec->docs) to the record, stored in the same
 * transaction (memory owned by arg, alive until done).
 */
typedef void (*bo_live_decided_fn)(void *arg, const bo_live_result_t *r, bo_rec_t *rec);
typedef struct bo_live_call {
    bo_live_done_fn done;
    void *arg;
    bo_live_decided_fn decided; /* may be NULL */
} bo_live_call_t;
int bo_live_apply(bo_live_t *live, uint64_t event, const bo_mut_t *m, const bo_live_call_t *c,
                  bo_live_result_t *refusal);
/*
 * An event found once and handed down: a request that decides (or reads)
 * looks its event up once (the API's catalog keeps the handle with the
 * event's meta) instead of once per call. bo_live_find: the visible event
 * of that id, or NULL; a handle stays valid until bo_live_close (events
 * never leave the live layer); any thread, bo_live_each_event's fn too (a
 * second read lock of the registries, which POSIX allows).
 * bo_live_event_layout: its venue's seat map.
 * bo_live_apply_to / bo_live_read_of: bo_live_apply / bo_live_read on the
 * handle (NULL: BO_ENOTFOUND, as for an unknown id).
 */
typedef struct bo_live_event bo_live_event_t;
bo_live_event_t *bo_live_find(bo_live_t *live, uint64_t event);
const bo_layout_t *bo_live_event_layout(const bo_live_event_t *event);
int bo_live_apply_to(bo_live_t *live, bo_live_event_t *event, const bo_mut_t *m,
                     const bo_live_call_t *c, bo_live_result_t *refusal);

/*
 * Documents: small durable JSON objects beside the inventories (orders,
 * check-ins, staff tokens, processed webhook events, keys, the outbox),
 * each named by a collection and an id and replaced whole on every write.
 * bo_live_put_docs makes n of them durable in one transaction (the calling
 * contract above; docs and their strings are the caller's until done). A decided
 * hook may instead attach docs to its record (rec->docs), so that they are
 * durable together with the decision. BO_EBUSY when the queue is full.
 */
int bo_live_put_docs(bo_live_t *live, const bo_doc_t *docs, uint32_t n, bo_live_done_fn done,
                     void *arg);
/* Every document recovered at open, collection by collection in the order
 * they were last written (fn returning nonzero stops). The documents are
 * freed afterwards: call once, at start. */
typedef int (*bo_live_doc_fn)(void *arg, const char *coll, const char *id, const char *body,
                              size_t len);
int bo_live_take_docs(bo_live_t *live, bo_live_doc_fn fn, void *arg);

/*
 * Idempotency. A request carrying an Idempotency-Key (any string of 1..255
 * bytes) with hash (32 bytes naming the request: method, path, body) from
 * client (its address, for the per-client cap; NULL: none) first reserves
 * its key: 0 means new (the caller goes on, and ends the key with the
 * durable answer, or with body NULL when it left none); 1 means already
 * answered, *ans being a copy (caller frees ans->body); BO_EIDEMMISMATCH for
 * another request under that key; BO_EIDEMBUSY while the first is in
 * progress; BO_ERATE when client holds too many keys (*retry_ms: when to
 * try again; retry_ms may be NULL); BO_ENOMEM. Answers are kept
 * BO_IDEM_TTL_MS, refusals (>= 400) BO_IDEM_REFUSAL_TTL_MS and in memory
 * only; the caps and their outcomes: live/idem_table.h.
 */
#define BO_IDEM_TTL_MS (24 * 3600 * 1000LL)
typedef struct bo_idem_answer {
    int status;
    char *body;
    size_t len;
} bo_idem_answer_t;
int bo_live_idem_begin(bo_live_t *live, const char *key, const uint8_t hash[32], const char *client,
                       bo_idem_answer_t *ans, int64_t *retry_ms);
void bo_live_idem_end(bo_live_t *live, const char *key, int status, const char *body, size_t len);
/* Make an answer durable on its own (a success with no decision record to
 * ride with), then end the key; done as usual. A refusal (status >= 400) is
 * kept in memory only: nothing is written, and done runs once the store's
 * next commit is through, as for any call (a caller that needs no callback
 * ends a refused key with bo_live_idem_end). */
int bo_live_idem_put(bo_live_t *live, const char *key, const uint8_t hash[32], int status,
                     const char *body, size_t len, bo_live_done_fn done, void *arg);

/* Run fn with the event's inventory under its lock (reads only), with the
 * clock's now. Returns fn's value, or BO_ENOTFOUND. */
typedef int (*bo_live_read_fn)(void *arg, const bo_inv_t *inv, int64_t now_ms);
int bo_live_read(bo_live_t *live, uint64_t event, bo_live_read_fn fn, void *arg);
int bo_live_read_of(bo_live_t *live, bo_live_event_t *event, bo_live_read_fn fn, void *arg);
/* Whether a and b (each recovered from its own store) hold the same events
 * in the same state at now_ms: details, version, every seat's state, GA
 * counters and every live or sold hold (src/live/live_compare.c). 0 with
 * *events compared, or BO_ESTATE with the first difference in why, or
 * BO_ENOMEM. */
int bo_live_compare(bo_live_t *a, bo_live_t *b, int64_t now_ms, uint32_t *events, char *why,
                    size_t cap);
/* The layout of a venue (valid until bo_live_close), or NULL. */
const bo_layout_t *bo_live_venue(bo_live_t *live, uint64_t venue);

/* Release expired holds of every event (memory hygiene: reads already treat
 * them as gone). Returns how many. */
uint32_t bo_live_sweep(bo_live_t *live);
/* The same for one event (before a read whose version must reflect expiry). */
uint32_t bo_live_sweep_event(bo_live_t *live, uint64_t event);

/*
 * The waiter: blocks a thread until a call's done ran (worker threads,
 * tools, tests). Pass (bo_live_wait_done, w) as (done, arg), or a struct
 * that starts with a waiter as arg when a decided hook needs more; wait
 * only when the call returned 0. Embedded (init/destroy) or allocated
 * (new/free); reusable.
 */
typedef struct bo_live_wait {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int ready;
    bo_live_result_t r;
} bo_live_wait_t;
void bo_live_wait_init(bo_live_wait_t *w);
void bo_live_wait_destroy(bo_live_wait_t *w);
bo_live_wait_t *bo_live_wait_new(void);
void bo_live_wait_free(bo_live_wait_t *w);
void bo_live_wait_done(void *arg, const bo_live_result_t *r);
/* Block until done ran; copy its result to r (may be NULL); its status. */
int bo_live_wait(bo_live_wait_t *w, bo_live_result_t *r);

#endif
