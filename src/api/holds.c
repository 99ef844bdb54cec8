/*
 * holds.c - the holds of the API: POST /api/v1/events/{id}/holds,
 * GET and DELETE /api/v1/holds/{hold_id} (docs/openapi.yaml "Holds").
 *
 * Workload: the on-sale hot path. Thousands of buyers post holds of 1-8
 * seats at one event; each is read and checked on its loop thread, decided
 * under the event's lock in microseconds (bo_live_apply), and answered
 * once its record is durable: the committer thread only copies the result
 * and posts it back to the loop, which writes the answer. Refusals (409 for
 * taken seats, the common outcome of a fight for the same seats) are the
 * call's error return (live.h's contract: then no callback) and answered at
 * once, on the loop, without a post. With an Idempotency-Key, the answer is written under the
 * event's lock (the `decided` hook) so that it is stored with the decision.
 *
 * Hold ids carry their event (ids.h), so reading or releasing a hold needs
 * no global index: one event lookup, one hash lookup in its inventory.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "api/api_internal.h"
#include "api/api_internal.h"
#include "util/time.h"

static const char *const result_names[BO__HOLD_RESULTS] = {
    [BO__HOLD_CREATED] = "created",   [BO__HOLD_UNAVAILABLE] = "unavailable",
    [BO__HOLD_SOLD_OUT] = "sold_out", [BO__HOLD_LIMIT] = "limit",
    [BO__HOLD_INVALID] = "invalid",   [BO__HOLD_NOT_ON_SALE] = "not_on_sale",
    [BO__HOLD_FAILED] = "failed",     [BO__HOLD_RATE_LIMITED] = "rate_limited",
};

static void count(bo_api_t *api, enum bo__hold_result res)
{
    if (api->holds_total[res])
        bo_metric_add(api->holds_total[res], 1);
}

static enum bo__hold_result result_of(int err)
{
    switch (err) {
    case 0:
        return BO__HOLD_CREATED;
    case BO_EUNAVAILABLE:
        return BO__HOLD_UNAVAILABLE;
    case BO_ENOSEATS:
        return BO__HOLD_SOLD_OUT;
    case BO_ELIMIT:
        return BO__HOLD_LIMIT;
    case BO_EINVAL:
        return BO__HOLD_INVALID;
    case BO_ENOTONSALE:
        return BO__HOLD_NOT_ON_SALE;
    case BO_ERATE:
    case BO_ECAP:
        return BO__HOLD_RATE_LIMITED;
    default:
        return BO__HOLD_FAILED;
    }
}

/* Whether an error is stored as an idempotent answer (5xx and 429 never). */
static bool storable(int err)
{
    int status = bo_err_http_status(err);
    return status < 500 && status != 429;
}

/*
 * Answer a refusal decided from the state: stored first under the key when
 * one began (then answered through a, begun here if NULL), else sent at
 * once (and a, if any, dropped). details is stolen. Returns 0 or BO_ENOMEM
 * (nothing answered).
 */
static int refuse(bo_api_t *api, bo_http_req_t *r, bo_idem_t *idem, bo_http_async_t *a, int err,
                  const char *message, json_t *details)
{
    BO_ASSERT(r != NULL && idem != NULL && err < 0); /* a refusal: a BO_E* code */
    if (idem->on && storable(err)) {
        if (!a && !(a = bo_http_async_begin(r))) {
            json_decref(details);
            bo__idem_end(api, idem, 0, NULL, 0);
            return BO_ENOMEM;
        }
        bo__idem_reply_error(api, idem, a, err, message, details);
        return 0;
    }
    bo__idem_end(api, idem, 0, NULL, 0);
    bo_http_send_error(r, err, message, details);
    if (a)
        bo_http_async_finish(a, NULL, NULL);
    return 0;
}

static int no_such_event(bo_http_req_t *r, const char *id)
{
    return bo_http_send_error(r, BO_ENOTFOUND, "no such event", json_pack("{ss}", "id", id));
}

static int no_such_hold(bo_http_req_t *r)
{
    return bo_http_send_error(r, BO_ENOTFOUND, "no such hold", NULL);
}

/* ---- POST /api/v1/events/{id}/holds ---- */

/* One hold request, from the handler to its answer. */
typedef struct hold_call {
    bo_api_t *api;
    bo_http_async_t *a;
    uint64_t event;
    bo_live_event_t *ev; /* found once (the catalog's), handed down */
    const bo_layout_t *layout;
    char currency[4];
    bo_limits_t limits; /* the event's */
    bo_hold_req_t req;
    uint32_t seats[BO_HOLD_MAX_SEATS];
    bo_ga_line_t ga[BO_HOLD_MAX_GA];
    int status;        /* the outcome */
    bo_hold_res_t res; /* its result */
    char *body;        /* the 201 answer, written in `decided` (with a key) */
    size_t len;
    bo_idem_t idem;
} hold_call_t;

static void call_free(hold_call_t *c)
{
    free(c->body);
    free(c);
}

/* The 201 answer of the hold in c->res (res may be c->res). */
static char *render_created(hold_call_t *c, const bo_hold_res_t *res, size_t *len)
{
    BO_ASSERT(c->ev != NULL && c->layout != NULL && res->nseats <= BO_HOLD_MAX_SEATS);
    bo_hold_view_t v = {.id = c->req.id,
                        .status = BO_HOLD_HELD,
                        .expires_at_ms = res->expires_at_ms,
                        .amount_cents = res->amount_cents,
                        .seats = res->seats,
                        .nseats = res->nseats,
                        .ga = c->req.ga,
                        .nga = c->req.nga};
    return bo__hold_render(c->layout, c->event, &v, c->currency, bo_live_now_ms(c->api->live), len);
}

/* Under the event's lock, with a key: the answer rides with the decision. */
static void hold_decided(void *arg, const bo_live_result_t *lr, bo_rec_t *rec)
{
    hold_call_t *c = arg;
    BO_ASSERT(c->idem.on && c->body == NULL); /* hooked only with a key, once */
    c->body = render_created(c, &lr->res, &c->len);
    bo__idem_attach(&c->idem, rec, 201, c->body, c->len);
}

static void set_location(bo_http_req_t *r, hold_call_t *c)
{
    static const char prefix[] = "/api/v1/holds/";
    char loc[sizeof(prefix) + BO_ID_HOLD_LEN];
    memcpy(loc, prefix, sizeof(prefix) - 1);
    bo_id_hold(loc + sizeof(prefix) - 1, c->event, &c->req.id);
    bo_http_set_header(r, "Location", loc);
}

/* Loop thread, after the commit (or its failure). */
static void hold_answer(bo_http_req_t *r, void *arg)
{
    hold_call_t *c = arg;
    BO_ASSERT(c->status <= 0);
    count(c->api, result_of(c->status));
    if (r && c->status == 0) {
        set_location(r, c);
        if (c->body) {
            bo_http_send_text(r, 201, "application/json", c->body, c->len);
        } else {
            size_t len;
            char *body = render_created(c, &c->res, &len);
            if (body)
                bo_http_send_buf(r, 201, "application/json", body, len);
            else
                bo_http_send_error(r, BO_ENOMEM, NULL, NULL);
        }
    } else if (r) {
        bo_http_send_error(r, c->status, NULL, NULL);
    }
    call_free(c);
}

static void hold_done(void *arg, const bo_live_result_t *lr)
{
    hold_call_t *c = arg;
    BO_ASSERT(lr->status <= 0 && lr->res.nseats <= BO_HOLD_MAX_SEATS); /* copied below */
    c->status = lr->status;
    /* committed (or failed): only what the answer shows */
    c->res.expires_at_ms = lr->res.expires_at_ms;
    c->res.amount_cents = lr->res.amount_cents;
    c->res.nseats = lr->res.nseats;
    memcpy(c->res.seats, lr->res.seats, lr->res.nseats * sizeof(uint32_t));
    if (lr->status == 0)
        bo__idem_end(c->api, &c->idem, 201, c->body, c->len);
    else
        bo__idem_end(c->api, &c->idem, 0, NULL, 0);
    bo_http_async_finish(c->a, hold_answer, c);
}

static int limit_of(void *arg, const bo_inv_t *inv, int64_t now_ms)
{
    return (int)bo_inv_config(inv)->per_customer_limit;
}

static int ttl_s_of(void *arg, const bo_inv_t *inv, int64_t now_ms)
{
    return (int)(bo_inv_config(inv)->hold_ttl_ms / 1000);
}

/* A cap refused the hold: 429 with the cap and when to retry (the event's
 * hold time: a hold of the address has ended by then, unless paying). */
static int cap_refused(hold_call_t *c, bo_http_req_t *r)
{
    enum bo_limit which =
        c->res.cap == BO_CAP_HOLDS ? BO_LIMIT_HOLDS_PER_ADDRESS : BO_LIMIT_SEATS_PER_ADDRESS;
    int ttl_s = bo_live_read_of(c->api->live, c->ev, ttl_s_of, NULL);
    bo__idem_end(c->api, &c->idem, 0, NULL, 0); /* a 429 is never stored */
    count(c->api, BO__HOLD_RATE_LIMITED);
    bo__limit_refuse(c->api, r, which, c->limits.v[which], ttl_s > 0 ? ttl_s * 1000LL : 1000, true);
    if (c->a)
        bo_http_async_finish(c->a, NULL, NULL);
    call_free(c);
    return 0;
}

/* The details of an engine refusal. */
static json_t *refusal_details(hold_call_t *c)
{
    const bo_layout_t *l = c->layout;
    if (c->status == BO_EUNAVAILABLE) {
        json_t *seats = json_array(), *ga = json_array();
        for (uint32_t i = 0; i < c->res.nunavailable; i++) {
            BO_ASSERT(c->res.unavailable[i] < l->nseats);
            json_array_append_new(
                seats, json_string(bo_layout_str(l, l->seats[c->res.unavailable[i]].id)));
        }
        for (uint32_t i = 0; i < c->res.nga_short; i++) {
            BO_ASSERT(c->res.ga_short[i] < l->nga);
            json_array_append_new(ga, json_string(bo_layout_str(l, l->ga[c->res.ga_short[i]].id)));
        }
        return json_pack("{soso}", "seats", seats, "ga", ga);
    }
    if (c->status == BO_ELIMIT) {
        uint32_t n = c->req.nseats + c->req.best_quantity;
        for (uint32_t i = 0; i < c->req.nga; i++)
            n += c->req.ga[i].quantity;
        int limit = bo_live_read_of(c->api->live, c->ev, limit_of, NULL);
        return limit > 0
                   ? json_pack("{sIsI}", "limit", (json_int_t)limit, "requested", (json_int_t)n)
                   : json_pack("{sI}", "requested", (json_int_t)n);
    }
    return NULL;
}

/* The engine refused before the call returned: answer on this thread. */
static int hold_refused(hold_call_t *c, bo_http_req_t *r)
{
    bo_api_t *api = c->api;
    BO_ASSERT(c->status < 0); /* the error return: no callback will come */
    if (c->status == BO_ECAP)
        return cap_refused(c, r);
    int err = c->status == BO_EEXIST ? BO_EBUSY : c->status; /* a hold id drawn twice */
    const char *message = err == BO_ENOTFOUND ? "no such event" : NULL;
    json_t *details = refusal_details(c);
    char id[BO_ID_EVENT_LEN + 1];
    if (err == BO_ENOTFOUND) {
        bo_id_event(id, c->event);
        details = json_pack("{ss}", "id", id);
    }
    count(api, result_of(err));
    int rc = refuse(api, r, &c->idem, c->a, err, message, details);
    call_free(c);
    return rc;
}

/* ---- the common body, read without building a JSON tree ---- */

/* The fast reader (hold_json.c) for a JSON body (no Content-Type, or
 * exactly application/json); false leaves it to the general one, with
 * c->req holding scratch that the caller clears. */
static bool read_fast(bo_http_req_t *r, hold_call_t *c)
{
    size_t len, clen;
    const char *body = bo_http_body(r, &len);
    const char *ctype = bo_http_header(r, "content-type", &clen);
    if (ctype && !(clen == 16 && !strncasecmp(ctype, "application/json", 16)))
        return false;
    return bo__hold_read_fast(body, len, c->layout, &c->req, c->seats);
}

/* Check the event and read the body into c: 0, or BO_ENOTFOUND / BO_EINVAL
 * once answered (404, 400). The event is looked up once, in the catalog,
 * whose entry carries the live layer's handle (its seat map, its
 * decisions). */
static int hold_read(bo_api_t *api, bo_http_req_t *r, hold_call_t *c, bo_event_info_t *info)
{
    const char *evt = bo_http_param(r, "id");
    json_t *body;
    bo_hold_bad_t bad;
    if (bo_id_parse_event(evt, &c->event) || bo_catalog_event(api->catalog, c->event, info) ||
        !(c->ev = info->live)) {
        no_such_event(r, evt ? evt : "");
        return BO_ENOTFOUND;
    }
    c->layout = bo_live_event_layout(c->ev);
    BO_ASSERT(c->layout != NULL);
    if (read_fast(r, c))
        return 0;
    memset(&c->req, 0, sizeof(c->req));
    if (bo__api_json_body(r, &body)) {
        count(api, BO__HOLD_INVALID);
        return BO_EINVAL;
    }
    int rc = bo__hold_request_read(body, c->layout, &c->req, c->seats, c->ga, &bad);
    json_decref(body);
    if (rc) {
        json_t *d = bad.details ? bad.details : json_object();
        if (bad.field[0])
            json_object_set_new(d, "field", json_string(bad.field));
        count(api, BO__HOLD_INVALID);
        bo_http_send_error(r, BO_EINVAL, bad.message, d);
    }
    return rc;
}

static json_t *not_on_sale_details(const bo_event_info_t *info)
{
    char when[BO_RFC3339_SIZE];
    json_t *d = json_pack("{ss}", "status", bo_catalog_status_name(info->status));
    if (d && info->status == BO_EVENT_SCHEDULED) {
        bo_time_format(info->on_sale_at_ms, when);
        json_object_set_new(d, "on_sale_at", json_string(when));
    }
    return d;
}

static int on_hold_create(void *arg, bo_http_req_t *r)
{
    bo_api_t *api = arg;
    bo_event_info_t info;
    hold_call_t *c = calloc(1, sizeof(*c));
    if (!c)
        return BO_ENOMEM;
    c->api = api;
    uint64_t pass_customer = 0;
    if (hold_read(api, r, c, &info) || bo__queue_require(api, r, &info, &pass_customer, NULL)) {
        call_free(c);
        return 0;
    }
    if (pass_customer) /* one pass, one shopper: the limit counts per pass */
        c->req.customer = pass_customer;
    bo__limits_of(api, &info, &c->limits);
    if (bo__limit_take(api, r, BO_LIMIT_HOLDS_PER_MIN, c->event,
                       c->limits.v[BO_LIMIT_HOLDS_PER_MIN])) {
        count(api, BO__HOLD_RATE_LIMITED);
        call_free(c);
        return 0;
    }
    if (bo__idem_begin(api, r, &c->idem)) {
        call_free(c);
        return 0;
    }
    c->req.client = bo__limit_client_key(api, r);
    c->req.max_client_tickets = c->limits.v[BO_LIMIT_SEATS_PER_ADDRESS];
    c->req.max_client_holds = c->limits.v[BO_LIMIT_HOLDS_PER_ADDRESS];
    if (info.status != BO_EVENT_ON_SALE && info.status != BO_EVENT_SOLD_OUT) {
        count(api, BO__HOLD_NOT_ON_SALE);
        int rc = refuse(api, r, &c->idem, NULL, BO_ENOTONSALE, NULL, not_on_sale_details(&info));
        call_free(c);
        return rc;
    }
    memcpy(c->currency, info.currency, sizeof(c->currency));
    c->currency[3] = '\0';
    bo_id_random_hold(&c->req.id);
    if (!(c->a = bo_http_async_begin(r))) {
        bo__idem_end(api, &c->idem, 0, NULL, 0);
        call_free(c);
        return BO_ENOMEM;
    }
    bo_live_result_t refusal;
    bo_live_call_t call = {hold_done, c, c->idem.on ? hold_decided : NULL};
    bo_mut_t m = {.op = BO_MUT_HOLD, .req = &c->req};
    int rc = bo_live_apply_to(api->live, c->ev, &m, &call, &refusal);
    if (rc == 0)
        return 0; /* c is hold_done's now: not to be touched */
    c->status = rc;
    memcpy(&c->res, &refusal.res, sizeof(c->res));
    return hold_refused(c, r);
}

/* ---- GET /api/v1/holds/{hold_id} ---- */

typedef struct hold_read {
    bo_hold_id_t id;
    const bo_layout_t *layout;
    bo_hold_view_t v;
    uint32_t seats[BO_HOLD_MAX_SEATS];
    bo_ga_line_t ga[BO_HOLD_MAX_GA];
    int64_t now_ms;
} hold_read_t;

/* Under the event's lock: a copy of the hold. */
static int read_hold(void *arg, const bo_inv_t *inv, int64_t now_ms)
{
    hold_read_t *h = arg;
    int rc = bo_inv_get_hold(inv, &h->id, now_ms, &h->v);
    if (rc || h->v.status == BO_HOLD_NONE)
        return BO_ENOTFOUND;
    h->v.nseats = h->v.nseats < BO_HOLD_MAX_SEATS ? h->v.nseats : BO_HOLD_MAX_SEATS;
    h->v.nga = h->v.nga < BO_HOLD_MAX_GA ? h->v.nga : BO_HOLD_MAX_GA;
    memcpy(h->seats, h->v.seats, h->v.nseats * sizeof(uint32_t));
    memcpy(h->ga, h->v.ga, h->v.nga * sizeof(bo_ga_line_t));
    h->v.seats = h->seats;
    h->v.ga = h->ga;
    h->layout = bo_inv_layout(inv);
    h->now_ms = now_ms;
    return 0;
}

static int on_hold_get(void *arg, bo_http_req_t *r)
{
    bo_api_t *api = arg;
    uint64_t event;
    bo_event_info_t info;
    hold_read_t h;
    size_t len;
    if (bo_id_parse_hold(bo_http_param(r, "hold_id"), &event, &h.id) ||
        bo_catalog_event(api->catalog, event, &info) ||
        bo_live_read_of(api->live, info.live, read_hold, &h))
        return no_such_hold(r);
    char *body = bo__hold_render(h.layout, event, &h.v, info.currency, h.now_ms, &len);
    if (!body)
        return BO_ENOMEM;
    bo_http_set_header(r, "Cache-Control", "no-store");
    return bo_http_send_buf(r, 200, "application/json", body, len);
}

/* ---- DELETE /api/v1/holds/{hold_id} ---- */

typedef struct release_call {
    bo_api_t *api;
    bo_http_async_t *a;
    int status;
    bo_idem_t idem;
} release_call_t;

static void release_decided(void *arg, const bo_live_result_t *lr, bo_rec_t *rec)
{
    release_call_t *c = arg;
    bo__idem_attach(&c->idem, rec, 204, "", 0);
}

static void release_answer(bo_http_req_t *r, void *arg)
{
    release_call_t *c = arg;
    if (r && c->status == 0)
        bo_http_send_text(r, 204, NULL, "", 0);
    else if (r)
        bo_http_send_error(r, c->status, NULL, NULL);
    free(c);
}

static void release_done(void *arg, const bo_live_result_t *lr)
{
    release_call_t *c = arg;
    BO_ASSERT(lr->status <= 0);
    c->status = lr->status;
    bo__idem_end(c->api, &c->idem, lr->status == 0 ? 204 : 0, lr->status == 0 ? "" : NULL, 0);
    bo_http_async_finish(c->a, release_answer, c);
}

static int on_hold_delete(void *arg, bo_http_req_t *r)
{
    bo_api_t *api = arg;
    uint64_t event;
    bo_hold_id_t id;
    if (bo_id_parse_hold(bo_http_param(r, "hold_id"), &event, &id))
        return no_such_hold(r);
    if (bo__orders_release_hold(api, r, event, &id))
        return 0; /* in checkout: the order abandons it */
    release_call_t *c = calloc(1, sizeof(*c));
    if (!c)
        return BO_ENOMEM;
    c->api = api;
    if (bo__idem_begin(api, r, &c->idem)) {
        free(c);
        return 0;
    }
    if (!(c->a = bo_http_async_begin(r))) {
        bo__idem_end(api, &c->idem, 0, NULL, 0);
        free(c);
        return BO_ENOMEM;
    }
    bo_live_call_t call = {release_done, c, c->idem.on ? release_decided : NULL};
    bo_mut_t m = {.op = BO_MUT_RELEASE, .id = id};
    int err = bo_live_apply(api->live, event, &m, &call, NULL), rc;
    if (err == 0)
        return 0; /* c is release_done's now */
    if (err == BO_ENOTFOUND)
        rc = refuse(api, r, &c->idem, c->a, err, "no such hold", NULL);
    else if (err == BO_ESTATE)
        rc = refuse(api, r, &c->idem, c->a, err, NULL, json_pack("{ss}", "status", "sold"));
    else
        rc = refuse(api, r, &c->idem, c->a, err, NULL, NULL);
    free(c);
    return rc;
}

/* ---- registration ---- */

int bo__api_holds_register(bo_api_t *api)
{
    int rc;
    if (sodium_init() < 0)
        return BO_ENOMEM;
    bo_metric_t *f = bo_metrics_counter(bo_server_metrics(api->srv), "boxoffice_holds_total",
                                        "hold requests by result");
    for (int i = 0; f && i < BO__HOLD_RESULTS; i++) {
        char labels[48];
        snprintf(labels, sizeof(labels), "result=\"%s\"", result_names[i]);
        api->holds_total[i] = bo_metric_series(f, labels);
    }
    if ((rc =
             bo_server_route(api->srv, "POST", "/api/v1/events/{id}/holds", on_hold_create, api)) ||
        (rc = bo_server_route(api->srv, "GET", "/api/v1/holds/{hold_id}", on_hold_get, api)) ||
        (rc = bo_server_route(api->srv, "DELETE", "/api/v1/holds/{hold_id}", on_hold_delete, api)))
        return rc;
    return 0;
}
