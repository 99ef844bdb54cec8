/*
 * listen.c - where the server listens: "HOST:PORT" parsing, one listening
 * socket per loop thread sharing the port through SO_REUSEPORT (the kernel
 * spreads new connections over them), and the TLS context.
 *
 * Workload: runs once at start; nothing here is on the request path.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "boxoffice/error.h"
#include "http/http_internal.h"

#define LISTEN_BACKLOG 4096

static int parse_port(const char *s, uint16_t *port)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < 0 || v > 65535 || *s == '+' || *s == '-')
        return BO_EINVAL;
    *port = (uint16_t)v;
    return 0;
}

/* Split "HOST:PORT" / "[V6]:PORT" into host (copied into buf) and port. */
static int split_host_port(const char *s, char *buf, size_t cap, const char **port)
{
    const char *colon, *hs = s;
    size_t hlen;
    if (*s == '[') {
        const char *close = strchr(s, ']');
        if (!close || close[1] != ':')
            return BO_EINVAL;
        hs = s + 1;
        hlen = (size_t)(close - hs);
        colon = close + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon || memchr(s, ':', (size_t)(colon - s)))
            return BO_EINVAL; /* none, or an IPv6 address without brackets */
        hlen = (size_t)(colon - s);
    }
    if (hlen == 0 || hlen >= cap)
        return BO_EINVAL;
    memcpy(buf, hs, hlen);
    buf[hlen] = '\0';
    *port = colon + 1;
    return 0;
}

int bo__parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *len, uint16_t *port_out)
{
    char host[256];
    const char *port_s;
    uint16_t port;
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE}, *res = NULL;
    int rc = split_host_port(s, host, sizeof(host), &port_s);
    if (rc == 0)
        rc = parse_port(port_s, &port);
    if (rc)
        goto out;
    hints.ai_family = s[0] == '[' ? AF_INET6 : AF_UNSPEC;
    if (getaddrinfo(host, NULL, &hints, &res) != 0 || !res) {
        rc = BO_EINVAL;
        goto out;
    }
    memset(ss, 0, sizeof(*ss));
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *len = res->ai_addrlen;
    if (ss->ss_family == AF_INET)
        ((struct sockaddr_in *)ss)->sin_port = htons(port);
    else if (ss->ss_family == AF_INET6)
        ((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
    else
        rc = BO_EINVAL;
    *port_out = port;
out:
    if (res)
        freeaddrinfo(res);
    return rc;
}

/* A bound, listening, non-blocking socket, or -1 (errno set). */
int bo__listen_socket(const struct sockaddr_storage *ss, socklen_t len, int reuseport)
{
    int one = 1;
    int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) ||
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0)
        goto fail;
    if (ss->ss_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)))
        goto fail;
    if (bind(fd, (const struct sockaddr *)ss, len) != 0 || listen(fd, LISTEN_BACKLOG) != 0)
        goto fail;
    return fd;
fail:;
    int saved = errno;
    close(fd);
    errno = saved;
    return -1;
}

static void print_ssl_error(const char *what, const char *file)
{
    char msg[256];
    unsigned long e = ERR_get_error();
    ERR_error_string_n(e, msg, sizeof(msg));
    fprintf(stderr, "boxoffice: %s %s: %s\n", what, file, e ? msg : "unknown error");
    ERR_clear_error();
}

/* What ALPN offers: h2o's HTTP/2 identifiers (h2 first), then http/1.1,
 * which h2o's list leaves out (a client offering only http/1.1 then got no
 * ALPN answer at all). Terminated by an empty entry; built once, at start. */
static const h2o_iovec_t *alpn_protocols(void)
{
    static h2o_iovec_t list[8];
    size_t n = 0;
    for (const h2o_iovec_t *p = h2o_http2_alpn_protocols; p->len && n < 6; p++)
        list[n++] = *p;
    list[n++] = h2o_iovec_init(H2O_STRLIT("http/1.1"));
    list[n] = h2o_iovec_init(NULL, 0);
    return list;
}

/* An HTTPS context offering h2 and http/1.1 by ALPN, TLS 1.2 at least. */
int bo__tls_new(const char *cert, const char *key, SSL_CTX **out)
{
    int rc = BO_EINVAL;
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) {
        rc = BO_ENOMEM;
        goto out;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                                 SSL_OP_CIPHER_SERVER_PREFERENCE);
    if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
        print_ssl_error("cannot load the TLS certificate", cert);
        goto out;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
        print_ssl_error("cannot load the TLS key", key);
        goto out;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        print_ssl_error("the TLS key does not match the certificate", cert);
        goto out;
    }
    h2o_ssl_register_alpn_protocols(ctx, alpn_protocols());
    *out = ctx;
    ctx = NULL;
    rc = 0;
out:
    SSL_CTX_free(ctx);
    return rc;
}

/* "http://127.0.0.1:8080" or "https://[::1]:8443"; malloc'd (caller frees). */
char *bo__format_url(const struct sockaddr_storage *ss, int tls)
{
    char host[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;
    char *url = malloc(INET6_ADDRSTRLEN + 32);
    if (!url)
        return NULL;
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
        port = ntohs(a->sin_port);
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
        inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
        port = ntohs(a->sin6_port);
    }
    snprintf(url, INET6_ADDRSTRLEN + 32, "%s://%s%s%s:%u", tls ? "https" : "http",
             ss->ss_family == AF_INET6 ? "[" : "", host, ss->ss_family == AF_INET6 ? "]" : "",
             port);
    return url;
}
