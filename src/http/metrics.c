/*
 * metrics.c - a small registry for the Prometheus text exposition format
 * (0.0.4): counters, gauges and histograms with labels, collectors that
 * add values computed at scrape time, and the server's own request
 * statistics (requests by route and status, latency by route).
 *
 * Workload: updates are on hot paths (every request, every hold), scrapes
 * are rare (every few seconds). So a series is looked up once (under the
 * registry's mutex) and then updated with relaxed atomics; the request
 * statistics are per loop thread (one writer each, no shared cache line)
 * and only summed when scraped.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boxoffice/error.h"
#include "http/http_internal.h"
#include "util/assert.h"
#include "util/strbuf.h"

#define MAX_BOUNDS     32u
#define MAX_COLLECTORS 32u

const double bo__lat_bounds_s[BO__LAT_BUCKETS] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                  0.1,    0.25,  0.5,    1,     2.5,  5,     10};

enum { COUNTER, GAUGE, HISTOGRAM };
static const char *const type_names[] = {"counter", "gauge", "histogram"};

struct bo_metric_series {
    bo_metric_series_t *next;
    bo_metric_t *family;
    char *labels;               /* "" for none */
    _Atomic uint64_t value;     /* counter; gauge (double bits); histogram count */
    _Atomic uint64_t sum_bits;  /* histogram: sum as double bits */
    _Atomic uint64_t buckets[]; /* histogram: per bucket, not cumulative */
};

struct bo_metric {
    bo_metric_t *next;
    bo_metrics_t *registry;
    char *name, *help;
    int type;
    double bounds[MAX_BOUNDS];
    unsigned nbounds;
    bo_metric_series_t *series;
};

struct bo_metrics {
    pthread_mutex_t mu;
    bo_metric_t *families, **tail;
    struct {
        bo_metrics_collect_fn fn;
        void *arg;
    } collectors[MAX_COLLECTORS];
    unsigned ncollectors;
};

/* The text being built. */
struct bo_metrics_out {
    bo_buf_t b;
};

static double bits_to_double(uint64_t bits)
{
    double d;
    memcpy(&d, &bits, sizeof(d));
    return d;
}

static uint64_t double_to_bits(double d)
{
    uint64_t bits;
    memcpy(&bits, &d, sizeof(bits));
    return bits;
}

int bo__metrics_new(bo_metrics_t **out)
{
    bo_metrics_t *m = calloc(1, sizeof(*m));
    if (!m)
        return BO_ENOMEM;
    pthread_mutex_init(&m->mu, NULL);
    m->tail = &m->families;
    *out = m;
    return 0;
}

void bo__metrics_free(bo_metrics_t *m)
{
    if (!m)
        return;
    for (bo_metric_t *f = m->families, *fn; f; f = fn) {
        fn = f->next;
        for (bo_metric_series_t *s = f->series, *sn; s; s = sn) {
            sn = s->next;
            free(s->labels);
            free(s);
        }
        free(f->name);
        free(f->help);
        free(f);
    }
    pthread_mutex_destroy(&m->mu);
    free(m);
}

static bool name_ok(const char *n)
{
    if (!*n || (*n >= '0' && *n <= '9'))
        return false;
    for (; *n; n++)
        if (!((*n >= 'a' && *n <= 'z') || (*n >= 'A' && *n <= 'Z') || (*n >= '0' && *n <= '9') ||
              *n == '_' || *n == ':'))
            return false;
    return true;
}

static bo_metric_t *family_new(bo_metrics_t *m, const char *name, const char *help, int type)
{
    bo_metric_t *f = NULL;
    if (!name_ok(name))
        return NULL;
    pthread_mutex_lock(&m->mu);
    for (bo_metric_t *g = m->families; g; g = g->next)
        if (!strcmp(g->name, name))
            goto out;
    if (!(f = calloc(1, sizeof(*f))) || !(f->name = strdup(name)) ||
        !(f->help = strdup(help ? help : ""))) {
        if (f) {
            free(f->name);
            free(f);
        }
        f = NULL;
        goto out;
    }
    f->registry = m;
    f->type = type;
    BO_ASSERT(bo_mutex_held(&m->mu) && *m->tail == NULL);
    *m->tail = f;
    m->tail = &f->next;
out:
    pthread_mutex_unlock(&m->mu);
    return f;
}

bo_metric_t *bo_metrics_counter(bo_metrics_t *m, const char *name, const char *help)
{
    return family_new(m, name, help, COUNTER);
}

bo_metric_t *bo_metrics_gauge(bo_metrics_t *m, const char *name, const char *help)
{
    return family_new(m, name, help, GAUGE);
}

bo_metric_t *bo_metrics_histogram(bo_metrics_t *m, const char *name, const char *help,
                                  const double *bounds, unsigned nbounds)
{
    if (nbounds == 0 || nbounds > MAX_BOUNDS)
        return NULL;
    for (unsigned i = 1; i < nbounds; i++)
        if (!(bounds[i] > bounds[i - 1]))
            return NULL;
    bo_metric_t *f = family_new(m, name, help, HISTOGRAM);
    BO_ASSERT(f == NULL || f->type == HISTOGRAM); /* a name is one family of one type */
    if (f && f->nbounds == 0) {
        memcpy(f->bounds, bounds, nbounds * sizeof(*bounds));
        f->nbounds = nbounds;
    }
    return f;
}

bo_metric_series_t *bo_metric_series(bo_metric_t *f, const char *labels)
{
    bo_metric_series_t *s;
    labels = labels ? labels : "";
    pthread_mutex_lock(&f->registry->mu);
    for (s = f->series; s; s = s->next)
        if (!strcmp(s->labels, labels))
            goto out;
    s = calloc(1, sizeof(*s) + f->nbounds * sizeof(s->buckets[0]));
    if (s && !(s->labels = strdup(labels))) {
        free(s);
        s = NULL;
    }
    if (s) {
        s->family = f;
        s->next = f->series;
        f->series = s;
    }
out:
    pthread_mutex_unlock(&f->registry->mu);
    return s;
}

void bo_metric_add(bo_metric_series_t *s, uint64_t n)
{
    atomic_fetch_add_explicit(&s->value, n, memory_order_relaxed);
}

void bo_metric_set(bo_metric_series_t *s, double value)
{
    atomic_store_explicit(&s->value, double_to_bits(value), memory_order_relaxed);
}

void bo_metric_observe(bo_metric_series_t *s, double value)
{
    const bo_metric_t *f = s->family;
    for (unsigned i = 0; i < f->nbounds; i++) {
        if (value <= f->bounds[i]) {
            atomic_fetch_add_explicit(&s->buckets[i], 1, memory_order_relaxed);
            break;
        }
    }
    uint64_t old = atomic_load_explicit(&s->sum_bits, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(&s->sum_bits, &old,
                                                  double_to_bits(bits_to_double(old) + value),
                                                  memory_order_relaxed, memory_order_relaxed))
        ;
    atomic_fetch_add_explicit(&s->value, 1, memory_order_relaxed);
}

int bo_metrics_add_collector(bo_metrics_t *m, bo_metrics_collect_fn fn, void *arg)
{
    int rc = BO_ENOMEM;
    pthread_mutex_lock(&m->mu);
    BO_ASSERT(fn != NULL);
    if (m->ncollectors < MAX_COLLECTORS) {
        m->collectors[m->ncollectors].fn = fn;
        m->collectors[m->ncollectors].arg = arg;
        m->ncollectors++;
        rc = 0;
    }
    pthread_mutex_unlock(&m->mu);
    return rc;
}

void bo_metrics_family(bo_metrics_out_t *o, const char *name, const char *type, const char *help)
{
    bo_buf_printf(&o->b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void bo_metrics_sample(bo_metrics_out_t *o, const char *name, const char *labels, double value)
{
    bool has = labels && *labels;
    if (isinf(value))
        bo_buf_printf(&o->b, "%s%s%s%s %s\n", name, has ? "{" : "", has ? labels : "",
                      has ? "}" : "", value > 0 ? "+Inf" : "-Inf");
    else
        bo_buf_printf(&o->b, "%s%s%s%s %.10g\n", name, has ? "{" : "", has ? labels : "",
                      has ? "}" : "", value);
}

/* One histogram series: cumulative buckets, +Inf, sum and count. */
static void render_histogram(bo_metrics_out_t *o, const char *name, const char *labels,
                             const double *bounds, unsigned nbounds, const uint64_t *per_bucket,
                             uint64_t count, double sum)
{
    uint64_t cum = 0;
    const char *sep = *labels ? "," : "";
    for (unsigned i = 0; i < nbounds; i++) {
        cum += per_bucket[i];
        bo_buf_printf(&o->b, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels, sep, bounds[i],
                      (unsigned long long)cum);
    }
    bo_buf_printf(&o->b, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, sep,
                  (unsigned long long)count);
    bo_buf_printf(&o->b, "%s_sum%s%s%s %.9g\n%s_count%s%s%s %llu\n", name, *labels ? "{" : "",
                  labels, *labels ? "}" : "", sum, name, *labels ? "{" : "", labels,
                  *labels ? "}" : "", (unsigned long long)count);
}

static void render_family(bo_metrics_out_t *o, const bo_metric_t *f)
{
    bo_metrics_family(o, f->name, type_names[f->type], f->help);
    for (const bo_metric_series_t *s = f->series; s; s = s->next) {
        uint64_t v = atomic_load_explicit(&s->value, memory_order_relaxed);
        if (f->type == COUNTER) {
            bool has = *s->labels;
            bo_buf_printf(&o->b, "%s%s%s%s %llu\n", f->name, has ? "{" : "", s->labels,
                          has ? "}" : "", (unsigned long long)v);
        } else if (f->type == GAUGE) {
            bo_metrics_sample(o, f->name, s->labels, bits_to_double(v));
        } else {
            uint64_t b[MAX_BOUNDS];
            for (unsigned i = 0; i < f->nbounds; i++)
                b[i] = atomic_load_explicit(&s->buckets[i], memory_order_relaxed);
            double sum = bits_to_double(atomic_load_explicit(&s->sum_bits, memory_order_relaxed));
            render_histogram(o, f->name, s->labels, f->bounds, f->nbounds, b, v, sum);
        }
    }
}

char *bo_metrics_render(bo_metrics_t *m, size_t *len)
{
    bo_metrics_out_t o;
    unsigned n;
    struct {
        bo_metrics_collect_fn fn;
        void *arg;
    } collectors[MAX_COLLECTORS];
    bo_buf_init(&o.b, 0);
    pthread_mutex_lock(&m->mu);
    for (const bo_metric_t *f = m->families; f; f = f->next)
        render_family(&o, f);
    n = m->ncollectors;
    memcpy(collectors, m->collectors, n * sizeof(collectors[0]));
    pthread_mutex_unlock(&m->mu);
    for (unsigned i = 0; i < n; i++) /* unlocked: a collector may use the registry */
        collectors[i].fn(collectors[i].arg, &o);
    return bo_buf_take(&o.b, len);
}

/* ---- the server's request statistics ---- */

/* Sum route idx over the loops: statuses into codes/counts (at most cap),
 * latency buckets into lat; returns the number of statuses. */
static unsigned sum_route(bo_server_t *srv, unsigned idx, int *codes, uint64_t *counts,
                          unsigned cap, uint64_t *lat, uint64_t *lat_count, uint64_t *lat_sum_us)
{
    unsigned n = 0;
    for (unsigned l = 0; l < srv->nloops; l++) {
        const bo__route_stats_t *st = srv->loops[l].stats ? &srv->loops[l].stats[idx] : NULL;
        for (unsigned k = 0; st && k < BO__STATUS_SLOTS; k++) {
            int code = atomic_load_explicit(&st->status[k], memory_order_relaxed);
            uint64_t c = atomic_load_explicit(&st->count[k], memory_order_relaxed);
            unsigned j = 0;
            while (j < n && codes[j] != code)
                j++;
            if (code == 0 || (j == n && n == cap))
                continue;
            if (j == n) {
                codes[n] = code;
                counts[n++] = 0;
            }
            counts[j] += c;
        }
        for (unsigned b = 0; st && b < BO__LAT_BUCKETS; b++)
            lat[b] += atomic_load_explicit(&st->lat[b], memory_order_relaxed);
        *lat_count += st ? atomic_load_explicit(&st->lat_count, memory_order_relaxed) : 0;
        *lat_sum_us += st ? atomic_load_explicit(&st->lat_sum_us, memory_order_relaxed) : 0;
    }
    return n;
}

static void route_labels(bo_server_t *srv, unsigned idx, char *buf, size_t cap)
{
    if (idx < srv->nroutes)
        snprintf(buf, cap, "method=\"%s\",route=\"%s\"", srv->routes[idx].method,
                 srv->routes[idx].pattern);
    else
        snprintf(buf, cap, "route=\"%s\"",
                 idx - srv->nroutes == BO__ROUTE_STATIC ? "static" : "unmatched");
}

void bo__http_stats_collect(void *arg, bo_metrics_out_t *o)
{
    bo_server_t *srv = arg;
    unsigned nroutes = srv->nroutes + BO__ROUTE_EXTRA;
    char labels[512];
    bo_metrics_family(o, "boxoffice_http_requests_total", "counter",
                      "HTTP requests answered, by route pattern and status");
    for (unsigned i = 0; i < nroutes; i++) {
        int codes[32];
        uint64_t counts[32], lat[BO__LAT_BUCKETS] = {0}, lat_count = 0, lat_sum = 0;
        unsigned n = sum_route(srv, i, codes, counts, 32, lat, &lat_count, &lat_sum);
        route_labels(srv, i, labels, sizeof(labels));
        for (unsigned k = 0; k < n; k++)
            bo_buf_printf(&o->b, "boxoffice_http_requests_total{%s,status=\"%d\"} %llu\n", labels,
                          codes[k], (unsigned long long)counts[k]);
    }
    bo_metrics_family(o, "boxoffice_http_request_duration_seconds", "histogram",
                      "HTTP request latency, from its first byte to its last answered byte");
    for (unsigned i = 0; i < nroutes; i++) {
        int codes[32];
        uint64_t counts[32], lat[BO__LAT_BUCKETS] = {0}, lat_count = 0, lat_sum = 0;
        sum_route(srv, i, codes, counts, 32, lat, &lat_count, &lat_sum);
        if (lat_count == 0)
            continue;
        route_labels(srv, i, labels, sizeof(labels));
        render_histogram(o, "boxoffice_http_request_duration_seconds", labels, bo__lat_bounds_s,
                         BO__LAT_BUCKETS, lat, lat_count, (double)lat_sum / 1e6);
    }
    bo_metrics_family(o, "boxoffice_http_access_log_dropped_total", "counter",
                      "access log lines dropped because the writer fell behind");
    bo_metrics_sample(o, "boxoffice_http_access_log_dropped_total", NULL,
                      (double)bo__access_log_dropped(srv->log));
}
