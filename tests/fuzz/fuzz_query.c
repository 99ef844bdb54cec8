/*
 * fuzz_query.c - libFuzzer harness for query strings and path parameters
 * (src/util/pct.c bo_pct_decode, src/http/request.c bo_http_query, src/http/router.c
 * bo__query_check). The first byte chooses the name to look up (one of the
 * pairs' names, or a fixed one), the rest is the query string after '?'.
 * Every buffer is exactly as long as the contract says, so an over-read or
 * an over-write shows. Checks, against a plain reference decoder written
 * here:
 * - bo_pct_decode (with and without '+' as a space) succeeds exactly when
 *   the reference does, to the same bytes, never with a NUL; what it
 *   decodes, re-encoded, decodes back to the same bytes;
 * - bo__query_check accepts exactly when every name and value decodes to
 *   UTF-8 without NUL, and names the right parameter when a value is bad;
 * - on an accepted query, bo_http_query finds the first pair of that name
 *   with its decoded value, and finds the same in the query re-encoded.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "boxoffice/error.h"
#include "http/http_internal.h"
#include "util/pct.h"
#include "util/text.h"

static int hexval(unsigned char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* The reference: -1 on a bad escape or a decoded NUL. */
static long ref_decode(const char *s, size_t n, char *out, int plus)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (c == '%') {
            if (i + 2 >= n)
                return -1;
            int hi = hexval((unsigned char)s[i + 1]), lo = hexval((unsigned char)s[i + 2]);
            if (hi < 0 || lo < 0)
                return -1;
            c = hi * 16 + lo;
            i += 2;
        } else if (c == '+' && plus) {
            c = ' ';
        }
        if (c == 0)
            return -1;
        out[o++] = (char)c;
    }
    return (long)o;
}

static size_t encode(const char *s, size_t n, char *out, int plus)
{
    static const char HEX[] = "0123456789ABCDEF";
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~') {
            out[o++] = (char)c;
        } else if (c == ' ' && plus) {
            out[o++] = '+';
        } else {
            out[o++] = '%';
            out[o++] = HEX[c >> 4];
            out[o++] = HEX[c & 15];
        }
    }
    return o;
}

/* bo_pct_decode of s[0..n) into a buffer of exactly n + 1 bytes. */
static void check_decode(const char *s, size_t n, int plus)
{
    char *out = malloc(n + 1), *ref = malloc(n + 1), *enc = malloc(3 * n + 1);
    char *back = malloc(3 * n + 1);
    size_t len = SIZE_MAX, blen;
    if (!out || !ref || !enc || !back)
        abort();
    int rc = bo_pct_decode(s, n, out, n, &len, plus ? BO_PCT_PLUS : 0);
    long want = ref_decode(s, n, ref, plus);
    if ((rc == 0) != (want >= 0))
        abort();
    if (rc == 0) {
        if (len != (size_t)want || memcmp(out, ref, len) || out[len] != '\0' || memchr(out, 0, len))
            abort();
        size_t elen = encode(out, len, enc, plus);
        if (bo_pct_decode(enc, elen, back, elen, &blen, plus ? BO_PCT_PLUS : 0) || blen != len ||
            memcmp(back, out, len))
            abort();
    }
    free(out);
    free(ref);
    free(enc);
    free(back);
}

/* A pair of the query: raw name and value (value NULL without '='). */
typedef struct pair {
    const char *k, *v;
    size_t klen, vlen;
} pair_t;

static size_t split(const char *q, size_t n, pair_t *pairs, size_t cap)
{
    size_t np = 0;
    const char *p = q, *end = q + n;
    while (p < end && np < cap) {
        const char *amp = memchr(p, '&', (size_t)(end - p)), *pend = amp ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(pend - p));
        pairs[np++] = (pair_t){p, eq ? eq + 1 : NULL, (size_t)((eq ? eq : pend) - p),
                               eq ? (size_t)(pend - eq - 1) : 0};
        p = pend + 1;
    }
    return np;
}

static bool text_ok(const char *s, size_t n, char *tmp, long *len)
{
    *len = ref_decode(s, n, tmp, 1);
    return *len >= 0 && bo_utf8_valid(tmp, (size_t)*len);
}

/* bo_http_query on "/x?" + q through a request of h2o's own making. */
static const char *lookup(const char *q, size_t n, const char *name, size_t *vlen, char *path)
{
    h2o_req_t req;
    memset(&req, 0, sizeof(req));
    memcpy(path, "/x?", 3);
    memcpy(path + 3, q, n);
    req.path = h2o_iovec_init(path, n + 3);
    req.query_at = 2;
    h2o_mem_init_pool(&req.pool);
    bo_http_req_t r = {.req = &req};
    const char *v = bo_http_query(&r, name, vlen);
    static char copy[8192];
    if (v) {
        if (*vlen >= sizeof(copy))
            abort();
        memcpy(copy, v, *vlen + 1);
        v = copy;
    }
    h2o_mem_clear_pool(&req.pool);
    return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0 || size > 4000)
        return 0;
    size_t n = size - 1;
    char *q = malloc(n ? n : 1), *buf = malloc(n + 1), *tmp = malloc(n + 1);
    char *path = malloc(3 * n + 4), *re = malloc(3 * n + 1), *tmp2 = malloc(n + 1);
    pair_t pairs[64];
    if (!q || !buf || !tmp || !path || !re || !tmp2)
        abort();
    memcpy(q, data + 1, n);
    check_decode(q, n, 0);
    check_decode(q, n, 1);

    /* bo__query_check against the reference */
    size_t np = split(q, n, pairs, 64);
    bool want_ok = true, want_named = false;
    long klen = 0, vlen = 0;
    const char *p = q;
    while (p < q + n) { /* all pairs, past the 64 kept */
        const char *amp = memchr(p, '&', (size_t)(q + n - p)), *pend = amp ? amp : q + n;
        const char *eq = memchr(p, '=', (size_t)(pend - p));
        if (!text_ok(p, (size_t)((eq ? eq : pend) - p), tmp, &klen)) {
            want_ok = false;
            break;
        }
        if (eq && !text_ok(eq + 1, (size_t)(pend - eq - 1), tmp2, &vlen)) {
            want_ok = false;
            want_named = true;
            break;
        }
        p = pend + 1;
    }
    const char *bad_name;
    size_t bad_len;
    int rc = bo__query_check(q, q + n, buf, &bad_name, &bad_len);
    if ((rc == 0) != want_ok || (rc != 0 && rc != BO_EINVAL) ||
        (!want_ok && !want_named && bad_name))
        abort();
    if (want_named && (!bad_name || bad_len != (size_t)klen || memcmp(bad_name, tmp, bad_len)))
        abort();

    if (want_ok && np > 0 && np < 64) {
        /* the name to look up: one of the pairs', by the first byte */
        pair_t *pk = &pairs[data[0] % np];
        long nl = ref_decode(pk->k, pk->klen, tmp, 1);
        if (nl < 0)
            abort();
        tmp[nl] = '\0';
        /* the first pair of that name is the answer */
        pair_t *first = NULL;
        for (size_t i = 0; i < np && !first; i++) {
            long l = ref_decode(pairs[i].k, pairs[i].klen, tmp2, 1);
            if (l == nl && !memcmp(tmp2, tmp, (size_t)nl))
                first = &pairs[i];
        }
        long wl = first->v ? ref_decode(first->v, first->vlen, tmp2, 1) : 0;
        size_t got_len = SIZE_MAX;
        const char *got = lookup(q, n, tmp, &got_len, path);
        if (!got || got_len != (size_t)wl || memcmp(got, tmp2, got_len))
            abort();
        /* (a pair with neither name nor '=' vanishes when re-encoded alone:
         * the round trip is checked for named pairs) */
        if (nl > 0) {
            /* the same query re-encoded answers the same */
            size_t o = 0;
            for (size_t i = 0; i < np; i++) {
                char dk[4000], dv[4000];
                long a = ref_decode(pairs[i].k, pairs[i].klen, dk, 1);
                long b = pairs[i].v ? ref_decode(pairs[i].v, pairs[i].vlen, dv, 1) : 0;
                if (i)
                    re[o++] = '&';
                o += encode(dk, (size_t)a, re + o, 1);
                if (pairs[i].v) {
                    re[o++] = '=';
                    o += encode(dv, (size_t)b, re + o, 1);
                }
            }
            char *path2 = malloc(o + 4);
            if (!path2)
                abort();
            const char *again = lookup(re, o, tmp, &got_len, path2);
            if (!again || got_len != (size_t)wl || memcmp(again, tmp2, got_len))
                abort();
            free(path2);
        }
    }
    free(q);
    free(buf);
    free(tmp);
    free(tmp2);
    free(path);
    free(re);
    return 0;
}
