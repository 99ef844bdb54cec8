// pg_outage.test.mjs - a server on a PostgreSQL store whose database goes
// away and comes back (scripts/pg-cluster stop, then resume on the same
// port and data): while it is gone, /readyz answers 503 and a hold 503
// STORE_UNAVAILABLE with Retry-After; once it is back the server
// reconnects by itself (no restart) and holds succeed again; every hold
// acknowledged before, during or after is there, also after a kill -9 and
// a restart that reads everything back from PostgreSQL.

import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { Server, sleep } from './lib/server.mjs';
import { assertError, assertStatus, setupEvent } from './lib/api.mjs';
import { startPg } from './lib/pg.mjs';

const GEN = { sections: 1, rows: 4, seats: 10, ga: 0 };
let pg, srv;

before(async () => {
    pg = await startPg();
    srv = await Server.start({ dbUrl: pg.url, args: ['--limits', 'off'] });
});
after(async () => {
    if (srv) await srv.cleanup();
    if (pg) await pg.stop();
});

const customer = { email: 'outage@example.com' };

async function waitReady(want, timeoutMs = 15000) {
    const t0 = Date.now();
    for (;;) {
        const r = await srv.get('/readyz');
        if ((r.status === 200) === want) return r;
        if (Date.now() - t0 > timeoutMs) assert.fail(`/readyz still ${r.status} after ${timeoutMs} ms`);
        await sleep(50);
    }
}

it('PostgreSQL stopped and resumed: 503 STORE_UNAVAILABLE meanwhile, then holds again, nothing acknowledged lost', async () => {
    const ev = await setupEvent(srv, GEN);
    const hold = (i) => srv.post(`/api/v1/events/${ev.event.id}/holds`, { seats: [ev.seats[i]], customer });
    const acked = [];
    for (let i = 0; i < 5; i++) {
        const r = await hold(i);
        assertStatus(r, 201, `hold ${i} before`);
        acked.push(r.body.hold.id);
    }
    await waitReady(true);

    await pg.halt();
    const down = await hold(10); // the first commit finds the connection gone
    assertError(down, 503, 'STORE_UNAVAILABLE', 'a hold while PostgreSQL is away');
    assert.ok(down.headers.get('retry-after'), 'with Retry-After');
    const r = await waitReady(false);
    assert.equal(r.status, 503);
    assert.ok(r.headers.get('retry-after'));
    const again = await hold(11);
    assertError(again, 503, 'STORE_UNAVAILABLE', 'refused at once while the store is down');
    const get = await srv.get(`/api/v1/holds/${acked[0]}`);
    assertStatus(get, 200, 'reads still answer from memory');

    await pg.resume();
    await waitReady(true); // reconnected by itself
    for (let i = 10; i < 15; i++) {
        const h = await hold(i);
        assertStatus(h, 201, `hold ${i} after`);
        acked.push(h.body.hold.id);
    }

    await srv.kill9();
    await srv.launch();
    for (const id of acked) assertStatus(await srv.get(`/api/v1/holds/${id}`), 200, `acknowledged ${id} after the restart`);
    const [{ n }] = await srv.sql('SELECT count(*)::int AS n FROM events');
    assert.equal(n, 1, 'the event is in PostgreSQL itself');
});
