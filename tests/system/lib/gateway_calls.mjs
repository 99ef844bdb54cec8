// gateway_calls.mjs - what the 'gateway calls' block of bounds.test.mjs
// needs: buyers each on a client address of their own, the gateway's
// request count as paysim keeps it, the server's /metrics read by name.

import assert from 'node:assert/strict';
import { assertStatus } from './api.mjs';
import { buyerAddress, checkout, email } from './shop.mjs';

/** hold -> checkout from one new client address (X-Forwarded-For through
 * loopback, a trusted proxy), without asking for the intent unless
 * opts.intent; resolves to {hold, order, payment, address}. */
export async function buyerCheckout(srv, eventId, holdBody, opts = {}) {
    const address = buyerAddress();
    const headers = { 'x-forwarded-for': address };
    const h = await srv.post(`/api/v1/events/${eventId}/holds`, { customer: { email: email('gw') }, ...holdBody }, { headers });
    assertStatus(h, 201, 'hold');
    const c = await checkout(srv, h.body.hold.id, { email: email('gw'), name: 'Buyer' }, { headers, intent: opts.intent });
    assertStatus(c, 201, 'checkout');
    return { hold: h.body.hold, order: c.body.order, payment: c.body.payment, address };
}

/** Run fn(i) for i in 0..n-1, at most width at a time; resolves to the results. */
export async function inBatches(n, width, fn) {
    const out = [];
    for (let i = 0; i < n; i += width) out.push(...(await Promise.all(Array.from({ length: Math.min(width, n - i) }, (_, k) => fn(i + k)))));
    return out;
}

/** Requests paysim answered on its /v1 API so far (every caller's). */
export async function gatewayCalls(sim) {
    return (await sim.stats()).calls.total;
}

/** One sample of the server's /metrics (name with its labels, if any). */
export async function metric(srv, name) {
    const res = await srv.get('/metrics');
    assertStatus(res, 200, '/metrics');
    const esc = name.replace(/[{}"\\]/g, (c) => `\\${c}`);
    const m = res.text.match(new RegExp(`^${esc} (\\S+)$`, 'm'));
    assert.ok(m, `${name} in /metrics`);
    return Number(m[1]);
}

/** Poll until pred() resolves true, or fail after timeoutMs saying what. */
export async function until(pred, what, timeoutMs = 30000) {
    const end = Date.now() + timeoutMs;
    while (!(await pred())) {
        if (Date.now() > end) throw new Error(`never: ${what}`);
        await new Promise((r) => setTimeout(r, 50));
    }
}
