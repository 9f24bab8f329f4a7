import type { EventChannel } from './protocol/events';

/**
 * A typed view of the few Kong PDK functions the suite calls. Each call is one RPC round trip to Kong
 * (~0.1 ms), so this list is deliberately short. Results are Kong's FIRST return value only: `nil, err`
 * arrives as null, never as a tuple (the kong-pdk typings promising `[value, err]` are wrong at runtime).
 *
 * Replaces kong-pdk's `kong` Proxy: method names here are the exact Lua names, with no camelCase rewriting
 * (which mangles names such as get_tls1_version_str) and no `then` trap when the object is awaited.
 */
export interface KongEntity {
  id: string;
  name?: string;
  [key: string]: unknown;
}

export interface KongConsumer extends KongEntity {
  username?: string;
  custom_id?: string;
  tags?: string[] | null;
}

export class Pdk {
  constructor(private readonly channel: EventChannel) {}

  private call<T>(method: string, ...args: unknown[]): Promise<T> {
    return this.channel.call(method, args) as Promise<T>;
  }

  readonly ctxShared = {
    get: (key: string) => this.call<unknown>('kong.ctx.shared.get', key),
    set: (key: string, value: string | number | boolean) => this.call<null>('kong.ctx.shared.set', key, value),
  };

  readonly client = {
    getConsumer: () => this.call<KongConsumer | null>('kong.client.get_consumer'),
    getCredential: () => this.call<KongEntity | null>('kong.client.get_credential'),
    /** Kong ≥ 3.4; older Kong answers nil ("could not find pdk method"). */
    getConsumerGroups: () => this.call<KongEntity[] | null>('kong.client.get_consumer_groups'),
  };

  readonly request = {
    getPath: () => this.call<string | null>('kong.request.get_path'),
  };

  readonly router = {
    getRoute: () => this.call<KongEntity | null>('kong.router.get_route'),
  };

  readonly service = {
    setTarget: (host: string, port: number) => this.call<null>('kong.service.set_target', host, port),
    request: {
      setHeader: (name: string, value: string) => this.call<null>('kong.service.request.set_header', name, value),
    },
  };

  readonly response = {
    /**
     * Ends the request with this answer. Kong never steps the event again, so nothing may await the PDK after
     * it; headers must not contain null (a holey Lua table would be unpacked unpredictably).
     */
    exit: (status: number, body: string, headers: Record<string, string>) =>
      this.call<null>('kong.response.exit', status, body, headers),
  };
}
