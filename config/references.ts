// Files and devices a valid config points at but that are not there (yet): the broker's
// CA, client certificate and key, the password file, and the serial ports of OSDP,
// Wiegand and Modbus RTU buses. These are warnings, not errors: a USB adapter may be
// unplugged while the config is written, and the daemon retries the port. `config check`
// and `diag` list them with the config path that names them.
import { statSync } from 'node:fs';
import type { LoadedConfig } from './loader.js';

export interface ReferenceWarning {
  /** Config path, e.g. `mqtt.tls.ca` or `drivers.osdp[0].port`. */
  path: string;
  /** The file or device named there. */
  file: string;
  kind: 'file' | 'device';
  problem: string;
}

function problemOf(file: string, kind: 'file' | 'device'): string | null {
  try {
    const st = statSync(file);
    if (kind === 'file' && !st.isFile()) return 'is not a regular file';
    if (kind === 'device' && !st.isCharacterDevice()) return 'is not a character device (serial port)';
    return null;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? 'does not exist' : code === 'EACCES' ? 'cannot be checked (permission denied on a parent directory)' : `cannot be checked (${code ?? (e as Error).message})`;
  }
}

/** The serial device a driver instance names, with its config path; in-process demo ports are skipped. */
function devicesOf(kind: string, config: unknown): Array<{ key: string; file: string }> {
  const c = config as { port?: unknown; transport?: { type?: unknown; path?: unknown } };
  const out: Array<{ key: string; file: string }> = [];
  if ((kind === 'osdp' || kind === 'wiegand') && typeof c.port === 'string') out.push({ key: 'port', file: c.port });
  if (kind === 'modbus' && c.transport?.type === 'rtu' && typeof c.transport.path === 'string') out.push({ key: 'transport.path', file: c.transport.path });
  return out.filter((d) => !d.file.startsWith('inproc:'));
}

export function referenceWarnings(loaded: LoadedConfig): ReferenceWarning[] {
  const { mqtt } = loaded.config;
  const refs: Array<{ path: string; file: string | undefined; kind: 'file' | 'device' }> = [
    { path: 'mqtt.passwordFile', file: mqtt.passwordFile, kind: 'file' },
    { path: 'mqtt.tls.ca', file: mqtt.tls?.ca, kind: 'file' },
    { path: 'mqtt.tls.cert', file: mqtt.tls?.cert, kind: 'file' },
    { path: 'mqtt.tls.key', file: mqtt.tls?.key, kind: 'file' },
  ];
  for (const d of loaded.drivers) {
    for (const dev of devicesOf(d.kind, d.config)) refs.push({ path: `drivers.${d.kind}[${d.index}].${dev.key}`, file: dev.file, kind: 'device' });
  }
  const out: ReferenceWarning[] = [];
  for (const r of refs) {
    if (r.file === undefined) continue;
    const problem = problemOf(r.file, r.kind);
    if (problem) out.push({ path: r.path, file: r.file, kind: r.kind, problem });
  }
  return out;
}
