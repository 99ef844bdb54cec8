/*
 * assert.c - the failure path of BO_ASSERT and bo_mutex_held (assert.h).
 *
 * Workload: bo_mutex_held runs in every lock-assuming function (many per
 * request), so its usual answer costs one thread-local read and one atomic
 * load; the failure path runs at most once per process.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>
#include <unistd.h>

#include "util/assert.h"

void bo__assert_fail(const char *expr, const char *file, int line, const char *func)
{
    fprintf(stderr, "%s:%d: %s: assertion failed: %s\n", file, line, func, expr);
    fflush(stderr);
    abort();
}

#if defined(__GLIBC__)
/* The calling thread's id, cached: 0 until first asked. A fork()ed child
 * inherits its parent's cache; a stale value can only miss (the owner field
 * then holds the child's id) and is refreshed below. */
static _Thread_local pid_t my_tid;

bool bo_mutex_held(pthread_mutex_t *m)
{
    int owner = __atomic_load_n(&m->__data.__owner, __ATOMIC_RELAXED);
    if (owner == 0)
        return false;
    if (owner == my_tid)
        return true;
    my_tid = gettid();
    return owner == my_tid;
}
#else
bool bo_mutex_held(pthread_mutex_t *m)
{
    (void)m;
    return true;
}
#endif
