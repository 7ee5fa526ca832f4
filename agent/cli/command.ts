// `gatewarden command keygen|sign|send`: the platform side of downlink commands from the
// command line (docs/contracts.md §Commands, docs/mqtt-api.yaml `command`).
//   keygen  writes the platform's Ed25519 private key (PEM PKCS#8, mode 0600, as
//           `openssl genpkey -algorithm ed25519` makes) and prints the public key as
//           `commands.publicKey` takes it (base64url of the raw 32 bytes).
//   sign    prints the signed `{body, sig}` (one JSON line), bound to --site/--gw.
//   send    publishes it on `{prefix}/{site}/{gw}/cmd/{name}` over MQTT 5 with a response
//           topic and the command id as correlation data, waits for the result with that
//           correlation data and prints it: exit 0 when ok, 1 when refused or failed.
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Command } from 'commander';
import type { IClientOptions, IPublishPacket } from 'mqtt';
import type { JsonObject } from '../events/types.js';
import { CliError, intOption, UsageError } from './errors.js';

interface SignFlags {
  platformKey: string;
  site: string;
  gw: string;
  args: string;
  target?: string;
  ttl: number;
}

interface SendFlags extends SignFlags {
  url: string;
  prefix: string;
  username?: string;
  passwordFile?: string;
  ca?: string;
  cert?: string;
  tlsKey?: string;
  servername?: string;
  clientId?: string;
  replyTopic?: string;
  timeout: number;
}

/** The platform key file: an Ed25519 private key in PEM (PKCS#8). */
export function readPlatformKey(file: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new CliError(`--platform-key ${file}: ${(e as Error).message}`, 'give an Ed25519 private key in PEM: gatewarden command keygen --out FILE, or openssl genpkey -algorithm ed25519 -out FILE');
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new CliError(`--platform-key ${file}: an ${key.asymmetricKeyType} key, expected ed25519`, 'openssl genpkey -algorithm ed25519 -out FILE');
  return key;
}

/** `commands.publicKey` form of a key: base64url of the raw 32-byte Ed25519 public key. */
export function commandPublicKey(key: KeyObject): string {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  const jwk = pub.export({ format: 'jwk' }) as { x?: string };
  if (!jwk.x) throw new CliError('cannot export the public key', 'expected an Ed25519 key');
  return jwk.x;
}

function parseArgs(text: string): JsonObject {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`--args: not JSON (${(e as Error).message})`, `give a JSON object, e.g. --args '{"point":"siren","durationMs":500}'`);
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new UsageError('--args: must be a JSON object', `e.g. --args '{}'`);
  return v as JsonObject;
}

async function signed(name: string, f: SignFlags): Promise<{ body: { id: string } & JsonObject; sig: string }> {
  const { signCommand } = await import('../commands/sign.js');
  const s = signCommand(readPlatformKey(f.platformKey), name, parseArgs(f.args), { site: f.site, gw: f.gw, ...(f.target ? { target: f.target } : {}), ttlMs: f.ttl * 1000 });
  return s as unknown as { body: { id: string } & JsonObject; sig: string };
}

function signOptions(c: Command): Command {
  return c
    .argument('<name>', 'command name, e.g. ping, config.get, output.pulse, camera.snapshot, spool.replay')
    .requiredOption('--platform-key <file>', 'platform Ed25519 private key (PEM), from `gatewarden command keygen` or openssl')
    .requiredOption('--site <site>', 'target gateway site (config `site`)')
    .requiredOption('--gw <gw>', 'target gateway id (config `gateway`)')
    .option('--args <json>', 'command arguments, a JSON object', '{}')
    .option('--target <device>', 'device or driver instance id, for device commands')
    .option('--ttl <seconds>', 'expiry: the command is valid this long from now', intOption(1), 60);
}

/** What `send` prints and how it exits: the result, and the reason when it is not ok. */
export interface SendOutcome {
  result: JsonObject;
  correlationData: string;
}

export async function sendCommand(name: string, f: SendFlags): Promise<SendOutcome> {
  const { connect } = await import('mqtt');
  const cmd = await signed(name, f);
  const id = cmd.body.id;
  const clientId = f.clientId ?? `gw-cmd-${hostname()}-${process.pid}`;
  const replyTopic = f.replyTopic ?? `${f.prefix}/_platform/${clientId}/reply`;
  const topic = `${f.prefix}/${f.site}/${f.gw}/cmd/${name}`;
  const opts: IClientOptions = { protocolVersion: 5, clientId, clean: true, reconnectPeriod: 0, connectTimeout: f.timeout * 1000 };
  if (f.username) opts.username = f.username;
  if (f.passwordFile) opts.password = readFileSync(f.passwordFile, 'utf8').trim();
  if (f.ca) opts.ca = readFileSync(f.ca);
  if (f.cert) opts.cert = readFileSync(f.cert);
  if (f.tlsKey) opts.key = readFileSync(f.tlsKey);
  if (f.servername) opts.servername = f.servername;
  const client = connect(f.url, opts);
  try {
    return await new Promise<SendOutcome>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new CliError(`no result for command ${id} on ${replyTopic} within ${f.timeout} s`, 'is the gateway online and subscribed (gatewarden status)? does the broker ACL let this user write its cmd topic and read the reply topic?')),
        f.timeout * 1000,
      );
      const fail = (e: Error): void => {
        clearTimeout(timer);
        reject(e);
      };
      client.once('error', (e) => fail(new CliError(`broker ${f.url}: ${e.message}`, 'check --url, --username/--password-file and the TLS flags')));
      client.on('message', (t: string, payload: Buffer, packet: IPublishPacket) => {
        const corr = packet.properties?.correlationData;
        if (t !== replyTopic || !corr || corr.toString('utf8') !== id) return;
        clearTimeout(timer);
        try {
          resolve({ result: JSON.parse(payload.toString('utf8')) as JsonObject, correlationData: corr.toString('utf8') });
        } catch (e) {
          reject(new CliError(`result for ${id} is not JSON: ${(e as Error).message}`));
        }
      });
      client.once('connect', () => {
        client.subscribe(replyTopic, { qos: 1 }, (err, granted) => {
          if (err || !granted || granted.some((g) => g.qos >= 0x80)) return fail(new CliError(`cannot subscribe to the reply topic ${replyTopic}${err ? `: ${err.message}` : ' (refused by the broker)'}`, 'the broker ACL must let this user read the reply topic (--reply-topic)'));
          const properties = { responseTopic: replyTopic, correlationData: Buffer.from(id, 'utf8') };
          client.publish(topic, JSON.stringify(cmd), { qos: 1, properties }, (e, packet) => {
            const rc = (packet as { reasonCode?: number } | undefined)?.reasonCode ?? 0;
            if (e || rc >= 0x80) fail(new CliError(`publish to ${topic} refused${e ? `: ${e.message}` : ` (reason code 0x${rc.toString(16)})`}`, 'the broker ACL must let this user write {prefix}/{site}/{gw}/cmd/#'));
          });
        });
      });
    });
  } finally {
    await client.endAsync().catch(() => undefined);
  }
}

export function registerCommand(program: Command): void {
  const cmd = program.command('command').description('sign and send downlink commands to a gateway (the platform side; docs/mqtt-api.yaml)');
  cmd
    .command('keygen')
    .description('write a platform Ed25519 private key (PEM, 0600) and print the public key for commands.publicKey')
    .requiredOption('--out <file>', 'private key file to write')
    .option('--force', 'overwrite an existing file')
    .action((o: { out: string; force?: boolean }) => {
      if (existsSync(o.out) && !o.force) throw new CliError(`${o.out} already exists`, 'give another --out, or --force to replace it (commands signed by the old key stop working)');
      const { privateKey } = generateKeyPairSync('ed25519');
      writeFileSync(o.out, privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600, flag: o.force ? 'w' : 'wx' });
      process.stdout.write(`commands.publicKey: ${commandPublicKey(privateKey)}\n`);
      process.stderr.write(`wrote ${o.out} (mode 0600); put the line above in each gateway's config\n`);
    });
  signOptions(cmd.command('sign'))
    .description('print the signed command {body, sig} as one JSON line')
    .action(async (name: string, f: SignFlags) => {
      process.stdout.write(`${JSON.stringify(await signed(name, f))}\n`);
    });
  signOptions(cmd.command('send'))
    .description('publish a signed command to the gateway and wait for its result (MQTT 5); exit 0 ok, 1 refused or failed')
    .requiredOption('--url <url>', 'MQTT broker, e.g. mqtts://broker.example:8883')
    .option('--prefix <prefix>', "topic prefix (the gateway's mqtt.topicPrefix)", 'gatewarden/v1')
    .option('--username <user>', 'MQTT username')
    .option('--password-file <file>', 'file holding the MQTT password')
    .option('--ca <file>', 'CA certificate (PEM) that signs the broker certificate')
    .option('--cert <file>', 'client certificate (PEM)')
    .option('--tls-key <file>', 'client certificate key (PEM)')
    .option('--servername <name>', 'name to check the broker certificate against')
    .option('--client-id <id>', 'MQTT client id (default gw-cmd-HOST-PID)')
    .option('--reply-topic <topic>', 'MQTT 5 response topic (default {prefix}/_platform/{client-id}/reply)')
    .option('--timeout <seconds>', 'how long to wait for the result', intOption(1), 30)
    .action(async (name: string, f: SendFlags) => {
      const out = await sendCommand(name, f);
      process.stdout.write(`${JSON.stringify(out.result)}\n`);
      if (out.result.ok === true) return;
      const why = [out.result.error, out.result.detail].filter((x) => typeof x === 'string').join(': ');
      process.stderr.write(`command ${name} ${out.result.error && out.result.error !== 'failed' ? 'refused' : 'failed'}: ${why || 'no reason given'}\n`);
      process.exitCode = 1;
    });
}
