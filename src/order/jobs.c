/*
 * jobs.c - the worker pools of the order domain (order_internal.h
 * "jobs.c"): work that waits on a payment gateway or on a commit, which an
 * event loop must never do,
 * runs on a pool of threads. Each kind of work has its own pool, so that
 * one kind never queues behind another:
 *   pay   buyers' order steps (checkout, confirm, cancel, a hold abandoned)
 *   gate  check-in scans and staff-token changes (the doors keep moving
 *         whatever the buyers do)
 *   hook  the gateway's webhooks and the reconciler's steps
 *
 * Workload: a few hundred steps per second at most during an on-sale, each
 * mostly waiting (tens of ms for a gateway, ~1 ms for a commit); a few
 * scans per second per gate. A fixed set of threads per pool and a bounded
 * queue: past it a job is refused (the request answers 503 with
 * Retry-After and the client retries). A second step of an order is
 * refused before it is queued (order_internal.h "one step per order at a time"), so
 * one order's requests cannot fill a pool with workers parked on its lock:
 * at most one buyer step waits there, behind at most one background step.
 */
#include <stdio.h>
#include <stdlib.h>

#include "order/order_internal.h"

/* Threads and queue bound of each pool (docs/architecture.md "Threads"). */
static const struct pool_size {
    const char *name; /* thread name: "bo-pay" ... */
    int threads;
    uint32_t queue_max;
} sizes[BO_ORDER_POOL_COUNT] = {
    [BO_ORDER_POOL_PAY] = {"bo-pay", 64, 8192}, /* each mostly waits on the gateway */
    [BO_ORDER_POOL_GATE] = {"bo-gate", 4, 1024},
    [BO_ORDER_POOL_HOOK] = {"bo-hook", 8, 4096},
};

struct job {
    struct job *next;
    void (*fn)(void *arg);
    void *arg;
};

typedef struct pool {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct job *head, **tail;
    uint32_t queued, queue_max;
    bool stop;
    const char *name;
    pthread_t *threads;
    int nthreads;
} pool_t;

struct bo_jobs {
    pool_t pools[BO_ORDER_POOL_COUNT];
};

static void *worker(void *arg)
{
    pool_t *p = arg;
    pthread_setname_np(pthread_self(), p->name);
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->head && !p->stop)
            pthread_cond_wait(&p->cv, &p->mu);
        if (!p->head)
            break; /* stopping, and nothing left */
        struct job *j = p->head;
        BO_ASSERT(p->queued > 0 && p->queued <= p->queue_max);
        if (!(p->head = j->next))
            p->tail = &p->head;
        p->queued--;
        BO_ASSERT((p->head == NULL) == (p->queued == 0));
        pthread_mutex_unlock(&p->mu);
        j->fn(j->arg);
        free(j);
        pthread_mutex_lock(&p->mu);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

int bo__order_job(bo_orders_t *os, enum bo_order_pool which, void (*fn)(void *arg), void *arg)
{
    BO_ASSERT(which >= 0 && which < BO_ORDER_POOL_COUNT && fn);
    BO_ASSERT(os->jobs != NULL); /* not after bo_orders_stop */
    pool_t *p = &os->jobs->pools[which];
    struct job *j = malloc(sizeof(*j));
    if (!j)
        return BO_ENOMEM;
    *j = (struct job){NULL, fn, arg};
    pthread_mutex_lock(&p->mu);
    int rc = p->stop || p->queued >= p->queue_max ? BO_EBUSY : 0;
    if (rc == 0) {
        *p->tail = j;
        p->tail = &j->next;
        p->queued++;
        BO_ASSERT(p->queued <= p->queue_max);
        pthread_cond_signal(&p->cv);
    }
    pthread_mutex_unlock(&p->mu);
    if (rc)
        free(j);
    return rc;
}

static int pool_start(pool_t *p, const struct pool_size *size)
{
    BO_ASSERT(size->threads > 0 && size->queue_max > 0);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    p->tail = &p->head;
    p->name = size->name;
    p->queue_max = size->queue_max;
    if (!(p->threads = calloc((size_t)size->threads, sizeof(pthread_t))))
        return BO_ENOMEM;
    for (int i = 0; i < size->threads; i++)
        if (pthread_create(&p->threads[p->nthreads], NULL, worker, p) == 0)
            p->nthreads++;
    return p->nthreads ? 0 : BO_ENOMEM;
}

/* Finish the queued jobs, then stop the threads. */
static void pool_stop(pool_t *p)
{
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->nthreads; i++)
        pthread_join(p->threads[i], NULL);
    /* every queued job ran (when a thread started to run them) */
    BO_ASSERT(p->nthreads == 0 || (p->head == NULL && p->queued == 0));
    free(p->threads);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
}

struct bo_jobs *bo__order_jobs_start(void)
{
    struct bo_jobs *jobs = calloc(1, sizeof(*jobs));
    int started = 0;
    while (jobs && started < BO_ORDER_POOL_COUNT &&
           pool_start(&jobs->pools[started], &sizes[started]) == 0)
        started++;
    if (jobs && started < BO_ORDER_POOL_COUNT) {
        for (int i = 0; i <= started; i++)
            pool_stop(&jobs->pools[i]);
        free(jobs);
        return NULL;
    }
    return jobs;
}

void bo__order_jobs_stop(struct bo_jobs *jobs)
{
    if (!jobs)
        return;
    for (int i = 0; i < BO_ORDER_POOL_COUNT; i++)
        pool_stop(&jobs->pools[i]);
    free(jobs);
}
