/*
 * access_log.c - what happens once a request is done: its route's
 * statistics (status, latency) are counted, and one JSON line is written to
 * the access log: {"time","method","path","route","status","bytes",
 * "latency_us","remote","proto"}. "path" is the request target, query
 * included, with its capabilities redacted (redact.c: hold ids become a
 * tag, secret=, token= and the like "[redacted]"). The file is created
 * 0600, and an existing one wider than that is narrowed to 0600 (with a
 * warning): it holds clients' addresses and order ids.
 *
 * Workload: every request, ~10^5/s across the loops. A loop appends lines
 * to its own 32 KiB chunk and hands the chunk to a writer thread when full
 * or 200 ms after its first line; only the writer calls write(2), so a slow
 * disk or a stderr pipe nobody reads never blocks a loop. Past 8 MiB queued
 * the writer is behind: chunks are dropped and counted (a metric).
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "boxoffice/error.h"
#include "http/http_internal.h"
#include "util/assert.h"
#include "http/redact.h"
#include "util/hex.h"

#define CHUNK_BYTES     (32u << 10)
#define MAX_QUEUED      (8u << 20)
#define FLUSH_AFTER_MS  200u
#define MAX_LINE        1024u /* a line's fields are cut to fit */
#define MAX_LOGGED_PATH 512u

typedef struct chunk {
    struct chunk *next;
    size_t len;
    size_t lines;
    char data[CHUNK_BYTES];
} chunk_t;

struct bo__access_log {
    int fd; /* -1: no log (statistics only) */
    bool own_fd;
    pthread_t tid;
    bool started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    chunk_t *head, **tail; /* under mu */
    size_t queued;         /* under mu */
    bool stop;             /* under mu */
    _Atomic uint64_t dropped;
    unsigned char tag_key[BO_REDACT_KEY_BYTES]; /* hold ids' tags: random per process */
};

typedef struct logger {
    h2o_logger_t super;
    bo_server_t *srv;
} logger_t;

/* A regular log file readable or writable by others than its owner is
 * narrowed to 0600 (the umask does not apply to an existing file); a pipe
 * or a device (/dev/stdout) is left alone. Returns 0 or -1 (errno). */
static int narrow_mode(int fd, const char *path)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return -1;
    if (!S_ISREG(st.st_mode) || (st.st_mode & 0077) == 0)
        return 0;
    if (fchmod(fd, st.st_mode & 0700) != 0)
        return -1;
    fprintf(stderr, "boxoffice: the access log %s was mode %04o: now %04o\n", path,
            (unsigned)(st.st_mode & 07777), (unsigned)(st.st_mode & 0700));
    return 0;
}

int bo__access_log_new(const char *path, bo__access_log_t **out)
{
    bo__access_log_t *log = calloc(1, sizeof(*log));
    if (!log)
        return BO_ENOMEM;
    pthread_mutex_init(&log->mu, NULL);
    pthread_cond_init(&log->cv, NULL);
    log->tail = &log->head;
    log->fd = STDERR_FILENO;
    if (path && !strcmp(path, "off")) {
        log->fd = -1;
    } else if (path && strcmp(path, "-")) {
        log->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        log->own_fd = true;
        if (log->fd < 0 || narrow_mode(log->fd, path)) {
            fprintf(stderr, "boxoffice: cannot open the access log %s: %m\n", path);
            bo__access_log_free(log);
            return BO_EINVAL;
        }
    }
    if (sodium_init() < 0) {
        bo__access_log_free(log);
        return BO_EIO;
    }
    randombytes_buf(log->tag_key, sizeof(log->tag_key));
    *out = log;
    return 0;
}

static void write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return; /* a log that cannot be written is not worth stopping for */
        p += n;
        len -= (size_t)n;
    }
}

static void *writer_main(void *arg)
{
    bo__access_log_t *log = arg;
    for (;;) {
        pthread_mutex_lock(&log->mu);
        while (!log->head && !log->stop)
            pthread_cond_wait(&log->cv, &log->mu);
        chunk_t *c = log->head;
        bool stop = log->stop;
        BO_ASSERT((c == NULL) == (log->tail == &log->head) && (c != NULL || log->queued == 0));
        log->head = NULL;
        log->tail = &log->head;
        log->queued = 0;
        pthread_mutex_unlock(&log->mu);
        if (!c && stop)
            return NULL;
        while (c) {
            chunk_t *next = c->next;
            write_all(log->fd, c->data, c->len);
            free(c);
            c = next;
        }
    }
}

int bo__access_log_start(bo__access_log_t *log)
{
    if (log->fd < 0)
        return 0;
    if (pthread_create(&log->tid, NULL, writer_main, log) != 0)
        return BO_ENOMEM;
    log->started = true;
    return 0;
}

/* After the loops have flushed: write what is queued, stop the writer. */
void bo__access_log_join(bo__access_log_t *log)
{
    if (!log->started)
        return;
    pthread_mutex_lock(&log->mu);
    log->stop = true;
    pthread_cond_signal(&log->cv);
    pthread_mutex_unlock(&log->mu);
    pthread_join(log->tid, NULL);
    log->started = false;
}

void bo__access_log_free(bo__access_log_t *log)
{
    if (!log)
        return;
    for (chunk_t *c = log->head, *next; c; c = next) {
        next = c->next;
        free(c);
    }
    if (log->own_fd && log->fd >= 0)
        close(log->fd);
    pthread_cond_destroy(&log->cv);
    pthread_mutex_destroy(&log->mu);
    free(log);
}

uint64_t bo__access_log_dropped(bo__access_log_t *log)
{
    return atomic_load_explicit(&log->dropped, memory_order_relaxed);
}

/* ---- loop side ---- */

void bo__access_log_loop_flush(bo__loop_t *loop)
{
    bo__access_log_t *log = loop->srv->log;
    chunk_t *c = loop->log_chunk;
    if (!c)
        return;
    loop->log_chunk = NULL;
    if (h2o_timeout_is_linked(&loop->log_flush))
        h2o_timeout_unlink(&loop->log_flush);
    pthread_mutex_lock(&log->mu);
    bool keep = log->started && log->queued + c->len <= MAX_QUEUED;
    if (keep) {
        BO_ASSERT(*log->tail == NULL && c->len > 0);
        c->next = NULL;
        *log->tail = c;
        log->tail = &c->next;
        log->queued += c->len;
        pthread_cond_signal(&log->cv);
    }
    pthread_mutex_unlock(&log->mu);
    if (!keep) {
        atomic_fetch_add_explicit(&log->dropped, c->lines, memory_order_relaxed);
        free(c);
    }
}

static void on_flush_timer(h2o_timeout_entry_t *entry)
{
    bo__loop_t *loop = (bo__loop_t *)((char *)entry - offsetof(bo__loop_t, log_flush));
    bo__access_log_loop_flush(loop);
}

void bo__access_log_loop_init(bo__loop_t *loop)
{
    h2o_timeout_init(loop->ctx.loop, &loop->log_timeout, FLUSH_AFTER_MS);
    loop->log_flush.cb = on_flush_timer;
}

/* Room for one more line in the loop's chunk, or NULL (line dropped). */
static chunk_t *chunk_for_line(bo__loop_t *loop)
{
    chunk_t *c = loop->log_chunk;
    if (c && CHUNK_BYTES - c->len < MAX_LINE) {
        bo__access_log_loop_flush(loop);
        c = NULL;
    }
    if (!c) {
        if (!(c = malloc(sizeof(*c))))
            return NULL;
        c->len = c->lines = 0;
        loop->log_chunk = c;
        h2o_timeout_link(loop->ctx.loop, &loop->log_timeout, &loop->log_flush);
    }
    return c;
}

/* Append s (n bytes) JSON-escaped; bytes >= 0x80 too, so a line stays
 * valid JSON whatever a client sent. Stops at end. */
static char *put_escaped(char *p, const char *end, const char *s, size_t n)
{
    for (size_t i = 0; i < n && end - p > 6; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            *p++ = '\\';
            *p++ = (char)c;
        } else if (c < 0x20 || c >= 0x7f) {
            memcpy(p, "\\u00", 4);
            p[4] = bo_hex_digit(c >> 4, 0);
            p[5] = bo_hex_digit(c, 0);
            p += 6;
        } else {
            *p++ = (char)c;
        }
    }
    return p;
}

/* RFC 3339 UTC with milliseconds; the date part is cached per second. */
static void format_time(bo__loop_t *loop, char *buf, size_t cap, const struct timeval *tv)
{
    if (tv->tv_sec != loop->log_sec || !loop->log_date[0]) {
        struct tm tm;
        time_t t = tv->tv_sec;
        gmtime_r(&t, &tm);
        strftime(loop->log_date, sizeof(loop->log_date), "%Y-%m-%dT%H:%M:%S", &tm);
        loop->log_sec = tv->tv_sec;
    }
    snprintf(buf, cap, "%s.%03dZ", loop->log_date, (int)(tv->tv_usec / 1000));
}

static void write_line(bo__loop_t *loop, h2o_req_t *req, int status, const char *route,
                       int64_t latency_us)
{
    chunk_t *c = chunk_for_line(loop);
    if (!c)
        return;
    char *p = c->data + c->len, *end = p + MAX_LINE - 2, ts[40], host[NI_MAXHOST] = "unknown";
    struct sockaddr_storage ss;
    socklen_t sl = req->conn->callbacks->get_peername(req->conn, (struct sockaddr *)&ss);
    if (sl)
        h2o_socket_getnumerichost((struct sockaddr *)&ss, sl, host);
    format_time(loop, ts, sizeof(ts), &req->timestamps.request_begin_at);
    char target[MAX_LOGGED_PATH];
    size_t tlen = bo__redact_target(req->path.base, req->path.len, target, sizeof(target),
                                    loop->srv->log->tag_key);
    p += snprintf(p, (size_t)(end - p), "{\"time\":\"%s\",\"method\":\"", ts);
    p = put_escaped(p, end - 200, req->method.base, req->method.len < 16 ? req->method.len : 16);
    p += snprintf(p, (size_t)(end - p), "\",\"path\":\"");
    p = put_escaped(p, end - 200, target, tlen);
    p += snprintf(p, (size_t)(end - p),
                  "\",\"route\":%s%s%s,\"status\":%d,\"bytes\":%zu,\"latency_us\":%lld,"
                  "\"remote\":\"%s\",\"proto\":\"HTTP/%s\"}\n",
                  route ? "\"" : "", route ? route : "null", route ? "\"" : "", status,
                  req->bytes_sent, (long long)latency_us, host,
                  req->version >= 0x200   ? "2"
                  : req->version == 0x100 ? "1.0"
                                          : "1.1");
    if (p > end) /* cut: keep the chunk's lines whole */
        return;
    c->len = (size_t)(p - c->data);
    c->lines++;
}

/* One writer per array (this loop): plain relaxed load + store. */
static void bump(_Atomic uint64_t *v, uint64_t n)
{
    atomic_store_explicit(v, atomic_load_explicit(v, memory_order_relaxed) + n,
                          memory_order_relaxed);
}

static void count(bo__route_stats_t *st, int status, int64_t latency_us)
{
    unsigned k = 0;
    for (; k < BO__STATUS_SLOTS - 1; k++) {
        int s = atomic_load_explicit(&st->status[k], memory_order_relaxed);
        if (s == status)
            break;
        if (s == 0) {
            atomic_store_explicit(&st->status[k], status, memory_order_relaxed);
            break;
        }
    }
    if (atomic_load_explicit(&st->status[k], memory_order_relaxed) == 0)
        atomic_store_explicit(&st->status[k], status, memory_order_relaxed);
    bump(&st->count[k], 1);
    double s = (double)latency_us / 1e6;
    for (unsigned b = 0; b < BO__LAT_BUCKETS; b++) {
        if (s <= bo__lat_bounds_s[b]) {
            bump(&st->lat[b], 1);
            break;
        }
    }
    bump(&st->lat_count, 1);
    bump(&st->lat_sum_us, (uint64_t)latency_us);
}

/* h2o calls this when it disposes of a request (answered, or abandoned by
 * the client: status 499 then). */
static void on_log_access(h2o_logger_t *self, h2o_req_t *req)
{
    bo_server_t *srv = ((logger_t *)self)->srv;
    bo__loop_t *loop = bo__loop_of(req->conn->ctx);
    bo_http_req_t *r = bo__req_of(req);
    unsigned idx = r && r->route >= 0 ? (unsigned)r->route : srv->nroutes + BO__ROUTE_UNMATCHED;
    int status = req->res.status ? req->res.status : 499;
    struct timeval now, begin = req->timestamps.request_begin_at;
    gettimeofday(&now, NULL);
    if (begin.tv_sec == 0)
        begin = req->processed_at.at;
    int64_t us = (int64_t)(now.tv_sec - begin.tv_sec) * 1000000 + (now.tv_usec - begin.tv_usec);
    if (us < 0)
        us = 0;
    if (loop->stats)
        count(&loop->stats[idx], status, us);
    const char *route = r ? bo_http_route(r) : NULL;
    if (idx == srv->nroutes + BO__ROUTE_STATIC)
        route = "(static)";
    if (srv->log->fd >= 0)
        write_line(loop, req, status, route, us);
}

int bo__access_log_install(bo_server_t *srv)
{
    logger_t *l = (logger_t *)h2o_create_logger(srv->pathconf, sizeof(*l));
    l->super.log_access = on_log_access;
    l->srv = srv;
    l = (logger_t *)h2o_create_logger(&srv->host->fallback_path, sizeof(*l));
    l->super.log_access = on_log_access;
    l->srv = srv;
    return 0;
}
