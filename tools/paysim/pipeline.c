/*
 * pipeline.c - one call of the Stripe API, from request to answer:
 *
 *   1. parameters: the form body of a POST (strict, form.c) or the query
 *      string of a GET;
 *   2. who calls: "Authorization: Bearer sk_..." or HTTP Basic with the key
 *      as user name; on the routes a browser may call, the intent's
 *      client_secret instead (as Stripe.js confirms);
 *   3. faults: a share of POSTs fails before anything happens;
 *   4. under ps->mu: an Idempotency-Key seen before replays its stored
 *      answer (or is refused for other parameters), else the operation runs
 *      and an answer that changed something is stored under the key;
 *   5. faults again: a share of applied POSTs loses its answer (500), a
 *      share of calls hangs; then the answer goes out after the latency.
 *
 * Workload: every /v1 call. The lock is held only for step 4, a few
 * microseconds of in-memory work; everything slow (the latency, webhook
 * delivery) happens elsewhere.
 */
#define H2O_USE_LIBUV 0
#include <h2o.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "boxoffice/error.h"
#include "paysim.h"
#include "util/assert.h"

#define ROUTE_MAX_BODY (1u << 20) /* read whole; past PS_MAX_BODY_BYTES refused as Stripe does */

typedef struct route {
    paysim_t *ps;
    ps_op_fn op;
    unsigned flags;
    bool post;
} route_t;

/* ---- who calls ---- */

/* A key quoted in a message: its start and end, the rest masked. */
static void redact(const char *key, size_t len, char *out, size_t cap)
{
    char safe[16] = {0};
    if (len < 12) {
        snprintf(out, cap, "****");
        return;
    }
    for (size_t i = 0; i < 8; i++)
        safe[i] = key[i] > ' ' && key[i] <= '~' ? key[i] : '?';
    snprintf(out, cap, "%.8s****%c%c%c%c", safe, key[len - 4] > ' ' ? key[len - 4] : '?',
             key[len - 3] > ' ' ? key[len - 3] : '?', key[len - 2] > ' ' ? key[len - 2] : '?',
             key[len - 1] > ' ' ? key[len - 1] : '?');
    for (char *p = out; *p; p++)
        if ((unsigned char)*p > '~')
            *p = '?';
}

/* The key of an Authorization header (Bearer, or Basic with the key as the
 * user name) into out; its length, or -1 when the header has neither form. */
static long header_key(const char *h, char *out, size_t cap)
{
    size_t len;
    if (!strncasecmp(h, "Bearer ", 7)) {
        for (h += 7; *h == ' '; h++)
            ;
        len = strcspn(h, " ");
        if (len >= cap)
            return -1;
        memcpy(out, h, len);
        out[len] = '\0';
        return (long)len;
    }
    if (!strncasecmp(h, "Basic ", 6)) {
        for (h += 6; *h == ' '; h++)
            ;
        if (sodium_base642bin((unsigned char *)out, cap - 1, h, strlen(h), " ", &len, NULL,
                              sodium_base64_VARIANT_ORIGINAL))
            return -1;
        out[len] = '\0';
        char *colon = memchr(out, ':', len);
        if (colon)
            *colon = '\0';
        return (long)strlen(out);
    }
    return -1;
}

int ps_auth(paysim_t *ps, bo_http_req_t *r, ps_answer_t *a)
{
    char key[512], shown[32];
    const char *h = bo_http_header(r, "authorization", NULL);
    if (!h) {
        ps_answer_error(a, 401, "invalid_request_error", NULL, NULL,
                        "You did not provide an API key. You need to provide your API key in "
                        "the Authorization header, using Bearer auth (e.g. 'Authorization: "
                        "Bearer YOUR_SECRET_KEY').");
        return BO_EUNAUTHORIZED;
    }
    long len = header_key(h, key, sizeof(key));
    size_t want = strlen(ps->secret_key);
    if (len == (long)want && sodium_memcmp(key, ps->secret_key, want) == 0) {
        sodium_memzero(key, sizeof(key));
        return 0;
    }
    if (len < 0) {
        ps_answer_error(a, 401, "invalid_request_error", NULL, NULL,
                        "Invalid Authorization header: use Bearer auth (Authorization: Bearer "
                        "YOUR_SECRET_KEY) or Basic auth with the key as the user name.");
    } else {
        redact(key, (size_t)len, shown, sizeof(shown));
        ps_answer_error(a, 401, "invalid_request_error", NULL, NULL, "Invalid API Key provided: %s",
                        shown);
    }
    sodium_memzero(key, sizeof(key));
    return BO_EUNAUTHORIZED;
}

/* With the intent's client_secret: it must match (ps->mu held). */
static int check_client_secret(ps_call_t *c, ps_answer_t *a)
{
    BO_ASSERT(bo_mutex_held(&c->ps->mu));
    json_t *v = json_object_get(c->params, "client_secret");
    if (!v)
        return 0;
    ps_intent_t *pi = c->id ? ps_intent_get(&c->ps->ledger, c->id) : NULL;
    if (!pi) {
        ps_answer_error(a, 404, "invalid_request_error", "resource_missing", "intent",
                        "No such payment_intent: '%s'", c->id ? c->id : "");
        return BO_ENOTFOUND;
    }
    const char *cs = json_string_value(v);
    size_t len = strlen(pi->client_secret);
    if (!cs || strlen(cs) != len || sodium_memcmp(cs, pi->client_secret, len)) {
        ps_answer_error(a, 400, "invalid_request_error", NULL, "client_secret",
                        "The client_secret provided does not match the client_secret "
                        "associated with the PaymentIntent.");
        return BO_EINVAL;
    }
    return 0;
}

/* ---- parameters ---- */

static int read_params(bo_http_req_t *r, bool post, json_t **out, char *err, size_t cap)
{
    const char *s = "";
    size_t len = 0;
    if (post) {
        const char *ctype = bo_http_header(r, "content-type", NULL);
        s = bo_http_body(r, &len);
        if (len && ctype && strncasecmp(ctype, "application/x-www-form-urlencoded", 33)) {
            snprintf(err, cap,
                     "Invalid request: the body must be "
                     "application/x-www-form-urlencoded, as Stripe's API takes.");
            return BO_EINVAL;
        }
    } else {
        h2o_req_t *req = bo_http_h2o_req(r);
        if (req->query_at != SIZE_MAX) {
            s = req->path.base + req->query_at + 1;
            len = req->path.len - req->query_at - 1;
        }
    }
    return ps_form_parse(s, len, out, err, cap);
}

/* SHA-256 of method, path and the parameters in a canonical order. */
static void fingerprint(bo_http_req_t *r, const json_t *params, unsigned char fp[32])
{
    crypto_hash_sha256_state st;
    const char *m = bo_http_method(r), *p = bo_http_path(r);
    char *canon = json_dumps(params, JSON_COMPACT | JSON_SORT_KEYS);
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, (const unsigned char *)m, strlen(m) + 1);
    crypto_hash_sha256_update(&st, (const unsigned char *)p, strlen(p) + 1);
    if (canon)
        crypto_hash_sha256_update(&st, (const unsigned char *)canon, strlen(canon));
    crypto_hash_sha256_final(&st, fp);
    free(canon);
}

/* ---- the call ---- */

/* Step 4, under ps->mu. *applied: the operation ran and changed state. */
static void run(const route_t *rt, ps_call_t *c, bo_http_req_t *r, ps_reply_t *rep, bool *applied)
{
    paysim_t *ps = c->ps;
    ps_answer_t a = {0};
    unsigned char fp[32] = {0};
    char *body = NULL;
    size_t len = 0;
    int status = 0;
    *applied = false;
    if (c->idem_key)
        fingerprint(r, c->params, fp);
    pthread_mutex_lock(&ps->mu);
    if ((rt->flags & PS_ROUTE_CLIENT_SECRET) && check_client_secret(c, &a))
        goto out;
    int known = c->idem_key ? ps_idem_get(ps->idem, c->idem_key, fp, &status, &body, &len) : 0;
    if (known == 1) {
        rep->status = status;
        rep->body = body;
        rep->len = len;
        rep->replayed = true;
        atomic_fetch_add_explicit(&ps->replays, 1, memory_order_relaxed);
        pthread_mutex_unlock(&ps->mu);
        return;
    }
    if (known < 0) {
        ps_answer_error(&a, 400, "idempotency_error", NULL, NULL,
                        "Keys for idempotent requests can only be used with the same parameters "
                        "they were first used with. Try using a key other than '%s' if you "
                        "meant to execute a different request.",
                        c->idem_key);
        goto out;
    }
    rt->op(c, &a);
    *applied = a.store;
out:
    if (ps_reply_take(rep, &a) == 0 && *applied && c->idem_key)
        ps_idem_put(ps->idem, c->idem_key, fp, rep->status, rep->body, rep->len);
    pthread_mutex_unlock(&ps->mu);
}

/* Replace rep's answer with a simulated 500. */
static void fault_answer(ps_reply_t *rep, const char *message)
{
    ps_answer_t a = {0};
    ps_answer_error(&a, 500, "api_error", NULL, NULL, "%s", message);
    ps_reply_take(rep, &a);
}

static bool roll(double rate)
{
    return rate > 0 && ps_random_unit() < rate;
}

/* Steps 1-3: 0 to go on, else a holds the answer. */
static int admit(const route_t *rt, bo_http_req_t *r, ps_call_t *c, const ps_settings_t *set,
                 ps_answer_t *a)
{
    char err[256];
    size_t klen = 0;
    int perr = read_params(r, rt->post, &c->params, err, sizeof(err));
    if (ps_auth(c->ps, r, a)) {
        if (!(rt->flags & PS_ROUTE_CLIENT_SECRET) || !c->params ||
            !json_is_string(json_object_get(c->params, "client_secret")))
            return BO_EUNAUTHORIZED;
        ps_answer_json(a, 0, NULL); /* the client_secret stands in for the key */
        c->by_client_secret = true;
    }
    if (perr) {
        ps_answer_error(a, 400, "invalid_request_error", NULL, NULL, "%s", err);
        return BO_EINVAL;
    }
    c->idem_key = rt->post ? bo_http_header(r, "idempotency-key", &klen) : NULL;
    if (c->idem_key && (klen == 0 || klen > PS_IDEM_KEY_MAX)) {
        ps_answer_error(a, 400, "invalid_request_error", NULL, NULL,
                        "Invalid Idempotency-Key: it must be 1 to %u characters long.",
                        PS_IDEM_KEY_MAX);
        return BO_EINVAL;
    }
    if (rt->post && roll(set->fail_rate)) {
        atomic_fetch_add_explicit(&c->ps->faults_failed, 1, memory_order_relaxed);
        ps_answer_error(a, 500, "api_error", NULL, NULL,
                        "(paysim) simulated gateway failure: nothing was done; retry.");
        return BO_EGATEWAY;
    }
    return 0;
}

static int on_api(void *arg, bo_http_req_t *r)
{
    const route_t *rt = arg;
    paysim_t *ps = rt->ps;
    ps_settings_t set;
    ps_answer_t a = {0};
    bool applied = false;
    ps_settings_get(ps, &set);
    atomic_fetch_add_explicit(&ps->calls, 1, memory_order_relaxed);
    ps_reply_t *rep = ps_reply_new(rt->flags & PS_ROUTE_CORS);
    if (!rep)
        return BO_ENOMEM;
    ps_call_t c = {.ps = ps, .id = bo_http_param(r, "id"), .request_id = rep->request_id};
    if (admit(rt, r, &c, &set, &a)) {
        ps_reply_take(rep, &a);
    } else {
        run(rt, &c, r, rep, &applied);
        if (c.idem_key)
            rep->idem_key = strdup(c.idem_key);
        if (applied && rt->post && roll(set.fail_after_rate)) {
            atomic_fetch_add_explicit(&ps->faults_failed_after, 1, memory_order_relaxed);
            fault_answer(rep, "(paysim) simulated failure after the operation was applied: "
                              "retry with the same Idempotency-Key to get its result.");
        }
    }
    uint32_t delay_ms = set.latency_ms;
    if (roll(set.timeout_rate)) {
        atomic_fetch_add_explicit(&ps->faults_timeouts, 1, memory_order_relaxed);
        delay_ms += set.timeout_ms;
    }
    json_decref(c.params);
    ps_reply_send(ps, r, rep, delay_ms);
    return 0;
}

int ps_route(paysim_t *ps, const char *method, const char *pattern, ps_op_fn op, unsigned flags)
{
    route_t *rt = calloc(1, sizeof(*rt));
    if (!rt)
        return BO_ENOMEM;
    *rt = (route_t){ps, op, flags, !strcmp(method, "POST")};
    int rc = bo_server_at_free(ps->srv, free, rt);
    if (rc) {
        free(rt);
        return rc;
    }
    return bo_server_route_max_body(ps->srv, method, pattern, on_api, rt, ROUTE_MAX_BODY);
}

/* ---- CORS preflight and unknown paths ---- */

static int on_preflight(void *arg, bo_http_req_t *r)
{
    bo_http_set_header(r, "access-control-allow-origin", "*");
    bo_http_set_header(r, "access-control-allow-methods", "GET, POST, OPTIONS");
    bo_http_set_header(r, "access-control-allow-headers",
                       "Authorization, Content-Type, Idempotency-Key, Stripe-Version, "
                       "X-Stripe-Client-User-Agent");
    bo_http_set_header(r, "access-control-max-age", "600");
    return bo_http_send_text(r, 204, NULL, "", 0);
}

static int on_unknown(void *arg, bo_http_req_t *r)
{
    ps_answer_t a = {0};
    ps_reply_t *rep = ps_reply_new(false);
    if (!rep)
        return BO_ENOMEM;
    ps_answer_error(&a, 404, "invalid_request_error", NULL, NULL,
                    "Unrecognized request URL (%s: %.200s). paysim serves the PaymentIntent, "
                    "refund and charge endpoints only.",
                    bo_http_method(r), bo_http_path(r));
    ps_reply_take(rep, &a);
    ps_reply_send(arg, r, rep, 0);
    return 0;
}

int ps_route_unknown(paysim_t *ps)
{
    static const char *const methods[] = {"GET", "POST", "DELETE"};
    static const char *const patterns[] = {"/v1", "/v1/{a}", "/v1/{a}/{b}", "/v1/{a}/{b}/{c}",
                                           "/v1/{a}/{b}/{c}/{d}"};
    static const char *const preflight[] = {"/v1/payment_intents/{id}",
                                            "/v1/payment_intents/{id}/confirm"};
    int rc = 0;
    for (size_t m = 0; m < 3 && !rc; m++)
        for (size_t p = 0; p < sizeof(patterns) / sizeof(patterns[0]) && !rc; p++)
            rc = bo_server_route(ps->srv, methods[m], patterns[p], on_unknown, ps);
    for (size_t p = 0; p < 2 && !rc; p++)
        rc = bo_server_route(ps->srv, "OPTIONS", preflight[p], on_preflight, ps);
    return rc;
}
