/**
 * @module hub-commands.test
 * push, publish, status, alerts and tasks against a real in-process hub, with `runCli` and captured output: what
 * they print, `--json`, hub errors as `vigil: <code>: <message>`, and the exit codes (1 rejected or unreachable,
 * 2 usage, 3 not found).
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { startTestHub, type TestHub, vigil } from '../testing/cli-fixture.js';

let h: TestHub;
let url: string;
const run = (...args: string[]) => vigil([...args, '--url', url]);

async function post(path: string, body: unknown, method = 'POST'): Promise<Record<string, unknown>> {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  assert.ok(res.ok, `${path}: ${res.status} ${await res.clone().text()}`);
  return (await res.json()) as Record<string, unknown>;
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as { port: number };
  await new Promise((r) => srv.close(r));
  return port;
}

before(async () => {
  h = await startTestHub();
  url = h.url;
});
after(() => h.stop());

describe('push', () => {
  test('an accepted sample exits 0 and is stored with its labels and ts', async () => {
    const r = await run('push', 'cli.temp', '21.5', '--label', 'room=lab', '-l', 'floor=2', '--ts', '1700000000000');
    assert.equal(r.code, 0, r.err());
    assert.equal(r.out(), 'accepted: cli.temp = 21.5\n');
    const current = await (await fetch(`${url}/api/v1/metrics/current?prefix=cli.temp`)).json();
    assert.deepEqual(current, {
      metrics: [{ metric: 'cli.temp', labels: { floor: '2', room: 'lab' }, ts: 1700000000000, value: 21.5 }],
    });
    const json = await run('push', 'cli.temp', '1', '--json');
    assert.deepEqual(JSON.parse(json.out()), { accepted: 1, rejected: 0, errors: [] });
  });

  test("a rejected sample exits 1 with the hub's reason", async () => {
    const r = await run('push', 'bad name', '1');
    assert.equal(r.code, 1);
    assert.equal(r.out(), 'rejected: bad name\n');
    assert.match(r.err(), /^vigil: bad_request: name: "bad name" contains an invalid character/);
    const ts = await run('push', 'cli.x', '1', '--ts', 'not-a-time');
    assert.equal(ts.code, 1);
    assert.match(ts.err(), /vigil: bad_request: ts:/);
  });

  test('bad arguments exit 2', async () => {
    for (const args of [
      ['push'],
      ['push', 'm'],
      ['push', 'm', 'abc'],
      ['push', 'm', '1', 'x'],
      ['push', 'm', '1', '--label', 'k'],
    ]) {
      const r = await run(...args);
      assert.equal(r.code, 2, args.join(' '));
      assert.match(r.err(), /^vigil push: .+\nRun 'vigil push --help'/);
    }
  });
});

describe('publish', () => {
  test('prints {channel, offset, epoch}', async () => {
    const r = await run('publish', 'demo.cli', '{"n":1}', '--kind', 'greeting');
    assert.equal(r.code, 0, r.err());
    const result = JSON.parse(r.out());
    assert.deepEqual(Object.keys(result).sort(), ['channel', 'epoch', 'offset']);
    assert.equal(result.channel, 'demo.cli');
    assert.equal(result.offset, 1);
    const history = (await (await fetch(`${url}/api/v1/channels/demo.cli/history`)).json()) as {
      events: { kind: string; data: unknown }[];
    };
    assert.deepEqual(
      history.events.map((e) => [e.kind, e.data]),
      [['greeting', { n: 1 }]],
    );
  });

  test('hub refusals exit 1 as vigil: <code>: <message>; bad JSON or channel exits 2', async () => {
    const forbidden = await run('publish', 'alerts', '1');
    assert.equal(forbidden.code, 1);
    assert.equal(forbidden.err(), "vigil: forbidden: Channel 'alerts' is written by the hub only\n");
    const kind = await run('publish', 'demo.cli', '1', '--kind', 'a b');
    assert.equal(kind.code, 1);
    assert.match(kind.err(), /^vigil: bad_request: body\/kind must match pattern/);
    assert.equal((await run('publish', 'demo.cli', '{oops')).code, 2);
    assert.equal((await run('publish', 'a.*', '1')).code, 2);
    assert.equal((await run('publish', 'demo.cli')).code, 2);
  });
});

describe('status', () => {
  test('an aligned table of the stats, and --json', async () => {
    const r = await run('status');
    assert.equal(r.code, 0, r.err());
    assert.match(r.out(), new RegExp(`^hub {15}${url.replace(/[.]/g, '\\.')}\n`));
    assert.match(r.out(), /\nnode {14}cli-test\n/);
    assert.match(r.out(), /\nevents published {2}\d+\n/);
    const json = JSON.parse((await run('status', '--json')).out());
    assert.equal(json.url, url);
    assert.equal(json.stats.node, 'cli-test');
    assert.deepEqual(json.host, [], 'the host collector is off in this hub');
  });
});

describe('alerts', () => {
  before(async () => {
    await post('/api/v1/alerts', { name: 'disk-full', severity: 'critical', labels: { host: 'db-1' } });
    await post('/api/v1/alerts', { name: 'disk-full', severity: 'critical', labels: { host: 'db-2' } });
    await post('/api/v1/alerts', { name: 'slow', severity: 'warning', labels: { host: 'web-1' } });
  });

  test('list shows the active alerts as a table; --json the objects', async () => {
    const r = await run('alerts');
    assert.equal(r.code, 0, r.err());
    const lines = r.out().trimEnd().split('\n');
    assert.match(lines[0]!, /^ID +STATUS +SEVERITY +RULE +VALUE +AGE +ACK$/);
    assert.equal(lines.length, 4);
    assert.ok(lines.some((l) => /firing +critical +disk-full\{host="db-1"\}/.test(l)));
    const colored = await vigil(['alerts', 'list', '--url', url, '--color']);
    assert.ok(colored.out().includes('\x1b[31m'), 'critical rows are red');
    assert.ok(colored.out().includes('\x1b[33m'), 'warning rows are yellow');
    const json = JSON.parse((await run('alerts', '--json', '--rule', 'slow')).out());
    assert.deepEqual(
      json.alerts.map((a: { rule: string; status: string }) => [a.rule, a.status]),
      [['slow', 'firing']],
    );
  });

  test('ack <id> acknowledges one alert; an unknown id exits 3', async () => {
    const { alerts } = JSON.parse((await run('alerts', '--json', '--rule', 'slow')).out());
    const id = alerts[0].id as string;
    const r = await run('alerts', 'ack', id, '--comment', 'looking');
    assert.equal(r.code, 0, r.err());
    assert.equal(r.out(), `acknowledged ${id} slow{host="web-1"} (firing, by tester)\n`);
    const one = (await (await fetch(`${url}/api/v1/alerts/${id}`)).json()) as Record<string, unknown>;
    assert.deepEqual([one.acknowledged_by, one.ack_comment], ['tester', 'looking']);
    const unknown = await run('alerts', 'ack', 'nope');
    assert.equal(unknown.code, 3);
    assert.equal(unknown.err(), "vigil: not_found: No alert 'nope'\n");
  });

  test('ack --rule acknowledges every active alert of the rule; none exits 3', async () => {
    const r = await run('alerts', 'ack', '--rule', 'disk-full', '--by', 'ops', '--json');
    assert.equal(r.code, 0, r.err());
    const { alerts } = JSON.parse(r.out());
    assert.equal(alerts.length, 2);
    assert.ok(alerts.every((a: { acknowledged_by: string }) => a.acknowledged_by === 'ops'));
    const none = await run('alerts', 'ack', '--rule', 'no-such-rule');
    assert.equal(none.code, 3);
    assert.equal(none.err(), "vigil: not_found: No active alert for rule 'no-such-rule'\n");
  });

  test('usage errors exit 2', async () => {
    for (const args of [
      ['alerts', 'ack'],
      ['alerts', 'ack', 'x', '--rule', 'r'],
      ['alerts', 'ack', 'x', '--state', 'firing'],
      ['alerts', '--state', 'burning'],
      ['alerts', '--limit', '0'],
      ['alerts', 'list', '--by', 'me'],
      ['alerts', 'mute'],
    ]) {
      assert.equal((await run(...args)).code, 2, args.join(' '));
    }
  });
});

describe('tasks', () => {
  let id: string;
  before(async () => {
    id = (await post('/api/v1/tasks', { name: 'reindex', total: 200 })).id as string;
    await post(`/api/v1/tasks/${id}`, { processed: 50 }, 'PATCH');
    const done = (await post('/api/v1/tasks', { name: 'backup' })).id as string;
    await post(`/api/v1/tasks/${done}`, { status: 'succeeded' }, 'PATCH');
  });

  test('list has a progress bar column and an ETA; --status filters', async () => {
    const r = await run('tasks');
    assert.equal(r.code, 0, r.err());
    const lines = r.out().trimEnd().split('\n');
    assert.match(lines[0]!, /^ID +NAME +STATUS +PROGRESS +DONE +ERRORS +ETA$/);
    const row = lines.find((l) => l.includes('reindex'))!;
    assert.match(row, /running +\[#####-{15}\] {2}25% +50\/200 +0 +\S+$/);
    assert.match(lines.find((l) => l.includes('backup'))!, /succeeded +\[#{20}\] 100% +/);
    const running = JSON.parse((await run('tasks', 'list', '--status', 'running', '--json')).out());
    assert.deepEqual(
      running.tasks.map((t: { name: string }) => t.name),
      ['reindex'],
    );
    assert.equal((await run('tasks', '--status', 'sleeping')).code, 2);
  });

  test('show prints one task; an unknown id exits 3', async () => {
    const r = await run('tasks', 'show', id);
    assert.equal(r.code, 0, r.err());
    assert.match(
      r.out(),
      /^id +\S+\nname +reindex\nstatus +running\nprogress +\[#####-+\] {2}25%\nprocessed +50 of 200\n/,
    );
    assert.equal(JSON.parse((await run('tasks', 'show', id, '--json')).out()).processed, 50);
    const unknown = await run('tasks', 'show', 'nope');
    assert.equal(unknown.code, 3);
    assert.equal(unknown.err(), "vigil: not_found: No task 'nope'\n");
    assert.equal((await run('tasks', 'show')).code, 2);
  });
});

describe('errors', () => {
  test('an unreachable hub exits 1 with a clear message', async () => {
    const port = await closedPort();
    for (const args of [['status'], ['push', 'm', '1'], ['alerts'], ['tasks'], ['publish', 'a.b', '1']]) {
      const r = await vigil([...args, '--url', `http://127.0.0.1:${port}`]);
      assert.equal(r.code, 1, args.join(' '));
      assert.equal(r.out(), '');
      assert.match(
        r.err(),
        new RegExp(`^vigil: cannot reach the hub at http://127\\.0\\.0\\.1:${port}: .*ECONNREFUSED.*\n$`),
      );
    }
  });

  test('VIGIL_URL is used without --url', async () => {
    const r = await vigil(['status', '--json'], { env: { VIGIL_URL: url } });
    assert.equal(r.code, 0, r.err());
    assert.equal(JSON.parse(r.out()).url, url);
  });

  test('unknown commands and flags exit 2; --help exits 0 and lists the exit codes', async () => {
    assert.equal((await vigil(['fly'])).code, 2);
    assert.equal((await vigil([])).code, 2);
    assert.equal((await run('status', '--verbose')).code, 2);
    const help = await vigil(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.out(), /Exit codes:\n {2}0 {2}success\n {2}1 .+\n {2}2 .+\n {2}3 /);
    for (const cmd of ['tail', 'push', 'publish', 'status', 'alerts', 'tasks', 'bench']) {
      const r = await vigil([cmd, '--help']);
      assert.equal(r.code, 0, cmd);
      assert.match(r.out(), new RegExp(`^Usage: vigil ${cmd}`), cmd);
    }
    assert.match((await vigil(['help', 'push'])).out(), /^Usage: vigil push/);
    assert.match((await vigil(['--version'])).out(), /^vigil \d+\.\d+\.\d+\n$/);
  });
});
