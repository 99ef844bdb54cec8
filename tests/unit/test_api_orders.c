/*
 * test_api_orders.c - the order book's bookkeeping (src/api/order_book.c):
 * counts by status and the set of unsettled orders (pending payment or
 * refund) follow every status change, so that the reconciler and /metrics
 * read a few orders and counters instead of every order ever made.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "order/order_internal.h"

static bo_orders_t api;

static void setup(void)
{
    memset(&api, 0, sizeof(api));
    api.orders = bo__order_book_new();
    cr_assert_not_null(api.orders);
}

static void teardown(void)
{
    bo__order_book_free(api.orders); /* frees the orders added */
}

TestSuite(orders, .init = setup, .fini = teardown);

/* A new order (id, its own hold) with status, added to the book. */
static bo_order_t *add(uint64_t id, int status)
{
    bo_order_t *o = calloc(1, sizeof(*o)), *existing = NULL;
    cr_assert_not_null(o);
    bo__order_init(o);
    o->id = id;
    o->event = 7;
    memcpy(o->hold.b, &id, sizeof(id));
    bo__order_set_status(o, status); /* before it is added: not counted yet */
    cr_assert_eq(bo__order_add(&api, o, &existing), 0);
    return o;
}

static int collect(void *arg, bo_order_t *o)
{
    uint64_t *ids = arg;
    ids[ids[0] + 1] = o->id;
    ids[0]++;
    return 0;
}

/* The unsettled orders' ids, ascending, after their count in ids[0]. */
static void unsettled(uint64_t ids[16])
{
    memset(ids, 0, 16 * sizeof(*ids));
    cr_assert_eq(bo__order_each_unsettled(&api, collect, ids), 0);
    for (uint64_t i = 1; i <= ids[0]; i++) /* a few: insertion sort */
        for (uint64_t k = i; k > 1 && ids[k - 1] > ids[k]; k--) {
            uint64_t t = ids[k];
            ids[k] = ids[k - 1];
            ids[k - 1] = t;
        }
}

static void expect_counts(uint64_t pending, uint64_t paid, uint64_t refund_pending,
                          uint64_t refunded, uint64_t expired)
{
    uint64_t by[BO_ORDER_NSTATUS];
    bo__order_counts(&api, by);
    cr_assert_eq(by[BO_ORDER_PENDING], pending);
    cr_assert_eq(by[BO_ORDER_PAID], paid);
    cr_assert_eq(by[BO_ORDER_REFUND_PENDING], refund_pending);
    cr_assert_eq(by[BO_ORDER_REFUNDED], refunded);
    cr_assert_eq(by[BO_ORDER_EXPIRED], expired);
    cr_assert_eq(by[BO_ORDER_FAILED] + by[BO_ORDER_CANCELED] + by[BO_ORDER_REFUNDED_UNAVAILABLE],
                 0);
}

Test(orders, counts_and_the_unsettled_set_follow_every_status_change)
{
    uint64_t ids[16];
    bo_order_t *a = add(1, BO_ORDER_PENDING);
    bo_order_t *b = add(2, BO_ORDER_PENDING);
    bo_order_t *c = add(3, BO_ORDER_PAID); /* loaded from the store already paid */
    expect_counts(2, 1, 0, 0, 0);
    unsettled(ids);
    cr_assert_eq(ids[0], 2);
    cr_assert_eq(ids[1], 1);
    cr_assert_eq(ids[2], 2);

    bo__order_set_status(a, BO_ORDER_PAID);
    bo__order_set_status(a, BO_ORDER_PAID); /* no change: counted once */
    bo__order_set_status(b, BO_ORDER_EXPIRED);
    expect_counts(0, 2, 0, 0, 1);
    unsettled(ids);
    cr_assert_eq(ids[0], 0, "nothing left to reconcile");

    bo__order_set_status(c, BO_ORDER_REFUND_PENDING); /* a cancel whose refund waits */
    expect_counts(0, 1, 1, 0, 1);
    unsettled(ids);
    cr_assert_eq(ids[0], 1);
    cr_assert_eq(ids[1], 3);
    bo__order_set_status(c, BO_ORDER_PAID); /* the refund was refused: back */
    bo__order_set_status(c, BO_ORDER_REFUND_PENDING);
    bo__order_set_status(c, BO_ORDER_REFUNDED);
    expect_counts(0, 1, 0, 1, 1);
    unsettled(ids);
    cr_assert_eq(ids[0], 0);
    cr_assert_eq(bo__order_status(c), BO_ORDER_REFUNDED);
}

Test(orders, a_second_order_of_one_hold_is_refused_and_not_counted)
{
    bo_order_t *a = add(1, BO_ORDER_PENDING), *existing = NULL;
    bo_order_t *dup = calloc(1, sizeof(*dup));
    cr_assert_not_null(dup);
    dup->id = 9;
    dup->event = a->event;
    dup->hold = a->hold;
    bo__order_set_status(dup, BO_ORDER_PENDING);
    cr_assert_eq(bo__order_add(&api, dup, &existing), BO_EEXIST);
    cr_assert_eq(existing, a);
    bo__order_set_status(dup, BO_ORDER_PAID); /* not in the book: nothing moves */
    expect_counts(1, 0, 0, 0, 0);
    free(dup);
}

Test(orders, many_settled_orders_leave_the_unsettled_set_small)
{
    uint64_t ids[16];
    for (uint64_t id = 1; id <= 20000; id++) {
        bo_order_t *o = add(id, BO_ORDER_PENDING);
        if (id % 5000 != 0)
            bo__order_set_status(o, id % 2 ? BO_ORDER_PAID : BO_ORDER_EXPIRED);
    }
    expect_counts(4, 10000, 0, 0, 9996); /* odd ids paid, even ones expired */
    unsettled(ids);
    cr_assert_eq(ids[0], 4);
    cr_assert_eq(ids[1], 5000);
    cr_assert_eq(ids[4], 20000);
}
