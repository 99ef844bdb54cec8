/*
 * events_list.c - GET /api/v1/events: the catalog's events (src/catalog/),
 * searched by name and city, within [from, to), a page at a time; each
 * with its availability now. Parses the query, asks bo_catalog_list for
 * one more than the page (to know whether a next cursor is due), reads
 * each event's counts from the live layer and renders the page.
 *
 * Workload: browsing, thousands of events at most; a page costs a binary
 * search, a scan through the filters and one inventory read per event.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_internal.h"
#include "util/time.h"

#define LIST_DEFAULT_LIMIT 20
#define LIST_MAX_LIMIT     100
#define CURSOR_MAX_INPUT   512

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

/* ---- GET /api/v1/events -------------------------------------------------------- */

struct list_query {
    bo_catalog_query_t c;
    unsigned limit;
};

static int refuse(bo_http_req_t *r, const char *field, const char *message)
{
    bo_http_send_error(r, BO_EINVAL, message, json_pack("{ss}", "field", field));
    return BO_EINVAL;
}

/* A text filter: at most BO_CATALOG_NAME_MAX bytes of UTF-8, kept lower-cased. */
static int text_param(bo_http_req_t *r, const char *name, char *out)
{
    size_t len;
    const char *v = bo_http_query(r, name, &len);
    out[0] = '\0';
    if (!v)
        return 0;
    if (len > BO_CATALOG_NAME_MAX || !utf8_ok(v, len)) {
        char msg[96];
        snprintf(msg, sizeof(msg), "%s must be UTF-8 text of at most %u bytes", name,
                 BO_CATALOG_NAME_MAX);
        return refuse(r, name, msg);
    }
    bo_catalog_lower(out, v, BO_CATALOG_NAME_MAX + 1);
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
    bo_catalog_query_t *c = &q->c;
    c->from_ms = INT64_MIN;
    c->to_ms = INT64_MAX;
    if (text_param(r, "q", c->q) || text_param(r, "city", c->city) ||
        time_param(r, "from", &c->from_ms) || time_param(r, "to", &c->to_ms) ||
        limit_param(r, &q->limit))
        return BO_EINVAL;
    if (c->from_ms > c->to_ms)
        return refuse(r, "from", "from must not be after to");
    const char *cur = bo_http_query(r, "cursor", &len);
    c->has_cursor = cur != NULL;
    if (cur && (len > CURSOR_MAX_INPUT ||
                bo_catalog_cursor_decode(cur, len, &c->cursor_ms, &c->cursor_id)))
        return refuse(r, "cursor", "cursor is not valid");
    return 0;
}

/* Seats and GA places: available and total. */
static int read_places(void *arg, const bo_inv_t *inv, int64_t now_ms)
{
    bo_catalog_item_t *it = arg;
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

static json_t *list_item_json(const bo_catalog_item_t *it, int64_t now_ms)
{
    char id[BO_ID_EVENT_LEN + 1], vid[BO_ID_VENUE_LEN + 1], starts[BO_RFC3339_SIZE],
        on_sale[BO_RFC3339_SIZE];
    bo_id_event(id, it->info.id);
    bo_id_venue(vid, it->venue.id);
    bo_time_format(it->info.starts_at_ms, starts);
    bo_time_format(it->info.on_sale_at_ms, on_sale);
    enum bo_event_status st = bo_catalog_status(&it->info, now_ms, it->available);
    return json_pack("{s:s,s:s,s:{s:s,s:s,s:o},s:s,s:s,s:s,s:{s:I,s:I}}", "id", id, "name",
                     it->info.name, "venue", "id", vid, "name", it->venue.name, "city",
                     it->venue.has_city ? json_string(it->venue.city) : json_null(), "starts_at",
                     starts, "on_sale_at", on_sale, "status", bo_catalog_status_name(st),
                     "availability", "available", (json_int_t)it->available, "total",
                     (json_int_t)it->total);
}

static int on_list(void *arg, bo_http_req_t *r)
{
    bo_api_t *api = arg;
    struct list_query q;
    if (list_params(r, &q))
        return 0;
    bo_catalog_item_t *items = malloc((q.limit + 1) * sizeof(*items));
    json_t *events = json_array(), *next = json_null();
    if (!items || !events) {
        free(items);
        json_decref(events);
        return BO_ENOMEM;
    }
    size_t n = bo_catalog_list(api->catalog, &q.c, items, q.limit + 1);
    if (n > q.limit) {
        char cursor[BO_CATALOG_CURSOR_LEN + 1];
        n = q.limit;
        bo_catalog_cursor_encode(items[n - 1].info.starts_at_ms, items[n - 1].info.id, cursor);
        next = json_string(cursor);
    }
    int64_t now = bo_live_now_ms(api->live);
    for (size_t i = 0; i < n; i++) {
        if (bo_live_read(api->live, items[i].info.id, read_places, &items[i]) != 0)
            items[i].available = items[i].total = 0;
        json_array_append_new(events, list_item_json(&items[i], now));
    }
    free(items);
    return bo_http_send_json(r, 200, json_pack("{s:o,s:o}", "events", events, "next_cursor", next));
}

static void catalog_free(void *arg)
{
    bo_catalog_free(arg);
}

int bo__api_events_list_register(bo_api_t *api)
{
    bo_catalog_t *c;
    int rc = bo_catalog_open(api->live, &c);
    if (rc)
        return rc;
    if ((rc = bo_server_at_free(api->srv, catalog_free, c)) != 0) {
        bo_catalog_free(c);
        return rc;
    }
    api->catalog = c;
    return bo_server_route(api->srv, "GET", "/api/v1/events", on_list, api);
}
