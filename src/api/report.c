/*
 * report.c - GET /api/v1/events/{id}/report (admin): seat counts by state,
 * GA areas with places held and sold, revenue and sales by category, live
 * holds; from the orders: orders by status, tickets checked in, and sales
 * over time (paid orders by hour).
 *
 * The figures are the engine's (bo_inv_sales, src/engine/inv_sales.c:
 * revenue per category allotted in proportion to the prices), the orders'
 * the order domain's (bo_orders_sales); this file reads and renders them.
 *
 * Workload: an admin's occasional call; one walk over the event's holds
 * (bo_inv_each_hold, O(hold slots)) under the event's lock.
 */
#include <stdlib.h>
#include <string.h>

#include "api/api_internal.h"

struct report {
    const bo_layout_t *l;
    bo_inv_sales_t sales;
};

static int read_report(void *arg, const bo_inv_t *inv, int64_t now_ms)
{
    struct report *rep = arg;
    rep->l = bo_inv_layout(inv);
    return bo_inv_sales(inv, now_ms, &rep->sales);
}

static json_t *report_json(const struct report *rep, uint64_t event, const char *currency)
{
    const bo_layout_t *l = rep->l;
    const bo_inv_sales_t *sa = &rep->sales;
    const bo_inv_counts_t *c = &sa->counts;
    char id[BO_ID_EVENT_LEN + 1];
    json_t *ga = json_array(), *cats = json_array();
    for (uint32_t a = 0; ga && a < l->nga; a++) {
        uint32_t cap = l->ga[a].capacity;
        json_array_append_new(ga,
                              json_pack("{s:s,s:I,s:I,s:I}", "id", bo_layout_str(l, l->ga[a].id),
                                        "capacity", (json_int_t)cap, "held",
                                        (json_int_t)(cap - sa->ga_available[a] - sa->ga_sold[a]),
                                        "sold", (json_int_t)sa->ga_sold[a]));
    }
    for (uint32_t k = 0; cats && k < l->ncategories; k++)
        json_array_append_new(cats, json_pack("{s:s,s:I,s:I}", "key",
                                              bo_layout_str(l, l->categories[k].key), "sold",
                                              (json_int_t)sa->sold_by_category[k], "revenue_cents",
                                              (json_int_t)sa->revenue_by_category[k]));
    bo_id_event(id, event);
    return json_pack("{s:s,s:s,s:{s:I,s:I,s:I,s:I,s:I},s:o,s:{s:I,s:s},s:o,s:{s:I}}", "event_id",
                     id, "currency", currency, "seats", "total", (json_int_t)c->total, "available",
                     (json_int_t)c->available, "held", (json_int_t)c->held, "sold",
                     (json_int_t)c->sold, "blocked", (json_int_t)c->blocked, "ga", ga, "revenue",
                     "total_cents", (json_int_t)sa->revenue_cents, "currency", currency,
                     "by_category", cats, "holds", "live", (json_int_t)c->live_holds);
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
