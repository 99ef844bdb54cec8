// queue.test.mjs - the waiting room in a real browser: a visitor who opens
// a waiting-room event is sent to the queue, waits in the pre-queue until
// the on-sale, is given a place, admitted, taken back to the event page
// with the pass, and buys; a visitor whose pass is gone is sent back to
// the queue; the organiser sets the waiting room up on the admin page and
// sees its live panel, and pausing stops admissions.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PHONE, email, expectTickets, makeEvent, openEvent, openPage, payWith, shot, useSite } from './lib/browser.mjs';

const GEN = { sections: 2, rows: 5, seats: 10, ga: 0 };
const iso = (ms) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');

let srv, browser;
useSite((site) => ({ srv, browser } = site));

/** A waiting-room event whose queue is open now and goes on sale in onsaleInMs. */
function queuedEvent(onsaleInMs, room = {}) {
    return makeEvent(srv, GEN, {
        name: 'Queue night',
        per_customer_limit: 4,
        waiting_room: { enabled: true, prequeue_opens_at: iso(Date.now() - 60000), onsale_at: iso(Date.now() + onsaleInMs), admit_per_min: 600, max_active: 100, pass_ttl_s: 600, ...room },
    });
}

describe('the waiting room in the browser', () => {
    it('queues a visitor before the on-sale, admits them and lets them buy with the pass', async () => {
        const ev = await queuedEvent(4000);
        const { ctx, page, console } = await openPage(browser, PHONE);
        try {
            await openEvent(page, srv.url, ev.event.id);
            await page.waitForSelector('#queue-card');
            await shot(page, 'queue-event-card');
            await page.click('#join-queue');
            await page.waitForURL(/\/queue\.html\?id=/);
            await page.waitForSelector('#onsale-in');
            assert.match(await page.textContent('#queue'), /random place/);
            await shot(page, 'queue-prequeue');
            // the on-sale comes: the page is admitted without a reload and goes back to the event
            await page.waitForURL(/\/event\.html\?id=/, { timeout: 30000 });
            await page.waitForFunction(() => window.boxoffice?.seatmap && document.querySelector('#map')?.dataset.version);
            assert.equal(await page.locator('#queue-card').count(), 0, 'the pass opens the buying panel');
            await page.click('#tab-best');
            await page.fill('#email', email('queued'));
            await page.click('#action');
            await page.waitForSelector('#cart');
            await page.click('#checkout');
            await page.waitForSelector('#pay-form');
            await payWith(page, '4242 4242 4242 4242');
            await expectTickets(page, 2);
            console.check();
        } finally {
            await ctx.close();
        }
    });

    it('shows place and people ahead while waiting, and sends a visitor without a valid pass back to the queue', async () => {
        // on sale already, one admission a minute: the first joiner is let in, the second waits
        const ev = await queuedEvent(-1000, { admit_per_min: 1 });
        const first = await srv.post(`/api/v1/events/${ev.event.id}/queue`, {}, { headers: { 'x-forwarded-for': '10.9.0.1' } });
        assert.equal(first.status, 201);
        const { ctx, page, console } = await openPage(browser, { allow: [{ status: 403, url: /\/holds$/, optional: true }] });
        try {
            await page.goto(`${srv.url}/queue.html?id=${ev.event.id}`);
            await page.waitForSelector('#ahead');
            await page.waitForFunction(() => /^\d+$/.test(document.querySelector('#place')?.textContent || ''));
            assert.ok(Number(await page.textContent('#place')) >= 2);
            assert.match(await page.textContent('#estimate'), /wait|minute/i);
            await shot(page, 'queue-waiting');
            // a forged pass kept in the browser is refused at the hold, and the page goes back to the queue
            await page.evaluate((id) => localStorage.setItem(`bo.pass.${id}`, JSON.stringify({ pass: 'forged', expires_at: new Date(Date.now() + 600000).toISOString() })), ev.event.id);
            await openEvent(page, srv.url, ev.event.id);
            await page.click('#tab-best');
            await page.fill('#email', email('forged'));
            await page.click('#action');
            await page.waitForSelector('#queue-card');
            assert.match(await page.textContent('#queue-card'), /turn to buy has ended/);
            console.check();
        } finally {
            await ctx.close();
        }
    });

    it('lets the organiser set up a waiting room and pause admissions', async () => {
        const ev = await makeEvent(srv, GEN, { name: 'Admin queue night' });
        const { ctx, page, console } = await openPage(browser);
        try {
            await page.goto(`${srv.url}/admin.html#edit=${ev.event.id}`);
            await page.fill('#admin-token', srv.token);
            await page.click('button[type=submit]');
            await page.waitForSelector('#wr-enabled');
            await page.check('#wr-enabled');
            await page.fill('#wr-admit_per_min', '120');
            await page.fill('#wr-max_active', '50');
            await page.click('#ev-submit');
            let got;
            for (let i = 0; i < 100 && !got?.enabled; i++) {
                await new Promise((r) => setTimeout(r, 100));
                got = (await srv.get(`/api/v1/events/${ev.event.id}`)).body.event.waiting_room;
            }
            assert.equal(got.enabled, true);
            assert.equal(got.admit_per_min, 120);
            assert.equal(got.max_active, 50);

            await page.goto(`${srv.url}/admin.html#dash=${ev.event.id}`);
            await page.waitForSelector('#queue-panel #queue-kpis .kpi');
            await page.click('#queue-pause');
            await page.waitForSelector('#queue-paused');
            assert.equal((await srv.get(`/api/v1/events/${ev.event.id}`)).body.event.waiting_room.paused, true);
            await shot(page, 'admin-queue');
            await page.click('#queue-pause');
            await page.waitForFunction(() => !document.querySelector('#queue-paused'));
            assert.equal((await srv.get(`/api/v1/events/${ev.event.id}`)).body.event.waiting_room.paused, false);
            console.check();
        } finally {
            await ctx.close();
        }
    });
});
