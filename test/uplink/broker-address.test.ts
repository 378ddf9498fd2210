import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { brokerAddress } from '../../agent/uplink/broker-address.js';

test('mqtt:// and mqtts:// URLs become protocol, host and port, with the default port of each', () => {
  assert.equal(brokerAddress('mqtt://127.0.0.1:1884'), { protocol: 'mqtt', host: '127.0.0.1', port: 1884 });
  assert.equal(brokerAddress('mqtts://broker.example.net'), { protocol: 'mqtts', host: 'broker.example.net', port: 8883 });
  assert.equal(brokerAddress('mqtt://broker.example.net'), { protocol: 'mqtt', host: 'broker.example.net', port: 1883 });
  assert.equal(brokerAddress('mqtts://[::1]:8884'), { protocol: 'mqtts', host: '::1', port: 8884 });
  assert.equal(brokerAddress('mqtt://dev%40x:p%3Ass@h:1'), { protocol: 'mqtt', host: 'h', port: 1, username: 'dev@x', password: 'p:ss' });
  assert.throws(() => brokerAddress('ws://h:1'), /unsupported broker URL scheme ws:/);
});

test.run();
