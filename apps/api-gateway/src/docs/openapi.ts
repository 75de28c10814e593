import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { BOOKING_ACCESS_KEY_SCHEME } from '../auth/booking-access.js';

export const DOCS_PATH = 'api/docs';

/**
 * Serves the OpenAPI document built from the controllers and their zod schemas: UI at /api/docs, JSON at
 * /api/docs/openapi.json. The document is built on the first request for it, not while the gateway starts.
 */
export function setupOpenApi(app: NestFastifyApplication): void {
  const config = new DocumentBuilder()
    .setTitle('Event booking API')
    .setDescription(
      'Books seats for events with a fixed capacity; never oversells, never books a user twice for one event. ' +
        'Every error is `{ message, error, statusCode }`. Every response carries X-Request-Id (sent back when given).',
    )
    .setVersion('1.0')
    .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' })
    .addApiKey(
      {
        type: 'apiKey',
        in: 'header',
        name: 'Booking-Access-Key',
        description:
          'The key returned in this header with a booking (201 of POST /api/bookings/reserve): opens that booking alone, without a token (AUTH_MODE=optional).',
      },
      BOOKING_ACCESS_KEY_SCHEME,
    )
    .build();
  SwaggerModule.setup(DOCS_PATH, app, () => SwaggerModule.createDocument(app, config), {
    jsonDocumentUrl: `${DOCS_PATH}/openapi.json`,
    yamlDocumentUrl: `${DOCS_PATH}/openapi.yaml`,
  });
}
