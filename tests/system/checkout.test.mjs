// checkout.test.mjs - the payment half of the API against a real
// `boxoffice serve` and a real paysim: checkout, confirm (success, decline,
// insufficient funds, three declines), a gateway slower than the adapter's
// timeout, webhooks before and after the client's confirm, duplicated and
// out-of-order webhooks, bad signatures and stale timestamps, late payment
// both ways, cancel and refund putting seats back on sale, signed tickets
// verified offline, QR codes, and every check-in outcome.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Stripe from 'stripe';
import { sleep } from './lib/server.mjs';
import { assertError, assertStatus, availability, setupEvent } from './lib/api.mjs';
import {
    checkout, confirm, confirmAtGateway, email, getOrder, hold, postWebhook, rewire, signWebhook, startShop,
    storedOrders, verifyTicketCode, waitOrder,
} from './lib/shop.mjs';
import { WebhookReceiver } from './lib/paysim.mjs';

const GEN = { sections: 2, rows: 4, seats: 8, ga: 1, ga_capacity: 50 };
const ORDER_ID = /^ord_[0-9a-f]{16}$/;
const TICKET_ID = /^tkt_[0-9a-f]{16}$/;
const STATE = { available: 0, held: 1, sold: 2, blocked: 3 };

let shop, srv, sim, ev;
before(async () => {
    shop = await startShop();
    ({ srv, sim } = shop);
    ev = await setupEvent(srv, GEN);
});
after(async () => {
    if (shop) assert.deepEqual(await shop.stop(), { code: 0, signal: null }, 'graceful exit');
});

const seatIndex = (e, id) => e.seats.indexOf(id);
let next = 0;
/** Two fresh adjacent seats of ev (each test its own). */
function twoSeats(e = ev) {
    const s = [e.seats[next], e.seats[next + 1]];
    next += 2;
    return s;
}

/** hold -> checkout asking for the intent (as the browser does); resolves
 * to {hold, order, payment}. */
async function pendingOrder(e = ev, body = { seats: twoSeats(e) }) {
    const h = await hold(srv, e.event.id, body);
    assertStatus(h, 201, 'hold');
    const c = await checkout(srv, h.body.hold.id, undefined, { intent: true });
    assertStatus(c, 201, 'checkout');
    return { hold: h.body.hold, order: c.body.order, payment: c.body.payment };
}

async function seatStates(e, seatIds) {
    const a = await availability(srv, e.event.id);
    return seatIds.map((id) => a.states[seatIndex(e, id)]);
}

describe('checkout and confirm', () => {
    it('a paid order: seats SOLD, signed tickets, QR codes, stored in one piece', async () => {
        const seats = twoSeats();
        const h = await hold(srv, ev.event.id, { seats });
        assertStatus(h, 201, 'hold');
        const calls0 = (await sim.stats()).calls.total;
        const c = await checkout(srv, h.body.hold.id, { email: 'ann@example.test', name: 'Ann' });
        assertStatus(c, 201, 'checkout');
        const { order } = c.body;
        assert.match(order.id, ORDER_ID);
        assert.equal(order.status, 'pending_payment');
        assert.equal(order.hold_id, h.body.hold.id);
        assert.match(order.secret, /^[0-9a-f]{32}$/);
        assert.deepEqual(order.amount, h.body.hold.amount);
        assert.deepEqual(order.tickets, []);
        // no payment attempt yet: no intent, and the gateway was not called
        assert.equal(c.body.payment.intent_id, null);
        assert.equal(c.body.payment.client_secret, null);
        assert.equal((await sim.stats()).calls.total, calls0);
        // a checkout again asking for the intent (a browser about to confirm
        // it) makes it: the same order, with the intent and its client secret
        const again = await checkout(srv, h.body.hold.id, undefined, { intent: true });
        assertStatus(again, 200, 'checkout again with create_intent');
        assert.equal(again.body.order.id, order.id);
        const { payment } = again.body;
        assert.match(payment.intent_id, /^pi_/);
        assert.ok(payment.client_secret.startsWith(`${payment.intent_id}_secret_`));
        assert.equal(c.headers.get('location'), `/api/v1/orders/${order.id}`);
        // the hold is PAYING: still held, not released by a DELETE race
        assert.deepEqual(await seatStates(ev, seats), [STATE.held, STATE.held]);
        // the intent at the gateway carries the order
        const pi = await sim.req('GET', `/v1/payment_intents/${payment.intent_id}`);
        assert.equal(pi.body.metadata.order_id, order.id);
        assert.equal(pi.body.amount, order.amount.total_cents);

        const paid = await confirm(srv, order, 'pm_card_visa');
        assertStatus(paid, 200, 'confirm');
        const o = paid.body.order;
        assert.equal(o.status, 'paid');
        assert.equal(o.tickets.length, 2);
        assert.deepEqual(o.tickets.map((t) => t.seat).sort(), [...seats].sort());
        for (const t of o.tickets) {
            assert.match(t.id, TICKET_ID);
            assert.equal(t.status, 'valid');
            assert.match(t.qr_svg_url, new RegExp(`^/api/v1/orders/${o.id}/tickets/${t.id}/qr\\.svg\\?secret=`));
        }
        assert.deepEqual(await seatStates(ev, seats), [STATE.sold, STATE.sold]);
        // without the order's secret, confirm answers as for an unknown order
        assertError(await confirm(srv, order.id), 404, 'NOT_FOUND', 'confirm without credentials');

        // offline verification with the event's public key
        const key = await srv.get(`/api/v1/events/${ev.event.id}/ticket-key`);
        assertStatus(key, 200, 'ticket-key');
        assert.equal(key.body.algorithm, 'Ed25519');
        for (const t of o.tickets) {
            const claim = verifyTicketCode(key.body.public_key, t.code);
            assert.ok(claim, `ticket ${t.id} verifies`);
            assert.equal(claim.ticket, t.id);
            assert.equal(claim.event, ev.event.id);
            assert.equal(claim.order, o.id);
            assert.equal(claim.seat, seatIndex(ev, t.seat));
        }
        const forged = o.tickets[0].code.slice(0, 40) + (o.tickets[0].code[40] === 'A' ? 'B' : 'A') + o.tickets[0].code.slice(41);
        assert.equal(verifyTicketCode(key.body.public_key, forged), null);

        // QR code
        const qr = await srv.get(o.tickets[0].qr_svg_url);
        assertStatus(qr, 200, 'qr');
        assert.match(qr.headers.get('content-type'), /^image\/svg\+xml/);
        assert.ok(qr.text.startsWith('<svg') || qr.text.startsWith('<?xml'), qr.text.slice(0, 60));

        // reading the order: secret or admin, nothing else (tests/system/abuse.test.mjs has more)
        assertStatus(await getOrder(srv, o), 200, 'get order');
        assertError(await srv.get(`/api/v1/orders/${o.id}`), 404, 'NOT_FOUND', 'no secret');
        assertError(await srv.get(`/api/v1/orders/${o.id}?secret=${'0'.repeat(32)}`), 404, 'NOT_FOUND', 'wrong secret');
        assertStatus(await srv.get(`/api/v1/orders/${o.id}`, { admin: true }), 200, 'admin reads');
        assertError(await srv.get('/api/v1/orders/ord_0123456789abcdef?secret=x'), 404, 'NOT_FOUND', 'unknown order');

        // the database: seats in `sold`, the order paid with its tickets, one notification
        const sold = await srv.sql(`SELECT seat FROM sold ORDER BY seat`);
        for (const s of seats) assert.ok(sold.some((r) => r.seat === seatIndex(ev, s)), `${s} in sold`);
        const stored = (await storedOrders(srv)).find((x) => x.id === o.id);
        assert.equal(stored.status, 'paid');
        assert.equal(stored.tickets.length, 2);
        const outbox = await srv.sql(`SELECT id FROM outbox WHERE id = '${o.id}:order.paid'`);
        assert.equal(outbox.length, 1);
    });

    it('a paid order without an e-mail address queues no notification', async () => {
        const h = await hold(srv, ev.event.id, { seats: twoSeats() });
        assertStatus(h, 201, 'hold');
        const c = await checkout(srv, h.body.hold.id, { name: 'No Mail' });
        assertStatus(c, 201, 'checkout');
        const o = c.body.order;
        const paid = await confirm(srv, o, 'pm_card_visa');
        assertStatus(paid, 200, 'confirm');
        assert.equal(paid.body.order.status, 'paid');
        assert.equal(paid.body.order.tickets.length, 2);
        assert.deepEqual(await srv.sql(`SELECT id FROM outbox WHERE id LIKE '${o.id}:%'`), []);
    });

    it('checkout is idempotent per hold, and refuses a hold that is gone', async () => {
        const { hold: h, order } = await pendingOrder();
        const again = await checkout(srv, h.id);
        assertStatus(again, 200, 'second checkout');
        assert.equal(again.body.order.id, order.id);
        assertError(await checkout(srv, 'hold_' + '0'.repeat(48)), 404, 'NOT_FOUND', 'malformed id');
        const gone = await hold(srv, ev.event.id, { seats: twoSeats() });
        assertStatus(await srv.del(`/api/v1/holds/${gone.body.hold.id}`), 204, 'release');
        assertError(await checkout(srv, gone.body.hold.id), 410, 'HOLD_EXPIRED', 'released hold');
        const bad = await srv.post(`/api/v1/holds/${h.id}/checkout`, { customer: { email: 'not-an-address' } });
        assertError(bad, 400, 'INVALID_REQUEST', 'bad email');
    });

    it('a declined card keeps the hold; another card succeeds', async () => {
        const { order, hold: h } = await pendingOrder();
        // a mistyped number is refused by the gateway before any attempt: nothing counted
        const typo = await confirm(srv, order, '4242 4242 4242 4241');
        assertError(typo, 402, 'PAYMENT_DECLINED', 'bad checksum');
        assert.equal(typo.body.error.details.attempts_left, 3);
        assertError(await confirm(srv, order, 'card-please'), 400, 'INVALID_REQUEST', 'not a payment method');
        const d = await confirm(srv, order, '4000000000000002');
        assertError(d, 402, 'PAYMENT_DECLINED', 'declined card');
        assert.equal(d.body.error.details.decline_code, 'generic_decline');
        assert.equal(d.body.error.details.attempts_left, 2);
        assert.equal(d.body.error.details.hold_released, false);
        assert.deepEqual(await seatStates(ev, h.seats), [STATE.held, STATE.held]);
        const ok = await confirm(srv, order, '4242424242424242');
        assertStatus(ok, 200, 'second card');
        assert.equal(ok.body.order.status, 'paid');
        assert.equal(ok.body.order.payment_failures, 1);
    });

    it('insufficient funds is a decline with its reason', async () => {
        const { order } = await pendingOrder();
        const d = await confirm(srv, order, '4000000000009995');
        assertError(d, 402, 'PAYMENT_DECLINED', 'insufficient funds');
        assert.equal(d.body.error.details.decline_code, 'insufficient_funds');
        const o = (await getOrder(srv, order)).body.order;
        assert.equal(o.status, 'pending_payment');
        assert.equal(o.last_payment_error.decline_code, 'insufficient_funds');
    });

    it('the third decline releases the seats at once', async () => {
        const { order, hold: h } = await pendingOrder();
        for (const [i, card] of ['pm_card_chargeDeclined', '4000000000009995', '4000000000000002'].entries()) {
            const d = await confirm(srv, order, card);
            assertError(d, 402, 'PAYMENT_DECLINED', `decline ${i + 1}`);
            assert.equal(d.body.error.details.attempts_left, 2 - i);
        }
        const o = (await getOrder(srv, order)).body.order;
        assert.equal(o.status, 'payment_failed');
        assert.deepEqual(await seatStates(ev, h.seats), [STATE.available, STATE.available]);
        assertError(await confirm(srv, order, 'pm_card_visa'), 409, 'INVALID_STATE', 'no more payments');
    });

    it('GA tickets: one ticket per place', async () => {
        const { order } = await pendingOrder(ev, { ga: { area: 'ga1', quantity: 3 } });
        const ok = await confirm(srv, order, 'pm_card_mastercard');
        assertStatus(ok, 200, 'GA confirm');
        assert.equal(ok.body.order.tickets.length, 3);
        for (const t of ok.body.order.tickets) assert.equal(t.seat, null);
    });
});

describe('gateway faults', () => {
    it('a gateway slower than the timeout: 503, then the retried checkout finds the same intent', async () => {
        const slow = await startShop({ args: ['--payment-timeout-ms', '300'] });
        try {
            const e = await setupEvent(slow.srv, GEN);
            const h = await hold(slow.srv, e.event.id, { seats: e.seats.slice(0, 2) });
            const before0 = (await slow.sim.stats()).intents.total;
            await slow.sim.config({ latency_ms: 700 });
            const t0 = Date.now();
            const c = await checkout(slow.srv, h.body.hold.id, undefined, { intent: true });
            assertError(c, 503, 'GATEWAY_UNAVAILABLE', 'slow gateway');
            assert.ok(Date.now() - t0 < 5000, 'bounded retries');
            await slow.sim.config({ latency_ms: 0 });
            const c2 = await checkout(slow.srv, h.body.hold.id, undefined, { intent: true });
            assertStatus(c2, 201, 'retried checkout: the order is made now');
            assert.equal(c2.body.order.status, 'pending_payment');
            // every attempt used the order id as its idempotency key: one intent
            assert.equal((await slow.sim.stats()).intents.total, before0 + 1);
            // answers lost after the gateway acted: retries with the same key act once
            await slow.sim.config({ fail_after_rate: 0.5 });
            let ok = null;
            for (let i = 0; i < 10 && !ok; i++) {
                const r = await confirm(slow.srv, c2.body.order, 'pm_card_visa');
                if (r.status === 200) ok = r;
                else assert.ok([503, 402].includes(r.status), r.text);
            }
            await slow.sim.config({ fail_after_rate: 0 });
            assert.ok(ok, 'paid in the end');
            assert.equal(ok.body.order.tickets.length, 2);
            const stats = await slow.sim.stats();
            assert.equal(stats.captured_cents, ok.body.order.amount.total_cents, 'charged once');
        } finally {
            await slow.stop();
        }
    });
});

describe('webhooks', () => {
    it('before the client confirms: the webhook settles, confirm finds it paid', async () => {
        const { order, payment } = await pendingOrder();
        const g = await confirmAtGateway(sim, payment.intent_id, payment.client_secret, 'pm_card_visa');
        assert.equal(g.status, 200, JSON.stringify(g.body));
        const paid = await waitOrder(srv, order, (o) => o.status === 'paid');
        const c = await confirm(srv, order);
        assertStatus(c, 200, 'confirm after the webhook');
        assert.deepEqual(c.body.order.tickets.map((t) => t.id).sort(), paid.tickets.map((t) => t.id).sort());
    });

    it('after the client confirmed, duplicated and out of order: nothing twice', async () => {
        const rx = await WebhookReceiver.start();
        try {
            await sim.config({ webhook_url: rx.url });
            const { order } = await pendingOrder();
            assertError(await confirm(srv, order, '4000000000000002'), 402, 'PAYMENT_DECLINED', 'decline');
            const paid = await confirm(srv, order, 'pm_card_visa');
            assertStatus(paid, 200, 'paid by confirm');
            await rx.waitFor(2);
            const deliveries = rx.deliveries.filter((d) => JSON.parse(d.body).data.object.metadata?.order_id === order.id);
            assert.deepEqual(deliveries.map((d) => JSON.parse(d.body).type).sort(), ['payment_intent.payment_failed', 'payment_intent.succeeded']);
            // newest first, each twice
            for (const d of [...deliveries].reverse().flatMap((x) => [x, x])) {
                const r = await postWebhook(srv, d.body, d.signature);
                assertStatus(r, 200, 'replayed webhook');
                assert.equal(r.body.received, true);
            }
            const o = (await getOrder(srv, order)).body.order;
            assert.equal(o.status, 'paid');
            assert.equal(o.payment_failures, 1, 'the decline counted once');
            assert.deepEqual(o.tickets.map((t) => t.id).sort(), paid.body.order.tickets.map((t) => t.id).sort());
            const stored = (await storedOrders(srv)).filter((x) => x.status === 'paid' && x.intent === paid.body.payment.intent_id);
            assert.equal(stored.length, 1);
            assert.equal(stored[0].tickets.length, 2);
        } finally {
            await sim.config({ webhook_url: `${srv.url}/api/v1/payments/webhook` });
            await rx.close();
        }
    });

    it('a bad signature, a stale timestamp or no signature is refused and changes nothing', async () => {
        const { order, payment } = await pendingOrder();
        const stripe = new Stripe('sk_test_unused', { host: '127.0.0.1', port: sim.port, protocol: 'http' });
        const payload = JSON.stringify({
            id: 'evt_forged0000000000000001', object: 'event', type: 'payment_intent.succeeded', created: Math.floor(Date.now() / 1000),
            data: { object: { id: payment.intent_id, object: 'payment_intent', status: 'succeeded', metadata: { order_id: order.id } } },
        });
        const good = stripe.webhooks.generateTestHeaderString({ payload, secret: sim.webhookSecret });
        const other = stripe.webhooks.generateTestHeaderString({ payload, secret: 'whsec_another_secret_entirely' });
        const stale = stripe.webhooks.generateTestHeaderString({ payload, secret: sim.webhookSecret, timestamp: Math.floor(Date.now() / 1000) - 600 });
        assertError(await postWebhook(srv, payload, other), 400, 'INVALID_SIGNATURE', 'other secret');
        assertError(await postWebhook(srv, payload, stale), 400, 'INVALID_SIGNATURE', 'stale');
        assertError(await postWebhook(srv, payload, undefined), 400, 'INVALID_SIGNATURE', 'no header');
        assertError(await postWebhook(srv, payload, 't=abc,v1=zz'), 400, 'INVALID_SIGNATURE', 'malformed header');
        assertError(await postWebhook(srv, payload.replace('succeeded', 'succeedeD'), good), 400, 'INVALID_SIGNATURE', 'changed payload');
        assert.equal((await getOrder(srv, order)).body.order.status, 'pending_payment');
        // a genuine signature over a lying payload: the gateway is asked, not believed
        const r = await postWebhook(srv, payload, good);
        assertStatus(r, 200, 'signed but untrue');
        assert.equal((await getOrder(srv, order)).body.order.status, 'pending_payment');
        // the library's own signature is the server's format too
        assert.match(signWebhook(sim.webhookSecret, payload), /^t=\d+,v1=[0-9a-f]{64}$/);
    });
});

describe('cancel and refund', () => {
    it('cancel before paying releases the seats and cancels the intent', async () => {
        const { order, payment, hold: h } = await pendingOrder();
        assertError(await srv.post(`/api/v1/orders/${order.id}/cancel`, {}), 404, 'NOT_FOUND', 'no credentials');
        const c = await srv.post(`/api/v1/orders/${order.id}/cancel?secret=${order.secret}`, {});
        assertStatus(c, 200, 'cancel');
        assert.equal(c.body.order.status, 'canceled');
        assert.deepEqual(await seatStates(ev, h.seats), [STATE.available, STATE.available]);
        const pi = await sim.req('GET', `/v1/payment_intents/${payment.intent_id}`);
        assert.equal(pi.body.status, 'canceled');
    });

    it('DELETE of a hold in checkout, with the order\'s secret, abandons it: intent cancelled, seats free', async () => {
        const { order, payment, hold: h } = await pendingOrder();
        assertError(await srv.del(`/api/v1/holds/${h.id}`), 409, 'INVALID_STATE', 'the hold id alone');
        assert.equal((await getOrder(srv, order)).body.order.status, 'pending_payment');
        assertStatus(await srv.del(`/api/v1/holds/${h.id}`, { headers: { 'x-order-secret': order.secret } }), 204, 'abandon');
        assert.equal((await getOrder(srv, order)).body.order.status, 'canceled');
        assert.deepEqual(await seatStates(ev, h.seats), [STATE.available, STATE.available]);
        assert.equal((await sim.req('GET', `/v1/payment_intents/${payment.intent_id}`)).body.status, 'canceled');
    });

    it('a paid order cancelled: refunded, seats back on sale, buyer deadline enforced', async () => {
        const { order, hold: h } = await pendingOrder();
        assertStatus(await confirm(srv, order, 'pm_card_visa'), 200, 'paid');
        const before0 = await sim.stats();
        const c = await srv.post(`/api/v1/orders/${order.id}/cancel`, {}, { admin: true });
        assertStatus(c, 200, 'admin cancel');
        assert.equal(c.body.order.status, 'refunded');
        assert.ok(c.body.order.tickets.every((t) => t.status === 'void'));
        assert.deepEqual(await seatStates(ev, h.seats), [STATE.available, STATE.available]);
        const after0 = await sim.stats();
        assert.equal(after0.refunded_cents - before0.refunded_cents, order.amount.total_cents);
        // again: nothing more is refunded
        assertStatus(await srv.post(`/api/v1/orders/${order.id}/cancel`, {}, { admin: true }), 200, 'again');
        assert.equal((await sim.stats()).refunded_cents, after0.refunded_cents);
        // the seats sell again
        const again = await hold(srv, ev.event.id, { seats: h.seats });
        assertStatus(again, 201, 'seats back on sale');

        // a buyer past the event's refund deadline is refused; an admin is not
        const late = await setupEvent(srv, GEN, { refund_deadline: '2020-01-01T00:00:00Z' });
        const p = await pendingOrder(late, { seats: late.seats.slice(0, 2) });
        assertStatus(await confirm(srv, p.order, 'pm_card_visa'), 200, 'paid');
        const refused = await srv.post(`/api/v1/orders/${p.order.id}/cancel?secret=${p.order.secret}`, {});
        assertError(refused, 409, 'INVALID_STATE', 'past the deadline');
        assert.equal(refused.body.error.details.refund_deadline, '2020-01-01T00:00:00Z');
        const byBuyer = await pendingOrder(ev);
        assertStatus(await confirm(srv, byBuyer.order, 'pm_card_visa'), 200, 'paid');
        const ok = await srv.post(`/api/v1/orders/${byBuyer.order.id}/cancel`, { secret: byBuyer.order.secret });
        assertStatus(ok, 200, 'buyer within the deadline');
        assert.equal(ok.body.order.status, 'refunded');
    });
});

describe('check-in', () => {
    it('ok once, already_used, invalid, wrong event, voided, and who may scan', async () => {
        const { order } = await pendingOrder();
        const paid = (await confirm(srv, order, 'pm_card_visa')).body.order;
        const [t1, t2] = paid.tickets;
        const staff = await srv.post(`/api/v1/events/${ev.event.id}/staff-tokens`, { name: 'Gate A' }, { admin: true });
        assertStatus(staff, 201, 'staff token');
        assert.match(staff.body.token, /^stf_[0-9a-f]{64}$/);
        assertError(await srv.post(`/api/v1/events/${ev.event.id}/staff-tokens`, {}), 401, 'UNAUTHORIZED', 'no admin');
        const scan = (code, token = staff.body.token) => srv.post('/api/v1/checkin', { code }, { admin: token });

        const ok = await scan(t1.code);
        assertStatus(ok, 200, 'first scan');
        assert.equal(ok.body.result, 'ok');
        assert.equal(ok.body.ticket.id, t1.id);
        assert.equal(ok.body.ticket.seat, t1.seat);
        const again = await scan(`  ${t1.code}\n`);
        assert.equal(again.status, 409, again.text);
        assert.equal(again.body.result, 'already_used');
        assert.equal(again.body.error.code, 'ALREADY_USED');
        assert.equal(again.body.first_checked_in_at, ok.body.checked_in_at);
        // durable: the order shows it
        const o = (await getOrder(srv, order)).body.order;
        assert.equal(o.tickets.find((t) => t.id === t1.id).status, 'used');
        // a buyer cannot get a refund for an order whose ticket was used
        const cancel = await srv.post(`/api/v1/orders/${order.id}/cancel?secret=${order.secret}`, {});
        assertError(cancel, 409, 'INVALID_STATE', 'refund after entry');

        const forged = t2.code.slice(0, 60) + (t2.code[60] === 'A' ? 'B' : 'A') + t2.code.slice(61);
        const inv = await scan(forged);
        assert.equal(inv.status, 422, inv.text);
        assert.equal(inv.body.result, 'invalid');
        assert.equal(inv.body.error.code, 'INVALID_TICKET');
        const junk = await scan('hello');
        assert.equal(junk.body.result, 'invalid');
        assertError(await srv.post('/api/v1/checkin', { code: 42 }, { admin: staff.body.token }), 400, 'INVALID_REQUEST', 'code not a string');

        const other = await setupEvent(srv, GEN);
        const otherStaff = await srv.post(`/api/v1/events/${other.event.id}/staff-tokens`, {}, { admin: true });
        const wrong = await scan(t2.code, otherStaff.body.token);
        assert.equal(wrong.status, 409, wrong.text);
        assert.equal(wrong.body.result, 'wrong_event');
        assertError(await srv.post('/api/v1/checkin', { code: t2.code }), 401, 'UNAUTHORIZED', 'no token');
        assertError(await scan(t2.code, 'stf_' + '0'.repeat(64)), 403, 'FORBIDDEN', 'unknown staff token');

        // the admin token scans any event
        const byAdmin = await srv.post('/api/v1/checkin', { code: t2.code }, { admin: true });
        assertStatus(byAdmin, 200, 'admin scan');

        // voided after a refund
        const p2 = await pendingOrder();
        const paid2 = (await confirm(srv, p2.order, 'pm_card_visa')).body.order;
        assertStatus(await srv.post(`/api/v1/orders/${p2.order.id}/cancel`, {}, { admin: true }), 200, 'refund');
        const v = await scan(paid2.tickets[0].code);
        assert.equal(v.status, 410, v.text);
        assert.equal(v.body.result, 'voided');
        assert.equal(v.body.error.code, 'TICKET_VOIDED');
    });

    it('simultaneous scans of one ticket: exactly one is ok', async () => {
        const { order } = await pendingOrder();
        const paid = (await confirm(srv, order, 'pm_card_visa')).body.order;
        const code = paid.tickets[0].code;
        const results = await Promise.all(Array.from({ length: 12 }, () => srv.post('/api/v1/checkin', { code }, { admin: true })));
        assert.equal(results.filter((r) => r.body.result === 'ok').length, 1);
        assert.equal(results.filter((r) => r.body.result === 'already_used').length, 11);
    });

    it('staff tokens are listed and revoked for good, across a restart too', async () => {
        const own = await startShop();
        try {
            const s = own.srv;
            const e = await setupEvent(s, GEN);
            const h = await hold(s, e.event.id, { seats: e.seats.slice(0, 2) });
            const c = await checkout(s, h.body.hold.id);
            const paid = (await confirm(s, c.body.order, 'pm_card_visa')).body.order;
            const path = `/api/v1/events/${e.event.id}/staff-tokens`;
            const a = await s.post(path, { name: 'Gate A' }, { admin: true });
            const b = await s.post(path, { name: 'Gate B' }, { admin: true });
            assertStatus(a, 201, 'token A');
            assertStatus(b, 201, 'token B');
            assert.match(a.body.id, /^stt_[0-9a-f]{32}$/);
            const list = await s.get(path, { admin: true });
            assertStatus(list, 200, 'list');
            assert.deepEqual(list.body.staff_tokens.map((t) => t.name).sort(), ['Gate A', 'Gate B']);
            assert.ok(list.body.staff_tokens.every((t) => !('token' in t) && !('revoked_at' in t)), list.text);
            assertError(await s.get(path), 401, 'UNAUTHORIZED', 'list without the admin token');
            assertError(await s.del(`${path}/${a.body.id}`), 401, 'UNAUTHORIZED', 'revoke without the admin token');
            assertError(await s.del(`${path}/${a.body.id}`, { admin: a.body.token }), 403, 'FORBIDDEN', 'revoke with a staff token');
            assertError(await s.del(`${path}/stt_${'0'.repeat(32)}`, { admin: true }), 404, 'NOT_FOUND', 'unknown token id');
            const other = await setupEvent(s, GEN);
            assertError(await s.del(`/api/v1/events/${other.event.id}/staff-tokens/${a.body.id}`, { admin: true }), 404, 'NOT_FOUND', 'another event');

            const scan = (code, token) => s.post('/api/v1/checkin', { code }, { admin: token });
            assert.equal((await scan(paid.tickets[0].code, a.body.token)).body.result, 'ok');
            assert.equal((await s.del(`${path}/${a.body.id}`, { admin: true })).status, 204);
            assert.equal((await s.del(`${path}/${a.body.id}`, { admin: true })).status, 204, 'revoking again');
            assertError(await scan(paid.tickets[1].code, a.body.token), 403, 'FORBIDDEN', 'revoked token');
            const listed = (await s.get(path, { admin: true })).body.staff_tokens;
            assert.match(listed.find((t) => t.id === a.body.id).revoked_at, /^\d{4}-\d\d-\d\dT/);
            assert.ok(!('revoked_at' in listed.find((t) => t.id === b.body.id)));

            await s.restart();
            assertError(await scan(paid.tickets[1].code, a.body.token), 403, 'FORBIDDEN', 'revoked after a restart');
            assert.equal((await scan(paid.tickets[1].code, b.body.token)).body.result, 'ok');
            const after = (await s.get(path, { admin: true })).body.staff_tokens;
            assert.deepEqual(after.map((t) => [t.name, 'revoked_at' in t]).sort(), [['Gate A', true], ['Gate B', false]]);
        } finally {
            await own.stop();
        }
    });
});

describe('late payment', () => {
    it('money after the hold died: seats retaken when free, else refunded automatically', async () => {
        // no reconciler during the test: the money arrives only by webhook
        const late = await startShop({ args: ['--reconcile-ms', '600000'] });
        try {
            const s = late.srv;
            const e = await setupEvent(s, GEN, { hold_ttl_s: 30 });
            const flows = [];
            for (const seats of [e.seats.slice(0, 2), e.seats.slice(2, 4)]) {
                const h = await hold(s, e.event.id, { seats });
                const c = await checkout(s, h.body.hold.id, undefined, { intent: true });
                assertStatus(c, 201, 'checkout');
                // a decline hands the hold back with its remaining time (30 s)
                assertError(await confirm(s, c.body.order, '4000000000000002'), 402, 'PAYMENT_DECLINED', 'decline');
                flows.push({ seats, order: c.body.order, payment: c.body.payment });
            }
            await sleep(31000);
            const a = await availability(s, e.event.id);
            assert.ok(flows.every((f) => f.seats.every((id) => a.states[seatIndex(e, id)] === STATE.available)), 'holds expired');
            // someone else takes the second buyer's seats
            assertStatus(await hold(s, e.event.id, { seats: flows[1].seats, customer: { email: email('other') } }), 201, 'taken');
            const before0 = await late.sim.stats();
            for (const f of flows) {
                const g = await confirmAtGateway(late.sim, f.payment.intent_id, f.payment.client_secret, 'pm_card_visa');
                assert.equal(g.status, 200, JSON.stringify(g.body));
            }
            const paid = await waitOrder(s, flows[0].order, (o) => o.status === 'paid');
            assert.equal(paid.tickets.length, 2);
            const refunded = await waitOrder(s, flows[1].order, (o) => o.status === 'refunded_unavailable');
            assert.deepEqual(refunded.tickets, []);
            const a2 = await availability(s, e.event.id);
            assert.deepEqual(flows[0].seats.map((id) => a2.states[seatIndex(e, id)]), [STATE.sold, STATE.sold]);
            assert.deepEqual(flows[1].seats.map((id) => a2.states[seatIndex(e, id)]), [STATE.held, STATE.held]);
            const st = await late.sim.stats();
            assert.equal(st.captured_cents - before0.captured_cents, flows[0].order.amount.total_cents + flows[1].order.amount.total_cents);
            assert.equal(st.refunded_cents - before0.refunded_cents, flows[1].order.amount.total_cents);
        } finally {
            await late.stop();
        }
    });
});

describe('kill -9', () => {
    it('paid and pending orders survive; money paid while the server was down is settled at start', async () => {
        const crash = await startShop();
        try {
            const s = crash.srv;
            const e = await setupEvent(s, GEN);
            const flows = [];
            for (let i = 0; i < 3; i++) {
                const h = await hold(s, e.event.id, { seats: e.seats.slice(2 * i, 2 * i + 2) });
                const c = await checkout(s, h.body.hold.id, undefined, { intent: true });
                assertStatus(c, 201, 'checkout');
                flows.push(c.body);
            }
            const paid = await confirm(s, flows[0].order, 'pm_card_visa');
            assertStatus(paid, 200, 'paid before the crash');
            await s.kill9();
            // the buyer of flows[2] pays at the gateway while the server is down
            const g = await confirmAtGateway(crash.sim, flows[2].payment.intent_id, flows[2].payment.client_secret, 'pm_card_visa');
            assert.equal(g.status, 200);
            await s.launch();
            await rewire(crash);
            const o0 = (await getOrder(s, flows[0].order)).body.order;
            assert.equal(o0.status, 'paid');
            assert.deepEqual(o0.tickets.map((t) => t.code), paid.body.order.tickets.map((t) => t.code));
            // the keys survived: codes issued before the crash still scan
            const scan = await s.post('/api/v1/checkin', { code: o0.tickets[0].code }, { admin: true });
            assert.equal(scan.body.result, 'ok', scan.text);
            // the pending checkout goes on
            assert.equal((await getOrder(s, flows[1].order)).body.order.status, 'pending_payment');
            assertStatus(await confirm(s, flows[1].order, 'pm_card_visa'), 200, 'paid after the restart');
            // the reconciler found the money that came while the server was down
            const o2 = await waitOrder(s, flows[2].order, (o) => o.status === 'paid');
            assert.equal(o2.tickets.length, 2);
            const st = await crash.sim.stats();
            assert.equal(st.captured_cents - st.refunded_cents, flows.reduce((n, f) => n + f.order.amount.total_cents, 0));
        } finally {
            await crash.stop();
        }
    });
});

describe('report', () => {
    it('orders by status and sales over time', async () => {
        const { order } = await pendingOrder();
        assertStatus(await confirm(srv, order, 'pm_card_visa'), 200, 'paid');
        const r = await srv.get(`/api/v1/events/${ev.event.id}/report`, { admin: true });
        assertStatus(r, 200, 'report');
        assert.ok(r.body.orders.paid >= 1, JSON.stringify(r.body.orders));
        assert.ok(r.body.sales_over_time.length >= 1);
        const b = r.body.sales_over_time[0];
        assert.match(b.at, /^\d{4}-\d\d-\d\dT\d\d:00:00(\.000)?Z$/);
        assert.ok(b.orders >= 1 && b.tickets >= b.orders && b.revenue_cents > 0, JSON.stringify(b));
        const m = (await srv.get('/metrics')).text;
        const paidGauge = /^boxoffice_orders\{status="paid"\} (\d+)/m.exec(m);
        assert.ok(paidGauge && Number(paidGauge[1]) >= 1, 'orders gauge');
        const calls = /^boxoffice_gateway_calls_total (\d+)/m.exec(m);
        assert.ok(calls && Number(calls[1]) >= 2, 'gateway calls counted');
    });
});
