import { STATUS_CODES } from 'node:http';
import { CORRELATION_ID_DESCRIPTION, REQUEST_ID_HEADER } from '@booking/shared';
import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { FastifyInstance, FastifyRequest } from 'fastify';

/**
 * Echoes the request id on every response. A malformed X-Request-Id is refused
 * (400) rather than logged and forwarded: it ends up in logs and in the
 * booking service's correlation ids.
 */
export function registerRequestId(fastify: FastifyInstance): void {
  fastify.addHook('onRequest', (request, reply, done) => {
    void reply.header(REQUEST_ID_HEADER, request.id);
    const given = request.headers[REQUEST_ID_HEADER];
    if (given === undefined || given === request.id) return done();
    void reply.code(400).send({
      message: `${REQUEST_ID_HEADER} must be ${CORRELATION_ID_DESCRIPTION}`,
      error: STATUS_CODES[400],
      statusCode: 400,
    });
  });
}

/**
 * The request's id, for a route handler to pass on to the booking service.
 * Passed by hand rather than kept in an AsyncLocalStorage: on Node 20 that
 * puts a hook on every promise the gateway makes.
 */
export const RequestId = createParamDecorator(
  (_data: unknown, context: ExecutionContext): string => context.switchToHttp().getRequest<FastifyRequest>().id,
);
