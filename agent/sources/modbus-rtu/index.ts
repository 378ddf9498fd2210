// The `modbus-rtu` source type: a polling Modbus RTU master (README.md).

import { defineSource } from '../descriptor.js';
import { checkDevices } from '../modbus/registers.js';
import { ModbusRtuSourceSchema } from './schema.js';
import { createModbusRtuSource } from './source.js';

export const modbusRtuSource = defineSource({
  type: 'modbus-rtu',
  schema: ModbusRtuSourceSchema,
  check: (config) => checkDevices(config.devices),
  create: createModbusRtuSource,
});
