/*
 * fuzz_layout.c - libFuzzer harness for seat-map import (bo_layout_parse,
 * src/engine/layout.c: POST /api/v1/venues bodies, and the maps read back
 * from the store at start). The input is the JSON, given as exactly its
 * bytes. Checks:
 * - a refusal is BO_EINVAL with at least one problem, each a non-empty
 *   line, and no layout;
 * - an accepted layout is consistent: rows and sections cover the seats in
 *   order, every index in range, every seat, GA area, section and category
 *   found again by its id, ranks a permutation;
 * - written back (bo_layout_to_json) it parses again, and writes the same
 *   text again (the writer's output is a fixed point);
 * - the engine takes it (bo_inv_new).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "boxoffice/engine.h"
#include "boxoffice/error.h"
#include "boxoffice/layout.h"

static void check(const bo_layout_t *l)
{
    if (l->nseats + l->nga == 0 || l->nseats > BO_LAYOUT_MAX_SEATS)
        abort();
    uint32_t seat = 0, row = 0;
    for (uint32_t s = 0; s < l->nsections; s++) {
        const bo_section_t *sec = &l->sections[s];
        if (sec->first_row != row || bo_layout_find_section(l, bo_layout_str(l, sec->id)) != s)
            abort();
        for (uint32_t r = sec->first_row; r < sec->first_row + sec->nrows; r++, row++) {
            if (r >= l->nrows || l->rows[r].first_seat != seat || l->rows[r].section != s)
                abort();
            seat += l->rows[r].nseats;
        }
    }
    if (row != l->nrows || seat != l->nseats)
        abort();
    uint8_t *ranks = calloc(l->nseats + 1, 1);
    if (!ranks)
        abort();
    for (uint32_t i = 0; i < l->nseats; i++) {
        const bo_seat_t *st = &l->seats[i];
        const char *id = bo_layout_str(l, st->id);
        if (st->row >= l->nrows || st->category >= l->ncategories || st->section >= l->nsections ||
            st->rank >= l->nseats || ranks[st->rank]++ || l->rows[st->row].section != st->section ||
            bo_layout_find_seat(l, id, strlen(id)) != i)
            abort();
    }
    free(ranks);
    for (uint32_t i = 0; i < l->nga; i++)
        if (l->ga[i].category >= l->ncategories ||
            bo_layout_find_ga(l, bo_layout_str(l, l->ga[i].id)) != i)
            abort();
    for (uint32_t i = 0; i < l->ncategories; i++)
        if (bo_layout_find_category(l, bo_layout_str(l, l->categories[i].key)) != i)
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *in = malloc(size ? size : 1);
    if (!in)
        abort();
    memcpy(in, data, size);
    bo_layout_t *l = NULL, *l2 = NULL;
    bo_problems_t probs = {0};
    int rc = bo_layout_parse(in, size, &l, &probs);
    if (rc) {
        if (rc != BO_EINVAL || l || probs.n == 0 || probs.total < probs.n)
            abort();
        for (size_t i = 0; i < probs.n; i++)
            if (!probs.items[i] || !probs.items[i][0] || strchr(probs.items[i], '\n'))
                abort();
        bo_problems_free(&probs);
        free(in);
        return 0;
    }
    if (!l || probs.n)
        abort();
    check(l);
    size_t len, len2;
    char *json = bo_layout_to_json(l, &len);
    if (!json || bo_layout_parse(json, len, &l2, NULL))
        abort();
    check(l2);
    char *json2 = bo_layout_to_json(l2, &len2);
    if (!json2 || len2 != len || memcmp(json, json2, len) || l2->nseats != l->nseats ||
        l2->nga != l->nga)
        abort();
    bo_inv_t *inv = NULL;
    bo_inv_config_t cfg = {0};
    if (bo_inv_new(l, &cfg, &inv))
        abort();
    bo_inv_free(inv);
    free(json);
    free(json2);
    bo_layout_free(l);
    bo_layout_free(l2);
    free(in);
    return 0;
}
