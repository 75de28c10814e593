import { validate } from '@booking/shared';
import { Injectable, type PipeTransform } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import type { z } from 'zod';

/** A payload that does not meet its subject's contract; answered `VALIDATION` with `message` (RpcErrorFilter). */
export class InvalidPayloadError extends Error {
  override name = 'InvalidPayloadError';
}

/** Checks a NATS payload against its contract schema and hands the handler the parsed value. */
@Injectable()
export class ValidPayloadPipe<T> implements PipeTransform<unknown, T> {
  constructor(private readonly schema: z.ZodType<T>) {}

  transform(payload: unknown): T {
    const input = validate(this.schema, payload);
    if (!input.success) throw new InvalidPayloadError(input.message);
    return input.data;
  }
}

/** `@Payload()`, parsed with `schema`: a handler gets only payloads that meet it. */
export const ValidPayload = <T>(schema: z.ZodType<T>) => Payload(new ValidPayloadPipe(schema));
