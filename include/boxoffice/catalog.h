/*
 * catalog.h - events and venues as buyers browse them (src/catalog/): every
 * event's meta (name, description, times, currency, cancelled) and every
 * venue's (name, city, address), parsed once into memory from the live
 * layer, its statuses, the meta JSON the live layer stores, the events
 * list's order and cursors (catalog.c), an admin's event fields checked
 * (fields.c) and the demo's venue and events (demo.c).
 *
 * Workload: every hold reads its event's currency and sale status here, so
 * a lookup is a read lock, a hash probe and a copy; events and venues
 * change rarely (an admin's create or patch). Any thread.
 */
#ifndef BOXOFFICE_CATALOG_H
#define BOXOFFICE_CATALOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "boxoffice/engine.h"
#include "boxoffice/layout.h"
#include "boxoffice/live.h"
#include "boxoffice/queue.h"
#include "util/limits.h"

#define BO_CATALOG_NAME_MAX        200u  /* bytes: event and venue names, city, address */
#define BO_CATALOG_DESCRIPTION_MAX 4096u /* bytes: an event's description */

/* An event's status (docs/openapi.yaml EventStatus). */
enum bo_event_status {
    BO_EVENT_SCHEDULED, /* before on_sale_at */
    BO_EVENT_ON_SALE,
    BO_EVENT_SOLD_OUT,  /* on sale, but no seat and no GA place is available */
    BO_EVENT_CANCELLED, /* by an admin */
    BO_EVENT_ENDED,     /* starts_at has passed */
};

/* An event's meta, parsed (the stored meta JSON: name, description,
 * starts_at and on_sale_at in ms, currency, cancelled). */
typedef struct bo_event_info {
    uint64_t id, venue;
    char name[BO_CATALOG_NAME_MAX + 1];
    char currency[4]; /* ISO 4217 */
    int64_t starts_at_ms, on_sale_at_ms, created_ms;
    int64_t refund_deadline_ms; /* buyers may cancel paid orders until then; 0: 24 h before */
    bool cancelled;
    bo_queue_config_t waiting_room; /* enabled false: none (stored in the meta) */
    /* the on-sale's limits set for this event (util/limits.h): limits.v[i]
     * where bit i of limits_set is 1, the server's elsewhere */
    bo_limits_t limits;
    uint32_t limits_set;
    /* the live layer's event (set as the catalog takes the event, which
     * the live layer made visible before): a request that found the event
     * here decides and reads through it, without looking it up again */
    bo_live_event_t *live;
    /* at the time of bo_catalog_event, from the fields above alone:
     * never BO_EVENT_SOLD_OUT (bo_catalog_status adds it) */
    enum bo_event_status status;
} bo_event_info_t;

/* A venue's name (from its seat map) and meta (city, address). */
typedef struct bo_venue_info {
    uint64_t id;
    char name[BO_CATALOG_NAME_MAX + 1];
    char city[BO_CATALOG_NAME_MAX + 1];    /* "" when none */
    char address[BO_CATALOG_NAME_MAX + 1]; /* "" when none */
    bool has_city;
} bo_venue_info_t;

typedef struct bo_catalog bo_catalog_t;

/*
 * Build the catalog from live (every venue and event; an event or venue
 * whose meta does not parse is kept with empty fields). live must outlive
 * it; its clock gives the statuses' now. Returns 0 and *out (the caller
 * owns it: bo_catalog_free), or BO_ENOMEM.
 */
int bo_catalog_open(bo_live_t *live, bo_catalog_t **out);
void bo_catalog_free(bo_catalog_t *c);
/*
 * The event's parsed meta into *out, with its status now. No JSON is
 * parsed: a read lock and a copy. Returns 0 or BO_ENOTFOUND.
 */
int bo_catalog_event(bo_catalog_t *c, uint64_t event, bo_event_info_t *out);
/* The event's description (malloc'd: the caller frees it), or NULL. */
char *bo_catalog_description(bo_catalog_t *c, uint64_t event);
/* The venue's name, city and address into *out; 0 or BO_ENOTFOUND. */
int bo_catalog_venue(bo_catalog_t *c, uint64_t venue, bo_venue_info_t *out);
/* After a commit: (re)parse an event's meta JSON / a venue's meta JSON
 * into the catalog. Returns 0, BO_EINVAL (meta unreadable), BO_ENOMEM. */
int bo_catalog_put_event(bo_catalog_t *c, uint64_t event, uint64_t venue, const char *meta_json);
int bo_catalog_put_venue(bo_catalog_t *c, uint64_t venue, const char *meta_json);

/* Until when buyers may cancel a paid order of e: its refund_deadline, or
 * 24 hours before it starts. */
int64_t bo_catalog_refund_deadline_ms(const bo_event_info_t *e);
/* The status at now_ms: cancelled, then ended (now >= starts_at), then
 * scheduled (now < on_sale_at), then sold out when available (free seats
 * plus free GA places) is 0, else on sale. */
enum bo_event_status bo_catalog_status(const bo_event_info_t *e, int64_t now_ms,
                                       uint64_t available);
/* "scheduled", "on_sale", "sold_out", "cancelled", "ended". */
const char *bo_catalog_status_name(enum bo_event_status s);
/* The meta JSON stored for an event (malloc'd; the caller frees it), or
 * NULL when out of memory. description may be NULL. */
char *bo_catalog_meta_json(const bo_event_info_t *e, const char *description);

/*
 * `boxoffice serve --demo` (demo.c): seed the demo venue and events into
 * a store without venues of its own (a store that has some is left
 * alone), durably, into the live layer and c; idempotent. 0 or a BO_E*
 * code (also said on stderr).
 */
int bo_catalog_demo(bo_catalog_t *c);

/* ---- fields (fields.c): an admin's POST and PATCH bodies ---------------------- */

/* The first problem found: its field (a JSON path; "" for the whole body)
 * and a message, which the API answers as 400 INVALID_REQUEST. */
typedef struct bo_catalog_bad {
    char field[96];
    char message[192];
} bo_catalog_bad_t;
/*
 * A create's body: every field but the venue's existence and the prices
 * (which need the venue's layout: bo_catalog_fields_prices), into e (its
 * venue, times, name, currency; created and on sale at now_ms unless
 * given), desc (points into body) and cfg (hold time, customer limit, with
 * their defaults). Returns 0, or BO_EINVAL with *b.
 */
int bo_catalog_fields_create(json_t *body, int64_t now_ms, bo_event_info_t *e, const char **desc,
                             bo_inv_config_t *cfg, bo_catalog_bad_t *b);
/* prices: {key: cents} for categories of l, into cfg; every category of l
 * when all. 0 or BO_EINVAL with *b. */
int bo_catalog_fields_prices(json_t *v, const bo_layout_t *l, bool all, bo_inv_config_t *cfg,
                             bo_catalog_bad_t *b);
/*
 * A patch's body over the event's current e, desc and cfg (l: its venue's
 * layout): 0, BO_EINVAL with *b, or BO_ESTATE when the status asked for
 * leaves an event that has ended (at now_ms) not cancelled.
 */
int bo_catalog_fields_patch(json_t *body, const bo_layout_t *l, int64_t now_ms, bo_event_info_t *e,
                            const char **desc, bo_inv_config_t *cfg, bo_catalog_bad_t *b);

/* A venue's meta from the root of its import body (optional "city" of
 * 1..BO_CATALOG_NAME_MAX bytes and "address" of 0..BO_CATALOG_NAME_MAX,
 * without control characters): {"city","address"} as JSON text (malloc'd:
 * the caller frees it; NULL when out of memory), each problem added to p
 * (total counted even when out of memory) as the seat map's are. */
char *bo_catalog_fields_venue(json_t *root, bo_problems_t *p);

/* ---- the events list -------------------------------------------------------- */

/* The list's cursor: a position (starts_at, event) in the list's order,
 * base64url of a version byte, the position and a keyed check, so that a
 * cursor this server did not make is refused. */
#define BO_CATALOG_CURSOR_LEN 28
void bo_catalog_cursor_encode(int64_t starts_at_ms, uint64_t event,
                              char out[BO_CATALOG_CURSOR_LEN + 1]);
/* 0 and the position, or BO_EINVAL. */
int bo_catalog_cursor_decode(const char *s, size_t len, int64_t *starts_at_ms, uint64_t *event);

/* What a page of the list asks for. */
typedef struct bo_catalog_query {
    char q[BO_CATALOG_NAME_MAX + 1], city[BO_CATALOG_NAME_MAX + 1]; /* lower case; "" matches all */
    int64_t from_ms, to_ms;                                         /* [from, to) */
    bool has_cursor;
    int64_t cursor_ms; /* after this position, when has_cursor */
    uint64_t cursor_id;
} bo_catalog_query_t;

/* One event of a page, with its venue (available and total are the
 * caller's to fill). */
typedef struct bo_catalog_item {
    bo_event_info_t info;
    bo_venue_info_t venue;
    uint64_t available, total;
} bo_catalog_item_t;

/* Up to max events matching q, in the list's order (starts_at, id) from
 * its position on, copied under the read lock. Returns how many. */
size_t bo_catalog_list(bo_catalog_t *c, const bo_catalog_query_t *q, bo_catalog_item_t *items,
                       size_t max);
/* src in ASCII lower case into dst (cap bytes, cut at cap - 1): how the
 * list compares names and cities. */
void bo_catalog_lower(char *dst, const char *src, size_t cap);

#endif
