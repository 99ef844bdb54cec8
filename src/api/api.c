/*
 * api.c - the API's registration and its operational endpoints: /healthz
 * (the process answers), /readyz (the store commits: 503 while its
 * database is unreachable, its last commits fail, its queue is full, or
 * the server is stopping), /metrics
 * (the server's registry plus the store's counters). The resource handlers
 * live in the other files of src/api/ and are registered from
 * bo_api_register.
 *
 * Workload: probes every few seconds per load balancer, scrapes every few
 * seconds; nothing here is on the booking path.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "api/api_internal.h"
#include "boxoffice/u64map.h"
#include "api/api_internal.h"
#include "util/secret_file.h"
#include "boxoffice/api.h"
#include "boxoffice/error.h"
#include "boxoffice/store.h"

/* bo_api_t: api_internal.h */

static int on_healthz(void *arg, bo_http_req_t *r)
{
    return bo_http_send_json(r, 200, json_pack("{ss}", "status", "ok"));
}

/* Failing when the commits since the previous probe all failed; no
 * commits since then keeps the previous verdict, unless the store
 * reconnected to its database since (then it may commit again). */
static bool store_failing(bo_api_t *api, const bo_store_stats_t *st)
{
    pthread_mutex_lock(&api->ready_mu);
    if (st->commits != api->seen_commits || st->commit_failures != api->seen_failures)
        api->failing = st->commits == api->seen_commits;
    if (st->reconnects != api->seen_reconnects && st->commits == api->seen_commits)
        api->failing = false;
    api->seen_reconnects = st->reconnects;
    api->seen_commits = st->commits;
    api->seen_failures = st->commit_failures;
    bool failing = api->failing;
    pthread_mutex_unlock(&api->ready_mu);
    return failing;
}

static int on_readyz(void *arg, bo_http_req_t *r)
{
    bo_api_t *api = arg;
    bo_store_stats_t st;
    const char *why = NULL;
    bo_store_get_stats(bo_live_store(api->live), &st);
    if (bo_server_stopping(api->srv))
        why = "shutting down";
    else if (!bo_store_ready(bo_live_store(api->live)))
        why = "the store's database is unreachable";
    else if (store_failing(api, &st))
        why = "the store's last commits failed";
    else if (st.pending >= BO_STORE_MAX_PENDING)
        why = "the store's queue is full";
    if (why)
        return bo_http_send_error(r, BO_EBUSY, why,
                                  json_pack("{sI}", "pending", (json_int_t)st.pending));
    return bo_http_send_json(
        r, 200, json_pack("{sssI}", "status", "ready", "pending", (json_int_t)st.pending));
}

static int on_metrics(void *arg, bo_http_req_t *r)
{
    bo_api_t *api = arg;
    size_t len;
    char *text = bo_metrics_render(bo_server_metrics(api->srv), &len);
    if (!text)
        return BO_ENOMEM;
    return bo_http_send_buf(r, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
}

/* The store's counters, at scrape time. */
static void collect_store(void *arg, bo_metrics_out_t *o)
{
    bo_api_t *api = arg;
    bo_store_stats_t st;
    char le[32];
    bo_store_get_stats(bo_live_store(api->live), &st);
    bo_metrics_family(o, "boxoffice_store_commits_total", "counter",
                      "Store transactions committed.");
    bo_metrics_sample(o, "boxoffice_store_commits_total", NULL, (double)st.commits);
    bo_metrics_family(o, "boxoffice_store_commit_failures_total", "counter",
                      "Store transactions that failed.");
    bo_metrics_sample(o, "boxoffice_store_commit_failures_total", NULL, (double)st.commit_failures);
    bo_metrics_family(o, "boxoffice_store_records_total", "counter", "Records made durable.");
    bo_metrics_sample(o, "boxoffice_store_records_total", NULL, (double)st.records);
    bo_metrics_family(o, "boxoffice_store_up", "gauge",
                      "1 while the store's database is reachable (0: mutations answer 503).");
    bo_metrics_sample(o, "boxoffice_store_up", NULL, bo_store_ready(bo_live_store(api->live)));
    bo_metrics_family(o, "boxoffice_store_pending", "gauge", "Records waiting for a commit.");
    bo_metrics_sample(o, "boxoffice_store_pending", NULL, (double)st.pending);
    uint64_t batches = 0, cum = 0;
    for (unsigned i = 0; i < 16; i++)
        batches += st.batch_hist[i];
    bo_metrics_family(o, "boxoffice_store_commit_seconds", "histogram",
                      "Time of a store commit (one fsync'd transaction).");
    for (unsigned i = 0; i + 1 < BO_STORE_COMMIT_BUCKETS; i++) {
        cum += st.commit_us_hist[i];
        snprintf(le, sizeof(le), "le=\"%g\"", (double)(BO_STORE_COMMIT_US_FIRST << i) / 1e6);
        bo_metrics_sample(o, "boxoffice_store_commit_seconds_bucket", le, (double)cum);
    }
    bo_metrics_sample(o, "boxoffice_store_commit_seconds_bucket", "le=\"+Inf\"",
                      (double)(st.commits + st.commit_failures));
    bo_metrics_sample(o, "boxoffice_store_commit_seconds_sum", NULL,
                      (double)st.commit_us_total / 1e6);
    bo_metrics_sample(o, "boxoffice_store_commit_seconds_count", NULL,
                      (double)(st.commits + st.commit_failures));
    bo_metrics_family(o, "boxoffice_store_commit_batch_size", "histogram",
                      "Records per store commit.");
    cum = 0;
    for (unsigned i = 0; i < 16; i++) {
        cum += st.batch_hist[i];
        snprintf(le, sizeof(le), "le=\"%llu\"", (1ull << (i + 1)) - 1);
        bo_metrics_sample(o, "boxoffice_store_commit_batch_size_bucket", le, (double)cum);
    }
    bo_metrics_sample(o, "boxoffice_store_commit_batch_size_bucket", "le=\"+Inf\"",
                      (double)batches);
    bo_metrics_sample(o, "boxoffice_store_commit_batch_size_sum", NULL, (double)st.records);
    bo_metrics_sample(o, "boxoffice_store_commit_batch_size_count", NULL, (double)batches);
}

/* Live holds and sales over every event, at scrape time. */
struct live_totals {
    uint64_t events, holds, seats_sold, ga_sold;
};

static int add_event(void *arg, uint64_t event, uint64_t venue, const char *meta_json,
                     const bo_inv_t *inv, int64_t now_ms)
{
    struct live_totals *t = arg;
    const bo_layout_t *l = bo_inv_layout(inv);
    bo_inv_counts_t c;
    bo_inv_counts(inv, now_ms, &c);
    t->events++;
    t->holds += c.live_holds;
    t->seats_sold += c.sold;
    for (uint32_t a = 0; a < l->nga; a++)
        t->ga_sold += bo_inv_ga_sold(inv, a);
    return 0;
}

static void collect_live(void *arg, bo_metrics_out_t *o)
{
    bo_api_t *api = arg;
    struct live_totals t = {0};
    bo_live_each_event(api->live, add_event, &t);
    bo_metrics_family(o, "boxoffice_events", "gauge", "Events loaded.");
    bo_metrics_sample(o, "boxoffice_events", NULL, (double)t.events);
    bo_metrics_family(o, "boxoffice_active_holds", "gauge",
                      "Live holds (held or being paid for), over every event.");
    bo_metrics_sample(o, "boxoffice_active_holds", NULL, (double)t.holds);
    bo_metrics_family(o, "boxoffice_seats_sold", "gauge", "Seats sold, over every event.");
    bo_metrics_sample(o, "boxoffice_seats_sold", NULL, (double)t.seats_sold);
    bo_metrics_family(o, "boxoffice_ga_places_sold", "gauge",
                      "General-admission places sold, over every event.");
    bo_metrics_sample(o, "boxoffice_ga_places_sold", NULL, (double)t.ga_sold);
}

static void api_free(void *arg)
{
    bo_api_t *api = arg;
    pthread_mutex_destroy(&api->ready_mu);
    if (api->changing)
        bo_u64map_free(api->changing);
    free(api->changing);
    free(api->admin_token);
    free(api->payment);
    free(api->webhook_secret);
    bo_pay_free(api->pay); /* when the orders never took it */
    free(api);
}

static int copy_config(bo_api_t *api, const bo_api_config_t *cfg)
{
    api->demo = cfg->demo;
    api->max_body_bytes = cfg->max_body_bytes;
    api->reconcile_ms = cfg->reconcile_ms ? cfg->reconcile_ms : 500;
    api->reconcile_budget_per_s =
        cfg->reconcile_budget_per_s ? cfg->reconcile_budget_per_s : BO_RECONCILE_BUDGET_PER_S;
    if (cfg->limits)
        api->limits = *cfg->limits;
    if (cfg->trusted_proxies)
        api->trusted_proxies = *cfg->trusted_proxies;
    else
        bo_http_trusted_default(&api->trusted_proxies);
    api->admin_token = strdup(cfg->admin_token);
    api->payment = cfg->payment ? strdup(cfg->payment) : NULL;
    api->pay = cfg->pay;
    api->webhook_secret = cfg->webhook_secret ? strdup(cfg->webhook_secret) : NULL;
    if (!api->admin_token || (cfg->payment && !api->payment) ||
        (cfg->webhook_secret && !api->webhook_secret))
        return BO_ENOMEM;
    return 0;
}

int bo_api_register(bo_server_t *srv, bo_live_t *live, const bo_api_config_t *cfg)
{
    int rc;
    if (!cfg->admin_token || !*cfg->admin_token) {
        bo_pay_free(cfg->pay);
        return BO_EINVAL;
    }
    bo_api_t *api = calloc(1, sizeof(*api));
    if (!api) {
        bo_pay_free(cfg->pay);
        return BO_ENOMEM;
    }
    pthread_mutex_init(&api->ready_mu, NULL);
    pthread_mutex_init(&api->changing_mu, NULL);
    api->srv = srv;
    api->live = live;
    if ((rc = copy_config(api, cfg)) || (rc = bo_server_at_free(srv, api_free, api))) {
        api_free(api);
        return rc;
    }
    /* from here api is freed with srv */
    if ((rc = bo_server_route(srv, "GET", "/healthz", on_healthz, api)) ||
        (rc = bo_server_route(srv, "GET", "/readyz", on_readyz, api)) ||
        (rc = bo_server_route(srv, "GET", "/metrics", on_metrics, api)))
        return rc;
    /* the catalog first: the others read it; the demo before any answer;
     * webhooks and check-in before the orders, whose loading fills their
     * state (a store refused there frees it with them) */
    if ((rc = bo__api_events_list_register(api)) ||
        (rc = api->demo ? bo_catalog_demo(api->catalog) : 0) ||
        (rc = bo__api_venues_register(api)) || (rc = bo__api_venue_read_register(api)) ||
        (rc = bo__api_events_register(api)) || (rc = bo__api_block_register(api)) ||
        (rc = bo__api_report_register(api)) || (rc = bo__api_seatmap_register(api)) ||
        (rc = bo__api_availability_register(api)) || (rc = bo__limit_register(api)) ||
        (rc = bo__api_holds_register(api)) || (rc = bo__webhook_register(api)) ||
        (rc = bo__checkin_register(api)) || (rc = bo__api_queue_register(api)) ||
        (rc = bo__orders_register(api)) || (rc = bo_queues_ready(api->queues)))
        return rc;
    /* the checkout page confirms cards with the simulator itself */
    if (api->payment && !strncmp(api->payment, "sim:", 4) &&
        bo_server_csp_connect(srv, api->payment + 4) == BO_ENOMEM)
        return BO_ENOMEM;
    /* a commit's answers reach each loop at once */
    bo_store_set_batch_hooks(bo_live_store(live), bo_http_posts_defer, bo_http_posts_flush);
    if ((rc = bo_metrics_add_collector(bo_server_metrics(srv), collect_store, api)))
        return rc;
    return bo_metrics_add_collector(bo_server_metrics(srv), collect_live, api);
}

/* ---- the admin token file ---- */

/* A fresh token (32 random bytes in hex) into a new file at path. */
static int create_token(const char *path, char **token)
{
    unsigned char raw[32];
    char hex[2 * sizeof(raw) + 1];
    if (sodium_init() < 0)
        return BO_EIO;
    randombytes_buf(raw, sizeof(raw));
    sodium_bin2hex(hex, sizeof(hex), raw, sizeof(raw));
    int rc = bo_secret_create(path, hex);
    if (rc == 0 && !(*token = strdup(hex)))
        rc = BO_ENOMEM;
    sodium_memzero(raw, sizeof(raw));
    sodium_memzero(hex, sizeof(hex));
    return rc;
}

int bo_api_admin_token(const char *path, char **token, int *created)
{
    const char *op = "create";
    int rc = create_token(path, token);
    *created = rc == 0;
    if (rc == BO_EEXIST) {
        op = "read";
        rc = bo_secret_read(path, BO_API_ADMIN_TOKEN_MIN_CHARS, "boxoffice", token);
    }
    if (rc == BO_EINVAL)
        fprintf(stderr, "boxoffice: %s must hold one token of at least %d printable characters\n",
                path, BO_API_ADMIN_TOKEN_MIN_CHARS);
    else if (rc)
        fprintf(stderr, "boxoffice: cannot %s the admin token file %s: %s\n", op, path,
                strerror(errno));
    return rc;
}

int bo_api_admin_token_text(const char *text, const char *what, char **token)
{
    size_t n = strlen(text);
    bool printable = true;
    for (size_t i = 0; i < n; i++)
        printable = printable && text[i] > ' ' && text[i] <= '~';
    if (n < BO_API_ADMIN_TOKEN_MIN_CHARS || !printable) {
        fprintf(stderr,
                "boxoffice: %s must hold one token of at least %d printable characters (no "
                "blanks); it has %zu characters%s\n",
                what, BO_API_ADMIN_TOKEN_MIN_CHARS, n, printable ? "" : ", not all printable");
        return BO_EINVAL;
    }
    return (*token = strdup(text)) ? 0 : BO_ENOMEM;
}
