/*
 * live_fixture.c - see live_fixture.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "boxoffice/error.h"
#include "live_fixture.h"

char *fx_temp_db(char **path_out)
{
    char tmpl[] = "/tmp/boxoffice-test-XXXXXX";
    int fd = mkstemp(tmpl);
    if (fd < 0)
        return NULL;
    close(fd);
    unlink(tmpl);
    char *url = malloc(strlen(tmpl) + 16);
    sprintf(url, "sqlite:%s.db", tmpl);
    *path_out = strdup(url + 7);
    return url;
}

void fx_remove_db(const char *path)
{
    char buf[512];
    unlink(path);
    snprintf(buf, sizeof(buf), "%s-wal", path);
    unlink(buf);
    snprintf(buf, sizeof(buf), "%s-shm", path);
    unlink(buf);
}

static int wait_for(bo_live_wait_t *w, bo_live_result_t *r)
{
    int rc = bo_live_wait(w, r);
    bo_live_wait_free(w);
    return rc;
}

int fx_venue_event(bo_live_t *live, uint64_t venue, uint64_t event, uint32_t sections,
                   uint32_t rows, uint32_t seats, uint32_t ga_areas, uint32_t ga_cap,
                   int64_t ttl_ms, uint32_t per_customer_limit)
{
    bo_venue_gen_t g = {.sections = sections, .rows = rows, .seats = seats,
                        .ga_areas = ga_areas, .ga_capacity = ga_cap, .categories = 3};
    size_t len;
    char *json = bo_venue_generate(&g, &len);
    if (!json)
        return BO_EINVAL;
    bo_live_wait_t *w = bo_live_wait_new();
    bo_live_add_venue(live, venue, json, len, NULL, bo_live_wait_done, w);
    free(json);
    int rc = wait_for(w, NULL);
    if (rc)
        return rc;
    bo_inv_config_t cfg = {.hold_ttl_ms = ttl_ms, .per_customer_limit = per_customer_limit};
    for (uint32_t c = 0; c < BO_LAYOUT_MAX_CATEGORIES; c++)
        cfg.price_cents[c] = 1000 * (c + 1);
    w = bo_live_wait_new();
    bo_live_add_event(live, event, venue, "{\"name\":\"test\"}", &cfg, bo_live_wait_done, w);
    return wait_for(w, NULL);
}

bo_hold_id_t fx_id(uint64_t n)
{
    bo_hold_id_t id;
    memset(&id, 0, sizeof(id));
    memcpy(id.b, &n, sizeof(n));
    id.b[15] = 0xb0;
    return id;
}

int fx_hold(bo_live_t *live, uint64_t event, const bo_hold_req_t *req, bo_live_result_t *r)
{
    bo_live_wait_t *w = bo_live_wait_new();
    bo_live_hold(live, event, req, bo_live_wait_done, w);
    return wait_for(w, r);
}

int fx_hold_seats(bo_live_t *live, uint64_t event, bo_hold_id_t id, const uint32_t *seats,
                  uint32_t n, bo_live_result_t *r)
{
    bo_hold_req_t req = {.id = id, .seats = seats, .nseats = n, .best_category = BO_NONE,
                         .best_section = BO_NONE};
    return fx_hold(live, event, &req, r);
}

int fx_release(bo_live_t *live, uint64_t event, bo_hold_id_t id)
{
    bo_live_wait_t *w = bo_live_wait_new();
    bo_live_release(live, event, &id, bo_live_wait_done, w);
    return wait_for(w, NULL);
}

int fx_pay_start(bo_live_t *live, uint64_t event, bo_hold_id_t id, int64_t deadline_ms)
{
    bo_live_wait_t *w = bo_live_wait_new();
    bo_live_pay_start(live, event, &id, deadline_ms, bo_live_wait_done, w);
    return wait_for(w, NULL);
}

int fx_confirm(bo_live_t *live, uint64_t event, bo_hold_id_t id)
{
    bo_live_wait_t *w = bo_live_wait_new();
    bo_live_confirm(live, event, &id, NULL, 0, NULL, 0, 0, 0, bo_live_wait_done, w);
    return wait_for(w, NULL);
}

int fx_cancel(bo_live_t *live, uint64_t event, bo_hold_id_t id)
{
    bo_live_wait_t *w = bo_live_wait_new();
    bo_live_cancel(live, event, &id, bo_live_wait_done, w);
    return wait_for(w, NULL);
}

int fx_block(bo_live_t *live, uint64_t event, const uint32_t *seats, uint32_t n, int unblock)
{
    bo_live_wait_t *w = bo_live_wait_new();
    bo_live_block(live, event, seats, n, unblock, bo_live_wait_done, w);
    return wait_for(w, NULL);
}

static int capture(void *arg, const bo_inv_t *inv, int64_t now_ms)
{
    fx_state_t *s = arg;
    const bo_layout_t *l = bo_inv_layout(inv);
    bo_inv_counts(inv, now_ms, &s->counts);
    s->nseats = l->nseats;
    s->states = malloc(l->nseats ? l->nseats : 1);
    bo_inv_snapshot(inv, now_ms, s->states);
    s->nga = l->nga < 16 ? l->nga : 16;
    for (uint32_t a = 0; a < s->nga; a++) {
        s->ga_avail[a] = bo_inv_ga_available(inv, a, now_ms);
        s->ga_sold[a] = bo_inv_ga_sold(inv, a);
    }
    return 0;
}

int fx_capture(bo_live_t *live, uint64_t event, fx_state_t *s)
{
    memset(s, 0, sizeof(*s));
    return bo_live_read(live, event, capture, s);
}

int fx_state_eq(const fx_state_t *a, const fx_state_t *b)
{
    bo_inv_counts_t ca = a->counts, cb = b->counts;
    ca.version = cb.version = 0;
    return memcmp(&ca, &cb, sizeof(ca)) == 0 && a->nseats == b->nseats &&
           memcmp(a->states, b->states, a->nseats) == 0 && a->nga == b->nga &&
           memcmp(a->ga_avail, b->ga_avail, sizeof(a->ga_avail)) == 0 &&
           memcmp(a->ga_sold, b->ga_sold, sizeof(a->ga_sold)) == 0;
}

void fx_state_free(fx_state_t *s)
{
    free(s->states);
    s->states = NULL;
}
