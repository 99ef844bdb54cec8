/*
 * head.c - the raw head of an HTTP/1 request, read again. h2o (2.2.5)
 * frames a request body by the last Transfer-Encoding header, else the
 * first Content-Length, and takes both out of req->headers, so a request
 * carrying both, or two different lengths, reaches a handler looking
 * innocent while a proxy in front may have framed it the other way
 * (request smuggling). The head is still at the start of the connection's
 * input when the handler runs (h2o consumes it once the answer is
 * written), so it is parsed again here with the parser h2o used,
 * picohttpparser, from the same library: both see the same headers.
 *
 * Workload: once per HTTP/1 request that has a body (a head of a few
 * hundred bytes: well under a microsecond), and for the rare bodies past
 * the server's limit (guard.c).
 */
#include <string.h>

#include "http/http_internal.h"

/* picohttpparser, as built into libh2o-evloop (its header is not
 * installed; this is its stable public interface). */
struct phr_header {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
};
int phr_parse_request(const char *buf, size_t len, const char **method, size_t *method_len,
                      const char **path, size_t *path_len, int *minor_version,
                      struct phr_header *headers, size_t *num_headers, size_t last_len);

static bool name_is(const struct phr_header *h, const char *lower, size_t n)
{
    return h->name && h->name_len == n && h2o_lcstris(h->name, n, lower, n);
}

static void add_length(bo__http1_head_t *out, const struct phr_header *h)
{
    size_t v = h2o_strtosize(h->value, h->value_len);
    if (out->n_content_length++ == 0)
        out->content_length = v;
    else if (v != out->content_length || v == SIZE_MAX)
        out->lengths_differ = true;
}

int bo__http1_head(h2o_req_t *req, bo__http1_head_t *out)
{
    struct phr_header headers[H2O_MAX_HEADERS];
    size_t nheaders = H2O_MAX_HEADERS, mlen, plen;
    const char *m, *p;
    int minor;
    memset(out, 0, sizeof(*out));
    out->content_length = SIZE_MAX;
    h2o_conn_t *conn = req->conn;
    h2o_socket_t *sock = req->version < 0x200 && conn->callbacks->get_socket
                             ? conn->callbacks->get_socket(conn)
                             : NULL;
    if (!sock || !sock->input)
        return -1;
    size_t avail = sock->input->size < H2O_MAX_REQLEN ? sock->input->size : H2O_MAX_REQLEN;
    int n = phr_parse_request(sock->input->bytes, avail, &m, &mlen, &p, &plen, &minor, headers,
                              &nheaders, 0);
    if (n <= 0)
        return -1;
    out->len = (size_t)n;
    for (size_t i = 0; i < nheaders; i++) {
        const struct phr_header *h = &headers[i];
        if (name_is(h, "content-length", 14))
            add_length(out, h);
        else if (name_is(h, "transfer-encoding", 17))
            out->n_transfer_encoding++;
        else if (name_is(h, "expect", 6))
            out->expect_continue = h2o_lcstris(h->value, h->value_len, H2O_STRLIT("100-continue"));
    }
    return 0;
}

const char *bo__http1_framing_problem(const bo__http1_head_t *h)
{
    if (h->n_transfer_encoding && h->n_content_length)
        return "Content-Length and Transfer-Encoding together";
    if (h->n_transfer_encoding > 1)
        return "more than one Transfer-Encoding";
    if (h->lengths_differ)
        return "Content-Length values that differ";
    return NULL;
}
