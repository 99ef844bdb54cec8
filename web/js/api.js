// api.js - the boxoffice HTTP API from the browser: JSON in and out, the
// error shape {"error":{"code","message","details"}} turned into ApiError,
// Idempotency-Key on mutations (kept across one retry after a network
// failure or a 503, so a lost answer never holds twice), a step refused
// with 409 ORDER_BUSY (another step of the order was running: nothing was
// done) tried again, admin and staff bearer tokens, and the compact
// availability decoded.

export class ApiError extends Error {
    constructor(status, code, message, details = {}) {
        super(message || code || `HTTP ${status}`);
        this.status = status;
        this.code = code || (status ? `HTTP_${status}` : 'NETWORK');
        this.details = details || {};
    }
}

/** A random UUID, also outside secure contexts. */
export function uuid() {
    if (crypto.randomUUID) return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const x = [...b].map((v) => v.toString(16).padStart(2, '0')).join('');
    return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const BUSY_RETRIES = 5;

/**
 * One API call. opts: method, json (a body sent as JSON), token (a bearer
 * token), headers (more request headers), idem (true: a fresh
 * Idempotency-Key), signal.
 * Resolves to {status, body, headers}; throws ApiError for 4xx/5xx and
 * network failures. GETs and keyed mutations are retried once after a
 * network failure or a 503; any call answered 409 ORDER_BUSY is retried
 * after its Retry-After, a few times.
 */
export async function api(path, opts = {}) {
    const method = opts.method || (opts.json !== undefined ? 'POST' : 'GET');
    const headers = { ...(opts.headers || {}), accept: 'application/json' };
    let body;
    if (opts.json !== undefined) {
        headers['content-type'] = 'application/json';
        body = JSON.stringify(opts.json);
    }
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    if (opts.idem) headers['idempotency-key'] = typeof opts.idem === 'string' ? opts.idem : uuid();
    const retryable = method === 'GET' || !!opts.idem;
    for (let attempt = 0, busy = 0; ; attempt++) {
        let res;
        try {
            res = await fetch(path, { method, headers, body, signal: opts.signal, cache: 'no-store' });
        } catch (e) {
            if (e.name === 'AbortError') throw e;
            if (retryable && attempt === 0) {
                await sleep(400);
                continue;
            }
            throw new ApiError(0, 'NETWORK', 'The server could not be reached. Check your connection and try again.');
        }
        if (res.status === 503 && retryable && attempt === 0) {
            const after = Math.min(5, Number(res.headers.get('retry-after')) || 1);
            await sleep(after * 1000);
            continue;
        }
        const text = res.status === 204 ? '' : await res.text();
        if (res.status === 409 && busy < BUSY_RETRIES && text.includes('"ORDER_BUSY"')) {
            busy++;
            attempt--;
            await sleep(Math.min(5, Number(res.headers.get('retry-after')) || 1) * 1000);
            continue;
        }
        let parsed = null;
        if (text) {
            try {
                parsed = JSON.parse(text);
            } catch {
                parsed = null;
            }
        }
        if (res.ok) return { status: res.status, body: parsed, headers: res.headers };
        const err = parsed && parsed.error ? parsed.error : {};
        throw new ApiError(res.status, err.code, err.message || res.statusText, err.details);
    }
}

export const get = (path, opts) => api(path, opts).then((r) => r.body);
export const post = (path, json, opts = {}) => api(path, { ...opts, method: 'POST', json }).then((r) => r.body);
export const patch = (path, json, opts = {}) => api(path, { ...opts, method: 'PATCH', json }).then((r) => r.body);
export const del = (path, opts = {}) => api(path, { ...opts, method: 'DELETE' }).then((r) => r.body);

/** base64 of one byte per seat -> Uint8Array. */
export function decodeStates(b64) {
    const bin = atob(b64 || '');
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
}

export const STATE_NAMES = ['available', 'held', 'sold', 'blocked'];
export const STATE_OF = { available: 0, held: 1, sold: 2, blocked: 3 };

/**
 * Follow an event's availability: the stream's snapshot and seat changes,
 * falling back to polling GET …/availability (with its ETag) when the
 * stream cannot be opened. handlers: snapshot({states, ga, counts, version}),
 * changes({changes, ga, version}), status('live'|'polling'|'reconnecting').
 * Returns a function that stops following.
 */
export function followAvailability(eventId, handlers) {
    let es = null;
    let pollTimer = null;
    let stopped = false;
    let failures = 0;
    let etag = null;
    const base = `/api/v1/events/${encodeURIComponent(eventId)}/availability`;

    const onSnapshot = (data) => handlers.snapshot({ ...data, states: decodeStates(data.seats) });

    async function poll() {
        if (stopped) return;
        try {
            const res = await fetch(base, { headers: etag ? { 'if-none-match': etag } : {}, cache: 'no-store' });
            if (res.status === 200) {
                etag = res.headers.get('etag');
                onSnapshot(await res.json());
            }
        } catch {
            /* try again at the next tick */
        }
        pollTimer = setTimeout(poll, 2000);
    }

    function open() {
        if (stopped) return;
        if (typeof EventSource === 'undefined') {
            handlers.status?.('polling');
            poll();
            return;
        }
        es = new EventSource(`${base}/stream`);
        es.addEventListener('open', () => {
            failures = 0;
            handlers.status?.('live');
        });
        es.addEventListener('snapshot', (e) => onSnapshot(JSON.parse(e.data)));
        es.addEventListener('seats', (e) => handlers.changes(JSON.parse(e.data)));
        es.addEventListener('error', () => {
            if (stopped) return;
            failures++;
            if (es.readyState === EventSource.CLOSED || failures >= 3) {
                es.close();
                es = null;
                handlers.status?.('polling');
                poll();
                // try the stream again later
                setTimeout(() => {
                    if (stopped) return;
                    clearTimeout(pollTimer);
                    open();
                }, 15000);
            } else {
                handlers.status?.('reconnecting');
            }
        });
    }
    open();
    return () => {
        stopped = true;
        if (es) es.close();
        clearTimeout(pollTimer);
    };
}
