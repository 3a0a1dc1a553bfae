// `userErrors` next to the field they name.
export type UserError = { field: readonly string[]; message: string };

export function errorsFor(errors: readonly UserError[] | undefined, field: string): string[] {
  return (errors ?? []).filter((e) => e.field[e.field.length - 1] === field).map((e) => e.message);
}

/** The errors that name no field shown here (`fields`): shown at the top of the form. */
export function otherErrors(errors: readonly UserError[] | undefined, fields: string[]): string[] {
  return (errors ?? []).filter((e) => !fields.includes(e.field[e.field.length - 1])).map((e) => e.message);
}

export function FieldError({ id, messages }: { id: string; messages: string[] }) {
  if (!messages.length) return null;
  return (
    <p className="field-error" id={id} role="alert">
      {messages.join(' ')}
    </p>
  );
}

export function FormErrors({ messages }: { messages: string[] }) {
  if (!messages.length) return null;
  return (
    <div className="form-errors" role="alert">
      {messages.map((m) => (
        <p key={m}>{m}</p>
      ))}
    </div>
  );
}
