/*
 * inv_sales.c - an event's sales (engine.h bo_inv_sales), for the admin's
 * report: counts by state, GA places, and places sold and revenue per
 * category.
 *
 * Revenue is what the sold holds were sold for (each hold keeps its amount,
 * fixed when it was made). A hold spanning several categories is one
 * amount, so its share of each category is allotted in proportion to the
 * event's current prices (by count when they are all 0); the shares of a
 * hold always add up to its amount, so the categories add up to the total.
 *
 * Workload: an admin's occasional call; one walk over the event's holds
 * (bo_inv_each_hold, O(hold slots)) under the event's lock.
 */
#include <stdbool.h>
#include <string.h>

#include "boxoffice/engine.h"

struct tally {
    const bo_layout_t *l;
    const bo_inv_config_t *cfg;
    bo_inv_sales_t *out;
};

/* One sold hold: its places per category, and its amount shared out. */
static int add_sold(void *arg, const bo_hold_view_t *h)
{
    struct tally *t = arg;
    const bo_layout_t *l = t->l;
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
        weight += (double)count[k] * (double)t->cfg->price_cents[cats[k]];
    int64_t left = h->amount_cents;
    for (uint32_t k = 0; k < ncats; k++) {
        double w = weight > 0 ? (double)count[k] * (double)t->cfg->price_cents[cats[k]] : 1;
        double total = weight > 0 ? weight : ncats;
        int64_t share = k + 1 == ncats ? left : (int64_t)((double)h->amount_cents * w / total);
        left -= share;
        t->out->sold_by_category[cats[k]] += count[k];
        t->out->revenue_by_category[cats[k]] += share;
    }
    t->out->revenue_cents += h->amount_cents;
    return 0;
}

int bo_inv_sales(const bo_inv_t *inv, int64_t now_ms, bo_inv_sales_t *out)
{
    struct tally t = {.l = bo_inv_layout(inv), .cfg = bo_inv_config(inv), .out = out};
    memset(out, 0, sizeof(*out));
    bo_inv_counts(inv, now_ms, &out->counts);
    for (uint32_t a = 0; a < t.l->nga; a++) {
        out->ga_available[a] = bo_inv_ga_available(inv, a, now_ms);
        out->ga_sold[a] = bo_inv_ga_sold(inv, a);
    }
    return bo_inv_each_hold(inv, now_ms, add_sold, &t);
}
