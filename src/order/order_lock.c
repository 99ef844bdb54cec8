/*
 * order_lock.c - one step of an order at a time, and readers that never
 * wait for it (order_internal.h): the step flags, the order's lock, and the
 * copy a step publishes as it begins, which readers render meanwhile.
 *
 * Workload: a lock and a copy (~2 KB with tickets) per step; a GET renders
 * the order or its published copy and waits only on short holders.
 */
#include <sched.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "order/order_internal.h"

/* ---- one step at a time, readers never wait for it ------------------------ */

void bo__order_init(bo_order_t *o)
{
    pthread_mutex_init(&o->mu, NULL);
    pthread_mutex_init(&o->shown_mu, NULL);
    o->saved_status = -1;
}

void bo__order_step_done(bo_order_t *o)
{
    int was = __atomic_exchange_n(&o->step, 0, __ATOMIC_RELEASE);
    BO_ASSERT(was == 1); /* only the step that took the flag gives it back */
    (void)was;
}

void bo__order_background_done(bo_order_t *o)
{
    int was = __atomic_exchange_n(&o->background, 0, __ATOMIC_RELEASE);
    BO_ASSERT(was == 1);
    (void)was;
}

/* The fields a copy takes: from id up to refs (the locks and step flags
 * before, and the pins, written under the book's lock, are not the
 * order's content). */
#define SHOWN_FROM offsetof(bo_order_t, id)
#define SHOWN_SIZE (offsetof(bo_order_t, refs) - SHOWN_FROM)

static void shown_free(bo_order_t *copy)
{
    if (copy)
        free(copy->tickets);
    free(copy);
}

/* A copy of o's content (o locked), or NULL when out of memory. */
static bo_order_t *shown_new(bo_order_t *o)
{
    BO_ASSERT(bo_mutex_held(&o->mu));
    bo_order_t *copy = calloc(1, sizeof(*copy));
    if (!copy)
        return NULL;
    memcpy((char *)copy + SHOWN_FROM, (const char *)o + SHOWN_FROM, SHOWN_SIZE);
    copy->published = true;
    copy->tickets = NULL;
    if (o->ntickets && !(copy->tickets = malloc(o->ntickets * sizeof(*o->tickets)))) {
        free(copy);
        return NULL;
    }
    if (o->ntickets)
        memcpy(copy->tickets, o->tickets, o->ntickets * sizeof(*o->tickets));
    return copy;
}

static void publish(bo_order_t *o, bo_order_t *copy)
{
    pthread_mutex_lock(&o->shown_mu);
    bo_order_t *old = o->shown;
    o->shown = copy;
    pthread_mutex_unlock(&o->shown_mu);
    shown_free(old);
}

void bo__order_lock(bo_orders_t *os, bo_order_t *o)
{
    (void)os;
    /* a step locks its order once (a second lock would deadlock), and
     * never inside its shown_mu, which readers take under trylock only */
    BO_ASSERT(!bo_mutex_held(&o->mu) && !bo_mutex_held(&o->shown_mu));
    pthread_mutex_lock(&o->mu);
    /* out of memory: no copy, and readers wait for the step instead */
    publish(o, shown_new(o));
}

void bo__order_unpublish(bo_order_t *o)
{
    BO_ASSERT(bo_mutex_held(&o->mu));
    publish(o, NULL);
}

void bo__order_unlock(bo_order_t *o)
{
    BO_ASSERT(bo_mutex_held(&o->mu));
    publish(o, NULL);
    pthread_mutex_unlock(&o->mu);
}

/* The published copy rendered, or NULL when none (or out of memory). */
static char *shown_render(bo_orders_t *os, bo_order_t *o, size_t *len)
{
    char *text = NULL;
    pthread_mutex_lock(&o->shown_mu);
    if (o->shown)
        text = bo__order_render(os, o->shown, true, len);
    pthread_mutex_unlock(&o->shown_mu);
    return text;
}

#define READ_SPINS 200 /* yields before a reader waits on the lock */

char *bo__order_read(bo_orders_t *os, bo_order_t *o, size_t *len)
{
    char *text;
    BO_ASSERT(os != NULL && o != NULL && len != NULL);
    BO_ASSERT(!bo_mutex_held(&o->mu)); /* a reader, not a step: it would wait on itself */
    for (int i = 0; i < READ_SPINS; i++) {
        if (pthread_mutex_trylock(&o->mu) == 0)
            goto render;
        if ((text = shown_render(os, o, len)))
            return text;
        sched_yield(); /* a step between its lock and its publish, or a scan */
    }
    pthread_mutex_lock(&o->mu);
render:
    text = bo__order_render(os, o, true, len);
    pthread_mutex_unlock(&o->mu);
    return text;
}
