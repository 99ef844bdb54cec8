/*
 * layout.h - a venue's static seat map: sections, rows of seats in physical
 * order, price categories and general-admission (GA) areas.
 *
 * A layout is parsed and validated once (venue import), then shared read-only
 * by every event held at that venue, for the whole life of the process. It is
 * laid out for the engine's hot path: seats are one flat array indexed by a
 * dense uint32_t, rows are contiguous runs of that array (so adjacency is
 * index + 1), and strings live in one arena addressed by offsets.
 *
 * Seat-map JSON (DESIGN.md "Seat map format"):
 *   {"name","size":{"width","height"},"focal_point":{"x","y"},
 *    "categories":[{"key","name","color"}],
 *    "sections":[{"id","name","rows":[{"label","seats":[
 *        {"id","number","x","y","category","accessible","rank"}]}]}],
 *    "ga_areas":[{"id","name","capacity","category"}]}
 * "focal_point", "size", "accessible", "rank", "ga_areas" are optional;
 * every other field shown is required. A seat's "rank" (a number >= 0,
 * lower is better) overrides the focal-point distance.
 */
#ifndef BOXOFFICE_LAYOUT_H
#define BOXOFFICE_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

/* Bounds on every imported seat map. */
#define BO_LAYOUT_MAX_BYTES       (64u << 20) /* JSON text */
#define BO_LAYOUT_MAX_SEATS       200000u
#define BO_LAYOUT_MAX_SECTIONS    1000u
#define BO_LAYOUT_MAX_ROWS        20000u /* in the whole venue */
#define BO_LAYOUT_MAX_ROW_SEATS   2000u
#define BO_LAYOUT_MAX_CATEGORIES  64u
#define BO_LAYOUT_MAX_GA_AREAS    256u
#define BO_LAYOUT_MAX_GA_CAPACITY 1000000u
#define BO_LAYOUT_MAX_ID          64u  /* bytes, ids, keys, labels, numbers */
#define BO_LAYOUT_MAX_NAME        200u /* bytes, names */
#define BO_LAYOUT_MAX_COORD       1e6  /* |x|, |y|, width, height */
#define BO_LAYOUT_MAX_PROBLEMS    100u /* reported; the count goes on */

#define BO_NONE UINT32_MAX

typedef struct bo_category {
    uint32_t key; /* string offsets into the layout's arena */
    uint32_t name;
    uint32_t color; /* "#rrggbb" */
} bo_category_t;

typedef struct bo_seat {
    uint32_t id;     /* string offset */
    uint32_t number; /* string offset: the label printed on the seat */
    float x, y;
    uint32_t row;      /* index into rows */
    uint32_t rank;     /* 0 = best seat of the venue; dense order over all seats */
    uint16_t category; /* index into categories */
    uint16_t section;  /* index into sections */
    uint8_t accessible;
} bo_seat_t;

typedef struct bo_row {
    uint32_t label;      /* string offset */
    uint32_t first_seat; /* seats [first_seat, first_seat + nseats) in physical order */
    uint32_t nseats;
    uint16_t section;
} bo_row_t;

typedef struct bo_section {
    uint32_t id, name; /* string offsets */
    uint32_t first_row, nrows;
} bo_section_t;

typedef struct bo_ga_area {
    uint32_t id, name; /* string offsets */
    uint32_t capacity;
    uint16_t category;
} bo_ga_area_t;

typedef struct bo_layout {
    uint32_t name; /* string offset */
    double width, height;
    double focal_x, focal_y;
    int has_focal;
    bo_category_t *categories;
    uint32_t ncategories;
    bo_section_t *sections;
    uint32_t nsections;
    bo_row_t *rows;
    uint32_t nrows;
    bo_seat_t *seats;
    uint32_t nseats;
    bo_ga_area_t *ga;
    uint32_t nga;
    char *strings; /* arena of NUL-terminated strings */
    size_t strings_len, strings_cap;
    uint32_t *seat_hash; /* open addressing: seat index + 1, 0 = empty */
    uint32_t seat_hash_mask;
} bo_layout_t;

/* Problems found while validating, each "json.path: message". */
typedef struct bo_problems {
    char **items; /* at most BO_LAYOUT_MAX_PROBLEMS kept */
    size_t n;     /* kept */
    size_t total; /* found, including those not kept */
    size_t cap;   /* room in items */
} bo_problems_t;

/*
 * Parse and validate a seat map. On success returns 0 and *out is a new
 * layout that the caller owns (bo_layout_free). On invalid input returns
 * BO_EINVAL (BO_ETOOLARGE past BO_LAYOUT_MAX_BYTES), *out is NULL and every
 * problem found is appended to probs (if not NULL) with its JSON path, e.g.
 *   sections[3].rows[0].seats[12].id: duplicate seat id "101-A-1"
 * A JSON syntax error is reported as "$: invalid JSON at line L column C: ...".
 */
int bo_layout_parse(const char *json, size_t len, bo_layout_t **out, bo_problems_t *probs);

/* The string at offset off of the layout's arena. */
static inline const char *bo_layout_str(const bo_layout_t *l, uint32_t off)
{
    return l->strings + off;
}

/* Index of the seat with that id, or BO_NONE. */
uint32_t bo_layout_find_seat(const bo_layout_t *l, const char *id, size_t len);
/* Index of the GA area / category / section with that id or key, or BO_NONE. */
uint32_t bo_layout_find_ga(const bo_layout_t *l, const char *id);
uint32_t bo_layout_find_category(const bo_layout_t *l, const char *key);
uint32_t bo_layout_find_section(const bo_layout_t *l, const char *id);

/*
 * The layout as seat-map JSON (the same format bo_layout_parse reads, every
 * seat with its "rank"), NUL-terminated; parsing it again gives an equal
 * layout. The caller owns the returned string (free()); NULL on ENOMEM.
 */
char *bo_layout_to_json(const bo_layout_t *l, size_t *len_out);

/*
 * The layout as the API's seat map: {"venue_id", "name", "size",
 * "focal_point", "sections" (rows of seats with id, label, x, y, category,
 * accessible; or, when columns, rows with a seat count and then "seats" as
 * one array per field), "ga_areas", "categories" with prices[i] as the
 * i-th category's "price_cents"}, NUL-terminated. The caller owns the
 * returned string (free()); NULL on ENOMEM.
 */
char *bo_layout_seatmap_json(const bo_layout_t *l, const char *venue_id, const int64_t *prices,
                             int columns, size_t *len_out);

void bo_layout_free(bo_layout_t *l);
void bo_problems_free(bo_problems_t *p);
/* Append a copy of text to the kept problems (total is the caller's to
 * count): 0, or BO_ENOMEM with p unchanged. */
int bo_problems_add(bo_problems_t *p, const char *text);

/* Parameters of the venue generator. */
typedef struct bo_venue_gen {
    const char *name;     /* "Generated Arena" when NULL */
    uint32_t sections;    /* arranged in a horseshoe around the stage */
    uint32_t rows;        /* per section */
    uint32_t seats;       /* per row */
    uint32_t ga_areas;    /* GA areas added beside the seats (0 allowed) */
    uint32_t ga_capacity; /* capacity of each GA area */
    uint32_t categories;  /* 1..8 price categories, by distance to the stage */
    uint32_t aisle_every; /* insert a gap in x every N seats (0 = none); ids stay dense */
} bo_venue_gen_t;

/*
 * Generate a valid seat-map JSON for a venue of any size up to the layout
 * bounds (a 100,000-seat stadium is e.g. 40 sections x 50 rows x 50 seats).
 * Seat ids are "<section>-<row>-<n>", sections "S1".., rows "A".."Z","AA"..
 * Returns a NUL-terminated string the caller owns (free()), or NULL when
 * the parameters exceed the layout bounds or on ENOMEM.
 */
char *bo_venue_generate(const bo_venue_gen_t *g, size_t *len_out);

#endif
