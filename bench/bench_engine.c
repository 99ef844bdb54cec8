/*
 * bench_engine.c - `make bench-engine`: how fast one hot event takes holds.
 *
 * One event of 20,000 seats; every hold takes 2 adjacent seats chosen at
 * random among the free pairs (a shuffled list), and the event is reset when
 * sold out. Measured, in this order:
 *   1. baseline: the classic database-locking design, each hold its own
 *      SQLite transaction (check the seats, mark them, insert the hold,
 *      fsync'd commit) - what boxoffice is meant to beat;
 *   2. engine: the in-memory inventory alone on one core (journal on,
 *      forgotten every 1,000 holds as the committer would);
 *   3. durable: bo_live over the SQLite store, client threads with many
 *      holds in flight, each answered after its group commit; holds/s, mean
 *      batch and latency percentiles from call to answer;
 *   4. bytes of mutable inventory state per seat of a 100,000-seat event.
 * The last line is key=value pairs for scripts.
 */
#include <pthread.h>
#include <semaphore.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "boxoffice/error.h"
#include "boxoffice/live.h"

#define SEATS_PER_ROW 50
#define ROWS          20
#define SECTIONS      20 /* 20 x 20 x 50 = 20,000 seats */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double bench_seconds(void)
{
    const char *s = getenv("BOXOFFICE_BENCH_SECONDS");
    return s ? atof(s) : 3.0;
}

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static bo_hold_id_t make_id(uint64_t *rng)
{
    bo_hold_id_t id;
    uint64_t a = rng_next(rng), b = rng_next(rng);
    memcpy(id.b, &a, 8);
    memcpy(id.b + 8, &b, 8);
    return id;
}

/* Every adjacent pair (first seat index, even positions in a row), shuffled. */
static uint32_t *shuffled_pairs(const bo_layout_t *l, uint32_t *n, uint64_t *rng)
{
    uint32_t *p = malloc(l->nseats / 2 * sizeof(uint32_t)), k = 0;
    for (uint32_t r = 0; r < l->nrows; r++)
        for (uint32_t i = 0; i + 1 < l->rows[r].nseats; i += 2)
            p[k++] = l->rows[r].first_seat + i;
    for (uint32_t i = k; i > 1; i--) {
        uint32_t j = (uint32_t)(rng_next(rng) % i), t = p[i - 1];
        p[i - 1] = p[j];
        p[j] = t;
    }
    *n = k;
    return p;
}

static bo_layout_t *venue(uint32_t sections, uint32_t rows, uint32_t seats, char **json_out)
{
    bo_venue_gen_t g = {.sections = sections, .rows = rows, .seats = seats, .categories = 4};
    size_t len;
    char *json = bo_venue_generate(&g, &len);
    bo_layout_t *l = NULL;
    if (!json || bo_layout_parse(json, len, &l, NULL)) {
        fprintf(stderr, "bench: venue generation failed\n");
        exit(1);
    }
    if (json_out)
        *json_out = json;
    else
        free(json);
    return l;
}

/* ---- 1. baseline: one locking transaction per hold --------------------------- */

static double bench_baseline(const bo_layout_t *l, double seconds)
{
    char path[] = "/tmp/boxoffice-bench-baseline-XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    sqlite3 *db;
    sqlite3_open(path, &db);
    sqlite3_exec(db,
                 "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                 "CREATE TABLE seat(id INTEGER PRIMARY KEY, state INTEGER NOT NULL, hold BLOB);"
                 "CREATE TABLE hold(id BLOB PRIMARY KEY, expires_at INTEGER);",
                 NULL, NULL, NULL);
    sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
    sqlite3_stmt *ins;
    sqlite3_prepare_v2(db, "INSERT INTO seat VALUES(?, 0, NULL)", -1, &ins, NULL);
    for (uint32_t s = 0; s < l->nseats; s++) {
        sqlite3_bind_int(ins, 1, (int)s);
        sqlite3_step(ins);
        sqlite3_reset(ins);
    }
    sqlite3_finalize(ins);
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    sqlite3_stmt *check, *mark, *hold;
    sqlite3_prepare_v2(db, "SELECT count(*) FROM seat WHERE id IN (?, ?) AND state = 0", -1, &check,
                       NULL);
    sqlite3_prepare_v2(db, "UPDATE seat SET state = 1, hold = ? WHERE id IN (?, ?)", -1, &mark,
                       NULL);
    sqlite3_prepare_v2(db, "INSERT INTO hold VALUES(?, ?)", -1, &hold, NULL);
    uint64_t rng = 42, holds = 0;
    uint32_t npairs, next = 0, *pairs = shuffled_pairs(l, &npairs, &rng);
    double t0 = now_s();
    while (now_s() - t0 < seconds) {
        if (next == npairs) {
            sqlite3_exec(db, "UPDATE seat SET state = 0, hold = NULL", NULL, NULL, NULL);
            next = 0;
        }
        uint32_t s = pairs[next++];
        bo_hold_id_t id = make_id(&rng);
        sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
        sqlite3_bind_int(check, 1, (int)s);
        sqlite3_bind_int(check, 2, (int)s + 1);
        sqlite3_step(check);
        int ok = sqlite3_column_int(check, 0) == 2;
        sqlite3_reset(check);
        if (ok) {
            sqlite3_bind_blob(mark, 1, id.b, 16, SQLITE_STATIC);
            sqlite3_bind_int(mark, 2, (int)s);
            sqlite3_bind_int(mark, 3, (int)s + 1);
            sqlite3_step(mark);
            sqlite3_reset(mark);
            sqlite3_bind_blob(hold, 1, id.b, 16, SQLITE_STATIC);
            sqlite3_bind_int64(hold, 2, 300000);
            sqlite3_step(hold);
            sqlite3_reset(hold);
        }
        sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
        holds += ok;
    }
    double rate = holds / (now_s() - t0);
    sqlite3_finalize(check);
    sqlite3_finalize(mark);
    sqlite3_finalize(hold);
    sqlite3_close(db);
    free(pairs);
    unlink(path);
    char aux[64];
    snprintf(aux, sizeof(aux), "%s-wal", path);
    unlink(aux);
    snprintf(aux, sizeof(aux), "%s-shm", path);
    unlink(aux);
    return rate;
}

/* ---- 2. the engine alone -------------------------------------------------------- */

static double bench_engine(const bo_layout_t *l, double seconds)
{
    bo_inv_config_t cfg = {.hold_ttl_ms = 300000};
    bo_inv_t *inv;
    uint64_t rng = 7, holds = 0;
    uint32_t npairs, next = 0, *pairs = shuffled_pairs(l, &npairs, &rng);
    bo_best_index_t *best;
    bo_best_index_new(l, &best); /* the venue's, shared by its events */
    bo_inv_new_shared(l, best, &cfg, &inv);
    bo_hold_res_t res;
    int64_t now_ms = 1700000000000;
    double t0 = now_s(), elapsed = 0, resets = 0;
    while ((elapsed = now_s() - t0 - resets) < seconds) {
        for (int k = 0; k < 1000; k++) {
            if (next == npairs) { /* sold out: a fresh event, not timed */
                double r0 = now_s();
                bo_inv_free(inv);
                bo_inv_new_shared(l, best, &cfg, &inv);
                next = 0;
                resets += now_s() - r0;
            }
            uint32_t seats[2] = {pairs[next], pairs[next] + 1};
            next++;
            bo_hold_req_t req = {.id = make_id(&rng),
                                 .seats = seats,
                                 .nseats = 2,
                                 .best_category = BO_NONE,
                                 .best_section = BO_NONE};
            if (bo_inv_hold(inv, &req, now_ms, &res) != 0) {
                fprintf(stderr, "bench: engine refused a free pair\n");
                exit(1);
            }
            holds++;
        }
        bo_inv_forget(inv, bo_inv_journal_pos(inv)); /* as after a group commit */
    }
    bo_inv_free(inv);
    bo_best_index_free(best);
    free(pairs);
    return holds / elapsed;
}

/* ---- 3. durable, through the live layer and SQLite ------------------------------ */

#define CLIENTS 2

struct client {
    bo_live_t *live;
    const bo_layout_t *layout;
    uint64_t *event; /* shared: the current event, moved on when sold out */
    pthread_mutex_t *event_mu;
    uint64_t *next_event; /* the last event made */
    double deadline;
    int id;
    int inflight_max;
    sem_t slots; /* free in-flight slots: a client sleeps when all are taken */
    int32_t inflight;
    uint64_t done, refused;
    uint32_t *lat_us;
    size_t nlat, caplat;
};

struct call {
    struct client *c;
    double t0;
};

static void hold_done(void *arg, const bo_live_result_t *r)
{
    struct call *k = arg;
    struct client *c = k->c;
    double us = (now_s() - k->t0) * 1e6;
    if (r->status == 0 && c->nlat < c->caplat)
        c->lat_us[c->nlat++] = (uint32_t)us;
    if (r->status == 0)
        __atomic_add_fetch(&c->done, 1, __ATOMIC_RELAXED);
    else
        __atomic_add_fetch(&c->refused, 1, __ATOMIC_RELAXED);
    __atomic_sub_fetch(&c->inflight, 1, __ATOMIC_RELEASE);
    sem_post(&c->slots);
    free(k);
}

static uint64_t new_event(bo_live_t *live, uint64_t id)
{
    bo_inv_config_t cfg = {.hold_ttl_ms = 300000};
    bo_live_wait_t *w = bo_live_wait_new();
    int rc = bo_live_add_event(live, id, 1, "{\"name\":\"bench\"}", &cfg, bo_live_wait_done, w);
    if ((rc ? rc : bo_live_wait(w, NULL)) != 0) {
        fprintf(stderr, "bench: cannot create an event\n");
        exit(1);
    }
    bo_live_wait_free(w);
    return id;
}

static void *client_run(void *arg)
{
    struct client *c = arg;
    uint64_t seed = 1000, rng = 1000 + (uint64_t)c->id;
    uint32_t npairs, *pairs = shuffled_pairs(c->layout, &npairs, &seed); /* the same for all */
    /* Each client sells its own half of the pairs of each event. */
    uint32_t next = (uint32_t)c->id, ev = 0;
    uint64_t event = 0;
    while (now_s() < c->deadline) {
        sem_wait(&c->slots);
        pthread_mutex_lock(c->event_mu);
        if (next >= npairs || event != *c->event) {
            if (next >= npairs && event == *c->event && ++*c->event > *c->next_event)
                *c->next_event = new_event(c->live, *c->event); /* past those made ahead */
            event = *c->event;
            next = (uint32_t)c->id;
            ev++;
        }
        pthread_mutex_unlock(c->event_mu);
        uint32_t seats[2] = {pairs[next], pairs[next] + 1};
        next += CLIENTS;
        struct call *k = malloc(sizeof(*k));
        *k = (struct call){c, now_s()};
        bo_hold_req_t req = {.id = make_id(&rng),
                             .seats = seats,
                             .nseats = 2,
                             .best_category = BO_NONE,
                             .best_section = BO_NONE};
        __atomic_add_fetch(&c->inflight, 1, __ATOMIC_ACQ_REL);
        bo_live_result_t refusal;
        bo_live_call_t call = {hold_done, k, NULL};
        bo_mut_t m = {.op = BO_MUT_HOLD, .req = &req};
        if (bo_live_apply(c->live, event, &m, &call, &refusal)) /* refused: no callback */
            hold_done(k, &refusal);
    }
    while (__atomic_load_n(&c->inflight, __ATOMIC_ACQUIRE) > 0)
        usleep(1000);
    free(pairs);
    return NULL;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

struct durable {
    double holds_per_s, mean_batch;
    uint32_t p50_us, p99_us, max_us;
    uint64_t refused;
};

/* inflight: buyers waiting for an answer at once, over all clients. */
static struct durable bench_durable(const char *venue_json, double seconds, int inflight)
{
    char path[] = "/tmp/boxoffice-bench-XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    unlink(path);
    char url[128], aux[160];
    snprintf(url, sizeof(url), "sqlite:%s", path);
    bo_live_t *live;
    if (bo_live_open(url, NULL, &live)) {
        fprintf(stderr, "bench: cannot open %s\n", url);
        exit(1);
    }
    bo_live_wait_t *w = bo_live_wait_new();
    if (bo_live_add_venue(live, 1, venue_json, strlen(venue_json), NULL, bo_live_wait_done, w) == 0)
        bo_live_wait(w, NULL);
    bo_live_wait_free(w);
    /* Events are made ahead, so that moving on from a sold-out one is free. */
    uint64_t next_event = 0, event = 1;
    while (next_event < 64)
        next_event = new_event(live, next_event + 1);
    pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    struct client c[CLIENTS];
    pthread_t t[CLIENTS];
    bo_store_stats_t s0, s1;
    bo_store_get_stats(bo_live_store(live), &s0);
    double t0 = now_s();
    for (int i = 0; i < CLIENTS; i++) {
        c[i] = (struct client){.live = live,
                               .layout = bo_live_venue(live, 1),
                               .event = &event,
                               .event_mu = &mu,
                               .next_event = &next_event,
                               .deadline = t0 + seconds,
                               .id = i,
                               .caplat = 20000000,
                               .inflight_max = inflight / CLIENTS};
        sem_init(&c[i].slots, 0, (unsigned)c[i].inflight_max);
        c[i].lat_us = malloc(c[i].caplat * sizeof(uint32_t));
        pthread_create(&t[i], NULL, client_run, &c[i]);
    }
    struct durable d = {0};
    uint64_t holds = 0;
    size_t nlat = 0;
    for (int i = 0; i < CLIENTS; i++) {
        pthread_join(t[i], NULL);
        holds += c[i].done;
        d.refused += c[i].refused;
        nlat += c[i].nlat;
    }
    double elapsed = now_s() - t0;
    bo_store_get_stats(bo_live_store(live), &s1);
    uint32_t *lat = malloc((nlat ? nlat : 1) * sizeof(uint32_t));
    size_t k = 0;
    for (int i = 0; i < CLIENTS; i++) {
        memcpy(lat + k, c[i].lat_us, c[i].nlat * sizeof(uint32_t));
        k += c[i].nlat;
        free(c[i].lat_us);
        sem_destroy(&c[i].slots);
    }
    qsort(lat, nlat, sizeof(uint32_t), cmp_u32);
    d.holds_per_s = holds / elapsed;
    d.mean_batch = (double)(s1.records - s0.records) / (double)(s1.commits - s0.commits);
    d.p50_us = nlat ? lat[nlat / 2] : 0;
    d.p99_us = nlat ? lat[nlat * 99 / 100] : 0;
    d.max_us = nlat ? lat[nlat - 1] : 0;
    free(lat);
    bo_live_close(live);
    unlink(path);
    snprintf(aux, sizeof(aux), "%s-wal", path);
    unlink(aux);
    snprintf(aux, sizeof(aux), "%s-shm", path);
    unlink(aux);
    return d;
}

/* ---- 4. bytes per seat --------------------------------------------------------- */

static void bytes_per_seat(double *fresh, double *sold_out)
{
    bo_layout_t *l = venue(40, 50, 50, NULL); /* 100,000 seats */
    bo_inv_config_t cfg = {.hold_ttl_ms = 300000};
    bo_inv_t *inv;
    bo_inv_new(l, &cfg, &inv);
    bo_inv_set_journal(inv, 0);
    *fresh = (double)bo_inv_memory(inv) / l->nseats;
    uint64_t rng = 3;
    uint32_t npairs, *pairs = shuffled_pairs(l, &npairs, &rng);
    bo_hold_res_t res;
    for (uint32_t i = 0; i < npairs; i++) {
        uint32_t seats[2] = {pairs[i], pairs[i] + 1};
        bo_hold_req_t req = {.id = make_id(&rng),
                             .seats = seats,
                             .nseats = 2,
                             .best_category = BO_NONE,
                             .best_section = BO_NONE};
        bo_inv_hold(inv, &req, 1700000000000, &res);
    }
    /* the hold table grows by doubling; seat arrays are malloc'd (8 bytes + header) */
    *sold_out = (double)(bo_inv_memory(inv) + (size_t)npairs * 32) / l->nseats;
    free(pairs);
    bo_inv_free(inv);
    bo_layout_free(l);
}

int main(void)
{
    double seconds = bench_seconds();
    char *json;
    bo_layout_t *l = venue(SECTIONS, ROWS, SEATS_PER_ROW, &json);
    printf("bench-engine: one event of %u seats, random 2-seat holds, %.1f s per phase\n",
           l->nseats, seconds);
    double base = bench_baseline(l, seconds);
    printf("baseline (one locking SQLite transaction per hold): %.0f holds/s\n", base);
    double mem = bench_engine(l, seconds);
    printf("engine in memory, one core:                          %.0f holds/s\n", mem);
    struct durable d = bench_durable(json, seconds, 256), big = bench_durable(json, seconds, 1024);
    printf("durable (live layer + SQLite group commit), 256 buyers waiting at once: %.0f holds/s, "
           "mean batch %.1f, latency p50 %u us, p99 %u us, max %u us (%llu refused)\n",
           d.holds_per_s, d.mean_batch, d.p50_us, d.p99_us, d.max_us,
           (unsigned long long)d.refused);
    printf("durable, 1024 buyers waiting at once: %.0f holds/s, mean batch %.1f, latency p50 %u "
           "us, p99 %u us\n",
           big.holds_per_s, big.mean_batch, big.p50_us, big.p99_us);
    printf("durable vs baseline: %.1fx\n", d.holds_per_s / base);
    double fresh, sold;
    bytes_per_seat(&fresh, &sold);
    printf("100,000-seat event: %.2f bytes of inventory state per seat; %.2f per seat when "
           "sold out in 2-seat holds (hold records included)\n",
           fresh, sold);
    printf("baseline_holds_per_s=%.0f engine_holds_per_s=%.0f durable_holds_per_s=%.0f "
           "durable_p99_us=%u durable_mean_batch=%.1f bytes_per_seat=%.2f\n",
           base, mem, d.holds_per_s, d.p99_us, d.mean_batch, fresh);
    bo_layout_free(l);
    free(json);
    return 0;
}
