// bench_memory.mjs - `make bench-memory`: what anonymous traffic and a long
// life cost the server in memory (issue 12, "Bounded by design"), against
// a real `boxoffice serve` on an ephemeral port, each phase with a temp
// SQLite store of its own:
//   a. abandoned checkouts: N buyers hold 2 seats, check out and give up
//      (POST /orders/{id}/cancel with the secret: the seats go back, the
//      order ends `canceled`, never paid), 64 at a time over one
//      40,000-seat event whose pairs are dealt again once free; RSS after a
//      warm-up and after the N, divided by N;
//   b. a flood of refused holds (409: the pair is taken), each with an
//      Idempotency-Key of its own, from 256 keys per client address
//      (X-Forwarded-For from loopback; under the 1,000 alive keys allowed
//      to one address); RSS after, and the key table's cap
//      (BOXOFFICE_IDEM_KEYS_MAX, else the built-in 1,000,000);
//   c. M paid orders of 2 tickets each loaded at start: one real order is
//      bought (hold -> checkout -> confirm with pm_card_visa through a real
//      paysim), the server stopped, and its stored document (every column,
//      and its rows in doc_keys where the schema has them) copied M - 1
//      times by sqlite3 with fresh ids (order, hold, secret, intent,
//      tickets: same lengths; the ticket codes keep the template's bytes,
//      so only the template's codes verify), then the server started again:
//      time from spawn to "listening on" and to /readyz 200, and RSS.
// Bench, not test: it prints figures and asserts nothing about them.
//
// Knobs: BOXOFFICE_BENCH_ABANDONED (100,000), BOXOFFICE_BENCH_KEYS
// (1,000,000), BOXOFFICE_BENCH_PAID (1,000,000), BOXOFFICE_BENCH_PHASES
// (a,b,c), BOXOFFICE_BENCH_CONNECTIONS (64), BOXOFFICE_BIN and PAYSIM_BIN.
// Last line exactly:
//   rss_per_abandoned_order_b=… key_flood_rss_mb=… key_cap=…
//   startup_1m_paid_s=… rss_1m_paid_mb=…
// (a figure of a phase not run is "nan"; the counts used are printed above).

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Conn } from './conn.mjs';
import { startShop } from '../tests/system/lib/shop.mjs';
import { Server, venueGen } from '../tests/system/lib/server.mjs';
import { rssKiB } from '../tests/system/lib/stranger.mjs';

const execFileP = promisify(execFile);

const num = (name, dflt) => {
    const v = process.env[name];
    if (v === undefined || v === '') return dflt;
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`${name}=${v}: a positive integer, please`);
    return n;
};
const ABANDONED = num('BOXOFFICE_BENCH_ABANDONED', 100000);
const KEYS = num('BOXOFFICE_BENCH_KEYS', 1000000);
const PAID = num('BOXOFFICE_BENCH_PAID', 1000000);
const BUYERS = num('BOXOFFICE_BENCH_CONNECTIONS', 64);
const PHASES = (process.env.BOXOFFICE_BENCH_PHASES || 'a,b,c').split(',');
const KEY_CAP = num('BOXOFFICE_IDEM_KEYS_MAX', 1000000); // the server reads the same variable
const KEYS_PER_ADDRESS = 256;
const WARMUP_FLOWS = 2000;

const HOLD_ID = /"id":"(hold_[0-9a-f]+)"/;
const ORDER_ID = /"id":"(ord_[0-9a-f]+)"/;
const ORDER_SECRET = /"secret":"([0-9a-f]{32})"/;
const mib = (kib) => kib / 1024;
const address = (n) => `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;

/** A venue-gen venue and an event on it; resolves to {event, pairs}. */
async function makeEvent(srv, gen) {
    const map = await venueGen(gen);
    const v = await srv.post('/api/v1/venues', { ...map, city: 'Benchville' }, { admin: true, timeoutMs: 60000 });
    if (v.status !== 201) throw new Error(`POST /api/v1/venues: ${v.status} ${v.text.slice(0, 300)}`);
    const prices = {};
    map.categories.forEach((c, i) => (prices[c.key] = 9000 - 2000 * i));
    const starts = new Date(Date.now() + 30 * 86400e3).toISOString().replace(/\.\d+Z$/, 'Z');
    const e = await srv.post('/api/v1/events',
        { venue_id: v.body.venue.id, name: 'Bench', starts_at: starts, currency: 'EUR', prices, per_customer_limit: 0 },
        { admin: true, timeoutMs: 60000 });
    if (e.status !== 201) throw new Error(`POST /api/v1/events: ${e.status} ${e.text.slice(0, 300)}`);
    const pairs = [];
    for (const s of map.sections)
        for (const r of s.rows)
            for (let i = 0; i + 1 < r.seats.length; i += 2) pairs.push(JSON.stringify([r.seats[i].id, r.seats[i + 1].id]));
    return { event: e.body.event.id, pairs };
}

/** Count answers by step and status; throw if none succeeded. */
function tally(errors, what, res) {
    const code = /"code":"([A-Z_]+)"/.exec(res.body);
    const k = `${what} ${res.status}${code ? ' ' + code[1] : ''}`;
    errors.set(k, (errors.get(k) || 0) + 1);
}

/* ---- a. abandoned checkouts ----------------------------------------------- */

async function abandoned() {
    const shop = await startShop({ server: { accessLog: 'off' }, paysim: { args: ['--access-log', 'off'] } });
    try {
        await shop.sim.config({ latency_ms: 0, webhook_url: '' });
        const { event, pairs } = await makeEvent(shop.srv, { sections: 40, rows: 20, seats: 50, ga: 0, categories: 4 });
        const free = pairs.slice(); // pairs not held now
        const path = `/api/v1/events/${event}/holds`;
        const errors = new Map();
        let started = 0, done = 0, rss0 = 0;
        const total = WARMUP_FLOWS + ABANDONED;
        let t0 = 0;
        async function buyer() {
            const c = new Conn('127.0.0.1', shop.srv.port);
            while (started < total) {
                const n = ++started;
                const seats = free.pop();
                const xff = `X-Forwarded-For: ${address(n)}\r\n`;
                const mail = `a${n}@example.test`;
                let res = await c.request('POST', path, `{"seats":${seats},"customer":{"email":"${mail}"}}`, xff);
                if (res.status !== 201) {
                    tally(errors, 'hold', res);
                    free.unshift(seats);
                    continue;
                }
                const hold = HOLD_ID.exec(res.body)[1];
                res = await c.request('POST', `/api/v1/holds/${hold}/checkout`,
                    `{"customer":{"email":"${mail}","name":"Gone Buyer"}}`, xff);
                if (res.status !== 201) {
                    tally(errors, 'checkout', res); // its pair stays held: not dealt again
                    continue;
                }
                const order = ORDER_ID.exec(res.body)[1], secret = ORDER_SECRET.exec(res.body)[1];
                res = await c.request('POST', `/api/v1/orders/${order}/cancel?secret=${secret}`, '{}', xff);
                if (res.status !== 200) tally(errors, 'cancel', res);
                else free.unshift(seats);
                if (++done === WARMUP_FLOWS) {
                    rss0 = rssKiB(shop.srv.pid);
                    t0 = performance.now();
                }
            }
            c.close();
        }
        await Promise.all(Array.from({ length: BUYERS }, buyer));
        const s = (performance.now() - t0) / 1000;
        const rss1 = rssKiB(shop.srv.pid);
        const counted = done - WARMUP_FLOWS;
        const per = counted > 0 ? ((rss1 - rss0) * 1024) / counted : NaN;
        const m = await shop.srv.get('/metrics');
        const orders = /^boxoffice_orders\{status="canceled"\} (\S+)$/m.exec(m.text);
        console.log(`a. abandoned checkouts: ${counted} (hold -> checkout -> cancel, after ${WARMUP_FLOWS} warm-up) in ` +
            `${s.toFixed(1)} s = ${(counted / s).toFixed(0)}/s; RSS ${mib(rss0).toFixed(1)} -> ${mib(rss1).toFixed(1)} MiB = ` +
            `${per.toFixed(0)} bytes per order; canceled orders on /metrics: ${orders ? orders[1] : '?'}`);
        for (const [k, v] of errors) console.log(`  refused: ${k} x${v}`);
        return per;
    } finally {
        await shop.stop();
    }
}

/* ---- b. refused holds with distinct Idempotency-Keys ------------------------ */

async function keyFlood() {
    // the keys' memory is measured, not the hold rate limit (which would
    // refuse most of this flood before any key is taken): holds_per_min off
    const srv = await Server.start({ threads: 2, accessLog: 'off', args: ['--limits', 'holds_per_min=0'] });
    try {
        const { event, pairs } = await makeEvent(srv, { sections: 1, rows: 1, seats: 10, ga: 0, categories: 1 });
        const path = `/api/v1/events/${event}/holds`;
        const body = `{"seats":${pairs[0]},"customer":{"email":"first@example.test"}}`;
        const first = await srv.post(path, JSON.parse(body));
        if (first.status !== 201) throw new Error(`the first hold: ${first.status} ${first.text.slice(0, 300)}`);
        const flood = `{"seats":${pairs[0]},"customer":{"email":"flood@example.test"}}`;
        const rss0 = rssKiB(srv.pid);
        const byStatus = new Map();
        let next = 0;
        const t0 = performance.now();
        async function worker() {
            const c = new Conn('127.0.0.1', srv.port);
            while (next < KEYS) {
                const i = next++;
                const extra = `X-Forwarded-For: ${address(1 + Math.floor(i / KEYS_PER_ADDRESS))}\r\nIdempotency-Key: flood-${i}\r\n`;
                const res = await c.request('POST', path, flood, extra);
                const code = /"code":"([A-Z_]+)"/.exec(res.body);
                const k = `${res.status}${code ? ' ' + code[1] : ''}`;
                byStatus.set(k, (byStatus.get(k) || 0) + 1);
            }
            c.close();
        }
        await Promise.all(Array.from({ length: BUYERS }, worker));
        const s = (performance.now() - t0) / 1000;
        const rss1 = rssKiB(srv.pid);
        console.log(`b. key flood: ${KEYS} refused holds with keys of their own (${KEYS_PER_ADDRESS} per address) in ` +
            `${s.toFixed(1)} s = ${(KEYS / s).toFixed(0)}/s; RSS ${mib(rss0).toFixed(1)} -> ${mib(rss1).toFixed(1)} MiB; ` +
            `key cap ${KEY_CAP}; answers ${[...byStatus].map(([k, v]) => `${k} x${v}`).join(', ')}`);
        return mib(rss1);
    } finally {
        await srv.stop();
        await srv.cleanup();
    }
}

/* ---- c. paid orders loaded at start ---------------------------------------- */

/** SQL text of a string literal. */
const lit = (s) => `'${s.replace(/'/g, "''")}'`;

/** An SQL expression of clone n's replacement for hex string h (its last
 * 14 hex digits become a tag byte and n): same length, distinct per field
 * (tag) and from the template (the tag differs from h's byte there). */
function fresh(h, tag) {
    const head = h.slice(0, h.length - 14);
    let t = tag;
    if (h.slice(-14, -12) === t.toString(16).padStart(2, '0')) t |= 0x80;
    return `${lit(head)} || printf('%02x%012x', ${t}, n)`;
}

async function paidAtStart() {
    const shop = await startShop({ server: { accessLog: 'off' }, paysim: { args: ['--access-log', 'off'] } });
    let restarted = false;
    try {
        await shop.sim.config({ latency_ms: 0, webhook_url: '' });
        const { event, pairs } = await makeEvent(shop.srv, { sections: 1, rows: 1, seats: 10, ga: 0, categories: 1 });
        const h = await shop.srv.post(`/api/v1/events/${event}/holds`, { seats: JSON.parse(pairs[0]), customer: { email: 'paid@example.test' } });
        if (h.status !== 201) throw new Error(`hold: ${h.status} ${h.text.slice(0, 300)}`);
        const co = await shop.srv.post(`/api/v1/holds/${h.body.hold.id}/checkout`, { customer: { email: 'paid@example.test', name: 'Paid Buyer' } });
        if (co.status !== 201) throw new Error(`checkout: ${co.status} ${co.text.slice(0, 300)}`);
        const order = co.body.order;
        const cf = await shop.srv.post(`/api/v1/orders/${order.id}/confirm`, { payment_method: 'pm_card_visa', secret: order.secret },
            { headers: { 'x-forwarded-for': '10.9.9.9' } });
        if (cf.status !== 200 || cf.body.order.status !== 'paid') throw new Error(`confirm: ${cf.status} ${cf.text.slice(0, 300)}`);
        const exit = await shop.srv.stop();
        if (!exit || exit.code !== 0) throw new Error(`the server exited with ${JSON.stringify(exit)}`);

        // The template, as the server wrote it, and its copies.
        const [row] = await shop.srv.sql(`SELECT id, body FROM docs WHERE coll = 'order'`);
        const doc = JSON.parse(row.body);
        if (doc.tickets.length !== 2) throw new Error(`the template has ${doc.tickets.length} tickets`);
        const swaps = [[doc.id.slice(4), 1], [doc.hold, 2], [doc.secret, 3], [doc.intent.slice(-16), 4],
            ...doc.tickets.map((t, i) => [t.id.slice(4), 5 + i])];
        const swapped = (text) => swaps.reduce((e, [h, tag]) => `replace(${e}, ${lit(h)}, ${fresh(h, tag)})`, text);
        // every column of the template row (a newer schema's too), and the
        // rows of any other table that names the order by id (its keys)
        const cols = (await shop.srv.sql(`SELECT name FROM pragma_table_info('docs')`)).map((c) => c.name);
        const pick = cols.map((c) => (c === 'id' || c === 'body' ? swapped(`t.${c}`) : `t.${c}`));
        const g0 = performance.now();
        let sql = `WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < ${PAID - 1}) ` +
            `INSERT INTO docs(${cols.join(', ')}) SELECT ${pick.join(', ')} FROM c, docs t WHERE t.coll = 'order' AND t.id = ${lit(row.id)};`;
        const keyed = await shop.srv.sql(`SELECT name FROM sqlite_schema WHERE type = 'table' AND name = 'doc_keys'`);
        if (keyed.length)
            sql += `WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < ${PAID - 1}) ` +
                `INSERT INTO doc_keys(key, coll, id) SELECT ${swapped('k.key')}, k.coll, ${swapped('k.id')} FROM c, doc_keys k WHERE k.id = ${lit(row.id)};`;
        await shop.srv.sql(sql);
        const [{ n }] = await shop.srv.sql(`SELECT count(*) AS n FROM docs WHERE coll = 'order'`);
        const [{ bytes }] = await shop.srv.sql(`SELECT page_count * page_size AS bytes FROM pragma_page_count(), pragma_page_size()`);
        console.log(`c. ${n} paid orders of 2 tickets in the store (${((performance.now() - g0) / 1000).toFixed(1)} s to write; ` +
            `database ${(bytes / 1048576).toFixed(0)} MiB; template ${row.body.length} bytes)`);

        const t0 = performance.now();
        await shop.srv.launch();
        restarted = true;
        const listening = (performance.now() - t0) / 1000;
        for (;;) {
            const r = await shop.srv.get('/readyz');
            if (r.status === 200) break;
            await new Promise((res) => setTimeout(res, 5));
        }
        const ready = (performance.now() - t0) / 1000;
        const rss = mib(rssKiB(shop.srv.pid));
        const m = await shop.srv.get('/metrics');
        const paid = /^boxoffice_orders\{status="paid"\} (\S+)$/m.exec(m.text);
        const got = await shop.srv.get(`/api/v1/orders/${order.id}?secret=${order.secret}`);
        console.log(`   start: listening after ${listening.toFixed(2)} s, /readyz 200 after ${ready.toFixed(2)} s; RSS ${rss.toFixed(1)} MiB; ` +
            `paid orders on /metrics: ${paid ? paid[1] : '?'}; the template order reads ${got.status} ${got.body?.order?.status}`);
        return { startup: ready, rss };
    } finally {
        if (!restarted) await shop.srv.kill9();
        await shop.stop();
    }
}

async function main() {
    console.log(`bench-memory: abandoned ${ABANDONED}, keys ${KEYS}, paid ${PAID}, ${BUYERS} connections, phases ${PHASES.join(',')}`);
    let per = NaN, flood = NaN, paid = { startup: NaN, rss: NaN };
    if (PHASES.includes('a')) per = await abandoned();
    if (PHASES.includes('b')) flood = await keyFlood();
    if (PHASES.includes('c')) paid = await paidAtStart();
    const f = (x, d) => (Number.isFinite(x) ? x.toFixed(d) : 'nan');
    console.log(`rss_per_abandoned_order_b=${f(per, 0)} key_flood_rss_mb=${f(flood, 1)} key_cap=${KEY_CAP} ` +
        `startup_1m_paid_s=${f(paid.startup, 2)} rss_1m_paid_mb=${f(paid.rss, 1)}`);
}

main().catch((e) => {
    console.error(`bench-memory: ${e.stack || e}`);
    process.exit(1);
});
