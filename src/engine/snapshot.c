/*
 * snapshot.c - an inventory's whole state as one compact record, so the
 * store can drop the log records it covers and recovery starts from it
 * instead of replaying an on-sale's millions of holds.
 *
 * Format (varints, seats delta-coded): version 2; the blocked seats; then
 * every hold that is not gone (HELD holds already expired are swept first):
 * status, id, customer, client, created, expires_at, pay deadline, amount,
 * payment failures, seats, GA lines. Version 1 (no client: 0) still reads.
 *
 * Workload: one export every ~10^5 decisions of an event, under its lock:
 * O(seats + holds), a few ms for a sold-out 100,000-seat stadium. One import
 * per event at start.
 */
#include <stdlib.h>
#include <string.h>

#include "boxoffice/error.h"
#include "engine/inv_internal.h"
#include "engine/codec.h"

#define SNAPSHOT_VERSION 2 /* 1: holds without their client */

static size_t export_bound(const bo_inv_t *inv)
{
    size_t n = 16 + (size_t)inv->n_blocked * BO_VARINT_MAX;
    for (uint32_t s = 1; s < inv->nholds; s++) {
        const struct hold *h = &inv->holds[s];
        if (h->status != BO_HOLD_NONE)
            n += 1 + 16 + 9 * BO_VARINT_MAX + (size_t)(h->nseats + 2 * h->nga) * BO_VARINT_MAX;
    }
    return n;
}

static uint8_t *put_hold(uint8_t *p, const struct hold *h)
{
    *p++ = h->status;
    memcpy(p, h->id.b, 16);
    p += 16;
    p = bo_put_uv(p, h->customer);
    p = bo_put_uv(p, h->client);
    p = bo_put_sv(p, h->created_ms);
    p = bo_put_sv(p, h->expires_at_ms);
    p = bo_put_sv(p, h->pay_deadline_ms);
    p = bo_put_sv(p, h->amount_cents);
    p = bo_put_uv(p, h->pay_failures);
    p = bo__put_seats(p, h->seats, h->nseats);
    return bo__put_ga(p, h->ga, h->nga);
}

int bo_inv_export(bo_inv_t *inv, int64_t now_ms, uint8_t **buf_out, size_t *len_out)
{
    bo_inv_expire(inv, now_ms);
    uint8_t *buf = malloc(export_bound(inv)), *p = buf;
    if (!buf)
        return BO_ENOMEM;
    *p++ = SNAPSHOT_VERSION;
    p = bo_put_uv(p, inv->n_blocked);
    int64_t prev = 0;
    for (uint32_t s = 0; s < inv->layout->nseats; s++)
        if (W_STATE(inv->words[s]) == BO_SEAT_BLOCKED) {
            p = bo_put_sv(p, (int64_t)s - prev);
            prev = s;
        }
    uint32_t nholds = 0;
    for (uint32_t s = 1; s < inv->nholds; s++)
        nholds += inv->holds[s].status != BO_HOLD_NONE;
    p = bo_put_uv(p, nholds);
    for (uint32_t s = 1; s < inv->nholds; s++)
        if (inv->holds[s].status != BO_HOLD_NONE)
            p = put_hold(p, &inv->holds[s]);
    *buf_out = buf;
    *len_out = (size_t)(p - buf);
    return 0;
}

/* ---- import ------------------------------------------------------------------ */

static int import_blocked(bo_inv_t *inv, bo_reader_t *r)
{
    uint32_t n, *seats = malloc(((size_t)inv->layout->nseats + 1) * sizeof(uint32_t));
    if (!seats)
        return BO_ENOMEM;
    int rc = bo__get_seats(r, seats, inv->layout->nseats, &n);
    if (rc == 0 && n)
        rc = bo_inv_block(inv, seats, n, INT64_MIN, NULL) ? BO_ECORRUPT : 0;
    free(seats);
    return rc;
}

/* One hold's fields, its seats into seats and GA into ga. */
static int read_hold(bo_reader_t *r, int version, struct hold *h, uint32_t *seats, bo_ga_line_t *ga)
{
    memset(h, 0, sizeof(*h));
    bo_get_bytes(r, &h->status, 1);
    bo_get_bytes(r, h->id.b, 16);
    h->customer = bo_get_uv(r);
    h->client = version >= 2 ? bo_get_uv(r) : 0;
    h->created_ms = bo_get_sv(r);
    h->expires_at_ms = bo_get_sv(r);
    h->pay_deadline_ms = bo_get_sv(r);
    h->amount_cents = bo_get_sv(r);
    uint64_t failures = bo_get_uv(r);
    int rc = bo__get_seats(r, seats, BO_HOLD_MAX_SEATS, &h->nseats);
    if (rc == 0)
        rc = bo__get_ga(r, ga, &h->nga);
    if (rc || failures >= BO_PAY_MAX_FAILURES || h->status < BO_HOLD_HELD ||
        h->status > BO_HOLD_SOLD)
        return BO_ECORRUPT;
    h->pay_failures = (uint8_t)failures;
    return 0;
}

/* Check a read hold against the inventory, then install it. */
static int import_hold(bo_inv_t *inv, bo_reader_t *r, int version)
{
    struct hold f, h;
    uint32_t seats[BO_HOLD_MAX_SEATS];
    bo_ga_line_t ga[BO_HOLD_MAX_GA];
    int rc = read_hold(r, version, &f, seats, ga);
    if (rc == 0 &&
        (bo__check_seats(inv, seats, f.nseats, BO_HOLD_MAX_SEATS) || bo__check_ga(inv, ga, f.nga) ||
         f.nseats + f.nga == 0 || bo__hold_find(inv, &f.id) ||
         bo__find_taken(inv, seats, f.nseats, ga, f.nga, NULL)))
        rc = BO_ECORRUPT;
    if (rc == 0)
        rc = bo__hold_prepare(inv);
    if (rc == 0)
        rc = bo__j_reserve(inv, bo__hold_cost(f.nseats, f.nga));
    if (rc == 0)
        rc = bo__make_hold(&h, &f.id, f.customer, seats, f.nseats, ga, f.nga);
    if (rc)
        return rc;
    h.status = f.status;
    h.client = f.client;
    h.created_ms = f.created_ms;
    h.expires_at_ms = f.expires_at_ms;
    h.pay_deadline_ms = f.pay_deadline_ms;
    h.amount_cents = f.amount_cents;
    h.pay_failures = f.pay_failures;
    bo__install_hold(inv, &h, f.status == BO_HOLD_SOLD ? BO_SEAT_SOLD : BO_SEAT_HELD);
    return 0;
}

int bo_inv_import(bo_inv_t *inv, const uint8_t *buf, size_t len)
{
    bo_reader_t r = {buf, buf + len, 0};
    if (inv->n_avail != inv->layout->nseats || inv->n_live || len < 1 || buf[0] < 1 ||
        buf[0] > SNAPSHOT_VERSION)
        return BO_ECORRUPT;
    int version = *r.p++;
    int rc = import_blocked(inv, &r);
    uint64_t n = rc ? 0 : bo_get_uv(&r);
    for (uint64_t i = 0; i < n && rc == 0; i++)
        rc = import_hold(inv, &r, version);
    if (rc == 0 && (r.bad || r.p != r.end))
        rc = BO_ECORRUPT;
    return rc;
}
