/*
 * store.c - the generic half of the store: the URL dispatch to a backend,
 * the submission queue, the group committer thread, cancel, flush and stats.
 * The backends (sqlite.c, pg.c) only turn one batch into one transaction;
 * one on a network connection may be unavailable for a while (ops->ready):
 * then submissions are refused at once and the idle committer pokes it
 * (ops->poke) so that it reconnects.
 *
 * Workload: every hold and release submits one record from a request thread
 * (~10^5/s during an on-sale) while one committer thread turns them into
 * ~1 ms fsync'd transactions of hundreds to thousands of records. So
 * submission is one mutex, an append to a singly-linked list and a signal
 * only when the committer sleeps; the committer holds the mutex only to
 * detach the list (O(1) unless more than a batch is queued). Under load a
 * commit begins at most every COMMIT_PERIOD_US (linger): a commit's fixed
 * cost, the fsync, is most of the committer's CPU, which the request
 * threads share. Cancel and flush are rare (after a failed commit, tests,
 * shutdown) and may walk the queue.
 *
 * Callbacks (rec->done) always run without the mutex, so they may submit or
 * cancel. Each record carries a ticket (its submission number): flush waits
 * until no record with a ticket up to its own is queued, committing or being
 * cancelled.
 */
#include "boxoffice/store.h"
#include "boxoffice/error.h"
#include "util/assert.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>

#define BUSY_BATCH       32   /* records: a batch this big means requests queue up */
#define COMMIT_PERIOD_US 2000 /* under load, at most one commit begins per period */
#define LINGER_FULL      1024 /* records: a batch this big commits at once */

/* The hooks around a batch's done callbacks (bo_store_set_batch_hooks). */
struct hooks {
    void (*before)(void), (*after)(void);
};

struct bo_store {
    const bo_store_ops_t *ops;
    void *backend;           /* owned: ops->close frees it */
    pthread_mutex_t mu;      /* guards every field below but batch */
    pthread_cond_t wake;     /* the committer sleeps here on an empty queue */
    pthread_cond_t progress; /* bo_store_flush waits here */
    bo_rec_t *head, *tail;   /* queued, in submission order */
    uint32_t nqueued;
    uint32_t inject;          /* batches still to fail on purpose */
    uint32_t inject_delay_ms; /* how long each of them takes to fail */
    uint32_t cancelling;      /* bo_store_cancel calls completing records now */
    uint32_t flushers;        /* threads waiting in bo_store_flush */
    uint64_t last_ticket;     /* ticket of the latest submitted record */
    uint64_t inflight_ticket; /* first ticket of the batch being committed, 0: none */
    bool sleeping;            /* the committer waits on wake */
    bool lingering;           /* the committer waits on wake for a fuller batch */
    bool started, closing;
    struct hooks hooks; /* read with each batch */
    pthread_t thread;
    bo_store_stats_t stats;              /* pending is filled in by get_stats */
    bo_rec_t *batch[BO_STORE_MAX_BATCH]; /* the committer's alone */
};

/* Backends by URL prefix; skip says how much of the URL is not the backend's
 * (the PostgreSQL backend takes the whole URL as its conninfo). */
static const struct {
    const char *prefix;
    size_t skip;
    int (*open)(const char *rest, const bo_store_ops_t **ops, void **backend);
    int (*check)(const char *rest, char *why, size_t cap);
} backends[] = {
    {"sqlite:", 7, bo__sqlite_open, bo__sqlite_check},
    {"postgresql://", 0, bo__pg_open, bo__pg_check},
    {"postgres://", 0, bo__pg_open, bo__pg_check},
};
#define NBACKENDS (sizeof(backends) / sizeof(backends[0]))

/* The backend of url, or NBACKENDS for none. */
static size_t backend_of(const char *url)
{
    size_t i;
    for (i = 0; url && i < NBACKENDS; i++)
        if (strncmp(url, backends[i].prefix, strlen(backends[i].prefix)) == 0)
            break;
    return i < NBACKENDS && url[strlen(backends[i].prefix)] != '\0' ? i : NBACKENDS;
}

int bo_store_check(const char *url, char *why, size_t cap)
{
    size_t i = backend_of(url);
    if (i == NBACKENDS) {
        snprintf(why, cap, "not a store URL");
        return BO_EINVAL;
    }
    return backends[i].check(url + backends[i].skip, why, cap);
}

int bo_store_open(const char *url, bo_store_t **out)
{
    bo_store_t *s = NULL;
    int rc = BO_EINVAL;
    size_t i = backend_of(url);

    *out = NULL;
    if (i == NBACKENDS)
        goto out;
    rc = BO_ENOMEM;
    s = calloc(1, sizeof(*s));
    if (!s)
        goto out;
    rc = backends[i].open(url + backends[i].skip, &s->ops, &s->backend);
    if (rc)
        goto out;
    pthread_mutex_init(&s->mu, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC); /* linger deadlines are monotonic */
    pthread_cond_init(&s->wake, &attr);
    pthread_condattr_destroy(&attr);
    pthread_cond_init(&s->progress, NULL);
    *out = s; /* the caller owns it now */
    s = NULL;
out:
    free(s);
    return rc;
}

int bo_store_load(bo_store_t *s, const bo_store_visitor_t *v, void *ctx)
{
    bool started;

    pthread_mutex_lock(&s->mu);
    started = s->started;
    pthread_mutex_unlock(&s->mu);
    /* Before start only the opener touches the backend. */
    return started ? BO_ESTATE : s->ops->load(s->backend, v, ctx);
}

static uint64_t now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Detach up to BO_STORE_MAX_BATCH queued records (at least one is queued)
 * and return the first; they stay linked through next. Called locked. */
static bo_rec_t *detach(bo_store_t *s, size_t *n)
{
    bo_rec_t *first = s->head, *last = first;

    BO_ASSERT(bo_mutex_held(&s->mu));
    BO_ASSERT(first != NULL && s->nqueued > 0 && s->inflight_ticket == 0); /* one batch at a time */
    if (s->nqueued <= BO_STORE_MAX_BATCH) {
        *n = s->nqueued;
        s->head = s->tail = NULL;
    } else {
        *n = BO_STORE_MAX_BATCH;
        for (size_t i = 1; i < *n; i++)
            last = last->next;
        s->head = last->next;
        last->next = NULL;
    }
    BO_ASSERT(*n > 0 && *n <= BO_STORE_MAX_BATCH && (s->head == NULL) == (*n == s->nqueued));
    s->nqueued -= (uint32_t)*n;
    s->inflight_ticket = first->ticket;
    return first;
}

/* Commit one detached batch (unless fail) and complete its records in
 * order. Unlocked: the batch is the committer's alone. Returns the status. */
static int run_batch(bo_store_t *s, bo_rec_t *first, size_t n, bool fail, struct hooks h,
                     uint64_t *us)
{
    size_t i = 0;
    int status = BO_EIO;
    uint64_t t0;

    BO_ASSERT(!bo_mutex_held(&s->mu)); /* the commit runs unlocked */
    for (bo_rec_t *r = first; r; r = r->next) {
        BO_ASSERT(i < n && r->done != NULL);
        BO_ASSERT(r->kind >= BO_REC_VENUE && r->kind <= BO_REC_DOCS);
        s->batch[i++] = r;
    }
    BO_ASSERT(i == n);
    *us = 0;
    if (fail && s->inject_delay_ms)
        usleep(s->inject_delay_ms * 1000u); /* a disk that times out, then fails */
    if (!fail) {
        t0 = now_us();
        status = s->ops->commit(s->backend, s->batch, n);
        *us = now_us() - t0;
    }
    /* done may free or resubmit the record: touch it no more afterwards. */
    if (h.before)
        h.before();
    for (i = 0; i < n; i++)
        s->batch[i]->done(s->batch[i], status);
    if (h.after)
        h.after();
    return status;
}

/* Called locked, after a batch of n completed with status. */
static void account(bo_store_t *s, size_t n, int status, uint64_t us)
{
    unsigned bucket = 0;

    BO_ASSERT(bo_mutex_held(&s->mu) && s->inflight_ticket != 0);
    if (status == 0) {
        s->stats.commits++;
        s->stats.records += n;
    } else {
        s->stats.commit_failures++;
    }
    s->stats.commit_us_total += us;
    if (n > s->stats.max_batch)
        s->stats.max_batch = n;
    while (bucket < 15 && (n >> (bucket + 1)) != 0)
        bucket++;
    s->stats.batch_hist[bucket]++;
    for (bucket = 0; bucket < BO_STORE_COMMIT_BUCKETS - 1; bucket++)
        if (us <= (uint64_t)BO_STORE_COMMIT_US_FIRST << bucket)
            break;
    s->stats.commit_us_hist[bucket]++;
    s->inflight_ticket = 0;
    if (s->flushers)
        pthread_cond_broadcast(&s->progress);
}

/*
 * Under load, let the next batch fill up until COMMIT_PERIOD_US after the
 * previous commit began (or LINGER_FULL records are queued): each commit
 * costs about 0.3-0.5 ms of kernel CPU (the fsync of the WAL through the
 * virtual disk) whatever its size, CPU that the request threads share.
 * Only after a batch of BUSY_BATCH records or more, so that a lone request
 * never waits; never while closing or flushing. Called locked.
 */
static void linger(bo_store_t *s, uint64_t until_us)
{
    BO_ASSERT(bo_mutex_held(&s->mu));
    while (!s->closing && !s->flushers && s->nqueued < LINGER_FULL) {
        uint64_t now = now_us();
        if (now >= until_us)
            return;
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        uint64_t ns = (uint64_t)ts.tv_nsec + (until_us - now) * 1000u;
        ts.tv_sec += (time_t)(ns / 1000000000u);
        ts.tv_nsec = (long)(ns % 1000000000u);
        s->lingering = true;
        pthread_cond_timedwait(&s->wake, &s->mu, &ts);
        s->lingering = false;
    }
}

bool bo_store_ready(bo_store_t *s)
{
    return !s->ops->ready || s->ops->ready(s->backend);
}

/* Idle while the backend is unavailable: wait BO_STORE_POKE_MS (or for a
 * record), then let the backend try to reconnect, unlocked. Called locked. */
static void poke(bo_store_t *s)
{
    struct timespec ts;

    BO_ASSERT(bo_mutex_held(&s->mu) && s->ops->poke != NULL);
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_nsec += BO_STORE_POKE_MS * 1000000L;
    ts.tv_sec += ts.tv_nsec / 1000000000L;
    ts.tv_nsec %= 1000000000L;
    s->sleeping = true;
    pthread_cond_timedwait(&s->wake, &s->mu, &ts);
    s->sleeping = false;
    if (s->head || s->closing)
        return;
    pthread_mutex_unlock(&s->mu);
    s->ops->poke(s->backend);
    bool up = bo_store_ready(s);
    pthread_mutex_lock(&s->mu);
    s->stats.reconnects += up;
}

/* The committer: take every queued record, commit, complete, repeat; once
 * closing, drain the queue and return. Runs on its own thread, or on the
 * closer's when the store was never started. */
static void *committer(void *arg)
{
    bo_store_t *s = arg;
    bo_rec_t *first;
    size_t n;
    bool fail;
    uint64_t us, began_us = 0;
    int status;

    pthread_mutex_lock(&s->mu);
    for (n = 0;;) {
        while (!s->head && !s->closing) {
            if (s->ops->poke && !bo_store_ready(s)) {
                poke(s);
                continue;
            }
            s->sleeping = true;
            pthread_cond_wait(&s->wake, &s->mu);
            s->sleeping = false;
        }
        if (!s->head)
            break;
        if (n >= BUSY_BATCH)
            linger(s, began_us + COMMIT_PERIOD_US);
        began_us = now_us();
        first = detach(s, &n);
        fail = s->inject > 0;
        s->inject -= fail;
        struct hooks h = s->hooks;
        pthread_mutex_unlock(&s->mu);
        status = run_batch(s, first, n, fail, h, &us);
        pthread_mutex_lock(&s->mu);
        account(s, n, status, us);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

int bo_store_start(bo_store_t *s)
{
    int rc = 0;

    pthread_mutex_lock(&s->mu);
    if (s->started || s->closing) {
        rc = BO_ESTATE;
        goto out;
    }
    if (pthread_create(&s->thread, NULL, committer, s) != 0) {
        rc = BO_ENOMEM;
        goto out;
    }
    pthread_setname_np(s->thread, "bo-commit");
    s->started = true;
out:
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int bo_store_submit(bo_store_t *s, bo_rec_t *rec)
{
    int rc = 0;

    BO_ASSERT(rec != NULL && rec->done != NULL);
    BO_ASSERT(rec->kind >= BO_REC_VENUE && rec->kind <= BO_REC_DOCS);

    if (!bo_store_ready(s)) /* the database is away: answer now */
        return BO_EIO;
    pthread_mutex_lock(&s->mu);
    if (s->closing) {
        rc = BO_EIO;
    } else if (s->nqueued >= BO_STORE_MAX_PENDING) {
        rc = BO_EBUSY;
    } else {
        rec->next = NULL;
        rec->ticket = ++s->last_ticket;
        if (s->tail)
            s->tail->next = rec;
        else
            s->head = rec;
        s->tail = rec;
        s->nqueued++;
        /* Signalled under the mutex: close may destroy the cond right after. */
        if (s->sleeping || (s->lingering && s->nqueued >= LINGER_FULL)) {
            s->sleeping = s->lingering = false;
            pthread_cond_signal(&s->wake);
        }
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static bool cancels(const bo_rec_t *r, uint64_t event, uint64_t after_seq)
{
    return (r->kind == BO_REC_MUT || r->kind == BO_REC_SNAPSHOT) && r->id == event &&
           r->seq > after_seq;
}

uint32_t bo_store_cancel(bo_store_t *s, uint64_t event, uint64_t after_seq)
{
    bo_rec_t *taken = NULL, **taken_tail = &taken, **pp, *r, *kept = NULL;
    uint32_t n = 0;

    pthread_mutex_lock(&s->mu);
    for (pp = &s->head; (r = *pp) != NULL;) {
        if (cancels(r, event, after_seq)) {
            *pp = r->next;
            r->next = NULL;
            *taken_tail = r;
            taken_tail = &r->next;
            n++;
        } else {
            kept = r;
            pp = &r->next;
        }
    }
    s->tail = kept;
    BO_ASSERT(n <= s->nqueued);
    s->nqueued -= n;
    s->cancelling += n > 0;
    pthread_mutex_unlock(&s->mu);
    if (n == 0)
        return 0;
    while ((r = taken) != NULL) {
        taken = r->next; /* before done, which may reuse r */
        r->done(r, BO_ECANCELED);
    }
    pthread_mutex_lock(&s->mu);
    s->cancelling--;
    if (s->flushers)
        pthread_cond_broadcast(&s->progress);
    pthread_mutex_unlock(&s->mu);
    return n;
}

/* Called locked. */
static bool flushed(bo_store_t *s, uint64_t ticket)
{
    BO_ASSERT(bo_mutex_held(&s->mu));
    return (!s->head || s->head->ticket > ticket) &&
           (!s->inflight_ticket || s->inflight_ticket > ticket) && !s->cancelling;
}

void bo_store_flush(bo_store_t *s)
{
    uint64_t ticket;

    pthread_mutex_lock(&s->mu);
    ticket = s->last_ticket;
    s->flushers++;
    if (s->lingering) /* commit now */
        pthread_cond_signal(&s->wake);
    while (!flushed(s, ticket))
        pthread_cond_wait(&s->progress, &s->mu);
    s->flushers--;
    pthread_mutex_unlock(&s->mu);
}

void bo_store_set_batch_hooks(bo_store_t *s, void (*before)(void), void (*after)(void))
{
    pthread_mutex_lock(&s->mu);
    s->hooks = (struct hooks){before, after};
    pthread_mutex_unlock(&s->mu);
}

void bo_store_inject_failures(bo_store_t *s, uint32_t n)
{
    pthread_mutex_lock(&s->mu);
    s->inject = n;
    pthread_mutex_unlock(&s->mu);
}

int bo_store_inject_unknown_outcome(bo_store_t *s, bool sent)
{
    if (!s->ops->inject_cut)
        return BO_ESTATE;
    s->ops->inject_cut(s->backend, sent);
    return 0;
}

void bo_store_inject_delay(bo_store_t *s, uint32_t delay_ms)
{
    pthread_mutex_lock(&s->mu);
    s->inject_delay_ms = delay_ms;
    pthread_mutex_unlock(&s->mu);
}

void bo_store_get_stats(bo_store_t *s, bo_store_stats_t *st)
{
    pthread_mutex_lock(&s->mu);
    *st = s->stats;
    st->pending = s->nqueued;
    pthread_mutex_unlock(&s->mu);
}

void bo_store_close(bo_store_t *s)
{
    bool started;

    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    s->closing = true;
    started = s->started;
    pthread_cond_signal(&s->wake);
    pthread_mutex_unlock(&s->mu);
    if (started)
        pthread_join(s->thread, NULL);
    else
        committer(s); /* never started: drain on this thread */
    s->ops->close(s->backend);
    pthread_cond_destroy(&s->progress);
    pthread_cond_destroy(&s->wake);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

/* ---- reads of documents ------------------------------------------------------ */

bool bo_store_can_read(bo_store_t *s)
{
    return s->ops->reader != NULL;
}

int bo_store_doc_get(bo_store_t *s, const char *coll, const char *id, char **body, size_t *len)
{
    return s->ops->reader ? s->ops->reader->get(s->backend, coll, id, body, len) : BO_ESTATE;
}

int bo_store_doc_tags(bo_store_t *s, const char *coll, const char *group,
                      int (*fn)(void *arg, const char *tag, uint64_t count), void *arg)
{
    return s->ops->reader ? s->ops->reader->tags(s->backend, coll, group, fn, arg) : BO_ESTATE;
}

int bo_store_doc_each(bo_store_t *s, const char *coll, const char *group,
                      int (*fn)(void *arg, const char *tag, const char *figures), void *arg)
{
    return s->ops->reader ? s->ops->reader->each(s->backend, coll, group, fn, arg) : BO_ESTATE;
}
