/*
 * live_fixture.h - shared set-up for tests of the live layer: a temporary
 * SQLite file, a generated venue and event, and calls that wait for their
 * answer.
 */
#ifndef BOXOFFICE_LIVE_FIXTURE_H
#define BOXOFFICE_LIVE_FIXTURE_H

#include "boxoffice/live.h"

/* A fresh "sqlite:/tmp/…" URL in *url (caller frees) and its path (free). */
char *fx_temp_db(char **path_out);
/* Remove the database file and its -wal/-shm companions. */
void fx_remove_db(const char *path);
/* Venue id with a generated map (sections x rows x seats, GA areas of
 * capacity ga_cap), then event id on it with TTL ttl_ms and prices 1000,
 * 2000, … per category. Returns 0 or the failing status. */
int fx_venue_event(bo_live_t *live, uint64_t venue, uint64_t event, uint32_t sections,
                   uint32_t rows, uint32_t seats, uint32_t ga_areas, uint32_t ga_cap,
                   int64_t ttl_ms, uint32_t per_customer_limit);
/* A hold id from a counter. */
bo_hold_id_t fx_id(uint64_t n);
/* live.h's decisions for tests that count every answer: done runs once for
 * every call, with the refusal of an error return (which has no callback,
 * live.h's contract) at once, on this thread. Return the call's status. */
int fx_live_hold(bo_live_t *live, uint64_t event, const bo_hold_req_t *req, bo_live_done_fn done,
                 void *arg);
int fx_live_release(bo_live_t *live, uint64_t event, const bo_hold_id_t *id, bo_live_done_fn done,
                    void *arg);
int fx_live_pay_start(bo_live_t *live, uint64_t event, const bo_hold_id_t *id, int64_t deadline_ms,
                      bo_live_done_fn done, void *arg);
int fx_live_pay_failed(bo_live_t *live, uint64_t event, const bo_hold_id_t *id,
                       bo_live_done_fn done, void *arg);
int fx_live_confirm(bo_live_t *live, uint64_t event, const bo_hold_id_t *id, const uint32_t *seats,
                    uint32_t nseats, const bo_ga_line_t *ga, uint32_t nga, uint64_t customer,
                    int64_t amount_cents, bo_live_done_fn done, void *arg);
int fx_live_cancel(bo_live_t *live, uint64_t event, const bo_hold_id_t *id, bo_live_done_fn done,
                   void *arg);
int fx_live_block(bo_live_t *live, uint64_t event, const uint32_t *seats, uint32_t nseats,
                  int unblock, bo_live_done_fn done, void *arg);
int fx_live_update_event(bo_live_t *live, uint64_t event, const char *meta_json,
                         const bo_inv_config_t *cfg, bo_live_done_fn done, void *arg);

/* Waiting versions of live.h calls; r may be NULL. */
int fx_hold(bo_live_t *live, uint64_t event, const bo_hold_req_t *req, bo_live_result_t *r);
int fx_hold_seats(bo_live_t *live, uint64_t event, bo_hold_id_t id, const uint32_t *seats,
                  uint32_t n, bo_live_result_t *r);
int fx_release(bo_live_t *live, uint64_t event, bo_hold_id_t id);
int fx_pay_start(bo_live_t *live, uint64_t event, bo_hold_id_t id, int64_t deadline_ms);
int fx_confirm(bo_live_t *live, uint64_t event, bo_hold_id_t id);
int fx_cancel(bo_live_t *live, uint64_t event, bo_hold_id_t id);
int fx_block(bo_live_t *live, uint64_t event, const uint32_t *seats, uint32_t n, int unblock);

/* Snapshot of an event for equality checks: counts, seat states, GA. */
typedef struct fx_state {
    bo_inv_counts_t counts;
    uint8_t *states;
    uint32_t nseats;
    uint32_t ga_avail[16], ga_sold[16];
    uint32_t nga;
} fx_state_t;
int fx_capture(bo_live_t *live, uint64_t event, fx_state_t *s);
/* 1 when equal (version ignored). */
int fx_state_eq(const fx_state_t *a, const fx_state_t *b);
void fx_state_free(fx_state_t *s);

/* The hold id of event as the engine sees it now (expiry applied), copied. */
typedef struct fx_hold {
    uint8_t status; /* enum bo_hold_status */
    uint8_t pay_failures;
    int64_t expires_at_ms;
    uint32_t nseats, nga;
    uint32_t seats[BO_HOLD_MAX_SEATS];
    bo_ga_line_t ga[BO_HOLD_MAX_GA];
} fx_hold_t;
/* 0 and *h, or BO_ENOTFOUND when the hold is gone (never made, released,
 * expired, cancelled) or the event is unknown. */
int fx_get_hold(bo_live_t *live, uint64_t event, bo_hold_id_t id, fx_hold_t *h);

/*
 * Asynchronous calls from one thread: up to window calls in flight, their
 * answers queued back to that thread in the order they arrived. A test
 * embeds fx_call_t first in its own call record (call_size bytes each).
 */
typedef struct fx_async fx_async_t;
typedef struct fx_call {
    fx_async_t *owner;
    struct fx_call *next;
    bo_live_result_t r; /* the answer, once fx_async_take returned the call */
} fx_call_t;
/* hook (may be NULL) runs on the answering thread, with r set, before the
 * call is queued (e.g. to log acknowledgements at once). NULL on ENOMEM. */
fx_async_t *fx_async_new(uint32_t window, size_t call_size, void (*hook)(fx_call_t *c));
void fx_async_free(fx_async_t *a);
/* A free call record (zeroed but for owner), or NULL when window calls are
 * in flight. Issue it with (fx_async_done, call) or give it back with
 * fx_async_end. */
fx_call_t *fx_async_begin(fx_async_t *a);
void fx_async_done(void *arg, const bo_live_result_t *r);
/* The next answered call, or NULL: none is queued and (wait == 0, or none
 * is in flight). The caller hands it back with fx_async_end. */
fx_call_t *fx_async_take(fx_async_t *a, int wait);
void fx_async_end(fx_async_t *a, fx_call_t *c);
/* Give back a call from fx_async_begin that was never issued. */
void fx_async_drop(fx_async_t *a, fx_call_t *c);
uint32_t fx_async_inflight(const fx_async_t *a);

/*
 * Reading the SQLite file directly (not through the store), for checks of
 * what is really on disk. fx_db_log_each decodes every log record of event
 * in seq order and calls fn (nonzero stops and is returned); 0, or BO_EIO,
 * or BO_ECORRUPT for a record that does not decode.
 */
typedef struct fx_logrec {
    uint64_t seq;
    int64_t at_ms;
    uint8_t op; /* enum bo_mut_op of src/live/record.h */
    bo_hold_id_t id;
    int64_t expires_at_ms, deadline_ms, amount_cents;
    const uint32_t *seats;
    uint32_t nseats;
    const bo_ga_line_t *ga;
    uint32_t nga;
} fx_logrec_t;
int fx_db_log_each(const char *path, uint64_t event, int (*fn)(void *ctx, const fx_logrec_t *r),
                   void *ctx);
/* The seq of event's snapshot (its log rows up to it are gone), 0 when it
 * has none, or -1 when the database cannot be read. */
int64_t fx_db_snapshot_seq(const char *path, uint64_t event);
/* The database's last line of defence against the engine state s of event:
 * the sold rows of event are exactly s's SOLD seats, no (event, seat) is in
 * sold twice, and each GA area's sold equals s->ga_sold and is <= its
 * capacity. 0, or -1 with the first difference in why. */
int fx_db_check_sales(const char *path, uint64_t event, const fx_state_t *s, char *why,
                      size_t why_len);

#endif
