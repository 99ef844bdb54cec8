/*
 * error.h - the one error enum of boxoffice and its mapping to HTTP.
 *
 * Every function that can fail returns 0 or a negative BO_E* code. One table
 * (src/util/error.c) maps each code to a message, an HTTP status and the API
 * error code string used in {"error":{"code":...}}.
 */
#ifndef BOXOFFICE_ERROR_H
#define BOXOFFICE_ERROR_H

/* X(name, value, http_status, api_code, message) */
#define BO_ERRNO_MAP(X)                                                                            \
    X(EINVAL, -1, 400, "INVALID_REQUEST", "invalid request")                                       \
    X(ENOMEM, -2, 503, "OUT_OF_MEMORY", "out of memory")                                           \
    X(ENOTFOUND, -3, 404, "NOT_FOUND", "not found")                                                \
    X(EUNAVAILABLE, -4, 409, "SEATS_UNAVAILABLE", "some seats are not available")                  \
    X(EEXPIRED, -5, 410, "HOLD_EXPIRED", "the hold has expired")                                   \
    X(ESTATE, -6, 409, "INVALID_STATE", "not allowed in the current state")                        \
    X(ELIMIT, -7, 422, "LIMIT_EXCEEDED", "per-customer limit exceeded")                            \
    X(EFULL, -8, 503, "CAPACITY_EXHAUSTED", "too many live holds, retry later")                    \
    X(ETOOLARGE, -9, 413, "TOO_LARGE", "request too large")                                        \
    X(EIO, -10, 503, "STORE_UNAVAILABLE", "the store could not commit, retry later")               \
    X(EBUSY, -11, 503, "BUSY", "too many pending writes, retry later")                             \
    X(ENOSEATS, -12, 409, "SOLD_OUT", "no seats fit the request")                                  \
    X(EFENCED, -13, 503, "NOT_OWNER", "this node no longer owns the event")                        \
    X(EEXIST, -14, 409, "ALREADY_EXISTS", "already exists")                                        \
    X(ECORRUPT, -15, 500, "CORRUPT", "stored data is inconsistent")                                \
    X(ECANCELED, -16, 503, "CANCELED", "aborted because an earlier write failed, retry")           \
    X(EUNAUTHORIZED, -17, 401, "UNAUTHORIZED", "missing or malformed credentials")                 \
    X(EFORBIDDEN, -18, 403, "FORBIDDEN", "these credentials may not do this")                      \
    X(EMETHOD, -19, 405, "METHOD_NOT_ALLOWED", "method not allowed on this path")                  \
    X(EIDEMMISMATCH, -20, 422, "IDEMPOTENCY_MISMATCH",                                             \
      "this Idempotency-Key was used with another request")                                        \
    X(EIDEMBUSY, -21, 409, "IDEMPOTENCY_IN_PROGRESS",                                              \
      "a request with this Idempotency-Key is in progress")                                        \
    X(ENOTONSALE, -22, 422, "NOT_ON_SALE", "the event is not on sale")                             \
    X(ESEATMAP, -23, 400, "INVALID_SEATMAP", "the seat map is invalid")                            \
    X(ERATE, -24, 429, "RATE_LIMITED", "too many requests, slow down")                             \
    X(EGONE, -25, 410, "GONE", "no longer available")                                              \
    X(EDECLINED, -26, 402, "PAYMENT_DECLINED", "the payment was declined")                         \
    X(EGATEWAY, -27, 503, "GATEWAY_UNAVAILABLE",                                                   \
      "the payment gateway did not answer, retry later")                                           \
    X(ESIGNATURE, -28, 400, "INVALID_SIGNATURE", "the signature does not verify")                  \
    X(EORDERBUSY, -29, 409, "ORDER_BUSY",                                                          \
      "another step of this order is in progress, retry in a moment")                              \
    X(ECAP, -30, 429, "RATE_LIMITED",                                                              \
      "this address holds as many seats or holds of the event as it may")                          \
    X(EQUEUEREQUIRED, -40, 403, "QUEUE_REQUIRED",                                                  \
      "this event has a waiting room: a valid queue pass is required")                             \
    X(EQUEUENOTOPEN, -41, 409, "QUEUE_NOT_OPEN", "the waiting room is not open yet")               \
    X(EPOWREQUIRED, -42, 403, "POW_REQUIRED", "a proof of work is required to join")               \
    X(EQUEUEFULL, -43, 503, "QUEUE_FULL", "the waiting room is full, retry later")

enum bo_errno {
    BO_OK = 0,
#define BO__ERR_ENUM(name, value, status, code, msg) BO_##name = (value),
    BO_ERRNO_MAP(BO__ERR_ENUM)
#undef BO__ERR_ENUM
};

/* A static, human-readable message for err (0 gives "ok"). */
const char *bo_strerror(int err);
/* The API error code ("SEATS_UNAVAILABLE"); "INTERNAL" for unknown codes. */
const char *bo_err_code(int err);
/* The HTTP status that answers err; 500 for unknown codes, 200 for 0. */
int bo_err_http_status(int err);

#endif
