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

#endif
