// checkout_load.test.mjs - the invariants of the payment half under load:
// 100 concurrent buyers run the whole flow on one event for 10 s with a mix
// of cards and endings (paid, declined then paid, three declines, abandoned,
// paid at the gateway by the browser, paid then refunded), against a real
// server and a real paysim. Afterwards, from the SQLite file, the API and
// the gateway's ledger: every paid order has exactly its tickets, tickets
// exist only for paid (or refunded, voided) orders, the sold seats are
// exactly the paid orders' seats and none twice, GA sold matches, and the
// gateway's captured minus refunded amounts equal the paid orders' totals.

import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { assertCountsAddUp, setupEvent } from './lib/api.mjs';
import { checkout, confirm, confirmAtGateway, email, getOrder, hold, startShop, storedOrders } from './lib/shop.mjs';

const SECONDS = Number(process.env.BOXOFFICE_CHECKOUT_LOAD_SECONDS || 10);
const BUYERS = Number(process.env.BOXOFFICE_CHECKOUT_LOAD_BUYERS || 100);
// 5 sections x 20 rows x 20 seats = 2,000 seats, one GA area of 500
const GEN = { sections: 5, rows: 20, seats: 20, ga: 1, ga_capacity: 500 };
const GOOD = ['pm_card_visa', '4242424242424242', 'pm_card_mastercard'];
const BAD = ['4000000000000002', '4000000000009995', 'pm_card_chargeDeclined'];

let shop, srv, sim, ev;
before(async () => {
    shop = await startShop();
    ({ srv, sim } = shop);
    ev = await setupEvent(srv, GEN);
});
after(async () => {
    if (shop) assert.deepEqual(await shop.stop(), { code: 0, signal: null });
});

const pick = (a) => a[Math.floor(Math.random() * a.length)];

function holdBody() {
    const r = Math.random();
    if (r < 0.4) {
        const i = Math.floor(Math.random() * (ev.seats.length - 1));
        return { seats: [ev.seats[i], ev.seats[i + 1]] };
    }
    if (r < 0.8) return { best_available: { quantity: 1 + Math.floor(Math.random() * 4) } };
    return { ga: { area: 'ga1', quantity: 1 + Math.floor(Math.random() * 3) } };
}

/** One buyer's whole flow; returns {scenario, status} of its order or null. */
async function flow(stats) {
    const h = await hold(srv, ev.event.id, { ...holdBody(), customer: { email: email('load') } });
    if (h.status !== 201) {
        assert.ok([409].includes(h.status), `hold: ${h.status} ${h.text}`);
        stats.refused++;
        return null;
    }
    const r = Math.random();
    // only a buyer who confirms at the gateway asks for the intent at checkout
    const c = await checkout(srv, h.body.hold.id, undefined, { intent: r >= 0.8 && r < 0.9 });
    assert.equal(c.status, 201, `checkout: ${c.text}`);
    const { order, payment } = c.body;
    let scenario, want;
    if (r < 0.5) {
        scenario = 'paid';
        want = 'paid';
        const p = await confirm(srv, order, pick(GOOD));
        assert.equal(p.status, 200, `confirm: ${p.text}`);
    } else if (r < 0.65) {
        scenario = 'declined-then-paid';
        want = 'paid';
        assert.equal((await confirm(srv, order, pick(BAD))).status, 402);
        assert.equal((await confirm(srv, order, pick(GOOD))).status, 200);
    } else if (r < 0.75) {
        scenario = 'three-declines';
        want = 'payment_failed';
        for (let i = 0; i < 3; i++) assert.equal((await confirm(srv, order, pick(BAD))).status, 402);
    } else if (r < 0.8) {
        scenario = 'abandoned';
        want = 'canceled';
        // a checked-out hold belongs to its order: released with the order's secret
        assert.equal((await srv.del(`/api/v1/holds/${h.body.hold.id}`, { headers: { 'x-order-secret': order.secret } })).status, 204);
    } else if (r < 0.9) {
        scenario = 'paid-at-gateway';
        want = 'paid';
        const g = await confirmAtGateway(sim, payment.intent_id, payment.client_secret, pick(['pm_card_visa', 'pm_card_mastercard']));
        assert.equal(g.status, 200, JSON.stringify(g.body));
        const p = await confirm(srv, order); // races the webhook
        assert.equal(p.status, 200, `confirm after gateway: ${p.text}`);
    } else {
        scenario = 'refunded';
        want = 'refunded';
        assert.equal((await confirm(srv, order, pick(GOOD))).status, 200);
        const byAdmin = Math.random() < 0.5;
        const cancel = byAdmin
            ? await srv.post(`/api/v1/orders/${order.id}/cancel`, {}, { admin: true })
            : await srv.post(`/api/v1/orders/${order.id}/cancel?secret=${order.secret}`, {});
        assert.equal(cancel.status, 200, `cancel: ${cancel.text}`);
    }
    stats[scenario] = (stats[scenario] || 0) + 1;
    return { order, scenario, want };
}

async function buyer(until, stats, flows) {
    while (Date.now() < until) {
        const f = await flow(stats);
        if (f) flows.push(f);
    }
}

it(`${BUYERS} buyers for ${SECONDS} s: tickets, seats and money add up`, { timeout: 240000 }, async () => {
    const stats = { refused: 0 };
    const flows = [];
    const until = Date.now() + SECONDS * 1000;
    await Promise.all(Array.from({ length: BUYERS }, () => buyer(until, stats, flows)));
    assert.ok(flows.length >= BUYERS, `flows: ${JSON.stringify(stats)}`);

    // every flow ended where its buyer left it (webhooks may still be settling)
    const deadline = Date.now() + 30000;
    for (const f of flows) {
        let o;
        for (;;) {
            o = (await getOrder(srv, f.order)).body.order;
            if (o.status === f.want || Date.now() > deadline) break;
            await new Promise((r) => setTimeout(r, 100));
        }
        assert.equal(o.status, f.want, `${f.scenario}: ${JSON.stringify(o).slice(0, 400)}`);
    }

    // the database: orders, sold seats, GA counters
    const orders = await storedOrders(srv);
    const eventOrders = orders.filter((o) => o.event === ev.event.id);
    assert.equal(eventOrders.length, flows.length, 'one order per checkout');
    const paid = eventOrders.filter((o) => o.status === 'paid');
    const soldSeats = new Map();
    let gaPaid = 0;
    for (const o of paid) {
        const places = o.seats.length + o.ga.reduce((n, [, q]) => n + q, 0);
        assert.equal(o.tickets.length, places, `order ${o.id}: one ticket per place`);
        assert.deepEqual(o.tickets.filter((t) => t.seat >= 0).map((t) => t.seat).sort((a, b) => a - b), [...o.seats].sort((a, b) => a - b));
        for (const s of o.seats) {
            assert.ok(!soldSeats.has(s), `seat ${s} in ${soldSeats.get(s)} and ${o.id}`);
            soldSeats.set(s, o.id);
        }
        gaPaid += o.ga.reduce((n, [, q]) => n + q, 0);
    }
    for (const o of eventOrders.filter((x) => x.status !== 'paid')) {
        assert.ok(['payment_failed', 'canceled', 'refunded', 'expired', 'refunded_unavailable'].includes(o.status), o.status);
        if (o.status !== 'refunded') assert.equal(o.tickets.length, 0, `${o.status} order ${o.id} has no tickets`);
    }
    const soldRows = await srv.sql('SELECT seat FROM sold');
    assert.deepEqual(soldRows.map((r) => r.seat).sort((a, b) => a - b), [...soldSeats.keys()].sort((a, b) => a - b), 'sold = paid seats');
    const ga = await srv.sql('SELECT sold FROM ga');
    assert.equal(ga.reduce((n, r) => n + r.sold, 0), gaPaid, 'GA sold = paid GA places');

    // the API agrees
    const detail = await srv.get(`/api/v1/events/${ev.event.id}`);
    const counts = (detail.body.event || detail.body).availability;
    assertCountsAddUp(counts, 'event counts');
    assert.equal(counts.sold, soldSeats.size + gaPaid, 'the event counts seats and GA places sold');
    const report = await srv.get(`/api/v1/events/${ev.event.id}/report`, { admin: true });
    assert.equal(report.body.seats.sold, soldSeats.size);
    assert.equal(report.body.orders.paid, paid.length);
    assert.equal(
        report.body.sales_over_time.reduce((n, b) => n + b.orders, 0),
        eventOrders.filter((o) => o.paid > 0).length,
        'sales over time count every order that was paid',
    );

    // the money: captured - refunded = paid orders' totals
    const st = await sim.stats();
    const paidTotal = paid.reduce((n, o) => n + o.amount, 0);
    assert.equal(st.captured_cents - st.refunded_cents, paidTotal, `gateway ${JSON.stringify(st)}`);
    console.log(`# flows ${flows.length}: ${JSON.stringify(stats)}; paid ${paid.length}, ${paidTotal} cents`);
});
