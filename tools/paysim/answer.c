/*
 * answer.c - how paysim answers: Stripe's error object
 * {"error":{"type","code","param","message","doc_url",...}}, the headers
 * Stripe sends (Request-Id, Stripe-Version, Idempotency-Key,
 * Idempotent-Replayed, CORS for browser calls), and answers sent later
 * (the simulated latency, a simulated timeout) without blocking the event
 * loop.
 *
 * Workload: one answer per call; with latency switched on, every answer
 * waits in a min-heap ordered by due time until one timer thread hands it
 * back to its loop (bo_http_async_finish). The heap is bounded
 * (PS_DELAYED_MAX): past it answers go out at once. When the server stops,
 * everything waiting is sent at once so the shutdown is not held up.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "boxoffice/error.h"
#include "paysim.h"
#include "util/array.h"

#define POLL_MS 100u /* the timer thread notices a server stop this fast */

/* ---- Stripe's error object ---- */

json_t *ps_error_new(const char *type, const char *code, const char *param, const char *message)
{
    json_t *e = json_object();
    json_t *msg = json_string(message);
    if (!msg) /* a message quoting bytes that are not UTF-8 */
        msg = json_string("Invalid request.");
    json_object_set_new(e, "type", json_string(type));
    json_object_set_new(e, "message", msg);
    if (code) {
        char url[160];
        int n = snprintf(url, sizeof(url), "https://stripe.com/docs/error-codes/%s", code);
        for (int i = n - (int)strlen(code); i < n && i < (int)sizeof(url); i++)
            if (url[i] == '_')
                url[i] = '-';
        json_object_set_new(e, "code", json_string(code));
        json_object_set_new(e, "doc_url", json_string(url));
    }
    if (param)
        json_object_set_new(e, "param", json_string(param));
    return e;
}

void ps_answer_json(ps_answer_t *a, int status, json_t *body)
{
    json_decref(a->body);
    a->status = status;
    a->body = body;
}

void ps_answer_error_obj(ps_answer_t *a, int status, json_t *err)
{
    ps_answer_json(a, status, json_pack("{so}", "error", err));
}

void ps_answer_error(ps_answer_t *a, int status, const char *type, const char *code,
                     const char *param, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    ps_answer_error_obj(a, status, ps_error_new(type, code, param, msg));
}

/* ---- replies ---- */

ps_reply_t *ps_reply_new(bool cors)
{
    ps_reply_t *rep = calloc(1, sizeof(*rep));
    if (!rep)
        return NULL;
    rep->cors = cors;
    ps_random_id(rep->request_id, sizeof(rep->request_id), "req_", 14);
    return rep;
}

void ps_reply_free(ps_reply_t *rep)
{
    if (!rep)
        return;
    free(rep->body);
    free(rep->idem_key);
    free(rep);
}

int ps_reply_take(ps_reply_t *rep, ps_answer_t *a)
{
    if (!a->body) { /* an operation that ran out of memory */
        a->status = 500;
        a->body = json_pack("{s{s:s,s:s}}", "error", "type", "api_error", "message",
                            "paysim ran out of memory.");
    }
    char *text = a->body ? json_dumps(a->body, JSON_COMPACT) : NULL;
    json_decref(a->body);
    a->body = NULL;
    if (!text)
        return BO_ENOMEM;
    free(rep->body);
    rep->status = a->status;
    rep->body = text;
    rep->len = strlen(text);
    return 0;
}

/* Loop thread: the headers, then the body (handed over to the server). */
static void send_now(bo_http_req_t *r, ps_reply_t *rep)
{
    bo_http_set_header(r, "request-id", rep->request_id);
    bo_http_set_header(r, "stripe-version", PS_API_VERSION);
    bo_http_set_header(r, "cache-control", "no-cache, no-store");
    if (rep->idem_key)
        bo_http_set_header(r, "idempotency-key", rep->idem_key);
    if (rep->replayed)
        bo_http_set_header(r, "idempotent-replayed", "true");
    if (rep->cors) {
        bo_http_set_header(r, "access-control-allow-origin", "*");
        bo_http_set_header(r, "access-control-expose-headers",
                           "Request-Id, Stripe-Version, Idempotent-Replayed");
    }
    if (rep->body) {
        bo_http_send_buf(r, rep->status, "application/json", rep->body, rep->len);
        rep->body = NULL;
    } else {
        static const char none[] = "{\"error\":{\"type\":\"api_error\",\"message\":\"no answer\"}}";
        bo_http_send_text(r, 500, "application/json", none, sizeof(none) - 1);
    }
    ps_reply_free(rep);
}

static void on_due(bo_http_req_t *r, void *arg)
{
    if (r)
        send_now(r, arg);
    else
        ps_reply_free(arg); /* the client went away */
}

/* ---- the timer thread ---- */

typedef struct pending {
    uint64_t due_ms, seq;
    bo_http_async_t *async;
    ps_reply_t *rep;
} pending_t;

struct ps_delayer {
    paysim_t *ps;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* CLOCK_MONOTONIC */
    pending_t *heap;
    size_t n, cap;
    uint64_t seq;
    bool stop;
    pthread_t tid;
};

static bool before(const pending_t *a, const pending_t *b)
{
    return a->due_ms < b->due_ms || (a->due_ms == b->due_ms && a->seq < b->seq);
}

static int heap_push(struct ps_delayer *d, pending_t p)
{
    pending_t *h = bo_array_grow(d->heap, &d->cap, d->n + 1, sizeof(*h), 64, PS_DELAYED_MAX);
    if (!h)
        return BO_EFULL;
    d->heap = h;
    size_t i = d->n++;
    while (i > 0 && before(&p, &d->heap[(i - 1) / 2])) {
        d->heap[i] = d->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    d->heap[i] = p;
    return 0;
}

static pending_t heap_pop(struct ps_delayer *d)
{
    pending_t top = d->heap[0], last = d->heap[--d->n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= d->n)
            break;
        if (c + 1 < d->n && before(&d->heap[c + 1], &d->heap[c]))
            c++;
        if (!before(&d->heap[c], &last))
            break;
        d->heap[i] = d->heap[c];
        i = c;
    }
    if (d->n)
        d->heap[i] = last;
    return top;
}

static void wait_until(struct ps_delayer *d, uint64_t due_ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t now = ps_now_ms(), wait = due_ms > now ? due_ms - now : 0;
    ts.tv_sec += (time_t)(wait / 1000);
    ts.tv_nsec += (long)(wait % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&d->cv, &d->mu, &ts);
}

static void *delayer_main(void *arg)
{
    struct ps_delayer *d = arg;
    pthread_mutex_lock(&d->mu);
    for (;;) {
        bool flush = d->stop || bo_server_stopping(d->ps->srv);
        uint64_t now = ps_now_ms();
        while (d->n && (flush || d->heap[0].due_ms <= now)) {
            pending_t p = heap_pop(d);
            pthread_mutex_unlock(&d->mu);
            bo_http_async_finish(p.async, on_due, p.rep);
            pthread_mutex_lock(&d->mu);
        }
        if (d->stop)
            break;
        uint64_t next = now + POLL_MS;
        wait_until(d, d->n && d->heap[0].due_ms < next ? d->heap[0].due_ms : next);
    }
    pthread_mutex_unlock(&d->mu);
    return NULL;
}

void ps_reply_send(paysim_t *ps, bo_http_req_t *r, ps_reply_t *rep, uint32_t delay_ms)
{
    struct ps_delayer *d = ps->delayer;
    bo_http_async_t *a = delay_ms && d ? bo_http_async_begin(r) : NULL;
    if (!a) {
        send_now(r, rep);
        return;
    }
    pthread_mutex_lock(&d->mu);
    pending_t p = {ps_now_ms() + delay_ms, d->seq++, a, rep};
    int rc = d->stop ? BO_ESTATE : heap_push(d, p);
    if (rc == 0)
        pthread_cond_signal(&d->cv);
    pthread_mutex_unlock(&d->mu);
    if (rc) /* too many waiting: answer as soon as the loop gets to it */
        bo_http_async_finish(a, on_due, rep);
}

int ps_delayer_start(paysim_t *ps)
{
    struct ps_delayer *d = calloc(1, sizeof(*d));
    pthread_condattr_t attr;
    if (!d)
        return BO_ENOMEM;
    d->ps = ps;
    pthread_mutex_init(&d->mu, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&d->cv, &attr);
    pthread_condattr_destroy(&attr);
    if (pthread_create(&d->tid, NULL, delayer_main, d)) {
        pthread_cond_destroy(&d->cv);
        pthread_mutex_destroy(&d->mu);
        free(d);
        return BO_ENOMEM;
    }
    ps->delayer = d;
    return 0;
}

void ps_delayer_stop(paysim_t *ps)
{
    struct ps_delayer *d = ps->delayer;
    if (!d)
        return;
    pthread_mutex_lock(&d->mu);
    d->stop = true;
    pthread_cond_signal(&d->cv);
    pthread_mutex_unlock(&d->mu);
    pthread_join(d->tid, NULL);
    ps->delayer = NULL;
    pthread_cond_destroy(&d->cv);
    pthread_mutex_destroy(&d->mu);
    free(d->heap);
    free(d);
}
