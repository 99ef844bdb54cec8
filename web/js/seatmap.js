// seatmap.js - the interactive seat map: an SVG that stays light at any size.
//
// Workload: from a 60-seat club to a 200,000-seat stadium, with seats
// changing state live (a few per 100 ms during an on-sale). One DOM node per
// seat would be ~100,000 nodes: too slow to build, style and hit-test. So:
//   - seats are drawn in batches: one style per price category for the
//     available seats and one per other state (held, sold, blocked), each
//     seat a zero-length subpath ("M x y h0") made a dot by a round line cap
//     (a square cap for held, a slash for blocked: states differ in shape,
//     not only colour). Each batch is cut into chunks of CHUNK consecutive
//     seats (seat-map order is spatially coherent: rows of a section), one
//     <path> per batch and chunk. Small paths matter: Skia's cost to stroke
//     one path grows faster than its subpaths (100,000 dots in 7 paths took
//     ~5 s to paint here, in ~600 paths ~0.2 s), and Chrome skips painting
//     a path whose box is outside the view, so a zoomed-in view draws only
//     the chunks it shows. A state change rewrites only its chunk's paths;
//   - hit testing is ours: a uniform grid over the seat coordinates finds
//     the seat under the pointer in O(1) (no DOM events per seat);
//   - zoom and pan change the viewBox; on big maps a gesture first moves the
//     rendered picture with a CSS transform (GPU-composited, fluid) and the
//     viewBox is committed once the gesture rests, so the heavy paths are
//     rasterised once per gesture, not once per frame;
//   - the few things that are per seat (your selection, your held seats, the
//     keyboard cursor, the hovered seat) are small overlay circles.
// Pointer and keyboard input live in seatmap-input.js (the base class).

import { SeatMapInput } from './seatmap-input.js';

const SVG = 'http://www.w3.org/2000/svg';
const AVAILABLE = 0;
const HELD = 1;
const SOLD = 2;
const BLOCKED = 3;
const STATE_LABEL = ['Available', 'Held', 'Sold', 'Blocked'];
const HEAVY_SEATS = 5000; // above this, gestures move a bitmap and commit when they rest
const CHUNK = 400; // seats per path (see above)
const COMMIT_MS = 140;

function svg(tag, attrs = {}) {
    const el = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
    return el;
}

function cssVar(name, fallback) {
    const v = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
    return v || fallback;
}

/** Round a number for an SVG attribute. */
const r3 = (v) => Math.round(v * 1000) / 1000;

export class SeatMap extends SeatMapInput {
    /**
     * host: an empty element to fill. opts:
     *   mode: 'buy' (colours by category), 'state' (colours by state), 'preview';
     *   canSelect(i, state): which seats a click may select (default: available);
     *   maxSelected: selection limit (default 100);
     *   onChange(selectedIndices): after the selection changed;
     *   onRefused(i, reason): a click on a seat that cannot be selected;
     *   onLost(indices): selected seats that were taken meanwhile;
     *   price(i): a price text for the tooltip; label: the widget's name.
     */
    constructor(host, opts = {}) {
        super();
        this.host = host;
        this.opts = { mode: 'buy', maxSelected: 100, ...opts };
        this.n = 0;
        this.selected = new Set();
        this.mine = new Set();
        this.cursor = -1;
        this.hover = -1;
        this.pointers = new Map();
        this.view = null;
        this.committed = null;
        this.userMoved = false;
        this.dirty = null;
        this.frame = 0;
        this.commitTimer = 0;
        this.buildDom();
    }

    // ---- DOM ---------------------------------------------------------------------

    buildDom() {
        const host = this.host;
        host.classList.add('seatmap');
        host.replaceChildren();
        const hintId = `seatmap-help-${Math.random().toString(36).slice(2, 8)}`;
        this.viewport = document.createElement('div');
        this.viewport.className = 'viewport';
        this.viewport.tabIndex = 0;
        this.viewport.setAttribute('role', 'application');
        this.viewport.setAttribute('aria-roledescription', 'seat map');
        this.viewport.setAttribute('aria-label', this.opts.label || 'Seat map');
        this.viewport.setAttribute('aria-describedby', hintId);
        this.svg = svg('svg', { xmlns: SVG, 'aria-hidden': 'true', focusable: 'false' });
        this.gBack = svg('g');
        this.gSeats = svg('g');
        this.gLabels = svg('g');
        this.gOver = svg('g');
        this.gSel = svg('g');
        this.gMine = svg('g');
        this.hoverRing = svg('circle', { fill: 'none', stroke: '#111322', visibility: 'hidden' });
        this.cursorRing = svg('circle', { fill: 'none', stroke: '#111322', visibility: 'hidden' });
        this.gOver.append(this.gMine, this.gSel, this.hoverRing, this.cursorRing);
        this.svg.append(this.gBack, this.gSeats, this.gLabels, this.gOver);
        this.viewport.append(this.svg);

        this.tooltip = document.createElement('div');
        this.tooltip.className = 'tooltip hidden';
        this.live = document.createElement('div');
        this.live.className = 'sr-only';
        this.live.setAttribute('aria-live', 'polite');
        const help = document.createElement('p');
        help.className = 'sr-only';
        help.id = hintId;
        help.textContent = 'Arrow keys move between seats, Enter or Space selects or unselects the seat, ' +
            'Page Up and Page Down change section, plus and minus zoom, 0 shows the whole venue.';
        const hint = document.createElement('div');
        hint.className = 'hint';
        hint.setAttribute('aria-hidden', 'true');
        hint.textContent = 'Scroll or pinch to zoom · drag to move';
        this.loading = document.createElement('div');
        this.loading.className = 'loading';
        this.loading.textContent = 'Loading the seat map…';
        const controls = document.createElement('div');
        controls.className = 'controls';
        for (const [text, label, fn] of [
            ['+', 'Zoom in', () => this.zoomBy(1.6)],
            ['−', 'Zoom out', () => this.zoomBy(1 / 1.6)],
            ['⤢', 'Show the whole venue', () => this.fit()],
        ]) {
            const b = document.createElement('button');
            b.type = 'button';
            b.textContent = text;
            b.title = label;
            b.setAttribute('aria-label', label);
            b.addEventListener('click', fn);
            controls.append(b);
        }
        host.append(this.viewport, controls, this.tooltip, hint, help, this.live, this.loading);
        this.bindEvents();
    }

    // ---- data ----------------------------------------------------------------------

    /** Load a seat map (the GET …/seatmap answer, or an import-format map),
     * with the seats' states when they are known already (else available). */
    load(map, states = null) {
        const cats = map.categories || [];
        this.cats = cats.map((c) => ({ ...c }));
        const catIndex = new Map(cats.map((c, i) => [c.key, i]));
        const cols = map.format === 'columns' ? map.seats : null; // ?format=columns
        let n = 0;
        if (cols) n = cols.id.length;
        else for (const s of map.sections || []) for (const r of s.rows) n += r.seats.length;
        this.n = n;
        const xs = (this.xs = new Float64Array(n));
        const ys = (this.ys = new Float64Array(n));
        this.cat = new Uint8Array(n);
        this.rowOf = new Uint32Array(n);
        this.acc = new Uint8Array(n);
        this.ids = new Array(n);
        this.labels = new Array(n);
        this.rows = [];
        this.sections = [];
        this._index = null; // id -> seat, built on first use (after the first paint)
        let i = 0;
        let lastKey = null, lastCat = 0; // neighbours share their category
        for (const s of map.sections || []) {
            const sec = { id: s.id, name: s.name, rowStart: this.rows.length, start: i };
            for (const r of s.rows) {
                const row = { section: this.sections.length, label: r.label, start: i };
                if (cols) {
                    for (const end = i + r.count; i < end; i++) {
                        xs[i] = cols.x[i];
                        ys[i] = cols.y[i];
                        this.cat[i] = cols.category[i];
                        this.rowOf[i] = this.rows.length;
                        this.ids[i] = cols.id[i];
                        this.labels[i] = cols.label[i];
                    }
                    row.end = i;
                    this.rows.push(row);
                    continue;
                }
                for (const seat of r.seats) {
                    xs[i] = +seat.x;
                    ys[i] = +seat.y;
                    if (seat.category !== lastKey) {
                        lastKey = seat.category;
                        lastCat = catIndex.get(lastKey) ?? 0;
                    }
                    this.cat[i] = lastCat;
                    this.rowOf[i] = this.rows.length;
                    this.acc[i] = seat.accessible ? 1 : 0;
                    this.ids[i] = seat.id;
                    this.labels[i] = seat.label ?? seat.number ?? '';
                    i++;
                }
                row.end = i;
                this.rows.push(row);
            }
            sec.rowEnd = this.rows.length;
            sec.end = i;
            this.sections.push(sec);
        }
        if (cols) for (const k of cols.accessible) this.acc[k] = 1;
        let minX = 0, minY = 0, maxX = map.size?.width || 400, maxY = map.size?.height || 300;
        if (n) {
            minX = minY = Infinity;
            maxX = maxY = -Infinity;
            for (let k = 0; k < n; k++) {
                const x = xs[k], y = ys[k];
                if (x < minX) minX = x;
                if (x > maxX) maxX = x;
                if (y < minY) minY = y;
                if (y > maxY) maxY = y;
            }
        }
        this.focal = map.focal_point || null;
        this.pitch = this.estimatePitch(minX, minY, maxX, maxY);
        this.dot = this.pitch * 0.8;
        // paths are written in integer steps of q map units (small
        // integers print and parse faster than decimals): 1/64 of a seat
        this.q = this.pitch / 64;
        this.xq = new Int32Array(n);
        this.yq = new Int32Array(n);
        for (let k = 0; k < n; k++) {
            this.xq[k] = Math.round(xs[k] / this.q);
            this.yq[k] = Math.round(ys[k] / this.q);
        }
        const pad = this.pitch * 2;
        this.bounds = { x: minX - pad, y: minY - pad, w: maxX - minX + 2 * pad, h: maxY - minY + 2 * pad };
        if (this.focal) this.includeInBounds(this.focal.x, this.focal.y - this.pitch * 3);
        this.states = new Uint8Array(n);
        if (states) this.states.set(states.subarray(0, n));
        this.selected.clear();
        this.mine.clear();
        this.cursor = -1;
        this.buildGrid();
        this.buildBatches();
        this.buildBackground();
        this.loading.remove();
        this.fit();
        this.renderAll();
        this.renderOverlay();
    }

    /** Seat id -> index (a Map of every seat, made when first needed). */
    get index() {
        if (!this._index) {
            this._index = new Map();
            for (let i = 0; i < this.n; i++) this._index.set(this.ids[i], i);
        }
        return this._index;
    }

    includeInBounds(x, y) {
        const b = this.bounds;
        const x0 = Math.min(b.x, x), y0 = Math.min(b.y, y);
        const x1 = Math.max(b.x + b.w, x), y1 = Math.max(b.y + b.h, y);
        this.bounds = { x: x0, y: y0, w: x1 - x0, h: y1 - y0 };
    }

    /** The usual distance between neighbouring seats: the median of
     * consecutive seats' distances in rows (a sample). */
    estimatePitch(minX, minY, maxX, maxY) {
        const d = [];
        const step = Math.max(1, Math.floor(this.rows.length / 400));
        for (let r = 0; r < this.rows.length && d.length < 4000; r += step) {
            const row = this.rows[r];
            for (let i = row.start + 1; i < row.end && i < row.start + 12; i++) {
                const v = Math.hypot(this.xs[i] - this.xs[i - 1], this.ys[i] - this.ys[i - 1]);
                if (v > 0) d.push(v);
            }
        }
        if (d.length) {
            d.sort((a, b) => a - b);
            return d[d.length >> 1];
        }
        const area = Math.max(1, (maxX - minX) * (maxY - minY));
        return this.n > 1 ? Math.sqrt(area / this.n) * 0.7 : 10;
    }

    /** A uniform grid (CSR arrays) over the seats for hit testing. */
    buildGrid() {
        const b = this.bounds;
        let cell = this.pitch * 2;
        const maxCells = 512;
        cell = Math.max(cell, b.w / maxCells, b.h / maxCells);
        const gw = Math.max(1, Math.ceil(b.w / cell) + 1);
        const gh = Math.max(1, Math.ceil(b.h / cell) + 1);
        const counts = new Uint32Array(gw * gh + 1);
        const cellOf = new Uint32Array(this.n);
        for (let i = 0; i < this.n; i++) {
            const cx = Math.floor((this.xs[i] - b.x) / cell);
            const cy = Math.floor((this.ys[i] - b.y) / cell);
            const c = Math.min(gh - 1, Math.max(0, cy)) * gw + Math.min(gw - 1, Math.max(0, cx));
            cellOf[i] = c;
            counts[c + 1]++;
        }
        for (let c = 0; c < gw * gh; c++) counts[c + 1] += counts[c];
        const items = new Uint32Array(this.n);
        const fill = counts.slice(0, gw * gh);
        for (let i = 0; i < this.n; i++) items[fill[cellOf[i]]++] = i;
        this.grid = { cell, gw, gh, start: counts, items };
    }

    /** Every seat within rad of (x, y), calling fn(i, d2); bounded work. */
    around(x, y, rad, fn) {
        const g = this.grid, b = this.bounds;
        const x0 = Math.max(0, Math.floor((x - rad - b.x) / g.cell));
        const x1 = Math.min(g.gw - 1, Math.floor((x + rad - b.x) / g.cell));
        const y0 = Math.max(0, Math.floor((y - rad - b.y) / g.cell));
        const y1 = Math.min(g.gh - 1, Math.floor((y + rad - b.y) / g.cell));
        const r2 = rad * rad;
        for (let cy = y0; cy <= y1; cy++) {
            for (let cx = x0; cx <= x1; cx++) {
                const c = cy * g.gw + cx;
                for (let k = g.start[c]; k < g.start[c + 1]; k++) {
                    const i = g.items[k];
                    const dx = this.xs[i] - x, dy = this.ys[i] - y;
                    const d2 = dx * dx + dy * dy;
                    if (d2 <= r2) fn(i, d2, dx, dy);
                }
            }
        }
    }

    /** The seat nearest to (x, y) within rad map units, or -1. */
    nearest(x, y, rad) {
        let best = -1, bestD = Infinity;
        this.around(x, y, rad, (i, d2) => {
            if (d2 < bestD) {
                bestD = d2;
                best = i;
            }
        });
        return best;
    }

    // ---- drawing ---------------------------------------------------------------------

    /** The batches: one <g> each with its style, holding its chunks' paths. */
    buildBatches() {
        this.gSeats.replaceChildren();
        const d = this.dot;
        const held = cssVar('--held', '#9aa3ad'), sold = cssVar('--sold', '#4b535c'), blocked = cssVar('--blocked', '#c3c8ce');
        const specs = [];
        if (this.opts.mode === 'state') {
            specs.push({ color: '#22a06b', width: d, cap: 'round' });
        } else {
            for (const c of this.cats) specs.push({ color: c.color || '#4f46e5', width: d, cap: 'round' });
            if (!this.cats.length) specs.push({ color: '#4f46e5', width: d, cap: 'round' });
        }
        this.firstState = specs.length; // batch of HELD is firstState, SOLD +1, BLOCKED +2
        if (this.opts.mode === 'state') {
            specs.push({ color: '#f59e0b', width: d * 0.85, cap: 'square' });
            specs.push({ color: '#2563eb', width: d, cap: 'round' });
            specs.push({ color: '#9ca3af', width: d * 0.24, cap: 'round', slash: true });
        } else {
            specs.push({ color: held, width: d * 0.72, cap: 'square' });
            specs.push({ color: sold, width: d * 0.55, cap: 'round' });
            specs.push({ color: blocked, width: d * 0.24, cap: 'round', slash: true });
        }
        const q = this.q;
        this.gSeats.setAttribute('transform', `scale(${q})`);
        this.batches = specs.map((s) => {
            const g = svg('g', { fill: 'none', stroke: s.color, 'stroke-width': r3(s.width / q), 'stroke-linecap': s.cap });
            this.gSeats.append(g);
            return { ...s, g };
        });
        this.nChunks = Math.ceil(this.n / CHUNK);
        this.paths = new Map(); // batch * nChunks + chunk -> <path>
        this.dirty = new Uint8Array(this.nChunks);
        this.anyDirty = false;
    }

    batchOf(i) {
        const s = this.states[i];
        if (s === AVAILABLE) return this.opts.mode === 'state' ? 0 : Math.min(this.cat[i], this.firstState - 1);
        return this.firstState + s - 1;
    }

    markDirty(i) {
        this.dirty[(i / CHUNK) | 0] = 1;
        this.anyDirty = true;
    }

    buildBackground() {
        this.gBack.replaceChildren();
        this.gLabels.replaceChildren();
        const p = this.pitch;
        if (this.focal) {
            const w = Math.min(this.bounds.w * 0.3, Math.max(p * 14, this.bounds.w * 0.12));
            const hgt = Math.max(p * 2.5, w * 0.16);
            const g = svg('g', { class: 'stage' });
            g.append(svg('rect', { x: r3(this.focal.x - w / 2), y: r3(this.focal.y - hgt), width: r3(w), height: r3(hgt), rx: r3(hgt / 4) }));
            const t = svg('text', { x: r3(this.focal.x), y: r3(this.focal.y - hgt / 2), 'font-size': r3(hgt * 0.42) });
            t.textContent = 'STAGE';
            g.append(t);
            this.gBack.append(g);
        }
        if (this.sections.length <= 400) {
            for (const sec of this.sections) {
                if (sec.end === sec.start) continue;
                let sx = 0, sy = 0;
                for (let i = sec.start; i < sec.end; i++) {
                    sx += this.xs[i];
                    sy += this.ys[i];
                }
                const cnt = sec.end - sec.start;
                // above the section's first row, towards the stage
                const first = this.rows[sec.rowStart];
                const mid = (first.start + first.end - 1) >> 1;
                const cx = sx / cnt, cy = sy / cnt;
                const vx = this.xs[mid] - cx, vy = this.ys[mid] - cy;
                const len = Math.hypot(vx, vy) || 1;
                const t = svg('text', {
                    class: 'sec-label',
                    x: r3(this.xs[mid] + (vx / len) * p * 1.9),
                    y: r3(this.ys[mid] + (vy / len) * p * 1.9),
                    'font-size': r3(p * 1.1),
                });
                t.textContent = sec.name;
                this.gLabels.append(t);
            }
        }
    }

    /** Seat i as a subpath, in q units, relative to the previous seat of
     * the same path (last: [x, y] of it, or null for the first). */
    seg(i, slash, last) {
        const x = this.xq[i], y = this.yq[i];
        let out;
        if (!slash) out = last ? `m${x - last[0]} ${y - last[1]}h0` : `M${x} ${y}h0`;
        else {
            // a slash from bottom left to top right; the current point ends at its top right
            const r = Math.round((this.dot * 0.36) / this.q);
            out = `M${x - r} ${y + r}l${2 * r} ${-2 * r}`;
        }
        if (last) {
            last[0] = x;
            last[1] = y;
        }
        return out;
    }

    /** Rewrite the paths of one chunk of seats. */
    renderChunk(c) {
        const nb = this.batches.length;
        const parts = new Array(nb);
        const lasts = new Array(nb);
        const end = Math.min(this.n, (c + 1) * CHUNK);
        for (let i = c * CHUNK; i < end; i++) {
            const b = this.batchOf(i);
            if (!parts[b]) {
                parts[b] = [];
                lasts[b] = null;
            }
            const slash = this.batches[b].slash;
            parts[b].push(this.seg(i, slash, slash ? null : lasts[b]));
            if (!slash && !lasts[b]) lasts[b] = [this.xq[i], this.yq[i]];
        }
        for (let b = 0; b < nb; b++) {
            const key = b * this.nChunks + c;
            let p = this.paths.get(key);
            if (!parts[b]) {
                if (p) {
                    p.remove();
                    this.paths.delete(key);
                }
                continue;
            }
            if (!p) {
                p = svg('path');
                this.paths.set(key, p);
                this.batches[b].g.append(p);
            }
            p.setAttribute('d', parts[b].join(''));
        }
    }

    /** Rewrite the dirty chunks (all of them when all). */
    renderBatches(all = false) {
        if (!all && !this.anyDirty) return;
        for (let c = 0; c < this.nChunks; c++) {
            if (all || this.dirty[c]) this.renderChunk(c);
            this.dirty[c] = 0;
        }
        this.anyDirty = false;
    }

    renderAll() {
        this.renderBatches(true);
    }

    schedule() {
        if (this.frame) return;
        this.frame = requestAnimationFrame(() => {
            this.frame = 0;
            this.renderBatches(false);
            this.renderOverlay();
        });
    }

    ring(i, cls) {
        const d = this.dot;
        const g = svg('g', { class: cls });
        if (cls === 'sel') {
            g.append(svg('circle', { cx: this.xs[i], cy: this.ys[i], r: r3(d * 0.78), fill: 'none', stroke: '#4f46e5', 'stroke-width': r3(d * 0.18) }));
            g.append(svg('circle', { cx: this.xs[i], cy: this.ys[i], r: r3(d * 0.5), fill: '#111322', stroke: '#fff', 'stroke-width': r3(d * 0.12) }));
        } else {
            g.append(svg('circle', { cx: this.xs[i], cy: this.ys[i], r: r3(d * 0.6), fill: '#4f46e5', stroke: '#fff', 'stroke-width': r3(d * 0.14) }));
        }
        return g;
    }

    renderOverlay() {
        this.gSel.replaceChildren(...[...this.selected].map((i) => this.ring(i, 'sel')));
        this.gMine.replaceChildren(...[...this.mine].map((i) => this.ring(i, 'mine')));
        this.placeRing(this.hoverRing, this.hover, 0.78, 0.1);
        this.placeRing(this.cursorRing, this.cursor, 1.0, 0.16);
    }

    placeRing(el, i, rf, wf) {
        if (i < 0) {
            el.setAttribute('visibility', 'hidden');
            return;
        }
        el.setAttribute('cx', this.xs[i]);
        el.setAttribute('cy', this.ys[i]);
        el.setAttribute('r', r3(this.dot * rf));
        el.setAttribute('stroke-width', r3(this.dot * wf));
        el.setAttribute('visibility', 'visible');
    }

    // ---- state ---------------------------------------------------------------------------

    /** Replace every seat's state (a snapshot: Uint8Array in seat-map order). */
    setStates(states) {
        if (!this.n) return;
        const lost = [];
        for (let i = 0; i < this.n; i++) {
            const s = i < states.length ? states[i] : AVAILABLE;
            if (s !== this.states[i]) {
                this.states[i] = s;
                if (this.selected.has(i) && !this.canSelect(i)) lost.push(i);
            }
        }
        this.dirty.fill(1);
        this.anyDirty = true;
        this.afterLost(lost);
        this.schedule();
    }

    /** Apply a stream's changes [{id, state}]; returns the indices that changed. */
    applyChanges(changes, names = ['available', 'held', 'sold', 'blocked']) {
        const changed = [];
        const lost = [];
        for (const c of changes) {
            const i = this.index.get(c.id);
            if (i === undefined) continue;
            const s = typeof c.state === 'number' ? c.state : names.indexOf(c.state);
            if (s < 0 || s === this.states[i]) continue;
            this.states[i] = s;
            this.markDirty(i);
            changed.push(i);
            if (this.selected.has(i) && !this.canSelect(i)) lost.push(i);
        }
        this.afterLost(lost);
        if (changed.length) this.schedule();
        if (changed.includes(this.hover) || changed.includes(this.cursor)) this.refreshTooltip();
        return changed;
    }

    afterLost(lost) {
        if (!lost.length) return;
        for (const i of lost) this.selected.delete(i);
        this.opts.onLost?.(lost);
        this.opts.onChange?.([...this.selected]);
    }

    canSelect(i) {
        if (this.opts.canSelect) return this.opts.canSelect(i, this.states[i]);
        return this.states[i] === AVAILABLE;
    }

    /** The seats of your hold, drawn as yours. */
    setMine(indices) {
        this.mine = new Set(indices);
        this.renderOverlay();
    }

    setSelected(indices) {
        this.selected = new Set(indices);
        this.renderOverlay();
        this.opts.onChange?.([...this.selected]);
    }

    clearSelection() {
        this.setSelected([]);
    }

    /** Toggle a seat's selection, as a click or Enter does. */
    activate(i) {
        if (i < 0) return;
        if (this.selected.has(i)) {
            this.selected.delete(i);
            this.say(`${this.describe(i)}. Unselected.`);
        } else if (!this.canSelect(i)) {
            this.opts.onRefused?.(i, this.mine.has(i) ? 'mine' : STATE_LABEL[this.states[i]].toLowerCase());
            this.say(`${this.describe(i)}. Not available.`);
            return;
        } else if (this.selected.size >= this.opts.maxSelected) {
            this.opts.onRefused?.(i, 'limit');
            this.say(`You can select at most ${this.opts.maxSelected} seats.`);
            return;
        } else {
            this.selected.add(i);
            this.say(`${this.describe(i)}. Selected, ${this.selected.size} in all.`);
        }
        this.renderOverlay();
        this.refreshTooltip();
        this.opts.onChange?.([...this.selected]);
    }

    /** Counts: {states: [4], byCategory: [available per category]}. */
    counts() {
        const states = [0, 0, 0, 0];
        const byCategory = new Array(this.cats.length).fill(0);
        for (let i = 0; i < this.n; i++) {
            states[this.states[i]]++;
            if (this.states[i] === AVAILABLE) byCategory[this.cat[i]]++;
        }
        return { states, byCategory };
    }

    // ---- words ----------------------------------------------------------------------------

    where(i) {
        const row = this.rows[this.rowOf[i]];
        const sec = this.sections[row.section];
        return { section: sec.name, row: row.label, seat: this.labels[i] };
    }

    describe(i) {
        const w = this.where(i);
        const c = this.cats[this.cat[i]];
        const price = this.opts.price ? this.opts.price(i) : '';
        const state = this.mine.has(i) ? 'in your cart' : this.selected.has(i) ? 'selected' : STATE_LABEL[this.states[i]].toLowerCase();
        return `${w.section}, row ${w.row}, seat ${w.seat}${c ? `, ${c.name}` : ''}${price ? ` ${price}` : ''}, ${state}${this.acc[i] ? ', wheelchair accessible' : ''}`;
    }

    say(text) {
        this.live.textContent = text;
    }

    showTooltip(i) {
        if (i < 0) {
            this.tooltip.classList.add('hidden');
            return;
        }
        const w = this.where(i);
        const c = this.cats[this.cat[i]];
        const price = this.opts.price ? this.opts.price(i) : '';
        const state = this.mine.has(i) ? 'In your cart' : this.selected.has(i) ? 'Selected' : STATE_LABEL[this.states[i]];
        this.tooltip.replaceChildren();
        const b = document.createElement('b');
        b.textContent = `${w.section} · Row ${w.row} · Seat ${w.seat}`;
        const line = document.createElement('div');
        line.textContent = [c ? c.name : '', price].filter(Boolean).join(' · ') + (this.acc[i] ? ' · ♿' : '');
        const st = document.createElement('span');
        st.className = 'st';
        st.textContent = state;
        this.tooltip.append(b, line, st);
        const p = this.toScreen(this.xs[i], this.ys[i]);
        const W = this.viewport.clientWidth;
        this.tooltip.style.left = `${Math.min(W - 90, Math.max(90, p.x))}px`;
        this.tooltip.style.top = `${Math.max(70, p.y - (this.dot * this.scale) / 2)}px`;
        this.tooltip.classList.remove('hidden');
        this.tooltipSeat = i;
    }

    refreshTooltip() {
        if (!this.tooltip.classList.contains('hidden') && this.tooltipSeat >= 0) this.showTooltip(this.tooltipSeat);
    }

    // ---- view: zoom and pan ---------------------------------------------------------------

    get scale() {
        return this.view ? this.W / this.view.w : 1;
    }

    measure() {
        this.W = Math.max(1, this.viewport.clientWidth);
        this.H = Math.max(1, this.viewport.clientHeight);
    }

    fitScale() {
        return Math.min(this.W / this.bounds.w, this.H / this.bounds.h);
    }

    fit() {
        this.measure();
        const b = this.bounds;
        this.userMoved = false;
        this.setView(b.x + b.w / 2, b.y + b.h / 2, this.fitScale(), true);
    }

    clampScale(s) {
        const min = this.fitScale() * 0.7;
        const max = Math.max(min, 90 / this.pitch);
        return Math.min(max, Math.max(min, s));
    }

    /** Centre the view on (cx, cy) at scale s (screen px per map unit). */
    setView(cx, cy, s, now = false) {
        s = this.clampScale(s);
        const b = this.bounds;
        cx = Math.min(b.x + b.w, Math.max(b.x, cx));
        cy = Math.min(b.y + b.h, Math.max(b.y, cy));
        const w = this.W / s, h = this.H / s;
        this.view = { x: cx - w / 2, y: cy - h / 2, w, h };
        this.applyView(now);
    }

    applyView(now) {
        const heavy = this.n > HEAVY_SEATS;
        if (!heavy || now || !this.committed) {
            this.commit();
            return;
        }
        const c = this.committed, v = this.view;
        const s = this.W / v.w;
        const k = c.w / v.w;
        this.svg.classList.add('moving');
        this.svg.style.transform = `translate(${(c.x - v.x) * s}px, ${(c.y - v.y) * s}px) scale(${k})`;
        clearTimeout(this.commitTimer);
        this.commitTimer = setTimeout(() => this.commit(), COMMIT_MS);
        this.refreshTooltip();
    }

    commit() {
        clearTimeout(this.commitTimer);
        const v = this.view;
        this.svg.setAttribute('width', this.W);
        this.svg.setAttribute('height', this.H);
        this.svg.setAttribute('viewBox', `${r3(v.x)} ${r3(v.y)} ${r3(v.w)} ${r3(v.h)}`);
        this.svg.style.transform = '';
        this.svg.classList.remove('moving');
        this.committed = { ...v };
        this.refreshTooltip();
    }

    center() {
        return { x: this.view.x + this.view.w / 2, y: this.view.y + this.view.h / 2 };
    }

    /** Zoom by factor around a point of the viewport (client coordinates). */
    zoomAt(clientX, clientY, factor) {
        const rect = this.viewport.getBoundingClientRect();
        const px = clientX - rect.left, py = clientY - rect.top;
        const before = this.toMap(px, py);
        const s = this.clampScale(this.scale * factor);
        // keep the map point under the pointer where it is
        const cx = before.x - (px - this.W / 2) / s;
        const cy = before.y - (py - this.H / 2) / s;
        this.userMoved = true;
        this.setView(cx, cy, s);
    }

    zoomBy(factor) {
        const c = this.center();
        this.userMoved = true;
        this.setView(c.x, c.y, this.scale * factor);
    }

    /** Viewport pixels -> map units. */
    toMap(px, py) {
        return { x: this.view.x + px / this.scale, y: this.view.y + py / this.scale };
    }

    /** Map units -> viewport pixels. */
    toScreen(x, y) {
        return { x: (x - this.view.x) * this.scale, y: (y - this.view.y) * this.scale };
    }

    /** A seat's centre in client (page viewport) coordinates, its size on
     * screen and whether it is visible: for tests and the benchmark. */
    screenPoint(id) {
        const i = typeof id === 'number' ? id : this.index.get(id);
        if (i === undefined || i < 0) return null;
        const rect = this.viewport.getBoundingClientRect();
        const p = this.toScreen(this.xs[i], this.ys[i]);
        return {
            x: rect.left + p.x, y: rect.top + p.y, size: this.dot * this.scale,
            visible: p.x >= 0 && p.y >= 0 && p.x <= this.W && p.y <= this.H,
        };
    }

    stateOf(id) {
        const i = this.index.get(id);
        return i === undefined ? null : ['available', 'held', 'sold', 'blocked'][this.states[i]];
    }

    isSelected(id) {
        return this.selected.has(this.index.get(id));
    }

    /** Bring seat i into view, zooming in when seats are too small to see. */
    reveal(i) {
        const px = this.dot * this.scale;
        if (px < 14) {
            this.userMoved = true;
            this.setView(this.xs[i], this.ys[i], 26 / this.dot, true);
            return;
        }
        const p = this.toScreen(this.xs[i], this.ys[i]);
        const m = Math.min(60, this.W * 0.1);
        if (p.x < m || p.y < m || p.x > this.W - m || p.y > this.H - m) {
            this.userMoved = true;
            this.setView(this.xs[i], this.ys[i], this.scale, true);
        }
    }
}

export const SEAT_STATE = { AVAILABLE, HELD, SOLD, BLOCKED };
