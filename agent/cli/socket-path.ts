// Where the CLI finds the daemon's control socket: `--socket`, else from the config
// (control.socket, else <stateDir>/control.sock). A config that fails validation — often
// the very file a rejected reload is about — is read leniently for those two keys, so
// `status` and `reload` still reach the daemon that runs the previous version.
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { ConfigError, loadConfigFile, parseYaml } from '../../config/loader.js';
import { controlSocketPath } from '../control/client.js';

export interface SocketResolution {
  socket: string;
  /** Set when the config did not load: its problems (the socket came from a lenient read). */
  configError?: ConfigError;
}

/** control.socket / stateDir read leniently from a file that fails validation (defaults otherwise). */
async function looseSocketPath(file: string): Promise<string> {
  let raw: { stateDir?: unknown; control?: { socket?: unknown } } = {};
  try {
    raw = (parseYaml(await readFile(file, 'utf8'), file) ?? {}) as typeof raw;
  } catch {
    // unreadable or not YAML: the defaults
  }
  if (raw === null || typeof raw !== 'object') raw = {};
  const base = dirname(resolve(file));
  const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? resolve(base, v) : undefined);
  return controlSocketPath({ control: { socket: str(raw.control?.socket) }, stateDir: str(raw.stateDir) ?? '/var/lib/gatewarden' });
}

export async function resolveControlSocket(o: { config: string; socket?: string }): Promise<SocketResolution> {
  if (o.socket) return { socket: o.socket };
  try {
    return { socket: controlSocketPath((await loadConfigFile(o.config)).config) };
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return { socket: await looseSocketPath(o.config), configError: e };
  }
}
