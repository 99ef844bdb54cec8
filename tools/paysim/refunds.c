/*
 * refunds.c - refunds and charges, as Stripe answers them:
 *
 *   POST /v1/refunds          refund a payment_intent (or charge): the whole
 *                             unrefunded amount, or part of it; never more
 *   GET  /v1/refunds/{id}     one refund
 *   GET  /v1/refunds          the refunds of one payment_intent or charge
 *   GET  /v1/charges/{id}     one charge (amount_refunded, refunded, ...)
 *
 * A refund succeeds at once (status "succeeded") and emits charge.refunded
 * with the charge. Workload: rare next to payments; one operation per call
 * under ps->mu.
 */
#include <stdio.h>
#include <string.h>

#include "boxoffice/error.h"
#include "paysim.h"
#include "util/assert.h"

/* The captured charge a refund call names (payment_intent or charge). */
static ps_charge_t *refundable(ps_call_t *c, ps_answer_t *a)
{
    const char *pi_id, *ch_id;
    const ps_ledger_t *l = &c->ps->ledger;
    if (ps_param_str(c->params, "payment_intent", &pi_id, a) ||
        ps_param_str(c->params, "charge", &ch_id, a))
        return NULL;
    if (!pi_id && !ch_id) {
        ps_answer_error(a, 400, "invalid_request_error", "parameter_missing", NULL,
                        "One of the following params should be provided for this request: "
                        "payment_intent or charge.");
        return NULL;
    }
    ps_intent_t *pi = pi_id ? ps_intent_get(l, pi_id) : NULL;
    ps_charge_t *ch = ch_id ? ps_charge_get(l, ch_id) : NULL;
    if ((pi_id && !pi) || (ch_id && !ch)) {
        ps_answer_error(a, 400, "invalid_request_error", "resource_missing",
                        pi_id && !pi ? "payment_intent" : "charge", "No such %s: '%s'",
                        pi_id && !pi ? "payment_intent" : "charge", pi_id && !pi ? pi_id : ch_id);
        return NULL;
    }
    if (pi && ch && ch->pi != pi) {
        ps_answer_error(a, 400, "invalid_request_error", NULL, "charge",
                        "The charge %s does not belong to the PaymentIntent %s.", ch->id, pi->id);
        return NULL;
    }
    if (!ch)
        ch = pi->paid_charge;
    if (!ch || !ch->succeeded) {
        ps_answer_error(a, 400, "invalid_request_error", NULL, pi_id ? "payment_intent" : "charge",
                        "This %s does not have a successful charge to refund.",
                        pi_id ? "PaymentIntent" : "charge");
        return NULL;
    }
    return ch;
}

static void op_refund(ps_call_t *c, ps_answer_t *a)
{
    BO_ASSERT(bo_mutex_held(&c->ps->mu));
    static const char *const names[] = {"payment_intent", "charge", "amount", "metadata",
                                        "reason",         "expand", NULL};
    static const char *const reasons[] = {"duplicate", "fraudulent", "requested_by_customer", NULL};
    const char *reason;
    int64_t amount;
    bool present;
    json_t *metadata = NULL;
    ps_charge_t *ch;
    if (ps_params_allow(c->params, names, a) ||
        ps_param_amount(c->params, true, &amount, &present, a) ||
        ps_param_enum(c->params, "reason", reasons, &reason, a) || !(ch = refundable(c, a)))
        return;
    int64_t left = ch->amount - ch->amount_refunded;
    if (left == 0) {
        ps_answer_error(a, 400, "invalid_request_error", "charge_already_refunded", NULL,
                        "Charge %s has already been refunded.", ch->id);
        return;
    }
    if (present && amount > left) {
        ps_answer_error(a, 400, "invalid_request_error", "amount_too_large", "amount",
                        "Refund amount (%lld %s) is greater than unrefunded amount on charge "
                        "(%lld %s).",
                        (long long)amount, ch->pi->currency, (long long)left, ch->pi->currency);
        return;
    }
    if (ps_param_metadata(c->params, &metadata, a))
        return;
    ps_refund_t *re = ps_refund_new(&c->ps->ledger, ch, present ? amount : left);
    if (!re) {
        json_decref(metadata);
        ps_answer_error(a, 503, "api_error", NULL, NULL,
                        "paysim holds as many objects as it may (--max-intents); restart it.");
        return;
    }
    json_decref(re->metadata);
    re->metadata = metadata;
    re->reason = reason;
    ch->amount_refunded += re->amount;
    BO_ASSERT(ch->amount_refunded <= ch->amount); /* never refund more than was paid */
    a->store = true;
    json_t *charge = ps_charge_json(ch);
    ps_webhook_emit(c->ps, "charge.refunded", charge, c);
    json_decref(charge);
    ps_answer_json(a, 200, ps_refund_json(re));
}

static void op_refund_get(ps_call_t *c, ps_answer_t *a)
{
    BO_ASSERT(bo_mutex_held(&c->ps->mu));
    static const char *const names[] = {"expand", NULL};
    if (ps_params_allow(c->params, names, a))
        return;
    ps_refund_t *re = ps_refund_get(&c->ps->ledger, c->id);
    if (!re)
        ps_answer_error(a, 404, "invalid_request_error", "resource_missing", "id",
                        "No such refund: '%s'", c->id);
    else
        ps_answer_json(a, 200, ps_refund_json(re));
}

static void op_refund_list(ps_call_t *c, ps_answer_t *a)
{
    BO_ASSERT(bo_mutex_held(&c->ps->mu));
    static const char *const names[] = {"payment_intent", "charge", "limit", "expand", NULL};
    const char *pi_id, *ch_id;
    int64_t limit = 10;
    bool present;
    const ps_ledger_t *l = &c->ps->ledger;
    if (ps_params_allow(c->params, names, a) ||
        ps_param_int(c->params, "limit", 1, PS_LIST_MAX, &limit, &present, a) ||
        ps_param_str(c->params, "payment_intent", &pi_id, a) ||
        ps_param_str(c->params, "charge", &ch_id, a))
        return;
    if (!pi_id && !ch_id) {
        ps_answer_error(a, 400, "invalid_request_error", "parameter_missing", NULL,
                        "paysim lists the refunds of one payment_intent or charge: pass one.");
        return;
    }
    ps_intent_t *pi = pi_id ? ps_intent_get(l, pi_id) : NULL;
    ps_charge_t *ch = ch_id ? ps_charge_get(l, ch_id) : pi ? pi->paid_charge : NULL;
    if ((pi_id && !pi) || (ch_id && !ch)) {
        ps_answer_error(a, 400, "invalid_request_error", "resource_missing",
                        pi_id && !pi ? "payment_intent" : "charge", "No such %s",
                        pi_id && !pi ? "payment_intent" : "charge");
        return;
    }
    json_t *data = json_array();
    const ps_refund_t *re = ch && (!pi || ch->pi == pi) ? ch->refunds : NULL;
    for (; re && json_array_size(data) < (size_t)limit; re = re->next)
        json_array_append_new(data, ps_refund_json(re));
    ps_answer_json(a, 200,
                   json_pack("{s:s,s:o,s:b,s:s}", "object", "list", "data", data, "has_more",
                             re != NULL, "url", "/v1/refunds"));
}

static void op_charge_get(ps_call_t *c, ps_answer_t *a)
{
    BO_ASSERT(bo_mutex_held(&c->ps->mu));
    static const char *const names[] = {"expand", NULL};
    if (ps_params_allow(c->params, names, a))
        return;
    ps_charge_t *ch = ps_charge_get(&c->ps->ledger, c->id);
    if (!ch)
        ps_answer_error(a, 404, "invalid_request_error", "resource_missing", "id",
                        "No such charge: '%s'", c->id);
    else
        ps_answer_json(a, 200, ps_charge_json(ch));
}

int ps_refunds_register(paysim_t *ps)
{
    int rc;
    if ((rc = ps_route(ps, "POST", "/v1/refunds", op_refund, 0)) ||
        (rc = ps_route(ps, "GET", "/v1/refunds", op_refund_list, 0)) ||
        (rc = ps_route(ps, "GET", "/v1/refunds/{id}", op_refund_get, 0)))
        return rc;
    return ps_route(ps, "GET", "/v1/charges/{id}", op_charge_get, 0);
}
