/*
 * limits.h - the rate limits and per-address caps of an on-sale (limits.c):
 * six named numbers, one set per server (`serve --limits`) with an
 * override per event (its "limits" object). The API enforces the token
 * buckets (src/api/limit.c), the engine the two caps (engine.h
 * bo_hold_req_t.max_client_*). 0 means "no limit" for that name.
 */
#ifndef BOXOFFICE_UTIL_LIMITS_H
#define BOXOFFICE_UTIL_LIMITS_H

#include <stddef.h>
#include <stdint.h>

enum bo_limit {
    BO_LIMIT_HOLDS_PER_MIN,         /* hold requests per client address per event */
    BO_LIMIT_CHECKOUTS_PER_MIN,     /* checkouts per client address */
    BO_LIMIT_CARD_ATTEMPTS_PER_MIN, /* confirms with a card per client address */
    BO_LIMIT_QUEUE_JOINS_PER_MIN,   /* waiting-room joins per client address per event */
    BO_LIMIT_SEATS_PER_ADDRESS,     /* seats + GA tickets HELD or PAYING per address per event */
    BO_LIMIT_HOLDS_PER_ADDRESS,     /* live holds per address per event */
    BO_LIMITS
};

#define BO_LIMIT_MAX 1000000u /* the largest value a limit may take */

typedef struct bo_limits {
    uint32_t v[BO_LIMITS]; /* by enum bo_limit */
} bo_limits_t;

/* The server's defaults (docs: README "--limits"). */
#define BO_LIMIT_DEFAULTS                                                                          \
    {                                                                                              \
        30, 10, 10, 10, 50, 20                                                                     \
    }
void bo_limits_default(bo_limits_t *l);
/* "holds_per_min", ... by enum bo_limit. */
const char *bo_limit_name(enum bo_limit which);
/* The limit named by name (len bytes), or BO_LIMITS. */
enum bo_limit bo_limit_find(const char *name, size_t len);
/*
 * `--limits` text over *l: "off" (every limit 0) or name=value,... with
 * values 0..BO_LIMIT_MAX. Returns 0, or BO_EINVAL with why in err (cap
 * bytes) and *l partly changed.
 */
int bo_limits_parse(const char *text, bo_limits_t *l, char *err, size_t cap);
/* The limits in force for an event: its overrides (event->v[i] where bit
 * i of set is 1) over the server's. */
void bo_limits_effective(const bo_limits_t *server, const bo_limits_t *event, uint32_t set,
                         bo_limits_t *out);

#endif
