/*
 * orders.c - checkout and orders (docs/openapi.yaml "Orders"):
 *   POST /api/v1/holds/{hold_id}/checkout     hold -> order (+ payment intent if asked)
 *   POST /api/v1/orders/{id}/confirm          ask the gateway, settle
 *   GET  /api/v1/orders/{id}?secret=          the order and its tickets
 *   POST /api/v1/orders/{id}/cancel           release or refund by policy
 *   GET  /api/v1/orders/{id}/tickets/{ticket_id}/qr.svg?secret=
 * as thin handlers of the order domain (boxoffice/order.h, src/order/): they
 * parse, check who asks, call a step, and render its answer.
 *
 * Who may act on an order: whoever shows its secret (?secret=, the JSON
 * body's "secret", X-Order-Secret, or Authorization: Bearer) or the admin
 * token (Bearer). Anyone else gets the very answer an unknown order gets
 * (404 NOT_FOUND "no such order"), so an order id, which every ticket code
 * carries, tells a stranger nothing and lets them do nothing. Staff
 * (gate) tokens open no order: they are for check-in only.
 *
 * Card attempts (a confirm with a card, a checkout that asks for the
 * intent) are counted per client address here, so anonymous clients cannot
 * make gateway calls faster than that limit allows.
 *
 * Workload: see src/order/order_internal.h. Handlers check what they can on
 * the loop (ids, credentials, bodies, the order's step flag, the client's
 * card attempts), then hand the step to the order domain, whose worker
 * answers through the request's async handle once the step is durable.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_internal.h"
#include "boxoffice/staff.h"
#include "boxoffice/ticket.h"
#include "util/time.h"
#include "util/text.h"

#define PAYMENT_METHOD_MAX BO_ORDER_PAYMENT_MAX

/* One order request, from its handler to its answer. */
typedef struct step {
    bo_api_t *api;
    bo_http_async_t *a;
    bo_idem_t idem;
    bo_order_request_t req;
    /* a waiting-room checkout: the pass's place, which leaves the active
     * shoppers once the checkout succeeded (queue.h bo_queue_shopped) */
    uint32_t shopper_place;
    bo_queue_config_t room;
} step_t;

static int card_attempt(bo_api_t *api, bo_http_req_t *r, uint64_t event);
static uint32_t limit_at(bo_api_t *api, uint64_t event, enum bo_limit which);

/* ---- answers ------------------------------------------------------------------- */

/* The step's answer (on a worker): the order (a Location with a 201), or
 * the refusal; then s is freed. */
static void step_done(void *arg, bo_order_answer_t *ans)
{
    step_t *s = arg;
    bo_api_t *api = s->api;
    /* order.h: a success (200, 201, 204 with the order) or a refusal */
    BO_ASSERT(s->a != NULL &&
              (ans->err < 0 || (ans->err == 0 && ans->order != 0 &&
                                (ans->status == 200 || ans->status == 201 || ans->status == 204))));
    if (ans->err == 0 && s->shopper_place) /* gone to pay: the next visitor is let in */
        bo_queue_shopped(api->queues, s->req.event, &s->room, s->shopper_place,
                         bo_live_now_ms(api->live));
    if (ans->err == BO_EORDERBUSY) {
        json_decref(ans->details);
        bo__idem_reply_busy(api, &s->idem, s->a);
    } else if (ans->err) {
        bo__idem_reply_error(api, &s->idem, s->a, ans->err, ans->message, ans->details);
    } else {
        char loc[sizeof("/api/v1/orders/") + BO_ID_ORDER_LEN];
        char id[BO_ID_ORDER_LEN + 1];
        bo_id_order(id, ans->order);
        snprintf(loc, sizeof(loc), "/api/v1/orders/%s", id);
        bo__idem_reply(api, &s->idem, s->a, ans->status, ans->body, ans->len,
                       ans->status == 201 ? loc : NULL, true);
    }
    free(s);
}

/* 409 ORDER_BUSY with Retry-After: another step of the order runs (the
 * key, if any, is ended without an answer: a retry runs). */
static int busy(bo_api_t *api, bo_http_req_t *r, bo_idem_t *idem)
{
    bo__idem_end(api, idem, 0, NULL, 0);
    bo_http_set_header(r, "Retry-After", "1");
    return bo_http_send_error(r, BO_EORDERBUSY, NULL, NULL);
}

/* The end of a step that will not run: its key, the step, s. */
static void step_drop(step_t *s, bo_order_step_t *st)
{
    bo__idem_end(s->api, &s->idem, 0, NULL, 0);
    bo_order_step_drop(st);
    free(s);
}

/* A step made (rc of bo_order_*step): a busy or failed one is answered. */
static int step_made(step_t *s, bo_http_req_t *r, int rc)
{
    BO_ASSERT(rc <= 0 && s->a == NULL); /* not started: nothing answers later */
    if (rc == BO_EORDERBUSY)
        busy(s->api, r, &s->idem);
    else if (rc)
        bo__idem_end(s->api, &s->idem, 0, NULL, 0);
    if (rc)
        free(s);
    return rc == BO_EORDERBUSY ? 0 : rc;
}

/* The async handle and the worker; on failure the request is answered. */
static int start(step_t *s, bo_order_step_t *st, bo_http_req_t *r)
{
    BO_ASSERT(s->a == NULL && st != NULL); /* one async answer per request */
    if (!(s->a = bo_http_async_begin(r))) {
        step_drop(s, st);
        return BO_ENOMEM;
    }
    int rc = bo_order_step_run(st, step_done, s);
    if (rc) {
        bo_http_send_error(r, rc, "too many payment steps in progress, retry", NULL);
        bo_http_async_finish(s->a, NULL, NULL);
        step_drop(s, st);
    }
    return 0;
}

static int no_gateway(bo_http_req_t *r)
{
    return bo_http_send_error(r, BO_EGATEWAY,
                              "no payment gateway is configured (boxoffice serve --payment)", NULL);
}

/* start(), when a gateway is configured (else 503, and the key ended). */
static int start_paying(step_t *s, bo_order_step_t *st, bo_http_req_t *r)
{
    if (bo_orders_paying(s->api->orders))
        return start(s, st, r);
    step_drop(s, st);
    return no_gateway(r);
}

/* ---- POST /api/v1/holds/{hold_id}/checkout ------------------------------------------ */

/* The optional {"customer":{"email","name"},"create_intent":bool}; 0 or
 * BO_EINVAL once answered. */
static int read_customer(bo_http_req_t *r, step_t *s)
{
    size_t len;
    json_t *body, *c, *v;
    bo_http_body(r, &len);
    if (len == 0)
        return 0;
    if (bo__api_json_body(r, &body))
        return BO_EINVAL;
    const char *field = NULL, *msg = NULL;
    c = json_object_get(body, "customer");
    if (c && !json_is_object(c) && !json_is_null(c)) {
        field = "customer", msg = "customer must be an object";
    } else if (c && (v = json_object_get(c, "email")) && !json_is_null(v)) {
        const char *e = json_string_value(v);
        if (!e || !bo_email_customer(e, json_string_length(v), NULL))
            field = "customer.email", msg = "customer.email must be an e-mail address";
        else
            snprintf(s->req.email, sizeof(s->req.email), "%s", e);
    }
    if (!field && (v = json_object_get(body, "create_intent")) && !json_is_null(v)) {
        if (!json_is_boolean(v))
            field = "create_intent", msg = "create_intent must be true or false";
        else
            s->req.create_intent = json_is_true(v);
    }
    if (!field && c && (v = json_object_get(c, "name")) && !json_is_null(v)) {
        const char *n = json_string_value(v);
        if (!n || json_string_length(v) > BO_ORDER_NAME_MAX ||
            !bo_text_ok(n, json_string_length(v), 0))
            field = "customer.name", msg = "customer.name must be a string of at most 200 bytes "
                                           "without control characters";
        else
            snprintf(s->req.name, sizeof(s->req.name), "%s", n);
    }
    json_decref(body);
    if (!field)
        return 0;
    bo_http_send_error(r, BO_EINVAL, msg, json_pack("{ss}", "field", field));
    return BO_EINVAL;
}

static int on_checkout(void *arg, bo_http_req_t *r)
{
    bo_api_t *api = arg;
    bo_order_step_t *st;
    step_t *s = calloc(1, sizeof(*s));
    if (!s)
        return BO_ENOMEM;
    s->api = api; /* the hold id is the buyer's capability */
    if (bo_id_parse_hold(bo_http_param(r, "hold_id"), &s->req.event, &s->req.hold)) {
        free(s);
        return bo_http_send_error(r, BO_ENOTFOUND, "no such hold", NULL);
    }
    bo_event_info_t info; /* a waiting-room event's checkout needs its pass */
    bool known = bo_catalog_event(api->catalog, s->req.event, &info) == 0;
    bo_limits_t lim;
    uint32_t place = 0;
    bo__limits_of(api, known ? &info : NULL, &lim);
    if (read_customer(r, s) || (known && bo__queue_require(api, r, &info, NULL, &place)) ||
        bo__limit_take(api, r, BO_LIMIT_CHECKOUTS_PER_MIN, 0, lim.v[BO_LIMIT_CHECKOUTS_PER_MIN]) ||
        bo__idem_begin(api, r, &s->idem)) {
        free(s);
        return 0;
    }
    s->shopper_place = place;
    if (place)
        s->room = info.waiting_room;
    int rc = bo_order_checkout_step(api->orders, &s->req, &st);
    if (rc)
        return step_made(s, r, rc);
    /* an intent asked for is a payment attempt: counted per client address */
    if (s->req.create_intent && bo_orders_paying(api->orders) &&
        card_attempt(api, r, s->req.event)) {
        step_drop(s, st);
        return 0;
    }
    return start_paying(s, st, r);
}

/* ---- who may act on an order ---------------------------------------------------------- */

/* Whether r carries o's secret (?secret=, body_secret from the JSON body
 * when not NULL, X-Order-Secret, Authorization: Bearer) or the admin token
 * (Bearer: then *admin). Every form given is checked, whatever o. */
static bool order_creds(bo_api_t *api, bo_http_req_t *r, const bo_order_t *o,
                        const char *body_secret, bool *admin)
{
    size_t len = 0;
    const char *v;
    bool ok = false;
    *admin = false;
    if ((v = bo_http_query(r, "secret", &len)))
        ok |= bo_order_secret_is(o, v, len);
    if (body_secret)
        ok |= bo_order_secret_is(o, body_secret, strlen(body_secret));
    if ((v = bo_http_header(r, "x-order-secret", &len)))
        ok |= bo_order_secret_is(o, v, len);
    if ((v = bo__api_bearer(r, &len))) {
        ok |= bo_order_secret_is(o, v, len);
        *admin = bo__api_is_admin(api, v, len);
    }
    return ok || *admin;
}

/* The answer to a request for an unknown order, and to one without the
 * order's credentials: the same bytes, so that ids cannot be probed. */
static int no_such_order(bo_http_req_t *r)
{
    return bo_http_send_error(r, BO_ENOTFOUND, "no such order", NULL);
}

/* The order of {id} when r has the right to it (order_creds); else
 * answers 404 and returns NULL. */
static bo_order_t *order_of(bo_api_t *api, bo_http_req_t *r, const char *body_secret, bool *admin)
{
    uint64_t id;
    bo_order_t *o = NULL;
    if (bo_id_parse_order(bo_http_param(r, "id"), &id) == 0)
        o = bo_order_find(api->orders, id);
    if (order_creds(api, r, o, body_secret, admin) && o)
        return o;
    if (o)
        bo_order_put(api->orders, o);
    no_such_order(r);
    return NULL;
}

static int on_order_get(void *arg, bo_http_req_t *r)
{
    bo_api_t *api = arg;
    bool admin;
    size_t len = 0;
    bo_order_t *o = order_of(api, r, NULL, &admin);
    if (!o)
        return 0;
    char *body = bo_order_read(api->orders, o, &len); /* never waits on a running step */
    bo_order_put(api->orders, o);
    if (!body)
        return BO_ENOMEM;
    bo_http_set_header(r, "Cache-Control", "no-store");
    return bo_http_send_buf(r, 200, "application/json", body, len);
}

/* ---- POST /api/v1/orders/{id}/confirm and /cancel ------------------------------------- */

/* A payment method as the gateway takes it, normalised in place: a
 * "pm_..." id, or a card number of 12..19 digits (spaces and dashes, as
 * people type them, dropped). */
static bool payment_method_ok(char *pm)
{
    size_t n = strlen(pm), k = 0;
    if (n == 0 || n > PAYMENT_METHOD_MAX)
        return false;
    if (strncmp(pm, "pm_", 3) == 0) {
        for (size_t i = 3; i < n; i++)
            if (!isalnum((unsigned char)pm[i]) && pm[i] != '_')
                return false;
        return n > 3;
    }
    for (size_t i = 0; i < n; i++) {
        if (isdigit((unsigned char)pm[i]))
            pm[k++] = pm[i];
        else if (pm[i] != ' ' && pm[i] != '-')
            return false;
    }
    pm[k] = '\0';
    return k >= 12 && k <= 19;
}

/* The optional JSON body of confirm and cancel: payment_method, secret. */
static int read_step_body(bo_http_req_t *r, step_t *s, char secret[BO_ORDER_SECRET_LEN + 2])
{
    size_t len;
    json_t *body, *v;
    bo_http_body(r, &len);
    if (len == 0)
        return 0;
    if (bo__api_json_body(r, &body))
        return BO_EINVAL;
    const char *field = NULL, *msg = NULL;
    if ((v = json_object_get(body, "payment_method")) && !json_is_null(v)) {
        const char *pm = json_string_value(v);
        if (pm && json_string_length(v) <= PAYMENT_METHOD_MAX)
            snprintf(s->req.payment_method, sizeof(s->req.payment_method), "%s", pm);
        if (!pm || json_string_length(v) > PAYMENT_METHOD_MAX ||
            !payment_method_ok(s->req.payment_method))
            field = "payment_method",
            msg = "payment_method must be a payment method id (pm_...) or a card number";
    }
    if (!field && (v = json_object_get(body, "secret")) && !json_is_null(v)) {
        const char *sec = json_string_value(v);
        if (!sec || json_string_length(v) > BO_ORDER_SECRET_LEN)
            field = "secret", msg = "secret must be the order's secret";
        else
            snprintf(secret, BO_ORDER_SECRET_LEN + 2, "%s", sec);
    }
    json_decref(body);
    if (!field)
        return 0;
    bo_http_send_error(r, BO_EINVAL, msg, json_pack("{ss}", "field", field));
    return BO_EINVAL;
}

/* A per-minute limit in force at event (the server's for an unknown one). */
static uint32_t limit_at(bo_api_t *api, uint64_t event, enum bo_limit which)
{
    bo_event_info_t info;
    bo_limits_t l;
    bo__limits_of(api, bo_catalog_event(api->catalog, event, &info) ? NULL : &info, &l);
    return l.v[which];
}

/* A card attempt of r's client at event: 0, or 429 RATE_LIMITED answered
 * with Retry-After (BO_ERATE; nothing taken). */
static int card_attempt(bo_api_t *api, bo_http_req_t *r, uint64_t event)
{
    return bo__limit_take(api, r, BO_LIMIT_CARD_ATTEMPTS_PER_MIN, 0,
                          limit_at(api, event, BO_LIMIT_CARD_ATTEMPTS_PER_MIN));
}

/* Confirm and cancel: read, authorise, one step at a time, a card attempt
 * counted, then the step. */
static int order_step(bo_api_t *api, bo_http_req_t *r, enum bo_order_step_kind kind)
{
    char secret[BO_ORDER_SECRET_LEN + 2] = "";
    bo_order_step_t *st;
    bo_order_t *o = NULL;
    step_t *s = calloc(1, sizeof(*s));
    if (!s)
        return BO_ENOMEM;
    s->api = api;
    if (read_step_body(r, s, secret) ||
        !(o = order_of(api, r, secret[0] ? secret : NULL, &s->req.admin)) ||
        bo__idem_begin(api, r, &s->idem)) {
        if (o)
            bo_order_put(api->orders, o);
        free(s);
        return 0;
    }
    uint64_t event = bo_order_event_of(o); /* o's pin goes to the step */
    int rc = bo_order_step(api->orders, o, kind, &s->req, &st);
    if (rc)
        return step_made(s, r, rc);
    if (s->req.payment_method[0] && bo_orders_paying(api->orders) && card_attempt(api, r, event)) {
        step_drop(s, st);
        return 0;
    }
    return start_paying(s, st, r);
}

static int on_confirm(void *arg, bo_http_req_t *r)
{
    return order_step(arg, r, BO_ORDER_STEP_CONFIRM);
}

static int on_cancel(void *arg, bo_http_req_t *r)
{
    return order_step(arg, r, BO_ORDER_STEP_CANCEL);
}

/* A hold checked out belongs to its order: the hold id alone (a capability
 * that may have leaked, with the page it was on) no longer ends a paying
 * buyer's checkout; the order's secret or the admin token does. */
int bo__orders_release_hold(bo_api_t *api, bo_http_req_t *r, uint64_t event,
                            const bo_hold_id_t *hold)
{
    bool admin;
    bo_order_step_t *st;
    bo_order_t *o = api->orders ? bo_order_pending_of_hold(api->orders, event, hold) : NULL;
    if (!o)
        return 0;
    if (!order_creds(api, r, o, NULL, &admin)) {
        bo_order_put(api->orders, o);
        bo_http_send_error(r, BO_ESTATE,
                           "this hold was checked out: cancel its order (POST "
                           "/api/v1/orders/{id}/cancel) with the order's secret",
                           json_pack("{ss}", "status", "checked_out"));
        return 1;
    }
    step_t *s = calloc(1, sizeof(*s));
    if (!s) {
        bo_order_put(api->orders, o);
        bo_http_send_error(r, BO_ENOMEM, NULL, NULL);
        return 1;
    }
    s->api = api;
    if (bo__idem_begin(api, r, &s->idem)) {
        bo_order_put(api->orders, o);
        free(s);
        return 1;
    }
    int rc = bo_order_step(api->orders, o, BO_ORDER_STEP_ABANDON, &s->req, &st);
    if (rc) {
        if (step_made(s, r, rc))
            bo_http_send_error(r, rc, NULL, NULL);
        return 1;
    }
    start(s, st, r);
    return 1;
}

/* ---- GET /api/v1/orders/{id}/tickets/{ticket_id}/qr.svg ------------------------------- */

static int on_qr(void *arg, bo_http_req_t *r)
{
    bo_api_t *api = arg;
    bool admin;
    uint64_t tid;
    bo_order_t *o = order_of(api, r, NULL, &admin);
    if (!o)
        return 0;
    char code[BO_TICKET_CODE_MAX];
    bool found = bo_id_parse_ticket(bo_http_param(r, "ticket_id"), &tid) == 0 &&
                 bo_order_ticket_code(api->orders, o, tid, code, sizeof(code)) == 0;
    bo_order_put(api->orders, o);
    if (!found)
        return bo_http_send_error(r, BO_ENOTFOUND, "no such ticket in this paid order", NULL);
    char *svg;
    size_t len;
    int rc = bo_ticket_qr_svg(code, strlen(code), &svg, &len);
    if (rc)
        return rc;
    bo_http_set_header(r, "Cache-Control", "private, max-age=86400");
    return bo_http_send_buf(r, 200, "image/svg+xml", svg, len);
}

/* ---- GET /api/v1/payments/config ----------------------------------------------------- */

/* What a browser needs to pay: which gateway, and for the simulator its
 * address (the card form confirms the intent there with the order's
 * client secret) and the test cards to show as a hint. */
static int on_payments_config(void *arg, bo_http_req_t *r)
{
    bo_api_t *api = arg;
    const char *colon = api->payment ? strchr(api->payment, ':') : NULL;
    const char *kind = bo_orders_gateway(api->orders);
    bool paying = bo_orders_paying(api->orders);
    json_t *j = json_pack("{sssb}", "gateway", kind, "enabled", paying);
    if (paying && colon && strcmp(kind, "sim") == 0) {
        json_object_set_new(j, "gateway_url", json_string(colon + 1));
        json_object_set_new(j, "test_cards",
                            json_pack("[{ssss}{ssss}{ssss}]", "number", "4242424242424242",
                                      "outcome", "succeeds", "number", "4000000000000002",
                                      "outcome", "declined", "number", "4000000000009995",
                                      "outcome", "insufficient funds"));
    }
    bo_http_set_header(r, "Cache-Control", "no-cache");
    return bo_http_send_json(r, 200, j);
}

/* ---- metrics ---------------------------------------------------------------------- */

/* boxoffice_orders{status} and the gateway adapter's counters. */
static void collect_orders(void *arg, bo_metrics_out_t *out)
{
    bo_api_t *api = arg;
    uint64_t by[BO_ORDER_NSTATUS] = {0};
    char labels[48];
    bo_orders_counts(api->orders, by);
    bo_metrics_family(out, "boxoffice_orders", "gauge", "Orders by status.");
    for (int i = 0; i < BO_ORDER_NSTATUS; i++) {
        snprintf(labels, sizeof(labels), "status=\"%s\"", bo_order_status_name(i));
        bo_metrics_sample(out, "boxoffice_orders", labels, (double)by[i]);
    }
    bo_metrics_family(out, "boxoffice_orders_in_memory", "gauge",
                      "Orders in memory: the unsettled ones and those in use.");
    bo_metrics_sample(out, "boxoffice_orders_in_memory", NULL,
                      (double)bo_orders_in_memory(api->orders));
    bo_pay_stats_t st;
    if (!bo_orders_gateway_stats(api->orders, &st))
        return;
    static const struct {
        const char *name, *help;
        size_t off;
    } counters[] = {
        {"boxoffice_gateway_calls_total", "Payment gateway calls.",
         offsetof(bo_pay_stats_t, calls)},
        {"boxoffice_gateway_requests_total", "HTTP requests to the gateway (retries included).",
         offsetof(bo_pay_stats_t, requests)},
        {"boxoffice_gateway_retries_total", "Gateway requests that were retries.",
         offsetof(bo_pay_stats_t, retries)},
        {"boxoffice_gateway_declines_total", "Gateway calls answered with a card decline.",
         offsetof(bo_pay_stats_t, declines)},
        {"boxoffice_gateway_failures_total", "Gateway calls with no usable answer.",
         offsetof(bo_pay_stats_t, failures)},
    };
    for (size_t i = 0; i < sizeof(counters) / sizeof(counters[0]); i++) {
        bo_metrics_family(out, counters[i].name, "counter", counters[i].help);
        bo_metrics_sample(out, counters[i].name, NULL,
                          (double)*(const uint64_t *)((const char *)&st + counters[i].off));
    }
}

/* The reconciler's figures, while it runs. */
static void collect_reconcile(void *arg, bo_metrics_out_t *out)
{
    bo_api_t *api = arg;
    bo_order_reconcile_stats_t st;
    if (!bo_orders_reconcile_stats(api->orders, &st))
        return;
    const struct {
        const char *name, *type, *help;
        uint64_t v;
    } m[] = {
        {"boxoffice_reconcile_gateway_calls_total", "counter",
         "HTTP requests the reconciler sent to the payment gateway (retries included).", st.calls},
        {"boxoffice_reconcile_budget_exhausted_total", "counter",
         "Reconciler scans that found more orders due than its gateway budget allowed.",
         st.exhausted},
        {"boxoffice_reconcile_backlog", "gauge",
         "Orders due for a gateway request that the last reconciler scan left for later.",
         st.backlog},
    };
    for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
        bo_metrics_family(out, m[i].name, m[i].type, m[i].help);
        bo_metrics_sample(out, m[i].name, NULL, (double)m[i].v);
    }
    bo_metrics_family(out, "boxoffice_reconcile_budget_requests_per_second", "gauge",
                      "Gateway requests a second the reconciler may send "
                      "(--reconcile-budget-per-s).");
    bo_metrics_sample(out, "boxoffice_reconcile_budget_requests_per_second", NULL,
                      (double)st.budget_per_s);
}

/* ---- wiring ---------------------------------------------------------------------- */

/* What the order domain asks of the catalog. */
static int event_info(void *arg, uint64_t event, bo_order_event_t *out)
{
    bo_event_info_t info;
    int rc = bo_catalog_event(((bo_api_t *)arg)->catalog, event, &info);
    if (rc)
        return rc;
    out->venue = info.venue;
    snprintf(out->name, sizeof(out->name), "%s", info.name);
    memcpy(out->currency, info.currency, sizeof(out->currency));
    out->refund_deadline_ms = bo_catalog_refund_deadline_ms(&info);
    return 0;
}

/* The documents that are not the orders': the queue's, then staff tokens. */
static int other_doc(void *arg, const char *coll, const char *id, const char *body, size_t len)
{
    bo_api_t *api = arg;
    int rc = bo_queues_load_doc(api->queues, coll, id, body, len);
    return rc == 1 ? bo_staff_load(api->staff, coll, id, body, len) : rc;
}

static void orders_stop(void *arg)
{
    bo_api_t *api = arg;
    bo_orders_stop(api->orders);
}

static void orders_free(void *arg)
{
    bo_api_t *api = arg;
    bo_orders_free(api->orders);
    api->orders = NULL;
}

int bo__orders_register(bo_api_t *api)
{
    int rc;
    const char *kind = !api->pay                                  ? "none"
                       : strncmp(api->payment, "stripe:", 7) == 0 ? "stripe"
                                                                  : "sim";
    bo_orders_config_t cfg = {.live = api->live,
                              .clock = bo_live_clock(api->live),
                              .pay = api->pay,
                              .gateway = kind,
                              .reconcile_ms = api->reconcile_ms,
                              .reconcile_budget_per_s = api->reconcile_budget_per_s,
                              .event_info = event_info,
                              .event_arg = api,
                              .other_doc = other_doc,
                              .other_arg = api};
    api->pay = NULL; /* the orders' now */
    if ((rc = bo_server_at_free(api->srv, orders_free, api)) ||
        (rc = bo_server_at_stop(api->srv, orders_stop, api)) ||
        (rc = bo_orders_open(&cfg, &api->orders)))
        return rc;
    uint8_t key[BO_API_CLIENT_KEY_BYTES];
    if ((rc = bo_orders_derive_key(api->orders, "boxoffice client address key v1", key,
                                   sizeof(key))))
        return rc;
    bo__limit_keyed(api, key);
    bo_server_t *srv = api->srv;
    if ((rc = bo_server_route(srv, "POST", "/api/v1/holds/{hold_id}/checkout", on_checkout, api)) ||
        (rc = bo_server_route(srv, "GET", "/api/v1/orders/{id}", on_order_get, api)) ||
        (rc = bo_server_route(srv, "GET", "/api/v1/payments/config", on_payments_config, api)) ||
        (rc = bo_server_route(srv, "POST", "/api/v1/orders/{id}/confirm", on_confirm, api)) ||
        (rc = bo_server_route(srv, "POST", "/api/v1/orders/{id}/cancel", on_cancel, api)) ||
        (rc = bo_server_route(srv, "GET", "/api/v1/orders/{id}/tickets/{ticket_id}/qr.svg", on_qr,
                              api)))
        return rc;
    if ((rc = bo_metrics_add_collector(bo_server_metrics(srv), collect_orders, api)) ||
        (rc = bo_metrics_add_collector(bo_server_metrics(srv), collect_reconcile, api)))
        return rc;
    return 0;
}
