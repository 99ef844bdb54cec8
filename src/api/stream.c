/*
 * stream.c - GET /api/v1/events/{id}/availability/stream: server-sent
 * events. A new subscriber first gets a `snapshot` (the compact
 * availability); then one publisher thread for the whole API, every
 * PUBLISH_MS, sweeps each event that has subscribers, compares its seats
 * and GA areas with the last state it published, and sends the difference
 * as one `seats` event to every subscriber of that event. A change thus
 * reaches clients within PUBLISH_MS plus the network.
 *
 * Workload: thousands of browsers per hot event, tens of events with
 * subscribers. The cost is per event, not per subscriber: one version read
 * per event per tick, and one O(seats) snapshot and diff only when the
 * version moved; each change is formatted once and queued to every
 * subscriber (bo_http_sse_send copies, so a slow client costs only its own
 * bounded queue). A diff touching more than an eighth of the seats is sent
 * as a new snapshot instead, which is smaller.
 *
 * Consistency: a subscriber's snapshot is the event's last published state
 * (taken fresh for its first subscriber), and every later `seats` event is
 * the difference from the state published before it, all under the
 * event's topic lock; so applying the events in order always gives the
 * published state, whatever happened in between.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "api/api_internal.h"
#include "util/strbuf.h"

#define PUBLISH_MS      100
#define MAX_SUBSCRIBERS 20000u /* streams open at once; past it 503 BUSY */
/* Streams one client address may hold open (http.h bo_http_client_addr),
 * past it 429 RATE_LIMITED, so that one address cannot take every stream.
 * Counted in CLIENT_SLOTS counters chosen by a keyed hash of the address:
 * no memory per address, and nobody can aim at another address's counter
 * (honest addresses share one rarely: 20,000 streams over 65,536 slots). */
#define STREAMS_PER_CLIENT 32u
#define CLIENT_SLOTS       65536u
#define CLIENT_RETRY_S     "10"

static const char *const state_names[4] = {"available", "held", "sold", "blocked"};

/* A subscriber's life, on its loop thread: PENDING while on_stream sets it
 * up, then LISTED in its topic, or ORPHAN when setting up failed after the
 * stream began (on_close then frees it). */
enum sub_state { SUB_PENDING, SUB_LISTED, SUB_ORPHAN };

struct sub {
    struct sub *next;
    bo_http_sse_t *sse;
    struct topic *topic;
    struct bo_streams *streams;
    uint32_t slot; /* its client's counter */
    enum sub_state state;
    bool closed; /* on_close ran while PENDING */
};

/* One event with subscribers. Topics are never freed before the API: the
 * list only grows (by events ever streamed), and the publisher walks it
 * without the streams lock. */
struct topic {
    struct topic *next; /* immutable once published */
    uint64_t event;
    const bo_layout_t *l;
    pthread_mutex_t mu;
    /* under mu */
    struct sub *subs;
    uint32_t nsubs;
    bo_avail_snap_t last, scratch; /* states allocated while nsubs > 0 */
};

struct bo_streams {
    bo_api_t *api;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct topic *topics; /* under mu to add */
    uint32_t nsubs;       /* atomic */
    uint8_t sip[crypto_shorthash_KEYBYTES];
    uint32_t per_client[CLIENT_SLOTS]; /* atomic: streams of the addresses of each slot */
    pthread_t thread;
    bool started, stop; /* under mu */
};

/* ---- publishing ------------------------------------------------------------------------- */

static void send_all(struct topic *t, const char *event, const char *data, size_t len)
{
    for (struct sub *s = t->subs; s; s = s->next)
        bo_http_sse_send(s->sse, event, data, len); /* a failed stream closes: on_close */
}

/* {"version","changes":[{"id","state"}],"ga":[{"id","available"}]} of what
 * changed from t->last to t->scratch (*any), or NULL when nothing did, when
 * a snapshot would be smaller (*big) or when out of memory. */
static char *diff_json(const struct topic *t, size_t *len, bool *any, bool *big)
{
    const bo_layout_t *l = t->l;
    const bo_avail_snap_t *a = &t->last, *b = &t->scratch;
    uint32_t changed = 0, ga_changed = 0;
    for (uint32_t i = 0; i < b->nseats; i++)
        changed += a->states[i] != b->states[i];
    for (uint32_t g = 0; g < b->nga; g++)
        ga_changed += a->ga[g] != b->ga[g];
    *any = changed || ga_changed;
    *big = changed > 64 && changed > b->nseats / 8;
    if (!*any || *big)
        return NULL;
    bo_buf_t buf;
    bo_buf_init(&buf, 64 + (size_t)changed * 40 + (size_t)ga_changed * 48);
    bo_buf_printf(&buf, "{\"version\":%llu,\"changes\":[", (unsigned long long)b->version);
    for (uint32_t i = 0, n = 0; i < b->nseats; i++) {
        if (a->states[i] == b->states[i])
            continue;
        bo_buf_puts(&buf, n++ ? ",{\"id\":" : "{\"id\":");
        bo_buf_json_str(&buf, bo_layout_str(l, l->seats[i].id));
        bo_buf_printf(&buf, ",\"state\":\"%s\"}", state_names[b->states[i] & 3]);
    }
    bo_buf_puts(&buf, "],\"ga\":[");
    for (uint32_t g = 0, n = 0; g < b->nga; g++) {
        if (a->ga[g] == b->ga[g])
            continue;
        bo_buf_puts(&buf, n++ ? ",{\"id\":" : "{\"id\":");
        bo_buf_json_str(&buf, bo_layout_str(l, l->ga[g].id));
        bo_buf_printf(&buf, ",\"available\":%u}", b->ga[g]);
    }
    bo_buf_puts(&buf, "]}");
    return bo_buf_take(&buf, len);
}

/* One tick for one topic. */
static void publish(bo_api_t *api, struct topic *t)
{
    uint64_t version;
    pthread_mutex_lock(&t->mu);
    if (t->nsubs == 0 || !t->last.states)
        goto out;
    bo_live_sweep_event(api->live, t->event);
    if (bo__avail_version(api, t->event, &version) || version == t->last.version ||
        bo__avail_read(api, t->event, &t->scratch))
        goto out;
    size_t len = 0;
    bool any, big;
    char *text = diff_json(t, &len, &any, &big);
    if (big)
        text = bo__avail_compact_json(t->l, &t->scratch, &len);
    if (any && !text)
        goto out; /* out of memory: the same difference next tick */
    if (text)
        send_all(t, big ? "snapshot" : "seats", text, len);
    free(text);
    bo_avail_snap_t swap = t->last; /* published: scratch is the new baseline */
    t->last = t->scratch;
    t->scratch = swap;
out:
    pthread_mutex_unlock(&t->mu);
}

static void *publisher(void *arg)
{
    struct bo_streams *st = arg;
    pthread_mutex_lock(&st->mu);
    while (!st->stop) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_nsec += PUBLISH_MS * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        while (!st->stop && pthread_cond_timedwait(&st->cv, &st->mu, &until) == 0)
            ;
        struct topic *head = st->topics;
        bool stop = st->stop;
        pthread_mutex_unlock(&st->mu);
        for (struct topic *t = head; t && !stop; t = t->next)
            publish(st->api, t);
        pthread_mutex_lock(&st->mu);
    }
    pthread_mutex_unlock(&st->mu);
    return NULL;
}

/* ---- subscribers ------------------------------------------------------------------------ */

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

/* The topic of event (created when new), or NULL when out of memory. */
static struct topic *topic_of(struct bo_streams *st, uint64_t event, const bo_layout_t *l)
{
    pthread_mutex_lock(&st->mu);
    struct topic *t = st->topics;
    while (t && t->event != event)
        t = t->next;
    if (!t && (t = calloc(1, sizeof(*t)))) {
        t->event = event;
        t->l = l;
        pthread_mutex_init(&t->mu, NULL);
        t->next = st->topics;
        st->topics = t;
    }
    if (t && !st->started && !st->stop) {
        st->started = pthread_create(&st->thread, NULL, publisher, st) == 0;
        if (!st->started)
            t = NULL;
    } else if (st->stop) {
        t = NULL;
    }
    pthread_mutex_unlock(&st->mu);
    return t;
}

/* Loop thread, once per stream: forget it. */
static void on_close(void *arg, bo_http_sse_t *sse)
{
    struct sub *s = arg;
    struct topic *t = s->topic;
    if (s->state == SUB_PENDING) { /* on_stream cleans up */
        s->closed = true;
        return;
    }
    if (s->state == SUB_LISTED) {
        pthread_mutex_lock(&t->mu);
        struct sub **p = &t->subs;
        while (*p && *p != s)
            p = &(*p)->next;
        if (*p)
            *p = s->next;
        if (--t->nsubs == 0) { /* the next subscriber takes a fresh snapshot */
            bo__avail_snap_free(&t->last);
            bo__avail_snap_free(&t->scratch);
        }
        pthread_mutex_unlock(&t->mu);
        __atomic_sub_fetch(&s->streams->nsubs, 1, __ATOMIC_RELAXED);
    }
    bo_http_sse_release(sse);
    sub_free(s);
}

/* Under t->mu, the first subscriber: a fresh baseline. */
static int baseline(bo_api_t *api, struct topic *t)
{
    int rc = bo__avail_snap_alloc(&t->last, t->l);
    if (rc == 0)
        rc = bo__avail_snap_alloc(&t->scratch, t->l);
    if (rc == 0) {
        bo_live_sweep_event(api->live, t->event);
        rc = bo__avail_read(api, t->event, &t->last);
    }
    if (rc) {
        bo__avail_snap_free(&t->last);
        bo__avail_snap_free(&t->scratch);
    }
    return rc;
}

/* Send s its snapshot (the last published state) and list it. */
static int subscribe(bo_api_t *api, struct topic *t, struct sub *s)
{
    size_t len;
    pthread_mutex_lock(&t->mu);
    int rc = t->nsubs == 0 ? baseline(api, t) : 0;
    char *text = rc == 0 ? bo__avail_compact_json(t->l, &t->last, &len) : NULL;
    if (rc == 0 && !text)
        rc = BO_ENOMEM;
    if (rc == 0)
        rc = bo_http_sse_send(s->sse, "snapshot", text, len);
    if (rc == 0) {
        s->state = SUB_LISTED;
        s->next = t->subs;
        t->subs = s;
        t->nsubs++;
        __atomic_add_fetch(&s->streams->nsubs, 1, __ATOMIC_RELAXED);
    } else if (t->nsubs == 0) {
        bo__avail_snap_free(&t->last);
        bo__avail_snap_free(&t->scratch);
    }
    pthread_mutex_unlock(&t->mu);
    free(text);
    return rc;
}

static int on_stream(void *arg, bo_http_req_t *r)
{
    bo_api_t *api = arg;
    struct bo_streams *st = api->streams;
    uint64_t event;
    const bo_layout_t *l;
    if (bo__avail_event(api, r, &event, &l))
        return 0;
    if (__atomic_load_n(&st->nsubs, __ATOMIC_RELAXED) >= MAX_SUBSCRIBERS)
        return bo_http_send_error(r, BO_EBUSY, "too many open streams, retry later", NULL);
    uint32_t slot = client_take(api, st, r);
    if (slot == CLIENT_SLOTS) {
        bo_http_set_header(r, "Retry-After", CLIENT_RETRY_S);
        return bo_http_send_error(r, BO_ERATE, "too many open streams from this address",
                                  json_pack("{sI}", "limit", (json_int_t)STREAMS_PER_CLIENT));
    }
    struct topic *t = topic_of(st, event, l);
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
    if (subscribe(api, t, s) != 0) { /* end the stream; on_close frees s */
        s->state = SUB_ORPHAN;
        bo_http_sse_close(s->sse);
    }
    return 0;
}

/* ---- the publisher's life ---------------------------------------------------------------- */

/* At server stop (before the live layer closes) and at free: idempotent. */
static void streams_stop(void *arg)
{
    struct bo_streams *st = arg;
    pthread_mutex_lock(&st->mu);
    st->stop = true;
    bool started = st->started;
    st->started = false;
    pthread_cond_signal(&st->cv);
    pthread_mutex_unlock(&st->mu);
    if (started)
        pthread_join(st->thread, NULL);
}

static void streams_free(void *arg)
{
    struct bo_streams *st = arg;
    streams_stop(st);
    while (st->topics) {
        struct topic *t = st->topics;
        st->topics = t->next;
        while (t->subs) { /* streams whose on_close never came (a forced stop) */
            struct sub *s = t->subs;
            t->subs = s->next;
            bo_http_sse_release(s->sse);
            sub_free(s);
        }
        bo__avail_snap_free(&t->last);
        bo__avail_snap_free(&t->scratch);
        pthread_mutex_destroy(&t->mu);
        free(t);
    }
    pthread_cond_destroy(&st->cv);
    pthread_mutex_destroy(&st->mu);
    free(st);
}

int bo__api_stream_register(bo_api_t *api)
{
    struct bo_streams *st = calloc(1, sizeof(*st));
    pthread_condattr_t attr;
    if (!st)
        return BO_ENOMEM;
    st->api = api;
    crypto_shorthash_keygen(st->sip);
    pthread_mutex_init(&st->mu, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&st->cv, &attr);
    pthread_condattr_destroy(&attr);
    int rc = bo_server_at_free(api->srv, streams_free, st);
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
