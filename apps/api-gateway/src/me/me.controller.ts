import type { IdentityView } from '@booking/shared';
import { Controller, Get, UnauthorizedException } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, type Principal } from '../auth/principal.js';
import { ApiErrors, identityViewSchema } from '../docs/api-schemas.js';

/** Lets a client check a token before using it (the web app does at sign-in): the request pipeline has verified it already. */
@ApiTags('auth')
@ApiBearerAuth()
@Controller('api/me')
export class MeController {
  @Get()
  @ApiOperation({ summary: 'Who the bearer token names: its subject and roles (401 when it is missing or invalid)' })
  @ApiResponse({ status: 200, standardSchema: identityViewSchema })
  @ApiErrors(401)
  me(@CurrentPrincipal() principal: Principal | undefined): IdentityView {
    if (!principal) throw new UnauthorizedException('Send Authorization: Bearer <token> to learn whom it names');
    return { sub: principal.sub, roles: principal.roles };
  }
}
