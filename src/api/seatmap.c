/*
 * seatmap.c - GET /api/v1/events/{id}/seatmap: the venue's static layout
 * (sections, rows, seats with id, label, x, y, category; GA areas) and the
 * event's categories with their prices, with a strong ETag and
 * Cache-Control: public, max-age=60.
 *
 * Workload: every buyer fetches the seat map once per visit, thousands at
 * the start of an on-sale, and a 100,000-seat map is ~10 MB of JSON that
 * takes ~160 ms to render with its gzip copy (seatmap_render.c). So a map
 * is rendered once per venue, prices and form, and kept with its ETag: the
 * events of a venue with the same prices share it (a tour's nights), and a
 * request costs a price check (a few words copied under the event's lock)
 * and, unless If-None-Match says it has it, one copy of the body (gzip'd
 * for the clients that take it, ~10x smaller). An event loop never
 * renders: a missing map is rendered on this file's own thread, and the
 * requests that ask for it meanwhile all wait for that one render (async
 * answers), whatever loop they arrived on. An event's creation and a
 * change of its prices start the renders of both forms at once
 * (bo__seatmap_warm), so its first buyers find them ready. The cache is bounded: past
 * CACHE_MAX_BYTES the finished maps are dropped (answers being copied keep theirs).
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "api/api_internal.h"
#include "boxoffice/u64map.h"

#define CACHE_MAX_BYTES (256u << 20)
#define CACHE_CONTROL   "public, max-age=60"

/* A seat map, being rendered (requests wait on it) or ready (immutable). */
struct map {
    atomic_uint refs;       /* the cache's, the render queue's, each waiting answer's */
    struct map *next;       /* in the render queue; under mu */
    struct waiter *waiters; /* under mu, until ready */
    bool ready;             /* under mu; once set, what follows is read without it */
    bool failed;            /* out of memory while rendering */
    bool cached;            /* under mu: the cache holds it under key */
    uint64_t key;
    uint64_t venue; /* what it is the map of */
    const bo_layout_t *layout;
    bool columns;
    int64_t prices[BO_LAYOUT_MAX_CATEGORIES];
    bo__seatmap_body_t out;
};

/* A request waiting for a render. */
struct waiter {
    struct waiter *next;
    bo_http_async_t *a;
    struct map *m; /* a reference */
    bool gz;
};

struct bo_seatmaps {
    pthread_mutex_t mu;
    pthread_cond_t work;             /* the render thread waits here */
    bo_u64map_t maps;                /* key -> struct map (a reference) */
    size_t bytes;                    /* of the ready maps in the cache */
    struct map *queue, **queue_tail; /* maps to render, oldest first */
    bool stop, started;
    pthread_t thread;
    uint8_t hash_key[crypto_shorthash_KEYBYTES];
    bo_metric_series_t *renders; /* boxoffice_seatmap_renders_total */
};

static void map_unref(struct map *m)
{
    if (atomic_fetch_sub_explicit(&m->refs, 1, memory_order_acq_rel) == 1) {
        bo__seatmap_body_free(&m->out);
        free(m);
    }
}

static void map_ref(struct map *m)
{
    atomic_fetch_add_explicit(&m->refs, 1, memory_order_relaxed);
}

/* The cache key of (venue, form, prices): a keyed hash (the entry is
 * compared in full on a hit), never 0. */
static uint64_t key_of(const struct bo_seatmaps *c, uint64_t venue, bool columns,
                       const int64_t *prices, uint32_t ncat)
{
    uint8_t in[8 + 1 + 8 * BO_LAYOUT_MAX_CATEGORIES], out[crypto_shorthash_BYTES];
    size_t n = 9 + ncat * sizeof(int64_t);
    memcpy(in, &venue, 8);
    in[8] = columns;
    memcpy(in + 9, prices, ncat * sizeof(int64_t));
    crypto_shorthash(out, in, n, c->hash_key);
    uint64_t key;
    memcpy(&key, out, sizeof(key));
    return key ? key : 1;
}

static bool map_is(const struct map *m, uint64_t venue, bool columns, const int64_t *prices,
                   uint32_t ncat)
{
    return m->venue == venue && m->columns == columns &&
           !memcmp(m->prices, prices, ncat * sizeof(int64_t));
}

/* Under mu: drop the cache's reference to m. */
static void uncache(struct bo_seatmaps *c, struct map *m)
{
    if (!m->cached)
        return;
    bo_u64map_del(&c->maps, m->key);
    m->cached = false;
    if (m->ready && !m->failed)
        c->bytes -= m->out.len + m->out.gz_len;
    map_unref(m);
}

/* Under mu: drop every ready map (those being rendered stay). */
static void drop_ready(struct bo_seatmaps *c)
{
    size_t n = 0;
    struct map **ready = malloc((c->maps.n + 1) * sizeof(*ready));
    if (!ready)
        return;
    for (size_t i = 0; c->maps.keys && i <= c->maps.mask; i++) {
        struct map *m = c->maps.keys[i] ? c->maps.vals[i] : NULL;
        if (m && m->ready)
            ready[n++] = m;
    }
    for (size_t i = 0; i < n; i++)
        uncache(c, ready[i]);
    free(ready);
}

/* Whether the client takes gzip: "gzip" among Accept-Encoding's codings,
 * not with q=0. */
static bool accepts_gzip(bo_http_req_t *r)
{
    size_t len;
    const char *v = bo_http_header(r, "accept-encoding", &len);
    for (const char *p = v; p && (p = strstr(p, "gzip")); p += 4) {
        bool start = p == v || p[-1] == ' ' || p[-1] == ',' || p[-1] == '\t';
        const char *q = p + 4;
        while (*q == ' ')
            q++;
        if (!start || (*q && *q != ',' && *q != ';'))
            continue;
        if (*q == ';') {
            while (*++q == ' ')
                ;
            if (!strncmp(q, "q=0", 3) && (q[3] == '\0' || q[3] == ',' || !strncmp(q + 3, ".0", 2)))
                return false;
        }
        return true;
    }
    return false;
}

/* ---- answers ------------------------------------------------------------------------------ */

/* Answer r from the ready map m: 304 when If-None-Match has it, else a
 * copy of its body (gzip'd when the client takes it). */
static int answer(bo_http_req_t *r, const struct map *m, bool gz)
{
    if (m->failed)
        return bo_http_send_error(r, BO_ENOMEM, NULL, NULL);
    gz = gz && m->out.gz;
    bo_http_set_header(r, "Cache-Control", CACHE_CONTROL);
    bo_http_set_header(r, "Vary", "Accept-Encoding");
    if (bo_http_not_modified(r, gz ? m->out.gz_etag : m->out.etag) == 1)
        return 0;
    size_t len = gz ? m->out.gz_len : m->out.len;
    char *copy = malloc(len + 1);
    if (!copy)
        return bo_http_send_error(r, BO_ENOMEM, NULL, NULL);
    memcpy(copy, gz ? m->out.gz : m->out.body, len);
    if (gz)
        bo_http_set_header(r, "Content-Encoding", "gzip");
    return bo_http_send_buf(r, 200, "application/json", copy, len);
}

/* On the request's loop once its map is rendered (r NULL: nobody left). */
static void answer_waiter(bo_http_req_t *r, void *arg)
{
    struct waiter *w = arg;
    if (r)
        answer(r, w->m, w->gz);
    map_unref(w->m);
    free(w);
}

/* ---- the render thread -------------------------------------------------------------------- */

/* m, taken off the queue, is rendered (ok) or will not be: mark it ready,
 * keep it cached only when ok, answer its waiters and drop the queue's
 * reference. */
static void publish(struct bo_seatmaps *c, struct map *m, bool ok)
{
    size_t bytes = ok ? m->out.len + m->out.gz_len : 0;
    pthread_mutex_lock(&c->mu);
    if (ok && m->cached && c->bytes + bytes > CACHE_MAX_BYTES)
        drop_ready(c); /* m is not ready yet: it stays */
    m->failed = !ok;
    m->ready = true;
    struct waiter *w = m->waiters;
    m->waiters = NULL;
    if (!ok)
        uncache(c, m); /* the next request tries again */
    else if (m->cached)
        c->bytes += bytes;
    pthread_mutex_unlock(&c->mu);
    while (w) {
        struct waiter *next = w->next;
        bo_http_async_finish(w->a, answer_waiter, w);
        w = next;
    }
    map_unref(m);
}

static void render_one(struct bo_seatmaps *c, struct map *m)
{
    publish(c, m, bo__seatmap_render(m->venue, m->layout, m->prices, m->columns, &m->out) == 0);
    bo_metric_add(c->renders, 1);
}

static void *renderer(void *arg)
{
    struct bo_seatmaps *c = arg;
    pthread_mutex_lock(&c->mu);
    while (!c->stop) {
        struct map *m = c->queue;
        if (!m) {
            pthread_cond_wait(&c->work, &c->mu);
            continue;
        }
        if (!(c->queue = m->next))
            c->queue_tail = &c->queue;
        pthread_mutex_unlock(&c->mu);
        render_one(c, m);
        pthread_mutex_lock(&c->mu);
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

/* When the server stops (its loops are gone, before the live layer whose
 * layouts the renders read): finish the render under way, answer whoever
 * waits for the others (nobody is left to read it). */
static void seatmaps_stop(void *arg)
{
    struct bo_seatmaps *c = arg;
    pthread_mutex_lock(&c->mu);
    c->stop = true;
    pthread_cond_signal(&c->work);
    pthread_mutex_unlock(&c->mu);
    if (c->started)
        pthread_join(c->thread, NULL);
    c->started = false;
    pthread_mutex_lock(&c->mu);
    struct map *m = c->queue;
    c->queue = NULL;
    c->queue_tail = &c->queue;
    pthread_mutex_unlock(&c->mu);
    while (m) {
        struct map *next = m->next;
        publish(c, m, false); /* never rendered */
        m = next;
    }
}

static void seatmaps_free(void *arg)
{
    struct bo_seatmaps *c = arg;
    seatmaps_stop(c); /* when the server never ran */
    drop_ready(c);    /* all are, once stopped */
    bo_u64map_free(&c->maps);
    pthread_cond_destroy(&c->work);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

/* ---- the request -------------------------------------------------------------------------- */

static int read_prices(void *arg, const bo_inv_t *inv, int64_t now_ms)
{
    const bo_inv_config_t *cfg = bo_inv_config(inv);
    memcpy(arg, cfg->price_cents, bo_inv_layout(inv)->ncategories * sizeof(int64_t));
    return 0;
}

/* Under mu: a new map of (venue, form, prices), cached and queued for the
 * render thread (two references), or NULL when out of memory. */
static struct map *start_render(struct bo_seatmaps *c, uint64_t key, uint64_t venue,
                                const bo_layout_t *l, bool columns, const int64_t *prices)
{
    struct map *m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    atomic_init(&m->refs, 2);
    m->key = key;
    m->venue = venue;
    m->layout = l;
    m->columns = columns;
    memcpy(m->prices, prices, l->ncategories * sizeof(int64_t));
    if (bo_u64map_put(&c->maps, key, m) != 0) {
        free(m);
        return NULL;
    }
    m->cached = true;
    *c->queue_tail = m;
    c->queue_tail = &m->next;
    pthread_cond_signal(&c->work);
    return m;
}

/* Under mu: make r wait for m's render. Returns 0 or BO_ENOMEM. */
static int wait_for(bo_http_req_t *r, struct map *m, bool gz)
{
    struct waiter *w = malloc(sizeof(*w));
    if (!w || !(w->a = bo_http_async_begin(r))) {
        free(w);
        return BO_ENOMEM;
    }
    map_ref(m);
    w->m = m;
    w->gz = gz;
    w->next = m->waiters;
    m->waiters = w;
    return 0;
}

/* What an event's seat map is made of: its venue's layout and its prices.
 * Returns 0 or BO_ENOTFOUND. */
static int map_inputs(bo_api_t *api, uint64_t event, uint64_t *venue, const bo_layout_t **l,
                      int64_t prices[BO_LAYOUT_MAX_CATEGORIES])
{
    bo_event_info_t e;
    if (bo_catalog_event(api->catalog, event, &e) || !(*l = bo_live_venue(api->live, e.venue)) ||
        bo_live_read(api->live, event, read_prices, prices))
        return BO_ENOTFOUND;
    *venue = e.venue;
    return 0;
}

/* Under mu: the cached map of (venue, form, prices), ready or being
 * rendered; else a render of it is started (NULL when out of memory or
 * stopping). */
static struct map *find_or_start(struct bo_seatmaps *c, uint64_t venue, const bo_layout_t *l,
                                 bool columns, const int64_t *prices)
{
    uint64_t key = key_of(c, venue, columns, prices, l->ncategories);
    struct map *m = bo_u64map_get(&c->maps, key);
    if (m && !map_is(m, venue, columns, prices, l->ncategories)) {
        uncache(c, m); /* another map under the same hash: this one replaces it */
        m = NULL;
    }
    if (!m && !c->stop)
        m = start_render(c, key, venue, l, columns, prices);
    return m;
}

void bo__seatmap_warm(bo_api_t *api, uint64_t event)
{
    struct bo_seatmaps *c = api->seatmaps;
    uint64_t venue;
    const bo_layout_t *l;
    int64_t prices[BO_LAYOUT_MAX_CATEGORIES];
    if (!c || map_inputs(api, event, &venue, &l, prices))
        return;
    pthread_mutex_lock(&c->mu);
    find_or_start(c, venue, l, false, prices);
    find_or_start(c, venue, l, true, prices);
    pthread_mutex_unlock(&c->mu);
}

static int on_seatmap(void *arg, bo_http_req_t *r)
{
    bo_api_t *api = arg;
    struct bo_seatmaps *c = api->seatmaps;
    uint64_t event, venue;
    int64_t prices[BO_LAYOUT_MAX_CATEGORIES];
    const bo_layout_t *l = NULL;
    if (bo_id_parse_event(bo_http_param(r, "id"), &event) ||
        map_inputs(api, event, &venue, &l, prices))
        return bo_http_send_error(r, BO_ENOTFOUND, "no such event",
                                  json_pack("{ss}", "id", bo_http_param(r, "id")));
    size_t flen;
    const char *format = bo_http_query(r, "format", &flen);
    bool columns = format && flen == 7 && !memcmp(format, "columns", 7);
    if (format && !columns && !(flen == 7 && !memcmp(format, "objects", 7)))
        return bo_http_send_error(r, BO_EINVAL, "format is objects (the default) or columns",
                                  json_pack("{ss}", "field", "format"));
    bool gz = accepts_gzip(r);
    int rc;
    pthread_mutex_lock(&c->mu);
    struct map *m = find_or_start(c, venue, l, columns, prices);
    if (m && m->ready) {
        map_ref(m);
        pthread_mutex_unlock(&c->mu);
        rc = answer(r, m, gz);
        map_unref(m);
        return rc;
    }
    rc = m ? wait_for(r, m, gz) : c->stop ? BO_EBUSY : BO_ENOMEM;
    pthread_mutex_unlock(&c->mu);
    return rc;
}

int bo__api_seatmap_register(bo_api_t *api)
{
    struct bo_seatmaps *c = calloc(1, sizeof(*c));
    if (!c || sodium_init() < 0) {
        free(c);
        return BO_ENOMEM;
    }
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->work, NULL);
    c->queue_tail = &c->queue;
    crypto_shorthash_keygen(c->hash_key);
    bo_metric_t *f =
        bo_metrics_counter(bo_server_metrics(api->srv), "boxoffice_seatmap_renders_total",
                           "Seat maps rendered (once per venue, prices and form).");
    int rc = (f && (c->renders = bo_metric_series(f, NULL))) ? 0 : BO_ENOMEM;
    if (rc || (rc = bo_server_at_free(api->srv, seatmaps_free, c))) {
        seatmaps_free(c);
        return rc;
    }
    api->seatmaps = c;
    if ((rc = bo_server_at_stop(api->srv, seatmaps_stop, c)))
        return rc;
    if (pthread_create(&c->thread, NULL, renderer, c) != 0)
        return BO_ENOMEM;
    pthread_setname_np(c->thread, "bo-seatmap");
    c->started = true;
    return bo_server_route(api->srv, "GET", "/api/v1/events/{id}/seatmap", on_seatmap, api);
}
