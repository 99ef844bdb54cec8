/*
 * pct.c - the percent-decoder of pct.h. Inputs are short (a query string of
 * tens of bytes, a form of a few hundred, a path segment) and every one is
 * outside input: one pass, bounded by cap, no allocation.
 */
#include <stdbool.h>

#include "util/hex.h"
#include "util/pct.h"

int bo_pct_decode(const char *in, size_t len, char *out, size_t cap, size_t *outlen, unsigned flags)
{
    bool lenient = flags & BO_PCT_LENIENT;
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char c = in[i];
        if (c == '%') {
            int hi = len - i >= 3 ? bo_hex_val((unsigned char)in[i + 1], 1) : -1;
            int lo = hi < 0 ? -1 : bo_hex_val((unsigned char)in[i + 2], 1);
            if (lo >= 0) {
                c = (char)(hi << 4 | lo);
                i += 2;
            } else if (!lenient) {
                return -1;
            }
        } else if (c == '+' && (flags & BO_PCT_PLUS)) {
            c = ' ';
        }
        if (o == cap || (c == '\0' && !lenient)) {
            if (!lenient)
                return -1;
            break;
        }
        out[o++] = c;
    }
    out[o] = '\0';
    *outlen = o;
    return 0;
}
