// api.test.mjs - every endpoint of the HTTP API (DESIGN.md's table, minus
// payments, orders, tickets and check-in) against a real `boxoffice serve`
// with a real SQLite store: success paths, every reachable error code, the
// admin token refused on every admin endpoint, idempotent replays, ETag and
// 304, and an SSE client that sees a hold within a second.

import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import zlib from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { Server, newToken, seatOrder, sleep, venueGen } from './lib/server.mjs';
import {
    EVENT_ID, HOLD_ID, RFC3339, VENUE_ID, SseClient, assertCountsAddUp, assertError, assertStatus, availability,
    createVenue, pricesFor, setupEvent, version,
} from './lib/api.mjs';

// 2 sections x 3 rows x 6 seats = 36 seats, one GA area of 20.
const GEN = { sections: 2, rows: 3, seats: 6, ga: 1, ga_capacity: 20 };
const NSEATS = 36;
const GA_CAP = 20;
const NPLACES = NSEATS + GA_CAP; // the event's counts take seats and GA places together
const iso = (ms) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
const DAY = 86400e3;
const email = (tag) => `${tag}-${Math.random().toString(16).slice(2)}@example.test`;

let srv;
let expiry; // holds made first with the shortest TTL (30 s), checked last
before(async () => {
    srv = await Server.start({ threads: 2 });
    const ev = await setupEvent(srv, GEN, { hold_ttl_s: 30 });
    // Made half-way through a second, so that an expires_at shown to the
    // whole second (not rounded up) is visibly earlier than the real expiry.
    await sleep((1500 - (Date.now() % 1000)) % 1000);
    const seat = await srv.post(`/api/v1/events/${ev.event.id}/holds`, { seats: [ev.seats[5]], customer: { email: email('ttl') } });
    assertStatus(seat, 201, 'short hold');
    const ga = await srv.post(`/api/v1/events/${ev.event.id}/holds`, { ga: { area: 'ga1', quantity: 4 }, customer: { email: email('ttl') } });
    assertStatus(ga, 201, 'short GA hold');
    expiry = { ev, seat: seat.body.hold, ga: ga.body.hold };
});
after(async () => {
    if (srv) {
        const exit = await srv.stop();
        await srv.cleanup();
        assert.deepEqual(exit, { code: 0, signal: null }, 'SIGTERM: graceful exit 0');
    }
});

/** A fresh event (its own venue) for tests that change state. */
const fresh = (eventExtra, gen = GEN) => setupEvent(srv, gen, eventExtra);
const hold = (ev, body, opts) => srv.post(`/api/v1/events/${ev.event.id}/holds`, body, opts);

describe('cleartext HTTP/2 (h2c, prior knowledge)', () => {
    it('a hold and its release as streams of one HTTP/2 connection', async () => {
        const ev = await fresh();
        const session = http2.connect(srv.url);
        const req = (method, path, json) =>
            new Promise((resolve, reject) => {
                const s = session.request({ ':method': method, ':path': path, ...(json ? { 'content-type': 'application/json' } : {}) });
                let status, text = '';
                s.setEncoding('utf8');
                s.on('response', (h) => (status = h[':status']));
                s.on('data', (d) => (text += d));
                s.on('end', () => resolve({ status, body: text ? JSON.parse(text) : null }));
                s.on('error', reject);
                s.end(json ? JSON.stringify(json) : undefined);
            });
        try {
            const [a, b] = await Promise.all([
                req('POST', `/api/v1/events/${ev.event.id}/holds`, { seats: [ev.seats[0], ev.seats[1]], customer: { email: email('h2c') } }),
                req('POST', `/api/v1/events/${ev.event.id}/holds`, { seats: [ev.seats[1], ev.seats[2]], customer: { email: email('h2c') } }),
            ]);
            const won = [a, b].filter((r) => r.status === 201);
            const lost = [a, b].filter((r) => r.status !== 201);
            assert.equal(won.length, 1, 'one of two overlapping holds');
            assert.equal(lost[0].status, 409);
            assert.equal(lost[0].body.error.code, 'SEATS_UNAVAILABLE');
            assert.deepEqual(lost[0].body.error.details.seats, [ev.seats[1]]);
            assert.equal((await req('GET', `/api/v1/holds/${won[0].body.hold.id}`)).body.hold.status, 'held');
            assert.equal((await req('DELETE', `/api/v1/holds/${won[0].body.hold.id}`)).status, 204);
        } finally {
            session.close();
        }
    });
});

describe('operations endpoints', () => {
    it('GET /healthz and /readyz answer 200 JSON', async () => {
        for (const path of ['/healthz', '/readyz']) {
            const res = await srv.get(path);
            assertStatus(res, 200, path);
            assert.match(res.headers.get('content-type'), /application\/json/);
        }
        assert.deepEqual(pick((await srv.get('/healthz')).body, ['status']), { status: 'ok' });
        assert.deepEqual(pick((await srv.get('/readyz')).body, ['status']), { status: 'ready' });
    });

    it('GET /metrics is Prometheus text counting requests by route and status', async () => {
        await srv.get('/healthz');
        const res = await srv.get('/metrics');
        assertStatus(res, 200, '/metrics');
        assert.match(res.headers.get('content-type'), /^text\/plain/);
        assert.match(res.text, /^# TYPE boxoffice_http_requests_total counter$/m);
        const lines = res.text.split('\n').filter((l) => l.startsWith('boxoffice_http_requests_total{'));
        assert.ok(lines.length > 0, 'boxoffice_http_requests_total samples');
        for (const l of lines) assert.match(l, /^boxoffice_http_requests_total\{.*\} \d+(\.\d+)?$/);
        assert.ok(lines.some((l) => /route="\/healthz"/.test(l) && /status="200"/.test(l)), 'route and status labels');
        assert.ok(!lines.some((l) => /route="\/api\/v1\/events\/evt_/.test(l)), 'route patterns, never concrete paths');
    });
});

describe('routing', () => {
    it('an unknown route answers 404 NOT_FOUND in JSON', async () => {
        assertError(await srv.get('/api/v1/nothing-here'), 404, 'NOT_FOUND', 'GET /api/v1/nothing-here');
        assertError(await srv.get('/api/v2/events'), 404, 'NOT_FOUND', 'GET /api/v2/events');
        assertError(await srv.post('/api/v1/events/evt_0000000000000001/nope', {}), 404, 'NOT_FOUND');
    });

    it('a wrong method answers 405 METHOD_NOT_ALLOWED with Allow', async () => {
        const cases = [
            ['PUT', '/api/v1/events', ['GET', 'POST']],
            ['DELETE', '/api/v1/events/evt_0000000000000001', ['GET', 'PATCH']],
            ['DELETE', '/api/v1/venues', ['GET', 'POST']],
            ['POST', '/healthz', ['GET']],
            ['PUT', '/api/v1/holds/hold_000000000000000100000000000000000000000000000000', ['GET', 'DELETE']],
        ];
        for (const [method, path, allow] of cases) {
            const res = await srv.req(method, path, method === 'GET' ? {} : { json: {} });
            assertError(res, 405, 'METHOD_NOT_ALLOWED', `${method} ${path}`);
            const got = (res.headers.get('allow') || '').split(',').map((s) => s.trim()).filter(Boolean);
            for (const m of allow) assert.ok(got.includes(m), `${method} ${path}: Allow "${res.headers.get('allow')}" lacks ${m}`);
            assert.ok(!got.includes(method), `${method} ${path}: Allow lists ${method}`);
        }
    });

    it('keep-alive: after an answer that waited for a commit, the next request on the connection is answered at once', async () => {
        // A regression test: answers finished on the committer thread once
        // left the connection unread until something else woke its loop.
        const ev = await fresh({ per_customer_limit: 0 });
        const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
        const call = (method, path, body) => new Promise((resolve, reject) => {
            const data = body ? JSON.stringify(body) : null;
            const req = http.request({ host: '127.0.0.1', port: srv.port, method, path, agent, headers: data ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } : {} }, (res) => {
                res.resume();
                res.on('end', () => resolve(res.statusCode));
            });
            req.setTimeout(5000, () => req.destroy(new Error(`${method} ${path}: no answer within 5 s`)));
            req.on('error', reject);
            req.end(data);
        });
        let waited = 0;
        try {
            for (let i = 0; i < 20; i++) {
                assert.equal(await call('POST', `/api/v1/events/${ev.event.id}/holds`, { ga: { area: 'ga1', quantity: 1 }, customer: { email: 'ka@example.test' } }), 201);
                const t0 = performance.now();
                assert.equal(await call('GET', `/api/v1/events/${ev.event.id}`), 200);
                waited += performance.now() - t0;
            }
        } finally {
            agent.destroy();
        }
        assert.ok(waited < 1000, `20 GETs after holds took ${Math.round(waited)} ms in all`);
    });

    it('HEAD is answered like GET without a body', async () => {
        const res = await srv.req('HEAD', '/healthz');
        assertStatus(res, 200, 'HEAD /healthz');
        assert.equal(res.text, '');
    });
});

describe('admin authentication on every admin endpoint', () => {
    let ev;
    before(async () => {
        ev = await fresh();
    });

    const endpoints = () => [
        ['POST', '/api/v1/venues', { ...ev.map, name: 'Unauthorised' }],
        ['POST', '/api/v1/events', { venue_id: ev.venue.id, name: 'Nope', starts_at: iso(Date.now() + DAY), currency: 'EUR', prices: ev.prices }],
        ['PATCH', `/api/v1/events/${ev.event.id}`, { name: 'Renamed by nobody' }],
        ['POST', `/api/v1/events/${ev.event.id}/block`, { seats: [ev.seats[0]], unblock: false }],
        ['GET', `/api/v1/events/${ev.event.id}/report`, undefined],
    ];

    it('no Authorization: 401 UNAUTHORIZED; a malformed one: 401; a wrong token: 403 FORBIDDEN; nothing changes', async () => {
        const before0 = await srv.get(`/api/v1/events/${ev.event.id}`);
        const v0 = await version(srv, ev.event.id);
        const wrong = newToken();
        for (const [method, path, json] of endpoints()) {
            const what = `${method} ${path}`;
            const none = await srv.req(method, path, { json });
            assertError(none, 401, 'UNAUTHORIZED', `${what} without a token`);
            assert.match(none.headers.get('www-authenticate') || '', /^Bearer/, `${what}: WWW-Authenticate`);
            for (const h of ['Basic YWRtaW46YWRtaW4=', 'Bearer', `Token ${srv.token}`, srv.token])
                assertError(await srv.req(method, path, { json, headers: { authorization: h } }), 401, 'UNAUTHORIZED', `${what} with "${h.slice(0, 20)}"`);
            assertError(await srv.req(method, path, { json, admin: wrong }), 403, 'FORBIDDEN', `${what} with a wrong token`);
            assertError(await srv.req(method, path, { json, admin: srv.token.slice(0, -1) }), 403, 'FORBIDDEN', `${what} with a token one digit short`);
            assertError(await srv.req(method, path, { json, admin: srv.token + '0' }), 403, 'FORBIDDEN', `${what} with a token one digit long`);
        }
        const after0 = await srv.get(`/api/v1/events/${ev.event.id}`);
        assert.equal(after0.body.event.name, before0.body.event.name, 'PATCH refused: name unchanged');
        assert.equal(await version(srv, ev.event.id), v0, 'block refused: availability unchanged');
        const list = await srv.get('/api/v1/events?q=Nope');
        assert.deepEqual(list.body.events, [], 'event creation refused');
    });

    it('authentication is checked before the request is validated or looked up', async () => {
        assertError(await srv.req('POST', '/api/v1/venues', { body: '{broken', headers: { 'content-type': 'application/json' } }), 401, 'UNAUTHORIZED');
        assertError(await srv.get('/api/v1/events/evt_00000000000000ff/report'), 401, 'UNAUTHORIZED');
        assertError(await srv.get('/api/v1/events/evt_00000000000000ff/report', { admin: newToken() }), 403, 'FORBIDDEN');
        assertError(await srv.get('/api/v1/events/evt_00000000000000ff/report', { admin: true }), 404, 'NOT_FOUND');
    });
});

describe('venues', () => {
    it('GET /api/v1/venues and /api/v1/venues/{id}: every venue with its categories and GA areas', async () => {
        const { venue } = await createVenue(srv, await venueGen(GEN), { city: 'Nantes' });
        const list = await srv.get('/api/v1/venues');
        assertStatus(list, 200, 'list venues');
        const v = list.body.venues.find((x) => x.id === venue.id);
        assert.ok(v, 'the new venue is listed');
        assert.equal(v.city, 'Nantes');
        assert.equal(v.seats, NSEATS);
        assert.equal(v.ga_capacity, GA_CAP);
        assert.equal(v.capacity, NPLACES);
        assert.deepEqual(v.ga_areas.map((a) => a.id), ['ga1']);
        assert.ok(v.categories.length >= 1 && v.categories.every((c) => c.key && c.name && /^#[0-9a-f]{6}$/i.test(c.color)));
        const one = await srv.get(`/api/v1/venues/${venue.id}`);
        assertStatus(one, 200, 'get venue');
        assert.deepEqual(one.body.venue, v);
        assertError(await srv.get('/api/v1/venues/ven_0000000000000001'), 404, 'NOT_FOUND', 'unknown venue');
        assertError(await srv.get('/api/v1/venues/nope'), 404, 'NOT_FOUND', 'malformed id');
    });

    it('POST /api/v1/venues creates a venue: 201 with id, name, city and counts', async () => {
        const map = await venueGen(GEN);
        const res = await srv.post('/api/v1/venues', { ...map, city: 'Lyon' }, { admin: true });
        assertStatus(res, 201, 'POST venue');
        const v = res.body.venue;
        assert.match(v.id, VENUE_ID);
        assert.equal(v.name, map.name);
        assert.equal(v.city, 'Lyon');
        assert.equal(v.seats, NSEATS);
        assert.equal(v.sections, 2);
        assert.equal(v.ga_areas, 1);
    });

    it('a bad seat map: 400 INVALID_SEATMAP listing every problem with its JSON path', async () => {
        const map = await venueGen(GEN);
        map.sections[0].rows[0].seats[1].id = map.sections[0].rows[0].seats[0].id; // duplicate
        map.sections[1].rows[2].seats[3].category = 'NOPE'; // unknown category
        const res = await srv.post('/api/v1/venues', map, { admin: true });
        assertError(res, 400, 'INVALID_SEATMAP', 'duplicate seat id + unknown category');
        const problems = res.body.error.details.problems;
        assert.ok(Array.isArray(problems), 'details.problems is an array');
        for (const p of problems) assert.match(p, /^[\w.[\]]+: .+/, `"path: message": ${p}`);
        assert.ok(problems.some((p) => p.startsWith('sections[0].rows[0].seats[1].id: ')), JSON.stringify(problems));
        assert.ok(problems.some((p) => p.startsWith('sections[1].rows[2].seats[3].category: ')), JSON.stringify(problems));
        assert.equal(res.body.error.details.total, problems.length);
    });

    it('seat maps without sections or with wrong types are refused with INVALID_SEATMAP', async () => {
        const map = await venueGen(GEN);
        for (const [what, bad] of [
            ['no name', { ...map, name: undefined }],
            ['sections not an array', { ...map, sections: 'many' }],
            ['negative GA capacity', { ...map, ga_areas: [{ ...map.ga_areas[0], capacity: -5 }] }],
            ['seat x not a number', { ...map, sections: [{ ...map.sections[0], rows: [{ label: 'A', seats: [{ ...map.sections[0].rows[0].seats[0], x: 'left' }] }] }] }],
        ]) {
            const res = await srv.post('/api/v1/venues', bad, { admin: true });
            assertError(res, 400, 'INVALID_SEATMAP', what);
            assert.ok(res.body.error.details.problems.length >= 1, what);
        }
    });

    it('Idempotency-Key: the same venue twice gives the same venue once; another body is refused', async () => {
        const map = await venueGen({ ...GEN, name: 'Idem Hall' });
        const key = 'venue-' + newToken();
        const a = await srv.post('/api/v1/venues', map, { admin: true, idem: key });
        assertStatus(a, 201, 'first');
        const b = await srv.post('/api/v1/venues', map, { admin: true, idem: key });
        assertStatus(b, 201, 'replay');
        assert.equal(b.text, a.text, 'identical answer');
        const c = await srv.post('/api/v1/venues', { ...map, name: 'Other Hall' }, { admin: true, idem: key });
        assertError(c, 422, 'IDEMPOTENCY_MISMATCH', 'same key, another body');
    });
});

describe('events', () => {
    let ev;
    before(async () => {
        ev = await fresh({ name: 'Concert of the tests', hold_ttl_s: 600, per_customer_limit: 0 });
    });

    it('POST /api/v1/events: 201 with the event, its venue, categories, GA areas and counts', async () => {
        const e = ev.event;
        assert.match(e.id, EVENT_ID);
        assert.equal(e.name, 'Concert of the tests');
        assert.deepEqual(e.venue, { id: ev.venue.id, name: ev.map.name, city: 'Testville' });
        assert.match(e.starts_at, RFC3339);
        assert.equal(e.status, 'on_sale');
        assert.equal(e.currency, 'EUR');
        const keys = e.categories.map((c) => c.key).sort();
        assert.deepEqual(keys, Object.keys(ev.prices).sort());
        for (const c of e.categories) assert.equal(c.price_cents, ev.prices[c.key], `price of ${c.key}`);
        assert.equal(e.hold_ttl_s, 600);
        assert.equal(e.per_customer_limit, 0);
        assert.match(e.on_sale_at, RFC3339);
        assert.ok(Date.parse(e.on_sale_at) <= Date.now(), 'on sale from now when on_sale_at is absent');
        assert.deepEqual(e.ga_areas.map((g) => pick(g, ['id', 'capacity', 'category', 'available'])), [{ id: 'ga1', capacity: GA_CAP, category: 'GA', available: GA_CAP }]);
        assert.deepEqual(e.availability, { available: NPLACES, total: NPLACES, held: 0, sold: 0, blocked: 0 });
    });

    it('GET /api/v1/events/{id}: the same event; unknown or malformed ids: 404', async () => {
        const res = await srv.get(`/api/v1/events/${ev.event.id}`);
        assertStatus(res, 200);
        assert.equal(res.body.event.id, ev.event.id);
        assert.deepEqual(res.body.event.venue, ev.event.venue);
        assert.deepEqual(res.body.event.availability, ev.event.availability);
        for (const id of ['evt_0000000000000001', 'evt_zzzzzzzzzzzzzzzz', 'evt_1', '12345', ev.venue.id, ev.event.id.toUpperCase(), ev.event.id + '0'])
            assertError(await srv.get(`/api/v1/events/${id}`), 404, 'NOT_FOUND', id);
    });

    it('bad event definitions: 400 INVALID_REQUEST; an unknown venue: 404 NOT_FOUND', async () => {
        const good = { venue_id: ev.venue.id, name: 'Bad', starts_at: iso(Date.now() + DAY), currency: 'EUR', prices: ev.prices };
        const { P1, ...missingP1 } = ev.prices;
        for (const [what, body] of [
            ['no name', { ...good, name: undefined }],
            ['empty name', { ...good, name: '' }],
            ['name not a string', { ...good, name: 42 }],
            ['starts_at not RFC 3339', { ...good, starts_at: 'next friday' }],
            ['no starts_at', { ...good, starts_at: undefined }],
            ['currency not ISO', { ...good, currency: 'euros' }],
            ['a price missing', { ...good, prices: missingP1 }],
            ['a negative price', { ...good, prices: { ...ev.prices, P1: -1 } }],
            ['a fractional price', { ...good, prices: { ...ev.prices, P1: 10.5 } }],
            ['a price for an unknown category', { ...good, prices: { ...ev.prices, ZZ: 100 } }],
            ['hold_ttl_s zero', { ...good, hold_ttl_s: 0 }],
            ['hold_ttl_s 29', { ...good, hold_ttl_s: 29 }],
            ['hold_ttl_s 3601', { ...good, hold_ttl_s: 3601 }],
            ['on_sale_at after starts_at', { ...good, on_sale_at: iso(Date.now() + 2 * DAY) }],
            ['per_customer_limit negative', { ...good, per_customer_limit: -1 }],
            ['venue_id malformed', { ...good, venue_id: 'ven_xyz' }],
        ])
            assertError(await srv.post('/api/v1/events', body, { admin: true }), 400, 'INVALID_REQUEST', what);
        assertError(await srv.post('/api/v1/events', { ...good, venue_id: 'ven_00000000000000aa' }, { admin: true }), 404, 'NOT_FOUND', 'unknown venue');
        assert.deepEqual((await srv.get('/api/v1/events?q=Bad')).body.events, [], 'nothing created');
    });

    it('PATCH /api/v1/events/{id} changes name and prices (200), refuses bad values (400) and unknown events (404)', async () => {
        const path = `/api/v1/events/${ev.event.id}`;
        const res = await srv.patch(path, { name: 'Renamed concert', prices: { ...ev.prices, P1: 7000 } }, { admin: true });
        assertStatus(res, 200, 'PATCH');
        assert.equal(res.body.event.name, 'Renamed concert');
        assert.equal(res.body.event.categories.find((c) => c.key === 'P1').price_cents, 7000);
        assert.equal((await srv.get(path)).body.event.name, 'Renamed concert');
        const p1 = ev.seats.find((s) => ev.categoryOf.get(s) === 'P1');
        const h = await hold(ev, { seats: [p1], customer: { email: email('patch') } });
        assertStatus(h, 201, 'hold after PATCH');
        assert.deepEqual(h.body.hold.amount, { total_cents: 7000, currency: 'EUR' }, 'new price applies');
        assertStatus(await srv.del(`/api/v1/holds/${h.body.hold.id}`), 204);
        assertError(await srv.patch(path, { name: 5 }, { admin: true }), 400, 'INVALID_REQUEST', 'name: 5');
        assertError(await srv.patch(path, { prices: { P1: -3 } }, { admin: true }), 400, 'INVALID_REQUEST', 'negative price');
        assertError(await srv.patch(path, { starts_at: 'soon' }, { admin: true }), 400, 'INVALID_REQUEST', 'bad starts_at');
        assertError(await srv.patch(path, {}, { admin: true }), 400, 'INVALID_REQUEST', 'no field');
        assertError(await srv.patch(path, { currency: 'USD' }, { admin: true }), 400, 'INVALID_REQUEST', 'currency cannot change');
        assertError(await srv.patch(path, { status: 'sold_out' }, { admin: true }), 400, 'INVALID_REQUEST', 'status sold_out');
        assertError(await srv.patch('/api/v1/events/evt_00000000000000ab', { name: 'x' }, { admin: true }), 404, 'NOT_FOUND');
        assert.equal((await srv.get(path)).body.event.name, 'Renamed concert', 'refused PATCHes changed nothing');
    });

    it('simultaneous PATCHes of one event never lose a field: each is applied, or refused 409 to retry', async () => {
        const e = await fresh();
        const path = `/api/v1/events/${e.event.id}`;
        for (let round = 0; round < 20; round++) {
            const name = `Name ${round}`;
            const description = `Description ${round}`;
            const ttl = 60 + round;
            const [a, b, c] = await Promise.all([
                srv.patch(path, { name }, { admin: true }),
                srv.patch(path, { description }, { admin: true }),
                srv.patch(path, { hold_ttl_s: ttl }, { admin: true }),
            ]);
            for (const r of [a, b, c]) {
                if (r.status === 409) {
                    assertError(r, 409, 'INVALID_STATE', 'a PATCH in flight');
                    assert.equal(r.headers.get('retry-after'), '1');
                } else {
                    assertStatus(r, 200, 'PATCH');
                }
            }
            const now = (await srv.get(path)).body.event;
            if (a.status === 200) assert.equal(now.name, name, `round ${round}: the name was lost`);
            if (b.status === 200) assert.equal(now.description, description, `round ${round}: the description was lost`);
            if (c.status === 200) assert.equal(now.hold_ttl_s, ttl, `round ${round}: hold_ttl_s was lost`);
        }
        // whatever was refused is applied by a retry
        assertStatus(await srv.patch(path, { name: 'Final' }, { admin: true }), 200, 'a lone PATCH');
        assert.equal((await srv.get(path)).body.event.name, 'Final');
    });

    it('scheduled (on_sale_at in the future) and cancelled events refuse holds with 422 NOT_ON_SALE', async () => {
        const sched = await fresh({ on_sale_at: iso(Date.now() + DAY) });
        assert.equal(sched.event.status, 'scheduled');
        const body = { seats: [sched.seats[0]], customer: { email: email('sched') } };
        assertError(await hold(sched, body), 422, 'NOT_ON_SALE', 'scheduled');
        const opened = await srv.patch(`/api/v1/events/${sched.event.id}`, { on_sale_at: iso(Date.now() - 1000) }, { admin: true });
        assertStatus(opened, 200, 'PATCH on_sale_at to the past');
        assert.equal(opened.body.event.status, 'on_sale');
        assertStatus(await hold(sched, body), 201, 'hold once on sale');
        const cancelled = await srv.patch(`/api/v1/events/${sched.event.id}`, { status: 'cancelled' }, { admin: true });
        assertStatus(cancelled, 200, 'PATCH status cancelled');
        assert.equal(cancelled.body.event.status, 'cancelled');
        assertError(await hold(sched, { seats: [sched.seats[1]], customer: { email: email('c') } }), 422, 'NOT_ON_SALE', 'cancelled');
    });

    it('an ended event (starts_at passed) refuses holds (422 NOT_ON_SALE) and reopening (409 INVALID_STATE)', async () => {
        const past = await fresh({ starts_at: iso(Date.now() - DAY) });
        assert.equal(past.event.status, 'ended');
        assertError(await hold(past, { seats: [past.seats[0]], customer: { email: email('end') } }), 422, 'NOT_ON_SALE', 'hold');
        const v0 = (await srv.get(`/api/v1/events/${past.event.id}`)).text;
        const reopen = await srv.patch(`/api/v1/events/${past.event.id}`, { status: 'on_sale' }, { admin: true });
        assertError(reopen, 409, 'INVALID_STATE', 'reopen');
        assert.equal((await srv.get(`/api/v1/events/${past.event.id}`)).text, v0, 'unchanged');
    });

    it('GET /api/v1/events searches by q, city, from/to and pages with a cursor to the end', async () => {
        const tag = 'zq' + Math.random().toString(36).slice(2, 8);
        const map = await venueGen(GEN);
        const { venue } = await createVenue(srv, map, { city: `City-${tag}` });
        const base = Date.now() + 60 * DAY;
        const made = [];
        for (let i = 0; i < 5; i++) {
            const res = await srv.post('/api/v1/events', {
                venue_id: venue.id, name: `${tag} night ${i}`, starts_at: iso(base + i * DAY), currency: 'EUR', prices: pricesFor(map),
            }, { admin: true });
            assertStatus(res, 201);
            made.push(res.body.event);
        }
        const ids = (r) => r.body.events.map((e) => e.id).sort();
        const all = made.map((e) => e.id).sort();
        const q = await srv.get(`/api/v1/events?q=${tag}`);
        assertStatus(q, 200);
        assert.deepEqual(ids(q), all, 'q finds the five');
        const item = q.body.events.find((e) => e.id === made[0].id);
        assert.equal(item.name, `${tag} night 0`);
        assert.deepEqual(item.venue, { id: venue.id, name: map.name, city: `City-${tag}` });
        assert.match(item.starts_at, RFC3339);
        assert.equal(item.status, 'on_sale');
        assert.deepEqual(pick(item.availability, ['available', 'total']), { available: NPLACES, total: NPLACES });
        assert.deepEqual(ids(await srv.get(`/api/v1/events?q=${tag}%20night%203`)), [made[3].id], 'q with a space');
        assert.deepEqual(ids(await srv.get(`/api/v1/events?city=City-${tag}`)), all, 'city');
        assert.deepEqual(ids(await srv.get(`/api/v1/events?city=City-${tag}x`)), [], 'other city');
        const from = encodeURIComponent(iso(base + DAY));
        const to = encodeURIComponent(iso(base + 3 * DAY));
        assert.deepEqual(ids(await srv.get(`/api/v1/events?q=${tag}&from=${from}&to=${to}`)), made.slice(1, 3).map((e) => e.id).sort(), 'from inclusive, to exclusive');
        assert.deepEqual(ids(await srv.get(`/api/v1/events?q=${tag.toUpperCase()}&city=city-${tag}`)), all, 'q and city ignore case');
        // Pagination: limit 2 over the five, to next_cursor null.
        const seen = [];
        let cursor = null;
        let pages = 0;
        do {
            const res = await srv.get(`/api/v1/events?q=${tag}&limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
            assertStatus(res, 200, `page ${pages}`);
            assert.ok(res.body.events.length <= 2);
            seen.push(...res.body.events.map((e) => e.id));
            cursor = res.body.next_cursor;
            assert.ok(cursor === null || typeof cursor === 'string', 'next_cursor string or null');
            pages++;
        } while (cursor !== null && pages < 10);
        assert.equal(cursor, null, 'next_cursor null at the end');
        assert.equal(pages, 3, 'five events, two per page');
        assert.deepEqual(seen.slice().sort(), all, 'every event once, no duplicates');
        for (const bad of ['limit=abc', 'limit=-1', 'limit=0', 'limit=101', 'cursor=garbage', 'from=yesterday', 'to=2024-13-45T00:00:00Z', `from=${to}&to=${from}`])
            assertError(await srv.get(`/api/v1/events?${bad}`), 400, 'INVALID_REQUEST', bad);
    });
});

function pick(o, keys) {
    return Object.fromEntries(keys.filter((k) => k in o).map((k) => [k, o[k]]));
}

describe('seat map and availability', () => {
    let ev;
    before(async () => {
        ev = await fresh();
    });

    it('GET seatmap?format=columns: the same seats as flat arrays', async () => {
        const objects = (await srv.get(`/api/v1/events/${ev.event.id}/seatmap`)).body;
        const res = await srv.get(`/api/v1/events/${ev.event.id}/seatmap?format=columns`);
        assertStatus(res, 200, 'columns');
        const c = res.body;
        assert.equal(c.format, 'columns');
        assert.deepEqual(c.categories, objects.categories);
        assert.deepEqual(c.ga_areas, objects.ga_areas);
        const seats = objects.sections.flatMap((s) => s.rows.flatMap((r) => r.seats));
        assert.deepEqual(c.sections.map((s) => s.rows.map((r) => [r.label, r.count])),
            objects.sections.map((s) => s.rows.map((r) => [r.label, r.seats.length])));
        assert.deepEqual(c.seats.id, seats.map((x) => x.id));
        assert.deepEqual(c.seats.label, seats.map((x) => x.label));
        assert.deepEqual(c.seats.x, seats.map((x) => x.x));
        assert.deepEqual(c.seats.y, seats.map((x) => x.y));
        assert.deepEqual(c.seats.category.map((k) => c.categories[k].key), seats.map((x) => x.category));
        assert.deepEqual(c.seats.accessible, seats.flatMap((x, i) => (x.accessible ? [i] : [])));
        assert.notEqual(res.headers.get('etag'), (await srv.get(`/api/v1/events/${ev.event.id}/seatmap`)).headers.get('etag'));
        assertError(await srv.get(`/api/v1/events/${ev.event.id}/seatmap?format=xml`), 400, 'INVALID_REQUEST', 'unknown format');
    });

    it('GET seatmap: gzip for clients that take it, the same map, its own ETag', async () => {
        const get = (enc) =>
            new Promise((res, rej) => {
                const headers = enc ? { 'accept-encoding': enc } : {};
                http.get(`${srv.url}/api/v1/events/${ev.event.id}/seatmap`, { headers }, (r) => {
                    const chunks = [];
                    r.on('data', (c) => chunks.push(c));
                    r.on('end', () => res({ headers: r.headers, body: Buffer.concat(chunks) }));
                }).on('error', rej);
            });
        const plain = await get(null);
        const gz = await get('br, gzip;q=0.8');
        const refused = await get('gzip;q=0, identity');
        assert.equal(plain.headers['content-encoding'], undefined);
        assert.equal(refused.headers['content-encoding'], undefined);
        assert.equal(gz.headers['content-encoding'], 'gzip');
        assert.match(gz.headers.vary, /Accept-Encoding/i);
        assert.ok(gz.body.length < plain.body.length / 3, `${gz.body.length} vs ${plain.body.length}`);
        assert.deepEqual(JSON.parse(zlib.gunzipSync(gz.body)), JSON.parse(plain.body));
        assert.notEqual(gz.headers.etag, plain.headers.etag, 'another representation, another ETag');
        const again = await srv.get(`/api/v1/events/${ev.event.id}/seatmap`, {
            headers: { 'accept-encoding': 'gzip', 'if-none-match': gz.headers.etag },
        });
        assert.equal(again.status, 304);
    });

    it('GET seatmap: the layout in DESIGN shape, with ETag and Cache-Control; If-None-Match gives 304', async () => {
        const path = `/api/v1/events/${ev.event.id}/seatmap`;
        const res = await srv.get(path);
        assertStatus(res, 200, 'seatmap');
        const m = res.body;
        assert.equal(m.venue_id, ev.venue.id);
        assert.deepEqual(seatOrder(m), ev.seats, 'every seat, in layout order');
        const s0 = m.sections[0].rows[0].seats[0];
        const g0 = ev.map.sections[0].rows[0].seats[0];
        assert.equal(s0.id, g0.id);
        assert.equal(typeof s0.label, 'string');
        assert.equal(s0.x, g0.x);
        assert.equal(s0.y, g0.y);
        assert.equal(s0.category, g0.category);
        assert.equal(m.sections[0].id, 'S1');
        assert.equal(m.sections[0].rows[0].label, 'A');
        assert.deepEqual(m.ga_areas.map((g) => [g.id, g.capacity, g.category]), [['ga1', 20, 'GA']]);
        for (const c of m.categories) {
            assert.equal(c.price_cents, ev.prices[c.key], c.key);
            assert.equal(typeof c.name, 'string');
            assert.match(c.color, /^#[0-9a-fA-F]{6}$/);
        }
        const etag = res.headers.get('etag');
        assert.match(etag || '', /^(W\/)?"[^"]+"$/, 'ETag');
        assert.match(res.headers.get('cache-control') || '', /max-age=\d+/, 'Cache-Control');
        const again = await srv.get(path, { headers: { 'if-none-match': etag } });
        assert.equal(again.status, 304);
        assert.equal(again.text, '');
        assert.equal(again.headers.get('etag'), etag);
        assertStatus(await srv.get(path, { headers: { 'if-none-match': '"something-else"' } }), 200, 'other ETag');
        assertError(await srv.get('/api/v1/events/evt_0000000000000abc/seatmap'), 404, 'NOT_FOUND');
    });

    it('GET seatmap: rendered once per venue, prices and form, off the loops, from the event\'s creation on', async () => {
        // its own server: renders start when events are made, so counting
        // them needs a server where no other test makes any
        const own = await Server.start({ threads: 2 });
        try {
            const renders = async () => {
                const m = (await own.get('/metrics')).text.match(/^boxoffice_seatmap_renders_total (\d+)$/m);
                assert.ok(m, 'boxoffice_seatmap_renders_total in /metrics');
                return Number(m[1]);
            };
            // renders started by a change finish on their own: wait for n
            const rendered = async (n) => {
                for (let t = 0; t < 100 && (await renders()) < n; t++) await sleep(100);
                assert.equal(await renders(), n);
            };
            const path = (id, q = '') => `/api/v1/events/${id}/seatmap${q}`;
            assert.equal(await renders(), 0);
            const big = await setupEvent(own, { sections: 8, rows: 25, seats: 50, ga: 1, ga_capacity: 100 }); // 10,000 seats
            await rendered(2); // both forms, from the creation, before anyone asks
            // 24 first requests at once, over their own connections (both loops)
            const first = await Promise.all(
                Array.from({ length: 24 }, () => own.get(path(big.event.id), { headers: { connection: 'close' } })),
            );
            for (const res of first) assertStatus(res, 200, 'first requests');
            const etag = first[0].headers.get('etag');
            for (const res of first) {
                assert.equal(res.headers.get('etag'), etag);
                assert.deepEqual(res.body, first[0].body);
                assert.match(res.headers.get('cache-control') || '', /max-age=\d+/);
            }
            assert.equal(seatOrder(first[0].body).length, 10000);
            for (let i = 0; i < 3; i++) assertStatus(await own.get(path(big.event.id, '?format=columns')), 200, 'columns');
            assert.equal(await renders(), 2, 'each form rendered once, however many asked');
            // another event at the venue with the same prices: the same maps, no render
            const twin = await own.post('/api/v1/events', {
                venue_id: big.venue.id, name: 'Second night', currency: 'EUR', prices: big.prices,
                starts_at: new Date(Date.now() + 31 * DAY).toISOString().replace(/\.\d+Z$/, 'Z'),
            }, { admin: true });
            assertStatus(twin, 201, 'second event');
            const shared = await own.get(path(twin.body.event.id));
            assertStatus(shared, 200, 'second event map');
            assert.equal(shared.headers.get('etag'), etag);
            assertStatus(await own.get(path(twin.body.event.id, '?format=columns')), 200, 'second event columns');
            assert.equal(await renders(), 2, 'shared, not rendered again');
            // its prices change: its own maps, the first event's stay
            const key = big.map.categories[0].key;
            assertStatus(await own.patch(`/api/v1/events/${twin.body.event.id}`, { prices: { [key]: 12345 } }, { admin: true }), 200, 'PATCH prices');
            await rendered(4); // from the change itself
            const repriced = await own.get(path(twin.body.event.id));
            assertStatus(repriced, 200, 'repriced map');
            assert.notEqual(repriced.headers.get('etag'), etag);
            assert.equal(repriced.body.categories.find((c) => c.key === key).price_cents, 12345);
            assertStatus(await own.get(path(twin.body.event.id, '?format=columns')), 200, 'repriced columns');
            assert.equal(await renders(), 4);
            const still = await own.get(path(big.event.id));
            assert.equal(still.headers.get('etag'), etag);
            assert.equal(still.body.categories.find((c) => c.key === key).price_cents, big.prices[key]);
            assert.equal(await renders(), 4);
        } finally {
            await own.stop();
            await own.cleanup();
        }
    });

    it('GET availability: one state byte per seat (base64), counts, GA; ETag "v<version>" and 304; changes bump it', async () => {
        const path = `/api/v1/events/${ev.event.id}/availability`;
        const a = await availability(srv, ev.event.id);
        assert.ok(Number.isInteger(a.version));
        assert.equal(a.etag, `"v${a.version}"`);
        assert.match((await srv.get(path)).headers.get('cache-control') || '', /no-cache/);
        assert.equal(a.states.length, NSEATS);
        assert.ok(a.states.every((b) => b === 0), 'all available');
        assert.deepEqual(pick(a.counts, ['available', 'held', 'sold', 'blocked', 'total']), { available: NSEATS, held: 0, sold: 0, blocked: 0, total: NSEATS });
        assert.deepEqual(a.ga, [{ id: 'ga1', available: 20 }]);
        const nm = await srv.get(path, { headers: { 'if-none-match': a.etag } });
        assert.equal(nm.status, 304);
        assert.equal(nm.text, '');
        // A hold changes the version, the ETag and the bytes.
        const h = await hold(ev, { seats: [ev.seats[3], ev.seats[4]], customer: { email: email('av') } });
        assertStatus(h, 201);
        const g = await hold(ev, { ga: { area: 'ga1', quantity: 3 }, customer: { email: email('av') } });
        assertStatus(g, 201);
        const b = await availability(srv, ev.event.id);
        assert.ok(b.version > a.version, 'version grows');
        assert.equal(b.etag, `"v${b.version}"`);
        assert.deepEqual([...b.states].map((s, i) => (s ? i : -1)).filter((i) => i >= 0), [3, 4]);
        assert.equal(b.states[3], 1);
        assert.deepEqual(pick(b.counts, ['available', 'held', 'sold', 'blocked', 'total']), { available: NSEATS - 2, held: 2, sold: 0, blocked: 0, total: NSEATS });
        assertCountsAddUp(b.counts);
        assert.deepEqual(b.ga, [{ id: 'ga1', available: 17 }]);
        assertStatus(await srv.get(path, { headers: { 'if-none-match': a.etag } }), 200, 'old ETag');
        assert.equal((await srv.get(path, { headers: { 'if-none-match': b.etag } })).status, 304);
        // The list form.
        const list = await srv.get(`${path}?format=list`);
        assertStatus(list, 200, 'format=list');
        assert.equal(list.body.version, b.version);
        assert.deepEqual(list.body.seats.map((s) => s.id), ev.seats);
        assert.deepEqual(list.body.seats.filter((s) => s.state !== 'available').map((s) => [s.id, s.state]), [[ev.seats[3], 'held'], [ev.seats[4], 'held']]);
        assert.deepEqual(list.body.ga, [{ id: 'ga1', available: 17 }]);
        assert.equal(list.headers.get('etag'), b.etag);
        assert.equal((await srv.get(`${path}?format=list`, { headers: { 'if-none-match': b.etag } })).status, 304);
        assertError(await srv.get(`${path}?format=xml`), 400, 'INVALID_REQUEST', 'format=xml');
        assertError(await srv.get('/api/v1/events/evt_0000000000000abc/availability'), 404, 'NOT_FOUND');
    });
});

describe('holds', () => {
    let ev;
    before(async () => {
        ev = await fresh({ hold_ttl_s: 300 });
    });
    const amountOf = (seats) => seats.reduce((t, s) => t + ev.prices[ev.categoryOf.get(s)], 0);

    it('explicit seats: 201 with the hold; GET shows it; DELETE releases it (204) and then 404', async () => {
        const seats = [ev.seats[0], ev.seats[1]];
        const t0 = Date.now();
        const res = await hold(ev, { seats, customer: { email: email('x') } });
        assertStatus(res, 201, 'hold');
        const h = res.body.hold;
        assert.match(h.id, HOLD_ID);
        assert.equal(h.id.slice(5, 21), ev.event.id.slice(4), 'the hold id names its event');
        assert.equal(h.event_id, ev.event.id);
        assert.equal(h.status, 'held');
        assert.deepEqual(h.seats.slice().sort(), seats.slice().sort());
        assert.deepEqual(h.ga, []);
        assert.match(h.expires_at, RFC3339);
        const exp = Date.parse(h.expires_at);
        assert.ok(exp >= t0 + 299e3 - 1000 && exp <= Date.now() + 300e3 + 1000, `expires_at ${h.expires_at} about 300 s ahead`);
        assert.ok(h.time_left_s > 295 && h.time_left_s <= 300, `time_left_s ${h.time_left_s}`);
        assert.deepEqual(h.amount, { total_cents: amountOf(seats), currency: 'EUR' });
        const got = await srv.get(`/api/v1/holds/${h.id}`);
        assertStatus(got, 200, 'GET hold');
        for (const k of ['id', 'event_id', 'status', 'seats', 'ga', 'expires_at', 'amount']) assert.deepEqual(got.body.hold[k], h[k], k);
        const del = await srv.del(`/api/v1/holds/${h.id}`);
        assert.equal(del.status, 204, del.text);
        assert.equal(del.text, '');
        assertError(await srv.get(`/api/v1/holds/${h.id}`), 404, 'NOT_FOUND', 'GET released');
        assertError(await srv.del(`/api/v1/holds/${h.id}`), 404, 'NOT_FOUND', 'DELETE released');
        const a = await availability(srv, ev.event.id);
        assert.equal(a.states[0], 0);
        assert.equal(a.states[1], 0);
    });

    it('all or nothing: overlapping seats give 409 SEATS_UNAVAILABLE naming exactly the taken ones', async () => {
        const first = await hold(ev, { seats: [ev.seats[6], ev.seats[7]], customer: { email: email('a') } });
        assertStatus(first, 201);
        const v0 = await version(srv, ev.event.id);
        const res = await hold(ev, { seats: [ev.seats[7], ev.seats[8], ev.seats[6]], customer: { email: email('b') } });
        assertError(res, 409, 'SEATS_UNAVAILABLE', 'overlap');
        assert.deepEqual(res.body.error.details.seats.slice().sort(), [ev.seats[6], ev.seats[7]].sort());
        assert.deepEqual(res.body.error.details.ga, []);
        const a = await availability(srv, ev.event.id);
        assert.equal(a.version, v0, 'nothing changed');
        assert.equal(a.states[8], 0, 'the free seat stays free');
    });

    it('best available: N adjacent seats in one row of the asked category or section', async () => {
        const rowOf = new Map();
        for (const s of ev.map.sections) for (const r of s.rows) r.seats.forEach((seat, i) => rowOf.set(seat.id, [s.id, r.label, i]));
        const check = (h, n, pred) => {
            assert.equal(h.seats.length, n);
            const pos = h.seats.map((id) => rowOf.get(id));
            assert.ok(pos.every((p) => p[0] === pos[0][0] && p[1] === pos[0][1]), `one row: ${h.seats}`);
            const idx = pos.map((p) => p[2]).sort((x, y) => x - y);
            idx.forEach((v, i) => assert.equal(v, idx[0] + i, `adjacent: ${h.seats}`));
            for (const id of h.seats) assert.ok(pred(id), `filter: ${id}`);
            assert.equal(h.amount.total_cents, amountOf(h.seats));
        };
        const a = await hold(ev, { best_available: { quantity: 3 }, customer: { email: email('ba') } });
        assertStatus(a, 201, 'best 3');
        check(a.body.hold, 3, () => true);
        const cat = ev.categoryOf.get(ev.seats[ev.seats.length - 1]);
        const b = await hold(ev, { best_available: { quantity: 2, category: cat }, customer: { email: email('ba') } });
        assertStatus(b, 201, `best 2 in ${cat}`);
        check(b.body.hold, 2, (id) => ev.categoryOf.get(id) === cat);
        const c = await hold(ev, { best_available: { quantity: 4, section: 'S2' }, customer: { email: email('ba') } });
        assertStatus(c, 201, 'best 4 in S2');
        check(c.body.hold, 4, (id) => id.startsWith('S2-'));
        const all = [...a.body.hold.seats, ...b.body.hold.seats, ...c.body.hold.seats];
        assert.equal(new Set(all).size, all.length, 'disjoint');
        assertError(await hold(ev, { best_available: { quantity: 2, category: 'ZZ' }, customer: { email: email('ba') } }), 400, 'INVALID_REQUEST', 'unknown category');
        assertError(await hold(ev, { best_available: { quantity: 2, section: 'S9' }, customer: { email: email('ba') } }), 400, 'INVALID_REQUEST', 'unknown section');
    });

    it('GA: 201 for a quantity, 409 SEATS_UNAVAILABLE past the capacity (details.ga)', async () => {
        const g = await fresh({ per_customer_limit: 0 });
        const a = await hold(g, { ga: { area: 'ga1', quantity: 15 }, customer: { email: email('ga') } });
        assertStatus(a, 201, 'GA 15');
        assert.deepEqual(a.body.hold.seats, []);
        assert.deepEqual(a.body.hold.ga, [{ area: 'ga1', quantity: 15 }]);
        assert.deepEqual(a.body.hold.amount, { total_cents: 15 * g.prices.GA, currency: 'EUR' });
        const v0 = await version(srv, g.event.id);
        const b = await hold(g, { ga: { area: 'ga1', quantity: 6 }, customer: { email: email('ga') } });
        assertError(b, 409, 'SEATS_UNAVAILABLE', 'GA 6 of 5 left');
        assert.deepEqual(b.body.error.details.ga, ['ga1']);
        assert.deepEqual(b.body.error.details.seats, []);
        assert.equal(await version(srv, g.event.id), v0);
        const arr = await hold(g, { ga: [{ area: 'ga1', quantity: 5 }], customer: { email: email('ga') } });
        assertStatus(arr, 201, 'GA last 5, as an array of lines');
        assert.deepEqual(arr.body.hold.ga, [{ area: 'ga1', quantity: 5 }]);
        assert.deepEqual((await availability(srv, g.event.id)).ga, [{ id: 'ga1', available: 0 }]);
        assertError(await hold(g, { ga: { area: 'floor9', quantity: 1 }, customer: { email: email('ga') } }), 400, 'INVALID_REQUEST', 'unknown GA area');
    });

    it('best available with nothing left: 409 SOLD_OUT', async () => {
        const tiny = await fresh({}, { sections: 1, rows: 1, seats: 3, ga: 0 });
        assertStatus(await hold(tiny, { seats: tiny.seats, customer: { email: email('t') } }), 201);
        assertError(await hold(tiny, { best_available: { quantity: 1 }, customer: { email: email('t') } }), 409, 'SOLD_OUT');
    });

    it('per_customer_limit: 422 LIMIT_EXCEEDED for the same customer, not for another', async () => {
        const lim = await fresh({ per_customer_limit: 2 });
        const who = email('lim');
        assertStatus(await hold(lim, { seats: [lim.seats[0], lim.seats[1]], customer: { email: who } }), 201);
        assertError(await hold(lim, { seats: [lim.seats[2]], customer: { email: who } }), 422, 'LIMIT_EXCEEDED', 'third seat');
        assertError(await hold(lim, { ga: { area: 'ga1', quantity: 1 }, customer: { email: who } }), 422, 'LIMIT_EXCEEDED', 'GA counts too');
        assertError(await hold(lim, { seats: lim.seats.slice(10, 13), customer: { email: email('other') } }), 422, 'LIMIT_EXCEEDED', '3 at once');
        assertStatus(await hold(lim, { seats: [lim.seats[2]], customer: { email: email('other') } }), 201, 'another customer');
    });

    it('bad hold requests: 400 INVALID_REQUEST; unknown events and holds: 404 NOT_FOUND', async () => {
        const c = { email: email('bad') };
        const v0 = await version(srv, ev.event.id);
        for (const [what, body] of [
            ['no customer', { seats: [ev.seats[20]] }],
            ['email not an email', { seats: [ev.seats[20]], customer: { email: 'nobody' } }],
            ['no seats, best_available or ga', { customer: c }],
            ['empty seats', { seats: [], customer: c }],
            ['seats not an array', { seats: ev.seats[20], customer: c }],
            ['a seat id not a string', { seats: [20], customer: c }],
            ['a seat twice', { seats: [ev.seats[20], ev.seats[20]], customer: c }],
            ['an unknown seat', { seats: ['Z9-Z-99'], customer: c }],
            ['101 seats', { seats: Array.from({ length: 101 }, (_, i) => `S1-A-${i + 1}`), customer: c }],
            ['quantity 0', { best_available: { quantity: 0 }, customer: c }],
            ['quantity -2', { best_available: { quantity: -2 }, customer: c }],
            ['quantity 1.5', { best_available: { quantity: 1.5 }, customer: c }],
            ['quantity "2"', { best_available: { quantity: '2' }, customer: c }],
            ['GA quantity 101', { ga: { area: 'ga1', quantity: 101 }, customer: c }],
            ['GA without area', { ga: { quantity: 1 }, customer: c }],
        ])
            assertError(await hold(ev, body), 400, 'INVALID_REQUEST', what);
        assert.equal(await version(srv, ev.event.id), v0, 'nothing changed');
        const unknown = await hold(ev, { seats: [ev.seats[20], 'Z9-Z-99', 'Z9-Z-98'], customer: c });
        assertError(unknown, 400, 'INVALID_REQUEST', 'unknown seats');
        assert.deepEqual(unknown.body.error.details.unknown.slice().sort(), ['Z9-Z-98', 'Z9-Z-99']);
        assertError(await srv.post('/api/v1/events/evt_00000000000000cd/holds', { seats: ['S1-A-1'], customer: c }), 404, 'NOT_FOUND', 'unknown event');
        const fake = 'hold_' + ev.event.id.slice(4) + '0'.repeat(32);
        for (const id of [fake, 'hold_123', 'hold_' + 'g'.repeat(48), ev.event.id]) {
            assertError(await srv.get(`/api/v1/holds/${id}`), 404, 'NOT_FOUND', `GET ${id}`);
            assertError(await srv.del(`/api/v1/holds/${id}`), 404, 'NOT_FOUND', `DELETE ${id}`);
        }
    });
});

describe('block and report (admin)', () => {
    it('block and unblock seats; blocked seats cannot be held; the report adds up', async () => {
        const ev = await fresh();
        const path = `/api/v1/events/${ev.event.id}/block`;
        const seats = [ev.seats[10], ev.seats[11]];
        const blocked = await srv.post(path, { seats, unblock: false }, { admin: true });
        assertStatus(blocked, 200, 'block');
        assert.deepEqual(blocked.body, { event_id: ev.event.id, blocked: seats });
        let a = await availability(srv, ev.event.id);
        assert.equal(a.states[10], 3);
        assert.equal(a.states[11], 3);
        assert.equal(a.counts.blocked, 2);
        assertCountsAddUp(a.counts);
        assertStatus(await srv.post(path, { seats, unblock: false }, { admin: true }), 200, 'blocking again is idempotent');
        assert.equal((await availability(srv, ev.event.id)).counts.blocked, 2);
        const refused = await srv.post(`/api/v1/events/${ev.event.id}/holds`, { seats: [ev.seats[11], ev.seats[12]], customer: { email: email('b') } });
        assertError(refused, 409, 'SEATS_UNAVAILABLE', 'hold of a blocked seat');
        assert.deepEqual(refused.body.error.details.seats, [ev.seats[11]]);
        const h = await srv.post(`/api/v1/events/${ev.event.id}/holds`, { seats: [ev.seats[12], ev.seats[13]], customer: { email: email('b') } });
        assertStatus(h, 201);
        const v0 = await version(srv, ev.event.id);
        const bheld = await srv.post(path, { seats: [ev.seats[13], ev.seats[14]], unblock: false }, { admin: true });
        assertError(bheld, 409, 'SEATS_UNAVAILABLE', 'block of a held seat');
        assert.deepEqual(bheld.body.error.details.seats, [ev.seats[13]]);
        assert.equal(await version(srv, ev.event.id), v0, 'nothing changed');
        assertError(await srv.post(path, { seats: ['nope'], unblock: false }, { admin: true }), 400, 'INVALID_REQUEST', 'unknown seat');
        assertError(await srv.post(path, { seats: 'S1-A-1' }, { admin: true }), 400, 'INVALID_REQUEST', 'seats not an array');
        assertError(await srv.post('/api/v1/events/evt_00000000000000ef/block', { seats: ['S1-A-1'] }, { admin: true }), 404, 'NOT_FOUND');
        // The report.
        const r = await srv.get(`/api/v1/events/${ev.event.id}/report`, { admin: true });
        assertStatus(r, 200, 'report');
        assert.equal(r.body.event_id, ev.event.id);
        assert.deepEqual(pick(r.body.seats, ['available', 'held', 'sold', 'blocked', 'total']), { available: NSEATS - 4, held: 2, sold: 0, blocked: 2, total: NSEATS });
        assert.deepEqual(r.body.ga.map((g) => pick(g, ['id', 'capacity', 'held', 'sold'])), [{ id: 'ga1', capacity: GA_CAP, held: 0, sold: 0 }]);
        assert.deepEqual(r.body.revenue, { total_cents: 0, currency: 'EUR' });
        // Unblock.
        const unblocked = await srv.post(path, { seats, unblock: true }, { admin: true });
        assertStatus(unblocked, 200, 'unblock');
        assert.deepEqual(unblocked.body, { event_id: ev.event.id, unblocked: seats });
        a = await availability(srv, ev.event.id);
        assert.equal(a.states[10], 0);
        assert.equal(a.counts.blocked, 0);
        assertStatus(await srv.post(`/api/v1/events/${ev.event.id}/holds`, { seats, customer: { email: email('b') } }), 201, 'unblocked seats can be held');
    });
});

describe('Idempotency-Key', () => {
    let ev;
    before(async () => {
        ev = await fresh();
    });
    const path = () => `/api/v1/events/${ev.event.id}/holds`;

    it('a hold replayed gives the identical 201 once; another body under the key: 422 IDEMPOTENCY_MISMATCH', async () => {
        const key = 'hold-' + newToken();
        const body = { seats: [ev.seats[0], ev.seats[1]], customer: { email: email('i') } };
        const a = await srv.post(path(), body, { idem: key });
        assertStatus(a, 201);
        const v1 = await version(srv, ev.event.id);
        const b = await srv.post(path(), body, { idem: key });
        assert.equal(b.status, 201);
        assert.equal(b.text, a.text, 'identical body');
        assert.equal(await version(srv, ev.event.id), v1, 'nothing changed twice');
        assert.equal((await availability(srv, ev.event.id)).counts.held, 2);
        assertError(await srv.post(path(), { ...body, seats: [ev.seats[2]] }, { idem: key }), 422, 'IDEMPOTENCY_MISMATCH', 'other body');
        assertError(await srv.post(`/api/v1/events/${ev.event.id}/block`, { seats: [ev.seats[2]] }, { idem: key, admin: true }), 422, 'IDEMPOTENCY_MISMATCH', 'other path');
        assert.equal(await version(srv, ev.event.id), v1);
    });

    it('a refusal is replayed as the same refusal even after the seats came free', async () => {
        const blocker = await srv.post(path(), { seats: [ev.seats[5]], customer: { email: email('i') } });
        assertStatus(blocker, 201);
        const key = 'refused-' + newToken();
        const body = { seats: [ev.seats[5], ev.seats[6]], customer: { email: email('i') } };
        const a = await srv.post(path(), body, { idem: key });
        assertError(a, 409, 'SEATS_UNAVAILABLE');
        assertStatus(await srv.del(`/api/v1/holds/${blocker.body.hold.id}`), 204);
        const b = await srv.post(path(), body, { idem: key });
        assert.equal(b.status, 409);
        assert.equal(b.text, a.text);
        assert.equal((await availability(srv, ev.event.id)).states[5], 0, 'the replay held nothing');
    });

    it('DELETE, PATCH and block replay their first answer', async () => {
        const h = await srv.post(path(), { seats: [ev.seats[8]], customer: { email: email('i') } });
        assertStatus(h, 201);
        const dkey = 'del-' + newToken();
        const d1 = await srv.del(`/api/v1/holds/${h.body.hold.id}`, { idem: dkey });
        assert.equal(d1.status, 204);
        const d2 = await srv.del(`/api/v1/holds/${h.body.hold.id}`, { idem: dkey });
        assert.equal(d2.status, 204, 'replayed DELETE: 204, not 404');
        const pkey = 'patch-' + newToken();
        const p1 = await srv.patch(`/api/v1/events/${ev.event.id}`, { name: 'Idem name' }, { admin: true, idem: pkey });
        assertStatus(p1, 200);
        const p2 = await srv.patch(`/api/v1/events/${ev.event.id}`, { name: 'Idem name' }, { admin: true, idem: pkey });
        assert.equal(p2.status, 200);
        assert.equal(p2.text, p1.text);
        const bkey = 'block-' + newToken();
        const b1 = await srv.post(`/api/v1/events/${ev.event.id}/block`, { seats: [ev.seats[9]], unblock: false }, { admin: true, idem: bkey });
        assertStatus(b1, 200);
        const v = await version(srv, ev.event.id);
        const b2 = await srv.post(`/api/v1/events/${ev.event.id}/block`, { seats: [ev.seats[9]], unblock: false }, { admin: true, idem: bkey });
        assert.equal(b2.status, 200);
        assert.equal(b2.text, b1.text);
        assert.equal(await version(srv, ev.event.id), v);
    });

    it('an event created twice with one key is created once', async () => {
        const key = 'event-' + newToken();
        const name = 'Idem event ' + newToken().slice(0, 8);
        const body = { venue_id: ev.venue.id, name, starts_at: iso(Date.now() + DAY), currency: 'EUR', prices: ev.prices };
        const a = await srv.post('/api/v1/events', body, { admin: true, idem: key });
        assertStatus(a, 201);
        const b = await srv.post('/api/v1/events', body, { admin: true, idem: key });
        assert.equal(b.status, 201);
        assert.equal(b.text, a.text);
        assert.equal((await srv.get(`/api/v1/events?q=${encodeURIComponent(name)}`)).body.events.length, 1);
    });

    it('concurrent requests under one key: one decision (the other waits, replays or gets 409 IDEMPOTENCY_IN_PROGRESS)', async () => {
        const key = 'race-' + newToken();
        const body = { seats: [ev.seats[15], ev.seats[16]], customer: { email: email('r') } };
        const answers = await Promise.all(Array.from({ length: 8 }, () => srv.post(path(), body, { idem: key })));
        const ok = answers.filter((r) => r.status === 201);
        assert.ok(ok.length >= 1, answers.map((r) => r.status).join(','));
        for (const r of ok) assert.equal(r.text, ok[0].text);
        for (const r of answers.filter((x) => x.status !== 201)) assertError(r, 409, 'IDEMPOTENCY_IN_PROGRESS');
        assert.equal((await availability(srv, ev.event.id)).states[15], 1);
    });

    it('an Idempotency-Key longer than 255 bytes: 400', async () => {
        assertError(await srv.post(path(), { seats: [ev.seats[20]], customer: { email: email('i') } }, { idem: 'k'.repeat(256) }), 400, 'INVALID_REQUEST');
    });
});

describe('availability stream (SSE)', () => {
    it('the first event is a snapshot; a hold, a GA hold and a release show within 1 s', async () => {
        const ev = await fresh();
        const sse = new SseClient(`${srv.url}/api/v1/events/${ev.event.id}/availability/stream`);
        await sse.connect();
        try {
            assert.equal(sse.status, 200);
            assert.match(sse.contentType, /^text\/event-stream/);
            const snap = await sse.next(() => true, 1000);
            assert.equal(snap.event, 'snapshot');
            assert.ok(Number.isInteger(snap.data.version));
            const mark = sse.events.length;
            const t0 = performance.now();
            const h = await srv.post(`/api/v1/events/${ev.event.id}/holds`, { seats: [ev.seats[2], ev.seats[3]], customer: { email: email('sse') } });
            assertStatus(h, 201);
            const held = await sse.next((e) => e.event === 'seats' && e.data.changes.some((c) => c.id === ev.seats[2] && c.state === 'held'), 1000, mark);
            assert.ok(held.at - t0 < 1000, `seen after ${held.at - t0} ms`);
            assert.deepEqual(held.data.changes.filter((c) => c.id === ev.seats[3]), [{ id: ev.seats[3], state: 'held' }]);
            assert.ok(held.data.version > snap.data.version);
            const g = await srv.post(`/api/v1/events/${ev.event.id}/holds`, { ga: { area: 'ga1', quantity: 2 }, customer: { email: email('sse') } });
            assertStatus(g, 201);
            await sse.next((e) => e.event === 'seats' && (e.data.ga || []).some((x) => x.id === 'ga1' && x.available === 18), 1000, mark);
            assertStatus(await srv.del(`/api/v1/holds/${h.body.hold.id}`), 204);
            const freed = await sse.next((e) => e.event === 'seats' && e.data.changes.some((c) => c.id === ev.seats[2] && c.state === 'available'), 1000, mark);
            assert.equal(freed.data.version, await version(srv, ev.event.id));
        } finally {
            sse.close();
        }
        assertError(await srv.get('/api/v1/events/evt_00000000000000aa/availability/stream'), 404, 'NOT_FOUND');
    });
});

describe('body limits', () => {
    it('a body over 1 MiB: 413 TOO_LARGE; a venue of several MiB is accepted', async () => {
        const ev = await fresh();
        const big = JSON.stringify({ seats: [ev.seats[0]], customer: { email: email('big') }, pad: 'x'.repeat(1100000) });
        assertError(await srv.req('POST', `/api/v1/events/${ev.event.id}/holds`, { body: big, headers: { 'content-type': 'application/json' } }), 413, 'TOO_LARGE');
        const map = await venueGen({ sections: 20, rows: 40, seats: 40, ga: 2 });
        const text = JSON.stringify({ ...map, city: 'Big' });
        assert.ok(text.length > 2 * 1024 * 1024, `${text.length} bytes`);
        const res = await srv.req('POST', '/api/v1/venues', { body: text, headers: { 'content-type': 'application/json' }, admin: true });
        assertStatus(res, 201, 'big venue');
        assert.equal(res.body.venue.seats, 32000);
    });
});

describe('--demo and restarts', () => {
    it('--demo seeds a venue of >= 10,000 seats with GA and events; a second start reuses them; SIGTERM exits 0', async () => {
        const demo = await Server.start({ demo: true, threads: 1 });
        try {
            const list = await demo.get('/api/v1/events?limit=100');
            assertStatus(list, 200);
            assert.ok(list.body.events.length >= 2, `${list.body.events.length} demo events`);
            const e = list.body.events[0];
            assert.ok(e.availability.total >= 10000, `demo venue total ${e.availability.total}`);
            const detail = await demo.get(`/api/v1/events/${e.id}`);
            assert.ok(detail.body.event.ga_areas.length >= 1, 'a GA floor');
            assert.ok(detail.body.event.categories.length >= 2, 'price categories');
            const h = await demo.post(`/api/v1/events/${e.id}/holds`, { best_available: { quantity: 2 }, customer: { email: email('demo') } });
            assertStatus(h, 201);
            const ids = list.body.events.map((x) => x.id).sort();
            assert.deepEqual(await demo.stop(), { code: 0, signal: null }, 'SIGTERM: exit 0');
            await demo.launch();
            const again = await demo.get('/api/v1/events?limit=100');
            assert.deepEqual(again.body.events.map((x) => x.id).sort(), ids, 'the same events, not seeded twice');
            assertStatus(await demo.get(`/api/v1/holds/${h.body.hold.id}`), 200, 'the hold survived the restart');
            assert.deepEqual(await demo.stop(), { code: 0, signal: null });
        } finally {
            await demo.cleanup();
        }
    });
});

describe('hold expiry (holds made first, with hold_ttl_s 30)', () => {
    it('a hold expires at its TTL: then GET says 404 and its seats and GA places are free again', async () => {
        const { ev, seat, ga } = expiry;
        assert.ok(seat.time_left_s > 0 && seat.time_left_s <= 30, `time_left_s ${seat.time_left_s}`);
        const before0 = await srv.get(`/api/v1/holds/${seat.id}`);
        assertStatus(before0, 200, 'still held before its expiry');
        assert.ok(before0.body.hold.time_left_s <= seat.time_left_s, 'time left does not grow');
        await sleep(Math.max(0, Date.parse(ga.expires_at) - Date.now()) + 300);
        assertError(await srv.get(`/api/v1/holds/${seat.id}`), 404, 'NOT_FOUND', 'expired seat hold');
        assertError(await srv.get(`/api/v1/holds/${ga.id}`), 404, 'NOT_FOUND', 'expired GA hold');
        assertError(await srv.del(`/api/v1/holds/${seat.id}`), 404, 'NOT_FOUND', 'DELETE expired');
        const a = await availability(srv, ev.event.id);
        assert.equal(a.states[5], 0);
        assert.equal(a.counts.held, 0);
        assert.deepEqual(a.ga, [{ id: 'ga1', available: GA_CAP }]);
        assert.deepEqual((await srv.get(`/api/v1/events/${ev.event.id}`)).body.event.availability, { available: NPLACES, total: NPLACES, held: 0, sold: 0, blocked: 0 });
        assertStatus(await srv.post(`/api/v1/events/${ev.event.id}/holds`, { seats: [ev.seats[5]], customer: { email: email('ttl2') } }), 201, 'the seat can be held again');
    });
});
