/*
 * bench_best.c - how long one best-available search takes (src/engine/best.c)
 * on generated venues of 20,000 and 100,000 seats.
 *
 * Reported: "cpu", the thread CPU time of the whole series divided by its
 * calls (preemption by other processes left out), and the wall time of each
 * call (CLOCK_MONOTONIC, ~25 ns of clock overhead included): mean, p50,
 * p99, max; on a busy machine the max is mostly preemption.
 * Scenarios:
 *   on-sale   the venue fills from empty by best-available holds of 1-8
 *             seats, each search followed by taking its seats, as during an
 *             on-sale; reported per phase of the fill (0-50%, 50-95% sold).
 *   snapshot  at 50% and 95% sold (by the on-sale, or uniformly at random,
 *             the worst case: nothing fits in one row near the front), the
 *             same state searched again and again for 2, 4 and 8 seats, any
 *             category, one category, one section.
 * Usage: bench_best [seed]
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "boxoffice/engine.h"
#include "boxoffice/error.h"
#include "boxoffice/layout.h"

#define ANY BO_NONE

typedef struct venue {
    bo_layout_t *l;
    bo_best_index_t *ix;
    uint8_t *taken;
    uint16_t *row_free;
    uint32_t sold;
} venue_t;

typedef struct stats {
    double *ns; /* wall time of each call */
    size_t n, cap;
    double cpu_ns; /* thread CPU time of all calls, preemption excluded */
} stats_t;

static uint64_t rng = 88172645463325252ull;

static uint32_t rnd(uint32_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng % n);
}

static int is_free(void *ctx, uint32_t seat)
{
    return !((const venue_t *)ctx)->taken[seat];
}

static double clock_ns(clockid_t c)
{
    struct timespec t;
    clock_gettime(c, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static double now_ns(void)
{
    return clock_ns(CLOCK_MONOTONIC);
}

static double cpu_ns(void)
{
    return clock_ns(CLOCK_THREAD_CPUTIME_ID);
}

static void stats_add(stats_t *s, double ns)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 1024;
        s->ns = realloc(s->ns, s->cap * sizeof(double));
    }
    s->ns[s->n++] = ns;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void stats_print(const char *what, stats_t *s)
{
    if (!s->n)
        return;
    double sum = 0;
    for (size_t i = 0; i < s->n; i++)
        sum += s->ns[i];
    qsort(s->ns, s->n, sizeof(double), cmp_double);
    printf("  %-44s n=%-6zu cpu %8.2f us  wall mean %8.2f  p50 %8.2f  p99 %8.2f  max %8.2f\n", what,
           s->n, s->cpu_ns / (double)s->n / 1e3, sum / (double)s->n / 1e3, s->ns[s->n / 2] / 1e3,
           s->ns[s->n * 99 / 100] / 1e3, s->ns[s->n - 1] / 1e3);
    free(s->ns);
    *s = (stats_t){0};
}

static int venue_open(venue_t *v, uint32_t sections, uint32_t rows, uint32_t seats)
{
    bo_venue_gen_t g = {.sections = sections, .rows = rows, .seats = seats, .categories = 4};
    size_t len;
    char *json = bo_venue_generate(&g, &len);
    if (!json || bo_layout_parse(json, len, &v->l, NULL) || bo_best_index_new(v->l, &v->ix))
        return -1;
    free(json);
    v->taken = calloc(v->l->nseats, 1);
    v->row_free = calloc(v->l->nrows, sizeof(uint16_t));
    return v->taken && v->row_free ? 0 : -1;
}

static void venue_clear(venue_t *v)
{
    memset(v->taken, 0, v->l->nseats);
    for (uint32_t r = 0; r < v->l->nrows; r++)
        v->row_free[r] = (uint16_t)v->l->rows[r].nseats;
    v->sold = 0;
}

static void take(venue_t *v, uint32_t seat)
{
    if (v->taken[seat])
        return;
    v->taken[seat] = 1;
    v->row_free[v->l->seats[seat].row]--;
    v->sold++;
}

static void timed(stats_t *st, venue_t *v, uint32_t q, uint32_t cat, uint32_t sec, uint32_t *out,
                  int *rc)
{
    double t0 = now_ns();
    *rc = bo_best_available(v->ix, v->row_free, is_free, v, q, cat, sec, out);
    stats_add(st, now_ns() - t0);
}

/* Fill the venue by best-available holds up to `until` of its seats. */
static void on_sale(venue_t *v, double until, stats_t *st)
{
    uint32_t out[BO_HOLD_MAX_SEATS], fails = 0;
    double c0 = cpu_ns();
    while (v->sold < until * v->l->nseats && fails < 1000) {
        uint32_t q = 1 + rnd(rnd(4) ? 4 : 8);
        int rc;
        timed(st, v, q, ANY, ANY, out, &rc);
        if (rc) {
            fails++;
            continue;
        }
        for (uint32_t i = 0; i < q; i++)
            take(v, out[i]);
    }
    st->cpu_ns = cpu_ns() - c0;
}

/* The same search 2000 times on the same state. */
static void repeat(venue_t *v, const char *state, uint32_t q, uint32_t cat, uint32_t sec,
                   const char *filter)
{
    uint32_t out[BO_HOLD_MAX_SEATS];
    stats_t st = {0};
    char what[128];
    int rc = 0;
    double c0 = cpu_ns();
    for (int i = 0; i < 2000; i++)
        timed(&st, v, q, cat, sec, out, &rc);
    st.cpu_ns = cpu_ns() - c0;
    snprintf(what, sizeof(what), "%s, %u seats, %s%s", state, q, filter, rc ? " (none fits)" : "");
    stats_print(what, &st);
}

static void snapshot(venue_t *v, const char *state)
{
    static const uint32_t qs[] = {2, 4, 8};
    for (size_t k = 0; k < sizeof(qs) / sizeof(qs[0]); k++) {
        repeat(v, state, qs[k], ANY, ANY, "any");
        repeat(v, state, qs[k], 1, ANY, "category 1");
        repeat(v, state, qs[k], ANY, v->l->nsections / 2, "one section");
    }
}

static void uniform(venue_t *v, double fraction)
{
    venue_clear(v);
    for (uint32_t s = 0; s < v->l->nseats; s++)
        if (rnd(1000000) < fraction * 1e6)
            take(v, s);
}

static void bench_venue(uint32_t sections, uint32_t rows, uint32_t seats)
{
    venue_t v = {0};
    if (venue_open(&v, sections, rows, seats)) {
        fprintf(stderr, "bench_best: cannot build the venue\n");
        exit(1);
    }
    printf("venue: %u seats (%u sections x %u rows x %u seats)\n", v.l->nseats, sections, rows,
           seats);
    stats_t st = {0};
    venue_clear(&v);
    on_sale(&v, 0.5, &st);
    stats_print("on-sale fill 0-50%, 1-8 seats", &st);
    snapshot(&v, "on-sale 50%");
    on_sale(&v, 0.95, &st);
    stats_print("on-sale fill 50-95%, 1-8 seats", &st);
    snapshot(&v, "on-sale 95%");
    uniform(&v, 0.5);
    snapshot(&v, "uniform 50%");
    uniform(&v, 0.95);
    snapshot(&v, "uniform 95%");
    bo_best_index_free(v.ix);
    bo_layout_free(v.l);
    free(v.taken);
    free(v.row_free);
}

int main(int argc, char **argv)
{
    if (argc > 1)
        rng = strtoull(argv[1], NULL, 10) | 1;
    bench_venue(20, 20, 50);
    bench_venue(40, 50, 50);
    return 0;
}
