/*
 * api_internal.h - state and helpers shared by the files of src/api/: one
 * file per resource (venues.c, events.c, seatmap.c, availability.c,
 * holds.c, ...), each with a registration function called from
 * bo_api_register, plus the shared pieces: auth.c (admin token), idem.c
 * (Idempotency-Key). Events' and venues' meta are the catalog's
 * (boxoffice/catalog.h, src/catalog/; events_list.c opens it); orders and
 * payments are the order domain's (boxoffice/order.h, src/order/): the API
 * holds a bo_orders_t, never an order's fields.
 */
#ifndef BOXOFFICE_API_INTERNAL_H
#define BOXOFFICE_API_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "order/ids.h"
#include "util/email.h"
#include "util/limits.h"
#include "util/rate.h"
#include "boxoffice/api.h"
#include "boxoffice/catalog.h"
#include "boxoffice/error.h"
#include "boxoffice/order.h"
#include "boxoffice/queue.h"
#include "boxoffice/staff.h"
#include "util/assert.h"

struct bo_streams;  /* availability.c */
struct bo_seatmaps; /* seatmap.c */
struct bo_imports;  /* venues.c */

/* queue.c: what boxoffice_queue_rejected_total{reason} counts */
enum bo__queue_reject {
    BO__QUEUE_REJECT_RATE,
    BO__QUEUE_REJECT_POW,
    BO__QUEUE_REJECT_PASS_MISSING,
    BO__QUEUE_REJECT_PASS_INVALID,
    BO__QUEUE_REJECT_PASS_EXPIRED,
    BO__QUEUE_REJECT_PASS_OTHER,
    BO__QUEUE_REJECTS
};

/* holds.c: what boxoffice_holds_total{result} counts */
enum bo__hold_result {
    BO__HOLD_CREATED,      /* 201 */
    BO__HOLD_UNAVAILABLE,  /* 409 SEATS_UNAVAILABLE */
    BO__HOLD_SOLD_OUT,     /* 409 SOLD_OUT */
    BO__HOLD_LIMIT,        /* 422 LIMIT_EXCEEDED */
    BO__HOLD_INVALID,      /* 400 */
    BO__HOLD_NOT_ON_SALE,  /* 422 NOT_ON_SALE */
    BO__HOLD_FAILED,       /* 5xx */
    BO__HOLD_RATE_LIMITED, /* 429 RATE_LIMITED: a token bucket or a per-address cap */
    BO__HOLD_RESULTS
};

#define BO_API_CLIENT_KEY_BYTES 16 /* a SipHash key (libsodium crypto_shorthash) */

typedef struct bo_api {
    bo_server_t *srv;
    bo_live_t *live;
    char *admin_token;
    int demo;
    char *payment;        /* "sim:URL" or "stripe:URL"; NULL: none */
    char *webhook_secret; /* NULL: webhooks refused */
    size_t max_body_bytes;
    /* readiness: commit counters at the last probe */
    pthread_mutex_t ready_mu;
    uint64_t seen_commits, seen_failures, seen_reconnects;
    bool failing;
    /* the resources' state */
    bo_catalog_t *catalog; /* events_list.c opens it */
    struct bo_streams *streams;
    /* holds.c: boxoffice_holds_total{result}, indexed by enum bo__hold_result */
    bo_metric_series_t *holds_total[BO__HOLD_RESULTS];
    /* seatmap.c: rendered seat maps; venues.c: imports running now */
    struct bo_seatmaps *seatmaps;
    struct bo_imports *imports;
    /* orders and payments (boxoffice/order.h; orders.c opens it) */
    bo_orders_t *orders;
    bo_pay_t *pay; /* handed to orders when they open (then NULL here) */
    uint32_t reconcile_ms, reconcile_budget_per_s;
    /* limit.c: the server's limits (each event may override them), the
     * token buckets of the per-minute ones, their refusals' counters and
     * the key of the client hash the engine's caps count by */
    bo_limits_t limits;
    bo_rate_t *rates[BO_LIMITS]; /* holds, checkouts, card attempts; else NULL */
    bo_metric_series_t *limit_rejections[BO_LIMITS];
    uint8_t client_hash_key[BO_API_CLIENT_KEY_BYTES];
    bo_http_trusted_t trusted_proxies; /* whose X-Forwarded-For is believed */
    bo_staff_t *staff;                 /* checkin.c: staff tokens (boxoffice/staff.h) */
    pthread_mutex_t changing_mu;       /* events.c: events with a PATCH being committed */
    struct bo_u64map *changing;
    /* queue.c: the waiting rooms (joins are limited by limit.c) */
    bo_queues_t *queues;
    uint64_t queue_rejected[BO__QUEUE_REJECTS]; /* atomic */
} bo_api_t;

/* ---- auth.c --------------------------------------------------------------- */

/*
 * The admin check of every admin endpoint, before anything else is read:
 * "Authorization: Bearer <token>" compared with the admin token in constant
 * time (both hashed, then compared with sodium_memcmp, so neither the
 * content nor the length of the token leaks). Returns 0 when allowed; else
 * answers 401 UNAUTHORIZED (no header, another scheme, no token; with
 * WWW-Authenticate: Bearer) or 403 FORBIDDEN (wrong token) and returns
 * BO_EUNAUTHORIZED or BO_EFORBIDDEN, which the handler may return as is.
 */
int bo__api_admin(bo_api_t *api, bo_http_req_t *r);
/* The same check as a guard of big bodies (bo_http_guard_fn; arg: the
 * bo_api_t): 0, BO_EUNAUTHORIZED or BO_EFORBIDDEN, nothing answered. */
int bo__api_admin_guard(void *arg, const char *authorization, size_t len);
/* The token of r's "Authorization: Bearer <token>" (request memory) and
 * its length, or NULL (no header, another scheme, no token). */
const char *bo__api_bearer(bo_http_req_t *r, size_t *len);
/* Whether token (len bytes) is the admin token, compared as bo__api_admin
 * does; answers nothing. */
bool bo__api_is_admin(bo_api_t *api, const char *token, size_t len);

/* ---- idem.c: the common entry of mutating calls ---------------------------- */

/*
 * The JSON body of a mutating call: a Content-Type other than JSON
 * (application/json, or any type ending in +json; absent is accepted) is
 * refused with 400 INVALID_REQUEST (details.field "Content-Type"), then
 * bo_http_json_body with depth BO_API_JSON_DEPTH. Returns 0 and *out (the
 * caller owns it: json_decref), or BO_EINVAL once a 400 was answered (the
 * handler then returns 0).
 */
#define BO_API_JSON_DEPTH 32u
int bo__api_json_body(bo_http_req_t *r, json_t **out);

/*
 * Idempotency-Key, for every mutating call (docs/api.md "Idempotency").
 * Usage:
 *
 *   bo_idem_t idem;             // in the request's context when the answer
 *                               // comes later: the key is copied into it
 *   validate the input first (a 400 for bad input is never stored), then
 *   if (bo__idem_begin(api, r, &idem)) return 0;   // answered: replay, 4xx
 *   ... decide; exactly one of these ends a key that began (no-ops without):
 *   - a decision through the live layer (bo_live_*_call): in `decided`,
 *     render the success answer and bo__idem_attach it to the record (it is
 *     then durable with the decision); in `done`, bo__idem_end with it
 *     when the commit succeeded, with body NULL when it failed;
 *   - any other answer (a refusal such as 409 or 404 decided from the
 *     state, kept in memory a while; or a 201 of a create whose commit
 *     succeeded, stored): bo__idem_reply, which keeps it (bo_live_idem_put)
 *     and answers once it is kept;
 *   - giving up without an answer worth storing (5xx, 429, out of memory):
 *     bo__idem_end with body NULL (bo__idem_reply does it for 5xx/429).
 * Creates derive their id from the key (bo_id_from_key(scope, idem.key)) so
 * that a retry after a lost answer finds what the first attempt made.
 */
typedef struct bo_idem {
    bool on;                       /* a key began: it must be ended */
    char key[BO_IDEM_KEY_MAX + 1]; /* NUL-terminated when on */
    uint8_t hash[32];              /* SHA-256 of method NUL path NUL body */
} bo_idem_t;

/*
 * Read r's Idempotency-Key. Absent: idem->on = false, returns 0 (go on).
 * Present: checks it (1..255 printable ASCII, else 400 INVALID_REQUEST with
 * details.field "Idempotency-Key"), hashes the request and reserves the key:
 * new: idem->on = true, returns 0 (go on, and end it as described above);
 * else answers r and returns 1: the stored answer again, status and body
 * verbatim (with Idempotent-Replayed: true), 422 IDEMPOTENCY_MISMATCH,
 * 409 IDEMPOTENCY_IN_PROGRESS, 429 RATE_LIMITED with Retry-After when the
 * client's network holds BO_IDEM_PER_CLIENT_MAX keys (engine/
 * idem_table.h), or 503 when out of memory.
 */
int bo__idem_begin(bo_api_t *api, bo_http_req_t *r, bo_idem_t *idem);
/* The request hash of bo__idem_begin (exposed for tests). */
void bo__idem_hash(const char *method, const char *path, const char *body, size_t len,
                   uint8_t out[32]);
/* Whether s (len bytes) is an acceptable Idempotency-Key. */
bool bo__idem_key_ok(const char *s, size_t len);
/* In a `decided` hook: make (status, body) the key's answer, stored in the
 * same transaction as the decision. body stays the caller's and must live
 * until `done`; idem too. No-op when idem is off. */
void bo__idem_attach(const bo_idem_t *idem, bo_rec_t *rec, int status, const char *body,
                     size_t len);
/* End the key with its durable answer (copied), or with body NULL for none
 * (a retry then runs again). Any thread; no-op when idem is off; idem is
 * off afterwards. */
void bo__idem_end(bo_api_t *api, bo_idem_t *idem, int status, const char *body, size_t len);
/*
 * Answer a request through a, its async handle (bo_http_async_begin; this
 * finishes it), with status and body (JSON text, malloc'd: taken; NULL with
 * len 0 for none, as 204 has), adding a Location header when location is
 * not NULL (copied). With a key that began, a success (< 400) is first
 * stored durably (bo_live_idem_put) and sent after that commit; a refusal
 * (4xx) is kept in memory only (live.h "Idempotency") and sent at once;
 * 5xx and 429 are never kept (the key is ended without an answer and the
 * answer sent at once). When storing fails, an answer with durable false
 * (nothing was decided) becomes 503 so that a retry runs again, while one
 * that reports a durable change (durable true: a create that committed) is
 * sent anyway.
 * A 503 or 429 carries Retry-After: 1. Any thread; idem is off afterwards.
 */
void bo__idem_reply(bo_api_t *api, bo_idem_t *idem, bo_http_async_t *a, int status, char *body,
                    size_t len, const char *location, bool durable);
/* The same for an error: {"error":{"code","message","details"}} of bo_err
 * (error.h; message NULL: the table's), details stolen (NULL: {}). */
void bo__idem_reply_error(bo_api_t *api, bo_idem_t *idem, bo_http_async_t *a, int bo_err,
                          const char *message, json_t *details);
/* 409 ORDER_BUSY with Retry-After: 1 through a (finished), the key ended
 * without an answer (a retry runs again). Any thread. */
void bo__idem_reply_busy(bo_api_t *api, bo_idem_t *idem, bo_http_async_t *a);

/* ---- hold_json.c: the JSON of holds ---------------------------------------- */

_Static_assert(BO_EMAIL_MAX == BO_ORDER_EMAIL_MAX, "one bound for a buyer's e-mail address");

/* What is wrong with a request: the JSON path of the field at fault ("" when
 * none), a message (static), and more details (owned; NULL: none). */
typedef struct bo_hold_bad {
    char field[48];
    const char *message;
    json_t *details;
} bo_hold_bad_t;

/*
 * Read a hold request body (docs/openapi.yaml HoldRequest) against the
 * event's layout into req (whose id and expiry the caller sets; seats and
 * ga point into the caller's arrays). Returns 0, or BO_EINVAL with *b
 * filled (the caller answers 400 with b's field, message and details).
 * Members that are null count as absent; unknown members are ignored.
 */
int bo__hold_request_read(const json_t *body, const bo_layout_t *l, bo_hold_req_t *req,
                          uint32_t seats[BO_HOLD_MAX_SEATS], bo_ga_line_t ga[BO_HOLD_MAX_GA],
                          bo_hold_bad_t *b);
/*
 * The fast reader of the common hold body: {"seats":["S1-A-1",...],
 * "customer":{"email":"..."}} (keys in either order, any JSON whitespace,
 * strings of printable ASCII without escapes), read straight into req for
 * about a fifth of the instructions of jansson's tree and the general
 * reader. Returns true with req read exactly as bo__hold_request_read
 * reads the same bytes as a JSON object (tests/fuzz/fuzz_hold_body.c
 * checks it), or false for anything else: other members, escapes,
 * non-ASCII, numbers, null, every mistake, which the general reader then
 * reads or reports. req then holds scratch.
 */
bool bo__hold_read_fast(const char *body, size_t len, const bo_layout_t *l, bo_hold_req_t *req,
                        uint32_t seats[BO_HOLD_MAX_SEATS]);
/* "2026-12-05T19:30:00Z": ms since the epoch, UTC, to the second below. */
/* Whole seconds left until expires_at, rounded up; 0 once it passed. */
int64_t bo__time_left_s(int64_t expires_at_ms, int64_t now_ms);
/*
 * A hold as the API answers it: {"hold":{"id","event_id","status","seats",
 * "ga","expires_at","time_left_s","amount":{"total_cents","currency"}}}.
 * Returns a malloc'd NUL-terminated string (the caller frees it) and *len,
 * or NULL when out of memory.
 */
char *bo__hold_render(const bo_layout_t *l, uint64_t event, const bo_hold_view_t *v,
                      const char *currency, int64_t now_ms, size_t *len);

/* ---- holds.c --------------------------------------------------------------- */

/* Route POST /api/v1/events/{id}/holds, GET and DELETE
 * /api/v1/holds/{hold_id}, and count boxoffice_holds_total. 0 or BO_E*. */
int bo__api_holds_register(bo_api_t *api);
/* venue_read.c: GET /api/v1/venues and /api/v1/venues/{id}. */
int bo__api_venue_read_register(bo_api_t *api);

/* ---- events_list.c: the catalog (boxoffice/catalog.h) and GET /api/v1/events -- */

/* Open the catalog from the live layer (api->catalog, freed with the
 * server) and route GET /api/v1/events. Call first: the other files read
 * the catalog. Returns 0 or a BO_E* code. */
int bo__api_events_list_register(bo_api_t *api);

/* ---- the other resources ---------------------------------------------------- */

/* venues.c: POST /api/v1/venues (bodies up to BO_LAYOUT_MAX_BYTES). */
int bo__api_venues_register(bo_api_t *api);
/* events.c: POST /api/v1/events, GET and PATCH /api/v1/events/{id},
 * POST …/block, GET …/report. */
int bo__api_events_register(bo_api_t *api);
/* The event object of the API ({"id","name",…,"availability"}), or NULL
 * (BO_ENOTFOUND or out of memory: *err says which when not NULL). */
json_t *bo__event_json(bo_api_t *api, uint64_t event, int *err);
/* block.c: POST /api/v1/events/{id}/block; report.c: GET …/report. */
int bo__api_block_register(bo_api_t *api);
int bo__api_report_register(bo_api_t *api);
/* seatmap.c: GET /api/v1/events/{id}/seatmap. */
int bo__api_seatmap_register(bo_api_t *api);
/* Start rendering event's seat map (both forms) unless it is cached: after
 * the event's creation or a change of its prices. Any thread; returns at
 * once. */
void bo__seatmap_warm(bo_api_t *api, uint64_t event);
/* seatmap_render.c: a rendered seat map. */
typedef struct bo__seatmap_body {
    char *body; /* JSON text */
    size_t len;
    char *gz; /* the same, gzip-compressed (NULL when that failed) */
    size_t gz_len;
    char etag[40];    /* "\"sm-<16 hex>\"" ("smc-" for columns) */
    char gz_etag[44]; /* "\"sm-<16 hex>-gz\"": another representation */
} bo__seatmap_body_t;
/* Render the seat map of venue (layout l) with the event's prices (one per
 * category), as objects or (columns) as flat arrays, into *out (its
 * buffers are the caller's: bo__seatmap_body_free). Returns 0 or
 * BO_ENOMEM (nothing to free). */
int bo__seatmap_render(uint64_t venue, const bo_layout_t *l, const int64_t *prices, bool columns,
                       bo__seatmap_body_t *out);
void bo__seatmap_body_free(bo__seatmap_body_t *b);
/* availability.c: GET …/availability and …/availability/stream. */
int bo__api_availability_register(bo_api_t *api);

/* ---- queue.c: the waiting room ------------------------------------------------ */

/* Route the queue's endpoints and open api->queues (before the orders,
 * whose loading hands the queue its documents). */
int bo__api_queue_register(bo_api_t *api);
/*
 * The pass a hold or checkout of a waiting-room event needs (X-Queue-Pass
 * or the bo_queue_pass cookie): 0 when e has no waiting room or the pass
 * is valid (then *customer, when not NULL, is the pass's shopper key,
 * untouched without a waiting room; *place, when not NULL, its place, 0
 * without a waiting room), else BO_EQUEUEREQUIRED once 403
 * QUEUE_REQUIRED was answered (details.join_url, details.reason).
 */
int bo__queue_require(bo_api_t *api, bo_http_req_t *r, const bo_event_info_t *e, uint64_t *customer,
                      uint32_t *place);
/* An event's "waiting_room" (null when off), with its join_url. */
json_t *bo__queue_config_json(uint64_t event, const bo_queue_config_t *w);

/* ---- orders.c, webhook.c, checkin.c: the order domain's handlers ------------- */

/* Open the order domain (api->orders) and route checkout, orders, QR codes
 * and the payments config; /metrics' order figures. */
int bo__orders_register(bo_api_t *api);
/* DELETE of a hold in checkout (holds.c asks first): 1 when the order took
 * the request (the checkout is abandoned, then 204), 0 when no pending
 * order has the hold. */
int bo__orders_release_hold(bo_api_t *api, bo_http_req_t *r, uint64_t event,
                            const bo_hold_id_t *hold);
int bo__webhook_register(bo_api_t *api); /* webhook.c */
int bo__checkin_register(bo_api_t *api); /* checkin.c */

/* ---- limit.c: rate limits and per-address caps ------------------------------------ */

/* The buckets, their metrics (boxoffice_limit_rejections_total{limit}). */
int bo__limit_register(bo_api_t *api);
/* The client hash's key from now on (derived from the store's key
 * material, so a client's key is the same after a restart). */
void bo__limit_keyed(bo_api_t *api, const uint8_t key[BO_API_CLIENT_KEY_BYTES]);
/* The limits in force for an event (info NULL: the server's). */
void bo__limits_of(const bo_api_t *api, const bo_event_info_t *info, bo_limits_t *out);
/* r's client key for the engine's caps: a keyed hash of its address
 * (bo_http_client_addr), never 0. */
uint64_t bo__limit_client_key(bo_api_t *api, bo_http_req_t *r);
/*
 * Take a token of the per-minute limit which (holds, checkouts, card
 * attempts) for r's client at event (0: any event), per_min a minute
 * (0: no limit). Returns 0, or BO_ERATE once 429 RATE_LIMITED was answered
 * with Retry-After and counted.
 */
int bo__limit_take(bo_api_t *api, bo_http_req_t *r, enum bo_limit which, uint64_t event,
                   uint32_t per_min);
/* Count a refusal by which (of value) and set Retry-After (wait_ms
 * rounded up to seconds, >= 1); answer it as well when send. Returns the
 * error answered: BO_ECAP for a cap, else BO_ERATE. */
int bo__limit_refuse(bo_api_t *api, bo_http_req_t *r, enum bo_limit which, uint32_t value,
                     int64_t wait_ms, bool send);

#endif
