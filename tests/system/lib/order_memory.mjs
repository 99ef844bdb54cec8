// order_memory.mjs - what the 'orders in memory' block of bounds.test.mjs
// needs: paid and abandoned orders made by buyers each on a client
// address of their own, the server's order gauges, and check-in scans.

import { assertStatus } from './api.mjs';
import { buyerAddress, checkout, confirm, email } from './shop.mjs';

/** hold -> checkout -> (paid: confirm with a card | else: cancel by the
 * buyer); resolves to {order (as answered last), secret}. */
export async function buyOrAbandon(srv, eventId, seats, paid) {
    const headers = { 'x-forwarded-for': buyerAddress() };
    const h = await srv.post(`/api/v1/events/${eventId}/holds`, { seats, customer: { email: email('mem') } }, { headers });
    assertStatus(h, 201, 'hold');
    const c = await checkout(srv, h.body.hold.id, { email: email('mem'), name: 'Memory Buyer' }, { headers });
    assertStatus(c, 201, 'checkout');
    const o = c.body.order;
    const res = paid
        ? await confirm(srv, o, 'pm_card_visa')
        : await srv.post(`/api/v1/orders/${o.id}/cancel`, { secret: o.secret }, { headers });
    assertStatus(res, 200, paid ? 'confirm' : 'cancel');
    return { order: res.body.order, secret: o.secret };
}

/** The server's gauges: orders in memory, and by status. */
export async function orderGauges(srv) {
    const res = await srv.get('/metrics');
    assertStatus(res, 200, '/metrics');
    const inMemory = /^boxoffice_orders_in_memory (\d+)$/m.exec(res.text);
    const byStatus = {};
    for (const m of res.text.matchAll(/^boxoffice_orders\{status="([a-z_]+)"\} (\d+)$/gm)) byStatus[m[1]] = Number(m[2]);
    return { inMemory: inMemory ? Number(inMemory[1]) : NaN, byStatus };
}

/** POST /api/v1/checkin with the admin token. */
export function scan(srv, code) {
    return srv.post('/api/v1/checkin', { code }, { admin: true });
}
