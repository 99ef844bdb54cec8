/*
 * api.h - the HTTP API of DESIGN.md on top of the live layer: one handler
 * file per resource under src/api/, all registered on the server by
 * bo_api_register.
 *
 * Workload: see http.h (requests) and live.h (every mutation answers after
 * its commit, on the committer thread; handlers answer through
 * bo_http_async_finish, never blocking a loop).
 */
#ifndef BOXOFFICE_API_H
#define BOXOFFICE_API_H

#include "boxoffice/http.h"
#include "boxoffice/pay.h"
#include "boxoffice/live.h"
#include "util/limits.h"

/* What `boxoffice serve` hands the API layer. Strings are copied by
 * bo_api_register. */
#define BO_RECONCILE_BUDGET_PER_S 20 /* well under the ~100/s a gateway allows */

typedef struct bo_api_config {
    const char *admin_token; /* bearer token of the admin endpoints (required) */
    int demo;                /* seed a demo venue and events when the store is empty */
    const char *payment;     /* "sim:URL" or "stripe:URL"; NULL: none configured */
    bo_pay_t *pay;           /* the gateway opened from it (taken, even on failure); NULL: none */
    const char *webhook_secret; /* the webhook signing secret; NULL: webhooks refused */
    size_t max_body_bytes;      /* the server's body limit, for documentation and checks */
    uint32_t reconcile_ms;      /* period of the order reconciler; 0: 500 */
    /* gateway requests a second the reconciler may send (a second's worth
     * may come at once); 0: BO_RECONCILE_BUDGET_PER_S */
    uint32_t reconcile_budget_per_s;
    /* the rate limits and per-address caps (util/limits.h), which each
     * event may override; NULL: none (every limit 0). `serve` passes
     * --limits over the defaults. */
    const bo_limits_t *limits;
    const bo_http_trusted_t *trusted_proxies; /* copied; NULL: loopback */
} bo_api_config_t;

/*
 * Register every route of the API on srv (before bo_server_run), backed by
 * live, which must outlive srv's loops. The API's state is freed with srv
 * (bo_server_at_free). Returns 0, or a negative BO_E* code (BO_EINVAL for a
 * bad config, BO_ENOMEM).
 */
int bo_api_register(bo_server_t *srv, bo_live_t *live, const bo_api_config_t *cfg);

/* An admin token's least length (BOXOFFICE_ADMIN_TOKEN or its file). */
#define BO_API_ADMIN_TOKEN_MIN_CHARS 16

/*
 * The admin token kept in path: read it (surrounding whitespace trimmed; at
 * least BO_API_ADMIN_TOKEN_MIN_CHARS printable characters), or, when path does not exist, create it
 * (mode 0600) with a fresh token: 32 random bytes (libsodium) in hex.
 * Returns 0, *token (malloc'd: the caller frees it) and *created (1 when
 * made now), or BO_EINVAL / BO_EIO with a message on stderr.
 */
int bo_api_admin_token(const char *path, char **token, int *created);
/*
 * The admin token given as text by what (a variable's name): the file's
 * rule, at least 16 printable characters and no blank. Returns 0 and
 * *token (malloc'd: the caller frees it), or BO_EINVAL / BO_ENOMEM with a
 * message on stderr.
 */
int bo_api_admin_token_text(const char *text, const char *what, char **token);

#endif
