// load.mjs - many concurrent HTTP clients fighting over the seats of one
// event (explicit seats, best available and GA mixed, with releases), and
// a ledger of what the server acknowledged, with the client-side times
// that bound when each hold was surely live. The checks below turn the
// ledger, the API and the SQLite file into exact verdicts.

import assert from 'node:assert/strict';
import http from 'node:http';
import { holdKey, sleep } from './server.mjs';
import { assertCountsAddUp } from './api.mjs';
import { readEventFile, replay } from './storefile.mjs';

const STATE = ['available', 'held', 'sold', 'blocked'];

/** A tiny deterministic PRNG (mulberry32), so a failing run can be replayed
 * with BOXOFFICE_LOAD_SEED. */
export function rng(seed) {
    let a = seed >>> 0;
    return () => {
        a = (a + 0x6d2b79f5) >>> 0;
        let t = a;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}

/** One JSON request on agent from client address from (X-Forwarded-For,
 * which the server believes from loopback; null: none); resolves {status,
 * body} or rejects on a network error. */
function call(agent, port, method, path, body, from = null, timeoutMs = 30000) {
    return new Promise((resolve, reject) => {
        const data = body === undefined ? null : Buffer.from(JSON.stringify(body));
        const headers = data ? { 'content-type': 'application/json', 'content-length': data.length } : {};
        if (from) headers['x-forwarded-for'] = from;
        const req = http.request(
            {
                host: '127.0.0.1', port, method, path, agent, headers,
            },
            (res) => {
                const chunks = [];
                res.on('data', (c) => chunks.push(c));
                res.on('end', () => {
                    const text = Buffer.concat(chunks).toString('utf8');
                    let parsed = null;
                    try {
                        parsed = text ? JSON.parse(text) : null;
                    } catch {
                        parsed = undefined;
                    }
                    resolve({ status: res.statusCode, body: parsed, text });
                });
                res.on('error', reject);
            },
        );
        req.setTimeout(timeoutMs, () => req.destroy(new Error(`timeout after ${timeoutMs} ms: ${method} ${path}`)));
        req.on('error', reject);
        if (data) req.write(data);
        req.end();
    });
}

/** The shared record of a load run (one per test; rounds add to it). */
export function newLedger() {
    return {
        holds: new Map(), // hold id -> {id, seats, ga, expires_at, ackAt, relSentAt, relAckAt, relStatus}
        inDoubtHolds: [], // hold requests sent and never answered (the server died)
        inDoubtReleases: new Set(), // hold ids whose DELETE was never answered
        statuses: {}, // "POST 201", "POST 409 SOLD_OUT", …
        unexpected: [], // answers outside the expected set
        networkErrors: 0,
        requests: 0,
        polls: 0,
        pollProblems: [],
    };
}

/**
 * Run `clients` clients against ev for durationMs (or until stop() is
 * called, or, with stopOnNetworkError, until the server is gone). Each
 * client has its own keep-alive connection and keeps at most 3 holds,
 * releasing one now and then, from a client address of its own. A client
 * holds at machine speed, far past a buyer's holds_per_min: the server
 * runs with LOAD_LIMITS (that bucket off, the per-address caps on).
 * pollers clients read availability and check that each answer is
 * consistent in itself.
 */
export const LOAD_LIMITS = ['--limits', 'holds_per_min=0'];
export async function runLoad({ srv, ev, ledger, clients = 200, durationMs = 10000, seed = 1, stopOnNetworkError = false, pollers = 2 }) {
    const rand = rng(seed);
    const port = srv.port;
    const rows = [];
    for (const s of ev.map.sections) for (const r of s.rows) rows.push(r.seats.map((x) => x.id));
    const cats = [...new Set(ev.map.sections.flatMap((s) => s.rows.flatMap((r) => r.seats.map((x) => x.category))))];
    const sections = ev.map.sections.map((s) => s.id);
    const areas = ev.map.ga_areas.map((g) => g.id);
    const deadline = performance.now() + durationMs;
    let stopped = false;
    const alive = () => !stopped && performance.now() < deadline;
    const note = (key) => {
        ledger.statuses[key] = (ledger.statuses[key] || 0) + 1;
    };

    const client = async (n) => {
        const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
        const r = rng(seed * 1000 + n);
        const email = `load-${seed}-${n}@example.test`;
        // each client is a buyer at an address of its own (a client holds at
        // most 3 holds of at most 4 places: under the per-address caps)
        const from = `10.77.${(n >> 8) & 255}.${n & 255}`;
        const mine = [];
        try {
            while (alive()) {
                if (mine.length >= 3 || (mine.length > 0 && r() < 0.2)) {
                    const h = mine.splice(Math.floor(r() * mine.length), 1)[0];
                    h.relSentAt = performance.now();
                    ledger.requests++;
                    let res;
                    try {
                        res = await call(agent, port, 'DELETE', `/api/v1/holds/${h.id}`, undefined, from);
                    } catch (e) {
                        ledger.networkErrors++;
                        if (e.code === 'ECONNREFUSED') h.relSentAt = null; // never reached a server: still live
                        else ledger.inDoubtReleases.add(h.id);
                        if (stopOnNetworkError) return;
                        throw e;
                    }
                    h.relAckAt = performance.now();
                    h.relStatus = res.status;
                    note(`DELETE ${res.status}`);
                    if (res.status !== 204) ledger.unexpected.push(`DELETE ${h.id}: ${res.status} ${res.text}`);
                    continue;
                }
                const k = r();
                let body;
                if (k < 0.45) {
                    const row = rows[Math.floor(r() * rows.length)];
                    const q = 1 + Math.floor(r() * 4);
                    const start = Math.floor(r() * (row.length - q + 1));
                    body = { seats: row.slice(start, start + q) };
                } else if (k < 0.75) {
                    const ba = { quantity: 1 + Math.floor(r() * 4) };
                    const f = r();
                    if (f < 0.3) ba.category = cats[Math.floor(r() * cats.length)];
                    else if (f < 0.6) ba.section = sections[Math.floor(r() * sections.length)];
                    body = { best_available: ba };
                } else {
                    body = { ga: { area: areas[Math.floor(r() * areas.length)], quantity: 1 + Math.floor(r() * 4) } };
                }
                body.customer = { email };
                const sentAt = performance.now();
                ledger.requests++;
                let res;
                try {
                    res = await call(agent, port, 'POST', `/api/v1/events/${ev.event.id}/holds`, body, from);
                } catch (e) {
                    ledger.networkErrors++;
                    if (e.code !== 'ECONNREFUSED') ledger.inDoubtHolds.push({ body, sentAt, error: e.code || e.message });
                    if (stopOnNetworkError) return;
                    throw e;
                }
                const ackAt = performance.now();
                if (res.status === 201) {
                    note('POST 201');
                    const hb = res.body.hold;
                    const h = { id: hb.id, seats: hb.seats, ga: hb.ga, expires_at: hb.expires_at, body, sentAt, ackAt, relSentAt: null, relAckAt: null, relStatus: null };
                    if (ledger.holds.has(h.id)) ledger.unexpected.push(`hold id ${h.id} answered twice`);
                    ledger.holds.set(h.id, h);
                    mine.push(h);
                } else {
                    const code = res.body && res.body.error ? res.body.error.code : '?';
                    note(`POST ${res.status} ${code}`);
                    const expected = res.status === 409 && ((code === 'SEATS_UNAVAILABLE' && (body.seats || body.ga)) || (code === 'SOLD_OUT' && body.best_available));
                    if (!expected) ledger.unexpected.push(`POST ${JSON.stringify(body)}: ${res.status} ${res.text.slice(0, 200)}`);
                }
            }
        } finally {
            agent.destroy();
        }
    };

    const poller = async (n) => {
        const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
        try {
            while (alive()) {
                let res;
                try {
                    res = await call(agent, port, 'GET', `/api/v1/events/${ev.event.id}/availability`);
                } catch (e) {
                    if (stopOnNetworkError) return;
                    throw e;
                }
                ledger.polls++;
                if (res.status !== 200) {
                    ledger.pollProblems.push(`availability: ${res.status} ${res.text.slice(0, 200)}`);
                    continue;
                }
                const b = res.body;
                const st = Buffer.from(b.seats, 'base64');
                const by = [0, 0, 0, 0];
                for (const x of st) by[x]++;
                const c = b.counts;
                if (c.available + c.held + c.sold + c.blocked !== c.total) ledger.pollProblems.push(`counts do not add up: ${JSON.stringify(c)}`);
                if (st.length !== c.total || by[0] !== c.available || by[1] !== c.held || by[2] !== c.sold || by[3] !== c.blocked)
                    ledger.pollProblems.push(`v${b.version}: bytes ${by} vs counts ${JSON.stringify(c)}`);
                for (const g of b.ga) {
                    const cap = ev.map.ga_areas.find((a) => a.id === g.id).capacity;
                    if (g.available < 0 || g.available > cap) ledger.pollProblems.push(`GA ${g.id} available ${g.available} of ${cap}`);
                }
                await sleep(20 + n);
            }
        } finally {
            agent.destroy();
        }
    };

    const tasks = [];
    for (let i = 0; i < clients; i++) tasks.push(client(i));
    for (let i = 0; i < pollers; i++) tasks.push(poller(i));
    const all = Promise.all(tasks);
    return {
        done: all,
        stop: () => {
            stopped = true;
        },
        startedAt: performance.now(),
    };
}

/**
 * From the ledger alone: no seat was in two holds that were surely live at
 * the same moment (from the 201's arrival until the DELETE was sent), and
 * no GA area had more surely-live tickets than its capacity. Returns the
 * list of violations.
 */
export function ledgerViolations(ledger, ev) {
    const out = [];
    const bySeat = new Map();
    const gaEvents = new Map();
    for (const h of ledger.holds.values()) {
        const end = h.relSentAt === null ? Infinity : h.relSentAt;
        for (const s of h.seats) {
            if (!bySeat.has(s)) bySeat.set(s, []);
            bySeat.get(s).push([h.ackAt, end, h.id]);
        }
        for (const g of h.ga) {
            if (!gaEvents.has(g.area)) gaEvents.set(g.area, []);
            gaEvents.get(g.area).push([h.ackAt, g.quantity], [end, -g.quantity]);
        }
    }
    for (const [seat, iv] of bySeat) {
        iv.sort((a, b) => a[0] - b[0]);
        let maxEnd = -Infinity;
        let who = null;
        for (const [start, end, id] of iv) {
            if (start < maxEnd) out.push(`seat ${seat}: held by ${who} and ${id} at once`);
            if (end > maxEnd) {
                maxEnd = end;
                who = id;
            }
        }
    }
    for (const [area, evs] of gaEvents) {
        const cap = ev.map.ga_areas.find((a) => a.id === area).capacity;
        evs.sort((a, b) => a[0] - b[0] || a[1] - b[1]); // releases first at equal times
        let sum = 0;
        for (const [, d] of evs) {
            sum += d;
            if (sum > cap) {
                out.push(`GA ${area}: ${sum} tickets surely held at once, capacity ${cap}`);
                break;
            }
        }
    }
    return out;
}

/** Holds the ledger knows to be live: answered 201, never asked to be
 * released (with release in doubt: includeDoubt decides). */
export function liveHolds(ledger, { includeDoubt = false } = {}) {
    return [...ledger.holds.values()].filter((h) => h.relSentAt === null || (includeDoubt && ledger.inDoubtReleases.has(h.id)));
}

/** The API's view: availability (list form and bytes, which must agree),
 * with seat -> state. */
export async function apiState(srv, ev) {
    const list = await srv.get(`/api/v1/events/${ev.event.id}/availability?format=list`);
    assert.equal(list.status, 200, list.text);
    const bytes = await srv.get(`/api/v1/events/${ev.event.id}/availability`);
    assert.equal(bytes.status, 200, bytes.text);
    const state = new Map(list.body.seats.map((s) => [s.id, s.state]));
    assert.deepEqual(list.body.seats.map((s) => s.id), ev.seats, 'list form: every seat in layout order');
    if (bytes.body.version === list.body.version) {
        const st = Buffer.from(bytes.body.seats, 'base64');
        assert.deepEqual([...st].map((x) => STATE[x]), list.body.seats.map((s) => s.state), 'bytes and list agree');
    }
    assertCountsAddUp(bytes.body.counts, 'availability counts');
    return { state, version: list.body.version, counts: bytes.body.counts, ga: list.body.ga, gaBytes: bytes.body.ga };
}

/**
 * Read the file (the server may run: WAL readers are fine) and replay it;
 * assert it is legal throughout; returns the replay.
 */
export async function fileReplay(srv, ev, { nowMs = Date.now() } = {}) {
    const file = await readEventFile(srv, ev.event.id);
    assert.equal(file.eventRows, 1, 'the event is in the events table');
    const capacity = ev.map.ga_areas.map((g) => g.capacity);
    assert.deepEqual(file.ga.map((g) => [g.area, g.capacity]), capacity.map((c, i) => [i, c]), 'ga table: one row per area with its capacity');
    for (const g of file.ga) assert.ok(g.sold >= 0 && g.sold <= g.capacity, `ga table: sold ${g.sold} within ${g.capacity}`);
    assert.equal(new Set(file.sold).size, file.sold.length, 'sold table: no seat twice');
    for (const s of file.sold) assert.ok(s >= 0 && s < ev.seats.length, `sold seat index ${s} in range`);
    const rep = replay(file, { nseats: ev.seats.length, capacity, nowMs });
    assert.deepEqual(rep.violations.slice(0, 20), [], `the log replays legally (${rep.violations.length} violations)`);
    return { file, rep };
}

/** Assert the API's state equals the replayed file's: held seats, blocked
 * seats, GA availability. */
export function assertApiEqualsFile(api, rep, ev) {
    const heldFile = new Set([...rep.owner.keys()].map((i) => ev.seats[i]));
    const blockedFile = new Set([...rep.blocked].map((i) => ev.seats[i]));
    const heldApi = new Set([...api.state].filter(([, s]) => s === 'held').map(([id]) => id));
    const blockedApi = new Set([...api.state].filter(([, s]) => s === 'blocked').map(([id]) => id));
    assert.deepEqual([...heldApi].sort(), [...heldFile].sort(), 'held seats: API = file');
    assert.deepEqual([...blockedApi].sort(), [...blockedFile].sort(), 'blocked seats: API = file');
    const gaApi = api.ga.map((g) => [g.id, g.available]);
    const gaFile = ev.map.ga_areas.map((g, i) => [g.id, g.capacity - rep.gaHeld[i]]);
    assert.deepEqual(gaApi, gaFile, 'GA available: API = file');
}

export { holdKey };
