/*
 * test_model.c - the engine's model test: seeded random operations run
 * against the inventory (bo_inv_*) and against the reference inventory
 * (tests/unit/helpers/ref_inv.c, obviously right and slow); the first
 * difference fails with the seed, the operation number, the operation, both
 * answers and the operations before it.
 *
 * From the environment:
 *   BOXOFFICE_MODEL_SEED=<n>   seed (decimal or 0x..); every run prints its own
 *   BOXOFFICE_MODEL_OPS=<n>    operations (default 200000; make test-long: 10^7)
 *   BOXOFFICE_MODEL_CHECK=<n>  compare the whole state every n ops (default 500)
 *   BOXOFFICE_MODEL_VERBOSE=1  print every operation and its answer
 * Replay a failure with the line it prints, e.g.
 *   BOXOFFICE_MODEL_SEED=42 BOXOFFICE_MODEL_OPS=1234 build/tests/test_model
 *
 * Workload: a small venue drawn from the seed (2-4 sections x 3-7 rows x
 * 6-12 seats, 1-3 GA areas of 8-30, 2-4 categories), most explicit holds on
 * a hot region of two rows, six customers (one anonymous) under a
 * per-customer limit, sometimes few hold slots: conflicts, sell-outs, limits
 * and EFULL are all frequent. Every op's answer is compared, then the
 * counts; the whole state every BOXOFFICE_MODEL_CHECK ops and after every
 * journal rollback.
 *
 * Readings of engine.h where it is silent or ambiguous (the reference
 * implements these; the engine must agree):
 *  1. A hold's errors, first match wins: EINVAL, EEXIST, ELIMIT, then
 *     EUNAVAILABLE (explicit) / ENOSEATS (best available), then EFULL.
 *  2. EINVAL: an empty request; best available with seats or GA;
 *     best_quantity > BO_HOLD_MAX_SEATS; best category/section out of range
 *     (BO_NONE excepted); a seat out of range or twice; more than
 *     BO_HOLD_MAX_SEATS seats; more than BO_HOLD_MAX_GA lines; a GA area out
 *     of range or twice; a GA quantity of 0 or above BO_HOLD_MAX_GA_QTY.
 *     A GA quantity above what is left is EUNAVAILABLE (ga_short).
 *  3. EEXIST for the id of a HELD, PAYING or SOLD hold. The id of a
 *     released, expired or cancelled hold is free again.
 *  4. EFULL counts HELD (unexpired), PAYING and SOLD holds: an expired
 *     hold's slot is free even before the sweeper ran.
 *  5. The limit counts the customer's HELD, PAYING and SOLD seats + GA
 *     tickets. Replay skips it, and so does a late confirm (the money is
 *     taken; the limit was checked when the hold was made; confirm lists
 *     no ELIMIT).
 *  6. hold_ttl_ms 0 means the default, 300000.
 *  7. pay_start: a deadline <= now is EINVAL, checked before the lookup.
 *  8. pay_failed: ENOTFOUND when not live, ESTATE when HELD or SOLD. The
 *     hold goes back to HELD with its original expires_at; when that has
 *     passed the hold is gone at once and *released is 1 (the buyer must
 *     hear "your seats are gone", not "try another card").
 *  9. confirm of a live hold ignores seats/ga/customer/amount (needed only
 *     for a gone hold), so the test sometimes passes none. A late confirm
 *     makes a SOLD hold with the customer and amount_cents passed; EINVAL
 *     for malformed seats/GA, EFULL when no slot is free.
 * 10. cancel of an unknown or gone id is ENOTFOUND (like release); ESTATE
 *     is for a HELD or PAYING hold.
 * 11. block accepts seats already BLOCKED (idempotent) and lists only HELD
 *     and SOLD ones; unblock lists every seat that is not BLOCKED. A seat
 *     out of range or twice is EINVAL.
 * 12. Order is free in: unavailable, ga_short, the seats and GA lines of a
 *     hold, due payments (compared as sets).
 * 13. bo_inv_expire may report fewer holds than expired since its last
 *     call (the engine may drop expired holds lazily), never more.
 * 14. bo_inv_next_deadline is compared right after bo_inv_expire(now),
 *     when no expired HELD hold remains: min(expires_at of HELD holds,
 *     pay deadline of PAYING holds).
 * 15. version never goes back, does not change on reads, and moves on
 *     every successful mutation that changed something (and on a rollback
 *     that undid something).
 * 16. For a SOLD hold, expires_at, pay_deadline and pay_failures are not
 *     compared; for a late-confirmed one neither is created_ms.
 * 17. Best available: the orphan rule sees seats of every category as
 *     seats; relaxing orphans still takes the lowest rank sum among one-row
 *     blocks; a split uses the fewest rows of any section.
 * 18. set_config is not called while a journal position may be rolled back
 *     to (whether config changes are journaled is unspecified).
 */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "boxoffice/engine.h"
#include "boxoffice/error.h"
#include "boxoffice/layout.h"
#include "helpers/ref_inv.h"

#define NCUSTOMERS 10 /* customers[0] is anonymous (0) */
#define RING       128 /* recent holds, for late confirms and gone ids */
#define TRACE      16  /* operations printed before a divergence */
#define MAX_CP     3   /* nested journal positions */
#define HOT_MAX    64
#define DESC       1024

#define M_HELD   (1u << BO_HOLD_HELD)
#define M_PAYING (1u << BO_HOLD_PAYING)
#define M_SOLD   (1u << BO_HOLD_SOLD)
#define M_LIVE   (M_HELD | M_PAYING)
#define M_ANY    (M_LIVE | M_SOLD)

/* What an order recorded about a hold: enough to confirm it late. */
struct record {
    bo_hold_id_t id;
    uint64_t customer;
    int64_t amount_cents;
    uint32_t seats[BO_HOLD_MAX_SEATS];
    uint32_t nseats;
    bo_ga_line_t ga[BO_HOLD_MAX_GA];
    uint32_t nga;
};

struct checkpoint {
    bo_jpos_t pos;
    ref_inv_t *copy; /* the reference at pos */
    uint64_t version;
};

#define OPS(X)                                                                                     \
    X(hold_seats, 200)                                                                             \
    X(hold_ga, 50)                                                                                 \
    X(hold_mixed, 40)                                                                              \
    X(hold_best, 80)                                                                               \
    X(hold_bad, 25)                                                                                \
    X(hold_reuse, 10)                                                                              \
    X(hold_replay, 10)                                                                             \
    X(release, 60)                                                                                 \
    X(pay_start, 80)                                                                               \
    X(pay_failed, 50)                                                                              \
    X(confirm, 80)                                                                                 \
    X(cancel, 45)                                                                                  \
    X(block, 15)                                                                                   \
    X(unblock, 15)                                                                                 \
    X(advance, 100)                                                                                \
    X(advance_exact, 10)                                                                           \
    X(expire, 30)                                                                                  \
    X(get_hold, 30)                                                                                \
    X(reads, 20)                                                                                   \
    X(config, 2)

enum op_kind {
#define OP_ENUM(name, weight) OP_##name,
    OPS(OP_ENUM)
#undef OP_ENUM
        OP_journal,
    OP_COUNT
};

#define NCODES 17 /* rc 0..-16 */

typedef struct model {
    uint64_t seed, rng, op, nops, check_every;
    int verbose;
    bo_layout_t *layout;
    bo_inv_t *inv;
    ref_inv_t *ref;
    int64_t now;
    uint64_t version; /* the engine's, as last seen */
    uint64_t customers[NCUSTOMERS];
    uint32_t hot[HOT_MAX], nhot;
    struct record ring[RING];
    uint32_t nring, ring_next;
    int journal_on;
    uint64_t journal_on_at;
    struct checkpoint cps[MAX_CP];
    uint32_t ncp;
    bo_hold_id_t *due_e, *due_r; /* ref->cap each */
    char desc[DESC];
    size_t desc_len;
    char trace[TRACE][DESC];
    uint64_t stats[OP_COUNT][NCODES];
} model_t;

/* ---- randomness ---- */

static uint64_t next(model_t *m)
{
    uint64_t z = (m->rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint32_t below(model_t *m, uint64_t n)
{
    return n ? (uint32_t)(next(m) % n) : 0;
}

static int chance(model_t *m, uint32_t per_mille)
{
    return below(m, 1000) < per_mille;
}

static void fresh_id(model_t *m, bo_hold_id_t *id)
{
    uint64_t a = next(m), b = next(m);
    memcpy(id->b, &a, 8);
    memcpy(id->b + 8, &b, 8);
}

/* ---- describing ops and answers ---- */

__attribute__((format(printf, 2, 3))) static void say(model_t *m, const char *fmt, ...)
{
    va_list ap;
    if (m->desc_len >= DESC - 1)
        return;
    va_start(ap, fmt);
    int n = vsnprintf(m->desc + m->desc_len, DESC - m->desc_len, fmt, ap);
    va_end(ap);
    if (n > 0)
        m->desc_len += (size_t)n < DESC - m->desc_len ? (size_t)n : DESC - 1 - m->desc_len;
}

static void say_id(model_t *m, const bo_hold_id_t *id)
{
    say(m, " id=%02x%02x%02x%02x", id->b[0], id->b[1], id->b[2], id->b[3]);
}

static void say_seats(model_t *m, const char *what, const uint32_t *s, uint32_t n)
{
    say(m, " %s=[", what);
    for (uint32_t i = 0; i < n && i < 16; i++)
        say(m, i ? ",%u" : "%u", s[i]);
    say(m, n > 16 ? ",...(%u)]" : "]", n);
}

static void say_ga(model_t *m, const bo_ga_line_t *ga, uint32_t n)
{
    say(m, " ga=[");
    for (uint32_t i = 0; i < n && i < BO_HOLD_MAX_GA + 2; i++)
        say(m, i ? ",%ux%u" : "%ux%u", ga[i].area, ga[i].quantity);
    say(m, "]");
}

static void say_rc(model_t *m, const char *who, int rc)
{
    say(m, " %s=%s(%d)", who, bo_err_code(rc), rc);
}

static void say_req(model_t *m, const bo_hold_req_t *q)
{
    say(m, "hold");
    say_id(m, &q->id);
    say(m, " customer=%llx", (unsigned long long)q->customer);
    if (q->nseats)
        say_seats(m, "seats", q->seats, q->nseats);
    if (q->nga)
        say_ga(m, q->ga, q->nga);
    if (q->best_quantity)
        say(m, " best=%u cat=%d sec=%d", q->best_quantity, (int)q->best_category,
            (int)q->best_section);
    if (q->replay)
        say(m, " replay expires_at=%lld", (long long)q->expires_at_ms);
}

static void begin(model_t *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void begin(model_t *m, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(m->desc, DESC, fmt, ap);
    va_end(ap);
    m->desc_len = n < 0 ? 0 : (size_t)n < DESC ? (size_t)n : DESC - 1;
}

/* The first difference: print everything needed to replay it, then fail. */
__attribute__((format(printf, 2, 3))) static void diverge(model_t *m, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "\ntest_model: DIVERGENCE at op %llu, seed %llu, now %lld\n",
            (unsigned long long)m->op, (unsigned long long)m->seed, (long long)m->now);
    fprintf(stderr, "  op: %s\n  ", m->desc);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n  previous ops, oldest first:\n");
    for (uint64_t k = TRACE; k > 0; k--)
        if (m->op >= k && m->trace[(m->op - k) % TRACE][0])
            fprintf(stderr, "    %llu: %s\n", (unsigned long long)(m->op - k),
                    m->trace[(m->op - k) % TRACE]);
    fprintf(stderr, "  replay: BOXOFFICE_MODEL_SEED=%llu BOXOFFICE_MODEL_OPS=%llu %s\n",
            (unsigned long long)m->seed, (unsigned long long)m->op + 1, "build/tests/test_model");
    fflush(stderr);
    cr_assert_fail("model diverged at op %llu (seed %llu)", (unsigned long long)m->op,
                   (unsigned long long)m->seed);
    abort();
}

/* ---- comparing ---- */

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static int same_set(const uint32_t *a, uint32_t na, const uint32_t *b, uint32_t nb)
{
    uint32_t x[BO_HOLD_MAX_SEATS], y[BO_HOLD_MAX_SEATS];
    if (na != nb || na > BO_HOLD_MAX_SEATS)
        return 0;
    memcpy(x, a, na * sizeof *a);
    memcpy(y, b, nb * sizeof *b);
    qsort(x, na, sizeof *x, cmp_u32);
    qsort(y, nb, sizeof *y, cmp_u32);
    return memcmp(x, y, na * sizeof *x) == 0;
}

/* The same values in the same order. */
static int same_list(const uint32_t *a, uint32_t na, const uint32_t *b, uint32_t nb)
{
    return na == nb && na <= BO_HOLD_MAX_SEATS && memcmp(a, b, na * sizeof *a) == 0;
}

static int ascending(const uint32_t *a, uint32_t n)
{
    for (uint32_t i = 1; i < n; i++)
        if (a[i - 1] >= a[i])
            return 0;
    return 1;
}

static int same_ga(const bo_ga_line_t *a, uint32_t na, const bo_ga_line_t *b, uint32_t nb)
{
    if (na != nb || na > BO_HOLD_MAX_GA)
        return 0;
    for (uint32_t i = 0; i < na; i++) {
        uint32_t j = 0;
        while (j < nb && (b[j].area != a[i].area || b[j].quantity != a[i].quantity))
            j++;
        if (j == nb)
            return 0;
    }
    return 1;
}

static const char *state_name(int s)
{
    static const char *names[] = {"AVAILABLE", "HELD", "SOLD", "BLOCKED"};
    return s >= 0 && s < 4 ? names[s] : "?";
}

static void check_seats(model_t *m, const uint32_t *seats, uint32_t n)
{
    for (uint32_t i = 0; i < n && i < BO_HOLD_MAX_SEATS; i++) {
        uint32_t s = seats[i];
        if (s >= m->layout->nseats)
            continue;
        int e = bo_inv_seat_state(m->inv, s, m->now), r = ref_seat_state(m->ref, s);
        if (e != r)
            diverge(m, "seat %u: engine %s, reference %s", s, state_name(e), state_name(r));
    }
}

static void check_counts(model_t *m)
{
    bo_inv_counts_t e, r;
    bo_inv_counts(m->inv, m->now, &e);
    ref_counts(m->ref, &r);
    if (e.total != r.total || e.available != r.available || e.held != r.held ||
        e.sold != r.sold || e.blocked != r.blocked || e.live_holds != r.live_holds)
        diverge(m,
                "counts: engine total=%u available=%u held=%u sold=%u blocked=%u live=%u, "
                "reference total=%u available=%u held=%u sold=%u blocked=%u live=%u",
                e.total, e.available, e.held, e.sold, e.blocked, e.live_holds, r.total,
                r.available, r.held, r.sold, r.blocked, r.live_holds);
    if (e.available + e.held + e.sold + e.blocked != e.total)
        diverge(m, "counts do not add up to total");
    if (e.version != bo_inv_version(m->inv))
        diverge(m, "counts.version %llu != bo_inv_version %llu", (unsigned long long)e.version,
                (unsigned long long)bo_inv_version(m->inv));
}

/* After every op: the version (see reading 15) and the counts. */
static void after_op(model_t *m, int changed)
{
    uint64_t v = bo_inv_version(m->inv);
    if (v < m->version)
        diverge(m, "version went back: %llu -> %llu", (unsigned long long)m->version,
                (unsigned long long)v);
    if (changed && v == m->version)
        diverge(m, "version stayed %llu after a successful mutation", (unsigned long long)v);
    m->version = v;
    check_counts(m);
}

/* Reads must leave the version alone. */
static void after_read(model_t *m)
{
    if (bo_inv_version(m->inv) != m->version)
        diverge(m, "a read changed the version");
}

static void check_view(model_t *m, const ref_hold_t *h, const bo_hold_view_t *v)
{
    const char *bad = NULL;
    int live = h->status != BO_HOLD_SOLD;
    if (memcmp(v->id.b, h->id.b, sizeof h->id.b) != 0)
        bad = "id";
    else if (v->status != h->status)
        bad = "status";
    else if (v->customer != h->customer)
        bad = "customer";
    else if (v->amount_cents != h->amount_cents)
        bad = "amount_cents";
    else if (!same_set(v->seats, v->nseats, h->seats, h->nseats))
        bad = "seats";
    else if (!same_ga(v->ga, v->nga, h->ga, h->nga))
        bad = "ga";
    else if (live && v->expires_at_ms != h->expires_at_ms)
        bad = "expires_at_ms";
    else if (live && v->pay_failures != h->pay_failures)
        bad = "pay_failures";
    else if (h->status == BO_HOLD_PAYING && v->pay_deadline_ms != h->pay_deadline_ms)
        bad = "pay_deadline_ms";
    else if (!h->late && v->created_ms != h->created_ms)
        bad = "created_ms";
    if (!bad)
        return;
    say(m, " | hold");
    say_id(m, &h->id);
    say(m, " engine: status=%u customer=%llx amount=%lld expires=%lld failures=%u deadline=%lld "
           "created=%lld",
        v->status, (unsigned long long)v->customer, (long long)v->amount_cents,
        (long long)v->expires_at_ms, v->pay_failures, (long long)v->pay_deadline_ms,
        (long long)v->created_ms);
    say_seats(m, "seats", v->seats, v->nseats);
    say_ga(m, v->ga, v->nga);
    say(m, " | reference: status=%u customer=%llx amount=%lld expires=%lld failures=%u "
           "deadline=%lld created=%lld",
        h->status, (unsigned long long)h->customer, (long long)h->amount_cents,
        (long long)h->expires_at_ms, h->pay_failures, (long long)h->pay_deadline_ms,
        (long long)h->created_ms);
    say_seats(m, "seats", h->seats, h->nseats);
    say_ga(m, h->ga, h->nga);
    diverge(m, "bo_inv_get_hold differs in %s", bad);
}

static void check_hold(model_t *m, const bo_hold_id_t *id)
{
    bo_hold_view_t v;
    memset(&v, 0, sizeof v);
    int rc = bo_inv_get_hold(m->inv, id, m->now, &v);
    const ref_hold_t *h = ref_find(m->ref, id);
    if (!h && rc != BO_ENOTFOUND)
        diverge(m, "get_hold: engine %s (status %u), reference: no such live or sold hold",
                bo_err_code(rc), v.status);
    if (h && rc != 0)
        diverge(m, "get_hold: engine %s, reference has the hold (status %u)", bo_err_code(rc),
                h->status);
    if (h)
        check_view(m, h, &v);
}

static int cmp_id(const void *a, const void *b)
{
    return memcmp(a, b, sizeof(bo_hold_id_t));
}

static void check_due(model_t *m, uint32_t max)
{
    uint32_t cap = m->ref->cap;
    uint32_t ne = bo_inv_due_payments(m->inv, m->now, m->due_e, max < cap ? max : cap);
    uint32_t nr = ref_due_payments(m->ref, m->now, m->due_r, cap);
    uint32_t want = nr < max ? nr : max;
    if (ne != want)
        diverge(m, "due_payments(max %u): engine %u, reference %u", max, ne, want);
    qsort(m->due_r, nr, sizeof *m->due_r, cmp_id);
    for (uint32_t i = 0; i < ne; i++)
        if (!bsearch(&m->due_e[i], m->due_r, nr, sizeof *m->due_r, cmp_id))
            diverge(m, "due_payments lists a hold that is not PAYING past its deadline");
    qsort(m->due_e, ne, sizeof *m->due_e, cmp_id);
    for (uint32_t i = 1; i < ne; i++)
        if (cmp_id(&m->due_e[i - 1], &m->due_e[i]) == 0)
            diverge(m, "due_payments lists a hold twice");
}

static void check_seat_states(model_t *m)
{
    const bo_layout_t *l = m->layout;
    uint8_t *snap = malloc(l->nseats);
    cr_assert(snap);
    uint64_t v = bo_inv_snapshot(m->inv, m->now, snap);
    if (v != bo_inv_version(m->inv))
        diverge(m, "snapshot version %llu != bo_inv_version %llu", (unsigned long long)v,
                (unsigned long long)bo_inv_version(m->inv));
    for (uint32_t s = 0; s < l->nseats; s++) {
        int r = ref_seat_state(m->ref, s), e = bo_inv_seat_state(m->inv, s, m->now);
        int sn = snap[s];
        if (sn != r || e != r) {
            free(snap);
            diverge(m, "seat %u: snapshot %s, seat_state %s, reference %s", s, state_name(sn),
                    state_name(e), state_name(r));
        }
    }
    free(snap);
}

static void check_areas(model_t *m)
{
    const bo_layout_t *l = m->layout;
    for (uint32_t c = 0; c < l->ncategories; c++) {
        uint32_t e = bo_inv_category_available(m->inv, c, m->now);
        uint32_t r = ref_category_available(m->ref, c);
        if (e != r)
            diverge(m, "category %u available: engine %u, reference %u", c, e, r);
    }
    for (uint32_t a = 0; a < l->nga; a++) {
        uint32_t sold = ref_ga_sold(m->ref, a);
        uint32_t avail = l->ga[a].capacity - ref_ga_held(m->ref, a) - sold;
        uint32_t ea = bo_inv_ga_available(m->inv, a, m->now), es = bo_inv_ga_sold(m->inv, a);
        if (ea != avail || es != sold)
            diverge(m, "GA area %u: engine available=%u sold=%u, reference available=%u sold=%u",
                    a, ea, es, avail, sold);
    }
}

/* The whole state: every seat, count, area, hold, recent gone id, due payment. */
static void full_compare(model_t *m)
{
    const char *why = ref_self_check(m->ref);
    if (why)
        diverge(m, "the reference broke its own invariant (a test bug): %s", why);
    check_seat_states(m);
    check_counts(m);
    check_areas(m);
    for (uint32_t i = 0; i < m->ref->hwm; i++)
        if (m->ref->holds[i].status != BO_HOLD_NONE)
            check_hold(m, &m->ref->holds[i].id);
    for (uint32_t i = 0; i < m->nring; i++)
        check_hold(m, &m->ring[i].id);
    check_due(m, UINT32_MAX);
    if (bo_inv_memory(m->inv) == 0)
        diverge(m, "bo_inv_memory is 0");
    after_read(m);
}

/* ---- choosing what to act on ---- */

static uint64_t pick_customer(model_t *m)
{
    return chance(m, 250) ? 0 : m->customers[1 + below(m, NCUSTOMERS - 1)];
}

static uint32_t pick_seat(model_t *m)
{
    return chance(m, 750) ? m->hot[below(m, m->nhot)] : below(m, m->layout->nseats);
}

/* n distinct seats into out; returns how many (fewer only in tiny venues). */
static uint32_t pick_seats(model_t *m, uint32_t n, uint32_t *out)
{
    uint32_t k = 0;
    for (uint32_t tries = 0; k < n && tries < 8 * n + 16; tries++) {
        uint32_t s = pick_seat(m), j = 0;
        while (j < k && out[j] != s)
            j++;
        if (j == k)
            out[k++] = s;
    }
    return k;
}

/* 1-2 lines on distinct areas, mostly small quantities. */
static uint32_t pick_ga(model_t *m, bo_ga_line_t *out)
{
    const bo_layout_t *l = m->layout;
    uint32_t n = 1 + below(m, l->nga < 2 ? 1 : 2);
    uint32_t first = below(m, l->nga);
    for (uint32_t i = 0; i < n; i++) {
        uint32_t cap = l->ga[(first + i) % l->nga].capacity, k = below(m, 100);
        out[i].area = (first + i) % l->nga;
        out[i].quantity = k < 85 ? 1 + below(m, 4) : k < 98 ? 1 + below(m, cap) : cap + 1;
        if (out[i].quantity > BO_HOLD_MAX_GA_QTY)
            out[i].quantity = BO_HOLD_MAX_GA_QTY;
    }
    return n;
}

static void record_from_hold(struct record *rec, const ref_hold_t *h)
{
    rec->id = h->id;
    rec->customer = h->customer;
    rec->amount_cents = h->amount_cents;
    memcpy(rec->seats, h->seats, h->nseats * sizeof *h->seats);
    rec->nseats = h->nseats;
    memcpy(rec->ga, h->ga, h->nga * sizeof *h->ga);
    rec->nga = h->nga;
}

static void remember(model_t *m, const bo_hold_id_t *id)
{
    const ref_hold_t *h = ref_find(m->ref, id);
    if (!h)
        return;
    record_from_hold(&m->ring[m->ring_next], h);
    m->ring_next = (m->ring_next + 1) % RING;
    if (m->nring < RING)
        m->nring++;
}

/* A hold to act on: mostly a reference hold whose status is in mask, else a
 * recent one (maybe gone), else one never seen (with a few seats). */
static void pick_target(model_t *m, unsigned mask, struct record *rec)
{
    uint32_t k = below(m, 100), n = ref_count_holds(m->ref, mask);
    if (k < 70 && n > 0) {
        record_from_hold(rec, ref_nth_hold(m->ref, mask, below(m, n)));
    } else if (k < 93 && m->nring > 0) {
        *rec = m->ring[below(m, m->nring)];
    } else {
        fresh_id(m, &rec->id);
        rec->customer = pick_customer(m);
        rec->amount_cents = below(m, 100000);
        rec->nseats = pick_seats(m, 1 + below(m, 3), rec->seats);
        rec->nga = 0;
    }
}

/* ---- holds ---- */

static void check_hold_answer(model_t *m, const bo_hold_req_t *req, int rc, bo_hold_res_t *e,
                              bo_hold_res_t *r)
{
    if (rc == BO_EUNAVAILABLE &&
        (!same_list(e->unavailable, e->nunavailable, r->unavailable, r->nunavailable) ||
         !same_list(e->ga_short, e->nga_short, r->ga_short, r->nga_short))) {
        say_seats(m, "engine.unavailable", e->unavailable, e->nunavailable);
        say_seats(m, "engine.ga_short", e->ga_short, e->nga_short);
        say_seats(m, "ref.unavailable", r->unavailable, r->nunavailable);
        say_seats(m, "ref.ga_short", r->ga_short, r->nga_short);
        diverge(m, "hold: the unavailable seats or short GA areas differ (request order)");
    }
    if (rc != 0)
        return;
    if (e->nseats > BO_HOLD_MAX_SEATS)
        diverge(m, "hold: res.nseats %u", e->nseats);
    if (req->best_quantity > 0) {
        const char *why = ref_best_judge(m->ref, req->best_quantity, req->best_category,
                                         req->best_section, e->seats, e->nseats);
        if (!why && !ascending(e->seats, e->nseats))
            why = "seats not in ascending order";
        if (why) {
            say_seats(m, "engine.seats", e->seats, e->nseats);
            diverge(m, "best available: %s", why);
        }
    } else if (!same_list(e->seats, e->nseats, req->seats, req->nseats)) {
        say_seats(m, "engine.seats", e->seats, e->nseats);
        diverge(m, "hold: res.seats are not the seats asked for, in request order");
    }
}

static int run_hold(model_t *m, const bo_hold_req_t *req)
{
    bo_hold_res_t e, r;
    memset(&e, 0, sizeof e);
    say_req(m, req);
    int erc = bo_inv_hold(m->inv, req, m->now, &e);
    int rrc = ref_hold_check(m->ref, req, m->now, &r);
    say_rc(m, "engine", erc);
    if (erc != rrc) {
        say_rc(m, "reference", rrc);
        if (erc == 0)
            say_seats(m, "engine.seats", e.seats, e.nseats < 100 ? e.nseats : 100);
        diverge(m, "hold: different answers");
    }
    check_hold_answer(m, req, erc, &e, &r);
    if (erc == 0) {
        const uint32_t *seats = req->best_quantity ? e.seats : req->seats;
        uint32_t n = req->best_quantity ? e.nseats : req->nseats;
        ref_hold_apply(m->ref, req, seats, n, m->now, &r);
        if (e.expires_at_ms != r.expires_at_ms || e.amount_cents != r.amount_cents)
            diverge(m, "hold: engine expires_at=%lld amount=%lld, reference %lld %lld",
                    (long long)e.expires_at_ms, (long long)e.amount_cents,
                    (long long)r.expires_at_ms, (long long)r.amount_cents);
        remember(m, &req->id);
        check_seats(m, seats, n);
    }
    after_op(m, erc == 0);
    check_seats(m, req->seats, req->nseats);
    check_hold(m, &req->id);
    return erc;
}

static bo_hold_req_t new_req(model_t *m)
{
    bo_hold_req_t q;
    memset(&q, 0, sizeof q);
    fresh_id(m, &q.id);
    q.customer = pick_customer(m);
    q.best_category = BO_NONE;
    q.best_section = BO_NONE;
    return q;
}

static uint32_t hold_size(model_t *m)
{
    return chance(m, 950) ? 1 + below(m, 6) : 7 + below(m, 6);
}

static int op_hold_seats(model_t *m)
{
    uint32_t seats[BO_HOLD_MAX_SEATS];
    bo_hold_req_t q = new_req(m);
    q.nseats = pick_seats(m, hold_size(m), seats);
    q.seats = seats;
    return run_hold(m, &q);
}

static int op_hold_ga(model_t *m)
{
    bo_ga_line_t ga[BO_HOLD_MAX_GA];
    bo_hold_req_t q = new_req(m);
    q.nga = pick_ga(m, ga);
    q.ga = ga;
    return run_hold(m, &q);
}

static int op_hold_mixed(model_t *m)
{
    uint32_t seats[BO_HOLD_MAX_SEATS];
    bo_ga_line_t ga[BO_HOLD_MAX_GA];
    bo_hold_req_t q = new_req(m);
    q.nseats = pick_seats(m, 1 + below(m, 3), seats);
    q.seats = seats;
    q.nga = pick_ga(m, ga);
    q.ga = ga;
    return run_hold(m, &q);
}

static int op_hold_best(model_t *m)
{
    bo_hold_req_t q = new_req(m);
    uint32_t k = below(m, 1000);
    q.best_quantity = k < 900 ? 1 + below(m, 6) : k < 995 ? 7 + below(m, 6) : BO_HOLD_MAX_SEATS;
    if (chance(m, 500))
        q.best_category = below(m, m->layout->ncategories);
    if (chance(m, 400))
        q.best_section = below(m, m->layout->nsections);
    return run_hold(m, &q);
}

/* A malformed request: the reference decides which answer it deserves. */
static int op_hold_bad(model_t *m)
{
    uint32_t seats[BO_HOLD_MAX_SEATS + 8];
    bo_ga_line_t ga[BO_HOLD_MAX_GA + 2];
    bo_hold_req_t q = new_req(m);
    const bo_layout_t *l = m->layout;
    q.seats = seats;
    q.ga = ga;
    q.nseats = pick_seats(m, 1 + below(m, 4), seats);
    switch (below(m, 13)) {
    case 0: /* empty */
        q.nseats = 0;
        break;
    case 1: /* a seat twice */
        seats[q.nseats] = seats[below(m, q.nseats)];
        q.nseats++;
        break;
    case 2: /* a seat out of range */
        seats[below(m, q.nseats)] = chance(m, 500) ? l->nseats : UINT32_MAX;
        break;
    case 3: /* too many seats */
        for (q.nseats = 0; q.nseats <= BO_HOLD_MAX_SEATS; q.nseats++)
            seats[q.nseats] = q.nseats % l->nseats;
        break;
    case 4: /* a GA area out of range */
        q.nga = pick_ga(m, ga);
        ga[0].area = l->nga + below(m, 3);
        break;
    case 5: /* a GA area twice */
        q.nga = pick_ga(m, ga);
        ga[q.nga] = ga[0];
        q.nga++;
        break;
    case 6: /* a GA quantity of 0 or too many */
        q.nga = pick_ga(m, ga);
        ga[0].quantity = chance(m, 500) ? 0 : BO_HOLD_MAX_GA_QTY + 1;
        break;
    case 7: /* too many GA lines */
        for (q.nga = 0; q.nga <= BO_HOLD_MAX_GA; q.nga++)
            ga[q.nga] = (bo_ga_line_t){q.nga % l->nga, 1};
        break;
    case 8: /* best available with seats */
        q.best_quantity = 1 + below(m, 3);
        break;
    case 9: /* best available with GA */
        q.nseats = 0;
        q.nga = pick_ga(m, ga);
        q.best_quantity = 1 + below(m, 3);
        break;
    case 10: /* best available, too many */
        q.nseats = 0;
        q.best_quantity = BO_HOLD_MAX_SEATS + 1 + below(m, 100);
        break;
    case 11: /* best available, unknown category */
        q.nseats = 0;
        q.best_quantity = 1 + below(m, 3);
        q.best_category = l->ncategories + below(m, 3);
        break;
    default: /* best available, unknown section */
        q.nseats = 0;
        q.best_quantity = 1 + below(m, 3);
        q.best_section = l->nsections + below(m, 3);
        break;
    }
    return run_hold(m, &q);
}

/* A hold with the id of an existing or recent hold. */
static int op_hold_reuse(model_t *m)
{
    struct record rec;
    uint32_t seats[BO_HOLD_MAX_SEATS];
    bo_hold_req_t q = new_req(m);
    pick_target(m, M_ANY, &rec);
    q.id = rec.id;
    q.nseats = pick_seats(m, 1 + below(m, 3), seats);
    q.seats = seats;
    return run_hold(m, &q);
}

/* Replay of a logged hold: its own expires_at, no customer limit. */
static int op_hold_replay(model_t *m)
{
    uint32_t seats[BO_HOLD_MAX_SEATS];
    bo_ga_line_t ga[BO_HOLD_MAX_GA];
    bo_hold_req_t q = new_req(m);
    q.replay = 1;
    q.amount_cents = below(m, 50000);
    q.expires_at_ms = m->now + 1 + below(m, 2 * (uint64_t)m->ref->cfg.hold_ttl_ms);
    if (chance(m, 700)) {
        q.nseats = pick_seats(m, hold_size(m), seats);
        q.seats = seats;
    } else {
        q.nga = pick_ga(m, ga);
        q.ga = ga;
    }
    return run_hold(m, &q);
}

/* ---- the life of a hold ---- */

static int op_release(model_t *m)
{
    struct record rec;
    pick_target(m, chance(m, 800) ? M_LIVE : M_ANY, &rec);
    begin(m, "release");
    say_id(m, &rec.id);
    int e = bo_inv_release(m->inv, &rec.id, m->now);
    int r = ref_release(m->ref, &rec.id, m->now);
    say_rc(m, "engine", e);
    if (e != r) {
        say_rc(m, "reference", r);
        diverge(m, "release: different answers");
    }
    after_op(m, e == 0);
    check_seats(m, rec.seats, rec.nseats);
    check_hold(m, &rec.id);
    return e;
}

static int op_pay_start(model_t *m)
{
    struct record rec;
    pick_target(m, chance(m, 750) ? M_HELD : M_ANY, &rec);
    uint32_t k = below(m, 100);
    int64_t ttl = m->ref->cfg.hold_ttl_ms;
    int64_t deadline = k < 90 ? m->now + 1 + below(m, (uint64_t)ttl) : m->now - below(m, 2) * 1000;
    begin(m, "pay_start deadline=now%+lld", (long long)(deadline - m->now));
    say_id(m, &rec.id);
    int e = bo_inv_pay_start(m->inv, &rec.id, deadline, m->now);
    int r = ref_pay_start(m->ref, &rec.id, deadline, m->now);
    say_rc(m, "engine", e);
    if (e != r) {
        say_rc(m, "reference", r);
        diverge(m, "pay_start: different answers");
    }
    after_op(m, e == 0);
    check_hold(m, &rec.id);
    return e;
}

static int op_pay_failed(model_t *m)
{
    struct record rec;
    pick_target(m, chance(m, 750) ? M_PAYING : M_ANY, &rec);
    begin(m, "pay_failed");
    say_id(m, &rec.id);
    int erel = -1, rrel = -1;
    int e = bo_inv_pay_failed(m->inv, &rec.id, m->now, &erel);
    int r = ref_pay_failed(m->ref, &rec.id, m->now, &rrel);
    say_rc(m, "engine", e);
    say(m, " released=%d", erel);
    if (e != r || (e == 0 && erel != rrel)) {
        say_rc(m, "reference", r);
        say(m, " released=%d", rrel);
        diverge(m, "pay_failed: different answers");
    }
    after_op(m, e == 0);
    check_seats(m, rec.seats, rec.nseats);
    check_hold(m, &rec.id);
    return e;
}

static int op_confirm(model_t *m)
{
    struct record rec;
    uint32_t k = below(m, 100);
    pick_target(m, k < 50 ? M_PAYING : k < 75 ? M_HELD : M_ANY, &rec);
    const ref_hold_t *live = ref_find(m->ref, &rec.id);
    int bare = live && live->status != BO_HOLD_SOLD && chance(m, 200); /* reading 9 */
    begin(m, "confirm%s customer=%llx amount=%lld", bare ? " (no order data)" : "",
          (unsigned long long)rec.customer, (long long)rec.amount_cents);
    say_id(m, &rec.id);
    say_seats(m, "seats", rec.seats, rec.nseats);
    say_ga(m, rec.ga, rec.nga);
    const uint32_t *seats = bare ? NULL : rec.seats;
    const bo_ga_line_t *ga = bare ? NULL : rec.ga;
    uint32_t ns = bare ? 0 : rec.nseats, nga = bare ? 0 : rec.nga;
    int e = bo_inv_confirm(m->inv, &rec.id, seats, ns, ga, nga, rec.customer, rec.amount_cents,
                           m->now);
    int r = ref_confirm(m->ref, &rec.id, seats, ns, ga, nga, rec.customer, rec.amount_cents,
                        m->now);
    say_rc(m, "engine", e);
    if (e != r) {
        say_rc(m, "reference", r);
        diverge(m, "confirm: different answers");
    }
    if (e == 0 && !live)
        remember(m, &rec.id);
    after_op(m, e == 0);
    check_seats(m, rec.seats, rec.nseats);
    check_hold(m, &rec.id);
    return e;
}

static int op_cancel(model_t *m)
{
    struct record rec;
    pick_target(m, chance(m, 750) ? M_SOLD : M_ANY, &rec);
    begin(m, "cancel");
    say_id(m, &rec.id);
    int e = bo_inv_cancel(m->inv, &rec.id, m->now);
    int r = ref_cancel(m->ref, &rec.id, m->now);
    say_rc(m, "engine", e);
    if (e != r) {
        say_rc(m, "reference", r);
        diverge(m, "cancel: different answers");
    }
    after_op(m, e == 0);
    check_seats(m, rec.seats, rec.nseats);
    check_hold(m, &rec.id);
    return e;
}

/* ---- blocks ---- */

static int run_block(model_t *m, int block, uint32_t *seats, uint32_t n)
{
    bo_hold_res_t e, r, *er = chance(m, 800) ? &e : NULL;
    int changed = 0;
    memset(&e, 0, sizeof e);
    begin(m, "%s%s", block ? "block" : "unblock", er ? "" : " (res NULL)");
    say_seats(m, "seats", seats, n);
    for (uint32_t i = 0; i < n; i++)
        changed |= seats[i] < m->layout->nseats &&
                   (ref_seat_state(m->ref, seats[i]) == BO_SEAT_BLOCKED) != (block != 0);
    int ec = block ? bo_inv_block(m->inv, seats, n, m->now, er)
                   : bo_inv_unblock(m->inv, seats, n, m->now, er);
    int rc = ref_block(m->ref, block, seats, n, m->now, &r);
    say_rc(m, "engine", ec);
    if (ec != rc) {
        say_rc(m, "reference", rc);
        diverge(m, "%s: different answers", block ? "block" : "unblock");
    }
    if (er && ec == BO_EUNAVAILABLE &&
        !same_list(e.unavailable, e.nunavailable, r.unavailable, r.nunavailable)) {
        say_seats(m, "engine.unavailable", e.unavailable, e.nunavailable);
        say_seats(m, "ref.unavailable", r.unavailable, r.nunavailable);
        diverge(m, "%s: the unavailable seats differ", block ? "block" : "unblock");
    }
    after_op(m, ec == 0 && changed);
    check_seats(m, seats, n);
    return ec;
}

static int op_block(model_t *m)
{
    uint32_t seats[8];
    uint32_t n = pick_seats(m, 1 + below(m, 4), seats);
    if (chance(m, 50))
        seats[n++] = seats[0];
    else if (chance(m, 30))
        seats[below(m, n)] = m->layout->nseats + below(m, 2);
    return run_block(m, 1, seats, n);
}

static int op_unblock(model_t *m)
{
    uint32_t seats[8], n = 0, want = 1 + below(m, 3);
    uint32_t start = below(m, m->layout->nseats);
    for (uint32_t k = 0; k < m->layout->nseats && n < want; k++) {
        uint32_t s = (start + k) % m->layout->nseats;
        if (ref_seat_state(m->ref, s) == BO_SEAT_BLOCKED)
            seats[n++] = s;
    }
    if (n == 0 || chance(m, 250))
        seats[n++] = (start + 1) % m->layout->nseats;
    return run_block(m, 0, seats, n);
}

/* ---- time ---- */

static int op_advance(model_t *m)
{
    uint64_t ttl = (uint64_t)m->ref->cfg.hold_ttl_ms;
    uint32_t k = below(m, 100);
    int64_t d = k < 60 ? below(m, ttl / 20 + 1) : k < 97 ? below(m, ttl / 2 + 1) : ttl + below(m, 2 * ttl);
    begin(m, "advance %lld ms", (long long)d);
    m->now += d;
    ref_tick(m->ref, m->now);
    after_op(m, 0);
    return 0;
}

/* To the very expires_at of a held hold, or 1 ms before it. */
static int op_advance_exact(model_t *m)
{
    uint32_t n = ref_count_holds(m->ref, M_HELD);
    begin(m, "advance to an expiry");
    if (n == 0)
        return 0;
    const ref_hold_t *h = ref_nth_hold(m->ref, M_HELD, below(m, n));
    int64_t t = h->expires_at_ms - below(m, 2);
    if (t > m->now)
        m->now = t;
    say(m, ": now=%lld", (long long)m->now);
    ref_tick(m->ref, m->now);
    after_op(m, 0);
    return 0;
}

static int op_expire(model_t *m)
{
    uint32_t lo, hi;
    begin(m, "expire");
    uint32_t e = bo_inv_expire(m->inv, m->now);
    ref_expire(m->ref, m->now, &lo, &hi);
    say(m, " engine=%u reference=%u..%u", e, lo, hi);
    if (e < lo || e > hi)
        diverge(m, "expire released %u holds; %u..%u expired since the engine last swept", e, lo,
                hi);
    after_op(m, e > 0);
    int64_t et = bo_inv_next_deadline(m->inv), rt = ref_next_deadline(m->ref);
    if (et != rt)
        diverge(m, "next_deadline: engine %lld, reference %lld (now %lld)", (long long)et,
                (long long)rt, (long long)m->now);
    return 0;
}

/* ---- reads and rules ---- */

static int op_get_hold(model_t *m)
{
    struct record rec;
    pick_target(m, M_ANY, &rec);
    begin(m, "get_hold");
    say_id(m, &rec.id);
    check_hold(m, &rec.id);
    after_read(m);
    return 0;
}

static int op_reads(model_t *m)
{
    uint32_t seats[4], n = pick_seats(m, 4, seats);
    begin(m, "reads");
    check_seats(m, seats, n);
    check_due(m, 1 + below(m, 3));
    check_areas(m);
    after_read(m);
    return 0;
}

static void random_config(model_t *m, bo_inv_config_t *cfg)
{
    uint32_t k = below(m, 8);
    memset(cfg, 0, sizeof *cfg);
    cfg->hold_ttl_ms = k == 0 ? 0 : k < 4 ? 60000 : 10000 + below(m, 290000);
    cfg->per_customer_limit = chance(m, 250) ? 0 : 6 + below(m, 15);
    for (uint32_t c = 0; c < m->layout->ncategories; c++)
        cfg->price_cents[c] = 500 + below(m, 20000);
}

static int op_config(model_t *m)
{
    bo_inv_config_t cfg;
    begin(m, "set_config");
    if (m->ncp > 0) /* reading 18 */
        return 0;
    random_config(m, &cfg);
    cfg.max_holds = m->ref->cfg.max_holds;
    say(m, " ttl=%lld limit=%u", (long long)cfg.hold_ttl_ms, cfg.per_customer_limit);
    int rc = bo_inv_set_config(m->inv, &cfg);
    if (rc != 0)
        diverge(m, "set_config: %s", bo_err_code(rc));
    ref_set_config(m->ref, &cfg);
    const bo_inv_config_t *got = bo_inv_config(m->inv);
    if (got->per_customer_limit != cfg.per_customer_limit ||
        memcmp(got->price_cents, cfg.price_cents, sizeof cfg.price_cents) != 0)
        diverge(m, "bo_inv_config does not return what set_config set");
    after_op(m, 0);
    return 0;
}

/* ---- the journal ---- */

static void push_checkpoint(model_t *m)
{
    struct checkpoint *cp = &m->cps[m->ncp++];
    cp->pos = bo_inv_journal_pos(m->inv);
    cp->version = bo_inv_version(m->inv);
    ref_copy(cp->copy, m->ref);
    begin(m, "journal: position %u taken (%llu)", m->ncp - 1, (unsigned long long)cp->pos);
}

static void rollback_to(model_t *m, uint32_t level)
{
    struct checkpoint *cp = &m->cps[level];
    uint64_t before = bo_inv_version(m->inv);
    begin(m, "journal: rollback to position %u (%llu)", level, (unsigned long long)cp->pos);
    bo_inv_rollback(m->inv, cp->pos);
    ref_copy(m->ref, cp->copy);
    ref_tick(m->ref, m->now);
    m->ncp = level;
    after_op(m, 0);
    if (before != cp->version && bo_inv_version(m->inv) == before)
        diverge(m, "rollback undid changes but the version stayed %llu",
                (unsigned long long)before);
    full_compare(m);
}

/* forget(pos of level): positions below it can no longer be rolled back to. */
static void forget_to(model_t *m, uint32_t level)
{
    begin(m, "journal: forget up to position %u", level);
    bo_inv_forget(m->inv, m->cps[level].pos);
    for (uint32_t i = 0; i + level < m->ncp; i++) { /* rotate, keeping every copy */
        struct checkpoint t = m->cps[i];
        m->cps[i] = m->cps[i + level];
        m->cps[i + level] = t;
    }
    m->ncp -= level;
    after_op(m, 0);
}

static void forget_all(model_t *m)
{
    begin(m, "journal: forget all");
    bo_inv_forget(m->inv, bo_inv_journal_pos(m->inv));
    m->ncp = 0;
    after_op(m, 0);
}

/* One journal step before each op; returns whether it did something. */
static int journal_step(model_t *m)
{
    if (!m->journal_on) {
        if (m->op < m->journal_on_at)
            return 0;
        bo_inv_set_journal(m->inv, 1);
        m->journal_on = 1;
        begin(m, "journal: on");
        return 1;
    }
    if (m->ncp == 0) {
        bo_inv_forget(m->inv, bo_inv_journal_pos(m->inv)); /* the store commits each op */
        if (below(m, 20000) == 0) {
            bo_inv_set_journal(m->inv, 0);
            m->journal_on = 0;
            m->journal_on_at = m->op + 200 + below(m, 3000);
            begin(m, "journal: off until op %llu", (unsigned long long)m->journal_on_at);
            return 1;
        }
        if (!chance(m, 10))
            return 0;
        push_checkpoint(m);
        return 1;
    }
    if (m->ncp < MAX_CP && chance(m, 25)) {
        push_checkpoint(m);
        return 1;
    }
    if (!chance(m, 80))
        return 0;
    uint32_t k = below(m, 100), level = below(m, m->ncp);
    if (k < 50)
        rollback_to(m, level);
    else if (k < 80)
        forget_all(m);
    else
        forget_to(m, level);
    return 1;
}

/* ---- the run ---- */

static const struct {
    const char *name;
    uint32_t weight;
    int (*fn)(model_t *m);
} ops[] = {
#define OP_ROW(name, weight) {#name, weight, op_##name},
    OPS(OP_ROW)
#undef OP_ROW
};

static enum op_kind pick_op(model_t *m)
{
    uint32_t total = 0;
    for (uint32_t i = 0; i < OP_journal; i++)
        total += ops[i].weight;
    uint32_t k = below(m, total);
    for (uint32_t i = 0; i < OP_journal; i++) {
        if (k < ops[i].weight)
            return (enum op_kind)i;
        k -= ops[i].weight;
    }
    return OP_hold_seats;
}

static void count(model_t *m, enum op_kind op, int rc)
{
    uint32_t code = rc <= 0 && rc > -NCODES ? (uint32_t)-rc : 0;
    m->stats[op][code]++;
}

static void print_stats(const model_t *m)
{
    fprintf(stderr, "test_model: answers per operation:\n");
    for (uint32_t op = 0; op < OP_COUNT; op++) {
        uint64_t n = 0;
        for (uint32_t c = 0; c < NCODES; c++)
            n += m->stats[op][c];
        if (n == 0)
            continue;
        fprintf(stderr, "  %-14s %9llu:", op < OP_journal ? ops[op].name : "journal",
                (unsigned long long)n);
        for (uint32_t c = 0; c < NCODES; c++)
            if (m->stats[op][c])
                fprintf(stderr, " %s %.1f%%", bo_err_code(-(int)c),
                        100.0 * (double)m->stats[op][c] / (double)n);
        fprintf(stderr, "\n");
    }
}

static uint64_t env_u64(const char *name, uint64_t dflt)
{
    const char *v = getenv(name);
    return v && *v ? strtoull(v, NULL, 0) : dflt;
}

static uint64_t fresh_seed(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ((uint64_t)ts.tv_sec * 1000000007ull) ^ (uint64_t)ts.tv_nsec ^
           ((uint64_t)getpid() << 32);
}

static void make_venue(model_t *m)
{
    bo_venue_gen_t g = {
        .name = "Model Hall",
        .sections = 2 + below(m, 3),
        .rows = 3 + below(m, 5),
        .seats = 6 + below(m, 7),
        .ga_areas = 1 + below(m, 3),
        .ga_capacity = 8 + below(m, 23),
        .categories = 2 + below(m, 3),
        .aisle_every = chance(m, 300) ? 4 : 0,
    };
    size_t len = 0;
    bo_problems_t probs = {0};
    char *json = bo_venue_generate(&g, &len);
    cr_assert(json, "bo_venue_generate failed");
    int rc = bo_layout_parse(json, len, &m->layout, &probs);
    for (size_t i = 0; rc != 0 && i < probs.n; i++)
        fprintf(stderr, "  %s\n", probs.items[i]);
    cr_assert(rc == 0, "the generated venue does not parse: %s", bo_err_code(rc));
    free(json);
    bo_problems_free(&probs);
    fprintf(stderr,
            "test_model: venue %u sections x %u rows x %u seats (%u), %u GA areas of %u, "
            "%u categories\n",
            g.sections, g.rows, g.seats, m->layout->nseats, g.ga_areas, g.ga_capacity,
            m->layout->ncategories);
}

/* The hot region: one row and the next one of the same section. */
static void pick_hot(model_t *m)
{
    const bo_layout_t *l = m->layout;
    uint32_t ri = below(m, l->nrows);
    for (uint32_t k = 0; k < 2 && ri + k < l->nrows; k++) {
        const bo_row_t *row = &l->rows[ri + k];
        if (k > 0 && row->section != l->rows[ri].section)
            break;
        for (uint32_t s = 0; s < row->nseats && m->nhot < HOT_MAX; s++)
            m->hot[m->nhot++] = row->first_seat + s;
    }
}

static void setup(model_t *m)
{
    bo_inv_config_t cfg;
    make_venue(m);
    pick_hot(m);
    random_config(m, &cfg);
    cfg.max_holds = BO_INV_MAX_HOLDS + 1;
    cr_assert(bo_inv_new(m->layout, &cfg, &m->inv) == BO_EINVAL, "max_holds past the bound");
    cfg.max_holds = chance(m, 700) ? 0 : 12 + below(m, 40);
    cr_assert(bo_inv_new(m->layout, &cfg, &m->inv) == 0, "bo_inv_new failed");
    cr_assert(bo_inv_layout(m->inv) == m->layout);
    m->ref = ref_new(m->layout, &cfg);
    for (uint32_t i = 0; i < MAX_CP; i++)
        m->cps[i].copy = ref_new(m->layout, &cfg);
    m->due_e = calloc(m->ref->cap, sizeof *m->due_e);
    m->due_r = calloc(m->ref->cap, sizeof *m->due_r);
    cr_assert(m->due_e && m->due_r);
    for (uint32_t i = 1; i < NCUSTOMERS; i++)
        m->customers[i] = next(m) | 1;
    m->now = 1700000000000 + below(m, 1000000000);
    m->version = bo_inv_version(m->inv);
    m->journal_on = 1;
    fprintf(stderr, "test_model: ttl %lld ms, customer limit %u, max holds %u\n",
            (long long)m->ref->cfg.hold_ttl_ms, cfg.per_customer_limit, m->ref->cfg.max_holds);
}

static void teardown(model_t *m)
{
    for (uint32_t i = 0; i < MAX_CP; i++)
        ref_free(m->cps[i].copy);
    ref_free(m->ref);
    bo_inv_free(m->inv);
    bo_layout_free(m->layout);
    free(m->due_e);
    free(m->due_r);
}

static void step(model_t *m)
{
    enum op_kind op = OP_journal;
    int rc = 0;
    m->desc[0] = 0;
    m->desc_len = 0;
    if (!journal_step(m)) {
        op = pick_op(m);
        rc = ops[op].fn(m);
    }
    count(m, op, rc);
    if (m->verbose)
        fprintf(stderr, "%llu: %s\n", (unsigned long long)m->op, m->desc);
    memcpy(m->trace[m->op % TRACE], m->desc, m->desc_len + 1);
}

static void run(model_t *m)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    setup(m);
    begin(m, "initial state");
    full_compare(m);
    for (m->op = 0; m->op < m->nops; m->op++) {
        step(m);
        if ((m->op + 1) % m->check_every == 0) {
            say(m, " (then the full state check)");
            full_compare(m);
        }
    }
    begin(m, "final state after op %llu", (unsigned long long)m->nops);
    full_compare(m);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    print_stats(m);
    fprintf(stderr, "test_model: %llu ops passed in %.1f s (seed %llu)\n",
            (unsigned long long)m->nops,
            (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
            (unsigned long long)m->seed);
    teardown(m);
}

Test(model, random_operations_match_the_reference)
{
    static model_t m; /* large: trace and ring */
    memset(&m, 0, sizeof m);
    m.seed = env_u64("BOXOFFICE_MODEL_SEED", fresh_seed());
    m.nops = env_u64("BOXOFFICE_MODEL_OPS", 200000);
    m.check_every = env_u64("BOXOFFICE_MODEL_CHECK", 500);
    m.verbose = getenv("BOXOFFICE_MODEL_VERBOSE") && atoi(getenv("BOXOFFICE_MODEL_VERBOSE"));
    if (m.check_every == 0)
        m.check_every = 500;
    m.rng = m.seed;
    fprintf(stderr, "test_model: seed %llu, %llu ops (replay: BOXOFFICE_MODEL_SEED=%llu)\n",
            (unsigned long long)m.seed, (unsigned long long)m.nops, (unsigned long long)m.seed);
    run(&m);
}
