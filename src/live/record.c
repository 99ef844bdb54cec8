/*
 * record.c - encoding, decoding and replay of engine mutations (record.h).
 *
 * Workload: one encode per hold on the hot path (~30 bytes for a 2-seat
 * hold), one decode + apply per log record at start-up (millions).
 */
#include <string.h>

#include "boxoffice/error.h"
#include "live/record.h"
#include "engine/codec.h"

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
    return 1 + 16 + 4 * 10 + 5 + (size_t)m->nseats * 10 + 5 + (size_t)m->nga * 10;
}

size_t bo_mut_encode(const bo_mut_t *m, uint8_t *buf)
{
    uint8_t *p = buf;
    *p++ = m->op;
    if (has_id(m->op)) {
        memcpy(p, m->id.b, 16);
        p += 16;
    }
    if (has_sale(m->op)) {
        p = bo_put_uv(p, m->customer);
        p = bo_put_sv(p, m->amount_cents);
    }
    if (m->op == BO_MUT_HOLD)
        p = bo_put_sv(p, m->expires_at_ms);
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
    if (len < 1 || buf[0] < BO_MUT_HOLD || buf[0] > BO_MUT_UNBLOCK)
        return BO_ECORRUPT;
    m->op = *r.p++;
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
    if (m->op == BO_MUT_HOLD)
        m->expires_at_ms = bo_get_sv(&r);
    if (m->op == BO_MUT_PAY_START)
        m->deadline_ms = bo_get_sv(&r);
    int rc = decode_lists(&r, m, seat_buf, seat_cap, ga_buf);
    if (rc == 0 && (r.bad || r.p != r.end))
        rc = BO_ECORRUPT;
    return rc;
}

int bo_mut_apply(bo_inv_t *inv, const bo_mut_t *m, int64_t at_ms)
{
    int released;
    bo_hold_res_t res;
    switch (m->op) {
    case BO_MUT_HOLD: {
        bo_hold_req_t req = {
            .id = m->id,
            .customer = m->customer,
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
        return bo_inv_hold(inv, &req, at_ms, &res);
    }
    case BO_MUT_RELEASE:
        return bo_inv_release(inv, &m->id, at_ms);
    case BO_MUT_PAY_START:
        return bo_inv_pay_start(inv, &m->id, m->deadline_ms, at_ms);
    case BO_MUT_PAY_FAILED:
        return bo_inv_pay_failed(inv, &m->id, at_ms, &released);
    case BO_MUT_CONFIRM:
        return bo_inv_confirm(inv, &m->id, m->seats, m->nseats, m->ga, m->nga, m->customer,
                              m->amount_cents, at_ms);
    case BO_MUT_CANCEL:
        return bo_inv_cancel(inv, &m->id, at_ms);
    case BO_MUT_BLOCK:
        return bo_inv_block(inv, m->seats, m->nseats, at_ms, NULL);
    case BO_MUT_UNBLOCK:
        return bo_inv_unblock(inv, m->seats, m->nseats, at_ms, NULL);
    }
    return BO_ECORRUPT;
}
