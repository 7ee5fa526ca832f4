// `gatewarden key rotate [--config FILE] [--json]`: a new gateway key (docs/architecture.md
// "Key rotation"). While the daemon runs it is asked over the control socket and the
// rotation is announced at once: `system.chain.key_rotated` under the old key, then a new
// epoch under the new one. While it is stopped the new key is prepared offline
// (`keys/gateway-ed25519.next.pem`, 0600) and the next start announces it the same way.
import type { Command } from 'commander';
import { loadConfigFile } from '../../config/loader.js';
import { controlRequest, controlSocketPath, ControlUnavailableError } from '../control/client.js';
import { keyFilePath, loadOrCreateKeys, prepareRotation } from '../chain/keys.js';
import { acquireStateLock, StateDirInUseError } from '../state-lock.js';
import { CliError } from './errors.js';
import { DEFAULT_CONFIG } from './defaults.js';
import { existsSync } from 'node:fs';

interface RotateAnswer {
  mode: 'online' | 'offline';
  oldKid: string;
  newKid: string;
  newPubkey: string;
  epoch?: string;
}

export async function rotateKeyCommand(o: { config: string }): Promise<RotateAnswer> {
  const { config } = await loadConfigFile(o.config);
  try {
    const r = await controlRequest<Omit<RotateAnswer, 'mode'>>(controlSocketPath(config), 'key-rotate', 60_000);
    return { mode: 'online', ...r };
  } catch (e) {
    if (!(e instanceof ControlUnavailableError)) throw e;
  }
  // Not running: hold the state directory's lock so no daemon starts half-way through.
  let lock;
  try {
    lock = acquireStateLock(config.stateDir);
  } catch (e) {
    if (e instanceof StateDirInUseError) throw new CliError(`${e.message}, but its control socket does not answer`, 'wait for it to finish starting, or stop it, then run gatewarden key rotate again');
    throw e;
  }
  try {
    if (!existsSync(keyFilePath(config.stateDir))) throw new CliError(`no gateway key in ${config.stateDir}/keys: nothing to rotate`, 'gatewarden init creates one (or the first start does)');
    const old = loadOrCreateKeys(config.stateDir);
    const next = prepareRotation(config.stateDir);
    return { mode: 'offline', oldKid: old.kid, newKid: next.kid, newPubkey: next.pubkey };
  } finally {
    lock.release();
  }
}

export function registerKey(program: Command): void {
  const key = program.command('key').description('gateway signing key');
  key
    .command('rotate')
    .description('new gateway key: announced at once when the daemon runs (key_rotated under the old key, a new epoch under the new one), else at its next start')
    .option('-c, --config <file>', 'config file', process.env.GATEWARDEN_CONFIG ?? DEFAULT_CONFIG)
    .option('--json', 'print {mode, oldKid, newKid, newPubkey, epoch?}')
    .action(async (o: { config: string; json?: boolean }) => {
      const r = await rotateKeyCommand(o);
      if (o.json) console.log(JSON.stringify(r, null, 2));
      else if (r.mode === 'online') console.log(`key rotated: ${r.oldKid} → ${r.newKid}; epoch ${r.epoch} began under the new key\nnew public key: ${r.newPubkey}`);
      else console.log(`daemon not running: new key ${r.newKid} prepared (replaces ${r.oldKid}); the next start announces the rotation\nnew public key: ${r.newPubkey}`);
    });
}
