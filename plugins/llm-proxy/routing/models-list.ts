import type { ServerResponse } from 'node:http';
import type { Exchange } from '../../runtime/relay/stage';
import { beforeAnswer } from '../answer-hooks';
import { mayUse } from './router';
import type { RoutingTable } from './targets';

/** GET /v1/models with logical models configured: the names this caller may use, in OpenAI's list shape. */
export function answerLogicalModels(ex: Exchange, res: ServerResponse, table: RoutingTable): void {
  const created = Math.floor(ex.startedAt / 1000);
  const data = [...table.logical.values()]
    .filter((route) => mayUse(route, ex.identity.consumerGroups))
    .map((route) => ({ id: route.logicalName, object: 'model', created, owned_by: 'llm-gateway' }));
  const answer = JSON.stringify({ object: 'list', data });
  ex.status = 200;
  beforeAnswer(ex);
  res.writeHead(200, { 'content-type': 'application/json', ...ex.responseHeaders, 'content-length': Buffer.byteLength(answer) });
  res.end(answer);
}
