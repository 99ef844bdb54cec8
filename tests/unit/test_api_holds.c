/*
 * test_api_holds.c - the holds API end to end, in process: a real server
 * (src/http) on an ephemeral 127.0.0.1 port, the catalog and holds
 * handlers over a live layer on a temporary SQLite file, and a plain
 * HTTP/1.1 client. Checks every answer's status, code and shape, the
 * Idempotency-Key contract (replays byte for byte, stored durably with the
 * decision), and the boxoffice_holds_total counter.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "api/api_internal.h"
#include "util/time.h"
#include "helpers/live_fixture.h"

#define VEN     0x11
#define EVT     0x21 /* on sale */
#define EVT_SCH 0x22 /* sales open tomorrow */
#define EVT_LIM 0x23 /* per_customer_limit 2 */

static char *url, *path;
static bo_live_t *live;
static bo_server_t *srv;
static bo_api_t *api;
static pthread_t runner;

/* ---- the server ---- */

static int wait_call(int rc, bo_live_wait_t *w)
{
    rc = rc ? rc : bo_live_wait(w, NULL);
    bo_live_wait_free(w);
    return rc;
}

static void add_event(uint64_t id, int64_t on_sale_at_ms, uint32_t limit)
{
    bo_event_info_t e = {.id = id, .venue = VEN, .currency = "EUR"};
    int64_t now = bo_live_now_ms(live);
    snprintf(e.name, sizeof(e.name), "event %llx", (unsigned long long)id);
    e.on_sale_at_ms = on_sale_at_ms;
    e.starts_at_ms = now + 30 * 86400000ll;
    e.created_ms = now;
    char *meta = bo_catalog_meta_json(&e, NULL);
    bo_inv_config_t cfg = {.hold_ttl_ms = 300000, .per_customer_limit = limit};
    for (uint32_t c = 0; c < BO_LAYOUT_MAX_CATEGORIES; c++)
        cfg.price_cents[c] = 1000 * (c + 1);
    bo_live_wait_t *w = bo_live_wait_new();
    cr_assert_eq(wait_call(bo_live_add_event(live, id, VEN, meta, &cfg, bo_live_wait_done, w), w),
                 0);
    free(meta);
}

static void *run(void *arg)
{
    bo_server_run(srv);
    return NULL;
}

static void api_free(void *arg)
{
    bo_api_t *a = arg;
    pthread_mutex_destroy(&a->ready_mu);
    free(a->admin_token);
    free(a);
}

/* A route behind the admin check. */
static int on_admin_only(void *arg, bo_http_req_t *r)
{
    int rc = bo__api_admin(arg, r);
    return rc ? rc : bo_http_send_json(r, 200, json_pack("{sb}", "ok", 1));
}

static void start(void)
{
    url = fx_temp_db(&path);
    cr_assert_eq(bo_live_open(url, NULL, &live), 0);
    bo_venue_gen_t g = {
        .sections = 2, .rows = 3, .seats = 6, .ga_areas = 1, .ga_capacity = 20, .categories = 2};
    size_t len;
    char *map = bo_venue_generate(&g, &len);
    bo_live_wait_t *w = bo_live_wait_new();
    cr_assert_eq(wait_call(bo_live_add_venue(live, VEN, map, len, NULL, bo_live_wait_done, w), w),
                 0);
    free(map);
    int64_t now = bo_live_now_ms(live);
    add_event(EVT, now - 3600000, 0);
    add_event(EVT_SCH, now + 86400000, 0);
    add_event(EVT_LIM, now - 3600000, 2);
    bo_server_config_t cfg = {.listen = "127.0.0.1:0", .threads = 2, .access_log = "off"};
    cr_assert_eq(bo_server_new(&cfg, &srv), 0);
    api = calloc(1, sizeof(*api));
    pthread_mutex_init(&api->ready_mu, NULL);
    api->srv = srv;
    api->live = live;
    api->admin_token = strdup("0123456789abcdef0123456789abcdef");
    cr_assert_eq(bo_server_at_free(srv, api_free, api), 0);
    cr_assert_eq(bo__api_events_list_register(api), 0);
    cr_assert_eq(bo__api_holds_register(api), 0);
    cr_assert_eq(bo_server_route(srv, "GET", "/admin-only", on_admin_only, api), 0);
    cr_assert_eq(pthread_create(&runner, NULL, run, NULL), 0);
}

static void stop_server(void)
{
    if (!srv)
        return;
    bo_server_stop(srv);
    pthread_join(runner, NULL);
    bo_server_free(srv);
    srv = NULL;
}

static void stop(void)
{
    stop_server();
    bo_live_close(live);
    fx_remove_db(path);
    free(url);
    free(path);
}

TestSuite(holds, .init = start, .fini = stop, .timeout = 60);

/* ---- a client ---- */

typedef struct resp {
    int status;
    char head[4096];
    char *body;
    json_t *json;
} resp_t;

static void resp_free(resp_t *r)
{
    free(r->body);
    json_decref(r->json);
}

/* The value of header name in r (a copy in buf), or NULL. */
static const char *header(const resp_t *r, const char *name, char *buf, size_t cap)
{
    size_t n = strlen(name);
    for (const char *p = strstr(r->head, "\r\n"); p && p[2]; p = strstr(p + 2, "\r\n")) {
        const char *line = p + 2;
        if (!strncasecmp(line, name, n) && line[n] == ':') {
            const char *v = line + n + 1, *end = strstr(v, "\r\n");
            while (*v == ' ')
                v++;
            snprintf(buf, cap, "%.*s", (int)(end - v), v);
            return buf;
        }
    }
    return NULL;
}

/* One request on a fresh connection. extra: more header lines, each ending
 * in \r\n, or NULL. */
static resp_t req(const char *method, const char *target, const char *extra, const char *body)
{
    resp_t r = {0};
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(bo_server_port(srv))};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    struct timeval tv = {.tv_sec = 10};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    size_t blen = body ? strlen(body) : 0;
    char *msg = malloc(blen + 8192);
    int n = snprintf(msg, 8192,
                     "%s %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n%s%s"
                     "Content-Length: %zu\r\n\r\n",
                     method, target, extra ? extra : "",
                     body && !(extra && strcasestr(extra, "content-type"))
                         ? "Content-Type: application/json\r\n"
                         : "",
                     blen);
    memcpy(msg + n, body ? body : "", blen);
    cr_assert_eq(write(fd, msg, (size_t)n + blen), (ssize_t)((size_t)n + blen));
    free(msg);
    size_t cap = 1 << 16, len = 0;
    char *all = malloc(cap);
    for (ssize_t got; (got = read(fd, all + len, cap - len - 1)) > 0;) {
        len += (size_t)got;
        if (len + 1 == cap)
            all = realloc(all, cap *= 2);
    }
    close(fd);
    all[len] = '\0';
    char *sep = strstr(all, "\r\n\r\n");
    cr_assert_not_null(sep, "an answer to %s %s", method, target);
    snprintf(r.head, sizeof(r.head), "%.*s\r\n", (int)(sep - all), all);
    sscanf(all, "HTTP/1.1 %d", &r.status);
    r.body = strdup(sep + 4);
    r.json = json_loads(r.body, 0, NULL);
    free(all);
    return r;
}

static char *evt_path(uint64_t event)
{
    static char p[64];
    char id[BO_ID_EVENT_LEN + 1];
    bo_id_event(id, event);
    snprintf(p, sizeof(p), "/api/v1/events/%s/holds", id);
    return p;
}

static void expect_error(const resp_t *r, int status, const char *code)
{
    cr_assert_eq(r->status, status, "status %d, want %d: %s", r->status, status, r->body);
    json_t *e = json_object_get(r->json, "error");
    cr_assert_str_eq(json_string_value(json_object_get(e, "code")), code, "%s", r->body);
    cr_assert(json_string_length(json_object_get(e, "message")) > 0);
    cr_assert(json_is_object(json_object_get(e, "details")), "%s", r->body);
}

static const char *field_of(const resp_t *r)
{
    return json_string_value(
        json_object_get(json_object_get(json_object_get(r->json, "error"), "details"), "field"));
}

static json_t *hold_of(const resp_t *r)
{
    return json_object_get(r->json, "hold");
}

static const char *str(json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

static int held_seats(uint64_t event)
{
    bo_inv_counts_t c;
    fx_state_t s;
    cr_assert_eq(fx_capture(live, event, &s), 0);
    c = s.counts;
    fx_state_free(&s);
    return (int)c.held;
}

/* ---- the tests ---- */

Test(holds, create_read_release)
{
    resp_t r =
        req("POST", evt_path(EVT), NULL,
            "{\"seats\":[\"S1-B-2\",\"S1-B-1\"],\"customer\":{\"email\":\"Ana@Example.org\"}}");
    cr_assert_eq(r.status, 201, "%s", r.body);
    json_t *h = hold_of(&r);
    char id[BO_ID_EVENT_LEN + 1], loc[128];
    bo_id_event(id, EVT);
    cr_assert_eq(strlen(str(h, "id")), BO_ID_HOLD_LEN);
    cr_assert_eq(strncmp(str(h, "id") + 5, id + 4, 16), 0, "the hold id names its event");
    cr_assert_str_eq(str(h, "event_id"), id);
    cr_assert_str_eq(str(h, "status"), "held");
    cr_assert_str_eq(json_string_value(json_array_get(json_object_get(h, "seats"), 0)), "S1-B-2");
    cr_assert_str_eq(json_string_value(json_array_get(json_object_get(h, "seats"), 1)), "S1-B-1");
    cr_assert_eq(json_array_size(json_object_get(h, "ga")), 0);
    cr_assert_eq(json_integer_value(json_object_get(h, "time_left_s")), 300);
    int64_t when_ms;
    cr_assert_eq(bo_time_parse(str(h, "expires_at"), strlen(str(h, "expires_at")), &when_ms), 0);
    cr_assert_gt(when_ms, 0);
    json_t *amount = json_object_get(h, "amount");
    cr_assert_gt(json_integer_value(json_object_get(amount, "total_cents")), 0);
    cr_assert_str_eq(str(amount, "currency"), "EUR");
    char want[128];
    snprintf(want, sizeof(want), "/api/v1/holds/%s", str(h, "id"));
    cr_assert_str_eq(header(&r, "location", loc, sizeof(loc)), want);
    cr_assert_eq(held_seats(EVT), 2);

    resp_t g = req("GET", want, NULL, NULL);
    cr_assert_eq(g.status, 200, "%s", g.body);
    json_t *gh = hold_of(&g);
    for (const char *k = "id\0event_id\0status\0expires_at\0"; *k; k += strlen(k) + 1)
        cr_assert_str_eq(str(gh, k), str(h, k), "%s", k);
    cr_assert(json_equal(json_object_get(gh, "seats"), json_object_get(h, "seats")));
    cr_assert(json_equal(json_object_get(gh, "amount"), amount));
    cr_assert_leq(json_integer_value(json_object_get(gh, "time_left_s")), 300);

    resp_t d = req("DELETE", want, NULL, NULL);
    cr_assert_eq(d.status, 204, "%s", d.body);
    cr_assert_str_eq(d.body, "");
    cr_assert_eq(held_seats(EVT), 0);
    resp_t g2 = req("GET", want, NULL, NULL), d2 = req("DELETE", want, NULL, NULL);
    expect_error(&g2, 404, "NOT_FOUND");
    expect_error(&d2, 404, "NOT_FOUND");
    resp_free(&r);
    resp_free(&g);
    resp_free(&d);
    resp_free(&g2);
    resp_free(&d2);
}

Test(holds, refusals_of_the_engine)
{
    const char *c = ",\"customer\":{\"email\":\"b@b.co\"}}";
    char body[256];
    snprintf(body, sizeof(body), "{\"seats\":[\"S2-A-1\",\"S2-A-2\"]%s", c);
    resp_t a = req("POST", evt_path(EVT), NULL, body);
    cr_assert_eq(a.status, 201, "%s", a.body);
    snprintf(body, sizeof(body), "{\"seats\":[\"S2-A-3\",\"S2-A-2\",\"S2-A-1\"]%s", c);
    resp_t b = req("POST", evt_path(EVT), NULL, body);
    expect_error(&b, 409, "SEATS_UNAVAILABLE");
    json_t *det = json_object_get(json_object_get(b.json, "error"), "details");
    cr_assert_eq(json_array_size(json_object_get(det, "seats")), 2);
    cr_assert_str_eq(json_string_value(json_array_get(json_object_get(det, "seats"), 0)), "S2-A-2");
    cr_assert_eq(json_array_size(json_object_get(det, "ga")), 0);
    cr_assert_eq(held_seats(EVT), 2, "nothing more held");

    snprintf(body, sizeof(body), "{\"ga\":{\"area\":\"ga1\",\"quantity\":15}%s", c);
    resp_t g1 = req("POST", evt_path(EVT), NULL, body);
    cr_assert_eq(g1.status, 201, "%s", g1.body);
    cr_assert_eq(json_integer_value(json_object_get(
                     json_array_get(json_object_get(hold_of(&g1), "ga"), 0), "quantity")),
                 15);
    snprintf(body, sizeof(body), "{\"ga\":[{\"area\":\"ga1\",\"quantity\":6}]%s", c);
    resp_t g2 = req("POST", evt_path(EVT), NULL, body);
    expect_error(&g2, 409, "SEATS_UNAVAILABLE");
    det = json_object_get(json_object_get(g2.json, "error"), "details");
    cr_assert_str_eq(json_string_value(json_array_get(json_object_get(det, "ga"), 0)), "ga1");

    snprintf(body, sizeof(body), "{\"best_available\":{\"quantity\":3,\"section\":\"S1\"}%s", c);
    resp_t ba = req("POST", evt_path(EVT), NULL, body);
    cr_assert_eq(ba.status, 201, "%s", ba.body);
    cr_assert_eq(json_array_size(json_object_get(hold_of(&ba), "seats")), 3);
    snprintf(body, sizeof(body), "{\"best_available\":{\"quantity\":40}%s", c);
    resp_t so = req("POST", evt_path(EVT), NULL, body);
    expect_error(&so, 409, "SOLD_OUT");

    resp_t ns = req("POST", evt_path(EVT_SCH), NULL, body);
    expect_error(&ns, 422, "NOT_ON_SALE");
    det = json_object_get(json_object_get(ns.json, "error"), "details");
    cr_assert_str_eq(str(det, "status"), "scheduled");
    int64_t when_ms;
    cr_assert_eq(bo_time_parse(str(det, "on_sale_at"), strlen(str(det, "on_sale_at")), &when_ms),
                 0);

    const char *lim = ",\"customer\":{\"email\":\"lim@b.co\"}}";
    snprintf(body, sizeof(body), "{\"seats\":[\"S1-A-1\",\"S1-A-2\"]%s", lim);
    resp_t l1 = req("POST", evt_path(EVT_LIM), NULL, body);
    cr_assert_eq(l1.status, 201, "%s", l1.body);
    snprintf(body, sizeof(body), "{\"ga\":{\"area\":\"ga1\",\"quantity\":1}%s", lim);
    resp_t l2 = req("POST", evt_path(EVT_LIM), NULL, body);
    expect_error(&l2, 422, "LIMIT_EXCEEDED");
    det = json_object_get(json_object_get(l2.json, "error"), "details");
    cr_assert_eq(json_integer_value(json_object_get(det, "limit")), 2);
    cr_assert_eq(json_integer_value(json_object_get(det, "requested")), 1);
    resp_t *all[] = {&a, &b, &g1, &g2, &ba, &so, &ns, &l1, &l2};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        resp_free(all[i]);

    size_t len;
    char *text = bo_metrics_render(bo_server_metrics(srv), &len);
    const char *want[] = {"boxoffice_holds_total{result=\"created\"} 4",
                          "boxoffice_holds_total{result=\"unavailable\"} 2",
                          "boxoffice_holds_total{result=\"sold_out\"} 1",
                          "boxoffice_holds_total{result=\"not_on_sale\"} 1",
                          "boxoffice_holds_total{result=\"limit\"} 1"};
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        cr_assert_not_null(strstr(text, want[i]), "%s in\n%s", want[i], text);
    free(text);
}

Test(holds, bad_input_answers_400_or_404_and_changes_nothing)
{
    const char *p = evt_path(EVT);
    struct {
        const char *body, *extra, *field;
    } cases[] = {
        {"", NULL, NULL},
        {"{", NULL, NULL},
        {"[]", NULL, NULL},
        {"{}", NULL, ""},
        {"{\"seats\":[\"S1-A-1\"],\"customer\":{\"email\":\"a@b.co\"}}",
         "Content-Type: text/plain\r\n", "Content-Type"},
        {"{\"seats\":[\"S1-A-1\"],\"customer\":{\"email\":\"a@b.co\"}}", "Idempotency-Key: \r\n",
         "Idempotency-Key"},
        {"{\"seats\":[\"S1-A-1\",\"S1-A-1\"],\"customer\":{\"email\":\"a@b.co\"}}", NULL, "seats"},
        {"{\"seats\":[\"S1-A-1\"],\"customer\":{\"email\":\"a@b\"}}", NULL, "customer.email"},
        {"{\"seats\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"
         "]]}",
         NULL, NULL},
        {"{\"seats\":[\"S1-A-\xff\"],\"customer\":{\"email\":\"a@b.co\"}}", NULL, NULL},
        {"{\"best_available\":{\"quantity\":18446744073709551617},\"customer\":{\"email\":\"a@b."
         "co\"}}",
         NULL, NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        resp_t r = req("POST", p, cases[i].extra, cases[i].body);
        expect_error(&r, 400, "INVALID_REQUEST");
        if (cases[i].field && *cases[i].field)
            cr_assert_str_eq(field_of(&r), cases[i].field, "case %zu: %s", i, r.body);
        resp_free(&r);
    }
    resp_t u = req("POST", "/api/v1/events/evt_00000000000000aa/holds", NULL,
                   "{\"seats\":[\"S1-A-1\"],\"customer\":{\"email\":\"a@b.co\"}}");
    expect_error(&u, 404, "NOT_FOUND");
    resp_free(&u);
    char fake[BO_ID_HOLD_LEN + 1], target[128];
    bo_hold_id_t hid = {{0}};
    bo_id_hold(fake, EVT, &hid);
    const char *ids[] = {fake, "hold_123", "hold_zzzz", "evt_0000000000000021"};
    for (size_t i = 0; i < 4; i++) {
        snprintf(target, sizeof(target), "/api/v1/holds/%s", ids[i]);
        resp_t g = req("GET", target, NULL, NULL), d = req("DELETE", target, NULL, NULL);
        expect_error(&g, 404, "NOT_FOUND");
        expect_error(&d, 404, "NOT_FOUND");
        resp_free(&g);
        resp_free(&d);
    }
    cr_assert_eq(held_seats(EVT), 0);
}

Test(holds, idempotent_replays)
{
    const char *body = "{\"seats\":[\"S1-C-1\",\"S1-C-2\"],\"customer\":{\"email\":\"i@b.co\"}}";
    const char *key = "Idempotency-Key: k-hold-1\r\n";
    resp_t a = req("POST", evt_path(EVT), key, body);
    cr_assert_eq(a.status, 201, "%s", a.body);
    resp_t b = req("POST", evt_path(EVT), key, body);
    char buf[64];
    cr_assert_eq(b.status, 201);
    cr_assert_str_eq(b.body, a.body, "byte for byte");
    cr_assert_str_eq(header(&b, "idempotent-replayed", buf, sizeof(buf)), "true");
    cr_assert_eq(held_seats(EVT), 2, "held once");
    resp_t c = req("POST", evt_path(EVT), key,
                   "{\"seats\":[\"S1-C-3\"],\"customer\":{\"email\":\"i@b.co\"}}");
    expect_error(&c, 422, "IDEMPOTENCY_MISMATCH");

    /* A refusal is kept too (in memory), and replayed after the seats came
     * free. */
    const char *rkey = "Idempotency-Key: k-refused\r\n";
    const char *rbody = "{\"seats\":[\"S1-C-2\",\"S1-C-3\"],\"customer\":{\"email\":\"j@b.co\"}}";
    resp_t d = req("POST", evt_path(EVT), rkey, rbody);
    expect_error(&d, 409, "SEATS_UNAVAILABLE");
    char hold_path[128];
    snprintf(hold_path, sizeof(hold_path), "/api/v1/holds/%s", str(hold_of(&a), "id"));
    const char *dkey = "Idempotency-Key: k-release\r\n";
    resp_t rel = req("DELETE", hold_path, dkey, NULL);
    cr_assert_eq(rel.status, 204, "%s", rel.body);
    resp_t rel2 = req("DELETE", hold_path, dkey, NULL);
    cr_assert_eq(rel2.status, 204, "replayed release: 204, not 404");
    resp_t e = req("POST", evt_path(EVT), rkey, rbody);
    cr_assert_eq(e.status, 409);
    cr_assert_str_eq(e.body, d.body);
    cr_assert_eq(held_seats(EVT), 0, "the replay held nothing");

    /* Not on sale is state: stored. */
    const char *skey = "Idempotency-Key: k-sched\r\n";
    resp_t s1 = req("POST", evt_path(EVT_SCH), skey, body);
    resp_t s2 = req("POST", evt_path(EVT_SCH), skey, body);
    expect_error(&s1, 422, "NOT_ON_SALE");
    cr_assert_str_eq(s2.body, s1.body);
    cr_assert_str_eq(header(&s2, "idempotent-replayed", buf, sizeof(buf)), "true");

    /* Input errors are not stored: the key stays free. */
    const char *bkey = "Idempotency-Key: k-bad\r\n";
    resp_t x = req("POST", evt_path(EVT), bkey, "{\"seats\":[]}");
    expect_error(&x, 400, "INVALID_REQUEST");
    resp_t y = req("POST", evt_path(EVT), bkey, body);
    cr_assert_eq(y.status, 201, "%s", y.body);

    /* The answers are durable: after a restart they are still there; a
     * refusal is not (it decided nothing: a retry is decided again). */
    stop_server();
    bo_live_close(live);
    cr_assert_eq(bo_live_open(url, NULL, &live), 0);
    uint8_t hash[32];
    char p[64];
    snprintf(p, sizeof(p), "%s", evt_path(EVT));
    bo__idem_hash("POST", p, body, strlen(body), hash);
    bo_idem_answer_t ans = {0};
    cr_assert_eq(bo_live_idem_begin(live, "k-hold-1", hash, NULL, &ans, NULL), 1);
    cr_assert_eq(ans.status, 201);
    cr_assert_str_eq(ans.body, a.body);
    free(ans.body);
    bo__idem_hash("POST", p, rbody, strlen(rbody), hash);
    cr_assert_eq(bo_live_idem_begin(live, "k-refused", hash, NULL, &ans, NULL), 0);
    resp_t *all[] = {&a, &b, &c, &d, &rel, &rel2, &e, &s1, &s2, &x, &y};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        resp_free(all[i]);
}

Test(holds, store_failures_answer_503_and_leave_the_key_free)
{
    bo_store_t *store = bo_live_store(live);
    const char *body = "{\"seats\":[\"S2-C-1\",\"S2-C-2\"],\"customer\":{\"email\":\"f@b.co\"}}";
    const char *key = "Idempotency-Key: k-fail\r\n";
    char buf[64];
    bo_store_inject_failures(store, 1);
    resp_t a = req("POST", evt_path(EVT), key, body);
    expect_error(&a, 503, "STORE_UNAVAILABLE");
    cr_assert_str_eq(header(&a, "retry-after", buf, sizeof(buf)), "1");
    cr_assert_eq(held_seats(EVT), 0, "a failed commit holds nothing");
    resp_t b = req("POST", evt_path(EVT), key, body);
    cr_assert_eq(b.status, 201, "a 503 is not stored: the retry runs: %s", b.body);
    resp_t c = req("POST", evt_path(EVT), key, body);
    cr_assert_eq(c.status, 201);
    cr_assert_str_eq(c.body, b.body);

    /* A refusal is kept in memory only: a failing store does not touch it
     * (the injected failure waits for the next write), and it replays. */
    const char *rkey = "Idempotency-Key: k-fail-refused\r\n";
    bo_store_inject_failures(store, 1);
    resp_t d = req("POST", evt_path(EVT), rkey, body);
    resp_t e = req("POST", evt_path(EVT), rkey, body);
    expect_error(&e, 409, "SEATS_UNAVAILABLE");
    resp_t f = req("POST", evt_path(EVT), rkey, body);
    cr_assert_str_eq(f.body, e.body);
    cr_assert_str_eq(d.body, e.body);
    cr_assert_str_eq(header(&f, "idempotent-replayed", buf, sizeof(buf)), "true");
    bo_store_inject_failures(store, 0);

    char hold_path[128];
    snprintf(hold_path, sizeof(hold_path), "/api/v1/holds/%s", str(hold_of(&b), "id"));
    bo_store_inject_failures(store, 1);
    resp_t g = req("DELETE", hold_path, NULL, NULL);
    expect_error(&g, 503, "STORE_UNAVAILABLE");
    cr_assert_eq(held_seats(EVT), 2, "the failed release is rolled back");
    resp_t h = req("DELETE", hold_path, NULL, NULL);
    cr_assert_eq(h.status, 204, "%s", h.body);
    resp_t *all[] = {&a, &b, &c, &d, &e, &f, &g, &h};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        resp_free(all[i]);
}

Test(holds, admin_bearer_token)
{
    const char *token = "0123456789abcdef0123456789abcdef";
    char hdr[256], buf[128];
    struct {
        const char *auth; /* NULL: no header */
        int status;
    } cases[] = {
        {NULL, 401},
        {"Basic dXNlcjpwYXNz", 401},
        {"Bearer", 401},
        {"Bearer   ", 401},
        {"Bearertoken", 401},
        {"Bearer 0123456789abcdef0123456789abcdef", 200},
        {"bearer   0123456789abcdef0123456789abcdef  ", 200},
        {"Bearer 0123456789abcdef0123456789abcdeF", 403},
        {"Bearer 0123456789abcdef0123456789abcdef0", 403},
        {"Bearer 0123456789abcdef", 403},
        {"Bearer x", 403},
    };
    cr_assert_eq(strlen(token), 32);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(hdr, sizeof(hdr), "Authorization: %s\r\n", cases[i].auth ? cases[i].auth : "");
        resp_t r = req("GET", "/admin-only", cases[i].auth ? hdr : NULL, NULL);
        if (cases[i].status == 200) {
            cr_assert_eq(r.status, 200, "case %zu: %s", i, r.body);
        } else {
            expect_error(&r, cases[i].status,
                         cases[i].status == 401 ? "UNAUTHORIZED" : "FORBIDDEN");
            const char *www = header(&r, "www-authenticate", buf, sizeof(buf));
            if (cases[i].status == 401)
                cr_assert(www && !strncmp(www, "Bearer", 6), "case %zu: WWW-Authenticate", i);
            else
                cr_assert_null(www, "case %zu", i);
        }
        resp_free(&r);
    }
}
