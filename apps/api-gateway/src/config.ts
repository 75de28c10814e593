import { commonEnvSchema, loadConfig } from '@booking/shared';
import { z } from 'zod';

export const DEV_ADMIN_TOKEN = 'dev-admin-token-change-me';

export const gatewayEnvSchema = commonEnvSchema.extend({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().min(1).default('0.0.0.0'),
  /** Interim admin credential for POST /api/events; the default is for local runs only. */
  ADMIN_TOKEN: z.string().min(16, { error: 'must be at least 16 characters' }).default(DEV_ADMIN_TOKEN),
  BODY_LIMIT_BYTES: z.coerce.number().int().min(1024).max(10_485_760).default(16_384),
});
export type GatewayConfig = z.infer<typeof gatewayEnvSchema>;

export const GATEWAY_CONFIG = Symbol('GATEWAY_CONFIG');

export const loadGatewayConfig = (env: NodeJS.ProcessEnv = process.env): GatewayConfig =>
  loadConfig(gatewayEnvSchema, env);
