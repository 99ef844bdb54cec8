/*
 * order.h - the order and payment domain (src/order/), as the HTTP handlers
 * of src/api/ see it: orders made from holds, paid at a gateway, cancelled
 * or refunded, their tickets scanned at the gate, and a reconciler that
 * brings orders left halfway to an end. Handlers parse a request, call one
 * of these functions and render what it answers; what an order holds, how
 * it is stored and which threads run its steps stay in src/order/.
 *
 * Threads (src/order/jobs.c): every step that waits on the gateway or a
 * commit runs on a worker of the order domain's pools; the reconciler has
 * a thread of its own (src/order/reconcile.c). Functions marked "event
 * loop" never wait on a step; the others say where they run.
 *
 * Asynchronous steps follow one contract: bo_order_step_run returns 0 and
 * then calls done exactly once, later, on a worker; or it returns an error
 * and never calls it.
 */
#ifndef BOXOFFICE_ORDER_H
#define BOXOFFICE_ORDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "boxoffice/clock.h"
#include "boxoffice/engine.h"
#include "boxoffice/live.h"
#include "boxoffice/pay.h"

typedef struct bo_orders bo_orders_t; /* the domain: its book, pools, reconciler */
typedef struct bo_order bo_order_t;   /* one order, pinned by whoever holds it */
typedef struct bo_order_step bo_order_step_t;

enum bo_order_status {
    BO_ORDER_PENDING,              /* pending_payment: the hold is PAYING or HELD */
    BO_ORDER_PAID,                 /* seats SOLD, tickets valid */
    BO_ORDER_FAILED,               /* payment_failed: the third decline released the hold */
    BO_ORDER_EXPIRED,              /* the hold or the payment deadline ran out unpaid */
    BO_ORDER_CANCELED,             /* abandoned or cancelled before payment */
    BO_ORDER_REFUND_PENDING,       /* seats released, money being returned */
    BO_ORDER_REFUNDED,             /* cancelled after payment, refunded */
    BO_ORDER_REFUNDED_UNAVAILABLE, /* paid too late for seats taken since: refunded */
    BO_ORDER_NSTATUS
};

#define BO_ORDER_SECRET_LEN     32                 /* hex digits: 128 bits */
#define BO_ORDER_NAME_MAX       200                /* bytes of a buyer's name */
#define BO_ORDER_EMAIL_MAX      254u               /* bytes of a buyer's e-mail address */
#define BO_ORDER_EVENT_NAME     200                /* bytes of an event's name */
#define BO_ORDER_PAYMENT_MAX    64                 /* bytes of a payment method */
#define BO_ORDER_CODE_INPUT_MAX 1024               /* bytes of a scanned code, before trimming */
#define BO_ORDER_PAY_WINDOW_MS  (15 * 60 * 1000LL) /* a checkout's deadline */

/* What the order domain needs to know of an event (the API's catalog
 * answers it): its venue, name, currency and the buyers' refund deadline. */
typedef struct bo_order_event {
    uint64_t venue;
    char name[BO_ORDER_EVENT_NAME + 1];
    char currency[4];
    int64_t refund_deadline_ms;
} bo_order_event_t;
/* 0 and *out, or BO_ENOTFOUND. Any thread. */
typedef int (*bo_order_event_fn)(void *arg, uint64_t event, bo_order_event_t *out);

typedef struct bo_orders_config {
    bo_live_t *live;                 /* decisions and documents */
    bo_clock_t *clock;               /* the live layer's */
    bo_pay_t *pay;                   /* the gateway (taken: freed with the domain); NULL: none */
    const char *gateway;             /* "sim", "stripe" or "none" (copied) */
    uint32_t reconcile_ms;           /* between the reconciler's scans */
    uint32_t reconcile_budget_per_s; /* gateway requests a second it may send */
    bo_order_event_fn event_info;
    void *event_arg;
    /* documents of collections not the domain's (check-in's staff tokens),
     * met while the stored orders load; may be NULL */
    int (*other_doc)(void *arg, const char *coll, const char *id, const char *body, size_t len);
    void *other_arg;
} bo_orders_config_t;

/*
 * Start the domain: the worker pools, the orders recovered from the store
 * (bo_live_take_docs: every stored document goes to it or to other_doc),
 * the ticket signing keys (made and stored on a store's first start), the
 * reconciler's thread when a gateway is configured. 0 and *out, or a BO_E*
 * code (*out may then be set: bo_orders_free it).
 */
int bo_orders_open(const bo_orders_config_t *cfg, bo_orders_t **out);
/* Stop the reconciler, then finish the queued steps and join the pools.
 * Idempotent. */
void bo_orders_stop(bo_orders_t *os);
/* Stop (when not yet) and free everything, the gateway included. */
void bo_orders_free(bo_orders_t *os);

/* Whether a gateway is configured; its kind ("sim", "stripe", "none"). */
bool bo_orders_paying(const bo_orders_t *os);
const char *bo_orders_gateway(const bo_orders_t *os);
/* The ticket verification key, base64url (for scanners). */
const char *bo_orders_ticket_pk(const bo_orders_t *os);
/* A key for purpose (a short constant) derived from the store's ticket
 * signing key (BLAKE2b keyed by its seed), so that it is the same after a
 * restart and unknown outside: out gets len bytes (16..64). 0, or
 * BO_EINVAL before the orders are open. */
int bo_orders_derive_key(const bo_orders_t *os, const char *purpose, uint8_t *out, size_t len);
/* "pending_payment", "paid", ... (enum bo_order_status). */
const char *bo_order_status_name(int status);

/* ---- reading an order (event loop) ---------------------------------------- */

/* The order of id, pinned (give it back with bo_order_put), or NULL. */
bo_order_t *bo_order_find(bo_orders_t *os, uint64_t id);
/* The order of a hold while its checkout is pending, pinned, or NULL. */
bo_order_t *bo_order_pending_of_hold(bo_orders_t *os, uint64_t event, const bo_hold_id_t *hold);
void bo_order_put(bo_orders_t *os, bo_order_t *o);
/* The event of a pinned order (its id never changes). */
uint64_t bo_order_event_of(const bo_order_t *o);
/* Whether candidate (len bytes) is o's secret: constant time whatever o
 * (NULL: an unknown order, compared with a dummy) and len. */
bool bo_order_secret_is(const bo_order_t *o, const char *candidate, size_t len);
/* The order's answer {"order","payment"} with its secret and tickets
 * (malloc'd JSON text: the caller frees it), or NULL when out of memory;
 * never waits on a running step. */
char *bo_order_read(bo_orders_t *os, bo_order_t *o, size_t *len);
/* The signed code of ticket in o while o is paid: 0, or BO_ENOTFOUND. */
int bo_order_ticket_code(bo_orders_t *os, bo_order_t *o, uint64_t ticket, char *code, size_t cap);

/* ---- steps (asynchronous) --------------------------------------------------- */

/* How a step ended, for done: a success (status 200, 201 or 204; body the
 * order's answer, or NULL) or a refusal (err, a BO_E* code; message static
 * or NULL for the error table's; details a JSON object or NULL).
 * err BO_EORDERBUSY: another step of the order took it meanwhile (answer
 * 409 ORDER_BUSY). done owns body and details. */
typedef struct bo_order_answer {
    int status;
    int err;
    const char *message;
    json_t *details;
    char *body;
    size_t len;
    uint64_t order; /* the order's id (0: none) */
} bo_order_answer_t;
typedef void (*bo_order_done_fn)(void *arg, bo_order_answer_t *a);

enum bo_order_step_kind {
    BO_ORDER_STEP_CHECKOUT, /* a hold becomes an order (201, or 200 again) */
    BO_ORDER_STEP_CONFIRM,  /* a payment attempt, or the gateway asked again */
    BO_ORDER_STEP_CANCEL,   /* released or refunded by policy */
    BO_ORDER_STEP_ABANDON,  /* the hold's DELETE: the checkout abandoned (204) */
};

/* What a buyer's step carries. */
typedef struct bo_order_request {
    uint64_t event; /* checkout: the hold */
    bo_hold_id_t hold;
    char email[BO_ORDER_EMAIL_MAX + 1]; /* checkout: the customer ("" none) */
    char name[BO_ORDER_NAME_MAX + 1];
    bool create_intent;                            /* checkout: make the intent now */
    char payment_method[BO_ORDER_PAYMENT_MAX + 1]; /* confirm: "" asks again */
    bool admin;                                    /* cancel: the admin asks */
} bo_order_request_t;

/*
 * A checkout step for req's hold, taking the flag of the hold's order when
 * it has one (a checkout again). 0 and *out, BO_EORDERBUSY (another step of
 * that order runs: answer 409 ORDER_BUSY) or BO_ENOMEM. Event loop.
 */
int bo_order_checkout_step(bo_orders_t *os, const bo_order_request_t *req, bo_order_step_t **out);
/*
 * A confirm, cancel or abandon step of o (pinned: the pin is taken, on
 * error too), taking its flag. 0 and *out, BO_EORDERBUSY or BO_ENOMEM.
 * Event loop.
 */
int bo_order_step(bo_orders_t *os, bo_order_t *o, enum bo_order_step_kind kind,
                  const bo_order_request_t *req, bo_order_step_t **out);
/* Queue s on the buyers' pool: 0 (done runs once, later, on a worker; s is
 * freed after it), or BO_EBUSY (the queue is full: s is still the
 * caller's, to drop). */
int bo_order_step_run(bo_order_step_t *s, bo_order_done_fn done, void *arg);
/* A step that will not run: its flag and pin given back, s freed. */
void bo_order_step_drop(bo_order_step_t *s);

/*
 * A gateway event (verified by the caller): the order it names is asked
 * about at the gateway and settled. 0 and *out (a step to run: done gets
 * status 200 with message the outcome, an order status or "ignored", or
 * err BO_EGATEWAY), 1 when the event was processed already ("duplicate"),
 * BO_EBUSY when a step of its order runs (deliver again), BO_ENOMEM.
 */
int bo_order_webhook_step(bo_orders_t *os, const bo_pay_event_t *ev, bo_order_step_t **out);

/*
 * A ticket code scanned at the gate, by a scanner of scope (an event; 0:
 * any): a step to run, whose done gets the scan's answer as JSON text
 * (status 200 ok, 409 already_used or wrong_event, 410 voided, 422
 * invalid) or err for a failed commit. 0 and *out, BO_EINVAL (len over
 * BO_ORDER_CODE_INPUT_MAX) or BO_ENOMEM.
 */
int bo_order_scan_step(bo_orders_t *os, uint64_t scope, const char *code, size_t len,
                       bo_order_step_t **out);

/* ---- the gate's pool and documents, for check-in's staff tokens ---------------- */

/* Run fn(arg) on a worker of the gate's pool: 0, or BO_EBUSY (not run). */
int bo_orders_gate_job(bo_orders_t *os, void (*fn)(void *arg), void *arg);
/* Commit one document (body taken), waiting: 0 or BO_E*. Worker threads. */
int bo_orders_doc_save(bo_orders_t *os, const char *coll, const char *id, char *body, size_t len);

/* ---- figures ------------------------------------------------------------------ */

/* How many orders have each status, now; how many are in memory. */
void bo_orders_counts(bo_orders_t *os, uint64_t by_status[BO_ORDER_NSTATUS]);
uint64_t bo_orders_in_memory(bo_orders_t *os);
/* The gateway adapter's counters: false when no gateway. */
bool bo_orders_gateway_stats(bo_orders_t *os, bo_pay_stats_t *st);
/* The reconciler's counters: false when it does not run. */
typedef struct bo_order_reconcile_stats {
    uint64_t calls, exhausted, backlog;
    uint32_t budget_per_s;
} bo_order_reconcile_stats_t;
bool bo_orders_reconcile_stats(bo_orders_t *os, bo_order_reconcile_stats_t *st);
/* Add the event's order figures to a report (docs/api.md "Report"):
 * "orders", "checked_in", "sales_over_time". */
void bo_orders_sales(bo_orders_t *os, uint64_t event, json_t *report);

#endif
