// `pnpm run token --sub alice [--role admin] [--ttl 1h]`: prints a token for the gateway's HS256 configuration.
import { parseArgs } from 'node:util';
import { loadGatewayConfig } from '../config.js';
import { mintToken } from './tokens.js';

const { values } = parseArgs({
  options: {
    sub: { type: 'string', default: 'user123' },
    role: { type: 'string', multiple: true, default: [] },
    ttl: { type: 'string', default: '1h' },
  },
});

try {
  const config = loadGatewayConfig();
  if (config.JWT_ALGORITHM !== 'HS256')
    throw new Error(`JWT_ALGORITHM=${config.JWT_ALGORITHM}: tokens come from your identity provider`);
  process.stdout.write(`${await mintToken(config, { sub: values.sub, roles: values.role, expiresIn: values.ttl })}\n`);
} catch (error) {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
}
