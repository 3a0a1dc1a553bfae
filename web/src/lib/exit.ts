// An artist's exit, as the label reads it after recording it.

/** What an exit did, in words: the exit terms applied, the masters, the releases. */
export function exitWords(name: string, done: {
  artist?: { leftOn?: string | null } | null; agreement?: { title: string } | null; mastersRevertOn?: string | null; takenDownReleases: { title: string }[];
}): string {
  const terms = done.agreement ? `The exit terms of “${done.agreement.title}” were applied: ` : 'No agreement was in force, so no exit terms applied; ';
  const masters = done.mastersRevertOn ? `the masters go back to ${name} on ${done.mastersRevertOn}; ` : done.agreement ? 'the masters stay with the label; ' : '';
  const n = done.takenDownReleases.length;
  const releases = n
    ? `${n} release${n === 1 ? ' was' : 's were'} taken down (${done.takenDownReleases.map((r) => r.title).join(', ')}).`
    : 'her releases stay up.';
  return `${name} left on ${done.artist?.leftOn}. ${terms}${masters}${releases}`;
}
