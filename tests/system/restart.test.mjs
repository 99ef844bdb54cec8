// restart.test.mjs - kill -9 the server in the middle of a 200-client load,
// twice, and start it again on the same SQLite file each time: every hold
// answered 201 and not released is still there exactly as answered, every
// release answered 204 stays released, holds whose TTL passed are gone,
// an idempotent answer is replayed identically, the state the API shows is
// the state the file replays to, and no seat was ever held twice.

import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { Server, holdKey, sleep } from './lib/server.mjs';
import { assertStatus, setupEvent } from './lib/api.mjs';
import { apiState, assertApiEqualsFile, fileReplay, ledgerViolations, liveHolds, newLedger, runLoad, LOAD_LIMITS } from './lib/load.mjs';

const CLIENTS = Number(process.env.BOXOFFICE_LOAD_CLIENTS || 200);
const SEED = Number(process.env.BOXOFFICE_LOAD_SEED || Date.now() % 100000);
const GEN = { sections: 4, rows: 8, seats: 12, ga: 2, ga_capacity: 150 };

let srv;
before(async () => {
    srv = await Server.start({ args: LOAD_LIMITS });
});
after(async () => {
    if (srv) await srv.cleanup();
});

/** Load for up to durationMs, kill -9 after killAfterMs, wait for every
 * client to notice, restart on the same file. */
async function loadAndCrash(ev, ledger, seed, killAfterMs, durationMs) {
    const before0 = ledger.requests;
    const run = await runLoad({ srv, ev, ledger, clients: CLIENTS, durationMs, seed, stopOnNetworkError: true });
    await sleep(killAfterMs);
    const inFlightAt = ledger.requests;
    await srv.kill9();
    await run.done;
    const n = ledger.requests - before0;
    console.log(`# round ${seed}: ${n} requests, killed after ${inFlightAt - before0}; so far ${ledger.networkErrors} network errors, ${ledger.inDoubtHolds.length} holds and ${ledger.inDoubtReleases.size} releases in doubt; ${JSON.stringify(ledger.statuses)}`);
    assert.ok(ledger.networkErrors > 0, 'the kill cut requests in flight');
    assert.deepEqual(ledger.unexpected.slice(0, 10), [], 'only 201, 409 SEATS_UNAVAILABLE / SOLD_OUT and 204 answers');
    assert.deepEqual(ledger.pollProblems.slice(0, 10), [], 'every availability answer consistent in itself');
    await srv.launch();
}

/** What must hold after each restart. */
async function verify(ev, ledger, extra) {
    // Acknowledged and not released: there, as answered.
    const live = liveHolds(ledger);
    const gets = await Promise.all(live.map((h) => srv.get(`/api/v1/holds/${h.id}`)));
    gets.forEach((g, i) => {
        const h = live[i];
        assert.equal(g.status, 200, `acknowledged hold ${h.id} lost: ${g.status} ${g.text}`);
        assert.equal(g.body.hold.status, 'held');
        assert.deepEqual(g.body.hold.seats.slice().sort(), h.seats.slice().sort(), `seats of ${h.id}`);
        assert.deepEqual(g.body.hold.ga, h.ga, `GA of ${h.id}`);
        assert.equal(g.body.hold.expires_at, h.expires_at, `expires_at of ${h.id}`);
    });
    // Released with a 204: stays released.
    const released = [...ledger.holds.values()].filter((h) => h.relStatus === 204);
    const relGets = await Promise.all(released.slice(-400).map((h) => srv.get(`/api/v1/holds/${h.id}`)));
    relGets.forEach((g, i) => assert.equal(g.status, 404, `released hold came back: ${released[i].id}`));
    // Release in doubt: either way, but consistently with the file below.
    const doubt = [...ledger.inDoubtReleases].map((id) => ledger.holds.get(id));
    const doubtGets = await Promise.all(doubt.map((h) => srv.get(`/api/v1/holds/${h.id}`)));
    doubtGets.forEach((g) => assert.ok(g.status === 200 || g.status === 404, `release in doubt: ${g.status}`));

    assert.deepEqual(ledgerViolations(ledger, ev).slice(0, 10), [], 'no seat or GA ticket surely held twice at once');

    // The API equals the file, and the file holds what was acknowledged.
    const api = await apiState(srv, ev);
    const { file, rep } = await fileReplay(srv, ev);
    assertApiEqualsFile(api, rep, ev);
    const liveKeys = new Set(live.map((h) => holdKey(h.id)));
    for (const k of liveKeys) assert.ok(rep.holds.has(k), `acknowledged hold ${k} in the file`);
    const doubtKeys = new Set(doubt.map((h) => holdKey(h.id)));
    doubt.forEach((h, i) => assert.equal(rep.holds.has(holdKey(h.id)), doubtGets[i].status === 200, `release in doubt of ${h.id}: API and file agree`));
    const unknown = [...rep.holds.keys()].filter((k) => !liveKeys.has(k) && !doubtKeys.has(k) && !extra.has(k));
    assert.ok(unknown.length <= ledger.inDoubtHolds.length, `${unknown.length} live holds in the file that nobody was answered for, ${ledger.inDoubtHolds.length} requests in doubt`);
    const acked = ledger.holds.size;
    const holdRecords = (rep.counts.HOLD || 0) - extra.size;
    if (!file.snapshot)
        assert.ok(holdRecords >= acked && holdRecords <= acked + ledger.inDoubtHolds.length, `HOLD records ${holdRecords} for ${acked} acknowledged + ${ledger.inDoubtHolds.length} in doubt`);
    assert.equal(api.counts.held, rep.owner.size);
    return api;
}

it(`kill -9 during ${CLIENTS}-client load, twice: nothing acknowledged is lost, invariants hold (seed ${SEED})`, async () => {
    const ev = await setupEvent(srv, GEN, { hold_ttl_s: 900, per_customer_limit: 0 });
    const blockedSeats = ev.seats.filter((_, i) => i % 48 === 7);
    assertStatus(await srv.post(`/api/v1/events/${ev.event.id}/block`, { seats: blockedSeats, unblock: false }, { admin: true }), 200, 'block');
    // Holds outside the ledger: one idempotent, and a short-TTL event's.
    const extra = new Set();
    const idemBody = { seats: [ev.seats[1], ev.seats[2]], customer: { email: 'idem@example.test' } };
    const idem1 = await srv.post(`/api/v1/events/${ev.event.id}/holds`, idemBody, { idem: 'restart-idem-key' });
    assertStatus(idem1, 201, 'idempotent hold');
    extra.add(holdKey(idem1.body.hold.id));
    // hold_ttl_s 30 is the shortest; they expire after the two rounds below.
    const short = await setupEvent(srv, { sections: 1, rows: 2, seats: 6, ga: 1, ga_capacity: 10 }, { hold_ttl_s: 30 });
    const shortHolds = [];
    for (let i = 0; i < 4; i++) {
        const h = await srv.post(`/api/v1/events/${short.event.id}/holds`, { seats: [short.seats[i]], customer: { email: `short${i}@example.test` } });
        assertStatus(h, 201, 'short-TTL hold');
        shortHolds.push(h.body.hold);
    }

    const ledger = newLedger();
    await loadAndCrash(ev, ledger, SEED, 3500, 8000);
    await verify(ev, ledger, extra);
    for (const h of shortHolds) assertStatus(await srv.get(`/api/v1/holds/${h.id}`), 200, `short-TTL hold ${h.id} before its expiry`);

    // The idempotent answer survived the crash.
    const idem2 = await srv.post(`/api/v1/events/${ev.event.id}/holds`, idemBody, { idem: 'restart-idem-key' });
    assert.equal(idem2.status, 201);
    assert.equal(idem2.text, idem1.text, 'replayed identically after kill -9');

    // A second round on the recovered server.
    await loadAndCrash(ev, ledger, SEED + 1, 2500, 6000);
    const api = await verify(ev, ledger, extra);
    assert.ok(ledger.holds.size > 500, `${ledger.holds.size} holds acknowledged over both rounds`);
    assert.equal(api.counts.blocked, blockedSeats.length);

    // The short-TTL holds expired by their TTL, across two kills.
    await sleep(Math.max(0, Date.parse(shortHolds[3].expires_at) - Date.now()) + 300);
    for (const h of shortHolds) assert.equal((await srv.get(`/api/v1/holds/${h.id}`)).status, 404, `expired ${h.id}`);
    const sa = await apiState(srv, short);
    assert.equal(sa.counts.held, 0, 'expired holds free their seats');

    // A last graceful stop: exit 0, and the file still replays to the same.
    assert.deepEqual(await srv.stop(), { code: 0, signal: null }, 'SIGTERM: exit 0');
    const { rep } = await fileReplay(srv, ev);
    assertApiEqualsFile(api, rep, ev);
});
