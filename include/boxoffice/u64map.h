/*
 * u64map.h - an open-addressing hash map from nonzero uint64_t keys to
 * pointers. Not thread-safe. For registries (events, venues) looked up on
 * every request and changed rarely.
 */
#ifndef BOXOFFICE_U64MAP_H
#define BOXOFFICE_U64MAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct bo_u64map {
    uint64_t *keys; /* 0 = empty */
    void **vals;
    size_t mask, n;
} bo_u64map_t;

/* The value of key, or NULL. */
void *bo_u64map_get(const bo_u64map_t *m, uint64_t key);
/* Set key (nonzero) to val. Returns 0 or BO_ENOMEM. */
int bo_u64map_put(bo_u64map_t *m, uint64_t key, void *val);
/* Remove key; returns its value or NULL. */
void *bo_u64map_del(bo_u64map_t *m, uint64_t key);
/* Free the table (not the values). */
void bo_u64map_free(bo_u64map_t *m);

#endif
