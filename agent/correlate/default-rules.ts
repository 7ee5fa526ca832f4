// The three shipped correlation rules. Type names are the ones the drivers emit (checked
// against docs/events.schema.json): OSDP door forced/held and reader tamper, the Modbus
// door contact alarm, ONVIF tamper and video loss, netwatch verdicts. Denials
// (`access.card.denied`, `access.keypad.denied`) are emitted by no driver yet.
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
    name: 'brute_force',
    type: 'incident.access.brute_force',
    severity: 'alarm',
    windowSeconds: 300,
    closeAfterSeconds: 900,
    join: 'segment',
    steps: [
      {
        name: 'denials',
        // No driver decides grants today (gatewarden reads cards; the decision is the
        // platform's), so these types come from elsewhere until one does: the rule ships
        // ready for them and is inert meanwhile.
        match: [{ type: 'access.card.denied' }, { type: 'access.keypad.denied' }],
        minCount: 3,
        sameValue: 'src.device',
      },
      { name: 'scan', match: [{ type: 'network.scan.suspected' }], keys: NET_KEYS },
    ],
  },
];

export const DEFAULT_RULES: Rule[] = DEFAULT_RULE_INPUTS.map((r) => ruleSchema.parse(r));
