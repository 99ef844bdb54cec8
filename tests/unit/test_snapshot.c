/*
 * test_snapshot.c - snapshots of an inventory (engine.h bo_inv_export,
 * bo_inv_import) and of live events through the store: a snapshot restores
 * exactly the state it was taken from, drops the log it covers, and bad
 * bytes are refused.
 */
#include <criterion/criterion.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "boxoffice/error.h"
#include "helpers/live_fixture.h"

static bo_layout_t *venue(void)
{
    bo_venue_gen_t g = {
        .sections = 3, .rows = 5, .seats = 8, .ga_areas = 2, .ga_capacity = 30, .categories = 3};
    size_t len;
    char *json = bo_venue_generate(&g, &len);
    bo_layout_t *l = NULL;
    cr_assert_eq(bo_layout_parse(json, len, &l, NULL), 0);
    free(json);
    return l;
}

static uint64_t rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Random holds, payments, sales, blocks; time moves so some holds expire. */
static void churn(bo_inv_t *inv, const bo_layout_t *l, uint64_t seed, int64_t *now)
{
    bo_hold_res_t res;
    for (int i = 0; i < 3000; i++) {
        uint32_t seats[3] = {(uint32_t)(rnd(&seed) % l->nseats), 0, 0};
        seats[1] = (seats[0] + 1) % l->nseats;
        seats[2] = (seats[0] + 2) % l->nseats;
        bo_ga_line_t ga = {(uint32_t)(rnd(&seed) % l->nga), 1 + (uint32_t)(rnd(&seed) % 3)};
        bo_hold_id_t id = fx_id(rnd(&seed) % 500);
        int released, op = (int)(rnd(&seed) % 9);
        bo_hold_req_t req = {.id = id,
                             .customer = rnd(&seed) % 4,
                             .seats = seats,
                             .nseats = 1 + (uint32_t)(rnd(&seed) % 3),
                             .ga = &ga,
                             .nga = op == 1,
                             .best_category = BO_NONE,
                             .best_section = BO_NONE};
        if (op <= 2)
            bo_inv_hold(inv, &req, *now, &res);
        else if (op == 3)
            bo_inv_pay_start(inv, &id, *now + 60000, *now);
        else if (op == 4)
            bo_inv_confirm(inv, &id, NULL, 0, NULL, 0, 0, 0, *now);
        else if (op == 5)
            bo_inv_pay_failed(inv, &id, *now, &released);
        else if (op == 6)
            bo_inv_block(inv, seats, 1, *now, NULL);
        else if (op == 7)
            bo_inv_release(inv, &id, *now);
        else
            bo_inv_cancel(inv, &id, *now);
        *now += (int64_t)(rnd(&seed) % 200);
    }
}

static void expect_equal(const bo_inv_t *a, const bo_inv_t *b, int64_t now)
{
    const bo_layout_t *l = bo_inv_layout(a);
    bo_inv_counts_t ca, cb;
    bo_inv_counts(a, now, &ca);
    bo_inv_counts(b, now, &cb);
    cr_assert_eq(ca.available, cb.available);
    cr_assert_eq(ca.held, cb.held);
    cr_assert_eq(ca.sold, cb.sold);
    cr_assert_eq(ca.blocked, cb.blocked);
    cr_assert_eq(ca.live_holds, cb.live_holds);
    for (uint32_t s = 0; s < l->nseats; s++)
        cr_assert_eq(bo_inv_seat_state(a, s, now), bo_inv_seat_state(b, s, now), "seat %u", s);
    for (uint32_t g = 0; g < l->nga; g++) {
        cr_assert_eq(bo_inv_ga_available(a, g, now), bo_inv_ga_available(b, g, now));
        cr_assert_eq(bo_inv_ga_sold(a, g), bo_inv_ga_sold(b, g));
    }
    for (uint64_t n = 0; n < 500; n++) {
        bo_hold_id_t id = fx_id(n);
        bo_hold_view_t va, vb;
        int ra = bo_inv_get_hold(a, &id, now, &va), rb = bo_inv_get_hold(b, &id, now, &vb);
        cr_assert_eq(ra, rb, "hold %llu", (unsigned long long)n);
        if (ra)
            continue;
        cr_assert_eq(va.status, vb.status);
        cr_assert_eq(va.pay_failures, vb.pay_failures);
        cr_assert_eq(va.customer, vb.customer);
        cr_assert_eq(va.expires_at_ms, vb.expires_at_ms);
        cr_assert_eq(va.pay_deadline_ms, vb.pay_deadline_ms);
        cr_assert_eq(va.amount_cents, vb.amount_cents);
        cr_assert_eq(va.nseats, vb.nseats);
        cr_assert_eq(memcmp(va.seats, vb.seats, va.nseats * sizeof(uint32_t)), 0);
        cr_assert_eq(va.nga, vb.nga);
        cr_assert_eq(memcmp(va.ga, vb.ga, va.nga * sizeof(bo_ga_line_t)), 0);
    }
}

Test(snapshot, import_restores_the_exported_state)
{
    bo_layout_t *l = venue();
    bo_inv_config_t cfg = {
        .hold_ttl_ms = 20000, .per_customer_limit = 12, .price_cents = {100, 200, 300, 400}};
    for (uint64_t seed = 1; seed <= 20; seed++) {
        bo_inv_t *a, *b;
        int64_t now = 1000000;
        cr_assert_eq(bo_inv_new(l, &cfg, &a), 0);
        churn(a, l, seed * 7919, &now);
        uint8_t *buf;
        size_t len;
        cr_assert_eq(bo_inv_export(a, now, &buf, &len), 0);
        cr_assert_eq(bo_inv_new(l, &cfg, &b), 0);
        cr_assert_eq(bo_inv_import(b, buf, len), 0, "seed %llu", (unsigned long long)seed);
        expect_equal(a, b, now);
        /* Both go on alike: the expiry heaps, limits and counters came along. */
        int64_t later = now;
        churn(a, l, seed, &now);
        churn(b, l, seed, &later);
        expect_equal(a, b, now);
        free(buf);
        bo_inv_free(a);
        bo_inv_free(b);
    }
    bo_layout_free(l);
}

Test(snapshot, bad_bytes_are_refused)
{
    bo_layout_t *l = venue();
    bo_inv_config_t cfg = {.hold_ttl_ms = 20000};
    bo_inv_t *a, *b;
    int64_t now = 1000000;
    cr_assert_eq(bo_inv_new(l, &cfg, &a), 0);
    churn(a, l, 99, &now);
    uint8_t *buf;
    size_t len;
    cr_assert_eq(bo_inv_export(a, now, &buf, &len), 0);
    for (size_t cut = 0; cut < len; cut += 1 + len / 50) {
        cr_assert_eq(bo_inv_new(l, &cfg, &b), 0);
        cr_assert_eq(bo_inv_import(b, buf, cut), BO_ECORRUPT, "cut at %zu of %zu", cut, len);
        bo_inv_free(b);
    }
    cr_assert_eq(bo_inv_new(l, &cfg, &b), 0);
    cr_assert_eq(bo_inv_import(b, buf, len), 0);
    cr_assert_eq(bo_inv_import(b, buf, len), BO_ECORRUPT, "only into a fresh inventory");
    bo_inv_free(b);
    buf[0] = 99;
    cr_assert_eq(bo_inv_new(l, &cfg, &b), 0);
    cr_assert_eq(bo_inv_import(b, buf, len), BO_ECORRUPT, "unknown version");
    bo_inv_free(b);
    free(buf);
    bo_inv_free(a);
    bo_layout_free(l);
}

static int64_t count_rows(const char *path, const char *sql)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    cr_assert_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
    int64_t n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

Test(snapshot, live_events_snapshot_and_drop_their_log)
{
    bo_manual_clock_t clk;
    bo_manual_clock_init(&clk, 1700000000000);
    char *path, *url = fx_temp_db(&path);
    bo_live_t *live;
    cr_assert_eq(bo_live_open(url, &clk.base, &live), 0);
    bo_live_set_snapshot_every(live, 50);
    cr_assert_eq(fx_venue_event(live, 1, 2, 2, 4, 10, 1, 40, 60000, 0), 0);
    for (uint32_t i = 0; i < 400; i++) {
        uint32_t seat = i % 80;
        int rc = fx_hold_seats(live, 2, fx_id(i), &seat, 1, NULL);
        if (rc == 0 && i % 3 == 0)
            cr_assert_eq(fx_release(live, 2, fx_id(i)), 0);
        if (rc == 0 && i % 3 == 1) {
            cr_assert_eq(fx_pay_start(live, 2, fx_id(i), clk.now + 60000), 0);
            cr_assert_eq(fx_confirm(live, 2, fx_id(i)), 0);
        }
        if (i % 7 == 0)
            bo_manual_clock_advance(&clk, 20000); /* some holds expire */
    }
    fx_state_t before, after;
    fx_capture(live, 2, &before);
    bo_live_close(live);
    cr_assert_leq(count_rows(path, "SELECT count(*) FROM log"), 50,
                  "the log before the last snapshot is gone");
    cr_assert_eq(count_rows(path, "SELECT count(*) FROM snapshots"), 1);
    cr_assert_eq(bo_live_open(url, &clk.base, &live), 0);
    fx_capture(live, 2, &after);
    cr_assert(fx_state_eq(&before, &after));
    cr_assert_gt(after.counts.sold, 0);
    fx_state_free(&before);
    fx_state_free(&after);
    bo_live_close(live);
    fx_remove_db(path);
    free(url);
    free(path);
}
