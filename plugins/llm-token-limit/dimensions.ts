import { createHash } from 'node:crypto';
import type { Exchange } from '../runtime/relay/stage';

/** What a request is, for `by`: its identity as Kong established it, its model and provider. */
export interface RequestFacts {
  model: string;
  provider: string;
}

const MAX_VALUE_CHARS = 64;
/** A limit whose `by` combination expands to more counters than this (many groups) keeps the first ones. */
const MAX_COUNTERS_PER_LIMIT = 16;

/**
 * The values of one `by` dimension for this request. Like Kong's rate-limiting, a request whose consumer,
 * credential, group, route, service or header is missing is counted by client IP instead, so that nobody escapes
 * a limit by leaving it out. A consumer in several groups is checked against each group's counter.
 */
export function dimensionValues(dimension: string, ex: Exchange, facts: RequestFacts): string[] {
  const { identity } = ex;
  const ip = () => [`ip=${ex.forwarded.clientIp ?? 'unknown'}`];
  switch (dimension) {
    case 'consumer':
      return identity.consumer ? [`c=${identity.consumer.id}`] : ip();
    case 'credential':
      return identity.credentialId ? [`k=${identity.credentialId}`] : ip();
    case 'consumer_group':
      return identity.consumerGroups.length > 0 ? identity.consumerGroups.map((g) => `g=${g}`) : ip();
    case 'route':
      return identity.route ? [`r=${identity.route.id}`] : ip();
    case 'service':
      return identity.service ? [`s=${identity.service.id}`] : ip();
    case 'model':
      return [`m=${facts.model}`];
    case 'provider':
      return [`p=${facts.provider}`];
    case 'ip':
      return ip();
    default: {
      const name = dimension.slice('header:'.length).toLowerCase();
      const raw = ex.headers[name];
      const value = Array.isArray(raw) ? raw[0] : raw;
      return value ? [`h.${name}=${value}`] : ip();
    }
  }
}

/** Every combination of the dimensions' values, each as a key fragment (long or odd values hashed). */
export function counterSubjects(by: readonly string[], ex: Exchange, facts: RequestFacts): string[] {
  let subjects = [''];
  for (const dimension of by) {
    const values = dimensionValues(dimension, ex, facts).map(keySafe);
    subjects = subjects.flatMap((s) => values.map((v) => (s ? `${s}|${v}` : v))).slice(0, MAX_COUNTERS_PER_LIMIT);
  }
  return [...new Set(subjects)];
}

function keySafe(value: string): string {
  const clean = value.length <= MAX_VALUE_CHARS && /^[\w.@=:/-]*$/.test(value);
  return clean ? value : `${value.slice(0, value.indexOf('=') + 1)}#${createHash('sha256').update(value).digest('base64url').slice(0, 22)}`;
}
