/** The task `orchestrate demo` gives its recorded agents, on a copy of examples/demo-project. */
export const DEMO_TASK =
  'Add a slugify(text) function to src/text.js that lowercases, strips accents, ' +
  'and joins words with dashes; export it and cover it with tests.';
