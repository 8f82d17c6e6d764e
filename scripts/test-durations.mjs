// A node:test reporter: one line per test file, `<milliseconds>\t<file>`, the sum of the file's
// top-level test durations (module loading not included). scripts/test.mjs prints the slowest.
export default async function* durations(source) {
  const perFile = new Map();
  for await (const event of source) {
    if ((event.type === 'test:pass' || event.type === 'test:fail') && event.data.nesting === 0 && event.data.file) {
      perFile.set(event.data.file, (perFile.get(event.data.file) ?? 0) + (event.data.details?.duration_ms ?? 0));
    }
  }
  for (const [file, ms] of perFile) yield `${Math.round(ms)}\t${file}\n`;
}
