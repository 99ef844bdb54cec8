/*
 * limits.c - the six limits' names, defaults and `--limits` syntax
 * (limits.h).
 *
 * Workload: parsed once at start; names read per refusal (for its error).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boxoffice/error.h"
#include "util/limits.h"

static const char *const names[BO_LIMITS] = {
    "holds_per_min",       "checkouts_per_min", "card_attempts_per_min",
    "queue_joins_per_min", "seats_per_address", "holds_per_address",
};

/* What a box office would choose: a buyer clicks a few holds a minute and
 * pays once or twice; a family or a small group takes a handful of seats;
 * 50 seats at once is 0.5 % of a 10,000-seat event (the bar: 2 %),
 * and 20 holds lets a booking agent work without letting one script hoard. */
static const uint32_t defaults[BO_LIMITS] = {
    [BO_LIMIT_HOLDS_PER_MIN] = 30,         [BO_LIMIT_CHECKOUTS_PER_MIN] = 10,
    [BO_LIMIT_CARD_ATTEMPTS_PER_MIN] = 10, [BO_LIMIT_QUEUE_JOINS_PER_MIN] = 4,
    [BO_LIMIT_SEATS_PER_ADDRESS] = 50,     [BO_LIMIT_HOLDS_PER_ADDRESS] = 20,
};

void bo_limits_default(bo_limits_t *l)
{
    memcpy(l->v, defaults, sizeof(l->v));
}

const char *bo_limit_name(enum bo_limit which)
{
    return (unsigned)which < BO_LIMITS ? names[which] : "?";
}

enum bo_limit bo_limit_find(const char *name, size_t len)
{
    for (int i = 0; i < BO_LIMITS; i++)
        if (strlen(names[i]) == len && memcmp(names[i], name, len) == 0)
            return (enum bo_limit)i;
    return BO_LIMITS;
}

/* One "name=value" of len bytes into l. */
static int parse_one(const char *s, size_t len, bo_limits_t *l, char *err, size_t cap)
{
    const char *eq = memchr(s, '=', len);
    enum bo_limit which = eq ? bo_limit_find(s, (size_t)(eq - s)) : BO_LIMITS;
    if (which == BO_LIMITS) {
        snprintf(err, cap, "'%.*s' is not name=value with a name among %s, %s, %s, %s, %s, %s",
                 (int)len, s, names[0], names[1], names[2], names[3], names[4], names[5]);
        return BO_EINVAL;
    }
    size_t vlen = len - (size_t)(eq + 1 - s);
    unsigned long v = 0;
    int ok = vlen > 0 && vlen <= 7;
    for (size_t i = 0; ok && i < vlen; i++) {
        ok = eq[1 + i] >= '0' && eq[1 + i] <= '9';
        v = v * 10 + (unsigned long)(eq[1 + i] - '0');
    }
    if (!ok || v > BO_LIMIT_MAX) {
        snprintf(err, cap, "%s must be a whole number from 0 (no limit) to %u", names[which],
                 BO_LIMIT_MAX);
        return BO_EINVAL;
    }
    l->v[which] = (uint32_t)v;
    return 0;
}

int bo_limits_parse(const char *text, bo_limits_t *l, char *err, size_t cap)
{
    if (strcmp(text, "off") == 0) {
        memset(l, 0, sizeof(*l));
        return 0;
    }
    if (!*text) {
        snprintf(err, cap, "expected off or name=value,...");
        return BO_EINVAL;
    }
    for (const char *s = text;;) {
        const char *comma = strchr(s, ',');
        size_t len = comma ? (size_t)(comma - s) : strlen(s);
        if (parse_one(s, len, l, err, cap))
            return BO_EINVAL;
        if (!comma)
            return 0;
        s = comma + 1;
    }
}

void bo_limits_effective(const bo_limits_t *server, const bo_limits_t *event, uint32_t set,
                         bo_limits_t *out)
{
    for (int i = 0; i < BO_LIMITS; i++)
        out->v[i] = set >> i & 1 ? event->v[i] : server->v[i];
}
