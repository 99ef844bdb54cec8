/*
 * main.c - the boxoffice command line: argument parsing and wiring only.
 *
 *   boxoffice serve [options]         the HTTP API (boxoffice serve --help)
 *   boxoffice venue-gen [options]     print a generated seat map (JSON)
 *   boxoffice venue-check FILE        validate a seat map, list every problem
 *   boxoffice migrate --from --to     copy a SQLite store into PostgreSQL
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <sodium.h>

#include "boxoffice/api.h"
#include "boxoffice/clock.h"
#include "boxoffice/error.h"
#include "boxoffice/http.h"
#include "boxoffice/layout.h"
#include "boxoffice/live.h"
#include "boxoffice/pay.h"
#include "boxoffice/store.h"
#include "util/secret_file.h"

static void usage(FILE *f)
{
    fputs("usage: boxoffice COMMAND [OPTIONS]\n"
          "\n"
          "commands:\n"
          "  serve         serve the HTTP API (boxoffice serve --help lists its options)\n"
          "  venue-gen     print a generated seat map as JSON\n"
          "      --name NAME          venue name (Generated Arena)\n"
          "      --sections N         sections around the stage (8)\n"
          "      --rows N             rows per section (20)\n"
          "      --seats N            seats per row (25)\n"
          "      --ga N               general-admission areas (1)\n"
          "      --ga-capacity N      capacity of each GA area (1000)\n"
          "      --categories N       price categories, 1-8 (4)\n"
          "      --aisle-every N      a gap every N seats in a row (0: none)\n"
          "  venue-check FILE   validate a seat map; print every problem with its path\n"
          "  migrate       copy a stopped SQLite store into an empty PostgreSQL store, then\n"
          "                verify it (boxoffice migrate --help)\n"
          "  help          this text\n",
          f);
}

static int parse_u32(const char *s, uint32_t *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || *s == '\0' || *end != '\0' || *s == '-' || v > UINT32_MAX)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

static int cmd_venue_gen(int argc, char **argv)
{
    static const struct option opts[] = {{"name", required_argument, 0, 'n'},
                                         {"sections", required_argument, 0, 's'},
                                         {"rows", required_argument, 0, 'r'},
                                         {"seats", required_argument, 0, 'e'},
                                         {"ga", required_argument, 0, 'g'},
                                         {"ga-capacity", required_argument, 0, 'c'},
                                         {"categories", required_argument, 0, 'k'},
                                         {"aisle-every", required_argument, 0, 'a'},
                                         {0, 0, 0, 0}};
    bo_venue_gen_t g = {.sections = 8,
                        .rows = 20,
                        .seats = 25,
                        .ga_areas = 1,
                        .ga_capacity = 1000,
                        .categories = 4};
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        uint32_t *dst = c == 's'   ? &g.sections
                        : c == 'r' ? &g.rows
                        : c == 'e' ? &g.seats
                        : c == 'g' ? &g.ga_areas
                        : c == 'c' ? &g.ga_capacity
                        : c == 'k' ? &g.categories
                        : c == 'a' ? &g.aisle_every
                                   : NULL;
        if (c == 'n') {
            g.name = optarg;
        } else if (!dst || parse_u32(optarg, dst)) {
            fprintf(stderr, "boxoffice venue-gen: bad option or value\n");
            return 2;
        }
    }
    size_t len;
    char *json = bo_venue_generate(&g, &len);
    if (!json) {
        fprintf(stderr, "boxoffice venue-gen: those numbers exceed the seat-map limits\n");
        return 2;
    }
    fwrite(json, 1, len, stdout);
    putchar('\n');
    free(json);
    return 0;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    for (size_t got; buf && (got = fread(buf + n, 1, cap - n, f)) > 0;) {
        n += got;
        if (n == cap && n <= BO_LAYOUT_MAX_BYTES) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
            }
            buf = nb;
            cap *= 2;
        }
    }
    if (f != stdin)
        fclose(f);
    *len = n;
    return buf;
}

static int cmd_venue_check(int argc, char **argv)
{
    if (argc != 2) {
        usage(stderr);
        return 2;
    }
    size_t len;
    char *json = read_file(argv[1], &len);
    if (!json) {
        fprintf(stderr, "boxoffice venue-check: cannot read %s: %s\n", argv[1], strerror(errno));
        return 2;
    }
    bo_problems_t probs = {0};
    bo_layout_t *l = NULL;
    int rc = bo_layout_parse(json, len, &l, &probs);
    free(json);
    if (rc == 0) {
        printf("ok: %u seats in %u sections, %u rows; %u GA areas; %u categories\n", l->nseats,
               l->nsections, l->nrows, l->nga, l->ncategories);
    } else {
        for (size_t i = 0; i < probs.n; i++)
            printf("%s\n", probs.items[i]);
        if (probs.total > probs.n)
            printf("... and %zu more problems\n", probs.total - probs.n);
        printf("invalid: %s\n", bo_strerror(rc));
    }
    bo_layout_free(l);
    bo_problems_free(&probs);
    return rc == 0 ? 0 : 1;
}

/* ---- serve ---- */

/* Every option of `serve`: its flag, environment variable, default. */
enum {
    O_LISTEN,
    O_DB,
    O_THREADS,
    O_DEMO,
    O_ADMIN_TOKEN_FILE,
    O_PAYMENT,
    O_PAYMENT_KEY,
    O_PAYMENT_WEBHOOK,
    O_WEB_ROOT,
    O_TLS_CERT,
    O_TLS_KEY,
    O_ACCESS_LOG,
    O_MAX_BODY,
    O_PAYMENT_TIMEOUT,
    O_RECONCILE,
    O_RECONCILE_BUDGET,
    O_CARD_ATTEMPTS,
    O_TRUSTED_PROXY,
    O_MAX_CONNECTIONS,
    O_LIMITS,
    O_COUNT
};

static const struct serve_option {
    const char *flag, *env, *arg, *def, *help;
} serve_options[O_COUNT] = {
    [O_LISTEN] = {"listen", "BOXOFFICE_LISTEN", "HOST:PORT", "127.0.0.1:8080",
                  "address to listen on ([IPv6]:PORT too; port 0 picks a free one)"},
    [O_DB] = {"db", "BOXOFFICE_DB", "URL", "sqlite:./boxoffice.db",
              "the store: sqlite:PATH, or postgresql://USER@HOST:PORT/DB (an existing database; "
              "the schema is created)"},
    [O_THREADS] = {"threads", "BOXOFFICE_THREADS", "N", NULL,
                   "event-loop threads (default: one per core)"},
    [O_DEMO] = {"demo", "BOXOFFICE_DEMO", NULL, NULL,
                "seed a demo venue and events into an empty store (env: 1 or 0)"},
    [O_ADMIN_TOKEN_FILE] = {"admin-token-file", "BOXOFFICE_ADMIN_TOKEN_FILE", "FILE",
                            "./boxoffice.admin-token",
                            "admin bearer token; created (mode 0600) with a fresh one if missing"},
    [O_PAYMENT] = {"payment", "BOXOFFICE_PAYMENT", "sim:URL|stripe:URL", NULL,
                   "the payment gateway"},
    [O_PAYMENT_KEY] = {"payment-secret-key-file", "BOXOFFICE_PAYMENT_SECRET_KEY_FILE", "FILE", NULL,
                       "the gateway's secret API key"},
    [O_PAYMENT_WEBHOOK] = {"payment-webhook-secret-file", "BOXOFFICE_PAYMENT_WEBHOOK_SECRET_FILE",
                           "FILE", NULL, "the gateway's webhook signing secret"},
    [O_WEB_ROOT] = {"web-root", "BOXOFFICE_WEB_ROOT", "DIR", "./web",
                    "static files of the web UI (used when it exists; off: none)"},
    [O_TLS_CERT] = {"tls-cert", "BOXOFFICE_TLS_CERT", "FILE", NULL,
                    "PEM certificate chain: serve HTTPS (h2, http/1.1) with --tls-key"},
    [O_TLS_KEY] = {"tls-key", "BOXOFFICE_TLS_KEY", "FILE", NULL, "PEM private key"},
    [O_ACCESS_LOG] = {"access-log", "BOXOFFICE_ACCESS_LOG", "FILE", "-",
                      "JSON-lines access log (-: stderr, off: none)"},
    [O_MAX_BODY] = {"max-body", "BOXOFFICE_MAX_BODY", "BYTES", "1048576",
                    "largest request body; bigger ones get 413"},
    [O_PAYMENT_TIMEOUT] = {"payment-timeout-ms", "BOXOFFICE_PAYMENT_TIMEOUT_MS", "MS", "5000",
                           "one gateway request's time limit (then retried twice)"},
    [O_RECONCILE] = {"reconcile-ms", "BOXOFFICE_RECONCILE_MS", "MS", "500",
                     "how often unfinished orders are checked with the gateway"},
    [O_RECONCILE_BUDGET] = {"reconcile-budget-per-s", "BOXOFFICE_RECONCILE_BUDGET_PER_S", "N", "20",
                            "gateway requests a second the reconciler may send (1..10000)"},
    [O_CARD_ATTEMPTS] = {"card-attempts-per-minute", "BOXOFFICE_CARD_ATTEMPTS_PER_MINUTE", "N",
                         NULL,
                         "card payments one client address may try per minute (0: no limit; "
                         "the same as --limits card_attempts_per_min=N, and wins over it)"},
    [O_TRUSTED_PROXY] = {"trusted-proxy", "BOXOFFICE_TRUSTED_PROXY", "CIDR,...", "127.0.0.0/8,::1",
                         "proxies whose X-Forwarded-For names the client (none: no proxy)"},
    [O_MAX_CONNECTIONS] = {"max-connections", "BOXOFFICE_MAX_CONNECTIONS", "N", "16384",
                           "client connections open at once (1..1000000); the open-file "
                           "limit is raised to match"},
    [O_LIMITS] = {"limits", "BOXOFFICE_LIMITS", "NAME=N,...|off", NULL,
                  "rate limits and caps per client address over their defaults (below; "
                  "0: no limit; off: all 0)"},
};

/* The server's limits: the defaults, --limits over them, then
 * --card-attempts-per-minute. 0, or 2 with a message. */
static int parse_limits(const char **val, bo_limits_t *l)
{
    char err[256];
    uint32_t card;
    bo_limits_default(l);
    if (val[O_LIMITS] && bo_limits_parse(val[O_LIMITS], l, err, sizeof(err))) {
        fprintf(stderr, "boxoffice serve: --limits: %s\n", err);
        return 2;
    }
    if (!val[O_CARD_ATTEMPTS])
        return 0;
    if (parse_u32(val[O_CARD_ATTEMPTS], &card) || card > BO_LIMIT_MAX) {
        fprintf(stderr,
                "boxoffice serve: --card-attempts-per-minute takes a number from 0 (no "
                "limit) to %u\n",
                BO_LIMIT_MAX);
        return 2;
    }
    l->v[BO_LIMIT_CARD_ATTEMPTS_PER_MIN] = card;
    return 0;
}

/* The trusted proxies of spec: networks ("ADDR" or "ADDR/BITS", IPv4 or
 * IPv6) separated by commas or blanks, or "none". 0, or 2 with a message
 * naming the entry it refuses. */
static int parse_trusted(const char *spec, bo_http_trusted_t *t)
{
    char item[96];
    memset(t, 0, sizeof(*t));
    if (strcmp(spec, "none") == 0)
        return 0;
    for (const char *p = spec; *p;) {
        size_t n = strcspn(p, ", \t");
        if (n >= sizeof(item) || (n && (snprintf(item, sizeof(item), "%.*s", (int)n, p),
                                        bo_http_trusted_add(t, item) != 0))) {
            fprintf(stderr,
                    "boxoffice serve: --trusted-proxy: '%.*s' is not a network (ADDR or "
                    "ADDR/BITS), or more than %d are given\n",
                    (int)(n < 64 ? n : 64), p, BO_HTTP_MAX_TRUSTED);
            return 2;
        }
        p += n;
        p += strspn(p, ", \t");
    }
    if (t->n == 0) {
        fprintf(stderr, "boxoffice serve: --trusted-proxy: no network given (none: no proxy)\n");
        return 2;
    }
    return 0;
}

static void serve_usage(FILE *f)
{
    fputs("usage: boxoffice serve [OPTIONS]\n\nServe the HTTP API. Each option can also be "
          "set by its environment\nvariable; a flag wins over the variable.\n\noptions:\n",
          f);
    for (int i = 0; i < O_COUNT; i++) {
        const struct serve_option *o = &serve_options[i];
        char left[64];
        snprintf(left, sizeof(left), "--%s%s%s", o->flag, o->arg ? " " : "", o->arg ? o->arg : "");
        fprintf(f, "  %-36s %s\n  %-36s [%s%s%s]\n", left, o->help, "", o->env,
                o->def ? "; default " : "", o->def ? o->def : "");
    }
    bo_limits_t l;
    bo_limits_default(&l);
    fputs("  --help                               this text\n\n--limits names and defaults:", f);
    for (int i = 0; i < BO_LIMITS; i++)
        fprintf(f, "%s %s=%u", i ? "," : "", bo_limit_name((enum bo_limit)i), l.v[i]);
    fputs("\n  (per minute and client address: holds of an event, checkouts, card attempts, "
          "queue joins\n  of an event; at once per client address and event: seats and GA "
          "tickets held or\n  paying, live holds)\n",
          f);
    fputs("\nBOXOFFICE_ADMIN_TOKEN may hold the "
          "admin token itself (unless --admin-token-file is given).\nSIGTERM or SIGINT stops "
          "gracefully: no new connections, in-flight requests\nfinish (10 s at most), the last "
          "commit is made, exit status 0.\n",
          f);
}

static int parse_bool(const char *s, int *out)
{
    static const char *const yes[] = {"1", "true", "yes", "on"}, *const no[] = {"0", "false", "no",
                                                                                "off", ""};
    for (size_t i = 0; i < 5; i++) {
        if (i < 4 && !strcasecmp(s, yes[i])) {
            *out = 1;
            return 0;
        }
        if (!strcasecmp(s, no[i])) {
            *out = 0;
            return 0;
        }
    }
    return -1;
}

/* Values from the environment, then the flags (flagged[i] set for those
 * given as flags). Returns 0, 1 (--help) or 2. */
static int serve_parse(int argc, char **argv, const char **val, bool *flagged, int *demo)
{
    struct option longopts[O_COUNT + 2];
    for (int i = 0; i < O_COUNT; i++) {
        const struct serve_option *o = &serve_options[i];
        const char *env = getenv(o->env);
        val[i] = env ? env : o->def;
        flagged[i] = false;
        longopts[i] = (struct option){o->flag, o->arg ? required_argument : no_argument, 0, i};
    }
    longopts[O_COUNT] = (struct option){"help", no_argument, 0, 'h'};
    longopts[O_COUNT + 1] = (struct option){0, 0, 0, 0};
    if (getenv("BOXOFFICE_DEMO") && parse_bool(getenv("BOXOFFICE_DEMO"), demo)) {
        fprintf(stderr, "boxoffice serve: BOXOFFICE_DEMO must be 1 or 0\n");
        return 2;
    }
    int c;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        if (c == 'h')
            return 1;
        if (c < 0 || c >= O_COUNT) {
            serve_usage(stderr);
            return 2;
        }
        flagged[c] = true;
        if (c == O_DEMO)
            *demo = 1;
        else
            val[c] = optarg;
    }
    if (optind < argc) {
        fprintf(stderr, "boxoffice serve: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    return 0;
}

/* The server's configuration from the option values. Returns 0 or 2. */
static int serve_config(const char **val, bo_server_config_t *cfg)
{
    uint32_t threads = 0, max_body = BO_HTTP_DEFAULT_MAX_BODY, max_conns = 0;
    struct stat st;
    if (val[O_MAX_CONNECTIONS] && (parse_u32(val[O_MAX_CONNECTIONS], &max_conns) ||
                                   max_conns == 0 || max_conns > BO_HTTP_MAX_CONNECTIONS)) {
        fprintf(stderr, "boxoffice serve: --max-connections takes 1..%u\n",
                BO_HTTP_MAX_CONNECTIONS);
        return 2;
    }
    if ((val[O_THREADS] &&
         (parse_u32(val[O_THREADS], &threads) || threads == 0 || threads > BO_HTTP_MAX_THREADS)) ||
        (val[O_MAX_BODY] && (parse_u32(val[O_MAX_BODY], &max_body) || max_body == 0))) {
        fprintf(stderr, "boxoffice serve: --threads takes 1..%u, --max-body a positive number\n",
                BO_HTTP_MAX_THREADS);
        return 2;
    }
    const char *web = val[O_WEB_ROOT];
    bool web_default = web == serve_options[O_WEB_ROOT].def;
    if (web && (!strcmp(web, "off") || !*web ||
                (web_default && (stat(web, &st) != 0 || !S_ISDIR(st.st_mode)))))
        web = NULL;
    *cfg = (bo_server_config_t){.listen = val[O_LISTEN],
                                .threads = threads,
                                .tls_cert_file = val[O_TLS_CERT],
                                .tls_key_file = val[O_TLS_KEY],
                                .max_body_bytes = max_body,
                                .web_root = web,
                                .access_log = val[O_ACCESS_LOG],
                                .max_connections = max_conns};
    return 0;
}

/* The admin token: --admin-token-file, else BOXOFFICE_ADMIN_TOKEN, else the
 * variable's or default file. Returns 0 (*token malloc'd) or 2. */
static int serve_admin_token(const char **val, const bool *flagged, char **token)
{
    int created = 0;
    const char *env = getenv("BOXOFFICE_ADMIN_TOKEN");
    if (!flagged[O_ADMIN_TOKEN_FILE] && env && *env)
        return bo_api_admin_token_text(env, "BOXOFFICE_ADMIN_TOKEN", token) ? 2 : 0;
    if (bo_api_admin_token(val[O_ADMIN_TOKEN_FILE], token, &created))
        return 2;
    if (created)
        fprintf(stderr, "admin token (saved in %s): %s\n", val[O_ADMIN_TOKEN_FILE], *token);
    return 0;
}

/* url as it may be printed: a PostgreSQL URL's credentials (user:password@)
 * become "***@" (a password is no log's business). */
static const char *store_shown(const char *url, char *buf, size_t cap)
{
    const char *scheme = strstr(url, "://"), *at, *slash;
    if (strncmp(url, "postgres", 8) != 0 || !scheme)
        return url;
    at = strchr(scheme + 3, '@');
    slash = strchr(scheme + 3, '/');
    if (!at || (slash && slash < at))
        return url;
    snprintf(buf, cap, "%.*s***%s", (int)(scheme + 3 - url), url, at);
    return buf;
}

/* The store at url, checked, opened and loaded: 0, or 2 after saying why
 * (a file or database that is not a store this build may write, a server
 * it cannot reach, or a store that does not load). */
static int serve_store(const char *url, bo_live_t **live)
{
    char why[256], shown[512];
    int err;
    bool pg = !strncmp(url, "postgresql://", 13) || !strncmp(url, "postgres://", 11);
    const char *name = store_shown(url, shown, sizeof(shown));
    if ((err = bo_store_check(url, why, sizeof(why))) == BO_EINVAL) {
        fprintf(stderr, "boxoffice serve: cannot open the store %s: %s\n", name,
                "--db takes sqlite:PATH or postgresql://...");
        return 2;
    }
    if (err) {
        fprintf(stderr, "boxoffice serve: cannot open the store %s: %s\n", name, why);
        return 2;
    }
    if ((err = bo_live_open(url, NULL, live))) {
        fprintf(stderr, "boxoffice serve: cannot load the store %s: %s%s\n", name, bo_strerror(err),
                err != BO_ECORRUPT && err != BO_EIO ? ""
                : pg                                ? " (is the database damaged or gone?)"
                                                    : " (is the file damaged?)");
        return 2;
    }
    return 0;
}

/* A secret kept in a file: malloc'd, or NULL (with a message). */
static char *read_secret(const char *path)
{
    char *s = NULL;
    int rc = path ? bo_secret_read(path, 1, "boxoffice", &s) : BO_EINVAL;
    if (rc && path)
        fprintf(stderr, "boxoffice: cannot read the secret in %s: %s\n", path,
                rc == BO_EIO ? strerror(errno) : bo_strerror(rc));
    return rc ? NULL : s;
}

/* --payment: the gateway, opened with the secret key of its file, and the
 * webhook signing secret of its own (*hook NULL: webhooks are refused).
 * Without --payment: 0 and *pay NULL. Else 0 or BO_EINVAL (said why). */
static int serve_gateway(const char **val, uint32_t timeout_ms, bo_pay_t **pay, char **hook)
{
    *pay = NULL;
    *hook = NULL;
    if (!val[O_PAYMENT])
        return 0;
    char *key = read_secret(val[O_PAYMENT_KEY]);
    if (!key) {
        fprintf(stderr, "boxoffice: --payment needs --payment-secret-key-file with the key\n");
        return BO_EINVAL;
    }
    bo_pay_config_t cfg = {.url = val[O_PAYMENT], .secret_key = key, .timeout_ms = timeout_ms};
    int rc = bo_pay_new(&cfg, pay);
    sodium_memzero(key, strlen(key));
    free(key);
    if (rc) {
        fprintf(stderr, "boxoffice: bad --payment %s (sim:URL or stripe:URL)\n", val[O_PAYMENT]);
        return rc;
    }
    if (!(*hook = read_secret(val[O_PAYMENT_WEBHOOK])))
        fprintf(stderr, "boxoffice: no --payment-webhook-secret-file: webhooks are refused\n");
    return 0;
}

static int cmd_serve(int argc, char **argv)
{
    const char *val[O_COUNT];
    bool flagged[O_COUNT];
    int demo = 0, rc = serve_parse(argc, argv, val, flagged, &demo);
    bo_server_config_t scfg;
    bo_live_t *live = NULL;
    bo_server_t *srv = NULL;
    char *token = NULL, *hook = NULL;
    if (rc == 1) {
        serve_usage(stdout);
        return 0;
    }
    if (rc || (rc = serve_config(val, &scfg)))
        goto out;
    /* The server first: a bad address, a taken port or TLS file fails before
     * any file is created; connections wait in the backlog until it runs. */
    rc = 1;
    int err = bo_server_new(&scfg, &srv);
    if (err) {
        if (err != BO_EINVAL && err != BO_EIO) /* those print their reason */
            fprintf(stderr, "boxoffice serve: cannot start: %s\n", bo_strerror(err));
        goto out;
    }
    if ((rc = serve_admin_token(val, flagged, &token)) || (rc = serve_store(val[O_DB], &live)))
        goto out;
    rc = 1;
    uint32_t pay_timeout_ms = 5000, reconcile_ms = 500;
    uint32_t reconcile_budget = BO_RECONCILE_BUDGET_PER_S;
    if (parse_u32(val[O_PAYMENT_TIMEOUT], &pay_timeout_ms) || pay_timeout_ms < 10 ||
        parse_u32(val[O_RECONCILE], &reconcile_ms) || reconcile_ms < 10) {
        fprintf(stderr, "boxoffice serve: --payment-timeout-ms and --reconcile-ms take >= 10\n");
        rc = 2;
        goto out;
    }
    if (parse_u32(val[O_RECONCILE_BUDGET], &reconcile_budget) || reconcile_budget < 1 ||
        reconcile_budget > 10000) {
        fprintf(stderr, "boxoffice serve: --reconcile-budget-per-s takes 1 to 10000\n");
        rc = 2;
        goto out;
    }
    bo_limits_t limits;
    bo_http_trusted_t trusted;
    if ((rc = parse_limits(val, &limits)) || (rc = parse_trusted(val[O_TRUSTED_PROXY], &trusted)))
        goto out;
    rc = 1;
    bo_pay_t *pay = NULL;
    if ((err = serve_gateway(val, pay_timeout_ms, &pay, &hook))) {
        fprintf(stderr, "boxoffice serve: cannot start the API: %s\n", bo_strerror(err));
        goto out;
    }
    bo_api_config_t acfg = {.admin_token = token,
                            .reconcile_ms = reconcile_ms,
                            .reconcile_budget_per_s = reconcile_budget,
                            .limits = &limits,
                            .trusted_proxies = &trusted,
                            .demo = demo,
                            .payment = val[O_PAYMENT],
                            .pay = pay,
                            .webhook_secret = hook,
                            .max_body_bytes = scfg.max_body_bytes};
    if ((err = bo_api_register(srv, live, &acfg))) {
        /* stored data it refuses (a missing ticket key) said why: exit 2 */
        fprintf(stderr, "boxoffice serve: cannot start the API: %s\n", bo_strerror(err));
        rc = err == BO_ECORRUPT ? 2 : 1;
        goto out;
    }
    bo_server_stop_on_signals(srv);
    fprintf(stderr, "listening on %s\n", bo_server_url(srv));
    if ((err = bo_server_run(srv)) == 0)
        rc = 0;
    bo_server_stop_on_signals(NULL);
out:
    bo_live_close(live); /* the last commits; their answers find no client */
    bo_server_free(srv); /* after: the API's state goes with it */
    free(token);
    if (hook)
        sodium_memzero(hook, strlen(hook));
    free(hook);
    return rc;
}

static void migrate_usage(FILE *f)
{
    fputs("usage: boxoffice migrate --from sqlite:PATH --to postgresql://...\n"
          "\n"
          "Copy a box office's SQLite store (venues, events with their logs and snapshots,\n"
          "orders and every other document, idempotent answers, signing keys, staff tokens,\n"
          "the outbox) into a PostgreSQL database holding no boxoffice data yet, in one\n"
          "transaction; then verify: counts of every kind on both sides, and every event\n"
          "recovered from each store in the same state (seats, GA counters, live holds,\n"
          "version). Stop the server first, migrate, then start it with --db postgresql://...\n"
          "(a server still running on the file would write what the copy misses).\n"
          "\n"
          "  --from sqlite:PATH       the source store (left unchanged)\n"
          "  --to postgresql://...    the destination (libpq URL; the database must exist)\n"
          "\n"
          "exit status: 0 copied and verified; 1 the copy or the check failed (what differs\n"
          "is said; a failed copy writes nothing); 2 refused (bad arguments, a source that is\n"
          "not a boxoffice store, a destination that holds data or cannot be reached).\n",
          f);
}

static void migrate_say(void *arg, const char *line)
{
    printf("  %s\n", line);
}

/* Recover both stores through the live layer, as the server would, and
 * compare every event at one instant: 0, or 1 after saying what differs. */
static int migrate_verify(const char *from, const char *to, const char *shown)
{
    bo_manual_clock_t clock;
    bo_live_t *a = NULL, *b = NULL;
    uint32_t events = 0;
    char why[256];
    int err;
    bo_manual_clock_init(&clock, bo_clock_system()->now_ms(bo_clock_system()));
    if ((err = bo_live_open(from, &clock.base, &a)) || (err = bo_live_open(to, &clock.base, &b)))
        snprintf(why, sizeof(why), "recovery failed: %s", bo_strerror(err));
    else if (!(err = bo_live_compare(a, b, clock.now, &events, why, sizeof(why))))
        printf("verified: %u events read back the same from %s\n", events, shown);
    bo_live_close(b);
    bo_live_close(a);
    if (err)
        fprintf(stderr, "boxoffice migrate: the stores differ: %s\n", why);
    return err ? 1 : 0;
}

static int cmd_migrate(int argc, char **argv)
{
    static const struct option opts[] = {{"from", required_argument, 0, 'f'},
                                         {"to", required_argument, 0, 't'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *from = NULL, *to = NULL;
    char why[512], shown[512];
    int c, err;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'h') {
            migrate_usage(stdout);
            return 0;
        }
        if (c == '?')
            return migrate_usage(stderr), 2;
        *(c == 'f' ? &from : &to) = optarg;
    }
    if (!from || !to || optind != argc) {
        fprintf(stderr, "boxoffice migrate: --from and --to are both needed, nothing else\n");
        return 2;
    }
    store_shown(to, shown, sizeof(shown));
    printf("migrating %s to %s\n", from, shown);
    fflush(stdout);
    if ((err = bo_store_migrate(from, to, migrate_say, NULL, why, sizeof(why)))) {
        fprintf(stderr, "boxoffice migrate: %s\n", why);
        return err == BO_EINVAL || err == BO_EEXIST || err == BO_ECORRUPT ? 2 : 1;
    }
    return migrate_verify(from, to, shown);
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "serve") == 0)
        return cmd_serve(argc - 1, argv + 1);
    if (strcmp(argv[1], "venue-gen") == 0)
        return cmd_venue_gen(argc - 1, argv + 1);
    if (strcmp(argv[1], "venue-check") == 0)
        return cmd_venue_check(argc - 1, argv + 1);
    if (strcmp(argv[1], "migrate") == 0)
        return cmd_migrate(argc - 1, argv + 1);
    fprintf(stderr, "boxoffice: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
