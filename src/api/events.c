/*
 * events.c - events as resources: POST /api/v1/events (admin: create at a
 * venue, with a price for every category), GET /api/v1/events/{id} (the
 * event with its venue, categories, GA areas and live counts) and PATCH
 * /api/v1/events/{id} (admin: change any field; cancel or reopen).
 *
 * Workload: GETs are frequent (every buyer opening an event page): one
 * catalog copy and one read of the inventory's counters under the event's
 * lock. Creates and patches are rare admin calls: validated field by field
 * (400 names the field), then made durable through the live layer, which
 * answers on the committer thread; the catalog is updated from there.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_internal.h"
#include "boxoffice/u64map.h"
#include "util/time.h"

/* ---- the event object ---------------------------------------------------------- */

/* What the inventory says of an event, read under its lock. */
struct detail {
    bo_inv_config_t cfg;
    bo_inv_counts_t counts;
    uint32_t cat_avail[BO_LAYOUT_MAX_CATEGORIES]; /* seats and GA places */
    uint32_t ga_avail[BO_LAYOUT_MAX_GA_AREAS], ga_sold[BO_LAYOUT_MAX_GA_AREAS];
};

static int read_detail(void *arg, const bo_inv_t *inv, int64_t now_ms)
{
    struct detail *d = arg;
    const bo_layout_t *l = bo_inv_layout(inv);
    d->cfg = *bo_inv_config(inv);
    bo_inv_counts(inv, now_ms, &d->counts);
    for (uint32_t c = 0; c < l->ncategories; c++)
        d->cat_avail[c] = bo_inv_category_available(inv, c, now_ms);
    for (uint32_t a = 0; a < l->nga; a++) {
        d->ga_avail[a] = bo_inv_ga_available(inv, a, now_ms);
        d->ga_sold[a] = bo_inv_ga_sold(inv, a);
        d->cat_avail[l->ga[a].category] += d->ga_avail[a];
    }
    return 0;
}

static json_t *categories_json(const bo_layout_t *l, const struct detail *d)
{
    json_t *arr = json_array();
    for (uint32_t c = 0; arr && c < l->ncategories; c++) {
        const bo_category_t *k = &l->categories[c];
        json_array_append_new(
            arr,
            json_pack("{s:s,s:s,s:s,s:I,s:I}", "key", bo_layout_str(l, k->key), "name",
                      bo_layout_str(l, k->name), "color", bo_layout_str(l, k->color), "price_cents",
                      (json_int_t)d->cfg.price_cents[c], "available", (json_int_t)d->cat_avail[c]));
    }
    return arr;
}

static json_t *ga_json(const bo_layout_t *l, const struct detail *d)
{
    json_t *arr = json_array();
    for (uint32_t a = 0; arr && a < l->nga; a++) {
        const bo_ga_area_t *g = &l->ga[a];
        json_array_append_new(arr, json_pack("{s:s,s:s,s:I,s:s,s:I}", "id", bo_layout_str(l, g->id),
                                             "name", bo_layout_str(l, g->name), "capacity",
                                             (json_int_t)g->capacity, "category",
                                             bo_layout_str(l, l->categories[g->category].key),
                                             "available", (json_int_t)d->ga_avail[a]));
    }
    return arr;
}

/* Seats and GA places together. *available is the free places. */
static json_t *counts_json(const bo_layout_t *l, const struct detail *d, uint64_t *available)
{
    uint64_t avail = d->counts.available, total = d->counts.total, held = d->counts.held,
             sold = d->counts.sold;
    for (uint32_t a = 0; a < l->nga; a++) {
        avail += d->ga_avail[a];
        total += l->ga[a].capacity;
        sold += d->ga_sold[a];
        held += l->ga[a].capacity - d->ga_avail[a] - d->ga_sold[a];
    }
    *available = avail;
    return json_pack("{s:I,s:I,s:I,s:I,s:I}", "available", (json_int_t)avail, "total",
                     (json_int_t)total, "held", (json_int_t)held, "sold", (json_int_t)sold,
                     "blocked", (json_int_t)d->counts.blocked);
}

/* The limits in force for e: every name with its value (0: none). */
static json_t *limits_json(const bo_api_t *api, const bo_event_info_t *e)
{
    bo_limits_t l;
    bo__limits_of(api, e, &l);
    json_t *o = json_object();
    for (int i = 0; o && i < BO_LIMITS; i++)
        json_object_set_new(o, bo_limit_name((enum bo_limit)i), json_integer(l.v[i]));
    return o;
}

json_t *bo__event_json(bo_api_t *api, uint64_t event, int *err)
{
    bo_event_info_t e;
    bo_venue_info_t v = {0};
    struct detail *d = calloc(1, sizeof(*d));
    const bo_layout_t *l = NULL;
    json_t *out = NULL;
    int rc = d ? bo_catalog_event(api->catalog, event, &e) : BO_ENOMEM;
    if (rc == 0 && !(l = bo_live_venue(api->live, e.venue)))
        rc = BO_ENOTFOUND;
    if (rc == 0)
        rc = bo_live_read(api->live, event, read_detail, d);
    if (rc == 0) {
        char id[BO_ID_EVENT_LEN + 1], vid[BO_ID_VENUE_LEN + 1], starts[BO_RFC3339_SIZE],
            on_sale[BO_RFC3339_SIZE];
        uint64_t avail;
        if (bo_catalog_venue(api->catalog, e.venue, &v) != 0)
            snprintf(v.name, sizeof(v.name), "%s", bo_layout_str(l, l->name));
        char *desc = bo_catalog_description(api->catalog, event);
        json_t *counts = counts_json(l, d, &avail);
        bo_id_event(id, event);
        bo_id_venue(vid, e.venue);
        bo_time_format(e.starts_at_ms, starts);
        bo_time_format(e.on_sale_at_ms, on_sale);
        out = json_pack(
            "{s:s,s:s,s:s,s:{s:s,s:s,s:o},s:s,s:s,s:s,s:s,s:I,s:I,s:o,s:o,s:o}", "id", id, "name",
            e.name, "description", desc ? desc : "", "venue", "id", vid, "name", v.name, "city",
            v.has_city ? json_string(v.city) : json_null(), "starts_at", starts, "on_sale_at",
            on_sale, "status",
            bo_catalog_status_name(bo_catalog_status(&e, bo_live_now_ms(api->live), avail)),
            "currency", e.currency, "hold_ttl_s", (json_int_t)(d->cfg.hold_ttl_ms / 1000),
            "per_customer_limit", (json_int_t)d->cfg.per_customer_limit, "categories",
            categories_json(l, d), "ga_areas", ga_json(l, d), "availability", counts);
        if (out) {
            char refund[BO_RFC3339_SIZE];
            bo_time_format(bo_catalog_refund_deadline_ms(&e), refund);
            json_object_set_new(out, "refund_deadline", json_string(refund));
            json_object_set_new(out, "waiting_room", bo__queue_config_json(event, &e.waiting_room));
            json_object_set_new(out, "limits", limits_json(api, &e));
        }
        free(desc);
        if (!out)
            rc = BO_ENOMEM;
    }
    free(d);
    if (err)
        *err = rc;
    return out;
}

static int on_get(void *arg, bo_http_req_t *r)
{
    bo_api_t *api = arg;
    uint64_t event;
    int rc = bo_id_parse_event(bo_http_param(r, "id"), &event);
    json_t *ev = rc ? NULL : bo__event_json(api, event, &rc);
    if (rc == BO_ENOTFOUND)
        return bo_http_send_error(r, BO_ENOTFOUND, "no such event",
                                  json_pack("{ss}", "id", bo_http_param(r, "id")));
    if (!ev)
        return rc ? rc : BO_ENOMEM;
    return bo_http_send_json(r, 200, json_pack("{so}", "event", ev));
}

/* ---- answers through the live layer ------------------------------------------------- */

/* A create or patch on its way to the store. */
struct change {
    bo_api_t *api;
    bo_http_async_t *a;
    bo_idem_t idem;
    uint64_t event, venue;
    char *meta;
    int status;   /* of the answer: 201 or 200 */
    bool claimed; /* a PATCH that holds its event's claim (below) */
};

/*
 * A PATCH writes the whole event (meta and configuration) as read before
 * its commit, so two at once on one event could each undo the other's
 * fields. One PATCH per event is in flight at a time: the next answers 409
 * at once (retryable, not stored under an Idempotency-Key) until the first
 * is committed. Admin changes are rare; lost ones are not acceptable.
 */
static bool claim(bo_api_t *api, uint64_t event)
{
    bool ok = false;
    pthread_mutex_lock(&api->changing_mu);
    if (!api->changing)
        api->changing = calloc(1, sizeof(*api->changing));
    if (api->changing && !bo_u64map_get(api->changing, event))
        ok = bo_u64map_put(api->changing, event, (void *)1) == 0;
    pthread_mutex_unlock(&api->changing_mu);
    return ok;
}

static void unclaim(bo_api_t *api, uint64_t event)
{
    pthread_mutex_lock(&api->changing_mu);
    bo_u64map_del(api->changing, event);
    pthread_mutex_unlock(&api->changing_mu);
}

static void change_free(struct change *c)
{
    if (c) {
        if (c->claimed)
            unclaim(c->api, c->event);
        free(c->meta);
    }
    free(c);
}

/* A change carrying the event's new meta, or NULL when out of memory. */
static struct change *change_new(bo_api_t *api, const bo_event_info_t *e, const char *desc,
                                 int status)
{
    struct change *c = calloc(1, sizeof(*c));
    if (c && !(c->meta = bo_catalog_meta_json(e, desc))) {
        free(c);
        return NULL;
    }
    if (c) {
        c->api = api;
        c->event = e->id;
        c->venue = e->venue;
        c->status = status;
    }
    return c;
}

/* Committed (or refused): the catalog follows, then the answer. */
static void change_done(void *arg, const bo_live_result_t *res)
{
    struct change *c = arg;
    bo_api_t *api = c->api;
    int rc = res->status;
    if (rc == BO_EEXIST && c->idem.on && c->status == 201)
        rc = 0; /* made by an earlier try with this key: answer with it */
    else if (rc == 0 && (rc = bo_catalog_put_event(api->catalog, c->event, c->venue, c->meta)) == 0)
        bo__seatmap_warm(api, c->event); /* new prices, or a new event */
    json_t *ev = rc == 0 ? bo__event_json(api, c->event, &rc) : NULL;
    if (c->claimed) { /* before the answer: its client may PATCH again at once */
        unclaim(api, c->event);
        c->claimed = false;
    }
    json_t *doc = ev ? json_pack("{so}", "event", ev) : NULL;
    char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    if (text) {
        char location[64];
        char id[BO_ID_EVENT_LEN + 1];
        bo_id_event(id, c->event);
        snprintf(location, sizeof(location), "/api/v1/events/%s", id);
        bo__idem_reply(api, &c->idem, c->a, c->status, text, strlen(text),
                       c->status == 201 ? location : NULL, true);
    } else {
        bo__idem_reply_error(api, &c->idem, c->a, rc ? rc : BO_ENOMEM, NULL, NULL);
    }
    change_free(c);
}

/* A refusal decided here (404 venue, 409 state), through the key when one
 * began. */
static int refuse_stored(bo_api_t *api, bo_http_req_t *r, int err, const char *message,
                         json_t *details)
{
    bo_idem_t idem;
    if (bo__idem_begin(api, r, &idem)) {
        json_decref(details);
        return 0;
    }
    bo_http_async_t *a = bo_http_async_begin(r);
    if (!a) {
        bo__idem_end(api, &idem, 0, NULL, 0);
        json_decref(details);
        return BO_ENOMEM;
    }
    bo__idem_reply_error(api, &idem, a, err, message, details);
    return 0;
}

/* The key, the async answer, then submit(c). The body of c->meta is set. */
static int start_change(bo_api_t *api, bo_http_req_t *r, struct change *c)
{
    if (bo__idem_begin(api, r, &c->idem)) {
        change_free(c);
        return 0;
    }
    if (!(c->a = bo_http_async_begin(r))) {
        bo__idem_end(api, &c->idem, 0, NULL, 0);
        change_free(c);
        return BO_ENOMEM;
    }
    return 1;
}

/* ---- POST /api/v1/events --------------------------------------------------------------- */

static int on_create(void *arg, bo_http_req_t *r)
{
    bo_api_t *api = arg;
    json_t *body;
    bo_event_info_t e = {0};
    bo_inv_config_t cfg = {0};
    const char *desc = NULL;
    bo_catalog_bad_t b;
    int rc = bo__api_admin(api, r);
    if (rc)
        return rc;
    if (bo__api_json_body(r, &body))
        return 0;
    const bo_layout_t *l = NULL;
    rc = bo_catalog_fields_create(body, bo_live_now_ms(api->live), &e, &desc, &cfg, &b);
    if (rc == 0 && !(l = bo_live_venue(api->live, e.venue)))
        rc = BO_ENOTFOUND;
    if (rc == 0)
        rc = bo_catalog_fields_prices(json_object_get(body, "prices"), l, true, &cfg, &b);
    struct change *c = rc == 0 ? change_new(api, &e, desc, 201) : NULL;
    json_decref(body);
    if (rc == BO_EINVAL)
        return bo_http_send_error(r, BO_EINVAL, b.message, json_pack("{ss}", "field", b.field));
    if (rc == BO_ENOTFOUND)
        return refuse_stored(api, r, BO_ENOTFOUND, "no such venue",
                             json_pack("{ss}", "field", "venue_id"));
    if (!c)
        return BO_ENOMEM;
    if (start_change(api, r, c) != 1)
        return 0;
    c->event = c->idem.on ? bo_id_from_key("event", c->idem.key) : bo_id_random();
    rc = bo_live_add_event(api->live, c->event, c->venue, c->meta, &cfg, change_done, c);
    if (rc)
        change_done(c, &(bo_live_result_t){.status = rc}); /* refused: answered now */
    return 0;
}

/* ---- PATCH /api/v1/events/{id} ------------------------------------------------------------ */

static int read_config(void *arg, const bo_inv_t *inv, int64_t now_ms)
{
    *(bo_inv_config_t *)arg = *bo_inv_config(inv);
    return 0;
}

static int on_patch(void *arg, bo_http_req_t *r)
{
    bo_api_t *api = arg;
    uint64_t event;
    json_t *body;
    bo_event_info_t e;
    bo_inv_config_t cfg;
    bo_catalog_bad_t b;
    int rc = bo__api_admin(api, r);
    if (rc)
        return rc;
    if (bo_id_parse_event(bo_http_param(r, "id"), &event))
        return bo_http_send_error(r, BO_ENOTFOUND, "no such event",
                                  json_pack("{ss}", "id", bo_http_param(r, "id")));
    if (!claim(api, event)) {
        bo_http_set_header(r, "Retry-After", "1");
        return bo_http_send_error(r, BO_ESTATE, "another change of this event is being committed",
                                  json_pack("{ss}", "retry", "now"));
    }
    /* read after the claim: no other PATCH can commit in between */
    if (bo_catalog_event(api->catalog, event, &e) ||
        bo_live_read(api->live, event, read_config, &cfg)) {
        unclaim(api, event);
        return bo_http_send_error(r, BO_ENOTFOUND, "no such event",
                                  json_pack("{ss}", "id", bo_http_param(r, "id")));
    }
    if (bo__api_json_body(r, &body)) {
        unclaim(api, event);
        return 0;
    }
    char *old_desc = bo_catalog_description(api->catalog, event);
    const char *desc = old_desc;
    rc = bo_catalog_fields_patch(body, bo_live_venue(api->live, e.venue), bo_live_now_ms(api->live),
                                 &e, &desc, &cfg, &b);
    struct change *c = rc == 0 ? change_new(api, &e, desc, 200) : NULL;
    json_decref(body);
    free(old_desc);
    if (c)
        c->claimed = true; /* released when c is freed */
    else
        unclaim(api, event);
    if (rc == BO_EINVAL)
        return bo_http_send_error(r, BO_EINVAL, b.message,
                                  b.field[0] ? json_pack("{ss}", "field", b.field) : NULL);
    if (rc == BO_ESTATE)
        return refuse_stored(api, r, BO_ESTATE, "the event has ended",
                             json_pack("{ss}", "status", "ended"));
    if (!c)
        return BO_ENOMEM;
    if (start_change(api, r, c) != 1)
        return 0;
    rc = bo_live_update_event(api->live, event, c->meta, &cfg, change_done, c);
    if (rc)
        change_done(c, &(bo_live_result_t){.status = rc}); /* refused: answered now */
    return 0;
}

int bo__api_events_register(bo_api_t *api)
{
    int rc;
    if ((rc = bo_server_route(api->srv, "POST", "/api/v1/events", on_create, api)) ||
        (rc = bo_server_route(api->srv, "GET", "/api/v1/events/{id}", on_get, api)) ||
        (rc = bo_server_route(api->srv, "PATCH", "/api/v1/events/{id}", on_patch, api)))
        return rc;
    return 0;
}
