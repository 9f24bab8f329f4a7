/**
 * Response header values the suite sets may echo what a client or provider sent (a model name, a limit name).
 * CR, LF and other control characters in them would make Node refuse the answer (or, in a lenient proxy, inject a
 * header): they are replaced, in place, by "?".
 */
export function sanitizeHeaderValues(headers: Record<string, string>): Record<string, string> {
  for (const [name, value] of Object.entries(headers)) {
    // eslint-disable-next-line no-control-regex
    if (/[^\t\x20-\x7e\x80-\xff]/.test(value)) headers[name] = value.replace(/[^\t\x20-\x7e\x80-\xff]/g, '?');
  }
  return headers;
}
