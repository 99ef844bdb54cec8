/*
 * inv_check.c - bo_inv_check (engine.h): recount one inventory from its
 * seats and holds and compare with every counter the mutations keep. The
 * cheap per-mutation checks are BO_ASSERTs in inventory.c and journal.c;
 * this one is the full audit they cannot afford.
 *
 * Workload: tests only (the model test after every batch of operations,
 * unit tests after a scenario): O(seats + hold slots), allocates per-row,
 * per-category and per-area arrays.
 */
#include <stdlib.h>

#include "boxoffice/error.h"
#include "engine/inv_internal.h"

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c))                                                                                  \
            return bo__check_failed(#c, __FILE__, __LINE__);                                       \
    } while (0)

struct tally {
    uint32_t state[4];   /* seats per state */
    uint32_t live;       /* HELD + PAYING holds */
    uint32_t *cat_avail; /* per category */
    uint32_t *row_free;  /* per row */
    uint32_t *ga_held, *ga_sold;
};

/* Every seat word agrees with the hold it names. */
static int count_seats(const bo_inv_t *inv, struct tally *t)
{
    const bo_layout_t *l = inv->layout;
    for (uint32_t s = 0; s < l->nseats; s++) {
        uint32_t w = inv->words[s], st = W_STATE(w), slot = W_SLOT(w);
        t->state[st]++;
        if (st == BO_SEAT_AVAILABLE) {
            t->cat_avail[l->seats[s].category]++;
            t->row_free[l->seats[s].row]++;
        }
        CHECK((st == BO_SEAT_HELD || st == BO_SEAT_SOLD) == (slot != 0));
        CHECK(slot < inv->nholds);
        uint8_t hs = slot ? inv->holds[slot].status : BO_HOLD_NONE;
        CHECK(st != BO_SEAT_HELD || hs == BO_HOLD_HELD || hs == BO_HOLD_PAYING);
        CHECK(st != BO_SEAT_SOLD || hs == BO_HOLD_SOLD);
    }
    return 0;
}

/* Every hold's seats name it; its GA adds to the areas' counters. */
static int count_holds(const bo_inv_t *inv, struct tally *t, uint64_t *owned)
{
    for (uint32_t slot = 1; slot < inv->nholds; slot++) {
        const struct hold *h = &inv->holds[slot];
        if (h->status == BO_HOLD_NONE)
            continue;
        unsigned st = h->status == BO_HOLD_SOLD ? BO_SEAT_SOLD : BO_SEAT_HELD;
        t->live += st == BO_SEAT_HELD;
        CHECK(h->nseats <= BO_HOLD_MAX_SEATS && h->nga <= BO_HOLD_MAX_GA);
        CHECK(h->nseats + h->nga > 0);
        uint64_t tickets = h->nseats;
        for (uint32_t i = 0; i < h->nseats; i++) {
            CHECK(h->seats[i] < inv->layout->nseats);
            CHECK(inv->words[h->seats[i]] == W_MAKE(st, slot));
        }
        *owned += h->nseats;
        for (uint32_t i = 0; i < h->nga; i++) {
            CHECK(h->ga[i].area < inv->layout->nga);
            uint32_t *c = st == BO_SEAT_SOLD ? t->ga_sold : t->ga_held;
            c[h->ga[i].area] += h->ga[i].quantity;
            tickets += h->ga[i].quantity;
        }
        CHECK(tickets == h->tickets);
    }
    return 0;
}

static int compare(const bo_inv_t *inv, const struct tally *t, uint64_t owned)
{
    const bo_layout_t *l = inv->layout;
    CHECK(t->state[BO_SEAT_AVAILABLE] == inv->n_avail && t->state[BO_SEAT_HELD] == inv->n_held);
    CHECK(t->state[BO_SEAT_SOLD] == inv->n_sold && t->state[BO_SEAT_BLOCKED] == inv->n_blocked);
    /* no seat is named by two holds: seats held or sold = seats of holds */
    CHECK(owned == (uint64_t)inv->n_held + inv->n_sold);
    CHECK(t->live == inv->n_live);
    for (uint32_t c = 0; c < l->ncategories; c++)
        CHECK(t->cat_avail[c] == inv->cat_avail[c]);
    for (uint32_t r = 0; r < l->nrows; r++)
        CHECK(t->row_free[r] == inv->row_free[r]);
    for (uint32_t a = 0; a < l->nga; a++) {
        CHECK(t->ga_held[a] == inv->ga_held[a] && t->ga_sold[a] == inv->ga_sold[a]);
        CHECK((uint64_t)inv->ga_held[a] + inv->ga_sold[a] <= l->ga[a].capacity);
    }
    return 0;
}

int bo_inv_check(const bo_inv_t *inv)
{
    const bo_layout_t *l = inv->layout;
    struct tally t = {{0}, 0, NULL, NULL, NULL, NULL};
    t.cat_avail = calloc(l->ncategories + 1, sizeof(uint32_t));
    t.row_free = calloc(l->nrows + 1, sizeof(uint32_t));
    t.ga_held = calloc(l->nga + 1, sizeof(uint32_t));
    t.ga_sold = calloc(l->nga + 1, sizeof(uint32_t));
    uint64_t owned = 0;
    int rc = t.cat_avail && t.row_free && t.ga_held && t.ga_sold ? 0 : BO_ENOMEM;
    if (rc == 0)
        rc = bo__holds_check(inv);
    if (rc == 0)
        rc = count_seats(inv, &t);
    if (rc == 0)
        rc = count_holds(inv, &t, &owned);
    if (rc == 0)
        rc = compare(inv, &t, owned);
    free(t.cat_avail);
    free(t.row_free);
    free(t.ga_held);
    free(t.ga_sold);
    return rc;
}
