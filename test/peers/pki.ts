// A throwaway PKI made with openssl for TLS tests: a CA, a server certificate
// for 127.0.0.1 and client certificates with the given CNs (EC P-256, one day).

import { execFileSync } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Pki {
  ca: string;
  serverCert: string;
  serverKey: string;
  /** The PEM files of the client certificate with CN `cn` (one of those asked for). */
  client(cn: string): { cert: string; key: string };
}

export function makePki(dir: string, clients: string[]): Pki {
  const p = (f: string): string => join(dir, f);
  const ossl = (...args: string[]): void => { execFileSync('openssl', args, { stdio: 'pipe' }); };
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  ossl('req', '-x509', ...ec, '-keyout', p('ca.key'), '-out', p('ca.pem'), '-days', '1', '-subj', '/CN=tapwire-test-ca');
  const issue = (name: string, cn: string, ext: string): void => {
    ossl('req', ...ec, '-keyout', p(`${name}.key`), '-out', p(`${name}.csr`), '-subj', `/CN=${cn}`);
    writeFileSync(p(`${name}.ext`), ext + '\n');
    ossl('x509', '-req', '-in', p(`${name}.csr`), '-CA', p('ca.pem'), '-CAkey', p('ca.key'), '-CAcreateserial',
      '-out', p(`${name}.pem`), '-days', '1', '-extfile', p(`${name}.ext`));
    chmodSync(p(`${name}.key`), 0o600);
  };
  issue('server', 'tapwire-test-server', 'subjectAltName=IP:127.0.0.1');
  for (const cn of clients) issue(cn, cn, 'extendedKeyUsage=clientAuth');
  return { ca: p('ca.pem'), serverCert: p('server.pem'), serverKey: p('server.key'), client: (cn) => ({ cert: p(`${cn}.pem`), key: p(`${cn}.key`) }) };
}
