// checkout.mjs - `make bench-checkout`: whole purchase flows per second on
// loopback, against a real `boxoffice serve` paying through a real paysim
// (zero latency), with a baseline measured in the same run:
//   1. baseline: C buyers loop hold (2 seats) -> DELETE the hold;
//   2. checkout: C buyers loop hold (2 seats) -> checkout -> confirm with
//      pm_card_visa; a sold-out event is followed by a fresh one (made in
//      the background once the first is half sold).
// Each phase: WARMUP seconds, then DURATION measured. Seats come from a
// `boxoffice venue-gen` venue (40,000 seats), dealt as adjacent pairs in a
// random order, one pair and one customer per flow, so every hold asks for
// free seats. A flow counts when its steps answered 201/201/200 (baseline
// 201/204) and it ended inside the window; anything else is an error,
// listed by step and status. Latencies are client-side (request written ->
// answer read). CPU seconds of the server, paysim and this client during
// each window come from /proc/<pid>/stat and process.cpuUsage(), machine
// busy % from /proc/stat (other users of the machine included).
//
// The client: one keep-alive HTTP/1.1 connection per buyer (bench/conn.mjs),
// answers framed by Content-Length, ids taken by a regular expression. On
// 2 cores every client cycle is taken from the server, so it has to be
// cheap: ~18 us of CPU a request, where node:http costs ~58 us and fetch
// (undici) ~340 us (64 connections, GET /healthz, measured here).
//
// Last lines: per-step p50/p99, the baseline, then exactly
//   checkout_flows_per_s=<n> checkout_p99_ms=<x>
// Knobs: BOXOFFICE_BENCH_SECONDS (10), BOXOFFICE_BENCH_CONNECTIONS (64),
// BOXOFFICE_BENCH_WARMUP_SECONDS (1), BOXOFFICE_BENCH_THREADS (the
// server's --threads; default one per core), BOXOFFICE_BENCH_SECTIONS (40
// sections of 20 rows of 50 seats), BOXOFFICE_BENCH_PHASES
// (baseline,checkout), BOXOFFICE_BENCH_WEBHOOKS (0; 1: paysim also POSTs
// its webhooks to the server, but one at a time, so under this load most
// queue or are dropped and the server handles only a fraction of them),
// BOXOFFICE_BIN and PAYSIM_BIN (the binaries; make passes its build).

import { readdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { Conn } from './conn.mjs';
import { num } from './knobs.mjs';
import { machineTicks, procCpuS } from './procstat.mjs';
import { startShop } from '../tests/system/lib/shop.mjs';
import { seatOrder, venueGen } from '../tests/system/lib/server.mjs';

const DURATION_S = num('BOXOFFICE_BENCH_SECONDS', 10);
const BUYERS = Math.floor(num('BOXOFFICE_BENCH_CONNECTIONS', 64));
const WARMUP_S = process.env.BOXOFFICE_BENCH_WARMUP_SECONDS === '0' ? 0 : num('BOXOFFICE_BENCH_WARMUP_SECONDS', 1);
const THREADS = process.env.BOXOFFICE_BENCH_THREADS ? Math.floor(num('BOXOFFICE_BENCH_THREADS', 2)) : undefined;
const GEN = { sections: Math.floor(num('BOXOFFICE_BENCH_SECTIONS', 40)), rows: 20, seats: 50, ga: 0, categories: 4 };
const PHASES = (process.env.BOXOFFICE_BENCH_PHASES || 'baseline,checkout').split(',');
const WEBHOOKS = process.env.BOXOFFICE_BENCH_WEBHOOKS === '1';

/* ---- events and seats ------------------------------------------------------ */

/** Adjacent seat pairs of a seat map (seats 1+2, 3+4, … of every row), in a
 * random order. */
function pairsOf(map) {
    const pairs = [];
    for (const s of map.sections)
        for (const r of s.rows)
            for (let i = 0; i + 1 < r.seats.length; i += 2) pairs.push(JSON.stringify([r.seats[i].id, r.seats[i + 1].id]));
    for (let i = pairs.length - 1; i > 0; i--) {
        const j = Math.floor(Math.random() * (i + 1));
        [pairs[i], pairs[j]] = [pairs[j], pairs[i]];
    }
    return pairs;
}

/** Seat pairs dealt one per flow. recycle: the same event forever (its
 * pairs come back, as in the baseline; a pair is dealt again only after
 * every other one was); else a fresh event once the last pair is dealt. */
class Stock {
    constructor(srv, venueId, prices, pairs, recycle) {
        Object.assign(this, { srv, venueId, prices, pairs, recycle });
        this.next = 0;
        this.events = 0;
    }

    async newEvent() {
        const starts = new Date(Date.now() + 30 * 86400e3).toISOString().replace(/\.\d+Z$/, 'Z');
        const res = await this.srv.post(
            '/api/v1/events',
            { venue_id: this.venueId, name: 'Bench', starts_at: starts, currency: 'EUR', prices: this.prices },
            { admin: true, timeoutMs: 60000 },
        );
        if (res.status !== 201) throw new Error(`POST /api/v1/events: ${res.status} ${res.text.slice(0, 300)}`);
        this.events++;
        return res.body.event.id;
    }

    async start() {
        this.event = await this.newEvent();
        this.holdPath = `/api/v1/events/${this.event}/holds`;
        this.spare = null;
    }

    /** {path, seats} of the next flow's hold. */
    async take() {
        if (this.next === this.pairs.length) {
            if (this.recycle) {
                this.next = 0;
            } else {
                if (!this.spare) this.spare = this.newEvent();
                const spare = this.spare;
                const event = await spare;
                if (this.spare === spare) { // the first buyer here switches
                    this.event = event;
                    this.holdPath = `/api/v1/events/${event}/holds`;
                    this.spare = null;
                    this.next = 0;
                    this.soldOut = (this.soldOut || 0) + 1;
                }
                return this.take();
            }
        }
        if (!this.recycle && !this.spare && this.next === this.pairs.length >> 1) this.spare = this.newEvent();
        return { path: this.holdPath, seats: this.pairs[this.next++] };
    }
}

/* ---- measurement ----------------------------------------------------------- */

/** Context switches of every thread of pid (voluntary, involuntary). */
function ctxSwitches(pid) {
    let n = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
        try {
            const m = /voluntary_ctxt_switches:\s*(\d+)\s*\nnonvoluntary_ctxt_switches:\s*(\d+)/.exec(
                readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8'));
            if (m) n += Number(m[1]) + Number(m[2]);
        } catch {
            /* the thread ended */
        }
    }
    return n;
}

function sample(shop) {
    const c = process.cpuUsage();
    return {
        at: performance.now(),
        server: procCpuS(shop.srv.pid),
        paysim: procCpuS(shop.sim.pid),
        client: (c.user + c.system) / 1e6,
        serverCsw: ctxSwitches(shop.srv.pid),
        machine: machineTicks(),
        load: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' '),
    };
}

/** Counters of the server's /metrics: request counts by route and status,
 * store commits and records. */
async function serverCounters(srv) {
    const res = await srv.get('/metrics');
    const out = { routes: new Map(), commits: 0, records: 0, commitS: 0 };
    for (const line of res.text.split('\n')) {
        let m = /^boxoffice_http_requests_total\{(.*)\} (\S+)$/.exec(line);
        if (m) {
            const route = /route="([^"]*)"/.exec(m[1]);
            const method = /method="([^"]*)"/.exec(m[1]);
            const status = /status="([^"]*)"/.exec(m[1]);
            const key = `${method ? method[1] + ' ' : ''}${route ? route[1] : m[1]} ${status ? status[1] : ''}`.trim();
            out.routes.set(key, (out.routes.get(key) || 0) + Number(m[2]));
            continue;
        }
        if ((m = /^boxoffice_store_commits_total (\S+)$/.exec(line))) out.commits = Number(m[1]);
        if ((m = /^boxoffice_store_records_total (\S+)$/.exec(line))) out.records = Number(m[1]);
        if ((m = /^boxoffice_store_commit_seconds_sum (\S+)$/.exec(line))) out.commitS = Number(m[1]);
    }
    return out;
}

function pct(sorted, p) {
    if (!sorted.length) return NaN;
    return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

const ms = (x) => (Number.isFinite(x) ? x.toFixed(2) : 'nan');

/* ---- the flows ------------------------------------------------------------- */

let customerSeq = 0;
const email = (buyer) => `b${buyer}-${++customerSeq}@example.test`;

const HOLD_ID = /"id":"(hold_[0-9a-f]+)"/;
const ORDER_ID = /"id":"(ord_[0-9a-f]+)"/;
const ORDER_SECRET = /"secret":"([0-9a-f]{32})"/;
// every flow is a buyer of its own: its own client address for its hold,
// checkout and confirm (holds, checkouts and card attempts are limited per
// address, and seats held per address capped; the server trusts
// X-Forwarded-For from loopback)
let flowSeq = 0;
const buyerAddress = () => {
    const n = ++flowSeq;
    return `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
};

/** One flow's steps: [name, expected status, fn(conn, ctx) -> answer]. */
const from = (x) => `X-Forwarded-For: ${x.addr}\r\n`;
const holdStep = ['hold', 201, (c, x) => {
    x.addr = buyerAddress(); // the flow's first step: a new buyer
    return c.request('POST', x.path, `{"seats":${x.seats},"customer":{"email":"${email(x.buyer)}"}}`, from(x));
}];
const FLOWS = {
    baseline: [
        holdStep,
        ['release', 204, (c, x) => c.request('DELETE', `/api/v1/holds/${x.hold}`, undefined, from(x))],
    ],
    checkout: [
        holdStep,
        ['checkout', 201, (c, x) => c.request('POST', `/api/v1/holds/${x.hold}/checkout`,
            `{"customer":{"email":"${email(x.buyer)}","name":"Bench Buyer"}}`, from(x))],
        ['confirm', 200, (c, x) => c.request('POST', `/api/v1/orders/${x.order}/confirm`,
            `{"payment_method":"pm_card_visa","secret":"${x.secret}"}`, from(x))],
    ],
};

/** What a step's answer hands to the next step. */
function carry(step, res, x) {
    if (step === 'hold') {
        const m = HOLD_ID.exec(res.body);
        if (!m) throw new Error(`hold answer without an id: ${res.body.slice(0, 200)}`);
        x.hold = m[1];
    } else if (step === 'checkout') {
        const m = ORDER_ID.exec(res.body), k = ORDER_SECRET.exec(res.body);
        if (!m || !k) throw new Error(`checkout answer without an order id and secret: ${res.body.slice(0, 200)}`);
        x.order = m[1];
        x.secret = k[1];
    }
}

/** Run one phase: BUYERS buyers, WARMUP_S then DURATION_S measured. */
async function runPhase(name, shop, stock) {
    const steps = FLOWS[name];
    const { port } = shop.srv;
    const st = {
        flows: 0,
        flowMs: [],
        stepMs: Object.fromEntries(steps.map(([s]) => [s, []])),
        errors: new Map(),
        errorSamples: [],
    };
    let measuring = false;
    let stopping = false;
    const noteError = (what, detail) => {
        st.errors.set(what, (st.errors.get(what) || 0) + 1);
        if (st.errorSamples.length < 5) st.errorSamples.push(`${what}: ${detail}`);
    };

    async function buyer(id) {
        const conn = new Conn('127.0.0.1', port);
        while (!stopping) {
            const x = { buyer: id, ...(await stock.take()) };
            const t0 = performance.now();
            const times = [];
            let ok = true;
            for (const [step, want, fn] of steps) {
                let res;
                try {
                    res = await fn(conn, x);
                } catch (e) {
                    noteError(`${step} network`, e.message);
                    ok = false;
                    break;
                }
                if (res.status !== want) {
                    const code = /"code":"([A-Z_]+)"/.exec(res.body);
                    noteError(`${step} ${res.status}${code ? ' ' + code[1] : ''}`, res.body.slice(0, 300));
                    ok = false;
                    break;
                }
                try {
                    carry(step, res, x);
                } catch (e) {
                    noteError(`${step} answer`, e.message);
                    ok = false;
                    break;
                }
                times.push(res.ms);
            }
            if (!ok) {
                if (!conn.sock) await new Promise((r) => setTimeout(r, 10)); // no busy loop on a dead server
                continue;
            }
            if (!measuring) continue; // warm-up, or done while the window closed
            st.flows++;
            st.flowMs.push(performance.now() - t0);
            steps.forEach(([s], i) => st.stepMs[s].push(times[i]));
        }
        conn.close();
    }

    const metrics0 = await serverCounters(shop.srv);
    const hooks0 = (await shop.sim.stats()).webhooks;
    const buyers = Array.from({ length: BUYERS }, (_, i) => buyer(i));
    await new Promise((r) => setTimeout(r, WARMUP_S * 1000));
    const before = sample(shop);
    const errorsBefore = new Map(st.errors);
    measuring = true;
    await new Promise((r) => setTimeout(r, DURATION_S * 1000));
    const after = sample(shop);
    measuring = false;
    stopping = true;
    const errorsWarmup = [...errorsBefore.values()].reduce((a, b) => a + b, 0);
    await Promise.all(buyers);
    const metrics1 = await serverCounters(shop.srv);
    const hooks1 = (await shop.sim.stats()).webhooks;

    const windowS = (after.at - before.at) / 1000;
    st.flowMs.sort((a, b) => a - b);
    for (const s of Object.keys(st.stepMs)) st.stepMs[s].sort((a, b) => a - b);
    const cpu = {
        server: after.server - before.server,
        paysim: after.paysim - before.paysim,
        client: after.client - before.client,
    };
    const dt = after.machine.total - before.machine.total;
    const busyPct = dt > 0 ? (100 * (dt - (after.machine.idle - before.machine.idle))) / dt : NaN;
    const errors = [...st.errors.values()].reduce((a, b) => a + b, 0);

    // What the server did for the phase (warm-up and drain included).
    const routes = [];
    for (const [k, v] of metrics1.routes) {
        const d = v - (metrics0.routes.get(k) || 0);
        if (d > 0 && !/metrics/.test(k)) routes.push(`${k}: ${d}`);
    }
    const commits = metrics1.commits - metrics0.commits;
    const records = metrics1.records - metrics0.records;
    const commitMs = commits ? (1e3 * (metrics1.commitS - metrics0.commitS)) / commits : NaN;

    const rate = st.flows / windowS;
    console.log(`${name}: ${st.flows} flows in ${windowS.toFixed(2)} s = ${rate.toFixed(0)} flows/s, ` +
        `${errors} errors${errorsWarmup ? ` (${errorsWarmup} in the warm-up)` : ''}, ` +
        `flow p50 ${ms(pct(st.flowMs, 50))} ms p99 ${ms(pct(st.flowMs, 99))} ms max ${ms(st.flowMs.at(-1))} ms`);
    for (const [k, v] of st.errors) console.log(`  error: ${k} x${v}`);
    for (const e of st.errorSamples) console.log(`  e.g. ${e.slice(0, 400)}`);
    console.log(`  cpu during the window: server ${cpu.server.toFixed(2)} s, paysim ${cpu.paysim.toFixed(2)} s, ` +
        `client ${cpu.client.toFixed(2)} s (window ${windowS.toFixed(1)} s x ${cpus().length} cores); ` +
        `machine ${busyPct.toFixed(0)}% busy; load ${before.load} -> ${after.load}`);
    if (st.flows)
        console.log(`  per flow: server cpu ${((1e3 * cpu.server) / st.flows).toFixed(3)} ms, ` +
            `paysim cpu ${((1e3 * cpu.paysim) / st.flows).toFixed(3)} ms, client cpu ${((1e3 * cpu.client) / st.flows).toFixed(3)} ms, ` +
            `server context switches ${((after.serverCsw - before.serverCsw) / st.flows).toFixed(1)}`);
    console.log(`  server, whole phase: ${commits} commits, ${records} records (${commits ? (records / commits).toFixed(1) : 0} per commit, ` +
        `${ms(commitMs)} ms each); ` +
        `requests ${routes.join(', ')}`);
    const hd = (k) => (hooks1[k] || 0) - (hooks0[k] || 0);
    if (hd('emitted'))
        console.log(`  paysim webhooks, whole phase: ${hd('emitted')} emitted, ${hd('delivered')} delivered, ` +
            `${hd('dropped')} dropped, ${hooks1.pending} still queued at the end (one delivery at a time)`);
    if (stock.soldOut) console.log(`  ${stock.soldOut} event(s) sold out, continued on a fresh one`);
    const kv = [];
    kv.push(`${name}_errors=${errors}`);
    kv.push(`${name}_cpu_server_s=${cpu.server.toFixed(2)} ${name}_cpu_paysim_s=${cpu.paysim.toFixed(2)} ${name}_cpu_client_s=${cpu.client.toFixed(2)} ` +
        `${name}_machine_busy_pct=${busyPct.toFixed(0)} ${name}_server_cpu_ms_per_flow=${st.flows ? ((1e3 * cpu.server) / st.flows).toFixed(3) : 'nan'}`);
    kv.push(steps.map(([s]) => `${name}_${s}_p50_ms=${ms(pct(st.stepMs[s], 50))} ${name}_${s}_p99_ms=${ms(pct(st.stepMs[s], 99))}`).join(' '));
    return { rate, p99: pct(st.flowMs, 99), kv };
}

/* ---- main ------------------------------------------------------------------ */

async function main() {
    for (const phase of PHASES) if (!FLOWS[phase]) throw new Error(`BOXOFFICE_BENCH_PHASES: unknown phase ${phase}`);
    const shop = await startShop({
        server: { threads: THREADS, accessLog: 'off' },
        paysim: { args: ['--access-log', 'off'] },
    });
    try {
        await shop.sim.config({ latency_ms: 0, ...(WEBHOOKS ? {} : { webhook_url: '' }) });
        const map = await venueGen(GEN);
        const res = await shop.srv.post('/api/v1/venues', { ...map, city: 'Benchville' }, { admin: true, timeoutMs: 60000 });
        if (res.status !== 201) throw new Error(`POST /api/v1/venues: ${res.status} ${res.text.slice(0, 300)}`);
        const prices = {};
        map.categories.forEach((c, i) => (prices[c.key] = 9000 - 2000 * i));
        const nseats = seatOrder(map).length;
        console.log(`bench-checkout: server ${shop.srv.url} (pid ${shop.srv.pid}${THREADS ? `, --threads ${THREADS}` : ''}), ` +
            `paysim ${shop.sim.url} (pid ${shop.sim.pid}, latency 0 ms, webhooks ${WEBHOOKS ? 'on' : 'off'}), ${BUYERS} buyers, ` +
            `${WARMUP_S} s warm-up + ${DURATION_S} s per phase, events of ${nseats} seats; load ${readFileSync('/proc/loadavg', 'utf8').trim()}`);
        const out = {};
        for (const phase of PHASES) {
            const stock = new Stock(shop.srv, res.body.venue.id, prices, pairsOf(map), phase === 'baseline');
            await stock.start();
            out[phase] = await runPhase(phase, shop, stock);
        }
        for (const phase of PHASES) for (const line of out[phase].kv) console.log(line);
        if (out.baseline)
            console.log(`baseline_hold_release_flows_per_s=${out.baseline.rate.toFixed(0)} baseline_p99_ms=${ms(out.baseline.p99)}`);
        if (out.checkout)
            console.log(`checkout_flows_per_s=${out.checkout.rate.toFixed(0)} checkout_p99_ms=${ms(out.checkout.p99)}`);
    } finally {
        const exit = await shop.stop();
        if (!exit || exit.code !== 0) console.error(`bench-checkout: the server exited with ${JSON.stringify(exit)}`);
    }
}

main().catch((e) => {
    console.error(`bench-checkout: ${e.stack || e}`);
    process.exit(1);
});
