// Metrics an operator misses, scraped from the real daemon's /metrics: every family is
// present and the page parses as Prometheus text exposition 0.0.4 (HELP/TYPE before
// samples, well-formed labels, float values). The daemon runs beside a private chronyd
// (clock offset, sync state) and a real mosquitto (in-flight publishes).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tempDir } from '../helpers/chain.js';
import { spawnDaemon, writeDaemonConfig } from '../helpers/daemon.js';
import { startMosquitto } from '../helpers/mosquitto.js';
import { startChronyd } from '../helpers/chronyd.js';
import { controlRequest } from '../../agent/control/client.js';
import { join } from 'node:path';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A strict reader of the text format: throws naming the line on anything malformed. */
function parseExposition(text: string): { types: Map<string, string>; samples: Sample[] } {
  const types = new Map<string, string>();
  const helped = new Set<string>();
  const samples: Sample[] = [];
  const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
  assert.ok(text.endsWith('\n'), 'the page ends with a newline');
  for (const [i, line] of text.slice(0, -1).split('\n').entries()) {
    const where = `line ${i + 1}: ${line}`;
    let m: RegExpExecArray | null;
    if ((m = new RegExp(`^# HELP (${NAME}) (.*)$`).exec(line))) {
      assert.ok(!helped.has(m[1]!), `second HELP: ${where}`);
      helped.add(m[1]!);
    } else if ((m = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`).exec(line))) {
      assert.ok(!types.has(m[1]!), `second TYPE: ${where}`);
      types.set(m[1]!, m[2]!);
    } else if ((m = new RegExp(`^(${NAME})(\\{(.*)\\})? (\\S+)$`).exec(line))) {
      const [, name, , body, raw] = m;
      assert.ok(types.has(name!), `sample before its TYPE: ${where}`);
      const labels: Record<string, string> = {};
      if (body) {
        const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)/y;
        let at = 0;
        while (at < body.length) {
          re.lastIndex = at;
          const l = re.exec(body);
          assert.ok(l, `bad labels: ${where}`);
          labels[l[1]!] = l[2]!;
          at = re.lastIndex;
        }
      }
      const value = raw === 'NaN' ? NaN : raw === '+Inf' ? Infinity : raw === '-Inf' ? -Infinity : Number(raw);
      assert.ok(raw === 'NaN' || !Number.isNaN(value), `bad value: ${where}`);
      samples.push({ name: name!, labels, value });
    } else assert.fail(`not exposition text: ${where}`);
  }
  return { types, samples };
}

test('the real /metrics: every family an operator needs is present and the page parses', { timeout: 120_000 }, async () => {
  const dir = tempDir('gw-metrics-');
  const broker = await startMosquitto();
  const chrony = await startChronyd({ local: true });
  process.env.GATEWARDEN_CHRONY_SOCKET = chrony.socket; // inherited by the daemon
  const config = writeDaemonConfig(dir, {
    mqtt: { url: broker.url },
    metrics: { enabled: true, port: 0 },
    drivers: { synthetic: [{ id: 'syn-1', intervalMs: 50 }] },
  });
  const d = spawnDaemon(config);
  try {
    await d.waitLog(/metrics endpoint listening/);
    await d.waitLog(/connected to MQTT broker/);
    const { metricsPort } = await controlRequest<{ metricsPort: number }>(join(dir, 'state', 'control.sock'), 'status', 10_000);
    const scrape = async (): Promise<{ types: Map<string, string>; samples: Sample[] }> => {
      const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
      return parseExposition(await res.text());
    };
    // Wait until the synthetic device was seen and the clock probe asked chrony.
    let page = await scrape();
    const deadline = Date.now() + 20_000;
    const has = (n: string): boolean => page.samples.some((s) => s.name === n);
    while (!(has('gatewarden_device_last_seen_timestamp_seconds') && has('gatewarden_clock_offset_seconds') && has('gatewarden_mqtt_last_ack_timestamp_seconds')) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      page = await scrape();
    }
    const one = (name: string, labels: Record<string, string> = {}): Sample => {
      const s = page.samples.find((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v));
      assert.ok(s, `no sample ${name} ${JSON.stringify(labels)}`);
      return s;
    };
    // Families from before and the new ones.
    for (const [name, type] of [
      ['gatewarden_spool_write_errors_total', 'counter'],
      ['gatewarden_chain_committed_seq', 'gauge'],
      ['gatewarden_events_accepted_total', 'counter'],
      ['gatewarden_mqtt_inflight', 'gauge'],
      ['gatewarden_mqtt_last_ack_timestamp_seconds', 'gauge'],
      ['gatewarden_driver_restarts_total', 'counter'],
      ['gatewarden_device_last_seen_timestamp_seconds', 'gauge'],
      ['gatewarden_clock_sync', 'gauge'],
      ['gatewarden_clock_offset_seconds', 'gauge'],
      ['gatewarden_state_fs_free_bytes', 'gauge'],
      ['gatewarden_state_fs_size_bytes', 'gauge'],
      ['gatewarden_build_info', 'gauge'],
    ] as const) {
      assert.equal(page.types.get(name), type, `${name} is a ${type}`);
    }
    assert.equal(one('gatewarden_clock_sync', { source: 'ntp' }).value, 1, 'chrony says synchronised');
    assert.equal(Math.abs(one('gatewarden_clock_offset_seconds', { via: 'chrony' }).value) < 1, true);
    assert.equal(one('gatewarden_driver_restarts_total', { driver: 'synthetic', instance: 'syn-1' }).value, 0);
    const seen = one('gatewarden_device_last_seen_timestamp_seconds', { driver: 'synthetic', instance: 'syn-1', device: 'syn-1' }).value;
    assert.ok(Math.abs(seen - Date.now() / 1000) < 60, `last seen ${seen} is now`);
    const free = one('gatewarden_state_fs_free_bytes').value;
    assert.ok(free > 0 && free <= one('gatewarden_state_fs_size_bytes').value);
    const build = one('gatewarden_build_info');
    assert.deepEqual([build.labels.node, build.labels.arch, build.value], [process.version, process.arch, 1]);
    assert.match(build.labels.version ?? '', /^\d+\.\d+\.\d+/);
    assert.ok(one('gatewarden_mqtt_inflight').value >= 0);
    const ack = one('gatewarden_mqtt_last_ack_timestamp_seconds').value;
    assert.ok(Math.abs(ack - Date.now() / 1000) < 60, `last PUBACK ${ack} is recent`);
    assert.ok(one('gatewarden_chain_committed_seq').value > 0);
  } finally {
    delete process.env.GATEWARDEN_CHRONY_SOCKET;
    d.child.kill('SIGTERM');
    await d.exited;
    await chrony.stop();
    await broker.stop();
  }
});
