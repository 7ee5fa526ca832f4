// `gatewarden discover <what>`: find devices and print a config snippet to paste, or
// merge it with --write. A small dispatcher: each subcommand is one function,
// and families whose discovery lives in a driver that may not be in this build (ONVIF
// cameras, OSDP readers) are imported at run time only if their file exists, so adding
// one is a matter of shipping drivers/<kind>/discover.ts.
import { existsSync, readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { isCollection, isMap, isSeq, parseDocument, stringify, visit } from 'yaml';
import { parseYaml, validateConfig } from '../../config/loader.js';
import { rewriteConfigFile } from '../../config/rewrite.js';
import { DEFAULT_CONFIG } from './run.js';

export interface DiscoverResult {
  /** Lines for the technician (table rows). */
  lines: string[];
  /** Driver instances found, as config: `drivers.<kind>` entries. */
  snippet?: { kind: string; instances: Array<Record<string, unknown>> };
}

type Runner = (o: Record<string, string | boolean | undefined>) => Promise<DiscoverResult>;

const progress = (s: string): void => {
  if (process.stderr.isTTY) process.stderr.write(`\r${s}\x1b[K`);
  else process.stderr.write(`${s}\n`);
};

/** Import drivers/<kind>/<file>.ts (or .js) when it exists in this build; null otherwise. */
async function optionalModule(kind: string, files: string[]): Promise<Record<string, unknown> | null> {
  for (const f of files) {
    for (const ext of ['.ts', '.js']) {
      const url = new URL(`../../drivers/${kind}/${f}${ext}`, import.meta.url);
      if (existsSync(url)) return (await import(url.href)) as Record<string, unknown>;
    }
  }
  return null;
}

export async function discoverSerial(): Promise<DiscoverResult> {
  const { SerialPort } = await import('serialport');
  const ports = await SerialPort.list();
  if (ports.length === 0) return { lines: ['no serial ports found (is the USB adapter plugged in? dmesg | tail)'] };
  return {
    lines: ports.map((p) => {
      const usb = p.vendorId ? `USB ${p.vendorId}:${p.productId ?? '?'}` : 'on-board';
      return `${p.path}  ${usb}  ${p.manufacturer ?? ''} ${p.serialNumber ? `serial ${p.serialNumber}` : ''} ${p.pnpId ? `(/dev/serial/by-id/${p.pnpId})` : ''}`.replace(/\s+/g, ' ').trim();
    }),
  };
}

function parseIds(s: string | undefined): number[] | undefined {
  if (!s) return undefined;
  const out: number[] = [];
  for (const part of s.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) throw new Error(`--ids: expected e.g. 1-10,20 (got ${s})`);
    for (let i = Number(m[1]); i <= Number(m[2] ?? m[1]); i++) out.push(i);
  }
  return out;
}

export const discoverModbus: Runner = async (o) => {
  const { scanUnits } = await import('../../drivers/modbus/discover.js');
  const port = o.port as string | undefined;
  const host = o.host as string | undefined;
  const hits = await scanUnits({
    port,
    host,
    baudRate: o.baud ? Number(o.baud) : undefined,
    parity: o.parity as 'none' | 'even' | 'odd' | undefined,
    tcpPort: o.tcpPort ? Number(o.tcpPort) : undefined,
    ids: parseIds(o.ids as string | undefined),
    timeoutMs: o.timeout ? Number(o.timeout) : undefined,
    onProgress: (p) => progress(`scanning unit ${p.unitId} (${p.done}/${p.total}), ${p.found} found`),
  });
  process.stderr.write('\n');
  const transport = port ? { type: 'rtu', path: port, baudRate: o.baud ? Number(o.baud) : 9600, parity: (o.parity as string) ?? 'even' } : { type: 'tcp', host, port: o.tcpPort ? Number(o.tcpPort) : 502 };
  const units = hits.map((h) => ({
    id: `unit-${h.unitId}`,
    unitId: h.unitId,
    // The probe read holding register 0; replace with the device's real register map.
    points: [{ name: 'register0', table: 'holding', address: 0, type: 'uint16' }],
  }));
  return {
    lines: hits.length ? hits.map((h) => `unit ${h.unitId}: ${h.answer} (${h.detail}), ${h.ms} ms`) : ['no unit answered (check baud rate, parity, A/B wiring)'],
    snippet: hits.length ? { kind: 'modbus', instances: [{ id: port ? 'modbus-rtu' : 'modbus-tcp', transport, units }] } : undefined,
  };
};

/**
 * WS-Discovery (ONVIF Core §7): by default a multicast Probe to 239.255.255.250:3702 on the
 * LAN. `--address` sends it to one host instead (a camera on another subnet, or a loopback
 * test peer), `--wsd-port` changes the UDP port (port-forwarded cameras, tests).
 */
export const discoverCameras: Runner = async (o) => {
  const mod = await optionalModule('onvif', ['discover', 'discovery']);
  const fn = mod?.discoverCameras as ((opts: Record<string, unknown>) => Promise<Array<Record<string, unknown>>>) | undefined;
  if (!fn) return { lines: ['camera discovery is not available in this build'] };
  const wsdPort = o.wsdPort !== undefined ? Number(o.wsdPort) : undefined;
  if (wsdPort !== undefined && !(Number.isInteger(wsdPort) && wsdPort > 0 && wsdPort < 65536)) throw new Error(`--wsd-port: expected a UDP port (got ${String(o.wsdPort)})`);
  const timeoutMs = o.timeout !== undefined ? Number(o.timeout) : undefined;
  if (timeoutMs !== undefined && !(timeoutMs > 0)) throw new Error(`--timeout: expected milliseconds (got ${String(o.timeout)})`);
  progress('WS-Discovery probe…');
  const found = await fn({ sweep: o.sweep, timeoutMs, address: o.address, port: wsdPort });
  process.stderr.write('\n');
  const snippetFn = mod?.configSnippet as ((f: unknown[], x: Record<string, unknown>) => { config: Record<string, unknown> }) | undefined;
  const xaddrs = (c: Record<string, unknown>): string => (Array.isArray(c.xaddrs) ? c.xaddrs.map(String).join(' ') : '');
  return {
    lines: found.length
      ? found.map((c) => `${String(c.host)}:${String(c.port)}  ${String(c.name ?? '?')}  ${String(c.hardware ?? '')}  ${xaddrs(c)}`.replace(/ {3,}/g, '  ').trim())
      : ['no camera answered (multicast blocked? try --sweep 192.168.1.0/24 or --address <camera ip>)'],
    snippet: found.length && snippetFn ? { kind: 'onvif', instances: [snippetFn(found, {}).config] } : undefined,
  };
};

export const discoverReaders: Runner = async (o) => {
  const mod = await optionalModule('osdp', ['discover']);
  const fn = mod?.discoverReaders as ((opts: Record<string, unknown>) => Promise<{ lines: string[]; instance?: Record<string, unknown> }>) | undefined;
  if (!fn) return { lines: ['OSDP reader discovery is not available in this build'] };
  const r = await fn({ port: o.port, onProgress: (s: string) => progress(s) });
  process.stderr.write('\n');
  return { lines: r.lines, snippet: r.instance ? { kind: 'osdp', instances: [r.instance] } : undefined };
};

/** Append instances to `drivers.<kind>` in a config file, keeping its comments; ids already present are skipped. */
export async function mergeSnippet(file: string, kind: string, instances: Array<Record<string, unknown>>): Promise<{ added: string[]; skipped: string[] }> {
  const doc = parseDocument(readFileSync(file, 'utf8'));
  let drivers = doc.get('drivers');
  if (!isMap(drivers)) {
    doc.set('drivers', doc.createNode({}));
    drivers = doc.get('drivers');
  }
  const map = drivers as ReturnType<typeof doc.createNode> & { get(k: string): unknown; set(k: string, v: unknown): void };
  let list = map.get(kind);
  if (!isSeq(list)) {
    map.set(kind, doc.createNode([]));
    list = map.get(kind);
  }
  const seq = list as { items: unknown[]; add(v: unknown): void };
  const present = new Set((doc.toJS() as { drivers?: Record<string, Array<{ id?: string }>> }).drivers?.[kind]?.map((i) => i.id) ?? []);
  const added: string[] = [];
  const skipped: string[] = [];
  for (const inst of instances) {
    const id = String(inst.id);
    if (present.has(id)) skipped.push(id);
    else {
      const node = doc.createNode(inst);
      visit(node, (_key, n) => {
        if (isCollection(n)) n.flow = false;
      });
      seq.add(node);
      added.push(id);
    }
  }
  // `init` writes `drivers: {}`, a flow mapping: the drivers map, the kind's list and the
  // added entries are made block style, or the merge would come out as one long
  // `{ osdp: [ { … } ] }` line. Entries the file already had keep their own style.
  (map as { flow?: boolean }).flow = false;
  (seq as { flow?: boolean }).flow = false;
  const text = doc.toString();
  await validateConfig(parseYaml(text, file), file); // never write a config the daemon rejects
  rewriteConfigFile(file, text); // keeps owner, group and mode; atomic and durable
  return { added, skipped };
}

async function finish(r: DiscoverResult, o: { write?: boolean; config: string; json?: boolean }): Promise<void> {
  if (o.json) {
    // One document: what was found (as config entries), the technician's lines, and what --write merged.
    const merged = o.write && r.snippet ? { config: o.config, ...(await mergeSnippet(o.config, r.snippet.kind, r.snippet.instances)) } : null;
    console.log(JSON.stringify({ kind: r.snippet?.kind ?? null, found: r.snippet?.instances ?? [], lines: r.lines, merged }, null, 2));
    return;
  }
  for (const l of r.lines) console.log(l);
  if (!r.snippet) return;
  if (o.write) {
    const m = await mergeSnippet(o.config, r.snippet.kind, r.snippet.instances);
    console.log(`merged into ${o.config}: added ${m.added.join(', ') || 'nothing'}${m.skipped.length ? `; already present: ${m.skipped.join(', ')}` : ''}`);
    console.log('apply with: systemctl reload gatewarden');
  } else {
    console.log('\n# paste under drivers: in the config (or re-run with --write)');
    console.log(stringify({ drivers: { [r.snippet.kind]: r.snippet.instances } }).trimEnd());
  }
}

export function registerDiscover(program: Command): void {
  const d = program.command('discover').description('find serial ports, Modbus units, cameras and OSDP readers; print or --write a config snippet');
  const common = (c: Command): Command => c.option('--write', 'merge the snippet into the config').option('--json', 'one JSON document: {kind, found[], lines[], merged}').option('-c, --config <file>', 'config file for --write', process.env.GATEWARDEN_CONFIG ?? DEFAULT_CONFIG);
  d.command('serial').description('serial ports with USB vendor/product').option('--json', 'one JSON document: {kind, found[], lines[]}').action(async (o: { json?: boolean }) => finish(await discoverSerial(), { config: '', json: o.json }));
  common(d.command('modbus').description('which Modbus unit ids answer on a bus'))
    .option('--port <path>', 'serial device (RTU)')
    .option('--host <host>', 'TCP device or gateway')
    .option('--tcp-port <n>', 'TCP port', '502')
    .option('--baud <n>', 'baud rate (RTU)', '9600')
    .option('--parity <p>', 'none | even | odd (RTU)', 'even')
    .option('--ids <list>', 'unit ids, e.g. 1-10,20 (default 1-247)')
    .option('--timeout <ms>', 'per-id timeout')
    .action(async (o: Record<string, string | boolean | undefined> & { config: string; write?: boolean; json?: boolean }) => finish(await discoverModbus(o), o));
  common(d.command('cameras').description('ONVIF cameras by WS-Discovery (optionally a subnet sweep)'))
    .option('--sweep <cidr>', 'also probe every host of this IPv4 subnet')
    .option('--address <ip>', 'send the probe to this host instead of the multicast group')
    .option('--wsd-port <n>', 'WS-Discovery UDP port (default 3702)')
    .option('--timeout <ms>', 'how long to listen')
    .action(async (o: Record<string, string | boolean | undefined> & { config: string; write?: boolean; json?: boolean }) => finish(await discoverCameras(o), o));
  common(d.command('osdp').description('OSDP readers on an RS-485 bus (address scan at common bauds)'))
    .requiredOption('--port <path>', 'serial device')
    .action(async (o: Record<string, string | boolean | undefined> & { config: string; write?: boolean; json?: boolean }) => finish(await discoverReaders(o), o));
}
