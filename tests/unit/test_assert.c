/*
 * test_assert.c - BO_ASSERT and bo_mutex_held (src/util/assert.h): a failed
 * assert prints where and what, then aborts; a mutex is held exactly by the
 * thread that locked it (lock, trylock, recursive, after a condition wait),
 * not after unlock and not by another thread.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The asserts of this file are on whatever ASSERTS the build chose. */
#undef BO_ASSERTS
#define BO_ASSERTS 1
#include "util/assert.h"

Test(assert, true_condition_passes)
{
    int calls = 0;
    BO_ASSERT(calls == 0);
    BO_ASSERT(1);
    cr_assert_eq(calls, 0);
}

Test(assert, false_condition_aborts, .signal = SIGABRT)
{
    int seats = 3;
    BO_ASSERT(seats == 4);
}

/* The message names the file, line, function and expression. */
Test(assert, failure_prints_file_line_and_expression)
{
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    int line = __LINE__ + 6;
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        dup2(fds[1], 2);
        int held = 1;
        BO_ASSERT(held == 2 && "seats");
        _exit(0);
    }
    close(fds[1]);
    char buf[512] = {0};
    size_t n = 0;
    ssize_t r;
    while (n < sizeof(buf) - 1 && (r = read(fds[0], buf + n, sizeof(buf) - 1 - n)) > 0)
        n += (size_t)r;
    close(fds[0]);
    int status = 0;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT, "status %d", status);
    char want[256];
    snprintf(want, sizeof(want),
             "tests/unit/test_assert.c:%d: %s: assertion failed: held == 2 && \"seats\"\n", line,
             __func__);
    cr_assert(strstr(buf, want) != NULL, "got \"%s\", want \"%s\"", buf, want);
}

Test(mutex_held, lock_and_unlock)
{
    pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    cr_assert_not(bo_mutex_held(&m));
    pthread_mutex_lock(&m);
    cr_assert(bo_mutex_held(&m));
    BO_ASSERT(bo_mutex_held(&m));
    pthread_mutex_unlock(&m);
    cr_assert_not(bo_mutex_held(&m));
    cr_assert_eq(pthread_mutex_trylock(&m), 0);
    cr_assert(bo_mutex_held(&m));
    pthread_mutex_unlock(&m);
    cr_assert_not(bo_mutex_held(&m));
}

Test(mutex_held, two_mutexes_are_told_apart)
{
    pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER, b = PTHREAD_MUTEX_INITIALIZER;
    pthread_mutex_lock(&a);
    cr_assert(bo_mutex_held(&a));
    cr_assert_not(bo_mutex_held(&b));
    pthread_mutex_unlock(&a);
}

Test(mutex_held, recursive_and_error_checking_mutexes)
{
    int types[] = {PTHREAD_MUTEX_RECURSIVE, PTHREAD_MUTEX_ERRORCHECK};
    for (unsigned i = 0; i < 2; i++) {
        pthread_mutexattr_t at;
        pthread_mutex_t m;
        pthread_mutexattr_init(&at);
        pthread_mutexattr_settype(&at, types[i]);
        pthread_mutex_init(&m, &at);
        pthread_mutexattr_destroy(&at);
        cr_assert_not(bo_mutex_held(&m));
        pthread_mutex_lock(&m);
        cr_assert(bo_mutex_held(&m), "type %d", types[i]);
        pthread_mutex_unlock(&m);
        cr_assert_not(bo_mutex_held(&m), "type %d", types[i]);
        pthread_mutex_destroy(&m);
    }
}

/* One thread holds the mutex while the other looks: only the holder sees
 * it held, on either side. */
struct pair {
    pthread_mutex_t m;
    pthread_mutex_t step_mu;
    pthread_cond_t step_cv;
    int step;
    int seen_by_other; /* what the other thread answered */
};

static void set_step(struct pair *p, int step)
{
    pthread_mutex_lock(&p->step_mu);
    p->step = step;
    pthread_cond_broadcast(&p->step_cv);
    pthread_mutex_unlock(&p->step_mu);
}

static void wait_step(struct pair *p, int step)
{
    pthread_mutex_lock(&p->step_mu);
    while (p->step < step)
        pthread_cond_wait(&p->step_cv, &p->step_mu);
    BO_ASSERT(bo_mutex_held(&p->step_mu)); /* reacquired by the wait */
    pthread_mutex_unlock(&p->step_mu);
}

static void *looker(void *arg)
{
    struct pair *p = arg;
    wait_step(p, 1); /* main holds m */
    p->seen_by_other = bo_mutex_held(&p->m);
    set_step(p, 2);
    wait_step(p, 3); /* main released m */
    pthread_mutex_lock(&p->m);
    p->seen_by_other += 10 * bo_mutex_held(&p->m);
    set_step(p, 4);
    wait_step(p, 5); /* main looked */
    pthread_mutex_unlock(&p->m);
    return NULL;
}

Test(mutex_held, across_threads)
{
    struct pair p = {.m = PTHREAD_MUTEX_INITIALIZER,
                     .step_mu = PTHREAD_MUTEX_INITIALIZER,
                     .step_cv = PTHREAD_COND_INITIALIZER};
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, looker, &p), 0);
    pthread_mutex_lock(&p.m);
    set_step(&p, 1);
    wait_step(&p, 2);
    cr_assert(bo_mutex_held(&p.m));
    pthread_mutex_unlock(&p.m);
    set_step(&p, 3);
    wait_step(&p, 4); /* the looker holds m now */
    cr_assert_not(bo_mutex_held(&p.m));
    set_step(&p, 5);
    pthread_join(t, NULL);
    cr_assert_eq(p.seen_by_other, 10, "the looker saw %d", p.seen_by_other);
    cr_assert_not(bo_mutex_held(&p.m));
}

Test(mutex_held, assert_on_a_mutex_not_held_aborts, .signal = SIGABRT)
{
    pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    BO_ASSERT(bo_mutex_held(&m));
}

static void *hold_forever(void *arg)
{
    pthread_mutex_lock(arg);
    pause();
    return NULL;
}

Test(mutex_held, assert_on_a_mutex_held_by_another_thread_aborts, .signal = SIGABRT)
{
    static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, hold_forever, &m), 0);
    while (pthread_mutex_trylock(&m) == 0) /* until the other thread has it */
        pthread_mutex_unlock(&m), sched_yield();
    BO_ASSERT(bo_mutex_held(&m));
}
