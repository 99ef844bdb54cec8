/*
 * sim.c - the simulator's own controls, outside Stripe's API:
 *
 *   GET  /_sim/config   the runtime settings (secret key)
 *   POST /_sim/config   change some (form or JSON body; secret key), so a
 *                       test switches faults without a restart
 *   GET  /_sim/stats    totals: intents by status, captured and refunded
 *                       cents (per currency too), webhooks, faults
 *   GET  /healthz       liveness, no key
 *
 * Settings start from the command line (main.c uses the same names) and
 * are copied under settings_mu by every call, so a change applies to the
 * calls that start after it. These answers never wait for the simulated
 * latency and never fail on purpose.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "boxoffice/error.h"
#include "paysim.h"

#define MAX_DELAY_MS 600000u

void ps_settings_default(ps_settings_t *s)
{
    memset(s, 0, sizeof(*s));
    s->timeout_ms = 30000;
    s->reorder_ms = 500;
    s->webhook_retry_ms = 200;
    s->webhook_attempts = 10;
}

void ps_settings_get(paysim_t *ps, ps_settings_t *out)
{
    pthread_mutex_lock(&ps->settings_mu);
    *out = ps->settings;
    pthread_mutex_unlock(&ps->settings_mu);
}

static int parse_u32(const char *v, uint32_t min, uint32_t max, uint32_t *out)
{
    char *end;
    errno = 0;
    unsigned long n = strtoul(v, &end, 10);
    if (errno || !*v || *end || *v == '-' || *v == ' ' || n < min || n > max)
        return -1;
    *out = (uint32_t)n;
    return 0;
}

static int parse_rate(const char *v, double *out)
{
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (errno || !*v || *end || isnan(d) || d < 0 || d > 1)
        return -1;
    *out = d;
    return 0;
}

static int parse_flag(const char *v, bool *out)
{
    static const char *const yes[] = {"1", "true", "yes", "on"}, *const no[] = {"0", "false", "no",
                                                                                "off"};
    for (size_t i = 0; i < 4; i++) {
        if (!strcasecmp(v, yes[i]) || !strcasecmp(v, no[i])) {
            *out = !strcasecmp(v, yes[i]);
            return 0;
        }
    }
    return -1;
}

static int parse_url(const char *v, char *out, size_t cap)
{
    size_t len = strlen(v);
    if (len && strncmp(v, "http://", 7) && strncmp(v, "https://", 8))
        return -1;
    if (len >= cap || strpbrk(v, " \t\r\n"))
        return -1;
    memcpy(out, v, len + 1);
    return 0;
}

int ps_settings_set(ps_settings_t *s, const char *name, const char *value, char *err, size_t errcap)
{
    char key[40];
    size_t n = strlen(name);
    if (n >= sizeof(key))
        n = sizeof(key) - 1;
    for (size_t i = 0; i < n; i++)
        key[i] = name[i] == '-' ? '_' : name[i];
    key[n] = '\0';
    int rc = -2;
    if (!strcmp(key, "latency_ms"))
        rc = parse_u32(value, 0, MAX_DELAY_MS, &s->latency_ms);
    else if (!strcmp(key, "fail_rate"))
        rc = parse_rate(value, &s->fail_rate);
    else if (!strcmp(key, "fail_after_rate"))
        rc = parse_rate(value, &s->fail_after_rate);
    else if (!strcmp(key, "timeout_rate"))
        rc = parse_rate(value, &s->timeout_rate);
    else if (!strcmp(key, "timeout_ms"))
        rc = parse_u32(value, 0, MAX_DELAY_MS, &s->timeout_ms);
    else if (!strcmp(key, "duplicate_webhooks"))
        rc = parse_flag(value, &s->duplicate_webhooks);
    else if (!strcmp(key, "reorder_webhooks"))
        rc = parse_flag(value, &s->reorder_webhooks);
    else if (!strcmp(key, "reorder_ms"))
        rc = parse_u32(value, 0, 60000, &s->reorder_ms);
    else if (!strcmp(key, "webhook_retry_ms"))
        rc = parse_u32(value, 1, 60000, &s->webhook_retry_ms);
    else if (!strcmp(key, "webhook_attempts"))
        rc = parse_u32(value, 1, 100, &s->webhook_attempts);
    else if (!strcmp(key, "webhook_url"))
        rc = parse_url(value, s->webhook_url, sizeof(s->webhook_url));
    if (rc == -2)
        snprintf(err, errcap, "Unknown setting: %.40s", name);
    else if (rc)
        snprintf(err, errcap, "Invalid value for %s: %.60s", key, value);
    return rc ? BO_EINVAL : 0;
}

static json_t *settings_json(const ps_settings_t *s)
{
    return json_pack(
        "{s:I,s:f,s:f,s:f,s:I,s:b,s:b,s:I,s:I,s:I,s:s}", "latency_ms", (json_int_t)s->latency_ms,
        "fail_rate", s->fail_rate, "fail_after_rate", s->fail_after_rate, "timeout_rate",
        s->timeout_rate, "timeout_ms", (json_int_t)s->timeout_ms, "duplicate_webhooks",
        s->duplicate_webhooks, "reorder_webhooks", s->reorder_webhooks, "reorder_ms",
        (json_int_t)s->reorder_ms, "webhook_retry_ms", (json_int_t)s->webhook_retry_ms,
        "webhook_attempts", (json_int_t)s->webhook_attempts, "webhook_url", s->webhook_url);
}

/* Send a at once (these answers skip the simulated faults). */
static int answer_now(paysim_t *ps, bo_http_req_t *r, ps_answer_t *a)
{
    ps_reply_t *rep = ps_reply_new(false);
    if (!rep) {
        json_decref(a->body);
        return BO_ENOMEM;
    }
    ps_reply_take(rep, a);
    ps_reply_send(ps, r, rep, 0);
    return 0;
}

/* One value of a JSON body as the text the option parsers take. */
static int json_text(json_t *v, char *out, size_t cap)
{
    if (json_is_string(v))
        snprintf(out, cap, "%s", json_string_value(v));
    else if (json_is_integer(v))
        snprintf(out, cap, "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v))
        snprintf(out, cap, "%.17g", json_real_value(v));
    else if (json_is_boolean(v))
        snprintf(out, cap, "%s", json_is_true(v) ? "true" : "false");
    else
        return -1;
    return 0;
}

/* The body as an object of settings (JSON or form). */
static int config_body(bo_http_req_t *r, json_t **out, char *err, size_t cap)
{
    size_t len;
    const char *body = bo_http_body(r, &len);
    const char *ctype = bo_http_header(r, "content-type", NULL);
    json_error_t jerr;
    if (ctype && !strncasecmp(ctype, "application/json", 16)) {
        *out =
            len <= PS_MAX_BODY_BYTES ? json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr) : NULL;
        if (!*out || !json_is_object(*out)) {
            json_decref(*out);
            *out = NULL;
            snprintf(err, cap, "The body is not a JSON object of settings.");
            return BO_EINVAL;
        }
        return 0;
    }
    return ps_form_parse(body, len, out, err, cap);
}

static int on_config(void *arg, bo_http_req_t *r)
{
    paysim_t *ps = arg;
    ps_answer_t a = {0};
    ps_settings_t s;
    char err[256], text[PS_URL_MAX + 64];
    json_t *body = NULL, *v;
    const char *key;
    if (ps_auth(ps, r, &a))
        return answer_now(ps, r, &a);
    ps_settings_get(ps, &s);
    if (!strcmp(bo_http_method(r), "POST")) {
        if (config_body(r, &body, err, sizeof(err)))
            goto bad;
        json_object_foreach(body, key, v)
        {
            if (json_text(v, text, sizeof(text))) {
                snprintf(err, sizeof(err), "Invalid value for %.40s.", key);
                goto bad;
            }
            if (ps_settings_set(&s, key, text, err, sizeof(err)))
                goto bad;
        }
        pthread_mutex_lock(&ps->settings_mu);
        ps->settings = s;
        pthread_mutex_unlock(&ps->settings_mu);
        json_decref(body);
    }
    ps_answer_json(&a, 200, settings_json(&s));
    return answer_now(ps, r, &a);
bad:
    json_decref(body);
    ps_answer_error(&a, 400, "invalid_request_error", NULL, NULL, "%s", err);
    return answer_now(ps, r, &a);
}

static int on_stats(void *arg, bo_http_req_t *r)
{
    paysim_t *ps = arg;
    ps_answer_t a = {0};
    if (ps_auth(ps, r, &a))
        return answer_now(ps, r, &a);
    pthread_mutex_lock(&ps->mu);
    json_t *o = ps_ledger_stats(&ps->ledger);
    json_object_set_new(o, "idempotency_keys", json_integer((json_int_t)ps_idem_count(ps->idem)));
    pthread_mutex_unlock(&ps->mu);
    json_object_set_new(o, "webhooks", ps_webhooks_stats(ps));
    json_object_set_new(o, "calls",
                        json_pack("{s:I,s:I,s:{s:I,s:I,s:I}}", "total",
                                  (json_int_t)atomic_load(&ps->calls), "idempotent_replays",
                                  (json_int_t)atomic_load(&ps->replays), "faults", "failed",
                                  (json_int_t)atomic_load(&ps->faults_failed), "failed_after",
                                  (json_int_t)atomic_load(&ps->faults_failed_after), "timeouts",
                                  (json_int_t)atomic_load(&ps->faults_timeouts)));
    ps_answer_json(&a, 200, o);
    return answer_now(ps, r, &a);
}

static int on_health(void *arg, bo_http_req_t *r)
{
    return bo_http_send_json(r, 200, json_pack("{s:s}", "status", "ok"));
}

int ps_sim_register(paysim_t *ps)
{
    int rc;
    if ((rc = bo_server_route(ps->srv, "GET", "/_sim/config", on_config, ps)) ||
        (rc = bo_server_route(ps->srv, "POST", "/_sim/config", on_config, ps)) ||
        (rc = bo_server_route(ps->srv, "GET", "/_sim/stats", on_stats, ps)))
        return rc;
    return bo_server_route(ps->srv, "GET", "/healthz", on_health, ps);
}
