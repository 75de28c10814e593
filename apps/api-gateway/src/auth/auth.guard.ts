import {
  Inject,
  Injectable,
  UnauthorizedException,
  ForbiddenException,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config.js';
import { ADMIN_ONLY, PUBLIC_ROUTE } from './auth.decorators.js';
import { isAdmin } from './principal.js';
import { TokenVerifier } from './token-verifier.js';

/**
 * Authenticates every route: a bearer token, when sent, must be valid (401
 * otherwise) and becomes `request.principal`. Admin routes need the `admin`
 * role (401 without a token, 403 with another role); with AUTH_MODE=required
 * every non-public route needs a token. Every 401 names the scheme
 * (`WWW-Authenticate`, set where errors are sent).
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly verifier: TokenVerifier,
    private readonly reflector: Reflector,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const targets = [context.getHandler(), context.getClass()];
    await authenticate(request, this.verifier);
    if (this.reflector.getAllAndOverride<boolean>(ADMIN_ONLY, targets)) {
      if (!request.principal)
        throw new UnauthorizedException('Admin token required: send Authorization: Bearer <token>');
      if (!isAdmin(request.principal)) throw new ForbiddenException('This route requires the admin role');
    } else if (
      this.config.AUTH_MODE === 'required' &&
      !request.principal &&
      !this.reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, targets)
    ) {
      throw new UnauthorizedException('Bearer token required: send Authorization: Bearer <token>');
    }
    return true;
  }
}

/** A bearer token, when sent, must be valid (401 otherwise): it becomes `request.principal`. */
export async function authenticate(request: FastifyRequest, verifier: TokenVerifier): Promise<void> {
  const token = bearerToken(request.headers.authorization);
  if (token !== undefined) request.principal = await verifier.verify(token);
}

/** The token of `Authorization: Bearer <token>`; undefined when no header; 401 for any other shape. */
function bearerToken(header: string | string[] | undefined): string | undefined {
  if (header === undefined) return undefined;
  const match = typeof header === 'string' ? /^Bearer +([A-Za-z0-9._~+/=-]+) *$/i.exec(header) : null;
  if (!match) throw new UnauthorizedException('Authorization header must be "Bearer <token>"');
  return match[1];
}
