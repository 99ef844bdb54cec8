/*
 * order_doc.c - an order's two forms (order_internal.h): its durable
 * document (the JSON rewritten whole at each step) and read back, and the
 * API's answer {"order":{...},"payment":{...}}.
 *
 * Workload: one document per step of an order (a few per order), one
 * render per answer and per GET; each a few kilobytes of JSON at most
 * (BO_ORDER_MAX_TICKETS tickets).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "order/order_internal.h"
#include "util/time.h"

/* ---- the durable form ------------------------------------------------------- */

static json_t *hex_json(const uint8_t *b, size_t n)
{
    char hex[2 * 64 + 1];
    sodium_bin2hex(hex, sizeof(hex), b, n);
    return json_string(hex);
}

char *bo__order_doc(const bo_order_t *o, size_t *len)
{
    BO_ASSERT(o != NULL && len != NULL && o->ntickets <= BO_ORDER_MAX_TICKETS);
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
    BO_ASSERT(body != NULL && o != NULL && o->tickets == NULL); /* a zeroed order */
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
                    (o->status = bo__order_status_of(status)) < 0))
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
    o->saved_status = rc == 0 ? o->status : -1;
    json_decref(j);
    return rc;
}

/* ---- the API's answer ---------------------------------------------------------- */

const bo_layout_t *bo__order_layout(bo_orders_t *os, uint64_t event, bo_order_event_t *info)
{
    return os->event_info(os->event_arg, event, info) == 0 ? bo_live_venue(os->live, info->venue)
                                                           : NULL;
}

bool bo__order_ticket_place(json_t *j, const bo_layout_t *l, const bo_ticket_t *t)
{
    BO_ASSERT(t != NULL);
    if (l && t->seat != BO_TICKET_GA && t->seat < l->nseats) {
        const bo_seat_t *seat = &l->seats[t->seat];
        json_object_set_new(j, "seat", json_string(bo_layout_str(l, seat->id)));
        json_object_set_new(j, "section",
                            json_string(bo_layout_str(l, l->sections[seat->section].name)));
        json_object_set_new(j, "row", json_string(bo_layout_str(l, l->rows[seat->row].label)));
        json_object_set_new(j, "number", json_string(bo_layout_str(l, seat->number)));
        return true;
    }
    if (l && t->ga_area < l->nga) {
        json_object_set_new(j, "seat", json_null());
        json_object_set_new(j, "ga_area", json_string(bo_layout_str(l, l->ga[t->ga_area].id)));
        json_object_set_new(j, "ga_area_name",
                            json_string(bo_layout_str(l, l->ga[t->ga_area].name)));
        return true;
    }
    return false;
}

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
                         bo_time_json(t->checked_in_ms), "seat",
                         t->seat != BO_TICKET_GA && l && t->seat < l->nseats
                             ? json_string(bo_layout_str(l, l->seats[t->seat].id))
                             : json_null());
    json_t *j = json_pack("{ssssssssso}", "id", id, "code", t->code, "qr_svg_url", url, "status",
                          state, "checked_in_at", bo_time_json(t->checked_in_ms));
    if (!bo__order_ticket_place(j, l, t))
        json_object_set_new(j, "seat", json_null());
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

char *bo__order_render(bo_orders_t *os, const bo_order_t *o, bool with_secret, size_t *len)
{
    char id[BO_ID_ORDER_LEN + 1], hold[BO_ID_HOLD_LEN + 1], evt[BO_ID_EVENT_LEN + 1];
    bo_order_event_t info;
    BO_ASSERT(os != NULL && o != NULL && len != NULL);
    BO_ASSERT(o->published || bo_mutex_held((pthread_mutex_t *)&o->mu));
    const bo_layout_t *l = bo__order_layout(os, o->event, &info);
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
                  "currency", o->currency, "created_at", bo_time_json(o->created_ms), "paid_at",
                  bo_time_json(o->paid_ms), "payment_deadline",
                  o->status == BO_ORDER_PENDING ? bo_time_json(o->deadline_ms) : json_null(),
                  "closed_at", bo_time_json(o->closed_ms), "last_payment_error", error_json(o),
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
                  "gateway", os->pay_kind, "status", bo__order_status_name(o->status));
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
