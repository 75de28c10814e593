import type { NatsConnection, SubscriptionOptions } from '@nats-io/transport-node';
import { ServerNats, type NatsOptions } from '@nestjs/microservices';

/**
 * Nest's NATS transport, listening on the deployment's subjects: the handler
 * of pattern `booking.reserve` is subscribed to `subjectOf('booking.reserve')`
 * (e.g. `blue.booking.reserve`), so the handlers keep their plain patterns and
 * two deployments on one NATS never answer each other.
 */
export class NamespacedNatsServer extends ServerNats {
  constructor(
    options: Required<NatsOptions>['options'],
    private readonly subjectOf: (pattern: string) => string,
  ) {
    super(options);
  }

  override bindEvents(client: NatsConnection): void {
    // Nest subscribes each handler's pattern and looks the handler up by that pattern; only the subject changes.
    const namespaced: Pick<NatsConnection, 'subscribe'> = {
      subscribe: (pattern: string, options?: SubscriptionOptions) => client.subscribe(this.subjectOf(pattern), options),
    };
    super.bindEvents(namespaced);
  }
}
