/** Small string helpers. No dependencies. */

/** Upper-case the first character: capitalize('hello world') === 'Hello world'. */
export function capitalize(text) {
  if (text === '') return '';
  return text[0].toUpperCase() + text.slice(1);
}

/** Collapse runs of whitespace into one space and trim both ends. */
export function normalizeWhitespace(text) {
  return text.replace(/\s+/g, ' ').trim();
}

/** Cut text to at most `max` characters, ending with an ellipsis when it was cut. */
export function truncate(text, max) {
  if (text.length <= max) return text;
  return `${text.slice(0, Math.max(0, max - 1))}…`;
}

/**
 * Turn text into a URL slug: lower case, accents stripped, words joined with dashes.
 * slugify('Crème Brûlée: 10 Recipes!') === 'creme-brulee-10-recipes'
 */
export function slugify(text) {
  return String(text)
    .normalize('NFKD') // split accented letters into letter + combining mark
    .replace(/[\u0300-\u036f]/g, '') // drop the combining marks
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-') // anything else separates words
    .replace(/^-+|-+$/g, '');
}
