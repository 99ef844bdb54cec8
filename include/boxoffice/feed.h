/*
 * feed.h - events' availability as it changes (src/live/feed.c): snapshots
 * of an event's seat states and GA places at one inventory version, their
 * compact JSON, and the feed: one publisher thread that, every
 * BO_FEED_PUBLISH_MS, sweeps each event with subscribers and sends each
 * subscriber the difference from the last state it published. Part of the
 * live layer (module "live" in scripts/check-layers); the subscribers
 * (server-sent event streams, src/api/availability.c) are the caller's,
 * reached through the send callback, so the feed knows nothing of HTTP.
 */
#ifndef BOXOFFICE_FEED_H
#define BOXOFFICE_FEED_H

#include <stddef.h>
#include <stdint.h>

#include "boxoffice/engine.h"
#include "boxoffice/live.h"

#define BO_FEED_PUBLISH_MS 100

/* ---- snapshots ----------------------------------------------------------------- */

/* One event's seat states (enum bo_seat_state, one byte per seat in layout
 * order) and each GA area's free places, at one inventory version. */
typedef struct bo_feed_snap {
    uint64_t version;
    uint32_t nseats, nga;
    uint8_t *states; /* nseats */
    uint32_t *ga;    /* nga */
} bo_feed_snap_t;
/* Room for a snapshot of an event at l: 0 or BO_ENOMEM. */
int bo_feed_snap_alloc(bo_feed_snap_t *s, const bo_layout_t *l);
void bo_feed_snap_free(bo_feed_snap_t *s);
/* Fill s from the event's inventory (expired holds count as free): 0 or
 * BO_ENOTFOUND. The event's version alone: bo_feed_version. Any thread. */
int bo_feed_snap_read(bo_live_t *live, uint64_t event, bo_feed_snap_t *s);
int bo_feed_version(bo_live_t *live, uint64_t event, uint64_t *version);
/* The compact availability of s ({"version","encoding","seats","counts",
 * "ga"}) as JSON text (malloc'd: the caller frees it; *len its length), or
 * NULL when out of memory. */
char *bo_feed_compact_json(const bo_layout_t *l, const bo_feed_snap_t *s, size_t *len);
/* The same as a list ({"version","seats":[{"id","state"}],"ga"}). */
char *bo_feed_list_json(const bo_layout_t *l, const bo_feed_snap_t *s, size_t *len);

/* ---- the feed ------------------------------------------------------------------- */

typedef struct bo_feed bo_feed_t;
typedef struct bo_feed_topic bo_feed_topic_t; /* one event with subscribers */

/* A subscriber, embedded in the caller's own record. */
typedef struct bo_feed_sub {
    struct bo_feed_sub *next; /* the feed's, while listed */
} bo_feed_sub_t;

/* Queue one server-sent event (name, data of len bytes; copied) to sub:
 * 0, or nonzero when it failed (the caller's stream then closes itself).
 * Called under the topic's lock, from the publisher or bo_feed_subscribe. */
typedef int (*bo_feed_send_fn)(bo_feed_sub_t *sub, const char *event, const char *data, size_t len);
/* A subscriber still listed when the feed is freed (a forced stop). */
typedef void (*bo_feed_drop_fn)(bo_feed_sub_t *sub);

/* A feed over live (which must outlive it): 0 and *out (the caller owns it:
 * bo_feed_free), or BO_ENOMEM. The publisher starts with the first topic. */
int bo_feed_new(bo_live_t *live, bo_feed_send_fn send, bo_feed_drop_fn drop, bo_feed_t **out);
/* Stop the publisher and wait for it (before the live layer closes); no
 * topic is made afterwards. Idempotent. */
void bo_feed_stop(bo_feed_t *f);
/* Stop, drop every subscriber still listed, free. NULL is a no-op. */
void bo_feed_free(bo_feed_t *f);
/* The topic of event at layout l (made when new, never freed before the
 * feed), or NULL when out of memory or stopped. */
bo_feed_topic_t *bo_feed_topic(bo_feed_t *f, uint64_t event, const bo_layout_t *l);
/* Send sub a `snapshot` (the topic's last published state; a fresh one
 * for its first subscriber) and list it: later changes reach it as `seats`
 * events (or a new `snapshot` when that is smaller). 0, or an error and
 * sub is not listed. */
int bo_feed_subscribe(bo_feed_t *f, bo_feed_topic_t *t, bo_feed_sub_t *sub);
/* Unlist sub (subscribed before). */
void bo_feed_unsubscribe(bo_feed_t *f, bo_feed_topic_t *t, bo_feed_sub_t *sub);
/* Subscribers listed now, all topics. */
uint32_t bo_feed_subscribers(bo_feed_t *f);

#endif
