// Child process for the Will test: runs a Forwarder against FWD_URL and prints
// `birth <bdSeq>` once connected, then waits to be SIGKILLed by the parent.
import { makeForwarder } from './forwarder-fixture.js';
import { MemorySpool } from './memory-spool.js';

const spool = new MemorySpool();
spool.setMeta('bdSeq', process.env.FWD_BDSEQ ?? '0');
const { fwd } = makeForwarder({ spool, mqtt: { url: process.env.FWD_URL, keepaliveSeconds: 60 } });
fwd.start();
const t = setInterval(() => {
  const s = fwd.status();
  if (s.connected) {
    process.stdout.write(`birth ${s.bdSeq}\n`);
    clearInterval(t);
  }
}, 20);
setInterval(() => {}, 1 << 30);
