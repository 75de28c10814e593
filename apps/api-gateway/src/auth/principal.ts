import { ADMIN_ROLE, userIdSchema } from '@booking/shared';
import { createParamDecorator, ForbiddenException, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';

/** Who a verified token says the caller is. */
export interface Principal {
  sub: string;
  roles: string[];
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the request pipeline when the request carried a valid token. */
    principal?: Principal;
  }
}

export const isAdmin = (principal: Principal | undefined): boolean => !!principal?.roles.includes(ADMIN_ROLE);

/** The caller's verified identity, or undefined for an anonymous request (AUTH_MODE=optional). */
export const CurrentPrincipal = createParamDecorator(
  (_data: unknown, context: ExecutionContext): Principal | undefined =>
    context.switchToHttp().getRequest<FastifyRequest>().principal,
);

/** Changes (book, cancel) are made only as oneself: the token's subject must be the user named. */
export function assertMayActAs(principal: Principal | undefined, userId: string): void {
  if (principal && principal.sub !== userId) {
    throw new ForbiddenException(`A token for ${principal.sub} cannot act as user ${userId}`);
  }
}

/** Reads: an admin may read anyone's bookings, a user only their own. */
export function assertMayRead(principal: Principal | undefined, userId: string): void {
  if (principal && !isAdmin(principal) && principal.sub !== userId) {
    throw new ForbiddenException(`A token for ${principal.sub} cannot read bookings of user ${userId}`);
  }
}

/** Turns verified claims into a principal; `sub` must be a valid user id, `roles` a list of names. */
export function principalFromClaims(claims: Record<string, unknown>): Principal | string {
  const sub = userIdSchema.safeParse(claims.sub);
  if (!sub.success) return `"sub" claim is invalid: ${sub.error.issues[0]!.message.replace('user_id', 'sub')}`;
  const roles = claims.roles ?? [];
  if (!Array.isArray(roles) || !roles.every((role) => typeof role === 'string')) {
    return '"roles" claim must be a list of strings';
  }
  return { sub: sub.data, roles };
}
