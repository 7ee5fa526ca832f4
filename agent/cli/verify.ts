// `gatewarden verify --pubkey KEY [--pubkey KEY2] [--head E:S[:H] | --head-message FILE|-] [--strict] [--from-start] [--json] [FILE|-]`.
// Reads JSONL line by line (readline), so files of any size stream
// through the library verifier in agent/verify. Exit codes are part of the interface:
// 0 clean, 1 defects (or strict findings), 2 usage errors (bad key, bad --head,
// unreadable file, unknown option).
import { open, readFile, stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import type { Command } from 'commander';
import { createVerifier, keyring } from '../verify/verify.js';
import { renderReport } from '../verify/report.js';
import type { ExpectedHead } from '../verify/types.js';

export interface VerifyCliOptions {
  pubkey?: string[];
  head?: string;
  headMessage?: string;
  strict?: boolean;
  fromStart?: boolean;
  json?: boolean;
}

export interface VerifyIo {
  stdin: Readable;
  stdout: Writable;
  stderr: Writable;
}

export const EXIT_CLEAN = 0;
export const EXIT_DEFECTS = 1;
export const EXIT_USAGE = 2;

class UsageError extends Error {}

/** `EPOCH:SEQ[:HASH]`, as the health topic reports the head. Epoch ids and hashes are base64url (no ':'). */
export function parseHead(text: string): ExpectedHead {
  const m = /^([A-Za-z0-9_-]+):(\d+)(?::([A-Za-z0-9_-]*))?$/.exec(text.trim());
  if (!m) throw new UsageError(`--head: expected EPOCH:SEQ[:HASH] (got ${JSON.stringify(text)})`);
  const seq = Number(m[2]);
  if (!Number.isSafeInteger(seq)) throw new UsageError(`--head: seq out of range (got ${m[2]})`);
  return m[3] ? { epoch: m[1], seq, hash: m[3] } : { epoch: m[1], seq };
}

/** A --pubkey value is key text (base64url raw or PEM) or the path of a file holding it. */
async function keyText(v: string): Promise<string> {
  const isFile = await stat(v).then((s) => s.isFile(), () => false);
  if (!isFile) return v;
  try {
    return await readFile(v, 'utf8');
  } catch (e) {
    throw new UsageError(`--pubkey ${v}: ${(e as Error).message}`);
  }
}

async function readAll(r: Readable): Promise<string> {
  let text = '';
  for await (const chunk of r) text += typeof chunk === 'string' ? chunk : (chunk as Buffer).toString('utf8');
  return text;
}

/** Runs the command; resolves to the exit code (never calls process.exit). */
export async function runVerify(file: string | undefined, o: VerifyCliOptions, io: VerifyIo): Promise<number> {
  let verifier;
  let input: Readable;
  let close: () => Promise<void> = async () => {};
  try {
    const given = o.pubkey ?? [];
    if (given.length === 0) throw new UsageError('--pubkey KEY is required (base64url raw key as in the birth message, PEM, or a file)');
    const texts = await Promise.all(given.map(keyText));
    let keys;
    try {
      keys = [...keyring(texts).values()];
    } catch (e) {
      throw new UsageError(`--pubkey: ${(e as Error).message}`);
    }
    let headMessage: string | undefined;
    if (o.headMessage !== undefined) {
      if (o.headMessage === '-' && (file === undefined || file === '-')) throw new UsageError('--head-message - reads stdin: give the events as a FILE');
      headMessage = o.headMessage === '-' ? await readAll(io.stdin) : await readFile(o.headMessage, 'utf8').catch((e: Error) => {
        throw new UsageError(`--head-message ${o.headMessage}: ${e.message}`);
      });
    }
    verifier = createVerifier({
      pubkeys: keys,
      strict: o.strict ?? false,
      fromStart: o.fromStart ?? false,
      ...(o.head ? { expectHead: parseHead(o.head) } : {}),
      ...(headMessage !== undefined ? { expectHeadMessage: headMessage } : {}),
    });
    if (file === undefined || file === '-') input = io.stdin;
    else {
      // Opened up front so an unreadable file is a usage error, not a stream error mid-read.
      const fh = await open(file, 'r').catch((e: Error) => {
        throw new UsageError(`cannot read ${file}: ${e.message}`);
      });
      input = fh.createReadStream({ encoding: 'utf8' });
      close = () => fh.close().catch(() => {});
    }
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    io.stderr.write(`verify: ${e.message}\n`);
    return EXIT_USAGE;
  }
  try {
    const rl = createInterface({ input, crlfDelay: Infinity });
    for await (const line of rl) verifier.push(line);
  } catch (e) {
    io.stderr.write(`verify: read error: ${(e as Error).message}\n`);
    return EXIT_USAGE;
  } finally {
    await close();
  }
  const report = verifier.finish();
  io.stdout.write(o.json ? JSON.stringify(report, null, 2) + '\n' : renderReport(report));
  return report.ok ? EXIT_CLEAN : EXIT_DEFECTS;
}

/**
 * Adds `verify` to the program. The action sets process.exitCode (so stdout drains)
 * instead of exiting; the caller must use `program.parseAsync()`. Commander's own
 * usage errors on this command (unknown option, missing value) exit with 2.
 */
export function registerVerify(program: Command): void {
  program
    .command('verify')
    .description('verify signed event chains (JSONL of {body, sig}, one per line); exit 0 only if clean')
    .argument('[file]', 'JSONL file, or - for stdin (default)')
    .option('--pubkey <key>', 'gateway public key: base64url raw (birth message state.pubkey), PEM, or a file; repeatable', (v: string, acc: string[] | undefined) => [...(acc ?? []), v])
    .option('--head <epoch:seq[:hash]>', 'head attested out of band (e.g. the health topic); a shorter chain is truncated')
    .option('--head-message <file>', 'the retained signed head message ({body, sig} of the head topic), a file or - for stdin: its signature is checked, then its head is expected as with --head')
    .option('--strict', 'fail on re-deliveries, out-of-order arrival and late join too')
    .option('--from-start', 'the input is complete (spool export, subscriber present from the start): every epoch must begin at seq 1 and every seq not received must be declared dropped')
    .option('--json', 'print the report as JSON')
    .exitOverride((err) => {
      process.exit(err.exitCode === 0 ? 0 : EXIT_USAGE);
    })
    .action(async (file: string | undefined, o: VerifyCliOptions) => {
      process.exitCode = await runVerify(file, o, { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr });
    });
}
