/*
 * bench_store.c - throughput of the store's group commit: submitter threads
 * append 64-byte MUT records (one event each, like holds of a hot event) to
 * a temporary sqlite file for a few seconds; prints records/s and the mean
 * batch size.
 *
 * Usage: bench_store [seconds=3] [threads=2] [window=4096]
 * window is how many records a thread may have in flight (submitted, not yet
 * completed), standing for the concurrent requests one server thread serves:
 * window 1 is one request at a time per thread.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "boxoffice/error.h"
#include "boxoffice/store.h"

#define BODY_BYTES  64
#define MAX_THREADS 64

struct submitter {
    bo_store_t *s;
    uint64_t event;
    size_t window;
    bo_rec_t *recs; /* window records, reused round-robin; owned */
    uint8_t body[BODY_BYTES];
    atomic_uint_fast64_t completed;
    atomic_bool waiting;          /* the thread sleeps on cv until wake_at */
    atomic_uint_fast64_t wake_at; /* completions that free half the window */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint64_t busy; /* submissions refused with BO_EBUSY */
    int failed;    /* a record completed with an error */
};

static atomic_bool stop;

/* On the committer thread: count, and wake the submitter once half its
 * window is free (seq_cst: either it sees the new count or we see it
 * waiting), so it then submits a burst instead of one record per wakeup. */
static void on_done(bo_rec_t *r, int status)
{
    struct submitter *w = r->arg;
    uint64_t completed;

    if (status != 0)
        w->failed = status;
    completed = atomic_fetch_add(&w->completed, 1) + 1;
    if (atomic_load(&w->waiting) && completed >= atomic_load(&w->wake_at)) {
        pthread_mutex_lock(&w->mu);
        atomic_store(&w->waiting, false);
        pthread_cond_signal(&w->cv);
        pthread_mutex_unlock(&w->mu);
    }
}

/* Sleep (not spin: the committer needs the CPU) until half of w's window
 * is free, or at most 10 ms (the end of the run). */
static void wait_completion(struct submitter *w, uint64_t seq)
{
    struct timespec deadline;

    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_nsec += 10000000;
    if (deadline.tv_nsec >= 1000000000) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&w->mu);
    atomic_store(&w->wake_at, seq - w->window + (w->window + 1) / 2);
    atomic_store(&w->waiting, true);
    if (seq - atomic_load(&w->completed) >= w->window)
        pthread_cond_timedwait(&w->cv, &w->mu, &deadline);
    atomic_store(&w->waiting, false);
    pthread_mutex_unlock(&w->mu);
}

/* Submit records with seq 1, 2, ... until stop, keeping at most window in
 * flight. Completions arrive in submission order, so slot seq % window is
 * free again once completed >= seq - window. */
static void *submit_loop(void *arg)
{
    struct submitter *w = arg;
    uint64_t seq = 0;
    bo_rec_t *r;

    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        if (seq - atomic_load(&w->completed) >= w->window) {
            wait_completion(w, seq);
            continue;
        }
        r = &w->recs[seq % w->window];
        *r = (bo_rec_t){.kind = BO_REC_MUT,
                        .id = w->event,
                        .seq = seq + 1,
                        .at_ms = 1,
                        .body = w->body,
                        .body_len = BODY_BYTES,
                        .done = on_done,
                        .arg = w};
        if (bo_store_submit(w->s, r) == 0)
            seq++;
        else
            w->busy++;
    }
    return NULL;
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void ignore_done(bo_rec_t *r, int status)
{
    *(int *)r->arg = status;
}

/* Venue 1 and events 1..n, committed before the run. */
static int create_events(bo_store_t *s, unsigned n)
{
    static const char json[] = "{}";
    bo_rec_t recs[MAX_THREADS + 1];
    int status[MAX_THREADS + 1];

    for (unsigned i = 0; i <= n; i++) {
        status[i] = 1;
        recs[i] = (bo_rec_t){.kind = i ? BO_REC_EVENT : BO_REC_VENUE,
                             .id = i ? i : 1,
                             .venue = 1,
                             .body = json,
                             .body_len = 2,
                             .done = ignore_done,
                             .arg = &status[i]};
        if (bo_store_submit(s, &recs[i]) != 0)
            return 1;
    }
    bo_store_flush(s);
    for (unsigned i = 0; i <= n; i++)
        if (status[i] != 0)
            return 1;
    return 0;
}

static void report(const bo_store_stats_t *st, double secs, unsigned nthreads, size_t window)
{
    double batches = (double)(st->commits + st->commit_failures);

    printf("bench_store: sqlite, %u threads, window %zu, %d-byte MUT records, %.2f s\n", nthreads,
           window, BODY_BYTES, secs);
    printf("  records/s      %.0f\n", (double)st->records / secs);
    printf("  mean batch     %.1f records (max %lu)\n", (double)st->records / batches,
           (unsigned long)st->max_batch);
    printf("  commits/s      %.0f, mean commit %.3f ms\n", batches / secs,
           (double)st->commit_us_total / batches / 1000.0);
    printf("  batch sizes   ");
    for (int i = 0; i < 16; i++)
        if (st->batch_hist[i])
            printf(" [%d,%d):%lu", 1 << i, 1 << (i + 1), (unsigned long)st->batch_hist[i]);
    printf("\n");
}

static int run(const char *url, double secs, unsigned nthreads, size_t window)
{
    static struct submitter w[MAX_THREADS];
    pthread_t th[MAX_THREADS];
    bo_store_stats_t before, after;
    bo_store_t *s = NULL;
    unsigned started = 0;
    double t0, t1;
    int rc = 1;

    if (bo_store_open(url, &s) || bo_store_start(s) || create_events(s, nthreads))
        goto out;
    bo_store_get_stats(s, &before);
    t0 = now_s();
    for (; started < nthreads; started++) {
        w[started] = (struct submitter){.s = s, .event = started + 1, .window = window};
        pthread_mutex_init(&w[started].mu, NULL);
        pthread_cond_init(&w[started].cv, NULL);
        memset(w[started].body, 'a' + (int)started, BODY_BYTES);
        w[started].recs = calloc(window, sizeof(bo_rec_t));
        if (!w[started].recs || pthread_create(&th[started], NULL, submit_loop, &w[started]) != 0)
            break;
    }
    while (started == nthreads && now_s() - t0 < secs)
        usleep(10000);
    atomic_store(&stop, true);
    for (unsigned i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    bo_store_flush(s);
    if (started < nthreads) {
        fprintf(stderr, "bench_store: cannot start thread %u\n", started);
        goto out;
    }
    t1 = now_s();
    bo_store_get_stats(s, &after);
    after.records -= before.records;
    after.commits -= before.commits;
    after.commit_failures -= before.commit_failures;
    after.commit_us_total -= before.commit_us_total;
    for (int i = 0; i < 16; i++)
        after.batch_hist[i] -= before.batch_hist[i];
    report(&after, t1 - t0, nthreads, window);
    rc = 0;
    for (unsigned i = 0; i < started; i++) {
        if (w[i].failed)
            fprintf(stderr, "bench_store: a record failed: %s\n", bo_strerror(w[i].failed));
        rc |= w[i].failed != 0;
    }
out:
    bo_store_close(s);
    for (unsigned i = 0; i <= started && i < nthreads; i++)
        free(w[i].recs);
    return rc;
}

int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 3.0;
    long nthreads = argc > 2 ? atol(argv[2]) : 2;
    long window = argc > 3 ? atol(argv[3]) : 4096;
    char dir[] = "/tmp/bo_bench_store_XXXXXX", path[128], url[160];
    int rc;

    if (secs <= 0 || nthreads < 1 || nthreads > MAX_THREADS || window < 1) {
        fprintf(stderr, "usage: bench_store [seconds=3] [threads=2] [window=4096]\n");
        return 2;
    }
    if (!mkdtemp(dir)) {
        perror("bench_store: mkdtemp");
        return 1;
    }
    snprintf(path, sizeof(path), "%s/bench.db", dir);
    snprintf(url, sizeof(url), "sqlite:%s", path);
    rc = run(url, secs, (unsigned)nthreads, (size_t)window);
    unlink(path);
    snprintf(url, sizeof(url), "%s-wal", path);
    unlink(url);
    snprintf(url, sizeof(url), "%s-shm", path);
    unlink(url);
    rmdir(dir);
    return rc;
}
