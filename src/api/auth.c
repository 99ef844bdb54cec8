/*
 * auth.c - the admin bearer token (api_internal.h "auth.c"). Every admin
 * endpoint calls bo__api_admin first, so a caller without the token learns
 * nothing about events or bodies.
 *
 * Workload: admin calls only (a few per minute; a venue import now and
 * then), so two BLAKE2b hashes per check cost nothing. Hashing both tokens
 * to a fixed 32 bytes before the constant-time comparison is what keeps
 * the admin token's length from leaking through the comparison's time.
 * Order routes (orders.c) take the same bearer as an order's secret too.
 */
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "api/api_internal.h"

#define TOKEN_HASH_BYTES 32u

static void token_hash(const char *token, size_t len, uint8_t out[TOKEN_HASH_BYTES])
{
    crypto_generichash(out, TOKEN_HASH_BYTES, (const uint8_t *)token, len, NULL, 0);
}

static int unauthorized(bo_http_req_t *r)
{
    bo_http_set_header(r, "WWW-Authenticate", "Bearer realm=\"boxoffice\"");
    bo_http_send_error(r, BO_EUNAUTHORIZED, "this operation needs the admin bearer token", NULL);
    return BO_EUNAUTHORIZED;
}

/* The token of "Bearer <token>" (scheme in any case, then spaces), or NULL
 * for another scheme or no token. */
static const char *bearer_token(const char *value, size_t len, size_t *token_len)
{
    static const char scheme[] = "Bearer";
    size_t n = sizeof(scheme) - 1;
    if (len <= n || strncasecmp(value, scheme, n) != 0 || (value[n] != ' ' && value[n] != '\t'))
        return NULL;
    const char *p = value + n, *end = value + len;
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    *token_len = (size_t)(end - p);
    return end > p ? p : NULL;
}

const char *bo__api_bearer(bo_http_req_t *r, size_t *len)
{
    size_t vlen;
    const char *value = bo_http_header(r, "authorization", &vlen);
    return value ? bearer_token(value, vlen, len) : NULL;
}

bool bo__api_is_admin(bo_api_t *api, const char *token, size_t len)
{
    uint8_t got[TOKEN_HASH_BYTES], want[TOKEN_HASH_BYTES];
    token_hash(token, len, got);
    token_hash(api->admin_token, strlen(api->admin_token), want);
    bool same = sodium_memcmp(got, want, TOKEN_HASH_BYTES) == 0;
    sodium_memzero(want, sizeof(want));
    return same;
}

int bo__api_admin(bo_api_t *api, bo_http_req_t *r)
{
    size_t token_len;
    const char *token = bo__api_bearer(r, &token_len);
    if (!token)
        return unauthorized(r);
    if (bo__api_is_admin(api, token, token_len))
        return 0;
    bo_http_send_error(r, BO_EFORBIDDEN, "the bearer token is not valid", NULL);
    return BO_EFORBIDDEN;
}
