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

#include <stddef.h>
#include <stdint.h>

#include "boxoffice/clock.h"
#include "boxoffice/engine.h"
#include "boxoffice/store.h"

typedef struct bo_live bo_live_t;

/* The answer to one call. */
typedef struct bo_live_result {
    int status;        /* 0 or a negative BO_E* code */
    bo_hold_res_t res; /* holds: what was held or what was not; blocks: unavailable seats */
    int released;      /* pay_failed: the hold was released */
    uint64_t seq;      /* the event's log sequence of this mutation */
} bo_live_result_t;

/* Called exactly once per call: on the caller's thread before the call
 * returns when the engine refused (nothing to commit), else on the store's
 * committer thread after the commit (or its failure). r is valid during the
 * call only. */
typedef void (*bo_live_done_fn)(void *arg, const bo_live_result_t *r);

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

/* Mutations of one event: the engine calls of engine.h, made durable. Each
 * returns the status it already knows (0 while the commit is pending) and
 * calls done once. BO_ENOTFOUND for an unknown event, BO_EBUSY when the
 * store's queue is full. */
int bo_live_hold(bo_live_t *live, uint64_t event, const bo_hold_req_t *req, bo_live_done_fn done,
                 void *arg);
int bo_live_release(bo_live_t *live, uint64_t event, const bo_hold_id_t *id, bo_live_done_fn done,
                    void *arg);
int bo_live_pay_start(bo_live_t *live, uint64_t event, const bo_hold_id_t *id, int64_t deadline_ms,
                      bo_live_done_fn done, void *arg);
int bo_live_pay_failed(bo_live_t *live, uint64_t event, const bo_hold_id_t *id,
                       bo_live_done_fn done, void *arg);
int bo_live_confirm(bo_live_t *live, uint64_t event, const bo_hold_id_t *id, const uint32_t *seats,
                    uint32_t nseats, const bo_ga_line_t *ga, uint32_t nga, uint64_t customer,
                    int64_t amount_cents, bo_live_done_fn done, void *arg);
int bo_live_cancel(bo_live_t *live, uint64_t event, const bo_hold_id_t *id, bo_live_done_fn done,
                   void *arg);
int bo_live_block(bo_live_t *live, uint64_t event, const uint32_t *seats, uint32_t nseats,
                  int unblock, bo_live_done_fn done, void *arg);

/*
 * The same calls with a hook: decided runs under the event's lock once the
 * engine accepted the decision, before its record is queued; it may attach
 * an idempotent answer to rec (rec->idem_*; memory owned by arg, alive until
 * done), stored in the same transaction as the decision. Not called when the
 * engine refuses.
 */
typedef void (*bo_live_decided_fn)(void *arg, const bo_live_result_t *r, bo_rec_t *rec);
typedef struct bo_live_call {
    bo_live_done_fn done;
    void *arg;
    bo_live_decided_fn decided; /* may be NULL */
} bo_live_call_t;
int bo_live_hold_call(bo_live_t *live, uint64_t event, const bo_hold_req_t *req,
                      const bo_live_call_t *c);
int bo_live_release_call(bo_live_t *live, uint64_t event, const bo_hold_id_t *id,
                         const bo_live_call_t *c);
int bo_live_block_call(bo_live_t *live, uint64_t event, const uint32_t *seats, uint32_t nseats,
                       int unblock, const bo_live_call_t *c);
int bo_live_pay_start_call(bo_live_t *live, uint64_t event, const bo_hold_id_t *id,
                           int64_t deadline_ms, const bo_live_call_t *c);
int bo_live_pay_failed_call(bo_live_t *live, uint64_t event, const bo_hold_id_t *id,
                            const bo_live_call_t *c);
int bo_live_confirm_call(bo_live_t *live, uint64_t event, const bo_hold_id_t *id,
                         const uint32_t *seats, uint32_t nseats, const bo_ga_line_t *ga,
                         uint32_t nga, uint64_t customer, int64_t amount_cents,
                         const bo_live_call_t *c);
int bo_live_cancel_call(bo_live_t *live, uint64_t event, const bo_hold_id_t *id,
                        const bo_live_call_t *c);

/*
 * Documents: small durable JSON objects beside the inventories (orders,
 * check-ins, staff tokens, processed webhook events, keys, the outbox),
 * each named by a collection and an id and replaced whole on every write.
 * bo_live_put_docs makes n of them durable in one transaction (done as
 * usual; docs and their strings are the caller's until done). A decided
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
 * ride with), then end the key; done is called as usual. A refusal (status
 * >= 400) only ends the key (kept in memory) and calls done with 0 at once. */
int bo_live_idem_put(bo_live_t *live, const char *key, const uint8_t hash[32], int status,
                     const char *body, size_t len, bo_live_done_fn done, void *arg);

/* Run fn with the event's inventory under its lock (reads only), with the
 * clock's now. Returns fn's value, or BO_ENOTFOUND. */
typedef int (*bo_live_read_fn)(void *arg, const bo_inv_t *inv, int64_t now_ms);
int bo_live_read(bo_live_t *live, uint64_t event, bo_live_read_fn fn, void *arg);
/* The layout of a venue (valid until bo_live_close), or NULL. */
const bo_layout_t *bo_live_venue(bo_live_t *live, uint64_t venue);

/* Release expired holds of every event (memory hygiene: reads already treat
 * them as gone). Returns how many. */
uint32_t bo_live_sweep(bo_live_t *live);
/* The same for one event (before a read whose version must reflect expiry). */
uint32_t bo_live_sweep_event(bo_live_t *live, uint64_t event);

/* The same calls, waiting for the answer (tools and tests). */
typedef struct bo_live_wait bo_live_wait_t;
bo_live_wait_t *bo_live_wait_new(void);
void bo_live_wait_free(bo_live_wait_t *w);
/* Pass as (done, arg); bo_live_wait blocks until it ran and copies the
 * result to r (may be NULL); returns its status. Reusable. */
void bo_live_wait_done(void *arg, const bo_live_result_t *r);
int bo_live_wait(bo_live_wait_t *w, bo_live_result_t *r);

#endif
