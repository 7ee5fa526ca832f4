// The reference platform consumer (`gatewarden platform`, docs/platform.md): subscribes to
// one site or all, checks every event's signature on arrival, stores it once (dedupe by
// gateway, epoch, seq), verifies contiguous runs with the verifier library, repairs gaps
// with signed `spool.replay` commands, acks the durable verified prefix, verifies the
// signed head, follows key rotation, and prints a live view.
//
// Broker PUBACKs go out on receipt (mqtt.js default): the evidence is safe because the
// gateway keeps every event until the platform ack (mqtt.platformAck), which is sent only
// for events committed here; what a crash loses between PUBACK and commit is a gap that
// replay (or the gateway's resend) fills.
import type { KeyObject } from 'node:crypto';
import type { Writable } from 'node:stream';
import { connect, type IClientOptions, type IPublishPacket, type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import type { Range } from '../verify/ranges.js';
import { advanceChain, type ChainState } from './chains.js';
import { checkArrival, checkHead } from './check.js';
import { KeyBook, readEnrolment } from './keys.js';
import { buildReplay, readReplayAnswer, replayChunks, type ReplayRequest } from './replay.js';
import { PlatformStore, type StoredEvent } from './store.js';
import { renderIncident, renderView } from './view.js';

export interface ConsumerOptions {
  url: string;
  username?: string;
  password?: string;
  /** Topic prefix, as the gateways' mqtt.topicPrefix (default gatewarden/v1). */
  prefix: string;
  /** One site id, or '+' for all. */
  site: string;
  /** SQLite file; consumers of one share group should use the same file. */
  storePath: string;
  clientId: string;
  /** MQTT 5 shared subscription group for the evt topics (`$share/{group}/…`). */
  shareGroup?: string;
  /** Key enrolment file `{ "site/gw": pubkey }`. */
  keysFile?: string;
  /** Trust the first birth message's key of a gateway with no enrolled key (weaker). */
  tofu?: boolean;
  /** Platform key: signs spool.replay. Without it gaps are shown, not repaired. */
  platformKey?: KeyObject;
  ack?: boolean;
  /** Where command results come back (MQTT 5 response topic). */
  replyTopic?: string;
  gapGraceMs?: number;
  replayRetryMs?: number;
  tickMs?: number;
  /** Live view every N ms to `out` (0: off). */
  viewMs?: number;
  out?: Writable;
  log: Logger;
  /** Test hook: ignore live (hist≠1) deliveries with seq in this range, as if the broker lost them. */
  dropLive?: Range;
}

export interface PlatformConsumer {
  store: PlatformStore;
  /** Current chain states (after the last tick). */
  states(): ChainState[];
  stop(): Promise<void>;
}

interface Pending {
  event: StoredEvent;
  data: Record<string, unknown>;
}

export async function startConsumer(o: ConsumerOptions): Promise<PlatformConsumer> {
  const log = o.log;
  const store = new PlatformStore(o.storePath, o.clientId);
  const keys = new KeyBook(store);
  if (o.keysFile) for (const k of readEnrolment(o.keysFile)) store.addKey(k);
  const prefix = o.prefix.replace(/\/+$/, '');
  const replyTopic = o.replyTopic ?? `${prefix}/_platform/${o.clientId}/reply`;
  const tickMs = o.tickMs ?? 500;
  const grace = o.gapGraceMs ?? 2000;
  const retry = o.replayRetryMs ?? 15_000;
  const out = o.out ?? process.stdout;

  let batch: Pending[] = [];
  let flushTimer: NodeJS.Timeout | null = null;
  /** Events whose kid has no key yet (rotation not yet verified), retried when keys are learned. */
  const parked = new Map<string, { payload: string; site: string; gw: string; hist: boolean }>();
  const online = new Map<string, boolean>();
  const holeSince = new Map<string, Array<{ r: Range; since: number }>>();
  const replays = new Map<string, ReplayRequest>();
  let states: ChainState[] = [];
  let lastView = '';
  let stopped = false;
  const warned = new Set<string>();

  const opts: IClientOptions = {
    protocolVersion: 5,
    clientId: o.clientId,
    clean: true,
    reconnectPeriod: 1000,
    connectTimeout: 10_000,
    ...(o.username ? { username: o.username } : {}),
    ...(o.password ? { password: o.password } : {}),
  };
  const client: MqttClient = connect(o.url, opts);
  const evtFilter = `${o.shareGroup ? `$share/${o.shareGroup}/` : ''}${prefix}/${o.site}/+/evt/#`;
  client.on('connect', () => {
    log.info({ url: o.url, clientId: o.clientId, evtFilter }, 'platform consumer connected');
    const filters = [evtFilter, `${prefix}/${o.site}/+/state`, `${prefix}/${o.site}/+/head`, replyTopic];
    client.subscribe(filters, { qos: 1 }, (err, granted) => {
      if (err) return log.error({ err: err.message }, 'subscribe failed');
      for (const g of granted ?? []) if (g.qos > 2) log.error({ filter: g.topic, reason: g.qos }, 'broker refused a subscription');
    });
  });
  client.on('error', (err) => log.warn({ err: err.message }, 'mqtt error'));
  client.on('message', (topic, payload, packet) => {
    try {
      onMessage(topic, payload, packet);
    } catch (e) {
      log.error({ err: (e as Error).message, topic }, 'message could not be handled');
    }
  });

  function onMessage(topic: string, payload: Buffer, packet: IPublishPacket): void {
    if (topic === replyTopic) return onReply(payload, packet);
    if (!topic.startsWith(prefix + '/')) return;
    const [site, gw, kind] = topic.slice(prefix.length + 1).split('/');
    if (!site || !gw) return;
    const text = payload.toString('utf8');
    if (kind === 'evt') {
      const up = packet.properties?.userProperties?.hist;
      const hist = up === '1' || (Array.isArray(up) && up.includes('1'));
      receive(text, site, gw, hist);
    } else if (kind === 'state') onBirth(text, site, gw);
    else if (kind === 'head' && text.length > 0) onHead(text, site, gw);
  }

  function receive(text: string, site: string, gw: string, hist: boolean): void {
    const a = checkArrival(text, site, gw, (s, g) => keys.get(s, g), hist);
    if (!a.ok) {
      if (a.why === 'unknown-kid') {
        const body = (JSON.parse(text) as { body: { epoch: string; seq: number } }).body;
        if (parked.size < 100_000) parked.set(`${site}/${gw}/${body.epoch}/${body.seq}`, { payload: text, site, gw, hist });
        warnOnce(`kid:${a.kid}`, { site, gw, kid: a.kid }, `no key for ${site}/${gw} kid ${a.kid}: events kept aside until a key is enrolled or a verified rotation names it`);
      } else log.warn({ site, gw, why: a.why, detail: a.detail }, 'event refused');
      return;
    }
    const e = a.event;
    if (o.dropLive && !hist && e.seq >= o.dropLive.from && e.seq <= o.dropLive.to) {
      log.warn({ site, gw, seq: e.seq }, 'test hook: live delivery ignored');
      return;
    }
    batch.push({ event: e, data: a.signed.body.data as Record<string, unknown> });
    flushTimer ??= setTimeout(flush, 10);
  }

  function flush(): void {
    flushTimer = null;
    const items = batch;
    batch = [];
    if (items.length === 0) return;
    const outcomes = store.insertBatch(items.map((p) => p.event));
    items.forEach((p, i) => {
      const e = p.event;
      if (outcomes[i] === 'conflict') log.error({ site: e.site, gw: e.gw, epoch: e.epoch, seq: e.seq }, 'CONFLICT: a different validly signed body for a stored seq (kept the first)');
      if (outcomes[i] !== 'stored') return;
      if (e.type.startsWith('incident.')) out.write(renderIncident({ site: e.site, gw: e.gw, seq: e.seq, type: e.type, severity: e.severity, data: p.data }));
      if (e.type === 'system.spool.overflow' && Array.isArray(p.data.dropped)) {
        for (const r of p.data.dropped as Array<{ epoch?: unknown; from?: unknown; to?: unknown }>) {
          if (typeof r.epoch === 'string' && Number.isSafeInteger(r.from) && Number.isSafeInteger(r.to)) store.addDeclared(e.site, e.gw, r.epoch, r.from as number, r.to as number, `${e.epoch}:${e.seq}`);
        }
      }
    });
  }

  function onBirth(text: string, site: string, gw: string): void {
    let b: { online?: unknown; pubkey?: unknown };
    try {
      b = JSON.parse(text) as typeof b;
    } catch {
      return;
    }
    online.set(`${site}/${gw}`, b.online === true);
    if (o.tofu && b.online === true && typeof b.pubkey === 'string' && !keys.has(site, gw)) {
      keys.add(site, gw, b.pubkey, 'tofu');
      log.warn({ site, gw }, 'trust on first use: pinned the key of the birth message (not enrolled out of band)');
      retryParked();
    }
  }

  function onHead(text: string, site: string, gw: string): void {
    const h = checkHead(text, site, gw, (s, g) => keys.get(s, g));
    if (!h.ok) return warnOnce(`head:${site}/${gw}:${h.detail}`, { site, gw }, h.detail);
    const stored = store.hashAt(site, gw, h.head.epoch, h.head.seq);
    if (stored !== undefined && stored !== h.head.hash) log.error({ site, gw, epoch: h.head.epoch, seq: h.head.seq }, 'HEAD MISMATCH: the signed head names another hash than the stored event');
    store.setHead(h.head);
  }

  function onReply(payload: Buffer, packet: IPublishPacket): void {
    const id = packet.properties?.correlationData?.toString();
    const req = id ? replays.get(id) : undefined;
    const ans = readReplayAnswer(payload.toString('utf8'));
    if (!req || !ans) return;
    replays.delete(req.id);
    if (!ans.ok) return void log.warn({ site: req.site, gw: req.gw, epoch: req.epoch, from: req.from, to: req.to, error: ans.error }, 'replay refused');
    for (const r of ans.missing) store.markGap(req.site, req.gw, req.epoch, r.from, r.to, 'missing');
    for (const r of ans.declared) store.markGap(req.site, req.gw, req.epoch, r.from, r.to, 'declared');
    log.info({ site: req.site, gw: req.gw, epoch: req.epoch, from: req.from, to: req.to, replayed: ans.replayed, missing: ans.missing, declared: ans.declared }, 'replay answered');
  }

  function retryParked(): void {
    const items = [...parked.values()];
    parked.clear();
    for (const p of items) receive(p.payload, p.site, p.gw, p.hist);
  }

  function warnOnce(key: string, fields: Record<string, unknown>, msg: string): void {
    if (warned.has(key)) return;
    warned.add(key);
    log.warn(fields, msg);
  }

  function tick(): void {
    if (stopped) return;
    flush();
    if (parked.size > 0) {
      keys.refresh();
      retryParked();
    }
    const now = Date.now();
    const next: ChainState[] = [];
    for (const c of store.chains()) {
      if (o.site !== '+' && c.site !== o.site) continue;
      const s = advanceChain(store, keys, c);
      next.push(s);
      if (s.learned > 0) {
        log.info({ site: s.site, gw: s.gw, epoch: s.epoch, learned: s.learned }, 'key rotation followed: new key learned from a verified key_rotated event');
        retryParked();
      }
      if (s.defects.length > 0) warnOnce(`defect:${s.site}/${s.gw}/${s.epoch}:${s.defects[0]}`, { site: s.site, gw: s.gw, epoch: s.epoch, defects: s.defects }, 'chain defect: verified head held');
      if (o.ack && s.verifiedSeq > c.ackedSeq) sendAck(s);
      requestRepairs(s, now);
    }
    states = next;
    if ((o.viewMs ?? 0) > 0) printView(now);
  }

  function sendAck(s: ChainState): void {
    const payload = JSON.stringify({ epoch: s.epoch, seq: s.verifiedSeq, hash: s.verifiedHash });
    client.publish(`${prefix}/${s.site}/${s.gw}/ack`, payload, { qos: 1 }, (err) => {
      if (err) return log.warn({ err: err.message, site: s.site, gw: s.gw }, 'ack not delivered to the broker');
      store.setAcked(s.site, s.gw, s.epoch, s.verifiedSeq);
    });
  }

  function requestRepairs(s: ChainState, now: number): void {
    const key = `${s.site}/${s.gw}/${s.epoch}`;
    const before = holeSince.get(key) ?? [];
    const aged = s.holes.map((r) => {
      const overlapping = before.filter((b) => b.r.from <= r.to && r.from <= b.r.to).map((b) => b.since);
      return { r, since: overlapping.length ? Math.min(...overlapping) : now };
    });
    holeSince.set(key, aged);
    if (!o.platformKey || !client.connected) return;
    for (const { r, since } of aged) {
      if (now - since < grace) continue;
      for (const chunk of replayChunks(r)) {
        if (!store.claimReplay(s.site, s.gw, s.epoch, chunk.from, chunk.to, retry)) continue;
        const req = buildReplay(o.platformKey, s.site, s.gw, s.epoch, chunk, 60_000);
        replays.set(req.id, req);
        log.info({ site: s.site, gw: s.gw, epoch: s.epoch, from: chunk.from, to: chunk.to, id: req.id }, 'gap: spool.replay requested');
        client.publish(`${prefix}/${s.site}/${s.gw}/cmd/spool.replay`, req.payload, { qos: 1, properties: { responseTopic: replyTopic, correlationData: Buffer.from(req.id) } });
      }
    }
  }

  function printView(now: number): void {
    const stored = new Map(store.chains().map((r) => [`${r.site}/${r.gw}/${r.epoch}`, r]));
    const gaps = store.gaps();
    const rows = states.map((c) => ({
      chain: c,
      lastSeen: stored.get(`${c.site}/${c.gw}/${c.epoch}`)?.lastSeen ?? 0,
      ackedSeq: stored.get(`${c.site}/${c.gw}/${c.epoch}`)?.ackedSeq ?? 0,
      online: online.get(`${c.site}/${c.gw}`) ?? null,
      gaps: gaps.filter((g) => g.site === c.site && g.gw === c.gw && g.epoch === c.epoch),
      conflicts: store.conflictCount(c.site, c.gw),
    }));
    const text = renderView(rows, now);
    // Re-print when something other than the clock changed, or every 10 s.
    const sig = text.replace(/^-- .*\n/, '').replace(/last seen \d+s ago/g, '');
    if (sig !== lastView || now % 10_000 < tickMs) out.write(text);
    lastView = sig;
  }

  const timer = setInterval(tick, tickMs);
  return {
    store,
    states: () => states,
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      if (flushTimer) clearTimeout(flushTimer);
      flush();
      await new Promise<void>((resolve) => client.end(false, {}, () => resolve()));
      store.close();
    },
  };
}
