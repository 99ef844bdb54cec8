/*
 * demo.c - `boxoffice serve --demo`: seed a demo venue (12 sections of 30
 * rows of 30 seats, 10,800 seats in four price categories, plus a standing
 * floor of 2,000) in Lyon, and four events on it (two on sale now, one
 * whose sales open later behind a waiting room, one next season), so that
 * a new user's `make run` serves a real booking system.
 *
 * Seeding (bo_catalog_demo, catalog.h) goes through the live layer like
 * any admin call, into the catalog, and waits for
 * each commit before the server starts answering. The demo's ids are
 * fixed, so seeding is idempotent: a later start finds them and adds only
 * what an interrupted first start missed. A store that already holds other
 * venues is not touched.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boxoffice/catalog.h"
#include "boxoffice/error.h"
#include "catalog/catalog_internal.h"
#include "order/ids.h"

#define DAY_MS (24 * 3600 * 1000LL)

struct demo_event {
    const char *key, *name, *description;
    int64_t starts_in_ms, on_sale_in_ms; /* from the first seeding */
    int64_t prices[5];                   /* P1..P4, GA */
    uint32_t hold_ttl_s, per_customer_limit;
    bool waiting_room; /* its on-sale queues buyers: the pre-queue opens a day before */
};

static const struct demo_event demo_events[] = {
    {"aurora",
     "Aurora: Winter Tour",
     "An evening of new songs and old favourites.",
     30 * DAY_MS + 20 * 3600000LL,
     -DAY_MS,
     {12000, 9500, 7500, 5500, 4500},
     300,
     10,
     false},
    {"jazz",
     "Jazz à Fourvière",
     "A quartet, a trio and a late jam session.",
     12 * DAY_MS + 19 * 3600000LL,
     -2 * DAY_MS,
     {8000, 6500, 5000, 3500, 3000},
     600,
     8,
     false},
    {"gala",
     "Chamber Orchestra: New Year Gala",
     "Strauss, champagne and a midnight waltz.",
     60 * DAY_MS + 21 * 3600000LL,
     7 * DAY_MS,
     {15000, 12000, 9000, 6000, 5000},
     300,
     6,
     true},
    {"electric",
     "Les Nuits Électriques",
     "Three stages of electronic music until dawn.",
     120 * DAY_MS + 22 * 3600000LL,
     30 * DAY_MS,
     {6000, 5000, 4000, 3000, 3900},
     300,
     10,
     false},
};

static int has_venue(void *arg, uint64_t venue, const bo_layout_t *layout)
{
    *(uint64_t *)arg = venue;
    return 1;
}

static int seed_venue(bo_catalog_t *c, uint64_t venue, bo_live_wait_t *w)
{
    bo_venue_gen_t gen = {.name = "Halle Tony Garnier",
                          .sections = 12,
                          .rows = 30,
                          .seats = 30,
                          .ga_areas = 1,
                          .ga_capacity = 2000,
                          .categories = 4,
                          .aisle_every = 10};
    static const char meta[] = "{\"city\":\"Lyon\",\"address\":\"20 Place des Docteurs Charles "
                               "et Christophe Mérieux, 69007 Lyon\"}";
    size_t len;
    char *json = bo_venue_generate(&gen, &len);
    if (!json)
        return BO_ENOMEM;
    int rc = bo_live_add_venue_meta(bo__catalog_live(c), venue, json, len, meta, NULL,
                                    bo_live_wait_done, w);
    if (rc == 0)
        rc = bo_live_wait(w, NULL);
    free(json);
    return rc ? rc : bo_catalog_put_venue(c, venue, meta);
}

static int seed_event(bo_catalog_t *c, uint64_t venue, const struct demo_event *d, int64_t now,
                      bo_live_wait_t *w)
{
    static const char *const keys[5] = {"P1", "P2", "P3", "P4", "GA"};
    const bo_layout_t *l = bo_live_venue(bo__catalog_live(c), venue);
    bo_event_info_t e = {.id = bo_id_from_key("demo event", d->key),
                         .venue = venue,
                         .starts_at_ms = now + d->starts_in_ms,
                         .on_sale_at_ms = now + d->on_sale_in_ms,
                         .created_ms = now};
    bo_inv_config_t cfg = {.hold_ttl_ms = d->hold_ttl_s * 1000LL,
                           .per_customer_limit = d->per_customer_limit};
    if (!l)
        return BO_ENOTFOUND;
    e.starts_at_ms -= e.starts_at_ms % 3600000; /* on the hour */
    if (d->waiting_room)
        e.waiting_room = (bo_queue_config_t){.enabled = true,
                                             .prequeue_opens_at_ms = e.on_sale_at_ms - DAY_MS,
                                             .onsale_at_ms = e.on_sale_at_ms,
                                             .admit_per_min = 600,
                                             .max_active = 2000,
                                             .pass_ttl_s = 900};
    snprintf(e.name, sizeof(e.name), "%s", d->name);
    memcpy(e.currency, "EUR", 4);
    for (uint32_t k = 0; k < 5; k++) {
        uint32_t cat = bo_layout_find_category(l, keys[k]);
        if (cat != BO_NONE)
            cfg.price_cents[cat] = d->prices[k];
    }
    char *meta = bo_catalog_meta_json(&e, d->description);
    if (!meta)
        return BO_ENOMEM;
    int rc = bo_live_add_event(bo__catalog_live(c), e.id, venue, meta, &cfg, bo_live_wait_done, w);
    if (rc == 0)
        rc = bo_live_wait(w, NULL);
    if (rc == 0)
        rc = bo_catalog_put_event(c, e.id, venue, meta);
    free(meta);
    return rc;
}

int bo_catalog_demo(bo_catalog_t *c)
{
    uint64_t venue = bo_id_from_key("demo", "venue"), any = 0;
    bo_event_info_t e;
    int rc = 0, venues = 0, events = 0;
    bool have_venue = bo_live_venue(bo__catalog_live(c), venue) != NULL;
    if (!have_venue && bo_live_each_venue(bo__catalog_live(c), has_venue, &any) && any)
        return 0; /* the store holds venues of its own: leave it alone */
    bo_live_wait_t *w = bo_live_wait_new();
    if (!w)
        return BO_ENOMEM;
    if (!have_venue && (rc = seed_venue(c, venue, w)) == 0)
        venues++;
    int64_t now = bo_live_now_ms(bo__catalog_live(c)) / 60000 * 60000; /* on the minute */
    for (size_t i = 0; rc == 0 && i < sizeof(demo_events) / sizeof(demo_events[0]); i++) {
        if (bo_catalog_event(c, bo_id_from_key("demo event", demo_events[i].key), &e) == 0)
            continue;
        if ((rc = seed_event(c, venue, &demo_events[i], now, w)) == 0)
            events++;
    }
    bo_live_wait_free(w);
    if (rc)
        fprintf(stderr, "boxoffice: cannot seed the demo: %s\n", bo_strerror(rc));
    else if (venues + events)
        fprintf(stderr, "demo: seeded %d venue and %d events (in Lyon)\n", venues, events);
    return rc;
}
