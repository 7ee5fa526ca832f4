// pino: JSON lines to stdout for journald; pretty only on a TTY (or when asked).
// Secrets are redacted wherever they may appear in a logged object.
import { pino, type Logger, type LevelWithSilent } from 'pino';

export const REDACT_PATHS = [
  'password',
  '*.password',
  '*.*.password',
  'passphrase',
  '*.passphrase',
  'key',
  '*.scbk',
  '*.*.scbk',
  'scbk',
  'pin',
  '*.pin',
  'privateKey',
  '*.privateKey',
  'authorization',
  '*.authorization',
];

export interface LogOptions {
  level: LevelWithSilent;
  format: 'auto' | 'json' | 'pretty';
  /** Destination fd (default 1 = stdout). */
  fd?: number;
}

export function createLogger(o: LogOptions): Logger {
  const pretty = o.format === 'pretty' || (o.format === 'auto' && process.stdout.isTTY === true);
  const base = { level: o.level, redact: { paths: REDACT_PATHS, censor: '[redacted]' }, base: { pid: process.pid } };
  if (pretty) {
    return pino({ ...base, transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname', destination: o.fd ?? 1 } } });
  }
  return pino(base, pino.destination({ fd: o.fd ?? 1, sync: false }));
}
