// connections.test.mjs - many client connections at once (issue 14: the
// waiting visitors of an on-sale each hold one). The server raises its own
// open-file limit at start: started with the common soft limit of 1,024, it
// holds 1,500 keep-alive connections and still answers on a new one. At
// --max-connections it stops accepting (the next connection waits in the
// kernel's backlog, unanswered) until one closes, then takes it. With a
// hard limit below what its cap needs it says so on stderr and accepts what
// its descriptors allow.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { describe, it } from 'node:test';
import { Server } from './lib/server.mjs';

const DEFAULT_MAX = 16384; // include/boxoffice/http.h BO_HTTP_DEFAULT_MAX_CONNECTIONS
const RESERVED = 128 + 8 * 2; // BO_HTTP_RESERVED_FDS + BO_HTTP_FDS_PER_THREAD * 2 threads

/** Soft and hard "Max open files" of a process. */
function nofile(pid) {
    const line = readFileSync(`/proc/${pid}/limits`, 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
    const [soft, hard] = line.replace('Max open files', '').trim().split(/\s+/);
    return { soft: Number(soft), hard: Number(hard) };
}

/** A raw keep-alive connection; ask() sends a GET and resolves to the
 * status of its answer (rejects when the connection ends first). */
function openConn(port) {
    return new Promise((resolve, reject) => {
        const sock = connect({ host: '127.0.0.1', port });
        let buf = '';
        let waiting = null;
        sock.setEncoding('latin1');
        sock.on('data', (d) => {
            buf += d;
            const end = buf.indexOf('\r\n\r\n');
            if (end < 0 || !waiting) return;
            const len = Number((/\r\ncontent-length: *(\d+)/i.exec(buf.slice(0, end)) || [0, 0])[1]);
            if (buf.length < end + 4 + len) return;
            const status = Number(buf.slice(9, 12));
            buf = buf.slice(end + 4 + len);
            const w = waiting;
            waiting = null;
            w.resolve(status);
        });
        const fail = (e) => {
            if (waiting) waiting.reject(e || new Error('connection closed'));
            waiting = null;
        };
        sock.on('error', (e) => {
            fail(e);
            reject(e);
        });
        sock.on('close', () => fail());
        sock.ask = (path = '/healthz') =>
            new Promise((res, rej) => {
                waiting = { resolve: res, reject: rej };
                sock.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
            });
        sock.on('connect', () => resolve(sock));
    });
}

/** n connections, each with one request answered, opened 100 at a time. */
async function openMany(port, n) {
    const socks = [];
    for (let i = 0; i < n; i += 100) {
        const batch = await Promise.all(Array.from({ length: Math.min(100, n - i) }, () => openConn(port)));
        const statuses = await Promise.all(batch.map((s) => s.ask()));
        assert.deepEqual([...new Set(statuses)], [200], 'every connection answered');
        socks.push(...batch);
    }
    return socks;
}

function metric(text, name) {
    const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
    assert.ok(m, `${name} in /metrics`);
    return Number(m[1]);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

describe('connections', () => {
    it('raises its open-file limit from 1,024 and holds 1,500 keep-alive connections while answering', async () => {
        const srv = await Server.start({ threads: 2, ulimit: '-Sn 1024' });
        let socks = [];
        try {
            const lim = nofile(srv.pid);
            assert.ok(lim.soft >= DEFAULT_MAX + RESERVED || lim.soft === lim.hard, `soft limit raised: ${JSON.stringify(lim)}`);
            if (lim.hard >= DEFAULT_MAX + RESERVED) {
                assert.equal(lim.soft, DEFAULT_MAX + RESERVED, 'raised to what the cap needs');
                assert.doesNotMatch(readFileSync(srv.logPath, 'utf8'), /open-file limit/);
            }
            socks = await openMany(srv.port, 1500);
            const m = (await srv.get('/metrics')).text;
            assert.ok(metric(m, 'boxoffice_http_connections') >= 1501, 'the 1,500 are open, and this one');
            assert.equal(metric(m, 'boxoffice_http_connections_max'), Math.min(DEFAULT_MAX, lim.soft - RESERVED));
            // every connection is still alive and answers again
            const again = await Promise.all(socks.map((s) => s.ask('/readyz')));
            assert.deepEqual([...new Set(again)], [200]);
        } finally {
            for (const s of socks) s.destroy();
            await srv.stop();
            await srv.cleanup();
        }
    });

    it('at --max-connections it stops accepting until a connection closes, then takes the next', async () => {
        const srv = await Server.start({ threads: 2, args: ['--max-connections', '20'] });
        let socks = [];
        try {
            socks = await openMany(srv.port, 20);
            const late = await openConn(srv.port); // the kernel completes it; the server does not take it
            let answered = false;
            const asked = late.ask().then((st) => {
                answered = true;
                return st;
            });
            await sleep(600);
            assert.equal(answered, false, 'no answer past the cap');
            socks.shift().destroy();
            const t0 = Date.now();
            assert.equal(await asked, 200, 'answered once a connection closed');
            assert.ok(Date.now() - t0 < 2000, `taken within 2 s (${Date.now() - t0} ms)`);
            socks.push(late);
            for (const s of socks) s.destroy();
            socks = [];
            await sleep(200);
            const m = (await srv.get('/metrics')).text;
            assert.equal(metric(m, 'boxoffice_http_connections_max'), 20);
            assert.ok(metric(m, 'boxoffice_http_accept_pauses_total') >= 1);
            assert.ok(metric(m, 'boxoffice_http_connections') <= 20);
        } finally {
            for (const s of socks) s.destroy();
            await srv.stop();
            await srv.cleanup();
        }
    });

    it('a hard limit below what --max-connections needs: says so, and accepts what its descriptors allow', async () => {
        const srv = await Server.start({ threads: 2, ulimit: '-n 512', args: ['--max-connections', '1000'] });
        try {
            const lim = nofile(srv.pid);
            const log = readFileSync(srv.logPath, 'utf8');
            if (lim.hard > 512) {
                // a privileged server (CAP_SYS_RESOURCE) raised its hard limit too
                assert.equal(lim.soft, 1000 + RESERVED);
                assert.doesNotMatch(log, /open-file limit/);
                return;
            }
            assert.match(log, /the open-file limit is 512 and cannot be raised to the 1144 that 1000 connections need \(--max-connections\): at most 368 connections are accepted at once; raise the hard limit/);
            const m = (await srv.get('/metrics')).text;
            assert.equal(metric(m, 'boxoffice_http_connections_max'), 512 - RESERVED);
        } finally {
            await srv.stop();
            await srv.cleanup();
        }
    });
});
