// pass.js - the waiting room from the buyer's side: the queue ticket and
// the pass kept per event in localStorage (so a reload or another tab keeps
// the place), the header that carries the pass on holds and checkouts, and
// the proof-of-work a join may ask for.
//
// The pass is the server's signed admission (docs/api.md, "Waiting room");
// the page only stores it and sends it back as X-Queue-Pass.

import { store } from './ui.js';

const ticketKey = (eventId) => `bo.queue.${eventId}`;
const passKey = (eventId) => `bo.pass.${eventId}`;

/** The visitor's queue ticket of an event: {ticket, first_ahead} or null. */
export const loadTicket = (eventId) => store.get(ticketKey(eventId), null);
export const saveTicket = (eventId, entry) => store.set(ticketKey(eventId), entry);
export const clearTicket = (eventId) => store.set(ticketKey(eventId), null);

/** Keep the pass the queue gave; expires_at is RFC 3339. */
export function savePass(eventId, pass, expiresAt) {
    store.set(passKey(eventId), { pass, expires_at: expiresAt });
}

/** The event's pass while it is valid, else null (an expired one is dropped). */
export function loadPass(eventId) {
    const p = store.get(passKey(eventId), null);
    if (!p || !p.pass) return null;
    if (p.expires_at && Date.parse(p.expires_at) <= Date.now()) {
        store.set(passKey(eventId), null);
        return null;
    }
    return p;
}

export const clearPass = (eventId) => store.set(passKey(eventId), null);

/** Headers that show the event's pass, if there is one. */
export function passHeaders(eventId) {
    const p = loadPass(eventId);
    return p ? { 'x-queue-pass': p.pass } : {};
}

/** Where the waiting page of an event is. */
export const queuePage = (eventId) => `/queue.html?id=${encodeURIComponent(eventId)}`;

// ---- proof of work --------------------------------------------------------------------

// SHA-256 (FIPS 180-4) of a short ASCII string, as 8 words. Written out so
// that the page needs no secure context (crypto.subtle exists only there)
// and hashes synchronously: a join's puzzle takes up to a few 100,000 hashes.
const K = new Uint32Array([
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);
const W = new Uint32Array(64);
const rotr = (x, n) => (x >>> n) | (x << (32 - n));

export function sha256(text) {
    const n = text.length;
    const blocks = Math.ceil((n + 9) / 64);
    const m = new Uint8Array(blocks * 64);
    for (let i = 0; i < n; i++) m[i] = text.charCodeAt(i) & 0xff;
    m[n] = 0x80;
    const bits = n * 8;
    m[m.length - 4] = bits >>> 24;
    m[m.length - 3] = bits >>> 16;
    m[m.length - 2] = bits >>> 8;
    m[m.length - 1] = bits;
    const H = new Uint32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
    for (let b = 0; b < blocks; b++) {
        for (let t = 0; t < 16; t++) {
            const o = b * 64 + t * 4;
            W[t] = (m[o] << 24) | (m[o + 1] << 16) | (m[o + 2] << 8) | m[o + 3];
        }
        for (let t = 16; t < 64; t++) {
            const s0 = rotr(W[t - 15], 7) ^ rotr(W[t - 15], 18) ^ (W[t - 15] >>> 3);
            const s1 = rotr(W[t - 2], 17) ^ rotr(W[t - 2], 19) ^ (W[t - 2] >>> 10);
            W[t] = W[t - 16] + s0 + W[t - 7] + s1;
        }
        let [a, bb, c, d, e, f, g, hh] = H;
        for (let t = 0; t < 64; t++) {
            const t1 = (hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[t] + W[t]) >>> 0;
            const t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & bb) ^ (a & c) ^ (bb & c))) >>> 0;
            hh = g;
            g = f;
            f = e;
            e = (d + t1) >>> 0;
            d = c;
            c = bb;
            bb = a;
            a = (t1 + t2) >>> 0;
        }
        H[0] += a;
        H[1] += bb;
        H[2] += c;
        H[3] += d;
        H[4] += e;
        H[5] += f;
        H[6] += g;
        H[7] += hh;
    }
    return H;
}

/** Does the hash begin with `bits` zero bits? */
export function leadingZeros(H, bits) {
    for (let i = 0; bits > 0; i++, bits -= 32) {
        const mask = bits >= 32 ? 0xffffffff : (0xffffffff << (32 - bits)) >>> 0;
        if ((H[i] & mask) >>> 0) return false;
    }
    return true;
}

/**
 * Find a nonce for a challenge: SHA-256(challenge + ":" + nonce) begins with
 * difficulty zero bits. Works in slices of a few ms so that the page stays
 * responsive; progress(tried) is called between slices. Resolves to the
 * nonce (base 36).
 */
export async function solve(challenge, difficulty, progress = () => {}) {
    const prefix = `${challenge}:`;
    for (let i = 0; ; ) {
        const end = i + 4096;
        for (; i < end; i++) {
            const nonce = i.toString(36);
            if (leadingZeros(sha256(prefix + nonce), difficulty)) return nonce;
        }
        progress(i);
        await new Promise((r) => setTimeout(r, 0));
    }
}
