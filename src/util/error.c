/*
 * error.c - the table behind error.h. Looked up once per failed request.
 */
#include "boxoffice/error.h"

struct row {
    int err;
    int status;
    const char *code;
    const char *msg;
};

static const struct row rows[] = {
#define BO__ERR_ROW(name, value, status, code, msg) {(value), (status), (code), (msg)},
    BO_ERRNO_MAP(BO__ERR_ROW)
#undef BO__ERR_ROW
};

static const struct row *find(int err)
{
    for (unsigned i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        if (rows[i].err == err)
            return &rows[i];
    return 0;
}

const char *bo_strerror(int err)
{
    const struct row *r = find(err);
    return err == 0 ? "ok" : r ? r->msg : "internal error";
}

const char *bo_err_code(int err)
{
    const struct row *r = find(err);
    return err == 0 ? "OK" : r ? r->code : "INTERNAL";
}

int bo_err_http_status(int err)
{
    const struct row *r = find(err);
    return err == 0 ? 200 : r ? r->status : 500;
}
