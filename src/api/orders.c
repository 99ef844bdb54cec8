/*
 * orders.c - checkout and orders (docs/openapi.yaml "Orders"):
 *   POST /api/v1/holds/{hold_id}/checkout     hold -> order (+ payment intent if asked)
 *   POST /api/v1/orders/{id}/confirm          ask the gateway, settle
 *   GET  /api/v1/orders/{id}?secret=          the order and its tickets
 *   POST /api/v1/orders/{id}/cancel           release or refund by policy
 *   GET  /api/v1/orders/{id}/tickets/{ticket_id}/qr.svg?secret=
 * and the wiring of the payment half: the gateway adapter, the worker
 * threads, the ticket keys, the orders recovered from the store.
 *
 * Who may act on an order: whoever shows its secret (?secret=, the JSON
 * body's "secret", X-Order-Secret, or Authorization: Bearer) or the admin
 * token (Bearer). Anyone else gets the very answer an unknown order gets
 * (404 NOT_FOUND "no such order"), so an order id, which every ticket code
 * carries, tells a stranger nothing and lets them do nothing. Staff
 * (gate) tokens open no order: they are for check-in only.
 *
 * The gateway's intent is made at the order's first payment attempt: a
 * confirm with a card, or a checkout that asks for it ("create_intent",
 * for a browser that confirms at the gateway with the client secret).
 * Either takes a card attempt of the client address, so anonymous clients
 * cannot make gateway calls faster than that limit allows: a checkout that
 * is abandoned before paying never reaches the gateway, then or later (the
 * reconciler asks nothing about an order without an intent).
 *
 * Workload: see order.h. Handlers check what they can on the loop (ids,
 * credentials, bodies, the order's step flag, the client's card attempts),
 * then hand the step to a payment worker, which answers through the
 * request's async handle once the step is durable.
 */
#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "api/order.h"
#include "util/secret_file.h"
#include "util/time.h"
#include "util/text.h"

#define PAYMENT_METHOD_MAX      64
#define CARD_ATTEMPTS_PERIOD_MS 60000 /* --card-attempts-per-minute */

/* One order request, from its handler to its answer on a worker. */
typedef struct step {
    bo_api_t *api;
    bo_http_async_t *a;
    bo_idem_t idem;
    bo_order_t *order; /* confirm, cancel; checkout: the hold's order when it had one */
    bool flagged;      /* the step holds order's step flag (bo__order_step_try) */
    uint64_t event;    /* checkout */
    bo_hold_id_t hold;
    char email[BO_EMAIL_MAX + 1];
    char name[BO_ORDER_NAME_MAX + 1];
    char payment_method[PAYMENT_METHOD_MAX + 1];
    bool admin;              /* the admin token came with the request */
    bool create_intent;      /* checkout: make the gateway intent now */
    bool declined;           /* confirm: the gateway declined this attempt */
    bo_pay_intent_t attempt; /* its answer */
} step_t;

static int card_attempt(bo_api_t *api, bo_http_req_t *r);

/* ---- answers ------------------------------------------------------------------- */

/* As a step answers (its order locked; nothing slow left before its
 * unlock): the order's flag is given back first, so that the client's next
 * step, sent as soon as it reads this answer, finds the order free; and
 * readers see the outcome, not the state before the step. */
static void step_release(step_t *s)
{
    if (!s->flagged)
        return;
    bo__order_unpublish(s->order);
    bo__order_step_done(s->order);
    s->flagged = false;
}

static void reply_order(step_t *s, bo_order_t *o, int status, bool durable)
{
    size_t len = 0;
    char *body = bo__order_render(s->api, o, true, &len);
    step_release(s);
    char loc[sizeof("/api/v1/orders/") + BO_ID_ORDER_LEN];
    char id[BO_ID_ORDER_LEN + 1];
    bo_id_order(id, o->id);
    snprintf(loc, sizeof(loc), "/api/v1/orders/%s", id);
    if (!body) {
        bo__idem_reply_error(s->api, &s->idem, s->a, BO_ENOMEM, NULL, NULL);
        return;
    }
    bo__idem_reply(s->api, &s->idem, s->a, status, body, len, status == 201 ? loc : NULL, durable);
}

static void reply_error(step_t *s, int err, const char *message, json_t *details)
{
    step_release(s);
    bo__idem_reply_error(s->api, &s->idem, s->a, err, message, details);
}

static json_t *order_ref(const bo_order_t *o)
{
    char id[BO_ID_ORDER_LEN + 1];
    bo_id_order(id, o->id);
    return json_pack("{ssss}", "order_id", id, "status", bo__order_status_name(o->status));
}

/* The end of a step that did not run: its key and its order's flag. */
static void step_drop(step_t *s)
{
    bo__idem_end(s->api, &s->idem, 0, NULL, 0);
    if (s->flagged)
        bo__order_step_done(s->order);
    if (s->order)
        bo__order_put(s->api, s->order);
    free(s);
}

/* The end of a step that ran (its answer given): the flag, then s. */
static void step_end(step_t *s)
{
    if (s->flagged)
        bo__order_step_done(s->order);
    if (s->order)
        bo__order_put(s->api, s->order);
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

/* Take s->order's step flag for s; else answer 409 ORDER_BUSY, free s and
 * return BO_EORDERBUSY. */
static int step_flag(step_t *s, bo_http_req_t *r)
{
    if (bo__order_step_try(s->order)) {
        s->flagged = true;
        return 0;
    }
    busy(s->api, r, &s->idem);
    bo__order_put(s->api, s->order);
    free(s);
    return BO_EORDERBUSY;
}

/* The async handle and the worker; on failure the request is answered. */
static int start(step_t *s, bo_http_req_t *r, void (*fn)(void *))
{
    if (!(s->a = bo_http_async_begin(r))) {
        step_drop(s);
        return BO_ENOMEM;
    }
    int rc = bo__job(s->api, BO_POOL_PAY, fn, s);
    if (rc) {
        bo_http_send_error(r, rc, "too many payment steps in progress, retry", NULL);
        bo_http_async_finish(s->a, NULL, NULL);
        step_drop(s);
    }
    return 0;
}

/* ---- POST /api/v1/holds/{hold_id}/checkout ------------------------------------------ */

typedef struct hold_copy {
    bo_hold_view_t v;
    uint32_t seats[BO_HOLD_MAX_SEATS];
    bo_ga_line_t ga[BO_HOLD_MAX_GA];
    const bo_hold_id_t *id;
} hold_copy_t;

static int read_hold(void *arg, const bo_inv_t *inv, int64_t now_ms)
{
    hold_copy_t *h = arg;
    if (bo_inv_get_hold(inv, h->id, now_ms, &h->v) || h->v.status == BO_HOLD_NONE)
        return BO_ENOTFOUND;
    if (h->v.nseats > BO_HOLD_MAX_SEATS || h->v.nga > BO_HOLD_MAX_GA)
        return BO_ECORRUPT;
    memcpy(h->seats, h->v.seats, h->v.nseats * sizeof(uint32_t));
    memcpy(h->ga, h->v.ga, h->v.nga * sizeof(bo_ga_line_t));
    h->v.seats = h->seats;
    h->v.ga = h->ga;
    return 0;
}

static void secret_new(char out[BO_ORDER_SECRET_LEN + 1])
{
    uint8_t b[BO_ORDER_SECRET_LEN / 2];
    randombytes_buf(b, sizeof(b));
    sodium_bin2hex(out, BO_ORDER_SECRET_LEN + 1, b, sizeof(b));
}

/* A new order for the hold in s (HELD), or the hold's refusal. */
static int order_new(step_t *s, bo_order_t **out)
{
    bo_event_info_t info;
    hold_copy_t h = {.id = &s->hold};
    char hold_id[BO_ID_HOLD_LEN + 1];
    int rc = bo__catalog_event(s->api, s->event, &info);
    if (rc == 0)
        rc = bo_live_read(s->api->live, s->event, read_hold, &h);
    if (rc)
        return rc;
    if (h.v.status != BO_HOLD_HELD)
        return BO_ESTATE;
    bo_order_t *o = calloc(1, sizeof(*o));
    if (!o)
        return BO_ENOMEM;
    bo__order_init(o);
    o->step = 1; /* this checkout's step, from before the order is seen */
    bo_id_hold(hold_id, s->event, &s->hold);
    o->id = bo_id_from_key("order", hold_id);
    o->event = s->event;
    o->hold = s->hold;
    secret_new(o->secret);
    bo__order_set_status(o, BO_ORDER_PENDING);
    o->amount_cents = h.v.amount_cents;
    memcpy(o->currency, info.currency, sizeof(o->currency));
    o->currency[3] = '\0';
    snprintf(o->email, sizeof(o->email), "%s", s->email);
    snprintf(o->name, sizeof(o->name), "%s", s->name);
    o->customer = h.v.customer;
    o->nseats = h.v.nseats;
    memcpy(o->seats, h.seats, o->nseats * sizeof(uint32_t));
    o->nga = h.v.nga;
    memcpy(o->ga, h.ga, o->nga * sizeof(bo_ga_line_t));
    o->created_ms = o->updated_ms = bo__api_now_ms();
    o->deadline_ms = o->created_ms + BO_ORDER_PAY_WINDOW_MS;
    *out = o;
    return 0;
}

/* PAYING with the order's document, in one commit (order locked, new). */
static int order_open(bo_api_t *api, bo_order_t *o)
{
    return bo__order_save_with(api, o, BO_MUT_PAY_START, NULL, o->deadline_ms, NULL);
}

/* Ask the gateway for the order's intent (order locked), keyed by the
 * order id: asking again after a lost answer gives the same intent. */
static int create_intent(bo_api_t *api, bo_order_t *o)
{
    char id[BO_ID_ORDER_LEN + 1], desc[BO_API_NAME_MAX + 64];
    bo_event_info_t info;
    bo_pay_intent_t pi;
    bo_id_order(id, o->id);
    snprintf(desc, sizeof(desc), "boxoffice %s", id);
    if (bo__catalog_event(api, o->event, &info) == 0)
        snprintf(desc, sizeof(desc), "%s (%s)", info.name, id);
    int rc = bo_pay_create_intent(api->pay, id, o->amount_cents, o->currency, id, desc, &pi);
    if (rc)
        return rc == BO_EDECLINED ? BO_EGATEWAY : rc;
    snprintf(o->intent_id, sizeof(o->intent_id), "%s", pi.id);
    snprintf(o->client_secret, sizeof(o->client_secret), "%s", pi.client_secret);
    return 0;
}

/* The intent of a pending order that has none yet (its first payment
 * attempt, or a checkout again that asks for it), made and saved once
 * (order locked). */
static int ensure_intent(bo_api_t *api, bo_order_t *o)
{
    if (o->intent_id[0])
        return 0;
    int rc = create_intent(api, o);
    if (rc)
        return rc;
    if ((rc = bo__order_save(api, o, NULL)) == 0)
        rc = bo__order_index_intent(api, o);
    if (rc)
        o->intent_id[0] = o->client_secret[0] = '\0'; /* the same intent comes back next time */
    return rc;
}

/* The checkout of a new order (locked): when asked, its intent from the
 * gateway first; then PAYING and the order (with the intent, if any) in one
 * commit. A crash between the two leaves an intent nobody can pay (its
 * client secret was never given out); a retry finds it again by its
 * idempotency key. Without create_intent no gateway call is made: the first
 * payment attempt makes the intent (confirm_job). Answers the request. */
static void checkout_open(step_t *s, bo_order_t *o, int created_status)
{
    int rc = o->intent_id[0] || !s->create_intent ? 0 : create_intent(s->api, o);
    if (rc) {
        bo__order_set_status(o, BO_ORDER_EXPIRED); /* not durable: a retry starts over */
        reply_error(s, rc, "the payment gateway did not answer: retry the checkout", NULL);
        return;
    }
    if ((rc = order_open(s->api, o))) {
        /* the hold went meanwhile (or the store failed): nothing is durable,
         * and a retry of this checkout tries again */
        bo__order_set_status(o, BO_ORDER_EXPIRED);
        o->closed_ms = bo__api_now_ms();
        reply_error(s, rc == BO_ENOTFOUND || rc == BO_ESTATE ? BO_EEXPIRED : rc,
                    rc == BO_ENOTFOUND || rc == BO_ESTATE ? "the hold has expired or was released"
                                                          : NULL,
                    NULL);
        return;
    }
    o->opened = true;
    if (bo__order_index_intent(s->api, o))
        reply_error(s, BO_ENOMEM, NULL, order_ref(o));
    else
        reply_order(s, o, created_status, true);
}

/* A checkout of a hold whose order exists (s holds its flag). */
static void checkout_existing(step_t *s, bo_order_t *o)
{
    bo__order_lock(s->api, o);
    if (!o->opened) {
        /* an earlier checkout of this hold failed before its commit */
        bo__order_set_status(o, BO_ORDER_PENDING);
        o->closed_ms = 0;
        o->deadline_ms = bo__api_now_ms() + BO_ORDER_PAY_WINDOW_MS;
        checkout_open(s, o, 201);
    } else if (o->status != BO_ORDER_PENDING) {
        reply_error(s, BO_ESTATE, "this hold was checked out already", order_ref(o));
    } else {
        int rc = s->create_intent ? ensure_intent(s->api, o) : 0;
        if (rc)
            reply_error(s, rc, NULL, order_ref(o));
        else
            reply_order(s, o, 200, true);
    }
    bo__order_unlock(o);
}

static void checkout_job(void *arg)
{
    step_t *s = arg;
    bo_api_t *api = s->api;
    bo_order_t *o = NULL, *existing = NULL;
    int rc;
    if (s->order) { /* found on the loop, its flag taken there */
        checkout_existing(s, s->order);
        goto out;
    }
    if ((rc = order_new(s, &o))) {
        if (rc == BO_ENOTFOUND)
            reply_error(s, BO_EEXPIRED, "the hold has expired or was released", NULL);
        else if (rc == BO_ESTATE)
            reply_error(s, BO_ESTATE, "the hold is not open for checkout", NULL);
        else
            reply_error(s, rc, NULL, NULL);
        goto out;
    }
    if (bo__order_add(api, o, &existing)) {
        pthread_mutex_destroy(&o->mu);
        pthread_mutex_destroy(&o->shown_mu);
        free(o);
        if (!existing) {
            reply_error(s, BO_ENOMEM, NULL, NULL);
        } else if (bo__order_step_try(existing)) { /* made meanwhile by another checkout */
            s->order = existing;
            s->flagged = true;
            checkout_existing(s, existing);
        } else {
            bo__order_put(api, existing);
            bo__idem_reply_busy(api, &s->idem, s->a);
        }
        goto out;
    }
    s->order = o;
    s->flagged = true; /* taken by order_new */
    bo__order_lock(api, o);
    checkout_open(s, o, 201);
    bo__order_unlock(o);
out:
    step_end(s);
}

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
        if (!e || !bo__email_customer(e, json_string_length(v), NULL))
            field = "customer.email", msg = "customer.email must be an e-mail address";
        else
            snprintf(s->email, sizeof(s->email), "%s", e);
    }
    if (!field && (v = json_object_get(body, "create_intent")) && !json_is_null(v)) {
        if (!json_is_boolean(v))
            field = "create_intent", msg = "create_intent must be true or false";
        else
            s->create_intent = json_is_true(v);
    }
    if (!field && c && (v = json_object_get(c, "name")) && !json_is_null(v)) {
        const char *n = json_string_value(v);
        if (!n || json_string_length(v) > BO_ORDER_NAME_MAX ||
            !bo_text_ok(n, json_string_length(v), 0))
            field = "customer.name", msg = "customer.name must be a string of at most 200 bytes "
                                           "without control characters";
        else
            snprintf(s->name, sizeof(s->name), "%s", n);
    }
    json_decref(body);
    if (!field)
        return 0;
    bo_http_send_error(r, BO_EINVAL, msg, json_pack("{ss}", "field", field));
    return BO_EINVAL;
}

static int no_gateway(bo_http_req_t *r)
{
    return bo_http_send_error(r, BO_EGATEWAY,
                              "no payment gateway is configured (boxoffice serve --payment)", NULL);
}

/* start(), when a gateway is configured (else 503, and the key ended). */
static int start_paying(step_t *s, bo_http_req_t *r, void (*fn)(void *))
{
    if (s->api->pay)
        return start(s, r, fn);
    step_drop(s);
    return no_gateway(r);
}

static int on_checkout(void *arg, bo_http_req_t *r)
{
    bo_api_t *api = arg;
    step_t *s = calloc(1, sizeof(*s));
    if (!s)
        return BO_ENOMEM;
    s->api = api; /* the hold id is the buyer's capability */
    if (bo_id_parse_hold(bo_http_param(r, "hold_id"), &s->event, &s->hold)) {
        free(s);
        return bo_http_send_error(r, BO_ENOTFOUND, "no such hold", NULL);
    }
    if (read_customer(r, s) || bo__idem_begin(api, r, &s->idem)) {
        free(s);
        return 0;
    }
    /* a checkout again (a retry, a lost answer): one step at a time */
    if (api->pay && (s->order = bo__order_by_hold(api, s->event, &s->hold, true)) &&
        step_flag(s, r))
        return 0;
    /* an intent asked for is a payment attempt: counted per client address */
    if (s->create_intent && api->pay && card_attempt(api, r)) {
        step_drop(s);
        return 0;
    }
    return start_paying(s, r, checkout_job);
}

/* ---- who may act on an order ---------------------------------------------------------- */

/* Whether candidate (len bytes) is o's secret: one constant-time
 * comparison of BO_ORDER_SECRET_LEN bytes whatever o (NULL: an unknown
 * order, compared with a dummy) and whatever the candidate's length, so
 * that neither an order's existence nor its secret leaks through timing. */
static bool secret_is(const bo_order_t *o, const char *candidate, size_t len)
{
    static const char dummy[BO_ORDER_SECRET_LEN + 1] = "00000000000000000000000000000000";
    char got[BO_ORDER_SECRET_LEN] = {0};
    memcpy(got, candidate, len < sizeof(got) ? len : sizeof(got));
    bool same = sodium_memcmp(got, o ? o->secret : dummy, BO_ORDER_SECRET_LEN) == 0;
    return o && same && len == BO_ORDER_SECRET_LEN;
}

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
        ok |= secret_is(o, v, len);
    if (body_secret)
        ok |= secret_is(o, body_secret, strlen(body_secret));
    if ((v = bo_http_header(r, "x-order-secret", &len)))
        ok |= secret_is(o, v, len);
    if ((v = bo__api_bearer(r, &len))) {
        ok |= secret_is(o, v, len);
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
        o = bo__order_find(api, id);
    if (order_creds(api, r, o, body_secret, admin) && o)
        return o;
    if (o)
        bo__order_put(api, o);
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
    char *body = bo__order_read(api, o, &len); /* never waits on a running step */
    bo__order_put(api, o);
    if (!body)
        return BO_ENOMEM;
    bo_http_set_header(r, "Cache-Control", "no-store");
    return bo_http_send_buf(r, 200, "application/json", body, len);
}

/* ---- POST /api/v1/orders/{id}/confirm ------------------------------------------------- */

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

/* A new payment attempt: the hold back to PAYING (after a decline it is
 * HELD with its remaining time), then the gateway confirms the card. */
static int pay_attempt(step_t *s, bo_order_t *o)
{
    char key[BO_ID_ORDER_LEN + 96], id[BO_ID_ORDER_LEN + 1];
    uint8_t h[8];
    int64_t deadline = o->deadline_ms;
    o->deadline_ms = bo__api_now_ms() + BO_ORDER_PAY_WINDOW_MS;
    int rc = bo__order_save_with(s->api, o, BO_MUT_PAY_START, NULL, o->deadline_ms, NULL);
    if (rc)
        o->deadline_ms = deadline;
    if (rc && rc != BO_ESTATE) /* ESTATE: PAYING already */
        return rc;
    /* one key per attempt: a retry after a lost answer is the same attempt */
    crypto_generichash(h, sizeof(h), (const uint8_t *)s->payment_method, strlen(s->payment_method),
                       NULL, 0);
    bo_id_order(id, o->id);
    snprintf(key, sizeof(key), "%s:confirm:%u:%02x%02x%02x%02x%02x%02x%02x%02x", id, o->failures,
             h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7]);
    rc = bo_pay_confirm(s->api->pay, o->intent_id, s->payment_method, key, &s->attempt);
    if (rc == BO_EDECLINED)
        s->declined = true;
    return rc == BO_EDECLINED || rc == BO_ESTATE ? 0 : rc; /* the retrieve tells */
}

static void confirm_answer(step_t *s, bo_order_t *o, uint32_t failures_before)
{
    if (o->failures > failures_before &&
        (o->status == BO_ORDER_PENDING || o->status == BO_ORDER_FAILED ||
         o->status == BO_ORDER_EXPIRED)) {
        json_t *d = json_pack(
            "{sssssssIsb}", "status", bo__order_status_name(o->status), "decline_code",
            o->last_error_decline[0] ? o->last_error_decline : o->last_error_code, "message",
            o->last_error_message, "attempts_left",
            (json_int_t)(o->status != BO_ORDER_PENDING || o->failures >= BO_PAY_MAX_FAILURES
                             ? 0
                             : BO_PAY_MAX_FAILURES - o->failures),
            "hold_released", o->status != BO_ORDER_PENDING);
        char id[BO_ID_ORDER_LEN + 1];
        bo_id_order(id, o->id);
        json_object_set_new(d, "order_id", json_string(id));
        reply_error(s, BO_EDECLINED,
                    o->last_error_message[0] ? o->last_error_message : "the card was declined", d);
        return;
    }
    if (s->declined && o->status == BO_ORDER_PENDING) {
        /* refused before it became a payment attempt (a mistyped number):
         * nothing counted, the buyer corrects it */
        const bo_pay_intent_t *a = &s->attempt;
        reply_error(s, BO_EDECLINED, a->last_error_message[0] ? a->last_error_message : NULL,
                    json_pack("{sssssssI}", "status", bo__order_status_name(o->status),
                              "decline_code",
                              a->last_error_decline[0] ? a->last_error_decline : a->last_error_code,
                              "message", a->last_error_message, "attempts_left",
                              (json_int_t)(BO_PAY_MAX_FAILURES - o->failures)));
        return;
    }
    if (o->status == BO_ORDER_EXPIRED && !o->intent_id[0])
        reply_error(s, BO_EEXPIRED, "the checkout expired", order_ref(o));
    else
        reply_order(s, o, 200, true);
}

/* Settle by what the gateway answered: a confirm that succeeded answers
 * with the intent itself (our own call, not a payload someone sent), so
 * only another outcome is asked again. */
static int settle_attempt(step_t *s, bo_order_t *o)
{
    const bo_pay_intent_t *a = &s->attempt;
    if (s->payment_method[0] && !s->declined && a->id[0] && strcmp(a->id, o->intent_id) == 0 &&
        strcmp(a->status, "succeeded") == 0)
        return bo__settle(s->api, o, a);
    return bo__settle_fetch(s->api, o);
}

static void confirm_job(void *arg)
{
    step_t *s = arg;
    bo_order_t *o = s->order;
    bo__order_lock(s->api, o);
    uint32_t failures = o->failures;
    int rc = 0;
    if (s->payment_method[0] && o->status != BO_ORDER_PENDING) {
        if (o->status == BO_ORDER_PAID)
            reply_order(s, o, 200, true);
        else
            reply_error(s, o->status == BO_ORDER_EXPIRED ? BO_EEXPIRED : BO_ESTATE,
                        "this order takes no more payments", order_ref(o));
        goto out;
    }
    if (s->payment_method[0] && !o->intent_id[0])
        rc = ensure_intent(s->api, o);
    if (rc == 0 && s->payment_method[0])
        rc = pay_attempt(s, o);
    if (rc == BO_ENOTFOUND) {
        /* the hold is gone: unless money came, the checkout is over */
        if ((rc = bo__settle_fetch(s->api, o)) == 0 && o->status == BO_ORDER_PENDING)
            rc = bo__order_abandon(s->api, o, BO_ORDER_EXPIRED);
        if (rc == 0 && o->status == BO_ORDER_EXPIRED) {
            reply_error(s, BO_EEXPIRED, "the hold expired before the payment", order_ref(o));
            goto out;
        }
    }
    if (rc == 0)
        rc = settle_attempt(s, o);
    if (rc)
        reply_error(s, rc, NULL, order_ref(o));
    else
        confirm_answer(s, o, failures);
out:
    bo__order_unlock(o);
    step_end(s);
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
            snprintf(s->payment_method, sizeof(s->payment_method), "%s", pm);
        if (!pm || json_string_length(v) > PAYMENT_METHOD_MAX ||
            !payment_method_ok(s->payment_method))
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

/* A card attempt of r's client: 0, or 429 RATE_LIMITED answered with
 * Retry-After (BO_ERATE; nothing taken). */
static int card_attempt(bo_api_t *api, bo_http_req_t *r)
{
    if (!api->card_attempts)
        return 0;
    const char *client = bo_http_client_addr(r, &api->trusted_proxies);
    int64_t wait_ms = bo__rate_take(api->card_attempts, client, strlen(client), bo__api_now_ms());
    if (wait_ms == 0)
        return 0;
    char after[24];
    snprintf(after, sizeof(after), "%lld", (long long)((wait_ms + 999) / 1000));
    bo_http_set_header(r, "Retry-After", after);
    bo_http_send_error(r, BO_ERATE, "too many card attempts from this address: retry later",
                       json_pack("{sIsI}", "limit_per_minute",
                                 (json_int_t)api->card_attempts_per_min, "retry_after_s",
                                 (json_int_t)((wait_ms + 999) / 1000)));
    return BO_ERATE;
}

/* Confirm and cancel: read, authorise, one step at a time, a card attempt
 * counted, then the job. */
static int order_step(bo_api_t *api, bo_http_req_t *r, void (*fn)(void *))
{
    char secret[BO_ORDER_SECRET_LEN + 2] = "";
    step_t *s = calloc(1, sizeof(*s));
    if (!s)
        return BO_ENOMEM;
    s->api = api;
    if (read_step_body(r, s, secret) ||
        !(s->order = order_of(api, r, secret[0] ? secret : NULL, &s->admin)) ||
        bo__idem_begin(api, r, &s->idem)) {
        if (s->order)
            bo__order_put(api, s->order);
        free(s);
        return 0;
    }
    if (step_flag(s, r))
        return 0;
    if (s->payment_method[0] && api->pay && card_attempt(api, r)) {
        step_drop(s);
        return 0;
    }
    return start_paying(s, r, fn);
}

static int on_confirm(void *arg, bo_http_req_t *r)
{
    return order_step(arg, r, confirm_job);
}

/* ---- POST /api/v1/orders/{id}/cancel ------------------------------------------------ */

static int64_t buyer_deadline_ms(bo_api_t *api, uint64_t event)
{
    bo_event_info_t info;
    return bo__catalog_event(api, event, &info) == 0 ? bo__refund_deadline_ms(&info) : 0;
}

static void cancel_job(void *arg)
{
    step_t *s = arg;
    bo_order_t *o = s->order;
    int rc = 0;
    bo__order_lock(s->api, o);
    if (o->status == BO_ORDER_PENDING) {
        rc = bo__order_abandon(s->api, o, BO_ORDER_CANCELED);
        if (rc == 0 && o->status == BO_ORDER_PAID && !s->admin) {
            reply_order(s, o, 200, true); /* it was paid meanwhile: now a paid order */
            goto out;
        }
    }
    if (rc == 0 && o->status == BO_ORDER_PAID) {
        int64_t deadline = buyer_deadline_ms(s->api, o->event);
        bool used = false;
        for (uint32_t i = 0; i < o->ntickets; i++)
            used |= o->tickets[i].checked_in_ms != 0;
        if (!s->admin && used) {
            reply_error(s, BO_ESTATE, "a ticket of this order was used at the gate",
                        json_pack("{ss}", "status", "paid"));
            goto out;
        }
        if (!s->admin && bo__api_now_ms() > deadline) {
            char when[BO_RFC3339_SIZE];
            bo_time_format(deadline, when);
            reply_error(s, BO_ESTATE, "the buyer's cancellation deadline has passed",
                        json_pack("{ssss}", "status", "paid", "refund_deadline", when));
            goto out;
        }
        rc = bo__order_refund(s->api, o, s->admin ? "admin" : "requested_by_customer");
        if (rc == BO_EGATEWAY && o->status == BO_ORDER_REFUND_PENDING)
            rc = 0; /* seats released; the reconciler finishes the refund */
    } else if (rc == 0 && o->status == BO_ORDER_REFUND_PENDING) {
        rc = bo__order_refund_finish(s->api, o);
        rc = rc == BO_EGATEWAY ? 0 : rc;
    }
    if (rc)
        reply_error(s, rc, NULL, order_ref(o));
    else
        reply_order(s, o, 200, true);
out:
    bo__order_unlock(o);
    step_end(s);
}

static int on_cancel(void *arg, bo_http_req_t *r)
{
    return order_step(arg, r, cancel_job);
}

/* DELETE /api/v1/holds/{id} of a hold in checkout: the checkout is
 * abandoned (its intent cancelled, the seats released) before answering. */
static void abandon_job(void *arg)
{
    step_t *s = arg;
    bo_order_t *o = s->order;
    bo__order_lock(s->api, o);
    int rc = bo__order_abandon(s->api, o, BO_ORDER_CANCELED);
    if (rc)
        reply_error(s, rc, NULL, order_ref(o));
    else if (o->status == BO_ORDER_PAID)
        reply_error(s, BO_ESTATE, "the hold was paid meanwhile", order_ref(o));
    else {
        step_release(s);
        bo__idem_reply(s->api, &s->idem, s->a, 204, NULL, 0, NULL, true);
    }
    bo__order_unlock(o);
    step_end(s);
}

/* A hold checked out belongs to its order: the hold id alone (a capability
 * that may have leaked, with the page it was on) no longer ends a paying
 * buyer's checkout; the order's secret or the admin token does. */
int bo__orders_release_hold(bo_api_t *api, bo_http_req_t *r, uint64_t event,
                            const bo_hold_id_t *hold)
{
    bool admin;
    bo_order_t *o = api->orders ? bo__order_by_hold(api, event, hold, false) : NULL;
    if (o && bo__order_status(o) != BO_ORDER_PENDING) {
        bo__order_put(api, o);
        o = NULL;
    }
    if (!o)
        return 0;
    if (!order_creds(api, r, o, NULL, &admin)) {
        bo__order_put(api, o);
        bo_http_send_error(r, BO_ESTATE,
                           "this hold was checked out: cancel its order (POST "
                           "/api/v1/orders/{id}/cancel) with the order's secret",
                           json_pack("{ss}", "status", "checked_out"));
        return 1;
    }
    step_t *s = calloc(1, sizeof(*s));
    if (!s) {
        bo__order_put(api, o);
        bo_http_send_error(r, BO_ENOMEM, NULL, NULL);
        return 1;
    }
    s->api = api;
    s->order = o;
    if (bo__idem_begin(api, r, &s->idem)) {
        bo__order_put(api, o);
        free(s);
        return 1;
    }
    if (step_flag(s, r) == 0)
        start(s, r, abandon_job);
    return 1;
}

/* ---- GET /api/v1/orders/{id}/tickets/{ticket_id}/qr.svg ------------------------------- */

static int on_qr(void *arg, bo_http_req_t *r)
{
    bo_api_t *api = arg;
    bool admin;
    uint64_t tid;
    bo_ticket_t *t = NULL;
    bo_order_t *o = order_of(api, r, NULL, &admin);
    if (!o)
        return 0;
    /* no lock: a ticket's code never changes once it is indexed, and the
     * status is read atomically (a running step may hold the order) */
    bo_order_t *of = bo_id_parse_ticket(bo_http_param(r, "ticket_id"), &tid) == 0
                         ? bo__order_by_ticket(api, o->id, tid, &t)
                         : NULL;
    bool found = of == o && bo__order_status(o) == BO_ORDER_PAID;
    char code[BO_TICKET_CODE_MAX];
    if (found)
        snprintf(code, sizeof(code), "%s", t->code);
    if (of)
        bo__order_put(api, of);
    bo__order_put(api, o);
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
    json_t *j = json_pack("{sssb}", "gateway", api->pay_kind, "enabled", api->pay != NULL);
    if (api->pay && colon && strcmp(api->pay_kind, "sim") == 0) {
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
    bo__order_counts(api, by);
    bo_metrics_family(out, "boxoffice_orders", "gauge", "Orders by status.");
    for (int i = 0; i < BO_ORDER_NSTATUS; i++) {
        snprintf(labels, sizeof(labels), "status=\"%s\"", bo__order_status_name(i));
        bo_metrics_sample(out, "boxoffice_orders", labels, (double)by[i]);
    }
    bo_metrics_family(out, "boxoffice_orders_in_memory", "gauge",
                      "Orders in memory: the unsettled ones and those in use.");
    bo_metrics_sample(out, "boxoffice_orders_in_memory", NULL, (double)bo__order_in_memory(api));
    if (!api->pay)
        return;
    bo_pay_stats_t st;
    bo_pay_stats(api->pay, &st);
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

/* ---- wiring ---------------------------------------------------------------------- */

/* A secret kept in a file: malloc'd, or NULL (with a message). */
static char *read_secret(const char *path)
{
    char *s = NULL;
    int rc = path ? bo_secret_read(path, 1, "boxoffice", &s) : BO_EINVAL;
    if (rc && path)
        fprintf(stderr, "boxoffice: cannot read the secret in %s: %s\n", path,
                rc == BO_EIO ? strerror(errno) : bo_strerror(rc));
    return rc ? NULL : s;
}

static int gateway_open(bo_api_t *api)
{
    if (!api->payment)
        return 0;
    char *key = read_secret(api->payment_secret_key_file);
    if (!key) {
        fprintf(stderr, "boxoffice: --payment needs --payment-secret-key-file with the key\n");
        return BO_EINVAL;
    }
    bo_pay_config_t cfg = {
        .url = api->payment, .secret_key = key, .timeout_ms = api->payment_timeout_ms};
    int rc = bo_pay_new(&cfg, &api->pay);
    sodium_memzero(key, strlen(key));
    free(key);
    if (rc) {
        fprintf(stderr, "boxoffice: bad --payment %s (sim:URL or stripe:URL)\n", api->payment);
        return rc;
    }
    snprintf(api->pay_kind, sizeof(api->pay_kind), "%s",
             strncmp(api->payment, "stripe:", 7) == 0 ? "stripe" : "sim");
    api->webhook_secret = read_secret(api->payment_webhook_secret_file);
    if (!api->webhook_secret)
        fprintf(stderr, "boxoffice: no --payment-webhook-secret-file: webhooks are refused\n");
    return 0;
}

/* Orders and check-ins recovered from the store. */
static int load_doc(void *arg, const char *coll, const char *id, const char *body, size_t len)
{
    bo_api_t *api = arg;
    bo_order_t *existing;
    if (strcmp(coll, "order") != 0)
        return bo__checkin_load(api, coll, id, body, len);
    bo_order_t *o = calloc(1, sizeof(*o));
    if (!o)
        return BO_ENOMEM;
    bo__order_init(o);
    int rc = bo__order_from_doc(body, len, o);
    o->opened = true; /* it is durable */
    if (rc == 0 && (rc = bo__order_add(api, o, &existing)) == BO_EEXIST && existing) {
        /* a later write of the same order is not possible: one row per id */
        rc = BO_ECORRUPT;
    }
    if (rc == 0)
        rc = bo__order_index_intent(api, o);
    if (rc == 0 && o->status == BO_ORDER_PAID)
        rc = bo__order_index_tickets(api, o);
    if (rc == 0) {
        bo__order_put(api, o); /* a settled order may leave memory now */
        return 0;
    }
    fprintf(stderr, "boxoffice: order %s does not load\n", id);
    free(o->tickets);
    free(o);
    return rc;
}

static void orders_stop(void *arg)
{
    bo_api_t *api = arg;
    bo__reconcile_stop(api);
    bo__jobs_stop(api->jobs);
    api->jobs = NULL;
    bo__reconcile_free(api); /* after its steps ran */
}

static void orders_free(void *arg)
{
    bo_api_t *api = arg;
    orders_stop(api); /* when the server never ran */
    bo__order_book_free(api->orders);
    api->orders = NULL;
    bo__rate_free(api->card_attempts);
    api->card_attempts = NULL;
    bo_pay_free(api->pay);
    api->pay = NULL;
    free(api->webhook_secret);
    free(api->ticket_keys);
}

int bo__orders_register(bo_api_t *api)
{
    int rc;
    snprintf(api->pay_kind, sizeof(api->pay_kind), "none");
    if (!(api->orders = bo__order_book_new()) || !(api->jobs = bo__jobs_start()))
        return BO_ENOMEM;
    bo__order_book_evict(api, bo_live_store(api->live)); /* settled orders stay on disk */
    if (api->card_attempts_per_min &&
        !(api->card_attempts = bo__rate_new(api->card_attempts_per_min, CARD_ATTEMPTS_PERIOD_MS)))
        return BO_ENOMEM;
    if ((rc = bo_server_at_free(api->srv, orders_free, api)) ||
        (rc = bo_server_at_stop(api->srv, orders_stop, api)) || (rc = gateway_open(api)) ||
        (rc = bo_live_take_docs(api->live, load_doc, api)) || (rc = bo__order_counts_load(api)) ||
        (rc = bo__checkin_keys(api)))
        return rc;
    bo_server_t *srv = api->srv;
    if ((rc = bo_server_route(srv, "POST", "/api/v1/holds/{hold_id}/checkout", on_checkout, api)) ||
        (rc = bo_server_route(srv, "GET", "/api/v1/orders/{id}", on_order_get, api)) ||
        (rc = bo_server_route(srv, "GET", "/api/v1/payments/config", on_payments_config, api)) ||
        (rc = bo_server_route(srv, "POST", "/api/v1/orders/{id}/confirm", on_confirm, api)) ||
        (rc = bo_server_route(srv, "POST", "/api/v1/orders/{id}/cancel", on_cancel, api)) ||
        (rc = bo_server_route(srv, "GET", "/api/v1/orders/{id}/tickets/{ticket_id}/qr.svg", on_qr,
                              api)))
        return rc;
    if ((rc = bo_metrics_add_collector(bo_server_metrics(srv), collect_orders, api)))
        return rc;
    return bo__reconcile_start(api);
}
