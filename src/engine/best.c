/*
 * best.c - best available: the pure search for quantity adjacent free seats
 * of lowest rank sum (engine.h), and the per-layout index that keeps it fast.
 *
 * Workload: runs under the event's lock for every best-available hold of an
 * on-sale (10^4..10^5 a second on a hot event), quantity mostly 1-8, against
 * venues of 10^3..10^5 seats that fill from the best seats down. The index is
 * built once per layout and is read-only, so events and threads can share
 * it; a search allocates nothing and uses about 10 KB of stack.
 *
 * How: rows are visited by their best seat's rank. A row is skipped when it
 * has fewer free seats than wanted, or when even its q lowest ranks cannot
 * beat the block found so far; the visit stops when q times the next row's
 * best rank cannot. In a row, block scores come from prefix sums (no seat is
 * read), only blocks that could win are checked, right to left, jumping past
 * a taken seat, and each seat's state is asked at most once per row. The
 * split relaxation, reached only when no row fits the group, reads the
 * filtered rows seat by seat (each up to its last free seat).
 */
#include <stdlib.h>
#include <string.h>

#include "boxoffice/engine.h"
#include "boxoffice/error.h"
#include "util/assert.h"

#define NO_SCORE UINT32_MAX
#define MAX_RUN  (3 * BO_HOLD_MAX_SEATS) /* table entries of a split window */

typedef struct entry {
    uint32_t minrank; /* lowest rank of the row's seats (of the list's category) */
    uint32_t row;
} entry_t;

struct bo_best_index {
    const bo_layout_t *l;
    /* Per row r, at rows[r].first_seat + r, nseats + 1 prefix sums of its
     * ranks: in physical order (pre) and sorted ascending (sorted). */
    uint32_t *pre;
    uint32_t *sorted;
    uint8_t *cat;      /* per seat: its category */
    uint16_t *catrun;  /* per seat: seats from it to the next category change */
    uint64_t *catmask; /* per row: the categories it holds */
    entry_t *all;      /* every row, by minrank */
    entry_t *by_sec;   /* section s: [sec_off[s], sec_off[s + 1]), by minrank */
    uint32_t *sec_off;
    entry_t *by_cat; /* rows holding category c: [cat_off[c], cat_off[c + 1]) */
    uint32_t *cat_off;
};

/* ---- the index ---------------------------------------------------------- */

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static int cmp_entry(const void *a, const void *b)
{
    const entry_t *x = a, *y = b;
    if (x->minrank != y->minrank)
        return x->minrank < y->minrank ? -1 : 1;
    return (x->row > y->row) - (x->row < y->row);
}

/* The invariants the search relies on: rows are consecutive runs of the
 * seat array in row order, categories fit the mask, sums fit 32 bits. */
static int check_layout(const bo_layout_t *l)
{
    uint32_t next = 0;
    if (l->ncategories > BO_LAYOUT_MAX_CATEGORIES)
        return BO_EINVAL;
    for (uint32_t s = 0; s < l->nsections; s++)
        if (l->sections[s].first_row > l->nrows ||
            l->sections[s].nrows > l->nrows - l->sections[s].first_row)
            return BO_EINVAL;
    for (uint32_t r = 0; r < l->nrows; r++) {
        const bo_row_t *row = &l->rows[r];
        if (row->first_seat != next || row->nseats > BO_LAYOUT_MAX_ROW_SEATS ||
            row->nseats > l->nseats - next || row->section >= l->nsections)
            return BO_EINVAL;
        uint64_t sum = 0;
        for (uint32_t i = 0; i < row->nseats; i++) {
            sum += l->seats[next + i].rank;
            if (l->seats[next + i].category >= l->ncategories)
                return BO_EINVAL;
        }
        if (sum >= NO_SCORE)
            return BO_EINVAL;
        next += row->nseats;
    }
    return next == l->nseats ? 0 : BO_EINVAL;
}

/* Prefix sums, categories and category runs of row r. */
static void index_row(bo_best_index_t *ix, uint32_t r)
{
    const bo_layout_t *l = ix->l;
    const bo_row_t *row = &l->rows[r];
    const bo_seat_t *seat = &l->seats[row->first_seat];
    uint32_t *pre = ix->pre + row->first_seat + r, *sorted = ix->sorted + row->first_seat + r;

    pre[0] = 0;
    for (uint32_t i = 0; i < row->nseats; i++) {
        pre[i + 1] = pre[i] + seat[i].rank;
        sorted[i + 1] = seat[i].rank;
        ix->cat[row->first_seat + i] = (uint8_t)seat[i].category;
        ix->catmask[r] |= (uint64_t)1 << seat[i].category;
    }
    qsort(sorted + 1, row->nseats, sizeof(uint32_t), cmp_u32);
    sorted[0] = 0;
    for (uint32_t i = 0; i < row->nseats; i++)
        sorted[i + 1] += sorted[i];
    for (uint32_t i = row->nseats; i-- > 0;) {
        int same = i + 1 < row->nseats && seat[i + 1].category == seat[i].category;
        ix->catrun[row->first_seat + i] =
            (uint16_t)(same ? ix->catrun[row->first_seat + i + 1] + 1 : 1);
    }
}

/* The lowest rank of each category present in row r, into min[]. */
static void row_minranks(const bo_layout_t *l, uint32_t r, uint32_t *min)
{
    const bo_row_t *row = &l->rows[r];
    for (uint32_t i = 0; i < row->nseats; i++) {
        const bo_seat_t *s = &l->seats[row->first_seat + i];
        if (s->rank < min[s->category])
            min[s->category] = s->rank;
    }
}

/* The three row lists, each sorted by minrank. */
static int build_lists(bo_best_index_t *ix)
{
    const bo_layout_t *l = ix->l;
    uint32_t ncat = 0, min[BO_LAYOUT_MAX_CATEGORIES];
    for (uint32_t r = 0; r < l->nrows; r++) {
        ix->sec_off[l->rows[r].section + 1]++;
        for (uint32_t c = 0; c < l->ncategories; c++)
            ix->cat_off[c + 1] += (uint32_t)(ix->catmask[r] >> c & 1);
        ncat += (uint32_t)__builtin_popcountll(ix->catmask[r]);
    }
    ix->by_cat = malloc((ncat ? ncat : 1) * sizeof(entry_t));
    if (!ix->by_cat)
        return BO_ENOMEM;
    for (uint32_t s = 0; s < l->nsections; s++)
        ix->sec_off[s + 1] += ix->sec_off[s];
    for (uint32_t c = 0; c < l->ncategories; c++)
        ix->cat_off[c + 1] += ix->cat_off[c];
    /* Fill each list at its offset, which moves every offset to the start
     * of the next list; shifted back below. */
    for (uint32_t r = 0; r < l->nrows; r++) {
        for (uint32_t c = 0; c < l->ncategories; c++)
            min[c] = UINT32_MAX;
        row_minranks(l, r, min);
        uint32_t best = UINT32_MAX;
        for (uint32_t c = 0; c < l->ncategories; c++) {
            if (min[c] < best)
                best = min[c];
            if (min[c] != UINT32_MAX)
                ix->by_cat[ix->cat_off[c]++] = (entry_t){min[c], r};
        }
        ix->all[r] = (entry_t){best, r};
        ix->by_sec[ix->sec_off[l->rows[r].section]++] = (entry_t){best, r};
    }
    memmove(ix->sec_off + 1, ix->sec_off, l->nsections * sizeof(uint32_t));
    ix->sec_off[0] = 0;
    memmove(ix->cat_off + 1, ix->cat_off, l->ncategories * sizeof(uint32_t));
    ix->cat_off[0] = 0;
    qsort(ix->all, l->nrows, sizeof(entry_t), cmp_entry);
    for (uint32_t s = 0; s < l->nsections; s++)
        qsort(ix->by_sec + ix->sec_off[s], ix->sec_off[s + 1] - ix->sec_off[s], sizeof(entry_t),
              cmp_entry);
    for (uint32_t c = 0; c < l->ncategories; c++)
        qsort(ix->by_cat + ix->cat_off[c], ix->cat_off[c + 1] - ix->cat_off[c], sizeof(entry_t),
              cmp_entry);
    return 0;
}

int bo_best_index_new(const bo_layout_t *l, bo_best_index_t **out)
{
    int rc = BO_ENOMEM;
    *out = NULL;
    if (check_layout(l))
        return BO_EINVAL;
    bo_best_index_t *ix = calloc(1, sizeof(*ix));
    if (!ix)
        return BO_ENOMEM;
    size_t nsums = (size_t)l->nseats + l->nrows, nrows = l->nrows ? l->nrows : 1;
    ix->l = l;
    ix->pre = malloc(nsums * sizeof(uint32_t));
    ix->sorted = malloc(nsums * sizeof(uint32_t));
    ix->cat = malloc(l->nseats ? l->nseats : 1);
    ix->catrun = malloc((l->nseats ? l->nseats : 1) * sizeof(uint16_t));
    ix->catmask = calloc(nrows, sizeof(uint64_t));
    ix->all = malloc(nrows * sizeof(entry_t));
    ix->by_sec = malloc(nrows * sizeof(entry_t));
    ix->sec_off = calloc((size_t)l->nsections + 1, sizeof(uint32_t));
    ix->cat_off = calloc((size_t)l->ncategories + 1, sizeof(uint32_t));
    if (!ix->pre || !ix->sorted || !ix->cat || !ix->catrun || !ix->catmask || !ix->all ||
        !ix->by_sec || !ix->sec_off || !ix->cat_off)
        goto out;
    for (uint32_t r = 0; r < l->nrows; r++)
        index_row(ix, r);
    rc = build_lists(ix);
out:
    if (rc)
        bo_best_index_free(ix);
    else
        *out = ix;
    return rc;
}

void bo_best_index_free(bo_best_index_t *ix)
{
    if (!ix)
        return;
    free(ix->pre);
    free(ix->sorted);
    free(ix->cat);
    free(ix->catrun);
    free(ix->catmask);
    free(ix->all);
    free(ix->by_sec);
    free(ix->sec_off);
    free(ix->by_cat);
    free(ix->cat_off);
    free(ix);
}

/* ---- one search --------------------------------------------------------- */

typedef struct cand {
    uint32_t score; /* NO_SCORE: none yet */
    uint32_t seat;  /* first seat of the block */
} cand_t;

typedef struct search {
    const bo_best_index_t *ix;
    const uint16_t *row_free;
    bo_seat_free_fn is_free;
    void *ctx;
    uint32_t q, category;
    cand_t strict; /* best block leaving no orphan */
    cand_t any;    /* best block, orphans or not */
    /* the row being read */
    uint32_t base, n;
    const uint32_t *pre;
    int all_free;
    uint8_t st[BO_LAYOUT_MAX_ROW_SEATS]; /* 0 not asked yet, 1 free, 2 taken */
} search_t;

static int better(uint32_t score, uint32_t seat, cand_t c)
{
    return score < c.score || (score == c.score && seat < c.seat);
}

/* Whether seat i of the current row is free; asks is_free once per row. */
static int seat_free(search_t *s, uint32_t i)
{
    BO_ASSERT(i < s->n);
    if (s->all_free)
        return 1;
    if (!s->st[i])
        s->st[i] = s->is_free(s->ctx, s->base + i) ? 1 : 2;
    return s->st[i] == 1;
}

/* Make row r the current one; its seats' states are not asked yet. */
static void row_begin(search_t *s, uint32_t r)
{
    BO_ASSERT(r < s->ix->l->nrows);
    const bo_row_t *row = &s->ix->l->rows[r];
    BO_ASSERT(row->nseats <= BO_LAYOUT_MAX_ROW_SEATS); /* s->st's size */
    BO_ASSERT(!s->row_free || s->row_free[r] <= row->nseats);
    s->base = row->first_seat;
    s->n = row->nseats;
    s->pre = s->ix->pre + row->first_seat + r;
    s->all_free = s->row_free && s->row_free[r] == row->nseats;
    if (!s->all_free)
        memset(s->st, 0, s->n);
}

/* Whether the q seats from i are all of the wanted category. */
static int category_ok(const search_t *s, uint32_t i)
{
    if (s->category == BO_NONE)
        return 1;
    uint32_t g = s->base + i;
    return s->ix->cat[g] == s->category && s->ix->catrun[g] >= s->q;
}

/* Whether taking [i, i + q) leaves seat i - 1 or i + q free and alone. */
static int leaves_orphan(search_t *s, uint32_t i)
{
    uint32_t j = i + s->q;
    if (i >= 1 && seat_free(s, i - 1) && (i == 1 || !seat_free(s, i - 2)))
        return 1;
    return j < s->n && seat_free(s, j) && (j + 1 == s->n || !seat_free(s, j + 1));
}

static void offer(search_t *s, uint32_t i, uint32_t score)
{
    BO_ASSERT(i + s->q <= s->n && score != NO_SCORE); /* a whole block of the row */
    uint32_t seat = s->base + i;
    if (better(score, seat, s->any))
        s->any = (cand_t){score, seat};
    if (better(score, seat, s->strict) && !leaves_orphan(s, i))
        s->strict = (cand_t){score, seat};
}

/* Every block of row r that could beat the best so far. Seats [i, known)
 * are known free; a taken seat moves i past it. */
static void scan_row(search_t *s, uint32_t r)
{
    uint32_t q = s->q, bound = s->strict.score, known = 0;
    row_begin(s, r);
    for (uint32_t i = 0; i + q <= s->n;) {
        uint32_t score = s->pre[i + q] - s->pre[i];
        if (score > bound || !category_ok(s, i)) {
            i++;
            continue;
        }
        uint32_t t = i + q, low = known > i ? known : i;
        while (t > low && seat_free(s, t - 1))
            t--;
        if (t > low) { /* seat t - 1 is taken */
            i = known = t;
            continue;
        }
        known = i + q;
        offer(s, i, score);
        i++;
    }
}

static int row_fits(const search_t *s, uint32_t r)
{
    if (s->row_free ? s->row_free[r] < s->q : s->ix->l->rows[r].nseats < s->q)
        return 0; /* row_free <= nseats */
    return s->category == BO_NONE || (s->ix->catmask[r] >> s->category & 1);
}

/* Single-row blocks, rows from the list e[0..n) in minrank order. */
static void search_rows(search_t *s, const entry_t *e, uint32_t n)
{
    const bo_layout_t *l = s->ix->l;
    for (uint32_t k = 0; k < n; k++) {
        uint32_t r = e[k].row, limit = s->strict.score;
        if (limit != NO_SCORE && (uint64_t)s->q * e[k].minrank > limit)
            break;
        if (!row_fits(s, r))
            continue;
        if (limit != NO_SCORE && s->ix->sorted[l->rows[r].first_seat + r + s->q] > limit)
            continue;
        scan_row(s, r);
    }
}

/* ---- relaxation: one group split over adjacent rows --------------------- */

typedef struct part {
    uint32_t score; /* NO_SCORE: no block of that length */
    uint32_t seat;  /* its first seat */
} part_t;

/* Consecutive rows of one section, each with its table of best parts:
 * tab[off[k] + len - 1] is row k's best block of len seats, len 1..m[k]. */
typedef struct window {
    uint32_t nrows, sum; /* sum of m[] */
    uint32_t row[BO_HOLD_MAX_SEATS + 1], m[BO_HOLD_MAX_SEATS + 1], off[BO_HOLD_MAX_SEATS + 1];
    part_t tab[MAX_RUN];
} window_t;

/* The best block of each length 1..len-1 of [a, b) into t. */
static void run_parts(const search_t *s, uint32_t a, uint32_t b, part_t *t)
{
    BO_ASSERT(a <= b && b <= s->n);
    for (uint32_t len = 1; len <= b - a && len < s->q; len++)
        for (uint32_t i = a; i + len <= b; i++) {
            uint32_t score = s->pre[i + len] - s->pre[i];
            if (score < t[len - 1].score)
                t[len - 1] = (part_t){score, s->base + i};
        }
}

/* Whether seat i of the current row is free and of the category. */
static inline int usable(const search_t *s, uint32_t i)
{
    uint32_t g = s->base + i;
    return (s->category == BO_NONE || s->ix->cat[g] == s->category) &&
           (s->all_free || s->is_free(s->ctx, g));
}

/* The next run of usable seats from *b on: [*a, *b), at most *left seats
 * (the row's free seats not met yet). The hot case, any category, calls
 * is_free straight. */
static void next_run(const search_t *s, uint32_t *a, uint32_t *b, uint32_t *left)
{
    uint32_t i = *b, n = s->n, base = s->base, k = *left;
    if (s->category == BO_NONE && !s->all_free) {
        bo_seat_free_fn f = s->is_free;
        while (i < n && !f(s->ctx, base + i))
            i++;
        *a = i;
        while (i < n && k && f(s->ctx, base + i))
            i++, k--;
    } else {
        while (i < n && !usable(s, i))
            i++;
        *a = i;
        while (i < n && k && usable(s, i))
            i++, k--;
    }
    BO_ASSERT(*a <= i && i <= n);
    *b = i;
    *left = k;
}

/* The best block of each length 1..q-1 of row r into t; returns how many
 * lengths have one (runs are shorter than q once single rows failed).
 * Each seat is asked once, up to the row's last free seat when row_free
 * tells where that is. */
static uint32_t row_parts(search_t *s, uint32_t r, part_t *t)
{
    uint32_t m = 0, cat = s->category;
    if ((s->row_free && s->row_free[r] == 0) || (cat != BO_NONE && !(s->ix->catmask[r] >> cat & 1)))
        return 0;
    const bo_row_t *row = &s->ix->l->rows[r];
    s->base = row->first_seat;
    s->n = row->nseats;
    s->pre = s->ix->pre + row->first_seat + r;
    s->all_free = s->row_free && s->row_free[r] == row->nseats;
    BO_ASSERT(row->nseats <= BO_LAYOUT_MAX_ROW_SEATS);
    uint32_t left = s->row_free && cat == BO_NONE ? s->row_free[r] : row->nseats;
    for (uint32_t len = 1; len < s->q; len++)
        t[len - 1].score = NO_SCORE;
    for (uint32_t a, b = 0; b < s->n && left;) {
        next_run(s, &a, &b, &left);
        if (b - a > m)
            m = b - a < s->q ? b - a : s->q - 1;
        run_parts(s, a, b, t);
    }
    return m;
}

static void window_pop(window_t *w)
{
    BO_ASSERT(w->nrows > 0 && w->m[0] <= w->sum);
    uint32_t m0 = w->m[0];
    memmove(w->tab, w->tab + m0, (w->sum - m0) * sizeof(part_t));
    for (uint32_t k = 1; k < w->nrows; k++) {
        w->row[k - 1] = w->row[k];
        w->m[k - 1] = w->m[k];
        w->off[k - 1] = w->off[k] - m0;
    }
    w->nrows--;
    w->sum -= m0;
}

static void window_append(window_t *w, uint32_t r, const part_t *t, uint32_t m)
{
    BO_ASSERT(w->nrows < BO_HOLD_MAX_SEATS + 1 && w->sum + m <= MAX_RUN); /* window_push's bound */
    w->row[w->nrows] = r;
    w->m[w->nrows] = m;
    w->off[w->nrows] = w->sum;
    memcpy(w->tab + w->sum, t, m * sizeof(part_t));
    w->nrows++;
    w->sum += m;
}

/* Append row r with m parts t; keep only the shortest suffix of rows that
 * still holds q seats, so the window stays within MAX_RUN parts. */
static void window_push(window_t *w, uint32_t r, const part_t *t, uint32_t m, uint32_t q)
{
    while (w->nrows && w->sum - w->m[0] + m >= q)
        window_pop(w);
    window_append(w, r, t, m);
}

/* f[x]: least score of x seats over rows from..nrows-1 of w, one part in
 * each row; UINT64_MAX when impossible. */
static void suffix_best(const window_t *w, uint32_t from, uint32_t q, uint64_t *f)
{
    uint64_t g[BO_HOLD_MAX_SEATS + 1];
    for (uint32_t x = 0; x <= q; x++)
        f[x] = x ? UINT64_MAX : 0;
    for (uint32_t k = w->nrows; k-- > from;) {
        memcpy(g, f, (q + 1) * sizeof(uint64_t));
        for (uint32_t x = 0; x <= q; x++) {
            f[x] = UINT64_MAX;
            for (uint32_t len = 1; len <= w->m[k] && len <= x; len++) {
                uint64_t rest = g[x - len], part = w->tab[w->off[k] + len - 1].score;
                if (rest != UINT64_MAX && part != NO_SCORE && part + rest < f[x])
                    f[x] = part + rest;
            }
        }
    }
}

/* Write the window's best split: row by row, the part that keeps the
 * optimum with the lowest first seat, the longest on a tie. */
static void split_write(const window_t *w, uint32_t q, uint32_t *out)
{
    uint64_t f[BO_HOLD_MAX_SEATS + 1];
    suffix_best(w, 0, q, f);
    uint64_t target = f[q];
    uint32_t x = q, n = 0;
    for (uint32_t k = 0; k < w->nrows; k++) {
        suffix_best(w, k + 1, q, f);
        part_t pick = {NO_SCORE, UINT32_MAX};
        uint32_t pick_len = 0;
        for (uint32_t len = 1; len <= w->m[k] && len <= x; len++) {
            part_t p = w->tab[w->off[k] + len - 1];
            if (p.score == NO_SCORE || f[x - len] == UINT64_MAX || p.score + f[x - len] != target)
                continue;
            if (p.seat < pick.seat || (p.seat == pick.seat && len > pick_len)) {
                pick = p;
                pick_len = len;
            }
        }
        BO_ASSERT(pick_len > 0); /* one part in every row of the window */
        for (uint32_t i = 0; i < pick_len; i++)
            out[n++] = pick.seat + i;
        target -= pick.score;
        x -= pick_len;
    }
    BO_ASSERT(x == 0 && n == q && target == 0);
}

/* The best split so far: rows [first, first + nrows). */
typedef struct split_pick {
    uint32_t first, nrows; /* nrows 0: none */
    uint64_t score;
} split_pick_t;

/* Fewest rows, then least score; the earlier window wins a tie. */
static void split_offer(const window_t *w, uint32_t q, split_pick_t *p)
{
    uint64_t f[BO_HOLD_MAX_SEATS + 1];
    if (p->nrows && w->nrows > p->nrows)
        return;
    suffix_best(w, 0, q, f);
    if (f[q] != UINT64_MAX && (!p->nrows || w->nrows < p->nrows || f[q] < p->score))
        *p = (split_pick_t){w->row[0], w->nrows, f[q]};
}

/* The rows that may hold a split: all, or those of one section. */
static void split_rows(const bo_layout_t *l, uint32_t section, uint32_t *first, uint32_t *end)
{
    *first = 0;
    *end = l->nrows;
    if (section != BO_NONE) {
        *first = l->sections[section].first_row;
        *end = *first + l->sections[section].nrows;
    }
}

/* Slide over the rows keeping, for each last row, the fewest rows before it
 * that hold q seats; then rebuild the winning window and write it. */
static int search_split(search_t *s, uint32_t section, uint32_t *out)
{
    const bo_layout_t *l = s->ix->l;
    uint32_t first, end;
    window_t w;
    part_t t[BO_HOLD_MAX_SEATS];
    split_pick_t pick = {0, 0, UINT64_MAX};
    split_rows(l, section, &first, &end);
    w.nrows = w.sum = 0;
    for (uint32_t r = first; r < end; r++) {
        int same = r > first && l->rows[r].section == l->rows[r - 1].section;
        uint32_t m = section == BO_NONE || l->rows[r].section == section ? row_parts(s, r, t) : 0;
        if (!m || !same)
            w.nrows = w.sum = 0;
        if (!m)
            continue;
        window_push(&w, r, t, m, s->q);
        if (w.sum >= s->q && w.nrows > 1)
            split_offer(&w, s->q, &pick);
    }
    if (!pick.nrows)
        return BO_ENOSEATS;
    w.nrows = w.sum = 0;
    for (uint32_t r = pick.first; r < pick.first + pick.nrows; r++)
        window_append(&w, r, t, row_parts(s, r, t));
    BO_ASSERT(w.nrows == pick.nrows && w.sum >= s->q);
    split_write(&w, s->q, out);
    return 0;
}

/* ---- the entry point ---------------------------------------------------- */

static const entry_t *pick_list(const bo_best_index_t *ix, uint32_t category, uint32_t section,
                                uint32_t *n)
{
    BO_ASSERT(section == BO_NONE || section < ix->l->nsections);
    BO_ASSERT(category == BO_NONE || category < ix->l->ncategories);
    if (section != BO_NONE) {
        *n = ix->sec_off[section + 1] - ix->sec_off[section];
        return ix->by_sec + ix->sec_off[section];
    }
    if (category != BO_NONE) {
        *n = ix->cat_off[category + 1] - ix->cat_off[category];
        return ix->by_cat + ix->cat_off[category];
    }
    *n = ix->l->nrows;
    return ix->all;
}

int bo_best_available(const bo_best_index_t *ix, const uint16_t *row_free, bo_seat_free_fn is_free,
                      void *ctx, uint32_t quantity, uint32_t category, uint32_t section,
                      uint32_t *out)
{
    if (!ix || !is_free || !out || quantity == 0 || quantity > BO_HOLD_MAX_SEATS ||
        (category != BO_NONE && category >= ix->l->ncategories) ||
        (section != BO_NONE && section >= ix->l->nsections))
        return BO_EINVAL;
    search_t s;
    s.ix = ix;
    s.row_free = row_free;
    s.is_free = is_free;
    s.ctx = ctx;
    s.q = quantity;
    s.category = category;
    s.strict = s.any = (cand_t){NO_SCORE, UINT32_MAX};
    uint32_t n;
    const entry_t *list = pick_list(ix, category, section, &n);
    search_rows(&s, list, n);
    cand_t c = s.strict.score != NO_SCORE ? s.strict : s.any;
    BO_ASSERT(s.strict.score == NO_SCORE || s.any.score != NO_SCORE);
    BO_ASSERT(s.any.score == NO_SCORE || s.any.score <= s.strict.score);
    if (c.score != NO_SCORE) {
        BO_ASSERT(c.seat + quantity <= ix->l->nseats);
        for (uint32_t i = 0; i < quantity; i++)
            out[i] = c.seat + i;
        return 0;
    }
    return quantity > 1 ? search_split(&s, section, out) : BO_ENOSEATS;
}
