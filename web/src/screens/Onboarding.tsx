import { useState } from 'react';
import { useMutation } from 'urql';
import { graphql } from '../gql';
import { Field, Select } from '../lib/Field';
import { errorsFor, FormErrors, otherErrors } from '../lib/errors';

const CreateOrg = graphql(`
  mutation CreateOrganization($input: CreateOrganizationInput!) {
    createOrganization(input: $input) { organization { id name } userErrors { field message code } }
  }
`);
export const AcceptInvitation = graphql(`
  mutation AcceptInvitation($input: AcceptInvitationInput!) {
    acceptInvitation(input: $input) { member { id role } userErrors { field message code } }
  }
`);

/** A signed-in user with no organisation yet: start one, or join with an invitation. */
export function Onboarding({ user, onDone, onSignOut }: { user: { name: string }; onDone: () => void; onSignOut: () => void }) {
  const [name, setName] = useState('');
  const [kind, setKind] = useState<'LABEL' | 'COLLECTIVE'>('LABEL');
  const [currency, setCurrency] = useState('USD');
  const [token, setToken] = useState('');
  const [created, create] = useMutation(CreateOrg);
  const [accepted, accept] = useMutation(AcceptInvitation);
  const cErrors = created.data?.createOrganization.userErrors;
  const aErrors = accepted.data?.acceptInvitation.userErrors;
  return (
    <main id="main" className="auth">
      <h1>Welcome, {user.name}</h1>
      <form
        className="card"
        aria-labelledby="new-org"
        onSubmit={async (e) => {
          e.preventDefault();
          const r = await create({ input: { name, kind, baseCurrency: currency } });
          if (r.data?.createOrganization.organization) onDone();
        }}
      >
        <h2 id="new-org">Start your label</h2>
        <FormErrors messages={otherErrors(cErrors, ['name', 'kind', 'baseCurrency'])} />
        <Field label="Organisation name" value={name} onChange={(e) => setName(e.target.value)} errors={errorsFor(cErrors, 'name')} required />
        <Select label="Kind" value={kind} onChange={(e) => setKind(e.target.value as 'LABEL')} errors={errorsFor(cErrors, 'kind')}>
          <option value="LABEL">Label</option>
          <option value="COLLECTIVE">Artist collective</option>
        </Select>
        <Field label="Base currency" value={currency} onChange={(e) => setCurrency(e.target.value.toUpperCase())} maxLength={3} errors={errorsFor(cErrors, 'baseCurrency')} />
        <button className="primary" type="submit">Create organisation</button>
      </form>
      <form
        className="card"
        aria-labelledby="join"
        onSubmit={async (e) => {
          e.preventDefault();
          const r = await accept({ input: { token: token.trim() } });
          if (r.data?.acceptInvitation.member) onDone();
        }}
      >
        <h2 id="join">Join with an invitation</h2>
        <FormErrors messages={otherErrors(aErrors, ['token'])} />
        <Field label="Invitation code" value={token} onChange={(e) => setToken(e.target.value)} errors={errorsFor(aErrors, 'token')} required />
        <button type="submit">Join</button>
      </form>
      <button className="link" onClick={onSignOut}>Sign out</button>
    </main>
  );
}
