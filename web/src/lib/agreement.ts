// An agreement's terms in plain words, for people who will not read enum names.
export type AgreementTerms = {
  masterOwner: 'LABEL' | 'ARTIST' | 'JOINT';
  labelMasterShare: string;
  artistRevenueShare: string;
  labelRevenueShare: string;
  dealBasis: 'GROSS' | 'NET';
  recoupmentScope: 'RELEASE' | 'CROSS_COLLATERALIZED';
  advance: { amount: string; currency: string };
  artistMayTakeDown: boolean;
  mastersRevertAfterMonths?: number | null;
  mastersRevertOn?: string | null;
  exitReleasePolicy: 'STAY' | 'TAKE_DOWN';
  futureRights: 'NONE' | 'FIRST_REFUSAL' | 'OPTIONS';
  futureOptionsCount?: number | null;
  startsOn: string;
  endsOn?: string | null;
};

const pct = (s: string) => `${Number(s)} %`;
const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

export function agreementInWords(a: AgreementTerms, formatMoney: (m: { amount: string; currency: string }) => string): string[] {
  const words: string[] = [];
  if (a.masterOwner === 'LABEL') words.push('The label owns the masters.');
  else if (a.masterOwner === 'ARTIST') words.push('The artist owns the masters.');
  else words.push(`The masters are owned jointly: the label holds ${pct(a.labelMasterShare)}.`);

  const basis = a.dealBasis === 'GROSS' ? 'of everything the stores pay' : 'of what is left once costs are recouped';
  words.push(`The artist receives ${pct(a.artistRevenueShare)} and the label ${pct(a.labelRevenueShare)} ${basis}.`);

  if (Number(a.advance.amount) > 0) {
    const scope =
      a.recoupmentScope === 'RELEASE' ? 'from the earnings of the release it was paid for' : 'from the earnings of all the artist’s releases';
    words.push(`An advance of ${formatMoney(a.advance)} is won back ${scope}.`);
  } else {
    words.push('No advance.');
  }

  words.push(a.artistMayTakeDown ? 'The artist may take her releases down.' : 'Only the label may take releases down.');

  const exit: string[] = [];
  if (a.mastersRevertOn) exit.push(`the masters go back to the artist on ${a.mastersRevertOn}`);
  else if (a.mastersRevertAfterMonths != null)
    exit.push(`the masters go back to the artist ${plural(a.mastersRevertAfterMonths, 'month', 'months')} after she leaves`);
  exit.push(a.exitReleasePolicy === 'STAY' ? 'her releases stay up' : 'her releases are taken down');
  words.push(`If the artist leaves, ${exit.join(' and ')}.`);

  if (a.futureRights === 'NONE') words.push('The label has no rights to future records.');
  else if (a.futureRights === 'FIRST_REFUSAL') words.push('The label may make the first offer for the next record.');
  else words.push(`The label holds ${plural(a.futureOptionsCount ?? 0, 'option', 'options')} on future records.`);

  words.push(a.endsOn ? `Runs from ${a.startsOn} to ${a.endsOn}.` : `Runs from ${a.startsOn}, with no end date.`);
  return words;
}
