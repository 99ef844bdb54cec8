/*
 * ref_best.c - best available judged by brute force on the reference's
 * seats (see engine.h, bo_best_available). The exact tie-breaking is not
 * re-implemented: the engine's choice is checked for the properties a buyer
 * relies on - the right count, free seats matching the filters, one row,
 * adjacent, no orphan, and the lowest rank sum that exists - and the
 * relaxation steps (orphans allowed, then a split over as few adjacent rows
 * of one section as possible) only when the stricter step has nothing.
 *
 * Workload: venues of a few hundred seats; every call tries every block of
 * every row, O(seats * quantity).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ref_inv.h"

static int avail(const ref_inv_t *r, uint32_t s)
{
    return ref_inv_seat_state(r, s) == BO_SEAT_AVAILABLE;
}

/* A seat the search may choose: free and matching the filters. */
static int cand(const ref_inv_t *r, uint32_t s, uint32_t cat, uint32_t sec)
{
    const bo_seat_t *st = &r->l->seats[s];
    return avail(r, s) && (cat == BO_NONE || st->category == cat) &&
           (sec == BO_NONE || st->section == sec);
}

static int block_free(const ref_inv_t *r, uint32_t a, uint32_t q, uint32_t cat, uint32_t sec)
{
    for (uint32_t s = a; s < a + q; s++)
        if (!cand(r, s, cat, sec))
            return 0;
    return 1;
}

/* Whether holding [a, a+q) of row leaves one free seat alone between the
 * block and a taken seat or the row's end (any seat counts, whatever its
 * category or section). */
static int orphan(const ref_inv_t *r, const bo_row_t *row, uint32_t a, uint32_t q)
{
    uint32_t first = row->first_seat, end = row->first_seat + row->nseats;
    if (a > first && avail(r, a - 1) && (a - 1 == first || !avail(r, a - 2)))
        return 1;
    uint32_t b = a + q; /* the seat right of the block */
    return b < end && avail(r, b) && (b + 1 == end || !avail(r, b + 1));
}

static uint64_t rank_sum(const ref_inv_t *r, const uint32_t *seats, uint32_t n)
{
    uint64_t sum = 0;
    for (uint32_t i = 0; i < n; i++)
        sum += r->l->seats[seats[i]].rank;
    return sum;
}

/* The lowest rank sum of a one-row block of q candidates; 0 when none. */
static int min_block(const ref_inv_t *r, uint32_t q, uint32_t cat, uint32_t sec, int allow_orphans,
                     uint64_t *min_sum)
{
    int found = 0;
    for (uint32_t ri = 0; ri < r->l->nrows; ri++) {
        const bo_row_t *row = &r->l->rows[ri];
        for (uint32_t a = row->first_seat; a + q <= row->first_seat + row->nseats; a++) {
            if (!block_free(r, a, q, cat, sec) || (!allow_orphans && orphan(r, row, a, q)))
                continue;
            uint64_t sum = 0;
            for (uint32_t s = a; s < a + q; s++)
                sum += r->l->seats[s].rank;
            if (!found || sum < *min_sum)
                *min_sum = sum;
            found = 1;
        }
    }
    return found;
}

static uint32_t max_run(const ref_inv_t *r, uint32_t ri, uint32_t cat, uint32_t sec)
{
    const bo_row_t *row = &r->l->rows[ri];
    uint32_t best = 0, run = 0;
    for (uint32_t s = row->first_seat; s < row->first_seat + row->nseats; s++) {
        run = cand(r, s, cat, sec) ? run + 1 : 0;
        if (run > best)
            best = run;
    }
    return best;
}

/* Whether rows [first, first+k) can take q seats, one contiguous part of
 * at least one seat in each. */
static int window_fits(const ref_inv_t *r, uint32_t first, uint32_t k, uint32_t q, uint32_t cat,
                       uint32_t sec)
{
    uint32_t sum = 0;
    for (uint32_t ri = first; ri < first + k; ri++) {
        uint32_t m = max_run(r, ri, cat, sec);
        if (m == 0)
            return 0;
        sum += m;
    }
    return k <= q && sum >= q;
}

/* The fewest adjacent rows (>= 2) of one section that can take q; 0 when
 * no split fits. */
static uint32_t min_split_rows(const ref_inv_t *r, uint32_t q, uint32_t cat, uint32_t sec)
{
    uint32_t best = 0;
    for (uint32_t si = 0; si < r->l->nsections; si++) {
        if (sec != BO_NONE && si != sec)
            continue;
        const bo_section_t *s = &r->l->sections[si];
        for (uint32_t k = 2; k <= s->nrows && (best == 0 || k < best); k++)
            for (uint32_t first = s->first_row; first + k <= s->first_row + s->nrows; first++)
                if (window_fits(r, first, k, q, cat, sec)) {
                    best = k;
                    break;
                }
    }
    return best;
}

int ref_inv_best_fits(const ref_inv_t *r, uint32_t quantity, uint32_t category, uint32_t section)
{
    uint64_t sum;
    return min_block(r, quantity, category, section, 1, &sum) ||
           min_split_rows(r, quantity, category, section) > 0;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static char why[256];

/* Rows used by sorted seats, each part contiguous in its row; 0 when the
 * seats are not in contiguous parts of consecutive rows of one section. */
static uint32_t parts(const ref_inv_t *r, const uint32_t *s, uint32_t n)
{
    uint32_t rows = 1;
    for (uint32_t i = 1; i < n; i++) {
        uint32_t prev = r->l->seats[s[i - 1]].row, cur = r->l->seats[s[i]].row;
        if (cur == prev && s[i] != s[i - 1] + 1)
            return 0; /* a gap inside a row */
        if (cur != prev && (cur != prev + 1 || r->l->rows[cur].section != r->l->rows[prev].section))
            return 0; /* not the next row of the same section */
        rows += cur != prev;
    }
    return rows;
}

static const char *judge_block(const ref_inv_t *r, const uint32_t *s, uint32_t q, int no_orphan,
                               uint64_t min_sum)
{
    if (parts(r, s, q) != 1)
        return "not one adjacent block in one row, though one fits";
    const bo_row_t *row = &r->l->rows[r->l->seats[s[0]].row];
    if (no_orphan && orphan(r, row, s[0], q))
        return "the block leaves an orphan, though an orphan-free block fits";
    uint64_t sum = rank_sum(r, s, q);
    if (sum == min_sum)
        return NULL;
    snprintf(why, sizeof why, "rank sum %llu, but a %s block with rank sum %llu fits",
             (unsigned long long)sum, no_orphan ? "orphan-free" : "one-row",
             (unsigned long long)min_sum);
    return why;
}

static const char *judge_split(const ref_inv_t *r, const uint32_t *s, uint32_t q, uint32_t cat,
                               uint32_t sec)
{
    uint32_t k = min_split_rows(r, q, cat, sec);
    uint32_t got = parts(r, s, q);
    if (k == 0)
        return "seats chosen where nothing fits";
    if (got == 0)
        return "a split that is not contiguous parts of adjacent rows of one section";
    if (got == k)
        return NULL;
    snprintf(why, sizeof why, "split over %u rows, but %u rows suffice", got, k);
    return why;
}

const char *ref_inv_best_judge(const ref_inv_t *r, uint32_t quantity, uint32_t category,
                               uint32_t section, const uint32_t *seats, uint32_t n, int *step)
{
    uint32_t s[BO_HOLD_MAX_SEATS];
    uint64_t min_sum = 0;
    if (n != quantity || n == 0 || n > BO_HOLD_MAX_SEATS)
        return "wrong number of seats";
    memcpy(s, seats, n * sizeof *s);
    qsort(s, n, sizeof *s, cmp_u32);
    for (uint32_t i = 0; i < n; i++) {
        if (s[i] >= r->l->nseats || (i > 0 && s[i] == s[i - 1]))
            return "a seat index out of range or repeated";
        if (!cand(r, s[i], category, section))
            return "a seat that is not free or not of the category/section asked";
    }
    *step = 1;
    if (min_block(r, n, category, section, 0, &min_sum))
        return judge_block(r, s, n, 1, min_sum);
    *step = 2;
    if (min_block(r, n, category, section, 1, &min_sum))
        return judge_block(r, s, n, 0, min_sum);
    *step = 3;
    return judge_split(r, s, n, category, section);
}
