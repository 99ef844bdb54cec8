// ui.js - small DOM and formatting helpers shared by every page: h() to
// build elements, money and date formatting in the buyer's locale, the site
// header, toasts, and query/hash parameters.

/**
 * h('div.card#id', {attr: value, onclick: fn, dataset: {...}}, child, ...)
 * Children may be strings, nodes, arrays, null or false (skipped).
 */
export function h(tag, attrs, ...children) {
    const m = /^([a-z0-9-]+)((?:[.#][\w-]+)*)$/i.exec(tag);
    const el = document.createElement(m ? m[1] : tag);
    if (m && m[2]) {
        for (const part of m[2].match(/[.#][\w-]+/g)) {
            if (part[0] === '.') el.classList.add(part.slice(1));
            else el.id = part.slice(1);
        }
    }
    if (attrs && (typeof attrs !== 'object' || attrs instanceof Node || Array.isArray(attrs))) {
        children.unshift(attrs);
        attrs = null;
    }
    for (const [k, v] of Object.entries(attrs || {})) {
        if (v === null || v === undefined || v === false) continue;
        if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
        else if (k === 'dataset') Object.assign(el.dataset, v);
        else if (k === 'style' && typeof v === 'object') Object.assign(el.style, v);
        else if (k === 'class') el.className = v;
        else if (k in el && typeof v !== 'string') el[k] = v;
        else el.setAttribute(k, v === true ? '' : String(v));
    }
    append(el, children);
    return el;
}

function append(el, children) {
    for (const c of children) {
        if (c === null || c === undefined || c === false) continue;
        if (Array.isArray(c)) append(el, c);
        else el.append(c instanceof Node ? c : String(c));
    }
}

/** el.replaceChildren(...) that skips null, undefined and false, and flattens arrays. */
export function fill(el, ...kids) {
    el.replaceChildren();
    append(el, kids);
    return el;
}

export const $ = (sel, root = document) => root.querySelector(sel);
export const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];

// ---- money and time ------------------------------------------------------------

const moneyFormats = new Map();
function moneyFormat(currency) {
    let f = moneyFormats.get(currency);
    if (!f) {
        try {
            f = new Intl.NumberFormat(undefined, { style: 'currency', currency });
        } catch {
            f = new Intl.NumberFormat(undefined, { style: 'currency', currency: 'EUR' });
        }
        moneyFormats.set(currency, f);
    }
    return f;
}

/** Minor-unit digits of a currency (2 for EUR, 0 for JPY). */
export function minorDigits(currency) {
    return moneyFormat(currency).resolvedOptions().maximumFractionDigits;
}

/** 12345 cents, 'EUR' -> '€123.45' in the buyer's locale. */
export function money(cents, currency = 'EUR') {
    return moneyFormat(currency).format(cents / 10 ** minorDigits(currency));
}

const dateLong = new Intl.DateTimeFormat(undefined, { weekday: 'short', day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit' });
const dateShort = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' });
const timeOnly = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });

export const fmtDate = (iso) => (iso ? dateLong.format(new Date(iso)) : '');
export const fmtDateShort = (iso) => (iso ? dateShort.format(new Date(iso)) : '');
export const fmtTime = (iso) => (iso ? timeOnly.format(new Date(iso)) : '');

/** 'M:SS' for a number of seconds (never negative). */
export function clock(seconds) {
    const s = Math.max(0, Math.ceil(seconds));
    return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

/** An ISO time as the value of an <input type="datetime-local"> (local time). */
export function toLocalInput(iso) {
    if (!iso) return '';
    const d = new Date(iso);
    const p = (n) => String(n).padStart(2, '0');
    return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

/** The value of a datetime-local input as an RFC 3339 UTC string. */
export function fromLocalInput(value) {
    if (!value) return null;
    const d = new Date(value);
    return Number.isNaN(d.getTime()) ? null : d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

// ---- status badges ---------------------------------------------------------------

/** The badge of an event summary: on sale, few left, sold out, ... */
export function eventBadge(ev) {
    const a = ev.availability || {};
    const ratio = a.total ? a.available / a.total : 0;
    switch (ev.status) {
        case 'on_sale':
            if (!a.available) return h('span.badge.sold-out', 'Sold out');
            if (ratio <= 0.1 || a.available <= 20) return h('span.badge.few-left', `Few left · ${a.available}`);
            return h('span.badge.on-sale', 'On sale');
        case 'sold_out':
            return h('span.badge.sold-out', 'Sold out');
        case 'scheduled':
            return h('span.badge.scheduled', ev.on_sale_at ? `On sale ${fmtDateShort(ev.on_sale_at)}` : 'Coming soon');
        case 'cancelled':
            return h('span.badge.cancelled', 'Cancelled');
        case 'ended':
            return h('span.badge', 'Ended');
        default:
            return h('span.badge', ev.status || '');
    }
}

// ---- page chrome -------------------------------------------------------------------

const LOGO = '<svg viewBox="0 0 32 32" aria-hidden="true"><rect x="2" y="7" width="28" height="18" rx="4" fill="#6366f1"/><circle cx="2" cy="16" r="4" fill="#111322"/><circle cx="30" cy="16" r="4" fill="#111322"/><path d="M11 11h10M11 16h10M11 21h6" stroke="#fff" stroke-width="2.2" stroke-linecap="round"/></svg>';

/** Put the site header (nav with the current page marked) and a toast host in place. */
export function chrome(current) {
    const links = [
        ['events', '/', 'Events'],
        ['tickets', '/order.html', 'My tickets'],
        ['gate', '/gate.html', 'Gate'],
        ['admin', '/admin.html', 'Admin'],
    ];
    const brand = h('a.brand', { href: '/' });
    brand.innerHTML = `${LOGO}<span>boxoffice</span>`;
    const header = h('header.site-header', h('div.bar', brand,
        h('nav', { 'aria-label': 'Main' }, links.map(([key, href, text]) =>
            h('a', { href, 'aria-current': key === current ? 'page' : null }, text)))));
    document.body.prepend(header);
    document.body.append(h('footer.site-footer', 'boxoffice · tickets that are never sold twice'));
    document.body.append(h('div.toast-host', { role: 'status', 'aria-live': 'polite' }));
}

/** A message at the bottom of the screen for a few seconds. */
export function toast(text, kind = '') {
    const host = $('.toast-host');
    if (!host) return;
    const t = h(`div.toast${kind ? '.' + kind : ''}`, text);
    host.append(t);
    setTimeout(() => t.remove(), 4500);
}

/** Parameters from the query string and the hash (#a=1&b=2), the hash winning. */
export function params() {
    const p = new URLSearchParams(location.search);
    const hash = new URLSearchParams(location.hash.replace(/^#/, ''));
    for (const [k, v] of hash) p.set(k, v);
    return p;
}

/** A button's busy state: disabled with a spinner while fn runs. */
export async function busy(button, fn) {
    const old = [...button.childNodes];
    button.disabled = true;
    button.setAttribute('aria-busy', 'true');
    button.replaceChildren(h('span.spinner', { 'aria-hidden': 'true' }), ...old);
    try {
        return await fn();
    } finally {
        button.disabled = false;
        button.removeAttribute('aria-busy');
        button.replaceChildren(...old);
    }
}

/** A deterministic gradient for an event's card from its id. */
export function artFor(id) {
    let x = 0;
    for (const c of id) x = (x * 31 + c.charCodeAt(0)) >>> 0;
    const a = x % 360;
    const b = (a + 40 + (x >> 9) % 80) % 360;
    return `linear-gradient(135deg, hsl(${a} 70% 42%), hsl(${b} 75% 30%))`;
}

/** Local storage as JSON, never throwing (private modes). */
export const store = {
    get(key, fallback = null) {
        try {
            const v = localStorage.getItem(key);
            return v === null ? fallback : JSON.parse(v);
        } catch {
            return fallback;
        }
    },
    set(key, value) {
        try {
            if (value === null || value === undefined) localStorage.removeItem(key);
            else localStorage.setItem(key, JSON.stringify(value));
        } catch {
            /* storage full or disabled: the page still works for this visit */
        }
    },
};
