/*
 * webhooks.c - events delivered the way Stripe delivers them: a JSON event
 * {"id":"evt_...","object":"event","type":...,"data":{"object":...}} POSTed
 * to the webhook URL with "Stripe-Signature: t=<unix s>,v1=<hex
 * HMAC-SHA256(secret, "<t>.<body>")>", signed afresh at each attempt. Any
 * 2xx is a delivery; anything else (or no answer in 10 s) is retried after
 * a delay that doubles from webhook_retry_ms (200 ms) up to 5 s, at most
 * webhook_attempts times (10) in all.
 *
 * Faults for the receiver's sake: duplicate_webhooks delivers every event
 * twice (same event id), reorder_webhooks holds events back for reorder_ms
 * and then delivers the held batch latest first.
 *
 * Workload: a few events per payment. One thread delivers them one at a
 * time with libcurl, so the HTTP loops never wait on a receiver; waiting
 * deliveries sit in a min-heap by due time, bounded by
 * PS_WEBHOOK_QUEUE_MAX (past it events are dropped and counted).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <sodium.h>

#include "boxoffice/error.h"
#include "paysim.h"
#include "util/array.h"

#define ATTEMPT_TIMEOUT_MS 10000L
#define CONNECT_TIMEOUT_MS 3000L
#define RETRY_CAP_MS       5000u
#define IDLE_WAIT_MS       1000u

typedef struct delivery {
    struct delivery *next; /* held stack */
    char *url, *body;
    size_t len;
    char event_id[PS_ID_BYTES];
    unsigned attempts;
    uint64_t due_ms, seq;
} delivery_t;

struct ps_hooks {
    paysim_t *ps;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* CLOCK_MONOTONIC */
    delivery_t **heap;
    size_t n, cap;
    delivery_t *held; /* newest first */
    size_t nheld;
    uint64_t held_until_ms, seq;
    bool stop;
    atomic_bool aborting; /* read by curl's progress callback */
    pthread_t tid;
    CURL *curl;
    /* counters, under mu */
    uint64_t emitted, queued, delivered, failed, attempts, retries, dropped, unsent;
};

/* ---- signatures ---- */

void ps_webhook_sign(const char *secret, int64_t t, const char *body, size_t len, char *out,
                     size_t cap)
{
    crypto_auth_hmacsha256_state st;
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    char ts[24];
    int n = snprintf(ts, sizeof(ts), "%" PRId64 ".", t);
    crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, strlen(secret));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)ts, (unsigned long long)n);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, len);
    crypto_auth_hmacsha256_final(&st, mac);
    sodium_bin2hex(out, cap, mac, sizeof(mac));
}

/* ---- the queue ---- */

static bool before(const delivery_t *a, const delivery_t *b)
{
    return a->due_ms < b->due_ms || (a->due_ms == b->due_ms && a->seq < b->seq);
}

static int heap_push(ps_hooks_t *h, delivery_t *d)
{
    delivery_t **grown = bo_array_grow(h->heap, &h->cap, h->n + 1, sizeof(*grown), 64, 0);
    if (!grown)
        return BO_ENOMEM;
    h->heap = grown;
    size_t i = h->n++;
    while (i > 0 && before(d, h->heap[(i - 1) / 2])) {
        h->heap[i] = h->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h->heap[i] = d;
    return 0;
}

static delivery_t *heap_pop(ps_hooks_t *h)
{
    delivery_t *top = h->heap[0], *last = h->heap[--h->n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->n)
            break;
        if (c + 1 < h->n && before(h->heap[c + 1], h->heap[c]))
            c++;
        if (!before(h->heap[c], last))
            break;
        h->heap[i] = h->heap[c];
        i = c;
    }
    if (h->n)
        h->heap[i] = last;
    return top;
}

static void delivery_free(delivery_t *d)
{
    if (!d)
        return;
    free(d->url);
    free(d->body);
    free(d);
}

static delivery_t *delivery_new(const char *url, const char *body, size_t len, const char *id)
{
    delivery_t *d = calloc(1, sizeof(*d));
    if (!d || !(d->url = strdup(url)) || !(d->body = malloc(len + 1))) {
        delivery_free(d);
        return NULL;
    }
    memcpy(d->body, body, len + 1);
    d->len = len;
    snprintf(d->event_id, sizeof(d->event_id), "%s", id);
    return d;
}

/* Queue one delivery (h->mu held): held back when reordering. */
static void enqueue(ps_hooks_t *h, delivery_t *d, const ps_settings_t *set)
{
    uint64_t now = ps_now_ms();
    if (h->n + h->nheld >= PS_WEBHOOK_QUEUE_MAX) {
        h->dropped++;
        delivery_free(d);
        return;
    }
    h->queued++;
    if (set->reorder_webhooks) {
        if (!h->nheld)
            h->held_until_ms = now + set->reorder_ms;
        d->next = h->held;
        h->held = d;
        h->nheld++;
        return;
    }
    d->due_ms = now;
    d->seq = h->seq++;
    if (heap_push(h, d)) {
        h->dropped++;
        delivery_free(d);
    }
}

void ps_webhook_emit(paysim_t *ps, const char *type, json_t *object, const ps_call_t *c)
{
    ps_hooks_t *h = ps->hooks;
    ps_settings_t set;
    char id[PS_ID_BYTES];
    if (!h)
        return;
    ps_settings_get(ps, &set);
    ps_random_id(id, sizeof(id), "evt_", PS_ID_RANDOM);
    json_t *ev = json_pack("{s:s,s:s,s:s,s:I,s:{s:O},s:b,s:i,s:{s:s?,s:s?},s:s}", "id", id,
                           "object", "event", "api_version", PS_API_VERSION, "created",
                           (json_int_t)ps_unix_s(), "data", "object", object, "livemode", 0,
                           "pending_webhooks", 1, "request", "id", c ? c->request_id : NULL,
                           "idempotency_key", c ? c->idem_key : NULL, "type", type);
    char *body = ev ? json_dumps(ev, JSON_COMPACT) : NULL;
    json_decref(ev);
    pthread_mutex_lock(&h->mu);
    h->emitted++;
    if (!set.webhook_url[0]) {
        h->unsent++;
    } else {
        for (int copy = 0; copy < (set.duplicate_webhooks ? 2 : 1); copy++) {
            delivery_t *d = body ? delivery_new(set.webhook_url, body, strlen(body), id) : NULL;
            if (d)
                enqueue(h, d, &set);
            else
                h->dropped++;
        }
        pthread_cond_signal(&h->cv);
    }
    pthread_mutex_unlock(&h->mu);
    free(body);
}

/* ---- delivery ---- */

static size_t discard(char *p, size_t size, size_t n, void *arg)
{
    return size * n;
}

static int progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                    curl_off_t ulnow)
{
    return atomic_load(&((ps_hooks_t *)arg)->aborting) ? 1 : 0;
}

/* One attempt (no lock held): whether the receiver answered 2xx. */
static bool attempt(ps_hooks_t *h, const delivery_t *d)
{
    char sig[2 * crypto_auth_hmacsha256_BYTES + 1], header[256];
    int64_t t = ps_unix_s();
    long status = 0;
    ps_webhook_sign(h->ps->webhook_secret, t, d->body, d->len, sig, sizeof(sig));
    snprintf(header, sizeof(header), "Stripe-Signature: t=%" PRId64 ",v1=%s", t, sig);
    struct curl_slist *hdrs = NULL, *tmp;
    const char *lines[] = {"Content-Type: application/json; charset=utf-8", header,
                           "User-Agent: Stripe/1.0 (+https://stripe.com/docs/webhooks)", "Expect:"};
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
        if (!(tmp = curl_slist_append(hdrs, lines[i]))) {
            curl_slist_free_all(hdrs);
            return false;
        }
        hdrs = tmp;
    }
    CURL *c = h->curl;
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, d->url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, d->body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)d->len);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, ATTEMPT_TIMEOUT_MS);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, CONNECT_TIMEOUT_MS);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, h);
    CURLcode rc = curl_easy_perform(c);
    if (rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(hdrs);
    return rc == CURLE_OK && status >= 200 && status < 300;
}

/* After an attempt (h->mu held): done, given up, or due again later. */
static void settle(ps_hooks_t *h, delivery_t *d, bool ok)
{
    ps_settings_t set;
    ps_settings_get(h->ps, &set);
    h->attempts++;
    d->attempts++;
    if (ok || d->attempts >= set.webhook_attempts) {
        if (ok)
            h->delivered++;
        else
            h->failed++;
        if (!ok)
            fprintf(stderr, "paysim: webhook %s to %s failed %u times; given up\n", d->event_id,
                    d->url, d->attempts);
        delivery_free(d);
        return;
    }
    uint64_t wait = set.webhook_retry_ms;
    for (unsigned i = 1; i < d->attempts && wait < RETRY_CAP_MS; i++)
        wait *= 2;
    h->retries++;
    d->due_ms = ps_now_ms() + (wait < RETRY_CAP_MS ? wait : RETRY_CAP_MS);
    d->seq = h->seq++;
    if (heap_push(h, d)) {
        h->dropped++;
        delivery_free(d);
    }
}

/* Move the held batch to the heap, latest first (h->mu held). */
static void release_held(ps_hooks_t *h, uint64_t now)
{
    while (h->held) {
        delivery_t *d = h->held;
        h->held = d->next;
        h->nheld--;
        d->due_ms = now;
        d->seq = h->seq++;
        if (heap_push(h, d)) {
            h->dropped++;
            delivery_free(d);
        }
    }
}

static void wait_until(ps_hooks_t *h, uint64_t due_ms)
{
    struct timespec ts;
    uint64_t now = ps_now_ms(), wait = due_ms > now ? due_ms - now : 0;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += (time_t)(wait / 1000);
    ts.tv_nsec += (long)(wait % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&h->cv, &h->mu, &ts);
}

static void *hooks_main(void *arg)
{
    ps_hooks_t *h = arg;
    pthread_mutex_lock(&h->mu);
    while (!h->stop) {
        uint64_t now = ps_now_ms();
        if (h->nheld && now >= h->held_until_ms)
            release_held(h, now);
        if (h->n && h->heap[0]->due_ms <= now) {
            delivery_t *d = heap_pop(h);
            pthread_mutex_unlock(&h->mu);
            bool ok = attempt(h, d);
            pthread_mutex_lock(&h->mu);
            settle(h, d, ok);
            continue;
        }
        uint64_t next = now + IDLE_WAIT_MS;
        if (h->n && h->heap[0]->due_ms < next)
            next = h->heap[0]->due_ms;
        if (h->nheld && h->held_until_ms < next)
            next = h->held_until_ms;
        wait_until(h, next);
    }
    pthread_mutex_unlock(&h->mu);
    return NULL;
}

int ps_webhooks_start(paysim_t *ps)
{
    ps_hooks_t *h = calloc(1, sizeof(*h));
    pthread_condattr_t attr;
    if (!h || !(h->curl = curl_easy_init())) {
        free(h);
        return BO_ENOMEM;
    }
    h->ps = ps;
    atomic_init(&h->aborting, false);
    pthread_mutex_init(&h->mu, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&h->cv, &attr);
    pthread_condattr_destroy(&attr);
    if (pthread_create(&h->tid, NULL, hooks_main, h)) {
        curl_easy_cleanup(h->curl);
        pthread_cond_destroy(&h->cv);
        pthread_mutex_destroy(&h->mu);
        free(h);
        return BO_ENOMEM;
    }
    ps->hooks = h;
    return 0;
}

void ps_webhooks_stop(paysim_t *ps)
{
    ps_hooks_t *h = ps->hooks;
    if (!h)
        return;
    atomic_store(&h->aborting, true);
    pthread_mutex_lock(&h->mu);
    h->stop = true;
    pthread_cond_signal(&h->cv);
    pthread_mutex_unlock(&h->mu);
    pthread_join(h->tid, NULL);
    ps->hooks = NULL;
    while (h->n)
        delivery_free(h->heap[--h->n]);
    while (h->held) {
        delivery_t *d = h->held;
        h->held = d->next;
        delivery_free(d);
    }
    free(h->heap);
    curl_easy_cleanup(h->curl);
    pthread_cond_destroy(&h->cv);
    pthread_mutex_destroy(&h->mu);
    free(h);
}

json_t *ps_webhooks_stats(paysim_t *ps)
{
    ps_hooks_t *h = ps->hooks;
    if (!h)
        return json_object();
    pthread_mutex_lock(&h->mu);
    json_t *o =
        json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "emitted", (json_int_t)h->emitted,
                  "queued", (json_int_t)h->queued, "delivered", (json_int_t)h->delivered, "failed",
                  (json_int_t)h->failed, "attempts", (json_int_t)h->attempts, "retries",
                  (json_int_t)h->retries, "dropped", (json_int_t)h->dropped, "unsent_no_url",
                  (json_int_t)h->unsent, "pending", (json_int_t)h->n, "held", (json_int_t)h->nheld);
    pthread_mutex_unlock(&h->mu);
    return o;
}
