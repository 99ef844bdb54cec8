/*
 * test_record.c - the durable form of engine mutations (src/live/record.c):
 * every op kind survives encode + decode exactly (extremes, long and
 * descending seat lists included), every truncated or garbled record decodes
 * to BO_ECORRUPT and nothing else, and bo_mut_apply re-applies each op, so
 * that a session logged as records and replayed into a fresh inventory ends
 * in the same state.
 *
 * BOXOFFICE_SEED=n replays the randomized decode test with another seed.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boxoffice/engine.h"
#include "boxoffice/error.h"
#include "boxoffice/layout.h"
#include "engine/codec.h"
#include "live/record.h"

#define T0  1000000
#define TTL 60000

static const uint32_t ALL_OPS[] = {BO_MUT_HOLD,       BO_MUT_RELEASE, BO_MUT_PAY_START,
                                   BO_MUT_PAY_FAILED, BO_MUT_CONFIRM, BO_MUT_CANCEL,
                                   BO_MUT_BLOCK,      BO_MUT_UNBLOCK};

static bo_hold_id_t hid(uint32_t n)
{
    bo_hold_id_t id;
    for (int i = 0; i < 16; i++)
        id.b[i] = (uint8_t)(n * 131u + (uint32_t)i * 29u + 1u);
    return id;
}

static int op_has_id(uint8_t op)
{
    return op != BO_MUT_BLOCK && op != BO_MUT_UNBLOCK;
}

static int op_has_seats(uint8_t op)
{
    return op == BO_MUT_HOLD || op == BO_MUT_CONFIRM || op == BO_MUT_BLOCK || op == BO_MUT_UNBLOCK;
}

static int op_has_sale(uint8_t op)
{
    return op == BO_MUT_HOLD || op == BO_MUT_CONFIRM;
}

/* d is what decoding m's record must give: m's fields for its op, zero for
 * the others. */
static void expect_decoded(const bo_mut_t *m, const bo_mut_t *d)
{
    static const bo_hold_id_t zero_id;
    cr_assert_eq(d->op, m->op);
    cr_assert_arr_eq(d->id.b, op_has_id(m->op) ? m->id.b : zero_id.b, 16, "op %u: id", m->op);
    cr_assert_eq(d->customer, op_has_sale(m->op) ? m->customer : 0, "op %u: customer", m->op);
    cr_assert_eq(d->amount_cents, op_has_sale(m->op) ? m->amount_cents : 0, "op %u: amount", m->op);
    cr_assert_eq(d->expires_at_ms, m->op == BO_MUT_HOLD ? m->expires_at_ms : 0, "op %u", m->op);
    cr_assert_eq(d->client, m->op == BO_MUT_HOLD ? m->client : 0, "op %u: client", m->op);
    cr_assert_eq(d->deadline_ms, m->op == BO_MUT_PAY_START ? m->deadline_ms : 0, "op %u", m->op);
    if (op_has_seats(m->op)) {
        cr_assert_eq(d->nseats, m->nseats, "op %u: %u seats, want %u", m->op, d->nseats, m->nseats);
        for (uint32_t i = 0; i < m->nseats; i++)
            cr_assert_eq(d->seats[i], m->seats[i], "op %u, seat %u: %u, want %u", m->op, i,
                         d->seats[i], m->seats[i]);
    } else {
        cr_assert_eq(d->nseats, 0, "op %u", m->op);
    }
    if (op_has_sale(m->op)) {
        cr_assert_eq(d->nga, m->nga, "op %u", m->op);
        for (uint32_t i = 0; i < m->nga; i++) {
            cr_assert_eq(d->ga[i].area, m->ga[i].area, "op %u, GA line %u", m->op, i);
            cr_assert_eq(d->ga[i].quantity, m->ga[i].quantity, "op %u, GA line %u", m->op, i);
        }
    } else {
        cr_assert_eq(d->nga, 0, "op %u", m->op);
    }
}

/* bo_mut_decode, which must answer 0 or BO_ECORRUPT; d->ga points into ga. */
static int decode(const uint8_t *buf, size_t len, bo_mut_t *d, uint32_t *seats, uint32_t cap,
                  bo_ga_line_t *ga)
{
    int rc = bo_mut_decode(buf, len, d, seats, cap, ga);
    cr_assert(rc == 0 || rc == BO_ECORRUPT, "decode answered %d", rc);
    return rc;
}

/*
 * Encode m within its bound and decode it back exactly; then every strict
 * prefix, the record with one byte more, and a seat buffer one entry short
 * must all be BO_ECORRUPT. Returns the encoded length.
 */
static size_t round_trip(const bo_mut_t *m)
{
    size_t max = bo_mut_max_size(m);
    uint8_t *buf = malloc(max + 1);
    size_t n = bo_mut_encode(m, buf);
    cr_assert_gt(n, 0);
    cr_assert_leq(n, max, "op %u: %zu bytes past the bound %zu", m->op, n, max);
    uint32_t cap = m->nseats;
    uint32_t *seats = malloc((cap ? cap : 1) * sizeof(uint32_t));
    bo_ga_line_t ga[BO_HOLD_MAX_GA];
    bo_mut_t d;
    cr_assert_eq(bo_mut_decode(buf, n, &d, seats, cap, ga), 0, "op %u", m->op);
    expect_decoded(m, &d);

    size_t step = n > 4096 ? n / 512 : 1; /* long records: a sample of prefixes */
    for (size_t k = 0; k < n; k += step)
        cr_assert_eq(decode(buf, k, &d, seats, cap, ga), BO_ECORRUPT, "op %u: prefix %zu of %zu",
                     m->op, k, n);
    cr_assert_eq(decode(buf, n - 1, &d, seats, cap, ga), BO_ECORRUPT, "op %u: last byte cut",
                 m->op);
    buf[n] = 0;
    cr_assert_eq(decode(buf, n + 1, &d, seats, cap, ga), BO_ECORRUPT, "op %u: trailing byte",
                 m->op);
    if (op_has_seats(m->op) && cap > 0)
        cr_assert_eq(decode(buf, n, &d, seats, cap - 1, ga), BO_ECORRUPT,
                     "op %u: more seats than the buffer", m->op);
    free(seats);
    free(buf);
    return n;
}

/* A mutation with every field set, so that each op must pick its own. */
static bo_mut_t full_mut(uint8_t op, const uint32_t *seats, uint32_t nseats, const bo_ga_line_t *ga,
                         uint32_t nga)
{
    return (bo_mut_t){.op = op,
                      .id = hid(7),
                      .customer = 0x0123456789abcdefull,
                      .expires_at_ms = 1700000300000,
                      .deadline_ms = 1700000900000,
                      .amount_cents = 123456,
                      .seats = seats,
                      .nseats = nseats,
                      .ga = ga,
                      .nga = nga};
}

/* ---- round trips ---------------------------------------------------------- */

Test(codec, every_op_round_trips)
{
    const uint32_t seats[] = {5, 3, 199999, 0, 42};
    const bo_ga_line_t ga[] = {{2, 4}, {0, 100}};
    for (size_t i = 0; i < sizeof(ALL_OPS) / sizeof(ALL_OPS[0]); i++) {
        bo_mut_t m = full_mut((uint8_t)ALL_OPS[i], seats, 5, ga, 2);
        round_trip(&m);
    }
}

Test(codec, empty_lists_round_trip)
{
    const bo_ga_line_t ga[] = {{1, 1}};
    bo_mut_t m = full_mut(BO_MUT_HOLD, NULL, 0, ga, 1);
    round_trip(&m);
    m = full_mut(BO_MUT_CONFIRM, NULL, 0, NULL, 0);
    round_trip(&m);
    m = full_mut(BO_MUT_BLOCK, NULL, 0, NULL, 0);
    round_trip(&m);
}

Test(codec, extreme_values_round_trip)
{
    const uint32_t seats[] = {UINT32_MAX, 0, UINT32_MAX, 1, UINT32_MAX - 1};
    const bo_ga_line_t ga[] = {{UINT32_MAX, UINT32_MAX}, {0, 0}, {7, 1}};
    const int64_t values[] = {INT64_MIN, INT64_MIN + 1, -1, 0, 1, INT64_MAX};
    const uint64_t customers[] = {0, 1, 127, 128, UINT64_MAX};
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        for (size_t c = 0; c < sizeof(customers) / sizeof(customers[0]); c++) {
            bo_mut_t m = full_mut(BO_MUT_HOLD, seats, 5, ga, 3);
            m.customer = customers[c];
            m.amount_cents = values[i];
            m.expires_at_ms = values[(i + c) % 6];
            round_trip(&m);
            m.op = BO_MUT_CONFIRM;
            round_trip(&m);
        }
        bo_mut_t m = full_mut(BO_MUT_PAY_START, NULL, 0, NULL, 0);
        m.deadline_ms = values[i];
        round_trip(&m);
    }
    bo_mut_t m = full_mut(BO_MUT_RELEASE, NULL, 0, NULL, 0);
    memset(m.id.b, 0xff, 16);
    round_trip(&m);
    memset(m.id.b, 0, 16);
    round_trip(&m);
}

Test(codec, negative_amounts_and_deltas)
{
    const uint32_t down[] = {90, 80, 10, 9, 0};
    bo_mut_t m = full_mut(BO_MUT_CONFIRM, down, 5, NULL, 0);
    m.amount_cents = -4500; /* a refund-shaped amount: the codec must not care */
    round_trip(&m);
    const uint32_t zigzag[] = {0, UINT32_MAX, 0, UINT32_MAX};
    m = full_mut(BO_MUT_UNBLOCK, zigzag, 4, NULL, 0);
    round_trip(&m);
}

Test(codec, largest_hold_and_whole_venue_block)
{
    uint32_t hold_seats[BO_HOLD_MAX_SEATS];
    uint64_t x = 88172645463325252ull;
    for (uint32_t i = 0; i < BO_HOLD_MAX_SEATS; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        hold_seats[i] =
            (uint32_t)(x % BO_LAYOUT_MAX_SEATS) / BO_HOLD_MAX_SEATS * BO_HOLD_MAX_SEATS +
            i; /* distinct, in random order */
    }
    bo_ga_line_t ga[BO_HOLD_MAX_GA];
    for (uint32_t i = 0; i < BO_HOLD_MAX_GA; i++)
        ga[i] = (bo_ga_line_t){BO_LAYOUT_MAX_GA_AREAS - 1 - i, BO_HOLD_MAX_GA_QTY};
    bo_mut_t m = full_mut(BO_MUT_HOLD, hold_seats, BO_HOLD_MAX_SEATS, ga, BO_HOLD_MAX_GA);
    round_trip(&m);

    uint32_t *all = malloc(BO_LAYOUT_MAX_SEATS * sizeof(uint32_t));
    for (uint32_t i = 0; i < BO_LAYOUT_MAX_SEATS; i++)
        all[i] = BO_LAYOUT_MAX_SEATS - 1 - i; /* descending: every delta is -1 */
    m = full_mut(BO_MUT_BLOCK, all, BO_LAYOUT_MAX_SEATS, NULL, 0);
    size_t n = round_trip(&m);
    cr_assert_leq(n, BO_LAYOUT_MAX_SEATS + 8, "%zu bytes: deltas of -1 take one byte", n);
    m.op = BO_MUT_UNBLOCK;
    round_trip(&m);
    free(all);
}

Test(codec, a_small_hold_is_compact)
{
    const uint32_t seats[] = {12040, 12041};
    bo_mut_t m = full_mut(BO_MUT_HOLD, seats, 2, NULL, 0);
    m.customer = 0x9f3c2a1b77e4d501ull;
    m.amount_cents = 9000;
    m.expires_at_ms = 1700000300000;
    m.client = 0x5a17c0ffee123457ull;
    size_t n = round_trip(&m);
    cr_assert_leq(n, 55, "a 2-seat hold took %zu bytes", n);
}

/* A hold written before the caps (op byte 1, no client) still reads, with
 * client 0; the same bytes under the new op byte are cut short. */
Test(codec, a_hold_without_its_client_reads_as_client_0)
{
    const uint32_t seats[] = {7, 8};
    bo_mut_t m = full_mut(BO_MUT_HOLD, seats, 2, NULL, 0);
    m.client = 0;
    uint8_t buf[128], old[128];
    size_t n = bo_mut_encode(&m, buf);
    cr_assert_eq(buf[0], 0x81, "a hold is written with its client");
    /* the old layout: op 1, id, customer, amount, then (no client) expiry... */
    size_t head = 1 + 16;
    bo_mut_t d;
    uint32_t dseats[4];
    bo_ga_line_t ga[BO_HOLD_MAX_GA];
    cr_assert_eq(decode(buf, n, &d, dseats, 4, ga), 0);
    old[0] = BO_MUT_HOLD;
    memcpy(old + 1, buf + 1, 16);
    /* customer and amount as written, the client's one zero byte left out */
    uint8_t cust[32];
    uint8_t *p = cust;
    p = bo_put_uv(p, m.customer);
    p = bo_put_sv(p, m.amount_cents);
    size_t sale_len = (size_t)(p - cust);
    memcpy(old + head, buf + head, sale_len);
    cr_assert_eq(buf[head + sale_len], 0, "client 0 is one zero byte");
    memcpy(old + head + sale_len, buf + head + sale_len + 1, n - head - sale_len - 1);
    cr_assert_eq(decode(old, n - 1, &d, dseats, 4, ga), 0, "an old hold record reads");
    cr_assert_eq(d.op, BO_MUT_HOLD);
    cr_assert_eq(d.client, 0);
    expect_decoded(&m, &d);
    old[0] = 0x81;
    cr_assert_eq(decode(old, n - 1, &d, dseats, 4, ga), BO_ECORRUPT, "a new hold cut short");
}

/* ---- garbage ----------------------------------------------------------------- */

/* Decoding these bytes must give BO_ECORRUPT. */
static void expect_corrupt(const uint8_t *buf, size_t len, const char *what)
{
    uint32_t seats[16];
    bo_ga_line_t ga[BO_HOLD_MAX_GA];
    bo_mut_t d;
    int rc = decode(buf, len, &d, seats, 16, ga);
    cr_assert_eq(rc, BO_ECORRUPT, "%s: decoded as op %u", what, d.op);
}

/* A record of op with a zero id, then the given tail. */
static size_t with_id(uint8_t op, const uint8_t *tail, size_t n, uint8_t *out)
{
    out[0] = op;
    memset(out + 1, 0xab, 16);
    if (n)
        memcpy(out + 17, tail, n);
    return 17 + n;
}

Test(garbage, bad_op_and_short_ids)
{
    uint8_t b[64] = {0};
    expect_corrupt(b, 0, "empty");
    expect_corrupt((const uint8_t[]){0}, 1, "op 0");
    expect_corrupt((const uint8_t[]){9}, 1, "op 9");
    expect_corrupt((const uint8_t[]){0xff}, 1, "op 255");
    size_t n = with_id(BO_MUT_RELEASE, NULL, 0, b);
    uint32_t seats[1];
    bo_ga_line_t ga[BO_HOLD_MAX_GA];
    bo_mut_t d;
    cr_assert_eq(decode(b, n, &d, seats, 1, ga), 0, "a release is op + id");
    for (size_t k = 1; k < 17; k++)
        expect_corrupt(b, k, "id cut short");
    b[0] = 0;
    expect_corrupt(b, n, "op 0 with an id");
}

Test(garbage, varints)
{
    uint8_t b[64];
    /* PAY_START: id, then the deadline as one zigzag varint */
    const uint8_t ten_bytes[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    size_t n = with_id(BO_MUT_PAY_START, ten_bytes, sizeof(ten_bytes), b);
    uint32_t seats[1];
    bo_ga_line_t ga[BO_HOLD_MAX_GA];
    bo_mut_t d;
    cr_assert_eq(decode(b, n, &d, seats, 1, ga), 0, "the longest valid varint");
    cr_assert_eq(d.deadline_ms, INT64_MIN);
    const uint8_t eleven[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00};
    n = with_id(BO_MUT_PAY_START, eleven, sizeof(eleven), b);
    expect_corrupt(b, n, "an 11-byte varint");
    const uint8_t unfinished[] = {0x80, 0x80};
    n = with_id(BO_MUT_PAY_START, unfinished, sizeof(unfinished), b);
    expect_corrupt(b, n, "a varint cut short");
}

Test(garbage, varint_past_64_bits)
{
    /* ten bytes whose last one carries bits 64..69: not a uint64 */
    uint8_t b[64];
    const uint8_t big[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f};
    size_t n = with_id(BO_MUT_PAY_START, big, sizeof(big), b);
    expect_corrupt(b, n, "a varint of 70 bits");
}

Test(garbage, seat_lists)
{
    /* BLOCK: op, count, zigzag deltas */
    expect_corrupt((const uint8_t[]){BO_MUT_BLOCK, 17}, 2, "more seats than seat_cap");
    expect_corrupt((const uint8_t[]){BO_MUT_BLOCK, 2, 2}, 3, "count says 2, one given");
    expect_corrupt((const uint8_t[]){BO_MUT_BLOCK, 1, 1}, 3, "first seat -1");
    expect_corrupt((const uint8_t[]){BO_MUT_BLOCK, 2, 10, 13}, 4, "seat 5 then -2");
    /* first delta 2^32: zigzag 2^33 */
    const uint8_t past[] = {BO_MUT_BLOCK, 1, 0x80, 0x80, 0x80, 0x80, 0x20};
    expect_corrupt(past, sizeof(past), "seat 2^32");
    /* UINT32_MAX, then a delta of INT64_MAX: prev + delta must be refused
     * before it overflows (signed overflow: the UBSan build reports it) */
    const uint8_t over[] = {BO_MUT_BLOCK, 2,    0xfe, 0xff, 0xff, 0xff, 0x1f, 0xfe, 0xff,
                            0xff,         0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    expect_corrupt(over, sizeof(over), "seat UINT32_MAX + INT64_MAX");
    uint32_t seats[4];
    bo_ga_line_t ga[BO_HOLD_MAX_GA];
    bo_mut_t d;
    const uint8_t ok[] = {BO_MUT_BLOCK, 2, 0xfe, 0xff, 0xff, 0xff, 0x1f, 0x01};
    cr_assert_eq(decode(ok, sizeof(ok), &d, seats, 4, ga), 0);
    cr_assert_eq(d.seats[0], UINT32_MAX);
    cr_assert_eq(d.seats[1], UINT32_MAX - 1);
}

Test(garbage, ga_lines)
{
    uint8_t b[64];
    /* HOLD tail: customer, amount, expires, nseats 0, nga, lines */
    const uint8_t nine[] = {1, 2, 3, 0, 9, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    size_t n = with_id(BO_MUT_HOLD, nine, sizeof(nine), b);
    expect_corrupt(b, n, "9 GA lines");
    const uint8_t one[] = {1, 2, 3, 0, 1, 4, 5};
    n = with_id(BO_MUT_HOLD, one, sizeof(one), b);
    uint32_t seats[1];
    bo_ga_line_t ga[BO_HOLD_MAX_GA];
    bo_mut_t d;
    cr_assert_eq(decode(b, n, &d, seats, 1, ga), 0);
    cr_assert_eq(d.nga, 1);
    cr_assert_eq(d.ga[0].area, 4);
    cr_assert_eq(d.ga[0].quantity, 5);
    expect_corrupt(b, n - 1, "GA line without its quantity");
}

Test(garbage, ga_area_past_32_bits)
{
    uint8_t b[64];
    /* area 2^32 + 4 would silently become area 4 */
    const uint8_t area[] = {1, 2, 3, 0, 1, 0x84, 0x80, 0x80, 0x80, 0x10, 5};
    size_t n = with_id(BO_MUT_HOLD, area, sizeof(area), b);
    expect_corrupt(b, n, "GA area 2^32 + 4");
}

Test(garbage, ga_quantity_past_32_bits)
{
    uint8_t b[64];
    /* CONFIRM tail: customer, amount, nseats 0, nga, lines */
    const uint8_t qty[] = {1, 2, 0, 1, 4, 0x85, 0x80, 0x80, 0x80, 0x10};
    size_t n = with_id(BO_MUT_CONFIRM, qty, sizeof(qty), b);
    expect_corrupt(b, n, "GA quantity 2^32 + 5");
}

static uint64_t rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Random bytes and damaged valid records: decode answers 0 or BO_ECORRUPT,
 * never reads or writes out of bounds (run it under ASan), and a record it
 * accepts re-encodes to one that decodes to the same mutation. */
Test(garbage, random_bytes_never_crash)
{
    const char *env = getenv("BOXOFFICE_SEED");
    uint64_t seed = env ? strtoull(env, NULL, 10) : 20240601;
    uint64_t s = seed | 1;
    uint8_t buf[256];
    uint32_t seats[8];
    bo_ga_line_t ga[BO_HOLD_MAX_GA];
    const uint32_t vseats[] = {40, 41, 7, 100000};
    const bo_ga_line_t vga[] = {{3, 2}};
    uint32_t accepted = 0;
    for (uint32_t iter = 0; iter < 200000; iter++) {
        size_t len;
        if (iter % 2) {
            len = rnd(&s) % 48;
            for (size_t i = 0; i < len; i++)
                buf[i] = (uint8_t)rnd(&s);
            buf[0] = (uint8_t)(1 + rnd(&s) % 9);
        } else {
            bo_mut_t m = full_mut((uint8_t)ALL_OPS[rnd(&s) % 8], vseats, 4, vga, 1);
            len = bo_mut_encode(&m, buf);
            for (int k = (int)(rnd(&s) % 3); k >= 0; k--)
                buf[rnd(&s) % len] ^= (uint8_t)(1u << (rnd(&s) % 8));
            len -= rnd(&s) % 2 ? rnd(&s) % len : 0;
        }
        bo_mut_t d;
        int rc = bo_mut_decode(buf, len, &d, seats, 8, ga);
        cr_assert(rc == 0 || rc == BO_ECORRUPT, "seed %llu, iteration %u: %d",
                  (unsigned long long)seed, iter, rc);
        if (rc)
            continue;
        accepted++;
        cr_assert_leq(d.nseats, 8);
        cr_assert_leq(d.nga, BO_HOLD_MAX_GA);
        uint8_t again[256 + 200];
        cr_assert_leq(bo_mut_max_size(&d), sizeof(again));
        size_t n = bo_mut_encode(&d, again);
        uint32_t seats2[8];
        bo_ga_line_t ga2[BO_HOLD_MAX_GA];
        bo_mut_t d2;
        cr_assert_eq(decode(again, n, &d2, seats2, 8, ga2), 0, "seed %llu, iteration %u",
                     (unsigned long long)seed, iter);
        expect_decoded(&d, &d2);
    }
    cr_assert_gt(accepted, 1000, "only %u records accepted: the test is not exercising much",
                 accepted);
}

/* ---- bo_mut_apply ----------------------------------------------------------------- */

/* Row A seats 0..9, row B 10..19 (one section), GA areas 0 and 1 of 10. */
static bo_layout_t *L;
static bo_inv_t *inv;

static bo_inv_t *new_inv(uint32_t limit)
{
    bo_inv_config_t c = {.hold_ttl_ms = TTL, .per_customer_limit = limit};
    for (uint32_t k = 0; k < BO_LAYOUT_MAX_CATEGORIES; k++)
        c.price_cents[k] = 1000 * (int64_t)(k + 1);
    bo_inv_t *x;
    cr_assert_eq(bo_inv_new(L, &c, &x), 0);
    return x;
}

static void setup(void)
{
    bo_venue_gen_t g = {
        .sections = 1, .rows = 2, .seats = 10, .ga_areas = 2, .ga_capacity = 10, .categories = 2};
    size_t len;
    char *json = bo_venue_generate(&g, &len);
    cr_assert_not_null(json);
    cr_assert_eq(bo_layout_parse(json, len, &L, NULL), 0);
    free(json);
    cr_assert_eq(L->nseats, 20);
    cr_assert_eq(L->nga, 2);
    inv = new_inv(2);
}

static void teardown(void)
{
    bo_inv_free(inv);
    bo_layout_free(L);
}

/* Apply m through its encoded form, as recovery does. */
static int apply(bo_inv_t *x, const bo_mut_t *m, int64_t at)
{
    uint8_t buf[1024];
    cr_assert_leq(bo_mut_max_size(m), sizeof(buf));
    size_t n = bo_mut_encode(m, buf);
    uint32_t seats[BO_HOLD_MAX_SEATS];
    bo_ga_line_t ga[BO_HOLD_MAX_GA];
    bo_mut_t d;
    cr_assert_eq(bo_mut_decode(buf, n, &d, seats, BO_HOLD_MAX_SEATS, ga), 0);
    return bo_mut_apply(x, &d, at);
}

static bo_hold_view_t view(bo_inv_t *x, uint32_t id, int64_t now)
{
    bo_hold_view_t v;
    bo_hold_id_t h = hid(id);
    cr_assert_eq(bo_inv_get_hold(x, &h, now, &v), 0, "hold %u", id);
    return v;
}

static int gone(bo_inv_t *x, uint32_t id, int64_t now)
{
    bo_hold_view_t v;
    bo_hold_id_t h = hid(id);
    return bo_inv_get_hold(x, &h, now, &v) == BO_ENOTFOUND;
}

TestSuite(apply, .init = setup, .fini = teardown);

Test(apply, hold_takes_the_logged_expiry_and_amount_past_the_limit)
{
    const uint32_t seats[] = {4, 3, 5};
    const bo_ga_line_t ga[] = {{1, 2}};
    bo_mut_t m = {.op = BO_MUT_HOLD,
                  .id = hid(1),
                  .customer = 99,
                  .expires_at_ms = T0 + 5,
                  .amount_cents = 777,
                  .seats = seats,
                  .nseats = 3,
                  .ga = ga,
                  .nga = 1};
    cr_assert_eq(apply(inv, &m, T0), 0, "5 tickets for a customer limited to 2: a replay");
    bo_hold_view_t v = view(inv, 1, T0);
    cr_assert_eq(v.status, BO_HOLD_HELD);
    cr_assert_eq(v.expires_at_ms, T0 + 5);
    cr_assert_eq(v.amount_cents, 777);
    cr_assert_eq(v.customer, 99);
    cr_assert_eq(v.created_ms, T0);
    cr_assert_eq(v.nseats, 3);
    cr_assert_eq(v.seats[0], 4);
    cr_assert_eq(v.seats[2], 5);
    cr_assert_eq(v.nga, 1);
    cr_assert_eq(bo_inv_ga_available(inv, 1, T0), 8);
    cr_assert_eq(bo_inv_seat_state(inv, 3, T0 + 4), BO_SEAT_HELD);
    cr_assert_eq(bo_inv_seat_state(inv, 3, T0 + 5), BO_SEAT_AVAILABLE);
    cr_assert_eq(apply(inv, &m, T0 + 1), BO_EEXIST, "the engine's answer comes through");
}

Test(apply, each_op)
{
    int64_t t = T0;
    const uint32_t seats[] = {1, 2};
    const bo_ga_line_t ga[] = {{0, 3}};
    bo_mut_t hold = {.op = BO_MUT_HOLD,
                     .id = hid(1),
                     .customer = 5,
                     .expires_at_ms = t + TTL,
                     .amount_cents = 5000,
                     .seats = seats,
                     .nseats = 2,
                     .ga = ga,
                     .nga = 1};
    cr_assert_eq(apply(inv, &hold, t), 0);
    bo_mut_t pay = {.op = BO_MUT_PAY_START, .id = hid(1), .deadline_ms = t + 100};
    cr_assert_eq(apply(inv, &pay, t + 1), 0);
    cr_assert_eq(view(inv, 1, t + 1).status, BO_HOLD_PAYING);
    cr_assert_eq(view(inv, 1, t + 1).pay_deadline_ms, t + 100);
    bo_mut_t fail = {.op = BO_MUT_PAY_FAILED, .id = hid(1)};
    cr_assert_eq(apply(inv, &fail, t + 2), 0);
    cr_assert_eq(view(inv, 1, t + 2).status, BO_HOLD_HELD);
    cr_assert_eq(view(inv, 1, t + 2).pay_failures, 1);
    bo_mut_t confirm = {.op = BO_MUT_CONFIRM,
                        .id = hid(1),
                        .customer = 5,
                        .amount_cents = 5000,
                        .seats = seats,
                        .nseats = 2,
                        .ga = ga,
                        .nga = 1};
    cr_assert_eq(apply(inv, &confirm, t + 3), 0);
    cr_assert_eq(view(inv, 1, t + 3).status, BO_HOLD_SOLD);
    cr_assert_eq(bo_inv_seat_state(inv, 1, t + 3), BO_SEAT_SOLD);
    cr_assert_eq(bo_inv_ga_sold(inv, 0), 3);
    cr_assert_eq(apply(inv, &confirm, t + 3), BO_ESTATE);
    bo_mut_t cancel = {.op = BO_MUT_CANCEL, .id = hid(1)};
    cr_assert_eq(apply(inv, &cancel, t + 4), 0);
    cr_assert(gone(inv, 1, t + 4));
    cr_assert_eq(bo_inv_seat_state(inv, 1, t + 4), BO_SEAT_AVAILABLE);
    cr_assert_eq(bo_inv_ga_sold(inv, 0), 0);
    cr_assert_eq(apply(inv, &cancel, t + 4), BO_ENOTFOUND);

    const uint32_t blk[] = {7, 6, 8};
    bo_mut_t block = {.op = BO_MUT_BLOCK, .seats = blk, .nseats = 3};
    cr_assert_eq(apply(inv, &block, t + 5), 0);
    cr_assert_eq(bo_inv_seat_state(inv, 6, t + 5), BO_SEAT_BLOCKED);
    cr_assert_eq(apply(inv, &block, t + 5), 0, "a retried block succeeds");
    bo_mut_t unblock = {.op = BO_MUT_UNBLOCK, .seats = blk + 1, .nseats = 2};
    cr_assert_eq(apply(inv, &unblock, t + 6), 0);
    cr_assert_eq(bo_inv_seat_state(inv, 6, t + 6), BO_SEAT_AVAILABLE);
    cr_assert_eq(bo_inv_seat_state(inv, 7, t + 6), BO_SEAT_BLOCKED);
    cr_assert_eq(apply(inv, &unblock, t + 6), BO_EUNAVAILABLE, "not blocked any more");

    hold.id = hid(2);
    hold.expires_at_ms = t + 7 + TTL;
    cr_assert_eq(apply(inv, &hold, t + 7), 0);
    bo_mut_t block_held = {.op = BO_MUT_BLOCK, .seats = seats, .nseats = 2};
    cr_assert_eq(apply(inv, &block_held, t + 7), BO_EUNAVAILABLE, "held seats");
    bo_mut_t release = {.op = BO_MUT_RELEASE, .id = hid(2)};
    cr_assert_eq(apply(inv, &release, t + 8), 0);
    cr_assert(gone(inv, 2, t + 8));
    cr_assert_eq(apply(inv, &release, t + 8), BO_ENOTFOUND);
    bo_inv_counts_t c;
    bo_inv_counts(inv, t + 8, &c);
    cr_assert_eq(c.available, 19);
    cr_assert_eq(c.blocked, 1);
    cr_assert_eq(c.live_holds, 0);
}

Test(apply, late_confirm_recreates_the_sale)
{
    const uint32_t seats[] = {12};
    bo_mut_t confirm = {.op = BO_MUT_CONFIRM,
                        .id = hid(3),
                        .customer = 8,
                        .amount_cents = 2000,
                        .seats = seats,
                        .nseats = 1};
    cr_assert_eq(apply(inv, &confirm, T0), 0);
    bo_hold_view_t v = view(inv, 3, T0);
    cr_assert_eq(v.status, BO_HOLD_SOLD);
    cr_assert_eq(v.amount_cents, 2000);
    cr_assert_eq(v.customer, 8);
    cr_assert_eq(bo_inv_seat_state(inv, 12, T0), BO_SEAT_SOLD);
}

Test(apply, unknown_op)
{
    bo_mut_t m = {.op = 0, .id = hid(1)};
    cr_assert_eq(bo_mut_apply(inv, &m, T0), BO_ECORRUPT);
    m.op = 42;
    cr_assert_eq(bo_mut_apply(inv, &m, T0), BO_ECORRUPT);
    bo_inv_counts_t c;
    bo_inv_counts(inv, T0, &c);
    cr_assert_eq(c.available, 20);
}

/* ---- a logged session replays to the same state --------------------------------- */

typedef struct logged {
    uint8_t bytes[512];
    size_t len;
    int64_t at;
} logged_t;

static logged_t LOG[64];
static uint32_t nlog;

static void log_mut(const bo_mut_t *m, int64_t at)
{
    cr_assert_lt(nlog, 64);
    cr_assert_leq(bo_mut_max_size(m), sizeof(LOG[nlog].bytes));
    LOG[nlog].len = bo_mut_encode(m, LOG[nlog].bytes);
    LOG[nlog].at = at;
    nlog++;
}

/* A hold decided live (possibly best available), logged the way the live
 * layer must log it: the chosen seats, the expiry and the amount. */
static void live_hold(uint32_t id, uint64_t customer, const uint32_t *seats, uint32_t n,
                      const bo_ga_line_t *ga, uint32_t nga, uint32_t best, int64_t at)
{
    bo_hold_req_t r = {.id = hid(id),
                       .customer = customer,
                       .seats = seats,
                       .nseats = n,
                       .ga = ga,
                       .nga = nga,
                       .best_quantity = best,
                       .best_category = BO_NONE,
                       .best_section = BO_NONE};
    bo_hold_res_t res;
    cr_assert_eq(bo_inv_hold(inv, &r, at, &res), 0, "hold %u", id);
    bo_mut_t m = {.op = BO_MUT_HOLD,
                  .id = r.id,
                  .customer = customer,
                  .expires_at_ms = res.expires_at_ms,
                  .amount_cents = res.amount_cents,
                  .seats = res.seats,
                  .nseats = res.nseats,
                  .ga = ga,
                  .nga = nga};
    log_mut(&m, at);
}

static void live_simple(uint8_t op, uint32_t id, int64_t deadline, int64_t at)
{
    bo_hold_id_t h = hid(id);
    int rc, released;
    switch (op) {
    case BO_MUT_RELEASE:
        rc = bo_inv_release(inv, &h, at);
        break;
    case BO_MUT_PAY_START:
        rc = bo_inv_pay_start(inv, &h, deadline, at);
        break;
    case BO_MUT_PAY_FAILED:
        rc = bo_inv_pay_failed(inv, &h, at, &released);
        break;
    default:
        rc = bo_inv_cancel(inv, &h, at);
        break;
    }
    cr_assert_eq(rc, 0, "op %u, hold %u", op, id);
    bo_mut_t m = {.op = op, .id = h, .deadline_ms = deadline};
    log_mut(&m, at);
}

static void live_confirm(uint32_t id, uint64_t customer, const uint32_t *seats, uint32_t n,
                         const bo_ga_line_t *ga, uint32_t nga, int64_t amount, int64_t at)
{
    bo_hold_id_t h = hid(id);
    cr_assert_eq(bo_inv_confirm(inv, &h, seats, n, ga, nga, customer, amount, at), 0);
    bo_mut_t m = {.op = BO_MUT_CONFIRM,
                  .id = h,
                  .customer = customer,
                  .amount_cents = amount,
                  .seats = seats,
                  .nseats = n,
                  .ga = ga,
                  .nga = nga};
    log_mut(&m, at);
}

static void live_block(uint8_t op, const uint32_t *seats, uint32_t n, int64_t at)
{
    int rc = op == BO_MUT_BLOCK ? bo_inv_block(inv, seats, n, at, NULL)
                                : bo_inv_unblock(inv, seats, n, at, NULL);
    cr_assert_eq(rc, 0);
    bo_mut_t m = {.op = op, .seats = seats, .nseats = n};
    log_mut(&m, at);
}

static void expect_same_inventories(bo_inv_t *a, bo_inv_t *b, int64_t now)
{
    bo_inv_counts_t ca, cb;
    bo_inv_counts(a, now, &ca);
    bo_inv_counts(b, now, &cb);
    cr_assert_eq(ca.available, cb.available);
    cr_assert_eq(ca.held, cb.held);
    cr_assert_eq(ca.sold, cb.sold);
    cr_assert_eq(ca.blocked, cb.blocked);
    cr_assert_eq(ca.live_holds, cb.live_holds);
    uint8_t sa[20], sb[20];
    bo_inv_snapshot(a, now, sa);
    bo_inv_snapshot(b, now, sb);
    cr_assert_arr_eq(sa, sb, sizeof(sa));
    for (uint32_t g = 0; g < 2; g++) {
        cr_assert_eq(bo_inv_ga_available(a, g, now), bo_inv_ga_available(b, g, now));
        cr_assert_eq(bo_inv_ga_sold(a, g), bo_inv_ga_sold(b, g));
    }
    cr_assert_eq(bo_inv_next_deadline(a), bo_inv_next_deadline(b));
    for (uint32_t id = 1; id <= 12; id++) {
        bo_hold_view_t va, vb;
        bo_hold_id_t h = hid(id);
        int ra = bo_inv_get_hold(a, &h, now, &va), rb = bo_inv_get_hold(b, &h, now, &vb);
        cr_assert_eq(ra, rb, "hold %u", id);
        if (ra)
            continue;
        cr_assert_eq(va.status, vb.status, "hold %u", id);
        cr_assert_eq(va.pay_failures, vb.pay_failures, "hold %u", id);
        cr_assert_eq(va.customer, vb.customer, "hold %u", id);
        cr_assert_eq(va.expires_at_ms, vb.expires_at_ms, "hold %u", id);
        cr_assert_eq(va.pay_deadline_ms, vb.pay_deadline_ms, "hold %u", id);
        cr_assert_eq(va.amount_cents, vb.amount_cents, "hold %u", id);
        cr_assert_eq(va.nseats, vb.nseats, "hold %u", id);
        cr_assert_arr_eq(va.seats, vb.seats, va.nseats * sizeof(uint32_t), "hold %u", id);
        cr_assert_eq(va.nga, vb.nga, "hold %u", id);
        cr_assert_arr_eq(va.ga, vb.ga, va.nga * sizeof(bo_ga_line_t), "hold %u", id);
    }
}

Test(apply, a_logged_session_replays_to_the_same_state)
{
    nlog = 0;
    bo_inv_free(inv);
    inv = new_inv(6);
    const bo_ga_line_t ga1[] = {{1, 4}}, ga0[] = {{0, 2}};
    live_hold(1, 5, (const uint32_t[]){3, 4}, 2, NULL, 0, 0, T0);
    live_hold(2, 6, NULL, 0, NULL, 0, 2, T0 + 1); /* best available */
    live_hold(3, 7, (const uint32_t[]){15}, 1, ga1, 1, 0, T0 + 2);
    live_simple(BO_MUT_PAY_START, 1, T0 + 500, T0 + 3);
    live_simple(BO_MUT_PAY_FAILED, 1, 0, T0 + 4);
    live_simple(BO_MUT_PAY_START, 1, T0 + 600, T0 + 5);
    live_confirm(1, 5, NULL, 0, NULL, 0, 0, T0 + 6);
    live_block(BO_MUT_BLOCK, (const uint32_t[]){19, 18, 17}, 3, T0 + 7);
    live_block(BO_MUT_UNBLOCK, (const uint32_t[]){18}, 1, T0 + 8);
    live_simple(BO_MUT_RELEASE, 3, 0, T0 + 9);
    live_hold(4, 0, (const uint32_t[]){10}, 1, ga0, 1, 0, T0 + 10);
    live_simple(BO_MUT_PAY_START, 4, T0 + 20, T0 + 11);
    /* hold 2 expires at T0 + 1 + TTL; hold 4 is paying past its expiry */
    live_hold(5, 6, (const uint32_t[]){11}, 1, NULL, 0, 0, T0 + TTL + 10);
    live_confirm(2, 6, (const uint32_t[]){0, 1}, 2, NULL, 0, 8000, T0 + TTL + 11); /* late */
    live_simple(BO_MUT_CANCEL, 1, 0, T0 + TTL + 12);
    live_hold(6, 5, (const uint32_t[]){3}, 1, ga1, 1, 0, T0 + TTL + 13);
    live_simple(BO_MUT_PAY_START, 6, T0 + 2 * TTL, T0 + TTL + 14);
    live_simple(BO_MUT_PAY_FAILED, 6, 0, T0 + TTL + 15);
    int64_t end = T0 + TTL + 16;

    bo_inv_t *replayed = new_inv(6);
    for (uint32_t i = 0; i < nlog; i++) {
        uint32_t seats[BO_HOLD_MAX_SEATS];
        bo_ga_line_t ga[BO_HOLD_MAX_GA];
        bo_mut_t d;
        cr_assert_eq(bo_mut_decode(LOG[i].bytes, LOG[i].len, &d, seats, BO_HOLD_MAX_SEATS, ga), 0,
                     "record %u", i);
        cr_assert_eq(bo_mut_apply(replayed, &d, LOG[i].at), 0, "record %u (op %u)", i, d.op);
    }
    expect_same_inventories(inv, replayed, end);
    expect_same_inventories(inv, replayed, end + 2 * TTL);
    bo_inv_free(replayed);
}
