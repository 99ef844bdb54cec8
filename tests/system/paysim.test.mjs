// paysim.test.mjs - wire compatibility of build/boxoffice-paysim with
// Stripe's API, checked by a peer nobody here wrote: the official `stripe`
// npm client (pinned in package.json) pointed at paysim over plain HTTP,
// plus raw HTTP for what a client library never sends (bad auth, broken
// forms) and a local receiver for the signed webhooks.
//
//   make build/boxoffice-paysim && node --test tests/system/paysim.test.mjs

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Stripe from 'stripe';

import { Paysim, WebhookReceiver, sleep } from './lib/paysim.mjs';

let sim; // one paysim for the whole file (each test makes its own intents)
let stripe; // maxNetworkRetries 0: every outcome is exactly one call
let hooks;

const client = (key, extra = {}) =>
    new Stripe(key, { host: '127.0.0.1', port: sim.port, protocol: 'http', maxNetworkRetries: 0, ...extra });

const card = (number) => ({ type: 'card', card: { number, exp_month: 12, exp_year: 2034, cvc: '123' } });

/** The error a promise rejects with (fails when it resolves). */
async function rejection(promise) {
    try {
        const v = await promise;
        assert.fail(`expected an error, got ${JSON.stringify(v).slice(0, 300)}`);
    } catch (e) {
        if (e instanceof assert.AssertionError) throw e;
        return e;
    }
}

async function newIntent(params = {}) {
    return stripe.paymentIntents.create({ amount: 1000, currency: 'eur', ...params });
}

before(async () => {
    sim = await Paysim.start();
    stripe = client(sim.secretKey);
    hooks = await WebhookReceiver.start();
});

after(async () => {
    await hooks?.close();
    await sim?.cleanup();
});

test('create: a PaymentIntent in Stripe shape, requires_payment_method', async () => {
    const t0 = Math.floor(Date.now() / 1000);
    const pi = await stripe.paymentIntents.create({
        amount: 2500,
        currency: 'EUR',
        description: 'order ord_1',
        metadata: { order_id: 'ord_1', seats: '3' },
        payment_method_types: ['card'],
    });
    assert.match(pi.id, /^pi_[A-Za-z0-9]{24}$/);
    assert.match(pi.client_secret, new RegExp(`^${pi.id}_secret_[A-Za-z0-9]{24}$`));
    assert.equal(pi.object, 'payment_intent');
    assert.equal(pi.amount, 2500);
    assert.equal(pi.amount_received, 0);
    assert.equal(pi.currency, 'eur');
    assert.equal(pi.status, 'requires_payment_method');
    assert.equal(pi.description, 'order ord_1');
    assert.deepEqual(pi.metadata, { order_id: 'ord_1', seats: '3' });
    assert.equal(pi.livemode, false);
    assert.equal(pi.latest_charge, null);
    assert.equal(pi.last_payment_error, null);
    assert.equal(pi.payment_method, null);
    assert.ok(Math.abs(pi.created - t0) <= 5, `created ${pi.created} vs now ${t0}`);
    assert.match(pi.lastResponse.requestId, /^req_/);
    const again = await stripe.paymentIntents.retrieve(pi.id);
    assert.deepEqual(again.metadata, pi.metadata);
    assert.equal(again.status, 'requires_payment_method');
});

test('create: amount, currency and parameters are validated (400, nothing created)', async () => {
    const before_ = (await sim.stats()).intents.total;
    const cases = [
        [{ currency: 'eur' }, 'parameter_missing', 'amount'],
        [{ amount: 0, currency: 'eur' }, 'amount_too_small', 'amount'],
        [{ amount: 100000000, currency: 'eur' }, 'amount_too_large', 'amount'],
        [{ amount: 'ten', currency: 'eur' }, 'parameter_invalid_integer', 'amount'],
        [{ amount: 100 }, 'parameter_missing', 'currency'],
        [{ amount: 100, currency: 'euro' }, undefined, 'currency'],
        [{ amount: 100, currency: 'eur', colour: 'red' }, 'parameter_unknown', 'colour'],
        [{ amount: 100, currency: 'eur', confirm: 'maybe' }, undefined, 'confirm'],
        [{ amount: 100, currency: 'eur', payment_method: 'pm_nope' }, 'resource_missing', 'payment_method'],
    ];
    for (const [params, code, param] of cases) {
        const e = await rejection(stripe.paymentIntents.create(params));
        assert.equal(e.type, 'StripeInvalidRequestError', JSON.stringify(params));
        assert.equal(e.statusCode, 400);
        assert.equal(e.code, code, JSON.stringify(params));
        assert.equal(e.param, param, JSON.stringify(params));
    }
    const ok = await stripe.paymentIntents.create({ amount: 99999999, currency: 'jpy' });
    assert.equal(ok.amount, 99999999);
    assert.equal((await sim.stats()).intents.total, before_ + 1);
});

test('confirm with pm_card_visa: succeeded, amount received, a captured charge', async () => {
    const pi = await newIntent({ amount: 4200 });
    const paid = await stripe.paymentIntents.confirm(pi.id, { payment_method: 'pm_card_visa' });
    assert.equal(paid.status, 'succeeded');
    assert.equal(paid.amount_received, 4200);
    assert.match(paid.latest_charge, /^ch_[A-Za-z0-9]{24}$/);
    assert.match(paid.payment_method, /^pm_[A-Za-z0-9]{24}$/);
    assert.equal(paid.last_payment_error, null);
    const ch = await stripe.charges.retrieve(paid.latest_charge);
    assert.equal(ch.object, 'charge');
    assert.equal(ch.status, 'succeeded');
    assert.equal(ch.captured, true);
    assert.equal(ch.paid, true);
    assert.equal(ch.amount, 4200);
    assert.equal(ch.amount_captured, 4200);
    assert.equal(ch.amount_refunded, 0);
    assert.equal(ch.payment_intent, pi.id);
    assert.equal(ch.payment_method_details.card.brand, 'visa');
    assert.equal(ch.payment_method_details.card.last4, '4242');
});

test('create with confirm=true and pm_card_mastercard succeeds in one call', async () => {
    const pi = await newIntent({ amount: 1234, currency: 'usd', payment_method: 'pm_card_mastercard', confirm: true });
    assert.equal(pi.status, 'succeeded');
    assert.equal(pi.amount_received, 1234);
    const ch = await stripe.charges.retrieve(pi.latest_charge);
    assert.equal(ch.payment_method_details.card.brand, 'mastercard');
    assert.equal(ch.payment_method_details.card.last4, '4444');
});

test('a decline is a 402 StripeCardError; the intent can be paid with another card', async () => {
    const pi = await newIntent({ amount: 777 });
    const e = await rejection(stripe.paymentIntents.confirm(pi.id, { payment_method: 'pm_card_visa_chargeDeclined' }));
    assert.equal(e.type, 'StripeCardError');
    assert.equal(e.statusCode, 402);
    assert.equal(e.code, 'card_declined');
    assert.equal(e.decline_code, 'generic_decline');
    assert.equal(e.message, 'Your card was declined.');
    assert.match(e.charge, /^ch_/);
    assert.equal(e.payment_intent.id, pi.id);
    assert.equal(e.payment_intent.status, 'requires_payment_method');
    assert.equal(e.payment_intent.last_payment_error.code, 'card_declined');
    assert.equal(e.payment_intent.last_payment_error.decline_code, 'generic_decline');
    assert.equal(e.payment_intent.last_payment_error.charge, e.charge);
    assert.equal(e.payment_intent.last_payment_error.type, 'card_error');
    assert.equal(e.payment_method.card.last4, '0002');

    const failed = await stripe.charges.retrieve(e.charge);
    assert.equal(failed.status, 'failed');
    assert.equal(failed.captured, false);
    assert.equal(failed.failure_code, 'card_declined');

    const e2 = await rejection(stripe.paymentIntents.confirm(pi.id, { payment_method: 'pm_card_visa_chargeDeclinedInsufficientFunds' }));
    assert.equal(e2.code, 'card_declined');
    assert.equal(e2.decline_code, 'insufficient_funds');
    assert.equal(e2.message, 'Your card has insufficient funds.');
    assert.notEqual(e2.charge, e.charge, 'every attempt makes its own failed charge');

    const mid = await stripe.paymentIntents.retrieve(pi.id);
    assert.equal(mid.status, 'requires_payment_method');
    assert.equal(mid.latest_charge, e2.charge);
    assert.equal(mid.last_payment_error.decline_code, 'insufficient_funds');

    const paid = await stripe.paymentIntents.confirm(pi.id, { payment_method: 'pm_card_mastercard' });
    assert.equal(paid.status, 'succeeded');
    assert.equal(paid.amount_received, 777);
    assert.equal(paid.last_payment_error, null);
    assert.notEqual(paid.latest_charge, e2.charge);
});

test("Stripe's test card numbers and test payment method names", async () => {
    const numbers = [
        ['4242424242424242', null, null],
        ['5555555555554444', null, null],
        ['4000000000000002', 'card_declined', 'generic_decline'],
        ['4000000000009995', 'card_declined', 'insufficient_funds'],
        ['4000000000000069', 'expired_card', 'expired_card'],
        ['4000000000000127', 'incorrect_cvc', 'incorrect_cvc'],
        ['4000000000000119', 'processing_error', 'processing_error'],
        ['4000000000009987', 'card_declined', 'lost_card'],
    ];
    for (const [number, code, decline] of numbers) {
        const pi = await newIntent();
        const call = stripe.paymentIntents.confirm(pi.id, { payment_method_data: card(number) });
        if (!code) {
            assert.equal((await call).status, 'succeeded', number);
            continue;
        }
        const e = await rejection(call);
        assert.equal(e.type, 'StripeCardError', number);
        assert.equal(e.code, code, number);
        assert.equal(e.decline_code, decline, number);
        assert.equal(e.payment_intent.status, 'requires_payment_method');
    }
    const names = [
        ['pm_card_visa_debit', null],
        ['pm_card_amex', null],
        ['pm_card_chargeDeclined', 'generic_decline'],
        ['pm_card_chargeDeclinedInsufficientFunds', 'insufficient_funds'],
        ['pm_card_chargeDeclinedExpiredCard', 'expired_card'],
        ['pm_card_chargeDeclinedIncorrectCvc', 'incorrect_cvc'],
        ['pm_card_chargeDeclinedProcessingError', 'processing_error'],
        ['pm_card_visa_chargeDeclinedStolenCard', 'stolen_card'],
    ];
    for (const [name, decline] of names) {
        const pi = await newIntent();
        const call = stripe.paymentIntents.confirm(pi.id, { payment_method: name });
        if (!decline) assert.equal((await call).status, 'succeeded', name);
        else assert.equal((await rejection(call)).decline_code, decline, name);
    }
    // a number failing the Luhn check, a non-test number
    const pi = await newIntent();
    const bad = await rejection(stripe.paymentIntents.confirm(pi.id, { payment_method_data: card('4242424242424241') }));
    assert.equal(bad.type, 'StripeCardError');
    assert.equal(bad.code, 'incorrect_number');
    const live = await rejection(stripe.paymentIntents.confirm(pi.id, { payment_method_data: card('4111111111111111') }));
    assert.equal(live.decline_code, 'test_mode_live_card');
    assert.equal((await stripe.paymentIntents.confirm(pi.id, { payment_method_data: card('4242 4242 4242 4242') })).status, 'succeeded');
});

test('confirming or canceling a finished intent: 400 payment_intent_unexpected_state', async () => {
    const paid = await newIntent({ payment_method: 'pm_card_visa', confirm: true });
    let e = await rejection(stripe.paymentIntents.confirm(paid.id, { payment_method: 'pm_card_visa' }));
    assert.equal(e.type, 'StripeInvalidRequestError');
    assert.equal(e.statusCode, 400);
    assert.equal(e.code, 'payment_intent_unexpected_state');
    assert.equal(e.payment_intent.status, 'succeeded');
    e = await rejection(stripe.paymentIntents.cancel(paid.id));
    assert.equal(e.code, 'payment_intent_unexpected_state');

    const open = await newIntent();
    const canceled = await stripe.paymentIntents.cancel(open.id, { cancellation_reason: 'abandoned' });
    assert.equal(canceled.status, 'canceled');
    assert.equal(canceled.cancellation_reason, 'abandoned');
    assert.ok(canceled.canceled_at > 0);
    e = await rejection(stripe.paymentIntents.confirm(open.id, { payment_method: 'pm_card_visa' }));
    assert.equal(e.code, 'payment_intent_unexpected_state');
    assert.equal(e.payment_intent.status, 'canceled');
    e = await rejection(stripe.paymentIntents.cancel(open.id));
    assert.equal(e.code, 'payment_intent_unexpected_state');

    const attached = await newIntent({ payment_method: 'pm_card_visa' });
    assert.equal(attached.status, 'requires_confirmation');
    assert.equal((await stripe.paymentIntents.cancel(attached.id)).status, 'canceled');

    e = await rejection(stripe.paymentIntents.retrieve('pi_doesnotexist'));
    assert.equal(e.statusCode, 404);
    assert.equal(e.code, 'resource_missing');
    e = await rejection(stripe.paymentIntents.confirm(open.id + 'x', { payment_method: 'pm_card_visa' }));
    assert.equal(e.statusCode, 404);
});

test('list: newest first, limit, starting_after, ending_before, auto-pagination', async () => {
    const a = await newIntent({ amount: 101 });
    const b = await newIntent({ amount: 102 });
    const c = await newIntent({ amount: 103 });
    const first = await stripe.paymentIntents.list({ limit: 2 });
    assert.equal(first.object, 'list');
    assert.equal(first.has_more, true);
    assert.deepEqual(first.data.map((p) => p.id), [c.id, b.id]);
    const next = await stripe.paymentIntents.list({ limit: 2, starting_after: b.id });
    assert.equal(next.data[0].id, a.id);
    const back = await stripe.paymentIntents.list({ limit: 2, ending_before: a.id });
    assert.deepEqual(back.data.map((p) => p.id), [c.id, b.id]);
    assert.equal(back.has_more, false);
    let seen = 0;
    const ids = new Set();
    for await (const pi of stripe.paymentIntents.list({ limit: 7 })) {
        seen++;
        ids.add(pi.id);
    }
    const total = (await sim.stats()).intents.total;
    assert.equal(seen, total);
    assert.equal(ids.size, total);
    const e = await rejection(stripe.paymentIntents.list({ limit: 101 }));
    assert.equal(e.statusCode, 400);
});

test('refunds: full, partial, never more than captured', async () => {
    const pi = await newIntent({ amount: 1000, payment_method: 'pm_card_visa', confirm: true });
    const r1 = await stripe.refunds.create({ payment_intent: pi.id, amount: 300, metadata: { why: 'seat 1' } });
    assert.match(r1.id, /^re_[A-Za-z0-9]{24}$/);
    assert.equal(r1.object, 'refund');
    assert.equal(r1.status, 'succeeded');
    assert.equal(r1.amount, 300);
    assert.equal(r1.currency, 'eur');
    assert.equal(r1.payment_intent, pi.id);
    assert.equal(r1.charge, pi.latest_charge);
    assert.deepEqual(r1.metadata, { why: 'seat 1' });

    let e = await rejection(stripe.refunds.create({ payment_intent: pi.id, amount: 800 }));
    assert.equal(e.type, 'StripeInvalidRequestError');
    assert.equal(e.code, 'amount_too_large');
    assert.equal(e.param, 'amount');

    let ch = await stripe.charges.retrieve(pi.latest_charge);
    assert.equal(ch.amount_refunded, 300);
    assert.equal(ch.refunded, false);

    const r2 = await stripe.refunds.create({ payment_intent: pi.id });
    assert.equal(r2.amount, 700, 'no amount: the rest');
    ch = await stripe.charges.retrieve(pi.latest_charge);
    assert.equal(ch.amount_refunded, 1000);
    assert.equal(ch.refunded, true);
    e = await rejection(stripe.refunds.create({ payment_intent: pi.id, amount: 1 }));
    assert.equal(e.code, 'charge_already_refunded');

    assert.equal((await stripe.refunds.retrieve(r1.id)).amount, 300);
    const list = await stripe.refunds.list({ payment_intent: pi.id });
    assert.deepEqual(list.data.map((r) => r.id), [r2.id, r1.id]);

    const full = await newIntent({ amount: 5000, payment_method: 'pm_card_visa', confirm: true });
    const r3 = await stripe.refunds.create({ payment_intent: full.id, reason: 'requested_by_customer' });
    assert.equal(r3.amount, 5000);
    assert.equal(r3.reason, 'requested_by_customer');

    const unpaid = await newIntent();
    e = await rejection(stripe.refunds.create({ payment_intent: unpaid.id }));
    assert.equal(e.statusCode, 400);
    e = await rejection(stripe.refunds.create({ payment_intent: 'pi_nothere' }));
    assert.equal(e.code, 'resource_missing');
    e = await rejection(stripe.refunds.retrieve('re_nothere'));
    assert.equal(e.statusCode, 404);
});

test('Idempotency-Key: same call replays the stored answer, other params are refused', async () => {
    const key = `order-${Date.now()}-${Math.random()}`;
    const params = { amount: 1500, currency: 'eur', metadata: { order_id: 'ord_9' } };
    const a = await stripe.paymentIntents.create(params, { idempotencyKey: key });
    const b = await stripe.paymentIntents.create(params, { idempotencyKey: key });
    assert.equal(b.id, a.id);
    assert.equal(a.lastResponse.headers['idempotent-replayed'], undefined);
    assert.equal(b.lastResponse.headers['idempotent-replayed'], 'true');
    assert.equal(b.lastResponse.idempotencyKey, key);

    const e = await rejection(stripe.paymentIntents.create({ ...params, amount: 1600 }, { idempotencyKey: key }));
    assert.equal(e.type, 'StripeIdempotencyError');
    assert.equal(e.statusCode, 400);

    // a decline is stored too: the replay answers the same 402, no new charge
    const pi = await newIntent();
    const ckey = `confirm-${pi.id}`;
    const d1 = await rejection(stripe.paymentIntents.confirm(pi.id, { payment_method: 'pm_card_chargeDeclined' }, { idempotencyKey: ckey }));
    const d2 = await rejection(stripe.paymentIntents.confirm(pi.id, { payment_method: 'pm_card_chargeDeclined' }, { idempotencyKey: ckey }));
    assert.equal(d1.statusCode, 402);
    assert.equal(d2.statusCode, 402);
    assert.equal(d2.charge, d1.charge);
    assert.equal(d2.headers['idempotent-replayed'], 'true');
    assert.equal((await stripe.paymentIntents.retrieve(pi.id)).latest_charge, d1.charge);

    // a refused call (400) is not stored: the same key works once fixed
    const vkey = `v-${Date.now()}`;
    const bad = await sim.req('POST', '/v1/payment_intents', { form: { amount: '0', currency: 'eur' }, headers: { 'idempotency-key': vkey } });
    assert.equal(bad.status, 400);
    const good = await sim.req('POST', '/v1/payment_intents', { form: { amount: '100', currency: 'eur' }, headers: { 'idempotency-key': vkey } });
    assert.equal(good.status, 200, good.text);
    assert.equal(good.headers.get('idempotent-replayed'), null);
    assert.equal(good.headers.get('idempotency-key'), vkey);
});

/** The events of accepted deliveries, each verified against the secret. */
function verified(rx, secret) {
    return rx.deliveries.map((d) => stripe.webhooks.constructEvent(d.body, d.signature, secret));
}

test('webhooks: every type delivered, signed as Stripe signs', async () => {
    hooks.reset();
    await sim.config({ webhook_url: hooks.url, duplicate_webhooks: false, reorder_webhooks: false });
    const declined = await newIntent({ amount: 900 });
    await rejection(stripe.paymentIntents.confirm(declined.id, { payment_method: 'pm_card_visa_chargeDeclined' }));
    await hooks.waitFor(1);
    const paid = await stripe.paymentIntents.confirm(declined.id, { payment_method: 'pm_card_visa' });
    await hooks.waitFor(2);
    await stripe.refunds.create({ payment_intent: paid.id, amount: 400 });
    await hooks.waitFor(3);
    const open = await newIntent();
    await stripe.paymentIntents.cancel(open.id);
    await hooks.waitFor(4);

    const events = verified(hooks, sim.webhookSecret);
    assert.deepEqual(events.map((e) => e.type), [
        'payment_intent.payment_failed',
        'payment_intent.succeeded',
        'charge.refunded',
        'payment_intent.canceled',
    ]);
    for (const e of events) {
        assert.match(e.id, /^evt_[A-Za-z0-9]{24}$/);
        assert.equal(e.object, 'event');
        assert.equal(e.api_version, '2024-06-20');
        assert.equal(e.livemode, false);
        assert.ok(Number.isInteger(e.created));
    }
    assert.equal(events[0].data.object.id, declined.id);
    assert.equal(events[0].data.object.status, 'requires_payment_method');
    assert.equal(events[0].data.object.last_payment_error.decline_code, 'generic_decline');
    assert.equal(events[1].data.object.status, 'succeeded');
    assert.equal(events[1].data.object.amount_received, 900);
    const charge = events[2].data.object;
    assert.equal(charge.object, 'charge');
    assert.equal(charge.payment_intent, paid.id);
    assert.equal(charge.amount_refunded, 400);
    assert.equal(charge.refunded, false);
    assert.equal(events[3].data.object.status, 'canceled');

    const d = hooks.deliveries[0];
    assert.equal(d.method, 'POST');
    assert.match(d.headers['content-type'], /^application\/json/);
    assert.match(d.signature, /^t=\d+,v1=[0-9a-f]{64}$/);
    assert.throws(() => stripe.webhooks.constructEvent(d.body, d.signature, 'whsec_someoneelse0123456789'), (err) => err.type === 'StripeSignatureVerificationError');
    assert.throws(() => stripe.webhooks.constructEvent(d.body.replace('"livemode":false', '"livemode":true'), d.signature, sim.webhookSecret), (err) => err.type === 'StripeSignatureVerificationError');
});

test('webhooks: a failing receiver gets retries until it answers 2xx', async () => {
    hooks.reset();
    hooks.respond = (_d, i) => (i < 2 ? 503 : 200);
    const before_ = (await sim.stats()).webhooks;
    const pi = await newIntent({ payment_method: 'pm_card_visa', confirm: true });
    await hooks.waitFor(1, 15000);
    assert.equal(hooks.attempts, 3);
    assert.equal(hooks.refused.length, 2);
    const [ev] = verified(hooks, sim.webhookSecret);
    assert.equal(ev.data.object.id, pi.id);
    const gap1 = hooks.refused[1].at - hooks.refused[0].at;
    const gap2 = hooks.deliveries[0].at - hooks.refused[1].at;
    assert.ok(gap1 >= 150 && gap2 >= 300, `backoff grows: ${gap1.toFixed(0)} ms then ${gap2.toFixed(0)} ms`);
    const after_ = (await sim.stats()).webhooks;
    assert.equal(after_.retries - before_.retries, 2);
    assert.equal(after_.delivered - before_.delivered, 1);
});

test('webhooks: duplicate mode delivers every event twice', async () => {
    hooks.reset();
    await sim.config({ duplicate_webhooks: true });
    try {
        const pi = await newIntent({ payment_method: 'pm_card_visa', confirm: true });
        await hooks.waitFor(2);
        await sleep(300);
        const events = verified(hooks, sim.webhookSecret);
        assert.equal(events.length, 2);
        assert.equal(events[0].id, events[1].id, 'the same event, twice');
        assert.equal(events[0].data.object.id, pi.id);
    } finally {
        await sim.config({ duplicate_webhooks: false });
    }
});

test('webhooks: reorder mode holds events back and delivers the latest first', async () => {
    hooks.reset();
    await sim.config({ reorder_webhooks: true, reorder_ms: 1500 });
    try {
        const ids = [];
        const t0 = performance.now();
        for (let i = 0; i < 3; i++) ids.push((await newIntent({ payment_method: 'pm_card_visa', confirm: true })).id);
        assert.ok(performance.now() - t0 < 1500, 'the three payments fit in the window');
        await sleep(300);
        assert.equal(hooks.deliveries.length, 0, 'held back');
        await hooks.waitFor(3);
        const events = verified(hooks, sim.webhookSecret);
        assert.deepEqual(events.map((e) => e.data.object.id), ids.reverse());
    } finally {
        await sim.config({ reorder_webhooks: false });
    }
});

test('latency: every answer waits, without blocking other calls', async () => {
    const pi = await newIntent();
    await sim.config({ latency_ms: 400 });
    try {
        const t0 = performance.now();
        const results = await Promise.all(Array.from({ length: 6 }, () => sim.req('GET', `/v1/payment_intents/${pi.id}`)));
        const total = performance.now() - t0;
        for (const r of results) {
            assert.equal(r.status, 200);
            assert.ok(r.ms >= 390, `answered after ${r.ms.toFixed(0)} ms`);
        }
        assert.ok(total < 1500, `6 calls in parallel took ${total.toFixed(0)} ms: not serialised`);
        const health = await sim.req('GET', '/_sim/stats');
        assert.ok(health.ms < 300, 'the /_sim endpoints skip the latency');
    } finally {
        await sim.config({ latency_ms: 0 });
    }
    const quick = await sim.req('GET', `/v1/payment_intents/${pi.id}`);
    assert.ok(quick.ms < 300, `back to ${quick.ms.toFixed(0)} ms`);
});

test('fail rate: POSTs answer 500 api_error and change nothing', async () => {
    const before_ = await sim.stats();
    await sim.config({ fail_rate: 1 });
    try {
        const e = await rejection(newIntent());
        assert.equal(e.type, 'StripeAPIError');
        assert.equal(e.statusCode, 500);
        const g = await sim.req('GET', '/v1/payment_intents?limit=1');
        assert.equal(g.status, 200, 'GETs are not failed');
    } finally {
        await sim.config({ fail_rate: 0 });
    }
    const after_ = await sim.stats();
    assert.equal(after_.intents.total, before_.intents.total);
    assert.equal(after_.calls.faults.failed - before_.calls.faults.failed, 1);
});

test('fail-after rate: applied, answer lost; the retry with the same key gets the result', async () => {
    const before_ = (await sim.stats()).intents.total;
    const key = `lost-${Date.now()}`;
    await sim.config({ fail_after_rate: 1 });
    let e;
    try {
        e = await rejection(stripe.paymentIntents.create({ amount: 3100, currency: 'eur' }, { idempotencyKey: key }));
        // the replay itself is never failed: a client that retries on its own succeeds
        const retrying = client(sim.secretKey, { maxNetworkRetries: 2 });
        const pi = await retrying.paymentIntents.create({ amount: 3200, currency: 'eur' });
        assert.equal(pi.amount, 3200);
        assert.equal(pi.lastResponse.headers['idempotent-replayed'], 'true');
    } finally {
        await sim.config({ fail_after_rate: 0 });
    }
    assert.equal(e.statusCode, 500);
    assert.equal(e.type, 'StripeAPIError');
    const pi = await stripe.paymentIntents.create({ amount: 3100, currency: 'eur' }, { idempotencyKey: key });
    assert.equal(pi.amount, 3100);
    assert.equal(pi.lastResponse.headers['idempotent-replayed'], 'true');
    assert.equal((await sim.stats()).intents.total, before_ + 2, 'each operation applied exactly once');
});

test('timeout rate: the answer hangs past the client timeout', async () => {
    await sim.config({ timeout_rate: 1, timeout_ms: 2000 });
    try {
        const impatient = client(sim.secretKey, { timeout: 500 });
        const e = await rejection(impatient.paymentIntents.list({ limit: 1 }));
        assert.equal(e.type, 'StripeConnectionError');
    } finally {
        await sim.config({ timeout_rate: 0 });
    }
    assert.equal((await sim.req('GET', '/v1/payment_intents?limit=1')).status, 200);
});

test('authentication: Bearer and Basic; a wrong or missing key is 401', async () => {
    const wrong = client('sk_test_0000000000000000000000000000');
    const e = await rejection(wrong.paymentIntents.list());
    assert.equal(e.type, 'StripeAuthenticationError');
    assert.equal(e.statusCode, 401);
    assert.match(e.message, /^Invalid API Key provided: sk_test_\*\*\*\*0000$/);
    const none = await sim.req('GET', '/v1/payment_intents', { auth: false });
    assert.equal(none.status, 401);
    assert.equal(none.body.error.type, 'invalid_request_error');
    assert.match(none.body.error.message, /did not provide an API key/);
    const basic = await sim.req('GET', '/v1/payment_intents?limit=1', { auth: `Basic ${Buffer.from(`${sim.secretKey}:`).toString('base64')}` });
    assert.equal(basic.status, 200);
    const badBasic = await sim.req('GET', '/v1/payment_intents', { auth: `Basic ${Buffer.from('sk_test_nope:').toString('base64')}` });
    assert.equal(badBasic.status, 401);
    const garbage = await sim.req('GET', '/v1/payment_intents', { auth: 'Token abc' });
    assert.equal(garbage.status, 401);
    for (const path of ['/_sim/stats', '/_sim/config']) assert.equal((await sim.req('GET', path, { auth: false })).status, 401);
});

test('a browser confirms with the client_secret, across origins (CORS)', async () => {
    const pi = await newIntent({ amount: 2000 });
    const pre = await sim.req('OPTIONS', `/v1/payment_intents/${pi.id}/confirm`, {
        auth: false,
        headers: { origin: 'http://127.0.0.1:9', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
    });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers.get('access-control-allow-origin'), '*');
    assert.match(pre.headers.get('access-control-allow-methods'), /POST/);

    const noKey = await sim.req('POST', `/v1/payment_intents/${pi.id}/confirm`, { auth: false, form: { payment_method: 'pm_card_visa' } });
    assert.equal(noKey.status, 401);
    const wrong = await sim.req('POST', `/v1/payment_intents/${pi.id}/confirm`, {
        auth: false,
        form: { payment_method: 'pm_card_visa', client_secret: `${pi.id}_secret_wrongwrongwrongwrongwron` },
    });
    assert.equal(wrong.status, 400);
    assert.equal(wrong.body.error.param, 'client_secret');
    const got = await sim.req('GET', `/v1/payment_intents/${pi.id}?client_secret=${pi.client_secret}`, { auth: false, headers: { origin: 'http://127.0.0.1:9' } });
    assert.equal(got.status, 200);
    assert.equal(got.headers.get('access-control-allow-origin'), '*');
    const ok = await sim.req('POST', `/v1/payment_intents/${pi.id}/confirm`, {
        auth: false,
        headers: { origin: 'http://127.0.0.1:9' },
        form: { client_secret: pi.client_secret, 'payment_method_data[type]': 'card', 'payment_method_data[card][number]': '4242424242424242' },
    });
    assert.equal(ok.status, 200);
    assert.equal(ok.body.status, 'succeeded');
    assert.equal(ok.headers.get('access-control-allow-origin'), '*');
    const other = await newIntent();
    const cross = await sim.req('POST', `/v1/payment_intents/${other.id}/confirm`, { auth: false, form: { client_secret: pi.client_secret, payment_method: 'pm_card_visa' } });
    assert.equal(cross.status, 400, "one intent's secret does not open another");
    const cancel = await sim.req('POST', `/v1/payment_intents/${other.id}/cancel`, { auth: false, form: { client_secret: other.client_secret } });
    assert.equal(cancel.status, 401, 'only confirm and retrieve take a client_secret');
});

test('malformed form bodies get 400 invalid_request_error, never a crash', async () => {
    const many = Array.from({ length: 101 }, (_, i) => `metadata[k${i}]=v`).join('&');
    // each body and the reason it is refused for
    const bodies = [
        ['amount=%zz&currency=eur', /bad percent-encoding/],
        ['amount=10%00&currency=eur', /encoded NUL/],
        ['amount=%ff%fe&currency=eur', /Invalid UTF-8 in the value of amount/],
        ['amount=100&currency=eur&description=%C3', /Invalid UTF-8 in the value of description/],
        ['a[b]=1&a=2', /a is given both as a value and as a hash/],
        ['a=1&a[b]=2', /a\[b\] is given both as a value and as a hash/],
        ['amount=1&amount=2&currency=eur', /parameter amount more than once/],
        ['metadata[=1', /Invalid parameter name: metadata\[ /],
        ['metadata]x[=1', /Invalid parameter name/],
        ['[x]=1', /Invalid parameter name/],
        ['=1', /empty name/],
        ['a[b][c][d][e][f]=1', /at most 4 \[key\] parts/],
        [many, /more than 100 parameters/],
        ['amount=1&currency=eur&' + 'x'.repeat(70 * 1024), /larger than 65536 bytes/],
        ['description=' + 'y'.repeat(6000) + '&amount=1&currency=eur', /description is too long/],
        ['amount=100&currency=eur&metadata[' + 'k'.repeat(41) + ']=v', /Metadata keys must be at most 40/],
        ['amount=100&currency=eur&metadata=flat', /metadata must be a hash/],
        ['amount=100&currency=eur&payment_method_types=card', /must be a list/],
        ['amount=100&currency=eur&payment_method_types[]=sepa_debit', /sepa_debit is not supported/],
        ['amount=100&currency=eur&capture_method=manual', /does not simulate capture_method=manual/],
    ];
    const before_ = (await sim.stats()).intents.total;
    for (const [body, reason] of bodies) {
        const r = await sim.req('POST', '/v1/payment_intents', { body, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
        assert.equal(r.status, 400, `${body.slice(0, 60)}: ${r.text.slice(0, 200)}`);
        assert.equal(r.body.error.type, 'invalid_request_error', body.slice(0, 60));
        assert.match(r.body.error.message, reason, body.slice(0, 60));
    }
    const json = await sim.req('POST', '/v1/payment_intents', { body: '{"amount":100,"currency":"eur"}', headers: { 'content-type': 'application/json' } });
    assert.equal(json.status, 400);
    assert.match(json.body.error.message, /x-www-form-urlencoded/);
    const unknownPath = await sim.req('GET', '/v1/customers');
    assert.equal(unknownPath.status, 404);
    assert.equal(unknownPath.body.error.type, 'invalid_request_error');
    assert.equal((await sim.stats()).intents.total, before_, 'nothing was created');
    // brackets as the official clients send them, with indices
    const ok = await sim.req('POST', '/v1/payment_intents', {
        body: 'amount=100&currency=eur&payment_method_types[0]=card&metadata[a%20b]=c%26d&description=x+y',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    assert.equal(ok.status, 200, ok.text);
    assert.deepEqual(ok.body.metadata, { 'a b': 'c&d' });
    assert.equal(ok.body.description, 'x y');
    assert.equal((await sim.req('GET', '/healthz', { auth: false })).status, 200);
});

test('runtime config: bad settings are refused, form bodies work too', async () => {
    for (const body of [{ fail_rate: 2 }, { latency_ms: -1 }, { nonsense: 1 }, { webhook_url: 'ftp://x' }]) {
        const r = await sim.req('POST', '/_sim/config', { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
        assert.equal(r.status, 400, JSON.stringify(body));
    }
    const r = await sim.req('POST', '/_sim/config', { form: { latency_ms: '5', reorder_ms: '700' } });
    assert.equal(r.status, 200);
    assert.equal(r.body.latency_ms, 5);
    assert.equal(r.body.reorder_ms, 700);
    const back = await sim.config({ latency_ms: 0, reorder_ms: 500 });
    assert.equal(back.latency_ms, 0);
    assert.equal(back.fail_rate, 0);
});

test('a fresh paysim: key files created, options and environment, exact stats, SIGTERM exits 0', async () => {
    const rx = await WebhookReceiver.start();
    const fresh = await Paysim.start({
        secretKey: null,
        webhookSecret: null,
        webhookUrl: rx.url,
        env: { BOXOFFICE_PAYSIM_MAX_INTENTS: '5' },
    });
    try {
        assert.match(fresh.secretKey, /^sk_test_[A-Za-z0-9]{32}$/);
        assert.match(fresh.webhookSecret, /^whsec_[A-Za-z0-9]{32}$/);
        const s = client(fresh.secretKey, { port: fresh.port });
        const a = await s.paymentIntents.create({ amount: 1000, currency: 'eur', payment_method: 'pm_card_visa', confirm: true });
        await s.paymentIntents.create({ amount: 500, currency: 'usd', payment_method: 'pm_card_visa', confirm: true });
        await rejection(s.paymentIntents.create({ amount: 700, currency: 'eur', payment_method: 'pm_card_chargeDeclined', confirm: true }));
        const c = await s.paymentIntents.create({ amount: 50, currency: 'eur' });
        await s.paymentIntents.create({ amount: 60, currency: 'eur' });
        await s.paymentIntents.cancel(c.id);
        await s.refunds.create({ payment_intent: a.id, amount: 250 });
        const st = await fresh.stats();
        assert.deepEqual(st.intents, { total: 5, by_status: { requires_payment_method: 2, requires_confirmation: 0, succeeded: 2, canceled: 1 } });
        assert.equal(st.captured_cents, 1500);
        assert.equal(st.refunded_cents, 250);
        assert.deepEqual(st.by_currency, {
            eur: { intents: 4, captured_cents: 1000, refunded_cents: 250 },
            usd: { intents: 1, captured_cents: 500, refunded_cents: 0 },
        });
        assert.equal(st.charges, 3);
        assert.equal(st.refunds, 1);
        const full = await rejection(s.paymentIntents.create({ amount: 70, currency: 'eur' }));
        assert.equal(full.type, 'StripeAPIError');
        assert.equal(full.statusCode, 503, 'BOXOFFICE_PAYSIM_MAX_INTENTS=5 bounds the intents');
        assert.equal((await fresh.stats()).intents.total, 5);
        await rx.waitFor(5);
        const types = rx.deliveries.map((d) => s.webhooks.constructEvent(d.body, d.signature, fresh.webhookSecret).type);
        assert.deepEqual(types.sort(), ['charge.refunded', 'payment_intent.canceled', 'payment_intent.payment_failed', 'payment_intent.succeeded', 'payment_intent.succeeded']);
        assert.equal(st.webhooks.emitted, 5);
        const t0 = performance.now();
        const { code, signal } = await fresh.stop();
        assert.equal(code, 0);
        assert.equal(signal, null);
        assert.ok(performance.now() - t0 < 3000, 'a prompt exit');
    } finally {
        await fresh.cleanup();
        await rx.close();
    }
});

test('SIGTERM with answers and webhooks still pending: they go out, exit 0 promptly', async () => {
    const pi = await newIntent();
    await sim.config({ webhook_url: 'http://127.0.0.1:9/nobody-listens' });
    await stripe.paymentIntents.confirm(pi.id, { payment_method: 'pm_card_visa' }); // a webhook retried in vain
    await sim.config({ latency_ms: 5000 });
    const pending = sim.req('GET', `/v1/payment_intents/${pi.id}`, { timeoutMs: 8000 });
    await sleep(200);
    const t0 = performance.now();
    const { code, signal } = await sim.stop();
    const r = await pending;
    assert.equal(code, 0);
    assert.equal(signal, null);
    assert.equal(r.status, 200, 'the delayed answer was sent at the stop');
    assert.equal(r.body.status, 'succeeded');
    assert.ok(performance.now() - t0 < 3000, `exited ${(performance.now() - t0).toFixed(0)} ms after SIGTERM`);
});
