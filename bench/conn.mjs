// conn.mjs - a minimal keep-alive HTTP/1.1 client for the benchmarks
// (checkout.mjs, bench_memory.mjs, connections.mjs): one connection, one
// request at a time (extra: more header lines, each ending in CRLF),
// answers framed by Content-Length (or chunked), ids taken by the caller
// with regular expressions. On 2 cores every client cycle is taken from
// the server, so it has to be cheap: ~18 us of CPU a request, where
// node:http costs ~58 us and fetch (undici) ~340 us.

import net from 'node:net';

/** One connection; one request at a time. request() resolves to
 * {status, body (latin1 string), ms} or rejects on a network error; extra
 * is more header lines ("Name: value\r\n" each), such as the buyer's
 * X-Forwarded-For address (holds, checkouts and card attempts are limited
 * per client address). */
export class Conn {
    constructor(host, port, timeoutMs = 30000) {
        this.host = host;
        this.port = port;
        this.timeoutMs = timeoutMs;
        this.sock = null;
        this.buf = '';
        this.pending = null;
    }

    connect() {
        return new Promise((resolve, reject) => {
            const s = net.connect(this.port, this.host);
            s.setNoDelay(true);
            s.setEncoding('latin1');
            s.once('connect', () => {
                s.off('error', reject);
                s.on('error', (e) => this.fail(e));
                s.on('close', () => this.fail(new Error('connection closed by the server')));
                s.on('data', (d) => this.feed(d));
                this.sock = s;
                resolve();
            });
            s.once('error', reject);
        });
    }

    fail(err) {
        this.sock = null;
        const p = this.pending;
        this.pending = null;
        if (p) {
            clearTimeout(p.timer);
            p.reject(err);
        }
    }

    /** extra: more header lines, each ending in \r\n. */
    async request(method, path, body, extra = '') {
        if (!this.sock) {
            this.buf = '';
            await this.connect();
        }
        const head = body === undefined
            ? `${method} ${path} HTTP/1.1\r\nHost: ${this.host}\r\n${extra}\r\n`
            : `${method} ${path} HTTP/1.1\r\nHost: ${this.host}\r\n${extra}Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
        return new Promise((resolve, reject) => {
            const t0 = performance.now();
            const timer = setTimeout(() => {
                const s = this.sock;
                this.fail(new Error(`no answer within ${this.timeoutMs} ms`));
                if (s) s.destroy();
            }, this.timeoutMs);
            this.pending = { resolve, reject, timer, t0 };
            this.sock.write(head, 'latin1');
        });
    }

    feed(data) {
        this.buf += data;
        const p = this.pending;
        if (!p) return;
        const end = this.buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = this.buf.slice(0, end);
        const status = Number(head.slice(9, 12));
        let m = /\r\ncontent-length: *(\d+)/i.exec(head);
        let body;
        if (m) {
            const len = Number(m[1]);
            if (this.buf.length < end + 4 + len) return;
            body = this.buf.slice(end + 4, end + 4 + len);
            this.buf = this.buf.slice(end + 4 + len);
        } else if (/\r\ntransfer-encoding: *chunked/i.test(head)) {
            const last = this.buf.indexOf('\r\n0\r\n\r\n', end + 2);
            if (last < 0) return;
            body = '';
            for (let i = end + 4; ;) {
                const eol = this.buf.indexOf('\r\n', i);
                const n = parseInt(this.buf.slice(i, eol), 16);
                if (!n) break;
                body += this.buf.slice(eol + 2, eol + 2 + n);
                i = eol + 2 + n + 2;
            }
            this.buf = this.buf.slice(last + 7);
        } else {
            body = ''; // 204, or an answer without a body
            this.buf = this.buf.slice(end + 4);
        }
        this.pending = null;
        clearTimeout(p.timer);
        if (/\r\nconnection: *close/i.test(head)) {
            const s = this.sock;
            this.sock = null;
            s.destroy();
        }
        p.resolve({ status, body, ms: performance.now() - p.t0 });
    }

    close() {
        if (this.sock) this.sock.destroy();
        this.sock = null;
    }
}
