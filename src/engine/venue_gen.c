/*
 * venue_gen.c - synthetic seat maps for the demo, tests and benchmarks: a
 * horseshoe of sections around a floor, open towards a stage at the top
 * (the focal point), rows curving around the centre at a constant seat
 * pitch, price categories in bands of distance to the stage, optional GA
 * floor areas.
 *
 * Workload: called by --demo, the test suites and the benchmarks for venues
 * up to the layout bounds (200,000 seats, ~16 MB of JSON), so the text is
 * written straight into one util/strbuf.h buffer, no JSON tree: two passes over
 * the seats (bounds and distance bands, then output).
 *
 * Geometry, in venue units (a seat is ~10 wide, a row ~14 deep, y grows
 * downwards): sections share an arc of up to 300 degrees centred on the
 * bottom (36 degrees each at most, so small venues form a fan); the
 * innermost radius is chosen so that a row fills ~85% of its section's
 * sector. Everything is then shifted to positive coordinates, and scaled
 * down if it would not fit the layout's coordinate bound.
 */
#include "boxoffice/layout.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/strbuf.h"

#define PI           3.14159265358979323846
#define SEAT_PITCH   10.0
#define ROW_PITCH    14.0
#define MIN_RADIUS   200.0 /* the floor inside the horseshoe */
#define MAX_SPAN     (300.0 * PI / 180.0)
#define SECTOR_MAX   (36.0 * PI / 180.0)
#define ROW_FILL     0.85
#define MARGIN       50.0
#define MAX_EXTENT   900000.0 /* of the venue, within BO_LAYOUT_MAX_COORD */
#define MAX_GEN_CATS 8u

static const char *const cat_names[MAX_GEN_CATS] = {
    "Premium", "Gold", "Silver", "Bronze", "Standard", "Economy", "Value", "Restricted View"};
static const char *const palette[MAX_GEN_CATS + 1] = {"#c0392b", "#d35400", "#f39c12",
                                                      "#27ae60", "#16a085", "#2980b9",
                                                      "#8e44ad", "#7f8c8d", "#2c3e50" /* GA */};

struct geom {
    uint32_t sections, rows, seats, aisle_every, ncats;
    double r0, start, sector, slots; /* slots: row width in seat pitches, centre to centre */
    double stage_x, stage_y;         /* relative to the horseshoe centre */
    double dmin, dmax;               /* seat distances to the stage */
    double scale, dx, dy;            /* final position = raw * scale + d */
    double width, height;
};

/* Length of the valid UTF-8 sequence at s (1..4), 0 when invalid. */
static int utf8_len(const unsigned char *s)
{
    if (s[0] < 0x80)
        return 1;
    int n = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 ? 2 : 0;
    if (n == 0 || s[0] > 0xf4)
        return 0;
    for (int i = 1; i < n; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] > 0x9f) ||
        (s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] > 0x8f))
        return 0; /* overlong, surrogate, past U+10FFFF */
    return n;
}

/* A name the layout accepts: 1..BO_LAYOUT_MAX_NAME bytes of UTF-8 without
 * control characters. */
static int name_ok(const char *name)
{
    size_t len = strlen(name);
    const unsigned char *s = (const unsigned char *)name;

    if (len == 0 || len > BO_LAYOUT_MAX_NAME)
        return 0;
    for (size_t i = 0; i < len;) {
        int n = utf8_len(s + i);
        if (n == 0 || s[i] < 0x20 || s[i] == 0x7f || (s[i] == 0xc2 && s[i + 1] <= 0x9f))
            return 0;
        i += (size_t)n;
    }
    return 1;
}

static int params_ok(const bo_venue_gen_t *g, const char *name)
{
    uint64_t rows = (uint64_t)g->sections * g->rows;

    if (g->categories < 1 || g->categories > MAX_GEN_CATS || !name_ok(name))
        return 0;
    if (g->sections > BO_LAYOUT_MAX_SECTIONS || g->ga_areas > BO_LAYOUT_MAX_GA_AREAS)
        return 0;
    if (g->sections == 0 && g->ga_areas == 0)
        return 0;
    if (g->sections && (g->rows == 0 || g->seats == 0 || g->seats > BO_LAYOUT_MAX_ROW_SEATS ||
                        rows > BO_LAYOUT_MAX_ROWS || rows * g->seats > BO_LAYOUT_MAX_SEATS))
        return 0;
    if (g->ga_areas && (g->ga_capacity == 0 || g->ga_capacity > BO_LAYOUT_MAX_GA_CAPACITY))
        return 0;
    return 1;
}

/* Raw position of a seat, relative to the horseshoe centre. */
static void seat_xy(const struct geom *g, uint32_t sec, uint32_t row, uint32_t seat, double *x,
                    double *y)
{
    double r = g->r0 + row * ROW_PITCH;
    double gaps = g->aisle_every ? (double)(seat / g->aisle_every) : 0;
    double arc = (seat + gaps - g->slots / 2) * SEAT_PITCH; /* from the section's middle */
    double a = g->start + (sec + 0.5) * g->sector + arc / r;

    *x = r * cos(a);
    *y = r * sin(a);
}

static void grow_box(double box[4], double x, double y)
{
    box[0] = fmin(box[0], x);
    box[1] = fmin(box[1], y);
    box[2] = fmax(box[2], x);
    box[3] = fmax(box[3], y);
}

/* Choose the radii and angles, then one pass for the bounding box and the
 * range of distances to the stage. */
static void plan(struct geom *g, const bo_venue_gen_t *p)
{
    double span = fmin(MAX_SPAN, p->sections * SECTOR_MAX), box[4];
    uint32_t gaps = p->aisle_every && p->seats ? (p->seats - 1) / p->aisle_every : 0;

    *g = (struct geom){.sections = p->sections,
                       .rows = p->rows,
                       .seats = p->seats,
                       .aisle_every = p->aisle_every,
                       .ncats = p->categories};
    g->sector = p->sections ? span / p->sections : 0;
    g->start = PI / 2 - span / 2;
    g->slots = (double)p->seats - 1 + gaps;
    g->r0 = p->sections ? fmax(MIN_RADIUS, (g->slots + 1) * SEAT_PITCH / (ROW_FILL * g->sector))
                        : MIN_RADIUS;
    g->stage_y = -0.6 * g->r0 * span / MAX_SPAN;
    g->dmin = INFINITY;
    g->dmax = 0;
    box[0] = box[2] = g->stage_x;
    box[1] = box[3] = g->stage_y;
    for (uint32_t s = 0; s < g->sections; s++)
        for (uint32_t r = 0; r < g->rows; r++)
            for (uint32_t k = 0; k < g->seats; k++) {
                double x, y;
                seat_xy(g, s, r, k, &x, &y);
                grow_box(box, x, y);
                double d = hypot(x - g->stage_x, y - g->stage_y);
                g->dmin = fmin(g->dmin, d);
                g->dmax = fmax(g->dmax, d);
            }
    double w = box[2] - box[0], h = box[3] - box[1], limit = MAX_EXTENT - 2 * MARGIN;
    g->scale = fmax(w, h) > limit ? limit / fmax(w, h) : 1.0;
    g->dx = MARGIN - box[0] * g->scale;
    g->dy = MARGIN - box[1] * g->scale;
    g->width = fmax(4 * MARGIN, w * g->scale + 2 * MARGIN);
    g->height = fmax(4 * MARGIN, h * g->scale + 2 * MARGIN);
}

/* Price band of a seat at distance d from the stage: 1 (closest) .. ncats. */
static uint32_t band(const struct geom *g, double d)
{
    double span = g->dmax - g->dmin;
    uint32_t b = span > 0 ? (uint32_t)((d - g->dmin) / span * g->ncats) : 0;
    return (b < g->ncats ? b : g->ncats - 1) + 1;
}

/* "A".."Z", "AA".."AZ", "BA".. (bijective base 26). */
static void row_label(uint32_t i, char out[8])
{
    char tmp[8];
    int n = 0;

    for (uint64_t v = (uint64_t)i + 1; v > 0 && n < 7; v = (v - 1) / 26)
        tmp[n++] = (char)('A' + (v - 1) % 26);
    for (int k = 0; k < n; k++)
        out[k] = tmp[n - 1 - k];
    out[n] = '\0';
}

static void write_head(bo_buf_t *o, const struct geom *g, const bo_venue_gen_t *p, const char *name)
{
    bo_buf_printf(o, "{\"name\":\"");
    for (const char *c = name; *c; c++)
        bo_buf_printf(o, *c == '"' || *c == '\\' ? "\\%c" : "%c", *c);
    bo_buf_printf(o, "\",\"size\":{\"width\":%.1f,\"height\":%.1f}", g->width, g->height);
    bo_buf_printf(o, ",\"focal_point\":{\"x\":%.1f,\"y\":%.1f}", g->stage_x * g->scale + g->dx,
                  g->stage_y * g->scale + g->dy);
    bo_buf_printf(o, ",\"categories\":[");
    for (uint32_t c = 0; c < p->categories; c++)
        bo_buf_printf(o, "%s{\"key\":\"P%u\",\"name\":\"%s\",\"color\":\"%s\"}", c ? "," : "",
                      c + 1, cat_names[c], palette[c]);
    if (p->ga_areas)
        bo_buf_printf(o, ",{\"key\":\"GA\",\"name\":\"General Admission\",\"color\":\"%s\"}",
                      palette[MAX_GEN_CATS]);
    bo_buf_printf(o, "]");
}

static void write_row(bo_buf_t *o, const struct geom *g, uint32_t s, uint32_t r)
{
    char label[8];

    row_label(r, label);
    bo_buf_printf(o, "%s{\"label\":\"%s\",\"seats\":[", r ? "," : "", label);
    for (uint32_t k = 0; k < g->seats && !o->failed; k++) {
        double x, y;
        seat_xy(g, s, r, k, &x, &y);
        uint32_t cat = band(g, hypot(x - g->stage_x, y - g->stage_y));
        /* The last row's end seats are the wheelchair places. */
        int acc = r == g->rows - 1 && (k == 0 || k == g->seats - 1);
        bo_buf_printf(o,
                      "%s{\"id\":\"S%u-%s-%u\",\"number\":\"%u\",\"x\":%.1f,\"y\":%.1f,"
                      "\"category\":\"P%u\"%s}",
                      k ? "," : "", s + 1, label, k + 1, k + 1, x * g->scale + g->dx,
                      y * g->scale + g->dy, cat, acc ? ",\"accessible\":true" : "");
    }
    bo_buf_printf(o, "]}");
}

static void write_body(bo_buf_t *o, const struct geom *g, const bo_venue_gen_t *p)
{
    bo_buf_printf(o, ",\"sections\":[");
    for (uint32_t s = 0; s < g->sections && !o->failed; s++) {
        bo_buf_printf(o, "%s{\"id\":\"S%u\",\"name\":\"Section %u\",\"rows\":[", s ? "," : "",
                      s + 1, s + 1);
        for (uint32_t r = 0; r < g->rows; r++)
            write_row(o, g, s, r);
        bo_buf_printf(o, "]}");
    }
    bo_buf_printf(o, "],\"ga_areas\":[");
    for (uint32_t i = 0; i < p->ga_areas; i++) {
        char name[32];
        snprintf(name, sizeof name, i ? "Floor %u" : "Floor", i + 1);
        bo_buf_printf(o, "%s{\"id\":\"ga%u\",\"name\":\"%s\",\"capacity\":%u,\"category\":\"GA\"}",
                      i ? "," : "", i + 1, name, p->ga_capacity);
    }
    bo_buf_printf(o, "]}");
}

char *bo_venue_generate(const bo_venue_gen_t *p, size_t *len_out)
{
    const char *name = p->name ? p->name : "Generated Arena";
    struct geom g;
    bo_buf_t o;

    if (!params_ok(p, name))
        return NULL;
    plan(&g, p);
    bo_buf_init(&o, 2048 + (size_t)p->sections * p->rows * (32 + (size_t)p->seats * 96) +
                        (size_t)p->ga_areas * 96);
    write_head(&o, &g, p, name);
    write_body(&o, &g, p);
    return bo_buf_take(&o, len_out);
}
