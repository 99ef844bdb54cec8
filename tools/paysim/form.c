/*
 * form.c - request parameters in Stripe's encoding: an
 * application/x-www-form-urlencoded body (or query string) whose names
 * nest with brackets:
 *
 *   amount=1000&metadata[order_id]=ord_1&payment_method_types[]=card
 *   payment_method_data[card][number]=4242424242424242
 *
 * become a tree of JSON objects with string leaves; a list ("[]" or
 * "[0]", "[1]" as the official clients send) is an object keyed "0", "1",
 * ... so that one shape serves both and the readers (params.c) decide.
 *
 * Workload: every API call parses a body of a few hundred bytes. This is
 * outside input from any client, so it is strict and bounded: at most
 * PS_MAX_BODY_BYTES, PS_MAX_PARAMS pairs, PS_MAX_KEY_BYTES per name,
 * PS_MAX_VALUE_BYTES per value, PS_MAX_DEPTH brackets, valid percent
 * escapes, no NUL, valid UTF-8, no name given twice or used both as a
 * value and as a hash. Anything else is refused with a message.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boxoffice/error.h"
#include "paysim.h"
#include "util/pct.h"

static int fail(char *err, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, cap, fmt, ap);
    va_end(ap);
    return BO_EINVAL;
}

/* A name fit to quote in a message: printable ASCII, else '?', cut short. */
static const char *quotable(const char *s, char *buf, size_t cap)
{
    size_t i = 0;
    for (; s[i] && i + 4 < cap; i++)
        buf[i] = s[i] >= ' ' && s[i] <= '~' && s[i] != '"' ? s[i] : '?';
    if (s[i])
        buf[i++] = '.', buf[i++] = '.', buf[i++] = '.';
    buf[i] = '\0';
    return buf;
}

/*
 * Split a decoded name "a[b][c]" in place into segs ("a", "b", "c"; "[]"
 * gives ""). Returns the number of segments, or -1 when the name is not of
 * that form or has more than PS_MAX_DEPTH brackets.
 */
static int split_name(char *name, char **segs)
{
    char *p = name;
    int n = 0;
    size_t first = strcspn(p, "[]");
    if (first == 0 || p[first] == ']')
        return -1;
    segs[n++] = p;
    p += first;
    while (*p) {
        if (*p != '[' || n > (int)PS_MAX_DEPTH)
            return -1;
        *p++ = '\0';
        size_t len = strcspn(p, "[]");
        if (p[len] != ']')
            return -1;
        segs[n++] = p;
        p[len] = '\0';
        p += len + 1;
    }
    return n;
}

/* Place value at the path segs[0..n) of root. */
static int insert(json_t *root, char **segs, int n, const char *value, const char *name, char *err,
                  size_t cap)
{
    char q[64];
    json_t *cur = root;
    for (int i = 0; i < n; i++) {
        char index[24];
        const char *seg = segs[i];
        if (!*seg) { /* "[]": the next item of a list */
            snprintf(index, sizeof(index), "%zu", json_object_size(cur));
            seg = index;
        }
        json_t *child = json_object_get(cur, seg);
        if (i == n - 1) {
            if (json_is_object(child))
                return fail(err, cap, "Invalid hash: %s is given both as a value and as a hash.",
                            quotable(name, q, sizeof(q)));
            if (child)
                return fail(err, cap, "Received the parameter %s more than once.",
                            quotable(name, q, sizeof(q)));
            json_t *v = json_string(value);
            if (!v)
                return fail(err, cap, "Invalid UTF-8 in the value of %s.",
                            quotable(name, q, sizeof(q)));
            if (json_object_set_new(cur, seg, v))
                return fail(err, cap, "Invalid UTF-8 in a parameter name.");
            return 0;
        }
        if (!child) {
            child = json_object();
            if (!child || json_object_set_new(cur, seg, child))
                return fail(err, cap, "Invalid parameter name (not UTF-8, or out of memory).");
        } else if (!json_is_object(child)) {
            return fail(err, cap, "Invalid hash: %s is given both as a value and as a hash.",
                        quotable(name, q, sizeof(q)));
        }
        cur = child;
    }
    return 0;
}

/* One "name=value" pair (raw, not decoded) into root. */
static int parse_pair(json_t *root, const char *p, size_t len, char *err, size_t cap)
{
    const char *eq = memchr(p, '=', len);
    size_t klen = eq ? (size_t)(eq - p) : len;
    size_t vraw = eq ? len - klen - 1 : 0;
    char name[PS_MAX_KEY_BYTES + 1], copy[PS_MAX_KEY_BYTES + 1], q[64];
    char *segs[PS_MAX_DEPTH + 2];
    size_t nlen, vlen;
    if (klen == 0)
        return fail(err, cap, "Invalid request: a parameter has an empty name.");
    if (klen > 3 * PS_MAX_KEY_BYTES || vraw > 3 * PS_MAX_VALUE_BYTES)
        return fail(err, cap, "Invalid request: a parameter name or value is too long.");
    char *kbuf = malloc(klen + 1), *value = malloc(vraw + 1);
    int rc = BO_EINVAL;
    if (!kbuf || !value) {
        rc = fail(err, cap, "Out of memory.");
        goto out;
    }
    if (bo_pct_decode(p, klen, kbuf, klen, &nlen, BO_PCT_PLUS) ||
        (eq && bo_pct_decode(eq + 1, vraw, value, vraw, &vlen, BO_PCT_PLUS))) {
        rc = fail(err, cap, "Invalid request: bad percent-encoding (or an encoded NUL).");
        goto out;
    }
    if (!eq) {
        value[0] = '\0';
        vlen = 0;
    }
    if (nlen > PS_MAX_KEY_BYTES || vlen > PS_MAX_VALUE_BYTES) {
        rc = fail(
            err, cap,
            "Invalid request: the parameter %s is too long (names %u, values %u bytes at most).",
            quotable(kbuf, q, sizeof(q)), PS_MAX_KEY_BYTES, PS_MAX_VALUE_BYTES);
        goto out;
    }
    memcpy(name, kbuf, nlen + 1);
    memcpy(copy, kbuf, nlen + 1);
    int n = split_name(name, segs);
    if (n < 0) {
        rc = fail(err, cap, "Invalid parameter name: %s (a name, then at most %u [key] parts).",
                  quotable(copy, q, sizeof(q)), PS_MAX_DEPTH);
        goto out;
    }
    rc = insert(root, segs, n, value, copy, err, cap);
out:
    free(kbuf);
    free(value);
    return rc;
}

int ps_form_parse(const char *s, size_t len, json_t **out, char *err, size_t errcap)
{
    unsigned pairs = 0;
    *out = NULL;
    if (len > PS_MAX_BODY_BYTES)
        return fail(err, errcap, "Invalid request: the parameters are larger than %u bytes.",
                    PS_MAX_BODY_BYTES);
    json_t *root = json_object();
    if (!root)
        return fail(err, errcap, "Out of memory.");
    const char *p = s, *end = s + len;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *pend = amp ? amp : end;
        if (pend > p) {
            if (++pairs > PS_MAX_PARAMS) {
                json_decref(root);
                return fail(err, errcap, "Invalid request: more than %u parameters.",
                            PS_MAX_PARAMS);
            }
            if (parse_pair(root, p, (size_t)(pend - p), err, errcap)) {
                json_decref(root);
                return BO_EINVAL;
            }
        }
        p = pend + 1;
    }
    *out = root;
    return 0;
}
