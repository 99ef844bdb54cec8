// admin.js - the organiser's pages, behind the admin token (kept in this
// tab's sessionStorage only): events list, a new venue (uploaded seat-map
// JSON or the generator, with a preview), a new event and its edit form
// (prices per category, on-sale time, hold TTL, per-customer limit, status),
// and a dashboard per event (sales KPIs, a sales-over-time chart, the seat
// map coloured by state and live, blocking seats, gate tokens).
//
// Routes (hash): #events, #venue, #new-event[&venue=ven_…], #edit=evt_…, #dash=evt_…
//
// Venues come from GET /api/v1/venues (with their categories and GA
// areas); a venue created here is also remembered in localStorage so the
// page can offer it at once even before that list is read again.

import { h, $, fill, chrome, money, fmtDate, fmtDateShort, eventBadge, busy, toast, store, toLocalInput, fromLocalInput, minorDigits } from './ui.js';
import { api, get, post, patch, ApiError, followAvailability } from './api.js';
import { SeatMap } from './seatmap.js';
import { generateVenue, summarize } from './venuegen.js';
import { salesChart } from './chart.js';
import { waitingRoomFields, readWaitingRoom, waitingRoomChange, queuePanel } from './admin-queue.js';

chrome('admin');
const app = $('#app');
const TOKEN_KEY = 'bo.admin.token';
let token = sessionStorage.getItem(TOKEN_KEY) || '';
let cleanup = []; // stops streams and timers of the current view

const adm = (path, opts = {}) => api(path, { ...opts, token }).then((r) => r.body);

function refused(err) {
    if (err instanceof ApiError && (err.status === 401 || err.status === 403)) {
        sessionStorage.removeItem(TOKEN_KEY);
        token = '';
        signIn('The admin token was refused. Enter it again.');
        return true;
    }
    return false;
}

function errorBox(err) {
    const d = err.details || {};
    return h('div.alert.bad', { role: 'alert' }, h('strong', err.message),
        d.field ? h('span', `Field: ${d.field}`) : null,
        d.problems ? h('ol.problems', d.problems.map((p) => h('li', p))) : null,
        d.total > (d.problems || []).length ? h('p.small', `…and ${d.total - d.problems.length} more problems.`) : null);
}

// ---- venues remembered -----------------------------------------------------------------------

const knownVenues = () => store.get('bo.venues', []);
function rememberVenue(v) {
    const list = knownVenues().filter((x) => x.id !== v.id);
    list.unshift(v);
    store.set('bo.venues', list.slice(0, 100));
}

/** Every venue: the server's list, then remembered ones it lacks. */
async function allVenues() {
    const byId = new Map();
    try {
        const { venues } = await get('/api/v1/venues');
        for (const v of venues) byId.set(v.id, v);
    } catch {
        /* remembered venues still work */
    }
    for (const v of knownVenues()) if (!byId.has(v.id)) byId.set(v.id, v);
    return [...byId.values()];
}

async function categoriesOf(venue) {
    if (venue.categories) return venue.categories;
    if (venue.sampleEvent) {
        const sm = await get(`/api/v1/events/${encodeURIComponent(venue.sampleEvent)}/seatmap?format=columns`);
        return sm.categories.map((c) => ({ key: c.key, name: c.name, color: c.color }));
    }
    return [];
}

// ---- shell ------------------------------------------------------------------------------------

function signIn(message) {
    fill(app, h('div.stack', { style: { maxWidth: '520px', margin: '0 auto' } },
        h('h1', 'Admin'),
        message ? h('div.alert.bad', message) : null,
        h('form.card.stack', {
            onsubmit: (e) => {
                e.preventDefault();
                token = $('#admin-token').value.trim();
                if (!token) return;
                sessionStorage.setItem(TOKEN_KEY, token);
                route();
            },
        },
        h('p', 'Enter the admin token. `make run` prints it; it is kept in the file given to --admin-token-file. It stays in this tab only.'),
        h('div.field', h('label', { for: 'admin-token' }, 'Admin token'), h('input#admin-token', { type: 'password', autocomplete: 'off', required: true, spellcheck: 'false' })),
        h('button.btn.primary', { type: 'submit' }, 'Sign in'))));
    app.removeAttribute('aria-busy');
    $('#admin-token').focus();
}

function shell(active, ...content) {
    const tabs = [['events', '#events', 'Events'], ['venue', '#venue', 'New venue'], ['new-event', '#new-event', 'New event']];
    fill(app, 
        h('div.spread', { style: { flexWrap: 'wrap', marginBottom: '12px' } },
            h('h1', { style: { margin: 0 } }, 'Admin'),
            h('div.row',
                h('nav.tabs', { 'aria-label': 'Admin sections' }, tabs.map(([k, href, text]) =>
                    h('a', { href, class: 'btn small ghost', 'aria-current': active === k ? 'page' : null, style: active === k ? { background: '#fff', boxShadow: 'var(--shadow)' } : null }, text))),
                h('button.btn.small.ghost', {
                    type: 'button',
                    onclick: () => {
                        sessionStorage.removeItem(TOKEN_KEY);
                        token = '';
                        signIn();
                    },
                }, 'Sign out'))),
        h('div.admin-layout', content));
    app.removeAttribute('aria-busy');
}

function route() {
    for (const f of cleanup) f();
    cleanup = [];
    if (!token) return signIn();
    const p = new URLSearchParams(location.hash.replace(/^#/, ''));
    if (p.has('dash')) return dashboard(p.get('dash'));
    if (p.has('edit')) return editEvent(p.get('edit'));
    if (p.has('new-event')) return newEvent(p.get('venue'));
    if (p.has('venue')) return newVenue();
    return eventsList();
}
window.addEventListener('hashchange', route);

// ---- events list ---------------------------------------------------------------------------------

async function eventsList() {
    shell('events', h('section.card', h('div.spread', h('h2', 'Events'), h('a.btn.primary.small', { href: '#new-event' }, '+ New event')), h('div#events-table', h('div.skeleton', { style: { height: '120px' } }))));
    let events = [];
    let cursor = null;
    const draw = () => {
        fill($('#events-table'), events.length ? h('div', { style: { overflowX: 'auto' } }, h('table.data.admin-events',
            h('thead', h('tr', h('th', 'Event'), h('th', 'Starts'), h('th', 'Venue'), h('th', 'Status'), h('th.num', 'Available'), h('th', ''))),
            h('tbody', events.map((e) => h('tr', { dataset: { eventId: e.id } },
                h('td', h('strong', e.name)),
                h('td', fmtDateShort(e.starts_at)),
                h('td', `${e.venue.name}${e.venue.city ? `, ${e.venue.city}` : ''}`),
                h('td', eventBadge(e)),
                h('td.num', `${e.availability.available.toLocaleString()} / ${e.availability.total.toLocaleString()}`),
                h('td', h('div.actions',
                    h('a.btn.small', { href: `#dash=${e.id}` }, 'Dashboard'),
                    h('a.btn.small', { href: `#edit=${e.id}` }, 'Edit'),
                    h('a.btn.small.ghost', { href: `/event.html?id=${e.id}`, target: '_blank', rel: 'noopener' }, 'Open ↗')))))))) : h('p.muted', 'No events yet. Create a venue, then an event.'),
        cursor ? h('button.btn', { type: 'button', onclick: () => more() }, 'Load more') : null);
    };
    const more = async () => {
        const res = await get(`/api/v1/events?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
        events = events.concat(res.events);
        cursor = res.next_cursor;
        draw();
    };
    try {
        await more();
    } catch (err) {
        fill($('#events-table'), errorBox(err));
    }
}

// ---- new venue ------------------------------------------------------------------------------------

function numField(id, label, value, min, max, hint) {
    return h('div.field', h('label', { for: id }, label, hint ? h('span.hint', ` ${hint}`) : null),
        h(`input#${id}`, { type: 'number', min, max, step: 1, value, required: true, inputmode: 'numeric' }));
}

function newVenue() {
    let map = null;
    let preview = null;
    const setMap = (m, source) => {
        map = m;
        const s = summarize(m);
        fill($('#venue-summary'), h('div.kpis',
            [['Seats', s.seats], ['Sections', s.sections], ['Rows', s.rows], ['Categories', s.categories], ['GA areas', s.ga], ['GA places', s.gaPlaces]]
                .map(([k, v]) => h('div.kpi', h('div.v', v.toLocaleString()), h('div.k', k)))),
            h('p.small.muted', `From ${source}.`));
        // the map's own name and city, unless the organiser typed theirs
        if (!$('#venue-name').dataset.typed && m.name) $('#venue-name').value = m.name;
        if (!$('#venue-city').dataset.typed && m.city) $('#venue-city').value = m.city;
        $('#venue-preview').classList.remove('hidden');
        if (!preview) preview = new SeatMap($('#venue-map'), { mode: 'preview', label: 'Preview of the venue', canSelect: () => false });
        preview.load(m);
        fill($('#venue-legend'), ...(m.categories || []).map((c) => h('span.item', h('span.sw', { style: { background: c.color } }), `${c.name} (${c.key})`)));
        $('#venue-create').disabled = false;
    };
    const generate = () => {
        const v = (id) => Number($(`#${id}`).value);
        try {
            setMap(generateVenue({
                name: ($('#venue-name').dataset.typed && $('#venue-name').value.trim()) || 'Generated Arena', sections: v('gen-sections'), rows: v('gen-rows'), seats: v('gen-seats'),
                categories: v('gen-cats'), ga: v('gen-ga'), ga_capacity: v('gen-ga-cap'), aisle_every: v('gen-aisle'),
            }), 'the generator');
            $('#venue-error').replaceChildren();
        } catch (err) {
            fill($('#venue-error'), h('div.alert.bad', err.message));
        }
    };
    const fromText = (text, source) => {
        try {
            const m = JSON.parse(text);
            if (!m || typeof m !== 'object' || !Array.isArray(m.sections)) throw new Error('This JSON is not a seat map: it has no "sections" array.');
            setMap(m, source);
            $('#venue-error').replaceChildren();
        } catch (err) {
            fill($('#venue-error'), h('div.alert.bad', `${source}: ${err.message}`));
        }
    };
    const readFile = (file) => file.text().then((t) => fromText(t, file.name));
    function typed(e) {
        e.target.dataset.typed = e.target.value ? '1' : '';
    }
    const drop = h('label.dropzone', {
        for: 'venue-file',
        ondragover: (e) => { e.preventDefault(); e.currentTarget.classList.add('over'); },
        ondragleave: (e) => e.currentTarget.classList.remove('over'),
        ondrop: (e) => { e.preventDefault(); e.currentTarget.classList.remove('over'); if (e.dataTransfer.files[0]) readFile(e.dataTransfer.files[0]); },
    }, 'Drop a seat-map JSON file here, or click to choose one', h('input#venue-file.sr-only', { type: 'file', accept: 'application/json,.json', onchange: (e) => e.target.files[0] && readFile(e.target.files[0]) }));

    shell('venue',
        h('section.card.stack',
            h('h2', 'New venue'),
            h('div.grid-2',
                h('div.field', h('label', { for: 'venue-name' }, 'Name'), h('input#venue-name', { type: 'text', maxlength: 200, placeholder: 'Generated Arena', oninput: typed })),
                h('div.field', h('label', { for: 'venue-city' }, 'City'), h('input#venue-city', { type: 'text', maxlength: 200, placeholder: 'Lyon', oninput: typed }))),
            h('div.field', h('label', { for: 'venue-address' }, 'Address', h('span.hint', ' optional')), h('input#venue-address', { type: 'text', maxlength: 200 })),
            h('div.grid-2',
                h('div.card.stack', { style: { boxShadow: 'none' } },
                    h('h3', 'Generate a seat map'),
                    h('div.grid-2',
                        numField('gen-sections', 'Sections', 8, 0, 1000),
                        numField('gen-rows', 'Rows per section', 12, 1, 20000),
                        numField('gen-seats', 'Seats per row', 20, 1, 2000),
                        numField('gen-cats', 'Price categories', 4, 1, 8),
                        numField('gen-ga', 'GA areas', 1, 0, 256),
                        numField('gen-ga-cap', 'Places per GA area', 500, 1, 1000000),
                        numField('gen-aisle', 'Aisle every', 0, 0, 2000, '(seats; 0: none)')),
                    h('button.btn#venue-generate', { type: 'button', onclick: generate }, 'Generate preview')),
                h('div.card.stack', { style: { boxShadow: 'none' } },
                    h('h3', 'Or upload a seat map'),
                    h('p.small.muted', 'The JSON format of docs/api.md: name, size, focal_point, categories, sections with rows and seats, ga_areas.'),
                    drop,
                    h('details', h('summary', 'Paste JSON instead'),
                        h('textarea#venue-json', { 'aria-label': 'Seat-map JSON', placeholder: '{"name": "...", "categories": [...], "sections": [...]}' }),
                        h('button.btn.small', { type: 'button', onclick: () => fromText($('#venue-json').value, 'the pasted JSON') }, 'Preview the pasted JSON')))),
            h('div#venue-error', { role: 'alert' }),
            h('div.stack.hidden#venue-preview',
                h('h3', 'Preview'),
                h('div#venue-summary'),
                h('div.card.map-card', h('div#venue-map'), h('div.legend#venue-legend'))),
            h('div.row',
                h('button.btn.primary#venue-create', { type: 'button', disabled: true, onclick: (e) => create(e.currentTarget) }, 'Create venue')),
            h('div#venue-result')));

    async function create(button) {
        if (!map) return;
        const body = { ...map };
        const name = $('#venue-name').value.trim();
        const city = $('#venue-city').value.trim();
        const address = $('#venue-address').value.trim();
        if (name) body.name = name;
        if (city) body.city = city;
        else delete body.city;
        if (address) body.address = address;
        $('#venue-result').replaceChildren();
        try {
            const { venue } = await busy(button, () => adm('/api/v1/venues', { method: 'POST', json: body, idem: true }));
            rememberVenue({ id: venue.id, name: venue.name, city: venue.city, categories: (map.categories || []).map((c) => ({ key: c.key, name: c.name, color: c.color })) });
            fill($('#venue-result'), h('div.alert.ok#venue-created', { role: 'status' },
                h('strong', `Venue created: ${venue.name}`),
                h('span', `${venue.seats.toLocaleString()} seats in ${venue.sections} sections, ${venue.ga_areas} GA areas. Id `, h('code', venue.id), '. '),
                h('a.btn.primary.small', { href: `#new-event&venue=${venue.id}` }, 'Create an event at this venue →')));
        } catch (err) {
            if (!refused(err)) fill($('#venue-result'), errorBox(err));
        }
    }
    generate();
}

// ---- new event / edit event ---------------------------------------------------------------------

const CURRENCIES = ['EUR', 'USD', 'GBP', 'CHF', 'CAD', 'AUD', 'JPY', 'SEK', 'NOK', 'DKK', 'PLN'];

function toMinor(value, currency) {
    const n = Number(String(value).replace(',', '.'));
    if (!Number.isFinite(n) || n < 0) return null;
    return Math.round(n * 10 ** minorDigits(currency));
}

function fromMinor(cents, currency) {
    return (cents / 10 ** minorDigits(currency)).toFixed(minorDigits(currency));
}

function priceInputs(categories, prices, currency) {
    if (!categories.length) return h('p.muted', 'Choose a venue to set its prices.');
    return h('div.price-grid', categories.map((c) => h('div.field',
        h('label.cat', { for: `price-${c.key}` }, h('span.sw', { style: { background: c.color } }), `${c.name}`, h('span.hint', ` (${c.key})`)),
        h(`input#price-${c.key}`, { type: 'text', inputmode: 'decimal', required: true, dataset: { cat: c.key }, value: prices[c.key] !== undefined ? fromMinor(prices[c.key], currency) : '', placeholder: '0.00', 'aria-label': `Price of ${c.name} in ${currency}` }))));
}

function readPrices(currency) {
    const prices = {};
    for (const input of document.querySelectorAll('[data-cat]')) {
        const v = toMinor(input.value, currency);
        if (v === null || input.value.trim() === '') {
            input.setAttribute('aria-invalid', 'true');
            input.focus();
            throw new Error(`Enter a price for ${input.dataset.cat}.`);
        }
        input.removeAttribute('aria-invalid');
        prices[input.dataset.cat] = v;
    }
    return prices;
}

function eventFields(ev = {}) {
    const inHour = new Date(Date.now() + 30 * 86400e3);
    inHour.setMinutes(0, 0, 0);
    inHour.setHours(20);
    return [
        h('div.field', h('label', { for: 'ev-name' }, 'Name'), h('input#ev-name', { type: 'text', required: true, maxlength: 200, value: ev.name || '' })),
        h('div.field', h('label', { for: 'ev-desc' }, 'Description', h('span.hint', ' optional')), h('textarea#ev-desc', { maxlength: 4096, style: { fontFamily: 'var(--font)', fontSize: '1rem', minHeight: '80px' } }, ev.description || '')),
        h('div.grid-2',
            h('div.field', h('label', { for: 'ev-starts' }, 'Starts at'), h('input#ev-starts', { type: 'datetime-local', required: true, value: toLocalInput(ev.starts_at || inHour.toISOString()) })),
            h('div.field', h('label', { for: 'ev-onsale' }, 'On sale from', h('span.hint', ' empty: now')), h('input#ev-onsale', { type: 'datetime-local', value: ev.on_sale_at ? toLocalInput(ev.on_sale_at) : '' })),
            h('div.field', h('label', { for: 'ev-ttl' }, 'Hold time', h('span.hint', ' seconds, 30 to 3600')), h('input#ev-ttl', { type: 'number', min: 30, max: 3600, step: 1, required: true, value: ev.hold_ttl_s ?? 300 })),
            h('div.field', h('label', { for: 'ev-limit' }, 'Tickets per customer', h('span.hint', ' 0: no limit')), h('input#ev-limit', { type: 'number', min: 0, max: 1000, step: 1, required: true, value: ev.per_customer_limit ?? 10 }))),
    ];
}

function readEventFields() {
    const name = $('#ev-name').value.trim();
    if (!name) {
        $('#ev-name').focus();
        throw new Error('The event needs a name.');
    }
    const starts = fromLocalInput($('#ev-starts').value);
    if (!starts) {
        $('#ev-starts').focus();
        throw new Error('Enter when the event starts.');
    }
    const onsale = fromLocalInput($('#ev-onsale').value);
    const ttl = Number($('#ev-ttl').value);
    if (!Number.isInteger(ttl) || ttl < 30 || ttl > 3600) {
        $('#ev-ttl').focus();
        throw new Error('The hold time is a whole number of seconds from 30 to 3600.');
    }
    const limit = Number($('#ev-limit').value);
    if (!Number.isInteger(limit) || limit < 0 || limit > 1000) {
        $('#ev-limit').focus();
        throw new Error('The per-customer limit is a whole number from 0 to 1000.');
    }
    return { name, description: $('#ev-desc').value, starts_at: starts, on_sale_at: onsale, hold_ttl_s: ttl, per_customer_limit: limit };
}

async function newEvent(preselect) {
    shell('new-event', h('section.card.stack', h('h2', 'New event'), h('div#ev-form', h('div.skeleton', { style: { height: '200px' } }))));
    const venues = await allVenues();
    let categories = [];
    const currencySel = h('select#ev-currency', { onchange: () => drawPrices() }, CURRENCIES.map((c) => h('option', { value: c }, c)));
    const drawPrices = () => fill($('#ev-prices'), priceInputs(categories, {}, currencySel.value));
    const pickVenue = async () => {
        const v = venues.find((x) => x.id === $('#ev-venue').value);
        categories = v ? await categoriesOf(v).catch(() => []) : [];
        drawPrices();
    };
    fill($('#ev-form'), h('form.stack', { onsubmit: (e) => { e.preventDefault(); submit(e.submitter || $('#ev-submit')); } },
        h('div.field', h('label', { for: 'ev-venue' }, 'Venue'),
            venues.length ? h('select#ev-venue', { required: true, onchange: pickVenue }, h('option', { value: '' }, 'Choose a venue…'),
                venues.map((v) => h('option', { value: v.id, selected: v.id === preselect }, `${v.name}${v.city ? ` · ${v.city}` : ''}`)))
                : h('p.muted', 'No venue yet: ', h('a', { href: '#venue' }, 'create one first'), '.')),
        ...eventFields(),
        waitingRoomFields(),
        h('div.field', h('label', { for: 'ev-currency' }, 'Currency'), currencySel),
        h('fieldset', { style: { border: 0, padding: 0, margin: 0 } }, h('legend', h('strong', 'Prices per category')), h('div#ev-prices')),
        h('div#ev-error', { role: 'alert' }),
        h('button.btn.primary#ev-submit', { type: 'submit', disabled: !venues.length }, 'Create event'),
        h('div#ev-result')));
    if (preselect) await pickVenue();
    else drawPrices();

    async function submit(button) {
        $('#ev-error').replaceChildren();
        let body;
        try {
            const venueId = $('#ev-venue').value;
            if (!venueId) throw new Error('Choose a venue.');
            const f = readEventFields();
            body = { venue_id: venueId, ...f, currency: currencySel.value, prices: readPrices(currencySel.value) };
            if (!body.on_sale_at) delete body.on_sale_at;
            const wr = readWaitingRoom();
            if (wr) body.waiting_room = wr;
        } catch (err) {
            fill($('#ev-error'), h('div.alert.bad', err.message));
            return;
        }
        try {
            const { event } = await busy(button, () => adm('/api/v1/events', { method: 'POST', json: body, idem: true }));
            fill($('#ev-result'), h('div.alert.ok#event-created', { role: 'status' },
                h('strong', `Event created: ${event.name}`),
                h('span', `${fmtDate(event.starts_at)} · status ${event.status.replace('_', ' ')}. `),
                h('div.row', { style: { marginTop: '8px' } },
                    h('a.btn.small.primary', { href: `/event.html?id=${event.id}` }, 'Open its page'),
                    h('a.btn.small', { href: `#dash=${event.id}` }, 'Dashboard'),
                    h('a.btn.small', { href: `#edit=${event.id}` }, 'Edit'))));
            toast('Event created');
        } catch (err) {
            if (!refused(err)) fill($('#ev-error'), errorBox(err));
        }
    }
}

async function editEvent(id) {
    shell('events', h('section.card.stack', h('p.small', h('a', { href: '#events' }, '← Events')), h('div#edit', h('div.skeleton', { style: { height: '200px' } }))));
    let ev, sm;
    try {
        [{ event: ev }, sm] = await Promise.all([get(`/api/v1/events/${encodeURIComponent(id)}`), get(`/api/v1/events/${encodeURIComponent(id)}/seatmap`)]);
    } catch (err) {
        fill($('#edit'), errorBox(err));
        return;
    }
    const prices = Object.fromEntries(sm.categories.map((c) => [c.key, c.price_cents]));
    const statusButtons = [];
    if (ev.status === 'cancelled') statusButtons.push(['scheduled', 'Reopen (follow the on-sale time)'], ['on_sale', 'Reopen and sell now']);
    else if (ev.status === 'scheduled') statusButtons.push(['on_sale', 'Open sales now'], ['cancelled', 'Cancel the event']);
    else if (ev.status !== 'ended') statusButtons.push(['cancelled', 'Cancel the event']);
    fill($('#edit'), h('form.stack', { onsubmit: (e) => { e.preventDefault(); save(e.submitter || $('#ev-submit')); } },
        h('div.spread', h('h2', { style: { margin: 0 } }, `Edit: ${ev.name}`), eventBadge(ev)),
        h('p.muted', `${ev.venue.name} · ${ev.currency} · id `, h('code', ev.id)),
        ...eventFields(ev),
        waitingRoomFields(ev),
        h('fieldset', { style: { border: 0, padding: 0, margin: 0 } }, h('legend', h('strong', `Prices (${ev.currency})`)), priceInputs(sm.categories, prices, ev.currency)),
        h('div#ev-error', { role: 'alert' }),
        h('div.row', h('button.btn.primary#ev-submit', { type: 'submit' }, 'Save changes'), h('a.btn', { href: `#dash=${ev.id}` }, 'Dashboard')),
        statusButtons.length ? h('div.card.stack', { style: { boxShadow: 'none' } }, h('h3', 'Status'),
            h('div.row', statusButtons.map(([st, text]) => h(`button.btn${st === 'cancelled' ? '.danger' : ''}`, { type: 'button', onclick: (e) => setStatus(st, e.currentTarget) }, text)))) : null));

    async function run(button, body) {
        $('#ev-error').replaceChildren();
        try {
            await busy(button, () => adm(`/api/v1/events/${encodeURIComponent(id)}`, { method: 'PATCH', json: body, idem: true }));
            toast('Saved');
            route();
        } catch (err) {
            if (!refused(err)) fill($('#ev-error'), errorBox(err));
        }
    }

    function save(button) {
        let f, p, wr;
        try {
            f = readEventFields();
            p = readPrices(ev.currency);
            wr = waitingRoomChange(ev, readWaitingRoom());
        } catch (err) {
            fill($('#ev-error'), h('div.alert.bad', err.message));
            return;
        }
        const body = {};
        for (const k of ['name', 'description', 'starts_at', 'hold_ttl_s', 'per_customer_limit']) if (f[k] !== ev[k]) body[k] = f[k];
        if (f.on_sale_at && f.on_sale_at !== ev.on_sale_at) body.on_sale_at = f.on_sale_at;
        const changed = Object.fromEntries(Object.entries(p).filter(([k, v]) => prices[k] !== v));
        if (Object.keys(changed).length) body.prices = changed;
        if (wr !== undefined) body.waiting_room = wr;
        if (!Object.keys(body).length) {
            toast('Nothing changed');
            return;
        }
        run(button, body);
    }

    function setStatus(status, button) {
        if (status === 'cancelled' && !confirm(`Cancel "${ev.name}"? New holds will be refused.`)) return;
        run(button, { status });
    }
}

// ---- dashboard --------------------------------------------------------------------------------

async function dashboard(id) {
    shell('events', h('p.small', h('a', { href: '#events' }, '← Events')), h('div#dash.stack', h('div.skeleton', { style: { height: '300px' } })));
    let ev, sm, report;
    try {
        [{ event: ev }, sm, report] = await Promise.all([get(`/api/v1/events/${encodeURIComponent(id)}`), get(`/api/v1/events/${encodeURIComponent(id)}/seatmap`),
            adm(`/api/v1/events/${encodeURIComponent(id)}/report`)]);
    } catch (err) {
        if (!refused(err)) fill($('#dash'), errorBox(err));
        return;
    }
    let selected = [];
    const [queueCard, stopQueue] = queuePanel(ev, adm, refused);
    if (stopQueue) cleanup.push(stopQueue);
    fill($('#dash'),
        h('div.spread', { style: { flexWrap: 'wrap' } }, h('div', h('h2', { style: { margin: 0 } }, ev.name), h('p.muted', `${fmtDate(ev.starts_at)} · ${ev.venue.name}`)),
            h('div.row', eventBadge(ev), h('a.btn.small', { href: `#edit=${ev.id}` }, 'Edit'), h('a.btn.small', { href: `/event.html?id=${ev.id}` }, 'Public page'))),
        h('div#kpis'),
        queueCard,
        h('section.card.chart', h('div.spread', h('h3', 'Sales over time'), h('span.small.muted', 'bars: tickets per hour · line: revenue so far')), h('div#chart')),
        h('section.card', h('h3', 'By category'), h('div#by-cat')),
        h('section.card.map-card', sm.sections.length ? h('div#dash-map') : h('div#dash-map.hidden'),
            h('div.legend', h('span.item', h('span.sw', { style: { background: '#22a06b' } }), 'Available'),
                h('span.item', h('span.sw.held', { style: { background: '#f59e0b' } }), 'Held'),
                h('span.item', h('span.sw', { style: { background: '#2563eb' } }), 'Sold'),
                h('span.item', h('span.sw.blocked', { style: { background: 'linear-gradient(135deg, transparent 42%, #9ca3af 42%, #9ca3af 58%, transparent 58%)' } }), 'Blocked'),
                h('span.item.small.muted', { style: { marginLeft: 'auto' } }, 'Live · click seats to block or unblock them')),
            h('div.row', { style: { padding: '0 12px 12px' } }, h('span#block-sel.small.muted', 'No seats selected'),
                h('button.btn.small#block', { type: 'button', disabled: true, onclick: (e) => block(false, e.currentTarget) }, 'Block'),
                h('button.btn.small#unblock', { type: 'button', disabled: true, onclick: (e) => block(true, e.currentTarget) }, 'Unblock'))),
        h('section.card.stack', h('h3', 'Gate'), h('p.small.muted', 'A gate token lets staff check tickets in for this event only (on the Gate page).'),
            h('div.row', h('input#staff-name', { type: 'text', placeholder: 'Gate name (optional)', maxlength: 100, style: { maxWidth: '260px' } }),
                h('button.btn#staff-token', { type: 'button', onclick: (e) => staffToken(e.currentTarget) }, 'Create a gate token')),
            h('div#staff-result'), h('div#staff-list')));

    const drawReport = () => {
        const cur = report.currency;
        const s = report.seats;
        const gaSold = report.ga.reduce((t, a) => t + a.sold, 0);
        const gaHeld = report.ga.reduce((t, a) => t + a.held, 0);
        const kpis = [
            ['Revenue', money(report.revenue.total_cents, cur)],
            ['Tickets sold', (s.sold + gaSold).toLocaleString()],
            ['Held now', (s.held + gaHeld).toLocaleString()],
            ['Seats available', s.available.toLocaleString()],
            ['Blocked', s.blocked.toLocaleString()],
            ['Live holds', report.holds.live.toLocaleString()],
        ];
        if (report.orders) kpis.push(['Paid orders', report.orders.paid.toLocaleString()]);
        if (report.checked_in !== undefined) kpis.push(['Checked in', report.checked_in.toLocaleString()]);
        fill($('#kpis'), h('div.kpis', kpis.map(([k, v]) => h('div.kpi', h('div.v', v), h('div.k', k)))));
        fill($('#chart'), report.sales_over_time ? salesChart(report.sales_over_time, cur, $('#chart').clientWidth)
            : h('p.muted', 'This server does not report sales over time yet.'));
        const cats = new Map(sm.categories.map((c) => [c.key, c]));
        fill($('#by-cat'), h('table.data', h('thead', h('tr', h('th', 'Category'), h('th.num', 'Price'), h('th.num', 'Sold'), h('th.num', 'Revenue'))),
            h('tbody', report.by_category.map((c) => h('tr', h('td', h('span.row', h('span', { style: { width: '10px', height: '10px', borderRadius: '50%', background: cats.get(c.key)?.color || '#999', display: 'inline-block' } }), cats.get(c.key)?.name || c.key)),
                h('td.num', money(cats.get(c.key)?.price_cents ?? 0, cur)), h('td.num', c.sold.toLocaleString()), h('td.num', money(c.revenue_cents, cur)))))));
    };
    drawReport();
    loadStaff();

    const map = new SeatMap($('#dash-map'), {
        mode: 'state', label: `Seat states of ${ev.name}`, maxSelected: 100,
        canSelect: (i, st) => st === 0 || st === 3,
        onChange: (sel) => {
            selected = sel;
            $('#block-sel').textContent = sel.length ? `${sel.length} seat${sel.length === 1 ? '' : 's'} selected` : 'No seats selected';
            $('#block').disabled = !sel.some((i) => map.states[i] === 0);
            $('#unblock').disabled = !sel.some((i) => map.states[i] === 3);
        },
    });
    map.load(sm);
    window.boxoffice = { seatmap: map };
    let refresh = 0;
    const reload = () => {
        clearTimeout(refresh);
        refresh = setTimeout(async () => {
            try {
                report = await adm(`/api/v1/events/${encodeURIComponent(id)}/report`);
                drawReport();
            } catch (err) {
                refused(err);
            }
        }, 1500);
    };
    const stop = followAvailability(id, {
        snapshot: (a) => map.setStates(a.states),
        changes: (c) => {
            map.applyChanges(c.changes || []);
            reload();
        },
    });
    cleanup.push(stop, () => clearTimeout(refresh));

    async function block(unblock, button) {
        const seats = selected.filter((i) => map.states[i] === (unblock ? 3 : 0)).map((i) => map.ids[i]);
        if (!seats.length) return;
        try {
            await busy(button, () => adm(`/api/v1/events/${encodeURIComponent(id)}/block`, { method: 'POST', json: { seats, unblock }, idem: true }));
            map.clearSelection();
            toast(`${seats.length} seat${seats.length === 1 ? '' : 's'} ${unblock ? 'back on sale' : 'blocked'}`);
        } catch (err) {
            if (!refused(err)) toast(err.message, 'bad');
        }
    }

    async function staffToken(button) {
        const name = $('#staff-name').value.trim();
        try {
            const res = await busy(button, () => adm(`/api/v1/events/${encodeURIComponent(id)}/staff-tokens`, { method: 'POST', json: name ? { name } : {} }));
            fill($('#staff-result'), h('div.alert.ok', h('strong', 'Gate token (shown once: copy it now)'), h('code.mono#staff-token-value', { style: { wordBreak: 'break-all' } }, res.token),
                h('p.small', { style: { margin: '6px 0 0' } }, 'Open ', h('a', { href: '/gate.html', target: '_blank', rel: 'noopener' }, 'the Gate page'), ' on the scanning device and enter it.')));
            loadStaff();
        } catch (err) {
            if (!refused(err)) fill($('#staff-result'), errorBox(err));
        }
    }

    // The event's gate tokens (never the tokens themselves), each revocable for good.
    async function loadStaff() {
        try {
            const { staff_tokens: list } = await adm(`/api/v1/events/${encodeURIComponent(id)}/staff-tokens`);
            fill($('#staff-list'), list.length ? h('table.data', h('thead', h('tr', h('th', 'Gate token'), h('th', 'Created'), h('th', ''))),
                h('tbody', list.map((t) => h('tr', { dataset: { token: t.id } }, h('td', t.name || h('span.muted', '(no name)')), h('td.small', fmtDateShort(t.created_at)),
                    h('td.num', t.revoked_at ? h('span.small.muted', `revoked ${fmtDateShort(t.revoked_at)}`)
                        : h('button.btn.small.revoke', { type: 'button', onclick: (e) => revokeStaff(t, e.currentTarget) }, 'Revoke'))))))
                : h('p.small.muted', 'No gate tokens yet.'));
        } catch (err) {
            if (!refused(err)) fill($('#staff-list'), errorBox(err));
        }
    }

    async function revokeStaff(t, button) {
        try {
            await busy(button, () => adm(`/api/v1/events/${encodeURIComponent(id)}/staff-tokens/${encodeURIComponent(t.id)}`, { method: 'DELETE' }));
            toast(`Gate token ${t.name || t.id} revoked: it scans nothing from now on`, 'ok');
            loadStaff();
        } catch (err) {
            if (!refused(err)) toast(err.message, 'bad');
        }
    }
}

route();
