// paysim.mjs - a real build/boxoffice-paysim for the system tests: started
// on an ephemeral 127.0.0.1 port with temporary key files, stopped by its
// PID (SIGTERM, SIGKILL if it lingers), killed by PID when the test process
// exits; plus a local webhook receiver that records what paysim delivers.
//
//   const sim = await Paysim.start();          // sim.url, sim.port, sim.secretKey, sim.webhookSecret
//   const hooks = await WebhookReceiver.start();
//   await sim.config({ webhook_url: hooks.url }); // POST /_sim/config
//   ...
//   await hooks.close(); await sim.cleanup();

import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { killChild, startListening, stopChild } from './proc.mjs';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
// The binary under test: PAYSIM_BIN, else build/boxoffice-paysim.
export const PAYSIM_BIN = process.env.PAYSIM_BIN
    ? resolve(process.env.PAYSIM_BIN)
    : join(ROOT, 'build/boxoffice-paysim');
const START_TIMEOUT_MS = 20000;
const STOP_TIMEOUT_MS = 10000;

const alnum = (n) => randomBytes(n * 2).toString('base64').replace(/[^A-Za-z0-9]/g, '').slice(0, n).padEnd(n, 'x');

/**
 * A paysim process. opts:
 *   secretKey, webhookSecret: written to the key files first (null: let
 *     paysim create the files, read back after start);
 *   webhookUrl: --webhook-url; args: more arguments; env: more variables.
 */
export class Paysim {
    constructor(opts = {}) {
        this.opts = opts;
        this.dir = mkdtempSync(join(tmpdir(), 'paysim-test-'));
        this.keyFile = join(this.dir, 'paysim.secret-key');
        this.webhookSecretFile = join(this.dir, 'paysim.webhook-secret');
        this.logPath = join(this.dir, 'paysim.log');
        this.secretKey = opts.secretKey === null ? null : opts.secretKey || `sk_test_${alnum(32)}`;
        this.webhookSecret = opts.webhookSecret === null ? null : opts.webhookSecret || `whsec_${alnum(32)}`;
        if (this.secretKey) writeFileSync(this.keyFile, this.secretKey + '\n', { mode: 0o600 });
        if (this.webhookSecret) writeFileSync(this.webhookSecretFile, this.webhookSecret + '\n', { mode: 0o600 });
        this.child = null;
        this.tail = [];
    }

    static async start(opts = {}) {
        const sim = new Paysim(opts);
        await sim.launch();
        return sim;
    }

    get pid() {
        return this.child ? this.child.pid : null;
    }

    /** Start the process; resolves once it printed "paysim listening on URL". */
    async launch() {
        const args = [
            '--listen', '127.0.0.1:0',
            '--secret-key-file', this.keyFile,
            '--webhook-secret-file', this.webhookSecretFile,
            '--access-log', join(this.dir, 'access.log'),
            '--threads', '2',
        ];
        if (this.opts.webhookUrl) args.push('--webhook-url', this.opts.webhookUrl);
        if (this.opts.args) args.push(...this.opts.args);
        const { url } = await startListening(PAYSIM_BIN, args, {
            cwd: this.dir,
            env: this.opts.env,
            logPath: this.logPath,
            pattern: /^paysim listening on (http:\/\/\S+)/,
            what: 'paysim',
            timeoutMs: START_TIMEOUT_MS,
            tail: this.tail,
            onSpawn: (child) => {
                this.child = child;
            },
        });
        this.url = url;
        this.port = Number(new URL(this.url).port);
        if (!this.secretKey) this.secretKey = readFileSync(this.keyFile, 'utf8').trim();
        if (!this.webhookSecret) this.webhookSecret = readFileSync(this.webhookSecretFile, 'utf8').trim();
        return this;
    }

    /** SIGTERM by PID; resolves to {code, signal}; SIGKILL after 10 s. */
    stop() {
        return stopChild(this.child, STOP_TIMEOUT_MS, 'paysim');
    }

    /** Stop (SIGKILL if still running) and remove the temp directory. */
    async cleanup() {
        await killChild(this.child);
        if (!process.env.BOXOFFICE_KEEP_TMP) rmSync(this.dir, { recursive: true, force: true });
    }

    /**
     * One raw HTTP request. opts: form (object of strings, sent as
     * x-www-form-urlencoded), body (sent as is), headers, auth (true: the
     * secret key as Bearer; a string: that Authorization value; false: none).
     * Resolves to {status, headers, text, body (parsed JSON or null), ms}.
     */
    async req(method, path, opts = {}) {
        const headers = { ...(opts.headers || {}) };
        const auth = opts.auth === undefined ? true : opts.auth;
        if (auth === true) headers.authorization = `Bearer ${this.secretKey}`;
        else if (auth) headers.authorization = auth;
        let body = opts.body;
        if (opts.form) {
            body = new URLSearchParams(opts.form).toString();
            headers['content-type'] = 'application/x-www-form-urlencoded';
        }
        const t0 = performance.now();
        const res = await fetch(this.url + path, { method, headers, body, signal: AbortSignal.timeout(opts.timeoutMs || 20000) });
        const text = await res.text();
        let parsed = null;
        try {
            parsed = text ? JSON.parse(text) : null;
        } catch {
            parsed = undefined;
        }
        return { status: res.status, headers: res.headers, text, body: parsed, ms: performance.now() - t0 };
    }

    /** POST /_sim/config with settings (JSON); resolves to the new settings. */
    async config(settings) {
        const r = await this.req('POST', '/_sim/config', {
            body: JSON.stringify(settings),
            headers: { 'content-type': 'application/json' },
        });
        if (r.status !== 200) throw new Error(`/_sim/config answered ${r.status}: ${r.text}`);
        return r.body;
    }

    /** GET /_sim/stats. */
    async stats() {
        const r = await this.req('GET', '/_sim/stats');
        if (r.status !== 200) throw new Error(`/_sim/stats answered ${r.status}: ${r.text}`);
        return r.body;
    }
}

/**
 * A webhook endpoint on 127.0.0.1:0 that records every delivery
 * {body (raw string), signature (Stripe-Signature), headers, at (ms)}.
 * respond(delivery, index) decides the status (default 200).
 */
export class WebhookReceiver {
    constructor() {
        this.deliveries = [];
        this.respond = () => 200;
        this.waiters = [];
    }

    static async start() {
        const rx = new WebhookReceiver();
        rx.server = createServer((req, res) => {
            const chunks = [];
            req.on('data', (c) => chunks.push(c));
            req.on('end', () => {
                const d = {
                    method: req.method,
                    path: req.url,
                    body: Buffer.concat(chunks).toString('utf8'),
                    signature: req.headers['stripe-signature'],
                    headers: req.headers,
                    at: performance.now(),
                };
                const index = rx.attempts = (rx.attempts || 0) + 1;
                const status = rx.respond(d, index - 1);
                d.status = status;
                if (status >= 200 && status < 300) rx.deliveries.push(d);
                else (rx.refused = rx.refused || []).push(d);
                res.writeHead(status, { 'content-type': 'application/json' });
                res.end('{}');
                rx.wake();
            });
        });
        await new Promise((res) => rx.server.listen(0, '127.0.0.1', res));
        rx.url = `http://127.0.0.1:${rx.server.address().port}/webhook`;
        return rx;
    }

    wake() {
        this.waiters = this.waiters.filter((w) => {
            if (w.pred()) {
                clearTimeout(w.timer);
                w.res();
                return false;
            }
            return true;
        });
    }

    /** Resolves once n deliveries were accepted; rejects after timeoutMs. */
    waitFor(n, timeoutMs = 10000) {
        const pred = () => this.deliveries.length >= n;
        if (pred()) return Promise.resolve();
        return new Promise((res, rej) => {
            const w = { pred, res };
            w.timer = setTimeout(() => {
                this.waiters = this.waiters.filter((x) => x !== w);
                rej(new Error(`expected ${n} webhook deliveries within ${timeoutMs} ms, got ${this.deliveries.length}`));
            }, timeoutMs);
            this.waiters.push(w);
        });
    }

    /** Forget what was recorded and answer 200 again. */
    reset() {
        this.deliveries = [];
        this.refused = [];
        this.attempts = 0;
        this.respond = () => 200;
    }

    /** Accepted deliveries as parsed events. */
    events() {
        return this.deliveries.map((d) => JSON.parse(d.body));
    }

    close() {
        return new Promise((res) => {
            this.server.closeAllConnections?.();
            this.server.close(() => res());
        });
    }
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
