// abuse.test.mjs - issue 11, "Safe in front of strangers": each attack on
// a running server, reproduced, with the outcome it must have now. One
// describe block per part of the issue, each self-contained.
//
// "requests from strangers": bodies nobody asked for (an anonymous 64 MiB
// venue import, 40 of them at once, slowly, over HTTP/1.1 and HTTP/2),
// request smuggling (Content-Length with Transfer-Encoding, conflicting
// lengths), oversized headers, NUL and invalid UTF-8 in query and path
// parameters, control characters in names, e-mails and texts, and the
// security headers of HTML pages.
//
// "startup, build and log": the access log holds no capability and is 0600.
//
// "orders and payments": every order action without the order's secret
// answers as for an unknown order; a checked-out hold is the order's; one
// step per order at a time (200 looping confirms of one order against a
// 150 ms gateway stall neither the gate nor another buyer); card attempts
// per client address.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { join } from 'node:path';
import { ROOT, venueGen } from './lib/server.mjs';
import { assertError, assertStatus, setupEvent } from './lib/api.mjs';
import { startShop, email } from './lib/shop.mjs';
import { exchange, h2Upload, rssKiB, slowUpload } from './lib/stranger.mjs';
import * as startupLog from './lib/startup_log.mjs';
import * as oa from './lib/order_abuse.mjs';

describe('requests from strangers', () => {
    const GEN = { sections: 2, rows: 3, seats: 6, ga: 1, ga_capacity: 20 };
    const MiB = 1024 * 1024;
    const LIMIT = MiB; // the server's --max-body (default): all a stranger's body may be
    let shop, srv, ev;
    const head = (method, path, headers = {}) =>
        `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n` +
        Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('') +
        '\r\n';
    const venueCount = async () => (await srv.get('/api/v1/venues', { admin: true })).body.venues.length;

    before(async () => {
        shop = await startShop({ server: { webRoot: join(ROOT, 'web') } });
        srv = shop.srv;
        ev = await setupEvent(srv, GEN);
    });
    after(async () => {
        if (shop) assert.deepEqual(await shop.stop(), { code: 0, signal: null }, 'graceful exit');
    });

    it('40 slow anonymous 64 MiB venue uploads: 401 at their head, connection closed, memory flat', async () => {
        const venues = await venueCount();
        const rss0 = rssKiB(srv.pid);
        const t0 = performance.now();
        const uploads = await Promise.all(
            Array.from({ length: 40 }, () =>
                slowUpload(srv.port, head('POST', '/api/v1/venues', { 'Content-Type': 'application/json', 'Content-Length': 64 * MiB }), {
                    trickleBytes: 4096,
                    intervalMs: 50,
                }),
            ),
        );
        const rss1 = rssKiB(srv.pid);
        for (const u of uploads) {
            assert.equal(u.responses.length, 1, u.raw.slice(0, 200));
            const [r] = u.responses;
            assert.equal(r.status, 401);
            assert.equal(r.json.error.code, 'UNAUTHORIZED');
            assert.equal(r.headers.connection, 'close');
            assert.equal(r.headers['www-authenticate'], 'Bearer realm="boxoffice"');
            assert.equal(u.closed, true, 'the server closed the connection');
            assert.ok(u.sentBodyBytes < 64 * MiB / 100, `answered long before the body (sent ${u.sentBodyBytes} bytes)`);
        }
        const growthKiB = rss1 - rss0;
        console.log(
            `# 40 anonymous 64 MiB uploads: all 401 in ${(performance.now() - t0).toFixed(0)} ms ` +
                `(slowest ${Math.max(...uploads.map((u) => u.ms)).toFixed(0)} ms, at most ` +
                `${Math.max(...uploads.map((u) => u.sentBodyBytes))} body bytes sent); RSS ${rss0} -> ${rss1} KiB (+${growthKiB} KiB; ` +
                `their bodies would take ${40 * 64} MiB)`,
        );
        assert.ok(growthKiB < 64 * 1024, `RSS grew by ${growthKiB} KiB, far below 40 x 64 MiB`);
        assert.equal(await venueCount(), venues, 'no venue was created');
    });

    it('a wrong token gets 403 at the head of a big body, connection closed', async () => {
        const r = await exchange(
            srv.port,
            head('POST', '/api/v1/venues', { Authorization: 'Bearer not-the-token-at-all', 'Content-Length': 64 * MiB }),
        );
        assert.equal(r.responses.length, 1);
        assert.equal(r.responses[0].status, 403);
        assert.equal(r.responses[0].json.error.code, 'FORBIDDEN');
        assert.equal(r.closed, true);
    });

    it('an anonymous chunked upload is cut at the server limit: 401, closed', async () => {
        const chunk = `${(64 * 1024).toString(16)}\r\n${' '.repeat(64 * 1024)}\r\n`;
        const u = await exchange(srv.port, (sock) => {
            sock.write(head('POST', '/api/v1/venues', { 'Transfer-Encoding': 'chunked' }));
            let sent = 0;
            const pump = () => {
                while (!sock.destroyed && sent < 4 * LIMIT) {
                    sent += 64 * 1024;
                    if (!sock.write(chunk)) return sock.once('drain', pump);
                }
            };
            pump();
        });
        assert.equal(u.responses.length, 1);
        assert.equal(u.responses[0].status, 401);
        assert.equal(u.closed, true);
    });

    it('an anonymous small body to an admin route: 401 and the connection closed', async () => {
        const body = JSON.stringify({ name: 'x' });
        const r = await exchange(
            srv.port,
            head('POST', '/api/v1/events', { 'Content-Type': 'application/json', 'Content-Length': body.length }) + body + head('GET', '/healthz'),
        );
        assert.equal(r.responses.length, 1, 'the pipelined request was not served');
        assert.equal(r.responses[0].status, 401);
        assert.equal(r.closed, true);
    });

    it('the admin imports a venue past the server limit over HTTP/1.1, with and without Expect: 100-continue', async () => {
        const map = await venueGen({ sections: 20, rows: 30, seats: 40 });
        for (const expect of [false, true]) {
            const body = Buffer.from(JSON.stringify({ ...map, name: `Big ${expect}` }));
            assert.ok(body.length > LIMIT, `${body.length} bytes, past the server's limit`);
            const h = { Authorization: `Bearer ${srv.token}`, 'Content-Type': 'application/json', 'Content-Length': body.length };
            if (expect) h.Expect = '100-continue';
            const r = await exchange(
                srv.port,
                (sock) => {
                    sock.write(head('POST', '/api/v1/venues', h));
                    if (!expect) sock.write(body);
                    else sock.once('data', () => sock.write(body)); /* after the 100 */
                },
                20000,
            );
            const statuses = r.responses.map((x) => x.status);
            assert.deepEqual(statuses, expect ? [100, 201] : [201], r.raw.slice(0, 300));
            const created = r.responses.at(-1);
            assert.equal(created.json.venue.seats, 24000);
            assert.equal(created.headers.connection, 'close');
        }
    });

    it('HTTP/2: an anonymous 64 MiB upload is reset past the server limit; a small one gets 401', async () => {
        const rss0 = rssKiB(srv.pid);
        const big = await h2Upload(srv.url, '/api/v1/venues', { contentLength: 64 * MiB, totalBytes: 64 * MiB });
        const rss1 = rssKiB(srv.pid);
        console.log(`# h2 anonymous upload: reset code ${big.rstCode} after ${big.sentBytes} bytes written; RSS ${rss0} -> ${rss1} KiB`);
        assert.equal(big.status, 0, 'no answer: the stream was reset');
        assert.equal(big.rstCode, 7, 'RST_STREAM REFUSED_STREAM');
        assert.ok(big.sentBytes < 64 * MiB, `the client could not send it all (${big.sentBytes})`);
        assert.ok(rss1 - rss0 < 64 * 1024, `RSS grew by ${rss1 - rss0} KiB`);
        const small = await h2Upload(srv.url, '/api/v1/venues', { contentLength: 64 * 1024, totalBytes: 64 * 1024 });
        assert.equal(small.status, 401);
        assert.equal(JSON.parse(small.body).error.code, 'UNAUTHORIZED');
    });

    // Request smuggling: each gets exactly one answer, 400 with Connection:
    // close, and the bytes after it are never served as a request.
    const hold = () => `/api/v1/events/${ev.event.id}/holds`;
    const body = () => JSON.stringify({ seats: [ev.seats[0]], customer: { email: email('smuggler') } });
    const smuggled = () => head('POST', '/api/v1/venues', { Authorization: `Bearer ${srv.token}`, 'Content-Length': 2 }) + '{}';
    const SMUGGLING = [
        ['Content-Length with Transfer-Encoding', (b) => head('POST', hold(), { 'Content-Length': b.length, 'Transfer-Encoding': 'chunked' }) + `${b.length.toString(16)}\r\n${b}\r\n0\r\n\r\n`, 'INVALID_REQUEST'],
        ['Transfer-Encoding then Content-Length', (b) => head('POST', hold(), { 'Transfer-Encoding': 'chunked', 'Content-Length': 3 }) + `${b.length.toString(16)}\r\n${b}\r\n0\r\n\r\n`, 'INVALID_REQUEST'],
        ['two different Content-Lengths', (b) => `POST ${hold()} HTTP/1.1\r\nHost: x\r\nContent-Length: ${b.length}\r\nContent-Length: ${b.length + 40}\r\n\r\n${b}`, 'INVALID_REQUEST'],
        ['Content-Length: 5, 6', (b) => head('POST', hold(), { 'Content-Length': '5, 6' }) + b, 'INVALID_REQUEST'],
        ['a non-numeric Content-Length', (b) => head('POST', hold(), { 'Content-Length': 'abc' }) + b, 'INVALID_REQUEST'],
        ['a negative Content-Length', (b) => head('POST', hold(), { 'Content-Length': '-1' }) + b, 'INVALID_REQUEST'],
        ['two Transfer-Encodings', (b) => `POST ${hold()} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n${b.length.toString(16)}\r\n${b}\r\n0\r\n\r\n`, 'INVALID_REQUEST'],
    ];
    for (const [name, build, code] of SMUGGLING) {
        it(`smuggling, ${name}: one 400, closed, the smuggled request never runs`, async () => {
            const venues = await venueCount();
            const r = await exchange(srv.port, build(body()) + smuggled());
            assert.equal(r.responses.length, 1, r.raw.slice(0, 400));
            assert.equal(r.responses[0].status, 400);
            assert.equal(r.responses[0].json.error.code, code);
            assert.equal(r.responses[0].headers.connection, 'close');
            assert.equal(r.closed, true);
            assert.equal(await venueCount(), venues, 'nothing smuggled through');
        });
    }

    it('two equal Content-Lengths are one length (RFC 9112): served, kept alive', async () => {
        const b = JSON.stringify({ q: 1 });
        const r = await exchange(srv.port, `POST /api/v1/events/evt_0000000000000000/holds HTTP/1.1\r\nHost: x\r\nContent-Length: ${b.length}\r\nContent-Length: ${b.length}\r\n\r\n${b}` + head('GET', '/healthz'), 1500);
        assert.deepEqual(r.responses.map((x) => x.status), [404, 200]);
    });

    it('too many header fields or bytes: 431 HEADERS_TOO_LARGE, closed', async () => {
        const many = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`X-H${i}`, 'v']));
        for (const headers of [many, { 'X-Big': 'a'.repeat(40 * 1024) }]) {
            const r = await exchange(srv.port, head('GET', '/healthz', headers) + head('GET', '/healthz'));
            assert.equal(r.responses.length, 1);
            assert.equal(r.responses[0].status, 431);
            assert.equal(r.responses[0].json.error.code, 'HEADERS_TOO_LARGE');
            assert.deepEqual(r.responses[0].json.error.details, { max_fields: 64, max_bytes: 32768 });
            assert.equal(r.closed, true);
        }
    });

    it("past h2o's own bounds (100 fields, ~400 KiB of head) h2o answers a plain 400 and closes", async () => {
        const many = Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`X-H${i}`, 'v']));
        for (const headers of [many, { 'X-Big': 'a'.repeat(500 * 1024) }]) {
            const r = await exchange(srv.port, head('GET', '/healthz', headers));
            assert.deepEqual(r.responses.map((x) => x.status), [400]);
            assert.equal(r.closed, true);
        }
    });

    it('NUL or invalid UTF-8 in a query parameter: 400 naming it (no more silently dropped)', async () => {
        for (const [query, name] of [['q=zzz%00', 'q'], ['city=%ff', 'city'], ['limit=1&q=%C3%28', 'q'], ['q=%zz', 'q']]) {
            const res = await srv.get(`/api/v1/events?${query}`);
            assertError(res, 400, 'INVALID_REQUEST', query);
            assert.deepEqual(res.body.error.details, { parameter: name }, query);
        }
        const ok = await srv.get('/api/v1/events?q=zzz');
        assertStatus(ok, 200);
        assert.deepEqual(ok.body.events, [], 'a real search for zzz finds nothing');
        const path = await srv.get(`/api/v1/events/${ev.event.id}%00`);
        assertError(path, 400, 'INVALID_REQUEST');
        assert.deepEqual(path.body.error.details, { parameter: 'id' });
        assertError(await srv.get('/api/v1/holds/%ff%fe'), 400, 'INVALID_REQUEST');
    });

    it('control characters in names, e-mails and texts: 400 with the field, nothing stored', async () => {
        const h = await srv.post(hold(), { seats: [ev.seats[1]], customer: { email: email() } });
        assertStatus(h, 201);
        for (const name of ['Eve\r\nBcc: all@example.test', 'Eve\u001b[2J', 'Eve\u0085', 'Eve\u2028x', 'Eve\u202egnp.exe']) {
            const res = await srv.post(`/api/v1/holds/${h.body.hold.id}/checkout`, { customer: { email: email(), name } });
            assertError(res, 400, 'INVALID_REQUEST', JSON.stringify(name));
            assert.equal(res.body.error.details.field, 'customer.name');
        }
        for (const addr of ['eve\u2028@example.test', 'eve@exa\u202emple.test', 'eve\u0085@example.test']) {
            const res = await srv.post(hold(), { seats: [ev.seats[2]], customer: { email: addr } });
            assertError(res, 400, 'INVALID_REQUEST', JSON.stringify(addr));
            assert.equal(res.body.error.details.field, 'customer.email');
        }
        const patch = (b) => srv.patch(`/api/v1/events/${ev.event.id}`, b, { admin: true });
        for (const [b, field] of [[{ name: 'Gala\r\nX' }, 'name'], [{ name: 'Gala\u2029' }, 'name'], [{ description: 'one\r\ntwo' }, 'description'], [{ description: 'x\u202e' }, 'description']]) {
            const res = await patch(b);
            assertError(res, 400, 'INVALID_REQUEST', JSON.stringify(b));
            assert.equal(res.body.error.details.field, field);
        }
        assertStatus(await patch({ description: 'Doors at 7.\nBar\topen.' }), 200, 'LF and TAB in a description');
        const venue = await srv.post('/api/v1/venues', { ...(await venueGen(GEN)), name: 'Hall\u202e' }, { admin: true });
        assertError(venue, 400, 'INVALID_SEATMAP');
        const staff = await srv.post(`/api/v1/events/${ev.event.id}/staff-tokens`, { name: 'Gate\r\n2' }, { admin: true });
        assertError(staff, 400, 'INVALID_REQUEST');
        assert.equal((await srv.get(`/api/v1/events/${ev.event.id}`)).body.event.name, ev.event.name);
    });

    it('HTML pages carry CSP, X-Frame-Options, Referrer-Policy and nosniff; JSON nosniff', async () => {
        for (const page of ['/', '/event.html', '/order.html', '/checkout.html', '/admin.html', '/gate.html']) {
            const res = await srv.get(page);
            assertStatus(res, 200, page);
            const csp = res.headers.get('content-security-policy');
            for (const d of ["default-src 'self'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "base-uri 'none'", "form-action 'self'", "object-src 'none'"])
                assert.ok(csp.includes(d), `${page}: ${d} in ${csp}`);
            assert.match(csp, new RegExp(`connect-src 'self' ${shop.sim.url.replace(/[.]/g, '\\.')}(;|$)`), 'the payment simulator');
            assert.equal(res.headers.get('x-frame-options'), 'DENY');
            assert.equal(res.headers.get('referrer-policy'), 'no-referrer');
            assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
            assert.doesNotMatch(res.text, /<script>|<style|\son[a-z]+=|style="/i, `${page} has no inline script or style`);
        }
        const js = await srv.get('/js/api.js');
        assert.equal(js.headers.get('content-security-policy'), null, 'only HTML pages need it');
        assert.equal(js.headers.get('x-content-type-options'), 'nosniff');
        const api = await srv.get('/api/v1/events');
        assert.equal(api.headers.get('x-content-type-options'), 'nosniff');
    });
});

// The access log was 0644 and held hold ids (the capability to cancel a
// hold, and with it an order's seats) in clear; order secrets must not get
// in either (tests/build/fresh_machine.sh proves the build part, and
// cli.test.mjs the startup refusals, each with its message and exit 2).
describe('startup, build and log', () => {
    it('a buyer\'s hold id and order secret appear nowhere in the access log, which is 0600', async () => {
        const { lines, text, mode, hold, order, tag } = await startupLog.buyAndReadLog();
        assert.equal(mode, 0o600, `access log mode ${mode.toString(8)}`);
        const holdKey = hold.slice('hold_'.length + 16); // the random part: the capability
        for (const secret of [hold, holdKey, order.secret, encodeURIComponent(order.secret)])
            assert.equal(text.includes(secret), false, `${secret} in the access log:\n${text}`);
        // the requests are there, the capabilities replaced (a tag links a hold's lines)
        assert.match(tag, new RegExp(`^${hold.slice(0, 'hold_'.length + 16)}~[0-9a-f]{8}$`), 'the event, then a tag');
        const paths = lines.map((l) => `${l.method} ${l.path} ${l.status}`);
        const want = [
            `GET /api/v1/holds/${tag} 200`,
            `POST /api/v1/holds/${tag}/checkout 201`,
            `POST /api/v1/orders/${order.id}/confirm 200`,
            `GET /api/v1/orders/${order.id}?secret=[redacted] 200`,
            `GET /api/v1/orders/${order.id}/tickets/${order.tickets[0].id}/qr.svg?secret=[redacted] 200`,
        ];
        for (const w of want) assert.ok(paths.includes(w), `want "${w}" in\n${paths.join('\n')}`);
        assert.ok(paths.some((p) => /^DELETE \/api\/v1\/holds\/hold_[0-9a-f]{16}~[0-9a-f]{8} 204$/.test(p)),
            `a released hold's line, redacted:\n${paths.join('\n')}`);
    });

    it('an access log that exists with a wider mode is narrowed to 0600, with a warning', async () => {
        const { before, after, warning } = await startupLog.startOnWideLog(0o644);
        assert.equal(before, 0o644);
        assert.equal(after, 0o600);
        assert.match(warning, /^boxoffice: the access log \S+access\.log was mode 0644: now 0600$/m);
    });
});

describe('orders and payments', () => {
    const GEN = { sections: 2, rows: 5, seats: 10, ga: 0 };
    let shop, srv, sim, ev, next = 0;
    const twoSeats = () => [ev.seats[next++], ev.seats[next++]];
    before(async () => {
        shop = await oa.startShop();
        ({ srv, sim } = shop);
        ev = await oa.setupEvent(srv, GEN);
    });
    after(async () => {
        if (shop) assert.deepEqual(await shop.stop(), { code: 0, signal: null }, 'graceful exit');
    });

    it('without the order\'s secret every order action answers exactly as an unknown order, and changes nothing', async () => {
        const paid = await oa.paidOrder(srv, ev.event.id, twoSeats());
        const { order: pending, payment } = await oa.pendingOrder(srv, ev.event.id, twoSeats());
        const staff = await oa.staffToken(srv, ev.event.id);
        const ticket = paid.tickets[0].id;
        const wrong = 'f'.repeat(32);
        // what a stranger may try: nothing, a wrong secret in every form, a
        // bearer that is no secret (a staff token, a wrong admin token)
        const creds = [
            ['no credentials', '', {}, {}],
            ['?secret= wrong', `?secret=${wrong}`, {}, {}],
            ['body secret wrong', '', {}, { secret: wrong }],
            ['X-Order-Secret wrong', '', { 'x-order-secret': wrong }, {}],
            ['Bearer wrong', '', { authorization: `Bearer ${wrong}` }, {}],
            ['Bearer staff token', '', { authorization: `Bearer ${staff}` }, {}],
            ['Bearer not a token', '', { authorization: 'Bearer x' }, {}],
            ['Basic', '', { authorization: 'Basic eDp5' }, {}],
        ];
        const actions = [
            ['GET', (id) => `/api/v1/orders/${id}`, null],
            ['GET', (id) => `/api/v1/orders/${id}/tickets/${ticket}/qr.svg`, null],
            ['POST', (id) => `/api/v1/orders/${id}/confirm`, {}],
            ['POST', (id) => `/api/v1/orders/${id}/confirm`, { payment_method: oa.DECLINE }],
            ['POST', (id) => `/api/v1/orders/${id}/cancel`, {}],
        ];
        let compared = 0;
        for (const [what, query, headers, body] of creds) {
            for (const [method, path, json] of actions) {
                const send = (id) => srv.req(method, path(id) + query, {
                    headers: { 'x-forwarded-for': oa.buyerAddress(), ...headers },
                    ...(json ? { json: { ...json, ...body } } : {}),
                });
                const unknown = await send(oa.unknownOrderId());
                oa.assertError(unknown, 404, 'NOT_FOUND', `${what}: ${method} ${path('unknown')}`);
                for (const o of [paid, pending]) {
                    const res = await send(o.id);
                    oa.assertSameAnswer(res, unknown, `${what}: ${method} ${path(o.id)} answers as for an unknown order`);
                    compared++;
                }
            }
        }
        assert.equal(compared, creds.length * actions.length * 2);
        // nothing changed: the pending order took no payment and counted no failure
        const p = await oa.ownerView(srv, pending);
        assert.equal(p.status, 'pending_payment');
        assert.equal(p.payment_failures, 0, 'a card sent without the secret is no attempt');
        assert.equal(p.last_payment_error, null);
        const pi = await sim.req('GET', `/v1/payment_intents/${payment.intent_id}`);
        assert.equal(pi.body.status, 'requires_payment_method', 'the gateway never saw the card');
        const q = await oa.ownerView(srv, paid);
        assert.equal(q.status, 'paid');
        assert.ok(q.tickets.every((t) => t.status === 'valid'));
    });

    it('the secret works in each accepted form, and the admin token too', async () => {
        const paid = await oa.paidOrder(srv, ev.event.id, twoSeats());
        const qr = paid.tickets[0].qr_svg_url.replace(/\?.*$/, '');
        const forms = [
            ['?secret=', `?secret=${paid.secret}`, {}],
            ['X-Order-Secret', '', { 'x-order-secret': paid.secret }],
            ['Authorization: Bearer', '', { authorization: `Bearer ${paid.secret}` }],
            ['admin token', '', { authorization: `Bearer ${srv.token}` }],
        ];
        for (const [what, query, headers] of forms) {
            const get = await srv.get(`/api/v1/orders/${paid.id}${query}`, { headers });
            oa.assertStatus(get, 200, `GET with ${what}`);
            assert.equal(get.body.order.secret, paid.secret);
            assert.equal(get.headers.get('cache-control'), 'no-store');
            const svg = await srv.get(`${qr}${query}`, { headers });
            oa.assertStatus(svg, 200, `QR with ${what}`);
            assert.match(svg.headers.get('content-type'), /^image\/svg\+xml/);
            const conf = await srv.post(`/api/v1/orders/${paid.id}/confirm${query}`, {}, { headers });
            oa.assertStatus(conf, 200, `confirm with ${what}`);
            assert.equal(conf.body.order.status, 'paid');
        }
        const body = await srv.post(`/api/v1/orders/${paid.id}/confirm`, { secret: paid.secret });
        oa.assertStatus(body, 200, 'confirm with the body\'s secret');
        // cancel, by the buyer with the secret in a header
        const { order } = await oa.pendingOrder(srv, ev.event.id, twoSeats());
        const c = await srv.post(`/api/v1/orders/${order.id}/cancel`, {}, { headers: { 'x-order-secret': order.secret } });
        oa.assertStatus(c, 200, 'cancel with X-Order-Secret');
        assert.equal(c.body.order.status, 'canceled');
    });

    it('a checked-out hold belongs to its order: its id alone does not cancel the order', async () => {
        const seats = twoSeats();
        const { hold: h, order, payment } = await oa.pendingOrder(srv, ev.event.id, seats);
        const del = await srv.del(`/api/v1/holds/${h.id}`);
        oa.assertError(del, 409, 'INVALID_STATE', 'DELETE by hold id alone');
        assert.match(del.body.error.message, /cancel its order/);
        oa.assertError(await srv.del(`/api/v1/holds/${h.id}`, { headers: { 'x-order-secret': 'f'.repeat(32) } }), 409, 'INVALID_STATE', 'with a wrong secret');
        assert.equal((await oa.ownerView(srv, order)).status, 'pending_payment', 'the order lives on');
        assert.equal((await sim.req('GET', `/v1/payment_intents/${payment.intent_id}`)).body.status, 'requires_payment_method');
        const paid = await oa.confirm(srv, order, oa.VISA);
        oa.assertStatus(paid, 200, 'the buyer still pays');
        assert.equal(paid.body.order.status, 'paid');
        // with the order's secret (Bearer) the buyer may still abandon a checkout
        const other = await oa.pendingOrder(srv, ev.event.id, twoSeats());
        oa.assertStatus(await srv.del(`/api/v1/holds/${other.hold.id}`, { headers: { authorization: `Bearer ${other.order.secret}` } }), 204, 'DELETE with the secret');
        assert.equal((await oa.ownerView(srv, other.order)).status, 'canceled');
    });

    it('card attempts are limited per client address (429 with Retry-After); another address still pays', async () => {
        const attacker = '198.51.100.66';
        const fromAttacker = { headers: { 'x-forwarded-for': `203.0.113.9, ${attacker}` } }; // the left part is the client's own words
        const orders = [];
        for (let i = 0; i < 4; i++) orders.push((await oa.pendingOrder(srv, ev.event.id, twoSeats())).order);
        let attempts = 0;
        for (const o of orders) {
            for (let k = 0; k < 3 && attempts < 10; k++, attempts++) {
                const res = await oa.confirm(srv, o, oa.DECLINE, fromAttacker);
                oa.assertError(res, 402, 'PAYMENT_DECLINED', `attempt ${attempts + 1}`);
            }
        }
        const last = orders[3];
        assert.equal((await oa.ownerView(srv, last)).payment_failures, 1);
        const limited = await oa.confirm(srv, last, oa.DECLINE, fromAttacker);
        oa.assertError(limited, 429, 'RATE_LIMITED', 'the 11th card attempt from one address');
        const after_s = Number(limited.headers.get('retry-after'));
        assert.ok(Number.isInteger(after_s) && after_s >= 1 && after_s <= 60, `Retry-After: ${limited.headers.get('retry-after')}`);
        assert.equal(limited.body.error.details.limit, 'card_attempts_per_min');
        assert.equal(limited.body.error.details.limit_value, 10);
        assert.equal(limited.body.error.details.retry_after_s, after_s);
        // a changing left part does not help: the address is the proxy's word
        const spoofed = await oa.confirm(srv, last, oa.DECLINE, { headers: { 'x-forwarded-for': `192.0.2.${Math.floor(Math.random() * 250)}, ${attacker}` } });
        oa.assertError(spoofed, 429, 'RATE_LIMITED', 'same client, another claimed origin');
        assert.equal((await oa.ownerView(srv, last)).payment_failures, 1, 'a refused attempt counts nothing');
        // a card-less confirm is no card attempt
        oa.assertStatus(await oa.confirm(srv, last, undefined, fromAttacker), 200, 'confirm without a card');
        // another address: the same order pays
        const ok = await oa.confirm(srv, last, oa.VISA, { headers: { 'x-forwarded-for': '198.51.100.67' } });
        oa.assertStatus(ok, 200, 'another address');
        assert.equal(ok.body.order.status, 'paid');
    });

    it('--trusted-proxy decides whose X-Forwarded-For names the client: none, or a network the peer is not in, means the peer', async () => {
        for (const trust of ['none', '10.9.0.0/16, 2001:db8::/32']) {
            // 2 a minute: the checkout (it asks for the intent: an attempt) and one card
            const own = await oa.startShop({ args: ['--trusted-proxy', trust, '--card-attempts-per-minute', '2'] });
            try {
                const s = own.srv;
                const e = await oa.setupEvent(s, GEN);
                const { order } = await oa.pendingOrder(s, e.event.id, e.seats.slice(0, 2));
                const first = await oa.confirm(s, order, oa.DECLINE, { headers: { 'x-forwarded-for': '198.51.100.1' } });
                oa.assertError(first, 402, 'PAYMENT_DECLINED', `${trust}: the first attempt`);
                // another claimed client, the same peer: loopback is no trusted proxy here
                const second = await oa.confirm(s, order, oa.DECLINE, { headers: { 'x-forwarded-for': '198.51.100.2' } });
                oa.assertError(second, 429, 'RATE_LIMITED', `${trust}: X-Forwarded-For is not believed`);
            } finally {
                await own.stop();
            }
        }
        // loopback trusted (the default, as in the test above): two claimed clients are two
        const own = await oa.startShop({ args: ['--trusted-proxy', '127.0.0.0/8', '--card-attempts-per-minute', '2'] });
        try {
            const s = own.srv;
            const e = await oa.setupEvent(s, GEN);
            const { order } = await oa.pendingOrder(s, e.event.id, e.seats.slice(0, 2));
            oa.assertError(await oa.confirm(s, order, oa.DECLINE, { headers: { 'x-forwarded-for': '198.51.100.1' } }), 402, 'PAYMENT_DECLINED', 'one client');
            oa.assertError(await oa.confirm(s, order, oa.DECLINE, { headers: { 'x-forwarded-for': '198.51.100.2' } }), 402, 'PAYMENT_DECLINED', 'another client');
        } finally {
            await own.stop();
        }
    });

    it('a stranger looping confirms of one order stalls no other buyer and not the gate (gateway at 150 ms)', async () => {
        const slow = await oa.startShop({ paysim: { args: ['--latency-ms', '150'] } });
        try {
            const s = slow.srv;
            const e = await oa.setupEvent(s, GEN);
            const staff = await oa.staffToken(s, e.event.id);
            const sold = await oa.paidOrder(s, e.event.id, e.seats.slice(0, 2));
            const { order: victim } = await oa.pendingOrder(s, e.event.id, e.seats.slice(2, 4));
            const ATTACK_MS = 6000, LOOPS = 200, ANON_LOOPS = 20;
            const t0 = performance.now();
            const attackOver = new Promise((r) => setTimeout(r, ATTACK_MS)).then(() => performance.now() - t0);
            // the worst case: confirms WITH the victim's secret (as its owner
            // could loop them), plus secret-less ones (a stranger's)
            const withSecret = oa.loop(LOOPS, () => s.post(`/api/v1/orders/${victim.id}/confirm`, { secret: victim.secret }), attackOver);
            const anonymous = oa.loop(ANON_LOOPS, () => s.post(`/api/v1/orders/${victim.id}/confirm`, {}), attackOver);
            await new Promise((r) => setTimeout(r, 1000)); // the attack is running
            // a keyed confirm refused as busy: the key is not spent on the refusal
            let busyKey = null;
            for (let i = 0; i < 50 && !busyKey; i++) {
                const key = `busy-${i}-${Math.random()}`;
                const res = await s.post(`/api/v1/orders/${victim.id}/confirm`, { secret: victim.secret }, { idem: key });
                if (res.status === 409) {
                    oa.assertError(res, 409, 'ORDER_BUSY', 'a keyed confirm while another runs');
                    assert.equal(res.headers.get('retry-after'), '1');
                    busyKey = key;
                }
            }
            assert.ok(busyKey, 'a keyed confirm met the running step');
            // meanwhile another buyer's whole checkout, and a check-in at the gate
            const buyer = oa.timed(async () => {
                const { order } = await oa.pendingOrder(s, e.event.id, e.seats.slice(4, 6));
                const paid = await oa.confirm(s, order, oa.VISA);
                return [paid, performance.now() - t0];
            });
            const scan = (code) => s.post('/api/v1/checkin', { code }, { admin: staff });
            const gate = oa.timed(async () => [await scan(sold.tickets[0].code), performance.now() - t0]);
            const [gateMs, [admitted, gateDoneAt]] = await gate;
            const [againMs, again] = await oa.timed(() => scan(sold.tickets[0].code));
            const [buyerMs, [paid, buyerDoneAt]] = await buyer;
            const attackMs = await attackOver;
            const [own, anon] = await Promise.all([withSecret, anonymous]);

            oa.assertStatus(paid, 200, 'the other buyer pays');
            assert.equal(paid.body.order.status, 'paid');
            oa.assertStatus(admitted, 200, 'check-in');
            assert.equal(admitted.body.result, 'ok', 'admitted');
            oa.assertError(again, 409, 'ALREADY_USED', 'scanned again');
            assert.equal(again.body.result, 'already_used');
            // they did not queue behind the attack: both ended while it went on
            assert.ok(buyerDoneAt < attackMs && gateDoneAt < attackMs, `buyer done at ${buyerDoneAt.toFixed(0)} ms, gate at ${gateDoneAt.toFixed(0)} ms, attack until ${attackMs.toFixed(0)} ms`);
            // the looping confirms were refused at once, not queued
            assert.ok(own.code.ORDER_BUSY > 0, `409 ORDER_BUSY answers: ${JSON.stringify(own)}`);
            assert.deepEqual(Object.keys(own.status).sort(), ['200', '409'], `only answers and busy refusals: ${JSON.stringify(own.status)}`);
            assert.equal(own.status[409], own.code.ORDER_BUSY);
            assert.deepEqual(anon.status, { 404: anon.total }, 'secret-less confirms: 404, never near the gateway');
            const v = await oa.ownerView(s, victim);
            assert.equal(v.status, 'pending_payment');
            assert.equal(v.payment_failures, 0);
            // the busy key runs now, and its answer is then replayed once stored
            const first = await s.post(`/api/v1/orders/${victim.id}/confirm`, { secret: victim.secret }, { idem: busyKey });
            oa.assertStatus(first, 200, 'the key refused as busy runs later');
            assert.equal(first.headers.get('idempotent-replayed'), null);
            const replay = await s.post(`/api/v1/orders/${victim.id}/confirm`, { secret: victim.secret }, { idem: busyKey });
            oa.assertStatus(replay, 200, 'replayed');
            assert.equal(replay.headers.get('idempotent-replayed'), 'true');
            assert.equal(replay.text, first.text);
            console.log(`stall attack, gateway 150 ms, ${LOOPS} looping confirms with the secret + ${ANON_LOOPS} without, ${(attackMs / 1000).toFixed(1)} s:`);
            console.log(`  with the secret: ${own.total} answers, ${own.status[200] || 0} x 200 (one step at a time), ${own.code.ORDER_BUSY} x 409 ORDER_BUSY; without: ${anon.total} x 404`);
            console.log(`  check-in ${gateMs.toFixed(0)} ms (again: ${againMs.toFixed(0)} ms); the other buyer's hold+checkout+confirm ${buyerMs.toFixed(0)} ms`);
        } finally {
            await slow.stop();
        }
    });
});
