import { redisKeyPrefix, type GatewayConfig } from '../config.js';

/** Where the waiting rooms' keys live in Redis, under the gateway's prefix. */
export const waitingRoomPrefix = (config: GatewayConfig): string => `${redisKeyPrefix(config)}wr:`;

/** An event's keys (queue-scripts.ts describes each); the hash tag keeps them in one Redis Cluster slot. */
export function roomKeys(prefix: string, eventId: number) {
  const base = `${prefix}{${eventId}}:`;
  return {
    conf: `${base}conf`,
    q: `${base}q`,
    seq: `${base}seq`,
    adm: `${base}adm`,
    tok: `${base}tok`,
    live: `${base}live`,
    held: `${base}held`,
    lat: `${base}lat`,
    ctl: `${base}ctl`,
  };
}
