import { useState } from 'react';
import { useMutation } from 'urql';
import { graphql } from '../gql';
import { Field } from '../lib/Field';
import { errorsFor, FormErrors, otherErrors } from '../lib/errors';

const LoginMutation = graphql(`
  mutation Login($input: LoginInput!) {
    login(input: $input) { token userErrors { field message code } }
  }
`);
const SignUpMutation = graphql(`
  mutation SignUp($input: SignUpInput!) {
    signUp(input: $input) { token userErrors { field message code } }
  }
`);

export function Login({ onToken }: { onToken: (token: string) => void }) {
  const [mode, setMode] = useState<'login' | 'signup'>('login');
  const [email, setEmail] = useState('');
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [login, doLogin] = useMutation(LoginMutation);
  const [signUp, doSignUp] = useMutation(SignUpMutation);
  const payload = mode === 'login' ? login.data?.login : signUp.data?.signUp;
  const errors = payload?.userErrors;
  const failure = (mode === 'login' ? login.error : signUp.error)?.message;
  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    const result =
      mode === 'login'
        ? (await doLogin({ input: { email, password } })).data?.login
        : (await doSignUp({ input: { email, name, password } })).data?.signUp;
    if (result?.token) onToken(result.token);
  };
  return (
    <main id="main" className="auth">
      <h1>Imprint</h1>
      <p className="lede">The back office of your label.</p>
      <form onSubmit={submit} className="card" aria-labelledby="auth-title">
        <h2 id="auth-title">{mode === 'login' ? 'Sign in' : 'Create your account'}</h2>
        <FormErrors messages={[...otherErrors(errors, ['email', 'password', 'name']), ...(failure ? [failure] : [])]} />
        {mode === 'signup' ? <Field label="Your name" value={name} onChange={(e) => setName(e.target.value)} autoComplete="name" errors={errorsFor(errors, 'name')} required /> : null}
        <Field label="Email" type="email" value={email} onChange={(e) => setEmail(e.target.value)} autoComplete="email" errors={errorsFor(errors, 'email')} required />
        <Field
          label="Password"
          type="password"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          autoComplete={mode === 'login' ? 'current-password' : 'new-password'}
          errors={errorsFor(errors, 'password')}
          required
        />
        <button type="submit" className="primary" disabled={login.fetching || signUp.fetching}>
          {mode === 'login' ? 'Sign in' : 'Create account'}
        </button>
        <button type="button" className="link" onClick={() => setMode(mode === 'login' ? 'signup' : 'login')}>
          {mode === 'login' ? 'New here? Create an account' : 'Have an account? Sign in'}
        </button>
      </form>
    </main>
  );
}
