import { test } from 'uvu';
import { createSerialDoubleFactory } from '../../hal/serial-double.js';
import { serialContract } from './serial-contract.js';

serialContract(test, async () => {
  const factory = createSerialDoubleFactory();
  const opts = { path: '/dev/ttyDOUBLE0', baudRate: 9600 };
  // the double creates its port on first open; make sure it exists for the field side
  factory.openReadWrite(opts);
  const port = factory.ports.get(opts.path)!;
  return {
    factory,
    opts,
    field: {
      async send(d) { port.emitData(d); },
      received: () => Buffer.concat(port.written),
      async unplug() { port.unplug(); },
    },
    async teardown() { await port.close(); },
  };
});

test.run();
