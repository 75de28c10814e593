import { validate } from '@booking/shared';
import { BadRequestException, type PipeTransform } from '@nestjs/common';
import type { z } from 'zod';

/** Validates a body, query or parameter object with a shared zod schema; failures are 400s naming the field. */
export class ZodValidationPipe<T> implements PipeTransform<unknown, T> {
  constructor(private readonly schema: z.ZodType<T>) {}

  transform(value: unknown): T {
    const result = validate(this.schema, value);
    if (!result.success) throw new BadRequestException(result.message);
    return result.data;
  }
}
