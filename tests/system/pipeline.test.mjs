// pipeline.test.mjs - HTTP/1.1 pipelining and early closes around holds,
// whose answers wait for a commit while the connection stays polled
// (src/http/async.c): requests written together, a request sent while a
// hold waits for its commit, a body split across writes, and clients that
// go away mid-hold. Each answer must come whole and in order, and the
// server must stay up with its state consistent.

import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Server, sleep } from './lib/server.mjs';
import { assertStatus, availability, setupEvent } from './lib/api.mjs';

const GEN = { sections: 1, rows: 4, seats: 10 };

let srv, ev;
before(async () => {
    srv = await Server.start({ threads: 2 });
    ev = await setupEvent(srv, GEN);
});
after(async () => {
    if (srv) {
        assert.deepEqual(await srv.stop(), { code: 0, signal: null });
        await srv.cleanup();
    }
});

// each hold is a buyer of its own, at its own address (holds are limited
// and capped per client address; loopback is a trusted proxy)
let buyers = 0;
function holdRequest(seats, tag) {
    const body = JSON.stringify({ seats, customer: { email: `${tag}@example.test` } });
    const n = ++buyers;
    return `POST /api/v1/events/${ev.event.id}/holds HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n` +
        `X-Forwarded-For: 10.66.${(n >> 8) & 255}.${n & 255}\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}
const healthz = 'GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n';

/** Write parts (strings; a number is a pause in ms) on one connection and
 * collect n responses: [{status, body}] in the order they came. */
function exchange(parts, n, timeoutMs = 10000) {
    return new Promise((resolve, reject) => {
        const sock = net.connect(srv.port, '127.0.0.1');
        let buf = Buffer.alloc(0);
        const out = [];
        const timer = setTimeout(() => {
            sock.destroy();
            reject(new Error(`got ${out.length} of ${n} answers: ${buf.toString('latin1').slice(0, 200)}`));
        }, timeoutMs);
        sock.on('data', (c) => {
            buf = Buffer.concat([buf, c]);
            for (;;) {
                const end = buf.indexOf('\r\n\r\n');
                if (end < 0) break;
                const head = buf.subarray(0, end).toString('latin1');
                const len = Number((/content-length: *(\d+)/i.exec(head) || [0, 0])[1]);
                if (buf.length < end + 4 + len) break;
                out.push({ status: Number(head.split(' ')[1]), body: buf.subarray(end + 4, end + 4 + len).toString('utf8') });
                buf = buf.subarray(end + 4 + len);
            }
            if (out.length >= n) {
                clearTimeout(timer);
                sock.destroy();
                resolve(out);
            }
        });
        sock.on('error', (e) => {
            clearTimeout(timer);
            reject(e);
        });
        sock.on('connect', async () => {
            for (const p of parts) {
                if (typeof p === 'number') await sleep(p);
                else sock.write(p);
            }
        });
    });
}

describe('pipelining around holds', () => {
    it('a hold and two more requests written at once: three answers, in order', async () => {
        const r = await exchange([holdRequest([ev.seats[0], ev.seats[1]], 'a') + healthz + holdRequest([ev.seats[1]], 'b')], 3);
        assert.deepEqual(r.map((x) => x.status), [201, 200, 409]);
        assert.equal(JSON.parse(r[0].body).hold.seats.length, 2);
        assert.equal(JSON.parse(r[1].body).status, 'ok');
        assert.equal(JSON.parse(r[2].body).error.code, 'SEATS_UNAVAILABLE');
    });

    it('a request sent while a hold waits for its commit, and a body split across writes', async () => {
        const req = holdRequest([ev.seats[2]], 'c');
        const cut = req.indexOf('{') + 5;
        const r = await exchange([holdRequest([ev.seats[3]], 'd'), 0, healthz, req.slice(0, cut), 30, req.slice(cut)], 3);
        assert.deepEqual(r.map((x) => x.status), [201, 200, 201]);
    });

    it('clients that close or reset mid-hold: the server stays up and consistent', async () => {
        for (let i = 0; i < 20; i++) {
            const s = net.connect(srv.port, '127.0.0.1');
            await new Promise((res) => s.on('connect', res));
            s.write(holdRequest([ev.seats[4 + (i % 30)]], `gone${i}`));
            if (i % 2) s.resetAndDestroy();
            else s.end();
        }
        await sleep(300);
        const h = await srv.get('/healthz');
        assertStatus(h, 200, 'still up');
        const a = await availability(srv, ev.event.id);
        const c = a.counts;
        assert.equal(c.available + c.held + c.sold + c.blocked, c.total);
        // the seats left free can still be held
        const free = ev.seats.filter((id, i) => a.states[i] === 0);
        if (free.length) assertStatus(await srv.post(`/api/v1/events/${ev.event.id}/holds`, { seats: free.slice(0, 10), customer: { email: 'x@example.test' } }), 201, 'free seats hold');
    });
});
