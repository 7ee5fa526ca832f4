// The mosquitto ACL of docs/mosquitto-acl.md, read from the document itself, and the users
// the tests give it (platform, site-a/gw-1, site-a/gw-2).
import { readFileSync } from 'node:fs';

/** The ```acl block of docs/mosquitto-acl.md, verbatim. */
export function documentedAcl(): string {
  const md = readFileSync(new URL('../../docs/mosquitto-acl.md', import.meta.url), 'utf8');
  const m = /```acl\n([\s\S]*?)```/.exec(md);
  if (!m) throw new Error('docs/mosquitto-acl.md: no ```acl block');
  return m[1];
}

export const ACL_USERS = { platform: 'platform-pw', 'site-a.gw-1': 'gw1-pw', 'site-a.gw-2': 'gw2-pw' } as const;
