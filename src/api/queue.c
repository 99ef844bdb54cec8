/*
 * queue.c - the waiting room's endpoints (docs/openapi.yaml "Waiting
 * room"), thin handlers over boxoffice/queue.h:
 *   GET  /api/v1/events/{id}/queue/challenge   a proof-of-work challenge
 *   POST /api/v1/events/{id}/queue             join (rate limited per address)
 *   GET  /api/v1/events/{id}/queue             poll with X-Queue-Ticket or ?ticket=
 *   GET  /api/v1/events/{id}/queue/stats       the organiser's figures (admin)
 * and the pass check that holds.c and orders.c run on a waiting-room
 * event's holds and checkouts (bo__queue_require).
 *
 * Workload: the on-sale's front door. Joins are answered once their
 * document is durable (shared commits); polls and pass checks never touch
 * the store. Tickets and passes are capabilities: never logged.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "api/api_internal.h"
#include "util/time.h"

static const char *const reject_names[BO__QUEUE_REJECTS] = {
    [BO__QUEUE_REJECT_RATE] = "rate",
    [BO__QUEUE_REJECT_POW] = "pow",
    [BO__QUEUE_REJECT_PASS_MISSING] = "pass_missing",
    [BO__QUEUE_REJECT_PASS_INVALID] = "pass_invalid",
    [BO__QUEUE_REJECT_PASS_EXPIRED] = "pass_expired",
    [BO__QUEUE_REJECT_PASS_OTHER] = "pass_other_event",
};

static void rejected(bo_api_t *api, enum bo__queue_reject why)
{
    __atomic_add_fetch(&api->queue_rejected[why], 1, __ATOMIC_RELAXED);
}

static void join_url(char out[64], uint64_t event)
{
    char id[BO_ID_EVENT_LEN + 1];
    bo_id_event(id, event);
    snprintf(out, 64, "/api/v1/events/%s/queue", id);
}

/* The event of the path into *e: 0, or BO_ENOTFOUND once answered (404). */
static int path_event(bo_api_t *api, bo_http_req_t *r, bo_event_info_t *e)
{
    const char *id = bo_http_param(r, "id");
    uint64_t event;
    if (bo_id_parse_event(id, &event) || bo_catalog_event(api->catalog, event, e)) {
        bo_http_send_error(r, BO_ENOTFOUND, "no such event", json_pack("{ss}", "id", id ? id : ""));
        return BO_ENOTFOUND;
    }
    return 0;
}

/* The event of the path with a waiting room into *e: 0, or BO_ENOTFOUND
 * once answered (404). */
static int queue_event(bo_api_t *api, bo_http_req_t *r, bo_event_info_t *e)
{
    const char *id = bo_http_param(r, "id");
    if (path_event(api, r, e))
        return BO_ENOTFOUND;
    if (!e->waiting_room.enabled) {
        bo_http_send_error(r, BO_ENOTFOUND, "this event has no waiting room",
                           json_pack("{ss}", "id", id));
        return BO_ENOTFOUND;
    }
    return 0;
}

static json_t *int_or_null(int64_t n)
{
    return n < 0 ? json_null() : json_integer(n);
}

/* {"queue": Q} of docs/api.md. */
static json_t *view_json(uint64_t event, const bo_queue_config_t *cfg, const bo_queue_view_t *v)
{
    char id[BO_ID_EVENT_LEN + 1];
    bo_id_event(id, event);
    json_t *q =
        json_pack("{s:s,s:s,s:s,s:o,s:o,s:o,s:I,s:o}", "ticket", v->ticket, "event_id", id,
                  "status", bo_queue_status_name(v->status), "place",
                  v->place ? json_integer(v->place) : json_null(), "ahead", int_or_null(v->ahead),
                  "estimated_wait_s", int_or_null(v->estimated_wait_s), "poll_after_ms",
                  (json_int_t)v->poll_after_ms, "onsale_at", bo_time_json(cfg->onsale_at_ms));
    if (q && v->pass[0]) {
        json_object_set_new(q, "pass", json_string(v->pass));
        json_object_set_new(q, "admitted_at", bo_time_json(v->admitted_at_ms));
        json_object_set_new(q, "pass_expires_at", bo_time_json(v->pass_expires_at_ms));
    } else if (q && v->status == BO_QUEUE_EXPIRED) {
        json_object_set_new(q, "pass_expires_at", bo_time_json(v->pass_expires_at_ms));
    }
    return q ? json_pack("{so}", "queue", q) : NULL;
}

json_t *bo__queue_config_json(uint64_t event, const bo_queue_config_t *w)
{
    char url[64];
    if (!w->enabled)
        return json_null();
    join_url(url, event);
    return json_pack("{s:b,s:o,s:o,s:I,s:I,s:I,s:I,s:b,s:s}", "enabled", true, "prequeue_opens_at",
                     bo_time_json(w->prequeue_opens_at_ms), "onsale_at",
                     bo_time_json(w->onsale_at_ms), "admit_per_min", (json_int_t)w->admit_per_min,
                     "max_active", (json_int_t)w->max_active, "pass_ttl_s",
                     (json_int_t)w->pass_ttl_s, "pow_difficulty", (json_int_t)w->pow_difficulty,
                     "paused", w->paused, "join_url", url);
}

/* Answer status with body (taken; NULL: out of memory), never cached. */
static int send_no_store(bo_http_req_t *r, int status, json_t *body)
{
    if (!body)
        return BO_ENOMEM;
    bo_http_set_header(r, "Cache-Control", "no-store");
    return bo_http_send_json(r, status, body); /* takes body */
}

/* ---- POST /api/v1/events/{id}/queue ---- */

typedef struct join_call {
    bo_api_t *api;
    bo_http_async_t *a;
    uint64_t event;
    bo_queue_config_t cfg;
    int status;
    bo_queue_view_t view;
} join_call_t;

static void join_answer(bo_http_req_t *r, void *arg)
{
    join_call_t *c = arg;
    json_t *body = c->status == 0 ? view_json(c->event, &c->cfg, &c->view) : NULL;
    if (r && body) {
        bo_http_set_header(r, "Cache-Control", "no-store");
        bo_http_send_json(r, 201, body); /* takes body */
    } else {
        if (r)
            bo_http_send_error(r, c->status ? c->status : BO_ENOMEM, NULL, NULL);
        json_decref(body);
    }
    sodium_memzero(&c->view, sizeof(c->view));
    free(c);
}

static void join_done(void *arg, int status, const bo_queue_view_t *v)
{
    join_call_t *c = arg;
    c->status = status;
    if (status == 0)
        c->view = *v;
    bo_http_async_finish(c->a, join_answer, c);
}

/* A token of the join's bucket (limit.c: queue_joins_per_min of the
 * event's limits, per client address and event): 0, or BO_ERATE once
 * answered (429 with Retry-After). */
static int join_rate(bo_api_t *api, bo_http_req_t *r, const bo_event_info_t *e)
{
    bo_limits_t lim;
    bo__limits_of(api, e, &lim);
    int rc = bo__limit_take(api, r, BO_LIMIT_QUEUE_JOINS_PER_MIN, e->id,
                            lim.v[BO_LIMIT_QUEUE_JOINS_PER_MIN]);
    if (rc)
        rejected(api, BO__QUEUE_REJECT_RATE);
    return rc;
}

/* The proof of work of the body, when the event asks for one: 0, or an
 * error once answered (400, 403 POW_REQUIRED, 503). */
static int join_pow(bo_api_t *api, bo_http_req_t *r, const bo_event_info_t *e)
{
    json_t *body = NULL, *pow;
    size_t len;
    bo_http_body(r, &len);
    if (len && bo__api_json_body(r, &body))
        return BO_EINVAL;
    if (body && !json_is_object(body)) {
        json_decref(body);
        return bo_http_send_error(r, BO_EINVAL, "the body must be a JSON object", NULL), BO_EINVAL;
    }
    uint32_t bits = e->waiting_room.pow_difficulty;
    pow = json_object_get(body, "pow");
    const char *ch = json_string_value(json_object_get(pow, "challenge"));
    const char *nonce = json_string_value(json_object_get(pow, "nonce"));
    int rc = bits == 0
                 ? 0
                 : bo_queue_pow_check(api->queues, e->id, bits, ch, ch ? strlen(ch) : 0, nonce,
                                      nonce ? strlen(nonce) : 0, bo_live_now_ms(api->live));
    json_decref(body);
    if (rc == 0)
        return 0;
    char url[80];
    join_url(url, e->id);
    strcat(url, "/challenge");
    rejected(api, BO__QUEUE_REJECT_POW);
    if (rc == BO_EBUSY)
        bo_http_set_header(r, "Retry-After", "1");
    bo_http_send_error(r, rc,
                       rc == BO_EBUSY ? "too many proof-of-work challenges in use: retry"
                       : !pow         ? "this waiting room asks for a proof of work"
                                      : "the proof of work is missing, wrong, expired or used",
                       json_pack("{sssI}", "challenge_url", url, "difficulty", (json_int_t)bits));
    return rc;
}

static int on_join(void *arg, bo_http_req_t *r)
{
    bo_api_t *api = arg;
    bo_event_info_t e;
    if (queue_event(api, r, &e) || join_rate(api, r, &e) || join_pow(api, r, &e))
        return 0;
    join_call_t *c = calloc(1, sizeof(*c));
    if (!c || !(c->a = bo_http_async_begin(r))) {
        free(c);
        return BO_ENOMEM;
    }
    c->api = api;
    c->event = e.id;
    c->cfg = e.waiting_room;
    int rc =
        bo_queue_join(api->queues, e.id, &e.waiting_room, bo_live_now_ms(api->live), join_done, c);
    if (rc == 0)
        return 0; /* c is join_done's */
    bo_http_async_finish(c->a, NULL, NULL);
    free(c);
    json_t *details = NULL;
    if (rc == BO_EQUEUENOTOPEN)
        details = json_pack("{so}", "opens_at", bo_time_json(e.waiting_room.prequeue_opens_at_ms));
    if (rc == BO_EQUEUEFULL || rc == BO_EBUSY)
        bo_http_set_header(r, "Retry-After", "5");
    return bo_http_send_error(r, rc, NULL, details);
}

/* ---- GET /api/v1/events/{id}/queue ---- */

static int on_poll(void *arg, bo_http_req_t *r)
{
    bo_api_t *api = arg;
    bo_event_info_t e;
    bo_queue_view_t v;
    size_t len = 0;
    if (queue_event(api, r, &e))
        return 0;
    const char *t = bo_http_header(r, "x-queue-ticket", &len);
    if (!t)
        t = bo_http_query(r, "ticket", &len);
    if (bo_queue_poll(api->queues, e.id, &e.waiting_room, t, t ? len : 0, bo_live_now_ms(api->live),
                      &v))
        return bo_http_send_error(r, BO_ENOTFOUND, "no such queue ticket", NULL);
    json_t *body = view_json(e.id, &e.waiting_room, &v);
    sodium_memzero(&v, sizeof(v));
    return send_no_store(r, 200, body);
}

/* ---- GET …/queue/challenge and …/queue/stats ---- */

static int on_challenge(void *arg, bo_http_req_t *r)
{
    bo_api_t *api = arg;
    bo_event_info_t e;
    char ch[BO_QUEUE_CHALLENGE_MAX + 1];
    int64_t expires_ms;
    if (queue_event(api, r, &e))
        return 0;
    if (bo_queue_pow_challenge(api->queues, e.id, e.waiting_room.pow_difficulty,
                               bo_live_now_ms(api->live), ch, &expires_ms))
        return bo_http_send_error(r, BO_ENOTFOUND, "this waiting room asks for no proof of work",
                                  NULL);
    json_t *body = json_pack("{s:s,s:I,s:o}", "challenge", ch, "difficulty",
                             (json_int_t)e.waiting_room.pow_difficulty, "expires_at",
                             bo_time_json(expires_ms));
    return send_no_store(r, 200, body);
}

static int on_stats(void *arg, bo_http_req_t *r)
{
    bo_api_t *api = arg;
    bo_event_info_t e;
    bo_queue_stats_t st;
    int rc = bo__api_admin(api, r);
    if (rc)
        return rc;
    if (path_event(api, r, &e))
        return 0;
    bo_queue_stats(api->queues, e.id, &e.waiting_room, bo_live_now_ms(api->live), &st);
    const bo_queue_config_t *w = &e.waiting_room;
    json_t *body = json_pack(
        "{s:b,s:b,s:I,s:I,s:I,s:I,s:I,s:I,s:o,s:b}", "enabled", w->enabled, "paused", w->paused,
        "prequeue", (json_int_t)st.prequeue, "waiting", (json_int_t)st.waiting, "admitted_total",
        (json_int_t)st.admitted_total, "active", (json_int_t)st.active, "skipped_total",
        (json_int_t)st.skipped_total, "admissions_per_min", (json_int_t)st.admissions_last_min,
        "onsale_at", bo_time_json(w->enabled ? w->onsale_at_ms : 0), "seed_set", st.seed_set);
    return send_no_store(r, 200, body);
}

/* ---- the pass of holds and checkouts ---- */

/* The value of cookie name in a Cookie header (len bytes), or NULL. */
static const char *cookie(const char *h, size_t len, const char *name, size_t *out_len)
{
    size_t nl = strlen(name);
    for (size_t i = 0; h && i < len;) {
        while (i < len && (h[i] == ' ' || h[i] == ';'))
            i++;
        size_t j = i;
        while (j < len && h[j] != ';')
            j++;
        if (j - i > nl && !memcmp(h + i, name, nl) && h[i + nl] == '=') {
            *out_len = j - i - nl - 1;
            return h + i + nl + 1;
        }
        i = j;
    }
    return NULL;
}

int bo__queue_require(bo_api_t *api, bo_http_req_t *r, const bo_event_info_t *e, uint64_t *customer,
                      uint32_t *place)
{
    if (place)
        *place = 0;
    if (!e->waiting_room.enabled)
        return 0;
    size_t len = 0, clen;
    const char *pass = bo_http_header(r, "x-queue-pass", &len);
    const char *ck = pass ? NULL : bo_http_header(r, "cookie", &clen);
    if (ck)
        pass = cookie(ck, clen, "bo_queue_pass", &len);
    int v = bo_queue_pass_check(api->queues, e->id, pass, pass ? len : 0, bo_live_now_ms(api->live),
                                customer, place);
    if (v == BO_QUEUE_PASS_OK)
        return 0;
    static const enum bo__queue_reject why[] = {
        [BO_QUEUE_PASS_MISSING] = BO__QUEUE_REJECT_PASS_MISSING,
        [BO_QUEUE_PASS_INVALID] = BO__QUEUE_REJECT_PASS_INVALID,
        [BO_QUEUE_PASS_EXPIRED] = BO__QUEUE_REJECT_PASS_EXPIRED,
        [BO_QUEUE_PASS_OTHER_EVENT] = BO__QUEUE_REJECT_PASS_OTHER,
    };
    rejected(api, why[v]);
    char url[64];
    join_url(url, e->id);
    bo_http_send_error(r, BO_EQUEUEREQUIRED, NULL,
                       json_pack("{ssss}", "join_url", url, "reason", bo_queue_pass_reason(v)));
    return BO_EQUEUEREQUIRED;
}

/* ---- metrics and wiring ---- */

static void collect_queue(void *arg, bo_metrics_out_t *out)
{
    bo_api_t *api = arg;
    bo_queue_totals_t t;
    char labels[48];
    bo_queue_totals(api->queues, &t);
    static const struct {
        const char *name, *type, *help;
        size_t off;
    } fams[] = {
        {"boxoffice_queue_joins_total", "counter", "Waiting-room joins.",
         offsetof(bo_queue_totals_t, joins)},
        {"boxoffice_queue_admitted_total", "counter", "Waiting-room admissions (passes issued).",
         offsetof(bo_queue_totals_t, admitted)},
        {"boxoffice_queue_skipped_total", "counter",
         "Waiting visitors skipped for not polling for 300 s.",
         offsetof(bo_queue_totals_t, skipped)},
        {"boxoffice_queue_waiting", "gauge", "Visitors in a pre-queue or waiting, all events.",
         offsetof(bo_queue_totals_t, waiting)},
        {"boxoffice_queue_active", "gauge", "Admitted shoppers whose pass is still valid.",
         offsetof(bo_queue_totals_t, active)},
    };
    for (size_t i = 0; i < sizeof(fams) / sizeof(fams[0]); i++) {
        bo_metrics_family(out, fams[i].name, fams[i].type, fams[i].help);
        bo_metrics_sample(out, fams[i].name, NULL,
                          (double)*(const uint64_t *)((const char *)&t + fams[i].off));
    }
    bo_metrics_family(out, "boxoffice_queue_rejected_total", "counter",
                      "Waiting-room refusals: joins (rate, pow) and holds or checkouts without a "
                      "valid pass.");
    for (int i = 0; i < BO__QUEUE_REJECTS; i++) {
        snprintf(labels, sizeof(labels), "reason=\"%s\"", reject_names[i]);
        bo_metrics_sample(out, "boxoffice_queue_rejected_total", labels,
                          (double)__atomic_load_n(&api->queue_rejected[i], __ATOMIC_RELAXED));
    }
}

static void queue_free(void *arg)
{
    bo_api_t *api = arg;
    bo_queues_free(api->queues);
    api->queues = NULL;
}

int bo__api_queue_register(bo_api_t *api)
{
    int rc;
    bo_server_t *srv = api->srv;
    if ((rc = bo_server_at_free(srv, queue_free, api)) ||
        (rc = bo_queues_new(api->live, &api->queues)))
        return rc;
    if ((rc = bo_server_route(srv, "POST", "/api/v1/events/{id}/queue", on_join, api)) ||
        (rc = bo_server_route(srv, "GET", "/api/v1/events/{id}/queue", on_poll, api)) ||
        (rc = bo_server_route(srv, "GET", "/api/v1/events/{id}/queue/challenge", on_challenge,
                              api)) ||
        (rc = bo_server_route(srv, "GET", "/api/v1/events/{id}/queue/stats", on_stats, api)))
        return rc;
    return bo_metrics_add_collector(bo_server_metrics(srv), collect_queue, api);
}
