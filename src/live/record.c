/*
 * record.c - decisions (bo_mut_t): their encoding and decoding, and the one
 * switch that applies them, shared by live calls and replay (record.h).
 *
 * Workload: one apply + encode per decision on the hot path (~40 bytes for
 * a 2-seat hold), one decode + apply per log record at start-up (millions).
 *
 * A HOLD is written with op byte REC_HOLD_CLIENT and its client key after
 * its customer; records written before the caps (op byte BO_MUT_HOLD) have
 * none (client 0), and still read.
 */
#include <string.h>

#include "boxoffice/error.h"
#include "live/record.h"
#include "engine/codec.h"

#define REC_HOLD_CLIENT 0x81 /* a HOLD with its client key */

static int has_id(uint8_t op)
{
    return op != BO_MUT_BLOCK && op != BO_MUT_UNBLOCK;
}

static int has_seats(uint8_t op)
{
    return op == BO_MUT_HOLD || op == BO_MUT_CONFIRM || op == BO_MUT_BLOCK || op == BO_MUT_UNBLOCK;
}

static int has_sale(uint8_t op)
{
    return op == BO_MUT_HOLD || op == BO_MUT_CONFIRM;
}

size_t bo_mut_max_size(const bo_mut_t *m)
{
    return 1 + 16 + 5 * 10 + 5 + (size_t)m->nseats * 10 + 5 + (size_t)m->nga * 10;
}

size_t bo_mut_encode(const bo_mut_t *m, uint8_t *buf)
{
    uint8_t *p = buf;
    *p++ = m->op == BO_MUT_HOLD ? REC_HOLD_CLIENT : m->op;
    if (has_id(m->op)) {
        memcpy(p, m->id.b, 16);
        p += 16;
    }
    if (has_sale(m->op)) {
        p = bo_put_uv(p, m->customer);
        p = bo_put_sv(p, m->amount_cents);
    }
    if (m->op == BO_MUT_HOLD) {
        p = bo_put_uv(p, m->client);
        p = bo_put_sv(p, m->expires_at_ms);
    }
    if (m->op == BO_MUT_PAY_START)
        p = bo_put_sv(p, m->deadline_ms);
    if (has_seats(m->op))
        p = bo__put_seats(p, m->seats, m->nseats);
    if (has_sale(m->op))
        p = bo__put_ga(p, m->ga, m->nga);
    return (size_t)(p - buf);
}

static int decode_lists(bo_reader_t *r, bo_mut_t *m, uint32_t *seat_buf, uint32_t seat_cap,
                        bo_ga_line_t *ga_buf)
{
    int rc = 0;
    if (has_seats(m->op) && (rc = bo__get_seats(r, seat_buf, seat_cap, &m->nseats)) == 0)
        m->seats = seat_buf;
    if (rc == 0 && has_sale(m->op) && (rc = bo__get_ga(r, ga_buf, &m->nga)) == 0)
        m->ga = ga_buf;
    return rc;
}

int bo_mut_decode(const uint8_t *buf, size_t len, bo_mut_t *m, uint32_t *seat_buf,
                  uint32_t seat_cap, bo_ga_line_t *ga_buf)
{
    bo_reader_t r = {buf, buf + len, 0};
    memset(m, 0, sizeof(*m));
    if (len < 1 || ((buf[0] < BO_MUT_HOLD || buf[0] > BO_MUT_UNBLOCK) && buf[0] != REC_HOLD_CLIENT))
        return BO_ECORRUPT;
    int client = buf[0] == REC_HOLD_CLIENT;
    m->op = client ? BO_MUT_HOLD : buf[0];
    r.p++;
    if (has_id(m->op)) {
        if (r.end - r.p < 16)
            return BO_ECORRUPT;
        memcpy(m->id.b, r.p, 16);
        r.p += 16;
    }
    if (has_sale(m->op)) {
        m->customer = bo_get_uv(&r);
        m->amount_cents = bo_get_sv(&r);
    }
    if (client)
        m->client = bo_get_uv(&r);
    if (m->op == BO_MUT_HOLD)
        m->expires_at_ms = bo_get_sv(&r);
    if (m->op == BO_MUT_PAY_START)
        m->deadline_ms = bo_get_sv(&r);
    int rc = decode_lists(&r, m, seat_buf, seat_cap, ga_buf);
    if (rc == 0 && (r.bad || r.p != r.end))
        rc = BO_ECORRUPT;
    return rc;
}

/* ---- the one apply ---------------------------------------------------------- */

/* A hold: the live call's request, or the logged hold re-applied (its
 * expiry and amount as logged, no customer limit). */
static int apply_hold(bo_inv_t *inv, const bo_mut_t *m, int64_t at_ms, bo_hold_res_t *res,
                      bo_mut_effect_t *fx)
{
    bo_hold_req_t req = {
        .id = m->id,
        .customer = m->customer,
        .client = m->client,
        .seats = m->seats,
        .nseats = m->nseats,
        .ga = m->ga,
        .nga = m->nga,
        .best_category = BO_NONE,
        .best_section = BO_NONE,
        .expires_at_ms = m->expires_at_ms,
        .replay = 1,
        .amount_cents = m->amount_cents,
    };
    if (m->req)
        req = *m->req;
    int rc = bo_inv_hold(inv, &req, at_ms, res);
    if (fx)
        fx->logged = (bo_mut_t){.op = BO_MUT_HOLD,
                                .id = req.id,
                                .customer = req.customer,
                                .client = req.client,
                                .expires_at_ms = res->expires_at_ms,
                                .amount_cents = res->amount_cents,
                                .seats = res->seats,
                                .nseats = res->nseats,
                                .ga = req.ga,
                                .nga = req.nga};
    return rc;
}

/* The hold's content changes hands (sign 1: sold, -1: no longer). */
static void sale(bo_mut_effect_t *fx, const bo_hold_view_t *v, int sign)
{
    memcpy(fx->sold, v->seats, v->nseats * sizeof(uint32_t));
    fx->nsold = v->nseats;
    for (uint32_t i = 0; i < v->nga; i++)
        fx->ga_delta[v->ga[i].area] += sign * (int32_t)v->ga[i].quantity;
    fx->sign = sign;
}

/* What was sold is the hold's content, whatever the caller passed. */
static int apply_confirm(bo_inv_t *inv, const bo_mut_t *m, int64_t at_ms, bo_mut_effect_t *fx)
{
    bo_hold_view_t v;
    int rc = bo_inv_confirm(inv, &m->id, m->seats, m->nseats, m->ga, m->nga, m->customer,
                            m->amount_cents, at_ms);
    if (rc == 0 && fx && bo_inv_get_hold(inv, &m->id, at_ms, &v) == 0) {
        sale(fx, &v, 1);
        fx->logged.seats = fx->sold;
        fx->logged.nseats = fx->nsold;
        fx->logged.ga = v.ga; /* valid until the next mutation: encoded before */
        fx->logged.nga = v.nga;
        fx->logged.customer = v.customer;
        fx->logged.amount_cents = v.amount_cents;
    }
    return rc;
}

/* The database forgets the sold seats with the hold. */
static int apply_cancel(bo_inv_t *inv, const bo_mut_t *m, int64_t at_ms, bo_mut_effect_t *fx)
{
    bo_hold_view_t v;
    if (fx && bo_inv_get_hold(inv, &m->id, at_ms, &v) == 0 && v.status == BO_HOLD_SOLD)
        sale(fx, &v, -1);
    return bo_inv_cancel(inv, &m->id, at_ms);
}

int bo_mut_apply_fx(bo_inv_t *inv, const bo_mut_t *m, int64_t at_ms, bo_mut_effect_t *fx)
{
    bo_live_result_t scratch; /* replay: answers nobody reads */
    bo_live_result_t *r = fx ? fx->r : &scratch;
    if (fx)
        fx->logged = *m;
    switch (m->op) {
    case BO_MUT_HOLD:
        return apply_hold(inv, m, at_ms, &r->res, fx);
    case BO_MUT_RELEASE:
        return bo_inv_release(inv, &m->id, at_ms);
    case BO_MUT_PAY_START:
        return bo_inv_pay_start(inv, &m->id, m->deadline_ms, at_ms);
    case BO_MUT_PAY_FAILED:
        return bo_inv_pay_failed(inv, &m->id, at_ms, &r->released);
    case BO_MUT_CONFIRM:
        return apply_confirm(inv, m, at_ms, fx);
    case BO_MUT_CANCEL:
        return apply_cancel(inv, m, at_ms, fx);
    case BO_MUT_BLOCK:
        return bo_inv_block(inv, m->seats, m->nseats, at_ms, fx ? &r->res : NULL);
    case BO_MUT_UNBLOCK:
        return bo_inv_unblock(inv, m->seats, m->nseats, at_ms, fx ? &r->res : NULL);
    }
    return BO_ECORRUPT;
}

int bo_mut_apply(bo_inv_t *inv, const bo_mut_t *m, int64_t at_ms)
{
    return bo_mut_apply_fx(inv, m, at_ms, NULL);
}
