/*
 * sse.c - server-sent event streams: a 200 text/event-stream answer kept
 * open, fed by publishers on any thread (availability changes of an event),
 * with a heartbeat comment every 15 s so proxies and clients keep it.
 *
 * Workload: thousands of streams, each receiving a few small events per
 * second during an on-sale. A publisher appends to the stream's pending
 * buffer under its mutex and posts one flush to the stream's loop when none
 * is queued; the loop hands the whole pending buffer to h2o in one write
 * and the next one only after h2o has sent it (its proceed callback). A
 * client that does not read lets pending grow: past BO_HTTP_SSE_MAX_QUEUED
 * bytes the stream is dropped, so one slow reader costs bounded memory.
 *
 * Lifetime: a stream is shared by the publisher (the reference
 * bo_http_sse_begin returns), the request (until h2o disposes it) and a
 * queued flush; the last to let go frees it. on_close runs once, on the
 * loop, when the stream can take no more data.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "boxoffice/error.h"
#include "http/http_internal.h"
#include "util/assert.h"

struct bo_http_sse {
    h2o_generator_t gen;
    bo__post_t post;
    atomic_int refs;
    pthread_mutex_t mu;
    /* under mu */
    char *pending;
    size_t pending_len, pending_cap;
    bool gone;    /* sends are refused */
    bool closing; /* end the stream after pending */
    bool dropped; /* fell too far behind: abort an HTTP/1 connection */
    bool posted;  /* a flush post is queued (it holds a reference) */
    bool sending; /* h2o has data of ours it has not finished sending */
    /* loop thread only */
    bo__loop_t *loop;
    h2o_req_t *req; /* NULL once disposed */
    char *inflight; /* handed to h2o, freed when it calls proceed */
    bool ended, close_called;
    h2o_timeout_entry_t heartbeat;
    h2o_linklist_t link; /* in loop->sse_streams */
    bo_http_sse_close_fn on_close;
    void *arg;
};

static void sse_unref(bo_http_sse_t *s)
{
    int was = atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel);
    BO_ASSERT(was >= 1); /* a reference released twice */
    if (was != 1)
        return;
    pthread_mutex_destroy(&s->mu);
    free(s->pending);
    free(s->inflight);
    free(s);
}

/* Append under mu. Returns 0, BO_EBUSY past the bound, BO_ENOMEM. */
static int append_locked(bo_http_sse_t *s, const char *p, size_t n)
{
    BO_ASSERT(bo_mutex_held(&s->mu));
    BO_ASSERT((p != NULL || n == 0) && s->pending_len <= s->pending_cap);
    if (s->pending_len + n > BO_HTTP_SSE_MAX_QUEUED)
        return BO_EBUSY;
    if (s->pending_len + n > s->pending_cap) {
        size_t cap = s->pending_cap ? s->pending_cap : 512;
        while (cap < s->pending_len + n)
            cap *= 2;
        char *grown = realloc(s->pending, cap);
        if (!grown)
            return BO_ENOMEM;
        s->pending = grown;
        s->pending_cap = cap;
    }
    memcpy(s->pending + s->pending_len, p, n);
    s->pending_len += n;
    BO_ASSERT(s->pending_len <= BO_HTTP_SSE_MAX_QUEUED);
    return 0;
}

/* Loop thread: tell the publisher, once, that the stream takes no more. */
static void notify_closed(bo_http_sse_t *s)
{
    BO_ASSERT(!bo_mutex_held(&s->mu)); /* on_close may send or close */
    pthread_mutex_lock(&s->mu);
    s->gone = true;
    pthread_mutex_unlock(&s->mu);
    if (!s->close_called) {
        s->close_called = true;
        if (s->on_close)
            s->on_close(s->arg, s);
    }
}

/* Loop thread: h2o takes nothing more for this stream. */
static void mark_ended(bo_http_sse_t *s)
{
    s->ended = true;
    if (h2o_timeout_is_linked(&s->heartbeat))
        h2o_timeout_unlink(&s->heartbeat);
    if (h2o_linklist_is_linked(&s->link))
        h2o_linklist_unlink(&s->link);
    notify_closed(s);
}

/* Loop thread: a client too far behind has stopped reading; h2o would keep
 * its connection until the kernel gives up. Shutting the socket down makes
 * h2o's pending write fail and close it now. HTTP/2 connections are left:
 * other streams of that client may be well. */
static void abort_http1(bo_http_sse_t *s)
{
    h2o_conn_t *conn = s->req->conn;
    h2o_socket_t *sock = conn->callbacks->get_socket ? conn->callbacks->get_socket(conn) : NULL;
    if (s->req->version < 0x200 && sock)
        shutdown(h2o_socket_get_fd(sock), SHUT_RDWR);
}

/* Loop thread: hand pending data (and the end, when closing) to h2o. */
static void flush(bo_http_sse_t *s)
{
    if (!s->req || s->ended)
        return;
    BO_ASSERT(!bo_mutex_held(&s->mu)); /* flush takes mu itself */
    pthread_mutex_lock(&s->mu);
    bool gone = s->gone, closing = s->closing, idle = !s->sending, dropped = s->dropped;
    char *data = idle ? s->pending : NULL;
    size_t len = idle ? s->pending_len : 0;
    if (idle) {
        s->pending = NULL;
        s->pending_len = s->pending_cap = 0;
    }
    pthread_mutex_unlock(&s->mu);
    if (gone) /* dropped or closed: the publisher may forget it now */
        notify_closed(s);
    if (dropped && !idle)
        abort_http1(s);
    if (!idle || (!len && !closing)) {
        free(data); /* an empty buffer left by a refused message */
        return;
    }
    h2o_iovec_t buf = h2o_iovec_init(data, len);
    free(s->inflight);
    s->inflight = data;
    pthread_mutex_lock(&s->mu);
    s->sending = true;
    pthread_mutex_unlock(&s->mu);
    h2o_send(s->req, &buf, len ? 1 : 0,
             closing ? H2O_SEND_STATE_FINAL : H2O_SEND_STATE_IN_PROGRESS);
    if (closing)
        mark_ended(s);
}

static void on_proceed(h2o_generator_t *gen, h2o_req_t *req)
{
    bo_http_sse_t *s = (bo_http_sse_t *)gen;
    free(s->inflight);
    s->inflight = NULL;
    pthread_mutex_lock(&s->mu);
    BO_ASSERT(s->sending); /* h2o proceeds only after a send of ours */
    s->sending = false;
    pthread_mutex_unlock(&s->mu);
    flush(s);
}

static void on_stop(h2o_generator_t *gen, h2o_req_t *req)
{
    bo_http_sse_t *s = (bo_http_sse_t *)gen;
    if (!s->ended)
        mark_ended(s);
}

/* The request's pool is cleared: h2o is done with the stream. */
static void on_req_dispose(void *p)
{
    bo_http_sse_t *s = *(bo_http_sse_t **)p;
    s->req = NULL;
    if (!s->ended)
        mark_ended(s);
    sse_unref(s);
}

static void on_flush_post(bo__post_t *p, int alive)
{
    bo_http_sse_t *s = (bo_http_sse_t *)((char *)p - offsetof(bo_http_sse_t, post));
    pthread_mutex_lock(&s->mu);
    s->posted = false;
    pthread_mutex_unlock(&s->mu);
    if (alive)
        flush(s);
    sse_unref(s);
}

/* Under mu: make sure a flush is queued. Returns with mu unlocked. */
static void post_flush_unlock(bo_http_sse_t *s)
{
    BO_ASSERT(bo_mutex_held(&s->mu));
    bool post = !s->posted;
    if (post) {
        s->posted = true;
        atomic_fetch_add(&s->refs, 1);
    }
    pthread_mutex_unlock(&s->mu);
    if (post && bo__loop_post(s->loop, &s->post) != 0)
        on_flush_post(&s->post, 0);
}

static void on_heartbeat(h2o_timeout_entry_t *entry)
{
    bo_http_sse_t *s = (bo_http_sse_t *)((char *)entry - offsetof(bo_http_sse_t, heartbeat));
    pthread_mutex_lock(&s->mu);
    int rc = append_locked(s, H2O_STRLIT(": heartbeat\n\n"));
    if (rc)
        s->closing = true;
    pthread_mutex_unlock(&s->mu);
    h2o_timeout_link(s->loop->ctx.loop, &s->loop->sse_timeout, &s->heartbeat);
    flush(s);
}

static void start_response(bo_http_sse_t *s, bo_http_req_t *r)
{
    h2o_req_t *req = r->req;
    r->answered = true;
    r->deferred = true;
    req->res.status = 200;
    req->res.reason = "OK";
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                   H2O_STRLIT("text/event-stream"));
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL,
                   H2O_STRLIT("no-cache"));
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("x-accel-buffering"), 0, NULL,
                          H2O_STRLIT("no"));
    h2o_start_response(req, &s->gen);
    /* the first bytes flush the headers: clients see the stream open */
    pthread_mutex_lock(&s->mu);
    append_locked(s, H2O_STRLIT("retry: 2000\n: connected\n\n"));
    pthread_mutex_unlock(&s->mu);
    flush(s);
}

bo_http_sse_t *bo_http_sse_begin(bo_http_req_t *r, bo_http_sse_close_fn on_close, void *arg)
{
    if (r->answered)
        return NULL;
    if (r->loop->stopping) { /* it would only hold the shutdown up */
        bo_http_send_error(r, BO_EBUSY, "the server is shutting down", NULL);
        return NULL;
    }
    if (r->head) { /* nothing to stream */
        bo__send(r, 200, "text/event-stream", h2o_iovec_init(NULL, 0));
        return NULL;
    }
    bo_http_sse_t *s = calloc(1, sizeof(*s));
    if (!s) {
        bo_http_send_error(r, BO_ENOMEM, NULL, NULL);
        return NULL;
    }
    pthread_mutex_init(&s->mu, NULL);
    atomic_init(&s->refs, 2); /* the caller and the request */
    s->gen.proceed = on_proceed;
    s->gen.stop = on_stop;
    s->post.run = on_flush_post;
    s->loop = r->loop;
    s->req = r->req;
    s->on_close = on_close;
    s->arg = arg;
    s->heartbeat.cb = on_heartbeat;
    bo_http_sse_t **slot = h2o_mem_alloc_shared(&r->req->pool, sizeof(*slot), on_req_dispose);
    *slot = s;
    h2o_linklist_insert(&r->loop->sse_streams, &s->link);
    h2o_timeout_link(r->loop->ctx.loop, &r->loop->sse_timeout, &s->heartbeat);
    start_response(s, r);
    return s;
}

/* "event: NAME\n" + one "data: " line per line of data + "\n". */
static int format_locked(bo_http_sse_t *s, const char *event, const char *data, size_t len)
{
    BO_ASSERT(bo_mutex_held(&s->mu));
    BO_ASSERT(data != NULL || len == 0);
    int rc = 0;
    if (event) {
        rc |= append_locked(s, H2O_STRLIT("event: "));
        rc |= append_locked(s, event, strlen(event));
        rc |= append_locked(s, H2O_STRLIT("\n"));
    }
    for (size_t i = 0; rc == 0;) {
        const char *nl = memchr(data + i, '\n', len - i);
        size_t end = nl ? (size_t)(nl - data) : len;
        rc |= append_locked(s, H2O_STRLIT("data: "));
        rc |= append_locked(s, data + i, end - i);
        rc |= append_locked(s, H2O_STRLIT("\n"));
        if (!nl)
            break;
        i = end + 1;
    }
    rc |= append_locked(s, H2O_STRLIT("\n"));
    return rc ? BO_EBUSY : 0;
}

int bo_http_sse_send(bo_http_sse_t *s, const char *event, const char *data, size_t len)
{
    if ((event && strpbrk(event, "\r\n")) || memchr(data, '\r', len))
        return BO_EINVAL;
    pthread_mutex_lock(&s->mu);
    if (s->gone) {
        pthread_mutex_unlock(&s->mu);
        return BO_ENOTFOUND;
    }
    size_t before = s->pending_len;
    int rc = format_locked(s, event, data, len);
    if (rc) { /* the client is too far behind: drop it, not the server */
        s->pending_len = before;
        s->gone = s->closing = s->dropped = true;
    }
    post_flush_unlock(s);
    return rc;
}

void bo_http_sse_close(bo_http_sse_t *s)
{
    pthread_mutex_lock(&s->mu);
    s->closing = true;
    post_flush_unlock(s);
}

void bo_http_sse_release(bo_http_sse_t *s)
{
    if (s)
        sse_unref(s);
}

void bo__sse_loop_init(bo__loop_t *loop)
{
    h2o_linklist_init_anchor(&loop->sse_streams);
    h2o_timeout_init(loop->ctx.loop, &loop->sse_timeout, BO_HTTP_SSE_HEARTBEAT_MS);
}

/* Server stop: end every stream of the loop (their connections then close). */
void bo__sse_loop_stop(bo__loop_t *loop)
{
    while (!h2o_linklist_is_empty(&loop->sse_streams)) {
        bo_http_sse_t *s =
            (bo_http_sse_t *)((char *)loop->sse_streams.next - offsetof(bo_http_sse_t, link));
        h2o_linklist_unlink(&s->link);
        pthread_mutex_lock(&s->mu);
        s->closing = true;
        pthread_mutex_unlock(&s->mu);
        flush(s); /* sends the end now, or after the write in flight */
    }
}
