/*
 * scan.c - check-in's side of the orders (boxoffice/order.h
 * bo_order_scan_step): the ticket signing keys (made on first start, kept
 * with the data) and a scanned code judged against its order.
 *
 * A scan answers one of: ok (admitted, once), already_used (with the first
 * scan's time), invalid (malformed or forged), wrong_event, voided (the
 * order was refunded or cancelled). An admission is durable before it is
 * answered (the order's document, rewritten with the ticket's time), and
 * two scans of one ticket are serialised on its order's lock: exactly one
 * of them is ok, whatever the timing.
 *
 * Workload: at the doors, a few scans per second per gate; each verifies
 * one Ed25519 signature (~50 us) and waits for one commit on a worker of
 * the gate's own pool (jobs.c). A scan takes its order's lock without the
 * step flag (order_internal.h): it never refuses, and waits at most for
 * that order's one running step.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "order/order_internal.h"
#include "util/time.h"

#define KEYS_DOC "tickets-ed25519"

int bo__order_keys_load(bo_orders_t *os, const char *id, const char *body, size_t len)
{
    if (strcmp(id, KEYS_DOC) != 0)
        return 0; /* a key of a later version: kept, unused */
    if (!os->ticket_keys && !(os->ticket_keys = calloc(1, sizeof(bo_ticket_keys_t))))
        return BO_ENOMEM;
    return bo_ticket_keys_parse(body, len, os->ticket_keys) ? BO_ECORRUPT : 0;
}

/* How many orders the store holds (loaded before the keys). */
static uint64_t orders_held(bo_orders_t *os)
{
    uint64_t by[BO_ORDER_NSTATUS] = {0}, n = 0;
    bo__order_counts(os, by);
    for (int i = 0; i < BO_ORDER_NSTATUS; i++)
        n += by[i];
    return n;
}

int bo__order_keys(bo_orders_t *os)
{
    char text[BO_TICKET_KEYS_TEXT_MAX];
    int rc = 0;
    uint64_t norders;
    if (!os->ticket_keys && (norders = orders_held(os)) > 0) {
        /* The key goes with the first start, before any order: it was lost.
         * A new one would void every ticket sold (they would not verify). */
        fprintf(stderr,
                "boxoffice: the store holds %llu order%s but no ticket signing key (document "
                "key/%s): refusing to start with a new key, which would turn away every ticket "
                "sold at the gate; restore the key or the database from a backup\n",
                (unsigned long long)norders, norders == 1 ? "" : "s", KEYS_DOC);
        return BO_ECORRUPT;
    }
    if (!os->ticket_keys) {
        if (!(os->ticket_keys = calloc(1, sizeof(bo_ticket_keys_t))))
            return BO_ENOMEM;
        if ((rc = bo_ticket_keys_new(os->ticket_keys)) ||
            (rc = bo_ticket_keys_format(os->ticket_keys, text, sizeof(text))))
            return rc;
        rc = bo__order_doc_save(os, "key", KEYS_DOC, strdup(text), strlen(text));
        sodium_memzero(text, sizeof(text));
        if (rc)
            return rc;
    }
    return bo_ticket_pk_b64(os->ticket_keys->pk, os->ticket_pk_b64, sizeof(os->ticket_pk_b64));
}

int bo_orders_derive_key(const bo_orders_t *os, const char *purpose, uint8_t *out, size_t len)
{
    if (!os || !os->ticket_keys || len < crypto_generichash_BYTES_MIN ||
        len > crypto_generichash_BYTES_MAX)
        return BO_EINVAL;
    /* the seed (the first 32 bytes of sk) keys a hash of the purpose */
    return crypto_generichash(out, len, (const uint8_t *)purpose, strlen(purpose),
                              os->ticket_keys->sk, 32)
               ? BO_EINVAL
               : 0;
}

/* The answer of a scan: {"result", "ticket"?, ...} with, for refusals, the
 * usual error object too. */
static void scan_reply(bo_order_step_t *s, int status, const char *result, const char *code,
                       const char *message, json_t *extra)
{
    json_t *j = extra ? extra : json_object();
    json_object_set_new(j, "result", json_string(result));
    if (code)
        json_object_set_new(j, "error",
                            json_pack("{sssss{ss}}", "code", code, "message", message, "details",
                                      "result", result));
    bo_order_answer_t a = {.status = status, .body = json_dumps(j, JSON_COMPACT)};
    json_decref(j);
    if (!a.body)
        a = (bo_order_answer_t){.err = BO_ENOMEM};
    else
        a.len = strlen(a.body);
    s->done(s->done_arg, &a);
}

static json_t *ticket_info(bo_orders_t *os, const bo_order_t *o, const bo_ticket_t *t)
{
    char tid[BO_ID_TICKET_LEN + 1], oid[BO_ID_ORDER_LEN + 1], eid[BO_ID_EVENT_LEN + 1];
    bo_order_event_t info;
    const bo_layout_t *l = bo__order_layout(os, o->event, &info);
    bo_id_ticket(tid, t->id);
    bo_id_order(oid, o->id);
    bo_id_event(eid, o->event);
    json_t *j =
        json_pack("{ssssssss}", "id", tid, "order_id", oid, "event_id", eid, "name", o->name);
    bo__order_ticket_place(j, l, t);
    return j;
}

/* Admit the ticket (order locked): durable before ok. */
static void admit(bo_order_step_t *s, bo_order_t *o, bo_ticket_t *t)
{
    char when[BO_RFC3339_SIZE];
    BO_ASSERT(bo_mutex_held(&o->mu) && o->status == BO_ORDER_PAID);
    BO_ASSERT(t >= o->tickets && t < o->tickets + o->ntickets); /* one of o's own */
    if (t->checked_in_ms) {
        bo_time_format(t->checked_in_ms, when);
        scan_reply(s, 409, "already_used", "ALREADY_USED", "this ticket was scanned already",
                   json_pack("{ssssso}", "first_checked_in_at", when, "checked_in_at", when,
                             "ticket", ticket_info(s->os, o, t)));
        return;
    }
    t->checked_in_ms = bo__order_now_ms(s->os);
    int rc = bo__order_save(s->os, o, NULL);
    if (rc) {
        t->checked_in_ms = 0;
        bo_order_answer_t a = {.err = rc};
        s->done(s->done_arg, &a);
        return;
    }
    bo_time_format(t->checked_in_ms, when);
    scan_reply(s, 200, "ok", NULL, NULL,
               json_pack("{ssso}", "checked_in_at", when, "ticket", ticket_info(s->os, o, t)));
}

static void scan_job(void *arg)
{
    bo_order_step_t *s = arg;
    bo_ticket_claim_t c;
    bo_ticket_t *t = NULL;
    BO_ASSERT(s->done != NULL && s->len <= BO_ORDER_CODE_INPUT_MAX && s->os->ticket_keys);
    int rc = bo_ticket_verify(s->os->ticket_keys->pk, s->code, s->len, &c);
    if (rc) {
        scan_reply(s, 422, "invalid", "INVALID_TICKET",
                   rc == BO_ESIGNATURE ? "the code's signature does not verify: forged or altered"
                                       : "this is not a ticket code",
                   json_pack("{ss}", "reason", rc == BO_ESIGNATURE ? "signature" : "malformed"));
        goto out;
    }
    if (s->scope && c.event != s->scope) {
        char evt[BO_ID_EVENT_LEN + 1];
        bo_id_event(evt, c.event);
        scan_reply(s, 409, "wrong_event", "WRONG_EVENT", "this ticket is for another event",
                   json_pack("{ss}", "ticket_event_id", evt));
        goto out;
    }
    bo_order_t *o = bo__order_by_ticket(s->os, c.order, c.ticket, &t);
    if (!o) {
        scan_reply(s, 422, "invalid", "INVALID_TICKET", "no ticket was issued with this code",
                   json_pack("{ss}", "reason", "unknown"));
        goto out;
    }
    bo__order_lock(s->os, o);
    if (o->id != c.order || t->seat != c.seat || t->ga_area != c.ga_area)
        scan_reply(s, 422, "invalid", "INVALID_TICKET", "the code does not match its ticket",
                   json_pack("{ss}", "reason", "mismatch"));
    else if (o->status != BO_ORDER_PAID)
        scan_reply(s, 410, "voided", "TICKET_VOIDED", "this ticket's order was cancelled",
                   json_pack("{ssso}", "order_status", bo__order_status_name(o->status), "ticket",
                             ticket_info(s->os, o, t)));
    else
        admit(s, o, t);
    bo__order_unlock(o);
    bo__order_put(s->os, o);
out:
    free(s);
}

int bo_order_scan_step(bo_orders_t *os, uint64_t scope, const char *code, size_t len,
                       bo_order_step_t **out)
{
    BO_ASSERT(os != NULL && out != NULL && (code != NULL || len == 0));
    if (len > BO_ORDER_CODE_INPUT_MAX)
        return BO_EINVAL;
    bo_order_step_t *s = bo__order_step_new(os, BO_ORDER_STEP_CONFIRM);
    if (!s)
        return BO_ENOMEM;
    s->scope = scope;
    memcpy(s->code, code, len);
    s->len = len;
    s->pool = BO_ORDER_POOL_GATE;
    s->job = scan_job;
    *out = s;
    return 0;
}
