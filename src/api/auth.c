/*
 * auth.c - the admin bearer token (api_internal.h "auth.c"). Every admin
 * endpoint calls bo__api_admin first, so a caller without the token learns
 * nothing about events or bodies.
 *
 * bo__api_admin_guard is the same check as a guard of the HTTP layer
 * (bo_server_route_guarded): run on the headers alone, before a big body
 * (a venue import) is read.
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

/* 0 when value ("Bearer <token>", len bytes, NULL: absent) carries the
 * admin token, else BO_EUNAUTHORIZED or BO_EFORBIDDEN. */
static int check(bo_api_t *api, const char *value, size_t len)
{
    size_t token_len;
    const char *token = value ? bearer_token(value, len, &token_len) : NULL;
    if (!token)
        return BO_EUNAUTHORIZED;
    return bo__api_is_admin(api, token, token_len) ? 0 : BO_EFORBIDDEN;
}

int bo__api_admin(bo_api_t *api, bo_http_req_t *r)
{
    size_t len = 0;
    const char *value = bo_http_header(r, "authorization", &len);
    int rc = check(api, value, len);
    if (rc == 0)
        return 0;
    /* a stranger at an admin door keeps no connection */
    bo_http_close_after(r);
    if (rc == BO_EUNAUTHORIZED)
        return unauthorized(r);
    bo_http_send_error(r, BO_EFORBIDDEN, "the bearer token is not valid", NULL);
    return BO_EFORBIDDEN;
}

int bo__api_admin_guard(void *arg, const char *authorization, size_t len)
{
    return check(arg, authorization, len);
}
