import type { AgentClient } from './agent-client.ts';

/** One entry of `GET /v1/keys`: names and labels are not secrets, values never appear here. */
export interface ListedKey {
  name: string;
  label: string;
  version: number;
  updated_at: string;
  reads: number;
}

export interface KeysPage {
  environment: string;
  keys: ListedKey[];
  next_cursor?: string;
}

/** The agent's largest page: the fewest round trips for a whole listing. */
const WHOLE_LISTING_PAGE = '1000';

export function listKeysPage(client: AgentClient, limit: string, cursor?: string): Promise<KeysPage> {
  return client.get<KeysPage>(`/v1/keys?${new URLSearchParams({ limit, ...(cursor === undefined ? {} : { cursor }) })}`);
}

/**
 * Every key of the vault, page after page. Any command that needs the whole listing (keys list,
 * export's labels) goes through here: the first page alone holds only `limit` keys.
 */
export async function listAllKeys(client: AgentClient): Promise<{ environment: string; keys: ListedKey[] }> {
  const first = await listKeysPage(client, WHOLE_LISTING_PAGE);
  const keys = [...first.keys];
  for (let next = first.next_cursor; next !== undefined;) {
    const more = await listKeysPage(client, WHOLE_LISTING_PAGE, next);
    keys.push(...more.keys);
    next = more.next_cursor;
  }
  return { environment: first.environment, keys };
}
