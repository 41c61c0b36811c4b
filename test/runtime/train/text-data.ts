/**
 * Generated text for the text-model tests: a keyword/topic task. Each document is a few filler
 * words shared by every topic with one of its topic's keywords somewhere among them, so the
 * label is learnable only by finding the keyword, wherever it sits.
 */
import { createRandom } from '../../../model-runtime/src/data/random.ts';

export const TOPICS: Readonly<Record<string, readonly string[]>> = {
  sports: ['goal', 'match', 'striker', 'referee', 'league'],
  weather: ['rain', 'storm', 'sunny', 'cloudy', 'forecast'],
  food: ['pasta', 'bread', 'cheese', 'soup', 'recipe'],
};

const FILLER = ['the', 'a', 'today', 'we', 'saw', 'really', 'about', 'big', 'news', 'and', 'it', 'was', 'very', 'some', 'new', 'on', 'this', 'that'];

export interface TopicDocument {
  readonly text: string;
  readonly label: string;
}

export function topicDocuments(count: number, seed: number): TopicDocument[] {
  const random = createRandom(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const topics = Object.keys(TOPICS);
  return Array.from({ length: count }, () => {
    const label = pick(topics);
    const words = Array.from({ length: 3 + Math.floor(random() * 5) }, () => pick(FILLER));
    words.splice(Math.floor(random() * (words.length + 1)), 0, pick(TOPICS[label]!));
    return { text: words.join(' '), label };
  });
}

export function topicJsonLines(count: number, seed: number): string {
  return topicDocuments(count, seed).map((d) => `${JSON.stringify(d)}\n`).join('');
}

export function topicCsv(count: number, seed: number): string {
  return `label,text\n${topicDocuments(count, seed).map((d) => `${d.label},"${d.text}"\n`).join('')}`;
}
