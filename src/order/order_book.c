/*
 * order_book.c - the orders in memory (order.h): lookups by order, hold,
 * intent and ticket, the durable JSON of an order, its API answer, and the
 * commits that carry orders (alone, or with an engine decision).
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
 * near them (order.h).
 */
#include <assert.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "api/order.h"
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

static int status_of(const char *name)
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

static bo_order_book_t *book(bo_api_t *api)
{
    return api->orders;
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
static bo_order_t *find(bo_api_t *api, bo_u64map_t *m, uint64_t key)
{
    pthread_mutex_lock(&book(api)->mu);
    bo_order_t *o = bo_u64map_get(m, key);
    if (o)
        o->refs++;
    pthread_mutex_unlock(&book(api)->mu);
    return o;
}

static int index_order(bo_order_book_t *b, bo_order_t *o);
static void order_free(bo_order_t *o);

/* A settled order read back from the store by id (coll "order") or by one
 * of its keys (coll NULL), added to memory, pinned; NULL when there is no
 * such order (or it does not load). An eviction while it was read may
 * have stored a newer version than the one read: then it is read again. */
static bo_order_t *load(bo_api_t *api, const char *coll, const char *key)
{
    bo_order_book_t *b = book(api);
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

bo_order_t *bo__order_find(bo_api_t *api, uint64_t id)
{
    char oid[BO_ID_ORDER_LEN + 1];
    bo_order_t *o = id ? find(api, &book(api)->by_id, id) : NULL;
    if (o || !id)
        return o;
    bo_id_order(oid, id);
    return load(api, "order", oid);
}

bo_order_t *bo__order_by_hold(bo_api_t *api, uint64_t event, const bo_hold_id_t *hold, bool stored)
{
    char hid[BO_ID_HOLD_LEN + 1];
    bo_order_t *o = find(api, &book(api)->by_hold, hold_key(event, hold));
    if (o || !stored)
        return o;
    bo_id_hold(hid, event, hold);
    return load(api, NULL, hid);
}

bo_order_t *bo__order_by_intent(bo_api_t *api, const char *intent_id)
{
    if (!intent_id || !intent_id[0])
        return NULL;
    bo_order_t *o = find(api, &book(api)->by_intent, key_of(intent_id, strlen(intent_id), 2));
    if (!o && strlen(intent_id) < BO_PAY_ID_MAX)
        o = load(api, NULL, intent_id); /* orders stored before intents went unkeyed */
    if (o && strcmp(o->intent_id, intent_id) != 0) {
        bo__order_put(api, o);
        o = NULL;
    }
    return o;
}

bo_order_t *bo__order_by_ticket(bo_api_t *api, uint64_t order, uint64_t ticket, bo_ticket_t **t)
{
    bo_order_t *o = ticket ? find(api, &book(api)->by_ticket, ticket) : NULL;
    if (o && o->id != order) {
        bo__order_put(api, o);
        return NULL;
    }
    if (!o && ticket)
        o = bo__order_find(api, order); /* settled: on disk, found by the order's id */
    for (uint32_t i = 0; o && i < o->ntickets; i++)
        if (o->tickets[i].id == ticket) {
            *t = &o->tickets[i];
            return o;
        }
    if (o)
        bo__order_put(api, o);
    return NULL;
}

void bo__order_pin(bo_api_t *api, bo_order_t *o)
{
    pthread_mutex_lock(&book(api)->mu);
    assert(o->refs > 0); /* the caller holds a pin */
    o->refs++;
    pthread_mutex_unlock(&book(api)->mu);
}

/* Whether o (book locked, no pin) may leave memory: settled, no step
 * running, and the book evicts (order_book.c's EVICT). */
static bool evictable(const bo_order_book_t *b, const bo_order_t *o)
{
    int st = bo__order_status(o);
    return b->evict && o->refs == 0 && st != BO_ORDER_PENDING && st != BO_ORDER_REFUND_PENDING &&
           !__atomic_load_n(&o->step, __ATOMIC_ACQUIRE) &&
           !__atomic_load_n(&o->background, __ATOMIC_ACQUIRE);
}

/* Take o out of every index (book locked). */
static void unindex(bo_order_book_t *b, bo_order_t *o)
{
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

void bo__order_book_evict(bo_api_t *api, bo_store_t *store)
{
    bo_order_book_t *b = book(api);
    pthread_mutex_lock(&b->mu);
    b->store = store;
    b->evict = store && bo_store_can_read(store);
    pthread_mutex_unlock(&b->mu);
}

uint64_t bo__order_in_memory(bo_api_t *api)
{
    pthread_mutex_lock(&book(api)->mu);
    uint64_t n = book(api)->in_memory;
    pthread_mutex_unlock(&book(api)->mu);
    return n;
}

static int count_tag(void *arg, const char *tag, uint64_t count)
{
    uint64_t *by = arg;
    int st = status_of(tag);
    if (st >= 0)
        by[st] += count;
    return 0;
}

int bo__order_counts_load(bo_api_t *api)
{
    bo_order_book_t *b = book(api);
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

void bo__order_put(bo_api_t *api, bo_order_t *o)
{
    bo_order_book_t *b = book(api);
    bool gone = false;
    pthread_mutex_lock(&b->mu);
    assert(o->refs > 0);
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

int bo__order_add(bo_api_t *api, bo_order_t *o, bo_order_t **existing)
{
    bo_order_book_t *b = book(api);
    uint64_t hk = hold_key(o->event, &o->hold);
    int rc = 0, status = bo__order_status(o);
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
    int was = __atomic_exchange_n(&o->status, status, __ATOMIC_ACQ_REL);
    bo_order_book_t *b = o->book;
    if (!b || was == status)
        return;
    pthread_mutex_lock(&b->mu);
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

void bo__order_counts(bo_api_t *api, uint64_t by_status[BO_ORDER_NSTATUS])
{
    bo_order_book_t *b = book(api);
    pthread_mutex_lock(&b->mu);
    memcpy(by_status, b->by_status, sizeof(b->by_status));
    pthread_mutex_unlock(&b->mu);
}

int bo__order_index_intent(bo_api_t *api, bo_order_t *o)
{
    if (!o->intent_id[0])
        return 0;
    pthread_mutex_lock(&book(api)->mu);
    int rc = bo_u64map_put(&book(api)->by_intent, key_of(o->intent_id, strlen(o->intent_id), 2), o);
    pthread_mutex_unlock(&book(api)->mu);
    return rc ? BO_ENOMEM : 0;
}

int bo__order_index_tickets(bo_api_t *api, bo_order_t *o)
{
    int rc = 0;
    pthread_mutex_lock(&book(api)->mu);
    for (uint32_t i = 0; rc == 0 && i < o->ntickets; i++)
        rc = bo_u64map_put(&book(api)->by_ticket, o->tickets[i].id, o) ? BO_ENOMEM : 0;
    pthread_mutex_unlock(&book(api)->mu);
    return rc;
}

/* fn for every order of m (a map of the book's), from a copy taken under
 * the book's lock: fn may take order locks and call back in. */
static int each_of(bo_api_t *api, bo_order_book_t *b, const bo_u64map_t *m,
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
        bo__order_put(api, all[i]);
    }
    free(all);
    return rc;
}

int bo__order_each(bo_api_t *api, int (*fn)(void *arg, bo_order_t *o), void *arg)
{
    return each_of(api, book(api), &book(api)->by_id, fn, arg);
}

int bo__order_each_unsettled(bo_api_t *api, int (*fn)(void *arg, bo_order_t *o), void *arg)
{
    return each_of(api, book(api), &book(api)->unsettled, fn, arg);
}

/* ---- the durable form ------------------------------------------------------- */

static json_t *time_or_null(int64_t ms)
{
    char t[BO_RFC3339_SIZE];
    if (!ms)
        return json_null();
    bo_time_format(ms, t);
    return json_string(t);
}

static json_t *hex_json(const uint8_t *b, size_t n)
{
    char hex[2 * 64 + 1];
    sodium_bin2hex(hex, sizeof(hex), b, n);
    return json_string(hex);
}

char *bo__order_doc(const bo_order_t *o, size_t *len)
{
    char oid[BO_ID_ORDER_LEN + 1], evt[BO_ID_EVENT_LEN + 1], cust[17];
    bo_id_order(oid, o->id);
    bo_id_event(evt, o->event);
    snprintf(cust, sizeof(cust), "%016llx", (unsigned long long)o->customer);
    json_t *seats = json_array(), *ga = json_array(), *tickets = json_array();
    for (uint32_t i = 0; i < o->nseats; i++)
        json_array_append_new(seats, json_integer(o->seats[i]));
    for (uint32_t i = 0; i < o->nga; i++)
        json_array_append_new(
            ga, json_pack("[II]", (json_int_t)o->ga[i].area, (json_int_t)o->ga[i].quantity));
    for (uint32_t i = 0; i < o->ntickets; i++) {
        const bo_ticket_t *t = &o->tickets[i];
        char tid[BO_ID_TICKET_LEN + 1];
        bo_id_ticket(tid, t->id);
        json_array_append_new(
            tickets,
            json_pack("{sssIsIsssI}", "id", tid, "seat",
                      (json_int_t)(t->seat == BO_TICKET_GA ? -1 : (int64_t)t->seat), "ga",
                      (json_int_t)t->ga_area, "code", t->code, "in", (json_int_t)t->checked_in_ms));
    }
    json_t *j = json_pack(
        "{sssssosssssIsssssssssososssssssssssssIsssssIsIsIsIsIso}", "id", oid, "event", evt, "hold",
        hex_json(o->hold.b, sizeof(o->hold.b)), "secret", o->secret, "status",
        bo__order_status_name(o->status), "amount", (json_int_t)o->amount_cents, "currency",
        o->currency, "email", o->email, "name", o->name, "customer", cust, "seats", seats, "ga", ga,
        "intent", o->intent_id, "client_secret", o->client_secret, "failed_charge",
        o->last_failed_charge, "err_code", o->last_error_code, "err_decline", o->last_error_decline,
        "err_message", o->last_error_message, "failures", (json_int_t)o->failures, "refund",
        o->refund_id, "refund_reason", o->refund_reason, "created", (json_int_t)o->created_ms,
        "updated", (json_int_t)o->updated_ms, "paid", (json_int_t)o->paid_ms, "deadline",
        (json_int_t)o->deadline_ms, "closed", (json_int_t)o->closed_ms, "tickets", tickets);
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (s)
        *len = strlen(s);
    return s;
}

static int get_str(json_t *j, const char *key, char *out, size_t cap)
{
    const char *s = json_string_value(json_object_get(j, key));
    if (!s || strlen(s) >= cap)
        return BO_ECORRUPT;
    memcpy(out, s, strlen(s) + 1);
    return 0;
}

static int64_t get_i64(json_t *j, const char *key)
{
    return (int64_t)json_integer_value(json_object_get(j, key));
}

static int tickets_from(json_t *arr, bo_order_t *o)
{
    size_t i, n = json_array_size(arr);
    json_t *t;
    if (n > BO_ORDER_MAX_TICKETS)
        return BO_ECORRUPT;
    if (n && !(o->tickets = calloc(n, sizeof(*o->tickets))))
        return BO_ENOMEM;
    json_array_foreach(arr, i, t)
    {
        bo_ticket_t *k = &o->tickets[i];
        int64_t seat = get_i64(t, "seat");
        if (bo_id_parse_ticket(json_string_value(json_object_get(t, "id")), &k->id))
            return BO_ECORRUPT;
        k->seat = seat < 0 ? BO_TICKET_GA : (uint32_t)seat;
        k->ga_area = (uint32_t)get_i64(t, "ga");
        k->checked_in_ms = get_i64(t, "in");
        if (get_str(t, "code", k->code, sizeof(k->code)))
            return BO_ECORRUPT;
    }
    o->ntickets = (uint32_t)n;
    return 0;
}

static int content_from(json_t *j, bo_order_t *o)
{
    json_t *seats = json_object_get(j, "seats"), *ga = json_object_get(j, "ga"), *v;
    size_t i;
    if (json_array_size(seats) > BO_HOLD_MAX_SEATS || json_array_size(ga) > BO_HOLD_MAX_GA)
        return BO_ECORRUPT;
    json_array_foreach(seats, i, v) o->seats[o->nseats++] = (uint32_t)json_integer_value(v);
    json_array_foreach(ga, i, v)
    {
        o->ga[o->nga].area = (uint32_t)json_integer_value(json_array_get(v, 0));
        o->ga[o->nga++].quantity = (uint32_t)json_integer_value(json_array_get(v, 1));
    }
    return 0;
}

int bo__order_from_doc(const char *body, size_t len, bo_order_t *o)
{
    json_t *j = json_loadb(body, len, 0, NULL);
    char hold_hex[2 * sizeof(o->hold.b) + 1], status[32];
    int rc = j ? 0 : BO_ECORRUPT;
    if (rc == 0 &&
        (get_str(j, "hold", hold_hex, sizeof(hold_hex)) ||
         get_str(j, "secret", o->secret, sizeof(o->secret)) ||
         get_str(j, "status", status, sizeof(status)) ||
         get_str(j, "currency", o->currency, sizeof(o->currency)) ||
         get_str(j, "email", o->email, sizeof(o->email)) ||
         get_str(j, "name", o->name, sizeof(o->name)) ||
         get_str(j, "intent", o->intent_id, sizeof(o->intent_id)) ||
         get_str(j, "client_secret", o->client_secret, sizeof(o->client_secret)) ||
         get_str(j, "failed_charge", o->last_failed_charge, sizeof(o->last_failed_charge)) ||
         get_str(j, "err_code", o->last_error_code, sizeof(o->last_error_code)) ||
         get_str(j, "err_decline", o->last_error_decline, sizeof(o->last_error_decline)) ||
         get_str(j, "err_message", o->last_error_message, sizeof(o->last_error_message)) ||
         get_str(j, "refund", o->refund_id, sizeof(o->refund_id)) ||
         get_str(j, "refund_reason", o->refund_reason, sizeof(o->refund_reason))))
        rc = BO_ECORRUPT;
    if (rc == 0 && (sodium_hex2bin(o->hold.b, sizeof(o->hold.b), hold_hex, strlen(hold_hex), NULL,
                                   NULL, NULL) ||
                    (o->status = status_of(status)) < 0))
        rc = BO_ECORRUPT;
    if (rc == 0) {
        const char *cust = json_string_value(json_object_get(j, "customer"));
        if (bo_id_parse_order(json_string_value(json_object_get(j, "id")), &o->id) ||
            bo_id_parse_event(json_string_value(json_object_get(j, "event")), &o->event) || !cust)
            rc = BO_ECORRUPT;
        else
            o->customer = strtoull(cust, NULL, 16);
        o->amount_cents = get_i64(j, "amount");
        o->failures = (uint32_t)get_i64(j, "failures");
        o->created_ms = get_i64(j, "created");
        o->updated_ms = get_i64(j, "updated");
        o->paid_ms = get_i64(j, "paid");
        o->deadline_ms = get_i64(j, "deadline");
        o->closed_ms = get_i64(j, "closed");
        if (rc == 0)
            rc = content_from(j, o);
    }
    if (rc == 0)
        rc = tickets_from(json_object_get(j, "tickets"), o);
    o->hold_key_stored = rc == 0;
    json_decref(j);
    return rc;
}

/* ---- the API's answer ---------------------------------------------------------- */

static json_t *ticket_json(const bo_layout_t *l, const bo_order_t *o, const bo_ticket_t *t,
                           const char *order_id, bool with_secret)
{
    char id[BO_ID_TICKET_LEN + 1], url[160];
    bo_id_ticket(id, t->id);
    snprintf(url, sizeof(url), "/api/v1/orders/%s/tickets/%s/qr.svg?secret=%s", order_id, id,
             o->secret);
    const char *state = o->status != BO_ORDER_PAID ? "void" : t->checked_in_ms ? "used" : "valid";
    if (!with_secret) /* codes are entry capabilities: only for the order's owner */
        return json_pack("{sssssoso}", "id", id, "status", state, "checked_in_at",
                         time_or_null(t->checked_in_ms), "seat",
                         t->seat != BO_TICKET_GA && l && t->seat < l->nseats
                             ? json_string(bo_layout_str(l, l->seats[t->seat].id))
                             : json_null());
    json_t *j = json_pack("{ssssssssso}", "id", id, "code", t->code, "qr_svg_url", url, "status",
                          state, "checked_in_at", time_or_null(t->checked_in_ms));
    if (t->seat != BO_TICKET_GA && l && t->seat < l->nseats) {
        const bo_seat_t *s = &l->seats[t->seat];
        json_object_set_new(j, "seat", json_string(bo_layout_str(l, s->id)));
        json_object_set_new(j, "section",
                            json_string(bo_layout_str(l, l->sections[s->section].name)));
        json_object_set_new(j, "row", json_string(bo_layout_str(l, l->rows[s->row].label)));
        json_object_set_new(j, "number", json_string(bo_layout_str(l, s->number)));
    } else {
        json_object_set_new(j, "seat", json_null());
        if (l && t->ga_area < l->nga) {
            json_object_set_new(j, "ga_area", json_string(bo_layout_str(l, l->ga[t->ga_area].id)));
            json_object_set_new(j, "ga_area_name",
                                json_string(bo_layout_str(l, l->ga[t->ga_area].name)));
        }
    }
    return j;
}

static json_t *error_json(const bo_order_t *o)
{
    if (!o->last_error_code[0])
        return json_null();
    return json_pack(
        "{sssssssI}", "code", o->last_error_code, "decline_code", o->last_error_decline, "message",
        o->last_error_message, "attempts_left",
        (json_int_t)(o->failures >= BO_PAY_MAX_FAILURES ? 0 : BO_PAY_MAX_FAILURES - o->failures));
}

char *bo__order_render(bo_api_t *api, const bo_order_t *o, bool with_secret, size_t *len)
{
    char id[BO_ID_ORDER_LEN + 1], hold[BO_ID_HOLD_LEN + 1], evt[BO_ID_EVENT_LEN + 1];
    bo_event_info_t info;
    const bo_layout_t *l = NULL;
    if (bo__catalog_event(api, o->event, &info) == 0)
        l = bo_live_venue(api->live, info.venue);
    bo_id_order(id, o->id);
    bo_id_hold(hold, o->event, &o->hold);
    bo_id_event(evt, o->event);
    json_t *seats = json_array(), *ga = json_array(), *tickets = json_array();
    for (uint32_t i = 0; i < o->nseats; i++)
        json_array_append_new(seats, l && o->seats[i] < l->nseats
                                         ? json_string(bo_layout_str(l, l->seats[o->seats[i]].id))
                                         : json_integer(o->seats[i]));
    for (uint32_t i = 0; i < o->nga; i++)
        json_array_append_new(ga,
                              json_pack("{sosI}", "area",
                                        l && o->ga[i].area < l->nga
                                            ? json_string(bo_layout_str(l, l->ga[o->ga[i].area].id))
                                            : json_integer(o->ga[i].area),
                                        "quantity", (json_int_t)o->ga[i].quantity));
    for (uint32_t i = 0; o->status == BO_ORDER_PAID || o->status == BO_ORDER_REFUNDED ||
                         o->status == BO_ORDER_REFUND_PENDING;
         i++) {
        if (i >= o->ntickets)
            break;
        json_array_append_new(tickets, ticket_json(l, o, &o->tickets[i], id, with_secret));
    }
    json_t *order =
        json_pack("{sssssssssos{ssss}sosos{sIss}sosososososIso}", "id", id, "status",
                  bo__order_status_name(o->status), "hold_id", hold, "event_id", evt, "event_name",
                  json_string(l ? info.name : ""), "customer", "email", o->email, "name", o->name,
                  "seats", seats, "ga", ga, "amount", "total_cents", (json_int_t)o->amount_cents,
                  "currency", o->currency, "created_at", time_or_null(o->created_ms), "paid_at",
                  time_or_null(o->paid_ms), "payment_deadline",
                  o->status == BO_ORDER_PENDING ? time_or_null(o->deadline_ms) : json_null(),
                  "closed_at", time_or_null(o->closed_ms), "last_payment_error", error_json(o),
                  "payment_failures", (json_int_t)o->failures, "tickets", tickets);
    if (order && with_secret)
        json_object_set_new(order, "secret", json_string(o->secret));
    if (order && o->refund_id[0])
        json_object_set_new(order, "refund",
                            json_pack("{ssss}", "id", o->refund_id, "reason", o->refund_reason));
    json_t *pay =
        json_pack("{sosossss}", "intent_id",
                  o->intent_id[0] ? json_string(o->intent_id) : json_null(), "client_secret",
                  with_secret && o->client_secret[0] ? json_string(o->client_secret) : json_null(),
                  "gateway", api->pay_kind, "status", bo__order_status_name(o->status));
    json_t *j = order && pay ? json_pack("{soso}", "order", order, "payment", pay) : NULL;
    if (!j) {
        json_decref(order);
        json_decref(pay);
    }
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (s)
        *len = strlen(s);
    return s;
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

/* A worker waiting for its commit. */
struct wait {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
    bo_order_commit_t *c;
};

static void wait_done(void *arg, const bo_live_result_t *r)
{
    struct wait *w = arg;
    pthread_mutex_lock(&w->mu);
    w->c->r = *r;
    w->done = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

static void wait_decided(void *arg, const bo_live_result_t *r, bo_rec_t *rec)
{
    struct wait *w = arg;
    rec->docs = w->c->docs;
    rec->ndocs = w->c->ndocs;
}

static int wait_for(struct wait *w)
{
    pthread_mutex_lock(&w->mu);
    while (!w->done)
        pthread_cond_wait(&w->cv, &w->mu);
    pthread_mutex_unlock(&w->mu);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    return w->c->r.status;
}

static void wait_init(struct wait *w, bo_order_commit_t *c)
{
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    w->done = false;
    w->c = c;
    memset(&c->r, 0, sizeof(c->r));
}

static int commit_docs(bo_api_t *api, bo_order_commit_t *c)
{
    struct wait w;
    wait_init(&w, c);
    bo_live_put_docs(api->live, c->docs, c->ndocs, wait_done, &w);
    return wait_for(&w);
}

static int commit_with(bo_api_t *api, bo_order_commit_t *c, enum bo_order_op op,
                       const bo_order_t *o, int64_t deadline_ms)
{
    struct wait w;
    wait_init(&w, c);
    bo_live_call_t call = {wait_done, &w, wait_decided};
    bo_live_t *live = api->live;
    switch (op) {
    case BO_OP_PAY_START:
        bo_live_pay_start_call(live, o->event, &o->hold, deadline_ms, &call);
        break;
    case BO_OP_PAY_FAILED:
        bo_live_pay_failed_call(live, o->event, &o->hold, &call);
        break;
    case BO_OP_CONFIRM:
        bo_live_confirm_call(live, o->event, &o->hold, o->seats, o->nseats, o->ga, o->nga,
                             o->customer, o->amount_cents, &call);
        break;
    case BO_OP_RELEASE:
        bo_live_release_call(live, o->event, &o->hold, &call);
        break;
    case BO_OP_CANCEL:
        bo_live_cancel_call(live, o->event, &o->hold, &call);
        break;
    }
    return wait_for(&w);
}

/* ---- reports ------------------------------------------------------------------ */

#define HOUR_MS   (3600 * 1000LL)
#define MAX_HOURS 24 * 366 /* buckets kept: a year of hourly sales */

struct sales {
    uint64_t event;
    uint32_t by_status[BO_ORDER_NSTATUS];
    uint64_t checked_in;
    struct bucket {
        int64_t hour_ms;
        uint64_t orders, tickets;
        int64_t revenue;
    } * b;
    size_t n, cap;
};

static struct bucket *bucket_of(struct sales *s, int64_t hour_ms)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->b[i].hour_ms == hour_ms)
            return &s->b[i];
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 16;
        struct bucket *b = cap <= MAX_HOURS ? realloc(s->b, cap * sizeof(*b)) : NULL;
        if (!b)
            return NULL;
        s->b = b;
        s->cap = cap;
    }
    s->b[s->n] = (struct bucket){hour_ms, 0, 0, 0};
    return &s->b[s->n++];
}

/* o's figures (locked, or a copy of its own). */
static void count_sales(struct sales *s, const bo_order_t *o)
{
    s->by_status[o->status]++;
    for (uint32_t i = 0; i < o->ntickets; i++)
        s->checked_in += o->tickets[i].checked_in_ms != 0;
    struct bucket *b = o->paid_ms ? bucket_of(s, o->paid_ms - o->paid_ms % HOUR_MS) : NULL;
    if (b) {
        b->orders++;
        b->tickets += o->ntickets;
        b->revenue += o->amount_cents;
    }
}

static int add_sales(void *arg, bo_order_t *o)
{
    struct sales *s = arg;
    if (o->event != s->event)
        return 0;
    pthread_mutex_lock(&o->mu);
    count_sales(s, o);
    pthread_mutex_unlock(&o->mu);
    return 0;
}

/* An order of the event as stored (every order, in memory or not: each
 * step's outcome is committed before the step ends): its status and
 * figures (order_doc_keys), never its body. */
static int add_stored_sales(void *arg, const char *tag, const char *figures)
{
    struct sales *s = arg;
    long long paid_ms, amount;
    unsigned ntickets, in;
    int st = status_of(tag);
    if (st < 0 || sscanf(figures, "%lld %u %lld %u", &paid_ms, &ntickets, &amount, &in) != 4)
        return 0; /* a later version's: not counted */
    s->by_status[st]++;
    s->checked_in += in;
    struct bucket *b = paid_ms ? bucket_of(s, paid_ms - paid_ms % HOUR_MS) : NULL;
    if (b) {
        b->orders++;
        b->tickets += ntickets;
        b->revenue += amount;
    }
    return 0;
}

static int by_hour(const void *a, const void *b)
{
    int64_t x = ((const struct bucket *)a)->hour_ms, y = ((const struct bucket *)b)->hour_ms;
    return x < y ? -1 : x > y;
}

void bo__order_sales(bo_api_t *api, uint64_t event, json_t *report)
{
    struct sales s = {.event = event};
    char evt[BO_ID_EVENT_LEN + 1];
    bo_id_event(evt, event);
    if (book(api)->evict)
        bo_store_doc_each(book(api)->store, "order", evt, add_stored_sales, &s);
    else
        bo__order_each(api, add_sales, &s);
    if (s.n) /* qsort takes no NULL, even for nothing */
        qsort(s.b, s.n, sizeof(*s.b), by_hour);
    json_t *status = json_object(), *series = json_array();
    for (int i = 0; i < BO_ORDER_NSTATUS; i++)
        json_object_set_new(status, status_names[i], json_integer(s.by_status[i]));
    for (size_t i = 0; i < s.n; i++)
        json_array_append_new(series, json_pack("{sosIsIsI}", "at", time_or_null(s.b[i].hour_ms),
                                                "orders", (json_int_t)s.b[i].orders, "tickets",
                                                (json_int_t)s.b[i].tickets, "revenue_cents",
                                                (json_int_t)s.b[i].revenue));
    json_object_set_new(report, "orders", status);
    json_object_set_new(report, "checked_in", json_integer((json_int_t)s.checked_in));
    json_object_set_new(report, "sales_over_time", series);
    free(s.b);
}

/* ---- saving (worker threads, order locked) --------------------------------------- */

int bo__order_save(bo_api_t *api, bo_order_t *o, const char *outbox_kind)
{
    bo_order_commit_t c = {0};
    o->updated_ms = bo__api_now_ms();
    int rc = commit_order(&c, o, outbox_kind);
    if (rc == 0)
        rc = commit_docs(api, &c);
    if (rc == 0) {
        o->changes++; /* the reconciler starts its schedule over */
        o->hold_key_stored |= c.hold_key_new;
    }
    commit_clear(&c);
    return rc;
}

int bo__order_save_with(bo_api_t *api, bo_order_t *o, enum bo_order_op op, const char *outbox_kind,
                        int64_t deadline_ms, bo_live_result_t *r)
{
    bo_order_commit_t c = {0};
    o->updated_ms = bo__api_now_ms();
    int rc = commit_order(&c, o, outbox_kind);
    if (rc == 0)
        rc = commit_with(api, &c, op, o, deadline_ms);
    if (rc == 0) {
        o->changes++;
        o->hold_key_stored |= c.hold_key_new;
    }
    if (r)
        *r = c.r;
    commit_clear(&c);
    return rc;
}

int bo__doc_save(bo_api_t *api, const char *coll, const char *id, char *body, size_t len)
{
    bo_order_commit_t c = {0};
    int rc = commit_doc(&c, coll, id, body, len);
    if (rc == 0)
        rc = commit_docs(api, &c);
    commit_clear(&c);
    return rc;
}

/* ---- one step at a time, readers never wait for it ------------------------ */

void bo__order_init(bo_order_t *o)
{
    pthread_mutex_init(&o->mu, NULL);
    pthread_mutex_init(&o->shown_mu, NULL);
}

void bo__order_step_done(bo_order_t *o)
{
    int was = __atomic_exchange_n(&o->step, 0, __ATOMIC_RELEASE);
    assert(was == 1); /* only the step that took the flag gives it back */
    (void)was;
}

void bo__order_background_done(bo_order_t *o)
{
    int was = __atomic_exchange_n(&o->background, 0, __ATOMIC_RELEASE);
    assert(was == 1);
    (void)was;
}

/* The fields a copy takes: from id up to refs (the locks and step flags
 * before, and the pins, written under the book's lock, are not the
 * order's content). */
#define SHOWN_FROM offsetof(bo_order_t, id)
#define SHOWN_SIZE (offsetof(bo_order_t, refs) - SHOWN_FROM)

static void shown_free(bo_order_t *copy)
{
    if (copy)
        free(copy->tickets);
    free(copy);
}

/* A copy of o's content (o locked), or NULL when out of memory. */
static bo_order_t *shown_new(const bo_order_t *o)
{
    bo_order_t *copy = calloc(1, sizeof(*copy));
    if (!copy)
        return NULL;
    memcpy((char *)copy + SHOWN_FROM, (const char *)o + SHOWN_FROM, SHOWN_SIZE);
    copy->tickets = NULL;
    if (o->ntickets && !(copy->tickets = malloc(o->ntickets * sizeof(*o->tickets)))) {
        free(copy);
        return NULL;
    }
    if (o->ntickets)
        memcpy(copy->tickets, o->tickets, o->ntickets * sizeof(*o->tickets));
    return copy;
}

static void publish(bo_order_t *o, bo_order_t *copy)
{
    pthread_mutex_lock(&o->shown_mu);
    bo_order_t *old = o->shown;
    o->shown = copy;
    pthread_mutex_unlock(&o->shown_mu);
    shown_free(old);
}

void bo__order_lock(bo_api_t *api, bo_order_t *o)
{
    (void)api;
    pthread_mutex_lock(&o->mu);
    /* out of memory: no copy, and readers wait for the step instead */
    publish(o, shown_new(o));
}

void bo__order_unpublish(bo_order_t *o)
{
    publish(o, NULL);
}

void bo__order_unlock(bo_order_t *o)
{
    publish(o, NULL);
    pthread_mutex_unlock(&o->mu);
}

/* The published copy rendered, or NULL when none (or out of memory). */
static char *shown_render(bo_api_t *api, bo_order_t *o, size_t *len)
{
    char *text = NULL;
    pthread_mutex_lock(&o->shown_mu);
    if (o->shown)
        text = bo__order_render(api, o->shown, true, len);
    pthread_mutex_unlock(&o->shown_mu);
    return text;
}

#define READ_SPINS 200 /* yields before a reader waits on the lock */

char *bo__order_read(bo_api_t *api, bo_order_t *o, size_t *len)
{
    char *text;
    for (int i = 0; i < READ_SPINS; i++) {
        if (pthread_mutex_trylock(&o->mu) == 0)
            goto render;
        if ((text = shown_render(api, o, len)))
            return text;
        sched_yield(); /* a step between its lock and its publish, or a scan */
    }
    pthread_mutex_lock(&o->mu);
render:
    text = bo__order_render(api, o, true, len);
    pthread_mutex_unlock(&o->mu);
    return text;
}
