// order_abuse.mjs - what the 'orders and payments' block of abuse.test.mjs
// needs: a shop (server + paysim), buyers' steps, and the attacker's
// tools: answers compared byte for byte, looping clients on connections of
// their own, timed steps.

import assert from 'node:assert/strict';
import { assertError, assertStatus, setupEvent } from './api.mjs';
import { buyerAddress, checkout, confirm, email, hold, startShop } from './shop.mjs';

export { assertError, assertStatus, buyerAddress, checkout, confirm, email, hold, setupEvent, startShop };

export const DECLINE = '4000000000000002';
export const VISA = '4242424242424242';

/** hold (2 seats) -> checkout asking for the intent (as a browser does);
 * resolves to {hold, order, payment}. */
export async function pendingOrder(srv, eventId, seats) {
    const h = await hold(srv, eventId, { seats });
    assertStatus(h, 201, 'hold');
    const c = await checkout(srv, h.body.hold.id, undefined, { intent: true });
    assertStatus(c, 201, 'checkout');
    return { hold: h.body.hold, order: c.body.order, payment: c.body.payment };
}

/** A paid order (4242 card); resolves to the order with its tickets. */
export async function paidOrder(srv, eventId, seats) {
    const { order } = await pendingOrder(srv, eventId, seats);
    const paid = await confirm(srv, order, VISA);
    assertStatus(paid, 200, 'paid');
    assert.equal(paid.body.order.status, 'paid');
    return paid.body.order;
}

/** The order as its owner reads it. */
export async function ownerView(srv, order) {
    const res = await srv.get(`/api/v1/orders/${order.id}?secret=${order.secret}`);
    assertStatus(res, 200, 'the owner reads the order');
    return res.body.order;
}

/** A staff (gate) token of the event. */
export async function staffToken(srv, eventId) {
    const res = await srv.post(`/api/v1/events/${eventId}/staff-tokens`, { name: 'Door 1' }, { admin: true });
    assertStatus(res, 201, 'staff token');
    return res.body.token;
}

/** An answer as the wire has it, minus what changes per answer (Date). */
export function wire(res) {
    const headers = [...res.headers.entries()].filter(([k]) => k !== 'date').sort();
    return { status: res.status, headers, text: res.text };
}

/** Assert that two answers are the same bytes (status, headers but Date, body). */
export function assertSameAnswer(got, want, what) {
    assert.deepEqual(wire(got), wire(want), what);
}

/** A random order id nobody has. */
export const unknownOrderId = () => `ord_${[...Array(16)].map(() => '0123456789abcdef'[Math.floor(Math.random() * 16)]).join('')}`;

/**
 * Loop fn() on `clients` concurrent clients (fetch opens a connection per
 * request in flight) until `until` resolves; resolves to the statuses and
 * error codes counted: {status: {200: n, ...}, code: {ORDER_BUSY: n}, total}.
 */
export async function loop(clients, fn, until) {
    const counts = { status: {}, code: {}, total: 0 };
    let done = false;
    until.then(() => (done = true));
    await Promise.all([...Array(clients)].map(async () => {
        while (!done) {
            const res = await fn();
            counts.total++;
            counts.status[res.status] = (counts.status[res.status] || 0) + 1;
            const code = res.body?.error?.code;
            if (code) counts.code[code] = (counts.code[code] || 0) + 1;
        }
    }));
    return counts;
}

/** Time an async step: resolves to [ms, value]. */
export async function timed(fn) {
    const t0 = performance.now();
    const v = await fn();
    return [performance.now() - t0, v];
}
