// pino: JSON lines to stdout for journald; pretty only on a TTY (or when asked).
// Secrets come from the config schema's marks (config/secrets.ts), never from a list of
// names kept here: pino censors the keys of schema-marked secrets in any logged object,
// and every JSON line is scrubbed of the running config's literal secret values
// (config/redact.ts logSecretsOf), wherever in the line they appear.
import { pino, type DestinationStream, type Logger, type LevelWithSilent } from 'pino';
import { configSchema } from '../config/schema.js';
import { makeScrubber, secretPathsOf } from '../config/secrets.js';

/** pino censor paths for these key names, at the top level and two levels down. */
export function redactPaths(secretKeys: Iterable<string>): string[] {
  const keys = new Set(secretKeys);
  // Without a loaded config (early errors) the top-level schema still names its secrets.
  for (const p of secretPathsOf(configSchema)) if (p.kind === 'value') keys.add(p.path[p.path.length - 1]!);
  return [...keys].flatMap((k) => [k, `*.${k}`, `*.*.${k}`]);
}

export interface LogOptions {
  level: LevelWithSilent;
  format: 'auto' | 'json' | 'pretty';
  /** Destination fd (default 1 = stdout). */
  fd?: number;
  /** Literal secret values to scrub from every JSON line (config/redact.ts logSecretsOf). */
  secrets?: readonly string[];
  /** Key names of schema-marked secrets to censor in logged objects. */
  secretKeys?: readonly string[];
}

/** A destination that scrubs each line before it reaches fd; flush passes through. */
function scrubbingDestination(fd: number, secrets: readonly string[]): DestinationStream {
  const dest = pino.destination({ fd, sync: false });
  const scrub = makeScrubber(secrets);
  return {
    write: (line: string) => void dest.write(scrub(line)),
    flush: (cb?: (err?: Error) => void) => dest.flush(cb),
    flushSync: () => dest.flushSync(),
    end: () => dest.end(),
  } as DestinationStream;
}

export function createLogger(o: LogOptions): Logger {
  const pretty = o.format === 'pretty' || (o.format === 'auto' && process.stdout.isTTY === true);
  const base = { level: o.level, redact: { paths: redactPaths(o.secretKeys ?? []), censor: '[redacted]' }, base: { pid: process.pid } };
  if (pretty) {
    return pino({ ...base, transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname', destination: o.fd ?? 1 } } });
  }
  const secrets = (o.secrets ?? []).filter((s) => s.length >= 3);
  return pino(base, secrets.length > 0 ? scrubbingDestination(o.fd ?? 1, secrets) : pino.destination({ fd: o.fd ?? 1, sync: false }));
}
