// order.js - an order and its tickets, reachable later by its link
// (/order.html#id=<ord_…>&secret=<secret>; ?id=&secret= works too). The
// secret stays in the hash, which browsers never send to a server. Without
// an id, the page lists the orders bought in this browser.

import { h, $, fill, chrome, money, fmtDate, fmtTime, params, toast } from './ui.js';
import { get, ApiError } from './api.js';
import { savedOrders, rememberOrder } from './cart.js';

chrome('tickets');
const app = $('#app');
const p = params();
const orderId = p.get('id');
const secret = p.get('secret');

const STATUS = {
    paid: ['ok', 'Paid', 'Your tickets are ready. Show the QR code at the entrance.'],
    pending_payment: ['warn', 'Waiting for payment', 'We have not received the payment yet. This page updates by itself.'],
    payment_failed: ['bad', 'Payment failed', 'The payment was declined and the seats were released.'],
    expired: ['bad', 'Expired', 'The checkout was not completed in time; the seats were released.'],
    canceled: ['bad', 'Cancelled', 'This order was cancelled.'],
    refund_pending: ['warn', 'Refund in progress', 'This order was cancelled; the refund is on its way.'],
    refunded: ['info', 'Refunded', 'This order was cancelled and refunded. Its tickets are void.'],
    refunded_unavailable: ['info', 'Refunded', 'The payment arrived after the seats were taken, so it was refunded in full.'],
};

function list() {
    const orders = savedOrders();
    fill(app, h('h1', 'My tickets'),
        orders.length
            ? h('div.stack', orders.map((o) => h('a.card', { href: `/order.html#id=${encodeURIComponent(o.id)}&secret=${encodeURIComponent(o.secret)}`, style: { display: 'block', textDecoration: 'none', color: 'inherit' } },
                h('div.spread', h('strong', o.event_name || o.id), h('span.small.muted', `${o.tickets} ticket${o.tickets === 1 ? '' : 's'}`)),
                h('div.small.muted', o.starts_at ? fmtDate(o.starts_at) : `Ordered ${fmtDate(o.at)}`))))
            : h('div.empty', h('p', 'Orders you buy in this browser appear here. An order is also always reachable by the link on its page.'), h('a.btn', { href: '/' }, 'Find an event')));
    app.removeAttribute('aria-busy');
}

function ticketCard(t, order, event) {
    const where = t.seat
        ? [h('div.where', `Row ${t.row} · Seat ${t.number}`), h('div', t.section)]
        : [h('div.where', 'General admission'), h('div', t.ga_area_name || areaName(event, t.ga_area))];
    const state = t.status === 'used' ? `Scanned ${fmtTime(t.checked_in_at)}` : t.status === 'void' ? 'Void' : 'Valid';
    return h(`article.ticket${t.status === 'used' ? '.used' : t.status === 'void' ? '.void' : ''}`, { dataset: { ticket: t.id } },
        h('div.top', h('div.small', order.event_name || event?.name || ''), where,
            h('div.small', { style: { marginTop: '6px', opacity: 0.9 } }, event ? fmtDate(event.starts_at) : ''),
            h('span.badge', { style: { marginTop: '8px', background: 'rgb(255 255 255 / 18%)', color: '#fff' } }, state)),
        h('div.qr',
            h('img', { src: t.qr_svg_url, alt: `QR code of ticket ${t.id}`, width: 200, height: 200 }),
            h('div.code', { title: 'Ticket code' }, t.code),
            h('button.btn.small.no-print', { type: 'button', onclick: () => copy(t.code) }, 'Copy code')));
}

function areaName(event, id) {
    return event?.ga_areas?.find((a) => a.id === id)?.name || id || '';
}

async function copy(text) {
    try {
        await navigator.clipboard.writeText(text);
        toast('Copied');
    } catch {
        toast('Select the code and copy it');
    }
}

async function show() {
    let order;
    try {
        order = (await get(`/api/v1/orders/${encodeURIComponent(orderId)}?secret=${encodeURIComponent(secret || '')}`)).order;
    } catch (err) {
        // a wrong secret answers as an unknown order does: 404
        const why = err instanceof ApiError && err.status === 404 ? 'No order has this number, or this link\'s secret does not match it.' : err.message;
        fill(app, h('div.empty', h('h1', 'Order not found'), h('p', why), h('a.btn', { href: '/' }, 'Find an event')));
        app.removeAttribute('aria-busy');
        return;
    }
    let event = null;
    try {
        event = (await get(`/api/v1/events/${encodeURIComponent(order.event_id)}`)).event;
    } catch {
        /* the tickets are what matters */
    }
    if (order.status === 'paid') rememberOrder(order, event);
    const [kind, title, text] = STATUS[order.status] || ['info', order.status, ''];
    const isNew = p.get('new') && order.status === 'paid';
    const link = `${location.origin}/order.html#id=${encodeURIComponent(order.id)}&secret=${encodeURIComponent(secret)}`;
    fill(app, 
        isNew ? h('div.alert.ok#success', { role: 'status', style: { marginBottom: '16px' } },
            h('strong', 'Payment received: you are going!'),
            `Your ${order.tickets.length} ticket${order.tickets.length === 1 ? ' is' : 's are'} below.`) : null,
        h('div.spread', { style: { flexWrap: 'wrap' } },
            h('div', h('h1', { style: { marginBottom: '4px' } }, order.event_name || event?.name || 'Your order'),
                h('p.muted', event ? `${fmtDate(event.starts_at)} · ${event.venue.name}${event.venue.city ? `, ${event.venue.city}` : ''}` : '')),
            h('div.row.no-print', h('button.btn', { type: 'button', onclick: () => print() }, 'Print'), h('button.btn', { type: 'button', onclick: () => copy(link) }, 'Copy link'))),
        h(`div.alert.${kind === 'ok' ? 'ok' : kind}#order-status`, { dataset: { status: order.status } }, h('strong', title), text),
        h('div.card.small', { style: { margin: '16px 0' } },
            h('div.spread', h('span', 'Order'), h('span.mono', order.id)),
            h('div.spread', h('span', 'Name'), h('span', order.customer?.name || '')),
            h('div.spread', h('span', 'E-mail'), h('span', order.customer?.email || '')),
            h('div.spread', h('span', 'Total'), h('strong', money(order.amount.total_cents, order.amount.currency))),
            order.paid_at ? h('div.spread', h('span', 'Paid'), h('span', fmtDate(order.paid_at))) : null,
            h('p.muted', { style: { margin: '8px 0 0' } }, 'Keep this page\'s link: it opens your tickets on any device. Anyone with the link can see them.')),
        order.tickets.length ? h('section', { 'aria-label': 'Tickets' }, h('h2', `Tickets (${order.tickets.length})`), h('div.tickets#tickets', order.tickets.map((t) => ticketCard(t, order, event)))) : null);
    app.removeAttribute('aria-busy');
    if (order.status === 'pending_payment') setTimeout(show, 2000);
}

if (!orderId) list();
else show();
