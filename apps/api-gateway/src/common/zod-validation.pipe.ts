import { validate } from '@booking/shared';
import { BadRequestException, type ArgumentMetadata, type PipeTransform } from '@nestjs/common';
import type { z } from 'zod';

/**
 * Validates a body, query or parameter object with the zod schema given in the
 * parameter decorator (`@Body({ schema })`, which also documents it in OpenAPI),
 * or in the constructor. Failures are 400s naming each bad field.
 */
export class ZodValidationPipe<T> implements PipeTransform<unknown, T> {
  constructor(private readonly schema?: z.ZodType<T>) {}

  transform(value: unknown, metadata?: ArgumentMetadata): T {
    const schema = this.schema ?? (metadata?.schema as z.ZodType<T> | undefined);
    return schema ? parseOrReject(schema, value) : (value as T);
  }
}

/** `value` as `schema` parses it, or a 400 naming each bad field. */
export function parseOrReject<T>(schema: z.ZodType<T>, value: unknown): T {
  const result = validate(schema, value);
  if (!result.success) throw new BadRequestException(result.message);
  return result.data;
}
