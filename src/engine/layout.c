/*
 * layout.c - a venue's seat map in memory: the compact read-only
 * bo_layout_t (flat seat array, rows as runs of it, one string arena, an
 * open-addressing seat id hash), its lookups and its seat ranks.
 * layout_parse.c imports and validates the JSON into it; layout_json.c
 * writes it back out.
 *
 * Workload: a venue is imported rarely (an admin action) but may be large,
 * up to 200,000 seats; afterwards bo_layout_find_seat runs on every
 * explicit-seat hold, so it is one short probe sequence, and everything
 * else is plain arrays.
 */
#include <stdlib.h>
#include <string.h>

#include "boxoffice/error.h"
#include "engine/layout_internal.h"
#include "util/strbuf.h"

/* ---- string arena and seat hash ---------------------------------------- */

int bo__layout_intern(bo_layout_t *l, const char *s, size_t n, uint32_t *off)
{
    bo_buf_t b = {.p = l->strings, .len = l->strings_len, .cap = l->strings_cap};

    *off = 0;
    if (!b.cap)
        bo_buf_init(&b, 4096);
    bo_buf_put(&b, s, n);
    bo_buf_put(&b, "", 1);
    l->strings = b.p;
    l->strings_cap = b.cap;
    if (b.failed)
        return BO_ENOMEM;
    *off = (uint32_t)l->strings_len;
    l->strings_len = b.len;
    return 0;
}

static uint32_t hash_id(const char *s, size_t n)
{
    uint32_t h = 2166136261u; /* FNV-1a, then a finaliser to spread the low bits */
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    h ^= h >> 16;
    h *= 0x7feb352du;
    h ^= h >> 15;
    return h;
}

bool bo__layout_str_eq(const bo_layout_t *l, uint32_t off, const char *s, size_t n)
{
    const char *a = l->strings + off;
    return strncmp(a, s, n) == 0 && a[n] == '\0';
}

bool bo__layout_seat_hash_add(bo_layout_t *l, uint32_t idx, const char *id, size_t n)
{
    uint32_t h = hash_id(id, n) & l->seat_hash_mask;

    for (;; h = (h + 1) & l->seat_hash_mask) {
        uint32_t e = l->seat_hash[h];
        if (e == 0) {
            l->seat_hash[h] = idx + 1;
            return true;
        }
        if (bo__layout_str_eq(l, l->seats[e - 1].id, id, n))
            return false;
    }
}

/* ---- lookups ------------------------------------------------------------ */

uint32_t bo_layout_find_seat(const bo_layout_t *l, const char *id, size_t len)
{
    if (!l || !id || len == 0 || memchr(id, '\0', len))
        return BO_NONE;
    uint32_t h = hash_id(id, len) & l->seat_hash_mask;
    for (;; h = (h + 1) & l->seat_hash_mask) {
        uint32_t e = l->seat_hash[h];
        if (e == 0)
            return BO_NONE;
        if (bo__layout_str_eq(l, l->seats[e - 1].id, id, len))
            return e - 1;
    }
}

uint32_t bo_layout_find_ga(const bo_layout_t *l, const char *id)
{
    for (uint32_t i = 0; l && id && i < l->nga; i++)
        if (strcmp(bo_layout_str(l, l->ga[i].id), id) == 0)
            return i;
    return BO_NONE;
}

uint32_t bo_layout_find_category(const bo_layout_t *l, const char *key)
{
    for (uint32_t i = 0; l && key && i < l->ncategories; i++)
        if (strcmp(bo_layout_str(l, l->categories[i].key), key) == 0)
            return i;
    return BO_NONE;
}

uint32_t bo_layout_find_section(const bo_layout_t *l, const char *id)
{
    for (uint32_t i = 0; l && id && i < l->nsections; i++)
        if (strcmp(bo_layout_str(l, l->sections[i].id), id) == 0)
            return i;
    return BO_NONE;
}

/* ---- ranks and the finished layout ------------------------------------- */

static int cmp_rank(const void *a, const void *b)
{
    const bo__rank_key_t *x = a, *y = b;
    if (x->cls != y->cls)
        return x->cls < y->cls ? -1 : 1;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return x->seat < y->seat ? -1 : x->seat > y->seat;
}

static void assign_ranks(bo_layout_t *l, bo__rank_key_t *keys, bool any_rank)
{
    for (uint32_t i = 0; i < l->nseats; i++) {
        bo__rank_key_t *k = &keys[i];
        if (k->cls != BO__RANK_UNSET)
            continue;
        k->cls = any_rank ? BO__RANK_AFTER : BO__RANK_FIRST;
        if (l->has_focal) {
            double dx = l->seats[i].x - l->focal_x, dy = l->seats[i].y - l->focal_y;
            k->key = dx * dx + dy * dy; /* squared: same order, no sqrt */
        }
    }
    qsort(keys, l->nseats, sizeof *keys, cmp_rank);
    for (uint32_t i = 0; i < l->nseats; i++)
        l->seats[keys[i].seat].rank = i;
}

void bo__layout_finish(bo_layout_t *l, bo__rank_key_t *keys, bool any_rank)
{
    char *s;

    assign_ranks(l, keys, any_rank);
    /* Give back the arena's slack: the layout lives as long as the process. */
    if (l->strings_len < l->strings_cap && (s = realloc(l->strings, l->strings_len))) {
        l->strings = s;
        l->strings_cap = l->strings_len;
    }
}

void bo_layout_free(bo_layout_t *l)
{
    if (!l)
        return;
    free(l->categories);
    free(l->sections);
    free(l->rows);
    free(l->seats);
    free(l->ga);
    free(l->strings);
    free(l->seat_hash);
    free(l);
}
