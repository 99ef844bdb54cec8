/*
 * pct.h - the one percent-decoder (RFC 3986 %XX escapes), for query
 * strings, path segments, static file paths, the gateway's forms
 * (tools/paysim/form.c) and the access log's redaction (http/redact.c).
 */
#ifndef BOXOFFICE_UTIL_PCT_H
#define BOXOFFICE_UTIL_PCT_H

#include <stddef.h>

#define BO_PCT_PLUS 1u /* '+' is a space (query strings and forms) */
#define BO_PCT_LENIENT                                                                             \
    2u /* never refuse: a '%' not followed by two hex digits                                       \
        * stays as it is, a NUL is kept, and the output is                                         \
        * cut at cap bytes (for logs, not for decisions) */

/*
 * Decode in[0..len) into out, which has room for cap + 1 bytes: at most
 * cap decoded bytes, then a NUL. *outlen is the decoded length. Returns 0,
 * or -1 (never with BO_PCT_LENIENT) on a '%' not followed by two hex
 * digits, a decoded NUL, or more than cap decoded bytes. The decoded text
 * is never longer than in, so cap = len always fits.
 */
int bo_pct_decode(const char *in, size_t len, char *out, size_t cap, size_t *outlen,
                  unsigned flags);

#endif
