// gate.js - the staff check-in page: a gate token (a staff token for one
// event, or the admin token) kept for this tab only, a code typed, pasted,
// sent by a hardware scanner (which types and presses Enter) or read by the
// camera (BarcodeDetector, where the browser has it), and a result that
// fills the screen: ADMITTED in green, ALREADY USED in orange, refusals in
// red. Every answer of POST /api/v1/checkin is shown, none is guessed.

import { h, $, fill, chrome, fmtTime } from './ui.js';

chrome('gate');
const app = $('#app');
const TOKEN_KEY = 'bo.gate.token';

let token = sessionStorage.getItem(TOKEN_KEY) || '';
let busy = false;
let camera = null; // {stream, timer}
let lastCode = '';
let lastAt = 0;
const history = [];

const VIEW = {
    ok: { icon: '✓', big: 'ADMITTED', color: '#15803d' },
    already_used: { icon: '⚠', big: 'ALREADY USED', color: '#c2410c' },
    invalid: { icon: '✕', big: 'INVALID TICKET', color: '#b91c1c' },
    wrong_event: { icon: '✕', big: 'WRONG EVENT', color: '#b91c1c' },
    voided: { icon: '✕', big: 'VOID TICKET', color: '#b91c1c' },
    error: { icon: '!', big: 'NOT CHECKED', color: '#b91c1c' },
};

function seatText(t) {
    if (!t) return '';
    if (t.seat) return `${t.section} · Row ${t.row} · Seat ${t.number}`;
    const area = t.ga_area_name || t.ga_area;
    return area ? `General admission · ${area}` : 'General admission';
}

function signIn() {
    fill(app, h('div.gate.stack',
        h('h1', 'Gate check-in'),
        h('form.card.stack', {
            onsubmit: (e) => {
                e.preventDefault();
                const v = $('#gate-token').value.trim();
                if (!v) return;
                token = v;
                sessionStorage.setItem(TOKEN_KEY, v);
                scanner();
            },
        },
        h('p', 'Enter your gate token. The organiser creates one per event in Admin (event dashboard → Gate token); the admin token works too.'),
        h('div.field', h('label', { for: 'gate-token' }, 'Gate token'), h('input#gate-token', { type: 'password', autocomplete: 'off', required: true, spellcheck: 'false' })),
        h('button.btn.primary', { type: 'submit' }, 'Start checking in'))));
    app.removeAttribute('aria-busy');
    $('#gate-token').focus();
}

function scanner() {
    const hasDetector = 'BarcodeDetector' in window && navigator.mediaDevices?.getUserMedia;
    fill(app, h('div.gate.stack',
        h('div.spread', h('h1', { style: { margin: 0 } }, 'Gate check-in'),
            h('button.btn.small.ghost', { type: 'button', onclick: signOut }, 'Change token')),
        h('div.scan-result.idle#result', { role: 'status', 'aria-live': 'assertive', 'aria-atomic': 'true' },
            h('div.detail', 'Ready. Scan or enter a ticket code.')),
        h('form.card.stack', { onsubmit: (e) => { e.preventDefault(); submit($('#code').value); } },
            h('div.field', h('label', { for: 'code' }, 'Ticket code'),
                h('input#code.code', { type: 'text', autocomplete: 'off', autocapitalize: 'off', spellcheck: 'false', placeholder: 'BO1…', enterkeyhint: 'go' })),
            h('div.row',
                h('button.btn.primary#check', { type: 'submit' }, 'Check in'),
                hasDetector ? h('button.btn#camera-btn', { type: 'button', onclick: toggleCamera }, 'Scan with camera') : null,
                hasDetector ? null : h('span.small.muted', 'Camera scanning needs a browser with BarcodeDetector (Chrome on Android, for example); a USB or Bluetooth scanner works everywhere.'))),
        h('div.camera.hidden#camera', h('video#video', { playsinline: true, muted: true }), h('div.frame')),
        h('section.card', h('h2', 'Recent scans'), h('ul.history#history', h('li.muted', 'None yet.')))));
    app.removeAttribute('aria-busy');
    $('#code').focus();
}

function signOut() {
    stopCamera();
    sessionStorage.removeItem(TOKEN_KEY);
    token = '';
    signIn();
}

function showResult(kind, detail, extra) {
    const v = VIEW[kind] || VIEW.error;
    const box = $('#result');
    box.className = `scan-result ${kind}`;
    box.dataset.result = kind;
    fill(box, h('div.icon', { 'aria-hidden': 'true' }, v.icon), h('div.big', v.big),
        detail ? h('div.detail', detail) : null, extra ? h('div', extra) : null);
    history.unshift({ kind, text: `${v.big}${detail ? ` · ${detail}` : ''}`, at: new Date() });
    history.length = Math.min(history.length, 12);
    fill($('#history'), ...history.map((x) => h('li', h('span.pill', { style: { background: (VIEW[x.kind] || VIEW.error).color } }),
        h('span.small.muted', x.at.toLocaleTimeString()), h('span', x.text))));
    if (navigator.vibrate) navigator.vibrate(kind === 'ok' ? 80 : [60, 60, 60, 60, 200]);
}

async function submit(raw) {
    const code = (raw || '').trim();
    if (!code || busy) return;
    busy = true;
    const box = $('#result');
    box.className = 'scan-result pending';
    fill(box, h('div.detail', 'Checking…'));
    try {
        const res = await fetch('/api/v1/checkin', {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
            body: JSON.stringify({ code }),
        });
        const body = await res.json().catch(() => ({}));
        if (res.status === 401 || res.status === 403) {
            showResult('error', 'This gate token was refused.', h('button.btn', { type: 'button', onclick: signOut }, 'Enter another token'));
            return;
        }
        const t = body.ticket;
        switch (body.result) {
            case 'ok':
                showResult('ok', seatText(t), t?.name ? `Welcome, ${t.name}` : null);
                break;
            case 'already_used':
                showResult('already_used', `First scanned at ${fmtTime(body.first_checked_in_at || body.checked_in_at)}`, seatText(t));
                break;
            case 'wrong_event':
                showResult('wrong_event', 'This ticket is for another event.');
                break;
            case 'voided':
                showResult('voided', 'Its order was cancelled or refunded.', seatText(t));
                break;
            case 'invalid':
                showResult('invalid', body.reason === 'signature' ? 'The code is forged or altered.' : 'This is not a valid ticket code.');
                break;
            default:
                showResult('error', body.error?.message || `Unexpected answer (${res.status}). Try again.`);
        }
    } catch {
        showResult('error', 'The server could not be reached. Check the connection and scan again.');
    } finally {
        busy = false;
        const input = $('#code');
        if (input) {
            input.value = '';
            input.focus();
        }
    }
}

async function toggleCamera() {
    if (camera) return stopCamera();
    const wrap = $('#camera');
    try {
        const stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' }, audio: false });
        const video = $('#video');
        video.srcObject = stream;
        await video.play();
        wrap.classList.remove('hidden');
        const detector = new window.BarcodeDetector({ formats: ['qr_code'] });
        camera = { stream, timer: 0 };
        $('#camera-btn').textContent = 'Stop camera';
        const scan = async () => {
            if (!camera) return;
            try {
                const found = await detector.detect(video);
                const code = found[0]?.rawValue;
                // the same code is not sent again while it stays in front of the camera
                if (code && (code !== lastCode || Date.now() - lastAt > 4000)) {
                    lastCode = code;
                    lastAt = Date.now();
                    await submit(code);
                }
            } catch {
                /* a frame that could not be read */
            }
            if (camera) camera.timer = setTimeout(scan, 200);
        };
        scan();
    } catch (err) {
        showResult('error', `The camera could not start: ${err.message}`);
        stopCamera();
    }
}

function stopCamera() {
    if (!camera) return;
    clearTimeout(camera.timer);
    for (const t of camera.stream.getTracks()) t.stop();
    camera = null;
    $('#camera')?.classList.add('hidden');
    const b = $('#camera-btn');
    if (b) b.textContent = 'Scan with camera';
}

if (token) scanner();
else signIn();
