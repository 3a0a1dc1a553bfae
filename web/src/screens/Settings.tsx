import { everything } from '../lib/client';
import { useId, useState } from 'react';
import { useClient, useMutation, useQuery } from 'urql';
import { graphql } from '../gql';
import type { ApiScope, Role, UnconfirmedSplits, WebhookEventType } from '../gql/graphql';
import { useSession } from '../session';
import { Field, Select } from '../lib/Field';
import { errorsFor, FieldError, FormErrors, otherErrors } from '../lib/errors';
import { LoadMore, useLoadMore } from '../lib/pages';

const SettingsQuery = graphql(`
  query Settings($org: ID!) {
    organization(id: $org) {
      id
      payoutPeriodMonths reserveReleasePeriods unconfirmedSplits payoutsReconciledOnly
      artists(first: 100, current: true) { nodes { id name } }
      members(first: 100) { totalCount pageInfo { hasNextPage endCursor } nodes { id role user { id name email } artist { id name } } }
      invitations(first: 100) { nodes { id email role artistId expiresAt acceptedAt revokedAt } }
      apiKeys(first: 100) { nodes { id name prefix scopes createdAt lastUsedAt revokedAt } }
      webhooks(first: 100) { nodes { id url description events active } }
    }
  }
`);
const Invite = graphql(`
  mutation InviteMember($input: InviteMemberInput!) {
    inviteMember(input: $input) { invitation { id email } invitationToken userErrors { field message code } }
  }
`);
const MembersMore = graphql(`
  query MembersMore($org: ID!, $after: String) {
    organization(id: $org) {
      id
      members(first: 100, after: $after) { totalCount pageInfo { hasNextPage endCursor } nodes { id role user { id name email } artist { id name } } }
    }
  }
`);
const UpdatePayoutSettings = graphql(`
  mutation UpdatePayoutSettings($input: UpdatePayoutSettingsInput!) {
    updatePayoutSettings(input: $input) { organization { id payoutPeriodMonths reserveReleasePeriods unconfirmedSplits } userErrors { field message code } }
  }
`);
const SetReconciledOnly = graphql(`
  mutation SetPayoutsReconciledOnly($input: SetPayoutsReconciledOnlyInput!) {
    setPayoutsReconciledOnly(input: $input) { reconciledOnly userErrors { field message code } }
  }
`);
const RevokeInvitation = graphql(`
  mutation RevokeInvitation($input: RevokeInvitationInput!) {
    revokeInvitation(input: $input) { invitation { id revokedAt } userErrors { field message code } }
  }
`);
const CreateKey = graphql(`
  mutation CreateApiKey($input: CreateApiKeyInput!) {
    createApiKey(input: $input) { apiKey { id name } secret userErrors { field message code } }
  }
`);
const RevokeKey = graphql(`
  mutation RevokeApiKey($input: RevokeApiKeyInput!) {
    revokeApiKey(input: $input) { apiKey { id revokedAt } userErrors { field message code } }
  }
`);
const CreateWebhook = graphql(`
  mutation CreateWebhook($input: CreateWebhookInput!) {
    createWebhook(input: $input) { webhook { id url } secret userErrors { field message code } }
  }
`);
const DeleteWebhook = graphql(`
  mutation DeleteWebhook($input: DeleteWebhookInput!) {
    deleteWebhook(input: $input) { deletedWebhookId userErrors { field message code } }
  }
`);

const roles: Role[] = ['ADMIN', 'MANAGER', 'VIEWER', 'ARTIST'];
const scopes: ApiScope[] = ['READ_CATALOGUE', 'WRITE_CATALOGUE', 'WRITE_SPLITS', 'READ_STATEMENTS', 'WRITE_STATEMENTS', 'READ_ANALYTICS', 'READ_PAYOUTS', 'WRITE_PAYOUTS', 'MANAGE_WEBHOOKS'];
const events: WebhookEventType[] = ['STATEMENT_PARSED', 'PAYOUT_RUN_UPDATED'];

export default function Settings() {
  const { org, canManageMembers, canWrite } = useSession();
  const [{ data }] = useQuery({ query: SettingsQuery, variables: { org: org.id }, context: everything });
  const o = data?.organization;
  const client = useClient();
  const members = useLoadMore(o?.members, async (after) =>
    (await client.query(MembersMore, { org: org.id, after }, { requestPolicy: 'network-only' }).toPromise()).data?.organization?.members,
  );
  const [, revokeInvitation] = useMutation(RevokeInvitation);
  const [, revokeKey] = useMutation(RevokeKey);
  const [, deleteWebhook] = useMutation(DeleteWebhook);
  if (!o) return <p className="loading">Loading…</p>;
  return (
    <>
      <h1>Settings</h1>
      <PayoutSettings settings={o} canChange={canManageMembers} />
      <section aria-labelledby="members">
        <h2 id="members">Members</h2>
        <ul>
          {members.nodes.map((m) => (
            <li key={m.id}>
              {m.user?.name} ({m.user?.email}) — {m.role.toLowerCase()}{m.artist ? ` of ${m.artist.name}` : ''}
            </li>
          ))}
        </ul>
        <LoadMore more={members.more} loading={members.loading} error={members.error} shown={members.nodes.length} totalCount={members.totalCount} what="members" />
        {canManageMembers ? <InviteForm artists={o.artists.nodes} /> : null}
        <h3>Invitations</h3>
        <ul>
          {o.invitations.nodes.map((i) => (
            <li key={i.id}>
              {i.email} as {i.role.toLowerCase()} — {i.acceptedAt ? 'accepted' : i.revokedAt ? 'withdrawn' : `open until ${i.expiresAt.slice(0, 10)}`}{' '}
              {canManageMembers && !i.acceptedAt && !i.revokedAt ? (
                <button className="link" onClick={() => revokeInvitation({ input: { invitationId: i.id } })}>Withdraw</button>
              ) : null}
            </li>
          ))}
        </ul>
      </section>
      <section aria-labelledby="keys">
        <h2 id="keys">API keys</h2>
        <ul>
          {o.apiKeys.nodes.map((k) => (
            <li key={k.id}>
              {k.name} <code>{k.prefix}…</code> — {k.revokedAt ? 'revoked' : k.scopes.map((s) => s.toLowerCase().replace('_', ' ')).join(', ')}{' '}
              {canManageMembers && !k.revokedAt ? <button className="link" onClick={() => revokeKey({ input: { apiKeyId: k.id } })}>Revoke</button> : null}
            </li>
          ))}
        </ul>
        {canManageMembers ? <KeyForm /> : null}
      </section>
      <section aria-labelledby="hooks">
        <h2 id="hooks">Webhooks</h2>
        <ul>
          {o.webhooks.nodes.map((w) => (
            <li key={w.id}>
              <code>{w.url}</code> — {w.events.map((e) => e.toLowerCase()).join(', ')} {w.active ? '' : '(disabled)'}{' '}
              {canWrite ? <button className="link" onClick={() => deleteWebhook({ input: { webhookId: w.id } })}>Delete</button> : null}
            </li>
          ))}
        </ul>
        {canManageMembers ? <WebhookForm /> : null}
      </section>
    </>
  );
}

function InviteForm({ artists }: { artists: { id: string; name: string }[] }) {
  const { org } = useSession();
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<Role>('ARTIST');
  const [artistId, setArtistId] = useState('');
  const [result, invite] = useMutation(Invite);
  const errors = result.data?.inviteMember.userErrors;
  return (
    <form
      className="card inline-form"
      aria-labelledby="invite-title"
      onSubmit={(e) => {
        e.preventDefault();
        invite({ input: { organizationId: org.id, email, role, artistId: role === 'ARTIST' ? artistId || artists[0]?.id : null } });
      }}
    >
      <h3 id="invite-title">Invite someone</h3>
      <FormErrors messages={otherErrors(errors, ['email', 'role', 'artistId'])} />
      <Field label="Email" type="email" value={email} onChange={(e) => setEmail(e.target.value)} errors={errorsFor(errors, 'email')} required />
      <Select label="Role" value={role} onChange={(e) => setRole(e.target.value as Role)} errors={errorsFor(errors, 'role')}>
        {roles.map((r) => <option key={r} value={r}>{r.toLowerCase()}</option>)}
      </Select>
      {role === 'ARTIST' ? (
        <Select label="Artist" value={artistId} onChange={(e) => setArtistId(e.target.value)} errors={errorsFor(errors, 'artistId')}>
          {artists.map((a) => <option key={a.id} value={a.id}>{a.name}</option>)}
        </Select>
      ) : null}
      <button className="primary" type="submit">Invite</button>
      {result.data?.inviteMember.invitationToken ? (
        <p role="status">
          Send this code to {result.data.inviteMember.invitation?.email}: <code data-testid="invitation-code">{result.data.inviteMember.invitationToken}</code>
        </p>
      ) : null}
    </form>
  );
}

function KeyForm() {
  const { org } = useSession();
  const [name, setName] = useState('');
  const [chosen, setChosen] = useState<ApiScope[]>(['READ_CATALOGUE']);
  const [result, create] = useMutation(CreateKey);
  const errors = result.data?.createApiKey.userErrors;
  return (
    <form className="card inline-form" aria-labelledby="key-title" onSubmit={(e) => { e.preventDefault(); create({ input: { organizationId: org.id, name, scopes: chosen } }); }}>
      <h3 id="key-title">New API key</h3>
      <FormErrors messages={otherErrors(errors, ['name', 'scopes'])} />
      <Field label="Name" value={name} onChange={(e) => setName(e.target.value)} errors={errorsFor(errors, 'name')} required />
      <fieldset>
        <legend>Scopes</legend>
        {scopes.map((s) => (
          <label key={s} className="check">
            <input type="checkbox" checked={chosen.includes(s)} onChange={(e) => setChosen(e.target.checked ? [...chosen, s] : chosen.filter((c) => c !== s))} />
            {s.toLowerCase().replace('_', ' ')}
          </label>
        ))}
      </fieldset>
      <button type="submit">Create key</button>
      {result.data?.createApiKey.secret ? <p role="status">Copy it now, it is shown once: <code>{result.data.createApiKey.secret}</code></p> : null}
    </form>
  );
}

function WebhookForm() {
  const { org } = useSession();
  const [url, setUrl] = useState('');
  const [chosen, setChosen] = useState<WebhookEventType[]>(['PAYOUT_RUN_UPDATED']);
  const [result, create] = useMutation(CreateWebhook);
  const errors = result.data?.createWebhook.userErrors;
  return (
    <form className="card inline-form" aria-labelledby="hook-title" onSubmit={(e) => { e.preventDefault(); create({ input: { organizationId: org.id, url, events: chosen } }); }}>
      <h3 id="hook-title">New webhook</h3>
      <FormErrors messages={otherErrors(errors, ['url', 'events'])} />
      <Field label="URL" type="url" value={url} onChange={(e) => setUrl(e.target.value)} errors={errorsFor(errors, 'url')} required />
      <fieldset>
        <legend>Events</legend>
        {events.map((s) => (
          <label key={s} className="check">
            <input type="checkbox" checked={chosen.includes(s)} onChange={(e) => setChosen(e.target.checked ? [...chosen, s] : chosen.filter((c) => c !== s))} />
            {s.toLowerCase().replace(/_/g, ' ')}
          </label>
        ))}
      </fieldset>
      <button type="submit">Add webhook</button>
      {result.data?.createWebhook.secret ? <p role="status">Signing secret, shown once: <code>{result.data.createWebhook.secret}</code></p> : null}
    </form>
  );
}

type Settings = { payoutPeriodMonths: number; reserveReleasePeriods: number; unconfirmedSplits: UnconfirmedSplits; payoutsReconciledOnly: boolean };

/** How payout runs treat splits not every payee confirmed, and unreconciled money. */
function PayoutSettings({ settings, canChange }: { settings: Settings; canChange: boolean }) {
  const { org } = useSession();
  const [unconfirmed, setUnconfirmed] = useState<UnconfirmedSplits>(settings.unconfirmedSplits);
  const [reconciledOnly, setReconciledOnly] = useState(settings.payoutsReconciledOnly);
  const [saved, setSaved] = useState('');
  const [problem, setProblem] = useState('');
  const [splitsResult, updateSettings] = useMutation(UpdatePayoutSettings);
  const [reconciledResult, setOnly] = useMutation(SetReconciledOnly);
  const splitErrors = splitsResult.data?.updatePayoutSettings.userErrors;
  const reconciledErrors = reconciledResult.data?.setPayoutsReconciledOnly.userErrors;
  const unconfirmedHint = useId();
  const reconciledHint = useId();
  return (
    <section aria-labelledby="payout-settings">
      <h2 id="payout-settings">Payouts</h2>
      <form
        className="card inline-form"
        aria-labelledby="payout-settings"
        onSubmit={async (e) => {
          e.preventDefault();
          setSaved('');
          const [a, b] = await Promise.all([
            unconfirmed !== settings.unconfirmedSplits
              ? updateSettings({ input: { organizationId: org.id, unconfirmedSplits: unconfirmed } })
              : null,
            reconciledOnly !== settings.payoutsReconciledOnly
              ? setOnly({ input: { organizationId: org.id, reconciledOnly } })
              : null,
          ]);
          const failed = (a && (a.error || a.data?.updatePayoutSettings.userErrors.length)) || (b && (b.error || b.data?.setPayoutsReconciledOnly.userErrors.length));
          const error = a?.error?.message ?? b?.error?.message;
          setProblem(error ?? '');
          setSaved(error || failed ? '' : 'Payout settings saved.');
        }}
      >
        <FormErrors messages={problem ? [problem] : []} />
        <p className="muted">
          A payout period is {settings.payoutPeriodMonths} month{settings.payoutPeriodMonths === 1 ? '' : 's'}; reserves are released after{' '}
          {settings.reserveReleasePeriods} period{settings.reserveReleasePeriods === 1 ? '' : 's'}.
        </p>
        <fieldset aria-describedby={unconfirmedHint} disabled={!canChange}>
          <legend>Splits not every payee has confirmed</legend>
          <label><input type="radio" name="unconfirmed" value="PAY" checked={unconfirmed === 'PAY'} onChange={() => setUnconfirmed('PAY')} /> Pay them by their shares</label>
          <label><input type="radio" name="unconfirmed" value="HOLD" checked={unconfirmed === 'HOLD'} onChange={() => setUnconfirmed('HOLD')} /> Hold their money until every payee confirms</label>
          <p className="hint" id={unconfirmedHint}>Held money stays unallocated, and is paid once the split is confirmed.</p>
          <FieldError id={`${unconfirmedHint}-error`} messages={(splitErrors ?? []).map((e) => e.message)} />
        </fieldset>
        <div className="field">
          <label>
            <input type="checkbox" checked={reconciledOnly} onChange={(e) => setReconciledOnly(e.target.checked)} disabled={!canChange}
              aria-describedby={reconciledHint} /> Pay only reconciled money
          </label>
          <p className="hint" id={reconciledHint}>Payout runs hold back statements no remittance has paid yet, and pay them once reconciled.</p>
          <FieldError id={`${reconciledHint}-error`} messages={(reconciledErrors ?? []).map((e) => e.message)} />
        </div>
        {canChange ? <button className="primary" type="submit" disabled={splitsResult.fetching || reconciledResult.fetching}>Save payout settings</button> : <p className="muted">Only an owner or admin changes these.</p>}
        {saved ? <p role="status" className="ok">{saved}</p> : null}
      </form>
    </section>
  );
}
