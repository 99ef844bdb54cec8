/*
 * conns.c - how many client connections the server holds, and the file
 * descriptors they need. An on-sale's waiting visitors each keep a
 * keep-alive connection or an SSE stream open while they wait: 10,000 of
 * them and more on one server. Each is a file descriptor, so at start the
 * server raises its open-file limit (RLIMIT_NOFILE, often 1,024 by
 * default) to what its connection cap needs, and says so when the hard
 * limit does not allow it. The cap (--max-connections) bounds what
 * connections cost: past it the loops stop accepting (new connections wait
 * in the kernel's backlog) until one closes, so the process never runs out
 * of descriptors for its store or its log, and its memory for connections
 * is bounded by the cap times what one idle connection holds (docs/
 * architecture.md has the measure).
 *
 * Workload: one atomic add per accepted connection and one subtract per
 * close, on the loop threads; a paused loop looks again every 100 ms (a
 * connection closing on another loop frees room it cannot see at once).
 */
#include <errno.h>
#include <stdio.h>
#include <sys/resource.h>

#include "http/http_internal.h"
#include "util/assert.h"

#define ACCEPTS_PER_WAKEUP 32

/* Descriptors that are not client connections. */
static unsigned reserved_fds(const bo_server_t *srv)
{
    return BO_HTTP_RESERVED_FDS + BO_HTTP_FDS_PER_THREAD * srv->nloops;
}

/* Raise the soft open-file limit to need (and the hard one too when the
 * process may: root). Returns the soft limit in force after. */
static rlim_t raise_nofile(rlim_t need)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return need; /* unknown: trust it */
    if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= need)
        return rl.rlim_cur;
    struct rlimit up = {.rlim_cur = need, .rlim_max = rl.rlim_max};
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need) {
        up.rlim_max = need; /* only a privileged process may */
        if (setrlimit(RLIMIT_NOFILE, &up) == 0)
            return need;
        up.rlim_cur = up.rlim_max = rl.rlim_max;
    }
    return setrlimit(RLIMIT_NOFILE, &up) == 0 ? up.rlim_cur : rl.rlim_cur;
}

void bo__conns_setup(bo_server_t *srv, unsigned wanted)
{
    BO_ASSERT(srv->nloops > 0 && wanted <= BO_HTTP_MAX_CONNECTIONS);
    if (wanted == 0)
        wanted = BO_HTTP_DEFAULT_MAX_CONNECTIONS;
    rlim_t reserve = reserved_fds(srv), need = (rlim_t)wanted + reserve;
    rlim_t have = raise_nofile(need);
    srv->max_conns = wanted;
    if (have >= need)
        return;
    srv->max_conns = (unsigned)(have > 2 * reserve ? have - reserve : have / 2);
    if (srv->max_conns == 0)
        srv->max_conns = 1;
    fprintf(stderr,
            "boxoffice: the open-file limit is %llu and cannot be raised to the %llu that %u "
            "connections need (--max-connections): at most %u connections are accepted at "
            "once; raise the hard limit (ulimit -Hn, systemd LimitNOFILE=)\n",
            (unsigned long long)have, (unsigned long long)need, wanted, srv->max_conns);
}

unsigned bo_server_max_connections(const bo_server_t *srv)
{
    return srv->max_conns;
}

static void on_retry(h2o_timeout_entry_t *entry);

/* Stop reading the listener; look again in 100 ms (or when one of this
 * loop's connections closes). */
static void pause_accepting(bo__loop_t *loop)
{
    if (loop->accept_paused)
        return;
    loop->accept_paused = true;
    atomic_fetch_add_explicit(&loop->srv->accept_pauses, 1, memory_order_relaxed);
    h2o_socket_read_stop(loop->listener);
    loop->accept_retry.cb = on_retry;
    h2o_timeout_link(loop->ctx.loop, &loop->ctx.hundred_ms_timeout, &loop->accept_retry);
}

static void resume_accepting(bo__loop_t *loop)
{
    BO_ASSERT(loop->accept_paused && loop->listener != NULL);
    loop->accept_paused = false;
    if (h2o_timeout_is_linked(&loop->accept_retry))
        h2o_timeout_unlink(&loop->accept_retry);
    h2o_socket_read_start(loop->listener, bo__conns_on_accept);
}

static bool room(const bo_server_t *srv)
{
    return atomic_load_explicit(&srv->nconns, memory_order_relaxed) < srv->max_conns;
}

static void on_retry(h2o_timeout_entry_t *entry)
{
    bo__loop_t *loop = H2O_STRUCT_FROM_MEMBER(bo__loop_t, accept_retry, entry);
    if (loop->stopping || !loop->listener)
        return;
    if (room(loop->srv))
        resume_accepting(loop);
    else
        h2o_timeout_link(loop->ctx.loop, &loop->ctx.hundred_ms_timeout, &loop->accept_retry);
}

/* h2o closed one of loop's connections (on loop's thread). */
static void on_conn_close(void *arg)
{
    bo__loop_t *loop = arg;
    unsigned was = atomic_fetch_sub_explicit(&loop->srv->nconns, 1, memory_order_relaxed);
    BO_ASSERT(was > 0); /* one close per counted accept */
    if (loop->accept_paused && loop->listener && !loop->stopping && room(loop->srv))
        resume_accepting(loop);
}

void bo__conns_on_accept(h2o_socket_t *listener, const char *err)
{
    bo__loop_t *loop = listener->data;
    bo_server_t *srv = loop->srv;
    if (err)
        return;
    for (int i = 0; i < ACCEPTS_PER_WAKEUP; i++) {
        /* take a place first: loops accept at once, none passes the cap */
        if (atomic_fetch_add_explicit(&srv->nconns, 1, memory_order_relaxed) >= srv->max_conns) {
            atomic_fetch_sub_explicit(&srv->nconns, 1, memory_order_relaxed);
            pause_accepting(loop);
            return;
        }
        errno = 0;
        h2o_socket_t *sock = h2o_evloop_socket_accept(listener);
        if (!sock) {
            int e = errno;
            atomic_fetch_sub_explicit(&srv->nconns, 1, memory_order_relaxed);
            /* out of descriptors (another part of the process used them): a
             * readable listener would wake the loop at once, again and again */
            if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM)
                pause_accepting(loop);
            return;
        }
        sock->on_close.cb = on_conn_close;
        sock->on_close.data = loop;
        h2o_accept(&loop->accept, sock);
    }
}

void bo__conns_loop_stop(bo__loop_t *loop)
{
    loop->accept_paused = false;
    if (h2o_timeout_is_linked(&loop->accept_retry))
        h2o_timeout_unlink(&loop->accept_retry);
}

void bo__conns_collect(void *arg, bo_metrics_out_t *out)
{
    bo_server_t *srv = arg;
    bo_metrics_family(out, "boxoffice_http_connections", "gauge",
                      "Client connections open now (keep-alive, SSE, HTTP/2, TLS handshakes).");
    bo_metrics_sample(out, "boxoffice_http_connections", NULL,
                      (double)atomic_load_explicit(&srv->nconns, memory_order_relaxed));
    bo_metrics_family(out, "boxoffice_http_connections_max", "gauge",
                      "Client connections accepted at once at most (--max-connections, or "
                      "less when the open-file limit could not be raised).");
    bo_metrics_sample(out, "boxoffice_http_connections_max", NULL, (double)srv->max_conns);
    bo_metrics_family(out, "boxoffice_http_accept_pauses_total", "counter",
                      "Times a loop stopped accepting: at the connection cap, or out of file "
                      "descriptors.");
    bo_metrics_sample(out, "boxoffice_http_accept_pauses_total", NULL,
                      (double)atomic_load_explicit(&srv->accept_pauses, memory_order_relaxed));
}
