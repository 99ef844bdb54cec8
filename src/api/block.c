/*
 * block.c - POST /api/v1/events/{id}/block (admin): take seats off sale
 * (house seats, broken seats, camera positions) or, with "unblock": true,
 * put blocked seats back. All or nothing, through the live layer: the
 * answer is sent once the decision is durable, and with an Idempotency-Key
 * the answer rides in the decision's own record.
 *
 * Workload: rare admin calls of a few to a few thousand seats; the seat ids
 * are looked up in the venue's hash (O(1) each) and checked for repeats
 * with a bitmap of the venue's seats.
 */
#include <stdlib.h>
#include <string.h>

#include "api/api_internal.h"

#define MAX_UNKNOWN_LISTED 100

struct block {
    bo_api_t *api;
    bo_http_async_t *a;
    bo_idem_t idem;
    const bo_layout_t *layout;
    uint64_t event;
    int unblock;
    bool decided;
    uint32_t *seats;
    uint32_t nseats;
    char *ok; /* the success answer, rendered before the decision */
    size_t ok_len;
};

static void block_free(struct block *b)
{
    if (b) {
        free(b->seats);
        free(b->ok);
    }
    free(b);
}

/* {"event_id","blocked"|"unblocked":[ids in request order]} */
static char *ok_text(const struct block *b, size_t *len)
{
    char id[BO_ID_EVENT_LEN + 1];
    json_t *ids = json_array();
    for (uint32_t i = 0; ids && i < b->nseats; i++)
        json_array_append_new(
            ids, json_string(bo_layout_str(b->layout, b->layout->seats[b->seats[i]].id)));
    bo_id_event(id, b->event);
    json_t *doc = json_pack("{s:s,s:o}", "event_id", id, b->unblock ? "unblocked" : "blocked", ids);
    char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    *len = text ? strlen(text) : 0;
    return text;
}

static void send_ok(bo_http_req_t *r, void *arg)
{
    struct block *b = arg;
    if (r)
        bo_http_send_text(r, 200, "application/json", b->ok, b->ok_len);
    block_free(b);
}

/* Under the event's lock, once the engine agreed: the answer joins the
 * decision's record. */
static void decided(void *arg, const bo_live_result_t *res, bo_rec_t *rec)
{
    struct block *b = arg;
    b->decided = true;
    bo__idem_attach(&b->idem, rec, 200, b->ok, b->ok_len);
}

static void done(void *arg, const bo_live_result_t *res)
{
    struct block *b = arg;
    bo_api_t *api = b->api;
    if (res->status == 0) {
        bo__idem_end(api, &b->idem, 200, b->ok, b->ok_len);
        bo_http_async_finish(b->a, send_ok, b);
        return;
    }
    json_t *details = NULL;
    if (res->status == BO_EUNAVAILABLE) {
        json_t *seats = json_array();
        for (uint32_t i = 0; seats && i < res->res.nunavailable; i++) {
            const bo_seat_t *s = &b->layout->seats[res->res.unavailable[i]];
            json_array_append_new(seats, json_string(bo_layout_str(b->layout, s->id)));
        }
        details = json_pack("{so}", "seats", seats);
    }
    if (b->decided) /* the commit failed: the key stays free */
        bo__idem_end(api, &b->idem, 0, NULL, 0);
    bo__idem_reply_error(api, &b->idem, b->a, res->status, NULL, details);
    block_free(b);
}

/* ---- the request ----------------------------------------------------------------------- */

/* Answer 400; returns 1 (answered). */
static int bad(bo_http_req_t *r, const char *message, json_t *details)
{
    if (!details)
        details = json_pack("{ss}", "field", "seats");
    bo_http_send_error(r, BO_EINVAL, message, details);
    return 1;
}

/* The seat ids of body into b->seats. Returns 0, 1 when a 400 was
 * answered, or BO_ENOMEM. */
static int parse_seats(bo_http_req_t *r, json_t *body, struct block *b)
{
    json_t *seats = json_object_get(body, "seats"), *unblock = json_object_get(body, "unblock");
    size_t n = json_array_size(seats), nunknown = 0;
    if (json_object_size(body) != (size_t)(!!seats + !!unblock))
        return bad(r, "the body takes only seats and unblock", json_pack("{s:s}", "field", "body"));
    if (unblock && !json_is_boolean(unblock))
        return bad(r, "unblock must be true or false", json_pack("{ss}", "field", "unblock"));
    if (!json_is_array(seats) || n == 0 || n > BO_LAYOUT_MAX_SEATS)
        return bad(r, "seats must be an array of 1 or more seat ids", NULL);
    b->unblock = json_is_true(unblock);
    b->seats = malloc(n * sizeof(uint32_t));
    uint8_t *seen = calloc(b->layout->nseats / 8 + 1, 1);
    json_t *unknown = json_array();
    int rc = b->seats && seen && unknown ? 0 : BO_ENOMEM;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        json_t *v = json_array_get(seats, i);
        const char *id = json_string_value(v);
        size_t len = json_string_length(v);
        if (!id || len == 0 || len > BO_LAYOUT_MAX_ID) {
            rc = bad(r, "seats must be an array of seat ids", NULL);
            break;
        }
        uint32_t s = bo_layout_find_seat(b->layout, id, len);
        if (s == BO_NONE) {
            if (nunknown++ < MAX_UNKNOWN_LISTED)
                json_array_append(unknown, v);
            continue;
        }
        if (seen[s / 8] & (1u << (s % 8))) {
            rc = bad(r, "seats must not repeat a seat", NULL);
            break;
        }
        seen[s / 8] |= (uint8_t)(1u << (s % 8));
        b->seats[b->nseats++] = s;
    }
    if (rc == 0 && nunknown)
        rc = bad(r, "unknown seat ids",
                 json_pack("{s:s,s:O}", "field", "seats", "unknown", unknown));
    free(seen);
    json_decref(unknown);
    return rc;
}

static int on_block(void *arg, bo_http_req_t *r)
{
    bo_api_t *api = arg;
    bo_event_info_t e;
    json_t *body;
    int rc = bo__api_admin(api, r);
    if (rc)
        return rc;
    struct block *b = calloc(1, sizeof(*b));
    if (!b)
        return BO_ENOMEM;
    b->api = api;
    if (bo_id_parse_event(bo_http_param(r, "id"), &b->event) ||
        bo_catalog_event(api->catalog, b->event, &e) ||
        !(b->layout = bo_live_venue(api->live, e.venue))) {
        block_free(b);
        return bo_http_send_error(r, BO_ENOTFOUND, "no such event",
                                  json_pack("{ss}", "id", bo_http_param(r, "id")));
    }
    if (bo__api_json_body(r, &body)) {
        block_free(b);
        return 0;
    }
    rc = parse_seats(r, body, b);
    json_decref(body);
    if (rc == 0 && !(b->ok = ok_text(b, &b->ok_len)))
        rc = BO_ENOMEM;
    if (rc == 0 && bo__idem_begin(api, r, &b->idem))
        rc = 1;
    if (rc == 0 && !(b->a = bo_http_async_begin(r))) {
        bo__idem_end(api, &b->idem, 0, NULL, 0);
        rc = BO_ENOMEM;
    }
    if (rc) {
        block_free(b);
        return rc < 0 ? rc : 0;
    }
    bo_live_result_t refusal;
    bo_live_call_t call = {done, b, decided};
    bo_mut_t m = {
        .op = b->unblock ? BO_MUT_UNBLOCK : BO_MUT_BLOCK, .seats = b->seats, .nseats = b->nseats};
    if (bo_live_apply(api->live, b->event, &m, &call, &refusal))
        done(b, &refusal); /* refused: answered as a failed commit would be, now */
    return 0;
}

int bo__api_block_register(bo_api_t *api)
{
    return bo_server_route(api->srv, "POST", "/api/v1/events/{id}/block", on_block, api);
}
