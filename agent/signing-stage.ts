// Signs sealed events in a worker thread and hands them on in seq order (docs/contracts.md
// §Pipeline: between the chain and the spool). Ed25519 signing is about half of the pipeline's
// CPU; the chain links hashes of bodies, not signatures, so signing can run beside the
// main thread while seq, prev and hash stay strictly sequential in agent/chain.
// Contract: events leave in exactly the order they entered; an event is not accepted
// until the spool committed it, so events still here at a crash were never accepted.
import { createPublicKey, sign, type KeyObject } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { completeSignature, type SealedEvent } from './chain/chain.js';
import { kidOf, rawPublicKey } from './chain/keys.js';
import type { EventSink } from './pipeline.js';

// Plain JS (eval worker): no TypeScript loader needed inside the thread.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { createPrivateKey, sign } = require('node:crypto');
let key = createPrivateKey(workerData.pem);
parentPort.on('message', (m) => {
  if (m.pem) key = createPrivateKey(m.pem);
  const sigs = new Array(m.items.length);
  for (let i = 0; i < m.items.length; i++) sigs[i] = sign(null, m.items[i], key).toString('base64url');
  parentPort.postMessage({ id: m.id, sigs });
});
`;

/** Events per message to the worker: large enough to amortise the hop, small for latency. */
const BATCH = 256;
/** Batches in flight: one being signed, one queued, so the worker never idles. */
const IN_FLIGHT = 2;
/**
 * Events signed inline within one second before the worker starts. A site with a handful of
 * devices signs a few events a second, which costs the main thread nothing (≈50 µs each),
 * and a worker thread costs ≈5 MB of RSS on a Pi for nothing; a backlog, a burst or a busy
 * site crosses this within its first second and gets the worker (docs/performance.md).
 */
export const WORKER_START_RATE = 200;

export interface SigningStageOptions {
  privateKey: KeyObject;
  next: EventSink;
  log: Logger;
  /** Inline signatures per second that start the worker (default WORKER_START_RATE; 0 = at once). */
  startWorkerAt?: number;
}

export class SigningStage implements EventSink {
  private worker: Worker | null = null;
  /** The worker died once: sign inline from then on. */
  private workerFailed = false;
  private readonly startWorkerAt: number;
  private windowStart = 0;
  private inWindow = 0;
  /** Events not yet handed on, in order; a prefix may be signed already. */
  private readonly queue: SealedEvent[] = [];
  /** Unsigned events not yet sent to the worker (a suffix of queue). */
  private pending: SealedEvent[] = [];
  private readonly inflight = new Map<number, SealedEvent[]>();
  private nextId = 1;
  private scheduled = false;
  private idleWaiters: Array<() => void> = [];
  readonly counters = { signedInWorker: 0, signedInline: 0 };
  /**
   * Private keys by kid: each event is signed with the key its body names (body.kid), so
   * a key rotation (agent/chain/chain.ts rotate) can happen with events of the old key
   * still in the stage. The worker holds one key at a time; a batch of another kid
   * carries that key's PEM, and the worker switches before signing it.
   */
  private readonly keys = new Map<string, KeyObject>();
  private workerKid: string;

  constructor(private readonly o: SigningStageOptions) {
    this.workerKid = this.addKey(o.privateKey);
    this.startWorkerAt = Math.max(0, o.startWorkerAt ?? WORKER_START_RATE);
    if (this.startWorkerAt === 0) this.worker = this.startWorker();
  }

  /** Whether the worker runs (it starts once the signing rate calls for it). */
  get workerRunning(): boolean {
    return this.worker !== null;
  }

  /** Start the worker once more than startWorkerAt events were signed inline within a second. */
  private wantWorker(): boolean {
    if (this.workerFailed) return false;
    const now = performance.now();
    if (now - this.windowStart > 1000) {
      this.windowStart = now;
      this.inWindow = 0;
    }
    this.inWindow += 1;
    return this.inWindow > this.startWorkerAt;
  }

  /** Make another key available (before the chain seals events under it); returns its kid. */
  addKey(privateKey: KeyObject): string {
    const kid = kidOf(rawPublicKey(createPublicKey(privateKey)));
    this.keys.set(kid, privateKey);
    return kid;
  }

  private startWorker(): Worker | null {
    this.o.log.debug({ rate: this.startWorkerAt }, 'signing rate calls for the worker: starting it');
    try {
      const pem = (this.keys.get(this.workerKid) ?? this.o.privateKey).export({ format: 'pem', type: 'pkcs8' }) as string;
      const w = new Worker(WORKER_SOURCE, { eval: true, workerData: { pem } });
      w.on('message', (m: { id: number; sigs: string[] }) => this.onSigned(m.id, m.sigs));
      w.on('error', (err) => this.fallback(err));
      w.on('exit', (code) => {
        // close() detaches the worker before terminating it; any other exit is a failure.
        if (this.worker === w) this.fallback(new Error(`signing worker exited (code ${code})`));
      });
      w.unref();
      return w;
    } catch (err) {
      this.o.log.warn({ err }, 'no signing worker; signing inline');
      this.workerFailed = true;
      return null;
    }
  }

  /** The worker died: sign what it held inline, in order, and carry on without it. */
  private fallback(err: Error): void {
    this.o.log.error({ err }, 'signing worker failed; signing inline from now on');
    this.worker = null;
    this.workerFailed = true;
    for (const batch of this.inflight.values()) for (const e of batch) this.signInline(e);
    this.inflight.clear();
    for (const e of this.pending) this.signInline(e);
    this.pending = [];
    this.drain();
  }

  private signInline(e: SealedEvent): void {
    if (!e.unsigned) return;
    completeSignature(e, sign(null, e.unsigned.bytes, this.keys.get(e.body.kid) ?? this.o.privateKey).toString('base64url'));
    this.counters.signedInline += 1;
  }

  enqueue(e: SealedEvent): void {
    this.queue.push(e);
    if (!e.unsigned) {
      this.drain();
      return;
    }
    if (!this.worker && this.wantWorker()) this.worker = this.startWorker();
    if (!this.worker) {
      this.signInline(e);
      this.drain();
      return;
    }
    this.pending.push(e);
    if (this.pending.length >= BATCH && this.inflight.size < IN_FLIGHT) this.dispatch();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        this.dispatch();
      });
    }
  }

  private dispatch(): void {
    while (this.worker && this.pending.length > 0 && this.inflight.size < IN_FLIGHT) {
      // One kid per batch: the worker signs a batch with one key.
      const kid = this.pending[0].body.kid;
      let n = 1;
      while (n < this.pending.length && n < BATCH && this.pending[n].body.kid === kid) n++;
      const batch = this.pending.splice(0, n);
      const id = this.nextId++;
      this.inflight.set(id, batch);
      let pem: string | undefined;
      if (kid !== this.workerKid && this.keys.has(kid)) {
        pem = this.keys.get(kid)!.export({ format: 'pem', type: 'pkcs8' }) as string;
        this.workerKid = kid;
      }
      // Referenced only while it holds work: an idle worker must not keep the process alive,
      // a busy one must (its answers are what the event loop is waiting for).
      this.worker.ref();
      this.worker.postMessage({ id, items: batch.map((e) => e.unsigned!.bytes), ...(pem ? { pem } : {}) });
    }
  }

  private onSigned(id: number, sigs: string[]): void {
    const batch = this.inflight.get(id);
    if (!batch) return;
    this.inflight.delete(id);
    for (let i = 0; i < batch.length; i++) completeSignature(batch[i], sigs[i]);
    this.counters.signedInWorker += batch.length;
    if (this.inflight.size === 0) this.worker?.unref();
    this.drain();
    this.dispatch();
  }

  /** Hand on the signed prefix of the queue, in order. */
  private drain(): void {
    let n = 0;
    while (n < this.queue.length && !this.queue[n].unsigned) n++;
    if (n > 0) for (const e of this.queue.splice(0, n)) this.o.next.enqueue(e);
    if (this.queue.length === 0) for (const w of this.idleWaiters.splice(0)) w();
  }

  /** Resolves once every event enqueued so far has been handed on (shutdown, tests). */
  flush(): Promise<void> {
    this.dispatch();
    if (this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  async close(): Promise<void> {
    await this.flush();
    const w = this.worker;
    this.worker = null;
    await w?.terminate();
  }
}
