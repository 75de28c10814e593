import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { errors, jwtVerify, SignJWT } from 'jose';
import { hmacKey, type HmacKey } from '../auth/hmac-key.js';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config.js';

/** The audience of each kind, so that neither passes for the other nor for an API token. */
const QUEUE_TICKET = 'waiting-room:ticket';
const ADMISSION = 'waiting-room:admission';

export interface QueueTicket {
  eventId: number;
  userId: string;
}

export interface Admission extends QueueTicket {
  jti: string;
  expiresAt: number;
}

/**
 * Queue tickets and admission tokens: JWTs signed with HS256 and WAITING_ROOM_SECRET (jose, as the API's own
 * tokens), so that every replica checks them without a lookup. A ticket names a place (event, user) and is
 * what a client shows to follow it; an admission token is one turn to book, single-use by its `jti`, which
 * Redis records (QueueStore.claim).
 */
@Injectable()
export class QueueTokens {
  private readonly key: Promise<HmacKey>;
  private readonly issuer: string;

  constructor(@Inject(GATEWAY_CONFIG) config: GatewayConfig) {
    this.key = hmacKey(config.WAITING_ROOM_SECRET);
    this.issuer = config.JWT_ISSUER;
  }

  async ticket({ eventId, userId }: QueueTicket): Promise<string> {
    return this.sign(QUEUE_TICKET, eventId, userId).sign(await this.key);
  }

  async admission({ eventId, userId, jti, expiresAt }: Admission): Promise<string> {
    return this.sign(ADMISSION, eventId, userId)
      .setJti(jti)
      .setExpirationTime(Math.floor(expiresAt / 1000))
      .sign(await this.key);
  }

  newJti(): string {
    return randomUUID();
  }

  /** The place a ticket names, or why it is not valid. */
  async readTicket(text: string, eventId: number): Promise<QueueTicket | string> {
    const claims = await this.verify(text, QUEUE_TICKET, eventId);
    return typeof claims === 'string' ? claims : { eventId, userId: claims.sub };
  }

  /** The admission a token carries, or why it is not valid (expired, another event, not signed here). */
  async readAdmission(text: string, eventId: number): Promise<Admission | string> {
    const claims = await this.verify(text, ADMISSION, eventId);
    if (typeof claims === 'string') return claims;
    if (typeof claims.jti !== 'string' || typeof claims.exp !== 'number') return 'it names no turn';
    return { eventId, userId: claims.sub, jti: claims.jti, expiresAt: claims.exp * 1000 };
  }

  private sign(audience: string, eventId: number, userId: string): SignJWT {
    return new SignJWT({ evt: eventId })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(userId)
      .setIssuer(this.issuer)
      .setAudience(audience)
      .setIssuedAt();
  }

  private async verify(
    text: string,
    audience: string,
    eventId: number,
  ): Promise<{ sub: string; jti?: string; exp?: number } | string> {
    try {
      const { payload } = await jwtVerify(text, await this.key, {
        issuer: this.issuer,
        audience,
        algorithms: ['HS256'],
      });
      if (payload.evt !== eventId) return `it was given for another event`;
      if (typeof payload.sub !== 'string') return 'it names no user';
      return { sub: payload.sub, jti: payload.jti, exp: payload.exp };
    } catch (error) {
      if (error instanceof errors.JWTExpired) return 'it has expired';
      if (error instanceof errors.JOSEError) return 'it is malformed or was not issued by this waiting room';
      throw error;
    }
  }
}
