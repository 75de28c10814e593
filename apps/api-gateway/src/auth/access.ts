import { ForbiddenException, UnauthorizedException } from '@nestjs/common';
import type { GatewayConfig } from '../config.js';
import type { RouteAccess } from '../pipeline/route-policy.js';
import { isAdmin, type Principal } from './principal.js';

/** The token of `Authorization: Bearer <token>`; undefined when no header; 401 for any other shape. */
export function bearerToken(header: string | string[] | undefined): string | undefined {
  if (header === undefined) return undefined;
  const match = typeof header === 'string' ? /^Bearer +([A-Za-z0-9._~+/=-]+) *$/i.exec(header) : null;
  if (!match) throw new UnauthorizedException('Authorization header must be "Bearer <token>"');
  return match[1];
}

/**
 * Whether the caller (a verified token's principal, or none) may call a route:
 * admin routes need the `admin` role (401 without a token, 403 with another
 * role); with AUTH_MODE=required every non-public route needs a token. Every
 * 401 names the scheme (`WWW-Authenticate`, set where errors are sent).
 */
export function requireAccess(
  access: RouteAccess | undefined,
  principal: Principal | undefined,
  authMode: GatewayConfig['AUTH_MODE'],
): void {
  if (access === 'admin') {
    if (!principal) throw new UnauthorizedException('Admin token required: send Authorization: Bearer <token>');
    if (!isAdmin(principal)) throw new ForbiddenException('This route requires the admin role');
  } else if (authMode === 'required' && !principal && access !== 'public') {
    throw new UnauthorizedException('Bearer token required: send Authorization: Bearer <token>');
  }
}
