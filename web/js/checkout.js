// checkout.js - pay for a hold: the buyer's e-mail and name, a card form
// that confirms the payment intent at the gateway itself (paysim speaks
// Stripe's wire format and allows CORS; the card number never reaches the
// boxoffice server), then POST /orders/{id}/confirm so the server asks the
// gateway and settles (the order's secret in the body, so the answer
// carries the tickets): tickets on success, a clear message on a decline
// (the hold keeps its time; the third decline releases it). The checkout
// is sent when the buyer pays, asking for the intent ("create_intent")
// only when the card is confirmed here: the server makes gateway intents
// for payment attempts, never for checkouts left unpaid.
//
// URL: /checkout.html#event=<evt_…>&hold=<hold_…>

import { h, $, fill, chrome, money, fmtDate, params, busy, clock } from './ui.js';
import { get, post, del, ApiError } from './api.js';
import { loadHold, updateHold, clearHold, buyer, countdown, itemText, rememberOrder } from './cart.js';
import { passHeaders } from './pass.js';

chrome('events');
const app = $('#app');
const p = params();
const eventId = p.get('event');
const holdId = p.get('hold');

let entry = null;
let config = null;
let paying = false;
let finished = false;
let timer = null;

const DECLINES = {
    generic_decline: 'Your card was declined. Please use another card.',
    insufficient_funds: 'Your card has insufficient funds. Please use another card.',
    lost_card: 'Your card was declined. Please use another card.',
    stolen_card: 'Your card was declined. Please use another card.',
    fraudulent: 'Your card was declined. Please use another card.',
    card_velocity_exceeded: 'Your card was declined: its spending limit was reached. Please use another card.',
    expired_card: 'Your card has expired. Please use another card.',
    incorrect_cvc: 'The security code (CVC) is incorrect.',
    invalid_cvc: 'The security code (CVC) is not valid.',
    processing_error: 'The card could not be processed. Please try again.',
    incorrect_number: 'The card number is incorrect.',
    invalid_number: 'The card number is not valid.',
    invalid_expiry_month: 'The expiry month is not valid.',
    invalid_expiry_year: 'The expiry year is not valid.',
    test_mode_live_card: 'That card cannot be used in test mode. Use one of the test cards below.',
    card_declined: 'Your card was declined. Please use another card.',
};

function declineText(code, message) {
    return DECLINES[code] || message || 'Your card was declined. Please use another card.';
}

function luhn(num) {
    let sum = 0;
    for (let i = 0; i < num.length; i++) {
        let d = num.charCodeAt(num.length - 1 - i) - 48;
        if (i % 2) {
            d *= 2;
            if (d > 9) d -= 9;
        }
        sum += d;
    }
    return sum % 10 === 0;
}

function expired(reason = 'Your hold expired') {
    if (finished) return;
    finished = true;
    timer?.stop();
    clearHold(eventId);
    location.replace(`/event.html?id=${encodeURIComponent(eventId)}#expired=1`);
    return reason;
}

// ---- loading ------------------------------------------------------------------------------

async function loadEntry() {
    const e = loadHold(eventId);
    if (e && !e.expired && e.hold.id === holdId) return e;
    // not remembered here (another browser, or storage cleared): ask the server
    try {
        const [{ hold }, { event }] = await Promise.all([get(`/api/v1/holds/${encodeURIComponent(holdId)}`), get(`/api/v1/events/${encodeURIComponent(eventId)}`)]);
        const items = [
            ...hold.seats.map((id) => ({ kind: 'seat', id, section: id, row: '', seat: '', price_cents: 0 })),
            ...hold.ga.map((g) => ({ kind: 'ga', area: g.area, name: event.ga_areas.find((a) => a.id === g.area)?.name || g.area, quantity: g.quantity, price_cents: 0 })),
        ];
        return {
            event: { id: event.id, name: event.name, starts_at: event.starts_at, venue: event.venue, currency: event.currency },
            hold, items, deadline: Date.now() + hold.time_left_s * 1000, bare: true,
        };
    } catch (err) {
        if (err instanceof ApiError && err.status === 404) return null;
        throw err;
    }
}

async function main() {
    if (!eventId || !holdId) {
        fill(app, h('div.empty', h('h1', 'Nothing to pay for'), h('p', h('a', { href: '/' }, 'Find an event'))));
        return;
    }
    [entry, config] = await Promise.all([loadEntry(), get('/api/v1/payments/config').catch(() => ({ enabled: false }))]);
    app.removeAttribute('aria-busy');
    if (!entry) {
        expired();
        return;
    }
    render();
    timer = countdown(entry.deadline, tick, () => {
        if (!paying) expired();
    });
}

// ---- the page -------------------------------------------------------------------------------

function field(id, label, attrs, hint) {
    return h('div.field', { class: `field${attrs.wide ? ' wide' : ''}` },
        h('label', { for: id }, label, hint ? h('span.hint', ` ${hint}`) : null),
        h(`input#${id}`, { ...attrs, wide: null }));
}

function render() {
    const ev = entry.event;
    const cur = ev.currency;
    const total = entry.hold.amount?.total_cents ?? 0;
    const sim = config.enabled && config.gateway === 'sim';
    const cards = config.test_cards || [];
    const testHint = sim && cards.length ? h('div.alert.info.test-cards',
        h('strong', 'Test mode: no real money moves'),
        h('span', 'Use a test card (any future expiry, any CVC): '),
        cards.map((c) => h('span', ' ', h('button', { type: 'button', onclick: () => fillCard(c.number), title: `Fill in ${c.number}` }, c.number.replace(/(\d{4})(?=\d)/g, '$1 ')), ` ${c.outcome};`))) : null;

    fill(app, 
        h('p.small', h('a', { href: `/event.html?id=${encodeURIComponent(eventId)}` }, '← Back to the seat map')),
        h('h1', 'Checkout'),
        h('div.checkout-layout',
            h('form.card.stack#pay-form', { novalidate: true, onsubmit: (e) => { e.preventDefault(); pay(); } },
                h('h2', 'Your details'),
                h('div.grid-2',
                    field('email', 'E-mail', { type: 'email', autocomplete: 'email', required: true, value: buyer.email }),
                    field('name', 'Full name', { type: 'text', autocomplete: 'name', required: true, value: buyer.name, maxlength: 200 })),
                h('h2', 'Payment'),
                config.enabled ? null : h('div.alert.bad', h('strong', 'Payments are not available'), 'This box office has no payment gateway configured.'),
                h('div.card-form',
                    field('card-number', 'Card number', { type: 'text', inputmode: 'numeric', autocomplete: 'cc-number', placeholder: '1234 1234 1234 1234', required: true, wide: true, oninput: formatNumber }),
                    field('card-exp', 'Expiry', { type: 'text', inputmode: 'numeric', autocomplete: 'cc-exp', placeholder: 'MM / YY', required: true, oninput: formatExp }),
                    field('card-cvc', 'CVC', { type: 'text', inputmode: 'numeric', autocomplete: 'cc-csc', placeholder: '123', required: true, maxlength: 4 })),
                testHint,
                h('div#pay-error', { role: 'alert', tabindex: '-1' }),
                h('button.btn.primary.block#pay', { type: 'submit', disabled: !config.enabled }, `Pay ${money(total, cur)}`),
                h('p.secure-note', 'Card details go straight to the payment service, never to the box office.'),
                h('button.btn.ghost.small.danger#cancel', { type: 'button', onclick: (e) => cancel(e.currentTarget) }, 'Cancel and release the seats')),
            h('aside.card.stack',
                h('div.spread', h('h2', { style: { margin: 0 } }, 'Your order'),
                    h('div', { style: { textAlign: 'right' } }, h('div.small.muted', 'Seats held for'), h('div.countdown#countdown', { role: 'timer', 'aria-label': 'Time left to pay' }, ''))),
                h('div.progress', h('span#progress')),
                h('div', h('strong', ev.name), h('div.small.muted', `${fmtDate(ev.starts_at)} · ${ev.venue?.name || ''}`)),
                h('ul.sel-list', entry.items.map((it) => h('li', h('span.dot', { style: { background: it.color || '#999' } }),
                    h('span.what', itemText(it, cur)),
                    it.price_cents ? h('span.price', money(it.price_cents * (it.kind === 'ga' ? it.quantity : 1), cur)) : null))),
                h('div.total', h('span', 'Total'), h('span', money(total, cur))))));
    $('#' + (buyer.email ? (buyer.name ? 'card-number' : 'name') : 'email')).focus();
}

function tick(left) {
    const el = $('#countdown');
    if (!el) return;
    el.textContent = paying && left <= 0 ? 'paying…' : clock(left);
    el.classList.toggle('low', left < 60);
    const bar = $('#progress');
    const ttl = Math.max(left, (entry.hold.time_left_s || 300));
    if (bar) bar.style.width = `${Math.max(0, Math.min(100, (left / ttl) * 100))}%`;
}

function formatNumber(e) {
    const digits = e.target.value.replace(/\D/g, '').slice(0, 19);
    e.target.value = digits.replace(/(\d{4})(?=\d)/g, '$1 ');
}

function formatExp(e) {
    const d = e.target.value.replace(/\D/g, '').slice(0, 4);
    e.target.value = d.length > 2 ? `${d.slice(0, 2)} / ${d.slice(2)}` : d;
}

function fillCard(number) {
    $('#card-number').value = number.replace(/(\d{4})(?=\d)/g, '$1 ');
    const exp = $('#card-exp');
    if (!exp.value) {
        const y = (new Date().getFullYear() + 3) % 100;
        exp.value = `12 / ${String(y).padStart(2, '0')}`;
    }
    const cvc = $('#card-cvc');
    if (!cvc.value) cvc.value = '123';
    $('#pay').focus();
}

function showError(title, text, kind = 'bad') {
    const box = $('#pay-error');
    fill(box, h(`div.alert.${kind}`, h('strong', title), text ? h('span', text) : null));
    box.focus();
}

function invalid(id, message) {
    const el = $(`#${id}`);
    el.setAttribute('aria-invalid', 'true');
    el.focus();
    showError(message, '');
    return null;
}

/** The form's values, or null after pointing at the first problem. */
function readForm() {
    for (const id of ['email', 'name', 'card-number', 'card-exp', 'card-cvc']) $(`#${id}`).removeAttribute('aria-invalid');
    const email = $('#email').value.trim();
    const name = $('#name').value.trim();
    const number = $('#card-number').value.replace(/\s/g, '');
    const exp = $('#card-exp').value.replace(/\s/g, '');
    const cvc = $('#card-cvc').value.trim();
    if (!email || !$('#email').checkValidity()) return invalid('email', 'Please enter a valid e-mail address.');
    if (!name) return invalid('name', 'Please enter your name.');
    if (!/^\d{12,19}$/.test(number) || !luhn(number)) return invalid('card-number', 'The card number is incomplete or incorrect.');
    const m = /^(\d{2})\/(\d{2}|\d{4})$/.exec(exp);
    if (!m) return invalid('card-exp', 'Enter the expiry date as MM / YY.');
    const month = Number(m[1]);
    const year = m[2].length === 2 ? 2000 + Number(m[2]) : Number(m[2]);
    const now = new Date();
    if (month < 1 || month > 12 || year < now.getFullYear() || (year === now.getFullYear() && month < now.getMonth() + 1)) {
        return invalid('card-exp', 'This card has expired, or the date is not valid.');
    }
    if (!/^\d{3,4}$/.test(cvc)) return invalid('card-cvc', 'The security code (CVC) has 3 or 4 digits.');
    buyer.email = email;
    buyer.name = name;
    return { email, name, number, month, year, cvc };
}

// ---- paying ------------------------------------------------------------------------------------

async function pay() {
    const form = readForm();
    if (!form) return;
    $('#pay-error').replaceChildren();
    const button = $('#pay');
    paying = true;
    try {
        await busy(button, () => payOnce(form));
    } finally {
        paying = false;
        if (!finished && entry.deadline <= Date.now()) expired();
    }
}

async function startCheckout(form, inBrowser) {
    try {
        const body = { customer: { email: form.email, name: form.name }, create_intent: inBrowser };
        const res = await post(`/api/v1/holds/${encodeURIComponent(holdId)}/checkout`, body, { idem: true, headers: passHeaders(eventId) });
        entry.order = { id: res.order.id, secret: res.order.secret };
        updateHold(eventId, { order: entry.order });
        return res;
    } catch (err) {
        if (err instanceof ApiError && (err.code === 'HOLD_EXPIRED' || err.code === 'GONE')) {
            expired();
            return null;
        }
        if (err instanceof ApiError && err.code === 'INVALID_STATE' && entry.order && err.details.order_id === entry.order.id) {
            // paid already (another tab, or a lost answer): show the tickets
            return { order: { ...entry.order, status: err.details.status } };
        }
        throw err;
    }
}

/** Confirm the intent at the gateway with the card; resolves to null or the gateway's card error. */
async function confirmAtGateway(payment, form) {
    const body = new URLSearchParams({
        client_secret: payment.client_secret,
        'payment_method_data[type]': 'card',
        'payment_method_data[card][number]': form.number,
        'payment_method_data[card][exp_month]': String(form.month),
        'payment_method_data[card][exp_year]': String(form.year),
        'payment_method_data[card][cvc]': form.cvc,
    });
    let res;
    try {
        res = await fetch(`${config.gateway_url.replace(/\/$/, '')}/v1/payment_intents/${encodeURIComponent(payment.intent_id)}/confirm`, {
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            body,
        });
    } catch {
        throw new ApiError(0, 'GATEWAY_UNREACHABLE', 'The payment service could not be reached. Check your connection and try again.');
    }
    const json = await res.json().catch(() => ({}));
    if (res.ok) return null;
    const e = json.error || {};
    if (e.code === 'payment_intent_unexpected_state') return null; // paid already: the server will tell
    if (e.type === 'card_error') return e;
    throw new ApiError(res.status, 'GATEWAY_ERROR', e.message || 'The payment service refused the request.');
}

async function payOnce(form) {
    const sim = Boolean(config.gateway === 'sim' && config.gateway_url);
    let checkout;
    try {
        checkout = await startCheckout(form, sim);
    } catch (err) {
        showError('The checkout could not start', err.message);
        return;
    }
    if (!checkout) return;
    if (checkout.order.status === 'paid') return done(checkout.order);

    let cardError = null;
    try {
        if (sim) cardError = await confirmAtGateway(checkout.payment, form);
    } catch (err) {
        showError('The payment did not go through', err.message);
        return;
    }
    if (cardError && !cardError.charge && !cardError.payment_intent) {
        // refused before any charge (a bad number or date): nothing to settle
        showError('Please check your card', declineText(cardError.decline_code || cardError.code, cardError.message));
        return;
    }
    // the server asks the gateway itself and settles the order
    let settled;
    try {
        const secret = entry.order.secret;
        settled = await post(`/api/v1/orders/${encodeURIComponent(checkout.order.id)}/confirm`, sim ? { secret } : { secret, payment_method: form.number });
    } catch (err) {
        if (err instanceof ApiError && err.code === 'PAYMENT_DECLINED') return declined(err.details, cardError);
        if (err instanceof ApiError && (err.code === 'HOLD_EXPIRED' || err.code === 'GONE')) {
            showError('Your hold expired before the payment', 'The seats were released and nothing was charged.');
            setTimeout(() => expired(), 2500);
            return;
        }
        showError('The payment could not be confirmed', `${err.message} Your card may have been charged: refresh this page in a moment.`);
        return;
    }
    let order = settled.order;
    for (let i = 0; order.status === 'pending_payment' && !cardError && !order.last_payment_error && i < 40; i++) {
        await new Promise((r) => setTimeout(r, 500));
        order = (await get(`/api/v1/orders/${encodeURIComponent(order.id)}?secret=${encodeURIComponent(entry.order.secret)}`)).order;
    }
    if (order.status === 'paid') return done(order);
    if (order.status === 'pending_payment' && (cardError || order.last_payment_error)) {
        const le = order.last_payment_error || {};
        return declined({ decline_code: le.decline_code || cardError?.decline_code, message: le.message || cardError?.message, attempts_left: le.attempts_left, hold_released: false }, cardError);
    }
    if (order.status === 'payment_failed' || order.status === 'expired' || order.status === 'canceled') {
        return declined({ decline_code: order.last_payment_error?.decline_code, message: order.last_payment_error?.message, attempts_left: 0, hold_released: true }, cardError);
    }
    showError('The payment is still being processed', 'Refresh this page in a moment to see your tickets.', 'warn');
}

function declined(d, cardError) {
    const code = d.decline_code || cardError?.decline_code || cardError?.code;
    const text = declineText(code, d.message || cardError?.message);
    if (d.hold_released) {
        finished = true;
        timer?.stop();
        clearHold(eventId);
        showError('Payment declined: your seats were released', `${text} After three declined payments the seats go back on sale.`);
        $('#pay').disabled = true;
        $('#pay-error').append(h('p', h('a.btn', { href: `/event.html?id=${encodeURIComponent(eventId)}` }, 'Back to the seat map')));
        return;
    }
    const left = d.attempts_left;
    showError('Payment declined', `${text}${left ? ` Your seats are still held: ${left} more attempt${left === 1 ? '' : 's'}.` : ''}`);
    const num = $('#card-number');
    num.value = '';
    num.setAttribute('aria-invalid', 'true');
}

function done(order) {
    finished = true;
    timer?.stop();
    rememberOrder(order, entry.event);
    clearHold(eventId);
    const secret = order.secret || entry.order.secret;
    location.assign(`/order.html#id=${encodeURIComponent(order.id)}&secret=${encodeURIComponent(secret)}&new=1`);
}

async function cancel(button) {
    try {
        // once checked out, the hold belongs to its order: its secret releases it
        const headers = entry.order?.secret ? { 'x-order-secret': entry.order.secret } : {};
        await busy(button, () => del(`/api/v1/holds/${encodeURIComponent(holdId)}`, { idem: true, headers }));
    } catch (err) {
        if (!(err instanceof ApiError) || err.status !== 404) {
            showError('The seats could not be released', err.message);
            return;
        }
    }
    finished = true;
    timer?.stop();
    clearHold(eventId);
    location.assign(`/event.html?id=${encodeURIComponent(eventId)}#released=1`);
}

main().catch((err) => {
    fill(app, h('div.alert.bad', h('strong', 'The checkout could not be loaded'), String(err.message || err)));
    throw err;
});
