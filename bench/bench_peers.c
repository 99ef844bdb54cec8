/*
 * bench_peers.c - the designs a box office would pick instead of boxoffice,
 * each in its best form with no HTTP in front, under the hot-event hold
 * workload of `make bench-compare` (bench/bench_compare.sh): random 2-seat
 * all-or-nothing holds of adjacent seats on one hot event, each with a
 * 5-minute expiry; when the event is full, a fresh one.
 *
 *   pg-forupdate   PostgreSQL, pretix/alf.io style: BEGIN; SELECT the two
 *                  seat rows FOR UPDATE; the client checks both free or
 *                  expired; UPDATE them to held (hold id, expiry); INSERT
 *                  the hold; COMMIT (or ROLLBACK). Two round trips, each a
 *                  pipeline of prepared statements (libpq pipeline mode).
 *   pg-condupdate  PostgreSQL, one call of a PL/pgSQL function: UPDATE both
 *                  seats WHERE free or expired, check the row count (2, or
 *                  raise: all or nothing), INSERT the hold. One round trip.
 *   redis          Redis, EVALSHA of a Lua script: both seat keys absent
 *                  (free, or expired by Redis), then SET both and the hold
 *                  key with a 5-minute PX expiry. One round trip.
 *   http           boxoffice itself: POST /api/v1/events/{id}/holds over
 *                  HTTP/1.1 keep-alive, the request bench/http/holds.lua
 *                  sends (its own buyer and X-Forwarded-For address per
 *                  pair), on events the caller made (BOXOFFICE_COMPARE_EVENTS,
 *                  ids in the order they fill). The same client as the peers
 *                  get, so the comparison is of the servers alone.
 *
 * Durability is the server's (PostgreSQL's defaults: fsync on,
 * synchronous_commit on; Redis as bench_compare.sh starts it). Each client
 * is one connection with one hold in flight, as a pool of application
 * workers would hold; THREADS threads each run an epoll loop over their
 * share of the clients, so the client costs a few microseconds of CPU per
 * hold and is not what limits a leg (it prints its own CPU use).
 *
 * Pairs are dealt as bench/http/holds.lua deals them to boxoffice: an
 * event's SEATS/2 pairs (seats 2k-1 and 2k) in a random order, each pair
 * once, so every hold should succeed, and the holds of one event run at the
 * same time; the last pair dealt fills the event and the next hold goes to a
 * fresh one. PostgreSQL's events (SEATS seat rows each) are created a few
 * ahead by a thread of their own; Redis needs none (keys).
 *
 * At the end each leg checks itself (http: the caller does, from every
 * event's availability): seats held (rows with a hold id; seat
 * keys) against successful holds x 2, holds stored against successful holds
 * (and on PostgreSQL every hold's two seats pointing at it). The schema or
 * the Redis keyspace is emptied first: one invocation is one measurement.
 *
 * Usage: bench_peers MODE TARGET CLIENTS SECONDS
 *   MODE pg-forupdate | pg-condupdate | redis | http; TARGET a libpq URL,
 *   or HOST:PORT (IPv4) for redis and http. Env: BOXOFFICE_COMPARE_SEATS
 *   (seats per event, 20000; http: 20 rows of 50 a section),
 *   BOXOFFICE_COMPARE_CLIENT_THREADS (2), BOXOFFICE_COMPARE_EVENTS (http).
 * Last line: result design=… clients=… holds_per_s=… p50_ms=… p99_ms=…
 * holds=… check=ok|FAIL
 * (exit 1 when the check fails or a hold errs).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CLIENTS  1024
#define MAX_THREADS  16
#define HOLD_TTL_MS  300000
#define EVENTS_AHEAD 2
#define HIST_US      10     /* histogram bucket width */
#define HIST_BUCKETS 200000 /* 2 s; slower holds land in the last */

enum mode { PG_FORUPDATE, PG_CONDUPDATE, REDIS, HTTP };

/* Where a client is in its hold. */
enum step { IDLE, STALLED, SELECTING, WRITING, ROLLING_BACK, CALLING, EVALING, POSTING, DONE };

struct client {
    struct worker *w;
    int fd;
    PGconn *pg;
    redisReader *rd;
    enum step step;
    uint64_t dealt; /* the pair's number in the deal */
    uint64_t hold_id;
    int event, seat_a;
    int rows_free; /* SELECT FOR UPDATE: rows found free or expired */
    bool err;      /* this hold got an error result */
    bool want_out; /* EPOLLOUT asked for */
    uint64_t t0_ns;
    char out[768]; /* redis, http: the request not yet written */
    size_t out_len, out_off;
    char in[4096]; /* http: the answer so far */
    size_t in_len;
};

struct worker {
    pthread_t tid;
    int epfd;
    struct client *clients;
    int nclients;
    uint64_t ok, ok_in_window, refused, errors;
    uint64_t *hist; /* latency of every answered hold, HIST_US buckets */
    char first_error[256];
};

static enum mode mode;
static const char *target;
static int seats_per_event = 20000;
static uint64_t deadline_ns;
static char redis_sha[64];
static atomic_uint_fast64_t dealt_pairs;
static atomic_uint_fast64_t hold_ids;
static atomic_int events_ready; /* events 1..events_ready have their seats */
static atomic_bool stopping;
static atomic_uint_fast64_t event_wait_ns;
static atomic_int stalled_at_end; /* clients still waiting for an event at the end */
static char **http_events;        /* http: the events' ids, from BOXOFFICE_COMPARE_EVENTS */

static const char *const LUA = "if redis.call('EXISTS', KEYS[1], KEYS[2]) > 0 then return 0 end\n"
                               "redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])\n"
                               "redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])\n"
                               "redis.call('SET', KEYS[3], ARGV[3], 'PX', ARGV[2])\n"
                               "return 1\n";

static const char *const SCHEMA =
    "DROP FUNCTION IF EXISTS bench_hold(int, int, int, bigint);"
    "DROP TABLE IF EXISTS hold, seat;"
    "CREATE TABLE seat (event_id int NOT NULL, seat_no int NOT NULL, hold_id bigint,"
    " held_until timestamptz, PRIMARY KEY (event_id, seat_no));"
    "CREATE TABLE hold (id bigint PRIMARY KEY, event_id int NOT NULL, seat_a int NOT NULL,"
    " seat_b int NOT NULL, expires_at timestamptz NOT NULL);"
    "CREATE FUNCTION bench_hold(ev int, a int, b int, hid bigint) RETURNS void"
    " LANGUAGE plpgsql AS $$ DECLARE n int; BEGIN"
    " UPDATE seat SET hold_id = hid, held_until = now() + interval '5 minutes'"
    "  WHERE event_id = ev AND seat_no IN (a, b) AND (hold_id IS NULL OR held_until < now());"
    " GET DIAGNOSTICS n = ROW_COUNT;"
    " IF n <> 2 THEN RAISE EXCEPTION 'seats taken' USING ERRCODE = 'P0001'; END IF;"
    " INSERT INTO hold VALUES (hid, ev, a, b, now() + interval '5 minutes');"
    " END $$;";

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void die(const char *what, const char *detail)
{
    fprintf(stderr, "bench_peers: %s: %s\n", what, detail ? detail : "");
    exit(2);
}

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    return x ^ (x >> 33);
}

static uint64_t gcd(uint64_t a, uint64_t b)
{
    while (b != 0) {
        uint64_t r = a % b;
        a = b;
        b = r;
    }
    return a;
}

/* The pair number dealt d stands for: its event (1-based) and the first of
 * its two seats (1-based; the second is seat_a + 1). Each event visits its
 * pairs in the order offset, offset + step, ... (mod pairs, step coprime
 * with pairs): every pair once, in an order of its own. */
static void deal(uint64_t d, int *event, int *seat_a)
{
    uint64_t pairs = (uint64_t)seats_per_event / 2, e = d / pairs + 1, k = d % pairs;
    uint64_t offset = mix(e) % pairs, step = mix(e * 7 + 3) % pairs;

    if (step == 0)
        step = 1;
    while (gcd(step, pairs) != 1)
        step = step % (pairs - 1) + 1;
    *event = (int)e;
    *seat_a = (int)(2 * ((offset + k * step) % pairs) + 1);
}

/* Asks epoll for writability while the client has bytes the socket did
 * not take (a syscall only when that changes). */
static void set_events(int fd, struct client *c, bool want_out)
{
    struct epoll_event ev = {.events = EPOLLIN | (want_out ? EPOLLOUT : 0), .data.ptr = c};

    if (want_out == c->want_out)
        return;
    if (epoll_ctl(c->w->epfd, EPOLL_CTL_MOD, fd, &ev) != 0)
        die("epoll_ctl", strerror(errno));
    c->want_out = want_out;
}

/* PostgreSQL: the pipeline queued, flushed as far as the socket takes it. */
static void pg_flush(struct client *c)
{
    int r = PQflush(c->pg);

    if (r < 0)
        die("PQflush", PQerrorMessage(c->pg));
    set_events(c->fd, c, r == 1);
}

static void pg_send(struct client *c, const char *stmt, int n, const char *const *params)
{
    int r = stmt ? PQsendQueryPrepared(c->pg, stmt, n, params, NULL, NULL, 0)
                 : PQsendQueryParams(c->pg, params[0], 0, NULL, NULL, NULL, NULL, 0);

    if (!r)
        die("send", PQerrorMessage(c->pg));
}

static void pg_sync(struct client *c)
{
    if (!PQpipelineSync(c->pg))
        die("PQpipelineSync", PQerrorMessage(c->pg));
    pg_flush(c);
}

/* The statements' parameters $1-$4 as text: event, seat a, seat b, hold. */
struct pg_params {
    char text[4][24];
    const char *p[4];
};

static void pg_params(const struct client *c, struct pg_params *pp)
{
    snprintf(pp->text[0], sizeof pp->text[0], "%d", c->event);
    snprintf(pp->text[1], sizeof pp->text[1], "%d", c->seat_a);
    snprintf(pp->text[2], sizeof pp->text[2], "%d", c->seat_a + 1);
    snprintf(pp->text[3], sizeof pp->text[3], "%llu", (unsigned long long)c->hold_id);
    for (int i = 0; i < 4; i++)
        pp->p[i] = pp->text[i];
}

static void pg_start(struct client *c)
{
    struct pg_params pp;
    const char *const *p = pp.p;
    const char *begin[1] = {"BEGIN"};

    pg_params(c, &pp);
    c->rows_free = 0;
    if (mode == PG_CONDUPDATE) {
        pg_send(c, "hold", 4, p);
        c->step = CALLING;
    } else {
        pg_send(c, NULL, 0, begin);
        pg_send(c, "lock", 3, p);
        c->step = SELECTING;
    }
    pg_sync(c);
}

/* FOR UPDATE's second round trip: write the hold and commit if both rows
 * were free, else roll back. */
static void pg_write(struct client *c)
{
    struct pg_params pp;
    const char *const *p = pp.p;
    const char *sql[1] = {"COMMIT"};

    pg_params(c, &pp);
    if (c->rows_free == 2 && !c->err) {
        pg_send(c, "seize", 4, p);
        pg_send(c, "record", 4, p);
        c->step = WRITING;
    } else {
        sql[0] = "ROLLBACK";
        c->step = ROLLING_BACK;
    }
    pg_send(c, NULL, 0, sql);
    pg_sync(c);
}

static void sock_writable(struct client *c);

static void redis_start(struct client *c)
{
    char k1[48], k2[48], k3[48], id[24], ttl[16], doc[64];
    char *cmd = NULL;
    int n;

    snprintf(k1, sizeof k1, "s:%d:%d", c->event, c->seat_a);
    snprintf(k2, sizeof k2, "s:%d:%d", c->event, c->seat_a + 1);
    snprintf(k3, sizeof k3, "h:%llu", (unsigned long long)c->hold_id);
    snprintf(id, sizeof id, "%llu", (unsigned long long)c->hold_id);
    snprintf(ttl, sizeof ttl, "%d", HOLD_TTL_MS);
    snprintf(doc, sizeof doc, "%d:%d:%d", c->event, c->seat_a, c->seat_a + 1);
    n = redisFormatCommand(&cmd, "EVALSHA %s 3 %s %s %s %s %s %s", redis_sha, k1, k2, k3, id, ttl,
                           doc);
    if (n < 0 || (size_t)n > sizeof c->out)
        die("redisFormatCommand", "too long");
    memcpy(c->out, cmd, (size_t)n);
    redisFreeCommand(cmd);
    c->out_len = (size_t)n;
    c->out_off = 0;
    c->step = EVALING;
    sock_writable(c);
}

/* "A" for row 1, "Z" for 26, "AA" for 27: `boxoffice venue-gen`'s labels. */
static void row_label(int row, char *out, size_t cap)
{
    char rev[8];
    size_t n = 0;

    while (row > 0 && n < sizeof rev) {
        int r = (row - 1) % 26;
        rev[n++] = (char)('A' + r);
        row = (row - 1 - r) / 26;
    }
    for (size_t i = 0; i < n && i + 1 < cap; i++)
        out[i] = rev[n - 1 - i];
    out[n < cap ? n : cap - 1] = '\0';
}

/* boxoffice: POST the hold as bench/http/holds.lua does, the seats by
 * venue-gen's ids (S<section>-<row label>-<n>: 20 rows of 50 a section),
 * the pair's own buyer and client address (X-Forwarded-For 10.a.b.c from
 * the pair's number; the server trusts loopback as a proxy). */
static void http_start(struct client *c)
{
    char body[192], row[8];
    int s0 = c->seat_a - 1, per_row = 50, per_section = 20 * per_row, pair = s0 / 2 + 1;
    int section = s0 / per_section + 1, n = s0 % per_row + 1, len;

    row_label(s0 % per_section / per_row + 1, row, sizeof row);
    len = snprintf(
        body, sizeof body,
        "{\"seats\":[\"S%d-%s-%d\",\"S%d-%s-%d\"],\"customer\":{\"email\":\"b%d@example.com\"}}",
        section, row, n, section, row, n + 1, pair);
    c->out_len = (size_t)snprintf(
        c->out, sizeof c->out,
        "POST /api/v1/events/%s/holds HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Content-Type: application/json\r\nX-Forwarded-For: 10.%d.%d.%d\r\n"
        "Content-Length: %d\r\n\r\n%s",
        http_events[c->event - 1], pair / 65536 % 256, pair / 256 % 256, pair % 256, len, body);
    if (c->out_len >= sizeof c->out)
        die("http request", "too long");
    c->out_off = 0;
    c->in_len = 0;
    c->step = POSTING;
    sock_writable(c);
}

/* The next hold of a client: a pair from the deal, sent when its event's
 * seats exist (else the client waits: STALLED). After the deadline the
 * client stops. */
static void next_hold(struct client *c, uint64_t now)
{
    if (now >= deadline_ns) {
        if (c->step == STALLED) /* its pair is never sent */
            atomic_fetch_add(&stalled_at_end, 1);
        c->step = DONE;
        return;
    }
    if (c->step != STALLED) {
        c->dealt = atomic_fetch_add(&dealt_pairs, 1);
        deal(c->dealt, &c->event, &c->seat_a);
        c->hold_id = atomic_fetch_add(&hold_ids, 1) + 1;
        c->t0_ns = now;
    }
    if (c->event > atomic_load(&events_ready)) {
        c->step = STALLED;
        return;
    }
    if (c->step == STALLED)
        atomic_fetch_add(&event_wait_ns, now - c->t0_ns);
    c->err = false;
    if (mode == REDIS)
        redis_start(c);
    else if (mode == HTTP)
        http_start(c);
    else
        pg_start(c);
}

static void record_error(struct worker *w, const char *msg)
{
    if (w->first_error[0] == '\0')
        snprintf(w->first_error, sizeof w->first_error, "%.255s", msg);
}

/* One hold answered: count it (ok, refused or error), then the next. */
static void finish(struct client *c, int outcome)
{
    struct worker *w = c->w;
    uint64_t t = now_ns(), us = (t - c->t0_ns) / 1000, b = us / HIST_US;

    w->hist[b < HIST_BUCKETS ? b : HIST_BUCKETS - 1]++;
    if (outcome > 0) {
        w->ok++;
        if (t <= deadline_ns)
            w->ok_in_window++;
    } else if (outcome == 0) {
        w->refused++;
    } else {
        w->errors++;
    }
    c->step = IDLE;
    next_hold(c, t);
}

/* A result of the client's pipeline: what it says about the hold. */
static void pg_result(struct client *c, PGresult *r)
{
    ExecStatusType st = PQresultStatus(r);

    if (st == PGRES_FATAL_ERROR) {
        const char *code = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        /* the function's own refusal (seats taken) is not an error */
        if (!(mode == PG_CONDUPDATE && code && strcmp(code, "P0001") == 0)) {
            c->err = true;
            record_error(c->w, PQresultErrorMessage(r));
        } else {
            c->rows_free = -1;
        }
    } else if (st == PGRES_PIPELINE_ABORTED) {
        c->err = true;
    } else if (st == PGRES_TUPLES_OK && c->step == SELECTING) {
        for (int i = 0; i < PQntuples(r); i++)
            c->rows_free += PQgetvalue(r, i, 0)[0] == 't';
    }
}

/* At the pipeline's sync: the step's results are all in. */
static void pg_synced(struct client *c)
{
    switch (c->step) {
    case SELECTING:
        pg_write(c); /* commits, or rolls back on an error or a taken seat */
        return;
    case WRITING:
        finish(c, c->err ? -1 : 1);
        return;
    case ROLLING_BACK:
        finish(c, c->err ? -1 : 0);
        return;
    case CALLING:
        finish(c, c->err ? -1 : c->rows_free < 0 ? 0 : 1);
        return;
    default:
        die("pipeline", "a sync in no step");
    }
}

static bool pg_in_flight(const struct client *c)
{
    return c->step == SELECTING || c->step == WRITING || c->step == ROLLING_BACK ||
           c->step == CALLING;
}

/* Every result that has arrived. In pipeline mode one NULL ends each
 * query's results; two in a row mean nothing more is queued. */
static void pg_readable(struct client *c)
{
    int nulls = 0;

    if (!PQconsumeInput(c->pg))
        die("PQconsumeInput", PQerrorMessage(c->pg));
    while (pg_in_flight(c) && !PQisBusy(c->pg)) {
        PGresult *r = PQgetResult(c->pg);

        if (r == NULL) {
            if (++nulls > 1)
                break;
            continue;
        }
        nulls = 0;
        if (PQresultStatus(r) == PGRES_PIPELINE_SYNC) {
            PQclear(r);
            pg_synced(c); /* sends the next step, if any */
            continue;
        }
        pg_result(c, r);
        PQclear(r);
    }
}

static void sock_writable(struct client *c)
{
    if (c->step != EVALING && c->step != POSTING)
        return;
    while (c->out_off < c->out_len) {
        ssize_t n = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);
        if (n < 0) {
            if (errno == EAGAIN) {
                set_events(c->fd, c, true);
                return;
            }
            die("write", strerror(errno));
        }
        c->out_off += (size_t)n;
    }
    set_events(c->fd, c, false);
}

static void redis_readable(struct client *c)
{
    char buf[4096];
    ssize_t n = read(c->fd, buf, sizeof buf);
    void *reply = NULL;

    if (n <= 0) {
        if (n < 0 && errno == EAGAIN)
            return;
        die("read from redis", n == 0 ? "closed" : strerror(errno));
    }
    if (redisReaderFeed(c->rd, buf, (size_t)n) != REDIS_OK)
        die("redisReaderFeed", c->rd->errstr);
    if (redisReaderGetReply(c->rd, &reply) != REDIS_OK)
        die("redisReaderGetReply", c->rd->errstr);
    if (reply == NULL)
        return;
    redisReply *r = reply;
    int outcome = r->type == REDIS_REPLY_INTEGER ? (r->integer == 1 ? 1 : 0) : -1;
    if (outcome < 0)
        record_error(c->w, r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
    freeReplyObject(reply);
    finish(c, outcome);
}

/* An HTTP/1.1 answer, once all of it (headers and Content-Length bytes)
 * is in: 201 a hold, 409 a refusal, anything else an error. */
static void http_readable(struct client *c)
{
    ssize_t n = read(c->fd, c->in + c->in_len, sizeof c->in - 1 - c->in_len);
    char *end, *cl;
    size_t head;
    int status;

    if (n <= 0) {
        if (n < 0 && errno == EAGAIN)
            return;
        die("read from boxoffice", n == 0 ? "closed" : strerror(errno));
    }
    c->in_len += (size_t)n;
    c->in[c->in_len] = '\0';
    if ((end = strstr(c->in, "\r\n\r\n")) == NULL) {
        if (c->in_len == sizeof c->in - 1)
            die("http answer", "headers too long");
        return;
    }
    head = (size_t)(end + 4 - c->in);
    cl = strcasestr(c->in, "\r\ncontent-length:");
    if (cl && cl < end && head + strtoul(cl + 17, NULL, 10) > c->in_len)
        return;
    if (sscanf(c->in, "HTTP/1.%*d %d", &status) != 1)
        die("http answer", c->in);
    if (status != 201 && status != 409)
        record_error(c->w, c->in);
    finish(c, status == 201 ? 1 : status == 409 ? 0 : -1);
}

static bool any_running(struct worker *w, bool *stalled)
{
    bool running = false;

    *stalled = false;
    for (int i = 0; i < w->nclients; i++) {
        running |= w->clients[i].step != DONE;
        *stalled |= w->clients[i].step == STALLED;
    }
    return running;
}

static void *worker_run(void *arg)
{
    struct worker *w = arg;
    struct epoll_event evs[64];
    bool stalled;

    for (int i = 0; i < w->nclients; i++)
        next_hold(&w->clients[i], now_ns());
    while (any_running(w, &stalled)) {
        int n = epoll_wait(w->epfd, evs, 64, stalled ? 1 : 100);
        for (int i = 0; i < n; i++) {
            struct client *c = evs[i].data.ptr;
            bool in = evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP),
                 out = evs[i].events & EPOLLOUT;
            if (mode == REDIS || mode == HTTP) {
                if (out)
                    sock_writable(c);
                if (in && mode == REDIS)
                    redis_readable(c);
                else if (in)
                    http_readable(c);
            } else {
                if (out)
                    pg_flush(c);
                if (in)
                    pg_readable(c);
            }
        }
        if (stalled)
            for (int i = 0; i < w->nclients; i++)
                if (w->clients[i].step == STALLED)
                    next_hold(&w->clients[i], now_ns());
    }
    return NULL;
}

static PGconn *pg_connect(void)
{
    PGconn *pg = PQconnectdb(target);

    if (PQstatus(pg) != CONNECTION_OK)
        die("connect to PostgreSQL", PQerrorMessage(pg));
    return pg;
}

static void pg_exec(PGconn *pg, const char *sql)
{
    PGresult *r = PQexec(pg, sql);
    ExecStatusType st = PQresultStatus(r);

    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        die(sql, PQerrorMessage(pg));
    PQclear(r);
}

static void pg_prepare(PGconn *pg, const char *name, const char *sql)
{
    PGresult *r = PQprepare(pg, name, sql, 0, NULL);

    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        die(name, PQerrorMessage(pg));
    PQclear(r);
}

static void pg_open(struct client *c)
{
    c->pg = pg_connect();
    pg_exec(c->pg, "SET client_min_messages = warning");
    pg_prepare(c->pg, "lock",
               "SELECT hold_id IS NULL OR held_until < now() FROM seat"
               " WHERE event_id = $1 AND seat_no IN ($2, $3) FOR UPDATE");
    pg_prepare(c->pg, "seize",
               "UPDATE seat SET hold_id = $4, held_until = now() + interval '5 minutes'"
               " WHERE event_id = $1 AND seat_no IN ($2, $3)");
    pg_prepare(c->pg, "record",
               "INSERT INTO hold VALUES ($4, $1, $2, $3, now() + interval '5 minutes')");
    pg_prepare(c->pg, "hold", "SELECT bench_hold($1, $2, $3, $4)");
    if (PQsetnonblocking(c->pg, 1) != 0 || !PQenterPipelineMode(c->pg))
        die("pipeline mode", PQerrorMessage(c->pg));
    c->fd = PQsocket(c->pg);
}

static void pg_create_event(PGconn *pg, int event)
{
    char sql[160];

    snprintf(sql, sizeof sql,
             "INSERT INTO seat (event_id, seat_no) SELECT %d, g FROM generate_series(1, %d) g",
             event, seats_per_event);
    pg_exec(pg, sql);
    atomic_store(&events_ready, event);
}

/* Keeps EVENTS_AHEAD events' seats ready past the one being dealt. */
static void *producer_run(void *arg)
{
    PGconn *pg = arg;

    while (!atomic_load(&stopping)) {
        int dealing = (int)(atomic_load(&dealt_pairs) / (uint64_t)(seats_per_event / 2)) + 1;
        if (atomic_load(&events_ready) < dealing + EVENTS_AHEAD)
            pg_create_event(pg, atomic_load(&events_ready) + 1);
        else
            usleep(2000);
    }
    return NULL;
}

/* TARGET as HOST:PORT (an IPv4 address). */
static int host_port(char *host, size_t cap)
{
    const char *colon = strrchr(target, ':');

    if (!colon || (size_t)(colon - target) >= cap)
        die("redis target is not HOST:PORT", target);
    memcpy(host, target, (size_t)(colon - target));
    host[colon - target] = '\0';
    return atoi(colon + 1);
}

/* A client's own non-blocking socket; hiredis only formats and parses. */
static int tcp_socket(void)
{
    char host[64];
    struct sockaddr_in sa = {.sin_family = AF_INET};
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1, port = host_port(host, sizeof host);

    sa.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
        die("redis target", host);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0)
        die("connect to redis", strerror(errno));
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) != 0)
        die("fcntl", strerror(errno));
    return fd;
}

static redisContext *redis_control(void)
{
    char host[64];
    int port = host_port(host, sizeof host);
    redisContext *rc = redisConnect(host, port);

    if (rc == NULL || rc->err)
        die("connect to redis", rc ? rc->errstr : "no memory");
    return rc;
}

static redisReply *redis_cmd(redisContext *rc, const char *fmt, const char *arg)
{
    redisReply *r = redisCommand(rc, fmt, arg);

    if (r == NULL || r->type == REDIS_REPLY_ERROR)
        die(fmt, r ? r->str : rc->errstr);
    return r;
}

/* Keys matching pattern in the whole keyspace. */
static uint64_t redis_count(redisContext *rc, const char *pattern)
{
    char cursor[32] = "0";
    uint64_t n = 0;

    do {
        redisReply *r = redisCommand(rc, "SCAN %s MATCH %s COUNT 10000", cursor, pattern);
        if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 2)
            die("SCAN", rc->errstr);
        snprintf(cursor, sizeof cursor, "%s", r->element[0]->str);
        n += r->element[1]->elements;
        freeReplyObject(r);
    } while (strcmp(cursor, "0") != 0);
    return n;
}

/* http: the events made by the caller, in the order they are filled; the
 * clients wait (and say so) if they fill them all. */
static void http_load_events(void)
{
    const char *env = getenv("BOXOFFICE_COMPARE_EVENTS");
    char *copy, *save = NULL;
    int n = 0;

    if (env == NULL || (copy = strdup(env)) == NULL)
        die("http", "BOXOFFICE_COMPARE_EVENTS names no event");
    http_events = calloc(strlen(env) / 2 + 1, sizeof(char *));
    for (char *t = strtok_r(copy, " ", &save); t != NULL; t = strtok_r(NULL, " ", &save))
        http_events[n++] = t;
    if (n == 0)
        die("http", "BOXOFFICE_COMPARE_EVENTS names no event");
    atomic_store(&events_ready, n);
}

static void setup(struct worker *ws, int nthreads, int clients, void **control)
{
    if (mode == REDIS) {
        redisContext *rc = redis_control();
        freeReplyObject(redis_cmd(rc, "FLUSHALL", NULL));
        redisReply *r = redis_cmd(rc, "SCRIPT LOAD %s", LUA);
        snprintf(redis_sha, sizeof redis_sha, "%s", r->str);
        freeReplyObject(r);
        atomic_store(&events_ready, INT32_MAX);
        *control = rc;
    } else if (mode == HTTP) {
        http_load_events();
    } else {
        PGconn *pg = pg_connect();
        pg_exec(pg, "SET client_min_messages = warning");
        pg_exec(pg, SCHEMA);
        for (int e = 1; e <= EVENTS_AHEAD + 1; e++)
            pg_create_event(pg, e);
        *control = pg;
    }
    for (int i = 0; i < clients; i++) {
        struct worker *w = &ws[i % nthreads];
        struct client *c = &w->clients[w->nclients++];
        c->w = w;
        if (mode == REDIS || mode == HTTP) {
            c->fd = tcp_socket();
            c->rd = mode == REDIS ? redisReaderCreate() : NULL;
        } else {
            pg_open(c);
        }
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
        if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, c->fd, &ev) != 0)
            die("epoll_ctl", strerror(errno));
    }
}

static uint64_t pg_count(PGconn *pg, const char *sql)
{
    PGresult *r = PQexec(pg, sql);
    uint64_t n;

    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        die(sql, PQerrorMessage(pg));
    n = strtoull(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return n;
}

/* The leg's own check: seats held vs successful holds x 2, holds stored vs
 * successful holds; true when they agree. */
static bool check(void *control, uint64_t ok)
{
    uint64_t seats, holds, linked;

    if (mode == HTTP) {
        printf("check: by the caller (bench_compare.sh reads back every event's availability)\n");
        return true;
    }
    if (mode == REDIS) {
        seats = redis_count(control, "s:*");
        holds = redis_count(control, "h:*");
        linked = seats;
    } else {
        seats = pg_count(
            control, "SELECT count(*) FROM seat WHERE hold_id IS NOT NULL AND held_until > now()");
        holds = pg_count(control, "SELECT count(*) FROM hold");
        linked =
            pg_count(control, "SELECT count(*) FROM hold h JOIN seat s ON s.event_id = h.event_id"
                              " AND s.seat_no IN (h.seat_a, h.seat_b) AND s.hold_id = h.id");
    }
    printf("check: %llu seats held, %llu successful holds x 2 = %llu; %llu holds stored; "
           "%llu seats pointing at their hold: %s\n",
           (unsigned long long)seats, (unsigned long long)ok, (unsigned long long)(2 * ok),
           (unsigned long long)holds, (unsigned long long)linked,
           seats == 2 * ok && holds == ok && linked == 2 * ok ? "ok"
                                                              : "FAIL (a seat held twice or lost)");
    return seats == 2 * ok && holds == ok && linked == 2 * ok;
}

static double cpu_s(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

static double percentile_ms(const uint64_t *hist, uint64_t total, double p)
{
    uint64_t want = (uint64_t)(p * (double)total + 0.5), seen = 0;

    for (int b = 0; b < HIST_BUCKETS; b++) {
        seen += hist[b];
        if (seen >= want && seen > 0)
            return (double)(b + 1) * HIST_US / 1000.0;
    }
    return 0;
}

static const char *mode_name(void)
{
    return mode == REDIS          ? "redis"
           : mode == HTTP         ? "boxoffice_http"
           : mode == PG_FORUPDATE ? "pg_forupdate"
                                  : "pg_condupdate";
}

static void parse_args(int argc, char **argv, int *clients, double *seconds, int *nthreads)
{
    const char *env;

    if (argc != 5)
        die("usage", "bench_peers pg-forupdate|pg-condupdate|redis|http TARGET CLIENTS SECONDS");
    if (strcmp(argv[1], "pg-forupdate") == 0)
        mode = PG_FORUPDATE;
    else if (strcmp(argv[1], "pg-condupdate") == 0)
        mode = PG_CONDUPDATE;
    else if (strcmp(argv[1], "redis") == 0)
        mode = REDIS;
    else if (strcmp(argv[1], "http") == 0)
        mode = HTTP;
    else
        die("unknown mode", argv[1]);
    target = argv[2];
    *clients = atoi(argv[3]);
    *seconds = atof(argv[4]);
    if ((env = getenv("BOXOFFICE_COMPARE_SEATS")) != NULL)
        seats_per_event = atoi(env);
    *nthreads = (env = getenv("BOXOFFICE_COMPARE_CLIENT_THREADS")) != NULL ? atoi(env) : 2;
    if (*clients < 1 || *clients > MAX_CLIENTS || *seconds <= 0 || *seconds > 3600 ||
        seats_per_event < 4 || seats_per_event % 2 != 0 || seats_per_event > 1000000 ||
        *nthreads < 1 || *nthreads > MAX_THREADS)
        die("bad arguments",
            "CLIENTS 1..1024, SECONDS 0..3600, even SEATS 4..1000000, THREADS 1..16");
    if (*nthreads > *clients)
        *nthreads = *clients;
}

int main(int argc, char **argv)
{
    int clients, nthreads;
    double seconds, cpu0, cpu1;
    struct worker ws[MAX_THREADS] = {0};
    static uint64_t hist[HIST_BUCKETS];
    uint64_t ok = 0, in_window = 0, refused = 0, errors = 0, answered = 0, t0;
    void *control = NULL;
    pthread_t producer;
    bool good;

    parse_args(argc, argv, &clients, &seconds, &nthreads);
    for (int t = 0; t < nthreads; t++) {
        ws[t].epfd = epoll_create1(0);
        ws[t].clients = calloc((size_t)clients, sizeof(struct client));
        ws[t].hist = calloc(HIST_BUCKETS, sizeof(uint64_t));
        if (ws[t].epfd < 0 || !ws[t].clients || !ws[t].hist)
            die("setup", "no memory");
    }
    setup(ws, nthreads, clients, &control);
    if (mode != REDIS && mode != HTTP &&
        pthread_create(&producer, NULL, producer_run, pg_connect()) != 0)
        die("pthread_create", "producer");
    cpu0 = cpu_s();
    t0 = now_ns();
    deadline_ns = t0 + (uint64_t)(seconds * 1e9);
    for (int t = 0; t < nthreads; t++)
        if (pthread_create(&ws[t].tid, NULL, worker_run, &ws[t]) != 0)
            die("pthread_create", "worker");
    for (int t = 0; t < nthreads; t++) {
        pthread_join(ws[t].tid, NULL);
        ok += ws[t].ok, in_window += ws[t].ok_in_window, refused += ws[t].refused,
            errors += ws[t].errors;
        for (int b = 0; b < HIST_BUCKETS; b++)
            hist[b] += ws[t].hist[b];
        if (ws[t].first_error[0])
            fprintf(stderr, "bench_peers: first error: %s\n", ws[t].first_error);
    }
    cpu1 = cpu_s();
    atomic_store(&stopping, true);
    if (mode != REDIS && mode != HTTP)
        pthread_join(producer, NULL);
    answered = ok + refused + errors;
    printf("%s: %d clients, %.1f s: %llu holds (%llu in the window), %llu refused, %llu errors; "
           "%d events used; clients waited %.0f ms for fresh events%s; client CPU %.2f cores\n",
           mode_name(), clients, seconds, (unsigned long long)ok, (unsigned long long)in_window,
           (unsigned long long)refused, (unsigned long long)errors,
           (int)(atomic_load(&dealt_pairs) / (uint64_t)(seats_per_event / 2)) + 1,
           atomic_load(&event_wait_ns) / 1e6,
           atomic_load(&stalled_at_end) ? " (RAN OUT of events: holds/s is a lower bound)" : "",
           (cpu1 - cpu0) / seconds);
    good = check(control, ok) && errors == 0;
    printf("result design=%s clients=%d holds_per_s=%.0f p50_ms=%.2f p99_ms=%.2f holds=%llu "
           "check=%s\n",
           mode_name(), clients, (double)in_window / seconds, percentile_ms(hist, answered, 0.50),
           percentile_ms(hist, answered, 0.99), (unsigned long long)ok, good ? "ok" : "FAIL");
    return good ? 0 : 1;
}
