import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runtimeWarning } from '../src/runtime.ts';

describe('runtime warning', () => {
  const at = (iso: string) => Date.parse(`${iso}T12:00:00Z`);
  it('warns about a Node.js release past its end of life, and only then', () => {
    assert.match(
      runtimeWarning('v20.20.2', at('2026-11-29')) ?? '',
      /^Node\.js 20 reached its end of life on 2026-04-30/,
    );
    assert.equal(runtimeWarning('v20.20.2', at('2026-04-29')), undefined);
    assert.equal(runtimeWarning('v24.22.3', at('2026-11-29')), undefined);
    assert.match(
      runtimeWarning('v25.1.0', at('2026-11-29')) ?? '',
      /Node\.js 25 reached its end of life on 2026-06-01/,
    );
    assert.match(runtimeWarning('v24.22.3', at('2028-05-01')) ?? '', /Node\.js 24 reached/);
  });
  it('says nothing about a release it has no date for', () => {
    assert.equal(runtimeWarning('v30.0.0', at('2030-01-01')), undefined);
    assert.equal(runtimeWarning('not a version', at('2030-01-01')), undefined);
  });
});
