/*
 * plain_test.h - assertions for the plain test programs: the threaded tests
 * (tests/unit/test_*stress*.c) have their own main() because Criterion's
 * runner cannot start under ThreadSanitizer (see the Makefile). A failed
 * check prints where, the condition and the message, then aborts, so the
 * program exits nonzero (and a sanitizer or core dump shows the stack).
 * Checks belong on the test's main thread; other threads record failures
 * for it to check.
 */
#ifndef BOXOFFICE_PLAIN_TEST_H
#define BOXOFFICE_PLAIN_TEST_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

/* fmt is "" when the check has no message. */
static inline void pt_fail(const char *file, int line, const char *cond, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s:%d: check failed: %s\n", file, line, cond);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}

#define CHECK(cond, ...)       ((cond) ? (void)0 : pt_fail(__FILE__, __LINE__, #cond, "" __VA_ARGS__))
#define CHECK_EQ(a, b, ...)    CHECK((a) == (b), __VA_ARGS__)
#define CHECK_LEQ(a, b, ...)   CHECK((a) <= (b), __VA_ARGS__)
#define CHECK_GEQ(a, b, ...)   CHECK((a) >= (b), __VA_ARGS__)
#define CHECK_NULL(p, ...)     CHECK((p) == NULL, __VA_ARGS__)
#define CHECK_NOT_NULL(p, ...) CHECK((p) != NULL, __VA_ARGS__)

/* Run one test and report it with its duration; a failed check never
 * returns. */
static inline void pt_run(const char *name, void (*fn)(void))
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    fn();
    clock_gettime(CLOCK_MONOTONIC, &t1);
    fprintf(stderr, "[PASS] %s (%.2f s)\n", name,
            (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
}

/* A hang fails instead of blocking `make test`: SIGALRM ends the program. */
static inline void pt_deadline(unsigned seconds)
{
    alarm(seconds);
}

#endif
