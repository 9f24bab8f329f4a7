/** The parsed JSON of an answer body, or undefined when it is not JSON (an SSE stream, an HTML error page). */
export function jsonOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
