/*
 * static.c - the browser UI's files from --web-root: GET and HEAD only,
 * index.html for directories, a content type by extension, an ETag from
 * size and modification time (304 on If-None-Match), and never a byte from
 * outside the root: ".." segments (also percent-encoded), NUL bytes and
 * backslashes are refused with 400, and the resolved path (symlinks
 * followed) must still lie under the root's resolved path, else 404.
 *
 * Workload: a page load fetches a handful of small files; the API is where
 * the traffic is. A file is read whole into memory (at most 16 MiB) and
 * sent in one write.
 *
 * Every HTML page goes out with a Content-Security-Policy that allows
 * scripts, styles, images and connections from this origin only (plus the
 * payment simulator's origin, bo_server_csp_connect: the checkout page
 * confirms cards with it directly), no plugins, no <base>, forms posting
 * here only and no framing (frame-ancestors 'none', X-Frame-Options DENY,
 * against clickjacking), and Referrer-Policy no-referrer: order pages
 * carry the order's secret in their URL, which must not leak to another
 * site through Referer. The pages have no inline script or style.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boxoffice/error.h"
#include "http/http_internal.h"
#include "util/assert.h"
#include "util/pct.h"
#include "util/strbuf.h"

#define MAX_FILE_BYTES (16u << 20)

struct bo__static {
    char *root; /* realpath of the web root, no trailing '/' unless "/" */
    size_t root_len;
};

static const struct {
    const char *ext, *type;
} types[] = {
    {"html", "text/html; charset=utf-8"},
    {"htm", "text/html; charset=utf-8"},
    {"css", "text/css; charset=utf-8"},
    {"js", "text/javascript; charset=utf-8"},
    {"mjs", "text/javascript; charset=utf-8"},
    {"json", "application/json"},
    {"map", "application/json"},
    {"svg", "image/svg+xml"},
    {"png", "image/png"},
    {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"webp", "image/webp"},
    {"ico", "image/x-icon"},
    {"txt", "text/plain; charset=utf-8"},
    {"woff2", "font/woff2"},
    {"webmanifest", "application/manifest+json"},
};

int bo__static_new(const char *root, bo__static_t **out)
{
    struct stat st;
    bo__static_t *s = calloc(1, sizeof(*s));
    if (!s)
        return BO_ENOMEM;
    s->root = realpath(root, NULL);
    if (!s->root || stat(s->root, &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "boxoffice: the web root %s is not a readable directory\n", root);
        bo__static_free(s);
        return BO_EINVAL;
    }
    s->root_len = strlen(s->root);
    *out = s;
    return 0;
}

void bo__static_free(bo__static_t *s)
{
    if (!s)
        return;
    free(s->root);
    free(s);
}

static const char *content_type(const char *path)
{
    const char *dot = strrchr(path, '.'), *slash = strrchr(path, '/');
    if (dot && (!slash || dot > slash))
        for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
            if (!strcasecmp(dot + 1, types[i].ext))
                return types[i].type;
    return "application/octet-stream";
}

/* Decode the request path and check every segment. Returns 0 and the
 * relative path in rel (no leading '/'), or BO_EINVAL. */
static int safe_relative(const char *path, char *rel, size_t cap)
{
    size_t len = strlen(path), n;
    if (len >= cap || bo_pct_decode(path, len, rel, len, &n, 0))
        return BO_EINVAL;
    if (strchr(rel, '\\'))
        return BO_EINVAL;
    for (const char *seg = rel; *seg;) {
        const char *end = strchrnul(seg, '/');
        size_t slen = (size_t)(end - seg);
        if ((slen == 1 && seg[0] == '.') || (slen == 2 && seg[0] == '.' && seg[1] == '.'))
            return BO_EINVAL;
        seg = *end ? end + 1 : end;
    }
    size_t skip = strspn(rel, "/");
    memmove(rel, rel + skip, strlen(rel + skip) + 1);
    BO_ASSERT(rel[0] != '/' && strlen(rel) < cap); /* relative: resolve joins it under the root */
    return 0;
}

/* Resolve rel under the root (index.html for a directory), following
 * symlinks, and make sure the result is still inside the root. Returns a
 * malloc'd path (the caller frees it) or NULL. */
static char *resolve(const bo__static_t *s, const char *rel)
{
    char joined[PATH_MAX + 16];
    struct stat st;
    int n = snprintf(joined, sizeof(joined), "%s/%s", s->root, rel);
    if (n < 0 || (size_t)n >= PATH_MAX)
        return NULL;
    char *real = realpath(joined, NULL);
    if (real && stat(real, &st) == 0 && S_ISDIR(st.st_mode)) {
        n = snprintf(joined, sizeof(joined), "%s/index.html", real);
        free(real);
        real = (n > 0 && (size_t)n < PATH_MAX) ? realpath(joined, NULL) : NULL;
    }
    if (!real)
        return NULL;
    bool inside = !strncmp(real, s->root, s->root_len) &&
                  (real[s->root_len] == '/' || (s->root_len == 1 && real[0] == '/'));
    if (!inside) {
        free(real);
        return NULL;
    }
    return real;
}

/* Read a regular file whole. Returns 0 with *buf (malloc'd) and *st, or
 * BO_ENOTFOUND / BO_ETOOLARGE / BO_EIO / BO_ENOMEM. */
static int read_file(const char *path, char **buf, struct stat *st)
{
    int rc = BO_ENOTFOUND, fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    char *data = NULL;
    size_t got = 0;
    if (fd < 0 || fstat(fd, st) != 0 || !S_ISREG(st->st_mode))
        goto out;
    rc = (size_t)st->st_size > MAX_FILE_BYTES ? BO_ETOOLARGE : BO_ENOMEM;
    if (rc == BO_ETOOLARGE || !(data = malloc((size_t)st->st_size + 1)))
        goto out;
    while (got < (size_t)st->st_size) {
        ssize_t r = pread(fd, data + got, (size_t)st->st_size - got, (off_t)got);
        if (r <= 0) {
            rc = BO_EIO;
            goto out;
        }
        got += (size_t)r;
    }
    *buf = data;
    data = NULL;
    rc = 0;
out:
    free(data);
    if (fd >= 0)
        close(fd);
    return rc;
}

#define CSP_FMT                                                                                    \
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "                    \
    "connect-src 'self'%s%s; object-src 'none'; base-uri 'none'; form-action 'self'; "             \
    "frame-ancestors 'none'"

static void html_headers(bo_http_req_t *r)
{
    const char *more = r->loop->srv->csp_connect;
    size_t cap = sizeof(CSP_FMT) + (more ? strlen(more) : 0);
    char *csp = bo_http_alloc(r, cap);
    snprintf(csp, cap, CSP_FMT, more ? " " : "", more ? more : "");
    bo_http_set_header(r, "content-security-policy", csp);
    bo_http_set_header(r, "x-frame-options", "DENY");
}

/* "scheme://host[:port]" of an http(s) URL: 0 and the origin's length, or
 * BO_EINVAL. */
static int origin_len(const char *url, size_t *len)
{
    size_t skip = !strncmp(url, "http://", 7) ? 7 : !strncmp(url, "https://", 8) ? 8 : 0;
    size_t n = skip + strcspn(url + skip, "/?#");
    if (!skip || n == skip)
        return BO_EINVAL;
    for (size_t i = skip; i < n; i++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]_", url[i]))
            return BO_EINVAL;
    *len = n;
    return 0;
}

int bo_server_csp_connect(bo_server_t *srv, const char *url)
{
    size_t n, old = srv->csp_connect ? strlen(srv->csp_connect) : 0;
    if (srv->ran)
        return BO_ESTATE;
    if (!url || origin_len(url, &n))
        return BO_EINVAL;
    bo_buf_t b;
    bo_buf_init(&b, old + n + 2);
    if (old) {
        bo_buf_put(&b, srv->csp_connect, old);
        bo_buf_put(&b, " ", 1);
    }
    bo_buf_put(&b, url, n);
    char *joined = bo_buf_take(&b, NULL);
    if (!joined)
        return BO_ENOMEM;
    free(srv->csp_connect);
    srv->csp_connect = joined;
    return 0;
}

int bo__static_serve(bo__static_t *s, bo_http_req_t *r)
{
    char rel[PATH_MAX], etag[64];
    struct stat st;
    char *data = NULL, *path = NULL;
    int rc = 0;
    if (safe_relative(r->path, rel, sizeof(rel))) {
        bo_http_send_error(r, BO_EINVAL, "path not allowed", NULL);
        goto out;
    }
    if (!(path = resolve(s, rel)) || (rc = read_file(path, &data, &st)) != 0) {
        bo_http_send_error(r, rc ? rc : BO_ENOTFOUND, rc ? NULL : "no such file", NULL);
        goto out;
    }
    snprintf(etag, sizeof(etag), "\"%llx-%llx\"", (unsigned long long)st.st_size,
             (unsigned long long)st.st_mtim.tv_sec * 1000000000ull +
                 (unsigned long long)st.st_mtim.tv_nsec);
    bo_http_set_header(r, "cache-control", "no-cache");
    bo_http_set_header(r, "referrer-policy", "no-referrer");
    if (!strncmp(content_type(path), "text/html", 9))
        html_headers(r);
    if (bo_http_not_modified(r, etag))
        goto out;
    bo_http_send_buf(r, 200, content_type(path), data, (size_t)st.st_size);
    data = NULL;
out:
    free(data);
    free(path);
    return 0;
}
