// The `modbus-sniff` source type: a passive listener on another master's bus (README.md).

import { defineSource } from '../descriptor.js';
import { checkDevices } from '../modbus/registers.js';
import { ModbusSniffSourceSchema } from './schema.js';
import { createModbusSniffSource } from './source.js';

export const modbusSniffSource = defineSource({
  type: 'modbus-sniff',
  schema: ModbusSniffSourceSchema,
  check: (config) => checkDevices(config.devices),
  create: createModbusSniffSource,
});
