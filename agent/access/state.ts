// What the rules look at besides the card, kept across restarts in the credential store
// (./store.ts state rows): readers' last tamper report, open network incidents (by id,
// until their close) and single alarm events held for `incidentHoldMinutes`, and lockdown.
import type { EventBody } from '../events/types.js';
import type { AccessConfig } from './config.js';
import type { CredentialStore } from './store.js';

export interface Lockdown {
  since: string;
  reason: string;
  /** Command id or `local`. */
  by: string;
}

interface Incidents {
  open: Record<string, string>;
  holds: Record<string, number>;
}

function globRe(glob: string): RegExp {
  return new RegExp(`^${glob.replace(/\./g, '\\.').replace(/\*/g, '[a-z0-9_.]*')}$`);
}

export class RuleState {
  private readonly tamper: Record<string, number>;
  private readonly inc: Incidents;
  private lock: Lockdown | null;
  private incidentTypes: RegExp[] = [];
  private incidentEvents: RegExp[] = [];
  private cfg!: AccessConfig;

  constructor(
    private readonly store: CredentialStore,
    cfg: AccessConfig,
  ) {
    this.tamper = store.getState<Record<string, number>>('tamper') ?? {};
    this.inc = store.getState<Incidents>('incidents') ?? { open: {}, holds: {} };
    this.lock = store.getState<Lockdown>('lockdown');
    this.reconfigure(cfg);
  }

  /**
   * A reloaded `access:` config: which events open an incident and how long a single one
   * holds from now on. What is already known (tamper times, open incidents and running
   * holds, lockdown) is kept.
   */
  reconfigure(cfg: AccessConfig): void {
    this.cfg = cfg;
    this.incidentTypes = cfg.incidentTypes.map(globRe);
    this.incidentEvents = cfg.incidentEvents.map(globRe);
  }

  get lockdown(): Lockdown | null {
    return this.lock;
  }

  setLockdown(l: Lockdown | null): void {
    this.store.setState('lockdown', l);
    this.lock = l;
  }

  tamperAt(reader: string): number | null {
    return this.tamper[reader] ?? null;
  }

  incidentOpen(now: number): boolean {
    if (Object.keys(this.inc.open).length > 0) return true;
    return Object.values(this.inc.holds).some((until) => until > now);
  }

  openIncidents(now: number): string[] {
    return [...Object.values(this.inc.open), ...Object.entries(this.inc.holds).filter(([, u]) => u > now).map(([k]) => k)];
  }

  /** Update from one sealed event; true when something the rules look at changed. */
  observe(b: EventBody, now: number): boolean {
    if (b.type === 'access.reader.tamper' && b.data.tamper === true) {
      this.tamper[b.src.device] = now;
      this.store.setState('tamper', this.tamper);
      return true;
    }
    if (this.incidentTypes.some((r) => r.test(b.type))) {
      const id = typeof b.data.incident === 'string' ? b.data.incident : null;
      if (!id) return false;
      if (b.data.phase === 'close') delete this.inc.open[id];
      else this.inc.open[id] = b.type;
      this.saveIncidents(now);
      return true;
    }
    if (this.incidentEvents.some((r) => r.test(b.type))) {
      this.inc.holds[`${b.type}@${b.src.device}`] = now + this.cfg.incidentHoldMinutes * 60_000;
      this.saveIncidents(now);
      return true;
    }
    return false;
  }

  private saveIncidents(now: number): void {
    for (const [k, u] of Object.entries(this.inc.holds)) if (u <= now) delete this.inc.holds[k];
    this.store.setState('incidents', this.inc);
  }
}
