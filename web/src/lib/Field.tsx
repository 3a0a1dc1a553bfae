import { useId, type InputHTMLAttributes, type ReactNode } from 'react';
import { FieldError } from './errors';

type Props = InputHTMLAttributes<HTMLInputElement> & { label: string; errors?: string[]; hint?: ReactNode };

/** A labelled input whose errors are read with it (aria-describedby). */
export function Field({ label, errors = [], hint, ...input }: Props) {
  const id = useId();
  const errorId = `${id}-error`;
  const hintId = `${id}-hint`;
  const describedBy = [errors.length ? errorId : '', hint ? hintId : ''].filter(Boolean).join(' ') || undefined;
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <input id={id} aria-invalid={errors.length > 0 || undefined} aria-describedby={describedBy} {...input} />
      {hint ? (
        <p className="hint" id={hintId}>
          {hint}
        </p>
      ) : null}
      <FieldError id={errorId} messages={errors} />
    </div>
  );
}

type SelectProps = React.SelectHTMLAttributes<HTMLSelectElement> & { label: string; errors?: string[]; children: ReactNode };

export function Select({ label, errors = [], children, ...select }: SelectProps) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <select id={id} aria-invalid={errors.length > 0 || undefined} aria-describedby={errors.length ? `${id}-error` : undefined} {...select}>
        {children}
      </select>
      <FieldError id={`${id}-error`} messages={errors} />
    </div>
  );
}
