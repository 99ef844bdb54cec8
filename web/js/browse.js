// browse.js - the home page: upcoming events with search by name, city and
// dates, availability badges, and "load more" through the API's cursor.
// The filters live in the URL (?q=&city=&from=&to=) so a search can be
// shared and the back button works.

import { h, $, fill, chrome, eventBadge, fmtDate, artFor, params } from './ui.js';
import { get } from './api.js';
import { savedOrders } from './cart.js';

chrome('events');
const app = $('#app');
const PAGE = 24;

let cursor = null;
let token = 0; // the newest search; older answers are dropped

function dateParam(v, endOfDay) {
    if (!v) return null;
    const d = new Date(`${v}T${endOfDay ? '23:59:59' : '00:00:00'}`);
    return Number.isNaN(d.getTime()) ? null : d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function filters() {
    const f = {
        q: $('#q').value.trim(),
        city: $('#city').value.trim(),
        from: $('#from').value,
        to: $('#to').value,
    };
    return f;
}

function query(f, cur) {
    const p = new URLSearchParams();
    if (f.q) p.set('q', f.q);
    if (f.city) p.set('city', f.city);
    // upcoming only unless the buyer picked a start date
    p.set('from', dateParam(f.from, false) || new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'));
    const to = dateParam(f.to, true);
    if (to) p.set('to', to);
    p.set('limit', String(PAGE));
    if (cur) p.set('cursor', cur);
    return p;
}

function card(ev) {
    const d = new Date(ev.starts_at);
    const a = ev.availability || {};
    const pct = a.total ? Math.round((a.available / a.total) * 100) : 0;
    return h('a.event-card', { href: `/event.html?id=${encodeURIComponent(ev.id)}`, dataset: { eventId: ev.id } },
        h('div.art', { style: { background: artFor(ev.id) } },
            h('div.date-chip', h('b', d.getDate()), d.toLocaleString(undefined, { month: 'short' })),
            eventBadge(ev)),
        h('div.body',
            h('h3', ev.name),
            h('div.small.muted', fmtDate(ev.starts_at)),
            h('div.small', `${ev.venue.name}${ev.venue.city ? ` · ${ev.venue.city}` : ''}`),
            ev.status === 'on_sale' || ev.status === 'sold_out'
                ? [h('div.availability-bar', { role: 'img', 'aria-label': `${a.available} of ${a.total} tickets left` }, h('span', { style: { width: `${pct}%` } })),
                    h('div.small.muted', `${a.available.toLocaleString()} of ${a.total.toLocaleString()} left`)]
                : null));
}

async function load(more = false) {
    const f = filters();
    const my = ++token;
    const grid = $('#events');
    const status = $('#status');
    if (!more) {
        cursor = null;
        grid.setAttribute('aria-busy', 'true');
        const url = new URL(location.href);
        url.search = '';
        for (const [k, v] of Object.entries(f)) if (v) url.searchParams.set(k, v);
        history.replaceState(null, '', url);
    }
    let res;
    try {
        res = await get(`/api/v1/events?${query(f, more ? cursor : null)}`);
    } catch (err) {
        if (my !== token) return;
        fill(status, h('div.alert.bad', `The events could not be loaded: ${err.message}`));
        grid.removeAttribute('aria-busy');
        return;
    }
    if (my !== token) return;
    const cards = res.events.map(card);
    if (more) grid.append(...cards);
    else fill(grid, ...cards);
    grid.removeAttribute('aria-busy');
    cursor = res.next_cursor;
    $('#more').classList.toggle('hidden', !cursor);
    const count = grid.children.length;
    fill(status, count ? h('p.small.muted', `${count}${cursor ? '+' : ''} event${count === 1 ? '' : 's'}`)
        : h('div.empty', h('h2', 'No events match'), h('p', 'Try another name, city or date.')));
}

function main() {
    const p = params();
    let timer = 0;
    const debounced = () => {
        clearTimeout(timer);
        timer = setTimeout(() => load(false), 250);
    };
    const input = (id, label, attrs) => h('div.field', h('label', { for: id }, label), h(`input#${id}`, { ...attrs, value: p.get(id) || '', oninput: debounced }));
    const mine = savedOrders();
    fill(app, 
        h('section.hero',
            h('h1', 'Find your next night out'),
            h('p.muted', 'Concerts, shows and matches. Pick your seats on a live map and pay in a minute.')),
        h('form.search', { role: 'search', onsubmit: (e) => { e.preventDefault(); load(false); } },
            input('q', 'Search', { type: 'search', placeholder: 'Artist, show or event', autocomplete: 'off' }),
            input('city', 'City', { type: 'text', placeholder: 'Any city', autocomplete: 'address-level2' }),
            input('from', 'From', { type: 'date' }),
            input('to', 'To', { type: 'date' })),
        mine.length ? h('p.small', { style: { marginTop: '12px' } }, h('a', { href: '/order.html' }, `Your tickets (${mine.length} order${mine.length === 1 ? '' : 's'}) →`)) : null,
        h('div#status', { 'aria-live': 'polite' }),
        h('div.event-grid#events'),
        h('div.row', { style: { justifyContent: 'center', marginTop: '16px' } },
            h('button.btn.hidden#more', { type: 'button', onclick: (e) => load(true) }, 'Load more events')));
    app.removeAttribute('aria-busy');
    load(false);
}

main();
