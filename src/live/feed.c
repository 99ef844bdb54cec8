/*
 * feed.c - events' availability as it changes (boxoffice/feed.h), which
 * GET /api/v1/events/{id}/availability/stream (src/api/availability.c)
 * serves as server-sent events. A new subscriber first gets a `snapshot`
 * (the compact availability); then one publisher thread for the whole
 * server, every BO_FEED_PUBLISH_MS, sweeps each event that has
 * subscribers, compares its seats and GA areas with the last state it
 * published, and sends the difference as one `seats` event to every
 * subscriber of that event. A change thus reaches clients within
 * BO_FEED_PUBLISH_MS plus the network. Also the snapshots themselves and
 * their compact JSON, which GET …/availability answers.
 *
 * Workload: thousands of browsers per hot event, tens of events with
 * subscribers. The cost is per event, not per subscriber: one version read
 * per event per tick, and one O(seats) snapshot and diff only when the
 * version moved; each change is formatted once and queued to every
 * subscriber (the caller's send copies: for a stream, bo_http_sse_send,
 * so a slow client costs only its own bounded queue). A diff touching more
 * than an eighth of the seats is sent as a new snapshot instead, which is
 * smaller.
 *
 * Consistency: a subscriber's snapshot is the event's last published state
 * (taken fresh for its first subscriber), and every later `seats` event is
 * the difference from the state published before it, all under the
 * event's topic lock; so applying the events in order always gives the
 * published state, whatever happened in between.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "boxoffice/error.h"
#include "boxoffice/feed.h"
#include "util/strbuf.h"

static const char *const state_names[4] = {"available", "held", "sold", "blocked"};

/* One event with subscribers. Topics are never freed before the feed: the
 * list only grows (by events ever streamed), and the publisher walks it
 * without the feed's lock. */
struct bo_feed_topic {
    struct bo_feed_topic *next; /* immutable once published */
    uint64_t event;
    const bo_layout_t *l;
    pthread_mutex_t mu;
    /* under mu */
    bo_feed_sub_t *subs;
    uint32_t nsubs;
    bo_feed_snap_t last, scratch; /* states allocated while nsubs > 0 */
};

struct bo_feed {
    bo_live_t *live;
    bo_feed_send_fn send;
    bo_feed_drop_fn drop;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct bo_feed_topic *topics; /* under mu to add */
    uint32_t nsubs;               /* atomic */
    pthread_t thread;
    bool started, stop; /* under mu */
};

/* ---- snapshots ------------------------------------------------------------------------- */

int bo_feed_snap_alloc(bo_feed_snap_t *s, const bo_layout_t *l)
{
    *s = (bo_feed_snap_t){.nseats = l->nseats, .nga = l->nga};
    s->states = malloc(l->nseats ? l->nseats : 1);
    s->ga = malloc((l->nga ? l->nga : 1) * sizeof(uint32_t));
    if (!s->states || !s->ga) {
        bo_feed_snap_free(s);
        return BO_ENOMEM;
    }
    return 0;
}

void bo_feed_snap_free(bo_feed_snap_t *s)
{
    free(s->states);
    free(s->ga);
    s->states = NULL;
    s->ga = NULL;
}

static int read_snap(void *arg, const bo_inv_t *inv, int64_t now_ms)
{
    bo_feed_snap_t *s = arg;
    const bo_layout_t *l = bo_inv_layout(inv);
    if (l->nseats != s->nseats || l->nga != s->nga)
        return BO_EINVAL;
    s->version = bo_inv_snapshot(inv, now_ms, s->states);
    for (uint32_t a = 0; a < l->nga; a++)
        s->ga[a] = bo_inv_ga_available(inv, a, now_ms);
    return 0;
}

int bo_feed_snap_read(bo_live_t *live, uint64_t event, bo_feed_snap_t *s)
{
    return bo_live_read(live, event, read_snap, s);
}

static int read_version(void *arg, const bo_inv_t *inv, int64_t now_ms)
{
    *(uint64_t *)arg = bo_inv_version(inv);
    return 0;
}

int bo_feed_version(bo_live_t *live, uint64_t event, uint64_t *version)
{
    return bo_live_read(live, event, read_version, version);
}

/* ---- answers as text --------------------------------------------------------------------- */

static void put_ga(bo_buf_t *b, const bo_layout_t *l, const bo_feed_snap_t *s)
{
    bo_buf_puts(b, ",\"ga\":[");
    for (uint32_t a = 0; a < s->nga; a++) {
        bo_buf_puts(b, a ? ",{\"id\":" : "{\"id\":");
        bo_buf_json_str(b, bo_layout_str(l, l->ga[a].id));
        bo_buf_printf(b, ",\"available\":%u}", s->ga[a]);
    }
    bo_buf_puts(b, "]");
}

char *bo_feed_compact_json(const bo_layout_t *l, const bo_feed_snap_t *s, size_t *len)
{
    uint32_t n[4] = {0};
    for (uint32_t i = 0; i < s->nseats; i++)
        n[s->states[i] & 3]++;
    size_t b64_len = sodium_base64_encoded_len(s->nseats, sodium_base64_VARIANT_ORIGINAL);
    bo_buf_t b;
    bo_buf_init(&b, b64_len + 256 + (size_t)s->nga * 48);
    bo_buf_printf(&b, "{\"version\":%llu,\"encoding\":\"state-bytes-base64\",\"seats\":\"",
                  (unsigned long long)s->version);
    char *b64 = malloc(b64_len);
    if (!b64)
        b.failed = true;
    else
        bo_buf_puts(&b, sodium_bin2base64(b64, b64_len, s->states, s->nseats,
                                          sodium_base64_VARIANT_ORIGINAL));
    free(b64);
    bo_buf_printf(&b,
                  "\",\"counts\":{\"available\":%u,\"held\":%u,\"sold\":%u,\"blocked\":%u,"
                  "\"total\":%u}",
                  n[0], n[1], n[2], n[3], s->nseats);
    put_ga(&b, l, s);
    bo_buf_puts(&b, "}");
    return bo_buf_take(&b, len);
}

char *bo_feed_list_json(const bo_layout_t *l, const bo_feed_snap_t *s, size_t *len)
{
    bo_buf_t b;
    bo_buf_init(&b, 64 + (size_t)s->nseats * 40 + (size_t)s->nga * 48);
    bo_buf_printf(&b, "{\"version\":%llu,\"seats\":[", (unsigned long long)s->version);
    for (uint32_t i = 0; i < s->nseats; i++) {
        bo_buf_puts(&b, i ? ",{\"id\":" : "{\"id\":");
        bo_buf_json_str(&b, bo_layout_str(l, l->seats[i].id));
        bo_buf_printf(&b, ",\"state\":\"%s\"}", state_names[s->states[i] & 3]);
    }
    bo_buf_puts(&b, "]");
    put_ga(&b, l, s);
    bo_buf_puts(&b, "}");
    return bo_buf_take(&b, len);
}

/* ---- publishing ------------------------------------------------------------------------- */

static void send_all(bo_feed_t *f, struct bo_feed_topic *t, const char *event, const char *data,
                     size_t len)
{
    for (bo_feed_sub_t *s = t->subs; s; s = s->next)
        f->send(s, event, data, len); /* a failed stream closes itself */
}

/* {"version","changes":[{"id","state"}],"ga":[{"id","available"}]} of what
 * changed from t->last to t->scratch (*any), or NULL when nothing did, when
 * a snapshot would be smaller (*big) or when out of memory. */
static char *diff_json(const struct bo_feed_topic *t, size_t *len, bool *any, bool *big)
{
    const bo_layout_t *l = t->l;
    const bo_feed_snap_t *a = &t->last, *b = &t->scratch;
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
static void publish(bo_feed_t *f, struct bo_feed_topic *t)
{
    uint64_t version;
    pthread_mutex_lock(&t->mu);
    if (t->nsubs == 0 || !t->last.states)
        goto out;
    bo_live_sweep_event(f->live, t->event);
    if (bo_feed_version(f->live, t->event, &version) || version == t->last.version ||
        bo_feed_snap_read(f->live, t->event, &t->scratch))
        goto out;
    size_t len = 0;
    bool any, big;
    char *text = diff_json(t, &len, &any, &big);
    if (big)
        text = bo_feed_compact_json(t->l, &t->scratch, &len);
    if (any && !text)
        goto out; /* out of memory: the same difference next tick */
    if (text)
        send_all(f, t, big ? "snapshot" : "seats", text, len);
    free(text);
    bo_feed_snap_t swap = t->last; /* published: scratch is the new baseline */
    t->last = t->scratch;
    t->scratch = swap;
out:
    pthread_mutex_unlock(&t->mu);
}

static void *publisher(void *arg)
{
    bo_feed_t *st = arg;
    pthread_mutex_lock(&st->mu);
    while (!st->stop) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_nsec += BO_FEED_PUBLISH_MS * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        while (!st->stop && pthread_cond_timedwait(&st->cv, &st->mu, &until) == 0)
            ;
        struct bo_feed_topic *head = st->topics;
        bool stop = st->stop;
        pthread_mutex_unlock(&st->mu);
        for (struct bo_feed_topic *t = head; t && !stop; t = t->next)
            publish(st, t);
        pthread_mutex_lock(&st->mu);
    }
    pthread_mutex_unlock(&st->mu);
    return NULL;
}

/* ---- subscribers ------------------------------------------------------------------------ */

bo_feed_topic_t *bo_feed_topic(bo_feed_t *st, uint64_t event, const bo_layout_t *l)
{
    pthread_mutex_lock(&st->mu);
    struct bo_feed_topic *t = st->topics;
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

void bo_feed_unsubscribe(bo_feed_t *f, bo_feed_topic_t *t, bo_feed_sub_t *s)
{
    pthread_mutex_lock(&t->mu);
    bo_feed_sub_t **p = &t->subs;
    while (*p && *p != s)
        p = &(*p)->next;
    if (*p)
        *p = s->next;
    if (--t->nsubs == 0) { /* the next subscriber takes a fresh snapshot */
        bo_feed_snap_free(&t->last);
        bo_feed_snap_free(&t->scratch);
    }
    pthread_mutex_unlock(&t->mu);
    __atomic_sub_fetch(&f->nsubs, 1, __ATOMIC_RELAXED);
}

/* Under t->mu, the first subscriber: a fresh baseline. */
static int baseline(bo_feed_t *f, struct bo_feed_topic *t)
{
    int rc = bo_feed_snap_alloc(&t->last, t->l);
    if (rc == 0)
        rc = bo_feed_snap_alloc(&t->scratch, t->l);
    if (rc == 0) {
        bo_live_sweep_event(f->live, t->event);
        rc = bo_feed_snap_read(f->live, t->event, &t->last);
    }
    if (rc) {
        bo_feed_snap_free(&t->last);
        bo_feed_snap_free(&t->scratch);
    }
    return rc;
}

int bo_feed_subscribe(bo_feed_t *f, bo_feed_topic_t *t, bo_feed_sub_t *s)
{
    size_t len;
    pthread_mutex_lock(&t->mu);
    int rc = t->nsubs == 0 ? baseline(f, t) : 0;
    char *text = rc == 0 ? bo_feed_compact_json(t->l, &t->last, &len) : NULL;
    if (rc == 0 && !text)
        rc = BO_ENOMEM;
    if (rc == 0)
        rc = f->send(s, "snapshot", text, len);
    if (rc == 0) {
        s->next = t->subs;
        t->subs = s;
        t->nsubs++;
        __atomic_add_fetch(&f->nsubs, 1, __ATOMIC_RELAXED);
    } else if (t->nsubs == 0) {
        bo_feed_snap_free(&t->last);
        bo_feed_snap_free(&t->scratch);
    }
    pthread_mutex_unlock(&t->mu);
    free(text);
    return rc;
}

uint32_t bo_feed_subscribers(bo_feed_t *f)
{
    return __atomic_load_n(&f->nsubs, __ATOMIC_RELAXED);
}

/* ---- the publisher's life ---------------------------------------------------------------- */

void bo_feed_stop(bo_feed_t *st)
{
    pthread_mutex_lock(&st->mu);
    st->stop = true;
    bool started = st->started;
    st->started = false;
    pthread_cond_signal(&st->cv);
    pthread_mutex_unlock(&st->mu);
    if (started)
        pthread_join(st->thread, NULL);
}

void bo_feed_free(bo_feed_t *st)
{
    if (!st)
        return;
    bo_feed_stop(st);
    while (st->topics) {
        struct bo_feed_topic *t = st->topics;
        st->topics = t->next;
        while (t->subs) { /* streams whose close never came (a forced stop) */
            bo_feed_sub_t *s = t->subs;
            t->subs = s->next;
            st->drop(s);
        }
        bo_feed_snap_free(&t->last);
        bo_feed_snap_free(&t->scratch);
        pthread_mutex_destroy(&t->mu);
        free(t);
    }
    pthread_cond_destroy(&st->cv);
    pthread_mutex_destroy(&st->mu);
    free(st);
}

int bo_feed_new(bo_live_t *live, bo_feed_send_fn send, bo_feed_drop_fn drop, bo_feed_t **out)
{
    bo_feed_t *st = calloc(1, sizeof(*st));
    pthread_condattr_t attr;
    *out = st;
    if (!st)
        return BO_ENOMEM;
    st->live = live;
    st->send = send;
    st->drop = drop;
    pthread_mutex_init(&st->mu, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&st->cv, &attr);
    pthread_condattr_destroy(&attr);
    return 0;
}
