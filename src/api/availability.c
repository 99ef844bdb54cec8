/*
 * availability.c - GET /api/v1/events/{id}/availability: the state of every
 * seat and the free places of every GA area at one version of the event's
 * inventory, compact by default (base64 of one byte per seat, in seat-map
 * order) or as a list (?format=list), with ETag "v<version>" and
 * Cache-Control: no-cache; and GET …/availability/stream, the same as
 * server-sent events: the live layer's feed (boxoffice/feed.h,
 * src/live/feed.c) sends a `snapshot`, then the changes.
 *
 * Workload: the most frequent read of an on-sale: every buyer's page polls
 * it, mostly answered 304. A 304 costs a sweep of the event's expired holds
 * and a read of its version; a full answer is one O(seats) snapshot under
 * the event's lock (~0.1 ms per 100,000 seats) and a body built as text.
 * Streams: thousands of browsers per hot event; the feed's cost is per
 * event, and each stream's queue is bounded (BO_HTTP_SSE_MAX_QUEUED).
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "api/api_internal.h"
#include "boxoffice/feed.h"

#define MAX_SUBSCRIBERS 20000u /* streams open at once; past it 503 BUSY */
/* Streams one client address may hold open (http.h bo_http_client_addr),
 * past it 429 RATE_LIMITED, so that one address cannot take every stream.
 * Counted in CLIENT_SLOTS counters chosen by a keyed hash of the address:
 * no memory per address, and nobody can aim at another address's counter
 * (honest addresses share one rarely: 20,000 streams over 65,536 slots). */
#define STREAMS_PER_CLIENT 32u
#define CLIENT_SLOTS       65536u
#define CLIENT_RETRY_S     "10"

/* ---- If-None-Match ------------------------------------------------------------------------- */

/* Whether the If-None-Match list (a, "*", W/"…" forms) names etag. */
static bool etag_listed(const char *list, const char *etag)
{
    size_t elen = strlen(etag);
    for (const char *p = list; *p;) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        const char *end = strchrnul(p, ',');
        const char *q = end;
        while (q > p && (q[-1] == ' ' || q[-1] == '\t'))
            q--;
        if (q - p >= 2 && p[0] == 'W' && p[1] == '/')
            p += 2;
        if ((q - p == 1 && *p == '*') || ((size_t)(q - p) == elen && !memcmp(p, etag, elen)))
            return true;
        p = end;
    }
    return false;
}

/* ---- GET …/availability -------------------------------------------------------------------- */

static int not_found(bo_http_req_t *r)
{
    return bo_http_send_error(r, BO_ENOTFOUND, "no such event",
                              json_pack("{ss}", "id", bo_http_param(r, "id")));
}

/* The event and its layout, or a 404 answered (nonzero). */
static int avail_event(bo_api_t *api, bo_http_req_t *r, uint64_t *event, const bo_layout_t **l)
{
    bo_event_info_t e;
    if (bo_id_parse_event(bo_http_param(r, "id"), event) ||
        bo_catalog_event(api->catalog, *event, &e) || !(*l = bo_live_venue(api->live, e.venue))) {
        not_found(r);
        return BO_ENOTFOUND;
    }
    return 0;
}

static int on_availability(void *arg, bo_http_req_t *r)
{
    bo_api_t *api = arg;
    uint64_t event, version;
    const bo_layout_t *l;
    char etag[32];
    bo_feed_snap_t s;
    if (avail_event(api, r, &event, &l))
        return 0;
    const char *format = bo_http_query(r, "format", NULL);
    bool list = format && !strcmp(format, "list");
    if (format && !list && strcmp(format, "compact"))
        return bo_http_send_error(r, BO_EINVAL, "format must be compact or list",
                                  json_pack("{ss}", "field", "format"));
    bo_live_sweep_event(api->live, event); /* the version then reflects expiry */
    bo_http_set_header(r, "Cache-Control", "no-cache");
    const char *inm = bo_http_header(r, "if-none-match", NULL);
    if (inm) {
        if (bo_feed_version(api->live, event, &version))
            return not_found(r);
        snprintf(etag, sizeof(etag), "\"v%llu\"", (unsigned long long)version);
        if (etag_listed(inm, etag) && bo_http_not_modified(r, etag) == 1)
            return 0;
    }
    if (bo_feed_snap_alloc(&s, l))
        return BO_ENOMEM;
    if (bo_feed_snap_read(api->live, event, &s)) {
        bo_feed_snap_free(&s);
        return not_found(r);
    }
    size_t len = 0;
    char *body = list ? bo_feed_list_json(l, &s, &len) : bo_feed_compact_json(l, &s, &len);
    snprintf(etag, sizeof(etag), "\"v%llu\"", (unsigned long long)s.version);
    bo_feed_snap_free(&s);
    if (!body)
        return BO_ENOMEM;
    bo_http_set_header(r, "ETag", etag);
    return bo_http_send_buf(r, 200, "application/json", body, len);
}

/* ---- GET …/availability/stream ------------------------------------------------------------ */

/* A subscriber's life, on its loop thread: PENDING while on_stream sets it
 * up, then LISTED in its topic, or ORPHAN when setting up failed after the
 * stream began (on_close then frees it). */
enum sub_state { SUB_PENDING, SUB_LISTED, SUB_ORPHAN };

struct sub {
    bo_feed_sub_t base; /* first: the feed hands it back */
    bo_http_sse_t *sse;
    bo_feed_topic_t *topic;
    struct bo_streams *streams;
    uint32_t slot; /* its client's counter */
    enum sub_state state;
    bool closed; /* on_close ran while PENDING */
};

struct bo_streams {
    bo_feed_t *feed;
    uint8_t sip[crypto_shorthash_KEYBYTES];
    uint32_t per_client[CLIENT_SLOTS]; /* atomic: streams of the addresses of each slot */
};

/* Count a stream of r's client: its slot, or CLIENT_SLOTS when the client
 * has STREAMS_PER_CLIENT open already (nothing counted). */
static uint32_t client_take(bo_api_t *api, struct bo_streams *st, bo_http_req_t *r)
{
    const char *addr = bo_http_client_net(r, &api->trusted_proxies);
    uint64_t h;
    crypto_shorthash((uint8_t *)&h, (const uint8_t *)addr, strlen(addr), st->sip);
    uint32_t slot = (uint32_t)(h % CLIENT_SLOTS);
    if (__atomic_fetch_add(&st->per_client[slot], 1, __ATOMIC_RELAXED) < STREAMS_PER_CLIENT)
        return slot;
    __atomic_sub_fetch(&st->per_client[slot], 1, __ATOMIC_RELAXED);
    return CLIENT_SLOTS;
}

static void sub_free(struct sub *s)
{
    __atomic_sub_fetch(&s->streams->per_client[s->slot], 1, __ATOMIC_RELAXED);
    free(s);
}

/* The feed's send: a failed stream closes (on_close). */
static int sub_send(bo_feed_sub_t *base, const char *event, const char *data, size_t len)
{
    return bo_http_sse_send(((struct sub *)base)->sse, event, data, len);
}

/* The feed's drop: a stream whose on_close never came (a forced stop). */
static void sub_drop(bo_feed_sub_t *base)
{
    struct sub *s = (struct sub *)base;
    bo_http_sse_release(s->sse);
    sub_free(s);
}

/* Loop thread, once per stream: forget it. */
static void on_close(void *arg, bo_http_sse_t *sse)
{
    struct sub *s = arg;
    if (s->state == SUB_PENDING) { /* on_stream cleans up */
        s->closed = true;
        return;
    }
    if (s->state == SUB_LISTED)
        bo_feed_unsubscribe(s->streams->feed, s->topic, &s->base);
    bo_http_sse_release(sse);
    sub_free(s);
}

static int on_stream(void *arg, bo_http_req_t *r)
{
    bo_api_t *api = arg;
    struct bo_streams *st = api->streams;
    uint64_t event;
    const bo_layout_t *l;
    if (avail_event(api, r, &event, &l))
        return 0;
    if (bo_feed_subscribers(st->feed) >= MAX_SUBSCRIBERS)
        return bo_http_send_error(r, BO_EBUSY, "too many open streams, retry later", NULL);
    uint32_t slot = client_take(api, st, r);
    if (slot == CLIENT_SLOTS) {
        bo_http_set_header(r, "Retry-After", CLIENT_RETRY_S);
        return bo_http_send_error(r, BO_ERATE, "too many open streams from this address",
                                  json_pack("{sI}", "limit", (json_int_t)STREAMS_PER_CLIENT));
    }
    bo_feed_topic_t *t = bo_feed_topic(st->feed, event, l);
    struct sub *s = t ? calloc(1, sizeof(*s)) : NULL;
    if (!s) {
        __atomic_sub_fetch(&st->per_client[slot], 1, __ATOMIC_RELAXED);
        return BO_ENOMEM;
    }
    *s = (struct sub){.topic = t, .streams = st, .slot = slot, .state = SUB_PENDING};
    if (!(s->sse = bo_http_sse_begin(r, on_close, s))) { /* answered, on_close never runs */
        sub_free(s);
        return 0;
    }
    if (s->closed) { /* the client went at once */
        bo_http_sse_release(s->sse);
        sub_free(s);
        return 0;
    }
    if (bo_feed_subscribe(st->feed, t, &s->base) != 0) { /* end the stream; on_close frees s */
        s->state = SUB_ORPHAN;
        bo_http_sse_close(s->sse);
    } else {
        s->state = SUB_LISTED; /* on_close runs on this loop, never meanwhile */
    }
    return 0;
}

/* At server stop (before the live layer closes): the feed's publisher. */
static void streams_stop(void *arg)
{
    struct bo_streams *st = arg;
    bo_feed_stop(st->feed);
}

static void streams_free(void *arg)
{
    struct bo_streams *st = arg;
    bo_feed_free(st->feed);
    free(st);
}

static int streams_register(bo_api_t *api)
{
    struct bo_streams *st = calloc(1, sizeof(*st));
    if (!st)
        return BO_ENOMEM;
    crypto_shorthash_keygen(st->sip);
    int rc = bo_feed_new(api->live, sub_send, sub_drop, &st->feed);
    if (rc == 0)
        rc = bo_server_at_free(api->srv, streams_free, st);
    if (rc) {
        streams_free(st);
        return rc;
    }
    api->streams = st;
    if ((rc = bo_server_at_stop(api->srv, streams_stop, st)) != 0)
        return rc;
    return bo_server_route(api->srv, "GET", "/api/v1/events/{id}/availability/stream", on_stream,
                           api);
}

int bo__api_availability_register(bo_api_t *api)
{
    int rc =
        bo_server_route(api->srv, "GET", "/api/v1/events/{id}/availability", on_availability, api);
    return rc ? rc : streams_register(api);
}
