/*
 * client.c - who sent a request (http.h "the client's address"): the key of
 * per-client limits. Behind a reverse proxy every peer is the proxy, so
 * the proxy's X-Forwarded-For is believed, but only from a trusted peer,
 * and only as far as it was written by trusted proxies: walking the list
 * from the right (the entry the nearest proxy appended), each trusted
 * address is another proxy, and the first one that is not is the client.
 * Entries further left were written by the client itself and prove
 * nothing.
 *
 * Workload: every hold, checkout, card attempt and queue join asks for its
 * client (its limits, its caps, its idempotency key), so the answer is
 * worked out once per request and kept on it; a list of a few networks and
 * a header of a few addresses: linear scans are right.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boxoffice/error.h"
#include "http/http_internal.h"
#include "util/assert.h"

/* addr (len bytes: "1.2.3.4", "::1", "[::1]", "1.2.3.4:80", "[::1]:80")
 * as 16 bytes (IPv4 mapped); false when it is not an address. */
static bool parse_addr(const char *s, size_t len, uint8_t out[16])
{
    char buf[BO_HTTP_ADDR_MAX + 8];
    while (len && (*s == ' ' || *s == '\t'))
        s++, len--;
    while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
        len--;
    if (len && s[0] == '[') { /* [v6] or [v6]:port */
        const char *end = memchr(s, ']', len);
        if (!end)
            return false;
        len = (size_t)(end - s - 1);
        s++;
    } else if (len) { /* v4:port has one colon, IPv6 two or more */
        const char *colon = memchr(s, ':', len);
        if (colon && !memchr(colon + 1, ':', len - (size_t)(colon + 1 - s)))
            len = (size_t)(colon - s);
    }
    if (len == 0 || len >= sizeof(buf))
        return false;
    memcpy(buf, s, len);
    buf[len] = '\0';
    struct in_addr v4;
    if (inet_pton(AF_INET, buf, &v4) == 1) {
        memset(out, 0, 10);
        out[10] = out[11] = 0xff;
        memcpy(out + 12, &v4, 4);
        return true;
    }
    return inet_pton(AF_INET6, buf, out) == 1;
}

static void format_addr(const uint8_t a[16], char out[BO_HTTP_ADDR_MAX])
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(a, mapped, 12) == 0)
        inet_ntop(AF_INET, a + 12, out, BO_HTTP_ADDR_MAX);
    else
        inet_ntop(AF_INET6, a, out, BO_HTTP_ADDR_MAX);
}

static bool in_net(const bo_http_net_t *n, const uint8_t a[16])
{
    unsigned full = n->bits / 8, rest = n->bits % 8;
    BO_ASSERT(n->bits <= 128); /* bo_http_trusted_add's */
    if (memcmp(n->addr, a, full) != 0)
        return false;
    if (rest == 0)
        return true;
    uint8_t mask = (uint8_t)(0xff << (8 - rest));
    return (n->addr[full] & mask) == (a[full] & mask);
}

static bool trusted(const bo_http_trusted_t *t, const uint8_t a[16])
{
    for (unsigned i = 0; i < t->n; i++)
        if (in_net(&t->nets[i], a))
            return true;
    return false;
}

int bo_http_trusted_add(bo_http_trusted_t *t, const char *cidr)
{
    BO_ASSERT(t != NULL && cidr != NULL);
    const char *slash = strchr(cidr, '/');
    size_t len = slash ? (size_t)(slash - cidr) : strlen(cidr);
    bo_http_net_t n = {.bits = 128};
    bool v4 = memchr(cidr, '.', len) != NULL;
    if (len == 0 || strspn(cidr, v4 ? "0123456789." : "0123456789abcdefABCDEF:") < len ||
        !parse_addr(cidr, len, n.addr))
        return BO_EINVAL;
    if (slash) {
        char *end;
        long bits = strtol(slash + 1, &end, 10);
        if (end == slash + 1 || *end || bits < 0 || bits > (v4 ? 32 : 128))
            return BO_EINVAL;
        n.bits = (uint8_t)(v4 ? 96 + bits : bits);
    }
    for (unsigned i = n.bits; i < 128; i++) /* the host part is not part of the network */
        n.addr[i / 8] &= (uint8_t) ~(0x80u >> (i % 8));
    if (t->n >= BO_HTTP_MAX_TRUSTED)
        return BO_ETOOLARGE;
    t->nets[t->n++] = n;
    return 0;
}

void bo_http_trusted_default(bo_http_trusted_t *t)
{
    memset(t, 0, sizeof(*t));
    bo_http_trusted_add(t, "127.0.0.0/8");
    bo_http_trusted_add(t, "::1");
}

int bo_http_trusted_has(const bo_http_trusted_t *t, const char *addr, size_t len)
{
    uint8_t a[16];
    BO_ASSERT(t != NULL && t->n <= BO_HTTP_MAX_TRUSTED && (addr != NULL || len == 0));
    return parse_addr(addr, len, a) && trusted(t, a);
}

void bo_http_client_addr_of(const bo_http_trusted_t *t, const char *peer, const char *xff,
                            size_t xff_len, char out[BO_HTTP_ADDR_MAX])
{
    uint8_t client[16], a[16];
    if (!parse_addr(peer, strlen(peer), client)) {
        snprintf(out, BO_HTTP_ADDR_MAX, "%s", peer); /* "unknown": one shared key */
        return;
    }
    /* from the right: each trusted hop vouches for the entry on its left */
    size_t end = xff ? xff_len : 0;
    while (trusted(t, client) && end > 0) {
        size_t start = end;
        while (start > 0 && xff[start - 1] != ',')
            start--;
        if (!parse_addr(xff + start, end - start, a))
            break; /* no trusted proxy wrote this: the last hop is all we know */
        memcpy(client, a, 16);
        end = start ? start - 1 : 0;
    }
    format_addr(client, out);
}

const char *bo_http_client_addr(bo_http_req_t *r, const bo_http_trusted_t *t)
{
    bo_http_trusted_t def;
    if (r->client && r->client_of == t)
        return r->client;
    const bo_http_trusted_t *asked = t;
    if (!t) {
        bo_http_trusted_default(&def);
        t = &def;
    }
    char *out = bo_http_alloc(r, BO_HTTP_ADDR_MAX);
    const char *peer = bo_http_remote_addr(r);
    if (!out)
        return peer;
    /* every X-Forwarded-For header, in order, as one list (headers are
     * bounded by the server's header limit) */
    const h2o_headers_t *hs = &r->req->headers;
    size_t total = 0, n = 0;
    for (ssize_t i = -1; (i = h2o_find_header(hs, H2O_TOKEN_X_FORWARDED_FOR, i)) != -1;)
        total += hs->entries[i].value.len + 1;
    char *xff = total ? bo_http_alloc(r, total) : NULL;
    for (ssize_t i = -1; xff && (i = h2o_find_header(hs, H2O_TOKEN_X_FORWARDED_FOR, i)) != -1;) {
        if (n)
            xff[n++] = ',';
        memcpy(xff + n, hs->entries[i].value.base, hs->entries[i].value.len);
        n += hs->entries[i].value.len;
    }
    bo_http_client_addr_of(t, peer, xff, n, out);
    r->client_of = asked;
    r->client = out;
    return out;
}

void bo_http_client_net_of(const char *addr, char out[BO_HTTP_ADDR_MAX])
{
    uint8_t a[16];
    struct in6_addr v6;
    if (!strchr(addr, ':') || inet_pton(AF_INET6, addr, &v6) != 1) {
        snprintf(out, BO_HTTP_ADDR_MAX, "%s", addr);
        return;
    }
    memcpy(a, &v6, 16);
    memset(a + 8, 0, 8); /* one subscriber's network: its /64 */
    format_addr(a, out);
    size_t len = strlen(out);
    if (len + 3 < BO_HTTP_ADDR_MAX)
        memcpy(out + len, "/64", 4);
}

const char *bo_http_client_net(bo_http_req_t *r, const bo_http_trusted_t *t)
{
    const char *addr = bo_http_client_addr(r, t);
    char *out = bo_http_alloc(r, BO_HTTP_ADDR_MAX);
    if (!out)
        return addr;
    bo_http_client_net_of(addr, out);
    return out;
}
