/*
 * u64map.c - linear-probing hash map (u64map.h), kept at most half full;
 * deletion shifts the probe run back so no tombstones are needed.
 */
#include <stdlib.h>

#include "boxoffice/error.h"
#include "boxoffice/u64map.h"

static size_t slot_of(const bo_u64map_t *m, uint64_t key)
{
    uint64_t h = key * 0x9e3779b97f4a7c15ull;
    return (size_t)(h ^ (h >> 29)) & m->mask;
}

void *bo_u64map_get(const bo_u64map_t *m, uint64_t key)
{
    if (!m->keys || key == 0)
        return NULL;
    for (size_t i = slot_of(m, key);; i = (i + 1) & m->mask) {
        if (m->keys[i] == key)
            return m->vals[i];
        if (m->keys[i] == 0)
            return NULL;
    }
}

static int grow(bo_u64map_t *m)
{
    size_t cap = m->keys ? (m->mask + 1) * 2 : 16;
    bo_u64map_t n = {calloc(cap, sizeof(uint64_t)), calloc(cap, sizeof(void *)), cap - 1, 0};
    if (!n.keys || !n.vals) {
        free(n.keys);
        free(n.vals);
        return BO_ENOMEM;
    }
    for (size_t i = 0; m->keys && i <= m->mask; i++)
        if (m->keys[i])
            bo_u64map_put(&n, m->keys[i], m->vals[i]);
    bo_u64map_free(m);
    *m = n;
    return 0;
}

int bo_u64map_put(bo_u64map_t *m, uint64_t key, void *val)
{
    if (key == 0)
        return BO_EINVAL;
    if ((!m->keys || (m->n + 1) * 2 > m->mask + 1) && grow(m))
        return BO_ENOMEM;
    size_t i = slot_of(m, key);
    while (m->keys[i] != 0 && m->keys[i] != key)
        i = (i + 1) & m->mask;
    if (m->keys[i] == 0)
        m->n++;
    m->keys[i] = key;
    m->vals[i] = val;
    return 0;
}

void *bo_u64map_del(bo_u64map_t *m, uint64_t key)
{
    if (!m->keys || key == 0)
        return NULL;
    size_t i = slot_of(m, key);
    while (m->keys[i] != key) {
        if (m->keys[i] == 0)
            return NULL;
        i = (i + 1) & m->mask;
    }
    void *val = m->vals[i];
    m->n--;
    /* Shift later members of the probe run back into the hole. */
    for (size_t j = (i + 1) & m->mask; m->keys[j]; j = (j + 1) & m->mask) {
        size_t home = slot_of(m, m->keys[j]);
        if (((j - home) & m->mask) >= ((j - i) & m->mask)) {
            m->keys[i] = m->keys[j];
            m->vals[i] = m->vals[j];
            i = j;
        }
    }
    m->keys[i] = 0;
    m->vals[i] = NULL;
    return val;
}

void bo_u64map_free(bo_u64map_t *m)
{
    free(m->keys);
    free(m->vals);
    m->keys = NULL;
    m->vals = NULL;
    m->mask = m->n = 0;
}
