// badinput.test.mjs - malformed requests, each sent as raw bytes: every one
// gets its exact 4xx and error code, changes nothing (the event, its
// availability version and the SQLite tables are identical before and
// after) and leaves the server up (GET /healthz after each).

import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Server, newToken, tempDir } from './lib/server.mjs';
import { assertError, assertStatus, rawRequest, setupEvent } from './lib/api.mjs';

let srv, ev, heldId, secret, dir;

before(async () => {
    // A web root with one page, and a secret beside it that no path may reach.
    dir = tempDir();
    const web = join(dir, 'web');
    mkdirSync(web);
    writeFileSync(join(web, 'index.html'), '<!doctype html><title>boxoffice</title>\n');
    secret = 'SECRET-' + newToken();
    writeFileSync(join(dir, 'secret.txt'), secret + '\n');
    srv = await Server.start({ dir, webRoot: web, threads: 2 });
    ev = await setupEvent(srv, { sections: 2, rows: 3, seats: 6, ga: 1, ga_capacity: 20 });
    const h = await srv.post(`/api/v1/events/${ev.event.id}/holds`, { seats: [ev.seats[0]], customer: { email: 'held@example.test' } });
    assertStatus(h, 201, 'setup hold');
    heldId = h.body.hold.id;
});

after(async () => {
    if (srv) {
        const exit = await srv.stop();
        await srv.cleanup();
        assert.deepEqual(exit, { code: 0, signal: null }, 'SIGTERM: graceful exit 0');
    }
});

/** The request bytes: head with Content-Length and Connection: close. */
function wire(method, path, { headers = {}, body } = {}) {
    const buf = body === undefined ? null : Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8');
    const lines = [`${method} ${path} HTTP/1.1`, `Host: 127.0.0.1:${srv.port}`, 'Connection: close'];
    const h = { ...headers };
    if (buf && !Object.keys(h).some((k) => k.toLowerCase() === 'content-type')) h['Content-Type'] = 'application/json';
    for (const [k, v] of Object.entries(h)) if (v !== null) lines.push(`${k}: ${v}`);
    if (buf || method === 'POST' || method === 'PATCH') lines.push(`Content-Length: ${buf ? buf.length : 0}`);
    const head = Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'latin1');
    return buf ? Buffer.concat([head, buf]) : head;
}

const json = (o) => JSON.stringify(o);
const cust = { email: 'bad@example.test' };
const holdsPath = () => `/api/v1/events/${ev.event.id}/holds`;
const eventPath = () => `/api/v1/events/${ev.event.id}`;
const admin = () => ({ Authorization: `Bearer ${srv.token}` });
const nest = (depth, open = '[', close = ']') => open.repeat(depth) + close.repeat(depth);
const bytes = (...parts) => Buffer.concat(parts.map((p) => (Buffer.isBuffer(p) ? p : Buffer.from(p, 'utf8'))));

// [name, method, path (a function of the fixture), options, status, code]
const CASES = [
    // Broken JSON.
    ['unclosed object', 'POST', holdsPath, { body: '{' }, 400, 'INVALID_REQUEST'],
    ['trailing comma', 'POST', holdsPath, { body: '{"seats":["S1-A-2"],"customer":{"email":"a@b.co"},}' }, 400, 'INVALID_REQUEST'],
    ['single quotes', 'POST', holdsPath, { body: "{'seats':['S1-A-2']}" }, 400, 'INVALID_REQUEST'],
    ['garbage after the object', 'POST', holdsPath, { body: json({ seats: ['S1-A-2'], customer: cust }) + ' x' }, 400, 'INVALID_REQUEST'],
    ['two objects', 'POST', holdsPath, { body: json({ seats: ['S1-A-2'], customer: cust }) + json({}) }, 400, 'INVALID_REQUEST'],
    ['empty body', 'POST', holdsPath, { body: '' }, 400, 'INVALID_REQUEST'],
    ['body null', 'POST', holdsPath, { body: 'null' }, 400, 'INVALID_REQUEST'],
    ['body an array', 'POST', holdsPath, { body: '[]' }, 400, 'INVALID_REQUEST'],
    ['body a string', 'POST', holdsPath, { body: '"S1-A-2"' }, 400, 'INVALID_REQUEST'],
    ['empty object', 'POST', holdsPath, { body: '{}' }, 400, 'INVALID_REQUEST'],
    ['duplicate keys', 'POST', holdsPath, { body: '{"seats":["S1-A-2"],"customer":{"email":"a@b.co"},"seats":["S1-A-3"]}' }, 400, 'INVALID_REQUEST'],
    ['NaN', 'POST', holdsPath, { body: '{"best_available":{"quantity":NaN},"customer":{"email":"a@b.co"}}' }, 400, 'INVALID_REQUEST'],
    ['a comment', 'POST', holdsPath, { body: '{/* hi */"seats":["S1-A-2"],"customer":{"email":"a@b.co"}}' }, 400, 'INVALID_REQUEST'],
    ['broken JSON on PATCH', 'PATCH', eventPath, { headers: admin, body: '{"name":' }, 400, 'INVALID_REQUEST'],
    ['broken JSON on a venue', 'POST', () => '/api/v1/venues', { headers: admin, body: '{"name":"x","sections":[' }, 400, 'INVALID_REQUEST'],
    // Wrong types.
    ['seats a string', 'POST', holdsPath, { body: json({ seats: 'S1-A-2', customer: cust }) }, 400, 'INVALID_REQUEST'],
    ['seats numbers', 'POST', holdsPath, { body: json({ seats: [1, 2], customer: cust }) }, 400, 'INVALID_REQUEST'],
    ['seats [null]', 'POST', holdsPath, { body: json({ seats: [null], customer: cust }) }, 400, 'INVALID_REQUEST'],
    ['customer a string', 'POST', holdsPath, { body: json({ seats: ['S1-A-2'], customer: 'a@b.co' }) }, 400, 'INVALID_REQUEST'],
    ['email a number', 'POST', holdsPath, { body: json({ seats: ['S1-A-2'], customer: { email: 42 } }) }, 400, 'INVALID_REQUEST'],
    ['best_available a number', 'POST', holdsPath, { body: json({ best_available: 2, customer: cust }) }, 400, 'INVALID_REQUEST'],
    ['quantity a string', 'POST', holdsPath, { body: json({ best_available: { quantity: '2' }, customer: cust }) }, 400, 'INVALID_REQUEST'],
    ['quantity true', 'POST', holdsPath, { body: json({ best_available: { quantity: true }, customer: cust }) }, 400, 'INVALID_REQUEST'],
    ['ga a string', 'POST', holdsPath, { body: json({ ga: 'ga1', customer: cust }) }, 400, 'INVALID_REQUEST'],
    ['ga quantity null', 'POST', holdsPath, { body: json({ ga: { area: 'ga1', quantity: null }, customer: cust }) }, 400, 'INVALID_REQUEST'],
    ['PATCH name an object', 'PATCH', eventPath, { headers: admin, body: json({ name: { first: 'x' } }) }, 400, 'INVALID_REQUEST'],
    ['block unblock a string', 'POST', () => `${eventPath()}/block`, { headers: admin, body: json({ seats: ['S1-A-2'], unblock: 'yes' }) }, 400, 'INVALID_REQUEST'],
    // Huge, negative and fractional numbers.
    ['quantity 1e30', 'POST', holdsPath, { body: '{"best_available":{"quantity":1e30},"customer":{"email":"a@b.co"}}' }, 400, 'INVALID_REQUEST'],
    ['quantity 2^64+1', 'POST', holdsPath, { body: '{"best_available":{"quantity":18446744073709551617},"customer":{"email":"a@b.co"}}' }, 400, 'INVALID_REQUEST'],
    ['quantity 2^32+1', 'POST', holdsPath, { body: '{"best_available":{"quantity":4294967297},"customer":{"email":"a@b.co"}}' }, 400, 'INVALID_REQUEST'],
    ['quantity -1', 'POST', holdsPath, { body: json({ best_available: { quantity: -1 }, customer: cust }) }, 400, 'INVALID_REQUEST'],
    ['quantity 2.5', 'POST', holdsPath, { body: json({ best_available: { quantity: 2.5 }, customer: cust }) }, 400, 'INVALID_REQUEST'],
    ['quantity 0', 'POST', holdsPath, { body: json({ best_available: { quantity: 0 }, customer: cust }) }, 400, 'INVALID_REQUEST'],
    ['GA quantity 1e9', 'POST', holdsPath, { body: json({ ga: { area: 'ga1', quantity: 1e9 }, customer: cust }) }, 400, 'INVALID_REQUEST'],
    ['GA quantity -3', 'POST', holdsPath, { body: json({ ga: { area: 'ga1', quantity: -3 }, customer: cust }) }, 400, 'INVALID_REQUEST'],
    ['hold_ttl_s -5', 'PATCH', eventPath, { headers: admin, body: json({ hold_ttl_s: -5 }) }, 400, 'INVALID_REQUEST'],
    ['per_customer_limit 1e20', 'PATCH', eventPath, { headers: admin, body: '{"per_customer_limit":1e20}' }, 400, 'INVALID_REQUEST'],
    ['price 1e300', 'PATCH', eventPath, { headers: admin, body: '{"prices":{"P1":1e300}}' }, 400, 'INVALID_REQUEST'],
    ['price -100', 'PATCH', eventPath, { headers: admin, body: json({ prices: { P1: -100 } }) }, 400, 'INVALID_REQUEST'],
    ['list limit 10^20', 'GET', () => '/api/v1/events?limit=100000000000000000000', {}, 400, 'INVALID_REQUEST'],
    ['list limit -5', 'GET', () => '/api/v1/events?limit=-5', {}, 400, 'INVALID_REQUEST'],
    // Unknown seats, areas, events, holds.
    ['unknown seat', 'POST', holdsPath, { body: json({ seats: ['S9-Z-99'], customer: cust }) }, 400, 'INVALID_REQUEST'],
    ['unknown and known seat', 'POST', holdsPath, { body: json({ seats: ['S1-A-2', 'nope'], customer: cust }) }, 400, 'INVALID_REQUEST'],
    ['unknown GA area', 'POST', holdsPath, { body: json({ ga: { area: 'balcony', quantity: 1 }, customer: cust }) }, 400, 'INVALID_REQUEST'],
    ['unknown category', 'POST', holdsPath, { body: json({ best_available: { quantity: 1, category: 'VIP' }, customer: cust }) }, 400, 'INVALID_REQUEST'],
    ['block an unknown seat', 'POST', () => `${eventPath()}/block`, { headers: admin, body: json({ seats: ['S9-Z-99'], unblock: false }) }, 400, 'INVALID_REQUEST'],
    ['hold on an unknown event', 'POST', () => '/api/v1/events/evt_00000000000000aa/holds', { body: json({ seats: ['S1-A-2'], customer: cust }) }, 404, 'NOT_FOUND'],
    ['unknown event', 'GET', () => '/api/v1/events/evt_00000000000000aa', {}, 404, 'NOT_FOUND'],
    ['unknown hold', 'GET', () => `/api/v1/holds/hold_${ev.event.id.slice(4)}${'ab'.repeat(16)}`, {}, 404, 'NOT_FOUND'],
    ['DELETE an unknown hold', 'DELETE', () => `/api/v1/holds/hold_${ev.event.id.slice(4)}${'ab'.repeat(16)}`, {}, 404, 'NOT_FOUND'],
    ['a hold id of another event', 'GET', () => `/api/v1/holds/hold_00000000000000aa${heldId.slice(21)}`, {}, 404, 'NOT_FOUND'],
    ['event on an unknown venue', 'POST', () => '/api/v1/events', { headers: admin, body: () => json({ venue_id: 'ven_00000000000000aa', name: 'x', starts_at: '2030-01-01T20:00:00Z', currency: 'EUR', prices: ev.prices }) }, 404, 'NOT_FOUND'],
    // Overlong strings.
    ['email of 10,000 bytes', 'POST', holdsPath, { body: json({ seats: ['S1-A-2'], customer: { email: 'a'.repeat(10000) + '@example.test' } }) }, 400, 'INVALID_REQUEST'],
    ['seat id of 10,000 bytes', 'POST', holdsPath, { body: json({ seats: ['S'.repeat(10000)], customer: cust }) }, 400, 'INVALID_REQUEST'],
    ['event name of 100,000 bytes', 'POST', () => '/api/v1/events', { headers: admin, body: () => json({ venue_id: ev.venue.id, name: 'n'.repeat(100000), starts_at: '2030-01-01T20:00:00Z', currency: 'EUR', prices: ev.prices }) }, 400, 'INVALID_REQUEST'],
    ['PATCH name of 10,000 bytes', 'PATCH', eventPath, { headers: admin, body: json({ name: 'n'.repeat(10000) }) }, 400, 'INVALID_REQUEST'],
    ['search q of 4,000 bytes', 'GET', () => `/api/v1/events?q=${'q'.repeat(4000)}`, {}, 400, 'INVALID_REQUEST'],
    ['Idempotency-Key of 1,000 bytes', 'POST', holdsPath, { headers: { 'Idempotency-Key': 'k'.repeat(1000) }, body: json({ seats: ['S1-A-2'], customer: cust }) }, 400, 'INVALID_REQUEST'],
    ['empty Idempotency-Key', 'POST', holdsPath, { headers: { 'Idempotency-Key': '' }, body: json({ seats: ['S1-A-2'], customer: cust }) }, 400, 'INVALID_REQUEST'],
    // Sizes.
    ['a 10 MiB body', 'POST', holdsPath, { body: () => json({ seats: ['S1-A-2'], customer: cust, pad: 'p'.repeat(10 * 1024 * 1024) }) }, 413, 'TOO_LARGE'],
    ['a 2 MiB event', 'POST', () => '/api/v1/events', { headers: admin, body: () => json({ venue_id: ev.venue.id, name: 'x', starts_at: '2030-01-01T20:00:00Z', currency: 'EUR', prices: ev.prices, pad: 'p'.repeat(2 * 1024 * 1024) }) }, 413, 'TOO_LARGE'],
    ['101 seats in one hold', 'POST', holdsPath, { body: json({ seats: Array.from({ length: 101 }, (_, i) => `S1-A-${i + 1}`), customer: cust }) }, 400, 'INVALID_REQUEST'],
    // Deep nesting.
    ['arrays nested 40 deep', 'POST', holdsPath, { body: `{"seats":${nest(40)},"customer":{"email":"a@b.co"}}` }, 400, 'INVALID_REQUEST'],
    ['arrays nested 100,000 deep', 'POST', holdsPath, { body: () => `{"seats":${nest(100000)}}` }, 400, 'INVALID_REQUEST'],
    ['objects nested 1,000 deep', 'POST', holdsPath, { body: () => `{"customer":${'{"a":'.repeat(1000)}1${'}'.repeat(1000)}}` }, 400, 'INVALID_REQUEST'],
    ['unclosed nesting 100,000 deep', 'POST', holdsPath, { body: () => '['.repeat(100000) }, 400, 'INVALID_REQUEST'],
    // Invalid UTF-8 and escapes.
    ['byte 0xFF in a string', 'POST', holdsPath, { body: bytes('{"seats":["S1-A-2"],"customer":{"email":"a', Buffer.from([0xff]), '@b.co"}}') }, 400, 'INVALID_REQUEST'],
    ['overlong encoding of "/"', 'POST', holdsPath, { body: bytes('{"seats":["S1-A-', Buffer.from([0xc0, 0xaf]), '"],"customer":{"email":"a@b.co"}}') }, 400, 'INVALID_REQUEST'],
    ['truncated sequence', 'POST', holdsPath, { body: bytes('{"seats":["S1-A-2"],"customer":{"email":"a@b.co', Buffer.from([0xe2, 0x82]), '"}}') }, 400, 'INVALID_REQUEST'],
    ['encoded surrogate (CESU)', 'POST', holdsPath, { body: bytes('{"seats":["S1-A-2"],"customer":{"email":"a', Buffer.from([0xed, 0xa0, 0x80]), '@b.co"}}') }, 400, 'INVALID_REQUEST'],
    ['lone surrogate escape', 'POST', holdsPath, { body: '{"seats":["S1-A-2"],"customer":{"email":"a\\ud800@b.co"}}' }, 400, 'INVALID_REQUEST'],
    ['NUL escape', 'POST', holdsPath, { body: '{"seats":["S1-A-2\\u0000"],"customer":{"email":"a@b.co"}}' }, 400, 'INVALID_REQUEST'],
    ['invalid UTF-8 in a venue name', 'POST', () => '/api/v1/venues', { headers: admin, body: bytes('{"name":"Ar', Buffer.from([0xfe]), 'ena","sections":[]}') }, 400, 'INVALID_REQUEST'],
    ['invalid UTF-8 in the query', 'GET', () => '/api/v1/events?q=%ff%fe', {}, 400, 'INVALID_REQUEST'],
    // Path traversal towards static files: a path with dot-segments, encoded
    // separators or NUL outside /api/ is refused outright (400); whatever
    // normalises into an unknown path is 404; nothing is ever served.
    ['/../secret.txt', 'GET', () => '/../secret.txt', {}, 400, 'INVALID_REQUEST'],
    ['/../../etc/passwd', 'GET', () => '/../../etc/passwd', {}, 400, 'INVALID_REQUEST'],
    ['/%2e%2e/secret.txt', 'GET', () => '/%2e%2e/secret.txt', {}, 400, 'INVALID_REQUEST'],
    ['/%2E%2E/%2E%2E/etc/passwd', 'GET', () => '/%2E%2E/%2E%2E/etc/passwd', {}, 400, 'INVALID_REQUEST'],
    ['/..%2fsecret.txt', 'GET', () => '/..%2fsecret.txt', {}, 400, 'INVALID_REQUEST'],
    ['/%2e%2e%2f%2e%2e%2fetc%2fpasswd', 'GET', () => '/%2e%2e%2f%2e%2e%2fetc%2fpasswd', {}, 400, 'INVALID_REQUEST'],
    ['/x/..%5c..%5csecret.txt', 'GET', () => '/x/..%5c..%5csecret.txt', {}, 400, 'INVALID_REQUEST'],
    ['/%252e%252e/secret.txt', 'GET', () => '/%252e%252e/secret.txt', {}, 404, 'NOT_FOUND'],
    ['/api/v1/../../secret.txt', 'GET', () => '/api/v1/../../secret.txt', {}, 404, 'NOT_FOUND'],
    ['/api/v1/events/..%2f..%2f..%2fsecret.txt', 'GET', () => '/api/v1/events/..%2f..%2f..%2fsecret.txt', {}, 404, 'NOT_FOUND'],
    ['/secret.txt%00.html', 'GET', () => '/secret.txt%00.html', {}, 400, 'INVALID_REQUEST'],
    // Bad methods.
    ['PUT on the events list', 'PUT', () => '/api/v1/events', { body: '{}' }, 405, 'METHOD_NOT_ALLOWED'],
    ['DELETE on an event', 'DELETE', eventPath, {}, 405, 'METHOD_NOT_ALLOWED'],
    ['FOO on the events list', 'FOO', () => '/api/v1/events', {}, 405, 'METHOD_NOT_ALLOWED'],
    ['PATCH on a hold', 'PATCH', () => `/api/v1/holds/${heldId}`, { body: json({ seats: [] }) }, 405, 'METHOD_NOT_ALLOWED'],
    ['POST on availability', 'POST', () => `${eventPath()}/availability`, { body: '{}' }, 405, 'METHOD_NOT_ALLOWED'],
    ['DELETE on holds of an event', 'DELETE', holdsPath, {}, 405, 'METHOD_NOT_ALLOWED'],
    // Bad ids.
    ['event id not hex', 'GET', () => '/api/v1/events/evt_zzzzzzzzzzzzzzzz', {}, 404, 'NOT_FOUND'],
    ['event id in upper case', 'GET', () => `/api/v1/events/${ev.event.id.toUpperCase()}`, {}, 404, 'NOT_FOUND'],
    ['event id zero', 'GET', () => '/api/v1/events/evt_0000000000000000', {}, 404, 'NOT_FOUND'],
    ['event id too long', 'GET', () => `/api/v1/events/${ev.event.id}00`, {}, 404, 'NOT_FOUND'],
    ['hold id too short', 'GET', () => '/api/v1/holds/hold_1234', {}, 404, 'NOT_FOUND'],
    ['hold id with a NUL', 'DELETE', () => `/api/v1/holds/${heldId.slice(0, 30)}%00${heldId.slice(31)}`, {}, 400, 'INVALID_REQUEST'],
    ['a venue id as an event id', 'GET', () => `/api/v1/events/${ev.venue.id}/seatmap`, {}, 404, 'NOT_FOUND'],
    // Content types.
    ['JSON sent as text/plain', 'POST', holdsPath, { headers: { 'Content-Type': 'text/plain' }, body: json({ seats: ['S1-A-2'], customer: cust }) }, 400, 'INVALID_REQUEST'],
    ['a form instead of JSON', 'POST', holdsPath, { headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'seats=S1-A-2&email=a%40b.co' }, 400, 'INVALID_REQUEST'],
];

describe('bad input', () => {
    let tables0;
    const TABLES = ['venues', 'events', 'log', 'sold', 'ga', 'snapshots', 'idem'];
    const tableCounts = async () => {
        const rows = await srv.sql(TABLES.map((t) => `SELECT '${t}' AS t, count(*) AS n FROM ${t}`).join(' UNION ALL '));
        return Object.fromEntries(rows.map((r) => [r.t, r.n]));
    };

    before(async () => {
        tables0 = await tableCounts();
    });

    it(`has at least 50 cases (${CASES.length})`, () => {
        assert.ok(CASES.length >= 50);
    });

    for (const [name, method, pathFn, opts, status, code] of CASES) {
        it(`${name}: ${status} ${code}`, async () => {
            const path = pathFn();
            const headers = typeof opts.headers === 'function' ? opts.headers() : opts.headers || {};
            const body = typeof opts.body === 'function' ? opts.body() : opts.body;
            const ev0 = await srv.get(`/api/v1/events/${ev.event.id}`);
            const av0 = await srv.get(`/api/v1/events/${ev.event.id}/availability`);
            const res = await rawRequest(srv.port, wire(method, path, { headers, body }), 30000);
            assertError(res, status, code, `${method} ${path.slice(0, 80)}`);
            assert.ok(!res.text.includes(secret) && !res.text.includes('root:x:0:0'), 'no file outside the web root');
            if (status === 405) assert.ok(res.headers.allow, 'Allow header');
            const health = await srv.get('/healthz');
            assertStatus(health, 200, `server up after "${name}"`);
            const ev1 = await srv.get(`/api/v1/events/${ev.event.id}`);
            const av1 = await srv.get(`/api/v1/events/${ev.event.id}/availability`);
            assert.equal(av1.body.version, av0.body.version, 'availability version unchanged');
            assert.equal(av1.body.seats, av0.body.seats, 'seat states unchanged');
            assert.deepEqual(ev1.body, ev0.body, 'event unchanged');
        });
    }

    it('the web root still serves its page, and the setup hold is intact', async () => {
        const page = await srv.get('/index.html');
        assertStatus(page, 200, 'GET /index.html');
        assert.match(page.text, /<title>boxoffice<\/title>/);
        const h = await srv.get(`/api/v1/holds/${heldId}`);
        assertStatus(h, 200);
        assert.deepEqual(h.body.hold.seats, [ev.seats[0]]);
    });

    it('the SQLite file did not change: same rows in every table', async () => {
        assert.deepEqual(await tableCounts(), tables0);
    });
});
