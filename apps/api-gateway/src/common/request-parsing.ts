import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import secureJson from 'secure-json-parse';
import type { ErrorBody } from './http-error.filter.js';

// Named like Fastify's own errors, so Nest's adapter turns them into HttpExceptions with this message.
const clientError = (message: string): FastifyError =>
  Object.assign(new Error(message), { statusCode: 400, code: 'BAD_JSON_BODY', name: 'FastifyError' }) as FastifyError;

// Fatal: bytes that are not UTF-8 are refused, never turned into U+FFFD (which would store text other than what was sent).
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The API accepts JSON bodies only, read as bytes and decoded as strict UTF-8,
 * then parsed by secure-json-parse (what Fastify uses too), with messages that
 * say what is wrong: bytes that are not UTF-8, invalid JSON with the parser's
 * reason, and prototype poisoning (`__proto__`, `constructor.prototype`) refused by name.
 */
export function registerJsonBodyParser(fastify: FastifyInstance): void {
  // JSON only: Fastify's text/plain parser would let a string body through to validation.
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) => {
    let text: string;
    try {
      text = utf8.decode(body as Buffer);
    } catch {
      return done(clientError('Request body is not valid UTF-8'), undefined);
    }
    if (text.trim() === '') return done(clientError('Request body is empty; send a JSON object'), undefined);
    try {
      done(null, secureJson.parse(text, { protoAction: 'error', constructorAction: 'error' }));
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      done(
        /prototype/i.test(reason)
          ? clientError('Request body must not contain "__proto__" or "constructor.prototype" keys')
          : clientError(`Request body is not valid JSON: ${reason}`),
        undefined,
      );
    }
  });
}

/**
 * Refuses a query string whose percent-encoding is malformed or decodes to bytes
 * that are not UTF-8 (`%FF`, an encoded surrogate `%ED%A0%80`). Fastify's query
 * parser would keep such a value as its raw text, so `?user_id=%FF` would look up
 * a user named "%FF". `decodeURIComponent` is the strict decoder: it throws on
 * both, and the whole string fails exactly when one of its values would.
 */
export function registerQueryStringCheck(fastify: FastifyInstance): void {
  fastify.addHook('onRequest', (request, reply, done) => {
    const start = request.url.indexOf('?');
    if (start === -1) return done();
    try {
      decodeURIComponent(request.url.slice(start + 1));
    } catch {
      void reply.code(400).send({
        message: 'The query string is not validly percent-encoded UTF-8',
        error: STATUS_CODES[400],
        statusCode: 400,
      });
      return;
    }
    done();
  });
}

/**
 * Fastify's `frameworkErrors` option: failures while routing (bad percent-encoding,
 * an over-long path parameter) happen before Nest sees the request, so they are
 * answered here, in the same `{ message, error, statusCode }` shape.
 */
export function frameworkErrors(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  const statusCode = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 400;
  const body: ErrorBody = { message: describeFastifyError(error), error: STATUS_CODES[statusCode]!, statusCode };
  void reply.code(statusCode).send(body);
}

/** Clearer messages for Fastify's own client errors. */
export function describeFastifyError(error: { code?: string; message: string }, contentType?: string): string {
  switch (error.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return `Content-Type ${contentType ? `"${contentType.slice(0, 100)}"` : '(none)'} is not supported; send application/json`;
    case 'FST_ERR_BAD_URL':
      return 'The URL is not validly percent-encoded';
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return 'A path segment is too long';
    default:
      return error.message;
  }
}
