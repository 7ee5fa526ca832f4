// Throwaway PKI for TLS tests, made with the openssl CLI in a temp dir: a private CA, a
// server certificate for 127.0.0.1/localhost (SAN), a client certificate signed by the
// same CA (mutual TLS), and an unrelated "untrusted" CA with its own server certificate.
import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './chain.js';

export interface TestPki {
  dir: string;
  caCert: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** A CA that signed nothing the broker uses. */
  untrustedCaCert: string;
  /** A server certificate (for 127.0.0.1) signed by the untrusted CA. */
  untrustedServerCert: string;
  untrustedServerKey: string;
  cleanup(): void;
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

function makeCa(dir: string, name: string): void {
  openssl(dir, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.crt`,
    '-days', '2', '-subj', `/CN=gatewarden test ${name}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
}

function makeLeaf(dir: string, ca: string, name: string, cn: string, ext: string): void {
  writeFileSync(join(dir, `${name}.ext`), ext);
  openssl(dir, ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`]);
  openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-CAcreateserial',
    '-out', `${name}.crt`, '-days', '2', '-sha256', '-extfile', `${name}.ext`]);
}

const SERVER_EXT = 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n';
const CLIENT_EXT = 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n';

export function makeTestPki(): TestPki {
  const dir = tempDir('gw-pki-');
  makeCa(dir, 'ca');
  makeLeaf(dir, 'ca', 'server', 'localhost', SERVER_EXT);
  makeLeaf(dir, 'ca', 'client', 'gw-client', CLIENT_EXT);
  makeCa(dir, 'untrusted-ca');
  makeLeaf(dir, 'untrusted-ca', 'untrusted-server', 'localhost', SERVER_EXT);
  const p = (f: string) => join(dir, f);
  return {
    dir,
    caCert: p('ca.crt'),
    serverCert: p('server.crt'),
    serverKey: p('server.key'),
    clientCert: p('client.crt'),
    clientKey: p('client.key'),
    untrustedCaCert: p('untrusted-ca.crt'),
    untrustedServerCert: p('untrusted-server.crt'),
    untrustedServerKey: p('untrusted-server.key'),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
