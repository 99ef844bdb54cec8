// key_flood.mjs - the idempotency-key flood of issue 12 (bounds.test.mjs
// "idempotency keys and other sets"): many requests, each with an
// Idempotency-Key of its own, from chosen client addresses (X-Forwarded-For
// from loopback, which the server trusts as a proxy), a few at a time,
// sampling the server's resident memory as it goes.

import { rssKiB } from './stranger.mjs';

/**
 * Send n requests: request(i) gives {path, json, key, address}; at most
 * `concurrency` in flight. Every `sampleEvery` answers, RSS (KiB) of pid is
 * sampled. Resolves to {byStatus: {status: count}, byCode: {code: count},
 * samples: [{done, rssKiB}], ms, first: {status: answer of the first such}}.
 */
export async function flood(srv, n, request, { concurrency = 16, sampleEvery = 1000 } = {}) {
    const byStatus = {};
    const byCode = {};
    const first = {};
    const samples = [{ done: 0, rssKiB: rssKiB(srv.pid) }];
    let next = 0;
    let done = 0;
    const t0 = performance.now();
    async function worker() {
        while (next < n) {
            const i = next++;
            const { path, json, key, address } = request(i);
            const res = await srv.post(path, json, { idem: key, headers: { 'x-forwarded-for': address } });
            byStatus[res.status] = (byStatus[res.status] || 0) + 1;
            const code = res.body?.error?.code || String(res.status);
            byCode[code] = (byCode[code] || 0) + 1;
            if (!first[res.status]) first[res.status] = res;
            if (++done % sampleEvery === 0) samples.push({ done, rssKiB: rssKiB(srv.pid) });
        }
    }
    await Promise.all(Array.from({ length: concurrency }, worker));
    return { byStatus, byCode, samples, first, ms: performance.now() - t0 };
}

/** A documentation address (RFC 5737 TEST-NET-3, then 10/8) numbered i. */
export function floodAddress(i) {
    return i < 256 ? `203.0.113.${i}` : `10.200.${(i >> 8) & 255}.${i & 255}`;
}
