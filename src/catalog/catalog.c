/*
 * catalog.c - events and venues as buyers browse them (boxoffice/
 * catalog.h): every event's meta (name, description, times, currency,
 * cancelled) and every venue's (name, city, address), parsed once into
 * memory, and the events list's order and cursors, which GET
 * /api/v1/events (src/api/events_list.c) searches and pages through.
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

#include "boxoffice/catalog.h"
#include "boxoffice/error.h"
#include "boxoffice/u64map.h"
#include "catalog/catalog_internal.h"
#include "util/array.h"

struct cat_event {
    bo_event_info_t info; /* status unused here: computed per read */
    char *name_lc;        /* ASCII lower case, for q */
    char *description;
};

struct cat_venue {
    bo_venue_info_t info;
    char city_lc[BO_CATALOG_NAME_MAX + 1];
};

struct bo_catalog {
    bo_live_t *live;
    pthread_rwlock_t mu;
    bo_u64map_t events, venues;
    struct cat_event **order; /* sorted by (starts_at, id) */
    size_t n, cap;
};

/* ---- small helpers ---------------------------------------------------------- */

void bo_catalog_lower(char *dst, const char *src, size_t cap)
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

/* ---- statuses --------------------------------------------------------------- */

enum bo_event_status bo_catalog_status(const bo_event_info_t *e, int64_t now_ms, uint64_t available)
{
    if (e->cancelled)
        return BO_EVENT_CANCELLED;
    if (now_ms >= e->starts_at_ms)
        return BO_EVENT_ENDED;
    if (now_ms < e->on_sale_at_ms)
        return BO_EVENT_SCHEDULED;
    return available == 0 ? BO_EVENT_SOLD_OUT : BO_EVENT_ON_SALE;
}

const char *bo_catalog_status_name(enum bo_event_status s)
{
    static const char *const names[] = {"scheduled", "on_sale", "sold_out", "cancelled", "ended"};
    return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "scheduled";
}

/* ---- meta JSON ---------------------------------------------------------------- */

char *bo_catalog_meta_json(const bo_event_info_t *e, const char *description)
{
    json_t *j = json_pack("{s:s,s:s,s:I,s:I,s:s,s:b,s:I}", "name", e->name, "description",
                          description ? description : "", "starts_at", (json_int_t)e->starts_at_ms,
                          "on_sale_at", (json_int_t)e->on_sale_at_ms, "currency", e->currency,
                          "cancelled", e->cancelled, "created_at", (json_int_t)e->created_ms);
    if (j && e->refund_deadline_ms)
        json_object_set_new(j, "refund_deadline", json_integer(e->refund_deadline_ms));
    const bo_queue_config_t *w = &e->waiting_room;
    if (j && w->enabled)
        json_object_set_new(
            j, "waiting_room",
            json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:b}", "prequeue_opens_at",
                      (json_int_t)w->prequeue_opens_at_ms, "onsale_at", (json_int_t)w->onsale_at_ms,
                      "admit_per_min", (json_int_t)w->admit_per_min, "max_active",
                      (json_int_t)w->max_active, "pass_ttl_s", (json_int_t)w->pass_ttl_s,
                      "pow_difficulty", (json_int_t)w->pow_difficulty, "paused", w->paused));
    json_t *limits = j && e->limits_set ? json_object() : NULL;
    for (int i = 0; limits && i < BO_LIMITS; i++)
        if (e->limits_set >> i & 1)
            json_object_set_new(limits, bo_limit_name((enum bo_limit)i),
                                json_integer(e->limits.v[i]));
    if (limits && json_object_set_new(j, "limits", limits)) {
        json_decref(j);
        return NULL;
    }
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    return s;
}

int64_t bo_catalog_refund_deadline_ms(const bo_event_info_t *e)
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

/* The limits set for the event (written by bo_catalog_meta_json). */
static void meta_limits(json_t *limits, bo_event_info_t *i)
{
    const char *key;
    json_t *v;
    json_object_foreach(limits, key, v)
    {
        enum bo_limit which = bo_limit_find(key, strlen(key));
        json_int_t n = json_integer_value(v);
        if (which == BO_LIMITS || !json_is_integer(v) || n < 0 || n > BO_LIMIT_MAX)
            continue; /* never written so: ignored */
        i->limits.v[which] = (uint32_t)n;
        i->limits_set |= 1u << which;
    }
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
    json_t *w = json_object_get(meta, "waiting_room");
    if (json_is_object(w)) {
        bo_queue_config_t *q = &i->waiting_room;
        q->enabled = true;
        q->prequeue_opens_at_ms = meta_int(w, "prequeue_opens_at");
        q->onsale_at_ms = meta_int(w, "onsale_at");
        q->admit_per_min = (uint32_t)meta_int(w, "admit_per_min");
        q->max_active = (uint32_t)meta_int(w, "max_active");
        q->pass_ttl_s = (uint32_t)meta_int(w, "pass_ttl_s");
        q->pow_difficulty = (uint32_t)meta_int(w, "pow_difficulty");
        q->paused = json_is_true(json_object_get(w, "paused"));
        q->enabled = q->admit_per_min > 0 && q->max_active > 0 && q->pass_ttl_s > 0;
    }
    meta_limits(json_object_get(meta, "limits"), i);
    e->description = strdup(meta_str(meta, "description"));
    e->name_lc = malloc(strlen(i->name) + 1);
    json_decref(meta);
    if (!e->description || !e->name_lc) {
        free(e->description);
        free(e->name_lc);
        free(e);
        return NULL;
    }
    bo_catalog_lower(e->name_lc, i->name, strlen(i->name) + 1);
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

int bo_catalog_put_event(bo_catalog_t *c, uint64_t id, uint64_t venue, const char *meta_json)
{
    struct cat_event *e = event_parse(id, venue, meta_json);
    if (!e)
        return BO_EINVAL;
    e->info.live = bo_live_find(c->live, id);
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

int bo_catalog_put_venue(bo_catalog_t *c, uint64_t id, const char *meta_json)
{
    const bo_layout_t *l = bo_live_venue(c->live, id);
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
        bo_catalog_lower(v->city_lc, v->info.city, sizeof(v->city_lc));
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

int bo_catalog_event(bo_catalog_t *c, uint64_t id, bo_event_info_t *out)
{
    pthread_rwlock_rdlock(&c->mu);
    struct cat_event *e = bo_u64map_get(&c->events, id);
    if (e)
        *out = e->info;
    pthread_rwlock_unlock(&c->mu);
    if (!e)
        return BO_ENOTFOUND;
    out->status = bo_catalog_status(out, bo_live_now_ms(c->live), 1);
    return 0;
}

char *bo_catalog_description(bo_catalog_t *c, uint64_t id)
{
    pthread_rwlock_rdlock(&c->mu);
    struct cat_event *e = bo_u64map_get(&c->events, id);
    char *d = e ? strdup(e->description) : NULL;
    pthread_rwlock_unlock(&c->mu);
    return d;
}

int bo_catalog_venue(bo_catalog_t *c, uint64_t id, bo_venue_info_t *out)
{
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

void bo_catalog_cursor_encode(int64_t starts_at_ms, uint64_t event,
                              char out[BO_CATALOG_CURSOR_LEN + 1])
{
    uint8_t raw[CURSOR_RAW];
    uint64_t t = (uint64_t)starts_at_ms;
    raw[0] = CURSOR_VERSION;
    for (int i = 0; i < 8; i++) {
        raw[1 + i] = (uint8_t)(t >> (56 - 8 * i));
        raw[9 + i] = (uint8_t)(event >> (56 - 8 * i));
    }
    cursor_check(raw, raw + 17);
    sodium_bin2base64(out, BO_CATALOG_CURSOR_LEN + 1, raw, sizeof(raw),
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

int bo_catalog_cursor_decode(const char *s, size_t len, int64_t *starts_at_ms, uint64_t *event)
{
    uint8_t raw[CURSOR_RAW], check[4];
    size_t n = 0;
    const char *end = NULL;
    if (!s || len != BO_CATALOG_CURSOR_LEN || !base64url(s, len) ||
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

/* ---- the list ---------------------------------------------------------------- */

size_t bo_catalog_list(bo_catalog_t *c, const bo_catalog_query_t *q, bo_catalog_item_t *items,
                       size_t max)
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

/* ---- building and freeing ----------------------------------------------------- */

void bo_catalog_free(bo_catalog_t *c)
{
    if (!c)
        return;
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
    int rc = bo_catalog_put_event(arg, event, venue, meta_json);
    return rc == BO_EINVAL ? bo_catalog_put_event(arg, event, venue, "{}") : rc;
}

static int catalog_load(bo_catalog_t *c)
{
    struct id_list venues = {0};
    int rc = bo_live_each_venue(c->live, collect_venue, &venues);
    for (size_t i = 0; rc == 0 && i < venues.n; i++) {
        char *meta = bo_live_venue_meta(c->live, venues.ids[i]);
        rc = bo_catalog_put_venue(c, venues.ids[i], meta);
        if (rc == BO_EINVAL)
            rc = bo_catalog_put_venue(c, venues.ids[i], "{}");
        free(meta);
    }
    free(venues.ids);
    return rc ? rc : bo_live_each_event(c->live, load_event, c);
}

bo_live_t *bo__catalog_live(bo_catalog_t *c)
{
    return c->live;
}

int bo_catalog_open(bo_live_t *live, bo_catalog_t **out)
{
    bo_catalog_t *c = calloc(1, sizeof(*c));
    *out = NULL;
    if (!c)
        return BO_ENOMEM;
    c->live = live;
    pthread_rwlock_init(&c->mu, NULL);
    int rc = catalog_load(c);
    if (rc) {
        bo_catalog_free(c);
        return rc;
    }
    *out = c;
    return 0;
}
