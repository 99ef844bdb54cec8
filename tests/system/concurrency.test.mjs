// concurrency.test.mjs - 200 concurrent HTTP clients, each on its own
// keep-alive connection, fight for 10 s over the seats of one event:
// explicit seats on random rows, best available (any, by category, by
// section) and GA, with releases. Then, through the API and by replaying
// the SQLite file: no seat held twice at any moment, GA within capacity,
// counts add up, every acknowledged hold is there exactly as answered.

import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { Server, holdKey } from './lib/server.mjs';
import { assertStatus, setupEvent } from './lib/api.mjs';
import { apiState, assertApiEqualsFile, fileReplay, ledgerViolations, liveHolds, newLedger, runLoad, LOAD_LIMITS } from './lib/load.mjs';

const CLIENTS = Number(process.env.BOXOFFICE_LOAD_CLIENTS || 200);
const DURATION_MS = Number(process.env.BOXOFFICE_LOAD_MS || 10000);
const SEED = Number(process.env.BOXOFFICE_LOAD_SEED || Date.now() % 100000);
// 4 sections x 8 rows x 12 seats = 384 seats; 2 GA areas of 150.
const GEN = { sections: 4, rows: 8, seats: 12, ga: 2, ga_capacity: 150 };

let srv;
before(async () => {
    srv = await Server.start({ args: LOAD_LIMITS });
});
after(async () => {
    if (srv) await srv.cleanup();
});

it(`${CLIENTS} clients for ${DURATION_MS / 1000} s: no seat held twice, GA within capacity, counts add up (seed ${SEED})`, async () => {
    const ev = await setupEvent(srv, GEN, { hold_ttl_s: 900, per_customer_limit: 0 });
    const blockedSeats = ev.seats.filter((_, i) => i % 48 === 5);
    assertStatus(await srv.post(`/api/v1/events/${ev.event.id}/block`, { seats: blockedSeats, unblock: false }, { admin: true }), 200, 'block');

    const ledger = newLedger();
    const t0 = performance.now();
    const run = await runLoad({ srv, ev, ledger, clients: CLIENTS, durationMs: DURATION_MS, seed: SEED });
    await run.done;
    const secs = (performance.now() - t0) / 1000;
    const acked = ledger.statuses['POST 201'] || 0;
    const released = ledger.statuses['DELETE 204'] || 0;
    console.log(`# ${ledger.requests} requests in ${secs.toFixed(1)} s (${Math.round(ledger.requests / secs)}/s), ${ledger.polls} availability polls; ${JSON.stringify(ledger.statuses)}`);

    // The run was real: long enough, contended, every kind succeeded.
    assert.ok(secs >= DURATION_MS / 1000, 'ran the whole duration');
    assert.equal(ledger.networkErrors, 0, 'no network errors');
    assert.deepEqual(ledger.unexpected.slice(0, 10), [], 'only 201, 409 SEATS_UNAVAILABLE / SOLD_OUT and 204 answers');
    assert.deepEqual(ledger.pollProblems.slice(0, 10), [], 'every availability answer consistent in itself');
    assert.ok(acked > 1000 && released > 500, `enough traffic: ${acked} holds, ${released} releases`);
    assert.ok((ledger.statuses['POST 409 SEATS_UNAVAILABLE'] || 0) > 100, 'seats were contended');
    const kinds = { seats: 0, best_available: 0, ga: 0 };
    for (const h of ledger.holds.values()) kinds[Object.keys(h.body).find((k) => k in kinds)]++;
    for (const [k, n] of Object.entries(kinds)) assert.ok(n > 50, `${n} ${k} holds succeeded`);

    // From the ledger: no overlap among holds surely live at the same time.
    assert.deepEqual(ledgerViolations(ledger, ev).slice(0, 10), [], 'no seat or GA ticket held twice at any moment');

    // Through the API: what is held is exactly what the live holds hold.
    const live = liveHolds(ledger);
    const api = await apiState(srv, ev);
    const heldByLedger = live.flatMap((h) => h.seats);
    assert.equal(new Set(heldByLedger).size, heldByLedger.length, 'live holds are disjoint');
    const heldApi = [...api.state].filter(([, s]) => s === 'held').map(([id]) => id);
    assert.deepEqual(heldApi.slice().sort(), heldByLedger.slice().sort(), 'held seats = seats of the live holds');
    assert.deepEqual([...api.state].filter(([, s]) => s === 'blocked').map(([id]) => id).sort(), blockedSeats.slice().sort(), 'blocked seats');
    assert.equal(api.counts.held, heldByLedger.length);
    assert.equal(api.counts.blocked, blockedSeats.length);
    assert.equal(api.counts.sold, 0);
    assert.equal(api.counts.total, ev.seats.length);
    for (const area of ev.map.ga_areas) {
        const held = live.flatMap((h) => h.ga).filter((g) => g.area === area.id).reduce((t, g) => t + g.quantity, 0);
        assert.ok(held <= area.capacity, `GA ${area.id}: ${held} <= ${area.capacity}`);
        assert.deepEqual(api.ga.find((g) => g.id === area.id), { id: area.id, available: area.capacity - held }, `GA ${area.id} available`);
    }
    const report = await srv.get(`/api/v1/events/${ev.event.id}/report`, { admin: true });
    assertStatus(report, 200, 'report');
    for (const k of ['available', 'held', 'sold', 'blocked', 'total']) assert.equal(report.body.seats[k], api.counts[k], `report seats.${k}`);
    assert.equal(report.body.holds.live, live.length, 'report: live holds');
    const gaCap = ev.map.ga_areas.reduce((t, g) => t + g.capacity, 0);
    const gaFree = api.ga.reduce((t, g) => t + g.available, 0);
    for (const g of report.body.ga) {
        const free = api.ga.find((x) => x.id === g.id).available;
        assert.deepEqual([g.held, g.sold], [g.capacity - free, 0], `report GA ${g.id}`);
    }
    // The event's counts take seats and GA places together.
    const event = await srv.get(`/api/v1/events/${ev.event.id}`);
    assert.deepEqual(event.body.event.availability, {
        available: api.counts.available + gaFree,
        total: api.counts.total + gaCap,
        held: api.counts.held + gaCap - gaFree,
        sold: 0,
        blocked: api.counts.blocked,
    }, 'event availability');

    // Every live hold reads back as answered; released ones are gone.
    const gets = await Promise.all(live.map((h) => srv.get(`/api/v1/holds/${h.id}`)));
    gets.forEach((g, i) => {
        assert.equal(g.status, 200, `GET ${live[i].id}: ${g.text}`);
        assert.equal(g.body.hold.status, 'held');
        assert.deepEqual(g.body.hold.seats.slice().sort(), live[i].seats.slice().sort());
        assert.deepEqual(g.body.hold.ga, live[i].ga);
    });
    const gone = [...ledger.holds.values()].filter((h) => h.relStatus === 204).slice(0, 300);
    const goneGets = await Promise.all(gone.map((h) => srv.get(`/api/v1/holds/${h.id}`)));
    goneGets.forEach((g, i) => assert.equal(g.status, 404, `released ${gone[i].id}: ${g.status}`));

    // The SQLite file, after a graceful stop: the log replays legally, holds
    // exactly the acknowledged mutations, and ends where the API ended.
    assert.deepEqual(await srv.stop(), { code: 0, signal: null }, 'SIGTERM: exit 0');
    const { file, rep } = await fileReplay(srv, ev);
    if (!file.snapshot) {
        assert.equal(rep.counts.HOLD || 0, acked, 'one HOLD record per 201');
        assert.equal(rep.counts.RELEASE || 0, released, 'one RELEASE record per 204');
        assert.equal(rep.counts.BLOCK || 0, 1, 'one BLOCK record');
    } else {
        // The store snapshotted the event (every 100,000 records) and dropped
        // the log it covers: the replay started from the snapshot.
        console.log(`# snapshot at seq ${file.snapshot.seq}; ${file.log.length} log records after it`);
        assert.ok((rep.counts.HOLD || 0) <= acked && (rep.counts.RELEASE || 0) <= released);
    }
    assert.equal(file.sold.length, 0, 'no sold rows (no checkout in this test)');
    assertApiEqualsFile(api, rep, ev);
    assert.deepEqual([...rep.holds.keys()].sort(), live.map((h) => holdKey(h.id)).sort(), 'live holds in the file = live holds acknowledged');
    for (const h of live) {
        const f = rep.holds.get(holdKey(h.id));
        assert.deepEqual(f.seats.map((i) => ev.seats[i]).sort(), h.seats.slice().sort(), `file seats of ${h.id}`);
        assert.ok(Math.abs(f.expires_at_ms - Date.parse(h.expires_at)) < 1000, `file expiry of ${h.id}: ${f.expires_at_ms} vs ${h.expires_at}`);
    }
});
