/*
 * http_internal.h - what the files of src/http share: the server, its
 * per-thread loops, routes, the per-request state and the cross-thread post
 * queue. Nothing outside src/http includes it.
 *
 * One bo__loop_t per thread owns an h2o context, its listening socket and
 * everything created on it (requests, SSE streams, log buffer, statistics);
 * other threads reach it only through bo__loop_post.
 */
#ifndef BOXOFFICE_HTTP_INTERNAL_H
#define BOXOFFICE_HTTP_INTERNAL_H

#define H2O_USE_LIBUV 0
#include <h2o.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <time.h>

#include "boxoffice/http.h"

/* ---- cross-thread posts (async.c) ---- */

/* Work for a loop thread. run(p, 1) runs on the loop; run(p, 0) on the
 * poster's thread when the loop has already stopped. */
typedef struct bo__post bo__post_t;
struct bo__post {
    bo__post_t *next;
    void (*run)(bo__post_t *p, int alive);
};

/* ---- statistics of requests per route (access_log.c records, metrics.c
 * renders). One array per loop: single writer, relaxed atomics. ---- */

#define BO__STATUS_SLOTS 12u
#define BO__LAT_BUCKETS  14u
extern const double bo__lat_bounds_s[BO__LAT_BUCKETS];

typedef struct bo__route_stats {
    _Atomic int status[BO__STATUS_SLOTS]; /* 0: free slot; the rest go to the last */
    _Atomic uint64_t count[BO__STATUS_SLOTS];
    _Atomic uint64_t lat[BO__LAT_BUCKETS]; /* per bucket, not cumulative */
    _Atomic uint64_t lat_count;
    _Atomic uint64_t lat_sum_us;
} bo__route_stats_t;

/* Pseudo routes after the registered ones. */
#define BO__ROUTE_STATIC    0u /* + nroutes: the web root */
#define BO__ROUTE_UNMATCHED 1u /* + nroutes: 404, 405, protocol errors */
#define BO__ROUTE_EXTRA     2u

/* ---- routes (router.c) ---- */

typedef struct bo__route {
    char method[16];
    char *pattern;
    char *segs[BO_HTTP_MAX_SEGMENTS]; /* literal, or the parameter's name */
    uint32_t param_mask;              /* bit i: segment i is a {param} */
    unsigned nsegs;
    bo_handler_fn fn;
    void *arg;
    size_t max_body;        /* bytes; 0: the server's */
    bo_http_guard_fn guard; /* NULL, or who may send bodies past the server's limit */
} bo__route_t;

/* ---- a loop thread (server.c) ---- */

typedef struct bo__loop {
    bo_server_t *srv;
    unsigned index;
    pthread_t tid;
    bool started;
    int listen_fd;
    int stop_fds[2]; /* socketpair: bo_server_stop writes, the loop reads */
    h2o_context_t ctx;
    h2o_accept_ctx_t accept;
    h2o_socket_t *listener;
    h2o_socket_t *stop_sock;
    /* posts from other threads (async.c) */
    h2o_multithread_receiver_t wake;
    h2o_multithread_message_t kick; /* in flight while kicked */
    pthread_mutex_t post_mu;
    bo__post_t *post_head, **post_tail; /* under post_mu */
    bool kicked;                        /* under post_mu */
    bool closed;                        /* under post_mu: posts are refused */
    /* loop thread only */
    bool stopping;
    uint64_t deadline_ms;
    h2o_linklist_t sse_streams;
    h2o_timeout_t sse_timeout;
    h2o_timeout_t log_timeout;
    h2o_timeout_entry_t log_flush;
    h2o_linklist_t late_bodies; /* guard.c: guarded bodies being read */
    h2o_timeout_t late_timeout; /* guard.c: keepalive_ms without progress */
    void *log_chunk;            /* access_log.c: the access-log chunk being filled */
    time_t log_sec;             /* access_log.c: log_date formats this second */
    char log_date[24];
    bo__route_stats_t *stats;         /* nroutes + BO__ROUTE_EXTRA */
    bool accept_paused;               /* conns.c: the listener is not read */
    h2o_timeout_entry_t accept_retry; /* conns.c: look again in 100 ms */
} bo__loop_t;

typedef struct bo__static bo__static_t;
typedef struct bo__access_log bo__access_log_t;

struct bo_server {
    /* configuration, fixed at bo_server_new */
    char *listen, *url, *web_root_cfg;
    size_t max_body;
    uint32_t keepalive_ms, shutdown_ms;
    struct sockaddr_storage addr;
    socklen_t addrlen;
    uint16_t port;     /* bound */
    uint16_t port_cfg; /* asked for (0: the kernel chooses) */
    SSL_CTX *ssl;
    h2o_globalconf_t conf;
    h2o_hostconf_t *host;
    h2o_pathconf_t *pathconf; /* "/": every request goes to the router */
    char *csp_connect;        /* static.c: more connect-src origins, or NULL */
    bo__static_t *web;
    bo__access_log_t *log;
    bo_metrics_t *metrics;
    struct bo__at_free {
        void (*fn)(void *arg);
        void *arg;
    } * at_free, *at_stop;
    unsigned nat_free, nat_stop;
    /* routes, fixed once running */
    bo__route_t *routes;
    unsigned nroutes;
    /* connections (conns.c) */
    unsigned max_conns;             /* accepted at once at most, fixed at bo_server_new */
    atomic_uint nconns;             /* open now, over every loop */
    _Atomic uint64_t accept_pauses; /* times a loop stopped accepting */
    /* threads */
    bo__loop_t *loops;
    unsigned nloops;
    atomic_int stop;
    bool ran;
    atomic_bool running;
};

static inline bo__loop_t *bo__loop_of(h2o_context_t *ctx)
{
    return (bo__loop_t *)((char *)ctx - offsetof(bo__loop_t, ctx));
}

/* ---- the request (router.c builds it, in the request's pool) ---- */

struct bo_http_req {
    h2o_req_t *req;
    bo__loop_t *loop;
    int route; /* index into srv->routes, or nroutes + BO__ROUTE_* */
    const char *method;
    const char *path; /* raw, without the query */
    const char *params[BO_HTTP_MAX_PARAMS];
    bool head;
    bool answered;
    struct bo__late_body *late; /* guard.c: the answer goes through it */
    bool deferred;              /* async or SSE begun: the handler's return answers nothing */
    /* client.c: the client address, worked out once per request (every
     * limit, cap and idempotency key of a request asks for it) */
    const bo_http_trusted_t *client_of; /* the proxies it was worked out with */
    const char *client;
};

/* The env key under which a dispatched request stores its bo_http_req_t. */
#define BO__ENV_KEY "bo.r"
bo_http_req_t *bo__req_of(h2o_req_t *req);

/* ---- shared helpers ---- */

/* head.c: what h2o (2.2.5) keeps to itself of an HTTP/1 request head.
 * h2o takes Content-Length and Transfer-Encoding out of req->headers and
 * frames the body by the last Transfer-Encoding, else the first
 * Content-Length; the head stays at the start of the socket's input until
 * the answer is written. */
typedef struct bo__http1_head {
    size_t len;            /* bytes of request line and headers */
    size_t content_length; /* the first one's value; SIZE_MAX: none or not a number */
    unsigned n_content_length, n_transfer_encoding;
    bool lengths_differ;  /* two Content-Length values that are not the same number */
    bool expect_continue; /* Expect: 100-continue */
} bo__http1_head_t;
/* Parse the head at the start of req's HTTP/1 socket input. Returns 0, or
 * -1 (HTTP/2, no socket, or no complete head there). */
int bo__http1_head(h2o_req_t *req, bo__http1_head_t *out);
/* NULL when the framing is unambiguous, else why it is not: both
 * Content-Length and Transfer-Encoding, two Transfer-Encodings, or
 * Content-Lengths that differ (request smuggling behind a proxy). */
const char *bo__http1_framing_problem(const bo__http1_head_t *h);

/* listen.c */
int bo__parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *len, uint16_t *port);
int bo__listen_socket(const struct sockaddr_storage *ss, socklen_t len, int reuseport);
int bo__tls_new(const char *cert, const char *key, SSL_CTX **out);
char *bo__format_url(const struct sockaddr_storage *ss, int tls);

/* router.c */
int bo__router_install(bo_server_t *srv);
void bo__router_free(bo_server_t *srv);
/* The route index of method + path (raw, with or without a query), or -1. */
int bo__router_find(bo_server_t *srv, const char *method, size_t mlen, const char *path,
                    size_t plen);
/* Run route idx's handler for req, whose body is now in req->entity and
 * whose answer goes through late (guard.c). */
void bo__router_dispatch_late(bo_server_t *srv, h2o_req_t *req, int idx,
                              struct bo__late_body *late);

/* guard.c: h2o refused req (413) at its head, before reading its body
 * (or, chunked, once past its limit): when its route is guarded, ask the
 * guard. Returns 0 when this does nothing (an ordinary 413 follows),
 * BO_EUNAUTHORIZED or BO_EFORBIDDEN (the guard refused: the router
 * answers that), 2 (accepted, but a chunked body, past the server's limit,
 * that h2o has begun: 413 asking for a Content-Length), or 1 once it took
 * the answer over (*slot: its ostream; the rest of the chain follows it):
 * the body is read by guard.c, then the handler runs. */
int bo__guard_take(bo_server_t *srv, h2o_req_t *req, h2o_ostream_t **slot);
/* The answer of a request whose body guard.c read: status and headers in
 * req->res, body (final). */
void bo__guard_send(struct bo__late_body *late, h2o_req_t *req, h2o_iovec_t body);
/* After req's final error answer was handed to h2o on a connection that
 * closes with its body unread: FIN after the answer and drop what the
 * client still sends for a while, so that it reads the answer rather than
 * a reset. */
void bo__guard_linger(h2o_req_t *req);
void bo__guard_loop_init(bo__loop_t *loop);
void bo__guard_loop_dispose(bo__loop_t *loop);

/* router.c: whether every name and value of the query string p..end
 * (after its '?') decodes (%XX, '+' as a space) to UTF-8 without NUL: 0,
 * or BO_EINVAL with *bad_name (in buf, end - p + 1 bytes of scratch) and
 * *bad_len naming the parameter whose value is bad (NULL when its name is
 * bad: nothing readable to name). */
int bo__query_check(const char *p, const char *end, char *buf, const char **bad_name,
                    size_t *bad_len);

/* request.c: body[0..len) as a JSON object nested at most max_depth deep
 * (0: BO_HTTP_DEFAULT_JSON_DEPTH), duplicate keys refused: 0 and *out (the
 * caller's), or which refusal (err filled for BO__JSON_INVALID). What
 * bo_http_json_body reads, without a request (tests/fuzz). */
enum { BO__JSON_EMPTY = 1, BO__JSON_DEEP, BO__JSON_INVALID, BO__JSON_NOT_OBJECT };
int bo__json_object_read(const char *body, size_t len, unsigned max_depth, json_t **out,
                         json_error_t *err);

/* response.c */
const char *bo__reason(int status);
/* Answer with body (which must outlive the request: pool or static). */
int bo__send(bo_http_req_t *r, int status, const char *ctype, h2o_iovec_t body);

/* async.c */
int bo__loop_post(bo__loop_t *loop, bo__post_t *p);
void bo__loop_posts_init(bo__loop_t *loop);
void bo__loop_close_posts(bo__loop_t *loop);

/* conns.c: the connection cap. bo__conns_setup raises the open-file
 * limit for wanted connections (0: the default) and sets srv->max_conns;
 * bo__conns_on_accept is the listener's read callback; bo__conns_loop_stop
 * ends a pause as the loop stops; bo__conns_collect renders the metrics. */
void bo__conns_setup(bo_server_t *srv, unsigned wanted);
void bo__conns_on_accept(h2o_socket_t *listener, const char *err);
void bo__conns_loop_stop(bo__loop_t *loop);
void bo__conns_collect(void *srv, bo_metrics_out_t *out);

/* sse.c */
void bo__sse_loop_init(bo__loop_t *loop);
void bo__sse_loop_stop(bo__loop_t *loop);

/* static.c */
int bo__static_new(const char *root, bo__static_t **out);
void bo__static_free(bo__static_t *st);
int bo__static_serve(bo__static_t *st, bo_http_req_t *r);

/* access_log.c */
int bo__access_log_new(const char *path, bo__access_log_t **out);
void bo__access_log_free(bo__access_log_t *log);
int bo__access_log_start(bo__access_log_t *log);
void bo__access_log_join(bo__access_log_t *log);
int bo__access_log_install(bo_server_t *srv);
void bo__access_log_loop_init(bo__loop_t *loop);
void bo__access_log_loop_flush(bo__loop_t *loop);
uint64_t bo__access_log_dropped(bo__access_log_t *log);

/* metrics.c */
int bo__metrics_new(bo_metrics_t **out);
void bo__metrics_free(bo_metrics_t *m);
void bo__http_stats_collect(void *srv, bo_metrics_out_t *out);

#endif
