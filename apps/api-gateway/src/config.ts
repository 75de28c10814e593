// The config subpath, not the package root: `pnpm token` loads this file and has no use for Nest.
import { observabilityEnvSchema } from '@booking/observability/config';
import { checkNatsConnection, commonEnvSchema, loadConfig, namesFor } from '@booking/shared';
import { z } from 'zod';

/** Local-development signing secret; start-up refuses it when NODE_ENV=production. */
export const DEV_JWT_SECRET = 'dev-only-jwt-secret-change-me';
/** Local-development key of waiting-room tickets and admission tokens; start-up refuses it when NODE_ENV=production. */
export const DEV_WAITING_ROOM_SECRET = 'dev-only-waiting-room-secret-change-me';
/** Local-development key of the booking access keys; start-up refuses it when NODE_ENV=production. */
export const DEV_BOOKING_ACCESS_SECRET = 'dev-only-booking-access-secret-change-me';

const positiveInt = z.coerce.number().int().positive();
const flag = z.enum(['true', 'false']).transform((value) => value === 'true');

export const gatewayEnvSchema = commonEnvSchema
  .extend(observabilityEnvSchema.shape)
  .extend({
    PORT: z.coerce.number().int().min(0).max(65535).default(3000),
    HOST: z.string().min(1).default('0.0.0.0'),
    BODY_LIMIT_BYTES: z.coerce.number().int().min(1024).max(10_485_760).default(16_384),
    /** Time a client has to send a request's headers; then 408 and the connection is closed. */
    HTTP_HEADERS_TIMEOUT_MS: z.coerce.number().int().min(100).max(300_000).default(10_000),
    /** Time a client has to send a whole request, body included; then 408 and close. Not the response's time. */
    HTTP_REQUEST_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(30_000),
    /** An idle keep-alive connection is closed after this. Above nginx's upstream keepalive_timeout (60 s),
     * so that the gateway never closes a connection nginx is about to reuse. */
    HTTP_IDLE_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(72_000),
    /** After closing a connection whose body is still arriving (413), the most bytes read and discarded... */
    HTTP_LINGER_MAX_BYTES: z.coerce.number().int().min(0).max(1_073_741_824).default(8_388_608),
    /** ...and the longest time, so that the client reads its answer rather than a reset connection. */
    HTTP_LINGER_MS: z.coerce.number().int().min(0).max(60_000).default(5_000),
    /**
     * Comma-separated addresses or CIDRs of reverse proxies (e.g. nginx) whose X-Forwarded-For is trusted
     * when deriving the client IP for rate limits; empty trusts none.
     */
    TRUST_PROXY: z.string().default(''),
    /** Comma-separated allowed origins, `*` for any; empty disables CORS. */
    CORS_ORIGINS: z.string().default(''),

    REDIS_URL: z
      .string()
      .regex(/^rediss?:\/\//, { error: 'must be a redis:// or rediss:// URL' })
      .default('redis://127.0.0.1:6379'),
    /** PEM file of the CA that signed Redis's certificate (for a private CA): the connection is then TLS, verified. */
    REDIS_TLS_CA_FILE: z.preprocess((value) => (value === '' ? undefined : value), z.string().optional()),
    /** Prefix of every key the gateway writes; empty: BOOKING_NAMESPACE's (see `redisKeyPrefix`). */
    REDIS_KEY_PREFIX: z.preprocess((value) => (value === '' ? undefined : value), z.string().max(100).optional()),
    /** A Redis command unanswered this long marks Redis unavailable until a probe is answered (redis-availability.ts). */
    REDIS_COMMAND_TIMEOUT_MS: positiveInt.default(500),

    /** `optional`: anonymous booking requests are allowed (tokens that are sent are still checked). */
    AUTH_MODE: z.enum(['required', 'optional']).default('optional'),
    JWT_ALGORITHM: z.enum(['HS256', 'RS256', 'ES256']).default('HS256'),
    JWT_SECRET: z.string().min(32, { error: 'must be at least 32 characters' }).default(DEV_JWT_SECRET),
    // Empty (as in .env.example) means unset.
    JWT_JWKS_URL: z.preprocess(
      (value) => (value === '' ? undefined : value),
      z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional(),
    ),
    JWT_ISSUER: z.string().min(1).default('event-booking'),
    JWT_AUDIENCE: z.string().min(1).default('event-booking-api'),
    JWT_CLOCK_TOLERANCE_S: z.coerce.number().int().min(0).max(300).default(5),
    /** HMAC key of the access keys that let an anonymous booker read and cancel their booking; every replica needs the same. */
    BOOKING_ACCESS_SECRET: z
      .string()
      .min(32, { error: 'must be at least 32 characters' })
      .default(DEV_BOOKING_ACCESS_SECRET),

    /** HMAC key of waiting-room queue tickets and admission tokens; every replica needs the same. */
    WAITING_ROOM_SECRET: z
      .string()
      .min(32, { error: 'must be at least 32 characters' })
      .default(DEV_WAITING_ROOM_SECRET),
    /** How long an admitted client has to make its reservation. */
    WAITING_ROOM_ADMISSION_TTL_S: z.coerce.number().int().min(10).max(3_600).default(120),
    /** How often a queue stream re-reads the room and tells its client where it stands. */
    WAITING_ROOM_TICK_MS: z.coerce.number().int().min(100).max(60_000).default(1_000),
    /** Queue streams open at most on this replica (each holds a connection); more are answered 503. */
    WAITING_ROOM_MAX_STREAMS: z.coerce.number().int().min(1).max(1_000_000).default(50_000),

    /** Per client IP, over RATE_LIMIT_WINDOW_S seconds. */
    RATE_LIMIT_IP_MAX: positiveInt.default(300),
    /** Per authenticated user, over RATE_LIMIT_WINDOW_S seconds. */
    RATE_LIMIT_USER_MAX: positiveInt.default(60),
    RATE_LIMIT_WINDOW_S: positiveInt.default(60),
    RATE_LIMIT_ENABLED: flag.default(true),

    /** How long a stored idempotent response is replayed. */
    IDEMPOTENCY_TTL_S: positiveInt.default(86_400),

    /** Consecutive booking-service failures that open the circuit. */
    BREAKER_FAILURE_THRESHOLD: positiveInt.default(5),
    /** How long the circuit stays open before one trial request is let through. */
    BREAKER_HALF_OPEN_AFTER_MS: positiveInt.default(1_000),
    /** Booking-service requests in flight at once; more are answered 503 at once. Sized so that a
     * flash sale of a few thousand simultaneous buyers queues briefly rather than being shed. */
    BOOKING_MAX_IN_FLIGHT: positiveInt.default(2048),
    /** Extra attempts for safe reads after a transport failure. */
    READ_RETRIES: z.coerce.number().int().min(0).max(5).default(2),
    /** Longest an event read from the booking service is answered from the gateway's catalogue (booking events
     * refresh it sooner); 0 reads every time. */
    READ_CACHE_TTL_MS: z.coerce.number().int().min(0).max(60_000).default(2_000),
    /** Live seats feed: at most one seat lookup per event in this window, however many bookings arrive. */
    LIVE_COALESCE_MS: z.coerce.number().int().min(0).max(5_000).default(100),
    /** Live seats feed: a comment line this often keeps idle streams open through proxies (keep it under their read timeout). */
    LIVE_HEARTBEAT_MS: z.coerce.number().int().min(1_000).max(300_000).default(10_000),
    /** Live seats feed: open streams at most (each holds a connection); more are answered 503. */
    LIVE_MAX_STREAMS: z.coerce.number().int().min(1).max(1_000_000).default(10_000),
    /** The built web front end served at `/`; empty: apps/web/dist beside this app. */
    WEB_ROOT: z.string().default(''),
  })
  .superRefine((config, context) => {
    checkNatsConnection(config, context);
    const placeholder = (secret: string, devDefault: string) => secret === devDefault || secret.startsWith('change-me');
    const production = config.NODE_ENV === 'production';
    if (production && placeholder(config.JWT_SECRET, DEV_JWT_SECRET) && config.JWT_ALGORITHM === 'HS256') {
      context.addIssue({
        code: 'custom',
        path: ['JWT_SECRET'],
        message: 'must be set to a real secret when NODE_ENV=production',
      });
    }
    if (production && placeholder(config.BOOKING_ACCESS_SECRET, DEV_BOOKING_ACCESS_SECRET)) {
      context.addIssue({
        code: 'custom',
        path: ['BOOKING_ACCESS_SECRET'],
        message: 'must be set to a real secret when NODE_ENV=production',
      });
    }
    if (production && placeholder(config.WAITING_ROOM_SECRET, DEV_WAITING_ROOM_SECRET)) {
      context.addIssue({
        code: 'custom',
        path: ['WAITING_ROOM_SECRET'],
        message: 'must be set to a real secret when NODE_ENV=production',
      });
    }
    if (config.HTTP_HEADERS_TIMEOUT_MS > config.HTTP_REQUEST_TIMEOUT_MS) {
      context.addIssue({
        code: 'custom',
        path: ['HTTP_HEADERS_TIMEOUT_MS'],
        message: 'must not exceed HTTP_REQUEST_TIMEOUT_MS (the headers are part of the request)',
      });
    }
    if (config.JWT_ALGORITHM !== 'HS256' && !config.JWT_JWKS_URL) {
      context.addIssue({
        code: 'custom',
        path: ['JWT_JWKS_URL'],
        message: `is required when JWT_ALGORITHM=${config.JWT_ALGORITHM}`,
      });
    }
  });
export type GatewayConfig = z.infer<typeof gatewayEnvSchema>;

export const GATEWAY_CONFIG = Symbol('GATEWAY_CONFIG');

/** Prefix of the gateway's Redis keys: REDIS_KEY_PREFIX if set, else the namespace's (`booking:gateway:` without one). */
export const redisKeyPrefix = (config: GatewayConfig): string =>
  config.REDIS_KEY_PREFIX ?? namesFor(config.BOOKING_NAMESPACE).redisKeyPrefix;

export const loadGatewayConfig = (env: NodeJS.ProcessEnv = process.env): GatewayConfig =>
  loadConfig(gatewayEnvSchema, env);
