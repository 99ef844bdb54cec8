/*
 * async.c - answers that finish on another thread. A handler starts work
 * whose result comes elsewhere (a hold's commit on the store's committer
 * thread) and returns; the result is posted back to the request's own loop,
 * which answers. The request may be gone by then (the client closed, an
 * HTTP/2 stream was reset): a small object shared by the request (through
 * its pool, whose disposal marks it gone) and the finisher decides, on the
 * loop thread, whether there is still someone to answer.
 *
 * Workload: one post per hold, ~10^5/s across all loops during an on-sale,
 * finished by the store's committer a batch (a commit) at a time. A post is
 * a mutex-protected list append; the committer holds a batch's posts back
 * (bo_http_posts_defer) and appends each loop's share at once. The loop is
 * kicked through h2o's inter-thread queue (one message, one pipe write)
 * only when no kick is in flight, so a commit costs at most one lock round
 * and one wake-up per loop (posted one by one, with a loop draining while
 * the committer posted, a commit took ~40 pipe writes and futex calls); the
 * posts run in h2o's callback for that message, inside the event loop, where h2o expects
 * sends to happen (a send made between two iterations would wait for the
 * next unrelated event). While an HTTP/1 answer waits, its connection stays
 * polled for reading (keep_polling): no epoll_ctl per request.
 */
#include <stdlib.h>

#include "boxoffice/error.h"
#include "http/http_internal.h"
#include "util/assert.h"

#define PARK_MAX_BODY 16384 /* bytes: larger bodies are not copied, and h2o polls as it likes */

/* Append the list head..*tail to the loop's posts; kick the loop unless a
 * kick is in flight. BO_ESTATE once the loop stopped (nothing appended). */
static int append(bo__loop_t *loop, bo__post_t *head, bo__post_t **tail)
{
    BO_ASSERT(head != NULL && tail != NULL && *tail == NULL); /* a terminated list */
    pthread_mutex_lock(&loop->post_mu);
    if (loop->closed) {
        pthread_mutex_unlock(&loop->post_mu);
        return BO_ESTATE;
    }
    BO_ASSERT(*loop->post_tail == NULL); /* post_tail is the last post's next */
    *loop->post_tail = head;
    loop->post_tail = tail;
    if (!loop->kicked) { /* under post_mu: the kick is never linked twice */
        loop->kicked = true;
        h2o_multithread_send_message(&loop->wake, &loop->kick);
    }
    pthread_mutex_unlock(&loop->post_mu);
    return 0;
}

static void run_posts(bo__post_t *p, int alive)
{
    while (p) {
        bo__post_t *next = p->next;
        p->run(p, alive);
        p = next;
    }
}

/* Posts held back on this thread (bo_http_posts_defer), a list per loop. A
 * thread finishing for more loops than this posts to the others at once. */
#define DEFER_LOOPS 32
static _Thread_local struct {
    unsigned depth, nloops;
    struct {
        bo__loop_t *loop;
        bo__post_t *head, **tail;
    } q[DEFER_LOOPS];
} deferred;

/* Hold p back for its loop. Returns false when no list is free for it. */
static bool hold_back(bo__loop_t *loop, bo__post_t *p)
{
    unsigned i = 0;
    BO_ASSERT(deferred.depth > 0 && deferred.nloops <= DEFER_LOOPS);
    while (i < deferred.nloops && deferred.q[i].loop != loop)
        i++;
    if (i == DEFER_LOOPS)
        return false;
    if (i == deferred.nloops) {
        deferred.nloops++;
        deferred.q[i].loop = loop;
        deferred.q[i].head = NULL;
        deferred.q[i].tail = &deferred.q[i].head;
    }
    *deferred.q[i].tail = p;
    deferred.q[i].tail = &p->next;
    return true;
}

int bo__loop_post(bo__loop_t *loop, bo__post_t *p)
{
    BO_ASSERT(loop != NULL && p != NULL && p->run != NULL);
    p->next = NULL;
    if (deferred.depth && hold_back(loop, p))
        return 0;
    return append(loop, p, &p->next);
}

void bo_http_posts_defer(void)
{
    deferred.depth++;
}

void bo_http_posts_flush(void)
{
    if (deferred.depth == 0 || --deferred.depth > 0)
        return;
    for (unsigned i = 0; i < deferred.nloops; i++) {
        bo__post_t *p = deferred.q[i].head;
        if (append(deferred.q[i].loop, p, deferred.q[i].tail) != 0)
            run_posts(p, 0); /* the loop stopped: as bo__loop_post's callers do */
    }
    deferred.nloops = 0;
}

/* Take the queued posts; the next post kicks again. */
static bo__post_t *take_posts(bo__loop_t *loop, bool close)
{
    pthread_mutex_lock(&loop->post_mu);
    bo__post_t *head = loop->post_head;
    loop->post_head = NULL;
    loop->post_tail = &loop->post_head;
    loop->kicked = false;
    if (close)
        loop->closed = true;
    pthread_mutex_unlock(&loop->post_mu);
    return head;
}

/* h2o delivers the kick on the loop thread, inside the event loop. Posts
 * made while these run kick again. */
static void on_kick(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages)
{
    bo__loop_t *loop = (bo__loop_t *)((char *)receiver - offsetof(bo__loop_t, wake));
    while (!h2o_linklist_is_empty(messages))
        h2o_linklist_unlink(messages->next); /* the kick: free to send again */
    run_posts(take_posts(loop, false), 1);
}

void bo__loop_posts_init(bo__loop_t *loop)
{
    h2o_multithread_register_receiver(loop->ctx.queue, &loop->wake, on_kick);
}

/* Loop thread, when it stops: refuse further posts and complete the queued
 * ones as if their clients had gone. A kick still in flight is delivered
 * (and finds nothing) before the receiver goes. */
void bo__loop_close_posts(bo__loop_t *loop)
{
    run_posts(take_posts(loop, true), 0);
    for (int i = 0; i < 100 && !h2o_linklist_is_empty(&loop->wake._messages); i++)
        h2o_evloop_run(loop->ctx.loop, 10);
    if (h2o_linklist_is_empty(&loop->wake._messages))
        h2o_multithread_unregister_receiver(loop->ctx.queue, &loop->wake);
}

/* ---- async answers ---- */

struct bo_http_async {
    bo__post_t post;
    atomic_int refs; /* the request's pool and the finisher */
    bo__loop_t *loop;
    bo_http_req_t *r;    /* loop thread only; NULL once the request is disposed */
    bo_http_async_fn fn; /* set by bo_http_async_finish */
    void *arg;
};

static void async_unref(bo_http_async_t *a)
{
    if (atomic_fetch_sub_explicit(&a->refs, 1, memory_order_acq_rel) == 1)
        free(a);
}

/* The request's pool is cleared: nobody to answer any more. */
static void on_req_dispose(void *p)
{
    bo_http_async_t *a = *(bo_http_async_t **)p;
    a->r = NULL;
    async_unref(a);
}

static void async_run(bo__post_t *p, int alive)
{
    bo_http_async_t *a = (bo_http_async_t *)p;
    bo_http_req_t *r = alive ? a->r : NULL;
    if (r)
        r->deferred = false; /* fn may defer again (another async step) */
    if (a->fn)
        a->fn(r, a->arg);
    if (r && !r->answered && !r->deferred) /* never leave the client hanging */
        bo_http_send_error_status(r, 500, "INTERNAL", "no answer was produced", NULL);
    async_unref(a);
}

/* A pipelined request or the client's end arrived while an answer waits:
 * stop reading, as h2o would have; h2o reads it again after the answer. */
static void on_parked_read(h2o_socket_t *sock, const char *err)
{
    h2o_socket_read_stop(sock);
}

/*
 * h2o (2.2.5) stops reading an HTTP/1 connection while its request is
 * handled and starts again once the answer is written. When the answer
 * waits for a commit, those are two epoll_ctl calls per request, about a
 * tenth of a hold's CPU on the loop; keeping the connection polled costs
 * nothing, since a client that does not pipeline sends nothing before the
 * answer. Should bytes arrive anyway, on_parked_read stops reading and they
 * wait in the socket's buffer, as pipelined requests do, until h2o reads
 * the next request. Only for requests with a body: h2o then keeps the
 * request line and headers in the pool (without one they point into the
 * socket's buffer, which a read may move), and the body, small, is copied
 * into the pool here for the same reason.
 */
static void keep_polling(bo_http_req_t *r)
{
    h2o_req_t *req = r->req;
    h2o_conn_t *conn = req->conn;
    if (req->version >= 0x200 || !req->entity.base || req->entity.len > PARK_MAX_BODY ||
        !conn->callbacks->get_socket)
        return;
    h2o_socket_t *sock = conn->callbacks->get_socket(conn);
    if (!sock || h2o_socket_is_reading(sock))
        return;
    req->entity = h2o_strdup(&req->pool, req->entity.base, req->entity.len);
    h2o_socket_read_start(sock, on_parked_read);
}

bo_http_async_t *bo_http_async_begin(bo_http_req_t *r)
{
    bo_http_async_t *a = calloc(1, sizeof(*a));
    if (!a)
        return NULL;
    bo_http_async_t **slot = h2o_mem_alloc_shared(&r->req->pool, sizeof(*slot), on_req_dispose);
    *slot = a;
    a->post.run = async_run;
    atomic_init(&a->refs, 2);
    a->loop = r->loop;
    a->r = r;
    r->deferred = true;
    keep_polling(r);
    return a;
}

void bo_http_async_finish(bo_http_async_t *a, bo_http_async_fn fn, void *arg)
{
    a->fn = fn;
    a->arg = arg;
    if (bo__loop_post(a->loop, &a->post) != 0)
        async_run(&a->post, 0); /* the server stopped: run here, r NULL */
}
