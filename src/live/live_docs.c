/*
 * live_docs.c - documents (live.h): small JSON objects the API keeps beside
 * the inventories (orders, check-ins, staff tokens, keys), made durable by
 * the store in one transaction, and handed back once at start.
 *
 * Workload: a few writes per order (checkout, payment, refund) and one per
 * check-in: far rarer than holds, so each document is written whole.
 */
#include <stdlib.h>
#include <string.h>

#include "boxoffice/error.h"
#include "live/live_internal.h"

struct loaded_doc {
    struct loaded_doc *next;
    char *coll, *id, *body;
    size_t len;
};

static void doc_free(struct loaded_doc *d)
{
    free(d->coll);
    free(d->id);
    free(d->body);
    free(d);
}

int bo__live_doc_load(bo_live_t *live, const char *coll, const char *id, const char *body,
                      size_t len)
{
    struct loaded_doc *d = calloc(1, sizeof(*d));
    if (!d || !coll || !id || !(d->coll = strdup(coll)) || !(d->id = strdup(id)) ||
        !(d->body = malloc(len + 1))) {
        if (d)
            doc_free(d);
        return BO_ENOMEM;
    }
    memcpy(d->body, body, len);
    d->body[len] = '\0';
    d->len = len;
    if (!live->docs_tail)
        live->docs_tail = &live->docs;
    *live->docs_tail = d;
    live->docs_tail = &d->next;
    return 0;
}

void bo__live_docs_free(bo_live_t *live)
{
    while (live->docs) {
        struct loaded_doc *d = live->docs;
        live->docs = d->next;
        doc_free(d);
    }
    live->docs_tail = &live->docs;
}

int bo_live_take_docs(bo_live_t *live, bo_live_doc_fn fn, void *arg)
{
    int rc = 0;
    for (struct loaded_doc *d = live->docs; d && rc == 0; d = d->next)
        rc = fn(arg, d->coll, d->id, d->body, d->len);
    bo__live_docs_free(live);
    return rc;
}

struct put_docs {
    bo_rec_t rec;
    bo_live_done_fn done;
    void *arg;
};

static void put_docs_done(bo_rec_t *rec, int status)
{
    struct put_docs *p = (struct put_docs *)rec;
    bo__live_finish(p->done, p->arg, status);
    free(p);
}

int bo_live_put_docs(bo_live_t *live, const bo_doc_t *docs, uint32_t n, bo_live_done_fn done,
                     void *arg)
{
    struct put_docs *p = calloc(1, sizeof(*p));
    int rc = p ? 0 : BO_ENOMEM;
    if (rc == 0) {
        p->done = done;
        p->arg = arg;
        p->rec = (bo_rec_t){.kind = BO_REC_DOCS,
                            .at_ms = bo_live_now_ms(live),
                            .docs = docs,
                            .ndocs = n,
                            .done = put_docs_done};
        if ((rc = bo_store_submit(live->store, &p->rec)) == 0)
            return 0;
    }
    free(p);
    return rc;
}
