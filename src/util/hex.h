/*
 * hex.h - hexadecimal digits, both ways: the one reader and writer of hex
 * for the parsers and formatters of ids, keys, signatures, percent escapes
 * and JSON \u escapes.
 *
 * Workload: ids on every request (a few dozen digits), so everything here
 * is inline and branch-light.
 */
#ifndef BOXOFFICE_UTIL_HEX_H
#define BOXOFFICE_UTIL_HEX_H

#include <stddef.h>
#include <stdint.h>

/* 0..15 for [0-9a-fA-F] (upper case only when upper is nonzero), else -1. */
static inline int bo_hex_val(unsigned char c, int upper)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (upper && c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* The digit of v & 15: lower case, or upper case when upper is nonzero. */
static inline char bo_hex_digit(unsigned v, int upper)
{
    return (upper ? "0123456789ABCDEF" : "0123456789abcdef")[v & 15];
}

/* n bytes as 2n lower-case digits into out (no NUL written); returns the
 * end of what was written. */
static inline char *bo_hex_encode(char *out, const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        *out++ = bo_hex_digit(b[i] >> 4, 0);
        *out++ = bo_hex_digit(b[i], 0);
    }
    return out;
}

/* n bytes from the 2n digits at s (upper case accepted when upper is
 * nonzero) into b. 0, or -1 at the first byte that is not two digits (b
 * then holds the bytes before it). */
static inline int bo_hex_decode(const char *s, uint8_t *b, size_t n, int upper)
{
    for (size_t i = 0; i < n; i++) {
        int hi = bo_hex_val((unsigned char)s[2 * i], upper);
        int lo = hi < 0 ? -1 : bo_hex_val((unsigned char)s[2 * i + 1], upper);
        if (lo < 0)
            return -1;
        b[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

#endif
