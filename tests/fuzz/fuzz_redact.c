/*
 * fuzz_redact.c - libFuzzer harness for the access log's view of a request
 * target (bo__redact_target, src/http/redact.c: every target comes from a
 * client). The first byte picks the output's room (0..765 bytes), the rest
 * is the target. Checks: nothing is written past the room and the length
 * returned fits it; and a hold id the router would accept in a path
 * segment (percent-decoded: "hold_" + 48 lowercase hex digits) never shows
 * its random part (the last 32 digits) in the output, unless those digits
 * are also in the input outside that segment (then they are not the id).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/redact.h"
#include "util/hex.h"

#define GUARD 64

static const unsigned char key[BO_REDACT_KEY_BYTES] = "fuzz-redact-key!";

/* Percent-decode s[0..n) into d (n bytes of room); returns the length. */
static size_t decode(const char *s, size_t n, char *d)
{
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        int hi = s[i] == '%' && i + 2 < n ? bo_hex_val((unsigned char)s[i + 1], 1) : -1;
        int lo = hi < 0 ? -1 : bo_hex_val((unsigned char)s[i + 2], 1);
        if (lo >= 0) {
            d[j++] = (char)(hi << 4 | lo);
            i += 2;
        } else {
            d[j++] = s[i];
        }
    }
    return j;
}

static size_t count(const char *h, size_t hn, const char *n, size_t nn)
{
    size_t c = 0;
    for (const char *p = h; (p = memmem(p, hn - (size_t)(p - h), n, nn)); p++)
        c++;
    return c;
}

/* The random part of seg[0..n) when it decodes to a hold id, else NULL. */
static const char *hold_random(const char *seg, size_t n, char *d)
{
    size_t dn = decode(seg, n, d);
    if (dn != 53 || memcmp(d, "hold_", 5) != 0)
        return NULL;
    for (size_t i = 5; i < 53; i++)
        if (bo_hex_val((unsigned char)d[i], 1) < 0 || (d[i] >= 'A' && d[i] <= 'F'))
            return NULL;
    return d + 21;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    size_t cap = (size_t)data[0] * 3;
    const char *in = (const char *)data + 1;
    size_t n = size - 1;
    char *out = malloc(cap + GUARD), *d = malloc(n + 1);
    if (!out || !d)
        abort();
    memset(out, 0xA5, cap + GUARD);
    size_t len = bo__redact_target(in, n, out, cap, key);
    if (len > cap)
        abort();
    for (size_t i = cap; i < cap + GUARD; i++)
        if ((unsigned char)out[i] != 0xA5)
            abort();
    const char *q = memchr(in, '?', n), *path_end = q ? q : in + n;
    for (const char *s = in; s < path_end;) {
        const char *slash = memchr(s, '/', (size_t)(path_end - s));
        const char *e = slash ? slash : path_end;
        const char *r = hold_random(s, (size_t)(e - s), d);
        if (r && count(in, n, r, 32) == count(s, (size_t)(e - s), r, 32) && memmem(out, len, r, 32))
            abort();
        s = slash ? slash + 1 : path_end;
    }
    free(out);
    free(d);
    return 0;
}
