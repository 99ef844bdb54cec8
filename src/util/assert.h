/*
 * assert.h - BO_ASSERT, the contracts the code assumes, checked: the lock a
 * function expects to be held, arguments at module boundaries, invariants
 * after each mutation (docs/architecture.md, "Asserted contracts").
 *
 * BO_ASSERT(cond): when cond is false, print file, line, function and the
 * expression to stderr and abort(). Unlike <assert.h> it does not follow
 * NDEBUG: the build sets BO_ASSERTS (mk/build.mk, `make ASSERTS=0|1|2`,
 * default 1; 2 in sanitizer and fuzz builds, which adds BO_ASSERT_EACH).
 *
 * Why on by default, release builds included: every check is O(1) (a
 * compare, a counter, an owner field read), at most a few per seat touched,
 * next to a mutation that already costs a hash lookup and a journal entry,
 * and a hold is ~1 us of engine time against ~1 ms of fsync. What they
 * guard is promise 1 (zero overselling): a counter gone wrong in production
 * should stop the process before the store commits a wrong decision, not
 * be found later by an auditor (TigerBeetle keeps its asserts in
 * production for the same reason). Checks that cost O(seats) are not
 * BO_ASSERTs but debug helpers (bo_inv_check) that tests call. ASSERTS=0
 * compiles every BO_ASSERT out (its expression is still type-checked,
 * never evaluated), so the lead can measure both builds; a difference
 * within noise keeps them on.
 *
 * Expressions must have no side effects: with BO_ASSERTS=0 they are not run.
 */
#ifndef BOXOFFICE_UTIL_ASSERT_H
#define BOXOFFICE_UTIL_ASSERT_H

#include <pthread.h>
#include <stdbool.h>

#ifndef BO_ASSERTS
#define BO_ASSERTS 1
#endif

/* Print "file:line: func: assertion failed: expr" and abort(). */
_Noreturn void bo__assert_fail(const char *expr, const char *file, int line, const char *func);

#if BO_ASSERTS
#define BO_ASSERT(cond)                                                                            \
    (__builtin_expect(!!(cond), 1) ? (void)0 : bo__assert_fail(#cond, __FILE__, __LINE__, __func__))
#else
#define BO_ASSERT(cond) ((void)sizeof(!(cond)))
#endif

/*
 * BO_ASSERT_EACH(cond): a check made per element on the engine's hot path
 * (each seat word written, each journal entry, each heap step), where the
 * checks add up: measured, every such check on cost the in-memory engine
 * 14% of its holds/s (bench_engine, engine_holds_per_s, 2 interleaved
 * pairs). On at BO_ASSERTS >= 2: the sanitizer and fuzz builds that
 * `make test` runs (test-asan, test-tsan, test-fuzz), and `make ASSERTS=2`.
 * The per-decision contracts around them (a hold's status move, its
 * seats' states, the counters after the decision) stay BO_ASSERTs.
 */
#if BO_ASSERTS >= 2
#define BO_ASSERT_EACH(cond) BO_ASSERT(cond)
#else
#define BO_ASSERT_EACH(cond) ((void)sizeof(!(cond)))
#endif

/*
 * True when the calling thread holds m, locked with pthread_mutex_lock or
 * trylock (or reacquired by pthread_cond_wait). For BO_ASSERT only.
 *
 * glibc dependence: glibc records the owner's kernel thread id in
 * m->__data.__owner for every mutex type it implements (normal, recursive,
 * error-checking, adaptive), set on lock and cleared on unlock; we compare
 * it with gettid() (cached per thread: the owner field is read atomically,
 * the system call runs only when the cache misses). ThreadSanitizer and
 * AddressSanitizer intercept pthread_mutex_lock and call glibc's own, so
 * the field is set under SANITIZE= builds too. Without glibc the owner is
 * unknown and this answers true (the check is skipped, never wrong).
 */
bool bo_mutex_held(pthread_mutex_t *m);

#endif
