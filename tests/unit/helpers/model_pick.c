/*
 * model_pick.c - the model test's random choices (model.h): customers,
 * seats mostly from a hot region, GA lines, which hold to act on, rules,
 * and the venue of each episode, all drawn from the seeded rng so that a
 * seed replays exactly.
 *
 * Workload: a few calls per operation, each O(seats + holds) at most.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "boxoffice/error.h"
#include "model.h"

void model_fresh_id(model_t *m, bo_hold_id_t *id)
{
    uint64_t a = model_next(m), b = model_next(m);
    memcpy(id->b, &a, 8);
    memcpy(id->b + 8, &b, 8);
}

uint64_t model_pick_customer(model_t *m)
{
    return model_chance(m, 250) ? 0 : m->customers[1 + model_below(m, MODEL_CUSTOMERS - 1)];
}

uint64_t model_pick_client(model_t *m)
{
    return model_chance(m, 200) ? 0 : m->clients[1 + model_below(m, MODEL_CLIENTS - 1)];
}

static uint32_t pick_seat(model_t *m)
{
    return model_chance(m, 750) ? m->hot[model_below(m, m->nhot)]
                                : model_below(m, m->layout->nseats);
}

/* n distinct seats into out; returns how many (fewer only in tiny venues). */
uint32_t model_pick_seats(model_t *m, uint32_t n, uint32_t *out)
{
    uint32_t k = 0;
    for (uint32_t tries = 0; k < n && tries < 8 * n + 16; tries++) {
        uint32_t s = pick_seat(m), j = 0;
        while (j < k && out[j] != s)
            j++;
        if (j == k)
            out[k++] = s;
    }
    return k;
}

/* 1-2 lines on distinct areas, mostly small quantities. */
uint32_t model_pick_ga(model_t *m, bo_ga_line_t *out)
{
    const bo_layout_t *l = m->layout;
    if (l->nga == 0)
        return 0;
    uint32_t n = 1 + model_below(m, l->nga < 2 ? 1 : 2);
    uint32_t first = model_below(m, l->nga);
    for (uint32_t i = 0; i < n; i++) {
        uint32_t cap = l->ga[(first + i) % l->nga].capacity, k = model_below(m, 100);
        out[i].area = (first + i) % l->nga;
        out[i].quantity = k < 85   ? 1 + model_below(m, 4)
                          : k < 98 ? 1 + model_below(m, cap)
                                   : cap + 1;
        if (out[i].quantity > BO_HOLD_MAX_GA_QTY)
            out[i].quantity = BO_HOLD_MAX_GA_QTY;
    }
    return n;
}

static void record_from_hold(model_record_t *rec, const ref_hold_t *h)
{
    rec->id = h->id;
    rec->customer = h->customer;
    rec->amount_cents = h->amount_cents;
    memcpy(rec->seats, h->seats, h->nseats * sizeof *h->seats);
    rec->nseats = h->nseats;
    memcpy(rec->ga, h->ga, h->nga * sizeof *h->ga);
    rec->nga = h->nga;
}

void model_remember(model_t *m, const bo_hold_id_t *id)
{
    const ref_hold_t *h = ref_inv_find(m->ref, id);
    if (!h)
        return;
    record_from_hold(&m->ring[m->ring_next], h);
    m->ring_next = (m->ring_next + 1) % MODEL_RING;
    if (m->nring < MODEL_RING)
        m->nring++;
}

/* A hold to act on: mostly a reference hold whose status is in mask, else a
 * recent one (maybe gone), else one never seen (with a few seats). */
void model_pick_target(model_t *m, unsigned mask, model_record_t *rec)
{
    uint32_t k = model_below(m, 100), n = ref_inv_count_holds(m->ref, mask);
    if (k < 70 && n > 0) {
        record_from_hold(rec, ref_inv_nth_hold(m->ref, mask, model_below(m, n)));
    } else if (k < 93 && m->nring > 0) {
        *rec = m->ring[model_below(m, m->nring)];
    } else {
        model_fresh_id(m, &rec->id);
        rec->customer = model_pick_customer(m);
        rec->amount_cents = model_below(m, 100000);
        rec->nseats = model_pick_seats(m, 1 + model_below(m, 3), rec->seats);
        rec->nga = 0;
    }
}

void model_random_config(model_t *m, bo_inv_config_t *cfg)
{
    uint32_t k = model_below(m, 20), l = model_below(m, 20);
    memset(cfg, 0, sizeof *cfg);
    cfg->hold_ttl_ms = k < 2    ? 0
                       : k < 3  ? 1 + model_below(m, 1000)
                       : k < 10 ? 60000
                                : 10000 + model_below(m, 290000);
    cfg->per_customer_limit = l < 5 ? 0 : l < 6 ? 1 + model_below(m, 3) : 6 + model_below(m, 15);
    for (uint32_t c = 0; c < m->layout->ncategories; c++)
        cfg->price_cents[c] = 500 + model_below(m, 20000);
}

/* Mostly small venues where everything collides; sometimes long rows (for
 * splits and big groups), one category, or no GA at all. */
static void make_venue(model_t *m)
{
    bo_venue_gen_t g = {
        .name = "Model Hall",
        .sections = 2 + model_below(m, 3),
        .rows = 3 + model_below(m, 5),
        .seats = model_chance(m, 900) ? 6 + model_below(m, 7) : 13 + model_below(m, 12),
        .ga_areas = model_chance(m, 900) ? 1 + model_below(m, 3) : 0,
        .ga_capacity = model_chance(m, 900) ? 8 + model_below(m, 23) : 100 + model_below(m, 200),
        .categories = model_chance(m, 900) ? 2 + model_below(m, 3) : 1,
        .aisle_every = model_chance(m, 300) ? 4 : 0,
    };
    size_t len = 0;
    bo_problems_t probs = {0};
    char *json = bo_venue_generate(&g, &len);
    cr_assert(json, "bo_venue_generate failed");
    int rc = bo_layout_parse(json, len, &m->layout, &probs);
    for (size_t i = 0; rc != 0 && i < probs.n; i++)
        fprintf(stderr, "  %s\n", probs.items[i]);
    cr_assert(rc == 0, "the generated venue does not parse: %s", bo_err_code(rc));
    free(json);
    bo_problems_free(&probs);
    snprintf(m->venue_desc, sizeof m->venue_desc,
             "%u sections x %u rows x %u seats (%u), %u GA areas of %u, %u categories", g.sections,
             g.rows, g.seats, m->layout->nseats, g.ga_areas, g.ga_capacity, m->layout->ncategories);
}

/* The hot region: one row and the next one of the same section. */
static void pick_hot(model_t *m)
{
    const bo_layout_t *l = m->layout;
    uint32_t ri = model_below(m, l->nrows);
    m->nhot = 0;
    for (uint32_t k = 0; k < 2 && ri + k < l->nrows; k++) {
        const bo_row_t *row = &l->rows[ri + k];
        if (k > 0 && row->section != l->rows[ri].section)
            break;
        for (uint32_t s = 0; s < row->nseats && m->nhot < MODEL_HOT_MAX; s++)
            m->hot[m->nhot++] = row->first_seat + s;
    }
}

static void new_inventory(model_t *m, bo_inv_config_t *cfg)
{
    model_random_config(m, cfg);
    cfg->max_holds = BO_INV_MAX_HOLDS + 1;
    cr_assert(bo_inv_new(m->layout, cfg, &m->inv) == BO_EINVAL, "max_holds past the bound");
    uint32_t k = model_below(m, 10);
    cfg->max_holds = k < 7 ? 0 : k < 9 ? 12 + model_below(m, 40) : 1 + model_below(m, 4);
    cr_assert(bo_inv_new(m->layout, cfg, &m->inv) == 0, "bo_inv_new failed");
    cr_assert(bo_inv_layout(m->inv) == m->layout);
}

void model_episode_start(model_t *m)
{
    bo_inv_config_t cfg;
    make_venue(m);
    pick_hot(m);
    new_inventory(m, &cfg);
    m->ref = ref_inv_new(m->layout, &cfg);
    for (uint32_t i = 0; i < MODEL_MAX_CP; i++)
        m->cps[i].copy = ref_inv_new(m->layout, &cfg);
    m->due_e = calloc(m->ref->cap, sizeof *m->due_e);
    m->due_r = calloc(m->ref->cap, sizeof *m->due_r);
    cr_assert(m->due_e && m->due_r);
    for (uint32_t i = 1; i < MODEL_CUSTOMERS; i++)
        m->customers[i] = model_next(m) | 1;
    for (uint32_t i = 1; i < MODEL_CLIENTS; i++)
        m->clients[i] = model_next(m) | 1;
    uint32_t caps = model_below(m, 4); /* none, seats, holds, both */
    m->cap_tickets = caps & 1 ? 1 + model_below(m, 40) : 0;
    m->cap_holds = caps & 2 ? 1 + model_below(m, 8) : 0;
    m->now = 1700000000000 + model_below(m, 1000000000);
    m->version = bo_inv_version(m->inv);
    m->journal_on = 1;
    m->ncp = m->nring = m->ring_next = 0;
    snprintf(m->venue_desc + strlen(m->venue_desc), sizeof m->venue_desc - strlen(m->venue_desc),
             "; ttl %lld ms, customer limit %u, max holds %u, caps per client %u seats %u holds",
             (long long)m->ref->cfg.hold_ttl_ms, cfg.per_customer_limit, m->ref->cfg.max_holds,
             m->cap_tickets, m->cap_holds);
}

void model_episode_end(model_t *m)
{
    for (uint32_t i = 0; i < MODEL_MAX_CP; i++) {
        ref_inv_free(m->cps[i].copy);
        m->cps[i].copy = NULL;
    }
    ref_inv_free(m->ref);
    bo_inv_free(m->inv);
    bo_layout_free(m->layout);
    free(m->due_e);
    free(m->due_r);
    m->ref = NULL;
    m->inv = NULL;
    m->layout = NULL;
    m->due_e = m->due_r = NULL;
}
