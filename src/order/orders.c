/*
 * orders.c - the order domain's wiring and its read side (boxoffice/
 * order.h): bo_orders_open (worker pools, orders recovered from the store,
 * ticket keys, the reconciler), what the API's handlers read of an order
 * (pinned lookups, the secret's check, the answer, a ticket's code) and
 * the figures /metrics and reports show.
 *
 * Workload: once at start (a read of the unsettled orders), then lookups
 * on the event loops: a map lookup and a pin each, no gateway call.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "order/order_internal.h"

/* Orders, ticket keys and processed webhooks recovered from the store;
 * other documents go to the caller's other_doc. */
static int load_doc(void *arg, const char *coll, const char *id, const char *body, size_t len)
{
    bo_orders_t *os = arg;
    bo_order_t *existing;
    if (strcmp(coll, "webhook") == 0)
        return bo__order_webhook_remember(os, id);
    if (strcmp(coll, "key") == 0)
        return bo__order_keys_load(os, id, body, len);
    if (strcmp(coll, "order") != 0)
        return os->other_doc ? os->other_doc(os->other_arg, coll, id, body, len) : 0;
    bo_order_t *o = calloc(1, sizeof(*o));
    if (!o)
        return BO_ENOMEM;
    bo__order_init(o);
    int rc = bo__order_from_doc(body, len, o);
    o->opened = true; /* it is durable */
    if (rc == 0 && (rc = bo__order_add(os, o, &existing)) == BO_EEXIST && existing) {
        /* a later write of the same order is not possible: one row per id */
        rc = BO_ECORRUPT;
    }
    pthread_mutex_lock(&o->mu); /* the indexes' contract: the order locked */
    if (rc == 0)
        rc = bo__order_index_intent(os, o);
    if (rc == 0 && o->status == BO_ORDER_PAID)
        rc = bo__order_index_tickets(os, o);
    pthread_mutex_unlock(&o->mu);
    if (rc == 0) {
        bo__order_put(os, o); /* a settled order may leave memory now */
        return 0;
    }
    fprintf(stderr, "boxoffice: order %s does not load\n", id);
    free(o->tickets);
    free(o);
    return rc;
}

int bo_orders_open(const bo_orders_config_t *cfg, bo_orders_t **out)
{
    BO_ASSERT(cfg != NULL && out != NULL && cfg->live != NULL && cfg->clock != NULL);
    BO_ASSERT(cfg->event_info != NULL && (!cfg->pay || cfg->reconcile_budget_per_s > 0));
    bo_orders_t *os = calloc(1, sizeof(*os));
    *out = os;
    if (!os) {
        bo_pay_free(cfg->pay);
        return BO_ENOMEM;
    }
    os->live = cfg->live;
    os->clock = cfg->clock;
    os->pay = cfg->pay;
    snprintf(os->pay_kind, sizeof(os->pay_kind), "%s", cfg->gateway ? cfg->gateway : "none");
    os->reconcile_ms = cfg->reconcile_ms;
    os->reconcile_budget_per_s = cfg->reconcile_budget_per_s;
    os->event_info = cfg->event_info;
    os->event_arg = cfg->event_arg;
    os->other_doc = cfg->other_doc;
    os->other_arg = cfg->other_arg;
    pthread_mutex_init(&os->webhooks_mu, NULL);
    if (!(os->orders = bo__order_book_new()) || !(os->jobs = bo__order_jobs_start()))
        return BO_ENOMEM;
    bo__order_book_evict(os, bo_live_store(os->live)); /* settled orders stay on disk */
    int rc;
    if ((rc = bo_live_take_docs(os->live, load_doc, os)) || (rc = bo__order_counts_load(os)) ||
        (rc = bo__order_keys(os)))
        return rc;
    return bo__order_reconcile_start(os);
}

void bo_orders_stop(bo_orders_t *os)
{
    if (!os || os->stopped)
        return;
    os->stopped = true;
    bo__order_reconcile_stop(os);
    bo__order_jobs_stop(os->jobs);
    os->jobs = NULL;
    bo__order_reconcile_free(os); /* after its steps ran */
}

void bo_orders_free(bo_orders_t *os)
{
    if (!os)
        return;
    bo_orders_stop(os); /* when the server never ran */
    bo__order_book_free(os->orders);
    bo_pay_free(os->pay);
    bo__order_webhooks_free(os);
    pthread_mutex_destroy(&os->webhooks_mu);
    free(os->ticket_keys);
    free(os);
}

bool bo_orders_paying(const bo_orders_t *os)
{
    return os->pay != NULL;
}

const char *bo_orders_gateway(const bo_orders_t *os)
{
    return os->pay_kind;
}

const char *bo_orders_ticket_pk(const bo_orders_t *os)
{
    return os->ticket_pk_b64;
}

const char *bo_order_status_name(int status)
{
    return bo__order_status_name(status);
}

/* ---- reading an order -------------------------------------------------------------- */

bo_order_t *bo_order_find(bo_orders_t *os, uint64_t id)
{
    BO_ASSERT(os != NULL);
    return bo__order_find(os, id);
}

bo_order_t *bo_order_pending_of_hold(bo_orders_t *os, uint64_t event, const bo_hold_id_t *hold)
{
    BO_ASSERT(os != NULL && hold != NULL);
    bo_order_t *o = bo__order_by_hold(os, event, hold, false);
    if (o && bo__order_status(o) != BO_ORDER_PENDING) {
        bo__order_put(os, o);
        o = NULL;
    }
    return o;
}

void bo_order_put(bo_orders_t *os, bo_order_t *o)
{
    BO_ASSERT(os != NULL && o != NULL);
    bo__order_put(os, o);
}

uint64_t bo_order_event_of(const bo_order_t *o)
{
    BO_ASSERT(o != NULL);
    return o->event;
}

bool bo_order_secret_is(const bo_order_t *o, const char *candidate, size_t len)
{
    static const char dummy[BO_ORDER_SECRET_LEN + 1] = "00000000000000000000000000000000";
    char got[BO_ORDER_SECRET_LEN] = {0};
    BO_ASSERT(candidate != NULL || len == 0);
    memcpy(got, candidate, len < sizeof(got) ? len : sizeof(got));
    bool same = sodium_memcmp(got, o ? o->secret : dummy, BO_ORDER_SECRET_LEN) == 0;
    return o && same && len == BO_ORDER_SECRET_LEN;
}

char *bo_order_read(bo_orders_t *os, bo_order_t *o, size_t *len)
{
    return bo__order_read(os, o, len);
}

int bo_order_ticket_code(bo_orders_t *os, bo_order_t *o, uint64_t ticket, char *code, size_t cap)
{
    /* no lock: a ticket's code never changes once it is indexed, and the
     * status is read atomically (a running step may hold the order) */
    bo_ticket_t *t = NULL;
    BO_ASSERT(os != NULL && o != NULL && code != NULL && cap > 0);
    bo_order_t *of = bo__order_by_ticket(os, o->id, ticket, &t);
    bool found = of == o && bo__order_status(o) == BO_ORDER_PAID;
    if (found)
        snprintf(code, cap, "%s", t->code);
    if (of)
        bo__order_put(os, of);
    return found ? 0 : BO_ENOTFOUND;
}

/* ---- the gate's pool and documents ---------------------------------------------------- */

int bo_orders_gate_job(bo_orders_t *os, void (*fn)(void *arg), void *arg)
{
    BO_ASSERT(os != NULL && fn != NULL);
    return bo__order_job(os, BO_ORDER_POOL_GATE, fn, arg);
}

int bo_orders_doc_save(bo_orders_t *os, const char *coll, const char *id, char *body, size_t len)
{
    BO_ASSERT(os != NULL && coll != NULL && id != NULL && (body != NULL || len == 0));
    return bo__order_doc_save(os, coll, id, body, len);
}

/* ---- figures ------------------------------------------------------------------------ */

void bo_orders_counts(bo_orders_t *os, uint64_t by_status[BO_ORDER_NSTATUS])
{
    BO_ASSERT(os != NULL && by_status != NULL);
    bo__order_counts(os, by_status);
}

uint64_t bo_orders_in_memory(bo_orders_t *os)
{
    return bo__order_in_memory(os);
}

bool bo_orders_gateway_stats(bo_orders_t *os, bo_pay_stats_t *st)
{
    if (!os->pay)
        return false;
    bo_pay_stats(os->pay, st);
    return true;
}

bool bo_orders_reconcile_stats(bo_orders_t *os, bo_order_reconcile_stats_t *st)
{
    BO_ASSERT(os != NULL && st != NULL);
    return bo__order_reconcile_stats(os, st);
}

void bo_orders_sales(bo_orders_t *os, uint64_t event, json_t *report)
{
    BO_ASSERT(os != NULL && json_is_object(report));
    bo__order_sales(os, event, report);
}
