import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isMap, isScalar, isSeq, parseDocument, type YAMLSeq } from 'yaml';
import { readYaml, ROOT, type Yaml } from './support/repository.js';

const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');
const DATE = /\b(\d{4})-(\d{2})-(\d{2})\b/;
const isDate = (text: string) => {
  const match = DATE.exec(text);
  return match !== null && !Number.isNaN(Date.parse(`${match[0]}T00:00:00Z`));
};
/** A reason worth the name: some words, not just an id or a date. */
const isReason = (text: string) =>
  text
    .replace(DATE, '')
    .replace(/[^A-Za-z]+/g, ' ')
    .trim()
    .split(' ').length >= 4;

/** The comments of a YAML list item: above it (for the first item the parser keeps that on the list) and after it. */
function itemComment(list: YAMLSeq, index: number): string {
  const item = list.items[index];
  const above = isScalar(item) ? item.commentBefore : undefined;
  const after = isScalar(item) ? item.comment : undefined;
  return [index === 0 ? list.commentBefore : undefined, above, after].filter(Boolean).join(' ');
}

/**
 * The entries of a .trivyignore that do not say why and until when: each `<ID> exp:<YYYY-MM-DD>`
 * line needs a reason in the comment lines right above it (Trivy reads the id and the exp: field).
 */
function unexplainedTrivyIgnores(text: string): string[] {
  const problems: string[] = [];
  let comment: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('#')) {
      comment.push(line.slice(1));
      continue;
    }
    if (line === '') {
      comment = [];
      continue;
    }
    const [id, ...fields] = line.split(/\s+/);
    const expiry = fields.find((field) => field.startsWith('exp:'));
    if (!expiry || !isDate(expiry) || !/^exp:\d{4}-\d{2}-\d{2}$/.test(expiry))
      problems.push(`${id}: no exp:YYYY-MM-DD`);
    if (!isReason(comment.join(' '))) problems.push(`${id}: no reason in a comment above it`);
    comment = [];
  }
  return problems;
}

/** The advisories accepted in a pnpm-workspace.yaml (auditConfig) without a comment giving a reason and a date. */
function unexplainedAuditIgnores(text: string): string[] {
  const config = parseDocument(text).get('auditConfig');
  if (config === undefined) return [];
  if (!isMap(config)) return ['auditConfig is not a map'];
  const problems: string[] = [];
  for (const key of ['ignoreGhsas', 'ignoreCves']) {
    const list = config.get(key, true);
    if (list === undefined) continue;
    if (!isSeq(list)) {
      problems.push(`auditConfig.${key} is not a list`);
      continue;
    }
    list.items.forEach((item, index) => {
      const note = itemComment(list, index);
      if (!isReason(note) || !isDate(note))
        problems.push(`${String(isScalar(item) ? item.value : item)}: no reason and date`);
    });
  }
  return problems;
}

describe('accepted findings carry a reason and a date', () => {
  it('.trivyignore: every entry expires (exp:) and says why above it', () => {
    expect(unexplainedTrivyIgnores(read('.trivyignore'))).toEqual([]);
  });

  it('the .trivyignore check does find entries without a reason or an expiry', () => {
    const sample = [
      '# libfoo: only its CLI is affected, which no service runs. Accepted 2026-12-05.',
      'CVE-2026-0001 exp:2027-01-15',
      '',
      'CVE-2026-0002 exp:2027-01-15',
      '# Not reachable from any service code path.',
      'CVE-2026-0003',
      '# Not reachable from any service code path.',
      'CVE-2026-0004 exp:2027-13-45',
    ].join('\n');
    expect(unexplainedTrivyIgnores(sample)).toEqual([
      'CVE-2026-0002: no reason in a comment above it',
      'CVE-2026-0003: no exp:YYYY-MM-DD',
      'CVE-2026-0004: no exp:YYYY-MM-DD',
    ]);
  });

  it('pnpm-workspace.yaml: every advisory accepted for pnpm audit has a comment with a reason and a date', () => {
    const text = read('pnpm-workspace.yaml');
    expect(parseDocument(text).getIn(['auditConfig', 'ignoreGhsas'])).toBeDefined();
    expect(unexplainedAuditIgnores(text)).toEqual([]);
  });

  it('the pnpm-workspace.yaml check does find advisories accepted without a reason or a date', () => {
    const sample = [
      'auditConfig:',
      '  ignoreGhsas:',
      '    # Only the CLI of foo is affected, which no service runs. Review by 2027-01-15.',
      '    - GHSA-aaaa-bbbb-cccc',
      '    - GHSA-dddd-eeee-ffff',
      '    - GHSA-gggg-hhhh-iiii # not reachable from our code at all',
      '  ignoreCves:',
      '    - CVE-2026-0001 # fixed upstream soon, review by 2027-01-15',
    ].join('\n');
    expect(unexplainedAuditIgnores(sample)).toEqual([
      'GHSA-dddd-eeee-ffff: no reason and date',
      'GHSA-gggg-hhhh-iiii: no reason and date',
    ]);
  });

  it('.hadolint.yaml: fails on info and above, and says why for every rule it switches off', () => {
    const document = parseDocument(read('.hadolint.yaml'));
    expect(document.get('failure-threshold')).toBe('info');
    const ignored = document.get('ignored', true);
    expect(isSeq(ignored)).toBe(true);
    if (!isSeq(ignored)) return;
    expect(ignored.items.length).toBeGreaterThan(0);
    ignored.items.forEach((item, index) => {
      expect(isScalar(item) && /^(DL|SC)\d{4}$/.test(String(item.value)), String(item)).toBe(true);
      expect(isReason(itemComment(ignored, index)), String(item)).toBe(true);
    });
  });
});

describe('renovate.json keeps dependencies current', () => {
  const config = JSON.parse(read('renovate.json'));
  const rules: Yaml[] = config.packageRules;

  it('covers npm (pnpm), container images and GitHub Actions', () => {
    expect(config.$schema).toBe('https://docs.renovatebot.com/renovate-schema.json');
    expect(config.enabledManagers).toEqual(
      expect.arrayContaining(['npm', 'dockerfile', 'docker-compose', 'github-actions']),
    );
    expect(config.lockFileMaintenance.enabled).toBe(true);
  });

  it('groups the routine updates of each kind into one pull request, on a weekly schedule', () => {
    expect(config.schedule).toEqual([expect.stringMatching(/on (monday|tuesday|wednesday|thursday|friday)/)]);
    for (const manager of ['npm', 'dockerfile', 'docker-compose', 'github-actions']) {
      const group = rules.find(
        (rule) => rule.groupName && rule.matchManagers?.includes(manager) && !rule.matchPackageNames,
      );
      expect(group, manager).toBeDefined();
      expect(group.matchUpdateTypes ?? ['minor', 'patch'], manager).not.toContain('major');
    }
    expect(config.major.dependencyDashboardApproval).toBe(true);
    // Security fixes keep Renovate's defaults: at once, ungrouped, whatever the schedule.
    expect(config.vulnerabilityAlerts.schedule).toBeUndefined();
    expect(config.vulnerabilityAlerts.groupName).toBeUndefined();
  });

  it('updates the pnpm version of CI and of the image build together, from values that are equal', () => {
    const [manager] = config.customManagers;
    expect(manager.depNameTemplate).toBe('pnpm');
    const found = manager.managerFilePatterns.flatMap((file: string) =>
      manager.matchStrings.flatMap((pattern: string) =>
        [...read(file).matchAll(new RegExp(pattern, 'g'))].map((match) => match.groups!.currentValue),
      ),
    );
    expect(found).toHaveLength(2);
    expect(new Set(found).size).toBe(1);
    expect(found[0]).toBe(readYaml(join(ROOT, '.github/workflows/ci.yml')).env.PNPM_VERSION);
  });
});
