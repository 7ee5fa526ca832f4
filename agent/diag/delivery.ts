// The MQTT delivery guarantee the config gives (docs/architecture.md "End-to-end
// acknowledgement"): under MQTT 3.1.1 a broker PUBACKs a publish its ACL denies and drops
// it (MQTT 5 answers reason 0x87 and the event stays in the spool), so without
// mqtt.platformAck a denied event is marked sent and lost without a trace. No network here:
// what the config says, the same rule the forwarder warns about at start.
import type { MqttConfig } from '../../config/schema.js';
import { silentLossRisk } from '../forward/ack-resend.js';
import { pass, problem, type DiagCheck } from './types.js';

const CHECK = 'MQTT delivery guarantee';

export function checkDelivery(mqtt: Pick<MqttConfig, 'protocolVersion' | 'platformAck'>): DiagCheck[] {
  if (silentLossRisk(mqtt)) {
    return [
      problem(
        'broker',
        'warn',
        CHECK,
        'MQTT 3.1.1 (mqtt.protocolVersion: 4) without mqtt.platformAck.enabled: a publish the broker denies (ACL) is acknowledged and silently dropped, and the event is marked delivered',
        'use mqtt.protocolVersion: 5 (a denied publish is refused with PUBACK 0x87 and stays in the spool), or set mqtt.platformAck.enabled: true with a platform that acks stored events (docs/platform.md); then restart gatewarden',
      ),
    ];
  }
  const how = mqtt.platformAck.enabled
    ? `end-to-end ack on: events stay in the spool until the platform acks them (resent after ${mqtt.platformAck.resendAfterSeconds} s)`
    : 'MQTT 5: a publish the broker denies is refused (PUBACK ≥ 0x80) and stays in the spool';
  return [pass('broker', CHECK, how)];
}
