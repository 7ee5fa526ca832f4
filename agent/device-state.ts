// Keeps the retained `dev/{device}` topics (docs/contracts.md §Topics) in step with driver health:
// publishes a device's state when it changes (online/offline/model), not on every poll.
import type { Supervisor } from './supervisor.js';
import { deviceOnline } from '../drivers/types.js';

export interface DevicePublishTarget {
  publishDevice(device: string, state: Record<string, unknown>): void;
}

export class DeviceStatePublisher {
  private timer: NodeJS.Timeout | undefined;
  private readonly last = new Map<string, string>();

  constructor(private readonly o: { supervisor: Supervisor; forwarder: DevicePublishTarget; intervalMs?: number }) {}

  start(): void {
    this.tick();
    this.timer = setInterval(() => this.tick(), this.o.intervalMs ?? 5000);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  tick(): void {
    for (const h of this.o.supervisor.health()) {
      // netwatch's devices are the gateway's own interfaces, not field devices: health and status only.
      if (h.kind === 'netwatch') continue;
      // Online and degraded are separate facts: a degraded device answers (drivers/types.ts).
      const state = { online: deviceOnline(h.state), state: h.state, driver: h.kind, instance: h.instance, info: h.info ?? {} };
      const key = JSON.stringify(state);
      if (this.last.get(h.device) === key) continue;
      this.last.set(h.device, key);
      this.o.forwarder.publishDevice(h.device, { ...state, lastSeen: h.lastSeen ? new Date(h.lastSeen).toISOString() : null });
    }
  }
}
