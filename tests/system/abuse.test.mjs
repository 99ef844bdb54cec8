// abuse.test.mjs - issue 11, "Safe in front of strangers": each attack on
// a running server, reproduced, with the outcome it must have now. One
// describe block per part of the issue, each self-contained.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as startupLog from './lib/startup_log.mjs';

// The access log was 0644 and held hold ids (the capability to cancel a
// hold, and with it an order's seats) in clear; order secrets must not get
// in either (tests/build/fresh_machine.sh proves the build part, and
// cli.test.mjs the startup refusals, each with its message and exit 2).
describe('startup, build and log', () => {
    it('a buyer\'s hold id and order secret appear nowhere in the access log, which is 0600', async () => {
        const { lines, text, mode, hold, order, tag } = await startupLog.buyAndReadLog();
        assert.equal(mode, 0o600, `access log mode ${mode.toString(8)}`);
        const holdKey = hold.slice('hold_'.length + 16); // the random part: the capability
        for (const secret of [hold, holdKey, order.secret, encodeURIComponent(order.secret)])
            assert.equal(text.includes(secret), false, `${secret} in the access log:\n${text}`);
        // the requests are there, the capabilities replaced (a tag links a hold's lines)
        assert.match(tag, new RegExp(`^${hold.slice(0, 'hold_'.length + 16)}~[0-9a-f]{8}$`), 'the event, then a tag');
        const paths = lines.map((l) => `${l.method} ${l.path} ${l.status}`);
        const want = [
            `GET /api/v1/holds/${tag} 200`,
            `POST /api/v1/holds/${tag}/checkout 201`,
            `POST /api/v1/orders/${order.id}/confirm 200`,
            `GET /api/v1/orders/${order.id}?secret=[redacted] 200`,
            `GET /api/v1/orders/${order.id}/tickets/${order.tickets[0].id}/qr.svg?secret=[redacted] 200`,
        ];
        for (const w of want) assert.ok(paths.includes(w), `want "${w}" in\n${paths.join('\n')}`);
        assert.ok(paths.some((p) => /^DELETE \/api\/v1\/holds\/hold_[0-9a-f]{16}~[0-9a-f]{8} 204$/.test(p)),
            `a released hold's line, redacted:\n${paths.join('\n')}`);
    });

    it('an access log that exists with a wider mode is narrowed to 0600, with a warning', async () => {
        const { before, after, warning } = await startupLog.startOnWideLog(0o644);
        assert.equal(before, 0o644);
        assert.equal(after, 0o600);
        assert.match(warning, /^boxoffice: the access log \S+access\.log was mode 0644: now 0600$/m);
    });
});
