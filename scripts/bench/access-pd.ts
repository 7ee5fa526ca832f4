// The PD side of the access benchmark, in its own process so the CP's timing is not its
// own: the project's OSDP PD peer (test/peers/osdp-pd.ts) on a pty end, with two clocks
// on its side of the line — when the RAW card reply is handed to the port, and when an
// osdp_OUT for the strike has arrived. stdin: "card <bits>" presents a card, "report"
// prints the latencies (ms) as JSON.
import { createInterface } from 'node:readline';
import { startPdBus } from '../../test/peers/osdp-pd.js';

const bus = await startPdBus(process.argv[2], [{ address: 1, outputs: 2 }], 115200);
const pd = bus.pd;
const original = pd.handle.bind(pd);
let cardSentAt: number | null = null;
let seen = 0;
const lat: number[] = [];
const queue = pd as unknown as { pending: unknown[] };
pd.handle = (frame) => {
  const had = queue.pending.length;
  const out = original(frame);
  // The queued RAW went out as this reply: the card read leaves now.
  if (had > 0 && queue.pending.length < had) cardSentAt = performance.now();
  for (const x of pd.received.slice(seen)) {
    if (x.cmd.type === 'OUT' && cardSentAt !== null) {
      lat.push(performance.now() - cardSentAt);
      cardSentAt = null;
    }
  }
  seen = pd.received.length;
  return out;
};
process.stdout.write('READY\n');
for await (const line of createInterface({ input: process.stdin })) {
  const [cmd, arg] = line.trim().split(' ');
  if (cmd === 'card') {
    pd.presentCard(arg);
  } else if (cmd === 'report') process.stdout.write(`REPORT ${JSON.stringify(lat)}\n`);
}
await bus.close();
process.exit(0);
