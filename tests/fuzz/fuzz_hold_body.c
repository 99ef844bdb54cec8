/*
 * fuzz_hold_body.c - differential libFuzzer harness for the two readers of
 * a hold request body (POST /api/v1/events/{id}/holds): the fast reader
 * (bo__hold_read_fast, src/api/hold_json.c) and the general one (jansson
 * through bo__json_object_read, src/http/request.c, then
 * bo__hold_request_read). The input is the body, read against a small
 * venue whose ids include an escaped quote, a non-ASCII one and the
 * longest allowed (64 bytes).
 *
 * The contract (an intentional difference, the reason the fast reader
 * exists): the fast reader reads a subset, and falls back to the general
 * one for everything else. So: whenever the fast reader accepts, the
 * general reader accepts the same bytes to the same request (seats in the
 * same order, no GA, no best available, the same customer); when the fast
 * reader declines, the general reader decides (the server calls it then).
 * Beyond that, the general reader's answers are checked on their own: an
 * accepted request is well formed against the venue, a refusal names a
 * field and a message. Any difference aborts with the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_internal.h"
#include "http/http_internal.h"

static const char VENUE[] =
    "{\"name\":\"Fuzz Hall\",\"focal_point\":{\"x\":50,\"y\":0},"
    "\"categories\":[{\"key\":\"P1\",\"name\":\"Premium\",\"color\":\"#c0392b\"},"
    "{\"key\":\"P2\",\"name\":\"Standard\",\"color\":\"#2980b9\"}],"
    "\"sections\":[{\"id\":\"A\",\"name\":\"Stalls\",\"rows\":["
    "{\"label\":\"1\",\"seats\":["
    "{\"id\":\"A-1-1\",\"number\":\"1\",\"x\":40,\"y\":10,\"category\":\"P1\"},"
    "{\"id\":\"A-1-2\",\"number\":\"2\",\"x\":50,\"y\":10,\"category\":\"P1\"},"
    "{\"id\":\"A-1-3\",\"number\":\"3\",\"x\":60,\"y\":10,\"category\":\"P2\"}]},"
    "{\"label\":\"2\",\"seats\":["
    "{\"id\":\"a\\\"b\",\"number\":\"1\",\"x\":45,\"y\":20,\"category\":\"P2\"},"
    "{\"id\":\"caf\\u00e9\",\"number\":\"2\",\"x\":55,\"y\":20,\"category\":\"P2\"},"
    "{\"id\":\"x y\",\"number\":\"3\",\"x\":65,\"y\":20,\"category\":\"P2\"},"
    "{\"id\":\"0123456789012345678901234567890123456789012345678901234567890123\","
    "\"number\":\"4\",\"x\":75,\"y\":20,\"category\":\"P2\"}]}]},"
    "{\"id\":\"B\",\"name\":\"Balcony\",\"rows\":[{\"label\":\"1\",\"seats\":["
    "{\"id\":\"B-1-1\",\"number\":\"1\",\"x\":50,\"y\":5,\"category\":\"P2\"}]}]}],"
    "\"ga_areas\":[{\"id\":\"floor\",\"name\":\"Floor\",\"capacity\":2000,\"category\":\"P2\"},"
    "{\"id\":\"A-1-1\",\"name\":\"Standing\",\"capacity\":10,\"category\":\"P1\"}]}";

static bo_layout_t *layout;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    if (bo_layout_parse(VENUE, sizeof(VENUE) - 1, &layout, NULL))
        abort();
    return 0;
}

/* The general reader's request, checked on its own. */
static int read_general(const char *body, size_t len, bo_hold_req_t *req, uint32_t *seats,
                        bo_ga_line_t *ga)
{
    json_t *root;
    json_error_t err;
    bo_hold_bad_t bad;
    int rc = bo__json_object_read(body, len, BO_API_JSON_DEPTH, &root, &err);
    if (rc)
        return rc;
    rc = bo__hold_request_read(root, layout, req, seats, ga, &bad);
    json_decref(root);
    if (rc) {
        if (rc != BO_EINVAL || !bad.message || !*bad.message)
            abort();
        json_decref(bad.details);
        return rc;
    }
    uint32_t kinds = (req->nseats > 0) + (req->best_quantity > 0) + (req->nga > 0);
    if (kinds != 1 || req->customer == 0 || req->nseats > BO_HOLD_MAX_SEATS ||
        req->nga > BO_HOLD_MAX_GA || req->best_quantity > BO_HOLD_MAX_SEATS)
        abort();
    for (uint32_t i = 0; i < req->nseats; i++) {
        if (req->seats[i] >= layout->nseats)
            abort();
        for (uint32_t j = 0; j < i; j++)
            if (req->seats[i] == req->seats[j])
                abort();
    }
    for (uint32_t i = 0; i < req->nga; i++)
        if (req->ga[i].area >= layout->nga || req->ga[i].quantity == 0 ||
            req->ga[i].quantity > BO_HOLD_MAX_GA_QTY)
            abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* a copy of exactly size bytes: an over-read past the body shows */
    char *body = malloc(size ? size : 1);
    if (!body)
        abort();
    memcpy(body, data, size);
    bo_hold_req_t fast = {0}, general = {0};
    uint32_t fseats[BO_HOLD_MAX_SEATS], gseats[BO_HOLD_MAX_SEATS];
    bo_ga_line_t gga[BO_HOLD_MAX_GA];
    bool fast_ok = bo__hold_read_fast(body, size, layout, &fast, fseats);
    int grc = read_general(body, size, &general, gseats, gga);
    if (fast_ok) {
        if (grc != 0 || fast.nseats == 0 || general.nseats != fast.nseats || general.nga != 0 ||
            general.best_quantity != 0 || general.best_category != BO_NONE ||
            general.best_section != BO_NONE || fast.best_category != BO_NONE ||
            fast.best_section != BO_NONE || general.customer != fast.customer ||
            fast.seats != fseats ||
            memcmp(fast.seats, general.seats, fast.nseats * sizeof(uint32_t)) != 0)
            abort();
    }
    free(body);
    return 0;
}
