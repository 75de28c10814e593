import { pipeline, Readable } from 'node:stream';
import {
  idParamsSchema,
  MAX_LIST_SIZE,
  pageQueryStringSchema,
  type BookingView,
  type GetByIdQuery,
  type PageQuery,
} from '@booking/shared';
import { Controller, Get, Headers, Param, Query, Req, Res, StreamableFile } from '@nestjs/common';
import { ApiBearerAuth, ApiHeader, ApiOperation, ApiProduces, ApiResponse, ApiTags } from '@nestjs/swagger';
import { stringify } from 'csv-stringify';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AdminOnly } from '../auth/auth.decorators.js';
import { BookingClient } from '../booking-client/booking-client.js';
import { PAGE_HEADERS, pageOf, rowsToAsk } from '../common/paging.js';
import { RequestId } from '../common/request-id.js';
import { ApiErrors, bookingViewSchema } from '../docs/api-schemas.js';

const CSV_COLUMNS = ['id', 'event_id', 'user_id', 'created_at'] as const;

/** An event's bookings, for its organisers: a page as JSON, or a CSV file. */
@ApiTags('events')
@ApiBearerAuth()
@Controller('api/events')
export class EventBookingsController {
  constructor(private readonly bookings: BookingClient) {}

  @Get(':id/bookings')
  @AdminOnly()
  @ApiOperation({
    summary:
      "An event's bookings by id (admin token required). JSON: a page of `limit` (default 100), the next one named by " +
      'Next-Cursor and Link. With Accept: text/csv, a CSV file (id,event_id,user_id,created_at): every booking, or ' +
      'the page that limit or cursor names. A cell that a spreadsheet would run as a formula (=, +, -, @, tab, CR ' +
      'first) is written with a leading apostrophe. A CSV cut short by a failure ends with a broken connection, ' +
      'never as if complete.',
  })
  @ApiProduces('application/json', 'text/csv')
  @ApiHeader({ name: 'Accept', required: false, description: 'text/csv for a CSV file; JSON otherwise' })
  @ApiResponse({ status: 200, standardSchema: bookingViewSchema.array(), headers: PAGE_HEADERS })
  @ApiErrors(400, 401, 403, 404, 504)
  async list(
    @Param({ schema: idParamsSchema }) params: GetByIdQuery,
    @Query({ schema: pageQueryStringSchema }) query: PageQuery,
    @Headers('accept') accept: string | undefined,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @RequestId() requestId: string,
  ): Promise<BookingView[] | StreamableFile> {
    // An unknown event is a 404, not an empty list.
    await this.bookings.getEvent(params, requestId);
    const wholeFile = wantsCsv(accept) && query.limit === undefined && query.cursor === undefined;
    const ask = (afterId: number | undefined, limit: number) =>
      this.bookings.listBookings({ event_id: params.id, after_id: afterId, limit }, requestId);
    if (wholeFile) {
      // The first page before the answer starts, so that a failure there is still an error response.
      const first = await ask(undefined, MAX_LIST_SIZE);
      return csvFile(
        params.id,
        allBookings(first, (afterId) => ask(afterId, MAX_LIST_SIZE)),
      );
    }
    const page = pageOf(await ask(query.cursor, rowsToAsk(query)), query, request, reply);
    return wantsCsv(accept) ? csvFile(params.id, Readable.from(page)) : page;
  }
}

const wantsCsv = (accept: string | undefined): boolean => accept !== undefined && /\btext\/csv\b/i.test(accept);

/** Every booking, `first` and the pages after it, read one page at a time as the file is written. */
async function* allBookings(
  first: BookingView[],
  next: (afterId: number) => Promise<BookingView[]>,
): AsyncGenerator<BookingView> {
  for (let page = first; page.length > 0; page = page.length < MAX_LIST_SIZE ? [] : await next(page.at(-1)!.id)) {
    yield* page;
  }
}

/** Bookings as a CSV download; a failure of the source breaks the connection (see the route's summary). */
function csvFile(eventId: number, bookings: Iterable<BookingView> | AsyncIterable<BookingView>): StreamableFile {
  const csv = stringify({ header: true, columns: [...CSV_COLUMNS], escape_formulas: true });
  pipeline(Readable.from(bookings), csv, () => undefined);
  return new StreamableFile(csv, {
    type: 'text/csv; charset=utf-8',
    disposition: `attachment; filename="event-${eventId}-bookings.csv"`,
  });
}
