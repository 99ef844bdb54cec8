// checkers.test.mjs - the checks that the load and restart tests rely on
// must be able to fail: fed a ledger, a log or a snapshot that breaks an
// invariant, each one says so. No server needed.

import assert from 'node:assert/strict';
import { it } from 'node:test';
import { ledgerViolations, newLedger } from './lib/load.mjs';
import { OP, decodeMutation, decodeSnapshot, replay } from './lib/storefile.mjs';

const uv = (v) => {
    const out = [];
    let x = BigInt(v);
    while (x >= 0x80n) {
        out.push(Number((x & 0x7fn) | 0x80n));
        x >>= 7n;
    }
    out.push(Number(x));
    return out;
};
const sv = (v) => uv(v >= 0 ? BigInt(v) * 2n : -BigInt(v) * 2n - 1n);
const id = (n) => Buffer.alloc(16, n);
/** A seat list: count, then deltas from the previous seat (zigzag). */
const seatList = (seats) => {
    const out = [...uv(seats.length)];
    let prev = 0;
    for (const s of seats) {
        out.push(...sv(s - prev));
        prev = s;
    }
    return out;
};
/** A HOLD record as src/live/record.c encodes it. */
function holdRecord(n, seats, ga = [], expires = 10000) {
    return Buffer.from([OP.HOLD, ...id(n), ...uv(7), ...sv(100), ...sv(expires), ...seatList(seats), ...uv(ga.length), ...ga.flatMap((g) => [...uv(g.area), ...uv(g.quantity)])]);
}
const releaseRecord = (n) => Buffer.from([OP.RELEASE, ...id(n)]);
const blockRecord = (seats) => Buffer.from([OP.BLOCK, ...seatList(seats)]);
const file = (records) => ({ log: records.map((buf, i) => ({ seq: i + 1, at_ms: 1000 + i, mut: decodeMutation(buf) })), snapshot: null });
const opts = { nseats: 10, capacity: [5] };

it('record decoding round-trips seats (delta-coded, any order) and GA lines', () => {
    const m = decodeMutation(holdRecord(3, [4, 2, 9], [{ area: 0, quantity: 2 }], 123456789));
    assert.deepEqual([m.name, m.id, m.seats, m.ga, m.expires_at_ms, m.amount_cents], ['HOLD', id(3).toString('hex'), [4, 2, 9], [{ area: 0, quantity: 2 }], 123456789, 100]);
    assert.throws(() => decodeMutation(Buffer.concat([holdRecord(3, [1]), Buffer.from([0])])), /trailing/);
    assert.throws(() => decodeMutation(Buffer.from([9])), /unknown op/);
});

it('replay accepts a legal log and flags every illegal record', () => {
    const ok = replay(file([holdRecord(1, [1, 2]), releaseRecord(1), holdRecord(2, [2, 3], [{ area: 0, quantity: 5 }]), blockRecord([7])]), opts);
    assert.deepEqual(ok.violations, []);
    assert.deepEqual([...ok.owner.keys()].sort(), [2, 3]);
    assert.deepEqual(ok.gaHeld, [5]);
    const v = (records, o = opts) => replay(file(records), o).violations;
    assert.match(v([holdRecord(1, [1, 2]), holdRecord(2, [2])]).join(), /seat 2 already held/);
    assert.match(v([holdRecord(1, [], [{ area: 0, quantity: 3 }]), holdRecord(2, [], [{ area: 0, quantity: 3 }])]).join(), /past capacity/);
    assert.match(v([releaseRecord(4)]).join(), /not live/);
    assert.match(v([blockRecord([5]), holdRecord(1, [5])]).join(), /blocked/);
    assert.match(v([holdRecord(1, [5]), blockRecord([5])]).join(), /held by/);
    assert.match(v([holdRecord(1, [12])]).join(), /out of range/);
    const gap = file([holdRecord(1, [1]), holdRecord(2, [2])]);
    gap.log[1].seq = 3;
    assert.match(replay(gap, opts).violations.join(), /expected 2/);
    // An expired hold frees its seats before the next record (expires_at <= now).
    assert.deepEqual(v([holdRecord(1, [1], [], 1000), holdRecord(2, [1])]), []);
});

it('snapshots decode and seed the replay; an illegal snapshot is flagged', () => {
    const snapHold = (n, seats) => [1, ...id(n), ...uv(0), ...sv(1), ...sv(99999), ...sv(0), ...sv(100), ...uv(0), ...seatList(seats), ...uv(0)];
    const body = Buffer.from([1, ...seatList([8]), ...uv(2), ...snapHold(1, [1, 2]), ...snapHold(2, [3])]);
    const snap = decodeSnapshot(body);
    assert.deepEqual([snap.blocked, snap.holds.map((h) => [h.status, h.seats])], [[8], [['held', [1, 2]], ['held', [3]]]]);
    const f = { snapshot: { seq: 10, at_ms: 1, ...snap }, log: [{ seq: 11, at_ms: 2, mut: decodeMutation(holdRecord(3, [2])) }] };
    assert.match(replay(f, opts).violations.join(), /seat 2 already held/);
    const bad = decodeSnapshot(Buffer.from([1, ...seatList([]), ...uv(2), ...snapHold(1, [1]), ...snapHold(2, [1])]));
    assert.match(replay({ snapshot: { seq: 1, at_ms: 1, ...bad }, log: [] }, opts).violations.join(), /already held/);
});

it('the ledger check flags holds surely live at once on one seat, and GA past capacity', () => {
    const ev = { map: { ga_areas: [{ id: 'ga1', capacity: 4 }] } };
    const mk = (seats, ga, ackAt, relSentAt = null) => ({ id: `h${ackAt}`, seats, ga, ackAt, relSentAt });
    const l = newLedger();
    l.holds.set('a', mk(['S1'], [], 10, 20));
    l.holds.set('b', mk(['S1'], [], 25));
    assert.deepEqual(ledgerViolations(l, ev), [], 'released before the next was acknowledged');
    l.holds.set('c', mk(['S1'], [], 30));
    assert.match(ledgerViolations(l, ev).join(), /seat S1/);
    const g = newLedger();
    g.holds.set('a', mk([], [{ area: 'ga1', quantity: 3 }], 10, 20));
    g.holds.set('b', mk([], [{ area: 'ga1', quantity: 3 }], 20));
    assert.deepEqual(ledgerViolations(g, ev), [], 'a release and an acknowledgement at the same moment');
    g.holds.set('c', mk([], [{ area: 'ga1', quantity: 2 }], 21));
    assert.match(ledgerViolations(g, ev).join(), /GA ga1: 5/);
});
