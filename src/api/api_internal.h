/*
 * api_internal.h - state and helpers shared by the files of src/api/: one
 * file per resource (venues.c, events.c, seatmap.c, availability.c,
 * holds.c, ...), each with a registration function called from
 * bo_api_register, plus the shared pieces: auth.c (admin token), idem.c
 * (Idempotency-Key), catalog.c (events' meta parsed for requests), ids.c.
 */
#ifndef BOXOFFICE_API_INTERNAL_H
#define BOXOFFICE_API_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>

#include "api/ids.h"
#include "boxoffice/api.h"
#include "boxoffice/error.h"

struct bo_catalog; /* catalog.c */
struct bo_streams; /* availability.c */

typedef struct bo_api {
    bo_server_t *srv;
    bo_live_t *live;
    char *admin_token;
    int demo;
    char *payment, *payment_secret_key_file, *payment_webhook_secret_file;
    size_t max_body_bytes;
    /* readiness: commit counters at the last probe */
    pthread_mutex_t ready_mu;
    uint64_t seen_commits, seen_failures;
    bool failing;
    /* the resources' state */
    struct bo_catalog *catalog;
    struct bo_streams *streams;
} bo_api_t;

#endif
