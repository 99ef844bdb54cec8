// cart.js - the buyer's hold, kept in localStorage per event so that a
// reload, another tab or the checkout page find it again; its countdown;
// and the words for the API's refusals of a hold.
//
// The deadline is computed from the hold's time_left_s when the answer
// arrived (not from expires_at against the local clock, which may be off).

import { store, money } from './ui.js';

const key = (eventId) => `bo.hold.${eventId}`;

/**
 * Remember a hold. items: what it holds, in words:
 *   {kind: 'seat', id, section, row, seat, category, color, price_cents}
 *   {kind: 'ga', area, name, quantity, color, price_cents}
 */
export function saveHold(event, hold, items) {
    const entry = {
        event: { id: event.id, name: event.name, starts_at: event.starts_at, venue: event.venue, currency: event.currency },
        hold,
        items,
        deadline: Date.now() + (hold.time_left_s ?? 0) * 1000,
    };
    store.set(key(event.id), entry);
    return entry;
}

/** The live hold of an event, or null (an expired one is dropped: {expired}). */
export function loadHold(eventId) {
    const entry = store.get(key(eventId));
    if (!entry || !entry.hold) return null;
    if (entry.deadline <= Date.now() && entry.hold.status !== 'paying') {
        store.set(key(eventId), null);
        return { expired: true, entry };
    }
    return entry;
}

export function updateHold(eventId, fields) {
    const entry = store.get(key(eventId));
    if (entry) store.set(key(eventId), { ...entry, ...fields });
}

export function clearHold(eventId) {
    store.set(key(eventId), null);
}

/** The buyer's e-mail address and name, remembered between visits. */
export const buyer = {
    get email() {
        return store.get('bo.email', '');
    },
    set email(v) {
        store.set('bo.email', v);
    },
    get name() {
        return store.get('bo.name', '');
    },
    set name(v) {
        store.set('bo.name', v);
    },
};

/** Orders bought in this browser, newest first (for "My tickets"). */
export function rememberOrder(order, event) {
    const list = store.get('bo.orders', []).filter((o) => o.id !== order.id);
    list.unshift({
        id: order.id,
        secret: order.secret,
        event_name: order.event_name || event?.name || '',
        starts_at: event?.starts_at || null,
        tickets: order.tickets?.length || 0,
        at: new Date().toISOString(),
    });
    store.set('bo.orders', list.slice(0, 50));
}

export const savedOrders = () => store.get('bo.orders', []);

/**
 * A countdown to a deadline (ms since the epoch): tick(secondsLeft) every
 * second, expire() once at zero. Returns {stop()}.
 */
export function countdown(deadline, tick, expire) {
    let done = false;
    let timer = 0;
    const run = () => {
        const left = (deadline - Date.now()) / 1000;
        tick(Math.max(0, left));
        if (left <= 0) {
            if (!done) {
                done = true;
                expire();
            }
            return;
        }
        timer = setTimeout(run, Math.min(1000, Math.max(50, (left % 1) * 1000 || 1000)));
    };
    run();
    return {
        stop() {
            done = true;
            clearTimeout(timer);
        },
    };
}

/** What a refused hold means, for the buyer. names: seat id -> words. */
export function holdErrorText(err, { names = (id) => id, areaName = (id) => id, currency = 'EUR' } = {}) {
    const d = err.details || {};
    switch (err.code) {
        case 'SEATS_UNAVAILABLE': {
            const seats = (d.seats || []).map(names);
            const ga = (d.ga || []).map(areaName);
            const parts = [];
            if (seats.length) parts.push(`${seats.join(', ')} ${seats.length === 1 ? 'was' : 'were'} just taken by someone else`);
            if (ga.length) parts.push(`not enough places are left in ${ga.join(', ')}`);
            return `Sorry: ${parts.join(', and ') || 'those seats were just taken'}. Please choose again.`;
        }
        case 'SOLD_OUT':
            return 'No seats together fit that request any more. Try fewer seats or another category.';
        case 'LIMIT_EXCEEDED':
            return `You can buy at most ${d.limit} tickets for this event${d.requested ? ` (you asked for ${d.requested} more)` : ''}.`;
        case 'NOT_ON_SALE':
            return d.on_sale_at ? `Sales open on ${new Date(d.on_sale_at).toLocaleString()}.` : 'This event is not on sale.';
        case 'INVALID_REQUEST':
            if (d.field === 'customer.email') return 'Please enter a valid e-mail address.';
            return err.message;
        case 'RATE_LIMITED':
            if (d.limit === 'seats_per_address' || d.limit === 'holds_per_address')
                return 'Too many seats are already held from your network for this event. Complete or release those holds, or wait for them to end, and try again.';
            return `Lots of people are buying right now. Wait ${Math.max(1, Number(d.retry_after_s) || 5)} s and try again.`;
        case 'QUEUE_REQUIRED':
            return 'This on-sale has a waiting room: join the queue to buy.';
        case 'NETWORK':
            return err.message;
        default:
            if (err.status >= 500) return 'The box office is busy right now. Please try again in a moment.';
            return err.message || 'Something went wrong. Please try again.';
    }
}

export function itemsTotal(items) {
    return items.reduce((t, it) => t + it.price_cents * (it.quantity || 1), 0);
}

export function itemText(it, currency) {
    if (it.kind === 'ga') return `${it.quantity} × ${it.name} · ${money(it.price_cents, currency)} each`;
    return `${it.section} · Row ${it.row} · Seat ${it.seat}`;
}
