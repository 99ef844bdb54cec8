/*
 * report.c - GET /api/v1/events/{id}/report (admin): seat counts by state,
 * GA areas with places held and sold, revenue and sales by category, live
 * holds; from the orders: orders by status, tickets checked in, and sales
 * over time (paid orders by hour).
 *
 * Revenue is what the sold holds were sold for (each hold keeps its amount,
 * fixed when it was made). A hold spanning several categories is one
 * amount, so its share of each category is allotted in proportion to the
 * event's current prices (by count when they are all 0); the shares of a
 * hold always add up to its amount, so by_category adds up to the total.
 *
 * Workload: an admin's occasional call; one walk over the event's holds
 * (bo_inv_each_hold, O(hold slots)) under the event's lock.
 */
#include <stdlib.h>
#include <string.h>

#include "api/api_internal.h"
#include "api/api_internal.h"

struct report {
    const bo_layout_t *l;
    bo_inv_config_t cfg;
    bo_inv_counts_t counts;
    uint32_t ga_avail[BO_LAYOUT_MAX_GA_AREAS], ga_sold[BO_LAYOUT_MAX_GA_AREAS];
    uint64_t cat_sold[BO_LAYOUT_MAX_CATEGORIES];
    int64_t cat_revenue[BO_LAYOUT_MAX_CATEGORIES];
    int64_t revenue;
};

/* One sold hold: its places per category, and its amount shared out. */
static int add_sold(void *arg, const bo_hold_view_t *h)
{
    struct report *rep = arg;
    const bo_layout_t *l = rep->l;
    uint32_t cats[BO_LAYOUT_MAX_CATEGORIES], ncats = 0;
    uint64_t count[BO_LAYOUT_MAX_CATEGORIES];
    if (h->status != BO_HOLD_SOLD)
        return 0;
    for (uint32_t i = 0; i < h->nseats + h->nga; i++) {
        bool seat = i < h->nseats;
        const bo_ga_line_t *g = seat ? NULL : &h->ga[i - h->nseats];
        uint32_t c = seat ? l->seats[h->seats[i]].category : l->ga[g->area].category;
        uint32_t k = 0;
        while (k < ncats && cats[k] != c)
            k++;
        if (k == ncats) {
            cats[ncats++] = c;
            count[k] = 0;
        }
        count[k] += seat ? 1 : g->quantity;
    }
    double weight = 0;
    for (uint32_t k = 0; k < ncats; k++)
        weight += (double)count[k] * (double)rep->cfg.price_cents[cats[k]];
    int64_t left = h->amount_cents;
    for (uint32_t k = 0; k < ncats; k++) {
        double w = weight > 0 ? (double)count[k] * (double)rep->cfg.price_cents[cats[k]] : 1;
        double total = weight > 0 ? weight : ncats;
        int64_t share = k + 1 == ncats ? left : (int64_t)((double)h->amount_cents * w / total);
        left -= share;
        rep->cat_sold[cats[k]] += count[k];
        rep->cat_revenue[cats[k]] += share;
    }
    rep->revenue += h->amount_cents;
    return 0;
}

static int read_report(void *arg, const bo_inv_t *inv, int64_t now_ms)
{
    struct report *rep = arg;
    rep->l = bo_inv_layout(inv);
    rep->cfg = *bo_inv_config(inv);
    bo_inv_counts(inv, now_ms, &rep->counts);
    for (uint32_t a = 0; a < rep->l->nga; a++) {
        rep->ga_avail[a] = bo_inv_ga_available(inv, a, now_ms);
        rep->ga_sold[a] = bo_inv_ga_sold(inv, a);
    }
    return bo_inv_each_hold(inv, now_ms, add_sold, rep);
}

static json_t *report_json(const struct report *rep, uint64_t event, const char *currency)
{
    const bo_layout_t *l = rep->l;
    const bo_inv_counts_t *c = &rep->counts;
    char id[BO_ID_EVENT_LEN + 1];
    json_t *ga = json_array(), *cats = json_array();
    for (uint32_t a = 0; ga && a < l->nga; a++) {
        uint32_t cap = l->ga[a].capacity;
        json_array_append_new(ga,
                              json_pack("{s:s,s:I,s:I,s:I}", "id", bo_layout_str(l, l->ga[a].id),
                                        "capacity", (json_int_t)cap, "held",
                                        (json_int_t)(cap - rep->ga_avail[a] - rep->ga_sold[a]),
                                        "sold", (json_int_t)rep->ga_sold[a]));
    }
    for (uint32_t k = 0; cats && k < l->ncategories; k++)
        json_array_append_new(cats, json_pack("{s:s,s:I,s:I}", "key",
                                              bo_layout_str(l, l->categories[k].key), "sold",
                                              (json_int_t)rep->cat_sold[k], "revenue_cents",
                                              (json_int_t)rep->cat_revenue[k]));
    bo_id_event(id, event);
    return json_pack("{s:s,s:s,s:{s:I,s:I,s:I,s:I,s:I},s:o,s:{s:I,s:s},s:o,s:{s:I}}", "event_id",
                     id, "currency", currency, "seats", "total", (json_int_t)c->total, "available",
                     (json_int_t)c->available, "held", (json_int_t)c->held, "sold",
                     (json_int_t)c->sold, "blocked", (json_int_t)c->blocked, "ga", ga, "revenue",
                     "total_cents", (json_int_t)rep->revenue, "currency", currency, "by_category",
                     cats, "holds", "live", (json_int_t)c->live_holds);
}

static int on_report(void *arg, bo_http_req_t *r)
{
    bo_api_t *api = arg;
    uint64_t event;
    bo_event_info_t e;
    int rc = bo__api_admin(api, r);
    if (rc)
        return rc;
    struct report *rep = calloc(1, sizeof(*rep));
    if (!rep)
        return BO_ENOMEM;
    rc = bo_id_parse_event(bo_http_param(r, "id"), &event);
    if (rc == 0)
        rc = bo_catalog_event(api->catalog, event, &e);
    if (rc == 0)
        rc = bo_live_read(api->live, event, read_report, rep);
    json_t *doc = rc == 0 ? report_json(rep, event, e.currency) : NULL;
    free(rep);
    if (doc && api->orders)
        bo_orders_sales(api->orders, event, doc);
    if (rc == BO_ENOTFOUND || rc == BO_EINVAL)
        return bo_http_send_error(r, BO_ENOTFOUND, "no such event",
                                  json_pack("{ss}", "id", bo_http_param(r, "id")));
    return doc ? bo_http_send_json(r, 200, doc) : rc ? rc : BO_ENOMEM;
}

int bo__api_report_register(bo_api_t *api)
{
    return bo_server_route(api->srv, "GET", "/api/v1/events/{id}/report", on_report, api);
}
