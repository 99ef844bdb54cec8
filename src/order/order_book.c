/*
 * order_book.c - the orders in memory (order_internal.h): lookups by order,
 * hold, intent and ticket, and the commits that carry orders (alone, or
 * with an engine decision). Their JSON is order_doc.c's, their lock
 * order_lock.c's.
 *
 * Workload: lookups on every order request, scan and webhook; inserts once
 * per checkout; a status change a few times per order. Orders made are
 * millions after a few on-sales, but memory holds only the unsettled ones
 * and those pinned by a user (bo__order_put): a settled order leaves at
 * its last unpin and is read back from the store when asked for by id,
 * hold, intent or ticket (load). What runs periodically (the reconciler,
 * /metrics) reads the few unsettled orders and counters kept up to date at
 * each status change (from the store at start), never every order. One
 * mutex guards the indexes, pins and counters (microseconds); each order's
 * own mutex guards its fields, and its step flag lets one step at a time
 * near them (order_internal.h).
 */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "order/order_internal.h"
#include "boxoffice/u64map.h"
#include "util/time.h"

#define LOAD_ATTEMPTS 8 /* reads of an order that evictions made stale, at most */

struct bo_order_book {
    pthread_mutex_t mu;
    bo_u64map_t by_id, by_hold, by_intent, by_ticket;
    bo_u64map_t unsettled; /* id -> order: pending payment or refund */
    uint64_t by_status[BO_ORDER_NSTATUS];
    uint64_t in_memory; /* orders in by_id */
    uint64_t evictions; /* orders that left memory, ever (loads check it) */
    bool evict;         /* settled orders leave memory at their last unpin */
    bo_store_t *store;  /* where they are read back from (when evict) */
};

static const char *const status_names[BO_ORDER_NSTATUS] = {
    [BO_ORDER_PENDING] = "pending_payment",
    [BO_ORDER_PAID] = "paid",
    [BO_ORDER_FAILED] = "payment_failed",
    [BO_ORDER_EXPIRED] = "expired",
    [BO_ORDER_CANCELED] = "canceled",
    [BO_ORDER_REFUND_PENDING] = "refund_pending",
    [BO_ORDER_REFUNDED] = "refunded",
    [BO_ORDER_REFUNDED_UNAVAILABLE] = "refunded_unavailable",
};

const char *bo__order_status_name(int status)
{
    return status >= 0 && status < BO_ORDER_NSTATUS ? status_names[status] : "unknown";
}

bool bo__order_final(int status)
{
    return status != BO_ORDER_PENDING && status != BO_ORDER_PAID &&
           status != BO_ORDER_REFUND_PENDING;
}

int bo__order_status_of(const char *name)
{
    for (int i = 0; name && i < BO_ORDER_NSTATUS; i++)
        if (strcmp(name, status_names[i]) == 0)
            return i;
    return -1;
}

/* Nonzero 64-bit keys for the maps (0 is the maps' empty key). */
static uint64_t key_of(const void *data, size_t len, uint64_t salt)
{
    uint8_t k[crypto_shorthash_KEYBYTES] = {0};
    uint64_t h;
    memcpy(k, &salt, sizeof(salt));
    crypto_shorthash((unsigned char *)&h, data, len, k);
    return h ? h : 1;
}

static uint64_t hold_key(uint64_t event, const bo_hold_id_t *hold)
{
    uint8_t b[8 + sizeof(hold->b)];
    memcpy(b, &event, 8);
    memcpy(b + 8, hold->b, sizeof(hold->b));
    return key_of(b, sizeof(b), 1);
}

static bo_order_book_t *book(bo_orders_t *os)
{
    return os->orders;
}

bo_order_book_t *bo__order_book_new(void)
{
    bo_order_book_t *b = calloc(1, sizeof(*b));
    if (b)
        pthread_mutex_init(&b->mu, NULL);
    return b;
}

void bo__order_book_free(bo_order_book_t *b)
{
    if (!b)
        return;
    for (size_t i = 0; b->by_id.keys && i <= b->by_id.mask; i++)
        if (b->by_id.keys[i]) {
            bo_order_t *o = b->by_id.vals[i];
            pthread_mutex_destroy(&o->mu);
            pthread_mutex_destroy(&o->shown_mu);
            free(o->shown);
            free(o->tickets);
            free(o);
        }
    bo_u64map_free(&b->by_id);
    bo_u64map_free(&b->by_hold);
    bo_u64map_free(&b->by_intent);
    bo_u64map_free(&b->by_ticket);
    bo_u64map_free(&b->unsettled);
    pthread_mutex_destroy(&b->mu);
    free(b);
}

/* The order under key in m, pinned (book locked): a pinned order is never
 * evicted (bo__order_put). */
static bo_order_t *find(bo_orders_t *os, bo_u64map_t *m, uint64_t key)
{
    BO_ASSERT(!bo_mutex_held(&book(os)->mu));
    pthread_mutex_lock(&book(os)->mu);
    bo_order_t *o = bo_u64map_get(m, key);
    if (o)
        o->refs++;
    pthread_mutex_unlock(&book(os)->mu);
    return o;
}

static int index_order(bo_order_book_t *b, bo_order_t *o);
static void order_free(bo_order_t *o);

/* A settled order read back from the store by id (coll "order") or by one
 * of its keys (coll NULL), added to memory, pinned; NULL when there is no
 * such order (or it does not load). An eviction while it was read may
 * have stored a newer version than the one read: then it is read again. */
static bo_order_t *load(bo_orders_t *os, const char *coll, const char *key)
{
    bo_order_book_t *b = book(os);
    for (int attempt = 0; b->evict && attempt < LOAD_ATTEMPTS; attempt++) {
        char *body = NULL;
        size_t len = 0;
        pthread_mutex_lock(&b->mu);
        uint64_t gen = b->evictions;
        pthread_mutex_unlock(&b->mu);
        if (bo_store_doc_get(b->store, coll, key, &body, &len))
            return NULL;
        bo_order_t *o = calloc(1, sizeof(*o));
        int rc = o ? 0 : BO_ENOMEM;
        if (rc == 0) {
            bo__order_init(o);
            rc = bo__order_from_doc(body, len, o);
            o->opened = true;
        }
        free(body);
        if (rc) {
            if (o)
                order_free(o);
            return NULL;
        }
        pthread_mutex_lock(&b->mu);
        bo_order_t *in = bo_u64map_get(&b->by_id, o->id);
        bool stale = !in && gen != b->evictions;
        if (in)
            in->refs++;
        else if (!stale && (rc = index_order(b, o)) == 0)
            o->refs = 1;
        pthread_mutex_unlock(&b->mu);
        if (in || (!stale && rc == 0)) {
            if (in)
                order_free(o);
            return in ? in : o;
        }
        order_free(o);
        if (rc)
            return NULL;
    }
    return NULL;
}

bo_order_t *bo__order_find(bo_orders_t *os, uint64_t id)
{
    char oid[BO_ID_ORDER_LEN + 1];
    bo_order_t *o = id ? find(os, &book(os)->by_id, id) : NULL;
    if (o || !id)
        return o;
    bo_id_order(oid, id);
    return load(os, "order", oid);
}

bo_order_t *bo__order_by_hold(bo_orders_t *os, uint64_t event, const bo_hold_id_t *hold,
                              bool stored)
{
    char hid[BO_ID_HOLD_LEN + 1];
    BO_ASSERT(hold != NULL);
    bo_order_t *o = find(os, &book(os)->by_hold, hold_key(event, hold));
    if (o || !stored)
        return o;
    bo_id_hold(hid, event, hold);
    return load(os, NULL, hid);
}

bo_order_t *bo__order_by_intent(bo_orders_t *os, const char *intent_id)
{
    if (!intent_id || !intent_id[0])
        return NULL;
    bo_order_t *o = find(os, &book(os)->by_intent, key_of(intent_id, strlen(intent_id), 2));
    if (!o && strlen(intent_id) < BO_PAY_ID_MAX)
        o = load(os, NULL, intent_id); /* orders stored before intents went unkeyed */
    if (o && strcmp(o->intent_id, intent_id) != 0) {
        bo__order_put(os, o);
        o = NULL;
    }
    return o;
}

bo_order_t *bo__order_by_ticket(bo_orders_t *os, uint64_t order, uint64_t ticket, bo_ticket_t **t)
{
    BO_ASSERT(t != NULL);
    bo_order_t *o = ticket ? find(os, &book(os)->by_ticket, ticket) : NULL;
    if (o && o->id != order) {
        bo__order_put(os, o);
        return NULL;
    }
    if (!o && ticket)
        o = bo__order_find(os, order); /* settled: on disk, found by the order's id */
    for (uint32_t i = 0; o && i < o->ntickets; i++)
        if (o->tickets[i].id == ticket) {
            BO_ASSERT(o->id == order);
            *t = &o->tickets[i];
            return o;
        }
    if (o)
        bo__order_put(os, o);
    return NULL;
}

void bo__order_pin(bo_orders_t *os, bo_order_t *o)
{
    pthread_mutex_lock(&book(os)->mu);
    BO_ASSERT(o->refs > 0 && o->refs < UINT32_MAX); /* the caller holds a pin */
    o->refs++;
    pthread_mutex_unlock(&book(os)->mu);
}

/* Whether o (book locked, no pin) may leave memory: settled, no step
 * running, and the book evicts (order_book.c's EVICT). */
static bool evictable(bo_order_book_t *b, const bo_order_t *o)
{
    BO_ASSERT(bo_mutex_held(&b->mu));
    int st = bo__order_status(o);
    return b->evict && o->refs == 0 && st != BO_ORDER_PENDING && st != BO_ORDER_REFUND_PENDING &&
           !__atomic_load_n(&o->step, __ATOMIC_ACQUIRE) &&
           !__atomic_load_n(&o->background, __ATOMIC_ACQUIRE);
}

/* Take o out of every index (book locked). */
static void unindex(bo_order_book_t *b, bo_order_t *o)
{
    BO_ASSERT(bo_mutex_held(&b->mu) && b->in_memory > 0);
    bo_u64map_del(&b->by_id, o->id);
    if (bo_u64map_get(&b->by_hold, hold_key(o->event, &o->hold)) == o)
        bo_u64map_del(&b->by_hold, hold_key(o->event, &o->hold));
    uint64_t ik = o->intent_id[0] ? key_of(o->intent_id, strlen(o->intent_id), 2) : 0;
    if (ik && bo_u64map_get(&b->by_intent, ik) == o)
        bo_u64map_del(&b->by_intent, ik);
    for (uint32_t i = 0; i < o->ntickets; i++)
        if (bo_u64map_get(&b->by_ticket, o->tickets[i].id) == o)
            bo_u64map_del(&b->by_ticket, o->tickets[i].id);
    b->in_memory--;
    b->evictions++;
}

/* Put a loaded order in every index (book locked; its status is counted
 * already: the counts cover the orders on disk). 0 or BO_ENOMEM. */
static int index_order(bo_order_book_t *b, bo_order_t *o)
{
    BO_ASSERT(bo_mutex_held(&b->mu) && o->book == NULL);
    uint64_t ik = o->intent_id[0] ? key_of(o->intent_id, strlen(o->intent_id), 2) : 0;
    int rc = bo_u64map_put(&b->by_id, o->id, o) ||
             bo_u64map_put(&b->by_hold, hold_key(o->event, &o->hold), o) ||
             (ik && bo_u64map_put(&b->by_intent, ik, o));
    for (uint32_t i = 0; rc == 0 && o->status == BO_ORDER_PAID && i < o->ntickets; i++)
        rc = bo_u64map_put(&b->by_ticket, o->tickets[i].id, o);
    if (rc) {
        b->in_memory++; /* unindex counts it out */
        b->evictions--;
        unindex(b, o);
        return BO_ENOMEM;
    }
    o->book = b;
    b->in_memory++;
    return 0;
}

void bo__order_book_evict(bo_orders_t *os, bo_store_t *store)
{
    bo_order_book_t *b = book(os);
    pthread_mutex_lock(&b->mu);
    b->store = store;
    b->evict = store && bo_store_can_read(store);
    pthread_mutex_unlock(&b->mu);
}

bo_store_t *bo__order_book_store(bo_orders_t *os)
{
    return book(os)->evict ? book(os)->store : NULL;
}

uint64_t bo__order_in_memory(bo_orders_t *os)
{
    pthread_mutex_lock(&book(os)->mu);
    uint64_t n = book(os)->in_memory;
    pthread_mutex_unlock(&book(os)->mu);
    return n;
}

static int count_tag(void *arg, const char *tag, uint64_t count)
{
    uint64_t *by = arg;
    int st = bo__order_status_of(tag);
    if (st >= 0)
        by[st] += count;
    return 0;
}

int bo__order_counts_load(bo_orders_t *os)
{
    bo_order_book_t *b = book(os);
    uint64_t by[BO_ORDER_NSTATUS] = {0};
    if (!b->evict)
        return 0; /* every order is in memory, counted */
    int rc = bo_store_doc_tags(b->store, "order", NULL, count_tag, by);
    if (rc == 0) {
        pthread_mutex_lock(&b->mu);
        memcpy(b->by_status, by, sizeof(by));
        pthread_mutex_unlock(&b->mu);
    }
    return rc;
}

static void order_free(bo_order_t *o)
{
    pthread_mutex_destroy(&o->mu);
    pthread_mutex_destroy(&o->shown_mu);
    free(o->tickets);
    free(o);
}

void bo__order_put(bo_orders_t *os, bo_order_t *o)
{
    bo_order_book_t *b = book(os);
    bool gone = false;
    /* a pin is given back after the order's unlock: the last one may free
     * it (a settled order leaves memory), lock and all */
    BO_ASSERT(o != NULL && !bo_mutex_held(&o->mu));
    pthread_mutex_lock(&b->mu);
    BO_ASSERT(o->refs > 0); /* pins never go negative */
    o->refs--;
    if (o->book && evictable(b, o)) {
        unindex(b, o);
        gone = true;
    }
    pthread_mutex_unlock(&b->mu);
    if (gone)
        order_free(o);
}

static bool unsettled(int status)
{
    return status == BO_ORDER_PENDING || status == BO_ORDER_REFUND_PENDING;
}

int bo__order_add(bo_orders_t *os, bo_order_t *o, bo_order_t **existing)
{
    bo_order_book_t *b = book(os);
    uint64_t hk = hold_key(o->event, &o->hold);
    int rc = 0, status = bo__order_status(o);
    BO_ASSERT(existing != NULL && o->id != 0 && o->book == NULL && o->refs == 0);
    BO_ASSERT(status >= 0 && status < BO_ORDER_NSTATUS);
    pthread_mutex_lock(&b->mu);
    if ((*existing = bo_u64map_get(&b->by_hold, hk)) || bo_u64map_get(&b->by_id, o->id)) {
        if (*existing)
            (*existing)->refs++;
        rc = BO_EEXIST;
    } else if (bo_u64map_put(&b->by_id, o->id, o) || bo_u64map_put(&b->by_hold, hk, o) ||
               (unsettled(status) && bo_u64map_put(&b->unsettled, o->id, o))) {
        bo_u64map_del(&b->by_id, o->id);
        bo_u64map_del(&b->by_hold, hk);
        rc = BO_ENOMEM;
    } else {
        o->book = b;
        o->refs = 1; /* the caller's */
        b->in_memory++;
        if (status >= 0 && status < BO_ORDER_NSTATUS)
            b->by_status[status]++;
    }
    pthread_mutex_unlock(&b->mu);
    return rc;
}

void bo__order_set_status(bo_order_t *o, int status)
{
    BO_ASSERT(status >= 0 && status < BO_ORDER_NSTATUS);
    int was = __atomic_exchange_n(&o->status, status, __ATOMIC_ACQ_REL);
    bo_order_book_t *b = o->book;
    if (!b || was == status)
        return;
    pthread_mutex_lock(&b->mu);
    BO_ASSERT(was >= 0 && was < BO_ORDER_NSTATUS && b->by_status[was] > 0); /* o is counted */
    if (was >= 0 && was < BO_ORDER_NSTATUS)
        b->by_status[was]--;
    if (status >= 0 && status < BO_ORDER_NSTATUS)
        b->by_status[status]++;
    if (unsettled(status) && !unsettled(was) && bo_u64map_put(&b->unsettled, o->id, o))
        fprintf(stderr, "boxoffice: out of memory: order %llu is not reconciled\n",
                (unsigned long long)o->id);
    else if (!unsettled(status) && unsettled(was))
        bo_u64map_del(&b->unsettled, o->id);
    pthread_mutex_unlock(&b->mu);
}

void bo__order_counts(bo_orders_t *os, uint64_t by_status[BO_ORDER_NSTATUS])
{
    bo_order_book_t *b = book(os);
    pthread_mutex_lock(&b->mu);
    memcpy(by_status, b->by_status, sizeof(b->by_status));
    pthread_mutex_unlock(&b->mu);
}

int bo__order_index_intent(bo_orders_t *os, bo_order_t *o)
{
    BO_ASSERT(bo_mutex_held(&o->mu) && o->book != NULL);
    if (!o->intent_id[0])
        return 0;
    pthread_mutex_lock(&book(os)->mu);
    int rc = bo_u64map_put(&book(os)->by_intent, key_of(o->intent_id, strlen(o->intent_id), 2), o);
    pthread_mutex_unlock(&book(os)->mu);
    return rc ? BO_ENOMEM : 0;
}

int bo__order_index_tickets(bo_orders_t *os, bo_order_t *o)
{
    int rc = 0;
    BO_ASSERT(bo_mutex_held(&o->mu) && o->book != NULL);
    BO_ASSERT(bo__order_status(o) == BO_ORDER_PAID); /* tickets index while they are valid */
    pthread_mutex_lock(&book(os)->mu);
    for (uint32_t i = 0; rc == 0 && i < o->ntickets; i++)
        rc = bo_u64map_put(&book(os)->by_ticket, o->tickets[i].id, o) ? BO_ENOMEM : 0;
    pthread_mutex_unlock(&book(os)->mu);
    return rc;
}

/* fn for every order of m (a map of the book's), from a copy taken under
 * the book's lock: fn may take order locks and call back in. */
static int each_of(bo_orders_t *os, bo_order_book_t *b, const bo_u64map_t *m,
                   int (*fn)(void *arg, bo_order_t *o), void *arg)
{
    pthread_mutex_lock(&b->mu);
    size_t n = 0, cap = m->keys ? m->n : 0;
    bo_order_t **all = cap ? malloc(cap * sizeof(*all)) : NULL;
    for (size_t i = 0; all && i <= m->mask && n < cap; i++)
        if (m->keys[i]) {
            all[n] = m->vals[i];
            all[n++]->refs++; /* pinned while fn may use it */
        }
    pthread_mutex_unlock(&b->mu);
    if (cap && !all)
        return BO_ENOMEM;
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        if (rc == 0)
            rc = fn(arg, all[i]);
        bo__order_put(os, all[i]);
    }
    free(all);
    return rc;
}

int bo__order_each(bo_orders_t *os, int (*fn)(void *arg, bo_order_t *o), void *arg)
{
    return each_of(os, book(os), &book(os)->by_id, fn, arg);
}

int bo__order_each_unsettled(bo_orders_t *os, int (*fn)(void *arg, bo_order_t *o), void *arg)
{
    return each_of(os, book(os), &book(os)->unsettled, fn, arg);
}

/* ---- commits ------------------------------------------------------------------ */

/* Up to four documents to commit with a decision: the order, plus an
 * outbox notification. */
typedef struct bo_order_commit {
    bo_doc_t docs[4];
    uint32_t ndocs;
    char *bodies[4]; /* owned: freed by commit_clear */
    char ids[4][BO_DOC_ID_MAX + 1];
    char group[BO_ID_EVENT_LEN + 1]; /* the order's event */
    char figures[96];                /* what the report counts (add_stored_sales) */
    char (*keys)[BO_DOC_ID_MAX + 1]; /* its hold's id, when new (malloc'd) */
    const char **keyv;
    bool hold_key_new;  /* this commit writes the hold's key */
    bo_live_result_t r; /* the decision's answer */
} bo_order_commit_t;

static int commit_doc(bo_order_commit_t *c, const char *coll, const char *id, char *body,
                      size_t len)
{
    BO_ASSERT(coll != NULL && id != NULL && strlen(id) <= BO_DOC_ID_MAX);
    if (!body || c->ndocs >= 4) {
        free(body);
        return BO_ENOMEM;
    }
    uint32_t i = c->ndocs++;
    snprintf(c->ids[i], sizeof(c->ids[i]), "%s", id);
    c->bodies[i] = body;
    c->docs[i] = (bo_doc_t){.coll = coll, .id = c->ids[i], .body = body, .len = len};
    return 0;
}

/* What finds the order's document again: settled or not, its event and
 * status (counted by bo_store_doc_tags), and its hold's id, written once
 * (o->hold_key_stored). Its tickets are found by the order id their signed
 * codes carry, its intent by the order id in the intent's metadata. */
static int order_doc_keys(bo_order_commit_t *c, bo_doc_t *d, const bo_order_t *o)
{
    uint32_t n = 0;
    if (!(c->keys = malloc(sizeof(*c->keys))) || !(c->keyv = malloc(sizeof(char *))))
        return BO_ENOMEM;
    if ((c->hold_key_new = !o->hold_key_stored))
        bo_id_hold(c->keys[n++], o->event, &o->hold);
    for (uint32_t i = 0; i < n; i++)
        c->keyv[i] = c->keys[i];
    bo_id_event(c->group, o->event);
    uint32_t in = 0;
    for (uint32_t i = 0; i < o->ntickets; i++)
        in += o->tickets[i].checked_in_ms != 0;
    /* "paid_ms tickets amount_cents checked_in", read by add_stored_sales */
    snprintf(c->figures, sizeof(c->figures), "%lld %u %lld %u", (long long)o->paid_ms, o->ntickets,
             (long long)o->amount_cents, in);
    d->figures = c->figures;
    d->settled = !unsettled(o->status);
    d->group = c->group;
    d->tag = bo__order_status_name(o->status);
    d->keys = c->keyv;
    d->nkeys = n;
    return 0;
}

static int commit_order(bo_order_commit_t *c, const bo_order_t *o, const char *outbox_kind)
{
    char id[BO_ID_ORDER_LEN + 1];
    size_t len = 0;
    bo_id_order(id, o->id);
    char *doc = bo__order_doc(o, &len);
    int rc = commit_doc(c, "order", id, doc, len);
    if (rc == 0)
        rc = order_doc_keys(c, &c->docs[c->ndocs - 1], o);
    if (rc || !outbox_kind || !o->email[0]) /* no address: nothing to send */
        return rc;
    char evt[BO_ID_EVENT_LEN + 1], key[BO_DOC_ID_MAX + 1];
    bo_id_event(evt, o->event);
    json_t *msg = json_pack("{sssssssssssIss}", "kind", outbox_kind, "order_id", id, "event_id",
                            evt, "email", o->email, "name", o->name, "amount_cents",
                            (json_int_t)o->amount_cents, "currency", o->currency);
    char *body = msg ? json_dumps(msg, JSON_COMPACT) : NULL;
    json_decref(msg);
    snprintf(key, sizeof(key), "%s:%s", id, outbox_kind);
    return commit_doc(c, "outbox", key, body, body ? strlen(body) : 0);
}

static void commit_clear(bo_order_commit_t *c)
{
    for (uint32_t i = 0; i < c->ndocs; i++)
        free(c->bodies[i]);
    c->ndocs = 0;
    free(c->keys);
    free(c->keyv);
    c->keys = NULL;
    c->keyv = NULL;
}

/* A worker waiting for its commit: live.h's waiter, with the documents
 * that ride with the decision. */
struct wait {
    bo_live_wait_t w; /* first: bo_live_wait_done's arg */
    bo_order_commit_t *c;
};

static void wait_decided(void *arg, const bo_live_result_t *r, bo_rec_t *rec)
{
    struct wait *w = arg;
    rec->docs = w->c->docs;
    rec->ndocs = w->c->ndocs;
}

/* The call's answer into c->r: its error return, else what it waited for. */
static int wait_for(struct wait *w, int rc)
{
    if (rc == 0)
        rc = bo_live_wait(&w->w, &w->c->r);
    w->c->r.status = rc;
    bo_live_wait_destroy(&w->w);
    return rc;
}

static void wait_init(struct wait *w, bo_order_commit_t *c)
{
    bo_live_wait_init(&w->w);
    w->c = c;
    memset(&c->r, 0, sizeof(c->r));
}

static int commit_docs(bo_orders_t *os, bo_order_commit_t *c)
{
    struct wait w;
    BO_ASSERT(!bo_mutex_held(&book(os)->mu)); /* waits a commit: every lookup would too */
    wait_init(&w, c);
    return wait_for(&w, bo_live_put_docs(os->live, c->docs, c->ndocs, bo_live_wait_done, &w));
}

/* The decision op on the order's hold, with c's documents, waited for. */
static int commit_with(bo_orders_t *os, bo_order_commit_t *c, enum bo_mut_op op,
                       const bo_order_t *o, int64_t deadline_ms)
{
    struct wait w;
    BO_ASSERT(!bo_mutex_held(&book(os)->mu));
    wait_init(&w, c);
    bo_live_call_t call = {bo_live_wait_done, &w, wait_decided};
    bo_mut_t m = {.op = (uint8_t)op,
                  .id = o->hold,
                  .deadline_ms = deadline_ms,
                  .customer = o->customer,
                  .amount_cents = o->amount_cents,
                  .seats = o->seats,
                  .nseats = o->nseats,
                  .ga = o->ga,
                  .nga = o->nga};
    return wait_for(&w, bo_live_apply(os->live, o->event, &m, &call, &c->r));
}

/* ---- saving (worker threads, order locked) --------------------------------------- */

/* Whether a commit may take o from the status it last committed (-1:
 * none yet) to now: a settled order never goes back to pending, a paid
 * one only to a refund, a refund only to its end; an unpaid end only to a
 * late payment (paid, or refunded when its seats went). */
static bool move_ok(int was, int now)
{
    switch (was) {
    case -1:
    case BO_ORDER_PENDING:
        return true;
    case BO_ORDER_PAID:
        return now == BO_ORDER_PAID || now == BO_ORDER_REFUND_PENDING;
    case BO_ORDER_REFUND_PENDING:
        return now == was || now == BO_ORDER_REFUNDED || now == BO_ORDER_REFUNDED_UNAVAILABLE;
    case BO_ORDER_REFUNDED:
    case BO_ORDER_REFUNDED_UNAVAILABLE:
        return now == was;
    default: /* failed, expired, canceled */
        return now == was || now == BO_ORDER_PAID || now == BO_ORDER_REFUND_PENDING;
    }
}

/* Whether o's tickets are there exactly when its status says so: one per
 * seat and GA place once paid (kept, void, by a refund of it), none
 * before. */
static bool tickets_ok(const bo_order_t *o)
{
    uint32_t places = o->nseats;
    for (uint32_t i = 0; i < o->nga; i++)
        places += o->ga[i].quantity;
    switch (o->status) {
    case BO_ORDER_PAID:
        return o->ntickets == places && (places == 0 || o->tickets != NULL);
    case BO_ORDER_REFUND_PENDING:
    case BO_ORDER_REFUNDED:
    case BO_ORDER_REFUNDED_UNAVAILABLE:
        return o->ntickets == 0 || o->ntickets == places;
    default:
        return o->ntickets == 0;
    }
}

/* The contract of every commit of an order: the running step's, order
 * locked; its move and its tickets as above. */
static void commit_check(const bo_order_t *o)
{
    BO_ASSERT(bo_mutex_held((pthread_mutex_t *)&o->mu));
    BO_ASSERT(move_ok(o->saved_status, o->status));
    BO_ASSERT(tickets_ok(o));
}

int bo__order_save(bo_orders_t *os, bo_order_t *o, const char *outbox_kind)
{
    bo_order_commit_t c = {0};
    commit_check(o);
    o->updated_ms = bo__order_now_ms(os);
    int rc = commit_order(&c, o, outbox_kind);
    if (rc == 0)
        rc = commit_docs(os, &c);
    if (rc == 0) {
        o->changes++; /* the reconciler starts its schedule over */
        o->hold_key_stored |= c.hold_key_new;
        o->saved_status = o->status;
    }
    commit_clear(&c);
    return rc;
}

int bo__order_save_with(bo_orders_t *os, bo_order_t *o, enum bo_mut_op op, const char *outbox_kind,
                        int64_t deadline_ms, bo_live_result_t *r)
{
    bo_order_commit_t c = {0};
    commit_check(o);
    BO_ASSERT(op == BO_MUT_PAY_START || op == BO_MUT_PAY_FAILED || op == BO_MUT_CONFIRM ||
              op == BO_MUT_RELEASE || op == BO_MUT_CANCEL);
    BO_ASSERT(op != BO_MUT_PAY_START || deadline_ms > 0);
    o->updated_ms = bo__order_now_ms(os);
    int rc = commit_order(&c, o, outbox_kind);
    if (rc == 0)
        rc = commit_with(os, &c, op, o, deadline_ms);
    if (rc == 0) {
        o->changes++;
        o->hold_key_stored |= c.hold_key_new;
        o->saved_status = o->status;
    }
    if (r)
        *r = c.r;
    commit_clear(&c);
    return rc;
}

int bo__order_doc_save(bo_orders_t *os, const char *coll, const char *id, char *body, size_t len)
{
    bo_order_commit_t c = {0};
    int rc = commit_doc(&c, coll, id, body, len);
    if (rc == 0)
        rc = commit_docs(os, &c);
    commit_clear(&c);
    return rc;
}
