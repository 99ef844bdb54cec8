/*
 * strbuf.c - the growable buffer of strbuf.h. Sized for answers of a few
 * bytes to tens of MB (a 200,000-seat map): capacity doubles, so building
 * n bytes copies at most 2n.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/hex.h"
#include "util/strbuf.h"

void bo_buf_init(bo_buf_t *b, size_t hint)
{
    *b = (bo_buf_t){0};
    b->cap = hint ? hint : 256;
    if (!(b->p = malloc(b->cap))) {
        b->cap = 0;
        b->failed = true;
    }
}

/* Room for n more bytes and a NUL. */
static bool reserve(bo_buf_t *b, size_t n)
{
    if (b->failed)
        return false;
    if (b->len + n + 1 <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n + 1)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
        b->failed = true;
        return false;
    }
    b->p = p;
    b->cap = cap;
    return true;
}

void bo_buf_put(bo_buf_t *b, const char *s, size_t n)
{
    if (!reserve(b, n))
        return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

void bo_buf_puts(bo_buf_t *b, const char *s)
{
    bo_buf_put(b, s, strlen(s));
}

void bo_buf_printf(bo_buf_t *b, const char *fmt, ...)
{
    char small[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof(small)) {
        bo_buf_put(b, small, (size_t)n);
        return;
    }
    if (!reserve(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void bo_buf_json_str(bo_buf_t *b, const char *s)
{
    bo_buf_put(b, "\"", 1);
    const char *run = s;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        bo_buf_put(b, run, (size_t)(s - run));
        char esc[6] = {'\\', (char)c, 0, 0, 0, 0};
        size_t n = 2;
        if (c < 0x20) {
            const char *named = c == '\n' ? "n" : c == '\t' ? "t" : c == '\r' ? "r" : NULL;
            if (named) {
                esc[1] = named[0];
            } else {
                memcpy(esc + 1, "u00", 3);
                esc[4] = bo_hex_digit(c >> 4, 0);
                esc[5] = bo_hex_digit(c, 0);
                n = 6;
            }
        }
        bo_buf_put(b, esc, n);
        run = s + 1;
    }
    bo_buf_put(b, run, (size_t)(s - run));
    bo_buf_put(b, "\"", 1);
}

char *bo_buf_take(bo_buf_t *b, size_t *len)
{
    if (b->failed || !reserve(b, 0)) {
        bo_buf_free(b);
        return NULL;
    }
    char *p = b->p;
    p[b->len] = '\0';
    if (len)
        *len = b->len;
    *b = (bo_buf_t){0};
    return p;
}

void bo_buf_free(bo_buf_t *b)
{
    free(b->p);
    *b = (bo_buf_t){0};
}
