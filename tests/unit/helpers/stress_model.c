/*
 * stress_model.c - see stress_model.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boxoffice/error.h"
#include "live/record.h"
#include "plain_test.h"
#include "stress_model.h"

static const char *op_name(uint8_t op)
{
    static const char *const names[] = {"?",       "hold",   "release", "pay-start", "pay-failed",
                                        "confirm", "cancel", "block",   "unblock"};
    return op < sizeof(names) / sizeof(names[0]) ? names[op] : "?";
}

static int m_fail(sm_model_t *m, const sm_ack_t *a, const char *fmt, ...)
{
    va_list ap;
    int n = snprintf(m->err, sizeof(m->err), "seq %llu hold %llx %s: ", (unsigned long long)a->seq,
                     (unsigned long long)a->hold, op_name(a->op));
    va_start(ap, fmt);
    vsnprintf(m->err + n, sizeof(m->err) - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

void sm_init(sm_model_t *m, const bo_layout_t *l, int64_t ttl_ms)
{
    memset(m, 0, sizeof(*m));
    m->l = l;
    m->ttl_ms = ttl_ms;
    m->owner = calloc(l->nseats, sizeof(uint32_t));
    m->cap = 1024;
    m->holds = calloc(m->cap, sizeof(*m->holds));
    m->live = calloc(m->cap, sizeof(uint32_t));
    CHECK(m->owner && m->holds && m->live);
}

void sm_free(sm_model_t *m)
{
    free(m->owner);
    free(m->holds);
    free(m->live);
    bo_u64map_free(&m->index);
}

static sm_hold_t *m_get(const sm_model_t *m, uint64_t n)
{
    uintptr_t i = (uintptr_t)bo_u64map_get(&m->index, n);
    return i ? &m->holds[i - 1] : NULL;
}

const sm_hold_t *sm_get(const sm_model_t *m, uint64_t hold)
{
    return m_get(m, hold);
}

static uint32_t m_new(sm_model_t *m, uint64_t n)
{
    if (m->nholds == m->cap) {
        m->cap *= 2;
        m->holds = realloc(m->holds, m->cap * sizeof(*m->holds));
        m->live = realloc(m->live, m->cap * sizeof(uint32_t));
        CHECK(m->holds && m->live);
    }
    memset(&m->holds[m->nholds], 0, sizeof(*m->holds));
    m->holds[m->nholds].n = n;
    CHECK_EQ(bo_u64map_put(&m->index, n, (void *)(uintptr_t)(m->nholds + 1)), 0);
    return (uint32_t)m->nholds++;
}

/* Seats free and GA capacity left for a; -1 with the reason. */
static int m_free_for(sm_model_t *m, const sm_ack_t *a)
{
    for (uint32_t i = 0; i < a->nseats; i++)
        if (m->owner[a->seats[i]])
            return m_fail(m, a, "seat %u is taken (owner %x): sold or held twice", a->seats[i],
                          m->owner[a->seats[i]]);
    for (uint32_t i = 0; i < a->nga; i++) {
        uint32_t ar = a->ga[i].area;
        if (m->ga_held[ar] + m->ga_sold[ar] + a->ga[i].quantity > m->l->ga[ar].capacity)
            return m_fail(m, a, "GA area %u past capacity", ar);
    }
    return 0;
}

/* Take the seats and GA of a for hold index i, HELD or SOLD. */
static void m_take(sm_model_t *m, uint32_t i, const sm_ack_t *a, uint8_t st)
{
    sm_hold_t *h = &m->holds[i];
    h->st = st;
    h->nseats = a->nseats;
    h->nga = a->nga;
    memcpy(h->seats, a->seats, sizeof(h->seats));
    memcpy(h->ga, a->ga, sizeof(h->ga));
    for (uint32_t s = 0; s < h->nseats; s++)
        m->owner[h->seats[s]] = i + 1;
    for (uint32_t g = 0; g < h->nga; g++)
        (st == BO_HOLD_SOLD ? m->ga_sold : m->ga_held)[h->ga[g].area] += h->ga[g].quantity;
}

/* Hold h (HELD, PAYING or SOLD) goes away. */
static void m_drop(sm_model_t *m, sm_hold_t *h)
{
    for (uint32_t s = 0; s < h->nseats; s++)
        m->owner[h->seats[s]] = 0;
    for (uint32_t g = 0; g < h->nga; g++)
        (h->st == BO_HOLD_SOLD ? m->ga_sold : m->ga_held)[h->ga[g].area] -= h->ga[g].quantity;
    h->st = BO_HOLD_NONE;
}

void sm_sweep(sm_model_t *m, int64_t now_ms)
{
    for (size_t i = 0; i < m->nlive;) {
        sm_hold_t *h = &m->holds[m->live[i]];
        if (h->st == BO_HOLD_HELD && h->exp <= now_ms) {
            m_drop(m, h);
            m->expired++;
        }
        if (h->st == BO_HOLD_HELD || h->st == BO_HOLD_PAYING)
            i++;
        else
            m->live[i] = m->live[--m->nlive];
    }
}

static int64_t m_price(const sm_model_t *m, const sm_ack_t *a)
{
    int64_t sum = 0;
    for (uint32_t i = 0; i < a->nseats; i++)
        sum += 1000 * (m->l->seats[a->seats[i]].category + 1);
    for (uint32_t i = 0; i < a->nga; i++)
        sum += 1000 * (m->l->ga[a->ga[i].area].category + 1) * (int64_t)a->ga[i].quantity;
    return sum;
}

static int m_hold(sm_model_t *m, const sm_ack_t *a)
{
    if (m_get(m, a->hold))
        return m_fail(m, a, "a second hold with one id");
    if (a->expires_at_ms != a->at_ms + m->ttl_ms)
        return m_fail(m, a, "expires at %lld, decided at %lld", (long long)a->expires_at_ms,
                      (long long)a->at_ms);
    if (a->amount_cents != m_price(m, a))
        return m_fail(m, a, "amount %lld, want %lld", (long long)a->amount_cents,
                      (long long)m_price(m, a));
    if (m_free_for(m, a))
        return -1;
    uint32_t i = m_new(m, a->hold);
    m_take(m, i, a, BO_HOLD_HELD);
    m->holds[i].exp = a->expires_at_ms;
    m->live[m->nlive++] = i;
    return 0;
}

static int m_block(sm_model_t *m, const sm_ack_t *a, int unblock)
{
    /* Blocking a blocked seat leaves it blocked (a retried block succeeds). */
    for (uint32_t i = 0; i < a->nseats; i++)
        if (unblock ? m->owner[a->seats[i]] != SM_BLOCKED
                    : m->owner[a->seats[i]] != 0 && m->owner[a->seats[i]] != SM_BLOCKED)
            return m_fail(m, a, "seat %u is not %s", a->seats[i], unblock ? "blocked" : "free");
    for (uint32_t i = 0; i < a->nseats; i++)
        m->owner[a->seats[i]] = unblock ? 0 : SM_BLOCKED;
    return 0;
}

static int m_confirm(sm_model_t *m, const sm_ack_t *a, sm_hold_t *h)
{
    if (h && h->st == BO_HOLD_SOLD)
        return m_fail(m, a, "confirmed twice");
    if (h && h->st != BO_HOLD_NONE) {
        m->paid_past_expiry += h->st == BO_HOLD_PAYING && h->exp <= a->at_ms;
        for (uint32_t s = 0; s < h->nseats; s++)
            m->owner[h->seats[s]] = (uint32_t)(h - m->holds) + 1;
        for (uint32_t g = 0; g < h->nga; g++) {
            m->ga_held[h->ga[g].area] -= h->ga[g].quantity;
            m->ga_sold[h->ga[g].area] += h->ga[g].quantity;
        }
        h->st = BO_HOLD_SOLD;
        return 0;
    }
    /* A late payment: the same seats again, if free. */
    if (m_free_for(m, a))
        return -1;
    uint32_t i = h ? (uint32_t)(h - m->holds) : m_new(m, a->hold);
    m_take(m, i, a, BO_HOLD_SOLD);
    m->holds[i].exp = 0;
    m->holds[i].failures = 0;
    m->late++;
    return 0;
}

/* Apply one acknowledged mutation at its logged time. */
int sm_apply(sm_model_t *m, const sm_ack_t *a)
{
    sm_sweep(m, a->at_ms);
    sm_hold_t *h = a->hold ? m_get(m, a->hold) : NULL;
    uint8_t st = h ? h->st : BO_HOLD_NONE;
    switch (a->op) {
    case BO_MUT_HOLD:
        return m_hold(m, a);
    case BO_MUT_BLOCK:
    case BO_MUT_UNBLOCK:
        return m_block(m, a, a->op == BO_MUT_UNBLOCK);
    case BO_MUT_CONFIRM:
        return m_confirm(m, a, h);
    case BO_MUT_RELEASE:
        if (st != BO_HOLD_HELD && st != BO_HOLD_PAYING)
            return m_fail(m, a, "released in state %u", st);
        m_drop(m, h);
        return 0;
    case BO_MUT_PAY_START:
        if (st != BO_HOLD_HELD)
            return m_fail(m, a, "payment started in state %u", st);
        h->st = BO_HOLD_PAYING;
        return 0;
    case BO_MUT_PAY_FAILED: {
        if (st != BO_HOLD_PAYING)
            return m_fail(m, a, "payment failed in state %u", st);
        int third = ++h->failures >= BO_PAY_MAX_FAILURES, past = h->exp <= a->at_ms;
        if ((third || past) != a->released)
            return m_fail(m, a, "released %u, want %d", a->released, third || past);
        h->st = BO_HOLD_HELD;
        if (third || past)
            m_drop(m, h);
        m->third_failures += third;
        m->failed_past_expiry += past && !third;
        return 0;
    }
    case BO_MUT_CANCEL:
        if (st != BO_HOLD_SOLD)
            return m_fail(m, a, "cancelled in state %u", st);
        m_drop(m, h);
        return 0;
    }
    return m_fail(m, a, "unknown op %u", a->op);
}

/* The model's seat states, GA and counts against the engine's state s. */
void sm_check_state(const sm_model_t *m, const fx_state_t *s, uint32_t e)
{
    uint32_t n[4] = {0};
    uint32_t live = 0;
    for (size_t i = 0; i < m->nholds; i++)
        live += m->holds[i].st == BO_HOLD_HELD || m->holds[i].st == BO_HOLD_PAYING;
    CHECK_EQ(s->nseats, m->l->nseats);
    for (uint32_t seat = 0; seat < s->nseats; seat++) {
        uint32_t o = m->owner[seat];
        uint8_t want = o == 0                               ? BO_SEAT_AVAILABLE
                       : o == SM_BLOCKED                    ? BO_SEAT_BLOCKED
                       : m->holds[o - 1].st == BO_HOLD_SOLD ? BO_SEAT_SOLD
                                                            : BO_SEAT_HELD;
        CHECK_EQ(s->states[seat], want, "event %u seat %u: engine %u, model %u", e, seat,
                 s->states[seat], want);
        n[want]++;
    }
    const bo_inv_counts_t *c = &s->counts;
    CHECK_EQ(c->held + c->sold + c->available + c->blocked, c->total);
    CHECK(c->available == n[0] && c->held == n[1] && c->sold == n[2] && c->blocked == n[3],
          "event %u: counts %u/%u/%u/%u, model %u/%u/%u/%u", e, c->available, c->held, c->sold,
          c->blocked, n[0], n[1], n[2], n[3]);
    CHECK_EQ(c->live_holds, live, "event %u: %u live holds, model %u", e, c->live_holds, live);
    for (uint32_t a = 0; a < m->l->nga; a++) {
        uint32_t cap = m->l->ga[a].capacity;
        CHECK_LEQ(m->ga_sold[a] + m->ga_held[a], cap);
        CHECK_EQ(s->ga_sold[a], m->ga_sold[a], "event %u GA %u sold %u, model %u", e, a,
                 s->ga_sold[a], m->ga_sold[a]);
        CHECK_EQ(s->ga_avail[a], cap - m->ga_held[a] - m->ga_sold[a]);
    }
}

/* One log record read from the file against the acknowledgement of its seq. */
int sm_log_visit(void *ctx, const fx_logrec_t *rec)
{
    sm_log_check_t *c = ctx;
    const char *bad = NULL;
    if (rec->seq != ++c->next || rec->seq > c->n) {
        bad = "a log record nobody saw acknowledged";
    } else {
        sm_ack_t *a = c->by_seq[rec->seq - 1];
        bo_hold_id_t id = fx_id(a->hold);
        int seats = a->op != BO_MUT_RELEASE && a->op != BO_MUT_PAY_START &&
                    a->op != BO_MUT_PAY_FAILED && a->op != BO_MUT_CANCEL;
        int sale = a->op == BO_MUT_HOLD || a->op == BO_MUT_CONFIRM;
        if (rec->op != a->op)
            bad = "another operation";
        else if (a->hold && memcmp(&rec->id, &id, sizeof(id)) != 0)
            bad = "another hold id";
        else if (seats && (rec->nseats != a->nseats ||
                           memcmp(rec->seats, a->seats, a->nseats * sizeof(uint32_t)) != 0))
            bad = "other seats";
        else if (sale &&
                 (rec->nga != a->nga || memcmp(rec->ga, a->ga, a->nga * sizeof(bo_ga_line_t)) != 0))
            bad = "other GA";
        else if (a->op == BO_MUT_HOLD &&
                 (rec->expires_at_ms != a->expires_at_ms || rec->amount_cents != a->amount_cents))
            bad = "another expiry or amount";
        else if (rec->at_ms < c->last_ms)
            bad = "time going back";
        a->at_ms = c->last_ms = rec->at_ms;
    }
    if (bad)
        snprintf(c->err, sizeof(c->err), "log seq %llu: %s", (unsigned long long)rec->seq, bad);
    return bad ? -1 : 0;
}

/* Zero overselling, from the acknowledgements alone: in seq order, no seat
 * is in two confirmed, not cancelled holds, no GA area sold past capacity. */
void sm_check_sold_once(sm_ack_t **by_seq, size_t n, const bo_layout_t *l, uint32_t e)
{
    uint64_t *sold_by = calloc(l->nseats, sizeof(uint64_t));
    uint32_t ga[16] = {0};
    bo_u64map_t confirmed = {0};
    for (size_t i = 0; i < n; i++) {
        const sm_ack_t *a = by_seq[i];
        if (a->op == BO_MUT_CONFIRM) {
            for (uint32_t s = 0; s < a->nseats; s++) {
                CHECK_EQ(sold_by[a->seats[s]], 0, "event %u seat %u sold twice (seq %zu)", e,
                         a->seats[s], i + 1);
                sold_by[a->seats[s]] = a->hold;
            }
            for (uint32_t g = 0; g < a->nga; g++) {
                ga[a->ga[g].area] += a->ga[g].quantity;
                CHECK_LEQ(ga[a->ga[g].area], l->ga[a->ga[g].area].capacity);
            }
            CHECK_EQ(bo_u64map_put(&confirmed, a->hold, (void *)a), 0);
        } else if (a->op == BO_MUT_CANCEL) {
            const sm_ack_t *c = bo_u64map_del(&confirmed, a->hold);
            CHECK_NOT_NULL(c, "event %u: cancel of an unsold hold (seq %zu)", e, i + 1);
            for (uint32_t s = 0; s < c->nseats; s++)
                sold_by[c->seats[s]] = 0;
            for (uint32_t g = 0; g < c->nga; g++)
                ga[c->ga[g].area] -= c->ga[g].quantity;
        }
    }
    bo_u64map_free(&confirmed);
    free(sold_by);
}
