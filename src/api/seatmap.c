/*
 * seatmap.c - GET /api/v1/events/{id}/seatmap: the venue's static layout
 * (sections, rows, seats with id, label, x, y, category; GA areas) and the
 * event's categories with their prices, with a strong ETag and
 * Cache-Control: public, max-age=60.
 *
 * Workload: every buyer fetches the seat map once per visit, thousands at
 * the start of an on-sale, and a 100,000-seat map is ~10 MB of JSON. So the
 * answer is rendered once per event (directly as text, no JSON tree) and
 * kept with its ETag; a request costs a price check (a few words copied
 * under the event's lock) and, unless If-None-Match says it has it, one
 * copy of the body, gzip-compressed once at render for the clients that
 * take it (a 100,000-seat map shrinks ~10x). A change of prices makes the
 * next request render again. The cache is bounded: past CACHE_MAX_BYTES it is emptied.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <zlib.h>

#include "api/api_internal.h"
#include "boxoffice/u64map.h"
#include "util/strbuf.h"

#define CACHE_MAX_BYTES (256u << 20)
#define CACHE_CONTROL   "public, max-age=60"

struct rendered {
    char *body;
    size_t len;
    char *gz; /* the same, gzip-compressed (NULL when that failed) */
    size_t gz_len;
    char etag[40];    /* "\"sm-<16 hex>\"" ("smc-" for columns) */
    char gz_etag[44]; /* "\"sm-<16 hex>-gz\"": another representation */
    uint32_t ncat;
    int64_t prices[BO_LAYOUT_MAX_CATEGORIES];
};

struct bo_seatmaps {
    pthread_mutex_t mu;
    bo_u64map_t events; /* event -> struct rendered */
    size_t bytes;
};

/* ---- rendering ---------------------------------------------------------------------------- */

/* body gzip-compressed (malloc'd; the caller frees it), or NULL. Seat maps
 * compress ~10:1, which is most of a big map's time to load in a browser. */
static char *gzip(const char *body, size_t len, size_t *out_len)
{
    z_stream z = {0};
    if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return NULL;
    size_t cap = deflateBound(&z, len);
    char *out = malloc(cap);
    z.next_in = (Bytef *)body;
    z.avail_in = (uInt)len;
    z.next_out = (Bytef *)out;
    z.avail_out = (uInt)cap;
    if (!out || len > UINT32_MAX || deflate(&z, Z_FINISH) != Z_STREAM_END) {
        free(out);
        out = NULL;
    } else {
        *out_len = z.total_out;
    }
    deflateEnd(&z);
    return out;
}

static void put_num(bo_buf_t *b, double v)
{
    bo_buf_printf(b, "%.7g", v);
}

static void put_seat(bo_buf_t *b, const bo_layout_t *l, const bo_seat_t *s, bool first)
{
    bo_buf_puts(b, first ? "{\"id\":" : ",{\"id\":");
    bo_buf_json_str(b, bo_layout_str(l, s->id));
    bo_buf_puts(b, ",\"label\":");
    bo_buf_json_str(b, bo_layout_str(l, s->number));
    bo_buf_puts(b, ",\"x\":");
    put_num(b, s->x);
    bo_buf_puts(b, ",\"y\":");
    put_num(b, s->y);
    bo_buf_puts(b, ",\"category\":");
    bo_buf_json_str(b, bo_layout_str(l, l->categories[s->category].key));
    bo_buf_puts(b, s->accessible ? ",\"accessible\":true}" : "}");
}

/* The sections and their rows: with their seats as objects, or (columns)
 * with only their seat count. */
static void put_sections(bo_buf_t *b, const bo_layout_t *l, bool columns)
{
    bo_buf_puts(b, columns ? ",\"format\":\"columns\",\"sections\":[" : ",\"sections\":[");
    for (uint32_t si = 0; si < l->nsections; si++) {
        const bo_section_t *sec = &l->sections[si];
        bo_buf_puts(b, si ? ",{\"id\":" : "{\"id\":");
        bo_buf_json_str(b, bo_layout_str(l, sec->id));
        bo_buf_puts(b, ",\"name\":");
        bo_buf_json_str(b, bo_layout_str(l, sec->name));
        bo_buf_puts(b, ",\"rows\":[");
        for (uint32_t ri = 0; ri < sec->nrows; ri++) {
            const bo_row_t *row = &l->rows[sec->first_row + ri];
            bo_buf_puts(b, ri ? ",{\"label\":" : "{\"label\":");
            bo_buf_json_str(b, bo_layout_str(l, row->label));
            if (columns) {
                bo_buf_printf(b, ",\"count\":%u}", row->nseats);
                continue;
            }
            bo_buf_puts(b, ",\"seats\":[");
            for (uint32_t k = 0; k < row->nseats; k++)
                put_seat(b, l, &l->seats[row->first_seat + k], k == 0);
            bo_buf_puts(b, "]}");
        }
        bo_buf_puts(b, "]}");
    }
    bo_buf_puts(b, "]");
}

/* ?format=columns: the same seats, one array per field in seat-map order
 * (sections' rows give only their label and seat count): a browser parses
 * a few flat arrays several times faster than 100,000 small objects. */
static void put_columns(bo_buf_t *b, const bo_layout_t *l)
{
    put_sections(b, l, true);
    /* rows are contiguous runs of the seat array, sections in order */
    bo_buf_puts(b, ",\"seats\":{\"id\":[");
    for (uint32_t i = 0; i < l->nseats; i++) {
        if (i)
            bo_buf_puts(b, ",");
        bo_buf_json_str(b, bo_layout_str(l, l->seats[i].id));
    }
    bo_buf_puts(b, "],\"label\":[");
    for (uint32_t i = 0; i < l->nseats; i++) {
        if (i)
            bo_buf_puts(b, ",");
        bo_buf_json_str(b, bo_layout_str(l, l->seats[i].number));
    }
    bo_buf_puts(b, "],\"x\":[");
    for (uint32_t i = 0; i < l->nseats; i++) {
        if (i)
            bo_buf_puts(b, ",");
        put_num(b, l->seats[i].x);
    }
    bo_buf_puts(b, "],\"y\":[");
    for (uint32_t i = 0; i < l->nseats; i++) {
        if (i)
            bo_buf_puts(b, ",");
        put_num(b, l->seats[i].y);
    }
    bo_buf_puts(b, "],\"category\":[");
    for (uint32_t i = 0; i < l->nseats; i++)
        bo_buf_printf(b, i ? ",%u" : "%u", l->seats[i].category);
    bo_buf_puts(b, "],\"accessible\":[");
    for (uint32_t i = 0, n = 0; i < l->nseats; i++)
        if (l->seats[i].accessible)
            bo_buf_printf(b, n++ ? ",%u" : "%u", i);
    bo_buf_puts(b, "]}");
}

static void put_ga_and_categories(bo_buf_t *b, const bo_layout_t *l, const int64_t *prices)
{
    bo_buf_puts(b, ",\"ga_areas\":[");
    for (uint32_t a = 0; a < l->nga; a++) {
        bo_buf_puts(b, a ? ",{\"id\":" : "{\"id\":");
        bo_buf_json_str(b, bo_layout_str(l, l->ga[a].id));
        bo_buf_puts(b, ",\"name\":");
        bo_buf_json_str(b, bo_layout_str(l, l->ga[a].name));
        bo_buf_printf(b, ",\"capacity\":%u,\"category\":", l->ga[a].capacity);
        bo_buf_json_str(b, bo_layout_str(l, l->categories[l->ga[a].category].key));
        bo_buf_puts(b, "}");
    }
    bo_buf_puts(b, "],\"categories\":[");
    for (uint32_t c = 0; c < l->ncategories; c++) {
        const bo_category_t *k = &l->categories[c];
        bo_buf_puts(b, c ? ",{\"key\":" : "{\"key\":");
        bo_buf_json_str(b, bo_layout_str(l, k->key));
        bo_buf_puts(b, ",\"name\":");
        bo_buf_json_str(b, bo_layout_str(l, k->name));
        bo_buf_puts(b, ",\"color\":");
        bo_buf_json_str(b, bo_layout_str(l, k->color));
        bo_buf_printf(b, ",\"price_cents\":%lld}", (long long)prices[c]);
    }
    bo_buf_puts(b, "]}");
}

/* The seat map of an event at l with these prices; NULL when out of memory. */
static struct rendered *render(uint64_t venue, const bo_layout_t *l, const int64_t *prices,
                               bool columns)
{
    char vid[BO_ID_VENUE_LEN + 1];
    uint8_t hash[8];
    char hex[2 * sizeof(hash) + 1];
    bo_buf_t b;
    struct rendered *out = calloc(1, sizeof(*out));
    if (!out)
        return NULL;
    bo_buf_init(&b, 256 + (size_t)l->nseats * 96);
    bo_id_venue(vid, venue);
    bo_buf_printf(&b, "{\"venue_id\":\"%s\",\"name\":", vid);
    bo_buf_json_str(&b, bo_layout_str(l, l->name));
    if (l->width > 0 && l->height > 0)
        bo_buf_printf(&b, ",\"size\":{\"width\":%.10g,\"height\":%.10g}", l->width, l->height);
    if (l->has_focal)
        bo_buf_printf(&b, ",\"focal_point\":{\"x\":%.10g,\"y\":%.10g}", l->focal_x, l->focal_y);
    if (columns)
        put_columns(&b, l);
    else
        put_sections(&b, l, false);
    put_ga_and_categories(&b, l, prices);
    if (!(out->body = bo_buf_take(&b, &out->len))) {
        free(out);
        return NULL;
    }
    crypto_generichash(hash, sizeof(hash), (const uint8_t *)out->body, out->len, NULL, 0);
    sodium_bin2hex(hex, sizeof(hex), hash, sizeof(hash));
    snprintf(out->etag, sizeof(out->etag), "\"sm%s-%s\"", columns ? "c" : "", hex);
    snprintf(out->gz_etag, sizeof(out->gz_etag), "\"sm%s-%s-gz\"", columns ? "c" : "", hex);
    out->gz = gzip(out->body, out->len, &out->gz_len);
    out->ncat = l->ncategories;
    memcpy(out->prices, prices, l->ncategories * sizeof(int64_t));
    return out;
}

static void rendered_free(struct rendered *m)
{
    if (m) {
        free(m->body);
        free(m->gz);
    }
    free(m);
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

/* ---- the cache ---------------------------------------------------------------------------- */

static void cache_clear(struct bo_seatmaps *c)
{
    for (size_t i = 0; c->events.keys && i <= c->events.mask; i++)
        if (c->events.keys[i])
            rendered_free(c->events.vals[i]);
    bo_u64map_free(&c->events);
    c->bytes = 0;
}

static void seatmaps_free(void *arg)
{
    struct bo_seatmaps *c = arg;
    cache_clear(c);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

/* Under c->mu: m becomes the event's map (the cache owns it). */
static void cache_put(struct bo_seatmaps *c, uint64_t event, struct rendered *m)
{
    struct rendered *old = bo_u64map_get(&c->events, event);
    if (old) {
        c->bytes -= old->len + old->gz_len;
        bo_u64map_del(&c->events, event);
        rendered_free(old);
    }
    if (c->bytes + m->len + m->gz_len > CACHE_MAX_BYTES)
        cache_clear(c);
    if (bo_u64map_put(&c->events, event, m) != 0) {
        rendered_free(m);
        return;
    }
    c->bytes += m->len + m->gz_len;
}

static int read_prices(void *arg, const bo_inv_t *inv, int64_t now_ms)
{
    const bo_inv_config_t *cfg = bo_inv_config(inv);
    memcpy(arg, cfg->price_cents, bo_inv_layout(inv)->ncategories * sizeof(int64_t));
    return 0;
}

/* A copy of m's body (malloc'd; gzip'd when gz) into *len when the client
 * lacks it; NULL with *not_modified set when If-None-Match has it (304
 * answered). */
static char *answer_copy(bo_http_req_t *r, const struct rendered *m, bool gz, size_t *len,
                         int *not_modified)
{
    gz = gz && m->gz;
    *not_modified = bo_http_not_modified(r, gz ? m->gz_etag : m->etag) == 1;
    if (*not_modified)
        return NULL;
    *len = gz ? m->gz_len : m->len;
    char *copy = malloc(*len + 1);
    if (copy)
        memcpy(copy, gz ? m->gz : m->body, *len);
    if (copy && gz)
        bo_http_set_header(r, "Content-Encoding", "gzip");
    return copy;
}

static int on_seatmap(void *arg, bo_http_req_t *r)
{
    bo_api_t *api = arg;
    struct bo_seatmaps *c = api->seatmaps;
    uint64_t event;
    bo_event_info_t e;
    int64_t prices[BO_LAYOUT_MAX_CATEGORIES];
    const bo_layout_t *l = NULL;
    if (bo_id_parse_event(bo_http_param(r, "id"), &event) || bo__catalog_event(api, event, &e) ||
        !(l = bo_live_venue(api->live, e.venue)) ||
        bo_live_read(api->live, event, read_prices, prices))
        return bo_http_send_error(r, BO_ENOTFOUND, "no such event",
                                  json_pack("{ss}", "id", bo_http_param(r, "id")));
    bo_http_set_header(r, "Cache-Control", CACHE_CONTROL);
    bo_http_set_header(r, "Vary", "Accept-Encoding");
    int not_modified = 0;
    size_t len = 0;
    char *body = NULL;
    bool gz = accepts_gzip(r);
    size_t flen;
    const char *format = bo_http_query(r, "format", &flen);
    bool columns = format && flen == 7 && !memcmp(format, "columns", 7);
    if (format && !columns && !(flen == 7 && !memcmp(format, "objects", 7)))
        return bo_http_send_error(r, BO_EINVAL, "format is objects (the default) or columns",
                                  json_pack("{ss}", "field", "format"));
    /* event ids are 63-bit: the top bit keys the columns form */
    uint64_t key = columns ? event | 1ull << 63 : event;
    pthread_mutex_lock(&c->mu);
    struct rendered *m = bo_u64map_get(&c->events, key);
    bool fresh = m && !memcmp(m->prices, prices, l->ncategories * sizeof(int64_t));
    if (fresh)
        body = answer_copy(r, m, gz, &len, &not_modified);
    pthread_mutex_unlock(&c->mu);
    if (not_modified)
        return 0;
    if (!fresh) {
        if (!(m = render(e.venue, l, prices, columns)))
            return BO_ENOMEM;
        body = answer_copy(r, m, gz, &len, &not_modified);
        pthread_mutex_lock(&c->mu);
        cache_put(c, key, m);
        pthread_mutex_unlock(&c->mu);
        if (not_modified)
            return 0;
    }
    if (!body)
        return BO_ENOMEM;
    return bo_http_send_buf(r, 200, "application/json", body, len);
}

int bo__api_seatmap_register(bo_api_t *api)
{
    struct bo_seatmaps *c = calloc(1, sizeof(*c));
    if (!c)
        return BO_ENOMEM;
    pthread_mutex_init(&c->mu, NULL);
    int rc = bo_server_at_free(api->srv, seatmaps_free, c);
    if (rc) {
        seatmaps_free(c);
        return rc;
    }
    api->seatmaps = c;
    return bo_server_route(api->srv, "GET", "/api/v1/events/{id}/seatmap", on_seatmap, api);
}
