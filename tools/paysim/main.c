/*
 * main.c - boxoffice-paysim's command line: options (each also read from a
 * BOXOFFICE_PAYSIM_... environment variable; a flag wins), the secret
 * files, wiring of the HTTP server, the delay and webhook threads, and a
 * graceful stop on SIGTERM or SIGINT.
 *
 *   boxoffice-paysim [--listen 127.0.0.1:8081] [--secret-key-file F]
 *                    [--webhook-url URL] [--webhook-secret-file F]
 *                    [--latency-ms N] [--fail-rate P] [--fail-after-rate P]
 *                    [--timeout-rate P] [--duplicate-webhooks]
 *                    [--reorder-webhooks] ...      (--help lists them all)
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <sodium.h>

#include "boxoffice/error.h"
#include "paysim.h"

enum {
    O_LISTEN,
    O_SECRET_KEY_FILE,
    O_WEBHOOK_URL,
    O_WEBHOOK_SECRET_FILE,
    O_LATENCY_MS,
    O_FAIL_RATE,
    O_FAIL_AFTER_RATE,
    O_TIMEOUT_RATE,
    O_TIMEOUT_MS,
    O_DUPLICATE_WEBHOOKS,
    O_REORDER_WEBHOOKS,
    O_REORDER_MS,
    O_WEBHOOK_RETRY_MS,
    O_WEBHOOK_ATTEMPTS,
    O_MAX_INTENTS,
    O_THREADS,
    O_ACCESS_LOG,
    O_COUNT
};

/* flag, environment variable, argument (NULL: a switch), default, help;
 * setting: the runtime setting it starts (sim.c), or NULL. */
static const struct option_spec {
    const char *flag, *env, *arg, *def, *help;
    bool setting;
} specs[O_COUNT] = {
    [O_LISTEN] = {"listen", "BOXOFFICE_PAYSIM_LISTEN", "HOST:PORT", "127.0.0.1:8081",
                  "address to listen on (port 0 picks a free one)", false},
    [O_SECRET_KEY_FILE] = {"secret-key-file", "BOXOFFICE_PAYSIM_SECRET_KEY_FILE", "FILE",
                           "./paysim.secret-key",
                           "the API secret key; created (0600) with sk_test_... if missing", false},
    [O_WEBHOOK_URL] = {"webhook-url", "BOXOFFICE_PAYSIM_WEBHOOK_URL", "URL", NULL,
                       "where events are POSTed (none: no webhooks)", true},
    [O_WEBHOOK_SECRET_FILE] = {"webhook-secret-file", "BOXOFFICE_PAYSIM_WEBHOOK_SECRET_FILE",
                               "FILE", "./paysim.webhook-secret",
                               "the webhook signing secret; created with whsec_... if missing",
                               false},
    [O_LATENCY_MS] = {"latency-ms", "BOXOFFICE_PAYSIM_LATENCY_MS", "N", "0",
                      "delay every API answer by N ms", true},
    [O_FAIL_RATE] = {"fail-rate", "BOXOFFICE_PAYSIM_FAIL_RATE", "P", "0",
                     "share of POSTs answered 500 without being applied", true},
    [O_FAIL_AFTER_RATE] = {"fail-after-rate", "BOXOFFICE_PAYSIM_FAIL_AFTER_RATE", "P", "0",
                           "share of POSTs applied, then answered 500", true},
    [O_TIMEOUT_RATE] = {"timeout-rate", "BOXOFFICE_PAYSIM_TIMEOUT_RATE", "P", "0",
                        "share of calls whose answer hangs --timeout-ms", true},
    [O_TIMEOUT_MS] = {"timeout-ms", "BOXOFFICE_PAYSIM_TIMEOUT_MS", "N", "30000",
                      "how long a simulated timeout hangs", true},
    [O_DUPLICATE_WEBHOOKS] = {"duplicate-webhooks", "BOXOFFICE_PAYSIM_DUPLICATE_WEBHOOKS", NULL,
                              NULL, "deliver every event twice (env: 1 or 0)", true},
    [O_REORDER_WEBHOOKS] = {"reorder-webhooks", "BOXOFFICE_PAYSIM_REORDER_WEBHOOKS", NULL, NULL,
                            "hold events --reorder-ms, then deliver them latest first", true},
    [O_REORDER_MS] = {"reorder-ms", "BOXOFFICE_PAYSIM_REORDER_MS", "N", "500",
                      "how long reordered events are held", true},
    [O_WEBHOOK_RETRY_MS] = {"webhook-retry-ms", "BOXOFFICE_PAYSIM_WEBHOOK_RETRY_MS", "N", "200",
                            "first retry delay of a failed delivery (doubles, up to 5 s)", true},
    [O_WEBHOOK_ATTEMPTS] = {"webhook-attempts", "BOXOFFICE_PAYSIM_WEBHOOK_ATTEMPTS", "N", "10",
                            "delivery attempts per event before giving up", true},
    [O_MAX_INTENTS] = {"max-intents", "BOXOFFICE_PAYSIM_MAX_INTENTS", "N", "1000000",
                       "payment intents kept in memory; then 503", false},
    [O_THREADS] = {"threads", "BOXOFFICE_PAYSIM_THREADS", "N", "2", "event-loop threads", false},
    [O_ACCESS_LOG] = {"access-log", "BOXOFFICE_PAYSIM_ACCESS_LOG", "FILE", "-",
                      "JSON-lines access log (-: stderr, off: none)", false},
};

static void usage(FILE *f)
{
    fputs("usage: boxoffice-paysim [OPTIONS]\n\nA payment gateway simulator speaking a subset "
          "of Stripe's API (PaymentIntents,\nrefunds, signed webhooks) with test cards and "
          "injectable faults. Each option\ncan also be set by its environment variable; a flag "
          "wins.\n\noptions:\n",
          f);
    for (int i = 0; i < O_COUNT; i++) {
        const struct option_spec *o = &specs[i];
        char left[64];
        snprintf(left, sizeof(left), "--%s%s%s", o->flag, o->arg ? " " : "", o->arg ? o->arg : "");
        fprintf(f, "  %-28s %s\n  %-28s [%s%s%s]\n", left, o->help, "", o->env,
                o->def ? "; default " : "", o->def ? o->def : "");
    }
    fputs("  --help                       this text\n\nRates P are shares from 0 to 1. "
          "Faults and webhook settings can be changed\nwhile running: POST /_sim/config "
          "(docs/paysim.md). SIGTERM or SIGINT stops\ngracefully.\n",
          f);
}

/* Values from the environment, then the flags. Returns 0, 1 (--help), 2. */
static int parse(int argc, char **argv, const char **val)
{
    struct option longopts[O_COUNT + 2];
    for (int i = 0; i < O_COUNT; i++) {
        const char *env = getenv(specs[i].env);
        val[i] = env && *env ? env : specs[i].def;
        longopts[i] =
            (struct option){specs[i].flag, specs[i].arg ? required_argument : no_argument, 0, i};
    }
    longopts[O_COUNT] = (struct option){"help", no_argument, 0, 'h'};
    longopts[O_COUNT + 1] = (struct option){0, 0, 0, 0};
    int c;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        if (c == 'h')
            return 1;
        if (c < 0 || c >= O_COUNT) {
            usage(stderr);
            return 2;
        }
        val[c] = specs[c].arg ? optarg : "true";
    }
    if (optind < argc) {
        fprintf(stderr, "boxoffice-paysim: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    return 0;
}

static int parse_count(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || !*s || *end || *s == '-' || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

/* The runtime settings the options start with. Returns 0 or 2. */
static int configure(paysim_t *ps, const char **val)
{
    char err[160];
    ps_settings_default(&ps->settings);
    for (int i = 0; i < O_COUNT; i++) {
        if (!specs[i].setting || !val[i])
            continue;
        if (ps_settings_set(&ps->settings, specs[i].flag, val[i], err, sizeof(err))) {
            fprintf(stderr, "boxoffice-paysim: --%s: %s\n", specs[i].flag, err);
            return 2;
        }
    }
    return 0;
}

static int load_secrets(paysim_t *ps, const char **val)
{
    int created;
    if (ps_secret_file(val[O_SECRET_KEY_FILE], "sk_test_", &ps->secret_key, &created))
        return 2;
    if (created)
        fprintf(stderr, "paysim: created the secret key file %s\n", val[O_SECRET_KEY_FILE]);
    if (ps_secret_file(val[O_WEBHOOK_SECRET_FILE], "whsec_", &ps->webhook_secret, &created))
        return 2;
    if (created)
        fprintf(stderr, "paysim: created the webhook secret file %s\n", val[O_WEBHOOK_SECRET_FILE]);
    return 0;
}

static int wire(paysim_t *ps, size_t max_intents)
{
    int rc;
    pthread_mutex_init(&ps->mu, NULL);
    pthread_mutex_init(&ps->settings_mu, NULL);
    if ((rc = ps_ledger_init(&ps->ledger, max_intents)) || (rc = ps_idem_new(&ps->idem)) ||
        (rc = ps_intents_register(ps)) || (rc = ps_refunds_register(ps)) ||
        (rc = ps_sim_register(ps)) || (rc = ps_route_unknown(ps)) || (rc = ps_delayer_start(ps)))
        return rc;
    return ps_webhooks_start(ps);
}

static void teardown(paysim_t *ps)
{
    ps_delayer_stop(ps); /* before the server: its answers need the loops' memory */
    ps_webhooks_stop(ps);
    bo_server_free(ps->srv);
    ps_ledger_free(&ps->ledger);
    ps_idem_free(ps->idem);
    if (ps->secret_key)
        sodium_memzero(ps->secret_key, strlen(ps->secret_key));
    if (ps->webhook_secret)
        sodium_memzero(ps->webhook_secret, strlen(ps->webhook_secret));
    free(ps->secret_key);
    free(ps->webhook_secret);
}

int main(int argc, char **argv)
{
    static paysim_t ps; /* static: zeroed */
    const char *val[O_COUNT];
    unsigned long threads, max_intents;
    int rc = parse(argc, argv, val);
    if (rc == 1) {
        usage(stdout);
        return 0;
    }
    if (rc || (rc = configure(&ps, val)))
        return rc;
    if (parse_count(val[O_THREADS], 1, BO_HTTP_MAX_THREADS, &threads) ||
        parse_count(val[O_MAX_INTENTS], 1, 100000000, &max_intents)) {
        fprintf(stderr, "boxoffice-paysim: --threads takes 1..%u, --max-intents 1..100000000\n",
                BO_HTTP_MAX_THREADS);
        return 2;
    }
    if (sodium_init() < 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "boxoffice-paysim: cannot initialise libsodium or libcurl\n");
        return 1;
    }
    bo_server_config_t cfg = {.listen = val[O_LISTEN],
                              .threads = (unsigned)threads,
                              .access_log = val[O_ACCESS_LOG],
                              .shutdown_timeout_ms = 5000};
    int err = bo_server_new(&cfg, &ps.srv);
    rc = 1;
    if (err) {
        if (err != BO_EINVAL && err != BO_EIO) /* those print their reason */
            fprintf(stderr, "boxoffice-paysim: cannot start: %s\n", bo_strerror(err));
        goto out;
    }
    if ((rc = load_secrets(&ps, val)))
        goto out;
    rc = 1;
    if ((err = wire(&ps, max_intents))) {
        fprintf(stderr, "boxoffice-paysim: cannot start: %s\n", bo_strerror(err));
        goto out;
    }
    bo_server_stop_on_signals(ps.srv);
    printf("paysim listening on %s\n", bo_server_url(ps.srv));
    fflush(stdout);
    if (bo_server_run(ps.srv) == 0)
        rc = 0;
    bo_server_stop_on_signals(NULL);
out:
    teardown(&ps);
    curl_global_cleanup();
    return rc;
}
