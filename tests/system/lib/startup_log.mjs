// startup_log.mjs - helpers of abuse.test.mjs's 'startup, build and log'
// block: a buyer's whole path through a server whose access log is then
// read back, and a server started on a log file that others may read.

import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setupEvent } from './api.mjs';
import { Server } from './server.mjs';
import { checkout, confirm, getOrder, hold, startShop } from './shop.mjs';

function ok(res, status, what) {
    if (res.status !== status) throw new Error(`${what}: ${res.status}, want ${status}: ${res.text.slice(0, 300)}`);
    return res;
}

/**
 * Through a shop (server and paysim): a hold read, released; another
 * hold read, checked out, paid, its order read with ?secret= and a ticket's
 * QR code fetched; the server stopped (its log written whole). Resolves to
 * {lines (parsed), text, mode, hold (the paid hold's id), order (as the
 * buyer saw it), tag (the paid hold's id as the log must show it)}.
 */
export async function buyAndReadLog() {
    const shop = await startShop({ server: { threads: 1 } });
    const { srv } = shop;
    const logPath = join(srv.dir, 'access.log');
    try {
        const ev = await setupEvent(srv, { sections: 1, rows: 2, seats: 5, ga: 0, categories: 1 });
        const released = ok(await hold(srv, ev.event.id, { seats: [ev.seats[1]] }), 201, 'hold').body.hold.id;
        ok(await srv.get(`/api/v1/holds/${released}`), 200, 'GET hold');
        ok(await srv.del(`/api/v1/holds/${released}`), 204, 'DELETE hold');
        const holdId = ok(await hold(srv, ev.event.id, { seats: [ev.seats[0]] }), 201, 'hold').body.hold.id;
        ok(await srv.get(`/api/v1/holds/${holdId}`), 200, 'GET hold');
        const started = ok(await checkout(srv, holdId), 201, 'checkout').body.order;
        ok(await confirm(srv, started, 'pm_card_visa'), 200, 'confirm');
        const order = ok(await getOrder(srv, started), 200, 'GET order').body.order;
        ok(await srv.get(order.tickets[0].qr_svg_url), 200, 'QR code');
        const exit = await srv.stop();
        if (exit.code !== 0) throw new Error(`server exit ${JSON.stringify(exit)}`);
        const text = readFileSync(logPath, 'utf8');
        const lines = text.trim().split('\n').map((l) => JSON.parse(l));
        const tag = lines.map((l) => l.path).find((p) => p.startsWith('/api/v1/holds/') && p.endsWith('/checkout'))
            ?.split('/')[4];
        return { lines, text, mode: statSync(logPath).mode & 0o777, hold: holdId, order: { ...order, secret: started.secret }, tag };
    } finally {
        await srv.cleanup();
        await shop.sim.stop();
        await shop.sim.cleanup();
    }
}

/**
 * A server started on an access log that exists with mode `mode`, then
 * stopped. Resolves to {before, after (modes), warning (its stderr)}.
 */
export async function startOnWideLog(mode) {
    const srv = new Server({ threads: 1 });
    const logPath = join(srv.dir, 'access.log');
    writeFileSync(logPath, '');
    chmodSync(logPath, mode);
    const before = statSync(logPath).mode & 0o777;
    try {
        await srv.launch();
        ok(await srv.get('/healthz'), 200, 'healthz');
        const after = statSync(logPath).mode & 0o777;
        await srv.stop();
        return { before, after, warning: readFileSync(srv.logPath, 'utf8') };
    } finally {
        await srv.cleanup();
    }
}
