// Prints what the demo broker carries, one line per event, so a newcomer sees signed
// events flowing at once. Signatures are checked with the key from the birth message.
import { verify, type KeyObject } from 'node:crypto';
import mqtt from 'mqtt';
import { jcs } from '../chain/jcs.js';
import { parsePublicKey } from '../chain/keys.js';
import type { SignedEvent } from '../events/types.js';

export function startEventPrinter(url: string, prefix: string, write: (line: string) => void): { close(): Promise<void> } {
  const client = mqtt.connect(url, { protocolVersion: 4, clientId: `gatewarden-demo-viewer-${process.pid}`, reconnectPeriod: 1000 });
  const keys = new Map<string, KeyObject>();
  client.on('connect', () => {
    client.subscribe([`${prefix}/+/+/state`, `${prefix}/+/+/evt/#`], { qos: 1 });
  });
  client.on('message', (topic, payload) => {
    try {
      if (topic.endsWith('/state')) {
        const st = JSON.parse(payload.toString()) as { online: boolean; kid?: string; pubkey?: string; bdSeq: number };
        if (st.kid && st.pubkey) keys.set(st.kid, parsePublicKey(st.pubkey));
        write(`  state  ${topic}  online=${st.online} bdSeq=${st.bdSeq}${st.kid ? ` kid=${st.kid}` : ''}`);
        return;
      }
      const ev = JSON.parse(payload.toString()) as SignedEvent;
      const key = keys.get(ev.body.kid);
      const ok = key ? verify(null, Buffer.from(jcs(ev.body)), key, Buffer.from(ev.sig, 'base64url')) : undefined;
      const mark = ok === undefined ? '?' : ok ? '✓' : '✗ BAD SIGNATURE';
      const data = JSON.stringify(ev.body.data);
      write(`  ${mark} #${ev.body.seq}  ${ev.body.severity.padEnd(7)} ${ev.body.type.padEnd(26)} ${ev.body.src.device.padEnd(16)} ${data.length > 90 ? `${data.slice(0, 87)}...` : data}`);
    } catch {
      write(`  ? unparseable message on ${topic}`);
    }
  });
  return { close: () => new Promise((r) => client.end(true, {}, () => r())) };
}
