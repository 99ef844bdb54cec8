// api.mjs - helpers the system tests share: venues and events made through
// the API, availability decoded, a server-sent-events client and a raw
// HTTP/1.1 client for requests that fetch refuses to send (bad paths,
// methods, bytes).

import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { seatOrder, venueGen } from './server.mjs';

export const ERROR_CODES = new Set([
    'INVALID_REQUEST', 'NOT_FOUND', 'SEATS_UNAVAILABLE', 'HOLD_EXPIRED', 'INVALID_STATE', 'LIMIT_EXCEEDED',
    'CAPACITY_EXHAUSTED', 'TOO_LARGE', 'STORE_UNAVAILABLE', 'BUSY', 'SOLD_OUT', 'ALREADY_EXISTS',
    'UNAUTHORIZED', 'FORBIDDEN', 'METHOD_NOT_ALLOWED', 'IDEMPOTENCY_MISMATCH', 'IDEMPOTENCY_IN_PROGRESS',
    'NOT_ON_SALE', 'INVALID_SEATMAP', 'RATE_LIMITED', 'GONE', 'PAYMENT_DECLINED', 'GATEWAY_UNAVAILABLE',
    'INVALID_SIGNATURE', 'ALREADY_USED', 'INVALID_TICKET', 'WRONG_EVENT', 'TICKET_VOIDED', 'ORDER_BUSY',
    'QUEUE_REQUIRED', 'QUEUE_NOT_OPEN', 'POW_REQUIRED', 'QUEUE_FULL',
]);

/** Assert an error answer: exact status, exact code, DESIGN's shape. */
export function assertError(res, status, code, what = '') {
    const ctx = `${what} -> ${res.status} ${res.text.slice(0, 300)}`;
    assert.equal(res.status, status, ctx);
    assert.ok(res.body && typeof res.body === 'object', `error body is JSON: ${ctx}`);
    assert.ok(res.body.error && typeof res.body.error === 'object', `{"error":{…}}: ${ctx}`);
    assert.equal(res.body.error.code, code, ctx);
    assert.ok(ERROR_CODES.has(code), `a documented error code: ${code}`);
    assert.equal(typeof res.body.error.message, 'string', ctx);
    assert.ok(res.body.error.message.length > 0, ctx);
    assert.ok(res.body.error.details && typeof res.body.error.details === 'object', `details object: ${ctx}`);
}

/** Assert a success status, with the answer in the message otherwise. */
export function assertStatus(res, status, what = '') {
    assert.equal(res.status, status, `${what} -> ${res.status} ${res.text.slice(0, 500)}`);
}

export const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
export const EVENT_ID = /^evt_[0-9a-f]{16}$/;
export const VENUE_ID = /^ven_[0-9a-f]{16}$/;
export const HOLD_ID = /^hold_[0-9a-f]{48}$/;

/** Prices for every category key of a seat map: P1 5000, P2 4000, … GA 2500. */
export function pricesFor(map) {
    const prices = {};
    map.categories.forEach((c, i) => {
        prices[c.key] = c.key === 'GA' ? 2500 : 5000 - 1000 * i;
    });
    return prices;
}

/** POST a venue (admin); returns {venue, map, seats: ids in layout order}. */
export async function createVenue(srv, map, extra = {}) {
    const res = await srv.post('/api/v1/venues', { ...map, ...extra }, { admin: true });
    assertStatus(res, 201, 'POST /api/v1/venues');
    return { venue: res.body.venue, map, seats: seatOrder(map) };
}

/** A generated venue (venue-gen options) and an event on sale now in it.
 * Returns {venue, event, map, seats, prices, categoryOf: Map seat -> key}. */
export async function setupEvent(srv, gen, eventExtra = {}, venueExtra = {}) {
    const map = await venueGen(gen);
    const { venue, seats } = await createVenue(srv, map, { city: 'Testville', ...venueExtra });
    const prices = pricesFor(map);
    const res = await srv.post(
        '/api/v1/events',
        {
            venue_id: venue.id,
            name: 'Test event',
            starts_at: new Date(Date.now() + 30 * 86400e3).toISOString().replace(/\.\d+Z$/, 'Z'),
            currency: 'EUR',
            prices,
            ...eventExtra,
        },
        { admin: true },
    );
    assertStatus(res, 201, 'POST /api/v1/events');
    const categoryOf = new Map();
    for (const s of map.sections) for (const r of s.rows) for (const seat of r.seats) categoryOf.set(seat.id, seat.category);
    return { venue, event: res.body.event, map, seats, prices, categoryOf };
}

/** GET availability, decoded: {version, etag, states: Uint8Array, counts, ga, raw}. */
export async function availability(srv, eventId) {
    const res = await srv.get(`/api/v1/events/${eventId}/availability`);
    assertStatus(res, 200, 'GET availability');
    const b = res.body;
    assert.equal(b.encoding, 'state-bytes-base64');
    return {
        version: b.version,
        etag: res.headers.get('etag'),
        states: new Uint8Array(Buffer.from(b.seats, 'base64')),
        counts: b.counts,
        ga: b.ga,
        raw: b,
    };
}

/** The availability version alone. */
export async function version(srv, eventId) {
    return (await availability(srv, eventId)).version;
}

/** Assert counts add up: available + held + sold + blocked = total. */
export function assertCountsAddUp(counts, what = 'counts') {
    for (const k of ['available', 'held', 'sold', 'blocked', 'total'])
        assert.ok(Number.isInteger(counts[k]) && counts[k] >= 0, `${what}.${k} = ${counts[k]}`);
    assert.equal(counts.available + counts.held + counts.sold + counts.blocked, counts.total, `${what}: ${JSON.stringify(counts)}`);
}

/**
 * A server-sent-events client: connect(url) resolves once the headers came;
 * events arrive in .events ({event, data (parsed JSON when it is), at});
 * next(pred, ms) resolves to the first event (already received or coming)
 * matching pred, or rejects after ms.
 */
export class SseClient {
    constructor(url, headers = {}) {
        this.url = url;
        this.headers = headers;
        this.events = [];
        this.waiters = [];
        this.buf = '';
    }

    connect() {
        return new Promise((resolve, reject) => {
            this.req = http.get(this.url, { headers: { accept: 'text/event-stream', ...this.headers }, agent: false }, (res) => {
                this.res = res;
                this.status = res.statusCode;
                this.contentType = res.headers['content-type'] || '';
                res.setEncoding('utf8');
                res.on('data', (chunk) => this.feed(chunk));
                res.on('error', () => {});
                resolve(this);
            });
            this.req.on('error', reject);
        });
    }

    feed(chunk) {
        this.buf += chunk.replace(/\r\n/g, '\n');
        let i;
        while ((i = this.buf.indexOf('\n\n')) >= 0) {
            const block = this.buf.slice(0, i);
            this.buf = this.buf.slice(i + 2);
            let event = 'message';
            const data = [];
            for (const line of block.split('\n')) {
                if (line.startsWith(':') || line === '') continue;
                const c = line.indexOf(':');
                const field = c < 0 ? line : line.slice(0, c);
                const value = c < 0 ? '' : line.slice(c + 1).replace(/^ /, '');
                if (field === 'event') event = value;
                else if (field === 'data') data.push(value);
            }
            if (!data.length) continue;
            let parsed = data.join('\n');
            try {
                parsed = JSON.parse(parsed);
            } catch {
                /* keep the text */
            }
            const ev = { event, data: parsed, at: performance.now() };
            this.events.push(ev);
            this.waiters = this.waiters.filter((w) => {
                if (!w.pred(ev)) return true;
                clearTimeout(w.timer);
                w.resolve(ev);
                return false;
            });
        }
    }

    next(pred, ms = 1000, from = 0) {
        const have = this.events.slice(from).find(pred);
        if (have) return Promise.resolve(have);
        return new Promise((resolve, reject) => {
            const w = { pred, resolve };
            w.timer = setTimeout(() => {
                this.waiters = this.waiters.filter((x) => x !== w);
                reject(new Error(`no matching SSE event within ${ms} ms; got ${JSON.stringify(this.events.map((e) => e.event))}`));
            }, ms);
            this.waiters.push(w);
        });
    }

    close() {
        if (this.req) this.req.destroy();
    }
}

/**
 * Send raw bytes (a Buffer or string: the whole request, head and body) on
 * a fresh connection and read the answer until the server closes or the
 * body is complete. Resolves to {status, headers (lower-case names), text,
 * body (parsed JSON or null)}; status 0 when the server closed without an
 * answer.
 */
export function rawRequest(port, bytes, timeoutMs = 10000) {
    return new Promise((resolve, reject) => {
        const sock = net.connect(port, '127.0.0.1');
        const chunks = [];
        let done = false;
        const finish = () => {
            if (done) return;
            done = true;
            clearTimeout(timer);
            sock.destroy();
            resolve(parseResponse(Buffer.concat(chunks)));
        };
        const timer = setTimeout(() => {
            if (done) return;
            done = true;
            sock.destroy();
            reject(new Error(`raw request: no complete answer within ${timeoutMs} ms; got ${Buffer.concat(chunks).toString('latin1').slice(0, 300)}`));
        }, timeoutMs);
        sock.on('connect', () => sock.write(bytes));
        sock.on('data', (c) => {
            chunks.push(c);
            if (parseResponse(Buffer.concat(chunks)).complete) finish();
        });
        sock.on('end', finish);
        sock.on('close', finish);
        sock.on('error', (e) => {
            if (e.code === 'ECONNRESET' || e.code === 'EPIPE') finish();
            else if (!done) {
                done = true;
                clearTimeout(timer);
                reject(e);
            }
        });
    });
}

function parseResponse(buf) {
    const sep = buf.indexOf('\r\n\r\n');
    if (sep < 0) return { status: 0, headers: {}, text: '', body: null, complete: false };
    const head = buf.subarray(0, sep).toString('latin1').split('\r\n');
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(head[0]);
    const headers = {};
    for (const line of head.slice(1)) {
        const c = line.indexOf(':');
        if (c > 0) headers[line.slice(0, c).trim().toLowerCase()] = line.slice(c + 1).trim();
    }
    let rest = buf.subarray(sep + 4);
    let complete = false;
    if (headers['transfer-encoding'] && /chunked/i.test(headers['transfer-encoding'])) {
        const out = [];
        let p = 0;
        for (;;) {
            const eol = rest.indexOf('\r\n', p);
            if (eol < 0) break;
            const n = parseInt(rest.subarray(p, eol).toString('latin1'), 16);
            if (n === 0) {
                complete = true;
                break;
            }
            if (eol + 2 + n > rest.length) break;
            out.push(rest.subarray(eol + 2, eol + 2 + n));
            p = eol + 2 + n + 2;
        }
        rest = Buffer.concat(out);
    } else if (headers['content-length'] !== undefined) {
        const n = Number(headers['content-length']);
        complete = rest.length >= n;
        rest = rest.subarray(0, n);
    }
    const text = rest.toString('utf8');
    let body = null;
    if ((headers['content-type'] || '').includes('json')) {
        try {
            body = JSON.parse(text);
        } catch {
            body = undefined;
        }
    }
    return { status: m ? Number(m[1]) : 0, headers, text, body, complete };
}
