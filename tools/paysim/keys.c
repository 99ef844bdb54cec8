/*
 * keys.c - randomness and secrets: object ids ("pi_" + 24 letters and
 * digits, as Stripe's look), the secret API key and webhook signing secret
 * kept in files (created on first start, as boxoffice does with its admin
 * token), and the two clocks.
 *
 * Workload: a few ids per API call; the files are read once at start.
 * Randomness is libsodium's (the kernel's CSPRNG): ids and client secrets
 * are capabilities, so they must not be guessable.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "boxoffice/error.h"
#include "paysim.h"
#include "util/secret_file.h"

#define SECRET_RANDOM    32u
#define SECRET_MIN_CHARS 12

static const char alnum[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

void ps_random_id(char *out, size_t cap, const char *prefix, unsigned nrandom)
{
    size_t plen = strlen(prefix);
    if (plen + nrandom + 1 > cap) {
        out[0] = '\0';
        return;
    }
    memcpy(out, prefix, plen);
    for (unsigned i = 0; i < nrandom; i++)
        out[plen + i] = alnum[randombytes_uniform(sizeof(alnum) - 1)];
    out[plen + nrandom] = '\0';
}

double ps_random_unit(void)
{
    uint64_t v;
    randombytes_buf(&v, sizeof(v));
    return (double)(v >> 11) / (double)(UINT64_C(1) << 53);
}

uint64_t ps_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int64_t ps_unix_s(void)
{
    return (int64_t)time(NULL);
}

static int create_secret(const char *path, const char *prefix, char **secret)
{
    char buf[64 + SECRET_RANDOM + 1];
    ps_random_id(buf, sizeof(buf), prefix, SECRET_RANDOM);
    int rc = bo_secret_create(path, buf);
    if (rc == 0 && !(*secret = strdup(buf))) {
        unlink(path);
        rc = BO_ENOMEM;
    }
    sodium_memzero(buf, sizeof(buf));
    return rc;
}

int ps_secret_file(const char *path, const char *prefix, char **secret, int *created)
{
    const char *op = "create";
    int rc = create_secret(path, prefix, secret);
    *created = rc == 0;
    if (rc == BO_EEXIST) {
        op = "read";
        rc = bo_secret_read(path, SECRET_MIN_CHARS, "paysim", secret);
    }
    if (rc == BO_EINVAL)
        fprintf(stderr, "paysim: %s must hold one secret of at least %d printable characters\n",
                path, SECRET_MIN_CHARS);
    else if (rc)
        fprintf(stderr, "paysim: cannot %s %s: %s\n", op, path, strerror(errno));
    return rc ? 2 : 0;
}
