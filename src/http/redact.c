/*
 * redact.c - the request target as the access log shows it (redact.h).
 * A hold id is the capability to cancel a hold (and, with it, an order's
 * seats); an order's secret (?secret=) reads and pays an order. A log file
 * is read by more people than the API's clients, so neither is written in
 * clear, while a hold's lines stay linkable by their tag.
 *
 * Workload: every logged request, on its loop thread. Most targets are a
 * short path with no query and no segment that starts with "hold_" or
 * holds a '%': one pass that copies them, no decoding, no hashing.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "http/redact.h"
#include "util/hex.h"
#include "util/pct.h"

#define HOLD_PREFIX     "hold_"
#define HOLD_PREFIX_N   5
#define EVENT_HEX       16
#define DECODED_MAX     256 /* a hold id is 53 bytes; longer parts are cut */
#define REDACTED        "[redacted]"
#define REDACTED_N      (sizeof(REDACTED) - 1)
#define REPLACEMENT_MAX (HOLD_PREFIX_N + EVENT_HEX + 1 + BO_REDACT_TAG_HEX)

_Static_assert(crypto_shorthash_KEYBYTES == BO_REDACT_KEY_BYTES, "tag key size");
_Static_assert(BO_REDACT_TAG_HEX <= 2 * crypto_shorthash_BYTES, "tag length");

typedef struct sink {
    char *p;
    size_t len, cap;
    bool full; /* a part did not fit: nothing more is written */
} sink_t;

/* All of s or, when it does not fit, as much as fits (cut = true) or
 * nothing (cut = false: a replacement is never written in part). */
static void put(sink_t *k, const char *s, size_t n, bool cut)
{
    if (k->full)
        return;
    if (n > k->cap - k->len) {
        k->full = true;
        if (!cut)
            return;
        n = k->cap - k->len;
    }
    memcpy(k->p + k->len, s, n);
    k->len += n;
}

/* Percent-decode s[0..n) into d (DECODED_MAX + 1 bytes): leniently, a
 * '%' not followed by two hex digits stays as it is, and cut at
 * DECODED_MAX bytes. Returns the decoded length. */
static size_t decode(const char *s, size_t n, char *d)
{
    size_t dn;
    bo_pct_decode(s, n, d, DECODED_MAX, &dn, BO_PCT_LENIENT);
    return dn;
}

/* A part worth decoding: it may be a hold id. */
static bool may_be_hold(const char *s, size_t n)
{
    return n > HOLD_PREFIX_N &&
           (!strncasecmp(s, HOLD_PREFIX, HOLD_PREFIX_N) || memchr(s, '%', n) != NULL);
}

/* s[0..n) or, when it is a hold id, its replacement. */
static void put_part(sink_t *k, const char *s, size_t n, const unsigned char *key)
{
    char d[DECODED_MAX + 1], r[REPLACEMENT_MAX];
    size_t dn;
    if (!may_be_hold(s, n) || (dn = decode(s, n, d)) <= HOLD_PREFIX_N ||
        strncasecmp(d, HOLD_PREFIX, HOLD_PREFIX_N) != 0) {
        put(k, s, n, true);
        return;
    }
    size_t rn = HOLD_PREFIX_N, ev = 0;
    memcpy(r, HOLD_PREFIX, HOLD_PREFIX_N);
    while (ev < EVENT_HEX && HOLD_PREFIX_N + ev < dn &&
           bo_hex_val((unsigned char)d[HOLD_PREFIX_N + ev], 1) >= 0)
        ev++;
    if (ev == EVENT_HEX) { /* the event part, public like the event's id */
        memcpy(r + rn, d + HOLD_PREFIX_N, EVENT_HEX);
        rn += EVENT_HEX;
    }
    unsigned char h[crypto_shorthash_BYTES];
    crypto_shorthash(h, (const unsigned char *)d, dn, key);
    r[rn++] = '~';
    for (size_t i = 0; i < BO_REDACT_TAG_HEX; i++)
        r[rn++] = bo_hex_digit(h[i / 2] >> (i % 2 ? 0 : 4), 0);
    put(k, r, rn, false);
}

/* Does a query parameter's name (raw) name a secret? */
static bool secret_name(const char *s, size_t n)
{
    static const char *const words[] = {"secret", "token", "key", "pass", "auth", "sig", "ticket"};
    char d[DECODED_MAX + 1];
    decode(s, n, d);
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        if (strcasestr(d, words[i]))
            return true;
    return false;
}

/* One name[=value] of the query. */
static void put_param(sink_t *k, const char *s, size_t n, const unsigned char *key)
{
    const char *eq = memchr(s, '=', n);
    if (!eq) {
        put_part(k, s, n, key);
        return;
    }
    size_t nn = (size_t)(eq - s);
    put(k, s, nn + 1, true);
    if (secret_name(s, nn))
        put(k, REDACTED, REDACTED_N, false);
    else
        put_part(k, eq + 1, n - nn - 1, key);
}

/* Each sep-separated part of s[0..end) through put_one, sep kept. */
static void put_parts(sink_t *k, const char *s, const char *end, char sep,
                      void (*put_one)(sink_t *, const char *, size_t, const unsigned char *),
                      const unsigned char *key)
{
    while (s < end && !k->full) {
        const char *at = memchr(s, sep, (size_t)(end - s));
        const char *e = at ? at : end;
        put_one(k, s, (size_t)(e - s), key);
        if (at)
            put(k, &sep, 1, true);
        s = at ? at + 1 : end;
    }
}

size_t bo__redact_target(const char *in, size_t n, char *out, size_t cap,
                         const unsigned char key[BO_REDACT_KEY_BYTES])
{
    sink_t k = {.p = out, .cap = cap};
    const char *end = in + n, *q = memchr(in, '?', n);
    put_parts(&k, in, q ? q : end, '/', put_part, key);
    if (!q)
        return k.len;
    put(&k, "?", 1, true);
    put_parts(&k, q + 1, end, '&', put_param, key);
    return k.len;
}
