/*
 * server.c - the server's life: configuration, N event-loop threads each
 * with its own h2o context and SO_REUSEPORT listening socket (accepting
 * up to the connection cap: conns.c), and the
 * graceful stop (stop accepting, end SSE streams, let in-flight requests
 * finish within a bound, then return).
 *
 * Workload: a loop thread spends its life in h2o_evloop_run; between two
 * iterations it runs what other threads posted to it (commit answers, SSE
 * data). Nothing here is per request.
 */
#include <errno.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "boxoffice/error.h"
#include "http/http_internal.h"
#include "util/assert.h"

#if defined(__SANITIZE_ADDRESS__)
/* LeakSanitizer: h2o 2.2.5 keeps per-thread caches of recycled buffers that
 * die with their thread, and h2o_multithread_destroy_queue does not free
 * the queue. Not ours, nothing to free them with: not reported. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:h2o_mem_alloc_recycle\nleak:h2o_multithread_create_queue\n";
}
#endif

/* h2o (2.2.5) closes an HTTP/1 connection after its response once stopping,
 * but leaves idle keep-alive ones open until their timeout. Shutting an
 * idle one's socket down makes h2o read the end and close it now; a client
 * that was just sending retries, as with any keep-alive close. */
static int close_if_idle(h2o_req_t *req, void *arg)
{
    h2o_conn_t *conn = req->conn;
    h2o_socket_t *sock = conn->callbacks->get_socket ? conn->callbacks->get_socket(conn) : NULL;
    if (req->input.method.base == NULL && sock)
        shutdown(h2o_socket_get_fd(sock), SHUT_RDWR);
    return 0;
}

static void close_idle_http1(bo__loop_t *loop)
{
    h2o_protocol_callbacks_t *cb = &loop->srv->conf.http1.callbacks;
    if (cb->foreach_request)
        cb->foreach_request(&loop->ctx, close_if_idle, NULL);
}

/* Stop accepting (the kernel resets what waits in this socket's backlog),
 * ask h2o to close idle connections and send GOAWAY, end SSE streams. */
static void begin_stop(bo__loop_t *loop)
{
    if (loop->stopping)
        return;
    loop->stopping = true;
    loop->deadline_ms = h2o_now(loop->ctx.loop) + loop->srv->shutdown_ms;
    bo__conns_loop_stop(loop);
    if (loop->listener) {
        h2o_socket_read_stop(loop->listener);
        h2o_socket_close(loop->listener); /* closes listen_fd */
        loop->listener = NULL;
        loop->listen_fd = -1;
    }
    h2o_context_request_shutdown(&loop->ctx);
    bo__sse_loop_stop(loop);
    close_idle_http1(loop);
}

static void on_stop_signal(h2o_socket_t *sock, const char *err)
{
    bo__loop_t *loop = sock->data;
    char buf[64];
    while (read(loop->stop_fds[0], buf, sizeof(buf)) > 0)
        ;
    begin_stop(loop);
}

/* No connection left, TLS handshakes included (they are in no list but
 * wait on the handshake timeout). */
static bool loop_idle(bo__loop_t *loop)
{
    return h2o_linklist_is_empty(&loop->ctx.http1._conns) &&
           h2o_linklist_is_empty(&loop->ctx.http2._conns) &&
           h2o_linklist_is_empty(&loop->ctx.handshake_timeout._entries);
}

/* h2o_context_dispose asserts that nothing waits on its timeouts. */
static bool timeouts_idle(h2o_context_t *ctx)
{
    h2o_timeout_t *t[] = {&ctx->zero_timeout,       &ctx->one_sec_timeout,
                          &ctx->hundred_ms_timeout, &ctx->handshake_timeout,
                          &ctx->http1.req_timeout,  &ctx->http2.idle_timeout,
                          &ctx->proxy.io_timeout,   &ctx->http2.graceful_shutdown_timeout};
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        if (!h2o_linklist_is_empty(&t[i]->_entries))
            return false;
    return true;
}

static void loop_setup(bo__loop_t *loop)
{
    bo_server_t *srv = loop->srv;
    h2o_context_init(&loop->ctx, h2o_evloop_create(), &srv->conf);
    loop->accept.ctx = &loop->ctx;
    loop->accept.hosts = srv->conf.hosts;
    loop->accept.ssl_ctx = srv->ssl;
    bo__loop_posts_init(loop);
    loop->listener =
        h2o_evloop_socket_create(loop->ctx.loop, loop->listen_fd, H2O_SOCKET_FLAG_DONT_READ);
    loop->listener->data = loop;
    h2o_socket_read_start(loop->listener, bo__conns_on_accept);
    loop->stop_sock =
        h2o_evloop_socket_create(loop->ctx.loop, loop->stop_fds[0], H2O_SOCKET_FLAG_DONT_READ);
    loop->stop_sock->data = loop;
    h2o_socket_read_start(loop->stop_sock, on_stop_signal);
    bo__sse_loop_init(loop);
    bo__guard_loop_init(loop);
    bo__access_log_loop_init(loop);
}

/* Free the loop's h2o state when nothing is left on it; after a forced
 * stop (connections still open) it is left to the process exit. */
static void loop_teardown(bo__loop_t *loop, bool idle)
{
    bo__loop_close_posts(loop);
    bo__access_log_loop_flush(loop);
    if (!idle) {
        fprintf(stderr, "boxoffice: thread %u stopped with requests still in flight\n",
                loop->index);
        return;
    }
    if (h2o_timeout_is_linked(&loop->log_flush))
        h2o_timeout_unlink(&loop->log_flush);
    h2o_timeout_dispose(loop->ctx.loop, &loop->log_timeout);
    h2o_timeout_dispose(loop->ctx.loop, &loop->sse_timeout);
    bo__guard_loop_dispose(loop);
    h2o_socket_read_stop(loop->stop_sock);
    h2o_socket_close(loop->stop_sock); /* closes stop_fds[0] */
    loop->stop_fds[0] = -1;
    /* h2o_context_request_shutdown armed it; nothing is left for it to end */
    if (h2o_timeout_is_linked(&loop->ctx.http2._graceful_shutdown_timeout))
        h2o_timeout_unlink(&loop->ctx.http2._graceful_shutdown_timeout);
    if (!timeouts_idle(&loop->ctx) || !h2o_linklist_is_empty(&loop->wake._messages))
        return; /* something of h2o's still pending: leave it to the exit */
    h2o_evloop_t *evloop = loop->ctx.loop;
    h2o_context_dispose(&loop->ctx);
    h2o_evloop_destroy(evloop);
}

static void *loop_main(void *arg)
{
    bo__loop_t *loop = arg;
    bo_server_t *srv = loop->srv;
    loop_setup(loop);
    for (;;) {
        if (!loop->stopping && atomic_load(&srv->stop))
            begin_stop(loop);
        if (loop->stopping && (loop_idle(loop) || h2o_now(loop->ctx.loop) >= loop->deadline_ms))
            break;
        h2o_evloop_run(loop->ctx.loop, loop->stopping ? 50 : INT32_MAX);
        /* answers sent by the posts leave h2o work (write completions, the
         * next request of a keep-alive connection) that only its next run
         * does: run it now rather than at the next socket event */
        h2o_evloop_run(loop->ctx.loop, 0);
        if (loop->stopping)
            close_idle_http1(loop);
    }
    loop_teardown(loop, loop_idle(loop));
    return NULL;
}

static int config_copy(bo_server_t *srv, const bo_server_config_t *cfg)
{
    srv->listen = strdup(cfg->listen ? cfg->listen : BO_HTTP_DEFAULT_LISTEN);
    srv->max_body = cfg->max_body_bytes ? cfg->max_body_bytes : BO_HTTP_DEFAULT_MAX_BODY;
    srv->keepalive_ms = cfg->keepalive_ms ? cfg->keepalive_ms : BO_HTTP_DEFAULT_KEEPALIVE;
    srv->shutdown_ms =
        cfg->shutdown_timeout_ms ? cfg->shutdown_timeout_ms : BO_HTTP_DEFAULT_SHUTDOWN;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    srv->nloops = cfg->threads ? cfg->threads : cores > 0 ? (unsigned)cores : 1;
    if (!srv->listen)
        return BO_ENOMEM;
    if (srv->nloops > BO_HTTP_MAX_THREADS || !!cfg->tls_cert_file != !!cfg->tls_key_file) {
        fprintf(stderr, "boxoffice: %s\n",
                srv->nloops > BO_HTTP_MAX_THREADS ? "too many threads"
                                                  : "--tls-cert and --tls-key go together");
        return BO_EINVAL;
    }
    if (cfg->max_connections > BO_HTTP_MAX_CONNECTIONS) {
        fprintf(stderr, "boxoffice: at most %u connections (--max-connections)\n",
                BO_HTTP_MAX_CONNECTIONS);
        return BO_EINVAL;
    }
    if (bo__parse_listen(srv->listen, &srv->addr, &srv->addrlen, &srv->port_cfg)) {
        fprintf(stderr, "boxoffice: bad listen address '%s' (HOST:PORT or [IPv6]:PORT)\n",
                srv->listen);
        return BO_EINVAL;
    }
    return 0;
}

/* h2o's own settings: body limit, timeouts, server name, one catch-all
 * path whose handler is the router. */
static int h2o_setup(bo_server_t *srv)
{
    h2o_config_init(&srv->conf);
    srv->conf.server_name = h2o_iovec_init(H2O_STRLIT("boxoffice"));
    /* What h2o reads of a body, from anyone, before a handler runs: the
     * server's limit, raised only by unguarded routes that take more
     * (router.c); past it h2o refuses at the head, before reading the
     * body, and closes the connection (guard.c reads guarded big bodies). */
    srv->conf.max_request_entity_size = srv->max_body;
    srv->conf.http1.req_timeout = srv->keepalive_ms;
    srv->conf.http2.idle_timeout = srv->keepalive_ms;
    srv->conf.http2.graceful_shutdown_timeout = srv->shutdown_ms;
    srv->host = h2o_config_register_host(&srv->conf, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    return bo__router_install(srv);
}

/* SO_REUSEPORT would let a second boxoffice share the port (and split its
 * traffic) without a word: first make sure nobody listens there. */
static int port_free(bo_server_t *srv)
{
    int fd = srv->port_cfg ? bo__listen_socket(&srv->addr, srv->addrlen, 0) : -2;
    if (fd == -1) {
        fprintf(stderr, "boxoffice: cannot listen on %s: %s\n", srv->listen, strerror(errno));
        return BO_EIO;
    }
    if (fd >= 0)
        close(fd);
    return 0;
}

static int loops_open(bo_server_t *srv)
{
    int rc = port_free(srv);
    if (rc)
        return rc;
    srv->loops = calloc(srv->nloops, sizeof(*srv->loops));
    if (!srv->loops)
        return BO_ENOMEM;
    for (unsigned i = 0; i < srv->nloops; i++) {
        bo__loop_t *loop = &srv->loops[i];
        loop->srv = srv;
        loop->index = i;
        loop->stop_fds[0] = loop->stop_fds[1] = -1;
        loop->post_tail = &loop->post_head;
        pthread_mutex_init(&loop->post_mu, NULL);
        loop->listen_fd = bo__listen_socket(&srv->addr, srv->addrlen, 1);
        if (loop->listen_fd < 0 ||
            socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, loop->stop_fds)) {
            fprintf(stderr, "boxoffice: cannot listen on %s: %s\n", srv->listen, strerror(errno));
            return BO_EIO;
        }
        if (i == 0) { /* learn the port the kernel chose for ":0" */
            socklen_t len = sizeof(srv->addr);
            getsockname(loop->listen_fd, (struct sockaddr *)&srv->addr, &len);
            srv->port = ntohs(srv->addr.ss_family == AF_INET6
                                  ? ((struct sockaddr_in6 *)&srv->addr)->sin6_port
                                  : ((struct sockaddr_in *)&srv->addr)->sin_port);
        }
    }
    return 0;
}

int bo_server_new(const bo_server_config_t *cfg, bo_server_t **out)
{
    int rc = BO_ENOMEM;
    BO_ASSERT(cfg != NULL && out != NULL);
    bo_server_t *srv = calloc(1, sizeof(*srv));
    *out = NULL;
    if (!srv)
        return BO_ENOMEM;
    if ((rc = config_copy(srv, cfg)) || (rc = bo__metrics_new(&srv->metrics)))
        goto out;
    bo__conns_setup(srv, cfg->max_connections);
    if (cfg->tls_cert_file && (rc = bo__tls_new(cfg->tls_cert_file, cfg->tls_key_file, &srv->ssl)))
        goto out;
    if (cfg->web_root && (rc = bo__static_new(cfg->web_root, &srv->web)))
        goto out;
    if ((rc = bo__access_log_new(cfg->access_log, &srv->log)) || (rc = h2o_setup(srv)) ||
        (rc = loops_open(srv)))
        goto out;
    if (bo_metrics_add_collector(srv->metrics, bo__http_stats_collect, srv) ||
        bo_metrics_add_collector(srv->metrics, bo__conns_collect, srv) ||
        !(srv->url = bo__format_url(&srv->addr, srv->ssl != NULL))) {
        rc = BO_ENOMEM;
        goto out;
    }
    *out = srv;
    srv = NULL;
out:
    bo_server_free(srv);
    return rc;
}

void bo_server_free(bo_server_t *srv)
{
    if (!srv)
        return;
    while (srv->nat_free > 0) {
        struct bo__at_free *a = &srv->at_free[--srv->nat_free];
        a->fn(a->arg);
    }
    free(srv->at_free);
    free(srv->at_stop);
    for (unsigned i = 0; srv->loops && i < srv->nloops; i++) {
        bo__loop_t *loop = &srv->loops[i];
        if (loop->listen_fd >= 0)
            close(loop->listen_fd);
        for (int k = 0; k < 2; k++)
            if (loop->stop_fds[k] >= 0)
                close(loop->stop_fds[k]);
        pthread_mutex_destroy(&loop->post_mu);
        free(loop->stats);
    }
    free(srv->loops);
    if (srv->host)
        h2o_config_dispose(&srv->conf);
    bo__router_free(srv);
    bo__static_free(srv->web);
    bo__access_log_free(srv->log);
    bo__metrics_free(srv->metrics);
    SSL_CTX_free(srv->ssl);
    free(srv->listen);
    free(srv->url);
    free(srv->csp_connect);
    free(srv);
}

static int push_callback(struct bo__at_free **list, unsigned *n, void (*fn)(void *arg), void *arg)
{
    BO_ASSERT(fn != NULL && (*list != NULL || *n == 0));
    struct bo__at_free *grown = realloc(*list, (*n + 1) * sizeof(*grown));
    if (!grown)
        return BO_ENOMEM;
    *list = grown;
    grown[*n].fn = fn;
    grown[*n].arg = arg;
    (*n)++;
    return 0;
}

int bo_server_at_free(bo_server_t *srv, void (*fn)(void *arg), void *arg)
{
    return push_callback(&srv->at_free, &srv->nat_free, fn, arg);
}

int bo_server_at_stop(bo_server_t *srv, void (*fn)(void *arg), void *arg)
{
    return push_callback(&srv->at_stop, &srv->nat_stop, fn, arg);
}

int bo_server_stopping(const bo_server_t *srv)
{
    return atomic_load(&srv->stop) != 0;
}

uint16_t bo_server_port(const bo_server_t *srv)
{
    return srv->port;
}

const char *bo_server_url(const bo_server_t *srv)
{
    return srv->url;
}

bo_metrics_t *bo_server_metrics(bo_server_t *srv)
{
    return srv->metrics;
}

static int loops_start(bo_server_t *srv)
{
    for (unsigned i = 0; i < srv->nloops; i++) {
        bo__loop_t *loop = &srv->loops[i];
        loop->stats = calloc(srv->nroutes + BO__ROUTE_EXTRA, sizeof(*loop->stats));
        if (!loop->stats)
            return BO_ENOMEM;
    }
    for (unsigned i = 0; i < srv->nloops; i++) {
        bo__loop_t *loop = &srv->loops[i];
        if (pthread_create(&loop->tid, NULL, loop_main, loop) != 0)
            return BO_ENOMEM;
        loop->started = true;
        char name[16]; /* "bo-http-N" in top -H and perf */
        snprintf(name, sizeof(name), "bo-http-%u", i % BO_HTTP_MAX_THREADS);
        pthread_setname_np(loop->tid, name);
    }
    return 0;
}

int bo_server_run(bo_server_t *srv)
{
    if (srv->ran)
        return BO_ESTATE;
    srv->ran = true;
    atomic_store(&srv->running, true);
    int rc = bo__access_log_start(srv->log);
    if (rc == 0 && (rc = loops_start(srv)) != 0)
        bo_server_stop(srv); /* threads already running stop again */
    for (unsigned i = 0; i < srv->nloops; i++)
        if (srv->loops[i].started)
            pthread_join(srv->loops[i].tid, NULL);
    bo__access_log_join(srv->log);
    while (srv->nat_stop > 0) {
        struct bo__at_free *a = &srv->at_stop[--srv->nat_stop];
        a->fn(a->arg);
    }
    atomic_store(&srv->running, false);
    return rc;
}

void bo_server_stop(bo_server_t *srv)
{
    int saved = errno; /* a signal handler must not change errno */
    atomic_store(&srv->stop, 1);
    for (unsigned i = 0; i < srv->nloops; i++) {
        /* send(2) is async-signal-safe; MSG_NOSIGNAL: no SIGPIPE once the
         * loop has closed its end. Full or closed: it is stopping anyway. */
        ssize_t n = send(srv->loops[i].stop_fds[1], "s", 1, MSG_NOSIGNAL | MSG_DONTWAIT);
        (void)n;
    }
    errno = saved;
}

/* ---- signals ---- */

static bo_server_t *volatile signalled;

static void on_process_signal(int sig)
{
    bo_server_t *srv = signalled;
    if (srv)
        bo_server_stop(srv);
}

void bo_server_stop_on_signals(bo_server_t *srv)
{
    struct sigaction sa = {0};
    signalled = srv;
    if (!srv)
        return;
    sa.sa_handler = on_process_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}
