// gate.test.mjs - the staff check-in page in a real browser: a gate token
// made for the event, a ticket code pasted: ADMITTED; the same code again:
// ALREADY USED with the first scan's time. The server agrees.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertStatus } from '../system/lib/api.mjs';
import { checkout, confirm, getOrder, hold } from '../system/lib/shop.mjs';
import { makeEvent, openPage, shot, useSite } from './lib/browser.mjs';

let srv, browser;
useSite((site) => ({ srv, browser } = site));

describe('gate', () => {
    it('checks a ticket in, then refuses it as already used', async () => {
        const ev = await makeEvent(srv, { sections: 1, rows: 3, seats: 8, ga: 0 });
        const h = await hold(srv, ev.event.id, { seats: [ev.seats[2]] });
        assertStatus(h, 201, 'hold');
        const c = await checkout(srv, h.body.hold.id, { email: 'gate@example.test', name: 'Grace Hopper' });
        assertStatus(c, 201, 'checkout');
        const paid = await confirm(srv, c.body.order, 'pm_card_visa');
        assertStatus(paid, 200, 'pay');
        assert.equal(paid.body.order.status, 'paid');
        const order = (await getOrder(srv, c.body.order)).body.order; // with the secret: the codes
        const code = order.tickets[0].code;
        assert.match(code, /^BO1/);
        const staff = await srv.post(`/api/v1/events/${ev.event.id}/staff-tokens`, { name: 'North gate' }, { admin: true });
        assertStatus(staff, 201, 'staff token');

        const { ctx, page, console } = await openPage(browser, { allow: [{ status: 409, url: /\/api\/v1\/checkin$/ }] });
        try {
            await page.goto(`${srv.url}/gate.html`);
            await page.fill('#gate-token', staff.body.token);
            await page.click('button[type=submit]');
            await page.waitForSelector('#code');
            assert.equal(await page.evaluate(() => document.activeElement.id), 'code', 'ready to scan');

            // pasted (with the whitespace a scanner or a copy adds), then Enter
            await page.fill('#code', ` ${code}\n`);
            await page.press('#code', 'Enter');
            const result = page.locator('#result');
            await page.waitForSelector('#result[data-result="ok"]');
            assert.match(await result.textContent(), /ADMITTED/);
            assert.match(await result.textContent(), /Row A · Seat 3/);
            assert.match(await result.textContent(), /Grace Hopper/);
            const big = await result.locator('.big').evaluate((el) => parseFloat(getComputedStyle(el).fontSize));
            assert.ok(big >= 36, `a large result (${big}px)`);
            await shot(page, 'gate-ok');
            assert.equal(await page.inputValue('#code'), '', 'cleared for the next scan');

            await page.fill('#code', code);
            await page.click('#check');
            await page.waitForSelector('#result[data-result="already_used"]');
            assert.match(await result.textContent(), /ALREADY USED/);
            assert.match(await result.textContent(), /First scanned at \d/);
            await shot(page, 'gate-already-used');
            assert.equal(await page.locator('#history li').count(), 2);

            const o = await getOrder(srv, order);
            assert.equal(o.body.order.tickets[0].status, 'used');
            console.check();
        } finally {
            await ctx.close();
        }
    });
});
