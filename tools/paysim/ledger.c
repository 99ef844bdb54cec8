/*
 * ledger.c - the simulator's books: payment intents, their charges (one
 * per confirmation attempt, failed or captured), refunds and payment
 * methods, each findable by id, and their Stripe JSON.
 *
 * Workload: a simulator's, up to max_intents intents (1,000,000 by
 * default, a few hundred bytes each) and PS_OBJECTS_PER_INTENT times as
 * many other objects; past either bound creation fails and the API answers
 * 503. Nothing is ever deleted before exit: a test may look anything up
 * again. The caller holds ps->mu for everything here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "boxoffice/error.h"
#include "paysim.h"
#include "util/array.h"
#include "util/assert.h"

static const char *const status_names[PS_PI_NSTATUS] = {
    [PS_PI_REQUIRES_PAYMENT_METHOD] = "requires_payment_method",
    [PS_PI_REQUIRES_CONFIRMATION] = "requires_confirmation",
    [PS_PI_SUCCEEDED] = "succeeded",
    [PS_PI_CANCELED] = "canceled",
};

const char *ps_pi_status_name(ps_pi_status_t s)
{
    return s < PS_PI_NSTATUS ? status_names[s] : "unknown";
}

/* Whether the calling thread holds the mutex of the paysim the ledger
 * lives in (main.c embeds it; ps->mu guards it). */
static bool locked(const ps_ledger_t *l)
{
    return bo_mutex_held(&PS_CONTAINER(l, paysim_t, ledger)->mu);
}

int ps_ledger_init(ps_ledger_t *l, size_t max_intents)
{
    memset(l, 0, sizeof(*l));
    l->max_intents = max_intents;
    l->max_objects = max_intents * PS_OBJECTS_PER_INTENT;
    if (ps_table_init(&l->intents) || ps_table_init(&l->charges) || ps_table_init(&l->refunds) ||
        ps_table_init(&l->pms)) {
        ps_ledger_free(l);
        return BO_ENOMEM;
    }
    return 0;
}

/* Free every object of a table whose node sits at offset off. */
static void free_all(ps_table_t *t, size_t off, void (*fn)(void *obj))
{
    for (size_t i = 0; t->buckets && i <= t->mask; i++) {
        ps_node_t *n = t->buckets[i];
        while (n) {
            ps_node_t *next = n->next;
            void *obj = (char *)n - off;
            if (fn)
                fn(obj);
            free(obj);
            n = next;
        }
    }
    ps_table_free(t);
}

static void intent_clear(void *obj)
{
    ps_intent_t *pi = obj;
    free(pi->description);
    json_decref(pi->metadata);
    json_decref(pi->last_payment_error);
}

static void refund_clear(void *obj)
{
    json_decref(((ps_refund_t *)obj)->metadata);
}

void ps_ledger_free(ps_ledger_t *l)
{
    free_all(&l->intents, offsetof(ps_intent_t, node), intent_clear);
    free_all(&l->charges, offsetof(ps_charge_t, node), NULL);
    free_all(&l->refunds, offsetof(ps_refund_t, node), refund_clear);
    free_all(&l->pms, offsetof(ps_pm_t, node), NULL);
    free(l->order);
    l->order = NULL;
    l->n = l->cap = 0;
}

/* A fresh id prefix + PS_ID_RANDOM characters not yet in t. */
static void unique_id(const ps_table_t *t, char *id, const char *prefix)
{
    do
        ps_random_id(id, PS_ID_BYTES, prefix, PS_ID_RANDOM);
    while (ps_table_get(t, id));
}

ps_intent_t *ps_intent_new(ps_ledger_t *l)
{
    BO_ASSERT(locked(l) && l->n <= l->cap && l->n <= l->max_intents);
    if (l->n >= l->max_intents)
        return NULL;
    ps_intent_t **o = bo_array_grow(l->order, &l->cap, l->n + 1, sizeof(*o), 1024, 0);
    if (!o)
        return NULL;
    l->order = o;
    ps_intent_t *pi = calloc(1, sizeof(*pi));
    if (!pi || !(pi->metadata = json_object())) {
        free(pi);
        return NULL;
    }
    char secret[PS_ID_BYTES];
    unique_id(&l->intents, pi->id, "pi_");
    ps_random_id(secret, sizeof(secret), "", PS_ID_RANDOM);
    snprintf(pi->client_secret, sizeof(pi->client_secret), "%s_secret_%s", pi->id, secret);
    pi->status = PS_PI_REQUIRES_PAYMENT_METHOD;
    pi->created = ps_unix_s();
    pi->capture_method = "automatic_async";
    pi->index = l->n;
    pi->node.key = pi->id;
    ps_table_put(&l->intents, &pi->node);
    l->order[l->n++] = pi;
    BO_ASSERT(l->order[pi->index] == pi); /* list pages read intents by index */
    return pi;
}

/* Room for one more charge, refund or payment method. */
static void *object_new(ps_ledger_t *l, size_t size)
{
    BO_ASSERT(locked(l) && l->nobjects <= l->max_objects);
    if (l->nobjects >= l->max_objects)
        return NULL;
    void *obj = calloc(1, size);
    if (obj)
        l->nobjects++;
    return obj;
}

ps_charge_t *ps_charge_new(ps_ledger_t *l, ps_intent_t *pi, const ps_pm_t *pm)
{
    BO_ASSERT(pi != NULL && pm != NULL && pm->card != NULL);
    BO_ASSERT(pi->amount > 0 && pi->paid_charge == NULL); /* a paid intent is charged no more */
    ps_charge_t *ch = object_new(l, sizeof(*ch));
    if (!ch)
        return NULL;
    unique_id(&l->charges, ch->id, "ch_");
    ch->pi = pi;
    ch->pm = pm;
    ch->amount = pi->amount;
    ch->created = ps_unix_s();
    ch->node.key = ch->id;
    ps_table_put(&l->charges, &ch->node);
    return ch;
}

ps_refund_t *ps_refund_new(ps_ledger_t *l, ps_charge_t *ch, int64_t amount)
{
    /* never more than the charge's unrefunded amount, never nothing */
    BO_ASSERT(ch != NULL && ch->succeeded && ch->pi->paid_charge == ch);
    BO_ASSERT(amount > 0 && amount <= ch->amount - ch->amount_refunded);
    ps_refund_t *re = object_new(l, sizeof(*re));
    if (!re)
        return NULL;
    if (!(re->metadata = json_object())) {
        free(re);
        l->nobjects--;
        return NULL;
    }
    unique_id(&l->refunds, re->id, "re_");
    re->charge = ch;
    re->amount = amount;
    re->next = ch->refunds;
    ch->refunds = re;
    re->created = ps_unix_s();
    re->node.key = re->id;
    ps_table_put(&l->refunds, &re->node);
    return re;
}

ps_pm_t *ps_pm_new(ps_ledger_t *l, const ps_card_t *card, const char *number)
{
    BO_ASSERT(card != NULL);
    ps_pm_t *pm = object_new(l, sizeof(*pm));
    if (!pm)
        return NULL;
    const char *digits = number ? number : card->number ? card->number : "0000";
    size_t n = strlen(digits);
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    unique_id(&l->pms, pm->id, "pm_");
    pm->card = card;
    memcpy(pm->last4, digits + (n >= 4 ? n - 4 : 0), n >= 4 ? 4 : n);
    pm->exp_month = 12;
    pm->exp_year = tm.tm_year + 1900 + 3;
    pm->created = (int64_t)now;
    pm->node.key = pm->id;
    ps_table_put(&l->pms, &pm->node);
    return pm;
}

#define GETTER(fn, type, table)                                                                    \
    type *fn(const ps_ledger_t *l, const char *id)                                                 \
    {                                                                                              \
        ps_node_t *n = ps_table_get(&l->table, id);                                                \
        return n ? PS_CONTAINER(n, type, node) : NULL;                                             \
    }
GETTER(ps_intent_get, ps_intent_t, intents)
GETTER(ps_charge_get, ps_charge_t, charges)
GETTER(ps_refund_get, ps_refund_t, refunds)
GETTER(ps_pm_get, ps_pm_t, pms)
#undef GETTER

/* ---- JSON ---- */

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

json_t *ps_pm_json(const ps_pm_t *pm)
{
    return json_pack("{s:s,s:s,s:s,s:{s:s,s:s,s:s,s:i,s:i,s:s},s:I,s:n,s:b,s:{},"
                     "s:{s:n,s:n,s:n,s:n}}",
                     "id", pm->id, "object", "payment_method", "type", "card", "card", "brand",
                     pm->card->brand, "funding", pm->card->funding, "last4", pm->last4, "exp_month",
                     pm->exp_month, "exp_year", pm->exp_year, "country", "US", "created",
                     (json_int_t)pm->created, "customer", "livemode", 0, "metadata",
                     "billing_details", "address", "email", "name", "phone");
}

json_t *ps_intent_json(const ps_intent_t *pi)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(pi->id));
    json_object_set_new(o, "object", json_string("payment_intent"));
    json_object_set_new(o, "amount", json_integer(pi->amount));
    json_object_set_new(o, "amount_capturable", json_integer(0));
    json_object_set_new(o, "amount_received", json_integer(pi->amount_received));
    json_object_set_new(o, "canceled_at",
                        pi->canceled_at ? json_integer(pi->canceled_at) : json_null());
    json_object_set_new(o, "cancellation_reason", str_or_null(pi->cancellation_reason));
    json_object_set_new(o, "capture_method", json_string(pi->capture_method));
    json_object_set_new(o, "client_secret", json_string(pi->client_secret));
    json_object_set_new(o, "confirmation_method", json_string("automatic"));
    json_object_set_new(o, "created", json_integer(pi->created));
    json_object_set_new(o, "currency", json_string(pi->currency));
    json_object_set_new(o, "customer", json_null());
    json_object_set_new(o, "description", str_or_null(pi->description));
    json_object_set_new(o, "last_payment_error",
                        pi->last_payment_error ? json_deep_copy(pi->last_payment_error)
                                               : json_null());
    json_object_set_new(o, "latest_charge",
                        str_or_null(pi->latest_charge ? pi->latest_charge->id : NULL));
    json_object_set_new(o, "livemode", json_false());
    json_object_set_new(o, "metadata", json_deep_copy(pi->metadata));
    json_object_set_new(o, "next_action", json_null());
    json_object_set_new(o, "payment_method", str_or_null(pi->pm ? pi->pm->id : NULL));
    json_object_set_new(o, "payment_method_types", json_pack("[s]", "card"));
    json_object_set_new(o, "receipt_email", json_null());
    json_object_set_new(o, "status", json_string(ps_pi_status_name(pi->status)));
    return o;
}

static json_t *charge_outcome(const ps_charge_t *ch)
{
    const ps_card_t *c = ch->pm->card;
    if (ch->succeeded)
        return json_pack("{s:s,s:n,s:s,s:s,s:s}", "network_status", "approved_by_network", "reason",
                         "risk_level", "normal", "seller_message", "Payment complete.", "type",
                         "authorized");
    return json_pack("{s:s,s:s?,s:s,s:s,s:s}", "network_status", "declined_by_network", "reason",
                     c->decline_code, "risk_level", "normal", "seller_message",
                     "The bank did not return any further details with this decline.", "type",
                     "issuer_declined");
}

json_t *ps_charge_json(const ps_charge_t *ch)
{
    const ps_card_t *c = ch->pm->card;
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(ch->id));
    json_object_set_new(o, "object", json_string("charge"));
    json_object_set_new(o, "amount", json_integer(ch->amount));
    json_object_set_new(o, "amount_captured", json_integer(ch->succeeded ? ch->amount : 0));
    json_object_set_new(o, "amount_refunded", json_integer(ch->amount_refunded));
    json_object_set_new(o, "balance_transaction", json_null());
    json_object_set_new(o, "captured", json_boolean(ch->succeeded));
    json_object_set_new(o, "created", json_integer(ch->created));
    json_object_set_new(o, "currency", json_string(ch->pi->currency));
    json_object_set_new(o, "description", str_or_null(ch->pi->description));
    json_object_set_new(o, "failure_code", str_or_null(ch->succeeded ? NULL : c->code));
    json_object_set_new(o, "failure_message", str_or_null(ch->succeeded ? NULL : c->message));
    json_object_set_new(o, "livemode", json_false());
    json_object_set_new(o, "metadata", json_deep_copy(ch->pi->metadata));
    json_object_set_new(o, "outcome", charge_outcome(ch));
    json_object_set_new(o, "paid", json_boolean(ch->succeeded));
    json_object_set_new(o, "payment_intent", json_string(ch->pi->id));
    json_object_set_new(o, "payment_method", json_string(ch->pm->id));
    json_object_set_new(o, "payment_method_details",
                        json_pack("{s:s,s:{s:s,s:s,s:s,s:i,s:i}}", "type", "card", "card", "brand",
                                  c->brand, "funding", c->funding, "last4", ch->pm->last4,
                                  "exp_month", ch->pm->exp_month, "exp_year", ch->pm->exp_year));
    json_object_set_new(o, "refunded",
                        json_boolean(ch->succeeded && ch->amount_refunded == ch->amount));
    json_object_set_new(o, "status", json_string(ch->succeeded ? "succeeded" : "failed"));
    return o;
}

json_t *ps_refund_json(const ps_refund_t *re)
{
    return json_pack("{s:s,s:s,s:I,s:n,s:s,s:I,s:s,s:b,s:O,s:s,s:s?,s:s}", "id", re->id, "object",
                     "refund", "amount", (json_int_t)re->amount, "balance_transaction", "charge",
                     re->charge->id, "created", (json_int_t)re->created, "currency",
                     re->charge->pi->currency, "livemode", 0, "metadata", re->metadata,
                     "payment_intent", re->charge->pi->id, "reason", re->reason, "status",
                     "succeeded");
}

/* ---- statistics ---- */

static void add(json_t *o, const char *key, json_int_t n)
{
    json_object_set_new(o, key, json_integer(json_integer_value(json_object_get(o, key)) + n));
}

json_t *ps_ledger_stats(const ps_ledger_t *l)
{
    json_t *by_status = json_object(), *by_currency = json_object();
    json_int_t captured = 0, refunded = 0;
    for (int s = 0; s < PS_PI_NSTATUS; s++)
        json_object_set_new(by_status, status_names[s], json_integer(0));
    for (size_t i = 0; i < l->n; i++) {
        const ps_intent_t *pi = l->order[i];
        json_t *cur = json_object_get(by_currency, pi->currency);
        if (!cur) {
            cur =
                json_pack("{s:i,s:i,s:i}", "intents", 0, "captured_cents", 0, "refunded_cents", 0);
            json_object_set_new(by_currency, pi->currency, cur);
        }
        add(by_status, status_names[pi->status], 1);
        add(cur, "intents", 1);
        if (pi->paid_charge) {
            add(cur, "captured_cents", pi->paid_charge->amount);
            add(cur, "refunded_cents", pi->paid_charge->amount_refunded);
            captured += pi->paid_charge->amount;
            refunded += pi->paid_charge->amount_refunded;
        }
    }
    return json_pack("{s:{s:I,s:o},s:I,s:I,s:o,s:I,s:I,s:I,s:I}", "intents", "total",
                     (json_int_t)l->n, "by_status", by_status, "captured_cents", captured,
                     "refunded_cents", refunded, "by_currency", by_currency, "charges",
                     (json_int_t)l->charges.n, "refunds", (json_int_t)l->refunds.n,
                     "payment_methods", (json_int_t)l->pms.n, "max_intents",
                     (json_int_t)l->max_intents);
}
