// storefile.mjs - read an event's durable state straight from the SQLite
// file, bypassing the server: the `log` of engine mutations (decoded here
// from the record format of src/live/record.c: op byte, 16-byte hold id,
// LEB128 varints, zigzag for signed values, seat indices delta-coded), the
// `sold` and `ga` constraint tables, and the event's snapshot when the
// store took one (src/engine/snapshot.c: version byte, blocked seats, then
// every live hold). Replaying snapshot and log in a trivially
// simple model proves from the file alone that no seat was ever held by
// two live holds at once and no GA area went past its capacity.

import { internalId, sqliteQuery } from './server.mjs';

export const OP = { HOLD: 1, RELEASE: 2, PAY_START: 3, PAY_FAILED: 4, CONFIRM: 5, CANCEL: 6, BLOCK: 7, UNBLOCK: 8 };
// A hold with its client key (the caps' key) after its customer; op HOLD
// records, written before the caps, have none.
const HOLD_CLIENT = 0x81;
const OP_NAME = Object.fromEntries(Object.entries(OP).map(([k, v]) => [v, k]));

class Reader {
    constructor(buf) {
        this.buf = buf;
        this.p = 0;
    }
    byte() {
        if (this.p >= this.buf.length) throw new Error('record ends early');
        return this.buf[this.p++];
    }
    bytes(n) {
        if (this.p + n > this.buf.length) throw new Error('record ends early');
        const b = this.buf.subarray(this.p, this.p + n);
        this.p += n;
        return b;
    }
    uv() {
        let v = 0n;
        for (let shift = 0n; shift < 70n; shift += 7n) {
            const b = this.byte();
            v |= BigInt(b & 0x7f) << shift;
            if (!(b & 0x80)) return v;
        }
        throw new Error('varint too long');
    }
    sv() {
        const u = this.uv();
        return (u >> 1n) ^ -(u & 1n);
    }
}

/** Decode one log record body (a Buffer) into {op, id, customer, client,
 * amount_cents, expires_at_ms, deadline_ms, seats, ga}. Throws on a
 * malformed record. */
export function decodeMutation(buf) {
    const r = new Reader(buf);
    const byte = r.byte();
    const withClient = byte === HOLD_CLIENT;
    const op = withClient ? OP.HOLD : byte;
    if (op < OP.HOLD || op > OP.UNBLOCK) throw new Error(`unknown op ${op}`);
    const m = { op, name: OP_NAME[op], seats: [], ga: [] };
    if (op !== OP.BLOCK && op !== OP.UNBLOCK) m.id = Buffer.from(r.bytes(16)).toString('hex');
    const sale = op === OP.HOLD || op === OP.CONFIRM;
    if (sale) {
        m.customer = r.uv();
        m.amount_cents = Number(r.sv());
    }
    if (op === OP.HOLD) m.client = withClient ? r.uv() : 0n;
    if (op === OP.HOLD) m.expires_at_ms = Number(r.sv());
    if (op === OP.PAY_START) m.deadline_ms = Number(r.sv());
    if (sale || op === OP.BLOCK || op === OP.UNBLOCK) {
        const n = Number(r.uv());
        let prev = 0;
        for (let i = 0; i < n; i++) {
            prev += Number(r.sv());
            m.seats.push(prev);
        }
    }
    if (sale) {
        const n = Number(r.uv());
        for (let i = 0; i < n; i++) m.ga.push({ area: Number(r.uv()), quantity: Number(r.uv()) });
    }
    if (r.p !== buf.length) throw new Error(`${buf.length - r.p} trailing bytes`);
    return m;
}

const HOLD_STATUS = { 1: 'held', 2: 'paying', 3: 'sold' };

/** Decode a snapshot body (a Buffer): {blocked: [seat], holds: [{status,
 * id, customer, client (version 2), created_ms, expires_at_ms, pay_deadline_ms, amount_cents,
 * pay_failures, seats, ga}]}. Throws on a malformed snapshot. */
export function decodeSnapshot(buf) {
    const r = new Reader(buf);
    const version = r.byte();
    if (version !== 1 && version !== 2) throw new Error(`snapshot version ${version}`);
    const seats = () => {
        const n = Number(r.uv());
        const out = [];
        let prev = 0;
        for (let i = 0; i < n; i++) {
            prev += Number(r.sv());
            out.push(prev);
        }
        return out;
    };
    const blocked = seats();
    const nholds = Number(r.uv());
    const holds = [];
    for (let i = 0; i < nholds; i++) {
        const status = r.byte();
        if (!HOLD_STATUS[status]) throw new Error(`snapshot hold status ${status}`);
        const h = { status: HOLD_STATUS[status], id: Buffer.from(r.bytes(16)).toString('hex') };
        h.customer = r.uv();
        h.client = version >= 2 ? r.uv() : 0n;
        h.created_ms = Number(r.sv());
        h.expires_at_ms = Number(r.sv());
        h.pay_deadline_ms = Number(r.sv());
        h.amount_cents = Number(r.sv());
        h.pay_failures = Number(r.uv());
        h.seats = seats();
        h.ga = [];
        const nga = Number(r.uv());
        for (let j = 0; j < nga; j++) h.ga.push({ area: Number(r.uv()), quantity: Number(r.uv()) });
        holds.push(h);
    }
    if (r.p !== buf.length) throw new Error(`snapshot: ${buf.length - r.p} trailing bytes`);
    return { blocked, holds };
}

/** Everything the store holds about one event ("evt_…"): store is the
 * SQLite file's path, or a Server (its sql(): SQLite or PostgreSQL). */
export async function readEventFile(store, eventId) {
    const ev = internalId(eventId).toString();
    const q = typeof store === 'string' ? (sql) => sqliteQuery(store, sql) : (sql) => store.sql(sql);
    const hex = typeof store !== 'string' && store.dbUrl ? "upper(encode(body, 'hex'))" : 'hex(body)';
    const [log, snaps, ga, sold, events] = await Promise.all([
        q(`SELECT seq, at_ms, ${hex} AS body FROM log WHERE event = ${ev} ORDER BY seq`),
        q(`SELECT seq, at_ms, ${hex} AS body FROM snapshots WHERE event = ${ev}`),
        q(`SELECT area, capacity, sold FROM ga WHERE event = ${ev} ORDER BY area`),
        q(`SELECT seat FROM sold WHERE event = ${ev} ORDER BY seat`),
        q(`SELECT CAST(venue AS TEXT) AS venue FROM events WHERE id = ${ev}`),
    ]);
    return {
        log: log.map((row) => ({ seq: row.seq, at_ms: row.at_ms, mut: decodeMutation(Buffer.from(row.body, 'hex')) })),
        snapshot: snaps.length ? { seq: snaps[0].seq, at_ms: snaps[0].at_ms, ...decodeSnapshot(Buffer.from(snaps[0].body, 'hex')) } : null,
        ga,
        sold: sold.map((r) => r.seat),
        eventRows: events.length,
    };
}

/**
 * Replay an event's log in a plain model: holds by id with their seats, GA
 * lines and expiry; blocked seats. Expired holds are dropped before each
 * record at its logged time, as the engine does (expires_at <= now).
 * Every record must be legal where it stands: a hold only of free seats
 * and within GA capacity, a release only of a live hold, a block only of
 * seats not held. Returns {holds: Map idHex -> hold, blocked: Set,
 * violations: [strings], counts: {HOLD: n, …}, seqs}; nowMs drops the holds
 * expired by then at the end.
 */
export function replay(file, { nseats, capacity, nowMs }) {
    const holds = new Map();
    const owner = new Map(); // seat index -> hold id
    const blocked = new Set();
    const gaHeld = capacity.map(() => 0);
    const violations = [];
    const counts = {};
    const expire = (now) => {
        for (const [id, h] of holds) {
            if (h.expires_at_ms <= now) drop(id);
        }
    };
    const drop = (id) => {
        const h = holds.get(id);
        for (const s of h.seats) owner.delete(s);
        for (const g of h.ga) gaHeld[g.area] -= g.quantity;
        holds.delete(id);
    };
    let expectSeq = 1;
    if (file.snapshot) {
        // The starting state: legal in itself, and the log goes on from it.
        const snap = file.snapshot;
        expectSeq = snap.seq + 1;
        for (const s of snap.blocked) blocked.add(s);
        for (const h of snap.holds) {
            const where = `snapshot hold ${h.id}`;
            if (h.status === 'sold') {
                violations.push(`${where}: sold (no checkout in these tests)`);
                continue;
            }
            for (const s of h.seats) {
                if (owner.has(s)) violations.push(`${where}: seat ${s} already held by ${owner.get(s)}`);
                if (blocked.has(s)) violations.push(`${where}: seat ${s} is blocked`);
                owner.set(s, h.id);
            }
            for (const g of h.ga) gaHeld[g.area] += g.quantity;
            holds.set(h.id, { id: h.id, seats: h.seats, ga: h.ga, expires_at_ms: h.expires_at_ms, at_ms: h.created_ms, seq: 0 });
        }
        gaHeld.forEach((n, i) => {
            if (n > capacity[i]) violations.push(`snapshot: GA area ${i} past capacity (${n} > ${capacity[i]})`);
        });
    }
    for (const { seq, at_ms, mut } of file.log) {
        if (seq !== expectSeq) violations.push(`seq ${seq}: expected ${expectSeq} (a gap or a repeat)`);
        expectSeq = seq + 1;
        counts[mut.name] = (counts[mut.name] || 0) + 1;
        expire(at_ms);
        const where = `seq ${seq} ${mut.name}`;
        for (const s of mut.seats) if (s < 0 || s >= nseats) violations.push(`${where}: seat index ${s} out of range`);
        switch (mut.op) {
            case OP.HOLD: {
                if (holds.has(mut.id)) violations.push(`${where}: hold ${mut.id} already live`);
                const seen = new Set();
                for (const s of mut.seats) {
                    if (seen.has(s)) violations.push(`${where}: seat ${s} twice in one hold`);
                    seen.add(s);
                    if (owner.has(s)) violations.push(`${where}: seat ${s} already held by ${owner.get(s)}`);
                    if (blocked.has(s)) violations.push(`${where}: seat ${s} is blocked`);
                }
                for (const g of mut.ga) {
                    if (g.area >= capacity.length) violations.push(`${where}: GA area ${g.area} out of range`);
                    else if (gaHeld[g.area] + g.quantity > capacity[g.area])
                        violations.push(`${where}: GA area ${g.area} past capacity (${gaHeld[g.area]} + ${g.quantity} > ${capacity[g.area]})`);
                }
                for (const s of mut.seats) owner.set(s, mut.id);
                for (const g of mut.ga) if (g.area < capacity.length) gaHeld[g.area] += g.quantity;
                holds.set(mut.id, { id: mut.id, seats: mut.seats, ga: mut.ga, expires_at_ms: mut.expires_at_ms, at_ms, seq });
                break;
            }
            case OP.RELEASE:
                if (!holds.has(mut.id)) violations.push(`${where}: release of ${mut.id}, which is not live`);
                else drop(mut.id);
                break;
            case OP.BLOCK:
                for (const s of mut.seats) {
                    if (owner.has(s)) violations.push(`${where}: blocks seat ${s}, held by ${owner.get(s)}`);
                    blocked.add(s);
                }
                break;
            case OP.UNBLOCK:
                for (const s of mut.seats) blocked.delete(s);
                break;
            default:
                violations.push(`${where}: unexpected operation in this test`);
        }
    }
    if (nowMs !== undefined) expire(nowMs);
    return { holds, owner, blocked, gaHeld, violations, counts };
}
