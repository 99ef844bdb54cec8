// tls.test.mjs - HTTPS: with --tls-cert and --tls-key the server speaks
// HTTP/2 (ALPN h2) and HTTP/1.1 on one port. Over HTTP/2, many holds share
// one connection as concurrent streams (each answered after its commit, on
// its own stream), the availability stream pushes a hold's change, and the
// admin endpoints work as over HTTP/1.1; a client that offers only
// http/1.1 gets it. The certificate is a fresh self-signed one (openssl).

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import http2 from 'node:http2';
import https from 'node:https';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { Server, seatOrder, tempDir, venueGen } from './lib/server.mjs';
import { SseClient, pricesFor } from './lib/api.mjs';

const execFileP = promisify(execFile);
const GEN = { sections: 2, rows: 5, seats: 10, ga: 0 }; // 100 seats

let srv, dir, session, ev;

/** One request on the HTTP/2 session: {status, headers, body (JSON or null)}. */
function h2(method, path, json, headers = {}) {
    return new Promise((resolve, reject) => {
        const s = session.request({
            ':method': method,
            ':path': path,
            ...(json !== undefined ? { 'content-type': 'application/json' } : {}),
            ...headers,
        });
        let status, head, text = '';
        s.setEncoding('utf8');
        s.on('response', (h) => {
            status = h[':status'];
            head = h;
        });
        s.on('data', (d) => (text += d));
        s.on('end', () => resolve({ status, headers: head, body: text ? JSON.parse(text) : null }));
        s.on('error', reject);
        s.end(json !== undefined ? JSON.stringify(json) : undefined);
    });
}
const admin = () => ({ authorization: `Bearer ${srv.token}` });

before(async () => {
    dir = tempDir('boxoffice-tls-');
    const cert = join(dir, 'cert.pem');
    const key = join(dir, 'key.pem');
    await execFileP('openssl', [
        'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
        '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=127.0.0.1',
        '-addext', 'subjectAltName=IP:127.0.0.1',
    ]);
    srv = await Server.start({ threads: 2, args: ['--tls-cert', cert, '--tls-key', key] });
    assert.match(srv.url, /^https:\/\/127\.0\.0\.1:\d+$/, 'the server says https');
    session = http2.connect(srv.url, { rejectUnauthorized: false });
    await new Promise((resolve, reject) => session.once('connect', resolve).once('error', reject));
    assert.equal(session.alpnProtocol, 'h2');
    const map = await venueGen(GEN);
    const venue = await h2('POST', '/api/v1/venues', { ...map, city: 'Testville' }, admin());
    assert.equal(venue.status, 201, JSON.stringify(venue.body));
    const event = await h2('POST', '/api/v1/events', {
        venue_id: venue.body.venue.id, name: 'Over TLS', currency: 'EUR', prices: pricesFor(map),
        starts_at: new Date(Date.now() + 30 * 86400e3).toISOString().replace(/\.\d+Z$/, 'Z'),
    }, admin());
    assert.equal(event.status, 201, JSON.stringify(event.body));
    ev = { id: event.body.event.id, seats: seatOrder(map) };
});

after(async () => {
    if (session) session.close();
    if (srv) {
        const exit = await srv.stop();
        await srv.cleanup();
        assert.deepEqual(exit, { code: 0, signal: null }, 'SIGTERM: graceful exit 0');
    }
});

describe('HTTPS', () => {
    it('HTTP/2: admin calls need the token; browse and the seat map answer', async () => {
        const refused = await h2('POST', '/api/v1/events', { name: 'x' });
        assert.equal(refused.status, 401);
        assert.equal(refused.body.error.code, 'UNAUTHORIZED');
        assert.equal((await h2('GET', '/healthz')).status, 200);
        const list = await h2('GET', '/api/v1/events');
        assert.equal(list.status, 200);
        assert.ok(list.body.events.some((e) => e.id === ev.id));
        const map = await h2('GET', `/api/v1/events/${ev.id}/seatmap`);
        assert.equal(map.status, 200);
        assert.deepEqual(seatOrder(map.body), ev.seats);
    });

    it('HTTP/2: 70 holds of 2 seats on one connection, 50 fit: every seat held once, the rest refused', async () => {
        // 70 buyers behind one proxy connection (loopback: a trusted proxy),
        // each at its own address, as the holds of one address are limited
        const res = await Promise.all(Array.from({ length: 70 }, (_, i) =>
            h2('POST', `/api/v1/events/${ev.id}/holds`, { best_available: { quantity: 2 }, customer: { email: `tls-${i}@example.test` } },
                { 'x-forwarded-for': `10.88.0.${i + 1}` })));
        const ok = res.filter((r) => r.status === 201);
        const refused = res.filter((r) => r.status !== 201);
        assert.equal(ok.length, 50, 'as many holds as pairs of seats');
        for (const r of refused) assert.equal(r.status, 409, JSON.stringify(r.body));
        const seats = ok.flatMap((r) => r.body.hold.seats);
        assert.equal(new Set(seats).size, 100, 'no seat held twice');
        const avail = await h2('GET', `/api/v1/events/${ev.id}/availability?format=list`);
        assert.equal(avail.body.seats.filter((s) => s.state === 'held').length, 100);
        // released over the same connection
        const gone = await Promise.all(ok.map((r) => h2('DELETE', `/api/v1/holds/${r.body.hold.id}`)));
        for (const r of gone) assert.equal(r.status, 204);
        const after = await h2('GET', `/api/v1/events/${ev.id}/availability?format=list`);
        assert.equal(after.body.seats.filter((s) => s.state === 'available').length, 100);
    });

    it('HTTP/2: the availability stream sees a hold within 1 s', async () => {
        const sse = new SseClient(null);
        const stream = session.request({ ':path': `/api/v1/events/${ev.id}/availability/stream`, accept: 'text/event-stream' });
        stream.setEncoding('utf8');
        stream.on('data', (chunk) => sse.feed(chunk));
        try {
            await sse.next(() => true, 2000); // the snapshot
            const mark = sse.events.length;
            const hold = await h2('POST', `/api/v1/events/${ev.id}/holds`, { seats: [ev.seats[7]], customer: { email: 'tls-sse@example.test' } });
            assert.equal(hold.status, 201);
            await sse.next((e) => e.event === 'seats' && e.data.changes.some((c) => c.id === ev.seats[7] && c.state === 'held'), 1000, mark);
            assert.equal((await h2('DELETE', `/api/v1/holds/${hold.body.hold.id}`)).status, 204);
        } finally {
            stream.close();
        }
    });

    it('HTTP/1.1 over TLS for a client that offers only http/1.1', async () => {
        const res = await new Promise((resolve, reject) => {
            const req = https.get(`${srv.url}/healthz`, { rejectUnauthorized: false, ALPNProtocols: ['http/1.1'], agent: false }, (r) => {
                let text = '';
                r.on('data', (d) => (text += d));
                r.on('end', () => resolve({ status: r.statusCode, alpn: r.socket.alpnProtocol, body: JSON.parse(text) }));
            });
            req.on('error', reject);
        });
        assert.equal(res.status, 200);
        assert.equal(res.alpn, 'http/1.1');
        assert.equal(res.body.status, 'ok');
    });
});
