/*
 * request.c - what a handler reads from a request: route parameters, query
 * parameters, headers, the body, and the body as a bounded JSON object.
 *
 * Workload: a few lookups per request on small inputs (a query string of
 * tens of bytes, a body of at most max_body_bytes). Lookups scan in place
 * and copy only what they return, into the request's pool, so nothing here
 * needs freeing. Everything read here is outside input: every decoder
 * refuses what it does not fully understand.
 */
#include <netdb.h>
#include <string.h>
#include <strings.h>

#include "boxoffice/error.h"
#include "http/http_internal.h"
#include "util/assert.h"
#include "util/json_depth.h"
#include "util/pct.h"

struct st_h2o_req_t *bo_http_h2o_req(bo_http_req_t *r)
{
    return r->req;
}

const char *bo_http_method(bo_http_req_t *r)
{
    return r->method;
}

const char *bo_http_path(bo_http_req_t *r)
{
    return r->path;
}

const char *bo_http_route(bo_http_req_t *r)
{
    bo_server_t *srv = r->loop->srv;
    return r->route >= 0 && (unsigned)r->route < srv->nroutes ? srv->routes[r->route].pattern
                                                              : NULL;
}

const char *bo_http_remote_addr(bo_http_req_t *r)
{
    struct sockaddr_storage ss;
    char *buf = h2o_mem_alloc_pool(&r->req->pool, NI_MAXHOST);
    socklen_t len = r->req->conn->callbacks->get_peername(r->req->conn, (struct sockaddr *)&ss);
    if (len == 0 || h2o_socket_getnumerichost((struct sockaddr *)&ss, len, buf) == SIZE_MAX)
        return "unknown";
    return buf;
}

const char *bo_http_param(bo_http_req_t *r, const char *name)
{
    BO_ASSERT(r != NULL && name != NULL);
    bo_server_t *srv = r->loop->srv;
    if (r->route < 0 || (unsigned)r->route >= srv->nroutes)
        return NULL;
    const bo__route_t *route = &srv->routes[r->route];
    unsigned k = 0;
    for (unsigned i = 0; i < route->nsegs; i++) {
        if (!((route->param_mask >> i) & 1))
            continue;
        BO_ASSERT(k < BO_HTTP_MAX_PARAMS); /* add_route counted them */
        if (!strcmp(route->segs[i], name))
            return r->params[k];
        k++;
    }
    return NULL;
}

const char *bo_http_query(bo_http_req_t *r, const char *name, size_t *len)
{
    BO_ASSERT(r != NULL && name != NULL);
    h2o_req_t *req = r->req;
    size_t nlen = strlen(name);
    if (req->query_at == SIZE_MAX)
        return NULL;
    const char *p = req->path.base + req->query_at + 1, *end = req->path.base + req->path.len;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *pend = amp ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(pend - p));
        const char *kend = eq ? eq : pend;
        char *key = h2o_mem_alloc_pool(&req->pool, (size_t)(kend - p) + 1);
        size_t klen, vlen;
        if (bo_pct_decode(p, (size_t)(kend - p), key, (size_t)(kend - p), &klen, BO_PCT_PLUS) ==
                0 &&
            klen == nlen && !memcmp(key, name, nlen)) {
            const char *v = eq ? eq + 1 : pend;
            char *val = h2o_mem_alloc_pool(&req->pool, (size_t)(pend - v) + 1);
            if (bo_pct_decode(v, (size_t)(pend - v), val, (size_t)(pend - v), &vlen, BO_PCT_PLUS))
                return NULL;
            if (len)
                *len = vlen;
            return val;
        }
        p = pend + 1;
    }
    return NULL;
}

const char *bo_http_header(bo_http_req_t *r, const char *name, size_t *len)
{
    BO_ASSERT(r != NULL && name != NULL && name[0]);
    h2o_req_t *req = r->req;
    size_t nlen = strlen(name);
    for (size_t i = 0; i < req->headers.size; i++) {
        const h2o_header_t *h = &req->headers.entries[i];
        if (h->name->len == nlen && !strncasecmp(h->name->base, name, nlen)) {
            if (len)
                *len = h->value.len;
            return h2o_strdup(&req->pool, h->value.base, h->value.len).base;
        }
    }
    return NULL;
}

const char *bo_http_body(bo_http_req_t *r, size_t *len)
{
    BO_ASSERT(r != NULL && len != NULL);
    *len = r->req->entity.base ? r->req->entity.len : 0;
    return r->req->entity.base ? r->req->entity.base : "";
}

void *bo_http_alloc(bo_http_req_t *r, size_t size)
{
    return h2o_mem_alloc_pool(&r->req->pool, size);
}

static int json_refuse(bo_http_req_t *r, const char *msg, json_t *details)
{
    bo_http_send_error(r, BO_EINVAL, msg, details);
    return BO_EINVAL;
}

int bo__json_object_read(const char *body, size_t len, unsigned max_depth, json_t **out,
                         json_error_t *err)
{
    BO_ASSERT(out != NULL && err != NULL && (body != NULL || len == 0));
    *out = NULL;
    if (max_depth == 0)
        max_depth = BO_HTTP_DEFAULT_JSON_DEPTH;
    if (len == 0)
        return BO__JSON_EMPTY;
    if (bo_json_depth(body, len, max_depth) > max_depth)
        return BO__JSON_DEEP;
    json_t *j = json_loadb(body, len, JSON_REJECT_DUPLICATES, err);
    if (!j)
        return BO__JSON_INVALID;
    if (!json_is_object(j)) {
        json_decref(j);
        return BO__JSON_NOT_OBJECT;
    }
    *out = j;
    return 0;
}

int bo_http_json_body(bo_http_req_t *r, json_t **out, unsigned max_depth)
{
    size_t len;
    const char *body = bo_http_body(r, &len);
    json_error_t err;
    switch (bo__json_object_read(body, len, max_depth, out, &err)) {
    case 0:
        return 0;
    case BO__JSON_EMPTY:
        return json_refuse(r, "the request body is empty; a JSON object is expected", NULL);
    case BO__JSON_DEEP:
        return json_refuse(
            r, "the JSON body is nested too deeply",
            json_pack("{sI}", "max_depth",
                      (json_int_t)(max_depth ? max_depth : BO_HTTP_DEFAULT_JSON_DEPTH)));
    case BO__JSON_INVALID:
        return json_refuse(r, "the request body is not valid JSON",
                           json_pack("{sssisisi}", "reason", err.text, "line", err.line, "column",
                                     err.column, "position", err.position));
    default:
        return json_refuse(r, "the JSON body must be an object", NULL);
    }
}
