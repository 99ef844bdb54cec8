/*
 * guard.c - read nothing that will be refused. h2o (2.2.5) reads a whole
 * request body before it calls a handler, so what the server reads from
 * anyone is bounded by h2o's one limit (max_request_entity_size), which
 * the server sets to the largest body an unguarded route accepts (its
 * --max-body, 1 MiB by default). A guarded route (a venue import, up to
 * 64 MiB) accepts more, but only from callers its guard accepts from the
 * headers alone (the admin token). Such a body is first refused by h2o at
 * its head, before a byte of it is read: h2o stops reading the connection
 * and starts a 413 answer, whose set-up reaches the router's filter; there
 * the guard decides. Refused: the router answers 401/403 instead of the
 * 413, on a connection h2o closes. Accepted: the 413 is swallowed, this
 * file reads the body (HTTP/1.1 with a Content-Length only: h2o has not
 * touched the body yet, so it follows the head in the socket's input), then
 * runs the route's handler, whose answer goes out through the swallowing
 * ostream; h2o closes the connection after it, as after any 413.
 *
 * Workload: rare (admin imports). A read in progress is on its loop's
 * list (found by socket on each read; the list has at most a few
 * entries); without progress for keepalive_ms it ends with 408.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "boxoffice/error.h"
#include "http/http_internal.h"
#include "util/assert.h"

struct bo__late_body {
    h2o_ostream_t super; /* swallows h2o's 413, then carries the answer */
    h2o_linklist_t link; /* loop->late_bodies while reading */
    h2o_timeout_entry_t timeout;
    h2o_req_t *req;
    h2o_socket_t *sock;
    bo__loop_t *loop;
    int route;
    size_t head_len, body_len;
    bool writing_continue; /* "100 Continue" is being written */
    bool done;             /* the body is read, or reading failed */
    int fail_status;       /* 0, or the error to answer once the write is done */
};

static void swallow(h2o_ostream_t *self, h2o_req_t *req, h2o_iovec_t *bufs, size_t n,
                    h2o_send_state_t state)
{
    /* h2o's 413 text: never sent; the answer comes through bo__guard_send */
}

void bo__guard_send(struct bo__late_body *late, h2o_req_t *req, h2o_iovec_t body)
{
    BO_ASSERT(late->done && !late->writing_continue);
    h2o_ostream_send_next(&late->super, req, &body, body.len ? 1 : 0, H2O_SEND_STATE_FINAL);
}

static void stop_reading(struct bo__late_body *late)
{
    if (h2o_timeout_is_linked(&late->timeout))
        h2o_timeout_unlink(&late->timeout);
    if (!late->done && late->sock)
        h2o_socket_read_stop(late->sock);
    late->done = true;
}

/* The request's pool goes (the connection closed): forget it. */
static void on_dispose(void *p)
{
    struct bo__late_body *late = *(struct bo__late_body **)p;
    stop_reading(late);
    if (h2o_linklist_is_linked(&late->link))
        h2o_linklist_unlink(&late->link);
    late->sock = NULL;
}

/* Done reading: run the handler (or send the failure) unless "100
 * Continue" is still being written; on_continue_sent comes back here. */
static void late_answer(struct bo__late_body *late)
{
    h2o_req_t *req = late->req;
    BO_ASSERT(late->done);
    if (late->writing_continue)
        return;
    h2o_linklist_unlink(&late->link);
    if (late->fail_status) {
        bo__guard_send(late, req, req->entity);
        return;
    }
    req->entity = h2o_iovec_init(late->sock->input->bytes + late->head_len, late->body_len);
    req->res.status = 0;
    req->res.reason = NULL;
    req->res.content_length = SIZE_MAX;
    memset(&req->res.headers, 0, sizeof(req->res.headers));
    bo__router_dispatch_late(late->loop->srv, req, late->route, late);
}

static void fail(struct bo__late_body *late, int status, const char *code, const char *message)
{
    h2o_req_t *req = late->req;
    char buf[256];
    BO_ASSERT(status >= 400 && status <= 599 && !late->fail_status); /* one failure */
    int n =
        snprintf(buf, sizeof(buf),
                 "{\"error\":{\"code\":\"%s\",\"message\":\"%s\",\"details\":{}}}", code, message);
    BO_ASSERT(n > 0 && (size_t)n < sizeof(buf)); /* our own texts: never cut */
    stop_reading(late);
    late->fail_status = status;
    req->res.status = status;
    req->res.reason = bo__reason(status);
    req->res.content_length = (size_t)n;
    memset(&req->res.headers, 0, sizeof(req->res.headers));
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                   H2O_STRLIT("application/json"));
    req->entity = h2o_strdup(&req->pool, buf, (size_t)n); /* the answer's body */
    late_answer(late);
}

static void check_complete(struct bo__late_body *late)
{
    BO_ASSERT(late->sock != NULL && !late->done);
    if (late->sock->input->size < late->head_len + late->body_len)
        return;
    stop_reading(late);
    late_answer(late);
}

/* The late body of sock (h2o's connection is sock->data), or NULL. */
static struct bo__late_body *find(h2o_socket_t *sock)
{
    bo__loop_t *loop = bo__loop_of(((h2o_conn_t *)sock->data)->ctx);
    for (h2o_linklist_t *n = loop->late_bodies.next; n != &loop->late_bodies; n = n->next) {
        struct bo__late_body *late = H2O_STRUCT_FROM_MEMBER(struct bo__late_body, link, n);
        if (late->sock == sock)
            return late;
    }
    return NULL;
}

static void on_read(h2o_socket_t *sock, const char *err)
{
    struct bo__late_body *late = find(sock);
    if (!late || late->done) { /* not ours any more: leave the bytes */
        h2o_socket_read_stop(sock);
        return;
    }
    if (err) {
        fail(late, 400, "INVALID_REQUEST", "the request body was cut short");
        return;
    }
    h2o_timeout_unlink(&late->timeout);
    h2o_timeout_link(late->loop->ctx.loop, &late->loop->late_timeout, &late->timeout);
    check_complete(late);
}

static void on_timeout(h2o_timeout_entry_t *entry)
{
    struct bo__late_body *late = H2O_STRUCT_FROM_MEMBER(struct bo__late_body, timeout, entry);
    fail(late, 408, "REQUEST_TIMEOUT", "the request body did not arrive in time");
}

/* First run (zero timeout, out of h2o's stack): the body may have come
 * with the head. */
static void on_first(h2o_timeout_entry_t *entry)
{
    struct bo__late_body *late = H2O_STRUCT_FROM_MEMBER(struct bo__late_body, timeout, entry);
    late->timeout.cb = on_timeout;
    h2o_timeout_link(late->loop->ctx.loop, &late->loop->late_timeout, &late->timeout);
    check_complete(late);
}

static void on_continue_sent(h2o_socket_t *sock, const char *err)
{
    struct bo__late_body *late = find(sock);
    if (!late)
        return;
    late->writing_continue = false;
    if (err && !late->done)
        fail(late, 400, "INVALID_REQUEST", "the connection failed");
    else if (late->done)
        late_answer(late);
}

int bo__guard_take(bo_server_t *srv, h2o_req_t *req, h2o_ostream_t **slot)
{
    int idx = bo__router_find(srv, req->input.method.base, req->input.method.len,
                              req->input.path.base, req->input.path.len);
    if (idx < 0 || !srv->routes[idx].guard)
        return 0;
    const bo__route_t *route = &srv->routes[idx];
    ssize_t at = h2o_find_header(&req->headers, H2O_TOKEN_AUTHORIZATION, -1);
    const h2o_iovec_t *auth = at >= 0 ? &req->headers.entries[at].value : NULL;
    int rc = route->guard(route->arg, auth ? auth->base : NULL, auth ? auth->len : 0);
    if (rc)
        return rc; /* the router answers 401 / 403 */
    bo__http1_head_t head;
    if (bo__http1_head(req, &head) || bo__http1_framing_problem(&head))
        return 0;
    if (head.content_length > route->max_body)
        return head.n_transfer_encoding ? 2 : 0; /* chunked: h2o read the server's limit */
    h2o_conn_t *conn = req->conn;
    h2o_socket_t *sock = conn->callbacks->get_socket(conn);
    struct bo__late_body *late = (void *)h2o_add_ostream(req, sizeof(*late), slot);
    struct bo__late_body **owner = h2o_mem_alloc_shared(&req->pool, sizeof(*owner), on_dispose);
    memset((char *)late + sizeof(late->super), 0, sizeof(*late) - sizeof(late->super));
    *owner = late;
    late->super.do_send = swallow;
    late->req = req;
    late->sock = sock;
    late->loop = bo__loop_of(conn->ctx);
    late->route = idx;
    late->head_len = head.len;
    late->body_len = head.content_length;
    h2o_linklist_insert(&late->loop->late_bodies, &late->link);
    h2o_socket_read_start(sock, on_read);
    if (head.expect_continue) {
        static h2o_iovec_t cont = {H2O_STRLIT("HTTP/1.1 100 Continue\r\n\r\n")};
        late->writing_continue = true;
        h2o_socket_write(sock, &cont, 1, on_continue_sent);
    }
    late->timeout.cb = on_first;
    h2o_timeout_link(late->loop->ctx.loop, &late->loop->ctx.zero_timeout, &late->timeout);
    return 1;
}

/* ---- lingering close ---- */

/* A refused body is left unread; closing a socket with unread input makes
 * the kernel send RST, which can destroy the answer before the client
 * read it. So the answer is followed by a FIN of our own (shutdown on a
 * duplicate of the socket's fd, which also keeps the connection alive
 * when h2o closes its fd), and what the client still sends is read and
 * dropped for up to LINGER_MAX_BYTES; past that it is no longer read (the
 * client's sends stall on a full window, costing us nothing), and the
 * duplicate is closed LINGER_MS after the answer either way: a client
 * busy sending has that long to read the answer before a reset can come. */
#define LINGER_MS        1000
#define LINGER_MAX_BYTES (8u << 20)

typedef struct linger_conn {
    h2o_socket_t *sock;
    h2o_timeout_entry_t timeout;
    size_t dropped;
} linger_t;

static void linger_end(linger_t *l)
{
    if (h2o_timeout_is_linked(&l->timeout))
        h2o_timeout_unlink(&l->timeout);
    h2o_socket_close(l->sock);
    free(l);
}

static void linger_on_read(h2o_socket_t *sock, const char *err)
{
    linger_t *l = sock->data;
    l->dropped += sock->input->size;
    h2o_buffer_consume(&sock->input, sock->input->size);
    if (err)
        linger_end(l);
    else if (l->dropped > LINGER_MAX_BYTES)
        h2o_socket_read_stop(sock); /* the timeout closes it */
}

static void linger_on_timeout(h2o_timeout_entry_t *entry)
{
    linger_end(H2O_STRUCT_FROM_MEMBER(linger_t, timeout, entry));
}

void bo__guard_linger(h2o_req_t *req)
{
    h2o_conn_t *conn = req->conn;
    h2o_socket_t *sock = req->version < 0x200 && conn->callbacks->get_socket
                             ? conn->callbacks->get_socket(conn)
                             : NULL;
    int fd = sock ? dup(h2o_socket_get_fd(sock)) : -1;
    linger_t *l = fd >= 0 ? calloc(1, sizeof(*l)) : NULL;
    if (!l) {
        if (fd >= 0)
            close(fd);
        return;
    }
    shutdown(fd, SHUT_WR); /* after the answer, already written to the kernel */
    fcntl(fd, F_SETFL, O_NONBLOCK);
    l->sock = h2o_evloop_socket_create(conn->ctx->loop, fd, 0);
    l->sock->data = l;
    l->timeout.cb = linger_on_timeout;
    h2o_timeout_link(conn->ctx->loop, &conn->ctx->one_sec_timeout, &l->timeout);
    h2o_socket_read_start(l->sock, linger_on_read);
}

void bo__guard_loop_init(bo__loop_t *loop)
{
    h2o_linklist_init_anchor(&loop->late_bodies);
    h2o_timeout_init(loop->ctx.loop, &loop->late_timeout, loop->srv->keepalive_ms);
}

void bo__guard_loop_dispose(bo__loop_t *loop)
{
    h2o_timeout_dispose(loop->ctx.loop, &loop->late_timeout);
}
