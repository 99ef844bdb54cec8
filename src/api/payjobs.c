/*
 * payjobs.c - the payment worker threads (order.h): every step of an order
 * (checkout, confirm, webhook, cancel, check-in, reconciliation) runs here,
 * since it waits on the gateway (tens of ms, seconds when it is slow) and
 * on its commit, which an event loop must never do.
 *
 * Workload: a few hundred steps per second at most during an on-sale, each
 * mostly waiting; a fixed pool of threads and a bounded queue (past it, a
 * step answers 503 and the client retries).
 */
#include <stdlib.h>

#include "api/order.h"

#define PAY_WORKERS   64 /* each mostly waits (gateway, commit) */
#define PAY_QUEUE_MAX 8192

struct job {
    struct job *next;
    void (*fn)(void *arg);
    void *arg;
};

struct bo_payjobs {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct job *head, **tail;
    uint32_t queued;
    bool stop;
    pthread_t threads[PAY_WORKERS];
    int nthreads;
};

static void *worker(void *arg)
{
    struct bo_payjobs *p = arg;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->head && !p->stop)
            pthread_cond_wait(&p->cv, &p->mu);
        if (!p->head)
            break; /* stopping, and nothing left */
        struct job *j = p->head;
        if (!(p->head = j->next))
            p->tail = &p->head;
        p->queued--;
        pthread_mutex_unlock(&p->mu);
        j->fn(j->arg);
        free(j);
        pthread_mutex_lock(&p->mu);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

int bo__pay_job(bo_api_t *api, void (*fn)(void *arg), void *arg)
{
    struct bo_payjobs *p = api->payjobs;
    struct job *j = malloc(sizeof(*j));
    if (!j)
        return BO_ENOMEM;
    *j = (struct job){NULL, fn, arg};
    pthread_mutex_lock(&p->mu);
    int rc = p->stop || p->queued >= PAY_QUEUE_MAX ? BO_EBUSY : 0;
    if (rc == 0) {
        *p->tail = j;
        p->tail = &j->next;
        p->queued++;
        pthread_cond_signal(&p->cv);
    }
    pthread_mutex_unlock(&p->mu);
    if (rc)
        free(j);
    return rc;
}

struct bo_payjobs *bo__payjobs_start(void)
{
    struct bo_payjobs *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    p->tail = &p->head;
    for (int i = 0; i < PAY_WORKERS; i++)
        if (pthread_create(&p->threads[p->nthreads], NULL, worker, p) == 0)
            p->nthreads++;
    return p;
}

/* Finish the queued steps, then stop the threads. */
void bo__payjobs_stop(struct bo_payjobs *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->nthreads; i++)
        pthread_join(p->threads[i], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p);
}
