import { randomInt } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { GATEWAY_CONFIG, redisKeyPrefix, type GatewayConfig } from '../config.js';
import { RedisAvailability } from '../redis/redis-availability.js';
import { repaced, type Pace } from './queue-rules.js';
import { ADMIT, CLAIM, CLOSE, JOIN, PLACE, READ_CONF, ROOM, SETTLE, WRITE_CONF } from './queue-scripts.js';

export type JoinResult =
  { kind: 'off' | 'closed' } | { kind: 'not_yet'; joinOpensAt: number } | { kind: 'joined'; rank: number; now: number };

/** What the place script read: the room's pace and the client's own record. */
export interface PlaceRecord {
  pace: Pace;
  opensAt: number;
  closed: boolean;
  rank: number | undefined;
  admission?: { jti: string; expiresAt: number; state: 'issued' | 'claimed' | 'used' };
  now: number;
}

export interface RoomRecord {
  pace: Pace;
  leadMs: number;
  opensAt: number;
  closed: boolean;
  queued: number;
  admitted: number;
  now: number;
}

export type ClaimResult = 'off' | 'unknown' | 'used' | 'busy' | 'claimed';

interface RoomQuestion {
  promise: Promise<boolean>;
  resolve: (hasRoom: boolean) => void;
  reject: (error: unknown) => void;
}

/** A claim older than this is taken to be lost with its gateway (longer than any reservation may run). */
const CLAIM_TTL_MS = 60_000;
const WRITE_ATTEMPTS = 5;

type Reply = (string | number | null)[] | null;

/** The waiting room's state in Redis, one script per atomic step (queue-scripts.ts). */
@Injectable()
export class QueueStore {
  private readonly prefix: string;
  private readonly join$;
  private readonly place$;
  private readonly admit$;
  private readonly claim$;
  private readonly settle$;
  private readonly readConf$;
  private readonly writeConf$;
  private readonly close$;
  private readonly room$;
  /** Events asked about in the current turn of the event loop (`hasRoom`), not yet sent. */
  private roomQuestions?: Map<number, RoomQuestion>;

  constructor(
    private readonly redis: RedisAvailability,
    @Inject(GATEWAY_CONFIG) config: GatewayConfig,
  ) {
    this.prefix = `${redisKeyPrefix(config)}wr:`;
    this.join$ = redis.defineScript<Reply>('waitingRoomJoin', 4, JOIN);
    this.place$ = redis.defineScript<Reply>('waitingRoomPlace', 4, PLACE);
    this.admit$ = redis.defineScript<Reply>('waitingRoomAdmit', 3, ADMIT);
    this.claim$ = redis.defineScript<ClaimResult>('waitingRoomClaim', 2, CLAIM);
    this.settle$ = redis.defineScript<number>('waitingRoomSettle', 1, SETTLE);
    this.readConf$ = redis.defineScript<Reply>('waitingRoomReadConf', 1, READ_CONF);
    this.writeConf$ = redis.defineScript<number>('waitingRoomWriteConf', 2, WRITE_CONF);
    this.close$ = redis.defineScript<number>('waitingRoomClose', 1, CLOSE);
    this.room$ = redis.defineScript<Reply>('waitingRoomRoom', 3, ROOM);
  }

  get available(): boolean {
    return this.redis.available;
  }

  async join(eventId: number, userId: string): Promise<JoinResult> {
    const k = this.keys(eventId);
    // A uniform draw from [0, 1), used only if the arrival is placed early.
    const score = `0.${String(randomInt(0, 2 ** 48 - 1)).padStart(15, '0')}`;
    const reply = (await this.join$(k.conf, k.q, k.seq, k.adm, userId, score))!;
    if (reply[0] === 'not_yet') return { kind: 'not_yet', joinOpensAt: Number(reply[1]) };
    if (reply[0] === 'joined') return { kind: 'joined', rank: Number(reply[1]), now: Number(reply[2]) };
    return { kind: reply[0] as 'off' | 'closed' };
  }

  async place(eventId: number, userId: string): Promise<PlaceRecord | undefined> {
    const k = this.keys(eventId);
    const reply = await this.place$(k.conf, k.q, k.adm, k.tok, userId);
    if (!reply) return undefined;
    const [rate, opensAt, baseAt, baseCount, closed, rank, admission, state, now] = reply.map(String);
    const record: PlaceRecord = {
      pace: { rate: Number(rate), baseAt: Number(baseAt), baseCount: Number(baseCount) },
      opensAt: Number(opensAt),
      closed: closed === '1',
      rank: rank === '-1' ? undefined : Number(rank),
      now: Number(now),
    };
    if (admission) {
      const [jti, expiresAt] = admission.split('|');
      const tokenState = state!.startsWith('claimed') ? 'claimed' : state === 'used' ? 'used' : 'issued';
      record.admission = { jti: jti!, expiresAt: Number(expiresAt), state: tokenState };
    }
    return record;
  }

  /** The place's one admission: recorded now, or the one recorded before. */
  async admit(
    eventId: number,
    userId: string,
    jti: string,
    expiresAt: number,
  ): Promise<{ kind: 'off' | 'closed' } | { kind: 'admitted'; jti: string; expiresAt: number }> {
    const k = this.keys(eventId);
    const reply = (await this.admit$(k.conf, k.adm, k.tok, userId, jti, String(expiresAt)))!;
    if (reply[0] !== 'admitted') return { kind: reply[0] as 'off' | 'closed' };
    const [recordedJti, recordedExpiry] = String(reply[1]).split('|');
    return { kind: 'admitted', jti: recordedJti!, expiresAt: Number(recordedExpiry) };
  }

  /**
   * Whether the event has a waiting room. The questions asked in one turn of the event loop (a crowd's
   * reservations) go to Redis together once that turn is over: one round trip for all of them, sent after
   * each of them arrived, so a room switched on before a reservation reached this gateway is never missed.
   */
  hasRoom(eventId: number): Promise<boolean> {
    if (!this.roomQuestions) {
      const questions = new Map<number, RoomQuestion>();
      this.roomQuestions = questions;
      setImmediate(() => void this.askRooms(questions));
    }
    let question = this.roomQuestions.get(eventId);
    if (!question) {
      let resolve!: RoomQuestion['resolve'];
      let reject!: RoomQuestion['reject'];
      const promise = new Promise<boolean>((settle, fail) => ([resolve, reject] = [settle, fail]));
      question = { promise, resolve, reject };
      this.roomQuestions.set(eventId, question);
    }
    return question.promise;
  }

  private async askRooms(questions: Map<number, RoomQuestion>): Promise<void> {
    this.roomQuestions = undefined;
    const ids = [...questions.keys()];
    try {
      // A pipeline reports a lost connection per command rather than by rejecting: thrown here, so that
      // RedisAvailability takes it for Redis being away, as it does any other command's.
      const answers = await this.redis.run(async (redis) => {
        const replies = await redis.pipeline(ids.map((id) => ['exists', this.keys(id).conf])).exec();
        if (!replies) throw new Error('the pipeline was not run');
        const failed = replies.find(([error]) => error);
        if (failed) throw failed[0];
        return replies.map(([, exists]) => exists === 1);
      });
      ids.forEach((id, i) => questions.get(id)!.resolve(answers[i]!));
    } catch (error) {
      for (const question of questions.values()) question.reject(error);
    }
  }

  /** Claims an admission token (`jti`) of the event's room for a reservation; 'off' when it has no room. */
  claim(eventId: number, jti: string): Promise<ClaimResult> {
    const k = this.keys(eventId);
    return this.claim$(k.conf, k.tok, jti, CLAIM_TTL_MS);
  }

  async settle(eventId: number, jti: string, outcome: 'used' | 'issued'): Promise<void> {
    await this.settle$(this.keys(eventId).tok, jti, outcome);
  }

  async close(eventId: number): Promise<boolean> {
    return (await this.close$(this.keys(eventId).conf)) === 1;
  }

  async room(eventId: number): Promise<RoomRecord | undefined> {
    const k = this.keys(eventId);
    const reply = await this.room$(k.conf, k.q, k.adm);
    if (!reply) return undefined;
    const [rate, leadMs, opensAt, baseAt, baseCount, closed, queued, admitted, now] = reply.map(Number);
    return {
      pace: { rate: rate!, baseAt: baseAt!, baseCount: baseCount! },
      leadMs: leadMs!,
      opensAt: opensAt!,
      closed: closed === 1,
      queued: queued!,
      admitted: admitted!,
      now: now!,
    };
  }

  /**
   * Switches the room on or changes it: the pace is decided in code (`repaced`, keeping the count reached)
   * and written only if nobody changed the room meanwhile. `settings` left out keep their value.
   * Returns false when asked to change a room that does not exist.
   */
  async configure(
    eventId: number,
    change: { rate?: number; leadMs?: number; opensAt: number },
    createIfMissing: boolean,
  ): Promise<boolean> {
    const k = this.keys(eventId);
    for (let attempt = 0; attempt < WRITE_ATTEMPTS; attempt++) {
      const reply = (await this.readConf$(k.conf))!;
      const exists = reply[0] !== null && reply[0] !== undefined && reply.length > 2;
      if (!exists && !createIfMissing) return false;
      const now = Number(reply.at(-1));
      const [rate, leadMs, , baseAt, baseCount, , version] = reply.map((value) => Number(value));
      const current = exists ? { rate: rate!, baseAt: baseAt!, baseCount: baseCount! } : undefined;
      const nextRate = change.rate ?? rate!;
      const pace = repaced(current, nextRate, change.opensAt, now);
      const written = await this.writeConf$(
        k.conf,
        this.roomsKey,
        String(eventId),
        exists ? String(version) : '',
        String(nextRate),
        String(change.leadMs ?? leadMs!),
        String(change.opensAt),
        String(pace.baseAt),
        String(pace.baseCount),
      );
      if (written === 1) return true;
    }
    throw new Error(`waiting room of event ${eventId} kept changing while being configured`);
  }

  /** Switches the room off: its queue and admissions are forgotten. Returns false if there was none. */
  async remove(eventId: number): Promise<boolean> {
    const k = this.keys(eventId);
    const removed = await this.redis.run((redis) =>
      redis.multi().del(k.conf, k.q, k.seq, k.adm, k.tok).srem(this.roomsKey, String(eventId)).exec(),
    );
    return Number(removed?.[0]?.[1] ?? 0) > 0;
  }

  /** The events that have a waiting room. */
  async rooms(): Promise<number[]> {
    return (await this.redis.run((redis) => redis.smembers(this.roomsKey))).map(Number);
  }

  private get roomsKey(): string {
    return `${this.prefix}rooms`;
  }

  private keys(eventId: number) {
    const base = `${this.prefix}{${eventId}}:`;
    return { conf: `${base}conf`, q: `${base}q`, seq: `${base}seq`, adm: `${base}adm`, tok: `${base}tok` };
  }
}
