/*
 * test_best.c - best available (src/engine/best.c): the fixed cases of the
 * spec in engine.h on small seat maps, then a randomized comparison with a
 * brute-force reference that enumerates every block and every split.
 *
 * Every search runs twice, with row_free and without, and both answers must
 * be identical. BOXOFFICE_SEED=n replays the random test.
 */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "boxoffice/engine.h"
#include "boxoffice/error.h"
#include "boxoffice/layout.h"

#define ANY BO_NONE

/* ---- seat maps ---------------------------------------------------------- */

/* One seat of a map, its id made of row and number. */
#define SEAT(row, n, x, y, cat, rank)                                                              \
    "{\"id\":\"" row n "\",\"number\":\"" n "\",\"x\":" #x ",\"y\":" #y ",\"category\":\"" cat     \
    "\",\"rank\":" #rank "}"

#define CATEGORIES                                                                                 \
    "\"categories\":[{\"key\":\"standard\",\"name\":\"Standard\",\"color\":\"#336699\"},"          \
    "{\"key\":\"premium\",\"name\":\"Premium\",\"color\":\"#cc9900\"}]"

/*
 * A small theatre. Explicit ranks 0..35, best at the stage centre.
 *   stalls   A  1..8  seats  0..7   ranks  6  4  2  0  1  3  5  7
 *            B  1..8  seats  8..15  ranks 14 12 10  8  9 11 13 15
 *            C  1..8  seats 16..23  ranks 22 20 18 16 17 19 21 23
 *   balcony  D  1..6  seats 24..29  ranks 28 26 24 25 27 29
 *            E  1..6  seats 30..35  ranks 34 32 30 31 33 35
 * Seats 3..6 of rows A and B are premium, every other seat standard.
 */
// clang-format off
static const char THEATRE[] =
    "{\"name\":\"Little Theatre\",\"focal_point\":{\"x\":4.5,\"y\":0}," CATEGORIES ","
    "\"sections\":["
    "{\"id\":\"stalls\",\"name\":\"Stalls\",\"rows\":["
    "{\"label\":\"A\",\"seats\":["
        SEAT("A","1",1,1,"standard",6) "," SEAT("A","2",2,1,"standard",4) ","
        SEAT("A","3",3,1,"premium",2)  "," SEAT("A","4",4,1,"premium",0)  ","
        SEAT("A","5",5,1,"premium",1)  "," SEAT("A","6",6,1,"premium",3)  ","
        SEAT("A","7",7,1,"standard",5) "," SEAT("A","8",8,1,"standard",7) "]},"
    "{\"label\":\"B\",\"seats\":["
        SEAT("B","1",1,2,"standard",14) "," SEAT("B","2",2,2,"standard",12) ","
        SEAT("B","3",3,2,"premium",10)  "," SEAT("B","4",4,2,"premium",8)   ","
        SEAT("B","5",5,2,"premium",9)   "," SEAT("B","6",6,2,"premium",11)  ","
        SEAT("B","7",7,2,"standard",13) "," SEAT("B","8",8,2,"standard",15) "]},"
    "{\"label\":\"C\",\"seats\":["
        SEAT("C","1",1,3,"standard",22) "," SEAT("C","2",2,3,"standard",20) ","
        SEAT("C","3",3,3,"standard",18) "," SEAT("C","4",4,3,"standard",16) ","
        SEAT("C","5",5,3,"standard",17) "," SEAT("C","6",6,3,"standard",19) ","
        SEAT("C","7",7,3,"standard",21) "," SEAT("C","8",8,3,"standard",23) "]}]},"
    "{\"id\":\"balcony\",\"name\":\"Balcony\",\"rows\":["
    "{\"label\":\"D\",\"seats\":["
        SEAT("D","1",2,5,"standard",28) "," SEAT("D","2",3,5,"standard",26) ","
        SEAT("D","3",4,5,"standard",24) "," SEAT("D","4",5,5,"standard",25) ","
        SEAT("D","5",6,5,"standard",27) "," SEAT("D","6",7,5,"standard",29) "]},"
    "{\"label\":\"E\",\"seats\":["
        SEAT("E","1",2,6,"standard",34) "," SEAT("E","2",3,6,"standard",32) ","
        SEAT("E","3",4,6,"standard",30) "," SEAT("E","4",5,6,"standard",31) ","
        SEAT("E","5",6,6,"standard",33) "," SEAT("E","6",7,6,"standard",35) "]}]}]}";

/* Two rows of five whose best pairs tie: A1 A2 (1 + 2) and B1 B2 (0 + 3). */
static const char TWINS[] =
    "{\"name\":\"Twins\"," CATEGORIES ",\"sections\":["
    "{\"id\":\"floor\",\"name\":\"Floor\",\"rows\":["
    "{\"label\":\"A\",\"seats\":["
        SEAT("A","1",1,1,"standard",1) "," SEAT("A","2",2,1,"standard",2) ","
        SEAT("A","3",3,1,"standard",4) "," SEAT("A","4",4,1,"standard",6) ","
        SEAT("A","5",5,1,"standard",8) "]},"
    "{\"label\":\"B\",\"seats\":["
        SEAT("B","1",1,2,"standard",0) "," SEAT("B","2",2,2,"standard",3) ","
        SEAT("B","3",3,2,"standard",5) "," SEAT("B","4",4,2,"standard",7) ","
        SEAT("B","5",5,2,"standard",9) "]}]}]}";
// clang-format on

/* ---- a venue with a free/taken state ------------------------------------ */

typedef struct venue {
    bo_layout_t *l;
    bo_best_index_t *ix;
    uint8_t *taken;     /* per seat */
    uint16_t *row_free; /* per row, kept exact */
} venue_t;

static int seat_free(void *ctx, uint32_t seat)
{
    const venue_t *v = ctx;
    cr_assert_lt(seat, v->l->nseats);
    return !v->taken[seat];
}

static void venue_open(venue_t *v, const char *json)
{
    bo_problems_t probs = {0};
    int rc = bo_layout_parse(json, strlen(json), &v->l, &probs);
    cr_assert_eq(rc, 0, "layout: %s", probs.n ? probs.items[0] : "?");
    bo_problems_free(&probs);
    cr_assert_eq(bo_best_index_new(v->l, &v->ix), 0);
    v->taken = calloc(v->l->nseats, 1);
    v->row_free = calloc(v->l->nrows, sizeof(uint16_t));
    for (uint32_t r = 0; r < v->l->nrows; r++)
        v->row_free[r] = (uint16_t)v->l->rows[r].nseats;
}

static void venue_close(venue_t *v)
{
    bo_best_index_free(v->ix);
    bo_layout_free(v->l);
    free(v->taken);
    free(v->row_free);
}

static void set_taken(venue_t *v, uint32_t seat, int taken)
{
    if (v->taken[seat] == taken)
        return;
    v->taken[seat] = (uint8_t)taken;
    v->row_free[v->l->seats[seat].row] += taken ? -1 : 1;
}

/* Row `label` as a picture: '.' free, 'x' taken, one character a seat. */
static void row_state(venue_t *v, const char *label, const char *picture)
{
    for (uint32_t r = 0; r < v->l->nrows; r++) {
        const bo_row_t *row = &v->l->rows[r];
        if (strcmp(bo_layout_str(v->l, row->label), label) != 0)
            continue;
        cr_assert_eq(strlen(picture), row->nseats, "row %s has %u seats", label, row->nseats);
        for (uint32_t i = 0; i < row->nseats; i++)
            set_taken(v, row->first_seat + i, picture[i] == 'x');
        return;
    }
    cr_assert_fail("no row %s", label);
}

static void take_all(venue_t *v)
{
    for (uint32_t s = 0; s < v->l->nseats; s++)
        set_taken(v, s, 1);
}

/* The search with row_free and without: both must give the same answer. */
static int best(venue_t *v, uint32_t q, uint32_t cat, uint32_t sec, uint32_t *out)
{
    uint32_t other[BO_HOLD_MAX_SEATS];
    int rc = bo_best_available(v->ix, v->row_free, seat_free, v, q, cat, sec, out);
    int rc2 = bo_best_available(v->ix, NULL, seat_free, v, q, cat, sec, other);
    cr_assert_eq(rc, rc2, "row_free changed the answer: %d vs %d", rc, rc2);
    if (rc == 0)
        cr_assert_arr_eq(out, other, q * sizeof(uint32_t), "row_free changed the seats");
    return rc;
}

static void expect_seats(venue_t *v, uint32_t q, uint32_t cat, uint32_t sec, const uint32_t *want)
{
    uint32_t got[BO_HOLD_MAX_SEATS];
    int rc = best(v, q, cat, sec, got);
    cr_assert_eq(rc, 0, "quantity %u: %s", q, bo_strerror(rc));
    for (uint32_t i = 0; i < q; i++) {
        cr_assert_eq(got[i], want[i], "quantity %u, seat %u: got %u (%s), want %u (%s)", q, i,
                     got[i], bo_layout_str(v->l, v->l->seats[got[i]].id), want[i],
                     bo_layout_str(v->l, v->l->seats[want[i]].id));
        cr_assert(!v->taken[got[i]]);
    }
}

#define EXPECT(v, q, cat, sec, ...)                                                                \
    do {                                                                                           \
        const uint32_t want_[] = {__VA_ARGS__};                                                    \
        cr_assert_eq(sizeof(want_) / sizeof(want_[0]), (q));                                       \
        expect_seats((v), (q), (cat), (sec), want_);                                               \
    } while (0)

static void expect_none(venue_t *v, uint32_t q, uint32_t cat, uint32_t sec)
{
    uint32_t got[BO_HOLD_MAX_SEATS];
    int rc = best(v, q, cat, sec, got);
    cr_assert_eq(rc, BO_ENOSEATS, "quantity %u: got %d, first seat %u", q, rc, got[0]);
}

static uint32_t category(venue_t *v, const char *key)
{
    uint32_t c = bo_layout_find_category(v->l, key);
    cr_assert_neq(c, BO_NONE);
    return c;
}

static uint32_t section(venue_t *v, const char *id)
{
    uint32_t s = bo_layout_find_section(v->l, id);
    cr_assert_neq(s, BO_NONE);
    return s;
}

/* ---- fixed cases -------------------------------------------------------- */

Test(best, lowest_rank_sum_in_one_row)
{
    venue_t v;
    venue_open(&v, THEATRE);
    EXPECT(&v, 1, ANY, ANY, 3);                      /* A4, rank 0 */
    EXPECT(&v, 2, ANY, ANY, 3, 4);                   /* A4 A5: 0 + 1 */
    EXPECT(&v, 3, ANY, ANY, 2, 3, 4);                /* A3-A5: 3, beats A4-A6: 4 */
    EXPECT(&v, 4, ANY, ANY, 2, 3, 4, 5);             /* A3-A6: 6, beats A2-A5: 7 */
    EXPECT(&v, 8, ANY, ANY, 0, 1, 2, 3, 4, 5, 6, 7); /* the whole row A */
    venue_close(&v);
}

Test(best, ties_go_to_the_lower_first_seat)
{
    venue_t v;
    venue_open(&v, TWINS);
    /* Row B is visited first (it has rank 0), A1 A2 still win the tie. */
    EXPECT(&v, 2, ANY, ANY, 0, 1);
    /* With A2 taken, every pair of A strands a seat: B1 B2. */
    row_state(&v, "A", ".x...");
    EXPECT(&v, 2, ANY, ANY, 5, 6);
    venue_close(&v);
}

Test(best, focal_point_ranks)
{
    /* No explicit ranks: distance to the focal point at x 2.2 ranks the
     * seats 1..6 as 2 0 1 3 4 5. A2 A3 (0 + 1) would leave A1 alone at the
     * row's end, so A1 A2 (2 + 0) it is. */
    static const char HALL[] =
        "{\"name\":\"Hall\",\"focal_point\":{\"x\":2.2,\"y\":-10}," CATEGORIES ","
        "\"sections\":[{\"id\":\"floor\",\"name\":\"Floor\",\"rows\":[{\"label\":\"A\",\"seats\":["
        "{\"id\":\"A1\",\"number\":\"1\",\"x\":1,\"y\":0,\"category\":\"standard\"},"
        "{\"id\":\"A2\",\"number\":\"2\",\"x\":2,\"y\":0,\"category\":\"standard\"},"
        "{\"id\":\"A3\",\"number\":\"3\",\"x\":3,\"y\":0,\"category\":\"standard\"},"
        "{\"id\":\"A4\",\"number\":\"4\",\"x\":4,\"y\":0,\"category\":\"standard\"},"
        "{\"id\":\"A5\",\"number\":\"5\",\"x\":5,\"y\":0,\"category\":\"standard\"},"
        "{\"id\":\"A6\",\"number\":\"6\",\"x\":6,\"y\":0,\"category\":\"standard\"}]}]}]}";
    venue_t v;
    venue_open(&v, HALL);
    cr_assert_eq(v.l->seats[1].rank, 0);
    cr_assert_eq(v.l->seats[0].rank, 2);
    EXPECT(&v, 2, ANY, ANY, 0, 1);
    /* One seat: A2 would strand A1 too; A3 (1) leaves A1 A2 together. */
    EXPECT(&v, 1, ANY, ANY, 2);
    venue_close(&v);
}

Test(best, never_a_gap_inside_a_block)
{
    venue_t v;
    venue_open(&v, THEATRE);
    /* A4 taken: A3 + A5 (2 + 1) are the best two free seats but not adjacent.
     * A5 A6 (1 + 3) leaves A7 A8 together; A2 A3 would strand A1. */
    row_state(&v, "A", "...x....");
    EXPECT(&v, 2, ANY, ANY, 4, 5);
    venue_close(&v);
}

Test(best, no_orphan_on_either_side)
{
    venue_t v;
    venue_open(&v, THEATRE);
    /* Free A1-A3 and A5-A7, every pair of row A strands a seat:
     * A1 A2 (10) strand A3 before taken A4, A2 A3 (6) strand A1 at the
     * row's end, A5 A6 (4) strand A7 before taken A8, A6 A7 (8) strand A5
     * after taken A4. B4 B5 (17) leave no orphan. */
    row_state(&v, "A", "...x...x");
    EXPECT(&v, 2, ANY, ANY, 11, 12);
    /* Three fill a gap exactly: A5-A7 (9) beat A1-A3 (12). */
    EXPECT(&v, 3, ANY, ANY, 4, 5, 6);
    venue_close(&v);
}

Test(best, no_orphan_at_row_ends)
{
    venue_t v;
    venue_open(&v, THEATRE);
    take_all(&v);
    /* Only row D free (28 26 24 25 27 29). D2-D5 (102) strand D1 and D6
     * at both ends; D1-D4 (103) leave D5 D6 together. */
    row_state(&v, "D", "......");
    EXPECT(&v, 4, ANY, ANY, 24, 25, 26, 27);
    /* Five strand an end seat whatever: relaxed, D1-D5 (130) beat D2-D6. */
    EXPECT(&v, 5, ANY, ANY, 24, 25, 26, 27, 28);
    venue_close(&v);
}

Test(best, a_row_with_an_old_orphan_is_still_used)
{
    venue_t v;
    venue_open(&v, THEATRE);
    take_all(&v);
    /* A2 is already alone. A4 A5 fill their gap exactly: no new orphan. */
    row_state(&v, "A", "x.x..xxx");
    EXPECT(&v, 2, ANY, ANY, 3, 4);
    /* One seat: A4 or A5 would strand the other; A2 fills the old orphan. */
    EXPECT(&v, 1, ANY, ANY, 1);
    venue_close(&v);
}

Test(best, category_filter)
{
    venue_t v;
    venue_open(&v, THEATRE);
    uint32_t premium = category(&v, "premium"), standard = category(&v, "standard");
    /* A1 A2 leave A3 free beside free A4: a premium seat counts as a seat. */
    EXPECT(&v, 2, standard, ANY, 0, 1);
    EXPECT(&v, 2, premium, ANY, 3, 4);
    row_state(&v, "A", "...x....");
    /* Now A1 A2 would strand A3 next to taken A4; A7 A8 leave A5 A6 free. */
    EXPECT(&v, 2, standard, ANY, 6, 7);
    /* Four premium seats: A has only A5 A6 left, B3-B6 it is (any category
     * would take A5-A8). */
    EXPECT(&v, 4, premium, ANY, 10, 11, 12, 13);
    EXPECT(&v, 4, ANY, ANY, 4, 5, 6, 7);
    /* No row has five premium seats together: split over rows A and B,
     * A5 A6 + B3-B5 (1 + 3 + 10 + 8 + 9 = 31) beat A5 + B3-B6 (39). */
    EXPECT(&v, 5, premium, ANY, 4, 5, 10, 11, 12);
    venue_close(&v);
}

Test(best, section_filter)
{
    venue_t v;
    venue_open(&v, THEATRE);
    uint32_t balcony = section(&v, "balcony"), stalls = section(&v, "stalls");
    EXPECT(&v, 2, ANY, balcony, 26, 27); /* D3 D4: 24 + 25 */
    EXPECT(&v, 2, ANY, stalls, 3, 4);
    /* E (34 32 30 31 33 35): E2-E4 (93) strand E1, E3-E5 (94) strand E6. */
    row_state(&v, "D", "xxxxxx");
    EXPECT(&v, 3, ANY, balcony, 30, 31, 32);
    uint32_t premium = category(&v, "premium");
    expect_none(&v, 1, premium, balcony);
    venue_close(&v);
}

Test(best, relaxation_allows_orphans_when_nothing_else_fits)
{
    venue_t v;
    venue_open(&v, THEATRE);
    take_all(&v);
    /* Only A4-A6 free (0 1 3): either pair strands the third seat. */
    row_state(&v, "A", "xxx...xx");
    EXPECT(&v, 2, ANY, ANY, 3, 4);
    /* Three fill the gap: no relaxation. */
    EXPECT(&v, 3, ANY, ANY, 3, 4, 5);
    /* B4-B6 alike: every pair strands a seat, the best score wins. */
    row_state(&v, "B", "xxx...xx");
    EXPECT(&v, 2, ANY, ANY, 3, 4);
    /* A pair that strands nothing beats better ranks that would. */
    row_state(&v, "C", "xxxxxx..");
    EXPECT(&v, 2, ANY, ANY, 22, 23);
    venue_close(&v);
}

Test(best, relaxation_splits_over_adjacent_rows)
{
    venue_t v;
    venue_open(&v, THEATRE);
    /* Nine seats: no row holds them. A whole (0..7, sum 28) + B4 (8) = 36
     * beats A1-A7 or A2-A8 (21) + B4 B5 (17) = 38. */
    EXPECT(&v, 9, ANY, ANY, 0, 1, 2, 3, 4, 5, 6, 7, 11);
    /* Four seats, only pairs left: A4 A5 and B4 B5 (two rows), not C. */
    take_all(&v);
    row_state(&v, "A", "xxx..xxx");
    row_state(&v, "B", "xxx..xxx");
    row_state(&v, "C", "xxx..xxx");
    EXPECT(&v, 4, ANY, ANY, 3, 4, 11, 12);
    /* Six: three rows are needed. */
    EXPECT(&v, 6, ANY, ANY, 3, 4, 11, 12, 19, 20);
    expect_none(&v, 7, ANY, ANY);
    venue_close(&v);
}

Test(best, split_rows_must_touch_and_share_a_section)
{
    venue_t v;
    venue_open(&v, THEATRE);
    take_all(&v);
    /* Pairs in A and C: B between them is full. */
    row_state(&v, "A", "xxx..xxx");
    row_state(&v, "C", "xxx..xxx");
    expect_none(&v, 4, ANY, ANY);
    /* Pairs in C and D: adjacent rows, but stalls and balcony. */
    row_state(&v, "A", "xxxxxxxx");
    row_state(&v, "D", "xx..xx");
    expect_none(&v, 4, ANY, ANY);
    /* With a pair in E too, D and E take them. */
    row_state(&v, "E", "x..xxx");
    EXPECT(&v, 4, ANY, ANY, 26, 27, 31, 32);
    venue_close(&v);
}

Test(best, split_prefers_fewest_rows_then_score)
{
    venue_t v;
    venue_open(&v, THEATRE);
    take_all(&v);
    /* A: A4 (0). B: B1-B3 (14 12 10). C: C3-C5 (18 16 17).
     * Four seats: A4 + B1-B3 = 36 beat the best of B and C,
     * B1-B3 + C4 = 52. */
    row_state(&v, "A", "xxx.xxxx");
    row_state(&v, "B", "...xxxxx");
    row_state(&v, "C", "xx...xxx");
    EXPECT(&v, 4, ANY, ANY, 3, 8, 9, 10);
    /* Five: A4 + B1-B3 + C4 (52, three rows) lose to B + C (two rows):
     * B2 B3 + C3-C5 = 73 and B1-B3 + C4 C5 = 69, which wins. */
    EXPECT(&v, 5, ANY, ANY, 8, 9, 10, 19, 20);
    /* Seven need all three rows. */
    EXPECT(&v, 7, ANY, ANY, 3, 8, 9, 10, 18, 19, 20);
    venue_close(&v);
}

Test(best, sold_out)
{
    venue_t v;
    venue_open(&v, THEATRE);
    take_all(&v);
    expect_none(&v, 1, ANY, ANY);
    expect_none(&v, 2, ANY, ANY);
    set_taken(&v, 20, 0); /* C5 */
    EXPECT(&v, 1, ANY, ANY, 20);
    expect_none(&v, 2, ANY, ANY);
    expect_none(&v, 1, category(&v, "premium"), ANY);
    venue_close(&v);
}

Test(best, invalid_requests)
{
    venue_t v;
    venue_open(&v, THEATRE);
    uint32_t out[BO_HOLD_MAX_SEATS + 1];
    cr_assert_eq(best(&v, 0, ANY, ANY, out), BO_EINVAL);
    cr_assert_eq(best(&v, BO_HOLD_MAX_SEATS + 1, ANY, ANY, out), BO_EINVAL);
    cr_assert_eq(best(&v, 1, v.l->ncategories, ANY, out), BO_EINVAL);
    cr_assert_eq(best(&v, 1, ANY, v.l->nsections, out), BO_EINVAL);
    /* The largest request is valid: 36 seats, all five rows. */
    cr_assert_eq(best(&v, BO_HOLD_MAX_SEATS, ANY, ANY, out), BO_ENOSEATS);
    venue_close(&v);
}

Test(best, index_refuses_a_layout_whose_rows_are_not_in_seat_order)
{
    venue_t v;
    venue_open(&v, THEATRE);
    bo_best_index_t *ix = (bo_best_index_t *)1;
    v.l->rows[1].first_seat++;
    cr_assert_eq(bo_best_index_new(v.l, &ix), BO_EINVAL);
    cr_assert_null(ix);
    v.l->rows[1].first_seat--;
    venue_close(&v);
}

Test(best, row_free_lets_full_rows_be_skipped)
{
    venue_t v;
    venue_open(&v, THEATRE);
    /* A lie in row_free shows it is trusted: row A "full" is not looked at. */
    uint32_t out[2];
    v.row_free[0] = 0;
    cr_assert_eq(bo_best_available(v.ix, v.row_free, seat_free, &v, 2, ANY, ANY, out), 0);
    cr_assert_eq(out[0], 11);
    cr_assert_eq(bo_best_available(v.ix, NULL, seat_free, &v, 2, ANY, ANY, out), 0);
    cr_assert_eq(out[0], 3);
    venue_close(&v);
}

/* ---- the brute-force reference ------------------------------------------ */

typedef struct answer {
    uint64_t score; /* UINT64_MAX: none */
    uint32_t n;
    uint32_t seats[BO_HOLD_MAX_SEATS];
} answer_t;

/* Lower score, then the lexicographically smaller ascending seat list. */
static int answer_better(const answer_t *a, const answer_t *b)
{
    if (a->score != b->score)
        return a->score < b->score;
    for (uint32_t i = 0; i < a->n; i++)
        if (a->seats[i] != b->seats[i])
            return a->seats[i] < b->seats[i];
    return 0;
}

static int ref_free(const venue_t *v, uint32_t r, int64_t i)
{
    const bo_row_t *row = &v->l->rows[r];
    return i >= 0 && i < row->nseats && !v->taken[row->first_seat + i];
}

/* Seats i..i+len-1 of row r all free and of category cat. */
static int ref_block(const venue_t *v, uint32_t r, uint32_t i, uint32_t len, uint32_t cat)
{
    for (uint32_t k = i; k < i + len; k++) {
        uint32_t s = v->l->rows[r].first_seat + k;
        if (v->taken[s] || (cat != ANY && v->l->seats[s].category != cat))
            return 0;
    }
    return 1;
}

/* A free seat just outside the block, whose other neighbour is taken or
 * the row's end. */
static int ref_orphan(const venue_t *v, uint32_t r, int64_t i, uint32_t len)
{
    int64_t j = i + len;
    return (ref_free(v, r, i - 1) && !ref_free(v, r, i - 2)) ||
           (ref_free(v, r, j) && !ref_free(v, r, j + 1));
}

static uint64_t ref_score(const venue_t *v, const uint32_t *seats, uint32_t n)
{
    uint64_t sum = 0;
    for (uint32_t i = 0; i < n; i++)
        sum += v->l->seats[seats[i]].rank;
    return sum;
}

static void ref_single(const venue_t *v, uint32_t q, uint32_t cat, uint32_t sec, int strict,
                       answer_t *best)
{
    for (uint32_t r = 0; r < v->l->nrows; r++) {
        if (sec != ANY && v->l->rows[r].section != sec)
            continue;
        for (uint32_t i = 0; i + q <= v->l->rows[r].nseats; i++) {
            if (!ref_block(v, r, i, q, cat) || (strict && ref_orphan(v, r, i, q)))
                continue;
            answer_t a = {0, q, {0}};
            for (uint32_t k = 0; k < q; k++)
                a.seats[k] = v->l->rows[r].first_seat + i + k;
            a.score = ref_score(v, a.seats, q);
            if (answer_better(&a, best))
                *best = a;
        }
    }
}

/* Every way to place x more seats in rows r..end, one part per row. */
static void ref_parts(const venue_t *v, uint32_t r, uint32_t end, uint32_t x, uint32_t cat,
                      answer_t *cur, answer_t *best)
{
    if (r == end) {
        if (x == 0) {
            cur->score = ref_score(v, cur->seats, cur->n);
            if (answer_better(cur, best))
                *best = *cur;
        }
        return;
    }
    for (uint32_t len = 1; len + (end - r - 1) <= x; len++)
        for (uint32_t i = 0; i + len <= v->l->rows[r].nseats; i++) {
            if (!ref_block(v, r, i, len, cat))
                continue;
            for (uint32_t k = 0; k < len; k++)
                cur->seats[cur->n + k] = v->l->rows[r].first_seat + i + k;
            cur->n += len;
            ref_parts(v, r + 1, end, x - len, cat, cur, best);
            cur->n -= len;
        }
}

static void ref_split(const venue_t *v, uint32_t q, uint32_t cat, uint32_t sec, answer_t *best)
{
    for (uint32_t k = 2; k <= q && best->score == UINT64_MAX; k++)
        for (uint32_t w = 0; w + k <= v->l->nrows; w++) {
            uint32_t s = v->l->rows[w].section, same = 1;
            for (uint32_t r = w; r < w + k; r++)
                same &= v->l->rows[r].section == s;
            if (!same || (sec != ANY && s != sec))
                continue;
            answer_t cur = {0, 0, {0}};
            ref_parts(v, w, w + k, q, cat, &cur, best);
        }
}

static void ref_best(const venue_t *v, uint32_t q, uint32_t cat, uint32_t sec, answer_t *best)
{
    best->score = UINT64_MAX;
    best->n = q;
    ref_single(v, q, cat, sec, 1, best);
    if (best->score == UINT64_MAX)
        ref_single(v, q, cat, sec, 0, best);
    if (best->score == UINT64_MAX)
        ref_split(v, q, cat, sec, best);
}

/* ---- random venues ------------------------------------------------------- */

static uint64_t rng_next(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

static uint32_t rng_below(uint64_t *x, uint32_t n)
{
    return (uint32_t)(rng_next(x) % n);
}

/* A seat map of up to sections x rows x seats (each at least 1), two
 * categories in runs, ranks a random permutation. Caller frees. */
static char *random_map(uint64_t *rng, uint32_t sections, uint32_t rows, uint32_t seats)
{
    uint32_t ns = 1 + rng_below(rng, sections), total = 0, rowlen[64][64];
    for (uint32_t s = 0; s < ns; s++)
        for (uint32_t r = 0; r < rows; r++) {
            rowlen[s][r] = r < 1 + rng_below(rng, rows) ? 1 + rng_below(rng, seats) : 0;
            total += rowlen[s][r];
        }
    uint32_t *rank = malloc(total * sizeof(uint32_t));
    for (uint32_t i = 0; i < total; i++)
        rank[i] = i;
    for (uint32_t i = total; i > 1; i--) {
        uint32_t j = rng_below(rng, i), t = rank[i - 1];
        rank[i - 1] = rank[j];
        rank[j] = t;
    }
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    fprintf(f, "{\"name\":\"Random\"," CATEGORIES ",\"sections\":[");
    uint32_t n = 0, cat = 0;
    for (uint32_t s = 0; s < ns; s++) {
        fprintf(f, "%s{\"id\":\"S%u\",\"name\":\"S%u\",\"rows\":[", s ? "," : "", s, s);
        for (uint32_t r = 0; r < rows && rowlen[s][r]; r++) {
            fprintf(f, "%s{\"label\":\"R%u\",\"seats\":[", r ? "," : "", r);
            for (uint32_t i = 0; i < rowlen[s][r]; i++, n++) {
                cat = rng_below(rng, 4) ? cat : !cat;
                fprintf(f,
                        "%s{\"id\":\"s%u\",\"number\":\"%u\",\"x\":%u,\"y\":%u,"
                        "\"category\":\"%s\",\"rank\":%u}",
                        i ? "," : "", n, i + 1, i, s * 100 + r, cat ? "premium" : "standard",
                        rank[n]);
            }
            fprintf(f, "]}");
        }
        fprintf(f, "]}");
    }
    fprintf(f, "]}");
    fclose(f);
    free(rank);
    return buf;
}

static uint64_t test_seed(void)
{
    const char *e = getenv("BOXOFFICE_SEED");
    uint64_t seed = e ? strtoull(e, NULL, 10) : (uint64_t)time(NULL);
    fprintf(stderr, "test_best: BOXOFFICE_SEED=%" PRIu64 "\n", seed);
    return seed ? seed : 1;
}

/* Free seats at a random density, sometimes in long stretches. */
static void random_state(venue_t *v, uint64_t *rng)
{
    uint32_t density = rng_below(rng, 101), stretch = 1 + rng_below(rng, 4);
    int taken = 0;
    for (uint32_t s = 0; s < v->l->nseats; s++) {
        if (s % stretch == 0)
            taken = rng_below(rng, 100) >= density;
        set_taken(v, s, taken);
    }
}

/* One query against the reference; with full, the split relaxation is
 * compared too, else only when a single row answers. */
static void compare_one(venue_t *v, uint64_t *rng, uint64_t seed, uint32_t iter, uint32_t maxq,
                        int full)
{
    uint32_t q = 1 + rng_below(rng, maxq), got[BO_HOLD_MAX_SEATS];
    uint32_t cat = rng_below(rng, 3) ? ANY : rng_below(rng, v->l->ncategories);
    uint32_t sec = rng_below(rng, 3) ? ANY : rng_below(rng, v->l->nsections);
    answer_t want;
    want.score = UINT64_MAX;
    want.n = q;
    if (full) {
        ref_best(v, q, cat, sec, &want);
    } else {
        ref_single(v, q, cat, sec, 1, &want);
        if (want.score == UINT64_MAX)
            ref_single(v, q, cat, sec, 0, &want);
    }
    int rc = best(v, q, cat, sec, got);
    if (!full && want.score == UINT64_MAX)
        return;
    cr_assert_eq(rc, want.score == UINT64_MAX ? BO_ENOSEATS : 0,
                 "seed %" PRIu64 " iter %u q %u cat %u sec %u: rc %d", seed, iter, q, cat, sec, rc);
    if (rc)
        return;
    uint64_t score = ref_score(v, got, q);
    cr_assert_eq(score, want.score,
                 "seed %" PRIu64 " iter %u q %u: score %" PRIu64 " want %" PRIu64, seed, iter, q,
                 score, want.score);
    for (uint32_t i = 0; i < q; i++)
        cr_assert_eq(got[i], want.seats[i], "seed %" PRIu64 " iter %u q %u: seat %u is %u not %u",
                     seed, iter, q, i, got[i], want.seats[i]);
}

Test(best, random_small_venues_match_brute_force)
{
    uint64_t seed = test_seed(), rng = seed;
    for (uint32_t iter = 0; iter < 3000; iter++) {
        venue_t v;
        char *json = random_map(&rng, 3, 4, 9);
        venue_open(&v, json);
        free(json);
        for (uint32_t k = 0; k < 8; k++) {
            random_state(&v, &rng);
            compare_one(&v, &rng, seed, iter, 6, 1);
        }
        venue_close(&v);
    }
}

Test(best, random_larger_venues_match_brute_force)
{
    uint64_t seed = test_seed(), rng = seed ^ 0x9e3779b97f4a7c15u;
    for (uint32_t iter = 0; iter < 100; iter++) {
        venue_t v;
        char *json = random_map(&rng, 6, 20, 40);
        venue_open(&v, json);
        free(json);
        for (uint32_t k = 0; k < 50; k++) {
            random_state(&v, &rng);
            compare_one(&v, &rng, seed, iter, 12, 0);
        }
        venue_close(&v);
    }
}
