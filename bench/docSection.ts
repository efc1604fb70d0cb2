// Benches that write their results into a document replace one marked section of it:
// `<!-- NAME -->`, the body, `<!-- /NAME -->`. The rest of the document is left as it is.
import * as fs from 'node:fs';

/** Replaces the body between `<!-- name -->` and `<!-- /name -->` in doc; throws when doc has no such section. */
export function replaceDocSection(doc: string, name: string, body: string): void {
  const begin = `<!-- ${name} -->`;
  const end = `<!-- /${name} -->`;
  const text = fs.readFileSync(doc, 'utf8');
  const at = text.indexOf(begin);
  const to = text.indexOf(end);
  if (at < 0 || to < at) throw new Error(`${doc} has no ${begin} … ${end} section to replace`);
  fs.writeFileSync(doc, `${text.slice(0, at + begin.length)}\n${body}${text.slice(to)}`);
}
