import { agreementInWords, type AgreementTerms } from './agreement';
import { formatMoney } from './money';

export function AgreementWords({ agreement, title }: { agreement: AgreementTerms; title: string }) {
  return (
    <div className="agreement">
      <h4>{title}</h4>
      <ul>
        {agreementInWords(agreement, (m) => formatMoney(m)).map((w) => (
          <li key={w}>{w}</li>
        ))}
      </ul>
    </div>
  );
}
