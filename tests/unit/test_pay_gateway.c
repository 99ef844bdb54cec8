/*
 * test_pay_gateway.c - the gateway adapter (src/pay/gateway.c) against a
 * fake gateway inside the test: a thread on a loopback socket (ephemeral
 * port) that records each request and answers it with the next canned
 * HTTP/1.1 answer, or never answers at all. Checks the requests' shape
 * (method, path, form body, Authorization, Idempotency-Key), the parsing of
 * answers, the mapping of error answers to BO_E* codes, retries with the
 * same Idempotency-Key, and the time a dead gateway costs.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "boxoffice/error.h"
#include "boxoffice/pay.h"

#define MAX_REQS    64
#define MAX_ANSWERS 8
#define KEY         "sk_test_4eC39HqLyjWDarjtT1zdp7dc"

/* ---- the fake gateway --------------------------------------------------- */

struct fake_req {
    char method[8], path[128], auth[128], idem[300], ctype[80];
    char body[2048];
};

static struct fake {
    int lfd, port;
    pthread_t th;
    atomic_bool stop;
    char *answers[MAX_ANSWERS]; /* NULL: stay silent; past the last: the last again */
    int nanswers;
    struct fake_req reqs[MAX_REQS];
    atomic_int nreqs;
    int held[MAX_REQS]; /* connections never answered, closed at the end */
    int nheld;
} fk;

static bo_pay_t *pay;

/* An answer with a JSON body (Connection: close, so every request comes on
 * a connection of its own). */
static void answer(int status, const char *json)
{
    char *a;
    cr_assert_lt(fk.nanswers, MAX_ANSWERS);
    cr_assert_gt(asprintf(&a,
                          "HTTP/1.1 %d Canned\r\nContent-Type: application/json\r\n"
                          "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                          status, strlen(json), json),
                 0);
    fk.answers[fk.nanswers++] = a;
}

/* An answer as is (for what answer() cannot say). */
static void answer_raw(const char *head, const char *body)
{
    char *a;
    cr_assert_lt(fk.nanswers, MAX_ANSWERS);
    cr_assert_gt(asprintf(&a, "%s%s", head, body), 0);
    fk.answers[fk.nanswers++] = a;
}

static void silence(void)
{
    fk.answers[fk.nanswers++] = NULL;
}

/* The value of header name in the header block (""): case-insensitive. */
static void header_value(const char *head, const char *name, char *out, size_t cap)
{
    size_t n = strlen(name);
    out[0] = '\0';
    for (const char *p = strstr(head, "\r\n"); p; p = strstr(p + 2, "\r\n")) {
        if (strncasecmp(p + 2, name, n) || p[2 + n] != ':')
            continue;
        const char *v = p + 3 + n, *end = strstr(v, "\r\n");
        while (*v == ' ')
            v++;
        size_t len = (size_t)(end - v) < cap - 1 ? (size_t)(end - v) : cap - 1;
        memcpy(out, v, len);
        out[len] = '\0';
        return;
    }
}

/* Read one request from fd into r; -1 when the peer gave up first. */
static int read_request(int fd, struct fake_req *r)
{
    char buf[8192] = "", clen[16];
    size_t n = 0;
    char *end = NULL;
    memset(r, 0, sizeof(*r));
    while (!(end = strstr(buf, "\r\n\r\n"))) {
        ssize_t k = n + 1 < sizeof(buf) ? recv(fd, buf + n, sizeof(buf) - 1 - n, 0) : -1;
        if (k <= 0)
            return -1;
        n += (size_t)k;
        buf[n] = '\0';
    }
    end[2] = '\0'; /* the header block keeps its last CRLF */
    sscanf(buf, "%7s %127s", r->method, r->path);
    header_value(buf, "Authorization", r->auth, sizeof(r->auth));
    header_value(buf, "Idempotency-Key", r->idem, sizeof(r->idem));
    header_value(buf, "Content-Type", r->ctype, sizeof(r->ctype));
    header_value(buf, "Content-Length", clen, sizeof(clen));
    size_t want = (size_t)atoi(clen), have = n - (size_t)(end + 4 - buf);
    if (want >= sizeof(r->body))
        return -1;
    memcpy(r->body, end + 4, have);
    while (have < want) {
        ssize_t k = recv(fd, r->body + have, want - have, 0);
        if (k <= 0)
            return -1;
        have += (size_t)k;
    }
    r->body[want] = '\0';
    return 0;
}

static void *serve(void *arg)
{
    while (!atomic_load(&fk.stop)) {
        struct pollfd pfd = {.fd = fk.lfd, .events = POLLIN};
        if (poll(&pfd, 1, 20) <= 0)
            continue;
        int fd = accept(fk.lfd, NULL, NULL);
        if (fd < 0)
            continue;
        struct timeval tv = {.tv_sec = 5};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        int i = atomic_load(&fk.nreqs);
        if (i >= MAX_REQS || read_request(fd, &fk.reqs[i])) {
            close(fd);
            continue;
        }
        atomic_store(&fk.nreqs, i + 1);
        char *a = fk.answers[i < fk.nanswers ? i : fk.nanswers - 1];
        if (!a) {
            fk.held[fk.nheld++] = fd;
            continue;
        }
        for (size_t off = 0, len = strlen(a); off < len;) {
            ssize_t k = send(fd, a + off, len - off, MSG_NOSIGNAL);
            if (k <= 0)
                break;
            off += (size_t)k;
        }
        shutdown(fd, SHUT_WR);
        close(fd);
    }
    return NULL;
}

/* Start the fake gateway (answers already queued) and a client for it. */
static void start(uint32_t timeout_ms, uint32_t retries)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    cr_assert_gt(fk.nanswers, 0);
    fk.lfd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(fk.lfd, 0);
    cr_assert_eq(bind(fk.lfd, (struct sockaddr *)&a, sizeof(a)), 0);
    cr_assert_eq(listen(fk.lfd, 16), 0);
    cr_assert_eq(getsockname(fk.lfd, (struct sockaddr *)&a, &alen), 0);
    fk.port = ntohs(a.sin_port);
    cr_assert_eq(pthread_create(&fk.th, NULL, serve, NULL), 0);

    char url[64];
    snprintf(url, sizeof(url), "sim:http://127.0.0.1:%d/", fk.port);
    bo_pay_config_t cfg = {
        .url = url, .secret_key = KEY, .timeout_ms = timeout_ms, .retries = retries};
    cr_assert_eq(bo_pay_new(&cfg, &pay), 0);
}

static void teardown(void)
{
    bo_pay_free(pay);
    pay = NULL;
    if (fk.lfd > 0) {
        atomic_store(&fk.stop, true);
        pthread_join(fk.th, NULL);
        close(fk.lfd);
    }
    for (int i = 0; i < fk.nheld; i++)
        close(fk.held[i]);
    for (int i = 0; i < fk.nanswers; i++)
        free(fk.answers[i]);
    memset(&fk, 0, sizeof(fk));
}

TestSuite(gateway, .fini = teardown, .timeout = 30);

static int nreqs(void)
{
    return atomic_load(&fk.nreqs);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- canned answers ----------------------------------------------------- */

#define INTENT_NEW                                                                                 \
    "{\"id\":\"pi_3Abc\",\"object\":\"payment_intent\",\"amount\":2500,\"amount_received\":0,"     \
    "\"currency\":\"eur\",\"client_secret\":\"pi_3Abc_secret_XyZ\",\"status\":"                    \
    "\"requires_payment_method\",\"metadata\":{\"order_id\":\"ord_00000000000000a1\"},"            \
    "\"latest_charge\":null,\"last_payment_error\":null,\"livemode\":false}"
#define INTENT_PAID                                                                                \
    "{\"id\":\"pi_3Abc\",\"object\":\"payment_intent\",\"amount\":2500,\"amount_received\":2500,"  \
    "\"currency\":\"eur\",\"client_secret\":\"pi_3Abc_secret_XyZ\",\"status\":\"succeeded\","      \
    "\"metadata\":{\"order_id\":\"ord_00000000000000a1\"},\"latest_charge\":{\"id\":\"ch_Ok1\","   \
    "\"object\":\"charge\"},\"last_payment_error\":null}"
#define DECLINE                                                                                    \
    "{\"error\":{\"type\":\"card_error\",\"code\":\"card_declined\",\"decline_code\":"             \
    "\"insufficient_funds\",\"message\":\"Your card has insufficient funds.\",\"charge\":"         \
    "\"ch_Dec1\",\"payment_intent\":{\"id\":\"pi_3Abc\",\"object\":\"payment_intent\",\"amount\":" \
    "2500,\"amount_received\":0,\"currency\":\"eur\",\"client_secret\":\"pi_3Abc_secret_XyZ\","    \
    "\"status\":\"requires_payment_method\",\"metadata\":{\"order_id\":\"ord_00000000000000a1\"}," \
    "\"latest_charge\":\"ch_Dec1\",\"last_payment_error\":{\"type\":\"card_error\",\"code\":"      \
    "\"card_declined\",\"decline_code\":\"insufficient_funds\",\"message\":\"Your card has "       \
    "insufficient funds.\",\"charge\":\"ch_Dec1\"}}}}"
#define ERROR_JSON(type, code, msg)                                                                \
    "{\"error\":{\"type\":\"" type "\",\"code\":\"" code "\",\"message\":\"" msg "\"}}"

/* ---- requests and answers ----------------------------------------------- */

Test(gateway, create_sends_the_form_and_parses_the_intent)
{
    bo_pay_intent_t pi;
    answer(200, INTENT_NEW);
    start(2000, 0);
    cr_assert_eq(bo_pay_create_intent(pay, "ord_00000000000000a1", 2500, "EUR",
                                      "ord_00000000000000a1", "2 seats & 50% off \xe2\x82\xac",
                                      &pi),
                 0);
    cr_assert_eq(nreqs(), 1);
    struct fake_req *r = &fk.reqs[0];
    cr_assert_str_eq(r->method, "POST");
    cr_assert_str_eq(r->path, "/v1/payment_intents");
    cr_assert_str_eq(r->auth, "Bearer " KEY);
    cr_assert_str_eq(r->idem, "ord_00000000000000a1");
    cr_assert_str_eq(r->ctype, "application/x-www-form-urlencoded");
    cr_assert_str_eq(r->body, "amount=2500&currency=eur&payment_method_types[]=card"
                              "&metadata[order_id]=ord_00000000000000a1"
                              "&description=2+seats+%26+50%25+off+%E2%82%AC");

    cr_assert_str_eq(pi.id, "pi_3Abc");
    cr_assert_str_eq(pi.client_secret, "pi_3Abc_secret_XyZ");
    cr_assert_str_eq(pi.status, "requires_payment_method");
    cr_assert_eq(pi.amount, 2500);
    cr_assert_eq(pi.amount_received, 0);
    cr_assert_str_eq(pi.currency, "eur");
    cr_assert_str_eq(pi.order_id, "ord_00000000000000a1");
    cr_assert_str_eq(pi.latest_charge, "");
    cr_assert_str_eq(pi.last_error_code, "");

    bo_pay_stats_t st;
    bo_pay_stats(pay, &st);
    cr_assert_eq(st.calls, 1);
    cr_assert_eq(st.requests, 1);
    cr_assert_eq(st.retries, 0);
    cr_assert_eq(st.failures, 0);
}

Test(gateway, retrieve_is_a_plain_get)
{
    bo_pay_intent_t pi;
    answer(200, INTENT_PAID);
    start(2000, 0);
    cr_assert_eq(bo_pay_retrieve(pay, "pi_3Abc", &pi), 0);
    struct fake_req *r = &fk.reqs[0];
    cr_assert_str_eq(r->method, "GET");
    cr_assert_str_eq(r->path, "/v1/payment_intents/pi_3Abc");
    cr_assert_str_eq(r->auth, "Bearer " KEY);
    cr_assert_str_eq(r->idem, "");
    cr_assert_str_eq(r->body, "");
    cr_assert_str_eq(pi.status, "succeeded");
    cr_assert_eq(pi.amount_received, 2500);
    cr_assert_str_eq(pi.latest_charge, "ch_Ok1"); /* expanded: its id */
}

Test(gateway, confirm_with_a_test_payment_method_or_a_card_number)
{
    bo_pay_intent_t pi;
    answer(200, INTENT_PAID);
    start(2000, 0);
    cr_assert_eq(bo_pay_confirm(pay, "pi_3Abc", "pm_card_visa", "ord_1:confirm:1", &pi), 0);
    cr_assert_eq(bo_pay_confirm(pay, "pi_3Abc", "4242424242424242", "ord_1:confirm:2", &pi), 0);
    cr_assert_eq(nreqs(), 2);
    cr_assert_str_eq(fk.reqs[0].method, "POST");
    cr_assert_str_eq(fk.reqs[0].path, "/v1/payment_intents/pi_3Abc/confirm");
    cr_assert_str_eq(fk.reqs[0].idem, "ord_1:confirm:1");
    cr_assert_str_eq(fk.reqs[0].body, "payment_method=pm_card_visa");
    cr_assert_str_eq(fk.reqs[1].idem, "ord_1:confirm:2");
    cr_assert_str_eq(fk.reqs[1].body, "payment_method_data[type]=card"
                                      "&payment_method_data[card][number]=4242424242424242");
    cr_assert_str_eq(pi.status, "succeeded");
}

Test(gateway, decline_fills_the_intent_and_the_error)
{
    bo_pay_intent_t pi;
    answer(402, DECLINE);
    start(2000, 3);
    cr_assert_eq(bo_pay_confirm(pay, "pi_3Abc", "4000000000000002", "k1", &pi), BO_EDECLINED);
    cr_assert_eq(nreqs(), 1); /* a decline is final: no retry */
    cr_assert_str_eq(pi.id, "pi_3Abc");
    cr_assert_str_eq(pi.status, "requires_payment_method");
    cr_assert_str_eq(pi.order_id, "ord_00000000000000a1");
    cr_assert_str_eq(pi.last_error_code, "card_declined");
    cr_assert_str_eq(pi.last_error_decline, "insufficient_funds");
    cr_assert_str_eq(pi.last_error_message, "Your card has insufficient funds.");
    cr_assert_str_eq(pi.last_error_charge, "ch_Dec1");

    bo_pay_stats_t st;
    bo_pay_stats(pay, &st);
    cr_assert_eq(st.declines, 1);
}

Test(gateway, decline_without_an_intent_still_carries_the_error)
{
    bo_pay_intent_t pi;
    answer(402, ERROR_JSON("card_error", "expired_card", "Your card has expired."));
    start(2000, 0);
    cr_assert_eq(bo_pay_confirm(pay, "pi_3Abc", "4000000000000069", "k1", &pi), BO_EDECLINED);
    cr_assert_str_eq(pi.id, "");
    cr_assert_str_eq(pi.last_error_code, "expired_card");
    cr_assert_str_eq(pi.last_error_decline, "");
    cr_assert_str_eq(pi.last_error_message, "Your card has expired.");
}

Test(gateway, missing_intent_is_not_found)
{
    bo_pay_intent_t pi;
    answer(404, ERROR_JSON("invalid_request_error", "resource_missing",
                           "No such payment_intent: 'pi_Nope'"));
    start(2000, 2);
    cr_assert_eq(bo_pay_retrieve(pay, "pi_Nope", &pi), BO_ENOTFOUND);
    cr_assert_eq(nreqs(), 1);
    cr_assert_str_eq(pi.id, "");
}

Test(gateway, state_conflicts_and_our_bugs_are_told_apart)
{
    bo_pay_intent_t pi;
    bo_pay_refund_t re;
    answer(400, ERROR_JSON("invalid_request_error", "payment_intent_unexpected_state",
                           "This PaymentIntent's status is succeeded."));
    answer(400, ERROR_JSON("invalid_request_error", "charge_already_refunded",
                           "Charge ch_1 has already been refunded."));
    answer(400, ERROR_JSON("invalid_request_error", "parameter_unknown",
                           "Received unknown parameter: foo"));
    answer(401, "{\"error\":{\"type\":\"invalid_request_error\",\"message\":\"Invalid API Key\"}}");
    start(2000, 2);
    cr_assert_eq(bo_pay_cancel(pay, "pi_3Abc", "k1", &pi), BO_ESTATE);
    cr_assert_eq(bo_pay_refund(pay, "pi_3Abc", 0, "k2", &re), BO_ESTATE);
    cr_assert_eq(bo_pay_cancel(pay, "pi_3Abc", "k3", &pi), BO_EINVAL);
    cr_assert_eq(bo_pay_retrieve(pay, "pi_3Abc", &pi), BO_EINVAL);
    cr_assert_eq(nreqs(), 4);
    bo_pay_stats_t st;
    bo_pay_stats(pay, &st);
    cr_assert_eq(st.rejected, 4);
    cr_assert_eq(st.retries, 0);
}

Test(gateway, cancel_posts_an_empty_form)
{
    bo_pay_intent_t pi;
    answer(200, "{\"id\":\"pi_3Abc\",\"status\":\"canceled\",\"amount\":2500,\"currency\":\"eur\","
                "\"amount_received\":null}");
    start(2000, 0);
    cr_assert_eq(bo_pay_cancel(pay, "pi_3Abc", "ord_1:cancel", &pi), 0);
    cr_assert_str_eq(fk.reqs[0].method, "POST");
    cr_assert_str_eq(fk.reqs[0].path, "/v1/payment_intents/pi_3Abc/cancel");
    cr_assert_str_eq(fk.reqs[0].idem, "ord_1:cancel");
    cr_assert_str_eq(fk.reqs[0].body, "");
    cr_assert_str_eq(pi.status, "canceled");
    cr_assert_str_eq(pi.client_secret, "");
}

Test(gateway, refund_all_or_part)
{
    bo_pay_refund_t re;
    answer(200, "{\"id\":\"re_1\",\"object\":\"refund\",\"amount\":2500,\"status\":\"succeeded\","
                "\"payment_intent\":\"pi_3Abc\",\"charge\":\"ch_Ok1\"}");
    start(2000, 0);
    cr_assert_eq(bo_pay_refund(pay, "pi_3Abc", 0, "ord_1:refund", &re), 0);
    cr_assert_eq(bo_pay_refund(pay, "pi_3Abc", 500, "ord_1:refund:500", &re), 0);
    cr_assert_str_eq(fk.reqs[0].path, "/v1/refunds");
    cr_assert_str_eq(fk.reqs[0].body, "payment_intent=pi_3Abc");
    cr_assert_str_eq(fk.reqs[0].idem, "ord_1:refund");
    cr_assert_str_eq(fk.reqs[1].body, "payment_intent=pi_3Abc&amount=500");
    cr_assert_str_eq(re.id, "re_1");
    cr_assert_str_eq(re.status, "succeeded");
    cr_assert_eq(re.amount, 2500);
    cr_assert_str_eq(re.intent_id, "pi_3Abc");
}

/* ---- retries and failures ----------------------------------------------- */

Test(gateway, server_error_is_retried_with_the_same_key)
{
    bo_pay_intent_t pi;
    answer(500, ERROR_JSON("api_error", "internal", "Something went wrong."));
    answer(200, INTENT_NEW);
    start(2000, 0); /* 0: the default, 2 retries */
    cr_assert_eq(
        bo_pay_create_intent(pay, "idem-42", 2500, "eur", "ord_00000000000000a1", NULL, &pi), 0);
    cr_assert_eq(nreqs(), 2);
    cr_assert_str_eq(fk.reqs[0].idem, "idem-42");
    cr_assert_str_eq(fk.reqs[1].idem, "idem-42");
    cr_assert_str_eq(fk.reqs[0].body, fk.reqs[1].body);
    cr_assert_str_eq(fk.reqs[1].path, "/v1/payment_intents");
    cr_assert_str_eq(pi.id, "pi_3Abc");
    bo_pay_stats_t st;
    bo_pay_stats(pay, &st);
    cr_assert_eq(st.calls, 1);
    cr_assert_eq(st.requests, 2);
    cr_assert_eq(st.retries, 1);
}

Test(gateway, rate_limits_until_the_retries_run_out)
{
    bo_pay_intent_t pi;
    answer(429, ERROR_JSON("rate_limit_error", "rate_limit", "Too many requests."));
    start(2000, 2);
    cr_assert_eq(bo_pay_retrieve(pay, "pi_3Abc", &pi), BO_EGATEWAY);
    cr_assert_eq(nreqs(), 3);
    bo_pay_stats_t st;
    bo_pay_stats(pay, &st);
    cr_assert_eq(st.retries, 2);
    cr_assert_eq(st.failures, 1);
}

Test(gateway, unparsable_answers_are_gateway_errors)
{
    bo_pay_intent_t pi;
    answer(200, "<html>surprise</html>");
    answer(200, "{\"id\":\"pi_1\"}");                                       /* no status */
    answer(200, "{\"id\":\"pi/1\",\"status\":\"succeeded\",\"amount\":1}"); /* bad id */
    start(2000, 2);
    cr_assert_eq(bo_pay_retrieve(pay, "pi_1", &pi), BO_EGATEWAY);
    cr_assert_eq(bo_pay_retrieve(pay, "pi_1", &pi), BO_EGATEWAY);
    cr_assert_eq(bo_pay_retrieve(pay, "pi_1", &pi), BO_EGATEWAY);
    cr_assert_eq(nreqs(), 3); /* not retried */
    cr_assert_str_eq(pi.id, "");
}

Test(gateway, oversized_answer_is_a_gateway_error)
{
    bo_pay_intent_t pi;
    size_t n = (1u << 20) + 100;
    char *big = malloc(n + 1);
    memset(big, ' ', n);
    big[0] = '{';
    big[n - 1] = '}';
    big[n] = '\0';
    answer(200, big); /* announced by its Content-Length */
    answer_raw("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n", big); /* found out */
    free(big);
    start(2000, 2);
    cr_assert_eq(bo_pay_retrieve(pay, "pi_1", &pi), BO_EGATEWAY);
    cr_assert_eq(bo_pay_retrieve(pay, "pi_1", &pi), BO_EGATEWAY);
    cr_assert_eq(nreqs(), 2); /* not retried */
}

Test(gateway, silent_gateway_costs_the_timeouts_and_backoff)
{
    bo_pay_intent_t pi;
    silence();
    start(300, 2);
    double t0 = now_s();
    cr_assert_eq(bo_pay_create_intent(pay, "k-silent", 100, "usd", "ord_1", NULL, &pi),
                 BO_EGATEWAY);
    double took = now_s() - t0;
    /* 3 attempts of 300 ms, backoff 100 + 200 ms plus up to 50% jitter. */
    cr_assert_geq(took, 1.15, "took %.3f s", took);
    cr_assert_leq(took, 2.5, "took %.3f s", took);
    cr_assert_eq(nreqs(), 3);
    for (int i = 0; i < 3; i++)
        cr_assert_str_eq(fk.reqs[i].idem, "k-silent");
}

Test(gateway, refused_connection_is_a_gateway_error)
{
    bo_pay_intent_t pi;
    answer(200, INTENT_NEW);
    start(500, 1);
    /* Point a second client at the port once the listener is gone. */
    char url[64];
    snprintf(url, sizeof(url), "stripe:http://127.0.0.1:%d", fk.port);
    atomic_store(&fk.stop, true);
    pthread_join(fk.th, NULL);
    close(fk.lfd);
    fk.lfd = 0;
    bo_pay_t *p2;
    bo_pay_config_t cfg = {.url = url, .secret_key = KEY, .timeout_ms = 500, .retries = 1};
    cr_assert_eq(bo_pay_new(&cfg, &p2), 0);
    cr_assert_eq(bo_pay_retrieve(p2, "pi_1", &pi), BO_EGATEWAY);
    bo_pay_stats_t st;
    bo_pay_stats(p2, &st);
    cr_assert_eq(st.requests, 2);
    bo_pay_free(p2);
}

/* ---- arguments ---------------------------------------------------------- */

Test(gateway, bad_configuration_is_refused)
{
    const char *urls[] = {"http://127.0.0.1:8081", "sim:",        "sim:ftp://x",
                          "paypal:https://x",      "sim:http://", "sim:http://a b",
                          "stripe:https://x/?q=1", "sim",         NULL};
    bo_pay_t *p = (bo_pay_t *)1;
    for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
        bo_pay_config_t cfg = {.url = urls[i], .secret_key = KEY};
        cr_assert_eq(bo_pay_new(&cfg, &p), BO_EINVAL, "url %s", urls[i] ? urls[i] : "NULL");
        cr_assert_null(p);
    }
    const char *keys[] = {"", "pk_test_1", "sk_", "sk_test 1", "sk_test\r\nX: 1", NULL};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        bo_pay_config_t cfg = {.url = "stripe:https://api.stripe.com", .secret_key = keys[i]};
        cr_assert_eq(bo_pay_new(&cfg, &p), BO_EINVAL, "key %s", keys[i] ? keys[i] : "NULL");
    }
    bo_pay_config_t cfg = {.url = "stripe:https://api.stripe.com", .secret_key = "rk_live_1"};
    cr_assert_eq(bo_pay_new(&cfg, &p), 0);
    bo_pay_free(p);
}

Test(gateway, bad_arguments_send_nothing)
{
    bo_pay_intent_t pi;
    bo_pay_refund_t re;
    char long_key[300];
    memset(long_key, 'k', sizeof(long_key) - 1);
    long_key[sizeof(long_key) - 1] = '\0';
    answer(200, INTENT_NEW);
    start(2000, 0);
    cr_assert_eq(bo_pay_create_intent(pay, "k", 0, "eur", "ord_1", NULL, &pi), BO_EINVAL);
    cr_assert_eq(bo_pay_create_intent(pay, "k", 100000000, "eur", "ord_1", NULL, &pi), BO_EINVAL);
    cr_assert_eq(bo_pay_create_intent(pay, "k", 100, "euro", "ord_1", NULL, &pi), BO_EINVAL);
    cr_assert_eq(bo_pay_create_intent(pay, "k", 100, "e1r", "ord_1", NULL, &pi), BO_EINVAL);
    cr_assert_eq(bo_pay_create_intent(pay, "k", 100, "eur", "ord-1", NULL, &pi), BO_EINVAL);
    cr_assert_eq(bo_pay_create_intent(pay, "k 1", 100, "eur", "ord_1", NULL, &pi), BO_EINVAL);
    cr_assert_eq(bo_pay_create_intent(pay, "", 100, "eur", "ord_1", NULL, &pi), BO_EINVAL);
    cr_assert_eq(bo_pay_create_intent(pay, long_key, 100, "eur", "ord_1", NULL, &pi), BO_EINVAL);
    cr_assert_eq(bo_pay_create_intent(pay, NULL, 100, "eur", "ord_1", NULL, &pi), BO_EINVAL);
    cr_assert_eq(bo_pay_retrieve(pay, "pi_1/../../v1/refunds", &pi), BO_EINVAL);
    cr_assert_eq(bo_pay_retrieve(pay, "", &pi), BO_EINVAL);
    cr_assert_eq(bo_pay_confirm(pay, "pi_1", "42424242424", "k", &pi), BO_EINVAL); /* 11 */
    cr_assert_eq(bo_pay_confirm(pay, "pi_1", "42424242424242424242", "k", &pi), BO_EINVAL);
    cr_assert_eq(bo_pay_confirm(pay, "pi_1", "4242 4242 4242 4242", "k", &pi), BO_EINVAL);
    cr_assert_eq(bo_pay_confirm(pay, "pi_1", "tok_visa", "k", &pi), BO_EINVAL);
    cr_assert_eq(bo_pay_confirm(pay, "pi_1", "pm_card&amount=1", "k", &pi), BO_EINVAL);
    cr_assert_eq(bo_pay_cancel(pay, "pi_1", "k\n", &pi), BO_EINVAL);
    cr_assert_eq(bo_pay_refund(pay, "pi_1", -1, "k", &re), BO_EINVAL);
    cr_assert_eq(nreqs(), 0);
    /* The limits themselves pass: 12 and 19 digits, a 255-byte key. */
    long_key[255] = '\0';
    cr_assert_eq(bo_pay_confirm(pay, "pi_1", "424242424242", long_key, &pi), 0);
    cr_assert_eq(bo_pay_confirm(pay, "pi_1", "4242424242424242424", "k", &pi), 0);
    cr_assert_eq(nreqs(), 2);
    cr_assert_str_eq(fk.reqs[0].idem, long_key);
}

/* ---- threads ------------------------------------------------------------ */

static void *hammer(void *arg)
{
    long fails = 0;
    for (int i = 0; i < 8; i++) {
        bo_pay_intent_t pi;
        char key[32];
        snprintf(key, sizeof(key), "t%ld-%d", (long)(intptr_t)arg, i);
        fails += bo_pay_confirm(pay, "pi_3Abc", "pm_card_visa", key, &pi) != 0 ||
                 strcmp(pi.status, "succeeded") != 0;
    }
    return (void *)fails;
}

Test(gateway, one_client_serves_several_threads)
{
    pthread_t th[4];
    answer(200, INTENT_PAID);
    start(5000, 0);
    for (intptr_t i = 0; i < 4; i++)
        cr_assert_eq(pthread_create(&th[i], NULL, hammer, (void *)i), 0);
    for (int i = 0; i < 4; i++) {
        void *fails;
        pthread_join(th[i], &fails);
        cr_assert_null(fails, "thread %d failed %ld calls", i, (long)(intptr_t)fails);
    }
    cr_assert_eq(nreqs(), 32);
    bo_pay_stats_t st;
    bo_pay_stats(pay, &st);
    cr_assert_eq(st.calls, 32);
    cr_assert_eq(st.requests, 32);
}
