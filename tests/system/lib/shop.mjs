// shop.mjs - a boxoffice server wired to a real paysim (the payment half of
// the system tests and of bench-checkout), and the buyer's steps: hold,
// checkout, confirm with a card, read the order; plus webhook helpers that
// sign like Stripe.

import { createHmac, createPublicKey, verify as edVerify } from 'node:crypto';
import { Server } from './server.mjs';
import { Paysim } from './paysim.mjs';

/**
 * Start paysim, then a server paying through it (webhooks from paysim to
 * the server's /api/v1/payments/webhook). opts: server (Server options),
 * paysim (Paysim options), args (more server arguments).
 * Resolves to {srv, sim, stop()}.
 */
export async function startShop(opts = {}) {
    const sim = await Paysim.start(opts.paysim || {});
    const srv = await Server.start({
        threads: 2,
        ...(opts.server || {}),
        args: [
            '--payment', `sim:${sim.url}`,
            '--payment-secret-key-file', sim.keyFile,
            '--payment-webhook-secret-file', sim.webhookSecretFile,
            ...(opts.args || []),
        ],
    });
    await sim.config({ webhook_url: `${srv.url}/api/v1/payments/webhook` });
    return {
        srv,
        sim,
        async stop() {
            const exit = await srv.stop();
            await srv.cleanup();
            await sim.stop();
            await sim.cleanup();
            return exit;
        },
    };
}

/** After a restart the server has a new port: tell paysim. */
export async function rewire(shop) {
    await shop.sim.config({ webhook_url: `${shop.srv.url}/api/v1/payments/webhook` });
}

export const email = (tag = 'buyer') => `${tag}-${Math.random().toString(16).slice(2)}@example.test`;

/** POST a hold from a buyer of its own (an address and an e-mail: holds
 * are rate-limited and capped per client address) unless opts.headers
 * names another; resolves to the response. */
export function hold(srv, eventId, body, opts = {}) {
    const headers = { 'x-forwarded-for': buyerAddress(), ...(opts.headers || {}) };
    return srv.post(`/api/v1/events/${eventId}/holds`, { customer: { email: email() }, ...body }, { ...opts, headers });
}

/** POST checkout from a buyer address of its own (checkouts and card
 * attempts are limited per address) unless opts.headers says otherwise.
 * opts.intent: ask for the gateway intent now ("create_intent", as a
 * browser that confirms at the gateway does: a card attempt); without it the order has no intent until its first payment
 * attempt. Other opts go to the request. */
export function checkout(srv, holdId, customer = { email: email(), name: 'Test Buyer' }, opts = {}) {
    const { intent, ...rest } = opts;
    const headers = { 'x-forwarded-for': buyerAddress(), ...(rest.headers || {}) }; // checkouts are limited per address too
    if (!intent) return srv.post(`/api/v1/holds/${holdId}/checkout`, { customer }, { ...rest, headers });
    return srv.post(`/api/v1/holds/${holdId}/checkout`, { customer, create_intent: true }, { ...rest, headers });
}

let buyerSeq = 0;
/** A client address of its own for a simulated buyer (X-Forwarded-For from
 * loopback, which the server trusts as a proxy): card attempts are limited
 * per client address. */
export function buyerAddress() {
    const n = ++buyerSeq;
    return `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
}

/** POST confirm; order is {id, secret} (the secret goes in the body) or an
 * id alone (no credentials: 404). Each call comes from a buyer address of
 * its own unless opts.headers says otherwise. */
export function confirm(srv, order, paymentMethod, opts = {}) {
    const id = typeof order === 'string' ? order : order.id;
    const body = paymentMethod ? { payment_method: paymentMethod } : {};
    if (typeof order !== 'string') body.secret = order.secret;
    const headers = { 'x-forwarded-for': buyerAddress(), ...(opts.headers || {}) };
    return srv.post(`/api/v1/orders/${id}/confirm`, body, { ...opts, headers });
}

export function getOrder(srv, order) {
    return srv.get(`/api/v1/orders/${order.id}?secret=${order.secret}`);
}

/** Poll the order until pred(order) or timeoutMs; resolves to the last order. */
export async function waitOrder(srv, order, pred, timeoutMs = 10000) {
    const until = Date.now() + timeoutMs;
    for (;;) {
        const res = await getOrder(srv, order);
        if (res.status === 200 && pred(res.body.order)) return res.body.order;
        if (Date.now() > until) throw new Error(`order ${order.id} never matched: ${res.text.slice(0, 400)}`);
        await new Promise((r) => setTimeout(r, 50));
    }
}

/** The browser's way: confirm the intent at the gateway with its client
 * secret (no secret key), as Stripe.js does. */
export async function confirmAtGateway(sim, intentId, clientSecret, paymentMethod) {
    const body = new URLSearchParams({ client_secret: clientSecret, payment_method: paymentMethod });
    const res = await fetch(`${sim.url}/v1/payment_intents/${intentId}/confirm`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: body.toString(),
    });
    return { status: res.status, body: await res.json() };
}

/** A Stripe-Signature header for payload, as Stripe computes it. */
export function signWebhook(secret, payload, t = Math.floor(Date.now() / 1000)) {
    const v1 = createHmac('sha256', secret).update(`${t}.${payload}`).digest('hex');
    return `t=${t},v1=${v1}`;
}

/** POST a raw webhook body with its signature header to the server. */
export async function postWebhook(srv, payload, signature) {
    const headers = { 'content-type': 'application/json' };
    if (signature !== undefined) headers['stripe-signature'] = signature;
    return srv.req('POST', '/api/v1/payments/webhook', { body: payload, headers });
}

/** Verify a ticket code offline with the event's public key (base64url). */
export function verifyTicketCode(publicKeyB64, code) {
    const raw = Buffer.from(code.slice(3), 'base64url');
    if (!code.startsWith('BO1') || raw.length !== 96) return null;
    const claim = raw.subarray(0, 32);
    const sig = raw.subarray(32);
    const spki = Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), Buffer.from(publicKeyB64, 'base64url')]);
    const key = createPublicKey({ key: spki, format: 'der', type: 'spki' });
    if (!edVerify(null, Buffer.concat([Buffer.from('BO1'), claim]), key, sig)) return null;
    const hex = (b) => b.toString('hex');
    return {
        ticket: `tkt_${hex(claim.subarray(0, 8))}`,
        event: `evt_${hex(claim.subarray(8, 16))}`,
        order: `ord_${hex(claim.subarray(16, 24))}`,
        seat: claim.readUInt32BE(24),
        gaArea: claim.readUInt32BE(28),
    };
}

/** Every order document of the SQLite file, parsed. */
export async function storedOrders(srv) {
    const rows = await srv.sql("SELECT id, body FROM docs WHERE coll = 'order'");
    return rows.map((r) => JSON.parse(r.body));
}
