/*
 * catalog.c - events and venues as the API sees them: every event's meta
 * (name, description, times, currency, cancelled) and every venue's (name,
 * city, address), parsed once into memory, plus GET /api/v1/events, which
 * searches and pages through them.
 *
 * Workload: every hold reads its event's currency and sale status here, so
 * a lookup is a read lock, a hash probe and a copy: no JSON is parsed on
 * the request path. Events and venues change rarely (an admin's create or
 * patch re-parses one meta); the list is kept sorted by (starts_at, id), so
 * a page starts with a binary search and scans forward through the
 * filters. Thousands of events are expected, not millions.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "api/api_internal.h"
#include "boxoffice/u64map.h"
#include "util/array.h"
#include "util/time.h"

#define LIST_DEFAULT_LIMIT 20
#define LIST_MAX_LIMIT     100
#define CURSOR_MAX_INPUT   512

struct cat_event {
    bo_event_info_t info; /* status unused here: computed per read */
    char *name_lc;        /* ASCII lower case, for q */
    char *description;
};

struct cat_venue {
    bo_venue_info_t info;
    char city_lc[BO_API_NAME_MAX + 1];
};

struct bo_catalog {
    pthread_rwlock_t mu;
    bo_u64map_t events, venues;
    struct cat_event **order; /* sorted by (starts_at, id) */
    size_t n, cap;
};

/* ---- small helpers ---------------------------------------------------------- */

int64_t bo__api_now_ms(void)
{
    bo_clock_t *c = bo_clock_system();
    return c->now_ms(c);
}

static void lower_ascii(char *dst, const char *src, size_t cap)
{
    size_t i = 0;
    for (; src[i] && i + 1 < cap; i++)
        dst[i] = (src[i] >= 'A' && src[i] <= 'Z') ? (char)(src[i] + 32) : src[i];
    dst[i] = '\0';
}

/* Copy s into a buffer of cap bytes, cut at cap - 1. */
static void copy_str(char *dst, const char *s, size_t cap)
{
    size_t n = s ? strlen(s) : 0;
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, s ? s : "", n);
    dst[n] = '\0';
}

/* Well-formed UTF-8 without NUL: no overlong forms, no surrogates, at most
 * U+10FFFF. */
static bool utf8_ok(const char *s, size_t len)
{
    static const uint32_t min[4] = {0, 0x80, 0x800, 0x10000};
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < len;) {
        unsigned c = u[i];
        unsigned n = c < 0x80             ? 0
                     : (c & 0xe0) == 0xc0 ? 1
                     : (c & 0xf0) == 0xe0 ? 2
                     : (c & 0xf8) == 0xf0 ? 3
                                          : 4;
        if (c == 0 || n == 4 || n >= len - i)
            return false;
        uint32_t cp = n ? c & (0x7fu >> (n + 1)) : c;
        for (unsigned k = 1; k <= n; k++) {
            if ((u[i + k] & 0xc0) != 0x80)
                return false;
            cp = cp << 6 | (u[i + k] & 0x3f);
        }
        if (cp < min[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += n + 1;
    }
    return true;
}

/* ---- statuses --------------------------------------------------------------- */

enum bo_event_status bo__event_status(const bo_event_info_t *e, int64_t now_ms, uint64_t available)
{
    if (e->cancelled)
        return BO_EVENT_CANCELLED;
    if (now_ms >= e->starts_at_ms)
        return BO_EVENT_ENDED;
    if (now_ms < e->on_sale_at_ms)
        return BO_EVENT_SCHEDULED;
    return available == 0 ? BO_EVENT_SOLD_OUT : BO_EVENT_ON_SALE;
}

const char *bo__event_status_name(enum bo_event_status s)
{
    static const char *const names[] = {"scheduled", "on_sale", "sold_out", "cancelled", "ended"};
    return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "scheduled";
}

/* ---- meta JSON ---------------------------------------------------------------- */

char *bo__event_meta_json(const bo_event_info_t *e, const char *description)
{
    json_t *j = json_pack("{s:s,s:s,s:I,s:I,s:s,s:b,s:I}", "name", e->name, "description",
                          description ? description : "", "starts_at", (json_int_t)e->starts_at_ms,
                          "on_sale_at", (json_int_t)e->on_sale_at_ms, "currency", e->currency,
                          "cancelled", e->cancelled, "created_at", (json_int_t)e->created_ms);
    if (j && e->refund_deadline_ms)
        json_object_set_new(j, "refund_deadline", json_integer(e->refund_deadline_ms));
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    return s;
}

int64_t bo__refund_deadline_ms(const bo_event_info_t *e)
{
    return e->refund_deadline_ms ? e->refund_deadline_ms : e->starts_at_ms - 24 * 3600 * 1000LL;
}

static const char *meta_str(json_t *meta, const char *key)
{
    const char *s = json_string_value(json_object_get(meta, key));
    return s ? s : "";
}

static int64_t meta_int(json_t *meta, const char *key)
{
    return (int64_t)json_integer_value(json_object_get(meta, key));
}

static struct cat_event *event_parse(uint64_t id, uint64_t venue, const char *meta_json)
{
    json_t *meta = json_loads(meta_json ? meta_json : "{}", 0, NULL);
    struct cat_event *e = calloc(1, sizeof(*e));
    if (!e || !json_is_object(meta)) {
        json_decref(meta);
        free(e);
        return NULL;
    }
    bo_event_info_t *i = &e->info;
    i->id = id;
    i->venue = venue;
    copy_str(i->name, meta_str(meta, "name"), sizeof(i->name));
    copy_str(i->currency, meta_str(meta, "currency"), sizeof(i->currency));
    i->starts_at_ms = meta_int(meta, "starts_at");
    i->on_sale_at_ms = meta_int(meta, "on_sale_at");
    i->created_ms = meta_int(meta, "created_at");
    i->refund_deadline_ms = meta_int(meta, "refund_deadline");
    i->cancelled = json_is_true(json_object_get(meta, "cancelled"));
    e->description = strdup(meta_str(meta, "description"));
    e->name_lc = malloc(strlen(i->name) + 1);
    json_decref(meta);
    if (!e->description || !e->name_lc) {
        free(e->description);
        free(e->name_lc);
        free(e);
        return NULL;
    }
    lower_ascii(e->name_lc, i->name, strlen(i->name) + 1);
    return e;
}

static void event_free(struct cat_event *e)
{
    if (e) {
        free(e->name_lc);
        free(e->description);
    }
    free(e);
}

/* ---- the sorted order ------------------------------------------------------- */

static int pos_cmp(int64_t t1, uint64_t id1, int64_t t2, uint64_t id2)
{
    if (t1 != t2)
        return t1 < t2 ? -1 : 1;
    return id1 < id2 ? -1 : id1 > id2;
}

/* The first index whose (starts_at, id) is > (t, id) (after = 1) or >= it. */
static size_t order_find(const struct bo_catalog *c, int64_t t, uint64_t id, int after)
{
    size_t lo = 0, hi = c->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const bo_event_info_t *m = &c->order[mid]->info;
        int cmp = pos_cmp(m->starts_at_ms, m->id, t, id);
        if (cmp < 0 || (after && cmp == 0))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static void order_remove(struct bo_catalog *c, const struct cat_event *e)
{
    size_t i = order_find(c, e->info.starts_at_ms, e->info.id, 0);
    if (i < c->n && c->order[i] == e) {
        memmove(&c->order[i], &c->order[i + 1], (c->n - i - 1) * sizeof(c->order[0]));
        c->n--;
    }
}

/* Room for one more entry in the order. */
static int order_reserve(struct bo_catalog *c)
{
    struct cat_event **grown = bo_array_grow(c->order, &c->cap, c->n + 1, sizeof(*grown), 64, 0);
    if (!grown)
        return BO_ENOMEM;
    c->order = grown;
    return 0;
}

/* After order_reserve. */
static void order_insert(struct bo_catalog *c, struct cat_event *e)
{
    size_t i = order_find(c, e->info.starts_at_ms, e->info.id, 0);
    memmove(&c->order[i + 1], &c->order[i], (c->n - i) * sizeof(c->order[0]));
    c->order[i] = e;
    c->n++;
}

/* ---- reads and writes ----------------------------------------------------------- */

int bo__catalog_put_event(bo_api_t *api, uint64_t id, uint64_t venue, const char *meta_json)
{
    struct bo_catalog *c = api->catalog;
    struct cat_event *e = event_parse(id, venue, meta_json);
    if (!e)
        return BO_EINVAL;
    e->info.live = bo_live_find(api->live, id);
    pthread_rwlock_wrlock(&c->mu);
    struct cat_event *old = bo_u64map_get(&c->events, id);
    int rc = order_reserve(c);
    if (rc == 0 && (rc = bo_u64map_put(&c->events, id, e)) == 0) {
        if (old)
            order_remove(c, old);
        order_insert(c, e);
    }
    pthread_rwlock_unlock(&c->mu);
    event_free(rc ? e : old);
    return rc;
}

int bo__catalog_put_venue(bo_api_t *api, uint64_t id, const char *meta_json)
{
    struct bo_catalog *c = api->catalog;
    const bo_layout_t *l = bo_live_venue(api->live, id);
    json_t *meta = json_loads(meta_json ? meta_json : "{}", 0, NULL);
    struct cat_venue *v = calloc(1, sizeof(*v));
    int rc = !l || !json_is_object(meta) ? BO_EINVAL : v ? 0 : BO_ENOMEM;
    if (rc == 0) {
        json_t *city = json_object_get(meta, "city");
        v->info.id = id;
        copy_str(v->info.name, bo_layout_str(l, l->name), sizeof(v->info.name));
        copy_str(v->info.city, json_string_value(city), sizeof(v->info.city));
        copy_str(v->info.address, meta_str(meta, "address"), sizeof(v->info.address));
        v->info.has_city = json_is_string(city);
        lower_ascii(v->city_lc, v->info.city, sizeof(v->city_lc));
        pthread_rwlock_wrlock(&c->mu);
        struct cat_venue *old = bo_u64map_get(&c->venues, id);
        if ((rc = bo_u64map_put(&c->venues, id, v)) == 0)
            v = old;
        pthread_rwlock_unlock(&c->mu);
    }
    json_decref(meta);
    free(v);
    return rc;
}

int bo__catalog_event(bo_api_t *api, uint64_t id, bo_event_info_t *out)
{
    struct bo_catalog *c = api->catalog;
    pthread_rwlock_rdlock(&c->mu);
    struct cat_event *e = bo_u64map_get(&c->events, id);
    if (e)
        *out = e->info;
    pthread_rwlock_unlock(&c->mu);
    if (!e)
        return BO_ENOTFOUND;
    out->status = bo__event_status(out, bo__api_now_ms(), 1);
    return 0;
}

char *bo__catalog_description(bo_api_t *api, uint64_t id)
{
    struct bo_catalog *c = api->catalog;
    pthread_rwlock_rdlock(&c->mu);
    struct cat_event *e = bo_u64map_get(&c->events, id);
    char *d = e ? strdup(e->description) : NULL;
    pthread_rwlock_unlock(&c->mu);
    return d;
}

int bo__catalog_venue(bo_api_t *api, uint64_t id, bo_venue_info_t *out)
{
    struct bo_catalog *c = api->catalog;
    pthread_rwlock_rdlock(&c->mu);
    struct cat_venue *v = bo_u64map_get(&c->venues, id);
    if (v)
        *out = v->info;
    pthread_rwlock_unlock(&c->mu);
    return v ? 0 : BO_ENOTFOUND;
}

/* ---- cursors ------------------------------------------------------------------ */

#define CURSOR_VERSION 1
#define CURSOR_RAW     21 /* version, starts_at, id, 4 bytes of check */

static const uint8_t cursor_key[crypto_generichash_KEYBYTES] = "boxoffice events list cursor v1";

static void cursor_check(const uint8_t raw[17], uint8_t out[4])
{
    crypto_generichash(out, 4, raw, 17, cursor_key, sizeof(cursor_key));
}

void bo__cursor_encode(int64_t starts_at_ms, uint64_t event, char out[BO_CURSOR_LEN + 1])
{
    uint8_t raw[CURSOR_RAW];
    uint64_t t = (uint64_t)starts_at_ms;
    raw[0] = CURSOR_VERSION;
    for (int i = 0; i < 8; i++) {
        raw[1 + i] = (uint8_t)(t >> (56 - 8 * i));
        raw[9 + i] = (uint8_t)(event >> (56 - 8 * i));
    }
    cursor_check(raw, raw + 17);
    sodium_bin2base64(out, BO_CURSOR_LEN + 1, raw, sizeof(raw),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

/* Whether s[0..len) is all URL-safe base64. libsodium's decoder compares
 * bytes as signed chars: a byte past 0x7f can read as a letter, so a
 * cursor would have more spellings than the one the server wrote. */
static bool base64url(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return false;
    }
    return true;
}

int bo__cursor_decode(const char *s, size_t len, int64_t *starts_at_ms, uint64_t *event)
{
    uint8_t raw[CURSOR_RAW], check[4];
    size_t n = 0;
    const char *end = NULL;
    if (!s || len != BO_CURSOR_LEN || !base64url(s, len) ||
        sodium_base642bin(raw, sizeof(raw), s, len, NULL, &n, &end,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
        n != sizeof(raw) || end != s + len || raw[0] != CURSOR_VERSION)
        return BO_EINVAL;
    cursor_check(raw, check);
    if (sodium_memcmp(check, raw + 17, 4) != 0)
        return BO_EINVAL;
    uint64_t t = 0, id = 0;
    for (int i = 0; i < 8; i++) {
        t = t << 8 | raw[1 + i];
        id = id << 8 | raw[9 + i];
    }
    *starts_at_ms = (int64_t)t;
    *event = id;
    return 0;
}

/* ---- GET /api/v1/events -------------------------------------------------------- */

struct list_query {
    char q[BO_API_NAME_MAX + 1], city[BO_API_NAME_MAX + 1]; /* lower case; "" matches all */
    int64_t from_ms, to_ms;                                 /* [from, to) */
    bool has_cursor;
    int64_t cursor_ms;
    uint64_t cursor_id;
    unsigned limit;
};

struct list_item {
    bo_event_info_t info;
    bo_venue_info_t venue;
    uint64_t available, total;
};

static int refuse(bo_http_req_t *r, const char *field, const char *message)
{
    bo_http_send_error(r, BO_EINVAL, message, json_pack("{ss}", "field", field));
    return BO_EINVAL;
}

/* A text filter: at most BO_API_NAME_MAX bytes of UTF-8, kept lower-cased. */
static int text_param(bo_http_req_t *r, const char *name, char *out)
{
    size_t len;
    const char *v = bo_http_query(r, name, &len);
    out[0] = '\0';
    if (!v)
        return 0;
    if (len > BO_API_NAME_MAX || !utf8_ok(v, len)) {
        char msg[96];
        snprintf(msg, sizeof(msg), "%s must be UTF-8 text of at most %u bytes", name,
                 BO_API_NAME_MAX);
        return refuse(r, name, msg);
    }
    lower_ascii(out, v, BO_API_NAME_MAX + 1);
    return 0;
}

static int time_param(bo_http_req_t *r, const char *name, int64_t *out)
{
    size_t len;
    const char *v = bo_http_query(r, name, &len);
    if (v && bo_time_parse(v, len, out)) {
        char msg[96];
        snprintf(msg, sizeof(msg), "%s must be an RFC 3339 time such as 2026-12-05T19:30:00Z",
                 name);
        return refuse(r, name, msg);
    }
    return 0;
}

static int limit_param(bo_http_req_t *r, unsigned *limit)
{
    size_t len;
    const char *v = bo_http_query(r, "limit", &len);
    unsigned n = 0;
    *limit = LIST_DEFAULT_LIMIT;
    if (!v)
        return 0;
    for (size_t i = 0; i < len && len <= 3; i++)
        n = v[i] >= '0' && v[i] <= '9' ? n * 10 + (unsigned)(v[i] - '0') : 1000;
    if (len == 0 || len > 3 || n < 1 || n > LIST_MAX_LIMIT)
        return refuse(r, "limit", "limit must be an integer between 1 and 100");
    *limit = n;
    return 0;
}

/* Every parameter, or a 400 answered (nonzero). */
static int list_params(bo_http_req_t *r, struct list_query *q)
{
    size_t len;
    q->from_ms = INT64_MIN;
    q->to_ms = INT64_MAX;
    if (text_param(r, "q", q->q) || text_param(r, "city", q->city) ||
        time_param(r, "from", &q->from_ms) || time_param(r, "to", &q->to_ms) ||
        limit_param(r, &q->limit))
        return BO_EINVAL;
    if (q->from_ms > q->to_ms)
        return refuse(r, "from", "from must not be after to");
    const char *cur = bo_http_query(r, "cursor", &len);
    q->has_cursor = cur != NULL;
    if (cur &&
        (len > CURSOR_MAX_INPUT || bo__cursor_decode(cur, len, &q->cursor_ms, &q->cursor_id)))
        return refuse(r, "cursor", "cursor is not valid");
    return 0;
}

/* Up to max events matching q from its position on, copied under the read
 * lock. Returns how many. */
static size_t list_collect(struct bo_catalog *c, const struct list_query *q,
                           struct list_item *items, size_t max)
{
    size_t n = 0;
    pthread_rwlock_rdlock(&c->mu);
    size_t i = q->from_ms == INT64_MIN ? 0 : order_find(c, q->from_ms, 0, 0);
    if (q->has_cursor) {
        size_t after = order_find(c, q->cursor_ms, q->cursor_id, 1);
        i = after > i ? after : i;
    }
    for (; i < c->n && n < max; i++) {
        const struct cat_event *e = c->order[i];
        if (e->info.starts_at_ms >= q->to_ms)
            break;
        if (q->q[0] && !strstr(e->name_lc, q->q))
            continue;
        const struct cat_venue *v = bo_u64map_get(&c->venues, e->info.venue);
        if (q->city[0] && (!v || strcmp(v->city_lc, q->city) != 0))
            continue;
        items[n].info = e->info;
        if (v)
            items[n].venue = v->info;
        else
            memset(&items[n].venue, 0, sizeof(items[n].venue));
        items[n].venue.id = e->info.venue;
        n++;
    }
    pthread_rwlock_unlock(&c->mu);
    return n;
}

/* Seats and GA places: available and total. */
static int read_places(void *arg, const bo_inv_t *inv, int64_t now_ms)
{
    struct list_item *it = arg;
    const bo_layout_t *l = bo_inv_layout(inv);
    bo_inv_counts_t counts;
    bo_inv_counts(inv, now_ms, &counts);
    it->available = counts.available;
    it->total = counts.total;
    for (uint32_t a = 0; a < l->nga; a++) {
        it->available += bo_inv_ga_available(inv, a, now_ms);
        it->total += l->ga[a].capacity;
    }
    return 0;
}

static json_t *list_item_json(const struct list_item *it, int64_t now_ms)
{
    char id[BO_ID_EVENT_LEN + 1], vid[BO_ID_VENUE_LEN + 1], starts[BO_RFC3339_SIZE],
        on_sale[BO_RFC3339_SIZE];
    bo_id_event(id, it->info.id);
    bo_id_venue(vid, it->venue.id);
    bo_time_format(it->info.starts_at_ms, starts);
    bo_time_format(it->info.on_sale_at_ms, on_sale);
    enum bo_event_status st = bo__event_status(&it->info, now_ms, it->available);
    return json_pack("{s:s,s:s,s:{s:s,s:s,s:o},s:s,s:s,s:s,s:{s:I,s:I}}", "id", id, "name",
                     it->info.name, "venue", "id", vid, "name", it->venue.name, "city",
                     it->venue.has_city ? json_string(it->venue.city) : json_null(), "starts_at",
                     starts, "on_sale_at", on_sale, "status", bo__event_status_name(st),
                     "availability", "available", (json_int_t)it->available, "total",
                     (json_int_t)it->total);
}

static int on_list(void *arg, bo_http_req_t *r)
{
    bo_api_t *api = arg;
    struct list_query q;
    if (list_params(r, &q))
        return 0;
    struct list_item *items = malloc((q.limit + 1) * sizeof(*items));
    json_t *events = json_array(), *next = json_null();
    if (!items || !events) {
        free(items);
        json_decref(events);
        return BO_ENOMEM;
    }
    size_t n = list_collect(api->catalog, &q, items, q.limit + 1);
    if (n > q.limit) {
        char cursor[BO_CURSOR_LEN + 1];
        n = q.limit;
        bo__cursor_encode(items[n - 1].info.starts_at_ms, items[n - 1].info.id, cursor);
        next = json_string(cursor);
    }
    int64_t now = bo__api_now_ms();
    for (size_t i = 0; i < n; i++) {
        if (bo_live_read(api->live, items[i].info.id, read_places, &items[i]) != 0)
            items[i].available = items[i].total = 0;
        json_array_append_new(events, list_item_json(&items[i], now));
    }
    free(items);
    return bo_http_send_json(r, 200, json_pack("{s:o,s:o}", "events", events, "next_cursor", next));
}

/* ---- building and freeing ----------------------------------------------------- */

static void catalog_free(void *arg)
{
    struct bo_catalog *c = arg;
    for (size_t i = 0; i < c->n; i++)
        event_free(c->order[i]);
    for (size_t i = 0; c->venues.keys && i <= c->venues.mask; i++)
        if (c->venues.keys[i])
            free(c->venues.vals[i]);
    bo_u64map_free(&c->events);
    bo_u64map_free(&c->venues);
    free(c->order);
    pthread_rwlock_destroy(&c->mu);
    free(c);
}

struct id_list {
    uint64_t *ids;
    size_t n, cap;
};

static int collect_venue(void *arg, uint64_t venue, const bo_layout_t *layout)
{
    struct id_list *v = arg;
    uint64_t *grown = bo_array_grow(v->ids, &v->cap, v->n + 1, sizeof(*grown), 16, 0);
    if (!grown)
        return BO_ENOMEM;
    v->ids = grown;
    v->ids[v->n++] = venue;
    return 0;
}

/* An event whose meta does not parse is listed with empty fields rather
 * than keeping the server from starting. */
static int load_event(void *arg, uint64_t event, uint64_t venue, const char *meta_json,
                      const bo_inv_t *inv, int64_t now_ms)
{
    int rc = bo__catalog_put_event(arg, event, venue, meta_json);
    return rc == BO_EINVAL ? bo__catalog_put_event(arg, event, venue, "{}") : rc;
}

static int catalog_load(bo_api_t *api)
{
    struct id_list venues = {0};
    int rc = bo_live_each_venue(api->live, collect_venue, &venues);
    for (size_t i = 0; rc == 0 && i < venues.n; i++) {
        char *meta = bo_live_venue_meta(api->live, venues.ids[i]);
        rc = bo__catalog_put_venue(api, venues.ids[i], meta);
        if (rc == BO_EINVAL)
            rc = bo__catalog_put_venue(api, venues.ids[i], "{}");
        free(meta);
    }
    free(venues.ids);
    return rc ? rc : bo_live_each_event(api->live, load_event, api);
}

int bo__api_catalog_register(bo_api_t *api)
{
    struct bo_catalog *c = calloc(1, sizeof(*c));
    if (!c)
        return BO_ENOMEM;
    pthread_rwlock_init(&c->mu, NULL);
    int rc = bo_server_at_free(api->srv, catalog_free, c);
    if (rc) {
        catalog_free(c);
        return rc;
    }
    api->catalog = c;
    if ((rc = catalog_load(api)) != 0)
        return rc;
    return bo_server_route(api->srv, "GET", "/api/v1/events", on_list, api);
}
