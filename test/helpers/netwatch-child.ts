// Runs a Netwatch inside whatever network namespace it is started in (the netns tests
// start it with `ip netns exec <gw> node --import tsx …`), so /proc/net and `ip monitor`
// show that namespace only. stdout protocol, one JSON object per line:
//   {"obs": Observation}                  every emitted observation
//   {"polls": n, "learning": bool}        after each completed poll
// argv[2] is the netwatch config as JSON (parsed through netwatchConfigSchema), argv[3]
// the state dir. SIGTERM stops it cleanly (baseline saved); tests may also SIGKILL it.
import { pino } from 'pino';
import { netwatchConfigSchema } from '../../agent/anomaly/config.js';
import { Netwatch } from '../../agent/anomaly/netwatch.js';
import { systemClock } from '../../agent/clock.js';
import { checkObservation } from '../../agent/events/types.js';

const config = netwatchConfigSchema.parse(JSON.parse(process.argv[2] ?? '{}'));
const stateDir = process.argv[3] ?? '/tmp';
const write = (o: unknown): void => {
  process.stdout.write(`${JSON.stringify(o)}\n`);
};

const nw = new Netwatch({
  config,
  stateDir,
  clock: systemClock,
  log: pino({ level: 'warn' }, pino.destination(2)),
  emit: (obs) => {
    checkObservation(obs);
    write({ obs });
  },
});

let polls = -1;
const ticker = setInterval(() => {
  if (nw.counters.polls !== polls) {
    polls = nw.counters.polls;
    write({ polls, learning: nw.learning });
  }
}, 20);

await nw.start();
process.on('SIGTERM', () => {
  clearInterval(ticker);
  void nw.stop().then(() => process.exit(0));
});
