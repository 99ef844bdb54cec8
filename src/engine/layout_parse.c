/*
 * layout_parse.c - a venue's seat map imported: the import JSON parsed and
 * validated into the bo_layout_t of layout.c, every problem reported with
 * its JSON path.
 *
 * Workload: a venue is imported rarely (an admin action) but may be large,
 * up to 200,000 seats in 64 MB of JSON. jansson builds a transient tree
 * (about 1 KB per seat), then one walk validates and fills the layout at
 * once; a JSON path is rendered only when a problem is reported.
 *
 * Decisions (see the header for the format):
 * - Duplicate keys inside one JSON object are a syntax error
 *   (JSON_REJECT_DUPLICATES): an ambiguous map is refused, never guessed.
 * - Seat ids, section ids, category keys and GA area ids are separate
 *   namespaces: a GA area may share its id with a seat or a section.
 * - No string may contain a control character (C0, DEL or C1, U+2028/2029,
 *   bidi overrides: util/text.h), escaped or
 *   not; jansson already refuses invalid UTF-8 and \u0000.
 * - Row labels and seat numbers need not be unique: only ids must be.
 * - "sections" is required but may be empty when there are GA areas.
 * - When an array is over its bound (or would push the venue over its seat
 *   or row bound) it is reported once at the array's path and not entered;
 *   when "categories" is missing or unusable, seats are not reported for
 *   unknown categories (that would be one problem per seat).
 * - Problems come in a fixed field order (name, size, focal_point,
 *   categories, sections, ga_areas), not in the order of the JSON text.
 */
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boxoffice/error.h"
#include "boxoffice/layout.h"
#include "engine/layout_internal.h"
#include "util/array.h"
#include "util/hex.h"
#include "util/text.h"

#define PATH_DEPTH 16

/* One step of a JSON path, linked to its parent, rendered only on a problem. */
struct frame {
    const struct frame *up;
    const char *key; /* a field name, or NULL for an array index */
    size_t index;
};

struct parser {
    bo_layout_t *l;
    bo_problems_t *probs;
    size_t nproblems;               /* found by this parse */
    int err;                        /* BO_ENOMEM once an allocation failed */
    uint64_t seats_seen, rows_seen; /* sizes of the arrays entered */
    int seats_full, rows_full;      /* the venue bound was hit: enter no more */
    int cats_unusable;              /* no "unknown category" reports */
    bool any_rank;
    uint32_t last_cat;
    bo__rank_key_t *keys; /* one per seat */
};

/* ---- problems ---------------------------------------------------------- */

static void render_path(const struct frame *f, char *buf, size_t cap)
{
    const struct frame *chain[PATH_DEPTH];
    int n = 0;
    size_t len = 0;

    for (; f && n < PATH_DEPTH; f = f->up)
        chain[n++] = f;
    buf[0] = '\0';
    for (int i = n - 1; i >= 0 && len < cap; i--) {
        int w = chain[i]->key
                    ? snprintf(buf + len, cap - len, "%s%s", len ? "." : "", chain[i]->key)
                    : snprintf(buf + len, cap - len, "[%zu]", chain[i]->index);
        if (w < 0)
            break;
        len += (size_t)w;
    }
    if (buf[0] == '\0')
        snprintf(buf, cap, "$");
}

static void problem(struct parser *p, const struct frame *at, const char *fmt, ...)
{
    char path[256], msg[512], item[sizeof path + 2 + sizeof msg];
    va_list ap;

    p->nproblems++;
    if (!p->probs)
        return;
    p->probs->total++;
    if (p->probs->n >= BO_LAYOUT_MAX_PROBLEMS)
        return;
    render_path(at, path, sizeof path);
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(item, sizeof item, "%s: %s", path, msg);
    if (bo_problems_add(p->probs, item))
        p->err = BO_ENOMEM;
}

int bo_problems_add(bo_problems_t *p, const char *text)
{
    char *item = strdup(text);
    /* one line each: a parser's message may quote the input (jansson's
     * "near '...'"), control characters included */
    for (char *c = item; c && *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            *c = ' ';
    char **items = item ? bo_array_grow(p->items, &p->cap, p->n + 1, sizeof(*items), 16, 0) : NULL;
    if (!items) {
        free(item);
        return BO_ENOMEM;
    }
    p->items = items;
    items[p->n++] = item;
    return 0;
}

void bo_problems_free(bo_problems_t *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++)
        free(p->items[i]);
    free(p->items);
    p->items = NULL;
    p->n = p->cap = 0;
    p->total = 0;
}

/* ---- string arena and seat hash ---------------------------------------- */

static uint32_t intern(struct parser *p, const char *s, size_t n)
{
    uint32_t off;
    if (bo__layout_intern(p->l, s, n, &off))
        p->err = BO_ENOMEM; /* off is the empty string; the parse fails anyway */
    return off;
}

/* Add seat idx (its id already interned) or report that the id is taken. */
static void seat_hash_add(struct parser *p, const struct frame *at, uint32_t idx, const char *id,
                          size_t n)
{
    if (!bo__layout_seat_hash_add(p->l, idx, id, n))
        problem(p, at, "duplicate seat id \"%s\"", id);
}

/* ---- typed field access ------------------------------------------------ */

static const char *type_name(const json_t *v)
{
    static const char *const names[] = {"object", "array",   "string",  "number",
                                        "number", "boolean", "boolean", "null"};
    unsigned t = (unsigned)json_typeof(v); /* JSON_OBJECT .. JSON_NULL */
    return t < sizeof names / sizeof names[0] ? names[t] : "null";
}

/* Characters no name may hold (util/text.h: C0, DEL, C1, U+2028/2029,
 * bidi overrides). */
static int has_control(const char *s, size_t n)
{
    return !bo_text_ok(s, n, 0);
}

/* obj.key, a required non-empty string of at most max bytes without control
 * characters; NULL (reported) otherwise. The string lives in the JSON tree. */
static const char *get_string(struct parser *p, const struct frame *up, json_t *obj,
                              const char *key, size_t max, size_t *len_out)
{
    struct frame at = {up, key, 0};
    json_t *v = json_object_get(obj, key);

    if (!v) {
        problem(p, &at, "missing required field");
        return NULL;
    }
    if (!json_is_string(v)) {
        problem(p, &at, "must be a string, got %s", type_name(v));
        return NULL;
    }
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    if (len == 0) {
        problem(p, &at, "must be a non-empty string");
        return NULL;
    }
    if (len > max) {
        problem(p, &at, "too long: %zu bytes, at most %zu", len, max);
        return NULL;
    }
    if (has_control(s, len)) {
        problem(p, &at, "must not contain control characters");
        return NULL;
    }
    *len_out = len;
    return s;
}

/* get_string, interned; 0 (the empty string) when reported. */
static uint32_t get_interned(struct parser *p, const struct frame *up, json_t *obj, const char *key,
                             size_t max)
{
    size_t n;
    const char *s = get_string(p, up, obj, key, max, &n);
    return s ? intern(p, s, n) : 0;
}

/* 1 and *out set; 0 when absent and optional; -1 when reported. */
static int get_number(struct parser *p, const struct frame *up, json_t *obj, const char *key,
                      int required, double *out)
{
    struct frame at = {up, key, 0};
    json_t *v = json_object_get(obj, key);

    if (!v) {
        if (required)
            problem(p, &at, "missing required field");
        return required ? -1 : 0;
    }
    if (!json_is_number(v)) {
        problem(p, &at, "must be a number, got %s", type_name(v));
        return -1;
    }
    *out = json_number_value(v);
    return 1;
}

/* A required coordinate in [-BO_LAYOUT_MAX_COORD, BO_LAYOUT_MAX_COORD]. */
static int get_coord(struct parser *p, const struct frame *up, json_t *obj, const char *key,
                     double *out)
{
    struct frame at = {up, key, 0};
    if (get_number(p, up, obj, key, 1, out) < 0)
        return -1;
    if (!isfinite(*out) || fabs(*out) > BO_LAYOUT_MAX_COORD) {
        problem(p, &at, "must be a number between %.0f and %.0f", -BO_LAYOUT_MAX_COORD,
                BO_LAYOUT_MAX_COORD);
        return -1;
    }
    return 1;
}

static json_t *get_typed(struct parser *p, const struct frame *up, json_t *obj, const char *key,
                         int required, json_type type, const char *what)
{
    struct frame at = {up, key, 0};
    json_t *v = json_object_get(obj, key);

    if (!v) {
        if (required)
            problem(p, &at, "missing required field");
        return NULL;
    }
    if (json_typeof(v) != type) {
        problem(p, &at, "must be %s, got %s", what, type_name(v));
        return NULL;
    }
    return v;
}

/* Optional obj.key: 1 true, 0 false or absent, -1 reported. */
static int get_bool(struct parser *p, const struct frame *up, json_t *obj, const char *key)
{
    struct frame at = {up, key, 0};
    json_t *v = json_object_get(obj, key);

    if (!v)
        return 0;
    if (!json_is_boolean(v)) {
        problem(p, &at, "must be a boolean, got %s", type_name(v));
        return -1;
    }
    return json_is_true(v);
}

/* obj.key as an array of at most max (0: any) elements, else NULL. */
static json_t *get_array(struct parser *p, const struct frame *up, json_t *obj, const char *key,
                         int required, size_t max, const char *what)
{
    struct frame at = {up, key, 0};
    json_t *v = get_typed(p, up, obj, key, required, JSON_ARRAY, "an array");

    if (v && max && json_array_size(v) > max) {
        problem(p, &at, "too many %s: %zu, at most %zu", what, json_array_size(v), max);
        return NULL;
    }
    return v;
}

typedef void (*element_fn)(struct parser *p, const struct frame *at, json_t *obj, uint32_t up);

/* fn(element, up) for each element of arr that is an object; the others are reported. */
static void each_object(struct parser *p, const struct frame *at, json_t *arr, element_fn fn,
                        uint32_t up)
{
    for (size_t i = 0; i < json_array_size(arr) && !p->err; i++) {
        struct frame el = {at, NULL, i};
        json_t *obj = json_array_get(arr, i);
        if (json_is_object(obj))
            fn(p, &el, obj, up);
        else
            problem(p, &el, "must be an object, got %s", type_name(obj));
    }
}

/* Whether to enter an array of n rows or seats: not empty, and the venue's
 * total stays within max; past it, reported once and nothing more entered. */
static int within_venue(struct parser *p, const struct frame *at, size_t n, uint64_t *seen,
                        int *full, uint32_t max, const char *what, const char *empty)
{
    if (n == 0) {
        problem(p, at, "%s", empty);
        return 0;
    }
    if (*full)
        return 0;
    if (*seen + n > max) {
        problem(p, at, "too many %s in the venue: more than %u", what, max);
        *full = 1;
        return 0;
    }
    *seen += n;
    return 1;
}

/* ---- the document ------------------------------------------------------ */

/* An element's obj.key, an id that no earlier element of its kind has
 * (find; what the problem calls it), and its obj.name, both interned into
 * *id and *name (0 when missing or taken: reported). */
static void get_id_name(struct parser *p, const struct frame *at, json_t *obj, const char *key,
                        uint32_t (*find)(const bo_layout_t *, const char *), const char *what,
                        uint32_t *id, uint32_t *name)
{
    struct frame key_at = {at, key, 0};
    size_t n;
    const char *s = get_string(p, at, obj, key, BO_LAYOUT_MAX_ID, &n);

    if (s && find(p->l, s) != BO_NONE)
        problem(p, &key_at, "duplicate %s \"%s\"", what, s);
    else if (s)
        *id = intern(p, s, n);
    *name = get_interned(p, at, obj, "name", BO_LAYOUT_MAX_NAME);
}

static void parse_size(struct parser *p, json_t *root)
{
    struct frame at = {NULL, "size", 0};
    json_t *size = get_typed(p, NULL, root, "size", 0, JSON_OBJECT, "an object");
    const char *keys[2] = {"width", "height"};
    double *dst[2] = {&p->l->width, &p->l->height};

    for (int i = 0; size && i < 2; i++) {
        struct frame f = {&at, keys[i], 0};
        double v;
        if (get_number(p, &at, size, keys[i], 1, &v) < 0)
            continue;
        if (!(v > 0 && v <= BO_LAYOUT_MAX_COORD))
            problem(p, &f, "must be a number greater than 0 and at most %.0f", BO_LAYOUT_MAX_COORD);
        else
            *dst[i] = v;
    }
}

static void parse_focal(struct parser *p, json_t *root)
{
    struct frame at = {NULL, "focal_point", 0};
    json_t *fp = get_typed(p, NULL, root, "focal_point", 0, JSON_OBJECT, "an object");
    double x, y;

    if (!fp)
        return;
    int okx = get_coord(p, &at, fp, "x", &x) > 0;
    int oky = get_coord(p, &at, fp, "y", &y) > 0;
    if (okx && oky) {
        p->l->focal_x = x;
        p->l->focal_y = y;
        p->l->has_focal = 1;
    }
}

static int is_color(const char *s, size_t n)
{
    if (n != 7 || s[0] != '#')
        return 0;
    for (size_t i = 1; i < 7; i++)
        if (bo_hex_val((unsigned char)s[i], 1) < 0)
            return 0;
    return 1;
}

static void parse_category(struct parser *p, const struct frame *at, json_t *obj, uint32_t up)
{
    bo_layout_t *l = p->l;
    bo_category_t *c = &l->categories[l->ncategories++];
    struct frame color_at = {at, "color", 0};
    size_t n;

    get_id_name(p, at, obj, "key", bo_layout_find_category, "category key", &c->key, &c->name);
    const char *color = get_string(p, at, obj, "color", BO_LAYOUT_MAX_ID, &n);
    if (color && !is_color(color, n))
        problem(p, &color_at, "must be a color \"#rrggbb\"");
    else if (color)
        c->color = intern(p, color, n);
}

static void parse_categories(struct parser *p, json_t *root)
{
    struct frame at = {NULL, "categories", 0};
    json_t *arr = get_array(p, NULL, root, "categories", 1, BO_LAYOUT_MAX_CATEGORIES, "categories");
    size_t n = json_array_size(arr);

    if (!arr) {
        p->cats_unusable = 1;
        return;
    }
    p->l->categories = calloc(n ? n : 1, sizeof *p->l->categories);
    if (!p->l->categories) {
        p->err = BO_ENOMEM;
        return;
    }
    each_object(p, &at, arr, parse_category, 0);
}

/* The category index of a seat or GA area's "category", 0 when reported. */
static uint16_t get_category(struct parser *p, const struct frame *at, json_t *obj)
{
    struct frame cat_at = {at, "category", 0};
    bo_layout_t *l = p->l;
    size_t n;
    const char *key = get_string(p, at, obj, "category", BO_LAYOUT_MAX_ID, &n);

    if (!key)
        return 0;
    if (p->last_cat < l->ncategories &&
        bo__layout_str_eq(l, l->categories[p->last_cat].key, key, n))
        return (uint16_t)p->last_cat;
    uint32_t i = bo_layout_find_category(l, key);
    if (i != BO_NONE) {
        p->last_cat = i;
        return (uint16_t)i;
    }
    if (!p->cats_unusable)
        problem(p, &cat_at, "unknown category \"%s\"", key);
    return 0;
}

static void parse_seat(struct parser *p, const struct frame *at, json_t *obj, uint32_t ri)
{
    bo_layout_t *l = p->l;
    uint32_t idx = l->nseats++;
    bo_seat_t *s = &l->seats[idx];
    struct frame id_at = {at, "id", 0}, rank_at = {at, "rank", 0};
    size_t n;
    double v;

    s->row = ri;
    s->section = l->rows[ri].section;
    const char *id = get_string(p, at, obj, "id", BO_LAYOUT_MAX_ID, &n);
    if (id) {
        s->id = intern(p, id, n);
        if (!p->err)
            seat_hash_add(p, &id_at, idx, id, n);
    }
    s->number = get_interned(p, at, obj, "number", BO_LAYOUT_MAX_ID);
    if (get_coord(p, at, obj, "x", &v) > 0)
        s->x = (float)v;
    if (get_coord(p, at, obj, "y", &v) > 0)
        s->y = (float)v;
    s->category = get_category(p, at, obj);
    s->accessible = get_bool(p, at, obj, "accessible") > 0;
    p->keys[idx] = (bo__rank_key_t){0, BO__RANK_UNSET, idx};
    int r = get_number(p, at, obj, "rank", 0, &v);
    if (r > 0 && !(v >= 0)) {
        problem(p, &rank_at, "must be a number >= 0");
    } else if (r > 0) {
        p->keys[idx].cls = BO__RANK_FIRST;
        p->keys[idx].key = v;
        p->any_rank = true;
    }
}

static void parse_row(struct parser *p, const struct frame *at, json_t *obj, uint32_t si)
{
    bo_layout_t *l = p->l;
    uint32_t ri = l->nrows++;
    bo_row_t *r = &l->rows[ri];
    struct frame seats_at = {at, "seats", 0};

    r->section = (uint16_t)si;
    r->label = get_interned(p, at, obj, "label", BO_LAYOUT_MAX_ID);
    json_t *seats = get_array(p, at, obj, "seats", 1, BO_LAYOUT_MAX_ROW_SEATS, "seats in one row");
    r->first_seat = l->nseats;
    if (seats && within_venue(p, &seats_at, json_array_size(seats), &p->seats_seen, &p->seats_full,
                              BO_LAYOUT_MAX_SEATS, "seats", "a row must have at least one seat"))
        each_object(p, &seats_at, seats, parse_seat, ri);
    r->nseats = l->nseats - r->first_seat;
}

static void parse_section(struct parser *p, const struct frame *at, json_t *obj, uint32_t up)
{
    bo_layout_t *l = p->l;
    uint16_t si = (uint16_t)l->nsections++;
    bo_section_t *s = &l->sections[si];
    struct frame rows_at = {at, "rows", 0};

    get_id_name(p, at, obj, "id", bo_layout_find_section, "section id", &s->id, &s->name);
    json_t *rows = get_array(p, at, obj, "rows", 1, 0, NULL);
    s->first_row = l->nrows;
    if (rows && within_venue(p, &rows_at, json_array_size(rows), &p->rows_seen, &p->rows_full,
                             BO_LAYOUT_MAX_ROWS, "rows", "a section must have at least one row"))
        each_object(p, &rows_at, rows, parse_row, si);
    s->nrows = l->nrows - s->first_row;
}

/* Upper bounds of the rows and seats the walk can store, to allocate once. */
static void count_seats(json_t *sections, uint64_t *nrows, uint64_t *nseats)
{
    *nrows = *nseats = 0;
    for (size_t i = 0; i < json_array_size(sections); i++) {
        json_t *rows = json_object_get(json_array_get(sections, i), "rows");
        *nrows += json_array_size(rows);
        for (size_t j = 0; j < json_array_size(rows); j++)
            *nseats += json_array_size(json_object_get(json_array_get(rows, j), "seats"));
        if (*nrows >= BO_LAYOUT_MAX_ROWS && *nseats >= BO_LAYOUT_MAX_SEATS)
            break;
    }
    if (*nrows > BO_LAYOUT_MAX_ROWS)
        *nrows = BO_LAYOUT_MAX_ROWS;
    if (*nseats > BO_LAYOUT_MAX_SEATS)
        *nseats = BO_LAYOUT_MAX_SEATS;
}

static int alloc_arrays(struct parser *p, json_t *sections)
{
    bo_layout_t *l = p->l;
    uint64_t nrows, nseats;
    size_t nsec = json_array_size(sections), hsize = 2;

    count_seats(sections, &nrows, &nseats);
    while (hsize < 2 * nseats)
        hsize *= 2;
    l->sections = calloc(nsec ? nsec : 1, sizeof *l->sections);
    l->rows = calloc(nrows ? nrows : 1, sizeof *l->rows);
    l->seats = calloc(nseats ? nseats : 1, sizeof *l->seats);
    l->seat_hash = calloc(hsize, sizeof *l->seat_hash);
    l->seat_hash_mask = (uint32_t)(hsize - 1);
    p->keys = calloc(nseats ? nseats : 1, sizeof *p->keys);
    if (!l->sections || !l->rows || !l->seats || !l->seat_hash || !p->keys)
        return p->err = BO_ENOMEM;
    return 0;
}

static void parse_sections(struct parser *p, json_t *root)
{
    struct frame at = {NULL, "sections", 0};
    json_t *arr = get_array(p, NULL, root, "sections", 1, BO_LAYOUT_MAX_SECTIONS, "sections");

    if (alloc_arrays(p, arr) == 0)
        each_object(p, &at, arr, parse_section, 0);
}

static void parse_ga_area(struct parser *p, const struct frame *at, json_t *obj, uint32_t up)
{
    bo_layout_t *l = p->l;
    bo_ga_area_t *g = &l->ga[l->nga++];
    struct frame cap_at = {at, "capacity", 0};
    double cap;

    get_id_name(p, at, obj, "id", bo_layout_find_ga, "GA area id", &g->id, &g->name);
    if (get_number(p, at, obj, "capacity", 1, &cap) > 0) {
        if (cap >= 1 && cap <= BO_LAYOUT_MAX_GA_CAPACITY && cap == floor(cap))
            g->capacity = (uint32_t)cap;
        else
            problem(p, &cap_at, "must be an integer between 1 and %u", BO_LAYOUT_MAX_GA_CAPACITY);
    }
    g->category = get_category(p, at, obj);
}

static void parse_ga_areas(struct parser *p, json_t *root)
{
    struct frame at = {NULL, "ga_areas", 0};
    json_t *arr = get_array(p, NULL, root, "ga_areas", 0, BO_LAYOUT_MAX_GA_AREAS, "GA areas");
    size_t n = json_array_size(arr);

    p->l->ga = calloc(n ? n : 1, sizeof *p->l->ga);
    if (!p->l->ga) {
        p->err = BO_ENOMEM;
        return;
    }
    each_object(p, &at, arr, parse_ga_area, 0);
}

static void parse_root(struct parser *p, json_t *root)
{
    if (!json_is_object(root)) {
        problem(p, NULL, "must be an object, got %s", type_name(root));
        return;
    }
    if (intern(p, "", 0) != 0) /* offset 0 is the empty string */
        return;
    p->l->name = get_interned(p, NULL, root, "name", BO_LAYOUT_MAX_NAME);
    parse_size(p, root);
    parse_focal(p, root);
    parse_categories(p, root);
    if (!p->err)
        parse_sections(p, root);
    if (!p->err)
        parse_ga_areas(p, root);
    json_t *sections = json_object_get(root, "sections");
    json_t *ga = json_object_get(root, "ga_areas");
    if (json_is_array(sections) && json_array_size(sections) == 0 &&
        (!ga || (json_is_array(ga) && json_array_size(ga) == 0)))
        problem(p, NULL, "the venue has no seats and no GA areas");
}

/* ---- the import ------------------------------------------------------- */

int bo_layout_parse(const char *json, size_t len, bo_layout_t **out, bo_problems_t *probs)
{
    struct parser p = {.probs = probs};
    json_error_t jerr;
    json_t *root = NULL;
    int rc = 0;

    *out = NULL;
    if (len > BO_LAYOUT_MAX_BYTES) {
        problem(&p, NULL, "too large: %zu bytes, at most %u", len, BO_LAYOUT_MAX_BYTES);
        return BO_ETOOLARGE;
    }
    root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        problem(&p, NULL, "invalid JSON at line %d column %d: %s", jerr.line, jerr.column,
                jerr.text);
        rc = BO_EINVAL;
        goto out;
    }
    if (!(p.l = calloc(1, sizeof *p.l))) {
        rc = BO_ENOMEM;
        goto out;
    }
    parse_root(&p, root);
    rc = p.err ? p.err : p.nproblems ? BO_EINVAL : 0;
    if (rc == 0) {
        bo__layout_finish(p.l, p.keys, p.any_rank);
        *out = p.l;
        p.l = NULL;
    }
out:
    bo_layout_free(p.l);
    free(p.keys);
    json_decref(root);
    return rc;
}
