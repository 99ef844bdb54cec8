/*
 * router.c - from an h2o request to a handler: method and path matched
 * against the route table ("/api/v1/events/{id}/holds"), parameters
 * captured, 404 / 405 / 413 answered in the API's JSON error format, static
 * files for the rest, and h2o's own error answers (sent before any handler
 * runs) rewritten to that JSON format too.
 *
 * Workload: every request. The table is small (tens of routes) and fixed
 * once the server runs, so a linear scan over pre-split patterns, comparing
 * segments in place, beats anything cleverer; the only allocation is the
 * per-request state in the request's pool.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boxoffice/error.h"
#include "http/http_internal.h"
#include "util/assert.h"
#include "util/pct.h"
#include "util/text.h"

typedef struct router_handler {
    h2o_handler_t super;
    bo_server_t *srv;
} router_handler_t;

typedef struct segment {
    const char *p;
    size_t len;
} segment_t;

/* ---- the table ---- */

static int method_ok(const char *m)
{
    size_t n = strlen(m);
    if (n == 0 || n >= sizeof(((bo__route_t *)0)->method))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (m[i] < 'A' || m[i] > 'Z')
            return 0;
    return 1;
}

/* Split pattern into route->segs; "{name}" segments become parameters.
 * "/" has no segment; empty segments ("//", a trailing '/') are refused. */
static int parse_pattern(bo__route_t *route)
{
    const char *p = route->pattern;
    unsigned nparams = 0;
    if (p[0] != '/')
        return BO_EINVAL;
    if (p[1] == '\0')
        return 0;
    for (p++;; p++) {
        const char *end = strchrnul(p, '/');
        size_t len = (size_t)(end - p);
        int param = len > 2 && p[0] == '{' && end[-1] == '}';
        if (route->nsegs == BO_HTTP_MAX_SEGMENTS || len == 0 || memchr(p, '?', len) ||
            (param && ++nparams > BO_HTTP_MAX_PARAMS) || (!param && memchr(p, '{', len)))
            return BO_EINVAL;
        route->segs[route->nsegs] = param ? strndup(p + 1, len - 2) : strndup(p, len);
        if (!route->segs[route->nsegs])
            return BO_ENOMEM;
        route->param_mask |= (uint32_t)param << route->nsegs;
        route->nsegs++;
        if (!*end)
            return 0;
        p = end;
    }
}

static void route_clear(bo__route_t *route)
{
    for (unsigned i = 0; i < route->nsegs; i++)
        free(route->segs[i]);
    free(route->pattern);
}

static int add_route(bo_server_t *srv, const char *method, const char *pattern, bo_handler_fn fn,
                     void *arg, size_t max_body_bytes, bo_http_guard_fn guard)
{
    if (srv->ran)
        return BO_ESTATE;
    if (!method || !pattern || !fn || !method_ok(method))
        return BO_EINVAL;
    for (unsigned i = 0; i < srv->nroutes; i++)
        if (!strcmp(srv->routes[i].method, method) && !strcmp(srv->routes[i].pattern, pattern))
            return BO_EEXIST;
    if (srv->nroutes == BO_HTTP_MAX_ROUTES)
        return BO_EINVAL;
    bo__route_t *grown = realloc(srv->routes, (srv->nroutes + 1) * sizeof(*grown));
    if (!grown)
        return BO_ENOMEM;
    srv->routes = grown;
    bo__route_t *route = &srv->routes[srv->nroutes];
    memset(route, 0, sizeof(*route));
    strcpy(route->method, method);
    route->fn = fn;
    route->arg = arg;
    route->max_body = max_body_bytes;
    route->guard = guard;
    int rc = (route->pattern = strdup(pattern)) ? parse_pattern(route) : BO_ENOMEM;
    if (rc) {
        route_clear(route);
        return rc;
    }
    srv->nroutes++;
    /* h2o reads bodies up to its own limit, from anyone, before the router
     * sees them: only unguarded routes raise it (guard.c reads the rest) */
    if (!guard && max_body_bytes > srv->conf.max_request_entity_size)
        srv->conf.max_request_entity_size = max_body_bytes;
    return 0;
}

int bo_server_route(bo_server_t *srv, const char *method, const char *pattern, bo_handler_fn fn,
                    void *arg)
{
    return add_route(srv, method, pattern, fn, arg, 0, NULL);
}

int bo_server_route_max_body(bo_server_t *srv, const char *method, const char *pattern,
                             bo_handler_fn fn, void *arg, size_t max_body_bytes)
{
    return add_route(srv, method, pattern, fn, arg, max_body_bytes, NULL);
}

int bo_server_route_guarded(bo_server_t *srv, const char *method, const char *pattern,
                            bo_handler_fn fn, void *arg, size_t max_body_bytes,
                            bo_http_guard_fn guard)
{
    if (!guard)
        return BO_EINVAL;
    return add_route(srv, method, pattern, fn, arg, max_body_bytes, guard);
}

void bo__router_free(bo_server_t *srv)
{
    for (unsigned i = 0; i < srv->nroutes; i++)
        route_clear(&srv->routes[i]);
    free(srv->routes);
}

/* ---- matching ---- */

/* Split path ("/a/b") into segments; -1 when there are too many. */
static int split_path(const char *path, segment_t *segs)
{
    int n = 0;
    if (path[0] != '/')
        return -1;
    if (path[1] == '\0')
        return 0;
    for (const char *p = path + 1;; n++) {
        const char *end = strchrnul(p, '/');
        if (n == BO_HTTP_MAX_SEGMENTS)
            return -1;
        segs[n].p = p;
        segs[n].len = (size_t)(end - p);
        if (!*end)
            return n + 1;
        p = end + 1;
    }
}

/* Whether the NUL-terminated literal is the len bytes at p (which hold no
 * NUL: they come from a C string). Segments are a few bytes: a plain loop
 * beats a call to strlen and memcmp per segment of every route. */
static bool literal_is(const char *literal, const char *p, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (literal[i] != p[i]) /* also stops at the literal's end */
            return false;
    return literal[len] == '\0';
}

/* 0 when route does not match the segments, else 1 + a score in which a
 * literal segment beats a parameter at the same place, leftmost first. */
static uint32_t match(const bo__route_t *route, const segment_t *segs, int n)
{
    uint32_t score = 0;
    BO_ASSERT(route->nsegs <= BO_HTTP_MAX_SEGMENTS && n >= 0); /* score fits 32 bits */
    if ((int)route->nsegs != n)
        return 0;
    for (int i = 0; i < n; i++) {
        bool param = (route->param_mask >> i) & 1;
        if (param && segs[i].len == 0)
            return 0;
        if (!param && !literal_is(route->segs[i], segs[i].p, segs[i].len))
            return 0;
        score = score << 1 | (uint32_t)!param;
    }
    return score + 1;
}

static int method_is(const bo__route_t *route, const char *method, bool head)
{
    return !strcmp(route->method, method) || (head && !strcmp(route->method, "GET"));
}

/* The best route for method + path, or -1; *allow gets the methods of the
 * routes matching the path with another method. */
static int find_route(bo_server_t *srv, const char *method, bool head, const segment_t *segs, int n,
                      char *allow, size_t cap)
{
    int best = -1;
    uint32_t best_score = 0;
    size_t used = 0;
    BO_ASSERT(cap > 0);
    allow[0] = '\0';
    for (unsigned i = 0; i < srv->nroutes; i++) {
        uint32_t score = match(&srv->routes[i], segs, n);
        if (!score)
            continue;
        const char *m = srv->routes[i].method;
        if (method_is(&srv->routes[i], method, head)) {
            if (score > best_score || (score == best_score && !strcmp(m, method))) {
                best = (int)i;
                best_score = score;
            }
        } else if (!strstr(allow, m) && used + strlen(m) + 8 < cap) {
            used += (size_t)snprintf(allow + used, cap - used, "%s%s%s", used ? ", " : "", m,
                                     strcmp(m, "GET") ? "" : ", HEAD");
        }
    }
    return best;
}

/* ---- dispatch ---- */

/* What a request parameter's name should read as in an error's details:
 * the decoded name, else nothing. */
static json_t *param_details(const char *key, const char *name, size_t len)
{
    json_t *d = json_object();
    if (name && bo_utf8_valid(name, len))
        json_object_set_new(d, key, json_stringn(name, len));
    return d;
}

static int bind_params(bo_http_req_t *r, const bo__route_t *route, const segment_t *segs)
{
    unsigned k = 0;
    for (unsigned i = 0; i < route->nsegs; i++) {
        if (!((route->param_mask >> i) & 1))
            continue;
        char *v = h2o_mem_alloc_pool(&r->req->pool, segs[i].len + 1);
        size_t len;
        if (bo_pct_decode(segs[i].p, segs[i].len, v, segs[i].len, &len, 0) ||
            !bo_utf8_valid(v, len)) {
            json_t *d = param_details("parameter", route->segs[i], strlen(route->segs[i]));
            bo_http_send_error(r, BO_EINVAL,
                               "a path parameter has a bad %-escape, a NUL or invalid UTF-8", d);
            return BO_EINVAL;
        }
        BO_ASSERT(k < BO_HTTP_MAX_PARAMS); /* add_route counted them */
        r->params[k++] = v;
    }
    return 0;
}

int bo__query_check(const char *p, const char *end, char *buf, const char **bad_name,
                    size_t *bad_len)
{
    *bad_name = NULL;
    *bad_len = 0;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p)), *pend = amp ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(pend - p)), *kend = eq ? eq : pend;
        size_t klen, vlen;
        if (bo_pct_decode(p, (size_t)(kend - p), buf, (size_t)(kend - p), &klen, BO_PCT_PLUS) ||
            !bo_utf8_valid(buf, klen))
            return BO_EINVAL;
        if (eq && (bo_pct_decode(eq + 1, (size_t)(pend - eq - 1), buf + klen + 1,
                                 (size_t)(pend - eq - 1), &vlen, BO_PCT_PLUS) ||
                   !bo_utf8_valid(buf + klen + 1, vlen))) {
            *bad_name = buf;
            *bad_len = klen;
            return BO_EINVAL;
        }
        p = pend + 1;
    }
    return 0;
}

/* Every query parameter's name and value decode to UTF-8 without NUL;
 * else answers 400 naming the parameter and returns BO_EINVAL. */
static int check_query(bo_http_req_t *r)
{
    h2o_req_t *req = r->req;
    if (req->query_at == SIZE_MAX)
        return 0;
    const char *p = req->path.base + req->query_at + 1, *end = req->path.base + req->path.len;
    char *buf = h2o_mem_alloc_pool(&req->pool, (size_t)(end - p) + 1);
    const char *name;
    size_t len;
    if (bo__query_check(p, end, buf, &name, &len) == 0)
        return 0;
    bo_http_send_error(r, BO_EINVAL,
                       "a query parameter has a bad %-escape, a NUL or invalid UTF-8 once decoded",
                       param_details("parameter", name, len));
    return BO_EINVAL;
}

static void run_handler(bo_server_t *srv, bo_http_req_t *r, int idx, const segment_t *segs)
{
    const bo__route_t *route = &srv->routes[idx];
    r->route = idx;
    if (check_query(r) || bind_params(r, route, segs))
        return;
    int rc = route->fn(route->arg, r);
    if (rc < 0 && !r->answered)
        bo_http_send_error(r, rc, NULL, NULL);
    else if (!r->answered && !r->deferred)
        bo_http_send_error_status(r, 500, "INTERNAL", "the handler produced no answer", NULL);
}

static void no_route(bo_server_t *srv, bo_http_req_t *r, const char *allow)
{
    bool api = !strncmp(r->path, "/api/", 5) || !strcmp(r->path, "/api");
    r->route = (int)(srv->nroutes + BO__ROUTE_UNMATCHED);
    if (allow[0]) {
        bo_http_set_header(r, "allow", allow);
        bo_http_send_error(r, BO_EMETHOD, NULL, NULL);
    } else if (srv->web && !api && (!strcmp(r->method, "GET") || r->head)) {
        r->route = (int)(srv->nroutes + BO__ROUTE_STATIC);
        bo__static_serve(srv->web, r);
    } else if (srv->web && !api) {
        bo_http_set_header(r, "allow", "GET, HEAD");
        bo_http_send_error(r, BO_EMETHOD, NULL, NULL);
    } else {
        bo_http_send_error(r, BO_ENOTFOUND, "no such resource", NULL);
    }
}

static bo_http_req_t *req_new(h2o_req_t *req)
{
    bo_http_req_t *r = h2o_mem_alloc_pool(&req->pool, sizeof(*r));
    memset(r, 0, sizeof(*r));
    r->req = req;
    r->loop = bo__loop_of(req->conn->ctx);
    r->route = -1;
    r->method = h2o_strdup(&req->pool, req->method.base, req->method.len).base;
    size_t plen = req->query_at != SIZE_MAX ? req->query_at : req->path.len;
    r->path = h2o_strdup(&req->pool, req->path.base, plen).base;
    r->head = !strcmp(r->method, "HEAD");
    h2o_iovec_t *slot = h2o_req_getenv(req, H2O_STRLIT(BO__ENV_KEY), 1);
    *slot = h2o_iovec_init((char *)r, 0);
    return r;
}

/* Headers past BO_HTTP_MAX_HEADERS fields or BO_HTTP_MAX_HEADER_BYTES
 * bytes answer 431, an ambiguously framed HTTP/1 body 400; both close the
 * connection (what follows on it cannot be trusted to be a request).
 * Returns 1 once answered. */
static int refuse_head(bo_server_t *srv, bo_http_req_t *r, int idx)
{
    h2o_req_t *req = r->req;
    size_t bytes = 0;
    for (size_t i = 0; i < req->headers.size; i++)
        bytes += req->headers.entries[i].name->len + req->headers.entries[i].value.len;
    r->route = idx >= 0 ? idx : (int)(srv->nroutes + BO__ROUTE_UNMATCHED);
    if (req->headers.size > BO_HTTP_MAX_HEADERS || bytes > BO_HTTP_MAX_HEADER_BYTES) {
        bo_http_close_after(r);
        bo_http_send_error_status(r, 431, "HEADERS_TOO_LARGE", "the request headers are too large",
                                  json_pack("{sIsI}", "max_fields", (json_int_t)BO_HTTP_MAX_HEADERS,
                                            "max_bytes", (json_int_t)BO_HTTP_MAX_HEADER_BYTES));
        return 1;
    }
    bo__http1_head_t head;
    const char *problem = NULL;
    if (req->entity.base && req->version < 0x200 && bo__http1_head(req, &head) == 0)
        problem = bo__http1_framing_problem(&head);
    if (problem) {
        bo_http_close_after(r);
        bo_http_send_error(r, BO_EINVAL, "the request's body framing is ambiguous",
                           json_pack("{ss}", "reason", problem));
        return 1;
    }
    r->route = -1;
    return 0;
}

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
    bo_server_t *srv = ((router_handler_t *)self)->srv;
    bo_http_req_t *r = req_new(req);
    segment_t segs[BO_HTTP_MAX_SEGMENTS];
    char allow[128];
    int n = split_path(r->path, segs);
    int idx = n < 0 ? -1 : find_route(srv, r->method, r->head, segs, n, allow, sizeof(allow));
    if (n < 0)
        allow[0] = '\0';
    if (refuse_head(srv, r, idx))
        return 0;
    size_t limit =
        idx >= 0 && srv->routes[idx].max_body ? srv->routes[idx].max_body : srv->max_body;
    if (req->entity.base && req->entity.len > limit) {
        r->route = idx >= 0 ? idx : (int)(srv->nroutes + BO__ROUTE_UNMATCHED);
        bo_http_send_error(r, BO_ETOOLARGE, "request body too large",
                           json_pack("{sI}", "limit_bytes", (json_int_t)limit));
        return 0;
    }
    if (idx >= 0)
        run_handler(srv, r, idx, segs);
    else
        no_route(srv, r, allow);
    return 0;
}

bo_http_req_t *bo__req_of(h2o_req_t *req)
{
    h2o_iovec_t *v = h2o_req_getenv(req, H2O_STRLIT(BO__ENV_KEY), 0);
    return v ? (bo_http_req_t *)v->base : NULL;
}

/* ---- h2o's own errors as JSON ---- */

typedef struct error_rewrite {
    h2o_ostream_t super;
    h2o_iovec_t body;
    bool sent;
    bool linger; /* the body was left unread: close gently (guard.c) */
} error_rewrite_t;

static void rewrite_send(h2o_ostream_t *self, h2o_req_t *req, h2o_iovec_t *bufs, size_t n,
                         h2o_send_state_t state)
{
    error_rewrite_t *rw = (error_rewrite_t *)self;
    if (!rw->sent && (n > 0 || !h2o_send_state_is_in_progress(state))) {
        rw->sent = true; /* h2o's text body is replaced by ours, whole */
        bool linger = rw->linger && !h2o_send_state_is_in_progress(state);
        h2o_ostream_send_next(self, req, &rw->body, 1, state);
        if (linger)
            bo__guard_linger(req);
    } else {
        h2o_ostream_send_next(self, req, NULL, 0, state);
    }
}

static const char *status_code_name(int status)
{
    switch (status) {
    case 400:
        return "INVALID_REQUEST";
    case 404:
        return "NOT_FOUND";
    case 405:
        return "METHOD_NOT_ALLOWED";
    case 413:
        return "TOO_LARGE";
    case 417:
        return "EXPECTATION_FAILED";
    case 503:
        return "BUSY";
    default:
        return "HTTP_ERROR";
    }
}

typedef struct router_filter {
    h2o_filter_t super;
    bo_server_t *srv;
} router_filter_t;

/* The body limit h2o's 413 stands for: the route's, else the server's. */
static size_t limit_of(bo_server_t *srv, h2o_req_t *req)
{
    int idx = bo__router_find(srv, req->input.method.base, req->input.method.len,
                              req->input.path.base, req->input.path.len);
    size_t route = idx >= 0 ? srv->routes[idx].max_body : 0;
    return route ? route : srv->max_body;
}

/* Errors h2o answers before the router ran (413 for a body past h2o's
 * limit, 400 for broken requests) get the API's JSON error body; a 413 of
 * a guarded route goes to its guard first (guard.c), which may take the
 * answer over or turn it into 401 / 403. */
static void on_setup_ostream(h2o_filter_t *self, h2o_req_t *req, h2o_ostream_t **slot)
{
    bo_server_t *srv = ((router_filter_t *)self)->srv;
    if (req->res.status >= 400 && !bo__req_of(req)) {
        char buf[320];
        int status = req->res.status, guard = status == 413 ? bo__guard_take(srv, req, slot) : 0;
        if (guard == 1) {
            h2o_setup_next_ostream(req, &(*slot)->next);
            return;
        }
        const char *code = status_code_name(status), *message = bo__reason(status);
        char details[64] = "{}";
        if (guard == 2) {
            snprintf(details, sizeof(details), "{\"limit_bytes\":%zu}",
                     srv->conf.max_request_entity_size);
            message = "a body this large must be sent with a Content-Length, over HTTP/1.1";
        } else if (guard) { /* BO_EUNAUTHORIZED or BO_EFORBIDDEN: the body stays unread */
            status = bo_err_http_status(guard);
            code = bo_err_code(guard);
            message = guard == BO_EUNAUTHORIZED ? "this operation needs the admin bearer token"
                                                : "the bearer token is not valid";
            req->res.status = status;
            req->res.reason = bo__reason(status);
            if (guard == BO_EUNAUTHORIZED)
                h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_WWW_AUTHENTICATE, NULL,
                               H2O_STRLIT("Bearer realm=\"boxoffice\""));
        } else if (status == 413) { /* the route's limit, or the server's */
            snprintf(details, sizeof(details), "{\"limit_bytes\":%zu}", limit_of(srv, req));
        }
        int n = snprintf(buf, sizeof(buf),
                         "{\"error\":{\"code\":\"%s\",\"message\":\"%s\",\"details\":%s}}", code,
                         message, details);
        error_rewrite_t *rw = (error_rewrite_t *)h2o_add_ostream(req, sizeof(*rw), slot);
        rw->super.do_send = rewrite_send;
        rw->body = h2o_strdup(&req->pool, buf, (size_t)n);
        rw->sent = false;
        rw->linger = status == 413 || guard != 0; /* a body h2o did not read */
        req->res.content_length = (size_t)n;
        h2o_set_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE,
                       H2O_STRLIT("application/json"), 1);
        h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("x-content-type-options"),
                              0, NULL, H2O_STRLIT("nosniff"));
        slot = &rw->super.next;
    }
    h2o_setup_next_ostream(req, slot);
}

int bo__router_find(bo_server_t *srv, const char *method, size_t mlen, const char *path,
                    size_t plen)
{
    char m[16], allow[128];
    segment_t segs[BO_HTTP_MAX_SEGMENTS];
    const char *q = memchr(path, '?', plen);
    if (mlen >= sizeof(m))
        return -1;
    memcpy(m, method, mlen);
    m[mlen] = '\0';
    char *p = strndup(path, q ? (size_t)(q - path) : plen);
    int n = p ? split_path(p, segs) : -1;
    int idx = n < 0 ? -1 : find_route(srv, m, false, segs, n, allow, sizeof(allow));
    free(p);
    return idx;
}

void bo__router_dispatch_late(bo_server_t *srv, h2o_req_t *req, int idx, struct bo__late_body *late)
{
    bo_http_req_t *r = req_new(req);
    segment_t segs[BO_HTTP_MAX_SEGMENTS];
    r->late = late;
    int n = split_path(r->path, segs);
    BO_ASSERT(n >= 0 && (unsigned)n == srv->routes[idx].nsegs);
    if (refuse_head(srv, r, idx))
        return;
    run_handler(srv, r, idx, segs);
}

int bo__router_install(bo_server_t *srv)
{
    srv->pathconf = h2o_config_register_path(srv->host, "/", 0);
    router_handler_t *h = (router_handler_t *)h2o_create_handler(srv->pathconf, sizeof(*h));
    h->super.on_req = on_req;
    h->srv = srv;
    h2o_pathconf_t *paths[] = {srv->pathconf, &srv->host->fallback_path};
    for (size_t i = 0; i < 2; i++) {
        router_filter_t *f = (router_filter_t *)h2o_create_filter(paths[i], sizeof(*f));
        f->super.on_setup_ostream = on_setup_ostream;
        f->srv = srv;
    }
    return bo__access_log_install(srv);
}
