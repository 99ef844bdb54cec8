// cli.test.mjs - the command lines of DESIGN.md's "Binaries" table: every
// option listed by --help with its BOXOFFICE_ variable, a server configured
// by variables alone (its admin token file and database created mode 0600), a flag
// winning over its variable, and bad values refused before anything starts,
// each with a message that names the problem; a store file that is not a
// store it may write (empty, not SQLite, another program's, truncated,
// read-only, a directory), a store with orders but no ticket key and a
// short BOXOFFICE_ADMIN_TOKEN are refused with exit status 2.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { after, describe, it } from 'node:test';
import { BIN, sqliteQuery, tempDir } from './lib/server.mjs';
import { startListening, stopChild } from './lib/proc.mjs';
import { setupEvent } from './lib/api.mjs';
import { checkout, confirm, hold, startShop } from './lib/shop.mjs';

const execFileP = promisify(execFile);
const PAYSIM = process.env.PAYSIM_BIN || join(dirname(BIN), 'boxoffice-paysim');
const dir = tempDir('boxoffice-cli-');
after(() => rmSync(dir, { recursive: true, force: true }));

/** Run a binary to its end: {code, stdout, stderr}. */
async function run(bin, args, env = {}) {
    try {
        const { stdout, stderr } = await execFileP(bin, args, { env: { ...process.env, ...env }, timeout: 20000 });
        return { code: 0, stdout, stderr };
    } catch (e) {
        if (typeof e.code !== 'number') throw e;
        return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
}

describe('command line', () => {
    it('boxoffice serve --help lists every option of DESIGN.md with its variable', async () => {
        const { code, stdout } = await run(BIN, ['serve', '--help']);
        assert.equal(code, 0);
        const options = {
            '--listen': 'BOXOFFICE_LISTEN', '--db': 'BOXOFFICE_DB', '--threads': 'BOXOFFICE_THREADS',
            '--demo': 'BOXOFFICE_DEMO', '--admin-token-file': 'BOXOFFICE_ADMIN_TOKEN_FILE',
            '--payment': 'BOXOFFICE_PAYMENT', '--payment-secret-key-file': 'BOXOFFICE_PAYMENT_SECRET_KEY_FILE',
            '--payment-webhook-secret-file': 'BOXOFFICE_PAYMENT_WEBHOOK_SECRET_FILE',
            '--web-root': 'BOXOFFICE_WEB_ROOT', '--tls-cert': 'BOXOFFICE_TLS_CERT', '--tls-key': 'BOXOFFICE_TLS_KEY',
            '--limits': 'BOXOFFICE_LIMITS',
        };
        for (const [flag, variable] of Object.entries(options)) {
            const at = stdout.indexOf(`  ${flag} `);
            assert.ok(at >= 0, `${flag} in --help`);
            const entry = stdout.slice(at, stdout.indexOf('\n  --', at + 1));
            assert.ok(entry.includes(`[${variable}`), `${flag}: ${variable} in ${JSON.stringify(entry)}`);
        }
        assert.match(stdout, /default 127\.0\.0\.1:8080/);
        assert.match(stdout, /default sqlite:\.\/boxoffice\.db/);
    });

    it('boxoffice-paysim --help lists its options', async () => {
        const { code, stdout } = await run(PAYSIM, ['--help']);
        assert.equal(code, 0);
        for (const flag of ['--listen', '--secret-key-file', '--webhook-url', '--webhook-secret-file', '--latency-ms',
            '--fail-rate', '--duplicate-webhooks', '--reorder-webhooks'])
            assert.ok(stdout.includes(`  ${flag} `), `${flag} in --help`);
        assert.match(stdout, /default 127\.0\.0\.1:8081/);
    });

    it('a server configured by variables alone; its token file is created 0600; SIGTERM exits 0', async () => {
        const tokenFile = join(dir, 'env.token');
        const env = {
            BOXOFFICE_LISTEN: '127.0.0.1:0',
            BOXOFFICE_DB: `sqlite:${join(dir, 'env.db')}`,
            BOXOFFICE_ADMIN_TOKEN_FILE: tokenFile,
            BOXOFFICE_THREADS: '1',
            BOXOFFICE_ACCESS_LOG: 'off',
            BOXOFFICE_WEB_ROOT: 'off',
        };
        let child;
        const { url } = await startListening(BIN, ['serve'], {
            cwd: dir, env, logPath: join(dir, 'env.log'), pattern: /listening on (https?:\/\/\S+)/,
            what: 'server', timeoutMs: 30000, onSpawn: (c) => (child = c),
        });
        try {
            assert.ok(existsSync(join(dir, 'env.db')), 'the database where BOXOFFICE_DB says');
            assert.equal(statSync(join(dir, 'env.db')).mode & 0o777, 0o600, 'a new database is private');
            assert.equal(statSync(tokenFile).mode & 0o777, 0o600);
            const token = readFileSync(tokenFile, 'utf8').trim();
            assert.match(token, /^[0-9a-f]{64}$/);
            assert.equal((await fetch(`${url}/healthz`)).status, 200);
            const venue = (auth) => fetch(`${url}/api/v1/venues`, {
                method: 'POST', body: '{}', headers: { 'content-type': 'application/json', ...(auth ? { authorization: `Bearer ${auth}` } : {}) },
            });
            assert.equal((await venue(null)).status, 401);
            assert.equal((await venue(token)).status, 400, 'the token from the file is the admin token');
        } finally {
            assert.deepEqual(await stopChild(child, 15000, 'server'), { code: 0, signal: null });
        }
    });

    it('a flag wins over its variable', async () => {
        let child;
        await startListening(BIN, ['serve', '--listen', '127.0.0.1:0', '--db', `sqlite:${join(dir, 'flag.db')}`,
            '--admin-token-file', join(dir, 'flag.token'), '--access-log', 'off'], {
            cwd: dir,
            env: { BOXOFFICE_DB: `sqlite:${join(dir, 'no-such-dir', 'env.db')}`, BOXOFFICE_THREADS: '1' },
            logPath: join(dir, 'flag.log'), pattern: /listening on (https?:\/\/\S+)/, what: 'server', timeoutMs: 30000,
            onSpawn: (c) => (child = c),
        });
        assert.ok(existsSync(join(dir, 'flag.db')));
        assert.deepEqual(await stopChild(child, 15000, 'server'), { code: 0, signal: null });
    });

    it('bad values are refused before anything starts, each with a message naming it', async () => {
        const base = ['serve', '--admin-token-file', join(dir, 'bad.token'), '--listen', '127.0.0.1:0'];
        const cases = [
            [['--threads', '0'], 2, /--threads/],
            [['--threads', 'many'], 2, /--threads/],
            [['--max-body', '-5'], 2, /--max-body/],
            [['--bogus'], 2, /unrecognized option '--bogus'/],
            [['--listen', 'nonsense'], 1, /bad listen address 'nonsense'/],
            [['--db', 'mysql:x'], 2, /--db takes sqlite:PATH/],
            [['--db', 'postgresql://127.0.0.1:1/boxoffice'], 2,
                /cannot open the store postgresql:\/\/127\.0\.0\.1:1\/boxoffice: cannot connect: /],
            [['--db', 'postgresql://bo:s3cret@127.0.0.1:1/boxoffice'], 2,
                /cannot open the store postgresql:\/\/\*\*\*@127\.0\.0\.1:1\/boxoffice: cannot connect: /], // no password shown
            [['--db', `sqlite:${join(dir, 'no-such-dir', 'x.db')}`], 2,
                /cannot open the store sqlite:\S+no-such-dir\/x\.db: it does not exist and its directory \S+no-such-dir does not either/],
            [['--tls-cert', join(dir, 'missing.pem')], 1, /--tls-cert and --tls-key go together/],
            [['--trusted-proxy', '10.0.0.0/33'], 2, /--trusted-proxy: '10\.0\.0\.0\/33' is not a network/],
            [['--trusted-proxy', '127.0.0.1,proxy.example'], 2, /--trusted-proxy: 'proxy\.example' is not a network/],
            [['--trusted-proxy', ' , '], 2, /--trusted-proxy: no network given/],
            [['--max-connections', '0'], 2, /--max-connections takes 1\.\.1000000/],
            [['--max-connections', '1000001'], 2, /--max-connections takes 1\.\.1000000/],
            [['--max-connections', 'many'], 2, /--max-connections takes 1\.\.1000000/],
            [['--limits', 'holds_per_hour=3'], 2, /--limits: 'holds_per_hour=3' is not name=value with a name among holds_per_min, /],
            [['--limits', 'seats_per_address'], 2, /--limits: 'seats_per_address' is not name=value/],
            [['--limits', 'seats_per_address=-1'], 2, /--limits: seats_per_address must be a whole number from 0 \(no limit\) to 1000000/],
            [['--limits', 'holds_per_min=1000001'], 2, /--limits: holds_per_min must be a whole number/],
            [['--limits', 'holds_per_min=5,,checkouts_per_min=2'], 2, /--limits: '' is not name=value/],
            [['--limits', 'holds_per_min=1e3'], 2, /--limits: holds_per_min must be a whole number/],
            [['--limits', ''], 2, /--limits: expected off or name=value/],
            [['--limits', 'OFF'], 2, /--limits: 'OFF' is not name=value/],
            [['--card-attempts-per-minute', 'ten'], 2, /--card-attempts-per-minute takes a number/],
        ];
        for (const [args, code, message] of cases) {
            const res = await run(BIN, [...base, '--db', `sqlite:${join(dir, 'bad.db')}`, ...args]);
            assert.equal(res.code, code, `${args.join(' ')}: exit ${res.code}\n${res.stderr}`);
            assert.match(res.stderr, message, args.join(' '));
            assert.doesNotMatch(res.stdout + res.stderr, /listening on/, `${args.join(' ')} must not start`);
        }
    });

    it('BOXOFFICE_LIMITS is read like --limits, and a bad value is refused the same way', async () => {
        const res = await run(BIN, ['serve', '--admin-token-file', join(dir, 'bad.token'), '--listen', '127.0.0.1:0',
            '--db', `sqlite:${join(dir, 'bad.db')}`], { BOXOFFICE_LIMITS: 'seats_per_address=many' });
        assert.equal(res.code, 2, res.stderr);
        assert.match(res.stderr, /--limits: seats_per_address must be a whole number/);
        const help = await run(BIN, ['serve', '--help']);
        for (const name of ['holds_per_min=30', 'checkouts_per_min=10', 'card_attempts_per_min=10',
            'queue_joins_per_min=4', 'seats_per_address=50', 'holds_per_address=20'])
            assert.ok(help.stdout.includes(name), `--help names ${name} with its default`);
    });

    /** `serve` on db (a path), to its exit: {code, stdout, stderr}. One
     * that starts instead of refusing is killed after 20 s (a failure). */
    async function serveOnce(db, env = {}, args = []) {
        const res = await run(BIN, ['serve', '--listen', '127.0.0.1:0', '--db', `sqlite:${db}`,
            '--access-log', 'off', '--web-root', 'off', '--threads', '1', ...args],
        { BOXOFFICE_ADMIN_TOKEN_FILE: join(dir, 'once.token'), ...env });
        return res;
    }

    /** A line of stderr, exactly. */
    function assertLine(stderr, line, what) {
        assert.ok(stderr.split('\n').includes(line), `${what}: want the line\n  ${line}\nin\n${stderr}`);
    }

    it('a store file that is not a store this server may write: a line naming it and the problem, exit 2', async () => {
        // A real store, stopped cleanly (no WAL left), to cut and to lock.
        const real = join(dir, 'real.db');
        let child;
        const { url } = await startListening(BIN, ['serve', '--listen', '127.0.0.1:0', '--db', `sqlite:${real}`,
            '--admin-token-file', join(dir, 'real.token'), '--access-log', 'off', '--demo', '--threads', '1'], {
            cwd: dir, env: {}, logPath: join(dir, 'real.log'), pattern: /listening on (https?:\/\/\S+)/,
            what: 'server', timeoutMs: 30000, onSpawn: (c) => (child = c),
        });
        assert.equal((await fetch(`${url}/api/v1/events`)).status, 200);
        assert.deepEqual(await stopChild(child, 15000, 'server'), { code: 0, signal: null });
        assert.equal(existsSync(`${real}-wal`), false, 'a clean stop leaves no WAL');
        const size = statSync(real).size;

        const file = (name, make) => {
            const p = join(dir, name);
            make(p);
            return p;
        };
        const cases = [
            [file('empty.db', (p) => writeFileSync(p, '')),
                'it is empty (0 bytes), not a boxoffice store (a new store is created only where no file exists: remove it to start one)'],
            [file('text.db', (p) => writeFileSync(p, 'name,email\nAda,ada@example.com\n')),
                'it is not an SQLite database, so not a boxoffice store'],
            [file('half.db', (p) => { copyFileSync(real, p); truncateSync(p, Math.floor(size / 2)); }),
                `it is truncated: ${Math.floor(size / 2)} bytes where its header says ${size} (restore it from a backup)`],
            // root may write any file: a mode without the owner's write bit is refused as read-only
            [file('ro.db', (p) => { copyFileSync(real, p); chmodSync(p, 0o400); }),
                'it is read-only (mode 0400): the store is written to; chmod u+w it'],
            [file('dir.db', (p) => mkdirSync(p)), 'it is a directory, not a database file'],
        ];
        const other = join(dir, 'other.db');
        await sqliteQuery(other, 'CREATE TABLE contacts(name TEXT, email TEXT)');
        cases.push([other, 'it is an SQLite database but not a boxoffice store (other tables, no boxoffice schema version)']);
        for (const [db, problem] of cases) {
            const before = statSync(db);
            const res = await serveOnce(db);
            assert.equal(res.code, 2, `${db}: exit ${res.code}\n${res.stderr}`);
            assertLine(res.stderr, `boxoffice serve: cannot open the store sqlite:${db}: ${problem}`, db);
            assert.doesNotMatch(res.stderr, /listening on|retry later/, db);
            const after = statSync(db);
            assert.deepEqual([after.size, after.mode, after.mtimeMs], [before.size, before.mode, before.mtimeMs], `${db} left as it was`);
        }
        // the real store itself still starts, and a path where nothing is yet becomes a new store (0600)
        for (const db of [real, join(dir, 'brand-new.db')]) {
            let c;
            await startListening(BIN, ['serve', '--listen', '127.0.0.1:0', '--db', `sqlite:${db}`,
                '--admin-token-file', join(dir, 'real.token'), '--access-log', 'off', '--threads', '1'], {
                cwd: dir, env: {}, logPath: join(dir, 'real.log'), pattern: /listening on (https?:\/\/\S+)/,
                what: 'server', timeoutMs: 30000, onSpawn: (x) => (c = x),
            });
            assert.deepEqual(await stopChild(c, 15000, 'server'), { code: 0, signal: null });
        }
        assert.equal(statSync(join(dir, 'brand-new.db')).mode & 0o777, 0o600);
    });

    it('a store with orders but no ticket signing key refuses to start (exit 2); without orders it gets a new key', async () => {
        const shop = await startShop({ server: { threads: 1 } });
        const db = join(dir, 'keyless.db');
        try {
            const ev = await setupEvent(shop.srv, { sections: 1, rows: 2, seats: 5, ga: 0, categories: 1 });
            const h = await hold(shop.srv, ev.event.id, { seats: [ev.seats[0]] });
            assert.equal(h.status, 201, h.text);
            const c = await checkout(shop.srv, h.body.hold.id);
            assert.equal(c.status, 201, c.text);
            const paid = await confirm(shop.srv, c.body.order, 'pm_card_visa');
            assert.equal(paid.status, 200, paid.text);
            assert.equal(paid.body.order.status, 'paid');
            assert.deepEqual(await shop.srv.stop(), { code: 0, signal: null });
            copyFileSync(shop.srv.dbPath, db);
        } finally {
            await shop.srv.cleanup();
            await shop.sim.stop();
            await shop.sim.cleanup();
        }
        assert.deepEqual(await sqliteQuery(db, "SELECT id FROM docs WHERE coll = 'key'"), [{ id: 'tickets-ed25519' }]);
        await sqliteQuery(db, "DELETE FROM docs WHERE coll = 'key'");
        const res = await serveOnce(db);
        assert.equal(res.code, 2, res.stderr);
        assertLine(res.stderr, 'boxoffice: the store holds 1 order but no ticket signing key (document key/tickets-ed25519): '
            + 'refusing to start with a new key, which would turn away every ticket sold at the gate; restore the key or '
            + 'the database from a backup', 'keyless');
        assert.doesNotMatch(res.stderr, /listening on/);
        assert.deepEqual(await sqliteQuery(db, "SELECT count(*) AS n FROM docs WHERE coll = 'key'"), [{ n: 0 }], 'no new key was stored');

        // No order: the key is made (again) and kept.
        await sqliteQuery(db, "DELETE FROM docs WHERE coll = 'order'");
        let child;
        await startListening(BIN, ['serve', '--listen', '127.0.0.1:0', '--db', `sqlite:${db}`,
            '--admin-token-file', join(dir, 'once.token'), '--access-log', 'off', '--threads', '1'], {
            cwd: dir, env: {}, logPath: join(dir, 'keyless.log'), pattern: /listening on (https?:\/\/\S+)/,
            what: 'server', timeoutMs: 30000, onSpawn: (x) => (child = x),
        });
        assert.deepEqual(await stopChild(child, 15000, 'server'), { code: 0, signal: null });
        assert.deepEqual(await sqliteQuery(db, "SELECT id FROM docs WHERE coll = 'key'"), [{ id: 'tickets-ed25519' }]);
    });

    it('BOXOFFICE_ADMIN_TOKEN needs 16 printable characters, like the token file (exit 2)', async () => {
        const cases = [
            ['x', 'it has 1 characters'],
            ['0123456789abcde', 'it has 15 characters'],
            ['0123456789 abcdef', 'it has 17 characters, not all printable'],
        ];
        for (const [token, tail] of cases) {
            const res = await serveOnce(join(dir, 'token.db'), { BOXOFFICE_ADMIN_TOKEN: token });
            assert.equal(res.code, 2, `${JSON.stringify(token)}: exit ${res.code}\n${res.stderr}`);
            assertLine(res.stderr, 'boxoffice: BOXOFFICE_ADMIN_TOKEN must hold one token of at least 16 printable '
                + `characters (no blanks); ${tail}`, token);
            assert.doesNotMatch(res.stderr, /listening on/);
        }
        const token = '0123456789abcdef';
        let child;
        const { url } = await startListening(BIN, ['serve', '--listen', '127.0.0.1:0', '--db', `sqlite:${join(dir, 'token.db')}`,
            '--access-log', 'off', '--threads', '1'], {
            cwd: dir, env: { BOXOFFICE_ADMIN_TOKEN: token }, logPath: join(dir, 'token.log'),
            pattern: /listening on (https?:\/\/\S+)/, what: 'server', timeoutMs: 30000, onSpawn: (x) => (child = x),
        });
        try {
            const res = await fetch(`${url}/api/v1/venues`, {
                method: 'POST', body: '{}', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
            });
            assert.equal(res.status, 400, 'a 16-character token is the admin token');
        } finally {
            assert.deepEqual(await stopChild(child, 15000, 'server'), { code: 0, signal: null });
        }
    });
});
