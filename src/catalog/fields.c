/*
 * fields.c - an event's fields as an admin writes them (boxoffice/
 * catalog.h "fields"): POST and PATCH /api/v1/events bodies checked field
 * by field into an event's meta and its inventory's config, the first
 * problem reported with its field (a JSON path) and a message that the
 * API answers as 400 INVALID_REQUEST; and a venue's meta (city, address)
 * beside its imported seat map, its problems reported with the map's.
 *
 * Workload: rare admin calls; clarity over speed.
 */
#include <stdio.h>
#include <string.h>

#include "boxoffice/catalog.h"
#include "boxoffice/error.h"
#include "order/ids.h"
#include "util/text.h"
#include "util/time.h"

#define PRICE_MAX_CENTS    1000000000LL
#define HOLD_TTL_MIN_S     30
#define HOLD_TTL_MAX_S     3600
#define HOLD_TTL_DEFAULT_S 300
#define CUSTOMER_LIMIT_MAX 1000
#define CUSTOMER_LIMIT_DEF 10

/* ---- validating a body, field by field ---------------------------------------------------- */

static int fail(bo_catalog_bad_t *b, const char *field, const char *fmt, const char *arg)
{
    snprintf(b->field, sizeof(b->field), "%s", field);
    snprintf(b->message, sizeof(b->message), fmt, arg ? arg : field);
    return BO_EINVAL;
}

/* A name: 1..BO_CATALOG_NAME_MAX bytes, no control characters. */
static int get_name(json_t *v, char out[BO_CATALOG_NAME_MAX + 1], bo_catalog_bad_t *b)
{
    size_t n = json_string_length(v);
    if (!json_is_string(v) || n == 0 || n > BO_CATALOG_NAME_MAX ||
        !bo_text_ok(json_string_value(v), n, 0))
        return fail(b, "name", "name must be a string of 1 to 200 bytes without control characters",
                    NULL);
    memcpy(out, json_string_value(v), n + 1);
    return 0;
}

static int get_description(json_t *v, const char **out, bo_catalog_bad_t *b)
{
    if (!json_is_string(v) || json_string_length(v) > BO_CATALOG_DESCRIPTION_MAX ||
        !bo_text_ok(json_string_value(v), json_string_length(v), BO_TEXT_MULTILINE))
        return fail(b, "description",
                    "description must be a string of at most 4096 bytes without control "
                    "characters other than line feeds and tabs",
                    NULL);
    *out = json_string_value(v);
    return 0;
}

static int get_time(json_t *v, const char *field, int64_t *ms, bo_catalog_bad_t *b)
{
    if (!json_is_string(v) || bo_time_parse(json_string_value(v), json_string_length(v), ms))
        return fail(b, field, "%s must be an RFC 3339 time such as 2026-12-05T19:30:00Z", field);
    return 0;
}

static int get_int(json_t *v, const char *field, json_int_t lo, json_int_t hi, json_int_t *out,
                   bo_catalog_bad_t *b)
{
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
        char fmt[96];
        snprintf(fmt, sizeof(fmt), "%%s must be an integer between %lld and %lld", (long long)lo,
                 (long long)hi);
        return fail(b, field, fmt, field);
    }
    *out = json_integer_value(v);
    return 0;
}

static int get_currency(json_t *v, char out[4], bo_catalog_bad_t *b)
{
    const char *s = json_string_value(v);
    if (!s || json_string_length(v) != 3 || s[0] < 'A' || s[0] > 'Z' || s[1] < 'A' || s[1] > 'Z' ||
        s[2] < 'A' || s[2] > 'Z')
        return fail(b, "currency", "currency must be an ISO 4217 code of three capital letters",
                    NULL);
    memcpy(out, s, 4);
    return 0;
}

/* prices: {key: cents} for categories of l; every one of them when all. */
int bo_catalog_fields_prices(json_t *v, const bo_layout_t *l, bool all, bo_inv_config_t *cfg,
                             bo_catalog_bad_t *b)
{
    const char *key;
    json_t *p;
    char field[96];
    if (!json_is_object(v))
        return fail(b, "prices", "prices must be an object of category keys to cents", NULL);
    json_object_foreach(v, key, p)
    {
        snprintf(field, sizeof(field), "prices.%.64s", key);
        uint32_t c = bo_layout_find_category(l, key);
        json_int_t cents;
        if (c == BO_NONE)
            return fail(b, field, "%s is not a price category of the venue", field);
        if (get_int(p, field, 0, PRICE_MAX_CENTS, &cents, b))
            return BO_EINVAL;
        cfg->price_cents[c] = cents;
    }
    for (uint32_t c = 0; all && c < l->ncategories; c++)
        if (!json_object_get(v, bo_layout_str(l, l->categories[c].key))) {
            snprintf(field, sizeof(field), "prices.%s", bo_layout_str(l, l->categories[c].key));
            return fail(b, field, "prices must give a price for every category of the venue", NULL);
        }
    return 0;
}

/* Keys outside allowed[] are refused (with why, when it is known). */
static int only_keys(json_t *body, const char *const *allowed, bo_catalog_bad_t *b)
{
    const char *key;
    json_t *v;
    json_object_foreach(body, key, v)
    {
        bool ok = false;
        for (size_t i = 0; allowed[i] && !ok; i++)
            ok = strcmp(key, allowed[i]) == 0;
        if (ok)
            continue;
        char field[72];
        snprintf(field, sizeof(field), "%.64s", key);
        bool fixed = !strcmp(key, "venue_id") || !strcmp(key, "currency");
        return fail(b, field, fixed ? "%s cannot change" : "%s is not a field of an event", field);
    }
    return 0;
}

/* ---- the waiting room ------------------------------------------------------------------ */

#define WR_ADMIT_PER_MIN_DEF 600
#define WR_MAX_ACTIVE_DEF    2000
#define WR_PASS_TTL_DEF_S    900

static const char *const wr_keys[] = {
    "enabled",    "prequeue_opens_at", "onsale_at",      "admit_per_min",
    "max_active", "pass_ttl_s",        "pow_difficulty", "paused",
    NULL};

/* The member key of w (NULL when absent), its JSON path into field. */
static json_t *wr_member(json_t *w, const char *key, char field[48])
{
    snprintf(field, 48, "waiting_room.%s", key);
    return json_object_get(w, key);
}

static int wr_bool(json_t *w, const char *key, bool *out, bo_catalog_bad_t *b)
{
    char field[48];
    json_t *v = wr_member(w, key, field);
    if (v && !json_is_boolean(v))
        return fail(b, field, "%s must be true or false", field);
    *out = v ? json_is_true(v) : *out;
    return 0;
}

static int wr_int(json_t *w, const char *key, json_int_t lo, json_int_t hi, uint32_t *out,
                  bo_catalog_bad_t *b)
{
    char field[48];
    json_int_t n = *out;
    json_t *v = wr_member(w, key, field);
    if (v && get_int(v, field, lo, hi, &n, b))
        return BO_EINVAL;
    *out = (uint32_t)n;
    return 0;
}

static int wr_time(json_t *w, const char *key, int64_t *out, bo_catalog_bad_t *b)
{
    char field[48];
    json_t *v = wr_member(w, key, field);
    return v ? get_time(v, field, out, b) : 0;
}

/* "waiting_room": null, or an object merged over the event's (defaults
 * when it had none: on-sale at the event's on_sale_at, the pre-queue open
 * an hour before). */
static int get_waiting_room(json_t *w, bo_event_info_t *e, bo_catalog_bad_t *b)
{
    bo_queue_config_t q = e->waiting_room;
    if (json_is_null(w)) {
        memset(&e->waiting_room, 0, sizeof(e->waiting_room));
        return 0;
    }
    if (!json_is_object(w))
        return fail(b, "waiting_room", "waiting_room must be an object or null", NULL);
    const char *key;
    json_t *v;
    json_object_foreach(w, key, v)
    {
        bool ok = false;
        for (size_t i = 0; wr_keys[i] && !ok; i++)
            ok = strcmp(key, wr_keys[i]) == 0;
        char field[96];
        snprintf(field, sizeof(field), "waiting_room.%.64s", key);
        if (!ok)
            return fail(b, field, "%s is not a field of a waiting room", field);
    }
    if (!q.enabled)
        q = (bo_queue_config_t){.enabled = true,
                                .onsale_at_ms = e->on_sale_at_ms,
                                .prequeue_opens_at_ms = e->on_sale_at_ms - 3600 * 1000LL,
                                .admit_per_min = WR_ADMIT_PER_MIN_DEF,
                                .max_active = WR_MAX_ACTIVE_DEF,
                                .pass_ttl_s = WR_PASS_TTL_DEF_S};
    if (wr_bool(w, "enabled", &q.enabled, b) || wr_bool(w, "paused", &q.paused, b) ||
        wr_time(w, "onsale_at", &q.onsale_at_ms, b) ||
        wr_time(w, "prequeue_opens_at", &q.prequeue_opens_at_ms, b) ||
        wr_int(w, "admit_per_min", BO_QUEUE_ADMIT_PER_MIN_MIN, BO_QUEUE_ADMIT_PER_MIN_MAX,
               &q.admit_per_min, b) ||
        wr_int(w, "max_active", 1, BO_QUEUE_MAX_ACTIVE_MAX, &q.max_active, b) ||
        wr_int(w, "pass_ttl_s", BO_QUEUE_PASS_TTL_MIN_S, BO_QUEUE_PASS_TTL_MAX_S, &q.pass_ttl_s,
               b) ||
        wr_int(w, "pow_difficulty", 0, BO_QUEUE_POW_MAX, &q.pow_difficulty, b))
        return BO_EINVAL;
    if (q.prequeue_opens_at_ms > q.onsale_at_ms)
        return fail(b, "waiting_room.prequeue_opens_at",
                    "waiting_room.prequeue_opens_at must not be after waiting_room.onsale_at",
                    NULL);
    if (!q.enabled)
        memset(&q, 0, sizeof(q));
    e->waiting_room = q;
    return 0;
}

/* limits: {name: count or null} over the event's own (null: the server's
 * value again); names and values as `serve --limits` takes them. */
static int get_limits(json_t *v, bo_event_info_t *e, bo_catalog_bad_t *b)
{
    const char *key;
    json_t *n;
    char field[96];
    json_int_t value;
    if (!json_is_object(v))
        return fail(b, "limits", "limits must be an object of limit names to counts or null", NULL);
    json_object_foreach(v, key, n)
    {
        enum bo_limit which = bo_limit_find(key, strlen(key));
        snprintf(field, sizeof(field), "limits.%.64s", key);
        if (which == BO_LIMITS)
            return fail(b, field, "not a limit: see the event's limits for their names", NULL);
        if (json_is_null(n)) {
            e->limits_set &= ~(1u << which);
            e->limits.v[which] = 0;
            continue;
        }
        if (get_int(n, field, 0, BO_LIMIT_MAX, &value, b))
            return BO_EINVAL;
        e->limits.v[which] = (uint32_t)value;
        e->limits_set |= 1u << which;
    }
    return 0;
}

/* The fields every body may carry, into e / description / cfg. */
static int common_fields(json_t *body, bo_event_info_t *e, const char **description,
                         bo_inv_config_t *cfg, bo_catalog_bad_t *b)
{
    json_t *v;
    json_int_t n;
    if ((v = json_object_get(body, "name")) && get_name(v, e->name, b))
        return BO_EINVAL;
    if ((v = json_object_get(body, "description")) && get_description(v, description, b))
        return BO_EINVAL;
    if ((v = json_object_get(body, "starts_at")) && get_time(v, "starts_at", &e->starts_at_ms, b))
        return BO_EINVAL;
    if ((v = json_object_get(body, "on_sale_at")) &&
        get_time(v, "on_sale_at", &e->on_sale_at_ms, b))
        return BO_EINVAL;
    if ((v = json_object_get(body, "refund_deadline")) && json_is_null(v))
        e->refund_deadline_ms = 0;
    else if (v && get_time(v, "refund_deadline", &e->refund_deadline_ms, b))
        return BO_EINVAL;
    if ((v = json_object_get(body, "hold_ttl_s"))) {
        if (get_int(v, "hold_ttl_s", HOLD_TTL_MIN_S, HOLD_TTL_MAX_S, &n, b))
            return BO_EINVAL;
        cfg->hold_ttl_ms = n * 1000;
    }
    if ((v = json_object_get(body, "per_customer_limit"))) {
        if (get_int(v, "per_customer_limit", 0, CUSTOMER_LIMIT_MAX, &n, b))
            return BO_EINVAL;
        cfg->per_customer_limit = (uint32_t)n;
    }
    if ((v = json_object_get(body, "waiting_room")) && get_waiting_room(v, e, b))
        return BO_EINVAL;
    if ((v = json_object_get(body, "limits")) && get_limits(v, e, b))
        return BO_EINVAL;
    return 0;
}

static int check_times(json_t *body, const bo_event_info_t *e, bo_catalog_bad_t *b)
{
    if (e->on_sale_at_ms < e->starts_at_ms)
        return 0;
    const char *field = json_object_get(body, "on_sale_at") ? "on_sale_at" : "starts_at";
    return fail(b, field, "on_sale_at must be before starts_at", NULL);
}

static const char *const patch_keys[] = {"name",
                                         "description",
                                         "starts_at",
                                         "on_sale_at",
                                         "prices",
                                         "hold_ttl_s",
                                         "per_customer_limit",
                                         "status",
                                         "refund_deadline",
                                         "waiting_room",
                                         "limits",
                                         NULL};

static const char *const create_keys[] = {
    "venue_id",     "name",   "description", "starts_at",          "on_sale_at",
    "currency",     "prices", "hold_ttl_s",  "per_customer_limit", "refund_deadline",
    "waiting_room", "limits", NULL};

/* Everything but the venue's existence and the prices (which need it). */
int bo_catalog_fields_create(json_t *body, int64_t now_ms, bo_event_info_t *e, const char **desc,
                             bo_inv_config_t *cfg, bo_catalog_bad_t *b)
{
    json_t *v = json_object_get(body, "venue_id");
    static const char *const required[] = {"venue_id", "name", "starts_at", "currency", "prices"};
    for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++)
        if (!json_object_get(body, required[i]))
            return fail(b, required[i], "%s is required", required[i]);
    if (only_keys(body, create_keys, b))
        return BO_EINVAL;
    if (!json_is_string(v) || bo_id_parse_venue(json_string_value(v), &e->venue))
        return fail(b, "venue_id", "venue_id must be a venue id (ven_ and 16 hex digits)", NULL);
    e->on_sale_at_ms = e->created_ms = now_ms;
    cfg->hold_ttl_ms = HOLD_TTL_DEFAULT_S * 1000;
    cfg->per_customer_limit = CUSTOMER_LIMIT_DEF;
    if (common_fields(body, e, desc, cfg, b) ||
        get_currency(json_object_get(body, "currency"), e->currency, b))
        return BO_EINVAL;
    if (!json_object_get(body, "on_sale_at") && e->on_sale_at_ms >= e->starts_at_ms)
        e->on_sale_at_ms = e->starts_at_ms - 1; /* on sale from now until it starts */
    return check_times(body, e, b);
}

/* The status asked for: cancelled, or lifting a cancellation (on_sale also
 * opens sales now). BO_ESTATE when the event would still have ended. */
static int apply_status(json_t *v, int64_t now, bo_event_info_t *e, bo_catalog_bad_t *b)
{
    const char *s = json_string_value(v);
    if (!s || (strcmp(s, "cancelled") && strcmp(s, "scheduled") && strcmp(s, "on_sale")))
        return fail(b, "status", "status must be one of cancelled, scheduled, on_sale", NULL);
    e->cancelled = !strcmp(s, "cancelled");
    if (!strcmp(s, "on_sale") && e->on_sale_at_ms > now)
        e->on_sale_at_ms = now;
    if (!e->cancelled && now >= e->starts_at_ms)
        return BO_ESTATE;
    return 0;
}

int bo_catalog_fields_patch(json_t *body, const bo_layout_t *l, int64_t now_ms, bo_event_info_t *e,
                            const char **desc, bo_inv_config_t *cfg, bo_catalog_bad_t *b)
{
    json_t *v;
    if (json_object_size(body) == 0)
        return fail(b, "", "the body must change at least one field", NULL);
    if (only_keys(body, patch_keys, b) || common_fields(body, e, desc, cfg, b))
        return BO_EINVAL;
    if ((v = json_object_get(body, "prices")) && bo_catalog_fields_prices(v, l, false, cfg, b))
        return BO_EINVAL;
    if (check_times(body, e, b))
        return BO_EINVAL;
    return (v = json_object_get(body, "status")) ? apply_status(v, now_ms, e, b) : 0;
}

/* ---- a venue's meta -------------------------------------------------------------------- */

static void add_problem(bo_problems_t *p, const char *text)
{
    p->total++;
    bo_problems_add(p, text); /* out of memory: the problem is counted, not kept */
}

/* An optional text field of the venue's meta into meta; problems into p. */
static void meta_text(json_t *root, const char *key, size_t min, json_t *meta, bo_problems_t *p)
{
    json_t *v = json_object_get(root, key);
    char text[160];
    if (!v)
        return;
    size_t n = json_string_length(v);
    if (!json_is_string(v) || n < min || n > BO_CATALOG_NAME_MAX ||
        !bo_text_ok(json_string_value(v), n, 0)) {
        snprintf(text, sizeof(text),
                 "%s: must be a string of %zu to %u bytes without control "
                 "characters",
                 key, min, BO_CATALOG_NAME_MAX);
        add_problem(p, text);
        return;
    }
    json_object_set(meta, key, v);
}

char *bo_catalog_fields_venue(json_t *root, bo_problems_t *p)
{
    json_t *meta = json_object(); /* a root that is no object: the layout says so */
    meta_text(root, "city", 1, meta, p);
    meta_text(root, "address", 0, meta, p);
    char *text = meta ? json_dumps(meta, JSON_COMPACT) : NULL;
    json_decref(meta);
    return text;
}
