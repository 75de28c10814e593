import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  freePort,
  PrivateNatsServer,
  PrivateRedisServer,
  TestDatabase,
  waitForHttpOk,
  waitUntil,
} from '@booking/testing';
import { namesFor, type BookingNames } from '@booking/shared';
import { connect as connectNats, type Msg } from '@nats-io/transport-node';
import type { INestApplication } from '@nestjs/common';
import { startBookingService } from '../../../booking-service/src/app.js';
import { loadBookingServiceConfig } from '../../../booking-service/src/config.js';
import { readBookingEvents, type StoredBookingEvent } from '../../../booking-service/src/replay/read-booking-events.js';
import { startGateway } from '../../src/app.js';
import { mintToken, type TokenRequest } from '../../src/auth/tokens.js';
import { loadGatewayConfig } from '../../src/config.js';

/** The gateways under test verify HS256 tokens with these settings. */
export const TEST_JWT = {
  JWT_SECRET: 'test-jwt-secret-0123456789abcdef0123',
  JWT_ISSUER: 'event-booking',
  JWT_AUDIENCE: 'event-booking-api',
};

export const tokenFor = (request: TokenRequest): Promise<string> => mintToken(TEST_JWT, request);

export const ADMIN_TOKEN = await tokenFor({ sub: 'admin', roles: ['admin'] });

/** Limits high enough that the contract and concurrency suites never see a 429. */
const UNLIMITED = { RATE_LIMIT_IP_MAX: '1000000', RATE_LIMIT_USER_MAX: '1000000' };

const BOOKING_SERVICE_MAIN = fileURLToPath(new URL('../../../booking-service/dist/bundle/main.js', import.meta.url));
const NOTIFICATION_SERVICE_MAIN = fileURLToPath(
  new URL('../../../notification-service/dist/bundle/main.js', import.meta.url),
);

/** Collects JSON log lines written by a service (in-process destination or a child's stdout). */
export class LogCapture {
  private text = '';

  write(chunk: string | Buffer): boolean {
    this.text += chunk.toString();
    return true;
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  lines(): any[] {
    return this.text
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line));
  }

  raw(): string {
    return this.text;
  }
}

export interface StackOptions {
  /** Booking-service replicas inside the test process (counted by coverage). */
  inProcessReplicas?: number;
  /** Booking-service replicas as separate `node` processes, from the built service. */
  processReplicas?: number;
  gatewayEnv?: Record<string, string>;
  /** Extra environment for the booking-service replicas (e.g. LOG_LEVEL, a DATABASE_URL through a proxy). */
  serviceEnv?: Record<string, string>;
  /** Capture the services' JSON logs in `stack.logs` instead of silencing them. */
  captureLogs?: boolean;
  /** BOOKING_NAMESPACE of every service of the stack. */
  namespace?: string;
  /** Use this stack's nats-server and redis-server (left running by `stop`) instead of private ones. */
  shareWith?: Stack;
  /** The stack's database (e.g. on a private PostgreSQL) instead of a new one on the shared server. */
  db?: TestDatabase;
  /** More options and environment of the stack's own nats-server (e.g. a configuration file and its passwords). */
  natsServer?: { extraArgs?: readonly string[]; env?: Record<string, string> };
}

/**
 * The real system for one test file: its own database and nats-server, N
 * booking-service replicas in one queue group, and the HTTP gateway.
 */
export class Stack {
  /** Booking-service replicas running as child processes (tests may SIGSTOP or kill them). */
  readonly children: ChildProcess[] = [];
  readonly replicas: INestApplication[] = [];
  readonly gateways: INestApplication[] = [];
  /** HTTP base URLs (health, metrics) of the booking-service replicas, in-process and child processes. */
  readonly replicaUrls: string[] = [];
  readonly logs = {
    gateway: new LogCapture(),
    bookingService: new LogCapture(),
    notificationService: new LogCapture(),
  };
  /** HTTP base URL of the notification service, once started. */
  notificationUrl = '';
  gateway!: INestApplication;
  baseUrl = '';
  readonly names: BookingNames;

  private constructor(
    readonly db: TestDatabase,
    readonly nats: PrivateNatsServer,
    readonly redis: PrivateRedisServer,
    private readonly options: StackOptions = {},
  ) {
    this.names = namesFor(options.namespace ?? '');
  }

  static async start(options: StackOptions = {}): Promise<Stack> {
    const shared = options.shareWith;
    const [db, nats, redis] = await Promise.all([
      options.db ?? TestDatabase.create(),
      shared?.nats ?? PrivateNatsServer.start(options.natsServer),
      shared?.redis ?? PrivateRedisServer.start(),
    ]);
    const stack = new Stack(db, nats, redis, options);
    for (let i = 0; i < (options.inProcessReplicas ?? 1); i++) await stack.startInProcessReplica();
    await Promise.all(Array.from({ length: options.processReplicas ?? 0 }, () => stack.startProcessReplica()));
    await stack.startGateway(options.gatewayEnv);
    return stack;
  }

  get serviceEnv(): Record<string, string> {
    return {
      NATS_URL: this.nats.url,
      DATABASE_URL: this.db.url,
      DATABASE_POOL_SIZE: '5',
      NODE_ENV: 'test',
      BOOKING_NAMESPACE: this.names.namespace,
      ...this.options.serviceEnv,
    };
  }

  async startInProcessReplica(env: Record<string, string> = {}): Promise<INestApplication> {
    const config = loadBookingServiceConfig({ ...this.serviceEnv, ...env, BOOKING_SERVICE_PORT: '0' });
    const app = await startBookingService(
      config,
      this.options.captureLogs ? { logDestination: this.logs.bookingService } : { logger: false },
    );
    this.replicas.push(app);
    this.replicaUrls.push(localUrl(await app.getUrl()));
    return app;
  }

  async startProcessReplica(env: Record<string, string> = {}): Promise<void> {
    const port = await freePort();
    const child = spawn(process.execPath, [BOOKING_SERVICE_MAIN], {
      env: { ...process.env, LOG_LEVEL: 'silent', ...this.serviceEnv, ...env, BOOKING_SERVICE_PORT: String(port) },
      stdio: ['ignore', this.options.captureLogs ? 'pipe' : 'ignore', 'inherit'],
    });
    child.stdout?.on('data', (chunk: Buffer) => this.logs.bookingService.write(chunk));
    this.children.push(child);
    const url = `http://127.0.0.1:${port}`;
    await waitForHttpOk(`${url}/health/ready`, 20_000, () => running(child));
    this.replicaUrls.push(url);
  }

  /** The notification service as a separate `node` process (log channel only), from the built service. */
  async startNotificationProcess(env: Record<string, string> = {}): Promise<void> {
    const port = await freePort();
    const child = spawn(process.execPath, [NOTIFICATION_SERVICE_MAIN], {
      env: {
        ...process.env,
        LOG_LEVEL: 'silent',
        NOTIFY_WEBHOOK_URL: '',
        ...this.serviceEnv,
        ...env,
        NOTIFICATION_SERVICE_PORT: String(port),
      },
      stdio: ['ignore', this.options.captureLogs ? 'pipe' : 'ignore', 'inherit'],
    });
    child.stdout?.on('data', (chunk: Buffer) => this.logs.notificationService.write(chunk));
    this.children.push(child);
    const url = `http://127.0.0.1:${port}`;
    await waitForHttpOk(`${url}/health/ready`, 20_000, () => running(child));
    this.notificationUrl = url;
  }

  /** The environment a gateway of this stack starts with (before per-test overrides). */
  get gatewayEnv(): Record<string, string> {
    return {
      NATS_URL: this.nats.url,
      REDIS_URL: this.redis.url,
      PORT: '0',
      HOST: '127.0.0.1',
      NODE_ENV: 'test',
      BOOKING_NAMESPACE: this.names.namespace,
      ...TEST_JWT,
      ...UNLIMITED,
    };
  }

  /** Starts the stack's main gateway. */
  async startGateway(env: Record<string, string> = {}): Promise<void> {
    this.baseUrl = await this.startExtraGateway(env);
    this.gateway = this.gateways.at(-1)!;
  }

  /** Starts another gateway on the same NATS and Redis; returns its base URL. */
  async startExtraGateway(env: Record<string, string> = {}): Promise<string> {
    const config = loadGatewayConfig({ ...this.gatewayEnv, ...env });
    const app = await startGateway(
      config,
      this.options.captureLogs ? { logDestination: this.logs.gateway } : { logger: false },
    );
    this.gateways.push(app);
    return localUrl(await app.getUrl());
  }

  async stopReplicas(): Promise<void> {
    this.replicaUrls.splice(0);
    await Promise.all(this.replicas.splice(0).map((app) => app.close()));
    await Promise.all(this.children.splice(0).map(stopChild));
  }

  async stop(): Promise<void> {
    for (const child of this.children) if (running(child)) child.kill('SIGCONT');
    await Promise.all(this.gateways.splice(0).map((app) => app.close()));
    await this.stopReplicas();
    if (this.options.shareWith) await this.db.drop();
    else await Promise.all([this.nats.dispose(), this.db.drop(), this.redis.stop()]);
  }

  /** Sends one JSON request to the gateway. */
  request(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiResponse> {
    return httpRequest(this.baseUrl + path, method, body, headers);
  }

  reserve(body: unknown, headers: Record<string, string> = {}): Promise<ApiResponse> {
    return this.request('POST', '/api/bookings/reserve', body, headers);
  }

  cancel(id: number | string, headers: Record<string, string> = {}): Promise<ApiResponse> {
    return this.request('DELETE', `/api/bookings/${id}`, undefined, headers);
  }

  /** Waits until the outbox relay has published every committed outbox row. */
  async outboxDrained(timeoutMs = 20_000): Promise<void> {
    await waitUntil(
      async () => (await this.db.query('SELECT 1 FROM outbox_pending LIMIT 1')).rowCount === 0,
      timeoutMs,
      'outbox rows still unpublished',
    );
  }

  /** Every message in the stack's booking events stream, in stream order. */
  async streamEvents(): Promise<StoredBookingEvent[]> {
    const nats = await connectNats({ servers: this.nats.url });
    try {
      return (await readBookingEvents(nats, { stream: this.names.eventsStream })).events;
    } finally {
      await nats.close();
    }
  }
}

/** Polls `condition` until it holds; fails with `what` after the timeout. */
/** Sends one request; a non-string body is sent as JSON. */
export async function httpRequest(
  url: string,
  method: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<ApiResponse> {
  const init: RequestInit = { method, headers: { ...headers } };
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
    (init.headers as Record<string, string>)['content-type'] ??= 'application/json';
  }
  const response = await fetch(url, init);
  const text = await response.text();
  return { status: response.status, body: parseJson(text), headers: response.headers };
}

export interface ApiResponse {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
  headers: Headers;
}

const localUrl = (url: string): string => url.replace('[::1]', '127.0.0.1').replace('0.0.0.0', '127.0.0.1');

/** A child that ended by a signal (SIGKILL, or SIGTERM re-raised after a graceful shutdown) has no exit code. */
const running = (child: ChildProcess): boolean => child.exitCode === null && child.signalCode === null;

function stopChild(child: ChildProcess): Promise<void> {
  if (!running(child)) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

/** Answers a gateway's request the way the booking service's Nest NATS transport does (scripted responders). */
export function respondAsBookingService(message: Msg, response: unknown): void {
  const { id } = message.json<{ id: string }>();
  message.respond(JSON.stringify({ id, response, isDisposed: true }));
}

/** The header that proves ownership of the booking a reservation's 201 returned (anonymous bookings' only credential). */
export function accessKeyOf(reservation: ApiResponse): Record<string, string> {
  const key = reservation.headers.get('booking-access-key');
  if (!key) throw new Error(`no Booking-Access-Key on a ${reservation.status} response`);
  return { 'booking-access-key': key };
}

/** Counts of statuses, e.g. { 201: 100, 409: 900 }. */
export function countStatuses(responses: ApiResponse[]): Record<number, number> {
  return countBy(responses.map((response) => response.status));
}

/** How many times each value occurs. */
export function countBy<T extends string | number>(values: T[]): Record<T, number> {
  const counts = {} as Record<T, number>;
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
}

function parseJson(text: string): unknown {
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return text;
  }
}
