// stranger.mjs - what the "requests from strangers" tests of
// abuse.test.mjs send that fetch cannot: raw HTTP/1 bytes on a TCP socket
// (every response read until the server closes), slow uploads that send a
// head and then trickle, HTTP/2 streams, and the server's resident memory.

import net from 'node:net';
import http2 from 'node:http2';
import { readFileSync } from 'node:fs';

/** VmRSS of a process, in KiB. */
export function rssKiB(pid) {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return Number(m[1]);
}

/** Split a byte stream of HTTP/1 responses (Content-Length framed, as the
 * server frames every answer) into [{status, headers, body}]; 100 Continue
 * counts as a response. */
export function splitResponses(buf) {
    const out = [];
    let at = 0;
    while (at < buf.length) {
        const sep = buf.indexOf('\r\n\r\n', at);
        if (sep < 0) break;
        const lines = buf.subarray(at, sep).toString('latin1').split('\r\n');
        const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0])?.[1] || 0);
        const headers = {};
        for (const l of lines.slice(1)) {
            const i = l.indexOf(':');
            headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
        }
        const len = status === 100 ? 0 : Number(headers['content-length'] || 0);
        const body = buf.subarray(sep + 4, sep + 4 + len).toString('utf8');
        out.push({ status, headers, body, json: headers['content-type']?.includes('json') && body ? JSON.parse(body) : null });
        at = sep + 4 + len;
    }
    return out;
}

/**
 * Connect, write bytes (a string or Buffer, or a function(sock) that writes
 * as it likes), read until the server closes (or timeoutMs). Resolves to
 * {responses, closed (the server ended the connection), raw}.
 */
export function exchange(port, bytes, timeoutMs = 5000) {
    return new Promise((resolve) => {
        const sock = net.connect(port, '127.0.0.1');
        const chunks = [];
        let closed = false;
        const done = () => {
            clearTimeout(timer);
            sock.destroy();
            const raw = Buffer.concat(chunks);
            resolve({ responses: splitResponses(raw), closed, raw: raw.toString('latin1') });
        };
        const timer = setTimeout(done, timeoutMs);
        sock.on('connect', () => (typeof bytes === 'function' ? bytes(sock) : sock.write(bytes)));
        sock.on('data', (c) => chunks.push(c));
        sock.on('end', () => {
            closed = true;
            done();
        });
        sock.on('error', (e) => {
            closed = true; /* reset by the server: closed too */
            done();
        });
    });
}

/**
 * A slow upload: the head of a request declaring contentLength, then
 * trickleBytes every intervalMs until the server answers or closes. Resolves
 * to {responses, closed, sentBodyBytes, ms}.
 */
export function slowUpload(port, head, { trickleBytes = 1024, intervalMs = 100, timeoutMs = 10000 } = {}) {
    const t0 = performance.now();
    let sent = 0;
    let tick;
    return exchange(
        port,
        (sock) => {
            sock.write(head);
            tick = setInterval(() => {
                if (sock.destroyed) return;
                sock.write(Buffer.alloc(trickleBytes, 0x20));
                sent += trickleBytes;
            }, intervalMs);
            sock.on('close', () => clearInterval(tick));
        },
        timeoutMs,
    ).then((r) => {
        clearInterval(tick);
        return { ...r, sentBodyBytes: sent, ms: performance.now() - t0 };
    });
}

/**
 * One HTTP/2 (h2c, prior knowledge) POST that declares contentLength and
 * sends chunkBytes at a time while the stream lets it, until the server
 * answers, resets the stream or totalBytes were sent. Resolves to {status
 * (0: none), body, rstCode (null: no reset), sentBytes}.
 */
export function h2Upload(url, path, { headers = {}, contentLength, totalBytes, chunkBytes = 64 * 1024 }) {
    return new Promise((resolve) => {
        const session = http2.connect(url);
        session.on('error', () => {});
        const req = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/json', 'content-length': String(contentLength), ...headers });
        let status = 0;
        let body = '';
        let sent = 0;
        let finished = false;
        const finish = () => {
            if (finished) return;
            finished = true;
            const rstCode = req.rstCode === undefined || req.rstCode === 0 ? null : req.rstCode;
            session.destroy();
            resolve({ status, body, rstCode, sentBytes: sent });
        };
        req.on('response', (h) => (status = h[':status']));
        req.on('data', (d) => (body += d));
        req.on('end', finish);
        req.on('close', finish);
        req.on('error', () => {});
        const chunk = Buffer.alloc(chunkBytes, 0x20);
        const pump = () => {
            while (!finished && !req.destroyed && sent < totalBytes) {
                sent += chunkBytes;
                if (!req.write(chunk)) return req.once('drain', pump);
            }
            if (sent >= totalBytes && !req.destroyed) req.end();
        };
        pump();
    });
}
