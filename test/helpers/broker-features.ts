// Measures the MQTT 5 features gatewarden relies on, on a real broker (or between two
// nodes of a cluster: publisher on `pubUrl`, subscribers on `subUrl`). The result is the
// feature table of docs/platform.md, measured rather than read from a data sheet.
import { connect, type IConnackPacket, type MqttClient } from 'mqtt';

export interface BrokerFeatures {
  /** CONNACK Receive Maximum (undefined: not sent, i.e. 65535). */
  receiveMaximum: number | undefined;
  /** CONNACK Shared Subscription Available (undefined: not sent, i.e. available). */
  sharedSubscriptionAvailable: boolean | undefined;
  /** A `$share/…` subscription is granted and messages are split between two members. */
  sharedSubscriptions: boolean;
  /** Response topic and correlation data reach the subscriber unchanged. */
  responseTopic: boolean;
  /** User properties (hist=1) reach the subscriber. */
  userProperties: boolean;
  /** A retained message published on `pubUrl` is delivered to a later subscriber on `subUrl`. */
  retainedAcrossNodes: boolean;
}

const opts = (id: string) => ({ protocolVersion: 5 as const, clientId: id, clean: true, username: id, password: 'x', reconnectPeriod: 0, connectTimeout: 10_000 });

function open(url: string, id: string): Promise<{ c: MqttClient; connack: IConnackPacket }> {
  return new Promise((resolve, reject) => {
    const c = connect(url, opts(id));
    c.once('connect', (connack) => resolve({ c, connack }));
    c.once('error', reject);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function measureFeatures(pubUrl: string, subUrl: string, tag: string): Promise<BrokerFeatures> {
  const t = `featprobe/${tag}`;
  const pub = await open(pubUrl, `fp-pub-${tag}`);
  const sub = await open(subUrl, `fp-sub-${tag}`);
  const got: Array<{ topic: string; props: Record<string, unknown>; retain: boolean; who: string }> = [];
  sub.c.on('message', (topic, _p, pk) => got.push({ topic, props: (pk.properties ?? {}) as Record<string, unknown>, retain: pk.retain, who: 'sub' }));
  try {
    await new Promise<void>((r) => pub.c.publish(`${t}/ret`, 'retained', { qos: 1, retain: true }, () => r()));
    await sleep(300);
    await new Promise<void>((r) => sub.c.subscribe([`${t}/ret`, `${t}/rr`], { qos: 1 }, () => r()));
    await new Promise<void>((r) =>
      pub.c.publish(`${t}/rr`, 'x', { qos: 1, properties: { responseTopic: `${t}/reply`, correlationData: Buffer.from('corr-1'), userProperties: { hist: '1' } } }, () => r()),
    );
    await sleep(700);
    const rr = got.find((g) => g.topic === `${t}/rr`);
    const corr = rr?.props.correlationData as Buffer | undefined;
    const up = rr?.props.userProperties as Record<string, unknown> | undefined;
    const shared = await measureShared(pubUrl, subUrl, tag, pub.c);
    const p = sub.connack.properties ?? {};
    return {
      receiveMaximum: p.receiveMaximum,
      sharedSubscriptionAvailable: p.sharedSubscriptionAvailable,
      sharedSubscriptions: shared,
      responseTopic: rr?.props.responseTopic === `${t}/reply` && corr?.toString() === 'corr-1',
      userProperties: up?.hist === '1',
      retainedAcrossNodes: got.some((g) => g.topic === `${t}/ret` && g.retain),
    };
  } finally {
    await new Promise<void>((r) => pub.c.publish(`${t}/ret`, '', { qos: 1, retain: true }, () => r()));
    pub.c.end(true);
    sub.c.end(true);
  }
}

/** Two members of `$share/g/…` on subUrl; ten messages from pubUrl; true when each member got some and none twice. */
async function measureShared(_pubUrl: string, subUrl: string, tag: string, pub: MqttClient): Promise<boolean> {
  const t = `featprobe/${tag}/shared`;
  const members = await Promise.all([open(subUrl, `fp-sh1-${tag}`), open(subUrl, `fp-sh2-${tag}`)]);
  const counts = [0, 0];
  try {
    let granted = true;
    for (const [i, m] of members.entries()) {
      m.c.on('message', () => counts[i]++);
      const ok = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), 3000);
        m.c.once('close', () => resolve(false));
        m.c.subscribe(`$share/g/${t}`, { qos: 1 }, (err, g) => {
          clearTimeout(timer);
          resolve(!err && (g ?? []).every((x) => x.qos <= 2));
        });
      });
      granted &&= ok && m.c.connected;
    }
    if (!granted) return false;
    for (let i = 0; i < 10; i++) await new Promise<void>((r) => pub.publish(t, String(i), { qos: 1 }, () => r()));
    await sleep(700);
    return counts[0] > 0 && counts[1] > 0 && counts[0] + counts[1] === 10;
  } finally {
    for (const m of members) m.c.end(true);
  }
}
