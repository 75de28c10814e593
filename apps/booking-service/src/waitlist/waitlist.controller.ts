import {
  BookingSubjects,
  ErrorCode,
  ErrorMessages,
  fail,
  ok,
  waitlistCommandSchema,
  type ServiceReply,
  type WaitlistCommand,
  type WaitlistEntryView,
} from '@booking/shared';
import { Controller, Inject } from '@nestjs/common';
import { Ctx, MessagePattern, NatsContext } from '@nestjs/microservices';
import { joinRefusalError } from '../booking/waitlist-rules.js';
import { commandStartBy } from '../common/command-deadline.js';
import { ValidPayload } from '../common/valid-payload.js';
import { BOOKING_SERVICE_CONFIG, type BookingServiceConfig } from '../config.js';
import { WaitlistRepository } from './waitlist.repository.js';

/** A sold-out event's waitlist: join, see one's place, leave. */
@Controller()
export class WaitlistController {
  constructor(
    private readonly waitlist: WaitlistRepository,
    @Inject(BOOKING_SERVICE_CONFIG) private readonly config: BookingServiceConfig,
  ) {}

  @MessagePattern(BookingSubjects.joinWaitlist)
  async join(
    @ValidPayload(waitlistCommandSchema) command: WaitlistCommand,
    @Ctx() context: NatsContext,
  ): Promise<ServiceReply<WaitlistEntryView>> {
    const joined = await this.waitlist.join(command, commandStartBy(context, this.config));
    return 'entry' in joined ? ok(joined.entry) : fail(joinRefusalError(joined.refused, command));
  }

  @MessagePattern(BookingSubjects.waitlistPosition)
  async position(
    @ValidPayload(waitlistCommandSchema) command: WaitlistCommand,
  ): Promise<ServiceReply<WaitlistEntryView>> {
    const entry = await this.waitlist.position(command);
    return entry ? ok(entry) : notWaiting(command);
  }

  @MessagePattern(BookingSubjects.leaveWaitlist)
  async leave(
    @ValidPayload(waitlistCommandSchema) command: WaitlistCommand,
    @Ctx() context: NatsContext,
  ): Promise<ServiceReply<null>> {
    const left = await this.waitlist.leave(command, commandStartBy(context, this.config));
    return left ? ok(null) : notWaiting(command);
  }
}

const notWaiting = (command: WaitlistCommand): ServiceReply<never> =>
  fail({ code: ErrorCode.NotWaiting, message: ErrorMessages.notWaiting(command.user_id, command.event_id) });
