/*
 * model_check.c - the model test's eyes (model.h): describes each
 * operation as it runs, compares every answer and the whole state of the
 * engine with the reference, and on the first difference prints what is
 * needed to replay it.
 *
 * Workload: after every operation a few seats, one hold and the counts;
 * every BOXOFFICE_MODEL_CHECK operations everything, O(seats + holds).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "boxoffice/error.h"
#include "model.h"

/* ---- describing ops and answers ---- */

void model_say(model_t *m, const char *fmt, ...)
{
    va_list ap;
    if (m->desc_len >= MODEL_DESC - 1)
        return;
    va_start(ap, fmt);
    int n = vsnprintf(m->desc + m->desc_len, MODEL_DESC - m->desc_len, fmt, ap);
    va_end(ap);
    if (n > 0)
        m->desc_len +=
            (size_t)n < MODEL_DESC - m->desc_len ? (size_t)n : MODEL_DESC - 1 - m->desc_len;
}

void model_say_id(model_t *m, const bo_hold_id_t *id)
{
    model_say(m, " id=%02x%02x%02x%02x", id->b[0], id->b[1], id->b[2], id->b[3]);
}

void model_say_seats(model_t *m, const char *what, const uint32_t *s, uint32_t n)
{
    model_say(m, " %s=[", what);
    for (uint32_t i = 0; i < n && i < 16; i++)
        model_say(m, i ? ",%u" : "%u", s[i]);
    model_say(m, n > 16 ? ",...(%u)]" : "]", n);
}

void model_say_ga(model_t *m, const bo_ga_line_t *ga, uint32_t n)
{
    model_say(m, " ga=[");
    for (uint32_t i = 0; i < n && i < BO_HOLD_MAX_GA + 2; i++)
        model_say(m, i ? ",%ux%u" : "%ux%u", ga[i].area, ga[i].quantity);
    model_say(m, "]");
}

void model_say_rc(model_t *m, const char *who, int rc)
{
    model_say(m, " %s=%s(%d)", who, bo_err_code(rc), rc);
}

void model_say_req(model_t *m, const bo_hold_req_t *q)
{
    model_say(m, "hold");
    model_say_id(m, &q->id);
    model_say(m, " customer=%llx client=%llx", (unsigned long long)q->customer,
              (unsigned long long)q->client);
    if (q->nseats)
        model_say_seats(m, "seats", q->seats, q->nseats);
    if (q->nga)
        model_say_ga(m, q->ga, q->nga);
    if (q->best_quantity)
        model_say(m, " best=%u cat=%d sec=%d", q->best_quantity, (int)q->best_category,
                  (int)q->best_section);
    if (q->replay)
        model_say(m, " replay expires_at=%lld", (long long)q->expires_at_ms);
}

void model_begin(model_t *m, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(m->desc, MODEL_DESC, fmt, ap);
    va_end(ap);
    m->desc_len = n < 0 ? 0 : (size_t)n < MODEL_DESC ? (size_t)n : MODEL_DESC - 1;
}

void model_diverge(model_t *m, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "\ntest_model: DIVERGENCE at op %llu, seed %llu, now %lld\n",
            (unsigned long long)m->op, (unsigned long long)m->seed, (long long)m->now);
    fprintf(stderr, "  episode: %s\n", m->venue_desc);
    fprintf(stderr, "  op: %s\n  ", m->desc);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n  previous ops, oldest first:\n");
    for (uint64_t k = MODEL_TRACE; k > 0; k--)
        if (m->op >= k && m->trace[(m->op - k) % MODEL_TRACE][0])
            fprintf(stderr, "    %llu: %s\n", (unsigned long long)(m->op - k),
                    m->trace[(m->op - k) % MODEL_TRACE]);
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

int model_same_set(const uint32_t *a, uint32_t na, const uint32_t *b, uint32_t nb)
{
    uint32_t x[BO_HOLD_MAX_SEATS], y[BO_HOLD_MAX_SEATS];
    if (na != nb || na > BO_HOLD_MAX_SEATS)
        return 0;
    if (na == 0)
        return 1;
    memcpy(x, a, na * sizeof *a);
    memcpy(y, b, nb * sizeof *b);
    qsort(x, na, sizeof *x, cmp_u32);
    qsort(y, nb, sizeof *y, cmp_u32);
    return memcmp(x, y, na * sizeof *x) == 0;
}

/* The same values in the same order. */
int model_same_list(const uint32_t *a, uint32_t na, const uint32_t *b, uint32_t nb)
{
    return na == nb && na <= BO_HOLD_MAX_SEATS && (na == 0 || memcmp(a, b, na * sizeof *a) == 0);
}

int model_ascending(const uint32_t *a, uint32_t n)
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

void model_check_seats(model_t *m, const uint32_t *seats, uint32_t n)
{
    for (uint32_t i = 0; i < n && i < BO_HOLD_MAX_SEATS; i++) {
        uint32_t s = seats[i];
        if (s >= m->layout->nseats)
            continue;
        int e = bo_inv_seat_state(m->inv, s, m->now), r = ref_inv_seat_state(m->ref, s);
        if (e != r)
            model_diverge(m, "seat %u: engine %s, reference %s", s, state_name(e), state_name(r));
    }
}

void model_check_counts(model_t *m)
{
    bo_inv_counts_t e, r;
    bo_inv_counts(m->inv, m->now, &e);
    ref_inv_counts(m->ref, &r);
    if (e.total != r.total || e.available != r.available || e.held != r.held || e.sold != r.sold ||
        e.blocked != r.blocked || e.live_holds != r.live_holds)
        model_diverge(m,
                      "counts: engine total=%u available=%u held=%u sold=%u blocked=%u live=%u, "
                      "reference total=%u available=%u held=%u sold=%u blocked=%u live=%u",
                      e.total, e.available, e.held, e.sold, e.blocked, e.live_holds, r.total,
                      r.available, r.held, r.sold, r.blocked, r.live_holds);
    if (e.available + e.held + e.sold + e.blocked != e.total)
        model_diverge(m, "counts do not add up to total");
    if (e.version != bo_inv_version(m->inv))
        model_diverge(m, "counts.version %llu != bo_inv_version %llu",
                      (unsigned long long)e.version, (unsigned long long)bo_inv_version(m->inv));
}

/* After every op: the version (reading 11 of test_model.c) and the counts. */
void model_after_op(model_t *m, int changed)
{
    uint64_t v = bo_inv_version(m->inv);
    if (v < m->version)
        model_diverge(m, "version went back: %llu -> %llu", (unsigned long long)m->version,
                      (unsigned long long)v);
    if (changed && v == m->version)
        model_diverge(m, "version stayed %llu after a successful mutation", (unsigned long long)v);
    m->version = v;
    model_check_counts(m);
}

/* Reads must leave the version alone. */
void model_after_read(model_t *m)
{
    if (bo_inv_version(m->inv) != m->version)
        model_diverge(m, "a read changed the version");
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
    else if (v->client != h->client)
        bad = "client";
    else if (v->amount_cents != h->amount_cents)
        bad = "amount_cents";
    else if (!model_same_set(v->seats, v->nseats, h->seats, h->nseats))
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
    model_say(m, " | hold");
    model_say_id(m, &h->id);
    model_say(m,
              " engine: status=%u customer=%llx amount=%lld expires=%lld failures=%u deadline=%lld "
              "created=%lld",
              v->status, (unsigned long long)v->customer, (long long)v->amount_cents,
              (long long)v->expires_at_ms, v->pay_failures, (long long)v->pay_deadline_ms,
              (long long)v->created_ms);
    model_say_seats(m, "seats", v->seats, v->nseats);
    model_say_ga(m, v->ga, v->nga);
    model_say(m,
              " | reference: status=%u customer=%llx amount=%lld expires=%lld failures=%u "
              "deadline=%lld created=%lld",
              h->status, (unsigned long long)h->customer, (long long)h->amount_cents,
              (long long)h->expires_at_ms, h->pay_failures, (long long)h->pay_deadline_ms,
              (long long)h->created_ms);
    model_say_seats(m, "seats", h->seats, h->nseats);
    model_say_ga(m, h->ga, h->nga);
    model_diverge(m, "bo_inv_get_hold differs in %s", bad);
}

void model_check_hold(model_t *m, const bo_hold_id_t *id)
{
    bo_hold_view_t v;
    memset(&v, 0, sizeof v);
    int rc = bo_inv_get_hold(m->inv, id, m->now, &v);
    const ref_hold_t *h = ref_inv_find(m->ref, id);
    if (!h && rc != BO_ENOTFOUND)
        model_diverge(m, "get_hold: engine %s (status %u), reference: no such live or sold hold",
                      bo_err_code(rc), v.status);
    if (h && rc != 0)
        model_diverge(m, "get_hold: engine %s, reference has the hold (status %u)", bo_err_code(rc),
                      h->status);
    if (h)
        check_view(m, h, &v);
}

static int cmp_id(const void *a, const void *b)
{
    return memcmp(a, b, sizeof(bo_hold_id_t));
}

void model_check_due(model_t *m, uint32_t max)
{
    uint32_t cap = m->ref->cap;
    uint32_t ne = bo_inv_due_payments(m->inv, m->now, m->due_e, max < cap ? max : cap);
    uint32_t nr = ref_inv_due_payments(m->ref, m->now, m->due_r, cap);
    uint32_t want = nr < max ? nr : max;
    if (ne != want)
        model_diverge(m, "due_payments(max %u): engine %u, reference %u", max, ne, want);
    qsort(m->due_r, nr, sizeof *m->due_r, cmp_id);
    for (uint32_t i = 0; i < ne; i++)
        if (!bsearch(&m->due_e[i], m->due_r, nr, sizeof *m->due_r, cmp_id))
            model_diverge(m, "due_payments lists a hold that is not PAYING past its deadline");
    qsort(m->due_e, ne, sizeof *m->due_e, cmp_id);
    for (uint32_t i = 1; i < ne; i++)
        if (cmp_id(&m->due_e[i - 1], &m->due_e[i]) == 0)
            model_diverge(m, "due_payments lists a hold twice");
}

static void check_seat_states(model_t *m)
{
    const bo_layout_t *l = m->layout;
    uint8_t *snap = malloc(l->nseats);
    cr_assert(snap);
    uint64_t v = bo_inv_snapshot(m->inv, m->now, snap);
    if (v != bo_inv_version(m->inv))
        model_diverge(m, "snapshot version %llu != bo_inv_version %llu", (unsigned long long)v,
                      (unsigned long long)bo_inv_version(m->inv));
    for (uint32_t s = 0; s < l->nseats; s++) {
        int r = ref_inv_seat_state(m->ref, s), e = bo_inv_seat_state(m->inv, s, m->now);
        int sn = snap[s];
        if (sn != r || e != r) {
            free(snap);
            model_diverge(m, "seat %u: snapshot %s, seat_state %s, reference %s", s, state_name(sn),
                          state_name(e), state_name(r));
        }
    }
    free(snap);
}

void model_check_areas(model_t *m)
{
    const bo_layout_t *l = m->layout;
    for (uint32_t c = 0; c < l->ncategories; c++) {
        uint32_t e = bo_inv_category_available(m->inv, c, m->now);
        uint32_t r = ref_inv_category_available(m->ref, c);
        if (e != r)
            model_diverge(m, "category %u available: engine %u, reference %u", c, e, r);
    }
    for (uint32_t a = 0; a < l->nga; a++) {
        uint32_t sold = ref_inv_ga_sold(m->ref, a);
        uint32_t avail = l->ga[a].capacity - ref_inv_ga_held(m->ref, a) - sold;
        uint32_t ea = bo_inv_ga_available(m->inv, a, m->now), es = bo_inv_ga_sold(m->inv, a);
        if (ea != avail || es != sold)
            model_diverge(m,
                          "GA area %u: engine available=%u sold=%u, reference available=%u sold=%u",
                          a, ea, es, avail, sold);
    }
}

/* The whole state: the engine's own recount (bo_inv_check), every seat,
 * count, area, hold, recent gone id, due payment. */
void model_full_compare(model_t *m)
{
    const char *why = ref_inv_self_check(m->ref);
    if (why)
        model_diverge(m, "the reference broke its own invariant (a test bug): %s", why);
    if (bo_inv_check(m->inv) != 0) /* printed which check */
        model_diverge(m, "bo_inv_check: the engine's counters disagree with its seats and holds");
    model_check_clients(m);
    check_seat_states(m);
    model_check_counts(m);
    model_check_areas(m);
    for (uint32_t i = 0; i < m->ref->hwm; i++)
        if (m->ref->holds[i].status != BO_HOLD_NONE)
            model_check_hold(m, &m->ref->holds[i].id);
    for (uint32_t i = 0; i < m->nring; i++)
        model_check_hold(m, &m->ring[i].id);
    model_check_due(m, UINT32_MAX);
    bo_inv_counts_t c;
    ref_inv_counts(m->ref, &c);
    m->seat_sum[0] += c.available;
    m->seat_sum[1] += c.held;
    m->seat_sum[2] += c.sold;
    m->seat_sum[3] += c.blocked;
    m->samples++;
    if (bo_inv_memory(m->inv) == 0)
        model_diverge(m, "bo_inv_memory is 0");
    model_after_read(m);
}

void model_check_clients(model_t *m)
{
    for (uint32_t i = 1; i < MODEL_CLIENTS; i++) {
        uint32_t et, eh, rt, rh;
        bo_inv_client_counts(m->inv, m->clients[i], m->now, &et, &eh);
        ref_inv_client_counts(m->ref, m->clients[i], &rt, &rh);
        if (et != rt || eh != rh)
            model_diverge(m, "client %llx: engine counts %u seats %u holds, reference %u %u",
                          (unsigned long long)m->clients[i], et, eh, rt, rh);
    }
}
