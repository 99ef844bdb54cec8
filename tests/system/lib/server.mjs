// server.mjs - a real `build/boxoffice serve` for the system tests: started
// on an ephemeral 127.0.0.1 port with a temporary SQLite file, stopped by
// its PID (SIGTERM for a graceful exit, SIGKILL for a crash), restarted on
// the same file; JSON requests over fetch; the SQLite file read directly
// with Debian's sqlite3 command line.
//
// BOXOFFICE_TEST_DB=pg: each Server gets a fresh database (CREATE DATABASE)
// in one private PostgreSQL cluster that this test process starts on first
// use (scripts/pg-cluster) and stops by its PID when it exits; --db is its
// URL, and sql() runs the query there with psql (results as JSON).
//
// Every process started here is remembered and killed by PID when the test
// process exits, so a failed test never leaves a server behind.

import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { killChild, startListening, stopChild } from './proc.mjs';

const execFileP = promisify(execFile);

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
// The binary under test: BOXOFFICE_BIN (make passes $(BUILD)/boxoffice, so a
// sanitizer build tests its own binary), else build/boxoffice.
export const BIN = process.env.BOXOFFICE_BIN ? resolve(process.env.BOXOFFICE_BIN) : join(ROOT, 'build/boxoffice');
const START_TIMEOUT_MS = 30000;
const STOP_TIMEOUT_MS = 15000;
const REQUEST_TIMEOUT_MS = 20000;

/** Which store each Server uses: 'sqlite' (default) or 'pg' (BOXOFFICE_TEST_DB). */
export const TEST_DB = process.env.BOXOFFICE_TEST_DB || 'sqlite';
const PG_CLUSTER = join(ROOT, 'scripts/pg-cluster');
const PSQL = '/usr/lib/postgresql/15/bin/psql';
let pgCluster = null; // {dir, url} once started: one per test process

/** The shared cluster of this process, started on first use. */
async function sharedPg() {
    if (pgCluster) return pgCluster;
    const dir = `/tmp/boxoffice-pg-${randomBytes(6).toString('hex')}`;
    pgCluster = { dir, url: null };
    process.on('exit', () => {
        try {
            execFileSync(PG_CLUSTER, ['stop', dir], { stdio: 'ignore' });
            if (!process.env.BOXOFFICE_KEEP_TMP) rmSync(dir, { recursive: true, force: true });
        } catch {
            /* nothing to stop */
        }
    });
    const { stdout } = await execFileP(PG_CLUSTER, ['start', dir]);
    pgCluster.url = stdout.trim();
    return pgCluster;
}

/** psql on url: the output of one command (-At, no psqlrc). */
async function psql(url, command) {
    const { stdout } = await execFileP(PSQL, ['-X', '-At', '-v', 'ON_ERROR_STOP=1', url, '-c', command], {
        maxBuffer: 512 * 1024 * 1024,
    });
    return stdout;
}

/** A fresh database in the shared cluster: its URL. */
export async function freshPgDatabase() {
    const pg = await sharedPg();
    const name = `bo_${randomBytes(6).toString('hex')}`;
    await psql(pg.url.replace(/\/boxoffice$/, '/postgres'), `CREATE DATABASE ${name}`);
    return pg.url.replace(/\/boxoffice$/, `/${name}`);
}

/** Rows of a query on a PostgreSQL database, as sqliteQuery gives them. */
export async function pgQuery(url, query) {
    const out = await psql(url, `SELECT coalesce(json_agg(t), '[]') FROM (${query}) t`);
    return JSON.parse(out.trim() || '[]');
}

/** A fresh directory under the system temp dir (removed by cleanup()). */
export function tempDir(tag = 'boxoffice-systest-') {
    return mkdtempSync(join(tmpdir(), tag));
}

/** 64 lowercase hex digits: an admin token. */
export function newToken() {
    return randomBytes(32).toString('hex');
}

/**
 * A boxoffice server. `await Server.start(opts)`:
 *   demo: pass --demo; threads: --threads N; token: written to the token
 *   file first (null: let the server create one, read back after start);
 *   webRoot: --web-root DIR; args: more arguments; env: more variables;
 *   ulimit: the arguments of a shell `ulimit` run before the server
 *   (e.g. '-Sn 1024': start it with that soft open-file limit).
 */
export class Server {
    constructor(opts = {}) {
        this.opts = opts;
        this.dir = opts.dir || tempDir();
        this.dbPath = join(this.dir, 'boxoffice.db');
        this.tokenFile = join(this.dir, 'admin.token');
        this.logPath = join(this.dir, 'server.log');
        this.token = opts.token === null ? null : opts.token || newToken();
        if (this.token) writeFileSync(this.tokenFile, this.token + '\n', { mode: 0o600 });
        // opts.dbUrl: this store URL instead of the SQLite file (Server.start
        // makes one under BOXOFFICE_TEST_DB=pg)
        this.dbUrl = opts.dbUrl || null;
        this.child = null;
        this.starts = 0;
        this.tail = []; // last lines of stderr, for failure messages
    }

    static async start(opts = {}) {
        const s = new Server(opts);
        if (TEST_DB === 'pg' && !opts.dbUrl) s.dbUrl = await freshPgDatabase();
        await s.launch();
        return s;
    }

    get pid() {
        return this.child ? this.child.pid : null;
    }

    /** Start the process; resolves once it printed "listening on URL". */
    async launch() {
        const args = [
            'serve',
            '--listen', '127.0.0.1:0',
            '--db', this.dbUrl || `sqlite:${this.dbPath}`,
            '--admin-token-file', this.tokenFile,
        ];
        if (this.opts.demo) args.push('--demo');
        if (this.opts.threads) args.push('--threads', String(this.opts.threads));
        if (this.opts.webRoot) args.push('--web-root', this.opts.webRoot);
        // The access log (one JSON line per request) to a file beside the
        // database rather than stderr, which this process would have to drain.
        args.push('--access-log', this.opts.accessLog || join(this.dir, 'access.log'));
        if (this.opts.args) args.push(...this.opts.args);
        this.starts++;
        // Under a shell's ulimit: exec keeps the PID, so stop() and kill9() reach the server.
        const [bin, argv] = this.opts.ulimit
            ? ['bash', ['-c', `ulimit ${this.opts.ulimit} && exec "$0" "$@"`, BIN, ...args]]
            : [BIN, args];
        const { url } = await startListening(bin, argv, {
            cwd: this.dir,
            env: this.opts.env,
            logPath: this.logPath,
            header: `---- start ${this.starts}: ${BIN} ${args.join(' ')}`,
            pattern: /listening on (https?:\/\/\S+)/,
            what: 'server',
            timeoutMs: START_TIMEOUT_MS,
            tail: this.tail,
            onSpawn: (child) => {
                this.child = child;
            },
        });
        this.url = url;
        this.port = Number(new URL(this.url).port);
        if (!this.token) this.token = readToken(this.tokenFile);
        return this;
    }

    /** SIGTERM by PID; resolves to {code, signal} once it exited. */
    stop() {
        return stopChild(this.child, STOP_TIMEOUT_MS, 'server');
    }

    /** SIGKILL by PID (a crash); resolves once it is gone. */
    kill9() {
        return killChild(this.child);
    }

    /** Start again on the same database, token and options (a new port). */
    async restart() {
        await this.kill9();
        await this.launch();
        return this;
    }

    /** Stop (SIGKILL if still running) and remove the temp directory. */
    async cleanup({ keep = false } = {}) {
        await this.kill9();
        if (!keep && !process.env.BOXOFFICE_KEEP_TMP) rmSync(this.dir, { recursive: true, force: true });
    }

    /**
     * One HTTP request. opts: json (sent as JSON), body (string or Buffer,
     * sent as is), headers, admin (true: the server's token; a string: that
     * token), idem (Idempotency-Key). Resolves to {status, headers, text,
     * body (parsed JSON or null), ms}.
     */
    async req(method, path, opts = {}) {
        const headers = { ...(opts.headers || {}) };
        let body = opts.body;
        if (opts.json !== undefined) {
            body = JSON.stringify(opts.json);
            if (!hasHeader(headers, 'content-type')) headers['content-type'] = 'application/json';
        }
        if (opts.admin) headers.authorization = `Bearer ${opts.admin === true ? this.token : opts.admin}`;
        if (opts.idem !== undefined) headers['idempotency-key'] = opts.idem;
        const t0 = performance.now();
        const timeoutMs = opts.timeoutMs || REQUEST_TIMEOUT_MS;
        let res, text;
        try {
            res = await fetch(this.url + path, { method, headers, body, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
            text = await res.text();
        } catch (e) {
            if (e.name === 'TimeoutError') throw new Error(`${method} ${path}: no answer within ${timeoutMs} ms`);
            throw e;
        }
        let parsed = null;
        if ((res.headers.get('content-type') || '').includes('json') && text.length) {
            try {
                parsed = JSON.parse(text);
            } catch {
                parsed = undefined; // a JSON content type with a body that is not JSON
            }
        }
        return { status: res.status, headers: res.headers, text, body: parsed, ms: performance.now() - t0 };
    }

    get(path, opts) {
        return this.req('GET', path, opts);
    }
    post(path, json, opts = {}) {
        return this.req('POST', path, { ...opts, json });
    }
    patch(path, json, opts = {}) {
        return this.req('PATCH', path, { ...opts, json });
    }
    del(path, opts) {
        return this.req('DELETE', path, opts);
    }

    /** Rows of a query on the store: the SQLite file (see sqliteQuery),
     * or the PostgreSQL database (pgQuery). */
    sql(query) {
        return this.dbUrl ? pgQuery(this.dbUrl, query) : sqliteQuery(this.dbPath, query);
    }
}

function hasHeader(headers, name) {
    return Object.keys(headers).some((k) => k.toLowerCase() === name);
}

function readToken(file) {
    return readFileSync(file, 'utf8').trim();
}


/**
 * Run a query on a SQLite file with the sqlite3 command line (-json);
 * resolves to an array of row objects. Large integers lose precision in
 * JSON: select them as text (CAST(x AS TEXT)) and use BigInt.
 */
export async function sqliteQuery(dbPath, query) {
    // The server may hold the write lock for a moment (a commit, its
    // recovery at start): wait for it rather than fail.
    const args = ['-json', '-bail', '-cmd', '.timeout 10000', dbPath, query];
    const { stdout } = await execFileP('sqlite3', args, {
        maxBuffer: 512 * 1024 * 1024,
    });
    const text = stdout.trim();
    return text ? JSON.parse(text) : [];
}

/** The internal 64-bit id of "evt_<16 hex>" or "ven_<16 hex>", as the
 * signed decimal that SQLite stores (a BigInt). */
export function internalId(apiId) {
    const hex = apiId.slice(apiId.indexOf('_') + 1, apiId.indexOf('_') + 17);
    return BigInt.asIntN(64, BigInt('0x' + hex));
}

/** The 32 hex digits of the 128-bit hold id inside "hold_<event><hold>". */
export function holdKey(holdId) {
    return holdId.slice(21);
}

/** A generated seat map (build/boxoffice venue-gen), parsed. */
export async function venueGen(opts = {}) {
    const args = ['venue-gen'];
    for (const [k, v] of Object.entries(opts)) args.push(`--${k.replace(/_/g, '-')}`, String(v));
    const { stdout } = await execFileP(BIN, args, { maxBuffer: 256 * 1024 * 1024 });
    return JSON.parse(stdout);
}

/** Seat ids of a seat map (import format or the seatmap answer) in layout
 * order: sections, rows, seats as listed. */
export function seatOrder(map) {
    const ids = [];
    for (const s of map.sections) for (const r of s.rows) for (const seat of r.seats) ids.push(seat.id);
    return ids;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
