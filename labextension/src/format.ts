/** How times, sizes and retention read in the panels. */
import { Time } from '@jupyterlab/coreutils';
import { TranslationBundle } from '@jupyterlab/translation';

export function when(value: string): string {
  return Time.formatHuman(new Date(value));
}

/** The date and time to the second, in the browser's locale. */
export function exactly(value: string): string {
  return new Date(value).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
}

export function size(bytes: number, trans: TranslationBundle): string {
  if (bytes < 1024) {
    return trans._n('%1 byte', '%1 bytes', bytes);
  }
  const units = ['KB', 'MB', 'GB', 'TB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

export function timeLeft(days: number | null, trans: TranslationBundle): string {
  if (days === null) {
    return trans.__('kept until OneLake removes it');
  }
  if (days < 1) {
    return trans.__('removed for good within a day');
  }
  return trans._n('%1 day left', '%1 days left', days);
}
