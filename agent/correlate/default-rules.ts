// The shipped correlation rules. Type names are the ones the drivers emit (checked
// against docs/events.schema.json): OSDP door forced/held and reader tamper, the Modbus
// door contact alarm, ONVIF tamper and video loss, netwatch verdicts, and the gateway's own
// access decisions (`access.card.denied`, agent/access/).
import { ruleSchema, type Rule, type RuleInput } from './config.js';

const NET_KEYS: RuleInput['steps'][number]['keys'] = ['data.ip', 'data.mac', 'data.oldMac', 'data.newMac', 'data.interface', 'data.source'];

export const DEFAULT_RULE_INPUTS: RuleInput[] = [
  {
    name: 'rogue_device',
    type: 'incident.intrusion.rogue_device',
    severity: 'alarm',
    windowSeconds: 600,
    closeAfterSeconds: 1800,
    join: 'site',
    steps: [
      {
        name: 'physical',
        match: [
          { type: 'access.door.forced' },
          { type: 'access.door.held' },
          { type: 'access.reader.tamper' },
          { type: 'sensor.contact.alarm' },
        ],
      },
      { name: 'network', match: [{ type: 'network.device.new' }], keys: NET_KEYS },
    ],
  },
  {
    name: 'camera_compromise',
    type: 'incident.camera.compromise',
    severity: 'alarm',
    windowSeconds: 600,
    closeAfterSeconds: 1800,
    join: 'asset',
    steps: [
      { name: 'video', match: [{ type: 'video.tamper.detected' }, { type: 'video.signal.lost' }] },
      { name: 'network', match: [{ type: 'network.traffic.spike' }, { type: 'network.mac.changed' }], keys: NET_KEYS },
    ],
  },
  {
    // Repeated denials at one door: the gateway's own decisions (agent/access/, docs/access.md).
    name: 'brute_force',
    type: 'incident.access.brute_force',
    severity: 'alarm',
    windowSeconds: 60,
    closeAfterSeconds: 900,
    join: 'site',
    steps: [
      {
        name: 'denials',
        match: [{ type: 'access.card.denied' }, { type: 'access.keypad.denied' }],
        minCount: 5,
        sameValue: 'src.door',
      },
    ],
  },
  {
    // Fewer denials at one reader while the same LAN segment is being scanned.
    name: 'brute_force_scan',
    type: 'incident.access.brute_force_scan',
    severity: 'alarm',
    windowSeconds: 300,
    closeAfterSeconds: 900,
    join: 'segment',
    steps: [
      {
        name: 'denials',
        match: [{ type: 'access.card.denied' }, { type: 'access.keypad.denied' }],
        minCount: 3,
        sameValue: 'src.device',
      },
      { name: 'scan', match: [{ type: 'network.scan.suspected' }], keys: NET_KEYS },
    ],
  },
];

export const DEFAULT_RULES: Rule[] = DEFAULT_RULE_INPUTS.map((r) => ruleSchema.parse(r));
