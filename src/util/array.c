/*
 * array.c - the growth of array.h, out of line: it runs once per doubling.
 */
#include <stdint.h>
#include <stdlib.h>

#include "util/array.h"

void *bo__array_grow(void *p, size_t *cap, size_t need, size_t elem, size_t first, size_t max)
{
    if (max && need > max)
        return NULL;
    size_t n = *cap ? *cap : (first ? first : 16);
    while (n < need && n <= SIZE_MAX / 2)
        n *= 2;
    if (max && n > max)
        n = max;
    if (n < need || n > SIZE_MAX / elem)
        return NULL;
    void *q = realloc(p, n * elem);
    if (q)
        *cap = n;
    return q;
}
