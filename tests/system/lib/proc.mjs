// proc.mjs - the processes the tests start (boxoffice serve, paysim):
// spawned with their output copied to a log, ready once they print their
// "listening on URL" line, stopped by PID (SIGTERM, then SIGKILL), and
// killed by PID when the test process exits, so a failed test never leaves
// one behind.

import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';

const live = new Set(); // started here and not yet exited
function killAll() {
    for (const child of live) {
        try {
            process.kill(child.pid, 'SIGKILL');
        } catch {
            /* already gone */
        }
    }
}
process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM']) {
    process.on(sig, () => {
        killAll();
        process.exit(130);
    });
}

/**
 * Spawn bin with args (opts: cwd, env (added to ours), logPath, header (a
 * first log line), pattern (a RegExp whose group 1 is the URL), what (a
 * name for messages), timeoutMs, tail (an array that keeps the last output
 * lines), onSpawn (called with the child at once)). Resolves to {child, url} once a line matches pattern; child.exited
 * resolves to {code, signal}. Rejects when the process exits or stays
 * silent first.
 */
export async function startListening(bin, args, opts) {
    const child = spawn(bin, args, {
        cwd: opts.cwd,
        env: { ...process.env, ...(opts.env || {}) },
        stdio: ['ignore', 'pipe', 'pipe'],
    });
    live.add(child);
    if (opts.onSpawn) opts.onSpawn(child);
    const log = createWriteStream(opts.logPath, { flags: 'a' });
    if (opts.header) log.write(opts.header + '\n');
    child.exited = new Promise((res) => {
        child.on('exit', (code, signal) => {
            live.delete(child);
            res({ code, signal });
        });
    });
    child.exited.then(() => log.end());
    const tail = opts.tail || [];
    const last = () => `last lines of ${opts.logPath}:\n` + tail.slice(-30).join('\n');
    let out = '';
    const url = await new Promise((res, rej) => {
        const timer = setTimeout(
            () => rej(new Error(`${opts.what} printed no "listening on" line within ${opts.timeoutMs} ms\n${last()}`)),
            opts.timeoutMs,
        );
        const onData = (chunk) => {
            log.write(chunk);
            out += chunk.toString('utf8');
            const lines = out.split('\n');
            out = lines.pop();
            for (const line of lines) {
                tail.push(line);
                if (tail.length > 200) tail.shift();
                const m = opts.pattern.exec(line);
                if (m) {
                    clearTimeout(timer);
                    res(m[1]);
                }
            }
        };
        child.stdout.on('data', onData);
        child.stderr.on('data', onData);
        child.on('error', (e) => {
            clearTimeout(timer);
            rej(e);
        });
        child.exited.then(({ code, signal }) => {
            clearTimeout(timer);
            rej(new Error(`${opts.what} exited (code ${code}, signal ${signal}) before listening\n${last()}`));
        });
    });
    return { child, url: url.replace(/\/+$/, '') };
}

function running(child) {
    return child && child.exitCode === null && child.signalCode === null;
}

/** SIGTERM by PID; resolves to {code, signal} once it exited (null when
 * there is no child). After ms, SIGKILL and throw. */
export async function stopChild(child, ms, what) {
    if (!running(child)) return child ? await child.exited : null;
    process.kill(child.pid, 'SIGTERM');
    let timer;
    const late = new Promise((res) => {
        timer = setTimeout(() => res(null), ms);
    });
    const r = await Promise.race([child.exited, late]);
    clearTimeout(timer);
    if (r === null) {
        process.kill(child.pid, 'SIGKILL');
        await child.exited;
        throw new Error(`${what} ${child.pid} did not exit within ${ms} ms of SIGTERM; killed`);
    }
    return r;
}

/** SIGKILL by PID (a crash); resolves once it is gone. */
export async function killChild(child) {
    if (!running(child)) return;
    process.kill(child.pid, 'SIGKILL');
    await child.exited;
}
