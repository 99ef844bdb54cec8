// limits.test.mjs - the on-sale's rate limits and per-address caps, on by
// default (serve --limits; an event's "limits"): each token bucket answers
// exactly 429 RATE_LIMITED with Retry-After at its threshold (the N+1st
// request, not before), one address inventing e-mails cannot hold more
// than seats_per_address seats of an event (racing holds included) while
// another still can, holds_per_address likewise, a released hold gives its
// room back, per-event overrides take effect and null returns to the
// server's value, /metrics counts every refusal by limit, and after kill -9
// the caps still count the holds that survived.
//
// Client addresses are X-Forwarded-For from loopback (a trusted proxy by
// default), as buyers behind haproxy are.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Server } from './lib/server.mjs';
import { assertError, assertStatus, setupEvent } from './lib/api.mjs';
import { metric } from './lib/gateway_calls.mjs';
import { startShop } from './lib/shop.mjs';

const GEN = { sections: 2, rows: 10, seats: 20, ga: 1, ga_capacity: 1000 };
const DEFAULTS = {
    holds_per_min: 30,
    checkouts_per_min: 10,
    card_attempts_per_min: 10,
    queue_joins_per_min: 4,
    seats_per_address: 50,
    holds_per_address: 20,
};

let addrSeq = 0;
/** A client address of its own. */
const newAddress = () => {
    const n = ++addrSeq;
    return `10.99.${(n >> 8) & 255}.${n & 255}`;
};
const randomEmail = () => `x${Math.random().toString(16).slice(2)}@example.test`;

/** A hold of body from address, with an e-mail never seen before. */
function holdFrom(srv, eventId, address, body) {
    return srv.post(`/api/v1/events/${eventId}/holds`, { customer: { email: randomEmail() }, ...body }, { headers: { 'x-forwarded-for': address } });
}

const gaOf = (ev, quantity) => ({ ga: { area: ev.map.ga_areas[0].id, quantity } });
const bestOf = (quantity) => ({ best_available: { quantity } });

/** The 429 of limit: RATE_LIMITED, Retry-After whole seconds >= 1, details. */
function assertLimited(res, limit, value, what) {
    assertError(res, 429, 'RATE_LIMITED', what);
    const after = res.headers.get('retry-after');
    assert.match(after || '', /^[1-9][0-9]*$/, `${what}: Retry-After ${after}`);
    const d = res.body.error.details;
    assert.equal(d.limit, limit, `${what}: details.limit`);
    assert.equal(d.limit_value, value, `${what}: details.limit_value`);
    assert.equal(d.retry_after_s, Number(after), `${what}: details.retry_after_s`);
    return Number(after);
}

const rejections = (srv, limit) => metric(srv, `boxoffice_limit_rejections_total{limit="${limit}"}`);

describe('rate limits and per-address caps (defaults)', () => {
    let srv;
    before(async () => {
        srv = await Server.start({});
    });
    after(async () => {
        if (srv) await srv.cleanup();
    });

    it('an event shows the limits in force; overrides take effect, null returns to the default, bad ones are refused', async () => {
        const ev = await setupEvent(srv, GEN, { limits: { seats_per_address: 4 } });
        const id = ev.event.id;
        assert.deepEqual(ev.event.limits, { ...DEFAULTS, seats_per_address: 4 }, 'POST answers the effective limits');
        let got = await srv.get(`/api/v1/events/${id}`);
        assert.deepEqual(got.body.event.limits, { ...DEFAULTS, seats_per_address: 4 });
        const p = await srv.patch(`/api/v1/events/${id}`, { limits: { seats_per_address: null, holds_per_min: 0 } }, { admin: true });
        assertStatus(p, 200, 'PATCH limits');
        got = await srv.get(`/api/v1/events/${id}`);
        assert.deepEqual(got.body.event.limits, { ...DEFAULTS, holds_per_min: 0 }, 'null: the default again; 0: none');
        for (const [limits, field] of [
            [{ nope: 1 }, 'limits.nope'],
            [{ holds_per_min: -1 }, 'limits.holds_per_min'],
            [{ holds_per_min: 1000001 }, 'limits.holds_per_min'],
            [{ seats_per_address: 'ten' }, 'limits.seats_per_address'],
            [[1], 'limits'],
            ['x', 'limits'],
        ]) {
            const bad = await srv.patch(`/api/v1/events/${id}`, { limits }, { admin: true });
            assertError(bad, 400, 'INVALID_REQUEST', JSON.stringify(limits));
            assert.equal(bad.body.error.details.field, field);
        }
        got = await srv.get(`/api/v1/events/${id}`);
        assert.deepEqual(got.body.event.limits, { ...DEFAULTS, holds_per_min: 0 }, 'a refused PATCH changes nothing');
    });

    it('holds_per_min: the 31st hold a minute from one address is 429, not the 30th; per event; another address still holds', async () => {
        // caps off for this event, so only the bucket speaks
        const ev = await setupEvent(srv, GEN, { limits: { seats_per_address: 0, holds_per_address: 0 } });
        const other = await setupEvent(srv, GEN);
        const a = newAddress();
        const before0 = await rejections(srv, 'holds_per_min');
        for (let i = 0; i < DEFAULTS.holds_per_min; i++)
            assertStatus(await holdFrom(srv, ev.event.id, a, gaOf(ev, 1)), 201, `hold ${i + 1} of 30`);
        const limited = await holdFrom(srv, ev.event.id, a, gaOf(ev, 1));
        const after_s = assertLimited(limited, 'holds_per_min', 30, 'the 31st hold');
        assert.ok(after_s <= 2, `a token comes back within 2 s at 30 a minute: Retry-After ${after_s}`);
        assert.equal(await rejections(srv, 'holds_per_min'), before0 + 1, 'counted once');
        assertStatus(await holdFrom(srv, other.event.id, a, gaOf(other, 1)), 201, 'the same address at another event');
        assertStatus(await holdFrom(srv, ev.event.id, newAddress(), gaOf(ev, 1)), 201, 'another address');
        const avail = await srv.get(`/api/v1/events/${ev.event.id}`);
        assert.equal(avail.body.event.availability.held, 31, 'the refused hold held nothing');
        // a per-event rate: 2 a minute
        const slow = await setupEvent(srv, GEN, { limits: { holds_per_min: 2 } });
        const b = newAddress();
        assertStatus(await holdFrom(srv, slow.event.id, b, bestOf(1)), 201);
        assertStatus(await holdFrom(srv, slow.event.id, b, bestOf(1)), 201);
        const s = assertLimited(await holdFrom(srv, slow.event.id, b, bestOf(1)), 'holds_per_min', 2, 'the 3rd at 2 a minute');
        assert.ok(s >= 25 && s <= 30, `one token in 30 s: Retry-After ${s}`);
    });

    it('seats_per_address: one address with random e-mails holds 50 seats of an event, not 51; another address still can; a release gives room back', async () => {
        const ev = await setupEvent(srv, GEN);
        const a = newAddress();
        const before0 = await rejections(srv, 'seats_per_address');
        for (let i = 0; i < 12; i++) assertStatus(await holdFrom(srv, ev.event.id, a, bestOf(4)), 201, `hold ${i + 1}: 4 seats`);
        const over = await holdFrom(srv, ev.event.id, a, bestOf(4));
        assertLimited(over, 'seats_per_address', 50, '48 + 4 seats');
        const last = await holdFrom(srv, ev.event.id, a, gaOf(ev, 2));
        assertStatus(last, 201, '48 + 2 GA tickets: exactly 50');
        const one = await holdFrom(srv, ev.event.id, a, bestOf(1));
        const after_s = assertLimited(one, 'seats_per_address', 50, 'the 51st seat');
        assert.ok(after_s >= 1 && after_s <= 300, `until a hold ends (the event's hold time, 300 s): ${after_s}`);
        assert.equal(await rejections(srv, 'seats_per_address'), before0 + 2);
        assertStatus(await holdFrom(srv, ev.event.id, newAddress(), bestOf(4)), 201, 'another address');
        const got = await srv.get(`/api/v1/events/${ev.event.id}`);
        assert.equal(got.body.event.availability.held, 54, 'refusals held nothing');
        assertStatus(await srv.req('DELETE', `/api/v1/holds/${last.body.hold.id}`), 204, 'release');
        assertStatus(await holdFrom(srv, ev.event.id, a, bestOf(2)), 201, 'a release gives its seats back');
        assertLimited(await holdFrom(srv, ev.event.id, a, bestOf(1)), 'seats_per_address', 50, 'full again');
    });

    it('seats_per_address holds against 40 racing holds from one address: exactly 50 seats, every other answer a 429', async () => {
        const ev = await setupEvent(srv, GEN);
        const a = newAddress();
        const answers = await Promise.all(Array.from({ length: 40 }, () => holdFrom(srv, ev.event.id, a, bestOf(5))));
        const created = answers.filter((r) => r.status === 201);
        const seats = created.reduce((n, r) => n + r.body.hold.seats.length, 0);
        assert.equal(seats, 50, `${created.length} holds of 5 seats`);
        for (const r of answers.filter((x) => x.status !== 201)) {
            assertError(r, 429, 'RATE_LIMITED', 'a refused racing hold');
            assert.ok(['seats_per_address', 'holds_per_min'].includes(r.body.error.details.limit), r.body.error.details.limit);
        }
        const got = await srv.get(`/api/v1/events/${ev.event.id}`);
        assert.equal(got.body.event.availability.held, 50);
        assertStatus(await holdFrom(srv, ev.event.id, newAddress(), bestOf(5)), 201, 'another address');
    });

    it('holds_per_address: the 21st live hold of an address is 429; expiry-free give-back by release; overrides and null', async () => {
        const ev = await setupEvent(srv, GEN);
        const a = newAddress();
        const before0 = await rejections(srv, 'holds_per_address');
        const holds = [];
        for (let i = 0; i < 20; i++) {
            const h = await holdFrom(srv, ev.event.id, a, gaOf(ev, 1));
            assertStatus(h, 201, `hold ${i + 1} of 20`);
            holds.push(h.body.hold.id);
        }
        assertLimited(await holdFrom(srv, ev.event.id, a, gaOf(ev, 1)), 'holds_per_address', 20, 'the 21st hold');
        assert.equal(await rejections(srv, 'holds_per_address'), before0 + 1);
        assertStatus(await srv.req('DELETE', `/api/v1/holds/${holds[0]}`), 204);
        assertStatus(await holdFrom(srv, ev.event.id, a, gaOf(ev, 1)), 201, 'a released hold gives its place back');
        // the event raises it: the address may hold more at once
        assertStatus(await srv.patch(`/api/v1/events/${ev.event.id}`, { limits: { holds_per_address: 22 } }, { admin: true }), 200);
        assertStatus(await holdFrom(srv, ev.event.id, a, gaOf(ev, 1)), 201, 'the 21st under a cap of 22');
        assertStatus(await holdFrom(srv, ev.event.id, a, gaOf(ev, 1)), 201, 'the 22nd');
        assertLimited(await holdFrom(srv, ev.event.id, a, gaOf(ev, 1)), 'holds_per_address', 22, 'the 23rd');
        assertStatus(await srv.patch(`/api/v1/events/${ev.event.id}`, { limits: { holds_per_address: null } }, { admin: true }), 200);
        assertLimited(await holdFrom(srv, ev.event.id, a, gaOf(ev, 1)), 'holds_per_address', 20, 'back to the default');
    });
});

describe('checkouts and card attempts per address (defaults, with paysim)', () => {
    let shop;
    before(async () => {
        shop = await startShop();
    });
    after(async () => {
        if (shop) await shop.stop();
    });

    it('checkouts_per_min: the 11th checkout a minute from one address is 429, not the 10th; another address still checks out', async () => {
        const srv = shop.srv;
        const ev = await setupEvent(srv, GEN);
        const holds = [];
        for (let i = 0; i < 12; i++) {
            const h = await holdFrom(srv, ev.event.id, newAddress(), bestOf(1));
            assertStatus(h, 201);
            holds.push(h.body.hold.id);
        }
        const a = newAddress();
        const before0 = await rejections(srv, 'checkouts_per_min');
        const out = (id, from) => srv.post(`/api/v1/holds/${id}/checkout`, { customer: { email: randomEmail(), name: 'B' } }, { headers: { 'x-forwarded-for': from } });
        for (let i = 0; i < 10; i++) assertStatus(await out(holds[i], a), 201, `checkout ${i + 1} of 10`);
        const limited = await out(holds[10], a);
        assertLimited(limited, 'checkouts_per_min', 10, 'the 11th checkout');
        assert.equal(await rejections(srv, 'checkouts_per_min'), before0 + 1);
        assertStatus(await out(holds[10], newAddress()), 201, 'another address: the refused checkout changed nothing');
    });

    it('card_attempts_per_min follows the event: 1 a minute refuses the 2nd card from an address', async () => {
        const srv = shop.srv;
        const ev = await setupEvent(srv, GEN, { limits: { card_attempts_per_min: 1 } });
        const a = newAddress();
        const orders = [];
        for (let i = 0; i < 2; i++) {
            const h = await holdFrom(srv, ev.event.id, newAddress(), bestOf(1));
            const c = await srv.post(`/api/v1/holds/${h.body.hold.id}/checkout`, { customer: { email: randomEmail(), name: 'B' } }, { headers: { 'x-forwarded-for': newAddress() } });
            assertStatus(c, 201);
            orders.push(c.body.order);
        }
        const pay = (o) => srv.post(`/api/v1/orders/${o.id}/confirm`, { payment_method: '4000000000000002', secret: o.secret }, { headers: { 'x-forwarded-for': a } });
        assertError(await pay(orders[0]), 402, 'PAYMENT_DECLINED', 'the first card');
        assertLimited(await pay(orders[1]), 'card_attempts_per_min', 1, 'the 2nd card');
    });
});

it('after kill -9 and a restart the caps still count the live holds; --limits sets the server defaults', async () => {
    const srv = await Server.start({ args: ['--limits', 'seats_per_address=6,holds_per_address=3'] });
    try {
        const ev = await setupEvent(srv, GEN);
        assert.equal(ev.event.limits.seats_per_address, 6);
        assert.equal(ev.event.limits.holds_per_address, 3);
        const a = newAddress(), b = newAddress();
        assertStatus(await holdFrom(srv, ev.event.id, a, bestOf(4)), 201);
        assertStatus(await holdFrom(srv, ev.event.id, a, gaOf(ev, 2)), 201, '6 seats: at the cap');
        assertStatus(await holdFrom(srv, ev.event.id, b, bestOf(1)), 201);
        assertStatus(await holdFrom(srv, ev.event.id, b, bestOf(1)), 201);
        const released = await holdFrom(srv, ev.event.id, b, bestOf(1));
        assertStatus(released, 201, '3 holds: at the cap');
        assertStatus(await srv.req('DELETE', `/api/v1/holds/${released.body.hold.id}`), 204);
        await srv.kill9();
        await srv.launch();
        assertLimited(await holdFrom(srv, ev.event.id, a, bestOf(1)), 'seats_per_address', 6, 'after kill -9: 6 seats still held');
        assertStatus(await holdFrom(srv, ev.event.id, b, bestOf(1)), 201, 'the released hold stays given back');
        assertLimited(await holdFrom(srv, ev.event.id, b, bestOf(1)), 'holds_per_address', 3, 'after kill -9: 3 holds');
        assertStatus(await holdFrom(srv, ev.event.id, newAddress(), bestOf(4)), 201, 'another address');
    } finally {
        await srv.cleanup();
    }
});

it('--limits off: one address holds past every default', async () => {
    const srv = await Server.start({ args: ['--limits', 'off'] });
    try {
        const ev = await setupEvent(srv, GEN);
        assert.deepEqual(ev.event.limits, Object.fromEntries(Object.keys(DEFAULTS).map((k) => [k, 0])));
        const a = newAddress();
        const answers = await Promise.all(Array.from({ length: 40 }, () => holdFrom(srv, ev.event.id, a, bestOf(2))));
        answers.forEach((r, i) => assertStatus(r, 201, `hold ${i + 1}`));
    } finally {
        await srv.cleanup();
    }
});
