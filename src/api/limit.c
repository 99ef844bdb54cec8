/*
 * limit.c - the on-sale's rate limits and caps at the API (util/limits.h):
 * the server's limits with each event's overrides, the token buckets per
 * client address (holds and queue joins per event, checkouts, card
 * attempts), the client
 * key that the engine's caps count by, and the refusals: 429
 * RATE_LIMITED with Retry-After, counted in
 * boxoffice_limit_rejections_total{limit}.
 *
 * Workload: every hold, checkout and card attempt takes a token here,
 * before any engine work (a refused request costs a hash and a table
 * probe); ~10^5 takes a second in an on-sale. The caps are the engine's
 * (decided under the event's lock, so racing holds cannot pass them); this
 * file only answers their refusals.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "api/api_internal.h"

#define LIMIT_PERIOD_MS 60000 /* the buckets' limits are per minute */

_Static_assert(BO_API_CLIENT_KEY_BYTES == crypto_shorthash_KEYBYTES, "a shorthash key");

static void limit_free(void *arg)
{
    bo_api_t *api = arg;
    for (int i = 0; i < BO_LIMITS; i++) {
        bo_rate_free(api->rates[i]);
        api->rates[i] = NULL;
    }
}

int bo__limit_register(bo_api_t *api)
{
    static const enum bo_limit buckets[] = {BO_LIMIT_HOLDS_PER_MIN, BO_LIMIT_CHECKOUTS_PER_MIN,
                                            BO_LIMIT_CARD_ATTEMPTS_PER_MIN,
                                            BO_LIMIT_QUEUE_JOINS_PER_MIN};
    int rc = bo_server_at_free(api->srv, limit_free, api);
    if (rc)
        return rc;
    for (size_t i = 0; i < sizeof(buckets) / sizeof(buckets[0]); i++)
        if (!(api->rates[buckets[i]] = bo_rate_new(1, LIMIT_PERIOD_MS)))
            return BO_ENOMEM;
    bo_metric_t *f =
        bo_metrics_counter(bo_server_metrics(api->srv), "boxoffice_limit_rejections_total",
                           "requests refused by a rate limit or per-address cap");
    for (int i = 0; f && i < BO_LIMITS; i++) {
        char labels[48];
        snprintf(labels, sizeof(labels), "limit=\"%s\"", bo_limit_name((enum bo_limit)i));
        api->limit_rejections[i] = bo_metric_series(f, labels);
    }
    return 0;
}

void bo__limit_keyed(bo_api_t *api, const uint8_t key[BO_API_CLIENT_KEY_BYTES])
{
    memcpy(api->client_hash_key, key, BO_API_CLIENT_KEY_BYTES);
}

void bo__limits_of(const bo_api_t *api, const bo_event_info_t *info, bo_limits_t *out)
{
    if (info)
        bo_limits_effective(&api->limits, &info->limits, info->limits_set, out);
    else
        *out = api->limits;
}

uint64_t bo__limit_client_key(bo_api_t *api, bo_http_req_t *r)
{
    const char *client = bo_http_client_addr(r, &api->trusted_proxies);
    uint64_t h;
    crypto_shorthash((uint8_t *)&h, (const uint8_t *)client, strlen(client), api->client_hash_key);
    return h ? h : 1; /* 0 means "no client" to the engine */
}

int bo__limit_refuse(bo_api_t *api, bo_http_req_t *r, enum bo_limit which, uint32_t value,
                     int64_t wait_ms, bool send)
{
    BO_ASSERT((unsigned)which < BO_LIMITS && wait_ms > 0);
    int64_t after_s = (wait_ms + 999) / 1000;
    char after[24];
    if (api->limit_rejections[which])
        bo_metric_add(api->limit_rejections[which], 1);
    snprintf(after, sizeof(after), "%" PRId64, after_s);
    bo_http_set_header(r, "Retry-After", after);
    bool cap = which == BO_LIMIT_SEATS_PER_ADDRESS || which == BO_LIMIT_HOLDS_PER_ADDRESS;
    if (send)
        bo_http_send_error(r, cap ? BO_ECAP : BO_ERATE,
                           cap ? "this address already holds as many of this event as it may: "
                                 "retry when one of its holds ends"
                               : "too many requests from this address: retry later",
                           json_pack("{sssIsI}", "limit", bo_limit_name(which), "limit_value",
                                     (json_int_t)value, "retry_after_s", (json_int_t)after_s));
    return cap ? BO_ECAP : BO_ERATE;
}

int bo__limit_take(bo_api_t *api, bo_http_req_t *r, enum bo_limit which, uint64_t event,
                   uint32_t per_min)
{
    if (per_min == 0)
        return 0;
    BO_ASSERT(api->rates[which] != NULL); /* a bucket's limit, registered */
    const char *client = bo_http_client_addr(r, &api->trusted_proxies);
    char key[128];
    int n = snprintf(key, sizeof(key), "%.100s/%016" PRIx64, client, event);
    int64_t wait_ms = bo_rate_take_at(api->rates[which], key, (size_t)n, per_min, LIMIT_PERIOD_MS,
                                      bo_live_now_ms(api->live));
    return wait_ms ? bo__limit_refuse(api, r, which, per_min, wait_ms, true) : 0;
}
