// procstat.mjs - what the benchmarks read of /proc: CPU seconds a process
// has used (user + system, all its threads) and the machine's CPU ticks
// (busy and idle, every user of the machine included).

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

/** CPU seconds (user + system) used so far by pid. */
export function procCpuS(pid) {
    // fields after the ")" of comm: state is field 3, utime 14, stime 15
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / CLK_TCK;
}

/** The machine's CPU ticks since boot: {total, idle}. */
export function machineTicks() {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const idle = f[3] + f[4];
    return { total: f.reduce((a, b) => a + b, 0), idle };
}
