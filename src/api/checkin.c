/*
 * checkin.c - the gate (docs/openapi.yaml "Check-in"):
 *   GET  /api/v1/events/{id}/ticket-key     the public key scanners verify codes with
 *   POST /api/v1/events/{id}/staff-tokens   admin: a token for one event's gate staff
 *   GET  /api/v1/events/{id}/staff-tokens   admin: the event's tokens (ids, names, times)
 *   DELETE /api/v1/events/{id}/staff-tokens/{token_id}  admin: revoke one, for good
 *   POST /api/v1/checkin                    staff: scan a code
 * (the tokens themselves: src/order/staff.c, kept as documents). A scan is judged by
 * the order domain (src/order/scan.c: the ticket signing keys, the code
 * against its order, the admission made durable before it is answered);
 * this file reads the scanner's token and the body, and renders the answer.
 *
 * Workload: at the doors, a few scans per second per gate, each on a worker
 * of the gate's own pool (src/order/jobs.c), as are the rare staff-token
 * changes: the doors never queue behind buyers' payment steps.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "api/api_internal.h"
#include "boxoffice/staff.h"
#include "util/time.h"
#include "util/text.h"

#define STAFF_TOKEN_BYTES 32
#define STAFF_NAME_MAX    BO_STAFF_NAME_MAX
#define CODE_INPUT_MAX    BO_ORDER_CODE_INPUT_MAX
/* Staff tokens per event, revoked ones included (they stay listed):
 * docs/architecture.md "Bounds". Gates are a few dozen at most. */
#define STAFF_TOKENS_PER_EVENT 200u

/* ---- GET /api/v1/events/{id}/ticket-key ------------------------------------------- */

static int on_ticket_key(void *arg, bo_http_req_t *r)
{
    bo_api_t *api = arg;
    uint64_t event;
    bo_event_info_t info;
    const char *id = bo_http_param(r, "id");
    if (bo_id_parse_event(id, &event) || bo_catalog_event(api->catalog, event, &info))
        return bo_http_send_error(r, BO_ENOTFOUND, "no such event", NULL);
    bo_http_set_header(r, "Cache-Control", "public, max-age=3600");
    return bo_http_send_json(
        r, 200,
        json_pack("{sssssssss{ssssssssssss}}", "event_id", id, "algorithm", "Ed25519", "public_key",
                  bo_orders_ticket_pk(api->orders), "encoding", "base64url", "code_format",
                  "version", "BO1", "layout",
                  "'BO1' + base64url(ticket u64 | event u64 | order u64 | seat u32 | ga_area u32 "
                  "| signature 64), big-endian; the signature covers 'BO1' + the 32 claim bytes",
                  "ids", "tkt_/evt_/ord_ + 16 hex digits of the u64", "seat",
                  "layout seat index, 4294967295 for general admission", "ga_area",
                  "GA area index (0 for seats)", "verify", "crypto_sign_verify_detached"));
}

/* ---- staff-token changes: committed on a worker ---------------------------------- */

/* A new token's or a revocation's document, committed on a payment worker
 * (an event loop never waits for a commit), then made live and answered. */
typedef struct staff_job {
    bo_api_t *api;
    bo_http_async_t *a;
    bo_idem_t idem; /* off: these calls take no key */
    uint8_t hash[32];
    uint64_t event;
    char name[STAFF_NAME_MAX + 1];
    char created[BO_RFC3339_SIZE];
    char revoked[BO_RFC3339_SIZE]; /* "": a new token */
    char *answer;                  /* a new token's 201 (taken by the reply) */
} staff_job_t;

static void staff_job_run(void *arg)
{
    staff_job_t *j = arg;
    char hex[65];
    sodium_bin2hex(hex, sizeof(hex), j->hash, sizeof(j->hash));
    char *doc = bo_staff_doc(j->event, j->name, j->created, j->revoked);
    int rc = bo_orders_doc_save(j->api->orders, "staff", hex, doc, doc ? strlen(doc) : 0);
    if (rc == 0 && !j->revoked[0])
        rc = bo_staff_add(j->api->staff, j->hash, j->event, j->name, j->created, NULL);
    else if (rc == 0)
        bo_staff_revoke(j->api->staff, j->hash, j->revoked);
    if (rc) {
        free(j->answer);
        bo__idem_reply_error(j->api, &j->idem, j->a, rc, NULL, NULL);
    } else if (j->answer) {
        bo__idem_reply(j->api, &j->idem, j->a, 201, j->answer, strlen(j->answer), NULL, true);
    } else {
        bo__idem_reply(j->api, &j->idem, j->a, 204, NULL, 0, NULL, true);
    }
    free(j);
}

/* Hand j to a worker; answers through r now when that cannot start. */
static int staff_job_start(bo_http_req_t *r, staff_job_t *j)
{
    if (!(j->a = bo_http_async_begin(r))) {
        free(j->answer);
        free(j);
        return BO_ENOMEM;
    }
    int rc = bo_orders_gate_job(j->api->orders, staff_job_run, j);
    if (rc) {
        bo_http_send_error(r, rc, NULL, NULL);
        bo_http_async_finish(j->a, NULL, NULL);
        free(j->answer);
        free(j);
    }
    return 0;
}

/* ---- POST /api/v1/events/{id}/staff-tokens ----------------------------------------- */

static int on_staff_token(void *arg, bo_http_req_t *r)
{
    bo_api_t *api = arg;
    uint64_t event;
    bo_event_info_t info;
    json_t *body = NULL;
    size_t len;
    char name[STAFF_NAME_MAX + 1] = "";
    if (bo__api_admin(api, r))
        return 0;
    const char *id = bo_http_param(r, "id");
    if (bo_id_parse_event(id, &event) || bo_catalog_event(api->catalog, event, &info))
        return bo_http_send_error(r, BO_ENOTFOUND, "no such event", NULL);
    bo_http_body(r, &len);
    if (len && bo__api_json_body(r, &body))
        return 0;
    json_t *v = json_object_get(body, "name");
    if (v && !json_is_null(v) &&
        (!json_is_string(v) || json_string_length(v) > STAFF_NAME_MAX ||
         !bo_text_ok(json_string_value(v), json_string_length(v), 0))) {
        json_decref(body);
        return bo_http_send_error(r, BO_EINVAL,
                                  "name must be a string of at most 100 bytes without control "
                                  "characters",
                                  json_pack("{ss}", "field", "name"));
    }
    if (json_is_string(v))
        snprintf(name, sizeof(name), "%s", json_string_value(v));
    json_decref(body);
    if (bo_staff_count(api->staff, event) >= STAFF_TOKENS_PER_EVENT)
        return bo_http_send_error(r, BO_ELIMIT,
                                  "this event has as many staff tokens as it may have (revoked "
                                  "ones count)",
                                  json_pack("{sssI}", "field", "staff_tokens", "limit",
                                            (json_int_t)STAFF_TOKENS_PER_EVENT));

    staff_job_t *j = malloc(sizeof(*j));
    if (!j)
        return BO_ENOMEM;
    uint8_t raw[STAFF_TOKEN_BYTES];
    char token[4 + 2 * STAFF_TOKEN_BYTES + 1], tid[BO_STAFF_ID_LEN + 1];
    randombytes_buf(raw, sizeof(raw));
    memcpy(token, "stf_", 4);
    sodium_bin2hex(token + 4, sizeof(token) - 4, raw, sizeof(raw));
    sodium_memzero(raw, sizeof(raw));
    *j = (staff_job_t){.api = api, .event = event};
    crypto_hash_sha256(j->hash, (const uint8_t *)token, strlen(token));
    bo_staff_id(j->hash, tid);
    memcpy(j->name, name, sizeof(name));
    bo_time_format(bo_live_now_ms(api->live), j->created);
    json_t *ans = json_pack("{sssssssssss[s]}", "id", tid, "token", token, "event_id", id, "name",
                            name, "created_at", j->created, "scopes", "checkin");
    j->answer = ans ? json_dumps(ans, JSON_COMPACT) : NULL;
    json_decref(ans);
    sodium_memzero(token, sizeof(token));
    if (!j->answer) {
        free(j);
        return BO_ENOMEM;
    }
    return staff_job_start(r, j);
}

/* ---- GET /api/v1/events/{id}/staff-tokens --------------------------------------------- */

/* The event of an admin call on its staff tokens (0 once answered). */
static uint64_t staff_call_event(bo_api_t *api, bo_http_req_t *r)
{
    uint64_t event;
    bo_event_info_t info;
    if (bo__api_admin(api, r))
        return 0;
    if (bo_id_parse_event(bo_http_param(r, "id"), &event) ||
        bo_catalog_event(api->catalog, event, &info)) {
        bo_http_send_error(r, BO_ENOTFOUND, "no such event", NULL);
        return 0;
    }
    return event;
}

static void list_one(void *arg, const bo_staff_token_t *s)
{
    char tid[BO_STAFF_ID_LEN + 1];
    bo_staff_id(s->hash, tid);
    json_t *t = json_pack("{ssssss}", "id", tid, "name", s->name, "created_at", s->created);
    if (t && s->revoked[0])
        json_object_set_new(t, "revoked_at", json_string(s->revoked));
    json_array_append_new(arg, t);
}

static int on_staff_list(void *arg, bo_http_req_t *r)
{
    bo_api_t *api = arg;
    uint64_t event = staff_call_event(api, r);
    if (!event)
        return 0;
    json_t *list = json_array();
    if (list)
        bo_staff_each(api->staff, event, list_one, list);
    return bo_http_send_json(r, 200, json_pack("{so}", "staff_tokens", list));
}

/* ---- DELETE /api/v1/events/{id}/staff-tokens/{token_id} ------------------------------- */

static int on_staff_revoke(void *arg, bo_http_req_t *r)
{
    bo_api_t *api = arg;
    uint64_t event = staff_call_event(api, r);
    if (!event)
        return 0;
    bo_staff_token_t t;
    staff_job_t *j = malloc(sizeof(*j));
    if (!j)
        return BO_ENOMEM;
    *j = (staff_job_t){.api = api, .event = event};
    int found = bo_staff_find(api->staff, event, bo_http_param(r, "token_id"), &t);
    if (found) {
        memcpy(j->hash, t.hash, 32);
        memcpy(j->name, t.name, sizeof(j->name));
        memcpy(j->created, t.created, sizeof(j->created));
    }
    if (found != 1) {
        free(j);
        if (!found)
            return bo_http_send_error(r, BO_ENOTFOUND, "no such staff token", NULL);
        return bo_http_send_text(r, 204, NULL, "", 0);
    }
    /* durable before the answer: a restart must not bring the token back */
    bo_time_format(bo_live_now_ms(api->live), j->revoked);
    return staff_job_start(r, j);
}

/* ---- POST /api/v1/checkin ------------------------------------------------------------- */

typedef struct scan {
    bo_api_t *api;
    bo_http_async_t *a;
    bo_idem_t idem;
} scan_t;

/* The scan's answer (on a gate worker), then s is freed. */
static void scan_done(void *arg, bo_order_answer_t *ans)
{
    scan_t *s = arg;
    /* order.h's scan answers: ok, already_used or wrong_event, voided, invalid */
    BO_ASSERT(s->a != NULL && (ans->err < 0 || ans->status == 200 || ans->status == 409 ||
                               ans->status == 410 || ans->status == 422));
    if (ans->err)
        bo__idem_reply_error(s->api, &s->idem, s->a, ans->err, ans->message, ans->details);
    else
        bo__idem_reply(s->api, &s->idem, s->a, ans->status, ans->body, ans->len, NULL,
                       ans->status == 200);
    free(s);
}

/* The scanner's scope from its bearer token: 0 for the admin token (any
 * event), the event of a staff token; answers 401/403 and returns 1 when
 * neither. */
static int scanner_scope(bo_api_t *api, bo_http_req_t *r, uint64_t *scope)
{
    size_t len;
    const char *auth = bo_http_header(r, "authorization", &len);
    *scope = 0;
    if (auth && len > 11 && strncasecmp(auth, "Bearer stf_", 11) == 0) {
        if ((*scope = bo_staff_event(api->staff, auth + 7, len - 7)))
            return 0;
        bo_http_send_error(r, BO_EFORBIDDEN, "this staff token is not valid", NULL);
        return 1;
    }
    if (!auth) {
        bo_http_set_header(r, "WWW-Authenticate", "Bearer");
        bo_http_send_error(r, BO_EUNAUTHORIZED, "a staff token or the admin token is required",
                           NULL);
        return 1;
    }
    return bo__api_admin(api, r) ? 1 : 0;
}

static int on_checkin(void *arg, bo_http_req_t *r)
{
    bo_api_t *api = arg;
    json_t *body, *v;
    uint64_t scope;
    bo_order_step_t *st = NULL;
    scan_t *s = calloc(1, sizeof(*s));
    if (!s)
        return BO_ENOMEM;
    s->api = api;
    if (scanner_scope(api, r, &scope) || bo__api_json_body(r, &body)) {
        free(s);
        return 0;
    }
    const char *code = json_string_value(v = json_object_get(body, "code"));
    const char *evt = json_string_value(json_object_get(body, "event_id"));
    uint64_t event = 0;
    int bad = !code || json_string_length(v) > CODE_INPUT_MAX;
    if (!bad && evt && (bo_id_parse_event(evt, &event) || (scope && event != scope)))
        bad = 2;
    if (!bad) {
        /* pasted or scanned: surrounding whitespace is not part of a code */
        size_t n = json_string_length(v);
        while (n && (code[n - 1] == ' ' || code[n - 1] == '\n' || code[n - 1] == '\r' ||
                     code[n - 1] == '\t'))
            n--;
        while (n && (*code == ' ' || *code == '\n' || *code == '\r' || *code == '\t'))
            code++, n--;
        if (!scope)
            scope = event;
        if (bo_order_scan_step(api->orders, scope, code, n, &st))
            bad = 3;
    }
    json_decref(body);
    if (bad == 3) {
        free(s);
        return BO_ENOMEM;
    }
    if (bad) {
        if (st)
            bo_order_step_drop(st);
        free(s);
        return bo_http_send_error(r, BO_EINVAL,
                                  bad == 2 ? "event_id must name the scanner's event"
                                           : "code must be a string of at most 1024 bytes",
                                  json_pack("{ss}", "field", bad == 2 ? "event_id" : "code"));
    }
    if (bo__idem_begin(api, r, &s->idem)) {
        bo_order_step_drop(st);
        free(s);
        return 0;
    }
    if (!(s->a = bo_http_async_begin(r))) {
        bo__idem_end(api, &s->idem, 0, NULL, 0);
        bo_order_step_drop(st);
        free(s);
        return BO_ENOMEM;
    }
    int rc = bo_order_step_run(st, scan_done, s);
    if (rc) {
        bo__idem_end(api, &s->idem, 0, NULL, 0);
        bo_http_send_error(r, rc, NULL, NULL);
        bo_http_async_finish(s->a, NULL, NULL);
        bo_order_step_drop(st);
        free(s);
    }
    return 0;
}

static void staff_free(void *arg)
{
    bo_api_t *api = arg;
    bo_staff_free(api->staff);
    api->staff = NULL;
}

int bo__checkin_register(bo_api_t *api)
{
    int rc;
    bo_server_t *srv = api->srv;
    if (!(api->staff = bo_staff_new()))
        return BO_ENOMEM;
    if ((rc = bo_server_at_free(srv, staff_free, api)) ||
        (rc = bo_server_route(srv, "GET", "/api/v1/events/{id}/ticket-key", on_ticket_key, api)) ||
        (rc = bo_server_route(srv, "POST", "/api/v1/events/{id}/staff-tokens", on_staff_token,
                              api)) ||
        (rc =
             bo_server_route(srv, "GET", "/api/v1/events/{id}/staff-tokens", on_staff_list, api)) ||
        (rc = bo_server_route(srv, "DELETE", "/api/v1/events/{id}/staff-tokens/{token_id}",
                              on_staff_revoke, api)) ||
        (rc = bo_server_route(srv, "POST", "/api/v1/checkin", on_checkin, api)))
        return rc;
    return 0;
}
