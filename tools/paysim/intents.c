/*
 * intents.c - the PaymentIntent endpoints, as Stripe answers them:
 *
 *   POST /v1/payment_intents               create (confirm=true confirms too)
 *   GET  /v1/payment_intents               list, newest first
 *   GET  /v1/payment_intents/{id}          retrieve (key or client_secret)
 *   POST /v1/payment_intents/{id}/confirm  pay (key or client_secret)
 *   POST /v1/payment_intents/{id}/cancel   cancel
 *
 * Every confirmation makes a charge: captured at once when the card pays
 * (status succeeded), failed when it declines (HTTP 402 card_error, the
 * intent back at requires_payment_method with last_payment_error, ready to
 * be confirmed again with another card, as Stripe allows). capture_method
 * manual is not simulated.
 *
 * Workload: one operation per call under ps->mu, microseconds each. Every
 * check comes before the first change, so a refused call changes nothing.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "boxoffice/error.h"
#include "paysim.h"
#include "util/assert.h"

static const char *const confirmable = "requires_confirmation, requires_payment_method, "
                                       "requires_action";
static const char *const cancelable = "requires_payment_method, requires_capture, "
                                      "requires_confirmation, requires_action, processing";

/* ---- shared checks ---- */

static int full(ps_answer_t *a)
{
    ps_answer_error(a, 503, "api_error", NULL, NULL,
                    "paysim holds as many objects as it may (--max-intents); restart it.");
    return BO_EFULL;
}

static ps_intent_t *find_intent(ps_call_t *c, ps_answer_t *a)
{
    ps_intent_t *pi = ps_intent_get(&c->ps->ledger, c->id);
    if (!pi)
        ps_answer_error(a, 404, "invalid_request_error", "resource_missing", "intent",
                        "No such payment_intent: '%s'", c->id);
    return pi;
}

/* 400 payment_intent_unexpected_state, with the intent, as Stripe says it. */
static void unexpected_state(ps_answer_t *a, const ps_intent_t *pi, const char *verb,
                             const char *allowed)
{
    char msg[400];
    snprintf(msg, sizeof(msg),
             "You cannot %s this PaymentIntent because it has a status of %s. Only a "
             "PaymentIntent with one of the following statuses may be %s: %s.",
             verb, ps_pi_status_name(pi->status),
             !strcmp(verb, "confirm") ? "confirmed" : "canceled", allowed);
    json_t *err =
        ps_error_new("invalid_request_error", "payment_intent_unexpected_state", NULL, msg);
    json_object_set_new(err, "payment_intent", ps_intent_json(pi));
    ps_answer_error_obj(a, 400, err);
}

/* A card error found before any charge (a bad number or expiry). */
static int card_error(ps_answer_t *a, const char *code, const char *param, const char *message)
{
    ps_answer_error(a, 402, "card_error", code, param, "%s", message);
    return BO_EDECLINED;
}

/* payment_method_data[card][...]: the card's number and expiry. */
static int card_data(json_t *card, char *digits, size_t cap, ps_answer_t *a)
{
    static const char *const P = "payment_method_data[card][number]";
    const char *number = json_string_value(json_object_get(card, "number"));
    json_t *m = json_object_get(card, "exp_month"), *y = json_object_get(card, "exp_year");
    json_t *cvc = json_object_get(card, "cvc");
    size_t n = 0;
    if (!number) {
        ps_answer_error(a, 400, "invalid_request_error", "parameter_missing", P,
                        "Missing required param: %s.", P);
        return BO_EINVAL;
    }
    for (const char *p = number; *p; p++) {
        if (*p == ' ' || *p == '-')
            continue;
        if (!isdigit((unsigned char)*p) || n + 1 >= cap)
            return card_error(a, "invalid_number", P,
                              "Your card number is not a valid credit card number.");
        digits[n++] = *p;
    }
    digits[n] = '\0';
    if (n < 12 || n > 19)
        return card_error(a, "invalid_number", P,
                          "Your card number is not a valid credit card number.");
    if (!ps_luhn_ok(digits))
        return card_error(a, "incorrect_number", P, "Your card number is incorrect.");
    int month = m ? atoi(json_string_value(m) ? json_string_value(m) : "0") : 1;
    int year = y ? atoi(json_string_value(y) ? json_string_value(y) : "0") : 9999;
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    if (year < 100)
        year += 2000;
    if (month < 1 || month > 12)
        return card_error(a, "invalid_expiry_month", "payment_method_data[card][exp_month]",
                          "Your card's expiration month is invalid.");
    if (year < tm.tm_year + 1900 || (year == tm.tm_year + 1900 && month < tm.tm_mon + 1))
        return card_error(a, "invalid_expiry_year", "payment_method_data[card][exp_year]",
                          "Your card's expiration year is invalid.");
    const char *cv = json_string_value(cvc);
    if (cvc && (!cv || strlen(cv) < 3 || strlen(cv) > 4 || strspn(cv, "0123456789") != strlen(cv)))
        return card_error(a, "invalid_cvc", "payment_method_data[card][cvc]",
                          "Your card's security code is invalid.");
    return 0;
}

static int pm_from_data(ps_call_t *c, json_t *pmd, ps_pm_t **pm, ps_answer_t *a)
{
    static const char *const allowed[] = {"type", "card", "billing_details", "metadata", NULL};
    char digits[24];
    if (!json_is_object(pmd) || ps_params_allow(pmd, allowed, a))
        goto bad;
    const char *type = json_string_value(json_object_get(pmd, "type"));
    json_t *card = json_object_get(pmd, "card");
    if (!type || strcmp(type, "card") || !json_is_object(card))
        goto bad;
    if (card_data(card, digits, sizeof(digits), a))
        return BO_EINVAL;
    *pm = ps_pm_new(&c->ps->ledger, ps_card_by_number(digits), digits);
    return *pm ? 0 : full(a);
bad:
    if (!a->body)
        ps_answer_error(a, 400, "invalid_request_error", NULL, "payment_method_data",
                        "Invalid payment_method_data: paysim takes payment_method_data[type]=card "
                        "with payment_method_data[card][number] (and exp_month, exp_year, cvc).");
    return BO_EINVAL;
}

/* The payment method the call names, or NULL when it names none. */
static int resolve_pm(ps_call_t *c, ps_pm_t **pm, ps_answer_t *a)
{
    const char *name;
    json_t *pmd = json_object_get(c->params, "payment_method_data");
    *pm = NULL;
    if (ps_param_str(c->params, "payment_method", &name, a))
        return BO_EINVAL;
    if (name && pmd) {
        ps_answer_error(a, 400, "invalid_request_error", NULL, "payment_method_data",
                        "You cannot provide both payment_method and payment_method_data.");
        return BO_EINVAL;
    }
    if (pmd)
        return pm_from_data(c, pmd, pm, a);
    if (!name)
        return 0;
    const ps_card_t *card = ps_card_by_name(name);
    *pm = card ? ps_pm_new(&c->ps->ledger, card, NULL) : ps_pm_get(&c->ps->ledger, name);
    if (*pm)
        return 0;
    if (card)
        return full(a);
    ps_answer_error(a, 400, "invalid_request_error", "resource_missing", "payment_method",
                    "No such PaymentMethod: '%s'", name);
    return BO_EINVAL;
}

/* ---- confirmation ---- */

static json_t *decline_error(const ps_charge_t *ch)
{
    const ps_card_t *card = ch->pm->card;
    json_t *err = ps_error_new("card_error", card->code, NULL, card->message);
    json_object_set_new(err, "decline_code", json_string(card->decline_code));
    json_object_set_new(err, "charge", json_string(ch->id));
    json_object_set_new(err, "payment_method", ps_pm_json(ch->pm));
    return err;
}

/* Charge pm for pi: succeeded (200) or declined (402). */
static void confirm_with(ps_call_t *c, ps_intent_t *pi, const ps_pm_t *pm, ps_answer_t *a)
{
    BO_ASSERT(bo_mutex_held(&c->ps->mu));
    BO_ASSERT(pi->status != PS_PI_SUCCEEDED && pi->status != PS_PI_CANCELED); /* final states */
    ps_charge_t *ch = ps_charge_new(&c->ps->ledger, pi, pm);
    if (!ch) {
        full(a);
        return;
    }
    a->store = true;
    pi->latest_charge = ch;
    json_decref(pi->last_payment_error);
    pi->last_payment_error = NULL;
    if (!pm->card->code) {
        ch->succeeded = true;
        pi->status = PS_PI_SUCCEEDED;
        pi->amount_received = pi->amount;
        pi->pm = pm;
        pi->paid_charge = ch;
        BO_ASSERT(ch->amount == pi->amount && pi->amount_received == pi->amount);
        json_t *o = ps_intent_json(pi);
        ps_webhook_emit(c->ps, "payment_intent.succeeded", o, c);
        ps_answer_json(a, 200, o);
        return;
    }
    pi->status = PS_PI_REQUIRES_PAYMENT_METHOD;
    pi->pm = NULL; /* Stripe detaches the failed method */
    pi->last_payment_error = decline_error(ch);
    json_t *o = ps_intent_json(pi);
    ps_webhook_emit(c->ps, "payment_intent.payment_failed", o, c);
    json_t *err = decline_error(ch);
    json_object_set_new(err, "payment_intent", o);
    ps_answer_error_obj(a, 402, err);
}

/* ---- the endpoints ---- */

static int read_currency(ps_call_t *c, char out[4], ps_answer_t *a)
{
    const char *s;
    if (ps_param_str(c->params, "currency", &s, a))
        return BO_EINVAL;
    if (!s) {
        ps_answer_error(a, 400, "invalid_request_error", "parameter_missing", "currency",
                        "Missing required param: currency.");
        return BO_EINVAL;
    }
    for (int i = 0; i < 3; i++)
        out[i] = (char)tolower((unsigned char)s[i]);
    out[3] = '\0';
    if (strlen(s) != 3 || !islower((unsigned char)out[0]) || !islower((unsigned char)out[1]) ||
        !islower((unsigned char)out[2])) {
        ps_answer_error(a, 400, "invalid_request_error", NULL, "currency",
                        "Invalid currency: %.20s. A currency is a three-letter ISO code, "
                        "in lowercase.",
                        s);
        return BO_EINVAL;
    }
    return 0;
}

static void op_create(ps_call_t *c, ps_answer_t *a)
{
    BO_ASSERT(bo_mutex_held(&c->ps->mu));
    static const char *const names[] = {"amount",
                                        "currency",
                                        "metadata",
                                        "description",
                                        "payment_method",
                                        "payment_method_data",
                                        "payment_method_types",
                                        "confirm",
                                        "capture_method",
                                        "automatic_payment_methods",
                                        "receipt_email",
                                        "return_url",
                                        "statement_descriptor",
                                        "statement_descriptor_suffix",
                                        "expand",
                                        NULL};
    static const char *const captures[] = {"automatic", "automatic_async", "manual", NULL};
    static const char *const types[] = {"card", NULL};
    int64_t amount;
    bool present, confirm;
    char currency[4];
    const char *description, *capture;
    json_t *metadata = NULL;
    ps_pm_t *pm = NULL;
    if (ps_params_allow(c->params, names, a) ||
        ps_param_amount(c->params, false, &amount, &present, a) || read_currency(c, currency, a) ||
        ps_param_str(c->params, "description", &description, a) ||
        ps_param_bool(c->params, "confirm", false, &confirm, a) ||
        ps_param_enum(c->params, "capture_method", captures, &capture, a) ||
        ps_param_list(c->params, "payment_method_types", types, a))
        return;
    if (description && strlen(description) > PS_DESCRIPTION_MAX) {
        ps_answer_error(a, 400, "invalid_request_error", NULL, "description",
                        "Invalid description: at most %u characters.", PS_DESCRIPTION_MAX);
        return;
    }
    if (capture && !strcmp(capture, "manual")) {
        ps_answer_error(a, 400, "invalid_request_error", NULL, "capture_method",
                        "paysim does not simulate capture_method=manual: payments are captured "
                        "when confirmed.");
        return;
    }
    if (confirm && !json_object_get(c->params, "payment_method") &&
        !json_object_get(c->params, "payment_method_data")) {
        ps_answer_error(a, 400, "invalid_request_error", "payment_intent_unexpected_state", NULL,
                        "You cannot confirm this PaymentIntent because it's missing a payment "
                        "method. Pass payment_method or payment_method_data with confirm=true.");
        return;
    }
    if (ps_param_metadata(c->params, &metadata, a) || resolve_pm(c, &pm, a)) {
        json_decref(metadata);
        return;
    }
    ps_intent_t *pi = ps_intent_new(&c->ps->ledger);
    if (!pi || (description && !(pi->description = strdup(description)))) {
        json_decref(metadata);
        full(a);
        return;
    }
    pi->amount = amount;
    memcpy(pi->currency, currency, sizeof(pi->currency));
    json_decref(pi->metadata);
    pi->metadata = metadata;
    if (capture)
        pi->capture_method = capture;
    pi->pm = pm;
    pi->status = pm ? PS_PI_REQUIRES_CONFIRMATION : PS_PI_REQUIRES_PAYMENT_METHOD;
    a->store = true;
    if (confirm)
        confirm_with(c, pi, pm, a);
    else
        ps_answer_json(a, 200, ps_intent_json(pi));
}

static void op_retrieve(ps_call_t *c, ps_answer_t *a)
{
    BO_ASSERT(bo_mutex_held(&c->ps->mu));
    static const char *const names[] = {"client_secret", "key", "expand", NULL};
    if (ps_params_allow(c->params, names, a))
        return;
    ps_intent_t *pi = find_intent(c, a);
    if (pi)
        ps_answer_json(a, 200, ps_intent_json(pi));
}

static void op_confirm(ps_call_t *c, ps_answer_t *a)
{
    BO_ASSERT(bo_mutex_held(&c->ps->mu));
    static const char *const names[] = {
        "payment_method", "payment_method_data", "payment_method_types", "client_secret", "key",
        "return_url",     "receipt_email",       "use_stripe_sdk",       "expand",        NULL};
    static const char *const types[] = {"card", NULL};
    ps_pm_t *pm;
    ps_intent_t *pi;
    if (ps_params_allow(c->params, names, a) ||
        ps_param_list(c->params, "payment_method_types", types, a) || !(pi = find_intent(c, a)))
        return;
    if (pi->status != PS_PI_REQUIRES_PAYMENT_METHOD && pi->status != PS_PI_REQUIRES_CONFIRMATION) {
        unexpected_state(a, pi, "confirm", confirmable);
        return;
    }
    if (resolve_pm(c, &pm, a))
        return;
    if (!pm && !pi->pm) {
        json_t *err = ps_error_new("invalid_request_error", "payment_intent_unexpected_state", NULL,
                                   "You cannot confirm this PaymentIntent because it's missing a "
                                   "payment method. Confirm it with payment_method or "
                                   "payment_method_data.");
        json_object_set_new(err, "payment_intent", ps_intent_json(pi));
        ps_answer_error_obj(a, 400, err);
        return;
    }
    confirm_with(c, pi, pm ? pm : pi->pm, a);
}

static void op_cancel(ps_call_t *c, ps_answer_t *a)
{
    BO_ASSERT(bo_mutex_held(&c->ps->mu));
    static const char *const names[] = {"cancellation_reason", "expand", NULL};
    static const char *const reasons[] = {"duplicate", "fraudulent", "requested_by_customer",
                                          "abandoned", NULL};
    const char *reason;
    ps_intent_t *pi;
    if (ps_params_allow(c->params, names, a) ||
        ps_param_enum(c->params, "cancellation_reason", reasons, &reason, a) ||
        !(pi = find_intent(c, a)))
        return;
    if (pi->status != PS_PI_REQUIRES_PAYMENT_METHOD && pi->status != PS_PI_REQUIRES_CONFIRMATION) {
        unexpected_state(a, pi, "cancel", cancelable);
        return;
    }
    pi->status = PS_PI_CANCELED;
    pi->canceled_at = ps_unix_s();
    pi->cancellation_reason = reason;
    a->store = true;
    json_t *o = ps_intent_json(pi);
    ps_webhook_emit(c->ps, "payment_intent.canceled", o, c);
    ps_answer_json(a, 200, o);
}

/* The page of intents [lo, hi) of the creation order, newest first. */
static json_t *page(const ps_ledger_t *l, size_t lo, size_t hi, bool has_more)
{
    json_t *data = json_array();
    for (size_t i = hi; i > lo; i--)
        json_array_append_new(data, ps_intent_json(l->order[i - 1]));
    return json_pack("{s:s,s:o,s:b,s:s}", "object", "list", "data", data, "has_more", has_more,
                     "url", "/v1/payment_intents");
}

static void op_list(ps_call_t *c, ps_answer_t *a)
{
    BO_ASSERT(bo_mutex_held(&c->ps->mu));
    static const char *const names[] = {"limit", "starting_after", "ending_before", "expand", NULL};
    const ps_ledger_t *l = &c->ps->ledger;
    const char *after, *before;
    int64_t limit = 10;
    bool present;
    if (ps_params_allow(c->params, names, a) ||
        ps_param_int(c->params, "limit", 1, PS_LIST_MAX, &limit, &present, a) ||
        ps_param_str(c->params, "starting_after", &after, a) ||
        ps_param_str(c->params, "ending_before", &before, a))
        return;
    const char *cursor = after ? after : before;
    const ps_intent_t *at = cursor ? ps_intent_get(l, cursor) : NULL;
    if (cursor && !at) {
        ps_answer_error(a, 400, "invalid_request_error", "resource_missing",
                        after ? "starting_after" : "ending_before", "No such payment_intent: '%s'",
                        cursor);
        return;
    }
    size_t n = (size_t)limit;
    if (before) { /* the page just newer than the cursor */
        size_t lo = at->index + 1, hi = lo + n < l->n ? lo + n : l->n;
        ps_answer_json(a, 200, page(l, lo, hi, hi < l->n));
        return;
    }
    size_t hi = at ? at->index : l->n, lo = hi > n ? hi - n : 0;
    ps_answer_json(a, 200, page(l, lo, hi, lo > 0));
}

int ps_intents_register(paysim_t *ps)
{
    int rc;
    if ((rc = ps_route(ps, "POST", "/v1/payment_intents", op_create, 0)) ||
        (rc = ps_route(ps, "GET", "/v1/payment_intents", op_list, 0)) ||
        (rc = ps_route(ps, "GET", "/v1/payment_intents/{id}", op_retrieve,
                       PS_ROUTE_CLIENT_SECRET | PS_ROUTE_CORS)) ||
        (rc = ps_route(ps, "POST", "/v1/payment_intents/{id}/confirm", op_confirm,
                       PS_ROUTE_CLIENT_SECRET | PS_ROUTE_CORS)))
        return rc;
    return ps_route(ps, "POST", "/v1/payment_intents/{id}/cancel", op_cancel, 0);
}
