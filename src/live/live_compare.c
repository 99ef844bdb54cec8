/*
 * live_compare.c - bo_live_compare: whether two live layers, each
 * recovered from its own store, hold the same events in the same state
 * (boxoffice migrate's check that a copied store reads back the same).
 *
 * Per event a digest: its meta, version and counts, every seat's state,
 * each GA area's available and sold places, and every live or sold hold
 * (its id, status, owner, times, amount, seats and GA lines; summed, so
 * the walk's order does not matter). Both sides are read at one now.
 *
 * Workload: once per migration, O(seats + hold slots) per event.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boxoffice/error.h"
#include "boxoffice/live.h"
#include "util/assert.h"

struct digest {
    uint64_t event, version, meta, seats, ga, holds, nholds;
};

struct walk {
    struct digest *d;
    size_t n, cap;
    int64_t now_ms;
};

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ s[i]) * 0x100000001b3ull;
    return h;
}
#define FNV0 0xcbf29ce484222325ull

static int hold_digest(void *arg, const bo_hold_view_t *v)
{
    struct digest *d = arg;
    uint64_t h = fnv(FNV0, v->id.b, sizeof(v->id.b));
    h = fnv(h, &v->status, 1);
    h = fnv(h, &v->customer, 8);
    h = fnv(h, &v->client, 8);
    h = fnv(h, &v->created_ms, 8);
    h = fnv(h, &v->expires_at_ms, 8);
    h = fnv(h, &v->pay_deadline_ms, 8);
    h = fnv(h, &v->amount_cents, 8);
    h = fnv(h, v->seats, v->nseats * sizeof(*v->seats));
    h = fnv(h, v->ga, v->nga * sizeof(*v->ga));
    d->holds += h;
    d->nholds++;
    return 0;
}

static int event_digest(void *arg, uint64_t event, uint64_t venue, const char *meta_json,
                        const bo_inv_t *inv, int64_t now_ms)
{
    struct walk *w = arg;
    const bo_layout_t *lay = bo_inv_layout(inv);
    bo_inv_counts_t c;
    uint8_t *states;
    if (w->n == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 16;
        struct digest *d = realloc(w->d, cap * sizeof(*d));
        if (!d)
            return BO_ENOMEM;
        w->d = d;
        w->cap = cap;
    }
    struct digest *d = &w->d[w->n];
    memset(d, 0, sizeof(*d));
    d->event = event;
    d->meta = fnv(fnv(FNV0, &venue, 8), meta_json, meta_json ? strlen(meta_json) : 0);
    if (!(states = malloc(lay->nseats ? lay->nseats : 1)))
        return BO_ENOMEM;
    d->version = bo_inv_snapshot(inv, w->now_ms, states);
    d->seats = fnv(FNV0, states, lay->nseats);
    free(states);
    bo_inv_counts(inv, w->now_ms, &c);
    d->seats = fnv(d->seats, &c.live_holds, sizeof(c.live_holds));
    d->ga = FNV0;
    for (uint32_t a = 0; a < lay->nga; a++) {
        uint32_t av = bo_inv_ga_available(inv, a, w->now_ms), sold = bo_inv_ga_sold(inv, a);
        d->ga = fnv(fnv(d->ga, &av, 4), &sold, 4);
    }
    w->n++;
    return bo_inv_each_hold(inv, w->now_ms, hold_digest, d);
}

static int by_event(const void *a, const void *b)
{
    const struct digest *x = a, *y = b;
    return x->event < y->event ? -1 : x->event > y->event;
}

static int walk_all(bo_live_t *live, struct walk *w)
{
    int rc = bo_live_each_event(live, event_digest, w);
    if (rc == 0)
        qsort(w->d, w->n, sizeof(*w->d), by_event);
    return rc;
}

/* Where two digests of one event differ, in words. */
static const char *differs(const struct digest *x, const struct digest *y)
{
    return x->meta != y->meta         ? "its details"
           : x->version != y->version ? "its version"
           : x->seats != y->seats     ? "the state of its seats"
           : x->ga != y->ga           ? "its GA counters"
           : x->nholds != y->nholds   ? "its number of holds"
           : x->holds != y->holds     ? "its holds"
                                      : NULL;
}

int bo_live_compare(bo_live_t *a, bo_live_t *b, int64_t now_ms, uint32_t *events, char *why,
                    size_t cap)
{
    struct walk wa = {.now_ms = now_ms}, wb = {.now_ms = now_ms};
    int rc;
    BO_ASSERT(a && b && events && why);
    *events = 0;
    if ((rc = walk_all(a, &wa)) || (rc = walk_all(b, &wb))) {
        snprintf(why, cap, "reading the events failed: %s", bo_strerror(rc));
        goto out;
    }
    rc = BO_ESTATE;
    if (wa.n != wb.n) {
        snprintf(why, cap, "%zu events in the source, %zu in the destination", wa.n, wb.n);
        goto out;
    }
    for (size_t i = 0; i < wa.n; i++) {
        const char *what = wa.d[i].event != wb.d[i].event ? "its id" : differs(&wa.d[i], &wb.d[i]);
        if (what) {
            snprintf(why, cap, "event %llu differs: %s", (unsigned long long)wa.d[i].event, what);
            goto out;
        }
    }
    *events = (uint32_t)wa.n;
    rc = 0;
out:
    free(wa.d);
    free(wb.d);
    return rc;
}
