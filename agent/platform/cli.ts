// `gatewarden platform`: the reference consumer from the command line (docs/platform.md).
// Logs (pino JSON) go to stderr; the live view and incident lines to stdout. Runs until
// SIGTERM/SIGINT, then flushes the store and disconnects.
import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { Option, type Command } from 'commander';
import { pino, type LevelWithSilent } from 'pino';
import { startConsumer } from './consumer.js';

interface PlatformCliOptions {
  url: string;
  username?: string;
  passwordFile?: string;
  prefix: string;
  site: string;
  store: string;
  clientId?: string;
  share?: string;
  keys?: string;
  tofu?: boolean;
  platformKey?: string;
  ack?: boolean;
  replyTopic?: string;
  gapGraceMs: string;
  view: string;
  logLevel: string;
  testDropLive?: string;
}

const int = (name: string, v: string): number => {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${name}: expected a whole number ≥ 0 (got ${JSON.stringify(v)})`);
  return n;
};

export function registerPlatform(program: Command): void {
  program
    .command('platform')
    .description('reference platform consumer: verify, store (SQLite), repair gaps, ack, live view')
    .requiredOption('--url <url>', 'MQTT broker, e.g. mqtt://broker:1883 (MQTT 5)')
    .option('--username <user>', 'MQTT username')
    .option('--password-file <file>', 'file holding the MQTT password')
    .option('--prefix <prefix>', 'topic prefix (the gateways\' mqtt.topicPrefix)', 'gatewarden/v1')
    .option('--site <site>', 'site id to follow, or + for all sites', '+')
    .requiredOption('--store <file>', 'SQLite store (created; consumers of one --share group use the same file)')
    .option('--client-id <id>', 'MQTT client id (default platform-HOST-PID)')
    .option('--share <group>', 'MQTT 5 shared subscription group for the evt topics ($share/GROUP/…)')
    .option('--keys <file>', 'key enrolment file: {"site/gw": "<base64url raw key or PEM>"} (JSON or YAML)')
    .option('--tofu', 'trust the first birth message\'s key of a gateway with no enrolled key (weaker: see docs/platform.md)')
    .option('--platform-key <file>', 'platform private key (PEM, ed25519): signs spool.replay to repair gaps')
    .option('--ack', 'publish {epoch, seq, hash} on {prefix}/{site}/{gw}/ack for the stored, verified prefix')
    .option('--reply-topic <topic>', 'MQTT 5 response topic for command results (default {prefix}/_platform/{client-id}/reply)')
    .option('--gap-grace-ms <ms>', 'how long a gap may stay open before replay is requested', '2000')
    .option('--view <ms>', 'print the live view every N ms (0: off)', '2000')
    .option('--log-level <level>', 'log level on stderr', 'info')
    .addOption(new Option('--test-drop-live <from-to>', 'test hook: ignore live deliveries of these seqs').hideHelp())
    .action(async (o: PlatformCliOptions) => {
      const log = pino({ level: o.logLevel as LevelWithSilent, base: { cmd: 'platform' } }, pino.destination(2));
      let dropLive: { from: number; to: number } | undefined;
      if (o.testDropLive) {
        const m = /^(\d+)-(\d+)$/.exec(o.testDropLive);
        if (!m) throw new Error(`--test-drop-live: expected FROM-TO (got ${o.testDropLive})`);
        dropLive = { from: Number(m[1]), to: Number(m[2]) };
      }
      let platformKey;
      if (o.platformKey) {
        try {
          platformKey = createPrivateKey(readFileSync(o.platformKey, 'utf8'));
        } catch (e) {
          throw new Error(`--platform-key ${o.platformKey}: ${(e as Error).message} (expected an ed25519 private key in PEM, e.g. from openssl genpkey -algorithm ed25519)`);
        }
        if (platformKey.asymmetricKeyType !== 'ed25519') throw new Error(`--platform-key ${o.platformKey}: expected ed25519 (got ${platformKey.asymmetricKeyType})`);
      }
      const consumer = await startConsumer({
        url: o.url,
        ...(o.username ? { username: o.username } : {}),
        ...(o.passwordFile ? { password: readFileSync(o.passwordFile, 'utf8').trim() } : {}),
        prefix: o.prefix,
        site: o.site,
        storePath: o.store,
        clientId: o.clientId ?? `platform-${hostname()}-${process.pid}`,
        ...(o.share ? { shareGroup: o.share } : {}),
        ...(o.keys ? { keysFile: o.keys } : {}),
        tofu: o.tofu ?? false,
        ...(platformKey ? { platformKey } : {}),
        ack: o.ack ?? false,
        ...(o.replyTopic ? { replyTopic: o.replyTopic } : {}),
        gapGraceMs: int('--gap-grace-ms', o.gapGraceMs),
        viewMs: int('--view', o.view),
        log,
        ...(dropLive ? { dropLive } : {}),
      });
      await new Promise<void>((resolve) => {
        const stop = (): void => resolve();
        process.once('SIGTERM', stop);
        process.once('SIGINT', stop);
      });
      await consumer.stop();
      log.info('platform consumer stopped');
    });
}
