/*
 * secret_file.c - secrets kept in files (secret_file.h). Read once at start.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "boxoffice/error.h"
#include "util/secret_file.h"

static int blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

int bo_secret_read(const char *path, size_t min_chars, const char *who, char **out)
{
    char buf[BO_SECRET_MAX_BYTES + 1];
    struct stat st;
    int rc = 0, fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return BO_EIO;
    ssize_t n = read(fd, buf, BO_SECRET_MAX_BYTES);
    if (fstat(fd, &st) == 0 && (st.st_mode & 077))
        fprintf(stderr, "%s: warning: %s is readable by others (chmod 600 it)\n", who, path);
    close(fd);
    if (n < 0)
        return BO_EIO;
    buf[n] = '\0';
    char *p = buf, *end = buf + n;
    while (p < end && blank(*p))
        p++;
    while (end > p && blank(end[-1]))
        end--;
    *end = '\0';
    if ((size_t)(end - p) < min_chars)
        rc = BO_EINVAL;
    for (char *c = p; c < end && rc == 0; c++)
        if (*c <= ' ' || *c > '~')
            rc = BO_EINVAL;
    if (rc == 0 && !(*out = strdup(p)))
        rc = BO_ENOMEM;
    sodium_memzero(buf, sizeof(buf));
    return rc;
}

int bo_secret_create(const char *path, const char *text)
{
    size_t len = strlen(text);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return errno == EEXIST ? BO_EEXIST : BO_EIO;
    int ok = write(fd, text, len) == (ssize_t)len && write(fd, "\n", 1) == 1 && fsync(fd) == 0;
    close(fd);
    if (ok)
        return 0;
    unlink(path);
    return BO_EIO;
}
