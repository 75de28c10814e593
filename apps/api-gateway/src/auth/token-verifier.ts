import {
  HttpException,
  HttpStatus,
  Inject,
  Injectable,
  ServiceUnavailableException,
  UnauthorizedException,
} from '@nestjs/common';
import { createRemoteJWKSet, errors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config.js';
import { hmacKey, type HmacKey } from './hmac-key.js';
import { principalFromClaims, type Principal } from './principal.js';

const MAX_TOKEN_LENGTH = 8_192;

/**
 * Verifies bearer JWTs with jose: exactly the configured algorithm (so `alg:
 * none` and algorithm confusion are refused), issuer, audience, expiry, and a
 * `sub`. HS256 uses JWT_SECRET; RS256/ES256 use the keys published at JWT_JWKS_URL.
 */
@Injectable()
export class TokenVerifier {
  private readonly key: Promise<HmacKey> | JWTVerifyGetKey;

  constructor(@Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig) {
    this.key =
      config.JWT_ALGORITHM === 'HS256'
        ? hmacKey(config.JWT_SECRET)
        : createRemoteJWKSet(new URL(config.JWT_JWKS_URL!), { timeoutDuration: 2_000, cooldownDuration: 30_000 });
  }

  async verify(token: string): Promise<Principal> {
    if (token.length > MAX_TOKEN_LENGTH)
      throw new UnauthorizedException(`Token is longer than ${MAX_TOKEN_LENGTH} characters`);
    let claims: Record<string, unknown>;
    try {
      const options = {
        algorithms: [this.config.JWT_ALGORITHM],
        issuer: this.config.JWT_ISSUER,
        audience: this.config.JWT_AUDIENCE,
        clockTolerance: this.config.JWT_CLOCK_TOLERANCE_S,
        requiredClaims: ['sub', 'exp'],
      };
      const verified =
        this.key instanceof Promise
          ? await jwtVerify(token, await this.key, options)
          : await jwtVerify(token, this.key, options);
      claims = verified.payload;
    } catch (error) {
      throw this.rejection(error);
    }
    const principal = principalFromClaims(claims);
    if (typeof principal === 'string') throw new UnauthorizedException(`Invalid token: ${principal}`);
    return principal;
  }

  private rejection(error: unknown): HttpException {
    if (error instanceof errors.JWTExpired) return new UnauthorizedException('Token has expired');
    if (error instanceof errors.JWTClaimValidationFailed)
      return new UnauthorizedException(`Invalid token: ${error.message}`);
    if (error instanceof errors.JOSEAlgNotAllowed) {
      return new UnauthorizedException(`Token algorithm is not accepted (expected ${this.config.JWT_ALGORITHM})`);
    }
    if (error instanceof errors.JWSSignatureVerificationFailed)
      return new UnauthorizedException('Token signature is invalid');
    if (error instanceof errors.JWKSNoMatchingKey)
      return new UnauthorizedException('Token is signed with an unknown key');
    if (
      error instanceof errors.JWKSTimeout ||
      (error instanceof errors.JOSEError && error.code === 'ERR_JWKS_INVALID')
    ) {
      return new ServiceUnavailableException('Token signing keys cannot be fetched; try again shortly');
    }
    if (error instanceof errors.JOSEError) return new UnauthorizedException('Token is malformed');
    // Anything else comes from fetching the key set (network): our dependency, not the caller's fault.
    return new HttpException('Token signing keys cannot be fetched; try again shortly', HttpStatus.SERVICE_UNAVAILABLE);
  }
}
