/*
 * order_report.c - an event's order figures for GET /api/v1/events/{id}/report
 * (order_internal.h "bo__order_sales"): orders by status, tickets checked
 * in, and sales by the hour they were paid.
 *
 * Workload: an admin's report now and then; it reads the event's stored
 * order figures (every order ever made, never their bodies) or, when every
 * order is in memory, the orders themselves.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "order/order_internal.h"
#include "util/time.h"

/* ---- reports ------------------------------------------------------------------ */

#define HOUR_MS   (3600 * 1000LL)
#define MAX_HOURS 24 * 366 /* buckets kept: a year of hourly sales */

struct sales {
    uint64_t event;
    uint32_t by_status[BO_ORDER_NSTATUS];
    uint64_t checked_in;
    struct bucket {
        int64_t hour_ms;
        uint64_t orders, tickets;
        int64_t revenue;
    } * b;
    size_t n, cap;
};

static struct bucket *bucket_of(struct sales *s, int64_t hour_ms)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->b[i].hour_ms == hour_ms)
            return &s->b[i];
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 16;
        struct bucket *b = cap <= MAX_HOURS ? realloc(s->b, cap * sizeof(*b)) : NULL;
        if (!b)
            return NULL;
        s->b = b;
        s->cap = cap;
    }
    s->b[s->n] = (struct bucket){hour_ms, 0, 0, 0};
    return &s->b[s->n++];
}

/* o's figures (locked, or a copy of its own). */
static void count_sales(struct sales *s, bo_order_t *o)
{
    BO_ASSERT(bo_mutex_held(&o->mu) && o->status >= 0 && o->status < BO_ORDER_NSTATUS);
    s->by_status[o->status]++;
    for (uint32_t i = 0; i < o->ntickets; i++)
        s->checked_in += o->tickets[i].checked_in_ms != 0;
    struct bucket *b = o->paid_ms ? bucket_of(s, o->paid_ms - o->paid_ms % HOUR_MS) : NULL;
    if (b) {
        b->orders++;
        b->tickets += o->ntickets;
        b->revenue += o->amount_cents;
    }
}

static int add_sales(void *arg, bo_order_t *o)
{
    struct sales *s = arg;
    if (o->event != s->event)
        return 0;
    pthread_mutex_lock(&o->mu);
    count_sales(s, o);
    pthread_mutex_unlock(&o->mu);
    return 0;
}

/* An order of the event as stored (every order, in memory or not: each
 * step's outcome is committed before the step ends): its status and
 * figures (order_doc_keys), never its body. */
static int add_stored_sales(void *arg, const char *tag, const char *figures)
{
    struct sales *s = arg;
    long long paid_ms, amount;
    unsigned ntickets, in;
    int st = bo__order_status_of(tag);
    if (st < 0 || sscanf(figures, "%lld %u %lld %u", &paid_ms, &ntickets, &amount, &in) != 4)
        return 0; /* a later version's: not counted */
    s->by_status[st]++;
    s->checked_in += in;
    struct bucket *b = paid_ms ? bucket_of(s, paid_ms - paid_ms % HOUR_MS) : NULL;
    if (b) {
        b->orders++;
        b->tickets += ntickets;
        b->revenue += amount;
    }
    return 0;
}

static int by_hour(const void *a, const void *b)
{
    int64_t x = ((const struct bucket *)a)->hour_ms, y = ((const struct bucket *)b)->hour_ms;
    return x < y ? -1 : x > y;
}

void bo__order_sales(bo_orders_t *os, uint64_t event, json_t *report)
{
    struct sales s = {.event = event};
    char evt[BO_ID_EVENT_LEN + 1];
    bo_id_event(evt, event);
    bo_store_t *store = bo__order_book_store(os);
    if (store)
        bo_store_doc_each(store, "order", evt, add_stored_sales, &s);
    else
        bo__order_each(os, add_sales, &s);
    if (s.n) /* qsort takes no NULL, even for nothing */
        qsort(s.b, s.n, sizeof(*s.b), by_hour);
    json_t *status = json_object(), *series = json_array();
    for (int i = 0; i < BO_ORDER_NSTATUS; i++)
        json_object_set_new(status, bo__order_status_name(i), json_integer(s.by_status[i]));
    for (size_t i = 0; i < s.n; i++)
        json_array_append_new(series, json_pack("{sosIsIsI}", "at", bo_time_json(s.b[i].hour_ms),
                                                "orders", (json_int_t)s.b[i].orders, "tickets",
                                                (json_int_t)s.b[i].tickets, "revenue_cents",
                                                (json_int_t)s.b[i].revenue));
    json_object_set_new(report, "orders", status);
    json_object_set_new(report, "checked_in", json_integer((json_int_t)s.checked_in));
    json_object_set_new(report, "sales_over_time", series);
    free(s.b);
}
