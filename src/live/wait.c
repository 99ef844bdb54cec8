/*
 * wait.c - the waiter (live.h): a thread blocks until a live call's done
 * ran. The one way to wait for the live layer: order steps on worker
 * threads, the demo's seeding, tools and tests.
 *
 * Workload: one wait per order step (a few per checkout) and per tool
 * call; the wake-up is one signal under an uncontended mutex.
 */
#include <stdlib.h>

#include "boxoffice/live.h"
#include "util/assert.h"

void bo_live_wait_init(bo_live_wait_t *w)
{
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    w->ready = 0;
}

void bo_live_wait_destroy(bo_live_wait_t *w)
{
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
}

bo_live_wait_t *bo_live_wait_new(void)
{
    bo_live_wait_t *w = calloc(1, sizeof(*w));
    if (w)
        bo_live_wait_init(w);
    return w;
}

void bo_live_wait_free(bo_live_wait_t *w)
{
    if (!w)
        return;
    bo_live_wait_destroy(w);
    free(w);
}

void bo_live_wait_done(void *arg, const bo_live_result_t *r)
{
    bo_live_wait_t *w = arg;
    pthread_mutex_lock(&w->mu);
    BO_ASSERT(!w->ready); /* a call answers exactly once */
    w->r = *r;
    w->ready = 1;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

int bo_live_wait(bo_live_wait_t *w, bo_live_result_t *r)
{
    pthread_mutex_lock(&w->mu);
    while (!w->ready)
        pthread_cond_wait(&w->cv, &w->mu);
    w->ready = 0;
    if (r)
        *r = w->r;
    int status = w->r.status;
    pthread_mutex_unlock(&w->mu);
    return status;
}
