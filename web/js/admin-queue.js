// admin-queue.js - the waiting room on the admin page: its fields in the
// new-event and edit forms (when the pre-queue opens, the on-sale time,
// admissions per minute, the active cap, how long a pass lasts, the
// proof-of-work) and the dashboard's live panel (pre-queue, waiting,
// active shoppers, admissions per minute) with Pause and Resume.

import { h, $, fill, busy, toast, toLocalInput, fromLocalInput, fmtTime } from './ui.js';

const DEFAULTS = { admit_per_min: 600, max_active: 2000, pass_ttl_s: 900, pow_difficulty: 0 };
const NUMBERS = [
    ['admit_per_min', 'Admissions per minute', 1, 1000000, ''],
    ['max_active', 'Shoppers at once', 1, 10000000, ' admitted, pass still valid'],
    ['pass_ttl_s', 'Pass lasts', 60, 86400, ' seconds, 60 to 86400'],
    ['pow_difficulty', 'Proof of work', 0, 28, ' bits, 0: none; 18 is about a second on a phone'],
];

/** The form's waiting-room fieldset, filled from ev.waiting_room. */
export function waitingRoomFields(ev = {}) {
    const wr = ev.waiting_room && ev.waiting_room.enabled ? ev.waiting_room : null;
    const v = { ...DEFAULTS, ...(wr || {}) };
    const details = h('div.grid-2#wr-fields', { hidden: !wr },
        h('div.field', h('label', { for: 'wr-opens' }, 'Queue opens at', h('span.hint', ' empty: now')),
            h('input#wr-opens', { type: 'datetime-local', value: wr && wr.prequeue_opens_at ? toLocalInput(wr.prequeue_opens_at) : '' })),
        h('div.field', h('label', { for: 'wr-onsale' }, 'Queue on-sale at', h('span.hint', ' arrivals before it are shuffled')),
            h('input#wr-onsale', { type: 'datetime-local', value: toLocalInput((wr && wr.onsale_at) || ev.on_sale_at || new Date().toISOString()) })),
        NUMBERS.map(([k, label, min, max, hint]) => h('div.field', h('label', { for: `wr-${k}` }, label, hint ? h('span.hint', hint) : null),
            h(`input#wr-${k}`, { type: 'number', min, max, step: 1, required: true, value: v[k] }))));
    const toggle = h('input#wr-enabled', { type: 'checkbox', checked: !!wr, onchange: (e) => (details.hidden = !e.target.checked) });
    return h('fieldset.stack', { style: { border: 0, padding: 0, margin: 0 } },
        h('legend', h('strong', 'Waiting room')),
        h('label.row', toggle, h('span', 'Queue buyers at the on-sale (early arrivals get random places; later ones wait in line)')),
        details);
}

/** The fieldset's value: the waiting_room object, or null when off. Throws with a message for bad input. */
export function readWaitingRoom() {
    if (!$('#wr-enabled').checked) return null;
    const onsale = fromLocalInput($('#wr-onsale').value);
    if (!onsale) {
        $('#wr-onsale').focus();
        throw new Error('Enter when the queue goes on sale.');
    }
    const out = { enabled: true, onsale_at: onsale };
    const opens = fromLocalInput($('#wr-opens').value);
    if (opens) out.prequeue_opens_at = opens;
    for (const [k, label, min, max] of NUMBERS) {
        const n = Number($(`#wr-${k}`).value);
        if (!Number.isInteger(n) || n < min || n > max) {
            $(`#wr-${k}`).focus();
            throw new Error(`${label} is a whole number from ${min} to ${max}.`);
        }
        out[k] = n;
    }
    return out;
}

/** What of a read waiting room differs from the event's: the PATCH value, or undefined. */
export function waitingRoomChange(ev, wr) {
    const old = ev.waiting_room && ev.waiting_room.enabled ? ev.waiting_room : null;
    if (!wr) return old ? null : undefined;
    if (!old) return wr;
    const changed = Object.keys(wr).some((k) => (k.endsWith('_at') ? Date.parse(wr[k]) !== Date.parse(old[k]) : wr[k] !== old[k]));
    return changed ? wr : undefined;
}

/**
 * The dashboard's live panel for a waiting-room event, refreshed every 3 s
 * while shown. adm: the admin API call; refused(err): true when it handled
 * a refused token. Returns [element, stop] (stop: null for no panel).
 */
export function queuePanel(ev, adm, refused) {
    if (!ev.waiting_room || !ev.waiting_room.enabled) return [null, null];
    const path = `/api/v1/events/${encodeURIComponent(ev.id)}`;
    let paused = !!ev.waiting_room.paused;
    let timer = 0;
    const button = h('button.btn.small#queue-pause', { type: 'button', onclick: (e) => setPaused(!paused, e.currentTarget) }, paused ? 'Resume admissions' : 'Pause admissions');
    const panel = h('section.card.stack#queue-panel', h('div.spread', h('h3', 'Waiting room'), button), h('div#queue-kpis'),
        h('p.small.muted', `On sale at ${fmtTime(ev.waiting_room.onsale_at)} · ${ev.waiting_room.admit_per_min} admissions a minute · at most ${ev.waiting_room.max_active} shoppers at once`));

    async function refresh() {
        clearTimeout(timer);
        try {
            const s = await adm(`${path}/queue/stats`);
            paused = !!s.paused;
            button.textContent = paused ? 'Resume admissions' : 'Pause admissions';
            const kpis = [['In pre-queue', s.prequeue], ['Waiting', s.waiting], ['Shopping now', s.active], ['Admitted', s.admitted_total],
                ['Admissions/min', s.admissions_per_min], ['Skipped', s.skipped_total]];
            fill($('#queue-kpis', panel), h('div.kpis', kpis.map(([k, v]) => h('div.kpi', h('div.v', (v ?? 0).toLocaleString()), h('div.k', k)))),
                paused ? h('div.alert.warn#queue-paused', h('strong', 'Admissions are paused'), h('span', 'The queue keeps growing; nobody is let in until you resume.')) : null);
        } catch (err) {
            if (refused(err)) return;
        }
        timer = setTimeout(refresh, 3000);
    }

    async function setPaused(value, btn) {
        try {
            await busy(btn, () => adm(path, { method: 'PATCH', json: { waiting_room: { paused: value } }, idem: true }));
            toast(value ? 'Admissions paused' : 'Admissions resumed');
            refresh();
        } catch (err) {
            if (!refused(err)) toast(err.message, 'bad');
        }
    }
    refresh();
    return [panel, () => clearTimeout(timer)];
}
