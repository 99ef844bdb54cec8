/*
 * venues.c - POST /api/v1/venues (admin): import a venue's seat map (the
 * format of DESIGN.md, plus an optional city and address), validated
 * whole: every problem is reported with its JSON path (400
 * INVALID_SEATMAP), and nothing is stored unless the map is valid.
 *
 * Workload: rare, but big: a 200,000-seat map is ~20 MB of JSON (the route
 * takes up to BO_LAYOUT_MAX_BYTES), and parsing and indexing it takes
 * around a second. So the work runs on a thread of its own, never on an
 * event loop, with at most MAX_IMPORTS at once (then 503 BUSY); the answer
 * comes back through the async layer once the venue is durable.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/api_internal.h"

#define MAX_IMPORTS 2 /* imports parsing at once: each may hold ~1 GB of JSON tree */

/* The imports under way, and their threads (waited for at server stop, so
 * none outlives the live layer). */
struct bo_imports {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    unsigned running; /* until answered */
    unsigned threads; /* until import_main returns */
};

struct import {
    bo_api_t *api;
    bo_http_async_t *a;
    bo_idem_t idem;
    char *body; /* a copy: the request may go while we parse */
    size_t len;
    char *meta; /* {"city","address"} */
    uint64_t venue;
    bo_problems_t probs;
};

static void import_free(struct import *im)
{
    struct bo_imports *all = im->api->imports;
    pthread_mutex_lock(&all->mu);
    all->running--;
    pthread_mutex_unlock(&all->mu);
    free(im->body);
    free(im->meta);
    bo_problems_free(&im->probs);
    free(im);
}

/* ---- answers ---------------------------------------------------------------------------- */

static json_t *venue_json(bo_api_t *api, uint64_t venue)
{
    const bo_layout_t *l = bo_live_venue(api->live, venue);
    bo_venue_info_t v;
    char id[BO_ID_VENUE_LEN + 1];
    if (!l || bo_catalog_venue(api->catalog, venue, &v))
        return NULL;
    bo_id_venue(id, venue);
    return json_pack("{s:{s:s,s:s,s:o,s:o,s:I,s:I,s:I,s:I}}", "venue", "id", id, "name", v.name,
                     "city", v.has_city ? json_string(v.city) : json_null(), "address",
                     v.address[0] ? json_string(v.address) : json_null(), "seats",
                     (json_int_t)l->nseats, "sections", (json_int_t)l->nsections, "rows",
                     (json_int_t)l->nrows, "ga_areas", (json_int_t)l->nga);
}

/* 400 INVALID_SEATMAP with every problem kept (mine first) and the total. */
static void refuse_seatmap(struct import *im, const bo_problems_t *mine)
{
    json_t *list = json_array();
    size_t total = mine->total + im->probs.total;
    for (size_t i = 0; list && i < mine->n; i++)
        json_array_append_new(list, json_string(mine->items[i]));
    for (size_t i = 0; list && i < im->probs.n && json_array_size(list) < BO_LAYOUT_MAX_PROBLEMS;
         i++)
        json_array_append_new(list, json_string(im->probs.items[i]));
    char message[64];
    snprintf(message, sizeof(message), "the seat map has %zu problem%s", total,
             total == 1 ? "" : "s");
    bo__idem_end(im->api, &im->idem, 0, NULL, 0); /* bad input is not stored */
    bo__idem_reply_error(im->api, &im->idem, im->a, BO_ESEATMAP, message,
                         json_pack("{s:o,s:I}", "problems", list, "total", (json_int_t)total));
}

/* The venue's commit, or its refusal (on the calling thread). */
static void imported(void *arg, const bo_live_result_t *res)
{
    struct import *im = arg;
    bo_api_t *api = im->api;
    int rc = res->status;
    if (rc == BO_EEXIST && im->idem.on)
        rc = 0; /* made by an earlier try with this key: answer with it */
    else if (rc == 0)
        rc = bo_catalog_put_venue(api->catalog, im->venue, im->meta);
    if (rc == BO_EINVAL) {
        refuse_seatmap(im, &(bo_problems_t){0});
    } else if (rc) {
        bo__idem_reply_error(api, &im->idem, im->a, rc, NULL, NULL);
    } else {
        json_t *doc = venue_json(api, im->venue);
        char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
        json_decref(doc);
        if (text)
            bo__idem_reply(api, &im->idem, im->a, 201, text, strlen(text), NULL, true);
        else
            bo__idem_reply_error(api, &im->idem, im->a, BO_ENOMEM, NULL, NULL);
    }
    import_free(im);
}

/* ---- the import, on its own thread ---------------------------------------------------------- */

/* Parse once for the meta and the body's shape; the live layer parses the
 * seat map itself. Returns 0, or answers and returns nonzero. */
static int read_meta(struct import *im)
{
    json_error_t err;
    bo_problems_t mine = {0};
    json_t *root = json_loadb(im->body, im->len, JSON_REJECT_DUPLICATES, &err);
    if (!root) {
        bo__idem_end(im->api, &im->idem, 0, NULL, 0); /* bad input is not stored */
        bo__idem_reply_error(
            im->api, &im->idem, im->a, BO_EINVAL, "the body is not valid JSON",
            json_pack("{s:s,s:i,s:i}", "reason", err.text, "line", err.line, "column", err.column));
        return 1;
    }
    im->meta = bo_catalog_fields_venue(root, &mine);
    json_decref(root);
    int rc = mine.total || !im->meta;
    if (mine.total) { /* report the map's own problems too */
        bo_layout_t *l = NULL;
        if (bo_layout_parse(im->body, im->len, &l, &im->probs) == 0)
            bo_layout_free(l);
        refuse_seatmap(im, &mine);
    } else if (!im->meta) {
        bo__idem_reply_error(im->api, &im->idem, im->a, BO_ENOMEM, NULL, NULL);
    }
    bo_problems_free(&mine);
    return rc;
}

static void *import_main(void *arg)
{
    struct import *im = arg;
    struct bo_imports *all = im->api->imports;
    if (read_meta(im)) {
        import_free(im);
    } else {
        im->venue = im->idem.on ? bo_id_from_key("venue", im->idem.key) : bo_id_random();
        /* imported() answers and frees im, maybe before this returns */
        int rc = bo_live_add_venue_meta(im->api->live, im->venue, im->body, im->len, im->meta,
                                        &im->probs, imported, im);
        if (rc)
            imported(im, &(bo_live_result_t){.status = rc}); /* refused: answered now */
    }
    pthread_mutex_lock(&all->mu);
    all->threads--;
    pthread_cond_broadcast(&all->cv);
    pthread_mutex_unlock(&all->mu);
    return NULL;
}

/* ---- the request ------------------------------------------------------------------------- */

/* Absent, application/json or a type ending in +json (parameters aside). */
static bool json_content_type(bo_http_req_t *r)
{
    size_t len;
    const char *v = bo_http_header(r, "content-type", &len);
    if (!v)
        return true;
    const char *end = memchr(v, ';', len);
    end = end ? end : v + len;
    while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    size_t n = (size_t)(end - v);
    return (n == 16 && !strncasecmp(v, "application/json", 16)) ||
           (n > 5 && memchr(v, '/', n) && !strncasecmp(end - 5, "+json", 5));
}

static int on_venue(void *arg, bo_http_req_t *r)
{
    bo_api_t *api = arg;
    size_t len;
    int rc = bo__api_admin(api, r);
    if (rc)
        return rc;
    if (!json_content_type(r))
        return bo_http_send_error(r, BO_EINVAL,
                                  "the body must be JSON (Content-Type: application/json)",
                                  json_pack("{ss}", "field", "Content-Type"));
    const char *body = bo_http_body(r, &len);
    if (len == 0)
        return bo_http_send_error(r, BO_EINVAL, "the request body is empty; a seat map is expected",
                                  NULL);
    struct bo_imports *all = api->imports;
    struct import *im = calloc(1, sizeof(*im));
    if (!im)
        return BO_ENOMEM;
    im->api = api;
    pthread_mutex_lock(&all->mu);
    bool busy = all->running >= MAX_IMPORTS;
    all->running += !busy;
    pthread_mutex_unlock(&all->mu);
    if (busy) {
        free(im);
        return bo_http_send_error(r, BO_EBUSY, "other venue imports are running, retry later",
                                  NULL);
    }
    if (bo__idem_begin(api, r, &im->idem)) {
        import_free(im);
        return 0;
    }
    pthread_t tid;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    im->len = len;
    if ((im->body = malloc(len)) && (im->a = bo_http_async_begin(r))) {
        memcpy(im->body, body, len);
        pthread_mutex_lock(&all->mu);
        all->threads++;
        rc = pthread_create(&tid, &attr, import_main, im);
        all->threads -= rc != 0;
        pthread_mutex_unlock(&all->mu);
        if (rc == 0) {
            pthread_attr_destroy(&attr);
            return 0;
        }
        bo__idem_reply_error(api, &im->idem, im->a, BO_ENOMEM, NULL, NULL);
        import_free(im);
        pthread_attr_destroy(&attr);
        return 0;
    }
    pthread_attr_destroy(&attr);
    bo__idem_end(api, &im->idem, 0, NULL, 0);
    import_free(im);
    return BO_ENOMEM;
}

/* Server stop: the import threads finish (seconds at most) before the live
 * layer closes. */
static void imports_wait(void *arg)
{
    struct bo_imports *all = arg;
    pthread_mutex_lock(&all->mu);
    while (all->threads > 0)
        pthread_cond_wait(&all->cv, &all->mu);
    pthread_mutex_unlock(&all->mu);
}

static void imports_free(void *arg)
{
    struct bo_imports *all = arg;
    imports_wait(all);
    pthread_cond_destroy(&all->cv);
    pthread_mutex_destroy(&all->mu);
    free(all);
}

int bo__api_venues_register(bo_api_t *api)
{
    struct bo_imports *all = calloc(1, sizeof(*all));
    if (!all)
        return BO_ENOMEM;
    pthread_mutex_init(&all->mu, NULL);
    pthread_cond_init(&all->cv, NULL);
    int rc = bo_server_at_free(api->srv, imports_free, all);
    if (rc) {
        imports_free(all);
        return rc;
    }
    api->imports = all;
    if ((rc = bo_server_at_stop(api->srv, imports_wait, all)) != 0)
        return rc;
    /* up to 64 MiB, but only from the admin: checked on the headers,
     * before the body is read (anyone else gets the server's limit) */
    return bo_server_route_guarded(api->srv, "POST", "/api/v1/venues", on_venue, api,
                                   BO_LAYOUT_MAX_BYTES, bo__api_admin_guard);
}
