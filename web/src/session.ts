import { createContext, useContext } from 'react';
import type { ViewerQuery } from './gql/graphql';

export type Org = ViewerQuery['viewer']['organizations'][number];
export type Membership = ViewerQuery['viewer']['memberships'][number];

export type Session = {
  org: Org;
  membership: Membership | undefined;
  /** May change things (OWNER, ADMIN, MANAGER); a VIEWER reads only. */
  canWrite: boolean;
  canManageMembers: boolean;
  locale: string | undefined;
};

export const SessionContext = createContext<Session | null>(null);
export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error('no session');
  return s;
}
