// abuse.test.mjs - the attacks of issue 11, each reproduced against a real
// `boxoffice serve` (and a real paysim) and refused or bounded. One
// top-level describe per part; each block starts what it needs.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as oa from './lib/order_abuse.mjs';

describe('orders and payments', () => {
    const GEN = { sections: 2, rows: 5, seats: 10, ga: 0 };
    let shop, srv, sim, ev, next = 0;
    const twoSeats = () => [ev.seats[next++], ev.seats[next++]];
    before(async () => {
        shop = await oa.startShop();
        ({ srv, sim } = shop);
        ev = await oa.setupEvent(srv, GEN);
    });
    after(async () => {
        if (shop) assert.deepEqual(await shop.stop(), { code: 0, signal: null }, 'graceful exit');
    });

    it('without the order\'s secret every order action answers exactly as an unknown order, and changes nothing', async () => {
        const paid = await oa.paidOrder(srv, ev.event.id, twoSeats());
        const { order: pending, payment } = await oa.pendingOrder(srv, ev.event.id, twoSeats());
        const staff = await oa.staffToken(srv, ev.event.id);
        const ticket = paid.tickets[0].id;
        const wrong = 'f'.repeat(32);
        // what a stranger may try: nothing, a wrong secret in every form, a
        // bearer that is no secret (a staff token, a wrong admin token)
        const creds = [
            ['no credentials', '', {}, {}],
            ['?secret= wrong', `?secret=${wrong}`, {}, {}],
            ['body secret wrong', '', {}, { secret: wrong }],
            ['X-Order-Secret wrong', '', { 'x-order-secret': wrong }, {}],
            ['Bearer wrong', '', { authorization: `Bearer ${wrong}` }, {}],
            ['Bearer staff token', '', { authorization: `Bearer ${staff}` }, {}],
            ['Bearer not a token', '', { authorization: 'Bearer x' }, {}],
            ['Basic', '', { authorization: 'Basic eDp5' }, {}],
        ];
        const actions = [
            ['GET', (id) => `/api/v1/orders/${id}`, null],
            ['GET', (id) => `/api/v1/orders/${id}/tickets/${ticket}/qr.svg`, null],
            ['POST', (id) => `/api/v1/orders/${id}/confirm`, {}],
            ['POST', (id) => `/api/v1/orders/${id}/confirm`, { payment_method: oa.DECLINE }],
            ['POST', (id) => `/api/v1/orders/${id}/cancel`, {}],
        ];
        let compared = 0;
        for (const [what, query, headers, body] of creds) {
            for (const [method, path, json] of actions) {
                const send = (id) => srv.req(method, path(id) + query, {
                    headers: { 'x-forwarded-for': oa.buyerAddress(), ...headers },
                    ...(json ? { json: { ...json, ...body } } : {}),
                });
                const unknown = await send(oa.unknownOrderId());
                oa.assertError(unknown, 404, 'NOT_FOUND', `${what}: ${method} ${path('unknown')}`);
                for (const o of [paid, pending]) {
                    const res = await send(o.id);
                    oa.assertSameAnswer(res, unknown, `${what}: ${method} ${path(o.id)} answers as for an unknown order`);
                    compared++;
                }
            }
        }
        assert.equal(compared, creds.length * actions.length * 2);
        // nothing changed: the pending order took no payment and counted no failure
        const p = await oa.ownerView(srv, pending);
        assert.equal(p.status, 'pending_payment');
        assert.equal(p.payment_failures, 0, 'a card sent without the secret is no attempt');
        assert.equal(p.last_payment_error, null);
        const pi = await sim.req('GET', `/v1/payment_intents/${payment.intent_id}`);
        assert.equal(pi.body.status, 'requires_payment_method', 'the gateway never saw the card');
        const q = await oa.ownerView(srv, paid);
        assert.equal(q.status, 'paid');
        assert.ok(q.tickets.every((t) => t.status === 'valid'));
    });

    it('the secret works in each accepted form, and the admin token too', async () => {
        const paid = await oa.paidOrder(srv, ev.event.id, twoSeats());
        const qr = paid.tickets[0].qr_svg_url.replace(/\?.*$/, '');
        const forms = [
            ['?secret=', `?secret=${paid.secret}`, {}],
            ['X-Order-Secret', '', { 'x-order-secret': paid.secret }],
            ['Authorization: Bearer', '', { authorization: `Bearer ${paid.secret}` }],
            ['admin token', '', { authorization: `Bearer ${srv.token}` }],
        ];
        for (const [what, query, headers] of forms) {
            const get = await srv.get(`/api/v1/orders/${paid.id}${query}`, { headers });
            oa.assertStatus(get, 200, `GET with ${what}`);
            assert.equal(get.body.order.secret, paid.secret);
            assert.equal(get.headers.get('cache-control'), 'no-store');
            const svg = await srv.get(`${qr}${query}`, { headers });
            oa.assertStatus(svg, 200, `QR with ${what}`);
            assert.match(svg.headers.get('content-type'), /^image\/svg\+xml/);
            const conf = await srv.post(`/api/v1/orders/${paid.id}/confirm${query}`, {}, { headers });
            oa.assertStatus(conf, 200, `confirm with ${what}`);
            assert.equal(conf.body.order.status, 'paid');
        }
        const body = await srv.post(`/api/v1/orders/${paid.id}/confirm`, { secret: paid.secret });
        oa.assertStatus(body, 200, 'confirm with the body\'s secret');
        // cancel, by the buyer with the secret in a header
        const { order } = await oa.pendingOrder(srv, ev.event.id, twoSeats());
        const c = await srv.post(`/api/v1/orders/${order.id}/cancel`, {}, { headers: { 'x-order-secret': order.secret } });
        oa.assertStatus(c, 200, 'cancel with X-Order-Secret');
        assert.equal(c.body.order.status, 'canceled');
    });

    it('a checked-out hold belongs to its order: its id alone does not cancel the order', async () => {
        const seats = twoSeats();
        const { hold: h, order, payment } = await oa.pendingOrder(srv, ev.event.id, seats);
        const del = await srv.del(`/api/v1/holds/${h.id}`);
        oa.assertError(del, 409, 'INVALID_STATE', 'DELETE by hold id alone');
        assert.match(del.body.error.message, /cancel its order/);
        oa.assertError(await srv.del(`/api/v1/holds/${h.id}`, { headers: { 'x-order-secret': 'f'.repeat(32) } }), 409, 'INVALID_STATE', 'with a wrong secret');
        assert.equal((await oa.ownerView(srv, order)).status, 'pending_payment', 'the order lives on');
        assert.equal((await sim.req('GET', `/v1/payment_intents/${payment.intent_id}`)).body.status, 'requires_payment_method');
        const paid = await oa.confirm(srv, order, oa.VISA);
        oa.assertStatus(paid, 200, 'the buyer still pays');
        assert.equal(paid.body.order.status, 'paid');
        // with the order's secret (Bearer) the buyer may still abandon a checkout
        const other = await oa.pendingOrder(srv, ev.event.id, twoSeats());
        oa.assertStatus(await srv.del(`/api/v1/holds/${other.hold.id}`, { headers: { authorization: `Bearer ${other.order.secret}` } }), 204, 'DELETE with the secret');
        assert.equal((await oa.ownerView(srv, other.order)).status, 'canceled');
    });

    it('card attempts are limited per client address (429 with Retry-After); another address still pays', async () => {
        const attacker = '198.51.100.66';
        const fromAttacker = { headers: { 'x-forwarded-for': `203.0.113.9, ${attacker}` } }; // the left part is the client's own words
        const orders = [];
        for (let i = 0; i < 4; i++) orders.push((await oa.pendingOrder(srv, ev.event.id, twoSeats())).order);
        let attempts = 0;
        for (const o of orders) {
            for (let k = 0; k < 3 && attempts < 10; k++, attempts++) {
                const res = await oa.confirm(srv, o, oa.DECLINE, fromAttacker);
                oa.assertError(res, 402, 'PAYMENT_DECLINED', `attempt ${attempts + 1}`);
            }
        }
        const last = orders[3];
        assert.equal((await oa.ownerView(srv, last)).payment_failures, 1);
        const limited = await oa.confirm(srv, last, oa.DECLINE, fromAttacker);
        oa.assertError(limited, 429, 'RATE_LIMITED', 'the 11th card attempt from one address');
        const after_s = Number(limited.headers.get('retry-after'));
        assert.ok(Number.isInteger(after_s) && after_s >= 1 && after_s <= 60, `Retry-After: ${limited.headers.get('retry-after')}`);
        assert.equal(limited.body.error.details.limit_per_minute, 10);
        // a changing left part does not help: the address is the proxy's word
        const spoofed = await oa.confirm(srv, last, oa.DECLINE, { headers: { 'x-forwarded-for': `192.0.2.${Math.floor(Math.random() * 250)}, ${attacker}` } });
        oa.assertError(spoofed, 429, 'RATE_LIMITED', 'same client, another claimed origin');
        assert.equal((await oa.ownerView(srv, last)).payment_failures, 1, 'a refused attempt counts nothing');
        // a card-less confirm is no card attempt
        oa.assertStatus(await oa.confirm(srv, last, undefined, fromAttacker), 200, 'confirm without a card');
        // another address: the same order pays
        const ok = await oa.confirm(srv, last, oa.VISA, { headers: { 'x-forwarded-for': '198.51.100.67' } });
        oa.assertStatus(ok, 200, 'another address');
        assert.equal(ok.body.order.status, 'paid');
    });

    it('a stranger looping confirms of one order stalls no other buyer and not the gate (gateway at 150 ms)', async () => {
        const slow = await oa.startShop({ paysim: { args: ['--latency-ms', '150'] } });
        try {
            const s = slow.srv;
            const e = await oa.setupEvent(s, GEN);
            const staff = await oa.staffToken(s, e.event.id);
            const sold = await oa.paidOrder(s, e.event.id, e.seats.slice(0, 2));
            const { order: victim } = await oa.pendingOrder(s, e.event.id, e.seats.slice(2, 4));
            const ATTACK_MS = 6000, LOOPS = 200, ANON_LOOPS = 20;
            const t0 = performance.now();
            const attackOver = new Promise((r) => setTimeout(r, ATTACK_MS)).then(() => performance.now() - t0);
            // the worst case: confirms WITH the victim's secret (as its owner
            // could loop them), plus secret-less ones (a stranger's)
            const withSecret = oa.loop(LOOPS, () => s.post(`/api/v1/orders/${victim.id}/confirm`, { secret: victim.secret }), attackOver);
            const anonymous = oa.loop(ANON_LOOPS, () => s.post(`/api/v1/orders/${victim.id}/confirm`, {}), attackOver);
            await new Promise((r) => setTimeout(r, 1000)); // the attack is running
            // a keyed confirm refused as busy: the key is not spent on the refusal
            let busyKey = null;
            for (let i = 0; i < 50 && !busyKey; i++) {
                const key = `busy-${i}-${Math.random()}`;
                const res = await s.post(`/api/v1/orders/${victim.id}/confirm`, { secret: victim.secret }, { idem: key });
                if (res.status === 409) {
                    oa.assertError(res, 409, 'ORDER_BUSY', 'a keyed confirm while another runs');
                    assert.equal(res.headers.get('retry-after'), '1');
                    busyKey = key;
                }
            }
            assert.ok(busyKey, 'a keyed confirm met the running step');
            // meanwhile another buyer's whole checkout, and a check-in at the gate
            const buyer = oa.timed(async () => {
                const { order } = await oa.pendingOrder(s, e.event.id, e.seats.slice(4, 6));
                const paid = await oa.confirm(s, order, oa.VISA);
                return [paid, performance.now() - t0];
            });
            const scan = (code) => s.post('/api/v1/checkin', { code }, { admin: staff });
            const gate = oa.timed(async () => [await scan(sold.tickets[0].code), performance.now() - t0]);
            const [gateMs, [admitted, gateDoneAt]] = await gate;
            const [againMs, again] = await oa.timed(() => scan(sold.tickets[0].code));
            const [buyerMs, [paid, buyerDoneAt]] = await buyer;
            const attackMs = await attackOver;
            const [own, anon] = await Promise.all([withSecret, anonymous]);

            oa.assertStatus(paid, 200, 'the other buyer pays');
            assert.equal(paid.body.order.status, 'paid');
            oa.assertStatus(admitted, 200, 'check-in');
            assert.equal(admitted.body.result, 'ok', 'admitted');
            oa.assertError(again, 409, 'ALREADY_USED', 'scanned again');
            assert.equal(again.body.result, 'already_used');
            // they did not queue behind the attack: both ended while it went on
            assert.ok(buyerDoneAt < attackMs && gateDoneAt < attackMs, `buyer done at ${buyerDoneAt.toFixed(0)} ms, gate at ${gateDoneAt.toFixed(0)} ms, attack until ${attackMs.toFixed(0)} ms`);
            // the looping confirms were refused at once, not queued
            assert.ok(own.code.ORDER_BUSY > 0, `409 ORDER_BUSY answers: ${JSON.stringify(own)}`);
            assert.deepEqual(Object.keys(own.status).sort(), ['200', '409'], `only answers and busy refusals: ${JSON.stringify(own.status)}`);
            assert.equal(own.status[409], own.code.ORDER_BUSY);
            assert.deepEqual(anon.status, { 404: anon.total }, 'secret-less confirms: 404, never near the gateway');
            const v = await oa.ownerView(s, victim);
            assert.equal(v.status, 'pending_payment');
            assert.equal(v.payment_failures, 0);
            // the busy key runs now, and its answer is then replayed once stored
            const first = await s.post(`/api/v1/orders/${victim.id}/confirm`, { secret: victim.secret }, { idem: busyKey });
            oa.assertStatus(first, 200, 'the key refused as busy runs later');
            assert.equal(first.headers.get('idempotent-replayed'), null);
            const replay = await s.post(`/api/v1/orders/${victim.id}/confirm`, { secret: victim.secret }, { idem: busyKey });
            oa.assertStatus(replay, 200, 'replayed');
            assert.equal(replay.headers.get('idempotent-replayed'), 'true');
            assert.equal(replay.text, first.text);
            console.log(`stall attack, gateway 150 ms, ${LOOPS} looping confirms with the secret + ${ANON_LOOPS} without, ${(attackMs / 1000).toFixed(1)} s:`);
            console.log(`  with the secret: ${own.total} answers, ${own.status[200] || 0} x 200 (one step at a time), ${own.code.ORDER_BUSY} x 409 ORDER_BUSY; without: ${anon.total} x 404`);
            console.log(`  check-in ${gateMs.toFixed(0)} ms (again: ${againMs.toFixed(0)} ms); the other buyer's hold+checkout+confirm ${buyerMs.toFixed(0)} ms`);
        } finally {
            await slow.stop();
        }
    });
});
