// migrate.test.mjs - `boxoffice migrate --from sqlite:PATH --to postgresql://...`:
// a box office on SQLite with paysim sells tickets, keeps a live hold,
// refunds an order, checks a ticket in and sells standing places; it is
// stopped, migrated to a fresh private PostgreSQL, and started there with
// the same admin token and payment settings. Everything reads back the same
// through the API (events, every seat, GA counters, the held seats still
// held, the orders, the refund, the check-in's first time, the staff
// token), and a new hold and sale work. migrate refuses a destination that
// holds data, a source that is not a store, the same URL twice and wrong
// arguments (exit 2), and never prints a password.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { BIN, Server, tempDir } from './lib/server.mjs';
import { assertStatus, availability, setupEvent } from './lib/api.mjs';
import { checkout, confirm, getOrder, hold, startShop } from './lib/shop.mjs';
import { startPg } from './lib/pg.mjs';

const execFileP = promisify(execFile);
const GEN = { sections: 2, rows: 3, seats: 6, ga: 1, ga_capacity: 20 };

/** Run boxoffice migrate; resolves to {code, stdout, stderr}. */
async function migrate(...args) {
    try {
        const { stdout, stderr } = await execFileP(BIN, ['migrate', ...args], { timeout: 60000 });
        return { code: 0, stdout, stderr };
    } catch (e) {
        return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
}

let shop, srv, sim, pg, srv2;
const dir = tempDir();
const sqliteUrl = `sqlite:${join(dir, 'boxoffice.db')}`;
const before_ = {}; // what the SQLite server showed

/** hold (body: seats or GA) -> checkout -> pay on server s: the paid order with its secret. */
async function paidOrder(ev, body, s = srv) {
    const h = await hold(s, ev.event.id, body);
    assertStatus(h, 201, 'hold');
    const c = await checkout(s, h.body.hold.id, undefined, { intent: true });
    assertStatus(c, 201, 'checkout');
    const p = await confirm(s, c.body.order, 'pm_card_visa');
    assertStatus(p, 200, 'confirm');
    assert.equal(p.body.order.status, 'paid');
    return { ...c.body.order, ...p.body.order, secret: c.body.order.secret };
}

before(async () => {
    shop = await startShop({ server: { dir, dbUrl: sqliteUrl } });
    ({ srv, sim } = shop);
    const ev = await setupEvent(srv, GEN);
    const ev2 = await setupEvent(srv, GEN);
    before_.ev = ev;
    before_.ev2 = ev2;
    before_.sold = await paidOrder(ev, { seats: ev.seats.slice(0, 2) });
    before_.refunded = await paidOrder(ev, { seats: ev.seats.slice(2, 4) });
    const c = await srv.post(`/api/v1/orders/${before_.refunded.id}/cancel`, {}, { admin: true });
    assertStatus(c, 200, 'admin cancel');
    assert.equal(c.body.order.status, 'refunded');
    before_.gaOrder = await paidOrder(ev2, { ga: { area: ev2.map.ga_areas[0].id, quantity: 3 } });
    const live = await hold(srv, ev.event.id, { seats: ev.seats.slice(4, 6) });
    assertStatus(live, 201, 'live hold');
    before_.hold = live.body.hold;
    const staff = await srv.post(`/api/v1/events/${ev.event.id}/staff-tokens`, { name: 'Gate A' }, { admin: true });
    assertStatus(staff, 201, 'staff token');
    before_.staff = staff.body.token;
    const scan = await srv.post('/api/v1/checkin', { code: before_.sold.tickets[0].code }, { admin: before_.staff });
    assertStatus(scan, 200, 'first scan');
    assert.equal(scan.body.result, 'ok');
    before_.checkedInAt = scan.body.checked_in_at;
    before_.avail = await availability(srv, ev.event.id);
    before_.avail2 = await availability(srv, ev2.event.id);
    before_.events = (await srv.get('/api/v1/events')).body;
    before_.soldOrder = (await getOrder(srv, before_.sold)).body.order;
    assert.deepEqual(await srv.stop(), { code: 0, signal: null }, 'the SQLite server stops cleanly');
    pg = await startPg();
});

after(async () => {
    if (srv2) await srv2.cleanup();
    if (shop) await shop.stop().catch(() => {});
    if (pg) await pg.stop();
});

describe('boxoffice migrate', () => {
    it('copies and verifies, then a server on PostgreSQL reads everything back the same', async () => {
        const m = await migrate('--from', sqliteUrl, '--to', pg.url);
        assert.equal(m.code, 0, m.stderr + m.stdout);
        assert.match(m.stdout, /venues: 2/);
        assert.match(m.stdout, /events: 2/);
        assert.match(m.stdout, /verified: 2 events read back the same/);
        assert.match(m.stdout, /documents per collection: .*order=/);

        srv2 = await Server.start({
            dbUrl: pg.url,
            token: srv.token,
            threads: 2,
            args: ['--payment', `sim:${sim.url}`, '--payment-secret-key-file', sim.keyFile,
                '--payment-webhook-secret-file', sim.webhookSecretFile],
        });
        await sim.config({ webhook_url: `${srv2.url}/api/v1/payments/webhook` });
        const { ev, ev2 } = before_;

        assert.deepEqual((await srv2.get('/api/v1/events')).body, before_.events, 'the events list');
        for (const [e, was] of [[ev, before_.avail], [ev2, before_.avail2]]) {
            const now = await availability(srv2, e.event.id);
            assert.deepEqual([...now.states], [...was.states], 'every seat');
            assert.deepEqual(now.counts, was.counts, 'counts');
            assert.deepEqual(now.ga, was.ga, 'GA counters');
            assert.equal(now.version, was.version, 'version');
        }
        // the live hold is still held, until its expiry
        const h = await srv2.get(`/api/v1/holds/${before_.hold.id}`);
        assertStatus(h, 200, 'the live hold');
        assert.equal(h.body.hold.expires_at, before_.hold.expires_at);
        assert.equal(before_.avail.states[ev.seats.indexOf(ev.seats[4])], 1, 'held before');
        // orders: paid (its ticket used), refunded, the GA one paid
        const sold = (await getOrder(srv2, before_.sold)).body.order;
        assert.deepEqual(sold, before_.soldOrder, 'the paid order');
        assert.equal((await getOrder(srv2, before_.refunded)).body.order.status, 'refunded');
        assert.equal((await getOrder(srv2, before_.gaOrder)).body.order.status, 'paid');
        // the check-in: already used, with the first scan's time; the staff token works
        const again = await srv2.post('/api/v1/checkin', { code: before_.sold.tickets[0].code }, { admin: before_.staff });
        assert.equal(again.status, 409, again.text);
        assert.equal(again.body.result, 'already_used');
        assert.equal(again.body.first_checked_in_at, before_.checkedInAt);
        const second = await srv2.post('/api/v1/checkin', { code: before_.sold.tickets[1].code }, { admin: before_.staff });
        assertStatus(second, 200, 'a second ticket scans ok');
        // the refunded order's seats are for sale again: a new hold and sale work
        const np = await paidOrder(ev, { seats: ev.seats.slice(2, 4) }, srv2);
        assert.equal(np.tickets.length, 2, 'a new sale with its tickets');
        const taken = await hold(srv2, ev.event.id, { seats: ev.seats.slice(4, 6) });
        assert.equal(taken.status, 409, 'the migrated hold still holds its seats');
    });

    it('refuses a destination with data, a bad source, the same URL and wrong arguments (exit 2)', async () => {
        const again = await migrate('--from', sqliteUrl, '--to', pg.url);
        assert.equal(again.code, 2, again.stderr);
        assert.match(again.stderr, /already holds a boxoffice store with data/);

        const junk = join(dir, 'junk.db');
        writeFileSync(junk, 'this is not a database at all, just some text\n'.repeat(100));
        const bad = await migrate('--from', `sqlite:${junk}`, '--to', pg.url);
        assert.equal(bad.code, 2, bad.stderr);
        const missing = await migrate('--from', `sqlite:${join(dir, 'nope.db')}`, '--to', pg.url);
        assert.equal(missing.code, 2, missing.stderr);
        assert.match(missing.stderr, /not a file/);

        assert.equal((await migrate('--from', pg.url, '--to', pg.url)).code, 2);
        assert.equal((await migrate('--from', sqliteUrl)).code, 2);
        assert.equal((await migrate('--from', sqliteUrl, '--to', sqliteUrl)).code, 2);

        const secret = await migrate('--from', sqliteUrl, '--to', 'postgresql://bo:sekrit-pw@127.0.0.1:1/x');
        assert.equal(secret.code, 2, secret.stderr);
        assert.doesNotMatch(secret.stdout + secret.stderr, /sekrit-pw/, 'no password printed');

        const help = await migrate('--help');
        assert.equal(help.code, 0);
        assert.match(help.stdout, /--from sqlite:PATH/);
    });
});
