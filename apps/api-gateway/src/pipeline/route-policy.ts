import { FASTIFY_ROUTE_CONFIG_METADATA } from '@nestjs/platform-fastify/constants.js';
import type { FastifyContextConfig } from 'fastify';

/** Who may call a route: anyone (also with AUTH_MODE=required), or only an admin token. Unset: as AUTH_MODE says. */
export type RouteAccess = 'public' | 'admin';

declare module 'fastify' {
  /** What the request pipeline does on a route, read from the route's config when the route is added. */
  interface FastifyContextConfig {
    access?: RouteAccess;
    /** Accepts `Idempotency-Key` (the POST and DELETE routes). */
    idempotent?: boolean;
    /** The route's 201 is a booking, answered with its access key. */
    issuesBookingAccessKey?: boolean;
    /** The route's 200 carries an ETag, and a matching `If-None-Match` gets a 304. */
    conditional?: boolean;
  }
}

export type RoutePolicy = Pick<
  FastifyContextConfig,
  'access' | 'idempotent' | 'issuesBookingAccessKey' | 'conditional'
>;

/**
 * Adds to a controller method's Fastify route config (Nest's `RouteConfig`
 * replaces it, so two decorators could not both set a part).
 */
export const routePolicy =
  (policy: RoutePolicy): MethodDecorator =>
  (_target, _key, descriptor) => {
    const current = (Reflect.getMetadata(FASTIFY_ROUTE_CONFIG_METADATA, descriptor.value as object) ?? {}) as object;
    Reflect.defineMetadata(FASTIFY_ROUTE_CONFIG_METADATA, { ...current, ...policy }, descriptor.value as object);
    return descriptor;
  };
