/*
 * hex.h - the value of one hexadecimal digit, for the parsers of ids, keys
 * and signatures.
 */
#ifndef BOXOFFICE_UTIL_HEX_H
#define BOXOFFICE_UTIL_HEX_H

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

#endif
