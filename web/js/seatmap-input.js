// seatmap-input.js - the seat map's pointer and keyboard input, the base
// class of SeatMap (seatmap.js), which owns the data, the drawing and the
// view these methods use.
//
// Pointer: a drag pans, a wheel or a pinch zooms around its point, a click
// (a press that did not move) selects the seat under it, or zooms in first
// when seats are too small to aim at (under 7 px with a mouse, 14 px by
// touch). Hovering shows the tooltip (one hit test per animation frame).
// Keyboard: the map is one focusable widget; arrow keys move a cursor to the
// nearest seat in that screen direction, Home/End to the row's ends,
// PageUp/PageDown between sections, Enter/Space select, +/-/0 zoom; every
// move is announced in a live region and shown in the tooltip.

export class SeatMapInput {
    bindEvents() {
        const vp = this.viewport;
        vp.addEventListener('pointerdown', (e) => this.onDown(e));
        vp.addEventListener('pointermove', (e) => this.onMove(e));
        vp.addEventListener('pointerup', (e) => this.onUp(e, false));
        vp.addEventListener('pointercancel', (e) => this.onUp(e, true));
        vp.addEventListener('pointerleave', (e) => {
            if (e.pointerType === 'mouse' && !this.pointers.size) this.setHover(-1);
        });
        vp.addEventListener('wheel', (e) => this.onWheel(e), { passive: false });
        vp.addEventListener('keydown', (e) => this.onKey(e));
        vp.addEventListener('focus', () => this.onFocus());
        vp.addEventListener('blur', () => {
            this.cursorRing.setAttribute('visibility', 'hidden');
            if (this.hover < 0) this.showTooltip(-1);
        });
        this.resizer = new ResizeObserver(() => {
            if (!this.view) return;
            const c = this.center(), s = this.scale;
            this.measure();
            if (!this.userMoved) this.fit();
            else this.setView(c.x, c.y, s, true);
        });
        this.resizer.observe(vp);
    }

    local(e) {
        const rect = this.viewport.getBoundingClientRect();
        return { x: e.clientX - rect.left, y: e.clientY - rect.top };
    }

    onDown(e) {
        if (!this.view || (e.pointerType === 'mouse' && e.button !== 0)) return;
        this.viewport.setPointerCapture?.(e.pointerId);
        const p = this.local(e);
        this.pointers.set(e.pointerId, p);
        if (this.pointers.size === 1) {
            this.drag = { start: p, view: { ...this.view }, moved: false, type: e.pointerType };
            this.pinch = null;
        } else if (this.pointers.size === 2) {
            const [a, b] = [...this.pointers.values()];
            const mid = { x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 };
            this.pinch = { dist: Math.hypot(a.x - b.x, a.y - b.y) || 1, scale: this.scale, at: this.toMap(mid.x, mid.y) };
            if (this.drag) this.drag.moved = true;
        }
    }

    onMove(e) {
        const p = this.local(e);
        if (!this.pointers.has(e.pointerId)) {
            if (e.pointerType === 'mouse' && this.view) this.hoverAt(p);
            return;
        }
        this.pointers.set(e.pointerId, p);
        if (this.pinch && this.pointers.size >= 2) {
            const [a, b] = [...this.pointers.values()];
            const mid = { x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 };
            const s = this.clampScale(this.pinch.scale * (Math.hypot(a.x - b.x, a.y - b.y) / this.pinch.dist));
            this.userMoved = true;
            this.setView(this.pinch.at.x - (mid.x - this.W / 2) / s, this.pinch.at.y - (mid.y - this.H / 2) / s, s);
            return;
        }
        const d = this.drag;
        if (!d) return;
        const dx = p.x - d.start.x, dy = p.y - d.start.y;
        if (!d.moved && Math.hypot(dx, dy) > (d.type === 'mouse' ? 4 : 10)) {
            d.moved = true;
            this.viewport.classList.add('dragging');
            this.setHover(-1);
        }
        if (d.moved) {
            const s = this.scale;
            this.userMoved = true;
            this.setView(d.view.x + d.view.w / 2 - dx / s, d.view.y + d.view.h / 2 - dy / s, s);
        }
    }

    onUp(e, cancelled) {
        if (!this.pointers.has(e.pointerId)) return;
        this.pointers.delete(e.pointerId);
        const d = this.drag;
        if (this.pointers.size === 0) {
            this.drag = null;
            this.pinch = null;
            this.viewport.classList.remove('dragging');
            if (d && !d.moved && !cancelled) this.clickAt(this.local(e), d.type);
        } else if (this.pointers.size === 1) {
            const [id, p] = [...this.pointers.entries()][0];
            this.pinch = null;
            this.drag = { start: p, view: { ...this.view }, moved: true, type: e.pointerType, id };
        }
    }

    onWheel(e) {
        if (!this.view) return;
        e.preventDefault();
        const unit = e.deltaMode === 1 ? 40 : e.deltaMode === 2 ? 800 : 1;
        const factor = Math.exp(-e.deltaY * unit * (e.ctrlKey ? 0.01 : 0.0016));
        this.zoomAt(e.clientX, e.clientY, factor);
    }

    seatAt(p, minPx) {
        const m = this.toMap(p.x, p.y);
        const rad = Math.max(this.pitch * 0.6, minPx / this.scale);
        return this.nearest(m.x, m.y, rad);
    }

    clickAt(p, type) {
        const seatPx = this.dot * this.scale;
        const tiny = type === 'touch' ? 14 : 7;
        if (seatPx < tiny) {
            // too small to aim at: zoom in around the point first
            const rect = this.viewport.getBoundingClientRect();
            this.zoomAt(rect.left + p.x, rect.top + p.y, Math.max(2, 24 / seatPx));
            this.commit();
            this.say('Zoomed in. Tap a seat to select it.');
            return;
        }
        const i = this.seatAt(p, type === 'touch' ? 12 : 4);
        if (i < 0) return;
        this.cursor = i;
        this.activate(i);
        if (type === 'mouse') this.setHover(i);
        else this.showTooltip(i);
    }

    hoverAt(p) {
        if (this.hoverPending) {
            this.hoverPending = p;
            return;
        }
        this.hoverPending = p;
        requestAnimationFrame(() => {
            const q = this.hoverPending;
            this.hoverPending = null;
            if (!q || !this.view) return;
            this.setHover(this.dot * this.scale >= 3 ? this.seatAt(q, 3) : -1);
        });
    }

    setHover(i) {
        if (i === this.hover) return;
        this.hover = i;
        this.placeRing(this.hoverRing, i, 0.78, 0.1);
        this.viewport.style.cursor = i >= 0 ? (this.canSelect(i) || this.selected.has(i) ? 'pointer' : 'not-allowed') : '';
        this.showTooltip(i >= 0 ? i : document.activeElement === this.viewport ? this.cursor : -1);
    }

    // ---- keyboard -------------------------------------------------------------------------

    onFocus() {
        if (!this.n) return;
        if (this.cursor < 0) this.cursor = this.startSeat();
        this.placeRing(this.cursorRing, this.cursor, 1.0, 0.16);
        this.say(this.describe(this.cursor));
    }

    /** Where the keyboard starts: the free seat nearest the stage. */
    startSeat() {
        const fx = this.focal ? this.focal.x : this.bounds.x + this.bounds.w / 2;
        const fy = this.focal ? this.focal.y : this.bounds.y;
        let best = 0, bestD = Infinity;
        for (let i = 0; i < this.n; i++) {
            const d = (this.xs[i] - fx) ** 2 + (this.ys[i] - fy) ** 2 + (this.states[i] ? 1e18 : 0);
            if (d < bestD) {
                bestD = d;
                best = i;
            }
        }
        return best;
    }

    /** The nearest seat from i in a screen direction (dx, dy in -1..1). */
    step(i, dirX, dirY) {
        const x = this.xs[i], y = this.ys[i], p = this.pitch;
        for (let rad = p * 3; rad <= p * 48; rad *= 2) {
            let best = -1, bestC = Infinity;
            this.around(x, y, rad, (j, d2, dx, dy) => {
                const along = dx * dirX + dy * dirY;
                if (j === i || along < p * 0.3) return;
                const across = Math.abs(dx * dirY - dy * dirX);
                const c = along + 2.5 * across;
                if (c < bestC) {
                    bestC = c;
                    best = j;
                }
            });
            if (best >= 0) return best;
        }
        return i;
    }

    onKey(e) {
        if (!this.n) return;
        let i = this.cursor < 0 ? this.startSeat() : this.cursor;
        const row = this.rows[this.rowOf[i]];
        const sec = this.sections[row.section];
        switch (e.key) {
            case 'ArrowLeft': i = this.step(i, -1, 0); break;
            case 'ArrowRight': i = this.step(i, 1, 0); break;
            case 'ArrowUp': i = this.step(i, 0, -1); break;
            case 'ArrowDown': i = this.step(i, 0, 1); break;
            case 'Home': i = row.start; break;
            case 'End': i = row.end - 1; break;
            case 'PageUp': i = this.sections[(row.section - 1 + this.sections.length) % this.sections.length].start; break;
            case 'PageDown': i = this.sections[(row.section + 1) % this.sections.length].start; break;
            case 'Enter':
            case ' ':
                e.preventDefault();
                this.cursor = i;
                this.activate(i);
                this.reveal(i);
                this.showTooltip(i);
                return;
            case '+':
            case '=': e.preventDefault(); this.zoomBy(1.6); return;
            case '-':
            case '_': e.preventDefault(); this.zoomBy(1 / 1.6); return;
            case '0': e.preventDefault(); this.fit(); return;
            case 'Escape': this.showTooltip(-1); return;
            default: return;
        }
        e.preventDefault();
        if (sec === undefined) return;
        this.cursor = i;
        this.reveal(i);
        this.placeRing(this.cursorRing, i, 1.0, 0.16);
        this.showTooltip(i);
        this.say(this.describe(i));
    }
}
