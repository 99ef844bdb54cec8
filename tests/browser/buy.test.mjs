// buy.test.mjs - buying in a real browser (Debian's Chromium through
// playwright-core) against a real server and paysim: two seats clicked on
// the map, best available 4, GA places, a declined card then success, and
// the whole flow again in a phone-sized viewport with touch. Each ends on
// the order page with its tickets and QR codes, checked against the API.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { availability } from '../system/lib/api.mjs';
import {
    PHONE, clickSeat, email, expectTickets, makeEvent, openEvent, openPage, payWith, seatState, shot, useSite,
} from './lib/browser.mjs';

const GEN = { sections: 2, rows: 5, seats: 10, ga: 1, ga_capacity: 40 };
const STATE = { available: 0, held: 1, sold: 2, blocked: 3 };

let srv, browser, ev;
useSite(async (site) => {
    ({ srv, browser } = site);
    ev = await makeEvent(srv, GEN, { name: 'Aurora Live' });
});

async function serverStates(ids) {
    const a = await availability(srv, ev.event.id);
    return ids.map((id) => a.states[ev.seats.indexOf(id)]);
}

/** From the cart to the checkout page. */
async function toCheckout(page) {
    await page.click('#checkout');
    await page.waitForSelector('#pay-form');
}

describe('buying tickets in the browser', () => {
    it('buys two seats clicked on the map and shows their tickets with QR codes', async () => {
        const { ctx, page, console } = await openPage(browser);
        try {
            await page.goto(`${srv.url}/`);
            const card = page.locator(`[data-event-id="${ev.event.id}"]`);
            await card.waitFor();
            assert.match(await card.textContent(), /Aurora Live/);
            assert.match(await card.locator('.badge').textContent(), /on sale/i);
            await shot(page, 'browse');
            await card.click();
            await page.waitForFunction(() => document.querySelector('#map')?.dataset.version);

            const seats = [ev.seats[12], ev.seats[13]];
            for (const s of seats) await clickSeat(page, s);
            assert.equal(await page.locator('.sel-list li').count(), 2);
            assert.equal((await page.textContent('#action')).trim(), 'Hold 2 seats');
            await shot(page, 'event-seatmap');

            await page.fill('#email', email('two-seats'));
            await page.click('#action');
            await page.waitForSelector('#cart');
            assert.match(await page.textContent('#cart [data-countdown]'), /^\d+:\d\d$/);
            assert.equal(await page.locator('#cart .sel-list li').count(), 2);
            assert.deepEqual(await serverStates(seats), [STATE.held, STATE.held]);
            await page.waitForFunction((s) => s.every((id) => window.boxoffice.seatmap.stateOf(id) === 'held'), seats);
            await shot(page, 'cart');

            await toCheckout(page);
            assert.match(await page.textContent('.test-cards'), /4242 4242 4242 4242/);
            await shot(page, 'checkout');
            await payWith(page, '4242 4242 4242 4242');
            const order = await expectTickets(page, 2);
            const where = await page.$$eval('.ticket .where', (els) => els.map((e) => e.textContent));
            assert.deepEqual(where.sort(), ['Row B · Seat 3', 'Row B · Seat 4']);
            await shot(page, 'tickets', { fullPage: true });
            assert.deepEqual(await serverStates(seats), [STATE.sold, STATE.sold]);

            // the order page stays reachable by its link, in another browser
            const other = await openPage(browser);
            try {
                await other.page.goto(`${srv.url}/order.html#id=${order.id}&secret=${order.secret}`);
                await other.page.waitForSelector('.ticket .qr img');
                assert.equal(await other.page.locator('.ticket').count(), 2);
                assert.equal(await other.page.getAttribute('#order-status', 'data-status'), 'paid');
                other.console.check();
            } finally {
                await other.ctx.close();
            }
            console.check();
        } finally {
            await ctx.close();
        }
    });

    it('buys the best 4 available seats, side by side', async () => {
        const { ctx, page, console } = await openPage(browser);
        try {
            await openEvent(page, srv.url, ev.event.id);
            await page.click('#tab-best');
            await page.click('button[aria-label="More: Number of seats"]');
            await page.click('button[aria-label="More: Number of seats"]');
            assert.equal(await page.inputValue('#best-qty'), '4');
            await page.fill('#email', email('best'));
            assert.equal((await page.textContent('#action')).trim(), 'Find the best 4 seats');
            await page.click('#action');
            await page.waitForSelector('#cart');
            const held = await page.evaluate(() => window.boxoffice.state.entry.hold.seats);
            assert.equal(held.length, 4);
            // one row, adjacent
            const idx = held.map((id) => ev.seats.indexOf(id)).sort((a, b) => a - b);
            const rowOf = (id) => id.split('-').slice(0, 2).join('-');
            assert.equal(new Set(held.map(rowOf)).size, 1, `one row: ${held}`);
            assert.deepEqual(idx, [idx[0], idx[0] + 1, idx[0] + 2, idx[0] + 3]);
            await page.waitForFunction((s) => s.every((id) => window.boxoffice.seatmap.stateOf(id) === 'held'), held);
            await toCheckout(page);
            await payWith(page, '4242424242424242');
            await expectTickets(page, 4);
            assert.deepEqual(await serverStates(held), [2, 2, 2, 2]);
            console.check();
        } finally {
            await ctx.close();
        }
    });

    it('buys 3 general-admission places', async () => {
        const { ctx, page, console } = await openPage(browser);
        try {
            const before0 = (await availability(srv, ev.event.id)).ga[0].available;
            await openEvent(page, srv.url, ev.event.id);
            await page.click('#tab-ga');
            await page.click('button[aria-label="More: Places in Floor"]');
            await page.fill('#email', email('ga'));
            await page.click('button[data-ga="ga1"]');
            await page.waitForSelector('#cart');
            assert.match(await page.textContent('#cart .sel-list'), /3 × Floor/);
            await toCheckout(page);
            await payWith(page, '5555 5555 5555 4444');
            await expectTickets(page, 3);
            assert.equal(await page.locator('.ticket .where', { hasText: 'General admission' }).count(), 3);
            assert.equal((await availability(srv, ev.event.id)).ga[0].available, before0 - 3);
            console.check();
        } finally {
            await ctx.close();
        }
    });

    it('shows a declined card clearly, keeps the seats, then succeeds with another card', async () => {
        const { ctx, page, console } = await openPage(browser, {
            allow: [
                { status: 402, url: /\/v1\/payment_intents\/pi_\w+\/confirm$/ }, // the gateway's decline
                { status: 402, url: /\/api\/v1\/orders\/ord_\w+\/confirm$/, optional: true }, // unless the webhook told first
            ],
        });
        try {
            await openEvent(page, srv.url, ev.event.id);
            const seat = ev.seats[30];
            await clickSeat(page, seat);
            await page.fill('#email', email('decline'));
            await page.click('#action');
            await page.waitForSelector('#cart');
            await toCheckout(page);
            await payWith(page, '4000 0000 0000 0002');
            const alert = page.locator('#pay-error .alert');
            await alert.waitFor();
            const text = await alert.textContent();
            assert.match(text, /Payment declined/);
            assert.match(text, /Your card was declined/);
            assert.match(text, /2 more attempts/);
            assert.equal(await page.getAttribute('#card-number', 'aria-invalid'), 'true');
            await shot(page, 'checkout-declined');
            assert.deepEqual(await serverStates([seat]), [STATE.held], 'the seat stays held after a decline');

            await payWith(page, '4242 4242 4242 4242');
            await expectTickets(page, 1);
            assert.deepEqual(await serverStates([seat]), [STATE.sold]);
            console.check();
        } finally {
            await ctx.close();
        }
    });

    it('buys on a phone: tap seats, cart bar, checkout, tickets', async () => {
        const { ctx, page, console } = await openPage(browser, PHONE);
        try {
            await openEvent(page, srv.url, ev.event.id);
            const seats = [ev.seats[45], ev.seats[46]];
            for (const s of seats) await clickSeat(page, s, { touch: true });
            await page.fill('#email', email('phone'));
            await shot(page, 'phone-event');
            await page.tap('#action');
            await page.waitForSelector('#cart');
            const bar = page.locator('#cartbar');
            assert.ok(await bar.isVisible(), 'the cart bar shows on a phone');
            assert.match(await bar.locator('[data-countdown]').textContent(), /^\d+:\d\d$/);
            const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
            assert.ok(overflow <= 0, `no sideways scrolling (${overflow}px too wide)`);
            await shot(page, 'phone-cart');
            await bar.locator('a', { hasText: 'Checkout' }).tap();
            await page.waitForSelector('#pay-form');
            await shot(page, 'phone-checkout');
            await payWith(page, '4242 4242 4242 4242');
            await expectTickets(page, 2);
            await shot(page, 'phone-tickets', { fullPage: true });
            assert.deepEqual(await serverStates(seats), [STATE.sold, STATE.sold]);
            console.check();
        } finally {
            await ctx.close();
        }
    });
});
