// The three shipped rules of issue 6. Type names follow the drivers: OSDP door forced/held
// and reader tamper, the Modbus door contact alarm, ONVIF tamper/video loss, and both
// denial forms (`access.card.denied`, or `access.card.read` with data.granted = false).
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
          { type: 'access.door.held_open' },
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
      { name: 'video', match: [{ type: 'video.tamper' }, { type: 'video.tamper.*' }, { type: 'video.signal.lost' }, { type: 'video.loss' }] },
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
        match: [{ type: 'access.card.denied' }, { type: 'access.card.read', where: { 'data.granted': false } }, { type: 'access.keypad.denied' }],
        minCount: 3,
        sameValue: 'src.device',
      },
      { name: 'scan', match: [{ type: 'network.scan.suspected' }], keys: NET_KEYS },
    ],
  },
];

export const DEFAULT_RULES: Rule[] = DEFAULT_RULE_INPUTS.map((r) => ruleSchema.parse(r));
