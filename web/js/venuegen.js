// venuegen.js - the seat-map generator of `boxoffice venue-gen`
// (src/engine/venue_gen.c) in the browser, so the admin page can build a
// venue without the command line: a horseshoe of sections around a floor,
// open towards a stage at the top (the focal point), rows curving at a
// constant seat pitch, price categories in bands of distance to the stage,
// optional GA areas. Same geometry, ids ("S<section>-<row>-<n>") and JSON
// shape as the C generator.

const SEAT_PITCH = 10;
const ROW_PITCH = 14;
const MIN_RADIUS = 200;
const MAX_SPAN = (300 * Math.PI) / 180;
const SECTOR_MAX = (36 * Math.PI) / 180;
const ROW_FILL = 0.85;
const MARGIN = 50;
const MAX_EXTENT = 900000;
const CAT_NAMES = ['Premium', 'Gold', 'Silver', 'Bronze', 'Standard', 'Economy', 'Value', 'Restricted View'];
const PALETTE = ['#c0392b', '#d35400', '#f39c12', '#27ae60', '#16a085', '#2980b9', '#8e44ad', '#7f8c8d', '#2c3e50'];
export const LIMITS = { seats: 200000, rows: 20000, sections: 1000, rowSeats: 2000, gaAreas: 256, gaCapacity: 1000000, categories: 8 };

/** "A".."Z", "AA".. (bijective base 26). */
export function rowLabel(i) {
    let s = '';
    for (let v = i + 1; v > 0; v = Math.floor((v - 1) / 26)) s = String.fromCharCode(65 + ((v - 1) % 26)) + s;
    return s;
}

const round1 = (v) => Math.round(v * 10) / 10;

/**
 * A seat map. p: {name, sections, rows, seats, ga, ga_capacity, categories,
 * aisle_every}. Throws an Error naming the bound that a value passes.
 */
export function generateVenue(p) {
    const g = {
        name: (p.name || 'Generated Arena').trim(),
        sections: p.sections ?? 8, rows: p.rows ?? 20, seats: p.seats ?? 25,
        ga: p.ga ?? 1, gaCapacity: p.ga_capacity ?? 1000, ncats: p.categories ?? 4, aisle: p.aisle_every ?? 0,
    };
    check(g);
    const span = Math.min(MAX_SPAN, g.sections * SECTOR_MAX);
    const gaps = g.aisle && g.seats ? Math.floor((g.seats - 1) / g.aisle) : 0;
    const sector = g.sections ? span / g.sections : 0;
    const start = Math.PI / 2 - span / 2;
    const slots = g.seats - 1 + gaps;
    const r0 = g.sections ? Math.max(MIN_RADIUS, ((slots + 1) * SEAT_PITCH) / (ROW_FILL * sector)) : MIN_RADIUS;
    const stageX = 0;
    const stageY = (-0.6 * r0 * span) / MAX_SPAN;
    const xy = (sec, row, k) => {
        const r = r0 + row * ROW_PITCH;
        const gapCount = g.aisle ? Math.floor(k / g.aisle) : 0;
        const arc = (k + gapCount - slots / 2) * SEAT_PITCH;
        const a = start + (sec + 0.5) * sector + arc / r;
        return [r * Math.cos(a), r * Math.sin(a)];
    };
    let minX = stageX, minY = stageY, maxX = stageX, maxY = stageY, dmin = Infinity, dmax = 0;
    for (let s = 0; s < g.sections; s++) {
        for (let r = 0; r < g.rows; r++) {
            for (let k = 0; k < g.seats; k++) {
                const [x, y] = xy(s, r, k);
                minX = Math.min(minX, x); minY = Math.min(minY, y);
                maxX = Math.max(maxX, x); maxY = Math.max(maxY, y);
                const d = Math.hypot(x - stageX, y - stageY);
                dmin = Math.min(dmin, d); dmax = Math.max(dmax, d);
            }
        }
    }
    const w = maxX - minX, hgt = maxY - minY, limit = MAX_EXTENT - 2 * MARGIN;
    const scale = Math.max(w, hgt) > limit ? limit / Math.max(w, hgt) : 1;
    const dx = MARGIN - minX * scale, dy = MARGIN - minY * scale;
    const band = (d) => {
        const sp = dmax - dmin;
        const b = sp > 0 ? Math.floor(((d - dmin) / sp) * g.ncats) : 0;
        return (b < g.ncats ? b : g.ncats - 1) + 1;
    };
    const categories = [];
    for (let c = 0; c < g.ncats; c++) categories.push({ key: `P${c + 1}`, name: CAT_NAMES[c], color: PALETTE[c] });
    if (g.ga) categories.push({ key: 'GA', name: 'General Admission', color: PALETTE[8] });
    const sections = [];
    for (let s = 0; s < g.sections; s++) {
        const rows = [];
        for (let r = 0; r < g.rows; r++) {
            const label = rowLabel(r);
            const seats = [];
            for (let k = 0; k < g.seats; k++) {
                const [x, y] = xy(s, r, k);
                const seat = {
                    id: `S${s + 1}-${label}-${k + 1}`, number: String(k + 1),
                    x: round1(x * scale + dx), y: round1(y * scale + dy),
                    category: `P${band(Math.hypot(x - stageX, y - stageY))}`,
                };
                if (r === g.rows - 1 && (k === 0 || k === g.seats - 1)) seat.accessible = true;
                seats.push(seat);
            }
            rows.push({ label, seats });
        }
        sections.push({ id: `S${s + 1}`, name: `Section ${s + 1}`, rows });
    }
    const ga_areas = [];
    for (let i = 0; i < g.ga; i++) ga_areas.push({ id: `ga${i + 1}`, name: i ? `Floor ${i + 1}` : 'Floor', capacity: g.gaCapacity, category: 'GA' });
    return {
        name: g.name,
        size: { width: round1(Math.max(4 * MARGIN, w * scale + 2 * MARGIN)), height: round1(Math.max(4 * MARGIN, hgt * scale + 2 * MARGIN)) },
        focal_point: { x: round1(stageX * scale + dx), y: round1(stageY * scale + dy) },
        categories,
        sections,
        ga_areas,
    };
}

function check(g) {
    const int = (v, lo, hi, what) => {
        if (!Number.isInteger(v) || v < lo || v > hi) throw new Error(`${what} must be a whole number from ${lo} to ${hi.toLocaleString()}`);
    };
    if (!g.name || new TextEncoder().encode(g.name).length > 200) throw new Error('The name must have 1 to 200 bytes');
    int(g.sections, 0, LIMITS.sections, 'Sections');
    int(g.ga, 0, LIMITS.gaAreas, 'GA areas');
    int(g.ncats, 1, LIMITS.categories, 'Categories');
    int(g.aisle, 0, LIMITS.rowSeats, 'Aisle every');
    if (!g.sections && !g.ga) throw new Error('A venue needs at least one section or one GA area');
    if (g.sections) {
        int(g.rows, 1, LIMITS.rows, 'Rows per section');
        int(g.seats, 1, LIMITS.rowSeats, 'Seats per row');
        if (g.sections * g.rows > LIMITS.rows) throw new Error(`At most ${LIMITS.rows.toLocaleString()} rows in all`);
        if (g.sections * g.rows * g.seats > LIMITS.seats) throw new Error(`At most ${LIMITS.seats.toLocaleString()} seats in all`);
    }
    if (g.ga) int(g.gaCapacity, 1, LIMITS.gaCapacity, 'GA capacity');
}

/** Counts of a seat map, for a summary: {seats, sections, rows, ga, gaPlaces, categories}. */
export function summarize(map) {
    let seats = 0, rows = 0;
    for (const s of map.sections || []) {
        rows += s.rows?.length || 0;
        for (const r of s.rows || []) seats += r.seats?.length || 0;
    }
    const ga = map.ga_areas || [];
    return { seats, sections: (map.sections || []).length, rows, ga: ga.length, gaPlaces: ga.reduce((t, a) => t + (a.capacity || 0), 0), categories: (map.categories || []).length };
}
