import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { capitalize, normalizeWhitespace, slugify, truncate } from '../src/text.js';

describe('capitalize', () => {
  it('upper-cases the first character only', () => {
    assert.equal(capitalize('hello world'), 'Hello world');
  });
  it('leaves an empty string empty', () => {
    assert.equal(capitalize(''), '');
  });
});

describe('normalizeWhitespace', () => {
  it('collapses runs of spaces, tabs and newlines', () => {
    assert.equal(normalizeWhitespace('  a \t b\n\nc  '), 'a b c');
  });
});

describe('truncate', () => {
  it('keeps short text as is', () => {
    assert.equal(truncate('short', 10), 'short');
  });
  it('cuts long text and adds an ellipsis', () => {
    assert.equal(truncate('a long sentence', 6), 'a lon…');
  });
});

describe('slugify', () => {
  it('lower-cases and joins words with dashes', () => {
    assert.equal(slugify('Hello World'), 'hello-world');
  });
  it('strips accents', () => {
    assert.equal(slugify('Crème Brûlée à la carte'), 'creme-brulee-a-la-carte');
  });
  it('drops punctuation and collapses separators', () => {
    assert.equal(slugify('  Node.js -- 10 Tips & Tricks!  '), 'node-js-10-tips-tricks');
  });
  it('returns an empty string when nothing is left', () => {
    assert.equal(slugify('!!!'), '');
  });
});
