/** Writes one `## title` section of bench/RESULTS.md, replacing the section of that title if there is one. */
import { readFile, writeFile } from 'node:fs/promises';

export async function replaceResultsSection(file: string, title: string, body: string): Promise<void> {
  const text = await readFile(file, 'utf8');
  const heading = `## ${title}`;
  const section = `${heading}\n\n${body.trim()}\n`;
  const start = text.indexOf(`${heading}\n`);
  if (start < 0) {
    await writeFile(file, `${text.trimEnd()}\n\n${section}`);
    return;
  }
  const next = text.indexOf('\n## ', start + heading.length);
  await writeFile(file, `${text.slice(0, start)}${section}${next < 0 ? '' : text.slice(next)}`);
}
