/**
 * A strict parser of the Prometheus text exposition format (0.0.4), for tests: every family
 * has its HELP and TYPE before its samples, names and labels are valid, label values use only
 * the three escapes, a sample belongs to a declared family (a histogram's `_bucket`, `_sum`,
 * `_count`), no series repeats, and a histogram's buckets are cumulative, end at `+Inf` and
 * agree with `_count`. Anything else throws, naming the line.
 */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';
  samples: Sample[];
}

const metricName = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const labelName = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * A sample value as Prometheus reads it (Go's strconv.ParseFloat): NaN and the infinities in any
 * letter case (prom-client writes an empty summary's mean as `Nan`).
 */
function parseValue(text: string, where: string): number {
  const word = text.toLowerCase();
  if (word === '+inf' || word === 'inf' || word === '+infinity' || word === 'infinity') return Number.POSITIVE_INFINITY;
  if (word === '-inf' || word === '-infinity') return Number.NEGATIVE_INFINITY;
  if (word === 'nan') return Number.NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) throw new Error(`${where}: bad value ${text}`);
  return Number(text);
}

function parseLabels(text: string, where: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let at = 0;
  while (at < text.length) {
    const eq = text.indexOf('=', at);
    if (eq < 0) throw new Error(`${where}: label without =`);
    const name = text.slice(at, eq);
    if (!labelName.test(name)) throw new Error(`${where}: bad label name ${name}`);
    if (name in labels) throw new Error(`${where}: label ${name} twice`);
    if (text[eq + 1] !== '"') throw new Error(`${where}: label value not quoted`);
    let value = '';
    let i = eq + 2;
    for (; i < text.length && text[i] !== '"'; i += 1) {
      if (text[i] === '\\') {
        const next = text[i + 1];
        if (next === 'n') value += '\n';
        else if (next === '\\' || next === '"') value += next;
        else throw new Error(`${where}: bad escape \\${next}`);
        i += 1;
      } else value += text[i];
    }
    if (text[i] !== '"') throw new Error(`${where}: unterminated label value`);
    labels[name] = value;
    at = i + 1;
    if (at < text.length) {
      if (text[at] !== ',') throw new Error(`${where}: expected , between labels`);
      at += 1;
    }
  }
  return labels;
}

export function parsePrometheusText(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const series = new Set<string>();
  let current: Family | undefined;
  const lines = text.split('\n');
  if (lines.at(-1) !== '') throw new Error('the text must end with a newline');
  lines.pop();
  lines.forEach((line, index) => {
    const where = `line ${index + 1} (${line})`;
    if (line === '') return;
    if (line.startsWith('# HELP ')) {
      const [, name = '', help = ''] = /^# HELP (\S+) (.*)$/.exec(line) ?? [];
      if (!metricName.test(name)) throw new Error(`${where}: bad HELP`);
      if (families.has(name)) throw new Error(`${where}: family ${name} twice`);
      current = { name, help, type: 'untyped', samples: [] };
      families.set(name, current);
      return;
    }
    if (line.startsWith('# TYPE ')) {
      const [, name, type] = /^# TYPE (\S+) (counter|gauge|histogram|summary|untyped)$/.exec(line) ?? [];
      if (name === undefined || current?.name !== name || current.samples.length > 0)
        throw new Error(`${where}: TYPE not right after its HELP`);
      current.type = type as Family['type'];
      return;
    }
    if (line.startsWith('#')) return;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: (-?\d+))?$/.exec(line);
    if (!match) throw new Error(`${where}: not a sample`);
    const [, name = '', labelText = '', valueText = ''] = match;
    if (current === undefined) throw new Error(`${where}: sample before any family`);
    const allowed =
      current.type === 'histogram'
        ? [`${current.name}_bucket`, `${current.name}_sum`, `${current.name}_count`]
        : current.type === 'counter'
          ? [current.name, `${current.name}_total`]
          : [current.name];
    if (!allowed.includes(name)) throw new Error(`${where}: sample of ${name} under family ${current.name}`);
    const labels = parseLabels(labelText, where);
    const id = `${name}{${Object.entries(labels)
      .sort()
      .map(([key, value]) => `${key}=${JSON.stringify(value)}`)
      .join(',')}}`;
    if (series.has(id)) throw new Error(`${where}: series ${id} twice`);
    series.add(id);
    const value = parseValue(valueText, where);
    if (current.type === 'counter' && !(value >= 0)) throw new Error(`${where}: a counter below 0`);
    current.samples.push({ name, labels, value });
  });
  for (const family of families.values()) if (family.type === 'histogram') checkHistogram(family);
  return families;
}

function checkHistogram(family: Family): void {
  const groups = new Map<string, Sample[]>();
  for (const sample of family.samples) {
    const { le: _le, ...rest } = sample.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    groups.set(key, [...(groups.get(key) ?? []), sample]);
  }
  for (const [key, samples] of groups) {
    const buckets = samples.filter((sample) => sample.name.endsWith('_bucket'));
    const count = samples.find((sample) => sample.name.endsWith('_count'));
    if (buckets.length === 0 || count === undefined || !samples.some((sample) => sample.name.endsWith('_sum')))
      throw new Error(`${family.name} ${key}: buckets, _sum and _count are all required`);
    let previous = Number.NEGATIVE_INFINITY;
    let cumulative = 0;
    for (const bucket of buckets) {
      const le = parseValue(bucket.labels.le ?? '', `${family.name} le`);
      if (!(le > previous)) throw new Error(`${family.name} ${key}: le not ascending`);
      if (bucket.value < cumulative) throw new Error(`${family.name} ${key}: buckets not cumulative`);
      previous = le;
      cumulative = bucket.value;
    }
    if (previous !== Number.POSITIVE_INFINITY) throw new Error(`${family.name} ${key}: no +Inf bucket`);
    if (cumulative !== count.value) throw new Error(`${family.name} ${key}: +Inf bucket differs from _count`);
  }
}

/** The value of one series (0 when absent, as a counter that never moved). */
export function seriesValue(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number {
  for (const family of families.values())
    for (const sample of family.samples)
      if (
        sample.name === name &&
        Object.entries(labels).every(([key, value]) => sample.labels[key] === value) &&
        Object.keys(sample.labels).length === Object.keys(labels).length
      )
        return sample.value;
  return 0;
}
