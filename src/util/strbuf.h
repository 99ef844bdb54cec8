/*
 * strbuf.h - a growable byte buffer for building big answers (seat maps,
 * availability lists) without a JSON tree: appends, printf, and JSON string
 * literals. An allocation failure is sticky: later appends do nothing and
 * bo_buf_take returns NULL, so callers check once at the end.
 */
#ifndef BOXOFFICE_UTIL_STRBUF_H
#define BOXOFFICE_UTIL_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

typedef struct bo_buf {
    char *p;
    size_t len, cap;
    bool failed; /* out of memory: the content is incomplete */
} bo_buf_t;

/* An empty buffer with room for hint bytes (0: a small default). */
void bo_buf_init(bo_buf_t *b, size_t hint);
void bo_buf_put(bo_buf_t *b, const char *s, size_t n);
void bo_buf_puts(bo_buf_t *b, const char *s);
void bo_buf_printf(bo_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* s as a JSON string literal, quotes included: '"', '\\' and control
 * characters escaped, the rest (UTF-8) copied as is. */
void bo_buf_json_str(bo_buf_t *b, const char *s);
/* The content, NUL-terminated (you now own it: free()), and *len; the
 * buffer is empty afterwards. NULL (and the buffer freed) after a failure. */
char *bo_buf_take(bo_buf_t *b, size_t *len);
void bo_buf_free(bo_buf_t *b);

#endif
