import type { DatabaseConnection } from '@booking/database';
import { checkReadiness, postgresCheck } from '@booking/observability';
import {
  Controller,
  Get,
  Inject,
  Module,
  type DynamicModule,
  type InjectionToken,
  type ModuleMetadata,
} from '@nestjs/common';
import { HealthCheckService, HealthIndicatorService, type HealthIndicatorFunction } from '@nestjs/terminus';
import { DATABASE } from './database.module.js';

/** The dependencies a service checks before it says it is ready (PostgreSQL's is always among them). */
const READINESS_CHECKS = Symbol('READINESS_CHECKS');

@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    @Inject(READINESS_CHECKS) private readonly checks: HealthIndicatorFunction[],
  ) {}

  /** The process runs and answers; says nothing about dependencies. */
  @Get('live')
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /** Ready to take work: every dependency answers (503 naming those that do not). */
  @Get('ready')
  ready() {
    return checkReadiness(this.health, this.checks);
  }
}

export interface ReadinessChecks {
  imports?: ModuleMetadata['imports'];
  providers?: ModuleMetadata['providers'];
  /** Given to `checks` after the indicator service. */
  inject?: InjectionToken[];
  /** The service's own checks, beyond `SELECT 1` through its pool. */
  checks: (indicators: HealthIndicatorService, ...dependencies: never[]) => HealthIndicatorFunction[];
}

/** `GET /health/live` and `GET /health/ready` of a service with a database. */
@Module({})
export class HealthModule {
  static withChecks({ imports = [], providers = [], inject = [], checks }: ReadinessChecks): DynamicModule {
    return {
      module: HealthModule,
      imports,
      controllers: [HealthController],
      providers: [
        ...providers,
        {
          provide: READINESS_CHECKS,
          inject: [HealthIndicatorService, DATABASE, ...inject],
          useFactory: (
            indicators: HealthIndicatorService,
            database: DatabaseConnection,
            ...dependencies: never[]
          ): HealthIndicatorFunction[] => [
            postgresCheck(indicators, 'postgresql', database.pool),
            ...checks(indicators, ...dependencies),
          ],
        },
      ],
    };
  }
}
