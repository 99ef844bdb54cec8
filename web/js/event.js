// event.js - the event page: the live seat map, picking seats by clicking,
// best available, general admission, and the cart with its countdown.
//
// One hold per event at a time: while the buyer has one, the panel shows
// the cart (countdown, release, checkout) and the map marks its seats; when
// the countdown ends the seats go back and the page says so.

import { h, $, fill, chrome, money, fmtDate, eventBadge, params, busy, toast, clock } from './ui.js';
import { get, post, del, ApiError, followAvailability } from './api.js';
import { SeatMap } from './seatmap.js';
import { saveHold, loadHold, clearHold, buyer, countdown, holdErrorText, itemText } from './cart.js';
import { loadPass, clearPass, passHeaders, queuePage } from './pass.js';

chrome('events');
const app = $('#app');
const eventId = params().get('id');

const S = {
    event: null,
    seatmap: null,
    map: null,
    entry: null, // the hold, from cart.js
    timer: null,
    tab: 'seats',
    ga: new Map(), // area id -> available places
    selected: [],
    gaQty: new Map(),
    bestQty: 2,
    bestCat: '',
    live: 'connecting',
};

const onSale = () => S.event.status === 'on_sale';
const currency = () => S.event.currency;
const catOf = (key) => S.seatmap.categories.find((c) => c.key === key);
const maxTickets = () => Math.min(100, S.event.per_customer_limit || 100);

function priceOfSeat(i) {
    const c = S.map.cats[S.map.cat[i]];
    return c && c.price_cents !== undefined ? money(c.price_cents, currency()) : '';
}

function seatItem(i) {
    const w = S.map.where(i);
    const c = S.map.cats[S.map.cat[i]] || {};
    return { kind: 'seat', id: S.map.ids[i], section: w.section, row: w.row, seat: w.seat, category: c.name, color: c.color, price_cents: c.price_cents || 0 };
}

function seatName(id) {
    const i = S.map.index.get(id);
    if (i === undefined) return id;
    const w = S.map.where(i);
    return `${w.section} row ${w.row} seat ${w.seat}`;
}

function areaName(id) {
    return (S.event.ga_areas.find((a) => a.id === id) || {}).name || id;
}

// ---- page ----------------------------------------------------------------------------

async function main() {
    if (!eventId) {
        fill(app, h('div.empty', h('h1', 'No event chosen'), h('p', h('a', { href: '/' }, 'See all events'))));
        return;
    }
    fill(app, h('div.skeleton', { style: { height: '48px', width: '60%' } }), h('div.skeleton', { style: { height: '60vh', marginTop: '16px' } }));
    // the stream opens at once, beside the seat map's download; what it
    // says before the map is built waits for it
    const early = { snapshot: null, changes: [] };
    followAvailability(eventId, {
        snapshot: (a) => {
            if (!S.loaded) {
                early.snapshot = a;
                early.changes = [];
            } else onSnapshot(a);
        },
        changes: (c) => (S.loaded ? onChanges(c) : early.changes.push(c)),
        status: onStatus,
    });
    let ev, sm;
    try {
        [ev, sm] = await Promise.all([get(`/api/v1/events/${encodeURIComponent(eventId)}`), seatmap()]);
    } catch (err) {
        app.replaceChildren(h('div.empty', h('h1', err.status === 404 ? 'This event does not exist' : 'The event could not be loaded'),
            h('p', err.status === 404 ? '' : err.message), h('p', h('a', { href: '/' }, 'See all events'))));
        app.removeAttribute('aria-busy');
        return;
    }
    performance.mark('boxoffice:seatmap-fetched');
    S.event = ev.event;
    S.seatmap = sm;
    document.title = `${S.event.name} · boxoffice`;
    for (const a of S.event.ga_areas) S.ga.set(a.id, a.available);
    S.tab = sm.sections.length ? 'seats' : 'ga';
    layout();
    app.removeAttribute('aria-busy');

    S.map = new SeatMap($('#map'), {
        mode: 'buy',
        label: `Seat map of ${S.event.venue.name}`,
        maxSelected: maxTickets(),
        price: priceOfSeat,
        canSelect: (i, st) => st === 0 && !S.entry && onSale(),
        onChange: (sel) => {
            S.selected = sel;
            if (S.tab !== 'seats' && sel.length) S.tab = 'seats';
            renderPanel();
        },
        onRefused: (i, why) => {
            if (why === 'limit') toast(`You can choose at most ${maxTickets()} seats.`);
            else if (S.entry) toast('You already have seats in your cart. Release them to choose others.');
            else if (!onSale()) toast('This event is not on sale.');
            else if (why !== 'mine') toast('This seat is not available.');
        },
        onLost: (lost) => {
            const names = lost.map((i) => seatName(S.map.ids[i]));
            notice('warn', `${names.join(', ')} ${names.length === 1 ? 'was' : 'were'} just taken by someone else`, 'We removed it from your selection.');
        },
    });
    S.map.load(sm, early.snapshot ? early.snapshot.states : null);
    S.loaded = true;
    performance.mark('boxoffice:seatmap-built');
    S.seatCats = new Set(S.map.cat);
    window.boxoffice = { seatmap: S.map, state: S };
    if (early.snapshot) onSnapshot(early.snapshot, true);
    for (const c of early.changes) onChanges(c);

    const entry = loadHold(eventId);
    if (entry && entry.expired) expiredNotice();
    else if (entry) useHold(entry);
    if (params().get('expired')) expiredNotice();
    if (params().get('released')) notice('info', 'Your seats were released', 'Choose again whenever you like.');
}

function onSnapshot(a, applied = false) {
    if (!applied) S.map.setStates(a.states);
    for (const g of a.ga || []) S.ga.set(g.id, g.available);
    S.version = a.version;
    S.map.host.dataset.version = a.version;
    updateCounts();
}

function onChanges(c) {
    S.map.applyChanges(c.changes || []);
    for (const g of c.ga || []) S.ga.set(g.id, g.available);
    S.version = c.version;
    S.map.host.dataset.version = c.version;
    updateCounts();
}

function onStatus(st) {
    S.live = st;
    const el = $('#live');
    if (el) {
        el.textContent = st === 'live' ? '● Live' : st === 'polling' ? '● Updating' : '● Reconnecting…';
        el.style.color = st === 'live' ? 'var(--ok)' : 'var(--warn)';
    }
}

/** The seat map: the download event.html started, else a new one. */
async function seatmap() {
    const early = await window.boxofficeSeatmap;
    window.boxofficeSeatmap = null;
    if (early && early.ok) return early.json();
    return get(`/api/v1/events/${encodeURIComponent(eventId)}/seatmap?format=columns`);
}

function layout() {
    const ev = S.event;
    const prices = S.seatmap.categories.map((c) => c.price_cents);
    const from = prices.length ? Math.min(...prices) : null;
    fill(app, 
        h('p.small', h('a', { href: '/' }, '← All events')),
        h('header.event-head',
            h('h1', ev.name),
            eventBadge(ev)),
        h('p.muted', `${fmtDate(ev.starts_at)} · ${ev.venue.name}${ev.venue.city ? `, ${ev.venue.city}` : ''}`,
            from !== null ? ` · from ${money(from, ev.currency)}` : ''),
        ev.description ? h('p', ev.description) : null,
        h('div#notice', { tabindex: '-1' }),
        h('div.event-layout',
            h('section.card.map-card', { 'aria-label': 'Seat map' },
                S.seatmap.sections.length ? h('div#map') : h('div#map.hidden'),
                h('div.legend#legend')),
            h('aside.side.card#panel', { 'aria-label': 'Your tickets' })),
    );
    document.body.append(h('div.cart-bar.hidden#cartbar'));
    renderLegend();
    renderPanel();
}

function renderLegend() {
    const cur = currency();
    const counts = S.map ? S.map.counts() : null;
    const items = S.seatmap.categories.map((c, k) => {
        const gaLeft = S.event.ga_areas.filter((a) => a.category === c.key).reduce((t, a) => t + (S.ga.get(a.id) || 0), 0);
        const left = (counts ? counts.byCategory[k] || 0 : 0) + gaLeft;
        return h('span.item', h('span.sw', { style: { background: c.color } }), h('span', c.name), h('span.price', money(c.price_cents, cur)),
            h('span.muted.small', `(${left} left)`));
    });
    fill($('#legend'), ...items,
        h('span.item', h('span.sw.held'), 'Held'),
        h('span.item', h('span.sw.sold'), 'Sold'),
        h('span.item', h('span.sw.blocked'), 'Not for sale'),
        h('span.item', h('span.sw.mine'), 'Yours'),
        h('span.item.small#live', { style: { marginLeft: 'auto', color: S.live === 'live' ? 'var(--ok)' : 'var(--warn)' } }, S.live === 'live' ? '● Live' : '● Connecting…'));
}

let countsFrame = 0;
function updateCounts() {
    if (countsFrame) return;
    countsFrame = requestAnimationFrame(() => {
        countsFrame = 0;
        renderLegend();
        for (const el of document.querySelectorAll('[data-ga-left]')) {
            const left = S.ga.get(el.dataset.gaLeft) || 0;
            el.textContent = left ? `${left} left` : 'sold out';
        }
    });
}

function notice(kind, title, text) {
    const n = $('#notice');
    fill(n, h(`div.alert.${kind}`, { role: kind === 'warn' || kind === 'bad' ? 'alert' : 'status' },
        h('strong', title), text ? h('span', text) : null));
    n.focus({ preventScroll: true });
}

function expiredNotice() {
    notice('warn', 'Your hold expired', 'The seats were released so that others can buy them. Choose your seats again to continue.');
}

// ---- the panel ----------------------------------------------------------------------------

function renderPanel() {
    const panel = $('#panel');
    if (!panel) return;
    if (S.entry) return renderCart(panel);
    renderCartBar();
    if (needsQueue()) return renderQueueCard(panel);
    if (!onSale()) {
        const ev = S.event;
        const why = {
            scheduled: ['Sales have not opened yet', `Tickets go on sale on ${fmtDate(ev.on_sale_at)}.`],
            sold_out: ['Sold out', 'Every seat and place is taken.'],
            cancelled: ['This event was cancelled', ''],
            ended: ['This event has ended', ''],
        }[ev.status] || ['Not on sale', ''];
        fill(panel, h('div.alert.info', h('strong', why[0]), why[1]));
        return;
    }
    const tabs = [];
    if (S.seatmap.sections.length) tabs.push(['seats', 'Pick seats'], ['best', 'Best available']);
    if (S.event.ga_areas.length) tabs.push(['ga', 'Standing']);
    const email = h('input#email', { type: 'email', autocomplete: 'email', required: true, placeholder: 'you@example.com', value: buyer.email, onchange: (e) => (buyer.email = e.target.value.trim()) });
    const body = S.tab === 'best' ? bestTab() : S.tab === 'ga' ? gaTab() : seatsTab();
    fill(panel, h('div.stack',
        tabs.length > 1 ? h('div.tabs', { role: 'tablist' }, tabs.map(([k, text]) => h('button', {
            type: 'button', role: 'tab', 'aria-selected': String(S.tab === k), id: `tab-${k}`,
            onclick: () => {
                S.tab = k;
                renderPanel();
                $(`#tab-${k}`)?.focus();
            },
        }, text))) : null,
        h('div', { role: 'tabpanel', 'aria-labelledby': `tab-${S.tab}` }, body),
        h('div.field', h('label', { for: 'email' }, 'E-mail for your tickets'), email),
        h('div#panel-error', { role: 'alert' }),
        actionButton(),
        h('p.small.muted', `Seats are held for ${Math.round(S.event.hold_ttl_s / 60)} min while you pay.${S.event.per_customer_limit ? ` At most ${S.event.per_customer_limit} tickets per buyer.` : ''}`),
    ));
}

// A waiting-room event sells only to visitors the queue admitted (their
// pass is kept by the waiting page, pass.js).
function needsQueue() {
    const wr = S.event.waiting_room;
    return !!(wr && wr.enabled) && !['sold_out', 'cancelled', 'ended'].includes(S.event.status) && !loadPass(eventId);
}

function renderQueueCard(panel, refused) {
    const wr = S.event.waiting_room;
    fill(panel, h('div.stack#queue-card',
        h('div.alert.info', h('strong', refused ? 'Your turn to buy has ended' : 'This on-sale has a waiting room'),
            h('span', `So that everyone gets a fair chance, buyers are let in a few at a time.${wr.onsale_at ? ` Everyone who joins before ${fmtDate(wr.onsale_at)} gets a random place at that moment.` : ''}`)),
        h('a.btn.primary.block#join-queue', { href: queuePage(eventId) }, 'Join the queue'),
        h('p.small.muted', 'You can look at the seat map meanwhile.')));
}

function seatsTab() {
    const sel = S.selected;
    if (!sel.length) {
        return h('p.muted', 'Click or tap the seats you want on the map. On the map, the arrow keys move seat by seat and Enter selects.');
    }
    const total = sel.reduce((t, i) => t + (S.map.cats[S.map.cat[i]]?.price_cents || 0), 0);
    return h('div.stack',
        h('ul.sel-list', { 'aria-label': 'Selected seats' }, sel.map((i) => {
            const it = seatItem(i);
            return h('li', h('span.dot', { style: { background: it.color } }),
                h('span.what', `${it.section} · Row ${it.row} · Seat ${it.seat}`, h('br'), h('span.small.muted', it.category)),
                h('span.price', money(it.price_cents, currency())),
                h('button.btn.ghost.small', { type: 'button', 'aria-label': `Remove ${itemText(it)}`, onclick: () => S.map.activate(i) }, '✕'));
        })),
        h('div.total', h('span', `${sel.length} seat${sel.length === 1 ? '' : 's'}`), h('span', money(total, currency()))));
}

function stepper(value, min, max, onchange, label) {
    const out = h('input', { type: 'number', inputmode: 'numeric', min, max, value, 'aria-label': label });
    const set = (v) => {
        const n = Math.max(min, Math.min(max, Number(v) || min));
        out.value = n;
        onchange(n);
    };
    out.addEventListener('change', () => set(out.value));
    return h('span.stepper',
        h('button', { type: 'button', 'aria-label': `Fewer: ${label}`, onclick: () => set(Number(out.value) - 1) }, '−'),
        out,
        h('button', { type: 'button', 'aria-label': `More: ${label}`, onclick: () => set(Number(out.value) + 1) }, '+'));
}

function bestTab() {
    const counts = S.map.counts();
    const cats = S.map.cats.map((c, k) => ({ ...c, left: counts.byCategory[k] || 0 })).filter((c, k) => S.seatCats.has(k));
    const max = Math.min(maxTickets(), 20);
    const qty = Math.min(S.bestQty, max);
    return h('div.stack',
        h('p.muted', 'We find the best seats side by side for you.'),
        h('div.field', h('label', { for: 'best-qty' }, 'Number of seats'),
            (() => {
                const st = stepper(qty, 1, max, (n) => {
                    S.bestQty = n;
                    const b = $('#action');
                    if (b) b.textContent = `Find the best ${n} seat${n === 1 ? '' : 's'}`;
                }, 'Number of seats');
                st.querySelector('input').id = 'best-qty';
                return st;
            })()),
        h('div.field', h('label', { for: 'best-cat' }, 'Category'),
            h('select#best-cat', { onchange: (e) => (S.bestCat = e.target.value) },
                h('option', { value: '' }, 'Any category (best first)'),
                cats.map((c) => h('option', { value: c.key, selected: S.bestCat === c.key, disabled: !c.left },
                    `${c.name} · ${money(c.price_cents, currency())}${c.left ? '' : ' · sold out'}`)))));
}

function gaTab() {
    return h('div.stack', S.event.ga_areas.map((a) => {
        const left = S.ga.get(a.id) ?? a.available;
        const c = catOf(a.category) || {};
        const max = Math.max(1, Math.min(maxTickets(), left, 20));
        const qty = Math.min(S.gaQty.get(a.id) || 2, max);
        S.gaQty.set(a.id, qty);
        return h('div.ga-area', { dataset: { area: a.id } },
            h('div', h('strong', a.name), h('br'), h('span.small.muted', `${money(c.price_cents || 0, currency())} · `,
                h('span', { dataset: { gaLeft: a.id } }, left ? `${left} left` : 'sold out'))),
            left ? stepper(qty, 1, max, (n) => S.gaQty.set(a.id, n), `Places in ${a.name}`) : h('span.badge.sold-out', 'Sold out'),
            left ? h('button.btn.primary.block', { type: 'button', style: { gridColumn: '1 / -1' }, dataset: { ga: a.id }, onclick: (e) => holdGa(a, e.currentTarget) },
                `Add standing tickets · ${a.name}`) : null);
    }));
}

function actionButton() {
    if (S.tab === 'ga') return null;
    if (S.tab === 'best') {
        return h('button.btn.primary.block#action', { type: 'button', onclick: (e) => holdBest(e.currentTarget) },
            `Find the best ${S.bestQty} seat${S.bestQty === 1 ? '' : 's'}`);
    }
    const n = S.selected.length;
    return h('button.btn.primary.block#action', { type: 'button', disabled: !n, onclick: (e) => holdSelected(e.currentTarget) },
        n ? `Hold ${n} seat${n === 1 ? '' : 's'}` : 'Choose seats on the map');
}

// ---- holding ----------------------------------------------------------------------------------

function emailOrNull() {
    const input = $('#email');
    const v = input.value.trim();
    if (!v || !input.checkValidity()) {
        input.setAttribute('aria-invalid', 'true');
        input.reportValidity();
        input.focus();
        return null;
    }
    input.removeAttribute('aria-invalid');
    buyer.email = v;
    return v;
}

async function createHold(body, button) {
    const email = emailOrNull();
    if (!email) return;
    $('#panel-error').replaceChildren();
    try {
        const res = await busy(button, () => post(`/api/v1/events/${encodeURIComponent(eventId)}/holds`, { ...body, customer: { email } }, { idem: true, headers: passHeaders(eventId) }));
        const hold = res.hold;
        const items = [
            ...hold.seats.map((id) => seatItem(S.map.index.get(id))),
            ...hold.ga.map((g) => {
                const a = S.event.ga_areas.find((x) => x.id === g.area) || { name: g.area };
                const c = catOf(a.category) || {};
                return { kind: 'ga', area: g.area, name: a.name, quantity: g.quantity, color: c.color, price_cents: c.price_cents || 0 };
            }),
        ];
        S.map.clearSelection();
        useHold(saveHold(S.event, hold, items));
        $('#notice').replaceChildren();
        toast(`Held for you: ${hold.seats.length + hold.ga.reduce((t, g) => t + g.quantity, 0)} ticket(s). Complete checkout before the timer ends.`);
        $('#checkout')?.focus();
    } catch (err) {
        if (!(err instanceof ApiError)) throw err;
        if (err.code === 'QUEUE_REQUIRED') {
            clearPass(eventId);
            return renderQueueCard($('#panel'), true);
        }
        if (err.code === 'SEATS_UNAVAILABLE' && err.details.seats?.length) {
            S.map.applyChanges(err.details.seats.map((id) => ({ id, state: 'held' })));
        }
        fill($('#panel-error'), h('div.alert.bad', holdErrorText(err, { names: seatName, areaName, currency: currency() })));
    }
}

function holdSelected(button) {
    const ids = S.selected.map((i) => S.map.ids[i]);
    if (ids.length) createHold({ seats: ids }, button);
}

function holdBest(button) {
    const best = { quantity: S.bestQty };
    if (S.bestCat) best.category = S.bestCat;
    createHold({ best_available: best }, button);
}

function holdGa(area, button) {
    createHold({ ga: { area: area.id, quantity: S.gaQty.get(area.id) || 1 } }, button);
}

// ---- the cart ---------------------------------------------------------------------------------

function useHold(entry) {
    S.entry = entry;
    S.map.setMine(entry.hold.seats.map((id) => S.map.index.get(id)).filter((i) => i !== undefined));
    S.timer?.stop();
    renderPanel();
    S.timer = countdown(entry.deadline, tickCart, onExpired);
}

function tickCart(left) {
    const ttl = S.event.hold_ttl_s || 300;
    for (const el of document.querySelectorAll('[data-countdown]')) {
        el.textContent = clock(left);
        el.classList.toggle('low', left < 60);
    }
    const bar = $('#cart-progress');
    if (bar) bar.style.width = `${Math.max(0, Math.min(100, (left / ttl) * 100))}%`;
}

function onExpired() {
    if (!S.entry) return;
    clearHold(eventId);
    S.entry = null;
    S.map.setMine([]);
    renderPanel();
    expiredNotice();
}

function renderCart(panel) {
    const e = S.entry;
    const cur = currency();
    const total = e.hold.amount?.total_cents ?? 0;
    const href = `/checkout.html#event=${encodeURIComponent(eventId)}&hold=${encodeURIComponent(e.hold.id)}`;
    fill(panel, h('div.stack', { id: 'cart' },
        h('div.spread', h('h2', { style: { margin: 0 } }, 'Your cart'),
            h('div', { style: { textAlign: 'right' } }, h('div.small.muted', 'Held for'), h('div.countdown', { dataset: { countdown: '' }, role: 'timer', 'aria-label': 'Time left to check out' }, ''))),
        h('div.progress', h('span#cart-progress')),
        h('ul.sel-list', e.items.map((it) => h('li',
            h('span.dot', { style: { background: it.color || '#999' } }),
            h('span.what', itemText(it, cur), it.category ? [h('br'), h('span.small.muted', it.category)] : null),
            it.kind === 'seat' ? h('span.price', money(it.price_cents, cur)) : h('span.price', money(it.price_cents * it.quantity, cur))))),
        h('div.total', h('span', 'Total'), h('span#cart-total', money(total, cur))),
        h('a.btn.primary.block#checkout', { href }, 'Checkout'),
        h('button.btn.block.danger#release', { type: 'button', onclick: (ev) => release(ev.currentTarget) }, 'Release these seats'),
        h('p.small.muted', 'When the timer ends, the seats go back on sale.')));
    renderCartBar(href);
    tickCart(Math.max(0, (e.deadline - Date.now()) / 1000));
}

function renderCartBar(href) {
    const bar = $('#cartbar');
    if (!bar) return;
    if (!S.entry) {
        bar.classList.add('hidden');
        document.body.classList.remove('has-cart-bar');
        return;
    }
    fill(bar, h('div', h('div.small', 'Held for'), h('div.countdown', { dataset: { countdown: '' } }, '')),
        h('div', { style: { flex: 1 } }, money(S.entry.hold.amount?.total_cents ?? 0, currency())),
        h('a.btn.primary', { href }, 'Checkout'));
    bar.classList.remove('hidden');
    document.body.classList.add('has-cart-bar');
}

async function release(button) {
    const e = S.entry;
    try {
        await busy(button, () => del(`/api/v1/holds/${encodeURIComponent(e.hold.id)}`, { idem: true }));
    } catch (err) {
        if (!(err instanceof ApiError) || err.status !== 404) {
            toast(err.message, 'bad');
            return;
        }
    }
    S.timer?.stop();
    clearHold(eventId);
    S.entry = null;
    S.map.setMine([]);
    renderPanel();
    notice('info', 'Your seats were released', 'Choose again whenever you like.');
}

main().catch((err) => {
    fill(app, h('div.alert.bad', h('strong', 'Something went wrong'), String(err.message || err)));
    throw err;
});
