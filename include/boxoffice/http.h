/*
 * http.h - the HTTP server core: listening sockets, event-loop threads, a
 * router, JSON in and out, asynchronous answers, server-sent events,
 * Prometheus metrics, an access log and static files. The API layer
 * (src/api/) registers its handlers here and knows nothing of h2o.
 *
 * Workload: during an on-sale thousands of connections send small JSON
 * requests (holds of a few seats) whose answers wait for a store commit on
 * another thread; a few thousand browsers keep an SSE stream open per event.
 * Each of N threads runs its own h2o event loop and accepts from its own
 * SO_REUSEPORT socket, so threads share nothing on the hot path: a request
 * lives and is answered on the thread that accepted its connection, and
 * work finished elsewhere (a commit) is posted back to that thread.
 *
 * Threads: everything here runs on the request's loop thread unless it says
 * "any thread". Handlers must never block (no waiting for a commit).
 */
#ifndef BOXOFFICE_HTTP_H
#define BOXOFFICE_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct st_h2o_req_t;

typedef struct bo_server bo_server_t;
typedef struct bo_http_req bo_http_req_t;
typedef struct bo_http_async bo_http_async_t;
typedef struct bo_http_sse bo_http_sse_t;
typedef struct bo_metrics bo_metrics_t;

#define BO_HTTP_DEFAULT_LISTEN     "127.0.0.1:8080"
#define BO_HTTP_DEFAULT_MAX_BODY   (1u << 20)  /* bytes; past it 413 */
#define BO_HTTP_MAX_HEADERS        64u         /* request header fields; past it 431 */
#define BO_HTTP_MAX_HEADER_BYTES   (32u << 10) /* bytes of names and values; past it 431 */
#define BO_HTTP_DEFAULT_KEEPALIVE  10000u      /* ms an idle connection is kept */
#define BO_HTTP_DEFAULT_SHUTDOWN   10000u      /* ms in-flight requests get at stop */
#define BO_HTTP_MAX_THREADS        256u
#define BO_HTTP_MAX_ROUTES         256u
#define BO_HTTP_MAX_PARAMS         8u  /* {params} per route pattern */
#define BO_HTTP_MAX_SEGMENTS       16u /* path segments of a routed path */
#define BO_HTTP_SSE_HEARTBEAT_MS   15000u
#define BO_HTTP_SSE_MAX_QUEUED     (1u << 20) /* bytes queued for one slow SSE client */
#define BO_HTTP_DEFAULT_JSON_DEPTH 16u
/* Client connections open at once (HTTP/1.1 keep-alive, SSE, HTTP/2, TLS
 * handshakes); at the cap the server stops accepting until one closes, and
 * new ones wait in the kernel's backlog. */
#define BO_HTTP_DEFAULT_MAX_CONNECTIONS 16384u
#define BO_HTTP_MAX_CONNECTIONS         1000000u
/* File descriptors kept for what is not a client connection (store files,
 * the access log, gateway connections, a lingering close), plus
 * BO_HTTP_FDS_PER_THREAD per loop thread (listening socket, epoll, wake-up
 * pipe, stop socket pair). */
#define BO_HTTP_RESERVED_FDS   128u
#define BO_HTTP_FDS_PER_THREAD 8u

/* ---- the server ---------------------------------------------------------- */

typedef struct bo_server_config {
    const char *listen;           /* "HOST:PORT" or "[IPv6]:PORT"; NULL: 127.0.0.1:8080; port 0
                                     lets the kernel pick (bo_server_port) */
    unsigned threads;             /* event-loop threads; 0: one per online core */
    const char *tls_cert_file;    /* both set: HTTPS only, ALPN h2 and http/1.1 */
    const char *tls_key_file;     /* PEM */
    size_t max_body_bytes;        /* request bodies; 0: BO_HTTP_DEFAULT_MAX_BODY */
    uint32_t keepalive_ms;        /* idle keep-alive connections; 0: 10 s */
    uint32_t shutdown_timeout_ms; /* bound on finishing in-flight requests; 0: 10 s */
    const char *web_root;         /* static files for non-/api paths; NULL: none */
    const char *access_log;       /* a file (appended); NULL or "-": stderr; "off": none */
    unsigned max_connections;     /* client connections at once; 0: the default (above) */
} bo_server_config_t;

/*
 * Parse cfg, bind every thread's listening socket (SO_REUSEPORT) and load
 * the TLS certificate. Strings of cfg are copied. Raises the process's
 * open-file limit (RLIMIT_NOFILE) to what max_connections needs; when the
 * hard limit does not allow it, says so on stderr and accepts fewer
 * connections at once (bo_server_max_connections). Returns 0 and *out (the
 * caller owns it: bo_server_free), BO_EINVAL (bad listen address, web root,
 * TLS files or numbers; a message is printed on stderr), BO_EIO (cannot
 * bind or listen: message on stderr) or BO_ENOMEM.
 */
int bo_server_new(const bo_server_config_t *cfg, bo_server_t **out);
/* Free everything. Only when bo_server_run is not running. NULL: no-op. */
void bo_server_free(bo_server_t *srv);
/* The bound port (the kernel's choice when the config said 0). */
uint16_t bo_server_port(const bo_server_t *srv);
/* "http://127.0.0.1:8080" or "https://[::1]:8443"; valid as long as srv. */
const char *bo_server_url(const bo_server_t *srv);
/* Client connections srv holds open at once at most: the configured cap,
 * or less when the open-file limit could not be raised that far. */
unsigned bo_server_max_connections(const bo_server_t *srv);
/* The metrics registry of srv (valid as long as srv). */
bo_metrics_t *bo_server_metrics(bo_server_t *srv);
/* Whether bo_server_stop was called (readiness probes answer 503 then). */
int bo_server_stopping(const bo_server_t *srv);
/* Run fn(arg) when srv is freed, after the loops stopped; the last added
 * runs first. Returns 0 or BO_ENOMEM. */
int bo_server_at_free(bo_server_t *srv, void (*fn)(void *arg), void *arg);
/* Run fn(arg) as bo_server_run returns: after the loops stopped (in-flight
 * answers sent, SSE streams ended), before it returns to its caller; the
 * last added runs first. For threads of the caller's that must stop before
 * what they use is closed (the live layer). Returns 0 or BO_ENOMEM. */
int bo_server_at_stop(bo_server_t *srv, void (*fn)(void *arg), void *arg);

/*
 * A handler. Returns 0 once it answered (or began an async answer or an
 * SSE stream), or a negative BO_E* code: then the router answers with
 * bo_http_send_error(r, code, NULL, NULL) unless an answer was sent.
 */
typedef int (*bo_handler_fn)(void *arg, bo_http_req_t *r);

/*
 * Route method + pattern to fn(arg, r), before bo_server_run. A pattern is
 * "/" or "/seg/seg/..." where a segment is a literal matched exactly or
 * "{name}" capturing one non-empty segment (bo_http_param). A literal wins
 * over a capture at the same place. HEAD is served by the GET route with
 * the body left out. An unmatched path answers 404 (or, outside /api/ and
 * with a web root, a static file), a path known with other methods 405 with
 * an Allow header. Returns 0, BO_EINVAL (bad method or pattern), BO_EEXIST
 * (same method and pattern twice), BO_ESTATE (server running) or BO_ENOMEM.
 */
int bo_server_route(bo_server_t *srv, const char *method, const char *pattern, bo_handler_fn fn,
                    void *arg);
/* The same with the route's own body limit: max_body_bytes (0: the
 * server's max_body_bytes), larger or smaller than the server's. Bodies
 * past it get 413 TOO_LARGE. A limit above the server's raises the bound
 * of what the server reads from anyone, before any handler runs: a route
 * whose big bodies only some callers may send uses bo_server_route_guarded. */
int bo_server_route_max_body(bo_server_t *srv, const char *method, const char *pattern,
                             bo_handler_fn fn, void *arg, size_t max_body_bytes);

/*
 * Decide from a request's Authorization header alone (value, len bytes;
 * NULL when absent) whether its caller may send this route's big bodies:
 * 0 yes, BO_EUNAUTHORIZED (no or malformed credentials) or BO_EFORBIDDEN
 * (wrong ones). Runs on the loop thread, before any byte of the body is
 * read; must not block.
 */
typedef int (*bo_http_guard_fn)(void *arg, const char *authorization, size_t len);

/*
 * A route whose bodies may be up to max_body_bytes, larger than the
 * server's max_body_bytes, but only for callers guard(arg, …) accepts: the
 * server never reads more than its own max_body_bytes of a request before
 * a handler runs, so a bigger body is first refused by the HTTP layer,
 * which then asks guard. Refused: 401 UNAUTHORIZED (with WWW-Authenticate:
 * Bearer) or 403 FORBIDDEN, and the connection is closed, the body unread.
 * Accepted (HTTP/1.1 with a Content-Length of at most max_body_bytes): the
 * body is read (100 Continue sent if asked), fn runs as usual, and the
 * connection is closed after its answer. Over HTTP/2 (h2o 2.2.5 buffers a
 * stream's body whole and has no hook before it) such bodies are refused
 * with RST_STREAM (REFUSED_STREAM) once past the server's limit; smaller
 * ones reach fn. Returns as bo_server_route.
 */
int bo_server_route_guarded(bo_server_t *srv, const char *method, const char *pattern,
                            bo_handler_fn fn, void *arg, size_t max_body_bytes,
                            bo_http_guard_fn guard);

/*
 * Let the HTML pages of the web root connect (fetch, EventSource) to the
 * origin of url ("http://127.0.0.1:8081/v1" gives "http://127.0.0.1:8081")
 * besides their own: added to the connect-src of their
 * Content-Security-Policy. Before bo_server_run. Returns 0, BO_EINVAL (not
 * an http(s) URL of plain host characters), BO_ESTATE (running) or
 * BO_ENOMEM.
 */
int bo_server_csp_connect(bo_server_t *srv, const char *origin);

/*
 * Run the event-loop threads until bo_server_stop, then stop accepting, let
 * in-flight requests finish (at most shutdown_timeout_ms; SSE streams are
 * ended) and return 0. Async answers finished after that run their fn with
 * r = NULL. BO_ENOMEM or BO_ESTATE (already ran) otherwise. Blocks the
 * calling thread.
 */
int bo_server_run(bo_server_t *srv);
/* Make SIGTERM and SIGINT stop srv (as bo_server_stop does) and ignore
 * SIGPIPE; srv NULL makes those signals do nothing again. One server per
 * process at a time. */
void bo_server_stop_on_signals(bo_server_t *srv);
/* Ask bo_server_run to return. Any thread, and async-signal-safe (a flag
 * and a send(2) per loop): call it from a SIGTERM/SIGINT handler. */
void bo_server_stop(bo_server_t *srv);

/* ---- requests ------------------------------------------------------------ */

/* The underlying h2o request (valid until the answer is sent or the client
 * goes; include h2o.h with H2O_USE_LIBUV 0 to use it). */
struct st_h2o_req_t *bo_http_h2o_req(bo_http_req_t *r);
/* The request method ("GET"; HEAD requests say "HEAD") and the raw path
 * without the query; NUL-terminated, request memory. */
const char *bo_http_method(bo_http_req_t *r);
const char *bo_http_path(bo_http_req_t *r);
/* The matched route pattern ("/api/v1/events/{id}"), or NULL. */
const char *bo_http_route(bo_http_req_t *r);
/* The client's address ("127.0.0.1", "::1"), request memory. */
const char *bo_http_remote_addr(bo_http_req_t *r);
/* The value of route parameter name, percent-decoded, NUL-terminated, in
 * request memory; NULL when the route has no such parameter. */
const char *bo_http_param(bo_http_req_t *r, const char *name);
/*
 * The first query parameter name, percent-decoded ('+' is a space),
 * NUL-terminated, request memory, *len (may be NULL) its length; "" for
 * "?name" or "?name="; NULL when absent. A handler never sees a badly
 * encoded query: before it runs, the router answers 400 INVALID_REQUEST
 * (details.parameter) when any parameter's name or value has a bad
 * %-escape, or a NUL or invalid UTF-8 once decoded; route parameters
 * ({id}) are held to the same.
 */
const char *bo_http_query(bo_http_req_t *r, const char *name, size_t *len);
/* The first request header name (any case), NUL-terminated copy in request
 * memory, *len (may be NULL) its length; NULL when absent. */
const char *bo_http_header(bo_http_req_t *r, const char *name, size_t *len);
/* The whole request body (never past max_body_bytes: bigger requests are
 * refused before the handler runs); *len 0 and "" when none. */
const char *bo_http_body(bo_http_req_t *r, size_t *len);
/*
 * Parse the body as a JSON object: strict UTF-8, no duplicate keys,
 * nesting at most max_depth (0: BO_HTTP_DEFAULT_JSON_DEPTH). Returns 0 and
 * *out (the caller owns it: json_decref), or BO_EINVAL after answering 400
 * INVALID_REQUEST with details {reason, line, column, position}; the
 * handler then just returns 0.
 */
int bo_http_json_body(bo_http_req_t *r, json_t **out, unsigned max_depth);
/* size bytes from the request's pool, freed with the request; NULL on
 * failure. */
void *bo_http_alloc(bo_http_req_t *r, size_t size);
/* Close the connection after this answer (HTTP/1.1: Connection: close;
 * HTTP/2 streams are independent: no-op): for refusals of callers that
 * should not keep a connection (a failed admin check). */
void bo_http_close_after(bo_http_req_t *r);

/* ---- the client's address (client.c) -------------------------------------- */

/*
 * Who sent a request, for per-client limits: the peer's address, or, when
 * the peer is a trusted proxy, the right-most X-Forwarded-For address that
 * is not itself a trusted proxy (every X-Forwarded-For header, in order, as
 * one list; entries that a trusted proxy could not have written end the
 * walk). Addresses are numeric IPv4 or IPv6, printed canonically (IPv4 in
 * IPv6 as IPv4).
 */
#define BO_HTTP_ADDR_MAX    46u /* INET6_ADDRSTRLEN, with its NUL */
#define BO_HTTP_MAX_TRUSTED 64u /* networks in a trusted set */

typedef struct bo_http_net {
    uint8_t addr[16]; /* IPv6; IPv4 as ::ffff:a.b.c.d */
    uint8_t bits;     /* prefix length over those 128 bits */
} bo_http_net_t;

/* A set of trusted proxies' networks. */
typedef struct bo_http_trusted {
    bo_http_net_t nets[BO_HTTP_MAX_TRUSTED];
    unsigned n;
} bo_http_trusted_t;

/* The default set: loopback (127.0.0.0/8 and ::1). */
void bo_http_trusted_default(bo_http_trusted_t *t);
/* Add "ADDR" or "ADDR/BITS" (IPv4 or IPv6): 0, BO_EINVAL (not a network),
 * BO_ETOOLARGE (the set is full). */
int bo_http_trusted_add(bo_http_trusted_t *t, const char *cidr);
/* Whether the numeric address addr (len bytes) is in the set (false for
 * anything that is not an address). */
int bo_http_trusted_has(const bo_http_trusted_t *t, const char *addr, size_t len);
/* The client of a request from peer that carried X-Forwarded-For xff
 * (xff_len bytes, the headers' values joined by commas; NULL: none), into
 * out. Pure: for tests and for bo_http_client_addr. */
void bo_http_client_addr_of(const bo_http_trusted_t *t, const char *peer, const char *xff,
                            size_t xff_len, char out[BO_HTTP_ADDR_MAX]);
/* The client of r (t NULL: the default set), in request memory. */
const char *bo_http_client_addr(bo_http_req_t *r, const bo_http_trusted_t *t);
/* The client's network, the key of per-client caps (idempotency keys,
 * streams): an IPv4 address whole, an IPv6 one cut to its /64
 * ("2001:db8:1:2::/64"), since one subscriber gets a whole /64 and could
 * otherwise take a new address per request. _of: from an address as
 * bo_http_client_addr gives it (pure, for tests); the other in request
 * memory. */
void bo_http_client_net_of(const char *addr, char out[BO_HTTP_ADDR_MAX]);
const char *bo_http_client_net(bo_http_req_t *r, const bo_http_trusted_t *t);

/* ---- answers ------------------------------------------------------------ */
/* Every send function answers at most once per request (later calls return
 * BO_ESTATE and free what they were given), leaves the body out for HEAD,
 * and returns 0 or a negative BO_E* code. */

/* Add a response header (copied) for the answer to come: "ETag",
 * "Cache-Control", "Location", ... */
int bo_http_set_header(bo_http_req_t *r, const char *name, const char *value);
/* Answer status with body serialised compactly (application/json). Steals
 * body (NULL sends "{}"). */
int bo_http_send_json(bo_http_req_t *r, int status, json_t *body);
/*
 * Answer {"error":{"code","message","details"}} with the status and code of
 * bo_err (error.h); message NULL uses the table's; details is stolen (NULL:
 * {}). A 503 carries Retry-After: 1.
 */
int bo_http_send_error(bo_http_req_t *r, int bo_err, const char *message, json_t *details);
/* The same for a status and code outside the table (405
 * METHOD_NOT_ALLOWED, 401 UNAUTHORIZED, ...). message must not be NULL. */
int bo_http_send_error_status(bo_http_req_t *r, int status, const char *code, const char *message,
                              json_t *details);
/* Answer status with len bytes of body (copied) as content_type
 * ("text/plain; version=0.0.4" for Prometheus). */
int bo_http_send_text(bo_http_req_t *r, int status, const char *content_type, const char *body,
                      size_t len);
/* The same, taking ownership of body (from malloc; freed after sending):
 * big payloads are not copied. */
int bo_http_send_buf(bo_http_req_t *r, int status, const char *content_type, char *body,
                     size_t len);
/*
 * Conditional GET: etag is the full entity tag with its quotes ("\"v42\"").
 * When If-None-Match matches it (weakly; "*" too), answers 304 with the
 * ETag and returns 1; else adds the ETag header to the answer to come and
 * returns 0.
 */
int bo_http_not_modified(bo_http_req_t *r, const char *etag);

/* ---- asynchronous answers ------------------------------------------------ */

/*
 * Begin an answer that another thread finishes (a commit): call it in the
 * handler, start the work, return 0. The handle must be finished exactly
 * once. Returns NULL only when out of memory.
 */
bo_http_async_t *bo_http_async_begin(bo_http_req_t *r);
/*
 * Any thread: run fn(r, arg) on the request's loop thread, where fn
 * answers with the bo_http_send_* functions. r is NULL when the client went
 * away meanwhile (fn then only frees arg), or when the server has stopped
 * (then fn runs on the calling thread). fn NULL just drops the handle (the
 * handler answered itself). fn runs later, never inside this call while the
 * server runs, even on the loop thread. If fn neither answers nor begins
 * another async step, the client gets a 500. Never blocks; frees a.
 */
typedef void (*bo_http_async_fn)(bo_http_req_t *r, void *arg);
void bo_http_async_finish(bo_http_async_t *a, bo_http_async_fn fn, void *arg);

/*
 * Hold back the answers this thread finishes (bo_http_async_finish) until
 * bo_http_posts_flush, which hands each loop its share in one append with at
 * most one wake-up: for a thread that finishes answers in bursts (the
 * store's committer, a batch at a time), instead of a lock round and often
 * a wake-up per answer. Pairs nest; the outermost flush delivers.
 */
void bo_http_posts_defer(void);
void bo_http_posts_flush(void);

/* ---- server-sent events -------------------------------------------------- */

/* Called once on the loop thread when a stream ends: client gone, fell
 * behind, bo_http_sse_close, or server stop. Sends fail from then on. */
typedef void (*bo_http_sse_close_fn)(void *arg, bo_http_sse_t *sse);

/*
 * Answer 200 text/event-stream (no-cache) and keep the stream open, with a
 * comment line every BO_HTTP_SSE_HEARTBEAT_MS. Returns the stream with one
 * reference for the caller (bo_http_sse_release once it no longer
 * publishes to it, at the latest in on_close), or NULL when there is no
 * stream (an answer was sent: 200 without a body for HEAD, 503 while the
 * server stops, or out of memory). on_close may be NULL; keep arg valid
 * until it ran.
 */
bo_http_sse_t *bo_http_sse_begin(bo_http_req_t *r, bo_http_sse_close_fn on_close, void *arg);
/*
 * Any thread: queue "event: NAME\ndata: ...\n\n" (event NULL: none; each
 * line of data becomes a data: line). Returns 0, BO_ENOTFOUND when the
 * stream has ended, BO_EBUSY when the client is more than
 * BO_HTTP_SSE_MAX_QUEUED bytes behind (the stream is ended), BO_EINVAL or
 * BO_ENOMEM.
 */
int bo_http_sse_send(bo_http_sse_t *sse, const char *event, const char *data, size_t len);
/* Any thread: end the stream after what is queued; on_close follows. */
void bo_http_sse_close(bo_http_sse_t *sse);
/* Any thread: drop the caller's reference. */
void bo_http_sse_release(bo_http_sse_t *sse);

/* ---- metrics (Prometheus text exposition 0.0.4) --------------------------- */

typedef struct bo_metric bo_metric_t;
typedef struct bo_metric_series bo_metric_series_t;
typedef struct bo_metrics_out bo_metrics_out_t;

/* A family (name unique, [a-zA-Z_:][a-zA-Z0-9_:]*). Returns the family
 * (owned by the registry) or NULL (bad or taken name, out of memory). Any
 * thread. bounds: ascending histogram upper bounds, at most 32. */
bo_metric_t *bo_metrics_counter(bo_metrics_t *m, const char *name, const char *help);
bo_metric_t *bo_metrics_gauge(bo_metrics_t *m, const char *name, const char *help);
bo_metric_t *bo_metrics_histogram(bo_metrics_t *m, const char *name, const char *help,
                                  const double *bounds, unsigned nbounds);
/* The series of a family with labels ("route=\"/x\",status=\"200\"", or NULL
 * for none), created on first use; look it up once, then update it
 * lock-free. Returns NULL when out of memory. */
bo_metric_series_t *bo_metric_series(bo_metric_t *f, const char *labels);
void bo_metric_add(bo_metric_series_t *s, uint64_t n);       /* counters */
void bo_metric_set(bo_metric_series_t *s, double value);     /* gauges */
void bo_metric_observe(bo_metric_series_t *s, double value); /* histograms */

/* Collectors add values computed at scrape time (store stats, ...):
 * bo_metrics_family once per name, then its samples. */
typedef void (*bo_metrics_collect_fn)(void *arg, bo_metrics_out_t *out);
int bo_metrics_add_collector(bo_metrics_t *m, bo_metrics_collect_fn fn, void *arg);
void bo_metrics_family(bo_metrics_out_t *out, const char *name, const char *type, const char *help);
void bo_metrics_sample(bo_metrics_out_t *out, const char *name, const char *labels, double value);
/* The whole exposition text. Returns a malloc'd NUL-terminated string (the
 * caller frees it) and *len, or NULL. */
char *bo_metrics_render(bo_metrics_t *m, size_t *len);

#endif
