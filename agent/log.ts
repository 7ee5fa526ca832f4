// pino: JSON lines to stdout for journald; pretty only on a TTY (or when asked). Under
// journald (JOURNAL_STREAM names stdout) each line starts with its syslog priority `<N>`.
// Secrets come from the config schema's marks (config/secrets.ts), never from a list of
// names kept here: pino censors the keys of schema-marked secrets in any logged object,
// and every JSON line is scrubbed of the running config's literal secret values
// (config/redact.ts logSecretsOf), wherever in the line they appear.
import { fstatSync } from 'node:fs';
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

/** pino's numeric levels → syslog priorities (sd-daemon.h: <7> debug … <2> crit). */
export const SYSLOG_PRIORITY: Readonly<Record<number, number>> = { 10: 7, 20: 7, 30: 6, 40: 4, 50: 3, 60: 2 };

/**
 * `<N>` + the line: journald strips the prefix (SyslogLevelPrefix=yes, systemd's default
 * for stdout) and files the line at priority N, so `journalctl -p err` finds errors. The
 * rest of the line is the unchanged JSON.
 */
export function withSyslogPrefix(line: string): string {
  const m = /^\{"level":(\d+)/.exec(line);
  return `<${(m && SYSLOG_PRIORITY[Number(m[1])]) ?? 6}>${line}`;
}

/**
 * Is `fd` connected to the journal? systemd sets JOURNAL_STREAM=DEV:INODE for the stream
 * it gave the service; it must match fd, since a child's stdout may be redirected while
 * the variable is inherited (systemd.exec(5)).
 */
export function fdIsJournal(fd: number, env: NodeJS.ProcessEnv = process.env): boolean {
  const m = /^(\d+):(\d+)$/.exec(env.JOURNAL_STREAM ?? '');
  if (!m) return false;
  try {
    const st = fstatSync(fd, { bigint: true });
    return st.dev === BigInt(m[1]!) && st.ino === BigInt(m[2]!);
  } catch {
    return false;
  }
}

/** A destination that rewrites each line (scrub secrets, syslog prefix) before it reaches fd; flush passes through. */
function rewritingDestination(fd: number, rewrite: (line: string) => string): DestinationStream {
  const dest = pino.destination({ fd, sync: false });
  return {
    write: (line: string) => void dest.write(rewrite(line)),
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
  const fd = o.fd ?? 1;
  const secrets = (o.secrets ?? []).filter((s) => s.length >= 3);
  const scrub = secrets.length > 0 ? makeScrubber(secrets) : null;
  const prefix = fdIsJournal(fd);
  if (!scrub && !prefix) return pino(base, pino.destination({ fd, sync: false }));
  return pino(base, rewritingDestination(fd, (line) => (prefix ? withSyslogPrefix(scrub ? scrub(line) : line) : scrub!(line))));
}
