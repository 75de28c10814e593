import { SignJWT } from 'jose';
import type { GatewayConfig } from '../config.js';

export interface TokenRequest {
  sub: string;
  roles?: string[];
  /** jose time span, e.g. "1h", "15m", "7d". */
  expiresIn?: string;
}

/** Signs an HS256 token the gateway accepts with its own JWT_SECRET, issuer and audience (local runs and tests). */
export function mintToken(
  config: Pick<GatewayConfig, 'JWT_SECRET' | 'JWT_ISSUER' | 'JWT_AUDIENCE'>,
  { sub, roles = [], expiresIn = '1h' }: TokenRequest,
): Promise<string> {
  return new SignJWT({ roles })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(sub)
    .setIssuer(config.JWT_ISSUER)
    .setAudience(config.JWT_AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(expiresIn)
    .sign(new TextEncoder().encode(config.JWT_SECRET));
}
