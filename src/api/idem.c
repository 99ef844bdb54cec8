/*
 * idem.c - the common entry of mutating calls (api_internal.h "idem.c"):
 * their JSON body, and the Idempotency-Key contract of docs/api.md: the
 * same key and request get the first answer again, once; another request
 * under the key gets 422, a retry while the first runs 409.
 *
 * Answers are durable before they are sent: an answer to a decision rides
 * in the decision's own record (bo__idem_attach), any other success is
 * stored on its own (bo__idem_reply: bo_live_idem_put) and sent after its
 * commit. Refusals (4xx) decided nothing: they are kept in memory a short
 * while (BO_IDEM_REFUSAL_TTL_MS), never on disk. 5xx and 429 are never
 * kept, so a retry after one runs again. A client address holding
 * BO_IDEM_PER_CLIENT_MAX keys gets 429 for a new one (docs/api.md).
 *
 * Workload: every request with the header (retried checkouts, admin
 * calls, careful clients): one SHA-256 of a small body and one hash-table
 * lookup in the live layer. Requests without the header pay one header
 * scan.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "api/api_internal.h"

/* ---- the JSON body ---- */

/* Whether a Content-Type names JSON: application/json or a type ending in
 * "+json", parameters (charset) ignored. */
static bool is_json_type(const char *v, size_t len)
{
    const char *end = memchr(v, ';', len);
    if (!end)
        end = v + len;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    size_t n = (size_t)(end - v);
    if (n == 16 && !strncasecmp(v, "application/json", 16))
        return true;
    return n > 5 && memchr(v, '/', n) && !strncasecmp(end - 5, "+json", 5);
}

int bo__api_json_body(bo_http_req_t *r, json_t **out)
{
    size_t len;
    const char *ctype = bo_http_header(r, "content-type", &len);
    *out = NULL;
    if (ctype && !is_json_type(ctype, len)) {
        bo_http_send_error(r, BO_EINVAL, "the body must be JSON (Content-Type: application/json)",
                           json_pack("{ss}", "field", "Content-Type"));
        return BO_EINVAL;
    }
    return bo_http_json_body(r, out, BO_API_JSON_DEPTH);
}

/* ---- keys ---- */

bool bo__idem_key_ok(const char *s, size_t len)
{
    BO_ASSERT(s != NULL || len == 0);
    if (len == 0 || len > BO_IDEM_KEY_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if (s[i] < 0x20 || s[i] > 0x7e)
            return false;
    return true;
}

void bo__idem_hash(const char *method, const char *path, const char *body, size_t len,
                   uint8_t out[32])
{
    crypto_hash_sha256_state st;
    BO_ASSERT(method != NULL && path != NULL && (body != NULL || len == 0) && out != NULL);
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, (const uint8_t *)method, strlen(method) + 1);
    crypto_hash_sha256_update(&st, (const uint8_t *)path, strlen(path) + 1);
    crypto_hash_sha256_update(&st, (const uint8_t *)body, len);
    crypto_hash_sha256_final(&st, out);
}

/* The stored answer again, as it was first sent. */
static void replay(bo_http_req_t *r, const bo_idem_answer_t *ans)
{
    bo_http_set_header(r, "Idempotent-Replayed", "true");
    if (ans->status == 204 || ans->len == 0)
        bo_http_send_text(r, ans->status, NULL, "", 0);
    else
        bo_http_send_text(r, ans->status, "application/json", ans->body, ans->len);
}

/* The client holds BO_IDEM_PER_CLIENT_MAX keys: 429, nothing run or kept. */
static void too_many_keys(bo_http_req_t *r, int64_t retry_ms)
{
    char after[24];
    int64_t s = (retry_ms + 999) / 1000;
    snprintf(after, sizeof(after), "%lld", (long long)(s > 0 ? s : 1));
    bo_http_set_header(r, "Retry-After", after);
    bo_http_send_error(r, BO_ERATE, "too many Idempotency-Keys from this address: retry later",
                       json_pack("{sssI}", "field", "Idempotency-Key", "retry_after_s",
                                 (json_int_t)(s > 0 ? s : 1)));
}

int bo__idem_begin(bo_api_t *api, bo_http_req_t *r, bo_idem_t *idem)
{
    size_t klen, blen;
    const char *key = bo_http_header(r, "idempotency-key", &klen);
    idem->on = false;
    if (!key)
        return 0;
    if (!bo__idem_key_ok(key, klen)) {
        bo_http_send_error(r, BO_EINVAL,
                           "Idempotency-Key must be 1 to 255 printable ASCII characters",
                           json_pack("{ss}", "field", "Idempotency-Key"));
        return 1;
    }
    const char *body = bo_http_body(r, &blen);
    bo__idem_hash(bo_http_method(r), bo_http_path(r), body, blen, idem->hash);
    BO_ASSERT(klen < sizeof(idem->key)); /* bo__idem_key_ok's bound */
    memcpy(idem->key, key, klen + 1);
    bo_idem_answer_t ans = {0};
    int64_t retry_ms = 0;
    const char *client = bo_http_client_net(r, &api->trusted_proxies);
    int rc = bo_live_idem_begin(api->live, idem->key, idem->hash, client, &ans, &retry_ms);
    if (rc == 0) {
        idem->on = true;
        return 0;
    }
    if (rc == 1) {
        replay(r, &ans);
        free(ans.body);
    } else if (rc == BO_ERATE) {
        too_many_keys(r, retry_ms);
    } else if (rc == BO_EIDEMMISMATCH || rc == BO_EIDEMBUSY) {
        bo_http_send_error(r, rc, NULL, NULL);
    } else {
        bo_http_send_error(r, rc == BO_EINVAL ? BO_EINVAL : BO_ENOMEM, NULL,
                           rc == BO_EINVAL ? json_pack("{ss}", "field", "Idempotency-Key") : NULL);
    }
    return 1;
}

void bo__idem_attach(const bo_idem_t *idem, bo_rec_t *rec, int status, const char *body, size_t len)
{
    if (!idem->on || !body)
        return;
    BO_ASSERT(rec != NULL && status >= 200 && status < 300); /* a decision's success */
    rec->idem_key = idem->key;
    rec->idem_hash = idem->hash;
    rec->idem_status = status;
    rec->idem_body = body;
    rec->idem_body_len = len;
}

void bo__idem_end(bo_api_t *api, bo_idem_t *idem, int status, const char *body, size_t len)
{
    if (!idem->on)
        return;
    BO_ASSERT(body == NULL || (status >= 200 && status <= 599)); /* an answer, or none */
    idem->on = false;
    bo_live_idem_end(api->live, idem->key, status, body, len);
}

/* ---- answers stored on their own ---- */

struct reply {
    bo_http_async_t *a;
    int status;
    bool durable;
    char *body; /* malloc'd, or NULL */
    size_t len;
    char *location;
};

static void reply_free(struct reply *rep)
{
    free(rep->body);
    free(rep->location);
    free(rep);
}

/* Loop thread: send it. */
static void reply_send(bo_http_req_t *r, void *arg)
{
    struct reply *rep = arg;
    if (r) {
        if (rep->location)
            bo_http_set_header(r, "Location", rep->location);
        if (rep->status == 503 || rep->status == 429)
            bo_http_set_header(r, "Retry-After", "1");
        if (rep->status == 204 || !rep->body)
            bo_http_send_text(r, rep->status, NULL, "", 0);
        else
            bo_http_send_text(r, rep->status, "application/json", rep->body, rep->len);
    }
    reply_free(rep);
}

/* An error answer as JSON text (malloc'd) and its length, or NULL. */
static char *error_text(int bo_err, const char *message, json_t *details, size_t *len)
{
    json_t *j = json_pack("{s{s:s,s:s,s:o}}", "error", "code", bo_err_code(bo_err), "message",
                          message ? message : bo_strerror(bo_err), "details",
                          details ? details : json_object());
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    *len = text ? strlen(text) : 0;
    return text;
}

/* Loop thread: the answer could not be stored; nothing was decided, so a
 * retry may run again: 503. */
static void reply_unstored(bo_http_req_t *r, void *arg)
{
    struct reply *rep = arg;
    if (r)
        bo_http_send_error(r, BO_EIO, "the answer could not be stored, retry", NULL);
    reply_free(rep);
}

/* The answer's commit (the committer thread), or its error return. */
static void reply_stored(void *arg, const bo_live_result_t *res)
{
    struct reply *rep = arg;
    bool send = res->status == 0 || rep->durable;
    bo_http_async_finish(rep->a, send ? reply_send : reply_unstored, rep);
}

void bo__idem_reply(bo_api_t *api, bo_idem_t *idem, bo_http_async_t *a, int status, char *body,
                    size_t len, const char *location, bool durable)
{
    BO_ASSERT(idem != NULL && a != NULL && status >= 200 && status <= 599);
    BO_ASSERT(body != NULL || len == 0);
    struct reply *rep = calloc(1, sizeof(*rep));
    if (!rep || (location && !(rep->location = strdup(location)))) {
        free(rep);
        free(body);
        bo__idem_end(api, idem, 0, NULL, 0);
        bo_http_async_finish(a, NULL, NULL); /* the async layer answers 500 */
        return;
    }
    *rep = (struct reply){a, status, durable, body, body ? len : 0, rep->location};
    bool storable = idem->on && status < 500 && status != 429;
    if (!storable) {
        bo__idem_end(api, idem, 0, NULL, 0);
        bo_http_async_finish(a, reply_send, rep);
        return;
    }
    if (status >= 400) { /* a refusal decided nothing: kept in memory only */
        bo__idem_end(api, idem, status, rep->body ? rep->body : "", rep->len);
        bo_http_async_finish(a, reply_send, rep);
        return;
    }
    idem->on = false; /* bo_live_idem_put ends the key */
    int rc = bo_live_idem_put(api->live, idem->key, idem->hash, status, rep->body ? rep->body : "",
                              rep->len, reply_stored, rep);
    if (rc) /* not stored, the key ended: as a failed commit */
        reply_stored(rep, &(bo_live_result_t){.status = rc});
}

void bo__idem_reply_error(bo_api_t *api, bo_idem_t *idem, bo_http_async_t *a, int bo_err,
                          const char *message, json_t *details)
{
    size_t len;
    char *text = error_text(bo_err, message, details, &len);
    int status = bo_err_http_status(bo_err);
    if (!text) { /* out of memory: answered 500 by the async layer, nothing stored */
        bo__idem_end(api, idem, 0, NULL, 0);
        bo_http_async_finish(a, NULL, NULL);
        return;
    }
    bo__idem_reply(api, idem, a, status, text, len, NULL, false);
}

/* Loop thread: another step of the order is running. */
static void send_busy(bo_http_req_t *r, void *arg)
{
    if (!r)
        return;
    bo_http_set_header(r, "Retry-After", "1");
    bo_http_send_error(r, BO_EORDERBUSY, NULL, NULL);
}

void bo__idem_reply_busy(bo_api_t *api, bo_idem_t *idem, bo_http_async_t *a)
{
    bo__idem_end(api, idem, 0, NULL, 0);
    bo_http_async_finish(a, send_busy, NULL);
}
