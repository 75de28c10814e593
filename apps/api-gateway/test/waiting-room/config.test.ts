import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DEV_WAITING_ROOM_SECRET, loadGatewayConfig } from '../../src/config.js';

describe('waiting room configuration', () => {
  it('refuses the development secret in production, naming the variable', () => {
    const production = {
      NODE_ENV: 'production',
      JWT_SECRET: randomBytes(32).toString('hex'),
      BOOKING_ACCESS_SECRET: randomBytes(32).toString('hex'),
    };
    expect(() => loadGatewayConfig(production)).toThrow(
      'Invalid configuration: WAITING_ROOM_SECRET: must be set to a real secret when NODE_ENV=production',
    );
    expect(() =>
      loadGatewayConfig({ ...production, WAITING_ROOM_SECRET: 'change-me-waiting-room-secret-32-chars' }),
    ).toThrow('WAITING_ROOM_SECRET: must be set to a real secret when NODE_ENV=production');
    expect(() => loadGatewayConfig({ WAITING_ROOM_SECRET: 'short' })).toThrow(
      'WAITING_ROOM_SECRET: must be at least 32 characters',
    );
    expect(loadGatewayConfig({}).WAITING_ROOM_SECRET).toBe(DEV_WAITING_ROOM_SECRET);
    const secret = randomBytes(32).toString('hex');
    expect(loadGatewayConfig({ ...production, WAITING_ROOM_SECRET: secret }).WAITING_ROOM_SECRET).toBe(secret);
  });
});
