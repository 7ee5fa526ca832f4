// `gatewarden init`: first-time provisioning. Writes the commented config from
// config/template.yaml (never over an existing file without --force), creates the signing
// key (agent/chain/keys.ts; an existing key is kept — rotating is a separate, deliberate
// act), and prints the public key, its kid and a one-line enrolment string for the platform.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { rewriteConfigFile } from '../../config/rewrite.js';
import { dirname, join, resolve } from 'node:path';
import { hostname } from 'node:os';
import type { Command } from 'commander';
import { ConfigError, loadConfigFile, parseYaml, validateConfig } from '../../config/loader.js';
import { loadOrCreateKeys, KeyFileError } from '../chain/keys.js';
import { DEFAULT_CONFIG } from './run.js';

export interface InitOptions {
  site: string;
  gateway: string;
  broker: string;
  stateDir?: string;
  ca?: string;
  cert?: string;
  key?: string;
  username?: string;
  passwordFile?: string;
}

const TEMPLATE = new URL('../../config/template.yaml', import.meta.url);

/** Fill the template; optional settings are uncommented only when given. */
export function renderConfig(o: InitOptions, template = readFileSync(TEMPLATE, 'utf8')): string {
  const q = (v: string): string => JSON.stringify(v); // a JSON string is a valid YAML scalar
  let t = template
    .replace('{{site}}', q(o.site))
    .replace('{{gateway}}', q(o.gateway))
    .replace('{{stateDir}}', q(o.stateDir ?? '/var/lib/gatewarden'))
    .replace('{{broker}}', q(o.broker));
  const optional: Array<[keyof InitOptions, string]> = [['username', 'username'], ['passwordFile', 'passwordFile'], ['ca', 'ca'], ['cert', 'cert'], ['key', 'key']];
  for (const [opt, key] of optional) {
    const v = o[opt];
    t = v === undefined ? t : t.replace(new RegExp(`# (\\s*)${key}: \\{\\{${key}\\}\\}`), (_m, sp: string) => `${sp}${key}: ${q(v)}`);
  }
  if (o.ca || o.cert || o.key) t = t.replace('  # tls:', '  tls:');
  // The installed layout (systemd RuntimeDirectory) keeps the socket in /run (docs/contracts.md §Files).
  if ((o.stateDir ?? '/var/lib/gatewarden') === '/var/lib/gatewarden') t = t.replace('# control:\n#   socket: {{controlSocket}}', 'control:\n  socket: "/run/gatewarden/control.sock"');
  t = t.replace('{{controlSocket}}', '/run/gatewarden/control.sock');
  return t;
}

export function enrolmentString(site: string, gw: string, pubkey: string): string {
  return `gatewarden:v1:${site}:${gw}:${pubkey}`;
}

export interface InitResult {
  configFile: string;
  configWritten: boolean;
  keyFile: string;
  keyCreated: boolean;
  pubkey: string;
  kid: string;
  enrolment: string;
}

/**
 * Write the config (unless it exists and !force) and create the key. With an existing
 * config, site/gateway/broker may be omitted: they are read from it (install.sh uses
 * this to create a missing key). `root` prefixes the state directory for image builds
 * and test roots: paths inside the config stay as written.
 */
export async function initGateway(configFile: string, o: Partial<InitOptions>, force = false, root?: string): Promise<InitResult> {
  const file = resolve(configFile);
  if (existsSync(file) && !force) {
    const { config } = await loadConfigFile(file);
    const stateDir = root ? join(root, config.stateDir) : config.stateDir;
    mkdirSync(stateDir, { recursive: true, mode: 0o750 });
    const keys = loadOrCreateKeys(stateDir);
    return { configFile: file, configWritten: false, keyFile: keys.file, keyCreated: keys.created, pubkey: keys.pubkey, kid: keys.kid, enrolment: enrolmentString(config.site, config.gateway, keys.pubkey) };
  }
  if (!o.site || !o.broker) throw new ConfigError(file, ['--site and --broker are required to write a new config']);
  const full: InitOptions = { ...o, site: o.site, broker: o.broker, gateway: o.gateway ?? hostname().split('.')[0] };
  const text = renderConfig(full);
  // Validate before writing: init must never leave a config the daemon rejects.
  const loaded = await validateConfig(parseYaml(text, file), file);
  mkdirSync(dirname(file), { recursive: true, mode: 0o750 });
  rewriteConfigFile(file, text); // over an existing file (--force) keeps its owner, group and mode
  const configured = resolve(dirname(file), loaded.config.stateDir);
  const stateDir = root ? join(root, configured) : configured;
  mkdirSync(stateDir, { recursive: true, mode: 0o750 });
  const keys = loadOrCreateKeys(stateDir);
  return { configFile: file, configWritten: true, keyFile: keys.file, keyCreated: keys.created, pubkey: keys.pubkey, kid: keys.kid, enrolment: enrolmentString(full.site, full.gateway, keys.pubkey) };
}

export function registerInit(program: Command): void {
  program
    .command('init')
    .description('write a commented config, create the signing key, print the enrolment string')
    .option('--site <id>', 'site id (required unless the config exists)')
    .option('--gateway <id>', 'gateway id (default: this host name)')
    .option('--broker <url>', 'broker URL, e.g. mqtts://broker.example:8883 (required unless the config exists)')
    .option('-c, --config <file>', 'config file to write', process.env.GATEWARDEN_CONFIG ?? DEFAULT_CONFIG)
    .option('--state-dir <dir>', 'state directory (keys, spool)')
    .option('--ca <file>', 'CA certificate (PEM) that signs the broker certificate')
    .option('--cert <file>', 'client certificate (PEM)')
    .option('--key <file>', 'client key (PEM)')
    .option('--username <name>', 'broker user name')
    .option('--password-file <file>', 'file holding the broker password')
    .option('--force', 'overwrite an existing config file (the signing key is always kept)')
    .option('--root <dir>', 'create the state directory under this root (image builds); paths in the config stay as written')
    .option('--json', 'machine-readable output')
    .action(async (o: Partial<InitOptions> & { config: string; force?: boolean; json?: boolean; root?: string }) => {
      let r: InitResult;
      try {
        r = await initGateway(o.config, o, o.force, o.root);
      } catch (e) {
        if (e instanceof ConfigError || e instanceof KeyFileError) {
          console.error(`gatewarden init: ${e.message}`);
          process.exitCode = 1;
          return;
        }
        throw e;
      }
      if (o.json) {
        console.log(JSON.stringify(r));
        return;
      }
      console.log(r.configWritten ? `wrote ${r.configFile}` : `kept existing ${r.configFile} (use --force to overwrite)`);
      console.log(r.keyCreated ? `created signing key ${r.keyFile}` : `kept existing signing key ${r.keyFile}`);
      console.log(`public key  ${r.pubkey}`);
      console.log(`kid         ${r.kid}   (fingerprint: base64url SHA-256 of the public key, first 16 chars)`);
      console.log('enrol this gateway on the platform with:');
      console.log(r.enrolment);
    });
}
