import { describe, expect, it } from 'vitest';
import { checkNatsConnection, commonEnvSchema, loadConfig, natsConnectionOptions } from '../src/index.js';

const schema = commonEnvSchema.superRefine(checkNatsConnection);

describe('NATS connection settings', () => {
  it('connects without credentials or TLS when none are set (empty counts as unset)', () => {
    const config = loadConfig(schema, { NATS_USER: '', NATS_PASSWORD: '', NATS_TLS_CA_FILE: '' });
    expect(natsConnectionOptions(config, 'test')).toEqual({ servers: ['nats://localhost:4222'], name: 'test' });
  });

  it("gives the service's user and password, and its own reply subjects", () => {
    const config = loadConfig(schema, { NATS_USER: 'api-gateway', NATS_PASSWORD: 'secret' });
    expect(natsConnectionOptions(config, 'test')).toMatchObject({
      user: 'api-gateway',
      pass: 'secret',
      inboxPrefix: '_INBOX.api-gateway',
    });
  });

  it('verifies the server with the CA file, and presents a client certificate when one is set', () => {
    const serverOnly = loadConfig(schema, { NATS_TLS_CA_FILE: '/run/ca.pem' });
    expect(natsConnectionOptions(serverOnly, 'test').tls).toEqual({ caFile: '/run/ca.pem' });
    const mutual = loadConfig(schema, { NATS_TLS_CERT_FILE: '/run/client.pem', NATS_TLS_KEY_FILE: '/run/client.key' });
    expect(natsConnectionOptions(mutual, 'test').tls).toEqual({
      certFile: '/run/client.pem',
      keyFile: '/run/client.key',
    });
  });

  it('refuses a half set: a user without password, a certificate without key, and the reverse', () => {
    expect(() => loadConfig(schema, { NATS_USER: 'api-gateway' })).toThrow(/NATS_PASSWORD: must be set with NATS_USER/);
    expect(() => loadConfig(schema, { NATS_PASSWORD: 'secret' })).toThrow(/NATS_USER: must be set with NATS_PASSWORD/);
    expect(() => loadConfig(schema, { NATS_TLS_CERT_FILE: '/c.pem' })).toThrow(/NATS_TLS_KEY_FILE/);
    expect(() => loadConfig(schema, { NATS_TLS_KEY_FILE: '/c.key' })).toThrow(/NATS_TLS_CERT_FILE/);
  });

  it('refuses a user name that cannot be a subject token, and a placeholder password in production', () => {
    expect(() => loadConfig(schema, { NATS_USER: 'api.gateway', NATS_PASSWORD: 'x' })).toThrow(/NATS_USER/);
    const placeholder = { NATS_USER: 'api-gateway', NATS_PASSWORD: 'change-me-nats-gateway-password' };
    expect(() => loadConfig(schema, { ...placeholder, NODE_ENV: 'production' })).toThrow(
      /NATS_PASSWORD: must be set to a real password when NODE_ENV=production/,
    );
    expect(loadConfig(schema, placeholder).NATS_PASSWORD).toBe(placeholder.NATS_PASSWORD);
  });
});
