// The GraphQL client: urql over HTTP, graphql-ws for subscriptions, the session token from sessionStorage.
import { Client, cacheExchange, fetchExchange, subscriptionExchange } from 'urql';
import { createClient as createWsClient } from 'graphql-ws';

const TOKEN = 'imprint.token';
export const getToken = () => sessionStorage.getItem(TOKEN);
export const setToken = (token: string | null) =>
  token ? sessionStorage.setItem(TOKEN, token) : sessionStorage.removeItem(TOKEN);

export function makeClient(): Client {
  const token = getToken();
  const ws = createWsClient({
    url: `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql/ws`,
    connectionParams: token ? { Authorization: `Bearer ${token}` } : {},
    lazy: true,
    retryAttempts: 5,
  });
  return new Client({
    url: '/graphql',
    exchanges: [
      cacheExchange,
      fetchExchange,
      subscriptionExchange({
        forwardSubscription(request) {
          const input = { ...request, query: request.query || '' };
          return { subscribe: (sink) => ({ unsubscribe: ws.subscribe(input, sink) }) };
        },
      }),
    ],
    fetchOptions: (): RequestInit => ({ headers: token ? { authorization: `Bearer ${token}` } : {} }),
    requestPolicy: 'cache-and-network',
    // GET /graphql is GraphiQL: queries go as POST.
    preferGetMethod: false,
  });
}

/** A GraphQL multipart request (the upload spec): urql's fetch exchange sends JSON only. */
export async function uploadStatement(organizationId: string, file: File): Promise<{
  statement: { id: string; status: string; filename: string } | null;
  duplicate: boolean;
  userErrors: { field: string[]; message: string }[];
}> {
  const query = `mutation($input: UploadStatementInput!) { uploadStatement(input: $input) { statement { id status filename } duplicate userErrors { field message code } } }`;
  const body = new FormData();
  body.append('operations', JSON.stringify({ query, variables: { input: { organizationId, file: null } } }));
  body.append('map', JSON.stringify({ 0: ['variables.input.file'] }));
  body.append('0', file, file.name);
  const token = getToken();
  const response = await fetch('/graphql', { method: 'POST', body, headers: token ? { authorization: `Bearer ${token}` } : {} });
  const json = await response.json();
  if (json.errors?.length) throw new Error(json.errors[0].message);
  return json.data.uploadStatement;
}

/** Downloads a file the API serves to bearer tokens only (a payee statement), as the browser's download. */
export async function download(path: string, filename: string): Promise<void> {
  const token = getToken();
  const response = await fetch(path, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  if (!response.ok) throw new Error(`Download failed (${response.status})`);
  saveBlob(await response.blob(), filename);
}

export function saveBlob(blob: Blob, filename: string) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/**
 * urql's document cache refetches a query when a mutation returns a type the query's result
 * holds; an empty list holds none. Every screen's query names them all, so any change reads
 * what is on screen again.
 */
export const everything = {
  additionalTypenames: [
    'Organization', 'Artist', 'ArtistProfile', 'Agreement', 'Payee', 'Release', 'Track', 'Split', 'Statement', 'PayoutRun', 'Payout',
    'Recoupable', 'Member', 'Invitation', 'ApiKey', 'Webhook',
  ],
};
