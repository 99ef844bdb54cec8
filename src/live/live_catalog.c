/*
 * live_catalog.c - the registries of the live layer (live.h): venues and
 * events, created durably, rebuilt from the store at start by replaying each
 * event's log through the engine (record.c's one apply); plus the sweeper.
 *
 * Workload: venues and events are created rarely; lookups happen on every
 * request (a read lock and a hash probe). Recovery replays every log record
 * once, with the journal off.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boxoffice/error.h"
#include "live/live_internal.h"
#include "live/record.h"
#include "util/assert.h"

struct event *bo__live_event(bo_live_t *live, uint64_t id)
{
    pthread_rwlock_rdlock(&live->mu);
    struct event *ev = bo_u64map_get(&live->events, id);
    if (ev && !__atomic_load_n(&ev->visible, __ATOMIC_ACQUIRE))
        ev = NULL;
    pthread_rwlock_unlock(&live->mu);
    return ev;
}

bo_live_event_t *bo_live_find(bo_live_t *live, uint64_t event)
{
    return (bo_live_event_t *)bo__live_event(live, event);
}

const bo_layout_t *bo_live_event_layout(const bo_live_event_t *event)
{
    BO_ASSERT(event != NULL);
    return bo__live_of((bo_live_event_t *)event)->venue->layout;
}

int64_t bo__live_now(bo_live_t *live, struct event *ev)
{
    BO_ASSERT(bo_mutex_held(&ev->mu));
    int64_t now = live->clock->now_ms(live->clock);
    if (now < ev->last_ms)
        now = ev->last_ms;
    ev->last_ms = now;
    return now;
}

const bo_layout_t *bo_live_venue(bo_live_t *live, uint64_t id)
{
    pthread_rwlock_rdlock(&live->mu);
    struct venue *v = bo_u64map_get(&live->venues, id);
    pthread_rwlock_unlock(&live->mu);
    return v && __atomic_load_n(&v->visible, __ATOMIC_ACQUIRE) ? v->layout : NULL;
}

/* ---- event bodies: {"meta":{...},"config":{...}} --------------------------- */

static char *event_body(const char *meta_json, const bo_inv_config_t *cfg, const bo_layout_t *l)
{
    json_t *meta = json_loads(meta_json ? meta_json : "{}", 0, NULL);
    json_t *prices = json_array();
    for (uint32_t c = 0; c < l->ncategories; c++)
        json_array_append_new(prices, json_integer(cfg->price_cents[c]));
    json_t *doc = json_pack("{s:o,s:{s:I,s:I,s:I,s:o}}", "meta", meta ? meta : json_object(),
                            "config", "hold_ttl_ms", (json_int_t)cfg->hold_ttl_ms,
                            "per_customer_limit", (json_int_t)cfg->per_customer_limit, "max_holds",
                            (json_int_t)cfg->max_holds, "prices", prices);
    char *s = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    return s;
}

/* Parse an event body: its meta (caller owns, free()) and config. */
static int parse_event_body(const char *json, size_t len, const bo_layout_t *l, char **meta,
                            bo_inv_config_t *cfg)
{
    json_t *doc = json_loadb(json, len, 0, NULL);
    json_t *c = json_object_get(doc, "config");
    json_t *prices = json_object_get(c, "prices");
    memset(cfg, 0, sizeof(*cfg));
    if (!json_is_object(c) || !json_is_array(prices)) {
        json_decref(doc);
        return BO_ECORRUPT;
    }
    cfg->hold_ttl_ms = json_integer_value(json_object_get(c, "hold_ttl_ms"));
    cfg->per_customer_limit =
        (uint32_t)json_integer_value(json_object_get(c, "per_customer_limit"));
    cfg->max_holds = (uint32_t)json_integer_value(json_object_get(c, "max_holds"));
    for (uint32_t i = 0; i < l->ncategories && i < json_array_size(prices); i++)
        cfg->price_cents[i] = json_integer_value(json_array_get(prices, i));
    *meta = json_dumps(json_object_get(doc, "meta"), JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(doc);
    return *meta ? 0 : BO_ENOMEM;
}

/* ---- creating venues and events ----------------------------------------------- */

struct create {
    bo_rec_t rec;
    bo_live_t *live;
    void *obj;
    int is_event;
    char *body;
    uint32_t *ga_capacity;
    bo_live_done_fn done;
    void *arg;
};

static void free_venue(struct venue *v)
{
    if (v) {
        bo_best_index_free(v->best);
        bo_layout_free(v->layout);
        free(v->meta_json);
    }
    free(v);
}

/* Parse a venue's seat map and index it for best available. */
static int venue_parse(struct venue *v, const char *json, size_t len, bo_problems_t *probs)
{
    int rc = bo_layout_parse(json, len, &v->layout, probs);
    return rc ? rc : bo_best_index_new(v->layout, &v->best);
}

static void free_event(struct event *ev)
{
    if (!ev)
        return;
    bo_inv_free(ev->inv);
    pthread_mutex_destroy(&ev->mu);
    free(ev->meta_json);
    free(ev);
}

/* Committed: make it visible. Failed: forget the reservation. */
static void created(bo_rec_t *rec, int status)
{
    struct create *c = (struct create *)rec;
    bo_live_t *live = c->live;
    BO_ASSERT(status <= 0 && c->done != NULL);
    int *visible =
        c->is_event ? &((struct event *)c->obj)->visible : &((struct venue *)c->obj)->visible;
    if (status == 0) {
        __atomic_store_n(visible, 1, __ATOMIC_RELEASE);
    } else {
        pthread_rwlock_wrlock(&live->mu);
        bo_u64map_del(c->is_event ? &live->events : &live->venues, c->rec.id);
        pthread_rwlock_unlock(&live->mu);
        if (c->is_event)
            free_event(c->obj);
        else
            free_venue(c->obj);
    }
    bo__live_finish(c->done, c->arg, status);
    free(c->body);
    free(c->ga_capacity);
    free(c);
}

/* Reserve id in map for obj (not yet visible); BO_EEXIST when taken. */
static int reserve(bo_live_t *live, bo_u64map_t *map, uint64_t id, void *obj)
{
    pthread_rwlock_wrlock(&live->mu);
    int rc = id == 0 ? BO_EINVAL : bo_u64map_get(map, id) ? BO_EEXIST : bo_u64map_put(map, id, obj);
    pthread_rwlock_unlock(&live->mu);
    return rc;
}

static int submit_create(bo_live_t *live, struct create *c, bo_u64map_t *map)
{
    BO_ASSERT(c->body != NULL && c->rec.id != 0);
    c->rec.done = created;
    c->live = live;
    c->rec.body = c->body;
    c->rec.body_len = strlen(c->body);
    int rc = bo_store_submit(live->store, &c->rec);
    if (rc == 0)
        return 0;
    pthread_rwlock_wrlock(&live->mu);
    bo_u64map_del(map, c->rec.id);
    pthread_rwlock_unlock(&live->mu);
    return rc;
}

/* The stored body of a venue: its meta first, then the layout's fields:
 * {"meta":{...},"name":...}. The layout parser ignores "meta". */
static char *venue_body(const bo_layout_t *l, const char *meta_json)
{
    size_t len, mlen = strlen(meta_json);
    char *layout = bo_layout_to_json(l, &len);
    char *body = layout ? malloc(len + mlen + 16) : NULL;
    if (body)
        sprintf(body, "{\"meta\":%s,%s", meta_json, layout + 1);
    free(layout);
    return body;
}

/* The meta object at the start of a stored venue body (a copy), or "{}". */
static char *venue_meta(const char *body, size_t len)
{
    static const char prefix[] = "{\"meta\":";
    json_error_t err;
    json_t *meta = NULL;
    if (len > sizeof(prefix) && memcmp(body, prefix, sizeof(prefix) - 1) == 0)
        meta = json_loadb(body + sizeof(prefix) - 1, len - (sizeof(prefix) - 1),
                          JSON_DISABLE_EOF_CHECK, &err);
    char *s = json_is_object(meta) ? json_dumps(meta, JSON_COMPACT) : strdup("{}");
    json_decref(meta);
    return s;
}

int bo_live_add_venue(bo_live_t *live, uint64_t id, const char *json, size_t len,
                      bo_problems_t *probs, bo_live_done_fn done, void *arg)
{
    return bo_live_add_venue_meta(live, id, json, len, NULL, probs, done, arg);
}

int bo_live_add_venue_meta(bo_live_t *live, uint64_t id, const char *json, size_t len,
                           const char *meta_json, bo_problems_t *probs, bo_live_done_fn done,
                           void *arg)
{
    struct venue *v = calloc(1, sizeof(*v));
    struct create *c = calloc(1, sizeof(*c));
    int rc = v && c ? 0 : BO_ENOMEM;
    if (rc == 0 && !(v->meta_json = strdup(meta_json ? meta_json : "{}")))
        rc = BO_ENOMEM;
    if (rc == 0)
        rc = venue_parse(v, json, len, probs);
    if (rc == 0 && !(c->body = venue_body(v->layout, v->meta_json)))
        rc = BO_ENOMEM;
    if (rc == 0 && (rc = reserve(live, &live->venues, id, v)) == 0) {
        v->id = id;
        *c = (struct create){.rec = {.kind = BO_REC_VENUE, .id = id},
                             .obj = v,
                             .body = c->body,
                             .done = done,
                             .arg = arg};
        if ((rc = submit_create(live, c, &live->venues)) == 0)
            return 0;
    }
    if (c)
        free(c->body);
    free(c);
    free_venue(v);
    return rc;
}

char *bo_live_venue_meta(bo_live_t *live, uint64_t id)
{
    pthread_rwlock_rdlock(&live->mu);
    struct venue *v = bo_u64map_get(&live->venues, id);
    char *meta = v && __atomic_load_n(&v->visible, __ATOMIC_ACQUIRE) ? strdup(v->meta_json) : NULL;
    pthread_rwlock_unlock(&live->mu);
    return meta;
}

static struct event *event_new(uint64_t id, struct venue *v, const bo_inv_config_t *cfg,
                               const char *meta_json)
{
    struct event *ev = calloc(1, sizeof(*ev));
    if (!ev)
        return NULL;
    ev->id = id;
    ev->venue = v;
    pthread_mutex_init(&ev->mu, NULL);
    ev->meta_json = strdup(meta_json ? meta_json : "{}");
    if (!ev->meta_json || bo_inv_new_shared(v->layout, v->best, cfg, &ev->inv)) {
        free_event(ev);
        return NULL;
    }
    return ev;
}

static uint32_t *ga_capacities(const bo_layout_t *l)
{
    uint32_t *cap = malloc((l->nga ? l->nga : 1) * sizeof(uint32_t));
    for (uint32_t a = 0; cap && a < l->nga; a++)
        cap[a] = l->ga[a].capacity;
    return cap;
}

int bo_live_add_event(bo_live_t *live, uint64_t id, uint64_t venue, const char *meta_json,
                      const bo_inv_config_t *cfg, bo_live_done_fn done, void *arg)
{
    pthread_rwlock_rdlock(&live->mu);
    struct venue *v = bo_u64map_get(&live->venues, venue);
    pthread_rwlock_unlock(&live->mu);
    if (!v || !__atomic_load_n(&v->visible, __ATOMIC_ACQUIRE))
        return BO_ENOTFOUND;
    struct event *ev = event_new(id, v, cfg, meta_json);
    struct create *c = calloc(1, sizeof(*c));
    int rc = ev && c ? 0 : BO_ENOMEM;
    if (rc == 0 && (!(c->body = event_body(meta_json, bo_inv_config(ev->inv), v->layout)) ||
                    !(c->ga_capacity = ga_capacities(v->layout))))
        rc = BO_ENOMEM;
    if (rc == 0 && (rc = reserve(live, &live->events, id, ev)) == 0) {
        c->rec = (bo_rec_t){.kind = BO_REC_EVENT,
                            .id = id,
                            .venue = venue,
                            .ga_capacity = c->ga_capacity,
                            .nga_capacity = v->layout->nga};
        c->obj = ev;
        c->is_event = 1;
        c->done = done;
        c->arg = arg;
        if ((rc = submit_create(live, c, &live->events)) == 0)
            return 0;
    }
    if (c) {
        free(c->body);
        free(c->ga_capacity);
    }
    free(c);
    free_event(ev);
    return rc;
}

/* ---- changing events and reading the catalog ------------------------------ */

struct update {
    bo_rec_t rec;
    struct event *ev;
    char *body, *meta;
    uint32_t *ga_capacity;
    bo_inv_config_t cfg;
    bo_live_done_fn done;
    void *arg;
};

/* Committed: the new rules and meta apply from now on. */
static void updated(bo_rec_t *rec, int status)
{
    struct update *u = (struct update *)rec;
    if (status == 0) {
        pthread_mutex_lock(&u->ev->mu);
        bo_inv_set_config(u->ev->inv, &u->cfg);
        char *old = u->ev->meta_json;
        u->ev->meta_json = u->meta;
        u->meta = old;
        pthread_mutex_unlock(&u->ev->mu);
    }
    bo__live_finish(u->done, u->arg, status);
    free(u->body);
    free(u->meta);
    free(u->ga_capacity);
    free(u);
}

int bo_live_update_event(bo_live_t *live, uint64_t id, const char *meta_json,
                         const bo_inv_config_t *cfg, bo_live_done_fn done, void *arg)
{
    struct event *ev = bo__live_event(live, id);
    if (!ev)
        return BO_ENOTFOUND;
    const bo_layout_t *l = ev->venue->layout;
    if (bo_inv_check_config(l, cfg))
        return BO_EINVAL;
    struct update *u = calloc(1, sizeof(*u));
    int rc = u ? 0 : BO_ENOMEM;
    if (rc == 0) {
        u->ev = ev;
        u->cfg = *cfg;
        u->done = done;
        u->arg = arg;
        u->meta = strdup(meta_json ? meta_json : "{}");
        u->body = event_body(meta_json, cfg, l);
        u->ga_capacity = ga_capacities(l);
        if (!u->meta || !u->body || !u->ga_capacity)
            rc = BO_ENOMEM;
    }
    if (rc == 0) {
        u->rec = (bo_rec_t){.kind = BO_REC_EVENT,
                            .id = id,
                            .venue = ev->venue->id,
                            .body = u->body,
                            .body_len = strlen(u->body),
                            .ga_capacity = u->ga_capacity,
                            .nga_capacity = l->nga,
                            .done = updated};
        if ((rc = bo_store_submit(live->store, &u->rec)) == 0)
            return 0;
    }
    if (u) {
        free(u->body);
        free(u->meta);
        free(u->ga_capacity);
    }
    free(u);
    return rc;
}

char *bo_live_event_meta(bo_live_t *live, uint64_t id, uint64_t *venue)
{
    struct event *ev = bo__live_event(live, id);
    if (!ev)
        return NULL;
    pthread_mutex_lock(&ev->mu);
    char *meta = strdup(ev->meta_json);
    pthread_mutex_unlock(&ev->mu);
    if (venue)
        *venue = ev->venue->id;
    return meta;
}

int bo_live_each_event(bo_live_t *live, bo_live_event_fn fn, void *arg)
{
    int rc = 0;
    pthread_rwlock_rdlock(&live->mu);
    for (size_t i = 0; rc == 0 && live->events.keys && i <= live->events.mask; i++) {
        struct event *ev = live->events.vals[i];
        if (!live->events.keys[i] || !__atomic_load_n(&ev->visible, __ATOMIC_ACQUIRE))
            continue;
        pthread_mutex_lock(&ev->mu);
        rc = fn(arg, ev->id, ev->venue->id, ev->meta_json, ev->inv, bo__live_now(live, ev));
        pthread_mutex_unlock(&ev->mu);
    }
    pthread_rwlock_unlock(&live->mu);
    return rc;
}

int bo_live_each_venue(bo_live_t *live, bo_live_venue_fn fn, void *arg)
{
    int rc = 0;
    pthread_rwlock_rdlock(&live->mu);
    for (size_t i = 0; rc == 0 && live->venues.keys && i <= live->venues.mask; i++) {
        struct venue *v = live->venues.vals[i];
        if (live->venues.keys[i] && __atomic_load_n(&v->visible, __ATOMIC_ACQUIRE))
            rc = fn(arg, v->id, v->layout);
    }
    pthread_rwlock_unlock(&live->mu);
    return rc;
}

/* ---- recovery -------------------------------------------------------------- */

struct loader {
    bo_live_t *live; /* first: live_idem.c's loader reads it */
    uint32_t *seats; /* BO_LAYOUT_MAX_SEATS */
    bo_ga_line_t ga[BO_HOLD_MAX_GA];
    uint64_t records;
};

static int load_venue(void *ctx, uint64_t id, const char *json, size_t len)
{
    struct loader *ld = ctx;
    struct venue *v = calloc(1, sizeof(*v));
    if (!v)
        return BO_ENOMEM;
    v->id = id;
    v->visible = 1;
    if (!(v->meta_json = venue_meta(json, len)) || venue_parse(v, json, len, NULL) ||
        bo_u64map_put(&ld->live->venues, id, v)) {
        fprintf(stderr, "boxoffice: venue %llu in the store does not load\n",
                (unsigned long long)id);
        free_venue(v);
        return BO_ECORRUPT;
    }
    return 0;
}

static int load_event(void *ctx, uint64_t id, uint64_t venue, const char *json, size_t len)
{
    struct loader *ld = ctx;
    struct venue *v = bo_u64map_get(&ld->live->venues, venue);
    bo_inv_config_t cfg;
    char *meta = NULL;
    struct event *ev = NULL;
    int rc = v ? parse_event_body(json, len, v->layout, &meta, &cfg) : BO_ECORRUPT;
    if (rc == 0 && !(ev = event_new(id, v, &cfg, meta)))
        rc = BO_ENOMEM;
    free(meta);
    if (rc == 0 && (rc = bo_u64map_put(&ld->live->events, id, ev)) == 0) {
        ev->visible = 1;
        bo_inv_set_journal(ev->inv, 0);
        return 0;
    }
    free_event(ev);
    fprintf(stderr, "boxoffice: event %llu in the store does not load\n", (unsigned long long)id);
    return BO_ECORRUPT;
}

/* A snapshot starts an event's records; a mutation follows the previous. */
static int replay(struct loader *ld, struct event *ev, const bo_rec_t *rec)
{
    bo_mut_t m;
    BO_ASSERT(rec->id == ev->id);
    if (rec->kind == BO_REC_SNAPSHOT && ev->seq == 0) {
        ev->snap_seq = rec->seq;
        return bo_inv_import(ev->inv, rec->body, rec->body_len);
    }
    if (rec->kind != BO_REC_MUT || rec->seq != ev->seq + 1)
        return BO_ECORRUPT;
    int rc = bo_mut_decode(rec->body, rec->body_len, &m, ld->seats, BO_LAYOUT_MAX_SEATS, ld->ga);
    return rc ? rc : bo_mut_apply(ev->inv, &m, rec->at_ms);
}

static int load_rec(void *ctx, const bo_rec_t *rec)
{
    struct loader *ld = ctx;
    struct event *ev = bo_u64map_get(&ld->live->events, rec->id);
    int rc = ev ? replay(ld, ev, rec) : BO_ECORRUPT;
    if (rc) {
        fprintf(stderr, "boxoffice: event %llu record %llu does not replay: %s\n",
                (unsigned long long)rec->id, (unsigned long long)rec->seq, bo_strerror(rc));
        return BO_ECORRUPT;
    }
    ev->seq = rec->seq;
    ev->last_ms = rec->at_ms > ev->last_ms ? rec->at_ms : ev->last_ms;
    ld->records++;
    return 0;
}

static int load_doc(void *ctx, const char *coll, const char *id, const char *body, size_t len)
{
    struct loader *ld = ctx;
    return bo__live_doc_load(ld->live, coll, id, body, len);
}

static int load(bo_live_t *live)
{
    struct loader ld = {.live = live, .seats = malloc(BO_LAYOUT_MAX_SEATS * sizeof(uint32_t))};
    if (!ld.seats)
        return BO_ENOMEM;
    bo_store_visitor_t v = {load_venue,
                            load_event,
                            load_rec,
                            bo__live_idem_load,
                            bo__live_idem_expired_before(live),
                            load_doc,
                            live->idem_lim.keys_max};
    int rc = bo_store_load(live->store, &v, &ld);
    free(ld.seats);
    for (size_t i = 0; live->events.keys && i <= live->events.mask; i++)
        if (live->events.keys[i])
            bo_inv_set_journal(((struct event *)live->events.vals[i])->inv, 1);
    return rc;
}

int bo_live_open(const char *db_url, bo_clock_t *clock, bo_live_t **out)
{
    *out = NULL;
    bo_live_t *live = calloc(1, sizeof(*live));
    if (!live)
        return BO_ENOMEM;
    live->clock = clock ? clock : bo_clock_system();
    live->snapshot_every = BO_LIVE_SNAPSHOT_EVERY;
    pthread_rwlock_init(&live->mu, NULL);
    int rc = bo__live_idem_init(live);
    if (rc == 0)
        rc = bo_store_open(db_url, &live->store);
    if (rc == 0)
        rc = load(live);
    if (rc == 0)
        rc = bo_store_start(live->store);
    if (rc) {
        bo_live_close(live);
        return rc;
    }
    *out = live;
    return 0;
}

void bo_live_close(bo_live_t *live)
{
    if (!live)
        return;
    if (live->store)
        bo_store_close(live->store);
    for (size_t i = 0; live->events.keys && i <= live->events.mask; i++)
        if (live->events.keys[i])
            free_event(live->events.vals[i]);
    for (size_t i = 0; live->venues.keys && i <= live->venues.mask; i++)
        if (live->venues.keys[i])
            free_venue(live->venues.vals[i]);
    bo_u64map_free(&live->events);
    bo_u64map_free(&live->venues);
    bo__live_idem_free(live);
    bo__live_docs_free(live);
    pthread_rwlock_destroy(&live->mu);
    free(live);
}

bo_store_t *bo_live_store(bo_live_t *live)
{
    return live->store;
}

bo_clock_t *bo_live_clock(bo_live_t *live)
{
    return live->clock;
}

int64_t bo_live_now_ms(bo_live_t *live)
{
    return live->clock->now_ms(live->clock);
}

void bo_live_set_snapshot_every(bo_live_t *live, uint64_t records)
{
    live->snapshot_every = records ? records : 1;
}

uint32_t bo_live_sweep_event(bo_live_t *live, uint64_t id)
{
    struct event *ev = bo__live_event(live, id);
    if (!ev)
        return 0;
    pthread_mutex_lock(&ev->mu);
    uint32_t n = bo_inv_expire(ev->inv, bo__live_now(live, ev));
    pthread_mutex_unlock(&ev->mu);
    return n;
}

uint32_t bo_live_sweep(bo_live_t *live)
{
    uint32_t n = 0;
    pthread_rwlock_rdlock(&live->mu);
    for (size_t i = 0; live->events.keys && i <= live->events.mask; i++) {
        struct event *ev = live->events.vals[i];
        if (!live->events.keys[i] || !__atomic_load_n(&ev->visible, __ATOMIC_ACQUIRE))
            continue;
        pthread_mutex_lock(&ev->mu);
        n += bo_inv_expire(ev->inv, bo__live_now(live, ev));
        pthread_mutex_unlock(&ev->mu);
    }
    pthread_rwlock_unlock(&live->mu);
    return n;
}
