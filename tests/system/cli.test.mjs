// cli.test.mjs - the command lines of DESIGN.md's "Binaries" table: every
// option listed by --help with its BOXOFFICE_ variable, a server configured
// by variables alone (its admin token file and database created mode 0600), a flag
// winning over its variable, and bad values refused before anything starts,
// each with a message that names the problem.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { after, describe, it } from 'node:test';
import { BIN, tempDir } from './lib/server.mjs';
import { startListening, stopChild } from './lib/proc.mjs';

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
            [['--db', 'mysql:x'], 1, /--db takes sqlite:PATH/],
            [['--db', 'postgresql://localhost/boxoffice'], 1, /no PostgreSQL store/],
            [['--db', `sqlite:${join(dir, 'no-such-dir', 'x.db')}`], 1, /cannot open the store/],
            [['--tls-cert', join(dir, 'missing.pem')], 1, /--tls-cert and --tls-key go together/],
        ];
        for (const [args, code, message] of cases) {
            const res = await run(BIN, [...base, '--db', `sqlite:${join(dir, 'bad.db')}`, ...args]);
            assert.equal(res.code, code, `${args.join(' ')}: exit ${res.code}\n${res.stderr}`);
            assert.match(res.stderr, message, args.join(' '));
            assert.doesNotMatch(res.stdout + res.stderr, /listening on/, `${args.join(' ')} must not start`);
        }
    });
});
