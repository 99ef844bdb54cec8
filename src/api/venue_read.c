/*
 * venue_read.c - GET /api/v1/venues and GET /api/v1/venues/{id}: the
 * venues the server knows, each with its name, city, size, price
 * categories and GA areas (what an organiser needs to create an event in
 * it; the full layout is an event's seat map).
 *
 * Workload: an organiser's occasional call; one walk over the venues.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_internal.h"

#define VENUES_MAX 10000u /* listed at most (a server has a few dozen) */

static json_t *venue_json(bo_api_t *api, uint64_t venue, const bo_layout_t *l)
{
    char id[BO_ID_VENUE_LEN + 1];
    bo_venue_info_t info = {0};
    json_t *cats = json_array(), *ga = json_array();
    uint32_t places = l->nseats;
    bo_id_venue(id, venue);
    if (bo_catalog_venue(api->catalog, venue, &info) != 0)
        snprintf(info.name, sizeof(info.name), "%s", bo_layout_str(l, l->name));
    for (uint32_t c = 0; c < l->ncategories; c++)
        json_array_append_new(cats,
                              json_pack("{ssssss}", "key", bo_layout_str(l, l->categories[c].key),
                                        "name", bo_layout_str(l, l->categories[c].name), "color",
                                        bo_layout_str(l, l->categories[c].color)));
    for (uint32_t a = 0; a < l->nga; a++) {
        places += l->ga[a].capacity;
        json_array_append_new(ga,
                              json_pack("{sssssIss}", "id", bo_layout_str(l, l->ga[a].id), "name",
                                        bo_layout_str(l, l->ga[a].name), "capacity",
                                        (json_int_t)l->ga[a].capacity, "category",
                                        bo_layout_str(l, l->categories[l->ga[a].category].key)));
    }
    return json_pack("{sssssosososIsIsIsoso}", "id", id, "name", info.name, "city",
                     info.has_city ? json_string(info.city) : json_null(), "address",
                     info.address[0] ? json_string(info.address) : json_null(), "sections",
                     json_integer(l->nsections), "seats", (json_int_t)l->nseats, "ga_capacity",
                     (json_int_t)(places - l->nseats), "capacity", (json_int_t)places, "categories",
                     cats, "ga_areas", ga);
}

struct listing {
    bo_api_t *api;
    json_t *venues;
};

static int add_venue(void *arg, uint64_t venue, const bo_layout_t *l)
{
    struct listing *ls = arg;
    if (json_array_size(ls->venues) >= VENUES_MAX)
        return 1;
    json_array_append_new(ls->venues, venue_json(ls->api, venue, l));
    return 0;
}

static int by_name(const void *a, const void *b)
{
    const char *x = json_string_value(json_object_get(*(json_t *const *)a, "name"));
    const char *y = json_string_value(json_object_get(*(json_t *const *)b, "name"));
    return strcmp(x ? x : "", y ? y : "");
}

static int on_list(void *arg, bo_http_req_t *r)
{
    struct listing ls = {arg, json_array()};
    if (!ls.venues)
        return BO_ENOMEM;
    bo_live_each_venue(ls.api->live, add_venue, &ls);
    size_t n = json_array_size(ls.venues);
    json_t **items = n ? malloc(n * sizeof(*items)) : NULL;
    for (size_t i = 0; items && i < n; i++)
        items[i] = json_incref(json_array_get(ls.venues, i));
    if (items) {
        qsort(items, n, sizeof(*items), by_name);
        json_array_clear(ls.venues);
        for (size_t i = 0; i < n; i++)
            json_array_append_new(ls.venues, items[i]);
        free(items);
    }
    return bo_http_send_json(r, 200, json_pack("{so}", "venues", ls.venues));
}

static int on_get(void *arg, bo_http_req_t *r)
{
    bo_api_t *api = arg;
    uint64_t venue;
    const bo_layout_t *l = NULL;
    const char *id = bo_http_param(r, "id");
    if (bo_id_parse_venue(id, &venue) || !(l = bo_live_venue(api->live, venue)))
        return bo_http_send_error(r, BO_ENOTFOUND, "no such venue",
                                  json_pack("{ss}", "id", id ? id : ""));
    return bo_http_send_json(r, 200, json_pack("{so}", "venue", venue_json(api, venue, l)));
}

int bo__api_venue_read_register(bo_api_t *api)
{
    int rc = bo_server_route(api->srv, "GET", "/api/v1/venues", on_list, api);
    return rc ? rc : bo_server_route(api->srv, "GET", "/api/v1/venues/{id}", on_get, api);
}
