// knobs.mjs - the benchmarks' knobs: positive numbers read from
// environment variables (BOXOFFICE_BENCH_...), a default when unset.

/** The positive number in process.env[name], or dflt when unset or empty;
 * throws on anything else. */
export function num(name, dflt) {
    const v = process.env[name];
    if (v === undefined || v === '') return dflt;
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`${name}=${v}: a positive number, please`);
    return n;
}
