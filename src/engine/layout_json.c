/*
 * layout_json.c - the one seat-map JSON writer: a layout written back in
 * the import format bo_layout_parse reads (bo_layout_to_json: every seat
 * with its "rank", numbers in their shortest form that reads back to the
 * same float or double), and the API's seat map (bo_layout_seatmap_json:
 * the venue's id, seat labels, the event's prices; or ?format=columns, the
 * same seats as flat arrays). Both share the element writers below, so the
 * two texts cannot drift apart in what they say about a seat.
 *
 * Workload: up to 200,000 seats (~10 MB of text for 100,000 in ~160 ms
 * with the API's gzip copy), on a venue import or on the API's render
 * thread: written straight into one util/strbuf.h buffer sized up front,
 * no JSON tree, numbers formatted without printf where they can be.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boxoffice/layout.h"
#include "util/strbuf.h"

/* Which text: the import format or the API's seat map (in rows or columns). */
enum style { IMPORT, SEATMAP, COLUMNS };

#define PUT_LIT(b, lit) bo_buf_put((b), (lit), sizeof(lit) - 1)

/* Decimal digits of v backwards from end; returns the start. */
static char *digits(char *end, unsigned long long v)
{
    do
        *--end = (char)('0' + v % 10);
    while (v /= 10);
    return end;
}

/* Fast path: v with at most one decimal ("12", "-3.5") when that reads back
 * to the same value (most coordinates). 0 when it does not apply. */
static size_t fmt_tenths(char t[40], double v, int single)
{
    double tenths = nearbyint(v * 10), back = tenths / 10; /* correctly rounded, like strtod */
    if (!(fabs(v) < 1e9) || (single ? (float)back != (float)v : back != v))
        return 0;
    unsigned long long n = (unsigned long long)fabs(tenths);
    char *end = t + 39, *s = end;
    if (n % 10)
        *--s = (char)('0' + n % 10), *--s = '.';
    s = digits(s, n / 10);
    if (tenths < 0)
        *--s = '-';
    memmove(t, s, (size_t)(end - s));
    return (size_t)(end - s);
}

/* The shortest decimal that reads back (through strtod, as jansson does) to
 * the same double, or to the same float when single. */
static void put_shortest(bo_buf_t *b, double v, int single)
{
    char t[40];
    size_t n = fmt_tenths(t, v, single);

    for (int prec = single ? 6 : 15; n == 0; prec++) {
        n = (size_t)snprintf(t, sizeof t, "%.*g", prec, v);
        double r = strtod(t, NULL);
        if (!(single ? (float)r == (float)v : r == v) && prec < (single ? 9 : 17))
            n = 0;
    }
    bo_buf_put(b, t, n);
}

/* A venue-wide number (size, focal point): exact in the import format,
 * ten digits in the seat map. */
static void put_venue_num(bo_buf_t *b, double v, enum style st)
{
    if (st == IMPORT)
        put_shortest(b, v, 0);
    else
        bo_buf_printf(b, "%.10g", v);
}

/* A seat coordinate (a float): exact in the import format, seven digits in
 * the seat map. */
static void put_coord(bo_buf_t *b, float v, enum style st)
{
    if (st == IMPORT)
        put_shortest(b, v, 1);
    else
        bo_buf_printf(b, "%.7g", v);
}

static void put_u32(bo_buf_t *b, uint32_t v)
{
    char t[16], *s = digits(t + sizeof t, v);
    bo_buf_put(b, s, (size_t)(t + sizeof t - s));
}

/* key then the arena string at off as a JSON string ("key" is the text
 * before it: ",\"name\":"). */
static void put_field(bo_buf_t *b, const bo_layout_t *l, const char *key, uint32_t off)
{
    bo_buf_puts(b, key);
    bo_buf_json_str(b, bo_layout_str(l, off));
}

/* From the opening brace to the focal point (the seat map first names its
 * venue). */
static void put_head(bo_buf_t *b, const bo_layout_t *l, const char *venue_id, enum style st)
{
    if (venue_id) {
        PUT_LIT(b, "{\"venue_id\":");
        bo_buf_json_str(b, venue_id);
        put_field(b, l, ",\"name\":", l->name);
    } else {
        put_field(b, l, "{\"name\":", l->name);
    }
    if (l->width > 0 && l->height > 0) {
        PUT_LIT(b, ",\"size\":{\"width\":");
        put_venue_num(b, l->width, st);
        PUT_LIT(b, ",\"height\":");
        put_venue_num(b, l->height, st);
        PUT_LIT(b, "}");
    }
    if (l->has_focal) {
        PUT_LIT(b, ",\"focal_point\":{\"x\":");
        put_venue_num(b, l->focal_x, st);
        PUT_LIT(b, ",\"y\":");
        put_venue_num(b, l->focal_y, st);
        PUT_LIT(b, "}");
    }
}

/* The categories; the seat map gives each its price. */
static void put_categories(bo_buf_t *b, const bo_layout_t *l, const int64_t *prices)
{
    PUT_LIT(b, ",\"categories\":[");
    for (uint32_t i = 0; i < l->ncategories; i++) {
        const bo_category_t *c = &l->categories[i];
        put_field(b, l, i ? ",{\"key\":" : "{\"key\":", c->key);
        put_field(b, l, ",\"name\":", c->name);
        put_field(b, l, ",\"color\":", c->color);
        if (prices)
            bo_buf_printf(b, ",\"price_cents\":%lld", (long long)prices[i]);
        PUT_LIT(b, "}");
    }
    PUT_LIT(b, "]");
}

/* One seat: its number is "number" in the import format (with its rank),
 * "label" in the seat map. */
static void put_seat(bo_buf_t *b, const bo_layout_t *l, const bo_seat_t *s, int first,
                     enum style st)
{
    put_field(b, l, first ? "{\"id\":" : ",{\"id\":", s->id);
    put_field(b, l, st == IMPORT ? ",\"number\":" : ",\"label\":", s->number);
    PUT_LIT(b, ",\"x\":");
    put_coord(b, s->x, st);
    PUT_LIT(b, ",\"y\":");
    put_coord(b, s->y, st);
    put_field(b, l, ",\"category\":", l->categories[s->category].key);
    if (s->accessible)
        PUT_LIT(b, ",\"accessible\":true");
    if (st == IMPORT) {
        PUT_LIT(b, ",\"rank\":");
        put_u32(b, s->rank);
    }
    PUT_LIT(b, "}");
}

/* The sections and their rows: with their seats as objects, or (columns)
 * with only their seat count. */
static void put_sections(bo_buf_t *b, const bo_layout_t *l, enum style st)
{
    bo_buf_puts(b, st == COLUMNS ? ",\"format\":\"columns\",\"sections\":[" : ",\"sections\":[");
    for (uint32_t i = 0; i < l->nsections && !b->failed; i++) {
        const bo_section_t *sec = &l->sections[i];
        put_field(b, l, i ? ",{\"id\":" : "{\"id\":", sec->id);
        put_field(b, l, ",\"name\":", sec->name);
        PUT_LIT(b, ",\"rows\":[");
        for (uint32_t r = sec->first_row; r < sec->first_row + sec->nrows; r++) {
            const bo_row_t *row = &l->rows[r];
            put_field(b, l, r > sec->first_row ? ",{\"label\":" : "{\"label\":", row->label);
            if (st == COLUMNS) {
                PUT_LIT(b, ",\"count\":");
                put_u32(b, row->nseats);
                PUT_LIT(b, "}");
                continue;
            }
            PUT_LIT(b, ",\"seats\":[");
            for (uint32_t s = 0; s < row->nseats; s++)
                put_seat(b, l, &l->seats[row->first_seat + s], s == 0, st);
            PUT_LIT(b, "]}");
        }
        PUT_LIT(b, "]}");
    }
    PUT_LIT(b, "]");
}

/* One column of every seat's id or (numbers) label. */
static void put_str_column(bo_buf_t *b, const bo_layout_t *l, const char *name, int numbers)
{
    bo_buf_puts(b, name);
    for (uint32_t i = 0; i < l->nseats; i++) {
        if (i)
            PUT_LIT(b, ",");
        bo_buf_json_str(b, bo_layout_str(l, numbers ? l->seats[i].number : l->seats[i].id));
    }
}

/* ?format=columns: the same seats, one array per field in seat-map order
 * (sections' rows give only their label and seat count): a browser parses
 * a few flat arrays several times faster than 100,000 small objects. */
static void put_columns(bo_buf_t *b, const bo_layout_t *l)
{
    put_sections(b, l, COLUMNS);
    /* rows are contiguous runs of the seat array, sections in order */
    put_str_column(b, l, ",\"seats\":{\"id\":[", 0);
    put_str_column(b, l, "],\"label\":[", 1);
    PUT_LIT(b, "],\"x\":[");
    for (uint32_t i = 0; i < l->nseats; i++) {
        if (i)
            PUT_LIT(b, ",");
        put_coord(b, l->seats[i].x, COLUMNS);
    }
    PUT_LIT(b, "],\"y\":[");
    for (uint32_t i = 0; i < l->nseats; i++) {
        if (i)
            PUT_LIT(b, ",");
        put_coord(b, l->seats[i].y, COLUMNS);
    }
    PUT_LIT(b, "],\"category\":[");
    for (uint32_t i = 0; i < l->nseats; i++)
        bo_buf_printf(b, i ? ",%u" : "%u", l->seats[i].category);
    PUT_LIT(b, "],\"accessible\":[");
    for (uint32_t i = 0, n = 0; i < l->nseats; i++)
        if (l->seats[i].accessible)
            bo_buf_printf(b, n++ ? ",%u" : "%u", i);
    PUT_LIT(b, "]}");
}

static void put_ga(bo_buf_t *b, const bo_layout_t *l)
{
    PUT_LIT(b, ",\"ga_areas\":[");
    for (uint32_t i = 0; i < l->nga; i++) {
        const bo_ga_area_t *g = &l->ga[i];
        put_field(b, l, i ? ",{\"id\":" : "{\"id\":", g->id);
        put_field(b, l, ",\"name\":", g->name);
        PUT_LIT(b, ",\"capacity\":");
        put_u32(b, g->capacity);
        put_field(b, l, ",\"category\":", l->categories[g->category].key);
        PUT_LIT(b, "}");
    }
    PUT_LIT(b, "]");
}

char *bo_layout_to_json(const bo_layout_t *l, size_t *len_out)
{
    bo_buf_t b;

    bo_buf_init(&b, 1024 + (size_t)l->nseats * 96 + (size_t)l->nrows * 32);
    put_head(&b, l, NULL, IMPORT);
    put_categories(&b, l, NULL);
    put_sections(&b, l, IMPORT);
    put_ga(&b, l);
    PUT_LIT(&b, "}");
    return bo_buf_take(&b, len_out);
}

char *bo_layout_seatmap_json(const bo_layout_t *l, const char *venue_id, const int64_t *prices,
                             int columns, size_t *len_out)
{
    bo_buf_t b;

    bo_buf_init(&b, 256 + (size_t)l->nseats * 96);
    put_head(&b, l, venue_id, columns ? COLUMNS : SEATMAP);
    if (columns)
        put_columns(&b, l);
    else
        put_sections(&b, l, SEATMAP);
    put_ga(&b, l);
    put_categories(&b, l, prices);
    PUT_LIT(&b, "}");
    return bo_buf_take(&b, len_out);
}
