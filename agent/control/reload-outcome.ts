// What a config reload did, as the daemon records it (status `lastReload`) and answers the
// control socket's `reload` method; `gatewarden reload` prints it (docs/architecture.md).

/** Applied (`needRestart` lists sections that wait for a restart) or rejected with the reason. */
export interface ReloadOutcome {
  at: string;
  ok: boolean;
  /** The file re-read: the one the daemon was started with. */
  config: string;
  /** Rejected: the config error, every problem with its path. */
  reason?: string;
  needRestart?: string[];
  changes?: { started: string[]; stopped: string[]; restarted: string[] };
}
