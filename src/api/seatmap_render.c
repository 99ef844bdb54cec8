/*
 * seatmap_render.c - a seat map as JSON text: the venue's layout (sections,
 * rows, seats with id, label, x, y, category; or ?format=columns, the same
 * seats as flat arrays), its GA areas and the event's categories with their
 * prices; with its strong ETag and a gzip-compressed copy.
 *
 * Workload: a render per venue and prices (seatmap.c caches it), ~10 MB of
 * text for 100,000 seats in ~160 ms with its gzip copy, on seatmap.c's
 * render thread: written straight into a buffer, no JSON tree.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <zlib.h>

#include "api/api_internal.h"
#include "util/strbuf.h"

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

int bo__seatmap_render(uint64_t venue, const bo_layout_t *l, const int64_t *prices, bool columns,
                       bo__seatmap_body_t *out)
{
    char vid[BO_ID_VENUE_LEN + 1];
    uint8_t hash[8];
    char hex[2 * sizeof(hash) + 1];
    bo_buf_t b;

    memset(out, 0, sizeof(*out));
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
    if (!(out->body = bo_buf_take(&b, &out->len)))
        return BO_ENOMEM;
    crypto_generichash(hash, sizeof(hash), (const uint8_t *)out->body, out->len, NULL, 0);
    sodium_bin2hex(hex, sizeof(hex), hash, sizeof(hash));
    snprintf(out->etag, sizeof(out->etag), "\"sm%s-%s\"", columns ? "c" : "", hex);
    snprintf(out->gz_etag, sizeof(out->gz_etag), "\"sm%s-%s-gz\"", columns ? "c" : "", hex);
    out->gz = gzip(out->body, out->len, &out->gz_len);
    return 0;
}

void bo__seatmap_body_free(bo__seatmap_body_t *b)
{
    free(b->body);
    free(b->gz);
    memset(b, 0, sizeof(*b));
}
