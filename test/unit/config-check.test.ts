// `config check` catches what it can: a URL without a host and credentials given twice are
// errors naming their paths (in the schema, so every loader path refuses them); files and
// serial ports the config names that are not there are warnings (exit 0, listed, --json).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/chain.js';
import { configProblems as problems } from '../helpers/config-problems.js';
import { runCli } from '../helpers/diag-cli.js';
import { openPtyPair } from '../helpers/pty.js';

test('mqtt.url without a host is an error naming the path', async () => {
  const p = await problems({ site: 's', gateway: 'g', mqtt: { url: 'mqtt:/127.0.0.1:1883' } });
  assert.equal(p.length, 1, p.join('\n'));
  assert.match(p[0]!, /^mqtt\.url: has no host: write it as mqtt:\/\/HOST:PORT/);
  assert.deepEqual(await problems({ site: 's', gateway: 'g', mqtt: { url: 'mqtts://broker.example:8883' } }), []);
});

test('credentials in the URL and in mqtt.username/password/passwordFile: one error naming both', async () => {
  const p = await problems({ site: 's', gateway: 'g', mqtt: { url: 'mqtt://alice:hunter22@h:1883', username: 'bob', passwordFile: '/etc/gatewarden/mqtt.pw' } });
  assert.equal(p.length, 1, p.join('\n'));
  assert.match(p[0]!, /^mqtt\.url: carries credentials .* mqtt\.username, mqtt\.passwordFile are set too/);
  assert.doesNotMatch(p[0]!, /hunter22/);
  assert.equal((await problems({ site: 's', gateway: 'g', mqtt: { url: 'mqtt://alice:pw@h', password: 'x' } })).length, 1);
  // One source alone is fine either way.
  assert.deepEqual(await problems({ site: 's', gateway: 'g', mqtt: { url: 'mqtt://alice:pw@h' } }), []);
  assert.deepEqual(await problems({ site: 's', gateway: 'g', mqtt: { url: 'mqtt://h', username: 'bob', password: 'pw' } }), []);
});

test('config check: missing CA/cert/key/password file and serial ports are warnings (exit 0), --json lists them', async () => {
  const dir = tempDir();
  const pty = await openPtyPair();
  try {
    writeFileSync(join(dir, 'ca.pem'), 'x');
    const file = join(dir, 'c.yaml');
    writeFileSync(
      file,
      [
        'site: s',
        'gateway: g',
        'mqtt:',
        '  url: mqtts://broker:8883',
        '  username: u',
        '  passwordFile: nope.pw',
        '  tls: { ca: ca.pem, cert: /nonexistent/client.pem, key: /nonexistent/client.key }',
        'drivers:',
        '  osdp: [{ id: bus1, port: /dev/ttyNOPE0, readers: [{ id: r1, address: 0 }] }]',
        `  wiegand: [{ id: w1, port: ${pty.a} }]`,
        '  modbus: [{ id: m1, transport: { type: rtu, path: /dev/ttyNOPE1 }, units: [{ id: u1, unitId: 1, points: [{ name: t, table: holding, address: 0, type: uint16 }] }] }]',
        '',
      ].join('\n'),
    );
    const text = await runCli(['config', 'check', file]);
    assert.equal(text.code, 0, text.stdout + text.stderr);
    assert.match(text.stdout, /^OK .*, 5 warning\(s\)/);
    assert.match(text.stdout, /warning: mqtt\.passwordFile: file .*nope\.pw does not exist/);
    assert.match(text.stdout, /warning: drivers\.osdp\[0\]\.port: device \/dev\/ttyNOPE0 does not exist/);
    const j = await runCli(['config', 'check', '--json', '--config', file]);
    assert.equal(j.code, 0, j.stderr);
    const r = JSON.parse(j.stdout) as { ok: boolean; problems: string[]; warnings: Array<{ path: string; kind: string }> };
    assert.equal(r.ok, true);
    assert.deepEqual(r.warnings.map((w) => `${w.kind} ${w.path}`).sort(), [
      'device drivers.modbus[0].transport.path',
      'device drivers.osdp[0].port',
      'file mqtt.passwordFile',
      'file mqtt.tls.cert',
      'file mqtt.tls.key',
    ]);
    // An error: exit 1 and the same document shape.
    writeFileSync(file, 'site: s\ngateway: g\nmqtt: { url: "mqtt:/127.0.0.1:1883" }\n');
    const bad = await runCli(['config', 'check', '--json', file]);
    assert.equal(bad.code, 1);
    const br = JSON.parse(bad.stdout) as { ok: boolean; problems: string[] };
    assert.equal(br.ok, false);
    assert.match(br.problems[0]!, /^mqtt\.url: has no host/);
  } finally {
    await pty.close();
  }
});
