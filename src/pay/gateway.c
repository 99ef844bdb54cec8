/*
 * gateway.c - the payment gateway adapter (pay.h): Stripe's PaymentIntents
 * and refunds over libcurl, for paysim and for Stripe alike.
 *
 * Workload: a few calls per order, made by the server's payment worker
 * threads, each blocking for one round trip (tens to hundreds of ms) and
 * sometimes for the retries of a flaky network. So clarity wins over speed:
 * one easy handle per call, taken from a small pool so that its keep-alive
 * connections (and TLS sessions) serve the next call; answers are bounded
 * (1 MiB) and parsed into a jansson tree.
 *
 * Every POST carries the caller's Idempotency-Key, the same one on every
 * retry: the gateway answers a repeated key with the first answer, so a
 * retry after a lost answer never charges or refunds twice.
 */
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "boxoffice/error.h"
#include "boxoffice/pay.h"
#include "pay/pay_internal.h"
#include "util/assert.h"
#include "util/strbuf.h"

#define DEFAULT_TIMEOUT_MS 5000u
#define DEFAULT_RETRIES    2u
#define BACKOFF_BASE_MS    100u
#define BACKOFF_MAX_MS     3000u
#define ANSWER_MAX         (1u << 20) /* bytes of a gateway's answer */
#define POOL_MAX           16u        /* idle easy handles kept */
#define URL_MAX            1024u
#define KEY_MAX            255u /* secret key and Idempotency-Key */
#define DESCRIPTION_MAX    1000u
#define AMOUNT_MAX         99999999 /* Stripe's limit: eight digits */
#define STRIPE_VERSION     "2024-06-20"

struct bo_pay {
    char *base_url;    /* without a trailing '/' */
    char *auth_header; /* "Authorization: Bearer sk_..." (secret: wiped on free) */
    long timeout_ms;
    uint32_t retries;
    pthread_mutex_t mu; /* guards idle */
    CURL *idle[POOL_MAX];
    unsigned nidle;
    _Atomic uint64_t calls, requests, retried, declines, rejected, failures;
};

/* One request, as built by a call. */
struct req {
    const char *method;   /* "GET" or "POST" */
    char path[160];       /* "/v1/payment_intents/pi_..." */
    bo_buf_t form;        /* the POST body */
    const char *idem_key; /* POST only; NULL for a GET */
};

/* The body of an answer, bounded. */
struct sink {
    bo_buf_t buf;
    bool too_big;
};

/* ---- setup -------------------------------------------------------------- */

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static int global_rc;

/* libcurl and libsodium once per process; never cleaned up (they live as
 * long as the process). */
static void global_init(void)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || sodium_init() < 0)
        global_rc = BO_ENOMEM;
}

/* "sim:http://..." or "stripe:https://...": the base URL, or NULL. */
static const char *base_of(const char *url)
{
    const char *colon = url ? strchr(url, ':') : NULL;
    if (!colon)
        return NULL;
    size_t kind = (size_t)(colon - url);
    if (!((kind == 3 && !strncmp(url, "sim", 3)) || (kind == 6 && !strncmp(url, "stripe", 6))))
        return NULL;
    const char *base = colon + 1;
    size_t n = strlen(base), scheme = !strncmp(base, "http://", 7)    ? 7
                                      : !strncmp(base, "https://", 8) ? 8
                                                                      : 0;
    if (!scheme || n <= scheme || n > URL_MAX)
        return NULL;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)base[i] <= ' ' || base[i] == 0x7f || base[i] == '?' || base[i] == '#')
            return NULL;
    return base;
}

static bool key_ok(const char *key)
{
    static const char ALPHABET[] =
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_";
    size_t n = key ? strlen(key) : 0;
    return n > 3 && n <= KEY_MAX && (!strncmp(key, "sk_", 3) || !strncmp(key, "rk_", 3)) &&
           strspn(key, ALPHABET) == n;
}

int bo_pay_new(const bo_pay_config_t *cfg, bo_pay_t **out)
{
    const char *base = cfg ? base_of(cfg->url) : NULL;
    *out = NULL;
    if (!base || !key_ok(cfg->secret_key))
        return BO_EINVAL;
    pthread_once(&global_once, global_init);
    if (global_rc)
        return global_rc;
    bo_pay_t *p = calloc(1, sizeof(*p));
    if (!p)
        return BO_ENOMEM;
    size_t n = strlen(base);
    while (n && base[n - 1] == '/')
        n--;
    p->base_url = strndup(base, n);
    size_t alen = strlen(cfg->secret_key) + 32;
    p->auth_header = malloc(alen);
    if (!p->base_url || !p->auth_header) {
        free(p->base_url);
        free(p->auth_header);
        free(p);
        return BO_ENOMEM;
    }
    snprintf(p->auth_header, alen, "Authorization: Bearer %s", cfg->secret_key);
    p->timeout_ms = cfg->timeout_ms ? (long)cfg->timeout_ms : (long)DEFAULT_TIMEOUT_MS;
    p->retries = cfg->retries ? cfg->retries : DEFAULT_RETRIES;
    pthread_mutex_init(&p->mu, NULL);
    *out = p;
    return 0;
}

void bo_pay_free(bo_pay_t *p)
{
    if (!p)
        return;
    for (unsigned i = 0; i < p->nidle; i++)
        curl_easy_cleanup(p->idle[i]);
    pthread_mutex_destroy(&p->mu);
    sodium_memzero(p->auth_header, strlen(p->auth_header));
    free(p->auth_header);
    free(p->base_url);
    free(p);
}

void bo_pay_stats(bo_pay_t *p, bo_pay_stats_t *out)
{
    out->calls = atomic_load_explicit(&p->calls, memory_order_relaxed);
    out->requests = atomic_load_explicit(&p->requests, memory_order_relaxed);
    out->retries = atomic_load_explicit(&p->retried, memory_order_relaxed);
    out->declines = atomic_load_explicit(&p->declines, memory_order_relaxed);
    out->rejected = atomic_load_explicit(&p->rejected, memory_order_relaxed);
    out->failures = atomic_load_explicit(&p->failures, memory_order_relaxed);
}

static void count(_Atomic uint64_t *c)
{
    atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

static _Thread_local uint64_t thread_requests; /* bo_pay_thread_requests */

uint64_t bo_pay_thread_requests(void)
{
    return thread_requests;
}

/* ---- one exchange, with retries ----------------------------------------- */

static CURL *take_handle(bo_pay_t *p)
{
    CURL *h = NULL;
    pthread_mutex_lock(&p->mu);
    BO_ASSERT(p->nidle <= POOL_MAX);
    if (p->nidle)
        h = p->idle[--p->nidle];
    pthread_mutex_unlock(&p->mu);
    return h ? h : curl_easy_init();
}

/* Back to the pool, options cleared but connections kept. */
static void give_handle(bo_pay_t *p, CURL *h)
{
    curl_easy_reset(h);
    pthread_mutex_lock(&p->mu);
    if (p->nidle < POOL_MAX) {
        p->idle[p->nidle++] = h;
        h = NULL;
    }
    pthread_mutex_unlock(&p->mu);
    if (h)
        curl_easy_cleanup(h);
}

static size_t on_data(char *ptr, size_t size, size_t n, void *arg)
{
    struct sink *s = arg;
    size_t len = size * n;
    BO_ASSERT(s->buf.len <= ANSWER_MAX); /* the bound holds across calls */
    if (s->buf.len + len > ANSWER_MAX) {
        s->too_big = true;
        return 0;
    }
    bo_buf_put(&s->buf, ptr, len);
    return s->buf.failed ? 0 : len;
}

/* Text from the gateway, fit for a log line: printable ASCII, bounded. */
static void log_safe(char *dst, size_t cap, const char *s)
{
    BO_ASSERT(dst != NULL && cap > 0);
    size_t i = 0;
    for (; s && *s && i + 1 < cap; s++, i++)
        dst[i] = *s >= ' ' && *s < 0x7f ? *s : '?';
    dst[i] = '\0';
}

static struct curl_slist *headers(bo_pay_t *p, const struct req *r)
{
    char idem[KEY_MAX + 32];
    struct curl_slist *l = NULL, *next;
    const char *lines[] = {p->auth_header,
                           "Accept: application/json",
                           "Stripe-Version: " STRIPE_VERSION,
                           "Expect:",
                           r->idem_key ? "Content-Type: application/x-www-form-urlencoded" : NULL,
                           r->idem_key ? idem : NULL};
    /* every POST carries its key (idem_ok checked its length), no GET does */
    BO_ASSERT((r->idem_key != NULL) == (strcmp(r->method, "POST") == 0));
    BO_ASSERT(!r->idem_key || strlen(r->idem_key) <= KEY_MAX);
    if (r->idem_key)
        snprintf(idem, sizeof(idem), "Idempotency-Key: %s", r->idem_key);
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]) && lines[i]; i++) {
        if (!(next = curl_slist_append(l, lines[i]))) {
            curl_slist_free_all(l);
            return NULL;
        }
        l = next;
    }
    return l;
}

static void set_options(bo_pay_t *p, CURL *h, const char *url, struct curl_slist *hdrs,
                        const struct req *r, struct sink *s, char *errbuf)
{
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, p->timeout_ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, p->timeout_ms);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(h, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "boxoffice");
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, s);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)ANSWER_MAX);
    if (r->idem_key) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)r->form.len);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, r->form.len ? r->form.p : "");
    } else {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    }
}

/* Whether another attempt may get a better answer. */
static bool transient(CURLcode cc, long status)
{
    switch (cc) {
    case CURLE_OK:
        return status == 409 || status == 429 || status >= 500;
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_OUT_OF_MEMORY:
    case CURLE_WRITE_ERROR:
    case CURLE_FILESIZE_EXCEEDED:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_BAD_FUNCTION_ARGUMENT:
        return false;
    default:
        return true;
    }
}

/* 100 ms, 200 ms, 400 ms... (at most BACKOFF_MAX_MS), plus up to half again. */
static void backoff(uint32_t attempt)
{
    uint32_t ms = attempt < 5 ? BACKOFF_BASE_MS << attempt : BACKOFF_MAX_MS;
    ms = ms < BACKOFF_MAX_MS ? ms : BACKOFF_MAX_MS;
    ms += randombytes_uniform(ms / 2 + 1);
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
        ;
}

/* Send r until an answer that is final (2xx, 4xx but 409 and 429) or the
 * retries are spent. Returns 0 with *status and *json (the parsed body, NULL
 * when it does not parse; you own it), BO_EGATEWAY or BO_ENOMEM. */
static int exchange(bo_pay_t *p, const struct req *r, long *status, json_t **json)
{
    char url[URL_MAX + sizeof(r->path) + 1], errbuf[CURL_ERROR_SIZE];
    struct sink s = {0};
    struct curl_slist *hdrs = NULL;
    CURLcode cc = CURLE_OK;
    uint32_t attempt = 0;
    int rc = BO_ENOMEM;
    CURL *h = take_handle(p);
    *status = 0;
    *json = NULL;
    BO_ASSERT(r->method != NULL && r->path[0] == '/');
    if (!h || !(hdrs = headers(p, r)) || r->form.failed)
        goto out;
    snprintf(url, sizeof(url), "%s%s", p->base_url, r->path);
    bo_buf_init(&s.buf, 0);
    set_options(p, h, url, hdrs, r, &s, errbuf);
    for (;; attempt++) {
        s.buf.len = 0;
        s.too_big = false;
        errbuf[0] = '\0';
        *status = 0;
        count(&p->requests);
        thread_requests++;
        cc = curl_easy_perform(h);
        if (cc == CURLE_OK)
            curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
        if (!transient(cc, *status) || attempt >= p->retries)
            break;
        count(&p->retried);
        backoff(attempt);
    }
    if (cc == CURLE_OUT_OF_MEMORY || s.buf.failed)
        goto out;
    rc = BO_EGATEWAY;
    if (cc != CURLE_OK || transient(cc, *status)) {
        const char *why = s.too_big ? "the answer is too large" : errbuf[0] ? errbuf : "";
        if (!why[0])
            why = cc == CURLE_OK ? "HTTP error status" : curl_easy_strerror(cc);
        fprintf(stderr,
                "boxoffice: payment gateway: %s %s: no usable answer, %u attempt%s "
                "(last: %s, HTTP %ld)\n",
                r->method, r->path, attempt + 1, attempt ? "s" : "", why, *status);
        goto out;
    }
    *json = json_loadb(s.buf.p ? s.buf.p : "", s.buf.len, 0, NULL);
    rc = 0;
out:
    if (h)
        give_handle(p, h);
    curl_slist_free_all(hdrs);
    bo_buf_free(&s.buf);
    return rc;
}

/* ---- answers ------------------------------------------------------------ */

/* Codes of a 400 that mean "not in this state", not "a bug of ours". */
static bool state_code(const char *code)
{
    static const char *const codes[] = {
        "payment_intent_unexpected_state",
        "charge_already_refunded",
        "charge_already_captured",
        "charge_disputed",
        "charge_expired_for_capture",
        "refund_disputed_payment",
        "payment_intent_payment_attempt_expired",
    };
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
        if (!strcmp(code, codes[i]))
            return true;
    return false;
}

/* The error code of a final non-2xx answer as a BO_E* code. */
static int classify(const struct req *r, long status, json_t *json)
{
    json_t *err = json_object_get(json, "error");
    const char *code = json_string_value(json_object_get(err, "code"));
    char msg[300];
    if (status >= 200 && status < 300)
        return json_is_object(json) ? 0 : BO_EGATEWAY;
    if (status == 402)
        return BO_EDECLINED;
    if (status == 404 && code && !strcmp(code, "resource_missing"))
        return BO_ENOTFOUND;
    if (status == 400 && code && state_code(code))
        return BO_ESTATE;
    log_safe(msg, sizeof(msg), json_string_value(json_object_get(err, "message")));
    fprintf(stderr, "boxoffice: payment gateway: %s %s answered %ld %s: %s\n", r->method, r->path,
            status, code ? code : "(no code)", msg[0] ? msg : "(no message)");
    return status >= 400 && status < 500 ? BO_EINVAL : BO_EGATEWAY;
}

/* Copy a string (NULL and null give ""): 0, or -1 when v is not a string
 * or does not fit and may not be cut. Cuts keep UTF-8 whole. */
static int copy_str(char *dst, size_t cap, json_t *v, bool may_cut)
{
    BO_ASSERT(dst != NULL && cap > 0);
    dst[0] = '\0';
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return -1;
    size_t n = json_string_length(v);
    if (n >= cap) {
        if (!may_cut)
            return -1;
        for (n = cap - 1; n && ((unsigned char)json_string_value(v)[n] & 0xC0) == 0x80; n--)
            ;
    }
    BO_ASSERT(n < cap);
    memcpy(dst, json_string_value(v), n);
    dst[n] = '\0';
    return 0;
}

/* An id, or the "id" of an expanded object (latest_charge may be either). */
static int copy_id(char dst[BO_PAY_ID_MAX], json_t *v)
{
    if (json_is_object(v))
        v = json_object_get(v, "id");
    if (copy_str(dst, BO_PAY_ID_MAX, v, false))
        return -1;
    return !dst[0] || bo__pay_id_ok(dst, strlen(dst)) ? 0 : -1;
}

static int get_i64(int64_t *dst, json_t *v, bool required)
{
    if ((!v || json_is_null(v)) && !required)
        return 0;
    if (!json_is_integer(v))
        return -1;
    *dst = (int64_t)json_integer_value(v);
    return 0;
}

static int parse_error_into(bo_pay_intent_t *out, json_t *e)
{
    if (!e || json_is_null(e))
        return 0;
    if (!json_is_object(e))
        return -1;
    return copy_str(out->last_error_code, sizeof(out->last_error_code), json_object_get(e, "code"),
                    true) |
           copy_str(out->last_error_decline, sizeof(out->last_error_decline),
                    json_object_get(e, "decline_code"), true) |
           copy_str(out->last_error_message, sizeof(out->last_error_message),
                    json_object_get(e, "message"), true) |
           copy_id(out->last_error_charge, json_object_get(e, "charge"));
}

static int parse_intent(bo_pay_intent_t *out, json_t *o)
{
    json_t *meta = json_object_get(o, "metadata");
    int bad =
        !json_is_object(o) || copy_id(out->id, json_object_get(o, "id")) || !out->id[0] ||
        copy_str(out->status, sizeof(out->status), json_object_get(o, "status"), false) ||
        !out->status[0] || get_i64(&out->amount, json_object_get(o, "amount"), true) ||
        get_i64(&out->amount_received, json_object_get(o, "amount_received"), false) ||
        copy_str(out->client_secret, sizeof(out->client_secret),
                 json_object_get(o, "client_secret"), false) ||
        copy_str(out->currency, sizeof(out->currency), json_object_get(o, "currency"), false) ||
        copy_id(out->order_id, json_object_get(meta, "order_id")) ||
        copy_id(out->latest_charge, json_object_get(o, "latest_charge")) ||
        parse_error_into(out, json_object_get(o, "last_payment_error"));
    if (bad)
        memset(out, 0, sizeof(*out));
    return bad ? BO_EGATEWAY : 0;
}

static int parse_refund(bo_pay_refund_t *out, json_t *o)
{
    int bad = !json_is_object(o) || copy_id(out->id, json_object_get(o, "id")) || !out->id[0] ||
              copy_str(out->status, sizeof(out->status), json_object_get(o, "status"), false) ||
              get_i64(&out->amount, json_object_get(o, "amount"), true) ||
              copy_id(out->intent_id, json_object_get(o, "payment_intent"));
    if (bad)
        memset(out, 0, sizeof(*out));
    return bad ? BO_EGATEWAY : 0;
}

/* A 402: the intent as it stands after the decline, and the decline. */
static void parse_decline(bo_pay_intent_t *out, json_t *json)
{
    json_t *err = json_object_get(json, "error"), *pi = json_object_get(err, "payment_intent");
    char charge[BO_PAY_ID_MAX] = "";
    if (json_is_object(pi))
        parse_intent(out, pi);
    if (copy_id(charge, json_object_get(err, "charge")) == 0 && charge[0])
        memcpy(out->last_error_charge, charge, sizeof(charge));
    if (json_object_get(err, "code"))
        copy_str(out->last_error_code, sizeof(out->last_error_code), json_object_get(err, "code"),
                 true);
    if (json_object_get(err, "decline_code"))
        copy_str(out->last_error_decline, sizeof(out->last_error_decline),
                 json_object_get(err, "decline_code"), true);
    if (json_object_get(err, "message"))
        copy_str(out->last_error_message, sizeof(out->last_error_message),
                 json_object_get(err, "message"), true);
}

/* The outcome of a call, counted. */
static int finish(bo_pay_t *p, int rc)
{
    if (rc == BO_EDECLINED)
        count(&p->declines);
    else if (rc == BO_EGATEWAY)
        count(&p->failures);
    else if (rc == BO_ENOTFOUND || rc == BO_ESTATE || rc == BO_EINVAL)
        count(&p->rejected);
    return rc;
}

/* Run r and read its answer as an intent (intent) or a refund (refund). */
static int call(bo_pay_t *p, struct req *r, bo_pay_intent_t *intent, bo_pay_refund_t *refund)
{
    long status;
    json_t *json = NULL;
    BO_ASSERT((intent != NULL) != (refund != NULL)); /* one answer shape per call */
    count(&p->calls);
    int rc = exchange(p, r, &status, &json);
    bo_buf_free(&r->form);
    if (rc)
        return finish(p, rc);
    rc = classify(r, status, json);
    if (rc == 0)
        rc = intent ? parse_intent(intent, json) : parse_refund(refund, json);
    else if (rc == BO_EDECLINED && intent)
        parse_decline(intent, json);
    if (rc == BO_EGATEWAY && status >= 200 && status < 300)
        fprintf(stderr, "boxoffice: payment gateway: %s %s: the answer does not parse\n", r->method,
                r->path);
    json_decref(json);
    return finish(p, rc);
}

/* ---- the calls ---------------------------------------------------------- */

static bool idem_ok(const char *k)
{
    size_t n = k ? strlen(k) : 0;
    for (size_t i = 0; i < n; i++)
        if (k[i] <= ' ' || k[i] >= 0x7f)
            return false;
    return n > 0 && n <= KEY_MAX;
}

static bool id_ok(const char *id)
{
    return id && bo__pay_id_ok(id, strlen(id));
}

/* A POST to "/v1/<what>[/<id>[/<action>]]", its form to be filled by the caller. */
static void post(struct req *r, const char *idem_key, const char *what, const char *id,
                 const char *action)
{
    BO_ASSERT(idem_ok(idem_key) && what != NULL && (!action || id));
    r->method = "POST";
    r->idem_key = idem_key;
    snprintf(r->path, sizeof(r->path), "/v1/%s%s%s%s%s", what, id ? "/" : "", id ? id : "",
             action ? "/" : "", action ? action : "");
    bo_buf_init(&r->form, 0);
}

int bo_pay_create_intent(bo_pay_t *p, const char *idem_key, int64_t amount_cents,
                         const char *currency, const char *order_id, const char *description,
                         bo_pay_intent_t *out)
{
    struct req r = {0};
    char cur[4];
    memset(out, 0, sizeof(*out));
    if (!idem_ok(idem_key) || amount_cents < 1 || amount_cents > AMOUNT_MAX || !currency ||
        strlen(currency) != 3 || !id_ok(order_id) ||
        (description && strlen(description) > DESCRIPTION_MAX))
        return BO_EINVAL;
    for (int i = 0; i < 4; i++) {
        char c = currency[i];
        cur[i] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
        if (i < 3 && !(cur[i] >= 'a' && cur[i] <= 'z'))
            return BO_EINVAL;
    }
    post(&r, idem_key, "payment_intents", NULL, NULL);
    bo__form_add_i64(&r.form, "amount", amount_cents);
    bo__form_add(&r.form, "currency", cur);
    bo__form_add(&r.form, "payment_method_types[]", "card");
    bo__form_add(&r.form, "metadata[order_id]", order_id);
    if (description)
        bo__form_add(&r.form, "description", description);
    return call(p, &r, out, NULL);
}

int bo_pay_retrieve(bo_pay_t *p, const char *intent_id, bo_pay_intent_t *out)
{
    struct req r = {.method = "GET"};
    memset(out, 0, sizeof(*out));
    if (!id_ok(intent_id))
        return BO_EINVAL;
    snprintf(r.path, sizeof(r.path), "/v1/payment_intents/%s", intent_id);
    return call(p, &r, out, NULL);
}

static bool card_number_ok(const char *s)
{
    size_t n = strlen(s);
    return n >= 12 && n <= 19 && strspn(s, "0123456789") == n;
}

int bo_pay_confirm(bo_pay_t *p, const char *intent_id, const char *payment_method,
                   const char *idem_key, bo_pay_intent_t *out)
{
    struct req r = {0};
    memset(out, 0, sizeof(*out));
    bool named = payment_method && !strncmp(payment_method, "pm_", 3) && id_ok(payment_method);
    if (!id_ok(intent_id) || !idem_ok(idem_key) || !payment_method ||
        (!named && !card_number_ok(payment_method)))
        return BO_EINVAL;
    post(&r, idem_key, "payment_intents", intent_id, "confirm");
    if (named) {
        bo__form_add(&r.form, "payment_method", payment_method);
    } else {
        bo__form_add(&r.form, "payment_method_data[type]", "card");
        bo__form_add(&r.form, "payment_method_data[card][number]", payment_method);
    }
    return call(p, &r, out, NULL);
}

int bo_pay_cancel(bo_pay_t *p, const char *intent_id, const char *idem_key, bo_pay_intent_t *out)
{
    struct req r = {0};
    memset(out, 0, sizeof(*out));
    if (!id_ok(intent_id) || !idem_ok(idem_key))
        return BO_EINVAL;
    post(&r, idem_key, "payment_intents", intent_id, "cancel");
    return call(p, &r, out, NULL);
}

int bo_pay_refund(bo_pay_t *p, const char *intent_id, int64_t amount_cents, const char *idem_key,
                  bo_pay_refund_t *out)
{
    struct req r = {0};
    memset(out, 0, sizeof(*out));
    if (!id_ok(intent_id) || !idem_ok(idem_key) || amount_cents < 0 || amount_cents > AMOUNT_MAX)
        return BO_EINVAL;
    post(&r, idem_key, "refunds", NULL, NULL);
    bo__form_add(&r.form, "payment_intent", intent_id);
    if (amount_cents)
        bo__form_add_i64(&r.form, "amount", amount_cents);
    return call(p, &r, NULL, out);
}
