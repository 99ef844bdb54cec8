/*
 * hold_json.c - the JSON of holds (api_internal.h "hold_json.c"): a hold
 * request read into the engine's bo_hold_req_t against the event's layout,
 * every mistake reported with the JSON path of the field at fault; the
 * common body read by a fast reader without a JSON tree (the same request
 * as the general reader's: tests/fuzz/fuzz_hold_body.c), with the buyer's
 * e-mail address checked and hashed by src/util/email.c; a hold written as the API's
 * {"hold":{...}} answer.
 *
 * Workload: every POST of a hold (~10^5/s during an on-sale, mostly 1-8
 * seats), so reading costs one seat-id hash lookup per seat and writing is
 * a hand-rolled printer: the answer of an idempotent hold is written under
 * the event's lock (live.h "decided"), where a jansson tree would cost
 * several times more.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "api/api_internal.h"
#include "util/email.h"
#include "util/strbuf.h"
#include "util/text.h"
#include "util/time.h"

/* ---- reading a hold request ---- */

/* A member, with null taken as absent. */
static json_t *member(const json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return json_is_null(v) ? NULL : v;
}

static int bad(bo_hold_bad_t *b, const char *field, const char *msg)
{
    snprintf(b->field, sizeof(b->field), "%s", field);
    b->message = msg;
    return BO_EINVAL;
}

/* An integer in 1..max. */
static bool count_ok(const json_t *v, uint32_t max, uint32_t *out)
{
    if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > max)
        return false;
    *out = (uint32_t)json_integer_value(v);
    return true;
}

/* Add id to the array list unless it is there already. */
static void add_unique(json_t *list, const char *id)
{
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v) if (!strcmp(json_string_value(v), id)) return;
    json_array_append_new(list, json_string(id));
}

static int read_seats(const json_t *seats, const bo_layout_t *l, bo_hold_req_t *req, uint32_t *out,
                      bo_hold_bad_t *b)
{
    static const char msg[] = "seats must be an array of 1 to 100 distinct seat ids";
    size_t n = json_array_size(seats);
    if (!json_is_array(seats) || n == 0 || n > BO_HOLD_MAX_SEATS)
        return bad(b, "seats", msg);
    json_t *unknown = NULL, *dups = NULL;
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        const json_t *v = json_array_get(seats, i);
        char field[24];
        snprintf(field, sizeof(field), "seats[%u]", (unsigned)i);
        if (!json_is_string(v))
            rc = bad(b, field, "seat ids are strings");
        else if (json_string_length(v) == 0 || json_string_length(v) > BO_LAYOUT_MAX_ID)
            rc = bad(b, field, "seat ids are 1 to 64 bytes long");
        else if ((out[i] = bo_layout_find_seat(l, json_string_value(v), json_string_length(v))) ==
                     BO_NONE &&
                 (unknown || (unknown = json_array())))
            add_unique(unknown, json_string_value(v));
    }
    for (size_t i = 0; i < n && !rc && !unknown; i++)
        for (size_t j = 0; j < i; j++)
            if (out[i] == out[j] && (dups || (dups = json_array())))
                add_unique(dups, json_string_value(json_array_get(seats, i)));
    if (rc)
        goto out; /* a malformed id outranks unknown ones found before it */
    if (unknown) {
        rc = bad(b, "seats", "unknown seat ids");
        b->details = json_pack("{sO}", "unknown", unknown);
    } else if (dups) {
        rc = bad(b, "seats", msg);
        b->details = json_pack("{sO}", "duplicates", dups);
    } else {
        req->seats = out;
        req->nseats = (uint32_t)n;
    }
out:
    json_decref(unknown);
    json_decref(dups);
    return rc;
}

/* The index of a category or section named by the optional member key of
 * best, or BO_NONE. */
static int read_filter(const json_t *best, const char *key, const bo_layout_t *l, uint32_t *out,
                       bo_hold_bad_t *b)
{
    static const char cat_msg[] = "best_available.category must be a category key of the venue";
    static const char sec_msg[] = "best_available.section must be a section id of the venue";
    bool is_cat = key[0] == 'c';
    char field[40];
    snprintf(field, sizeof(field), "best_available.%s", key);
    const json_t *v = member(best, key);
    *out = BO_NONE;
    if (!v)
        return 0;
    if (json_is_string(v))
        *out = is_cat ? bo_layout_find_category(l, json_string_value(v))
                      : bo_layout_find_section(l, json_string_value(v));
    if (*out == BO_NONE)
        return bad(b, field, is_cat ? cat_msg : sec_msg);
    return 0;
}

static int read_best(const json_t *best, const bo_layout_t *l, bo_hold_req_t *req, bo_hold_bad_t *b)
{
    if (!json_is_object(best))
        return bad(b, "best_available", "best_available must be an object with a quantity");
    if (!count_ok(member(best, "quantity"), BO_HOLD_MAX_SEATS, &req->best_quantity))
        return bad(b, "best_available.quantity",
                   "best_available.quantity must be an integer between 1 and 100");
    int rc = read_filter(best, "category", l, &req->best_category, b);
    return rc ? rc : read_filter(best, "section", l, &req->best_section, b);
}

static int read_ga_line(const json_t *line, const char *prefix, const bo_layout_t *l,
                        bo_ga_line_t *out, bo_hold_bad_t *b)
{
    char field[40];
    if (!json_is_object(line))
        return bad(b, prefix, "a GA line is an object {\"area\", \"quantity\"}");
    const json_t *area = member(line, "area");
    snprintf(field, sizeof(field), "%s.area", prefix);
    out->area = json_is_string(area) ? bo_layout_find_ga(l, json_string_value(area)) : BO_NONE;
    if (out->area == BO_NONE)
        return bad(b, field, "area must be a GA area id of the venue");
    snprintf(field, sizeof(field), "%s.quantity", prefix);
    if (!count_ok(member(line, "quantity"), BO_HOLD_MAX_GA_QTY, &out->quantity))
        return bad(b, field, "a GA quantity must be an integer between 1 and 100");
    return 0;
}

static int read_ga(const json_t *ga, const bo_layout_t *l, bo_hold_req_t *req, bo_ga_line_t *out,
                   bo_hold_bad_t *b)
{
    size_t n = json_is_array(ga) ? json_array_size(ga) : 1;
    if (!json_is_object(ga) && (!json_is_array(ga) || n == 0 || n > BO_HOLD_MAX_GA))
        return bad(b, "ga", "ga must be an object {\"area\", \"quantity\"} or an array of 1 to 8");
    for (size_t i = 0; i < n; i++) {
        char prefix[16] = "ga";
        if (json_is_array(ga))
            snprintf(prefix, sizeof(prefix), "ga[%u]", (unsigned)i);
        int rc =
            read_ga_line(json_is_array(ga) ? json_array_get(ga, i) : ga, prefix, l, &out[i], b);
        if (rc)
            return rc;
        for (size_t j = 0; j < i; j++)
            if (out[j].area == out[i].area)
                return bad(b, "ga", "each GA area at most once per hold");
    }
    req->ga = out;
    req->nga = (uint32_t)n;
    return 0;
}

int bo__hold_request_read(const json_t *body, const bo_layout_t *l, bo_hold_req_t *req,
                          uint32_t seats[BO_HOLD_MAX_SEATS], bo_ga_line_t ga[BO_HOLD_MAX_GA],
                          bo_hold_bad_t *b)
{
    const json_t *s = member(body, "seats"), *best = member(body, "best_available");
    const json_t *g = member(body, "ga"), *cust = member(body, "customer");
    BO_ASSERT(json_is_object(body) && l != NULL && req != NULL && seats && ga && b);
    b->field[0] = '\0';
    b->details = NULL;
    req->best_category = req->best_section = BO_NONE;
    if (!!s + !!best + !!g != 1) {
        bad(b, "", "give exactly one of seats, best_available and ga");
        b->details = json_pack("{s[sss]}", "one_of", "seats", "best_available", "ga");
        return BO_EINVAL;
    }
    int rc = s      ? read_seats(s, l, req, seats, b)
             : best ? read_best(best, l, req, b)
                    : read_ga(g, l, req, ga, b);
    if (rc)
        return rc;
    if (!json_is_object(cust))
        return bad(b, "customer", "customer must be an object with an email");
    const json_t *email = member(cust, "email");
    if (!json_is_string(email) ||
        !bo_email_customer(json_string_value(email), json_string_length(email), &req->customer))
        return bad(b, "customer.email",
                   "customer.email must be a valid e-mail address of at most 254 bytes");
    return 0;
}

/* ---- the common body, read without building a JSON tree ---- */

/* A cursor over the body; fails for anything the fast reader leaves to
 * the general one. */
typedef struct scan {
    const char *p, *end;
} scan_t;

static void skip_ws(scan_t *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
        s->p++;
}

static bool take(scan_t *s, char c)
{
    skip_ws(s);
    if (s->p == s->end || *s->p != c)
        return false;
    s->p++;
    return true;
}

/* A string of printable ASCII without escapes (so valid UTF-8 as it is):
 * *str and *len point into the body. */
static bool take_str(scan_t *s, const char **str, size_t *len)
{
    if (!take(s, '"'))
        return false;
    const char *q = s->p;
    while (q < s->end && *q != '"') {
        if (*q < 0x20 || *q > 0x7e || *q == '\\')
            return false;
        q++;
    }
    if (q == s->end)
        return false;
    *str = s->p;
    *len = (size_t)(q - s->p);
    s->p = q + 1;
    return true;
}

static bool key_is(const char *k, size_t n, const char *want)
{
    return n == strlen(want) && !memcmp(k, want, n);
}

/* ["id", ...]: 1 to BO_HOLD_MAX_SEATS known, distinct seats. */
static bool fast_seats(scan_t *s, const bo_layout_t *l, bo_hold_req_t *req, uint32_t *seats)
{
    uint32_t n = 0;
    if (!take(s, '['))
        return false;
    do {
        const char *id;
        size_t len;
        if (n == BO_HOLD_MAX_SEATS || !take_str(s, &id, &len) || len == 0 || len > BO_LAYOUT_MAX_ID)
            return false;
        uint32_t seat = bo_layout_find_seat(l, id, len);
        if (seat == BO_NONE)
            return false;
        BO_ASSERT(seat < l->nseats);
        for (uint32_t i = 0; i < n; i++)
            if (seats[i] == seat)
                return false;
        seats[n++] = seat;
    } while (take(s, ','));
    if (!take(s, ']'))
        return false;
    req->seats = seats;
    req->nseats = n;
    return true;
}

/* {"email":"..."} with a valid address. */
static bool fast_customer(scan_t *s, bo_hold_req_t *req)
{
    const char *k, *email;
    size_t klen, len;
    return take(s, '{') && take_str(s, &k, &klen) && key_is(k, klen, "email") && take(s, ':') &&
           take_str(s, &email, &len) && take(s, '}') &&
           bo_email_customer(email, len, &req->customer);
}

bool bo__hold_read_fast(const char *body, size_t len, const bo_layout_t *l, bo_hold_req_t *req,
                        uint32_t seats[BO_HOLD_MAX_SEATS])
{
    BO_ASSERT(l != NULL && req != NULL && seats != NULL && (body != NULL || len == 0));
    scan_t s = {body, body + len};
    bool has_seats = false, customer = false;
    if (!take(&s, '{'))
        return false;
    do {
        const char *k;
        size_t klen;
        if (!take_str(&s, &k, &klen) || !take(&s, ':'))
            return false;
        bool ok = false;
        if (!has_seats && key_is(k, klen, "seats"))
            ok = has_seats = fast_seats(&s, l, req, seats);
        else if (!customer && key_is(k, klen, "customer"))
            ok = customer = fast_customer(&s, req);
        if (!ok)
            return false;
    } while (take(&s, ','));
    if (!take(&s, '}') || !has_seats || !customer)
        return false;
    skip_ws(&s);
    if (s.p != s.end)
        return false;
    req->best_category = req->best_section = BO_NONE;
    BO_ASSERT(req->nseats > 0 && req->nseats <= BO_HOLD_MAX_SEATS && req->seats == seats);
    return true;
}

/* ---- writing a hold ---- */

int64_t bo__time_left_s(int64_t expires_at_ms, int64_t now_ms)
{
    /* Whole seconds, rounded up: a new hold shows its TTL, and 0 means the
     * hold is gone. */
    int64_t left = expires_at_ms - now_ms;
    return left > 0 ? (left + 999) / 1000 : 0;
}

static const char *status_name(uint8_t status)
{
    return status == BO_HOLD_PAYING ? "paying" : status == BO_HOLD_SOLD ? "sold" : "held";
}

/* A signed integer in decimal, without printf. */
static void put_i64(bo_buf_t *b, int64_t v)
{
    char tmp[24], *p = tmp + sizeof(tmp);
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    do
        *--p = (char)('0' + u % 10);
    while ((u /= 10) != 0);
    if (v < 0)
        *--p = '-';
    bo_buf_put(b, p, (size_t)(tmp + sizeof(tmp) - p));
}

/*
 * bo_time_format's text for ms, with its whole-second part formatted once
 * per second and thread: gmtime_r and snprintf cost more than the rest of
 * a hold's answer. Outside years 1970..9999 it simply calls it.
 */
static size_t format_time(int64_t ms, char out[BO_RFC3339_SIZE])
{
    static _Thread_local int64_t cached_s = -1;
    static _Thread_local char prefix[BO_RFC3339_SIZE]; /* "YYYY-MM-DDTHH:MM:SS" */
    static _Thread_local size_t prefix_len;
    if (ms < 0 || ms > 253402300799999LL)
        return bo_time_format(ms, out);
    int64_t secs = ms / 1000;
    int frac = (int)(ms % 1000);
    if (secs != cached_s) {
        prefix_len = bo_time_format(secs * 1000, prefix) - 1; /* without its 'Z' */
        cached_s = secs;
    }
    size_t n = prefix_len;
    memcpy(out, prefix, n);
    if (frac) {
        out[n++] = '.';
        out[n++] = (char)('0' + frac / 100);
        out[n++] = (char)('0' + frac / 10 % 10);
        out[n++] = (char)('0' + frac % 10);
    }
    out[n++] = 'Z';
    out[n] = '\0';
    return n;
}

char *bo__hold_render(const bo_layout_t *l, uint64_t event, const bo_hold_view_t *v,
                      const char *currency, int64_t now_ms, size_t *len)
{
    char id[BO_ID_HOLD_LEN + 1], evt[BO_ID_EVENT_LEN + 1], when[BO_RFC3339_SIZE];
    /* room for a hold of a few seats at once: one allocation, no growth */
    bo_buf_t b;
    BO_ASSERT(l != NULL && v != NULL && currency != NULL && len != NULL);
    BO_ASSERT(v->nseats <= BO_HOLD_MAX_SEATS && v->nga <= BO_HOLD_MAX_GA);
    bo_buf_init(&b, 512);
    bo_id_hold(id, event, &v->id);
    bo_id_event(evt, event);
    size_t when_len = format_time(v->expires_at_ms, when); /* exact: milliseconds when not whole */
    bo_buf_puts(&b, "{\"hold\":{\"id\":\"");
    bo_buf_puts(&b, id);
    bo_buf_puts(&b, "\",\"event_id\":\"");
    bo_buf_puts(&b, evt);
    bo_buf_puts(&b, "\",\"status\":\"");
    bo_buf_puts(&b, status_name(v->status));
    bo_buf_puts(&b, "\",\"seats\":[");
    for (uint32_t i = 0; i < v->nseats; i++) {
        if (i)
            bo_buf_put(&b, ",", 1);
        BO_ASSERT(v->seats[i] < l->nseats); /* the hold's seats are its venue's */
        bo_buf_json_str(&b, bo_layout_str(l, l->seats[v->seats[i]].id));
    }
    bo_buf_puts(&b, "],\"ga\":[");
    for (uint32_t i = 0; i < v->nga; i++) {
        bo_buf_puts(&b, i ? ",{\"area\":" : "{\"area\":");
        BO_ASSERT(v->ga[i].area < l->nga);
        bo_buf_json_str(&b, bo_layout_str(l, l->ga[v->ga[i].area].id));
        bo_buf_puts(&b, ",\"quantity\":");
        put_i64(&b, v->ga[i].quantity);
        bo_buf_put(&b, "}", 1);
    }
    int64_t left = v->status == BO_HOLD_SOLD ? 0 : bo__time_left_s(v->expires_at_ms, now_ms);
    bo_buf_puts(&b, "],\"expires_at\":\"");
    bo_buf_put(&b, when, when_len);
    bo_buf_puts(&b, "\",\"time_left_s\":");
    put_i64(&b, left);
    bo_buf_puts(&b, ",\"amount\":{\"total_cents\":");
    put_i64(&b, v->amount_cents);
    bo_buf_puts(&b, ",\"currency\":");
    bo_buf_json_str(&b, currency);
    bo_buf_puts(&b, "}}}");
    return bo_buf_take(&b, len);
}
