/*
 * response.c - answers: JSON bodies, the API's one error format
 * {"error":{"code","message","details"}}, text, headers, and conditional
 * GETs (ETag / If-None-Match -> 304).
 *
 * Workload: one answer per request, mostly small JSON. A body is
 * serialised once (jansson) and handed to h2o without a copy: its memory
 * is tied to the request's pool and freed with it. HEAD answers keep their
 * Content-Length and leave the body out.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "boxoffice/error.h"
#include "http/http_internal.h"
#include "util/assert.h"

const char *bo__reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 301:
        return "Moved Permanently";
    case 302:
        return "Found";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 409:
        return "Conflict";
    case 410:
        return "Gone";
    case 412:
        return "Precondition Failed";
    case 413:
        return "Payload Too Large";
    case 415:
        return "Unsupported Media Type";
    case 417:
        return "Expectation Failed";
    case 421:
        return "Misdirected Request";
    case 422:
        return "Unprocessable Entity";
    case 429:
        return "Too Many Requests";
    case 500:
        return "Internal Server Error";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    default:
        return status < 300 ? "OK" : status < 500 ? "Client Error" : "Server Error";
    }
}

static void free_linked(void *p)
{
    free(*(void **)p);
}

/* Tie malloc'd memory to the request: freed when its pool is. */
static void link_free(h2o_mem_pool_t *pool, void *mem)
{
    void **slot = h2o_mem_alloc_shared(pool, sizeof(*slot), free_linked);
    *slot = mem;
}

int bo__send(bo_http_req_t *r, int status, const char *ctype, h2o_iovec_t body)
{
    static h2o_generator_t generator = {NULL, NULL};
    h2o_req_t *req = r->req;
    BO_ASSERT(status >= 100 && status <= 599);
    BO_ASSERT(body.base != NULL || body.len == 0);
    if (r->answered)
        return BO_ESTATE;
    r->answered = true;
    req->res.status = status;
    req->res.reason = bo__reason(status);
    if (ctype)
        h2o_set_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, ctype, strlen(ctype),
                       1);
    bool bodiless = status == 204 || status == 304;
    req->res.content_length = bodiless ? SIZE_MAX : body.len;
    if (bodiless || r->head)
        body.len = 0;
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("x-content-type-options"), 0,
                          NULL, H2O_STRLIT("nosniff"));
    if (r->late) { /* guard.c read the body: its ostream carries the answer */
        bo__guard_send(r->late, req, body);
        return 0;
    }
    h2o_start_response(req, &generator);
    h2o_send(req, &body, body.len ? 1 : 0, H2O_SEND_STATE_FINAL);
    return 0;
}

void bo_http_close_after(bo_http_req_t *r)
{
    r->req->http1_is_persistent = 0;
}

int bo_http_set_header(bo_http_req_t *r, const char *name, const char *value)
{
    BO_ASSERT(r != NULL && name != NULL && value != NULL);
    h2o_req_t *req = r->req;
    size_t nlen = strlen(name), vlen = strlen(value);
    if (r->answered)
        return BO_ESTATE;
    if (nlen == 0 || strpbrk(value, "\r\n"))
        return BO_EINVAL;
    char *lower = h2o_mem_alloc_pool(&req->pool, nlen + 1);
    for (size_t i = 0; i <= nlen; i++)
        lower[i] = (char)tolower((unsigned char)name[i]);
    h2o_iovec_t v = h2o_strdup(&req->pool, value, vlen);
    h2o_add_header_by_str(&req->pool, &req->res.headers, lower, nlen, 1, NULL, v.base, v.len);
    return 0;
}

int bo_http_send_json(bo_http_req_t *r, int status, json_t *body)
{
    if (r->answered) {
        json_decref(body);
        return BO_ESTATE;
    }
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (body && !text)
        return bo_http_send_text(r, 500, "application/json",
                                 H2O_STRLIT("{\"error\":{\"code\":\"INTERNAL\",\"message\":"
                                            "\"cannot encode the answer\",\"details\":{}}}"));
    if (!text)
        return bo__send(r, status, "application/json", h2o_iovec_init(H2O_STRLIT("{}")));
    link_free(&r->req->pool, text);
    return bo__send(r, status, "application/json", h2o_iovec_init(text, strlen(text)));
}

int bo_http_send_error_status(bo_http_req_t *r, int status, const char *code, const char *message,
                              json_t *details)
{
    if (r->answered) {
        json_decref(details);
        return BO_ESTATE;
    }
    BO_ASSERT(code != NULL && message != NULL); /* json_pack would drop the whole answer */
    json_t *body = json_pack("{s{s:s,s:s,s:o}}", "error", "code", code, "message", message,
                             "details", details ? details : json_object());
    if (status == 503)
        bo_http_set_header(r, "retry-after", "1");
    if (!body) /* message was not UTF-8, or out of memory: still answer */
        body = json_pack("{s{s:s,s:s,s:{}}}", "error", "code", code, "message", "error");
    return bo_http_send_json(r, status, body);
}

int bo_http_send_error(bo_http_req_t *r, int bo_err, const char *message, json_t *details)
{
    return bo_http_send_error_status(r, bo_err_http_status(bo_err), bo_err_code(bo_err),
                                     message ? message : bo_strerror(bo_err), details);
}

int bo_http_send_text(bo_http_req_t *r, int status, const char *content_type, const char *body,
                      size_t len)
{
    BO_ASSERT(r != NULL && (body != NULL || len == 0));
    if (r->answered)
        return BO_ESTATE;
    return bo__send(r, status, content_type, h2o_strdup(&r->req->pool, body, len));
}

int bo_http_send_buf(bo_http_req_t *r, int status, const char *content_type, char *body, size_t len)
{
    BO_ASSERT(r != NULL && (body != NULL || len == 0));
    if (r->answered) {
        free(body);
        return BO_ESTATE;
    }
    link_free(&r->req->pool, body);
    return bo__send(r, status, content_type, h2o_iovec_init(body, len));
}

/* Does one entity tag of an If-None-Match list equal etag (weak
 * comparison: a W/ prefix on either side is ignored)? */
static bool etag_listed(const char *list, const char *etag)
{
    if (!strncmp(etag, "W/", 2))
        etag += 2;
    size_t elen = strlen(etag);
    for (const char *p = list; *p;) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        const char *end = p;
        while (*end && *end != ',')
            end++;
        const char *last = end;
        while (last > p && (last[-1] == ' ' || last[-1] == '\t'))
            last--;
        if (last - p == 1 && *p == '*')
            return true;
        if (last - p >= 2 && !strncmp(p, "W/", 2))
            p += 2;
        if ((size_t)(last - p) == elen && !memcmp(p, etag, elen))
            return true;
        p = end;
    }
    return false;
}

int bo_http_not_modified(bo_http_req_t *r, const char *etag)
{
    const char *inm = bo_http_header(r, "if-none-match", NULL);
    if (bo_http_set_header(r, "etag", etag))
        return 0;
    if (!inm || (strcmp(r->method, "GET") && !r->head) || !etag_listed(inm, etag))
        return 0;
    bo__send(r, 304, NULL, h2o_iovec_init(NULL, 0));
    return 1;
}
