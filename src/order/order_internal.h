/*
 * order_internal.h - orders, tickets and the payment flow inside src/order/
 * (the API sees boxoffice/order.h only), shared by: order_book.c (the
 * orders in memory, their commits), order_doc.c (an order's durable JSON
 * and its API answer), order_lock.c (one step at a time, readers never
 * wait), order_report.c (sales figures), orders.c (the domain's wiring and
 * figures), steps.c (checkout, confirm, cancel, abandon), jobs.c (the
 * worker pools), settle.c (what an intent's state means for an order),
 * webhook.c (gateway events), scan.c (check-in's side), reconcile.c and
 * budget.c (the reconciler's gateway budget).
 *
 * Workload: one order per paid hold, a few steps each (checkout, one to
 * three payment attempts, maybe a refund), every step waiting on a gateway
 * for tens of milliseconds: far rarer and slower than holds. So every step
 * runs on a worker thread, holds its order's mutex for the whole step
 * (gateway calls included: steps of one order never interleave) and waits
 * for its commit; event loops never block on any of it.
 *
 * One step per order at a time: a buyer's step (checkout, confirm, cancel,
 * a hold abandoned) takes the order's step flag (bo__order_step_try) on the
 * event loop before it is queued, and gives it back when it ends; a second
 * buyer step meanwhile is answered at once: 409 ORDER_BUSY with
 * Retry-After: 1. Background steps (a webhook, the reconciler) take a
 * flag of their own (bo__order_background_try), and only while no buyer
 * step runs: otherwise a webhook answers 503 (the gateway delivers it
 * again) and the reconciler looks again on its next scan. So however many
 * requests one order gets, at most two workers meet on its mutex: a buyer
 * step may wait behind one background step (one gateway call), never
 * behind another buyer step, and a background step never waits for a
 * buyer. Check-in takes the mutex without a flag (two scans of a ticket
 * are serialised; a scan never refuses for a busy order) but on its own
 * pool, and waits behind at most those steps. Readers (GET, QR) on an
 * event loop never wait on a step: a step publishes the order as it was
 * when it began (bo__order_lock), and readers serve that.
 *
 * Durability: an order is a document (store.h) rewritten whole at each
 * step; a step that changes seats commits the order in the same
 * transaction as the engine's decision (paid: seats SOLD and tickets
 * issued together; refunded: seats back on sale and tickets voided
 * together). A crash between a gateway call and the commit that records
 * its outcome is repaired by the reconciler, which asks the gateway again
 * with the same idempotency keys.
 */
#ifndef BOXOFFICE_ORDER_INTERNAL_H
#define BOXOFFICE_ORDER_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "order/ids.h"
#include "boxoffice/error.h"
#include "boxoffice/order.h"
#include "boxoffice/pay.h"
#include "boxoffice/store.h"
#include "boxoffice/ticket.h"
#include "util/assert.h"

struct bo_order_book; /* order_book.c */
struct bo_jobs;       /* jobs.c */
struct bo_reconciler; /* reconcile.c */
struct bo_webhooks_seen;

/* The domain (boxoffice/order.h's bo_orders_t): what it was made from,
 * and the state its files share. */
struct bo_orders {
    bo_live_t *live;
    bo_clock_t *clock;
    bo_pay_t *pay;    /* NULL: no gateway (checkout answers 503) */
    char pay_kind[8]; /* "sim", "stripe" or "none" */
    uint32_t reconcile_ms, reconcile_budget_per_s;
    bo_order_event_fn event_info;
    void *event_arg;
    int (*other_doc)(void *arg, const char *coll, const char *id, const char *body, size_t len);
    void *other_arg;
    struct bo_order_book *orders;
    struct bo_jobs *jobs; /* the worker pools */
    struct bo_reconciler *reconciler;
    bo_ticket_keys_t *ticket_keys;
    char ticket_pk_b64[48];
    pthread_mutex_t webhooks_mu;            /* webhook.c: gateway events processed */
    struct bo_webhooks_seen *webhooks_seen; /* the last SEEN_MAX ids */
    bool stopped;
};

/* Now, in ms since the Unix epoch, on the live layer's clock. */
static inline int64_t bo__order_now_ms(const bo_orders_t *os)
{
    return os->clock->now_ms(os->clock);
}

#define BO_ORDER_MAX_TICKETS (BO_HOLD_MAX_SEATS + BO_HOLD_MAX_GA * BO_HOLD_MAX_GA_QTY)

typedef struct bo_ticket {
    uint64_t id;
    uint32_t seat;    /* layout index, or BO_TICKET_GA */
    uint32_t ga_area; /* when GA */
    char code[BO_TICKET_CODE_MAX];
    int64_t checked_in_ms; /* 0: not yet */
} bo_ticket_t;

struct bo_order {
    pthread_mutex_t mu;       /* held by the running step (see above) */
    int step;                 /* 1 while a buyer's step is queued or running (atomic) */
    int background;           /* 1 while a webhook's or the reconciler's step is (atomic) */
    pthread_mutex_t shown_mu; /* guards shown */
    /* a copy of the order's fields when its running step began (its own
     * tickets; the fields from id up to refs), or NULL: readers render it */
    struct bo_order *shown;
    bool published; /* this is such a copy (rendered unlocked: nothing writes it) */
    uint64_t id, event;
    bo_hold_id_t hold;
    char secret[BO_ORDER_SECRET_LEN + 1];
    int status; /* enum bo_order_status */
    int64_t amount_cents;
    char currency[4];
    char email[BO_ORDER_EMAIL_MAX + 1];
    char name[BO_ORDER_NAME_MAX + 1];
    uint64_t customer;
    uint32_t seats[BO_HOLD_MAX_SEATS]; /* the hold's content at checkout */
    uint32_t nseats;
    bo_ga_line_t ga[BO_HOLD_MAX_GA];
    uint32_t nga;
    char intent_id[BO_PAY_ID_MAX]; /* "" until the gateway made it */
    char client_secret[2 * BO_PAY_ID_MAX];
    char last_failed_charge[BO_PAY_ID_MAX]; /* the last decline counted */
    char last_error_code[64], last_error_decline[64], last_error_message[256];
    uint32_t failures;
    char refund_id[BO_PAY_ID_MAX];
    char refund_reason[32]; /* requested_by_customer, admin, unavailable */
    int64_t created_ms, updated_ms, paid_ms, deadline_ms, closed_ms;
    bo_ticket_t *tickets;
    uint32_t ntickets;
    bool opened;          /* its checkout committed (else a retry of it starts over) */
    uint32_t changes;     /* commits of the order since it was loaded (order_book.c) */
    bool hold_key_stored; /* the store finds it by its hold's id: saves write that key once */
    int saved_status;     /* as last committed (loaded), -1 before: commits assert the move */
    /* reconcile.c, in memory only, order locked */
    int64_t recheck_ms;         /* when to ask the gateway again */
    uint32_t looks;             /* the reconciler's steps since the order last changed */
    uint32_t looked_changes;    /* changes when the reconciler last saw it */
    bool looked_overdue;        /* the reconciler's last step found it overdue */
    struct bo_order_book *book; /* set once added: it counts the order's status */
    uint32_t refs;              /* pins (book's lock): a pinned order stays in memory */
};

/* ---- order_book.c -------------------------------------------------------- */

/* The status, read without the order's lock (by the reconciler, metrics
 * and the hold DELETE shortcut), is written with bo__order_set_status, under
 * the lock as every write: an atomic store, and for an added order the
 * book's counts by status and its set of unsettled orders (pending payment
 * or refund) follow. Lock-free readers use bo__order_status. */
void bo__order_set_status(bo_order_t *o, int status);
static inline int bo__order_status(const bo_order_t *o)
{
    return __atomic_load_n(&o->status, __ATOMIC_ACQUIRE);
}

/* A zeroed order's locks (every new or loaded order, before any use). */
void bo__order_init(bo_order_t *o);

/* Take the order's step flag for a buyer's step: true when no other buyer
 * step holds it (the caller then runs its step and ends it with
 * bo__order_step_done), false when one does (answer ORDER_BUSY). Any
 * thread, never waits. */
static inline bool bo__order_step_try(bo_order_t *o)
{
    int free_ = 0;
    return __atomic_compare_exchange_n(&o->step, &free_, 1, false, __ATOMIC_ACQ_REL,
                                       __ATOMIC_ACQUIRE);
}
void bo__order_step_done(bo_order_t *o);
/* The same for a background step (webhook, reconciler): false while any
 * step of the order runs, buyers' included. */
static inline bool bo__order_background_try(bo_order_t *o)
{
    int free_ = 0;
    if (__atomic_load_n(&o->step, __ATOMIC_ACQUIRE))
        return false;
    return __atomic_compare_exchange_n(&o->background, &free_, 1, false, __ATOMIC_ACQ_REL,
                                       __ATOMIC_ACQUIRE);
}
void bo__order_background_done(bo_order_t *o);

/* Lock o for a step that may wait on the gateway or a commit, and publish
 * a copy of it as it is now for readers meanwhile (bo__order_read, which
 * renders the copy: a step renders nothing it does not answer); unlock
 * drops it. Worker threads only. */
void bo__order_lock(bo_orders_t *os, bo_order_t *o);
void bo__order_unlock(bo_order_t *o);
/* Drop the published answer early (o locked), as a step answers: readers
 * then wait the microseconds until its unlock and see its outcome. */
void bo__order_unpublish(bo_order_t *o);
/* The order's API answer with its secret and tickets (malloc'd JSON text,
 * caller frees; NULL when out of memory), for an event loop: rendered now
 * when no step holds the order, else as the running step found it. Waits
 * only on short holders (another reader, a step's first microseconds). */
char *bo__order_read(bo_orders_t *os, bo_order_t *o, size_t *len);

/* The orders of the server; created by bo__orders_register. */
typedef struct bo_order_book bo_order_book_t;
/* An empty book (NULL when out of memory); freeing it frees its orders. */
bo_order_book_t *bo__order_book_new(void);
void bo__order_book_free(bo_order_book_t *b);

const char *bo__order_status_name(int status);
/* The status of a name ("paid"...), or -1. */
int bo__order_status_of(const char *name);
/* The seat map of event's venue, with the event's info in *info; NULL
 * when the event or its venue is unknown (*info then unset). */
const bo_layout_t *bo__order_layout(bo_orders_t *os, uint64_t event, bo_order_event_t *info);
/* A ticket's place into j (order_doc.c): "seat", "section", "row",
 * "number" for a seat; "seat": null, "ga_area", "ga_area_name" for a GA
 * place; nothing (false) when l (may be NULL) does not know it. */
bool bo__order_ticket_place(json_t *j, const bo_layout_t *l, const bo_ticket_t *t);
/* The store that settled orders are read back from, or NULL when every
 * order stays in memory. */
bo_store_t *bo__order_book_store(bo_orders_t *os);
/* Whether no payment step will change the order any more (paid is not
 * final: it may be cancelled). */
bool bo__order_final(int status);

/* The order of id / of a hold / holding a ticket, or NULL, pinned: the
 * pointer (and *t) stays valid until the caller gives its pin back with
 * bo__order_put; a settled order no one pins may leave memory then (it is
 * in the store). Any thread. */
bo_order_t *bo__order_find(bo_orders_t *os, uint64_t id);
/* by_hold: stored false looks in memory only, where every unsettled order
 * is (no read of the store on a hold's release). */
bo_order_t *bo__order_by_hold(bo_orders_t *os, uint64_t event, const bo_hold_id_t *hold,
                              bool stored);
/* by_ticket: the order id its signed code carries, and the ticket's id;
 * *t is the ticket in it. by_intent: orders in memory (and orders stored
 * before intents went unkeyed): a webhook finds a stored order by the
 * order id in its intent's metadata. */
bo_order_t *bo__order_by_ticket(bo_orders_t *os, uint64_t order, uint64_t ticket, bo_ticket_t **t);
bo_order_t *bo__order_by_intent(bo_orders_t *os, const char *intent_id);
/* One more pin of an order the caller has pinned already (handed on to
 * another holder), and the end of one pin. Any thread. */
void bo__order_pin(bo_orders_t *os, bo_order_t *o);
void bo__order_put(bo_orders_t *os, bo_order_t *o);
/* Add a new order (its id set; created pending), pinned for the caller,
 * or return the existing order of its hold, pinned, in *existing (then o
 * is not taken). 0, BO_EEXIST, BO_ENOMEM. */
int bo__order_add(bo_orders_t *os, bo_order_t *o, bo_order_t **existing);
/* Index the order's intent / tickets once they are set (order locked). */
int bo__order_index_intent(bo_orders_t *os, bo_order_t *o);
int bo__order_index_tickets(bo_orders_t *os, bo_order_t *o);
/* Call fn for every order in memory (not locked, pinned during the call),
 * in no order; stops at nonzero. */
int bo__order_each(bo_orders_t *os, int (*fn)(void *arg, bo_order_t *o), void *arg);
/* The same for the orders whose payment or refund is not settled
 * (pending_payment, refund_pending) when the call begins: the reconciler's
 * work, a few at a time however many orders were ever made. */
int bo__order_each_unsettled(bo_orders_t *os, int (*fn)(void *arg, bo_order_t *o), void *arg);
/* Let settled orders leave memory at their last unpin, read back from
 * store on demand (when it reads back: bo_store_can_read). At start,
 * before the orders are loaded. */
void bo__order_book_evict(bo_orders_t *os, bo_store_t *store);
/* The counts by status from the store (every order, in memory or not),
 * once the unsettled orders are loaded. 0 or BO_E*. */
int bo__order_counts_load(bo_orders_t *os);
/* Orders in memory now. */
uint64_t bo__order_in_memory(bo_orders_t *os);
/* How many orders have each status (enum bo_order_status), now. */
void bo__order_counts(bo_orders_t *os, uint64_t by_status[BO_ORDER_NSTATUS]);

/* Add the event's order figures to a report: "orders" (count by status),
 * "checked_in" (tickets scanned) and "sales_over_time" ([{"at" (the hour,
 * RFC 3339), "orders", "tickets", "revenue_cents"}], ascending, paid
 * orders by the hour they were paid, refunded ones included). */
void bo__order_sales(bo_orders_t *os, uint64_t event, json_t *report);

/* The order's durable form (malloc'd JSON text, caller frees; NULL when
 * out of memory) and back (0 or BO_ECORRUPT). */
char *bo__order_doc(const bo_order_t *o, size_t *len);
int bo__order_from_doc(const char *body, size_t len, bo_order_t *o);

/* The API's answer {"order":{...},"payment":{...}} (malloc'd, caller
 * frees), with the secret when with_secret. Order locked, or o a copy it
 * published (bo__order_lock). */
char *bo__order_render(bo_orders_t *os, const bo_order_t *o, bool with_secret, size_t *len);

/* ---- saving (order_book.c; worker threads, order locked) ------------------ */

/* Commit the order's document (with an outbox message of outbox_kind when
 * not NULL), waiting for it: 0 or a BO_E* code. */
int bo__order_save(bo_orders_t *os, bo_order_t *o, const char *outbox_kind);
/* The same in one commit with the decision op (live.h: PAY_START with
 * deadline_ms, PAY_FAILED, CONFIRM, RELEASE or CANCEL) on the order's hold:
 * the decision's status; r (may be NULL) gets its answer. */
int bo__order_save_with(bo_orders_t *os, bo_order_t *o, enum bo_mut_op op, const char *outbox_kind,
                        int64_t deadline_ms, bo_live_result_t *r);
/* Commit one document (body taken: freed here), waiting: 0 or BO_E*. */
int bo__order_doc_save(bo_orders_t *os, const char *coll, const char *id, char *body, size_t len);

/* ---- jobs.c: the worker pools ------------------------------------------- */

enum bo_order_pool {
    BO_ORDER_POOL_PAY,  /* buyers' order steps */
    BO_ORDER_POOL_GATE, /* check-in scans, staff tokens */
    BO_ORDER_POOL_HOOK, /* webhooks, reconciliation */
    BO_ORDER_POOL_COUNT
};
/* The pools' threads (NULL when out of memory); stop finishes the queued
 * jobs, then joins and frees them. */
struct bo_jobs *bo__order_jobs_start(void);
void bo__order_jobs_stop(struct bo_jobs *jobs);
/* Run fn(arg) on a worker of pool which. 0, or BO_EBUSY when that pool's
 * queue is full or stopping (fn is not called). Any thread. */
int bo__order_job(bo_orders_t *os, enum bo_order_pool which, void (*fn)(void *arg), void *arg);

/* ---- budget.c: the reconciler's gateway budget and schedule --------------- */

/* A token bucket of per_s tokens a second holding at most burst, which a
 * charge may leave in debt (budget.c). Any thread. */
typedef struct bo_order_budget {
    pthread_mutex_t mu;
    uint32_t per_s, burst;
    int64_t tokens_m; /* thousandths of a token at last_ms; < 0: in debt */
    int64_t last_ms;
} bo_order_budget_t;
/* A full bucket at now_ms; per_s and burst > 0. */
void bo__order_budget_init(bo_order_budget_t *b, uint32_t per_s, uint32_t burst, int64_t now_ms);
void bo__order_budget_destroy(bo_order_budget_t *b);
/* Take one token at now_ms: true, or false when there is not a whole one
 * (nothing taken). */
bool bo__order_budget_take(bo_order_budget_t *b, int64_t now_ms);
/* Take n more tokens at now_ms, whatever is left (requests already made). */
void bo__order_budget_charge(bo_order_budget_t *b, uint32_t n, int64_t now_ms);
/* The thousandths of a token there at now_ms (< 0: debt). */
int64_t bo__order_budget_tokens_m(bo_order_budget_t *b, int64_t now_ms);

#define BO_RECHECK_BASE_MS 1000            /* the first look after a change */
#define BO_RECHECK_MAX_MS  (5 * 60 * 1000) /* the longest wait between looks */
/* How long after its looks-th look (0: the change itself) an unchanged
 * order is looked at again: 1 s, 2 s, 4 s ... BO_RECHECK_MAX_MS. */
int64_t bo__order_backoff_ms(uint32_t looks);

/* ---- settle.c ------------------------------------------------------------ */

/* Bring order o (locked) in line with its intent's state, as the gateway
 * told it just now (never from a webhook's payload): paid (seats SOLD and
 * tickets, or a late payment's refund), a decline counted once, a
 * cancelled intent. Returns 0 or a BO_E* code of a failed commit. */
int bo__order_settle(bo_orders_t *os, bo_order_t *o, const bo_pay_intent_t *pi);
/* Ask the gateway for o's intent and settle (o locked). 0, BO_EGATEWAY... */
int bo__order_settle_fetch(bo_orders_t *os, bo_order_t *o);
/* Give up on an unpaid order (o locked): cancel its intent at the gateway
 * (settling instead if it turns out paid), release its hold and mark it
 * status (EXPIRED or CANCELED). 0 or a BO_E* code. */
int bo__order_abandon(bo_orders_t *os, bo_order_t *o, int status);
/* Cancel a paid order (o locked): seats back on sale and tickets voided in
 * one commit, then the refund. 0 or a BO_E* code. */
int bo__order_refund(bo_orders_t *os, bo_order_t *o, const char *reason);
/* Finish a pending refund (o locked, REFUND_PENDING). */
int bo__order_refund_finish(bo_orders_t *os, bo_order_t *o);

/* ---- scan.c: check-in's side --------------------------------------------------- */

/* The ticket signing keys: loaded (a "key" document met at start), or made
 * and stored on a store's first start (no order yet). Missing while orders
 * exist: BO_ECORRUPT, after saying so on stderr (a new key would void every
 * ticket sold). */
int bo__order_keys_load(bo_orders_t *os, const char *id, const char *body, size_t len);
int bo__order_keys(bo_orders_t *os);

/* ---- webhook.c ---------------------------------------------------------- */

/* Whether the gateway event id was processed already / remember that it
 * was (after its commit); free the memory of it. */
bool bo__order_webhook_seen(bo_orders_t *os, const char *event_id);
int bo__order_webhook_remember(bo_orders_t *os, const char *event_id);
void bo__order_webhooks_free(bo_orders_t *os);

/* ---- steps.c: a step's life ------------------------------------------------ */

/* One step, from the event loop to its answer on a worker. */
struct bo_order_step {
    bo_orders_t *os;
    enum bo_order_step_kind kind;
    bo_order_done_fn done;
    void *done_arg;
    bo_order_t *order; /* pinned; checkout: the hold's order when it had one */
    bool flagged;      /* the step holds order's step flag (bo__order_step_try) */
    bool background;   /* ... or its background flag (webhook) */
    bo_order_request_t req;
    bool declined;           /* confirm: the gateway declined this attempt */
    bo_pay_intent_t attempt; /* its answer */
    void (*job)(void *arg);  /* not NULL: the job to run (webhook, scan) on pool */
    int pool;                /* enum bo_order_pool */
    bo_pay_event_t ev;       /* webhook */
    uint64_t scope;          /* scan: the event admitted to; 0: any */
    char code[BO_ORDER_CODE_INPUT_MAX + 1];
    size_t len;
};
/* A new step of kind for os (NULL when out of memory). */
bo_order_step_t *bo__order_step_new(bo_orders_t *os, enum bo_order_step_kind kind);
/* Answer the step: a success with the order's answer (o locked), or a
 * refusal (details taken); the flag is given back first. */
void bo__order_answer(bo_order_step_t *s, bo_order_t *o, int status);
void bo__order_refuse(bo_order_step_t *s, int err, const char *message, json_t *details);

/* ---- reconcile.c ------------------------------------------------------------ */

/* Start the reconciler (its thread only with a gateway): 0 or BO_E*. Stop
 * its thread (its steps queued may still run); free it once the worker
 * pools stopped. */
int bo__order_reconcile_start(bo_orders_t *os);
void bo__order_reconcile_stop(bo_orders_t *os);
void bo__order_reconcile_free(bo_orders_t *os);
/* The reconciler's counters (reconcile.c): false when it does not run. */
bool bo__order_reconcile_stats(bo_orders_t *os, bo_order_reconcile_stats_t *st);

#endif
