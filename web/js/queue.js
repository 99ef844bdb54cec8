// queue.js - the waiting page of an on-sale (/queue.html?id=evt_…): joins
// the event's waiting room (solving its proof-of-work first when the event
// asks for one), then polls the queue when the server says to (at most
// every 20 s, with the server's jitter) and shows the visitor's place, the
// people ahead, the estimated wait and a progress bar, without a reload.
// Once admitted, it keeps the pass (pass.js) and opens the event page,
// which sends the pass with the hold.
//
// The ticket is kept per event in localStorage: a reload or a second tab
// keeps the place instead of joining again. A visitor who stops polling
// for 5 minutes loses the place (the server skips them); the page says so
// and offers to join again.

import { h, $, fill, chrome, fmtDate, fmtTime, params, busy, clock } from './ui.js';
import { api, get, post, ApiError } from './api.js';
import { loadTicket, saveTicket, clearTicket, savePass, loadPass, solve } from './pass.js';

chrome('events');
const app = $('#app');
const eventId = params().get('id');
const POLL_MAX_MS = 20000;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const base = () => `/api/v1/events/${encodeURIComponent(eventId)}/queue`;
const eventPage = () => `/event.html?id=${encodeURIComponent(eventId)}`;

let event = null;
let pollTimer = 0;
let ticker = 0;

/** Count down to iso in the element #id every second (one at a time). */
function tickTo(id, iso) {
    clearInterval(ticker);
    const tick = () => {
        const el = document.getElementById(id);
        if (el) el.textContent = clock(Math.max(0, (Date.parse(iso) - Date.now()) / 1000));
    };
    tick();
    ticker = setInterval(tick, 1000);
}

function screen(...kids) {
    clearInterval(ticker);
    fill(app, h('section.card.stack#queue', { style: { maxWidth: '560px', margin: '24px auto' } },
        h('p.small.muted', event ? `${event.name} · ${fmtDate(event.starts_at)} · ${event.venue.name}` : ''), ...kids));
    app.removeAttribute('aria-busy');
}

function failed(title, text, retry) {
    screen(h('div.alert.bad', { role: 'alert' }, h('strong', title), text ? h('span', text) : null),
        retry ? h('button.btn.primary#rejoin', { type: 'button', onclick: retry }, 'Try again') : null,
        h('a.btn', { href: eventPage() }, 'Back to the event'));
}

async function main() {
    if (!eventId) {
        fill(app, h('div.empty', h('h1', 'No event chosen'), h('p', h('a', { href: '/' }, 'See all events'))));
        return;
    }
    try {
        ({ event } = await get(`/api/v1/events/${encodeURIComponent(eventId)}`));
    } catch (err) {
        failed(err.status === 404 ? 'This event does not exist' : 'The event could not be loaded', err.message);
        return;
    }
    document.title = `Waiting room · ${event.name}`;
    if (!event.waiting_room?.enabled) {
        location.replace(eventPage());
        return;
    }
    const pass = loadPass(eventId);
    if (pass) return admitted(pass.expires_at);
    if (loadTicket(eventId)) return poll();
    join();
}

// ---- joining ---------------------------------------------------------------------------

async function join() {
    clearTimeout(pollTimer);
    screen(h('h1', 'Joining the waiting room…'), h('div.progress', h('span', { style: { width: '5%' } })));
    try {
        const body = {};
        const difficulty = event.waiting_room.pow_difficulty || 0;
        if (difficulty > 0) body.pow = await proofOfWork();
        const { queue } = await post(base(), body);
        saveTicket(eventId, { ticket: queue.ticket, first_ahead: queue.ahead ?? null });
        show(queue);
    } catch (err) {
        if (!(err instanceof ApiError)) throw err;
        await joinRefused(err);
    }
}

async function joinRefused(err) {
    const d = err.details || {};
    if (err.code === 'QUEUE_NOT_OPEN' && d.opens_at) {
        const wait = Date.parse(d.opens_at) - Date.now();
        screen(h('h1', 'The waiting room opens soon'),
            h('p', `It opens at ${fmtTime(d.opens_at)}. Keep this page open: it joins by itself then.`),
            h('p.countdown#opens-in', { role: 'timer' }, ''));
        tickTo('opens-in', d.opens_at);
        await sleep(Math.max(1000, Math.min(wait + 500, POLL_MAX_MS)));
        return join();
    }
    if (err.code === 'RATE_LIMITED') {
        const after = Math.max(1, Number(d.retry_after_s) || 5);
        screen(h('h1', 'Many people are joining right now'), h('p', `Trying again in ${after} s…`));
        await sleep(after * 1000);
        return join();
    }
    failed('Could not join the waiting room', err.message, () => join());
}

async function proofOfWork() {
    screen(h('h1', 'Checking your browser…'), h('p.muted', 'A short puzzle keeps automated buyers out. It takes a few seconds.'),
        h('div.progress', h('span#pow-progress', { style: { width: '5%' } })));
    const c = await get(`${base()}/challenge`);
    const expected = 2 ** c.difficulty;
    const nonce = await solve(c.challenge, c.difficulty, (tried) => {
        const bar = $('#pow-progress');
        if (bar) bar.style.width = `${Math.min(95, 5 + (90 * tried) / expected)}%`;
    });
    return { challenge: c.challenge, nonce };
}

// ---- waiting ---------------------------------------------------------------------------

async function poll() {
    clearTimeout(pollTimer);
    const entry = loadTicket(eventId);
    if (!entry) return join();
    try {
        const { body } = await api(base(), { headers: { 'x-queue-ticket': entry.ticket } });
        show(body.queue);
    } catch (err) {
        if (!(err instanceof ApiError)) throw err;
        if (err.status === 404) {
            clearTicket(eventId);
            return join();
        }
        // the server is busy or unreachable: keep the place, ask again later
        const after = Math.max(2, Math.min(20, Number(err.details?.retry_after_s) || 5));
        fill($('#queue-status') || app, h('div.alert.warn', `Reconnecting… (${err.message})`));
        pollTimer = setTimeout(poll, after * 1000);
    }
}

function show(q) {
    switch (q.status) {
        case 'admitted':
            savePass(eventId, q.pass, q.pass_expires_at);
            return admitted(q.pass_expires_at);
        case 'skipped':
        case 'expired':
            clearTicket(eventId);
            screen(h('h1', q.status === 'skipped' ? 'You lost your place' : 'Your turn has passed'),
                h('p', q.status === 'skipped'
                    ? 'This page was closed or asleep for more than 5 minutes, so the queue moved on without you.'
                    : 'The time to buy that the waiting room gave you ran out.'),
                h('button.btn.primary#rejoin', { type: 'button', onclick: (e) => busy(e.currentTarget, join) }, 'Join again'));
            return;
        default:
            waiting(q);
    }
    pollTimer = setTimeout(poll, Math.max(500, Math.min(POLL_MAX_MS, q.poll_after_ms || 5000)));
}

function waiting(q) {
    const entry = loadTicket(eventId) || {};
    if (q.status === 'prequeue') {
        const left = Math.max(0, (Date.parse(q.onsale_at) - Date.now()) / 1000);
        screen(h('h1', 'You are in the waiting room'),
            h('p', `Sales open at ${fmtTime(q.onsale_at)}. Everyone who arrives before then gets a random place in the queue at that moment, so there is no need to hurry or refresh.`),
            h('div.spread', h('span.muted', 'Sales open in'), h('strong.countdown#onsale-in', { role: 'timer' }, clock(left))),
            h('div#queue-status'),
            h('p.small.muted', 'Keep this page open. It updates by itself.'));
        tickTo('onsale-in', q.onsale_at);
        return;
    }
    if (entry.first_ahead == null && q.ahead != null) saveTicket(eventId, { ...entry, first_ahead: q.ahead });
    const first = Math.max(1, entry.first_ahead ?? q.ahead ?? 1);
    const done = q.ahead == null ? 0 : Math.max(0, Math.min(1, 1 - q.ahead / first));
    screen(h('h1', 'You are in the queue'),
        h('div.grid-2',
            h('div', h('div.small.muted', 'Your place'), h('div.countdown#place', q.place == null ? '…' : q.place.toLocaleString())),
            h('div', h('div.small.muted', 'People ahead of you'), h('div.countdown#ahead', q.ahead == null ? '…' : q.ahead.toLocaleString()))),
        h('div.progress', { role: 'progressbar', 'aria-valuemin': 0, 'aria-valuemax': 100, 'aria-valuenow': Math.round(done * 100) },
            h('span#queue-progress', { style: { width: `${Math.max(2, done * 100)}%` } })),
        h('p#estimate', q.estimated_wait_s == null ? 'Estimating your wait…'
            : q.estimated_wait_s < 60 ? 'Your turn is less than a minute away.' : `Estimated wait: about ${Math.round(q.estimated_wait_s / 60)} min.`),
        h('div#queue-status'),
        h('p.small.muted', 'Keep this page open: it updates by itself, and when your turn comes it takes you to the seats. Leaving it for more than 5 minutes loses your place.'));
}

function admitted(expiresAt) {
    clearTicket(eventId);
    screen(h('div.alert.ok#admitted', { role: 'status' }, h('strong', 'It is your turn!'),
        h('span', `You can choose your tickets until ${fmtTime(expiresAt)}.`)),
        h('a.btn.primary.block#go', { href: eventPage() }, 'Choose your tickets'));
    setTimeout(() => location.assign(eventPage()), 1500);
}

main();
