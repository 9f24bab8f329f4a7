import { GatewayError } from '../../../plugins/runtime/relay/errors';

/** The GatewayError `fn` throws (any other outcome fails the test). */
export function gatewayErrorOf(fn: () => unknown): GatewayError {
  try {
    fn();
  } catch (err) {
    if (err instanceof GatewayError) return err;
    throw err;
  }
  throw new Error('expected a GatewayError');
}
