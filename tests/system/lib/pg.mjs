// pg.mjs - a private PostgreSQL for a test file or a benchmark
// (scripts/pg-cluster: initdb in a fresh directory under /tmp, a free
// loopback port, run as the `postgres` user, stopped by its PID).
//
//   const pg = await startPg();   // {url, dir, stop()}
//   ... --db pg.url ...
//   await pg.stop();              // stops it and removes its directory
//
// The directory is made by this process under /tmp (world-traversable), not
// under a private temp dir, so that the postgres user can reach it.

import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { ROOT } from './server.mjs';

const execFileP = promisify(execFile);
const SCRIPT = join(ROOT, 'scripts/pg-cluster');

/** Start a cluster; resolves to {url, dir, stop()}. */
export async function startPg() {
    const dir = `/tmp/boxoffice-pg-${randomBytes(6).toString('hex')}`;
    const { stdout } = await execFileP(SCRIPT, ['start', dir]);
    const url = stdout.trim();
    return {
        url,
        dir,
        /** Stop it (fast shutdown, by its PID) without removing its data. */
        async halt() {
            await execFileP(SCRIPT, ['stop', dir]);
        },
        /** Start it again on the same port and data (after halt()). */
        async resume() {
            await execFileP(SCRIPT, ['resume', dir]);
        },
        async stop() {
            await execFileP(SCRIPT, ['stop', dir]);
            if (!process.env.BOXOFFICE_KEEP_TMP) rmSync(dir, { recursive: true, force: true });
        },
    };
}
