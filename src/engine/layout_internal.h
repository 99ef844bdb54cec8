/*
 * layout_internal.h - what the seat-map importer (layout_parse.c) builds a
 * layout with: the string arena, the seat id hash and the ranks, kept in
 * layout.c with the lookups that read them.
 */
#ifndef BOXOFFICE_ENGINE_LAYOUT_INTERNAL_H
#define BOXOFFICE_ENGINE_LAYOUT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "boxoffice/layout.h"

/* Sort key of one seat for the dense rank. */
typedef struct bo__rank_key {
    double key;
    uint32_t cls; /* BO__RANK_*: ranked first, after, or not yet known */
    uint32_t seat;
} bo__rank_key_t;

enum { BO__RANK_FIRST = 0, BO__RANK_AFTER = 1, BO__RANK_UNSET = 2 };

/* Append s (n bytes, no NUL) and a NUL to the arena: 0 and *off, or
 * BO_ENOMEM (*off is then 0, the empty string). */
int bo__layout_intern(bo_layout_t *l, const char *s, size_t n, uint32_t *off);

/* Whether the arena string at off is exactly the n bytes at s (s has no NUL). */
bool bo__layout_str_eq(const bo_layout_t *l, uint32_t off, const char *s, size_t n);

/* Add seat idx (its id already interned) to the id hash; false when
 * another seat has that id. */
bool bo__layout_seat_hash_add(bo_layout_t *l, uint32_t idx, const char *id, size_t n);

/* The end of a successful import: dense ranks from keys (one per seat;
 * explicit "rank" first when any_rank, then focal distance, then file
 * order; ties by seat index; keys are sorted in place), and the arena's
 * slack given back. */
void bo__layout_finish(bo_layout_t *l, bo__rank_key_t *keys, bool any_rank);

#endif
