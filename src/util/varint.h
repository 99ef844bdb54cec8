/*
 * varint.h - LEB128 varints (zigzag for signed values) for the compact
 * binary records of the log and the snapshots. A reader never runs past its
 * end: any malformed input sets bad and yields zeros.
 */
#ifndef BOXOFFICE_VARINT_H
#define BOXOFFICE_VARINT_H

#include <stddef.h>
#include <stdint.h>

#define BO_VARINT_MAX 10 /* bytes of one encoded uint64_t */

static inline uint8_t *bo_put_uv(uint8_t *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    return p;
}

static inline uint8_t *bo_put_sv(uint8_t *p, int64_t v)
{
    return bo_put_uv(p, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

typedef struct bo_reader {
    const uint8_t *p, *end;
    int bad;
} bo_reader_t;

static inline uint64_t bo_get_uv(bo_reader_t *r)
{
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        if (r->p >= r->end)
            break;
        uint8_t b = *r->p++;
        if (shift == 63 && b > 1)
            break; /* bits past 64 */
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return v;
    }
    r->bad = 1;
    return 0;
}

static inline int64_t bo_get_sv(bo_reader_t *r)
{
    uint64_t u = bo_get_uv(r);
    return (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
}

/* n raw bytes into dst, or bad. */
static inline void bo_get_bytes(bo_reader_t *r, void *dst, size_t n)
{
    if ((size_t)(r->end - r->p) < n) {
        r->bad = 1;
        return;
    }
    for (size_t i = 0; i < n; i++)
        ((uint8_t *)dst)[i] = r->p[i];
    r->p += n;
}

#endif
