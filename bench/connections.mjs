// connections.mjs - `make bench-connections`: 10,000 waiting visitors of an
// on-sale on one server (issue 14). A real `boxoffice serve --demo` on
// loopback; each visitor is one client connection with an X-Forwarded-For
// address of its own (10.x.y.z; loopback is a trusted proxy), as real
// buyers behind haproxy:
//   - 90 % hold a keep-alive connection and poll every POLL_MS (± 20 %
//     jitter, below the server's 10 s keep-alive timeout so the connection
//     stays open between polls), as a waiting page does;
//   - 10 % hold an SSE stream open (GET /api/v1/events/{id}/availability/
//     stream), as a waiting page may instead.
// The visitors are spread over CLIENTS child processes (Node's event loop
// is one core: on 2 cores one process cannot drive 10,000 sockets and
// measure fairly); each raises its own open-file limit (Node raises the
// soft limit to the hard one at start). Once every connection is open and
// has been answered, the polls of SECONDS seconds are measured (client
// side: request written -> answer read) while all stay open.
//
// The poll is the waiting room's: the demo event is given a waiting room
// that is on sale and admits 60 visitors a minute (so nearly all of them
// wait, as in a real on-sale's first minutes); each polling visitor joins
// it first (POST /api/v1/events/{id}/queue, a durable write), then polls
// GET /api/v1/events/{id}/queue with its X-Queue-Ticket (pollRequest()).
//
// Reports: p50/p99 of the polls in the window, errors and reconnects, the
// server's RSS before the visitors came and with them all connected,
// memory per connection = delta RSS / connections, the server's open
// connections by its own /metrics, and the CPU seconds of the server and
// of the clients during the window (from /proc), which tell what limits
// the run on this machine. Last line exactly:
//   connections=<n> conn_poll_p99_ms=<x> bytes_per_connection=<n>
// Target (issue 14): conn_poll_p99_ms < 200.
// Knobs: BOXOFFICE_BENCH_CONNECTIONS (10000), BOXOFFICE_BENCH_SSE_SHARE
// (0.1), BOXOFFICE_BENCH_SECONDS (20: the measured window),
// BOXOFFICE_BENCH_POLL_MS (5000), BOXOFFICE_BENCH_CLIENTS (2 processes),
// BOXOFFICE_BENCH_THREADS (the server's --threads; default one per core),
// BOXOFFICE_BIN (make passes its build). The whole run takes about 25 s
// with the defaults and stops itself after SECONDS + 40 s (60 s by default).

import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Conn } from './conn.mjs';
import { num } from './knobs.mjs';
import { machineTicks, procCpuS } from './procstat.mjs';
import { Server } from '../tests/system/lib/server.mjs';
import { rssKiB } from '../tests/system/lib/stranger.mjs';

const CONNECTIONS = Math.floor(num('BOXOFFICE_BENCH_CONNECTIONS', 10000));
const SSE_SHARE = process.env.BOXOFFICE_BENCH_SSE_SHARE === '0' ? 0 : Math.min(1, num('BOXOFFICE_BENCH_SSE_SHARE', 0.1));
const SECONDS = num('BOXOFFICE_BENCH_SECONDS', 20);
const POLL_MS = num('BOXOFFICE_BENCH_POLL_MS', 5000);
const CLIENTS = Math.floor(num('BOXOFFICE_BENCH_CLIENTS', 2));
const THREADS = process.env.BOXOFFICE_BENCH_THREADS ? Math.floor(num('BOXOFFICE_BENCH_THREADS', 2)) : undefined;
const SETTLE_MS = 2000; // after the last connection opened: the first polls' burst spreads out
const CONNECT_BATCH = 250; // connections a client opens at once
const DEADLINE_MS = 40000 + SECONDS * 1000;

/* ---- a visitor (in a client process) ------------------------------------- */

/** The visitor's own client address: 10.x.y.z from its number (1-based). */
const address = (n) => `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;

/** What a poll is: [path, extra header lines]: the visitor's place in the queue. */
const pollRequest = (v, eventId) => [`/api/v1/events/${eventId}/queue`, `X-Forwarded-For: ${v.addr}\r\nX-Queue-Ticket: ${v.ticket}\r\n`];

/** Before the first poll: join the waiting room; its ticket becomes v.ticket. */
async function joinQueue(v, eventId) {
    for (let attempt = 0; ; attempt++) {
        const res = await v.conn.request('POST', `/api/v1/events/${eventId}/queue`, '{}', `X-Forwarded-For: ${v.addr}\r\n`);
        const m = /"ticket":"(qt_[0-9a-zA-Z_-]+)"/.exec(res.body);
        if (res.status === 201 && m) {
            v.ticket = m[1];
            return;
        }
        if (attempt === 3) throw new Error(`join: ${res.status} ${res.body.slice(0, 200)}`);
        await new Promise((r) => setTimeout(r, 500));
    }
}

/** An SSE visitor: the stream's socket, kept open; resolves once the
 * answer's head (200) came, rejects on another status or a closed socket. */
function openStream(port, eventId, addr, stats) {
    return new Promise((resolve, reject) => {
        const s = net.connect(port, '127.0.0.1');
        let head = '';
        s.setEncoding('latin1');
        s.on('data', (d) => {
            if (head !== null) {
                head += d;
                if (!head.includes('\r\n\r\n')) return;
                const ok = head.startsWith('HTTP/1.1 200');
                if (!ok) reject(new Error(`stream answered ${head.slice(0, 60)}`));
                head = null;
                if (ok) resolve(s);
            }
            stats.sseBytes += d.length;
        });
        s.on('error', (e) => (head !== null ? reject(e) : stats.errors.sse++));
        s.on('close', () => {
            if (head === null) stats.sseClosed++;
        });
        s.write(`GET /api/v1/events/${eventId}/availability/stream HTTP/1.1\r\nHost: 127.0.0.1\r\n` +
            `Accept: text/event-stream\r\nX-Forwarded-For: ${addr}\r\n\r\n`);
    });
}

/** A polling visitor's life: poll now, then every POLL_MS ± 20 % until
 * stopped; latencies recorded while stats.measuring. */
async function pollLoop(v, port, eventId, stats, first) {
    const c = new Conn('127.0.0.1', port, 30000);
    v.conn = c;
    await joinQueue(v, eventId);
    let wait = 0;
    while (!stats.stopped) {
        if (wait) await new Promise((r) => setTimeout(r, wait));
        if (stats.stopped) break;
        const [path, extra] = pollRequest(v, eventId);
        const reconnect = !c.sock;
        try {
            const res = await c.request('GET', path, undefined, extra);
            if (res.status !== 200) stats.errors[`status_${res.status}`] = (stats.errors[`status_${res.status}`] || 0) + 1;
            else if (stats.measuring) stats.lat.push(res.ms);
            if (reconnect && wait) stats.reconnects++;
        } catch (e) {
            stats.errors[e.code || 'network'] = (stats.errors[e.code || 'network'] || 0) + 1;
        }
        if (first) {
            first();
            first = null;
        }
        // the first wait spreads the polls over the interval; then the jitter keeps them spread
        wait = wait ? POLL_MS * (0.8 + 0.4 * Math.random()) : POLL_MS * Math.random();
    }
    c.close();
}

/** A client process: visitors [from, to) of which those with n % stride
 * === 0 hold an SSE stream; reports to the parent over IPC. */
async function clientMain() {
    const { port, eventId, from, to, sseEvery } = JSON.parse(process.argv[3]);
    const stats = { lat: [], errors: { sse: 0 }, reconnects: 0, sseBytes: 0, sseClosed: 0, measuring: false, stopped: false };
    const streams = [];
    let polled = 0;
    process.on('disconnect', () => process.exit(0)); // the parent is gone
    process.on('message', (m) => {
        if (m === 'measure') stats.measuring = true;
        if (m === 'stop') {
            stats.measuring = false;
            stats.stopped = true;
            for (const s of streams) s.destroy();
            process.send({ type: 'done', lat: stats.lat, errors: stats.errors, reconnects: stats.reconnects, sseClosed: stats.sseClosed });
            setTimeout(() => process.exit(0), 200);
        }
    });
    const visitors = [];
    for (let n = from; n < to; n++) visitors.push({ n, addr: address(n), sse: sseEvery > 0 && n % sseEvery === 0 });
    for (let i = 0; i < visitors.length; i += CONNECT_BATCH) {
        await Promise.all(visitors.slice(i, i + CONNECT_BATCH).map((v) => (v.sse
            ? openStream(port, eventId, v.addr, stats).then((s) => streams.push(s))
            : new Promise((res) => {
                pollLoop(v, port, eventId, stats, () => {
                    polled++;
                    res();
                }).catch((e) => {
                    stats.errors.loop = (stats.errors.loop || 0) + 1;
                    process.send({ type: 'log', text: String(e) });
                    res();
                });
            }))));
    }
    process.send({ type: 'ready', streams: streams.length, polled });
}

/* ---- the run (the parent) ------------------------------------------------- */

function quantile(sorted, q) {
    if (!sorted.length) return NaN;
    return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/** Open client connections by the server's own count. */
async function serverConnections(srv) {
    const m = /^boxoffice_http_connections (\d+)$/m.exec((await srv.get('/metrics')).text);
    return m ? Number(m[1]) : NaN;
}

function startClients(srv, eventId) {
    const per = Math.ceil(CONNECTIONS / CLIENTS);
    const sseEvery = SSE_SHARE > 0 ? Math.round(1 / SSE_SHARE) : 0;
    const clients = [];
    for (let k = 0; k < CLIENTS; k++) {
        const from = 1 + k * per, to = 1 + Math.min(CONNECTIONS, (k + 1) * per);
        const child = fork(fileURLToPath(import.meta.url), ['client', JSON.stringify({ port: srv.port, eventId, from, to, sseEvery })]);
        const c = { child, ready: null, done: null };
        c.ready = new Promise((res, rej) => {
            c.done = new Promise((resDone) => {
                child.on('message', (m) => {
                    if (m.type === 'ready') res(m);
                    if (m.type === 'done') resDone(m);
                    if (m.type === 'log') console.error(`  client ${k}: ${m.text}`);
                });
            });
            child.on('exit', (code) => rej(new Error(`client ${k} exited (${code}) before it was ready`)));
        });
        clients.push(c);
    }
    return clients;
}

function cpuSample(srv, clients) {
    return {
        at: performance.now(),
        server: procCpuS(srv.pid),
        clients: clients.reduce((a, c) => a + procCpuS(c.child.pid), 0),
        machine: machineTicks(),
    };
}

/** One line on what limits the run on this machine, from the CPU each side used. */
function limitLine(cpu, windowS, pollsPerS) {
    const cores = cpus().length;
    const srvCores = cpu.server / windowS, cliCores = cpu.clients / windowS;
    const busy = cpu.busyPct;
    let verdict;
    if (busy >= 90) verdict = `the machine's ${cores} cores are busy (${busy.toFixed(0)} %): ` +
        (cliCores > srvCores ? 'the clients take most of it, the server is waiting on them' : 'the server takes most of it');
    else verdict = `neither side is CPU-bound (machine ${busy.toFixed(0)} % busy): the visitors' poll rate (${pollsPerS.toFixed(0)}/s) sets the load; ` +
        'holding the connections costs the server memory, not CPU';
    const ceiling = pollsPerS > 0 && cpu.server > 0 ? (cores * pollsPerS) / srvCores : NaN;
    return `  limit: server ${srvCores.toFixed(2)} cores, clients ${cliCores.toFixed(2)} cores of ${cores}; ${verdict}; ` +
        `at its CPU per poll the server alone would take ~${Math.round(ceiling)} polls/s on ${cores} cores ` +
        `(the clients ${Math.round((cores * pollsPerS) / Math.max(cliCores, 1e-9))}/s)`;
}

async function main() {
    const t0 = Date.now();
    const srv = await Server.start({ demo: true, threads: THREADS });
    const kill = setTimeout(() => {
        console.error(`bench-connections: not done after ${DEADLINE_MS / 1000} s, stopping`);
        srv.cleanup().finally(() => process.exit(1));
    }, DEADLINE_MS);
    let clients = [];
    try {
        const log = readFileSync(srv.logPath, 'utf8').split('\n').filter((l) => /open-file limit/.test(l));
        for (const l of log) console.log(`  server: ${l}`);
        const ev = (await srv.get('/api/v1/events')).body.events[0];
        const room = { enabled: true, prequeue_opens_at: new Date(Date.now() - 120e3).toISOString(),
            onsale_at: new Date(Date.now() - 60e3).toISOString(), admit_per_min: 60, max_active: 100, pass_ttl_s: 600 };
        const patched = await srv.patch(`/api/v1/events/${ev.id}`, { waiting_room: room }, { admin: true });
        if (patched.status !== 200) throw new Error(`PATCH waiting_room: ${patched.status} ${patched.text.slice(0, 200)}`);
        for (let i = 0; i < 50; i++) await srv.get(`/api/v1/events/${ev.id}`); // warm: the event's document is built
        const rss0 = rssKiB(srv.pid);
        console.log(`bench-connections: ${CONNECTIONS} visitors (${(SSE_SHARE * 100).toFixed(0)} % on SSE) of "${ev.name}" over ` +
            `${CLIENTS} client processes, polls every ${POLL_MS} ms ± 20 %, ${SECONDS} s measured; ` +
            `server RSS ${(rss0 / 1024).toFixed(1)} MiB before; load ${readFileSync('/proc/loadavg', 'utf8').trim()}`);
        clients = startClients(srv, ev.id);
        const ready = await Promise.all(clients.map((c) => c.ready));
        const streams = ready.reduce((a, r) => a + r.streams, 0), polled = ready.reduce((a, r) => a + r.polled, 0);
        console.log(`  open after ${((Date.now() - t0) / 1000).toFixed(1)} s: ${polled} polling connections answered, ${streams} SSE streams`);
        await new Promise((r) => setTimeout(r, SETTLE_MS));
        for (const c of clients) c.child.send('measure');
        const a = cpuSample(srv, clients);
        await new Promise((r) => setTimeout(r, (SECONDS * 1000) / 2));
        const open = await serverConnections(srv);
        await new Promise((r) => setTimeout(r, (SECONDS * 1000) / 2));
        const rss1 = rssKiB(srv.pid);
        const b = cpuSample(srv, clients);
        for (const c of clients) c.child.send('stop');
        const done = await Promise.all(clients.map((c) => c.done));
        const windowS = (b.at - a.at) / 1000;
        const dm = { total: b.machine.total - a.machine.total, idle: b.machine.idle - a.machine.idle };
        const cpu = { server: b.server - a.server, clients: b.clients - a.clients, busyPct: (100 * (dm.total - dm.idle)) / dm.total };
        const lat = done.flatMap((d) => d.lat).sort((x, y) => x - y);
        const errors = {};
        for (const d of done) for (const [k, v] of Object.entries(d.errors)) if (v) errors[k] = (errors[k] || 0) + v;
        const reconnects = done.reduce((x, d) => x + d.reconnects, 0), sseClosed = done.reduce((x, d) => x + d.sseClosed, 0);
        const connections = polled + streams;
        const perConn = Math.round(((rss1 - rss0) * 1024) / connections);
        const p50 = quantile(lat, 0.5), p99 = quantile(lat, 0.99);
        console.log(`  polls in the window: ${lat.length} (${(lat.length / windowS).toFixed(0)}/s), p50 ${p50.toFixed(2)} ms, ` +
            `p99 ${p99.toFixed(2)} ms, max ${lat[lat.length - 1].toFixed(1)} ms; errors ${JSON.stringify(errors)}; ` +
            `reconnects ${reconnects}; SSE streams closed by the server ${sseClosed}`);
        console.log(`  server: ${open} connections open by its /metrics at mid-window; RSS ${(rss0 / 1024).toFixed(1)} -> ` +
            `${(rss1 / 1024).toFixed(1)} MiB = ${perConn} bytes per connection`);
        console.log(`  cpu during the ${windowS.toFixed(1)} s window: server ${cpu.server.toFixed(2)} s, clients ${cpu.clients.toFixed(2)} s; ` +
            `server ${((1e6 * cpu.server) / Math.max(1, lat.length)).toFixed(0)} us per poll`);
        console.log(limitLine(cpu, windowS, lat.length / windowS));
        if (p99 >= 200) console.log('  target missed: conn_poll_p99_ms must be < 200');
        console.log(`connections=${connections} conn_poll_p99_ms=${p99.toFixed(2)} bytes_per_connection=${perConn}`);
    } finally {
        clearTimeout(kill);
        for (const c of clients) if (c.child.exitCode === null) c.child.kill('SIGKILL');
        await srv.stop();
        await srv.cleanup();
    }
}

if (process.argv[2] === 'client') {
    clientMain().catch((e) => {
        console.error(`bench-connections client: ${e.stack || e}`);
        process.exit(1);
    });
} else {
    main().catch((e) => {
        console.error(`bench-connections: ${e.stack || e}`);
        process.exit(1);
    });
}
