// Where to connect, as mqtt.js options (protocol, host, port) parsed with the
// WHATWG URL API. Handing mqtt.js the URL string instead makes it call the
// deprecated url.parse(), and Node 24 (the single executables' runtime) then
// prints DEP0169 at every start: a device's log should start clean.

import type { IClientOptions } from 'mqtt';

export function brokerAddress(url: string): Pick<IClientOptions, 'protocol' | 'host' | 'port' | 'username' | 'password'> {
  const u = new URL(url);
  const tls = u.protocol === 'mqtts:';
  if (!tls && u.protocol !== 'mqtt:') throw new Error(`unsupported broker URL scheme ${u.protocol}// (mqtt:// or mqtts://)`);
  return {
    protocol: tls ? 'mqtts' : 'mqtt',
    host: u.hostname.replace(/^\[(.*)\]$/, '$1'), // an IPv6 literal without its brackets, as net.connect wants it
    port: u.port ? Number(u.port) : tls ? 8883 : 1883,
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
  };
}
