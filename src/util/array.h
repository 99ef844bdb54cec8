/*
 * array.h - the one growth rule for arrays of elements that are not text
 * (text goes to strbuf.h): capacity doubles, so n appends copy at most 2n
 * elements. For the engine's journal, the router's routes, the catalog's
 * order, problem lists and paysim's heaps and ledger.
 *
 * Workload: called before every append, often on hot paths (the journal on
 * every decision), so the check that there is room is inline and only a
 * growth calls out.
 */
#ifndef BOXOFFICE_UTIL_ARRAY_H
#define BOXOFFICE_UTIL_ARRAY_H

#include <stddef.h>

void *bo__array_grow(void *p, size_t *cap, size_t need, size_t elem, size_t first, size_t max);

/*
 * The array p of elem-byte elements, with room for *cap, given room for
 * at least need: capacity doubles, from first when *cap is 0, and stops at
 * max elements (0: no bound). Returns the array (perhaps moved; *cap
 * updated; the caller stores it back), or NULL when need is past max or
 * memory runs out: p and *cap are then untouched and p still owned by the
 * caller.
 */
static inline void *bo_array_grow(void *p, size_t *cap, size_t need, size_t elem, size_t first,
                                  size_t max)
{
    return need <= *cap ? p : bo__array_grow(p, cap, need, elem, first, max);
}

#endif
