// metrics.test.mjs - /metrics as Prometheus reads it, and the Grafana
// dashboard that reads it (issue 14). A server paying through paysim gets
// a little of every kind of traffic (holds made and refused, a checkout
// paid, a card declined, an SSE stream, a 404), so that every metric
// family has samples; its /metrics then goes through `promtool check
// metrics` (Debian's prometheus package, installed by scripts/install-deps),
// and any problem promtool reports fails the test. docs/grafana/onsale.json
// must parse as a Grafana 9+ dashboard with a Prometheus data source
// variable, and every metric name its queries use must be one the running
// server exposes, or one of the names the limits and waiting-room parts of
// issue 14 promised (CONTRACT below); once a server exposes any metric of
// such a part, every name of that part must be exposed, so a renamed
// metric fails here.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { assertStatus, setupEvent } from './lib/api.mjs';
import { ROOT } from './lib/server.mjs';
import { checkout, confirm, hold, startShop } from './lib/shop.mjs';

const GEN = { sections: 1, rows: 2, seats: 6, ga: 1, ga_capacity: 20 };
// Promised by issue 14's other parts (their contracts), by prefix.
const CONTRACT = {
    boxoffice_limit_: ['boxoffice_limit_rejections_total'],
    boxoffice_queue_: [
        'boxoffice_queue_joins_total', 'boxoffice_queue_admitted_total', 'boxoffice_queue_skipped_total',
        'boxoffice_queue_waiting', 'boxoffice_queue_active', 'boxoffice_queue_rejected_total',
    ],
};

let shop, srv, text;

/** Run promtool with input on stdin: {code, out}. */
function promtool(args, input) {
    return new Promise((resolve, reject) => {
        const p = spawn('promtool', args, { stdio: ['pipe', 'pipe', 'pipe'] });
        let out = '';
        p.stdout.on('data', (d) => (out += d));
        p.stderr.on('data', (d) => (out += d));
        p.on('error', (e) => reject(new Error(`promtool: ${e.message} (scripts/install-deps installs Debian's prometheus package)`)));
        p.on('close', (code) => resolve({ code, out }));
        p.stdin.end(input);
    });
}

/** Families of an exposition: name -> {type, samples}. */
function families(exposition) {
    const fams = new Map();
    for (const line of exposition.split('\n')) {
        const t = /^# TYPE (\S+) (\S+)$/.exec(line);
        if (t) fams.set(t[1], { type: t[2], samples: 0 });
        if (!line || line.startsWith('#')) continue;
        const name = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)[0];
        const fam = fams.get(name) || fams.get(name.replace(/_(bucket|sum|count)$/, ''));
        assert.ok(fam, `${name}: a sample without a # TYPE line`);
        fam.samples++;
    }
    return fams;
}

/** Open an SSE stream and keep it until the test ends. */
function openStream(port, eventId) {
    return new Promise((resolve, reject) => {
        const s = connect(port, '127.0.0.1', () =>
            s.write(`GET /api/v1/events/${eventId}/availability/stream HTTP/1.1\r\nHost: x\r\n\r\n`));
        s.once('data', (d) => (String(d).startsWith('HTTP/1.1 200') ? resolve(s) : reject(new Error(String(d)))));
        s.on('error', reject);
    });
}

before(async () => {
    shop = await startShop();
    srv = shop.srv;
    const e = await setupEvent(srv, GEN);
    const stream = await openStream(srv.port, e.event.id);
    try {
        const paid = await hold(srv, e.event.id, { seats: e.seats.slice(0, 2) });
        assertStatus(paid, 201, 'hold');
        assert.equal((await hold(srv, e.event.id, { seats: e.seats.slice(1, 3) })).status, 409, 'a seat taken');
        const c = await checkout(srv, paid.body.hold.id, undefined, { intent: true });
        assertStatus(c, 201, 'checkout');
        assertStatus(await confirm(srv, c.body.order, 'pm_card_visa'), 200, 'paid');
        const declined = await hold(srv, e.event.id, { ga: { area: e.map.ga_areas[0].id, quantity: 2 } });
        assertStatus(declined, 201, 'GA hold');
        const c2 = await checkout(srv, declined.body.hold.id, undefined, { intent: true });
        assertStatus(c2, 201, 'checkout');
        assert.equal((await confirm(srv, c2.body.order, 'pm_card_chargeDeclined')).status, 402, 'declined');
        assert.equal((await srv.get('/api/v1/no-such-thing')).status, 404);
        text = (await srv.get('/metrics')).text;
    } finally {
        stream.destroy();
    }
});
after(async () => {
    if (shop) assert.deepEqual(await shop.stop(), { code: 0, signal: null }, 'graceful exit');
});

describe('metrics', () => {
    it('every metric family has samples, and promtool check metrics finds no problem', async () => {
        const fams = families(text);
        const empty = [...fams].filter(([, f]) => f.samples === 0).map(([n]) => n);
        assert.deepEqual(empty, [], 'families without a sample: drive traffic that makes them');
        assert.ok(fams.size >= 20, `${fams.size} families`);
        const { code, out } = await promtool(['check', 'metrics'], text);
        assert.equal(out.trim(), '', `promtool check metrics reports:\n${out}`);
        assert.equal(code, 0, out);
    });

    it('promtool reports a broken exposition (the check can fail)', async () => {
        const broken = text + '# TYPE boxoffice_broken counter\nboxoffice_broken 1\n';
        const { code, out } = await promtool(['check', 'metrics'], broken);
        assert.notEqual(code, 0, 'a counter without _total');
        assert.match(out, /boxoffice_broken/);
    });

    it('docs/grafana/onsale.json: a Grafana 9+ dashboard whose every metric is exposed or promised', () => {
        const dash = JSON.parse(readFileSync(join(ROOT, 'docs/grafana/onsale.json'), 'utf8'));
        assert.ok(dash.schemaVersion >= 36, `schemaVersion ${dash.schemaVersion}: Grafana 9 or later`);
        const ds = dash.templating.list.find((v) => v.type === 'datasource');
        assert.equal(ds && ds.query, 'prometheus', 'a Prometheus data source variable');
        const ids = new Set();
        const names = new Set();
        for (const p of dash.panels) {
            assert.ok(!ids.has(p.id), `panel id ${p.id} once`);
            ids.add(p.id);
            assert.ok(p.gridPos && p.title, `panel ${p.id}: a title and a place`);
            if (p.type === 'row') continue;
            assert.equal(p.datasource.uid, `\${${ds.name}}`, `${p.title}: the variable's data source`);
            assert.ok(p.targets.length > 0, `${p.title}: queries`);
            for (const t of p.targets) for (const m of t.expr.match(/\bboxoffice_[a-z0-9_]+/g) || []) names.add(m);
        }
        const fams = families(text);
        const exposed = (n) => fams.has(n) || (/_(bucket|sum|count)$/.test(n) && fams.get(n.replace(/_(bucket|sum|count)$/, ''))?.type === 'histogram');
        const promised = new Set(Object.values(CONTRACT).flat());
        for (const n of names) assert.ok(exposed(n) || promised.has(n), `${n}: neither on /metrics nor promised`);
        for (const [prefix, list] of Object.entries(CONTRACT)) {
            if (![...fams.keys()].some((n) => n.startsWith(prefix))) continue; // that part is not merged yet
            for (const n of list) assert.ok(fams.has(n), `${n}: promised, and its part is merged, but not on /metrics`);
        }
        for (const n of ['boxoffice_holds_total', 'boxoffice_store_commit_seconds_bucket', 'boxoffice_limit_rejections_total',
            'boxoffice_queue_waiting', 'boxoffice_http_request_duration_seconds_bucket']) {
            assert.ok(names.has(n), `the dashboard shows ${n}`);
        }
    });
});
