// admin.test.mjs - the organiser in a real browser: signs in with the admin
// token, generates a venue with a preview and creates it, creates an event
// there with a price per category, a hold time and a per-customer limit;
// the event then appears in the public list and has a dashboard, where a
// gate token is made, listed and revoked.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { openPage, shot, useSite } from './lib/browser.mjs';

let srv, browser;
useSite((site) => ({ srv, browser } = site));

describe('admin', () => {
    it('creates a venue and an event that then appears in the list', async () => {
        const tag = randomBytes(3).toString('hex');
        const { ctx, page, console } = await openPage(browser);
        try {
            await page.goto(`${srv.url}/admin.html#venue`);
            await page.fill('#admin-token', srv.token);
            await page.click('button[type=submit]');

            // a generated venue, previewed
            await page.fill('#venue-name', `Hall ${tag}`);
            await page.fill('#venue-city', 'Browserville');
            await page.fill('#gen-sections', '3');
            await page.fill('#gen-rows', '6');
            await page.fill('#gen-seats', '12');
            await page.fill('#gen-cats', '3');
            await page.fill('#gen-ga', '1');
            await page.fill('#gen-ga-cap', '150');
            await page.click('#venue-generate');
            await page.locator('#venue-summary .kpi', { hasText: 'Seats' }).waitFor();
            assert.equal(await page.locator('#venue-summary .kpi', { hasText: 'Seats' }).locator('.v').textContent(), '216');
            assert.equal(await page.locator('#venue-map path').count() > 0, true, 'the preview draws the seats');
            await shot(page, 'admin-venue');
            await page.click('#venue-create');
            const created = page.locator('#venue-created');
            await created.waitFor();
            assert.match(await created.textContent(), new RegExp(`Venue created: Hall ${tag}`));
            assert.match(await created.textContent(), /216 seats in 3 sections, 1 GA areas/);

            // an event at it
            await created.locator('a', { hasText: 'Create an event' }).click();
            await page.waitForSelector('#price-P1');
            assert.match(await page.locator('#ev-venue option:checked').textContent(), new RegExp(`Hall ${tag}`));
            await page.fill('#ev-name', `Premiere ${tag}`);
            await page.fill('#ev-desc', 'Opening night.');
            await page.fill('#ev-ttl', '120');
            await page.fill('#ev-limit', '6');
            await page.selectOption('#ev-currency', 'EUR');
            for (const [k, v] of [['P1', '89.50'], ['P2', '59'], ['P3', '39'], ['GA', '25']]) await page.fill(`#price-${k}`, v);
            await page.click('#ev-submit');
            const done = page.locator('#event-created');
            await done.waitFor();
            assert.match(await done.textContent(), new RegExp(`Event created: Premiere ${tag}`));

            // the API has it as entered
            const list = await srv.get(`/api/v1/events?q=${tag}`);
            assert.equal(list.body.events.length, 1);
            const ev = (await srv.get(`/api/v1/events/${list.body.events[0].id}`)).body.event;
            assert.equal(ev.name, `Premiere ${tag}`);
            assert.equal(ev.description, 'Opening night.');
            assert.equal(ev.hold_ttl_s, 120);
            assert.equal(ev.per_customer_limit, 6);
            assert.equal(ev.status, 'on_sale');
            assert.equal(ev.venue.city, 'Browserville');
            assert.deepEqual(Object.fromEntries(ev.categories.map((c) => [c.key, c.price_cents])), { P1: 8950, P2: 5900, P3: 3900, GA: 2500 });

            // its dashboard
            await done.locator('a', { hasText: 'Dashboard' }).click();
            await page.locator('.kpi', { hasText: 'Revenue' }).waitFor();
            await page.waitForFunction(() => window.boxoffice?.seatmap?.n === 216);
            await shot(page, 'admin-dashboard', { fullPage: true });

            // a gate token: shown once, listed, then revoked for good
            await page.fill('#staff-name', 'North gate');
            await page.click('#staff-token');
            const gateToken = (await page.locator('#staff-token-value').textContent()).trim();
            assert.match(gateToken, /^stf_[0-9a-f]{64}$/);
            const row = page.locator('#staff-list tbody tr', { hasText: 'North gate' });
            await row.locator('button.revoke').waitFor();
            await row.locator('button.revoke').click();
            await row.locator('text=revoked').waitFor();
            const listed = (await srv.get(`/api/v1/events/${ev.id}/staff-tokens`, { admin: true })).body.staff_tokens;
            assert.equal(listed.length, 1);
            assert.match(listed[0].revoked_at, /^\d{4}-/);
            const scan = await srv.post('/api/v1/checkin', { code: 'BO1x' }, { admin: gateToken });
            assert.equal(scan.status, 403, 'the revoked token scans nothing');

            // and the public list shows it, found by name and by city
            await page.goto(`${srv.url}/?q=${tag}`);
            const card = page.locator(`[data-event-id="${ev.id}"]`);
            await card.waitFor();
            assert.match(await card.textContent(), new RegExp(`Premiere ${tag}`));
            assert.match(await card.textContent(), /Browserville/);
            assert.match(await card.locator('.badge').textContent(), /on sale/i);
            await page.fill('#q', '');
            await page.fill('#city', 'browserville');
            await page.waitForURL(/city=browserville/);
            await page.waitForSelector('#events:not([aria-busy])');
            await page.locator(`[data-event-id="${ev.id}"]`).waitFor();
            assert.equal(await page.locator('.event-card').count(), 1);
            await shot(page, 'browse-search');
            console.check();
        } finally {
            await ctx.close();
        }
    });
});
