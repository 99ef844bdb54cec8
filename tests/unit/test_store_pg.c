/*
 * test_store_pg.c - the store's suite (test_store.c) again on the
 * PostgreSQL backend, each test in a schema of its own in the cluster at
 * BOXOFFICE_TEST_PG_URL (make test-unit starts one: scripts/pg-cluster),
 * and what only that backend has: its check of a database, a connection
 * lost while idle, a COMMIT whose answer never comes (resolved either
 * way), and PostgreSQL stopped and started again under a running store
 * (a cluster of its own, so as not to stop the shared one).
 */
#define BO_TEST_PG 1
#include <criterion/criterion.h> /* mk/build.mk links Criterion for files that say so */
#include "test_store.c"

#include <sys/wait.h>

/* ---- PostgreSQL's own ------------------------------------------------------- */

Test(store, pg_check_refuses_foreign_and_newer_databases)
{
    char why[256] = "";

    cr_assert_eq(bo_store_check(url, why, sizeof(why)), 0, "nothing yet: %s", why);
    sql_exec("CREATE TABLE contacts(name text)");
    cr_assert_eq(bo_store_check(url, why, sizeof(why)), BO_ECORRUPT);
    cr_assert(strstr(why, "another program"), "%s", why);
    bo_store_t *s = (bo_store_t *)1;
    cr_assert_eq(bo_store_open(url, &s), BO_ECORRUPT);
    cr_assert_null(s);
    sql_exec("DROP TABLE contacts");
    bo_store_close(open_store());
    sql_exec("UPDATE schema_version SET version = 99");
    cr_assert_eq(bo_store_check(url, why, sizeof(why)), BO_ECORRUPT);
    cr_assert(strstr(why, "newer"), "%s", why);
    sql_exec("UPDATE schema_version SET version = 1");
    cr_assert_eq(bo_store_check(url, why, sizeof(why)), 0, "%s", why);
}

/* Terminate every server process of this test's stores (the URL names
 * them: application_name is the schema). */
static void terminate_store_backends(void)
{
    char sql[192];
    snprintf(sql, sizeof(sql),
             "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
             " WHERE application_name = '%s' AND pid <> pg_backend_pid()",
             schema);
    cr_assert_geq(sql_int(sql), 1);
}

static void use_app_name(void)
{
    size_t len = strlen(url);
    snprintf(url + len, sizeof(url) - len, "&application_name=%s", schema);
}

Test(store, pg_a_connection_lost_while_idle_is_made_again_before_the_next_batch)
{
    struct trec t[4];
    struct seen sn = {0};
    size_t i = 0;

    use_app_name();
    create_events(1, NULL, 0);
    bo_store_t *s = open_store();
    cr_assert_eq(bo_store_start(s), 0);
    mk_mut(&t[0], 1, 1);
    commit_all(s, t, 1);
    terminate_store_backends();
    usleep(100 * 1000); /* its farewell reaches the socket */
    mk_mut(&t[0], 1, 2);
    mk_mut(&t[1], 1, 3);
    commit_all(s, t, 2); /* noticed before sending: no failure at all */
    cr_assert(bo_store_ready(s));
    bo_store_close(s);
    cr_assert_eq(load_all(&sn), 0);
    expect_run(&sn, &i, 1, 0, 1, 3);
    free(sn.recs);
}

/* A batch whose connection is cut around its COMMIT: the store reports
 * exactly what the database holds, and stays usable. */
static void unknown_outcome(bool sent, int want)
{
    struct trec t[3];
    struct seen sn = {0};
    size_t i = 0;

    create_events(1, NULL, 0);
    commit_seqs(1, 1, 1);
    bo_store_t *s = open_store();
    cr_assert_eq(bo_store_inject_unknown_outcome(s, sent), 0);
    mk_mut(&t[0], 1, 2);
    mk_mut(&t[1], 1, 3);
    submit_ok(s, &t[0]); /* one batch: queued before the committer starts */
    submit_ok(s, &t[1]);
    cr_assert_eq(bo_store_start(s), 0);
    bo_store_flush(s);
    expect_status(t, 2, want);
    cr_assert(bo_store_ready(s), "resolved on a new connection");
    if (want != 0) { /* as the engine does after a failure: the same seqs again */
        mk_mut(&t[0], 1, 2);
        mk_mut(&t[1], 1, 3);
        commit_all(s, t, 2);
    }
    mk_mut(&t[0], 1, 4);
    commit_all(s, t, 1);
    bo_store_close(s);
    cr_assert_eq(load_all(&sn), 0);
    expect_run(&sn, &i, 1, 0, 1, 4);
    cr_assert_eq(sn.nrecs, 4);
    free(sn.recs);
}

Test(store, pg_a_commit_whose_answer_is_lost_is_found_committed)
{
    unknown_outcome(true, 0);
}

Test(store, pg_a_commit_cut_before_its_commit_left_is_found_not_committed)
{
    unknown_outcome(false, BO_EIO);
}

Test(store, pg_refusals_are_not_taken_for_lost_connections)
{
    struct trec t[2];
    uint32_t cap[1] = {1};

    create_events(1, cap, 1);
    bo_store_t *s = open_store();
    cr_assert_eq(bo_store_start(s), 0);
    mk_mut(&t[0], 1, 1);
    mk_mut(&t[1], 1, 1); /* the same seq twice: the log's key refuses it */
    submit_ok(s, &t[0]);
    submit_ok(s, &t[1]);
    bo_store_flush(s);
    cr_assert_eq(t[0].status, BO_ECORRUPT);
    cr_assert(bo_store_ready(s), "a refusal keeps the connection");
    mk_ga(&t[0], 1, 1, 2, 0); /* past the capacity of 1 */
    submit_ok(s, &t[0]);
    bo_store_flush(s);
    cr_assert_eq(t[0].status, BO_ECORRUPT);
    mk_ga(&t[0], 1, 1, 1, 0);
    commit_all(s, t, 1);
    bo_store_close(s);
    cr_assert_eq(sql_int("SELECT sold FROM ga WHERE event = 1 AND area = 0"), 1);
}

/* ---- PostgreSQL stopped and started again ------------------------------------ */

static char own_dir[64];

static void cluster(const char *cmd)
{
    char line[256];
    snprintf(line, sizeof(line), "scripts/pg-cluster %s %s >/dev/null", cmd, own_dir);
    cr_assert_eq(system(line), 0, "%s", line);
}

static void own_cluster_start(void)
{
    char line[256];
    strcpy(own_dir, "/tmp/bo_pg_outage_XXXXXX");
    cr_assert_not_null(mkdtemp(own_dir));
    chmod(own_dir, 0755);
    cluster("start");
    snprintf(line, sizeof(line), "%s/url", own_dir);
    FILE *f = fopen(line, "r");
    cr_assert_not_null(f);
    cr_assert_not_null(fgets(url, sizeof(url), f));
    fclose(f);
    url[strcspn(url, "\n")] = '\0';
}

static void own_cluster_stop(void)
{
    char line[256];
    cluster("stop");
    snprintf(line, sizeof(line), "rm -rf %s", own_dir);
    cr_assert_eq(system(line), 0);
}

/* Submit t (seq seq of event 1) until it commits, as a client retrying
 * after 503s would; returns how many attempts failed. */
static int commit_retrying(bo_store_t *s, struct trec *t, uint64_t seq)
{
    int failed = 0;
    for (;;) {
        mk_mut(t, 1, seq);
        if (bo_store_submit(s, &t->rec) == 0) {
            bo_store_flush(s);
            if (t->status == 0)
                return failed;
        }
        failed++;
        usleep(20 * 1000);
    }
}

Test(store, pg_stopped_and_started_again_loses_nothing_acknowledged)
{
    enum { N = 40 };
    struct trec t[1];
    struct seen sn = {0};
    size_t i = 0;
    int failed = 0;

    own_cluster_start();
    create_events(1, NULL, 0);
    bo_store_t *s = open_store();
    cr_assert_eq(bo_store_start(s), 0);
    for (uint64_t seq = 1; seq <= N; seq++) {
        if (seq == N / 2) {
            cluster("stop");
            mk_mut(&t[0], 1, seq);
            int rc = bo_store_submit(s, &t[0].rec);
            if (rc == 0) {
                bo_store_flush(s);
                rc = t[0].status;
            }
            cr_assert_eq(rc, BO_EIO, "a commit while PostgreSQL is away fails");
            cr_assert(!bo_store_ready(s), "and the store says so");
            cr_assert_eq(bo_store_submit(s, &t[0].rec), BO_EIO, "submissions are refused");
            cluster("resume");
            for (int k = 0; k < 200 && !bo_store_ready(s); k++)
                usleep(20 * 1000); /* the committer reconnects by itself */
            cr_assert(bo_store_ready(s), "reconnected without a commit");
        }
        failed += commit_retrying(s, &t[0], seq);
    }
    bo_store_close(s);
    cr_assert_eq(failed, 0, "after reconnecting nothing fails");
    cr_assert_eq(load_all(&sn), 0);
    expect_run(&sn, &i, 1, 0, 1, N);
    cr_assert_eq(sn.nrecs, N);
    free(sn.recs);
    own_cluster_stop();
}
