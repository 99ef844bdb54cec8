// browser.mjs - what the browser tests share: a boxoffice server with a real
// paysim serving web/ (tests/system/lib/shop.mjs), Debian's Chromium driven
// by playwright-core, pages whose console is watched, seat clicks on the map
// and screenshots into test-results/.
//
// The console rule: any console error or uncaught exception fails a test,
// except the "Failed to load resource: … status of N" lines Chromium logs
// for HTTP refusals that a test provokes on purpose (a 402 decline, a 409
// second scan); those must be declared, by status and URL, and are checked
// to have happened.

import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { mkdirSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { startShop, email } from '../../system/lib/shop.mjs';
import { ROOT, venueGen } from '../../system/lib/server.mjs';
import { assertStatus, createVenue, pricesFor } from '../../system/lib/api.mjs';

export { email };
export const RESULTS = join(ROOT, 'test-results');
export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
export const PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };
export const DESKTOP = { viewport: { width: 1280, height: 900 } };

/** A shop (server + paysim) serving web/. Resolves to the shop. */
export function startSite() {
    return startShop({ server: { webRoot: join(ROOT, 'web'), threads: 2 } });
}

export function launch() {
    return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--disable-gpu', '--no-first-run'] });
}

/**
 * The site and a browser for one test file: started before its tests
 * (registering node:test hooks), then ready(site) is awaited (node 20 runs
 * a file's root before() hooks side by side, so setup that needs the site
 * goes there); stopped after the tests, the server by SIGTERM and required
 * to exit cleanly. site is {shop, srv, browser}.
 */
export function useSite(ready = () => {}) {
    const site = {};
    before(async () => {
        site.shop = await startSite();
        site.srv = site.shop.srv;
        site.browser = await launch();
        await ready(site);
    });
    after(async () => {
        await site.browser?.close();
        if (site.shop) assert.deepEqual(await site.shop.stop(), { code: 0, signal: null }, 'graceful exit');
    });
    return site;
}

/**
 * A fresh context and page. opts: context options (viewport, isMobile…)
 * and allow: [{status, url: RegExp}] HTTP refusals the test expects.
 * Resolves to {ctx, page, console: {errors, allowed, check()}}.
 */
export async function openPage(browser, opts = {}) {
    const { allow = [], ...ctxOpts } = opts;
    const ctx = await browser.newContext({ ...DESKTOP, ...ctxOpts });
    // A Content-Security-Policy violation is a console error like any other
    // (Chromium also logs its own "Refused to …" line).
    await ctx.addInitScript(() => {
        document.addEventListener('securitypolicyviolation', (e) =>
            console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || 'inline'}`));
    });
    const page = await ctx.newPage();
    page.setDefaultTimeout(15000);
    const errors = [];
    const allowed = [];
    page.on('console', (m) => {
        if (m.type() !== 'error') return;
        const url = m.location()?.url || '';
        const http = /^Failed to load resource: the server responded with a status of (\d+)/.exec(m.text());
        if (http && allow.some((a) => a.status === Number(http[1]) && a.url.test(url))) {
            allowed.push({ status: Number(http[1]), url });
            return;
        }
        errors.push(`console.error: ${m.text()} ${url}`);
    });
    page.on('pageerror', (e) => errors.push(`uncaught: ${e.message}`));
    const watch = {
        errors,
        allowed,
        /** No unexpected console error; each declared refusal seen. */
        check() {
            assert.deepEqual(errors, [], 'no console errors');
            for (const a of allow) {
                if (a.optional) continue;
                assert.ok(allowed.some((x) => x.status === a.status && a.url.test(x.url)), `expected an HTTP ${a.status} from ${a.url}`);
            }
        },
    };
    return { ctx, page, console: watch };
}

/** A screenshot into test-results/<name>.png. */
export async function shot(page, name, opts = {}) {
    mkdirSync(RESULTS, { recursive: true });
    const path = join(RESULTS, `${name}.png`);
    await page.screenshot({ path, ...opts });
    return path;
}

/** Copy a screenshot to docs/img/ when BOXOFFICE_UPDATE_DOCS_IMG=1 (kept out of ordinary runs). */
export function publish(path, name) {
    if (process.env.BOXOFFICE_UPDATE_DOCS_IMG !== '1') return;
    mkdirSync(join(ROOT, 'docs/img'), { recursive: true });
    copyFileSync(path, join(ROOT, 'docs/img', name));
}

/** A generated venue (venue-gen options) and an event on sale in it. */
export async function makeEvent(srv, gen, event = {}, venue = {}) {
    const map = await venueGen(gen);
    const { venue: v } = await createVenue(srv, map, { city: 'Testville', ...venue });
    const res = await srv.post('/api/v1/events', {
        venue_id: v.id,
        name: 'Browser test night',
        starts_at: new Date(Date.now() + 20 * 86400e3).toISOString().replace(/\.\d+Z$/, 'Z'),
        currency: 'EUR',
        prices: pricesFor(map),
        ...event,
    }, { admin: true });
    assertStatus(res, 201, 'POST /api/v1/events');
    const seats = map.sections.flatMap((s) => s.rows.flatMap((r) => r.seats.map((x) => x.id)));
    return { venue: v, event: res.body.event, map, seats };
}

/** Open an event page and wait until its map drew the stream's first snapshot. */
export async function openEvent(page, base, eventId) {
    await page.goto(`${base}/event.html?id=${eventId}`);
    await page.waitForFunction(() => window.boxoffice?.seatmap && document.querySelector('#map')?.dataset.version);
}

/** The state the page shows for a seat. */
export function seatState(page, id) {
    return page.evaluate((s) => window.boxoffice.seatmap.stateOf(s), id);
}

/**
 * Click (or tap) a seat on the map as a user would: aim at where it is
 * drawn; when seats are too small to aim at, the first click zooms in,
 * so aim again. Resolves once the page shows the seat selected.
 */
export async function clickSeat(page, id, { touch = false } = {}) {
    await page.locator('#map').scrollIntoViewIfNeeded();
    for (let attempt = 0; attempt < 4; attempt++) {
        const pt = await page.evaluate((s) => window.boxoffice.seatmap.screenPoint(s), id);
        assert.ok(pt, `seat ${id} is on the map`);
        if (touch) await page.touchscreen.tap(pt.x, pt.y);
        else await page.mouse.click(pt.x, pt.y);
        if (await page.evaluate((s) => window.boxoffice.seatmap.isSelected(s), id)) return pt;
    }
    assert.fail(`seat ${id} did not get selected by clicking it`);
}

/** Fill the checkout form and pay with a card; does not wait for the outcome. */
export async function payWith(page, card, { name = 'Ada Lovelace', mail } = {}) {
    if (mail !== undefined) await page.fill('#email', mail);
    if (!(await page.inputValue('#name'))) await page.fill('#name', name);
    await page.fill('#card-number', card);
    await page.fill('#card-exp', '12 / 30');
    await page.fill('#card-cvc', '123');
    await page.click('#pay');
}

/** On the order page after paying: the tickets and their QR codes loaded. */
export async function expectTickets(page, n) {
    await page.waitForURL(/\/order\.html#id=ord_/);
    await page.waitForSelector('#success');
    assert.equal(await page.getAttribute('#order-status', 'data-status'), 'paid');
    await page.waitForFunction((k) => {
        const imgs = [...document.querySelectorAll('.ticket .qr img')];
        return imgs.length === k && imgs.every((i) => i.complete && i.naturalWidth > 0);
    }, n);
    const codes = await page.$$eval('.ticket .code', (els) => els.map((e) => e.textContent));
    assert.equal(codes.length, n);
    for (const c of codes) assert.match(c, /^BO1[A-Za-z0-9_-]{100,}$/);
    const { id, secret } = await page.evaluate(() => Object.fromEntries(new URLSearchParams(location.hash.slice(1))));
    return { id, secret, codes };
}
