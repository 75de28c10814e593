import type { ConnectionOptions } from '@nats-io/nats-core';
import { z } from 'zod';

/** An optional setting: unset or empty (as in .env.example) means not set. */
const optional = <T extends z.ZodType>(schema: T) =>
  z.preprocess((value) => (value === '' ? undefined : value), schema.optional());

/**
 * How a service reaches NATS: the servers, the service's own credentials, and TLS. Without credentials
 * the connection is anonymous, as a nats-server without an authorization block (a local run) expects;
 * infrastructure/nats/authorization.conf gives each service a user allowed only its own subjects.
 */
export const natsConnectionEnvSchema = z.object({
  /** One server, or a cluster's servers separated by commas (the client moves to another when one is lost). */
  NATS_URL: z
    .string()
    .min(1)
    .default('nats://localhost:4222')
    .transform((list) => list.split(',').map((server) => server.trim()))
    .pipe(z.array(z.string().min(1, { error: 'must list NATS servers separated by commas' }))),
  /**
   * The service's user in nats-server's authorization block. Also names its reply subjects
   * (`_INBOX.<user>.…`), so that the server can keep each service's replies to itself.
   */
  NATS_USER: optional(z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, { error: 'must be 1-64 letters, digits, "-" or "_"' })),
  NATS_PASSWORD: optional(z.string()),
  /** PEM file of the CA that signed nats-server's certificate: the connection is then TLS, and verified. */
  NATS_TLS_CA_FILE: optional(z.string()),
  /** The service's certificate and key (PEM files), for a nats-server that verifies its clients. */
  NATS_TLS_CERT_FILE: optional(z.string()),
  NATS_TLS_KEY_FILE: optional(z.string()),
});
export type NatsConnectionConfig = z.infer<typeof natsConnectionEnvSchema> & { NODE_ENV: string };

/** Adds an issue for each NATS setting that needs another one missing, or a placeholder password in production. */
export function checkNatsConnection(config: NatsConnectionConfig, context: z.RefinementCtx): void {
  const together: [keyof NatsConnectionConfig, keyof NatsConnectionConfig][] = [
    ['NATS_USER', 'NATS_PASSWORD'],
    ['NATS_PASSWORD', 'NATS_USER'],
    ['NATS_TLS_CERT_FILE', 'NATS_TLS_KEY_FILE'],
    ['NATS_TLS_KEY_FILE', 'NATS_TLS_CERT_FILE'],
  ];
  for (const [set, needed] of together) {
    if (config[set] !== undefined && config[needed] === undefined) {
      context.addIssue({ code: 'custom', path: [needed], message: `must be set with ${set}` });
    }
  }
  if (config.NODE_ENV === 'production' && config.NATS_PASSWORD?.startsWith('change-me')) {
    context.addIssue({
      code: 'custom',
      path: ['NATS_PASSWORD'],
      message: 'must be set to a real password when NODE_ENV=production',
    });
  }
}

/** The prefix of the service's reply subjects: its own under its user, NATS's default without one. */
export const natsInboxPrefix = (config: NatsConnectionConfig): string | undefined =>
  config.NATS_USER === undefined ? undefined : `_INBOX.${config.NATS_USER}`;

/**
 * The options every NATS connection of a service starts from: servers, credentials, TLS; `name` says
 * which connection it is (in nats-server's connection list). The caller adds its reconnect settings.
 */
export function natsConnectionOptions(config: NatsConnectionConfig, name: string): ConnectionOptions {
  const tls = config.NATS_TLS_CA_FILE ?? config.NATS_TLS_CERT_FILE;
  return {
    servers: config.NATS_URL,
    name,
    ...(config.NATS_USER !== undefined && {
      user: config.NATS_USER,
      pass: config.NATS_PASSWORD,
      inboxPrefix: natsInboxPrefix(config),
    }),
    ...(tls !== undefined && {
      tls: {
        ...(config.NATS_TLS_CA_FILE !== undefined && { caFile: config.NATS_TLS_CA_FILE }),
        ...(config.NATS_TLS_CERT_FILE !== undefined && {
          certFile: config.NATS_TLS_CERT_FILE,
          keyFile: config.NATS_TLS_KEY_FILE,
        }),
      },
    }),
  };
}
