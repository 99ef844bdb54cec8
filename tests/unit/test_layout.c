/*
 * test_layout.c - the seat-map parser and validator, the seat index, the
 * JSON writer and the venue generator (src/engine/layout.c, venue_gen.c).
 *
 * Maps are written with single quotes for readability; the helpers turn
 * them into double quotes. Every problem is asserted as its exact
 * "path: message" string.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boxoffice/error.h"
#include "boxoffice/layout.h"

#define CATS              "'categories':[{'key':'P1','name':'Premium','color':'#c0392b'}]"
#define SEAT(id)          "{'id':'" id "','number':'1','x':1,'y':1,'category':'P1'}"
#define ROW(label, seats) "{'label':'" label "','seats':[" seats "]}"
#define SECTION(id, rows) "{'id':'" id "','name':'S','rows':[" rows "]}"
#define MAP(sections)     "{'name':'Hall'," CATS ",'sections':[" sections "]}"
#define MAP_GA(sections, ga)                                                                       \
    "{'name':'Hall'," CATS ",'sections':[" sections "],'ga_areas':[" ga "]}"
#define ONE_SEAT_MAP(seat) MAP(SECTION("A", ROW("1", seat)))
#define GA(id, cap, cat)   "{'id':'" id "','name':'Floor','capacity':" cap ",'category':'" cat "'}"

#define S(l, off) bo_layout_str((l), (off))

static const char GOOD[] =
    "{'name':'Hall','size':{'width':100,'height':80},'focal_point':{'x':50,'y':0},'notes':[1,2],"
    " 'categories':[{'key':'P1','name':'Premium','color':'#c0392b','price_cents':9900},"
    "               {'key':'P2','name':'Standard','color':'#2980B9'}],"
    " 'sections':["
    "  {'id':'A','name':'Stalls','rows':["
    "    {'label':'1','seats':["
    "      {'id':'A-1-1','number':'1','x':40,'y':10,'category':'P1'},"
    "      {'id':'A-1-2','number':'2','x':50,'y':10,'category':'P1','accessible':true},"
    "      {'id':'A-1-3','number':'3','x':60.5,'y':10,'category':'P2','accessible':false}]},"
    "    {'label':'2','seats':["
    "      {'id':'A-2-1','number':'1','x':45,'y':20,'category':'P2'},"
    "      {'id':'A-2-2','number':'2','x':55,'y':20,'category':'P2'}]}]},"
    "  {'id':'B','name':'Balcony','rows':["
    "    {'label':'1','seats':[{'id':'B-1-1','number':'1','x':50,'y':5,'category':'P2'}]}]}],"
    " 'ga_areas':[{'id':'floor','name':'Floor','capacity':2000,'category':'P2'}]}";

/* ---- helpers ----------------------------------------------------------- */

/* s with every ' turned into " (the caller frees). */
static char *dq(const char *s)
{
    char *d = strdup(s);
    cr_assert_not_null(d);
    for (char *c = d; *c; c++)
        if (*c == '\'')
            *c = '"';
    return d;
}

static bo_layout_t *parse_ok(const char *map)
{
    char *json = dq(map);
    bo_layout_t *l = NULL;
    bo_problems_t probs = {0};
    int rc = bo_layout_parse(json, strlen(json), &l, &probs);
    cr_assert_eq(rc, 0, "rc %d, %zu problems, first: %s", rc, probs.total,
                 probs.n ? probs.items[0] : "-");
    cr_assert_not_null(l);
    cr_assert_eq(probs.total, 0);
    bo_problems_free(&probs);
    free(json);
    return l;
}

/* Parse map; it must fail with rc and exactly the n problems of want, in order. */
static void expect_rc(int want_rc, const char *map, const char *const *want, size_t n)
{
    char *json = dq(map);
    bo_layout_t *l = (bo_layout_t *)1;
    bo_problems_t probs = {0};
    int rc = bo_layout_parse(json, strlen(json), &l, &probs);
    cr_assert_eq(rc, want_rc, "rc %d, first problem: %s", rc, probs.n ? probs.items[0] : "-");
    cr_assert_null(l);
    cr_assert_eq(probs.total, n, "%zu problems, first: %s", probs.total,
                 probs.n ? probs.items[0] : "-");
    cr_assert_eq(probs.n, n);
    for (size_t i = 0; i < n; i++)
        cr_assert_str_eq(probs.items[i], want[i], "problem %zu", i);
    bo_problems_free(&probs);
    free(json);
}

#define EXPECT(map, ...)                                                                           \
    expect_rc(BO_EINVAL, (map), (const char *const[]){__VA_ARGS__},                                \
              sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *))

struct sb {
    char *b;
    size_t len, cap;
};

static void sbf(struct sb *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (s->len + (size_t)n + 1 > s->cap) {
        s->cap = (s->len + (size_t)n + 1) * 2;
        s->b = realloc(s->b, s->cap);
        cr_assert_not_null(s->b);
    }
    va_start(ap, fmt);
    vsnprintf(s->b + s->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    s->len += (size_t)n;
}

/* A valid-looking map of nsec sections x nrows rows x nseats seats. */
static char *grid_map(unsigned nsec, unsigned nrows, unsigned nseats)
{
    struct sb s = {0};
    sbf(&s, "{'name':'Grid'," CATS ",'sections':[");
    for (unsigned i = 0; i < nsec; i++) {
        sbf(&s, "%s{'id':'s%u','name':'S','rows':[", i ? "," : "", i);
        for (unsigned r = 0; r < nrows; r++) {
            sbf(&s, "%s{'label':'%u','seats':[", r ? "," : "", r);
            for (unsigned k = 0; k < nseats; k++)
                sbf(&s, "%s{'id':'%u-%u-%u','number':'%u','x':%u,'y':%u,'category':'P1'}",
                    k ? "," : "", i, r, k, k, k, r);
            sbf(&s, "]}");
        }
        sbf(&s, "]}");
    }
    sbf(&s, "]}");
    return s.b;
}

static char *repeat(char c, size_t n)
{
    char *s = malloc(n + 1);
    cr_assert_not_null(s);
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

/* Every field of a and b equal (strings by content). */
static void assert_same_layout(const bo_layout_t *a, const bo_layout_t *b)
{
    cr_assert_str_eq(S(a, a->name), S(b, b->name));
    cr_assert(a->width == b->width && a->height == b->height);
    cr_assert(a->has_focal == b->has_focal && a->focal_x == b->focal_x && a->focal_y == b->focal_y);
    cr_assert(a->ncategories == b->ncategories && a->nsections == b->nsections &&
              a->nrows == b->nrows && a->nseats == b->nseats && a->nga == b->nga);
    for (uint32_t i = 0; i < a->ncategories; i++) {
        const bo_category_t *x = &a->categories[i], *y = &b->categories[i];
        cr_assert_str_eq(S(a, x->key), S(b, y->key));
        cr_assert_str_eq(S(a, x->name), S(b, y->name));
        cr_assert_str_eq(S(a, x->color), S(b, y->color));
    }
    for (uint32_t i = 0; i < a->nsections; i++) {
        const bo_section_t *x = &a->sections[i], *y = &b->sections[i];
        cr_assert_str_eq(S(a, x->id), S(b, y->id));
        cr_assert_str_eq(S(a, x->name), S(b, y->name));
        cr_assert(x->first_row == y->first_row && x->nrows == y->nrows);
    }
    for (uint32_t i = 0; i < a->nrows; i++) {
        const bo_row_t *x = &a->rows[i], *y = &b->rows[i];
        if (strcmp(S(a, x->label), S(b, y->label)) || x->first_seat != y->first_seat ||
            x->nseats != y->nseats || x->section != y->section)
            cr_assert_fail("row %u differs", i);
    }
    for (uint32_t i = 0; i < a->nseats; i++) {
        const bo_seat_t *x = &a->seats[i], *y = &b->seats[i];
        if (strcmp(S(a, x->id), S(b, y->id)) || strcmp(S(a, x->number), S(b, y->number)) ||
            x->x != y->x || x->y != y->y || x->row != y->row || x->rank != y->rank ||
            x->category != y->category || x->section != y->section ||
            x->accessible != y->accessible)
            cr_assert_fail("seat %u (%s) differs", i, S(a, x->id));
    }
    for (uint32_t i = 0; i < a->nga; i++) {
        const bo_ga_area_t *x = &a->ga[i], *y = &b->ga[i];
        cr_assert_str_eq(S(a, x->id), S(b, y->id));
        cr_assert_str_eq(S(a, x->name), S(b, y->name));
        cr_assert(x->capacity == y->capacity && x->category == y->category);
    }
}

/* to_json then parse again: an equal layout. */
static void assert_round_trip(const bo_layout_t *l)
{
    size_t len = 0;
    char *json = bo_layout_to_json(l, &len);
    cr_assert_not_null(json);
    cr_assert_eq(strlen(json), len);
    bo_layout_t *again = NULL;
    bo_problems_t probs = {0};
    int rc = bo_layout_parse(json, len, &again, &probs);
    cr_assert_eq(rc, 0, "reparse: %s", probs.n ? probs.items[0] : "-");
    assert_same_layout(l, again);
    /* Writing the re-parsed layout gives the same text. */
    size_t len2 = 0;
    char *json2 = bo_layout_to_json(again, &len2);
    cr_assert_not_null(json2);
    cr_assert_eq(len2, len);
    cr_assert_str_eq(json2, json);
    free(json2);
    bo_layout_free(again);
    free(json);
}

static void assert_ranks_dense(const bo_layout_t *l)
{
    uint8_t *seen = calloc(l->nseats ? l->nseats : 1, 1);
    cr_assert_not_null(seen);
    for (uint32_t i = 0; i < l->nseats; i++) {
        uint32_t r = l->seats[i].rank;
        if (r >= l->nseats || seen[r])
            cr_assert_fail("seat %u has rank %u (out of range or repeated)", i, r);
        seen[r] = 1;
    }
    free(seen);
}

static size_t layout_bytes(const bo_layout_t *l)
{
    return sizeof *l + l->ncategories * sizeof *l->categories + l->nsections * sizeof *l->sections +
           l->nrows * sizeof *l->rows + l->nseats * sizeof *l->seats + l->nga * sizeof *l->ga +
           l->strings_cap + ((size_t)l->seat_hash_mask + 1) * sizeof *l->seat_hash;
}

/* ---- a good map -------------------------------------------------------- */

Test(layout, good_map_every_field)
{
    bo_layout_t *l = parse_ok(GOOD);

    cr_assert_str_eq(S(l, l->name), "Hall");
    cr_assert(l->width == 100 && l->height == 80);
    cr_assert(l->has_focal && l->focal_x == 50 && l->focal_y == 0);

    cr_assert_eq(l->ncategories, 2);
    cr_assert_str_eq(S(l, l->categories[0].key), "P1");
    cr_assert_str_eq(S(l, l->categories[0].name), "Premium");
    cr_assert_str_eq(S(l, l->categories[0].color), "#c0392b");
    cr_assert_str_eq(S(l, l->categories[1].key), "P2");
    cr_assert_str_eq(S(l, l->categories[1].name), "Standard");
    cr_assert_str_eq(S(l, l->categories[1].color), "#2980B9");

    cr_assert_eq(l->nsections, 2);
    cr_assert_str_eq(S(l, l->sections[0].id), "A");
    cr_assert_str_eq(S(l, l->sections[0].name), "Stalls");
    cr_assert(l->sections[0].first_row == 0 && l->sections[0].nrows == 2);
    cr_assert_str_eq(S(l, l->sections[1].id), "B");
    cr_assert_str_eq(S(l, l->sections[1].name), "Balcony");
    cr_assert(l->sections[1].first_row == 2 && l->sections[1].nrows == 1);

    cr_assert_eq(l->nrows, 3);
    const struct {
        const char *label;
        uint32_t first, n, section;
    } rows[] = {{"1", 0, 3, 0}, {"2", 3, 2, 0}, {"1", 5, 1, 1}};
    for (int i = 0; i < 3; i++) {
        cr_assert_str_eq(S(l, l->rows[i].label), rows[i].label);
        cr_assert_eq(l->rows[i].first_seat, rows[i].first);
        cr_assert_eq(l->rows[i].nseats, rows[i].n);
        cr_assert_eq(l->rows[i].section, rows[i].section);
    }

    /* Ranks by squared distance to (50,0): B-1-1 25, A-1-2 100, A-1-1 200,
     * A-1-3 210.25, A-2-1 425, A-2-2 425 (tie: lower index first). */
    cr_assert_eq(l->nseats, 6);
    const struct {
        const char *id, *number;
        float x, y;
        uint32_t row, rank;
        uint16_t cat, section;
        uint8_t acc;
    } seats[] = {
        {"A-1-1", "1", 40, 10, 0, 2, 0, 0, 0},    {"A-1-2", "2", 50, 10, 0, 1, 0, 0, 1},
        {"A-1-3", "3", 60.5f, 10, 0, 3, 1, 0, 0}, {"A-2-1", "1", 45, 20, 1, 4, 1, 0, 0},
        {"A-2-2", "2", 55, 20, 1, 5, 1, 0, 0},    {"B-1-1", "1", 50, 5, 2, 0, 1, 1, 0},
    };
    for (int i = 0; i < 6; i++) {
        const bo_seat_t *s = &l->seats[i];
        cr_assert_str_eq(S(l, s->id), seats[i].id);
        cr_assert_str_eq(S(l, s->number), seats[i].number);
        cr_assert(s->x == seats[i].x && s->y == seats[i].y, "seat %d at %g,%g", i, s->x, s->y);
        cr_assert_eq(s->row, seats[i].row);
        cr_assert_eq(s->rank, seats[i].rank, "seat %d rank %u", i, s->rank);
        cr_assert_eq(s->category, seats[i].cat);
        cr_assert_eq(s->section, seats[i].section);
        cr_assert_eq(s->accessible, seats[i].acc);
    }

    cr_assert_eq(l->nga, 1);
    cr_assert_str_eq(S(l, l->ga[0].id), "floor");
    cr_assert_str_eq(S(l, l->ga[0].name), "Floor");
    cr_assert_eq(l->ga[0].capacity, 2000);
    cr_assert_eq(l->ga[0].category, 1);

    cr_assert_eq(l->seat_hash_mask + 1, 16);      /* power of two >= 2 * 6 */
    cr_assert_eq(l->strings_len, l->strings_cap); /* the arena was trimmed */
    bo_layout_free(l);
}

Test(layout, explicit_rank_overrides_focal_and_unranked_go_after)
{
    /* Ranked: A-2-2 0.5, then A-1-1 and A-1-3 both 5 (tie: index). The
     * unranked follow by focal distance, even B-1-1 which is nearer the
     * focal point (squared distance 1) than any ranked seat: B-1-1, A-1-2,
     * A-2-1. */
    bo_layout_t *l = parse_ok(
        "{'name':'Hall','focal_point':{'x':50,'y':0},"
        " 'categories':[{'key':'P1','name':'Premium','color':'#c0392b'}],"
        " 'sections':[{'id':'A','name':'Stalls','rows':["
        "   {'label':'1','seats':["
        "     {'id':'A-1-1','number':'1','x':40,'y':10,'category':'P1','rank':5},"
        "     {'id':'A-1-2','number':'2','x':50,'y':10,'category':'P1'},"
        "     {'id':'A-1-3','number':'3','x':60.5,'y':10,'category':'P1','rank':5}]},"
        "   {'label':'2','seats':["
        "     {'id':'A-2-1','number':'1','x':45,'y':20,'category':'P1'},"
        "     {'id':'A-2-2','number':'2','x':55,'y':20,'category':'P1','rank':0.5}]}]},"
        "  {'id':'B','name':'Balcony','rows':["
        "   {'label':'1','seats':[{'id':'B-1-1','number':'1','x':50,'y':1,'category':'P1'}]}]}]}");
    const uint32_t want[] = {1, 4, 2, 5, 0, 3};
    cr_assert_eq(l->nseats, 6);
    for (uint32_t i = 0; i < 6; i++)
        cr_assert_eq(l->seats[i].rank, want[i], "seat %u rank %u", i, l->seats[i].rank);
    assert_round_trip(l);
    bo_layout_free(l);
}

Test(layout, without_focal_or_rank_the_file_order_ranks)
{
    bo_layout_t *l =
        parse_ok(MAP(SECTION("A", ROW("1", SEAT("a") "," SEAT("b")) "," ROW(
                                      "2", SEAT("c"))) "," SECTION("B", ROW("1", SEAT("d")))));
    cr_assert_eq(l->has_focal, 0);
    cr_assert(l->width == 0 && l->height == 0);
    cr_assert_eq(l->nga, 0);
    for (uint32_t i = 0; i < 4; i++)
        cr_assert_eq(l->seats[i].rank, i);
    assert_round_trip(l);
    bo_layout_free(l);
}

Test(layout, ga_only_venue_with_empty_sections)
{
    bo_layout_t *l = parse_ok("{'name':'Field'," CATS
                              ",'sections':[],'ga_areas':[" GA("field", "40000", "P1") "]}");
    cr_assert_eq(l->nseats, 0);
    cr_assert_eq(l->nsections, 0);
    cr_assert_eq(l->nga, 1);
    cr_assert_eq(l->ga[0].capacity, 40000);
    cr_assert_eq(bo_layout_find_seat(l, "field", 5), BO_NONE);
    cr_assert_eq(bo_layout_find_ga(l, "field"), 0);
    assert_round_trip(l);
    bo_layout_free(l);
}

Test(layout, ga_id_may_equal_a_seat_or_section_id)
{
    bo_layout_t *l = parse_ok(MAP_GA(SECTION("x", ROW("1", SEAT("x"))), GA("x", "10", "P1")));
    cr_assert_eq(bo_layout_find_seat(l, "x", 1), 0);
    cr_assert_eq(bo_layout_find_ga(l, "x"), 0);
    cr_assert_eq(bo_layout_find_section(l, "x"), 0);
    bo_layout_free(l);
}

Test(layout, boundary_values_are_accepted)
{
    char *id = repeat('i', BO_LAYOUT_MAX_ID), *name = repeat('n', BO_LAYOUT_MAX_NAME);
    char map[2048];
    snprintf(map, sizeof map,
             "{'name':'%s','size':{'width':1000000,'height':0.5},"
             "'focal_point':{'x':-1000000,'y':1000000}," CATS ",'sections':[{'id':'A','name':'S',"
             "'rows':[{'label':'1','seats':[{'id':'%s','number':'1','x':-1000000,'y':1e6,"
             "'category':'P1','rank':0}]}]}],'ga_areas':[" GA("g", "1000000",
                                                              "P1") "," GA("h", "5.0", "P1") "]}",
             name, id);
    bo_layout_t *l = parse_ok(map);
    cr_assert_eq(strlen(S(l, l->name)), BO_LAYOUT_MAX_NAME);
    cr_assert_eq(strlen(S(l, l->seats[0].id)), BO_LAYOUT_MAX_ID);
    cr_assert(l->seats[0].x == -1e6f && l->seats[0].y == 1e6f);
    cr_assert(l->width == 1e6 && l->height == 0.5);
    cr_assert_eq(l->ga[0].capacity, BO_LAYOUT_MAX_GA_CAPACITY);
    cr_assert_eq(l->ga[1].capacity, 5);
    cr_assert_eq(bo_layout_find_seat(l, id, strlen(id)), 0);
    assert_round_trip(l);
    bo_layout_free(l);
    free(id);
    free(name);
}

/* ---- lookups ----------------------------------------------------------- */

Test(layout, find_functions)
{
    bo_layout_t *l = parse_ok(GOOD);
    const char *ids[] = {"A-1-1", "A-1-2", "A-1-3", "A-2-1", "A-2-2", "B-1-1"};

    for (uint32_t i = 0; i < 6; i++)
        cr_assert_eq(bo_layout_find_seat(l, ids[i], strlen(ids[i])), i);
    cr_assert_eq(bo_layout_find_seat(l, "A-1-2xyz", 5), 1); /* only len bytes count */
    cr_assert_eq(bo_layout_find_seat(l, "A-1-", 4), BO_NONE);
    cr_assert_eq(bo_layout_find_seat(l, "A-1-11", 6), BO_NONE);
    cr_assert_eq(bo_layout_find_seat(l, "a-1-1", 5), BO_NONE); /* case matters */
    cr_assert_eq(bo_layout_find_seat(l, "A-1\0-1", 6), BO_NONE);
    cr_assert_eq(bo_layout_find_seat(l, "", 0), BO_NONE);
    cr_assert_eq(bo_layout_find_seat(l, NULL, 3), BO_NONE);

    cr_assert_eq(bo_layout_find_ga(l, "floor"), 0);
    cr_assert_eq(bo_layout_find_ga(l, "Floor"), BO_NONE);
    cr_assert_eq(bo_layout_find_ga(l, NULL), BO_NONE);
    cr_assert_eq(bo_layout_find_category(l, "P1"), 0);
    cr_assert_eq(bo_layout_find_category(l, "P2"), 1);
    cr_assert_eq(bo_layout_find_category(l, "P3"), BO_NONE);
    cr_assert_eq(bo_layout_find_section(l, "A"), 0);
    cr_assert_eq(bo_layout_find_section(l, "B"), 1);
    cr_assert_eq(bo_layout_find_section(l, "C"), BO_NONE);
    cr_assert_eq(bo_layout_find_section(l, NULL), BO_NONE);
    bo_layout_free(l);
}

/* ---- round trip -------------------------------------------------------- */

Test(layout, round_trip_handwritten)
{
    bo_layout_t *l = parse_ok(GOOD);
    assert_round_trip(l);
    bo_layout_free(l);

    /* Escapes, UTF-8, fractional and negative coordinates, odd floats. */
    l = parse_ok("{'name':'Salle \\\"Pleyel\\\" \\\\ \xc3\x89t\xc3\xa9 \\u00e9','size':"
                 "{'width':1234.5678,'height':0.1},'focal_point':{'x':-0.3,'y':1e-7},"
                 "'categories':[{'key':'\xe2\x82\xac','name':'Euro','color':'#ABCDEF'}],"
                 "'sections':[{'id':'S\\/1','name':'N','rows':[{'label':'\\\"A','seats':["
                 "{'id':'x\\\\1','number':'1','x':0.1,'y':-123.456789,'category':'\xe2\x82\xac'},"
                 "{'id':'x2','number':'2','x':3.4028e+5,'y':-0.0,'category':'\\u20ac',"
                 "'accessible':true}]}]}]}");
    cr_assert_str_eq(S(l, l->name), "Salle \"Pleyel\" \\ \xc3\x89t\xc3\xa9 \xc3\xa9");
    cr_assert_str_eq(S(l, l->sections[0].id), "S/1");
    cr_assert_str_eq(S(l, l->seats[0].id), "x\\1");
    cr_assert_eq(l->seats[1].category, 0);
    assert_round_trip(l);
    size_t len;
    char *json = bo_layout_to_json(l, &len);
    cr_assert_str_eq(json, "{\"name\":\"Salle \\\"Pleyel\\\" \\\\ \xc3\x89t\xc3\xa9 \xc3\xa9\","
                           "\"size\":{\"width\":1234.5678,\"height\":0.1},"
                           "\"focal_point\":{\"x\":-0.3,\"y\":1e-07},"
                           "\"categories\":[{\"key\":\"\xe2\x82\xac\",\"name\":\"Euro\","
                           "\"color\":\"#ABCDEF\"}],"
                           "\"sections\":[{\"id\":\"S/1\",\"name\":\"N\",\"rows\":[{\"label\":"
                           "\"\\\"A\",\"seats\":[{\"id\":\"x\\\\1\",\"number\":\"1\",\"x\":0.1,"
                           "\"y\":-123.45679,\"category\":\"\xe2\x82\xac\",\"rank\":0},"
                           "{\"id\":\"x2\",\"number\":\"2\",\"x\":340280,\"y\":0,"
                           "\"category\":\"\xe2\x82\xac\",\"accessible\":true,\"rank\":1}]}]}],"
                           "\"ga_areas\":[]}");
    free(json);
    bo_layout_free(l);
}

/* ---- every kind of problem --------------------------------------------- */

Test(problems, root_and_syntax)
{
    EXPECT("[1]", "$: must be an object, got array");
    EXPECT("{'name':", "$: invalid JSON at line 1 column 8: unexpected token near end of file");
    EXPECT("", "$: invalid JSON at line 1 column 0: '[' or '{' expected near end of file");
    /* jansson's column is that of the last character of the offending token. */
    EXPECT("{'name':'a',\n 'name':'b'}",
           "$: invalid JSON at line 2 column 7: duplicate object key near '\"name\"'");
    EXPECT("{'name':'\xff'}", "$: invalid JSON at line 1 column 9: unable to decode byte 0xff "
                              "near '\"'");
    EXPECT("{'name':'a','x':1e400}",
           "$: invalid JSON at line 1 column 21: real number overflow near '1e400'");
}

Test(problems, too_large)
{
    char *big = calloc(1, (size_t)BO_LAYOUT_MAX_BYTES + 1); /* untouched pages: cheap */
    bo_layout_t *l = (bo_layout_t *)1;
    bo_problems_t probs = {0};
    cr_assert_not_null(big);
    cr_assert_eq(bo_layout_parse(big, (size_t)BO_LAYOUT_MAX_BYTES + 1, &l, &probs), BO_ETOOLARGE);
    cr_assert_null(l);
    cr_assert_eq(probs.total, 1);
    cr_assert_str_eq(probs.items[0], "$: too large: 67108865 bytes, at most 67108864");
    bo_problems_free(&probs);
    cr_assert_eq(probs.n, 0);
    cr_assert_null(probs.items);
    free(big);
}

Test(problems, missing_wrong_type_empty_too_long)
{
    EXPECT("{" CATS ",'sections':[" SECTION("A", ROW("1", SEAT("a"))) "]}",
           "name: missing required field");
    EXPECT("{'name':5," CATS ",'sections':[" SECTION("A", ROW("1", SEAT("a"))) "]}",
           "name: must be a string, got number");
    EXPECT("{'name':''," CATS ",'sections':[" SECTION("A", ROW("1", SEAT("a"))) "]}",
           "name: must be a non-empty string");
    EXPECT(ONE_SEAT_MAP("{}"), "sections[0].rows[0].seats[0].id: missing required field",
           "sections[0].rows[0].seats[0].number: missing required field",
           "sections[0].rows[0].seats[0].x: missing required field",
           "sections[0].rows[0].seats[0].y: missing required field",
           "sections[0].rows[0].seats[0].category: missing required field");
    EXPECT(ONE_SEAT_MAP("{'id':null,'number':1,'x':'1','y':[],'category':{},'accessible':'no'}"),
           "sections[0].rows[0].seats[0].id: must be a string, got null",
           "sections[0].rows[0].seats[0].number: must be a string, got number",
           "sections[0].rows[0].seats[0].x: must be a number, got string",
           "sections[0].rows[0].seats[0].y: must be a number, got array",
           "sections[0].rows[0].seats[0].category: must be a string, got object",
           "sections[0].rows[0].seats[0].accessible: must be a boolean, got string");
    EXPECT(MAP("{'id':'','name':'S','rows':[{'label':'','seats':[" SEAT("a") "]}]}"),
           "sections[0].id: must be a non-empty string",
           "sections[0].rows[0].label: must be a non-empty string");

    char *longname = repeat('n', BO_LAYOUT_MAX_NAME + 1), *longid = repeat('i', 65);
    char map[2048];
    snprintf(map, sizeof map,
             "{'name':'%s'," CATS ",'sections':[" SECTION(
                 "A", ROW("1", "{'id':'%s','number':'1','x':1,'y':1,'category':'P1'}")) "]}",
             longname, longid);
    EXPECT(map, "name: too long: 201 bytes, at most 200",
           "sections[0].rows[0].seats[0].id: too long: 65 bytes, at most 64");
    free(longname);
    free(longid);
}

Test(problems, wrong_structure)
{
    EXPECT("{'name':'H','categories':{},'sections':{},'ga_areas':'x','size':[],'focal_point':1}",
           "size: must be an object, got array", "focal_point: must be an object, got number",
           "categories: must be an array, got object", "sections: must be an array, got object",
           "ga_areas: must be an array, got string");
    EXPECT("{'name':'H'," CATS ",'sections':[7,{'id':'A','name':'S','rows':['r']}]}",
           "sections[0]: must be an object, got number",
           "sections[1].rows[0]: must be an object, got string");
    EXPECT(ONE_SEAT_MAP("true"), "sections[0].rows[0].seats[0]: must be an object, got boolean");
    EXPECT(MAP("{'id':'A','name':'S'}"), "sections[0].rows: missing required field");
    EXPECT(MAP("{'id':'A','name':'S','rows':[{'label':'1','seats':3}]}"),
           "sections[0].rows[0].seats: must be an array, got number");
}

Test(problems, control_characters)
{
    EXPECT(ONE_SEAT_MAP("{'id':'a\\u0001b','number':'1\\t','x':1,'y':1,'category':'P1'}"),
           "sections[0].rows[0].seats[0].id: must not contain control characters",
           "sections[0].rows[0].seats[0].number: must not contain control characters");
    EXPECT(MAP("{'id':'A\\u007f','name':'x\\u0085y','rows':[" ROW("1", SEAT("a")) "]}"),
           "sections[0].id: must not contain control characters",
           "sections[0].name: must not contain control characters");
    /* Printable non-ASCII is fine, including U+00A0 (C2 A0) right after the C1 range. */
    bo_layout_t *l = parse_ok(ONE_SEAT_MAP(SEAT("\xc2\xa0\xe5\xba\xa7")));
    bo_layout_free(l);
}

Test(problems, duplicates)
{
    EXPECT(MAP(SECTION("A", ROW("1", SEAT("a") "," SEAT("b"))) "," SECTION(
               "B", ROW("1", SEAT("c")) "," ROW("2", SEAT("b") "," SEAT("a")))),
           "sections[1].rows[1].seats[0].id: duplicate seat id \"b\"",
           "sections[1].rows[1].seats[1].id: duplicate seat id \"a\"");
    EXPECT(MAP(SECTION("A", ROW("1", SEAT("a"))) "," SECTION("A", ROW("1", SEAT("b")))),
           "sections[1].id: duplicate section id \"A\"");
    EXPECT("{'name':'H','categories':[{'key':'P1','name':'a','color':'#000000'},"
           "{'key':'P1','name':'b','color':'#ffffff'}],'sections':[" SECTION(
               "A", ROW("1", SEAT("a"))) "]}",
           "categories[1].key: duplicate category key \"P1\"");
    EXPECT(MAP_GA(SECTION("A", ROW("1", SEAT("a"))),
                  GA("floor", "1", "P1") "," GA("pit", "1", "P1") "," GA("floor", "2", "P1")),
           "ga_areas[2].id: duplicate GA area id \"floor\"");
}

Test(problems, unknown_category)
{
    EXPECT(MAP_GA(SECTION("A", ROW("1", SEAT("a") ",{'id':'b','number':'2','x':1,'y':1,"
                                                  "'category':'P9'}")),
                  GA("floor", "10", "GA")),
           "sections[0].rows[0].seats[1].category: unknown category \"P9\"",
           "ga_areas[0].category: unknown category \"GA\"");
    /* Without a usable category list, seats are not reported one by one. */
    EXPECT("{'name':'H','sections':[" SECTION("A", ROW("1", SEAT("a") "," SEAT("b"))) "]}",
           "categories: missing required field");
}

Test(problems, coordinates_and_size)
{
    EXPECT(ONE_SEAT_MAP("{'id':'a','number':'1','x':1000000.5,'y':-1000001,'category':'P1'}"),
           "sections[0].rows[0].seats[0].x: must be a number between -1000000 and 1000000",
           "sections[0].rows[0].seats[0].y: must be a number between -1000000 and 1000000");
    EXPECT("{'name':'H','size':{'width':0,'height':-5},'focal_point':{'x':2e6}," CATS
           ",'sections':[" SECTION("A", ROW("1", SEAT("a"))) "]}",
           "size.width: must be a number greater than 0 and at most 1000000",
           "size.height: must be a number greater than 0 and at most 1000000",
           "focal_point.x: must be a number between -1000000 and 1000000",
           "focal_point.y: missing required field");
    EXPECT("{'name':'H','size':{'width':1000001,'height':'9'}," CATS
           ",'sections':[" SECTION("A", ROW("1", SEAT("a"))) "]}",
           "size.width: must be a number greater than 0 and at most 1000000",
           "size.height: must be a number, got string");
}

Test(problems, rank)
{
    EXPECT(ONE_SEAT_MAP("{'id':'a','number':'1','x':1,'y':1,'category':'P1','rank':-1}"),
           "sections[0].rows[0].seats[0].rank: must be a number >= 0");
    EXPECT(ONE_SEAT_MAP("{'id':'a','number':'1','x':1,'y':1,'category':'P1','rank':'1'}"),
           "sections[0].rows[0].seats[0].rank: must be a number, got string");
}

Test(problems, capacity)
{
    EXPECT(
        MAP_GA(SECTION("A", ROW("1", SEAT("a"))),
               GA("g0", "0", "P1") "," GA("g1", "1000001", "P1") "," GA("g2", "2.5", "P1") "," GA(
                   "g3", "-3", "P1") "," GA("g4", "'10'",
                                            "P1") ","
                                                  "{'id':'g5','name':'F','category':'P1'}"),
        "ga_areas[0].capacity: must be an integer between 1 and 1000000",
        "ga_areas[1].capacity: must be an integer between 1 and 1000000",
        "ga_areas[2].capacity: must be an integer between 1 and 1000000",
        "ga_areas[3].capacity: must be an integer between 1 and 1000000",
        "ga_areas[4].capacity: must be a number, got string",
        "ga_areas[5].capacity: missing required field");
}

Test(problems, color)
{
    EXPECT("{'name':'H','categories':[{'key':'a','name':'a','color':'red'},"
           "{'key':'b','name':'b','color':'#12345g'},{'key':'c','name':'c','color':'#1234567'},"
           "{'key':'d','name':'d','color':'#abc'},{'key':'e','name':'e','color':'123456#'},"
           "{'key':'f','name':'f','color':7},{'key':'P1','name':'P','color':'#AbCdEf'}],"
           "'sections':[" SECTION("A", ROW("1", SEAT("a"))) "]}",
           "categories[0].color: must be a color \"#rrggbb\"",
           "categories[1].color: must be a color \"#rrggbb\"",
           "categories[2].color: must be a color \"#rrggbb\"",
           "categories[3].color: must be a color \"#rrggbb\"",
           "categories[4].color: must be a color \"#rrggbb\"",
           "categories[5].color: must be a string, got number");
}

Test(problems, empty_venue_section_row)
{
    EXPECT("{'name':'H'," CATS ",'sections':[]}", "$: the venue has no seats and no GA areas");
    EXPECT("{'name':'H'," CATS ",'sections':[],'ga_areas':[]}",
           "$: the venue has no seats and no GA areas");
    EXPECT(MAP("{'id':'A','name':'S','rows':[]}"),
           "sections[0].rows: a section must have at least one row");
    EXPECT(MAP(SECTION("A", ROW("1", SEAT("a")) "," ROW("2", ""))),
           "sections[0].rows[1].seats: a row must have at least one seat");
}

Test(problems, several_at_once_in_field_order)
{
    EXPECT("{'name':'','size':{'width':10},"
           " 'categories':[{'key':'P1','name':'Premium','color':'#c0392b'},"
           "               {'key':'P1','name':'Again','color':'blue'}],"
           " 'sections':[{'id':'A','name':'S','rows':["
           "   {'label':'1','seats':[" SEAT(
               "a") ",{'id':'a','number':'2','x':1,'y':1e7,"
                    "                         'category':'P5'}]},"
                    "   {'label':'2','seats':[]}]},"
                    "  {'id':'A','name':'S2','rows':[]}],"
                    " 'ga_areas':[{'id':'floor','name':'Floor','capacity':0,'category':'P1'}]}",
           "name: must be a non-empty string", "size.height: missing required field",
           "categories[1].key: duplicate category key \"P1\"",
           "categories[1].color: must be a color \"#rrggbb\"",
           "sections[0].rows[0].seats[1].id: duplicate seat id \"a\"",
           "sections[0].rows[0].seats[1].y: must be a number between -1000000 and 1000000",
           "sections[0].rows[0].seats[1].category: unknown category \"P5\"",
           "sections[0].rows[1].seats: a row must have at least one seat",
           "sections[1].id: duplicate section id \"A\"",
           "sections[1].rows: a section must have at least one row",
           "ga_areas[0].capacity: must be an integer between 1 and 1000000");
}

Test(problems, kept_up_to_the_limit_and_counted_beyond)
{
    struct sb s = {0};
    sbf(&s, "{'name':'H'," CATS ",'sections':[{'id':'A','name':'S','rows':[{'label':'1',"
            "'seats':[");
    for (int i = 0; i < 150; i++)
        sbf(&s, "%s{'id':'%d','number':'1','x':1,'y':1,'category':'X'}", i ? "," : "", i);
    sbf(&s, "]}]}]}");
    char *json = dq(s.b);
    bo_layout_t *l = NULL;
    bo_problems_t probs = {0};
    cr_assert_eq(bo_layout_parse(json, strlen(json), &l, &probs), BO_EINVAL);
    cr_assert_eq(probs.total, 150);
    cr_assert_eq(probs.n, BO_LAYOUT_MAX_PROBLEMS);
    cr_assert_str_eq(probs.items[0],
                     "sections[0].rows[0].seats[0].category: unknown category \"X\"");
    cr_assert_str_eq(probs.items[99],
                     "sections[0].rows[0].seats[99].category: unknown category \"X\"");
    /* Problems are appended: a second bad map adds to the same list. */
    cr_assert_eq(bo_layout_parse("[]", 2, &l, &probs), BO_EINVAL);
    cr_assert_eq(probs.total, 151);
    cr_assert_eq(probs.n, BO_LAYOUT_MAX_PROBLEMS);
    /* probs may be NULL: the answer is the same. */
    cr_assert_eq(bo_layout_parse(json, strlen(json), &l, NULL), BO_EINVAL);
    cr_assert_null(l);
    bo_problems_free(&probs);
    free(json);
    free(s.b);
}

/* ---- limits: one problem at the array's path --------------------------- */

Test(limits, too_many_seats_in_the_venue)
{
    /* 101 sections x 2 rows x 1001 seats: row [99][1] would bring 200,200. */
    char *json = grid_map(101, 2, 1001);
    const char *want[] = {"sections[99].rows[1].seats: too many seats in the venue: more than "
                          "200000"};
    expect_rc(BO_EINVAL, json, want, 1);
    free(json);
    /* Exactly the bound is fine: 100 x 2 x 1000. */
    json = grid_map(100, 2, 1000);
    bo_layout_t *l = parse_ok(json);
    cr_assert_eq(l->nseats, BO_LAYOUT_MAX_SEATS);
    cr_assert_eq(bo_layout_find_seat(l, "99-1-999", 8), BO_LAYOUT_MAX_SEATS - 1);
    bo_layout_free(l);
    free(json);
}

Test(limits, too_many_seats_in_one_row)
{
    char *json = grid_map(1, 2, BO_LAYOUT_MAX_ROW_SEATS + 1);
    const char *want[] = {
        "sections[0].rows[0].seats: too many seats in one row: 2001, at most 2000",
        "sections[0].rows[1].seats: too many seats in one row: 2001, at most 2000"};
    expect_rc(BO_EINVAL, json, want, 2);
    free(json);
}

Test(limits, too_many_rows)
{
    char *json = grid_map(1, BO_LAYOUT_MAX_ROWS + 1, 1);
    const char *want[] = {"sections[0].rows: too many rows in the venue: more than 20000"};
    expect_rc(BO_EINVAL, json, want, 1);
    free(json);
    json = grid_map(3, 10000, 1); /* the second section reaches 20,000, the third is over */
    const char *want3[] = {"sections[2].rows: too many rows in the venue: more than 20000"};
    expect_rc(BO_EINVAL, json, want3, 1);
    free(json);
}

Test(limits, too_many_sections_categories_ga)
{
    char *json = grid_map(BO_LAYOUT_MAX_SECTIONS + 1, 1, 1);
    const char *want[] = {"sections: too many sections: 1001, at most 1000"};
    expect_rc(BO_EINVAL, json, want, 1);
    free(json);

    struct sb s = {0};
    sbf(&s, "{'name':'H','categories':[");
    for (int i = 0; i <= 64; i++)
        sbf(&s, "%s{'key':'P%d','name':'C','color':'#000000'}", i ? "," : "", i + 1);
    sbf(&s, "],'sections':[" SECTION("A", ROW("1", SEAT("a"))) "]}");
    const char *want_c[] = {"categories: too many categories: 65, at most 64"};
    expect_rc(BO_EINVAL, s.b, want_c, 1);
    free(s.b);

    s = (struct sb){0};
    sbf(&s, "{'name':'H'," CATS ",'sections':[],'ga_areas':[");
    for (int i = 0; i <= 256; i++)
        sbf(&s, "%s{'id':'g%d','name':'G','capacity':1,'category':'P1'}", i ? "," : "", i);
    sbf(&s, "]}");
    const char *want_g[] = {"ga_areas: too many GA areas: 257, at most 256"};
    expect_rc(BO_EINVAL, s.b, want_g, 1);
    free(s.b);
}

/* ---- the generator ----------------------------------------------------- */

static bo_layout_t *generate_and_parse(const bo_venue_gen_t *g)
{
    size_t len = 0;
    char *json = bo_venue_generate(g, &len);
    cr_assert_not_null(json);
    cr_assert_eq(strlen(json), len);
    bo_layout_t *l = NULL;
    bo_problems_t probs = {0};
    int rc = bo_layout_parse(json, len, &l, &probs);
    cr_assert_eq(rc, 0, "%s", probs.n ? probs.items[0] : "-");
    free(json);
    return l;
}

Test(generator, stadium_100k_with_ga)
{
    bo_venue_gen_t g = {.sections = 40,
                        .rows = 50,
                        .seats = 50,
                        .ga_areas = 2,
                        .ga_capacity = 5000,
                        .categories = 5};
    bo_layout_t *l = generate_and_parse(&g);

    cr_assert_eq(l->nseats, 100000);
    cr_assert_eq(l->nsections, 40);
    cr_assert_eq(l->nrows, 2000);
    cr_assert_str_eq(S(l, l->name), "Generated Arena");
    /* Unique ids: each one finds its own seat. */
    for (uint32_t i = 0; i < l->nseats; i++) {
        const char *id = S(l, l->seats[i].id);
        if (bo_layout_find_seat(l, id, strlen(id)) != i)
            cr_assert_fail("seat %u (%s) not found at its index", i, id);
    }
    assert_ranks_dense(l);
    cr_assert(l->seat_hash_mask + 1 >= 2 * l->nseats);
    cr_assert_lt(layout_bytes(l), 8u << 20, "layout takes %zu bytes", layout_bytes(l));

    cr_assert_eq(l->ncategories, 6);
    const char *keys[] = {"P1", "P2", "P3", "P4", "P5", "GA"};
    for (uint32_t c = 0; c < 6; c++)
        cr_assert_str_eq(S(l, l->categories[c].key), keys[c]);
    cr_assert_eq(l->nga, 2);
    cr_assert_str_eq(S(l, l->ga[0].id), "ga1");
    cr_assert_str_eq(S(l, l->ga[0].name), "Floor");
    cr_assert_str_eq(S(l, l->ga[1].id), "ga2");
    cr_assert_str_eq(S(l, l->ga[1].name), "Floor 2");
    cr_assert(l->ga[0].capacity == 5000 && l->ga[0].category == 5 && l->ga[1].category == 5);

    /* Names: section S40, row 27 is "AA", seat numbers from 1. */
    cr_assert_str_eq(S(l, l->seats[0].id), "S1-A-1");
    uint32_t s = bo_layout_find_seat(l, "S40-AX-50", 9);
    cr_assert_eq(s, l->nseats - 1);
    cr_assert_str_eq(S(l, l->rows[26].label), "AA");
    cr_assert_str_eq(S(l, l->sections[39].id), "S40");
    cr_assert_str_eq(S(l, l->seats[s].number), "50");
    cr_assert_eq(l->seats[s].accessible, 1); /* the last row's end seats */
    cr_assert_eq(l->seats[s - 1].accessible, 0);

    /* Inside the venue, stage (focal point) at the top, P1 nearest to it. */
    cr_assert(l->has_focal && l->width > 0 && l->height > 0);
    double band_min[5], band_max[5];
    uint32_t band_seats[5] = {0};
    for (int c = 0; c < 5; c++)
        band_min[c] = INFINITY, band_max[c] = 0;
    for (uint32_t i = 0; i < l->nseats; i++) {
        const bo_seat_t *st = &l->seats[i];
        if (!(st->x > 0 && st->x < l->width && st->y > 0 && st->y < l->height))
            cr_assert_fail("seat %u at %g,%g is outside the venue", i, st->x, st->y);
        double d = hypot(st->x - l->focal_x, st->y - l->focal_y);
        band_min[st->category] = fmin(band_min[st->category], d);
        band_max[st->category] = fmax(band_max[st->category], d);
        band_seats[st->category]++;
    }
    for (int c = 0; c < 5; c++) /* bands of equal width in distance: none is empty */
        cr_assert_gt(band_seats[c], 1000, "band %d has %u seats", c, band_seats[c]);
    for (int c = 0; c < 4; c++)
        cr_assert_leq(band_max[c], band_min[c + 1] + 0.5, "band %d overlaps the next", c);
    cr_assert_lt(l->focal_y, l->height / 4);          /* the stage is at the top */
    cr_assert_lt(fabs(l->focal_x - l->width / 2), 1); /* in the middle */
    bo_layout_free(l);
}

Test(generator, round_trip)
{
    bo_venue_gen_t g = {.name = "R\xc3\xa9publique \"Hall\"",
                        .sections = 12,
                        .rows = 30,
                        .seats = 24,
                        .ga_areas = 3,
                        .ga_capacity = 700,
                        .categories = 8,
                        .aisle_every = 6};
    bo_layout_t *l = generate_and_parse(&g);
    cr_assert_str_eq(S(l, l->name), "R\xc3\xa9publique \"Hall\"");
    cr_assert_eq(l->nseats, 12 * 30 * 24);
    cr_assert_eq(l->ncategories, 9);
    assert_round_trip(l);
    bo_layout_free(l);
}

Test(generator, deterministic_and_aisles)
{
    bo_venue_gen_t g = {.sections = 1, .rows = 1, .seats = 10, .categories = 1, .aisle_every = 5};
    size_t n1, n2;
    char *a = bo_venue_generate(&g, &n1), *b = bo_venue_generate(&g, &n2);
    cr_assert(a && b && n1 == n2 && memcmp(a, b, n1) == 0);
    free(a);
    free(b);

    bo_layout_t *l = generate_and_parse(&g);
    const bo_seat_t *s = l->seats;
    double gap = hypot(s[5].x - s[4].x, s[5].y - s[4].y);
    double pitch = hypot(s[4].x - s[3].x, s[4].y - s[3].y);
    cr_assert(pitch > 9 && pitch < 11, "pitch %g", pitch);
    cr_assert(fabs(gap - 2 * pitch) < 0.5, "aisle %g, pitch %g", gap, pitch);
    for (int i = 1; i < 10; i++) { /* seats follow each other along the row */
        double d = hypot(s[i].x - s[i - 1].x, s[i].y - s[i - 1].y);
        cr_assert(fabs(d - (i == 5 ? gap : pitch)) < 0.2, "seats %d-%d: %g apart", i - 1, i, d);
    }
    bo_layout_free(l);
}

Test(generator, row_labels_and_ga_only)
{
    bo_venue_gen_t g = {.sections = 1, .rows = 703, .seats = 1, .categories = 2};
    bo_layout_t *l = generate_and_parse(&g);
    const char *want[][2] = {{"0", "A"},   {"25", "Z"},   {"26", "AA"},  {"51", "AZ"},
                             {"52", "BA"}, {"701", "ZZ"}, {"702", "AAA"}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        cr_assert_str_eq(S(l, l->rows[atoi(want[i][0])].label), want[i][1]);
    cr_assert_str_eq(S(l, l->seats[702].id), "S1-AAA-1");
    bo_layout_free(l);

    g = (bo_venue_gen_t){.name = "Field", .ga_areas = 3, .ga_capacity = 1000, .categories = 1};
    l = generate_and_parse(&g);
    cr_assert(l->nseats == 0 && l->nsections == 0 && l->nga == 3 && l->ncategories == 2);
    cr_assert_str_eq(S(l, l->ga[2].name), "Floor 3");
    bo_layout_free(l);
}

Test(generator, rejects_parameters_past_the_bounds)
{
    const bo_venue_gen_t ok = {.sections = 2, .rows = 2, .seats = 2, .categories = 1};
    struct {
        const char *why;
        bo_venue_gen_t g;
    } bad[] = {
        {"no categories", {.sections = 2, .rows = 2, .seats = 2}},
        {"9 categories", {.sections = 2, .rows = 2, .seats = 2, .categories = 9}},
        {"nothing", {.categories = 1}},
        {"no rows", {.sections = 2, .seats = 2, .categories = 1}},
        {"no seats", {.sections = 2, .rows = 2, .categories = 1}},
        {"sections", {.sections = 1001, .rows = 1, .seats = 1, .categories = 1}},
        {"row seats", {.sections = 1, .rows = 1, .seats = 2001, .categories = 1}},
        {"rows", {.sections = 2, .rows = 10001, .seats = 1, .categories = 1}},
        {"seats", {.sections = 101, .rows = 2, .seats = 1000, .categories = 1}},
        {"huge", {.sections = 1000, .rows = UINT32_MAX, .seats = UINT32_MAX, .categories = 1}},
        {"ga areas", {.ga_areas = 257, .ga_capacity = 1, .categories = 1}},
        {"ga capacity 0", {.ga_areas = 1, .categories = 1}},
        {"ga capacity", {.ga_areas = 1, .ga_capacity = 1000001, .categories = 1}},
        {"empty name", {.name = "", .sections = 1, .rows = 1, .seats = 1, .categories = 1}},
        {"control", {.name = "a\nb", .sections = 1, .rows = 1, .seats = 1, .categories = 1}},
        {"utf-8", {.name = "a\xff", .sections = 1, .rows = 1, .seats = 1, .categories = 1}},
        {"surrogate",
         {.name = "\xed\xa0\x80", .sections = 1, .rows = 1, .seats = 1, .categories = 1}},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_null(bo_venue_generate(&bad[i].g, NULL), "%s", bad[i].why);
    char *json = bo_venue_generate(&ok, NULL);
    cr_assert_not_null(json);
    free(json);
}

Test(generator, largest_venue_fits_the_bounds)
{
    /* 100 sections of 1 row of 2000 seats with an aisle every seat: the raw
     * horseshoe (radius ~900,000) is wider than the coordinate bound, so it is
     * scaled down. */
    bo_venue_gen_t g = {.sections = 100,
                        .rows = 1,
                        .seats = 2000,
                        .categories = 8,
                        .aisle_every = 1,
                        .ga_areas = 256,
                        .ga_capacity = 1000000};
    bo_layout_t *l = generate_and_parse(&g);
    cr_assert_eq(l->nseats, BO_LAYOUT_MAX_SEATS);
    cr_assert_eq(l->nga, BO_LAYOUT_MAX_GA_AREAS);
    cr_assert_leq(l->width, BO_LAYOUT_MAX_COORD);
    cr_assert_leq(l->height, BO_LAYOUT_MAX_COORD);
    cr_assert_gt(l->width, 800000); /* scaled to fit, not shrunk to nothing */
    assert_ranks_dense(l);
    bo_layout_free(l);
}
