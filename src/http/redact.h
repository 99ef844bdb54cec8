/*
 * redact.h - a request target as the access log shows it: capabilities
 * never appear in clear (redact.c).
 */
#ifndef BOXOFFICE_HTTP_REDACT_H
#define BOXOFFICE_HTTP_REDACT_H

#include <stddef.h>

#define BO_REDACT_KEY_BYTES 16 /* the tag's hash key (crypto_shorthash) */
#define BO_REDACT_TAG_HEX   8  /* hex digits of a hold id's tag */

/*
 * Copy the request target in[0..n) (path and query, as the client sent
 * them) to out, at most cap bytes, with:
 *   - every path segment and query value that is a hold id ("hold_" and hex
 *     digits, percent-encoded or not, any case) replaced by "hold_", the 16
 *     hex digits of its event, "~" and BO_REDACT_TAG_HEX hex digits of a
 *     hash of the whole id under key: the same hold gives the same tag
 *     under one key (one process), and the tag does not give the id back;
 *   - the value of every query parameter whose name (decoded, any case)
 *     holds "secret", "token", "key", "pass", "auth", "sig" or "ticket"
 *     (a waiting-room ticket) replaced by
 *     "[redacted]".
 * A replacement that does not fit is left out whole (the copy stops).
 * Returns the bytes written, <= cap. Pure: no state but key.
 */
size_t bo__redact_target(const char *in, size_t n, char *out, size_t cap,
                         const unsigned char key[BO_REDACT_KEY_BYTES]);

#endif
