// live.test.mjs - what changes while a buyer looks: a seat taken in another
// browser turns unavailable on the map within a second (and leaves the
// first buyer's selection), and a hold on a short-TTL event expires: the
// checkout page sends the buyer back to the map with a clear message and
// the seats are on sale again. Also writes the seat-map picture of a
// demo-sized venue (test-results/seatmap.png; docs/img/ with
// BOXOFFICE_UPDATE_DOCS_IMG=1).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { availability, assertStatus } from '../system/lib/api.mjs';
import { checkout, confirm, hold } from '../system/lib/shop.mjs';
import { clickSeat, email, makeEvent, openEvent, openPage, publish, shot, useSite } from './lib/browser.mjs';

let srv, browser;
useSite((site) => ({ srv, browser } = site));

/** Seats sold, held and blocked in section 3, so that a close-up shows every state. */
async function busyEvening(ev) {
    const row = (r, from, to) => Array.from({ length: to - from + 1 }, (_, k) => `S3-${r}-${from + k}`);
    for (const seats of [row('A', 12, 19), row('B', 10, 20), row('C', 30, 38)]) {
        const h = await hold(srv, ev.event.id, { seats });
        assertStatus(h, 201, 'hold');
        const c = await checkout(srv, h.body.hold.id);
        assertStatus(c, 201, 'checkout');
        assertStatus(await confirm(srv, c.body.order, 'pm_card_visa'), 200, 'pay');
    }
    assertStatus(await hold(srv, ev.event.id, { seats: row('D', 24, 31) }), 201, 'hold');
    assertStatus(await hold(srv, ev.event.id, { seats: row('E', 41, 46) }), 201, 'hold');
    assertStatus(await srv.post(`/api/v1/events/${ev.event.id}/block`, { seats: row('F', 1, 10) }, { admin: true }), 200, 'block');
}

/** A close-up as a user makes it: the wheel zooms in around a seat, a drag
 * brings it to the middle, then the pointer rests on a seat (its tooltip). */
async function closeUp(page, around, hover) {
    const c = await page.evaluate((s) => window.boxoffice.seatmap.screenPoint(s), around);
    await page.mouse.move(c.x, c.y);
    for (let k = 0; k < 10; k++) await page.mouse.wheel(0, -120);
    await page.waitForTimeout(300); // the last wheel step is committed
    const box = await page.locator('#map').boundingBox();
    const p = await page.evaluate((s) => window.boxoffice.seatmap.screenPoint(s), around);
    await page.mouse.move(p.x, p.y);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2, { steps: 8 });
    await page.mouse.up();
    await page.waitForTimeout(300);
    const h = await page.evaluate((s) => window.boxoffice.seatmap.screenPoint(s), hover);
    await page.mouse.move(h.x, h.y);
    await page.locator('.seatmap .tooltip:not(.hidden)').waitFor();
}

describe('live seat map', () => {
    it('a seat taken in another browser turns unavailable within a second', async (t) => {
        // a venue the size of the demo arena: 12 sections, 10,800 seats
        const ev = await makeEvent(srv, { sections: 12, rows: 15, seats: 60, aisle_every: 10, ga: 1, ga_capacity: 2000 }, { name: 'Les Nuits Électriques', per_customer_limit: 0 }, { city: 'Lyon' });
        await busyEvening(ev);
        const a = await openPage(browser);
        const b = await openPage(browser);
        try {
            await openEvent(a.page, srv.url, ev.event.id);
            assert.equal(await a.page.evaluate(() => window.boxoffice.seatmap.n), 10800);
            await shot(a.page.locator('.map-card'), 'seatmap-venue');
            await closeUp(a.page, 'S3-C-30', 'S3-J-44');
            const pic = await shot(a.page.locator('.map-card'), 'seatmap');
            publish(pic, 'seatmap.png');
            await a.page.click('.seatmap .controls button[aria-label="Show the whole venue"]');

            // buyer A chooses two seats, but has not held them yet
            const [x, y] = ['S5-H-21', 'S5-H-22'];
            await clickSeat(a.page, x);
            await clickSeat(a.page, y);
            assert.equal(await a.page.locator('.sel-list li').count(), 2);

            // buyer B holds one of them
            await openEvent(b.page, srv.url, ev.event.id);
            await clickSeat(b.page, x);
            await b.page.fill('#email', email('other-buyer'));
            const held = b.page.waitForResponse((r) => r.url().endsWith(`/api/v1/events/${ev.event.id}/holds`) && r.request().method() === 'POST');
            await b.page.click('#action');
            assert.equal((await held).status(), 201);
            const t0 = Date.now();
            await a.page.waitForFunction((s) => window.boxoffice.seatmap.stateOf(s) === 'held', x, { timeout: 2000 });
            const ms = Date.now() - t0;
            assert.ok(ms < 1000, `the seat turned held on the other page after ${ms} ms`);
            t.diagnostic(`the seat turned held on the other page ${ms} ms after the hold's answer`);

            // drawn as held (in the held batch), out of A's selection, and A is told
            const drawn = await a.page.evaluate((s) => {
                // the points of the held batch's paths (absolute M, relative m)
                const m = window.boxoffice.seatmap;
                const i = m.index.get(s);
                const points = new Set();
                for (const p of m.batches[m.firstState].g.querySelectorAll('path')) {
                    let x = 0, y = 0;
                    for (const [, cmd, dx, dy] of p.getAttribute('d').matchAll(/([Mm])(-?\d+) (-?\d+)h0/g)) {
                        x = cmd === 'M' ? +dx : x + +dx;
                        y = cmd === 'M' ? +dy : y + +dy;
                        points.add(`${x},${y}`);
                    }
                }
                return points.has(`${m.xq[i]},${m.yq[i]}`);
            }, x);
            assert.ok(drawn, 'the seat is drawn in the held batch');
            assert.equal(await a.page.evaluate((s) => window.boxoffice.seatmap.isSelected(s), x), false);
            assert.equal(await a.page.evaluate((s) => window.boxoffice.seatmap.isSelected(s), y), true);
            assert.match(await a.page.textContent('#notice'), /just taken by someone else/);
            assert.equal(await a.page.locator('.sel-list li').count(), 1);

            // and A cannot select it again
            const pt = await a.page.evaluate((s) => window.boxoffice.seatmap.screenPoint(s), x);
            await a.page.mouse.click(pt.x, pt.y);
            assert.equal(await a.page.evaluate((s) => window.boxoffice.seatmap.isSelected(s), x), false);
            await a.page.locator('.toast', { hasText: 'not available' }).waitFor();
            await shot(a.page, 'live-seat-taken');
            a.console.check();
            b.console.check();
        } finally {
            await a.ctx.close();
            await b.ctx.close();
        }
    });

    it('a hold on a 30-second event expires: back to the map with a message, seats on sale again', async () => {
        const ev = await makeEvent(srv, { sections: 1, rows: 4, seats: 10, ga: 0 }, { name: 'Short hold night', hold_ttl_s: 30 });
        const { ctx, page, console } = await openPage(browser);
        try {
            await openEvent(page, srv.url, ev.event.id);
            const seats = [ev.seats[4], ev.seats[5]];
            for (const s of seats) await clickSeat(page, s);
            await page.fill('#email', email('expiry'));
            await page.click('#action');
            await page.waitForSelector('#cart');
            const left = await page.textContent('#cart [data-countdown]');
            assert.match(left, /^0:(30|29|28)$/, `a 30-second countdown, not ${left}`);
            await page.click('#checkout');
            await page.waitForSelector('#pay-form');
            assert.match(await page.textContent('#countdown'), /^0:\d\d$/);

            // the checkout's countdown runs out: back to the map, told why
            await page.waitForURL(/\/event\.html\?id=.*#expired=1/, { timeout: 40000 });
            const notice = page.locator('#notice .alert');
            await notice.waitFor();
            assert.match(await notice.textContent(), /Your hold expired/);
            assert.match(await notice.textContent(), /released/);
            assert.equal(await page.locator('#cart').count(), 0);
            assert.equal(await page.locator('#action').count(), 1);
            // the server released the seats, and the map shows them free again
            await page.waitForFunction((s) => s.every((id) => window.boxoffice.seatmap.stateOf(id) === 'available'), seats, { timeout: 10000 });
            const a = await availability(srv, ev.event.id);
            assert.deepEqual(seats.map((id) => a.states[ev.seats.indexOf(id)]), [0, 0]);
            await shot(page, 'hold-expired');
            // and they can be chosen again
            await clickSeat(page, seats[0]);
            console.check();
        } finally {
            await ctx.close();
        }
    });
});
