// queue.test.mjs - the per-event waiting room (docs/api.md "Waiting room"):
// holds of a waiting-room event need a valid pass (missing, forged, expired
// and other-event passes refused with 403 QUEUE_REQUIRED and the reason);
// one pass is one shopper for the per-customer limit; the pre-queue's order
// is a uniform shuffle (rank correlation and chi-square over 1,000 joins);
// later joins are FIFO; kill -9 keeps every ticket's place and status; the
// join rate limit answers 429 at its threshold; proof of work refuses
// missing, wrong and reused solutions; pause stops admissions.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, it } from 'node:test';
import { sleep } from './lib/server.mjs';
import { assertError, assertStatus, setupEvent } from './lib/api.mjs';
import { startShop } from './lib/shop.mjs';

const GEN = { sections: 2, rows: 4, seats: 10 };
const N_PRE = 1000;
const iso = (ms) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
let addr = 0;
/** A fresh client address for each simulated visitor (X-Forwarded-For). */
const xff = () => {
    addr++;
    return { 'x-forwarded-for': `10.${(addr >> 16) & 255}.${(addr >> 8) & 255}.${addr & 255}` };
};

let srv, shop;
before(async () => {
    shop = await startShop(); // a gateway: a shopper's checkout is part of the queue's story
    srv = shop.srv;
});
after(async () => {
    if (shop) await shop.stop();
});

async function wrEvent(wr, extra = {}) {
    const now = Date.now();
    return setupEvent(srv, GEN, {
        waiting_room: { prequeue_opens_at: iso(now - 60e3), onsale_at: iso(now - 1e3), admit_per_min: 600000, max_active: 100000, pass_ttl_s: 60, ...wr },
        ...extra,
    });
}
const join = (ev, headers = xff(), body = {}) => srv.post(`/api/v1/events/${ev.event.id}/queue`, body, { headers });
const poll = (ev, ticket) => srv.get(`/api/v1/events/${ev.event.id}/queue`, { headers: { 'x-queue-ticket': ticket } });
const arrival = (ticket) => parseInt(ticket.slice(3, 11), 16);

async function admitted(ev) {
    const j = await join(ev);
    assertStatus(j, 201, 'join');
    for (let i = 0; i < 50; i++) {
        const p = await poll(ev, j.body.queue.ticket);
        assertStatus(p, 200, 'poll');
        if (p.body.queue.status === 'admitted') return p.body.queue;
        await sleep(100);
    }
    throw new Error('never admitted');
}
const hold = (ev, seat, pass, email = 'a@example.com') =>
    srv.post(`/api/v1/events/${ev.event.id}/holds`, { seats: [seat], customer: { email } }, { headers: pass ? { 'x-queue-pass': pass } : {} });

it('lets the next visitor in when an admitted shopper goes on to pay', async () => {
    const ev = await wrEvent({ max_active: 1 });
    const a = await admitted(ev);
    const jb = await join(ev);
    assertStatus(jb, 201, 'join b');
    const waiting = await poll(ev, jb.body.queue.ticket);
    assert.equal(waiting.body.queue.status, 'waiting', 'one shopper at a time');
    const h = await hold(ev, ev.seats[5], a.pass, 'shopper-a@example.com');
    assertStatus(h, 201, 'a holds with the pass');
    const ck = await srv.post(`/api/v1/holds/${h.body.hold.id}/checkout`, {}, { headers: { 'x-queue-pass': a.pass, ...xff() } });
    assertStatus(ck, 201, 'a checks out');
    const now = await poll(ev, jb.body.queue.ticket);
    assert.equal(now.body.queue.status, 'admitted', `b is let in: ${now.text}`);
    const stats = await srv.get(`/api/v1/events/${ev.event.id}/queue/stats`, { admin: true });
    assert.equal(stats.body.active, 1, 'a no longer counts');
    assertStatus(await hold(ev, ev.seats[6], a.pass, 'shopper-a@example.com'), 201, "a's pass still holds");
});

// A pass to expire: issued first, checked in the last test (60 s later, the least pass_ttl_s).
let expiring;
it('shows the waiting room on the event and answers 404 for events without one', async () => {
    const ev = await wrEvent({});
    expiring = { ev, q: await admitted(ev), at: Date.now() };
    const g = await srv.get(`/api/v1/events/${ev.event.id}`);
    assert.equal(g.body.event.waiting_room.join_url, `/api/v1/events/${ev.event.id}/queue`);
    assert.equal(g.body.event.waiting_room.admit_per_min, 600000);
    const plain = await setupEvent(srv, GEN);
    assertError(await join(plain), 404, 'NOT_FOUND');
    assertStatus(await hold(plain, plain.seats[0]), 201, 'no waiting room: holds as before');
    const later = await wrEvent({ prequeue_opens_at: iso(Date.now() + 3600e3), onsale_at: iso(Date.now() + 7200e3) });
    const early = await join(later);
    assertError(early, 409, 'QUEUE_NOT_OPEN');
    assert.equal(early.body.error.details.opens_at, later.event.waiting_room.prequeue_opens_at);
    assertError(await srv.get(`/api/v1/events/${ev.event.id}/queue`, { headers: { 'x-queue-ticket': 'qt_00000000' + '0'.repeat(32) } }), 404, 'NOT_FOUND');
    const bad = await srv.patch(`/api/v1/events/${ev.event.id}`, { waiting_room: { admit_per_min: 0 } }, { admin: true });
    assertError(bad, 400, 'INVALID_REQUEST');
    assert.equal(bad.body.error.details.field, 'waiting_room.admit_per_min');
});

it('refuses holds without a valid pass and accepts one with it', async () => {
    const ev = await wrEvent({});
    const other = await wrEvent({});
    const q = await admitted(ev);
    assert.match(q.pass, /^qp\./);
    const refusals = [
        [undefined, 'missing'],
        [q.pass.slice(0, -1) + (q.pass.endsWith('0') ? '1' : '0'), 'invalid'],
        ['qp.garbage', 'invalid'],
        [(await admitted(other)).pass, 'other_event'],
    ];
    for (const [pass, reason] of refusals) {
        const r = await hold(ev, ev.seats[0], pass);
        assertError(r, 403, 'QUEUE_REQUIRED', reason);
        assert.equal(r.body.error.details.reason, reason);
        assert.equal(r.body.error.details.join_url, `/api/v1/events/${ev.event.id}/queue`);
    }
    const ok = await hold(ev, ev.seats[0], q.pass);
    assertStatus(ok, 201, 'hold with a pass');
    const ck = await srv.post(`/api/v1/holds/${ok.body.hold.id}/checkout`, {});
    assertError(ck, 403, 'QUEUE_REQUIRED');
    const ck2 = await srv.req('POST', `/api/v1/holds/${ok.body.hold.id}/checkout`, { json: {}, headers: { cookie: `x=1; bo_queue_pass=${q.pass}` } });
    assert.notEqual(ck2.status, 403, `checkout with the pass cookie: ${ck2.text}`);
});

it('counts the per-customer limit per pass, not per e-mail', async () => {
    const ev = await wrEvent({}, { per_customer_limit: 2 });
    const q = await admitted(ev);
    assertStatus(await hold(ev, ev.seats[0], q.pass, 'one@example.com'), 201);
    assertStatus(await hold(ev, ev.seats[1], q.pass, 'two@example.com'), 201);
    assertError(await hold(ev, ev.seats[2], q.pass, 'three@example.com'), 422, 'LIMIT_EXCEEDED');
    const q2 = await admitted(ev);
    assertStatus(await hold(ev, ev.seats[2], q2.pass, 'three@example.com'), 201, 'another pass, another shopper');
});

let big, tickets;
it('shuffles the pre-queue uniformly at on-sale and keeps later joins FIFO', async () => {
    const onsale = Date.now() + 8000;
    big = await wrEvent({ onsale_at: iso(onsale), admit_per_min: 60 });
    tickets = [];
    for (let i = 0; i < N_PRE; i += 50) {
        const rs = await Promise.all(Array.from({ length: 50 }, () => join(big)));
        for (const r of rs) {
            assertStatus(r, 201, 'pre-queue join');
            assert.equal(r.body.queue.status, 'prequeue');
            assert.equal(r.body.queue.place, null);
            tickets.push(r.body.queue.ticket);
        }
    }
    assert.ok(Date.now() < onsale, 'the joins came before on-sale');
    await sleep(onsale - Date.now() + 1100);
    const places = new Map();
    for (let k = 0; k < 5 && places.size < N_PRE; k++) {
        for (let i = 0; i < N_PRE; i += 100) {
            const rs = await Promise.all(tickets.slice(i, i + 100).map((t) => poll(big, t)));
            rs.forEach((r, j) => {
                assertStatus(r, 200);
                if (r.body.queue.place !== null) places.set(tickets[i + j], r.body.queue.place);
            });
        }
        if (places.size < N_PRE) await sleep(200);
    }
    assert.equal(places.size, N_PRE);
    const order = tickets.map((t) => arrival(t));
    const place = tickets.map((t) => places.get(t));
    assert.deepEqual([...place].sort((a, b) => a - b), Array.from({ length: N_PRE }, (_, i) => i + 1), 'places 1..N, each once');
    const rho = spearman(order, place);
    const chi = chiSquare(order, place);
    const chiIdentity = chiSquare(order, order.map((_, i) => [...order].sort((a, b) => a - b).indexOf(order[i]) + 1));
    console.log(`# pre-queue of ${N_PRE}: spearman ${rho.toFixed(4)}, chi-square ${chi.toFixed(1)} (df 81; an unshuffled order gives ${chiIdentity.toFixed(0)})`);
    assert.ok(Math.abs(rho) <= 0.1, `rank correlation ${rho}`);
    // df = 81: mean 81, sd 12.7. 160 is p ~ 1e-9 (Wilson-Hilferty) for a uniform
    // shuffle, while an order kept as joined puts all 100 of each decile on the
    // diagonal: chi-square 9000, and any order that keeps deciles 30% together
    // is far above 160 too.
    assert.ok(chi < 160, `chi-square ${chi}`);
    assert.ok(chiIdentity > 160, 'the test can fail');
    // After on-sale: FIFO behind the pre-queue.
    let last = N_PRE;
    for (let i = 0; i < 20; i++) {
        const r = await join(big);
        assertStatus(r, 201);
        assert.equal(r.body.queue.status, 'waiting');
        assert.equal(r.body.queue.place, last + 1, 'FIFO');
        last = r.body.queue.place;
        tickets.push(r.body.queue.ticket);
    }
    const st = await srv.get(`/api/v1/events/${big.event.id}/queue/stats`, { admin: true });
    assertStatus(st, 200);
    assert.equal(st.body.seed_set, true);
    assert.equal(st.body.prequeue, 0);
    assert.ok(st.body.admitted_total >= 1 && st.body.admitted_total <= 15, `admitted at 60/min: ${st.body.admitted_total}`);
});

it('keeps every ticket, place and status across kill -9', async () => {
    const beforeKill = await Promise.all(tickets.map((t) => poll(big, t)));
    await srv.restart();
    const afterKill = await Promise.all(tickets.map((t) => poll(big, t)));
    afterKill.forEach((r, i) => {
        assertStatus(r, 200, `ticket ${i} after restart`);
        const a = beforeKill[i].body.queue, b = r.body.queue;
        assert.equal(b.place, a.place, `place of ticket ${i}`);
        if (a.status === 'admitted') {
            assert.equal(b.status, 'admitted');
            assert.equal(b.admitted_at, a.admitted_at);
            assert.equal(b.pass, a.pass, 'the same pass: the key is durable');
        } else assert.ok(['waiting', 'admitted'].includes(b.status), b.status);
    });
    assertStatus(await hold(expiring.ev, expiring.ev.seats[5], expiring.q.pass), 201, 'a pass stays valid across a restart');
});

it('rate limits joins per address: 429 with Retry-After at the threshold', async () => {
    const ev = await wrEvent({});
    const h = xff();
    const limit = ev.event.limits.queue_joins_per_min;
    assert.equal(limit, 4, 'the default');
    for (let i = 0; i < limit; i++) assertStatus(await join(ev, h), 201, `join ${i + 1}`);
    const r = await join(ev, h);
    assertError(r, 429, 'RATE_LIMITED');
    assert.ok(Number(r.headers.get('retry-after')) >= 1);
    assertStatus(await join(ev, xff()), 201, 'another address');
});

it('asks for proof of work: missing, wrong and reused solutions refused', async () => {
    const ev = await wrEvent({ pow_difficulty: 10 });
    const none = await join(ev);
    assertError(none, 403, 'POW_REQUIRED');
    assert.equal(none.body.error.details.challenge_url, `/api/v1/events/${ev.event.id}/queue/challenge`);
    const c = await srv.get(`/api/v1/events/${ev.event.id}/queue/challenge`);
    assertStatus(c, 200);
    assert.equal(c.body.difficulty, 10);
    const zeros = (n) => {
        const h = createHash('sha256').update(`${c.body.challenge}:${n}`).digest();
        return h[0] === 0 && (h[1] & 0xc0) === 0;
    };
    let good = 0, bad = 0;
    while (!zeros(good)) good++;
    while (zeros(bad)) bad++;
    assertError(await join(ev, xff(), { pow: { challenge: c.body.challenge, nonce: String(bad) } }), 403, 'POW_REQUIRED');
    assertError(await join(ev, xff(), { pow: { challenge: c.body.challenge + 'x', nonce: String(good) } }), 403, 'POW_REQUIRED');
    assertStatus(await join(ev, xff(), { pow: { challenge: c.body.challenge, nonce: String(good) } }), 201, 'solved');
    assertError(await join(ev, xff(), { pow: { challenge: c.body.challenge, nonce: String(good) } }), 403, 'POW_REQUIRED', 'reused');
});

it('admits nobody while paused, and resumes', async () => {
    const ev = await wrEvent({ paused: true });
    const j = await join(ev);
    await sleep(300);
    const p = await poll(ev, j.body.queue.ticket);
    assert.equal(p.body.queue.status, 'waiting');
    let st = await srv.get(`/api/v1/events/${ev.event.id}/queue/stats`, { admin: true });
    assert.equal(st.body.paused, true);
    assert.equal(st.body.admitted_total, 0);
    assertStatus(await srv.patch(`/api/v1/events/${ev.event.id}`, { waiting_room: { paused: false } }, { admin: true }), 200);
    await sleep(100);
    const p2 = await poll(ev, j.body.queue.ticket);
    assert.equal(p2.body.queue.status, 'admitted');
    st = await srv.get(`/api/v1/events/${ev.event.id}/queue/stats`, { admin: true });
    assert.equal(st.body.admitted_total, 1);
    const m = await srv.get('/metrics');
    assert.match(m.text, /^boxoffice_queue_joins_total \d+/m);
    assert.match(m.text, /^boxoffice_queue_rejected_total\{reason="rate"\} \d+/m);
});

it('refuses an expired pass', async () => {
    const left = expiring.at + 61e3 - Date.now();
    if (left > 0) await sleep(left);
    const r = await hold(expiring.ev, expiring.ev.seats[1], expiring.q.pass);
    assertError(r, 403, 'QUEUE_REQUIRED');
    assert.equal(r.body.error.details.reason, 'expired');
});

function ranks(xs) {
    const idx = xs.map((x, i) => [x, i]).sort((a, b) => a[0] - b[0]);
    const r = new Array(xs.length);
    idx.forEach(([, i], k) => (r[i] = k + 1));
    return r;
}
function spearman(a, b) {
    const ra = ranks(a), rb = ranks(b), n = a.length;
    const d2 = ra.reduce((s, x, i) => s + (x - rb[i]) ** 2, 0);
    return 1 - (6 * d2) / (n * (n * n - 1));
}
/** 10 x 10 contingency: join-order decile by place decile. */
function chiSquare(a, b) {
    const ra = ranks(a), rb = ranks(b), n = a.length;
    const cells = Array.from({ length: 10 }, () => new Array(10).fill(0));
    for (let i = 0; i < n; i++) cells[Math.floor(((ra[i] - 1) * 10) / n)][Math.floor(((rb[i] - 1) * 10) / n)]++;
    const e = n / 100;
    return cells.flat().reduce((s, o) => s + (o - e) ** 2 / e, 0);
}
