/** How record lists are planned: sorter tiebreaks, pinned sources, lookups (modules/records). */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseFilter } from '../../src/collections/filter.js';
import { recordSorters } from '../../src/modules/records/collection.js';
import { isLookup, pinnedSources } from '../../src/modules/records/list.js';

const A = '2c91808568c529c60168cca6f90c1313';
const B = 'ef38f94347e94562b5bb8424a56397d8';

describe('record sorters', () => {
  test('default is creation order, ties by id', () => {
    assert.deepEqual(recordSorters(undefined), [
      { column: 'records.created', direction: 'asc' },
      { column: 'records.id', direction: 'asc' },
    ]);
  });
  test('the tiebreak follows the last sorter, unless the client sorted on id', () => {
    assert.deepEqual(
      recordSorters('-modified').map((s) => s.direction),
      ['desc', 'desc'],
    );
    assert.deepEqual(
      recordSorters('lastName,-startDate').map((s) => `${s.column}:${s.direction}`),
      ['records.last_name:asc', 'records.start_date:desc', 'records.id:desc'],
    );
    assert.deepEqual(
      recordSorters('-lastName,id').map((s) => s.direction),
      ['desc', 'asc'],
    );
    assert.deepEqual(
      recordSorters('-id').map((s) => `${s.column}:${s.direction}`),
      ['records.id:desc'],
    );
    assert.deepEqual(
      recordSorters('sourceId').map((s) => s.column),
      ['records.source_id', 'records.id'],
    );
  });
});

describe('list planning', () => {
  test('pinnedSources: top-level sourceId eq / in (values the service resolved), intersected', () => {
    assert.equal(pinnedSources(undefined), undefined);
    assert.deepEqual(pinnedSources(parseFilter(`sourceId eq "${A}"`)), [A]);
    assert.deepEqual(pinnedSources(parseFilter(`sourceId in ("${A}", "${B}", "${A}") and firstName eq "x"`)), [A, B]);
    assert.deepEqual(pinnedSources(parseFilter(`sourceId in ("${A}", "${B}") and sourceId eq "${B}"`)), [B]);
    assert.deepEqual(pinnedSources(parseFilter(`sourceId eq "${A}" and sourceId eq "${B}"`)), []);
    assert.equal(pinnedSources(parseFilter(`sourceId eq "${A}" or firstName eq "x"`)), undefined);
    assert.equal(pinnedSources(parseFilter(`not sourceId eq "${A}"`)), undefined);
  });
  test('isLookup: accountName or email eq / in at the top level', () => {
    assert.ok(isLookup(parseFilter('accountName eq "x"')));
    assert.ok(isLookup(parseFilter('email in ("a@b.co") and firstName sw "a"')));
    assert.ok(!isLookup(parseFilter('accountName sw "x"')));
    assert.ok(!isLookup(parseFilter('accountName eq "x" or firstName eq "y"')));
    assert.ok(!isLookup(undefined));
  });
});
