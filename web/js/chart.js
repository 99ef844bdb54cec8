// chart.js - the sales-over-time chart of the admin dashboard, as inline
// SVG: one bar per hour for the tickets sold, a line for the cumulative
// revenue, axes with a few labels. No library: a few dozen elements.

import { money } from './ui.js';

const NS = 'http://www.w3.org/2000/svg';
const HOUR = 3600e3;

function el(tag, attrs = {}, text) {
    const e = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
    if (text !== undefined) e.textContent = text;
    return e;
}

/** An <svg> width px wide for points [{at, tickets, revenue_cents}] (hourly buckets). */
export function salesChart(points, currency, width = 640) {
    const W = Math.max(320, Math.round(width)), H = 240, L = 44, R = 64, T = 14, B = 30;
    const svg = el('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img' });
    const pts = [...points].map((p) => ({ ...p, t: Date.parse(p.at) })).filter((p) => !Number.isNaN(p.t)).sort((a, b) => a.t - b.t);
    const totalTickets = pts.reduce((t, p) => t + (p.tickets || 0), 0);
    const totalRevenue = pts.reduce((t, p) => t + (p.revenue_cents || 0), 0);
    svg.setAttribute('aria-label', pts.length
        ? `Sales over time: ${totalTickets} tickets and ${money(totalRevenue, currency)} from ${new Date(pts[0].t).toLocaleString()} to ${new Date(pts[pts.length - 1].t + HOUR).toLocaleString()}`
        : 'No sales yet');
    const pw = W - L - R, ph = H - T - B;
    svg.append(el('line', { class: 'axis', x1: L, y1: T + ph, x2: L + pw, y2: T + ph }));
    if (!pts.length) {
        svg.append(el('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle' }, 'No sales yet'));
        return svg;
    }
    // at least six hours wide, up to the current hour, so one bucket is not a wall
    const t1 = Math.max(pts[pts.length - 1].t + HOUR, Math.ceil(Date.now() / HOUR) * HOUR);
    const t0 = Math.min(pts[0].t, t1 - 6 * HOUR);
    const x = (t) => L + ((t - t0) / (t1 - t0)) * pw;
    const maxT = Math.max(1, ...pts.map((p) => p.tickets || 0));
    const yT = (v) => T + ph - (v / maxT) * ph;
    const barW = Math.max(2, (HOUR / (t1 - t0)) * pw - 2);
    for (const p of pts) {
        const r = el('rect', { x: x(p.t) + 1, y: yT(p.tickets || 0), width: barW, height: T + ph - yT(p.tickets || 0), rx: 2, fill: '#a5b4fc' });
        r.append(el('title', {}, `${new Date(p.t).toLocaleString()}: ${p.tickets} tickets, ${money(p.revenue_cents || 0, currency)}`));
        svg.append(r);
    }
    // cumulative revenue, on the right axis
    let cum = 0;
    const yR = (v) => T + ph - (v / Math.max(1, totalRevenue)) * ph;
    const d = [`M${x(pts[0].t)} ${yR(0)}`];
    for (const p of pts) {
        cum += p.revenue_cents || 0;
        d.push(`L${x(p.t + HOUR)} ${yR(cum)}`);
    }
    d.push(`L${x(t1)} ${yR(cum)}`);
    svg.append(el('path', { d: d.join(''), fill: 'none', stroke: '#4f46e5', 'stroke-width': 2.5, 'stroke-linejoin': 'round' }));
    // labels: tickets on the left, revenue on the right, times below
    svg.append(el('text', { x: L - 6, y: T + 8, 'text-anchor': 'end' }, String(maxT)));
    svg.append(el('text', { x: L - 6, y: T + ph, 'text-anchor': 'end' }, '0'));
    svg.append(el('text', { x: L + pw + 6, y: T + 8 }, money(totalRevenue, currency)));
    svg.append(el('text', { x: 4, y: T + ph / 2, transform: `rotate(-90 10 ${T + ph / 2})`, 'text-anchor': 'middle' }, 'tickets / hour'));
    const fmt = new Intl.DateTimeFormat(undefined, t1 - t0 > 2 * 86400e3 ? { day: 'numeric', month: 'short' } : { hour: '2-digit', minute: '2-digit' });
    const n = Math.min(5, Math.max(2, Math.round(pw / 140)));
    for (let i = 0; i <= n; i++) {
        const t = t0 + ((t1 - t0) * i) / n;
        svg.append(el('text', { x: x(t), y: H - 8, 'text-anchor': i === 0 ? 'start' : i === n ? 'end' : 'middle' }, fmt.format(new Date(t))));
    }
    return svg;
}
