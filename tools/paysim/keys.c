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
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "paysim.h"

#define SECRET_RANDOM    32u
#define SECRET_MIN_CHARS 12
#define SECRET_MAX_BYTES 4096

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
    char buf[64 + SECRET_RANDOM + 2];
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return errno == EEXIST ? 1 : -1;
    ps_random_id(buf, sizeof(buf) - 1, prefix, SECRET_RANDOM);
    size_t len = strlen(buf);
    buf[len] = '\n';
    int ok = write(fd, buf, len + 1) == (ssize_t)(len + 1) && fsync(fd) == 0;
    close(fd);
    buf[len] = '\0';
    if (!ok || !(*secret = strdup(buf))) {
        unlink(path);
        sodium_memzero(buf, sizeof(buf));
        return -1;
    }
    sodium_memzero(buf, sizeof(buf));
    return 0;
}

/* The one printable word in path, surrounding white space ignored. */
static int read_secret(const char *path, char **secret)
{
    char buf[SECRET_MAX_BYTES + 1];
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, SECRET_MAX_BYTES);
    if (fstat(fd, &st) == 0 && (st.st_mode & 077))
        fprintf(stderr, "paysim: warning: %s is readable by others (chmod 600 it)\n", path);
    close(fd);
    if (n < 0)
        return -1;
    buf[n] = '\0';
    char *p = buf, *end = buf + n;
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    while (end > p && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n' || end[-1] == '\r'))
        end--;
    *end = '\0';
    int bad = end - p < SECRET_MIN_CHARS;
    for (char *c = p; c < end; c++)
        bad |= *c <= ' ' || *c > '~';
    if (!bad)
        *secret = strdup(p);
    sodium_memzero(buf, sizeof(buf));
    if (bad)
        return -2;
    return *secret ? 0 : -1;
}

int ps_secret_file(const char *path, const char *prefix, char **secret, int *created)
{
    const char *op = "create";
    int rc = create_secret(path, prefix, secret);
    *created = rc == 0;
    if (rc == 1) {
        op = "read";
        rc = read_secret(path, secret);
    }
    if (rc == -2)
        fprintf(stderr, "paysim: %s must hold one secret of at least %d printable characters\n",
                path, SECRET_MIN_CHARS);
    else if (rc)
        fprintf(stderr, "paysim: cannot %s %s: %s\n", op, path, strerror(errno));
    return rc ? 2 : 0;
}
